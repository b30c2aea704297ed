/*
 * log.h: one line per event on stderr (journald picks it up), with a level, and the pool and
 * slot the event concerns when there is one:
 *   2026-11-22T10:00:00.123Z INFO  [pool=main slot=3] backend connected pid=1234 in 4.1 ms
 * Never pass a password to these functions: DSNs go through config_redact_dsn() first.
 */
#ifndef BROKER_LOG_H
#define BROKER_LOG_H

#include <stdint.h>

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARNING = 2,
	LOG_ERROR = 3,
};

#define LOG_NO_SLOT UINT32_MAX

/* Set the lowest level that is printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/* 1 if messages of this level are printed (to skip building expensive messages). */
int log_enabled(enum log_level level);
/* Parse "debug" | "info" | "warning" | "error"; 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);
/* The level as written in the config ("debug", "info", "warning", "error"). */
const char *log_level_config_name(enum log_level level);

/* Log one line. pool may be NULL; slot is pool-relative, LOG_NO_SLOT when not about a slot. */
void log_msg(enum log_level level, const char *pool, uint32_t slot, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_msg(LOG_DEBUG, NULL, LOG_NO_SLOT, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, NULL, LOG_NO_SLOT, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, NULL, LOG_NO_SLOT, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, LOG_NO_SLOT, __VA_ARGS__)

#endif
