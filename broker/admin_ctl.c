/*
 * admin_ctl.c: the admin commands that act: flush, pause/resume, enable/disable, reconnect,
 * reload, shutdown.
 *
 * Recycling "as a connection becomes idle" (flush gracefully, reconnect) marks the backend by
 * (global slot, generation) and looks again every 100 ms while marks are pending: a marked
 * backend that is IDLE is taken (CAS to BUSY, so a worker leasing it at the same moment wins and
 * the broker tries again later) and closed politely. Generations are never reused, so a mark
 * cannot hit the next backend of the slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"
#include "broker.h"
#include "log.h"
#include "main.h"
#include "metrics.h"
#include "notify.h"
#include "pool.h"
#include "reload.h"
#include "server.h"
#include "shm.h"
#include "worker.h"

#define ADMIN_RECYCLE_PERIOD_US 100000u

enum recycle_mode {
	RECYCLE_NONE = 0,
	RECYCLE_CLOSE = 1,   /* close when idle (flush gracefully / all) */
	RECYCLE_REPLACE = 2, /* close when idle and connect a new one in its place (reconnect) */
};

struct recycle_mark {
	uint32_t gen;
	uint32_t mode;
};

static struct recycle_mark *marks; /* by global slot index */
static uint32_t nmarks;
static uint32_t npending;
static struct loop_timer recycle_timer;

static void recycle_tick(void *ctx, struct loop_timer *t);

bool admin_recycle_pending(uint32_t global_slot, uint32_t gen)
{
	return global_slot < nmarks && marks[global_slot].mode != RECYCLE_NONE &&
	       marks[global_slot].gen == gen;
}

static int recycle_mark(uint32_t global_slot, uint32_t gen, enum recycle_mode mode)
{
	if (global_slot >= nmarks) {
		/* A reload may have grown the slot array since the last mark. */
		uint32_t n = broker.nservers > global_slot ? broker.nservers : global_slot + 1;
		struct recycle_mark *m = realloc(marks, n * sizeof(*m));
		if (!m)
			return -ENOMEM;
		memset(m + nmarks, 0, (n - nmarks) * sizeof(*m));
		marks = m;
		nmarks = n;
	}
	if (marks[global_slot].mode == RECYCLE_NONE)
		npending++;
	marks[global_slot].gen = gen;
	marks[global_slot].mode = mode;
	/* In use: its owner hands it back at release, even with workers queued (pool_retire). */
	if (global_slot < broker.nservers && broker.servers[global_slot].gen == gen)
		pool_retire(&broker.servers[global_slot],
		            mode == RECYCLE_REPLACE ? "recycled by an administrator (reconnect)"
		                                    : "flushed by an administrator when released",
		            mode == RECYCLE_REPLACE);
	if (!recycle_timer.armed)
		loop_timer_start(broker.loop, &recycle_timer, ADMIN_RECYCLE_PERIOD_US, recycle_tick,
		                 NULL);
	return 0;
}

static void recycle_clear(uint32_t global_slot)
{
	if (marks[global_slot].mode != RECYCLE_NONE)
		npending--;
	marks[global_slot].mode = RECYCLE_NONE;
	marks[global_slot].gen = 0;
}

/* Close a backend the broker holds in BUSY; `replace` connects a new one in the same slot. */
static void admin_close_held(struct server *s, bool replace, const char *why)
{
	server_close(s, false, why);
	/* The pool may already have started refilling this very slot (pool_fill). */
	if (replace && s->phase == SERVER_EMPTY && broker.state == BROKER_RUNNING &&
	    server_connect(s) < 0)
		log_msg(LOG_DEBUG, s->pool->cfg->name, s->index,
		        "replacement connect failed at once");
}

/* An IDLE backend is taken and closed now: true. Leased or busy: false. */
static bool admin_close_if_idle(struct server *s, bool replace, const char *why)
{
	uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen);

	if (s->phase != SERVER_READY || atomic_load(&s->slot->word) != idle ||
	    server_hold(s, idle) != 0)
		return false;
	admin_close_held(s, replace, why);
	return true;
}

static void recycle_run(void)
{
	for (uint32_t i = 0; i < nmarks && npending > 0; i++) {
		struct recycle_mark *m = &marks[i];
		struct server *s;

		if (m->mode == RECYCLE_NONE)
			continue;
		if (i >= broker.nservers) {
			recycle_clear(i);
			continue;
		}
		s = &broker.servers[i];
		if (s->gen != m->gen || s->phase == SERVER_EMPTY) {
			recycle_clear(i); /* that backend is gone already */
			continue;
		}
		if (admin_close_if_idle(s, m->mode == RECYCLE_REPLACE,
		                        m->mode == RECYCLE_REPLACE
		                            ? "recycled by an administrator (reconnect)"
		                            : "flushed by an administrator when released"))
			recycle_clear(i);
	}
}

