/*
 * config_int.h: what the two halves of the configuration parser share: config.c (the file, its
 * lines and sections, whole-file checks) and config_keys.c (the keys and their values).
 */
#ifndef BROKER_CONFIG_INT_H
#define BROKER_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Parsing state shared by the key handlers. */
struct config_parser {
	struct config *cfg;
	const char *path;
	int line;
	char *err;
	size_t errlen;
	bool in_broker;
	struct config_pool *pool; /* current [pool] section, NULL in [broker] */
	bool admin_socket_off;    /* admin_socket = off */
	uint64_t seen;            /* bit per key of the current section (duplicate detection) */
	bool seen_broker;
};

/* A key of a section and the handler that parses and checks its value into p->cfg / p->pool. */
struct config_key {
	const char *name;
	int (*set)(struct config_parser *p, const char *value);
};

extern const struct config_key config_broker_keys[];
extern const size_t config_broker_nkeys;
extern const struct config_key config_pool_keys[];
extern const size_t config_pool_nkeys;

/* Puts "FILE:LINE: message" into p->err; always returns -EINVAL, for `return config_fail(...)`. */
int config_fail(struct config_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A decimal number 0..max, digits only (no sign, no spaces): 0 or -EINVAL. */
int config_parse_uint(const char *s, uint32_t max, uint32_t *out) PGP_WUR;

#endif
