/*
 * pgpool_prepared.c: server-side prepared statements shared by every worker (DESIGN.md
 * invariant 6).
 *
 * A native prepare is named after a hash of its parameter types and SQL text ("pgpool_" and 16
 * hex digits), so every worker that prepares the same SQL means the same statement. Each slot in
 * shm records which statements exist on its backend (struct pgp_shm_stmt: key and last use):
 * a worker that leases the slot and finds the key there sends Bind/Describe/Execute/Sync without
 * Parse. Entries [0, nstmts) are in use (a key of 0 in that range is a hole left by an eviction
 * whose Parse failed, reused first); only the lease owner writes them, the broker only while it
 * holds the slot (reset).
 *
 * The record may under-count (a worker died between ParseComplete and recording, or a record was
 * cleared conservatively): a miss therefore sends Close for the name before its Parse, which is
 * harmless when the statement does not exist. It may over-count only when someone deallocated
 * statements in a way the driver did not see; the executor then gets 26000 on Bind, forgets the
 * slot's records and retries with Parse (pgpool_exec.c). Only statements prepared through the
 * protocol are ours: an SQL PREPARE that took one of our names is never recorded (resync_sql),
 * and the broker's reset deallocates it.
 */
#include <stdio.h>

#include "php.h"

#include "pgpool_driver_int.h"

uint64_t pgpool_prepared_sql_hash(const char *sql, size_t len)
{
	return pgp_hash64(sql, len, 0);
}

uint64_t pgpool_prepared_key(uint64_t sql_hash, uint16_t ntypes, const uint32_t *types)
{
	uint64_t key = sql_hash;

	/* Statements parsed with declared types are other statements than the untyped one. */
	if (types != NULL && ntypes > 0)
		key = pgp_hash64(types, (size_t)ntypes * sizeof(*types), sql_hash ^ ntypes);
	return key != 0 ? key : 1; /* 0 marks a free entry */
}

