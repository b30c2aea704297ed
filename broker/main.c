/*
 * main.c: pgpool-broker's command line, startup order and shutdown order.
 *
 * Startup: config -> signals -> loop -> shm (created, filled, published) -> cancel thread ->
 * control socket -> janitor -> prefill -> READY=1 when every pool is prefilled.
 * Shutdown (SIGTERM graceful, SIGINT fast): stop accepting and remove the socket, mark shm
 * STOPPING and pools closed for new leases, close idle backends (Terminate), wait for leased
 * ones up to shutdown_timeout, then shutdown(2) the rest; close worker connections, remove shm.
 */
#include "main.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "broker.h"
#include "cancel.h"
#include "janitor.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pool.h"
#include "reload.h"
#include "server.h"
#include "shm.h"
#include "worker.h"

struct broker broker = {.listen_fd = -1};

static int signal_fd = -1;
static struct loop_req *signal_req;

static void usage(FILE *f)
{
	fprintf(f, "usage: pgpool-broker -c FILE [--check]\n"
	           "       pgpool-broker --version | --help\n\n"
	           "  -c, --config FILE  configuration file (INI); runs in the foreground, logs to "
	           "stderr\n"
	           "      --check        validate the configuration, print the pools, and exit\n"
	           "  -V, --version      print the version and exit\n"
	           "  -h, --help         this help\n\n"
	           "Signals: SIGTERM graceful shutdown (bounded by shutdown_timeout), SIGINT fast "
	           "shutdown.\n");
}

static void print_check(const struct config *cfg)
{
	char dsn[1024];

	printf("%s: ok: socket %s (mode %04o%s%s), shm %s, event_loop %s, log_level %s\n",
	       cfg->path, cfg->socket, (unsigned)cfg->socket_mode,
	       cfg->has_socket_group ? ", group " : "",
	       cfg->has_socket_group ? cfg->socket_group : "", cfg->shm_name,
	       config_loop_name(cfg->event_loop), log_level_config_name(cfg->log_level));
	printf("admin socket %s%s%s, metrics %s\n", cfg->admin_socket ? cfg->admin_socket : "off",
	       cfg->has_admin_group ? ", admin_group " : "",
	       cfg->has_admin_group ? cfg->admin_group : "",
	       cfg->metrics[0] ? cfg->metrics : "off");
	for (uint32_t i = 0; i < cfg->npools; i++) {
		const struct config_pool *p = &cfg->pools[i];
		config_redact_dsn(p, dsn, sizeof(dsn));
		printf("pool %s: dsn \"%s\" min=%u max=%u mode=%s acquire_timeout=%ums "
		       "password from %s\n",
		       p->name, dsn, p->min_connections, p->max_connections,
		       pgp_pool_mode_name(p->mode), p->acquire_timeout_ms,
		       p->password_source ? p->password_source : "nowhere (auth = peer, none set)");
		printf("pool %s: idle_timeout=%ums max_lifetime=%ums health_check_period=%ums "
		       "validate_after_idle=%ums circuit_breaker_threshold=%u "
		       "connect_retry_max=%ums\n",
		       p->name, p->idle_timeout_ms, p->max_lifetime_ms, p->health_check_period_ms,
		       p->validate_after_idle_ms, p->breaker_threshold, p->connect_retry_max_ms);
	}
}

void main_check_ready(void)
{
	char msg[128];

	if (broker.ready_notified || broker.state != BROKER_RUNNING || !pool_all_prefilled())
		return;
	broker.ready_notified = true;
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %u pool(s) on %s", broker.npools,
	         broker.cfg.socket);
	if (notify_send(msg) < 0)
		log_warn("cannot notify systemd (NOTIFY_SOCKET)");
	log_info("ready: every pool is prefilled");
}

void main_check_stopped(void)
{
	if (broker.state != BROKER_STOPPING)
		return;
	for (uint32_t i = 0; i < broker.nservers; i++) {
		if (broker.servers[i].phase != SERVER_EMPTY)
			return;
	}
	loop_stop(broker.loop);
}

void main_stop(bool fast)
{
	uint64_t now = pgp_now_us();

	if (broker.state == BROKER_RUNNING) {
		broker.state = BROKER_STOPPING;
		broker.stop_deadline_us = now + (uint64_t)broker.cfg.shutdown_timeout_ms * 1000u;
		log_info("shutting down (%s)", fast ? "fast" : "graceful, waiting for leases");
		(void)notify_send("STOPPING=1");
		worker_stop_listening();
		shm_set_state(PGP_SHM_STOPPING);
		for (uint32_t i = 0; i < broker.npools; i++) {
			struct pool *p = &broker.pools[i];
			atomic_store(&p->shm->status, PGP_POOL_DISABLED);
			(void)pgp_pool_cancel_waiters(&broker.shm, p->shm, 0);
		}
		for (uint32_t i = 0; i < broker.nservers; i++) {
			if (broker.servers[i].phase == SERVER_CONNECTING)
				server_close(&broker.servers[i], false, "broker shutting down");
		}
	} else if (broker.state != BROKER_STOPPING) {
		return;
	}
	if (fast)
		broker.stop_deadline_us = now;
	/* Close idle backends now (and everything, if fast). */
	janitor_run();
	main_check_stopped();
}

