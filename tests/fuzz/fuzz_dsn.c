/*
 * fuzz_dsn: libFuzzer target for DSN parsing and pool matching (common/pgp_dsn.c): libpq
 * conninfo strings and URIs (from the broker's config) and PDO DSN bodies (from PHP code).
 *
 * The input is split at its first NUL into two strings A and B. A is parsed as a conninfo (every
 * pair reported must be a terminated string), as a pool dsn key and as a PDO DSN body (with a
 * password buffer of a size taken from the input, so truncation is exercised); keys are
 * normalized (twice: normalizing is idempotent, checked) and matched against B's key both ways.
 * A key match must be reflexive once normalized. Checks that fail abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgp_dsn.h"

static int count_pair(const char *key, const char *value, void *ctx)
{
	size_t *n = ctx;

	/* Both must be terminated strings; strlen reads them to the NUL under ASan. */
	*n += strlen(key) + strlen(value) + 1;
	/* Stop early now and then, to exercise the callback's early exit. */
	return *n > 4000 ? 1 : 0;
}

static void key_sane(const pgp_dsn_key *k)
{
	if (!memchr(k->host, 0, sizeof(k->host)) || !memchr(k->port, 0, sizeof(k->port)) ||
	    !memchr(k->dbname, 0, sizeof(k->dbname)) || !memchr(k->user, 0, sizeof(k->user)) ||
	    !memchr(k->pool, 0, sizeof(k->pool)))
		abort();
}

static void normalize_checked(pgp_dsn_key *k)
{
	pgp_dsn_key again;

	pgp_dsn_normalize(k);
	key_sane(k);
	again = *k;
	pgp_dsn_normalize(&again);
	if (memcmp(&again, k, sizeof(again)) != 0)
		abort();
	if (!pgp_dsn_match(k, k) && k->pool[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 2), *b;
	pgp_dsn_key ka, kb, kp;
	char pw[64];
	size_t pwcap, n = 0, alen;
	int has_pw = -1;

	memcpy(a, data, size);
	a[size] = '\0';
	a[size + 1] = '\0';
	alen = strlen(a);
	b = a + alen + 1; /* second string: after the first NUL, or "" */
	pwcap = size ? data[size - 1] % sizeof(pw) : 0;

	(void)pgp_conninfo_parse(a, count_pair, &n);
	if (pgp_dsn_parse_conninfo(a, &ka) == 0) {
		key_sane(&ka);
		normalize_checked(&ka);
	} else {
		memset(&ka, 0, sizeof(ka));
	}
	if (pgp_dsn_parse_pdo(a, &kp, pw, pwcap, &has_pw) == 0) {
		key_sane(&kp);
		if (has_pw != 0 && has_pw != 1)
			abort();
		if (has_pw && pwcap && !memchr(pw, 0, pwcap))
			abort();
		normalize_checked(&kp);
	} else {
		memset(&kp, 0, sizeof(kp));
		if (has_pw != 0)
			abort(); /* a failed parse must not report a password */
	}
	if (pgp_dsn_parse_pdo(b, &kb, NULL, 0, NULL) == 0) {
		normalize_checked(&kb);
		(void)pgp_dsn_match(&ka, &kb);
		(void)pgp_dsn_match(&kb, &ka);
		(void)pgp_dsn_match(&kp, &kb);
	}
	free(a);
	return 0;
}
