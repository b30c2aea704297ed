/*
 * cancel.h: CancelRequests on a helper thread. PQcancel() blocks (it opens a new connection to
 * the postmaster), so it never runs on the loop: jobs go to a helper thread of their own
 * (offload.c), and completions come back to the loop through an eventfd.
 *
 * Each job carries its own PGcancel (PQgetCancel copies the backend's pid and secret key and
 * does no I/O), so a job in flight never refers to a backend the loop has closed meanwhile; the
 * completion is matched to the slot by generation.
 */
#ifndef BROKER_CANCEL_H
#define BROKER_CANCEL_H

#include <stdint.h>

#include "pgp_common.h"

struct server;

enum cancel_origin {
	CANCEL_FOR_RESET = 0,  /* reset.c: reset_cancel_done() */
	CANCEL_FOR_WORKER = 1, /* a worker's CANCEL: worker_cancel_done() replies */
};

int cancel_init(void) PGP_WUR;
/* Stop the thread (pending jobs are dropped) and free everything. */
void cancel_fini(void);
/* Queue a cancel of the query running on s's backend. 0 or -errno. */
int cancel_submit(struct server *s, enum cancel_origin origin, uint32_t attach_id,
                  uint32_t seq) PGP_WUR;

#endif
