/*
 * admin.h: the admin socket, where pgpool-cli asks for status and steers pools (pause, resume,
 * enable, disable, flush, reconnect, reload, shutdown). See admin_proto.h for the protocol and
 * docs/OPERATIONS.md for the commands.
 *
 * Who may do what: anyone who can connect may ask `is-alive`; every other command needs the
 * peer (SO_PEERCRED) to be root, the broker's own user, or a member of [broker] admin_group
 * (primary or supplementary group, SO_PEERGROUPS). The socket file itself is 0660, group
 * admin_group when one is set (0600 otherwise).
 */
#ifndef BROKER_ADMIN_H
#define BROKER_ADMIN_H

#include <stdint.h>

#include "pgp_common.h"

/* Create the admin socket ([broker] admin_socket; nothing when it is "off") and serve it from the
 * loop. 0 or -errno (logged). */
int admin_listen(void) PGP_WUR;
/* Close the admin socket and its connections, remove the file (broker exit). */
void admin_stop(void);

/*
 * The status an administrator wants for a pool (PGP_POOL_OPEN, PGP_POOL_PAUSED or
 * PGP_POOL_DISABLED): code that sets a pool's status back after something of its own (the circuit
 * breaker closing, a reload) should restore this rather than OPEN.
 */
uint32_t admin_pool_status(const char *pool);

#endif
