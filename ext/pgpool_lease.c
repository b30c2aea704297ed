/*
 * pgpool_lease.c: leases of backend connections (see pgpool_lease.h).
 *
 * Fast path, when this process already holds the fd of the slot it gets: a freshness check of
 * the broker (two loads and a clock read from the vDSO), one CAS on the slot word to take it and
 * one to give it back, plus a few relaxed stores and counter increments. No allocation and no
 * syscall. Everything else (first use of a backend, waiting, a restarted broker, a fork) is a slow
 * path kept out of line.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pgp_proto.h"
#include "pgpool_proc.h"

static pgpool_proc *const proc = &pgpool_proc_g;

struct acquire_ctx {
	pgpool_pool *pool;
	const pgpool_map *map;
	bool watch_broker; /* the broker looked alive when the wait began */
	bool broker_stale; /* the wait ended because it stopped looking alive */
};

/* Outcome of acquire_wait() asking the caller to check the broker and try again. */
#define ACQUIRE_RECHECK (-2)

/* Ask the broker for another connection only when the pool can still grow: at max_connections a
 * GROW per wait would only cost the broker a wakeup (measured: 2.6 recvmsg per request). */
static void on_enqueued(void *ctx)
{
	struct acquire_ctx *a = ctx;

	if (pgp_pool_can_grow(&a->map->shm, pgpool_priv(a->pool)->shm_pool)) {
		pgpool_proc_notify_grow(a->pool);
	}
}

/* Polled after every wakeup of a wait: PHP's time limit, or a broker that died while we wait
 * (nobody may ever release into its segment again). */
static bool interrupted(void *c)
{
	struct acquire_ctx *ctx = c;

	if (pgpool_cfg_interrupted()) {
		return true;
	}
	if (ctx->watch_broker && !pgpool_map_fresh(ctx->map, pgp_now_us())) {
		ctx->broker_stale = true;
		return true;
	}
	return false;
}

/* Give a leased slot back; -ESTALE means the broker reclaimed it meanwhile, which leaves nothing
 * to give back. 1: the broker wants this backend retired and has it now: tell it at once, so the
 * waiters the release did not serve get its replacement without waiting for the janitor. */
static void slot_give_back(pgpool_pool *pool, pgp_shm *shm, struct pgp_shm_pool *sp, uint32_t slot,
                           uint32_t aid, uint32_t gen)
{
	if (PGP_UNLIKELY(pgp_pool_release(shm, sp, slot, aid, gen) == 1)) {
		pgpool_proc_notify_returned(pool, slot, gen, PGP_SLOT_RESET);
	}
}

/* A lease taken from the current mapping (not from before a broker restart or a fork). */
static inline bool lease_current(const pgpool_lease *l)
{
	const pgpool_map *m = proc->map;
	return PGP_LIKELY(m && pgpool_priv((pgpool_pool *)l->pool)->shm_pool &&
	                  pgpool_map_holds(m, l->shm_slot));
}

static void lease_clear(pgpool_lease *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

void pgpool_pool_last_error(const struct pgp_shm_pool *sp, char *out, size_t cap)
{
	out[0] = '\0';
	if (cap == 0) {
		return;
	}
	/* The broker makes the sequence odd while it rewrites the text: copy between two equal
	 * even readings, or give up (the message is only for humans). */
	for (int tries = 0; tries < 4; tries++) {
		uint32_t seq = atomic_load(&sp->last_error_seq);
		if (seq & 1u) {
			continue;
		}
		size_t n = strnlen(sp->last_error, sizeof(sp->last_error));
		if (n >= cap) {
			n = cap - 1;
		}
		memcpy(out, sp->last_error, n);
		out[n] = '\0';
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load(&sp->last_error_seq) == seq) {
			return;
		}
	}
	out[0] = '\0';
}

