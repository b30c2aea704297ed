/*
 * orphan.h: backends left by a broker that died (SIGKILL, crash). Their sockets live on in the
 * workers that cached them, so PostgreSQL keeps them open until someone terminates them.
 *
 * At start, a dead broker's segment is kept mapped (its name is reused for the new segment):
 * every backend pid recorded in it is an orphan. Idle ones are taken (IDLE -> BUSY in the old
 * segment, so no worker can lease them any more) and terminated at once; one a live worker still
 * holds (a transaction in flight when the broker died) is terminated once that worker releases it
 * in the old segment or exits, or after [broker] orphan_timeout. Termination runs
 * pg_terminate_backend through an idle connection of the pool of the same name (same user),
 * restricted to those pids, the pool's user and its application_name.
 */
#ifndef BROKER_ORPHAN_H
#define BROKER_ORPHAN_H

#include <stdbool.h>
#include <stddef.h>

#include "pgp_shm.h"

struct pool;

/* Take over a dead broker's segment, validated and mapped read-write at old->base (size bytes):
 * note its backends, take their idle slots, mark it stopped. The mapping is unmapped once every
 * orphan is dealt with. */
void orphan_adopt(pgp_shm *old, size_t size);
/* Pool p has orphans still to terminate (it needs one connection for it). */
bool orphan_pending(const struct pool *p);
/* Janitor: terminate the orphans that are ready. */
void orphan_tick(void);
/* Forget everything (exit). */
void orphan_fini(void);

#endif
