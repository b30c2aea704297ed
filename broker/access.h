/*
 * access.h: who may attach to a pool, and how fast one uid may guess passwords.
 *
 * Every worker connection carries the kernel's word on its peer (SO_PEERCRED: pid, uid, gid at
 * connect(); SO_PEERGROUPS: the supplementary groups). A pool with allowed_uids and/or
 * allowed_gids admits a peer whose uid is listed, or whose gid or one of whose supplementary
 * groups is listed; a pool with neither admits whoever can open the control socket (its mode and
 * group are the first gate). `auth = peer` trusts that check alone, without a password.
 *
 * Failed password checks are counted per uid: after ACCESS_FREE_FAILURES failures within
 * ACCESS_FAILURE_MEMORY_US, that uid's next ATTACH is evaluated only after a delay that doubles
 * with each further failure (up to ACCESS_MAX_DELAY_US, below the extension's default
 * pgpool.broker_timeout, so a worker of the same uid still gets through, slowly). Held-back
 * ATTACHes are not evaluated before their time, so parallel connections gain an attacker
 * nothing: one guess per delay per uid. The delay is a loop timer, never a sleep.
 */
#ifndef BROKER_ACCESS_H
#define BROKER_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgp_common.h"

#define ACCESS_FREE_FAILURES     3u
#define ACCESS_FIRST_DELAY_US    250000u
#define ACCESS_MAX_DELAY_US      3000000u
#define ACCESS_FAILURE_MEMORY_US 60000000u /* failures older than this are forgotten */
#define ACCESS_PEER_GROUPS_MAX   64u

enum access_auth {
	ACCESS_AUTH_PASSWORD = 0, /* the worker gives the pool's password (default) */
	ACCESS_AUTH_PEER = 1,     /* allowed_uids / allowed_gids alone (see CONFIG.md: risk) */
};

/* A list of uids or gids from the config. */
struct access_list {
	uint32_t *ids;
	uint32_t n;
};

/*
 * Parse a list of user names or uids ("www-data, 1000 deploy": commas and/or blanks between
 * entries) into out (replacing it). Names are resolved now, so --check proves they exist.
 * 0, -ENOMEM, or -EINVAL with the reason in why.
 */
int access_parse_uids(const char *v, struct access_list *out, char *why, size_t cap) PGP_WUR;
/* The same for group names or gids. */
int access_parse_gids(const char *v, struct access_list *out, char *why, size_t cap) PGP_WUR;
/* One user name or uid. 0 or -EINVAL with the reason in why. */
int access_parse_user(const char *v, uid_t *uid, char *why, size_t cap) PGP_WUR;
/* One group name or gid (socket_group, admin_group). 0 or -EINVAL with the reason in why. */
int access_parse_group(const char *v, gid_t *gid, char *why, size_t cap) PGP_WUR;
/* "password" or "peer". 0 or -EINVAL. */
int access_parse_auth(const char *v, uint32_t *auth) PGP_WUR;
void access_list_free(struct access_list *l);

/* The peer of a connected Unix socket as the kernel recorded it at connect(). */
struct access_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t ngroups; /* supplementary groups read with SO_PEERGROUPS (0 if unavailable) */
	gid_t groups[ACCESS_PEER_GROUPS_MAX];
};

/* Fill peer from SO_PEERCRED and SO_PEERGROUPS. 0 or -errno (SO_PEERCRED failed). */
int access_peer_read(int fd, struct access_peer *peer) PGP_WUR;

/*
 * true if the lists admit the peer: no list at all, or its uid in uids, or its gid or one of
 * its supplementary groups in gids.
 */
bool access_peer_allowed(const struct access_list *uids, const struct access_list *gids,
                         const struct access_peer *peer);

/* "uid 33 (www-data) gid 33 (www-data) groups 33,1001" for refusals and logs. */
void access_peer_describe(const struct access_peer *peer, char *out, size_t cap);

/* Microseconds uid must wait before its next password check may run; 0 = now. */
uint64_t access_auth_wait_us(uid_t uid);
/* Count a failed password check of uid (logs when the uid starts being slowed down). */
void access_auth_failed(uid_t uid, pid_t pid, const char *pool);

#endif
