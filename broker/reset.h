/*
 * reset.h: the per-slot state machine that makes a connection reusable after a dead worker or a
 * RESET hand-back, speaking raw protocol (common codec) on the broker's copy of the socket:
 *
 *   [cancel (PGcancel on the cancel thread) -> drain to ReadyForQuery]   if the owner was SENT
 *   -> peek: nothing unread                                            if the owner was CLEAN
 *   -> ROLLBACK if the status is not 'I' -> DISCARD ALL -> clear the slot's statements -> offer
 *
 * Every step has a timeout; an error, an unexpected message or a timeout discards the backend.
 */
#ifndef BROKER_RESET_H
#define BROKER_RESET_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_common.h"
#include "pgp_proto.h"

#define RESET_STEP_TIMEOUT_US 5000000u /* each of cancel, drain, reset queries */

enum reset_step {
	RESET_NONE = 0,
	RESET_CANCEL,  /* waiting for the cancel thread */
	RESET_DRAIN,   /* reading to ReadyForQuery after the cancel */
	RESET_QUERIES, /* ROLLBACK / DISCARD ALL sent, reading their replies */
};

struct reset {
	enum reset_step step;
	const char *why; /* "reclaim", "reset requested by worker" (static strings) */
	uint64_t started_us;
	pgp_drain drain;
	pgp_buf in;            /* bytes read, not yet consumed */
	pgp_buf out;           /* reset queries to write */
	size_t out_off;        /* bytes of out already written */
	const char *expect[2]; /* command tags expected, in order */
	uint32_t nexpect;
	uint32_t done; /* replies completed (ReadyForQuery seen) */
	bool tag_seen; /* CommandComplete of the current reply seen */
};

struct server;

/* Run the reset on a server the broker holds in BUSY. cancel: the owner had a request in
 * flight (PGP_POS_SENT); txn: the last ReadyForQuery status the owner reported. */
void reset_start(struct server *s, bool cancel, char txn, const char *why);
/* The cancel thread finished the CancelRequest for this reset (0 or -errno). */
void reset_cancel_done(struct server *s, int rc);
/* Drop the reset's buffers (the server is being closed). */
void reset_abort(struct server *s);

#endif
