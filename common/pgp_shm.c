/*
 * pgp_shm.c: layout of the shared segment, and the lease / wait / handoff algorithms that the
 * broker and every worker run on it.
 *
 * Correctness rests on three rules:
 * 1. A slot changes hands only by CAS on its 64-bit word (invariant 1), so at most one party
 *    holds it and a stale party learns so (-ESTALE) instead of acting.
 * 2. Waiting cannot lose a wakeup: a waiter first enqueues (ring_tail moves, under ring_lock) and
 *    only then scans for an idle slot; a releaser first publishes IDLE and only then looks at the
 *    ring. All of these are seq_cst, so one of the two always sees the other (Dekker).
 * 3. A process may die anywhere. The ring lock is a robust mutex (the kernel releases it on
 *    death), every critical section leaves a state the next holder can continue from, and the
 *    broker cleans up cells and slots of attachments that are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pgp_shm.h"

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

static size_t off_pools(void)
{
	return ALIGN64(sizeof(struct pgp_shm_header));
}

static size_t off_slots(uint32_t npools_cap)
{
	return ALIGN64(off_pools() + (size_t)npools_cap * sizeof(struct pgp_shm_pool));
}

static size_t off_rings(uint32_t npools_cap, uint32_t nslots)
{
	return ALIGN64(off_slots(npools_cap) + (size_t)nslots * sizeof(struct pgp_shm_slot));
}

size_t pgp_shm_layout_size(uint32_t npools_cap, uint32_t nslots)
{
	size_t rings = (size_t)npools_cap * PGP_RING_SIZE * sizeof(struct pgp_shm_waiter);
	size_t size = off_rings(npools_cap, nslots) + rings;
	long page = sysconf(_SC_PAGESIZE);

	if (page <= 0)
		page = 4096;
	return (size + (size_t)page - 1) & ~((size_t)page - 1);
}

static int ring_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r;

	r = pthread_mutexattr_init(&a);
	if (r != 0)
		return -r;
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (r == 0)
		r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

int pgp_shm_format(void *base, size_t size, uint32_t npools_cap, uint32_t nslots, uint64_t epoch,
                   pgp_shm *out)
{
	struct pgp_shm_header *h = base;
	uint32_t i;
	int r;

	if (base == NULL || npools_cap == 0 || npools_cap > PGP_MAX_POOLS ||
	    nslots > PGP_MAX_SLOTS || epoch == 0)
		return -EINVAL;
	if (size < pgp_shm_layout_size(npools_cap, nslots))
		return -ENOSPC;
	/* The rings stay untouched: a fresh segment (ftruncate) or anonymous mapping is already
	 * zero (every cell FREE), and not touching them keeps the rings of unused pools out of RSS.
	 */
	memset(base, 0, off_rings(npools_cap, nslots));
	h->magic = PGP_SHM_MAGIC;
	h->version = PGP_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->size = size;
	h->epoch = epoch;
	h->broker_pid = (int32_t)getpid();
	h->npools = 0;
	h->npools_cap = npools_cap;
	h->pool_size = sizeof(struct pgp_shm_pool);
	h->pools_off = off_pools();
	h->nslots = nslots;
	h->slot_size = sizeof(struct pgp_shm_slot);
	h->slots_off = off_slots(npools_cap);
	h->ring_size = PGP_RING_SIZE;
	h->rings_off = off_rings(npools_cap, nslots);
	h->waiter_size = sizeof(struct pgp_shm_waiter);
	atomic_store(&h->heartbeat_us, pgp_now_us());
	r = pgp_shm_validate(base, size, out);
	if (r < 0)
		return r;
	for (i = 0; i < npools_cap; i++) {
		out->pools[i].index = i;
		r = ring_lock_init(&out->pools[i].ring_lock);
		if (r < 0)
			return r;
	}
	for (i = 0; i < nslots; i++)
		out->slots[i].index = i;
	return 0;
}

void pgp_shm_publish(pgp_shm *shm)
{
	atomic_store(&shm->hdr->heartbeat_us, pgp_now_us());
	atomic_store(&shm->hdr->state, PGP_SHM_RUNNING);
}

