/*
 * fake-pg-scenarios.h: the backend message builder and the scenario catalogue of fake-pg (see
 * fake-pg.c). Included by fake-pg.c only: tests/lib/build.sh makes every .c file of tests/tools a
 * program of its own, so the second half of the tool lives in a header.
 */
#ifndef FAKE_PG_SCENARIOS_H
#define FAKE_PG_SCENARIOS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgp_common.h"
#include "pgp_proto.h"

static void die(const char *what);

/* ---- backend message builder ---- */

static void put(pgp_buf *b, const void *p, size_t n)
{
	if (pgp_buf_append(b, p, n) != 0) {
		errno = ENOMEM;
		die("append");
	}
}

static void put_u8(pgp_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u16(pgp_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(b, x, 2);
}

static void put_u32(pgp_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(b, x, 4);
}

static void put_str(pgp_buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* Start a message; msg_end() patches its length word. */
static size_t msg_begin(pgp_buf *b, char type)
{
	size_t at = b->len;

	put_u8(b, (uint8_t)type);
	put_u32(b, 0);
	return at;
}

static void msg_end(pgp_buf *b, size_t at)
{
	uint32_t len = (uint32_t)(b->len - at - 1);
	uint8_t *p = b->data + at + 1;

	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

/* A message with an explicit (possibly false) length word and the given payload. */
static void msg_raw(pgp_buf *b, char type, uint32_t len_word, const void *payload, size_t n)
{
	put_u8(b, (uint8_t)type);
	put_u32(b, len_word);
	if (n)
		put(b, payload, n);
}

static void msg_auth(pgp_buf *b, uint32_t code)
{
	size_t at = msg_begin(b, 'R');
	put_u32(b, code);
	msg_end(b, at);
}

static void msg_param(pgp_buf *b, const char *name, const char *value)
{
	size_t at = msg_begin(b, 'S');
	put_str(b, name);
	put_str(b, value);
	msg_end(b, at);
}

static void msg_rfq(pgp_buf *b, char status)
{
	size_t at = msg_begin(b, 'Z');
	put_u8(b, (uint8_t)status);
	msg_end(b, at);
}

static void msg_complete(pgp_buf *b, const char *tag)
{
	size_t at = msg_begin(b, 'C');
	put_str(b, tag);
	msg_end(b, at);
}

static void msg_empty(pgp_buf *b, char type)
{
	msg_end(b, msg_begin(b, type));
}

/* RowDescription of n columns named c1..cn with the given type oids (text format). */
static void msg_rowdesc(pgp_buf *b, uint16_t n, const uint32_t *oids)
{
	size_t at = msg_begin(b, 'T');
	char name[16];

	put_u16(b, n);
	for (uint16_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%u", (unsigned)i + 1);
		put_str(b, name);
		put_u32(b, 0);
		put_u16(b, 0);
		put_u32(b, oids[i]);
		put_u16(b, (uint16_t)-1);
		put_u32(b, (uint32_t)-1);
		put_u16(b, 0);
	}
	msg_end(b, at);
}

/* DataRow of n text values (NULL pointer = SQL NULL). */
static void msg_datarow(pgp_buf *b, uint16_t n, const char *const *vals)
{
	size_t at = msg_begin(b, 'D');

	put_u16(b, n);
	for (uint16_t i = 0; i < n; i++) {
		if (!vals[i]) {
			put_u32(b, (uint32_t)-1);
			continue;
		}
		put_u32(b, (uint32_t)strlen(vals[i]));
		put(b, vals[i], strlen(vals[i]));
	}
	msg_end(b, at);
}

static void msg_error(pgp_buf *b, char type, const char *sqlstate, const char *text)
{
	size_t at = msg_begin(b, type);

	put_u8(b, 'S');
	put_str(b, type == 'E' ? "ERROR" : "NOTICE");
	put_u8(b, 'V');
	put_str(b, type == 'E' ? "ERROR" : "NOTICE");
	put_u8(b, 'C');
	put_str(b, sqlstate);
	put_u8(b, 'M');
	put_str(b, text);
	put_u8(b, 0);
	msg_end(b, at);
}

/* One int4 column "c1" with one row holding v. */
static void result_one(pgp_buf *b, const char *v)
{
	static const uint32_t oid = PGP_OID_INT4;

	msg_rowdesc(b, 1, &oid);
	msg_datarow(b, 1, &v);
	msg_complete(b, "SELECT 1");
}

/* ---- scenarios ---- */

enum after {
	AFTER_NOTHING = 0, /* the bytes include their own ReadyForQuery */
	AFTER_RFQ,         /* append ReadyForQuery 'I' (a valid result) */
	AFTER_CLOSE,       /* close the connection after sending */
	AFTER_HANG,        /* send, then read and ignore everything until the client leaves */
	AFTER_DRIP,        /* send one byte every 2 ms, then ReadyForQuery */
};

struct scenario {
	const char *name;
	const char *what;
	enum after (*build)(pgp_buf *b);
};

static enum after sc_truncated(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;

	msg_rowdesc(b, 1, &oid);
	msg_raw(b, 'D', 1000,
	        "\x00\x01\x00\x00\x00\x0a"
	        "abc",
	        9);
	return AFTER_CLOSE;
}

static enum after sc_huge_length(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;

	msg_rowdesc(b, 1, &oid);
	msg_raw(b, 'D', 0x7ffffff0u,
	        "\x00\x01\x00\x00\x00\x04"
	        "abcd",
	        10);
	return AFTER_HANG;
}

static enum after sc_length_minus(pgp_buf *b)
{
	msg_raw(b, 'D', 0xffffffffu, "\x00\x00", 2);
	return AFTER_HANG;
}

static enum after sc_short_length(pgp_buf *b)
{
	msg_raw(b, 'C', 2, NULL, 0);
	return AFTER_HANG;
}

static enum after sc_unknown_type(pgp_buf *b)
{
	msg_raw(b, 'q', 8, "abcd", 4);
	msg_rfq(b, 'I');
	return AFTER_NOTHING;
}

static enum after sc_count_more(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	size_t at;

	msg_rowdesc(b, 1, &oid);
	at = msg_begin(b, 'D');
	put_u16(b, 5); /* five values announced, one present */
	put_u32(b, 3);
	put(b, "abc", 3);
	msg_end(b, at);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_count_less(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	size_t at;

	msg_rowdesc(b, 1, &oid);
	at = msg_begin(b, 'D');
	put_u16(b, 1); /* one value announced, two present */
	put_u32(b, 1);
	put(b, "a", 1);
	put_u32(b, 1);
	put(b, "b", 1);
	msg_end(b, at);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_value_length(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	size_t at;

	msg_rowdesc(b, 1, &oid);
	at = msg_begin(b, 'D');
	put_u16(b, 1);
	put_u32(b, 0x7fffffffu); /* a value far longer than the message */
	put(b, "abcdef", 6);
	msg_end(b, at);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_value_negative(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	size_t at;

	msg_rowdesc(b, 1, &oid);
	at = msg_begin(b, 'D');
	put_u16(b, 1);
	put_u32(b, (uint32_t)-5);
	msg_end(b, at);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_rowdesc_lies(pgp_buf *b)
{
	size_t at = msg_begin(b, 'T');

	put_u16(b, 1000); /* 1000 fields announced, one present */
	put_str(b, "c1");
	put_u32(b, 0);
	put_u16(b, 0);
	put_u32(b, PGP_OID_TEXT);
	put_u16(b, (uint16_t)-1);
	put_u32(b, (uint32_t)-1);
	put_u16(b, 0);
	msg_end(b, at);
	msg_complete(b, "SELECT 0");
	return AFTER_RFQ;
}

static enum after sc_columns_mismatch(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	static const char *const vals[3] = {"a", "b", "c"};

	msg_rowdesc(b, 1, &oid);
	msg_datarow(b, 3, vals); /* well-formed, but three values for one column */
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_row_before_desc(pgp_buf *b)
{
	static const char *const vals[2] = {"a", "b"};

	msg_datarow(b, 2, vals);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_rfq_first(pgp_buf *b)
{
	msg_rfq(b, 'I');
	result_one(b, "1");
	msg_rfq(b, 'I');
	return AFTER_NOTHING;
}

static enum after sc_rfq_bad_status(pgp_buf *b)
{
	result_one(b, "1");
	msg_rfq(b, 'X');
	return AFTER_NOTHING;
}

static enum after sc_rfq_long(pgp_buf *b)
{
	result_one(b, "1");
	msg_raw(b, 'Z', 8, "Iabc", 4);
	return AFTER_NOTHING;
}

static enum after sc_error_unterminated(pgp_buf *b)
{
	msg_raw(b, 'E', 4 + 12, "SERROR\0C2200", 12);
	msg_rfq(b, 'I');
	return AFTER_NOTHING;
}

static enum after sc_error_bad_sqlstate(pgp_buf *b)
{
	msg_error(b, 'E', "a'b\"c", "bad sqlstate");
	msg_rfq(b, 'I');
	return AFTER_NOTHING;
}

static enum after sc_error_empty(pgp_buf *b)
{
	msg_raw(b, 'E', 5, "\0", 1);
	msg_rfq(b, 'I');
	return AFTER_NOTHING;
}

static enum after sc_close_in_header(pgp_buf *b)
{
	put(b, "T\x00\x00", 3);
	return AFTER_CLOSE;
}

static enum after sc_close_after_desc(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;

	msg_rowdesc(b, 1, &oid);
	return AFTER_CLOSE;
}

static enum after sc_close_before_rfq(pgp_buf *b)
{
	result_one(b, "1");
	return AFTER_CLOSE;
}

static enum after sc_extra_after_rfq(pgp_buf *b)
{
	static const char *const v = "2";

	result_one(b, "1");
	msg_rfq(b, 'I');
	msg_datarow(b, 1, &v); /* desynchronised stream: data after the round trip */
	return AFTER_NOTHING;
}

static enum after sc_copy_out(pgp_buf *b)
{
	size_t at = msg_begin(b, 'H');

	put_u8(b, 0);
	put_u16(b, 1);
	put_u16(b, 0);
	msg_end(b, at);
	at = msg_begin(b, 'd');
	put(b, "row\n", 4);
	msg_end(b, at);
	msg_empty(b, 'c');
	msg_complete(b, "COPY 1");
	return AFTER_RFQ;
}

static enum after sc_auth_again(pgp_buf *b)
{
	msg_auth(b, 3);
	return AFTER_HANG;
}

static enum after sc_param_huge(pgp_buf *b)
{
	size_t at = msg_begin(b, 'S');
	static char big[100000];

	memset(big, 'x', sizeof(big) - 1);
	put_str(b, "application_name");
	put_str(b, big);
	msg_end(b, at);
	result_one(b, "1");
	return AFTER_RFQ;
}

static enum after sc_param_encoding(pgp_buf *b)
{
	/* A server that switches client_encoding under the client's feet. */
	msg_param(b, "client_encoding", "SJIS");
	msg_param(b, "standard_conforming_strings", "off");
	result_one(b, "1");
	return AFTER_RFQ;
}

static enum after sc_notice_flood(pgp_buf *b)
{
	for (int i = 0; i < 5000; i++)
		msg_error(b, 'N', "01000", "a notice the client must skip");
	result_one(b, "42");
	return AFTER_RFQ;
}

static enum after sc_big_2m(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;
	size_t at;

	msg_rowdesc(b, 1, &oid);
	at = msg_begin(b, 'D');
	put_u16(b, 1);
	put_u32(b, 2u << 20);
	for (int i = 0; i < 2048; i++) {
		static char k[1024];
		memset(k, 'z', sizeof(k));
		put(b, k, sizeof(k));
	}
	msg_end(b, at);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_big_header(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_TEXT;

	/* Announces a 900 MB DataRow (legal for PostgreSQL), then nothing: only a limit below it
	 * or a timeout ends the wait. */
	msg_rowdesc(b, 1, &oid);
	msg_raw(b, 'D', 900u << 20, "\x00\x01", 2);
	return AFTER_HANG;
}

static enum after sc_bad_values(pgp_buf *b)
{
	static const uint32_t oids[] = {PGP_OID_INT4,  PGP_OID_INT8,        PGP_OID_INT2,
	                                PGP_OID_BOOL,  PGP_OID_FLOAT8,      PGP_OID_BYTEA,
	                                PGP_OID_BYTEA, PGP_OID_BYTEA,       PGP_OID_NUMERIC,
	                                PGP_OID_OID,   PGP_OID_TIMESTAMPTZ, PGP_OID_TEXT};
	static const char *const row1[] = {"12abc",   "99999999999999999999999",
	                                   "-",       "x",
	                                   "nanx",    "\\x4",
	                                   "\\xzz",   "\\\\\\",
	                                   "1e99999", "-1",
	                                   "garbage", "\xff\xfe\xc3"};
	static const char *const row2[] = {
	    "", "-9223372036854775809", "70000", "", "", "\\", "\\x", "\\1",
	    "", "4294967296",           "",      ""};
	static const char *const row3[] = {"2147483648", "9223372036854775807",
	                                   "32767",      "t",
	                                   "-inf",       "\\x00ff",
	                                   "\\377\\000", "a\\\\b",
	                                   "NaN",        "0",
	                                   "2024-01-01", "ok"};

	msg_rowdesc(b, PGP_ARRAY_LEN(oids), oids);
	msg_datarow(b, PGP_ARRAY_LEN(oids), row1);
	msg_datarow(b, PGP_ARRAY_LEN(oids), row2);
	msg_datarow(b, PGP_ARRAY_LEN(oids), row3);
	msg_complete(b, "SELECT 3");
	return AFTER_RFQ;
}

static enum after sc_many_columns(pgp_buf *b)
{
	static uint32_t oids[1664];
	static const char *vals[1664];

	for (size_t i = 0; i < PGP_ARRAY_LEN(oids); i++) {
		oids[i] = PGP_OID_INT4;
		vals[i] = i % 2 ? NULL : "7";
	}
	msg_rowdesc(b, PGP_ARRAY_LEN(oids), oids);
	msg_datarow(b, PGP_ARRAY_LEN(oids), vals);
	msg_complete(b, "SELECT 1");
	return AFTER_RFQ;
}

static enum after sc_slow_drip(pgp_buf *b)
{
	result_one(b, "7");
	return AFTER_DRIP;
}

static enum after sc_tag_garbage(pgp_buf *b)
{
	static const uint32_t oid = PGP_OID_INT4;

	msg_rowdesc(b, 1, &oid);
	msg_complete(b, "INSERT 0 99999999999999999999999999");
	msg_complete(b, "UPDATE -5");
	return AFTER_RFQ;
}

static const struct scenario scenarios[] = {
    {"truncated", "DataRow announcing 1000 bytes, 9 sent, then close", sc_truncated},
    {"huge_length", "DataRow with length word 0x7ffffff0 (near 2^31), then silence",
     sc_huge_length},
    {"length_minus", "DataRow with length word 0xffffffff", sc_length_minus},
    {"short_length", "CommandComplete with length word 2 (< 4)", sc_short_length},
    {"unknown_type", "a message of unknown type 'q'", sc_unknown_type},
    {"count_more", "DataRow announcing 5 values, holding 1", sc_count_more},
    {"count_less", "DataRow announcing 1 value, holding 2", sc_count_less},
    {"value_length", "DataRow value of length 0x7fffffff inside a short message", sc_value_length},
    {"value_negative", "DataRow value of length -5", sc_value_negative},
    {"rowdesc_lies", "RowDescription announcing 1000 fields, holding 1", sc_rowdesc_lies},
    {"columns_mismatch", "well-formed DataRow with 3 values for 1 described column",
     sc_columns_mismatch},
    {"row_before_desc", "DataRow without RowDescription", sc_row_before_desc},
    {"rfq_first", "ReadyForQuery before the result", sc_rfq_first},
    {"rfq_bad_status", "ReadyForQuery with status 'X'", sc_rfq_bad_status},
    {"rfq_long", "ReadyForQuery with a 4-byte payload", sc_rfq_long},
    {"error_unterminated", "ErrorResponse whose fields lack their NUL", sc_error_unterminated},
    {"error_bad_sqlstate", "ErrorResponse with SQLSTATE a'b\"c", sc_error_bad_sqlstate},
    {"error_empty", "ErrorResponse without any field", sc_error_empty},
    {"close_in_header", "3 bytes of a message header, then close", sc_close_in_header},
    {"close_after_desc", "RowDescription, then close", sc_close_after_desc},
    {"close_before_rfq", "a whole result without ReadyForQuery, then close", sc_close_before_rfq},
    {"extra_after_rfq", "a DataRow after ReadyForQuery", sc_extra_after_rfq},
    {"copy_out", "an unrequested COPY OUT", sc_copy_out},
    {"auth_again", "an AuthenticationCleartextPassword request mid-query", sc_auth_again},
    {"param_huge", "a 100 kB ParameterStatus", sc_param_huge},
    {"param_encoding", "ParameterStatus client_encoding=SJIS, scs=off mid-query",
     sc_param_encoding},
    {"notice_flood", "5000 NoticeResponses before a valid result", sc_notice_flood},
    {"big_2m", "a valid 2 MB DataRow", sc_big_2m},
    {"big_header", "a DataRow header announcing 900 MB, then silence", sc_big_header},
    {"bad_values", "values that do not convert (int, bool, float, bytea...)", sc_bad_values},
    {"many_columns", "a valid 1664-column row", sc_many_columns},
    {"slow_drip", "a valid result, one byte every 2 ms", sc_slow_drip},
    {"tag_garbage", "CommandComplete tags with absurd row counts", sc_tag_garbage},
};

static const struct scenario *scenario_of(const char *sql)
{
	const char *p = strstr(sql, "fake:");
	size_t n;

	if (!p)
		return NULL;
	p += 5;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
	for (size_t i = 0; i < PGP_ARRAY_LEN(scenarios); i++) {
		if (strlen(scenarios[i].name) == n && strncmp(scenarios[i].name, p, n) == 0)
			return &scenarios[i];
	}
	return NULL;
}

#endif
