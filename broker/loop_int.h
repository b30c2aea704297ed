/*
 * loop_int.h: what loop.c shares with its two backends (loop_uring.c, loop_epoll.c).
 */
#ifndef BROKER_LOOP_INT_H
#define BROKER_LOOP_INT_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "loop.h"

enum loop_op {
	LOOP_OP_ACCEPT,
	LOOP_OP_RECV,
	LOOP_OP_SEND,
	LOOP_OP_POLL,
};

#define LOOP_RECV_FDS 8 /* fds a peer may push along with a datagram (all closed) */

struct loop_req {
	struct loop *loop;
	enum loop_op op;
	int fd;
	loop_cb cb; /* NULL once cancelled */
	void *ctx;
	uint32_t events;       /* poll */
	int res;               /* epoll: result of a send that completed at once */
	bool ready;            /* epoll: waiting in the ready queue */
	int pass_fd;           /* send: our dup of the fd to pass, closed when done */
	bool completing;       /* inside the final callback */
	bool single_accept;    /* io_uring without multishot accept */
	struct loop_req *next; /* epoll: list of requests on the same fd / free list */
	struct msghdr msg;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int) * LOOP_RECV_FDS)];
		struct cmsghdr align;
	} cmsg;
	size_t cap; /* bytes of data[] */
	uint8_t data[];
};

struct loop_backend {
	const char *name;
	int (*init)(struct loop *l);
	void (*fini)(struct loop *l);
	/* Start a prepared request; 0 or -errno. */
	int (*submit)(struct loop *l, struct loop_req *req);
	/* Mark cancelled (req->cb is already NULL); frees it when the kernel is done. */
	void (*cancel)(struct loop *l, struct loop_req *req);
	/* Forget an fd that is about to be closed (requests already cancelled). */
	void (*release_fd)(struct loop *l, int fd);
	/* Wait for events at most timeout_us (UINT64_MAX = no limit), dispatch them. */
	int (*wait)(struct loop *l, uint64_t timeout_us);
};

struct loop {
	const struct loop_backend *backend;
	void *impl;
	struct loop_timer *timers; /* sorted by at_us */
	bool stop;
};

extern const struct loop_backend loop_uring_backend;
extern const struct loop_backend loop_epoll_backend;

/* Deliver a completion to req's callback (if not cancelled). final: the request is done. */
void loop_complete(struct loop_req *req, int res, bool more);
/* Close any fds that arrived in a received datagram's control data. */
void loop_close_received_fds(struct msghdr *msg);
void loop_req_free(struct loop_req *req);

#endif
