/*
 * pgp-worker: a test client that behaves like a PHP worker process, built from common/ only.
 *
 * It connects to pgpool-broker's control socket, ATTACHes (pool name or pgsql: DSN key, user,
 * password), maps the shm segment, leases with pgp_pool_acquire, asks for the fd (FD_REQ) only
 * when it does not hold that (slot, generation) yet, runs simple-protocol queries on the leased
 * socket with poll-based I/O (the socket is non-blocking for every holder), records its protocol
 * position in the slot like the extension does, prints the rows and releases. Options make it
 * hold the lease, sleep mid-transaction, stop after half a message, cancel, hand the slot back,
 * loop, time itself, or send garbage, so integration and fault tests can inject failures.
 *
 * Output: rows as tab-separated lines (NULL as \N) on stdout; "MARK <what>" lines (flushed) when
 * it starts to sleep or hang on purpose, so a test knows when to kill it; errors as
 * "error: SQLSTATE message" on stderr. Exit status: 0 ok, 1 error, 2 usage, 3 cross-talk.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pgp_ctl.h"
#include "pgp_dsn.h"
#include "pgp_proto.h"
#include "pgp_shm.h"

#define MAX_QUERIES   32
#define IO_TIMEOUT_MS 60000

static struct {
	const char *socket;
	const char *pool;
	const char *dsn;
	const char *user;
	const char *password;
	const char *queries[MAX_QUERIES];
	const char *parse; /* --parse NAME=SQL, before the queries */
	int nqueries;
	long loops;
	bool begin;
	long sleep_mid_ms;
	long hold_ms;
	bool half_write;
	bool echo;
	long cancel_after_ms;
	const char *return_as;
	bool timing;
	bool quiet;
	bool stats;
	bool ping;
	bool garbage;
	long steal;
	bool no_attach;
	const char *forge;
	bool garbage_after_lease;
	const char *scribble; /* areas for --scribble */
	unsigned seed;
	long steal_pool;
	const char *expect_error;
	bool verbose;
	const char *acquire_log;
	bool no_returned;
} opt = {.loops = 1, .cancel_after_ms = -1, .steal = -1, .steal_pool = -1};

static struct {
	int ctl;
	uint32_t seq;
	struct pgp_ctl_attach_ok ok;
	pgp_shm shm;
	struct pgp_shm_pool *pool;
	uint32_t nslots;
	int *fds;
	uint32_t *gens;
	bool error_seen;
	char last_sqlstate[6];
	bool expect_hit;
} w = {.ctl = -1};

static void die(const char *sqlstate, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void die(const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	if (opt.expect_error && strcmp(opt.expect_error, sqlstate) == 0) {
		fprintf(stderr, "expected error: %s ", sqlstate);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		exit(0);
	}
	fprintf(stderr, "error: %s ", sqlstate);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void mark(const char *what)
{
	printf("MARK %s\n", what);
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- control socket ---- */

static int ctl_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("08001", "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.socket);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("08001", "cannot connect to the pgpool broker at %s: %s", opt.socket,
		    strerror(errno));
	return fd;
}

static void ctl_send(const void *buf, int len)
{
	if (len < 0)
		die("08P01", "cannot encode a control message");
	if (send(w.ctl, buf, (size_t)len, MSG_NOSIGNAL) != len)
		die("08006", "control socket send: %s", strerror(errno));
}

/* Wait for the reply to seq; returns its type, copies the body, and the passed fd if any. */
static int ctl_reply(uint32_t seq, void *body, size_t cap, int *fd_out)
{
	static uint8_t buf[PGP_CTL_MSG_MAX + 1];
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof(cm.b)};
	struct pollfd pfd = {.fd = w.ctl, .events = POLLIN};
	pgp_ctl_msg m;
	ssize_t n;

	if (fd_out)
		*fd_out = -1;
	if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
		die("08006", "no reply from the broker");
	n = recvmsg(w.ctl, &mh, MSG_CMSG_CLOEXEC);
	if (n == 0)
		die("08006", "the broker closed the control connection");
	if (n < 0)
		die("08006", "control socket recv: %s", strerror(errno));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			if (fd_out && *fd_out < 0)
				*fd_out = fd;
			else
				close(fd);
		}
	}
	if (pgp_ctl_decode(buf, (size_t)n, &m) < 0)
		die("08P01", "malformed reply from the broker");
	if (m.hdr.seq != seq)
		die("08P01", "reply out of sequence (%u, expected %u)", m.hdr.seq, seq);
	if (m.hdr.type == PGP_CTL_ERROR) {
		struct pgp_ctl_error e;
		memcpy(&e, m.body, sizeof(e));
		if (fd_out && *fd_out >= 0)
			close(*fd_out);
		die(e.sqlstate, "%s", e.message);
	}
	if (body)
		memcpy(body, m.body, m.body_len < cap ? m.body_len : cap);
	return m.hdr.type;
}

