/*
 * unixsock.h: listening Unix sockets of the broker (the control socket, the admin socket).
 */
#ifndef BROKER_UNIXSOCK_H
#define BROKER_UNIXSOCK_H

#include <sys/types.h>

/*
 * Listen on a Unix socket of `type` (SOCK_SEQPACKET, SOCK_STREAM) at path: its directory is
 * created if missing (0755: the socket's own mode guards access); an existing socket file is
 * removed if nobody listens on it (a process that died) and refused if somebody does; the socket
 * is created owner-only and only then given mode (and group *gid unless NULL), so there is no
 * moment with a wider mode. Returns the listening fd (non-blocking, close-on-exec) or -errno,
 * logged naming `what` ("control socket").
 */
int unixsock_listen(const char *path, int type, mode_t mode, const gid_t *gid, int backlog,
                    const char *what);

#endif
