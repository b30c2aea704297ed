/*
 * pool.c: connection pools: sizing, offering connections to workers, and taking slots back.
 */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "main.h"
#include "reset.h"
#include "server.h"
#include "worker.h"

#define POOL_BACKOFF_MIN_MS 1000u
#define POOL_BACKOFF_MAX_MS 30000u

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

int pool_init_all(void)
{
	const struct config *cfg = &broker.cfg;
	uint32_t total = 0, first = 0;

	for (uint32_t i = 0; i < cfg->npools; i++)
		total += cfg->pools[i].max_connections;
	broker.pools = calloc(cfg->npools, sizeof(*broker.pools));
	broker.servers = calloc(total ? total : 1, sizeof(*broker.servers));
	if (!broker.pools || !broker.servers)
		return -ENOMEM;
	broker.npools = cfg->npools;
	broker.nservers = total;
	for (uint32_t i = 0; i < cfg->npools; i++) {
		struct pool *p = &broker.pools[i];
		const struct config_pool *pc = &cfg->pools[i];
		struct pgp_shm_pool *sp = &broker.shm.pools[i];

		p->index = i;
		p->cfg = pc;
		p->shm = sp;
		p->first_slot = first;
		p->nslots = pc->max_connections;
		p->servers = &broker.servers[first];
		snprintf(sp->name, sizeof(sp->name), "%s", pc->name);
		sp->index = i;
		sp->first_slot = first;
		sp->nslots = p->nslots;
		atomic_store(&sp->max_connections, pc->max_connections);
		sp->min_connections = pc->min_connections;
		sp->mode = pc->mode;
		sp->acquire_timeout_ms = pc->acquire_timeout_ms;
		sp->query_timeout_ms = pc->query_timeout_ms;
		atomic_store(&sp->status, PGP_POOL_OPEN);
		p->attach_ok.pool = i;
		p->attach_ok.mode = pc->mode;
		p->attach_ok.acquire_timeout_ms = pc->acquire_timeout_ms;
		p->attach_ok.query_timeout_ms = pc->query_timeout_ms;
		p->attach_ok.slow_query_ms = pc->slow_query_ms;
		p->attach_ok.epoch = broker.shm.epoch;
		snprintf(p->attach_ok.shm_name, sizeof(p->attach_ok.shm_name), "%s", cfg->shm_name);
		for (uint32_t j = 0; j < p->nslots; j++) {
			struct server *s = &p->servers[j];
			s->pool = p;
			s->index = j;
			s->fd = -1;
			s->slot = &broker.shm.slots[first + j];
			s->slot->pool = i;
			atomic_store(&s->slot->word, pgp_slot_word(PGP_SLOT_EMPTY, 0, 0));
		}
		first += p->nslots;
		if (pc->sslmode_plaintext_fallback)
			POOL_LOG(
			    LOG_INFO, p,
			    "dsn asks for sslmode=prefer/allow: connecting in plaintext (a TLS "
			    "session cannot be handed to workers by fd passing)");
	}
	broker.shm.hdr->npools = cfg->npools;
	return 0;
}

void pool_fini_all(void)
{
	for (uint32_t i = 0; i < broker.npools; i++)
		loop_timer_stop(broker.loop, &broker.pools[i].backoff_timer);
	free(broker.servers);
	free(broker.pools);
	broker.servers = NULL;
	broker.pools = NULL;
	broker.nservers = 0;
	broker.npools = 0;
}

struct pool *pool_by_name(const char *name)
{
	for (uint32_t i = 0; i < broker.npools; i++) {
		if (strcmp(broker.pools[i].cfg->name, name) == 0)
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

static void pool_backoff_fired(void *ctx, struct loop_timer *t)
{
	(void)t;
	pool_fill(ctx);
}

void pool_fill(struct pool *p)
{
	uint32_t c[8], live, idle, connecting, waiting, want, room;
	uint64_t now = pgp_now_us();

	if (broker.state != BROKER_RUNNING && broker.state != BROKER_STARTING)
		return;
	if (now < p->next_attempt_us) {
		if (!p->backoff_timer.armed)
			loop_timer_start(broker.loop, &p->backoff_timer, p->next_attempt_us - now,
			                 pool_backoff_fired, p);
		return;
	}
	pool_count(p, c);
	live = p->nslots - c[PGP_SLOT_EMPTY];
	idle = c[PGP_SLOT_IDLE];
	connecting = c[PGP_SLOT_CONNECTING];
	/* `waiting` is written by workers: a bogus value is bounded by the pool size. */
	waiting = atomic_load(&p->shm->waiting);
	if (waiting > p->nslots)
		waiting = p->nslots;
	want = p->cfg->min_connections > live ? p->cfg->min_connections - live : 0;
	if (waiting > idle + connecting && waiting - idle - connecting > want)
		want = waiting - idle - connecting;
	/* While the backend refuses us, probe with one connection at a time. */
	if (p->failures > 0)
		want = connecting ? 0 : (want ? 1 : 0);
	room = p->nslots - live;
	if (want > room)
		want = room;
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

	if (p->have_params || broker.state != BROKER_RUNNING)
		return;
	pool_count(p, c);
	/* One connection on its way is enough; during backoff the retry timer brings one. */
	if (c[PGP_SLOT_CONNECTING] > 0 || pgp_now_us() < p->next_attempt_us)
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
		if (!broker.pools[i].prefill_done)
			return false;
	}
	return true;
}

static void pool_capture_params(struct pool *p, PGconn *conn)
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
}

