/*
 * pool.c: connection pools: slot ranges, sizing, status, offering connections to workers, and
 * taking slots back.
 */
#include "pool.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "breaker.h"
#include "broker.h"
#include "lifecycle.h"
#include "log.h"
#include "main.h"
#include "orphan.h"
#include "reset.h"
#include "server.h"
#include "worker.h"

#define POOL_LOG(lvl, p, ...) log_msg(lvl, (p)->cfg->name, LOG_NO_SLOT, __VA_ARGS__)
#define SLOT_LOG(lvl, s, ...) log_msg(lvl, (s)->pool->cfg->name, (s)->index, __VA_ARGS__)

/* Parameters a worker needs to answer getAttribute() and to quote correctly. */
static const char *const pool_param_names[] = {
    "server_version",    "server_encoding",
    "client_encoding",   "standard_conforming_strings",
    "integer_datetimes", "DateStyle",
    "IntervalStyle",     "TimeZone",
    "is_superuser",      "session_authorization",
    "application_name",
};

/* ---- slot ranges ---- */

uint32_t pool_slot_capacity(const struct config *cfg)
{
	uint64_t sum = 0, n;

	for (uint32_t i = 0; i < cfg->npools; i++)
		sum += cfg->pools[i].max_connections;
	n = 2 * sum;
	if (n < cfg->max_backends)
		n = cfg->max_backends;
	if (n < 64)
		n = 64;
	if (n > PGP_MAX_SLOTS)
		n = PGP_MAX_SLOTS;
	return (uint32_t)n;
}

/* The range of p holds slots: a configured pool's, or a drained one's still not empty. */
static bool pool_holds_range(const struct pool *p)
{
	return p->in_use && p->nslots > 0;
}

/* A free range of at least `need` slots, preferably `want`: the first gap of `want` slots, else
 * the largest gap. 0 with first and n set, or -ENOSPC. */
static int pool_find_range(uint32_t need, uint32_t want, uint32_t *first, uint32_t *n)
{
	uint32_t best_first = 0, best_len = 0, at = 0;

	for (;;) {
		/* The pool range starting lowest at or after `at`. */
		const struct pool *next = NULL;
		uint32_t gap;

		for (uint32_t i = 0; i < broker.npools; i++) {
			const struct pool *q = &broker.pools[i];
			if (pool_holds_range(q) && q->first_slot >= at &&
			    (!next || q->first_slot < next->first_slot))
				next = q;
		}
		gap = (next ? next->first_slot : broker.nservers) - at;
		if (gap >= want) {
			*first = at;
			*n = want;
			return 0;
		}
		if (gap > best_len) {
			best_first = at;
			best_len = gap;
		}
		if (!next)
			break;
		at = next->first_slot + next->nslots;
	}
	if (best_len < need)
		return -ENOSPC;
	*first = best_first;
	*n = best_len;
	return 0;
}

/* ---- opening and closing pools ---- */

/* The shm entry and the ATTACH_OK template from the pool's settings. */
static void pool_publish_config(struct pool *p)
{
	const struct config_pool *pc = p->cfg;
	struct pgp_shm_pool *sp = p->shm;
	uint32_t max = pc->max_connections < p->nslots ? pc->max_connections : p->nslots;

	atomic_store(&sp->max_connections, max);
	sp->min_connections = pc->min_connections < max ? pc->min_connections : max;
	sp->mode = pc->mode;
	sp->acquire_timeout_ms = pc->acquire_timeout_ms;
	sp->query_timeout_ms = pc->query_timeout_ms;
	p->attach_ok.mode = pc->mode;
	p->attach_ok.acquire_timeout_ms = pc->acquire_timeout_ms;
	p->attach_ok.query_timeout_ms = pc->query_timeout_ms;
	p->attach_ok.slow_query_ms = pc->slow_query_ms;
	p->attach_ok.validate_after_idle_ms = pc->validate_after_idle_ms;
}

/* 1 if a live PHP process may still use closed entry i: one that attached keeps the entry's
 * index in its handle (and its per-slot arrays sized by the entry's range then) for as long as
 * its control connection lives, which is as long as it holds the entry's authentication bit. */
static bool pool_entry_referenced(uint32_t i)
{
	for (const struct worker_conn *c = broker.conns; c; c = c->next) {
		if ((c->auth_pools & (1ull << i)) || (c->attach_waiting && c->attach_pool == i))
			return true;
	}
	return false;
}