int pgp_shm_validate(void *base, size_t size, pgp_shm *out)
{
	const struct pgp_shm_header *h = base;
	size_t rings;

	if (base == NULL || size < sizeof(*h))
		return -EPROTO;
	if (h->magic != PGP_SHM_MAGIC || h->version != PGP_SHM_VERSION ||
	    h->header_size != sizeof(*h) || h->pool_size != sizeof(struct pgp_shm_pool) ||
	    h->slot_size != sizeof(struct pgp_shm_slot) ||
	    h->waiter_size != sizeof(struct pgp_shm_waiter) || h->ring_size != PGP_RING_SIZE)
		return -EPROTO;
	if (h->size > size || h->npools_cap == 0 || h->npools_cap > PGP_MAX_POOLS ||
	    h->npools > h->npools_cap || h->nslots > PGP_MAX_SLOTS)
		return -EPROTO;
	/* Offsets must be exactly where this build lays them out: no room for a crafted layout. */
	rings = (size_t)h->npools_cap * PGP_RING_SIZE * sizeof(struct pgp_shm_waiter);
	if (h->pools_off != off_pools() || h->slots_off != off_slots(h->npools_cap) ||
	    h->rings_off != off_rings(h->npools_cap, h->nslots) || h->rings_off + rings > h->size)
		return -EPROTO;
	out->base = base;
	out->size = size;
	out->hdr = base;
	out->pools = (struct pgp_shm_pool *)((char *)base + h->pools_off);
	out->slots = (struct pgp_shm_slot *)((char *)base + h->slots_off);
	out->rings = (struct pgp_shm_waiter *)((char *)base + h->rings_off);
	out->epoch = h->epoch;
	out->npools_cap = h->npools_cap;
	out->nslots_cap = h->nslots;
	return 0;
}

int pgp_shm_map(const char *name, pgp_shm *out)
{
	struct stat st;
	void *base = MAP_FAILED;
	int fd, r;

	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((size_t)st.st_size < sizeof(struct pgp_shm_header)) {
		r = -EPROTO;
		goto out;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	r = pgp_shm_validate(base, (size_t)st.st_size, out);
out:
	if (r < 0 && base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
	close(fd);
	return r;
}

void pgp_shm_unmap(pgp_shm *shm)
{
	if (shm->base != NULL)
		munmap(shm->base, shm->size);
	memset(shm, 0, sizeof(*shm));
}

struct pgp_shm_pool *pgp_shm_pool_at(const pgp_shm *shm, uint32_t pool)
{
	if (shm->hdr == NULL || pool >= shm->npools_cap)
		return NULL;
	return &shm->pools[pool];
}

struct pgp_shm_slot *pgp_shm_pool_slot(const pgp_shm *shm, const struct pgp_shm_pool *pool,
                                       uint32_t i)
{
	uint32_t first = *(volatile const uint32_t *)&pool->first_slot;
	uint32_t n = *(volatile const uint32_t *)&pool->nslots;

	if (i >= n || first > shm->nslots_cap || n > shm->nslots_cap - first)
		return NULL;
	return &shm->slots[first + i];
}

struct pgp_shm_slot *pgp_shm_slot_at(const pgp_shm *shm, uint32_t slot)
{
	if (shm->hdr == NULL || slot >= shm->nslots_cap)
		return NULL;
	return &shm->slots[slot];
}

/*
 * The pool's slots as far as they lie inside the slot array: returns the first and sets *n.
 * first_slot and nslots are read once: a scribbling worker could change them between a check
 * and a use, so callers index only the array returned here, below *n.
 */
static struct pgp_shm_slot *pool_slots(const pgp_shm *shm, const struct pgp_shm_pool *pool,
                                       uint32_t *n)
{
	uint32_t first = *(volatile const uint32_t *)&pool->first_slot;
	uint32_t cnt = *(volatile const uint32_t *)&pool->nslots;

	if (first > shm->nslots_cap) {
		*n = 0;
		return shm->slots;
	}
	if (cnt > shm->nslots_cap - first)
		cnt = shm->nslots_cap - first;
	*n = cnt;
	return &shm->slots[first];
}

static struct pgp_shm_waiter *pool_ring(const pgp_shm *shm, const struct pgp_shm_pool *pool)
{
	uint32_t idx = (uint32_t)(pool - shm->pools);

	return &shm->rings[(size_t)idx * PGP_RING_SIZE];
}

/* ---- futex ---- */

int pgp_futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_us)
{
	struct timespec ts, *tsp = NULL;
	long r;

	if (timeout_us > 0) {
		ts.tv_sec = (time_t)(timeout_us / 1000000u);
		ts.tv_nsec = (long)(timeout_us % 1000000u) * 1000;
		tsp = &ts;
	}
	/* Not FUTEX_PRIVATE_FLAG: the word is in a MAP_SHARED mapping used by many processes. */
	r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL, 0);
	if (r == 0)
		return 0;
	return -errno;
}

