/*
 * micro: micro-benchmarks of the extension's pool layer, built from the real code
 * (ext/pgpool_{proc,pool,lease,ctl_client}.c and common/) against a running pgpool-broker.
 *
 *   micro -s SOCKET -p POOL -u USER -w PASSWORD [-n N] [-x CONTEND_POOL] [-c WORKERS] [-d SECONDS]
 *
 * Measures, each as p50/p99/max (and the mean where the timer's own cost matters):
 *   lease_release   pgpool_lease_acquire + pgpool_lease_release on the fast path: this process
 *                   already holds the slot's fd, so it is a CAS in shm and back (N iterations).
 *   lease_fd        the same when the process holds no fd: every acquire asks the broker for the
 *                   slot's socket (FD_REQ with SCM_RIGHTS); the copy is closed between iterations,
 *                   outside the timed part.
 *   contention      WORKERS processes (default 64) lease from CONTEND_POOL (e.g. 4 connections)
 *                   for SECONDS, each lease running one "SELECT 1" round trip on the leased socket
 *                   before release: the time to acquire (queueing in the FIFO ring, futex handoff)
 *                   and the leases per second overall.
 * The timer's cost (two clock_gettime calls) is measured and reported as timer_ns; per-operation
 * percentiles include it, the *_mean_ns values of batched loops do not.
 * Output: one JSON object on stdout. Exit 1 if anything failed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgp_proto.h"
#include "pgpool_proc.h"

static const char *opt_socket, *opt_pool, *opt_user, *opt_password, *opt_contend;
static long opt_n = 200000;
static int opt_workers = 64;
static double opt_seconds = 3.0;

/* ---- what the pool layer asks of its host (pgpool.c does this for PHP) ---- */
const char *pgpool_cfg_socket(void)
{
	return opt_socket;
}

uint32_t pgpool_cfg_broker_timeout_ms(void)
{
	return 5000;
}

