/*
 * pgpool_timeout.c: PHP's max_execution_time as a wall-clock bound on database waits.
 *
 * On Linux PHP measures max_execution_time in CPU time (ITIMER_PROF), so it never fires while a
 * worker sleeps in poll() waiting for PostgreSQL: a stuck statement would hold the worker (and
 * its lease) for ever. The driver therefore bounds every database wait by the wall clock: the
 * limit counts from the start of the request, or from the last set_time_limit() / ini_set() of
 * max_execution_time, as PHP's own timer does. When it runs out during a statement, the broker
 * cancels the statement, the connection is drained and rolled back (the lease returns clean),
 * and PHP's usual fatal error "Maximum execution time of N seconds exceeded" is raised.
 *
 * To see set_time_limit(), the INI entry's modify handler is wrapped at module startup (the
 * original still does all the work; the wrapper only notes the time).
 */
#include "php.h"
#include "php_ini.h"
#include "zend_ini.h"

#include "pgpool_driver_int.h"

/* pgp_now_us() when PHP's timer was last armed (request start, set_time_limit()). */
static uint64_t timeout_armed_us;
static zend_ini_entry *timeout_entry;
static int (*timeout_orig_modify)(zend_ini_entry *entry, zend_string *new_value, void *mh_arg1,
                                  void *mh_arg2, void *mh_arg3, int stage);

static PHP_INI_MH(pgpool_timeout_on_modify)
{
	int rc = timeout_orig_modify(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);

	/* PHP re-arms its timer on every change except at startup and when values are restored
	 * at request end (main.c OnUpdateTimeout). */
	if (rc == SUCCESS && stage != PHP_INI_STAGE_STARTUP && stage != PHP_INI_STAGE_DEACTIVATE)
		timeout_armed_us = pgp_now_us();
	return rc;
}

void pgpool_timeout_minit(void)
{
	timeout_entry = zend_hash_str_find_ptr(EG(ini_directives), "max_execution_time",
	                                       sizeof("max_execution_time") - 1);
	if (timeout_entry != NULL && timeout_entry->on_modify != NULL) {
		timeout_orig_modify = timeout_entry->on_modify;
		timeout_entry->on_modify = pgpool_timeout_on_modify;
	} else {
		timeout_entry = NULL;
	}
}

void pgpool_timeout_mshutdown(void)
{
	if (timeout_entry != NULL && timeout_entry->on_modify == pgpool_timeout_on_modify)
		timeout_entry->on_modify = timeout_orig_modify;
	timeout_entry = NULL;
}

void pgpool_timeout_rinit(void)
{
	timeout_armed_us = pgp_now_us();
}

uint64_t pgpool_timeout_deadline_us(void)
{
	zend_long secs = EG(timeout_seconds);

	/* Shutdown functions and destructors at request end clean up after a timeout; PHP's own
	 * hard timeout bounds them. */
	if (secs <= 0 || timeout_armed_us == 0 || (EG(flags) & EG_FLAGS_IN_SHUTDOWN))
		return 0;
	return timeout_armed_us + (uint64_t)secs * 1000000u;
}

bool pgpool_timeout_expired(void)
{
	uint64_t deadline = pgpool_timeout_deadline_us();

	return deadline != 0 && pgp_now_us() >= deadline;
}

ZEND_NORETURN void pgpool_timeout_raise(void)
{
	/* What PHP's own timer does when it fires (zend_timeout(): the fatal error, and the hard
	 * timeout for shutdown functions). */
	zend_timeout();
}