int pgp_futex_wake(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

/* ---- the ring ---- */

/*
 * Take the ring lock, waiting at most PGP_RING_LOCK_WAIT_NS: a holder that is stopped (SIGSTOP)
 * or a lock word scribbled over by a broken worker must not block the broker or other workers.
 * Every caller has a fallback when the lock cannot be had (IDLE instead of handoff, short sleeps
 * instead of queueing), and waiters re-scan for idle slots at every wakeup.
 */
#define PGP_RING_LOCK_WAIT_NS 20000000L

/* Rounds of slot_give() (grant, go IDLE, take back for a late waiter) before it settles for IDLE.
 */
#define PGP_GIVE_ROUNDS 3

static int ring_lock(struct pgp_shm_pool *pool)
{
	struct timespec until;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += PGP_RING_LOCK_WAIT_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	r = pthread_mutex_clocklock(&pool->ring_lock, CLOCK_MONOTONIC, &until);

	if (r == EOWNERDEAD) {
		/* The holder died inside a critical section; every section leaves a state the next
		 * holder can continue from (see enqueue and grant), so just mark it consistent. */
		pthread_mutex_consistent(&pool->ring_lock);
		r = 0;
	}
	return -r;
}

static void ring_unlock(struct pgp_shm_pool *pool)
{
	pthread_mutex_unlock(&pool->ring_lock);
}

/* Queue a waiter cell; returns it, or NULL if the ring is full or its lock is unusable. */
static struct pgp_shm_waiter *ring_enqueue(pgp_shm *shm, struct pgp_shm_pool *pool,
                                           uint32_t attach_id, int32_t pid)
{
	struct pgp_shm_waiter *ring = pool_ring(shm, pool), *cell = NULL;
	uint64_t head, tail;
	uint32_t w;

	if (ring_lock(pool) < 0)
		return NULL;
	head = atomic_load(&pool->ring_head);
	tail = atomic_load(&pool->ring_tail);
	/* Pop waiters that gave up, so timeouts without releases cannot fill the ring. */
	while (head != tail && tail - head <= PGP_RING_SIZE) {
		struct pgp_shm_waiter *first = &ring[head & (PGP_RING_SIZE - 1)];

		if (atomic_load(&first->word) != PGP_WAIT_CANCELLED)
			break;
		atomic_store(&first->word, PGP_WAIT_FREE);
		atomic_store(&pool->ring_head, ++head);
	}
	if (tail - head < PGP_RING_SIZE) {
		cell = &ring[tail & (PGP_RING_SIZE - 1)];
		w = atomic_load(&cell->word);
		/* Outside [head, tail) a cell is FREE, a GRANTED cell its waiter has not read yet
		 * (not reusable), or the leftover of a waiter that died mid-enqueue (reusable). */
		if (w >= PGP_WAIT_GRANTED) {
			cell = NULL;
		} else {
			cell->attach_id = attach_id;
			atomic_store(&cell->pid, pid);
			atomic_store(&cell->since_us, pgp_now_us());
			atomic_store(&cell->word, PGP_WAIT_WAITING);
			atomic_store(&pool->ring_tail, tail + 1);
		}
	}
	ring_unlock(pool);
	return cell;
}

/*
 * Give the slot the caller holds exclusively (word `held`) to the oldest waiting cell.
 * Returns 1 if granted, 0 if no live waiter was queued (the caller still holds the slot with
 * `held`), -ESTALE if the caller's hold turned out to be gone.
 */
static int ring_grant(pgp_shm *shm, struct pgp_shm_pool *pool, struct pgp_shm_slot *s,
                      uint32_t slot, uint64_t held)
{
	struct pgp_shm_waiter *ring = pool_ring(shm, pool), *cell;
	uint64_t head, tail, given;
	uint32_t expect;
	int r = 0;

	if (ring_lock(pool) < 0)
		return 0;
	head = atomic_load(&pool->ring_head);
	tail = atomic_load(&pool->ring_tail);
	if (tail - head > PGP_RING_SIZE) /* corrupted indices: drop the queue, waiters time out */
		head = tail - PGP_RING_SIZE;
	while (head != tail) {
		cell = &ring[head & (PGP_RING_SIZE - 1)];
		head++;
		atomic_store(&pool->ring_head, head);
		expect = PGP_WAIT_WAITING;
		if (atomic_load(&cell->word) != PGP_WAIT_WAITING) {
			/* Cancelled (or a dead enqueuer's leftover): the popper frees it. */
			if (atomic_load(&cell->word) < PGP_WAIT_GRANTED)
				atomic_store(&cell->word, PGP_WAIT_FREE);
			continue;
		}
		/* Move ownership first, then grant: the waiter only ever looks at its cell. */
		given = pgp_slot_word(PGP_SLOT_LEASED, cell->attach_id, pgp_slot_word_gen(held));
		if (!atomic_compare_exchange_strong(&s->word, &held, given)) {
			/* Our hold is gone; put the cell back at the head for the next releaser. */
			atomic_store(&pool->ring_head, head - 1);
			r = -ESTALE;
			break;
		}
		if (atomic_compare_exchange_strong(&cell->word, &expect, PGP_WAIT_GRANTED + slot)) {
			ring_unlock(pool);
			pgp_futex_wake(&cell->word, 1);
			return 1;
		}
		/* The waiter gave up between our checks: take the slot back, free the cell. */
		atomic_store(&cell->word, PGP_WAIT_FREE);
		if (!atomic_compare_exchange_strong(&s->word, &given, held)) {
			r = -ESTALE;
			break;
		}
	}
	ring_unlock(pool);
	return r;
}

/* Decrement a gauge without wrapping below zero (a dead process may have left it off by one). */
static void gauge_dec(_Atomic uint32_t *g)
{
	uint32_t v = atomic_load(g);

	while (v > 0 && !atomic_compare_exchange_weak(g, &v, v - 1))
		;
}

static bool ring_nonempty(const struct pgp_shm_pool *pool)
{
	return atomic_load(&pool->ring_tail) != atomic_load(&pool->ring_head);
}

/*
 * The slot is held exclusively by the caller with word `held`: hand it to the oldest waiter or
 * make it IDLE. See rule 2 at the top for why the ring is looked at again after IDLE.
 */
static int slot_give(pgp_shm *shm, struct pgp_shm_pool *pool, struct pgp_shm_slot *s, uint32_t slot,
                     uint64_t held)
{
	uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, pgp_slot_word_gen(held)), expect;
	int r;

	/* A few rounds at most: ring indices that never become empty (scribbled over) or a ring
	 * lock that cannot be had must not keep the caller (the broker's loop) here forever. A
	 * waiter left queued re-scans for IDLE slots at every wakeup. */
	for (int round = 0;; round++) {
		uint32_t status = atomic_load(&pool->status);

		if (status == PGP_POOL_OPEN && ring_nonempty(pool)) {
			r = ring_grant(shm, pool, s, slot, held);
			if (r != 0)
				return r;
		}
		/* owner_pid is left alone: it means something only while LEASED and every new
		 * owner writes its own, so nobody can clobber another's. */
		atomic_store(&s->idle_since_us, pgp_now_us());
		expect = held;
		if (!atomic_compare_exchange_strong(&s->word, &expect, idle))
			return -ESTALE;
		if (status != PGP_POOL_OPEN || !ring_nonempty(pool) || round >= PGP_GIVE_ROUNDS)
			return 0;
		/* A waiter queued after our grant attempt may have scanned before we went IDLE. */
		expect = idle;
		if (!atomic_compare_exchange_strong(&s->word, &expect, held))
			return 0; /* someone took it: fine */
	}
}

