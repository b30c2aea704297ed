/*
 * lifecycle.h: what happens to idle connections over time, run by the janitor every tick:
 * idle_timeout closes connections idle too long above min_connections; max_lifetime recycles
 * old ones (each with its own jittered lifetime); health_check_period checks connections idle
 * that long with an empty query (the slot is held BUSY meanwhile, then offered again);
 * connections above a lowered max_connections, and ones made with a dsn or password a reload
 * changed, close as soon as they are idle. One in use that must go is retired (slot.retire, see
 * pool_retire): its owner hands it back at release instead of passing it to a waiter.
 */
#ifndef BROKER_LIFECYCLE_H
#define BROKER_LIFECYCLE_H

struct server;

/* A backend just connected: give it its lifetime. */
void lifecycle_connected(struct server *s);
/* max_lifetime changed by a reload: recompute when each open connection of p expires. */
struct pool;
void lifecycle_reschedule(struct pool *p);
/* Why a connection the broker holds must close instead of being offered (NULL: offer it). */
const char *lifecycle_close_reason(const struct server *s);
/* One pass over the idle connections of every pool. */
void lifecycle_tick(void);

#endif
