/*
 * pgpool_conn.c: the lease discipline of one PgPool handle (DESIGN.md invariants 2 and 3).
 *
 * Transaction mode (and statement mode, which behaves the same here):
 * - Outside a transaction a lease lasts one round trip: the response is read in full into the
 *   result, and the lease is released at ReadyForQuery 'I'.
 * - beginTransaction() sends nothing; the first statement goes out as BEGIN + statement in one
 *   write. Any ReadyForQuery status other than 'I' keeps the lease (also a user's own BEGIN), and
 *   COMMIT/ROLLBACK that ends at 'I' releases it.
 * - A statement that changes session state (told by the server where possible: SET, RESET,
 *   LISTEN, PREPARE, DECLARE CURSOR and LOAD command tags, a ParameterStatus message; and from
 *   the SQL text where the tag says nothing: CREATE TEMP ..., SELECT INTO TEMP, session advisory
 *   locks, set_config) pins the lease to the handle until the request ends; it then goes back to
 *   the broker to be reset (PGP_SLOT_RESET) instead of being released.
 * Session mode: the lease is held from first use until the handle is closed or the request
 * ends, and then reset.
 * Nothing is released in state 'T', 'E' or mid-message: at request end an open transaction is
 * rolled back first; after an I/O or protocol error the connection is discarded.
 *
 * lastInsertId() after an INSERT outside a transaction: the lease is gone by the time the
 * application asks, so the round trip of a single INSERT (or of a statement calling nextval or
 * setval) also runs `SELECT lastval()` before and after it, each behind its own Sync so that
 * their errors (lastval not yet defined) cannot undo the statement. The value after is kept as
 * this handle's lastval when it differs from the value before, i.e. when the statement itself
 * drew from a sequence; a value another client left on the backend is never reported. A
 * transaction that runs such a statement gets the same treatment around it: lastval() is read
 * before its BEGIN (when its first statement is one) and after its COMMIT or ROLLBACK (sequences
 * are not transactional). Inside a transaction (or while the lease is pinned or held in session
 * mode) lastInsertId() asks the held connection, as pdo_pgsql does.
 */
#include <string.h>

#include "php.h"
#include "zend_smart_str.h"

#include "pgpool_driver_int.h"

/* Handles alive in this process, for request end. */
static pgpool_dbh *conn_handles;

static const char *const param_names[PGPOOL_P_COUNT] = {
    "client_encoding", "standard_conforming_strings", "DateStyle",
    "is_superuser",    "session_authorization",       "server_version",
};
static const char *const param_defaults[PGPOOL_P_COUNT] = {
    "UTF8", "on", "ISO, MDY", "off", "", "",
};

/* Round-trip segments: each ends with one ReadyForQuery. */
enum conn_segment {
	SEG_BEGIN = 0,
	SEG_LASTVAL_BEFORE = 1,
	SEG_MAIN = 2,
	SEG_LASTVAL_AFTER = 3,
};

void pgpool_conn_register(pgpool_dbh *H)
{
	H->prev = NULL;
	H->next = conn_handles;
	if (conn_handles != NULL)
		conn_handles->prev = H;
	conn_handles = H;
}

void pgpool_conn_unregister(pgpool_dbh *H)
{
	if (H->prev != NULL)
		H->prev->next = H->next;
	else if (conn_handles == H)
		conn_handles = H->next;
	if (H->next != NULL)
		H->next->prev = H->prev;
	H->prev = H->next = NULL;
}

static inline bool conn_held(const pgpool_dbh *H)
{
	return H->lease.pool != NULL;
}

const char *pgpool_conn_param(const pgpool_dbh *H, int param)
{
	const char *v = H->params[param];

	if (v == NULL && H->pool != NULL)
		v = pgpool_pool_param(H->pool, param_names[param]);
	return v != NULL ? v : param_defaults[param];
}

int pgpool_conn_encoding(pgpool_dbh *H)
{
	/* Looked up once per change of client_encoding, not per statement. */
	if (H->encoding < 0)
		H->encoding = pgpool_encoding_id(pgpool_conn_param(H, PGPOOL_P_CLIENT_ENCODING));
	return H->encoding;
}

