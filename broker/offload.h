/*
 * offload.h: a helper thread that runs blocking or CPU-heavy library calls for the loop.
 *
 * libpq blocks in places the loop must not: PQcancel() opens a connection and waits for the
 * postmaster; PQconnectStartParams()/PQconnectPoll() resolve host names and compute SCRAM
 * (tens of ms of CPU per connect here). Such a call becomes a job: run() executes on the helper
 * thread, then done() runs on the loop thread (woken through an eventfd). A job's data is only
 * touched by one thread at a time: the loop until submit, the helper during run(), the loop
 * again from done() on.
 */
#ifndef BROKER_OFFLOAD_H
#define BROKER_OFFLOAD_H

#include <stdbool.h>

#include "pgp_common.h"

struct offload;

struct offload_job {
	struct offload_job *next;
	void (*run)(struct offload_job *job);  /* helper thread */
	void (*done)(struct offload_job *job); /* loop thread; also for dropped jobs */
	bool dropped; /* set before done() when the helper stopped before running it */
};

/* Start a helper thread named name (for logs). 0 or -errno. */
int offload_create(const char *name, struct offload **out) PGP_WUR;
/* Queue a job (it runs in submission order). */
void offload_submit(struct offload *o, struct offload_job *job);
/*
 * Stop the helper. Jobs not run yet get done() with dropped set; a job running after wait_ms is
 * abandoned with the thread (the process is exiting), so a call stuck on the network cannot hold
 * up shutdown.
 */
void offload_destroy(struct offload *o, unsigned wait_ms);

#endif
