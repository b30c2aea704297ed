/*
 * config_keys.c: the keys of [broker] and [pool NAME] sections: one handler per key parses and
 * checks its value, and the tables list them (a new key is a new row).
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
#include "config_int.h"
#include "perm.h"
#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define CONFIG_PASSWORD_MAX 1000u

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

int config_parse_uint(const char *s, uint32_t max, uint32_t *out)
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
	/* Workers authenticate with this password: an empty one would admit any process that can
	 * open the control socket, which is what an empty secret file most often is by mistake. */
	if (len == 0)
		return config_fail(p, p->line, "pool \"%s\": %s gives an empty password",
		                   p->pool->name, source);
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
	if (!*v)
		return config_fail(p, p->line, "\"password\" has an empty value");
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
	if (len == 0)
		return config_fail(
		    p, p->line,
		    "pool \"%s\": password_file \"%s\" is empty (the password is its "
		    "first line)",
		    p->pool->name, v);
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
	if (!*pw)
		return config_fail(p, p->line,
		                   "pool \"%s\": password_env: environment variable %s is empty",
		                   p->pool->name, v);
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

const struct config_key config_broker_keys[] = {
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

const struct config_key config_pool_keys[] = {
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

const size_t config_broker_nkeys = PGP_ARRAY_LEN(config_broker_keys);
const size_t config_pool_nkeys = PGP_ARRAY_LEN(config_pool_keys);
