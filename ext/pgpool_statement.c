/*
 * pgpool_statement.c: PDO statement methods of the pgpool driver.
 *
 * Native prepares (the default) go out as Parse/Bind/Describe(portal)/Execute/Sync in one write,
 * with PDO's placeholders rewritten to $n by PDO's own parser; emulated prepares send the
 * interpolated text as a simple Query. The whole result is read before execute() returns (the
 * lease may be gone right after), kept as raw DataRow bytes and converted on fetch exactly as
 * pdo_pgsql 8.2 converts text values: bool -> bool, int2/int4/int8/oid -> int, bytea -> stream,
 * NULL -> null, everything else -> string.
 *
 * Differences from pdo_pgsql, on purpose: `$1` placeholders bind positionally (pdo_pgsql sends
 * NULL for them); scrollable cursors are served from the stored result instead of a server-side
 * cursor WITH HOLD (which would pin the connection), with pdo_pgsql's row positions and
 * rowCount() (0).
 */
#include <string.h>

#include "php.h"
#include "main/php_streams.h"
#include "pdo/php_pdo_error.h"

#include "pgpool_driver_int.h"

static void stmt_release_params(pgpool_stmt *S)
{
	uint32_t i;

	for (i = 0; i < S->param_cap; i++) {
		if (S->param_strs[i] != NULL) {
			zend_string_release(S->param_strs[i]);
			S->param_strs[i] = NULL;
		}
		S->param_values[i] = NULL;
		S->param_lengths[i] = 0;
		S->param_formats[i] = 0;
		S->param_types[i] = 0;
	}
}

static void stmt_params_reserve(pgpool_stmt *S, uint32_t n)
{
	uint32_t cap = S->param_cap ? S->param_cap : 8, i;

	if (n <= S->param_cap)
		return;
	while (cap < n)
		cap *= 2;
	S->param_values = safe_erealloc(S->param_values, cap, sizeof(*S->param_values), 0);
	S->param_lengths = safe_erealloc(S->param_lengths, cap, sizeof(*S->param_lengths), 0);
	S->param_formats = safe_erealloc(S->param_formats, cap, sizeof(*S->param_formats), 0);
	S->param_types = safe_erealloc(S->param_types, cap, sizeof(*S->param_types), 0);
	S->param_strs = safe_erealloc(S->param_strs, cap, sizeof(*S->param_strs), 0);
	for (i = S->param_cap; i < cap; i++) {
		S->param_values[i] = NULL;
		S->param_lengths[i] = 0;
		S->param_formats[i] = 0;
		S->param_types[i] = 0;
		S->param_strs[i] = NULL;
	}
	S->param_cap = cap;
}

static void stmt_drop_result(pgpool_stmt *S)
{
	if (S->has_result) {
		pgpool_result_free(&S->res);
		S->has_result = false;
	}
	if (S->row_offs != NULL) {
		efree(S->row_offs);
		S->row_offs = NULL;
	}
	S->cur = 0;
	S->next_off = 0;
}

static int pgpool_stmt_dtor(pdo_stmt_t *stmt)
{
	pgpool_stmt *S = stmt->driver_data;

	stmt_drop_result(S);
	stmt_release_params(S);
	if (S->param_cap) {
		efree(S->param_values);
		efree(S->param_lengths);
		efree(S->param_formats);
		efree(S->param_types);
		efree(S->param_strs);
	}
	if (S->vals != NULL) {
		efree(S->vals);
		efree(S->lens);
	}
	if (S->query != NULL)
		zend_string_release(S->query);
	efree(S);
	stmt->driver_data = NULL;
	return 1;
}

