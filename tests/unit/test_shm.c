/*
 * test_shm.c: the shared segment and the lease algorithms, with real processes: segments are
 * MAP_SHARED anonymous mappings (or shm_open ones) shared with fork()ed children, which lease,
 * wait on futexes and hand slots to each other exactly as PHP workers do.
 */
#include "pgp_shm.h"
#include "pgp_test.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#define EPOCH   0x0123456789abcdefULL
#define WAIT_MS 10000 /* upper bound for anything a test waits on */

/* ---- fixtures ---- */

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* Give pool `pool` slots [first, first + n), all IDLE with generation 100 + global index, as the
 * broker does once their backends are connected. */
static struct pgp_shm_pool *setup_pool(pgp_shm *shm, uint32_t pool, uint32_t first, uint32_t n)
{
	struct pgp_shm_pool *p = pgp_shm_pool_at(shm, pool);
	uint32_t i;

	CHECK(p != NULL);
	snprintf(p->name, sizeof(p->name), "pool%u", pool);
	p->first_slot = first;
	p->nslots = n;
	atomic_store(&p->max_connections, n);
	atomic_store(&p->status, PGP_POOL_OPEN);
	for (i = 0; i < n; i++) {
		struct pgp_shm_slot *s = pgp_shm_slot_at(shm, first + i);

		CHECK(s != NULL);
		s->pool = pool;
		atomic_store(&s->word, pgp_slot_word(PGP_SLOT_IDLE, 0, 100 + first + i));
	}
	if (shm->hdr->npools < pool + 1)
		shm->hdr->npools = pool + 1;
	return p;
}

/* A formatted, published segment with one pool of n slots. */
static struct pgp_shm_pool *make_segment(pgp_shm *shm, uint32_t nslots)
{
	size_t size = pgp_shm_layout_size(2, nslots);
	struct pgp_shm_pool *p;

	CHECK_INT(pgp_shm_format(map_shared(size), size, 2, nslots, EPOCH, shm), ==, 0);
	p = setup_pool(shm, 0, 0, nslots);
	pgp_shm_publish(shm);
	return p;
}

static uint64_t now_ms(void)
{
	return pgp_now_us() / 1000;
}

/* Poll until cond holds (for the parent watching children); fails the case after WAIT_MS. */
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		uint64_t until_ = now_ms() + WAIT_MS;                                              \
		while (!(cond)) {                                                                  \
			struct timespec ts_ = {0, 200 * 1000};                                     \
			if (now_ms() > until_)                                                     \
				pgp_test_fail(__FILE__, __LINE__, "timed out waiting for %s",      \
				              #cond);                                              \
			nanosleep(&ts_, NULL);                                                     \
		}                                                                                  \
	} while (0)

