/*
 * reqsrv.c: one request, one response, then close (see reqsrv.h).
 */
#include "reqsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define REQSRV_ACCEPT_RETRY_US 100000u
#define REQSRV_READ_CHUNK      1024u

int reqsrv_printf(pgp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (pgp_buf_reserve(b, (size_t)n + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return n;
}

static void reqsrv_accept_arm(struct reqsrv *s);
static void conn_read_arm(struct reqconn *c);
static void conn_write(struct reqconn *c);

/* ---- closing ---- */

static void conn_free(struct reqconn *c, bool run_after)
{
	struct reqsrv *s = c->srv;
	void (*after)(void *) = run_after ? c->after : NULL;
	void *arg = c->after_arg;

	loop_cancel(broker.loop, c->io);
	c->io = NULL;
	loop_timer_stop(broker.loop, &c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	loop_close_fd(broker.loop, c->fd);
	pgp_buf_free(&c->in);
	pgp_buf_free(&c->out);
	free(c);
	if (after)
		after(arg);
}

/* The response is out: stop sending, read what the peer may still have sent (so closing does
 * not turn into a reset that destroys the response in flight), close. */
static void conn_finish(struct reqconn *c)
{
	char sink[256];

	(void)shutdown(c->fd, SHUT_WR);
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	conn_free(c, true);
}

static void conn_drop(struct reqconn *c, const char *why)
{
	c->srv->refused++;
	log_debug("%s: dropping a connection: %s", c->srv->what, why);
	conn_free(c, false);
}

/* The request was bad: answer if the owner has something to say, else just close. */
static void conn_reject(struct reqconn *c, bool too_large, const char *why)
{
	c->srv->refused++;
	log_debug("%s: rejecting a request: %s", c->srv->what, why);
	c->out.len = 0;
	if (c->srv->bad)
		c->srv->bad(c, too_large);
	if (c->out.len == 0) {
		conn_free(c, false);
		return;
	}
	conn_write(c);
}

/* ---- writing ---- */

static void conn_writable(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct reqconn *c = ctx;

	(void)req;
	c->io = NULL;
	if (r->res < 0) {
		conn_drop(c, strerror(-r->res));
		return;
	}
	conn_write(c);
}

static void conn_write(struct reqconn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->io = loop_poll(broker.loop, c->fd, POLLOUT, conn_writable, c);
			if (!c->io)
				conn_drop(c, "cannot wait for the socket");
			return;
		}
		conn_drop(c, n < 0 ? strerror(errno) : "short write");
		return;
	}
	conn_finish(c);
}

/* ---- reading ---- */

static void conn_readable(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct reqconn *c = ctx;
	struct reqsrv *s = c->srv;
	long complete;

	(void)req;
	c->io = NULL;
	if (r->res < 0) {
		conn_drop(c, strerror(-r->res));
		return;
	}
	for (;;) {
		ssize_t n;

		if (pgp_buf_reserve(&c->in, REQSRV_READ_CHUNK) < 0) {
			conn_drop(c, "out of memory");
			return;
		}
		n = recv(c->fd, c->in.data + c->in.len, REQSRV_READ_CHUNK, MSG_DONTWAIT);
		if (n > 0) {
			c->in.len += (size_t)n;
			if (c->in.len > s->max_request)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF or an error before a whole request: nobody to answer. */
		complete = s->complete((const char *)c->in.data, c->in.len);
		if (n == 0 && complete > 0)
			break;
		conn_drop(c, n == 0 ? "closed by the peer" : strerror(errno));
		return;
	}
	complete = s->complete((const char *)c->in.data, c->in.len);
	if (complete < 0) {
		conn_reject(c, false, "malformed request");
		return;
	}
	if (complete == 0 || (size_t)complete > s->max_request) {
		if (c->in.len > s->max_request) {
			conn_reject(c, true, "request too large");
			return;
		}
		conn_read_arm(c);
		return;
	}
	/* A whole request: no more reading; the owner answers it. */
	loop_timer_stop(broker.loop, &c->timer);
	s->handle(c, (const char *)c->in.data, (size_t)complete);
	s->served++;
	conn_write(c);
}

static void conn_read_arm(struct reqconn *c)
{
	c->io = loop_poll(broker.loop, c->fd, POLLIN, conn_readable, c);
	if (!c->io)
		conn_drop(c, "cannot wait for the socket");
}

static void conn_timeout(void *ctx, struct loop_timer *t)
{
	struct reqconn *c = ctx;

	(void)t;
	if (c->sent > 0 || c->out.len > 0) {
		conn_drop(c, "the peer does not read the response");
		return;
	}
	loop_cancel(broker.loop, c->io);
	c->io = NULL;
	conn_reject(c, false, "no complete request in time");
}

/* ---- accepting ---- */

static void conn_new(struct reqsrv *s, int fd)
{
	struct reqconn *c;
	socklen_t len;
	int fl;

	if (s->nconns >= s->max_conns) {
		s->refused++;
		log_warn("%s: %u connections open already: refusing another", s->what, s->nconns);
		loop_close_fd(broker.loop, fd);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	c = calloc(1, sizeof(*c));
	if (!c || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_warn("%s: cannot take a connection: %s", s->what,
		         c ? strerror(errno) : "no memory");
		free(c);
		loop_close_fd(broker.loop, fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	len = sizeof(c->cred);
	c->has_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) == 0 &&
	              len == sizeof(c->cred) && c->cred.pid > 0;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	loop_timer_start(broker.loop, &c->timer, (uint64_t)s->timeout_ms * 1000u, conn_timeout, c);
	conn_read_arm(c);
}

static void reqsrv_accept_retry(void *ctx, struct loop_timer *t)
{
	(void)t;
	reqsrv_accept_arm(ctx);
}

static void reqsrv_accept_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct reqsrv *s = ctx;

	(void)req;
	if (!r->more)
		s->accept_req = NULL;
	if (r->res >= 0)
		conn_new(s, r->res);
	else if (r->res != -ECANCELED)
		log_warn("%s: accept failed: %s", s->what, strerror(-r->res));
	if (!r->more && s->fd >= 0) {
		if (r->res >= 0)
			reqsrv_accept_arm(s);
		else
			loop_timer_start(broker.loop, &s->accept_retry, REQSRV_ACCEPT_RETRY_US,
			                 reqsrv_accept_retry, s);
	}
}

static void reqsrv_accept_arm(struct reqsrv *s)
{
	if (s->fd < 0 || s->accept_req)
		return;
	s->accept_req = loop_accept(broker.loop, s->fd, reqsrv_accept_event, s);
	if (!s->accept_req)
		loop_timer_start(broker.loop, &s->accept_retry, REQSRV_ACCEPT_RETRY_US,
		                 reqsrv_accept_retry, s);
}

int reqsrv_start(struct reqsrv *s, int fd)
{
	s->fd = fd;
	s->conns = NULL;
	s->nconns = 0;
	reqsrv_accept_arm(s);
	return 0;
}

void reqsrv_stop(struct reqsrv *s)
{
	/* conn_free() unlinks the connection from c->srv, which is s (the analyzer cannot tell). */
	while (s->conns)
		conn_free(s->conns, false); // NOLINT(clang-analyzer-unix.Malloc)
	if (s->fd < 0)
		return;
	loop_timer_stop(broker.loop, &s->accept_retry);
	loop_cancel(broker.loop, s->accept_req);
	s->accept_req = NULL;
	loop_close_fd(broker.loop, s->fd);
	s->fd = -1;
}