static int pgpool_stmt_execute(pdo_stmt_t *stmt)
{
	pgpool_stmt *S = stmt->driver_data;
	pgpool_dbh *H = S->H;
	pgpool_query q = {0};
	uint32_t i, n;
	bool typed = false, ok;

	stmt_drop_result(S);
	if (S->native) {
		q.sql = ZSTR_VAL(S->query);
		q.sql_len = S->query_len;
		q.info = &S->info;
		q.extended = true;
		/* As pdo_pgsql: as many parameters as were bound (the server checks the count). */
		n = stmt->bound_params ? zend_hash_num_elements(stmt->bound_params) : 0;
		if (n > UINT16_MAX) {
			/* libpq's refusal, as pdo_pgsql reports it */
			pgpool_error(stmt->dbh, stmt, "HY000",
			             "number of parameters must be between 0 and 65535");
			stmt_release_params(S);
			return 0;
		}
		stmt_params_reserve(S, n);
		for (i = 0; i < n; i++)
			typed |= S->param_types[i] != 0;
		q.nparams = (uint16_t)n;
		q.types = typed ? S->param_types : NULL;
		if (S->named)
			q.stmt_key = pgpool_prepared_key(S->sql_hash, q.nparams, q.types);
		q.values = S->param_values;
		q.lengths = S->param_lengths;
		q.formats = S->param_formats;
	} else {
		q.sql = ZSTR_VAL(stmt->active_query_string);
		q.sql_len = ZSTR_LEN(stmt->active_query_string);
	}
	pgpool_result_init(&S->res, true, q.sql, q.sql_len, pgpool_conn_encoding(H));
	S->res.query_until_parsed = S->named;
	S->has_result = true;
	ok = pgpool_conn_exec(H, stmt, &q, &S->res);
	stmt_release_params(S);
	if (!ok)
		return 0;

	/* A re-execution may return another shape (SELECT * after ALTER TABLE): PDO then
	 * describes the columns again. */
	php_pdo_stmt_set_column_count(stmt, S->res.ncols);
	if (S->res.status == PGPOOL_RES_COMMAND_OK)
		stmt->row_count = pgpool_result_cmd_tuples(&S->res);
	else if (S->scrollable)
		stmt->row_count = 0; /* pdo_pgsql counts the rows of its FETCH FORWARD 0 */
	else
		stmt->row_count = S->res.nrows;
	if (S->res.ncols) {
		S->vals = safe_erealloc(S->vals, S->res.ncols, sizeof(*S->vals), 0);
		S->lens = safe_erealloc(S->lens, S->res.ncols, sizeof(*S->lens), 0);
	}
	return 1;
}

/* The value bound to a native parameter, for Bind. 0 with the error recorded on failure. */
static int stmt_bind_value(pdo_stmt_t *stmt, pgpool_stmt *S, struct pdo_bound_param_data *param)
{
	zend_long no = param->paramno;
	zval *v = Z_ISREF(param->parameter) ? Z_REFVAL(param->parameter) : &param->parameter;
	zend_string *str;

	if (no < 0 || no >= UINT16_MAX)
		return 1;
	stmt_params_reserve(S, (uint32_t)no + 1);
	if (S->param_strs[no] != NULL) {
		zend_string_release(S->param_strs[no]);
		S->param_strs[no] = NULL;
	}
	if (PDO_PARAM_TYPE(param->param_type) == PDO_PARAM_LOB && Z_TYPE_P(v) == IS_RESOURCE) {
		php_stream *stm;
		uint32_t oid;

		php_stream_from_zval_no_verify(stm, v);
		if (stm == NULL) {
			pgpool_error(stmt->dbh, stmt, "HY105", "Expected a stream resource");
			return 0;
		}
		if (pgpool_lob_stream_oid(stm, &oid)) {
			/* A large-object stream stands for its oid, as with pdo_pgsql. */
			str = zend_string_alloc(4, 0);
			ZSTR_VAL(str)[0] = (char)(oid >> 24);
			ZSTR_VAL(str)[1] = (char)(oid >> 16);
			ZSTR_VAL(str)[2] = (char)(oid >> 8);
			ZSTR_VAL(str)[3] = (char)oid;
			ZSTR_VAL(str)[4] = '\0';
			S->param_strs[no] = str;
			S->param_values[no] = ZSTR_VAL(str);
			S->param_lengths[no] = 4;
			S->param_formats[no] = 1;
			S->param_types[no] = PGP_OID_OID;
			return 1;
		}
		/* Another stream is read; as with pdo_pgsql its contents replace the bound value.
		 */
		str = php_stream_copy_to_mem(stm, PHP_STREAM_COPY_ALL, 0);
		zval_ptr_dtor(v);
		ZVAL_STR(v, str != NULL ? str : ZSTR_EMPTY_ALLOC());
	}
	if (PDO_PARAM_TYPE(param->param_type) == PDO_PARAM_NULL || Z_TYPE_P(v) == IS_NULL) {
		S->param_values[no] = NULL;
		S->param_lengths[no] = -1;
		S->param_formats[no] = 0;
		return 1;
	}
	if (Z_TYPE_P(v) == IS_TRUE || Z_TYPE_P(v) == IS_FALSE) {
		S->param_values[no] = Z_TYPE_P(v) == IS_TRUE ? "t" : "f";
		S->param_lengths[no] = 1;
		S->param_formats[no] = 0;
		return 1;
	}
	/* Like pdo_pgsql, the bound variable itself becomes a string (bindParam() callers see
	 * it); the value is sent from it. */
	if (Z_TYPE_P(v) != IS_STRING && (!try_convert_to_string(v) || EG(exception) != NULL))
		return 0;
	if (Z_STRLEN_P(v) > INT32_MAX) {
		pgpool_error(stmt->dbh, stmt, "54000", "parameter value too large");
		return 0;
	}
	S->param_values[no] = Z_STRVAL_P(v);
	if (PDO_PARAM_TYPE(param->param_type) == PDO_PARAM_LOB) {
		S->param_lengths[no] = (int32_t)Z_STRLEN_P(v);
		S->param_formats[no] = 1;
	} else {
		/* Text parameters end at a NUL, as libpq sends them. */
		S->param_lengths[no] = (int32_t)strnlen(Z_STRVAL_P(v), Z_STRLEN_P(v));
		S->param_formats[no] = 0;
	}
	return 1;
}

