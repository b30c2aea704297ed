/*
 * fake-pg: a PostgreSQL server that lies. It speaks enough of the v3 protocol for pgpool-broker
 * (libpq) to connect, authenticate and reset connections, and for the extension to run simple
 * and extended-protocol statements; a statement whose SQL contains "fake:NAME" gets the answer of
 * scenario NAME instead: truncated, oversized, out-of-order or invalid messages, lying counts,
 * a connection closed mid-message, values that do not convert. Tests (security_fakepg.sh, phpt
 * 4xx) check that the PHP user gets a PDOException, PHP survives, and the slot is discarded.
 *
 * usage: fake-pg --port PORT [--listen ADDR] [--auth ok|cleartext] [--password PW]
 *                [--pidfile FILE] [--log FILE]
 *        fake-pg --list                 scenario names and what they send
 *        fake-pg --dump-seeds DIR       each scenario's bytes (after a normal startup) as a seed
 *                                       for tests/fuzz/fuzz_proto
 * One process per client connection (fork). Every connection and scenario is logged as one line
 * ("conn N: ..."), so a test can count connections opened and closed. SIGTERM stops it.
 *
 * Built from common/ only (the frontend parsing here is deliberately naive: the client is ours).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgp_common.h"
#include "pgp_proto.h"

#define FAKE_PROTO_V3       196608u
#define FAKE_SSL_REQUEST    80877103u
#define FAKE_GSS_REQUEST    80877104u
#define FAKE_CANCEL_REQUEST 80877102u
#define FAKE_MAX_FE_MSG     (16u << 20)
#define FAKE_MAX_STMTS      256

static struct {
	const char *listen;
	int port;
	const char *auth;
	const char *password;
	const char *pidfile;
	FILE *log;
} opt = {.listen = "127.0.0.1", .auth = "ok", .password = "secret"};

static unsigned conn_no;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	va_list ap;
	FILE *f = opt.log ? opt.log : stderr;

	fprintf(f, "conn %u: ", conn_no);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

static void die(const char *what)
{
	logf_("fatal: %s: %s", what, strerror(errno));
	exit(1);
}

#include "fake-pg-scenarios.h"

/* ---- normal answers ---- */

/* Command tag for a statement that is not a SELECT: its first word(s), upper-cased. */
static void tag_of(const char *sql, char *tag, size_t cap)
{
	size_t n = 0;
	int words = 0;

	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
		sql++;
	for (; *sql && n + 1 < cap; sql++) {
		char c = *sql;
		if (c == ';' || c == '\n')
			break;
		if (c == ' ') {
			/* DISCARD ALL, RESET ALL: two words; everything else: one. */
			if (++words > 1 ||
			    (strncmp(tag, "DISCARD", 7) != 0 && strncmp(tag, "RESET", 5) != 0))
				break;
		}
		tag[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		tag[n] = '\0';
	}
	tag[n] = '\0';
	if (strcmp(tag, "INSERT") == 0)
		snprintf(tag, cap, "INSERT 0 1");
	else if (strcmp(tag, "UPDATE") == 0 || strcmp(tag, "DELETE") == 0)
		strncat(tag, " 1", cap - strlen(tag) - 1);
}

static bool is_select(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '(')
		sql++;
	return strncasecmp(sql, "select", 6) == 0 || strncasecmp(sql, "with", 4) == 0 ||
	       strncasecmp(sql, "values", 6) == 0;
}

/* The answer to one statement that is not a scenario: SELECT gives one int4 row "1". */
static void answer_normal(pgp_buf *b, const char *sql, bool describe_only, bool with_desc)
{
	static const uint32_t oid = PGP_OID_INT4;
	static const char *const one = "1";
	char tag[64] = "";

	if (is_select(sql)) {
		if (with_desc)
			msg_rowdesc(b, 1, &oid);
		if (describe_only)
			return;
		msg_datarow(b, 1, &one);
		msg_complete(b, "SELECT 1");
		return;
	}
	if (with_desc)
		msg_empty(b, 'n'); /* NoData */
	if (describe_only)
		return;
	tag_of(sql, tag, sizeof(tag));
	msg_complete(b, tag[0] ? tag : "EMPTY");
}

/* ---- connection ---- */

struct conn {
	int fd;
	pgp_buf in;
	pgp_buf out;
	char txn;
	struct {
		char name[64];
		char *sql;
	} stmts[FAKE_MAX_STMTS];
	char *portal_sql;          /* SQL bound to the unnamed portal */
	bool batch_failed;         /* extended protocol: skip to Sync after an error */
	const struct scenario *sc; /* scenario hit in this batch */
	enum after after;
};

