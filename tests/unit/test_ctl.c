/*
 * test_ctl.c: control datagrams: every type round-trips through its encoder and pgp_ctl_decode(),
 * and every kind of malformed datagram a hostile local process could send is refused.
 *
 * Rejection checks decode a copy in a malloc'd block of exactly the datagram's size, so reading
 * past it is an AddressSanitizer report in the sanitizer run.
 */
#include "pgp_ctl.h"
#include "pgp_shm.h"
#include "pgp_test.h"

#define HDR sizeof(struct pgp_ctl_hdr)

/* Datagram buffers: 8-aligned, plus one spare byte for "one byte too long" variants. */
typedef union dgram {
	uint8_t b[PGP_CTL_MSG_MAX + 8];
	uint64_t align;
} dgram;

static int decode_copy(const void *buf, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	pgp_ctl_msg m;
	int rc;

	CHECK(copy != NULL);
	memcpy(copy, buf, n);
	rc = pgp_ctl_decode(copy, n, &m);
	if (rc == 0) {
		CHECK(m.body == copy + HDR);
		CHECK_INT(m.body_len, ==, n - HDR);
		if (m.hdr.type == PGP_CTL_ATTACH) {
			pgp_ctl_attach_req req;
			const char *strs[6];
			int i;

			CHECK_INT(pgp_ctl_decode_attach(&m, &req), ==, 0);
			strs[0] = req.pool;
			strs[1] = req.host;
			strs[2] = req.port;
			strs[3] = req.dbname;
			strs[4] = req.user;
			strs[5] = req.password;
			/* Every string lies inside the datagram, terminated there. */
			for (i = 0; i < 6; i++) {
				if (strs[i] == NULL)
					continue;
				CHECK((const uint8_t *)strs[i] >= copy + HDR);
				CHECK(memchr(strs[i], 0,
				             (size_t)(copy + n - (const uint8_t *)strs[i])) !=
				      NULL);
			}
		}
	}
	free(copy);
	return rc;
}

/* Read-modify-write of the header or of a body struct inside a datagram. */
static void get_hdr(const dgram *d, struct pgp_ctl_hdr *h)
{
	memcpy(h, d->b, sizeof(*h));
}

static void put_hdr(dgram *d, const struct pgp_ctl_hdr *h)
{
	memcpy(d->b, h, sizeof(*h));
}

static void set_len(dgram *d, uint32_t len)
{
	struct pgp_ctl_hdr h;

	get_hdr(d, &h);
	h.len = len;
	put_hdr(d, &h);
}

static int encode_body(dgram *d, uint16_t type, const void *body, size_t n)
{
	return pgp_ctl_encode(d->b, type, 7, body, n);
}

static pgp_ctl_attach_req sample_attach(void)
{
	pgp_ctl_attach_req req;

	memset(&req, 0, sizeof(req));
	req.client_version = PGP_CTL_VERSION;
	req.pid = 4321;
	req.host = "127.0.0.1";
	req.port = "5432";
	req.dbname = "app";
	req.user = "app";
	req.password = "s3cret 'quoted' \\ pw";
	req.password_len = strlen(req.password);
	return req;
}

/* ---- round trips ---- */

PGP_TEST(attach_round_trip)
{
	pgp_ctl_attach_req req = sample_attach(), out;
	dgram d;
	pgp_ctl_msg m;
	int n;

	n = pgp_ctl_encode_attach(d.b, 99, &req);
	CHECK_INT(n, >, (int)(HDR + sizeof(struct pgp_ctl_attach)));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(m.hdr.magic, ==, PGP_CTL_MAGIC);
	CHECK_INT(m.hdr.version, ==, PGP_CTL_VERSION);
	CHECK_INT(m.hdr.type, ==, PGP_CTL_ATTACH);
	CHECK_INT(m.hdr.seq, ==, 99);
	CHECK_INT(m.hdr.len, ==, n);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, 0);
	CHECK_INT(out.client_version, ==, PGP_CTL_VERSION);
	CHECK_INT(out.pid, ==, 4321);
	CHECK_INT(out.flags, ==, PGP_ATTACHF_HAS_PASSWORD);
	CHECK(out.pool == NULL);
	CHECK_STR(out.host, "127.0.0.1");
	CHECK_STR(out.port, "5432");
	CHECK_STR(out.dbname, "app");
	CHECK_STR(out.user, "app");
	CHECK_STR(out.password, req.password);
	CHECK_INT(out.password_len, ==, req.password_len);

	/* By pool name, with an empty password (given, but empty). */
	memset(&req, 0, sizeof(req));
	req.client_version = PGP_CTL_VERSION;
	req.pid = 1;
	req.pool = "main";
	req.password = "";
	n = pgp_ctl_encode_attach(d.b, 1, &req);
	CHECK_INT(n, >, 0);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, 0);
	CHECK_STR(out.pool, "main");
	CHECK(out.host == NULL && out.port == NULL && out.dbname == NULL && out.user == NULL);
	CHECK_STR(out.password, "");
	CHECK_INT(out.password_len, ==, 0);
	CHECK_INT(out.flags, ==, PGP_ATTACHF_HAS_PASSWORD);

	/* No password at all: the flag is cleared even if the caller set it. */
	req.password = NULL;
	req.flags = PGP_ATTACHF_HAS_PASSWORD;
	n = pgp_ctl_encode_attach(d.b, 2, &req);
	CHECK_INT(n, >, 0);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, 0);
	CHECK(out.password == NULL);
	CHECK_INT(out.flags, ==, 0);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, 0);
}

