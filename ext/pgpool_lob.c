/*
 * pgpool_lob.c: large objects, as pdo_pgsql 8.2 offers them: pgsqlLOBCreate(), pgsqlLOBOpen()
 * (a read/write stream), pgsqlLOBUnlink(), a stream for an oid column bound with
 * PDO::PARAM_LOB, and a large-object stream bound as a PDO::PARAM_LOB parameter (its oid is
 * sent). libpq does these through its fast-path function calls; here they are the server-side
 * functions lo_creat, lo_open, loread, lowrite, lo_lseek64, lo_close and lo_unlink, run like any
 * statement of the handle (shared prepared statements, the deferred BEGIN). Descriptors live as
 * long as the transaction, which holds the lease, so every call of a stream reaches the backend
 * that opened it; when the transaction ends the streams are closed, as pdo_pgsql closes them.
 */
#include <errno.h>
#include <string.h>

#include "php.h"
#include "pdo/php_pdo_error.h"

#include "pgpool_driver_int.h"

#define LOB_INV_WRITE 0x00020000
#define LOB_INV_READ  0x00040000

typedef struct lob_self {
	zval dbh; /* the PDO object: kept alive while the stream is open */
	pgpool_dbh *H;
	int32_t lfd;  /* descriptor on the server */
	uint32_t oid; /* the large object */
} lob_self;

/* One row, one column of a server function call; val/len point into res. */
typedef struct lob_call {
	pgpool_result res;
	const uint8_t *val;
	int32_t len;
} lob_call;

/* Run `SELECT fn($1...)`. quiet: a stream operation (pdo_pgsql records no PDO error for
 * those). true with the value in c (free c->res afterwards in any case). */
static bool lob_run(pgpool_dbh *H, lob_call *c, const char *sql, uint16_t n,
                    const char *const *values, const int32_t *lengths, const int16_t *formats,
                    const uint32_t *types, bool binary, bool quiet)
{
	pgpool_query q = {.sql = sql,
	                  .sql_len = strlen(sql),
	                  .extended = true,
	                  .quiet = quiet,
	                  .binary_result = binary,
	                  .nparams = n,
	                  .types = types,
	                  .values = values,
	                  .lengths = lengths,
	                  .formats = formats};

	q.stmt_key = pgpool_prepared_key(pgpool_prepared_sql_hash(sql, q.sql_len), n, types);
	pgpool_result_init(&c->res, true, sql, q.sql_len, pgpool_conn_encoding(H));
	c->res.query_until_parsed = true;
	c->val = NULL;
	c->len = -1;
	if (!pgpool_conn_exec(H, NULL, &q, &c->res)) {
		/* pdo_pgsql reports these with SQLSTATE HY000 and libpq's message. */
		if (!quiet && c->res.status == PGPOOL_RES_ERROR && c->res.errmsg != NULL)
			pgpool_error_ex(H->dbh, NULL, PGPOOL_ERRCODE_FATAL, "HY000",
			                ZSTR_VAL(c->res.errmsg), ZSTR_LEN(c->res.errmsg));
		return false;
	}
	if (c->res.nrows != 1 || c->res.ncols != 1)
		return false;
	(void)pgpool_result_row(&c->res, 0, &c->val, &c->len);
	return c->len >= 0;
}

static zend_long lob_long(const lob_call *c)
{
	char buf[24];
	size_t n = (size_t)c->len < sizeof(buf) - 1 ? (size_t)c->len : sizeof(buf) - 1;

	memcpy(buf, c->val, n);
	buf[n] = '\0';
	return ZEND_STRTOL(buf, NULL, 10);
}

/* A decimal number argument for the server (text format). */
static int32_t lob_text(char *buf, size_t cap, zend_long v)
{
	return (int32_t)snprintf(buf, cap, ZEND_LONG_FMT, v);
}

/* ---- the stream ---- */

static ssize_t lob_write(php_stream *stream, const char *buf, size_t count)
{
	lob_self *self = stream->abstract;
	char fd[24];
	const char *values[2] = {fd, buf};
	int32_t lengths[2];
	int16_t formats[2] = {0, 1};
	lob_call c;
	ssize_t n = -1;

	if (count > INT32_MAX)
		count = INT32_MAX;
	lengths[0] = lob_text(fd, sizeof(fd), self->lfd);
	lengths[1] = (int32_t)count;
	if (lob_run(self->H, &c, "SELECT pg_catalog.lowrite($1, $2)", 2, values, lengths, formats,
	            NULL, false, true))
		n = (ssize_t)lob_long(&c);
	pgpool_result_free(&c.res);
	return n;
}

