/*
 * test_proto.c: the PostgreSQL v3 codec: exact bytes of every frontend message, every backend
 * decoder on hand-built messages, malformed and truncated input for each decoder, stream splitting
 * fed byte by byte, and the drain scanner across chunk boundaries.
 *
 * Decoders are always handed a payload copied into a malloc'd block of exactly its size, so a
 * read one byte past the message is an AddressSanitizer report in the sanitizer run.
 */
#include "pgp_proto.h"
#include "pgp_test.h"

/* ---- helpers ---- */

/* Build a backend message payload. */
typedef struct payload {
	uint8_t d[1 << 16];
	size_t n;
} payload;

static void pl_u8(payload *p, uint8_t v)
{
	CHECK(p->n + 1 <= sizeof(p->d));
	p->d[p->n++] = v;
}

static void pl_u16(payload *p, uint16_t v)
{
	pl_u8(p, (uint8_t)(v >> 8));
	pl_u8(p, (uint8_t)v);
}

static void pl_u32(payload *p, uint32_t v)
{
	pl_u16(p, (uint16_t)(v >> 16));
	pl_u16(p, (uint16_t)v);
}

static void pl_bytes(payload *p, const void *s, size_t n)
{
	CHECK(p->n + n <= sizeof(p->d));
	memcpy(p->d + p->n, s, n);
	p->n += n;
}

static void pl_str(payload *p, const char *s)
{
	pl_bytes(p, s, strlen(s) + 1);
}

/* Append type + length + payload to a stream. */
static void stream_add(pgp_buf *s, uint8_t type, const uint8_t *body, size_t n)
{
	uint8_t hdr[5] = {type, (uint8_t)((n + 4) >> 24), (uint8_t)((n + 4) >> 16),
	                  (uint8_t)((n + 4) >> 8), (uint8_t)(n + 4)};

	CHECK_INT(pgp_buf_append(s, hdr, 5), ==, 0);
	CHECK_INT(pgp_buf_append(s, body, n), ==, 0);
}

static void stream_add_pl(pgp_buf *s, uint8_t type, const payload *p)
{
	stream_add(s, type, p->d, p->n);
}

/* A message whose payload lives in its own block of exactly n bytes (free with msg_free). */
static pgp_msg msg_exact(uint8_t type, const uint8_t *body, size_t n)
{
	pgp_msg m;
	uint8_t *copy = malloc(n ? n : 1);

	CHECK(copy != NULL);
	if (n)
		memcpy(copy, body, n);
	m.type = type;
	m.len = (uint32_t)n;
	m.body = copy;
	return m;
}

static void msg_free(pgp_msg *m)
{
	free((void *)m->body);
	m->body = NULL;
}

/* Run the decoder for m's type over the whole message (iterating fields and values too). */
static int decode_any(const pgp_msg *m)
{
	const char *s1, *s2;
	uint32_t u1, u2;
	uint16_t n, i;
	pgp_error e;
	int8_t fmt;
	char c;
	int rc;

	switch (m->type) {
	case PGP_BE_READY_FOR_QUERY:
		return pgp_be_ready_for_query(m, &c);
	case PGP_BE_COMMAND_COMPLETE:
		return pgp_be_command_complete(m, &s1);
	case PGP_BE_PARAMETER_STATUS:
		return pgp_be_parameter_status(m, &s1, &s2);
	case PGP_BE_BACKEND_KEY_DATA:
		return pgp_be_backend_key_data(m, &u1, &u2);
	case PGP_BE_NOTIFICATION:
		return pgp_be_notification(m, &u1, &s1, &s2);
	case PGP_BE_PARAMETER_DESCRIPTION:
		rc = pgp_be_parameter_description(m, &n);
		if (rc == 0) {
			for (i = 0; i < n; i++)
				(void)pgp_be_param_oid(m, i);
		}
		return rc;
	case PGP_BE_COPY_IN_RESPONSE:
	case PGP_BE_COPY_OUT_RESPONSE:
	case PGP_BE_COPY_BOTH_RESPONSE:
		return pgp_be_copy_response(m, &fmt, &n);
	case PGP_BE_AUTH:
		return pgp_be_auth(m, &u1);
	case PGP_BE_ROW_DESCRIPTION: {
		size_t pos = 0;
		pgp_field f;

		rc = pgp_be_row_description(m, &n);
		for (i = 0; rc == 0 && i < n; i++)
			CHECK_INT(pgp_be_row_description_field(m, &pos, &f), ==, 0);
		if (rc == 0)
			CHECK_INT(pgp_be_row_description_field(m, &pos, &f), ==, -EPROTO);
		return rc;
	}
	case PGP_BE_DATA_ROW: {
		const uint8_t *v;
		size_t pos = 0;
		int32_t len;

		rc = pgp_be_data_row(m, &n);
		for (i = 0; rc == 0 && i < n; i++)
			CHECK_INT(pgp_be_data_row_value(m, &pos, &v, &len), ==, 0);
		if (rc == 0)
			CHECK_INT(pgp_be_data_row_value(m, &pos, &v, &len), ==, -EPROTO);
		return rc;
	}
	case PGP_BE_ERROR:
	case PGP_BE_NOTICE:
		return pgp_be_error(m, &e);
	default:
		pgp_test_fail(__FILE__, __LINE__, "no decoder for type %c", m->type);
	}
}

/* One valid sample message per decoded type. */
typedef struct sample {
	uint8_t type;
	payload p;
} sample;

static void sample_error_fields(payload *p, const char *sqlstate)
{
	pl_u8(p, 'S');
	pl_str(p, "ERROR");
	pl_u8(p, 'V');
	pl_str(p, "ERROR");
	pl_u8(p, 'C');
	pl_str(p, sqlstate);
	pl_u8(p, 'M');
	pl_str(p, "relation \"nope\" does not exist");
}

