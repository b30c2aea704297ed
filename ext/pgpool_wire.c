/*
 * pgpool_wire.c: poll()-driven I/O of one round trip on a leased backend socket, with the
 * lease's protocol position kept exact in shm (see pgpool_wire.h).
 *
 * Protocol position bookkeeping (what the broker relies on if this process dies):
 *   WRITING  while the request is being written (half a message may be on the wire);
 *   SENT     once written, and again whenever everything read so far ends on a message boundary
 *            and exactly one ReadyForQuery is still to come from the socket (the broker can then
 *            cancel and drain to that ReadyForQuery);
 *   READING  before every read, and whenever more than one ReadyForQuery is still outstanding
 *            (a pipelined request: draining to the first one would desynchronise the stream);
 *   CLEAN    once the last ReadyForQuery was read; the transaction status of every
 *            ReadyForQuery is recorded as soon as it is read;
 *   COPY     throughout COPY IN/OUT (the caller says when).
 *
 * Deadlines: the pool's query_timeout and PHP's max_execution_time (as a wall-clock bound, see
 * pgpool_timeout.c) cut a wait short; the broker then cancels the statement and the connection is
 * drained here, within PGPOOL_WIRE_DRAIN_MS, or given up.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "php.h"

#include "php_pgpool.h"
#include "pgpool_wire.h"

/* Room kept free for a read, and the size the input buffer shrinks back to after big results. */
#define PGPOOL_WIRE_READ_CHUNK (64u * 1024u)
#define PGPOOL_WIRE_KEEP       (256u * 1024u)
/* How long draining after a cancel may take before the connection is given up: a statement
 * notices a cancel within milliseconds; a backend that does not answer at all (stopped, network
 * gone) must not keep the worker much past its deadline. */
#define PGPOOL_WIRE_DRAIN_MS 1000u

/* Per-process buffers: the request being built, and the bytes received. in.data[rpos, in.len) is
 * not yet returned to the caller; in.data[rpos, scan) is known to hold whole messages. */
static pgp_buf wire_out;
static pgp_buf wire_in;
static size_t wire_rpos;
static size_t wire_scan;
/* ReadyForQuery messages seen in the received bytes (scanned) and handed to the caller. */
static uint32_t wire_rfq_scanned;
static uint32_t wire_rfq_returned;
/* Wait before reading: right after a write, or after a read that ended on a message boundary
 * (the server flushed; more comes later), a recv() would only say EAGAIN. Inside a large result
 * the next bytes are usually there already. */
static bool wire_poll_first;

pgp_buf *pgpool_wire_request(void)
{
	wire_out.len = 0;
	return &wire_out;
}

void pgpool_wire_trim(void)
{
	if (wire_rpos == wire_in.len) {
		wire_in.len = 0;
		wire_rpos = 0;
		wire_scan = 0;
	}
	pgp_buf_trim(&wire_in, PGPOOL_WIRE_KEEP);
	pgp_buf_trim(&wire_out, PGPOOL_WIRE_KEEP);
}

void pgpool_wire_shutdown(void)
{
	pgp_buf_free(&wire_in);
	pgp_buf_free(&wire_out);
	wire_rpos = wire_scan = 0;
}

/* Longest backend message accepted (pgpool.max_message_size): pgp_be_next() checks the length
 * word before anything of the message is buffered, so a broken or hostile server cannot make
 * this process allocate more. */
static size_t wire_max_msg(void)
{
	zend_long v = PGPOOL_G(max_message_size);

	return v > 0 && (uint64_t)v <= PGP_MSG_MAX_DEFAULT ? (size_t)v : PGP_MSG_MAX_DEFAULT;
}

static bool php_timed_out(void)
{
	return zend_atomic_bool_load_ex(&EG(timed_out));
}

/* Wait for events on the socket until the round trip's deadlines (or, with drain set, until
 * deadline_us alone: we are already cleaning up after a stop, PHP's limit no longer applies).
 * 0 when ready, else the enum pgpool_wire_stop reason (> 0) or PGPOOL_WIRE_IO. */
static int wire_wait(pgpool_wire_rt *rt, short events, uint64_t deadline_us, bool drain)
{
	struct pollfd pfd;
	uint64_t now, until;
	int timeout_ms, r, why;

	for (;;) {
		timeout_ms = -1;
		until = deadline_us;
		why = PGPOOL_STOP_QUERY_TIMEOUT;
		if (!drain && rt->php_deadline_us != 0 &&
		    (until == 0 || rt->php_deadline_us < until)) {
			until = rt->php_deadline_us;
			why = PGPOOL_STOP_PHP_TIMEOUT;
		}
		if (until != 0) {
			now = pgp_now_us();
			if (now >= until)
				return why;
			timeout_ms = (int)((until - now + 999) / 1000);
		}
		pfd.fd = rt->lease->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout_ms);
		if (r > 0)
			return 0;
		if (r == 0)
			continue; /* the loop re-checks the deadline */
		if (errno == EINTR) {
			if (!drain && php_timed_out())
				return PGPOOL_STOP_PHP_TIMEOUT;
			continue;
		}
		rt->err = errno;
		return PGPOOL_WIRE_IO;
	}
}

