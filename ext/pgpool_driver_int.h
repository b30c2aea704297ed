/*
 * pgpool_driver_int.h: private header of the PDO driver "pgpool" (pgpool_driver.c,
 * pgpool_statement.c, pgpool_conn.c, pgpool_result.c, pgpool_error.c, pgpool_text.c).
 *
 * Layers, top to bottom:
 *   pgpool_driver.c / pgpool_statement.c  PDO's dbh and statement methods, class PgPool
 *   pgpool_conn.c                         the lease discipline of one handle: when to lease,
 *                                         hold, pin, release; deferred BEGIN; lastval capture
 *   pgpool_result.c                       collecting a response into a result, decoding values
 *   pgpool_wire.c                         poll()-driven I/O of one round trip on the socket
 *   pgpool_lease.h (ext-pool)             leases, pools, the broker
 */
#ifndef PGPOOL_DRIVER_INT_H
#define PGPOOL_DRIVER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "php.h"
#include "pdo/php_pdo.h"
#include "pdo/php_pdo_driver.h"

#include "pgp_proto.h"
#include "pgpool_lease.h"
#include "pgpool_wire.h"

/* ---- module hooks (called by pgpool.c) ---- */

/* Register the PDO driver "pgpool" and class PgPool. */
zend_result pgpool_driver_minit(INIT_FUNC_ARGS);
void pgpool_driver_mshutdown(void);
/* Request start (the time limit counts from here). */
void pgpool_driver_rinit(void);
/* Request end: roll back open transactions and give every lease back (invariant 2). */
void pgpool_driver_rshutdown(void);

/* errorInfo[1] for every error, like pdo_pgsql (PGRES_FATAL_ERROR). */
#define PGPOOL_ERRCODE_FATAL 7
/* Same value as PDO::PGSQL_ATTR_DISABLE_PREPARES (pdo_pgsql's first driver attribute). */
#define PGPOOL_ATTR_DISABLE_PREPARES PDO_ATTR_DRIVER_SPECIFIC

/* ---- text (pgpool_text.c) ---- */

enum pgpool_encoding {
	PGPOOL_ENC_SINGLE = 0, /* one byte per character */
	PGPOOL_ENC_UTF8,
	PGPOOL_ENC_EUC_JP, /* EUC_JP, EUC_JIS_2004 */
	PGPOOL_ENC_EUC_CN,
	PGPOOL_ENC_EUC_KR,
	PGPOOL_ENC_EUC_TW,
	PGPOOL_ENC_JOHAB,
	PGPOOL_ENC_BIG5, /* BIG5, GBK, UHC: two bytes per non-ASCII character */
	PGPOOL_ENC_SJIS, /* SJIS, SHIFT_JIS_2004 */
	PGPOOL_ENC_GB18030,
	PGPOOL_ENC_MULE,
};

/* enum pgpool_encoding of a client_encoding name as the server reports it. */
int pgpool_encoding_id(const char *name);
/* Bytes of the character at s (s[0] valid; may look at s[1] for GB18030). */
int pgpool_enc_mblen(int enc, const unsigned char *s);
/* Length of the valid character at s (avail bytes left), -1 if invalid or cut short: libpq's
 * pg_encoding_verifymbchar(), which PQescapeStringConn applies. */
int pgpool_enc_verify(int enc, const unsigned char *s, size_t avail);
/* Screen columns of the character at s of len bytes (for error cursor lines). */
int pgpool_enc_dsplen(int enc, const unsigned char *s, int len);
/* Screen columns of a Unicode character, as libpq counts them (pgpool_wcwidth.c). */
int pgpool_ucs_width(uint32_t cp);
/* 'literal' escaped like PQescapeStringConn, NULL if the text is not valid in enc. */
zend_string *pgpool_quote_string(const char *s, size_t len, int enc, bool std_strings);
/* Bytea literal in hex format, like PQescapeByteaConn with quotes around. */
zend_string *pgpool_quote_bytea(const char *s, size_t len, bool std_strings);
/* Decode bytea text output (hex or escape format) like PQunescapeBytea. */
zend_string *pgpool_unescape_bytea(const char *s, size_t len);