/*
 * The entry for a pool named `name`, and the most slots it may reserve (*max_slots, UINT32_MAX
 * for no limit). Pool entries are never moved (workers address them by index), but a closed one
 * (removed by a reload, drained) is taken again, so that removing and adding pools never runs
 * out of the PGP_MAX_POOLS entries nor lists one name twice:
 *  - the closed entry of the same name first: the pool comes back where processes that
 *    attached to it look (as a pool that stayed would: they keep their attachment, and its
 *    counters go on). Their arrays are sized by its old range, so while any of them lives the
 *    new range may not be larger (a max_connections above it takes another entry);
 *  - else an entry never used;
 *  - else a closed entry no live process attached to (its counters start again from zero).
 * -ENOSPC when every entry is taken by a configured pool or by a removed one that live
 * processes still reference (they let go when they exit, e.g. at a php-fpm reload).
 */
static int pool_pick_entry(const struct config_pool *cfg, uint32_t *idx, uint32_t *max_slots)
{
	uint32_t other = UINT32_MAX;

	*max_slots = UINT32_MAX;
	for (uint32_t i = 0; i < broker.npools; i++) {
		const struct pool *q = &broker.pools[i];
		bool referenced;
		if (q->in_use || !q->cfg->name)
			continue; /* (a closed entry keeps its name; the analyzer cannot tell) */
		referenced = pool_entry_referenced(i);
		if (strcmp(q->cfg->name, cfg->name) == 0 &&
		    (!referenced || cfg->max_connections <= q->closed_nslots)) {
			*idx = i;
			if (referenced)
				*max_slots = q->closed_nslots;
			return 0;
		}
		if (!referenced && other == UINT32_MAX)
			other = i;
	}
	if (broker.npools < PGP_MAX_POOLS)
		*idx = broker.npools;
	else if (other != UINT32_MAX)
		*idx = other;
	else
		return -ENOSPC;
	return 0;
}

/* Make closed entry idx ready for another pool: its settings go; the counters of the shm entry
 * go too unless the pool keeps its name (the same Prometheus series goes on). */
static void pool_entry_recycle(uint32_t idx, const char *name)
{
	struct pool *p = &broker.pools[idx];
	struct pgp_shm_pool *sp = &broker.shm.pools[idx];
	bool same = strcmp(p->cfg->name, name) == 0;

	config_pool_free(&p->own);
	atomic_store(&sp->down_since_wall_us, 0);
	atomic_store(&sp->connecting, 0);
	if (same)
		return;
	/* Nothing references the entry: plain stores are safe. */
	memset((char *)sp + offsetof(struct pgp_shm_pool, acquires), 0,
	       offsetof(struct pgp_shm_pool, schema_epoch) -
	           offsetof(struct pgp_shm_pool, acquires));
	atomic_store(&sp->waiting_max, 0);
	memset((char *)sp + offsetof(struct pgp_shm_pool, acquire_wait_hist), 0,
	       offsetof(struct pgp_shm_pool, reserved2) -
	           offsetof(struct pgp_shm_pool, acquire_wait_hist));
	atomic_store(&sp->last_error_seq, 0);
	memset(sp->last_error, 0, sizeof(sp->last_error));
}

struct pool *pool_open(struct config_pool *cfg, uint32_t reserve)
{
	uint32_t first, n, idx, max_slots;
	struct pool *p;
	struct pgp_shm_pool *sp;

	if (pool_pick_entry(cfg, &idx, &max_slots) < 0) {
		log_msg(LOG_ERROR, cfg->name, LOG_NO_SLOT,
		        "cannot add the pool: all %d pool entries are taken by configured pools "
		        "and by removed pools that PHP processes attached to before (they free "
		        "them when they exit: reload php-fpm), or restart the broker",
		        PGP_MAX_POOLS);
		return NULL;
	}
	if (reserve < cfg->max_connections)
		reserve = cfg->max_connections;
	if (reserve > max_slots)
		reserve = max_slots; /* >= max_connections (pool_pick_entry) */
	if (pool_find_range(cfg->max_connections, reserve, &first, &n) < 0) {
		log_msg(LOG_ERROR, cfg->name, LOG_NO_SLOT,
		        "cannot add the pool: no free range of %u slots left in shared memory "
		        "(max_connections); restart the broker to resize it (see max_backends)",
		        cfg->max_connections);
		return NULL;
	}
	if (idx < broker.npools)
		pool_entry_recycle(idx, cfg->name);
	p = &broker.pools[idx];
	sp = &broker.shm.pools[idx];
	memset(p, 0, sizeof(*p));
	config_pool_move(&p->own, cfg);
	p->cfg = &p->own;
	p->index = idx;
	p->shm = sp;
	p->first_slot = first;
	p->nslots = n;
	p->servers = &broker.servers[first];
	p->in_use = true;
	p->prefill_done = p->cfg->min_connections == 0;
	for (uint32_t j = 0; j < n; j++) {
		struct server *s = &p->servers[j];
		memset(s, 0, sizeof(*s));
		s->pool = p;
		s->index = j;
		s->fd = -1;
		s->slot = &broker.shm.slots[first + j];
		s->slot->pool = idx;
		s->slot->backend_pid = 0;
		atomic_store(&s->slot->word, pgp_slot_word(PGP_SLOT_EMPTY, 0, 0));
	}
	snprintf(sp->name, sizeof(sp->name), "%s", p->cfg->name);
	sp->index = idx;
	sp->first_slot = first;
	sp->nslots = n;
	p->attach_ok.pool = idx;
	p->attach_ok.epoch = broker.shm.epoch;
	snprintf(p->attach_ok.shm_name, sizeof(p->attach_ok.shm_name), "%s", broker.cfg.shm_name);
	pool_publish_config(p);
	pool_publish_status(p);
	/* Workers read entries below npools: publish the entry before counting it. */
	if (idx >= broker.npools) {
		broker.npools = idx + 1;
		atomic_thread_fence(memory_order_seq_cst);
		broker.shm.hdr->npools = broker.npools;
	}
	if (p->cfg->sslmode_plaintext_fallback)
		POOL_LOG(LOG_INFO, p,
		         "sslmode prefer, allow or unset (libpq's default is prefer) on a loopback "
		         "address or Unix socket: connecting in plaintext (a TLS session "
		         "cannot be handed to workers by fd passing)");
	return p;
}

