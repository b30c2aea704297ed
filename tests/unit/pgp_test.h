/*
 * pgp_test.h: the C unit tests' assertion and runner header (each test_*.c is one program).
 *
 *   PGP_TEST(name) { CHECK(x == 1); CHECK_INT(a, ==, b); CHECK_STR(s, "x"); }
 *   int main(int argc, char **argv) { return pgp_test_main(argc, argv); }
 *
 * Every test case runs in its own forked child, so a failed check, a crash, a sanitizer report
 * (including LeakSanitizer at exit) or a hang (PGP_TEST_TIMEOUT seconds, default 60) fails that
 * case alone and the others still run. The program ends with one line
 * "<program>: N passed, M failed" and exits 1 if any case failed. Arguments select cases whose
 * name contains one of them. PGP_TEST_NOFORK=1 runs cases in-process (for a debugger); the
 * first failure then ends the program.
 */
#ifndef PGP_TEST_H
#define PGP_TEST_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*pgp_test_fn)(void);

#define PGP_TEST_MAX 512

static struct {
	const char *name;
	pgp_test_fn fn;
} pgp_test_cases[PGP_TEST_MAX];
static int pgp_test_count;
static const char *pgp_test_current = "?";

__attribute__((unused)) static void pgp_test_register(const char *name, pgp_test_fn fn)
{
	if (pgp_test_count == PGP_TEST_MAX) {
		fprintf(stderr, "pgp_test.h: more than %d test cases\n", PGP_TEST_MAX);
		abort();
	}
	pgp_test_cases[pgp_test_count].name = name;
	pgp_test_cases[pgp_test_count].fn = fn;
	pgp_test_count++;
}

/* Define and register a test case (registration runs before main). */
#define PGP_TEST(name)                                                                             \
	static void name(void);                                                                    \
	__attribute__((constructor)) static void name##_register(void)                             \
	{                                                                                          \
		pgp_test_register(#name, name);                                                    \
	}                                                                                          \
	static void name(void)

__attribute__((format(printf, 3, 4), noreturn)) static void
pgp_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (%s:%d): ", pgp_test_current, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	exit(1);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			pgp_test_fail(__FILE__, __LINE__, "%s", #cond);                            \
	} while (0)

/* Compare two integers (any integer types) with op, showing both values on failure. */
#define CHECK_INT(a, op, b)                                                                        \
	do {                                                                                       \
		long long pgp_a_ = (long long)(a), pgp_b_ = (long long)(b);                        \
		if (!(pgp_a_ op pgp_b_))                                                           \
			pgp_test_fail(__FILE__, __LINE__, "%s %s %s (%lld vs %lld)", #a, #op, #b,  \
			              pgp_a_, pgp_b_);                                             \
	} while (0)

/* Compare two strings; NULL equals only NULL. */
#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *pgp_a_ = (a), *pgp_b_ = (b);                                           \
		if ((pgp_a_ == NULL) != (pgp_b_ == NULL) ||                                        \
		    (pgp_a_ != NULL && strcmp(pgp_a_, pgp_b_) != 0))                               \
			pgp_test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" vs \"%s\")", #a, #b,   \
			              pgp_a_ ? pgp_a_ : "(null)", pgp_b_ ? pgp_b_ : "(null)");     \
	} while (0)

/* Compare two byte ranges, reporting the first difference. */
#define CHECK_MEM(a, alen, b, blen) pgp_test_check_mem(__FILE__, __LINE__, #a, a, alen, b, blen)

__attribute__((unused)) static void pgp_test_check_mem(const char *file, int line, const char *what,
                                                       const void *a, size_t alen, const void *b,
                                                       size_t blen)
{
	const unsigned char *pa = a, *pb = b;
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++) {
		if (pa[i] != pb[i])
			pgp_test_fail(file, line, "%s: byte %zu is 0x%02x, expected 0x%02x", what,
			              i, pa[i], pb[i]);
	}
	if (alen != blen)
		pgp_test_fail(file, line, "%s: length %zu, expected %zu", what, alen, blen);
}

static int pgp_test_selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++) {
		if (strstr(name, argv[i]) != NULL)
			return 1;
	}
	return 0;
}

/* Run one case in a child; 1 if it passed. */
static int pgp_test_run_forked(int i, unsigned timeout)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "FAIL %s: fork: %s\n", pgp_test_cases[i].name, strerror(errno));
		return 0;
	}
	if (pid == 0) {
		/* Own process group: a case that forks helpers can have them all killed at once. */
		setpgid(0, 0);
		alarm(timeout);
		pgp_test_cases[i].fn();
		exit(0); /* exit, not _exit: LeakSanitizer reports at exit */
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "FAIL %s: waitpid: %s\n", pgp_test_cases[i].name,
			        strerror(errno));
			return 0;
		}
	}
	kill(-pid, SIGKILL); /* leftovers of the case, if any */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "FAIL %s: killed by signal %d%s\n", pgp_test_cases[i].name,
		        WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else if (WEXITSTATUS(status) != 1)
		fprintf(stderr, "FAIL %s: exit status %d\n", pgp_test_cases[i].name,
		        WEXITSTATUS(status));
	return 0;
}

static int pgp_test_main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *env_timeout = getenv("PGP_TEST_TIMEOUT");
	const char *env_nofork = getenv("PGP_TEST_NOFORK");
	int nofork = env_nofork != NULL && env_nofork[0] == '1';
	const char *env_verbose = getenv("PGP_TEST_VERBOSE");
	int verbose = env_verbose != NULL && env_verbose[0] == '1';
	unsigned timeout = env_timeout ? (unsigned)atoi(env_timeout) : 60;
	int i, passed = 0, failed = 0;

	for (i = 0; i < pgp_test_count; i++) {
		int ok;

		if (!pgp_test_selected(pgp_test_cases[i].name, argc, argv))
			continue;
		pgp_test_current = pgp_test_cases[i].name;
		if (nofork) {
			pgp_test_cases[i].fn();
			ok = 1;
		} else {
			ok = pgp_test_run_forked(i, timeout);
		}
		if (verbose)
			fprintf(stderr, "%s %s\n", ok ? "ok  " : "FAIL", pgp_test_cases[i].name);
		if (ok)
			passed++;
		else
			failed++;
	}
	printf("%s: %d passed, %d failed\n", prog, passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

#endif
