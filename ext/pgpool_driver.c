/*
 * pgpool_driver.c: the PDO driver "pgpool" and class PgPool extends PDO.
 *
 * PDO picks a driver by the DSN's prefix only, so PgPool::__construct() rewrites a pgsql: DSN to
 * pgpool: and calls PDO's constructor; new PDO('pgpool:...') reaches the same driver directly.
 * The driver's handle factory finds and authenticates the pool (pgpool_pool_open) but leases
 * nothing: connections are leased per round trip (pgpool_conn.c).
 *
 * ATTR_DRIVER_NAME: frameworks and tests switch on "pgsql". A PgPool reports "pgsql" (its
 * constructor points the handle at an alias driver entry of that name once PDO's constructor
 * has set it), since it stands in for new PDO('pgsql:...'); new PDO('pgpool:...') reports
 * "pgpool", the driver its DSN named (docs/COMPATIBILITY.md).
 */
#include <ctype.h>
#include <string.h>

#include "php.h"
#include "php_ini.h"
#include "pdo/php_pdo.h"
#include "pdo/php_pdo_driver.h"
#include "pdo/php_pdo_error.h"
#include "zend_attributes.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

#include "pgp_dsn.h"
#include "pgpool_driver_int.h"

static zend_class_entry *pgpool_ce;
static const pdo_driver_t pgpool_pdo_driver;
static pdo_driver_t pgpool_pgsql_alias;

/* ---- dbh methods ---- */

static void pgpool_handle_closer(pdo_dbh_t *dbh)
{
	pgpool_dbh *H = dbh->driver_data;
	int i;

	if (H == NULL)
		return;
	if (H->pool != NULL)
		pgpool_conn_finish(H);
	pgpool_conn_unregister(H);
	pgpool_error_free(H);
	if (H->lob_streams != NULL) {
		pgpool_lob_close_all(H);
		zend_hash_destroy(H->lob_streams);
		pefree(H->lob_streams, dbh->is_persistent);
		H->lob_streams = NULL;
	}
	if (H->setup_sql != NULL)
		pefree(H->setup_sql, dbh->is_persistent);
	for (i = 0; i < PGPOOL_P_COUNT; i++) {
		if (H->params[i] != NULL)
			pefree(H->params[i], dbh->is_persistent);
	}
	pefree(H, dbh->is_persistent);
	dbh->driver_data = NULL;
}

static bool pgpool_handle_preparer(pdo_dbh_t *dbh, zend_string *sql, pdo_stmt_t *stmt,
                                   zval *driver_options)
{
	pgpool_dbh *H = dbh->driver_data;
	pgpool_stmt *S = ecalloc(1, sizeof(*S));
	zend_string *nsql = NULL;
	bool emulate = H->emulate_prepares, execute_only = H->disable_prepares;
	int ret;

	S->H = H;
	stmt->driver_data = S;
	stmt->methods = &pgpool_stmt_methods;
	S->scrollable =
	    pdo_attr_lval(driver_options, PDO_ATTR_CURSOR, PDO_CURSOR_FWDONLY) == PDO_CURSOR_SCROLL;
	if (S->scrollable) {
		/* As pdo_pgsql (whose server cursor takes the interpolated text): emulated. */
		emulate = true;
	} else if (driver_options != NULL) {
		emulate = pdo_attr_lval(driver_options, PDO_ATTR_EMULATE_PREPARES, emulate) == 1;
		execute_only =
		    pdo_attr_lval(driver_options, PGPOOL_ATTR_DISABLE_PREPARES, execute_only) == 1;
	}
	if (emulate) {
		stmt->supports_placeholders = PDO_PLACEHOLDER_NONE;
	} else {
		stmt->supports_placeholders = PDO_PLACEHOLDER_NAMED;
		stmt->named_rewrite_template = "$%d";
	}
	ret = pdo_parse_params(stmt, sql, &nsql);
	if (ret == -1) {
		strcpy(dbh->error_code, stmt->error_code);
		return false;
	}
	S->query = ret == 1 ? nsql : zend_string_copy(sql);
	S->query_len = strnlen(ZSTR_VAL(S->query), ZSTR_LEN(S->query));
	if (!emulate)
		pgpool_sql_scan(ZSTR_VAL(S->query), S->query_len, &S->info);
	S->native = !emulate;
	S->named = !emulate && !execute_only;
	if (S->named)
		S->sql_hash = pgpool_prepared_sql_hash(ZSTR_VAL(S->query), S->query_len);
	return true;
}

