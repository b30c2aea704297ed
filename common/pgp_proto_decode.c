/*
 * pgp_proto_decode.c: decoders for backend messages split off the stream by pgp_be_next().
 *
 * Every decoder reads through a bounds-checked cursor over the message payload, checks the type
 * byte it was given, and requires the payload to end exactly after the declared fields: short
 * payloads, counts that overrun, strings without their NUL inside the message, invalid lengths
 * and trailing bytes are all -EPROTO. Pointers handed out point into the caller's buffer.
 */
#include "pgp_proto.h"
#include "pgp_proto_int.h"

#include <errno.h>
#include <string.h>

/* Cursor over a message payload. */
typedef struct be_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
} be_reader;

static void rd_init(be_reader *r, const pgp_msg *m, size_t pos)
{
	r->p = m->body;
	r->len = m->len;
	r->pos = pos;
}

static size_t rd_left(const be_reader *r)
{
	return r->pos <= r->len ? r->len - r->pos : 0;
}

static int rd_u8(be_reader *r, uint8_t *v)
{
	if (rd_left(r) < 1)
		return -EPROTO;
	*v = r->p[r->pos];
	r->pos += 1;
	return 0;
}

static int rd_u16(be_reader *r, uint16_t *v)
{
	if (rd_left(r) < 2)
		return -EPROTO;
	*v = pgp_load_be16(r->p + r->pos);
	r->pos += 2;
	return 0;
}

static int rd_u32(be_reader *r, uint32_t *v)
{
	if (rd_left(r) < 4)
		return -EPROTO;
	*v = pgp_load_be32(r->p + r->pos);
	r->pos += 4;
	return 0;
}

/* A NUL-terminated string that must end inside the payload. */
static int rd_str(be_reader *r, const char **s)
{
	size_t left = rd_left(r);
	const uint8_t *start = r->p + r->pos;
	const uint8_t *nul;

	if (left == 0)
		return -EPROTO;
	nul = memchr(start, 0, left);
	if (nul == NULL)
		return -EPROTO;
	*s = (const char *)start;
	r->pos += (size_t)(nul - start) + 1;
	return 0;
}

static int rd_skip(be_reader *r, size_t n)
{
	if (rd_left(r) < n)
		return -EPROTO;
	r->pos += n;
	return 0;
}

/* The payload must end exactly here. */
static int rd_end(const be_reader *r)
{
	return r->pos == r->len ? 0 : -EPROTO;
}

/* Decoders refuse a message of another type: a caller mixing them up gets an error, not garbage. */
static int want_type(const pgp_msg *m, uint8_t type)
{
	return m->type == type ? 0 : -EPROTO;
}