/* Wait for a child and return its exit status (or 128 + signal). */
static int reap(pid_t pid)
{
	int status;

	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static uint64_t slot_word(pgp_shm *shm, struct pgp_shm_pool *p, uint32_t i)
{
	return atomic_load(&pgp_shm_pool_slot(shm, p, i)->word);
}

/* ---- layout, format, validate, map ---- */

PGP_TEST(layout_and_format)
{
	size_t size = pgp_shm_layout_size(4, 16);
	struct pgp_shm_header *h;
	void *base = map_shared(size);
	pgp_shm shm;
	uint32_t i;

	CHECK_INT(size % (size_t)sysconf(_SC_PAGESIZE), ==, 0);
	CHECK_INT(size, >=,
	          sizeof(struct pgp_shm_header) + 4 * sizeof(struct pgp_shm_pool) +
	              16 * sizeof(struct pgp_shm_slot) +
	              4 * PGP_RING_SIZE * sizeof(struct pgp_shm_waiter));
	CHECK_INT(pgp_shm_layout_size(4, 17), >=, size);
	memset(base, 0xee, size); /* format must not depend on zeroed memory */
	CHECK_INT(pgp_shm_format(base, size, 4, 16, EPOCH, &shm), ==, 0);
	h = shm.hdr;
	CHECK(shm.base == base && (void *)h == base);
	CHECK_INT(shm.size, ==, size);
	CHECK_INT(shm.epoch, ==, EPOCH);
	CHECK(h->magic == PGP_SHM_MAGIC);
	CHECK_INT(h->version, ==, PGP_SHM_VERSION);
	CHECK_INT(h->size, ==, size);
	CHECK_INT(h->npools, ==, 0);
	CHECK_INT(h->npools_cap, ==, 4);
	CHECK_INT(h->nslots, ==, 16);
	CHECK_INT(h->broker_pid, ==, getpid());
	CHECK_INT(atomic_load(&h->state), ==, 0); /* not running before publish */
	CHECK((char *)shm.pools == (char *)base + h->pools_off);
	CHECK((char *)shm.slots == (char *)base + h->slots_off);
	CHECK((char *)shm.rings == (char *)base + h->rings_off);
	CHECK_INT(h->pools_off % 64, ==, 0);
	CHECK_INT(h->slots_off % 64, ==, 0);
	CHECK_INT(h->rings_off % 64, ==, 0);
	CHECK_INT(h->rings_off + 4 * PGP_RING_SIZE * sizeof(struct pgp_shm_waiter), <=, size);
	for (i = 0; i < 4; i++) {
		CHECK_INT(shm.pools[i].index, ==, i);
		CHECK_INT(shm.pools[i].nslots, ==, 0);
	}
	for (i = 0; i < 16; i++) {
		CHECK_INT(shm.slots[i].index, ==, i);
		CHECK_INT(atomic_load(&shm.slots[i].word), ==, 0); /* EMPTY */
	}
	pgp_shm_publish(&shm);
	CHECK_INT(atomic_load(&h->state), ==, PGP_SHM_RUNNING);
	CHECK_INT(atomic_load(&h->heartbeat_us), >, 0);
	munmap(base, size);
}

PGP_TEST(format_refuses_bad_arguments)
{
	size_t size = pgp_shm_layout_size(PGP_MAX_POOLS, 8);
	void *base = map_shared(size);
	pgp_shm shm;

	CHECK_INT(pgp_shm_format(base, size, 0, 8, EPOCH, &shm), ==, -EINVAL);
	CHECK_INT(pgp_shm_format(base, size, PGP_MAX_POOLS + 1, 8, EPOCH, &shm), ==, -EINVAL);
	CHECK_INT(pgp_shm_format(base, size, 1, PGP_MAX_SLOTS + 1, EPOCH, &shm), ==, -EINVAL);
	CHECK_INT(pgp_shm_format(base, size, 1, 8, 0, &shm), ==, -EINVAL);
	CHECK_INT(pgp_shm_format(NULL, size, 1, 8, EPOCH, &shm), ==, -EINVAL);
	CHECK_INT(pgp_shm_format(base, pgp_shm_layout_size(1, 8) - 1, 1, 8, EPOCH, &shm), ==,
	          -ENOSPC);
	CHECK_INT(pgp_shm_format(base, size, PGP_MAX_POOLS, 8, EPOCH, &shm), ==, 0);
	munmap(base, size);
}

/* Corrupt one header field, expect -EPROTO, restore, expect 0. */
#define CORRUPT(field, bad)                                                                        \
	do {                                                                                       \
		__typeof__(h->field) saved_ = h->field;                                            \
		h->field = (bad);                                                                  \
		if (pgp_shm_validate(base, size, &v) != -EPROTO)                                   \
			pgp_test_fail(__FILE__, __LINE__, "corrupted %s accepted", #field);        \
		h->field = saved_;                                                                 \
		CHECK_INT(pgp_shm_validate(base, size, &v), ==, 0);                                \
	} while (0)

PGP_TEST(validate_rejects_corruption)
{
	size_t size = pgp_shm_layout_size(4, 16);
	void *base = map_shared(size);
	struct pgp_shm_header *h = base;
	pgp_shm shm, v;

	CHECK_INT(pgp_shm_format(base, size, 4, 16, EPOCH, &shm), ==, 0);
	CHECK_INT(pgp_shm_validate(base, size, &v), ==, 0);
	CHECK(v.slots == shm.slots && v.rings == shm.rings && v.epoch == EPOCH);
	CORRUPT(magic, PGP_SHM_MAGIC ^ 1);
	CORRUPT(version, PGP_SHM_VERSION + 1);
	CORRUPT(header_size, sizeof(*h) + 8);
	CORRUPT(pool_size, sizeof(struct pgp_shm_pool) - 8);
	CORRUPT(slot_size, sizeof(struct pgp_shm_slot) + 8);
	CORRUPT(waiter_size, sizeof(struct pgp_shm_waiter) * 2);
	CORRUPT(ring_size, PGP_RING_SIZE * 2);
	CORRUPT(size, size + 4096); /* claims more than is mapped */
	CORRUPT(npools_cap, 0);
	CORRUPT(npools_cap, PGP_MAX_POOLS + 1);
	CORRUPT(npools_cap, 5); /* moves every later offset */
	CORRUPT(npools, 5);
	CORRUPT(nslots, PGP_MAX_SLOTS + 1);
	CORRUPT(nslots, 4000); /* the rings would run past the end */
	CORRUPT(nslots, 15);   /* the rings offset no longer matches */
	CORRUPT(pools_off, h->pools_off + 64);
	CORRUPT(slots_off, h->slots_off - 64);
	CORRUPT(slots_off, (uint64_t)1 << 40);
	CORRUPT(rings_off, h->rings_off + 64);
	CORRUPT(rings_off, UINT64_MAX - 8);
	CHECK_INT(pgp_shm_validate(base, sizeof(*h) - 1, &v), ==, -EPROTO);
	CHECK_INT(pgp_shm_validate(base, size - 4096, &v), ==, -EPROTO);
	CHECK_INT(pgp_shm_validate(NULL, size, &v), ==, -EPROTO);
	munmap(base, size);
}

PGP_TEST(map_by_name)
{
	char name[64];
	size_t size = pgp_shm_layout_size(2, 8);
	pgp_shm broker, worker;
	void *base;
	int fd;

	snprintf(name, sizeof(name), "/pgpool-common-unit-%d", (int)getpid());
	CHECK_INT(pgp_shm_map(name, &worker), ==, -ENOENT);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_INT(ftruncate(fd, (off_t)size), ==, 0);
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(base != MAP_FAILED);
	/* Not formatted yet: zeros are not a segment. */
	CHECK_INT(pgp_shm_map(name, &worker), ==, -EPROTO);
	CHECK_INT(pgp_shm_format(base, size, 2, 8, EPOCH, &broker), ==, 0);
	setup_pool(&broker, 1, 4, 4);
	pgp_shm_publish(&broker);
	CHECK_INT(pgp_shm_map(name, &worker), ==, 0);
	CHECK(worker.base != base); /* a second mapping of the same memory */
	CHECK_INT(worker.epoch, ==, EPOCH);
	CHECK_INT(worker.size, ==, size);
	CHECK_STR(pgp_shm_pool_at(&worker, 1)->name, "pool1");
	/* Writes through one mapping are seen through the other. */
	atomic_store(&pgp_shm_slot_at(&worker, 5)->word, pgp_slot_word(PGP_SLOT_LEASED, 9, 105));
	CHECK_INT(pgp_slot_word_owner(atomic_load(&pgp_shm_slot_at(&broker, 5)->word)), ==, 9);
	pgp_shm_unmap(&worker);
	CHECK(worker.base == NULL);
	/* A segment too small for a header. */
	CHECK_INT(ftruncate(fd, 16), ==, 0);
	CHECK_INT(pgp_shm_map(name, &worker), ==, -EPROTO);
	close(fd);
	munmap(base, size);
	CHECK_INT(shm_unlink(name), ==, 0);
}

PGP_TEST(accessors_bounds)
{
	pgp_shm shm;
	size_t size = pgp_shm_layout_size(2, 8);
	struct pgp_shm_pool *p;

	CHECK_INT(pgp_shm_format(map_shared(size), size, 2, 8, EPOCH, &shm), ==, 0);
	p = setup_pool(&shm, 1, 6, 2);
	CHECK(pgp_shm_pool_at(&shm, 0) == &shm.pools[0]);
	CHECK(pgp_shm_pool_at(&shm, 1) == p);
	CHECK(pgp_shm_pool_at(&shm, 2) == NULL);
	CHECK(pgp_shm_pool_at(&shm, UINT32_MAX) == NULL);
	CHECK(pgp_shm_slot_at(&shm, 7) == &shm.slots[7]);
	CHECK(pgp_shm_slot_at(&shm, 8) == NULL);
	CHECK(pgp_shm_pool_slot(&shm, p, 0) == &shm.slots[6]);
	CHECK(pgp_shm_pool_slot(&shm, p, 1) == &shm.slots[7]);
	CHECK(pgp_shm_pool_slot(&shm, p, 2) == NULL);
	/* A pool whose slot range was corrupted never yields a slot outside the array. */
	p->nslots = 3;
	CHECK(pgp_shm_pool_slot(&shm, p, 0) == NULL);
	p->first_slot = UINT32_MAX;
	p->nslots = 2;
	CHECK(pgp_shm_pool_slot(&shm, p, 0) == NULL);
	p->first_slot = 7;
	p->nslots = UINT32_MAX;
	CHECK(pgp_shm_pool_slot(&shm, p, 0) == NULL);
}

PGP_TEST(slot_word_packing)
{
	static const uint32_t states[] = {PGP_SLOT_EMPTY, PGP_SLOT_LEASED, PGP_SLOT_RESET, 0xff};
	static const uint32_t owners[] = {0, 1, 0x123456, PGP_ATTACH_ID_MAX};
	static const uint32_t gens[] = {0, 1, 0x80000000u, UINT32_MAX};
	size_t a, b, c;

	for (a = 0; a < PGP_ARRAY_LEN(states); a++) {
		for (b = 0; b < PGP_ARRAY_LEN(owners); b++) {
			for (c = 0; c < PGP_ARRAY_LEN(gens); c++) {
				uint64_t w = pgp_slot_word(states[a], owners[b], gens[c]);

				CHECK_INT(pgp_slot_word_state(w), ==, states[a]);
				CHECK_INT(pgp_slot_word_owner(w), ==, owners[b]);
				CHECK_INT(pgp_slot_word_gen(w), ==, gens[c]);
			}
		}
	}
	/* Out-of-range state and owner bits are masked, never spill into a neighbour field. */
	CHECK(pgp_slot_word(0x1ff, 0, 0) == pgp_slot_word(0xff, 0, 0));
	CHECK(pgp_slot_word(0, 0x1000001, 0) == pgp_slot_word(0, 1, 0));
	CHECK_INT(pgp_slot_word_gen(pgp_slot_word(0xff, 0xffffffff, 7)), ==, 7);
	CHECK(pgp_slot_word(PGP_SLOT_IDLE, 0, 5) == ((uint64_t)5 << 32 | PGP_SLOT_IDLE));
}

/* ---- leasing in one process ---- */

PGP_TEST(try_acquire_and_release)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 4);
	uint32_t gen, status, seen = 0;
	int i, s;

	for (i = 0; i < 4; i++) {
		s = pgp_pool_try_acquire(&shm, p, 7, NULL, &gen, &status);
		CHECK_INT(s, >=, 0);
		CHECK_INT(s, <, 4);
		CHECK(!(seen & (1u << s)));
		seen |= 1u << s;
		CHECK_INT(gen, ==, 100 + s);
		CHECK(slot_word(&shm, p, (uint32_t)s) == pgp_slot_word(PGP_SLOT_LEASED, 7, gen));
	}
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 7, NULL, &gen, &status), ==, -EAGAIN);
	CHECK_INT(status, ==, PGP_POOL_OPEN);

	/* Only the owner with the right generation releases. */
	CHECK_INT(pgp_pool_release(&shm, p, 2, 8, 102), ==, -ESTALE);
	CHECK_INT(pgp_pool_release(&shm, p, 2, 7, 103), ==, -ESTALE);
	CHECK_INT(pgp_pool_release(&shm, p, 4, 7, 104), ==, -EINVAL);
	CHECK_INT(pgp_pool_release(&shm, p, 2, 7, 102), ==, 0);
	CHECK(slot_word(&shm, p, 2) == pgp_slot_word(PGP_SLOT_IDLE, 0, 102));
	CHECK_INT(pgp_pool_release(&shm, p, 2, 7, 102), ==, -ESTALE); /* twice */
	s = pgp_pool_try_acquire(&shm, p, 9, NULL, &gen, &status);
	CHECK_INT(s, ==, 2);
	CHECK_INT(gen, ==, 102);
	CHECK_INT(pgp_slot_word_owner(slot_word(&shm, p, 2)), ==, 9);
}

