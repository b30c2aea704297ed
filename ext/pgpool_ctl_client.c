/*
 * pgpool_ctl_client.c: the worker side of the control connection (see pgpool_ctl_client.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pgpool_ctl_client.h"

/* Room for a few fds: a broker (or anything else) attaching more than one gets them closed, and
 * an ancillary area larger than ours would set MSG_CTRUNC, which rejects the datagram. */
#define CTL_MAX_FDS 4

static uint64_t deadline_after(uint32_t timeout_ms)
{
	return pgp_now_us() + (uint64_t)timeout_ms * 1000u;
}

/* Milliseconds left until deadline (rounded up), 0 once it passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = pgp_now_us();
	if (now >= deadline) {
		return 0;
	}
	uint64_t ms = (deadline - now + 999u) / 1000u;
	return ms > 600000u ? 600000 : (int)ms;
}

/* Wait for events on the socket until deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		int left = ms_left(deadline);
		if (left == 0) {
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left);
		if (r > 0) {
			return 1;
		}
		if (r < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

static bool is_peer_gone(int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN;
}

int pgpool_ctl_connect(pgpool_ctl *c, const char *path, uint32_t timeout_ms)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint64_t deadline = deadline_after(timeout_ms);
	int fd = -1, rc;

	pgpool_ctl_close(c);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN) {
			/* Backlog full: AF_UNIX offers nothing to poll for, so retry shortly. */
			if (ms_left(deadline) == 0) {
				rc = -ETIMEDOUT;
				goto out;
			}
			(void)poll(NULL, 0, 2);
			continue;
		}
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t len = sizeof(err);
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc <= 0) {
				rc = rc == 0 ? -ETIMEDOUT : rc;
				goto out;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
				rc = -errno;
				goto out;
			}
			if (err != 0) {
				rc = -err;
				goto out;
			}
			break;
		}
		rc = -errno;
		goto out;
	}
	c->fd = fd;
	c->eof = false;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

void pgpool_ctl_close(pgpool_ctl *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	c->eof = false;
}

uint32_t pgpool_ctl_next_seq(pgpool_ctl *c)
{
	if (++c->seq == 0) {
		c->seq = 1;
	}
	return c->seq;
}

/*
 * Receive one datagram without blocking into rbuf. *fd gets the first fd it carried (or -1);
 * every other fd is closed. 0 with *n set, -EAGAIN, -EPIPE at EOF, -EPROTO if the datagram or its
 * ancillary data was truncated, -errno.
 */
static int recv_one(pgpool_ctl *c, void *rbuf, size_t *n, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cbuf;
	struct iovec iov = {.iov_base = rbuf, .iov_len = PGP_CTL_MSG_MAX};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf.buf,
	    .msg_controllen = sizeof(cbuf.buf),
	};
	ssize_t r;

	*fd = -1;
	do {
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return -EAGAIN;
		}
		if (is_peer_gone(errno)) {
			c->eof = true;
			return -EPIPE;
		}
		return -errno;
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int got;
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*fd < 0) {
				*fd = got;
			} else {
				close(got);
			}
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -EPROTO;
	}
	if (r == 0) {
		/* SEQPACKET: a zero-length read is the peer's orderly close (the broker never sends
		 * an empty datagram). */
		if (*fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		c->eof = true;
		return -EPIPE;
	}
	*n = (size_t)r;
	return 0;
}

static int send_all(pgpool_ctl *c, const void *msg, size_t len, uint64_t deadline)
{
	for (;;) {
		ssize_t r = send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == (ssize_t)len) {
			return 0;
		}
		if (r >= 0) {
			return -EPROTO; /* SEQPACKET sends whole datagrams or nothing */
		}
		if (errno == EINTR) {
			continue;
		}
		if (is_peer_gone(errno)) {
			c->eof = true;
			return -EPIPE;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
		int w = wait_fd(c->fd, POLLOUT, deadline);
		if (w <= 0) {
			return w == 0 ? -ETIMEDOUT : w;
		}
	}
}

int pgpool_ctl_call(pgpool_ctl *c, const void *req, size_t req_len, uint32_t seq,
                    uint32_t timeout_ms, void *rbuf, pgp_ctl_msg *reply, int *fd_out)
{
	uint64_t deadline = deadline_after(timeout_ms);
	int fd = -1, rc;

	if (fd_out) {
		*fd_out = -1;
	}
	if (c->fd < 0 || c->eof) {
		return -EPIPE;
	}
	rc = send_all(c, req, req_len, deadline);
	if (rc < 0) {
		return rc;
	}
	for (;;) {
		size_t n = 0;
		rc = recv_one(c, rbuf, &n, &fd);
		if (rc == -EAGAIN) {
			int w = wait_fd(c->fd, POLLIN, deadline);
			if (w <= 0) {
				rc = w == 0 ? -ETIMEDOUT : w;
				goto out;
			}
			continue;
		}
		if (rc < 0) {
			goto out;
		}
		if (pgp_ctl_decode(rbuf, n, reply) < 0) {
			rc = -EPROTO;
			goto out;
		}
		if (reply->hdr.seq != seq) {
			/* The late reply to a request that timed out earlier. */
			if (fd >= 0) {
				close(fd);
				fd = -1;
			}
			continue;
		}
		if (reply->hdr.type == PGP_CTL_FD && fd < 0) {
			rc = -EPROTO;
			goto out;
		}
		if (reply->hdr.type != PGP_CTL_FD && fd >= 0) {
			close(fd);
			fd = -1;
		}
		if (fd_out) {
			*fd_out = fd;
			fd = -1;
		}
		rc = 0;
		goto out;
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

int pgpool_ctl_notify(pgpool_ctl *c, const void *msg, size_t len)
{
	if (c->fd < 0 || c->eof) {
		return -EPIPE;
	}
	for (;;) {
		ssize_t r = send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == (ssize_t)len) {
			return 0;
		}
		if (r >= 0) {
			return -EPROTO;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EWOULDBLOCK) {
			return -EAGAIN;
		}
		if (is_peer_gone(errno)) {
			c->eof = true;
			return -EPIPE;
		}
		return -errno;
	}
}

bool pgpool_ctl_peer_closed(pgpool_ctl *c)
{
	uint8_t buf[PGP_CTL_MSG_MAX];

	if (c->fd < 0 || c->eof) {
		return true;
	}
	/* Only stale replies can be queued (requests are synchronous): drop them to reach EOF. */
	for (int i = 0; i < 64; i++) {
		size_t n;
		int fd;
		int rc = recv_one(c, buf, &n, &fd);
		if (fd >= 0) {
			close(fd);
		}
		if (rc == -EAGAIN) {
			return false;
		}
		if (rc == -EPIPE) {
			return true;
		}
		if (rc < 0 && rc != -EPROTO) {
			return true;
		}
	}
	return false;
}