static zend_long pgpool_handle_doer(pdo_dbh_t *dbh, const zend_string *sql)
{
	pgpool_dbh *H = dbh->driver_data;
	pgpool_query q = {.sql = ZSTR_VAL(sql), .sql_len = ZSTR_LEN(sql)};
	pgpool_result res;
	zend_long ret = -1;

	/* Like PQexec: a simple Query, several statements allowed, the last one's count. */
	pgpool_result_init(&res, false, q.sql, q.sql_len, pgpool_conn_encoding(H));
	if (pgpool_conn_exec(H, NULL, &q, &res))
		ret = res.status == PGPOOL_RES_COMMAND_OK ? pgpool_result_cmd_tuples(&res) : 0;
	pgpool_result_free(&res);
	return ret;
}

static bool handle_std_strings(const pgpool_dbh *H)
{
	return strcmp(pgpool_conn_param(H, PGPOOL_P_STD_STRINGS), "on") == 0;
}

static zend_string *pgpool_handle_quoter(pdo_dbh_t *dbh, const zend_string *unquoted,
                                         enum pdo_param_type paramtype)
{
	pgpool_dbh *H = dbh->driver_data;

	if (paramtype == PDO_PARAM_LOB)
		return pgpool_quote_bytea(ZSTR_VAL(unquoted), ZSTR_LEN(unquoted),
		                          handle_std_strings(H));
	/* NULL (an invalid multibyte character) makes quote() return false, as with libpq. */
	return pgpool_quote_string(ZSTR_VAL(unquoted), ZSTR_LEN(unquoted), pgpool_conn_encoding(H),
	                           handle_std_strings(H));
}

static bool pgpool_handle_begin(pdo_dbh_t *dbh)
{
	pgpool_dbh *H = dbh->driver_data;

	/* Nothing is sent: BEGIN goes out with the first statement (DESIGN.md). */
	H->txn_pending = true;
	pgpool_conn_note_origin(H);
	return true;
}

static bool pgpool_handle_commit(pdo_dbh_t *dbh)
{
	pgpool_dbh *H = dbh->driver_data;
	bool ok = pgpool_conn_end_txn(H, true);

	/* A failed COMMIT (deferred constraint) rolled back: PDO must know there is no
	 * transaction any more (pdo_pgsql bug #67462). */
	if (!ok)
		dbh->in_txn = pgpool_conn_in_txn(H);
	return ok;
}

/* Is the running function PDO::rollBack() itself (not PDO's destructor rolling back)? */
static bool called_by_user(void)
{
	zend_execute_data *ex = EG(current_execute_data);

	return ex != NULL && ex->func != NULL && ex->func->common.function_name != NULL &&
	       zend_string_equals_literal_ci(ex->func->common.function_name, "rollBack");
}

static bool pgpool_handle_rollback(pdo_dbh_t *dbh)
{
	pgpool_dbh *H = dbh->driver_data;

	/* A handle destroyed at request end with its transaction open: PDO rolls back for it. */
	if (!called_by_user())
		pgpool_conn_warn_leftover(H);
	return pgpool_conn_end_txn(H, false);
}

static bool pgpool_set_attr(pdo_dbh_t *dbh, zend_long attr, zval *val)
{
	pgpool_dbh *H = dbh->driver_data;
	bool b;

	switch (attr) {
	case PDO_ATTR_EMULATE_PREPARES:
		if (!pdo_get_bool_param(&b, val))
			return false;
		H->emulate_prepares = b;
		return true;
	case PGPOOL_ATTR_DISABLE_PREPARES:
		if (!pdo_get_bool_param(&b, val))
			return false;
		H->disable_prepares = b;
		return true;
	default:
		return false;
	}
}

