/*
 * access.c: allowed_uids / allowed_gids lists, the peer's credentials, and the per-uid throttle
 * of failed password checks (see access.h).
 */
#include "access.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

#define ACCESS_LIST_MAX      256u /* entries in one allowed_uids / allowed_gids list */
#define ACCESS_THROTTLE_UIDS 256u /* uids whose failures are remembered at once */

/* A decimal id below 2^31 (uid_t -1 means "no change" to chown and is never a real id). */
static int access_number(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > INT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int access_lookup_user(const char *name, uint32_t *id)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (access_number(name, id) == 0)
		return 0;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*id = (uint32_t)res->pw_uid;
	return 0;
}

static int access_lookup_group(const char *name, uint32_t *id)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (access_number(name, id) == 0)
		return 0;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*id = (uint32_t)res->gr_gid;
	return 0;
}

static int access_parse_list(const char *v, struct access_list *out, bool groups, char *why,
                             size_t cap)
{
	struct access_list l = {NULL, 0};
	const char *p = v;
	char name[256];
	int rc = -EINVAL;

	l.ids = malloc(ACCESS_LIST_MAX * sizeof(*l.ids));
	if (!l.ids)
		return -ENOMEM;
	for (;;) {
		size_t n;
		uint32_t id;

		p += strspn(p, ", \t");
		if (!*p)
			break;
		n = strcspn(p, ", \t");
		if (n >= sizeof(name)) {
			snprintf(why, cap, "name too long");
			goto fail;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		if ((groups ? access_lookup_group(name, &id) : access_lookup_user(name, &id)) < 0) {
			snprintf(why, cap, "no such %s \"%s\"", groups ? "group" : "user", name);
			goto fail;
		}
		if (l.n == ACCESS_LIST_MAX) {
			snprintf(why, cap, "more than %u entries", ACCESS_LIST_MAX);
			goto fail;
		}
		l.ids[l.n++] = id;
	}
	if (l.n == 0) {
		snprintf(why, cap, "empty list (give %s names or numbers)",
		         groups ? "group" : "user");
		goto fail;
	}
	access_list_free(out);
	*out = l;
	return 0;
fail:
	free(l.ids);
	return rc;
}

int access_parse_uids(const char *v, struct access_list *out, char *why, size_t cap)
{
	return access_parse_list(v, out, false, why, cap);
}

int access_parse_gids(const char *v, struct access_list *out, char *why, size_t cap)
{
	return access_parse_list(v, out, true, why, cap);
}

int access_parse_user(const char *v, uid_t *uid, char *why, size_t cap)
{
	uint32_t id;

	if (access_lookup_user(v, &id) < 0) {
		snprintf(why, cap, "no such user \"%s\"", v);
		return -EINVAL;
	}
	*uid = (uid_t)id;
	return 0;
}

int access_parse_group(const char *v, gid_t *gid, char *why, size_t cap)
{
	uint32_t id;

	if (access_lookup_group(v, &id) < 0) {
		snprintf(why, cap, "no such group \"%s\"", v);
		return -EINVAL;
	}
	*gid = (gid_t)id;
	return 0;
}

int access_parse_auth(const char *v, uint32_t *auth)
{
	if (strcmp(v, "password") == 0)
		*auth = ACCESS_AUTH_PASSWORD;
	else if (strcmp(v, "peer") == 0)
		*auth = ACCESS_AUTH_PEER;
	else
		return -EINVAL;
	return 0;
}

void access_list_free(struct access_list *l)
{
	free(l->ids);
	l->ids = NULL;
	l->n = 0;
}

/* ---- the peer ---- */

int access_peer_read(int fd, struct access_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(peer, 0, sizeof(*peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	len = sizeof(peer->groups);
	/* Linux 4.13+. A peer in more groups than we keep room for gets only its primary gid
	 * checked (ERANGE): it can still be admitted by uid or primary group. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) == 0)
		peer->ngroups = (uint32_t)(len / sizeof(gid_t));
	return 0;
}

static bool access_listed(const struct access_list *l, uint32_t id)
{
	for (uint32_t i = 0; i < l->n; i++) {
		if (l->ids[i] == id)
			return true;
	}
	return false;
}

bool access_peer_allowed(const struct access_list *uids, const struct access_list *gids,
                         const struct access_peer *peer)
{
	if (uids->n == 0 && gids->n == 0)
		return true;
	if (access_listed(uids, (uint32_t)peer->uid) || access_listed(gids, (uint32_t)peer->gid))
		return true;
	for (uint32_t i = 0; i < peer->ngroups; i++) {
		if (access_listed(gids, (uint32_t)peer->groups[i]))
			return true;
	}
	return false;
}

void access_peer_describe(const struct access_peer *peer, char *out, size_t cap)
{
	struct passwd pw, *pr = NULL;
	struct group gr, *gres = NULL;
	char buf[4096];
	size_t n;
	int w;

	getpwuid_r(peer->uid, &pw, buf, sizeof(buf), &pr);
	w = snprintf(out, cap, "uid %u (%s) ", (unsigned)peer->uid, pr ? pr->pw_name : "?");
	if (w < 0 || (size_t)w >= cap)
		return;
	n = (size_t)w;
	getgrgid_r(peer->gid, &gr, buf, sizeof(buf), &gres);
	w = snprintf(out + n, cap - n, "gid %u (%s)", (unsigned)peer->gid,
	             gres ? gres->gr_name : "?");
	if (w < 0 || (size_t)w >= cap - n)
		return;
	n += (size_t)w;
	for (uint32_t i = 0; i < peer->ngroups && n + 12 < cap; i++) {
		w = snprintf(out + n, cap - n, "%s%u", i ? "," : " groups ",
		             (unsigned)peer->groups[i]);
		if (w < 0)
			return;
		n += (size_t)w;
	}
}

/* ---- failed password checks ---- */

struct access_failures {
	uid_t uid;
	uint32_t count;        /* failures in a row (forgotten after ACCESS_FAILURE_MEMORY_US) */
	uint64_t last_us;      /* pgp_now_us() of the last failure, 0 = unused entry */
	uint64_t next_eval_us; /* no password check of this uid before this time */
};

static struct access_failures access_table[ACCESS_THROTTLE_UIDS];

static struct access_failures *access_find(uid_t uid, uint64_t now)
{
	for (uint32_t i = 0; i < ACCESS_THROTTLE_UIDS; i++) {
		struct access_failures *f = &access_table[i];

		if (f->last_us != 0 && f->uid == uid) {
			if (now - f->last_us > ACCESS_FAILURE_MEMORY_US) {
				memset(f, 0, sizeof(*f));
				return NULL;
			}
			return f;
		}
	}
	return NULL;
}

uint64_t access_auth_wait_us(uid_t uid)
{
	uint64_t now = pgp_now_us();
	struct access_failures *f = access_find(uid, now);

	return f && f->next_eval_us > now ? f->next_eval_us - now : 0;
}

void access_auth_failed(uid_t uid, pid_t pid, const char *pool)
{
	uint64_t now = pgp_now_us(), delay;
	struct access_failures *f = access_find(uid, now), *oldest = &access_table[0];

	if (!f) {
		/* A free entry, else the one whose last failure is oldest. */
		for (uint32_t i = 0; i < ACCESS_THROTTLE_UIDS && oldest->last_us != 0; i++) {
			if (access_table[i].last_us < oldest->last_us)
				oldest = &access_table[i];
		}
		f = oldest;
		memset(f, 0, sizeof(*f));
		f->uid = uid;
	}
	f->count++;
	f->last_us = now;
	if (f->count <= ACCESS_FREE_FAILURES)
		return;
	delay = ACCESS_FIRST_DELAY_US;
	for (uint32_t i = ACCESS_FREE_FAILURES + 1; i < f->count && delay < ACCESS_MAX_DELAY_US;
	     i++)
		delay *= 2;
	if (delay > ACCESS_MAX_DELAY_US)
		delay = ACCESS_MAX_DELAY_US;
	f->next_eval_us = now + delay;
	log_msg(LOG_WARNING, pool, LOG_NO_SLOT,
	        "uid %u (pid %d): %u failed password checks in a row: its next ATTACH is "
	        "answered in %llu ms at the earliest",
	        (unsigned)uid, (int)pid, f->count, (unsigned long long)(delay / 1000));
}
