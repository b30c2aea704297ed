/*
 * metrics.c: the Prometheus exposition and its HTTP endpoint (see metrics.h).
 *
 * Naming follows Prometheus' conventions: a pgpool_ prefix, counters end in _total, durations
 * are in seconds (_seconds), histograms have _bucket{le=...} (cumulative), _sum and _count.
 */
#include "metrics.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "pool.h"
#include "reqsrv.h"

#define METRICS_REQUEST_MAX 8192u
#define METRICS_TIMEOUT_MS  10000u
#define METRICS_MAX_CONNS   32u

#define OFF(field) offsetof(struct pgp_shm_pool, field)

const struct metrics_counter metrics_counters[] = {
    {"acquires", OFF(acquires), "pgpool_acquires", "Leases granted.", false},
    {"acquire_waits", OFF(acquire_waits), "pgpool_acquire_waits",
     "Lease requests that had to queue (granted or not).", false},
    {"acquire_wait_us", OFF(acquire_wait_us), "pgpool_acquire_queue_seconds",
     "Time lease requests spent queued, including waits that failed.", true},
    {"acquire_timeouts", OFF(acquire_timeouts), "pgpool_acquire_timeouts",
     "Lease requests that failed with SQLSTATE 53300 after acquire_timeout.", false},
    {"fd_transfers", OFF(fd_transfers), "pgpool_fd_transfers",
     "Backend sockets passed to worker processes (once per process and backend).", false},
    {"errors", OFF(errors), NULL, NULL, false},
    {"queries", OFF(queries), "pgpool_queries", "Round trips completed on leased connections.",
     false},
    {"query_us", OFF(query_us), NULL, NULL, true},
    {"lease_us", OFF(lease_us), NULL, NULL, true},
    {"prepared_hits", OFF(prepared_hits), NULL, NULL, false},
    {"prepared_misses", OFF(prepared_misses), NULL, NULL, false},
    {"connects", OFF(connects), "pgpool_backend_connects", "Backend connections opened.", false},
    {"connect_failures", OFF(connect_failures), "pgpool_backend_connect_failures",
     "Backend connection attempts that failed.", false},
    {"disconnects", OFF(disconnects), "pgpool_backend_disconnects", "Backend connections closed.",
     false},
    {"reclaims", OFF(reclaims), "pgpool_lease_reclaims",
     "Leases taken back from worker processes that exited or died holding them.", false},
    {"discards", OFF(discards), "pgpool_backend_discards",
     "Backend connections discarded as unusable (cut with shutdown(2)).", false},
    {"lease_wait_us", OFF(lease_wait_us), NULL, NULL, true},
    {"connect_us", OFF(connect_us), NULL, NULL, true},
    {"health_checks", OFF(health_checks), NULL, NULL, false},
    {"health_check_failures", OFF(health_check_failures), NULL, NULL, false},
};
const size_t metrics_ncounters = PGP_ARRAY_LEN(metrics_counters);

/* ---- rendering ---- */

struct metrics_hist {
	const char *name;
	const char *help;
	size_t hist_off; /* struct pgp_shm_hist in struct pgp_shm_pool */
	size_t sum_off;  /* its _sum, microseconds */
};

static const struct metrics_hist metrics_hists[] = {
    {"pgpool_acquire_wait_seconds",
     "Time from asking for a connection to getting it, for every lease granted.",
     OFF(acquire_wait_hist), OFF(lease_wait_us)},
    {"pgpool_lease_hold_seconds", "How long workers held a leased connection.", OFF(lease_hist),
     OFF(lease_us)},
    {"pgpool_query_duration_seconds",
     "Duration of round trips on leased connections (statement sent to ReadyForQuery).",
     OFF(query_hist), OFF(query_us)},
    {"pgpool_backend_connect_seconds",
     "Time to open a backend connection (TCP/Unix connect, authentication, startup).",
     OFF(connect_hist), OFF(connect_us)},
};

/* Per-pool 32-bit values of struct pgp_shm_pool shown as they are. */
struct metrics_gauge {
	const char *name;
	const char *help;
	size_t off;
};

static const struct metrics_gauge metrics_gauges[] = {
    {"pgpool_max_connections", "The pool's max_connections.", OFF(max_connections)},
    {"pgpool_min_connections", "The pool's min_connections.", OFF(min_connections)},
    {"pgpool_waiting_workers", "Workers queued for a connection right now.", OFF(waiting)},
    {"pgpool_waiting_workers_max", "Most workers ever queued at once since the broker started.",
     OFF(waiting_max)},
};

