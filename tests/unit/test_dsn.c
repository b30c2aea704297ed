/*
 * test_dsn.c: libpq conninfo strings and URIs, PDO DSNs, key normalisation and pool matching.
 *
 * When libpq is installed (PGP_TEST_HAVE_LIBPQ) every fixed case, and thousands of generated
 * ones, are also parsed by libpq's own PQconninfoParse(): the values must agree, and a string
 * libpq refuses as malformed must be refused here too.
 */
#include "pgp_dsn.h"
#include "pgp_test.h"

#ifdef PGP_TEST_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

/* ---- collecting pairs ---- */

#define MAX_PAIRS 32

typedef struct pairs {
	int n;
	char key[MAX_PAIRS][64];
	char value[MAX_PAIRS][512];
	int stop_at; /* return nonzero from the callback at this pair (1-based), 0 = never */
} pairs;

static int collect(const char *key, const char *value, void *ctx)
{
	pairs *p = ctx;

	CHECK_INT(p->n, <, MAX_PAIRS);
	CHECK_INT(strlen(key), <, sizeof(p->key[0]));
	CHECK_INT(strlen(value), <, sizeof(p->value[0]));
	strcpy(p->key[p->n], key);
	strcpy(p->value[p->n], value);
	p->n++;
	return p->stop_at == p->n ? 42 : 0;
}

/* "k=v|k=v|" of what the parser reported. */
static void render(const pairs *p, char *out, size_t cap)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < p->n; i++) {
		int w = snprintf(out + len, cap - len, "%s=%s|", p->key[i], p->value[i]);

		CHECK(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
	}
}

/* The last value reported for key, or NULL (later pairs override earlier ones, as in libpq). */
static const char *last_value(const pairs *p, const char *key)
{
	int i;

	for (i = p->n - 1; i >= 0; i--) {
		if (strcmp(p->key[i], key) == 0)
			return p->value[i];
	}
	return NULL;
}

#ifdef PGP_TEST_HAVE_LIBPQ
/* 1 if libpq knows the keyword. */
static int libpq_keyword(const char *key)
{
	static PQconninfoOption *defaults;
	PQconninfoOption *o;

	if (defaults == NULL)
		defaults = PQconndefaults();
	CHECK(defaults != NULL);
	for (o = defaults; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, key) == 0)
			return 1;
	}
	return 0;
}

/*
 * Compare our result for s with libpq's: same verdict and the same value for every keyword. A
 * string we accept and libpq refuses is fine only when it names a keyword libpq does not know
 * (we leave judging those to the caller). Returns 1 when the comparison was decisive.
 */
static void libpq_agrees(const char *s, int our_rc, const pairs *p)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	int i;

	opts = PQconninfoParse(s, &err);
	if (opts == NULL) {
		int unknown = 0;

		for (i = 0; i < p->n; i++)
			unknown |= !libpq_keyword(p->key[i]);
		if (our_rc == 0 && !unknown)
			pgp_test_fail(__FILE__, __LINE__, "libpq refuses [%s] (%s), we accept it",
			              s, err ? err : "?");
		PQfreemem(err);
		return;
	}
	if (our_rc != 0)
		pgp_test_fail(__FILE__, __LINE__, "libpq accepts [%s], we return %d", s, our_rc);
	for (o = opts; o->keyword != NULL; o++) {
		const char *ours = last_value(p, o->keyword);

		if ((o->val == NULL) != (ours == NULL) ||
		    (o->val != NULL && strcmp(o->val, ours) != 0))
			pgp_test_fail(__FILE__, __LINE__,
			              "[%s]: %s is \"%s\" for libpq, \"%s\" here", s, o->keyword,
			              o->val ? o->val : "(unset)", ours ? ours : "(unset)");
	}
	PQconninfoFree(opts);
}
#endif

