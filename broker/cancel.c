/*
 * cancel.c: CancelRequests through PGcancel on a helper thread (offload.c).
 */
#include "cancel.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "offload.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

#define CANCEL_EXIT_WAIT_MS 2000u

struct cancel_key {
	PGcancel *pg;
	uint32_t refs; /* the server's, plus one per job in flight */
};

struct cancel_job {
	struct offload_job base; /* first: the job is freed through it */
	struct cancel_key *key;
	uint32_t slot; /* global slot index */
	uint32_t gen;  /* backend generation the cancel was for */
	enum cancel_origin origin;
	uint32_t attach_id;
	uint32_t seq;
	int rc; /* 0 or -errno, set by the helper */
	char err[256];
};

/* Its own thread: a PQcancel waiting on an unreachable server must not delay connects. */
static struct offload *cancel_helper;

static void cancel_run(struct offload_job *base)
{
	struct cancel_job *job = (struct cancel_job *)base;

	job->rc = PQcancel(job->key->pg, job->err, sizeof(job->err)) ? 0 : -ECONNREFUSED;
}

static void cancel_done(struct offload_job *base)
{
	struct cancel_job *job = (struct cancel_job *)base;
	struct server *s = job->slot < broker.nservers ? &broker.servers[job->slot] : NULL;

	if (s && !s->pool)
		s = NULL; /* its pool was removed meanwhile */

	if (job->base.dropped) {
		job->rc = -ECANCELED;
		snprintf(job->err, sizeof(job->err), "the broker is shutting down");
	} else if (job->rc < 0) {
		size_t n = strlen(job->err);
		while (n > 0 && job->err[n - 1] == '\n')
			job->err[--n] = '\0';
		log_msg(LOG_WARNING, s ? s->pool->cfg->name : NULL, s ? s->index : LOG_NO_SLOT,
		        "cancel request failed: %s", job->err);
	}
	if (job->origin == CANCEL_FOR_RESET) {
		if (s && s->gen == job->gen && s->phase == SERVER_BUSY)
			reset_cancel_done(s, job->rc);
	} else {
		worker_cancel_done(job->attach_id, job->seq, job->rc, job->err);
	}
	cancel_key_put(job->key);
	free(job);
}

struct cancel_key *cancel_key_new(PGconn *conn)
{
	struct cancel_key *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->pg = PQgetCancel(conn);
	if (!k->pg) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	return k;
}

void cancel_key_put(struct cancel_key *k)
{
	if (!k || --k->refs > 0)
		return;
	PQfreeCancel(k->pg);
	free(k);
}

int cancel_init(void)
{
	return offload_create("cancel", &cancel_helper);
}

void cancel_fini(void)
{
	offload_destroy(cancel_helper, CANCEL_EXIT_WAIT_MS);
	cancel_helper = NULL;
}

int cancel_submit(struct server *s, enum cancel_origin origin, uint32_t attach_id, uint32_t seq)
{
	struct cancel_job *job;

	if (!cancel_helper || !s->cancel)
		return -ENOTCONN;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->key = s->cancel;
	job->key->refs++;
	job->base.run = cancel_run;
	job->base.done = cancel_done;
	job->slot = s->pool->first_slot + s->index;
	job->gen = s->gen;
	job->origin = origin;
	job->attach_id = attach_id;
	job->seq = seq;
	offload_submit(cancel_helper, &job->base);
	return 0;
}
