/*
 * pgpool_lease.h: the extension's pool layer (per-process state, attach, leases, fd cache).
 *
 * This is the boundary between the PDO driver (pgpool_driver.c, pgpool_statement.c,
 * pgpool_wire.c) and the machinery that talks to pgpool-broker (pgpool_lease.c,
 * pgpool_ctl_client.c). The driver never touches shm or the control socket directly.
 *
 * Per process (lazily, and again after fork() or a broker restart): the shm mapping, the control
 * connection to the broker and one pgpool_pool per pool this process authenticated for. Those
 * outlive requests (malloc'd, not emalloc'd); a lease never does: every lease is released or
 * handed back by the end of the request (invariant 2).
 */
#ifndef PGPOOL_LEASE_H
#define PGPOOL_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_ctl.h"
#include "pgp_dsn.h"
#include "pgp_shm.h"

/* A pool-layer error, turned into a PDOException by the driver's error helper. */
typedef struct pgpool_err {
	char sqlstate[6];  /* "08001", "28P01", "53300", ... */
	char message[512]; /* says what happened and what to check */
} pgpool_err;

/* A pool this process has attached to. Owned by pgpool_lease.c; stable address for the life of
 * the process (a broker restart re-attaches it in place with the credentials kept here). */
typedef struct pgpool_pool {
	uint32_t index;              /* pool index in the current shm mapping */
	char name[PGP_NAME_MAX];     /* pool name */
	pgp_dsn_key key;             /* what the worker asked for (name or host/port/dbname/user) */
	uint32_t mode;               /* enum pgp_pool_mode */
	uint32_t acquire_timeout_ms; /* from the broker */
	uint32_t query_timeout_ms;   /* from the broker, 0 = none */
	uint32_t slow_query_ms;      /* from the broker, 0 = off */
	uint32_t nslots;             /* slot capacity of the pool */
	int *fds;              /* fds[i]: this process's copy of slot i's socket, -1 if none */
	uint32_t *gens;        /* gens[i]: backend generation fds[i] belongs to, 0 if none */
	int32_t *backend_pids; /* backend_pids[i]: PostgreSQL pid of fds[i] */
	struct pgp_ctl_attach_ok info; /* the broker's ATTACH_OK (server parameters etc.) */
	uint64_t epoch;                /* shm epoch this attachment belongs to */
	struct pgpool_pool *next;      /* list of attached pools */
	/* credentials kept in process memory (never in shm) to re-attach after a broker restart and
	 * to check a later new PgPool() with other credentials: */
	char user[PGP_DSN_NAME_MAX];
	char *password; /* malloc'd, NULL if none */
	size_t password_len;
	bool has_password;
} pgpool_pool;

/* A held lease on one backend connection. */
typedef struct pgpool_lease {
	pgpool_pool *pool;             /* pool the slot belongs to, NULL when no lease is held */
	uint32_t slot;                 /* pool-relative slot index */
	uint32_t gen;                  /* backend generation at acquire time */
	int fd;                        /* this process's cached socket; never close it yourself */
	int32_t backend_pid;           /* PostgreSQL backend pid */
	struct pgp_shm_slot *shm_slot; /* the slot in shm (for proto_pos/txn_status/flags) */
	uint64_t acquired_us;          /* pgp_now_us() at acquire */
	uint32_t waited_us;            /* time spent waiting in the queue for this lease */
} pgpool_lease;

/*
 * Find and authenticate the pool for a DSN key (key->pool set: by name; else by host, port,
 * dbname, user) with the credentials given to the constructor. Attaches the process first if
 * needed (maps shm, connects to pgpool.socket). A pool already attached with the same credentials
 * returns at once without a broker round trip; other credentials are checked by the broker again.
 * 0, or -1 with *err filled (08001 broker unreachable / unknown pool, 28P01 wrong password, ...).
 */
int pgpool_pool_open(const pgp_dsn_key *key, const char *user, const char *password,
                     size_t password_len, bool has_password, pgpool_pool **out, pgpool_err *err);

/*
 * Lease a connection of the pool: CAS fast path, else wait in the pool's FIFO ring up to
 * acquire_timeout (53300 after it). Fetches the slot's fd from the broker only if this process
 * does not hold that (slot, generation) yet. Re-attaches transparently after a broker restart.
 * On return the connection is at ReadyForQuery 'I' (invariant 2) and slot proto_pos is CLEAN.
 * 0, or -1 with *err filled.
 */
int pgpool_lease_acquire(pgpool_pool *pool, pgpool_lease *out, pgpool_err *err);

/* Give a clean connection back (ReadyForQuery 'I', nothing unread, no session state). */
void pgpool_lease_release(pgpool_lease *l);

