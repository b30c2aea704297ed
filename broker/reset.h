/*
 * reset.h: the per-slot state machine that runs the broker's own requests on a backend it holds
 * in BUSY, speaking raw protocol (common codec) on the broker's copy of the socket:
 *
 * Reset (after a dead worker or a RESET hand-back):
 *   [cancel (PGcancel on the cancel thread) -> drain to ReadyForQuery]   if the owner was SENT
 *   -> peek: nothing unread                                            if the owner was CLEAN
 *   -> ROLLBACK if the status is not 'I' -> the session reset (DISCARD ALL minus DEALLOCATE ALL:
 *      the slot's prepared statements stay, and so do their records in stmts[]) -> offer
 * Queries (health check, orphan cleanup): one simple Query whose replies are checked, then the
 * caller's done() callback.
 *
 * Every step has a timeout; an error, an unexpected message or a timeout discards the backend.
 */
#ifndef BROKER_RESET_H
#define BROKER_RESET_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_common.h"
#include "pgp_proto.h"

#define RESET_STEP_TIMEOUT_US 5000000u /* each of cancel, drain, queries */
#define RESET_EXPECT_MAX      16u      /* expected replies of one run */

enum reset_step {
	RESET_NONE = 0,
	RESET_CANCEL,  /* waiting for the cancel thread */
	RESET_DRAIN,   /* reading to ReadyForQuery after the cancel */
	RESET_QUERIES, /* queries sent, reading their replies */
};

struct server;

/* Called on the loop when the queries succeeded; the server is still held in BUSY. */
typedef void (*reset_done_cb)(struct server *s);

struct reset {
	enum reset_step step;
	const char *why; /* "reclaim", "health check"... (static strings) */
	uint64_t started_us;
	pgp_drain drain;
	pgp_buf in;  /* bytes read, not yet consumed */
	pgp_buf out; /* queries to write */
	size_t out_off;
	/* Expected replies in order: a command tag, "" for EmptyQueryResponse, NULL for
	 * ReadyForQuery (status 'I'). */
	const char *expect[RESET_EXPECT_MAX];
	uint32_t nexpect;
	uint32_t done; /* expected replies seen */
	reset_done_cb on_done;
	bool health;    /* a health check: failures are counted as such */
	char value[32]; /* first column of the first DataRow, if any (NUL-terminated) */
};

/* Run the reset on a server the broker holds in BUSY. cancel: the owner had a request in
 * flight (PGP_POS_SENT); txn: the last ReadyForQuery status the owner reported. Offers the
 * connection when done, discards it on any failure. */
void reset_start(struct server *s, bool cancel, char txn, const char *why);

/* Run one simple Query on a server the broker holds in BUSY, at a clean boundary: expect[] (n
 * entries, see struct reset; the last must be NULL) are the replies it must produce. done() runs
 * on success (s->reset.value holds the first value returned); on failure the backend is
 * discarded. health: count it in the pool's health check counters. */
void reset_query(struct server *s, const char *sql, const char *const *expect, uint32_t n,
                 const char *why, bool health, reset_done_cb done);

/* The cancel thread finished the CancelRequest for this reset (0 or -errno). */
void reset_cancel_done(struct server *s, int rc);
/* Drop the reset's buffers (the server is being closed). */
void reset_abort(struct server *s);

#endif
