/*
 * loop.c: backend selection, request allocation, timers and the run loop shared by the io_uring
 * and epoll backends.
 */
#include "loop_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int loop_create(enum config_loop want, struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	if (want != CONFIG_LOOP_EPOLL) {
		l->backend = &loop_uring_backend;
		rc = l->backend->init(l);
		if (rc == 0)
			goto ok;
		if (want == CONFIG_LOOP_IO_URING) {
			log_error("event_loop = io_uring, but io_uring_queue_init failed: %s",
			          strerror(-rc));
			free(l);
			return rc;
		}
		log_warn("io_uring is not available (%s): falling back to epoll", strerror(-rc));
	}
	l->backend = &loop_epoll_backend;
	rc = l->backend->init(l);
	if (rc) {
		log_error("epoll_create1 failed: %s", strerror(-rc));
		free(l);
		return rc;
	}
ok:
	*out = l;
	return 0;
}

void loop_destroy(struct loop *l)
{
	if (!l)
		return;
	l->backend->fini(l);
	free(l);
}

const char *loop_backend_name(const struct loop *l)
{
	return l->backend->name;
}

static struct loop_req *loop_req_new(struct loop *l, enum loop_op op, int fd, size_t cap,
                                     loop_cb cb, void *ctx)
{
	struct loop_req *req = malloc(sizeof(*req) + cap);

	if (!req) {
		errno = ENOMEM;
		return NULL;
	}
	memset(req, 0, sizeof(*req));
	req->loop = l;
	req->op = op;
	req->fd = fd;
	req->cb = cb;
	req->ctx = ctx;
	req->pass_fd = -1;
	req->cap = cap;
	return req;
}

void loop_req_free(struct loop_req *req)
{
	if (req->pass_fd >= 0)
		close(req->pass_fd);
	free(req);
}

static struct loop_req *loop_start(struct loop *l, struct loop_req *req)
{
	int rc = l->backend->submit(l, req);

	if (rc) {
		loop_req_free(req);
		errno = -rc;
		return NULL;
	}
	return req;
}

struct loop_req *loop_accept(struct loop *l, int fd, loop_cb cb, void *ctx)
{
	struct loop_req *req = loop_req_new(l, LOOP_OP_ACCEPT, fd, 0, cb, ctx);

	return req ? loop_start(l, req) : NULL;
}

struct loop_req *loop_recv(struct loop *l, int fd, size_t max, loop_cb cb, void *ctx)
{
	/* One byte more than the largest datagram allowed tells an oversized one apart. */
	struct loop_req *req = loop_req_new(l, LOOP_OP_RECV, fd, max + 1, cb, ctx);

	if (!req)
		return NULL;
	req->iov.iov_base = req->data;
	req->iov.iov_len = req->cap;
	req->msg.msg_iov = &req->iov;
	req->msg.msg_iovlen = 1;
	req->msg.msg_control = req->cmsg.buf;
	req->msg.msg_controllen = sizeof(req->cmsg.buf);
	return loop_start(l, req);
}

struct loop_req *loop_send(struct loop *l, int fd, const void *data, size_t len, int pass_fd,
                           loop_cb cb, void *ctx)
{
	struct loop_req *req = loop_req_new(l, LOOP_OP_SEND, fd, len, cb, ctx);
	struct cmsghdr *c;

	if (!req)
		return NULL;
	memcpy(req->data, data, len);
	req->iov.iov_base = req->data;
	req->iov.iov_len = len;
	req->msg.msg_iov = &req->iov;
	req->msg.msg_iovlen = 1;
	if (pass_fd >= 0) {
		req->pass_fd = fcntl(pass_fd, F_DUPFD_CLOEXEC, 0);
		if (req->pass_fd < 0) {
			int e = errno;
			loop_req_free(req);
			errno = e;
			return NULL;
		}
		req->msg.msg_control = req->cmsg.buf;
		req->msg.msg_controllen = CMSG_SPACE(sizeof(int));
		c = CMSG_FIRSTHDR(&req->msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &req->pass_fd, sizeof(int));
	}
	return loop_start(l, req);
}

struct loop_req *loop_poll(struct loop *l, int fd, uint32_t events, loop_cb cb, void *ctx)
{
	struct loop_req *req = loop_req_new(l, LOOP_OP_POLL, fd, 0, cb, ctx);

	if (!req)
		return NULL;
	req->events = events;
	return loop_start(l, req);
}

void loop_cancel(struct loop *l, struct loop_req *req)
{
	if (!req || !req->cb)
		return;
	req->cb = NULL;
	/* Cancelling itself from inside its own final callback: the backend frees it after. */
	if (req->completing)
		return;
	l->backend->cancel(l, req);
}

void loop_release_fd(struct loop *l, int fd)
{
	if (fd >= 0)
		l->backend->release_fd(l, fd);
}

void loop_close_fd(struct loop *l, int fd)
{
	if (fd >= 0) {
		l->backend->release_fd(l, fd);
		close(fd);
	}
}

void loop_complete(struct loop_req *req, int res, bool more)
{
	struct loop_result r = {.res = res, .more = more};

	if (!req->cb)
		return;
	if (req->op == LOOP_OP_RECV && res > 0)
		r.data = req->data;
	if (req->op == LOOP_OP_RECV && res > 0 && (size_t)res >= req->cap)
		r.res = -EMSGSIZE;
	if (!more)
		req->completing = true;
	req->cb(req->ctx, req, &r);
}

void loop_close_received_fds(struct msghdr *msg)
{
	struct cmsghdr *c;

	if (msg->msg_controllen == 0 || !msg->msg_control)
		return;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd >= 0)
				close(fd);
		}
	}
}

/* ---- timers ---- */

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **p;

	if (!t->armed)
		return;
	for (p = &l->timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->armed = false;
	t->next = NULL;
}

void loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t delay_us, loop_timer_cb cb,
                      void *ctx)
{
	struct loop_timer **p;

	loop_timer_stop(l, t);
	t->at_us = pgp_now_us() + delay_us;
	t->cb = cb;
	t->ctx = ctx;
	for (p = &l->timers; *p && (*p)->at_us <= t->at_us; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	t->armed = true;
}

static void loop_run_timers(struct loop *l)
{
	uint64_t now = pgp_now_us();

	while (l->timers && l->timers->at_us <= now) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		t->next = NULL;
		t->armed = false;
		t->cb(t->ctx, t);
	}
}

int loop_run(struct loop *l)
{
	int rc;

	l->stop = false;
	while (!l->stop) {
		uint64_t timeout = UINT64_MAX;
		if (l->timers) {
			uint64_t now = pgp_now_us();
			timeout = l->timers->at_us > now ? l->timers->at_us - now : 0;
		}
		rc = l->backend->wait(l, timeout);
		if (rc < 0 && rc != -EINTR)
			return rc;
		loop_run_timers(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