int pool_init_all(void)
{
	struct config *cfg = &broker.cfg;
	uint32_t sum = 0, spare;

	broker.nservers = broker.shm.hdr->nslots;
	broker.pools = calloc(PGP_MAX_POOLS, sizeof(*broker.pools));
	broker.servers = calloc(broker.nservers ? broker.nservers : 1, sizeof(*broker.servers));
	if (!broker.pools || !broker.servers)
		return -ENOMEM;
	for (uint32_t i = 0; i < broker.nservers; i++)
		broker.servers[i].fd = -1;
	for (uint32_t i = 0; i < cfg->npools; i++)
		sum += cfg->pools[i].max_connections;
	/* Room to double each pool on reload, leaving a share for pools added later. */
	spare = (broker.nservers - sum) / (cfg->npools + 1);
	for (uint32_t i = 0; i < cfg->npools; i++) {
		uint32_t max = cfg->pools[i].max_connections;
		if (!pool_open(&cfg->pools[i], max + (spare < max ? spare : max)))
			return -ENOSPC;
	}
	return 0;
}

void pool_fini_all(void)
{
	for (uint32_t i = 0; i < broker.npools; i++) {
		breaker_fini(&broker.pools[i]);
		config_pool_free(&broker.pools[i].own);
	}
	free(broker.servers);
	free(broker.pools);
	broker.servers = NULL;
	broker.pools = NULL;
	broker.nservers = 0;
	broker.npools = 0;
}

bool pool_active(const struct pool *p)
{
	return p->in_use && !p->draining;
}

struct pool *pool_by_name(const char *name)
{
	for (uint32_t i = 0; i < broker.npools; i++) {
		if (pool_active(&broker.pools[i]) && strcmp(broker.pools[i].cfg->name, name) == 0)
			return &broker.pools[i];
	}
	return NULL;
}

void pool_count(const struct pool *p, uint32_t out[8])
{
	memset(out, 0, 8 * sizeof(out[0]));
	for (uint32_t j = 0; j < p->nslots; j++) {
		uint32_t st = pgp_slot_word_state(atomic_load(&p->servers[j].slot->word));
		out[st < 8 ? st : 7]++;
	}
}

uint32_t pool_live(const struct pool *p)
{
	uint32_t n = 0;

	for (uint32_t j = 0; j < p->nslots; j++)
		n += p->servers[j].phase != SERVER_EMPTY;
	return n;
}

void pool_repair_shm(struct pool *p)
{
	struct pgp_shm_pool *sp = p->shm;
	uint32_t first = p->in_use ? p->first_slot : 0, n = p->in_use ? p->nslots : 0;
	const struct config_pool *pc = p->cfg;
	uint32_t max = pc->max_connections < p->nslots ? pc->max_connections : p->nslots;
	uint32_t min = pc->min_connections < max ? pc->min_connections : max;

	/* Workers may write anywhere in the segment; nothing of this is read back as truth, but
	 * workers bound their slot scans by it and the status gates their leases. */
	if (sp->index == p->index && sp->first_slot == first && sp->nslots == n &&
	    strncmp(sp->name, pc->name, sizeof(sp->name)) == 0 &&
	    (!p->in_use ||
	     (atomic_load(&sp->max_connections) == max && sp->min_connections == min &&
	      sp->mode == pc->mode && sp->acquire_timeout_ms == pc->acquire_timeout_ms &&
	      sp->query_timeout_ms == pc->query_timeout_ms)))
		goto status;
	POOL_LOG(LOG_WARNING, p,
	         "its shared-memory entry was scribbled over (index %u, slots %u+%u): restored",
	         sp->index, sp->first_slot, sp->nslots);
	snprintf(sp->name, sizeof(sp->name), "%s", pc->name);
	sp->index = p->index;
	sp->first_slot = first;
	sp->nslots = n;
	if (p->in_use)
		pool_publish_config(p);
status:
	pool_publish_status(p);
}