static void pool_clear_slot(struct pgp_shm_slot *slot)
{
	for (uint32_t i = 0; i < PGP_SLOT_STMTS; i++) {
		atomic_store(&slot->stmts[i].hash, 0);
		atomic_store(&slot->stmts[i].last_used, 0);
	}
	atomic_store(&slot->nstmts, 0);
	atomic_store(&slot->flags, 0);
}

void pool_server_connected(struct server *s)
{
	struct pool *p = s->pool;
	uint32_t c[8];

	p->failures = 0;
	p->next_attempt_us = 0;
	loop_timer_stop(broker.loop, &p->backoff_timer);
	if (!p->have_params) {
		pool_capture_params(p, s->conn);
		worker_pool_ready(p);
	}
	pool_clear_slot(s->slot);
	pool_offer(s);
	if (!p->prefill_done) {
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

void pool_server_connect_failed(struct server *s)
{
	struct pool *p = s->pool;
	uint32_t shift = p->failures < 5 ? p->failures : 5;
	uint64_t ms = (uint64_t)POOL_BACKOFF_MIN_MS << shift;

	p->failures++;
	if (ms > POOL_BACKOFF_MAX_MS)
		ms = POOL_BACKOFF_MAX_MS;
	/* +-25% jitter so pools (and brokers) do not retry in lockstep. */
	ms = ms * 3 / 4 + (uint64_t)random() % (ms / 2 + 1);
	if (ms > POOL_BACKOFF_MAX_MS)
		ms = POOL_BACKOFF_MAX_MS;
	p->next_attempt_us = pgp_now_us() + ms * 1000u;
	loop_timer_start(broker.loop, &p->backoff_timer, ms * 1000u, pool_backoff_fired, p);
	POOL_LOG(LOG_INFO, p, "next connection attempt in %.1f s (%u consecutive failure(s))",
	         (double)ms / 1000.0, p->failures);
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
	/* A discarded backend is replaced in its own slot, so a broken connection does not
	 * shrink the pool (backoff still applies if the server refuses us). */
	if (was_connected && discarded && pgp_now_us() >= p->next_attempt_us &&
	    server_connect(s) < 0)
		POOL_LOG(LOG_DEBUG, p, "replacement connection failed at once");
	pool_fill(p);
}

void pool_offer(struct server *s)
{
	struct pool *p = s->pool;
	uint64_t held = server_held_word(s);
	int rc;

	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED) {
		server_close(s, false, "broker shutting down");
		return;
	}
	atomic_store(&s->slot->proto_pos, PGP_POS_CLEAN);
	atomic_store(&s->slot->txn_status, (uint32_t)PGP_TXN_IDLE);
	atomic_store(&s->slot->owner_pid, 0);
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
	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED) {
		server_close(s, pos != PGP_POS_CLEAN, "lease of a gone worker during shutdown");
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
	if (broker.state == BROKER_STOPPING || broker.state == BROKER_STOPPED) {
		server_close(s, pos != PGP_POS_CLEAN, "returned for reset during shutdown");
		return;
	}
	if (pos != PGP_POS_CLEAN || !pool_txn_valid(txn)) {
		server_close(s, true, "returned for reset, but not at a clean boundary");
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
	uint64_t w = atomic_load(&s->slot->word);
	uint32_t st = pgp_slot_word_state(w);
	uint32_t owner = pgp_slot_word_owner(w);

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
		if (broker.state == BROKER_STOPPING) {
			if (server_hold(s, w) == 0)
				server_close(s, false, "broker shutting down");
			return;
		}
		server_watch_idle(s);
		return;
	case PGP_SLOT_LEASED:
		if (!worker_owner_valid(owner, s->pool->index))
			pool_reclaim(s, w);
		return;
	case PGP_SLOT_DISCARD:
	case PGP_SLOT_RESET:
		pool_take_returned(s, w);
		return;
	}
}
