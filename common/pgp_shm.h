/*
 * pgp_shm.h: the shared-memory segment shared by pgpool-broker and every PHP worker on the host.
 *
 * The broker creates the segment (shm_open + ftruncate + mmap) and is the only one that lays it
 * out; workers map it read-write and change slot states only with the CAS helpers below. The
 * segment holds offsets, never pointers. Every field names its writer in a trailing comment:
 * "broker" fields are written only by the broker; "owner" fields only by the worker holding the
 * slot's lease (and by the broker while it holds the slot in BUSY); "workers" fields by any
 * worker, atomically. The broker re-checks everything a worker may have written before using it.
 *
 * Slot state machine (the full table is in docs/ARCHITECTURE.md):
 *
 *   EMPTY --broker connects--> CONNECTING --ok--> IDLE (or straight to LEASED: handed to a waiter)
 *   IDLE --worker CAS--> LEASED(owner) --owner releases--> IDLE / LEASED(oldest waiter)
 *   LEASED(owner) --owner hands back a broken or dirty connection--> DISCARD / RESET
 *   LEASED(owner) --owner's control connection closes--> BUSY (broker reclaims: cancel, drain,
 *                                                              rollback, reset) --> IDLE or EMPTY
 *   IDLE --broker CAS (health check, idle timeout, recycle)--> BUSY --> IDLE / EMPTY
 *   DISCARD / RESET --broker CAS--> BUSY --> IDLE / EMPTY
 *   LEASED(owner) with slot.retire set --owner releases--> RESET (the broker closes it and
 *                                                              serves the waiters after)
 *
 * The slot word packs state (8 bits), owner attachment id (24 bits) and the backend generation
 * (32 bits). The generation changes whenever the slot gets a new backend connection, so a worker
 * that caches the fd of (slot, generation) knows when its copy is stale.
 */
#ifndef PGP_SHM_H
#define PGP_SHM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pgp_common.h"

#define PGP_SHM_MAGIC   0x315f4c4f4f504750ULL /* "PGPOOL_1" little-endian */
#define PGP_SHM_VERSION 3u

#define PGP_NAME_MAX      64        /* pool name, including NUL */
#define PGP_MAX_POOLS     64        /* pools per broker */
#define PGP_MAX_SLOTS     4096      /* slots (backends) per broker */
#define PGP_RING_SIZE     1024      /* waiter cells per pool, power of two */
#define PGP_SLOT_STMTS    64        /* prepared statements remembered per slot */
#define PGP_ATTACH_ID_MAX 0xffffffu /* attachment ids are 24-bit, never 0 */
#define PGP_WAIT_SLICE_US 200000u   /* longest futex sleep before re-checking `interrupted` */

/* Slot states; the comment names who may move a slot OUT of the state. */
enum pgp_slot_state {
	PGP_SLOT_EMPTY = 0,      /* broker: no backend; the broker may start a connection */
	PGP_SLOT_CONNECTING = 1, /* broker: libpq connection in progress */
	PGP_SLOT_IDLE = 2,    /* any authenticated worker (CAS to LEASED) or the broker (to BUSY) */
	PGP_SLOT_LEASED = 3,  /* owner worker; the broker only when the owner is gone */
	PGP_SLOT_BUSY = 4,    /* broker: health check, reclaim, reset or close in progress */
	PGP_SLOT_DISCARD = 5, /* broker: handed back broken by a worker; close and replace */
	PGP_SLOT_RESET = 6,   /* broker: handed back with session state; reset then IDLE */
};

/* Where the owner stands in the protocol on its leased connection (slot.proto_pos). */
enum pgp_proto_pos {
	PGP_POS_CLEAN = 0,   /* at a message boundary, nothing in flight; txn_status is valid */
	PGP_POS_WRITING = 1, /* a request is being written: the stream may hold half a message */
	PGP_POS_SENT = 2,    /* request written and any bytes read so far ended on a message
	                        boundary: the broker can cancel and drain to ReadyForQuery */
	PGP_POS_READING = 3, /* bytes are being read: the stream may be mid-message */
	PGP_POS_COPY = 4,    /* inside COPY IN/OUT */
};

/* slot.flags bits (owner). */
#define PGP_SLOTF_SESSION_STATE 0x1u /* the owner changed session state: reset before reuse */
#define PGP_SLOTF_PINNED        0x2u /* the owner keeps the lease across statements */

