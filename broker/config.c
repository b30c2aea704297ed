/*
 * config.c: the broker configuration file: reading it, its lines and sections, and the checks
 * that need a whole section or the whole file (dsn, limits, admin socket).
 *
 * What each key accepts is in config_keys.c, one row per key in a table: anything not in the
 * tables is an error, since a typo must not silently fall back to a default on a production pool.
 */
#include "config_int.h"
#include "perm.h"
#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1u << 20)

int config_fail(struct config_parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, line);

	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- dsn checks ---- */

struct dsn_collect {
	struct config_pool *pool;
	int rc;
};

static int dsn_collect_pair(const char *key, const char *value, void *ctx)
{
	struct dsn_collect *c = ctx;
	struct config_pool *pool = c->pool;
	struct config_dsn_pair *pairs;

	pairs = realloc(pool->pairs, (pool->npairs + 1) * sizeof(*pairs));
	if (!pairs) {
		c->rc = -ENOMEM;
		return 1;
	}
	pool->pairs = pairs;
	pairs[pool->npairs].key = strdup(key);
	pairs[pool->npairs].value = strdup(value);
	if (!pairs[pool->npairs].key || !pairs[pool->npairs].value) {
		free(pairs[pool->npairs].key);
		free(pairs[pool->npairs].value);
		c->rc = -ENOMEM;
		return 1;
	}
	pool->npairs++;
	return 0;
}

static const char *pool_dsn_value(const struct config_pool *pool, const char *key)
{
	const char *v = NULL;

	/* libpq: the last occurrence wins. */
	for (uint32_t i = 0; i < pool->npairs; i++) {
		if (strcmp(pool->pairs[i].key, key) == 0)
			v = pool->pairs[i].value;
	}
	return v;
}

/* libpq's own parser: it knows every keyword of the linked libpq (our parser accepts any), so
 * a typo such as "bogus=1" stops --check instead of failing every connect at run time. */
static int pool_check_dsn_libpq(struct config_parser *p, const struct config_pool *pool)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(pool->dsn, &msg);
	int rc = 0;

	if (!opts) {
		if (!msg)
			return -ENOMEM;
		msg[strcspn(msg, "\n")] = '\0';
		rc = config_fail(p, pool->line, "pool \"%s\": dsn refused by libpq: %s", pool->name,
		                 msg);
	}
	PQfreemem(msg);
	PQconninfoFree(opts);
	return rc;
}

/* Number of comma-separated entries of a host or port list (libpq's multi-host syntax). */
static uint32_t dsn_list_len(const char *v)
{
	uint32_t n = 1;

	for (; *v; v++)
		n += *v == ',';
	return n;
}

/* The ports as libpq checks them only when it connects: each 1..65535 (an empty entry is the
 * default port), and one port for all hosts or one per host. */
static int pool_check_dsn_ports(struct config_parser *p, const struct config_pool *pool)
{
	const char *ports = pool_dsn_value(pool, "port");
	const char *host = pool_dsn_value(pool, "host");
	const char *hostaddr = pool_dsn_value(pool, "hostaddr");
	uint32_t nhosts = 1;

	if (!ports || !*ports)
		return 0;
	for (const char *v = ports; *v;) {
		size_t len = strcspn(v, ",");
		char item[16];
		uint32_t port;

		while (len > 0 && isspace((unsigned char)*v))
			v++, len--;
		while (len > 0 && isspace((unsigned char)v[len - 1]))
			len--;
		if (len > 0) {
			if (len >= sizeof(item))
				len = sizeof(item) - 1;
			memcpy(item, v, len);
			item[len] = '\0';
			if (config_parse_uint(item, 65535, &port) < 0 || port == 0)
				return config_fail(
				    p, pool->line,
				    "pool \"%s\": dsn port \"%s\" is not a port number "
				    "(1 to 65535)",
				    pool->name, item);
		}
		v += strcspn(v, ",");
		if (*v == ',')
			v++;
	}
	if (host && *host)
		nhosts = dsn_list_len(host);
	else if (hostaddr && *hostaddr)
		nhosts = dsn_list_len(hostaddr);
	if (dsn_list_len(ports) != 1 && dsn_list_len(ports) != nhosts)
		return config_fail(
		    p, pool->line,
		    "pool \"%s\": dsn has %u ports for %u hosts (give one port, or one "
		    "per host)",
		    pool->name, dsn_list_len(ports), nhosts);
	return 0;
}