/* Keywords found outside literals and comments. */
#define PGPOOL_W_INSERT    0x01u
#define PGPOOL_W_SEQFUNC   0x02u /* nextval, setval */
#define PGPOOL_W_TEMP      0x04u /* TEMP, TEMPORARY, schema pg_temp */
#define PGPOOL_W_INTO      0x08u
#define PGPOOL_W_ADVLOCK   0x10u /* session-level advisory lock functions */
#define PGPOOL_W_SETCONFIG 0x20u
#define PGPOOL_W_HOLD      0x40u /* DECLARE ... WITH HOLD */
/* "deallocate" or "discard" anywhere, also inside literals and function bodies (a DO block can
 * EXECUTE 'DEALLOCATE ALL'): the slot's prepared-statement records may no longer be true. */
#define PGPOOL_W_DEALLOC 0x80u
#define PGPOOL_W_CREATE  0x100u /* CREATE: a `SELECT n` tag may be CREATE TABLE AS */
/* Session state in a DO block's body, a dollar-quoted body or a string a DO block may EXECUTE
 * (SET, set_config, LISTEN, temp objects, advisory locks...): no command tag tells. */
#define PGPOOL_W_SESSION 0x200u
/* BEGIN, START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT anywhere in the text (END also closes a
 * CASE: only used where a false positive costs little). */
#define PGPOOL_W_TXNCTL 0x400u
/* set_config(..., true): a transaction-local setting (no pin; the statement key follows it) */
#define PGPOOL_W_SETLOCAL 0x800u
/* pg_settings, only inside the scanner: an UPDATE of it becomes PGPOOL_W_SESSION */
#define PGPOOL_W_SETTINGS 0x1000u
/* Words that pin the lease once the statement completed; PGPOOL_W_ADVLOCK pins even after an
 * error (a session advisory lock survives the error of the statement that took it). */
#define PGPOOL_W_PINS (PGPOOL_W_ADVLOCK | PGPOOL_W_SETCONFIG | PGPOOL_W_SESSION)

typedef struct pgpool_sql_info {
	char first[16];  /* first keyword of the first statement, upper case, "" if none */
	char second[16]; /* second keyword */
	bool multi;      /* more than one statement */
	uint32_t words;  /* PGPOOL_W_* */
} pgpool_sql_info;

void pgpool_sql_scan(const char *sql, size_t len, pgpool_sql_info *info);

/* ---- shared prepared statements (pgpool_prepared.c) ---- */

/* Statement names: PGP_STMT_PREFIX (pgp_shm.h: the broker's reset keeps exactly the statements
 * named so), then the key as 16 hex digits. */
#define PGPOOL_STMT_NAME_SIZE (sizeof(PGP_STMT_PREFIX) - 1 + 16 + 1)

/* Hash of a statement's SQL (computed once per PDOStatement). */
uint64_t pgpool_prepared_sql_hash(const char *sql, size_t len);
/* The shared statement's key: the SQL hash combined with the declared parameter types (ntypes 0
 * or types NULL: untyped). Never 0. */
uint64_t pgpool_prepared_key(uint64_t sql_hash, uint16_t ntypes, const uint32_t *types);
void pgpool_prepared_name(uint64_t key, char name[PGPOOL_STMT_NAME_SIZE]);
/* How often the catalog is searched for functions that may deallocate statements. */
#define PGPOOL_DEALLOC_CHECK_US 1000000u
/* Append the catalog search (a simple query; its answer is one value, "t" if such a function
 * exists) to a request. 0 or -errno. */
int pgpool_prepared_doubt_query(pgp_buf *b);
/* Entry of key in the leased slot's record (its last use set to now), -1 if not recorded. */
int pgpool_prepared_find(struct pgp_shm_slot *slot, uint64_t key, uint64_t now);
/* An entry for a statement about to be parsed: a free one, or the least recently used one, whose
 * key is returned in *victim (0 if none) for the caller to Close in the same write. */
