/*
 * pool.h: pools of backend connections: their slot ranges, prefill, growth on demand (within
 * max_connections and the broker-wide max_backends), replacement, handing connections to workers
 * (pgp_pool_offer: the oldest waiter first), taking back the slots of dead workers and the ones
 * workers return in DISCARD or RESET, and the pool's status (admin pause/disable, circuit breaker,
 * draining after a reload removed it).
 */
#ifndef BROKER_POOL_H
#define BROKER_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "pgp_ctl.h"
#include "pgp_shm.h"

struct server;

struct pool {
	uint32_t index;
	const struct config_pool *cfg; /* == &own */
	struct config_pool own;        /* the pool's settings, moved out of the config (reload) */
	struct pgp_shm_pool *shm; /* counters and status in shm (layout fields are not re-read) */
	struct server *servers;   /* this pool's slots: broker.servers + first_slot */
	uint32_t first_slot;      /* broker's own copy; never read back from shm */
	uint32_t nslots;          /* slots reserved (the most max_connections can be raised to) */
	uint32_t closed_nslots;   /* once closed: the nslots it had (pool_open() reuses entries) */
	bool in_use;              /* configured: open, paused, disabled, circuit open, draining */
	bool draining;            /* removed by a reload: closes as its leases end */
	bool capped;              /* growth held back by max_backends (logged once) */
	/* circuit breaker and reconnect backoff (breaker.c) */
	bool circuit_open;
	uint32_t failures;              /* consecutive connect failures */
	uint64_t first_failure_wall_us; /* when the current run of failures began */
	uint64_t next_attempt_us;       /* backoff: no new connect before this */
	struct loop_timer backoff_timer;
	bool prefill_done; /* reached min_connections, or the first attempt failed */
	bool have_params;  /* attach_ok.params filled from a connected backend */
	bool params_new;   /* have_params just set: pool_server_connected() tells waiting workers */
	uint32_t attach_waiters; /* ATTACHes waiting for the first backend: demand for pool_fill */
	struct pgp_ctl_attach_ok attach_ok; /* template of the ATTACH_OK reply (no attach_id) */
};

/* The number of shm slots to create for a configuration (the rule is in config_keys.c's header). */
uint32_t pool_slot_capacity(const struct config *cfg);

/* Lay the configured pools out in the (formatted, unpublished) shm segment. 0 or -errno. */
int pool_init_all(void) PGP_WUR;
void pool_fini_all(void);

/*
 * Open a new pool entry for cfg (whose contents are moved into the pool) with up to `reserve`
 * slots (at least max_connections): takes a free index (a closed entry of the same name first,
 * see pool_pick_entry()) and a free slot range. A new
 * pool is OPEN; nothing connects until pool_fill(). NULL (and logged why) when no index or no
 * slot range is left.
 */
struct pool *pool_open(struct config_pool *cfg, uint32_t reserve);
/* Start draining a pool removed by a reload: no new leases (waiters get 08004), idle and
 * connecting backends close now, leased ones when they come back; CLOSED once empty. */
void pool_drain(struct pool *p);
/* Janitor: a draining pool whose last backend closed becomes CLOSED and frees its slot range. */
void pool_close_if_drained(struct pool *p);
/* Apply changed settings (min/max, mode, timeouts; a changed dsn or password recycles every
 * connection as soon as it is idle); cfg's contents are moved into the pool. */
void pool_reconfigure(struct pool *p, struct config_pool *cfg);

/* Recompute the status workers see in shm: draining and an open circuit win over what an
 * administrator set (admin_pool_status()); a status that cannot serve fails the waiters. */
void pool_publish_status(struct pool *p);
/* Configured and not draining (workers may attach). */
bool pool_active(const struct pool *p);
/* Janitor: put back the broker-written fields of the pool's shm entry (name, index, slot range,
 * limits, timeouts, status) that a worker may have scribbled over; logs when one was off. */
void pool_repair_shm(struct pool *p);

/* Start the connections the pool needs now: up to min_connections, plus one per waiting worker
 * without an idle or connecting slot, within max_connections, max_backends and the backoff. */
void pool_fill(struct pool *p);
/* A worker waits for this pool's first backend (ATTACH before any connect): make sure one is
 * on its way. */
void pool_want_params(struct pool *p);
bool pool_all_prefilled(void);
/* Backends of the pool that are connected or connecting (slots not EMPTY). */
uint32_t pool_live(const struct pool *p);

/* Events from server.c. */
void pool_server_connected(struct server *s);
/* Fill the pool's ATTACH_OK server parameters from a backend that just connected (the first
 * one: they are the same for every backend of a pool), before its PGconn is freed. */
void pool_server_params(struct pool *p, PGconn *conn);
void pool_server_connect_failed(struct server *s, const char *why);
/* discarded: the backend was broken or unusable, so it is replaced at once (not only up to
 * min_connections). */
void pool_server_closed(struct server *s, bool was_connected, bool discarded);

/*
 * Retire a backend that is in use: set slot.retire so that its owner hands it back (RESET)
 * instead of passing it to a waiter; the broker then closes it with `why` and, if `replace` and
 * the pool has room, connects a new one in its slot. Without this a pool whose workers always
 * queue would never let go of a connection. An IDLE one is closed by whoever marks it.
 */
void pool_retire(struct server *s, const char *why, bool replace);
/* Close a backend the broker holds (BUSY) because it is retired (why), and connect its
 * replacement at once when s was retired with `replace` and the pool may grow. */
void pool_close_retired(struct server *s, const char *why);

/* Give a slot the broker holds (CONNECTING or BUSY) to the oldest waiter or make it IDLE; while
 * stopping or draining, close it instead. */
void pool_offer(struct server *s);

/* Take back a slot LEASED by `word`'s owner, who is gone: reset it (CLEAN, SENT) or discard. */
void pool_reclaim(struct server *s, uint64_t word);
/* A worker put this slot in DISCARD or RESET (word as read): handle it. */
void pool_take_returned(struct server *s, uint64_t word);

/* Active pool by name, NULL if none. */
struct pool *pool_by_name(const char *name);

/* Counts of the pool's slots by state (from the slot words). */
void pool_count(const struct pool *p, uint32_t out[8]);

/* Janitor: compare a slot's word with what the broker knows, repair forged words, reclaim leases
 * of owners that are gone, take DISCARD/RESET slots, re-arm idle watches. */
void pool_check_slot(struct server *s);

#endif
