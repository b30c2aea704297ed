/*
 * shm.c: create, publish, refresh and remove the shared-memory segment.
 */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "perm.h"
#include "orphan.h"

/* The header as the broker wrote it (its atomics aside): workers map the segment read-write,
 * and one that scribbled over the header would keep every new worker from mapping it. */
static struct pgp_shm_header shm_header_copy;

static uint64_t shm_new_epoch(void)
{
	uint64_t e = 0;

	while (e == 0) {
		if (getrandom(&e, sizeof(e), 0) != (ssize_t)sizeof(e))
			e = pgp_wall_us() ^ ((uint64_t)getpid() << 40);
	}
	return e;
}

/* 1 if pid has exited but its parent has not reaped it yet (state Z or X in /proc/PID/stat). A
 * killed broker stays so in a container whose PID 1 does not reap, or under a wrapper script:
 * kill(pid, 0) and /proc/PID/comm still succeed for it, yet it holds nothing any more. */
static int shm_pid_is_zombie(int32_t pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (COMM) S ...": COMM may hold spaces and parentheses, the last ')' ends it. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2] == 'Z' || p[2] == 'X';
}

/* 1 if pid is a running pgpool-broker other than us: its name says so, or (a broker run under
 * a wrapper such as valgrind has another name) it refreshed the heartbeat in the last 2 s. */
static int shm_pid_is_broker(int32_t pid, uint64_t heartbeat_us)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || pid == getpid())
		return 0;
	if (kill(pid, 0) < 0 && errno != EPERM)
		return 0;
	if (shm_pid_is_zombie(pid))
		return 0;
	if (heartbeat_us + 2000000u > pgp_now_us())
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "pgpool-broker") == 0;
}

/* Inspect an existing segment: -EEXIST if a live broker owns it, else 0 (it may be removed). */
static int shm_check_existing(const char *name)
{
	struct stat st;
	void *base;
	pgp_shm old;
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct pgp_shm_header)) {
		log_warn("removing shm segment %s: not a pgpool segment (size %lld)", name,
		         (long long)st.st_size);
		goto out;
	}
	/* Read-write: the orphan cleanup takes the idle slots of a dead broker's segment. */
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	if (pgp_shm_validate(base, (size_t)st.st_size, &old) != 0) {
		log_warn("removing shm segment %s: unknown layout (another pgpool version?)", name);
	} else if (shm_pid_is_broker(old.hdr->broker_pid, atomic_load(&old.hdr->heartbeat_us)) &&
	           atomic_load(&old.hdr->state) != PGP_SHM_STOPPED) {
		log_error("shm segment %s belongs to a running pgpool-broker (pid %d): stop it "
		          "first, or give this broker another shm_name",
		          name, old.hdr->broker_pid);
		rc = -EEXIST;
	} else {
		log_warn("removing stale shm segment %s of broker pid %d (not running)", name,
		         old.hdr->broker_pid);
		/* Its backends may still be open: the orphan cleanup keeps the mapping. */
		orphan_adopt(&old, (size_t)st.st_size);
		base = MAP_FAILED;
	}
	if (base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
out:
	close(fd);
	return rc;
}