int pgpool_prepared_reserve(struct pgp_shm_slot *slot, uint64_t *victim);
/* Record key in entry idx (from pgpool_prepared_reserve or _find) once ParseComplete arrived. */
void pgpool_prepared_record(struct pgp_shm_slot *slot, int idx, uint64_t key, uint64_t now);
/* Forget the record of one statement (it failed as one parsed against older definitions). */
void pgpool_prepared_forget(struct pgp_shm_slot *slot, uint64_t key);
/* Forget every record of the slot (statements may have been deallocated). */
void pgpool_prepared_forget_all(struct pgp_shm_slot *slot);

/* ---- results (pgpool_result.c) ---- */

enum pgpool_res_status {
	PGPOOL_RES_NONE = 0,       /* nothing received yet */
	PGPOOL_RES_COMMAND_OK = 1, /* a command without rows */
	PGPOOL_RES_TUPLES_OK = 2,  /* a row set (possibly empty) */
	PGPOOL_RES_EMPTY = 3,      /* EmptyQueryResponse */
	PGPOOL_RES_ERROR = 4,      /* ErrorResponse (or an error of ours) */
};

typedef struct pgpool_coldesc {
	const char *name; /* points into pgpool_result.rowdesc */
	uint32_t table_oid;
	int16_t attnum;
	uint32_t type_oid;
	int16_t typlen;
	int32_t typmod;
	int16_t format;
} pgpool_coldesc;

/* One statement's result, like a PGresult: the last statement's when a simple Query held
 * several (as PQexec). Rows are kept as the raw DataRow payloads in one growing block, each
 * preceded by its 4-byte length, and decoded on fetch. */
typedef struct pgpool_result {
	uint8_t status;          /* enum pgpool_res_status */
	bool keep_rows;          /* false: only count rows (exec()) */
	bool complete;           /* CommandComplete seen for the current statement */
	bool parsed;             /* ParseComplete seen */
	bool query_until_parsed; /* a prepared statement: errors after ParseComplete carry no
	                            query text (libpq's PQexecPrepared has none to show) */
	uint16_t ncols;
	pgpool_coldesc *cols; /* emalloc'd */
	uint8_t *rowdesc;     /* emalloc'd copy of the RowDescription payload */
	uint8_t *rows;        /* emalloc'd: [uint32 len][DataRow payload]... */
	size_t rows_len, rows_cap;
	zend_long nrows;
	char tag[64]; /* last CommandComplete tag */
	char sqlstate[6];
	uint8_t errcode; /* errorInfo[1] of an error of ours, 0: PGRES_FATAL_ERROR (7) */
	zend_string
	    *errmsg; /* formatted like libpq's default verbosity, trailing newline trimmed */
	/* for error messages: the SQL sent (LINE n: display) and the client encoding */
	const char *query;
	size_t query_len;
	int encoding;
} pgpool_result;

void pgpool_result_init(pgpool_result *res, bool keep_rows, const char *query, size_t query_len,
                        int encoding);
/* Free everything the result holds; it can be initialised again. */
void pgpool_result_free(pgpool_result *res);
/* Take one backend message of the statement's segment. 0 or -EPROTO. */
int pgpool_result_add(pgpool_result *res, const pgp_msg *m);
/* Set an error of our own (not from the server). */
void pgpool_result_set_error(pgpool_result *res, const char *sqlstate, const char *msg);
/* The same with errorInfo[1] = errcode (a libpq result status, as pdo_pgsql reports it). */
void pgpool_result_set_error_code(pgpool_result *res, const char *sqlstate, const char *msg,
                                  uint8_t errcode);
/* Affected rows from the command tag, like PQcmdTuples (0 when the tag has none). */
zend_long pgpool_result_cmd_tuples(const pgpool_result *res);
/* Decode the values of the row whose record starts at off into vals/lens (ncols entries);
 * returns the offset of the next row. */
size_t pgpool_result_row(const pgpool_result *res, size_t off, const uint8_t **vals, int32_t *lens);