/* Pool modes. */
enum pgp_pool_mode {
	PGP_MODE_TRANSACTION = 0,
	PGP_MODE_SESSION = 1,
	PGP_MODE_STATEMENT = 2,
};

/* pool.status values; the comment names the writer. */
enum pgp_pool_status {
	PGP_POOL_OPEN = 0,         /* broker: leases allowed */
	PGP_POOL_PAUSED = 1,       /* broker: no new leases; waiters wait */
	PGP_POOL_DISABLED = 2,     /* broker: new leases fail with 08004 */
	PGP_POOL_CIRCUIT_OPEN = 3, /* broker: backend down; leases fail fast with 08006 */
	PGP_POOL_DRAINING = 4,     /* broker: removed by a reload; closes as leases end */
	PGP_POOL_CLOSED = 5,       /* broker: removed and drained; a reload may reuse the entry */
};

/* Segment header, at offset 0. */
struct pgp_shm_header {
	uint64_t magic;                /* broker: PGP_SHM_MAGIC */
	uint32_t version;              /* broker: PGP_SHM_VERSION */
	uint32_t header_size;          /* broker: sizeof(struct pgp_shm_header) */
	uint64_t size;                 /* broker: total mapped size in bytes */
	uint64_t epoch;                /* broker: random, nonzero, new at every broker start */
	_Atomic uint32_t state;        /* broker: 1 running, 2 stopping, 3 stopped */
	int32_t broker_pid;            /* broker: pid of the broker that owns the segment */
	uint64_t started_wall_us;      /* broker: wall-clock start time */
	_Atomic uint64_t heartbeat_us; /* broker: pgp_now_us(), refreshed every 100 ms */
	uint32_t npools;               /* broker: pools in use (<= PGP_MAX_POOLS) */
	uint32_t pool_size;            /* broker: sizeof(struct pgp_shm_pool) */
	uint64_t pools_off;            /* broker: offset of struct pgp_shm_pool[npools_cap] */
	uint32_t npools_cap;           /* broker: pool entries allocated */
	uint32_t nslots;               /* broker: slots allocated (sum of pool capacities) */
	uint32_t slot_size;            /* broker: sizeof(struct pgp_shm_slot) */
	uint32_t ring_size;            /* broker: PGP_RING_SIZE */
	uint64_t slots_off;            /* broker: offset of struct pgp_shm_slot[nslots] */
	uint64_t rings_off;            /* broker: offset of npools_cap rings of ring_size waiters */
	uint32_t waiter_size;          /* broker: sizeof(struct pgp_shm_waiter) */
	uint32_t reserved0;            /* broker: zero */
	_Atomic uint64_t generation_seq; /* broker: last backend generation handed out */
};

#define PGP_SHM_RUNNING  1u
#define PGP_SHM_STOPPING 2u
#define PGP_SHM_STOPPED  3u

/* Latency histograms: bucket i counts observations <= pgp_hist_bounds_us[i] (and above the
 * previous bound); the last bucket counts the rest (+Inf). Counts are per bucket, not cumulative,
 * so an observation is one relaxed atomic add; readers add them up. */
#define PGP_HIST_BOUNDS 17
extern const uint32_t pgp_hist_bounds_us[PGP_HIST_BOUNDS]; /* 50 us .. 10 s */

struct pgp_shm_hist {
	_Atomic uint64_t bucket[PGP_HIST_BOUNDS + 1];
};

/* What an error counted in pool.errors was (errors_by_type[]; sum = errors). */
enum pgp_err_type {
	PGP_ERR_ACQUIRE_TIMEOUT = 0,  /* 53300: no connection within acquire_timeout */
	PGP_ERR_ACQUIRE_CANCELED = 1, /* 57014: max_execution_time hit while waiting */
	PGP_ERR_POOL_UNAVAILABLE = 2, /* 08004/08006: pool disabled, circuit open, draining */
	PGP_ERR_BROKER = 3,           /* a broker round trip (fd transfer) failed */
	PGP_ERR_BACKEND = 4,          /* a leased connection was lost or a statement cut off */
	PGP_ERR_CONNECT = 5,          /* broker: opening a backend connection failed */
	PGP_ERR_OTHER = 6,
	PGP_ERR_TYPES = 7,
};
#define PGP_ERR_SLOTS 8 /* room in errors_by_type[] (>= PGP_ERR_TYPES) */