static ssize_t lob_read(php_stream *stream, char *buf, size_t count)
{
	lob_self *self = stream->abstract;
	char fd[24], len[24];
	const char *values[2] = {fd, len};
	int32_t lengths[2];
	lob_call c;
	ssize_t n = -1;

	if (count > INT32_MAX)
		count = INT32_MAX;
	lengths[0] = lob_text(fd, sizeof(fd), self->lfd);
	lengths[1] = lob_text(len, sizeof(len), (zend_long)count);
	if (lob_run(self->H, &c, "SELECT pg_catalog.loread($1, $2)", 2, values, lengths, NULL, NULL,
	            true, true) &&
	    (size_t)c.len <= count) {
		memcpy(buf, c.val, (size_t)c.len);
		n = c.len;
		if (n == 0)
			stream->eof = 1;
	}
	pgpool_result_free(&c.res);
	return n;
}

static int lob_close(php_stream *stream, int close_handle)
{
	lob_self *self = stream->abstract;
	pgpool_dbh *H = self->H;
	char fd[24];
	const char *values[1] = {fd};
	int32_t lengths[1];
	lob_call c;

	/* After the transaction the descriptor is gone with it: nothing to close. */
	if (close_handle && pgpool_conn_held(H) && H->txn_status == PGP_TXN_INTRANS) {
		lengths[0] = lob_text(fd, sizeof(fd), self->lfd);
		(void)lob_run(H, &c, "SELECT pg_catalog.lo_close($1)", 1, values, lengths, NULL,
		              NULL, false, true);
		pgpool_result_free(&c.res);
	}
	if (H->lob_streams != NULL)
		zend_hash_index_del(H->lob_streams, php_stream_get_resource_id(stream));
	zval_ptr_dtor(&self->dbh);
	efree(self);
	return 0;
}

static int lob_flush(php_stream *stream)
{
	return 0;
}

static int lob_seek(php_stream *stream, zend_off_t offset, int whence, zend_off_t *newoffset)
{
	lob_self *self = stream->abstract;
	char fd[24], off[24], wh[8];
	const char *values[3] = {fd, off, wh};
	int32_t lengths[3];
	lob_call c;
	zend_off_t pos = -1;

	lengths[0] = lob_text(fd, sizeof(fd), self->lfd);
	lengths[1] = lob_text(off, sizeof(off), (zend_long)offset);
	lengths[2] = lob_text(wh, sizeof(wh), whence);
	if (lob_run(self->H, &c, "SELECT pg_catalog.lo_lseek64($1, $2, $3)", 3, values, lengths,
	            NULL, NULL, false, true))
		pos = (zend_off_t)lob_long(&c);
	pgpool_result_free(&c.res);
	*newoffset = pos;
	return pos >= 0 ? 0 : -1;
}

static const php_stream_ops lob_stream_ops = {
    lob_write, lob_read, lob_close, lob_flush, "pgpool lob stream", lob_seek, NULL, NULL, NULL,
};

static php_stream *lob_stream(zval *dbh, pgpool_dbh *H, int32_t lfd, uint32_t oid)
{
	lob_self *self = ecalloc(1, sizeof(*self));
	php_stream *stm;

	ZVAL_COPY_VALUE(&self->dbh, dbh);
	self->H = H;
	self->lfd = lfd;
	self->oid = oid;
	stm = php_stream_alloc(&lob_stream_ops, self, 0, "r+b");
	if (stm == NULL) {
		efree(self);
		return NULL;
	}
	Z_ADDREF_P(dbh);
	if (H->lob_streams == NULL) {
		H->lob_streams = pemalloc(sizeof(HashTable), H->dbh->is_persistent);
		zend_hash_init(H->lob_streams, 0, NULL, NULL, H->dbh->is_persistent);
	}
	zend_hash_index_add_ptr(H->lob_streams, php_stream_get_resource_id(stm), stm->res);
	return stm;
}

bool pgpool_lob_stream_oid(php_stream *stm, uint32_t *oid)
{
	if (!php_stream_is(stm, &lob_stream_ops))
		return false;
	*oid = ((lob_self *)stm->abstract)->oid;
	return true;
}

void pgpool_lob_close_all(pgpool_dbh *H)
{
	zend_resource *res;
	zend_ulong id;

	/* Each close removes its entry (lob_close). */
	while (H->lob_streams != NULL && zend_hash_num_elements(H->lob_streams) > 0) {
		zend_hash_internal_pointer_reset(H->lob_streams);
		res = zend_hash_get_current_data_ptr(H->lob_streams);
		(void)zend_hash_get_current_key(H->lob_streams, NULL, &id);
		if (res != NULL && res->type >= 0)
			zend_list_close(res);
		zend_hash_index_del(H->lob_streams, id);
	}
}

