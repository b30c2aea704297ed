/*
 * admin_show.c: the admin commands that only look: status, pools, slots, workers, is-alive.
 *
 * Numbers come from the same places as pgpool_stats() and /metrics (slot words and the pool
 * counters in shm, under the same keys), so the three agree. Fields that workers write into shm
 * (owner pid, idle time, statement counts) are only displayed, and clamped to sane ranges.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin_int.h"
#include "broker.h"
#include "metrics.h"
#include "notify.h"
#include "pool.h"
#include "server.h"
#include "worker.h"

static const char *admin_state_name(enum broker_state st)
{
	switch (st) {
	case BROKER_STARTING:
		return "starting";
	case BROKER_RUNNING:
		return "running";
	case BROKER_STOPPING:
		return "stopping";
	case BROKER_STOPPED:
		return "stopped";
	}
	return "unknown";
}

static const char *admin_slot_state_name(uint32_t st)
{
	static const char *const names[] = {"empty", "connecting", "idle", "leased",
	                                    "busy",  "discard",    "reset"};

	return st < PGP_ARRAY_LEN(names) ? names[st] : "invalid";
}

static void admin_wall_time(struct admin_out *o, const char *key, uint64_t wall_us, unsigned flags)
{
	time_t t = (time_t)(wall_us / 1000000u);
	struct tm tm;
	char buf[40];

	if (!wall_us || !gmtime_r(&t, &tm)) {
		out_null(o, key, flags);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_str(o, key, buf, flags);
}

/* Seconds from an earlier pgp_now_us() stamp; a stamp from the future (a worker scribbled)
 * counts as 0. */
static double admin_since(uint64_t now, uint64_t then)
{
	return then && then <= now ? (double)(now - then) / 1e6 : 0.0;
}

int admin_cmd_is_alive(struct admin_ctx *x, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (broker.state != BROKER_RUNNING)
		return admin_fail(x, ADMIN_EXIT_NOT_ALIVE, "not serving: the broker is %s",
		                  admin_state_name(broker.state));
	out_message(&x->out, "alive: pgpool-broker %s pid %d, %u pool(s)", PGP_VERSION_STRING,
	            (int)getpid(), metrics_pools_configured());
	return ADMIN_EXIT_OK;
}

int admin_cmd_status(struct admin_ctx *x, int argc, char **argv)
{
	struct admin_out *o = &x->out;
	uint64_t now_wall = pgp_wall_us(), started = broker.shm.hdr->started_wall_us;
	uint32_t c[8], total[8] = {0}, waiting = 0;
	char summary[256], epoch[24];

	(void)argc;
	(void)argv;
	for (uint32_t i = 0; i < broker.npools; i++) {
		pool_count(&broker.pools[i], c);
		for (int k = 0; k < 8; k++)
			total[k] += c[k];
		waiting += atomic_load(&broker.pools[i].shm->waiting);
	}
	notify_summary(summary, sizeof(summary));
	snprintf(epoch, sizeof(epoch), "%016" PRIx64, broker.shm.epoch);
	out_str(o, "version", PGP_VERSION_STRING, 0);
	out_i64(o, "pid", getpid(), 0);
	out_str(o, "state", admin_state_name(broker.state), 0);
	out_bool(o, "ready", broker.ready_notified, 0);
	admin_wall_time(o, "started", started, 0);
	out_secs(o, "uptime",
	         started && started <= now_wall ? (double)(now_wall - started) / 1e6 : 0.0, 0);
	out_str(o, "event_loop", loop_backend_name(broker.loop), 0);
	out_str(o, "config", broker.cfg.path, 0);
	out_str(o, "socket", broker.cfg.socket, 0);
	out_str(o, "admin_socket", broker.cfg.admin_socket, 0);
	out_str(o, "metrics", metrics_address(), 0);
	out_str(o, "shm", broker.cfg.shm_name, 0);
	out_str(o, "epoch", epoch, 0);
	out_u64(o, "pools", metrics_pools_configured(), 0);
	out_u64(o, "workers", broker.nconns, 0);
	out_u64(o, "backends",
	        total[PGP_SLOT_IDLE] + total[PGP_SLOT_LEASED] + total[PGP_SLOT_BUSY] +
	            total[PGP_SLOT_DISCARD] + total[PGP_SLOT_RESET],
	        0);
	out_u64(o, "idle", total[PGP_SLOT_IDLE], 0);
	out_u64(o, "active", total[PGP_SLOT_LEASED], 0);
	out_u64(o, "connecting", total[PGP_SLOT_CONNECTING], 0);
	out_u64(o, "waiting", waiting, 0);
	out_str(o, "summary", summary, 0);
	return ADMIN_EXIT_OK;
}

