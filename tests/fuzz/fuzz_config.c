/*
 * fuzz_config: libFuzzer target for the broker's INI parser and config validation
 * (broker/config.c and config_keys.c through config_parse(), the in-memory entry point
 * config_load() uses).
 *
 * The input is the text of a config file (a NUL inside ends it, as config_load() refuses such a
 * file). Whatever it holds, config_parse() must either succeed or fail with a message, never read
 * or write out of bounds or leak (LeakSanitizer checks config_free()); a parsed config is checked
 * for the invariants the broker relies on and its pools' dsns are redacted into a small buffer.
 * password_file / password_env make the parser read files and the environment: the fuzzer runs in
 * a scratch directory with a minimal environment (scripts/fuzz), so that is harmless.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "config.h"

/* The redacted dsn must not depend on the password: redact again with every password pair
 * replaced by another value and compare (the output then carries no bit of the password). */
static void redact_independent(const struct config_pool *p, char *out, size_t cap)
{
	struct config_pool other = *p;
	struct config_dsn_pair *pairs = calloc(p->npairs + 1, sizeof(*pairs));
	char *again = malloc(cap);

	for (uint32_t i = 0; i < p->npairs; i++) {
		pairs[i] = p->pairs[i];
		if (strcmp(pairs[i].key, "password") == 0)
			pairs[i].value = "not the password, something else";
	}
	other.pairs = pairs;
	config_redact_dsn(p, out, cap);
	config_redact_dsn(&other, again, cap);
	if (strlen(out) >= cap || strcmp(out, again) != 0)
		abort();
	free(again);
	free(pairs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	char *text = malloc(size + 1);
	static char big[8192];
	char dsn[96];
	int rc;

	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	rc = config_parse("fuzz.ini", text, &cfg, err, sizeof(err));
	if (rc == 0) {
		if (cfg.npools == 0 || cfg.npools > PGP_MAX_POOLS || !cfg.socket ||
		    cfg.socket[0] != '/' || cfg.shm_name[0] != '/')
			abort();
		for (uint32_t i = 0; i < cfg.npools; i++) {
			const struct config_pool *p = &cfg.pools[i];

			/* auth = peer pools may have no password (PostgreSQL peer/trust auth). */
			if (!p->dsn || (!p->password && p->auth != ACCESS_AUTH_PEER) ||
			    p->max_connections == 0 || p->min_connections > p->max_connections ||
			    !p->key.user[0] ||
			    (p->password && strlen(p->password) != p->password_len))
				abort();
			redact_independent(p, dsn, sizeof(dsn));
			redact_independent(p, big, sizeof(big));
		}
		config_free(&cfg);
	} else if (err[0] == '\0') {
		abort(); /* every failure says why */
	}
	free(text);
	return 0;
}
