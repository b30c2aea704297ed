/*
 * pgp_dsn.h: parsing of libpq connection strings (keyword=value and postgres:// URIs) and PDO
 * DSNs, and matching a worker's DSN to a configured pool.
 *
 * The broker parses each pool's `dsn` with this code to learn its (host, port, dbname, user) key;
 * the extension parses the DSN given to new PgPool()/new PDO() the same way, so both sides apply
 * the same defaults. Input is untrusted (it comes from PHP code and config files): every function
 * bounds-checks and fails with -EINVAL rather than truncating silently.
 */
#ifndef PGP_DSN_H
#define PGP_DSN_H

#include "pgp_common.h"

#define PGP_DSN_HOST_MAX 256
#define PGP_DSN_PORT_MAX 16
#define PGP_DSN_NAME_MAX 128 /* dbname, user, pool name */

/* The identity of a backend as far as pool matching is concerned. */
typedef struct pgp_dsn_key {
	char host[PGP_DSN_HOST_MAX];   /* as given; "" = libpq default (Unix socket) */
	char port[PGP_DSN_PORT_MAX];   /* "" = 5432 */
	char dbname[PGP_DSN_NAME_MAX]; /* "" = same as user */
	char user[PGP_DSN_NAME_MAX];   /* "" = unknown */
	char pool[PGP_DSN_NAME_MAX];   /* pgpool: DSNs only: pool=NAME */
} pgp_dsn_key;

/* Called once per keyword/value pair, in order; return nonzero to stop with that value. */
typedef int (*pgp_conninfo_cb)(const char *key, const char *value, void *ctx);

/*
 * Parse a libpq conninfo string ("host=x port=5432 dbname='a b'", with single-quoted values and
 * backslash escapes) or a URI ("postgres[ql]://user:pw@host:port/dbname?k=v", percent-decoded).
 * Calls cb for each pair (URI parts are reported as host, port, user, password, dbname). 0,
 * -EINVAL on a syntax error, or the callback's nonzero value.
 */
int pgp_conninfo_parse(const char *s, pgp_conninfo_cb cb, void *ctx) PGP_WUR;

/*
 * Parse a PDO DSN body (after "pgsql:" or "pgpool:"): PDO uses ';' or whitespace between
 * keyword=value pairs. Fills key (host, port, dbname, user, pool) and, if the DSN carries one,
 * copies the password into password (up to password_cap bytes, *has_password = 1).
 * Unknown keywords are ignored (libpq options like sslmode, connect_timeout, options...).
 */
int pgp_dsn_parse_pdo(const char *body, pgp_dsn_key *key, char *password, size_t password_cap,
                      int *has_password) PGP_WUR;

/* Fill key from a libpq conninfo/URI (the pool's dsn). */
int pgp_dsn_parse_conninfo(const char *conninfo, pgp_dsn_key *key) PGP_WUR;

/* Apply libpq's defaults so equal backends compare equal: port "" -> "5432", dbname "" -> user,
 * host "" -> "/var/run/postgresql", "localhost" stays distinct from "127.0.0.1" (libpq treats
 * them differently: name resolution and IPv6). */
void pgp_dsn_normalize(pgp_dsn_key *key);

/* 1 if a worker's normalized request key addresses the pool's normalized key: host, port, dbname
 * and user equal (a request without user matches any user only if the pool has exactly that
 * dbname/host/port and the caller then checks the user given to the constructor). */
int pgp_dsn_match(const pgp_dsn_key *pool, const pgp_dsn_key *req);

#endif