static const char *const metrics_state_names[] = {
    [PGP_SLOT_CONNECTING] = "connecting", [PGP_SLOT_IDLE] = "idle",
    [PGP_SLOT_LEASED] = "leased",         [PGP_SLOT_BUSY] = "busy",
    [PGP_SLOT_DISCARD] = "discard",       [PGP_SLOT_RESET] = "reset",
};

static const uint32_t metrics_statuses[] = {PGP_POOL_OPEN,     PGP_POOL_PAUSED,
                                            PGP_POOL_DISABLED, PGP_POOL_CIRCUIT_OPEN,
                                            PGP_POOL_DRAINING, PGP_POOL_CLOSED};

static int family(pgp_buf *b, const char *name, const char *type, const char *help)
{
	return reqsrv_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) < 0
	           ? -ENOMEM
	           : 0;
}

/* Pool names are [A-Za-z0-9_.-] (config.c), so they need no escaping in a label value. */
#define P(p) ((p)->cfg->name)

bool metrics_pool_shown(uint32_t i)
{
	const struct pool *p = &broker.pools[i];

	if (!p->in_use)
		return false; /* closed: its entry waits to be reused */
	if (!p->draining)
		return true;
	for (uint32_t j = 0; j < broker.npools; j++) {
		if (j != i && pool_active(&broker.pools[j]) &&
		    strcmp(broker.pools[j].cfg->name, p->cfg->name) == 0)
			return false;
	}
	return true;
}

uint32_t metrics_pool_next(uint32_t i)
{
	while (i < broker.npools && !metrics_pool_shown(i))
		i++;
	return i;
}

uint32_t metrics_pools_configured(void)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < broker.npools; i++)
		n += pool_active(&broker.pools[i]);
	return n;
}

/* The loops below visit the shown pools only: i = SHOWN(0) ... i = SHOWN(i + 1). */
#define SHOWN(i) metrics_pool_next(i)

