/*
 * pgpool_copy.c: the COPY driver methods, as pdo_pgsql 8.2 has them: pgsqlCopyFromArray,
 * pgsqlCopyFromFile (COPY ... FROM STDIN: CopyInResponse, CopyData, CopyDone or CopyFail),
 * pgsqlCopyToArray and pgsqlCopyToFile (COPY ... TO STDOUT: CopyOutResponse, CopyData,
 * CopyDone). The statement text, defaults and errors are pdo_pgsql's; the data goes through the
 * handle's connection like any statement (pgpool_conn_exec), in a transaction on the held lease,
 * otherwise on a lease of its own. While data flows the lease's protocol position is COPY.
 */
#include <string.h>

#include "php.h"
#include "ext/standard/file.h"
#include "pdo/php_pdo_error.h"
#include "zend_exceptions.h"

#include "pgpool_driver_int.h"

/* Rows are sent in batches of about this size. */
#define COPY_BATCH (64u * 1024u)

/* pdo_pgsql's statement (pre-9.0 syntax). to: "TO STDIN", as pdo_pgsql writes it (the server
 * takes it for STDOUT). */
static zend_string *copy_sql(const char *table, bool to, const char *delim, size_t delim_len,
                             const char *null_as, size_t null_as_len, const char *fields)
{
	char d = delim_len ? delim[0] : '\t';
	const char *n = null_as_len ? null_as : "\\\\N";
	const char *dir = to ? "TO" : "FROM";

	if (fields != NULL)
		return strpprintf(0, "COPY %s (%s) %s STDIN WITH DELIMITER E'%c' NULL AS E'%s'",
		                  table, fields, dir, d, n);
	return strpprintf(0, "COPY %s %s STDIN WITH DELIMITER E'%c' NULL AS E'%s'", table, dir, d,
	                  n);
}

/* Run a COPY statement; PDO's error handling as pdo_pgsql does it (errorInfo[1] 7). */
static bool copy_run(pdo_dbh_t *dbh, zend_string *sql, const pgpool_copy *copy)
{
	pgpool_dbh *H = dbh->driver_data;
	pgpool_query q = {.sql = ZSTR_VAL(sql), .sql_len = ZSTR_LEN(sql), .copy = copy};
	pgpool_result res;
	bool ok;

	pgpool_result_init(&res, false, q.sql, q.sql_len, pgpool_conn_encoding(H));
	ok = pgpool_conn_exec(H, NULL, &q, &res);
	pgpool_result_free(&res);
	return ok;
}

/* ---- COPY FROM an array ---- */

struct copy_rows {
	HashTable *rows;
	HashPosition pos;
};

static int copy_rows_produce(void *ctx, pgp_buf *b)
{
	struct copy_rows *c = ctx;
	zval *row;
	zend_string *str;
	size_t len;
	int rc;

	while ((row = zend_hash_get_current_data_ex(c->rows, &c->pos)) != NULL) {
		zend_hash_move_forward_ex(c->rows, &c->pos);
		/* pdo_pgsql converts each row in place; a copy leaves the caller's array alone. */
		str = zval_try_get_string(row);
		if (str == NULL)
			return -1; /* the exception is pending */
		len = ZSTR_LEN(str);
		/* Each row is one line: pdo_pgsql adds the newline a row lacks (CopyData messages
		 * need not follow row boundaries). */
		rc = pgp_fe_copy_data(b, ZSTR_VAL(str), len);
		if (rc == 0 && (len == 0 || ZSTR_VAL(str)[len - 1] != '\n'))
			rc = pgp_fe_copy_data(b, "\n", 1);
		zend_string_release(str);
		if (rc != 0)
			return -1;
		if (b->len >= COPY_BATCH)
			return 1;
	}
	return 0;
}

PHP_METHOD(PgPool_Ext, pgsqlCopyFromArray)
{
	pdo_dbh_t *dbh;
	zval *rows;
	char *table, *delim = NULL, *null_as = NULL, *fields = NULL;
	size_t table_len, delim_len = 0, null_as_len = 0, fields_len;
	struct copy_rows c;
	pgpool_copy copy = {.produce = copy_rows_produce, .ctx = &c};
	zend_string *sql;
	bool ok;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "sa|sss!", &table, &table_len, &rows, &delim,
	                          &delim_len, &null_as, &null_as_len, &fields,
	                          &fields_len) == FAILURE)
		RETURN_THROWS();
	if (zend_hash_num_elements(Z_ARRVAL_P(rows)) == 0) {
		zend_argument_value_error(2, "cannot be empty");
		RETURN_THROWS();
	}
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();

	c.rows = Z_ARRVAL_P(rows);
	zend_hash_internal_pointer_reset_ex(c.rows, &c.pos);
	sql = copy_sql(table, false, delim, delim_len, null_as, null_as_len, fields);
	ok = copy_run(dbh, sql, &copy);
	zend_string_release(sql);
	if (EG(exception) != NULL)
		RETURN_THROWS();
	if (!ok) {
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	RETURN_TRUE;
}

