/*
 * log.c: timestamped single-line log records on stderr.
 *
 * Each record is formatted into one buffer and written with one write(2), so lines from the
 * cancel thread and the loop never interleave mid-line.
 */
#include "log.h"

#include "pgp_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_threshold = LOG_INFO;

static const char *const log_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

int log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"debug", LOG_DEBUG},
	             {"info", LOG_INFO},
	             {"warning", LOG_WARNING},
	             {"warn", LOG_WARNING},
	             {"error", LOG_ERROR}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(log_names) / sizeof(log_names[0]))
		return "?";
	return log_names[level];
}

const char *log_level_config_name(enum log_level level)
{
	static const char *const names[] = {"debug", "info", "warning", "error"};

	if ((unsigned)level >= PGP_ARRAY_LEN(names))
		return "?";
	return names[level];
}

void log_msg(enum log_level level, const char *pool, uint32_t slot, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int w;
	va_list ap;
	int saved_errno = errno;

	if (level < log_threshold)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s ", (long)(tv.tv_usec / 1000),
	             log_level_name(level));
	n += (size_t)w;
	if (pool && slot != LOG_NO_SLOT)
		w = snprintf(line + n, sizeof(line) - n, "[pool=%s slot=%u] ", pool, slot);
	else if (pool)
		w = snprintf(line + n, sizeof(line) - n, "[pool=%s] ", pool);
	else
		w = 0;
	n += (size_t)w;
	va_start(ap, fmt);
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (w < 0)
		w = 0;
	n += (size_t)w;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Control characters from untrusted input (slow-query SQL, server messages) are made
	 * visible so one record stays one line. */
	for (size_t i = 0; i + 1 < n; i++) {
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = ' ';
	}
	(void)!write(STDERR_FILENO, line, n);
	errno = saved_errno;
}