static void err_pool_status(const pgpool_pool *pool, const pgpool_map *m,
                            const struct pgp_shm_pool *sp, uint32_t status, pgpool_err *err)
{
	if (atomic_load(&m->shm.hdr->state) != PGP_SHM_RUNNING) {
		/* main_stop() disables every pool: say why, not "disabled by an administrator". */
		pgpool_err_set(
		    err, "08004",
		    "pool \"%s\": pgpool-broker is shutting down and takes no new leases; "
		    "retry once it is back (systemctl status pgpool-broker)",
		    pool->name);
		return;
	}
	switch (status) {
	case PGP_POOL_CIRCUIT_OPEN: {
		uint64_t since = atomic_load(&sp->down_since_wall_us), now = pgp_wall_us();
		time_t t = (time_t)(since / 1000000u);
		char when[32] = "an unknown time", last[200];
		struct tm tm;
		if (since && gmtime_r(&t, &tm)) {
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		}
		pgpool_pool_last_error(sp, last, sizeof(last));
		pgpool_err_set(
		    err, "08006",
		    "pool \"%s\": PostgreSQL has been unreachable since %s (%llu s; last error: "
		    "%s), "
		    "so the circuit breaker is open and leases fail at once; check the database "
		    "server and the broker's log (journalctl -u pgpool-broker)",
		    pool->name, when,
		    (unsigned long long)(since && now > since ? (now - since) / 1000000u : 0),
		    last[0] ? last : "unknown");
		break;
	}
	case PGP_POOL_DISABLED:
		pgpool_err_set(err, "08004",
		               "pool \"%s\" is disabled by an administrator (pgpool-cli enable %s)",
		               pool->name, pool->name);
		break;
	case PGP_POOL_DRAINING:
		pgpool_err_set(err, "08004",
		               "pool \"%s\" was removed from pgpool-broker's configuration and is "
		               "draining; check the broker's config",
		               pool->name);
		break;
	case PGP_POOL_CLOSED:
		/* A worker that attached before the reload keeps its handle after the drain ends.
		 */
		pgpool_err_set(err, "08004",
		               "pool \"%s\" was removed from pgpool-broker's configuration and is "
		               "closed; check the broker's config",
		               pool->name);
		break;
	default:
		pgpool_err_set(err, "08006", "pool \"%s\" is not accepting leases (status %u)",
		               pool->name, status);
		break;
	}
}

/*
 * 53300 after acquire_timeout. "All connections busy" is only true when the pool is full: while
 * the broker's attempts to open connections fail (too many clients on the server, a database at
 * its connection limit, before the circuit breaker opens), the wait is the server's doing, and
 * the message says so with the broker's last connect error instead of advising more
 * max_connections.
 */
static void err_acquire_timeout(const pgpool_pool *pool, const pgpool_map *m,
                                const struct pgp_shm_pool *sp, uint64_t connect_failures_before,
                                uint32_t waited_us, pgpool_err *err)
{
	uint32_t states[8], max = atomic_load(&sp->max_connections), open;
	char last[200];

	pgp_pool_count_states(&m->shm, sp, states);
	open = states[PGP_SLOT_IDLE] + states[PGP_SLOT_LEASED] + states[PGP_SLOT_BUSY] +
	       states[PGP_SLOT_RESET];
	if (open < max && atomic_load(&sp->connect_failures) != connect_failures_before) {
		pgpool_pool_last_error(sp, last, sizeof(last));
		pgpool_err_set(
		    err, "53300",
		    "pool \"%s\": no connection within %u ms (acquire_timeout): only %u of "
		    "%u connections are open and the broker's attempts to open more are "
		    "failing (last error: %s); check the database server and the broker's "
		    "log",
		    pool->name, waited_us / 1000u, open, max, last[0] ? last : "unknown");
		return;
	}
	pgpool_err_set(err, "53300",
	               "pool \"%s\" exhausted: all %u connections busy, waited %u ms "
	               "(acquire_timeout); raise max_connections or shorten transactions",
	               pool->name, max, waited_us / 1000u);
}

