/*
 * pool.h: pools of backend connections: prefill, growth on demand, replacement with backoff,
 * handing connections to workers (pgp_pool_offer: the oldest waiter first), and taking back the
 * slots of dead workers and the ones workers return in DISCARD or RESET.
 */
#ifndef BROKER_POOL_H
#define BROKER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "pgp_ctl.h"
#include "pgp_shm.h"

struct server;

struct pool {
	uint32_t index;
	const struct config_pool *cfg;
	struct pgp_shm_pool *shm; /* counters and status in shm (layout fields are not re-read) */
	struct server *servers;   /* this pool's slots: broker.servers + first_slot */
	uint32_t first_slot;      /* broker's own copy; never read back from shm */
	uint32_t nslots;
	uint32_t failures;        /* consecutive connect failures */
	uint64_t next_attempt_us; /* backoff: no new connect before this */
	struct loop_timer backoff_timer;
	bool prefill_done; /* reached min_connections, or the first attempt failed */
	bool have_params;  /* attach_ok.params filled from a connected backend */
	struct pgp_ctl_attach_ok attach_ok; /* template of the ATTACH_OK reply (no attach_id) */
};

/* Lay the pools and slots out in the (formatted, unpublished) shm segment. 0 or -errno. */
int pool_init_all(void) PGP_WUR;
void pool_fini_all(void);

/* Start the connections the pool needs now: up to min_connections, plus one per waiting worker
 * without an idle or connecting slot, within max_connections and the backoff. */
void pool_fill(struct pool *p);
/* A worker waits for this pool's first backend (ATTACH before any connect): make sure one is
 * on its way. */
void pool_want_params(struct pool *p);
bool pool_all_prefilled(void);

/* Events from server.c. */
void pool_server_connected(struct server *s);
void pool_server_connect_failed(struct server *s);
/* discarded: the backend was broken or unusable, so it is replaced at once (not only up to
 * min_connections). */
void pool_server_closed(struct server *s, bool was_connected, bool discarded);

/* Give a slot the broker holds (CONNECTING or BUSY) to the oldest waiter or make it IDLE; while
 * stopping, close it instead. */
void pool_offer(struct server *s);

/* Take back a slot LEASED by `word`'s owner, who is gone: reset it (CLEAN, SENT) or discard. */
void pool_reclaim(struct server *s, uint64_t word);
/* A worker put this slot in DISCARD or RESET (word as read): handle it. */
void pool_take_returned(struct server *s, uint64_t word);

/* Pool by name, NULL if none. */
struct pool *pool_by_name(const char *name);

/* Counts of the pool's slots by state (from the slot words). */
void pool_count(const struct pool *p, uint32_t out[8]);

/* Janitor: compare a slot's word with what the broker knows, repair forged words, reclaim leases
 * of owners that are gone, take DISCARD/RESET slots, re-arm idle watches. */
void pool_check_slot(struct server *s);

#endif
