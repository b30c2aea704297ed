/*
 * pgpool.c: the PHP module `pgpool`: INI settings, module hooks, pgpool_stats() and the phpinfo()
 * section. The PDO driver (pgpool_driver.c) and the pool layer (pgpool_lease.c, pgpool_proc.c)
 * hang off the hooks here.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "php.h"
#include "php_ini.h"
#include "ext/standard/info.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

#include "php_pgpool.h"
#include "pgpool_driver_int.h"
#include "pgpool_proc.h"
#include "pgpool_arginfo.h"

ZEND_DECLARE_MODULE_GLOBALS(pgpool)

/* 1 ms .. 10 min: a reply the broker owes comes within milliseconds; 0 would never wait. */
static PHP_INI_MH(OnUpdateBrokerTimeout)
{
	zend_long v = ZEND_STRTOL(ZSTR_VAL(new_value), NULL, 10);

	if (v < 1 || v > 600000) {
		return FAILURE;
	}
	return OnUpdateLong(entry, new_value, mh_arg1, mh_arg2, mh_arg3, stage);
}

/* 4 KiB .. 1 GiB (PostgreSQL builds no message longer than 1 GiB). */
static PHP_INI_MH(OnUpdateMaxMessageSize)
{
	zend_long v = zend_ini_parse_quantity_warn(new_value, entry->name);

	if (v < 4096 || v > (zend_long)PGP_MSG_MAX_DEFAULT) {
		return FAILURE;
	}
	*(zend_long *)ZEND_INI_GET_ADDR() = v;
	return SUCCESS;
}

/* pgpool.socket is per process (one control connection per worker), so only php.ini, -d or
 * php-fpm's php_admin_value may set it. */
PHP_INI_BEGIN()
STD_PHP_INI_ENTRY("pgpool.socket", PGPOOL_DEFAULT_SOCKET, PHP_INI_SYSTEM, OnUpdateString, socket,
                  zend_pgpool_globals, pgpool_globals)
STD_PHP_INI_ENTRY("pgpool.broker_timeout", ZEND_TOSTR(PGPOOL_DEFAULT_TIMEOUT_MS), PHP_INI_ALL,
                  OnUpdateBrokerTimeout, broker_timeout, zend_pgpool_globals, pgpool_globals)
STD_PHP_INI_ENTRY("pgpool.max_message_size", "1G", PHP_INI_ALL, OnUpdateMaxMessageSize,
                  max_message_size, zend_pgpool_globals, pgpool_globals)
PHP_INI_END()

/* ---- what the pool layer asks of its host (pgpool_proc.h) ---- */

const char *pgpool_cfg_socket(void)
{
	const char *s = PGPOOL_G(socket);
	return s && *s ? s : PGPOOL_DEFAULT_SOCKET;
}

uint32_t pgpool_cfg_broker_timeout_ms(void)
{
	zend_long v = PGPOOL_G(broker_timeout);
	return v > 0 ? (uint32_t)v : PGPOOL_DEFAULT_TIMEOUT_MS;
}

bool pgpool_cfg_interrupted(void)
{
	/* Set by the SIGPROF handler when max_execution_time is reached; the driver also bounds
	 * waits by the wall clock (pgpool_timeout.c: CPU time does not pass while waiting). */
#if PHP_VERSION_ID >= 80200
	return zend_atomic_bool_load_ex(&EG(timed_out)) || pgpool_timeout_expired();
#else
	return EG(timed_out) || pgpool_timeout_expired();
#endif
}

/* ---- pgpool_stats() ---- */

static void stats_to_array(zval *arr, const pgpool_pool_stats *s)
{
	array_init_size(arr, 32);
	add_assoc_string(arr, "name", s->name);
	add_assoc_string(arr, "mode", pgp_pool_mode_name(s->mode));
	add_assoc_string(arr, "status", pgp_pool_status_name(s->status));
	if (s->down_since_wall_us) {
		add_assoc_double(arr, "down_since", (double)s->down_since_wall_us / 1e6);
	} else {
		add_assoc_null(arr, "down_since");
	}
	if (s->last_error[0]) {
		add_assoc_string(arr, "last_error", s->last_error);
	} else {
		add_assoc_null(arr, "last_error");
	}
	add_assoc_long(arr, "total", s->total);
	add_assoc_long(arr, "idle", s->idle);
	add_assoc_long(arr, "active", s->active);
	add_assoc_long(arr, "connecting", s->connecting);
	add_assoc_long(arr, "waiting", s->waiting);
	add_assoc_long(arr, "max", s->max);
	add_assoc_long(arr, "min", s->min);
	add_assoc_long(arr, "acquires", (zend_long)s->acquires);
	add_assoc_long(arr, "acquire_waits", (zend_long)s->acquire_waits);
	add_assoc_long(arr, "acquire_wait_us", (zend_long)s->acquire_wait_us);
	add_assoc_long(arr, "acquire_timeouts", (zend_long)s->acquire_timeouts);
	add_assoc_long(arr, "fd_transfers", (zend_long)s->fd_transfers);
	add_assoc_long(arr, "errors", (zend_long)s->errors);
	add_assoc_long(arr, "queries", (zend_long)s->queries);
	add_assoc_long(arr, "query_us", (zend_long)s->query_us);
	add_assoc_long(arr, "lease_us", (zend_long)s->lease_us);
	add_assoc_long(arr, "prepared_hits", (zend_long)s->prepared_hits);
	add_assoc_long(arr, "prepared_misses", (zend_long)s->prepared_misses);
	add_assoc_long(arr, "connects", (zend_long)s->connects);
	add_assoc_long(arr, "connect_failures", (zend_long)s->connect_failures);
	add_assoc_long(arr, "disconnects", (zend_long)s->disconnects);
	add_assoc_long(arr, "reclaims", (zend_long)s->reclaims);
	add_assoc_long(arr, "discards", (zend_long)s->discards);
}

