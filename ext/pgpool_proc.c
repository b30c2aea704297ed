/*
 * pgpool_proc.c: per-process attachment to pgpool-broker (see pgpool_proc.h).
 *
 * Lifecycle of the process state:
 *   nothing -> connected + mapped (first pgpool_pool_open or pgpool_stats)
 *   -> broker gone (control connection EOF, or heartbeat stale and the connection closed):
 *      cached fds closed, mapping retired, reconnect and re-attach every known pool
 *   -> fork child: the parent's connection, fds and mapping are forgotten with close() only, and
 *      the child attaches afresh on next use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgpool_proc.h"

pgpool_proc pgpool_proc_g = {.ctl = PGPOOL_CTL_INIT};
static pgpool_proc *const proc = &pgpool_proc_g;

enum broker_state { BROKER_ALIVE, BROKER_GONE, BROKER_HUNG };

void pgpool_err_set(pgpool_err *err, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->sqlstate, sizeof(err->sqlstate), "%.5s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void err_unreachable(pgpool_err *err, int rc)
{
	const char *sock = pgpool_cfg_socket();

	switch (-rc) {
	case EACCES:
	case EPERM:
		pgpool_err_set(
		    err, "08001",
		    "cannot connect to pgpool-broker at %s: permission denied; the PHP user "
		    "(uid %u) needs write access to the socket: check socket_mode and "
		    "socket_group in the broker's config (pgpool.socket = %s)",
		    sock, (unsigned)geteuid(), sock);
		break;
	case ETIMEDOUT:
		pgpool_err_set(
		    err, "08001",
		    "cannot connect to pgpool-broker at %s: its backlog stayed full for %u "
		    "ms (pgpool.broker_timeout); is it overloaded or stopped? systemctl "
		    "status pgpool-broker",
		    sock, pgpool_cfg_broker_timeout_ms());
		break;
	case ENAMETOOLONG:
		pgpool_err_set(
		    err, "08001",
		    "pgpool.socket is too long for a Unix socket path (at most 107 bytes): %s",
		    sock);
		break;
	default:
		pgpool_err_set(err, "08001",
		               "cannot reach pgpool-broker at %s (%s): is pgpool-broker running? "
		               "systemctl status pgpool-broker; pgpool.socket = %s",
		               sock, strerror(-rc), sock);
		break;
	}
}

/* A failed request on an established control connection. */
void pgpool_err_call(pgpool_err *err, int rc, const char *what)
{
	const char *sock = pgpool_cfg_socket();

	switch (-rc) {
	case EPIPE:
		pgpool_err_set(
		    err, "08001",
		    "pgpool-broker closed the control connection during %s (it stopped or "
		    "restarted): is pgpool-broker running? systemctl status pgpool-broker; "
		    "pgpool.socket = %s",
		    what, sock);
		break;
	case ETIMEDOUT:
		pgpool_err_set(
		    err, "08001",
		    "pgpool-broker at %s did not answer %s within %u ms "
		    "(pgpool.broker_timeout): is it overloaded or stopped? systemctl status "
		    "pgpool-broker",
		    sock, what, pgpool_cfg_broker_timeout_ms());
		break;
	case EPROTO:
		pgpool_err_set(
		    err, "08001",
		    "malformed reply from pgpool-broker at %s to %s: are the extension (%s) "
		    "and the broker the same version?",
		    sock, what, PGP_VERSION_STRING);
		break;
	default:
		pgpool_err_set(err, "08001",
		               "control connection to pgpool-broker at %s failed (%s): %s", sock,
		               what, strerror(-rc));
		break;
	}
}

/* An ERROR reply: the broker's SQLSTATE and message. */
void pgpool_err_from_reply(pgpool_err *err, const pgp_ctl_msg *m)
{
	struct pgp_ctl_error e;
	char state[6] = "08001";

	if (m->body_len != sizeof(e)) {
		pgpool_err_call(err, -EPROTO, "a request");
		return;
	}
	memcpy(&e, m->body, sizeof(e));
	e.message[sizeof(e.message) - 1] = '\0';
	if (strnlen(e.sqlstate, sizeof(e.sqlstate)) == 5) {
		memcpy(state, e.sqlstate, 5);
	}
	pgpool_err_set(err, state, "%s", e.message[0] ? e.message : "pgpool-broker refused");
}

/* ---- mappings ---- */