bool pgpool_cfg_interrupted(void)
{
	return false;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, const pgpool_err *err)
{
	fprintf(stderr, "micro: %s: %s%s%s\n", what, err ? err->sqlstate : "", err ? " " : "",
	        err ? err->message : strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort v and print "name": {"p50_ns": .., "p99_ns": .., "max_ns": .., "n": ..} (no newline). */
static void print_pct(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("\"%s\": {\"n\": %zu, \"p50_ns\": %llu, \"p99_ns\": %llu, \"max_ns\": %llu}", name,
	       n, (unsigned long long)v[n / 2], (unsigned long long)v[(n * 99) / 100],
	       (unsigned long long)v[n - 1]);
}

static pgpool_pool *open_pool(const char *name)
{
	pgp_dsn_key key;
	pgpool_pool *pool;
	pgpool_err err;

	memset(&key, 0, sizeof(key));
	snprintf(key.pool, sizeof(key.pool), "%s", name);
	snprintf(key.user, sizeof(key.user), "%s", opt_user);
	if (pgpool_pool_open(&key, opt_user, opt_password, strlen(opt_password), true, &pool,
	                     &err) < 0)
		fail("pgpool_pool_open", &err);
	return pool;
}

/* Cost of the two clock reads around a timed operation (median of many). */
static uint64_t timer_cost(void)
{
	uint64_t v[10001];

	for (size_t i = 0; i < 10001; i++) {
		uint64_t t0 = now_ns();
		v[i] = now_ns() - t0;
	}
	qsort(v, 10001, sizeof(*v), cmp_u64);
	return v[5000];
}

static void bench_fast_path(pgpool_pool *pool)
{
	pgpool_lease l;
	pgpool_err err;
	uint64_t *v = malloc((size_t)opt_n * sizeof(*v)), t0, batch;

	if (v == NULL)
		fail("malloc", NULL);
	/* Warm: the first acquire fetches the fd. */
	for (int i = 0; i < 100; i++) {
		if (pgpool_lease_acquire(pool, &l, &err) < 0)
			fail("acquire", &err);
		pgpool_lease_release(&l);
	}
	for (long i = 0; i < opt_n; i++) {
		t0 = now_ns();
		if (pgpool_lease_acquire(pool, &l, &err) < 0)
			fail("acquire", &err);
		pgpool_lease_release(&l);
		v[i] = now_ns() - t0;
	}
	t0 = now_ns();
	for (long i = 0; i < opt_n; i++) {
		if (pgpool_lease_acquire(pool, &l, &err) < 0)
			fail("acquire", &err);
		pgpool_lease_release(&l);
	}
	batch = (now_ns() - t0) / (uint64_t)opt_n;
	printf("\"lease_release_mean_ns\": %llu, ", (unsigned long long)batch);
	print_pct("lease_release", v, (size_t)opt_n);
	free(v);
}

static void bench_fd_transfer(pgpool_pool *pool)
{
	long n = opt_n / 100 < 2000 ? 2000 : opt_n / 100;
	uint64_t *v = malloc((size_t)n * sizeof(*v)), t0;
	pgpool_lease l;
	pgpool_err err;

	if (v == NULL)
		fail("malloc", NULL);
	for (long i = 0; i < n; i++) {
		for (uint32_t s = 0; s < pool->nslots; s++)
			pgpool_proc_forget_fd(pool, s);
		t0 = now_ns();
		if (pgpool_lease_acquire(pool, &l, &err) < 0)
			fail("acquire", &err);
		pgpool_lease_release(&l);
		v[i] = now_ns() - t0;
	}
	print_pct("lease_fd", v, (size_t)n);
	free(v);
}

/* One "SELECT 1" round trip on a leased socket (non-blocking: poll-driven), recording the
 * protocol position in the slot as the extension does. */
static int select_one(pgpool_lease *l)
{
	static pgp_buf out;
	uint8_t in[4096];
	size_t have = 0, used;
	pgp_drain d;
	int rc;

	out.len = 0;
	if (pgp_fe_query(&out, "SELECT 1", 8) < 0)
		return -ENOMEM;
	pgpool_lease_set_pos(l, PGP_POS_WRITING);
	if (send(l->fd, out.data, out.len, MSG_NOSIGNAL) != (ssize_t)out.len)
		return -EIO;
	pgpool_lease_set_pos(l, PGP_POS_SENT);
	memset(&d, 0, sizeof(d));
	for (;;) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 10000) != 1)
			return -ETIMEDOUT;
		pgpool_lease_set_pos(l, PGP_POS_READING);
		r = recv(l->fd, in + have, sizeof(in) - have, 0);
		if (r <= 0) {
			if (r < 0 && errno == EAGAIN)
				continue;
			return -EIO;
		}
		have += (size_t)r;
		rc = pgp_drain_feed(&d, in, have, 1, &used);
		if (rc < 0)
			return rc;
		memmove(in, in + used, have - used);
		have -= used;
		if (rc == 1)
			break;
		pgpool_lease_set_pos(l, PGP_POS_SENT);
	}
	pgpool_lease_set_pos(l, PGP_POS_CLEAN);
	return d.errors ? -EPROTO : 0;
}

/* Shared between the contention workers and the parent. */
struct contend_shared {
	pthread_mutex_t warm_lock; /* one worker at a time collects the pool's fds */
	size_t cap;                /* samples per worker */
	uint64_t counts[];         /* counts[w], then cap samples per worker */
};

static int contend_worker(struct contend_shared *sh, int w, int ready_fd, int go_fd)
{
	uint64_t *samples = sh->counts + opt_workers + (size_t)w * sh->cap, end, t0;
	pgpool_lease held[64];
	pgpool_err err;
	size_t n = 0;
	char c;

	pgpool_process_init();
	pgpool_pool *pool = open_pool(opt_contend);
	/* The slot capacity may exceed the pool's size (room for a reload): lease what exists. */
	uint32_t want = atomic_load(&pgpool_priv(pool)->shm_pool->max_connections);

	if (want > 64)
		want = 64;
	/* Collect every slot's fd once, alone, so the timed part measures waiting, not transfers.
	 * The lock is robust: a worker that dies holding it does not stall the others. */
	if (pthread_mutex_lock(&sh->warm_lock) == EOWNERDEAD)
		pthread_mutex_consistent(&sh->warm_lock);
	for (uint32_t i = 0; i < want; i++)
		if (pgpool_lease_acquire(pool, &held[i], &err) < 0)
			fail("warm acquire", &err);
	for (uint32_t i = 0; i < want; i++)
		pgpool_lease_release(&held[i]);
	pthread_mutex_unlock(&sh->warm_lock);
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 0)
		return 1;
	end = now_ns() + (uint64_t)(opt_seconds * 1e9);
	while (now_ns() < end && n < sh->cap) {
		pgpool_lease l;

		t0 = now_ns();
		if (pgpool_lease_acquire(pool, &l, &err) < 0)
			fail("acquire", &err);
		samples[n++] = now_ns() - t0;
		if (select_one(&l) < 0) {
			fprintf(stderr, "micro: SELECT 1 on a leased connection failed\n");
			return 1;
		}
		pgpool_lease_release(&l);
	}
	sh->counts[w] = n;
	return 0;
}

