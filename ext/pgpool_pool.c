/*
 * pgpool_pool.c: pools as a process sees them: finding or attaching the pool for a DSN key and
 * credentials, and the per-pool requests to the broker (fd transfer, cancel, notifications).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgpool_proc.h"

static pgpool_proc *const proc = &pgpool_proc_g;

/* ---- pools ---- */

void pgpool_pool_free(pgpool_pool_priv *p)
{
	for (uint32_t i = 0; p->pub.fds && i < p->pub.nslots; i++) {
		if (p->pub.fds[i] >= 0) {
			close(p->pub.fds[i]);
		}
	}
	if (p->pub.password) {
		explicit_bzero(p->pub.password, p->pub.password_len);
		free(p->pub.password);
	}
	free(p->pub.fds);
	free(p->pub.gens);
	free(p->pub.backend_pids);
	free(p->leased);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

static int pool_set_credentials(pgpool_pool_priv *p, const char *user, const char *password,
                                size_t password_len, bool has_password)
{
	char *copy = NULL;

	if (has_password) {
		copy = malloc(password_len + 1);
		if (!copy) {
			return -ENOMEM;
		}
		memcpy(copy, password ? password : "", password_len);
		copy[password_len] = '\0';
	}
	if (p->pub.password) {
		explicit_bzero(p->pub.password, p->pub.password_len);
		free(p->pub.password);
	}
	snprintf(p->pub.user, sizeof(p->pub.user), "%s", user);
	p->pub.password = copy;
	p->pub.password_len = has_password ? password_len : 0;
	p->pub.has_password = has_password;
	return 0;
}

static bool credentials_equal(const pgpool_pool_priv *p, const char *user, const char *password,
                              size_t password_len, bool has_password)
{
	/* Constant time in the password: no early exit on the user or the flag either. */
	int same = pgp_secure_equal(p->pub.password ? p->pub.password : "", p->pub.password_len,
	                            has_password && password ? password : "",
	                            has_password ? password_len : 0);
	same &= strcmp(p->pub.user, user) == 0;
	same &= p->pub.has_password == has_password;
	return same != 0;
}

static bool key_equal(const pgp_dsn_key *a, const pgp_dsn_key *b)
{
	return strcmp(a->pool, b->pool) == 0 && strcmp(a->host, b->host) == 0 &&
	       strcmp(a->port, b->port) == 0 && strcmp(a->dbname, b->dbname) == 0 &&
	       strcmp(a->user, b->user) == 0;
}

int pgpool_pool_open(const pgp_dsn_key *key, const char *user, const char *password,
                     size_t password_len, bool has_password, pgpool_pool **out, pgpool_err *err)
{
	uint32_t timeout_ms = pgpool_cfg_broker_timeout_ms();
	const char *u = user && user[0] ? user : key->user;
	pgpool_pool_priv *p;
	pgp_dsn_key k = *key;

	if (strlen(u) >= sizeof(k.user)) {
		pgpool_err_set(err, "08001", "user name too long (at most %zu bytes)",
		               sizeof(k.user) - 1);
		return -1;
	}
	snprintf(k.user, sizeof(k.user), "%s", u);
	pgp_dsn_normalize(&k);

	for (p = proc->pools; p; p = (pgpool_pool_priv *)p->pub.next) {
		if (key_equal(&p->pub.key, &k)) {
			break;
		}
	}
	if (p && credentials_equal(p, k.user, password, password_len, has_password)) {
		if (!pgpool_proc_fresh(&p->pub, pgp_now_us()) &&
		    pgpool_proc_ensure(&p->pub, timeout_ms, err) < 0) {
			return -1;
		}
		/* Removed by a reload since this process attached: the broker says where the pool
		 * is now if it was added back (perhaps in another entry), or that it is gone. */
		if (PGP_UNLIKELY(p->shm_pool &&
		                 atomic_load(&p->shm_pool->status) == PGP_POOL_CLOSED) &&
		    pgpool_proc_reattach_closed(p, err) < 0) {
			return -1;
		}
		*out = &p->pub;
		return 0;
	}
	if (p) {
		/* Other credentials for a pool this process already uses: the broker checks them;
		 * a refusal leaves the existing attachment as it was. */
		struct pgp_ctl_attach_ok ok;
		if (pgpool_proc_ensure(NULL, timeout_ms, err) < 0 ||
		    pgpool_proc_attach_call(p, k.user, password, password_len, has_password,
		                            timeout_ms, &ok, err) < 0) {
			return -1;
		}
		if (pool_set_credentials(p, k.user, password, password_len, has_password) < 0) {
			pgpool_err_set(err, "53200", "out of memory attaching to pool");
			return -1;
		}
		if (pgpool_proc_apply_attach(p, &ok, err) < 0) {
			return -1;
		}
		*out = &p->pub;
		return 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p || pool_set_credentials(p, k.user, password, password_len, has_password) < 0) {
		free(p);
		pgpool_err_set(err, "53200", "out of memory attaching to pool");
		return -1;
	}
	p->pub.key = k;
	if (pgpool_proc_ensure(&p->pub, timeout_ms, err) < 0) {
		pgpool_pool_free(p);
		return -1;
	}
	p->pub.next = proc->pools ? &proc->pools->pub : NULL;
	proc->pools = p;
	*out = &p->pub;
	return 0;
}

/* ---- fds and notifications ---- */

/*
 * A request about a slot this process holds (FD_REQ, CANCEL): one round trip whose reply must be
 * of type `want` with an exact body (an fd comes with PGP_CTL_FD only). On success *m is the
 * reply and *fd its fd (or -1). 0, or -1 with *err filled and *broker_gone set when the control
 * connection turned out to be closed.
 */
static int slot_request(uint16_t type, uint16_t want, size_t want_len, const pgpool_pool *pool,
                        uint32_t slot, uint32_t gen, const char *what, pgp_ctl_msg *m, int *fd,
                        bool *broker_gone, pgpool_err *err)
{
	struct pgp_ctl_slot_ref ref = {.pool = pool->index, .slot = slot, .gen = gen};
	uint32_t seq = pgpool_ctl_next_seq(&proc->ctl);
	int len, rc;

	*broker_gone = false;
	len = pgp_ctl_encode(proc->tx, type, seq, &ref, sizeof(ref));
	rc = len < 0 ? len
	             : pgpool_ctl_call(&proc->ctl, proc->tx, (size_t)len, seq,
	                               pgpool_cfg_broker_timeout_ms(), proc->rx, m, fd);
	if (rc < 0) {
		*broker_gone = rc == -EPIPE;
		pgpool_err_call(err, rc, what);
		return -1;
	}
	if (m->hdr.type == PGP_CTL_ERROR) {
		pgpool_err_from_reply(err, m);
	} else if (m->hdr.type != want || m->body_len != want_len) {
		pgpool_err_call(err, -EPROTO, what);
	} else {
		return 0;
	}
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return -1;
}

int pgpool_proc_fetch_fd(pgpool_pool *pool, uint32_t slot, uint32_t gen, bool *broker_gone,
                         pgpool_err *err)
{
	static const char what[] = "the connection request";
	struct pgp_ctl_fd r;
	struct stat st;
	pgp_ctl_msg m;
	int fd = -1;

	if (slot_request(PGP_CTL_FD_REQ, PGP_CTL_FD, sizeof(r), pool, slot, gen, what, &m, &fd,
	                 broker_gone, err) < 0) {
		return -1;
	}
	memcpy(&r, m.body, sizeof(r));
	if (r.pool != pool->index || r.slot != slot || r.gen != gen || fstat(fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		close(fd);
		pgpool_err_call(err, -EPROTO, what);
		return -1;
	}
	if (pool->fds[slot] >= 0) {
		close(pool->fds[slot]); /* the copy of an older backend of this slot */
	}
	pool->fds[slot] = fd;
	pool->gens[slot] = gen;
	pool->backend_pids[slot] = r.backend_pid;
	return 0;
}

void pgpool_proc_forget_fd(pgpool_pool *pool, uint32_t slot)
{
	if (slot < pool->nslots && pool->fds && pool->fds[slot] >= 0) {
		close(pool->fds[slot]);
		pool->fds[slot] = -1;
		pool->gens[slot] = 0;
		pool->backend_pids[slot] = 0;
	}
}

static void notify(uint16_t type, const void *body, size_t len)
{
	int n;

	if (proc->ctl.fd < 0 || proc->ctl.eof) {
		return;
	}
	n = pgp_ctl_encode(proc->tx, type, pgpool_ctl_next_seq(&proc->ctl), body, len);
	if (n > 0) {
		(void)pgpool_ctl_notify(&proc->ctl, proc->tx, (size_t)n);
	}
}

void pgpool_proc_notify_grow(pgpool_pool *pool)
{
	struct pgp_ctl_grow g = {.pool = pool->index};
	notify(PGP_CTL_GROW, &g, sizeof(g));
}

void pgpool_proc_notify_returned(pgpool_pool *pool, uint32_t slot, uint32_t gen, uint32_t state)
{
	struct pgp_ctl_slot_ref ref = {.pool = pool->index, .slot = slot, .gen = gen, .arg = state};
	notify(PGP_CTL_RETURNED, &ref, sizeof(ref));
}

void pgpool_proc_notify_slow(pgpool_pool *pool, uint32_t duration_ms, const char *sql, size_t len)
{
	int n;

	if (proc->ctl.fd < 0 || proc->ctl.eof) {
		return;
	}
	n = pgp_ctl_encode_slow_query(proc->tx, pgpool_ctl_next_seq(&proc->ctl), pool->index,
	                              duration_ms, sql, len > 1000 ? 1000 : len);
	if (n > 0) {
		(void)pgpool_ctl_notify(&proc->ctl, proc->tx, (size_t)n);
	}
}

int pgpool_proc_cancel(pgpool_pool *pool, uint32_t slot, uint32_t gen, pgpool_err *err)
{
	pgp_ctl_msg m;
	bool gone;

	return slot_request(PGP_CTL_CANCEL, PGP_CTL_CANCEL_DONE, 0, pool, slot, gen, "CANCEL", &m,
	                    NULL, &gone, err);
}