bool pgpool_conn_in_txn(const pgpool_dbh *H)
{
	return H->txn_pending || (conn_held(H) && H->txn_status != PGP_TXN_IDLE);
}

static void conn_clear_params(pgpool_dbh *H)
{
	int i;

	for (i = 0; i < PGPOOL_P_COUNT; i++) {
		if (H->params[i] != NULL) {
			pefree(H->params[i], H->dbh->is_persistent);
			H->params[i] = NULL;
		}
	}
	H->encoding = -1;
}

/* Give the lease up: state 0 releases it (clean), else PGP_SLOT_RESET or PGP_SLOT_DISCARD. */
static void conn_drop(pgpool_dbh *H, uint32_t state)
{
	if (!conn_held(H))
		return;
	if (state == 0)
		pgpool_lease_release(&H->lease);
	else
		pgpool_lease_return(&H->lease, state);
	memset(&H->lease, 0, sizeof(H->lease));
	H->txn_status = PGP_TXN_IDLE;
	H->pinned = false;
	H->used = false;
	H->seq_touched = false;
	H->txn_lastval[0] = '\0';
	conn_clear_params(H);
}

static bool conn_acquire(pgpool_dbh *H, pdo_stmt_t *stmt, bool quiet)
{
	pgpool_err err;

	if (H->request_ended) {
		if (!quiet)
			pgpool_error(H->dbh, stmt, "08003",
			             "the request this PgPool belongs to has ended: no connection "
			             "can be leased any more");
		return false;
	}
	if (pgpool_lease_acquire(H->pool, &H->lease, &err) != 0) {
		memset(&H->lease, 0, sizeof(H->lease));
		if (!quiet)
			pgpool_error_pool(H->dbh, stmt, &err);
		return false;
	}
	H->txn_status = PGP_TXN_IDLE;
	H->used = false;
	if (H->pool->mode == PGP_MODE_SESSION)
		pgpool_lease_set_flags(&H->lease, PGP_SLOTF_PINNED);
	return true;
}

/* After a round trip: release the lease unless something still needs it. */
static void conn_settle(pgpool_dbh *H)
{
	if (!conn_held(H) || H->txn_status != PGP_TXN_IDLE || H->pinned ||
	    H->pool->mode == PGP_MODE_SESSION)
		return;
	conn_drop(H, 0);
}

void pgpool_conn_settle(pgpool_dbh *H)
{
	conn_settle(H);
}

bool pgpool_conn_hold(pgpool_dbh *H, pdo_stmt_t *stmt)
{
	return conn_held(H) || conn_acquire(H, stmt, false);
}

static void conn_pin(pgpool_dbh *H)
{
	if (H->pinned || H->pool->mode == PGP_MODE_SESSION)
		return;
	H->pinned = true;
	pgpool_lease_set_flags(&H->lease, PGP_SLOTF_SESSION_STATE | PGP_SLOTF_PINNED);
}

/* A ParameterStatus: the session changed a reported setting (SET client_encoding...). */
static void conn_param_status(pgpool_dbh *H, const pgp_msg *m, bool ours)
{
	const char *name, *value;
	int i;

	if (pgp_be_parameter_status(m, &name, &value) != 0)
		return;
	if (!ours)
		conn_pin(H);
	for (i = 0; i < PGPOOL_P_COUNT; i++) {
		if (strcmp(name, param_names[i]) == 0) {
			if (H->params[i] != NULL)
				pefree(H->params[i], H->dbh->is_persistent);
			H->params[i] = pestrdup(value, H->dbh->is_persistent);
			H->encoding = -1;
			break;
		}
	}
}

