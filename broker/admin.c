/*
 * admin.c: the admin socket: creation, who may connect, request parsing and command dispatch.
 */
#include "admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "admin_int.h"
#include "broker.h"
#include "log.h"
#include "pool.h"
#include "unixsock.h"

#define ADMIN_TIMEOUT_MS 5000u
#define ADMIN_MAX_CONNS  16u

static long admin_complete(const char *in, size_t len);
static void admin_handle(struct reqconn *c, const char *req, size_t len);
static void admin_bad(struct reqconn *c, bool too_large);

static struct reqsrv admin_srv = {
    .what = "admin socket",
    .max_request = ADMIN_REQUEST_MAX,
    .timeout_ms = ADMIN_TIMEOUT_MS,
    .max_conns = ADMIN_MAX_CONNS,
    .complete = admin_complete,
    .handle = admin_handle,
    .bad = admin_bad,
    .fd = -1,
};

/* Runs each of admin_command_specs[], in the same order. */
static const admin_cmd_fn admin_fns[] = {
    admin_cmd_status,   admin_cmd_pools,     admin_cmd_slots,  admin_cmd_workers,
    admin_cmd_flush,    admin_cmd_pause,     admin_cmd_resume, admin_cmd_enable,
    admin_cmd_disable,  admin_cmd_reconnect, admin_cmd_reload, admin_cmd_shutdown,
    admin_cmd_is_alive,
};
_Static_assert(PGP_ARRAY_LEN(admin_fns) == ADMIN_NCOMMANDS, "one function per admin command");

/* ---- pool intents ---- */

/* What administrators set, by pool name so that it survives a reload reordering the pools. */
static struct {
	char name[PGP_NAME_MAX];
	uint32_t status;
} admin_intents[PGP_MAX_POOLS];

uint32_t admin_pool_status(const char *pool)
{
	for (size_t i = 0; i < PGP_ARRAY_LEN(admin_intents); i++) {
		if (admin_intents[i].name[0] && strcmp(admin_intents[i].name, pool) == 0)
			return admin_intents[i].status;
	}
	return PGP_POOL_OPEN;
}

void admin_set_intent(const char *pool, uint32_t status)
{
	size_t free_i = PGP_ARRAY_LEN(admin_intents);

	for (size_t i = 0; i < PGP_ARRAY_LEN(admin_intents); i++) {
		if (admin_intents[i].name[0] && strcmp(admin_intents[i].name, pool) == 0) {
			free_i = i;
			break;
		}
		if (!admin_intents[i].name[0] && free_i == PGP_ARRAY_LEN(admin_intents))
			free_i = i;
	}
	if (free_i == PGP_ARRAY_LEN(admin_intents))
		return; /* more names than pools can exist: cannot happen */
	snprintf(admin_intents[free_i].name, sizeof(admin_intents[free_i].name), "%s", pool);
	admin_intents[free_i].status = status;
}

/* ---- helpers for the commands ---- */

int admin_fail(struct admin_ctx *x, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return status;
}

struct pool *admin_pool_arg(struct admin_ctx *x, const char *name)
{
	struct pool *p = pool_by_name(name);
	char names[400];
	size_t n = 0;