static void signal_event(void *ctx, struct loop_req *req, const struct loop_result *r);

static void signal_arm(void)
{
	signal_req = loop_poll(broker.loop, signal_fd, POLLIN, signal_event, NULL);
	if (!signal_req)
		log_error("cannot watch signals: %s", strerror(errno));
}

static void signal_event(void *ctx, struct loop_req *req, const struct loop_result *r)
{
	struct signalfd_siginfo si;

	(void)ctx;
	(void)req;
	(void)r;
	signal_req = NULL;
	while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
			log_info("SIGTERM received from pid %u", si.ssi_pid);
			main_stop(false);
			break;
		case SIGINT:
			log_info("SIGINT received");
			main_stop(true);
			break;
		case SIGHUP:
			notify_reloading();
			log_info("SIGHUP received: reloading %s", broker.cfg.path);
			reload_config();
			notify_reloaded();
			break;
		}
	}
	signal_arm();
}

static int signals_init(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return signal_fd < 0 ? -errno : 0;
}

static int run(void)
{
	int rc;

	rc = loop_create(broker.cfg.event_loop, &broker.loop);
	if (rc)
		return rc;
	log_info("pgpool-broker %s starting: event loop %s, %u pool(s)", PGP_VERSION_STRING,
	         loop_backend_name(broker.loop), broker.cfg.npools);
	signal_arm();
	/* Room for every pool a reload may add, and slots for pools to grow (pool.c). */
	rc = shm_create(PGP_MAX_POOLS, pool_slot_capacity(&broker.cfg));
	if (rc)
		goto out;
	rc = pool_init_all();
	if (rc)
		goto out;
	for (uint32_t i = 0; i < broker.npools; i++) {
		const struct config_pool *pc = broker.pools[i].cfg;
		char dsn[1024];
		config_redact_dsn(pc, dsn, sizeof(dsn));
		log_msg(LOG_INFO, pc->name, LOG_NO_SLOT,
		        "dsn \"%s\" min=%u max=%u mode=%s acquire_timeout=%ums", dsn,
		        pc->min_connections, pc->max_connections, pgp_pool_mode_name(pc->mode),
		        pc->acquire_timeout_ms);
	}
	shm_publish();
	rc = cancel_init();
	if (rc == 0)
		rc = server_init();
	if (rc) {
		log_error("cannot start the helper threads: %s", strerror(-rc));
		goto out;
	}
	rc = worker_listen();
	if (rc == 0)
		rc = admin_listen();
	if (rc == 0)
		rc = metrics_listen();
	if (rc)
		goto out;
	broker.state = BROKER_RUNNING;
	janitor_start();
	for (uint32_t i = 0; i < broker.npools; i++) {
		pool_fill(&broker.pools[i]);
	}
	main_check_ready();
	notify_status_start();
	rc = loop_run(broker.loop);
	if (rc)
		log_error("event loop failed: %s", strerror(-rc));
	broker.state = BROKER_STOPPED;
out:
	notify_status_stop();
	metrics_stop();
	admin_stop();
	janitor_stop();
	worker_stop_listening();
	worker_close_all();
	for (uint32_t i = 0; i < broker.nservers; i++) {
		if (broker.servers[i].phase != SERVER_EMPTY)
			server_close(&broker.servers[i], true, "broker exiting");
	}
	server_fini();
	cancel_fini();
	pool_fini_all();
	shm_destroy();
	loop_cancel(broker.loop, signal_req);
	signal_req = NULL;
	loop_destroy(broker.loop);
	broker.loop = NULL;
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'k'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check = false;
	char err[1024];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'V':
			printf("pgpool-broker %s\n", PGP_VERSION_STRING);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = config_load(path, &broker.cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pgpool-broker: %s\n", err);
		return 1;
	}
	if (check) {
		print_check(&broker.cfg);
		config_free(&broker.cfg);
		return 0;
	}
	log_set_level(broker.cfg.log_level);
	srandom((unsigned)(pgp_wall_us() ^ (uint64_t)getpid()));
	rc = signals_init();
	if (rc) {
		log_error("cannot set up signal handling: %s", strerror(-rc));
		config_free(&broker.cfg);
		return 1;
	}
	rc = run();
	close(signal_fd);
	config_free(&broker.cfg);
	return rc ? 1 : 0;
}
