/*
 * fuzz_proto: libFuzzer target for the backend side of the wire codec (common/pgp_proto*.c), the
 * code that reads what a PostgreSQL server (or something pretending to be one) sends.
 *
 * The input is a byte stream as it would arrive on a backend socket. It is split with
 * pgp_be_next() (with a small and the default size limit), every message goes through every
 * decoder (each must reject what is not its type or is malformed, without reading outside the
 * message), the iterators of validated RowDescription / DataRow / ParameterDescription are walked
 * to the end, and the stream is fed to the drain scanner twice: whole, and in chunks whose sizes
 * come from the input. The scanner is resumable, so both runs must end in the same state; a
 * difference aborts (a finding, like a sanitizer report).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgp_proto.h"

/* Decoders must not trust anything: call every one of them on every message. */
static void decode_all(const pgp_msg *m)
{
	const char *s1, *s2;
	uint32_t u1, u2;
	uint16_t n;
	int8_t fmt;
	char status;
	pgp_error e;
	volatile size_t sink = 0;

	if (pgp_be_ready_for_query(m, &status) == 0)
		sink += (uint8_t)status;
	if (pgp_be_command_complete(m, &s1) == 0)
		sink += strlen(s1);
	if (pgp_be_parameter_status(m, &s1, &s2) == 0)
		sink += strlen(s1) + strlen(s2);
	if (pgp_be_backend_key_data(m, &u1, &u2) == 0)
		sink += u1 ^ u2;
	if (pgp_be_notification(m, &u1, &s1, &s2) == 0)
		sink += strlen(s1) + strlen(s2);
	if (pgp_be_parameter_description(m, &n) == 0) {
		for (uint16_t i = 0; i < n; i++)
			sink += pgp_be_param_oid(m, i);
		/* Out of range must not read past the message. */
		sink += pgp_be_param_oid(m, n);
	}
	if (pgp_be_copy_response(m, &fmt, &n) == 0)
		sink += (size_t)fmt + n;
	if (pgp_be_auth(m, &u1) == 0)
		sink += u1;
	if (pgp_be_row_description(m, &n) == 0) {
		size_t pos = 0;
		pgp_field f;
		uint16_t i;

		for (i = 0; i < n; i++) {
			if (pgp_be_row_description_field(m, &pos, &f) != 0)
				abort(); /* validated as a whole, so every field must decode */
			sink += strlen(f.name) + f.type_oid;
		}
		if (pgp_be_row_description_field(m, &pos, &f) == 0)
			abort(); /* one past the last field */
	}
	if (pgp_be_data_row(m, &n) == 0) {
		size_t pos = 0;
		const uint8_t *val;
		int32_t len;
		uint16_t i;

		for (i = 0; i < n; i++) {
			if (pgp_be_data_row_value(m, &pos, &val, &len) != 0)
				abort();
			if (len > 0)
				sink += val[0] + val[len - 1]; /* both ends inside the message */
		}
		if (pgp_be_data_row_value(m, &pos, &val, &len) == 0)
			abort();
	}
	if (pgp_be_error(m, &e) == 0) {
		sink += strlen(e.sqlstate) + strlen(e.message) + strlen(e.severity);
		if (e.detail)
			sink += strlen(e.detail);
		if (e.position)
			sink += strlen(e.position);
	}
	(void)sink;
}

/* Split the whole stream; returns how many bytes were split off as whole messages. */
static size_t split_all(const uint8_t *data, size_t size, size_t max_msg)
{
	size_t pos = 0, used;
	pgp_msg m;
	int rc;

	while (pos < size) {
		rc = pgp_be_next(data + pos, size - pos, max_msg, &m, &used);
		if (rc <= 0) {
			if (rc == 0 && used <= PGP_MSG_HDR - 1 && size - pos >= PGP_MSG_HDR)
				abort(); /* a complete header must report the message size */
			break;
		}
		if (used < PGP_MSG_HDR || used > size - pos || m.body != data + pos + PGP_MSG_HDR ||
		    (size_t)m.len + PGP_MSG_HDR != used || m.len > max_msg)
			abort();
		decode_all(&m);
		pos += used;
	}
	return pos;
}

struct drain_end {
	int rc;
	pgp_drain d;
};

/* Feed data to a fresh scanner in chunks (chunk sizes from sizes[]; 0 = all at once), keeping
 * unused bytes for the next call as a caller does. */
static struct drain_end drain_run(const uint8_t *data, size_t size, const uint8_t *sizes,
                                  size_t nsizes, uint32_t want)
{
	struct drain_end r;
	uint8_t *pending = malloc(size + 1);
	size_t plen = 0, fed = 0, k = 0, used;

	memset(&r, 0, sizeof(r));
	r.rc = 0;
	while (fed < size) {
		size_t chunk = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : size;

		if (chunk > size - fed)
			chunk = size - fed;
		memcpy(pending + plen, data + fed, chunk);
		plen += chunk;
		fed += chunk;
		used = 0;
		r.rc = pgp_drain_feed(&r.d, pending, plen, want, &used);
		if (used > plen)
			abort();
		if (r.rc != 0)
			break;
		memmove(pending, pending + used, plen - used);
		plen -= used;
	}
	free(pending);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* First byte: how many ReadyForQuery the drain waits for; next 8: chunk sizes. */
	uint32_t want;
	const uint8_t *sizes;
	struct drain_end whole, chunked;

	if (size < 9)
		return 0;
	want = (uint32_t)(data[0] % 4) + 1;
	sizes = data + 1;
	data += 9;
	size -= 9;

	split_all(data, size, PGP_MSG_MAX_DEFAULT);
	split_all(data, size, 64);

	whole = drain_run(data, size, NULL, 0, want);
	chunked = drain_run(data, size, sizes, 8, want);
	if (whole.rc != chunked.rc)
		abort();
	if (whole.rc >= 0 &&
	    (whole.d.rfq_seen != chunked.d.rfq_seen || whole.d.errors != chunked.d.errors ||
	     whole.d.txn_status != chunked.d.txn_status ||
	     strcmp(whole.d.sqlstate, chunked.d.sqlstate) != 0))
		abort();
	return 0;
}