/* Parse s; expect rendering `want`, or want == NULL for -EINVAL. Cross-check with libpq. */
static void expect_conninfo(const char *s, const char *want)
{
	pairs p;
	char got[4096];
	int rc;

	memset(&p, 0, sizeof(p));
	rc = pgp_conninfo_parse(s, collect, &p);
	if (want == NULL) {
		if (rc != -EINVAL)
			pgp_test_fail(__FILE__, __LINE__, "[%s] accepted (rc %d)", s, rc);
	} else {
		if (rc != 0)
			pgp_test_fail(__FILE__, __LINE__, "[%s] refused (rc %d)", s, rc);
		render(&p, got, sizeof(got));
		if (strcmp(got, want) != 0)
			pgp_test_fail(__FILE__, __LINE__, "[%s] gave [%s], expected [%s]", s, got,
			              want);
	}
#ifdef PGP_TEST_HAVE_LIBPQ
	libpq_agrees(s, rc, &p);
#endif
}

/* ---- conninfo ---- */

PGP_TEST(conninfo_basic_pairs_and_spacing)
{
	expect_conninfo("host=localhost port=5432 dbname=app user=app",
	                "host=localhost|port=5432|dbname=app|user=app|");
	expect_conninfo("host = localhost   port= 5432\tdbname =app",
	                "host=localhost|port=5432|dbname=app|");
	expect_conninfo("  host=a  ", "host=a|");
	expect_conninfo("host=a\tport=1\ndbname=b\r\fuser=c\v", "host=a|port=1|dbname=b|user=c|");
	expect_conninfo("", "");
	expect_conninfo("   \t ", "");
	expect_conninfo("host=a host=b", "host=a|host=b|");
	expect_conninfo("options='-c search_path=x,public' application_name=my\\ app",
	                "options=-c search_path=x,public|application_name=my app|");
	/* A value may contain '=' and quotes when unquoted. */
	expect_conninfo("options=-cwork_mem=64MB dbname=it's",
	                "options=-cwork_mem=64MB|dbname=it's|");
	/* requiressl is stored by libpq as sslmode. */
	expect_conninfo("requiressl=1", "sslmode=require|");
	expect_conninfo("requiressl=0", "sslmode=prefer|");
}

PGP_TEST(conninfo_quoting_and_escapes)
{
	expect_conninfo("password='se cret'", "password=se cret|");
	expect_conninfo("password='it\\'s'", "password=it's|");
	expect_conninfo("password='a\\\\b'", "password=a\\b|");
	expect_conninfo("password='a\\xb'", "password=axb|");
	expect_conninfo("password=a\\ b", "password=a b|");
	expect_conninfo("password=a\\'b", "password=a'b|");
	expect_conninfo("password=\\\\", "password=\\|");
	expect_conninfo("password=ab\\", "password=ab|"); /* a trailing backslash vanishes */
	expect_conninfo("dbname=''", "dbname=|");
	expect_conninfo("dbname='' user=u", "dbname=|user=u|");
	expect_conninfo("dbname='a'b user=u", NULL); /* "b" is read as the next keyword */
}

PGP_TEST(conninfo_libpq_quirks)
{
	/* After '=' blanks are skipped, so the next pair becomes the value. */
	expect_conninfo("host= port=5", "host=port=5|");
	/* An empty value at the very end. */
	expect_conninfo("host=", "host=|");
	expect_conninfo("host=a port=", "host=a|port=|");
	/* A quoted value ends at its quote: what follows starts the next keyword. */
	expect_conninfo("host='a'port=1", "host=a|port=1|");
}

PGP_TEST(conninfo_syntax_errors)
{
	expect_conninfo("host='a", NULL);
	expect_conninfo("host='a\\'", NULL);
	expect_conninfo("host", NULL);
	expect_conninfo("host x=1", NULL);
	expect_conninfo("host=a port", NULL);
	expect_conninfo("=x", NULL);
	expect_conninfo(" = x", NULL);
	expect_conninfo("POSTGRESQL://h", NULL); /* the URI prefix is case-sensitive */
	CHECK_INT(pgp_conninfo_parse(NULL, collect, NULL), ==, -EINVAL);
}

PGP_TEST(conninfo_callback_stops_parse)
{
	pairs p;

	memset(&p, 0, sizeof(p));
	p.stop_at = 2;
	CHECK_INT(pgp_conninfo_parse("host=a port=1 dbname=d", collect, &p), ==, 42);
	CHECK_INT(p.n, ==, 2);
	memset(&p, 0, sizeof(p));
	p.stop_at = 3;
	CHECK_INT(pgp_conninfo_parse("postgresql://u:p@h/d", collect, &p), ==, 42);
	CHECK_INT(p.n, ==, 3);
}

