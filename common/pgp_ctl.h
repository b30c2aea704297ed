/*
 * pgp_ctl.h: control messages between a PHP worker process and pgpool-broker.
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET connection per worker process (opened lazily, reopened
 * after fork or broker restart). One datagram carries one message; a backend fd travels as
 * SCM_RIGHTS ancillary data on PGP_CTL_FD. Requests carry a sequence number that the reply echoes.
 * The worker talks synchronously (request, then reply), except for notifications (GROW, DISCARD,
 * RESET, RELEASED) that have no reply.
 *
 * Wire layout: struct pgp_ctl_hdr, then the fixed body of the type, then for ATTACH a string
 * area. All integers are host byte order (both ends are on the same host). Decoding checks the
 * magic, version, type, exact fixed size and every string's bounds and NUL terminator; anything
 * else is -EPROTO and the broker drops the connection (and reclaims its leases).
 */
#ifndef PGP_CTL_H
#define PGP_CTL_H

#include "pgp_common.h"

#define PGP_CTL_MAGIC      0x50474350u /* "PGCP" */
#define PGP_CTL_VERSION    1u
#define PGP_CTL_MSG_MAX    4096u /* largest datagram either side sends */
#define PGP_CTL_STR_MAX    1024u /* longest string field, including NUL */
#define PGP_CTL_PARAMS_MAX 1536u /* server parameter blob in ATTACH_OK */

enum pgp_ctl_type {
	/* worker -> broker, with reply */
	PGP_CTL_ATTACH = 1, /* authenticate for a pool; reply ATTACH_OK or ERROR */
	PGP_CTL_FD_REQ = 2, /* send me the fd of a slot I hold; reply FD or ERROR */
	PGP_CTL_CANCEL = 3, /* cancel the query running on a slot I hold; reply CANCEL_DONE/ERROR */
	PGP_CTL_PING = 4,   /* liveness; reply PONG */
	/* worker -> broker, notifications (no reply) */
	PGP_CTL_GROW = 16,       /* my pool had no idle slot: open another if allowed */
	PGP_CTL_RETURNED = 17,   /* I put a slot in DISCARD or RESET: handle it */
	PGP_CTL_SLOW_QUERY = 18, /* a statement exceeded the pool's slow-query threshold */
	/* broker -> worker replies */
	PGP_CTL_ATTACH_OK = 64,
	PGP_CTL_FD = 65,
	PGP_CTL_CANCEL_DONE = 66,
	PGP_CTL_PONG = 67,
	PGP_CTL_ERROR = 127,
};

struct pgp_ctl_hdr {
	uint32_t magic;   /* PGP_CTL_MAGIC */
	uint16_t version; /* PGP_CTL_VERSION */
	uint16_t type;    /* enum pgp_ctl_type */
	uint32_t seq;     /* request sequence; replies echo it */
	uint32_t len;     /* total message length including this header */
};

/*
 * ATTACH: either pool (by name) or the (host, port, dbname, user) of a pgsql: DSN, plus the
 * password given to new PgPool(). Strings live in a string area after the fixed part: each
 * foo_off/foo_len pair locates one NUL-terminated string (len excludes the NUL; off 0 = absent;
 * offsets count from the start of the datagram, i.e. the header).
 */
struct pgp_ctl_attach {
	uint32_t client_version; /* PGP_CTL_VERSION of the extension */
	int32_t pid;             /* worker pid (the broker trusts SO_PEERCRED, this is a check) */
	uint32_t flags;          /* PGP_ATTACHF_* */
	uint16_t pool_off, pool_len;
	uint16_t host_off, host_len;
	uint16_t port_off, port_len;
	uint16_t dbname_off, dbname_len;
	uint16_t user_off, user_len;
	uint16_t password_off, password_len;
};
#define PGP_ATTACHF_HAS_PASSWORD 0x1u /* a password was given (it may be empty) */

/* Reply to ATTACH. params: "name\0value\0name\0value\0...\0" (server_version, client_encoding,
 * standard_conforming_strings, integer_datetimes, DateStyle, TimeZone, server_encoding...) as the
 * broker saw them when it connected, so the worker can answer getAttribute() and quote correctly.
 */
struct pgp_ctl_attach_ok {
	uint32_t attach_id;          /* the worker's attachment id (slot owner value) */
	uint32_t pool;               /* pool index in shm */
	uint64_t epoch;              /* shm epoch the worker must map */
	char shm_name[64];           /* shm segment name to map */
	uint32_t mode;               /* enum pgp_pool_mode */
	uint32_t acquire_timeout_ms; /* pool's acquire_timeout */
	uint32_t query_timeout_ms;   /* pool's query_timeout, 0 = none */
	uint32_t slow_query_ms;      /* pool's slow_query_threshold, 0 = off */
	uint32_t params_len;         /* bytes used in params */
	char params[PGP_CTL_PARAMS_MAX];
	uint32_t validate_after_idle_ms; /* ping a connection idle longer before use, 0 = off */
	uint32_t reserved;               /* zero */
};