static int pool_check_dsn(struct config_parser *p, struct config_pool *pool)
{
	struct dsn_collect c = {pool, 0};
	const char *v;
	char why[600];
	int rc;

	if (!pool->dsn)
		return config_fail(p, pool->line, "pool \"%s\" has no dsn", pool->name);
	rc = pgp_conninfo_parse(pool->dsn, dsn_collect_pair, &c);
	if (c.rc)
		return c.rc;
	if (rc != 0)
		return config_fail(
		    p, pool->line,
		    "pool \"%s\": dsn is not a valid libpq conninfo or postgres:// URI",
		    pool->name);
	rc = pool_check_dsn_libpq(p, pool);
	if (rc)
		return rc;
	rc = pool_check_dsn_ports(p, pool);
	if (rc)
		return rc;
	if (pgp_dsn_parse_conninfo(pool->dsn, &pool->key) != 0)
		return config_fail(p, pool->line, "pool \"%s\": dsn cannot be parsed", pool->name);
	if (!pool->key.user[0])
		return config_fail(p, pool->line,
		                   "pool \"%s\": dsn must name the user (user=...): workers are "
		                   "matched and authenticated by it",
		                   pool->name);
	pgp_dsn_normalize(&pool->key);
	rc = transport_check(pool_dsn_value(pool, "sslmode"), pool_dsn_value(pool, "gssencmode"),
	                     pool_dsn_value(pool, "host"), pool_dsn_value(pool, "hostaddr"), why,
	                     sizeof(why));
	if (rc < 0)
		return config_fail(p, pool->line, "pool \"%s\": %s", pool->name, why);
	pool->sslmode_plaintext_fallback = rc == TRANSPORT_LOCAL_FALLBACK;
	v = pool_dsn_value(pool, "connect_timeout");
	pool->connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
	if (v) {
		uint32_t s;
		if (config_parse_uint(v, 3600, &s) < 0)
			return config_fail(p, pool->line,
			                   "pool \"%s\": dsn connect_timeout must be seconds",
			                   pool->name);
		if (s > 0)
			pool->connect_timeout_ms = s * 1000u;
	}
	v = pool_dsn_value(pool, "password");
	if (v && !*v && !pool->password_source)
		return config_fail(p, pool->line, "pool \"%s\": dsn gives an empty password",
		                   pool->name);
	if (v && !pool->password_source) {
		pool->password = strdup(v);
		if (!pool->password)
			return -ENOMEM;
		pool->password_len = strlen(v);
		pool->password_source = "dsn";
	}
	return 0;
}

static int pool_finish(struct config_parser *p, struct config_pool *pool)
{
	int rc = pool_check_dsn(p, pool);

	if (rc)
		return rc;
	if (pool->auth == ACCESS_AUTH_PEER && pool->allowed_uids.n == 0 &&
	    pool->allowed_gids.n == 0)
		return config_fail(
		    p, pool->line,
		    "pool \"%s\": auth = peer needs allowed_uids and/or allowed_gids "
		    "(without them every process that can open the control socket "
		    "would get the pool without a password)",
		    pool->name);
	if (!pool->password_source && pool->auth != ACCESS_AUTH_PEER)
		return config_fail(p, pool->line,
		                   "pool \"%s\" has no password: set password, password_file or "
		                   "password_env (workers authenticate with it)",
		                   pool->name);
	if (pool->min_connections > pool->max_connections)
		return config_fail(p, pool->line,
		                   "pool \"%s\": min_connections (%u) is greater than "
		                   "max_connections (%u)",
		                   pool->name, pool->min_connections, pool->max_connections);
	return 0;
}

