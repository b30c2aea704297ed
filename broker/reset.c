/*
 * reset.c: cancel / drain / rollback / session reset, and the broker's own queries (health
 * checks, orphan cleanup), on the broker's copy of a backend socket.
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

#define RESET_READ_CHUNK      8192u
#define RESET_MSG_MAX         (1u << 20) /* replies to our own queries are tiny */
#define RESET_STMT_PREFIX_LEN "7"        /* strlen(PGP_STMT_PREFIX), as SQL text */

_Static_assert(sizeof(PGP_STMT_PREFIX) == 8, "RESET_STMT_PREFIX_LEN is its length");

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
	if (s->reset.health)
		atomic_fetch_add(&s->pool->shm->health_check_failures, 1);
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

/* The reset ran: the session holds nothing the next user could see. Prepared statements stay on
 * the backend (the reset does not DEALLOCATE), so their records in stmts[] stay too. */
static void reset_offer(struct server *s)
{
	atomic_store(&s->slot->flags, 0);
	log_msg(LOG_DEBUG, s->pool->cfg->name, s->index, "%s: connection reset in %.1f ms",
	        s->reset.why, (double)(pgp_now_us() - s->reset.started_us) / 1000.0);
	pool_offer(s);
}

static void reset_finish(struct server *s)
{
	reset_done_cb done = s->reset.on_done;

	reset_abort(s);
	server_stop_io(s);
	done(s);
}