static void send_all(struct conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			logf_("client went away while we sent (%s)", strerror(errno));
			exit(0);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void flush_out(struct conn *c)
{
	send_all(c, c->out.data, c->out.len);
	c->out.len = 0;
}

/* Read until n bytes are buffered; exit when the client goes away. */
static void need(struct conn *c, size_t n)
{
	while (c->in.len < n) {
		ssize_t r;
		if (pgp_buf_reserve(&c->in, 65536) != 0)
			die("reserve");
		r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
		if (r == 0) {
			logf_("closed by the client");
			exit(0);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			logf_("closed: %s", strerror(errno));
			exit(0);
		}
		c->in.len += (size_t)r;
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read and drop everything until the client closes (after a hanging scenario). */
static void hang(struct conn *c)
{
	for (;;) {
		c->in.len = 0;
		need(c, 1);
	}
}

static void run_after(struct conn *c, enum after a)
{
	switch (a) {
	case AFTER_NOTHING:
		flush_out(c);
		return;
	case AFTER_RFQ:
		msg_rfq(&c->out, 'I');
		flush_out(c);
		return;
	case AFTER_CLOSE:
		flush_out(c);
		logf_("closing mid-stream on purpose");
		exit(0);
	case AFTER_HANG:
		flush_out(c);
		logf_("hanging on purpose");
		hang(c);
		return;
	case AFTER_DRIP:
		msg_rfq(&c->out, 'I');
		for (size_t i = 0; i < c->out.len; i++) {
			struct timespec ts = {0, 2000000};
			send_all(c, c->out.data + i, 1);
			nanosleep(&ts, NULL);
		}
		c->out.len = 0;
		return;
	}
}

/* The startup packet, authentication, parameters, key data, ReadyForQuery. */
static void startup(struct conn *c)
{
	for (;;) {
		uint32_t len, code;

		need(c, 8);
		len = be32(c->in.data);
		code = be32(c->in.data + 4);
		if (len < 8 || len > 10000) {
			logf_("bad startup length %u", len);
			exit(0);
		}
		need(c, len);
		if (code == FAKE_SSL_REQUEST || code == FAKE_GSS_REQUEST) {
			pgp_buf_consume(&c->in, len);
			send_all(c, (const uint8_t *)"N", 1);
			continue;
		}
		if (code == FAKE_CANCEL_REQUEST) {
			logf_("cancel request (ignored)");
			exit(0);
		}
		if (code != FAKE_PROTO_V3) {
			logf_("unsupported protocol %u", code);
			exit(0);
		}
		pgp_buf_consume(&c->in, len);
		break;
	}
	if (strcmp(opt.auth, "cleartext") == 0) {
		uint32_t len;

		msg_auth(&c->out, 3);
		flush_out(c);
		need(c, 5);
		len = be32(c->in.data + 1);
		if (c->in.data[0] != 'p' || len < 5 || len > 10000) {
			logf_("expected a password message");
			exit(0);
		}
		need(c, 1 + len);
		if (len - 4 != strlen(opt.password) + 1 ||
		    memcmp(c->in.data + 5, opt.password, len - 4) != 0) {
			msg_error(&c->out, 'E', "28P01", "password authentication failed");
			flush_out(c);
			logf_("wrong password");
			exit(0);
		}
		pgp_buf_consume(&c->in, 1 + len);
	}
	msg_auth(&c->out, 0);
	msg_param(&c->out, "server_version", "15.99 (fake-pg)");
	msg_param(&c->out, "server_encoding", "UTF8");
	msg_param(&c->out, "client_encoding", "UTF8");
	msg_param(&c->out, "standard_conforming_strings", "on");
	msg_param(&c->out, "integer_datetimes", "on");
	msg_param(&c->out, "DateStyle", "ISO, MDY");
	msg_param(&c->out, "TimeZone", "UTC");
	msg_param(&c->out, "application_name", "pgpool-broker");
	{
		size_t at = msg_begin(&c->out, 'K');
		put_u32(&c->out, (uint32_t)getpid());
		put_u32(&c->out, 0x5ec7e7u);
		msg_end(&c->out, at);
	}
	msg_rfq(&c->out, 'I');
	flush_out(c);
	c->txn = 'I';
}

static void txn_track(struct conn *c, const char *sql)
{
	while (*sql == ' ')
		sql++;
	if (strncasecmp(sql, "begin", 5) == 0 || strncasecmp(sql, "start", 5) == 0)
		c->txn = 'T';
	else if (strncasecmp(sql, "commit", 6) == 0 || strncasecmp(sql, "rollback", 8) == 0 ||
	         strncasecmp(sql, "end", 3) == 0)
		c->txn = 'I';
}

/* Simple Query: possibly several statements separated by ';' (the extension sends one). */
static void on_query(struct conn *c, const char *sql)
{
	const struct scenario *sc = scenario_of(sql);

	if (sc) {
		logf_("scenario %s (simple query)", sc->name);
		run_after(c, sc->build(&c->out));
		return;
	}
	txn_track(c, sql);
	if (!*sql)
		msg_empty(&c->out, 'I');
	else
		answer_normal(&c->out, sql, false, true);
	msg_rfq(&c->out, c->txn);
	flush_out(c);
}

static char **stmt_slot(struct conn *c, const char *name, bool create)
{
	int free_i = -1;

	for (int i = 0; i < FAKE_MAX_STMTS; i++) {
		if (c->stmts[i].sql && strcmp(c->stmts[i].name, name) == 0)
			return &c->stmts[i].sql;
		if (!c->stmts[i].sql && free_i < 0)
			free_i = i;
	}
	if (!create || free_i < 0 || strlen(name) >= sizeof(c->stmts[0].name))
		return NULL;
	snprintf(c->stmts[free_i].name, sizeof(c->stmts[0].name), "%s", name);
	return &c->stmts[free_i].sql;
}

/* One extended-protocol message (Parse/Bind/Describe/Execute/Close/Sync/Flush). */
static void on_extended(struct conn *c, char type, const uint8_t *body, uint32_t len)
{
	const char *s1 = (const char *)body;
	const char *s2 = memchr(body, 0, len) ? s1 + strlen(s1) + 1 : "";
	char **slot;

	if (type == 'S') {
		if (c->sc) {
			/* The scenario replaces what the batch would have answered from its
			 * Describe/Execute on; what came before it was sent already. */
			c->sc = NULL;
			run_after(c, c->after);
		} else {
			msg_rfq(&c->out, c->txn);
			flush_out(c);
		}
		c->batch_failed = false;
		return;
	}
	if (type == 'H') {
		flush_out(c);
		return;
	}
	if (c->batch_failed || c->sc)
		return;
	switch (type) {
	case 'P':
		slot = stmt_slot(c, s1, true);
		if (!slot) {
			msg_error(&c->out, 'E', "54000", "fake-pg: too many statements");
			c->batch_failed = true;
			return;
		}
		if (*s1 && *slot) {
			msg_error(&c->out, 'E', "42P05", "prepared statement already exists");
			c->batch_failed = true;
			return;
		}
		free(*slot);
		*slot = strdup(s2);
		msg_empty(&c->out, '1');
		return;
	case 'B':
		slot = stmt_slot(c, s2, false);
		if (!slot || !*slot) {
			msg_error(&c->out, 'E', "26000", "prepared statement does not exist");
			c->batch_failed = true;
			return;
		}
		free(c->portal_sql);
		c->portal_sql = strdup(*slot);
		txn_track(c, c->portal_sql);
		msg_empty(&c->out, '2');
		return;
	case 'D': {
		const char *sql = NULL;
		if (len >= 1 && body[0] == 'S') {
			slot = stmt_slot(c, s1 + 1, false);
			sql = slot ? *slot : NULL;
		} else {
			sql = c->portal_sql;
		}
		if (!sql) {
			msg_error(&c->out, 'E', "26000", "nothing to describe");
			c->batch_failed = true;
			return;
		}
		if ((c->sc = scenario_of(sql)) != NULL) {
			logf_("scenario %s (extended protocol)", c->sc->name);
			c->after = c->sc->build(&c->out);
			return;
		}
		if (body[0] == 'S') {
			size_t at = msg_begin(&c->out, 't');
			put_u16(&c->out, 0);
			msg_end(&c->out, at);
		}
		answer_normal(&c->out, sql, true, true);
		return;
	}
	case 'E':
		if (!c->portal_sql) {
			msg_error(&c->out, 'E', "34000", "portal does not exist");
			c->batch_failed = true;
			return;
		}
		if ((c->sc = scenario_of(c->portal_sql)) != NULL) {
			logf_("scenario %s (extended protocol)", c->sc->name);
			c->after = c->sc->build(&c->out);
			return;
		}
		answer_normal(&c->out, c->portal_sql, false, false);
		return;
	case 'C':
		if (len >= 1 && body[0] == 'S' && (slot = stmt_slot(c, s1 + 1, false)) != NULL) {
			free(*slot);
			*slot = NULL;
		}
		msg_empty(&c->out, '3');
		return;
	default:
		msg_error(&c->out, 'E', "08P01", "fake-pg: unsupported message");
		c->batch_failed = true;
	}
}

static void serve(int fd)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	startup(&c);
	logf_("ready");
	for (;;) {
		uint8_t type;
		uint32_t len;

		need(&c, 5);
		type = c.in.data[0];
		len = be32(c.in.data + 1);
		if (len < 4 || len > FAKE_MAX_FE_MSG) {
			logf_("bad frontend message length %u", len);
			exit(0);
		}
		need(&c, 1 + (size_t)len);
		/* A NUL after the payload makes string reads safe. */
		if (pgp_buf_reserve(&c.in, 1) != 0)
			die("reserve");
		{
			uint8_t saved = c.in.data[1 + len];
			c.in.data[1 + len] = 0;
			if (type == 'X') {
				logf_("terminated by the client");
				exit(0);
			}
			if (type == 'Q')
				on_query(&c, (const char *)c.in.data + 5);
			else
				on_extended(&c, (char)type, c.in.data + 5, len - 4);
			c.in.data[1 + len] = saved;
		}
		pgp_buf_consume(&c.in, 1 + (size_t)len);
	}
}

/* ---- seeds for the fuzzer ---- */

static int dump_seeds(const char *dir)
{
	for (size_t i = 0; i < PGP_ARRAY_LEN(scenarios); i++) {
		pgp_buf b = {0};
		char path[4096];
		FILE *f;
		enum after a;
		static const uint32_t oid = PGP_OID_TEXT;

		/* fuzz_proto's 9-byte prefix: ReadyForQuery count wanted, 8 chunk sizes. */
		put(&b, "\x01\x07\x01\x40\x03\xff\x10\x00\x05", 9);
		msg_auth(&b, 0);
		msg_param(&b, "client_encoding", "UTF8");
		{
			size_t at = msg_begin(&b, 'K');
			put_u32(&b, 1234);
			put_u32(&b, 5678);
			msg_end(&b, at);
		}
		msg_rfq(&b, 'I');
		msg_empty(&b, '1');
		msg_empty(&b, '2');
		if (strcmp(scenarios[i].name, "big_2m") == 0 ||
		    strcmp(scenarios[i].name, "many_columns") == 0) {
			/* Too big for a seed: a small valid result of the same shape. */
			msg_rowdesc(&b, 1, &oid);
			result_one(&b, "1");
			a = AFTER_RFQ;
		} else {
			a = scenarios[i].build(&b);
		}
		if (a == AFTER_RFQ || a == AFTER_DRIP)
			msg_rfq(&b, 'I');
		snprintf(path, sizeof(path), "%s/%s", dir, scenarios[i].name);
		f = fopen(path, "wb");
		/* scripts/fuzz runs with -max_len=8192: a longer seed would only be cut. */
		if (b.len > 8192)
			b.len = 8192;
		if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		pgp_buf_free(&b);
	}
	return 0;
}

/* ---- main ---- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fake-pg --port PORT [--listen ADDR] [--auth ok|cleartext] "
	           "[--password PW] [--pidfile FILE] [--log FILE]\n"
	           "       fake-pg --list | --dump-seeds DIR\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},    {"listen", required_argument, NULL, 'l'},
	    {"auth", required_argument, NULL, 'a'},    {"password", required_argument, NULL, 'w'},
	    {"pidfile", required_argument, NULL, 'i'}, {"log", required_argument, NULL, 'L'},
	    {"list", no_argument, NULL, 's'},          {"dump-seeds", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct sigaction act;
	int o, lfd, one = 1;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			opt.port = atoi(optarg);
			break;
		case 'l':
			opt.listen = optarg;
			break;
		case 'a':
			opt.auth = optarg;
			break;
		case 'w':
			opt.password = optarg;
			break;
		case 'i':
			opt.pidfile = optarg;
			break;
		case 'L':
			opt.log = fopen(optarg, "a");
			if (!opt.log) {
				perror(optarg);
				return 2;
			}
			break;
		case 's':
			for (size_t i = 0; i < PGP_ARRAY_LEN(scenarios); i++)
				printf("%-20s %s\n", scenarios[i].name, scenarios[i].what);
			return 0;
		case 'd':
			return dump_seeds(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (opt.port <= 0 || (strcmp(opt.auth, "ok") != 0 && strcmp(opt.auth, "cleartext") != 0)) {
		usage(stderr);
		return 2;
	}
	if (inet_pton(AF_INET, opt.listen, &sa.sin_addr) != 1) {
		fprintf(stderr, "fake-pg: --listen takes an IPv4 address\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)opt.port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0) {
		perror("fake-pg: listen");
		return 1;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = reap;
	act.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &act, NULL);
	act.sa_handler = on_term;
	act.sa_flags = 0;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (opt.pidfile) {
		FILE *f = fopen(opt.pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	logf_("listening on %s:%d (auth %s)", opt.listen, opt.port, opt.auth);
	while (!stop) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("fake-pg: accept");
			break;
		}
		conn_no++;
		pid = fork();
		if (pid == 0) {
			close(lfd);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			/* The fake backends end with the server (also when it is killed). */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				_exit(0);
			serve(fd);
			_exit(0);
		}
		if (pid < 0)
			perror("fake-pg: fork");
		close(fd);
	}
	logf_("stopped");
	return 0;
}
