/*
 * reset.c: cancel / drain / rollback / DISCARD ALL on the broker's copy of a backend socket.
 *
 * The socket is non-blocking (libpq set O_NONBLOCK on the open file every copy shares), so all
 * I/O here is recv/send with MSG_DONTWAIT driven by one-shot polls on the loop.
 */
#include "reset.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "broker.h"
#include "cancel.h"
#include "log.h"
#include "pool.h"
#include "server.h"

#define RESET_READ_CHUNK 8192u
#define RESET_MSG_MAX    (1u << 20) /* replies to our own queries are tiny */

static void reset_arm(struct server *s, uint32_t events);

static void reset_fail(struct server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reset_fail(struct server *s, const char *fmt, ...)
{
	char msg[384];
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "%s failed: %s", s->reset.why ? s->reset.why : "reset", msg);
	server_close(s, true, why);
}

void reset_abort(struct server *s)
{
	struct reset *r = &s->reset;

	pgp_buf_free(&r->in);
	pgp_buf_free(&r->out);
	r->out_off = 0;
	r->step = RESET_NONE;
}

static void reset_finish(struct server *s)
{
	struct pgp_shm_slot *slot = s->slot;
	uint64_t took = pgp_now_us() - s->reset.started_us;

	/* DISCARD ALL deallocated every prepared statement: forget them. */
	for (uint32_t i = 0; i < PGP_SLOT_STMTS; i++) {
		atomic_store(&slot->stmts[i].hash, 0);
		atomic_store(&slot->stmts[i].last_used, 0);
	}
	atomic_store(&slot->nstmts, 0);
	atomic_store(&slot->flags, 0);
	log_msg(LOG_DEBUG, s->pool->cfg->name, s->index, "%s: connection reset in %.1f ms",
	        s->reset.why, (double)took / 1000.0);
	reset_abort(s);
	server_stop_io(s);
	pool_offer(s);
}

static void reset_timeout(void *ctx, struct loop_timer *t)
{
	static const char *const steps[] = {"none", "cancel", "drain", "rollback/discard"};
	struct server *s = ctx;

	(void)t;
	reset_fail(s, "timeout in the %s step after %u ms", steps[s->reset.step],
	           RESET_STEP_TIMEOUT_US / 1000u);
}

static void reset_step(struct server *s, enum reset_step step)
{
	s->reset.step = step;
	loop_timer_start(broker.loop, &s->timer, RESET_STEP_TIMEOUT_US, reset_timeout, s);
}

static void reset_write(struct server *s)
{
	struct reset *r = &s->reset;

	while (r->out_off < r->out.len) {
		ssize_t n = send(s->fd, r->out.data + r->out_off, r->out.len - r->out_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				reset_arm(s, POLLOUT);
				return;
			}
			reset_fail(s, "write: %s", strerror(errno));
			return;
		}
		r->out_off += (size_t)n;
	}
	reset_arm(s, POLLIN);
}

static void reset_send_queries(struct server *s, char txn)
{
	struct reset *r = &s->reset;

	r->out.len = 0;
	r->out_off = 0;
	r->nexpect = 0;
	r->done = 0;
	r->tag_seen = false;
	if (txn != PGP_TXN_IDLE) {
		if (pgp_fe_query(&r->out, "ROLLBACK", 8) < 0)
			goto nomem;
		r->expect[r->nexpect++] = "ROLLBACK";
	}
	if (pgp_fe_query(&r->out, "DISCARD ALL", 11) < 0)
		goto nomem;
	r->expect[r->nexpect++] = "DISCARD ALL";
	reset_step(s, RESET_QUERIES);
	reset_write(s);
	return;
nomem:
	reset_fail(s, "out of memory");
}

/* Replies to our queries: CommandComplete with the expected tag, then ReadyForQuery 'I'.
 * Returns 1 when all replies are in, 0 for more input, -1 after failing the reset. */