PGP_TEST(attach_decoded_from_unaligned_buffer)
{
	pgp_ctl_attach_req req = sample_attach(), out;
	dgram d, shifted;
	pgp_ctl_msg m;
	int n = pgp_ctl_encode_attach(d.b, 5, &req);

	CHECK_INT(n, >, 0);
	memcpy(shifted.b + 1, d.b, (size_t)n);
	CHECK_INT(pgp_ctl_decode(shifted.b + 1, (size_t)n, &m), ==, 0);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, 0);
	CHECK_STR(out.dbname, "app");
}

PGP_TEST(attach_longest_strings)
{
	char s[PGP_CTL_STR_MAX + 1];
	pgp_ctl_attach_req req, out;
	pgp_ctl_msg m;
	dgram d;
	int n;

	memset(s, 'h', sizeof(s));
	s[PGP_CTL_STR_MAX - 1] = '\0'; /* 1023 characters: the longest allowed */
	memset(&req, 0, sizeof(req));
	req.host = s;
	req.user = "u";
	n = pgp_ctl_encode_attach(d.b, 1, &req);
	CHECK_INT(n, >, 0);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, 0);
	CHECK_INT(strlen(out.host), ==, PGP_CTL_STR_MAX - 1);
	s[PGP_CTL_STR_MAX - 1] = 'h';
	s[PGP_CTL_STR_MAX] = '\0'; /* 1024: too long */
	CHECK_INT(pgp_ctl_encode_attach(d.b, 1, &req), ==, -EINVAL);
	/* Four strings of 1023 bytes do not fit in one datagram. */
	s[PGP_CTL_STR_MAX - 1] = '\0';
	req.port = req.dbname = req.pool = s;
	CHECK_INT(pgp_ctl_encode_attach(d.b, 1, &req), ==, -EINVAL);
	/* A password with a NUL inside cannot be sent. */
	memset(&req, 0, sizeof(req));
	req.password = "ab\0cd";
	req.password_len = 5;
	CHECK_INT(pgp_ctl_encode_attach(d.b, 1, &req), ==, -EINVAL);
}

PGP_TEST(slot_ref_types_round_trip)
{
	static const uint16_t types[] = {PGP_CTL_FD_REQ, PGP_CTL_CANCEL, PGP_CTL_RETURNED};
	struct pgp_ctl_slot_ref ref = {.pool = 3, .slot = 17, .gen = 0xabcdef, .arg = 0}, got;
	pgp_ctl_msg m;
	dgram d;
	size_t i;
	int n;

	for (i = 0; i < PGP_ARRAY_LEN(types); i++) {
		ref.arg = types[i] == PGP_CTL_RETURNED ? PGP_SLOT_RESET : 0;
		n = encode_body(&d, types[i], &ref, sizeof(ref));
		CHECK_INT(n, ==, (int)(HDR + sizeof(ref)));
		CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
		CHECK_INT(m.hdr.type, ==, types[i]);
		CHECK_INT(m.body_len, ==, sizeof(ref));
		memcpy(&got, m.body, sizeof(got));
		CHECK(memcmp(&got, &ref, sizeof(ref)) == 0);
	}
	ref.arg = PGP_SLOT_DISCARD;
	CHECK_INT(encode_body(&d, PGP_CTL_RETURNED, &ref, sizeof(ref)), >, 0);
}

PGP_TEST(small_types_round_trip)
{
	struct pgp_ctl_grow grow = {.pool = 9};
	struct pgp_ctl_fd fd = {.pool = 1, .slot = 2, .gen = 3, .backend_pid = 4567};
	struct pgp_ctl_pong pong;
	pgp_ctl_msg m;
	dgram d;
	int n;

	n = encode_body(&d, PGP_CTL_PING, NULL, 0);
	CHECK_INT(n, ==, (int)HDR);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(m.body_len, ==, 0);
	n = encode_body(&d, PGP_CTL_CANCEL_DONE, NULL, 0);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(m.hdr.type, ==, PGP_CTL_CANCEL_DONE);

	n = encode_body(&d, PGP_CTL_GROW, &grow, sizeof(grow));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(((const struct pgp_ctl_grow *)(const void *)m.body)->pool, ==, 9);

	n = encode_body(&d, PGP_CTL_FD, &fd, sizeof(fd));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK(memcmp(m.body, &fd, sizeof(fd)) == 0);

	memset(&pong, 0, sizeof(pong));
	pong.epoch = 0x1122334455667788ULL;
	strcpy(pong.shm_name, "/pgpool-common");
	pong.broker_pid = 99;
	n = encode_body(&d, PGP_CTL_PONG, &pong, sizeof(pong));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK(memcmp(m.body, &pong, sizeof(pong)) == 0);
}

