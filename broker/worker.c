/*
 * worker.c: the control socket: accept, per-connection attachment ids, message dispatch, and
 * lease reclaim when a connection closes.
 */
#include "worker.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "access.h"
#include "cancel.h"
#include "log.h"
#include "pgp_ctl.h"
#include "pgp_dsn.h"
#include "pool.h"
#include "server.h"
#include "unixsock.h"

#define WORKER_BUCKETS      4096u /* power of two */
#define WORKER_BACKLOG      1024
#define WORKER_ACCEPT_RETRY 100000u /* us */

static void worker_recv_arm(struct worker_conn *c);

/* ---- attachment ids ---- */

static struct worker_conn **worker_bucket(uint32_t id)
{
	return &broker.conn_by_id[id & (WORKER_BUCKETS - 1)];
}

static struct worker_conn *worker_by_id(uint32_t id)
{
	if (!broker.conn_by_id || id == 0)
		return NULL;
	for (struct worker_conn *c = *worker_bucket(id); c; c = c->hnext) {
		if (c->attach_id == id)
			return c;
	}
	return NULL;
}

/* Next free 24-bit id; ids go round all 16M values before one is reused, so a slot word naming
 * a gone connection is not mistaken for a new one. */
static uint32_t worker_new_id(void)
{
	for (uint32_t tries = 0; tries < PGP_ATTACH_ID_MAX; tries++) {
		uint32_t id = broker.next_attach_id =
		    (broker.next_attach_id + 1) & PGP_ATTACH_ID_MAX;
		if (id != 0 && !worker_by_id(id))
			return id;
	}
	return 0;
}

bool worker_owner_valid(uint32_t attach_id, uint32_t pool)
{
	struct worker_conn *c = worker_by_id(attach_id);

	return c && pool < 64 && (c->auth_pools & (1ull << pool));
}

/* ---- sending ---- */

static void worker_close(struct worker_conn *c, const char *why);
static void worker_attach_wait_end(struct worker_conn *c);

static void worker_sent(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct worker_conn *c = ctx;

	for (size_t i = 0; i < PGP_ARRAY_LEN(c->sends); i++) {
		if (c->sends[i] == req)
			c->sends[i] = NULL;
	}
	if (r->res < 0) {
		char why[96];
		snprintf(why, sizeof(why), "send failed: %s", strerror(-r->res));
		worker_close(c, why);
	}
}

/* Queue a reply; a worker that lets replies pile up unread is cut off. */
static int worker_send(struct worker_conn *c, const void *buf, int len, int pass_fd)
{
	size_t i;

	if (len < 0)
		return len;
	for (i = 0; i < PGP_ARRAY_LEN(c->sends); i++) {
		if (!c->sends[i])
			break;
	}
	if (i == PGP_ARRAY_LEN(c->sends))
		return -ENOBUFS;
	c->sends[i] = loop_send(broker.loop, c->fd, buf, (size_t)len, pass_fd, worker_sent, c);
	return c->sends[i] ? 0 : -errno;
}

static int worker_error(struct worker_conn *c, uint32_t seq, const char *sqlstate, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static int worker_error(struct worker_conn *c, uint32_t seq, const char *sqlstate, const char *fmt,
                        ...)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return worker_send(c, buf, pgp_ctl_encode_error(buf, seq, sqlstate, "%s", msg), -1);
}

/* ---- closing ---- */

static void worker_reclaim(struct worker_conn *c)
{
	for (uint32_t i = 0; i < broker.npools; i++) {
		struct pool *p = &broker.pools[i];
		for (uint32_t j = 0; j < p->nslots; j++) {
			struct server *s = &p->servers[j];
			uint64_t w = atomic_load(&s->slot->word);
			if (pgp_slot_word_state(w) == PGP_SLOT_LEASED &&
			    pgp_slot_word_owner(w) == c->attach_id && s->phase == SERVER_READY &&
			    pgp_slot_word_gen(w) == s->gen)
				pool_reclaim(s, w);
		}
		(void)pgp_pool_cancel_waiters(&broker.shm, p->shm, c->attach_id);
	}
}

