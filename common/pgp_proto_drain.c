/*
 * pgp_proto_drain.c: the resumable scanner that follows a response stream to ReadyForQuery
 * without keeping results (broker: drain after a cancel; health checks).
 *
 * Messages the scanner does not need are skipped as they stream by (pgp_drain.skip carries the
 * rest of a message across calls), so a huge result costs no memory. ReadyForQuery and
 * ErrorResponse are read whole: when one is only partly present, pgp_drain_feed() stops before its
 * header and reports in *used how far it got; the caller keeps the rest and feeds it again with
 * more bytes. An ErrorResponse larger than PGP_DRAIN_INSPECT_MAX is counted and skipped without
 * its SQLSTATE, which bounds what a caller ever has to buffer.
 */
#include "pgp_proto.h"
#include "pgp_proto_int.h"

#include <errno.h>
#include <string.h>

#define PGP_DRAIN_INSPECT_MAX (256u * 1024u)
/* PostgreSQL builds each message in one allocation of at most 1 GB: a longer length word means
 * the stream is garbage. */
#define PGP_DRAIN_SKIP_MAX PGP_MSG_MAX_DEFAULT

/* Decode a whole ReadyForQuery or ErrorResponse and update the counters. */
static int drain_inspect(pgp_drain *d, const pgp_msg *m)
{
	pgp_error e;
	char status;

	if (m->type == PGP_BE_READY_FOR_QUERY) {
		if (pgp_be_ready_for_query(m, &status) < 0)
			return -EPROTO;
		d->txn_status = status;
		d->rfq_seen++;
		return 0;
	}
	if (pgp_be_error(m, &e) < 0)
		return -EPROTO;
	d->errors++;
	memcpy(d->sqlstate, e.sqlstate, 6); /* validated: five characters and the NUL */
	return 0;
}

int pgp_drain_feed(pgp_drain *d, const uint8_t *data, size_t len, uint32_t want_rfq, size_t *used)
{
	size_t pos = 0;

	while (d->rfq_seen < want_rfq && pos < len) {
		size_t avail = len - pos;
		uint32_t payload, mlen;
		uint8_t type;
		pgp_msg m;

		if (d->skip > 0) {
			size_t n = d->skip < avail ? d->skip : avail;

			d->skip -= n;
			pos += n;
			continue;
		}
		type = data[pos];
		if (!pgp_be_type_known(type))
			return -EPROTO;
		if (avail < PGP_MSG_HDR)
			break;
		mlen = pgp_load_be32(data + pos + 1);
		if (mlen < 4 || mlen - 4 > PGP_DRAIN_SKIP_MAX)
			return -EPROTO;
		payload = mlen - 4;
		/* ReadyForQuery is one byte: do not wait for (and buffer) a bogus longer one. */
		if (type == PGP_BE_READY_FOR_QUERY && payload != 1)
			return -EPROTO;
		if ((type != PGP_BE_READY_FOR_QUERY && type != PGP_BE_ERROR) ||
		    (type == PGP_BE_ERROR && payload > PGP_DRAIN_INSPECT_MAX)) {
			if (type == PGP_BE_ERROR) {
				d->errors++;
				d->sqlstate[0] = '\0';
			}
			d->skip = (size_t)PGP_MSG_HDR + payload;
			continue;
		}
		if (avail - PGP_MSG_HDR < payload)
			break;
		m.type = type;
		m.len = payload;
		m.body = data + pos + PGP_MSG_HDR;
		if (drain_inspect(d, &m) < 0)
			return -EPROTO;
		pos += PGP_MSG_HDR + (size_t)payload;
	}
	*used = pos;
	return d->rfq_seen >= want_rfq ? 1 : 0;
}
