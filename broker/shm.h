/*
 * shm.h: the broker's side of the shared-memory segment: creation, the old segment left by a
 * previous broker, heartbeat, and removal at exit. The layout itself is common/pgp_shm.c's.
 */
#ifndef BROKER_SHM_H
#define BROKER_SHM_H

#include <stdint.h>

#include "pgp_common.h"

/*
 * Create the segment named by [broker] shm_name for npools pools and nslots slots, with the
 * socket's mode and group, and a new random epoch. An existing segment whose broker is still
 * running is refused (-EEXIST, logged); a dead broker's segment is handed to the orphan cleanup
 * (orphan.c) and replaced. Fills broker.shm; the pools are filled in by pool.c, then
 * shm_publish() makes the segment visible as running.
 */
int shm_create(uint32_t npools, uint32_t nslots) PGP_WUR;
void shm_publish(void);
/* Refresh the heartbeat (janitor, every 100 ms). */
void shm_heartbeat(void);
/* Set the header state (PGP_SHM_STOPPING at shutdown). */
void shm_set_state(uint32_t state);
/* Mark stopped, unlink the name and unmap. */
void shm_destroy(void);

#endif