/* Does a command tag say the statement left session state behind? */
static bool tag_changes_session(const char *tag, const pgpool_sql_info *info)
{
	if (strcmp(tag, "SET") == 0) {
		/* SET LOCAL and SET TRANSACTION end with the transaction. */
		return info->multi || strcmp(info->first, "SET") != 0 ||
		       (strcmp(info->second, "LOCAL") != 0 &&
		        strcmp(info->second, "TRANSACTION") != 0);
	}
	if (strcmp(tag, "RESET") == 0 || strcmp(tag, "LISTEN") == 0 ||
	    strcmp(tag, "PREPARE") == 0 || strcmp(tag, "DECLARE CURSOR") == 0 ||
	    strcmp(tag, "LOAD") == 0)
		return true;
	/* CREATE TEMP TABLE/VIEW/SEQUENCE, CREATE TABLE AS / SELECT INTO a temporary table. */
	if ((info->words & PGPOOL_W_TEMP) &&
	    (strncmp(tag, "CREATE", 6) == 0 ||
	     (strncmp(tag, "SELECT", 6) == 0 && (info->words & PGPOOL_W_INTO))))
		return true;
	return false;
}

static void conn_lost_error(pgpool_dbh *H, pdo_stmt_t *stmt, int rc, const pgpool_wire_rt *rt,
                            const pgpool_result *res, bool quiet)
{
	static const char closed[] = "server closed the connection unexpectedly\n\tThis probably "
	                             "means the server terminated abnormally\n\tbefore or while "
	                             "processing the request.";
	smart_str msg = {0};

	pgpool_pool_count_error(H->pool);
	if (quiet)
		return;
	if (rc == PGPOOL_WIRE_PROTO) {
		pgpool_error(H->dbh, stmt, "08P01",
		             "lost synchronization with server: the connection was discarded");
		return;
	}
	/* As libpq words it: what the server said before it hung up (administrator shutdown,
	 * idle timeout...), then the loss itself. */
	if (res != NULL && res->status == PGPOOL_RES_ERROR && res->errmsg != NULL) {
		smart_str_append(&msg, res->errmsg);
		smart_str_appendc(&msg, '\n');
	}
	if (rt->stop != PGPOOL_STOP_NONE) {
		smart_str_appends(&msg, rt->stop == PGPOOL_STOP_PHP_TIMEOUT
		                            ? "PHP's max_execution_time was reached"
		                            : "the statement exceeded the pool's query_timeout");
		smart_str_appends(&msg, " and could not be cancelled: the connection was closed");
	} else if (rt->err == 0 || rt->err == EPIPE || rt->err == ECONNRESET) {
		smart_str_appendl(&msg, closed, sizeof(closed) - 1);
	} else {
		smart_str_appends(&msg, "could not receive data from server: ");
		smart_str_appends(&msg, strerror(rt->err));
	}
	smart_str_0(&msg);
	pgpool_error(H->dbh, stmt, "08006", ZSTR_VAL(msg.s));
	smart_str_free(&msg);
}

static void conn_cancel_error(pgpool_dbh *H, pdo_stmt_t *stmt, const pgpool_wire_rt *rt, bool quiet)
{
	char msg[256];

	pgpool_pool_count_error(H->pool);
	if (quiet)
		return;
	if (rt->stop == PGPOOL_STOP_PHP_TIMEOUT)
		snprintf(msg, sizeof(msg),
		         "ERROR:  canceling statement: PHP's max_execution_time was reached");
	else
		snprintf(msg, sizeof(msg),
		         "ERROR:  canceling statement due to the pool's query_timeout (%u ms)",
		         H->pool->query_timeout_ms);
	pgpool_error(H->dbh, stmt, "57014", msg);
}

/* Append the statement's messages to the request. 0 or -errno. */
static int conn_build_main(pgp_buf *b, const pgpool_query *q, size_t sql_len)
{
	const char *name = q->stmt_name ? q->stmt_name : "";
	int rc;

	if (!q->extended)
		return pgp_fe_query(b, q->sql, sql_len);
	/* Like libpq: parameter types go with Parse only when the caller has some; otherwise the
	 * server infers them and a Bind with more values than $n fails (08P01). */
	rc = pgp_fe_parse(b, name, q->sql, sql_len, q->types ? q->nparams : 0, q->types);
	if (rc == 0)
		rc = pgp_fe_bind(b, "", name, q->nparams, q->formats, q->values, q->lengths, 0);
	if (rc == 0)
		rc = pgp_fe_describe(b, 'P', "");
	if (rc == 0)
		rc = pgp_fe_execute(b, "", 0);
	if (rc == 0)
		rc = pgp_fe_sync(b);
	return rc;
}