static void map_release(pgpool_map *m)
{
	pgp_shm_unmap(&m->shm);
	free(m);
}

static void map_retire(pgpool_map *m)
{
	if (m->leases == 0) {
		map_release(m);
		return;
	}
	m->next = proc->retired;
	proc->retired = m;
}

/* A connected socket whose peer is gone: reads see EOF, writes fail with EPIPE. */
static int dead_socket(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return -1;
	}
	close(sv[1]);
	return sv[0];
}

/*
 * Forget the current mapping and every cached fd. A leased fd stays open for its lease, which
 * closes it when it ends (pgpool_proc_end_stale_lease); in a fork child the leased number is
 * pointed at a dead socket first, so a PgPool object copied from the parent fails cleanly
 * instead of writing into the parent's connection, and the number is not reused meanwhile.
 */
static void drop_mapping(bool forked)
{
	int dead = -1;

	for (pgpool_pool_priv *p = proc->pools; p; p = (pgpool_pool_priv *)p->pub.next) {
		for (uint32_t i = 0; p->pub.fds && i < p->pub.nslots; i++) {
			int fd = p->pub.fds[i];
			if (fd >= 0 && !p->leased[i]) {
				close(fd);
			} else if (fd >= 0 && forked) {
				if (dead < 0) {
					dead = dead_socket();
				}
				if (dead < 0 || dup3(dead, fd, O_CLOEXEC) < 0) {
					close(fd);
				}
			}
			p->pub.fds[i] = -1;
			p->pub.gens[i] = 0;
			p->pub.backend_pids[i] = 0;
			p->leased[i] = false;
		}
		p->pub.epoch = 0;
		p->shm_pool = NULL;
	}
	if (dead >= 0) {
		close(dead);
	}
	if (proc->map) {
		map_retire(proc->map);
		proc->map = NULL;
	}
	proc->broker_pid = 0;
}

static void drop_broker(void)
{
	pgpool_ctl_close(&proc->ctl);
	drop_mapping(false);
}

static void after_fork_child(void)
{
	proc->pid = (int32_t)getpid();
	/* close() only: the parent keeps using the connection, and shutdown() would end it. */
	pgpool_ctl_close(&proc->ctl);
	proc->ctl.seq = 0;
	drop_mapping(true);
}

/* Map the broker's segment name/epoch as the current mapping (a no-op if it already is).
 * -ESTALE if the segment found has another epoch (the broker restarted meanwhile). */