int shm_create(uint32_t npools, uint32_t nslots)
{
	const char *name = broker.cfg.shm_name;
	size_t size = pgp_shm_layout_size(npools, nslots);
	void *base = MAP_FAILED;
	char err[400], desc[100];
	struct stat st;
	int fd = -1, rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		rc = shm_check_existing(name);
		if (rc)
			return rc;
		if (shm_unlink(name) < 0 && errno != ENOENT) {
			rc = -errno;
			log_error("cannot remove old shm segment %s: %s", name, strerror(errno));
			return rc;
		}
	}
	if (fd < 0) {
		rc = -errno;
		log_error("cannot create shm segment %s: %s", name, strerror(errno));
		return rc;
	}
	/* shm_open applied the umask: set the configured mode and group explicitly. */
	if (fchmod(fd, broker.cfg.socket_mode & 0666) < 0 ||
	    (broker.cfg.has_socket_group && fchown(fd, (uid_t)-1, broker.cfg.socket_gid) < 0)) {
		rc = -errno;
		log_error("cannot set mode/group of shm segment %s: %s", name, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		log_error("cannot stat shm segment %s: %s", name, strerror(errno));
		goto fail;
	}
	snprintf(desc, sizeof(desc), "shm segment /dev/shm%s", name);
	rc = perm_verify(&st, geteuid(),
	                 broker.cfg.has_socket_group ? broker.cfg.socket_gid : (gid_t)-1,
	                 broker.cfg.socket_mode & 0666, desc, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		goto fail;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = -errno;
		log_error("cannot size shm segment %s to %zu bytes: %s", name, size,
		          strerror(errno));
		goto fail;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		log_error("cannot map shm segment %s: %s", name, strerror(errno));
		goto fail;
	}
	rc = pgp_shm_format(base, size, npools, nslots, shm_new_epoch(), &broker.shm);
	if (rc) {
		log_error("cannot lay out shm segment %s: %s", name, strerror(-rc));
		goto fail;
	}
	broker.shm.hdr->started_wall_us = pgp_wall_us();
	broker.shm_created = true;
	memcpy(&shm_header_copy, broker.shm.hdr, sizeof(shm_header_copy));
	close(fd);
	log_info("shm segment %s created: %zu bytes, %u pool(s), %u slot(s), epoch %016llx", name,
	         size, npools, nslots, (unsigned long long)broker.shm.epoch);
	return 0;
fail:
	if (base != MAP_FAILED)
		munmap(base, size);
	close(fd);
	shm_unlink(name);
	return rc;
}

void shm_publish(void)
{
	pgp_shm_publish(&broker.shm);
}

/* Put back the header's broker-written fields if they changed (the atomics are the broker's
 * own running values and npools follows broker.npools). */
static void shm_repair_header(void)
{
	struct pgp_shm_header *h = broker.shm.hdr;
	struct pgp_shm_header want = shm_header_copy;

	want.npools = broker.npools;
	if (h->magic == want.magic && h->version == want.version &&
	    h->header_size == want.header_size && h->size == want.size && h->epoch == want.epoch &&
	    h->broker_pid == want.broker_pid && h->started_wall_us == want.started_wall_us &&
	    h->npools == want.npools && h->pool_size == want.pool_size &&
	    h->pools_off == want.pools_off && h->npools_cap == want.npools_cap &&
	    h->nslots == want.nslots && h->slot_size == want.slot_size &&
	    h->ring_size == want.ring_size && h->slots_off == want.slots_off &&
	    h->rings_off == want.rings_off && h->waiter_size == want.waiter_size &&
	    h->reserved0 == want.reserved0)
		return;
	log_warn("the shm segment's header was scribbled over: restored");
	h->magic = want.magic;
	h->version = want.version;
	h->header_size = want.header_size;
	h->size = want.size;
	h->epoch = want.epoch;
	h->broker_pid = want.broker_pid;
	h->started_wall_us = want.started_wall_us;
	h->npools = want.npools;
	h->pool_size = want.pool_size;
	h->pools_off = want.pools_off;
	h->npools_cap = want.npools_cap;
	h->nslots = want.nslots;
	h->slot_size = want.slot_size;
	h->ring_size = want.ring_size;
	h->slots_off = want.slots_off;
	h->rings_off = want.rings_off;
	h->waiter_size = want.waiter_size;
	h->reserved0 = want.reserved0;
}

void shm_heartbeat(void)
{
	if (!broker.shm_created)
		return;
	atomic_store(&broker.shm.hdr->heartbeat_us, pgp_now_us());
	shm_repair_header();
}

void shm_set_state(uint32_t state)
{
	if (broker.shm_created)
		atomic_store(&broker.shm.hdr->state, state);
}

void shm_destroy(void)
{
	if (!broker.shm_created)
		return;
	atomic_store(&broker.shm.hdr->state, PGP_SHM_STOPPED);
	if (shm_unlink(broker.cfg.shm_name) < 0 && errno != ENOENT)
		log_warn("cannot remove shm segment %s: %s", broker.cfg.shm_name, strerror(errno));
	munmap(broker.shm.base, broker.shm.size);
	memset(&broker.shm, 0, sizeof(broker.shm));
	broker.shm_created = false;
	orphan_fini();
}
