/*
 * janitor.c: periodic checks (see janitor.h).
 */
#include "janitor.h"

#include <malloc.h>

#include "broker.h"
#include "lifecycle.h"
#include "log.h"
#include "main.h"
#include "orphan.h"
#include "pool.h"
#include "server.h"
#include "shm.h"

static struct loop_timer janitor_timer;

/* shutdown_timeout passed: cut what is still leased; shutdown(2) kills every copy. */
static void janitor_force_close(void)
{
	for (uint32_t i = 0; i < broker.nservers; i++) {
		struct server *s = &broker.servers[i];
		if (s->phase == SERVER_EMPTY)
			continue;
		if (s->phase == SERVER_READY) {
			server_stop_io(s);
			s->phase = SERVER_BUSY;
			atomic_store(&s->slot->word, pgp_slot_word(PGP_SLOT_BUSY, 0, s->gen));
		}
		server_close(s, true, "shutdown: still in use after shutdown_timeout");
	}
}

void janitor_run(void)
{
	shm_heartbeat();
	/* While stopping, this closes idle backends politely (Terminate) before anything is cut. */
	for (uint32_t i = 0; i < broker.nservers; i++)
		pool_check_slot(&broker.servers[i]);
	if (broker.trim_pending) {
		/* libpq allocated the freed PGconns on the connect helper's arena, whose free pages
		 * glibc keeps otherwise: with hundreds of backends that is megabytes of RSS. */
		broker.trim_pending = false;
		(void)malloc_trim(0);
	}
	if (broker.state == BROKER_RUNNING) {
		lifecycle_tick();
		orphan_tick();
		for (uint32_t i = 0; i < broker.npools; i++) {
			pool_repair_shm(&broker.pools[i]);
			pool_close_if_drained(&broker.pools[i]);
			pool_fill(&broker.pools[i]);
		}
		return;
	}
	if (broker.state == BROKER_STOPPING && pgp_now_us() >= broker.stop_deadline_us)
		janitor_force_close();
	main_check_stopped();
}

static void janitor_tick(void *ctx, struct loop_timer *t)
{
	(void)ctx;
	(void)t;
	janitor_run();
	if (broker.state == BROKER_RUNNING || broker.state == BROKER_STOPPING)
		loop_timer_start(broker.loop, &janitor_timer, JANITOR_PERIOD_US, janitor_tick,
		                 NULL);
}

void janitor_start(void)
{
	loop_timer_start(broker.loop, &janitor_timer, JANITOR_PERIOD_US, janitor_tick, NULL);
}

void janitor_stop(void)
{
	loop_timer_stop(broker.loop, &janitor_timer);
}