PGP_TEST(try_acquire_prefers_cached_fds)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 4);
	uint32_t cached[4] = {0, 0, 102, 0}, gen, status;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, cached, &gen, &status), ==, 2);
	CHECK_INT(gen, ==, 102);
	/* Slot 2 is taken: an uncached one next. */
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, cached, &gen, &status), ==, 0);
	CHECK_INT(pgp_pool_release(&shm, p, 2, 1, 102), ==, 0);
	/* A cached generation that no longer matches (the backend was replaced) is not preferred.
	 */
	atomic_store(&pgp_shm_pool_slot(&shm, p, 2)->word, pgp_slot_word(PGP_SLOT_IDLE, 0, 555));
	cached[3] = 103;
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, cached, &gen, &status), ==, 3);
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, cached, &gen, &status), ==, 1);
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, cached, &gen, &status), ==, 2);
	CHECK_INT(gen, ==, 555);
}

PGP_TEST(try_acquire_respects_pool_status)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 2);
	static const uint32_t closed[] = {PGP_POOL_PAUSED, PGP_POOL_DISABLED, PGP_POOL_CIRCUIT_OPEN,
	                                  PGP_POOL_DRAINING};
	uint32_t gen, status;
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(closed); i++) {
		atomic_store(&p->status, closed[i]);
		CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, -EPERM);
		CHECK_INT(status, ==, closed[i]);
		/* A closed pool does not queue: acquire returns at once (PAUSED waits). */
		if (closed[i] != PGP_POOL_PAUSED)
			CHECK_INT(pgp_pool_acquire(&shm, p, 1, getpid(), NULL, 1000000, &gen, NULL,
			                           NULL, NULL, &status),
			          ==, -EPERM);
	}
	atomic_store(&p->status, PGP_POOL_OPEN);
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), >=, 0);
}