static int make_samples(sample *s)
{
	int n = 0;

	memset(s, 0, sizeof(*s) * 16);
	s[n].type = 'Z';
	pl_u8(&s[n++].p, 'T');
	s[n].type = 'C';
	pl_str(&s[n++].p, "INSERT 0 1");
	s[n].type = 'S';
	pl_str(&s[n].p, "client_encoding");
	pl_str(&s[n++].p, "UTF8");
	s[n].type = 'K';
	pl_u32(&s[n].p, 4242);
	pl_u32(&s[n++].p, 0xdeadbeef);
	s[n].type = 'A';
	pl_u32(&s[n].p, 77);
	pl_str(&s[n].p, "chan");
	pl_str(&s[n++].p, "hello");
	s[n].type = 't';
	pl_u16(&s[n].p, 2);
	pl_u32(&s[n].p, 23);
	pl_u32(&s[n++].p, 25);
	s[n].type = 'G';
	pl_u8(&s[n].p, 0);
	pl_u16(&s[n].p, 2);
	pl_u16(&s[n].p, 0);
	pl_u16(&s[n++].p, 0);
	s[n].type = 'R';
	pl_u32(&s[n].p, 5);
	pl_bytes(&s[n++].p, "salt", 4);
	s[n].type = 'R';
	pl_u32(&s[n].p, 10);
	pl_str(&s[n].p, "SCRAM-SHA-256-PLUS");
	pl_str(&s[n].p, "SCRAM-SHA-256");
	pl_u8(&s[n++].p, 0);
	s[n].type = 'T';
	pl_u16(&s[n].p, 2);
	pl_str(&s[n].p, "id");
	pl_u32(&s[n].p, 16384);
	pl_u16(&s[n].p, 1);
	pl_u32(&s[n].p, 23);
	pl_u16(&s[n].p, 4);
	pl_u32(&s[n].p, 0xffffffff);
	pl_u16(&s[n].p, 0);
	pl_str(&s[n].p, "name");
	pl_u32(&s[n].p, 16384);
	pl_u16(&s[n].p, 2);
	pl_u32(&s[n].p, 25);
	pl_u16(&s[n].p, 0xffff);
	pl_u32(&s[n].p, 0xffffffff);
	pl_u16(&s[n++].p, 1);
	s[n].type = 'D';
	pl_u16(&s[n].p, 3);
	pl_u32(&s[n].p, 2);
	pl_bytes(&s[n].p, "42", 2);
	pl_u32(&s[n].p, 0xffffffff);
	pl_u32(&s[n++].p, 0);
	s[n].type = 'E';
	sample_error_fields(&s[n].p, "42P01");
	pl_u8(&s[n++].p, 0);
	s[n].type = 'N';
	sample_error_fields(&s[n].p, "01000");
	pl_u8(&s[n++].p, 0);
	return n;
}

/* Expect b to hold exactly the given bytes. */
#define CHECK_BUF(b, lit) CHECK_MEM((b)->data, (b)->len, lit, sizeof(lit) - 1)

/* ---- frontend builders ---- */

PGP_TEST(fe_query_bytes)
{
	pgp_buf b = {0};

	CHECK_INT(pgp_fe_query(&b, "SELECT 1", 8), ==, 0);
	CHECK_BUF(&b, "Q\0\0\0\x0d"
	              "SELECT 1\0");
	b.len = 0;
	CHECK_INT(pgp_fe_query(&b, "SELECT 1; junk", 8), ==, 0); /* sql_len, not strlen */
	CHECK_BUF(&b, "Q\0\0\0\x0d"
	              "SELECT 1\0");
	b.len = 0;
	CHECK_INT(pgp_fe_query(&b, "", 0), ==, 0);
	CHECK_BUF(&b, "Q\0\0\0\x05\0");
	pgp_buf_free(&b);
}

PGP_TEST(fe_parse_bytes)
{
	pgp_buf b = {0};
	uint32_t oids[1] = {23};

	CHECK_INT(pgp_fe_parse(&b, "s1", "SELECT $1", 9, 1, oids), ==, 0);
	CHECK_BUF(&b, "P\0\0\0\x17"
	              "s1\0"
	              "SELECT $1\0"
	              "\0\x01"
	              "\0\0\0\x17");
	b.len = 0;
	/* Unnamed, two parameters with types left to the server. */
	CHECK_INT(pgp_fe_parse(&b, "", "SELECT $1, $2", 13, 2, NULL), ==, 0);
	CHECK_BUF(&b, "P\0\0\0\x1d"
	              "\0"
	              "SELECT $1, $2\0"
	              "\0\x02"
	              "\0\0\0\0"
	              "\0\0\0\0");
	b.len = 0;
	CHECK_INT(pgp_fe_parse(&b, NULL, "SELECT 1", 8, 0, NULL), ==, 0);
	CHECK_BUF(&b, "P\0\0\0\x10"
	              "\0"
	              "SELECT 1\0"
	              "\0\0");
	pgp_buf_free(&b);
}

PGP_TEST(fe_bind_bytes)
{
	pgp_buf b = {0};
	const char *values[2] = {"42", NULL};
	int32_t lengths[2] = {2, -1};
	const char *bin_values[1] = {"\0\x01\0\x02"};
	int32_t bin_lengths[1] = {4};
	int16_t bin_formats[1] = {1};
	const char *text_values[2] = {"abc", "x"};
	int32_t null_lengths[2] = {-1, 1};

	CHECK_INT(pgp_fe_bind(&b, "", "s1", 2, NULL, values, lengths, 0), ==, 0);
	CHECK_BUF(&b, "B\0\0\0\x1a"
	              "\0"
	              "s1\0"
	              "\0\0"
	              "\0\x02"
	              "\0\0\0\x02"
	              "42"
	              "\xff\xff\xff\xff"
	              "\0\x01"
	              "\0\0");
	b.len = 0;
	CHECK_INT(pgp_fe_bind(&b, "p", NULL, 1, bin_formats, bin_values, bin_lengths, 1), ==, 0);
	CHECK_BUF(&b, "B\0\0\0\x19"
	              "p\0"
	              "\0"
	              "\0\x01"
	              "\0\x01"
	              "\0\x01"
	              "\0\0\0\x04"
	              "\0\x01\0\x02"
	              "\0\x01"
	              "\0\x01");
	b.len = 0;
	/* lengths NULL: text values as C strings. */
	CHECK_INT(pgp_fe_bind(&b, "", "", 2, NULL, text_values, NULL, 0), ==, 0);
	CHECK_BUF(&b, "B\0\0\0\x1a"
	              "\0"
	              "\0"
	              "\0\0"
	              "\0\x02"
	              "\0\0\0\x03"
	              "abc"
	              "\0\0\0\x01"
	              "x"
	              "\0\x01"
	              "\0\0");
	b.len = 0;
	/* A negative length is NULL even with a value pointer; zero length is an empty value. */
	null_lengths[1] = 0;
	CHECK_INT(pgp_fe_bind(&b, "", "", 2, NULL, text_values, null_lengths, 0), ==, 0);
	CHECK_BUF(&b, "B\0\0\0\x16"
	              "\0"
	              "\0"
	              "\0\0"
	              "\0\x02"
	              "\xff\xff\xff\xff"
	              "\0\0\0\0"
	              "\0\x01"
	              "\0\0");
	b.len = 0;
	/* No parameters at all, values NULL. */
	CHECK_INT(pgp_fe_bind(&b, "", "s", 0, NULL, NULL, NULL, 0), ==, 0);
	CHECK_BUF(&b, "B\0\0\0\x0f"
	              "\0"
	              "s\0"
	              "\0\0"
	              "\0\0"
	              "\0\x01"
	              "\0\0");
	pgp_buf_free(&b);
}

