/*
 * fcgi-load: a closed-loop FastCGI load generator that talks to php-fpm directly (no web server,
 * no process spawned per request), for the benchmark and the php-fpm tests.
 *
 *   fcgi-load -s SOCKET|HOST:PORT -f SCRIPT [-c CONNS] [-n REQUESTS | -d SECONDS] [-w WARMUP_S]
 *             [-q QUERY] [-e EXPECT] [-k] [-t] [-j]
 *
 * Each of CONNS clients keeps exactly one request in flight. Like nginx by default, every request
 * uses a new connection (so more clients than php-fpm workers queue in the listen backlog); with
 * -k a client keeps its connection (FCGI_KEEP_CONN) and php-fpm pins one worker to it, so CONNS
 * must not exceed the workers. QUERY is the QUERY_STRING; "{id}" in it
 * is replaced by a token unique to the request, and with -t the response body must contain that
 * token (proves that no response went to the wrong request). A response counts as an error if the
 * body lacks EXPECT, carries a "Status: 5xx" header, or php-fpm ends it abnormally.
 * Prints one line of key=value results (or JSON with -j): requests, errors, seconds, rps,
 * p50_ms, p90_ms, p99_ms, max_ms, and cpu_s (this generator's own CPU time, user + system).
 * Exit status 1 if any request failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
	FCGI_BEGIN = 1,
	FCGI_END = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7
};

struct conn {
	int fd;
	uint16_t reqid;
	uint64_t started_ns;
	uint64_t seq;
	char token[48];
	unsigned char *in; /* response bytes */
	size_t in_len, in_cap;
	unsigned char *body; /* STDOUT content */
	size_t body_len, body_cap;
	int stderr_seen;
};

static const char *opt_sock, *opt_script, *opt_query = "", *opt_expect;
static int opt_conns = 16, opt_token, opt_json, opt_keep;
static long opt_requests = 0;
static double opt_duration = 0, opt_warmup = 0;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void grow(unsigned char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 4096;
	*p = realloc(*p, *cap);
	if (*p == NULL)
		die("realloc");
}

static int connect_fpm(void)
{
	int fd;

	if (strchr(opt_sock, '/') != NULL) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		if (strlen(opt_sock) >= sizeof(sa.sun_path))
			die("socket path too long");
		strcpy(sa.sun_path, opt_sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect");
	} else {
		char host[256], *colon;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
		int one = 1;

		snprintf(host, sizeof(host), "%s", opt_sock);
		colon = strrchr(host, ':');
		if (colon == NULL)
			die("-s needs a socket path or HOST:PORT");
		*colon = 0;
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			die("getaddrinfo");
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die("connect");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(ai);
	}
	return fd;
}

static size_t put_record(unsigned char *p, int type, uint16_t id, const void *data, size_t len)
{
	p[0] = 1;
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
	p[4] = (unsigned char)(len >> 8);
	p[5] = (unsigned char)len;
	p[6] = 0;
	p[7] = 0;
	if (len)
		memcpy(p + 8, data, len);
	return 8 + len;
}

static size_t put_param(unsigned char *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), n = 0;

	/* Short lengths only: every name and value here is below 128 bytes except perhaps the
	 * query, which is capped when built. */
	p[n++] = (unsigned char)nl;
	if (vl < 128) {
		p[n++] = (unsigned char)vl;
	} else {
		p[n++] = (unsigned char)(0x80 | (vl >> 24));
		p[n++] = (unsigned char)(vl >> 16);
		p[n++] = (unsigned char)(vl >> 8);
		p[n++] = (unsigned char)vl;
	}
	memcpy(p + n, name, nl);
	memcpy(p + n + nl, value, vl);
	return n + nl + vl;
}