static void recycle_tick(void *ctx, struct loop_timer *t)
{
	(void)ctx;
	(void)t;
	if (broker.state != BROKER_RUNNING) {
		/* Shutting down: every backend closes anyway. */
		while (nmarks > 0)
			recycle_clear(--nmarks);
		return;
	}
	recycle_run();
	if (npending > 0)
		loop_timer_start(broker.loop, &recycle_timer, ADMIN_RECYCLE_PERIOD_US, recycle_tick,
		                 NULL);
}

void admin_ctl_stop(void)
{
	loop_timer_stop(broker.loop, &recycle_timer);
	free(marks);
	marks = NULL;
	nmarks = 0;
	npending = 0;
}

/* ---- flush and reconnect ---- */

/* Cut a backend that is in use: the holder's statement fails with a connection error. */
static bool admin_cut(struct server *s)
{
	uint64_t busy = pgp_slot_word(PGP_SLOT_BUSY, 0, s->gen);

	for (int tries = 0; tries < 8; tries++) {
		uint64_t w = atomic_load(&s->slot->word);
		if (pgp_slot_word_gen(w) != s->gen || s->phase != SERVER_READY)
			return false;
		if (atomic_compare_exchange_strong(&s->slot->word, &w, busy)) {
			server_stop_io(s);
			s->phase = SERVER_BUSY;
			server_close(s, true, "flush all by an administrator: cut while in use");
			return true;
		}
	}
	return false;
}

struct flush_count {
	uint32_t closed, marked, cut;
};

static int admin_flush_pool(struct admin_ctx *x, struct pool *p, const char *how,
                            struct flush_count *n)
{
	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];

		if (s->phase == SERVER_EMPTY || s->phase == SERVER_CONNECTING)
			continue;
		if (admin_close_if_idle(s, false, "flushed by an administrator")) {
			n->closed++;
			continue;
		}
		if (strcmp(how, "idle") == 0)
			continue;
		if (strcmp(how, "all") == 0 && admin_cut(s)) {
			n->cut++;
			continue;
		}
		/* gracefully, or busy in a reset: close it as soon as it is idle */
		if (recycle_mark(p->first_slot + j, s->gen, RECYCLE_CLOSE) < 0)
			return admin_fail(x, ADMIN_EXIT_FAILED, "out of memory");
		n->marked++;
	}
	return ADMIN_EXIT_OK;
}

int admin_cmd_flush(struct admin_ctx *x, int argc, char **argv)
{
	const char *how = argv[0];
	struct pool *only = NULL;
	struct flush_count n = {0, 0, 0};
	int rc;

	if (strcmp(how, "idle") != 0 && strcmp(how, "gracefully") != 0 && strcmp(how, "all") != 0)
		return admin_fail(x, ADMIN_EXIT_USAGE,
		                  "flush idle|gracefully|all [POOL]: unknown mode \"%.32s\"", how);
	if (argc == 2 && !(only = admin_pool_arg(x, argv[1])))
		return ADMIN_EXIT_FAILED;
	if (broker.state != BROKER_RUNNING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "the broker is shutting down");
	for (uint32_t i = 0; i < broker.npools; i++) {
		if (only && &broker.pools[i] != only)
			continue;
		rc = admin_flush_pool(x, &broker.pools[i], how, &n);
		if (rc != ADMIN_EXIT_OK)
			return rc;
	}
	out_message(&x->out,
	            "flush %s%s%s: %u idle connection(s) closed, %u in use cut, %u to close when "
	            "released",
	            how, only ? " " : "", only ? only->cfg->name : "", n.closed, n.cut, n.marked);
	return ADMIN_EXIT_OK;
}

int admin_cmd_reconnect(struct admin_ctx *x, int argc, char **argv)
{
	struct pool *p = admin_pool_arg(x, argv[0]);
	uint32_t now = 0, later = 0;

	(void)argc;
	if (!p)
		return ADMIN_EXIT_FAILED;
	if (broker.state != BROKER_RUNNING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "the broker is shutting down");
	for (uint32_t j = 0; j < p->nslots; j++) {
		struct server *s = &p->servers[j];

		if (s->phase == SERVER_EMPTY || s->phase == SERVER_CONNECTING)
			continue;
		if (admin_close_if_idle(s, true, "recycled by an administrator (reconnect)")) {
			now++;
			continue;
		}
		if (recycle_mark(p->first_slot + j, s->gen, RECYCLE_REPLACE) < 0)
			return admin_fail(x, ADMIN_EXIT_FAILED, "out of memory");
		later++;
	}
	out_message(&x->out,
	            "reconnect %s: %u idle connection(s) replaced now, %u to replace when released",
	            p->cfg->name, now, later);
	return ADMIN_EXIT_OK;
}

