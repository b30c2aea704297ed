/*
 * php_pgpool.h: the PHP module `pgpool` (module entry, INI globals).
 */
#ifndef PHP_PGPOOL_H
#define PHP_PGPOOL_H

#include "php.h"
#include "pgp_common.h"

#ifdef ZTS
/* The pool layer keeps per-process state (one control connection, one fd cache) without locks:
 * php-fpm, CLI and other NTS builds only. */
#error "pgpool supports non-thread-safe (NTS) PHP builds only"
#endif

extern zend_module_entry pgpool_module_entry;
#define phpext_pgpool_ptr &pgpool_module_entry

#define PHP_PGPOOL_VERSION        PGP_VERSION_STRING
#define PGPOOL_DEFAULT_SOCKET     "/run/pgpool/pgpool.sock"
#define PGPOOL_DEFAULT_TIMEOUT_MS 5000

/* clang-format off */
ZEND_BEGIN_MODULE_GLOBALS(pgpool)
	char *socket;             /* pgpool.socket: the broker's control socket */
	zend_long broker_timeout; /* pgpool.broker_timeout: ms to wait for a broker reply */
	zend_long max_message_size; /* pgpool.max_message_size: longest backend message accepted */
ZEND_END_MODULE_GLOBALS(pgpool)
/* clang-format on */

ZEND_EXTERN_MODULE_GLOBALS(pgpool)
#define PGPOOL_G(v) ZEND_MODULE_GLOBALS_ACCESSOR(pgpool, v)

#endif