/* The value of a one-column, one-row result (lastval()), copied into out. */
static void conn_take_value(const pgp_msg *m, char *out, size_t cap)
{
	const uint8_t *val;
	int32_t len;
	size_t pos = 0;
	uint16_t n;

	if (pgp_be_data_row(m, &n) != 0 || n != 1 ||
	    pgp_be_data_row_value(m, &pos, &val, &len) != 0 || len <= 0 || (size_t)len >= cap)
		return;
	memcpy(out, val, (size_t)len);
	out[len] = '\0';
}

/* The server answered COPY ... FROM STDIN: refuse it so the statement ends with an error. */
static int conn_refuse_copy_in(pgpool_wire_rt *rt, const pgpool_query *q)
{
	pgp_buf b = {0};
	int rc;

	rc = pgp_fe_copy_fail(&b, "COPY FROM STDIN is not supported through query()/exec() of "
	                          "PgPool");
	/* In the extended protocol the server ignored our Sync while in COPY mode. */
	if (rc == 0 && q->extended)
		rc = pgp_fe_sync(&b);
	rc = rc == 0 ? pgpool_wire_send_more(rt, &b) : PGPOOL_WIRE_IO;
	pgp_buf_free(&b);
	return rc;
}

/* Statements whose success may move lastval(): INSERT (also inside WITH), nextval, setval. */
static bool statement_draws_sequence(const pgpool_sql_info *info)
{
	return strcmp(info->first, "INSERT") == 0 ||
	       (strcmp(info->first, "WITH") == 0 && (info->words & PGPOOL_W_INSERT)) ||
	       (info->words & PGPOOL_W_SEQFUNC);
}

/*
 * Keep this handle's lastval after a round trip. before/after: the lastval() values read around
 * the statement (NULL when not asked, "" when not defined). A value is taken only when it differs
 * from the one before, so a value another client left on the backend is not reported as ours;
 * at the end of a transaction the "before" is the one read before its BEGIN, if any.
 */
static void conn_track_lastval(pgpool_dbh *H, const pgpool_query *q, bool begin, bool seq_in_txn,
                               const char *before, const char *after, bool ok)
{
	if (begin)
		strlcpy(H->txn_lastval, before != NULL ? before : "", sizeof(H->txn_lastval));
	if (seq_in_txn || (begin && before != NULL))
		H->seq_touched = true;
	if (after != NULL && after[0] != '\0' && (ok || q->end_txn)) {
		if (q->end_txn)
			before = H->txn_lastval;
		if (before == NULL || strcmp(before, after) != 0) {
			memcpy(H->lastval, after, sizeof(H->lastval));
			H->lastval_valid = true;
		}
	}
	if (H->txn_status == PGP_TXN_IDLE && !H->txn_pending) {
		H->seq_touched = false;
		H->txn_lastval[0] = '\0';
	}
}

