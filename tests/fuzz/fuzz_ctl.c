/*
 * fuzz_ctl: libFuzzer target for the control-message decoder (common/pgp_ctl.c), which the broker
 * runs on every datagram a local process sends to its socket.
 *
 * The input is one datagram. pgp_ctl_decode() must accept or reject it without reading outside
 * it; an accepted ATTACH goes through pgp_ctl_decode_attach() and every string it returns must lie
 * inside the datagram, be terminated there and be as long as it claims; an accepted ATTACH_OK's
 * parameter blob is walked with pgp_ctl_param(). Accepted ATTACHes are re-encoded: the encoder
 * must produce something the decoder accepts with the same strings (a round trip, checked with
 * abort() like a sanitizer finding). pgp_ctl_param() is also run on an unvalidated blob built
 * from the input, which it promises to survive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgp_ctl.h"

static void check_str(const uint8_t *dg, size_t n, const char *s, size_t want_len)
{
	size_t len;

	if (s == NULL)
		return;
	if ((const uint8_t *)s < dg || (const uint8_t *)s >= dg + n)
		abort();
	len = strnlen(s, n - (size_t)((const uint8_t *)s - dg));
	if ((const uint8_t *)s + len >= dg + n || (want_len != (size_t)-1 && len != want_len))
		abort();
}

static int same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void roundtrip_attach(const pgp_ctl_attach_req *req)
{
	uint8_t buf[PGP_CTL_MSG_MAX];
	pgp_ctl_msg m;
	pgp_ctl_attach_req back;
	int n = pgp_ctl_encode_attach(buf, 7, req);

	if (n < 0)
		return; /* e.g. strings too long together for one datagram */
	if (pgp_ctl_decode(buf, (size_t)n, &m) != 0 || pgp_ctl_decode_attach(&m, &back) != 0)
		abort();
	if (!same(req->pool, back.pool) || !same(req->host, back.host) ||
	    !same(req->port, back.port) || !same(req->dbname, back.dbname) ||
	    !same(req->user, back.user) || (req->password == NULL) != (back.password == NULL) ||
	    back.password_len != req->password_len ||
	    (req->password && memcmp(req->password, back.password, req->password_len) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copy into an exact-size buffer, so ASan sees every read past the datagram. */
	uint8_t *dg = malloc(size ? size : 1);
	struct pgp_ctl_attach_ok ok;
	pgp_ctl_msg m;
	pgp_ctl_attach_req req;

	memcpy(dg, data, size);
	if (pgp_ctl_decode(dg, size, &m) == 0) {
		if (m.body != dg + sizeof(struct pgp_ctl_hdr) ||
		    m.body_len != size - sizeof(struct pgp_ctl_hdr) || m.hdr.len != size)
			abort();
		if (pgp_ctl_decode_attach(&m, &req) == 0) {
			if (m.hdr.type != PGP_CTL_ATTACH)
				abort();
			check_str(dg, size, req.pool, (size_t)-1);
			check_str(dg, size, req.host, (size_t)-1);
			check_str(dg, size, req.port, (size_t)-1);
			check_str(dg, size, req.dbname, (size_t)-1);
			check_str(dg, size, req.user, (size_t)-1);
			check_str(dg, size, req.password, req.password_len);
			roundtrip_attach(&req);
		} else if (m.hdr.type == PGP_CTL_ATTACH) {
			abort(); /* decode accepted it, so must decode_attach */
		}
		if (m.hdr.type == PGP_CTL_ATTACH_OK) {
			memcpy(&ok, m.body, sizeof(ok));
			(void)pgp_ctl_param(&ok, "client_encoding");
			(void)pgp_ctl_param(&ok, "server_version");
		}
	}
	/* The lookup promises a bounded walk on any blob, validated or not. */
	memset(&ok, 0, sizeof(ok));
	ok.params_len = size >= 4 ? (uint32_t)data[0] << 8 | data[1] : 0;
	memcpy(ok.params, data, size < sizeof(ok.params) ? size : sizeof(ok.params));
	(void)pgp_ctl_param(&ok, "client_encoding");
	free(dg);
	return 0;
}
