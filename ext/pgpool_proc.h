/*
 * pgpool_proc.h: the per-process half of the pool layer (pgpool_proc.c): the control connection,
 * the shm mapping, attaching pools, fd transfers, and noticing fork() and broker restarts.
 * pgpool_lease.c builds leases on top of it. Nothing here depends on PHP: the three pgpool_cfg_*
 * functions below are what the layer asks of its host (the PHP module implements them).
 *
 * State lives in one process-wide struct (the extension supports NTS PHP only: one thread per
 * process). Mappings of older broker epochs stay mapped while leases taken from them are still
 * held (a transaction in flight when the broker died finishes on its socket), and are unmapped
 * when the last of those leases ends.
 */
#ifndef PGPOOL_PROC_H
#define PGPOOL_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "pgpool_ctl_client.h"
#include "pgpool_lease.h"

/* ---- what the host provides (pgpool.c) ---- */

/* The broker's control socket path (INI pgpool.socket). */
const char *pgpool_cfg_socket(void);
/* How long to wait for a broker reply, in ms (INI pgpool.broker_timeout). */
uint32_t pgpool_cfg_broker_timeout_ms(void);
/* True once the host wants a wait abandoned (PHP: max_execution_time reached). */
bool pgpool_cfg_interrupted(void);

/* ---- process state ---- */

/* A mapping of one broker's segment. */
typedef struct pgpool_map {
	pgp_shm shm;
	char name[64];           /* shm segment name */
	uint32_t leases;         /* leases taken from this mapping and not yet ended */
	struct pgpool_map *next; /* retired list */
} pgpool_map;

/* The pool layer's private view of a pgpool_pool (the public struct is its first member). */
typedef struct pgpool_pool_priv {
	pgpool_pool pub;
	struct pgp_shm_pool *shm_pool; /* pub.index in the current mapping; NULL while detached */
	bool *leased;                  /* leased[i]: this process holds a lease on slot i */
	uint32_t leases;               /* leases of this pool this process holds now */
} pgpool_pool_priv;

typedef struct pgpool_proc {
	int32_t pid;                 /* getpid() of this process (refreshed in the fork child) */
	pgpool_ctl ctl;              /* control connection */
	pgpool_map *map;             /* current broker's segment, NULL until known */
	pgpool_map *retired;         /* older segments still referenced by leases */
	pgpool_pool_priv *pools;     /* pools attached at least once (pub.next links them) */
	int32_t broker_pid;          /* from the last PONG, 0 if unknown */
	uint8_t tx[PGP_CTL_MSG_MAX]; /* request being built (no allocation per message) */
	uint8_t rx[PGP_CTL_MSG_MAX]; /* reply being decoded */
} pgpool_proc;

extern pgpool_proc pgpool_proc_g;

/* A broker whose heartbeat is older than this is suspected dead (it refreshes every 100 ms). */
#define PGPOOL_HEARTBEAT_STALE_US 1000000u

static inline pgpool_pool_priv *pgpool_priv(pgpool_pool *p)
{
	return (pgpool_pool_priv *)p;
}

static inline bool pgpool_map_holds(const pgpool_map *m, const void *p)
{
	const char *b = (const char *)m->shm.base;
	return (const char *)p >= b && (const char *)p < b + m->shm.size;
}

/* The broker behind a mapping is running and its heartbeat is fresh. */
static inline bool pgpool_map_fresh(const pgpool_map *m, uint64_t now)
{
	struct pgp_shm_header *h = m->shm.hdr;
	uint64_t hb = atomic_load_explicit(&h->heartbeat_us, memory_order_relaxed);
	return atomic_load_explicit(&h->state, memory_order_relaxed) == PGP_SHM_RUNNING &&
	       now <= hb + PGPOOL_HEARTBEAT_STALE_US;
}

/* The fast-path check: the pool is attached to the current mapping and the broker is alive
 * (running, heartbeat fresh, control connection not seen closed). No syscall. */
static inline bool pgpool_proc_fresh(const pgpool_pool *pool, uint64_t now)
{
	const pgpool_map *m = pgpool_proc_g.map;
	if (PGP_UNLIKELY(!m || pool->epoch != m->shm.epoch || pgpool_proc_g.ctl.eof)) {
		return false;
	}
	return pgpool_map_fresh(m, now);
}