void pool_publish_status(struct pool *p)
{
	uint32_t old = atomic_load(&p->shm->status), st;

	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED)
		return; /* DISABLED for good (main_stop) */
	/* The broker's own statuses win over what an administrator set, until they end. */
	if (!p->in_use)
		st = PGP_POOL_CLOSED;
	else if (p->draining)
		st = PGP_POOL_DRAINING;
	else if (p->circuit_open)
		st = PGP_POOL_CIRCUIT_OPEN;
	else
		st = admin_pool_status(p->cfg->name);
	if (st == old)
		return;
	atomic_store(&p->shm->status, st);
	/* Waiters of a pool that cannot serve them fail now with the reason the status gives. */
	if (st != PGP_POOL_OPEN && st != PGP_POOL_PAUSED)
		(void)pgp_pool_cancel_waiters(&broker.shm, p->shm, 0);
	/* So do ATTACHes still waiting for the first backend (OPERATIONS.md: "fail at once"). */
	if (st == PGP_POOL_CIRCUIT_OPEN)
		worker_pool_circuit_open(p);
}

void pool_close_if_drained(struct pool *p)
{
	if (!p->draining || !p->in_use || pool_live(p) > 0)
		return;
	breaker_fini(p);
	p->in_use = false;
	pool_publish_status(p);
	/* Workers bound the pool's slots by nslots at every use: none of them is looked at again,
	 * so another pool may take the range. */
	p->shm->nslots = 0;
	p->shm->first_slot = 0;
	for (uint32_t j = 0; j < p->nslots; j++)
		p->servers[j].pool = NULL;
	p->closed_nslots = p->nslots;
	p->nslots = 0;
	p->servers = NULL;
	POOL_LOG(LOG_INFO, p, "drained and closed (removed from the configuration)");
}

void pool_drain(struct pool *p)
{
	if (!pool_active(p))
		return;
	p->draining = true;
	pool_publish_status(p);
	POOL_LOG(LOG_INFO, p, "removed from the configuration: draining (%u backend(s) open)",
	         pool_live(p));
	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];
		if (s->phase == SERVER_CONNECTING ||
		    (s->phase == SERVER_READY &&
		     server_hold(s, pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen)) == 0))
			server_close(s, false, "pool removed from the configuration");
	}
}

void pool_reconfigure(struct pool *p, struct config_pool *cfg)
{
	bool conn_changed = strcmp(p->cfg->dsn, cfg->dsn) != 0 ||
	                    !pgp_secure_equal(p->cfg->password, p->cfg->password_len, cfg->password,
	                                      cfg->password_len);
	bool life_changed = p->cfg->max_lifetime_ms != cfg->max_lifetime_ms;

	if (cfg->max_connections > p->nslots)
		POOL_LOG(LOG_WARNING, p,
		         "max_connections %u is more than the %u slots reserved for this pool at "
		         "start: using %u (restart the broker to go higher)",
		         cfg->max_connections, p->nslots, p->nslots);
	if (cfg->mode != p->cfg->mode)
		POOL_LOG(LOG_WARNING, p,
		         "mode changed to %s: processes attached before the reload keep %s until "
		         "they re-attach (php-fpm reload)",
		         pgp_pool_mode_name(cfg->mode), pgp_pool_mode_name(p->cfg->mode));
	config_pool_free(&p->own);
	config_pool_move(&p->own, cfg);
	pool_publish_config(p);
	if (conn_changed) {
		breaker_retry_now(p); /* a fixed password or host is tried at once */
		/* Connections made with the old dsn or password go: idle ones at the janitor's
		 * next tick, leased ones when their owner releases them (even to a waiter). */
		for (uint32_t j = 0; j < p->nslots; j++) {
			struct server *s = &p->servers[j];
			s->recycle = s->phase != SERVER_EMPTY;
			if (s->phase == SERVER_READY || s->phase == SERVER_BUSY)
				pool_retire(s, "recycled: the pool's dsn or password changed",
				            false);
		}
		POOL_LOG(LOG_INFO, p, "dsn or password changed: recycling its connections");
	}
	if (life_changed)
		lifecycle_reschedule(
		    p); /* a lowered max_lifetime applies to open connections too */
	POOL_LOG(LOG_INFO, p, "reconfigured: min=%u max=%u mode=%s acquire_timeout=%ums",
	         p->shm->min_connections, atomic_load(&p->shm->max_connections),
	         pgp_pool_mode_name(p->cfg->mode), p->cfg->acquire_timeout_ms);
	pool_fill(p);
}