/* ---- leasing ---- */

int pgp_pool_try_acquire(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id,
                         const uint32_t *cached_gen, uint32_t *gen, uint32_t *status)
{
	uint32_t n, i, st;
	struct pgp_shm_slot *slots = pool_slots(shm, pool, &n);
	uint64_t w;

	st = atomic_load(&pool->status);
	*status = st;
	if (st != PGP_POOL_OPEN)
		return -EPERM;
	/* Pass 1: slots whose fd this process already holds (no fd transfer needed). */
	if (cached_gen != NULL) {
		for (i = 0; i < n; i++) {
			if (cached_gen[i] == 0)
				continue;
			w = atomic_load(&slots[i].word);
			if (pgp_slot_word_state(w) != PGP_SLOT_IDLE ||
			    pgp_slot_word_gen(w) != cached_gen[i])
				continue;
			if (atomic_compare_exchange_strong(
			        &slots[i].word, &w,
			        pgp_slot_word(PGP_SLOT_LEASED, attach_id, cached_gen[i]))) {
				*gen = cached_gen[i];
				return (int)i;
			}
		}
	}
	/* Pass 2: any idle slot. */
	for (i = 0; i < n; i++) {
		w = atomic_load(&slots[i].word);
		if (pgp_slot_word_state(w) != PGP_SLOT_IDLE)
			continue;
		if (atomic_compare_exchange_strong(
		        &slots[i].word, &w,
		        pgp_slot_word(PGP_SLOT_LEASED, attach_id, pgp_slot_word_gen(w)))) {
			*gen = pgp_slot_word_gen(w);
			return (int)i;
		}
	}
	return -EAGAIN;
}