static int pgpool_stmt_param_hook(pdo_stmt_t *stmt, struct pdo_bound_param_data *param,
                                  enum pdo_param_event event_type)
{
	pgpool_stmt *S = stmt->driver_data;
	zend_string *target;

	if (!param->is_param)
		return 1;
	if (!S->native) {
		/* Emulated: PDO quotes the values itself; booleans must read as PostgreSQL's. */
		if (event_type == PDO_PARAM_EVT_NORMALIZE &&
		    PDO_PARAM_TYPE(param->param_type) == PDO_PARAM_BOOL &&
		    (param->param_type & PDO_PARAM_INPUT_OUTPUT) != PDO_PARAM_INPUT_OUTPUT) {
			const char *s = zend_is_true(&param->parameter) ? "t" : "f";

			param->param_type = PDO_PARAM_STR;
			zval_ptr_dtor(&param->parameter);
			ZVAL_STRINGL(&param->parameter, s, 1);
		}
		return 1;
	}
	switch (event_type) {
	case PDO_PARAM_EVT_NORMALIZE:
		if (param->name == NULL)
			return 1;
		if (ZSTR_VAL(param->name)[0] == '$') {
			param->paramno = ZEND_ATOL(ZSTR_VAL(param->name) + 1) - 1;
			return 1;
		}
		if (stmt->bound_param_map == NULL ||
		    (target = zend_hash_find_ptr(stmt->bound_param_map, param->name)) == NULL) {
			/* errorInfo like pdo_pgsql: HY093 with the parameter's name */
			pgpool_error_ex(stmt->dbh, stmt, 0, "HY093", ZSTR_VAL(param->name),
			                ZSTR_LEN(param->name));
			return 0;
		}
		param->paramno = ZEND_ATOL(ZSTR_VAL(target) + 1) - 1;
		return 1;
	case PDO_PARAM_EVT_ALLOC:
		if (stmt->bound_param_map != NULL &&
		    !zend_hash_index_exists(stmt->bound_param_map, param->paramno)) {
			pgpool_error_ex(stmt->dbh, stmt, 0, "HY093", "parameter was not defined",
			                sizeof("parameter was not defined") - 1);
			return 0;
		}
		return 1;
	case PDO_PARAM_EVT_EXEC_PRE:
		return stmt_bind_value(stmt, S, param);
	default:
		return 1;
	}
}

static void stmt_index_rows(pgpool_stmt *S)
{
	size_t off = 0;
	zend_long i;
	uint32_t len;

	S->row_offs = safe_emalloc(S->res.nrows ? (size_t)S->res.nrows : 1, sizeof(size_t), 0);
	for (i = 0; i < S->res.nrows; i++) {
		S->row_offs[i] = off;
		memcpy(&len, S->res.rows + off, sizeof(len));
		off += sizeof(len) + len;
	}
}