PGP_TEST(attach_ok_round_trip_and_params)
{
	static struct pgp_ctl_attach_ok ok, got;
	pgp_ctl_msg m;
	dgram d;
	int n;

	memset(&ok, 0, sizeof(ok));
	ok.attach_id = 12;
	ok.pool = 1;
	ok.epoch = 777;
	strcpy(ok.shm_name, "/pgpool");
	ok.mode = PGP_MODE_TRANSACTION;
	ok.acquire_timeout_ms = 5000;
	CHECK_INT(pgp_ctl_param_add(&ok, "server_version", "15.8"), ==, 0);
	CHECK_INT(pgp_ctl_param_add(&ok, "client_encoding", "UTF8"), ==, 0);
	CHECK_INT(pgp_ctl_param_add(&ok, "standard_conforming_strings", "on"), ==, 0);
	CHECK_INT(pgp_ctl_param_add(&ok, "application_name", ""), ==, 0);
	CHECK_INT(pgp_ctl_param_add(&ok, "", "x"), ==, -EINVAL);
	n = encode_body(&d, PGP_CTL_ATTACH_OK, &ok, sizeof(ok));
	CHECK_INT(n, ==, (int)(HDR + sizeof(ok)));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&got, m.body, sizeof(got));
	CHECK_INT(got.attach_id, ==, 12);
	CHECK_STR(got.shm_name, "/pgpool");
	CHECK_STR(pgp_ctl_param(&got, "server_version"), "15.8");
	CHECK_STR(pgp_ctl_param(&got, "client_encoding"), "UTF8");
	CHECK_STR(pgp_ctl_param(&got, "standard_conforming_strings"), "on");
	CHECK_STR(pgp_ctl_param(&got, "application_name"), "");
	CHECK(pgp_ctl_param(&got, "TimeZone") == NULL);
	CHECK(pgp_ctl_param(&got, "UTF8") == NULL); /* values are not names */
	CHECK(pgp_ctl_param(&got, "server") == NULL);

	/* Filling the blob ends in -ENOSPC, leaving what fits. */
	{
		char name[32];
		int i, rc = 0;

		for (i = 0; i < 1000 && rc == 0; i++) {
			snprintf(name, sizeof(name), "param_%d", i);
			rc = pgp_ctl_param_add(&ok, name, "value-value-value");
		}
		CHECK_INT(rc, ==, -ENOSPC);
		CHECK_INT(ok.params_len, <=, PGP_CTL_PARAMS_MAX);
		CHECK_STR(pgp_ctl_param(&ok, "param_0"), "value-value-value");
		CHECK_INT(encode_body(&d, PGP_CTL_ATTACH_OK, &ok, sizeof(ok)), >, 0);
	}
}

PGP_TEST(param_lookup_on_garbage_is_bounded)
{
	static struct pgp_ctl_attach_ok ok;

	memset(&ok, 'x', sizeof(ok));
	ok.params_len = 0xffffffff;
	CHECK(pgp_ctl_param(&ok, "x") == NULL);
	ok.params_len = PGP_CTL_PARAMS_MAX;
	CHECK(pgp_ctl_param(&ok, "x") == NULL);
	ok.params[PGP_CTL_PARAMS_MAX - 1] = '\0'; /* one huge name, no value */
	CHECK(pgp_ctl_param(&ok, "x") == NULL);
	CHECK_INT(pgp_ctl_param_add(&ok, "a", "b"), ==, -ENOSPC);
	ok.params_len = 0xffffffff;
	CHECK_INT(pgp_ctl_param_add(&ok, "a", "b"), ==, -ENOSPC);
}