PGP_TEST(try_acquire_skips_non_idle_states)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 6);
	static const uint32_t states[] = {PGP_SLOT_EMPTY,   PGP_SLOT_CONNECTING, PGP_SLOT_BUSY,
	                                  PGP_SLOT_DISCARD, PGP_SLOT_RESET,      PGP_SLOT_LEASED};
	uint32_t gen, status, i;

	for (i = 0; i < 6; i++)
		atomic_store(&pgp_shm_pool_slot(&shm, p, i)->word, pgp_slot_word(states[i], 3, 50));
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, -EAGAIN);
}

PGP_TEST(return_to_broker_states)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 2);
	uint32_t gen, status;
	int s = pgp_pool_try_acquire(&shm, p, 4, NULL, &gen, &status);

	CHECK_INT(s, ==, 0);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 4, gen, PGP_SLOT_IDLE), ==, -EINVAL);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 2, 4, gen, PGP_SLOT_RESET), ==, -EINVAL);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 5, gen, PGP_SLOT_RESET), ==, -ESTALE);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 4, gen, PGP_SLOT_RESET), ==, 0);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_RESET, 4, gen));
	/* Gone from the owner: neither release nor a second return works. */
	CHECK_INT(pgp_pool_release(&shm, p, 0, 4, gen), ==, -ESTALE);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 4, gen, PGP_SLOT_DISCARD), ==, -ESTALE);
	s = pgp_pool_try_acquire(&shm, p, 4, NULL, &gen, &status);
	CHECK_INT(s, ==, 1);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 1, 4, gen, PGP_SLOT_DISCARD), ==, 0);
	CHECK_INT(pgp_slot_word_state(slot_word(&shm, p, 1)), ==, PGP_SLOT_DISCARD);
}