PHP_FUNCTION(pgpool_stats)
{
	static pgpool_pool_stats stats[PGP_MAX_POOLS];
	zend_string *name = NULL;
	pgpool_err err;
	uint32_t n = 0;

	ZEND_PARSE_PARAMETERS_START(0, 1)
	Z_PARAM_OPTIONAL
	Z_PARAM_STR_OR_NULL(name)
	ZEND_PARSE_PARAMETERS_END();

	if (pgpool_stats_collect(stats, PGP_MAX_POOLS, &n, &err) < 0) {
		php_error_docref(NULL, E_WARNING, "%s", err.message);
		RETURN_FALSE;
	}
	if (!name) {
		array_init_size(return_value, n);
		for (uint32_t i = 0; i < n; i++) {
			zval pool;
			stats_to_array(&pool, &stats[i]);
			add_assoc_zval(return_value, stats[i].name, &pool);
		}
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (zend_string_equals_cstr(name, stats[i].name, strlen(stats[i].name))) {
			stats_to_array(return_value, &stats[i]);
			return;
		}
	}
	smart_str names = {0};
	for (uint32_t i = 0; i < n; i++) {
		if (i) {
			smart_str_appends(&names, ", ");
		}
		smart_str_appends(&names, stats[i].name);
	}
	smart_str_0(&names);
	zend_argument_value_error(1, "must be the name of a configured pool (%s), \"%s\" given",
	                          names.s ? ZSTR_VAL(names.s) : "none configured", ZSTR_VAL(name));
	smart_str_free(&names);
	RETURN_THROWS();
}

/* ---- module hooks ---- */

static PHP_GINIT_FUNCTION(pgpool)
{
#if defined(COMPILE_DL_PGPOOL) && defined(ZTS)
	ZEND_TSRMLS_CACHE_UPDATE();
#endif
	memset(pgpool_globals, 0, sizeof(*pgpool_globals));
}

static PHP_MINIT_FUNCTION(pgpool)
{
	REGISTER_INI_ENTRIES();
	pgpool_process_init();
	if (pgpool_driver_minit(INIT_FUNC_ARGS_PASSTHRU) == FAILURE) {
		return FAILURE;
	}
	return SUCCESS;
}

static PHP_MSHUTDOWN_FUNCTION(pgpool)
{
	pgpool_driver_mshutdown();
	pgpool_process_shutdown();
	UNREGISTER_INI_ENTRIES();
	return SUCCESS;
}

static PHP_RINIT_FUNCTION(pgpool)
{
	pgpool_driver_rinit();
	return SUCCESS;
}

static PHP_RSHUTDOWN_FUNCTION(pgpool)
{
	pgpool_driver_rshutdown();
	return SUCCESS;
}

static PHP_MINFO_FUNCTION(pgpool)
{
	pgpool_proc_info info;
	uint32_t probe_ms = pgpool_cfg_broker_timeout_ms();
	char buf[300];

	/* phpinfo() must not hang on a stuck broker: a short probe only if nothing is known. */
	pgpool_proc_describe(&info, probe_ms < 250 ? probe_ms : 250);

	php_info_print_table_start();
	php_info_print_table_row(2, "pgpool support", "enabled");
	php_info_print_table_row(2, "Version", PHP_PGPOOL_VERSION);
	php_info_print_table_row(2, "Broker socket", pgpool_cfg_socket());
	if (info.reachable == 1) {
		snprintf(buf, sizeof(buf), "yes (pgpool-broker pid %d)", (int)info.broker_pid);
	} else if (info.reachable == 0) {
		snprintf(buf, sizeof(buf), "no: %s", info.why);
	} else {
		snprintf(buf, sizeof(buf), "not checked");
	}
	php_info_print_table_row(2, "Broker reachable", buf);
	if (info.epoch) {
		snprintf(buf, sizeof(buf), "%016llx (%s)", (unsigned long long)info.epoch,
		         info.shm_name);
	} else {
		snprintf(buf, sizeof(buf), "not mapped");
	}
	php_info_print_table_row(2, "Shared memory epoch", buf);
	snprintf(buf, sizeof(buf), "%u%s%s%s", info.pools_attached, info.pools_attached ? " (" : "",
	         info.pools, info.pools_attached ? ")" : "");
	php_info_print_table_row(2, "Attached pools", buf);
	snprintf(buf, sizeof(buf), "%u", info.fds_cached);
	php_info_print_table_row(2, "Cached backend fds", buf);
	php_info_print_table_end();

	DISPLAY_INI_ENTRIES();
}

/* clang-format off */
static const zend_module_dep pgpool_deps[] = {
	ZEND_MOD_REQUIRED("pdo")
	ZEND_MOD_END
};
/* clang-format on */

zend_module_entry pgpool_module_entry = {
    STANDARD_MODULE_HEADER_EX,
    NULL,
    pgpool_deps,
    "pgpool",
    ext_functions,
    PHP_MINIT(pgpool),
    PHP_MSHUTDOWN(pgpool),
    PHP_RINIT(pgpool),
    PHP_RSHUTDOWN(pgpool),
    PHP_MINFO(pgpool),
    PHP_PGPOOL_VERSION,
    PHP_MODULE_GLOBALS(pgpool),
    PHP_GINIT(pgpool),
    NULL,
    NULL,
    STANDARD_MODULE_PROPERTIES_EX,
};

#ifdef COMPILE_DL_PGPOOL
ZEND_GET_MODULE(pgpool)
#endif