PGP_TEST(fe_simple_messages_bytes)
{
	pgp_buf b = {0};
	uint8_t cancel[16];

	CHECK_INT(pgp_fe_describe(&b, 'S', "s1"), ==, 0);
	CHECK_BUF(&b, "D\0\0\0\x08"
	              "Ss1\0");
	b.len = 0;
	CHECK_INT(pgp_fe_describe(&b, 'P', ""), ==, 0);
	CHECK_BUF(&b, "D\0\0\0\x06"
	              "P\0");
	b.len = 0;
	CHECK_INT(pgp_fe_execute(&b, "", 0), ==, 0);
	CHECK_BUF(&b, "E\0\0\0\x09"
	              "\0"
	              "\0\0\0\0");
	b.len = 0;
	CHECK_INT(pgp_fe_execute(&b, "p", 100), ==, 0);
	CHECK_BUF(&b, "E\0\0\0\x0a"
	              "p\0"
	              "\0\0\0\x64");
	b.len = 0;
	CHECK_INT(pgp_fe_sync(&b), ==, 0);
	CHECK_BUF(&b, "S\0\0\0\x04");
	b.len = 0;
	CHECK_INT(pgp_fe_flush(&b), ==, 0);
	CHECK_BUF(&b, "H\0\0\0\x04");
	b.len = 0;
	CHECK_INT(pgp_fe_terminate(&b), ==, 0);
	CHECK_BUF(&b, "X\0\0\0\x04");
	b.len = 0;
	CHECK_INT(pgp_fe_close(&b, 'P', "cur"), ==, 0);
	CHECK_BUF(&b, "C\0\0\0\x09"
	              "Pcur\0");
	b.len = 0;
	CHECK_INT(pgp_fe_close(&b, 'S', "s1"), ==, 0);
	CHECK_BUF(&b, "C\0\0\0\x08"
	              "Ss1\0");
	b.len = 0;
	CHECK_INT(pgp_fe_copy_data(&b, "a\0b", 3), ==, 0);
	CHECK_BUF(&b, "d\0\0\0\x07"
	              "a\0b");
	b.len = 0;
	CHECK_INT(pgp_fe_copy_data(&b, NULL, 0), ==, 0);
	CHECK_BUF(&b, "d\0\0\0\x04");
	b.len = 0;
	CHECK_INT(pgp_fe_copy_done(&b), ==, 0);
	CHECK_BUF(&b, "c\0\0\0\x04");
	b.len = 0;
	CHECK_INT(pgp_fe_copy_fail(&b, "why"), ==, 0);
	CHECK_BUF(&b, "f\0\0\0\x08"
	              "why\0");
	pgp_buf_free(&b);

	pgp_fe_cancel_request(cancel, 0x01020304u, 0xa0b0c0d0u);
	CHECK_MEM(cancel, 16,
	          "\0\0\0\x10"
	          "\x04\xd2\x16\x2e"
	          "\x01\x02\x03\x04"
	          "\xa0\xb0\xc0\xd0",
	          16);
}

PGP_TEST(fe_messages_append_to_one_round_trip)
{
	pgp_buf b = {0};
	const char *v[1] = {"7"};
	pgp_msg m;
	size_t used, off = 0;
	int count = 0;

	/* BEGIN + Parse/Bind/Describe/Execute/Sync in one buffer, as the extension sends them. */
	CHECK_INT(pgp_fe_query(&b, "BEGIN", 5), ==, 0);
	CHECK_INT(pgp_fe_parse(&b, "st", "SELECT $1::int", 14, 0, NULL), ==, 0);
	CHECK_INT(pgp_fe_bind(&b, "", "st", 1, NULL, v, NULL, 0), ==, 0);
	CHECK_INT(pgp_fe_describe(&b, 'P', ""), ==, 0);
	CHECK_INT(pgp_fe_execute(&b, "", 0), ==, 0);
	CHECK_INT(pgp_fe_sync(&b), ==, 0);
	/* Frontend messages share the framing: walk it with a plain length reader. */
	while (off < b.len) {
		uint32_t len;

		CHECK_INT(b.len - off, >=, 5);
		len = (uint32_t)b.data[off + 1] << 24 | (uint32_t)b.data[off + 2] << 16 |
		      (uint32_t)b.data[off + 3] << 8 | b.data[off + 4];
		off += 1 + len;
		count++;
	}
	CHECK_INT(off, ==, b.len);
	CHECK_INT(count, ==, 6);
	CHECK_INT(b.data[0], ==, 'Q');
	(void)m;
	(void)used;
	pgp_buf_free(&b);
}

/* A failing builder must leave the buffer exactly as it was. */
#define CHECK_UNCHANGED(b, prefix, call)                                                           \
	do {                                                                                       \
		size_t cap_ = (b)->cap;                                                            \
		uint8_t *data_ = (b)->data;                                                        \
		CHECK_INT((call), ==, -EINVAL);                                                    \
		CHECK_MEM((b)->data, (b)->len, prefix, sizeof(prefix) - 1);                        \
		CHECK_INT((b)->cap, ==, cap_);                                                     \
		CHECK((b)->data == data_);                                                         \
	} while (0)

PGP_TEST(fe_invalid_arguments_leave_buffer_unchanged)
{
	pgp_buf b = {0};
	const char *values[2] = {"a", "b"};
	int16_t bad_formats[2] = {0, 2};
	int32_t lengths[2] = {1, 1};

	CHECK_INT(pgp_fe_sync(&b), ==, 0);
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_query(&b, "SELECT\0 1", 9));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_parse(&b, "x", "SEL\0ECT", 7, 0, NULL));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_query(&b, NULL, 3));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04",
	                pgp_fe_bind(&b, "", "", 2, bad_formats, values, lengths, 0));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_bind(&b, "", "", 2, NULL, values, lengths, 2));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_bind(&b, "", "", 2, NULL, values, lengths, -1));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_describe(&b, 'X', "s"));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_close(&b, 0, "s"));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_execute(&b, "", 0x80000000u));
	CHECK_UNCHANGED(&b, "S\0\0\0\x04", pgp_fe_copy_data(&b, NULL, 5));
	pgp_buf_free(&b);
}

PGP_TEST(fe_oversized_messages_rejected_before_reading)
{
	pgp_buf b = {0};
	static const char small[8] = "abcdefg";
	static const char no_nul[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	const char *values[2] = {small, small};
	int32_t huge[2] = {0x20000000, 0x20000000};
	int32_t ok_len[2] = {4, 4};

	CHECK_INT(pgp_fe_flush(&b), ==, 0);
	/* PostgreSQL's limit is a length word of 0x3ffffffe: payload 0x3ffffffa. These lengths lie
	 * about the buffer, so any read would be an ASan report: the size check must come first. */
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_query(&b, small, 0x3ffffffa));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_query(&b, small, SIZE_MAX));
	/* Lengths that would wrap a size sum around must not lead to a read either. */
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_query(&b, no_nul, SIZE_MAX));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_parse(&b, "n", no_nul, SIZE_MAX, 0, NULL));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_parse(&b, "n", no_nul, SIZE_MAX - 3, 0, NULL));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_copy_data(&b, no_nul, SIZE_MAX));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_query(&b, small, (size_t)1 << 31));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_parse(&b, "", small, 0x3ffffff6, 0, NULL));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_copy_data(&b, small, 0x3ffffffb));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_copy_data(&b, small, (size_t)4 << 30));
	CHECK_UNCHANGED(&b, "H\0\0\0\x04", pgp_fe_bind(&b, "", "", 2, NULL, values, huge, 0));
	CHECK_INT(pgp_fe_bind(&b, "", "", 2, NULL, values, ok_len, 0), ==, 0);
	pgp_buf_free(&b);
}

/* ---- stream splitting ---- */