bool pgpool_conn_exec(pgpool_dbh *H, pdo_stmt_t *stmt, const pgpool_query *q, pgpool_result *res)
{
	pdo_dbh_t *dbh = H->dbh;
	uint8_t segs[4];
	uint32_t nsync = 0, seg = 0;
	pgpool_sql_info info;
	pgpool_wire_rt rt;
	pgp_buf *b;
	pgp_msg m;
	char before[24] = "", after[24] = "";
	bool begin, was_idle, seq, cap_before = false, cap_after = false;
	bool tags_changed = false, completed = false;
	/* libpq sends the text up to a NUL */
	size_t sql_len = q->info ? q->sql_len : strnlen(q->sql, q->sql_len);
	uint64_t dur;
	int rc;

	if (conn_held(H) && !pgpool_lease_owned(&H->lease)) {
		/* The broker took the connection back (we were thought dead): it is not ours. */
		conn_drop(H, PGP_SLOT_DISCARD);
		H->txn_pending = false;
		if (!q->quiet)
			pgpool_error(
			    dbh, stmt, "08006",
			    "the pool reclaimed this connection; the transaction, if any, is lost");
		return false;
	}
	if (!conn_held(H) && !conn_acquire(H, stmt, q->quiet))
		return false;

	memset(&info, 0, sizeof(info));
	if (q->info != NULL)
		info = *q->info;
	else if (!q->aux)
		pgpool_sql_scan(q->sql, sql_len, &info);
	begin = H->txn_pending && !q->aux;
	was_idle = !begin && H->txn_status == PGP_TXN_IDLE;
	seq = !q->aux && statement_draws_sequence(&info);
	/* lastval() capture (see the file comment): around a single statement outside a
	 * transaction; before the BEGIN of a transaction that starts with one; after the COMMIT or
	 * ROLLBACK of a transaction that ran one. Never while the lease stays with us anyway. */
	if (!H->pinned && H->pool->mode != PGP_MODE_SESSION) {
		cap_before = seq && (begin || (was_idle && !info.multi));
		cap_after = (seq && was_idle && !info.multi) || (q->end_txn && H->seq_touched);
	}

	b = pgpool_wire_request();
	rc = 0;
	if (cap_before) {
		rc |= pgp_fe_query(b, "SELECT lastval()", 16);
		segs[nsync++] = SEG_LASTVAL_BEFORE;
	}
	if (begin) {
		rc |= pgp_fe_query(b, "BEGIN", 5);
		segs[nsync++] = SEG_BEGIN;
	}
	rc |= conn_build_main(b, q, sql_len);
	segs[nsync++] = SEG_MAIN;
	if (cap_after) {
		rc |= pgp_fe_query(b, "SELECT lastval()", 16);
		segs[nsync++] = SEG_LASTVAL_AFTER;
	}
	if (rc != 0) {
		if (!q->quiet)
			pgpool_error(dbh, stmt, "54000",
			             "could not build the request: out of memory or too many "
			             "parameters");
		conn_settle(H);
		return false;
	}

	rc = pgpool_wire_send(&rt, &H->lease, nsync, H->pool->query_timeout_ms);
	if (rc == 0) {
		while ((rc = pgpool_wire_next(&rt, &m)) == 1) {
			if (m.type == PGP_BE_READY_FOR_QUERY) {
				seg++;
				continue;
			}
			if (seg >= nsync) {
				rc = PGPOOL_WIRE_PROTO;
				break;
			}
			if (m.type == PGP_BE_PARAMETER_STATUS) {
				conn_param_status(H, &m, q->aux || segs[seg] != SEG_MAIN);
				continue;
			}
			if (m.type == PGP_BE_COPY_IN_RESPONSE) {
				rc = conn_refuse_copy_in(&rt, q);
				if (rc != 0)
					break;
				continue;
			}
			if (m.type == PGP_BE_COPY_OUT_RESPONSE ||
			    m.type == PGP_BE_COPY_BOTH_RESPONSE) {
				/* The rows still come (CopyData, CopyDone, CommandComplete). */
				pgpool_result_set_error(res, "0A000",
				                        "COPY TO STDOUT is not supported through "
				                        "query()/exec() of PgPool");
				continue;
			}
			switch (segs[seg]) {
			case SEG_MAIN:
				if (m.type == PGP_BE_COMMAND_COMPLETE) {
					const char *tag;

					completed = true;
					if (!q->aux && pgp_be_command_complete(&m, &tag) == 0 &&
					    tag_changes_session(tag, &info))
						tags_changed = true;
				}
				if (pgpool_result_add(res, &m) != 0)
					rc = PGPOOL_WIRE_PROTO;
				break;
			case SEG_BEGIN:
				if (m.type == PGP_BE_ERROR)
					(void)pgpool_result_add(res, &m);
				break;
			case SEG_LASTVAL_BEFORE:
				if (m.type == PGP_BE_DATA_ROW)
					conn_take_value(&m, before, sizeof(before));
				break;
			case SEG_LASTVAL_AFTER:
				if (m.type == PGP_BE_DATA_ROW)
					conn_take_value(&m, after, sizeof(after));
				break;
			}
			if (rc != 1)
				break;
		}
	}

	if (rc == PGPOOL_WIRE_IO || rc == PGPOOL_WIRE_PROTO) {
		conn_drop(H, PGP_SLOT_DISCARD);
		H->txn_pending = false;
		conn_lost_error(H, stmt, rc, &rt, res, q->quiet);
		return false;
	}
	if (rt.sent) {
		if (begin)
			H->txn_pending = false;
		H->used = true;
		H->txn_status = rt.txn_status;
		dur = pgp_now_us() - rt.start_us;
		pgpool_lease_count_query(&H->lease, dur);
		if (H->pool->slow_query_ms && dur / 1000 >= H->pool->slow_query_ms)
			pgpool_lease_report_slow(&H->lease, (uint32_t)(dur / 1000), q->sql,
			                         sql_len);
	}
	if (rc == PGPOOL_WIRE_CANCELED) {
		conn_track_lastval(H, q, begin, false, NULL, NULL, false);
		conn_settle(H);
		conn_cancel_error(H, stmt, &rt, q->quiet);
		return false;
	}

	if (!q->aux &&
	    (tags_changed || (completed && (info.words & (PGPOOL_W_ADVLOCK | PGPOOL_W_SETCONFIG)))))
		conn_pin(H);
	conn_track_lastval(H, q, begin, seq && !was_idle, cap_before ? before : NULL,
	                   cap_after ? after : NULL, res->status != PGPOOL_RES_ERROR);
	conn_settle(H);
	pgpool_wire_trim();

	if (res->status == PGPOOL_RES_ERROR || res->status == PGPOOL_RES_EMPTY ||
	    res->status == PGPOOL_RES_NONE) {
		if (!q->quiet)
			pgpool_error_result(dbh, stmt, res);
		return false;
	}
	return true;
}