static int pgpool_stmt_fetch(pdo_stmt_t *stmt, enum pdo_fetch_orientation ori, zend_long offset)
{
	pgpool_stmt *S = stmt->driver_data;
	zend_long n, t;

	if (!S->has_result || S->res.status != PGPOOL_RES_TUPLES_OK)
		return 0;
	n = S->res.nrows;
	if (!S->scrollable || ori == PDO_FETCH_ORI_NEXT) {
		if (S->row_offs == NULL) {
			/* Forward reading walks the stored rows in order. */
			if (S->cur >= n) {
				S->cur = n + 1;
				return 0;
			}
			S->next_off = pgpool_result_row(&S->res, S->next_off, S->vals, S->lens);
			S->cur++;
			return 1;
		}
		t = S->cur + 1;
	} else {
		switch (ori) {
		case PDO_FETCH_ORI_PRIOR:
			t = S->cur - 1;
			break;
		case PDO_FETCH_ORI_FIRST:
			t = 1;
			break;
		case PDO_FETCH_ORI_LAST:
			t = n;
			break;
		case PDO_FETCH_ORI_ABS:
			t = offset >= 0 ? offset : n + 1 + offset;
			break;
		case PDO_FETCH_ORI_REL:
			t = S->cur + offset;
			break;
		default:
			return 0;
		}
	}
	/* Like a server cursor, the position stops just before the first or after the last. */
	if (t < 0)
		t = 0;
	if (t > n)
		t = n + 1;
	S->cur = t;
	if (t < 1 || t > n)
		return 0;
	if (S->row_offs == NULL)
		stmt_index_rows(S);
	(void)pgpool_result_row(&S->res, S->row_offs[t - 1], S->vals, S->lens);
	return 1;
}

static int pgpool_stmt_describe(pdo_stmt_t *stmt, int colno)
{
	pgpool_stmt *S = stmt->driver_data;
	const pgpool_coldesc *col;

	if (!S->has_result || colno < 0 || colno >= S->res.ncols)
		return 0;
	col = &S->res.cols[colno];
	stmt->columns[colno].name = zend_string_init(col->name, strlen(col->name), 0);
	/* PQfsize and PQfmod, as pdo_pgsql reports them ("len" -1 for varlena types). */
	stmt->columns[colno].maxlen = (size_t)(zend_long)col->typlen;
	stmt->columns[colno].precision = (zend_ulong)(zend_long)col->typmod;
	return 1;
}

static zend_long stmt_parse_long(const uint8_t *p, int32_t len)
{
	char buf[32];
	size_t n = (size_t)len < sizeof(buf) - 1 ? (size_t)len : sizeof(buf) - 1;

	memcpy(buf, p, n);
	buf[n] = '\0';
	return ZEND_ATOL(buf);
}

static int pgpool_stmt_get_col(pdo_stmt_t *stmt, int colno, zval *result, enum pdo_param_type *type)
{
	pgpool_stmt *S = stmt->driver_data;
	const uint8_t *val;
	int32_t len;

	if (!S->has_result || colno < 0 || colno >= S->res.ncols || S->cur < 1 ||
	    S->cur > S->res.nrows)
		return 0;
	val = S->vals[colno];
	len = S->lens[colno];
	if (len < 0) {
		ZVAL_NULL(result);
		return 1;
	}
	switch (S->res.cols[colno].type_oid) {
	case PGP_OID_BOOL:
		ZVAL_BOOL(result, len > 0 && val[0] == 't');
		break;
	case PGP_OID_INT2:
	case PGP_OID_INT4:
	case PGP_OID_INT8:
		ZVAL_LONG(result, stmt_parse_long(val, len));
		break;
	case PGP_OID_OID: {
		char buf[16];
		size_t n = (size_t)len < sizeof(buf) - 1 ? (size_t)len : sizeof(buf) - 1;
		uint32_t oid;
		php_stream *stream;

		memcpy(buf, val, n);
		buf[n] = '\0';
		oid = (uint32_t)strtoul(buf, NULL, 10);
		if (type != NULL && *type == PDO_PARAM_LOB) {
			/* A column bound as LOB reads the large object. */
			stream = pgpool_lob_open_stream(stmt, oid);
			if (stream == NULL)
				return 0;
			php_stream_to_zval(stream, result);
			return 1;
		}
		ZVAL_LONG(result, (zend_long)oid);
		break;
	}
	case PGP_OID_BYTEA: {
		zend_string *bin = pgpool_unescape_bytea((const char *)val, (size_t)len);
		php_stream *stream = php_stream_memory_open(TEMP_STREAM_READONLY, bin);

		php_stream_to_zval(stream, result);
		zend_string_release(bin);
		break;
	}
	default:
		ZVAL_STRINGL_FAST(result, (const char *)val, (size_t)len);
		break;
	}
	return 1;
}

