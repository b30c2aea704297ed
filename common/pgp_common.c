/*
 * pgp_common.c: clocks, the growable byte buffer, constant-time comparison and the hash used for
 * statement names and pool keys.
 */
#include "pgp_common.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	/* clock_gettime cannot fail for these clocks on Linux; a zero time is the safe fallback. */
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t pgp_now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t pgp_wall_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

/* ---- pgp_buf ---- */

/* Smallest allocation: a typical request or response fits without regrowing. */
#define PGP_BUF_MIN_CAP 256u
/* No object may be larger than PTRDIFF_MAX (pointer differences inside it must be defined). */
#define PGP_BUF_MAX_CAP ((size_t)PTRDIFF_MAX)

int pgp_buf_reserve(pgp_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > PGP_BUF_MAX_CAP - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap < PGP_BUF_MIN_CAP ? PGP_BUF_MIN_CAP : b->cap;
	/* Doubling keeps appends amortised O(1). */
	while (cap < need)
		cap = cap > PGP_BUF_MAX_CAP / 2 ? PGP_BUF_MAX_CAP : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int pgp_buf_append(pgp_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = pgp_buf_reserve(b, n);
	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void pgp_buf_consume(pgp_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void pgp_buf_free(pgp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void pgp_buf_trim(pgp_buf *b, size_t keep)
{
	uint8_t *p;

	if (b->len != 0 || b->cap <= keep)
		return;
	if (keep == 0) {
		pgp_buf_free(b);
		return;
	}
	p = realloc(b->data, keep);
	/* A failed shrink leaves the larger block in place, which is still correct. */
	if (p == NULL)
		return;
	b->data = p;
	b->cap = keep;
}

/* ---- comparison and hashing ---- */

int pgp_secure_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile uint8_t *pa = a;
	const volatile uint8_t *pb = b;
	size_t n = alen > blen ? alen : blen;
	uint8_t diff = 0;
	size_t i;

	/*
	 * Walk the longer input completely so the time depends only on the lengths, never on where
	 * the first difference is. Bytes past the end of the shorter input compare against the
	 * longer input itself (equal to itself: adds nothing); the length check adds the mismatch.
	 */
	for (i = 0; i < n; i++) {
		uint8_t x = i < alen ? pa[i] : pb[i];
		uint8_t y = i < blen ? pb[i] : pa[i];
		diff |= (uint8_t)(x ^ y);
	}
	diff |= (uint8_t)((alen ^ blen) != 0);
	return diff == 0;
}

uint64_t pgp_hash64(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed; /* FNV-1a offset basis */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL; /* FNV-1a prime */
	}
	/* MurmurHash3's fmix64: FNV-1a alone mixes the last bytes poorly into the high bits. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}