/* A caller that no longer owns the slot must not disturb the current owner's record. */
PGP_TEST(stale_return_keeps_owner_pid)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct pgp_shm_slot *s = pgp_shm_pool_slot(&shm, p, 0);
	uint32_t gen, status;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 4, NULL, &gen, &status), ==, 0);
	atomic_store(&s->owner_pid, 4444); /* what the extension records for its lease */
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 5, gen, PGP_SLOT_DISCARD), ==, -ESTALE);
	CHECK_INT(pgp_pool_return_to_broker(&shm, p, 0, 4, gen + 1, PGP_SLOT_DISCARD), ==, -ESTALE);
	CHECK_INT(atomic_load(&s->owner_pid), ==, 4444);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 5, gen), ==, -ESTALE);
	CHECK_INT(atomic_load(&s->owner_pid), ==, 4444);
}

PGP_TEST(offer_from_broker)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 2);
	uint64_t busy = pgp_slot_word(PGP_SLOT_BUSY, 0, 777);
	uint64_t connecting = pgp_slot_word(PGP_SLOT_CONNECTING, 0, 778);

	atomic_store(&pgp_shm_pool_slot(&shm, p, 1)->word, busy);
	CHECK_INT(pgp_pool_offer(&shm, p, 1, connecting), ==, -ESTALE);
	CHECK_INT(pgp_pool_offer(&shm, p, 2, busy), ==, -EINVAL);
	CHECK_INT(pgp_pool_offer(&shm, p, 1, busy), ==, 0);
	CHECK(slot_word(&shm, p, 1) == pgp_slot_word(PGP_SLOT_IDLE, 0, 777));
	atomic_store(&pgp_shm_pool_slot(&shm, p, 0)->word, connecting);
	CHECK_INT(pgp_pool_offer(&shm, p, 0, connecting), ==, 0);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_IDLE, 0, 778));
}

PGP_TEST(count_states)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 8);
	static const uint32_t states[8] = {PGP_SLOT_IDLE,  PGP_SLOT_IDLE,      PGP_SLOT_LEASED,
	                                   PGP_SLOT_EMPTY, PGP_SLOT_BUSY,      PGP_SLOT_RESET,
	                                   PGP_SLOT_IDLE,  PGP_SLOT_CONNECTING};
	uint32_t out[8], i;

	for (i = 0; i < 8; i++)
		atomic_store(&pgp_shm_pool_slot(&shm, p, i)->word, pgp_slot_word(states[i], 1, 1));
	memset(out, 0xff, sizeof(out));
	pgp_pool_count_states(&shm, p, out);
	CHECK_INT(out[PGP_SLOT_EMPTY], ==, 1);
	CHECK_INT(out[PGP_SLOT_CONNECTING], ==, 1);
	CHECK_INT(out[PGP_SLOT_IDLE], ==, 3);
	CHECK_INT(out[PGP_SLOT_LEASED], ==, 1);
	CHECK_INT(out[PGP_SLOT_BUSY], ==, 1);
	CHECK_INT(out[PGP_SLOT_DISCARD], ==, 0);
	CHECK_INT(out[PGP_SLOT_RESET], ==, 1);
	CHECK_INT(out[7], ==, 0);
	/* A pool with a corrupted range counts only slots inside the array. */
	p->nslots = 1000;
	pgp_pool_count_states(&shm, p, out);
	CHECK_INT(out[PGP_SLOT_IDLE] + out[PGP_SLOT_LEASED] + out[PGP_SLOT_EMPTY] +
	              out[PGP_SLOT_BUSY] + out[PGP_SLOT_RESET] + out[PGP_SLOT_CONNECTING],
	          ==, 8);
}

/* ---- waiting, with processes ---- */

/* Results children report to the parent through a shared page. */
struct shared_results {
	_Atomic uint32_t order_next;
	_Atomic uint32_t order[64]; /* attach ids in the order they got the slot */
	_Atomic int32_t rc[64];
	_Atomic uint32_t holders[8];
	_Atomic uint32_t violations;
	_Atomic uint32_t done;
	_Atomic uint32_t enqueued_calls[64];
};

static struct shared_results *shared_results(void)
{
	struct shared_results *r = map_shared(sizeof(struct shared_results));

	memset(r, 0, sizeof(*r));
	return r;
}

struct child_ctx {
	struct shared_results *res;
	uint32_t idx;
};

static void count_enqueued(void *opaque)
{
	struct child_ctx *c = opaque;

	atomic_fetch_add(&c->res->enqueued_calls[c->idx], 1);
}

/* Child: acquire (waiting up to timeout), record the order, hold a moment, release. */
static pid_t spawn_waiter(pgp_shm *shm, struct pgp_shm_pool *p, struct shared_results *res,
                          uint32_t idx, uint32_t attach_id, uint64_t timeout_us, uint64_t hold_us)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		struct child_ctx ctx = {res, idx};
		uint32_t gen, status;
		int s = pgp_pool_acquire(shm, p, attach_id, getpid(), NULL, timeout_us, &gen,
		                         count_enqueued, NULL, &ctx, &status);

		atomic_store(&res->rc[idx], s);
		if (s < 0)
			_exit(1);
		if (pgp_slot_word(PGP_SLOT_LEASED, attach_id, gen) !=
		    slot_word(shm, p, (uint32_t)s))
			_exit(2);
		atomic_store(&res->order[atomic_fetch_add(&res->order_next, 1)], attach_id);
		if (hold_us) {
			struct timespec ts = {0, (long)hold_us * 1000};

			nanosleep(&ts, NULL);
		}
		_exit(pgp_pool_release(shm, p, (uint32_t)s, attach_id, gen) == 0 ? 0 : 3);
	}
	return pid;
}