/* No idle slot (or the pool is not open): wait in the FIFO ring until *deadline (set from
 * acquire_timeout by the first wait of an acquire). Slot index, -1 with *err filled, or
 * ACQUIRE_RECHECK when the broker stopped looking alive during the wait. */
static int acquire_wait(pgpool_pool_priv *p, pgpool_map *m, int rc, uint32_t status,
                        uint64_t *deadline, uint32_t *gen, uint32_t *waited_us, pgpool_err *err)
{
	struct pgp_shm_pool *sp = p->shm_pool;
	uint32_t timeout_ms =
	    sp->acquire_timeout_ms ? sp->acquire_timeout_ms : p->pub.acquire_timeout_ms;
	uint64_t t0 = pgp_now_us();
	uint64_t connect_failures = atomic_load(&sp->connect_failures);
	struct acquire_ctx ctx = {
	    .pool = &p->pub,
	    .map = m,
	    .watch_broker = pgpool_map_fresh(m, t0),
	};

	if (*deadline == 0) {
		*deadline = t0 + (uint64_t)timeout_ms * 1000u;
	}
	if (rc == -EAGAIN || (rc == -EPERM && status == PGP_POOL_PAUSED)) {
		rc = pgp_pool_acquire(&m->shm, sp, p->pub.info.attach_id, proc->pid, p->pub.gens,
		                      *deadline > t0 ? *deadline - t0 : 0, gen, on_enqueued,
		                      interrupted, &ctx, &status);
	}
	*waited_us += (uint32_t)(pgp_now_us() - t0);
	if (rc >= 0) {
		return rc;
	}
	if (rc == -EINTR && ctx.broker_stale) {
		return ACQUIRE_RECHECK;
	}
	pgp_pool_count_error(sp, rc == -ETIMEDOUT ? PGP_ERR_ACQUIRE_TIMEOUT
	                         : rc == -EINTR   ? PGP_ERR_ACQUIRE_CANCELED
	                         : rc == -EPERM   ? PGP_ERR_POOL_UNAVAILABLE
	                                          : PGP_ERR_OTHER);
	switch (rc) {
	case -ETIMEDOUT:
		err_acquire_timeout(&p->pub, m, sp, connect_failures, *waited_us, err);
		break;
	case -EINTR:
		pgpool_err_set(
		    err, "57014",
		    "canceled while waiting %u ms for a connection of pool \"%s\": maximum "
		    "execution time reached",
		    *waited_us / 1000u, p->pub.name);
		break;
	case -EPERM:
		err_pool_status(&p->pub, m, sp, status, err);
		break;
	default:
		pgpool_err_set(err, "08006", "cannot lease a connection of pool \"%s\": %s",
		               p->pub.name, strerror(-rc));
		break;
	}
	return -1;
}

/* How long a validation ping may take before the connection counts as dead. */
#define LEASE_PING_TIMEOUT_US 2000000u

/* Wait for the socket to be readable until deadline: 1 ready, 0 timed out, -1 error. */
static int ping_wait(int fd, uint64_t deadline)
{
	for (;;) {
		uint64_t now = pgp_now_us();
		if (now >= deadline) {
			return 0;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)((deadline - now + 999u) / 1000u));
		if (r > 0) {
			return 1;
		}
		if (r < 0 && errno != EINTR) {
			return -1;
		}
	}
}

/*
 * validate_after_idle: one empty Query on the leased socket, expecting EmptyQueryResponse and
 * ReadyForQuery 'I' and nothing else. The protocol position is recorded as for any request, so
 * the broker can clean up if this process dies meanwhile. 0 alive, -1 dead or not answering.
 */