PGP_TEST(be_type_known_table)
{
	static const char known[] = "RK23CdcGHWDIEVvnNAtS1sZT";
	int i, n = 0;

	for (i = 0; i < 256; i++)
		n += pgp_be_type_known((uint8_t)i);
	CHECK_INT(n, ==, (int)strlen(known));
	for (i = 0; known[i]; i++)
		CHECK(pgp_be_type_known((uint8_t)known[i]));
	CHECK(!pgp_be_type_known('Q'));
	CHECK(!pgp_be_type_known(0));
}

static void build_stream(pgp_buf *s, sample *samples, int *nsamples)
{
	int i;

	*nsamples = make_samples(samples);
	for (i = 0; i < *nsamples; i++)
		stream_add_pl(s, samples[i].type, &samples[i].p);
	/* Payload-free messages too. */
	stream_add(s, PGP_BE_PARSE_COMPLETE, NULL, 0);
	stream_add(s, PGP_BE_BIND_COMPLETE, NULL, 0);
	stream_add(s, PGP_BE_NO_DATA, NULL, 0);
}

PGP_TEST(be_next_byte_by_byte)
{
	pgp_buf stream = {0}, in = {0};
	static sample samples[16];
	int nsamples, got = 0;
	size_t off = 0, i;

	build_stream(&stream, samples, &nsamples);
	for (i = 0; i < stream.len; i++) {
		CHECK_INT(pgp_buf_append(&in, stream.data + i, 1), ==, 0);
		for (;;) {
			size_t consumed = 0, avail = in.len - off;
			pgp_msg m;
			int rc =
			    pgp_be_next(in.data + off, avail, PGP_MSG_MAX_DEFAULT, &m, &consumed);

			CHECK_INT(rc, >=, 0);
			if (rc == 0) {
				if (avail < PGP_MSG_HDR)
					CHECK_INT(consumed, ==, PGP_MSG_HDR);
				else
					CHECK_INT(consumed, >, avail);
				break;
			}
			CHECK_INT(consumed, ==, PGP_MSG_HDR + m.len);
			CHECK(m.body == in.data + off + PGP_MSG_HDR);
			if (got < nsamples) {
				CHECK_INT(m.type, ==, samples[got].type);
				CHECK_MEM(m.body, m.len, samples[got].p.d, samples[got].p.n);
				CHECK_INT(decode_any(&m), ==, 0);
			} else {
				CHECK_INT(m.len, ==, 0);
			}
			got++;
			off += consumed;
		}
	}
	CHECK_INT(got, ==, nsamples + 3);
	CHECK_INT(off, ==, stream.len);
	pgp_buf_free(&stream);
	pgp_buf_free(&in);
}

PGP_TEST(be_next_random_chunks)
{
	pgp_buf stream = {0}, in = {0};
	static sample samples[16];
	int nsamples, round;

	build_stream(&stream, samples, &nsamples);
	srand(12345);
	for (round = 0; round < 200; round++) {
		size_t pos = 0, off = 0;
		int got = 0;

		in.len = 0;
		while (pos < stream.len) {
			size_t chunk = 1 + (size_t)rand() % 40;
			pgp_msg m;
			size_t consumed;

			if (chunk > stream.len - pos)
				chunk = stream.len - pos;
			CHECK_INT(pgp_buf_append(&in, stream.data + pos, chunk), ==, 0);
			pos += chunk;
			while (pgp_be_next(in.data + off, in.len - off, PGP_MSG_MAX_DEFAULT, &m,
			                   &consumed) == 1) {
				got++;
				off += consumed;
			}
			/* The reader consumes as it goes, like the extension's read loop. */
			pgp_buf_consume(&in, off);
			off = 0;
		}
		CHECK_INT(got, ==, nsamples + 3);
		CHECK_INT(in.len, ==, 0);
	}
	pgp_buf_free(&stream);
	pgp_buf_free(&in);
}

