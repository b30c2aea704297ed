/*
 * cancel.h: CancelRequests on a helper thread. PQcancel() blocks (it opens a new connection to
 * the postmaster), so it never runs on the loop: jobs go to a helper thread of their own
 * (offload.c), and completions come back to the loop through an eventfd.
 *
 * A backend's PGcancel (its address, pid and secret key) is taken once at connect, before the
 * broker frees the PGconn (server.c), and counted: the server holds a reference for the life of
 * the backend and each job in flight one, so a job never refers to freed memory when the loop
 * closes the backend meanwhile; the completion is matched to the slot by generation.
 */
#ifndef BROKER_CANCEL_H
#define BROKER_CANCEL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "pgp_common.h"

struct server;

enum cancel_origin {
	CANCEL_FOR_RESET = 0,  /* reset.c: reset_cancel_done() */
	CANCEL_FOR_WORKER = 1, /* a worker's CANCEL: worker_cancel_done() replies */
};

/* A backend's cancel key; references are taken and dropped on the loop thread only. */
struct cancel_key;

/* A new key for conn's backend with one reference (no I/O), or NULL without memory. */
struct cancel_key *cancel_key_new(PGconn *conn);
/* Drop a reference; the last one frees the key. NULL is ignored. */
void cancel_key_put(struct cancel_key *k);

int cancel_init(void) PGP_WUR;
/* Stop the thread (pending jobs are dropped) and free everything. */
void cancel_fini(void);
/* Queue a cancel of the query running on s's backend. 0 or -errno. */
int cancel_submit(struct server *s, enum cancel_origin origin, uint32_t attach_id,
                  uint32_t seq) PGP_WUR;

#endif
