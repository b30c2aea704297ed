/*
 * lifecycle.h: what happens to idle connections over time, run by the janitor every tick:
 * idle_timeout closes connections idle too long above min_connections; max_lifetime recycles
 * old ones (each with its own jittered lifetime, and only while idle); health_check_period checks
 * connections idle that long with an empty query (the slot is held BUSY meanwhile, then offered
 * again); connections above a lowered max_connections, and ones made with a dsn or password a
 * reload changed, close as soon as they are idle.
 */
#ifndef BROKER_LIFECYCLE_H
#define BROKER_LIFECYCLE_H

struct server;

/* A backend just connected: give it its lifetime. */
void lifecycle_connected(struct server *s);
/* Why a connection the broker holds must close instead of being offered (NULL: offer it). */
const char *lifecycle_close_reason(const struct server *s);
/* One pass over the idle connections of every pool. */
void lifecycle_tick(void);

#endif