/*
 * What the server reports for lastval()/currval($1). probe: on any lease, only to learn whether
 * the name is a sequence the server knows: the value, and 55000 (not used in this session), are
 * another session's business and give NULL without an error; any other error is recorded, as
 * pdo_pgsql reports it (*failed set).
 */
static zend_string *last_id_query(pgpool_dbh *H, const zend_string *name, bool probe, bool *failed)
{
	pgpool_query q = {.aux = true, .quiet = probe};
	pgpool_result res;
	const uint8_t *val;
	int32_t len;
	const char *values[1];
	int32_t lengths[1];
	zend_string *id = NULL;

	*failed = false;
	if (name == NULL) {
		q.sql = "SELECT lastval()";
	} else {
		q.sql = "SELECT currval($1)";
		q.extended = true;
		q.nparams = 1;
		values[0] = ZSTR_VAL(name);
		lengths[0] = (int32_t)ZSTR_LEN(name);
		q.values = values;
		q.lengths = lengths;
	}
	q.sql_len = strlen(q.sql);
	pgpool_result_init(&res, true, q.sql, q.sql_len, pgpool_conn_encoding(H));
	if (pgpool_conn_exec(H, NULL, &q, &res)) {
		if (!probe && res.nrows == 1 && res.ncols == 1) {
			(void)pgpool_result_row(&res, 0, &val, &len);
			if (len >= 0)
				id = zend_string_init((const char *)val, (size_t)len, 0);
		}
	} else if (!probe) {
		*failed = true;
	} else if (res.status == PGPOOL_RES_ERROR && strcmp(res.sqlstate, "55000") != 0) {
		pgpool_error_result(H->dbh, NULL, &res);
		*failed = true;
	}
	pgpool_result_free(&res);
	return id;
}

/*
 * lastInsertId(): see pgpool_exec.c. On a connection held across statements (a transaction
 * that ran an INSERT, nextval or setval; pinned; session mode) the server answers, as with
 * pdo_pgsql. Otherwise the lease that ran the INSERT is already back in the pool and the value
 * captured in that round trip is the answer (also for a sequence name: the INSERT's sequence is
 * the one asked for in practice, once the server confirmed the name is a sequence); without
 * one, the error a fresh session would give.
 */
static zend_string *pgpool_last_insert_id(pdo_dbh_t *dbh, const zend_string *name)
{
	pgpool_dbh *H = dbh->driver_data;
	char msg[320];
	bool failed;

	/* The held backend knows this handle's value only if the handle drew from a sequence on
	 * it; otherwise it could only tell another client's. */
	if (H->lease.pool != NULL && H->used && !H->txn_pending &&
	    (H->pinned || H->pool->mode == PGP_MODE_SESSION || H->seq_touched))
		return last_id_query(H, name, false, &failed);
	/* A name that is not a sequence fails as with pdo_pgsql (42P01, 42809...). */
	if (name != NULL && (last_id_query(H, name, true, &failed), failed))
		return NULL;
	if (H->lastval_valid)
		return zend_string_init(H->lastval, strlen(H->lastval), 0);
	if (H->lastval_unknown)
		snprintf(msg, sizeof(msg),
		         "ERROR:  PgPool cannot tell the last inserted id: the statement that drew "
		         "from a sequence ran where its lastval() could not be read (several "
		         "statements with BEGIN/COMMIT in one exec(), COMMIT AND CHAIN); run the "
		         "INSERT on its own, or use INSERT ... RETURNING");
	else if (name == NULL)
		snprintf(msg, sizeof(msg), "ERROR:  lastval is not yet defined in this session");
	else
		snprintf(
		    msg, sizeof(msg),
		    "ERROR:  currval of sequence \"%.200s\" is not yet defined in this session",
		    ZSTR_VAL(name));
	pgpool_error(dbh, NULL, "55000", msg);
	return NULL;
}