static int render_broker(pgp_buf *b)
{
	struct rusage ru;
	uint64_t started = broker.shm.hdr->started_wall_us;
	long rss_pages = 0, page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");
	int rc = 0;

	if (f) {
		long size;
		/* The kernel writes two decimal numbers; anything else counts as 0. */
		if (fscanf(f, "%ld %ld", &size, &rss_pages) != 2) // NOLINT(cert-err34-c)
			rss_pages = 0;
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	rc |= family(b, "pgpool_build_info", "gauge",
	             "pgpool-broker's version and event loop (always 1).");
	rc |= reqsrv_printf(b, "pgpool_build_info{version=\"%s\",event_loop=\"%s\"} 1\n",
	                    PGP_VERSION_STRING, loop_backend_name(broker.loop)) < 0;
	rc |= family(b, "pgpool_worker_connections", "gauge",
	             "Worker processes (PHP) connected to the control socket.");
	rc |= reqsrv_printf(b, "pgpool_worker_connections %u\n", broker.nconns) < 0;
	rc |= family(b, "pgpool_pools", "gauge",
	             "Pools configured (not counting removed pools still draining).");
	rc |= reqsrv_printf(b, "pgpool_pools %u\n", metrics_pools_configured()) < 0;
	rc |= family(b, "process_start_time_seconds", "gauge",
	             "Start time of the broker since the Unix epoch in seconds.");
	rc |= reqsrv_printf(b, "process_start_time_seconds %.3f\n", (double)started / 1e6) < 0;
	rc |= family(b, "process_cpu_seconds_total", "counter",
	             "User and system CPU time of the broker in seconds.");
	rc |= reqsrv_printf(b, "process_cpu_seconds_total %.3f\n",
	                    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	                        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) < 0;
	rc |= family(b, "process_resident_memory_bytes", "gauge",
	             "Resident memory of the broker in bytes.");
	rc |= reqsrv_printf(b, "process_resident_memory_bytes %ld\n",
	                    rss_pages * (page > 0 ? page : 4096)) < 0;
	return rc ? -ENOMEM : 0;
}

static int render_gauges(pgp_buf *b)
{
	int rc = 0;

	rc |= family(b, "pgpool_pool_info", "gauge", "A configured pool and its mode (always 1).");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1))
		rc |= reqsrv_printf(b, "pgpool_pool_info{pool=\"%s\",mode=\"%s\"} 1\n",
		                    P(&broker.pools[i]),
		                    pgp_pool_mode_name(broker.pools[i].shm->mode)) < 0;
	rc |= family(b, "pgpool_pool_status", "gauge",
	             "1 for the pool's current status: open, paused, disabled, circuit_open "
	             "(backend unreachable, leases fail fast), draining (removed by a reload), "
	             "closed.");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		uint32_t st = atomic_load(&broker.pools[i].shm->status);
		for (size_t k = 0; k < PGP_ARRAY_LEN(metrics_statuses); k++)
			rc |= reqsrv_printf(b, "pgpool_pool_status{pool=\"%s\",status=\"%s\"} %d\n",
			                    P(&broker.pools[i]),
			                    pgp_pool_status_name(metrics_statuses[k]),
			                    st == metrics_statuses[k]) < 0;
	}
	rc |= family(b, "pgpool_circuit_breaker_open", "gauge",
	             "1 while the pool's circuit breaker is open (PostgreSQL unreachable).");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1))
		rc |= reqsrv_printf(
		          b, "pgpool_circuit_breaker_open{pool=\"%s\"} %d\n", P(&broker.pools[i]),
		          atomic_load(&broker.pools[i].shm->status) == PGP_POOL_CIRCUIT_OPEN) < 0;
	rc |= family(b, "pgpool_down_since_seconds", "gauge",
	             "When the circuit breaker opened (Unix time), 0 while closed.");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1))
		rc |= reqsrv_printf(
		          b, "pgpool_down_since_seconds{pool=\"%s\"} %.3f\n", P(&broker.pools[i]),
		          (double)atomic_load(&broker.pools[i].shm->down_since_wall_us) / 1e6) < 0;
	rc |= family(b, "pgpool_connections", "gauge",
	             "Backend connections by state: connecting, idle, leased (in a worker's "
	             "hands), busy (the broker checks or resets it), discard, reset.");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		uint32_t c[8];
		pool_count(&broker.pools[i], c);
		for (uint32_t st = PGP_SLOT_CONNECTING; st <= PGP_SLOT_RESET; st++)
			rc |=
			    reqsrv_printf(b, "pgpool_connections{pool=\"%s\",state=\"%s\"} %u\n",
			                  P(&broker.pools[i]), metrics_state_names[st], c[st]) < 0;
	}
	for (size_t k = 0; k < PGP_ARRAY_LEN(metrics_gauges); k++) {
		const struct metrics_gauge *g = &metrics_gauges[k];
		rc |= family(b, g->name, "gauge", g->help);
		for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
			const char *sp = (const char *)broker.pools[i].shm;
			rc |=
			    reqsrv_printf(b, "%s{pool=\"%s\"} %u\n", g->name, P(&broker.pools[i]),
			                  atomic_load((const _Atomic uint32_t *)(sp + g->off))) < 0;
		}
	}
	return rc ? -ENOMEM : 0;
}