static void send_request(struct conn *c, int idx)
{
	unsigned char buf[8192], params[6144];
	char query[2048], *at;
	size_t n = 0, pl = 0;
	unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}; /* role RESPONDER */
	ssize_t w;

	begin[2] = opt_keep ? 1 : 0; /* FCGI_KEEP_CONN */

	c->seq++;
	c->reqid = 1;
	snprintf(c->token, sizeof(c->token), "%d-%llu-%d", idx, (unsigned long long)c->seq,
	         (int)getpid());
	at = strstr(opt_query, "{id}");
	if (at != NULL)
		snprintf(query, sizeof(query), "%.*s%s%s", (int)(at - opt_query), opt_query,
		         c->token, at + 4);
	else
		snprintf(query, sizeof(query), "%s", opt_query);
	pl += put_param(params + pl, "SCRIPT_FILENAME", opt_script);
	pl += put_param(params + pl, "SCRIPT_NAME", "/bench.php");
	pl += put_param(params + pl, "REQUEST_URI", "/bench.php");
	pl += put_param(params + pl, "DOCUMENT_URI", "/bench.php");
	pl += put_param(params + pl, "QUERY_STRING", query);
	pl += put_param(params + pl, "REQUEST_METHOD", "GET");
	pl += put_param(params + pl, "SERVER_PROTOCOL", "HTTP/1.1");
	pl += put_param(params + pl, "GATEWAY_INTERFACE", "CGI/1.1");
	pl += put_param(params + pl, "SERVER_SOFTWARE", "fcgi-load");
	pl += put_param(params + pl, "SERVER_NAME", "localhost");
	pl += put_param(params + pl, "SERVER_PORT", "80");
	pl += put_param(params + pl, "REMOTE_ADDR", "127.0.0.1");
	pl += put_param(params + pl, "CONTENT_LENGTH", "0");
	n += put_record(buf + n, FCGI_BEGIN, c->reqid, begin, sizeof(begin));
	n += put_record(buf + n, FCGI_PARAMS, c->reqid, params, pl);
	n += put_record(buf + n, FCGI_PARAMS, c->reqid, NULL, 0);
	n += put_record(buf + n, FCGI_STDIN, c->reqid, NULL, 0);
	c->in_len = 0;
	c->body_len = 0;
	c->stderr_seen = 0;
	c->started_ns = now_ns();
	for (size_t off = 0; off < n; off += (size_t)w) {
		w = write(c->fd, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				w = 0;
			else
				die("write");
		}
	}
}