static void worker_close(struct worker_conn *c, const char *why)
{
	struct worker_conn **b = worker_bucket(c->attach_id);

	loop_cancel(broker.loop, c->recv_req);
	c->recv_req = NULL;
	for (size_t i = 0; i < PGP_ARRAY_LEN(c->sends); i++) {
		loop_cancel(broker.loop, c->sends[i]);
		c->sends[i] = NULL;
	}
	worker_attach_wait_end(c);
	loop_timer_stop(broker.loop, &c->auth_timer);
	free(c->auth_deferred);
	c->auth_deferred = NULL;
	for (; *b; b = &(*b)->hnext) {
		if (*b == c) {
			*b = c->hnext;
			break;
		}
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		broker.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	broker.nconns--;
	log_debug("worker pid=%d attach id %u disconnected: %s", (int)c->pid, c->attach_id, why);
	/* The id is no longer live: every lease and waiter cell of it is taken back now. */
	worker_reclaim(c);
	loop_close_fd(broker.loop, c->fd);
	free(c);
}

void worker_close_all(void)
{
	while (broker.conns)
		worker_close(broker.conns, "broker shutting down");
	free(broker.conn_by_id);
	broker.conn_by_id = NULL;
}

/* ---- ATTACH ---- */

/*
 * The longest an ATTACH waits for its pool's first backend: acquire_timeout, but never as long as
 * pgpool.broker_timeout's default (5 s): a worker that gives up first reports "broker did not
 * answer", which blames a broker that is alive instead of the database that is not.
 */
#define WORKER_ATTACH_WAIT_MAX_MS 4000u

static uint32_t worker_attach_wait_ms(const struct pool *p)
{
	uint32_t ms = p->cfg->acquire_timeout_ms;

	return ms < WORKER_ATTACH_WAIT_MAX_MS ? ms : WORKER_ATTACH_WAIT_MAX_MS;
}

static int worker_attach_reply(struct worker_conn *c, struct pool *p, uint32_t seq)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct pgp_ctl_attach_ok ok = p->attach_ok;

	ok.attach_id = c->attach_id;
	return worker_send(c, buf, pgp_ctl_encode(buf, PGP_CTL_ATTACH_OK, seq, &ok, sizeof(ok)),
	                   -1);
}

/* The ATTACH of c no longer waits for its pool's first backend (answered, or c is closing). */
static void worker_attach_wait_end(struct worker_conn *c)
{
	struct pool *p;

	if (!c->attach_waiting)
		return;
	c->attach_waiting = false;
	loop_timer_stop(broker.loop, &c->attach_timer);
	p = c->attach_pool < broker.npools ? &broker.pools[c->attach_pool] : NULL;
	if (p && p->attach_waiters > 0)
		p->attach_waiters--;
}