static int pgpool_get_attr(pdo_dbh_t *dbh, zend_long attr, zval *return_value)
{
	pgpool_dbh *H = dbh->driver_data;

	switch (attr) {
	case PDO_ATTR_EMULATE_PREPARES:
		ZVAL_BOOL(return_value, H->emulate_prepares);
		return 1;
	case PGPOOL_ATTR_DISABLE_PREPARES:
		ZVAL_BOOL(return_value, H->disable_prepares);
		return 1;
	case PDO_ATTR_CLIENT_VERSION:
		ZVAL_STRING(return_value, PGP_VERSION_STRING);
		return 1;
	case PDO_ATTR_SERVER_VERSION:
		ZVAL_STRING(return_value, pgpool_conn_param(H, PGPOOL_P_SERVER_VERSION));
		return 1;
	case PDO_ATTR_CONNECTION_STATUS:
		ZVAL_STRING(return_value, "Connection OK; waiting to send.");
		return 1;
	case PDO_ATTR_SERVER_INFO: {
		int32_t pid;

		/* The backend pid only exists while a lease is held. */
		if (!pgpool_conn_hold(H, NULL))
			return -1;
		pid = H->lease.backend_pid;
		ZVAL_STR(return_value,
		         strpprintf(0,
		                    "PID: %d; Client Encoding: %s; Is Superuser: %s; Session "
		                    "Authorization: %s; Date Style: %s",
		                    (int)pid, pgpool_conn_param(H, PGPOOL_P_CLIENT_ENCODING),
		                    pgpool_conn_param(H, PGPOOL_P_IS_SUPERUSER),
		                    pgpool_conn_param(H, PGPOOL_P_SESSION_AUTH),
		                    pgpool_conn_param(H, PGPOOL_P_DATESTYLE)));
		pgpool_conn_settle(H);
		return 1;
	}
	default:
		return 0;
	}
}

static zend_result pgpool_check_liveness(pdo_dbh_t *dbh)
{
	pgpool_dbh *H = dbh->driver_data;

	/* A persistent handle reused by a new request: it may lease again. Liveness of the
	 * backends is the broker's business. */
	H->request_ended = false;
	return SUCCESS;
}

static bool pgpool_handle_in_transaction(pdo_dbh_t *dbh)
{
	return pgpool_conn_in_txn(dbh->driver_data);
}

static void pgpool_persistent_shutdown(pdo_dbh_t *dbh)
{
	/* The PHP object of a persistent handle is gone: nothing may stay leased for it. */
	if (dbh->driver_data != NULL)
		pgpool_conn_finish(dbh->driver_data);
}