static int map_segment(const char *name, uint64_t epoch, pgpool_err *err)
{
	pgpool_map *m;
	int rc;

	if (proc->map && proc->map->shm.epoch == epoch && strcmp(proc->map->name, name) == 0) {
		return 0;
	}
	if (proc->map) {
		drop_mapping(false); /* another broker's segment: its fds are stale too */
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		pgpool_err_set(err, "53200", "out of memory mapping pgpool-broker's shared memory");
		return -ENOMEM;
	}
	rc = pgp_shm_map(name, &m->shm);
	if (rc < 0) {
		free(m);
		pgpool_err_set(
		    err, "08001",
		    "cannot map pgpool-broker's shared memory %s (%s): PHP and the broker "
		    "must share /dev/shm (same host and IPC namespace) and the PHP user "
		    "needs read-write access to the segment",
		    name, strerror(-rc));
		return rc;
	}
	if (m->shm.epoch != epoch) {
		map_release(m);
		pgpool_err_set(err, "08001", "pgpool-broker restarted while this process attached");
		return -ESTALE;
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	proc->map = m;
	return 0;
}

/* ---- requests ---- */

static int ping(uint32_t timeout_ms, struct pgp_ctl_pong *pong, pgpool_err *err)
{
	uint32_t seq = pgpool_ctl_next_seq(&proc->ctl);
	pgp_ctl_msg m;
	int len, rc;

	len = pgp_ctl_encode(proc->tx, PGP_CTL_PING, seq, NULL, 0);
	if (len < 0) {
		pgpool_err_call(err, len, "PING");
		return len;
	}
	rc =
	    pgpool_ctl_call(&proc->ctl, proc->tx, (size_t)len, seq, timeout_ms, proc->rx, &m, NULL);
	if (rc == 0 && (m.hdr.type != PGP_CTL_PONG || m.body_len != sizeof(*pong))) {
		rc = -EPROTO;
	}
	if (rc < 0) {
		pgpool_err_call(err, rc, "PING");
		return rc;
	}
	memcpy(pong, m.body, sizeof(*pong));
	if (!memchr(pong->shm_name, '\0', sizeof(pong->shm_name))) {
		pgpool_err_call(err, -EPROTO, "PING");
		return -EPROTO;
	}
	proc->broker_pid = pong->broker_pid;
	return 0;
}

/* ATTACH with the given credentials; *ok receives the broker's answer. 0, -EACCES when the
 * broker refused (err holds its SQLSTATE and message), or the transport's -errno. */
int pgpool_proc_attach_call(pgpool_pool_priv *p, const char *user, const char *password,
                            size_t password_len, bool has_password, uint32_t timeout_ms,
                            struct pgp_ctl_attach_ok *ok, pgpool_err *err)
{
	const pgp_dsn_key *k = &p->pub.key;
	bool named = k->pool[0] != '\0';
	pgp_ctl_attach_req req = {
	    .client_version = PGP_CTL_VERSION,
	    .pid = proc->pid,
	    .flags = has_password ? PGP_ATTACHF_HAS_PASSWORD : 0,
	    .pool = named ? k->pool : NULL,
	    .host = !named && k->host[0] ? k->host : NULL,
	    .port = !named && k->port[0] ? k->port : NULL,
	    .dbname = !named && k->dbname[0] ? k->dbname : NULL,
	    .user = user[0] ? user : NULL,
	    .password = has_password ? (password ? password : "") : NULL,
	    .password_len = has_password ? password_len : 0,
	};
	uint32_t seq = pgpool_ctl_next_seq(&proc->ctl);
	pgp_ctl_msg m;
	int len, rc;

	if (req.password && memchr(req.password, '\0', req.password_len)) {
		pgpool_err_set(err, "28P01",
		               "password contains a NUL byte (PostgreSQL refuses those)");
		return -EINVAL;
	}
	len = pgp_ctl_encode_attach(proc->tx, seq, &req);
	if (len < 0) {
		pgpool_err_set(err, "08001",
		               "connection parameters too long for pgpool (each value at most %u "
		               "bytes)",
		               PGP_CTL_STR_MAX - 1);
		return len;
	}
	rc =
	    pgpool_ctl_call(&proc->ctl, proc->tx, (size_t)len, seq, timeout_ms, proc->rx, &m, NULL);
	explicit_bzero(proc->tx, (size_t)len); /* it held the password */
	if (rc < 0) {
		pgpool_err_call(err, rc, "ATTACH");
		return rc;
	}
	if (m.hdr.type == PGP_CTL_ERROR) {
		pgpool_err_from_reply(err, &m);
		return -EACCES;
	}
	if (m.hdr.type != PGP_CTL_ATTACH_OK || m.body_len != sizeof(*ok)) {
		pgpool_err_call(err, -EPROTO, "ATTACH");
		return -EPROTO;
	}
	memcpy(ok, m.body, sizeof(*ok));
	if (!memchr(ok->shm_name, '\0', sizeof(ok->shm_name))) {
		pgpool_err_call(err, -EPROTO, "ATTACH");
		return -EPROTO;
	}
	return 0;
}

static int pool_size_arrays(pgpool_pool_priv *p, uint32_t n)
{
	int *fds = malloc(n * sizeof(*fds));
	uint32_t *gens = calloc(n, sizeof(*gens));
	int32_t *pids = calloc(n, sizeof(*pids));
	bool *leased = calloc(n, sizeof(*leased));

	if (!fds || !gens || !pids || !leased) {
		free(fds);
		free(gens);
		free(pids);
		free(leased);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		fds[i] = -1;
	}
	for (uint32_t i = 0; p->pub.fds && i < p->pub.nslots; i++) {
		if (p->pub.fds[i] >= 0 && !p->leased[i]) {
			close(p->pub.fds[i]);
		}
	}
	free(p->pub.fds);
	free(p->pub.gens);
	free(p->pub.backend_pids);
	free(p->leased);
	p->pub.fds = fds;
	p->pub.gens = gens;
	p->pub.backend_pids = pids;
	p->leased = leased;
	p->pub.nslots = n;
	return 0;
}

/* Take an ATTACH_OK into the pool: map the segment it names and point the pool at its entry. */
int pgpool_proc_apply_attach(pgpool_pool_priv *p, const struct pgp_ctl_attach_ok *ok,
                             pgpool_err *err)
{
	struct pgp_shm_pool *sp;
	int rc;

	rc = map_segment(ok->shm_name, ok->epoch, err);
	if (rc < 0) {
		return rc;
	}
	sp = pgp_shm_pool_at(&proc->map->shm, ok->pool);
	if (!sp || sp->nslots == 0 || sp->nslots > PGP_MAX_SLOTS ||
	    !pgp_shm_pool_slot(&proc->map->shm, sp, sp->nslots - 1)) {
		pgpool_err_call(err, -EPROTO, "ATTACH (pool entry out of range)");
		return -EPROTO;
	}
	if (p->pub.epoch == ok->epoch && p->leases > 0 && ok->attach_id != p->pub.info.attach_id) {
		/* A re-check with other credentials: leases in flight carry the old attachment id
		 * as their owner, so keep using it. */
		return 0;
	}
	if ((sp->nslots != p->pub.nslots || !p->pub.fds) && pool_size_arrays(p, sp->nslots) < 0) {
		pgpool_err_set(err, "53200", "out of memory attaching to pool");
		return -ENOMEM;
	}
	size_t nl = strnlen(sp->name, sizeof(sp->name));
	if (nl >= sizeof(p->pub.name)) {
		nl = sizeof(p->pub.name) - 1;
	}
	memcpy(p->pub.name, sp->name, nl);
	p->pub.name[nl] = '\0';
	p->pub.index = ok->pool;
	p->pub.mode = ok->mode;
	p->pub.acquire_timeout_ms = ok->acquire_timeout_ms;
	p->pub.query_timeout_ms = ok->query_timeout_ms;
	p->pub.slow_query_ms = ok->slow_query_ms;
	p->pub.info = *ok;
	p->pub.epoch = ok->epoch;
	p->shm_pool = sp;
	return 0;
}

static int attach(pgpool_pool_priv *p, uint32_t timeout_ms, pgpool_err *err)
{
	struct pgp_ctl_attach_ok ok;
	int rc = pgpool_proc_attach_call(p, p->pub.user, p->pub.password, p->pub.password_len,
	                                 p->pub.has_password, timeout_ms, &ok, err);
	return rc < 0 ? rc : pgpool_proc_apply_attach(p, &ok, err);
}

int pgpool_proc_reattach_closed(pgpool_pool_priv *p, pgpool_err *err)
{
	uint32_t timeout_ms = pgpool_cfg_broker_timeout_ms();

	if (p->leases > 0 || !p->shm_pool || atomic_load(&p->shm_pool->status) != PGP_POOL_CLOSED) {
		return 0;
	}
	if (pgpool_proc_ensure(NULL, timeout_ms, err) < 0 || attach(p, timeout_ms, err) < 0) {
		return -1;
	}
	return 0;
}

static bool attached(const pgpool_pool_priv *p)
{
	return proc->map && p->shm_pool && p->pub.epoch == proc->map->shm.epoch;
}

/* ---- broker liveness ---- */

static enum broker_state broker_state(uint32_t timeout_ms, pgpool_err *err)
{
	struct pgp_ctl_pong pong;
	int rc;

	if (proc->ctl.fd < 0 || proc->ctl.eof) {
		return BROKER_GONE;
	}
	if (proc->map && pgpool_map_fresh(proc->map, pgp_now_us())) {
		return BROKER_ALIVE;
	}
	if (pgpool_ctl_peer_closed(&proc->ctl)) {
		return BROKER_GONE;
	}
	if (!proc->map) {
		return BROKER_ALIVE;
	}
	/* Heartbeat stale (or stopping) but the connection is open: a slow broker keeps its
	 * leases, so ask before tearing anything down. */
	rc = ping(timeout_ms, &pong, err);
	if (rc == -EPIPE) {
		return BROKER_GONE;
	}
	if (rc < 0) {
		uint64_t hb = atomic_load(&proc->map->shm.hdr->heartbeat_us);
		uint64_t now = pgp_now_us();
		pgpool_err_set(
		    err, "08001",
		    "pgpool-broker (pid %d) is not responding: no heartbeat for %llu ms and "
		    "no answer within %u ms (pgpool.broker_timeout); systemctl status "
		    "pgpool-broker",
		    (int)proc->map->shm.hdr->broker_pid,
		    (unsigned long long)(now > hb ? (now - hb) / 1000u : 0), timeout_ms);
		return BROKER_HUNG;
	}
	return pong.epoch == proc->map->shm.epoch ? BROKER_ALIVE : BROKER_GONE;
}

/* After reconnecting: attach every known pool again with its kept credentials. A pool the new
 * broker refuses stays detached and reports why when it is used. -EPIPE if the broker went away
 * again. */
static int reattach_all(const pgpool_pool_priv *skip, uint32_t timeout_ms)
{
	for (pgpool_pool_priv *p = proc->pools; p; p = (pgpool_pool_priv *)p->pub.next) {
		pgpool_err ignored;
		if (p != skip && attach(p, timeout_ms, &ignored) == -EPIPE) {
			return -EPIPE;
		}
	}
	return 0;
}

int pgpool_proc_ensure(pgpool_pool *pool, uint32_t timeout_ms, pgpool_err *err)
{
	pgpool_pool_priv *target = pool ? pgpool_priv(pool) : NULL;
	struct pgp_ctl_pong pong;
	int rc;

	if (proc->pid != (int32_t)getpid()) {
		after_fork_child(); /* forked without pthread_atfork handlers (raw clone) */
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		enum broker_state st = broker_state(timeout_ms, err);
		if (st == BROKER_HUNG) {
			return -1;
		}
		if (st == BROKER_GONE) {
			drop_broker();
			rc = pgpool_ctl_connect(&proc->ctl, pgpool_cfg_socket(), timeout_ms);
			if (rc < 0) {
				err_unreachable(err, rc);
				return -1;
			}
			if (reattach_all(target, timeout_ms) == -EPIPE) {
				continue;
			}
		}
		if (target && !attached(target)) {
			rc = attach(target, timeout_ms, err);
			if (rc == -EPIPE || rc == -ESTALE) {
				continue;
			}
			if (rc < 0) {
				return -1;
			}
		}
		if (!proc->map) {
			rc = ping(timeout_ms, &pong, err);
			if (rc == 0) {
				rc = map_segment(pong.shm_name, pong.epoch, err);
			}
			if (rc == -EPIPE || rc == -ESTALE) {
				continue;
			}
			if (rc < 0) {
				return -1;
			}
		}
		return 0;
	}
	pgpool_err_set(err, "08001",
	               "pgpool-broker at %s keeps closing the connection (restarting?): systemctl "
	               "status pgpool-broker",
	               pgpool_cfg_socket());
	return -1;
}

/* ---- leases of older mappings ---- */

void pgpool_proc_end_stale_lease(const pgpool_lease *l, bool clean)
{
	struct pgp_shm_slot *sl = l->shm_slot;

	/* The broker that owned the segment is gone; its successor waits for this release before
	 * it terminates the backend (orphan cleanup). A fork child never releases its parent's. */
	if (sl && atomic_load(&sl->owner_pid) == proc->pid) {
		uint64_t w = atomic_load(&sl->word);
		if (pgp_slot_word_state(w) == PGP_SLOT_LEASED && pgp_slot_word_gen(w) == l->gen) {
			uint64_t to = pgp_slot_word(clean ? PGP_SLOT_IDLE : PGP_SLOT_DISCARD,
			                            clean ? 0 : pgp_slot_word_owner(w), l->gen);
			atomic_compare_exchange_strong(&sl->word, &w, to);
		}
	}
	if (l->fd >= 0) {
		close(l->fd);
	}
	for (pgpool_map **pp = &proc->retired; *pp; pp = &(*pp)->next) {
		pgpool_map *m = *pp;
		if (pgpool_map_holds(m, l->shm_slot)) {
			if (m->leases > 0 && --m->leases == 0) {
				*pp = m->next;
				map_release(m);
			}
			break;
		}
	}
}

/* ---- process hooks ---- */

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
	/* Unregistered by glibc when the module is unloaded (the handler lives in this DSO). */
	(void)pthread_atfork(NULL, NULL, after_fork_child);
}

void pgpool_process_init(void)
{
	proc->pid = (int32_t)getpid();
	(void)pthread_once(&atfork_once, register_atfork);
}

void pgpool_process_shutdown(void)
{
	drop_broker();
	while (proc->retired) {
		pgpool_map *m = proc->retired;
		proc->retired = m->next;
		map_release(m);
	}
	while (proc->pools) {
		pgpool_pool_priv *p = proc->pools;
		proc->pools = (pgpool_pool_priv *)p->pub.next;
		pgpool_pool_free(p);
	}
}
