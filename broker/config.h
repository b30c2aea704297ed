/*
 * config.h: the broker's INI configuration ([broker] and one [pool NAME] per pool).
 *
 * The parser is our own (no library): sections, key = value, comments with ; or # (whole line,
 * or trailing after whitespace). Every problem is reported as "FILE:LINE: problem". Passwords
 * from password_file / password_env are read when the file is loaded, so --check proves they
 * are reachable, and they never leave this process (not in shm, not in logs).
 */
#ifndef BROKER_CONFIG_H
#define BROKER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "log.h"
#include "pgp_common.h"
#include "pgp_dsn.h"
#include "pgp_shm.h"

enum config_loop {
	CONFIG_LOOP_AUTO = 0,
	CONFIG_LOOP_IO_URING = 1,
	CONFIG_LOOP_EPOLL = 2,
};

/* One key=value of a pool's dsn, in order (password pairs are kept, never printed). */
struct config_dsn_pair {
	char *key;
	char *value;
};

struct config_pool {
	char name[PGP_NAME_MAX];
	int line;                      /* line of the [pool NAME] header */
	char *dsn;                     /* as written (may hold a password: never log it) */
	struct config_dsn_pair *pairs; /* parsed dsn */
	uint32_t npairs;
	pgp_dsn_key key; /* normalised (host, port, dbname, user) */
	char *password;  /* the pool's password (malloc'd), never logged */
	size_t password_len;
	const char *password_source; /* "password", "password_file", "password_env", "dsn" */
	uint32_t min_connections;
	uint32_t max_connections;
	uint32_t mode; /* enum pgp_pool_mode */
	uint32_t acquire_timeout_ms;
	uint32_t query_timeout_ms;       /* 0 = none */
	uint32_t slow_query_ms;          /* 0 = off */
	uint32_t connect_timeout_ms;     /* from the dsn's connect_timeout, else the default */
	bool sslmode_plaintext_fallback; /* prefer/allow/unset on a local host: plaintext */
	/* lifecycle (issue 3; 0 = off for each duration) */
	uint32_t idle_timeout_ms;        /* close connections idle this long above the minimum */
	uint32_t max_lifetime_ms;        /* recycle (while idle) connections older, +-15% jitter */
	uint32_t health_check_period_ms; /* check connections idle this long in the background */
	uint32_t validate_after_idle_ms; /* a lease pings a connection idle longer before use */
	uint32_t breaker_threshold;      /* consecutive connect failures that open the circuit */
	uint32_t connect_retry_max_ms;   /* longest pause between reconnect attempts (backoff) */
	/* access (issue 7) */
	struct access_list allowed_uids; /* empty: no uid restriction (see access.h) */
	struct access_list allowed_gids;
	uint32_t auth; /* enum access_auth */
};

struct config {
	char *path;
	char *socket;
	mode_t socket_mode;
	bool has_socket_group;
	gid_t socket_gid;
	char socket_group[64];
	char shm_name[64];
	enum config_loop event_loop;
	enum log_level log_level;
	uint32_t shutdown_timeout_ms;
	uint32_t max_backends;      /* cap on the backends of all pools together, 0 = none */
	uint32_t orphan_timeout_ms; /* wait for live leases of a dead broker's backends */
	char *admin_socket;         /* admin socket (pgpool-cli), NULL when off */
	bool has_admin_group;       /* admin_group: who besides root may use the admin socket */
	gid_t admin_gid;
	char admin_group[64];
	char metrics[128]; /* HOST:PORT of the Prometheus endpoint, "" when off */
	struct config_pool *pools;
	uint32_t npools;
};

#define CONFIG_DEFAULT_SOCKET             "/run/pgpool/pgpool.sock"
#define CONFIG_DEFAULT_SHM                "/pgpool"
#define CONFIG_DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define CONFIG_RETRY_MIN_MS               100u /* first reconnect pause of the backoff */

/*
 * Load and validate a configuration file. On failure returns -EINVAL (or -errno for I/O) and
 * writes "FILE:LINE: problem" into err.
 */
int config_load(const char *path, struct config *out, char *err, size_t errlen) PGP_WUR;
/* The same for configuration text already in memory (NUL-terminated; cut up in place), reported
 * as coming from `path`: what config_load() runs on the file's contents, and the entry point of
 * the config fuzzer (tests/fuzz). */
int config_parse(const char *path, char *text, struct config *out, char *err,
                 size_t errlen) PGP_WUR;
void config_free(struct config *cfg);
/* Move a pool's settings (and ownership of its strings) from src to dst; src is left empty. */
void config_pool_move(struct config_pool *dst, struct config_pool *src);
/* Free what a pool's settings own (dsn, pairs, password are wiped first). */
void config_pool_free(struct config_pool *pool);

/* The pool's dsn with any password replaced by "********", for logs and --check. */
void config_redact_dsn(const struct config_pool *pool, char *out, size_t outlen);

/* Parse a duration ("30s", "5m", "1h", "250ms", plain number = seconds) into milliseconds.
 * 0 or -EINVAL / -ERANGE. */
int config_parse_duration(const char *s, uint32_t *ms) PGP_WUR;

const char *config_loop_name(enum config_loop loop);

#endif
