/*
 * config.c: INI parser and validation of the broker configuration.
 *
 * Keys are described by tables (one row per key, with its parser), so later issues add a key by
 * adding a row. Anything not in the tables is an error: a typo must not silently fall back to a
 * default on a production pool.
 *
 * Pool lifecycle and failure handling keys (issue 3); durations take 250ms, 30s, 5m, 1h, and 0
 * turns the feature off:
 *
 *   [broker]
 *   max_backends = 0          Cap on the backend connections of all pools together (0 = no
 *                             cap; each pool's max_connections still applies). At the cap a
 *                             pool with waiters replaces another pool's idle connection above
 *                             its min_connections (pool.c), else its growth waits. Also sizes
 *                             the shared slot array (see "slot capacity" below).
 *   orphan_timeout = 10s      After a broker crash, the new broker terminates the backends the
 *                             old one left (pg_terminate_backend through a connection of the
 *                             same pool). A backend a live worker still holds mid-transaction is
 *                             terminated once the worker releases it, or after this long.
 *
 *   [pool NAME]
 *   idle_timeout = 10m        Close connections idle this long while the pool has more than
 *                             min_connections.
 *   max_lifetime = 1h         Recycle connections older than this (each gets its own lifetime,
 *                             jittered by +-15% so they do not all expire together); only ever
 *                             while idle, never under a worker.
 *   health_check_period = 30s Check connections idle this long in the background (the slot is
 *                             taken out of the pool, an empty query is run, then it is offered
 *                             again); a dead one is replaced.
 *   validate_after_idle = 30s A lease of a connection idle longer than this pings it first (one
 *                             round trip in the worker); a dead one is handed back and another
 *                             leased. Reaches workers when they attach.
 *   circuit_breaker_threshold = 5   After this many consecutive failed connection attempts
 *                             with no connection left, the pool's circuit opens: leases fail at
 *                             once with 08006 saying since when PostgreSQL is down and the last
 *                             connect error; one probe connection at a time (half-open) closes
 *                             it on success. 0 = never open (leases wait acquire_timeout).
 *   connect_retry_max = 1s    Reconnect attempts back off exponentially from 100ms, with +-25%
 *                             jitter, up to this pause (at least 100ms).
 *
 * Slot capacity (shared memory is sized once, at start): the slot array holds
 * max(max_backends, 2 x the sum of max_connections, 64) slots (at most 4096). Each pool reserves
 * a contiguous range of up to 2 x its max_connections (never less than max_connections), leaving
 * a share free for pools added later. A reload (SIGHUP) can raise a pool's max_connections up to
 * its reserve and add pools while free slots remain; beyond that it says so in the log and a
 * restart is needed.
 *
 * Access keys (issue 7; see access.h, perm.h, transport.h):
 *
 *   [pool NAME]
 *   allowed_uids = www-data, 1001   Only processes running as one of these users (names or
 *                             numbers)...
 *   allowed_gids = www-data         ...or in one of these groups (primary or supplementary, as
 *                             the kernel reports the peer of the control socket) may ATTACH to the
 *                             pool; a refused process gets 28000. Without either key, every
 *                             process that can open the control socket may try the password.
 *   auth = password           password (default): the worker must give the pool's password,
 *                             compared in constant time; after 3 failures in a row from one uid
 *                             that uid's next ATTACHes wait 250 ms, 500 ms, ... up to 3 s.
 *                             peer: allowed_uids / allowed_gids alone admit a process, no
 *                             password (the pool needs one of them). RISK: every process of an
 *                             admitted user or group gets the database as the pool's user,
 *                             including any code that user runs (a compromised web application, a
 *                             cron job, a shell of that user); a password at least has to be
 *                             found first. Use it for a dedicated user per application, never
 *                             for a shared one like www-data serving several sites.
 *
 * A config file that sets a password (password = or a password inside a dsn) and every
 * password_file must not be readable or writable by all users (chmod o-rwx): the broker refuses
 * to start otherwise. A dsn whose host is not a Unix socket or loopback address needs
 * sslmode=disable (pgpool cannot keep a TLS session, and libpq's default prefer would silently
 * fall back to plaintext); sslmode=require/verify-* and gssencmode=require are refused.
 */
