/*
 * notify.c: sd_notify without libsystemd, and the STATUS= line kept current.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"

#define NOTIFY_STATUS_PERIOD_US 2000000u

static bool stopping_deferred;
static bool stopping_sent;
static struct loop_timer status_timer;
static char status_last[256];

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	socklen_t salen;
	int fd, rc = 0;

	if (strncmp(state, "STOPPING=1", 10) == 0) {
		if (stopping_deferred)
			return 0;
		stopping_sent = true;
	}
	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	/* "@name" is a socket in the abstract namespace: a leading NUL byte. */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void notify_summary(char *out, size_t len)
{
	uint32_t c[8], leased = 0, idle = 0, backends = 0, waiting = 0;

	for (uint32_t i = 0; i < broker.npools; i++) {
		uint32_t w = atomic_load(&broker.pools[i].shm->waiting);
		pool_count(&broker.pools[i], c);
		leased += c[PGP_SLOT_LEASED];
		idle += c[PGP_SLOT_IDLE];
		backends += c[PGP_SLOT_IDLE] + c[PGP_SLOT_LEASED] + c[PGP_SLOT_BUSY] +
		            c[PGP_SLOT_DISCARD] + c[PGP_SLOT_RESET];
		/* written by workers: bounded by the pool size */
		waiting += w < broker.pools[i].nslots ? w : broker.pools[i].nslots;
	}
	snprintf(out, len,
	         "%s%u pool(s), %u backend(s) (%u leased, %u idle), %u waiting, %u worker(s)",
	         broker.state == BROKER_STOPPING ? "stopping: " : "", metrics_pools_configured(),
	         backends, leased, idle, waiting, broker.nconns);
}

static void notify_status_send(bool force)
{
	char line[256], msg[300];

	notify_summary(line, sizeof(line));
	if (!force && strcmp(line, status_last) == 0)
		return;
	snprintf(status_last, sizeof(status_last), "%s", line);
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	(void)notify_send(msg);
}

static void notify_status_tick(void *ctx, struct loop_timer *t)
{
	(void)ctx;
	(void)t;
	notify_status_send(false);
	loop_timer_start(broker.loop, &status_timer, NOTIFY_STATUS_PERIOD_US, notify_status_tick,
	                 NULL);
}

void notify_status_start(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (!path || !*path)
		return;
	loop_timer_start(broker.loop, &status_timer, NOTIFY_STATUS_PERIOD_US, notify_status_tick,
	                 NULL);
}

void notify_status_stop(void)
{
	loop_timer_stop(broker.loop, &status_timer);
}

void notify_reloading(void)
{
	char msg[96];

	/* systemd >= 253 wants the CLOCK_MONOTONIC time of the reload request with RELOADING=1
	 * (pgp_now_us() reads that clock). */
	snprintf(msg, sizeof(msg),
	         "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%" PRIu64,
	         pgp_now_us());
	if (notify_send(msg) < 0)
		log_warn("cannot notify systemd (NOTIFY_SOCKET)");
}

void notify_reloaded(void)
{
	char line[256], msg[300];

	notify_summary(line, sizeof(line));
	snprintf(status_last, sizeof(status_last), "%s", line);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", line);
	if (notify_send(msg) < 0)
		log_warn("cannot notify systemd (NOTIFY_SOCKET)");
}

void notify_defer_stopping(void)
{
	stopping_deferred = true;
}

bool notify_stopping_sent(void)
{
	return stopping_sent;
}

void notify_resumed(void)
{
	stopping_deferred = false;
	notify_reloaded();
}
