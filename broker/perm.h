/*
 * perm.h: file-system checks the broker makes before it trusts or creates a file.
 *
 *  - A file that holds a secret (password_file, and the config file when it has a password)
 *    must not be readable by every user, nor writable by every user (whoever can write it can
 *    point a pool at their own server or change its password): the broker refuses to start,
 *    like libpq refuses a world-readable ~/.pgpass.
 *  - The control socket's directory must not let other users replace the socket: not
 *    writable by others (a sticky /tmp-like directory is refused too: anyone could create the
 *    socket's name before the broker starts, and workers would hand their passwords to the
 *    impostor), owned by root or the broker's user, and no directory above it writable by
 *    others without the sticky bit.
 *  - The socket and the shm segment get the owner, group and mode of the config, and the broker
 *    checks with stat() that they did before it accepts anyone.
 */
#ifndef BROKER_PERM_H
#define BROKER_PERM_H

#include <sys/stat.h>
#include <sys/types.h>

#include "pgp_common.h"

/* fd is open on path (what: "password_file", "config file"...). 0, or -EPERM with err set. */
int perm_check_secret(int fd, const char *path, const char *what, char *err, size_t cap) PGP_WUR;

/* The directory that will hold the control socket at socket_path (it exists). 0, or -EPERM /
 * -errno with err set. */
int perm_check_socket_dir(const char *socket_path, char *err, size_t cap) PGP_WUR;

/* st (of what, e.g. "control socket /run/pgpool/pgpool.sock") must have owner uid, group gid
 * ((gid_t)-1: any) and permission bits mode. 0, or -EPERM with err set. */
int perm_verify(const struct stat *st, uid_t uid, gid_t gid, mode_t mode, const char *what,
                char *err, size_t cap) PGP_WUR;

#endif
