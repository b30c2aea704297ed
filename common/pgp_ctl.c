/*
 * pgp_ctl.c: encoding and validation of control datagrams between workers and the broker.
 *
 * The broker decodes datagrams sent by local processes it does not trust, so pgp_ctl_decode()
 * checks everything a later reader could trip over: header, exact body size per type, every
 * string's bounds and terminator, and the few enumerated fields. Bodies are read with memcpy
 * because a datagram buffer carries no alignment promise. Every encoder runs its output through
 * the decoder, so nothing leaves that the other side would reject.
 */
#include "pgp_ctl.h"
#include "pgp_proto_int.h"
#include "pgp_shm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* SLOW_QUERY text is cut to this many bytes (the broker logs it, it is not re-executed). */
#define PGP_CTL_SLOW_SQL_MAX 1000u

#define HDR_SIZE sizeof(struct pgp_ctl_hdr)

static int type_known(uint16_t type)
{
	switch (type) {
	case PGP_CTL_ATTACH:
	case PGP_CTL_FD_REQ:
	case PGP_CTL_CANCEL:
	case PGP_CTL_PING:
	case PGP_CTL_GROW:
	case PGP_CTL_RETURNED:
	case PGP_CTL_SLOW_QUERY:
	case PGP_CTL_ATTACH_OK:
	case PGP_CTL_FD:
	case PGP_CTL_CANCEL_DONE:
	case PGP_CTL_PONG:
	case PGP_CTL_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* Fixed body size of each type (the variable part of ATTACH and SLOW_QUERY comes after it). */
static size_t fixed_size(uint16_t type)
{
	switch (type) {
	case PGP_CTL_ATTACH:
		return sizeof(struct pgp_ctl_attach);
	case PGP_CTL_FD_REQ:
	case PGP_CTL_CANCEL:
	case PGP_CTL_RETURNED:
		return sizeof(struct pgp_ctl_slot_ref);
	case PGP_CTL_GROW:
		return sizeof(struct pgp_ctl_grow);
	case PGP_CTL_SLOW_QUERY:
		return sizeof(struct pgp_ctl_slow_query);
	case PGP_CTL_ATTACH_OK:
		return sizeof(struct pgp_ctl_attach_ok);
	case PGP_CTL_FD:
		return sizeof(struct pgp_ctl_fd);
	case PGP_CTL_PONG:
		return sizeof(struct pgp_ctl_pong);
	case PGP_CTL_ERROR:
		return sizeof(struct pgp_ctl_error);
	default: /* PING, CANCEL_DONE */
		return 0;
	}
}

/* 1 if s[0..cap) holds a NUL. */
static int terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

/*
 * One ATTACH string: off 0 means absent (len must be 0 too); otherwise it lies in the string area
 * after the fixed part, has no NUL inside and its NUL right after. Offsets count from the start
 * of the datagram.
 */
static int attach_string(const uint8_t *msg, size_t n, uint16_t off, uint16_t len, const char **out)
{
	const size_t area = HDR_SIZE + sizeof(struct pgp_ctl_attach);

	if (off == 0) {
		if (len != 0)
			return -EPROTO;
		*out = NULL;
		return 0;
	}
	if (off < area || len >= PGP_CTL_STR_MAX || (size_t)off + len >= n)
		return -EPROTO;
	if (msg[off + len] != 0 || memchr(msg + off, 0, len) != NULL)
		return -EPROTO;
	*out = (const char *)msg + off;
	return 0;
}

/* Every string of an ATTACH, with the flag that must agree with the password's presence. */
static int attach_strings(const uint8_t *msg, size_t n, const struct pgp_ctl_attach *a,
                          pgp_ctl_attach_req *out)
{
	if (attach_string(msg, n, a->pool_off, a->pool_len, &out->pool) < 0 ||
	    attach_string(msg, n, a->host_off, a->host_len, &out->host) < 0 ||
	    attach_string(msg, n, a->port_off, a->port_len, &out->port) < 0 ||
	    attach_string(msg, n, a->dbname_off, a->dbname_len, &out->dbname) < 0 ||
	    attach_string(msg, n, a->user_off, a->user_len, &out->user) < 0 ||
	    attach_string(msg, n, a->password_off, a->password_len, &out->password) < 0)
		return -EPROTO;
	if ((a->flags & ~PGP_ATTACHF_HAS_PASSWORD) != 0)
		return -EPROTO;
	if (((a->flags & PGP_ATTACHF_HAS_PASSWORD) != 0) != (out->password != NULL))
		return -EPROTO;
	out->client_version = a->client_version;
	out->pid = a->pid;
	out->flags = a->flags;
	out->password_len = a->password_len;
	return 0;
}

/* ATTACH_OK params blob: complete name/value pairs, every string terminated, no empty name. */
static int params_valid(const char *p, uint32_t len)
{
	uint32_t pos = 0;

	if (len > PGP_CTL_PARAMS_MAX)
		return 0;
	while (pos < len) {
		const char *name_end = memchr(p + pos, 0, len - pos);
		const char *value_end;

		if (name_end == NULL || name_end == p + pos)
			return 0;
		pos = (uint32_t)(name_end - p) + 1;
		if (pos >= len)
			return 0;
		value_end = memchr(p + pos, 0, len - pos);
		if (value_end == NULL)
			return 0;
		pos = (uint32_t)(value_end - p) + 1;
	}
	return 1;
}

/* Type-specific checks of a body whose size already matched fixed_size(). */
static int body_valid(const uint8_t *msg, size_t n, uint16_t type)
{
	const uint8_t *body = msg + HDR_SIZE;
	size_t body_len = n - HDR_SIZE;

	switch (type) {
	case PGP_CTL_ATTACH: {
		struct pgp_ctl_attach a;
		pgp_ctl_attach_req req;

		memcpy(&a, body, sizeof(a));
		return attach_strings(msg, n, &a, &req);
	}
	case PGP_CTL_FD_REQ:
	case PGP_CTL_CANCEL:
	case PGP_CTL_RETURNED: {
		struct pgp_ctl_slot_ref ref;

		memcpy(&ref, body, sizeof(ref));
		if (type == PGP_CTL_RETURNED)
			return ref.arg == PGP_SLOT_DISCARD || ref.arg == PGP_SLOT_RESET ? 0
			                                                                : -EPROTO;
		return ref.arg == 0 ? 0 : -EPROTO;
	}
	case PGP_CTL_SLOW_QUERY: {
		struct pgp_ctl_slow_query sq;
		const uint8_t *sql = body + sizeof(sq);

		memcpy(&sq, body, sizeof(sq));
		if (sq.sql_len > PGP_CTL_SLOW_SQL_MAX ||
		    body_len != sizeof(sq) + (size_t)sq.sql_len + 1)
			return -EPROTO;
		if (sql[sq.sql_len] != 0 || memchr(sql, 0, sq.sql_len) != NULL)
			return -EPROTO;
		return 0;
	}
	case PGP_CTL_ATTACH_OK: {
		struct pgp_ctl_attach_ok ok;

		memcpy(&ok, body, sizeof(ok));
		if (!terminated(ok.shm_name, sizeof(ok.shm_name)) ||
		    !params_valid(ok.params, ok.params_len))
			return -EPROTO;
		return 0;
	}
	case PGP_CTL_PONG: {
		struct pgp_ctl_pong pong;

		memcpy(&pong, body, sizeof(pong));
		return terminated(pong.shm_name, sizeof(pong.shm_name)) ? 0 : -EPROTO;
	}
	case PGP_CTL_ERROR: {
		struct pgp_ctl_error err;

		memcpy(&err, body, sizeof(err));
		if (!pgp_sqlstate_valid(err.sqlstate) || err.msg_len >= sizeof(err.message))
			return -EPROTO;
		if (err.message[err.msg_len] != 0 || memchr(err.message, 0, err.msg_len) != NULL)
			return -EPROTO;
		return 0;
	}
	default: /* GROW, FD, PING, CANCEL_DONE: nothing beyond the size */
		return 0;
	}
}

int pgp_ctl_decode(const void *buf, size_t n, pgp_ctl_msg *out)
{
	const uint8_t *msg = buf;
	struct pgp_ctl_hdr hdr;
	size_t fixed;

	if (n < HDR_SIZE || n > PGP_CTL_MSG_MAX)
		return -EPROTO;
	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.magic != PGP_CTL_MAGIC || hdr.version != PGP_CTL_VERSION || !type_known(hdr.type) ||
	    hdr.len != n)
		return -EPROTO;
	fixed = fixed_size(hdr.type);
	if (hdr.type == PGP_CTL_ATTACH || hdr.type == PGP_CTL_SLOW_QUERY) {
		if (n - HDR_SIZE < fixed)
			return -EPROTO;
	} else if (n - HDR_SIZE != fixed) {
		return -EPROTO;
	}
	if (body_valid(msg, n, hdr.type) < 0)
		return -EPROTO;
	out->hdr = hdr;
	out->body = msg + HDR_SIZE;
	out->body_len = n - HDR_SIZE;
	return 0;
}

int pgp_ctl_decode_attach(const pgp_ctl_msg *m, pgp_ctl_attach_req *out)
{
	struct pgp_ctl_attach a;
	pgp_ctl_attach_req req;
	const uint8_t *msg;

	if (m->hdr.type != PGP_CTL_ATTACH || m->body_len < sizeof(a))
		return -EPROTO;
	/* body points just past the header inside the datagram; offsets count from its start. */
	msg = m->body - HDR_SIZE;
	memcpy(&a, m->body, sizeof(a));
	if (attach_strings(msg, HDR_SIZE + m->body_len, &a, &req) < 0)
		return -EPROTO;
	*out = req;
	return 0;
}

/* ---- encoders ---- */

static void put_header(uint8_t *buf, uint16_t type, uint32_t seq, size_t len)
{
	struct pgp_ctl_hdr hdr = {
	    .magic = PGP_CTL_MAGIC,
	    .version = PGP_CTL_VERSION,
	    .type = type,
	    .seq = seq,
	    .len = (uint32_t)len,
	};

	memcpy(buf, &hdr, sizeof(hdr));
}

/* The last step of every encoder: what we send must pass the peer's checks. */
static int encoded(const uint8_t *buf, size_t len)
{
	pgp_ctl_msg m;

	if (pgp_ctl_decode(buf, len, &m) < 0)
		return -EINVAL;
	return (int)len;
}

int pgp_ctl_encode(void *buf, uint16_t type, uint32_t seq, const void *body, size_t body_len)
{
	uint8_t *out = buf;

	if (body_len > PGP_CTL_MSG_MAX - HDR_SIZE || (body_len != 0 && body == NULL))
		return -EINVAL;
	put_header(out, type, seq, HDR_SIZE + body_len);
	if (body_len != 0)
		memcpy(out + HDR_SIZE, body, body_len);
	return encoded(out, HDR_SIZE + body_len);
}

/* Copy one ATTACH string into the area at *pos; NULL stays absent. */
static int put_attach_string(uint8_t *out, size_t *pos, const char *s, size_t len, uint16_t *off,
                             uint16_t *lenp)
{
	if (s == NULL) {
		*off = 0;
		*lenp = 0;
		return 0;
	}
	if (len >= PGP_CTL_STR_MAX || *pos + len + 1 > PGP_CTL_MSG_MAX || memchr(s, 0, len) != NULL)
		return -EINVAL;
	memcpy(out + *pos, s, len);
	out[*pos + len] = 0;
	*off = (uint16_t)*pos;
	*lenp = (uint16_t)len;
	*pos += len + 1;
	return 0;
}

static size_t strlen_or_0(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

int pgp_ctl_encode_attach(void *buf, uint32_t seq, const pgp_ctl_attach_req *req)
{
	uint8_t *out = buf;
	struct pgp_ctl_attach a;
	size_t pos = HDR_SIZE + sizeof(a);

	memset(&a, 0, sizeof(a));
	a.client_version = req->client_version;
	a.pid = req->pid;
	a.flags = (req->flags & ~PGP_ATTACHF_HAS_PASSWORD) |
	          (req->password != NULL ? PGP_ATTACHF_HAS_PASSWORD : 0);
	if (put_attach_string(out, &pos, req->pool, strlen_or_0(req->pool), &a.pool_off,
	                      &a.pool_len) < 0 ||
	    put_attach_string(out, &pos, req->host, strlen_or_0(req->host), &a.host_off,
	                      &a.host_len) < 0 ||
	    put_attach_string(out, &pos, req->port, strlen_or_0(req->port), &a.port_off,
	                      &a.port_len) < 0 ||
	    put_attach_string(out, &pos, req->dbname, strlen_or_0(req->dbname), &a.dbname_off,
	                      &a.dbname_len) < 0 ||
	    put_attach_string(out, &pos, req->user, strlen_or_0(req->user), &a.user_off,
	                      &a.user_len) < 0 ||
	    put_attach_string(out, &pos, req->password, req->password_len, &a.password_off,
	                      &a.password_len) < 0)
		return -EINVAL;
	memcpy(out + HDR_SIZE, &a, sizeof(a));
	put_header(out, PGP_CTL_ATTACH, seq, pos);
	return encoded(out, pos);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	/* Back off over continuation bytes (10xxxxxx) to the start of the cut character. */
	while (len > 0 && ((uint8_t)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

int pgp_ctl_encode_error(void *buf, uint32_t seq, const char *sqlstate, const char *fmt, ...)
{
	struct pgp_ctl_error err;
	char text[PGP_CTL_MSG_MAX];
	va_list ap;
	int n;

	memset(&err, 0, sizeof(err));
	if (sqlstate == NULL || strlen(sqlstate) != 5)
		return -EINVAL;
	memcpy(err.sqlstate, sqlstate, 6);
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* An error must still get through when its text is long: cut it, on a character boundary.
	 */
	err.msg_len = (uint16_t)utf8_cut(text, strlen(text), sizeof(err.message) - 1);
	memcpy(err.message, text, err.msg_len);
	err.message[err.msg_len] = '\0';
	return pgp_ctl_encode(buf, PGP_CTL_ERROR, seq, &err, sizeof(err));
}

int pgp_ctl_encode_slow_query(void *buf, uint32_t seq, uint32_t pool, uint32_t duration_ms,
                              const char *sql, size_t sql_len)
{
	uint8_t *out = buf;
	struct pgp_ctl_slow_query sq;
	const char *nul;
	size_t len;

	if (sql == NULL)
		sql_len = 0;
	/* SQL never holds a NUL on the wire; stop at one rather than send a bogus length. */
	nul = sql_len != 0 ? memchr(sql, 0, sql_len) : NULL;
	if (nul != NULL)
		sql_len = (size_t)(nul - sql);
	sql_len = utf8_cut(sql, sql_len, PGP_CTL_SLOW_SQL_MAX);
	memset(&sq, 0, sizeof(sq));
	sq.pool = pool;
	sq.duration_ms = duration_ms;
	sq.sql_len = (uint32_t)sql_len;
	len = HDR_SIZE + sizeof(sq) + sql_len + 1;
	memcpy(out + HDR_SIZE, &sq, sizeof(sq));
	if (sql_len != 0)
		memcpy(out + HDR_SIZE + sizeof(sq), sql, sql_len);
	out[len - 1] = 0;
	put_header(out, PGP_CTL_SLOW_QUERY, seq, len);
	return encoded(out, len);
}

/* ---- ATTACH_OK server parameters ---- */

const char *pgp_ctl_param(const struct pgp_ctl_attach_ok *ok, const char *name)
{
	uint32_t len = ok->params_len < PGP_CTL_PARAMS_MAX ? ok->params_len : PGP_CTL_PARAMS_MAX;
	const char *p = ok->params;
	uint32_t pos = 0;

	/* Bounded walk: safe even on a blob that was never validated. */
	while (pos < len) {
		const char *name_end = memchr(p + pos, 0, len - pos);
		const char *value, *value_end;

		if (name_end == NULL)
			return NULL;
		value = name_end + 1;
		if ((uint32_t)(value - p) >= len)
			return NULL;
		value_end = memchr(value, 0, len - (uint32_t)(value - p));
		if (value_end == NULL)
			return NULL;
		if (strcmp(p + pos, name) == 0)
			return value;
		pos = (uint32_t)(value_end - p) + 1;
	}
	return NULL;
}

int pgp_ctl_param_add(struct pgp_ctl_attach_ok *ok, const char *name, const char *value)
{
	size_t name_len = strlen(name);
	size_t value_len = strlen(value);
	size_t need = name_len + 1 + value_len + 1;

	if (name_len == 0)
		return -EINVAL;
	if (ok->params_len > PGP_CTL_PARAMS_MAX || need > PGP_CTL_PARAMS_MAX - ok->params_len)
		return -ENOSPC;
	memcpy(ok->params + ok->params_len, name, name_len + 1);
	memcpy(ok->params + ok->params_len + name_len + 1, value, value_len + 1);
	ok->params_len += (uint32_t)need;
	return 0;
}
