/*
 * breaker.c: reconnect backoff and circuit breaker (see breaker.h).
 */
#include "breaker.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "pool.h"
#include "server.h"

#define BREAKER_LOG(lvl, p, ...) log_msg(lvl, (p)->cfg->name, LOG_NO_SLOT, __VA_ARGS__)

/* Publish the last connect error for workers: the sequence is odd while the text changes, so a
 * reader that sees the same even value before and after its copy has a whole message. */
static void breaker_set_error(struct pool *p, const char *why)
{
	struct pgp_shm_pool *sp = p->shm;
	size_t n = strlen(why);

	if (n >= sizeof(sp->last_error))
		n = sizeof(sp->last_error) - 1;
	atomic_fetch_add(&sp->last_error_seq, 1);
	atomic_thread_fence(memory_order_seq_cst);
	memcpy(sp->last_error, why, n);
	sp->last_error[n] = '\0';
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add(&sp->last_error_seq, 1);
}

/* Backends of p with a connection (anything but EMPTY and CONNECTING). */
static uint32_t breaker_connected(const struct pool *p)
{
	uint32_t n = 0;

	for (uint32_t j = 0; j < p->nslots; j++) {
		enum server_phase ph = p->servers[j].phase;
		n += ph == SERVER_READY || ph == SERVER_BUSY;
	}
	return n;
}

static void breaker_fired(void *ctx, struct loop_timer *t)
{
	(void)t;
	pool_fill(ctx);
}

void breaker_check(struct pool *p)
{
	const struct config_pool *pc = p->cfg;

	if (p->circuit_open || pc->breaker_threshold == 0 || p->failures < pc->breaker_threshold ||
	    breaker_connected(p) > 0)
		return;
	p->circuit_open = true;
	atomic_store(&p->shm->down_since_wall_us, p->first_failure_wall_us);
	BREAKER_LOG(LOG_WARNING, p,
	            "circuit breaker open after %u consecutive connection failures: leases fail "
	            "at once (08006) until a probe connection succeeds; last error: %s",
	            p->failures, p->shm->last_error);
	pool_publish_status(p);
}

void breaker_connect_failed(struct pool *p, const char *why)
{
	uint32_t shift = p->failures < 16 ? p->failures : 16;
	uint64_t cap = p->cfg->connect_retry_max_ms, ms = (uint64_t)CONFIG_RETRY_MIN_MS << shift;

	if (p->failures++ == 0)
		p->first_failure_wall_us = pgp_wall_us();
	breaker_set_error(p, why);
	if (cap < CONFIG_RETRY_MIN_MS)
		cap = CONFIG_RETRY_MIN_MS;
	if (ms > cap)
		ms = cap;
	/* +-25% jitter so pools (and brokers) do not retry in lockstep. */
	ms = ms * 3 / 4 + (uint64_t)random() % (ms / 2 + 1);
	p->next_attempt_us = pgp_now_us() + ms * 1000u;
	loop_timer_start(broker.loop, &p->backoff_timer, ms * 1000u, breaker_fired, p);
	BREAKER_LOG(p->failures == 1 ? LOG_INFO : LOG_DEBUG, p,
	            "next connection attempt in %.2f s (%u consecutive failure(s))",
	            (double)ms / 1000.0, p->failures);
	breaker_check(p);
}

void breaker_connect_ok(struct pool *p)
{
	uint64_t down = atomic_load(&p->shm->down_since_wall_us);

	if (p->failures > 0)
		BREAKER_LOG(LOG_INFO, p, "connected again after %u failed attempt(s)", p->failures);
	p->failures = 0;
	p->first_failure_wall_us = 0;
	breaker_retry_now(p);
	if (!p->circuit_open)
		return;
	p->circuit_open = false;
	atomic_store(&p->shm->down_since_wall_us, 0);
	BREAKER_LOG(LOG_WARNING, p,
	            "circuit breaker closed: PostgreSQL answers again (down for %.1f s)",
	            down ? (double)(pgp_wall_us() - down) / 1e6 : 0.0);
	pool_publish_status(p);
}

bool breaker_may_connect(struct pool *p)
{
	uint64_t now = pgp_now_us();

	if (now >= p->next_attempt_us)
		return true;
	if (!p->backoff_timer.armed)
		loop_timer_start(broker.loop, &p->backoff_timer, p->next_attempt_us - now,
		                 breaker_fired, p);
	return false;
}

void breaker_retry_now(struct pool *p)
{
	p->next_attempt_us = 0;
	loop_timer_stop(broker.loop, &p->backoff_timer);
}

void breaker_fini(struct pool *p)
{
	if (broker.loop)
		loop_timer_stop(broker.loop, &p->backoff_timer);
}
