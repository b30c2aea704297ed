/*
 * pgp_proto.h: the PostgreSQL v3 wire protocol codec (one copy, used by the broker and the
 * extension).
 *
 * Frontend messages are appended to a pgp_buf so a whole round trip (e.g. Parse+Bind+Describe+
 * Execute+Sync, or BEGIN+statement) goes out in one write. Backend messages are split off a byte
 * stream with pgp_be_next() and decoded in place: decoders return pointers into the message
 * payload (strings are NUL-terminated on the wire and are checked to be terminated inside the
 * message before any pointer is handed out). Nothing here trusts the peer: every length, count and
 * string is bounds-checked, and malformed input yields -EPROTO, never a read past the buffer.
 */
#ifndef PGP_PROTO_H
#define PGP_PROTO_H

#include "pgp_common.h"

/* Largest backend message we accept by default (a DataRow with a 1 GB field is legal for
 * PostgreSQL; callers may pass a larger limit). Header (type + length) is 5 bytes. */
#define PGP_MSG_MAX_DEFAULT (1u << 30)
#define PGP_MSG_HDR         5

/* Transaction status byte of ReadyForQuery. */
#define PGP_TXN_IDLE    'I'
#define PGP_TXN_INTRANS 'T'
#define PGP_TXN_FAILED  'E'

/* Backend message type bytes. */
enum pgp_be_type {
	PGP_BE_AUTH = 'R',
	PGP_BE_BACKEND_KEY_DATA = 'K',
	PGP_BE_BIND_COMPLETE = '2',
	PGP_BE_CLOSE_COMPLETE = '3',
	PGP_BE_COMMAND_COMPLETE = 'C',
	PGP_BE_COPY_DATA = 'd',
	PGP_BE_COPY_DONE = 'c',
	PGP_BE_COPY_IN_RESPONSE = 'G',
	PGP_BE_COPY_OUT_RESPONSE = 'H',
	PGP_BE_COPY_BOTH_RESPONSE = 'W',
	PGP_BE_DATA_ROW = 'D',
	PGP_BE_EMPTY_QUERY = 'I',
	PGP_BE_ERROR = 'E',
	PGP_BE_FUNCTION_CALL_RESPONSE = 'V',
	PGP_BE_NEGOTIATE_PROTOCOL = 'v',
	PGP_BE_NO_DATA = 'n',
	PGP_BE_NOTICE = 'N',
	PGP_BE_NOTIFICATION = 'A',
	PGP_BE_PARAMETER_DESCRIPTION = 't',
	PGP_BE_PARAMETER_STATUS = 'S',
	PGP_BE_PARSE_COMPLETE = '1',
	PGP_BE_PORTAL_SUSPENDED = 's',
	PGP_BE_READY_FOR_QUERY = 'Z',
	PGP_BE_ROW_DESCRIPTION = 'T',
};

/* Returns 1 if `type` is a backend message type this codec knows. */
int pgp_be_type_known(uint8_t type);

/* ---- frontend builders: each appends one complete message; 0, -ENOMEM or -EINVAL ----
 * -EINVAL: a NUL inside SQL text, an invalid kind/format code, or a message longer than
 * PostgreSQL accepts (length word over 0x3ffffffe); the buffer is then left unchanged. A NULL
 * statement/portal name means the unnamed one (""). */

/* Query (simple protocol). sql need not be NUL-terminated; it must not contain NUL (-EINVAL). */
int pgp_fe_query(pgp_buf *b, const char *sql, size_t sql_len) PGP_WUR;
/* Parse. name "" is the unnamed statement; param_oids may be NULL when nparams is 0 or to let
 * the server infer every type (0 entries are sent as "unspecified"). */
int pgp_fe_parse(pgp_buf *b, const char *name, const char *sql, size_t sql_len, uint16_t nparams,
                 const uint32_t *param_oids) PGP_WUR;
/* Bind. values[i] == NULL or lengths[i] < 0 sends SQL NULL. formats: NULL = all text, else one
 * per parameter (0 text, 1 binary). result_format applies to all columns (0 text, 1 binary).
 * lengths may be NULL when every value is a C string (strlen is used). */
