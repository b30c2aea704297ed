/*
 * io_uring_probe: tells whether this process may use io_uring, the way a container's seccomp
 * profile or kernel.io_uring_disabled would decide for the broker. scripts/test uses it to report
 * the io_uring run as skipped, with the reason, where io_uring is refused.
 * Exit 0 and print "io_uring available", or exit 1 and print why not.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	long fd = syscall(__NR_io_uring_setup, 4, &params);
	if (fd < 0) {
		int err = errno;
		FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
		int disabled = 0;
		if (f) {
			if (fscanf(f, "%d", &disabled) != 1)
				disabled = 0;
			fclose(f);
		}
		printf("io_uring refused: io_uring_setup: %s%s\n", strerror(err),
		       disabled ? " (kernel.io_uring_disabled is set)" : "");
		return 1;
	}
	close((int)fd);
	printf("io_uring available\n");
	return 0;
}