static void reset_timeout(void *ctx, struct loop_timer *t)
{
	static const char *const steps[] = {"none", "cancel", "drain", "query"};
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

/* What the session reset sends: DISCARD ALL without DEALLOCATE ALL, so the statements the
 * workers share (named PGP_STMT_PREFIX..., prepared through the protocol, recorded in the slot's
 * stmts[]) survive for the next lease, while any other prepared statement (an application's
 * PREPARE, also one that took one of our names: from_sql) goes. One Query: the statements run
 * in one implicit transaction, where each of them is allowed. */
static const char reset_sql[] =
    "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
    "SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES; "
    "DO $pgpool$DECLARE r record; BEGIN FOR r IN SELECT name FROM pg_prepared_statements "
    "WHERE from_sql OR left(name, " RESET_STMT_PREFIX_LEN ") <> '" PGP_STMT_PREFIX "' LOOP "
    "EXECUTE format('DEALLOCATE %I', r.name); END LOOP; END$pgpool$";
static const char *const reset_tags[] = {
    "CLOSE CURSOR ALL",  "SET", "RESET", "UNLISTEN", "SELECT 1", "DISCARD PLANS", "DISCARD TEMP",
    "DISCARD SEQUENCES", "DO",  NULL,
};

static int reset_expect(struct reset *r, const char *const *tags, uint32_t n)
{
	if (r->nexpect + n > RESET_EXPECT_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		r->expect[r->nexpect++] = tags[i];
	return 0;
}

/* Queue the queries already in r->out and start writing them. */
static void reset_send(struct server *s)
{
	struct reset *r = &s->reset;

	r->out_off = 0;
	r->done = 0;
	r->value[0] = '\0';
	reset_step(s, RESET_QUERIES);
	reset_write(s);
}

static void reset_send_queries(struct server *s, char txn)
{
	static const char *const rollback[] = {"ROLLBACK", NULL};
	struct reset *r = &s->reset;

	r->out.len = 0;
	r->nexpect = 0;
	if (txn != PGP_TXN_IDLE) {
		if (pgp_fe_query(&r->out, "ROLLBACK", 8) < 0 ||
		    reset_expect(r, rollback, PGP_ARRAY_LEN(rollback)) < 0)
			goto nomem;
	}
	if (pgp_fe_query(&r->out, reset_sql, sizeof(reset_sql) - 1) < 0 ||
	    reset_expect(r, reset_tags, PGP_ARRAY_LEN(reset_tags)) < 0)
		goto nomem;
	r->on_done = reset_offer;
	reset_send(s);
	return;
nomem:
	reset_fail(s, "out of memory");
}

/* Keep the first value of the first DataRow (orphan cleanup reports its count with it). */
static void reset_take_value(struct reset *r, const pgp_msg *m)
{
	const uint8_t *val;
	int32_t len;
	size_t pos = 0;
	uint16_t n;

	if (r->value[0] || pgp_be_data_row(m, &n) != 0 || n < 1 ||
	    pgp_be_data_row_value(m, &pos, &val, &len) != 0 || len <= 0 ||
	    (size_t)len >= sizeof(r->value))
		return;
	memcpy(r->value, val, (size_t)len);
	r->value[len] = '\0';
}

/* Replies to our queries, in the order r->expect says. Returns 1 when all replies are in, 0 for
 * more input, -1 after failing the run. */
static int reset_parse_replies(struct server *s)
{
	struct reset *r = &s->reset;
	size_t pos = 0;
	int rc = 0;

	while (pos < r->in.len) {
		pgp_msg m;
		size_t used;
		const char *tag, *want;
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
		if (r->done >= r->nexpect) {
			reset_fail(s, "unexpected data after the replies");
			return -1;
		}
		want = r->expect[r->done];
		switch (m.type) {
		case PGP_BE_COMMAND_COMPLETE:
			if (!want || !want[0] || pgp_be_command_complete(&m, &tag) < 0 ||
			    strcmp(tag, want) != 0) {
				reset_fail(s, "unexpected reply (expected %s)",
				           want ? want : "ReadyForQuery");
				return -1;
			}
			r->done++;
			break;
		case PGP_BE_EMPTY_QUERY:
			if (!want || want[0]) {
				reset_fail(s, "unexpected EmptyQueryResponse");
				return -1;
			}
			r->done++;
			break;
		case PGP_BE_READY_FOR_QUERY:
			if (want || pgp_be_ready_for_query(&m, &st) < 0 || st != PGP_TXN_IDLE) {
				reset_fail(s, "unexpected ReadyForQuery (expected %s)",
				           want ? want : "status I");
				return -1;
			}
			if (++r->done == r->nexpect) {
				if (pos != r->in.len) {
					reset_fail(s, "unexpected data after the replies");
					return -1;
				}
				rc = 1;
			}
			break;
		case PGP_BE_DATA_ROW:
			reset_take_value(r, &m);
			break;
		case PGP_BE_ROW_DESCRIPTION:
		case PGP_BE_NOTICE:
		case PGP_BE_PARAMETER_STATUS:
		case PGP_BE_NOTIFICATION:
			break;
		case PGP_BE_ERROR:
			if (pgp_be_error(&m, &e) == 0)
				reset_fail(s, "ERROR %s %s", e.sqlstate ? e.sqlstate : "?",
				           e.message ? e.message : "");
			else
				reset_fail(s, "malformed error");
			return -1;
		default:
			reset_fail(s, "unexpected message '%c'", m.type);
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

/* A new run on a held server: fresh buffers and timer. */
static void reset_begin(struct server *s, const char *why, bool health)
{
	struct reset *r = &s->reset;

	server_stop_io(s);
	r->why = why;
	r->health = health;
	r->started_us = pgp_now_us();
	r->in.len = 0;
	r->out.len = 0;
	r->out_off = 0;
	r->nexpect = 0;
	memset(&r->drain, 0, sizeof(r->drain));
}

/* At a clean boundary nothing may be waiting to be read: bytes there mean the owner lied or
 * died mid-read (the stream position is unknown), or the server sent a FATAL and closed. 0, or
 * -1 after failing the run. */
static int reset_check_quiet(struct server *s)
{
	int peek = server_peek(s);

	if (peek == 0)
		return 0;
	reset_fail(s, peek > 0 ? "unread data at a clean boundary"
	                       : "connection closed by the server");
	return -1;
}

void reset_start(struct server *s, bool cancel, char txn, const char *why)
{
	reset_begin(s, why, false);
	if (cancel) {
		int rc;
		reset_step(s, RESET_CANCEL);
		rc = cancel_submit(s, CANCEL_FOR_RESET, 0, 0);
		if (rc < 0)
			reset_fail(s, "cannot queue the cancel request: %s", strerror(-rc));
		return;
	}
	if (reset_check_quiet(s) == 0)
		reset_send_queries(s, txn);
}

void reset_query(struct server *s, const char *sql, const char *const *expect, uint32_t n,
                 const char *why, bool health, reset_done_cb done)
{
	struct reset *r = &s->reset;

	reset_begin(s, why, health);
	r->on_done = done;
	if (reset_check_quiet(s) < 0)
		return;
	if (n == 0 || expect[n - 1] != NULL || pgp_fe_query(&r->out, sql, strlen(sql)) < 0 ||
	    reset_expect(r, expect, n) < 0) {
		reset_fail(s, "cannot build the query");
		return;
	}
	reset_send(s);
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