int pgp_fe_bind(pgp_buf *b, const char *portal, const char *stmt, uint16_t nparams,
                const int16_t *formats, const char *const *values, const int32_t *lengths,
                int16_t result_format) PGP_WUR;
/* Describe kind 'S' (statement) or 'P' (portal). */
int pgp_fe_describe(pgp_buf *b, char kind, const char *name) PGP_WUR;
/* Execute; max_rows 0 = all. */
int pgp_fe_execute(pgp_buf *b, const char *portal, uint32_t max_rows) PGP_WUR;
int pgp_fe_sync(pgp_buf *b) PGP_WUR;
int pgp_fe_flush(pgp_buf *b) PGP_WUR;
/* Close kind 'S' or 'P'. */
int pgp_fe_close(pgp_buf *b, char kind, const char *name) PGP_WUR;
int pgp_fe_terminate(pgp_buf *b) PGP_WUR;
int pgp_fe_copy_data(pgp_buf *b, const void *data, size_t len) PGP_WUR;
int pgp_fe_copy_done(pgp_buf *b) PGP_WUR;
int pgp_fe_copy_fail(pgp_buf *b, const char *reason) PGP_WUR;
/* CancelRequest packet (16 bytes, no type byte), written to out. */
void pgp_fe_cancel_request(uint8_t out[16], uint32_t backend_pid, uint32_t secret_key);

/* ---- backend stream splitting ---- */

typedef struct pgp_msg {
	uint8_t type;        /* message type byte */
	uint32_t len;        /* payload length (excludes type byte and length word) */
	const uint8_t *body; /* payload, points into the caller's buffer */
} pgp_msg;

/*
 * Split the next backend message off data[0..avail).
 * Returns 1 and fills *msg and *consumed (PGP_MSG_HDR + payload) when a whole message is present;
 * 0 when more bytes are needed (*consumed = total size of the message if its header is complete,
 * else PGP_MSG_HDR), -EPROTO when the length word is < 4 or the type byte is unknown, -EMSGSIZE
 * when the message is longer than max_msg.
 */
int pgp_be_next(const uint8_t *data, size_t avail, size_t max_msg, pgp_msg *msg,
                size_t *consumed) PGP_WUR;

/* ---- backend message decoders (0 or -EPROTO) ---- */

int pgp_be_ready_for_query(const pgp_msg *m, char *txn_status) PGP_WUR;
/* CommandComplete: tag is the command tag ("INSERT 0 1", "SELECT 5", "SET"...). */
int pgp_be_command_complete(const pgp_msg *m, const char **tag) PGP_WUR;
int pgp_be_parameter_status(const pgp_msg *m, const char **name, const char **value) PGP_WUR;
int pgp_be_backend_key_data(const pgp_msg *m, uint32_t *pid, uint32_t *key) PGP_WUR;
int pgp_be_notification(const pgp_msg *m, uint32_t *pid, const char **channel,
                        const char **payload) PGP_WUR;
/* ParameterDescription: *n parameters; oid(i) via pgp_be_param_oid(). */
int pgp_be_parameter_description(const pgp_msg *m, uint16_t *n) PGP_WUR;
uint32_t pgp_be_param_oid(const pgp_msg *m, uint16_t i);
/* CopyIn/CopyOut/CopyBoth response: overall format and column count. */
int pgp_be_copy_response(const pgp_msg *m, int8_t *format, uint16_t *ncols) PGP_WUR;
/* Authentication request: code (0 ok, 3 cleartext, 5 md5, 10 SASL...). */
int pgp_be_auth(const pgp_msg *m, uint32_t *code) PGP_WUR;

/* RowDescription field. name points into the message. */
typedef struct pgp_field {
	const char *name;   /* column name */
	uint32_t table_oid; /* 0 if not a table column */
	int16_t column;     /* attribute number or 0 */
	uint32_t type_oid;  /* pg_type oid */
	int16_t type_len;   /* pg_type.typlen */
	int32_t type_mod;   /* atttypmod */
	int16_t format;     /* 0 text, 1 binary */
} pgp_field;