/* One pool. Counters are monotonically increasing (Prometheus counters). */
struct pgp_shm_pool {
	char name[PGP_NAME_MAX];          /* broker: pool name, NUL-terminated */
	uint32_t index;                   /* broker: own index in the pool array */
	uint32_t first_slot;              /* broker: index of the pool's first slot */
	uint32_t nslots;                  /* broker: slots reserved (capacity) */
	_Atomic uint32_t max_connections; /* broker: current limit (<= nslots; reload may lower) */
	uint32_t min_connections;         /* broker: prefilled and kept */
	uint32_t mode;                    /* broker: enum pgp_pool_mode */
	uint32_t acquire_timeout_ms;      /* broker: wait limit for a lease */
	uint32_t query_timeout_ms;        /* broker: 0 = none */
	_Atomic uint32_t status;          /* broker: enum pgp_pool_status */
	_Atomic uint64_t down_since_wall_us; /* broker: when the circuit opened, 0 if closed */
	_Atomic uint32_t connecting;         /* broker: connections being opened now */
	_Atomic uint32_t grow_requests;      /* workers: bumped when a worker found no idle slot */
	pthread_mutex_t ring_lock;    /* broker inits (robust, process-shared); guards ring cells */
	_Atomic uint64_t ring_head;   /* ring_lock holder: next waiter cell to serve */
	_Atomic uint64_t ring_tail;   /* ring_lock holder: next waiter cell to fill */
	_Atomic uint32_t waiting;     /* workers: waiters currently queued */
	_Atomic uint32_t waiting_max; /* workers: high-water mark of waiting */
	/* counters */
	_Atomic uint64_t acquires;         /* workers: leases granted */
	_Atomic uint64_t acquire_waits;    /* workers: leases that had to wait */
	_Atomic uint64_t acquire_wait_us;  /* workers: total time spent waiting for a lease */
	_Atomic uint64_t acquire_timeouts; /* workers: waits that ended in 53300 */
	_Atomic uint64_t fd_transfers;     /* broker: fds passed to workers */
	_Atomic uint64_t errors;           /* workers/broker: failed leases and connection errors */
	_Atomic uint64_t queries;          /* workers: round trips completed */
	_Atomic uint64_t query_us;         /* workers: total time of those round trips */
	_Atomic uint64_t lease_us;         /* workers: total time leases were held */
	_Atomic uint64_t prepared_hits;    /* workers: executes that skipped Parse */
	_Atomic uint64_t prepared_misses;  /* workers: executes that sent Parse */
	_Atomic uint64_t connects;         /* broker: backend connections opened */
	_Atomic uint64_t connect_failures; /* broker: failed connection attempts */
	_Atomic uint64_t disconnects;      /* broker: backend connections closed */
	_Atomic uint64_t reclaims;         /* broker: leases taken back from dead workers */
	_Atomic uint64_t discards;         /* broker: connections discarded as unusable */
	/* Bumped by a worker that ran DDL: prepared statements parsed before it are not reused
	 * (their inferred parameter types may no longer fit). Taken from reserved space. */
	_Atomic uint64_t schema_epoch; /* workers */
	/* Whether a user-defined function may deallocate prepared statements where the driver
	 * cannot see it (ext/pgpool_prepared.c): the catalog is searched at most once a second. */
	_Atomic uint64_t dealloc_check;       /* workers: searched at pgp_now_us() << 2 | 2 once
	                                         answered | 1 if such a function exists; 0 never */
	_Atomic uint64_t dealloc_check_epoch; /* workers: schema_epoch the answer is for */
	uint64_t reserved[5];                 /* broker: zero, for later counters */
	/* Histograms (non-cumulative bucket counts, bounds pgp_hist_bounds_us) and counters by
	 * kind, for metrics and `pgpool-cli pools` (version 2). */
	struct pgp_shm_hist acquire_wait_hist;  /* workers: wait of each granted lease (0: none) */
	struct pgp_shm_hist lease_hist;         /* workers: how long leases were held (lease_us) */
	struct pgp_shm_hist query_hist;         /* workers: round trip durations (query_us) */
	struct pgp_shm_hist connect_hist;       /* broker: backend connect times (connect_us) */
	_Atomic uint64_t lease_wait_us;         /* workers: sum of acquire_wait_hist */
	_Atomic uint64_t connect_us;            /* broker: sum of connect_hist */
	_Atomic uint64_t health_checks;         /* broker: health checks of idle connections */
	_Atomic uint64_t health_check_failures; /* broker: checks that found a dead backend */
	_Atomic uint64_t errors_by_type[PGP_ERR_SLOTS]; /* workers/broker: errors by type */
	uint64_t reserved2[8];                          /* broker: zero, for later counters */
	/* Circuit breaker (version 3): why the backend is considered down. */
	_Atomic uint32_t last_error_seq; /* broker: odd while last_error is being rewritten */
	uint32_t reserved3;              /* broker: zero */
	char last_error[256];            /* broker: last backend connect error, NUL-terminated */
};