/* ---- URIs ---- */

PGP_TEST(uri_parts)
{
	expect_conninfo("postgresql://", "");
	expect_conninfo("postgres://h", "host=h|");
	expect_conninfo(
	    "postgres://app:secret@127.0.0.1:5433/app?sslmode=disable&application_name=x",
	    "user=app|password=secret|host=127.0.0.1|port=5433|dbname=app|"
	    "sslmode=disable|application_name=x|");
	expect_conninfo("postgresql://user@", "user=user|");
	expect_conninfo("postgresql://:pw@host", "password=pw|host=host|");
	expect_conninfo("postgresql://u:@host", "user=u|host=host|");
	expect_conninfo("postgresql://host:/db", "host=host|dbname=db|");
	expect_conninfo("postgresql:///db", "dbname=db|");
	expect_conninfo("postgresql://host/", "host=host|");
	expect_conninfo("postgresql://host?dbname=x", "host=host|dbname=x|");
	expect_conninfo("postgresql://h/d?", "host=h|dbname=d|");
	expect_conninfo("postgresql://h:5432,g:5433/d", "host=h,g|port=5432,5433|dbname=d|");
	expect_conninfo("postgresql://h,g/d", "host=h,g|port=,|dbname=d|");
	expect_conninfo("postgresql://h/d?ssl=true", "host=h|dbname=d|sslmode=require|");
	expect_conninfo("postgresql://h/d?ssl=false", "host=h|dbname=d|ssl=false|");
	/* A password may hold ':' and '/' before the '@'. */
	expect_conninfo("postgresql://u:a:b@h", "user=u|password=a:b|host=h|");
	/* '@' is looked for only before the first '/'. */
	expect_conninfo("postgresql://h/db@x", "host=h|dbname=db@x|");
}

PGP_TEST(uri_ipv6)
{
	expect_conninfo("postgresql://[::1]:5432/db", "host=::1|port=5432|dbname=db|");
	expect_conninfo("postgresql://[::1]/db", "host=::1|dbname=db|");
	expect_conninfo("postgresql://[::1]", "host=::1|");
	expect_conninfo("postgresql://[2001:db8::7]?dbname=x", "host=2001:db8::7|dbname=x|");
	expect_conninfo("postgresql://u@[fe80::1%25eth0]:1/d",
	                "user=u|host=fe80::1%eth0|port=1|dbname=d|");
	expect_conninfo("postgresql://[::1],[::2]:7/d", "host=::1,::2|port=,7|dbname=d|");
	expect_conninfo("postgresql://[]/db", NULL);
	expect_conninfo("postgresql://[::1", NULL);
	expect_conninfo("postgresql://[::1]x/db", NULL);
}

PGP_TEST(uri_percent_decoding)
{
	expect_conninfo("postgresql://%2Fvar%2Frun%2Fpostgresql/db",
	                "host=/var/run/postgresql|dbname=db|");
	expect_conninfo("postgresql://user%40corp:p%40ss%3Aw@host/db%20name",
	                "user=user@corp|password=p@ss:w|host=host|dbname=db name|");
	expect_conninfo("postgresql://h/d?application_name=a%26b%3Dc",
	                "host=h|dbname=d|application_name=a&b=c|");
	expect_conninfo("postgresql://h/d?%61pplication_name=x",
	                "host=h|dbname=d|application_name=x|");
	expect_conninfo("postgresql://h/%e2%82%ac", "host=h|dbname=\xe2\x82\xac|");
	expect_conninfo("postgresql://h:%35%34%33%32", "host=h|port=5432|");
	expect_conninfo("postgresql://h/d?a=%zz", NULL);
	expect_conninfo("postgresql://h/d?application_name=%4", NULL);
	expect_conninfo("postgresql://h/d%", NULL);
	expect_conninfo("postgresql://h/d%00x", NULL);
	expect_conninfo("postgresql://u%0:p@h", NULL);
}

PGP_TEST(uri_param_errors)
{
	expect_conninfo("postgresql://h/d?x", NULL);
	expect_conninfo("postgresql://h/d?a=b=c", NULL);
	expect_conninfo("postgresql://h/d?&", NULL);
	expect_conninfo("postgresql://h/d?sslmode=disable&", "host=h|dbname=d|sslmode=disable|");
	expect_conninfo("postgresql://h/d?sslmode=disable&&a=b", NULL);
}

