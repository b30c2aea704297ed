/*
 * reload.c: apply a changed configuration file on SIGHUP (see reload.h).
 */
#include "reload.h"

#include <errno.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "main.h"
#include "pool.h"

/* [broker] settings a reload applies; everything else in [broker] keeps its running value (the
 * sockets, the shm segment and the event loop exist already): say so if the file changed it. */
static void reload_broker_settings(const struct config *next)
{
	struct config *cur = &broker.cfg;

	if (strcmp(cur->socket, next->socket) != 0 || cur->socket_mode != next->socket_mode ||
	    cur->has_socket_group != next->has_socket_group ||
	    (cur->has_socket_group && cur->socket_gid != next->socket_gid) ||
	    strcmp(cur->shm_name, next->shm_name) != 0 || cur->event_loop != next->event_loop ||
	    (cur->admin_socket == NULL) != (next->admin_socket == NULL) ||
	    (cur->admin_socket && strcmp(cur->admin_socket, next->admin_socket) != 0) ||
	    cur->has_admin_group != next->has_admin_group ||
	    (cur->has_admin_group && cur->admin_gid != next->admin_gid) ||
	    strcmp(cur->metrics, next->metrics) != 0)
		log_warn(
		    "reload: socket, socket_mode, socket_group, shm_name, event_loop, "
		    "admin_socket, admin_group and metrics changes need a restart; the running "
		    "values stay");
	cur->log_level = next->log_level;
	cur->shutdown_timeout_ms = next->shutdown_timeout_ms;
	cur->max_backends = next->max_backends;
	cur->orphan_timeout_ms = next->orphan_timeout_ms;
	log_set_level(cur->log_level);
}

int reload_config(void)
{
	struct config next;
	char err[1024];
	uint32_t added = 0, changed = 0, removed = 0, free_slots;
	int rc;

	rc = config_load(broker.cfg.path, &next, err, sizeof(err));
	if (rc) {
		log_error("reload refused, the configuration is unchanged: %s", err);
		return rc;
	}
	if (broker.state != BROKER_RUNNING) {
		config_free(&next);
		return -ESHUTDOWN;
	}
	reload_broker_settings(&next);

	/* Pools no longer configured drain. */
	for (uint32_t i = 0; i < broker.npools; i++) {
		struct pool *p = &broker.pools[i];
		bool kept = false;
		if (!pool_active(p))
			continue;
		for (uint32_t j = 0; j < next.npools && !kept; j++)
			kept = strcmp(next.pools[j].name, p->cfg->name) == 0;
		if (!kept) {
			pool_drain(p);
			removed++;
		}
	}
	/* New pools get room to double, from the slots no pool reserves. */
	free_slots = broker.nservers;
	for (uint32_t i = 0; i < broker.npools; i++)
		free_slots -= broker.pools[i].in_use ? broker.pools[i].nslots : 0;
	for (uint32_t j = 0; j < next.npools; j++) {
		struct config_pool *pc = &next.pools[j];
		struct pool *p = pool_by_name(pc->name);
		if (p) {
			pool_reconfigure(p, pc);
			changed++;
			continue;
		}
		uint32_t max = pc->max_connections;
		uint32_t spare = free_slots > max ? (free_slots - max) / 2 : 0;
		p = pool_open(pc, max + (spare < max ? spare : max));
		if (!p)
			continue;
		free_slots -= p->nslots;
		added++;
		log_msg(LOG_INFO, p->cfg->name, LOG_NO_SLOT,
		        "added by the reload: min=%u max=%u (%u slots reserved) mode=%s",
		        p->cfg->min_connections, p->cfg->max_connections, p->nslots,
		        pgp_pool_mode_name(p->cfg->mode));
		pool_fill(p);
	}
	/* The pool settings now live in the pools (moved); the rest of the file is done with. */
	config_free(&next);
	log_info("reloaded: %u pool(s) kept, %u added, %u removed (draining)", changed, added,
	         removed);
	main_check_ready();
	return 0;
}