/* Names of the prepared statements workers share through stmts[] start with this (the driver's
 * PGPOOL_STMT_PREFIX): the broker's session reset keeps exactly those and deallocates the rest. */
#define PGP_STMT_PREFIX "pgpool_"

/* One prepared statement remembered on a slot's backend (owner writes while leased). */
struct pgp_shm_stmt {
	_Atomic uint64_t hash;      /* owner: statement key (pgp_hash64 of types+SQL), 0 = free */
	_Atomic uint64_t last_used; /* owner: pgp_now_us() of last use, for LRU eviction */
};

/* One backend connection. */
struct pgp_shm_slot {
	_Atomic uint64_t word;       /* CAS only: state | owner << 8 | generation << 32 */
	_Atomic uint32_t proto_pos;  /* owner: enum pgp_proto_pos */
	_Atomic uint32_t txn_status; /* owner: last ReadyForQuery status ('I','T','E') */
	_Atomic uint32_t flags;      /* owner: PGP_SLOTF_* */
	_Atomic int32_t owner_pid; /* owner: pid holding the lease (only meaningful while LEASED) */
	int32_t backend_pid;       /* broker: PostgreSQL backend pid */
	uint32_t pool;             /* broker: index of the owning pool */
	uint32_t index;            /* broker: own index in the slot array */
	/* Nonzero: the broker wants this backend replaced or closed (max_lifetime, reconnect, a
	 * reload that changed the dsn or lowered max_connections). Its owner then hands it back
	 * (LEASED -> RESET) at release instead of passing it to a waiter, so replacement happens
	 * under continuous load too. A hint only: the broker re-derives it from its own state. */
	_Atomic uint32_t retire;         /* broker */
	uint64_t connected_us;           /* broker: pgp_now_us() when the backend connected */
	_Atomic uint64_t lease_start_us; /* owner: pgp_now_us() when the current lease began */
	_Atomic uint64_t idle_since_us;  /* owner/broker: pgp_now_us() when it last became idle */
	_Atomic uint64_t leases;         /* owner: leases of this backend */
	_Atomic uint64_t queries;        /* owner: round trips on this backend */
	_Atomic uint32_t nstmts;         /* owner: entries in use in stmts[] */
	uint32_t reserved1;              /* broker: zero */
	struct pgp_shm_stmt stmts[PGP_SLOT_STMTS]; /* owner: prepared statements on the backend */
};

/*
 * Waiter cell of a pool's FIFO ring. Cells between ring_head and ring_tail are queued; cells are
 * added and removed only under the pool's ring_lock (a robust process-shared mutex, so a worker
 * killed inside the tiny critical section cannot wedge the pool), while a cell's word moves by
 * CAS so that a waiter can give up (timeout) and a releaser can grant without racing.
 * Word life cycle:
 *   FREE --enqueue--> WAITING --releaser/broker grants--> GRANTED+slot --waiter reads--> FREE
 *   WAITING --waiter times out, or broker closes the pool--> CANCELLED --popped--> FREE
 * A GRANTED cell is not reused until its waiter (or, if the waiter died, the broker) frees it.
 */
struct pgp_shm_waiter {
	_Atomic uint32_t word;     /* futex word: PGP_WAIT_* or PGP_WAIT_GRANTED + pool slot */
	uint32_t attach_id;        /* ring_lock holder: attachment id of the waiter */
	_Atomic int32_t pid;       /* ring_lock holder: pid of the waiter */
	uint32_t reserved;         /* zero */
	_Atomic uint64_t since_us; /* ring_lock holder: pgp_now_us() at enqueue */
};

#define PGP_WAIT_FREE      0u
#define PGP_WAIT_WAITING   1u
#define PGP_WAIT_CANCELLED 2u
#define PGP_WAIT_GRANTED   0x10000u /* + pool-relative slot index */

/* ---- slot word helpers ---- */