PGP_TEST(be_next_rejects_garbage_and_oversize)
{
	pgp_msg m;
	size_t consumed;
	uint8_t b[16];

	b[0] = 'Q'; /* a frontend type */
	CHECK_INT(pgp_be_next(b, 1, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EPROTO);
	b[0] = 0;
	CHECK_INT(pgp_be_next(b, 1, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EPROTO);
	CHECK_INT(pgp_be_next(b, 0, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, 0);
	CHECK_INT(consumed, ==, PGP_MSG_HDR);
	memcpy(b, "Z\0\0\0\x03", 5);
	CHECK_INT(pgp_be_next(b, 5, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EPROTO);
	memcpy(b, "Z\0\0\0\0", 5);
	CHECK_INT(pgp_be_next(b, 5, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EPROTO);
	memcpy(b, "D\xff\xff\xff\xff", 5);
	CHECK_INT(pgp_be_next(b, 5, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EMSGSIZE);
	memcpy(b, "D\x40\0\0\x04", 5); /* payload exactly 1 GB: accepted by default */
	CHECK_INT(pgp_be_next(b, 5, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, 0);
	CHECK_INT(consumed, ==, PGP_MSG_HDR + ((size_t)1 << 30));
	memcpy(b, "D\x40\0\0\x05", 5);
	CHECK_INT(pgp_be_next(b, 5, PGP_MSG_MAX_DEFAULT, &m, &consumed), ==, -EMSGSIZE);
	/* A caller limit: 100 payload bytes pass, 101 do not. */
	memcpy(b, "D\0\0\0\x68", 5);
	CHECK_INT(pgp_be_next(b, 5, 100, &m, &consumed), ==, 0);
	memcpy(b, "D\0\0\0\x69", 5);
	CHECK_INT(pgp_be_next(b, 5, 100, &m, &consumed), ==, -EMSGSIZE);
	/* A whole empty message. */
	memcpy(b, "1\0\0\0\x04", 5);
	CHECK_INT(pgp_be_next(b, 5, 0, &m, &consumed), ==, 1);
	CHECK_INT(m.type, ==, '1');
	CHECK_INT(m.len, ==, 0);
	CHECK_INT(consumed, ==, 5);
}

/* ---- decoders: valid messages ---- */

PGP_TEST(decode_simple_messages)
{
	static sample s[16];
	pgp_msg m;
	const char *a, *b;
	uint32_t u1, u2;
	uint16_t n;
	int8_t fmt;
	char c;

	make_samples(s);
	m = msg_exact(s[0].type, s[0].p.d, s[0].p.n);
	CHECK_INT(pgp_be_ready_for_query(&m, &c), ==, 0);
	CHECK_INT(c, ==, 'T');
	msg_free(&m);
	m = msg_exact('Z', (const uint8_t *)"I", 1);
	CHECK_INT(pgp_be_ready_for_query(&m, &c), ==, 0);
	CHECK_INT(c, ==, PGP_TXN_IDLE);
	msg_free(&m);
	m = msg_exact('Z', (const uint8_t *)"E", 1);
	CHECK_INT(pgp_be_ready_for_query(&m, &c), ==, 0);
	CHECK_INT(c, ==, PGP_TXN_FAILED);
	msg_free(&m);

	m = msg_exact(s[1].type, s[1].p.d, s[1].p.n);
	CHECK_INT(pgp_be_command_complete(&m, &a), ==, 0);
	CHECK_STR(a, "INSERT 0 1");
	msg_free(&m);

	m = msg_exact(s[2].type, s[2].p.d, s[2].p.n);
	CHECK_INT(pgp_be_parameter_status(&m, &a, &b), ==, 0);
	CHECK_STR(a, "client_encoding");
	CHECK_STR(b, "UTF8");
	msg_free(&m);

	m = msg_exact(s[3].type, s[3].p.d, s[3].p.n);
	CHECK_INT(pgp_be_backend_key_data(&m, &u1, &u2), ==, 0);
	CHECK_INT(u1, ==, 4242);
	CHECK_INT(u2, ==, 0xdeadbeefu);
	msg_free(&m);

	m = msg_exact(s[4].type, s[4].p.d, s[4].p.n);
	CHECK_INT(pgp_be_notification(&m, &u1, &a, &b), ==, 0);
	CHECK_INT(u1, ==, 77);
	CHECK_STR(a, "chan");
	CHECK_STR(b, "hello");
	msg_free(&m);

	m = msg_exact(s[5].type, s[5].p.d, s[5].p.n);
	CHECK_INT(pgp_be_parameter_description(&m, &n), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(pgp_be_param_oid(&m, 0), ==, 23);
	CHECK_INT(pgp_be_param_oid(&m, 1), ==, 25);
	CHECK_INT(pgp_be_param_oid(&m, 2), ==, 0);
	CHECK_INT(pgp_be_param_oid(&m, 65535), ==, 0);
	msg_free(&m);

	m = msg_exact('H', s[6].p.d, s[6].p.n);
	CHECK_INT(pgp_be_copy_response(&m, &fmt, &n), ==, 0);
	CHECK_INT(fmt, ==, 0);
	CHECK_INT(n, ==, 2);
	m.type = 'G';
	CHECK_INT(pgp_be_copy_response(&m, &fmt, &n), ==, 0);
	m.type = 'W';
	CHECK_INT(pgp_be_copy_response(&m, &fmt, &n), ==, 0);
	msg_free(&m);
	m = msg_exact('H', (const uint8_t *)"\x01\0\x01\0\x01", 5);
	CHECK_INT(pgp_be_copy_response(&m, &fmt, &n), ==, 0);
	CHECK_INT(fmt, ==, 1);
	CHECK_INT(n, ==, 1);
	msg_free(&m);

	/* Empty ParameterDescription. */
	m = msg_exact('t', (const uint8_t *)"\0\0", 2);
	CHECK_INT(pgp_be_parameter_description(&m, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	CHECK_INT(pgp_be_param_oid(&m, 0), ==, 0);
	msg_free(&m);
	/* Empty tag (an empty query string's CommandComplete never happens, but "" is valid). */
	m = msg_exact('C', (const uint8_t *)"", 1);
	CHECK_INT(pgp_be_command_complete(&m, &a), ==, 0);
	CHECK_STR(a, "");
	msg_free(&m);
}

PGP_TEST(decode_authentication)
{
	static sample s[16];
	pgp_msg m;
	uint32_t code;
	payload p = {.n = 0};

	make_samples(s);
	m = msg_exact('R', s[7].p.d, s[7].p.n);
	CHECK_INT(pgp_be_auth(&m, &code), ==, 0);
	CHECK_INT(code, ==, 5);
	CHECK_MEM(m.body + 4, m.len - 4, "salt", 4);
	msg_free(&m);
	m = msg_exact('R', s[8].p.d, s[8].p.n);
	CHECK_INT(pgp_be_auth(&m, &code), ==, 0);
	CHECK_INT(code, ==, 10);
	msg_free(&m);

	for (code = 0; code <= 12; code++) {
		static const uint32_t no_data[] = {0, 2, 3, 6, 7, 9};
		uint32_t got = 99;
		size_t i;
		int fixed = 0;

		for (i = 0; i < PGP_ARRAY_LEN(no_data); i++)
			fixed |= no_data[i] == code;
		p.n = 0;
		pl_u32(&p, code);
		m = msg_exact('R', p.d, p.n);
		if (fixed) {
			CHECK_INT(pgp_be_auth(&m, &got), ==, 0);
			CHECK_INT(got, ==, code);
		} else if (code == 8 || code == 11 || code == 12) {
			CHECK_INT(pgp_be_auth(&m, &got), ==, 0); /* data may be empty */
		} else {
			/* 1, 4 (unknown), 5 without salt, 10 without list */
			CHECK_INT(pgp_be_auth(&m, &got), ==, -EPROTO);
		}
		msg_free(&m);
	}
	/* SASL continue/final carry opaque data. */
	p.n = 0;
	pl_u32(&p, 11);
	pl_bytes(&p, "r=abc,s=xyz,i=4096", 18);
	m = msg_exact('R', p.d, p.n);
	CHECK_INT(pgp_be_auth(&m, &code), ==, 0);
	CHECK_INT(code, ==, 11);
	msg_free(&m);
}

PGP_TEST(decode_row_description_fields)
{
	static sample s[16];
	pgp_msg m;
	pgp_field f;
	size_t pos = 0;
	uint16_t n;

	make_samples(s);
	m = msg_exact('T', s[9].p.d, s[9].p.n);
	CHECK_INT(pgp_be_row_description(&m, &n), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, 0);
	CHECK_STR(f.name, "id");
	CHECK_INT(f.table_oid, ==, 16384);
	CHECK_INT(f.column, ==, 1);
	CHECK_INT(f.type_oid, ==, PGP_OID_INT4);
	CHECK_INT(f.type_len, ==, 4);
	CHECK_INT(f.type_mod, ==, -1);
	CHECK_INT(f.format, ==, 0);
	CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, 0);
	CHECK_STR(f.name, "name");
	CHECK_INT(f.column, ==, 2);
	CHECK_INT(f.type_oid, ==, PGP_OID_TEXT);
	CHECK_INT(f.type_len, ==, -1);
	CHECK_INT(f.format, ==, 1);
	CHECK_INT(pos, ==, m.len);
	CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, -EPROTO);
	pos = 100000; /* a position past the end */
	CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, -EPROTO);
	msg_free(&m);

	/* Zero fields. */
	m = msg_exact('T', (const uint8_t *)"\0\0", 2);
	CHECK_INT(pgp_be_row_description(&m, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	pos = 0;
	CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, -EPROTO);
	msg_free(&m);
}

/* decode_any() over an exact-size copy of the payload bytes. */
static int decode_bytes(uint8_t type, const void *bytes, size_t n)
{
	pgp_msg m = msg_exact(type, bytes, n);
	int rc = decode_any(&m);

	msg_free(&m);
	return rc;
}

PGP_TEST(decode_malformed_cases)
{
#define B(lit) lit, sizeof(lit) - 1
	static const struct {
		uint8_t type;
		const char *bytes;
		size_t n;
		const char *what;
	} bad[] = {
	    {'T',
	     B("\0\x01"
	       "abcdefghijklmnopqrstuvwxyz"),
	     "RowDescription: name without NUL"},
	    {'T',
	     B("\xff\xff"
	       "a\0"
	       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
	     "RowDescription: count beyond the payload"},
	    {'T',
	     B("\0\x01"
	       "a\0"
	       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02"),
	     "RowDescription: format code 2"},
	    {'D', B("\0\x01\xff\xff\xff\xfe"), "DataRow: length -2"},
	    {'D', B("\0\x01\x80\0\0\0"), "DataRow: length INT32_MIN"},
	    {'D',
	     B("\0\x01\0\0\0\x05"
	       "abcd"),
	     "DataRow: value past the end"},
	    {'D',
	     B("\0\x01\x7f\xff\xff\xff"
	       "abcd"),
	     "DataRow: huge length"},
	    {'D',
	     B("\0\x03\0\0\0\x01"
	       "x\xff\xff\xff\xff"),
	     "DataRow: 3 values announced, 2 present"},
	    {'D',
	     B("\0\x01\0\0\0\x01"
	       "x\xff\xff\xff\xff"),
	     "DataRow: 1 value announced, 2 present"},
	    {'G', B("\x02\0\0"), "CopyInResponse: format 2"},
	    {'G', B("\0\0\x01\0\x03"), "CopyInResponse: column format 3"},
	    {'G', B("\0\0\x02\0\0"), "CopyInResponse: 2 columns, 1 present"},
	    {'Z', B("X"), "ReadyForQuery: unknown status"},
	    {'t', B("\0\x02\0\0\0\x17"), "ParameterDescription: 2 oids, 1 present"},
	    {'K', B("\0\0\0\x01\0\0\0"), "BackendKeyData: 7 bytes"},
	    {'A',
	     B("\0\0\0\x01"
	       "chan\0"
	       "payload"),
	     "NotificationResponse: payload unterminated"},
	    {'S', B("name\0"), "ParameterStatus: value missing"},
	    {'C', B("SELECT 1\0\0"), "CommandComplete: a second string"},
	    {'R', B("\0\0\0\0x"), "AuthenticationOk with a trailing byte"},
	    {'R', B("\0\0\0\x0d"), "Authentication: unknown code"},
	    {'R',
	     B("\0\0\0\x05"
	       "sal"),
	     "AuthenticationMD5Password: short salt"},
	    {'R',
	     B("\0\0\0\x0a"
	       "SCRAM-SHA-256\0"),
	     "AuthenticationSASL: list unterminated"},
	    {'R',
	     B("\0\0\0\x0a"
	       "SCRAM-SHA-256\0\0x"),
	     "AuthenticationSASL: bytes after the list"},
	};
#undef B
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(bad); i++) {
		if (decode_bytes(bad[i].type, bad[i].bytes, bad[i].n) != -EPROTO)
			pgp_test_fail(__FILE__, __LINE__, "accepted: %s", bad[i].what);
	}
}

PGP_TEST(decode_iterators_on_unvalidated_messages)
{
	const uint8_t *v;
	size_t pos = 0;
	int32_t len;
	pgp_msg m;

	/* The value iterator checks every length itself. */
	m = msg_exact('D', (const uint8_t *)"\0\x01\xff\xff\xff\xfe", 6);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, -EPROTO);
	msg_free(&m);
	pos = 0;
	m = msg_exact('D',
	              (const uint8_t *)"\0\x01\0\0\0\x05"
	                               "abcd",
	              10);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, -EPROTO);
	msg_free(&m);
	/* The oid accessor answers 0 outside what is present. */
	m = msg_exact('t', (const uint8_t *)"\0\x02\0\0\0\x17", 6);
	CHECK_INT(pgp_be_param_oid(&m, 0), ==, 23);
	CHECK_INT(pgp_be_param_oid(&m, 1), ==, 0);
	msg_free(&m);
}

PGP_TEST(decode_data_row_values)
{
	static sample s[16];
	const uint8_t *v;
	size_t pos = 0;
	int32_t len;
	pgp_msg m;
	uint16_t n;

	make_samples(s);
	m = msg_exact('D', s[10].p.d, s[10].p.n);
	CHECK_INT(pgp_be_data_row(&m, &n), ==, 0);
	CHECK_INT(n, ==, 3);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, 0);
	CHECK_INT(len, ==, 2);
	CHECK_MEM(v, 2, "42", 2);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, 0);
	CHECK_INT(len, ==, -1);
	CHECK(v == NULL);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, 0);
	CHECK_INT(len, ==, 0);
	CHECK_INT(pos, ==, m.len);
	CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, -EPROTO);
	msg_free(&m);

	/* Zero columns. */
	m = msg_exact('D', (const uint8_t *)"\0\0", 2);
	CHECK_INT(pgp_be_data_row(&m, &n), ==, 0);
	CHECK_INT(n, ==, 0);
	msg_free(&m);
}

PGP_TEST(decode_error_all_fields)
{
	payload p = {.n = 0};
	static const struct {
		char code;
		const char *value;
	} fields[] = {
	    {'S', "ERROR"},
	    {'V', "ERROR"},
	    {'C', "23505"},
	    {'M', "duplicate key value violates unique constraint \"t_pkey\""},
	    {'D', "Key (id)=(1) already exists."},
	    {'H', "a hint"},
	    {'P', "15"},
	    {'p', "3"},
	    {'q', "SELECT internal"},
	    {'W', "PL/pgSQL function f() line 3 at SQL statement"},
	    {'s', "public"},
	    {'t', "t"},
	    {'c', "id"},
	    {'d', "int4"},
	    {'n', "t_pkey"},
	    {'F', "nbtinsert.c"},
	    {'L', "664"},
	    {'R', "_bt_check_unique"},
	};
	pgp_error e;
	pgp_msg m;
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(fields); i++) {
		pl_u8(&p, (uint8_t)fields[i].code);
		pl_str(&p, fields[i].value);
	}
	pl_u8(&p, 'Z'); /* unknown field codes are ignored */
	pl_str(&p, "future field");
	pl_u8(&p, 0);
	m = msg_exact('E', p.d, p.n);
	CHECK_INT(pgp_be_error(&m, &e), ==, 0);
	CHECK_STR(e.severity, "ERROR");
	CHECK_STR(e.severity_nl, "ERROR");
	CHECK_STR(e.sqlstate, "23505");
	CHECK_STR(e.message, fields[3].value);
	CHECK_STR(e.detail, "Key (id)=(1) already exists.");
	CHECK_STR(e.hint, "a hint");
	CHECK_STR(e.position, "15");
	CHECK_STR(e.internal_position, "3");
	CHECK_STR(e.internal_query, "SELECT internal");
	CHECK_STR(e.where, fields[9].value);
	CHECK_STR(e.schema, "public");
	CHECK_STR(e.table, "t");
	CHECK_STR(e.column, "id");
	CHECK_STR(e.datatype, "int4");
	CHECK_STR(e.constraint, "t_pkey");
	CHECK_STR(e.file, "nbtinsert.c");
	CHECK_STR(e.line, "664");
	CHECK_STR(e.routine, "_bt_check_unique");
	m.type = 'N';
	CHECK_INT(pgp_be_error(&m, &e), ==, 0);
	msg_free(&m);

	/* Minimal: only S, C, M; the rest NULL. */
	p.n = 0;
	pl_u8(&p, 'S');
	pl_str(&p, "FATAL");
	pl_u8(&p, 'C');
	pl_str(&p, "57P01");
	pl_u8(&p, 'M');
	pl_str(&p, "terminating connection due to administrator command");
	pl_u8(&p, 0);
	m = msg_exact('E', p.d, p.n);
	CHECK_INT(pgp_be_error(&m, &e), ==, 0);
	CHECK_STR(e.severity, "FATAL");
	CHECK_STR(e.sqlstate, "57P01");
	CHECK(e.severity_nl == NULL && e.detail == NULL && e.hint == NULL && e.routine == NULL);
	msg_free(&m);
}

PGP_TEST(decode_error_malformed)
{
	static const struct {
		const char *bytes;
		size_t n;
	} bad[] = {
	    /* missing C */
	    {"SERROR\0Mmsg\0\0", 13},
	    /* missing M */
	    {"SERROR\0C42601\0\0", 15},
	    /* missing S */
	    {"C42601\0Mmsg\0\0", 13},
	    /* short SQLSTATE, long SQLSTATE, lower case SQLSTATE */
	    {"SERROR\0C4260\0Mmsg\0\0", 19},
	    {"SERROR\0C426011\0Mmsg\0\0", 21},
	    {"SERROR\0C42p01\0Mmsg\0\0", 20},
	    /* no final terminator */
	    {"SERROR\0C42601\0Mmsg\0", 19},
	    /* bytes after the terminator */
	    {"SERROR\0C42601\0Mmsg\0\0x", 21},
	    /* last field's string unterminated */
	    {"SERROR\0C42601\0Mmsg", 18},
	    /* a field code and nothing else */
	    {"S", 1},
	    /* empty */
	    {"", 0},
	};
	pgp_error e;
	pgp_msg m;
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(bad); i++) {
		m = msg_exact('E', (const uint8_t *)bad[i].bytes, bad[i].n);
		if (pgp_be_error(&m, &e) != -EPROTO)
			pgp_test_fail(__FILE__, __LINE__, "bad error message %zu accepted", i);
		msg_free(&m);
	}
	m = msg_exact('E', (const uint8_t *)"SERROR\0C42601\0Mmsg\0\0", 20);
	CHECK_INT(pgp_be_error(&m, &e), ==, 0);
	msg_free(&m);
}

/* Every valid sample, cut short at every length, is refused; with one byte more, too. */
PGP_TEST(decode_every_truncation_and_trailing_byte)
{
	static sample s[16];
	int i, nsamples = make_samples(s);

	for (i = 0; i < nsamples; i++) {
		uint8_t extended[sizeof(s[i].p.d) + 1];
		size_t cut;
		pgp_msg m;

		m = msg_exact(s[i].type, s[i].p.d, s[i].p.n);
		if (decode_any(&m) != 0)
			pgp_test_fail(__FILE__, __LINE__, "sample %d (%c) refused", i, s[i].type);
		msg_free(&m);
		for (cut = 0; cut < s[i].p.n; cut++) {
			m = msg_exact(s[i].type, s[i].p.d, cut);
			if (decode_any(&m) != -EPROTO)
				pgp_test_fail(__FILE__, __LINE__,
				              "sample %d (%c) cut to %zu bytes accepted", i,
				              s[i].type, cut);
			msg_free(&m);
		}
		memcpy(extended, s[i].p.d, s[i].p.n);
		extended[s[i].p.n] = 'x';
		m = msg_exact(s[i].type, extended, s[i].p.n + 1);
		if (decode_any(&m) != -EPROTO)
			pgp_test_fail(__FILE__, __LINE__,
			              "sample %d (%c) with a trailing byte accepted", i, s[i].type);
		msg_free(&m);
	}
}

/* Decoders refuse messages of another type instead of misreading them. */
PGP_TEST(decode_wrong_type_refused)
{
	static sample s[16];
	int i, nsamples = make_samples(s);
	pgp_msg m;
	const char *a, *b;
	uint32_t u1, u2;
	uint16_t n;
	size_t pos = 0;
	pgp_field f;
	pgp_error e;
	const uint8_t *v;
	int32_t len;
	int8_t fmt;
	char c;

	for (i = 0; i < nsamples; i++) {
		m = msg_exact(s[i].type, s[i].p.d, s[i].p.n);
		m.type = 'I'; /* EmptyQueryResponse: no decoder takes it */
		CHECK_INT(pgp_be_ready_for_query(&m, &c), ==, -EPROTO);
		CHECK_INT(pgp_be_command_complete(&m, &a), ==, -EPROTO);
		CHECK_INT(pgp_be_parameter_status(&m, &a, &b), ==, -EPROTO);
		CHECK_INT(pgp_be_backend_key_data(&m, &u1, &u2), ==, -EPROTO);
		CHECK_INT(pgp_be_notification(&m, &u1, &a, &b), ==, -EPROTO);
		CHECK_INT(pgp_be_parameter_description(&m, &n), ==, -EPROTO);
		CHECK_INT(pgp_be_param_oid(&m, 0), ==, 0);
		CHECK_INT(pgp_be_copy_response(&m, &fmt, &n), ==, -EPROTO);
		CHECK_INT(pgp_be_auth(&m, &u1), ==, -EPROTO);
		CHECK_INT(pgp_be_row_description(&m, &n), ==, -EPROTO);
		CHECK_INT(pgp_be_row_description_field(&m, &pos, &f), ==, -EPROTO);
		CHECK_INT(pgp_be_data_row(&m, &n), ==, -EPROTO);
		CHECK_INT(pgp_be_data_row_value(&m, &pos, &v, &len), ==, -EPROTO);
		CHECK_INT(pgp_be_error(&m, &e), ==, -EPROTO);
		msg_free(&m);
	}
}

/* Random corruption of valid messages: decoders answer 0 or -EPROTO and never read outside. */
PGP_TEST(decode_random_corruption)
{
	static sample s[16];
	int i, round, nsamples = make_samples(s);

	srand(777);
	for (round = 0; round < 3000; round++) {
		uint8_t buf[sizeof(s[0].p.d)];
		size_t n;
		pgp_msg m;
		int flips, rc;

		i = rand() % nsamples;
		n = s[i].p.n;
		memcpy(buf, s[i].p.d, n);
		for (flips = 1 + rand() % 3; flips > 0 && n > 0; flips--)
			buf[(size_t)rand() % n] = (uint8_t)rand();
		if (rand() % 4 == 0 && n > 0)
			n = (size_t)rand() % n;
		m = msg_exact(s[i].type, buf, n);
		rc = decode_any(&m);
		CHECK(rc == 0 || rc == -EPROTO);
		msg_free(&m);
	}
}

/* ---- drain scanner ---- */

/* A response stream: rows (one large), a notice, an error (canceled), 'E', then COMMIT's
 * CommandComplete and 'I', then bytes of the next response that must stay unconsumed. */
static void build_drain_stream(pgp_buf *s, size_t *tail_len, const char *sqlstate)
{
	static sample samples[16];
	payload p = {.n = 0};
	size_t big = 200000, before;
	uint8_t *row;

	make_samples(samples);
	stream_add_pl(s, 'T', &samples[9].p);
	stream_add_pl(s, 'D', &samples[10].p);
	row = malloc(big + 6);
	CHECK(row != NULL);
	row[0] = 0;
	row[1] = 1;
	row[2] = (uint8_t)(big >> 24);
	row[3] = (uint8_t)(big >> 16);
	row[4] = (uint8_t)(big >> 8);
	row[5] = (uint8_t)big;
	memset(row + 6, 'r', big);
	stream_add(s, 'D', row, big + 6);
	free(row);
	stream_add_pl(s, 'N', &samples[12].p);
	sample_error_fields(&p, sqlstate);
	pl_u8(&p, 0);
	stream_add_pl(s, 'E', &p);
	stream_add(s, 'Z', (const uint8_t *)"E", 1);
	stream_add(s, 'C', (const uint8_t *)"ROLLBACK", 9);
	stream_add(s, 'Z', (const uint8_t *)"I", 1);
	before = s->len;
	stream_add(s, 'S', (const uint8_t *)"a\0b", 4);
	*tail_len = s->len - before;
}

/* Feed stream in chunks of `chunk` bytes the way a caller does: keep what was not used. */
static int drain_in_chunks(pgp_drain *d, const pgp_buf *stream, size_t chunk, uint32_t want,
                           size_t *left)
{
	pgp_buf pending = {0};
	size_t pos = 0;
	int rc = 0;

	while (pos < stream->len) {
		size_t n = chunk < stream->len - pos ? chunk : stream->len - pos, used = 0;

		CHECK_INT(pgp_buf_append(&pending, stream->data + pos, n), ==, 0);
		pos += n;
		rc = pgp_drain_feed(d, pending.data, pending.len, want, &used);
		CHECK_INT(used, <=, pending.len);
		pgp_buf_consume(&pending, used);
		if (rc != 0)
			break;
		/* Nothing but a partial message header or ReadyForQuery/Error may stay pending. */
		CHECK_INT(pending.len, <, 1024);
	}
	*left = pending.len + (stream->len - pos);
	pgp_buf_free(&pending);
	return rc;
}

PGP_TEST(drain_across_chunk_boundaries)
{
	static const size_t chunks[] = {1, 2, 3, 5, 7, 13, 64, 4096, 65536, 1 << 20};
	pgp_buf stream = {0};
	size_t tail, i;

	build_drain_stream(&stream, &tail, "57014");
	for (i = 0; i < PGP_ARRAY_LEN(chunks); i++) {
		pgp_drain d;
		size_t left;

		memset(&d, 0, sizeof(d));
		CHECK_INT(drain_in_chunks(&d, &stream, chunks[i], 2, &left), ==, 1);
		CHECK_INT(d.rfq_seen, ==, 2);
		CHECK_INT(d.txn_status, ==, 'I');
		CHECK_INT(d.errors, ==, 1);
		CHECK_STR(d.sqlstate, "57014");
		CHECK_INT(d.skip, ==, 0);
		CHECK_INT(left, ==, tail);

		/* Stop at the first ReadyForQuery. */
		memset(&d, 0, sizeof(d));
		CHECK_INT(drain_in_chunks(&d, &stream, chunks[i], 1, &left), ==, 1);
		CHECK_INT(d.rfq_seen, ==, 1);
		CHECK_INT(d.txn_status, ==, 'E');
		CHECK_INT(left, ==, tail + 6 + 14);
	}
	pgp_buf_free(&stream);
}

PGP_TEST(drain_already_done_and_partial)
{
	pgp_drain d;
	size_t used = 99;
	static const uint8_t rfq[] = "Z\0\0\0\x05I";

	memset(&d, 0, sizeof(d));
	CHECK_INT(pgp_drain_feed(&d, rfq, 6, 0, &used), ==, 1);
	CHECK_INT(used, ==, 0);
	/* A ReadyForQuery arriving in pieces is not used until whole. */
	CHECK_INT(pgp_drain_feed(&d, rfq, 3, 1, &used), ==, 0);
	CHECK_INT(used, ==, 0);
	CHECK_INT(pgp_drain_feed(&d, rfq, 5, 1, &used), ==, 0);
	CHECK_INT(used, ==, 0);
	CHECK_INT(pgp_drain_feed(&d, rfq, 6, 1, &used), ==, 1);
	CHECK_INT(used, ==, 6);
	CHECK_INT(d.txn_status, ==, 'I');
	/* Satisfied: further calls use nothing. */
	CHECK_INT(pgp_drain_feed(&d, rfq, 6, 1, &used), ==, 1);
	CHECK_INT(used, ==, 0);
	CHECK_INT(pgp_drain_feed(&d, NULL, 0, 2, &used), ==, 0);
	CHECK_INT(used, ==, 0);
}

PGP_TEST(drain_large_error_skipped_without_sqlstate)
{
	pgp_buf stream = {0};
	payload p = {.n = 0};
	size_t big = 300 * 1024, left;
	uint8_t *msg = malloc(big);
	pgp_drain d;

	CHECK(msg != NULL);
	sample_error_fields(&p, "XX000");
	memcpy(msg, p.d, p.n);
	msg[p.n] = 'D';
	memset(msg + p.n + 1, 'x', big - p.n - 3);
	msg[big - 2] = 0;
	msg[big - 1] = 0;
	stream_add(&stream, 'E', msg, big);
	stream_add(&stream, 'Z', (const uint8_t *)"I", 1);
	free(msg);
	memset(&d, 0, sizeof(d));
	CHECK_INT(drain_in_chunks(&d, &stream, 8192, 1, &left), ==, 1);
	CHECK_INT(d.errors, ==, 1);
	CHECK_STR(d.sqlstate, "");
	CHECK_INT(left, ==, 0);
	pgp_buf_free(&stream);
}

PGP_TEST(drain_rejects_garbage)
{
	static const struct {
		const char *bytes;
		size_t n;
	} bad[] = {
	    {"Q\0\0\0\x04", 5},                /* frontend type */
	    {"\0", 1},                         /* type 0 */
	    {"C\0\0\0\x02", 5},                /* length < 4 */
	    {"Z\0\0\0\x06II", 7},              /* ReadyForQuery of 2 bytes */
	    {"Z\0\0\0\x04", 5},                /* ReadyForQuery of 0 bytes */
	    {"Z\0\0\0\x05Q", 6},               /* bad status */
	    {"E\0\0\0\x0dSERROR\0Mx\0\0", 14}, /* no SQLSTATE */
	    {"D\x40\0\0\x05", 5},              /* payload over 1 GB */
	    {"1\0\0\0\x04X", 6},               /* garbage after a valid message */
	};
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(bad); i++) {
		pgp_drain d;
		size_t used;

		memset(&d, 0, sizeof(d));
		if (pgp_drain_feed(&d, (const uint8_t *)bad[i].bytes, bad[i].n, 1, &used) !=
		    -EPROTO)
			pgp_test_fail(__FILE__, __LINE__, "garbage %zu accepted", i);
	}
}

int main(int argc, char **argv)
{
	return pgp_test_main(argc, argv);
}