/* RowDescription: validates the whole message and returns the field count. */
int pgp_be_row_description(const pgp_msg *m, uint16_t *nfields) PGP_WUR;
/* Iterate fields of a validated RowDescription: *pos starts at 0; returns 0 or -EPROTO. */
int pgp_be_row_description_field(const pgp_msg *m, size_t *pos, pgp_field *f) PGP_WUR;

/* DataRow: validates the whole message (every length inside bounds) and returns the count. */
int pgp_be_data_row(const pgp_msg *m, uint16_t *ncols) PGP_WUR;
/* Iterate values of a validated DataRow: *pos starts at 0; *len = -1 for NULL. */
int pgp_be_data_row_value(const pgp_msg *m, size_t *pos, const uint8_t **val, int32_t *len) PGP_WUR;

/* ErrorResponse / NoticeResponse fields (all optional except severity, sqlstate, message,
 * which PostgreSQL always sends; absent fields are NULL). */
typedef struct pgp_error {
	const char *severity;          /* 'S' localized severity */
	const char *severity_nl;       /* 'V' non-localized severity */
	const char *sqlstate;          /* 'C' */
	const char *message;           /* 'M' */
	const char *detail;            /* 'D' */
	const char *hint;              /* 'H' */
	const char *position;          /* 'P' cursor position (1-based, characters) */
	const char *internal_position; /* 'p' */
	const char *internal_query;    /* 'q' */
	const char *where;             /* 'W' context */
	const char *schema;            /* 's' */
	const char *table;             /* 't' */
	const char *column;            /* 'c' */
	const char *datatype;          /* 'd' */
	const char *constraint;        /* 'n' */
	const char *file;              /* 'F' */
	const char *line;              /* 'L' */
	const char *routine;           /* 'R' */
} pgp_error;

int pgp_be_error(const pgp_msg *m, pgp_error *e) PGP_WUR;

/* ---- response reading helper ----
 * A small resumable scanner that follows a response stream up to ReadyForQuery without keeping
 * results: used by the broker to drain a connection after a cancel, and by health checks. */
typedef struct pgp_drain {
	size_t skip;       /* bytes of the current message still to discard */
	char txn_status;   /* status byte of the last ReadyForQuery seen, 0 before */
	uint32_t rfq_seen; /* ReadyForQuery messages seen so far */
	uint32_t errors;   /* ErrorResponse messages seen */
	char sqlstate[6];  /* SQLSTATE of the last error, "" if none */
} pgp_drain;

/* Feed bytes; returns 1 once `want_rfq` ReadyForQuery messages were seen (bytes after it are left
 * unconsumed: *used says how many were used), 0 if more input is needed, -EPROTO on garbage.
 * Also on 0, *used may stop short of len: a message header, a ReadyForQuery or an ErrorResponse
 * (up to 256 KiB) is only consumed whole, so keep the unused bytes and feed them again with more.
 */
int pgp_drain_feed(pgp_drain *d, const uint8_t *data, size_t len, uint32_t want_rfq,
                   size_t *used) PGP_WUR;

/* PostgreSQL type oids the codec's users convert specially (from pg_type.h). */
enum pgp_oid {
	PGP_OID_BOOL = 16,
	PGP_OID_BYTEA = 17,
	PGP_OID_CHAR = 18,
	PGP_OID_NAME = 19,
	PGP_OID_INT8 = 20,
	PGP_OID_INT2 = 21,
	PGP_OID_INT4 = 23,
	PGP_OID_TEXT = 25,
	PGP_OID_OID = 26,
	PGP_OID_FLOAT4 = 700,
	PGP_OID_FLOAT8 = 701,
	PGP_OID_VARCHAR = 1043,
	PGP_OID_DATE = 1082,
	PGP_OID_TIMESTAMP = 1114,
	PGP_OID_TIMESTAMPTZ = 1184,
	PGP_OID_NUMERIC = 1700,
};

#endif
