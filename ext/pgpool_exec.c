/*
 * pgpool_exec.c: one statement's round trip on a handle's connection (pgpool_conn_exec): what
 * goes into the one write, reading the response, and what the response tells the lease
 * discipline (pgpool_conn.c).
 *
 * A round trip is one write and reads until its last ReadyForQuery. The write holds, in order and
 * as needed: the catalog search for functions that may deallocate statements (at most once a
 * second per pool), the DSN's session settings (first statement on a lease), `SELECT lastval()`,
 * the deferred BEGIN, the statement itself, `SELECT lastval()` again. Each of them ends in its own
 * ReadyForQuery (a segment), so an error in one cannot undo the others.
 *
 * Native prepares use shared named statements (pgpool_prepared.c): a statement recorded on the
 * leased slot goes out as Bind/Describe/Execute/Sync; otherwise Close + Parse come first and the
 * statement is recorded once ParseComplete arrives. When statements may have gone behind the
 * record's back (a Bind of a recorded statement failed with 26000; a DEALLOCATE or DISCARD ALL
 * tag; SQL that mentions them, e.g. a DO block that EXECUTEs one), the slot's record is rebuilt
 * from pg_prepared_statements on the same lease (at once, or when an aborted transaction ends).
 * Statement names also depend on a pool-wide schema epoch that a worker bumps when it runs DDL:
 * statements parsed before it (with parameter types inferred from the old definitions) are not
 * reused; and on session state the handle set that changes how names resolve (search_path,
 * temporary objects: exec_key_session). A recorded statement whose Bind failed with 26000, or
 * that failed the way a statement parsed against older definitions can (0A000 "cached plan must
 * not change result type", a parameter of the wrong type: DDL run elsewhere), is retried once
 * with Parse, when no transaction was open before the round trip (a transaction begun in it is
 * rolled back and begun again: it had done nothing else). Inside an open transaction that retry
 * would abort the transaction: there a recorded statement is parsed again first while a function
 * that could deallocate statements exists (pgpool_prepared.c searches the catalog, on a write
 * that starts outside a transaction, at most once a second); other errors stand there, as they
 * would with pdo_pgsql's per-handle statements, but the failed statement leaves the slot's
 * record, so the next transaction parses it again. DDL run elsewhere, once shown (0A000, or an
 * error a fresh Parse cured), moves the schema epoch on as DDL here does.
 *
 * lastInsertId() after an INSERT outside a transaction: the lease is gone by the time the
 * application asks, so the round trip of a single INSERT (or of a statement calling nextval or
 * setval) also runs `SELECT lastval()` before and after it. The value after is kept as this
 * handle's lastval when it differs from the value before, i.e. when the statement itself drew
 * from a sequence; a value another client left on the backend is never reported. A transaction
 * that runs such a statement gets the same treatment around it: lastval() is read before its
 * BEGIN (when its first statement is one) and after its COMMIT or ROLLBACK (sequences are not
 * transactional). Inside a transaction (or while the lease is pinned or held in session mode)
 * lastInsertId() asks the held connection, as pdo_pgsql does.
 */
#include <errno.h>
#include <string.h>

#include "php.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

#include "php_pgpool.h"
#include "pgpool_driver_int.h"

/* Round-trip segments: each ends with one ReadyForQuery. */
enum exec_segment {
	SEG_DOUBT = 0, /* the catalog search for functions that may deallocate statements */
	SEG_SETUP,
	SEG_BEGIN,
	SEG_LASTVAL_BEFORE,
	SEG_MAIN,
	SEG_LASTVAL_AFTER,
};

enum exec_outcome {
	EXEC_OK = 0,
	EXEC_FAILED,
	EXEC_RETRY,        /* stale prepared-statement record: run again with Parse */
	EXEC_RETRY_REPLAN, /* a recorded statement may be older than some DDL: the same */
};

/* The shared prepared statement of one attempt. */
typedef struct exec_prep {
	uint64_t key; /* the statement's key for these session settings, 0: unnamed */
	bool named;   /* a shared named statement (else the unnamed one, or a simple Query) */
	bool hit;     /* recorded on the slot: no Parse sent */
	bool bound;   /* BindComplete seen */
	bool stale;   /* Bind failed although the record said the statement was there */
	bool replan;  /* a recorded statement failed in a way a fresh Parse may cure */
	bool moved;   /* ... in a way only DDL can explain (its result type changed) */
	int idx;      /* miss: the record entry to fill when ParseComplete arrives */
	char name[PGPOOL_STMT_NAME_SIZE];
} exec_prep;