#ifdef PGP_TEST_HAVE_LIBPQ
/* ---- generated strings, checked against libpq ---- */

static const char *const gen_keys[] = {"host",     "port",    "dbname",           "user",
                                       "password", "options", "application_name", "sslmode"};

static void gen_value(char *out, size_t cap, unsigned *seed)
{
	static const char alphabet[] = "ab1 =;'\\@:/?&%[],.\t";
	size_t n = (size_t)(rand_r(seed) % 8), i, o = 0;

	for (i = 0; i < n && o + 1 < cap; i++)
		out[o++] = alphabet[(size_t)rand_r(seed) % (sizeof(alphabet) - 1)];
	out[o] = '\0';
}

PGP_TEST(conninfo_generated_against_libpq)
{
	unsigned seed = 1;
	int round;

	for (round = 0; round < 20000; round++) {
		char s[512], v[32];
		size_t len = 0;
		int k, npairs = 1 + rand_r(&seed) % 4;
		pairs p;
		int rc;

		for (k = 0; k < npairs; k++) {
			const char *sp[] = {"", " ", "  ", "\t"};
			const char *key = gen_keys[(size_t)rand_r(&seed) % PGP_ARRAY_LEN(gen_keys)];
			int quoted = rand_r(&seed) % 2;

			gen_value(v, sizeof(v), &seed);
			len += (size_t)snprintf(s + len, sizeof(s) - len, "%s%s%s=%s%s%s%s",
			                        sp[rand_r(&seed) % 4], key, sp[rand_r(&seed) % 4],
			                        sp[rand_r(&seed) % 4], quoted ? "'" : "", v,
			                        quoted && rand_r(&seed) % 8 ? "'" : "");
		}
		memset(&p, 0, sizeof(p));
		rc = pgp_conninfo_parse(s, collect, &p);
		CHECK(rc == 0 || rc == -EINVAL);
		libpq_agrees(s, rc, &p);
	}
}

PGP_TEST(uri_generated_against_libpq)
{
	unsigned seed = 2;
	int round;

	for (round = 0; round < 20000; round++) {
		static const char *const parts[] = {
		    "u", "u:p", "a%40b", "%2Ftmp", "[::1]", "[", "h",        ":5432",
		    ":", "/",   "/db",   "?",      "&",     "=", "dbname=x", "sslmode=disable",
		    "@", ",",   "%",     "%4",     "%41",   "]"};
		char s[256] = "postgresql://";
		size_t len = strlen(s);
		int k, nparts = rand_r(&seed) % 7;
		pairs p;
		int rc;

		for (k = 0; k < nparts; k++)
			len +=
			    (size_t)snprintf(s + len, sizeof(s) - len, "%s",
			                     parts[(size_t)rand_r(&seed) % PGP_ARRAY_LEN(parts)]);
		memset(&p, 0, sizeof(p));
		rc = pgp_conninfo_parse(s, collect, &p);
		CHECK(rc == 0 || rc == -EINVAL);
		libpq_agrees(s, rc, &p);
	}
}
#endif

/* ---- PDO DSNs ---- */

static pgp_dsn_key pdo_key(const char *body, int want_rc, char *pw, size_t cap, int *has_pw)
{
	pgp_dsn_key k;
	int rc;

	memset(&k, 0x5a, sizeof(k)); /* the parser must clear it */
	rc = pgp_dsn_parse_pdo(body, &k, pw, cap, has_pw);
	if (rc != want_rc)
		pgp_test_fail(__FILE__, __LINE__, "[%s]: rc %d, expected %d", body, rc, want_rc);
	return k;
}

