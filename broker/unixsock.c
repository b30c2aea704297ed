/*
 * unixsock.c: creating the broker's listening Unix sockets (see unixsock.h).
 */
#include "unixsock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "perm.h"

/* mkdir -p of the socket's directory. */
static int unixsock_mkdirs(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* An existing file at the socket path: a live listener refuses, a stale socket is removed. */
static int unixsock_clear_stale(const char *path, int type, const char *what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s exists and is not a socket: remove it or configure another %s", path,
		          what);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		log_error("another process listens on %s (another pgpool-broker?): stop it first",
		          path);
		return -EADDRINUSE;
	}
	close(fd);
	log_info("removing stale %s %s", what, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int unixsock_listen(const char *path, int type, mode_t mode, const gid_t *gid, int backlog,
                    const char *what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[600], desc[200];
	struct stat st;
	mode_t old_umask;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	rc = unixsock_mkdirs(path);
	if (rc) {
		log_error("cannot create the directory of %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = perm_check_socket_dir(path, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc;
	}
	rc = unixsock_clear_stale(path, type, what);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	old_umask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc < 0) {
		rc = -errno;
		log_error("cannot bind the %s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if ((gid && chown(path, (uid_t)-1, *gid) < 0) || chmod(path, mode) < 0) {
		rc = -errno;
		log_error("cannot set mode/group of %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if (stat(path, &st) < 0) {
		rc = -errno;
		log_error("cannot stat %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	snprintf(desc, sizeof(desc), "the %s %s", what, path);
	rc = perm_verify(&st, geteuid(), gid ? *gid : (gid_t)-1, mode, desc, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		goto fail_unlink;
	}
	if (listen(fd, backlog) < 0) {
		rc = -errno;
		log_error("cannot listen on %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	return fd;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return rc;
}