/* 08006 for an ATTACH to a pool whose circuit is open, with the same text a lease gets. */
static int worker_attach_circuit_error(struct worker_conn *c, const struct pool *p, uint32_t seq)
{
	uint64_t since = atomic_load(&p->shm->down_since_wall_us), now = pgp_wall_us();
	time_t t = (time_t)(since / 1000000u);
	char when[32] = "an unknown time";
	struct tm tm;

	if (since && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	/* last_error is broker-written, but workers could scribble it: bounded by the precision. */
	return worker_error(
	    c, seq, "08006",
	    "pool \"%s\": PostgreSQL has been unreachable since %s (%llu s; last "
	    "error: %.200s), so the circuit breaker is open and leases fail at "
	    "once; check the database server and the broker's log (journalctl -u "
	    "pgpool-broker)",
	    p->cfg->name, when,
	    (unsigned long long)(since && now > since ? (now - since) / 1000000u : 0),
	    p->shm->last_error[0] ? p->shm->last_error : "unknown");
}

static void worker_attach_timeout(void *ctx, struct loop_timer *t)
{
	struct worker_conn *c = ctx;
	struct pool *p;
	int rc;

	(void)t;
	if (!c->attach_waiting)
		return;
	p = &broker.pools[c->attach_pool];
	worker_attach_wait_end(c);
	if (p->failures > 0) {
		/* The answer comes before the worker's own pgpool.broker_timeout gives up with a
		 * misleading "broker did not answer": say what is wrong, as a lease would. */
		log_msg(LOG_WARNING, p->cfg->name, LOG_NO_SLOT,
		        "no backend connected within %u ms of an ATTACH: answering 53300 (last "
		        "connect error: %s)",
		        worker_attach_wait_ms(p), p->shm->last_error);
		rc =
		    worker_error(c, c->attach_seq, "53300",
		                 "pool \"%s\": no connection within %u ms: the broker's attempts "
		                 "to connect to PostgreSQL are failing (last error: %.200s); check "
		                 "the database server and the broker's log",
		                 p->cfg->name, worker_attach_wait_ms(p),
		                 p->shm->last_error[0] ? p->shm->last_error : "unknown");
	} else {
		/* Authentication succeeded and a connect is merely slow: the reply carries no
		 * server parameters; leases wait or fail with the pool's own error. */
		log_msg(LOG_WARNING, p->cfg->name, LOG_NO_SLOT,
		        "no backend connected within %u ms of an ATTACH: ATTACH_OK without server "
		        "parameters",
		        worker_attach_wait_ms(p));
		rc = worker_attach_reply(c, p, c->attach_seq);
	}
	if (rc < 0)
		worker_close(c, "cannot answer ATTACH");
}

/* Answer the ATTACHes waiting for p's first backend: ATTACH_OK now that it has connected, or
 * 08006 because its circuit opened. */
static void worker_answer_waiting(struct pool *p, bool circuit_open)
{
	struct worker_conn *c = broker.conns, *next;

	for (; c && p->attach_waiters > 0; c = next) {
		next = c->next;
		if (!c->attach_waiting || c->attach_pool != p->index)
			continue;
		worker_attach_wait_end(c);
		if ((circuit_open ? worker_attach_circuit_error(c, p, c->attach_seq)
		                  : worker_attach_reply(c, p, c->attach_seq)) < 0)
			worker_close(c, "cannot answer ATTACH");
	}
}

void worker_pool_ready(struct pool *p)
{
	worker_answer_waiting(p, false);
}

void worker_pool_circuit_open(struct pool *p)
{
	worker_answer_waiting(p, true);
}

static int worker_key_part(char *dst, size_t cap, const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= cap)
		return -EINVAL;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* "main (host=... port=... dbname=... user=...), tiny (...)" without secrets. */
static void worker_list_pools(char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < broker.npools && n + 1 < cap; i++) {
		/* npools > 0 means pools was allocated (the analyzer cannot tell). */
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
		const struct config_pool *pc = broker.pools[i].cfg;
		int w;
		if (!pool_active(&broker.pools[i]))
			continue;
		w = snprintf(out + n, cap - n, "%s%s (host=%s port=%s dbname=%s user=%s)",
		             n ? ", " : "", pc->name, pc->key.host, pc->key.port, pc->key.dbname,
		             pc->key.user);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static int worker_attach(struct worker_conn *c, const pgp_ctl_msg *m);

/* The failure throttle's delay for this uid is over: run the held-back ATTACH now. */
static void worker_attach_resume(void *ctx, struct loop_timer *t)
{
	struct worker_conn *c = ctx;
	uint8_t *dg = c->auth_deferred;
	pgp_ctl_msg m;
	int rc;

	(void)t;
	c->auth_deferred = NULL;
	rc = pgp_ctl_decode(dg, c->auth_deferred_len, &m) == 0 ? worker_attach(c, &m) : -EPROTO;
	free(dg);
	if (rc < 0)
		worker_close(c, "ATTACH failed after the failure delay");
}

/* Keep a copy of the ATTACH and evaluate it after wait_us (the datagram is the loop's). */
static int worker_attach_defer(struct worker_conn *c, const pgp_ctl_msg *m, uint64_t wait_us)
{
	size_t len = sizeof(m->hdr) + m->body_len;

	c->auth_deferred = malloc(len);
	if (!c->auth_deferred)
		return -ENOMEM;
	memcpy(c->auth_deferred, m->body - sizeof(m->hdr), len);
	c->auth_deferred_len = len;
	loop_timer_start(broker.loop, &c->auth_timer, wait_us, worker_attach_resume, c);
	log_debug("worker pid=%d uid=%u: ATTACH held back %llu ms (failed password checks)",
	          (int)c->pid, (unsigned)c->uid, (unsigned long long)(wait_us / 1000));
	return 0;
}

/*
 * May this connection's peer attach to pool pc with what it sent? 1 yes; 0 when it was refused
 * (the ERROR reply is on its way) or held back by the failure throttle (answered later); < 0 to
 * close the connection.
 */
static int worker_attach_auth(struct worker_conn *c, const pgp_ctl_msg *m,
                              const pgp_ctl_attach_req *req, const struct config_pool *pc)
{
	struct access_peer peer;
	char who[300];
	uint64_t wait;

	if (access_peer_read(c->fd, &peer) < 0) {
		log_warn("worker pid=%d: SO_PEERCRED failed on ATTACH: %s", (int)c->pid,
		         strerror(errno));
		return -EIO;
	}
	if (!access_peer_allowed(&pc->allowed_uids, &pc->allowed_gids, &peer)) {
		access_peer_describe(&peer, who, sizeof(who));
		log_msg(LOG_WARNING, pc->name, LOG_NO_SLOT,
		        "worker pid=%d refused: %s is not in the pool's allowed_uids/allowed_gids",
		        (int)c->pid, who);
		return worker_error(c, m->hdr.seq, "28000",
		                    "pgpool pool \"%s\" does not admit this process (%s): add its "
		                    "user to allowed_uids or a group of it to allowed_gids in "
		                    "[pool %s] of the broker config",
		                    pc->name, who, pc->name);
	}
	if (pc->auth == ACCESS_AUTH_PEER) {
		if (req->user && req->user[0] && strcmp(req->user, pc->key.user) != 0)
			return worker_error(c, m->hdr.seq, "28000",
			                    "pgpool pool \"%s\" connects as user \"%s\", not "
			                    "\"%.64s\"",
			                    pc->name, pc->key.user, req->user);
		log_msg(LOG_DEBUG, pc->name, LOG_NO_SLOT,
		        "worker pid=%d uid=%u admitted by its credentials (auth = peer)",
		        (int)c->pid, (unsigned)c->uid);
		return 1;
	}
	/* Before anything about the password is known: a slowed-down uid waits its turn. */
	wait = access_auth_wait_us(c->uid);
	if (wait)
		return worker_attach_defer(c, m, wait);
	if (!req->user || strcmp(req->user, pc->key.user) != 0 ||
	    !(req->flags & PGP_ATTACHF_HAS_PASSWORD) || !req->password || !pc->password ||
	    !pgp_secure_equal(req->password, req->password_len, pc->password, pc->password_len)) {
		log_msg(LOG_WARNING, pc->name, LOG_NO_SLOT,
		        "authentication failed for worker pid=%d uid=%u user=\"%.64s\"",
		        (int)c->pid, (unsigned)c->uid, req->user ? req->user : "");
		access_auth_failed(c->uid, c->pid, pc->name);
		return worker_error(
		    c, m->hdr.seq, "28P01",
		    "password authentication failed for user \"%.64s\" (pgpool pool "
		    "\"%s\")",
		    req->user ? req->user : "", pc->name);
	}
	return 1;
}

static int worker_attach(struct worker_conn *c, const pgp_ctl_msg *m)
{
	pgp_ctl_attach_req req;
	struct pool *p = NULL;
	const struct config_pool *pc;
	char pools[400];
	int rc;

	if (c->attach_waiting || c->auth_deferred || pgp_ctl_decode_attach(m, &req) < 0)
		return -EPROTO;
	if (req.pid != c->pid)
		log_debug("worker pid=%d says it is pid %d (another pid namespace?)", (int)c->pid,
		          (int)req.pid);
	if (req.pool && req.pool[0]) {
		p = pool_by_name(req.pool);
		if (!p) {
			worker_list_pools(pools, sizeof(pools));
			log_info("worker pid=%d asked for unknown pool \"%s\"", (int)c->pid,
			         req.pool);
			return worker_error(c, m->hdr.seq, "08001",
			                    "pgpool has no pool named \"%.64s\"; configured pools: "
			                    "%s (check [pool NAME] in the broker config)",
			                    req.pool, pools);
		}
	} else {
		pgp_dsn_key key;
		memset(&key, 0, sizeof(key));
		if (worker_key_part(key.host, sizeof(key.host), req.host) ||
		    worker_key_part(key.port, sizeof(key.port), req.port) ||
		    worker_key_part(key.dbname, sizeof(key.dbname), req.dbname) ||
		    worker_key_part(key.user, sizeof(key.user), req.user))
			return worker_error(c, m->hdr.seq, "08001",
			                    "host, port, dbname or user is too long");
		pgp_dsn_normalize(&key);
		for (uint32_t i = 0; i < broker.npools && !p; i++) {
			if (pool_active(&broker.pools[i]) &&
			    pgp_dsn_match(&broker.pools[i].cfg->key, &key))
				p = &broker.pools[i];
		}
		if (!p) {
			worker_list_pools(pools, sizeof(pools));
			log_info(
			    "worker pid=%d asked for host=%s port=%s dbname=%s user=%s: no such "
			    "pool",
			    (int)c->pid, key.host, key.port, key.dbname, key.user);
			return worker_error(
			    c, m->hdr.seq, "08001",
			    "no pgpool pool for host=%.64s port=%.16s dbname=%.64s user=%.64s; "
			    "configured pools: %s (the DSN's host, port, dbname and user must "
			    "equal a pool's dsn, or use pgpool:pool=NAME)",
			    key.host, key.port, key.dbname, key.user, pools);
		}
	}
	pc = p->cfg;
	rc = worker_attach_auth(c, m, &req, pc);
	if (rc != 1)
		return rc;
	c->auth_pools |= 1ull << p->index;
	log_msg(LOG_INFO, pc->name, LOG_NO_SLOT, "worker pid=%d uid=%u attached (attach id %u)",
	        (int)c->pid, (unsigned)c->uid, c->attach_id);
	if (p->have_params)
		return worker_attach_reply(c, p, m->hdr.seq);
	/* No backend has connected yet. With the circuit open, say so now: leases would fail at
	 * once too, and waiting would only delay every new process. */
	if (p->circuit_open)
		return worker_attach_circuit_error(c, p, m->hdr.seq);
	/* Answer once the first backend has connected (its parameters go into ATTACH_OK); the
	 * pool counts waiting ATTACHes as demand, so it retries with its backoff meanwhile. */
	c->attach_waiting = true;
	c->attach_pool = p->index;
	c->attach_seq = m->hdr.seq;
	p->attach_waiters++;
	loop_timer_start(broker.loop, &c->attach_timer, (uint64_t)worker_attach_wait_ms(p) * 1000u,
	                 worker_attach_timeout, c);
	pool_want_params(p);
	return 0;
}

/* ---- slot requests ---- */

/* The server of the slot a FD_REQ/CANCEL names, if this connection holds it; else NULL after
 * replying with an ERROR (*rc is the send result). */
static struct server *worker_leased_slot(struct worker_conn *c, const pgp_ctl_msg *m,
                                         struct pgp_ctl_slot_ref *ref, int *rc)
{
	uint32_t seq = m->hdr.seq;
	struct pool *p;
	struct server *s;
	uint64_t w;

	memcpy(ref, m->body, sizeof(*ref));
	if (ref->pool >= broker.npools || !(c->auth_pools & (1ull << ref->pool))) {
		*rc =
		    worker_error(c, seq, "08P01",
		                 "pool index %u: this process has not attached to it (send ATTACH "
		                 "first)",
		                 ref->pool);
		return NULL;
	}
	p = &broker.pools[ref->pool];
	if (ref->slot >= p->nslots) {
		*rc = worker_error(c, seq, "08P01", "pool \"%s\" has no slot %u", p->cfg->name,
		                   ref->slot);
		return NULL;
	}
	s = &p->servers[ref->slot];
	w = atomic_load(&s->slot->word);
	if (pgp_slot_word_state(w) != PGP_SLOT_LEASED || pgp_slot_word_owner(w) != c->attach_id ||
	    pgp_slot_word_gen(w) != ref->gen || s->gen != ref->gen || s->phase != SERVER_READY ||
	    s->fd < 0) {
		*rc = worker_error(c, seq, "08003",
		                   "slot %u of pool \"%s\" is not leased by this process with "
		                   "generation %u (it was reclaimed or replaced): acquire a "
		                   "connection again",
		                   ref->slot, p->cfg->name, ref->gen);
		return NULL;
	}
	return s;
}

static int worker_fd_req(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_slot_ref ref;
	struct pgp_ctl_fd reply;
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct server *s;
	int rc = 0;

	s = worker_leased_slot(c, m, &ref, &rc);
	if (!s)
		return rc;
	reply.pool = ref.pool;
	reply.slot = ref.slot;
	reply.gen = s->gen;
	reply.backend_pid = s->backend_pid;
	rc = worker_send(c, buf, pgp_ctl_encode(buf, PGP_CTL_FD, m->hdr.seq, &reply, sizeof(reply)),
	                 s->fd);
	if (rc == 0) {
		atomic_fetch_add(&s->pool->shm->fd_transfers, 1);
		log_msg(LOG_DEBUG, s->pool->cfg->name, s->index, "fd passed to worker pid=%d",
		        (int)c->pid);
	}
	return rc;
}

static int worker_cancel(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_slot_ref ref;
	struct server *s;
	int rc = 0;

	s = worker_leased_slot(c, m, &ref, &rc);
	if (!s)
		return rc;
	rc = cancel_submit(s, CANCEL_FOR_WORKER, c->attach_id, m->hdr.seq);
	if (rc < 0)
		return worker_error(c, m->hdr.seq, "08006", "cannot queue the cancel request: %s",
		                    strerror(-rc));
	log_msg(LOG_DEBUG, s->pool->cfg->name, s->index, "cancel requested by worker pid=%d",
	        (int)c->pid);
	return 0;
}

void worker_cancel_done(uint32_t attach_id, uint32_t seq, int rc, const char *err)
{
	struct worker_conn *c = worker_by_id(attach_id);
	uint8_t buf[PGP_CTL_MSG_MAX];
	int r;

	if (!c)
		return;
	if (rc == 0)
		r = worker_send(c, buf, pgp_ctl_encode(buf, PGP_CTL_CANCEL_DONE, seq, NULL, 0), -1);
	else
		r = worker_error(c, seq, "08006", "cancel request failed: %.400s", err);
	if (r < 0)
		worker_close(c, "cannot send the cancel reply");
}

static int worker_ping(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_pong pong;
	uint8_t buf[PGP_CTL_MSG_MAX];

	memset(&pong, 0, sizeof(pong));
	pong.epoch = broker.shm.epoch;
	snprintf(pong.shm_name, sizeof(pong.shm_name), "%s", broker.cfg.shm_name);
	pong.broker_pid = (int32_t)getpid();
	return worker_send(c, buf,
	                   pgp_ctl_encode(buf, PGP_CTL_PONG, m->hdr.seq, &pong, sizeof(pong)), -1);
}

static void worker_grow(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_grow g;

	memcpy(&g, m->body, sizeof(g));
	if (g.pool >= broker.npools || !(c->auth_pools & (1ull << g.pool)))
		return;
	pool_fill(&broker.pools[g.pool]);
}

static void worker_returned(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_slot_ref ref;
	struct pool *p;
	struct server *s;
	uint64_t w;
	uint32_t st;

	memcpy(&ref, m->body, sizeof(ref));
	if (ref.pool >= broker.npools || !(c->auth_pools & (1ull << ref.pool)))
		return;
	p = &broker.pools[ref.pool];
	if (ref.slot >= p->nslots)
		return;
	s = &p->servers[ref.slot];
	w = atomic_load(&s->slot->word);
	st = pgp_slot_word_state(w);
	/* Anything else is stale or a lie; the janitor looks at every slot anyway. */
	if ((st == PGP_SLOT_DISCARD || st == PGP_SLOT_RESET) && pgp_slot_word_gen(w) == s->gen &&
	    s->phase == SERVER_READY)
		pool_take_returned(s, w);
}

static void worker_slow_query(struct worker_conn *c, const pgp_ctl_msg *m)
{
	struct pgp_ctl_slow_query q;
	const char *sql = (const char *)m->body + sizeof(q);

	memcpy(&q, m->body, sizeof(q));
	if (q.pool >= broker.npools || !(c->auth_pools & (1ull << q.pool)))
		return;
	/* pgp_ctl_decode checked that sql_len bytes and a NUL follow the fixed part. */
	log_msg(LOG_WARNING, broker.pools[q.pool].cfg->name, LOG_NO_SLOT,
	        "slow query: %u ms, worker pid=%d: %.500s", q.duration_ms, (int)c->pid, sql);
}

/* Handle one decoded message. Negative: close the connection. */
static int worker_dispatch(struct worker_conn *c, const pgp_ctl_msg *m)
{
	switch (m->hdr.type) {
	case PGP_CTL_ATTACH:
		return worker_attach(c, m);
	case PGP_CTL_FD_REQ:
		return worker_fd_req(c, m);
	case PGP_CTL_CANCEL:
		return worker_cancel(c, m);
	case PGP_CTL_PING:
		return worker_ping(c, m);
	case PGP_CTL_GROW:
		worker_grow(c, m);
		return 0;
	case PGP_CTL_RETURNED:
		worker_returned(c, m);
		return 0;
	case PGP_CTL_SLOW_QUERY:
		worker_slow_query(c, m);
		return 0;
	default:
		/* Replies travel the other way only. */
		return -EPROTO;
	}
}

static void worker_recv_done(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct worker_conn *c = ctx;
	pgp_ctl_msg m;
	char why[96];
	int rc;

	(void)req;
	c->recv_req = NULL;
	if (r->res == 0) {
		worker_close(c, "connection closed");
		return;
	}
	if (r->res < 0) {
		snprintf(why, sizeof(why), "receive failed: %s", strerror(-r->res));
		worker_close(c, why);
		return;
	}
	if (pgp_ctl_decode(r->data, (size_t)r->res, &m) < 0) {
		log_warn("worker pid=%d attach id %u sent a malformed control message (%d bytes): "
		         "closing its connection",
		         (int)c->pid, c->attach_id, r->res);
		worker_close(c, "malformed message");
		return;
	}
	rc = worker_dispatch(c, &m);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s (message type %u)",
		         rc == -EPROTO ? "protocol violation" : strerror(-rc), m.hdr.type);
		if (rc == -EPROTO)
			log_warn("worker pid=%d attach id %u: %s: closing its connection",
			         (int)c->pid, c->attach_id, why);
		worker_close(c, why);
		return;
	}
	worker_recv_arm(c);
}