static int render_counters(pgp_buf *b)
{
	int rc = 0;

	for (size_t k = 0; k < metrics_ncounters; k++) {
		const struct metrics_counter *mc = &metrics_counters[k];
		char name[96];

		if (!mc->metric)
			continue;
		snprintf(name, sizeof(name), "%s_total", mc->metric);
		rc |= family(b, name, "counter", mc->help);
		for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
			uint64_t v = metrics_counter_read(broker.pools[i].shm, mc);
			if (mc->micros)
				rc |= reqsrv_printf(b, "%s{pool=\"%s\"} %.6f\n", name,
				                    P(&broker.pools[i]), (double)v / 1e6) < 0;
			else
				rc |= reqsrv_printf(b, "%s{pool=\"%s\"} %llu\n", name,
				                    P(&broker.pools[i]), (unsigned long long)v) < 0;
		}
	}
	rc |= family(b, "pgpool_errors_total", "counter",
	             "Errors by kind: acquire_timeout (53300), acquire_canceled (57014 while "
	             "waiting), pool_unavailable (08004/08006: disabled, circuit open, draining), "
	             "broker (fd transfer), backend (connection lost or statement cut off), "
	             "connect (opening a backend failed), other.");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		for (uint32_t t = 0; t < PGP_ERR_TYPES; t++)
			rc |=
			    reqsrv_printf(b, "pgpool_errors_total{pool=\"%s\",type=\"%s\"} %llu\n",
			                  P(&broker.pools[i]), pgp_err_type_name(t),
			                  (unsigned long long)atomic_load(
			                      &broker.pools[i].shm->errors_by_type[t])) < 0;
	}
	rc |= family(b, "pgpool_prepared_statements_total", "counter",
	             "Executions of prepared statements: hit (already prepared on the backend, "
	             "Parse skipped) or miss (Parse sent).");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		struct pgp_shm_pool *sp = broker.pools[i].shm;
		rc |= reqsrv_printf(b,
		                    "pgpool_prepared_statements_total{pool=\"%s\",result=\"hit\"} "
		                    "%llu\n"
		                    "pgpool_prepared_statements_total{pool=\"%s\",result=\"miss\"} "
		                    "%llu\n",
		                    P(&broker.pools[i]),
		                    (unsigned long long)atomic_load(&sp->prepared_hits),
		                    P(&broker.pools[i]),
		                    (unsigned long long)atomic_load(&sp->prepared_misses)) < 0;
	}
	rc |= family(b, "pgpool_health_checks_total", "counter",
	             "Health checks of idle backend connections by result (ok, failed).");
	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		struct pgp_shm_pool *sp = broker.pools[i].shm;
		uint64_t all = atomic_load(&sp->health_checks);
		uint64_t failed = atomic_load(&sp->health_check_failures);
		rc |=
		    reqsrv_printf(
		        b,
		        "pgpool_health_checks_total{pool=\"%s\",result=\"ok\"} %llu\n"
		        "pgpool_health_checks_total{pool=\"%s\",result=\"failed\"} %llu\n",
		        P(&broker.pools[i]), (unsigned long long)(all > failed ? all - failed : 0),
		        P(&broker.pools[i]), (unsigned long long)failed) < 0;
	}
	return rc ? -ENOMEM : 0;
}

static int render_hist(pgp_buf *b, const struct metrics_hist *h)
{
	int rc = family(b, h->name, "histogram", h->help);

	for (uint32_t i = SHOWN(0); i < broker.npools; i = SHOWN(i + 1)) {
		const char *sp = (const char *)broker.pools[i].shm;
		const struct pgp_shm_hist *hist = (const struct pgp_shm_hist *)(sp + h->hist_off);
		uint64_t cum = 0;

		for (unsigned k = 0; k <= PGP_HIST_BOUNDS; k++) {
			cum += atomic_load_explicit(&hist->bucket[k], memory_order_relaxed);
			if (k < PGP_HIST_BOUNDS)
				rc |= reqsrv_printf(b, "%s_bucket{pool=\"%s\",le=\"%g\"} %llu\n",
				                    h->name, P(&broker.pools[i]),
				                    (double)pgp_hist_bounds_us[k] / 1e6,
				                    (unsigned long long)cum) < 0;
			else
				rc |= reqsrv_printf(b, "%s_bucket{pool=\"%s\",le=\"+Inf\"} %llu\n",
				                    h->name, P(&broker.pools[i]),
				                    (unsigned long long)cum) < 0;
		}
		rc |= reqsrv_printf(
		          b, "%s_sum{pool=\"%s\"} %.6f\n%s_count{pool=\"%s\"} %llu\n", h->name,
		          P(&broker.pools[i]),
		          (double)atomic_load((const _Atomic uint64_t *)(sp + h->sum_off)) / 1e6,
		          h->name, P(&broker.pools[i]), (unsigned long long)cum) < 0;
	}
	return rc ? -ENOMEM : 0;
}