/* Record the protocol position that matches the bytes read so far (see the file comment): set
 * whenever this process stops touching the stream (before a wait, after a read or a write). */
static void wire_mark(pgpool_wire_rt *rt)
{
	uint32_t total = rt->rfq_left + wire_rfq_returned;
	enum pgp_proto_pos pos = PGP_POS_READING; /* mid-message, or several Syncs still to come */

	if (rt->copy) {
		pos = PGP_POS_COPY;
	} else if (wire_scan == wire_in.len) {
		if (wire_rfq_scanned >= total)
			pos = PGP_POS_CLEAN;
		else if (wire_rfq_scanned + 1 == total)
			pos = PGP_POS_SENT;
	}
	pgpool_lease_set_pos(rt->lease, pos);
}

/* Account for newly received bytes: whole messages, and the status of each ReadyForQuery. */
static void wire_scan_input(pgpool_wire_rt *rt)
{
	pgp_msg m;
	size_t used;
	char status;

	while (pgp_be_next(wire_in.data + wire_scan, wire_in.len - wire_scan, wire_max_msg(), &m,
	                   &used) == 1) {
		if (m.type == PGP_BE_READY_FOR_QUERY && pgp_be_ready_for_query(&m, &status) == 0) {
			wire_rfq_scanned++;
			pgpool_lease_set_txn(rt->lease, status);
		}
		wire_scan += used;
	}
	/* A bad message stops the scan here; it is reported when the caller reaches it. */
	wire_mark(rt);
}

/* Read at least one more byte into the input buffer (want = bytes the next message needs). 0,
 * a stop reason (> 0), or PGPOOL_WIRE_IO. */
static int wire_read(pgpool_wire_rt *rt, size_t want, uint64_t deadline_us, bool drain)
{
	size_t room;
	ssize_t n;
	int rc;

	if (wire_rpos != 0) {
		memmove(wire_in.data, wire_in.data + wire_rpos, wire_in.len - wire_rpos);
		wire_in.len -= wire_rpos;
		wire_scan -= wire_rpos;
		wire_rpos = 0;
	}
	room = want > wire_in.len ? want - wire_in.len : 0;
	if (room < PGPOOL_WIRE_READ_CHUNK)
		room = PGPOOL_WIRE_READ_CHUNK;
	if (pgp_buf_reserve(&wire_in, room) != 0) {
		rt->err = ENOMEM;
		return PGPOOL_WIRE_IO;
	}
	if (wire_poll_first) {
		rc = wire_wait(rt, POLLIN, deadline_us, drain);
		if (rc != 0)
			return rc;
	}
	for (;;) {
		/* READING only while bytes may be taken off the stream; waits happen in the
		 * position wire_mark() recorded, so a process killed while the server works leaves
		 * a connection the broker can cancel and drain (SENT) instead of one it must
		 * discard. */
		pgpool_lease_set_pos(rt->lease, PGP_POS_READING);
		n = recv(rt->lease->fd, wire_in.data + wire_in.len, wire_in.cap - wire_in.len,
		         MSG_DONTWAIT);
		if (n > 0) {
			wire_in.len += (size_t)n;
			wire_scan_input(rt);
			wire_poll_first = wire_scan == wire_in.len;
			return 0;
		}
		if (n == 0) {
			rt->err = 0; /* EOF: the server closed the connection */
			return PGPOOL_WIRE_IO;
		}
		if (errno == EINTR) {
			if (!drain && php_timed_out())
				return PGPOOL_STOP_PHP_TIMEOUT;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rt->err = errno;
			return PGPOOL_WIRE_IO;
		}
		wire_mark(rt);
		rc = wire_wait(rt, POLLIN, deadline_us, drain);
		if (rc != 0)
			return rc;
	}
}

/* After a stop: have the broker cancel the statement, then read and drop everything up to the
 * last expected ReadyForQuery. PGPOOL_WIRE_CANCELED when the connection is clean again. */