static void worker_recv_arm(struct worker_conn *c)
{
	c->recv_req = loop_recv(broker.loop, c->fd, PGP_CTL_MSG_MAX, worker_recv_done, c);
	if (!c->recv_req)
		worker_close(c, "cannot receive");
}

/* ---- accepting ---- */

static void worker_accept_arm(void);

static void worker_accept_retry(void *ctx, struct loop_timer *t)
{
	(void)ctx;
	(void)t;
	worker_accept_arm();
}

static void worker_accepted(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct worker_conn *c;
	struct worker_conn **b;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED failed: %s", strerror(errno));
		loop_close_fd(broker.loop, fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->attach_id = worker_new_id())) {
		log_warn("cannot take a new worker connection: %s", c ? "no free id" : "no memory");
		free(c);
		loop_close_fd(broker.loop, fd);
		return;
	}
	c->fd = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	b = worker_bucket(c->attach_id);
	c->hnext = *b;
	*b = c;
	c->next = broker.conns;
	if (broker.conns)
		broker.conns->prev = c;
	broker.conns = c;
	broker.nconns++;
	log_debug("worker pid=%d uid=%u gid=%u connected (attach id %u)", (int)c->pid,
	          (unsigned)c->uid, (unsigned)c->gid, c->attach_id);
	worker_recv_arm(c);
}