static void ctl_attach(void)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	pgp_ctl_attach_req req;
	pgp_dsn_key key;
	char pw[256];
	int has_pw = 0;

	memset(&req, 0, sizeof(req));
	memset(&key, 0, sizeof(key));
	req.client_version = PGP_CTL_VERSION;
	req.pid = getpid();
	if (opt.dsn) {
		const char *body = strchr(opt.dsn, ':');
		if (pgp_dsn_parse_pdo(body ? body + 1 : opt.dsn, &key, pw, sizeof(pw), &has_pw) < 0)
			die("08001", "cannot parse the DSN %s", opt.dsn);
		if (key.pool[0])
			req.pool = key.pool;
		req.host = key.host;
		req.port = key.port[0] ? key.port : NULL;
		req.dbname = key.dbname[0] ? key.dbname : NULL;
	}
	if (opt.pool)
		req.pool = opt.pool;
	req.user = opt.user ? opt.user : (key.user[0] ? key.user : NULL);
	if (opt.password) {
		req.password = opt.password;
		req.password_len = strlen(opt.password);
	} else if (has_pw) {
		req.password = pw;
		req.password_len = strlen(pw);
	}
	ctl_send(buf, pgp_ctl_encode_attach(buf, ++w.seq, &req));
	if (ctl_reply(w.seq, &w.ok, sizeof(w.ok), NULL) != PGP_CTL_ATTACH_OK)
		die("08P01", "unexpected reply to ATTACH");
	if (opt.verbose)
		fprintf(stderr, "attached: attach_id=%u pool=%u shm=%s server_version=%s\n",
		        w.ok.attach_id, w.ok.pool, w.ok.shm_name,
		        pgp_ctl_param(&w.ok, "server_version")
		            ? pgp_ctl_param(&w.ok, "server_version")
		            : "?");
}

static void shm_attach(const char *name, uint64_t epoch)
{
	int rc = pgp_shm_map(name, &w.shm);

	if (rc < 0)
		die("08001", "cannot map shm %s: %s", name, strerror(-rc));
	if (epoch && w.shm.epoch != epoch)
		die("08001", "shm epoch changed under us");
}

/* ---- the leased socket ---- */

struct conn {
	int fd;
	struct pgp_shm_slot *slot;
	pgp_buf in;
};

static void set_pos(struct conn *c, uint32_t pos)
{
	atomic_store(&c->slot->proto_pos, pos);
}

static void sock_write(struct conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
		if (k < 0) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				die("08006", "write to the server: %s", strerror(errno));
			if (poll(&pfd, 1, IO_TIMEOUT_MS) <= 0)
				die("08006", "write to the server timed out");
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
}

static uint64_t cancel_at_us;

static void ctl_cancel(uint32_t slot, uint32_t gen)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct pgp_ctl_slot_ref ref = {.pool = w.ok.pool, .slot = slot, .gen = gen};

	ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_CANCEL, ++w.seq, &ref, sizeof(ref)));
	if (ctl_reply(w.seq, NULL, 0, NULL) != PGP_CTL_CANCEL_DONE)
		die("08P01", "unexpected reply to CANCEL");
	if (opt.verbose)
		fprintf(stderr, "cancel done\n");
}

/* Read one reply to ReadyForQuery. Returns the txn status; *echo_ok set if expect matched. */
static char read_reply(struct conn *c, uint32_t slot, uint32_t gen, const char *expect,
                       bool *echo_ok)
{
	for (;;) {
		pgp_msg m;
		size_t used;
		int k;

		while ((k = pgp_be_next(c->in.data, c->in.len, PGP_MSG_MAX_DEFAULT, &m, &used)) ==
		       1) {
			uint16_t n;
			size_t pos = 0;
			pgp_error e;
			char st = 0;

			switch (m.type) {
			case PGP_BE_DATA_ROW:
				if (pgp_be_data_row(&m, &n) < 0)
					die("08P01", "malformed DataRow");
				for (uint16_t i = 0; i < n; i++) {
					const uint8_t *v;
					int32_t len;
					if (pgp_be_data_row_value(&m, &pos, &v, &len) < 0)
						die("08P01", "malformed DataRow");
					if (expect && i == 0 && len == (int32_t)strlen(expect) &&
					    memcmp(v, expect, (size_t)len) == 0)
						*echo_ok = true;
					if (!opt.quiet) {
						if (i)
							putchar('\t');
						if (len < 0)
							fputs("\\N", stdout);
						else
							fwrite(v, 1, (size_t)len, stdout);
					}
				}
				if (!opt.quiet)
					putchar('\n');
				break;
			case PGP_BE_ERROR:
				if (pgp_be_error(&m, &e) < 0)
					die("08P01", "malformed ErrorResponse");
				w.error_seen = true;
				snprintf(w.last_sqlstate, sizeof(w.last_sqlstate), "%s",
				         e.sqlstate ? e.sqlstate : "");
				if (opt.expect_error && e.sqlstate &&
				    strcmp(opt.expect_error, e.sqlstate) == 0) {
					w.expect_hit = true;
					fprintf(stderr, "expected error: %s %s\n", e.sqlstate,
					        e.message ? e.message : "");
				} else {
					fprintf(stderr, "error: %s %s\n",
					        e.sqlstate ? e.sqlstate : "?",
					        e.message ? e.message : "");
				}
				break;
			case PGP_BE_READY_FOR_QUERY:
				if (pgp_be_ready_for_query(&m, &st) < 0)
					die("08P01", "malformed ReadyForQuery");
				pgp_buf_consume(&c->in, used);
				return st;
			default:
				break;
			}
			pgp_buf_consume(&c->in, used);
		}
		if (k < 0)
			die("08P01", "malformed message from the server");
		/* Mid-message if anything is buffered: the broker must not reuse it if we die. */
		set_pos(c, c->in.len ? PGP_POS_READING : PGP_POS_SENT);
		{
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
			int timeout = IO_TIMEOUT_MS;
			ssize_t r;

			if (cancel_at_us) {
				uint64_t now = pgp_now_us();
				timeout = now >= cancel_at_us
				              ? 0
				              : (int)((cancel_at_us - now) / 1000) + 1;
			}
			k = poll(&pfd, 1, timeout);
			if (k == 0 && cancel_at_us) {
				cancel_at_us = 0;
				ctl_cancel(slot, gen);
				continue;
			}
			if (k <= 0)
				die("08006", "timeout waiting for the server");
			if (pgp_buf_reserve(&c->in, 65536) < 0)
				die("53200", "out of memory");
			r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
			if (r == 0)
				die("08006", "the server closed the connection");
			if (r < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					continue;
				die("08006", "read from the server: %s", strerror(errno));
			}
			c->in.len += (size_t)r;
		}
	}
}