PGP_TEST(fifo_handoff_between_processes)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, status, k;
	pid_t pids[6];

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	/* Queue six waiters one after the other, so the queue order is known. */
	for (k = 0; k < 6; k++) {
		pids[k] = spawn_waiter(&shm, p, res, k, 10 + k, 10 * 1000 * 1000, 2000);
		WAIT_FOR(atomic_load(&p->waiting) == k + 1);
	}
	CHECK_INT(atomic_load(&p->waiting_max), ==, 6);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	for (k = 0; k < 6; k++)
		CHECK_INT(reap(pids[k]), ==, 0);
	CHECK_INT(atomic_load(&res->order_next), ==, 6);
	for (k = 0; k < 6; k++) {
		CHECK_INT(atomic_load(&res->order[k]), ==, 10 + k); /* first come, first served */
		CHECK_INT(atomic_load(&res->enqueued_calls[k]), ==, 1);
	}
	/* Nobody left waiting: the slot ends IDLE, counters add up. */
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_IDLE, 0, 100));
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(atomic_load(&p->acquire_waits), ==, 6);
	CHECK_INT(atomic_load(&p->acquire_timeouts), ==, 0);
	CHECK_INT(atomic_load(&p->acquire_wait_us), >, 0);
}

PGP_TEST(broker_offer_hands_slot_to_waiter)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint64_t busy = pgp_slot_word(PGP_SLOT_CONNECTING, 0, 901);
	pid_t pid;

	atomic_store(&pgp_shm_pool_slot(&shm, p, 0)->word, busy);
	pid = spawn_waiter(&shm, p, res, 0, 33, 10 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	CHECK_INT(pgp_pool_offer(&shm, p, 0, busy), ==, 1);
	CHECK_INT(reap(pid), ==, 0);
	CHECK_INT(atomic_load(&res->order[0]), ==, 33);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_IDLE, 0, 901));
}

/* A slot the broker retires (slot.retire) is not handed to the waiter at release: it goes back
 * to the broker (RESET, return 1), which offers the waiter a replacement. */
PGP_TEST(retired_slot_goes_back_to_broker)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	struct pgp_shm_slot *sl = pgp_shm_pool_slot(&shm, p, 0);
	uint64_t fresh = pgp_slot_word(PGP_SLOT_CONNECTING, 0, 777);
	uint32_t gen, status;
	pid_t pid;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	pid = spawn_waiter(&shm, p, res, 0, 44, 10 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	atomic_store(&sl->retire, 1);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 2, gen), ==, -ESTALE); /* not the owner */
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 1);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_RESET, 1, gen));
	CHECK_INT(atomic_load(&p->waiting), ==, 1); /* still queued */
	/* The broker closed it and connected a new backend: the waiter gets that one. */
	atomic_store(&sl->retire, 0);
	atomic_store(&sl->word, fresh);
	CHECK_INT(pgp_pool_offer(&shm, p, 0, fresh), ==, 1);
	CHECK_INT(reap(pid), ==, 0);
	CHECK_INT(atomic_load(&res->order[0]), ==, 44);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_IDLE, 0, 777));
}

PGP_TEST(acquire_timeout)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	uint32_t gen, gen2, status;
	uint64_t t0, dt;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	t0 = pgp_now_us();
	CHECK_INT(pgp_pool_acquire(&shm, p, 2, getpid(), NULL, 150 * 1000, &gen2, NULL, NULL, NULL,
	                           &status),
	          ==, -ETIMEDOUT);
	dt = pgp_now_us() - t0;
	CHECK_INT(dt, >=, 150 * 1000);
	CHECK_INT(dt, <, 2 * 1000 * 1000);
	CHECK_INT(atomic_load(&p->acquire_timeouts), ==, 1);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	/* The abandoned cell is skipped: the release makes the slot IDLE, not LEASED by 2. */
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_IDLE, 0, 100));
	CHECK_INT(
	    pgp_pool_acquire(&shm, p, 2, getpid(), NULL, 1000, &gen2, NULL, NULL, NULL, &status),
	    ==, 0);
}

static bool interrupt_after_three(void *opaque)
{
	int *calls = opaque;

	return ++*calls >= 3;
}

PGP_TEST(acquire_interrupted)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	uint32_t gen, gen2, status;
	uint64_t t0, dt;
	int calls = 0;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	t0 = pgp_now_us();
	CHECK_INT(pgp_pool_acquire(&shm, p, 2, getpid(), NULL, 30 * 1000 * 1000, &gen2, NULL,
	                           interrupt_after_three, &calls, &status),
	          ==, -EINTR);
	dt = pgp_now_us() - t0;
	CHECK_INT(calls, ==, 3);
	/* Polled at least every PGP_WAIT_SLICE_US while asleep (three calls take about two slices;
	 * the bound leaves room for a loaded machine and is still far below the 30 s timeout). */
	CHECK_INT(dt, <, 10 * PGP_WAIT_SLICE_US);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK_INT(pgp_slot_word_state(slot_word(&shm, p, 0)), ==, PGP_SLOT_IDLE);
}