PGP_TEST(error_round_trip_and_cut)
{
	struct pgp_ctl_error err;
	char long_msg[2000];
	pgp_ctl_msg m;
	dgram d;
	size_t i;
	int n;

	n = pgp_ctl_encode_error(d.b, 41, "08001", "cannot reach %s: %s", "/run/pgpool.sock",
	                         "No such file or directory");
	CHECK_INT(n, ==, (int)(HDR + sizeof(err)));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	CHECK_INT(m.hdr.seq, ==, 41);
	memcpy(&err, m.body, sizeof(err));
	CHECK_STR(err.sqlstate, "08001");
	CHECK_STR(err.message, "cannot reach /run/pgpool.sock: No such file or directory");
	CHECK_INT(err.msg_len, ==, strlen(err.message));

	/* A long message is cut to fit, never splitting a UTF-8 character. */
	for (i = 0; i + 2 < sizeof(long_msg); i += 2)
		memcpy(long_msg + i, "\xc3\xa9", 2); /* é */
	long_msg[i] = '\0';
	n = pgp_ctl_encode_error(d.b, 1, "53300", "x%s", long_msg);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&err, m.body, sizeof(err));
	CHECK_INT(err.msg_len, ==, 511);
	CHECK_INT((uint8_t)err.message[510], ==, 0xa9);
	n = pgp_ctl_encode_error(d.b, 1, "53300", "%s", long_msg);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&err, m.body, sizeof(err));
	CHECK_INT(err.msg_len, ==, 510);
	CHECK_INT((uint8_t)err.message[509], ==, 0xa9);

	CHECK_INT(pgp_ctl_encode_error(d.b, 1, "0800", "x"), ==, -EINVAL);
	CHECK_INT(pgp_ctl_encode_error(d.b, 1, "080011", "x"), ==, -EINVAL);
	CHECK_INT(pgp_ctl_encode_error(d.b, 1, "08oo1", "x"), ==, -EINVAL);
	CHECK_INT(pgp_ctl_encode_error(d.b, 1, NULL, "x"), ==, -EINVAL);
}

PGP_TEST(slow_query_round_trip_and_cut)
{
	struct pgp_ctl_slow_query sq;
	char sql[3000];
	pgp_ctl_msg m;
	dgram d;
	int n;

	n = pgp_ctl_encode_slow_query(d.b, 3, 2, 1500, "SELECT pg_sleep(1.5)", 20);
	CHECK_INT(n, ==, (int)(HDR + sizeof(sq) + 21));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&sq, m.body, sizeof(sq));
	CHECK_INT(sq.pool, ==, 2);
	CHECK_INT(sq.duration_ms, ==, 1500);
	CHECK_INT(sq.sql_len, ==, 20);
	CHECK_STR((const char *)m.body + sizeof(sq), "SELECT pg_sleep(1.5)");

	memset(sql, 'a', sizeof(sql));
	n = pgp_ctl_encode_slow_query(d.b, 3, 2, 1, sql, sizeof(sql));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&sq, m.body, sizeof(sq));
	CHECK_INT(sq.sql_len, ==, 1000);

	/* A two-byte character straddling byte 1000 is dropped whole. */
	memcpy(sql + 999, "\xc3\xa9", 2);
	n = pgp_ctl_encode_slow_query(d.b, 3, 2, 1, sql, sizeof(sql));
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&sq, m.body, sizeof(sq));
	CHECK_INT(sq.sql_len, ==, 999);

	/* Stops at a NUL; empty and NULL SQL are fine. */
	n = pgp_ctl_encode_slow_query(d.b, 3, 2, 1, "SEL\0ECT", 7);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&sq, m.body, sizeof(sq));
	CHECK_INT(sq.sql_len, ==, 3);
	n = pgp_ctl_encode_slow_query(d.b, 3, 2, 1, NULL, 5);
	CHECK_INT(pgp_ctl_decode(d.b, (size_t)n, &m), ==, 0);
	memcpy(&sq, m.body, sizeof(sq));
	CHECK_INT(sq.sql_len, ==, 0);
}

PGP_TEST(encode_refuses_what_decode_would)
{
	struct pgp_ctl_slot_ref ref = {.pool = 1, .slot = 1, .gen = 1, .arg = 0};
	static uint8_t big[PGP_CTL_MSG_MAX];
	dgram d;

	CHECK_INT(pgp_ctl_encode(d.b, 200, 1, NULL, 0), ==, -EINVAL);          /* unknown type */
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_GROW, 1, &ref, 3), ==, -EINVAL); /* wrong size */
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_PING, 1, &ref, 4), ==, -EINVAL); /* body on PING */
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_FD_REQ, 1, NULL, sizeof(ref)), ==, -EINVAL);
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_FD, 1, big, sizeof(big)), ==, -EINVAL);
	ref.arg = 3; /* RETURNED must name DISCARD or RESET */
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_RETURNED, 1, &ref, sizeof(ref)), ==, -EINVAL);
	ref.arg = PGP_SLOT_DISCARD; /* FD_REQ carries no arg */
	CHECK_INT(pgp_ctl_encode(d.b, PGP_CTL_FD_REQ, 1, &ref, sizeof(ref)), ==, -EINVAL);
}

/* ---- malformed datagrams ---- */