/* One round trip: the request in out (freed), read to ReadyForQuery, record CLEAN + status. */
static char run_request(struct conn *c, uint32_t slot, uint32_t gen, pgp_buf *out,
                        const char *expect, bool *echo_ok)
{
	char st;

	set_pos(c, PGP_POS_WRITING);
	if (opt.half_write) {
		sock_write(c, out->data, out->len / 2);
		mark("half-written");
		for (;;)
			pause();
	}
	sock_write(c, out->data, out->len);
	pgp_buf_free(out);
	set_pos(c, PGP_POS_SENT);
	if (opt.cancel_after_ms >= 0)
		cancel_at_us = pgp_now_us() + (uint64_t)opt.cancel_after_ms * 1000u;
	st = read_reply(c, slot, gen, expect, echo_ok);
	cancel_at_us = 0;
	atomic_store(&c->slot->txn_status, (uint32_t)(unsigned char)st);
	set_pos(c, PGP_POS_CLEAN);
	return st;
}

/* One round trip: Query. */
static char run_query(struct conn *c, uint32_t slot, uint32_t gen, const char *sql,
                      const char *expect, bool *echo_ok)
{
	pgp_buf out = {0};

	if (pgp_fe_query(&out, sql, strlen(sql)) < 0)
		die("22023", "cannot encode the query");
	return run_request(c, slot, gen, &out, expect, echo_ok);
}

/* --parse NAME=SQL: a named statement prepared through the protocol (Parse + Sync), as the
 * extension prepares its shared ones (an SQL PREPARE is another kind: from_sql). */
static char run_parse(struct conn *c, uint32_t slot, uint32_t gen, const char *spec)
{
	const char *eq = strchr(spec, '=');
	pgp_buf out = {0};
	char name[64];

	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name))
		die("22023", "--parse wants NAME=SQL");
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	if (pgp_fe_parse(&out, name, eq + 1, strlen(eq + 1), 0, NULL) < 0 || pgp_fe_sync(&out) < 0)
		die("22023", "cannot encode the Parse");
	return run_request(c, slot, gen, &out, NULL, NULL);
}

/* ---- leasing ---- */

static void on_enqueued(void *ctx)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct pgp_ctl_grow g = {.pool = w.ok.pool};

	(void)ctx;
	ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_GROW, ++w.seq, &g, sizeof(g)));
}

static int fd_for(uint32_t slot, uint32_t gen, bool *transferred)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct pgp_ctl_slot_ref ref = {.pool = w.ok.pool, .slot = slot, .gen = gen};
	struct pgp_ctl_fd reply;
	int fd;

	*transferred = false;
	if (w.gens[slot] == gen && w.fds[slot] >= 0)
		return w.fds[slot];
	if (w.fds[slot] >= 0)
		close(w.fds[slot]);
	w.fds[slot] = -1;
	w.gens[slot] = 0;
	ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_FD_REQ, ++w.seq, &ref, sizeof(ref)));
	if (ctl_reply(w.seq, &reply, sizeof(reply), &fd) != PGP_CTL_FD || fd < 0)
		die("08P01", "FD reply without an fd");
	if (reply.gen != gen)
		die("08P01", "FD reply for generation %u, expected %u", reply.gen, gen);
	w.fds[slot] = fd;
	w.gens[slot] = gen;
	*transferred = true;
	if (opt.verbose)
		fprintf(stderr, "fd received: slot=%u gen=%u backend_pid=%d\n", slot, gen,
		        reply.backend_pid);
	return fd;
}