static int lease_ping(struct pgp_shm_slot *sl, int fd)
{
	static const uint8_t query[] = {'Q', 0, 0, 0, 5, 0}; /* Query "" */
	uint64_t deadline = pgp_now_us() + LEASE_PING_TIMEOUT_US;
	uint8_t buf[512];
	size_t have = 0;
	bool empty = false;

	atomic_store_explicit(&sl->proto_pos, PGP_POS_WRITING, memory_order_release);
	if (send(fd, query, sizeof(query), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(query)) {
		return -1;
	}
	atomic_store_explicit(&sl->proto_pos, PGP_POS_SENT, memory_order_release);
	for (;;) {
		pgp_msg m;
		size_t used;
		int k = pgp_be_next(buf, have, sizeof(buf), &m, &used);
		if (k < 0) {
			return -1;
		}
		if (k > 0) {
			char st;
			switch (m.type) {
			case PGP_BE_EMPTY_QUERY:
				empty = true;
				break;
			case PGP_BE_READY_FOR_QUERY:
				if (!empty || used != have || pgp_be_ready_for_query(&m, &st) < 0 ||
				    st != PGP_TXN_IDLE) {
					return -1;
				}
				atomic_store_explicit(&sl->proto_pos, PGP_POS_CLEAN,
				                      memory_order_release);
				return 0;
			case PGP_BE_NOTICE:
			case PGP_BE_PARAMETER_STATUS:
				break;
			default:
				return -1; /* ErrorResponse (FATAL: terminated...) or garbage */
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			if (have == 0) {
				atomic_store_explicit(&sl->proto_pos, PGP_POS_SENT,
				                      memory_order_release);
			}
			continue;
		}
		if (have == sizeof(buf) || ping_wait(fd, deadline) <= 0) {
			return -1;
		}
		atomic_store_explicit(&sl->proto_pos, PGP_POS_READING, memory_order_release);
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			return -1;
		}
		have += n > 0 ? (size_t)n : 0;
	}
}

/* Has the connection been idle longer than validate_after_idle? */
static bool lease_needs_ping(const pgpool_pool *pool, const struct pgp_shm_slot *sl, uint64_t now)
{
	uint64_t limit = (uint64_t)pool->info.validate_after_idle_ms * 1000u;
	uint64_t since = atomic_load_explicit(&sl->idle_since_us, memory_order_relaxed);

	return limit > 0 && since < now && now - since >= limit;
}

int pgpool_lease_acquire(pgpool_pool *pool, pgpool_lease *out, pgpool_err *err)
{
	pgpool_pool_priv *p = pgpool_priv(pool);
	uint64_t now = pgp_now_us();

	uint64_t deadline = 0;
	uint32_t waited_us = 0, dead = 0;
	bool refetched = false, reattached = false;

	for (;;) {
		uint32_t gen = 0, status = 0;
		bool broker_gone = false;

		if (PGP_UNLIKELY(!pgpool_proc_fresh(pool, now)) &&
		    pgpool_proc_ensure(pool, pgpool_cfg_broker_timeout_ms(), err) < 0) {
			return -1;
		}
		pgpool_map *m = proc->map;
		struct pgp_shm_pool *sp = p->shm_pool;
		uint32_t aid = pool->info.attach_id;

		int rc = pgp_pool_try_acquire(&m->shm, sp, aid, pool->gens, &gen, &status);
		/* The pool was removed by a reload and drained: if a reload added it back (perhaps
		 * in another entry), attach to it there once and try again. */
		if (PGP_UNLIKELY(rc < 0 && status == PGP_POOL_CLOSED && !reattached)) {
			reattached = true;
			if (pgpool_proc_reattach_closed(p, err) < 0) {
				return -1;
			}
			now = pgp_now_us();
			continue;
		}
		if (PGP_UNLIKELY(rc < 0)) {
			rc = acquire_wait(p, m, rc, status, &deadline, &gen, &waited_us, err);
			now = pgp_now_us();
			if (rc == ACQUIRE_RECHECK) {
				continue; /* the broker died while we waited: check, re-attach */
			}
			if (rc < 0) {
				return -1;
			}
		}
		uint32_t slot = (uint32_t)rc;
		struct pgp_shm_slot *sl = pgp_shm_pool_slot(&m->shm, sp, slot);
		if (PGP_UNLIKELY(!sl || slot >= pool->nslots)) {
			slot_give_back(pool, &m->shm, sp, slot, aid, gen);
			pgpool_err_set(err, "08006", "pool \"%s\": slot %u out of range",
			               pool->name, slot);
			return -1;
		}
		if (PGP_UNLIKELY(pool->gens[slot] != gen || pool->fds[slot] < 0)) {
			if (pgpool_proc_fetch_fd(pool, slot, gen, &broker_gone, err) < 0) {
				/* Untouched, so still clean: give it back for others. */
				slot_give_back(pool, &m->shm, sp, slot, aid, gen);
				if (broker_gone && !refetched) {
					refetched = true;
					now = pgp_now_us();
					continue; /* the broker restarted: re-attach, retry once */
				}
				pgp_pool_count_error(sp, PGP_ERR_BROKER);
				return -1;
			}
			now = pgp_now_us();
		}
		atomic_store_explicit(&sl->owner_pid, proc->pid, memory_order_relaxed);
		atomic_store_explicit(&sl->lease_start_us, now, memory_order_relaxed);
		atomic_store_explicit(&sl->proto_pos, PGP_POS_CLEAN, memory_order_relaxed);
		atomic_store_explicit(&sl->txn_status, 'I', memory_order_relaxed);
		atomic_store_explicit(&sl->flags, 0, memory_order_relaxed);
		if (PGP_UNLIKELY(lease_needs_ping(pool, sl, now)) &&
		    lease_ping(sl, pool->fds[slot]) < 0) {
			/* Dead (or silent): never handed out. The broker replaces it; try another.
			 */
			if (pgp_pool_return_to_broker(&m->shm, sp, slot, aid, gen,
			                              PGP_SLOT_DISCARD) == 0) {
				pgpool_proc_notify_returned(pool, slot, gen, PGP_SLOT_DISCARD);
			}
			pgpool_proc_forget_fd(pool, slot);
			now = pgp_now_us();
			if (++dead > pool->nslots) {
				pgp_pool_count_error(sp, PGP_ERR_BACKEND);
				pgpool_err_set(
				    err, "08006",
				    "pool \"%s\": %u connections in a row were dead when "
				    "validated (validate_after_idle); is PostgreSQL up?",
				    pool->name, dead);
				return -1;
			}
			continue;
		}
		atomic_store_explicit(&sl->leases,
		                      atomic_load_explicit(&sl->leases, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		atomic_fetch_add_explicit(&sp->acquires, 1, memory_order_relaxed);
		pgp_hist_observe(&sp->acquire_wait_hist, waited_us);
		if (waited_us) {
			atomic_fetch_add_explicit(&sp->lease_wait_us, waited_us,
			                          memory_order_relaxed);
		}
		p->leased[slot] = true;
		p->leases++;
		m->leases++;
		out->pool = pool;
		out->slot = slot;
		out->gen = gen;
		out->fd = pool->fds[slot];
		out->backend_pid = pool->backend_pids[slot];
		out->shm_slot = sl;
		out->acquired_us = now;
		out->waited_us = waited_us;
		return 0;
	}
}

/* Bookkeeping common to ending a current lease; the caller then gives the slot away. The slot's
 * owner fields are left alone: if the broker took the slot back meanwhile they belong to someone
 * else now (owner_pid means something only while LEASED; the next owner writes its own). */
static void lease_end_current(pgpool_lease *l, uint64_t now)
{
	pgpool_pool_priv *p = pgpool_priv(l->pool);

	atomic_fetch_add_explicit(&p->shm_pool->lease_us, now - l->acquired_us,
	                          memory_order_relaxed);
	pgp_hist_observe(&p->shm_pool->lease_hist, now - l->acquired_us);
	p->leased[l->slot] = false;
	proc->map->leases--;
}

void pgpool_lease_release(pgpool_lease *l)
{
	pgpool_pool *pool = l->pool;

	if (!pool) {
		return;
	}
	if (lease_current(l)) {
		uint64_t now = pgp_now_us();
		/* Last use of the backend, also when the slot goes straight to a waiter
		 * (validate_after_idle measures from here). */
		atomic_store_explicit(&l->shm_slot->idle_since_us, now, memory_order_relaxed);
		lease_end_current(l, now);
		slot_give_back(pool, &proc->map->shm, pgpool_priv(pool)->shm_pool, l->slot,
		               pool->info.attach_id, l->gen);
	} else {
		pgpool_proc_end_stale_lease(l, true);
	}
	pgpool_priv(pool)->leases--;
	lease_clear(l);
}

void pgpool_lease_return(pgpool_lease *l, uint32_t state)
{
	pgpool_pool *pool = l->pool;

	if (!pool) {
		return;
	}
	if (state != PGP_SLOT_RESET) {
		state = PGP_SLOT_DISCARD;
	}
	if (lease_current(l)) {
		lease_end_current(l, pgp_now_us());
		if (pgp_pool_return_to_broker(&proc->map->shm, pgpool_priv(pool)->shm_pool, l->slot,
		                              pool->info.attach_id, l->gen, state) == 0) {
			pgpool_proc_notify_returned(pool, l->slot, l->gen, state);
		}
		if (state == PGP_SLOT_DISCARD && pool->fds[l->slot] == l->fd) {
			/* The broker shuts the connection down; our copy would only linger. */
			pgpool_proc_forget_fd(pool, l->slot);
		}
	} else {
		pgpool_proc_end_stale_lease(l, false);
	}
	pgpool_priv(pool)->leases--;
	lease_clear(l);
}

int pgpool_lease_cancel(pgpool_lease *l, pgpool_err *err)
{
	if (!l->pool) {
		pgpool_err_set(err, "08003", "no connection is leased");
		return -1;
	}
	if (!lease_current(l)) {
		pgpool_err_set(
		    err, "08006",
		    "cannot cancel the query: pgpool-broker restarted since this connection "
		    "was leased");
		return -1;
	}
	return pgpool_proc_cancel(l->pool, l->slot, l->gen, err);
}

bool pgpool_lease_owned(const pgpool_lease *l)
{
	if (!l->pool || !l->shm_slot) {
		return false;
	}
	/* A lease from before a broker restart still works on its socket until the new broker
	 * terminates that backend; one copied into a fork child never belongs to the child. */
	if (atomic_load_explicit(&l->shm_slot->owner_pid, memory_order_relaxed) != proc->pid) {
		return false;
	}
	uint64_t w = atomic_load_explicit(&l->shm_slot->word, memory_order_acquire);
	if (pgp_slot_word_state(w) != PGP_SLOT_LEASED || pgp_slot_word_gen(w) != l->gen) {
		return false;
	}
	return !lease_current(l) ||
	       pgp_slot_word_owner(w) == (l->pool->info.attach_id & PGP_ATTACH_ID_MAX);
}

void pgpool_lease_count_query(pgpool_lease *l, uint64_t duration_us)
{
	if (!l->pool) {
		return;
	}
	atomic_store_explicit(&l->shm_slot->queries,
	                      atomic_load_explicit(&l->shm_slot->queries, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
	if (lease_current(l)) {
		struct pgp_shm_pool *sp = pgpool_priv(l->pool)->shm_pool;
		atomic_fetch_add_explicit(&sp->queries, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sp->query_us, duration_us, memory_order_relaxed);
		pgp_hist_observe(&sp->query_hist, duration_us);
	}
}

void pgpool_lease_count_prepared(pgpool_lease *l, bool hit)
{
	if (l->pool && lease_current(l)) {
		struct pgp_shm_pool *sp = pgpool_priv(l->pool)->shm_pool;
		atomic_fetch_add_explicit(hit ? &sp->prepared_hits : &sp->prepared_misses, 1,
		                          memory_order_relaxed);
	}
}

uint64_t pgpool_lease_schema_epoch(const pgpool_lease *l)
{
	if (!l->pool || !lease_current(l)) {
		return 0;
	}
	return atomic_load_explicit(&pgpool_priv(l->pool)->shm_pool->schema_epoch,
	                            memory_order_relaxed);
}

void pgpool_lease_schema_changed(pgpool_lease *l)
{
	if (l->pool && lease_current(l)) {
		atomic_fetch_add_explicit(&pgpool_priv(l->pool)->shm_pool->schema_epoch, 1,
		                          memory_order_relaxed);
	}
}

bool pgpool_lease_dealloc_doubt(const pgpool_lease *l)
{
	struct pgp_shm_pool *sp;
	uint64_t w;

	if (!l->pool || !lease_current(l)) {
		return true;
	}
	sp = pgpool_priv(l->pool)->shm_pool;
	w = atomic_load_explicit(&sp->dealloc_check, memory_order_acquire);
	return !(w & 2) || (w & 1) ||
	       atomic_load_explicit(&sp->dealloc_check_epoch, memory_order_relaxed) !=
	           atomic_load_explicit(&sp->schema_epoch, memory_order_relaxed);
}

bool pgpool_lease_dealloc_claim(pgpool_lease *l, uint64_t now, uint64_t ttl_us, uint64_t *epoch)
{
	struct pgp_shm_pool *sp;
	uint64_t w, at;
	bool other_epoch;

	if (!l->pool || !lease_current(l)) {
		return false;
	}
	sp = pgpool_priv(l->pool)->shm_pool;
	w = atomic_load_explicit(&sp->dealloc_check, memory_order_acquire);
	at = w >> 2;
	*epoch = atomic_load_explicit(&sp->schema_epoch, memory_order_relaxed);
	other_epoch =
	    atomic_load_explicit(&sp->dealloc_check_epoch, memory_order_relaxed) != *epoch;
	/* A search for a new epoch may be under way: give it a moment before another. */
	if (w != 0 && now < at + ttl_us && !(other_epoch && now >= at + ttl_us / 50)) {
		return false;
	}
	/* The old answer stays readable while the new search runs. */
	return atomic_compare_exchange_strong_explicit(&sp->dealloc_check, &w, now << 2 | (w & 3),
	                                               memory_order_acq_rel, memory_order_relaxed);
}

void pgpool_lease_dealloc_store(pgpool_lease *l, uint64_t now, uint64_t epoch, bool found)
{
	struct pgp_shm_pool *sp;

	if (!l->pool || !lease_current(l)) {
		return;
	}
	sp = pgpool_priv(l->pool)->shm_pool;
	atomic_store_explicit(&sp->dealloc_check_epoch, epoch, memory_order_relaxed);
	atomic_store_explicit(&sp->dealloc_check, now << 2 | 2 | (found ? 1 : 0),
	                      memory_order_release);
}

void pgpool_pool_count_error(pgpool_pool *pool)
{
	pgpool_pool_priv *p = pgpool_priv(pool);

	if (p->shm_pool && proc->map && pool->epoch == proc->map->shm.epoch) {
		pgp_pool_count_error(p->shm_pool, PGP_ERR_BACKEND);
	}
}

void pgpool_lease_report_slow(pgpool_lease *l, uint32_t duration_ms, const char *sql, size_t len)
{
	if (l->pool && lease_current(l)) {
		pgpool_proc_notify_slow(l->pool, duration_ms, sql, len);
	}
}

const char *pgpool_pool_param(const pgpool_pool *pool, const char *name)
{
	return pgp_ctl_param(&pool->info, name);
}
