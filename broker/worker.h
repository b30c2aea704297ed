/*
 * worker.h: the control socket and the connections of worker processes (PHP workers and
 * pgp-worker): SO_PEERCRED, attachment ids, ATTACH authentication, fd passing, cancels, and
 * reclaiming the leases of a connection that closes.
 *
 * Nothing a worker sends is trusted: every message goes through pgp_ctl_decode(); a malformed
 * one closes the connection, which reclaims its leases. An fd is passed only for a slot that
 * the slot word says is LEASED by this connection's attachment id, in a pool the connection
 * authenticated for.
 */
#ifndef BROKER_WORKER_H
#define BROKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "pgp_common.h"

struct pool;

struct worker_conn {
	struct worker_conn *next, *prev; /* broker.conns */
	struct worker_conn *hnext;       /* broker.conn_by_id bucket */
	int fd;
	uint32_t attach_id;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t auth_pools; /* bit i: authenticated for pool i */
	struct loop_req *recv_req;
	struct loop_req *sends[8]; /* replies in flight */
	bool attach_waiting;       /* ATTACH_OK deferred until the pool's first backend */
	uint32_t attach_pool;
	uint32_t attach_seq;
	struct loop_timer attach_timer;
	uint8_t *auth_deferred;   /* ATTACH held back by the failure throttle (a copy), or NULL */
	size_t auth_deferred_len; /* its length */
	struct loop_timer auth_timer;
};

/* Create the control socket (directory, stale file, mode, group) and start accepting. */
int worker_listen(void) PGP_WUR;
/* Stop accepting and remove the socket file (shutdown). */
void worker_stop_listening(void);
/* Close every control connection (reclaiming their leases) and free the id table. */
void worker_close_all(void);

/* 1 if attach_id belongs to a live connection authenticated for pool index `pool`. */
bool worker_owner_valid(uint32_t attach_id, uint32_t pool);

/* The pool's first backend connected: answer the ATTACHes that waited for its parameters. */
void worker_pool_ready(struct pool *p);
/* The pool's circuit opened: answer the ATTACHes that waited for its first backend with 08006. */
void worker_pool_circuit_open(struct pool *p);
/* The cancel thread finished a worker's CANCEL (rc 0 or -errno, err: libpq's message). */
void worker_cancel_done(uint32_t attach_id, uint32_t seq, int rc, const char *err);

#endif
