/*
 * pgp_proto.c: PostgreSQL v3 frontend message builders and backend stream splitting.
 *
 * The backend message decoders live in pgp_proto_decode.c and the drain scanner in
 * pgp_proto_drain.c; all three share the byte-order helpers of pgp_proto_int.h.
 */
#include "pgp_proto.h"
#include "pgp_proto_int.h"

#include <errno.h>
#include <string.h>

/*
 * PostgreSQL refuses frontend messages whose length word exceeds PQ_LARGE_MESSAGE_LIMIT
 * (MaxAllocSize - 1 = 0x3ffffffe): refuse them here rather than send something the server
 * answers by closing the connection.
 */
#define PGP_FE_LEN_MAX 0x3ffffffeu

#define PGP_CANCEL_REQUEST_CODE 80877102u /* 1234 << 16 | 5678 */

int pgp_be_type_known(uint8_t type)
{
	switch (type) {
	case PGP_BE_AUTH:
	case PGP_BE_BACKEND_KEY_DATA:
	case PGP_BE_BIND_COMPLETE:
	case PGP_BE_CLOSE_COMPLETE:
	case PGP_BE_COMMAND_COMPLETE:
	case PGP_BE_COPY_DATA:
	case PGP_BE_COPY_DONE:
	case PGP_BE_COPY_IN_RESPONSE:
	case PGP_BE_COPY_OUT_RESPONSE:
	case PGP_BE_COPY_BOTH_RESPONSE:
	case PGP_BE_DATA_ROW:
	case PGP_BE_EMPTY_QUERY:
	case PGP_BE_ERROR:
	case PGP_BE_FUNCTION_CALL_RESPONSE:
	case PGP_BE_NEGOTIATE_PROTOCOL:
	case PGP_BE_NO_DATA:
	case PGP_BE_NOTICE:
	case PGP_BE_NOTIFICATION:
	case PGP_BE_PARAMETER_DESCRIPTION:
	case PGP_BE_PARAMETER_STATUS:
	case PGP_BE_PARSE_COMPLETE:
	case PGP_BE_PORTAL_SUSPENDED:
	case PGP_BE_READY_FOR_QUERY:
	case PGP_BE_ROW_DESCRIPTION:
		return 1;
	default:
		return 0;
	}
}

/* ---- frontend builders ----
 * Each builder first computes the exact message size (checking every limit), then reserves and
 * writes: on any error the buffer is left exactly as it was. */

/* Writer over storage already reserved in a pgp_buf. */
typedef struct fe_writer {
	uint8_t *p;
} fe_writer;

static void put_u8(fe_writer *w, uint8_t v)
{
	*w->p++ = v;
}

static void put_u16(fe_writer *w, uint16_t v)
{
	pgp_store_be16(w->p, v);
	w->p += 2;
}

static void put_u32(fe_writer *w, uint32_t v)
{
	pgp_store_be32(w->p, v);
	w->p += 4;
}

static void put_bytes(fe_writer *w, const void *s, size_t n)
{
	if (n != 0)
		memcpy(w->p, s, n);
	w->p += n;
}

/* String (C string plus its NUL). */
static void put_str(fe_writer *w, const char *s, size_t n)
{
	put_bytes(w, s, n);
	put_u8(w, 0);
}

/* Largest payload PostgreSQL accepts in one frontend message. */
static int body_fits(uint64_t body)
{
	return body <= PGP_FE_LEN_MAX - 4;
}

/*
 * Start a message of `body` payload bytes: checks the protocol limit, reserves the whole message
 * and writes the type byte and length word. The caller then writes exactly `body` bytes and calls
 * fe_end().
 */
static int fe_begin(pgp_buf *b, uint8_t type, uint64_t body, fe_writer *w)
{
	int rc;

	if (!body_fits(body))
		return -EINVAL;
	rc = pgp_buf_reserve(b, PGP_MSG_HDR + (size_t)body);
	if (rc < 0)
		return rc;
	w->p = b->data + b->len;
	put_u8(w, type);
	put_u32(w, (uint32_t)body + 4);
	return 0;
}

static void fe_end(pgp_buf *b, const fe_writer *w)
{
	b->len = (size_t)(w->p - b->data);
}

/* A message without payload (Sync, Flush, Terminate, CopyDone). */
static int fe_empty(pgp_buf *b, uint8_t type)
{
	fe_writer w;
	int rc = fe_begin(b, type, 0, &w);

	if (rc < 0)
		return rc;
	fe_end(b, &w);
	return 0;
}