static void bench_contention(void)
{
	size_t cap = 200000, total = 0;
	size_t size = sizeof(struct contend_shared) +
	              ((size_t)opt_workers + (size_t)opt_workers * cap) * sizeof(uint64_t);
	struct contend_shared *sh =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;
	int ready[2], go[2], bad = 0;
	uint64_t t0, elapsed;
	char c;

	if (sh == MAP_FAILED || pipe(ready) < 0 || pipe(go) < 0)
		fail("setup", NULL);
	sh->cap = cap;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&sh->warm_lock, &ma);
	fflush(stdout); /* the children must not print what the parent buffered */
	/* Nothing here may hang a benchmark run: SIGALRM ends the parent if the workers stall. */
	alarm((unsigned)(120 + opt_seconds));
	for (int w = 0; w < opt_workers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			fail("fork", NULL);
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			alarm(0);
			_exit(contend_worker(sh, w, ready[1], go[0]));
		}
	}
	close(ready[1]);
	close(go[0]);
	for (int w = 0; w < opt_workers; w++)
		if (read(ready[0], &c, 1) != 1)
			fail("a contention worker died while warming up", NULL);
	t0 = now_ns();
	close(go[1]); /* go */
	for (int w = 0; w < opt_workers; w++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	elapsed = now_ns() - t0;
	alarm(0);
	if (bad)
		fail("contention workers failed", NULL);
	for (int w = 0; w < opt_workers; w++)
		total += sh->counts[w];
	uint64_t *all = malloc(total * sizeof(*all)), waited = 0;
	size_t k = 0;

	if (all == NULL)
		fail("malloc", NULL);
	for (int w = 0; w < opt_workers; w++) {
		memcpy(all + k, sh->counts + opt_workers + (size_t)w * cap,
		       sh->counts[w] * sizeof(*all));
		k += sh->counts[w];
	}
	for (size_t i = 0; i < total; i++)
		waited += all[i] > 5000; /* above 5 us: it queued */
	printf("\"contention_workers\": %d, \"contention_leases_per_s\": %.0f, "
	       "\"contention_queued_fraction\": %.3f, ",
	       opt_workers, (double)total / ((double)elapsed / 1e9),
	       total ? (double)waited / (double)total : 0.0);
	print_pct("contention_acquire", all, total);
	free(all);
	munmap(sh, size);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:p:u:w:n:x:c:d:")) != -1) {
		switch (opt) {
		case 's':
			opt_socket = optarg;
			break;
		case 'p':
			opt_pool = optarg;
			break;
		case 'u':
			opt_user = optarg;
			break;
		case 'w':
			opt_password = optarg;
			break;
		case 'n':
			opt_n = atol(optarg);
			break;
		case 'x':
			opt_contend = optarg;
			break;
		case 'c':
			opt_workers = atoi(optarg);
			break;
		case 'd':
			opt_seconds = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (!opt_socket || !opt_pool || !opt_user || !opt_password || opt_n < 100 ||
	    opt_workers < 1 || opt_seconds <= 0)
		goto usage;

	printf("{\"timer_ns\": %llu, ", (unsigned long long)timer_cost());
	if (opt_contend) {
		/* Before this process attaches: the workers fork from a clean process. */
		bench_contention();
		printf(", ");
	}
	pgpool_process_init();
	pgpool_pool *pool = open_pool(opt_pool);
	bench_fast_path(pool);
	printf(", ");
	bench_fd_transfer(pool);
	printf("}\n");
	pgpool_process_shutdown();
	return 0;
usage:
	fprintf(stderr, "usage: micro -s SOCKET -p POOL -u USER -w PASSWORD [-n N] "
	                "[-x CONTEND_POOL] [-c WORKERS] [-d SECONDS]\n");
	return 2;
}