/* {{{ PgPool driver methods (also on new PDO('pgpool:...')) */
PHP_METHOD(PgPool_Ext, pgsqlGetPid)
{
	pdo_dbh_t *dbh;
	pgpool_dbh *H;
	int32_t pid;

	ZEND_PARSE_PARAMETERS_NONE();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();
	H = dbh->driver_data;
	/* Without a lease a pooled handle has no backend: lease one (kept in session mode). */
	if (!pgpool_conn_hold(H, NULL)) {
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	pid = H->lease.backend_pid;
	pgpool_conn_settle(H);
	RETURN_LONG(pid);
}
/* }}} */

/* Argument information as pdo_pgsql 8.2 declares its methods (pgsqlGetPid may also return false:
 * a pooled handle may fail to lease a connection). */
/* clang-format off */
ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_INFO_EX(arginfo_pgsqlCopyFromArray, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, tableName, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, rows, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, separator, IS_STRING, 0, "\"\\t\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, nullAs, IS_STRING, 0, "\"\\\\\\\\N\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, fields, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_INFO_EX(arginfo_pgsqlCopyFromFile, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, tableName, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, filename, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, separator, IS_STRING, 0, "\"\\t\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, nullAs, IS_STRING, 0, "\"\\\\\\\\N\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, fields, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_MASK_EX(arginfo_pgsqlCopyToArray, 0, 1, MAY_BE_ARRAY|MAY_BE_FALSE)
	ZEND_ARG_TYPE_INFO(0, tableName, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, separator, IS_STRING, 0, "\"\\t\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, nullAs, IS_STRING, 0, "\"\\\\\\\\N\"")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, fields, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

#define arginfo_pgsqlCopyToFile arginfo_pgsqlCopyFromFile

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_MASK_EX(arginfo_pgsqlLOBCreate, 0, 0, MAY_BE_STRING|MAY_BE_FALSE)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(arginfo_pgsqlLOBOpen, 0, 0, 1)
	ZEND_ARG_TYPE_INFO(0, oid, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, mode, IS_STRING, 0, "\"rb\"")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_INFO_EX(arginfo_pgsqlLOBUnlink, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, oid, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_MASK_EX(arginfo_pgsqlGetNotify, 0, 0, MAY_BE_ARRAY|MAY_BE_FALSE)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, fetchMode, IS_LONG, 0, "PDO::FETCH_DEFAULT")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, timeoutMilliseconds, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_TENTATIVE_RETURN_TYPE_MASK_EX(arginfo_pgsqlGetPid, 0, 0, MAY_BE_LONG|MAY_BE_FALSE)
ZEND_END_ARG_INFO()

static const zend_function_entry pgpool_dbh_driver_methods[] = {
	ZEND_ME(PgPool_Ext, pgsqlCopyFromArray, arginfo_pgsqlCopyFromArray, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlCopyFromFile, arginfo_pgsqlCopyFromFile, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlCopyToArray, arginfo_pgsqlCopyToArray, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlCopyToFile, arginfo_pgsqlCopyToFile, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlLOBCreate, arginfo_pgsqlLOBCreate, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlLOBOpen, arginfo_pgsqlLOBOpen, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlLOBUnlink, arginfo_pgsqlLOBUnlink, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlGetNotify, arginfo_pgsqlGetNotify, ZEND_ACC_PUBLIC)
	ZEND_ME(PgPool_Ext, pgsqlGetPid, arginfo_pgsqlGetPid, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};
/* clang-format on */

static const zend_function_entry *pgpool_get_driver_methods(pdo_dbh_t *dbh, int kind)
{
	return kind == PDO_DBH_DRIVER_METHOD_KIND_DBH ? pgpool_dbh_driver_methods : NULL;
}

static const struct pdo_dbh_methods pgpool_methods = {
    pgpool_handle_closer,
    pgpool_handle_preparer,
    pgpool_handle_doer,
    pgpool_handle_quoter,
    pgpool_handle_begin,
    pgpool_handle_commit,
    pgpool_handle_rollback,
    pgpool_set_attr,
    pgpool_last_insert_id,
    pgpool_fetch_error,
    pgpool_get_attr,
    pgpool_check_liveness,
    pgpool_get_driver_methods,
    pgpool_persistent_shutdown,
    pgpool_handle_in_transaction,
    NULL, /* get_gc */
};

/* ---- the handle factory ---- */

/* Session settings a pgsql: DSN gives libpq (options, client_encoding, application_name),
 * collected as one SELECT of set_config() calls that the handle's first statement applies
 * (pgpool_exec.c). */
typedef struct dsn_setup {
	smart_str sql;
	bool bad;     /* a setting that cannot be applied safely */
	char tls[40]; /* "sslmode=require" etc.: encryption the pool cannot give */
} dsn_setup;

/* A setting name as the server takes it in SET without quoting. */
static bool setting_name_ok(const char *n, size_t len)
{
	size_t i;

	if (len == 0 || len > 63)
		return false;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '.')
			return false;
	}
	return true;
}

static void setup_add(dsn_setup *d, const char *name, size_t name_len, const char *value)
{
	zend_string *lit;

	if (!setting_name_ok(name, name_len)) {
		d->bad = true;
		return;
	}
	/* set_config() reads the value as a configuration file or `-c` does (lists stay lists). */
	lit = pgpool_quote_string(value, strlen(value), PGPOOL_ENC_UTF8, true);
	if (lit == NULL) {
		d->bad = true;
		return;
	}
	smart_str_appends(&d->sql, d->sql.s == NULL ? "SELECT " : ", ");
	smart_str_appends(&d->sql, "pg_catalog.set_config('");
	smart_str_appendl(&d->sql, name, name_len);
	smart_str_appends(&d->sql, "', ");
	smart_str_append(&d->sql, lit);
	smart_str_appends(&d->sql, ", false)");
	zend_string_release(lit);
}

/* libpq's `options`: backend command-line switches; `-c name=value` and `--name=value` set
 * configuration parameters (backslash escapes a space or a backslash). */
static void setup_options(dsn_setup *d, const char *opts)
{
	char *buf = estrdup(opts), *tok[64], *w = buf;
	const char *p = opts;
	size_t ntok = 0, i;

	while (*p != '\0' && ntok < PGP_ARRAY_LEN(tok)) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		tok[ntok++] = w;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*w++ = *p++;
		}
		*w++ = '\0';
	}
	for (i = 0; i < ntok; i++) {
		const char *kv = NULL, *eq;

		if (strcmp(tok[i], "-c") == 0 && i + 1 < ntok)
			kv = tok[++i];
		else if (strncmp(tok[i], "-c", 2) == 0)
			kv = tok[i] + 2;
		else if (strncmp(tok[i], "--", 2) == 0)
			kv = tok[i] + 2;
		if (kv == NULL || (eq = strchr(kv, '=')) == NULL) {
			d->bad = true;
			continue;
		}
		setup_add(d, kv, (size_t)(eq - kv), eq + 1);
	}
	efree(buf);
}