int pgp_be_ready_for_query(const pgp_msg *m, char *txn_status)
{
	be_reader r;
	uint8_t s;

	if (want_type(m, PGP_BE_READY_FOR_QUERY) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u8(&r, &s) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	if (s != PGP_TXN_IDLE && s != PGP_TXN_INTRANS && s != PGP_TXN_FAILED)
		return -EPROTO;
	*txn_status = (char)s;
	return 0;
}

int pgp_be_command_complete(const pgp_msg *m, const char **tag)
{
	be_reader r;
	const char *t;

	if (want_type(m, PGP_BE_COMMAND_COMPLETE) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_str(&r, &t) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	*tag = t;
	return 0;
}

int pgp_be_parameter_status(const pgp_msg *m, const char **name, const char **value)
{
	be_reader r;
	const char *n, *v;

	if (want_type(m, PGP_BE_PARAMETER_STATUS) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_str(&r, &n) < 0 || rd_str(&r, &v) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	*name = n;
	*value = v;
	return 0;
}

int pgp_be_backend_key_data(const pgp_msg *m, uint32_t *pid, uint32_t *key)
{
	be_reader r;
	uint32_t p, k;

	if (want_type(m, PGP_BE_BACKEND_KEY_DATA) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u32(&r, &p) < 0 || rd_u32(&r, &k) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	*pid = p;
	*key = k;
	return 0;
}

int pgp_be_notification(const pgp_msg *m, uint32_t *pid, const char **channel, const char **payload)
{
	be_reader r;
	const char *c, *pl;
	uint32_t p;

	if (want_type(m, PGP_BE_NOTIFICATION) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u32(&r, &p) < 0 || rd_str(&r, &c) < 0 || rd_str(&r, &pl) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	*pid = p;
	*channel = c;
	*payload = pl;
	return 0;
}

int pgp_be_parameter_description(const pgp_msg *m, uint16_t *n)
{
	be_reader r;
	uint16_t count;

	if (want_type(m, PGP_BE_PARAMETER_DESCRIPTION) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u16(&r, &count) < 0 || rd_skip(&r, 4 * (size_t)count) < 0 || rd_end(&r) < 0)
		return -EPROTO;
	*n = count;
	return 0;
}

uint32_t pgp_be_param_oid(const pgp_msg *m, uint16_t i)
{
	be_reader r;
	uint16_t count;
	uint32_t oid;

	/* Safe on any message: out-of-range or malformed yields 0 (no type). */
	if (m->type != PGP_BE_PARAMETER_DESCRIPTION)
		return 0;
	rd_init(&r, m, 0);
	if (rd_u16(&r, &count) < 0 || i >= count || rd_skip(&r, 4 * (size_t)i) < 0 ||
	    rd_u32(&r, &oid) < 0)
		return 0;
	return oid;
}

int pgp_be_copy_response(const pgp_msg *m, int8_t *format, uint16_t *ncols)
{
	be_reader r;
	uint8_t fmt;
	uint16_t count, i;

	if (m->type != PGP_BE_COPY_IN_RESPONSE && m->type != PGP_BE_COPY_OUT_RESPONSE &&
	    m->type != PGP_BE_COPY_BOTH_RESPONSE)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u8(&r, &fmt) < 0 || fmt > 1 || rd_u16(&r, &count) < 0)
		return -EPROTO;
	for (i = 0; i < count; i++) {
		uint16_t col_fmt;

		if (rd_u16(&r, &col_fmt) < 0 || col_fmt > 1)
			return -EPROTO;
	}
	if (rd_end(&r) < 0)
		return -EPROTO;
	*format = (int8_t)fmt;
	*ncols = count;
	return 0;
}

/* AuthenticationSASL: mechanism names, then an empty string ending the list and the message. */
static int auth_sasl_mechanisms(be_reader *r)
{
	for (;;) {
		const char *mech;

		if (rd_str(r, &mech) < 0)
			return -EPROTO;
		if (mech[0] == '\0')
			return rd_end(r);
	}
}

int pgp_be_auth(const pgp_msg *m, uint32_t *code)
{
	be_reader r;
	uint32_t c;
	int rc;

	if (want_type(m, PGP_BE_AUTH) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u32(&r, &c) < 0)
		return -EPROTO;
	switch (c) {
	case 0: /* Ok */
	case 2: /* KerberosV5 */
	case 3: /* CleartextPassword */
	case 6: /* SCMCredential */
	case 7: /* GSS */
	case 9: /* SSPI */
		rc = rd_end(&r);
		break;
	case 5: /* MD5Password: 4-byte salt */
		rc = rd_skip(&r, 4) < 0 ? -EPROTO : rd_end(&r);
		break;
	case 8:         /* GSSContinue */
	case 11:        /* SASLContinue */
	case 12:        /* SASLFinal */
		rc = 0; /* opaque data follows, read by the caller at body + 4 */
		break;
	case 10: /* SASL */
		rc = auth_sasl_mechanisms(&r);
		break;
	default:
		rc = -EPROTO;
		break;
	}
	if (rc < 0)
		return -EPROTO;
	*code = c;
	return 0;
}

/* ---- RowDescription ---- */

/* Bytes after each field name: table oid, column, type oid, type len, type mod, format. */
#define PGP_FIELD_FIXED 18

static int read_field(be_reader *r, pgp_field *f)
{
	uint32_t table_oid, type_oid, type_mod;
	uint16_t column, type_len, format;
	const char *name;

	if (rd_str(r, &name) < 0 || rd_u32(r, &table_oid) < 0 || rd_u16(r, &column) < 0 ||
	    rd_u32(r, &type_oid) < 0 || rd_u16(r, &type_len) < 0 || rd_u32(r, &type_mod) < 0 ||
	    rd_u16(r, &format) < 0)
		return -EPROTO;
	if (format > 1)
		return -EPROTO;
	f->name = name;
	f->table_oid = table_oid;
	f->column = (int16_t)column;
	f->type_oid = type_oid;
	f->type_len = (int16_t)type_len;
	f->type_mod = (int32_t)type_mod;
	f->format = (int16_t)format;
	return 0;
}

int pgp_be_row_description(const pgp_msg *m, uint16_t *nfields)
{
	be_reader r;
	uint16_t count, i;
	pgp_field f;

	if (want_type(m, PGP_BE_ROW_DESCRIPTION) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u16(&r, &count) < 0)
		return -EPROTO;
	/* Cheap early exit for a count the payload cannot possibly hold. */
	if ((size_t)count * (PGP_FIELD_FIXED + 1) > rd_left(&r))
		return -EPROTO;
	for (i = 0; i < count; i++) {
		if (read_field(&r, &f) < 0)
			return -EPROTO;
	}
	if (rd_end(&r) < 0)
		return -EPROTO;
	*nfields = count;
	return 0;
}

int pgp_be_row_description_field(const pgp_msg *m, size_t *pos, pgp_field *f)
{
	be_reader r;

	if (want_type(m, PGP_BE_ROW_DESCRIPTION) < 0)
		return -EPROTO;
	/* pos 0 = before the first field: skip the field count. */
	rd_init(&r, m, *pos == 0 ? 2 : *pos);
	if (read_field(&r, f) < 0)
		return -EPROTO;
	*pos = r.pos;
	return 0;
}

/* ---- DataRow ---- */

static int read_value(be_reader *r, const uint8_t **val, int32_t *len)
{
	uint32_t raw;
	int32_t n;

	if (rd_u32(r, &raw) < 0)
		return -EPROTO;
	n = (int32_t)raw;
	if (n == -1) {
		*val = NULL;
		*len = -1;
		return 0;
	}
	if (n < 0 || rd_left(r) < (size_t)n)
		return -EPROTO;
	*val = r->p + r->pos;
	*len = n;
	r->pos += (size_t)n;
	return 0;
}

int pgp_be_data_row(const pgp_msg *m, uint16_t *ncols)
{
	be_reader r;
	uint16_t count, i;
	const uint8_t *val;
	int32_t len;

	if (want_type(m, PGP_BE_DATA_ROW) < 0)
		return -EPROTO;
	rd_init(&r, m, 0);
	if (rd_u16(&r, &count) < 0)
		return -EPROTO;
	for (i = 0; i < count; i++) {
		if (read_value(&r, &val, &len) < 0)
			return -EPROTO;
	}
	if (rd_end(&r) < 0)
		return -EPROTO;
	*ncols = count;
	return 0;
}

int pgp_be_data_row_value(const pgp_msg *m, size_t *pos, const uint8_t **val, int32_t *len)
{
	be_reader r;

	if (want_type(m, PGP_BE_DATA_ROW) < 0)
		return -EPROTO;
	rd_init(&r, m, *pos == 0 ? 2 : *pos);
	if (read_value(&r, val, len) < 0)
		return -EPROTO;
	*pos = r.pos;
	return 0;
}

/* ---- ErrorResponse / NoticeResponse ---- */

/* Where field code c is stored in e, or NULL for codes we do not keep (the protocol says to
 * ignore unknown ones). */
static const char **error_slot(pgp_error *e, uint8_t c)
{
	switch (c) {
	case 'S':
		return &e->severity;
	case 'V':
		return &e->severity_nl;
	case 'C':
		return &e->sqlstate;
	case 'M':
		return &e->message;
	case 'D':
		return &e->detail;
	case 'H':
		return &e->hint;
	case 'P':
		return &e->position;
	case 'p':
		return &e->internal_position;
	case 'q':
		return &e->internal_query;
	case 'W':
		return &e->where;
	case 's':
		return &e->schema;
	case 't':
		return &e->table;
	case 'c':
		return &e->column;
	case 'd':
		return &e->datatype;
	case 'n':
		return &e->constraint;
	case 'F':
		return &e->file;
	case 'L':
		return &e->line;
	case 'R':
		return &e->routine;
	default:
		return NULL;
	}
}

int pgp_be_error(const pgp_msg *m, pgp_error *e)
{
	pgp_error out;
	be_reader r;

	if (m->type != PGP_BE_ERROR && m->type != PGP_BE_NOTICE)
		return -EPROTO;
	memset(&out, 0, sizeof(out));
	rd_init(&r, m, 0);
	for (;;) {
		const char **slot;
		const char *value;
		uint8_t code;

		if (rd_u8(&r, &code) < 0)
			return -EPROTO;
		if (code == 0)
			break;
		if (rd_str(&r, &value) < 0)
			return -EPROTO;
		slot = error_slot(&out, code);
		if (slot != NULL)
			*slot = value;
	}
	if (rd_end(&r) < 0)
		return -EPROTO;
	/* PostgreSQL always sends these three; users rely on them without NULL checks. */
	if (out.severity == NULL || out.sqlstate == NULL || out.message == NULL ||
	    !pgp_sqlstate_valid(out.sqlstate))
		return -EPROTO;
	*e = out;
	return 0;
}
