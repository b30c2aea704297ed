/*
 * server.h: one backend connection (one shm slot) as the broker sees it.
 *
 * The broker connects with libpq's non-blocking API (PQconnectStartParams/PQconnectPoll): the loop
 * waits for the socket, and each libpq call runs on the connect helper thread (offload.c), because
 * name resolution and SCRAM inside those calls cost milliseconds. Once connected it keeps only
 * what it needs of libpq (the server parameters, the cancel key) and frees the PGconn (about
 * 18 kB of buffers per backend), keeping the socket: workers talk on it directly, so libpq's view
 * would go stale anyway (NOTES.md). Resets speak raw protocol (reset.c); a clean close sends
 * Terminate itself.
 */
#ifndef BROKER_SERVER_H
#define BROKER_SERVER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "reset.h"

struct cancel_key;
struct pool;
struct server_connect_job;

enum server_phase {
	SERVER_EMPTY = 0,      /* no backend; slot EMPTY */
	SERVER_CONNECTING = 1, /* libpq connecting; slot CONNECTING */
	SERVER_READY = 2,      /* connected and in the workers' hands: slot IDLE or LEASED */
	SERVER_BUSY = 3,       /* the broker holds the slot in BUSY (reset, check, close) */
};

struct server {
	struct pool *pool;
	uint32_t index;            /* pool-relative slot index */
	struct pgp_shm_slot *slot; /* the slot in shm */
	enum server_phase phase;
	PGconn *conn;              /* while connecting (and if it could not be freed), else NULL */
	int fd;                    /* the backend socket once connected, else -1 */
	struct cancel_key *cancel; /* the backend's cancel key once connected (cancel.h) */
	uint32_t gen;              /* backend generation in the slot word */
	int32_t backend_pid;
	uint64_t connect_start_us;
	uint64_t connect_lib_us; /* time spent inside libpq (on the helper thread) connecting */
	struct server_connect_job *cjob; /* connect in progress: libpq calls run on a helper */
	bool cjob_busy;                  /* the helper has the job (and the PGconn) right now */
	struct loop_req *io;     /* the one pending poll: connect, idle watch or reset I/O */
	struct loop_timer timer; /* connect timeout or reset step timeout */
	struct reset reset;      /* reset state machine (reset.c) */
	uint64_t expires_us; /* max_lifetime (jittered): recycle once idle after this, 0 never */
	uint64_t checked_us; /* last health check (or connect) */
	uint64_t check_idle_since_us; /* the slot's idle_since_us when its health check began */
	bool recycle; /* close once idle: made with a dsn or password since changed */
	/* Retired (pool_retire, slot.retire): close as soon as the broker has it back. */
	const char *retire_why;
	bool retire_replace;    /* and connect a new one in its place */
	uint64_t connected_us;  /* when the backend connected (the broker's own copy) */
	uint32_t life_permille; /* its share of max_lifetime, 850..1150 (jitter) */
};

/* Start and stop the helper thread that runs libpq's connect calls (name resolution and SCRAM
 * take milliseconds of CPU the loop must not spend). */
int server_init(void) PGP_WUR;
void server_fini(void);

/* Start connecting an EMPTY slot (takes a new generation). 0, or -errno when the attempt failed
 * at once (already logged and counted; the pool applies backoff). */
int server_connect(struct server *s) PGP_WUR;

/*
 * Close the backend of a slot the broker holds (CONNECTING or BUSY) and make the slot EMPTY.
 * discard: shutdown(2) first, so every worker's copy of the socket dies too; else PQfinish's
 * Terminate ends the session politely. why is logged. The pool decides about a replacement.
 */
void server_close(struct server *s, bool discard, const char *why);

/* Take a slot from the workers: CAS from `word` to BUSY. 0, or -ESTALE if the word changed. */
int server_hold(struct server *s, uint64_t word) PGP_WUR;

/* The slot word the broker holds right now (CONNECTING or BUSY with this generation). */
uint64_t server_held_word(const struct server *s);

/* Watch an IDLE backend for EOF or an error (pg_terminate_backend, server restart). No-op unless
 * the slot is IDLE and nothing is armed. */
void server_watch_idle(struct server *s);

/* Stop whatever I/O or timer the server has pending. */
void server_stop_io(struct server *s);

/* The socket peer state without consuming anything: 1 data waiting, 0 nothing, -errno on EOF
 * (-ECONNRESET) or error. */
int server_peek(const struct server *s);

#endif
