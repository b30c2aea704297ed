/*
 * pgpool_notify.c: LISTEN/NOTIFY through a pooled connection, and pgsqlGetNotify().
 *
 * LISTEN pins the lease to the handle (its command tag says it changed session state), so the
 * backend that listens stays with the handle until the request ends; the broker's reset then
 * forgets the LISTEN. Notifications arrive on that connection inside the response of any
 * statement or while it is idle: the wire layer hands them to pgpool_notify_add(), which queues
 * them on the handle in arrival order. pgsqlGetNotify() returns the oldest queued one, first
 * reading what the idle connection received (waiting up to the timeout), exactly like
 * pdo_pgsql's PQconsumeInput() + PQnotifies().
 */
#include <poll.h>
#include <string.h>

#include "php.h"
#include "pdo/php_pdo_error.h"

#include "pgpool_driver_int.h"

void pgpool_notify_add(pgpool_dbh *H, const pgp_msg *m)
{
	const char *channel, *payload;
	size_t clen, plen;
	uint32_t pid;
	pgpool_notify *n;

	if (pgp_be_notification(m, &pid, &channel, &payload) != 0)
		return;
	clen = strlen(channel);
	plen = strlen(payload);
	n = emalloc(sizeof(*n) + clen + 1 + plen + 1);
	n->next = NULL;
	n->pid = (int32_t)pid;
	memcpy(n->channel, channel, clen + 1);
	n->payload = n->channel + clen + 1;
	memcpy(n->payload, payload, plen + 1);
	if (H->notify_tail != NULL)
		H->notify_tail->next = n;
	else
		H->notify_head = n;
	H->notify_tail = n;
}

void pgpool_notify_clear(pgpool_dbh *H)
{
	pgpool_notify *n, *next;

	for (n = H->notify_head; n != NULL; n = next) {
		next = n->next;
		efree(n);
	}
	H->notify_head = H->notify_tail = NULL;
}

void pgpool_notify_sink(void *ctx, const pgp_msg *m)
{
	pgpool_notify_add(ctx, m);
}

/* Read what the held connection received while idle, waiting up to timeout_ms. false when the
 * connection broke (the error is recorded, the connection discarded). */
static bool notify_consume(pgpool_dbh *H, uint32_t timeout_ms)
{
	static const char msg[] =
	    "server closed the connection unexpectedly\n\tThis probably means "
	    "the server terminated abnormally\n\tbefore or while processing "
	    "the request.";

	if (!pgpool_conn_held(H) || H->txn_status != PGP_TXN_IDLE)
		return true; /* inside a transaction notifications come with its statements */
	if (pgpool_wire_idle(&H->lease, timeout_ms, pgpool_notify_sink, H) == 0)
		return true;
	pgpool_conn_drop(H, PGP_SLOT_DISCARD);
	pgpool_pool_count_error(H->pool);
	pgpool_error(H->dbh, NULL, "08006", msg);
	return false;
}

static pgpool_notify *notify_pop(pgpool_dbh *H)
{
	pgpool_notify *n = H->notify_head;

	if (n != NULL) {
		H->notify_head = n->next;
		if (H->notify_head == NULL)
			H->notify_tail = NULL;
	}
	return n;
}

PHP_METHOD(PgPool_Ext, pgsqlGetNotify)
{
	pdo_dbh_t *dbh;
	pgpool_dbh *H;
	zend_long mode = PDO_FETCH_USE_DEFAULT, timeout = 0;
	uint64_t deadline, now;
	pgpool_notify *n;

	if (zend_parse_parameters(ZEND_NUM_ARGS(), "|ll", &mode, &timeout) == FAILURE)
		RETURN_THROWS();
	dbh = Z_PDO_DBH_P(ZEND_THIS);
	PDO_CONSTRUCT_CHECK;
	if (mode == PDO_FETCH_USE_DEFAULT)
		mode = dbh->default_fetch_type;
	if (mode != PDO_FETCH_BOTH && mode != PDO_FETCH_ASSOC && mode != PDO_FETCH_NUM) {
		zend_argument_value_error(1, "must be one of PDO::FETCH_BOTH, PDO::FETCH_ASSOC, or "
		                             "PDO::FETCH_NUM");
		RETURN_THROWS();
	}
	if (timeout < 0) {
		zend_argument_value_error(2, "must be greater than or equal to 0");
		RETURN_THROWS();
	} else if (timeout > INT_MAX) {
		php_error_docref(NULL, E_WARNING, "Timeout was shrunk to %d", INT_MAX);
		timeout = INT_MAX;
	}
	H = dbh->driver_data;
	/* A wait is a database wait: PHP's time limit bounds it by the wall clock too
	 * (pgpool_timeout.c). */
	deadline = pgpool_timeout_deadline_us();
	if (deadline != 0) {
		now = pgp_now_us();
		if (now >= deadline)
			pgpool_timeout_raise();
		if ((uint64_t)timeout * 1000u > deadline - now)
			timeout = (zend_long)((deadline - now + 999) / 1000);
	}

	if (!notify_consume(H, 0)) {
		PDO_HANDLE_DBH_ERR();
		RETURN_FALSE;
	}
	if (H->notify_head == NULL && timeout > 0) {
		if (pgpool_conn_held(H) && H->txn_status == PGP_TXN_IDLE) {
			if (!notify_consume(H, (uint32_t)timeout)) {
				PDO_HANDLE_DBH_ERR();
				RETURN_FALSE;
			}
		} else {
			/* Nothing listens on this handle's behalf: pdo_pgsql would wait on its idle
			 * socket for the timeout and find nothing. */
			(void)poll(NULL, 0, (int)timeout);
		}
	}
	n = notify_pop(H);
	if (n == NULL) {
		if (pgpool_timeout_expired())
			pgpool_timeout_raise();
		RETURN_FALSE;
	}
	array_init(return_value);
	if (mode == PDO_FETCH_NUM || mode == PDO_FETCH_BOTH) {
		add_index_string(return_value, 0, n->channel);
		add_index_long(return_value, 1, n->pid);
		if (n->payload[0] != '\0')
			add_index_string(return_value, 2, n->payload);
	}
	if (mode == PDO_FETCH_ASSOC || mode == PDO_FETCH_BOTH) {
		add_assoc_string(return_value, "message", n->channel);
		add_assoc_long(return_value, "pid", n->pid);
		if (n->payload[0] != '\0')
			add_assoc_string(return_value, "payload", n->payload);
	}
	efree(n);
}
