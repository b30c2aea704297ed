/*
 * transport.h: may a pool's backend connection run in plaintext?
 *
 * pgpool hands the backend socket to PHP workers by fd passing; a TLS (or GSSAPI-encrypted)
 * session lives in the process that did the handshake and cannot be handed over without kTLS,
 * which this code does not use. So the broker always connects with sslmode=disable and
 * gssencmode=disable, and the config check decides whether that is acceptable:
 *   - sslmode=require, verify-ca, verify-full, gssencmode=require: refused (the dsn demands
 *     encryption we cannot keep);
 *   - sslmode=disable: the operator chose plaintext; accepted anywhere;
 *   - sslmode=prefer or allow, or no sslmode (libpq's default is prefer): plaintext is accepted
 *     only when every host the dsn names (hostaddr wins over host; comma lists; PGHOST /
 *     PGHOSTADDR when the dsn names none) is a Unix socket, "localhost" or a loopback address,
 *     and the broker says so in its log; anywhere else the config is refused: the operator
 *     must write sslmode=disable to accept plaintext on that network (or reach the server
 *     through a local socket or a TLS tunnel).
 */
#ifndef BROKER_TRANSPORT_H
#define BROKER_TRANSPORT_H

#include <stddef.h>

#include "pgp_common.h"

enum transport_verdict {
	TRANSPORT_PLAINTEXT = 0,      /* sslmode=disable: plaintext as asked */
	TRANSPORT_LOCAL_FALLBACK = 1, /* prefer/allow/unset on loopback or a Unix socket */
};

/*
 * Judge a pool's dsn values (NULL when the dsn does not set them). Returns a transport_verdict,
 * or -EINVAL with the reason (a sentence for the config error) in why.
 */
int transport_check(const char *sslmode, const char *gssencmode, const char *host,
                    const char *hostaddr, char *why, size_t cap) PGP_WUR;

/* 1 if one host entry (a name, an address, or a socket directory) stays on this machine. */
int transport_host_is_local(const char *host);

#endif