PGP_TEST(pdo_dsn_semicolons_and_spaces)
{
	char pw[64];
	int has_pw = -1;
	pgp_dsn_key k;

	k = pdo_key("host=127.0.0.1;port=5432;dbname=app", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "127.0.0.1");
	CHECK_STR(k.port, "5432");
	CHECK_STR(k.dbname, "app");
	CHECK_STR(k.user, "");
	CHECK_STR(k.pool, "");
	CHECK_INT(has_pw, ==, 0);
	CHECK_STR(pw, "");

	k = pdo_key("host=h port=1 dbname=d", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "h");
	CHECK_STR(k.port, "1");
	CHECK_STR(k.dbname, "d");

	k = pdo_key(" host=h; port=1 ;dbname=d;;user=u;", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "h");
	CHECK_STR(k.port, "1");
	CHECK_STR(k.dbname, "d");
	CHECK_STR(k.user, "u");

	k = pdo_key("host=h;dbname=app;user=app;password=s3cr'et", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.user, "app");
	CHECK_INT(has_pw, ==, 1);
	CHECK_STR(pw, "s3cr'et");

	k = pdo_key("host=h;password=", 0, pw, sizeof(pw), &has_pw);
	CHECK_INT(has_pw, ==, 1);
	CHECK_STR(pw, "");

	/* PDO turns every ';' into a space, inside quotes too, before libpq reads the string. */
	k = pdo_key("dbname='my;db';host=h", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.dbname, "my db");
	CHECK_STR(k.host, "h");
	k = pdo_key("password=a\\;b", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(pw, "a b");

	/* Options we do not use are accepted and ignored. */
	k = pdo_key("host=h;sslmode=disable;connect_timeout=5;application_name='my app';"
	            "options='-c statement_timeout=5s'",
	            0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "h");
	CHECK_STR(k.dbname, "");

	/* A URI as the body. */
	k = pdo_key("postgresql://u:p%3B@[::1]:5433/db?application_name=x", 0, pw, sizeof(pw),
	            &has_pw);
	CHECK_STR(k.host, "::1");
	CHECK_STR(k.port, "5433");
	CHECK_STR(k.dbname, "db");
	CHECK_STR(k.user, "u");
	CHECK_STR(pw, "p;");

	/* hostaddr is where libpq connects: it identifies the backend. */
	k = pdo_key("host=db.local;hostaddr=10.0.0.7;dbname=d", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "10.0.0.7");
	k = pdo_key("hostaddr=10.0.0.7", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "10.0.0.7");

	/* pgpool: DSNs. */
	k = pdo_key("pool=main", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.pool, "main");
	CHECK_STR(k.host, "");
	k = pdo_key("pool=main;user=app;password=x", 0, NULL, 0, NULL);
	CHECK_STR(k.pool, "main");
	CHECK_STR(k.user, "app");
	k = pdo_key("", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, "");
}

/* "key=" followed by n characters, in out. */
static const char *long_pair(char *out, const char *key, size_t n)
{
	size_t klen = strlen(key);

	memcpy(out, key, klen);
	out[klen] = '=';
	memset(out + klen + 1, 'v', n);
	out[klen + 1 + n] = '\0';
	return out;
}

PGP_TEST(pdo_dsn_errors_and_limits)
{
	char pw[8], longv[600];
	int has_pw = -1;
	pgp_dsn_key k;

	k = pdo_key("host=h;port", -EINVAL, pw, sizeof(pw), &has_pw);
	CHECK_STR(k.host, ""); /* cleared on failure */
	CHECK_INT(has_pw, ==, 0);
	pdo_key("host='h", -EINVAL, pw, sizeof(pw), &has_pw);
	pdo_key("postgresql://h/d?x", -EINVAL, pw, sizeof(pw), &has_pw);

	/* Too long for its field: refused, never cut. */
	pdo_key("password=12345678", -EINVAL, pw, sizeof(pw), &has_pw);
	CHECK_INT(has_pw, ==, 0);
	CHECK_STR(pw, "");
	k = pdo_key("password=1234567", 0, pw, sizeof(pw), &has_pw);
	CHECK_STR(pw, "1234567");
	k = pdo_key(long_pair(longv, "host", PGP_DSN_HOST_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	k = pdo_key(long_pair(longv, "host", PGP_DSN_HOST_MAX - 1), 0, pw, sizeof(pw), &has_pw);
	CHECK_INT(strlen(k.host), ==, PGP_DSN_HOST_MAX - 1);
	pdo_key(long_pair(longv, "port", PGP_DSN_PORT_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "port", PGP_DSN_PORT_MAX - 1), 0, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "user", PGP_DSN_NAME_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "user", PGP_DSN_NAME_MAX - 1), 0, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "dbname", PGP_DSN_NAME_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "dbname", PGP_DSN_NAME_MAX - 1), 0, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "pool", PGP_DSN_NAME_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "pool", PGP_DSN_NAME_MAX - 1), 0, pw, sizeof(pw), &has_pw);
	pdo_key(long_pair(longv, "hostaddr", PGP_DSN_HOST_MAX), -EINVAL, pw, sizeof(pw), &has_pw);
	CHECK_INT(pgp_dsn_parse_pdo(NULL, &k, pw, sizeof(pw), &has_pw), ==, -EINVAL);
}