/* ---- COPY FROM a file ---- */

struct copy_file {
	php_stream *stream;
};

static int copy_file_produce(void *ctx, pgp_buf *b)
{
	struct copy_file *c = ctx;
	size_t len;
	char *line;
	int rc;

	/* Line by line, as pdo_pgsql sends it (a last line without newline is sent as is). */
	while ((line = php_stream_get_line(c->stream, NULL, 0, &len)) != NULL) {
		rc = pgp_fe_copy_data(b, line, len);
		efree(line);
		if (rc != 0)
			return -1;
		if (b->len >= COPY_BATCH)
			return 1;
	}
	return 0;
}

PHP_METHOD(PgPool_Ext, pgsqlCopyFromFile)
{
	pdo_dbh_t *dbh;
	char *table, *filename, *delim = NULL, *null_as = NULL, *fields = NULL;
	size_t table_len, filename_len, delim_len = 0, null_as_len = 0, fields_len;
	struct copy_file c;
	pgpool_copy copy = {.produce = copy_file_produce, .ctx = &c};
	zend_string *sql;
	bool ok;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "sp|sss!", &table, &table_len, &filename,
	                          &filename_len, &delim, &delim_len, &null_as, &null_as_len,
	                          &fields, &fields_len) == FAILURE)
		RETURN_THROWS();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();

	c.stream = php_stream_open_wrapper_ex(filename, "rb", 0, NULL, FG(default_context));
	if (c.stream == NULL) {
		pgpool_error_ex(dbh, NULL, PGPOOL_ERRCODE_FATAL, "HY000", "Unable to open the file",
		                sizeof("Unable to open the file") - 1);
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	sql = copy_sql(table, false, delim, delim_len, null_as, null_as_len, fields);
	ok = copy_run(dbh, sql, &copy);
	zend_string_release(sql);
	php_stream_close(c.stream);
	if (!ok) {
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	RETURN_TRUE;
}

/* ---- COPY TO an array or a file ---- */

static int copy_to_array(void *ctx, const uint8_t *data, size_t len)
{
	add_next_index_stringl(ctx, (const char *)data, len);
	return 0;
}

struct copy_out_file {
	php_stream *stream;
	bool failed;
};

static int copy_to_file(void *ctx, const uint8_t *data, size_t len)
{
	struct copy_out_file *c = ctx;

	if (php_stream_write(c->stream, (const char *)data, len) != (ssize_t)len) {
		c->failed = true;
		return -1;
	}
	return 0;
}

PHP_METHOD(PgPool_Ext, pgsqlCopyToArray)
{
	pdo_dbh_t *dbh;
	char *table, *delim = NULL, *null_as = NULL, *fields = NULL;
	size_t table_len, delim_len = 0, null_as_len = 0, fields_len;
	pgpool_copy copy = {.consume = copy_to_array};
	zend_string *sql;
	zval lines;
	bool ok;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "s|sss!", &table, &table_len, &delim, &delim_len,
	                          &null_as, &null_as_len, &fields, &fields_len) == FAILURE)
		RETURN_THROWS();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();

	array_init(&lines);
	copy.ctx = &lines;
	sql = copy_sql(table, true, delim, delim_len, null_as, null_as_len, fields);
	ok = copy_run(dbh, sql, &copy);
	zend_string_release(sql);
	if (!ok) {
		zval_ptr_dtor(&lines);
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	RETURN_COPY_VALUE(&lines);
}

PHP_METHOD(PgPool_Ext, pgsqlCopyToFile)
{
	pdo_dbh_t *dbh;
	char *table, *filename, *delim = NULL, *null_as = NULL, *fields = NULL;
	size_t table_len, filename_len, delim_len = 0, null_as_len = 0, fields_len;
	struct copy_out_file c = {0};
	pgpool_copy copy = {.consume = copy_to_file, .ctx = &c};
	zend_string *sql;
	bool ok;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "sp|sss!", &table, &table_len, &filename,
	                          &filename_len, &delim, &delim_len, &null_as, &null_as_len,
	                          &fields, &fields_len) == FAILURE)
		RETURN_THROWS();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();

	c.stream = php_stream_open_wrapper_ex(filename, "wb", 0, NULL, FG(default_context));
	if (c.stream == NULL) {
		pgpool_error_ex(dbh, NULL, PGPOOL_ERRCODE_FATAL, "HY000",
		                "Unable to open the file for writing",
		                sizeof("Unable to open the file for writing") - 1);
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	sql = copy_sql(table, true, delim, delim_len, null_as, null_as_len, fields);
	ok = copy_run(dbh, sql, &copy);
	zend_string_release(sql);
	php_stream_close(c.stream);
	if (ok && c.failed) {
		pgpool_error_ex(dbh, NULL, PGPOOL_ERRCODE_FATAL, "HY000", "Unable to write to file",
		                sizeof("Unable to write to file") - 1);
		ok = false;
	}
	if (!ok) {
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	RETURN_TRUE;
}