/* FD_REQ, CANCEL, RETURNED: a slot the worker holds (pool-relative index). */
struct pgp_ctl_slot_ref {
	uint32_t pool; /* pool index */
	uint32_t slot; /* pool-relative slot index */
	uint32_t gen;  /* backend generation the worker saw in the slot word */
	uint32_t arg;  /* RETURNED: enum pgp_slot_state put (DISCARD/RESET); else 0 */
};

/* Reply FD (fd in SCM_RIGHTS). */
struct pgp_ctl_fd {
	uint32_t pool;       /* pool index */
	uint32_t slot;       /* pool-relative slot index */
	uint32_t gen;        /* generation of the backend this fd belongs to */
	int32_t backend_pid; /* PostgreSQL backend pid (pgsqlGetPid) */
};

/* PONG: tells a process that has not attached yet where the shm segment is (pgpool_stats()). */
struct pgp_ctl_pong {
	uint64_t epoch;     /* current shm epoch */
	char shm_name[64];  /* shm segment name, NUL-terminated */
	int32_t broker_pid; /* pid of the broker */
	uint32_t reserved;  /* zero */
};

/* GROW. */
struct pgp_ctl_grow {
	uint32_t pool; /* pool index */
};

/* SLOW_QUERY: text follows the fixed part (NUL-terminated, cut to 1000 bytes). */
struct pgp_ctl_slow_query {
	uint32_t pool;        /* pool index */
	uint32_t duration_ms; /* statement duration */
	uint32_t sql_len;     /* bytes of SQL after this struct, excluding NUL */
};

/* ERROR reply. */
struct pgp_ctl_error {
	char sqlstate[6];  /* e.g. "28P01", NUL-terminated */
	uint16_t msg_len;  /* bytes of message, excluding NUL */
	char message[512]; /* human-readable, says what to check */
};

/* A decoded message: the header plus a pointer to the validated body inside the datagram. */
typedef struct pgp_ctl_msg {
	struct pgp_ctl_hdr hdr;
	const uint8_t *body; /* points into the datagram; body length is hdr.len - sizeof(hdr) */
	size_t body_len;
} pgp_ctl_msg;

/* Decoded ATTACH: pointers into the datagram, NULL for absent strings. */
typedef struct pgp_ctl_attach_req {
	uint32_t client_version;
	int32_t pid;
	uint32_t flags;
	const char *pool;
	const char *host;
	const char *port;
	const char *dbname;
	const char *user;
	const char *password;
	size_t password_len;
} pgp_ctl_attach_req;

/*
 * Validate a received datagram of n bytes: magic, version, known type, len == n, and the exact
 * fixed body size for the type (ATTACH: every string inside the datagram and NUL-terminated;
 * ATTACH_OK: params_len within bounds and the blob NUL-terminated; ERROR: message terminated).
 * 0 or -EPROTO.
 */
int pgp_ctl_decode(const void *buf, size_t n, pgp_ctl_msg *out) PGP_WUR;

/* Decode the strings of a validated ATTACH. 0 or -EPROTO. */
int pgp_ctl_decode_attach(const pgp_ctl_msg *m, pgp_ctl_attach_req *out) PGP_WUR;

/* Encoders write into buf (at least PGP_CTL_MSG_MAX bytes) and return the length, or -EINVAL
 * when a string is too long. */
int pgp_ctl_encode_attach(void *buf, uint32_t seq, const pgp_ctl_attach_req *req) PGP_WUR;
int pgp_ctl_encode(void *buf, uint16_t type, uint32_t seq, const void *body,
                   size_t body_len) PGP_WUR;
int pgp_ctl_encode_error(void *buf, uint32_t seq, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5))) PGP_WUR;
int pgp_ctl_encode_slow_query(void *buf, uint32_t seq, uint32_t pool, uint32_t duration_ms,
                              const char *sql, size_t sql_len) PGP_WUR;

/* Look up a server parameter in an ATTACH_OK params blob; NULL if absent. */
const char *pgp_ctl_param(const struct pgp_ctl_attach_ok *ok, const char *name);
/* Append name/value to an ATTACH_OK params blob; -ENOSPC when full. */
int pgp_ctl_param_add(struct pgp_ctl_attach_ok *ok, const char *name, const char *value) PGP_WUR;

#endif