PGP_TEST(header_malformed)
{
	struct pgp_ctl_grow grow = {.pool = 1};
	struct pgp_ctl_hdr h;
	dgram d;
	int n = encode_body(&d, PGP_CTL_GROW, &grow, sizeof(grow));

	CHECK_INT(decode_copy(d.b, (size_t)n), ==, 0);
	CHECK_INT(decode_copy(d.b, 0), ==, -EPROTO);
	CHECK_INT(decode_copy(d.b, HDR - 1), ==, -EPROTO);
	/* len says more or less than received. */
	CHECK_INT(decode_copy(d.b, (size_t)n - 1), ==, -EPROTO);
	set_len(&d, (uint32_t)n + 1);
	CHECK_INT(decode_copy(d.b, (size_t)n + 1), ==, -EPROTO); /* body one byte too long */
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	set_len(&d, (uint32_t)n);

	get_hdr(&d, &h);
	h.magic ^= 1;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	h.magic ^= 1;
	h.version = 2;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	h.version = PGP_CTL_VERSION;
	h.type = 0;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	h.type = 5;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	h.type = 0xffff;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, -EPROTO);
	h.type = PGP_CTL_GROW;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, (size_t)n), ==, 0);

	/* Larger than any datagram either side sends. */
	memset(d.b + HDR, 0, sizeof(d.b) - HDR);
	h.type = PGP_CTL_SLOW_QUERY;
	h.len = PGP_CTL_MSG_MAX + 1;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, PGP_CTL_MSG_MAX + 1), ==, -EPROTO);
}

/* Every fixed-size type refuses a body one byte short or one byte long. */
PGP_TEST(fixed_sizes_exact)
{
	static const struct {
		uint16_t type;
		size_t size;
	} types[] = {
	    {PGP_CTL_FD_REQ, sizeof(struct pgp_ctl_slot_ref)},
	    {PGP_CTL_CANCEL, sizeof(struct pgp_ctl_slot_ref)},
	    {PGP_CTL_RETURNED, sizeof(struct pgp_ctl_slot_ref)},
	    {PGP_CTL_PING, 0},
	    {PGP_CTL_GROW, sizeof(struct pgp_ctl_grow)},
	    {PGP_CTL_ATTACH_OK, sizeof(struct pgp_ctl_attach_ok)},
	    {PGP_CTL_FD, sizeof(struct pgp_ctl_fd)},
	    {PGP_CTL_CANCEL_DONE, 0},
	    {PGP_CTL_PONG, sizeof(struct pgp_ctl_pong)},
	    {PGP_CTL_ERROR, sizeof(struct pgp_ctl_error)},
	};
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(types); i++) {
		struct pgp_ctl_hdr h = {PGP_CTL_MAGIC, PGP_CTL_VERSION, types[i].type, 1, 0};
		dgram d;
		size_t n = HDR + types[i].size;

		/* A body that is valid apart from its size: zeros, plus what each type needs. */
		memset(&d, 0, sizeof(d));
		if (types[i].type == PGP_CTL_RETURNED) {
			struct pgp_ctl_slot_ref ref = {0, 0, 0, PGP_SLOT_DISCARD};

			memcpy(d.b + HDR, &ref, sizeof(ref));
		}
		if (types[i].type == PGP_CTL_ERROR)
			memcpy(d.b + HDR, "08001", 6);
		h.len = (uint32_t)n;
		put_hdr(&d, &h);
		if (decode_copy(d.b, n) != 0)
			pgp_test_fail(__FILE__, __LINE__, "type %u refused at its size",
			              types[i].type);
		h.len = (uint32_t)n + 1;
		put_hdr(&d, &h);
		if (decode_copy(d.b, n + 1) != -EPROTO)
			pgp_test_fail(__FILE__, __LINE__, "type %u accepted a long body",
			              types[i].type);
		if (types[i].size == 0)
			continue;
		h.len = (uint32_t)n - 1;
		put_hdr(&d, &h);
		if (decode_copy(d.b, n - 1) != -EPROTO)
			pgp_test_fail(__FILE__, __LINE__, "type %u accepted a short body",
			              types[i].type);
	}
}

/* Apply f to the ATTACH struct inside a freshly encoded datagram and decode it. */
static int attach_mutated(void (*f)(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n))
{
	pgp_ctl_attach_req req = sample_attach();
	struct pgp_ctl_attach a;
	dgram d;
	size_t n;
	int len = pgp_ctl_encode_attach(d.b, 1, &req);

	CHECK_INT(len, >, 0);
	n = (size_t)len;
	memcpy(&a, d.b + HDR, sizeof(a));
	f(&a, d.b, &n);
	memcpy(d.b + HDR, &a, sizeof(a));
	set_len(&d, (uint32_t)n);
	return decode_copy(d.b, n);
}

static void mut_none(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)a, (void)msg, (void)n;
}

static void mut_absent_with_len(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->pool_off = 0;
	a->pool_len = 4;
}

static void mut_off_in_header(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)n;
	msg[4] = 0; /* a NUL would be "found" inside the header */
	a->host_off = 2;
	a->host_len = 2;
}

static void mut_off_in_fixed_part(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->host_off = (uint16_t)(HDR + 4);
	a->host_len = 0;
}

static void mut_off_past_end(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg;
	a->user_off = (uint16_t)*n;
	a->user_len = 0;
}

static void mut_len_past_end(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg;
	a->user_len = (uint16_t)(*n - a->user_off);
}

