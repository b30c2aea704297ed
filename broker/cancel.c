/*
 * cancel.c: the cancel thread and its queues.
 */
#include "cancel.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

struct cancel_job {
	struct cancel_job *next;
	PGcancel *cancel;
	uint32_t slot; /* global slot index */
	uint32_t gen;  /* backend generation the cancel was for */
	enum cancel_origin origin;
	uint32_t attach_id;
	uint32_t seq;
	int rc; /* 0 or -errno, set by the thread */
	char err[256];
};

static struct {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct cancel_job *todo, *todo_tail; /* loop -> thread */
	struct cancel_job *done;             /* thread -> loop */
	int efd;
	struct loop_req *efd_req;
} cancel_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .efd = -1};

static void *cancel_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cancel_ctx.lock);
	for (;;) {
		struct cancel_job *job;
		uint64_t one = 1;
		while (!cancel_ctx.todo && !cancel_ctx.stop)
			pthread_cond_wait(&cancel_ctx.cond, &cancel_ctx.lock);
		if (cancel_ctx.stop)
			break;
		job = cancel_ctx.todo;
		cancel_ctx.todo = job->next;
		if (!cancel_ctx.todo)
			cancel_ctx.todo_tail = NULL;
		pthread_mutex_unlock(&cancel_ctx.lock);

		job->rc = PQcancel(job->cancel, job->err, sizeof(job->err)) ? 0 : -ECONNREFUSED;

		pthread_mutex_lock(&cancel_ctx.lock);
		job->next = cancel_ctx.done;
		cancel_ctx.done = job;
		(void)!write(cancel_ctx.efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&cancel_ctx.lock);
	return NULL;
}

static void cancel_job_free(struct cancel_job *job)
{
	PQfreeCancel(job->cancel);
	free(job);
}

static void cancel_deliver(struct cancel_job *job)
{
	struct server *s = job->slot < broker.nservers ? &broker.servers[job->slot] : NULL;

	if (job->rc < 0) {
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
}

static void cancel_efd_event(void *ctx, struct loop_req *req, const struct loop_result *r);

static void cancel_efd_arm(void)
{
	cancel_ctx.efd_req = loop_poll(broker.loop, cancel_ctx.efd, POLLIN, cancel_efd_event, NULL);
	if (!cancel_ctx.efd_req)
		log_error("cannot watch the cancel thread's eventfd: %s", strerror(errno));
}

static void cancel_efd_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct cancel_job *done, *rev = NULL;
	uint64_t v;

	(void)ctx;
	(void)req;
	(void)r;
	cancel_ctx.efd_req = NULL;
	(void)!read(cancel_ctx.efd, &v, sizeof(v));
	pthread_mutex_lock(&cancel_ctx.lock);
	done = cancel_ctx.done;
	cancel_ctx.done = NULL;
	pthread_mutex_unlock(&cancel_ctx.lock);
	/* The list is newest first: deliver in completion order. */
	while (done) {
		struct cancel_job *next = done->next;
		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev) {
		struct cancel_job *next = rev->next;
		cancel_deliver(rev);
		cancel_job_free(rev);
		rev = next;
	}
	cancel_efd_arm();
}

int cancel_init(void)
{
	sigset_t all, old;
	int rc;

	cancel_ctx.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cancel_ctx.efd < 0)
		return -errno;
	/* The thread takes no signals: they are read from the loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&cancel_ctx.thread, NULL, cancel_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(cancel_ctx.efd);
		cancel_ctx.efd = -1;
		return -rc;
	}
	cancel_ctx.started = true;
	cancel_efd_arm();
	return cancel_ctx.efd_req ? 0 : -ENOMEM;
}

static void cancel_free_list(struct cancel_job *job)
{
	while (job) {
		struct cancel_job *next = job->next;
		cancel_job_free(job);
		job = next;
	}
}

void cancel_fini(void)
{
	if (cancel_ctx.started) {
		struct timespec until;
		pthread_mutex_lock(&cancel_ctx.lock);
		cancel_ctx.stop = true;
		pthread_cond_signal(&cancel_ctx.cond);
		pthread_mutex_unlock(&cancel_ctx.lock);
		/* A PQcancel stuck on an unreachable server must not hold up the exit: after 2 s
		 * the thread is left to die with the process (its job is not freed). */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 2;
		if (pthread_timedjoin_np(cancel_ctx.thread, NULL, &until) != 0) {
			log_warn(
			    "the cancel thread is still waiting for a server; exiting without it");
			pthread_detach(cancel_ctx.thread);
			cancel_ctx.started = false;
			/* The eventfd stays open: the thread may still write to it. */
			loop_cancel(broker.loop, cancel_ctx.efd_req);
			cancel_ctx.efd_req = NULL;
			return;
		}
		cancel_ctx.started = false;
	}
	cancel_free_list(cancel_ctx.todo);
	cancel_free_list(cancel_ctx.done);
	cancel_ctx.todo = cancel_ctx.todo_tail = cancel_ctx.done = NULL;
	loop_cancel(broker.loop, cancel_ctx.efd_req);
	cancel_ctx.efd_req = NULL;
	if (cancel_ctx.efd >= 0)
		loop_close_fd(broker.loop, cancel_ctx.efd);
	cancel_ctx.efd = -1;
}

int cancel_submit(struct server *s, enum cancel_origin origin, uint32_t attach_id, uint32_t seq)
{
	struct cancel_job *job;

	if (!cancel_ctx.started || !s->conn)
		return -ENOTCONN;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->cancel = PQgetCancel(s->conn);
	if (!job->cancel) {
		free(job);
		return -ENOMEM;
	}
	job->slot = s->pool->first_slot + s->index;
	job->gen = s->gen;
	job->origin = origin;
	job->attach_id = attach_id;
	job->seq = seq;
	pthread_mutex_lock(&cancel_ctx.lock);
	if (cancel_ctx.todo_tail)
		cancel_ctx.todo_tail->next = job;
	else
		cancel_ctx.todo = job;
	cancel_ctx.todo_tail = job;
	pthread_cond_signal(&cancel_ctx.cond);
	pthread_mutex_unlock(&cancel_ctx.lock);
	return 0;
}
