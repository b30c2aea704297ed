/*
 * pgp_common.h: small definitions shared by every file of common/, the broker and the extension.
 *
 * common/ has no dependency on PHP or on the broker: it is plain C11 with atomics, built into both
 * the extension (.so) and pgpool-broker. Functions return 0 (or a non-negative count) on success
 * and -errno on failure; results that must be checked carry PGP_WUR.
 */
#ifndef PGP_COMMON_H
#define PGP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define PGP_WUR          __attribute__((warn_unused_result))
#define PGP_LIKELY(x)    __builtin_expect(!!(x), 1)
#define PGP_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define PGP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define PGP_VERSION_STRING "0.1.0"

/* Monotonic time in microseconds (CLOCK_MONOTONIC is one clock for every process on the host). */
uint64_t pgp_now_us(void);
/* Wall-clock time in microseconds since the epoch (for "down since" messages and logs). */
uint64_t pgp_wall_us(void);

/*
 * Growable byte buffer (malloc-based). Used for building frontend messages and for reading backend
 * responses; callers keep one per connection/process and reuse it, so the steady state allocates
 * nothing.
 */
typedef struct pgp_buf {
	uint8_t *data; /* malloc'd storage, NULL when cap == 0 */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
} pgp_buf;

/* Make room for `extra` more bytes after len. 0 or -ENOMEM. */
int pgp_buf_reserve(pgp_buf *b, size_t extra) PGP_WUR;
/* Append bytes. 0 or -ENOMEM. */
int pgp_buf_append(pgp_buf *b, const void *p, size_t n) PGP_WUR;
/* Drop the first n bytes (consumed input), keeping the rest at the start. */
void pgp_buf_consume(pgp_buf *b, size_t n);
/* Release storage and zero the struct. */
void pgp_buf_free(pgp_buf *b);
/* Shrink storage back to `keep` bytes if it grew past it and is empty (after a huge result). */
void pgp_buf_trim(pgp_buf *b, size_t keep);

/* Constant-time comparison of two byte strings (length difference also compared in constant
 * time relative to the longer input). Returns 1 when equal. */
int pgp_secure_equal(const void *a, size_t alen, const void *b, size_t blen);

/* 64-bit FNV-1a then a final avalanche; used for statement names and pool keys. Not a MAC. */
uint64_t pgp_hash64(const void *p, size_t n, uint64_t seed);

#endif