/* ---- pool status ---- */

static uint32_t admin_leased(const struct pool *p)
{
	uint32_t c[8];

	pool_count(p, c);
	return c[PGP_SLOT_LEASED];
}

/* Give idle connections to the workers that queued while the pool was paused (oldest first). */
static uint32_t admin_serve_waiters(struct pool *p)
{
	uint32_t served = 0;

	for (uint32_t j = 0; j < p->nslots && atomic_load(&p->shm->waiting) > 0; j++) {
		struct server *s = &p->servers[j];
		uint64_t idle = pgp_slot_word(PGP_SLOT_IDLE, 0, s->gen);

		if (s->phase != SERVER_READY || atomic_load(&s->slot->word) != idle ||
		    server_hold(s, idle) != 0)
			continue;
		pool_offer(s);
		/* IDLE again: nobody was queued after all (`waiting` lags behind the ring). */
		if (pgp_slot_word_state(atomic_load(&s->slot->word)) != PGP_SLOT_LEASED)
			break;
		served++;
	}
	pool_fill(p);
	return served;
}

/* Set what the administrator wants; the pool's status follows it unless the broker's own
 * (circuit open, draining) wins until that ends (pool_publish_status). */
static int admin_set_status(struct admin_ctx *x, const char *name, uint32_t want, const char *verb)
{
	struct pool *p = admin_pool_arg(x, name);
	uint32_t cur, now, waiting;

	if (!p)
		return ADMIN_EXIT_FAILED;
	if (broker.state != BROKER_RUNNING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "the broker is shutting down");
	if (!pool_active(p))
		return admin_fail(x, ADMIN_EXIT_FAILED,
		                  "pool %s was removed from the configuration (%s)", p->cfg->name,
		                  pgp_pool_status_name(atomic_load(&p->shm->status)));
	cur = atomic_load(&p->shm->status);
	waiting = atomic_load(&p->shm->waiting);
	admin_set_intent(p->cfg->name, want);
	pool_publish_status(p);
	now = atomic_load(&p->shm->status);
	if (now != want) {
		out_message(&x->out, "pool %s is %s: it will be %s once that ends", p->cfg->name,
		            pgp_pool_status_name(now), verb);
		return ADMIN_EXIT_OK;
	}
	if (now == cur) {
		out_message(&x->out, "pool %s is %s already", p->cfg->name,
		            pgp_pool_status_name(cur));
		return ADMIN_EXIT_OK;
	}
	log_msg(LOG_INFO, p->cfg->name, LOG_NO_SLOT, "%s by an administrator (was %s)",
	        pgp_pool_status_name(now), pgp_pool_status_name(cur));
	switch (now) {
	case PGP_POOL_PAUSED:
		out_message(
		    &x->out,
		    "pool %s paused: no new leases, waiters wait (up to acquire_timeout); %u "
		    "lease(s) still held",
		    p->cfg->name, admin_leased(p));
		break;
	case PGP_POOL_DISABLED:
		out_message(&x->out,
		            "pool %s disabled: new leases fail with SQLSTATE 08004, %u waiter(s) "
		            "refused; %u lease(s) still held",
		            p->cfg->name, waiting, admin_leased(p));
		break;
	default:
		out_message(&x->out, "pool %s open (was %s): %u waiter(s) served", p->cfg->name,
		            pgp_pool_status_name(cur), admin_serve_waiters(p));
		break;
	}
	return ADMIN_EXIT_OK;
}

int admin_cmd_pause(struct admin_ctx *x, int argc, char **argv)
{
	(void)argc;
	return admin_set_status(x, argv[0], PGP_POOL_PAUSED, "paused");
}

int admin_cmd_resume(struct admin_ctx *x, int argc, char **argv)
{
	(void)argc;
	return admin_set_status(x, argv[0], PGP_POOL_OPEN, "open");
}

int admin_cmd_enable(struct admin_ctx *x, int argc, char **argv)
{
	(void)argc;
	return admin_set_status(x, argv[0], PGP_POOL_OPEN, "open");
}

int admin_cmd_disable(struct admin_ctx *x, int argc, char **argv)
{
	(void)argc;
	return admin_set_status(x, argv[0], PGP_POOL_DISABLED, "disabled");
}

/* ---- reload and shutdown ---- */

/*
 * Reload now and answer with the outcome: a deploy script running `pgpool-cli reload` must see a
 * refused file fail, as `systemctl reload` does (the unit runs --check first). The steps are
 * SIGHUP's (main.c): RELOADING=1, reload_config(), READY=1. The file is read once before, only
 * to quote why it is refused; a pool the reload could not add fails the command too.
 */