/* Type names pdo_pgsql knows without asking the catalog. */
static const char *stmt_known_type(uint32_t oid)
{
	switch (oid) {
	case PGP_OID_BOOL:
		return "bool";
	case PGP_OID_BYTEA:
		return "bytea";
	case PGP_OID_INT8:
		return "int8";
	case PGP_OID_INT2:
		return "int2";
	case PGP_OID_INT4:
		return "int4";
	case PGP_OID_TEXT:
		return "text";
	case PGP_OID_VARCHAR:
		return "varchar";
	case PGP_OID_DATE:
		return "date";
	case PGP_OID_TIMESTAMP:
		return "timestamp";
	default:
		return NULL;
	}
}

/* Ask the catalog (on a lease, one round trip) for the table name and/or the type name. */
static void stmt_catalog_names(pgpool_dbh *H, uint32_t table_oid, uint32_t type_oid,
                               zend_string **table, zend_string **type)
{
	char sql[160];
	pgpool_query q = {0};
	pgpool_result res;
	const uint8_t *vals[2];
	int32_t lens[2];
	int n;

	n = snprintf(sql, sizeof(sql),
	             "SELECT (SELECT relname FROM pg_class WHERE oid = %u), "
	             "(SELECT typname FROM pg_type WHERE oid = %u)",
	             table_oid, type_oid);
	q.sql = sql;
	q.sql_len = (size_t)n;
	q.aux = true;
	q.quiet = true;
	pgpool_result_init(&res, true, sql, q.sql_len, PGPOOL_ENC_UTF8);
	if (pgpool_conn_exec(H, NULL, &q, &res) && res.nrows == 1 && res.ncols == 2) {
		(void)pgpool_result_row(&res, 0, vals, lens);
		if (table_oid != 0 && lens[0] >= 0)
			*table = zend_string_init((const char *)vals[0], (size_t)lens[0], 0);
		if (type_oid != 0 && lens[1] >= 0)
			*type = zend_string_init((const char *)vals[1], (size_t)lens[1], 0);
	}
	pgpool_result_free(&res);
}

static int pgpool_stmt_get_column_meta(pdo_stmt_t *stmt, zend_long colno, zval *return_value)
{
	pgpool_stmt *S = stmt->driver_data;
	const pgpool_coldesc *col;
	const char *known;
	zend_string *table = NULL, *type = NULL;
	enum pdo_param_type pdo_type;

	if (!S->has_result || S->res.cols == NULL || colno >= stmt->column_count ||
	    colno >= S->res.ncols)
		return FAILURE;
	col = &S->res.cols[colno];
	known = stmt_known_type(col->type_oid);
	if (col->table_oid != 0 || known == NULL)
		stmt_catalog_names(S->H, col->table_oid, known ? 0 : col->type_oid, &table, &type);

	array_init(return_value);
	add_assoc_long(return_value, "pgsql:oid", col->type_oid);
	add_assoc_long(return_value, "pgsql:table_oid", col->table_oid);
	if (table != NULL)
		add_assoc_str(return_value, "table", table);
	if (known != NULL)
		add_assoc_string(return_value, "native_type", (char *)known);
	else if (type != NULL)
		add_assoc_str(return_value, "native_type", type);

	switch (col->type_oid) {
	case PGP_OID_BOOL:
		pdo_type = PDO_PARAM_BOOL;
		break;
	case PGP_OID_INT2:
	case PGP_OID_INT4:
	case PGP_OID_INT8:
		pdo_type = PDO_PARAM_INT;
		break;
	case PGP_OID_OID:
	case PGP_OID_BYTEA:
		pdo_type = PDO_PARAM_LOB;
		break;
	default:
		pdo_type = PDO_PARAM_STR;
		break;
	}
	add_assoc_long(return_value, "pdo_type", pdo_type);
	return SUCCESS;
}

static int pgpool_stmt_cursor_closer(pdo_stmt_t *stmt)
{
	/* The result is already complete on our side; nothing is open on the server. */
	return 1;
}

const struct pdo_stmt_methods pgpool_stmt_methods = {
    pgpool_stmt_dtor,
    pgpool_stmt_execute,
    pgpool_stmt_fetch,
    pgpool_stmt_describe,
    pgpool_stmt_get_col,
    pgpool_stmt_param_hook,
    NULL,
    /* set_attribute */ NULL, /* get_attribute */
    pgpool_stmt_get_column_meta,
    NULL, /* next_rowset: issue 4 */
    pgpool_stmt_cursor_closer,
};