/* ---- sizing ---- */

/* Backends of every pool together, for max_backends. */
static uint32_t pool_live_all(void)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < broker.npools; i++)
		n += broker.pools[i].in_use ? pool_live(&broker.pools[i]) : 0;
	return n;
}

/* How many more connections p may open now: within its max_connections and, with max_backends,
 * what all pools together still may. Says so (once) when the broker-wide cap holds it back. */
static uint32_t pool_room(struct pool *p, uint32_t live, uint32_t want)
{
	uint32_t max = atomic_load(&p->shm->max_connections), room, all;

	room = max > live ? max - live : 0;
	if (room > want)
		room = want;
	if (room == 0 || broker.cfg.max_backends == 0)
		return room;
	all = pool_live_all();
	if (broker.cfg.max_backends > all && broker.cfg.max_backends - all >= room) {
		p->capped = false;
		return room;
	}
	if (!p->capped)
		POOL_LOG(LOG_INFO, p,
		         "max_backends (%u) reached: growth waits for a backend to close",
		         broker.cfg.max_backends);
	p->capped = true;
	return broker.cfg.max_backends > all ? broker.cfg.max_backends - all : 0;
}

/*
 * With max_backends reached, a pool whose workers wait may take the place of an idle connection
 * of another pool (PgBouncer's eviction): otherwise it would wait until the other pool's
 * idle_timeout while backends sit unused. The victim is the longest-idle connection of a pool
 * that has more than its min_connections and no waiters of its own, so a busy pool is never
 * robbed and two pools cannot take connections back and forth while both are short. True if
 * one was closed (the room it leaves is counted at once).
 */
static bool pool_evict_for(struct pool *p)
{
	struct server *victim = NULL;
	uint64_t victim_word = 0, victim_since = UINT64_MAX;
	char why[128];

	for (uint32_t i = 0; i < broker.npools; i++) {
		struct pool *q = &broker.pools[i];

		if (q == p || !q->in_use || atomic_load(&q->shm->waiting) > 0 ||
		    pool_live(q) <= q->shm->min_connections)
			continue;
		for (uint32_t j = 0; j < q->nslots; j++) {
			struct server *s = &q->servers[j];
			uint64_t idle_word = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen);
			uint64_t since = atomic_load(&s->slot->idle_since_us);

			if (s->phase == SERVER_READY && atomic_load(&s->slot->word) == idle_word &&
			    since < victim_since) {
				victim = s;
				victim_word = idle_word;
				victim_since = since;
			}
		}
	}
	if (!victim || server_hold(victim, victim_word) != 0)
		return false;
	snprintf(why, sizeof(why), "max_backends (%u) reached and pool %s has workers waiting",
	         broker.cfg.max_backends, p->cfg->name);
	server_close(victim, false, why);
	return true;
}

/* Whether p, short of connections, may evict (pool_evict_for): held back by the cap alone. */
static bool pool_evict_ok(const struct pool *p, uint32_t live)
{
	return p->capped && !p->circuit_open && p->failures == 0 &&
	       live < atomic_load(&p->shm->max_connections);
}

void pool_fill(struct pool *p)
{
	uint32_t c[8], live, idle, connecting, waiting, want;

	if (broker.state != BROKER_RUNNING && broker.state != BROKER_STARTING)
		return;
	if (!pool_active(p) || !breaker_may_connect(p))
		return;
	pool_count(p, c);
	live = p->nslots - c[PGP_SLOT_EMPTY];
	idle = c[PGP_SLOT_IDLE];
	connecting = c[PGP_SLOT_CONNECTING];
	/* `waiting` is written by workers: a bogus value is bounded by the pool size. */
	waiting = atomic_load(&p->shm->waiting);
	if (waiting > p->nslots)
		waiting = p->nslots;
	/* An ATTACH waiting for the first backend is a waiter too: without it, a pool with
	 * min_connections 0 whose first attempt failed would not retry while the worker waits. */
	if (waiting == 0 && p->attach_waiters > 0 && !p->have_params)
		waiting = 1;
	want = p->shm->min_connections > live ? p->shm->min_connections - live : 0;
	if (waiting > idle + connecting && waiting - idle - connecting > want)
		want = waiting - idle - connecting;
	if (want == 0 && live == 0 && orphan_pending(p))
		want = 1; /* a connection to terminate the previous broker's backends with */
	if (p->circuit_open)
		want = connecting ? 0 : 1; /* half-open: one probe at a time */
	else if (p->failures > 0)
		want = connecting ? 0 : (want ? 1 : 0); /* the server refuses us: probe first */
	want = want ? pool_room(p, live, want) : 0;
	if (want == 0 && waiting > idle + connecting && pool_evict_ok(p, live) && pool_evict_for(p))
		want = pool_room(p, live, 1);
	for (uint32_t j = 0; j < p->nslots && want > 0; j++) {
		struct server *s = &p->servers[j];
		if (s->phase != SERVER_EMPTY)
			continue;
		if (server_connect(s) != 0)
			break; /* failed at once: backoff is set */
		want--;
	}
}