	if (p)
		return p;
	names[0] = '\0';
	for (uint32_t i = 0; i < broker.npools && n < sizeof(names); i++) {
		if (!pool_active(&broker.pools[i]))
			continue; /* removed by a reload */
		int w = snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
		                 broker.pools[i].cfg->name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	admin_fail(x, ADMIN_EXIT_FAILED, "no pool named \"%.64s\" (configured: %s)", name,
	           n ? names : "none");
	return NULL;
}

/* ---- who may connect ---- */

static bool admin_allowed(const struct reqconn *c)
{
	struct access_peer peer;
	uint32_t gid = (uint32_t)broker.cfg.admin_gid;
	const struct access_list nobody = {NULL, 0}, group = {&gid, 1};

	if (access_peer_read(c->fd, &peer) < 0)
		return false;
	if (peer.uid == 0 || peer.uid == geteuid())
		return true;
	/* The primary group or a supplementary one (SO_PEERGROUPS), as for a pool's
	 * allowed_gids. */
	return broker.cfg.has_admin_group && access_peer_allowed(&nobody, &group, &peer);
}

/* ---- requests ---- */

static long admin_complete(const char *in, size_t len)
{
	const char *nl = memchr(in, '\n', len);

	if (!nl)
		return 0;
	/* One printable line: anything else is not pgpool-cli talking. */
	for (const char *c = in; c < nl; c++) {
		if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\r')
			return -1;
	}
	return nl - in + 1;
}

static void admin_answer(struct reqconn *c, int status, const char *text)
{
	c->out.len = 0;
	if (reqsrv_printf(&c->out, "%d\n%s\n", status, text) < 0)
		c->out.len = 0;
}

static void admin_bad(struct reqconn *c, bool too_large)
{
	admin_answer(c, ADMIN_EXIT_USAGE,
	             too_large ? "request too long" : "malformed request (one line expected)");
}

/* Who did what: actions at INFO (tagged with the pool they name), looking at DEBUG (monitoring
 * polls them), refusals at WARN. */
static void admin_log(const struct reqconn *c, const struct admin_command_spec *cmd, int argc,
                      char **argv, int status, const char *err)
{
	static const char *const looking[] = {"status", "pools", "slots", "workers", "is-alive"};
	const char *pool = NULL;
	char args[160];
	size_t n = 0;
	bool look = false;

	for (size_t i = 0; i < PGP_ARRAY_LEN(looking); i++)
		look = look || strcmp(cmd->name, looking[i]) == 0;
	args[0] = '\0';
	for (int i = 1; i < argc && n < sizeof(args); i++) {
		int w;
		if (!pool && pool_by_name(argv[i])) {
			pool = argv[i];
			continue;
		}
		w = snprintf(args + n, sizeof(args) - n, " %.40s", argv[i]);
		n += w > 0 ? (size_t)w : 0;
	}
	log_msg(status != ADMIN_EXIT_OK ? LOG_WARNING
	        : look                  ? LOG_DEBUG
	                                : LOG_INFO,
	        pool, LOG_NO_SLOT, "admin: %s%s by uid %u pid %d: %s", cmd->name, args,
	        (unsigned)c->cred.uid, (int)c->cred.pid, status == ADMIN_EXIT_OK ? "ok" : err);
}

static void admin_handle(struct reqconn *c, const char *req, size_t len)
{
	char line[ADMIN_REQUEST_MAX + 1], *argv[ADMIN_MAX_ARGS + 1], *save = NULL, *tok;
	const struct admin_command_spec *cmd = NULL;
	admin_cmd_fn run = NULL;
	struct admin_ctx x;
	bool json = false;
	int argc = 0, status;

	memcpy(line, req, len < sizeof(line) ? len : sizeof(line) - 1);
	line[len < sizeof(line) ? len : sizeof(line) - 1] = '\0';
	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == 0 && !json && strcmp(tok, "json") == 0) {
			json = true;
			continue;
		}
		if (argc == ADMIN_MAX_ARGS) {
			admin_answer(c, ADMIN_EXIT_USAGE, "too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		admin_answer(c, ADMIN_EXIT_USAGE, "empty request: expected a command");
		return;
	}
	for (size_t i = 0; i < ADMIN_NCOMMANDS && !cmd; i++) {
		if (strcmp(admin_command_specs[i].name, argv[0]) == 0) {
			cmd = &admin_command_specs[i];
			run = admin_fns[i];
		}
	}
	if (!cmd) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "unknown command \"%.64s\" (pgpool-cli --help lists them)", argv[0]);
		admin_answer(c, ADMIN_EXIT_USAGE, msg);
		return;
	}
	if (!cmd->anyone && !admin_allowed(c)) {
		char msg[256];
		log_warn("admin socket: \"%s\" refused to uid %u (pid %d): not root, the broker's "
		         "user or in admin_group",
		         cmd->name, c->has_cred ? (unsigned)c->cred.uid : 0u,
		         c->has_cred ? (int)c->cred.pid : 0);
		snprintf(msg, sizeof(msg),
		         "permission denied: \"%s\" needs root, the broker's user or a member of "
		         "[broker] admin_group%s%s",
		         cmd->name, broker.cfg.has_admin_group ? " " : " (none is configured)",
		         broker.cfg.has_admin_group ? broker.cfg.admin_group : "");
		admin_answer(c, ADMIN_EXIT_DENIED, msg);
		return;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		char msg[160];
		snprintf(msg, sizeof(msg), "usage: %s", cmd->usage);
		admin_answer(c, ADMIN_EXIT_USAGE, msg);
		return;
	}
	memset(&x, 0, sizeof(x));
	out_init(&x.out, json, false);
	x.conn = c;
	status = run(&x, argc - 1, argv + 1);
	admin_log(c, cmd, argc, argv, status, x.err);
	if (status != ADMIN_EXIT_OK) {
		admin_answer(c, status, x.err[0] ? x.err : "failed");
	} else {
		c->out.len = 0;
		if (reqsrv_printf(&c->out, "%d\n", status) < 0 || out_render(&x.out, &c->out) < 0)
			admin_answer(c, ADMIN_EXIT_FAILED, "out of memory");
	}
	out_free(&x.out);
}

/* ---- the socket ---- */

int admin_listen(void)
{
	const char *path = broker.cfg.admin_socket;
	mode_t mode = broker.cfg.has_admin_group ? 0660 : 0600;
	int fd, rc;

	if (!path)
		return 0;
	fd = unixsock_listen(path, SOCK_STREAM, mode,
	                     broker.cfg.has_admin_group ? &broker.cfg.admin_gid : NULL, 16,
	                     "admin socket");
	if (fd < 0)
		return fd;
	rc = reqsrv_start(&admin_srv, fd);
	if (rc) {
		unlink(path);
		close(fd);
		return rc;
	}
	log_info("admin socket %s (mode %04o%s%s)", path, (unsigned)mode,
	         broker.cfg.has_admin_group ? ", admin_group " : "",
	         broker.cfg.has_admin_group ? broker.cfg.admin_group : "");
	return 0;
}

void admin_stop(void)
{
	admin_ctl_stop();
	if (admin_srv.fd < 0)
		return;
	reqsrv_stop(&admin_srv);
	if (broker.cfg.admin_socket && unlink(broker.cfg.admin_socket) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", broker.cfg.admin_socket, strerror(errno));
}