static void give_back(uint32_t slot, uint32_t gen, uint32_t state)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	struct pgp_ctl_slot_ref ref = {.pool = w.ok.pool, .slot = slot, .gen = gen, .arg = state};

	if (pgp_pool_return_to_broker(&w.shm, w.pool, slot, w.ok.attach_id, gen, state) < 0)
		die("08003", "lost the lease before handing it back");
	if (!opt.no_returned)
		ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_RETURNED, ++w.seq, &ref, sizeof(ref)));
	if (state == PGP_SLOT_DISCARD) {
		close(w.fds[slot]);
		w.fds[slot] = -1;
		w.gens[slot] = 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void run_loops(void)
{
	uint64_t *acq_us = calloc((size_t)opt.loops, sizeof(uint64_t));
	uint64_t *rt_us = calloc((size_t)opt.loops, sizeof(uint64_t));
	uint64_t t_start = pgp_now_us(), fd_transfers = 0;
	int crosstalk = 0;
	struct conn c = {0};

	if (!acq_us || !rt_us)
		die("53200", "out of memory");
	for (long i = 0; i < opt.loops; i++) {
		uint32_t gen = 0, status = 0;
		uint64_t t0 = pgp_now_us(), t1, t2;
		bool transferred;
		int slot = pgp_pool_acquire(&w.shm, w.pool, w.ok.attach_id, getpid(), w.gens,
		                            (uint64_t)w.ok.acquire_timeout_ms * 1000u, &gen,
		                            on_enqueued, NULL, NULL, &status);
		char st = PGP_TXN_IDLE;
		char echo_sql[96], echo_val[64];
		bool echo_ok = false;

		if (slot == -ETIMEDOUT)
			die("53300", "no connection of pool %s became free within %u ms",
			    w.pool->name, w.ok.acquire_timeout_ms);
		if (slot < 0)
			die("08004", "cannot lease from pool %s: %s (status %u)", w.pool->name,
			    strerror(-slot), status);
		t1 = pgp_now_us();
		atomic_fetch_add(&w.pool->acquires, 1);
		c.slot = pgp_shm_pool_slot(&w.shm, w.pool, (uint32_t)slot);
		atomic_store(&c.slot->owner_pid, getpid());
		atomic_store(&c.slot->lease_start_us, t1);
		atomic_fetch_add(&c.slot->leases, 1);
		set_pos(&c, PGP_POS_CLEAN);
		c.fd = fd_for((uint32_t)slot, gen, &transferred);
		fd_transfers += transferred;
		if (opt.verbose)
			fprintf(stderr, "leased slot=%d gen=%u\n", slot, gen);
		if (opt.begin)
			st = run_query(&c, (uint32_t)slot, gen, "BEGIN", NULL, NULL);
		if (opt.parse)
			st = run_parse(&c, (uint32_t)slot, gen, opt.parse);
		for (int q = 0; q < opt.nqueries; q++)
			st = run_query(&c, (uint32_t)slot, gen, opt.queries[q], NULL, NULL);
		if (opt.echo) {
			snprintf(echo_val, sizeof(echo_val), "%d:%ld:%u", (int)getpid(), i, gen);
			snprintf(echo_sql, sizeof(echo_sql), "SELECT '%s'", echo_val);
			st = run_query(&c, (uint32_t)slot, gen, echo_sql, echo_val, &echo_ok);
			if (!echo_ok) {
				fprintf(stderr,
				        "error: CROSSTALK iteration %ld did not get %s back\n", i,
				        echo_val);
				crosstalk++;
			}
		}
		if (opt.sleep_mid_ms > 0) {
			char what[64];
			snprintf(what, sizeof(what), "mid-transaction slot=%d txn=%c", slot, st);
			mark(what);
			sleep_ms(opt.sleep_mid_ms);
		}
		if (opt.begin)
			st = run_query(&c, (uint32_t)slot, gen,
			               st == PGP_TXN_INTRANS ? "COMMIT" : "ROLLBACK", NULL, NULL);
		t2 = pgp_now_us();
		if (opt.hold_ms > 0) {
			mark("holding");
			sleep_ms(opt.hold_ms);
		}
		atomic_fetch_add(&c.slot->queries, 1);
		atomic_fetch_add(&w.pool->queries, 1);
		atomic_fetch_add(&w.pool->query_us, t2 - t1);
		atomic_fetch_add(&w.pool->lease_us, pgp_now_us() - t1);
		atomic_store(&c.slot->owner_pid, 0);
		if (opt.return_as) {
			give_back((uint32_t)slot, gen,
			          strcmp(opt.return_as, "discard") == 0 ? PGP_SLOT_DISCARD
			                                                : PGP_SLOT_RESET);
		} else if (st != PGP_TXN_IDLE) {
			/* Never release in 'T' or 'E' (invariant 2): hand it back for a reset. */
			give_back((uint32_t)slot, gen, PGP_SLOT_RESET);
		} else if (pgp_pool_release(&w.shm, w.pool, (uint32_t)slot, w.ok.attach_id, gen) <
		           0) {
			die("08003", "the lease was taken back by the broker before release");
		}
		acq_us[i] = t1 - t0;
		rt_us[i] = t2 - t1;
	}
	if (opt.acquire_log) {
		/* Every wait in acquisition order, for the fairness test (before sorting below). */
		FILE *f = fopen(opt.acquire_log, "w");
		if (!f)
			die("58030", "cannot write %s: %s", opt.acquire_log, strerror(errno));
		for (long i = 0; i < opt.loops; i++)
			fprintf(f, "%llu\n", (unsigned long long)acq_us[i]);
		fclose(f);
	}
	if (opt.timing) {
		uint64_t total = pgp_now_us() - t_start;
		qsort(acq_us, (size_t)opt.loops, sizeof(uint64_t), cmp_u64);
		qsort(rt_us, (size_t)opt.loops, sizeof(uint64_t), cmp_u64);
		printf(
		    "TIMING loops=%ld total_ms=%.1f acquire_us_p50=%llu acquire_us_p99=%llu "
		    "acquire_us_max=%llu query_us_p50=%llu query_us_p99=%llu fd_transfers=%llu\n",
		    opt.loops, (double)total / 1000.0, (unsigned long long)acq_us[opt.loops / 2],
		    (unsigned long long)acq_us[(opt.loops * 99) / 100],
		    (unsigned long long)acq_us[opt.loops - 1],
		    (unsigned long long)rt_us[opt.loops / 2],
		    (unsigned long long)rt_us[(opt.loops * 99) / 100],
		    (unsigned long long)fd_transfers);
	}
	pgp_buf_free(&c.in);
	free(acq_us);
	free(rt_us);
	if (crosstalk)
		exit(3);
}

/* ---- stats, ping, garbage ---- */

static void ctl_ping(struct pgp_ctl_pong *pong)
{
	uint8_t buf[PGP_CTL_MSG_MAX];

	ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_PING, ++w.seq, NULL, 0));
	if (ctl_reply(w.seq, pong, sizeof(*pong), NULL) != PGP_CTL_PONG)
		die("08P01", "unexpected reply to PING");
}