PGP_TEST(cancel_all_waiters)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, status, k;
	pid_t pids[3];

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	for (k = 0; k < 3; k++)
		pids[k] = spawn_waiter(&shm, p, res, k, 20 + k, 30 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 3);
	/* The broker disables the pool: every waiter returns -EPERM at once. */
	atomic_store(&p->status, PGP_POOL_DISABLED);
	CHECK_INT(pgp_pool_cancel_waiters(&shm, p, 0), ==, 3);
	for (k = 0; k < 3; k++) {
		CHECK_INT(reap(pids[k]), ==, 1);
		CHECK_INT(atomic_load(&res->rc[k]), ==, -EPERM);
	}
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(pgp_pool_cancel_waiters(&shm, p, 0), ==, 0);
	atomic_store(&p->status, PGP_POOL_OPEN);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK_INT(pgp_slot_word_state(slot_word(&shm, p, 0)), ==, PGP_SLOT_IDLE);
}

PGP_TEST(cancel_waiters_of_dead_process)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, status;
	pid_t dead, live;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	dead = spawn_waiter(&shm, p, res, 0, 40, 30 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	live = spawn_waiter(&shm, p, res, 1, 41, 30 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 2);
	kill(dead, SIGKILL);
	CHECK_INT(reap(dead), ==, 128 + SIGKILL);
	/* The broker saw its control connection close. */
	CHECK_INT(pgp_pool_cancel_waiters(&shm, p, 40), ==, 1);
	CHECK_INT(atomic_load(&p->waiting), ==, 1);
	/* The dead waiter is skipped: the slot goes to the live one. */
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK_INT(reap(live), ==, 0);
	CHECK_INT(atomic_load(&res->order[0]), ==, 41);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(pgp_pool_cancel_waiters(&shm, p, 40), ==, 0);
}

PGP_TEST(granted_to_process_that_died)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, status;
	pid_t victim;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	victim = spawn_waiter(&shm, p, res, 0, 50, 30 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	/* Frozen before it can read its grant, then killed. */
	kill(victim, SIGSTOP);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_LEASED, 50, 100));
	kill(victim, SIGKILL);
	CHECK_INT(reap(victim), ==, 128 + SIGKILL);
	/* The unread grant's cell is freed; the slot stays LEASED by the dead attachment for the
	 * broker to reclaim. */
	CHECK_INT(pgp_pool_cancel_waiters(&shm, p, 50), ==, 1);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK(slot_word(&shm, p, 0) == pgp_slot_word(PGP_SLOT_LEASED, 50, 100));
	/* After the reclaim (broker: LEASED -> BUSY -> offer) the pool serves again. */
	atomic_store(&pgp_shm_pool_slot(&shm, p, 0)->word, pgp_slot_word(PGP_SLOT_BUSY, 0, 100));
	CHECK_INT(pgp_pool_offer(&shm, p, 0, pgp_slot_word(PGP_SLOT_BUSY, 0, 100)), ==, 0);
	CHECK_INT(pgp_pool_acquire(&shm, p, 2, getpid(), NULL, 1000 * 1000, &gen, NULL, NULL, NULL,
	                           &status),
	          ==, 0);
}

/* PAUSED: waiters wait (no -EPERM) and releases do not hand out slots; on resume the broker
 * hands the idle slots to the queue itself (IDLE -> BUSY, then offer). */
PGP_TEST(paused_pool_waits_until_resume_offer)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, 100);
	uint64_t busy = pgp_slot_word(PGP_SLOT_BUSY, 0, 100);
	uint32_t gen, status;
	struct timespec ts = {0, 50 * 1000 * 1000};
	pid_t pid;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	atomic_store(&p->status, PGP_POOL_PAUSED);
	pid = spawn_waiter(&shm, p, res, 0, 90, 10 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK(slot_word(&shm, p, 0) == idle);
	nanosleep(&ts, NULL);
	CHECK_INT(atomic_load(&res->order_next), ==, 0); /* still waiting */
	atomic_store(&p->status, PGP_POOL_OPEN);
	CHECK(atomic_compare_exchange_strong(&pgp_shm_pool_slot(&shm, p, 0)->word, &idle, busy));
	CHECK_INT(pgp_pool_offer(&shm, p, 0, busy), ==, 1);
	CHECK_INT(reap(pid), ==, 0);
	CHECK_INT(atomic_load(&res->order[0]), ==, 90);
}