#include "config.h"
#include "perm.h"
#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONFIG_FILE_MAX     (1u << 20)
#define CONFIG_PASSWORD_MAX 1000u

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

static int config_fail(struct config_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int config_fail(struct config_parser *p, int line, const char *fmt, ...)
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

int config_parse_duration(const char *s, uint32_t *ms)
{
	char *end;
	unsigned long long v;
	unsigned long long mult;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -EINVAL;
	if (v > UINT32_MAX / mult)
		return -ERANGE;
	*ms = (uint32_t)(v * mult);
	return 0;
}

static int config_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

const char *config_loop_name(enum config_loop loop)
{
	switch (loop) {
	case CONFIG_LOOP_AUTO:
		return "auto";
	case CONFIG_LOOP_IO_URING:
		return "io_uring";
	case CONFIG_LOOP_EPOLL:
		return "epoll";
	}
	return "?";
}

/* ---- [broker] keys ---- */

static int broker_socket(struct config_parser *p, const char *v)
{
	struct sockaddr_un sa;

	if (v[0] != '/')
		return config_fail(p, p->line, "socket must be an absolute path, got \"%s\"", v);
	if (strlen(v) >= sizeof(sa.sun_path))
		return config_fail(p, p->line, "socket path is longer than %zu bytes",
		                   sizeof(sa.sun_path) - 1);
	free(p->cfg->socket);
	p->cfg->socket = strdup(v);
	return p->cfg->socket ? 0 : -ENOMEM;
}

static int broker_socket_mode(struct config_parser *p, const char *v)
{
	char *end;
	unsigned long m;

	errno = 0;
	m = strtoul(v, &end, 8);
	if (errno || *end || !*v || m > 0777)
		return config_fail(p, p->line,
		                   "socket_mode must be an octal mode like 0660, got \"%s\"", v);
	p->cfg->socket_mode = (mode_t)m;
	return 0;
}

/* A group by name or number (name[64] keeps it as written, for logs). */
static int config_group(struct config_parser *p, const char *key, const char *v, gid_t *gid,
                        char name[64])
{
	char why[128];

	if (strlen(v) >= 64)
		return config_fail(p, p->line, "%s name is too long", key);
	if (access_parse_group(v, gid, why, sizeof(why)) < 0)
		return config_fail(p, p->line, "%s \"%s\": no such group", key, v);
	snprintf(name, 64, "%s", v);
	return 0;
}

static int broker_socket_group(struct config_parser *p, const char *v)
{
	int rc = config_group(p, "socket_group", v, &p->cfg->socket_gid, p->cfg->socket_group);

	p->cfg->has_socket_group = rc == 0;
	return rc;
}

/* ---- [broker] keys of the admin socket and metrics (issue 6) ---- */

static int broker_admin_socket(struct config_parser *p, const char *v)
{
	struct sockaddr_un sa;

	free(p->cfg->admin_socket);
	p->cfg->admin_socket = NULL;
	p->admin_socket_off = strcmp(v, "off") == 0;
	if (p->admin_socket_off)
		return 0;
	if (v[0] != '/')
		return config_fail(p, p->line,
		                   "admin_socket must be an absolute path or off, got \"%s\"", v);
	if (strlen(v) >= sizeof(sa.sun_path))
		return config_fail(p, p->line, "admin_socket path is longer than %zu bytes",
		                   sizeof(sa.sun_path) - 1);
	p->cfg->admin_socket = strdup(v);
	return p->cfg->admin_socket ? 0 : -ENOMEM;
}

static int broker_admin_group(struct config_parser *p, const char *v)
{
	int rc = config_group(p, "admin_group", v, &p->cfg->admin_gid, p->cfg->admin_group);

	p->cfg->has_admin_group = rc == 0;
	return rc;
}

/* HOST:PORT, [IPv6]:PORT, *:PORT (all addresses) or off; the address is resolved at start. */
static int broker_metrics(struct config_parser *p, const char *v)
{
	const char *colon = strrchr(v, ':');
	uint32_t port;

	p->cfg->metrics[0] = '\0';
	if (strcmp(v, "off") == 0)
		return 0;
	if (!colon || config_parse_uint(colon + 1, 65535, &port) < 0 ||
	    strlen(v) >= sizeof(p->cfg->metrics) || (v[0] == '[' && colon[-1] != ']'))
		return config_fail(p, p->line,
		                   "metrics must be HOST:PORT (e.g. 127.0.0.1:9187, [::1]:9187, "
		                   "*:9187) or off, got \"%s\"",
		                   v);
	snprintf(p->cfg->metrics, sizeof(p->cfg->metrics), "%s", v);
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

static int broker_shm_name(struct config_parser *p, const char *v)
{
	if (v[0] != '/' || strchr(v + 1, '/') || !v[1])
		return config_fail(
		    p, p->line,
		    "shm_name must look like /name (one leading slash, no other), got "
		    "\"%s\"",
		    v);
	if (strlen(v) >= sizeof(p->cfg->shm_name))
		return config_fail(p, p->line, "shm_name is longer than %zu bytes",
		                   sizeof(p->cfg->shm_name) - 1);
	snprintf(p->cfg->shm_name, sizeof(p->cfg->shm_name), "%s", v);
	return 0;
}

static int broker_event_loop(struct config_parser *p, const char *v)
{
	if (strcmp(v, "auto") == 0)
		p->cfg->event_loop = CONFIG_LOOP_AUTO;
	else if (strcmp(v, "io_uring") == 0)
		p->cfg->event_loop = CONFIG_LOOP_IO_URING;
	else if (strcmp(v, "epoll") == 0)
		p->cfg->event_loop = CONFIG_LOOP_EPOLL;
	else
		return config_fail(p, p->line,
		                   "event_loop must be auto, io_uring or epoll, got \"%s\"", v);
	return 0;
}

static int broker_log_level(struct config_parser *p, const char *v)
{
	if (log_level_parse(v, &p->cfg->log_level) < 0)
		return config_fail(
		    p, p->line, "log_level must be debug, info, warning or error, got \"%s\"", v);
	return 0;
}

static int config_duration_key(struct config_parser *p, const char *key, const char *v,
                               uint32_t *out)
{
	if (config_parse_duration(v, out) < 0)
		return config_fail(p, p->line,
		                   "%s: bad duration \"%s\" (use e.g. 30s, 5m, 1h, 250ms)", key, v);
	return 0;
}

static int broker_shutdown_timeout(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "shutdown_timeout", v, &p->cfg->shutdown_timeout_ms);
}

static int broker_max_backends(struct config_parser *p, const char *v)
{
	if (config_parse_uint(v, PGP_MAX_SLOTS, &p->cfg->max_backends) < 0)
		return config_fail(p, p->line,
		                   "max_backends must be a number from 0 to %u, got \"%s\"",
		                   PGP_MAX_SLOTS, v);
	return 0;
}

static int broker_orphan_timeout(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "orphan_timeout", v, &p->cfg->orphan_timeout_ms);
}