static void print_stats(void)
{
	static const char *const states[] = {"EMPTY", "CONNECTING", "IDLE",  "LEASED",
	                                     "BUSY",  "DISCARD",    "RESET", "?"};
	struct pgp_ctl_pong pong;

	ctl_ping(&pong);
	shm_attach(pong.shm_name, pong.epoch);
	printf("broker pid=%d epoch=%016llx state=%u\n", pong.broker_pid,
	       (unsigned long long)pong.epoch, atomic_load(&w.shm.hdr->state));
	for (uint32_t i = 0; i < w.shm.hdr->npools; i++) {
		struct pgp_shm_pool *p = pgp_shm_pool_at(&w.shm, i);
		uint32_t c[8];
		pgp_pool_count_states(&w.shm, p, c);
		printf(
		    "pool=%s total=%u idle=%u leased=%u connecting=%u busy=%u discard=%u reset=%u "
		    "waiting=%u acquires=%llu fd_transfers=%llu connects=%llu disconnects=%llu "
		    "discards=%llu reclaims=%llu errors=%llu connect_failures=%llu\n",
		    p->name, p->nslots - c[PGP_SLOT_EMPTY], c[PGP_SLOT_IDLE], c[PGP_SLOT_LEASED],
		    c[PGP_SLOT_CONNECTING], c[PGP_SLOT_BUSY], c[PGP_SLOT_DISCARD],
		    c[PGP_SLOT_RESET], atomic_load(&p->waiting),
		    (unsigned long long)atomic_load(&p->acquires),
		    (unsigned long long)atomic_load(&p->fd_transfers),
		    (unsigned long long)atomic_load(&p->connects),
		    (unsigned long long)atomic_load(&p->disconnects),
		    (unsigned long long)atomic_load(&p->discards),
		    (unsigned long long)atomic_load(&p->reclaims),
		    (unsigned long long)atomic_load(&p->errors),
		    (unsigned long long)atomic_load(&p->connect_failures));
		for (uint32_t j = 0; j < p->nslots; j++) {
			struct pgp_shm_slot *s = pgp_shm_pool_slot(&w.shm, p, j);
			uint64_t word = atomic_load(&s->word);
			uint32_t st = pgp_slot_word_state(word);
			printf("slot pool=%s i=%u state=%s gen=%u owner=%u backend_pid=%d\n",
			       p->name, j, states[st < 7 ? st : 7], pgp_slot_word_gen(word),
			       pgp_slot_word_owner(word), s->backend_pid);
		}
	}
}

/* Each kind of garbage on a fresh connection: the broker must close it and stay up. */
static void send_garbage(void)
{
	uint8_t buf[PGP_CTL_MSG_MAX + 1024];
	struct pgp_ctl_hdr h;
	int failures = 0;
	const char *names[] = {"random bytes", "bad magic",        "length mismatch",
	                       "unknown type", "reply type",       "truncated attach",
	                       "oversized",    "attach bad string"};

	for (int kind = 0; kind < 8; kind++) {
		size_t len = 0;
		struct pollfd pfd;
		char c;
		int fd = ctl_connect();

		memset(buf, 0, sizeof(buf));
		h.magic = PGP_CTL_MAGIC;
		h.version = PGP_CTL_VERSION;
		h.seq = 1;
		switch (kind) {
		case 0:
			for (len = 0; len < 200; len++)
				buf[len] = (uint8_t)rand();
			break;
		case 1:
			h.magic = 0xdeadbeef;
			h.type = PGP_CTL_PING;
			h.len = sizeof(h);
			memcpy(buf, &h, sizeof(h));
			len = sizeof(h);
			break;
		case 2:
			h.type = PGP_CTL_PING;
			h.len = sizeof(h) + 7;
			memcpy(buf, &h, sizeof(h));
			len = sizeof(h);
			break;
		case 3:
			h.type = 99;
			h.len = sizeof(h);
			memcpy(buf, &h, sizeof(h));
			len = sizeof(h);
			break;
		case 4:
			len = (size_t)pgp_ctl_encode(buf, PGP_CTL_CANCEL_DONE, 1, NULL, 0);
			break;
		case 5:
			h.type = PGP_CTL_ATTACH;
			h.len = sizeof(h) + 10;
			memcpy(buf, &h, sizeof(h));
			len = sizeof(h) + 10;
			break;
		case 6:
			len = PGP_CTL_MSG_MAX + 500;
			memset(buf, 'x', len);
			break;
		case 7: {
			struct pgp_ctl_attach a = {0};
			h.type = PGP_CTL_ATTACH;
			h.len = (uint32_t)(sizeof(h) + sizeof(a) + 4);
			a.pool_off = (uint16_t)(sizeof(h) + sizeof(a));
			a.pool_len = 200; /* past the end */
			memcpy(buf, &h, sizeof(h));
			memcpy(buf + sizeof(h), &a, sizeof(a));
			memcpy(buf + sizeof(h) + sizeof(a), "abcd", 4);
			len = h.len;
			break;
		}
		}
		if (send(fd, buf, len, MSG_NOSIGNAL) < 0 && errno != EPIPE)
			die("08006", "send garbage: %s", strerror(errno));
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) == 1 && recv(fd, &c, 1, 0) <= 0) {
			printf("garbage %d (%s): connection closed by the broker\n", kind,
			       names[kind]);
		} else {
			printf("garbage %d (%s): NOT closed\n", kind, names[kind]);
			failures++;
		}
		close(fd);
	}
	if (failures)
		exit(1);
}

