/*
 * pgpool_session.c: what a statement's text and its command tags say about the session
 * (DESIGN.md invariant 3): whether it left state behind that pins the lease, changed
 * definitions other statements are parsed against, may have deallocated prepared statements,
 * drew from a sequence, or opened or closed a cursor WITH HOLD.
 */
#include <string.h>

#include "php.h"

#include "pgpool_driver_int.h"

/* A SET of a setting the server reports (GUC_REPORT): every change of it comes back as a
 * ParameterStatus, so a SET without one changed nothing (`SET NAMES 'utf8'` of frameworks). */
static bool set_of_reported(const pgpool_sql_info *info)
{
	static const char *const reported[] = {
	    "NAMES",    "TIME",          "CLIENT_ENCODING",  "DATESTYLE",
	    "TIMEZONE", "INTERVALSTYLE", "APPLICATION_NAME", "STANDARD_CONFORMING_STRINGS",
	};
	size_t i;

	if (info->multi || strcmp(info->first, "SET") != 0)
		return false;
	for (i = 0; i < PGP_ARRAY_LEN(reported); i++) {
		if (strcmp(info->second, reported[i]) == 0)
			return true;
	}
	return false;
}

/* Does a command tag say the statement left session state behind? reported: a ParameterStatus
 * came with it. */
bool pgpool_session_tag_changes(const char *tag, const pgpool_sql_info *info, bool reported)
{
	if (strcmp(tag, "SET") == 0) {
		if (set_of_reported(info))
			return reported;
		/* SET LOCAL and SET TRANSACTION end with the transaction. */
		return info->multi || strcmp(info->first, "SET") != 0 ||
		       (strcmp(info->second, "LOCAL") != 0 &&
		        strcmp(info->second, "TRANSACTION") != 0);
	}
	if (strcmp(tag, "RESET") == 0 || strcmp(tag, "LISTEN") == 0 ||
	    strcmp(tag, "PREPARE") == 0 || strcmp(tag, "LOAD") == 0)
		return true;
	/* A cursor without HOLD ends with its transaction, which holds the lease anyway. */
	if (strcmp(tag, "DECLARE CURSOR") == 0)
		return (info->words & PGPOOL_W_HOLD) || info->multi;
	/* CREATE TEMP TABLE/VIEW/SEQUENCE/FUNCTION (or in schema pg_temp), SELECT INTO a temporary
	 * table, and CREATE TEMP TABLE ... AS, whose tag is `SELECT n` once it has rows (PostgreSQL
	 * 15), also under EXPLAIN ANALYZE. A column named temp in a SELECT pins nothing. */
	if ((info->words & PGPOOL_W_TEMP) &&
	    (strncmp(tag, "CREATE", 6) == 0 ||
	     ((strncmp(tag, "SELECT", 6) == 0 || strcmp(tag, "EXPLAIN") == 0) &&
	      (info->words & (PGPOOL_W_INTO | PGPOOL_W_CREATE)))))
		return true;
	return false;
}

/* Tags that say prepared statements may have gone (the slot's records are forgotten). */
bool pgpool_session_tag_deallocates(const char *tag)
{
	return strncmp(tag, "DEALLOCATE", 10) == 0 || strcmp(tag, "DISCARD ALL") == 0;
}

/* Keep count of cursors declared WITH HOLD (the request-end warning names the first). */
void pgpool_session_track_tag(pgpool_dbh *H, const char *tag, const pgpool_sql_info *info)
{
	if (strcmp(tag, "DECLARE CURSOR") == 0 && (info->words & PGPOOL_W_HOLD)) {
		if (H->cursors++ == 0)
			pgpool_conn_note_origin(H);
	} else if (strcmp(tag, "CLOSE CURSOR ALL") == 0) {
		H->cursors = 0;
	} else if (strcmp(tag, "CLOSE CURSOR") == 0 && H->cursors > 0) {
		H->cursors--;
	}
}

/* Does a command tag say the statement changed definitions other statements are parsed
 * against? (Temporary objects only matter to their own session.) */
bool pgpool_session_tag_is_ddl(const char *tag, const pgpool_sql_info *info)
{
	if (info->words & PGPOOL_W_TEMP)
		return false;
	return strncmp(tag, "CREATE", 6) == 0 || strncmp(tag, "ALTER", 5) == 0 ||
	       strncmp(tag, "DROP", 4) == 0;
}

/* Statements that may move lastval(), even when they fail (nextval is not rolled back): INSERT
 * (also inside WITH, under EXPLAIN ANALYZE, or as any of several statements in one text),
 * nextval, setval. */
bool pgpool_session_draws_sequence(const pgpool_sql_info *info)
{
	return strcmp(info->first, "INSERT") == 0 ||
	       ((strcmp(info->first, "WITH") == 0 || strcmp(info->first, "EXPLAIN") == 0 ||
	         info->multi) &&
	        (info->words & PGPOOL_W_INSERT)) ||
	       (info->words & PGPOOL_W_SEQFUNC);
}