/* ---- errors (pgpool_error.c) ---- */

typedef struct pgpool_einfo {
	unsigned errcode; /* errorInfo[1] */
	char *errmsg;     /* errorInfo[2], pemalloc'd by the handle's persistence */
} pgpool_einfo;

/* ---- the handle ---- */

/* Server parameters the driver answers from: the pool's values, unless this handle's pinned
 * connection reported a change. */
enum pgpool_param {
	PGPOOL_P_CLIENT_ENCODING = 0,
	PGPOOL_P_STD_STRINGS,
	PGPOOL_P_DATESTYLE,
	PGPOOL_P_IS_SUPERUSER,
	PGPOOL_P_SESSION_AUTH,
	PGPOOL_P_SERVER_VERSION,
	PGPOOL_P_INTERVALSTYLE,
	PGPOOL_P_TIMEZONE,
	PGPOOL_P_COUNT
};

/* A NotificationResponse kept for pgsqlGetNotify() (emalloc'd, freed by request end). */
typedef struct pgpool_notify {
	struct pgpool_notify *next;
	int32_t pid;
	char *payload; /* points into channel's allocation, after its NUL */
	char channel[];
} pgpool_notify;

typedef struct pgpool_dbh {
	pdo_dbh_t *dbh;
	pgpool_pool *pool;
	pgpool_lease lease; /* lease.pool != NULL while a lease is held */
	char txn_status;    /* last ReadyForQuery status on the held lease, 'I' without one */
	bool txn_pending;   /* beginTransaction() done, BEGIN not sent yet */
	bool pinned;        /* session state changed: hold until request end, then reset */
	bool used;          /* a statement ran on the held lease (session mode: reset it) */
	bool request_ended; /* request end released everything; refuse new leases */
	bool emulate_prepares;
	bool disable_prepares;
	bool lastval_valid;   /* lastval holds a value captured after an INSERT */
	bool lastval_unknown; /* a later statement may have moved it uncaptured (pgpool_exec.c) */
	char lastval[24];     /* lastval() as text */
	bool seq_touched;     /* the open transaction ran an INSERT/nextval/setval */
	char txn_lastval[24]; /* lastval() read before the transaction's BEGIN, "" if none */
	bool setup_done;      /* setup_sql ran on the held lease */
	bool resync_pending;  /* the slot's prepared-statement record is to be rebuilt once the
	                         failed transaction on the held lease ends */
	bool warned;          /* the request-end warning for the current lease was given */
	char *setup_sql;      /* pemalloc'd set_config() calls for the DSN's options,
	                         client_encoding and application_name (applied to the lease, which
	                         they pin) */
	uint32_t cursors;     /* cursors declared WITH HOLD on the pinned lease and not closed */
	/* where the open transaction or the first open cursor began (request-end warning) */
	zend_string *origin_file;
	uint32_t origin_line;
	pgpool_notify *notify_head, *notify_tail; /* notifications not yet fetched */
	HashTable *lob_streams;                   /* open large-object streams, by resource id */
	uint32_t stmt_counter;
	pgpool_einfo einfo;
	char *params[PGPOOL_P_COUNT];   /* pemalloc'd overrides reported by ParameterStatus */
	int encoding;                   /* enum pgpool_encoding of client_encoding, -1: look up */
	uint64_t settings_hash;         /* pgpool_conn_settings_hash(), 0: compute again */
	uint64_t session_salt;          /* session state that changes name resolution on the held
	                                   lease (pgpool_conn_key_session), 0: none */
	struct pgpool_dbh *prev, *next; /* live handles of this process */
} pgpool_dbh;

/* ---- the lease discipline (pgpool_conn.c) and round trips (pgpool_exec.c) ---- */

/* COPY data for pgpool_conn_exec(): the statement's COPY FROM STDIN reads from produce(),
 * COPY TO STDOUT writes to consume(). */