void pgpool_prepared_name(uint64_t key, char name[PGPOOL_STMT_NAME_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	memcpy(name, PGP_STMT_PREFIX, sizeof(PGP_STMT_PREFIX) - 1);
	for (i = 0; i < 16; i++)
		name[sizeof(PGP_STMT_PREFIX) - 1 + i] = hex[(key >> (60 - 4 * i)) & 0xf];
	name[sizeof(PGP_STMT_PREFIX) - 1 + 16] = '\0';
}

/* Entries in use, bounded by the array whatever shm says. */
static uint32_t slot_count(const struct pgp_shm_slot *slot)
{
	uint32_t n = atomic_load_explicit(&slot->nstmts, memory_order_relaxed);

	return n < PGP_SLOT_STMTS ? n : PGP_SLOT_STMTS;
}

int pgpool_prepared_find(struct pgp_shm_slot *slot, uint64_t key, uint64_t now)
{
	uint32_t n = slot_count(slot), i;

	for (i = 0; i < n; i++) {
		if (atomic_load_explicit(&slot->stmts[i].hash, memory_order_relaxed) == key) {
			atomic_store_explicit(&slot->stmts[i].last_used, now, memory_order_relaxed);
			return (int)i;
		}
	}
	return -1;
}

int pgpool_prepared_reserve(struct pgp_shm_slot *slot, uint64_t *victim)
{
	uint32_t n = slot_count(slot), i, lru = 0;
	uint64_t oldest = UINT64_MAX, used;

	*victim = 0;
	for (i = 0; i < n; i++) {
		if (atomic_load_explicit(&slot->stmts[i].hash, memory_order_relaxed) == 0)
			return (int)i;
	}
	if (n < PGP_SLOT_STMTS)
		return (int)n;
	for (i = 0; i < n; i++) {
		used = atomic_load_explicit(&slot->stmts[i].last_used, memory_order_relaxed);
		if (used < oldest) {
			oldest = used;
			lru = i;
		}
	}
	/* The caller closes the victim in the same write; until the new statement is recorded
	 * the entry is a hole (an unrecorded statement is harmless, see the file comment). */
	*victim = atomic_load_explicit(&slot->stmts[lru].hash, memory_order_relaxed);
	atomic_store_explicit(&slot->stmts[lru].hash, 0, memory_order_relaxed);
	return (int)lru;
}

void pgpool_prepared_record(struct pgp_shm_slot *slot, int idx, uint64_t key, uint64_t now)
{
	uint32_t n = slot_count(slot);

	if (idx < 0 || idx >= PGP_SLOT_STMTS || (uint32_t)idx > n)
		return;
	atomic_store_explicit(&slot->stmts[idx].last_used, now, memory_order_relaxed);
	atomic_store_explicit(&slot->stmts[idx].hash, key, memory_order_release);
	if ((uint32_t)idx == n)
		atomic_store_explicit(&slot->nstmts, n + 1, memory_order_release);
}

void pgpool_prepared_forget(struct pgp_shm_slot *slot, uint64_t key)
{
	uint32_t n = slot_count(slot), i;

	/* A hole: the statement still exists, and the next use of the key (a miss) sends Close
	 * before its Parse. */
	for (i = 0; i < n; i++) {
		if (atomic_load_explicit(&slot->stmts[i].hash, memory_order_relaxed) == key)
			atomic_store_explicit(&slot->stmts[i].hash, 0, memory_order_relaxed);
	}
}

void pgpool_prepared_forget_all(struct pgp_shm_slot *slot)
{
	uint32_t n = slot_count(slot), i;

	atomic_store_explicit(&slot->nstmts, 0, memory_order_release);
	for (i = 0; i < n; i++) {
		atomic_store_explicit(&slot->stmts[i].hash, 0, memory_order_relaxed);
		atomic_store_explicit(&slot->stmts[i].last_used, 0, memory_order_relaxed);
	}
}

/*
 * Functions that could deallocate statements where the driver cannot see it: user-defined ones
 * (extension members and the system's own are trusted) in SQL or PL/pgSQL that mention
 * deallocate, PL/pgSQL ones that run dynamic SQL (EXECUTE can build the word), and any in another
 * procedural language. While one exists, a recorded statement used inside an open transaction
 * is parsed again first (pgpool_exec.c): a 26000 there would abort the transaction.
 */
static const char doubt_sql[] =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = "
    "p.prolang WHERE l.lanname NOT IN ('internal', 'c') AND p.pronamespace <> "
    "'pg_catalog'::pg_catalog.regnamespace AND p.pronamespace <> "
    "'information_schema'::pg_catalog.regnamespace AND (p.prosrc ~* 'dealloc' OR l.lanname NOT "
    "IN ('sql', 'plpgsql') OR (l.lanname = 'plpgsql' AND p.prosrc ~* E'\\\\mexecute\\\\M')) AND "
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
    "'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e'))";

int pgpool_prepared_doubt_query(pgp_buf *b)
{
	return pgp_fe_query(b, doubt_sql, sizeof(doubt_sql) - 1);
}

/* The statements named like ours on the backend, newest first; more than the record holds are
 * closed (they would never be evicted otherwise). Only those prepared through the protocol: an
 * SQL PREPARE of one of our names (after a DEALLOCATE of it) holds whatever text its author
 * chose, and recording it would hand that text to every later user of the name; left out, the
 * name is a miss and its next use sends Close + Parse. The broker's reset deallocates it. */
static const char resync_sql[] =
    "SELECT name FROM pg_catalog.pg_prepared_statements WHERE starts_with(name, '" PGP_STMT_PREFIX
    "') AND NOT from_sql ORDER BY prepare_time DESC";

/* Collect one pg_prepared_statements row into the record, or a Close for the surplus. */
static void resync_row(pgpool_dbh *H, const pgp_msg *m, uint32_t *n, pgp_buf *closes, uint64_t now)
{
	const uint8_t *val;
	int32_t len;
	size_t pos = 0;
	uint16_t ncols;
	char name[PGPOOL_STMT_NAME_SIZE];
	uint64_t key = 0;
	int i;

	if (pgp_be_data_row(m, &ncols) != 0 || ncols != 1 ||
	    pgp_be_data_row_value(m, &pos, &val, &len) != 0 || len != PGPOOL_STMT_NAME_SIZE - 1)
		return;
	memcpy(name, val, (size_t)len);
	name[len] = '\0';
	for (i = sizeof(PGP_STMT_PREFIX) - 1; i < len; i++) {
		int c = name[i];

		key = key << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (*n < PGP_SLOT_STMTS) {
		/* Newest first: keep that order for the LRU. */
		pgpool_prepared_record(H->lease.shm_slot, (int)*n, key, now - *n);
		(*n)++;
	} else if (pgp_fe_close(closes, 'S', name) != 0) {
		closes->len =
		    0; /* out of memory: the surplus stays unrecorded, which is harmless */
	}
}

/*
 * Rebuild the slot's record of prepared statements from what the backend has, on the held lease
 * at ReadyForQuery 'I' or 'T' (a failed transaction cannot run the query: the caller waits until
 * it ends). false when the connection broke (it is discarded).
 */
bool pgpool_prepared_resync(pgpool_dbh *H)
{
	pgpool_wire_rt rt;
	pgp_buf *b = pgpool_wire_request();
	pgp_buf closes = {0};
	uint64_t now = pgp_now_us();
	uint32_t n = 0;
	pgp_msg m;
	int rc;

	H->resync_pending = false;
	pgpool_prepared_forget_all(H->lease.shm_slot);
	rc = pgp_fe_query(b, resync_sql, sizeof(resync_sql) - 1) != 0
	         ? PGPOOL_WIRE_IO
	         : pgpool_wire_send(&rt, &H->lease, 1, H->pool->query_timeout_ms, 0,
	                            pgpool_notify_sink, H);
	if (rc == 0) {
		while ((rc = pgpool_wire_next(&rt, &m)) == 1) {
			if (m.type == PGP_BE_DATA_ROW)
				resync_row(H, &m, &n, &closes, now);
		}
	}
	if (rc == 0 && closes.len > 0) {
		b = pgpool_wire_request();
		rc = pgp_buf_append(b, closes.data, closes.len) != 0 || pgp_fe_sync(b) != 0
		         ? PGPOOL_WIRE_IO
		         : pgpool_wire_send(&rt, &H->lease, 1, H->pool->query_timeout_ms, 0,
		                            pgpool_notify_sink, H);
		if (rc == 0) {
			while ((rc = pgpool_wire_next(&rt, &m)) == 1)
				;
		}
	}
	pgp_buf_free(&closes);
	if (rc != 0) {
		pgpool_conn_drop(H, PGP_SLOT_DISCARD);
		return false;
	}
	H->txn_status = rt.txn_status;
	return true;
}