int admin_cmd_pools(struct admin_ctx *x, int argc, char **argv)
{
	struct admin_out *o = &x->out;
	struct pool *only = NULL;

	if (argc == 1 && !(only = admin_pool_arg(x, argv[0])))
		return ADMIN_EXIT_FAILED;
	o->list = true;
	for (uint32_t i = 0; i < broker.npools; i++) {
		struct pool *p = &broker.pools[i];
		struct pgp_shm_pool *sp = p->shm;
		uint64_t down = atomic_load(&sp->down_since_wall_us);
		uint32_t c[8];

		/* Closed entries (removed pools, drained) are not pools any more. */
		if ((only && p != only) || !metrics_pool_shown(i))
			continue;
		pool_count(p, c);
		out_record(o);
		/* The keys and their meaning are pgpool_stats()'s. */
		out_str(o, "name", p->cfg->name, OUT_TEXT);
		out_str(o, "mode", pgp_pool_mode_name(sp->mode), OUT_TEXT);
		out_str(o, "status", pgp_pool_status_name(atomic_load(&sp->status)), OUT_TEXT);
		if (down)
			out_secs(o, "down_since", (double)down / 1e6, 0);
		else
			out_null(o, "down_since", 0);
		out_u64(o, "total",
		        c[PGP_SLOT_IDLE] + c[PGP_SLOT_LEASED] + c[PGP_SLOT_BUSY] +
		            c[PGP_SLOT_DISCARD] + c[PGP_SLOT_RESET],
		        OUT_TEXT);
		out_u64(o, "idle", c[PGP_SLOT_IDLE], OUT_TEXT);
		out_u64(o, "active", c[PGP_SLOT_LEASED], OUT_TEXT);
		out_u64(o, "connecting", c[PGP_SLOT_CONNECTING], OUT_TEXT);
		out_u64(o, "busy", c[PGP_SLOT_BUSY] + c[PGP_SLOT_DISCARD] + c[PGP_SLOT_RESET], 0);
		out_u64(o, "waiting", atomic_load(&sp->waiting), OUT_TEXT);
		out_u64(o, "waiting_max", atomic_load(&sp->waiting_max), 0);
		out_u64(o, "max", atomic_load(&sp->max_connections), OUT_TEXT);
		out_u64(o, "min", sp->min_connections, OUT_TEXT);
		for (size_t k = 0; k < metrics_ncounters; k++) {
			const struct metrics_counter *mc = &metrics_counters[k];
			bool shown = strcmp(mc->key, "acquires") == 0 ||
			             strcmp(mc->key, "queries") == 0 ||
			             strcmp(mc->key, "errors") == 0;
			out_u64(o, mc->key, metrics_counter_read(sp, mc), shown ? OUT_TEXT : 0);
		}
		for (uint32_t t = 0; t < PGP_ERR_TYPES; t++) {
			char key[48];
			snprintf(key, sizeof(key), "errors_%s", pgp_err_type_name(t));
			out_u64(o, key, atomic_load(&sp->errors_by_type[t]), 0);
		}
	}
	return ADMIN_EXIT_OK;
}

