/*
 * pgpool-cli: talk to pgpool-broker's admin socket (see broker/admin_proto.h for the protocol,
 * dist/man/pgpool-cli.1 for the manual).
 *
 * The broker does the work and the formatting (one code path for tables and JSON); this program
 * finds the socket, checks the command line, sends one line, prints the answer and exits with
 * the status the broker chose, or 3 when no broker answers.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admin_proto.h"
#include "pgp_common.h"

#define CLI_ANSWER_MAX (64u << 20) /* a slots listing of 4096 backends is well below */

static const char *prog = "pgpool-cli";

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: %s [-s SOCKET | -c CONFIG] [--json] [-t SECONDS] COMMAND [ARG...]\n\n"
	    "Talks to pgpool-broker's admin socket.\n\n"
	    "Options:\n"
	    "  -s, --socket PATH    admin socket (default: $PGPOOL_ADMIN_SOCKET, else %s)\n"
	    "  -c, --config FILE    take the admin socket from the broker's configuration\n"
	    "                       ([broker] admin_socket, or admin.sock next to socket)\n"
	    "  -j, --json           answer in JSON (for scripts)\n"
	    "  -t, --timeout SECS   give up waiting for the broker after this long (default 10)\n"
	    "  -h, --help           this help;  -V, --version  the version\n\n"
	    "Commands:\n",
	    prog, ADMIN_DEFAULT_SOCKET);
	for (size_t i = 0; i < ADMIN_NCOMMANDS; i++)
		fprintf(f, "  %-34s %s\n", admin_command_specs[i].usage,
		        admin_command_specs[i].help);
	fprintf(f,
	        "\nExit status:\n"
	        "  %d  done\n"
	        "  %d  the broker could not do it (unknown pool, wrong state...)\n"
	        "  %d  usage: unknown command or bad arguments\n"
	        "  %d  no broker answers on the admin socket\n"
	        "  %d  permission denied (needs root, the broker's user or [broker] admin_group)\n"
	        "  %d  is-alive: the broker answers but is not serving (starting or stopping)\n",
	        ADMIN_EXIT_OK, ADMIN_EXIT_FAILED, ADMIN_EXIT_USAGE, ADMIN_EXIT_UNREACHABLE,
	        ADMIN_EXIT_DENIED, ADMIN_EXIT_NOT_ALIVE);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	if (e - s >= 2 && s[0] == '"' && e[-1] == '"') {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/* {"ok": false, "status": N, "error": "..."} on stdout: what --json prints when the broker
 * could not do the command (its success answer is {"ok": true, ...}). */
static void print_json_failure(int status, const char *msg)
{
	printf("{\"ok\": false, \"status\": %d, \"error\": \"", status);
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	printf("\"}\n");
}

/* The admin socket the broker with this configuration file listens on: [broker] admin_socket,
 * else admin.sock in the directory of [broker] socket (the broker's own rule). */
static int socket_from_config(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	char line[4096], sock[sizeof(((struct sockaddr_un *)0)->sun_path)] = "";
	char admin[sizeof(sock)] = "";
	int in_broker = 0;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *c;
		if (*s == '[') {
			in_broker = strncmp(s, "[broker]", 8) == 0;
			continue;
		}
		if (!in_broker || *s == ';' || *s == '#' || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		for (c = eq + 1; *c; c++) {
			if ((*c == ';' || *c == '#') && (c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		}
		if (strcmp(trim(s), "socket") == 0)
			snprintf(sock, sizeof(sock), "%s", trim(eq + 1));
		else if (strcmp(trim(s), "admin_socket") == 0)
			snprintf(admin, sizeof(admin), "%s", trim(eq + 1));
	}
	fclose(f);
	if (strcmp(admin, "off") == 0) {
		fprintf(stderr, "%s: %s: admin_socket = off: the broker has no admin socket\n",
		        prog, path);
		return -1;
	}
	if (admin[0]) {
		snprintf(out, outlen, "%s", admin);
	} else {
		const char *dflt = "/run/pgpool/pgpool.sock", *s = sock[0] ? sock : dflt;
		const char *slash = strrchr(s, '/');
		snprintf(out, outlen, "%.*s/%s", slash ? (int)(slash - s) : 0, s,
		         ADMIN_SOCKET_NAME);
	}
	return 0;
}

static const struct admin_command_spec *find_command(const char *name)
{
	for (size_t i = 0; i < ADMIN_NCOMMANDS; i++) {
		if (strcmp(admin_command_specs[i].name, name) == 0)
			return &admin_command_specs[i];
	}
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until fd is ready for events or the deadline passes: 0 ready, -1 timed out/failed. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		uint64_t now = now_ms();
		int rc;
		if (now >= deadline)
			return -1;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[sizeof(sa.sun_path)] = "", req[ADMIN_REQUEST_MAX + 1];
	const char *config = NULL, *env;
	const struct admin_command_spec *cmd;
	char *answer = NULL, *body;
	size_t alen = 0, acap = 0, rlen = 0;
	double timeout = 10.0;
	uint64_t deadline;
	int json = 0, opt, fd, status, nargs;

	while ((opt = getopt_long(argc, argv, "+s:c:jt:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (strlen(optarg) >= sizeof(path)) {
				fprintf(stderr, "%s: socket path too long\n", prog);
				return ADMIN_EXIT_USAGE;
			}
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			if (timeout <= 0 || timeout > 3600) {
				fprintf(stderr, "%s: --timeout takes seconds (0 < t <= 3600)\n",
				        prog);
				return ADMIN_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return ADMIN_EXIT_OK;
		case 'V':
			printf("pgpool-cli %s\n", PGP_VERSION_STRING);
			return ADMIN_EXIT_OK;
		default:
			usage(stderr);
			return ADMIN_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ADMIN_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	nargs = argc - optind - 1;
	if (!cmd) {
		fprintf(stderr, "%s: unknown command \"%s\" (%s --help lists them)\n", prog,
		        argv[optind], prog);
		return ADMIN_EXIT_USAGE;
	}
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "usage: %s %s\n", prog, cmd->usage);
		return ADMIN_EXIT_USAGE;
	}
	/* The request line: every argument must be one word without control characters. */
	rlen = (size_t)snprintf(req, sizeof(req), "%s%s", json ? "json " : "", cmd->name);
	for (int i = optind + 1; i < argc; i++) {
		for (const char *c = argv[i]; *c; c++) {
			if ((unsigned char)*c <= 0x20) {
				fprintf(stderr,
				        "%s: argument \"%s\" may not hold spaces or control "
				        "characters\n",
				        prog, argv[i]);
				return ADMIN_EXIT_USAGE;
			}
		}
		rlen += (size_t)snprintf(req + rlen, rlen < sizeof(req) ? sizeof(req) - rlen : 0,
		                         " %s", argv[i]);
	}
	if (rlen + 1 >= sizeof(req)) {
		fprintf(stderr, "%s: command line too long\n", prog);
		return ADMIN_EXIT_USAGE;
	}
	req[rlen++] = '\n';

	if (!path[0] && config && socket_from_config(config, path, sizeof(path)) < 0)
		return ADMIN_EXIT_USAGE;
	if (!path[0] && (env = getenv("PGPOOL_ADMIN_SOCKET")) && *env)
		snprintf(path, sizeof(path), "%s", env);
	if (!path[0])
		snprintf(path, sizeof(path), "%s", ADMIN_DEFAULT_SOCKET);

	deadline = now_ms() + (uint64_t)(timeout * 1000.0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		fprintf(stderr, "%s: cannot connect to %s: %s%s\n", prog, path, strerror(e),
		        e == EACCES ? " (run as root, as the broker's user or as a member of "
		                      "[broker] admin_group)"
		        : e == ENOENT || e == ECONNREFUSED
		            ? " (is pgpool-broker running? -s/-c name another socket)"
		            : "");
		return e == EACCES ? ADMIN_EXIT_DENIED : ADMIN_EXIT_UNREACHABLE;
	}
	for (size_t sent = 0; sent < rlen;) {
		ssize_t n = send(fd, req + sent, rlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: cannot send to %s: %s\n", prog, path, strerror(errno));
			return ADMIN_EXIT_UNREACHABLE;
		}
		sent += (size_t)n;
	}
	for (;;) {
		ssize_t n;
		if (alen + 4096 + 1 > acap) {
			char *a;
			acap = acap ? acap * 2 : 65536;
			if (acap > CLI_ANSWER_MAX || !(a = realloc(answer, acap))) {
				fprintf(stderr, "%s: the answer is too large\n", prog);
				return ADMIN_EXIT_FAILED;
			}
			answer = a;
		}
		if (wait_fd(fd, POLLIN, deadline) < 0) {
			fprintf(stderr, "%s: no answer from %s within %.1f s\n", prog, path,
			        timeout);
			return ADMIN_EXIT_UNREACHABLE;
		}
		n = recv(fd, answer + alen, acap - alen - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: reading from %s: %s\n", prog, path, strerror(errno));
			return ADMIN_EXIT_UNREACHABLE;
		}
		if (n == 0)
			break;
		alen += (size_t)n;
	}
	close(fd);
	answer[alen] = '\0';
	body = strchr(answer, '\n');
	if (!body || sscanf(answer, "%d", &status) != 1 || status < 0 || status > 125) {
		fprintf(stderr, "%s: unexpected answer from %s (not pgpool-broker?)\n", prog, path);
		return ADMIN_EXIT_FAILED;
	}
	body++;
	if (status == ADMIN_EXIT_OK) {
		fputs(body, stdout);
	} else {
		size_t bl = strlen(body);
		while (bl > 0 && body[bl - 1] == '\n')
			body[--bl] = '\0';
		fprintf(stderr, "%s: %s\n", prog, body);
		/* A script reading the JSON answer sees the failure there too. */
		if (json)
			print_json_failure(status, body);
	}
	free(answer);
	return status;
}