void pool_want_params(struct pool *p)
{
	uint32_t c[8];

	if (p->have_params || broker.state != BROKER_RUNNING || !pool_active(p))
		return;
	pool_count(p, c);
	/* One connection on its way is enough; during backoff the retry timer brings one. */
	if (c[PGP_SLOT_CONNECTING] > 0 || pgp_now_us() < p->next_attempt_us)
		return;
	/* The attaching worker waits for these: at the cap that is demand enough to evict. */
	if (pool_room(p, p->nslots - c[PGP_SLOT_EMPTY], 1) == 0 &&
	    !(pool_evict_ok(p, p->nslots - c[PGP_SLOT_EMPTY]) && pool_evict_for(p) &&
	      pool_room(p, p->nslots - c[PGP_SLOT_EMPTY], 1) > 0))
		return;
	for (uint32_t j = 0; j < p->nslots; j++) {
		if (p->servers[j].phase == SERVER_EMPTY) {
			/* A failure is logged and sets the backoff; the ATTACH keeps waiting. */
			if (server_connect(&p->servers[j]) < 0)
				POOL_LOG(LOG_DEBUG, p, "first connection attempt failed");
			return;
		}
	}
}

bool pool_all_prefilled(void)
{
	for (uint32_t i = 0; i < broker.npools; i++) {
		if (pool_active(&broker.pools[i]) && !broker.pools[i].prefill_done)
			return false;
	}
	return true;
}

void pool_server_params(struct pool *p, PGconn *conn)
{
	struct pgp_ctl_attach_ok *ok = &p->attach_ok;

	ok->params_len = 0;
	memset(ok->params, 0, sizeof(ok->params));
	for (size_t i = 0; i < PGP_ARRAY_LEN(pool_param_names); i++) {
		const char *v = PQparameterStatus(conn, pool_param_names[i]);
		if (v && pgp_ctl_param_add(ok, pool_param_names[i], v) < 0)
			POOL_LOG(LOG_WARNING, p, "server parameter %s does not fit in ATTACH_OK",
			         pool_param_names[i]);
	}
	p->have_params = true;
	p->params_new = true;
}

/* A new backend in the slot: nothing recorded about the previous one applies. */
static void pool_clear_slot(struct pgp_shm_slot *slot)
{
	for (uint32_t i = 0; i < PGP_SLOT_STMTS; i++) {
		atomic_store(&slot->stmts[i].hash, 0);
		atomic_store(&slot->stmts[i].last_used, 0);
	}
	atomic_store(&slot->nstmts, 0);
	atomic_store(&slot->flags, 0);
	atomic_store(&slot->retire, 0);
}

void pool_server_connected(struct server *s)
{
	struct pool *p = s->pool;

	breaker_connect_ok(p);
	if (p->params_new) {
		p->params_new = false;
		worker_pool_ready(p);
	}
	pool_clear_slot(s->slot);
	pool_offer(s);
	if (!p->prefill_done) {
		uint32_t c[8];
		pool_count(p, c);
		if (c[PGP_SLOT_IDLE] + c[PGP_SLOT_LEASED] + c[PGP_SLOT_BUSY] >=
		    p->cfg->min_connections) {
			p->prefill_done = true;
			POOL_LOG(LOG_INFO, p, "prefilled: %u connection(s)",
			         p->cfg->min_connections);
			main_check_ready();
		}
	}
	pool_fill(p);
}

void pool_server_connect_failed(struct server *s, const char *why)
{
	struct pool *p = s->pool;

	if (!pool_active(p))
		return;
	breaker_connect_failed(p, why);
	if (!p->prefill_done) {
		p->prefill_done = true;
		main_check_ready();
	}
}