/* The admin socket defaults to admin.sock next to the control socket. */
static int config_admin_socket_default(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	const char *slash = strrchr(cfg->socket, '/');
	struct sockaddr_un sa;
	size_t dir = slash ? (size_t)(slash - cfg->socket) : 0;

	if (p->admin_socket_off || cfg->admin_socket)
		goto check;
	if (dir + 1 + strlen("admin.sock") >= sizeof(sa.sun_path))
		return config_fail(p, p->line,
		                   "the control socket's directory is too long for admin.sock next "
		                   "to it: set admin_socket");
	if (asprintf(&cfg->admin_socket, "%.*s/admin.sock", (int)dir, cfg->socket) < 0) {
		cfg->admin_socket = NULL;
		return -ENOMEM;
	}
check:
	if (cfg->admin_socket && strcmp(cfg->admin_socket, cfg->socket) == 0)
		return config_fail(p, p->line,
		                   "admin_socket and socket are the same file: give them different "
		                   "paths");
	return 0;
}

static int config_finish(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	uint64_t slots = 0;
	int rc;

	if (cfg->npools == 0)
		return config_fail(p, p->line,
		                   "no [pool NAME] section: configure at least one pool");
	rc = config_admin_socket_default(p);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < cfg->npools; i++) {
		rc = pool_finish(p, &cfg->pools[i]);
		if (rc)
			return rc;
		slots += cfg->pools[i].max_connections;
		for (uint32_t j = 0; j < i; j++) {
			if (pgp_dsn_match(&cfg->pools[j].key, &cfg->pools[i].key))
				return config_fail(
				    p, cfg->pools[i].line,
				    "pool \"%s\" has the same host, port, dbname and user as "
				    "pool \"%s\" (line %d): workers could not tell them apart",
				    cfg->pools[i].name, cfg->pools[j].name, cfg->pools[j].line);
		}
	}
	if (slots > PGP_MAX_SLOTS)
		return config_fail(p, p->line,
		                   "the pools' max_connections add up to %llu, more than the %u a "
		                   "broker supports",
		                   (unsigned long long)slots, PGP_MAX_SLOTS);
	if (cfg->max_backends > 0) {
		uint64_t mins = 0;
		for (uint32_t i = 0; i < cfg->npools; i++)
			mins += cfg->pools[i].min_connections;
		if (mins > cfg->max_backends)
			return config_fail(p, p->line,
			                   "the pools' min_connections add up to %llu, more than "
			                   "max_backends (%u)",
			                   (unsigned long long)mins, cfg->max_backends);
	}
	return 0;
}

/* ---- lines ---- */