static int setup_collect(const char *key, const char *value, void *ctx)
{
	dsn_setup *d = ctx;

	if (strcmp(key, "options") == 0)
		setup_options(d, value);
	else if (strcmp(key, "client_encoding") == 0 || strcmp(key, "application_name") == 0)
		setup_add(d, key, strlen(key), value);
	else if ((strcmp(key, "sslmode") == 0 &&
	          (strcmp(value, "require") == 0 || strcmp(value, "verify-ca") == 0 ||
	           strcmp(value, "verify-full") == 0)) ||
	         (strcmp(key, "gssencmode") == 0 && strcmp(value, "require") == 0))
		/* The application asked for an encrypted session and libpq would refuse anything
		 * else; a pooled backend is plaintext (the broker's own hop is loopback or a Unix
		 * socket), so saying yes silently would break that promise. */
		snprintf(d->tls, sizeof(d->tls), "%s=%s", key, value);
	return 0;
}

/* The DSN's session settings as SQL (pemalloc'd, NULL if none). false: the DSN asks for
 * something the pool cannot apply (the error is recorded). */
static bool dsn_session_setup(pdo_dbh_t *dbh, char **out)
{
	char *copy = estrdup(dbh->data_source), *p;
	dsn_setup d = {0};
	int rc;

	*out = NULL;
	/* pdo_pgsql hands libpq the DSN with every ';' made a space. */
	for (p = copy; *p != '\0'; p++) {
		if (*p == ';')
			*p = ' ';
	}
	rc = pgp_conninfo_parse(copy, setup_collect, &d);
	efree(copy);
	if (rc == 0 && d.tls[0] != '\0') {
		char msg[300];

		smart_str_free(&d.sql);
		snprintf(
		    msg, sizeof(msg),
		    "the DSN asks for %s, but pooled connections are not encrypted (the broker "
		    "connects to PostgreSQL over a Unix socket or loopback): remove it to use the "
		    "pool, or use new PDO for an encrypted connection",
		    d.tls);
		pgpool_error(dbh, NULL, "08001", msg);
		return false;
	}
	if (rc == 0 && d.bad) {
		smart_str_free(&d.sql);
		pgpool_error(
		    dbh, NULL, "08001",
		    "the DSN's options can only set configuration parameters (-c name=value "
		    "or --name=value)");
		return false;
	}
	if (rc == 0 && d.sql.s != NULL) {
		smart_str_0(&d.sql);
		*out = pestrdup(ZSTR_VAL(d.sql.s), dbh->is_persistent);
	}
	smart_str_free(&d.sql);
	return true;
}