static int wire_cancel_and_drain(pgpool_wire_rt *rt, int reason)
{
	pgpool_err err;
	uint64_t deadline = pgp_now_us() + (uint64_t)PGPOOL_WIRE_DRAIN_MS * 1000u;
	size_t used;
	pgp_msg m;
	int rc;

	rt->stop = (uint8_t)reason;
	/* Leaving COPY IN takes a CopyFail; no CopyDone/Fail has been written since the stop cut
	 * the write short, so the stream can only be discarded. */
	if (rt->copy || pgpool_lease_cancel(rt->lease, &err) != 0)
		return PGPOOL_WIRE_IO;
	for (;;) {
		while ((rc = pgp_be_next(wire_in.data + wire_rpos, wire_in.len - wire_rpos,
		                         wire_max_msg(), &m, &used)) == 1) {
			wire_rpos += used;
			if (m.type == PGP_BE_NOTIFICATION && rt->on_notify != NULL)
				rt->on_notify(rt->notify_ctx, &m);
			if (m.type == PGP_BE_READY_FOR_QUERY) {
				if (pgp_be_ready_for_query(&m, &rt->txn_status) != 0)
					return PGPOOL_WIRE_PROTO;
				wire_rfq_returned++;
				if (--rt->rfq_left == 0) {
					rt->msg_size = 0;
					return wire_rpos == wire_in.len ? PGPOOL_WIRE_CANCELED
					                                : PGPOOL_WIRE_PROTO;
				}
			}
		}
		if (rc < 0)
			return PGPOOL_WIRE_PROTO;
		rc = wire_read(rt, used, deadline, true);
		if (rc != 0)
			return PGPOOL_WIRE_IO;
	}
}

static int wire_write(pgpool_wire_rt *rt, const uint8_t *p, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	pgpool_lease_set_pos(rt->lease, PGP_POS_WRITING);
	while (off < len) {
		n = send(rt->lease->fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wire_wait(rt, POLLOUT, rt->deadline_us, false);
			if (rc == 0)
				continue;
			if (rc > 0 && off == 0 && !rt->sent) {
				/* Nothing left this process: the connection is as it was. */
				rt->stop = (uint8_t)rc;
				pgpool_lease_set_pos(rt->lease, PGP_POS_CLEAN);
				return PGPOOL_WIRE_CANCELED;
			}
			return PGPOOL_WIRE_IO;
		}
		rt->err = n < 0 ? errno : EPIPE;
		return PGPOOL_WIRE_IO;
	}
	rt->sent = true;
	wire_poll_first = true;
	wire_mark(rt);
	return 0;
}

int pgpool_wire_send(pgpool_wire_rt *rt, pgpool_lease *l, uint32_t nsync, uint32_t timeout_ms,
                     uint64_t php_deadline_us, pgpool_wire_notify_fn on_notify, void *notify_ctx)
{
	memset(rt, 0, sizeof(*rt));
	rt->lease = l;
	rt->rfq_left = nsync;
	rt->start_us = pgp_now_us();
	rt->deadline_us = timeout_ms ? rt->start_us + (uint64_t)timeout_ms * 1000u : 0;
	rt->php_deadline_us = php_deadline_us;
	rt->on_notify = on_notify;
	rt->notify_ctx = notify_ctx;
	/* A round trip starts with nothing buffered: the previous one ended at ReadyForQuery. */
	wire_in.len = 0;
	wire_rpos = wire_scan = 0;
	wire_rfq_scanned = wire_rfq_returned = 0;
	return wire_write(rt, wire_out.data, wire_out.len);
}

int pgpool_wire_send_more(pgpool_wire_rt *rt, const pgp_buf *b)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	/* The request went out already: the stream is mid-round-trip, a stop cannot leave it as
	 * it was. Unlike wire_write() nothing read so far is lost. */
	pgpool_lease_set_pos(rt->lease, rt->copy ? PGP_POS_COPY : PGP_POS_WRITING);
	while (off < b->len) {
		n = send(rt->lease->fd, b->data + off, b->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wire_wait(rt, POLLOUT, rt->deadline_us, false);
			if (rc == 0)
				continue;
			if (rc > 0) {
				rt->stop = (uint8_t)rc;
				return PGPOOL_WIRE_CANCELED;
			}
			return PGPOOL_WIRE_IO;
		}
		rt->err = n < 0 ? errno : EPIPE;
		return PGPOOL_WIRE_IO;
	}
	wire_poll_first = true;
	wire_mark(rt);
	return 0;
}

void pgpool_wire_set_copy(pgpool_wire_rt *rt, bool copy)
{
	rt->copy = copy;
	wire_mark(rt);
}

