/*
 * pgpool_error.c: the driver's one error path. Every failure ends here: it fills PDO's error
 * code (the statement's or the handle's) and the driver's errorInfo, and PDO raises it per the
 * error mode (silent, warning, exception). Server errors keep PostgreSQL's SQLSTATE and read
 * exactly as pdo_pgsql shows them (libpq's default verbosity: severity, message, the LINE n:
 * cursor display, DETAIL, HINT, QUERY, CONTEXT; trailing newline trimmed); pool errors carry the
 * pool layer's SQLSTATE (08001, 28P01, 53300, 08006...) and message.
 */
#include <string.h>

#include "php.h"
#include "pdo/php_pdo_error.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

#include "pgpool_driver_int.h"

/* Length of msg without trailing newlines (and a lone "\n." ending), like pdo_pgsql's
 * _pdo_pgsql_trim_message. */
static size_t trimmed_len(const char *msg, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	i = len - 1;
	if (i > 1 && (msg[i - 1] == '\r' || msg[i - 1] == '\n') && msg[i] == '.')
		--i;
	while (i > 0 && (msg[i] == '\r' || msg[i] == '\n'))
		--i;
	return i + 1;
}

void pgpool_error_ex(pdo_dbh_t *dbh, pdo_stmt_t *stmt, unsigned errcode, const char *sqlstate,
                     const char *msg, size_t len)
{
	pgpool_dbh *H = dbh->driver_data;
	pdo_error_type *code = stmt ? &stmt->error_code : &dbh->error_code;
	size_t n = trimmed_len(msg, len);

	if (sqlstate == NULL || strlen(sqlstate) != 5)
		sqlstate = "HY000";
	memcpy(*code, sqlstate, sizeof(pdo_error_type));
	H->einfo.errcode = errcode;
	if (H->einfo.errmsg != NULL)
		pefree(H->einfo.errmsg, dbh->is_persistent);
	H->einfo.errmsg = pemalloc(n + 1, dbh->is_persistent);
	memcpy(H->einfo.errmsg, msg, n);
	H->einfo.errmsg[n] = '\0';
	/* While the handle is being constructed PDO does not raise driver errors itself. The
	 * exception reads like pdo_pgsql's ("SQLSTATE[28P01] [7] ..."), but its code is the
	 * SQLSTATE, as for every other PDO error, rather than pdo_pgsql's constant 7: a pool's
	 * 08001, 28P01 and 53300 are what callers test for. */
	if (dbh->methods == NULL) {
		pdo_throw_exception(H->einfo.errcode, H->einfo.errmsg, code);
		if (EG(exception) != NULL)
			zend_update_property_string(zend_ce_exception, EG(exception), "code",
			                            sizeof("code") - 1, *code);
	}
}

void pgpool_error(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const char *sqlstate, const char *msg)
{
	pgpool_error_ex(dbh, stmt, PGPOOL_ERRCODE_FATAL, sqlstate, msg, strlen(msg));
}

void pgpool_error_pool(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const pgpool_err *err)
{
	pgpool_error_ex(dbh, stmt, PGPOOL_ERRCODE_FATAL, err->sqlstate, err->message,
	                strnlen(err->message, sizeof(err->message)));
}

void pgpool_error_result(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const pgpool_result *res)
{
	if (res->status == PGPOOL_RES_EMPTY) {
		/* An empty query is an error to PDO, without SQLSTATE or message (as pdo_pgsql:
		 * PGRES_EMPTY_QUERY is 0). */
		pgpool_error_ex(dbh, stmt, 0, NULL, "", 0);
		return;
	}
	if (res->errmsg == NULL) {
		pgpool_error_ex(dbh, stmt, PGPOOL_ERRCODE_FATAL, "HY000",
		                "no error message available",
		                sizeof("no error message available") - 1);
		return;
	}
	pgpool_error_ex(dbh, stmt, res->errcode ? res->errcode : PGPOOL_ERRCODE_FATAL,
	                res->sqlstate, ZSTR_VAL(res->errmsg), ZSTR_LEN(res->errmsg));
}

void pgpool_fetch_error(pdo_dbh_t *dbh, pdo_stmt_t *stmt, zval *info)
{
	pgpool_dbh *H = dbh->driver_data;

	if (H == NULL)
		return;
	if (H->einfo.errcode)
		add_next_index_long(info, H->einfo.errcode);
	else
		add_next_index_null(info); /* keep errorInfo's shape */
	if (H->einfo.errmsg != NULL)
		add_next_index_string(info, H->einfo.errmsg);
}

void pgpool_error_free(pgpool_dbh *H)
{
	if (H->einfo.errmsg != NULL) {
		pefree(H->einfo.errmsg, H->dbh->is_persistent);
		H->einfo.errmsg = NULL;
	}
}

/* ---- libpq's message layout ---- */

#define DISPLAY_SIZE  60 /* screen width limit of the LINE display */
#define MIN_RIGHT_CUT 10 /* try to keep the cursor this far from the end of the line */

