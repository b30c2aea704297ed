/*
 * transport.c: the plaintext policy of backend connections (see transport.h).
 */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int transport_host_is_local(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	/* libpq: empty = the default socket directory; '/' a socket directory, '@' an abstract
	 * Unix socket. */
	if (host[0] == '\0' || host[0] == '/' || host[0] == '@')
		return 1;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		/* ::ffff:127.x.y.z */
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}

/* Every entry of a comma-separated host list is local; *first_remote gets the first that is
 * not (cut to cap). */
static int hosts_local(const char *list, char *first_remote, size_t cap)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		char one[256];

		if (n >= sizeof(one))
			n = sizeof(one) - 1;
		memcpy(one, p, n);
		one[n] = '\0';
		if (!transport_host_is_local(one)) {
			snprintf(first_remote, cap, "%s", one);
			return 0;
		}
		p += strcspn(p, ",");
		if (*p != ',')
			return 1;
		p++;
	}
}

int transport_check(const char *sslmode, const char *gssencmode, const char *host,
                    const char *hostaddr, char *why, size_t cap)
{
	const char *target;
	char remote[256];

	if (sslmode && (strcmp(sslmode, "require") == 0 || strncmp(sslmode, "verify-", 7) == 0)) {
		snprintf(why, cap,
		         "sslmode=%s is not supported: pgpool hands the backend socket to PHP "
		         "workers by fd passing, and a TLS session cannot be handed over (no "
		         "kTLS); use sslmode=disable on a trusted network or a Unix socket, or "
		         "reach the server through a local TLS tunnel",
		         sslmode);
		return -EINVAL;
	}
	if (gssencmode && strcmp(gssencmode, "require") == 0) {
		snprintf(why, cap,
		         "gssencmode=require is not supported: an encrypted session "
		         "cannot be handed over by fd passing");
		return -EINVAL;
	}
	if (sslmode && strcmp(sslmode, "disable") == 0)
		return TRANSPORT_PLAINTEXT;
	/* prefer, allow or unset: libpq would try TLS first; we cannot. */
	target = hostaddr && *hostaddr ? hostaddr : host;
	if (!target) {
		const char *env = getenv("PGHOSTADDR");
		target = env && *env ? env : getenv("PGHOST");
	}
	if (!target || hosts_local(target, remote, sizeof(remote)))
		return TRANSPORT_LOCAL_FALLBACK;
	snprintf(why, cap,
	         "%s and host %s is not a loopback address or a Unix socket: libpq would "
	         "encrypt with TLS, but pgpool cannot hand a TLS session to workers, so this "
	         "connection would silently be plaintext; write sslmode=disable to accept "
	         "plaintext on this network, or connect through a Unix socket or a local TLS "
	         "tunnel",
	         sslmode ? (strcmp(sslmode, "allow") == 0 ? "sslmode=allow" : "sslmode=prefer")
	                 : "the dsn sets no sslmode (libpq's default is prefer)",
	         remote);
	return -EINVAL;
}