/* Read a grant out of our cell and free the cell. */
static int take_grant(pgp_shm *shm, struct pgp_shm_pool *pool, struct pgp_shm_waiter *cell,
                      uint32_t w, uint32_t attach_id, uint32_t *gen)
{
	uint32_t slot = w - PGP_WAIT_GRANTED, n;
	struct pgp_shm_slot *slots = pool_slots(shm, pool, &n);
	uint64_t sw;

	atomic_store(&cell->word, PGP_WAIT_FREE);
	if (slot >= n)
		return -EPROTO;
	sw = atomic_load(&slots[slot].word);
	if (pgp_slot_word_state(sw) != PGP_SLOT_LEASED || pgp_slot_word_owner(sw) != attach_id)
		return -ESTALE; /* reclaimed meanwhile (we were thought dead): try again */
	*gen = pgp_slot_word_gen(sw);
	return (int)slot;
}

int pgp_pool_acquire(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id, int32_t pid,
                     const uint32_t *cached_gen, uint64_t timeout_us, uint32_t *gen,
                     void (*on_enqueued)(void *ctx), bool (*interrupted)(void *ctx), void *ctx,
                     uint32_t *status)
{
	struct pgp_shm_waiter *cell;
	uint64_t start = pgp_now_us(), deadline = start + timeout_us, now;
	uint32_t w, waiting, prev_max;
	int r, mine;

retry:
	r = pgp_pool_try_acquire(shm, pool, attach_id, cached_gen, gen, status);
	if (r >= 0 || (r == -EPERM && *status != PGP_POOL_PAUSED))
		return r;
	if (pgp_now_us() >= deadline)
		return -ETIMEDOUT;

	cell = ring_enqueue(shm, pool, attach_id, pid);
	if (cell == NULL) {
		/* Ring full (over PGP_RING_SIZE waiters) or lock unusable: degrade to short sleeps.
		 */
		for (;;) {
			struct timespec ts = {0, 1000000};

			r = pgp_pool_try_acquire(shm, pool, attach_id, cached_gen, gen, status);
			if (r >= 0 || (r == -EPERM && *status != PGP_POOL_PAUSED))
				return r;
			if (interrupted != NULL && interrupted(ctx))
				return -EINTR;
			if (pgp_now_us() >= deadline)
				return -ETIMEDOUT;
			nanosleep(&ts, NULL);
		}
	}
	waiting = atomic_fetch_add(&pool->waiting, 1) + 1;
	prev_max = atomic_load(&pool->waiting_max);
	while (waiting > prev_max &&
	       !atomic_compare_exchange_weak(&pool->waiting_max, &prev_max, waiting))
		;
	if (on_enqueued != NULL)
		on_enqueued(ctx);

	for (;;) {
		w = atomic_load(&cell->word);
		if (w >= PGP_WAIT_GRANTED) {
			r = take_grant(shm, pool, cell, w, attach_id, gen);
			goto done;
		}
		if (w != PGP_WAIT_WAITING) {
			/* The broker cancelled every waiter: pool disabled, circuit open, draining.
			 */
			*status = atomic_load(&pool->status);
			r = -EPERM;
			goto done;
		}
		/* Rule 2: now that we are queued, a slot that went IDLE before we were visible is
		 * ours to take. Later wakeups re-scan too, as a safety net for a releaser that
		 * could not get the ring lock and left its slot IDLE. */
		mine = pgp_pool_try_acquire(shm, pool, attach_id, cached_gen, gen, status);
		if (mine >= 0 || (mine == -EPERM && *status != PGP_POOL_PAUSED)) {
			uint32_t expect = PGP_WAIT_WAITING;

			if (atomic_compare_exchange_strong(&cell->word, &expect,
			                                   PGP_WAIT_CANCELLED)) {
				r = mine;
				goto done;
			}
			/* Granted at the same moment: keep the grant (FIFO order) and give the
			 * other back; if that fails the broker has reclaimed it, which is fine too.
			 */
			if (mine >= 0) {
				r = pgp_pool_release(shm, pool, (uint32_t)mine, attach_id, *gen);
				(void)r;
			}
			continue;
		}
		now = pgp_now_us();
		if (now >= deadline || (interrupted != NULL && interrupted(ctx))) {
			uint32_t expect = PGP_WAIT_WAITING;

			if (atomic_compare_exchange_strong(&cell->word, &expect,
			                                   PGP_WAIT_CANCELLED)) {
				r = now >= deadline ? -ETIMEDOUT : -EINTR;
				goto done;
			}
			continue; /* granted just now */
		}
		r = pgp_futex_wait(&cell->word, PGP_WAIT_WAITING,
		                   deadline - now < PGP_WAIT_SLICE_US ? deadline - now
		                                                      : PGP_WAIT_SLICE_US);
		(void)r;
	}
done:
	gauge_dec(&pool->waiting);
	if (r == -ESTALE || r == -EPROTO) {
		/* Our grant was reclaimed meanwhile (the broker thought us gone): queue again. */
		goto retry;
	}
	now = pgp_now_us();
	atomic_fetch_add(&pool->acquire_waits, 1);
	atomic_fetch_add(&pool->acquire_wait_us, now - start);
	if (r == -ETIMEDOUT)
		atomic_fetch_add(&pool->acquire_timeouts, 1);
	return r;
}