/*
 * The "LINE n: ..." display with a caret under character loc (1-based, in characters of the
 * client encoding), as libpq's reportErrorPosition draws it: tabs shown as spaces, the line cut
 * to 60 screen columns around the cursor with "..." marks.
 */
static void append_position(smart_str *out, const char *query, size_t qlen, int loc, int enc)
{
	const unsigned char *q = (const unsigned char *)query;
	size_t *qidx;
	int *scr;
	size_t off = 0;
	int cno, line = 1, ibeg = 0, iend = -1, col = 0, i, n, w, prefix;
	bool beg_trunc = false, end_trunc = false;
	char num[32];

	loc--;
	if (loc < 0)
		return;
	qlen = strnlen(query, qlen);
	qidx = safe_emalloc(qlen + 1, sizeof(size_t), 0);
	scr = safe_emalloc(qlen + 1, sizeof(int), 0);
	for (cno = 0; off < qlen; cno++) {
		unsigned char c = q[off];

		qidx[cno] = off;
		scr[cno] = col;
		if (c == '\r' || c == '\n') {
			if (cno < loc) {
				if (c == '\r' || cno == 0 || q[qidx[cno - 1]] != '\r')
					line++;
				ibeg = cno + 1;
			} else {
				iend = cno;
				break;
			}
		}
		n = enc == PGPOOL_ENC_SINGLE ? 1 : pgpool_enc_mblen(enc, q + off);
		if (off + (size_t)n > qlen)
			n = (int)(qlen - off);
		w = enc == PGPOOL_ENC_SINGLE ? 1 : pgpool_enc_dsplen(enc, q + off, n);
		col += w;
		off += (size_t)n;
	}
	if (iend < 0) {
		iend = cno;
		qidx[iend] = off;
		scr[iend] = col;
	}
	if (loc <= cno) {
		if (scr[iend] - scr[ibeg] > DISPLAY_SIZE) {
			if (scr[ibeg] + DISPLAY_SIZE >= scr[loc] + MIN_RIGHT_CUT) {
				while (scr[iend] - scr[ibeg] > DISPLAY_SIZE)
					iend--;
				end_trunc = true;
			} else {
				while (scr[loc] + MIN_RIGHT_CUT < scr[iend]) {
					iend--;
					end_trunc = true;
				}
				while (scr[iend] - scr[ibeg] > DISPLAY_SIZE) {
					ibeg++;
					beg_trunc = true;
				}
			}
		}
		n = snprintf(num, sizeof(num), "LINE %d: ", line);
		smart_str_appendl(out, num, (size_t)n);
		prefix = n;
		if (beg_trunc) {
			smart_str_appendl(out, "...", 3);
			prefix += 3;
		}
		for (off = qidx[ibeg]; off < qidx[iend]; off++)
			smart_str_appendc(out, q[off] == '\t' ? ' ' : (char)q[off]);
		if (end_trunc)
			smart_str_appendl(out, "...", 3);
		smart_str_appendc(out, '\n');
		for (i = prefix + scr[loc] - scr[ibeg]; i > 0; i--)
			smart_str_appendc(out, ' ');
		smart_str_appendl(out, "^\n", 2);
	}
	efree(scr);
	efree(qidx);
}

static void append_field(smart_str *out, const char *label, const char *value)
{
	if (value == NULL)
		return;
	smart_str_appends(out, label);
	smart_str_appends(out, value);
	smart_str_appendc(out, '\n');
}

zend_string *pgpool_error_format(const pgp_error *e, const char *query, size_t query_len, int enc)
{
	smart_str out = {0};
	const char *qtext = NULL;
	size_t qtext_len = 0;
	int qpos = 0;

	smart_str_appends(&out, e->severity);
	smart_str_appendl(&out, ":  ", 3);
	smart_str_appends(&out, e->message);
	if (e->position != NULL) {
		if (query != NULL) {
			qtext = query;
			qtext_len = query_len;
			qpos = atoi(e->position);
		} else {
			smart_str_appends(&out, " at character ");
			smart_str_appends(&out, e->position);
		}
	} else if (e->internal_position != NULL) {
		if (e->internal_query != NULL) {
			qtext = e->internal_query;
			qtext_len = strlen(e->internal_query);
			qpos = atoi(e->internal_position);
		} else {
			smart_str_appends(&out, " at character ");
			smart_str_appends(&out, e->internal_position);
		}
	}
	smart_str_appendc(&out, '\n');
	if (qtext != NULL && qpos > 0)
		append_position(&out, qtext, qtext_len, qpos, enc);
	append_field(&out, "DETAIL:  ", e->detail);
	append_field(&out, "HINT:  ", e->hint);
	append_field(&out, "QUERY:  ", e->internal_query);
	append_field(&out, "CONTEXT:  ", e->where);
	smart_str_0(&out);
	ZSTR_LEN(out.s) = trimmed_len(ZSTR_VAL(out.s), ZSTR_LEN(out.s));
	ZSTR_VAL(out.s)[ZSTR_LEN(out.s)] = '\0';
	return smart_str_extract(&out);
}