/* Names are optional in the API: NULL means the unnamed statement or portal (""). */
static const char *name_or_empty(const char *name)
{
	return name != NULL ? name : "";
}

static int kind_valid(char kind)
{
	return kind == 'S' || kind == 'P';
}

/* SQL text travels as a String: no NUL inside. An impossible length is refused before any byte
 * is read, even when it wrapped the caller's size sum around. */
static int sql_valid(const char *sql, size_t sql_len)
{
	if (sql_len > PGP_FE_LEN_MAX)
		return 0;
	return sql_len == 0 || (sql != NULL && memchr(sql, 0, sql_len) == NULL);
}

int pgp_fe_query(pgp_buf *b, const char *sql, size_t sql_len)
{
	uint64_t body = (uint64_t)sql_len + 1;
	fe_writer w;
	int rc;

	if (!body_fits(body) || !sql_valid(sql, sql_len))
		return -EINVAL;
	rc = fe_begin(b, 'Q', body, &w);
	if (rc < 0)
		return rc;
	put_str(&w, sql, sql_len);
	fe_end(b, &w);
	return 0;
}

int pgp_fe_parse(pgp_buf *b, const char *name, const char *sql, size_t sql_len, uint16_t nparams,
                 const uint32_t *param_oids)
{
	size_t name_len;
	uint64_t body;
	fe_writer w;
	uint16_t i;
	int rc;

	name = name_or_empty(name);
	name_len = strlen(name);
	body = (uint64_t)name_len + 1 + sql_len + 1 + 2 + 4 * (uint64_t)nparams;
	if (!body_fits(body) || !sql_valid(sql, sql_len))
		return -EINVAL;
	rc = fe_begin(b, 'P', body, &w);
	if (rc < 0)
		return rc;
	put_str(&w, name, name_len);
	put_str(&w, sql, sql_len);
	put_u16(&w, nparams);
	for (i = 0; i < nparams; i++)
		put_u32(&w, param_oids != NULL ? param_oids[i] : 0);
	fe_end(b, &w);
	return 0;
}

/* Length of Bind parameter i on the wire, -1 for SQL NULL. lengths == NULL: text C strings. */
static int64_t bind_value_len(const char *const *values, const int32_t *lengths, uint16_t i)
{
	if (values == NULL || values[i] == NULL)
		return -1;
	if (lengths == NULL)
		return (int64_t)strlen(values[i]);
	return lengths[i] < 0 ? -1 : lengths[i];
}

int pgp_fe_bind(pgp_buf *b, const char *portal, const char *stmt, uint16_t nparams,
                const int16_t *formats, const char *const *values, const int32_t *lengths,
                int16_t result_format)
{
	size_t portal_len, stmt_len;
	uint16_t nformats = formats != NULL ? nparams : 0;
	uint64_t body;
	fe_writer w;
	uint16_t i;
	int rc;

	portal = name_or_empty(portal);
	stmt = name_or_empty(stmt);
	portal_len = strlen(portal);
	stmt_len = strlen(stmt);
	if (result_format != 0 && result_format != 1)
		return -EINVAL;
	/* names, format codes with their count, then the parameter count */
	body = (uint64_t)portal_len + 1 + stmt_len + 1 + 2 + 2 * (uint64_t)nformats + 2;
	for (i = 0; i < nparams; i++) {
		int64_t len = bind_value_len(values, lengths, i);

		if (formats != NULL && formats[i] != 0 && formats[i] != 1)
			return -EINVAL;
		/* 65535 values of 2 GB cannot overflow 64 bits; fe_begin checks the limit. */
		body += 4 + (len > 0 ? (uint64_t)len : 0);
		if (len > INT32_MAX)
			return -EINVAL;
	}
	body += 2 + 2; /* one result format code for all columns, as libpq sends */
	rc = fe_begin(b, 'B', body, &w);
	if (rc < 0)
		return rc;
	put_str(&w, portal, portal_len);
	put_str(&w, stmt, stmt_len);
	put_u16(&w, nformats);
	for (i = 0; i < nformats; i++)
		put_u16(&w, (uint16_t)formats[i]);
	put_u16(&w, nparams);
	for (i = 0; i < nparams; i++) {
		int64_t len = bind_value_len(values, lengths, i);

		put_u32(&w, (uint32_t)(int32_t)len);
		if (len > 0)
			put_bytes(&w, values[i], (size_t)len);
	}
	put_u16(&w, 1);
	put_u16(&w, (uint16_t)result_format);
	fe_end(b, &w);
	return 0;
}