int pgp_pool_release(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot, uint32_t attach_id,
                     uint32_t gen)
{
	uint64_t held = pgp_slot_word(PGP_SLOT_LEASED, attach_id, gen);
	uint32_t n;
	struct pgp_shm_slot *s = pool_slots(shm, pool, &n);
	int r;

	if (slot >= n)
		return -EINVAL;
	s += slot;
	if (atomic_load(&s->word) != held)
		return -ESTALE;
	/* Retired by the broker: a direct handoff would keep the backend in use for as long as
	 * workers queue, so it goes back to the broker, which replaces it and then serves them.
	 * The flag sits next to the word: no extra cache miss on the usual path. A flag set just
	 * after this load is seen at the next release (or by the broker once the slot is IDLE). */
	if (PGP_UNLIKELY(atomic_load_explicit(&s->retire, memory_order_relaxed) != 0)) {
		if (!atomic_compare_exchange_strong(&s->word, &held,
		                                    pgp_slot_word(PGP_SLOT_RESET, attach_id, gen)))
			return -ESTALE;
		return 1;
	}
	r = slot_give(shm, pool, s, slot, held);
	return r < 0 ? r : 0;
}

int pgp_pool_return_to_broker(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot,
                              uint32_t attach_id, uint32_t gen, uint32_t new_state)
{
	uint64_t held = pgp_slot_word(PGP_SLOT_LEASED, attach_id, gen);
	uint32_t n;
	struct pgp_shm_slot *s = pool_slots(shm, pool, &n);

	if (slot >= n || (new_state != PGP_SLOT_DISCARD && new_state != PGP_SLOT_RESET))
		return -EINVAL;
	s += slot;
	if (!atomic_compare_exchange_strong(&s->word, &held,
	                                    pgp_slot_word(new_state, attach_id, gen)))
		return -ESTALE;
	return 0;
}

