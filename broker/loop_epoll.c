/*
 * loop_epoll.c: the epoll backend, with the same completion semantics as io_uring.
 *
 * Level-triggered epoll tells when an fd is ready; the backend then performs the operation with
 * MSG_DONTWAIT (the accepted sockets are blocking for io_uring's sake, so every call here must
 * say so itself) and completes the request. Several requests may wait on one fd (a control
 * connection has a receive and sometimes a send pending); the fd is registered for the union of
 * their interests. Requests that finish or are cancelled are freed at the end of the wait, so a
 * callback may cancel any request, including one later in the same batch.
 */
#include "loop_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EPOLL_BATCH        64
#define EPOLL_PER_FD       8
#define EPOLL_ACCEPT_BURST 32

struct epoll_reg {
	struct loop_req *head; /* requests waiting on this fd */
	uint32_t registered;   /* events registered with epoll, 0 = not registered */
};

struct loop_epoll {
	int epfd;
	struct epoll_reg *regs; /* indexed by fd */
	size_t nregs;
	struct loop_req *ready; /* sends that completed at once, to report */
	struct loop_req *ready_tail;
	struct loop_req *graveyard; /* finished or cancelled, freed after dispatch */
};

static int epoll_init(struct loop *l)
{
	struct loop_epoll *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		int rc = -errno;
		free(e);
		return rc;
	}
	l->impl = e;
	return 0;
}

static void epoll_free_list(struct loop_req *r)
{
	while (r) {
		struct loop_req *next = r->next;
		loop_req_free(r);
		r = next;
	}
}

static void epoll_fini(struct loop *l)
{
	struct loop_epoll *e = l->impl;

	for (size_t i = 0; i < e->nregs; i++)
		epoll_free_list(e->regs[i].head);
	epoll_free_list(e->ready);
	epoll_free_list(e->graveyard);
	free(e->regs);
	close(e->epfd);
	free(e);
	l->impl = NULL;
}

static uint32_t epoll_interest(const struct loop_req *r)
{
	switch (r->op) {
	case LOOP_OP_ACCEPT:
	case LOOP_OP_RECV:
		return EPOLLIN;
	case LOOP_OP_SEND:
		return EPOLLOUT;
	case LOOP_OP_POLL:
		return r->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
	}
	return 0;
}

static struct epoll_reg *epoll_reg(struct loop_epoll *e, int fd)
{
	if ((size_t)fd >= e->nregs) {
		size_t n = e->nregs ? e->nregs : 64;
		struct epoll_reg *regs;
		while (n <= (size_t)fd)
			n *= 2;
		regs = realloc(e->regs, n * sizeof(*regs));
		if (!regs)
			return NULL;
		memset(regs + e->nregs, 0, (n - e->nregs) * sizeof(*regs));
		e->regs = regs;
		e->nregs = n;
	}
	return &e->regs[fd];
}

/* Register the union of the interests of the fd's requests (or remove it). */
static int epoll_sync(struct loop_epoll *e, int fd)
{
	struct epoll_reg *reg = &e->regs[fd];
	struct epoll_event ev = {0};
	uint32_t mask = 0;
	int op;

	for (struct loop_req *r = reg->head; r; r = r->next)
		mask |= epoll_interest(r);
	if (mask == reg->registered)
		return 0;
	if (mask == 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
		reg->registered = 0;
		return 0;
	}
	op = reg->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ev.events = mask;
	ev.data.fd = fd;
	if (epoll_ctl(e->epfd, op, fd, &ev) < 0)
		return -errno;
	reg->registered = mask;
	return 0;
}

static void epoll_unlink(struct loop_epoll *e, struct loop_req *req)
{
	struct loop_req **p;

	for (p = &e->regs[req->fd].head; *p; p = &(*p)->next) {
		if (*p == req) {
			*p = req->next;
			req->next = NULL;
			return;
		}
	}
}

static void epoll_bury(struct loop_epoll *e, struct loop_req *req)
{
	req->next = e->graveyard;
	e->graveyard = req;
}

static void epoll_push_ready(struct loop_epoll *e, struct loop_req *req, int res)
{
	req->res = res;
	req->ready = true;
	req->next = NULL;
	if (e->ready_tail)
		e->ready_tail->next = req;
	else
		e->ready = req;
	e->ready_tail = req;
}

static int epoll_submit(struct loop *l, struct loop_req *req)
{
	struct loop_epoll *e = l->impl;
	struct epoll_reg *reg;
	int rc;

	if (req->fd < 0)
		return -EBADF;
	if (req->op == LOOP_OP_SEND) {
		ssize_t n = sendmsg(req->fd, &req->msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			epoll_push_ready(e, req, n >= 0 ? (int)n : -errno);
			return 0;
		}
	}
	reg = epoll_reg(e, req->fd);
	if (!reg)
		return -ENOMEM;
	req->next = reg->head;
	reg->head = req;
	rc = epoll_sync(e, req->fd);
	if (rc) {
		epoll_unlink(e, req);
		return rc;
	}
	return 0;
}

