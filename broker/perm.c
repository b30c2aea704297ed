/*
 * perm.c: secret files, the socket directory, and what the broker created (see perm.h).
 */
#include "perm.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int perm_check_secret(int fd, const char *path, const char *what, char *err, size_t cap)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, cap, "%s \"%s\": %s", what, path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* a pipe, /dev/stdin, a systemd credential: no mode to judge */
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, cap,
		         "%s \"%s\" holds a password and is %s by every user (mode %04o): "
		         "chmod o-rwx it (e.g. 0640 root:pgpool, or 0600)",
		         what, path, st.st_mode & S_IWOTH ? "writable" : "readable",
		         (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* One directory of the socket's path: may other users replace what is in it? */
static int perm_dir_ok(const char *dir, bool is_parent_of_socket, char *err, size_t cap)
{
	struct stat st;
	uid_t me = geteuid();

	if (stat(dir, &st) < 0) {
		snprintf(err, cap, "socket directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (is_parent_of_socket) {
		if (st.st_mode & S_IWOTH) {
			snprintf(err, cap,
			         "the control socket's directory %s is writable by every user "
			         "(mode %04o): another user could put their own socket there "
			         "before the broker starts and collect the workers' passwords; "
			         "use a directory of its own, e.g. /run/pgpool (0755)",
			         dir, (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
		if (st.st_uid != 0 && st.st_uid != me) {
			snprintf(
			    err, cap,
			    "the control socket's directory %s belongs to uid %u, not to root "
			    "or the broker's user (uid %u): its owner could replace the socket",
			    dir, (unsigned)st.st_uid, (unsigned)me);
			return -EPERM;
		}
		return 0;
	}
	/* Above it: a directory writable by others must be sticky (like /tmp), else anyone could
	 * rename the socket's directory away and put their own in its place. */
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, cap,
		         "%s, above the control socket, is writable by every user without the "
		         "sticky bit (mode %04o): anyone could replace the socket's directory",
		         dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int perm_check_socket_dir(const char *socket_path, char *err, size_t cap)
{
	char dir[PATH_MAX];
	char *slash;
	int rc;

	if (snprintf(dir, sizeof(dir), "%s", socket_path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	rc = perm_dir_ok(dir, true, err, cap);
	while (rc == 0 && strcmp(dir, "/") != 0) {
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		rc = perm_dir_ok(dir, false, err, cap);
	}
	return rc;
}

int perm_verify(const struct stat *st, uid_t uid, gid_t gid, mode_t mode, const char *what,
                char *err, size_t cap)
{
	char group[16] = "any";

	if (st->st_uid != uid || (gid != (gid_t)-1 && st->st_gid != gid) ||
	    (st->st_mode & 07777) != (mode & 07777)) {
		if (gid != (gid_t)-1)
			snprintf(group, sizeof(group), "%u", (unsigned)gid);
		snprintf(err, cap,
		         "%s has owner %u, group %u, mode %04o; the config asks for owner %u, "
		         "group %s, mode %04o (a file system that ignores chmod/chown?)",
		         what, (unsigned)st->st_uid, (unsigned)st->st_gid,
		         (unsigned)(st->st_mode & 07777), (unsigned)uid, group,
		         (unsigned)(mode & 07777));
		return -EPERM;
	}
	return 0;
}
