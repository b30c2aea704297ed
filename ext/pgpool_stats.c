/*
 * pgpool_stats.c: what pgpool_stats() and phpinfo() show, read from the broker's shm without a
 * broker round trip (one PING first if this process has never seen the broker).
 */
#include <stdio.h>
#include <string.h>

#include "pgpool_proc.h"

static pgpool_proc *const proc = &pgpool_proc_g;

static void pool_stats(const pgp_shm *shm, struct pgp_shm_pool *sp, pgpool_pool_stats *o)
{
	uint32_t n[8];
	size_t nl = strnlen(sp->name, sizeof(sp->name));

	memset(o, 0, sizeof(*o));
	if (nl >= sizeof(o->name)) {
		nl = sizeof(o->name) - 1;
	}
	memcpy(o->name, sp->name, nl);
	pgp_pool_count_states(shm, sp, n);
	o->idle = n[PGP_SLOT_IDLE];
	o->active = n[PGP_SLOT_LEASED];
	o->connecting = n[PGP_SLOT_CONNECTING];
	o->total = n[PGP_SLOT_IDLE] + n[PGP_SLOT_LEASED] + n[PGP_SLOT_BUSY] + n[PGP_SLOT_DISCARD] +
	           n[PGP_SLOT_RESET];
	o->waiting = atomic_load(&sp->waiting);
	o->max = atomic_load(&sp->max_connections);
	o->min = sp->min_connections;
	o->mode = sp->mode;
	o->status = atomic_load(&sp->status);
	o->down_since_wall_us = atomic_load(&sp->down_since_wall_us);
	o->acquires = atomic_load(&sp->acquires);
	o->acquire_waits = atomic_load(&sp->acquire_waits);
	o->acquire_wait_us = atomic_load(&sp->acquire_wait_us);
	o->acquire_timeouts = atomic_load(&sp->acquire_timeouts);
	o->fd_transfers = atomic_load(&sp->fd_transfers);
	o->errors = atomic_load(&sp->errors);
	o->queries = atomic_load(&sp->queries);
	o->query_us = atomic_load(&sp->query_us);
	o->lease_us = atomic_load(&sp->lease_us);
	o->prepared_hits = atomic_load(&sp->prepared_hits);
	o->prepared_misses = atomic_load(&sp->prepared_misses);
	o->connects = atomic_load(&sp->connects);
	o->connect_failures = atomic_load(&sp->connect_failures);
	o->disconnects = atomic_load(&sp->disconnects);
	o->reclaims = atomic_load(&sp->reclaims);
	o->discards = atomic_load(&sp->discards);
	if (o->status == PGP_POOL_CIRCUIT_OPEN) {
		pgpool_pool_last_error(sp, o->last_error, sizeof(o->last_error));
	}
}

int pgpool_stats_collect(pgpool_pool_stats *out, uint32_t cap, uint32_t *n, pgpool_err *err)
{
	*n = 0;
	if (!proc->map || proc->ctl.eof || !pgpool_map_fresh(proc->map, pgp_now_us())) {
		if (pgpool_proc_ensure(NULL, pgpool_cfg_broker_timeout_ms(), err) < 0) {
			return -1;
		}
	}
	const pgp_shm *shm = &proc->map->shm;
	uint32_t npools = shm->hdr->npools;
	for (uint32_t i = 0; i < npools && *n < cap; i++) {
		struct pgp_shm_pool *sp = pgp_shm_pool_at(shm, i);
		if (!sp) {
			break;
		}
		if (atomic_load(&sp->status) == PGP_POOL_CLOSED) {
			continue; /* removed by a reload and drained */
		}
		pool_stats(shm, sp, &out[(*n)++]);
	}
	return 0;
}

void pgpool_proc_describe(pgpool_proc_info *out, uint32_t probe_ms)
{
	memset(out, 0, sizeof(*out));
	out->reachable = -1;
	if (proc->map && !proc->ctl.eof && proc->ctl.fd >= 0 &&
	    pgpool_map_fresh(proc->map, pgp_now_us())) {
		out->reachable = 1;
	} else if (probe_ms > 0) {
		pgpool_err err;
		out->reachable = pgpool_proc_ensure(NULL, probe_ms, &err) == 0;
		if (!out->reachable) {
			snprintf(out->why, sizeof(out->why), "%s", err.message);
		}
	}
	if (proc->map) {
		out->epoch = proc->map->shm.epoch;
		out->broker_pid = proc->map->shm.hdr->broker_pid;
		snprintf(out->shm_name, sizeof(out->shm_name), "%s", proc->map->name);
	}
	size_t used = 0;
	for (pgpool_pool_priv *p = proc->pools; p; p = (pgpool_pool_priv *)p->pub.next) {
		for (uint32_t i = 0; p->pub.fds && i < p->pub.nslots; i++) {
			out->fds_cached += p->pub.fds[i] >= 0;
		}
		if (!proc->map || !p->shm_pool || p->pub.epoch != proc->map->shm.epoch) {
			continue;
		}
		out->pools_attached++;
		int w = snprintf(out->pools + used, sizeof(out->pools) - used, "%s%s",
		                 used ? ", " : "", p->pub.name);
		if (w > 0 && (size_t)w < sizeof(out->pools) - used) {
			used += (size_t)w;
		}
	}
}
