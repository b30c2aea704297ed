/*
 * offload.c: helper threads with a job queue; completions return to the loop via an eventfd.
 */
#include "offload.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

struct offload {
	const char *name;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct offload_job *todo, *todo_tail; /* loop -> helper */
	struct offload_job *done;             /* helper -> loop, newest first */
	int efd;
	struct loop_req *efd_req;
};

static void *offload_thread(void *arg)
{
	struct offload *o = arg;

	pthread_mutex_lock(&o->lock);
	for (;;) {
		struct offload_job *job;
		uint64_t one = 1;
		while (!o->todo && !o->stop)
			pthread_cond_wait(&o->cond, &o->lock);
		if (o->stop)
			break;
		job = o->todo;
		o->todo = job->next;
		if (!o->todo)
			o->todo_tail = NULL;
		pthread_mutex_unlock(&o->lock);

		job->run(job);

		pthread_mutex_lock(&o->lock);
		job->next = o->done;
		o->done = job;
		(void)!write(o->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

static struct offload_job *offload_reverse(struct offload_job *list)
{
	struct offload_job *rev = NULL;

	while (list) {
		struct offload_job *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	return rev;
}

/* Deliver a list (newest first) in completion order. */
static void offload_deliver(struct offload_job *list, bool dropped)
{
	struct offload_job *rev = offload_reverse(list);

	while (rev) {
		struct offload_job *next = rev->next;
		rev->next = NULL;
		rev->dropped = dropped;
		rev->done(rev);
		rev = next;
	}
}

static void offload_event(void *ctx, struct loop_req *req, const struct loop_result *r);

static int offload_arm(struct offload *o)
{
	o->efd_req = loop_poll(broker.loop, o->efd, POLLIN, offload_event, o);
	if (!o->efd_req) {
		log_error("%s: cannot watch the helper's eventfd: %s", o->name, strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

static void offload_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct offload *o = ctx;
	struct offload_job *done;
	uint64_t v;

	(void)req;
	(void)r;
	o->efd_req = NULL;
	(void)!read(o->efd, &v, sizeof(v));
	pthread_mutex_lock(&o->lock);
	done = o->done;
	o->done = NULL;
	pthread_mutex_unlock(&o->lock);
	/* Re-arm first: a done() callback may submit the next job of the same chain. */
	(void)offload_arm(o);
	offload_deliver(done, false);
}

int offload_create(const char *name, struct offload **out)
{
	struct offload *o = calloc(1, sizeof(*o));
	sigset_t all, old;
	int rc;

	if (!o)
		return -ENOMEM;
	o->name = name;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	o->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->efd < 0) {
		rc = -errno;
		goto fail;
	}
	/* The helper takes no signals: they are read from the loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&o->thread, NULL, offload_thread, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto fail;
	rc = offload_arm(o);
	if (rc) {
		offload_destroy(o, 1000);
		return rc;
	}
	*out = o;
	return 0;
fail:
	if (o->efd >= 0)
		close(o->efd);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
	return rc;
}

void offload_submit(struct offload *o, struct offload_job *job)
{
	job->next = NULL;
	job->dropped = false;
	pthread_mutex_lock(&o->lock);
	if (o->todo_tail)
		o->todo_tail->next = job;
	else
		o->todo = job;
	o->todo_tail = job;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

void offload_destroy(struct offload *o, unsigned wait_ms)
{
	struct timespec until;
	struct offload_job *todo, *done;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stop = true;
	todo = o->todo;
	o->todo = o->todo_tail = NULL;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	loop_cancel(broker.loop, o->efd_req);
	o->efd_req = NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(o->thread, NULL, &until) != 0) {
		/* Stuck in a library call: leave the thread, its job and its eventfd to the exit.
		 */
		log_warn("%s: the helper thread is still busy; exiting without it", o->name);
		pthread_detach(o->thread);
		offload_deliver(offload_reverse(todo), true);
		return;
	}
	done = o->done;
	o->done = NULL;
	/* Finished jobs still get their normal completion; queued ones are dropped. */
	offload_deliver(done, false);
	/* todo is oldest first; offload_deliver wants newest first. */
	offload_deliver(offload_reverse(todo), true);
	loop_close_fd(broker.loop, o->efd);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}