typedef struct pgpool_copy {
	/* Append CopyData messages to b (pgp_fe_copy_data), a few dozen KB at a time: 1 while more
	 * may follow, 0 at the end, -1 to abort (CopyFail; the callback recorded why). */
	int (*produce)(void *ctx, pgp_buf *b);
	/* One row of COPY TO output. 0, or -1 to drop the rest (the callback recorded why). */
	int (*consume)(void *ctx, const uint8_t *data, size_t len);
	void *ctx;
} pgpool_copy;

/* What to send. A simple Query may hold several statements; extended sends
 * Parse/Bind/Describe(portal)/Execute/Sync. */
typedef struct pgpool_query {
	const char *sql;
	size_t sql_len;
	bool extended;
	bool aux;           /* the driver's own query: no deferred BEGIN, no capture, no pinning */
	bool quiet;         /* failures are not recorded as the handle's error (catalog lookups) */
	bool end_txn;       /* COMMIT/ROLLBACK of the handle's transaction */
	bool cleanup;       /* cleaning up after PHP's time limit: the limit does not apply */
	bool binary_result; /* extended: all result columns in binary format */
	/* The SQL already scanned (a prepared statement, scanned once), with sql_len ending at its
	 * first NUL; NULL: conn scans it. */
	const pgpool_sql_info *info;
	/* extended: the shared prepared statement's key (pgpool_prepared_key); 0 runs the unnamed
	 * statement (Parse every time). */
	uint64_t stmt_key;
	uint16_t nparams;
	const uint32_t *types; /* NULL: let the server infer them all */
	const char *const *values;
	const int32_t *lengths;
	const int16_t *formats;
	const pgpool_copy *copy; /* NULL: COPY FROM STDIN / TO STDOUT are refused */
} pgpool_query;

/* Register a new handle (factory) / forget it (closer). */
void pgpool_conn_register(pgpool_dbh *H);
void pgpool_conn_unregister(pgpool_dbh *H);

/*
 * Run one statement on the handle's connection, leasing one if none is held, sending the
 * deferred BEGIN first and capturing lastval() after an INSERT outside a transaction. The result
 * (res, initialised by the caller) holds the statement's rows, or its error. Returns true when
 * the statement succeeded; on false the error is recorded in dbh/stmt (PDO raises it).
 * If PHP's max_execution_time runs out meanwhile, the statement is cancelled, the connection
 * cleaned up and PHP's fatal error raised: this does not return.
 */
bool pgpool_conn_exec(pgpool_dbh *H, pdo_stmt_t *stmt, const pgpool_query *q, pgpool_result *res);
/* Hold a lease (pgsqlGetPid, SERVER_INFO); pgpool_conn_settle() gives it back if nothing else
 * needs it. false with the error recorded. */
bool pgpool_conn_hold(pgpool_dbh *H, pdo_stmt_t *stmt);
void pgpool_conn_settle(pgpool_dbh *H);
/* COMMIT or ROLLBACK the handle's transaction (nothing is sent if BEGIN was never sent). */
bool pgpool_conn_end_txn(pgpool_dbh *H, bool commit);
/* Roll back and give the lease back (request end, handle closed). Never raises. */
void pgpool_conn_finish(pgpool_dbh *H);
/* True while the handle is in a transaction (deferred or open on the server). */
bool pgpool_conn_in_txn(const pgpool_dbh *H);
/* Server parameter for this handle (see enum pgpool_param); never NULL. */
const char *pgpool_conn_param(const pgpool_dbh *H, int param);
int pgpool_conn_encoding(pgpool_dbh *H);
/* Hash of what changes what a statement's text means when it is parsed: the reported settings
 * (client_encoding, standard_conforming_strings, DateStyle, IntervalStyle, TimeZone) and the
 * session state this handle set on the held lease that changes name resolution
 * (pgpool_conn_key_session): shared prepared statements are told apart by it. Never 0. */
uint64_t pgpool_conn_settings_hash(pgpool_dbh *H);
/* The handle changed session state that may change how names resolve (search_path, temporary
 * objects, role...): statements parsed from now on until the lease goes get other keys. state:
 * a hash of what set it when that alone determines the state (a SET, the DSN's options: handles
 * that did the same share statements), 0 when it does not (temporary objects, code): this
 * handle's statements are its own. */
