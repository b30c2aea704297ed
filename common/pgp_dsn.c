/*
 * pgp_dsn.c: libpq connection strings and URIs, PDO DSNs, and pool keys.
 *
 * The parsers follow libpq's conninfo_parse() and conninfo_uri_parse_options() (fe-connect.c)
 * rule for rule, so a string means the same here as it does to libpq: the broker hands the same
 * string to libpq to connect, and a worker's DSN must address the pool libpq would reach.
 */
#include "pgp_dsn.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define URI_PREFIX       "postgresql://"
#define URI_PREFIX_SHORT "postgres://"

/* libpq's isspace() on unsigned char, in the C locale libpq assumes for conninfo syntax. */
static int conninfo_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Report one pair the way libpq stores it (its conninfo_storeval() renames requiressl). */
static int emit(pgp_conninfo_cb cb, void *ctx, const char *key, const char *value)
{
	if (strcmp(key, "requiressl") == 0)
		return cb("sslmode", value[0] == '1' ? "require" : "prefer", ctx);
	return cb(key, value, ctx);
}

/* ---- keyword = value strings ---- */

/*
 * Parse "key = value key='quoted \' value'" in buf (modified in place: names and values are cut
 * out and unescaped where they stand, as libpq does on its copy).
 */
static int parse_pairs(char *buf, pgp_conninfo_cb cb, void *ctx)
{
	char *cp = buf;

	while (*cp) {
		char *name, *value, *out;
		int rc;

		if (conninfo_space(*cp)) {
			cp++;
			continue;
		}
		name = cp;
		while (*cp && *cp != '=' && !conninfo_space(*cp))
			cp++;
		if (conninfo_space(*cp)) {
			*cp++ = '\0';
			while (conninfo_space(*cp))
				cp++;
		}
		/* libpq: 'missing "=" after "name"'; an empty name is 'invalid connection option
		 * ""'. */
		if (*cp != '=' || cp == name)
			return -EINVAL;
		*cp++ = '\0';
		while (conninfo_space(*cp))
			cp++;

		value = out = cp;
		if (*cp != '\'') {
			/* Unquoted: ends at white space; a backslash takes the next character. */
			while (*cp && !conninfo_space(*cp)) {
				if (*cp == '\\') {
					cp++;
					if (*cp)
						*out++ = *cp++;
				} else {
					*out++ = *cp++;
				}
			}
			if (*cp)
				cp++; /* past the white space that ended the value */
		} else {
			cp++;
			for (;;) {
				if (*cp == '\0')
					return -EINVAL; /* unterminated quoted string */
				if (*cp == '\\') {
					cp++;
					if (*cp)
						*out++ = *cp++;
					continue;
				}
				if (*cp == '\'') {
					cp++;
					break;
				}
				*out++ = *cp++;
			}
		}
		/* The value was unescaped in place behind cp, so terminating it cannot clobber
		 * input still to be read: out never passes the character cp last consumed. */
		*out = '\0';
		rc = emit(cb, ctx, name, value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- URIs ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode s in place; %00 and malformed escapes are errors (libpq's conninfo_uri_decode). */
static int uri_decode(char *s)
{
	char *out = s;

	while (*s) {
		int hi, lo;

		if (*s != '%') {
			*out++ = *s++;
			continue;
		}
		hi = hex_value(s[1]);
		lo = hi < 0 ? -1 : hex_value(s[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -EINVAL;
		*out++ = (char)(hi << 4 | lo);
		s += 3;
	}
	*out = '\0';
	return 0;
}

/* Decode value in place and report it; libpq skips empty URI parts rather than storing "". */
static int emit_decoded(pgp_conninfo_cb cb, void *ctx, const char *key, char *value)
{
	if (value[0] == '\0')
		return 0;
	if (uri_decode(value) < 0)
		return -EINVAL;
	return emit(cb, ctx, key, value);
}

/* "?k=v&k2=v2": both sides percent-decoded; ssl=true means sslmode=require (JDBC style). */
static int uri_params(char *p, pgp_conninfo_cb cb, void *ctx)
{
	while (*p) {
		char *key = p, *value = NULL;
		int rc;

		for (;;) {
			if (*p == '=') {
				if (value != NULL)
					return -EINVAL; /* extra "=" */
				*p++ = '\0';
				value = p;
			} else if (*p == '&' || *p == '\0') {
				if (*p)
					*p++ = '\0';
				if (value == NULL)
					return -EINVAL; /* missing "=" */
				break;
			} else {
				p++;
			}
		}
		if (uri_decode(key) < 0 || uri_decode(value) < 0)
			return -EINVAL;
		if (strcmp(key, "ssl") == 0 && strcmp(value, "true") == 0)
			rc = cb("sslmode", "require", ctx);
		else
			rc = emit(cb, ctx, key, value);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * postgresql://[user[:password]@][netloc][:port][,...][/dbname][?param1=value1&...]
 * buf holds the part after the prefix and is cut in place; hostbuf and portbuf (each at least
 * strlen(buf) + 1 bytes) collect the comma-joined host and port lists.
 */
static int parse_uri(char *buf, char *hostbuf, char *portbuf, pgp_conninfo_cb cb, void *ctx)
{
	char *p = buf, *start = buf;
	char *user = NULL, *password = NULL;
	size_t hlen = 0, plen = 0;
	char prevchar = '\0';
	int rc;

	while (*p && *p != '@' && *p != '/')
		p++;
	if (*p == '@') {
		user = start;
		p = user;
		while (*p != ':' && *p != '@')
			p++;
		prevchar = *p;
		*p = '\0';
		if (prevchar == ':') {
			password = ++p;
			while (*p != '@')
				p++;
			*p = '\0';
		}
		p++;
	} else {
		p = start;
	}

	for (;;) {
		char *host;

		if (*p == '[') {
			host = ++p;
			while (*p && *p != ']')
				p++;
			if (!*p || p == host)
				return -EINVAL; /* no closing "]", or an empty IPv6 address */
			*p++ = '\0';
			if (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
				return -EINVAL;
		} else {
			host = p;
			while (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
				p++;
		}
		prevchar = *p;
		*p = '\0';
		memcpy(hostbuf + hlen, host, strlen(host));
		hlen += strlen(host);
		if (prevchar == ':') {
			char *port = ++p;

			while (*p && *p != '/' && *p != '?' && *p != ',')
				p++;
			prevchar = *p;
			*p = '\0';
			memcpy(portbuf + plen, port, strlen(port));
			plen += strlen(port);
		}
		if (prevchar != ',')
			break;
		p++;
		hostbuf[hlen++] = ',';
		portbuf[plen++] = ',';
	}
	hostbuf[hlen] = '\0';
	portbuf[plen] = '\0';

	if ((user != NULL && (rc = emit_decoded(cb, ctx, "user", user)) != 0) ||
	    (password != NULL && (rc = emit_decoded(cb, ctx, "password", password)) != 0) ||
	    (rc = emit_decoded(cb, ctx, "host", hostbuf)) != 0 ||
	    (rc = emit_decoded(cb, ctx, "port", portbuf)) != 0)
		return rc;

	if (prevchar && prevchar != '?') {
		char *dbname = ++p;

		while (*p && *p != '?')
			p++;
		prevchar = *p;
		*p = '\0';
		rc = emit_decoded(cb, ctx, "dbname", dbname);
		if (rc != 0)
			return rc;
	}
	if (prevchar)
		return uri_params(p + 1, cb, ctx);
	return 0;
}

static size_t uri_prefix_len(const char *s)
{
	if (strncmp(s, URI_PREFIX, sizeof(URI_PREFIX) - 1) == 0)
		return sizeof(URI_PREFIX) - 1;
	if (strncmp(s, URI_PREFIX_SHORT, sizeof(URI_PREFIX_SHORT) - 1) == 0)
		return sizeof(URI_PREFIX_SHORT) - 1;
	return 0;
}

/* Parse s, optionally with every ';' turned into a space first (what PDO pgsql does). */
static int conninfo_parse(const char *s, int pdo_semicolons, pgp_conninfo_cb cb, void *ctx)
{
	size_t len = strlen(s), prefix;
	char *buf, *p;
	int rc;

	/* One block: the working copy plus (for URIs) the host and port lists. */
	if (len > (SIZE_MAX - 3) / 3)
		return -ENOMEM;
	buf = malloc(3 * (len + 1));
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, s, len + 1);
	if (pdo_semicolons) {
		for (p = buf; (p = strchr(p, ';')) != NULL; p++)
			*p = ' ';
	}
	prefix = uri_prefix_len(buf);
	if (prefix != 0)
		rc = parse_uri(buf + prefix, buf + len + 1, buf + 2 * (len + 1), cb, ctx);
	else
		rc = parse_pairs(buf, cb, ctx);
	free(buf);
	return rc;
}

int pgp_conninfo_parse(const char *s, pgp_conninfo_cb cb, void *ctx)
{
	if (s == NULL)
		return -EINVAL;
	return conninfo_parse(s, 0, cb, ctx);
}

/* ---- pool keys ---- */

typedef struct key_ctx {
	pgp_dsn_key *key;
	char hostaddr[PGP_DSN_HOST_MAX];
	char *password; /* NULL: the caller does not want it */
	size_t password_cap;
	int *has_password;
} key_ctx;

static int copy_field(char *dst, size_t cap, const char *value)
{
	size_t n = strlen(value);

	if (n >= cap)
		return -EINVAL;
	memcpy(dst, value, n + 1);
	return 0;
}

/* Later pairs override earlier ones, as in libpq. Unknown keywords are not ours to judge. */
static int key_fill(const char *name, const char *value, void *opaque)
{
	key_ctx *c = opaque;
	pgp_dsn_key *k = c->key;

	if (strcmp(name, "host") == 0)
		return copy_field(k->host, sizeof(k->host), value);
	if (strcmp(name, "hostaddr") == 0)
		return copy_field(c->hostaddr, sizeof(c->hostaddr), value);
	if (strcmp(name, "port") == 0)
		return copy_field(k->port, sizeof(k->port), value);
	if (strcmp(name, "dbname") == 0)
		return copy_field(k->dbname, sizeof(k->dbname), value);
	if (strcmp(name, "user") == 0)
		return copy_field(k->user, sizeof(k->user), value);
	if (strcmp(name, "pool") == 0)
		return copy_field(k->pool, sizeof(k->pool), value);
	if (strcmp(name, "password") == 0) {
		if (c->has_password != NULL)
			*c->has_password = 1;
		if (c->password != NULL)
			return copy_field(c->password, c->password_cap, value);
	}
	return 0;
}

static int parse_key(const char *s, int pdo, pgp_dsn_key *key, char *password, size_t password_cap,
                     int *has_password)
{
	key_ctx c;
	int rc;

	if (s == NULL || key == NULL)
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	memset(&c, 0, sizeof(c));
	c.key = key;
	c.password = password_cap != 0 ? password : NULL;
	c.password_cap = password_cap;
	c.has_password = has_password;
	if (has_password != NULL)
		*has_password = 0;
	if (c.password != NULL)
		c.password[0] = '\0';
	rc = conninfo_parse(s, pdo, key_fill, &c);
	if (rc == 0 && c.hostaddr[0] != '\0') {
		/* libpq connects to hostaddr when given (host then only names the server for
		 * authentication and TLS): the address is what identifies the backend. */
		memcpy(key->host, c.hostaddr, sizeof(key->host));
	}
	if (rc != 0) {
		memset(key, 0, sizeof(*key));
		if (c.password != NULL)
			memset(c.password, 0, password_cap);
		if (has_password != NULL)
			*has_password = 0;
	}
	return rc;
}

int pgp_dsn_parse_pdo(const char *body, pgp_dsn_key *key, char *password, size_t password_cap,
                      int *has_password)
{
	return parse_key(body, 1, key, password, password_cap, has_password);
}

int pgp_dsn_parse_conninfo(const char *conninfo, pgp_dsn_key *key)
{
	return parse_key(conninfo, 0, key, NULL, 0, NULL);
}

/* Debian's (and PostgreSQL's usual) default socket directory, libpq's DEFAULT_PGSOCKET_DIR. */
#define PGP_DEFAULT_SOCKET_DIR "/var/run/postgresql"

void pgp_dsn_normalize(pgp_dsn_key *key)
{
	size_t n;

	if (key->host[0] == '\0') {
		memcpy(key->host, PGP_DEFAULT_SOCKET_DIR, sizeof(PGP_DEFAULT_SOCKET_DIR));
	} else if (key->host[0] == '/') {
		/* "/run/postgresql/" and "/run/postgresql" are one directory. */
		n = strlen(key->host);
		while (n > 1 && key->host[n - 1] == '/')
			key->host[--n] = '\0';
	} else {
		/* Host names and IP literals compare case-insensitively (DNS, IPv6 hex digits). */
		for (n = 0; key->host[n] != '\0'; n++)
			key->host[n] = (char)tolower((unsigned char)key->host[n]);
	}

	if (key->port[0] == '\0') {
		memcpy(key->port, "5432", sizeof("5432"));
	} else if (strspn(key->port, "0123456789") == strlen(key->port)) {
		/* libpq reads the port as a number: "05432" is 5432. */
		n = strspn(key->port, "0");
		if (key->port[n] == '\0')
			n--; /* all zeros: keep one */
		memmove(key->port, key->port + n, strlen(key->port + n) + 1);
	}

	if (key->dbname[0] == '\0')
		memcpy(key->dbname, key->user, sizeof(key->dbname));
}

int pgp_dsn_match(const pgp_dsn_key *pool, const pgp_dsn_key *req)
{
	/* A pgpool: DSN names its pool; the broker then checks the credentials for that pool. */
	if (req->pool[0] != '\0')
		return pool->pool[0] != '\0' && strcmp(pool->pool, req->pool) == 0;
	if (strcmp(pool->host, req->host) != 0 || strcmp(pool->port, req->port) != 0 ||
	    strcmp(pool->dbname, req->dbname) != 0)
		return 0;
	return req->user[0] == '\0' || strcmp(pool->user, req->user) == 0;
}
