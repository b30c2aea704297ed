/*
 * orphan.c: terminate the backends a dead broker left behind (see orphan.h).
 */
#include "orphan.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "broker.h"
#include "log.h"
#include "pool.h"
#include "reset.h"
#include "server.h"

#define ORPHAN_PER_QUERY 64u

struct orphan {
	int32_t pid;               /* backend pid */
	char pool[PGP_NAME_MAX];   /* name of its pool in the old broker */
	struct pgp_shm_slot *slot; /* its slot in the old segment */
	uint64_t word;             /* the slot word when adopted */
	int32_t owner_pid;         /* LEASED: the worker holding it */
	bool leased;               /* a worker held it when the old broker died */
	bool done;
	struct server *via; /* the connection its termination query runs on, NULL if none */
	uint32_t via_gen;
};

static struct {
	pgp_shm old;
	size_t size;
	struct orphan *v;
	uint32_t n, left, terminated;
	uint64_t deadline_us;
} orphans;

static void orphan_unmap(void)
{
	if (orphans.old.base)
		munmap(orphans.old.base, orphans.size);
	memset(&orphans.old, 0, sizeof(orphans.old));
	free(orphans.v);
	orphans.v = NULL;
	orphans.n = orphans.left = 0;
}

static bool orphan_known(int32_t pid)
{
	for (uint32_t i = 0; i < orphans.n; i++) {
		if (orphans.v[i].pid == pid)
			return true;
	}
	return false;
}

void orphan_adopt(pgp_shm *old, size_t size)
{
	const struct pgp_shm_header *h = old->hdr;
	uint32_t npools = h->npools < h->npools_cap ? h->npools : h->npools_cap, leased = 0;

	orphan_unmap();
	orphans.old = *old;
	orphans.size = size;
	orphans.v = calloc(h->nslots ? h->nslots : 1, sizeof(*orphans.v));
	if (!orphans.v) {
		log_error("cannot track the previous broker's backends: out of memory");
		orphan_unmap();
		return;
	}
	/* Workers still mapping it stop trusting it (they re-attach to us). */
	atomic_store(&old->hdr->state, PGP_SHM_STOPPED);
	for (uint32_t i = 0; i < npools; i++) {
		struct pgp_shm_pool *sp = pgp_shm_pool_at(old, i);
		size_t nl = strnlen(sp->name, sizeof(sp->name));

		for (uint32_t j = 0; j < sp->nslots; j++) {
			struct pgp_shm_slot *sl = pgp_shm_pool_slot(old, sp, j);
			struct orphan *o;
			uint64_t w;
			uint32_t st;

			if (!sl)
				break;
			w = atomic_load(&sl->word);
			st = pgp_slot_word_state(w);
			if (st == PGP_SLOT_EMPTY || sl->backend_pid <= 0 ||
			    orphan_known(sl->backend_pid))
				continue;
			/* Idle: take it, so that no worker still mapping the segment leases it. */
			if (st == PGP_SLOT_IDLE) {
				uint64_t busy =
				    pgp_slot_word(PGP_SLOT_BUSY, 0, pgp_slot_word_gen(w));
				if (atomic_compare_exchange_strong(&sl->word, &w, busy))
					w = busy;
				st = pgp_slot_word_state(w);
			}
			o = &orphans.v[orphans.n++];
			o->pid = sl->backend_pid;
			memcpy(o->pool, sp->name, nl < sizeof(o->pool) ? nl : sizeof(o->pool) - 1);
			o->slot = sl;
			o->word = w;
			o->leased = st == PGP_SLOT_LEASED;
			o->owner_pid = atomic_load(&sl->owner_pid);
			leased += o->leased;
		}
	}
	orphans.left = orphans.n;
	orphans.deadline_us = pgp_now_us() + (uint64_t)broker.cfg.orphan_timeout_ms * 1000u;
	log_warn("the previous broker (pid %d) left %u backend(s) open, %u of them leased by a "
	         "worker: terminating them (leased ones once released, at most after "
	         "orphan_timeout %u ms)",
	         h->broker_pid, orphans.n, leased, broker.cfg.orphan_timeout_ms);
	if (orphans.n == 0)
		orphan_unmap();
}

bool orphan_pending(const struct pool *p)
{
	for (uint32_t i = 0; i < orphans.n; i++) {
		if (!orphans.v[i].done && strcmp(orphans.v[i].pool, p->cfg->name) == 0)
			return true;
	}
	return false;
}

/* May it be terminated now? Not while a live worker still holds it in the old segment. */
static bool orphan_ready(const struct orphan *o, uint64_t now)
{
	if (!o->leased || now >= orphans.deadline_us)
		return true;
	if (atomic_load(&o->slot->word) != o->word)
		return true; /* released (or handed back) in the old segment */
	return o->owner_pid <= 0 || (kill(o->owner_pid, 0) < 0 && errno == ESRCH);
}

static void orphan_finish(struct orphan *o)
{
	o->done = true;
	o->via = NULL;
	orphans.left--;
}

/* Once every orphan is dealt with, the old segment goes. */
static void orphan_check_all_done(void)
{
	if (orphans.v && orphans.left == 0) {
		log_info("every backend of the previous broker is dealt with (%u terminated)",
		         orphans.terminated);
		orphan_unmap();
	}
}