int admin_cmd_slots(struct admin_ctx *x, int argc, char **argv)
{
	struct admin_out *o = &x->out;
	struct pool *only = NULL;
	uint64_t now = pgp_now_us();

	if (argc == 1 && !(only = admin_pool_arg(x, argv[0])))
		return ADMIN_EXIT_FAILED;
	o->list = true;
	for (uint32_t i = 0; i < broker.npools; i++) {
		struct pool *p = &broker.pools[i];

		if (only && p != only)
			continue;
		for (uint32_t j = 0; j < p->nslots; j++) {
			struct server *s = &p->servers[j];
			struct pgp_shm_slot *sl = s->slot;
			uint64_t w = atomic_load(&sl->word);
			uint32_t st = pgp_slot_word_state(w), n = atomic_load(&sl->nstmts);
			uint32_t flags = atomic_load(&sl->flags);

			if (s->phase == SERVER_EMPTY && st == PGP_SLOT_EMPTY)
				continue;
			out_record(o);
			out_str(o, "pool", p->cfg->name, OUT_TEXT);
			out_u64(o, "slot", j, OUT_TEXT);
			out_str(o, "state", admin_slot_state_name(st), OUT_TEXT);
			out_u64(o, "gen", pgp_slot_word_gen(w), 0);
			if (st == PGP_SLOT_LEASED) {
				out_i64(o, "owner_pid", atomic_load(&sl->owner_pid), OUT_TEXT);
				out_u64(o, "attach_id", pgp_slot_word_owner(w), 0);
				out_secs(o, "lease_age",
				         admin_since(now, atomic_load(&sl->lease_start_us)), 0);
			} else {
				out_null(o, "owner_pid", OUT_TEXT);
				out_null(o, "attach_id", 0);
				out_null(o, "lease_age", 0);
			}
			if (s->backend_pid)
				out_i64(o, "backend_pid", s->backend_pid, OUT_TEXT);
			else
				out_null(o, "backend_pid", OUT_TEXT);
			if (s->phase == SERVER_CONNECTING)
				out_null(o, "age", OUT_TEXT);
			else
				out_secs(o, "age", admin_since(now, sl->connected_us), OUT_TEXT);
			if (st == PGP_SLOT_IDLE)
				out_secs(o, "idle",
				         admin_since(now, atomic_load(&sl->idle_since_us)),
				         OUT_TEXT);
			else
				out_null(o, "idle", OUT_TEXT);
			out_u64(o, "leases", atomic_load(&sl->leases), OUT_TEXT);
			out_u64(o, "queries", atomic_load(&sl->queries), OUT_TEXT);
			out_u64(o, "prepared", n < PGP_SLOT_STMTS ? n : PGP_SLOT_STMTS, OUT_TEXT);
			out_bool(o, "pinned", st == PGP_SLOT_LEASED && (flags & PGP_SLOTF_PINNED),
			         0);
			out_bool(o, "recycle", admin_recycle_pending(p->first_slot + j, s->gen), 0);
		}
	}
	return ADMIN_EXIT_OK;
}

int admin_cmd_workers(struct admin_ctx *x, int argc, char **argv)
{
	struct admin_out *o = &x->out;

	(void)argc;
	(void)argv;
	o->list = true;
	for (struct worker_conn *c = broker.conns; c; c = c->next) {
		char pools[512];
		size_t n = 0;
		uint32_t leases = 0;

		pools[0] = '\0';
		for (uint32_t i = 0; i < broker.npools && i < 64; i++) {
			struct pool *p = &broker.pools[i];
			if (!(c->auth_pools & (1ull << i)))
				continue;
			if (n < sizeof(pools)) {
				int w = snprintf(pools + n, sizeof(pools) - n, "%s%s", n ? "," : "",
				                 p->cfg->name);
				n += w > 0 ? (size_t)w : 0;
			}
			for (uint32_t j = 0; j < p->nslots; j++) {
				uint64_t w = atomic_load(&p->servers[j].slot->word);
				leases += pgp_slot_word_state(w) == PGP_SLOT_LEASED &&
				          pgp_slot_word_owner(w) == c->attach_id;
			}
		}
		out_record(o);
		out_i64(o, "pid", c->pid, OUT_TEXT);
		out_u64(o, "uid", c->uid, OUT_TEXT);
		out_u64(o, "gid", c->gid, OUT_TEXT);
		out_u64(o, "attach_id", c->attach_id, OUT_TEXT);
		out_str(o, "pools", pools, OUT_TEXT);
		out_u64(o, "leases", leases, OUT_TEXT);
	}
	return ADMIN_EXIT_OK;
}