static char *config_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Cut a trailing comment: ; or # preceded by whitespace, outside double quotes. */
static void config_cut_comment(char *s)
{
	bool quoted = false;

	for (char *c = s; *c; c++) {
		if (*c == '"' && (c == s || c[-1] != '\\'))
			quoted = !quoted;
		else if (!quoted && (*c == ';' || *c == '#') && c > s &&
		         (c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			return;
		}
	}
}

/* A value in double quotes may hold ; # and leading/trailing spaces; \" and \\ escape. */
static int config_unquote(struct config_parser *p, char *v)
{
	size_t n = strlen(v);
	char *o = v;

	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return config_fail(p, p->line, "unterminated quoted value");
	v[n - 1] = '\0';
	for (char *c = v + 1; *c; c++) {
		if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
			c++;
		*o++ = *c;
	}
	*o = '\0';
	return 0;
}

static int config_section(struct config_parser *p, char *s)
{
	struct config *cfg = p->cfg;
	char *end = strchr(s, ']');
	char *name;
	struct config_pool *pools;

	if (!end || config_trim(end + 1)[0])
		return config_fail(p, p->line, "malformed section header");
	*end = '\0';
	s = config_trim(s + 1);
	p->seen = 0;
	if (strcmp(s, "broker") == 0) {
		if (p->seen_broker)
			return config_fail(p, p->line, "duplicate [broker] section");
		p->seen_broker = true;
		p->in_broker = true;
		p->pool = NULL;
		return 0;
	}
	if (strncmp(s, "pool", 4) != 0 || (s[4] != ' ' && s[4] != '\t'))
		return config_fail(p, p->line,
		                   "unknown section [%s] (expected [broker] or [pool NAME])", s);
	name = config_trim(s + 5);
	if (!*name)
		return config_fail(p, p->line, "[pool] needs a name: [pool NAME]");
	if (strlen(name) >= PGP_NAME_MAX)
		return config_fail(p, p->line, "pool name longer than %d bytes", PGP_NAME_MAX - 1);
	for (char *c = name; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return config_fail(p, p->line,
			                   "pool name \"%s\" may only hold letters, digits, _ - .",
			                   name);
	}
	for (uint32_t i = 0; i < cfg->npools; i++) {
		if (strcmp(cfg->pools[i].name, name) == 0)
			return config_fail(p, p->line, "duplicate pool \"%s\" (first at line %d)",
			                   name, cfg->pools[i].line);
	}
	if (cfg->npools >= PGP_MAX_POOLS)
		return config_fail(p, p->line, "more than %d pools", PGP_MAX_POOLS);
	pools = realloc(cfg->pools, (cfg->npools + 1) * sizeof(*pools));
	if (!pools)
		return -ENOMEM;
	cfg->pools = pools;
	p->pool = &pools[cfg->npools++];
	memset(p->pool, 0, sizeof(*p->pool));
	snprintf(p->pool->name, sizeof(p->pool->name), "%s", name);
	p->pool->line = p->line;
	p->pool->min_connections = 0;
	p->pool->max_connections = 10;
	p->pool->mode = PGP_MODE_TRANSACTION;
	p->pool->acquire_timeout_ms = 5000;
	p->pool->idle_timeout_ms = 600000;
	p->pool->max_lifetime_ms = 3600000;
	p->pool->health_check_period_ms = 30000;
	p->pool->validate_after_idle_ms = 30000;
	p->pool->breaker_threshold = 5;
	p->pool->connect_retry_max_ms = 1000;
	p->in_broker = false;
	return 0;
}

static int config_keyvalue(struct config_parser *p, char *s)
{
	char *eq = strchr(s, '=');
	const struct config_key *keys;
	size_t nkeys;
	char *key, *value;
	int rc;

	if (!eq)
		return config_fail(p, p->line, "expected key = value");
	*eq = '\0';
	key = config_trim(s);
	value = config_trim(eq + 1);
	if (!p->in_broker && !p->pool)
		return config_fail(p, p->line, "\"%s\" outside of a section", key);
	rc = config_unquote(p, value);
	if (rc)
		return rc;
	if (p->in_broker) {
		keys = config_broker_keys;
		nkeys = config_broker_nkeys;
	} else {
		keys = config_pool_keys;
		nkeys = config_pool_nkeys;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		if (p->seen & (1ull << i))
			return config_fail(p, p->line, "duplicate key \"%s\"", key);
		p->seen |= 1ull << i;
		if (!*value && strcmp(key, "password") != 0)
			return config_fail(p, p->line, "\"%s\" has an empty value", key);
		return keys[i].set(p, value);
	}
	return config_fail(p, p->line, "unknown key \"%s\" in [%s]", key,
	                   p->in_broker ? "broker" : "pool");
}

static int config_read_file(const char *path, char **out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf + len, CONFIG_FILE_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len >= CONFIG_FILE_MAX) {
		rc = n < 0 ? -errno : -EFBIG;
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "file too large");
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*out = buf;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* true if a password was written into the file itself (not password_file / password_env). */
static bool config_holds_password(const struct config *cfg)
{
	for (uint32_t i = 0; i < cfg->npools; i++) {
		const char *src = cfg->pools[i].password_source;

		if (pool_dsn_value(&cfg->pools[i], "password") ||
		    (src && strcmp(src, "password") == 0))
			return true;
	}
	return false;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char *text = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = config_read_file(path, &text, err, errlen);
	if (rc || !text)
		return rc ? rc : -EIO;
	rc = config_parse(path, text, cfg, err, errlen);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc == 0 && config_holds_password(cfg)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		rc = fd < 0 ? -errno : perm_check_secret(fd, path, "config file", err, errlen);
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			close(fd);
		if (rc)
			config_free(cfg);
	}
	return rc;
}