/* Describe and Close share one layout: kind byte, name. */
static int fe_kind_name(pgp_buf *b, uint8_t type, char kind, const char *name)
{
	size_t name_len;
	fe_writer w;
	int rc;

	if (!kind_valid(kind))
		return -EINVAL;
	name = name_or_empty(name);
	name_len = strlen(name);
	rc = fe_begin(b, type, (uint64_t)1 + name_len + 1, &w);
	if (rc < 0)
		return rc;
	put_u8(&w, (uint8_t)kind);
	put_str(&w, name, name_len);
	fe_end(b, &w);
	return 0;
}

int pgp_fe_describe(pgp_buf *b, char kind, const char *name)
{
	return fe_kind_name(b, 'D', kind, name);
}

int pgp_fe_close(pgp_buf *b, char kind, const char *name)
{
	return fe_kind_name(b, 'C', kind, name);
}

int pgp_fe_execute(pgp_buf *b, const char *portal, uint32_t max_rows)
{
	size_t portal_len;
	fe_writer w;
	int rc;

	/* The wire field is a signed int32 and the server reads values <= 0 as "all rows": a larger
	 * count would silently mean "all". */
	if (max_rows > INT32_MAX)
		return -EINVAL;
	portal = name_or_empty(portal);
	portal_len = strlen(portal);
	rc = fe_begin(b, 'E', (uint64_t)portal_len + 1 + 4, &w);
	if (rc < 0)
		return rc;
	put_str(&w, portal, portal_len);
	put_u32(&w, max_rows);
	fe_end(b, &w);
	return 0;
}

int pgp_fe_sync(pgp_buf *b)
{
	return fe_empty(b, 'S');
}

int pgp_fe_flush(pgp_buf *b)
{
	return fe_empty(b, 'H');
}

int pgp_fe_terminate(pgp_buf *b)
{
	return fe_empty(b, 'X');
}

int pgp_fe_copy_data(pgp_buf *b, const void *data, size_t len)
{
	fe_writer w;
	int rc;

	if (len != 0 && data == NULL)
		return -EINVAL;
	rc = fe_begin(b, 'd', len, &w);
	if (rc < 0)
		return rc;
	put_bytes(&w, data, len);
	fe_end(b, &w);
	return 0;
}

int pgp_fe_copy_done(pgp_buf *b)
{
	return fe_empty(b, 'c');
}

int pgp_fe_copy_fail(pgp_buf *b, const char *reason)
{
	size_t reason_len;
	fe_writer w;
	int rc;

	reason = name_or_empty(reason);
	reason_len = strlen(reason);
	rc = fe_begin(b, 'f', (uint64_t)reason_len + 1, &w);
	if (rc < 0)
		return rc;
	put_str(&w, reason, reason_len);
	fe_end(b, &w);
	return 0;
}

void pgp_fe_cancel_request(uint8_t out[16], uint32_t backend_pid, uint32_t secret_key)
{
	pgp_store_be32(out, 16);
	pgp_store_be32(out + 4, PGP_CANCEL_REQUEST_CODE);
	pgp_store_be32(out + 8, backend_pid);
	pgp_store_be32(out + 12, secret_key);
}

/* ---- backend stream splitting ---- */

int pgp_be_next(const uint8_t *data, size_t avail, size_t max_msg, pgp_msg *msg, size_t *consumed)
{
	uint32_t len;
	uint64_t total;

	if (avail >= 1 && !pgp_be_type_known(data[0]))
		return -EPROTO;
	if (avail < PGP_MSG_HDR) {
		*consumed = PGP_MSG_HDR;
		return 0;
	}
	len = pgp_load_be32(data + 1);
	if (len < 4)
		return -EPROTO;
	if (len - 4 > max_msg)
		return -EMSGSIZE;
	total = (uint64_t)len + 1;
	if (total > SIZE_MAX)
		return -EMSGSIZE;
	*consumed = (size_t)total;
	if (avail < total)
		return 0;
	msg->type = data[0];
	msg->len = len - 4;
	msg->body = data + PGP_MSG_HDR;
	return 1;
}