void pgpool_conn_key_session(pgpool_dbh *H, uint64_t state);
/* Remember where the code that opened a transaction runs (for the request-end warning). */
void pgpool_conn_note_origin(pgpool_dbh *H);
/* At request end only: warn once that a transaction or a cursor still held the lease, naming
 * where it began (PDO rolls back for the handle's destructor, before the closer). */
void pgpool_conn_warn_leftover(pgpool_dbh *H);

/* Used by pgpool_exec.c: */
bool pgpool_conn_acquire(pgpool_dbh *H, pdo_stmt_t *stmt, bool quiet);
/* Give the lease up: state 0 releases it (clean), else PGP_SLOT_RESET or PGP_SLOT_DISCARD. */
void pgpool_conn_drop(pgpool_dbh *H, uint32_t state);
/* Keep the lease with the handle until the request ends (session state changed). */
void pgpool_conn_pin(pgpool_dbh *H);
/* A ParameterStatus on the held lease; ours: sent by the driver's own statements (no pin). */
void pgpool_conn_param_status(pgpool_dbh *H, const pgp_msg *m, bool ours);
/* The transaction ended (COMMIT/ROLLBACK or a user's own): close large-object streams. */
void pgpool_conn_txn_ended(pgpool_dbh *H);

static inline bool pgpool_conn_held(const pgpool_dbh *H)
{
	return H->lease.pool != NULL;
}

/* ---- PHP's max_execution_time as a wall-clock bound on database waits (pgpool_timeout.c) ---- */

void pgpool_timeout_minit(void);
void pgpool_timeout_mshutdown(void);
/* Request start: the time limit counts from now (set_time_limit() restarts it too). */
void pgpool_timeout_rinit(void);
/* pgp_now_us() when the limit runs out, 0 without a limit (or during request shutdown). */
uint64_t pgpool_timeout_deadline_us(void);
/* The limit has run out (a lease wait checks it after every wakeup). */
bool pgpool_timeout_expired(void);
/* Raise PHP's "Maximum execution time of N seconds exceeded" fatal error. */
ZEND_NORETURN void pgpool_timeout_raise(void);

/* ---- what statements say about the session (pgpool_session.c) ---- */

/* The command tag (and the scanned text) say the statement left session state behind;
 * reported: a ParameterStatus came with it. */
bool pgpool_session_tag_changes(const char *tag, const pgpool_sql_info *info, bool reported);
/* DEALLOCATE [ALL], DISCARD ALL: prepared statements may have gone. */
bool pgpool_session_tag_deallocates(const char *tag);
/* DDL other statements are parsed against (not for temporary objects). */
bool pgpool_session_tag_is_ddl(const char *tag, const pgpool_sql_info *info);
/* INSERT (also inside WITH), nextval, setval: may move lastval(). */
bool pgpool_session_draws_sequence(const pgpool_sql_info *info);
/* Count cursors declared WITH HOLD and closed. */
void pgpool_session_track_tag(pgpool_dbh *H, const char *tag, const pgpool_sql_info *info);

/* ---- shared prepared statements on the held lease (pgpool_prepared.c) ---- */

/* Rebuild the slot's record from pg_prepared_statements (at ReadyForQuery 'I' or 'T'). false
 * when the connection broke (it is discarded). */
bool pgpool_prepared_resync(pgpool_dbh *H);

/* ---- notifications (pgpool_notify.c) ---- */

/* Queue a NotificationResponse received on the handle's connection. */
void pgpool_notify_add(pgpool_dbh *H, const pgp_msg *m);
/* The same as a pgpool_wire_notify_fn, ctx being the handle. */
void pgpool_notify_sink(void *ctx, const pgp_msg *m);
/* Drop queued notifications (request end, handle closed). */
void pgpool_notify_clear(pgpool_dbh *H);

/* ---- large objects (pgpool_lob.c) ---- */