/* Hand a connection back to the broker: PGP_SLOT_DISCARD (broken, unknown protocol position) or
 * PGP_SLOT_RESET (session state to clear before anyone else uses it). Drops this process's fd
 * copy for DISCARD. */
void pgpool_lease_return(pgpool_lease *l, uint32_t state);

/* Ask the broker to send a CancelRequest for the query running on the leased connection (the
 * cancel key is known only to the broker). 0, or -1 with *err filled. */
int pgpool_lease_cancel(pgpool_lease *l, pgpool_err *err);

/* 1 if the lease is still ours (the broker has not reclaimed the slot). */
bool pgpool_lease_owned(const pgpool_lease *l);

/* Record the protocol position on the leased connection (cheap: one atomic store). The broker
 * uses it to decide, if this process dies, whether the connection can be cancelled, drained and
 * reused (CLEAN, SENT) or must be discarded (WRITING, READING, COPY). */
static inline void pgpool_lease_set_pos(pgpool_lease *l, enum pgp_proto_pos pos)
{
	atomic_store_explicit(&l->shm_slot->proto_pos, (uint32_t)pos, memory_order_release);
}
static inline void pgpool_lease_set_txn(pgpool_lease *l, char txn_status)
{
	atomic_store_explicit(&l->shm_slot->txn_status, (uint32_t)(unsigned char)txn_status,
	                      memory_order_release);
}
static inline void pgpool_lease_set_flags(pgpool_lease *l, uint32_t flags)
{
	atomic_fetch_or_explicit(&l->shm_slot->flags, flags, memory_order_release);
}

/* Count a completed round trip (for pgpool_stats and metrics). */
void pgpool_lease_count_query(pgpool_lease *l, uint64_t duration_us);
/* Count a prepared-statement hit/miss. */
void pgpool_lease_count_prepared(pgpool_lease *l, bool hit);
/* The pool's schema epoch (shm pool.schema_epoch) for the leased connection, 0 if unknown; and
 * its bump by a worker that ran DDL (shared prepared statements parsed before are not reused). */
uint64_t pgpool_lease_schema_epoch(const pgpool_lease *l);
void pgpool_lease_schema_changed(pgpool_lease *l);
/* May a user-defined function deallocate shared statements where the driver cannot see it?
 * The pool's last answer (shm pool.dealloc_check); true while it is not known for the current
 * schema epoch. */
bool pgpool_lease_dealloc_doubt(const pgpool_lease *l);
/* true for the one worker that should search the catalog again now (the answer is older than
 * ttl_us, or of another schema epoch); *epoch is the epoch the search is for. */
bool pgpool_lease_dealloc_claim(pgpool_lease *l, uint64_t now, uint64_t ttl_us, uint64_t *epoch);
/* The answer of the search claimed for epoch. */
void pgpool_lease_dealloc_store(pgpool_lease *l, uint64_t now, uint64_t epoch, bool found);
/* Count an error attributable to the pool (connection loss, timeout...). */
void pgpool_pool_count_error(pgpool_pool *pool);
/* Report a slow statement to the broker's log (no reply awaited). */
void pgpool_lease_report_slow(pgpool_lease *l, uint32_t duration_ms, const char *sql, size_t len);

/* Server parameter as the broker saw it at connect (server_version, client_encoding,
 * standard_conforming_strings, ...), NULL if unknown. */
const char *pgpool_pool_param(const pgpool_pool *pool, const char *name);

/* Per-process hooks called by the module: MINIT / MSHUTDOWN / after fork. */
void pgpool_process_init(void);
void pgpool_process_shutdown(void);

/* Fill a PHP-independent stats view of one pool from shm (pgpool_stats() formats it). */
typedef struct pgpool_pool_stats {
	char name[PGP_NAME_MAX];
	uint32_t total, idle, active, connecting, waiting, max, min;
	uint32_t mode, status;
	uint64_t down_since_wall_us;
	uint64_t acquires, acquire_waits, acquire_wait_us, acquire_timeouts, fd_transfers, errors;
	uint64_t queries, query_us, lease_us, prepared_hits, prepared_misses;
	uint64_t connects, connect_failures, disconnects, reclaims, discards;
	char last_error[256]; /* last backend connect error while the circuit is open, else "" */
} pgpool_pool_stats;

/* The pool's last backend connect error as the broker published it ("" if none or being
 * rewritten right now). */
void pgpool_pool_last_error(const struct pgp_shm_pool *sp, char *out, size_t cap);

/* Stats for every pool (n filled, up to cap) from the broker's shm, mapping it if needed (no
 * broker round trip). 0, or -1 with *err filled if the broker's shm cannot be found. */
int pgpool_stats_collect(pgpool_pool_stats *out, uint32_t cap, uint32_t *n, pgpool_err *err);

#endif