/* Consume complete records; returns 1 when END_REQUEST arrived (ok in *ok), 0 if more needed. */
static int parse_records(struct conn *c, int *ok)
{
	size_t off = 0;

	while (c->in_len - off >= 8) {
		unsigned char *h = c->in + off;
		size_t clen = ((size_t)h[4] << 8) | h[5], total = 8 + clen + h[6];

		if (c->in_len - off < total)
			break;
		if (h[1] == FCGI_STDOUT) {
			grow(&c->body, &c->body_cap, c->body_len + clen + 1);
			memcpy(c->body + c->body_len, h + 8, clen);
			c->body_len += clen;
			c->body[c->body_len] = 0;
		} else if (h[1] == FCGI_STDERR && clen > 0) {
			c->stderr_seen = 1;
		} else if (h[1] == FCGI_END) {
			*ok = clen >= 8 && h[12] == 0 && h[8] == 0 && h[9] == 0 && h[10] == 0 &&
			      h[11] == 0;
			off += total;
			memmove(c->in, c->in + off, c->in_len - off);
			c->in_len -= off;
			return 1;
		}
		off += total;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: fcgi-load -s SOCKET|HOST:PORT -f SCRIPT [-c CONNS] "
	                "[-n REQUESTS | -d SECONDS] [-w WARMUP_S] [-q QUERY] [-e EXPECT] [-k] [-t] "
	                "[-j]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct conn *conns;
	struct epoll_event ev, evs[64];
	uint64_t *lat, start, end_at = 0, measure_from;
	size_t nlat = 0, cap_lat = 1 << 16;
	long done = 0, errors = 0, sent = 0, printed_errors = 0;
	int ep, opt, i;

	while ((opt = getopt(argc, argv, "s:f:c:n:d:w:q:e:ktj")) != -1) {
		switch (opt) {
		case 's':
			opt_sock = optarg;
			break;
		case 'f':
			opt_script = optarg;
			break;
		case 'c':
			opt_conns = atoi(optarg);
			break;
		case 'n':
			opt_requests = atol(optarg);
			break;
		case 'd':
			opt_duration = atof(optarg);
			break;
		case 'w':
			opt_warmup = atof(optarg);
			break;
		case 'q':
			opt_query = optarg;
			break;
		case 'e':
			opt_expect = optarg;
			break;
		case 'k':
			opt_keep = 1;
			break;
		case 't':
			opt_token = 1;
			break;
		case 'j':
			opt_json = 1;
			break;
		default:
			usage();
		}
	}
	if (opt_sock == NULL || opt_script == NULL || opt_conns <= 0 ||
	    (opt_requests <= 0 && opt_duration <= 0))
		usage();
	conns = calloc((size_t)opt_conns, sizeof(*conns));
	lat = malloc(cap_lat * sizeof(*lat));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || lat == NULL || ep < 0)
		die("setup");
	start = now_ns();
	measure_from = start + (uint64_t)(opt_warmup * 1e9);
	if (opt_duration > 0)
		end_at = measure_from + (uint64_t)(opt_duration * 1e9);
	for (i = 0; i < opt_conns; i++) {
		conns[i].fd = connect_fpm();
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
			die("epoll_ctl");
		if (opt_requests <= 0 || sent < opt_requests) {
			send_request(&conns[i], i);
			sent++;
		}
	}
	for (long inflight = sent; inflight > 0;) {
		int n = epoll_wait(ep, evs, 64, 30000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "fcgi-load: no response for 30 s (%ld in flight)\n",
			        inflight);
			return 2;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = &conns[evs[k].data.u32];
			ssize_t r;
			int ok = 0;

			grow(&c->in, &c->in_cap, c->in_len + 65536);
			r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fprintf(stderr,
				        "fcgi-load: php-fpm closed a connection mid-request\n");
				return 2;
			}
			c->in_len += (size_t)r;
			if (!parse_records(c, &ok))
				continue;
			inflight--;
			uint64_t t = now_ns();
			const char *body = c->body ? (const char *)c->body : "";
			const char *hdr_end = strstr(body, "\r\n\r\n");
			const char *status = strstr(body, "Status: 5");
			if (!ok || (status != NULL && (hdr_end == NULL || status < hdr_end)) ||
			    (opt_expect && !strstr(body, opt_expect)) ||
			    (opt_token && !strstr(body, c->token))) {
				errors++;
				if (printed_errors++ < 3)
					fprintf(stderr, "fcgi-load: bad response to %s: %.400s\n",
					        c->token, body);
			}
			if (c->started_ns >= measure_from) {
				if (nlat == cap_lat) {
					cap_lat *= 2;
					lat = realloc(lat, cap_lat * sizeof(*lat));
					if (lat == NULL)
						die("realloc");
				}
				lat[nlat++] = t - c->started_ns;
			}
			done++;
			if (!opt_keep) {
				/* php-fpm closes after the request; a new connection per request.
				 */
				close(c->fd);
				c->fd = connect_fpm();
				ev.events = EPOLLIN;
				ev.data.u32 = evs[k].data.u32;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
					die("epoll_ctl");
			}
			if ((opt_requests > 0 && sent < opt_requests) ||
			    (opt_requests <= 0 && t < end_at)) {
				send_request(c, (int)evs[k].data.u32);
				sent++;
				inflight++;
			}
		}
	}
	double secs = (double)(now_ns() - (opt_warmup > 0 ? measure_from : start)) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
#define PCT(p) (nlat ? (double)lat[(size_t)((double)(nlat - 1) * (p))] / 1e6 : 0.0)
	if (opt_json)
		printf("{\"requests\": %zu, \"errors\": %ld, \"seconds\": %.3f, \"rps\": %.1f, "
		       "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
		       "\"cpu_s\": %.3f}\n",
		       nlat, errors, secs, nlat / secs, PCT(0.50), PCT(0.90), PCT(0.99), PCT(1.0),
		       cpu);
	else
		printf("requests=%zu errors=%ld seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f "
		       "p99_ms=%.3f max_ms=%.3f cpu_s=%.3f\n",
		       nlat, errors, secs, nlat / secs, PCT(0.50), PCT(0.90), PCT(0.99), PCT(1.0),
		       cpu);
	(void)done;
	return errors ? 1 : 0;
}