/* A stream reading large object oid (a column bound as PDO::PARAM_LOB), NULL on failure. */
php_stream *pgpool_lob_open_stream(pdo_stmt_t *stmt, uint32_t oid);
/* The large object's oid if stm is one of this driver's large-object streams. */
bool pgpool_lob_stream_oid(php_stream *stm, uint32_t *oid);
/* Close every large-object stream of the handle (transaction end, handle closed). */
void pgpool_lob_close_all(pgpool_dbh *H);

/* ---- driver methods (pgpool_copy.c, pgpool_notify.c, pgpool_lob.c) ---- */

PHP_METHOD(PgPool_Ext, pgsqlCopyFromArray);
PHP_METHOD(PgPool_Ext, pgsqlCopyFromFile);
PHP_METHOD(PgPool_Ext, pgsqlCopyToArray);
PHP_METHOD(PgPool_Ext, pgsqlCopyToFile);
PHP_METHOD(PgPool_Ext, pgsqlGetNotify);
PHP_METHOD(PgPool_Ext, pgsqlLOBCreate);
PHP_METHOD(PgPool_Ext, pgsqlLOBOpen);
PHP_METHOD(PgPool_Ext, pgsqlLOBUnlink);

/* ---- errors (pgpool_error.c) ---- */

/* Record an error in PDO's error code (stmt's if given, else dbh's) and errorInfo; PDO raises it
 * per the error mode. While the handle is being constructed it throws, as PDO expects. */
void pgpool_error(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const char *sqlstate, const char *msg);
/* The same with errorInfo[1] = errcode (0 shows as null) and a message of len bytes. */
void pgpool_error_ex(pdo_dbh_t *dbh, pdo_stmt_t *stmt, unsigned errcode, const char *sqlstate,
                     const char *msg, size_t len);
/* The same with a pool-layer error. */
void pgpool_error_pool(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const pgpool_err *err);
/* The same with a result's error (the server's SQLSTATE and message). */
void pgpool_error_result(pdo_dbh_t *dbh, pdo_stmt_t *stmt, const pgpool_result *res);
/* errorInfo()[1..2] (PDO's fetch_err). */
void pgpool_fetch_error(pdo_dbh_t *dbh, pdo_stmt_t *stmt, zval *info);
void pgpool_error_free(pgpool_dbh *H);
/* An ErrorResponse formatted like libpq's default verbosity; query (may be NULL) gives the
 * LINE n: display for a statement position. Trailing newlines trimmed. */
zend_string *pgpool_error_format(const pgp_error *e, const char *query, size_t query_len, int enc);

/* ---- statements ---- */

typedef struct pgpool_stmt {
	pgpool_dbh *H;
	zend_string *query;   /* SQL as sent (native: placeholders rewritten to $n) */
	size_t query_len;     /* its length up to the first NUL (what is sent, as libpq does) */
	pgpool_sql_info info; /* query scanned once (native prepares) */
	bool native;          /* extended protocol with bound parameters */
	bool named;           /* a shared server-side prepared statement (pgpool_prepared.c) */
	uint64_t sql_hash;    /* pgpool_prepared_sql_hash() of query (named statements) */
	bool scrollable;      /* PDO::CURSOR_SCROLL: fetch orientations are honoured */
	pgpool_result res;
	bool has_result;
	/* cursor over res.rows: row cur (1-based; 0 before the first, nrows+1 after the last) */
	zend_long cur;
	size_t next_off;      /* record offset of row cur+1 when reading forward */
	size_t *row_offs;     /* record offsets of all rows, built on the first scroll */
	const uint8_t **vals; /* values of the current row */
	int32_t *lens;        /* their lengths (-1 NULL) */
	/* parameters for Bind, indexed by $n - 1 */
	uint32_t param_cap;
	const char **param_values;
	int32_t *param_lengths;
	int16_t *param_formats;
	uint32_t *param_types;
	zend_string **param_strs; /* strings owned for the execute in progress */
} pgpool_stmt;

extern const struct pdo_stmt_methods pgpool_stmt_methods;

#endif