int config_parse(const char *path, char *text, struct config *cfg, char *err, size_t errlen)
{
	struct config_parser p = {.cfg = cfg, .path = path, .err = err, .errlen = errlen};
	char *line, *next;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_mode = 0660;
	snprintf(cfg->shm_name, sizeof(cfg->shm_name), "%s", CONFIG_DEFAULT_SHM);
	cfg->event_loop = CONFIG_LOOP_AUTO;
	cfg->log_level = LOG_INFO;
	cfg->shutdown_timeout_ms = 10000;
	cfg->orphan_timeout_ms = 10000;
	cfg->path = strdup(path);
	cfg->socket = strdup(CONFIG_DEFAULT_SOCKET);
	if (!cfg->path || !cfg->socket) {
		rc = -ENOMEM;
		goto fail;
	}
	for (line = text; line; line = next) {
		char *s;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		s = config_trim(line);
		if (!*s || *s == ';' || *s == '#')
			continue;
		config_cut_comment(s);
		s = config_trim(s);
		rc = *s == '[' ? config_section(&p, s) : config_keyvalue(&p, s);
		if (rc)
			goto fail;
	}
	rc = config_finish(&p);
	if (rc)
		goto fail;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	config_free(cfg);
	return rc;
}

static void config_secure_free(char *s, size_t len)
{
	if (s) {
		explicit_bzero(s, len);
		free(s);
	}
}

void config_pool_free(struct config_pool *pool)
{
	if (pool->dsn)
		config_secure_free(pool->dsn, strlen(pool->dsn));
	config_secure_free(pool->password, pool->password_len);
	for (uint32_t j = 0; j < pool->npairs; j++) {
		free(pool->pairs[j].key);
		config_secure_free(pool->pairs[j].value, strlen(pool->pairs[j].value));
	}
	free(pool->pairs);
	access_list_free(&pool->allowed_uids);
	access_list_free(&pool->allowed_gids);
	memset(pool, 0, sizeof(*pool));
}

void config_pool_move(struct config_pool *dst, struct config_pool *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void config_free(struct config *cfg)
{
	for (uint32_t i = 0; i < cfg->npools; i++)
		config_pool_free(&cfg->pools[i]);
	free(cfg->pools);
	free(cfg->socket);
	free(cfg->admin_socket);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

void config_redact_dsn(const struct config_pool *pool, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (uint32_t i = 0; i < pool->npairs && n < outlen; i++) {
		const char *k = pool->pairs[i].key;
		const char *v = strcmp(k, "password") == 0 ? "********" : pool->pairs[i].value;
		bool quote = !*v || strpbrk(v, " \t'\\") != NULL;
		int w = snprintf(out + n, outlen - n, "%s%s=%s", n ? " " : "", k, quote ? "'" : "");
		if (w < 0)
			break;
		n += (size_t)w;
		for (const char *c = v; *c && n + 2 < outlen; c++) {
			if (quote && (*c == '\'' || *c == '\\'))
				out[n++] = '\\';
			out[n++] = *c;
		}
		if (quote && n + 1 < outlen)
			out[n++] = '\'';
		if (n >= outlen)
			n = outlen - 1;
		out[n] = '\0';
	}
}