/* FD_REQ for a slot this process has not leased (with its current generation): the broker must
 * refuse (08003, or 08P01 without ATTACH). */
static void steal_fd(void)
{
	struct pgp_ctl_pong pong;
	struct pgp_shm_slot *s;
	struct pgp_shm_pool *p;
	uint32_t pool = 0;
	bool transferred;

	if (opt.no_attach) {
		ctl_ping(&pong);
		shm_attach(pong.shm_name, pong.epoch);
	} else {
		ctl_attach();
		shm_attach(w.ok.shm_name, w.ok.epoch);
		pool = w.ok.pool;
	}
	if (opt.steal_pool >= 0)
		pool = (uint32_t)opt.steal_pool;
	p = pgp_shm_pool_at(&w.shm, pool);
	if (!p || (uint32_t)opt.steal >= p->nslots)
		die("08P01", "no slot %ld", opt.steal);
	s = pgp_shm_pool_slot(&w.shm, p, (uint32_t)opt.steal);
	if (opt.steal_pool >= 0) {
		/* Anyone who maps the segment can write a slot word: make the slot of a pool we
		 * never authenticated for look leased by us, then ask for its fd. */
		uint64_t idle = atomic_load(&s->word);
		if (pgp_slot_word_state(idle) != PGP_SLOT_IDLE ||
		    !atomic_compare_exchange_strong(
		        &s->word, &idle,
		        pgp_slot_word(PGP_SLOT_LEASED, w.ok.attach_id, pgp_slot_word_gen(idle))))
			die("55000", "slot %ld of pool %ld is not idle", opt.steal, opt.steal_pool);
		printf("FORGED a lease of slot %ld of pool %ld\n", opt.steal, opt.steal_pool);
	}
	w.ok.pool = pool;
	w.nslots = p->nslots;
	w.fds = malloc(w.nslots * sizeof(int));
	w.gens = calloc(w.nslots, sizeof(uint32_t));
	for (uint32_t i = 0; w.fds && i < w.nslots; i++)
		w.fds[i] = -1;
	fd_for((uint32_t)opt.steal, pgp_slot_word_gen(atomic_load(&s->word)), &transferred);
	printf("STOLEN fd of slot %ld\n", opt.steal);
	exit(4);
}

/* Write a slot word the broker never produced into main's slot 0: it must repair or reclaim. */
static void forge_word(void)
{
	struct pgp_ctl_pong pong;
	struct pgp_shm_slot *s;
	uint64_t word, forged;
	uint32_t gen;

	ctl_ping(&pong);
	shm_attach(pong.shm_name, pong.epoch);
	s = pgp_shm_slot_at(&w.shm, 0);
	if (!s)
		die("08P01", "no slot 0");
	word = atomic_load(&s->word);
	gen = pgp_slot_word_gen(word);
	if (strcmp(opt.forge, "owner") == 0)
		forged = pgp_slot_word(PGP_SLOT_LEASED, 0xfedcbau, gen);
	else if (strcmp(opt.forge, "gen") == 0)
		forged = pgp_slot_word(PGP_SLOT_IDLE, 0, gen + 1000u);
	else
		forged = (word & ~0xffull) | 0x77u;
	atomic_store(&s->word, forged);
	printf("FORGED slot 0: %016llx -> %016llx\n", (unsigned long long)word,
	       (unsigned long long)forged);
}

/* Lease a slot, then break the control protocol while alive: the broker must cut the
 * connection and reclaim the lease although the process still runs. */
/* Random bytes (seeded by --seed) over part of our own pool's shared memory. */
static void scribble_bytes(const char *what, void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rand();
	printf("SCRIBBLED %s: %zu bytes\n", what, n);
}