static void mut_len_short(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->dbname_len--; /* the byte at off+len is not the NUL */
}

static void mut_len_long(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->port_len++; /* the string's own NUL falls inside: embedded NUL */
}

static void mut_embedded_nul(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)n;
	msg[a->password_off + 1] = 0;
}

static void mut_unterminated_last(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	/* Drop the last byte (the password's NUL): its string now runs to the end. */
	(void)a, (void)msg;
	(*n)--;
}

static void mut_unknown_flag(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->flags |= 0x80;
}

static void mut_flag_without_password(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->password_off = 0;
	a->password_len = 0;
}

static void mut_password_without_flag(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	(void)msg, (void)n;
	a->flags = 0;
}

static void mut_too_long_string(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	/* Append a 1024-character string (plus NUL) at the end and point host at it. */
	size_t off = *n;

	memset(msg + off, 'x', PGP_CTL_STR_MAX);
	msg[off + PGP_CTL_STR_MAX] = 0;
	*n = off + PGP_CTL_STR_MAX + 1;
	a->host_off = (uint16_t)off;
	a->host_len = PGP_CTL_STR_MAX;
}

static void mut_longest_string(struct pgp_ctl_attach *a, uint8_t *msg, size_t *n)
{
	size_t off = *n;

	memset(msg + off, 'x', PGP_CTL_STR_MAX - 1);
	msg[off + PGP_CTL_STR_MAX - 1] = 0;
	*n = off + PGP_CTL_STR_MAX;
	a->host_off = (uint16_t)off;
	a->host_len = PGP_CTL_STR_MAX - 1;
}

PGP_TEST(attach_malformed_strings)
{
	CHECK_INT(attach_mutated(mut_none), ==, 0);
	CHECK_INT(attach_mutated(mut_longest_string), ==, 0);
	CHECK_INT(attach_mutated(mut_absent_with_len), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_off_in_header), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_off_in_fixed_part), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_off_past_end), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_len_past_end), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_len_short), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_len_long), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_embedded_nul), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_unterminated_last), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_unknown_flag), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_flag_without_password), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_password_without_flag), ==, -EPROTO);
	CHECK_INT(attach_mutated(mut_too_long_string), ==, -EPROTO);
}

PGP_TEST(attach_short_body_and_wrong_type)
{
	pgp_ctl_attach_req req = sample_attach(), out;
	struct pgp_ctl_hdr h = {PGP_CTL_MAGIC, PGP_CTL_VERSION, PGP_CTL_ATTACH, 1, 0};
	pgp_ctl_msg m;
	dgram d;

	memset(&d, 0, sizeof(d));
	h.len = (uint32_t)(HDR + sizeof(struct pgp_ctl_attach) - 1);
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO);
	/* The bare fixed part with every string absent is valid. */
	h.len = (uint32_t)(HDR + sizeof(struct pgp_ctl_attach));
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, h.len), ==, 0);
	/* decode_attach only takes ATTACH. */
	CHECK_INT(encode_body(&d, PGP_CTL_PING, NULL, 0), >, 0);
	CHECK_INT(pgp_ctl_decode(d.b, HDR, &m), ==, 0);
	CHECK_INT(pgp_ctl_decode_attach(&m, &out), ==, -EPROTO);
	(void)req;
}

PGP_TEST(attach_ok_malformed)
{
	static struct pgp_ctl_attach_ok ok;
	static dgram d;
	struct {
		const char *blob;
		uint32_t len;
		int valid;
	} blobs[] = {
	    {"", 0, 1},           {"a\0b\0", 4, 1}, {"a\0\0", 3, 1}, /* empty value */
	    {"a\0b", 3, 0},                                          /* value unterminated */
	    {"a\0", 2, 0},                                           /* name without value */
	    {"a", 1, 0},                                             /* name unterminated */
	    {"\0b\0", 3, 0},                                         /* empty name */
	    {"a\0b\0c\0", 6, 0},                                     /* odd number of strings */
	    {"a\0b\0\0\0", 6, 0},                                    /* empty name at the end */
	};
	size_t i;

	for (i = 0; i < PGP_ARRAY_LEN(blobs); i++) {
		memset(&ok, 0, sizeof(ok));
		strcpy(ok.shm_name, "/pgpool");
		memcpy(ok.params, blobs[i].blob, blobs[i].len);
		ok.params_len = blobs[i].len;
		memset(&d, 0, sizeof(d));
		memcpy(d.b + HDR, &ok, sizeof(ok));
		put_hdr(&d, &(struct pgp_ctl_hdr){PGP_CTL_MAGIC, PGP_CTL_VERSION, PGP_CTL_ATTACH_OK,
		                                  1, (uint32_t)(HDR + sizeof(ok))});
		if (decode_copy(d.b, HDR + sizeof(ok)) != (blobs[i].valid ? 0 : -EPROTO))
			pgp_test_fail(__FILE__, __LINE__, "params blob %zu misjudged", i);
	}
	/* params_len beyond the array. */
	memset(&ok, 0, sizeof(ok));
	strcpy(ok.shm_name, "/pgpool");
	ok.params_len = PGP_CTL_PARAMS_MAX + 1;
	memcpy(d.b + HDR, &ok, sizeof(ok));
	CHECK_INT(decode_copy(d.b, HDR + sizeof(ok)), ==, -EPROTO);
	ok.params_len = 0xffffffff;
	memcpy(d.b + HDR, &ok, sizeof(ok));
	CHECK_INT(decode_copy(d.b, HDR + sizeof(ok)), ==, -EPROTO);
	/* A full, valid blob ending exactly at the array's end. */
	memset(ok.params, 'p', sizeof(ok.params));
	ok.params[PGP_CTL_PARAMS_MAX / 2 - 1] = 0;
	ok.params[PGP_CTL_PARAMS_MAX - 1] = 0;
	ok.params_len = PGP_CTL_PARAMS_MAX;
	memcpy(d.b + HDR, &ok, sizeof(ok));
	CHECK_INT(decode_copy(d.b, HDR + sizeof(ok)), ==, 0);
	/* shm_name without its NUL. */
	ok.params_len = 0;
	memset(ok.shm_name, 'n', sizeof(ok.shm_name));
	memcpy(d.b + HDR, &ok, sizeof(ok));
	CHECK_INT(decode_copy(d.b, HDR + sizeof(ok)), ==, -EPROTO);
}

