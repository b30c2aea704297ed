/*
 * test_common.c: clocks, pgp_buf, constant-time comparison and the 64-bit hash.
 */
#include "pgp_common.h"
#include "pgp_test.h"

#include <time.h>

PGP_TEST(now_us_is_monotonic_and_advances)
{
	uint64_t a = pgp_now_us(), b;
	struct timespec ts = {0, 5 * 1000 * 1000};

	nanosleep(&ts, NULL);
	b = pgp_now_us();
	CHECK_INT(b, >=, a + 5000);
	CHECK_INT(b - a, <, 5 * 1000 * 1000); /* not some other unit */
}

PGP_TEST(wall_us_matches_time)
{
	uint64_t w = pgp_wall_us();
	uint64_t t = (uint64_t)time(NULL) * 1000000u;

	CHECK_INT(w, >=, t - 2000000);
	CHECK_INT(w, <=, t + 2000000);
}

PGP_TEST(buf_append_reserve_consume)
{
	pgp_buf b = {0};
	uint8_t big[10000];
	size_t i;

	CHECK_INT(pgp_buf_append(&b, "hello", 5), ==, 0);
	CHECK_MEM(b.data, b.len, "hello", 5);
	CHECK_INT(b.cap, >=, 5);
	CHECK_INT(pgp_buf_append(&b, NULL, 0), ==, 0);
	CHECK_INT(b.len, ==, 5);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	CHECK_INT(pgp_buf_append(&b, big, sizeof(big)), ==, 0);
	CHECK_INT(b.len, ==, 5 + sizeof(big));
	CHECK_MEM(b.data + 5, b.len - 5, big, sizeof(big));

	pgp_buf_consume(&b, 5);
	CHECK_MEM(b.data, b.len, big, sizeof(big));
	pgp_buf_consume(&b, 9990);
	CHECK_MEM(b.data, b.len, big + 9990, 10);
	pgp_buf_consume(&b, 1000); /* more than is there: empties */
	CHECK_INT(b.len, ==, 0);

	CHECK_INT(pgp_buf_reserve(&b, 100000), ==, 0);
	CHECK_INT(b.cap, >=, 100000);
	CHECK_INT(b.len, ==, 0);
	CHECK_INT(pgp_buf_reserve(&b, SIZE_MAX), ==, -ENOMEM);
	pgp_buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT(b.cap, ==, 0);
	CHECK_INT(b.len, ==, 0);
}

PGP_TEST(buf_reserve_overflow_leaves_buffer)
{
	pgp_buf b = {0};

	CHECK_INT(pgp_buf_append(&b, "abc", 3), ==, 0);
	CHECK_INT(pgp_buf_reserve(&b, SIZE_MAX - 1), ==, -ENOMEM);
	CHECK_INT(pgp_buf_append(&b, "x", SIZE_MAX - 2), ==, -ENOMEM);
	CHECK_MEM(b.data, b.len, "abc", 3);
	pgp_buf_free(&b);
}

PGP_TEST(buf_trim_only_when_empty)
{
	pgp_buf b = {0};
	static uint8_t zeros[1 << 16];

	CHECK_INT(pgp_buf_append(&b, zeros, sizeof(zeros)), ==, 0);
	pgp_buf_trim(&b, 4096); /* not empty: stays */
	CHECK_INT(b.cap, >=, sizeof(zeros));
	pgp_buf_consume(&b, b.len);
	pgp_buf_trim(&b, 4096);
	CHECK_INT(b.cap, ==, 4096);
	CHECK(b.data != NULL);
	CHECK_INT(pgp_buf_append(&b, "x", 1), ==, 0); /* still usable */
	pgp_buf_consume(&b, 1);
	pgp_buf_trim(&b, 0);
	CHECK(b.data == NULL);
	CHECK_INT(b.cap, ==, 0);
	pgp_buf_trim(&b, 0); /* on an empty struct: nothing */
	pgp_buf_free(&b);
}

PGP_TEST(secure_equal_cases)
{
	CHECK_INT(pgp_secure_equal("secret", 6, "secret", 6), ==, 1);
	CHECK_INT(pgp_secure_equal("secret", 6, "secreT", 6), ==, 0);
	CHECK_INT(pgp_secure_equal("secret", 6, "Secret", 6), ==, 0);
	CHECK_INT(pgp_secure_equal("secret", 6, "secret!", 7), ==, 0);
	CHECK_INT(pgp_secure_equal("secret!", 7, "secret", 6), ==, 0);
	CHECK_INT(pgp_secure_equal("", 0, "", 0), ==, 1);
	CHECK_INT(pgp_secure_equal(NULL, 0, NULL, 0), ==, 1);
	CHECK_INT(pgp_secure_equal(NULL, 0, "a", 1), ==, 0);
	CHECK_INT(pgp_secure_equal("a", 1, NULL, 0), ==, 0);
	/* Embedded NULs are bytes like any other. */
	CHECK_INT(pgp_secure_equal("a\0b", 3, "a\0b", 3), ==, 1);
	CHECK_INT(pgp_secure_equal("a\0b", 3, "a\0c", 3), ==, 0);
	/* Every single-byte difference is seen. */
	{
		char x[64], y[64];
		int i;

		memset(x, 'q', sizeof(x));
		for (i = 0; i < 64; i++) {
			memcpy(y, x, sizeof(y));
			y[i] ^= 1;
			CHECK_INT(pgp_secure_equal(x, sizeof(x), y, sizeof(y)), ==, 0);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int popcount64(uint64_t v)
{
	return __builtin_popcountll(v);
}

PGP_TEST(hash64_deterministic_seeded_and_spread)
{
	char s[32];
	uint64_t *seen;
	int i, n = 20000;

	CHECK(pgp_hash64("abc", 3, 0) == pgp_hash64("abc", 3, 0));
	CHECK(pgp_hash64("abc", 3, 0) != pgp_hash64("abc", 3, 1));
	CHECK(pgp_hash64("abc", 3, 0) != pgp_hash64("abd", 3, 0));
	CHECK(pgp_hash64("", 0, 0) != pgp_hash64("", 0, 1));
	CHECK(pgp_hash64(NULL, 0, 7) == pgp_hash64("", 0, 7));

	/* No collisions among many similar statement texts. */
	seen = calloc((size_t)n, sizeof(*seen));
	CHECK(seen != NULL);
	for (i = 0; i < n; i++) {
		int len = snprintf(s, sizeof(s), "SELECT %d", i);

		seen[i] = pgp_hash64(s, (size_t)len, 0);
	}
	qsort(seen, (size_t)n, sizeof(*seen), cmp_u64);
	for (i = 1; i < n; i++)
		CHECK(seen[i - 1] != seen[i]);
	free(seen);

	/* Avalanche: flipping any one input bit flips about half the output bits. */
	{
		uint8_t in[16];
		uint64_t base;
		long total = 0;
		int bits = 0;

		for (i = 0; i < 16; i++)
			in[i] = (uint8_t)(i * 37 + 1);
		base = pgp_hash64(in, sizeof(in), 0);
		for (i = 0; i < 16 * 8; i++) {
			int d;

			in[i / 8] ^= (uint8_t)(1u << (i % 8));
			d = popcount64(base ^ pgp_hash64(in, sizeof(in), 0));
			in[i / 8] ^= (uint8_t)(1u << (i % 8));
			CHECK_INT(d, >=, 12);
			total += d;
			bits++;
		}
		CHECK_INT(total / bits, >=, 28);
		CHECK_INT(total / bits, <=, 36);
	}
}

int main(int argc, char **argv)
{
	return pgp_test_main(argc, argv);
}
