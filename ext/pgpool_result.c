/*
 * pgpool_result.c: collecting the backend messages of one statement into a result, the way
 * libpq builds a PGresult (the last statement of a simple Query wins, as with PQexec; the first
 * error wins over everything), and decoding stored rows on fetch.
 *
 * Rows are not decoded when they arrive: each DataRow payload is appended, behind its length,
 * to one block that grows geometrically, so a result costs a handful of allocations however many
 * rows it has, and values are only turned into zvals when fetched.
 */
#include <string.h>

#include "php.h"

#include "pgpool_driver_int.h"

void pgpool_result_init(pgpool_result *res, bool keep_rows, const char *query, size_t query_len,
                        int encoding)
{
	memset(res, 0, sizeof(*res));
	res->keep_rows = keep_rows;
	res->query = query;
	res->query_len = query_len;
	res->encoding = encoding;
}

/* Forget the current statement's columns and rows (a later statement replaces it). */
static void result_clear_rows(pgpool_result *res)
{
	if (res->cols != NULL) {
		efree(res->cols);
		res->cols = NULL;
	}
	if (res->rowdesc != NULL) {
		efree(res->rowdesc);
		res->rowdesc = NULL;
	}
	res->ncols = 0;
	res->rows_len = 0;
	res->nrows = 0;
	res->tag[0] = '\0';
	res->complete = false;
}

void pgpool_result_free(pgpool_result *res)
{
	result_clear_rows(res);
	if (res->rows != NULL) {
		efree(res->rows);
		res->rows = NULL;
	}
	res->rows_cap = 0;
	if (res->errmsg != NULL) {
		zend_string_release(res->errmsg);
		res->errmsg = NULL;
	}
	res->status = PGPOOL_RES_NONE;
	res->sqlstate[0] = '\0';
	res->errcode = 0;
}

void pgpool_result_set_error_code(pgpool_result *res, const char *sqlstate, const char *msg,
                                  uint8_t errcode)
{
	if (res->errmsg != NULL)
		zend_string_release(res->errmsg);
	res->errmsg = zend_string_init(msg, strlen(msg), 0);
	strlcpy(res->sqlstate, sqlstate, sizeof(res->sqlstate));
	res->errcode = errcode;
	res->status = PGPOOL_RES_ERROR;
}

void pgpool_result_set_error(pgpool_result *res, const char *sqlstate, const char *msg)
{
	pgpool_result_set_error_code(res, sqlstate, msg, 0);
}

static int result_row_description(pgpool_result *res, const pgp_msg *m)
{
	pgp_field f;
	uint16_t n, i;
	size_t pos = 0;

	if (pgp_be_row_description(m, &n) != 0)
		return -EPROTO;
	result_clear_rows(res);
	res->rowdesc = emalloc(m->len ? m->len : 1);
	memcpy(res->rowdesc, m->body, m->len);
	res->cols = safe_emalloc(n ? n : 1, sizeof(pgpool_coldesc), 0);
	for (i = 0; i < n; i++) {
		if (pgp_be_row_description_field(m, &pos, &f) != 0)
			return -EPROTO;
		res->cols[i].name = (const char *)res->rowdesc + (f.name - (const char *)m->body);
		res->cols[i].table_oid = f.table_oid;
		res->cols[i].attnum = f.column;
		res->cols[i].type_oid = f.type_oid;
		res->cols[i].typlen = f.type_len;
		res->cols[i].typmod = f.type_mod;
		res->cols[i].format = f.format;
	}
	res->ncols = n;
	res->status = PGPOOL_RES_TUPLES_OK;
	return 0;
}

static int result_data_row(pgpool_result *res, const pgp_msg *m)
{
	uint16_t n;
	uint32_t len = m->len;
	size_t need;

	if (res->status != PGPOOL_RES_TUPLES_OK || pgp_be_data_row(m, &n) != 0 || n != res->ncols)
		return -EPROTO;
	res->nrows++;
	if (!res->keep_rows)
		return 0;
	need = res->rows_len + sizeof(len) + len;
	if (need > res->rows_cap) {
		size_t cap = res->rows_cap ? res->rows_cap : 4096;

		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		res->rows = erealloc(res->rows, cap);
		res->rows_cap = cap;
	}
	memcpy(res->rows + res->rows_len, &len, sizeof(len));
	memcpy(res->rows + res->rows_len + sizeof(len), m->body, len);
	res->rows_len = need;
	return 0;
}