int metrics_render(pgp_buf *b)
{
	if (render_broker(b) < 0 || render_gauges(b) < 0 || render_counters(b) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < PGP_ARRAY_LEN(metrics_hists); k++) {
		if (render_hist(b, &metrics_hists[k]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- HTTP ---- */

static long metrics_complete(const char *in, size_t len);
static void metrics_handle(struct reqconn *c, const char *req, size_t len);
static void metrics_bad(struct reqconn *c, bool too_large);

static struct reqsrv metrics_srv = {
    .what = "metrics",
    .max_request = METRICS_REQUEST_MAX,
    .timeout_ms = METRICS_TIMEOUT_MS,
    .max_conns = METRICS_MAX_CONNS,
    .complete = metrics_complete,
    .handle = metrics_handle,
    .bad = metrics_bad,
    .fd = -1,
};

static char metrics_bound[128];

const char *metrics_address(void)
{
	return metrics_bound[0] ? metrics_bound : NULL;
}

/* The request ends with an empty line (CRLF CRLF; a bare LF LF is accepted too). */
static long metrics_complete(const char *in, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (in[i] == '\0')
			return -1;
		if (in[i] == '\n' && in[i + 1] == '\n')
			return (long)i + 2;
		if (i + 3 < len && memcmp(in + i, "\r\n\r\n", 4) == 0)
			return (long)i + 4;
	}
	return 0;
}

static void metrics_reply(struct reqconn *c, const char *status, const char *ctype,
                          const char *extra, const pgp_buf *body, bool head)
{
	c->out.len = 0;
	if (reqsrv_printf(&c->out,
	                  "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                  "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
	                  status, ctype, body->len, extra ? extra : "") < 0 ||
	    (!head && body->len && pgp_buf_append(&c->out, body->data, body->len) < 0))
		c->out.len = 0;
}

static void metrics_text(struct reqconn *c, const char *status, const char *text, const char *extra,
                         bool head)
{
	pgp_buf body = {0};

	if (reqsrv_printf(&body, "%s\n", text) >= 0)
		metrics_reply(c, status, "text/plain; charset=utf-8", extra, &body, head);
	pgp_buf_free(&body);
}

static void metrics_bad(struct reqconn *c, bool too_large)
{
	if (too_large)
		metrics_text(c, "431 Request Header Fields Too Large", "request too large", NULL,
		             false);
	else
		metrics_text(c, "400 Bad Request", "bad request", NULL, false);
}

static void metrics_handle(struct reqconn *c, const char *req, size_t len)
{
	char line[512], method[16], target[400], version[16];
	const char *eol = memchr(req, '\n', len);
	size_t n = eol ? (size_t)(eol - req) : len;
	bool head;
	char *q;

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, req, n);
	line[n] = '\0';
	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	if (sscanf(line, "%15s %399s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		metrics_bad(c, false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		metrics_text(c, "405 Method Not Allowed", "only GET and HEAD",
		             "Allow: GET, HEAD\r\n", false);
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, "/metrics") == 0) {
		pgp_buf body = {0};
		if (metrics_render(&body) < 0)
			metrics_text(c, "500 Internal Server Error", "out of memory", NULL, head);
		else
			metrics_reply(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", NULL,
			              &body, head);
		pgp_buf_free(&body);
	} else if (strcmp(target, "/") == 0) {
		metrics_text(c, "200 OK", "pgpool-broker: metrics at /metrics", NULL, head);
	} else {
		metrics_text(c, "404 Not Found", "not found: metrics are at /metrics", NULL, head);
	}
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" (every address) into host (NULL: any) and port. */
static int metrics_split(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t hl;

	if (!colon || !colon[1])
		return -EINVAL;
	*port = colon + 1;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= hostlen)
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	return 0;
}

int metrics_listen(void)
{
	const char *spec = broker.cfg.metrics;
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sslen = sizeof(ss);
	char host[NI_MAXHOST], bhost[NI_MAXHOST], bport[NI_MAXSERV];
	const char *port;
	int fd = -1, rc, one = 1;

	if (!spec[0])
		return 0;
	if (metrics_split(spec, host, sizeof(host), &port) < 0) {
		log_error("metrics = %s: expected HOST:PORT", spec);
		return -EINVAL;
	}
	rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		log_error("metrics = %s: %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		rc = -errno;
		log_error("metrics = %s: cannot listen: %s", spec, strerror(errno));
		goto fail;
	}
	freeaddrinfo(ai);
	ai = NULL;
	if (getnameinfo((struct sockaddr *)&ss, sslen, bhost, sizeof(bhost), bport, sizeof(bport),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(bhost, sizeof(bhost), "?"), snprintf(bport, sizeof(bport), "?");
	snprintf(metrics_bound, sizeof(metrics_bound),
	         ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", bhost, bport);
	rc = reqsrv_start(&metrics_srv, fd);
	if (rc)
		goto fail;
	log_info("metrics: http://%s/metrics", metrics_bound);
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (fd >= 0)
		close(fd);
	metrics_bound[0] = '\0';
	return rc;
}

void metrics_stop(void)
{
	reqsrv_stop(&metrics_srv);
	metrics_bound[0] = '\0';
}