static bool scribble_has(const char *area)
{
	const char *p = opt.scribble;
	size_t n = strlen(area);

	while ((p = strstr(p, area)) != NULL) {
		if ((p == opt.scribble || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return strcmp(opt.scribble, "all") == 0 && strcmp(area, "header") != 0;
}

/*
 * What a broken or hostile worker can do to the segment it maps read-write: garbage over its
 * own pool's slots (whole), slot words (random states, owners, generations), waiter ring, ring
 * lock, counters, the pool's broker-written fields (index, first_slot, nslots, status...: out
 * of range) or the segment header.
 */
static void scribble(void)
{
	struct pgp_shm_pool *p = w.pool;
	uint32_t first = p->first_slot, n = p->nslots, idx = p->index;
	struct pgp_shm_slot *slots = &w.shm.slots[first];

	srand(opt.seed);
	if (scribble_has("words")) {
		for (uint32_t i = 0; i < n; i++)
			atomic_store(&slots[i].word, (uint64_t)rand() << 40 ^
			                                 (uint64_t)rand() << 16 ^ (uint64_t)rand());
		printf("SCRIBBLED words: %u slot words\n", n);
	}
	if (scribble_has("slots"))
		scribble_bytes("slots", slots, (size_t)n * sizeof(*slots));
	if (scribble_has("ring"))
		scribble_bytes("ring", &w.shm.rings[(size_t)idx * PGP_RING_SIZE],
		               PGP_RING_SIZE * sizeof(struct pgp_shm_waiter));
	if (scribble_has("lock"))
		scribble_bytes("lock", &p->ring_lock, sizeof(p->ring_lock));
	if (scribble_has("counters"))
		scribble_bytes("counters", &p->ring_head,
		               sizeof(*p) - offsetof(struct pgp_shm_pool, ring_head));
	if (scribble_has("pool"))
		scribble_bytes("pool", p, offsetof(struct pgp_shm_pool, ring_lock));
	if (scribble_has("header"))
		scribble_bytes("header", w.shm.hdr, sizeof(*w.shm.hdr));
	fflush(stdout);
}

static void lease_then_garbage(void)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	uint32_t gen = 0, status = 0;
	bool transferred;
	struct pollfd pfd;
	char c;
	int slot;

	ctl_attach();
	shm_attach(w.ok.shm_name, w.ok.epoch);
	w.pool = pgp_shm_pool_at(&w.shm, w.ok.pool);
	w.nslots = w.pool->nslots;
	w.fds = malloc(w.nslots * sizeof(int));
	w.gens = calloc(w.nslots, sizeof(uint32_t));
	for (uint32_t i = 0; w.fds && i < w.nslots; i++)
		w.fds[i] = -1;
	slot = pgp_pool_acquire(&w.shm, w.pool, w.ok.attach_id, getpid(), w.gens, 5000000, &gen,
	                        NULL, NULL, NULL, &status);
	if (slot < 0)
		die("53300", "cannot lease");
	fd_for((uint32_t)slot, gen, &transferred);
	if (opt.scribble)
		scribble();
	ctl_send(buf, pgp_ctl_encode(buf, PGP_CTL_CANCEL_DONE, ++w.seq, NULL, 0));
	pfd.fd = w.ctl;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 2000) != 1 || recv(w.ctl, &c, 1, 0) > 0)
		die("08P01", "the broker did not close the connection after garbage");
	printf("MARK cut-off slot=%d\n", slot);
	fflush(stdout);
	sleep_ms(3000);
	exit(0);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: pgp-worker -S SOCKET (--pool NAME | --dsn 'pgsql:host=..;port=..;dbname=..') "
	    "-U USER -P PASSWORD [options]\n"
	    "  -c SQL              a query to run on the lease (repeatable, in order)\n"
	    "  --parse NAME=SQL    first prepare NAME through the protocol (Parse + Sync)\n"
	    "  -n N                iterations: acquire, queries, release (default 1)\n"
	    "  --begin             wrap the queries in BEGIN ... COMMIT\n"
	    "  --echo              also SELECT a value unique to (pid, iteration) and check it\n"
	    "  --sleep-mid MS      sleep after the queries, before COMMIT/release (prints MARK)\n"
	    "  --hold MS           keep the lease MS ms before releasing (prints MARK)\n"
	    "  --half-write        write half of the first query, then hang (prints MARK)\n"
	    "  --cancel-after MS   ask the broker to cancel the running query after MS ms\n"
	    "  --return discard|reset  hand the slot back to the broker instead of releasing\n"
	    "  --expect-error STATE    exit 0 only if that SQLSTATE occurs\n"
	    "  --timing            print a TIMING line (acquire/query percentiles)\n"
	    "  -q, --quiet         do not print rows\n"
	    "  --stats             print pools and slots from shm and exit\n"
	    "  --ping              PING the broker and exit\n"
	    "  --garbage           send malformed datagrams, check each connection is closed\n"
	    "  --steal SLOT        FD_REQ for a slot not leased (exit 4 if the broker gives it)\n"
	    "  --no-attach         with --steal: do not ATTACH first\n"
	    "  --forge owner|gen|state  write a bogus word into slot 0 of the first pool\n"
	    "  --garbage-after-lease    lease, then send garbage on the control socket\n"
	    "  --scribble AREAS    with --garbage-after-lease: first write random bytes over the\n"
	    "                      own pool's slots,words,ring,lock,counters,pool (all: each of\n"
	    "                      them), or the segment header\n"
	    "  --seed N            random seed of --scribble (default 0)\n"
	    "  --steal-pool N      with --steal: forge a lease in pool N (not attached) first\n"
	    "  --acquire-log FILE  write each iteration's wait for a lease (us), one a line\n"
	    "  --no-returned       with --return: do not send RETURNED (a lost notification)\n"
	    "  -v                  verbose\n");
}