static int pgpool_handle_factory(pdo_dbh_t *dbh, zval *driver_options)
{
	pgpool_dbh *H = pecalloc(1, sizeof(*H), dbh->is_persistent);
	pgp_dsn_key key;
	char dsn_password[512];
	const char *password = NULL;
	size_t password_len = 0;
	int has_dsn_password = 0;
	pgpool_err err;
	int ok = 0;

	H->dbh = dbh;
	H->txn_status = PGP_TXN_IDLE;
	H->encoding = -1;
	dbh->driver_data = H;
	dbh->skip_param_evt = 1 << PDO_PARAM_EVT_EXEC_POST | 1 << PDO_PARAM_EVT_FETCH_PRE |
	                      1 << PDO_PARAM_EVT_FETCH_POST;

	if (pgp_dsn_parse_pdo(dbh->data_source, &key, dsn_password, sizeof(dsn_password),
	                      &has_dsn_password) != 0) {
		pgpool_error(dbh, NULL, "08001",
		             "invalid DSN: expected keyword=value pairs (host, port, dbname, user, "
		             "password) or pool=NAME");
		goto cleanup;
	}
	/* Credentials given to the constructor win over the DSN's, as with pdo_pgsql. */
	if (dbh->username != NULL) {
		if (strlen(dbh->username) >= sizeof(key.user)) {
			pgpool_error(dbh, NULL, "08001", "user name too long");
			goto cleanup;
		}
		strcpy(key.user, dbh->username);
	}
	if (dbh->password != NULL) {
		password = dbh->password;
		password_len = strlen(dbh->password);
	} else if (has_dsn_password) {
		password = dsn_password;
		password_len = strlen(dsn_password);
	}
	if (key.pool[0] == '\0')
		pgp_dsn_normalize(&key);
	if (pgpool_pool_open(&key, key.user, password, password_len, password != NULL, &H->pool,
	                     &err) != 0) {
		H->pool = NULL;
		pgpool_error_pool(dbh, NULL, &err);
		goto cleanup;
	}
	if (!dsn_session_setup(dbh, &H->setup_sql))
		goto cleanup;
	pgpool_conn_register(H);
	dbh->alloc_own_columns = 1;
	dbh->max_escaped_char_length = 2;
	ok = 1;

cleanup:
	ZEND_SECURE_ZERO(dsn_password, sizeof(dsn_password));
	dbh->methods = &pgpool_methods;
	if (!ok) {
		/* The closer unregisters only what was registered. */
		H->prev = H->next = NULL;
		pgpool_handle_closer(dbh);
	}
	return ok;
}

static const pdo_driver_t pgpool_pdo_driver = {PDO_DRIVER_HEADER(pgpool), pgpool_handle_factory};
/* Never registered: only what a PgPool's handle reports as its driver (ATTR_DRIVER_NAME). */
static pdo_driver_t pgpool_pgsql_alias = {PDO_DRIVER_HEADER(pgsql), pgpool_handle_factory};

/* ---- class PgPool ---- */

/* {{{ PgPool::__construct(string $dsn, ?string $username = null, ?string $password = null,
 *                         ?array $options = null) */