#ifdef PGP_TEST_HAVE_LIBPQ
/* PDO's body after its ';' -> ' ' rewrite means to libpq what it means to us. */
PGP_TEST(pdo_dsn_matches_libpq_after_rewrite)
{
	static const char *const bodies[] = {
	    "host=127.0.0.1;port=5432;dbname=app",
	    "host=h; port=1 ;dbname=d;;user=u;",
	    "dbname='my;db';host=h",
	    "password=a\\;b;user=x",
	    "host=/var/run/postgresql;dbname=app;user=app",
	    "postgresql://u:p%3B@[::1]:5433/db?application_name=x",
	};
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(bodies); i++) {
		char rewritten[256], pw[64];
		PQconninfoOption *opts, *o;
		pgp_dsn_key k;
		int has_pw;
		char *p;

		snprintf(rewritten, sizeof(rewritten), "%s", bodies[i]);
		for (p = rewritten; (p = strchr(p, ';')) != NULL; p++)
			*p = ' ';
		opts = PQconninfoParse(rewritten, NULL);
		CHECK(opts != NULL);
		CHECK_INT(pgp_dsn_parse_pdo(bodies[i], &k, pw, sizeof(pw), &has_pw), ==, 0);
		for (o = opts; o->keyword != NULL; o++) {
			const char *ours = NULL;

			if (strcmp(o->keyword, "host") == 0)
				ours = k.host;
			else if (strcmp(o->keyword, "port") == 0)
				ours = k.port;
			else if (strcmp(o->keyword, "dbname") == 0)
				ours = k.dbname;
			else if (strcmp(o->keyword, "user") == 0)
				ours = k.user;
			else if (strcmp(o->keyword, "password") == 0)
				ours = has_pw ? pw : "";
			else
				continue;
			CHECK_STR(ours, o->val ? o->val : "");
		}
		PQconninfoFree(opts);
	}
}
#endif

/* ---- pool keys ---- */

static pgp_dsn_key conninfo_key(const char *s)
{
	pgp_dsn_key k;

	if (pgp_dsn_parse_conninfo(s, &k) != 0)
		pgp_test_fail(__FILE__, __LINE__, "[%s] refused", s);
	return k;
}

PGP_TEST(conninfo_key_fields)
{
	pgp_dsn_key k;

	k = conninfo_key("host=127.0.0.1 port=5432 dbname=app user=app password=secret");
	CHECK_STR(k.host, "127.0.0.1");
	CHECK_STR(k.port, "5432");
	CHECK_STR(k.dbname, "app");
	CHECK_STR(k.user, "app");
	k = conninfo_key("postgres://app@db.example.com/app");
	CHECK_STR(k.host, "db.example.com");
	CHECK_STR(k.user, "app");
	CHECK_STR(k.port, "");
	CHECK_INT(pgp_dsn_parse_conninfo("host=h;port=1", &k), ==, 0); /* ';' is a plain char */
	CHECK_STR(k.host, "h;port=1");
	CHECK_INT(pgp_dsn_parse_conninfo("host='x", &k), ==, -EINVAL);
	CHECK_INT(pgp_dsn_parse_conninfo(NULL, &k), ==, -EINVAL);
}