int main(int argc, char **argv)
{
	enum {
		O_POOL = 256,
		O_SCRIBBLE,
		O_SEED,
		O_STEAL_POOL,
		O_DSN,
		O_BEGIN,
		O_ECHO,
		O_SLEEP_MID,
		O_HOLD,
		O_HALF,
		O_CANCEL,
		O_RETURN,
		O_EXPECT,
		O_TIMING,
		O_STATS,
		O_PING,
		O_GARBAGE,
		O_STEAL,
		O_NO_ATTACH,
		O_FORGE,
		O_GARBAGE_LEASE,
		O_ACQUIRE_LOG,
		O_NO_RETURNED,
		O_PARSE
	};
	static const struct option lopts[] = {
	    {"socket", required_argument, NULL, 'S'},
	    {"pool", required_argument, NULL, O_POOL},
	    {"dsn", required_argument, NULL, O_DSN},
	    {"user", required_argument, NULL, 'U'},
	    {"password", required_argument, NULL, 'P'},
	    {"begin", no_argument, NULL, O_BEGIN},
	    {"echo", no_argument, NULL, O_ECHO},
	    {"sleep-mid", required_argument, NULL, O_SLEEP_MID},
	    {"hold", required_argument, NULL, O_HOLD},
	    {"half-write", no_argument, NULL, O_HALF},
	    {"cancel-after", required_argument, NULL, O_CANCEL},
	    {"return", required_argument, NULL, O_RETURN},
	    {"expect-error", required_argument, NULL, O_EXPECT},
	    {"timing", no_argument, NULL, O_TIMING},
	    {"quiet", no_argument, NULL, 'q'},
	    {"stats", no_argument, NULL, O_STATS},
	    {"ping", no_argument, NULL, O_PING},
	    {"garbage", no_argument, NULL, O_GARBAGE},
	    {"steal", required_argument, NULL, O_STEAL},
	    {"no-attach", no_argument, NULL, O_NO_ATTACH},
	    {"forge", required_argument, NULL, O_FORGE},
	    {"garbage-after-lease", no_argument, NULL, O_GARBAGE_LEASE},
	    {"scribble", required_argument, NULL, O_SCRIBBLE},
	    {"seed", required_argument, NULL, O_SEED},
	    {"steal-pool", required_argument, NULL, O_STEAL_POOL},
	    {"acquire-log", required_argument, NULL, O_ACQUIRE_LOG},
	    {"no-returned", no_argument, NULL, O_NO_RETURNED},
	    {"parse", required_argument, NULL, O_PARSE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int o;

	while ((o = getopt_long(argc, argv, "S:U:P:c:n:qvh", lopts, NULL)) != -1) {
		switch (o) {
		case 'S':
			opt.socket = optarg;
			break;
		case O_POOL:
			opt.pool = optarg;
			break;
		case O_DSN:
			opt.dsn = optarg;
			break;
		case 'U':
			opt.user = optarg;
			break;
		case 'P':
			opt.password = optarg;
			break;
		case 'c':
			if (opt.nqueries == MAX_QUERIES) {
				fprintf(stderr, "at most %d queries\n", MAX_QUERIES);
				return 2;
			}
			opt.queries[opt.nqueries++] = optarg;
			break;
		case 'n':
			opt.loops = atol(optarg);
			break;
		case O_BEGIN:
			opt.begin = true;
			break;
		case O_ECHO:
			opt.echo = true;
			break;
		case O_SLEEP_MID:
			opt.sleep_mid_ms = atol(optarg);
			break;
		case O_HOLD:
			opt.hold_ms = atol(optarg);
			break;
		case O_HALF:
			opt.half_write = true;
			break;
		case O_CANCEL:
			opt.cancel_after_ms = atol(optarg);
			break;
		case O_RETURN:
			opt.return_as = optarg;
			break;
		case O_EXPECT:
			opt.expect_error = optarg;
			break;
		case O_TIMING:
			opt.timing = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case O_STATS:
			opt.stats = true;
			break;
		case O_PING:
			opt.ping = true;
			break;
		case O_GARBAGE:
			opt.garbage = true;
			break;
		case O_STEAL:
			opt.steal = atol(optarg);
			break;
		case O_NO_ATTACH:
			opt.no_attach = true;
			break;
		case O_FORGE:
			opt.forge = optarg;
			break;
		case O_GARBAGE_LEASE:
			opt.garbage_after_lease = true;
			break;
		case O_SCRIBBLE:
			opt.scribble = optarg;
			break;
		case O_SEED:
			opt.seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_STEAL_POOL:
			opt.steal_pool = atol(optarg);
			break;
		case O_ACQUIRE_LOG:
			opt.acquire_log = optarg;
			break;
		case O_PARSE:
			opt.parse = optarg;
			break;
		case O_NO_RETURNED:
			opt.no_returned = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!opt.socket || opt.loops < 1 ||
	    (opt.return_as && strcmp(opt.return_as, "discard") && strcmp(opt.return_as, "reset"))) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (opt.garbage) {
		send_garbage();
		opt.ping = true;
	}
	w.ctl = ctl_connect();
	if (opt.ping) {
		struct pgp_ctl_pong pong;
		ctl_ping(&pong);
		printf("pong: broker pid=%d shm=%s epoch=%016llx\n", pong.broker_pid, pong.shm_name,
		       (unsigned long long)pong.epoch);
		return 0;
	}
	if (opt.stats) {
		print_stats();
		return 0;
	}
	if (opt.steal >= 0)
		steal_fd();
	if (opt.forge) {
		forge_word();
		return 0;
	}
	if (opt.garbage_after_lease)
		lease_then_garbage();
	if (!opt.pool && !opt.dsn) {
		usage(stderr);
		return 2;
	}
	ctl_attach();
	shm_attach(w.ok.shm_name, w.ok.epoch);
	w.pool = pgp_shm_pool_at(&w.shm, w.ok.pool);
	if (!w.pool)
		die("08P01", "pool index %u is not in shm", w.ok.pool);
	w.nslots = w.pool->nslots;
	w.fds = malloc(w.nslots * sizeof(int));
	w.gens = calloc(w.nslots, sizeof(uint32_t));
	if (!w.fds || !w.gens)
		die("53200", "out of memory");
	for (uint32_t i = 0; i < w.nslots; i++)
		w.fds[i] = -1;
	run_loops();
	for (uint32_t i = 0; i < w.nslots; i++) {
		if (w.fds[i] >= 0)
			close(w.fds[i]);
	}
	free(w.fds);
	free(w.gens);
	pgp_shm_unmap(&w.shm);
	close(w.ctl);
	if (opt.expect_error)
		return w.expect_hit ? 0 : 1;
	return w.error_seen ? 1 : 0;
}
