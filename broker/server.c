/*
 * server.c: backend connections: asynchronous libpq connect driven by the loop, idle watch,
 * close/discard.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "cancel.h"
#include "lifecycle.h"
#include "log.h"
#include "offload.h"
#include "pool.h"

#define SERVER_LOG(lvl, s, ...) log_msg(lvl, (s)->pool->cfg->name, (s)->index, __VA_ARGS__)

uint64_t server_held_word(const struct server *s)
{
	uint32_t state = s->phase == SERVER_CONNECTING ? PGP_SLOT_CONNECTING : PGP_SLOT_BUSY;

	return pgp_slot_word(state, 0, s->gen);
}

void server_stop_io(struct server *s)
{
	loop_cancel(broker.loop, s->io);
	s->io = NULL;
	loop_timer_stop(broker.loop, &s->timer);
}

int server_hold(struct server *s, uint64_t word)
{
	uint64_t busy = pgp_slot_word(PGP_SLOT_BUSY, 0, pgp_slot_word_gen(word));

	if (!atomic_compare_exchange_strong(&s->slot->word, &word, busy))
		return -ESTALE;
	server_stop_io(s);
	s->phase = SERVER_BUSY;
	return 0;
}

int server_peek(const struct server *s)
{
	char c;
	ssize_t n;

	if (s->fd < 0)
		return -EBADF;
	n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return 1;
	if (n == 0)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return -errno;
}

/* libpq's messages end with a newline and may span lines: one log line is wanted. */
static void server_error_text(PGconn *conn, char *out, size_t outlen)
{
	const char *m = conn ? PQerrorMessage(conn) : "out of memory";
	size_t n;

	snprintf(out, outlen, "%s", m && *m ? m : "unknown error");
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	for (char *c = out; *c; c++) {
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	}
}

/* A connect attempt: libpq's calls run on the connect helper, the waits on the loop. */
struct server_connect_job {
	struct offload_job base; /* first: freed through it */
	struct server *s;        /* NULL once the server gave up on it (orphan) */
	PGconn *conn;
	bool start; /* next run: PQconnectStartParams, else PQconnectPoll */
	PostgresPollingStatusType st;
	uint64_t lib_us; /* time inside libpq */
	const char *keys[8];
	const char *values[8];
	char *dsn;      /* copies: a reload may free the pool's settings while the job runs */
	char *password; /* (wiped when the job is freed) */
};

static void server_job_free(struct server_connect_job *job)
{
	if (job->dsn) {
		explicit_bzero(job->dsn, strlen(job->dsn));
		free(job->dsn);
	}
	if (job->password) {
		explicit_bzero(job->password, strlen(job->password));
		free(job->password);
	}
	free(job);
}

static struct offload *connect_helper;

/* Forget the server's connect job. A job the helper holds becomes an orphan: its done()
 * finishes the PGconn. Otherwise s->conn stays for the caller to close. */
static void server_drop_connect(struct server *s)
{
	struct server_connect_job *job = s->cjob;

	if (!job)
		return;
	s->cjob = NULL;
	if (s->cjob_busy) {
		job->s = NULL;
		s->cjob_busy = false;
		s->conn = NULL;
		return;
	}
	server_job_free(job);
}

static void server_connect_failed(struct server *s, const char *why)
{
	char msg[512];

	if (why)
		snprintf(msg, sizeof(msg), "%s", why);
	else
		server_error_text(s->conn, msg, sizeof(msg));
	server_stop_io(s);
	server_drop_connect(s);
	if (s->conn) {
		loop_release_fd(broker.loop, PQsocket(s->conn));
		PQfinish(s->conn);
		s->conn = NULL;
	}
	s->fd = -1;
	s->phase = SERVER_EMPTY;
	atomic_store(&s->slot->word, pgp_slot_word(PGP_SLOT_EMPTY, 0, s->gen));
	atomic_fetch_add(&s->pool->shm->connect_failures, 1);
	pgp_pool_count_error(s->pool->shm, PGP_ERR_CONNECT);
	SERVER_LOG(LOG_WARNING, s, "backend connection failed after %.1f ms: %s",
	           (double)(pgp_now_us() - s->connect_start_us) / 1000.0, msg);
	pool_server_connect_failed(s, msg);
}