static int reset_parse_replies(struct server *s)
{
	struct reset *r = &s->reset;
	size_t pos = 0;
	int rc = 0;

	while (pos < r->in.len) {
		pgp_msg m;
		size_t used;
		const char *tag;
		char st;
		pgp_error e;
		int k = pgp_be_next(r->in.data + pos, r->in.len - pos, RESET_MSG_MAX, &m, &used);

		if (k < 0) {
			reset_fail(s, "malformed message from the server");
			return -1;
		}
		if (k == 0)
			break;
		pos += used;
		switch (m.type) {
		case PGP_BE_COMMAND_COMPLETE:
			if (pgp_be_command_complete(&m, &tag) < 0 ||
			    strcmp(tag, r->expect[r->done]) != 0) {
				reset_fail(s, "unexpected reply to %s", r->expect[r->done]);
				return -1;
			}
			r->tag_seen = true;
			break;
		case PGP_BE_READY_FOR_QUERY:
			if (pgp_be_ready_for_query(&m, &st) < 0 || !r->tag_seen ||
			    st != PGP_TXN_IDLE) {
				reset_fail(s, "unexpected ReadyForQuery after %s",
				           r->expect[r->done]);
				return -1;
			}
			r->tag_seen = false;
			if (++r->done == r->nexpect) {
				if (pos != r->in.len) {
					reset_fail(s, "unexpected data after the reset");
					return -1;
				}
				rc = 1;
			}
			break;
		case PGP_BE_NOTICE:
		case PGP_BE_PARAMETER_STATUS:
		case PGP_BE_NOTIFICATION:
			break;
		case PGP_BE_ERROR:
			if (pgp_be_error(&m, &e) == 0)
				reset_fail(s, "%s: ERROR %s %s", r->expect[r->done],
				           e.sqlstate ? e.sqlstate : "?",
				           e.message ? e.message : "");
			else
				reset_fail(s, "%s: malformed error", r->expect[r->done]);
			return -1;
		default:
			reset_fail(s, "unexpected message '%c' in reply to %s", m.type,
			           r->expect[r->done]);
			return -1;
		}
		if (rc == 1)
			break;
	}
	pgp_buf_consume(&r->in, pos);
	return rc;
}

/* Read what is there and advance; returns after arming the next poll or finishing. */
static void reset_read(struct server *s)
{
	struct reset *r = &s->reset;

	for (;;) {
		ssize_t n;
		int rc;
		size_t used = 0;

		if (pgp_buf_reserve(&r->in, RESET_READ_CHUNK) < 0) {
			reset_fail(s, "out of memory");
			return;
		}
		n = recv(s->fd, r->in.data + r->in.len, r->in.cap - r->in.len, MSG_DONTWAIT);
		if (n == 0) {
			reset_fail(s, "the server closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			reset_fail(s, "read: %s", strerror(errno));
			return;
		}
		r->in.len += (size_t)n;
		if (r->step == RESET_DRAIN) {
			rc = pgp_drain_feed(&r->drain, r->in.data, r->in.len, 1, &used);
			if (rc < 0) {
				reset_fail(s, "malformed data while draining");
				return;
			}
			pgp_buf_consume(&r->in, used);
			if (rc == 1) {
				if (r->in.len > 0) {
					reset_fail(s, "more than one reply was in flight");
					return;
				}
				reset_send_queries(s, r->drain.txn_status);
				return;
			}
		} else if (r->step == RESET_QUERIES) {
			rc = reset_parse_replies(s);
			if (rc < 0)
				return;
			if (rc == 1) {
				reset_finish(s);
				return;
			}
		}
	}
	reset_arm(s, POLLIN);
}

static void reset_io(void *ctx, struct loop_req *req, const struct loop_result *res)
{
	struct server *s = ctx;

	(void)req;
	s->io = NULL;
	if (res->res < 0) {
		reset_fail(s, "poll: %s", strerror(-res->res));
		return;
	}
	if (s->reset.step == RESET_QUERIES && s->reset.out_off < s->reset.out.len)
		reset_write(s);
	else
		reset_read(s);
}

static void reset_arm(struct server *s, uint32_t events)
{
	s->io = loop_poll(broker.loop, s->fd, events, reset_io, s);
	if (!s->io)
		reset_fail(s, "poll: %s", strerror(errno));
}

void reset_start(struct server *s, bool cancel, char txn, const char *why)
{
	struct reset *r = &s->reset;
	int peek;

	server_stop_io(s);
	r->why = why;
	r->started_us = pgp_now_us();
	r->in.len = 0;
	r->out.len = 0;
	r->out_off = 0;
	memset(&r->drain, 0, sizeof(r->drain));
	if (cancel) {
		int rc;
		reset_step(s, RESET_CANCEL);
		rc = cancel_submit(s, CANCEL_FOR_RESET, 0, 0);
		if (rc < 0)
			reset_fail(s, "cannot queue the cancel request: %s", strerror(-rc));
		return;
	}
	/* CLEAN: nothing may be waiting to be read; bytes here mean the owner lied or died
	 * mid-read, and the stream position is unknown. */
	peek = server_peek(s);
	if (peek != 0) {
		reset_fail(s, peek > 0 ? "unread data at a clean boundary"
		                       : "connection closed by the server");
		return;
	}
	reset_send_queries(s, txn);
}

void reset_cancel_done(struct server *s, int rc)
{
	if (s->reset.step != RESET_CANCEL)
		return;
	if (rc < 0) {
		reset_fail(s, "cancel request: %s", strerror(-rc));
		return;
	}
	reset_step(s, RESET_DRAIN);
	reset_read(s);
}