/* The round trip is complete: anything still buffered must be asynchronous chatter. */
static int wire_finish(pgpool_wire_rt *rt)
{
	pgp_msg m;
	size_t used;
	int rc;

	while ((rc = pgp_be_next(wire_in.data + wire_rpos, wire_in.len - wire_rpos, wire_max_msg(),
	                         &m, &used)) == 1) {
		/* A notification or notice that raced our ReadyForQuery carries nothing we owe
		 * anyone; anything else (an error before the server hangs up) ends the connection.
		 */
		if (m.type != PGP_BE_NOTIFICATION && m.type != PGP_BE_NOTICE &&
		    m.type != PGP_BE_PARAMETER_STATUS)
			return PGPOOL_WIRE_IO;
		if (m.type == PGP_BE_NOTIFICATION && rt->on_notify != NULL)
			rt->on_notify(rt->notify_ctx, &m);
		wire_rpos += used;
	}
	if (wire_rpos != wire_in.len)
		return PGPOOL_WIRE_PROTO;
	wire_in.len = 0;
	wire_rpos = wire_scan = 0;
	return 0;
}

int pgpool_wire_next(pgpool_wire_rt *rt, pgp_msg *msg)
{
	size_t used;
	int rc;

	wire_rpos += rt->msg_size;
	rt->msg_size = 0;
	if (rt->rfq_left == 0)
		return wire_finish(rt);
	for (;;) {
		rc = pgp_be_next(wire_in.data + wire_rpos, wire_in.len - wire_rpos, wire_max_msg(),
		                 msg, &used);
		if (rc == 1 && msg->type == PGP_BE_NOTIFICATION) {
			if (rt->on_notify != NULL)
				rt->on_notify(rt->notify_ctx, msg);
			wire_rpos += used;
			continue;
		}
		if (rc == 1) {
			rt->msg_size = used;
			if (msg->type == PGP_BE_READY_FOR_QUERY) {
				if (pgp_be_ready_for_query(msg, &rt->txn_status) != 0)
					return PGPOOL_WIRE_PROTO;
				wire_rfq_returned++;
				rt->rfq_left--;
			}
			return 1;
		}
		if (rc < 0) {
			rt->err = rc == -EMSGSIZE ? EMSGSIZE : 0;
			return PGPOOL_WIRE_PROTO;
		}
		rc = wire_read(rt, used, rt->deadline_us, false);
		if (rc > 0)
			return wire_cancel_and_drain(rt, rc);
		if (rc < 0)
			return rc;
	}
}

int pgpool_wire_idle(pgpool_lease *l, uint32_t timeout_ms, pgpool_wire_notify_fn on_notify,
                     void *notify_ctx)
{
	pgpool_wire_rt rt;
	uint64_t until = pgp_now_us() + (uint64_t)timeout_ms * 1000u;
	size_t used, want = PGP_MSG_HDR;
	pgp_msg m;
	int rc;

	/* A round trip that expects nothing: reads leave READING only on a message boundary. */
	memset(&rt, 0, sizeof(rt));
	rt.lease = l;
	rt.sent = true;
	wire_in.len = 0;
	wire_rpos = wire_scan = 0;
	wire_rfq_scanned = wire_rfq_returned = 0;
	for (;;) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		uint64_t now = pgp_now_us();
		int wait_ms = now >= until ? 0 : (int)((until - now + 999) / 1000);

		/* Once a message has begun, its rest is on its way: wait for it whatever the
		 * caller's timeout (bounded by the drain limit). */
		if (wire_rpos < wire_in.len)
			wait_ms = (int)PGPOOL_WIRE_DRAIN_MS;
		rc = poll(&pfd, 1, wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return PGPOOL_WIRE_IO;
		if (rc == 0)
			return wire_rpos < wire_in.len ? PGPOOL_WIRE_IO : 0;
		wire_poll_first = false;
		rc = wire_read(&rt, want, pgp_now_us() + (uint64_t)PGPOOL_WIRE_DRAIN_MS * 1000u,
		               true);
		if (rc != 0)
			return PGPOOL_WIRE_IO;
		while ((rc = pgp_be_next(wire_in.data + wire_rpos, wire_in.len - wire_rpos,
		                         wire_max_msg(), &m, &used)) == 1) {
			wire_rpos += used;
			if (m.type == PGP_BE_NOTIFICATION) {
				if (on_notify != NULL)
					on_notify(notify_ctx, &m);
			} else if (m.type != PGP_BE_NOTICE && m.type != PGP_BE_PARAMETER_STATUS) {
				return PGPOOL_WIRE_IO; /* e.g. FATAL before the server hangs up */
			}
		}
		if (rc < 0)
			return PGPOOL_WIRE_IO;
		want = used;
		if (wire_rpos == wire_in.len) {
			/* What arrived is taken; like PQconsumeInput, do not wait for more. */
			wire_in.len = wire_rpos = wire_scan = 0;
			pgpool_lease_set_pos(l, PGP_POS_CLEAN);
			return 0;
		}
	}
}