/* Send COMMIT or ROLLBACK on the held lease. */
static bool conn_txn_command(pgpool_dbh *H, const char *cmd)
{
	pgpool_query q = {.sql = cmd, .sql_len = strlen(cmd), .aux = true, .end_txn = true};
	pgpool_result res;
	bool ok;

	pgpool_result_init(&res, false, cmd, q.sql_len, PGPOOL_ENC_UTF8);
	ok = pgpool_conn_exec(H, NULL, &q, &res);
	pgpool_result_free(&res);
	return ok;
}

bool pgpool_conn_end_txn(pgpool_dbh *H, bool commit)
{
	if (H->txn_pending) {
		/* BEGIN was never sent: there is nothing to end on the server. */
		H->txn_pending = false;
		return true;
	}
	if (!conn_held(H) || H->txn_status == PGP_TXN_IDLE)
		return true;
	return conn_txn_command(H, commit ? "COMMIT" : "ROLLBACK");
}

void pgpool_conn_finish(pgpool_dbh *H)
{
	H->txn_pending = false;
	if (!conn_held(H))
		return;
	if (H->txn_status != PGP_TXN_IDLE) {
		(void)conn_txn_command(H, "ROLLBACK");
		if (conn_held(H) && H->txn_status != PGP_TXN_IDLE)
			conn_drop(H, PGP_SLOT_DISCARD);
	}
	if (!conn_held(H))
		return;
	if (H->pinned || (H->pool->mode == PGP_MODE_SESSION && H->used))
		conn_drop(H, PGP_SLOT_RESET);
	else
		conn_drop(H, 0);
}

void pgpool_driver_rshutdown(void)
{
	pgpool_dbh *H;

	for (H = conn_handles; H != NULL; H = H->next) {
		pgpool_conn_finish(H);
		H->request_ended = true;
	}
	pgpool_wire_trim();
}