void pool_server_closed(struct server *s, bool was_connected, bool discarded)
{
	struct pool *p = s->pool;

	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED) {
		main_check_stopped();
		return;
	}
	if (!pool_active(p))
		return; /* draining: the janitor closes the entry once it is empty */
	/* The last connection of a pool whose reconnects fail: the circuit may open now. */
	breaker_check(p);
	/* A discarded backend is replaced in its own slot, so a broken connection does not
	 * shrink the pool (backoff still applies if the server refuses us). */
	if (was_connected && discarded && !p->failures && pgp_now_us() >= p->next_attempt_us &&
	    pool_room(p, pool_live(p), 1) > 0 && server_connect(s) < 0)
		POOL_LOG(LOG_DEBUG, p, "replacement connection failed at once");
	pool_fill(p);
}

void pool_retire(struct server *s, const char *why, bool replace)
{
	if (s->phase != SERVER_READY && s->phase != SERVER_BUSY)
		return;
	if (!s->retire_why) {
		s->retire_why = why;
		s->retire_replace = replace;
	}
	/* Published after the broker's own record: a worker that sees the flag hands the slot back,
	 * and the broker then knows why. */
	atomic_store(&s->slot->retire, 1);
}

void pool_close_retired(struct server *s, const char *why)
{
	struct pool *p = s->pool;
	bool replace = s->retire_why && s->retire_replace;

	server_close(s, false, why);
	/* pool_server_closed() refilled for waiters already; this keeps the pool's size when the
	 * administrator or max_lifetime asked for a replacement, within max_connections. */
	if (replace && s->phase == SERVER_EMPTY && broker.state == BROKER_RUNNING &&
	    pool_active(p) && !p->failures && pgp_now_us() >= p->next_attempt_us &&
	    pool_room(p, pool_live(p), 1) > 0 && server_connect(s) < 0)
		SLOT_LOG(LOG_DEBUG, s, "replacement connection failed at once");
}

void pool_offer(struct server *s)
{
	struct pool *p = s->pool;
	const char *why;
	uint64_t held = server_held_word(s);
	int rc;

	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED) {
		server_close(s, false, "broker shutting down");
		return;
	}
	if (!pool_active(p)) {
		server_close(s, false, "pool removed from the configuration");
		return;
	}
	why = lifecycle_close_reason(s);
	if (why) {
		pool_close_retired(s, why);
		return;
	}
	/* Only the broker's own reasons retire a backend: clear what a worker may have set. */
	atomic_store(&s->slot->retire, 0);
	atomic_store(&s->slot->proto_pos, PGP_POS_CLEAN);
	atomic_store(&s->slot->txn_status, (uint32_t)PGP_TXN_IDLE);
	atomic_store(&s->slot->owner_pid, 0);
	/* Fresh from connect, reset or check: validate_after_idle counts from now, also for a
	 * waiter that gets it straight away. */
	atomic_store(&s->slot->idle_since_us, pgp_now_us());
	s->phase = SERVER_READY;
	rc = pgp_pool_offer(&broker.shm, p->shm, s->index, held);
	if (rc < 0) {
		/* Only the broker may move a slot out of CONNECTING/BUSY: a worker wrote it. */
		SLOT_LOG(LOG_WARNING, s, "slot word changed while the broker held it: discarding");
		s->phase = SERVER_BUSY;
		server_close(s, true, "slot word forged");
		return;
	}
	if (rc == 0)
		server_watch_idle(s);
	else
		SLOT_LOG(LOG_DEBUG, s, "handed to the oldest waiter");
}

static bool pool_txn_valid(uint32_t txn)
{
	return txn == PGP_TXN_IDLE || txn == PGP_TXN_INTRANS || txn == PGP_TXN_FAILED;
}

static const char *pool_pos_name(uint32_t pos)
{
	static const char *const names[] = {"CLEAN", "WRITING", "SENT", "READING", "COPY"};

	return pos < PGP_ARRAY_LEN(names) ? names[pos] : "invalid";
}

/* Stopping, or the pool is going away: returned connections are closed, not reset. */
static bool pool_closing(const struct pool *p)
{
	return broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED || !pool_active(p);
}