static inline uint64_t pgp_slot_word(uint32_t state, uint32_t owner, uint32_t gen)
{
	return (uint64_t)(state & 0xffu) | ((uint64_t)(owner & PGP_ATTACH_ID_MAX) << 8) |
	       ((uint64_t)gen << 32);
}
static inline uint32_t pgp_slot_word_state(uint64_t w)
{
	return (uint32_t)(w & 0xffu);
}
static inline uint32_t pgp_slot_word_owner(uint64_t w)
{
	return (uint32_t)((w >> 8) & PGP_ATTACH_ID_MAX);
}
static inline uint32_t pgp_slot_word_gen(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* ---- a mapped segment ---- */

typedef struct pgp_shm {
	void *base;                   /* mmap'd base address */
	size_t size;                  /* mapped size */
	struct pgp_shm_header *hdr;   /* == base */
	struct pgp_shm_pool *pools;   /* base + hdr->pools_off */
	struct pgp_shm_slot *slots;   /* base + hdr->slots_off */
	struct pgp_shm_waiter *rings; /* base + hdr->rings_off */
	uint64_t epoch;               /* hdr->epoch at map time */
	/* Layout as validated at map/format time. Any process that maps the segment can write
	 * the header, so bounds come from these private copies, never from hdr at run time. */
	uint32_t npools_cap;
	uint32_t nslots_cap;
} pgp_shm;

/* Size of a segment for npools pool entries and nslots slots. */
size_t pgp_shm_layout_size(uint32_t npools_cap, uint32_t nslots);

/*
 * Lay out a fresh segment of pgp_shm_layout_size() bytes at base (broker only; the memory must
 * come zero-filled, as a new ftruncate'd segment or an anonymous mapping does): fills the
 * header (magic, version, sizes, offsets, epoch) and resolves the pgp_shm view. Pools and slots
 * are left zeroed for the broker to fill in; the header state is PGP_SHM_RUNNING only once the
 * broker calls pgp_shm_publish().
 */
int pgp_shm_format(void *base, size_t size, uint32_t npools_cap, uint32_t nslots, uint64_t epoch,
                   pgp_shm *out) PGP_WUR;
void pgp_shm_publish(pgp_shm *shm);

/* Map an existing segment by name read-write and validate its header (magic, version, sizes and
 * every offset inside the mapping). -ENOENT if absent, -EPROTO if invalid, -errno otherwise. */
int pgp_shm_map(const char *name, pgp_shm *out) PGP_WUR;
/* Validate a mapped segment's header (used by pgp_shm_map and by the broker on an old segment). */
int pgp_shm_validate(void *base, size_t size, pgp_shm *out) PGP_WUR;
void pgp_shm_unmap(pgp_shm *shm);

/* Pool by index, or NULL if out of range. */
struct pgp_shm_pool *pgp_shm_pool_at(const pgp_shm *shm, uint32_t pool);
/* Slot i of a pool (i < pool->nslots), or NULL if out of range. */
struct pgp_shm_slot *pgp_shm_pool_slot(const pgp_shm *shm, const struct pgp_shm_pool *pool,
                                       uint32_t i);
/* Global slot by index, or NULL. */
struct pgp_shm_slot *pgp_shm_slot_at(const pgp_shm *shm, uint32_t slot);

/* ---- leasing (workers) ---- */

/*
 * Try to take an IDLE slot of the pool for attach_id without waiting. cached_gen (may be NULL) is
 * the caller's per-process array of generations it holds fds for (cached_gen[i] for the pool's
 * slot i, 0 if none): slots whose fd is already cached are taken first, so fd transfers stay rare.
 * Returns the pool-relative slot index (>= 0) and the generation in *gen, or -EAGAIN if no slot
 * is idle, -EPERM if the pool is not open (status in *status).
 */
int pgp_pool_try_acquire(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id,
                         const uint32_t *cached_gen, uint32_t *gen, uint32_t *status) PGP_WUR;

/*
 * Acquire with waiting: tries pgp_pool_try_acquire, otherwise enqueues in the pool's FIFO ring and
 * sleeps on the cell's futex until a releasing worker (or the broker, with a new connection)
 * hands it a slot, or until timeout_us passes. `on_enqueued` is called once after enqueueing (the
 * extension uses it to ask the broker to grow the pool) unless NULL. `interrupted` (may be NULL)
 * is called after every wakeup, and at least every PGP_WAIT_SLICE_US while asleep (so a dead
 * broker or PHP's execution timeout is noticed): when it returns true the wait is abandoned with
 * -EINTR. Returns the pool-relative slot index, -ETIMEDOUT, -EPERM (the broker cancelled the wait:
 * pool disabled, circuit open, draining; *status says which), -EINTR.
 */
int pgp_pool_acquire(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id, int32_t pid,
                     const uint32_t *cached_gen, uint64_t timeout_us, uint32_t *gen,
                     void (*on_enqueued)(void *ctx), bool (*interrupted)(void *ctx), void *ctx,
                     uint32_t *status) PGP_WUR;

/*
 * Release a slot the caller owns (LEASED by attach_id with generation gen): hands it directly to
 * the oldest live waiter if any, else makes it IDLE. The caller must have left the connection at
 * ReadyForQuery 'I' with nothing unread (invariant 2). A slot the broker marked to retire
 * (slot.retire) goes back to the broker instead (state RESET): returns 1, and the caller sends
 * RETURNED (PGP_SLOT_RESET) so the broker replaces it at once. Returns 0 when released, or
 * -ESTALE if the caller no longer owns the slot (the broker reclaimed it).
 */
int pgp_pool_release(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot, uint32_t attach_id,
                     uint32_t gen) PGP_WUR;

/*
 * Hand a slot the caller owns back to the broker in state DISCARD (broken connection) or RESET
 * (session state to clear). The caller then notifies the broker over the control socket.
 */
int pgp_pool_return_to_broker(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot,
                              uint32_t attach_id, uint32_t gen, uint32_t new_state) PGP_WUR;

/* ---- broker side ---- */

/* Hand a slot the broker holds exclusively (its current word is from_word: CONNECTING or BUSY with
 * the generation of the backend now in it) to the oldest waiter, or make it IDLE if nobody waits.
 * Returns 1 if a waiter got it, 0 if it became IDLE, -ESTALE if the word was not from_word. */
int pgp_pool_offer(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t slot,
                   uint64_t from_word) PGP_WUR;

/* Clean up the waiter cells of attach_id after its process is gone (WAITING -> CANCELLED, an
 * unread GRANTED cell -> FREE; the granted slot itself is LEASED by the dead attachment and is
 * reclaimed by the caller), or with attach_id 0 cancel every waiting cell and wake its waiter
 * (pool disabled, circuit open, draining: waiters return -EPERM). Returns cells changed. */
uint32_t pgp_pool_cancel_waiters(pgp_shm *shm, struct pgp_shm_pool *pool, uint32_t attach_id);

/* 1 if the pool has fewer backends (slots not EMPTY) than its max_connections, i.e. asking the
 * broker to open another connection can help a waiter. */
bool pgp_pool_can_grow(const pgp_shm *shm, const struct pgp_shm_pool *pool);

/* Count slots by state (for stats): out[state] for each enum pgp_slot_state (array of 8). */
void pgp_pool_count_states(const pgp_shm *shm, const struct pgp_shm_pool *pool, uint32_t out[8]);

/* Names of pool modes and statuses as shown in config, stats, metrics and logs ("unknown" for an
 * out-of-range value read from shm). */
const char *pgp_pool_mode_name(uint32_t mode);
const char *pgp_pool_status_name(uint32_t status);
/* Name of an enum pgp_err_type as shown in metrics ("acquire_timeout", ...; "unknown"). */
const char *pgp_err_type_name(uint32_t type);

/* ---- histograms and error counts ---- */

static inline void pgp_hist_observe(struct pgp_shm_hist *h, uint64_t us)
{
	unsigned i = 0;

	while (i < PGP_HIST_BOUNDS && us > pgp_hist_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
}

/* Count one error of the pool: the total and its kind. */
static inline void pgp_pool_count_error(struct pgp_shm_pool *pool, enum pgp_err_type type)
{
	atomic_fetch_add_explicit(&pool->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &pool->errors_by_type[(unsigned)type < PGP_ERR_TYPES ? type : PGP_ERR_OTHER], 1,
	    memory_order_relaxed);
}

/* ---- futex (shared, never FUTEX_PRIVATE_FLAG: the word lives in a MAP_SHARED mapping) ---- */

/* Sleep while *word == expected, at most timeout_us (0 = forever). 0, -EAGAIN, -ETIMEDOUT, -EINTR.
 */
int pgp_futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_us);
/* Wake up to n sleepers on word. */
int pgp_futex_wake(_Atomic uint32_t *word, int n);

#endif
