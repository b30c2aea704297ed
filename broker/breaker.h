/*
 * breaker.h: per-pool reconnect backoff and circuit breaker.
 *
 * Every failed connection attempt of a pool counts; the next attempt waits 100 ms doubled per
 * consecutive failure up to connect_retry_max, with +-25% jitter so pools and brokers do not
 * retry in lockstep. After circuit_breaker_threshold consecutive failures with no connection
 * left, the circuit opens: the pool's shm status says CIRCUIT_OPEN (with since when and the last
 * connect error), workers fail leases at once with 08006 instead of waiting, and the pool keeps
 * one probe connection on its way at a time (half-open). The first success closes it.
 */
#ifndef BROKER_BREAKER_H
#define BROKER_BREAKER_H

#include <stdbool.h>

struct pool;

/* A connection attempt of p failed with `why` (libpq's message, one line). */
void breaker_connect_failed(struct pool *p, const char *why);
/* A connection of p succeeded: reset the backoff, close the circuit. */
void breaker_connect_ok(struct pool *p);
/* Open the circuit if the failures reached the threshold and no connection is left. */
void breaker_check(struct pool *p);
/* True if p may start a connection now; otherwise the retry timer is armed to pool_fill(). */
bool breaker_may_connect(struct pool *p);
/* Forget the backoff (settings changed): the next attempt may start at once. */
void breaker_retry_now(struct pool *p);
/* Stop the retry timer (pool closed, broker exiting). */
void breaker_fini(struct pool *p);

#endif
