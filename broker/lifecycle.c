/*
 * lifecycle.c: idle timeout, max lifetime and health checks of idle connections (see
 * lifecycle.h).
 */
#include "lifecycle.h"

#include <stdlib.h>

#include "broker.h"
#include "log.h"
#include "pool.h"
#include "reset.h"
#include "server.h"

/* Health checks started per pool and tick: a pool never has many slots out for checking. */
#define LIFECYCLE_CHECKS_PER_TICK 2u

void lifecycle_connected(struct server *s)
{
	uint64_t life = (uint64_t)s->pool->cfg->max_lifetime_ms * 1000u;
	uint64_t now = pgp_now_us();

	s->checked_us = now;
	s->expires_us = 0;
	if (life == 0)
		return;
	/* 85%..115% of max_lifetime: connections opened together do not expire together. */
	s->expires_us = now + life * 85 / 100 + (uint64_t)random() % (life * 30 / 100 + 1);
}

const char *lifecycle_close_reason(const struct server *s)
{
	const struct pool *p = s->pool;

	if (s->recycle)
		return "recycled: the pool's dsn or password changed";
	if (s->expires_us && pgp_now_us() >= s->expires_us)
		return "max_lifetime reached";
	if (pool_live(p) > atomic_load(&p->shm->max_connections))
		return "above max_connections (lowered by a reload)";
	return NULL;
}

static void lifecycle_checked(struct server *s)
{
	uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen);

	s->checked_us = pgp_now_us();
	log_msg(LOG_DEBUG, s->pool->cfg->name, s->index,
	        "health check ok in %.1f ms (backend pid=%d)",
	        (double)(s->checked_us - s->reset.started_us) / 1000.0, s->backend_pid);
	pool_offer(s);
	/* The offer stamped it idle since now; a check is no use: idle_timeout counts from the last
	 * worker. (A worker that leased it in between sees an older time and pings once, harmless;
	 * it stamps its own time at release.) */
	if (s->phase == SERVER_READY && atomic_load(&s->slot->word) == idle)
		atomic_store(&s->slot->idle_since_us, s->check_idle_since_us);
}

static const char *const lifecycle_check_replies[] = {"", NULL}; /* EmptyQueryResponse */

static void lifecycle_pool(struct pool *p, uint64_t now)
{
	const struct config_pool *pc = p->cfg;
	uint64_t idle_max = (uint64_t)pc->idle_timeout_ms * 1000u;
	uint64_t check = (uint64_t)pc->health_check_period_ms * 1000u;
	uint32_t live = pool_live(p), min = p->shm->min_connections, checks = 0;
	bool recycled = false;

	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];
		uint64_t idle_word = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen), since, idle_for;
		const char *why;

		if (s->phase != SERVER_READY || atomic_load(&s->slot->word) != idle_word)
			continue;
		/* idle_since_us is written by workers: only used to schedule, and bounded. */
		since = atomic_load(&s->slot->idle_since_us);
		idle_for = since < now ? now - since : 0;
		why = lifecycle_close_reason(s);
		/* Expired connections go one per tick while the pool has others: a replacement
		 * is connected in between, so the pool never empties for it. */
		if (why && !s->recycle && s->expires_us && now >= s->expires_us && recycled)
			why = NULL;
		if (!why && idle_max && idle_for >= idle_max && live > min)
			why = "idle_timeout reached";
		if (why) {
			if (server_hold(s, idle_word) == 0) {
				recycled = true;
				live--;
				server_close(s, false, why);
			}
			continue;
		}
		if (check && checks < LIFECYCLE_CHECKS_PER_TICK && idle_for >= check &&
		    now - s->checked_us >= check && server_hold(s, idle_word) == 0) {
			checks++;
			s->check_idle_since_us = since;
			atomic_fetch_add(&p->shm->health_checks, 1);
			reset_query(s, "", lifecycle_check_replies,
			            PGP_ARRAY_LEN(lifecycle_check_replies), "health check", true,
			            lifecycle_checked);
		}
	}
}

void lifecycle_tick(void)
{
	uint64_t now = pgp_now_us();

	for (uint32_t i = 0; i < broker.npools; i++) {
		if (pool_active(&broker.pools[i]))
			lifecycle_pool(&broker.pools[i], now);
	}
}
