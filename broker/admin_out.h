/*
 * admin_out.h: the body of an admin command's answer, built once as records of named cells and
 * rendered either as JSON (`pgpool-cli --json`, for scripts) or as text for people (a table for
 * a list of records, "key: value" lines for one record). One builder for both formats, so the
 * table and the JSON always show the same numbers.
 */
#ifndef BROKER_ADMIN_OUT_H
#define BROKER_ADMIN_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "pgp_common.h"

struct admin_cell;
struct admin_rec;

struct admin_out {
	bool json;
	bool list; /* a list of records (table, JSON array) rather than one record */
	struct admin_rec *recs;
	uint32_t nrecs, cap;
	char *message; /* a one-line answer instead of records (actions) */
	bool oom;
};

/* Cell flags. */
#define OUT_TEXT 0x1u /* shown in text tables too (JSON always has every cell) */

void out_init(struct admin_out *o, bool json, bool list);
void out_free(struct admin_out *o);
/* Start the next record (a list may hold none). */
void out_record(struct admin_out *o);
/* Cells of the current record (key and value are copied). */
void out_str(struct admin_out *o, const char *key, const char *value, unsigned flags);
void out_u64(struct admin_out *o, const char *key, uint64_t value, unsigned flags);
void out_i64(struct admin_out *o, const char *key, int64_t value, unsigned flags);
/* A duration or time in seconds, printed with millisecond precision. */
void out_secs(struct admin_out *o, const char *key, double value, unsigned flags);
void out_bool(struct admin_out *o, const char *key, bool value, unsigned flags);
void out_null(struct admin_out *o, const char *key, unsigned flags);
/* The whole answer is this sentence (JSON: {"ok": true, "message": ...}). */
void out_message(struct admin_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append the rendering to b. 0 or -ENOMEM. */
int out_render(const struct admin_out *o, pgp_buf *b) PGP_WUR;
/* Append s as a JSON string literal (quoted, escaped). 0 or -ENOMEM. */
int out_json_string(pgp_buf *b, const char *s) PGP_WUR;

#endif