/* ---- broker side ---- */

int pgp_pool_offer(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot, uint64_t from_word)
{
	uint32_t n;
	struct pgp_shm_slot *s = pool_slots(shm, pool, &n);

	if (slot >= n)
		return -EINVAL;
	s += slot;
	if (atomic_load(&s->word) != from_word)
		return -ESTALE;
	return slot_give(shm, pool, s, slot, from_word);
}

uint32_t pgp_pool_cancel_waiters(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id)
{
	struct pgp_shm_waiter *ring = pool_ring(shm, pool);
	uint32_t i, n = 0, w;

	if (ring_lock(pool) < 0)
		return 0;
	for (i = 0; i < PGP_RING_SIZE; i++) {
		struct pgp_shm_waiter *cell = &ring[i];

		w = atomic_load(&cell->word);
		if (attach_id != 0 && cell->attach_id != attach_id)
			continue;
		if (w == PGP_WAIT_WAITING) {
			uint32_t expect = PGP_WAIT_WAITING;

			if (atomic_compare_exchange_strong(&cell->word, &expect,
			                                   PGP_WAIT_CANCELLED)) {
				if (attach_id != 0) /* dead: nobody will decrement for it */
					gauge_dec(&pool->waiting);
				pgp_futex_wake(&cell->word, 1);
				n++;
			}
		} else if (w >= PGP_WAIT_GRANTED && attach_id != 0) {
			/* Granted to a process that died before reading it. */
			atomic_store(&cell->word, PGP_WAIT_FREE);
			gauge_dec(&pool->waiting);
			n++;
		}
	}
	ring_unlock(pool);
	return n;
}

bool pgp_pool_can_grow(const pgp_shm *shm, const struct pgp_shm_pool *pool)
{
	uint32_t max = atomic_load_explicit(&pool->max_connections, memory_order_relaxed);
	uint32_t n, open = 0, i;
	const struct pgp_shm_slot *slots = pool_slots(shm, pool, &n);

	for (i = 0; i < n && open < max; i++) {
		uint64_t w = atomic_load_explicit(&slots[i].word, memory_order_relaxed);

		if (pgp_slot_word_state(w) != PGP_SLOT_EMPTY)
			open++;
	}
	return open < max;
}

void pgp_pool_count_states(const pgp_shm *shm, const struct pgp_shm_pool *pool, uint32_t out[8])
{
	uint32_t n, i;
	const struct pgp_shm_slot *slots = pool_slots(shm, pool, &n);

	memset(out, 0, 8 * sizeof(out[0]));
	for (i = 0; i < n; i++) {
		uint32_t st = pgp_slot_word_state(atomic_load(&slots[i].word));

		out[st < 8 ? st : 7]++;
	}
}

const char *pgp_pool_mode_name(uint32_t mode)
{
	switch (mode) {
	case PGP_MODE_TRANSACTION:
		return "transaction";
	case PGP_MODE_SESSION:
		return "session";
	case PGP_MODE_STATEMENT:
		return "statement";
	default:
		return "unknown";
	}
}

const char *pgp_pool_status_name(uint32_t status)
{
	switch (status) {
	case PGP_POOL_OPEN:
		return "open";
	case PGP_POOL_PAUSED:
		return "paused";
	case PGP_POOL_DISABLED:
		return "disabled";
	case PGP_POOL_CIRCUIT_OPEN:
		return "circuit_open";
	case PGP_POOL_DRAINING:
		return "draining";
	case PGP_POOL_CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}

const uint32_t pgp_hist_bounds_us[PGP_HIST_BOUNDS] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,    25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

const char *pgp_err_type_name(uint32_t type)
{
	static const char *const names[PGP_ERR_TYPES] = {
	    "acquire_timeout", "acquire_canceled", "pool_unavailable",
	    "broker",          "backend",          "connect",
	    "other",
	};

	return type < PGP_ERR_TYPES ? names[type] : "unknown";
}
