/*
 * broker.h: the broker's process-wide state. There is one broker per process and one thread
 * that touches this state (the loop thread; the cancel thread only sees its own job queue), so
 * the modules share it through one global instead of threading a context pointer everywhere.
 */
#ifndef BROKER_BROKER_H
#define BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "loop.h"
#include "pgp_shm.h"

struct pool;
struct server;
struct worker_conn;

enum broker_state {
	BROKER_STARTING = 0,
	BROKER_RUNNING = 1,
	BROKER_STOPPING = 2, /* graceful: waiting for leases to end (bounded by shutdown_timeout) */
	BROKER_STOPPED = 3,
};

struct broker {
	struct config cfg;
	struct loop *loop;
	enum broker_state state;
	uint64_t stop_deadline_us; /* STOPPING: when leased connections are cut */

	/* shared memory (shm.c) */
	pgp_shm shm;
	bool shm_created;

	/* pools and their backend connections (pool.c, server.c). pools[] has PGP_MAX_POOLS
	 * entries, of which the first npools were ever used: an entry keeps its index for the
	 * broker's life (a pool removed by a reload drains, then stays CLOSED; every entry below
	 * npools has a valid cfg). servers[] is indexed by the global slot index, covers the whole
	 * slot array (a server outside every pool's range has pool == NULL) and never moves. */
	struct pool *pools;
	uint32_t npools;
	struct server *servers;
	uint32_t nservers;

	/* control socket (worker.c) */
	int listen_fd;
	struct loop_req *accept_req;
	struct loop_timer accept_retry;
	struct worker_conn *conns; /* live control connections */
	uint32_t nconns;
	struct worker_conn **conn_by_id; /* hash buckets by attachment id */
	uint32_t next_attach_id;

	bool ready_notified; /* READY=1 sent to systemd */
	bool trim_pending;   /* PGconns were freed: the janitor gives their pages back */
};

extern struct broker broker;

#endif