PGP_TEST(normalize_applies_libpq_defaults)
{
	static const struct {
		const char *in[4]; /* host, port, dbname, user */
		const char *out[4];
	} cases[] = {
	    {{"", "", "", "app"}, {"/var/run/postgresql", "5432", "app", "app"}},
	    {{"", "", "", ""}, {"/var/run/postgresql", "5432", "", ""}},
	    /* host names fold case; database and role names are case-sensitive */
	    {{"DB.Example.COM", "05432", "Mixed", "Me"}, {"db.example.com", "5432", "Mixed", "Me"}},
	    {{"/run/postgresql//", "0", "d", "u"}, {"/run/postgresql", "0", "d", "u"}},
	    {{"/", "54x", "d", "u"}, {"/", "54x", "d", "u"}},
	    /* localhost and 127.0.0.1 stay distinct */
	    {{"localhost", "", "d", ""}, {"localhost", "5432", "d", ""}},
	    {{"127.0.0.1", "5432", "", "u"}, {"127.0.0.1", "5432", "u", "u"}},
	};
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(cases); i++) {
		pgp_dsn_key k, again;

		memset(&k, 0, sizeof(k));
		strcpy(k.host, cases[i].in[0]);
		strcpy(k.port, cases[i].in[1]);
		strcpy(k.dbname, cases[i].in[2]);
		strcpy(k.user, cases[i].in[3]);
		pgp_dsn_normalize(&k);
		CHECK_STR(k.host, cases[i].out[0]);
		CHECK_STR(k.port, cases[i].out[1]);
		CHECK_STR(k.dbname, cases[i].out[2]);
		CHECK_STR(k.user, cases[i].out[3]);
		/* Normalising twice changes nothing. */
		again = k;
		pgp_dsn_normalize(&again);
		CHECK(memcmp(&again, &k, sizeof(k)) == 0);
	}
}

static pgp_dsn_key pool_key(const char *conninfo, const char *name)
{
	pgp_dsn_key k = conninfo_key(conninfo);

	snprintf(k.pool, sizeof(k.pool), "%s", name);
	pgp_dsn_normalize(&k);
	return k;
}

/* A worker's request key: PDO DSN plus the constructor's user, normalised. */
static pgp_dsn_key req_key(const char *body, const char *user)
{
	pgp_dsn_key k = pdo_key(body, 0, NULL, 0, NULL);

	if (user != NULL && k.user[0] == '\0')
		snprintf(k.user, sizeof(k.user), "%s", user);
	pgp_dsn_normalize(&k);
	return k;
}

PGP_TEST(match_requests_to_pools)
{
	pgp_dsn_key pool = pool_key("host=127.0.0.1 port=5432 dbname=app user=app", "main");
	pgp_dsn_key uri_pool = pool_key("postgresql://app@127.0.0.1/app", "uri");
	pgp_dsn_key sock_pool = pool_key("dbname=app user=app", "sock");
	pgp_dsn_key r;

	r = req_key("host=127.0.0.1;port=5432;dbname=app", "app");
	CHECK(pgp_dsn_match(&pool, &r));
	CHECK(pgp_dsn_match(&uri_pool, &r));
	CHECK(!pgp_dsn_match(&sock_pool, &r));
	r = req_key("host=127.0.0.1;dbname=app", "app"); /* default port */
	CHECK(pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;port=05432", "app"); /* dbname defaults to the user */
	CHECK(pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;dbname=app", NULL); /* no user: the caller checks it */
	CHECK(pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;dbname=app", "other");
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;dbname=app;user=other", "app"); /* the DSN's user wins */
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("host=localhost;dbname=app", "app");
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;port=5433;dbname=app", "app");
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1;dbname=App", "app");
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("host=127.0.0.1", NULL); /* neither dbname nor user: nothing to match */
	CHECK(!pgp_dsn_match(&pool, &r));
	r = req_key("dbname=app", "app"); /* Unix socket default */
	CHECK(pgp_dsn_match(&sock_pool, &r));
	r = req_key("host=/var/run/postgresql/;dbname=app", "app");
	CHECK(pgp_dsn_match(&sock_pool, &r));

	/* pgpool:pool=NAME picks by name alone. */
	r = req_key("pool=main", NULL);
	CHECK(pgp_dsn_match(&pool, &r));
	CHECK(!pgp_dsn_match(&uri_pool, &r));
	r = req_key("pool=nope", NULL);
	CHECK(!pgp_dsn_match(&pool, &r));
	pool.pool[0] = '\0';
	r = req_key("pool=main", NULL);
	CHECK(!pgp_dsn_match(&pool, &r));
}

int main(int argc, char **argv)
{
	return pgp_test_main(argc, argv);
}