static void epoll_cancel(struct loop *l, struct loop_req *req)
{
	struct loop_epoll *e = l->impl;

	/* A request in the ready queue is skipped and freed when the queue is run. */
	if (req->ready)
		return;
	epoll_unlink(e, req);
	epoll_sync(e, req->fd);
	epoll_bury(e, req);
}

static void epoll_release_fd(struct loop *l, int fd)
{
	struct loop_epoll *e = l->impl;

	if ((size_t)fd < e->nregs) {
		struct epoll_reg *reg = &e->regs[fd];
		while (reg->head) {
			struct loop_req *r = reg->head;
			reg->head = r->next;
			r->cb = NULL;
			epoll_bury(e, r);
		}
		if (reg->registered)
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
		reg->registered = 0;
	}
}

/* Try one request that epoll says may be ready. Returns true when it finished. */
static bool epoll_perform(struct loop_epoll *e, struct loop_req *r)
{
	ssize_t n;

	switch (r->op) {
	case LOOP_OP_ACCEPT:
		for (int i = 0; i < EPOLL_ACCEPT_BURST && r->cb; i++) {
			int fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				loop_complete(r, fd, true);
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ||
			    errno == EINTR)
				return false;
			epoll_unlink(e, r);
			loop_complete(r, -errno, false);
			return true;
		}
		return false;
	case LOOP_OP_RECV:
		r->msg.msg_controllen = sizeof(r->cmsg.buf);
		n = recvmsg(r->fd, &r->msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return false;
		if (n > 0)
			loop_close_received_fds(&r->msg);
		epoll_unlink(e, r);
		loop_complete(r, n >= 0 ? (int)n : -errno, false);
		return true;
	case LOOP_OP_SEND:
		n = sendmsg(r->fd, &r->msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return false;
		epoll_unlink(e, r);
		loop_complete(r, n >= 0 ? (int)n : -errno, false);
		return true;
	case LOOP_OP_POLL: {
		/* Ask the fd itself: the event may be stale (fd closed and reused in this batch).
		 */
		struct pollfd p = {.fd = r->fd, .events = (short)r->events};
		if (poll(&p, 1, 0) <= 0 || p.revents == 0)
			return false;
		epoll_unlink(e, r);
		loop_complete(r, p.revents, false);
		return true;
	}
	}
	return false;
}

static void epoll_dispatch_fd(struct loop_epoll *e, int fd, uint32_t events)
{
	struct loop_req *snap[EPOLL_PER_FD];
	size_t n = 0;

	if ((size_t)fd >= e->nregs)
		return;
	for (struct loop_req *r = e->regs[fd].head; r && n < EPOLL_PER_FD; r = r->next)
		snap[n++] = r;
	for (size_t i = 0; i < n; i++) {
		struct loop_req *r = snap[i];
		/* Cancelled by an earlier callback (it is in the graveyard, still allocated) or
		 * moved to another fd number: skip. */
		if (!r->cb || r->fd != fd)
			continue;
		if (!(events & (epoll_interest(r) | EPOLLERR | EPOLLHUP)))
			continue;
		if (epoll_perform(e, r))
			epoll_bury(e, r);
	}
	if ((size_t)fd < e->nregs)
		epoll_sync(e, fd);
}

static int epoll_wait_dispatch(struct loop *l, uint64_t timeout_us)
{
	struct loop_epoll *e = l->impl;
	struct epoll_event evs[EPOLL_BATCH];
	int ms, n;

	if (e->ready)
		ms = 0;
	else if (timeout_us == UINT64_MAX)
		ms = -1;
	else if (timeout_us / 1000 >= INT_MAX)
		ms = INT_MAX;
	else
		ms = (int)((timeout_us + 999) / 1000);
	n = epoll_wait(e->epfd, evs, EPOLL_BATCH, ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	while (e->ready) {
		struct loop_req *r = e->ready;
		e->ready = r->next;
		if (!e->ready)
			e->ready_tail = NULL;
		r->ready = false;
		loop_complete(r, r->res, false);
		epoll_bury(e, r);
	}
	for (int i = 0; i < n; i++)
		epoll_dispatch_fd(e, evs[i].data.fd, evs[i].events);
	epoll_free_list(e->graveyard);
	e->graveyard = NULL;
	return 0;
}

const struct loop_backend loop_epoll_backend = {
    .name = "epoll",
    .init = epoll_init,
    .fini = epoll_fini,
    .submit = epoll_submit,
    .cancel = epoll_cancel,
    .release_fd = epoll_release_fd,
    .wait = epoll_wait_dispatch,
};
