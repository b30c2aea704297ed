/*
 * reqsrv.h: a small one-request-per-connection server on a stream socket, run from the broker's
 * loop, shared by the admin socket (admin.c) and the metrics endpoint (metrics.c).
 *
 * A connection sends one request (bounded size, bounded time); the owner's handler builds the
 * whole response in a buffer; it is written without ever blocking the loop (non-blocking send,
 * POLLOUT), and the connection is closed. A client that is too slow, sends too much, or arrives
 * while max_conns are open is dropped. Nothing here allocates per byte or trusts the peer.
 */
#ifndef BROKER_REQSRV_H
#define BROKER_REQSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"
#include "pgp_common.h"

struct reqsrv;

struct reqconn {
	struct reqsrv *srv;
	struct reqconn *next, *prev;
	int fd;
	struct ucred cred; /* SO_PEERCRED (Unix sockets; zero otherwise) */
	bool has_cred;
	struct loop_req *io;
	struct loop_timer timer;
	pgp_buf in;  /* request bytes received */
	pgp_buf out; /* response, filled by the handler */
	size_t sent;
	/* Run once the response has been written (or could not be), after the connection is
	 * closed: actions that must not happen before the client got its answer (shutdown). */
	void (*after)(void *arg);
	void *after_arg;
};

struct reqsrv {
	const char *what; /* for logs: "admin socket", "metrics" */
	size_t max_request;
	uint32_t timeout_ms; /* whole request + response */
	uint32_t max_conns;
	/* Length of the complete request in in[0..len), 0 if more is needed, -1 if it is
	 * malformed (the connection is closed without an answer unless bad() writes one). */
	long (*complete)(const char *in, size_t len);
	/* Build the response to a complete request into c->out. */
	void (*handle)(struct reqconn *c, const char *req, size_t len);
	/* Optional: the request is malformed, too large (too_large) or too slow: write what the
	 * peer should read into c->out (may leave it empty). */
	void (*bad)(struct reqconn *c, bool too_large);

	/* state */
	int fd;
	struct loop_req *accept_req;
	struct loop_timer accept_retry;
	struct reqconn *conns;
	uint32_t nconns;
	uint64_t served;  /* requests answered */
	uint64_t refused; /* connections dropped: over max_conns, too slow, malformed */
};

/* Start accepting on a listening socket (non-blocking, close-on-exec); the server owns fd from
 * now on. 0 or -errno. */
int reqsrv_start(struct reqsrv *s, int fd) PGP_WUR;
/* Close the listening socket and every open connection (their `after` actions do not run). */
void reqsrv_stop(struct reqsrv *s);

/* Append printf output to a buffer: the count appended, or -ENOMEM (the buffer keeps what it
 * had, so a response under memory pressure comes out truncated rather than not at all). */
int reqsrv_printf(pgp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
