/*
 * loop_uring.c: the io_uring backend (liburing 2.3).
 *
 * Submissions are batched and sent to the kernel when the loop waits, or at once before an fd is
 * closed (a queued SQE names an fd number, which must not be reused under it). Cancelled
 * requests stay allocated until the kernel posts their last completion: the kernel may still be
 * reading their message buffers.
 */
#include "loop_int.h"

#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Valgrind cannot see the kernel write received data asynchronously: say so, or every read of a
 * received datagram is reported as uninitialised. No code is generated without valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
/* Valgrind 3.19 keeps its global lock while a thread sits in io_uring_enter, so the cancel
 * thread would starve: under valgrind only, wait in short slices and yield between them. */
#define LOOP_URING_VALGRIND_SLICE_US 10000u

#define LOOP_URING_ENTRIES 256
#define LOOP_URING_BATCH   64

struct loop_uring {
	struct io_uring ring;
	bool no_multishot; /* kernel without multishot accept (< 5.19) */
	uint32_t inflight; /* requests the kernel still owns */
};

static int uring_init(struct loop *l)
{
	static const int ops[] = {IORING_OP_ACCEPT, IORING_OP_RECVMSG, IORING_OP_SENDMSG,
	                          IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL};
	struct loop_uring *u = calloc(1, sizeof(*u));
	struct io_uring_probe *probe;
	int rc;

	if (!u)
		return -ENOMEM;
	rc = io_uring_queue_init(LOOP_URING_ENTRIES, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return rc;
	}
	probe = io_uring_get_probe_ring(&u->ring);
	for (size_t i = 0; probe && i < PGP_ARRAY_LEN(ops); i++) {
		if (!io_uring_opcode_supported(probe, ops[i])) {
			rc = -ENOSYS;
			break;
		}
	}
	if (probe)
		io_uring_free_probe(probe);
	else
		rc = -ENOSYS;
	if (rc < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return rc;
	}
	l->impl = u;
	return 0;
}

static struct io_uring_sqe *uring_sqe(struct loop_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static int uring_submit(struct loop *l, struct loop_req *req)
{
	struct loop_uring *u = l->impl;
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (!sqe)
		return -EBUSY;
	switch (req->op) {
	case LOOP_OP_ACCEPT:
		req->single_accept = u->no_multishot;
		if (req->single_accept)
			io_uring_prep_accept(sqe, req->fd, NULL, NULL, SOCK_CLOEXEC);
		else
			io_uring_prep_multishot_accept(sqe, req->fd, NULL, NULL, SOCK_CLOEXEC);
		break;
	case LOOP_OP_RECV:
		io_uring_prep_recvmsg(sqe, req->fd, &req->msg, MSG_CMSG_CLOEXEC);
		break;
	case LOOP_OP_SEND:
		io_uring_prep_sendmsg(sqe, req->fd, &req->msg, MSG_NOSIGNAL);
		break;
	case LOOP_OP_POLL:
		io_uring_prep_poll_add(sqe, req->fd, req->events);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	u->inflight++;
	return 0;
}

static void uring_cancel(struct loop *l, struct loop_req *req)
{
	struct loop_uring *u = l->impl;
	struct io_uring_sqe *sqe = uring_sqe(u);

	/* Without an SQE the request still completes on its own and is freed then. */
	if (!sqe)
		return;
	io_uring_prep_cancel(sqe, req, 0);
	io_uring_sqe_set_data(sqe, NULL);
}

static void uring_release_fd(struct loop *l, int fd)
{
	struct loop_uring *u = l->impl;

	(void)fd;
	(void)io_uring_submit(&u->ring);
}

/* Handle one completion. Returns true when the request is finished and must be freed. */
static bool uring_dispatch(struct loop *l, struct loop_req *req, int res, uint32_t flags)
{
	struct loop_uring *u = l->impl;
	bool more = flags & IORING_CQE_F_MORE;

	switch (req->op) {
	case LOOP_OP_ACCEPT:
		if (!req->single_accept && res == -EINVAL && !u->no_multishot && req->cb) {
			log_info(
			    "io_uring: no multishot accept on this kernel, using one-shot accept");
			u->no_multishot = true;
			u->inflight--;
			return uring_submit(l, req) != 0;
		}
		if (res >= 0 && !req->cb) {
			close(res);
			return !more && !req->single_accept;
		}
		if (req->single_accept && res >= 0) {
			loop_complete(req, res, true);
			u->inflight--;
			return !req->cb || uring_submit(l, req) != 0;
		}
		break;
	case LOOP_OP_RECV:
		if (res > 0) {
			VALGRIND_MAKE_MEM_DEFINED(req->data,
			                          (size_t)res < req->cap ? (size_t)res : req->cap);
			VALGRIND_MAKE_MEM_DEFINED(&req->msg, sizeof(req->msg));
			VALGRIND_MAKE_MEM_DEFINED(req->cmsg.buf, sizeof(req->cmsg.buf));
			loop_close_received_fds(&req->msg);
		}
		break;
	case LOOP_OP_SEND:
	case LOOP_OP_POLL:
		break;
	}
	loop_complete(req, res, more);
	return !more;
}

static int uring_wait(struct loop *l, uint64_t timeout_us)
{
	struct loop_uring *u = l->impl;
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe, *cqes[LOOP_URING_BATCH];
	struct {
		struct loop_req *req;
		int res;
		uint32_t flags;
	} batch[LOOP_URING_BATCH];
	unsigned n;
	int rc;

	if (RUNNING_ON_VALGRIND) {
		sched_yield();
		if (timeout_us > LOOP_URING_VALGRIND_SLICE_US)
			timeout_us = LOOP_URING_VALGRIND_SLICE_US;
	}
	if (timeout_us != UINT64_MAX) {
		ts.tv_sec = (long long)(timeout_us / 1000000u);
		ts.tv_nsec = (long long)(timeout_us % 1000000u) * 1000;
		tsp = &ts;
	}
	rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, tsp, NULL);
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	/* Copy the completions out first: callbacks submit and may flush the ring. */
	while ((n = io_uring_peek_batch_cqe(&u->ring, cqes, LOOP_URING_BATCH)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			batch[i].req = io_uring_cqe_get_data(cqes[i]);
			batch[i].res = cqes[i]->res;
			batch[i].flags = cqes[i]->flags;
		}
		io_uring_cq_advance(&u->ring, n);
		for (unsigned i = 0; i < n; i++) {
			struct loop_req *req = batch[i].req;
			if (!req)
				continue;
			if (uring_dispatch(l, req, batch[i].res, batch[i].flags)) {
				u->inflight--;
				loop_req_free(req);
			}
		}
	}
	return 0;
}

static void uring_fini(struct loop *l)
{
	struct loop_uring *u = l->impl;
	uint64_t deadline = pgp_now_us() + 200000;

	/* Collect the last completions of cancelled requests so nothing is left allocated. */
	while (u->inflight > 0 && pgp_now_us() < deadline) {
		if (uring_wait(l, 10000) < 0)
			break;
	}
	io_uring_queue_exit(&u->ring);
	free(u);
	l->impl = NULL;
}

const struct loop_backend loop_uring_backend = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .release_fd = uring_release_fd,
    .wait = uring_wait,
};