PGP_TEST(error_pong_slot_ref_malformed)
{
	struct pgp_ctl_error err;
	struct pgp_ctl_pong pong;
	struct pgp_ctl_slot_ref ref = {1, 2, 3, 0};
	struct pgp_ctl_hdr h = {PGP_CTL_MAGIC, PGP_CTL_VERSION, PGP_CTL_ERROR, 1,
	                        (uint32_t)(HDR + sizeof(err))};
	dgram d;

	memset(&d, 0, sizeof(d));
	put_hdr(&d, &h);
#define ERR_CASE(prep, expect)                                                                     \
	do {                                                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		memcpy(err.sqlstate, "28P01", 6);                                                  \
		strcpy(err.message, "password authentication failed");                             \
		err.msg_len = (uint16_t)strlen(err.message);                                       \
		prep;                                                                              \
		memcpy(d.b + HDR, &err, sizeof(err));                                              \
		CHECK_INT(decode_copy(d.b, HDR + sizeof(err)), ==, expect);                        \
	} while (0)
	ERR_CASE((void)0, 0);
	ERR_CASE(memcpy(err.sqlstate, "2800\0", 6), -EPROTO);
	ERR_CASE(memcpy(err.sqlstate, "28p01", 6), -EPROTO);
	ERR_CASE(err.sqlstate[5] = 'x', -EPROTO);
	ERR_CASE(err.msg_len = 512, -EPROTO);
	ERR_CASE(err.msg_len = 0xffff, -EPROTO);
	ERR_CASE(err.msg_len--, -EPROTO);         /* message[msg_len] is not the NUL */
	ERR_CASE(err.message[3] = '\0', -EPROTO); /* NUL inside */
	ERR_CASE(memset(err.message, 'm', sizeof(err.message)); err.msg_len = 511, -EPROTO);
	ERR_CASE(memset(err.message, 'm', 511); err.message[511] = 0; err.msg_len = 511, 0);
	ERR_CASE(err.message[0] = 0; err.msg_len = 0, 0);
#undef ERR_CASE

	memset(&pong, 0, sizeof(pong));
	memset(pong.shm_name, 'x', sizeof(pong.shm_name));
	h.type = PGP_CTL_PONG;
	h.len = (uint32_t)(HDR + sizeof(pong));
	put_hdr(&d, &h);
	memcpy(d.b + HDR, &pong, sizeof(pong));
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO);
	pong.shm_name[63] = 0;
	memcpy(d.b + HDR, &pong, sizeof(pong));
	CHECK_INT(decode_copy(d.b, h.len), ==, 0);

	h.len = (uint32_t)(HDR + sizeof(ref));
	h.type = PGP_CTL_RETURNED;
	put_hdr(&d, &h);
	memcpy(d.b + HDR, &ref, sizeof(ref));
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO); /* arg 0 */
	ref.arg = PGP_SLOT_IDLE;
	memcpy(d.b + HDR, &ref, sizeof(ref));
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO);
	ref.arg = PGP_SLOT_RESET;
	memcpy(d.b + HDR, &ref, sizeof(ref));
	CHECK_INT(decode_copy(d.b, h.len), ==, 0);
	h.type = PGP_CTL_CANCEL;
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO); /* CANCEL with an arg */
}

