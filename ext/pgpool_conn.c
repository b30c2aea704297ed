/*
 * pgpool_conn.c: the lease discipline of one PgPool handle (DESIGN.md invariants 2 and 3). The
 * round trips themselves are pgpool_exec.c's.
 *
 * Transaction mode (and statement mode, which behaves the same here):
 * - Outside a transaction a lease lasts one round trip: the response is read in full into the
 *   result, and the lease is released at ReadyForQuery 'I'.
 * - beginTransaction() sends nothing; the first statement goes out as BEGIN + statement in one
 *   write. Any ReadyForQuery status other than 'I' keeps the lease (also a user's own BEGIN), and
 *   COMMIT/ROLLBACK that ends at 'I' releases it.
 * - A statement that changes session state (told by the server where possible: SET, RESET,
 *   LISTEN, PREPARE, DECLARE CURSOR ... WITH HOLD and LOAD command tags, a ParameterStatus
 *   message; and from the SQL text where the tag says nothing: CREATE TEMP ..., SELECT INTO TEMP,
 *   session advisory locks, set_config) pins the lease to the handle until the request ends; it
 *   then goes back to the broker to be reset (PGP_SLOT_RESET) instead of being released. The DSN's
 *   options, client_encoding and application_name are applied with the first statement and pin
 *   the same way.
 * Session mode: the lease is held from first use until the handle is closed or the request
 * ends, and then reset.
 * Nothing is released in state 'T', 'E' or mid-message: at request end an open transaction is
 * rolled back first (with one warning naming where it began); after an I/O or protocol error the
 * connection is discarded.
 */
#include <string.h>
#include <unistd.h>

#include "php.h"

#include "pgpool_driver_int.h"

/* Handles alive in this process, for request end. */
static pgpool_dbh *conn_handles;