int admin_cmd_reload(struct admin_ctx *x, int argc, char **argv)
{
	struct config next;
	char err[sizeof(x->err) - 64], missing[256];
	size_t n = 0;
	int rc;

	(void)argc;
	(void)argv;
	if (broker.state != BROKER_RUNNING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "the broker is shutting down");
	rc = config_load(broker.cfg.path, &next, err, sizeof(err));
	if (rc) {
		log_error("reload refused, the configuration is unchanged: %s", err);
		return admin_fail(x, ADMIN_EXIT_FAILED,
		                  "reload refused, the configuration is unchanged: %s", err);
	}
	notify_reloading();
	log_info("reload requested by an administrator: reloading %s", broker.cfg.path);
	rc = reload_config();
	notify_reloaded();
	if (rc) {
		config_free(&next);
		return admin_fail(
		    x, ADMIN_EXIT_FAILED,
		    "reload refused, the configuration is unchanged: %s (the broker's "
		    "log says why)",
		    strerror(-rc));
	}
	missing[0] = '\0';
	for (uint32_t i = 0; i < next.npools && n < sizeof(missing); i++) {
		int w;
		if (pool_by_name(next.pools[i].name))
			continue;
		w = snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "",
		             next.pools[i].name);
		n += w > 0 ? (size_t)w : 0;
	}
	config_free(&next);
	if (n)
		return admin_fail(
		    x, ADMIN_EXIT_FAILED,
		    "reloaded %s, but could not add pool(s) %s (the broker's log says "
		    "why)",
		    broker.cfg.path, missing);
	out_message(&x->out, "reloaded %s: %u pool(s) configured", broker.cfg.path,
	            metrics_pools_configured());
	return ADMIN_EXIT_OK;
}

static void admin_stop_graceful(void *arg)
{
	(void)arg;
	main_stop(false);
}

static void admin_stop_fast(void *arg)
{
	(void)arg;
	main_stop(true);
}

/* Undo a graceful shutdown that is still waiting for leases. */
static int admin_shutdown_cancel(struct admin_ctx *x)
{
	int rc;

	if (broker.state != BROKER_STOPPING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "no shutdown in progress");
	if (pgp_now_us() >= broker.stop_deadline_us)
		return admin_fail(
		    x, ADMIN_EXIT_FAILED,
		    "too late: a fast shutdown is under way or shutdown_timeout passed");
	if (notify_stopping_sent())
		return admin_fail(
		    x, ADMIN_EXIT_FAILED,
		    "the service manager was told STOPPING=1 (systemctl stop, SIGTERM): "
		    "it will stop the unit; start it again afterwards");
	rc = worker_listen();
	if (rc)
		return admin_fail(x, ADMIN_EXIT_FAILED, "cannot open the control socket again: %s",
		                  strerror(-rc));
	broker.state = BROKER_RUNNING;
	shm_set_state(PGP_SHM_RUNNING);
	for (uint32_t i = 0; i < broker.npools; i++) {
		pool_publish_status(&broker.pools[i]);
		pool_fill(&broker.pools[i]);
	}
	notify_resumed();
	log_info("shutdown cancelled by an administrator: serving again");
	out_message(&x->out, "shutdown cancelled: serving again on %s", broker.cfg.socket);
	return ADMIN_EXIT_OK;
}

int admin_cmd_shutdown(struct admin_ctx *x, int argc, char **argv)
{
	const char *how = argc ? argv[0] : "graceful";
	uint32_t leased = 0;

	if (strcmp(how, "cancel") == 0)
		return admin_shutdown_cancel(x);
	if (strcmp(how, "graceful") != 0 && strcmp(how, "fast") != 0)
		return admin_fail(x, ADMIN_EXIT_USAGE,
		                  "shutdown [graceful|fast|cancel]: unknown mode \"%.32s\"", how);
	if (broker.state != BROKER_RUNNING && broker.state != BROKER_STOPPING)
		return admin_fail(x, ADMIN_EXIT_FAILED, "the broker is not running");
	for (uint32_t i = 0; i < broker.npools; i++)
		leased += admin_leased(&broker.pools[i]);
	/* After the answer is out: a fast shutdown may stop the loop at once. */
	if (strcmp(how, "fast") == 0) {
		x->conn->after = admin_stop_fast;
		out_message(&x->out, "fast shutdown: %u lease(s) cut, backends closed", leased);
	} else {
		/* Not STOPPING=1 yet: systemd would then stop the unit for good, and this shutdown
		 * can still be cancelled. The process exits with 0 when it is done. */
		notify_defer_stopping();
		x->conn->after = admin_stop_graceful;
		out_message(&x->out,
		            "graceful shutdown: no new leases; waiting up to %u ms for %u lease(s) "
		            "(pgpool-cli shutdown cancel undoes it)",
		            broker.cfg.shutdown_timeout_ms, leased);
	}
	return ADMIN_EXIT_OK;
}