/* Fill *err (sqlstate is 5 characters). */
void pgpool_err_set(pgpool_err *err, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A control request (`what`) that failed with -errno rc: 08001 saying what to check. */
void pgpool_err_call(pgpool_err *err, int rc, const char *what);
/* An ERROR reply from the broker: its SQLSTATE and message. */
void pgpool_err_from_reply(pgpool_err *err, const pgp_ctl_msg *m);

/* ATTACH p's key with the given credentials; *ok receives the broker's answer. 0, -EACCES when
 * the broker refused (*err holds its SQLSTATE and message), or the transport's -errno. */
int pgpool_proc_attach_call(pgpool_pool_priv *p, const char *user, const char *password,
                            size_t password_len, bool has_password, uint32_t timeout_ms,
                            struct pgp_ctl_attach_ok *ok, pgpool_err *err);
/* Take an ATTACH_OK into p: map the segment it names and point p at its pool entry. 0 or -errno
 * with *err filled (-ESTALE: the broker restarted meanwhile). */
int pgpool_proc_apply_attach(pgpool_pool_priv *p, const struct pgp_ctl_attach_ok *ok,
                             pgpool_err *err);
/* If p's pool entry was closed (removed by a reload and drained) and p holds no lease: ATTACH
 * again by its key, which finds the pool if a reload added it back, in whichever entry. 0 (also
 * when there was nothing to do), or -1 with *err filled (e.g. 08001: no such pool any more). */
int pgpool_proc_reattach_closed(pgpool_pool_priv *p, pgpool_err *err);
/* Free a pool that no lease refers to (closes its cached fds, wipes its credentials). */
void pgpool_pool_free(pgpool_pool_priv *p);

/*
 * The slow path before using a pool (pool may be NULL: just make sure the broker's shm is mapped):
 * handles a fork the atfork handler missed, a dead or restarted broker (drop cached fds, retire the
 * mapping, reconnect, re-attach every known pool with its kept credentials) and a pool not yet
 * attached. 0, or -1 with *err filled (08001 when the broker cannot be reached).
 */
int pgpool_proc_ensure(pgpool_pool *pool, uint32_t timeout_ms, pgpool_err *err);

/* Ask the broker for the fd of (slot, gen) that this process leased and store it in the pool's
 * cache (closing the copy of an older generation). 0, -1 with *err filled; *broker_gone is set
 * when the control connection turned out to be closed. */
int pgpool_proc_fetch_fd(pgpool_pool *pool, uint32_t slot, uint32_t gen, bool *broker_gone,
                         pgpool_err *err);

/* Drop this process's cached copy of a slot's fd. */
void pgpool_proc_forget_fd(pgpool_pool *pool, uint32_t slot);

/* A lease of an older mapping (broker restarted or fork since) ended: release it in the old
 * segment (clean: IDLE, else DISCARD; only by the process that leased it), so that the new broker
 * knows the backend is free to terminate; close this process's copy of its fd and unmap the old
 * segment once nothing refers to it. */
void pgpool_proc_end_stale_lease(const pgpool_lease *l, bool clean);

/* Notifications (no reply; dropped when the socket buffer is full). */
void pgpool_proc_notify_grow(pgpool_pool *pool);
void pgpool_proc_notify_returned(pgpool_pool *pool, uint32_t slot, uint32_t gen, uint32_t state);
void pgpool_proc_notify_slow(pgpool_pool *pool, uint32_t duration_ms, const char *sql, size_t len);

/* CANCEL round trip for (slot, gen). 0, or -1 with *err filled. */
int pgpool_proc_cancel(pgpool_pool *pool, uint32_t slot, uint32_t gen, pgpool_err *err);

/* What phpinfo() shows. */
typedef struct pgpool_proc_info {
	int reachable;           /* 1 yes, 0 no, -1 not checked */
	char why[512];           /* when not reachable: the reason */
	uint64_t epoch;          /* mapped shm epoch, 0 if none */
	int32_t broker_pid;      /* from shm, 0 if unknown */
	char shm_name[64];       /* not known before an ATTACH_OK/PONG: "" */
	uint32_t pools_attached; /* pools attached to the current broker */
	char pools[256];         /* their names, comma separated (cut if long) */
	uint32_t fds_cached;     /* backend fds this process holds */
} pgpool_proc_info;

/* Describe the process state; probes the broker with at most probe_ms if nothing is known. */
void pgpool_proc_describe(pgpool_proc_info *out, uint32_t probe_ms);

#endif