PHP_METHOD(PgPool, __construct)
{
	zend_string *dsn, *user = NULL, *pass = NULL, *routed;
	zval *options = NULL;
	const char *body, *d;
	char *alias = NULL;
	char ini_name[512];
	zval args[4];
	zend_function *ctor = php_pdo_get_dbh_ce()->constructor;
	pdo_dbh_t *dbh;

	ZEND_PARSE_PARAMETERS_START(1, 4)
	Z_PARAM_STR(dsn)
	Z_PARAM_OPTIONAL
	Z_PARAM_STR_OR_NULL(user)
	Z_PARAM_STR_OR_NULL(pass)
	Z_PARAM_ARRAY_OR_NULL(options)
	ZEND_PARSE_PARAMETERS_END();

	d = ZSTR_VAL(dsn);
	if (strchr(d, ':') == NULL) {
		/* A DSN alias from php.ini (pdo.dsn.NAME), resolved here so its driver prefix can
		 * be routed like a literal one. */
		snprintf(ini_name, sizeof(ini_name), "pdo.dsn.%s", d);
		if (cfg_get_string(ini_name, &alias) == SUCCESS && alias != NULL)
			d = alias;
	}
	if (strncmp(d, "pgsql:", 6) == 0) {
		body = d + 6;
	} else if (strncmp(d, "pgpool:", 7) == 0) {
		body = d + 7;
	} else {
		zend_throw_exception_ex(
		    php_pdo_get_exception(), 0,
		    "PgPool accepts only pgsql: and pgpool: DSNs (pgpool:pool=NAME "
		    "names a pool of the broker's configuration)");
		RETURN_THROWS();
	}
	routed = zend_string_concat2("pgpool:", 7, body, strlen(body));
	ZVAL_STR(&args[0], routed);
	if (user)
		ZVAL_STR(&args[1], user);
	else
		ZVAL_NULL(&args[1]);
	if (pass)
		ZVAL_STR(&args[2], pass);
	else
		ZVAL_NULL(&args[2]);
	/* The caller's zval as is: an immutable array (a literal []) must stay unrefcounted. */
	if (options)
		ZVAL_COPY_VALUE(&args[3], options);
	else
		ZVAL_NULL(&args[3]);
	zend_call_known_function(ctor, Z_OBJ_P(ZEND_THIS), Z_OBJCE_P(ZEND_THIS), NULL, 4, args,
	                         NULL);
	zend_string_release(routed);
	/* PDO set the driver after the factory returned: a PgPool stands in for pdo_pgsql. */
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	if (EG(exception) == NULL && dbh != NULL && dbh->driver == &pgpool_pdo_driver)
		dbh->driver = &pgpool_pgsql_alias;
}
/* }}} */

ZEND_BEGIN_ARG_INFO_EX(arginfo_pgpool_construct, 0, 0, 1)
ZEND_ARG_TYPE_INFO(0, dsn, IS_STRING, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, username, IS_STRING, 1, "null")
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, password, IS_STRING, 1, "null")
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 1, "null")
ZEND_END_ARG_INFO()

static const zend_function_entry pgpool_class_methods[] = {
    PHP_ME(PgPool, __construct, arginfo_pgpool_construct, ZEND_ACC_PUBLIC) PHP_FE_END};

zend_result pgpool_driver_minit(INIT_FUNC_ARGS)
{
	zend_class_entry ce;

	INIT_CLASS_ENTRY(ce, "PgPool", pgpool_class_methods);
	pgpool_ce = zend_register_internal_class_ex(&ce, php_pdo_get_dbh_ce());
#if PHP_VERSION_ID >= 80200
	/* As PDO::__construct(): stack traces and uncaught exceptions show the password as
	 * Object(SensitiveParameterValue). */
	zend_add_parameter_attribute(zend_hash_str_find_ptr(&pgpool_ce->function_table,
	                                                    "__construct",
	                                                    sizeof("__construct") - 1),
	                             2, ZSTR_KNOWN(ZEND_STR_SENSITIVEPARAMETER), 0);
#endif
	/* PDO::PGSQL_ATTR_DISABLE_PREPARES exists only with pdo_pgsql loaded; PgPool has its own
	 * (unless it inherited pdo_pgsql's, which has the same value). */
	if (!zend_hash_str_exists(&pgpool_ce->constants_table, "PGSQL_ATTR_DISABLE_PREPARES",
	                          sizeof("PGSQL_ATTR_DISABLE_PREPARES") - 1))
		zend_declare_class_constant_long(pgpool_ce, "PGSQL_ATTR_DISABLE_PREPARES",
		                                 sizeof("PGSQL_ATTR_DISABLE_PREPARES") - 1,
		                                 PGPOOL_ATTR_DISABLE_PREPARES);
	pgpool_timeout_minit();
	return php_pdo_register_driver(&pgpool_pdo_driver);
}

void pgpool_driver_mshutdown(void)
{
	php_pdo_unregister_driver(&pgpool_pdo_driver);
	pgpool_timeout_mshutdown();
	pgpool_wire_shutdown();
}

void pgpool_driver_rinit(void)
{
	pgpool_timeout_rinit();
}