/* lo_open(oid, mode): the descriptor, or -1 with the error recorded unless quiet. */
static int32_t lob_open(pgpool_dbh *H, uint32_t oid, int mode, bool quiet)
{
	char o[16], m[16];
	const char *values[2] = {o, m};
	int32_t lengths[2];
	lob_call c;
	int32_t lfd = -1;

	lengths[0] = lob_text(o, sizeof(o), (zend_long)oid);
	lengths[1] = lob_text(m, sizeof(m), mode);
	if (lob_run(H, &c, "SELECT pg_catalog.lo_open($1, $2)", 2, values, lengths, NULL, NULL,
	            false, quiet))
		lfd = (int32_t)lob_long(&c);
	pgpool_result_free(&c.res);
	return lfd;
}

php_stream *pgpool_lob_open_stream(pdo_stmt_t *stmt, uint32_t oid)
{
	pgpool_dbh *H = stmt->dbh->driver_data;
	int32_t lfd = lob_open(H, oid, LOB_INV_READ, true);

	return lfd >= 0 ? lob_stream(&stmt->database_object_handle, H, lfd, oid) : NULL;
}

/* An oid argument as pdo_pgsql reads it. false if it is not a number. */
static bool lob_parse_oid(const char *s, uint32_t *oid)
{
	char *end;

	errno = 0;
	*oid = (uint32_t)strtoul(s, &end, 10);
	return !(*oid == 0 && (errno == ERANGE || errno == EINVAL));
}

PHP_METHOD(PgPool_Ext, pgsqlLOBCreate)
{
	pdo_dbh_t *dbh;
	pgpool_dbh *H;
	char mode[16];
	const char *values[1] = {mode};
	int32_t lengths[1];
	lob_call c;
	bool ok;

	ZEND_PARSE_PARAMETERS_NONE();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();
	H = dbh->driver_data;
	lengths[0] = lob_text(mode, sizeof(mode), LOB_INV_READ | LOB_INV_WRITE);
	ok = lob_run(H, &c, "SELECT pg_catalog.lo_creat($1)", 1, values, lengths, NULL, NULL, false,
	             false) &&
	     lob_long(&c) != 0;
	if (ok)
		RETVAL_STR(strpprintf(0, ZEND_ULONG_FMT, (zend_ulong)lob_long(&c)));
	pgpool_result_free(&c.res);
	if (ok)
		return;
	PDO_HANDLE_DBH_ERR();
	RETURN_FALSE;
}

PHP_METHOD(PgPool_Ext, pgsqlLOBOpen)
{
	pdo_dbh_t *dbh;
	pgpool_dbh *H;
	char *oidstr, *modestr = "rb";
	size_t oidlen, modelen;
	uint32_t oid;
	int32_t lfd;
	php_stream *stm;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "s|s", &oidstr, &oidlen, &modestr, &modelen) ==
	    FAILURE)
		RETURN_THROWS();
	if (!lob_parse_oid(oidstr, &oid))
		RETURN_FALSE;
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();
	H = dbh->driver_data;
	lfd = lob_open(H, oid, strpbrk(modestr, "+w") ? LOB_INV_READ | LOB_INV_WRITE : LOB_INV_READ,
	               false);
	if (lfd >= 0) {
		stm = lob_stream(ZEND_THIS, H, lfd, oid);
		if (stm != NULL) {
			php_stream_to_zval(stm, return_value);
			return;
		}
	}
	PDO_HANDLE_DBH_ERR();
	RETURN_FALSE;
}

PHP_METHOD(PgPool_Ext, pgsqlLOBUnlink)
{
	pdo_dbh_t *dbh;
	char *oidstr, o[16];
	size_t oidlen;
	uint32_t oid;
	const char *values[1] = {o};
	int32_t lengths[1];
	lob_call c;
	bool ok;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "s", &oidstr, &oidlen) == FAILURE)
		RETURN_THROWS();
	if (!lob_parse_oid(oidstr, &oid))
		RETURN_FALSE;
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	PDO_DBH_CLEAR_ERR();
	lengths[0] = lob_text(o, sizeof(o), (zend_long)oid);
	ok = lob_run(dbh->driver_data, &c, "SELECT pg_catalog.lo_unlink($1)", 1, values, lengths,
	             NULL, NULL, false, false) &&
	     lob_long(&c) == 1;
	pgpool_result_free(&c.res);
	if (ok)
		RETURN_TRUE;
	PDO_HANDLE_DBH_ERR();
	RETURN_FALSE;
}
