/*
 * admin_proto.h: the admin socket's protocol, shared by the broker (admin.c) and pgpool-cli.
 *
 * A client connects to the admin socket (SOCK_STREAM, [broker] admin_socket), writes one line
 *     [json ]COMMAND [ARG...]\n
 * (at most ADMIN_REQUEST_MAX bytes) and reads until EOF an answer whose first line is the exit
 * status pgpool-cli should end with (ADMIN_EXIT_*), followed by the body: JSON when the line
 * began with "json ", else text for people. On an error status the body is the message.
 */
#ifndef BROKER_ADMIN_PROTO_H
#define BROKER_ADMIN_PROTO_H

#define ADMIN_DEFAULT_SOCKET "/run/pgpool/admin.sock"
#define ADMIN_SOCKET_NAME    "admin.sock" /* default: next to the control socket */
#define ADMIN_REQUEST_MAX    1024
#define ADMIN_MAX_ARGS       8

/* Exit statuses of pgpool-cli (documented in pgpool-cli(1) and --help). */
#define ADMIN_EXIT_OK          0 /* done */
#define ADMIN_EXIT_FAILED      1 /* the broker could not do it (unknown pool, wrong state...) */
#define ADMIN_EXIT_USAGE       2 /* unknown command or bad arguments */
#define ADMIN_EXIT_UNREACHABLE 3 /* no broker answers on the admin socket (pgpool-cli only) */
#define ADMIN_EXIT_DENIED      4 /* the caller is not root, the broker's user or in admin_group */
#define ADMIN_EXIT_NOT_ALIVE   5 /* is-alive: the broker answers but is not serving */

/* The commands, for the broker (which runs them) and pgpool-cli (which checks a command line
 * before sending it, and prints --help from this table). */
struct admin_command_spec {
	const char *name;
	int min_args, max_args;
	int anyone; /* needs no admin rights */
	const char *usage;
	const char *help;
};

static const struct admin_command_spec admin_command_specs[] = {
    {"status", 0, 0, 0, "status", "the broker: version, state, uptime, sockets, totals"},
    {"pools", 0, 1, 0, "pools [POOL]", "each pool: status, connections by state, counters"},
    {"slots", 0, 1, 0, "slots [POOL]",
     "each backend: state, owner pid, backend pid, age, idle time, queries, prepared"},
    {"workers", 0, 0, 0, "workers", "connected worker processes and the leases they hold"},
    {"flush", 1, 2, 0, "flush idle|gracefully|all [POOL]",
     "close idle connections; gracefully: the rest once idle; all: cut those in use too"},
    {"pause", 1, 1, 0, "pause POOL", "no new leases (waiters wait, up to acquire_timeout)"},
    {"resume", 1, 1, 0, "resume POOL", "end pause or disable; waiters get idle connections"},
    {"enable", 1, 1, 0, "enable POOL", "accept leases again after disable"},
    {"disable", 1, 1, 0, "disable POOL", "new leases fail with SQLSTATE 08004; waiters too"},
    {"reconnect", 1, 1, 0, "reconnect POOL",
     "replace every connection with a new one, each once it is idle"},
    {"reload", 0, 0, 0, "reload", "re-read the configuration file (same as SIGHUP)"},
    {"shutdown", 0, 1, 0, "shutdown [graceful|fast|cancel]",
     "stop: graceful waits for leases (shutdown_timeout), fast cuts them; cancel undoes "
     "graceful"},
    {"is-alive", 0, 0, 1, "is-alive", "exit 0 if the broker serves (for readiness probes)"},
};

#define ADMIN_NCOMMANDS (sizeof(admin_command_specs) / sizeof(admin_command_specs[0]))

#endif