static const char *const param_names[PGPOOL_P_COUNT] = {
    "client_encoding",
    "standard_conforming_strings",
    "DateStyle",
    "is_superuser",
    "session_authorization",
    "server_version",
    "IntervalStyle",
    "TimeZone",
};
static const char *const param_defaults[PGPOOL_P_COUNT] = {
    "UTF8", "on", "ISO, MDY", "off", "", "", "", "",
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

uint64_t pgpool_conn_settings_hash(pgpool_dbh *H)
{
	static const int parse_params[] = {PGPOOL_P_CLIENT_ENCODING, PGPOOL_P_STD_STRINGS,
	                                   PGPOOL_P_DATESTYLE, PGPOOL_P_INTERVALSTYLE,
	                                   PGPOOL_P_TIMEZONE};
	const char *v;
	uint64_t h = 0;
	size_t i;

	/* Computed once per change of the settings, not per statement. */
	if (H->settings_hash != 0)
		return H->settings_hash;
	for (i = 0; i < PGP_ARRAY_LEN(parse_params); i++) {
		v = pgpool_conn_param(H, parse_params[i]);
		h = pgp_hash64(v, strlen(v) + 1, h);
	}
	/* search_path is not reported, and temporary objects shadow other names: a statement
	 * parsed under them resolves its names otherwise, and PostgreSQL analyzes a shared
	 * statement again under the executing session's search_path (RevalidateCachedQuery), where
	 * another result type fails with 0A000 and other parameter types with 22P02 or 42883. */
	if (H->session_salt != 0)
		h = pgp_hash64(&H->session_salt, sizeof(H->session_salt), h);
	H->settings_hash = h != 0 ? h : 1;
	return H->settings_hash;
}

void pgpool_conn_key_session(pgpool_dbh *H, uint64_t state)
{
	static uint64_t counter;

	if (state == 0) {
		/* Unique: this process, this handle, this moment. */
		uint64_t u[4] = {(uint64_t)getpid(), ++counter, pgp_now_us(),
		                 (uint64_t)(uintptr_t)H};

		state = pgp_hash64(u, sizeof(u), 0);
	}
	/* Chained: the state is what every change so far made of it. */
	H->session_salt = pgp_hash64(&state, sizeof(state), H->session_salt) | 1;
	H->settings_hash = 0;
}

bool pgpool_conn_in_txn(const pgpool_dbh *H)
{
	return H->txn_pending || (pgpool_conn_held(H) && H->txn_status != PGP_TXN_IDLE);
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
	H->settings_hash = 0;
}

static void conn_clear_origin(pgpool_dbh *H)
{
	if (H->origin_file != NULL) {
		zend_string_release(H->origin_file);
		H->origin_file = NULL;
	}
	H->origin_line = 0;
}

void pgpool_conn_note_origin(pgpool_dbh *H)
{
	zend_string *file;

	if (H->origin_file != NULL || !zend_is_executing())
		return;
	file = zend_get_executed_filename_ex();
	if (file == NULL)
		return;
	H->origin_file = zend_string_copy(file);
	H->origin_line = zend_get_executed_lineno();
}

void pgpool_conn_txn_ended(pgpool_dbh *H)
{
	if (H->cursors == 0)
		conn_clear_origin(H);
	if (H->lob_streams != NULL)
		pgpool_lob_close_all(H);
}

void pgpool_conn_drop(pgpool_dbh *H, uint32_t state)
{
	if (!pgpool_conn_held(H))
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
	H->setup_done = false;
	H->resync_pending = false;
	H->warned = false;
	H->cursors = 0;
	H->txn_lastval[0] = '\0';
	H->session_salt = 0; /* the session state goes with the lease (reset, or never set) */
	conn_clear_params(H);
	conn_clear_origin(H);
	if (H->lob_streams != NULL)
		pgpool_lob_close_all(H);
}

bool pgpool_conn_acquire(pgpool_dbh *H, pdo_stmt_t *stmt, bool quiet)
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
		/* A wait cut short by PHP's time limit ends like a statement would. */
		if (strcmp(err.sqlstate, "57014") == 0 && pgpool_timeout_expired())
			pgpool_timeout_raise();
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
void pgpool_conn_settle(pgpool_dbh *H)
{
	if (!pgpool_conn_held(H) || H->txn_status != PGP_TXN_IDLE || H->pinned ||
	    H->pool->mode == PGP_MODE_SESSION)
		return;
	pgpool_conn_drop(H, 0);
}

bool pgpool_conn_hold(pgpool_dbh *H, pdo_stmt_t *stmt)
{
	return pgpool_conn_held(H) || pgpool_conn_acquire(H, stmt, false);
}

void pgpool_conn_pin(pgpool_dbh *H)
{
	if (H->pinned || H->pool->mode == PGP_MODE_SESSION)
		return;
	H->pinned = true;
	pgpool_lease_set_flags(&H->lease, PGP_SLOTF_SESSION_STATE | PGP_SLOTF_PINNED);
}

void pgpool_conn_param_status(pgpool_dbh *H, const pgp_msg *m, bool ours)
{
	const char *name, *value;
	int i;

	if (pgp_be_parameter_status(m, &name, &value) != 0)
		return;
	if (!ours)
		pgpool_conn_pin(H);
	for (i = 0; i < PGPOOL_P_COUNT; i++) {
		if (strcmp(name, param_names[i]) == 0) {
			if (H->params[i] != NULL)
				pefree(H->params[i], H->dbh->is_persistent);
			H->params[i] = pestrdup(value, H->dbh->is_persistent);
			H->encoding = -1;
			H->settings_hash = 0;
			break;
		}
	}
}

/* Send COMMIT or ROLLBACK on the held lease. */
static bool conn_txn_command(pgpool_dbh *H, const char *cmd, bool cleanup)
{
	pgpool_query q = {.sql = cmd,
	                  .sql_len = strlen(cmd),
	                  .aux = true,
	                  .end_txn = true,
	                  .quiet = cleanup,
	                  .cleanup = cleanup};
	pgpool_result res;
	bool ok;

	pgpool_result_init(&res, false, cmd, q.sql_len, PGPOOL_ENC_UTF8);
	ok = pgpool_conn_exec(H, NULL, &q, &res);
	pgpool_result_free(&res);
	return ok;
}

bool pgpool_conn_end_txn(pgpool_dbh *H, bool commit)
{
	bool ok;

	if (H->txn_pending) {
		/* BEGIN was never sent: there is nothing to end on the server. */
		H->txn_pending = false;
		pgpool_conn_txn_ended(H);
		return true;
	}
	if (!pgpool_conn_held(H) || H->txn_status == PGP_TXN_IDLE)
		return true;
	ok = conn_txn_command(H, commit ? "COMMIT" : "ROLLBACK", false);
	if (!pgpool_conn_in_txn(H))
		pgpool_conn_txn_ended(H);
	return ok;
}

void pgpool_conn_warn_leftover(pgpool_dbh *H)
{
	const char *what;

	if (H->warned || !(EG(flags) & EG_FLAGS_IN_SHUTDOWN))
		return;
	/* A fork child's copy of its parent's lease: the transaction is the parent's, which goes
	 * on (the child neither rolls it back nor closes anything), so there is nothing to say. */
	if (pgpool_conn_held(H) && !pgpool_lease_owned(&H->lease))
		return;
	if (H->txn_status != PGP_TXN_IDLE)
		what = "a transaction";
	else if (H->cursors > 0)
		what = "a cursor declared WITH HOLD";
	else
		return;
	H->warned = true;
	/* Reported at the place it began, where the fix belongs. */
	if (H->origin_file != NULL)
		zend_error_at(E_WARNING, H->origin_file, H->origin_line,
		              "PgPool: %s begun here was still open at the end of the request; it "
		              "was %s and the connection went back to the pool",
		              what, H->txn_status != PGP_TXN_IDLE ? "rolled back" : "closed");
	else
		zend_error(E_WARNING,
		           "PgPool: %s was still open at the end of the request; it was %s and the "
		           "connection went back to the pool",
		           what, H->txn_status != PGP_TXN_IDLE ? "rolled back" : "closed");
}

void pgpool_conn_finish(pgpool_dbh *H)
{
	H->txn_pending = false;
	if (pgpool_conn_held(H)) {
		pgpool_conn_warn_leftover(H);
		if (H->txn_status != PGP_TXN_IDLE) {
			(void)conn_txn_command(H, "ROLLBACK", true);
			if (pgpool_conn_held(H) && H->txn_status != PGP_TXN_IDLE)
				pgpool_conn_drop(H, PGP_SLOT_DISCARD);
		}
	}
	if (pgpool_conn_held(H)) {
		if (H->pinned || (H->pool->mode == PGP_MODE_SESSION && H->used))
			pgpool_conn_drop(H, PGP_SLOT_RESET);
		else
			pgpool_conn_drop(H, 0);
	}
	conn_clear_origin(H);
	/* Queued notifications are request memory. */
	pgpool_notify_clear(H);
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