/* Many processes, few slots: never two holders of one slot, no lost wakeup (no timeout). */
PGP_TEST(contention_mutual_exclusion)
{
	enum { NPROC = 8, ROUNDS = 300, NSLOTS = 2 };
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, NSLOTS);
	struct shared_results *res = shared_results();
	pid_t pids[NPROC];
	uint32_t k;

	for (k = 0; k < NPROC; k++) {
		pids[k] = fork();
		CHECK(pids[k] >= 0);
		if (pids[k] == 0) {
			uint32_t attach = 60 + k, cached[NSLOTS] = {0}, gen, status;
			int i;

			for (i = 0; i < ROUNDS; i++) {
				int s = pgp_pool_acquire(&shm, p, attach, getpid(), cached,
				                         10 * 1000 * 1000, &gen, NULL, NULL, NULL,
				                         &status);

				if (s < 0 || s >= NSLOTS)
					_exit(1);
				cached[s] = gen;
				if (atomic_fetch_add(&res->holders[s], 1) != 0)
					atomic_fetch_add(&res->violations, 1);
				if (pgp_slot_word_owner(slot_word(&shm, p, (uint32_t)s)) != attach)
					atomic_fetch_add(&res->violations, 1);
				if (i % 3 == 0)
					sched_yield();
				atomic_fetch_sub(&res->holders[s], 1);
				if (pgp_pool_release(&shm, p, (uint32_t)s, attach, gen) != 0)
					_exit(2);
			}
			_exit(0);
		}
	}
	for (k = 0; k < NPROC; k++)
		CHECK_INT(reap(pids[k]), ==, 0);
	CHECK_INT(atomic_load(&res->violations), ==, 0);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(atomic_load(&p->acquire_timeouts), ==, 0);
	for (k = 0; k < NSLOTS; k++)
		CHECK_INT(pgp_slot_word_state(slot_word(&shm, p, k)), ==, PGP_SLOT_IDLE);
}

/* More abandoned waits than the ring has cells, then normal FIFO service again. */
PGP_TEST(ring_wraps_after_many_timeouts)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, gen2, status, k;
	pid_t pids[3];

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	for (k = 0; k < PGP_RING_SIZE + 50; k++)
		CHECK_INT(pgp_pool_acquire(&shm, p, 2, getpid(), NULL, 300, &gen2, NULL, NULL, NULL,
		                           &status),
		          ==, -ETIMEDOUT);
	CHECK_INT(atomic_load(&p->waiting), ==, 0);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK_INT(pgp_slot_word_state(slot_word(&shm, p, 0)), ==, PGP_SLOT_IDLE);
	CHECK_INT(atomic_load(&p->ring_head), ==, atomic_load(&p->ring_tail));
	/* And the queue works as before. */
	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	for (k = 0; k < 3; k++) {
		pids[k] = spawn_waiter(&shm, p, res, k, 70 + k, 10 * 1000 * 1000, 1000);
		WAIT_FOR(atomic_load(&p->waiting) == k + 1);
	}
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	for (k = 0; k < 3; k++) {
		CHECK_INT(reap(pids[k]), ==, 0);
		CHECK_INT(atomic_load(&res->order[k]), ==, 70 + k);
	}
}

/* A waiter killed inside the ring lock's critical section must not wedge the pool. */
PGP_TEST(ring_lock_survives_dead_holder)
{
	pgp_shm shm;
	struct pgp_shm_pool *p = make_segment(&shm, 1);
	struct shared_results *res = shared_results();
	uint32_t gen, status;
	pid_t holder, waiter;

	CHECK_INT(pgp_pool_try_acquire(&shm, p, 1, NULL, &gen, &status), ==, 0);
	holder = fork();
	CHECK(holder >= 0);
	if (holder == 0) {
		pthread_mutex_lock(&p->ring_lock);
		atomic_store(&res->done, 1);
		pause();
		_exit(0);
	}
	WAIT_FOR(atomic_load(&res->done) == 1);
	kill(holder, SIGKILL);
	CHECK_INT(reap(holder), ==, 128 + SIGKILL);
	waiter = spawn_waiter(&shm, p, res, 0, 80, 10 * 1000 * 1000, 0);
	WAIT_FOR(atomic_load(&p->waiting) == 1);
	CHECK_INT(pgp_pool_release(&shm, p, 0, 1, gen), ==, 0);
	CHECK_INT(reap(waiter), ==, 0);
	CHECK_INT(atomic_load(&res->order[0]), ==, 80);
}

PGP_TEST(futex_wait_and_wake)
{
	_Atomic uint32_t *word = map_shared(sizeof(*word));
	uint64_t t0;
	pid_t pid;

	atomic_store(word, 5);
	CHECK_INT(pgp_futex_wait(word, 6, 1000), ==, -EAGAIN); /* value differs: no sleep */
	t0 = pgp_now_us();
	CHECK_INT(pgp_futex_wait(word, 5, 20 * 1000), ==, -ETIMEDOUT);
	CHECK_INT(pgp_now_us() - t0, >=, 20 * 1000);
	CHECK_INT(pgp_futex_wake(word, 1), ==, 0); /* nobody asleep */
	/* Across processes on a MAP_SHARED word (no FUTEX_PRIVATE_FLAG). */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		while (atomic_load(word) == 5)
			(void)pgp_futex_wait(word, 5, 0);
		_exit(atomic_load(word) == 7 ? 0 : 1);
	}
	{
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	atomic_store(word, 7);
	CHECK_INT(pgp_futex_wake(word, 1), >=, 0);
	CHECK_INT(reap(pid), ==, 0);
}

int main(int argc, char **argv)
{
	return pgp_test_main(argc, argv);
}