static void worker_accept_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	(void)ctx;
	(void)req;
	if (!r->more)
		broker.accept_req = NULL;
	if (r->res >= 0)
		worker_accepted(r->res);
	else if (r->res != -ECANCELED)
		log_warn("accept on the control socket failed: %s", strerror(-r->res));
	if (!r->more && broker.listen_fd >= 0) {
		if (r->res >= 0)
			worker_accept_arm();
		else
			loop_timer_start(broker.loop, &broker.accept_retry, WORKER_ACCEPT_RETRY,
			                 worker_accept_retry, NULL);
	}
}

static void worker_accept_arm(void)
{
	if (broker.listen_fd < 0 || broker.accept_req)
		return;
	broker.accept_req = loop_accept(broker.loop, broker.listen_fd, worker_accept_event, NULL);
	if (!broker.accept_req)
		loop_timer_start(broker.loop, &broker.accept_retry, WORKER_ACCEPT_RETRY,
		                 worker_accept_retry, NULL);
}

int worker_listen(void)
{
	const char *path = broker.cfg.socket;
	int fd;

	/* Kept when a cancelled shutdown listens again (pgpool-cli shutdown cancel): the
	 * connections that stayed open remain known. */
	if (!broker.conn_by_id)
		/* An array of pointers: the size of one pointer is right. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		broker.conn_by_id = calloc(WORKER_BUCKETS, sizeof(*broker.conn_by_id));
	if (!broker.conn_by_id)
		return -ENOMEM;
	fd = unixsock_listen(path, SOCK_SEQPACKET, broker.cfg.socket_mode,
	                     broker.cfg.has_socket_group ? &broker.cfg.socket_gid : NULL,
	                     WORKER_BACKLOG, "control socket");
	if (fd < 0)
		return fd;
	broker.listen_fd = fd;
	worker_accept_arm();
	log_info("listening on %s (mode %04o%s%s)", path, (unsigned)broker.cfg.socket_mode,
	         broker.cfg.has_socket_group ? ", group " : "",
	         broker.cfg.has_socket_group ? broker.cfg.socket_group : "");
	return 0;
}

void worker_stop_listening(void)
{
	if (broker.listen_fd < 0)
		return;
	loop_timer_stop(broker.loop, &broker.accept_retry);
	loop_cancel(broker.loop, broker.accept_req);
	broker.accept_req = NULL;
	loop_close_fd(broker.loop, broker.listen_fd);
	broker.listen_fd = -1;
	if (unlink(broker.cfg.socket) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", broker.cfg.socket, strerror(errno));
}
