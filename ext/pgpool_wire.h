/*
 * pgpool_wire.h: one protocol round trip on a leased backend socket.
 *
 * The socket is non-blocking (libpq left O_NONBLOCK on the open file every process shares), so
 * all I/O is poll()-driven. A round trip is: build the whole request in the per-process output
 * buffer (pgpool_wire_request()), send it in one write (pgpool_wire_send()), then take backend
 * messages one at a time (pgpool_wire_next()) until the expected number of ReadyForQuery messages
 * arrived. The lease's protocol position in shm is kept exact throughout, so that if this process
 * dies the broker knows whether the connection can be cancelled and drained or must be discarded.
 *
 * Buffers are per process and reused (the extension is NTS: one thread per process); the steady
 * state allocates nothing per round trip.
 */
#ifndef PGPOOL_WIRE_H
#define PGPOOL_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_proto.h"
#include "pgpool_lease.h"

/* pgpool_wire_next() / pgpool_wire_send() results besides 1 (message) and 0 (round trip done). */
#define PGPOOL_WIRE_CANCELED (-1) /* timed out: cancelled and drained, connection clean (57014) */
#define PGPOOL_WIRE_IO       (-2) /* connection lost or unusable: discard it (08006) */
#define PGPOOL_WIRE_PROTO    (-3) /* the server sent something we cannot parse: discard (08P01) */

/* Why a wait was cut short (for the 57014 message). */
enum pgpool_wire_stop {
	PGPOOL_STOP_NONE = 0,
	PGPOOL_STOP_QUERY_TIMEOUT = 1, /* the pool's query_timeout passed */
	PGPOOL_STOP_PHP_TIMEOUT = 2,   /* PHP's max_execution_time fired */
};

/* Receives the NotificationResponse messages of a connection (LISTEN), which the wire layer
 * takes off the stream wherever they arrive. */
typedef void (*pgpool_wire_notify_fn)(void *ctx, const pgp_msg *m);

/* One round trip in progress. */
typedef struct pgpool_wire_rt {
	pgpool_lease *lease;
	uint64_t start_us;        /* pgp_now_us() when the request went out */
	uint64_t deadline_us;     /* 0 = no query timeout */
	uint64_t php_deadline_us; /* when PHP's max_execution_time runs out, 0 = no limit */
	uint32_t rfq_left;        /* ReadyForQuery messages still expected */
	char txn_status;          /* status byte of the last ReadyForQuery, 0 before */
	bool sent;                /* the request was written completely */
	bool copy;                /* inside COPY IN/OUT: the recorded position is COPY */
	uint8_t stop;             /* enum pgpool_wire_stop once a wait was cut short */
	size_t msg_size; /* size of the message last returned (consumed by the next call) */
	int err;         /* errno of the I/O failure, for the message */
	pgpool_wire_notify_fn on_notify; /* NULL: notifications are dropped */
	void *notify_ctx;
} pgpool_wire_rt;

/* The per-process request buffer, emptied: append frontend messages with the pgp_fe_* builders. */
pgp_buf *pgpool_wire_request(void);

/*
 * Start a round trip on the held lease: writes the request buffer in full (poll()ing while the
 * socket is full). nsync is the number of ReadyForQuery messages the request produces (one per
 * simple Query or Sync). timeout_ms (the pool's query_timeout) 0 means no limit; php_deadline_us
 * (pgp_now_us() when PHP's max_execution_time runs out) 0 means none. on_notify (may be NULL)
 * receives the notifications read during the round trip. Returns 0, PGPOOL_WIRE_CANCELED (only
 * when nothing at all was written before the deadline) or PGPOOL_WIRE_IO.
 */
int pgpool_wire_send(pgpool_wire_rt *rt, pgpool_lease *l, uint32_t nsync, uint32_t timeout_ms,
                     uint64_t php_deadline_us, pgpool_wire_notify_fn on_notify, void *notify_ctx);

/*
 * Next backend message of the round trip. Returns 1 with *msg filled (msg->body stays valid until
 * the next call), 0 when every expected ReadyForQuery was seen (protocol position CLEAN, the
 * transaction status recorded in the lease and in rt->txn_status), or a PGPOOL_WIRE_* error.
 * ReadyForQuery messages are returned too, after their status was recorded; notifications go to
 * rt->on_notify instead. On a timeout it asks the broker to cancel the statement and drains the
 * connection itself before returning PGPOOL_WIRE_CANCELED; if that fails it returns
 * PGPOOL_WIRE_IO.
 */
int pgpool_wire_next(pgpool_wire_rt *rt, pgp_msg *msg);

/*
 * Write more bytes in the middle of a round trip (COPY data; CopyFail in answer to an unexpected
 * COPY FROM STDIN). 0, PGPOOL_WIRE_CANCELED (a deadline passed: the caller reads on, the next
 * pgpool_wire_next() cancels) or PGPOOL_WIRE_IO.
 */
int pgpool_wire_send_more(pgpool_wire_rt *rt, const pgp_buf *b);

/* Enter or leave COPY: while inside, the recorded protocol position is COPY (a process that dies
 * there leaves a connection the broker must discard). */
void pgpool_wire_set_copy(pgpool_wire_rt *rt, bool copy);

/*
 * Read what an idle connection (at ReadyForQuery, nothing sent) has received, waiting up to
 * timeout_ms for the first bytes (0: only what is already there): NotificationResponse messages
 * go to on_notify, notices and ParameterStatus are dropped. 0, or PGPOOL_WIRE_IO when the
 * connection broke (an ErrorResponse before the server hung up included).
 */
int pgpool_wire_idle(pgpool_lease *l, uint32_t timeout_ms, pgpool_wire_notify_fn on_notify,
                     void *notify_ctx);

/* Drop buffers grown by a large result back to their steady-state size. */
void pgpool_wire_trim(void);

/* Free the per-process buffers (module shutdown). */
void pgpool_wire_shutdown(void);

#endif