/* -EPROTO for an ErrorResponse that does not parse: the server is broken, discard it. */
static int result_error(pgpool_result *res, const pgp_msg *m)
{
	pgp_error e;
	const char *query = res->query;

	if (pgp_be_error(m, &e) != 0) {
		pgpool_result_set_error(res, "08P01", "invalid ErrorResponse from the server");
		return -EPROTO;
	}
	if (res->query_until_parsed && res->parsed)
		query = NULL;
	if (res->errmsg != NULL)
		zend_string_release(res->errmsg);
	res->errmsg = pgpool_error_format(&e, query, res->query_len, res->encoding);
	strlcpy(res->sqlstate, e.sqlstate, sizeof(res->sqlstate));
	res->status = PGPOOL_RES_ERROR;
	return 0;
}

int pgpool_result_add(pgpool_result *res, const pgp_msg *m)
{
	const char *tag;

	if (m->type == PGP_BE_ERROR) {
		/* The first error is the one reported (the server skips the rest). */
		if (res->status != PGPOOL_RES_ERROR)
			return result_error(res, m);
		return 0;
	}
	if (res->status == PGPOOL_RES_ERROR)
		return 0;
	switch (m->type) {
	case PGP_BE_PARSE_COMPLETE:
		res->parsed = true;
		return 0;
	case PGP_BE_ROW_DESCRIPTION:
		return result_row_description(res, m);
	case PGP_BE_DATA_ROW:
		return result_data_row(res, m);
	case PGP_BE_NO_DATA:
		result_clear_rows(res);
		return 0;
	case PGP_BE_COMMAND_COMPLETE:
		if (pgp_be_command_complete(m, &tag) != 0)
			return -EPROTO;
		/* A command after a completed statement of the same Query replaces it. */
		if (res->complete)
			result_clear_rows(res);
		strlcpy(res->tag, tag, sizeof(res->tag));
		res->status = res->rowdesc != NULL ? PGPOOL_RES_TUPLES_OK : PGPOOL_RES_COMMAND_OK;
		res->complete = true;
		return 0;
	case PGP_BE_EMPTY_QUERY:
		if (res->complete)
			result_clear_rows(res);
		res->status = PGPOOL_RES_EMPTY;
		res->complete = true;
		return 0;
	case PGP_BE_AUTH:
	case PGP_BE_BACKEND_KEY_DATA:
	case PGP_BE_NEGOTIATE_PROTOCOL:
		/* Startup messages in the middle of a statement: the server is broken or hostile,
		 * and waiting for whatever it means to do next could take forever. */
		return -EPROTO;
	default:
		/* BindComplete, CloseComplete, ParameterDescription, notices, notifications... */
		return 0;
	}
}

zend_long pgpool_result_cmd_tuples(const pgpool_result *res)
{
	const char *p = res->tag;

	/* PQcmdTuples: the count after INSERT's oid, or after these verbs. */
	if (strncmp(p, "INSERT ", 7) == 0) {
		p += 7;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != ' ')
			return 0;
		p++;
	} else if (strncmp(p, "DELETE ", 7) == 0 || strncmp(p, "UPDATE ", 7) == 0) {
		p += 7;
	} else if (strncmp(p, "SELECT ", 7) == 0) {
		p += 7;
	} else if (strncmp(p, "FETCH ", 6) == 0 || strncmp(p, "MERGE ", 6) == 0) {
		p += 6;
	} else if (strncmp(p, "MOVE ", 5) == 0 || strncmp(p, "COPY ", 5) == 0) {
		p += 5;
	} else {
		return 0;
	}
	if (*p < '0' || *p > '9')
		return 0;
	return ZEND_STRTOL(p, NULL, 10);
}

size_t pgpool_result_row(const pgpool_result *res, size_t off, const uint8_t **vals, int32_t *lens)
{
	pgp_msg m;
	uint32_t len;
	size_t pos = 0;
	uint16_t i;

	memcpy(&len, res->rows + off, sizeof(len));
	m.type = PGP_BE_DATA_ROW;
	m.len = len;
	m.body = res->rows + off + sizeof(len);
	for (i = 0; i < res->ncols; i++) {
		/* Validated when it arrived: this cannot fail. */
		if (pgp_be_data_row_value(&m, &pos, &vals[i], &lens[i]) != 0) {
			vals[i] = NULL;
			lens[i] = -1;
		}
	}
	return off + sizeof(len) + len;
}