/* Free the PGconn of a connected backend, keeping its socket. PQfinish would send Terminate on
 * the socket and close it, so the socket moves to a new fd and /dev/null takes its old number for
 * PQfinish to write to and close. On failure (no fd or memory) the PGconn simply stays. */
static int server_free_libpq(struct server *s)
{
	int fd = PQsocket(s->conn), keep = -1, null_fd = -1, rc = 0;

	keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (keep < 0 || null_fd < 0) {
		rc = -errno;
		goto out;
	}
	loop_release_fd(broker.loop, fd); /* epoll must forget the registration of the old number */
	if (dup3(null_fd, fd, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	PQfinish(s->conn);
	s->conn = NULL;
	s->fd = keep;
	keep = -1;
	broker.trim_pending = true;
out:
	if (keep >= 0)
		close(keep);
	if (null_fd >= 0)
		close(null_fd);
	return rc;
}

static void server_connected(struct server *s)
{
	int fd = PQsocket(s->conn);
	int flags;

	server_drop_connect(s);
	if (PQsslInUse(s->conn)) {
		server_connect_failed(s, "the backend negotiated TLS, which cannot be handed to "
		                         "workers by fd passing");
		return;
	}
	/* libpq marks its socket close-on-exec; make sure, since the broker must never leak a
	 * backend socket into another process. Non-blocking so PQfinish never waits. */
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && !(flags & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	(void)PQsetnonblocking(s->conn, 1);
	s->fd = fd;
	s->backend_pid = PQbackendPID(s->conn);
	if (!s->pool->have_params)
		pool_server_params(s->pool, s->conn);
	s->cancel = cancel_key_new(s->conn);
	if (s->cancel) {
		int rc = server_free_libpq(s);
		if (rc < 0)
			SERVER_LOG(LOG_WARNING, s, "keeping libpq's connection state: %s",
			           strerror(-rc));
	}
	s->slot->backend_pid = s->backend_pid;
	s->slot->connected_us = pgp_now_us();
	atomic_store(&s->slot->leases, 0);
	atomic_store(&s->slot->queries, 0);
	atomic_fetch_add(&s->pool->shm->connects, 1);
	lifecycle_connected(s);
	uint64_t connect_us = pgp_now_us() - s->connect_start_us;
	pgp_hist_observe(&s->pool->shm->connect_hist, connect_us);
	atomic_fetch_add(&s->pool->shm->connect_us, connect_us);
	SERVER_LOG(LOG_INFO, s, "backend connected pid=%d gen=%u in %.1f ms (%.1f ms in libpq)",
	           s->backend_pid, s->gen, (double)(pgp_now_us() - s->connect_start_us) / 1000.0,
	           (double)s->connect_lib_us / 1000.0);
	pool_server_connected(s);
}

static void server_connect_run(struct offload_job *base)
{
	struct server_connect_job *job = (struct server_connect_job *)base;
	uint64_t t0 = pgp_now_us();

	if (job->start) {
		job->start = false;
		job->conn = PQconnectStartParams(job->keys, job->values, 1);
		job->st = job->conn && PQstatus(job->conn) != CONNECTION_BAD ? PGRES_POLLING_WRITING
		                                                             : PGRES_POLLING_FAILED;
	} else {
		job->st = PQconnectPoll(job->conn);
	}
	job->lib_us += pgp_now_us() - t0;
}

static void server_connect_step(struct server *s, PostgresPollingStatusType st);

static void server_connect_done(struct offload_job *base)
{
	struct server_connect_job *job = (struct server_connect_job *)base;
	struct server *s = job->s;

	if (!s || job->base.dropped) {
		/* Orphaned (the server gave up on it), or the helper stopped before running it. */
		if (job->conn) {
			loop_release_fd(broker.loop, PQsocket(job->conn));
			PQfinish(job->conn);
		}
		job->conn = NULL;
		if (s) {
			s->cjob_busy = false;
			server_connect_failed(s, "the broker is shutting down");
		} else {
			server_job_free(job);
		}
		return;
	}
	s->cjob_busy = false;
	s->conn = job->conn;
	s->connect_lib_us = job->lib_us;
	server_connect_step(s, job->st);
}

static void server_connect_submit(struct server *s)
{
	s->cjob_busy = true;
	s->conn = NULL; /* the helper owns it until done() */
	offload_submit(connect_helper, &s->cjob->base);
}

static void server_connect_io(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct server *s = ctx;

	(void)req;
	s->io = NULL;
	if (r->res < 0) {
		server_connect_failed(s, strerror(-r->res));
		return;
	}
	server_connect_submit(s);
}

static void server_connect_timeout(void *ctx, struct loop_timer *t)
{
	struct server *s = ctx;
	char why[96];

	(void)t;
	snprintf(why, sizeof(why), "timeout after %u ms (connect_timeout)",
	         s->pool->cfg->connect_timeout_ms);
	server_connect_failed(s, why);
}

static void server_connect_step(struct server *s, PostgresPollingStatusType st)
{
	uint32_t events;

	switch (st) {
	case PGRES_POLLING_OK:
		loop_timer_stop(broker.loop, &s->timer);
		server_connected(s);
		return;
	case PGRES_POLLING_FAILED:
		server_connect_failed(s, NULL);
		return;
	case PGRES_POLLING_READING:
		events = POLLIN;
		break;
	default:
		events = POLLOUT;
		break;
	}
	s->io = loop_poll(broker.loop, PQsocket(s->conn), events, server_connect_io, s);
	if (!s->io)
		server_connect_failed(s, strerror(errno));
}

int server_init(void)
{
	return offload_create("connect", &connect_helper);
}

void server_fini(void)
{
	offload_destroy(connect_helper, 2000);
	connect_helper = NULL;
}

int server_connect(struct server *s)
{
	const struct config_pool *pc = s->pool->cfg;
	struct server_connect_job *job;
	uint64_t empty = atomic_load(&s->slot->word);
	uint32_t gen;
	int n = 0;

	if (s->phase != SERVER_EMPTY || pgp_slot_word_state(empty) != PGP_SLOT_EMPTY ||
	    !connect_helper)
		return -EBUSY;
	job = calloc(1, sizeof(*job));
	if (job) {
		job->dsn = strdup(pc->dsn);
		job->password = strdup(pc->password ? pc->password : "");
	}
	if (!job || !job->dsn || !job->password) {
		if (job)
			server_job_free(job);
		return -ENOMEM;
	}
	do {
		gen = (uint32_t)atomic_fetch_add(&broker.shm.hdr->generation_seq, 1) + 1;
	} while (gen == 0);
	if (!atomic_compare_exchange_strong(&s->slot->word, &empty,
	                                    pgp_slot_word(PGP_SLOT_CONNECTING, 0, gen))) {
		server_job_free(job);
		return -EBUSY;
	}
	s->gen = gen;
	s->phase = SERVER_CONNECTING;
	s->recycle = false; /* a reload changing the dsn meanwhile sets it again */
	s->fd = -1;
	s->backend_pid = 0;
	s->slot->backend_pid = 0;
	s->connect_start_us = pgp_now_us();
	s->connect_lib_us = 0;
	/* Later keywords override the expanded dsn: TLS and GSS encryption are off because such a
	 * session cannot be handed over by fd (config.c refused sslmode=require and verify-*).
	 * The job owns copies of the dsn and password (a reload may change the pool's). */
	job->keys[n] = "fallback_application_name";
	job->values[n++] = "pgpool-broker";
	job->keys[n] = "dbname";
	job->values[n++] = job->dsn;
	job->keys[n] = "sslmode";
	job->values[n++] = "disable";
	job->keys[n] = "gssencmode";
	job->values[n++] = "disable";
	job->keys[n] = "password";
	job->values[n++] = job->password;
	job->keys[n] = NULL;
	job->values[n] = NULL;
	job->base.run = server_connect_run;
	job->base.done = server_connect_done;
	job->start = true;
	job->s = s;
	s->cjob = job;
	loop_timer_start(broker.loop, &s->timer, (uint64_t)pc->connect_timeout_ms * 1000u,
	                 server_connect_timeout, s);
	server_connect_submit(s);
	return 0;
}

void server_close(struct server *s, bool discard, const char *why)
{
	bool was_connected = s->phase == SERVER_READY || s->phase == SERVER_BUSY;
	int32_t pid = s->backend_pid;

	server_stop_io(s);
	reset_abort(s);
	server_drop_connect(s);
	if (s->conn) {
		int fd = PQsocket(s->conn);
		if (discard && fd >= 0)
			shutdown(fd, SHUT_RDWR);
		loop_release_fd(broker.loop, fd);
		PQfinish(s->conn);
		s->conn = NULL;
	} else if (s->fd >= 0) {
		/* What PQfinish would do: Terminate, so the backend ends without logging an
		 * unexpected EOF; a discarded backend's protocol state is unknown, so it gets no
		 * message. */
		static const char terminate[5] = {'X', 0, 0, 0, 4};
		if (discard)
			shutdown(s->fd, SHUT_RDWR);
		else
			(void)!send(s->fd, terminate, sizeof(terminate),
			            MSG_NOSIGNAL | MSG_DONTWAIT);
		loop_close_fd(broker.loop, s->fd);
	}
	cancel_key_put(s->cancel);
	s->cancel = NULL;
	s->fd = -1;
	s->backend_pid = 0;
	s->slot->backend_pid = 0;
	atomic_store(&s->slot->owner_pid, 0);
	s->phase = SERVER_EMPTY;
	atomic_store(&s->slot->word, pgp_slot_word(PGP_SLOT_EMPTY, 0, s->gen));
	if (was_connected) {
		atomic_fetch_add(&s->pool->shm->disconnects, 1);
		if (discard)
			atomic_fetch_add(&s->pool->shm->discards, 1);
	}
	SERVER_LOG(discard ? LOG_WARNING : LOG_INFO, s, "backend %s pid=%d gen=%u: %s",
	           discard ? "discarded" : "closed", pid, s->gen, why);
	pool_server_closed(s, was_connected, discard);
}

/* The backend of an IDLE slot became readable: it died, was terminated, or a worker that
 * leased it in the meantime is talking on it. */
static void server_idle_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct server *s = ctx;
	uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen);
	int peek;

	(void)req;
	s->io = NULL;
	if (s->phase != SERVER_READY)
		return;
	/* Leased meanwhile: the janitor re-arms the watch once it is IDLE again. */
	if (server_hold(s, idle) != 0)
		return;
	peek = server_peek(s);
	if (peek == 0 && !(r->res & (POLLHUP | POLLERR))) {
		/* Spurious (a worker read it all and released in between): give it back. */
		pool_offer(s);
		return;
	}
	server_close(s, true,
	             peek < 0 ? "connection closed by the server while idle"
	                      : "unexpected data from the server while idle (terminated?)");
}

void server_watch_idle(struct server *s)
{
	uint64_t w;

	if (s->phase != SERVER_READY || s->io || s->fd < 0)
		return;
	w = atomic_load(&s->slot->word);
	if (w != pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen))
		return;
	s->io = loop_poll(broker.loop, s->fd, POLLIN | POLLRDHUP, server_idle_event, s);
}