/* ---- [pool] keys ---- */

static int pool_dsn(struct config_parser *p, const char *v)
{
	free(p->pool->dsn);
	p->pool->dsn = strdup(v);
	return p->pool->dsn ? 0 : -ENOMEM;
}

static int pool_set_password(struct config_parser *p, const char *source, const char *pw,
                             size_t len)
{
	if (p->pool->password_source && strcmp(p->pool->password_source, "dsn") != 0)
		return config_fail(p, p->line,
		                   "pool \"%s\" sets both %s and %s: give only one of password, "
		                   "password_file, password_env",
		                   p->pool->name, p->pool->password_source, source);
	if (len > CONFIG_PASSWORD_MAX)
		return config_fail(p, p->line, "%s: password longer than %u bytes", source,
		                   CONFIG_PASSWORD_MAX);
	free(p->pool->password);
	p->pool->password = malloc(len + 1);
	if (!p->pool->password)
		return -ENOMEM;
	memcpy(p->pool->password, pw, len);
	p->pool->password[len] = '\0';
	p->pool->password_len = len;
	p->pool->password_source = source;
	return 0;
}

static int pool_password(struct config_parser *p, const char *v)
{
	return pool_set_password(p, "password", v, strlen(v));
}

/* password_file may name systemd's credentials directory (LoadCredential=) as %d,
 * $CREDENTIALS_DIRECTORY or ${CREDENTIALS_DIRECTORY}, as a unit file would. */