void pool_reclaim(struct server *s, uint64_t word)
{
	uint32_t pos, txn;
	int32_t pid = atomic_load(&s->slot->owner_pid);

	if (server_hold(s, word) != 0)
		return;
	atomic_fetch_add(&s->pool->shm->reclaims, 1);
	pos = atomic_load(&s->slot->proto_pos);
	txn = atomic_load(&s->slot->txn_status);
	SLOT_LOG(LOG_INFO, s,
	         "reclaiming the lease of a gone worker (attach id %u, pid %d): "
	         "proto_pos=%s txn=%c",
	         pgp_slot_word_owner(word), pid, pool_pos_name(pos),
	         pool_txn_valid(txn) ? (char)txn : '?');
	if (pool_closing(s->pool)) {
		server_close(s, pos != PGP_POS_CLEAN, "lease of a gone worker while closing");
		return;
	}
	if (!pool_txn_valid(txn) || (pos != PGP_POS_CLEAN && pos != PGP_POS_SENT)) {
		char why[96];
		snprintf(why, sizeof(why), "reclaimed mid-protocol (proto_pos=%s)",
		         pool_pos_name(pos));
		server_close(s, true, why);
		return;
	}
	reset_start(s, pos == PGP_POS_SENT, (char)txn, "reclaim");
}

void pool_take_returned(struct server *s, uint64_t word)
{
	uint32_t state = pgp_slot_word_state(word);
	uint32_t pos, txn;

	if (server_hold(s, word) != 0)
		return;
	if (state == PGP_SLOT_DISCARD) {
		server_close(s, true, "returned broken by a worker");
		return;
	}
	pos = atomic_load(&s->slot->proto_pos);
	txn = atomic_load(&s->slot->txn_status);
	if (pool_closing(s->pool)) {
		server_close(s, pos != PGP_POS_CLEAN, "returned for reset while closing");
		return;
	}
	if (pos != PGP_POS_CLEAN || !pool_txn_valid(txn)) {
		server_close(s, true, "returned for reset, but not at a clean boundary");
		return;
	}
	/* Handed back because it is retired (slot.retire), or retired since: no reset needed for
	 * a connection about to close; Terminate ends its session. */
	if (lifecycle_close_reason(s)) {
		pool_close_retired(s, lifecycle_close_reason(s));
		return;
	}
	reset_start(s, false, (char)txn, "reset requested by worker");
}

/* A worker wrote a word the broker never produced: put back what the broker knows. */
static void pool_repair(struct server *s, uint64_t seen, uint64_t want)
{
	SLOT_LOG(LOG_WARNING, s, "slot word %016llx is not what the broker set (%016llx): repaired",
	         (unsigned long long)seen, (unsigned long long)want);
	atomic_store(&s->slot->word, want);
}

void pool_check_slot(struct server *s)
{
	uint64_t w;
	uint32_t st, owner;

	if (!s->pool)
		return; /* outside every pool's range */
	w = atomic_load(&s->slot->word);
	st = pgp_slot_word_state(w);
	owner = pgp_slot_word_owner(w);
	switch (s->phase) {
	case SERVER_EMPTY:
	case SERVER_CONNECTING:
	case SERVER_BUSY:
		if (w != server_held_word(s) &&
		    !(s->phase == SERVER_EMPTY && w == pgp_slot_word(PGP_SLOT_EMPTY, 0, s->gen)))
			pool_repair(s, w,
			            s->phase == SERVER_EMPTY
			                ? pgp_slot_word(PGP_SLOT_EMPTY, 0, s->gen)
			                : server_held_word(s));
		return;
	case SERVER_READY:
		break;
	}
	if (pgp_slot_word_gen(w) != s->gen || st == PGP_SLOT_EMPTY || st == PGP_SLOT_CONNECTING ||
	    st == PGP_SLOT_BUSY || st > PGP_SLOT_RESET || (st == PGP_SLOT_IDLE && owner != 0)) {
		/* Whoever holds it cannot be told apart from a forger: the connection goes. */
		uint64_t busy = pgp_slot_word(PGP_SLOT_BUSY, 0, s->gen);
		pool_repair(s, w, busy);
		server_stop_io(s);
		s->phase = SERVER_BUSY;
		server_close(s, true, "slot word forged");
		return;
	}
	switch (st) {
	case PGP_SLOT_IDLE:
		if (pool_closing(s->pool)) {
			if (server_hold(s, w) == 0)
				server_close(s, false,
				             broker.state == BROKER_STOPPING
				                 ? "broker shutting down"
				                 : "pool removed from the configuration");
			return;
		}
		server_watch_idle(s);
		return;
	case PGP_SLOT_LEASED:
		if (!worker_owner_valid(owner, s->pool->index)) {
			pool_reclaim(s, w);
			return;
		}
		/* The flag is a hint workers can write: put back what the broker decided. */
		if ((atomic_load(&s->slot->retire) != 0) != (s->retire_why != NULL))
			atomic_store(&s->slot->retire, s->retire_why != NULL);
		return;
	case PGP_SLOT_DISCARD:
	case PGP_SLOT_RESET:
		/* Also when the worker's RETURNED notification was lost. */
		pool_take_returned(s, w);
		return;
	}
}