static void orphan_done(struct server *s)
{
	unsigned n = 0, open = 0;
	uint32_t count = 0;

	/* Our own query's answer ("N/M"); anything else counts as 0/0. */
	if (sscanf(s->reset.value, "%u/%u", &n, &open) != 2) // NOLINT(cert-err34-c)
		n = open = 0;
	for (uint32_t i = 0; i < orphans.n; i++) {
		if (!orphans.v[i].done && orphans.v[i].via == s)
			count++;
	}
	orphans.terminated += n;
	if (open > n)
		log_msg(
		    LOG_WARNING, s->pool->cfg->name, s->index,
		    "%u backend(s) left by the previous broker are still open under another user "
		    "or application_name: not terminated (check pg_stat_activity)",
		    open - n);
	log_msg(LOG_INFO, s->pool->cfg->name, s->index,
	        "terminated %u of %u backend(s) left by the previous broker (the others were gone "
	        "already)",
	        n, count);
	for (uint32_t i = 0; i < orphans.n; i++) {
		if (!orphans.v[i].done && orphans.v[i].via == s)
			orphan_finish(&orphans.v[i]);
	}
	orphan_check_all_done();
	pool_offer(s);
}

/* An IDLE connection of p taken for the broker's own query, or NULL. */
static struct server *orphan_take_connection(struct pool *p)
{
	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];
		if (s->phase == SERVER_READY &&
		    server_hold(s, pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen)) == 0)
			return s;
	}
	return NULL;
}

/* The application_name its backends carry: the dsn's, else the broker's fallback. */
static const char *orphan_app_name(const struct pool *p)
{
	const char *v = "pgpool-broker";

	for (uint32_t i = 0; i < p->cfg->npairs; i++) {
		if (strcmp(p->cfg->pairs[i].key, "application_name") == 0)
			v = p->cfg->pairs[i].value;
	}
	return v;
}

/* Our own backends are never in the list (a pid PostgreSQL reused for one of them). */
static bool orphan_is_ours(int32_t pid)
{
	for (uint32_t i = 0; i < broker.nservers; i++) {
		if (broker.servers[i].phase != SERVER_EMPTY && broker.servers[i].backend_pid == pid)
			return true;
	}
	return false;
}

static void orphan_terminate(struct pool *p, uint64_t now)
{
	static const char *const replies[] = {"SELECT 1", NULL};
	char sql[1536], app[160];
	struct server *s = NULL;
	size_t len;
	uint32_t batch = 0;
	const char *a;

	/* The name comes from our own config; quote it as a literal anyway. */
	a = orphan_app_name(p);
	len = 0;
	for (; *a && len + 3 < sizeof(app); a++) {
		if (*a == '\'')
			app[len++] = '\'';
		app[len++] = *a;
	}
	app[len] = '\0';
	/* "terminated/still open": only the pool's user's backends with its application_name are
	 * terminated; any other pid of the list still open is reported, not touched. */
	len = (size_t)snprintf(sql, sizeof(sql),
	                       "SELECT coalesce(sum(CASE WHEN usename = current_user AND "
	                       "application_name = '%s' AND backend_type = 'client backend' THEN "
	                       "pg_terminate_backend(pid)::int ELSE 0 END), 0) || '/' || count(*) "
	                       "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND pid IN (",
	                       app);
	for (uint32_t i = 0; i < orphans.n && batch < ORPHAN_PER_QUERY && len < sizeof(sql) - 16;
	     i++) {
		struct orphan *o = &orphans.v[i];
		if (o->done || o->via || strcmp(o->pool, p->cfg->name) != 0 ||
		    !orphan_ready(o, now))
			continue;
		if (orphan_is_ours(o->pid)) {
			orphan_finish(o);
			continue;
		}
		if (!s && !(s = orphan_take_connection(p)))
			return; /* none idle now: pool_fill brings one, the next tick retries */
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%d", batch ? "," : "",
		                        (int)o->pid);
		o->via = s;
		o->via_gen = s->gen;
		batch++;
	}
	if (!s)
		return;
	snprintf(sql + len, sizeof(sql) - len, ")");
	reset_query(s, sql, replies, PGP_ARRAY_LEN(replies), "orphan cleanup", false, orphan_done);
}

void orphan_tick(void)
{
	uint64_t now = pgp_now_us();

	if (orphans.left == 0 || broker.state != BROKER_RUNNING)
		return;
	for (uint32_t i = 0; i < orphans.n; i++) {
		struct orphan *o = &orphans.v[i];
		struct server *v = o->via;

		/* A query that failed discarded its connection: try again on another. */
		if (!o->done && v && (v->phase != SERVER_BUSY || v->gen != o->via_gen))
			o->via = NULL;
		if (!o->done && !o->via && !pool_by_name(o->pool)) {
			log_warn(
			    "backend pid %d of the previous broker belonged to pool \"%s\", which "
			    "is no longer configured: terminate it yourself (SELECT "
			    "pg_terminate_backend(%d))",
			    o->pid, o->pool, o->pid);
			orphan_finish(o);
		}
	}
	for (uint32_t i = 0; i < broker.npools && orphans.left > 0; i++) {
		struct pool *p = &broker.pools[i];
		if (pool_active(p) && orphan_pending(p)) {
			orphan_terminate(p, now);
			pool_fill(p);
		}
	}
	orphan_check_all_done();
}

void orphan_fini(void)
{
	orphan_unmap();
}