PGP_TEST(slow_query_malformed)
{
	struct pgp_ctl_slow_query sq = {.pool = 0, .duration_ms = 1, .sql_len = 3};
	struct pgp_ctl_hdr h = {PGP_CTL_MAGIC, PGP_CTL_VERSION, PGP_CTL_SLOW_QUERY, 1, 0};
	dgram d;
	size_t n;

	memset(&d, 0, sizeof(d));
#define SQ_CASE(sql_len_, text, text_n, expect)                                                    \
	do {                                                                                       \
		sq.sql_len = (sql_len_);                                                           \
		memcpy(d.b + HDR, &sq, sizeof(sq));                                                \
		memcpy(d.b + HDR + sizeof(sq), text, text_n);                                      \
		n = HDR + sizeof(sq) + (text_n);                                                   \
		h.len = (uint32_t)n;                                                               \
		put_hdr(&d, &h);                                                                   \
		CHECK_INT(decode_copy(d.b, n), ==, expect);                                        \
	} while (0)
	SQ_CASE(3, "abc", 4, 0);
	SQ_CASE(0, "", 1, 0);
	SQ_CASE(3, "abc", 3, -EPROTO);     /* no NUL */
	SQ_CASE(3, "abcd", 4, -EPROTO);    /* byte at sql_len is not the NUL */
	SQ_CASE(3, "a\0c", 4, -EPROTO);    /* NUL inside */
	SQ_CASE(3, "abc\0\0", 5, -EPROTO); /* a byte after the NUL */
	SQ_CASE(2, "abc", 4, -EPROTO);     /* sql_len disagrees with the size */
	SQ_CASE(0xffffffffu, "abc", 4, -EPROTO);
	/* No text at all after the fixed part. */
	memcpy(d.b + HDR, &sq, sizeof(sq));
	h.len = (uint32_t)(HDR + sizeof(sq));
	put_hdr(&d, &h);
	CHECK_INT(decode_copy(d.b, h.len), ==, -EPROTO);
	/* 1000 is the longest text, 1001 is refused. */
	{
		static char text[1002];

		memset(text, 'q', sizeof(text));
		text[1000] = 0;
		SQ_CASE(1000, text, 1001, 0);
		text[1000] = 'q';
		text[1001] = 0;
		SQ_CASE(1001, text, 1002, -EPROTO);
	}
#undef SQ_CASE
}

/* Random corruption of valid datagrams of every type: 0 or -EPROTO, never a bad read. */
PGP_TEST(random_corruption)
{
	static dgram samples[12];
	size_t lens[12];
	int ns = 0, round;
	pgp_ctl_attach_req req = sample_attach();
	struct pgp_ctl_slot_ref ref = {1, 2, 3, 0};
	struct pgp_ctl_grow grow = {4};
	static struct pgp_ctl_attach_ok ok;
	struct pgp_ctl_fd fd = {1, 2, 3, 4};
	struct pgp_ctl_pong pong;

	memset(&ok, 0, sizeof(ok));
	strcpy(ok.shm_name, "/x");
	CHECK_INT(pgp_ctl_param_add(&ok, "server_version", "15"), ==, 0);
	memset(&pong, 0, sizeof(pong));
	strcpy(pong.shm_name, "/x");
#define ADD(expr)                                                                                  \
	do {                                                                                       \
		int n_ = (expr);                                                                   \
		CHECK_INT(n_, >, 0);                                                               \
		lens[ns++] = (size_t)n_;                                                           \
	} while (0)
	ADD(pgp_ctl_encode_attach(samples[ns].b, 1, &req));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_FD_REQ, 1, &ref, sizeof(ref)));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_PING, 1, NULL, 0));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_GROW, 1, &grow, sizeof(grow)));
	ADD(pgp_ctl_encode_slow_query(samples[ns].b, 1, 1, 1, "SELECT 1", 8));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_ATTACH_OK, 1, &ok, sizeof(ok)));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_FD, 1, &fd, sizeof(fd)));
	ADD(pgp_ctl_encode(samples[ns].b, PGP_CTL_PONG, 1, &pong, sizeof(pong)));
	ADD(pgp_ctl_encode_error(samples[ns].b, 1, "08001", "no"));
#undef ADD
	srand(4242);
	for (round = 0; round < 20000; round++) {
		int i = rand() % ns, flips, rc;
		static dgram d;
		size_t n = lens[i];

		memcpy(d.b, samples[i].b, n);
		for (flips = 1 + rand() % 3; flips > 0; flips--) {
			/* Mostly hit the header and fixed part, where the checks are. */
			size_t limit = rand() % 2 ? (n < 80 ? n : 80) : n;

			d.b[HDR + (size_t)rand() % (limit > HDR ? limit - HDR : 1)] =
			    (uint8_t)rand();
		}
		if (rand() % 8 == 0)
			n = HDR + (size_t)rand() % (n - HDR + 1);
		set_len(&d, (uint32_t)n);
		rc = decode_copy(d.b, n);
		CHECK(rc == 0 || rc == -EPROTO);
	}
}

int main(int argc, char **argv)
{
	return pgp_test_main(argc, argv);
}
