/*
 * pgpool_ctl_client.h: the worker side of the control connection to pgpool-broker.
 *
 * One AF_UNIX SOCK_SEQPACKET connection per process (pgpool_proc.c owns it). Requests are
 * synchronous: send one datagram, wait for the reply whose seq matches (replies to requests that
 * timed out earlier arrive late and are skipped). Notifications have no reply and never block.
 * Every datagram received is validated with pgp_ctl_decode() before anything looks at it; an fd
 * arrives only with PGP_CTL_FD and any other fd the peer attaches is closed at once.
 * Nothing here depends on PHP.
 */
#ifndef PGPOOL_CTL_CLIENT_H
#define PGPOOL_CTL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_ctl.h"

typedef struct pgpool_ctl {
	int fd;       /* connected socket (SOCK_CLOEXEC, O_NONBLOCK), -1 when closed */
	uint32_t seq; /* last request sequence number used */
	bool eof;     /* the broker closed the connection (EOF, EPIPE, ECONNRESET) */
} pgpool_ctl;

#define PGPOOL_CTL_INIT                                                                            \
	{                                                                                          \
		.fd = -1, .seq = 0, .eof = false                                                   \
	}

/* Connect to the broker's control socket at path, waiting at most timeout_ms for a full backlog
 * to drain. 0, or -errno: -ENOENT (no socket), -ECONNREFUSED (no broker behind it), -EACCES,
 * -ENAMETOOLONG, -ETIMEDOUT. */
int pgpool_ctl_connect(pgpool_ctl *c, const char *path, uint32_t timeout_ms) PGP_WUR;

/* close() this process's copy (never shutdown(): after fork the parent shares the socket). */
void pgpool_ctl_close(pgpool_ctl *c);

/* The sequence number for the next request. */
uint32_t pgpool_ctl_next_seq(pgpool_ctl *c);

/*
 * Send an encoded request (its header carries seq) and wait up to timeout_ms for the reply with
 * the same seq. The reply is decoded into *reply, pointing into rbuf (PGP_CTL_MSG_MAX bytes).
 * If fd_out is not NULL it receives the fd of a PGP_CTL_FD reply (the caller owns it), else -1.
 * 0, or -EPIPE (broker gone; c->eof set), -ETIMEDOUT, -EPROTO (malformed or truncated reply,
 * FD reply without an fd), -errno.
 */
int pgpool_ctl_call(pgpool_ctl *c, const void *req, size_t req_len, uint32_t seq,
                    uint32_t timeout_ms, void *rbuf, pgp_ctl_msg *reply, int *fd_out) PGP_WUR;

/* Send a notification without blocking: 0, -EAGAIN (socket buffer full: dropped, the broker
 * catches up from shm), -EPIPE (broker gone; c->eof set), -errno. */
int pgpool_ctl_notify(pgpool_ctl *c, const void *msg, size_t len);

/* True if the broker has closed the connection; one non-blocking peek, for slow paths only.
 * Pending stale replies are discarded on the way. */
bool pgpool_ctl_peer_closed(pgpool_ctl *c);

#endif