/* Seed of the hashes of session state that keys shared statements (pgpool_conn_key_session). */
#define PGPOOL_STATE_SEED 0x5e551011u

/* libpq's result statuses pdo_pgsql reports as errorInfo[1] for COPY through exec()/query(). */
#define EXEC_PGRES_COPY_OUT  3
#define EXEC_PGRES_COPY_IN   4
#define EXEC_PGRES_COPY_BOTH 8

/* Buffer for COPY data (per process, reused). */
static pgp_buf exec_copy_buf;

static void exec_lost_error(pgpool_dbh *H, pdo_stmt_t *stmt, int rc, const pgpool_wire_rt *rt,
                            const pgpool_result *res, bool quiet)
{
	static const char closed[] = "server closed the connection unexpectedly\n\tThis probably "
	                             "means the server terminated abnormally\n\tbefore or while "
	                             "processing the request.";
	smart_str msg = {0};

	pgpool_pool_count_error(H->pool);
	if (quiet)
		return;
	if (rc == PGPOOL_WIRE_PROTO && rt->err == EMSGSIZE) {
		char m[200];

		snprintf(
		    m, sizeof(m),
		    "the server sent a message longer than pgpool.max_message_size (" ZEND_LONG_FMT
		    " bytes): the connection was discarded",
		    PGPOOL_G(max_message_size));
		pgpool_error(H->dbh, stmt, "08P01", m);
		return;
	}
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

static void exec_cancel_error(pgpool_dbh *H, pdo_stmt_t *stmt, bool quiet)
{
	char msg[256];

	pgpool_pool_count_error(H->pool);
	if (quiet)
		return;
	snprintf(msg, sizeof(msg),
	         "ERROR:  canceling statement due to the pool's query_timeout (%u ms)",
	         H->pool->query_timeout_ms);
	pgpool_error(H->dbh, stmt, "57014", msg);
}

/* PHP's time limit ran out: roll back what the handle had open (the lease goes back clean at
 * request end, or now), then raise PHP's fatal error. */
static ZEND_NORETURN void exec_raise_timeout(pgpool_dbh *H)
{
	pgpool_query q = {.sql = "ROLLBACK",
	                  .sql_len = 8,
	                  .aux = true,
	                  .end_txn = true,
	                  .quiet = true,
	                  .cleanup = true};
	pgpool_result res;

	H->txn_pending = false;
	if (pgpool_conn_held(H) && H->txn_status != PGP_TXN_IDLE) {
		pgpool_result_init(&res, false, q.sql, q.sql_len, PGPOOL_ENC_UTF8);
		(void)pgpool_conn_exec(H, NULL, &q, &res);
		pgpool_result_free(&res);
		if (pgpool_conn_held(H) && H->txn_status != PGP_TXN_IDLE)
			pgpool_conn_drop(H, PGP_SLOT_DISCARD);
	}
	pgpool_conn_txn_ended(H);
	pgpool_conn_settle(H);
	pgpool_wire_trim();
	pgpool_timeout_raise();
}

/* Append the statement's messages to the request. 0 or -errno. */
static int exec_build_main(pgp_buf *b, const pgpool_query *q, size_t sql_len, exec_prep *prep,
                           struct pgp_shm_slot *slot, bool force_parse, uint64_t now)
{
	uint64_t key = prep->key;
	const char *name = "";
	char victim_name[PGPOOL_STMT_NAME_SIZE];
	uint64_t victim;
	int rc = 0, idx;

	if (!q->extended)
		return pgp_fe_query(b, q->sql, sql_len);
	if (key != 0) {
		prep->named = true;
		pgpool_prepared_name(key, prep->name);
		name = prep->name;
		idx = pgpool_prepared_find(slot, key, now);
		prep->hit = idx >= 0 && !force_parse;
		if (!prep->hit) {
			if (idx < 0) {
				idx = pgpool_prepared_reserve(slot, &victim);
				if (victim != 0) {
					/* Least recently used on this backend: make room. */
					pgpool_prepared_name(victim, victim_name);
					rc |= pgp_fe_close(b, 'S', victim_name);
				}
			}
			prep->idx = idx;
			/* The record may under-count: a statement of this name could exist. */
			rc |= pgp_fe_close(b, 'S', name);
		}
	}
	/* Like libpq: parameter types go with Parse only when the caller has some; otherwise the
	 * server infers them and a Bind with more values than $n fails (08P01). */
	if (!prep->hit)
		rc |= pgp_fe_parse(b, name, q->sql, sql_len, q->types ? q->nparams : 0, q->types);
	rc |= pgp_fe_bind(b, "", name, q->nparams, q->formats, q->values, q->lengths,
	                  q->binary_result ? 1 : 0);
	rc |= pgp_fe_describe(b, 'P', "");
	rc |= pgp_fe_execute(b, "", 0);
	rc |= pgp_fe_sync(b);
	return rc;
}

/* The value of a one-column, one-row result (lastval()), copied into out. */
static void exec_take_value(const pgp_msg *m, char *out, size_t cap)
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

/* The server answered COPY ... FROM STDIN: stream the caller's data, or refuse it so the
 * statement ends with an error. 0, or a PGPOOL_WIRE_* error (the stream is mid-COPY). */
static int exec_copy_in(pgpool_wire_rt *rt, const pgpool_query *q)
{
	pgp_buf *b = &exec_copy_buf;
	int more = -1, rc = 0;

	pgpool_wire_set_copy(rt, true);
	if (q->copy != NULL && q->copy->produce != NULL) {
		do {
			b->len = 0;
			more = q->copy->produce(q->copy->ctx, b);
			if (more >= 0 && b->len > 0)
				rc = pgpool_wire_send_more(rt, b);
		} while (more > 0 && rc == 0);
	}
	if (rc == 0) {
		b->len = 0;
		if (more == 0)
			rc = pgp_fe_copy_done(b);
		else if (q->copy != NULL)
			rc = pgp_fe_copy_fail(b, "COPY data could not be produced");
		else
			rc = pgp_fe_copy_fail(b, "COPY FROM STDIN is not supported through "
			                         "query()/exec() of PgPool");
		/* In the extended protocol the server ignored our Sync while in COPY mode. */
		if (rc == 0 && q->extended)
			rc = pgp_fe_sync(b);
		rc = rc == 0 ? pgpool_wire_send_more(rt, b) : PGPOOL_WIRE_IO;
	}
	pgp_buf_trim(b, 64u * 1024u);
	/* Anything but a complete CopyDone/CopyFail leaves the stream mid-COPY: discard it. */
	if (rc != 0)
		return PGPOOL_WIRE_IO;
	pgpool_wire_set_copy(rt, false);
	return 0;
}

/*
 * Keep this handle's lastval after a round trip. before/after: the lastval() values read around
 * the statement (NULL when not asked, "" when not defined). A value is taken only when it differs
 * from the one before, so a value another client left on the backend is not reported as ours;
 * at the end of a transaction the "before" is the one read before its BEGIN, if any.
 */
static void exec_track_lastval(pgpool_dbh *H, bool end_txn, bool begin, bool seq_in_txn,
                               const char *before, const char *after)
{
	if (begin)
		strlcpy(H->txn_lastval, before != NULL ? before : "", sizeof(H->txn_lastval));
	if (seq_in_txn || (begin && before != NULL))
		H->seq_touched = true;
	/* Also after a failed statement: a sequence it drew from stays drawn, and pdo_pgsql's
	 * lastval() then reports it. An unchanged value is not taken (see above). */
	if (after != NULL && after[0] != '\0') {
		if (end_txn)
			before = H->txn_lastval;
		if (before == NULL || strcmp(before, after) != 0) {
			memcpy(H->lastval, after, sizeof(H->lastval));
			H->lastval_valid = true;
			H->lastval_unknown = false;
		}
	}
	if (H->txn_status == PGP_TXN_IDLE && !H->txn_pending) {
		/* A transaction that drew from a sequence ended without a capture after it (COMMIT
		 * AND CHAIN, several statements...): the value is no longer known here. */
		if (H->seq_touched && after == NULL && !H->pinned) {
			H->lastval_valid = false;
			H->lastval_unknown = true;
		}
		H->seq_touched = false;
		H->txn_lastval[0] = '\0';
	}
}

/* An error of a recorded statement (no Parse in this round trip): 26000 means the record is
 * stale; errors that a statement parsed before some DDL can give (its parameter types were
 * inferred from the old definitions, its result type changed) may go away with a fresh Parse. */
static void exec_classify_error(const pgp_msg *m, exec_prep *prep)
{
	static const char *const replan_states[] = {
	    "22P02", /* invalid_text_representation: a parameter of another type now */
	    "22003", /* numeric_value_out_of_range */
	    "22007", /* invalid_datetime_format */
	    "22008", /* datetime_field_overflow */
	    "42804", /* datatype_mismatch */
	    "42846", /* cannot_coerce */
	    "42883", /* undefined_function: no operator for the old parameter type */
	};
	pgp_error e;
	size_t i;

	if (pgp_be_error(m, &e) != 0 || e.sqlstate == NULL)
		return;
	if (strcmp(e.sqlstate, "26000") == 0) { /* prepared statement does not exist */
		prep->stale = true;
		return;
	}
	if (strcmp(e.sqlstate, "0A000") == 0) {
		prep->replan = e.message != NULL &&
		               strstr(e.message, "cached plan must not change result type") != NULL;
		prep->moved = prep->replan;
		return;
	}
	for (i = 0; i < PGP_ARRAY_LEN(replan_states); i++) {
		if (strcmp(e.sqlstate, replan_states[i]) == 0)
			prep->replan = true;
	}
}

/*
 * The statement may have left session state that changes how the names of statements parsed
 * after it resolve; shared statements must not carry it to handles without it (see
 * pgpool_conn_settings_hash). A single SET / RESET or SELECT set_config(): its text and values
 * say what the state is, and handles that ran the same share statements (a tenant's search_path).
 * State that changes nothing there (LISTEN, cursors, PREPARE, advisory locks, SET TRANSACTION):
 * nothing. Anything else (temporary objects, several statements, code): this handle's own.
 */
static void exec_key_session(pgpool_dbh *H, const pgpool_query *q, const pgpool_sql_info *info,
                             size_t sql_len)
{
	static const char *const neutral[] = {"LISTEN", "UNLISTEN", "DECLARE", "CLOSE", "PREPARE"};
	const uint32_t plain =
	    PGPOOL_W_INSERT | PGPOOL_W_SEQFUNC | PGPOOL_W_ADVLOCK | PGPOOL_W_HOLD | PGPOOL_W_TXNCTL;
	const uint32_t setcfg = PGPOOL_W_SETCONFIG | PGPOOL_W_SETLOCAL;
	bool set = strcmp(info->first, "SET") == 0;
	uint64_t h;
	int64_t len;
	uint16_t i;
	size_t k;

	if (!info->multi && (info->words & ~(plain | setcfg)) == 0) {
		if (set && (strcmp(info->second, "TRANSACTION") == 0 ||
		            strcmp(info->second, "CONSTRAINTS") == 0))
			return;
		if ((info->words & ~plain) == 0) {
			for (k = 0; k < PGP_ARRAY_LEN(neutral); k++) {
				if (strcmp(info->first, neutral[k]) == 0)
					return;
			}
			if (strcmp(info->first, "SELECT") == 0 && (info->words & PGPOOL_W_ADVLOCK))
				return;
		}
		if (set || strcmp(info->first, "RESET") == 0 ||
		    (strcmp(info->first, "SELECT") == 0 && (info->words & setcfg))) {
			h = pgp_hash64(q->sql, sql_len, PGPOOL_STATE_SEED);
			for (i = 0; q->extended && i < q->nparams; i++) {
				len = q->values == NULL || q->values[i] == NULL ? -1
				      : q->lengths == NULL ? (int64_t)strlen(q->values[i])
				                           : q->lengths[i];
				h = pgp_hash64(&len, sizeof(len), h);
				if (len > 0)
					h = pgp_hash64(q->values[i], (size_t)len, h);
			}
			pgpool_conn_key_session(H, h != 0 ? h : 1);
			return;
		}
	}
	pgpool_conn_key_session(H, 0);
}

/* A stale record was found while a transaction begun in this round trip is now failed: end it
 * on the held lease so the retry can begin it again. false if the connection is unusable. */
static bool exec_rollback_for_retry(pgpool_dbh *H)
{
	pgpool_wire_rt rt;
	pgp_buf *b = pgpool_wire_request();
	pgp_msg m;
	int rc;

	if (pgp_fe_query(b, "ROLLBACK", 8) != 0)
		return false;
	rc = pgpool_wire_send(&rt, &H->lease, 1, H->pool->query_timeout_ms, 0, pgpool_notify_sink,
	                      H);
	if (rc == 0) {
		while ((rc = pgpool_wire_next(&rt, &m)) == 1)
			;
	}
	if (rc != 0 || rt.txn_status != PGP_TXN_IDLE) {
		pgpool_conn_drop(H, PGP_SLOT_DISCARD);
		return false;
	}
	H->txn_status = PGP_TXN_IDLE;
	return true;
}

static int exec_once(pgpool_dbh *H, pdo_stmt_t *stmt, const pgpool_query *q, pgpool_result *res,
                     bool force_parse, bool replanned)
{
	pdo_dbh_t *dbh = H->dbh;
	uint8_t segs[6];
	uint32_t nsync = 0, seg = 0;
	pgpool_sql_info info;
	pgpool_wire_rt rt;
	exec_prep prep = {.idx = -1};
	pgp_buf *b;
	pgp_msg m;
	char before[24] = "", after[24] = "";
	bool begin, was_idle, was_in_txn, seq, setup, end_txn, cap_before = false,
	                                                       cap_after = false;
	bool tags_changed = false, completed = false, dealloc = false, copy_out = false;
	bool set_tag = false, pins;
	bool reported = false, ddl = false, doubt_check, doubt_found = false;
	bool doubt_answered = false;
	uint64_t doubt_epoch = 0;
	/* libpq sends the text up to a NUL */
	size_t sql_len = q->info ? q->sql_len : strnlen(q->sql, q->sql_len);
	uint64_t dur, now, php_deadline = 0;
	int rc;

	if (!q->cleanup) {
		php_deadline = pgpool_timeout_deadline_us();
		if (php_deadline != 0 && pgp_now_us() >= php_deadline)
			exec_raise_timeout(H);
	}
	if (pgpool_conn_held(H) && !pgpool_lease_owned(&H->lease)) {
		/* The broker took the connection back (we were thought dead): it is not ours. */
		pgpool_conn_drop(H, PGP_SLOT_DISCARD);
		H->txn_pending = false;
		if (!q->quiet)
			pgpool_error(
			    dbh, stmt, "08006",
			    "the pool reclaimed this connection; the transaction, if any, is lost");
		return EXEC_FAILED;
	}
	if (!pgpool_conn_held(H) && !pgpool_conn_acquire(H, stmt, q->quiet))
		return EXEC_FAILED;

	memset(&info, 0, sizeof(info));
	if (q->info != NULL)
		info = *q->info;
	else if (!q->aux)
		pgpool_sql_scan(q->sql, sql_len, &info);
	begin = H->txn_pending && !q->aux;
	was_in_txn = H->txn_pending || H->txn_status != PGP_TXN_IDLE;
	was_idle = !begin && H->txn_status == PGP_TXN_IDLE;
	seq = !q->aux && pgpool_session_draws_sequence(&info);
	setup = !q->aux && H->setup_sql != NULL && !H->setup_done;
	/* The application's own plain COMMIT / END / ROLLBACK / ABORT ends the transaction as
	 * commit() does (not ROLLBACK TO, not AND CHAIN: the block goes on after those). */
	end_txn = q->end_txn ||
	          (!q->aux && !info.multi && info.second[0] == '\0' &&
	           (strcmp(info.first, "COMMIT") == 0 || strcmp(info.first, "END") == 0 ||
	            strcmp(info.first, "ROLLBACK") == 0 || strcmp(info.first, "ABORT") == 0));
	/* lastval() capture (see the file comment): around a single statement outside a
	 * transaction; before the BEGIN of a transaction that starts with one; after the COMMIT or
	 * ROLLBACK of a transaction that ran one. Never while the lease stays with us anyway. */
	if (!H->pinned && !setup && H->pool->mode != PGP_MODE_SESSION) {
		/* Several statements in one Query run as one implicit transaction, over when the
		 * Query is, unless they control transactions themselves: then the block may still
		 * be open and a failing lastval() would abort it. */
		bool whole = !info.multi || !(info.words & PGPOOL_W_TXNCTL);

		cap_before = seq && (begin || (was_idle && whole));
		cap_after = (seq && was_idle && whole) || (end_txn && H->seq_touched);
		/* Not captured, so no longer known: lastInsertId() says so (55000) rather than
		 * give an id from before this statement. */
		if (seq && was_idle && !whole) {
			H->lastval_valid = false;
			H->lastval_unknown = true;
		}
	}

	now = pgp_now_us();
	/* Piggybacked on a write that starts outside a transaction, where its own failure could
	 * not abort anything. */
	doubt_check =
	    !q->aux && !q->cleanup && (was_idle || begin) &&
	    pgpool_lease_dealloc_claim(&H->lease, now, PGPOOL_DEALLOC_CHECK_US, &doubt_epoch);
	b = pgpool_wire_request();
	rc = 0;
	if (doubt_check) {
		rc |= pgpool_prepared_doubt_query(b);
		segs[nsync++] = SEG_DOUBT;
	}
	if (setup) {
		rc |= pgp_fe_query(b, H->setup_sql, strlen(H->setup_sql));
		segs[nsync++] = SEG_SETUP;
	}
	if (cap_before) {
		rc |= pgp_fe_query(b, "SELECT lastval()", 16);
		segs[nsync++] = SEG_LASTVAL_BEFORE;
	}
	if (begin) {
		rc |= pgp_fe_query(b, "BEGIN", 5);
		segs[nsync++] = SEG_BEGIN;
	}
	/* The same text parsed under other settings (client_encoding, DateStyle...) is another
	 * statement; settings applied in this very write are not known yet: the unnamed statement
	 * serves this once. */
	if (q->stmt_key != 0 && !setup) {
		uint64_t epoch = pgpool_lease_schema_epoch(&H->lease);

		prep.key = q->stmt_key ^ pgpool_conn_settings_hash(H);
		if (epoch != 0)
			prep.key = pgp_hash64(&epoch, sizeof(epoch), prep.key);
		prep.key |= 1;
		/* Inside an open transaction a 26000 could not be retried: when a function may
		 * have deallocated the statement unseen, parse it again (prepare before use). */
		if (!force_parse && !begin && H->txn_status == PGP_TXN_INTRANS &&
		    pgpool_lease_dealloc_doubt(&H->lease))
			force_parse = true;
	}
	rc |= exec_build_main(b, q, sql_len, &prep, H->lease.shm_slot, force_parse, now);
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
		pgpool_conn_settle(H);
		return EXEC_FAILED;
	}

	rc = pgpool_wire_send(&rt, &H->lease, nsync, H->pool->query_timeout_ms, php_deadline,
	                      pgpool_notify_sink, H);
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
				reported |= !q->aux && segs[seg] == SEG_MAIN;
				pgpool_conn_param_status(H, &m, q->aux || segs[seg] != SEG_MAIN);
				continue;
			}
			if (m.type == PGP_BE_COPY_IN_RESPONSE) {
				/* pdo_pgsql takes PGRES_COPY_IN for an error without message */
				if (q->copy == NULL)
					pgpool_result_set_error_code(res, "HY000", "",
					                             EXEC_PGRES_COPY_IN);
				rc = exec_copy_in(&rt, q);
				if (rc != 0)
					break;
				continue;
			}
			if (m.type == PGP_BE_COPY_OUT_RESPONSE ||
			    m.type == PGP_BE_COPY_BOTH_RESPONSE) {
				if (m.type == PGP_BE_COPY_OUT_RESPONSE && q->copy != NULL &&
				    q->copy->consume != NULL) {
					copy_out = true;
					pgpool_wire_set_copy(&rt, true);
					continue;
				}
				/* The rows still come (CopyData, CopyDone, CommandComplete) and
				 * are dropped; the error is pdo_pgsql's (a PGRES_COPY_OUT or
				 * PGRES_COPY_BOTH result status, no message). */
				pgpool_result_set_error_code(res, "HY000", "",
				                             m.type == PGP_BE_COPY_OUT_RESPONSE
				                                 ? EXEC_PGRES_COPY_OUT
				                                 : EXEC_PGRES_COPY_BOTH);
				continue;
			}
			if (m.type == PGP_BE_COPY_DATA) {
				if (copy_out && q->copy->consume(q->copy->ctx, m.body, m.len) != 0)
					copy_out = false; /* the rest is read and dropped */
				continue;
			}
			if (m.type == PGP_BE_COPY_DONE) {
				if (rt.copy)
					pgpool_wire_set_copy(&rt, false);
				continue;
			}
			switch (segs[seg]) {
			case SEG_MAIN:
				if (m.type == PGP_BE_COMMAND_COMPLETE) {
					const char *tag;

					completed = true;
					if (!q->aux && pgp_be_command_complete(&m, &tag) == 0) {
						tags_changed |= pgpool_session_tag_changes(
						    tag, &info, reported);
						dealloc |= pgpool_session_tag_deallocates(tag);
						ddl |= pgpool_session_tag_is_ddl(tag, &info);
						set_tag |= strcmp(tag, "SET") == 0 ||
						           strcmp(tag, "RESET") == 0;
						pgpool_session_track_tag(H, tag, &info);
					}
				} else if (m.type == PGP_BE_PARSE_COMPLETE && prep.named) {
					pgpool_prepared_record(H->lease.shm_slot, prep.idx,
					                       prep.key, now);
				} else if (m.type == PGP_BE_BIND_COMPLETE) {
					prep.bound = true;
				} else if (m.type == PGP_BE_ERROR && prep.hit &&
				           res->status != PGPOOL_RES_ERROR) {
					exec_classify_error(&m, &prep);
				}
				if (pgpool_result_add(res, &m) != 0)
					rc = PGPOOL_WIRE_PROTO;
				break;
			case SEG_DOUBT:
				if (m.type == PGP_BE_DATA_ROW || m.type == PGP_BE_ERROR) {
					char v[2] = "";

					/* An error: not known, assume there is one. */
					if (m.type == PGP_BE_DATA_ROW)
						exec_take_value(&m, v, sizeof(v));
					doubt_found = m.type == PGP_BE_ERROR || v[0] == 't';
					doubt_answered = true;
				}
				break;
			case SEG_SETUP:
			case SEG_BEGIN:
				if (m.type == PGP_BE_ERROR && pgpool_result_add(res, &m) != 0)
					rc = PGPOOL_WIRE_PROTO;
				break;
			case SEG_LASTVAL_BEFORE:
				if (m.type == PGP_BE_DATA_ROW)
					exec_take_value(&m, before, sizeof(before));
				break;
			case SEG_LASTVAL_AFTER:
				if (m.type == PGP_BE_DATA_ROW)
					exec_take_value(&m, after, sizeof(after));
				break;
			}
			if (rc != 1)
				break;
		}
	}

	if (rc == PGPOOL_WIRE_IO || rc == PGPOOL_WIRE_PROTO) {
		pgpool_conn_drop(H, PGP_SLOT_DISCARD);
		H->txn_pending = false;
		pgpool_conn_txn_ended(H);
		if (rt.stop == PGPOOL_STOP_PHP_TIMEOUT)
			exec_raise_timeout(H);
		exec_lost_error(H, stmt, rc, &rt, res, q->quiet);
		return EXEC_FAILED;
	}
	if (rt.sent) {
		if (doubt_answered)
			pgpool_lease_dealloc_store(&H->lease, now, doubt_epoch, doubt_found);
		if (begin)
			H->txn_pending = false;
		if (setup) {
			/* Applied (or partly, if it failed): either way the lease is reset later.
			 */
			H->setup_done = true;
			pgpool_conn_pin(H);
			/* Handles with the same DSN settings share statements. */
			pgpool_conn_key_session(
			    H, pgp_hash64(H->setup_sql, strlen(H->setup_sql), PGPOOL_STATE_SEED));
		}
		H->used = true;
		H->txn_status = rt.txn_status;
		dur = pgp_now_us() - rt.start_us;
		pgpool_lease_count_query(&H->lease, dur);
		if (prep.named)
			pgpool_lease_count_prepared(&H->lease, prep.hit);
		if (H->pool->slow_query_ms && dur / 1000 >= H->pool->slow_query_ms)
			pgpool_lease_report_slow(&H->lease, (uint32_t)(dur / 1000), q->sql,
			                         sql_len);
	}
	if (rc == PGPOOL_WIRE_CANCELED) {
		exec_track_lastval(H, q->end_txn, begin, false, NULL, NULL);
		if (rt.stop == PGPOOL_STOP_PHP_TIMEOUT)
			exec_raise_timeout(H);
		pgpool_conn_settle(H);
		exec_cancel_error(H, stmt, q->quiet);
		return EXEC_FAILED;
	}
	/* DDL here; or DDL elsewhere (psql, a deploy tool): a statement's result type changed, or a
	 * statement failed as one parsed against older definitions and succeeded parsed again.
	 * Every statement parsed before it is suspect, on every backend: new names for all. */
	if (ddl || prep.moved || (replanned && res->status != PGPOOL_RES_ERROR))
		pgpool_lease_schema_changed(&H->lease);
	if ((prep.stale || prep.replan) && !force_parse && (was_idle || begin)) {
		/* Someone deallocated statements behind the record's back (repair the record), or
		 * the statement was parsed against older definitions: run again with Parse. */
		if ((begin && !exec_rollback_for_retry(H)) ||
		    (prep.stale && !pgpool_prepared_resync(H))) {
			H->txn_pending = false;
			exec_lost_error(H, stmt, PGPOOL_WIRE_IO, &rt, NULL, q->quiet);
			return EXEC_FAILED;
		}
		if (begin)
			H->txn_pending = true;
		return prep.replan && !prep.moved ? EXEC_RETRY_REPLAN : EXEC_RETRY;
	}
	/* Inside an open transaction the error stands; the next use of the statement, in this
	 * transaction or any other, parses it again (Close + Parse) instead of failing the same
	 * way in every later transaction on this backend. */
	if (prep.replan)
		pgpool_prepared_forget(H->lease.shm_slot, prep.key);
	if (prep.stale || (!q->aux && ((info.words & PGPOOL_W_DEALLOC) || dealloc)))
		H->resync_pending = true;
	if (H->resync_pending && H->txn_status != PGP_TXN_FAILED && !pgpool_prepared_resync(H)) {
		exec_lost_error(H, stmt, PGPOOL_WIRE_IO, &rt, NULL, q->quiet);
		return EXEC_FAILED;
	}
	/* A session advisory lock outlives an error after it (in a DO block, or later in the
	 * statement): it pins even then. */
	pins = !q->aux && (tags_changed || (info.words & PGPOOL_W_ADVLOCK) ||
	                   (completed && (info.words & PGPOOL_W_PINS)));
	if (pins)
		pgpool_conn_pin(H);
	if (!q->aux && (pins || set_tag || (completed && (info.words & PGPOOL_W_SETLOCAL))))
		exec_key_session(H, q, &info, sql_len);
	/* seq_in_txn: also when the statement itself left a transaction open (BEGIN; INSERT). */
	exec_track_lastval(H, end_txn, begin, seq && (!was_idle || H->txn_status != PGP_TXN_IDLE),
	                   cap_before ? before : NULL, cap_after ? after : NULL);
	if (!was_in_txn && H->txn_status != PGP_TXN_IDLE)
		pgpool_conn_note_origin(H); /* a user's own BEGIN */
	else if (was_in_txn && !pgpool_conn_in_txn(H))
		pgpool_conn_txn_ended(H);
	pgpool_conn_settle(H);
	pgpool_wire_trim();

	if (res->status == PGPOOL_RES_ERROR || res->status == PGPOOL_RES_EMPTY ||
	    res->status == PGPOOL_RES_NONE) {
		if (!q->quiet)
			pgpool_error_result(dbh, stmt, res);
		return EXEC_FAILED;
	}
	return EXEC_OK;
}

bool pgpool_conn_exec(pgpool_dbh *H, pdo_stmt_t *stmt, const pgpool_query *q, pgpool_result *res)
{
	int rc = exec_once(H, stmt, q, res, false, false);
	bool keep_rows;
	bool until_parsed;
	const char *query;
	size_t query_len;
	int encoding;

	if (rc != EXEC_RETRY && rc != EXEC_RETRY_REPLAN)
		return rc == EXEC_OK;
	/* Once, with Parse, into a fresh result. */
	keep_rows = res->keep_rows;
	until_parsed = res->query_until_parsed;
	query = res->query;
	query_len = res->query_len;
	encoding = res->encoding;
	pgpool_result_free(res);
	pgpool_result_init(res, keep_rows, query, query_len, encoding);
	res->query_until_parsed = until_parsed;
	return exec_once(H, stmt, q, res, true, rc == EXEC_RETRY_REPLAN) == EXEC_OK;
}
