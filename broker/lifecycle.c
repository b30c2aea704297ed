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

#define LIFECYCLE_WHY_SHRINK "above max_connections (lowered by a reload)"

/* expires_us from the pool's current max_lifetime and the backend's own share of it. */
static void lifecycle_schedule(struct server *s)
{
	uint64_t life = (uint64_t)s->pool->cfg->max_lifetime_ms * 1000u;

	s->expires_us = life ? s->connected_us + life * s->life_permille / 1000u : 0;
}

void lifecycle_connected(struct server *s)
{
	uint64_t now = pgp_now_us();

	s->checked_us = now;
	s->connected_us = now;
	s->retire_why = NULL; /* a new backend: whatever retired the previous one is done */
	s->retire_replace = false;
	/* 85%..115% of max_lifetime: connections opened together do not expire together. */
	s->life_permille = 850u + (uint32_t)(random() % 301);
	lifecycle_schedule(s);
}

void lifecycle_reschedule(struct pool *p)
{
	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];
		if ((s->phase == SERVER_READY || s->phase == SERVER_BUSY) && s->life_permille)
			lifecycle_schedule(s);
	}
}

const char *lifecycle_close_reason(const struct server *s)
{
	const struct pool *p = s->pool;

	if (s->retire_why)
		return s->retire_why;
	if (s->recycle)
		return "recycled: the pool's dsn or password changed";
	if (s->expires_us && pgp_now_us() >= s->expires_us)
		return "max_lifetime reached";
	if (pool_live(p) > atomic_load(&p->shm->max_connections))
		return LIFECYCLE_WHY_SHRINK;
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

/*
 * Above a max_connections a reload lowered, with the idle ones closed already: retire as many
 * connections in use as are too many, so that they close when released instead of serving the
 * queue forever. Ones retired for another reason count (no replacement fits under the max).
 */
static void lifecycle_shrink(struct pool *p)
{
	uint32_t live = pool_live(p), max = atomic_load(&p->shm->max_connections), going = 0;

	if (live <= max)
		return;
	for (uint32_t j = 0; j < p->nslots; j++)
		going += p->servers[j].phase == SERVER_READY && p->servers[j].retire_why;
	for (uint32_t j = 0; j < p->nslots && live - max > going; j++) {
		struct server *s = &p->servers[j];
		if (s->phase != SERVER_READY || s->retire_why)
			continue;
		pool_retire(s, LIFECYCLE_WHY_SHRINK, false);
		going++;
	}
}

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

		if (s->phase != SERVER_READY)
			continue;
		if (atomic_load(&s->slot->word) != idle_word) {
			/* In use, maybe never idle again while workers queue: retire it, so that
			 * its owner hands it back at release (one per tick, as below). */
			if (!s->retire_why && s->expires_us && now >= s->expires_us && !recycled) {
				recycled = true;
				pool_retire(s, "max_lifetime reached", false);
			}
			continue;
		}
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
				pool_close_retired(s, why);
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
	lifecycle_shrink(p);
}

void lifecycle_tick(void)
{
	uint64_t now = pgp_now_us();

	for (uint32_t i = 0; i < broker.npools; i++) {
		if (pool_active(&broker.pools[i]))
			lifecycle_pool(&broker.pools[i], now);
	}
}
