/*
 * metrics.h: Prometheus metrics on [broker] metrics = HOST:PORT (GET /metrics, text exposition
 * format 0.0.4), served from the broker's loop by a minimal HTTP/1.0-1.1 responder (reqsrv.c:
 * one request per connection, bounded size and time, never blocking the loop).
 *
 * Everything is read from the shm segment (the counters workers and the broker keep there) and
 * from the broker's own state at scrape time; nothing is kept per scrape. The per-pool counter
 * table below is also what `pgpool-cli pools` prints, so that the CLI, /metrics and
 * pgpool_stats() show the same numbers under the same keys.
 */
#ifndef BROKER_METRICS_H
#define BROKER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgp_common.h"
#include "pgp_shm.h"

/* A monotonically increasing per-pool counter in struct pgp_shm_pool. */
struct metrics_counter {
	const char *key;    /* its name in pgpool_stats() and `pgpool-cli pools --json` */
	size_t off;         /* offset of an _Atomic uint64_t in struct pgp_shm_pool */
	const char *metric; /* Prometheus name (before _total), NULL if shown another way */
	const char *help;
	bool micros; /* microseconds: the metric is in seconds */
};

extern const struct metrics_counter metrics_counters[];
extern const size_t metrics_ncounters;

static inline uint64_t metrics_counter_read(const struct pgp_shm_pool *sp,
                                            const struct metrics_counter *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)((char *)sp + c->off),
	                            memory_order_relaxed);
}

/*
 * The pool entries /metrics and `pgpool-cli pools` show: configured pools and removed ones still
 * draining, never closed entries (a removed pool's entry stays until pool_open() reuses it), and
 * never two with one name (a draining pool added back under its name is shown once, as the new
 * one): Prometheus needs every label set once.
 */
bool metrics_pool_shown(uint32_t i);
/* The first shown entry at or after i, or broker.npools. */
uint32_t metrics_pool_next(uint32_t i);
/* Pools configured now (open, paused, disabled, circuit open; not draining or closed). */
uint32_t metrics_pools_configured(void);

/* Start serving [broker] metrics (no-op when unset). 0 or -errno (logged). */
int metrics_listen(void) PGP_WUR;
void metrics_stop(void);
/* "127.0.0.1:9187" as bound (the real port when the config said :0), or NULL when off. */
const char *metrics_address(void);

/* Render the whole exposition into b (also used by tests through the HTTP endpoint only).
 * 0 or -ENOMEM. */
int metrics_render(pgp_buf *b) PGP_WUR;

#endif