static int config_expand_credentials(struct config_parser *p, const char *v, char *out,
                                     size_t outlen)
{
	static const char *const names[] = {"%d", "${CREDENTIALS_DIRECTORY}",
	                                    "$CREDENTIALS_DIRECTORY"};
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	size_t n = 0;

	while (*v) {
		size_t k, len = 0;
		for (k = 0; k < PGP_ARRAY_LEN(names); k++) {
			len = strlen(names[k]);
			if (strncmp(v, names[k], len) == 0)
				break;
		}
		if (k < PGP_ARRAY_LEN(names)) {
			if (!dir || !*dir)
				return config_fail(
				    p, p->line,
				    "password_file uses %s, but $CREDENTIALS_DIRECTORY "
				    "is not set (LoadCredential= in the systemd unit "
				    "sets it)",
				    names[k]);
			if (n + strlen(dir) >= outlen)
				break;
			memcpy(out + n, dir, strlen(dir));
			n += strlen(dir);
			v += len;
			continue;
		}
		if (n + 1 >= outlen)
			break;
		out[n++] = *v++;
	}
	if (*v)
		return config_fail(p, p->line, "password_file path is too long");
	out[n] = '\0';
	return 0;
}

static int pool_password_file(struct config_parser *p, const char *value)
{
	char buf[CONFIG_PASSWORD_MAX + 2], v[PATH_MAX], why[PATH_MAX + 200];
	ssize_t n;
	size_t len;
	int fd, rc = config_expand_credentials(p, value, v, sizeof(v));

	if (rc)
		return rc;
	fd = open(v, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return config_fail(p, p->line, "password_file \"%s\": %s", v, strerror(errno));
	rc = perm_check_secret(fd, v, "password_file", why, sizeof(why));
	if (rc) {
		close(fd);
		return config_fail(p, p->line, "%s", why);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return config_fail(p, p->line, "password_file \"%s\": %s", v, strerror(errno));
	len = (size_t)n;
	/* Files written by editors and `echo` end with a newline that is not part of the secret. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (memchr(buf, '\0', len) || memchr(buf, '\n', len))
		return config_fail(p, p->line,
		                   "password_file \"%s\" must hold the password on one line", v);
	if (len > CONFIG_PASSWORD_MAX)
		return config_fail(p, p->line, "password_file \"%s\" is longer than %u bytes", v,
		                   CONFIG_PASSWORD_MAX);
	return pool_set_password(p, "password_file", buf, len);
}

static int pool_password_env(struct config_parser *p, const char *v)
{
	const char *pw = getenv(v);

	if (!pw)
		return config_fail(p, p->line, "password_env: environment variable %s is not set",
		                   v);
	return pool_set_password(p, "password_env", pw, strlen(pw));
}

static int pool_count_key(struct config_parser *p, const char *key, const char *v, uint32_t *out)
{
	if (config_parse_uint(v, PGP_MAX_SLOTS, out) < 0)
		return config_fail(p, p->line, "%s must be a number from 0 to %u, got \"%s\"", key,
		                   PGP_MAX_SLOTS, v);
	return 0;
}

static int pool_min_connections(struct config_parser *p, const char *v)
{
	return pool_count_key(p, "min_connections", v, &p->pool->min_connections);
}

static int pool_max_connections(struct config_parser *p, const char *v)
{
	int rc = pool_count_key(p, "max_connections", v, &p->pool->max_connections);

	if (rc == 0 && p->pool->max_connections == 0)
		return config_fail(p, p->line, "max_connections must be at least 1");
	return rc;
}

static int pool_mode(struct config_parser *p, const char *v)
{
	if (strcmp(v, "transaction") == 0)
		p->pool->mode = PGP_MODE_TRANSACTION;
	else if (strcmp(v, "session") == 0)
		p->pool->mode = PGP_MODE_SESSION;
	else if (strcmp(v, "statement") == 0)
		p->pool->mode = PGP_MODE_STATEMENT;
	else
		return config_fail(p, p->line,
		                   "mode must be transaction, session or statement, got \"%s\"", v);
	return 0;
}

static int pool_acquire_timeout(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "acquire_timeout", v, &p->pool->acquire_timeout_ms);
}

static int pool_query_timeout(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "query_timeout", v, &p->pool->query_timeout_ms);
}

static int pool_slow_query_threshold(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "slow_query_threshold", v, &p->pool->slow_query_ms);
}

static int pool_idle_timeout(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "idle_timeout", v, &p->pool->idle_timeout_ms);
}

static int pool_max_lifetime(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "max_lifetime", v, &p->pool->max_lifetime_ms);
}

static int pool_health_check_period(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "health_check_period", v, &p->pool->health_check_period_ms);
}

static int pool_validate_after_idle(struct config_parser *p, const char *v)
{
	return config_duration_key(p, "validate_after_idle", v, &p->pool->validate_after_idle_ms);
}

static int pool_breaker_threshold(struct config_parser *p, const char *v)
{
	if (config_parse_uint(v, 1000000, &p->pool->breaker_threshold) < 0)
		return config_fail(
		    p, p->line,
		    "circuit_breaker_threshold must be a number (0 = never open), got "
		    "\"%s\"",
		    v);
	return 0;
}

static int pool_connect_retry_max(struct config_parser *p, const char *v)
{
	int rc = config_duration_key(p, "connect_retry_max", v, &p->pool->connect_retry_max_ms);

	if (rc == 0 && p->pool->connect_retry_max_ms < CONFIG_RETRY_MIN_MS)
		return config_fail(p, p->line, "connect_retry_max must be at least %ums",
		                   CONFIG_RETRY_MIN_MS);
	return rc;
}

struct config_key {
	const char *name;
	int (*set)(struct config_parser *p, const char *value);
};

static int pool_access_list(struct config_parser *p, const char *key, const char *v, bool groups,
                            struct access_list *out)
{
	char why[300];
	int rc = groups ? access_parse_gids(v, out, why, sizeof(why))
	                : access_parse_uids(v, out, why, sizeof(why));

	if (rc == -EINVAL)
		return config_fail(p, p->line, "%s: %s", key, why);
	return rc;
}

static int pool_allowed_uids(struct config_parser *p, const char *v)
{
	return pool_access_list(p, "allowed_uids", v, false, &p->pool->allowed_uids);
}

static int pool_allowed_gids(struct config_parser *p, const char *v)
{
	return pool_access_list(p, "allowed_gids", v, true, &p->pool->allowed_gids);
}

static int pool_auth(struct config_parser *p, const char *v)
{
	if (access_parse_auth(v, &p->pool->auth) < 0)
		return config_fail(p, p->line, "auth must be password or peer, got \"%s\"", v);
	return 0;
}

static const struct config_key broker_keys[] = {
    {"socket", broker_socket},
    {"socket_mode", broker_socket_mode},
    {"socket_group", broker_socket_group},
    {"shm_name", broker_shm_name},
    {"event_loop", broker_event_loop},
    {"log_level", broker_log_level},
    {"shutdown_timeout", broker_shutdown_timeout},
    {"max_backends", broker_max_backends},
    {"orphan_timeout", broker_orphan_timeout},
    {"admin_socket", broker_admin_socket},
    {"admin_group", broker_admin_group},
    {"metrics", broker_metrics},
};

static const struct config_key pool_keys[] = {
    {"dsn", pool_dsn},
    {"password", pool_password},
    {"password_file", pool_password_file},
    {"password_env", pool_password_env},
    {"min_connections", pool_min_connections},
    {"max_connections", pool_max_connections},
    {"mode", pool_mode},
    {"acquire_timeout", pool_acquire_timeout},
    {"query_timeout", pool_query_timeout},
    {"slow_query_threshold", pool_slow_query_threshold},
    {"idle_timeout", pool_idle_timeout},
    {"max_lifetime", pool_max_lifetime},
    {"health_check_period", pool_health_check_period},
    {"validate_after_idle", pool_validate_after_idle},
    {"circuit_breaker_threshold", pool_breaker_threshold},
    {"connect_retry_max", pool_connect_retry_max},
    {"allowed_uids", pool_allowed_uids},
    {"allowed_gids", pool_allowed_gids},
    {"auth", pool_auth},
};

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
		keys = broker_keys;
		nkeys = PGP_ARRAY_LEN(broker_keys);
	} else {
		keys = pool_keys;
		nkeys = PGP_ARRAY_LEN(pool_keys);
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
