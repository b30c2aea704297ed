/*
 * pgpool_text.c: text handling the driver needs without libpq: client encodings (character
 * length, validity, display width), string and bytea literal escaping as PQescapeStringConn /
 * PQescapeByteaConn do it, bytea output decoding as PQunescapeBytea does it, and a small SQL
 * scanner that finds keywords outside literals and comments (for the lease discipline).
 */
#include <ctype.h>
#include <string.h>

#include "php.h"

#include "pgpool_driver_int.h"

/* ---- client encodings ----
 * Character lengths and validity as PostgreSQL's client library judges them (src/common/wchar.c:
 * pg_encoding_mblen, pg_encoding_verifymbchar), quirks included (JOHAB is checked like EUC), so
 * that quote() accepts and refuses exactly what pdo_pgsql's PQescapeStringConn does. */

#define ENC_SS2            0x8e
#define ENC_SS3            0x8f
#define ENC_HIGH(c)        ((c)&0x80)
#define ENC_EUC_RANGE(c)   ((c) >= 0xa1 && (c) <= 0xfe)
#define ENC_SJIS_HEAD(c)   (((c) >= 0x81 && (c) <= 0x9f) || ((c) >= 0xe0 && (c) <= 0xfc))
#define ENC_SJIS_TAIL(c)   (((c) >= 0x40 && (c) <= 0x7e) || ((c) >= 0x80 && (c) <= 0xfc))
#define ENC_MULE_LC1(c)    ((c) >= 0x81 && (c) <= 0x8d)
#define ENC_MULE_LCPRV1(c) ((c) == 0x9a || (c) == 0x9b)
#define ENC_MULE_LC2(c)    ((c) >= 0x90 && (c) <= 0x99)
#define ENC_MULE_LCPRV2(c) ((c) == 0x9c || (c) == 0x9d)

static const struct {
	const char *name;
	int enc;
} encodings[] = {
    {"UTF8", PGPOOL_ENC_UTF8},
    {"UNICODE", PGPOOL_ENC_UTF8},
    {"EUC_JP", PGPOOL_ENC_EUC_JP},
    {"EUC_JIS_2004", PGPOOL_ENC_EUC_JP},
    {"EUC_CN", PGPOOL_ENC_EUC_CN},
    {"EUC_KR", PGPOOL_ENC_EUC_KR},
    {"JOHAB", PGPOOL_ENC_JOHAB},
    {"BIG5", PGPOOL_ENC_BIG5},
    {"GBK", PGPOOL_ENC_BIG5},
    {"UHC", PGPOOL_ENC_BIG5},
    {"EUC_TW", PGPOOL_ENC_EUC_TW},
    {"SJIS", PGPOOL_ENC_SJIS},
    {"SHIFT_JIS_2004", PGPOOL_ENC_SJIS},
    {"GB18030", PGPOOL_ENC_GB18030},
    {"MULE_INTERNAL", PGPOOL_ENC_MULE},
};

int pgpool_encoding_id(const char *name)
{
	size_t i;

	if (name == NULL)
		return PGPOOL_ENC_UTF8;
	for (i = 0; i < PGP_ARRAY_LEN(encodings); i++) {
		if (strcasecmp(name, encodings[i].name) == 0)
			return encodings[i].enc;
	}
	/* SQL_ASCII, LATIN1..10, WIN*, KOI8*, ISO_8859_*: one byte per character. */
	return PGPOOL_ENC_SINGLE;
}

/* pg_euc_mblen: EUC_JP, EUC_KR, JOHAB. */
static int euc_mblen(unsigned char c)
{
	if (c == ENC_SS2)
		return 2;
	if (c == ENC_SS3)
		return 3;
	return ENC_HIGH(c) ? 2 : 1;
}

int pgpool_enc_mblen(int enc, const unsigned char *s)
{
	unsigned char c = s[0];

	switch (enc) {
	case PGPOOL_ENC_UTF8:
		if ((c & 0x80) == 0)
			return 1;
		if ((c & 0xe0) == 0xc0)
			return 2;
		if ((c & 0xf0) == 0xe0)
			return 3;
		if ((c & 0xf8) == 0xf0)
			return 4;
		return 1;
	case PGPOOL_ENC_EUC_JP:
	case PGPOOL_ENC_EUC_KR:
	case PGPOOL_ENC_JOHAB:
		return euc_mblen(c);
	case PGPOOL_ENC_EUC_CN:
	case PGPOOL_ENC_BIG5:
		return ENC_HIGH(c) ? 2 : 1;
	case PGPOOL_ENC_EUC_TW:
		return c == ENC_SS2 ? 4 : c == ENC_SS3 ? 3 : ENC_HIGH(c) ? 2 : 1;
	case PGPOOL_ENC_SJIS:
		if (c >= 0xa1 && c <= 0xdf)
			return 1; /* half-width katakana */
		return ENC_HIGH(c) ? 2 : 1;
	case PGPOOL_ENC_GB18030:
		if (!ENC_HIGH(c))
			return 1;
		return (s[1] >= 0x30 && s[1] <= 0x39) ? 4 : 2;
	case PGPOOL_ENC_MULE:
		if (ENC_MULE_LC1(c))
			return 2;
		if (ENC_MULE_LCPRV1(c) || ENC_MULE_LC2(c))
			return 3;
		if (ENC_MULE_LCPRV2(c))
			return 4;
		return 1;
	default:
		return 1;
	}
}

/* PostgreSQL's pg_utf8_islegal(): shortest form, no surrogates, at most U+10FFFF. */
static bool utf8_legal(const unsigned char *s, int len)
{
	unsigned char a;

	switch (len) {
	case 4:
		a = s[3];
		if (a < 0x80 || a > 0xbf)
			return false;
		/* fallthrough */
	case 3:
		a = s[2];
		if (a < 0x80 || a > 0xbf)
			return false;
		/* fallthrough */
	case 2:
		a = s[1];
		switch (s[0]) {
		case 0xe0:
			if (a < 0xa0 || a > 0xbf)
				return false;
			break;
		case 0xed:
			if (a < 0x80 || a > 0x9f)
				return false;
			break;
		case 0xf0:
			if (a < 0x90 || a > 0xbf)
				return false;
			break;
		case 0xf4:
			if (a < 0x80 || a > 0x8f)
				return false;
			break;
		default:
			if (a < 0x80 || a > 0xbf)
				return false;
			break;
		}
		/* fallthrough */
	case 1:
		a = s[0];
		if (a >= 0x80 && a < 0xc2)
			return false;
		if (a > 0xf4)
			return false;
		return true;
	default:
		return false;
	}
}

/* Every byte after the first of a character of len bytes satisfies ok (NUL never does). */
static bool trail_ok(const unsigned char *s, int len, int kind)
{
	int i;

	for (i = 1; i < len; i++) {
		unsigned char c = s[i];
		bool ok = kind == 0 ? c != 0 : kind == 1 ? ENC_EUC_RANGE(c) : ENC_HIGH(c);

		if (!ok)
			return false;
	}
	return true;
}

int pgpool_enc_verify(int enc, const unsigned char *s, size_t avail)
{
	int len = pgpool_enc_mblen(enc, s);
	unsigned char c1 = s[0];

	if ((size_t)len > avail)
		return -1;
	switch (enc) {
	case PGPOOL_ENC_UTF8:
		return utf8_legal(s, len) ? len : -1;
	case PGPOOL_ENC_EUC_JP:
		if (c1 == ENC_SS2)
			return s[1] >= 0xa1 && s[1] <= 0xdf ? 2 : -1;
		if (c1 == ENC_SS3)
			return trail_ok(s, 3, 1) ? 3 : -1;
		if (ENC_HIGH(c1))
			return ENC_EUC_RANGE(c1) && ENC_EUC_RANGE(s[1]) ? 2 : -1;
		return 1;
	case PGPOOL_ENC_EUC_CN:
	case PGPOOL_ENC_EUC_KR:
		if (!ENC_HIGH(c1))
			return 1;
		return avail >= 2 && ENC_EUC_RANGE(c1) && ENC_EUC_RANGE(s[1]) ? 2 : -1;
	case PGPOOL_ENC_EUC_TW:
		if (c1 == ENC_SS2)
			return s[1] >= 0xa1 && s[1] <= 0xa7 && ENC_EUC_RANGE(s[2]) &&
			               ENC_EUC_RANGE(s[3])
			           ? 4
			           : -1;
		if (c1 == ENC_SS3)
			return -1;
		if (ENC_HIGH(c1))
			return ENC_EUC_RANGE(s[1]) ? 2 : -1;
		return 1;
	case PGPOOL_ENC_JOHAB:
		return !ENC_HIGH(c1) || trail_ok(s, len, 1) ? len : -1;
	case PGPOOL_ENC_BIG5:
		return trail_ok(s, len, 0) ? len : -1;
	case PGPOOL_ENC_SJIS:
		if (len == 1)
			return 1;
		return ENC_SJIS_HEAD(c1) && ENC_SJIS_TAIL(s[1]) ? 2 : -1;
	case PGPOOL_ENC_GB18030:
		if (!ENC_HIGH(c1))
			return 1;
		if (avail >= 4 && s[1] >= 0x30 && s[1] <= 0x39)
			return c1 >= 0x81 && c1 <= 0xfe && s[2] >= 0x81 && s[2] <= 0xfe &&
			               s[3] >= 0x30 && s[3] <= 0x39
			           ? 4
			           : -1;
		if (avail >= 2 && c1 >= 0x81 && c1 <= 0xfe)
			return (s[1] >= 0x40 && s[1] <= 0x7e) || (s[1] >= 0x80 && s[1] <= 0xfe)
			           ? 2
			           : -1;
		return -1;
	case PGPOOL_ENC_MULE:
		return trail_ok(s, len, 2) ? len : -1;
	default:
		return 1;
	}
}

int pgpool_enc_dsplen(int enc, const unsigned char *s, int len)
{
	uint32_t cp;

	if (len <= 1)
		return 1;
	if (enc == PGPOOL_ENC_MULE)
		return ENC_MULE_LC1(s[0]) || ENC_MULE_LCPRV1(s[0]) ? 1 : 2;
	if (enc != PGPOOL_ENC_UTF8)
		return (enc == PGPOOL_ENC_EUC_JP && s[0] == ENC_SS2) ? 1 : 2;
	if (len == 2)
		return 1;
	if (len == 3)
		cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
		     (s[2] & 0x3f);
	else
		cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
		     ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
	return pgpool_ucs_width(cp);
}

/* ---- literals ---- */

zend_string *pgpool_quote_string(const char *s, size_t len, int enc, bool std_strings)
{
	const unsigned char *p = (const unsigned char *)s;
	zend_string *out = zend_string_safe_alloc(2, len, 2, 0);
	char *t = ZSTR_VAL(out);
	size_t i = 0;
	int n;

	*t++ = '\'';
	/* Like PQescapeStringConn: stop at a NUL, double quotes (and backslashes unless
	 * standard_conforming_strings), copy multibyte characters whole; an invalid one fails. */
	while (i < len && p[i] != '\0') {
		if (p[i] < 0x80) {
			if (p[i] == '\'' || (p[i] == '\\' && !std_strings))
				*t++ = (char)p[i];
			*t++ = (char)p[i++];
			continue;
		}
		n = pgpool_enc_verify(enc, p + i, len - i);
		if (n < 0) {
			zend_string_efree(out);
			return NULL;
		}
		memcpy(t, p + i, (size_t)n);
		t += n;
		i += (size_t)n;
	}
	*t++ = '\'';
	*t = '\0';
	ZSTR_LEN(out) = (size_t)(t - ZSTR_VAL(out));
	return out;
}

zend_string *pgpool_quote_bytea(const char *s, size_t len, bool std_strings)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	zend_string *out = zend_string_safe_alloc(2, len, 5, 0);
	char *t = ZSTR_VAL(out);
	size_t i;

	/* PQescapeByteaConn's hex format (servers >= 9.0), inside quotes. */
	*t++ = '\'';
	if (!std_strings)
		*t++ = '\\';
	*t++ = '\\';
	*t++ = 'x';
	for (i = 0; i < len; i++) {
		*t++ = hex[p[i] >> 4];
		*t++ = hex[p[i] & 0x0f];
	}
	*t++ = '\'';
	*t = '\0';
	ZSTR_LEN(out) = (size_t)(t - ZSTR_VAL(out));
	return out;
}

static int hex_value(unsigned char c)
{
	if (!isxdigit(c))
		return -1;
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

zend_string *pgpool_unescape_bytea(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	zend_string *out;
	char *t;
	size_t i;
	int hi, lo;

	if (len >= 2 && p[0] == '\\' && p[1] == 'x') {
		/* Hex format; like PQunescapeBytea, bytes that are not hex pairs are skipped. */
		out = zend_string_alloc((len - 2) / 2, 0);
		t = ZSTR_VAL(out);
		for (i = 2; i < len;) {
			hi = hex_value(p[i++]);
			if (i >= len || hi < 0)
				continue;
			lo = hex_value(p[i++]);
			if (lo >= 0)
				*t++ = (char)((hi << 4) | lo);
		}
	} else {
		/* Escape format: \\ is a backslash, \ooo (first digit 0-3) an octal byte; any other
		 * backslash is dropped and the next byte taken as data. */
		out = zend_string_alloc(len, 0);
		t = ZSTR_VAL(out);
		for (i = 0; i < len;) {
			if (p[i] != '\\') {
				*t++ = (char)p[i++];
				continue;
			}
			i++;
			if (i < len && p[i] == '\\') {
				*t++ = '\\';
				i++;
			} else if (i + 2 < len && p[i] >= '0' && p[i] <= '3' && p[i + 1] >= '0' &&
			           p[i + 1] <= '7' && p[i + 2] >= '0' && p[i + 2] <= '7') {
				*t++ = (char)(((p[i] - '0') << 6) | ((p[i + 1] - '0') << 3) |
				              (p[i + 2] - '0'));
				i += 3;
			}
		}
	}
	*t = '\0';
	ZSTR_LEN(out) = (size_t)(t - ZSTR_VAL(out));
	return out;
}

/* ---- SQL scanning ---- */

/* Words the scanner looks for, each with its first letter (for the filter below). top: the flag
 * a word sets in the statement's own text (outside literals and comments, or as a quoted name:
 * "pg_advisory_lock"(1)); body: the flag it sets in a body that runs statements the text does
 * not show (DO blocks, see body_words). X(a, letter, word, top, body). */
#define SQL_WORDS(X, a)                                                                            \
	X(a, 'i', "insert", PGPOOL_W_INSERT, 0)                                                    \
	X(a, 'n', "nextval", PGPOOL_W_SEQFUNC, 0)                                                  \
	X(a, 's', "setval", PGPOOL_W_SEQFUNC, 0)                                                   \
	X(a, 't', "temp", PGPOOL_W_TEMP, PGPOOL_W_SESSION)                                         \
	X(a, 't', "temporary", PGPOOL_W_TEMP, PGPOOL_W_SESSION)                                    \
	/* CREATE TABLE pg_temp.t, CREATE VIEW pg_temp_3.v: temporary without the keyword. */      \
	X(a, 'p', "pg_temp", PGPOOL_W_TEMP, PGPOOL_W_SESSION)                                      \
	X(a, 'i', "into", PGPOOL_W_INTO, 0)                                                        \
	X(a, 'c', "create", PGPOOL_W_CREATE, 0)                                                    \
	/* Every session-level (non-xact) advisory lock function. */                               \
	X(a, 'p', "pg_advisory_lock", PGPOOL_W_ADVLOCK, PGPOOL_W_ADVLOCK)                          \
	X(a, 'p', "pg_advisory_lock_shared", PGPOOL_W_ADVLOCK, PGPOOL_W_ADVLOCK)                   \
	X(a, 'p', "pg_try_advisory_lock", PGPOOL_W_ADVLOCK, PGPOOL_W_ADVLOCK)                      \
	X(a, 'p', "pg_try_advisory_lock_shared", PGPOOL_W_ADVLOCK, PGPOOL_W_ADVLOCK)               \
	X(a, 's', "set_config", PGPOOL_W_SETCONFIG, PGPOOL_W_SETCONFIG)                            \
	X(a, 'h', "hold", PGPOOL_W_HOLD, PGPOOL_W_SESSION)                                         \
	X(a, 'd', "deallocate", PGPOOL_W_DEALLOC, 0)                                               \
	X(a, 'd', "discard", PGPOOL_W_DEALLOC, 0)                                                  \
	/* In a statement's own text these come back as command tags (SET, RESET, LISTEN,          \
	 * PREPARE, LOAD); a DO block's EXECUTE of them does not. SET is body_words' own case. */  \
	X(a, 'r', "reset", 0, PGPOOL_W_SESSION)                                                    \
	X(a, 'l', "listen", 0, PGPOOL_W_SESSION)                                                   \
	X(a, 'p', "prepare", 0, PGPOOL_W_SESSION)                                                  \
	X(a, 'l', "load", 0, PGPOOL_W_SESSION)                                                     \
	X(a, 'p', "pg_settings", PGPOOL_W_SETTINGS, PGPOOL_W_SESSION)                              \
	/* Transaction control: where several statements go in one Query, the block may still be   \
	 * open after it (pgpool_exec.c's lastval() capture must not run in it). */                \
	X(a, 'b', "begin", PGPOOL_W_TXNCTL, 0)                                                     \
	X(a, 's', "start", PGPOOL_W_TXNCTL, 0)                                                     \
	X(a, 'c', "commit", PGPOOL_W_TXNCTL, 0)                                                    \
	X(a, 'e', "end", PGPOOL_W_TXNCTL, 0)                                                       \
	X(a, 'r', "rollback", PGPOOL_W_TXNCTL, 0)                                                  \
	X(a, 'a', "abort", PGPOOL_W_TXNCTL, 0)                                                     \
	X(a, 's', "savepoint", PGPOOL_W_TXNCTL, 0)

#define SQL_WORD_ENTRY(a, l, w, top, body) {w, sizeof(w) - 1, top, body},
static const struct sql_word {
	const char *word;
	size_t len;
	uint32_t top, body;
} sql_words[] = {SQL_WORDS(SQL_WORD_ENTRY, 0)};

/* Per first letter, the lengths of the words with a top (body) flag that start with it, one bit
 * per length (every word is shorter than 32): nearly every identifier stops at this test, which
 * keeps the scan of common statements as cheap as a scan that looks for nothing. */
#define SQL_TOP_LEN(a, l, w, top, body)  | ((l) == (a) && (top) ? 1u << (sizeof(w) - 1) : 0u)
#define SQL_BODY_LEN(a, l, w, top, body) | ((l) == (a) && (body) ? 1u << (sizeof(w) - 1) : 0u)
#define SQL_LEN1(X, a)                   (0u SQL_WORDS(X, a))
#define SQL_LENGTHS(X)                                                                             \
	{                                                                                          \
		SQL_LEN1(X, 'a'), SQL_LEN1(X, 'b'), SQL_LEN1(X, 'c'), SQL_LEN1(X, 'd'),            \
		    SQL_LEN1(X, 'e'), SQL_LEN1(X, 'f'), SQL_LEN1(X, 'g'), SQL_LEN1(X, 'h'),        \
		    SQL_LEN1(X, 'i'), SQL_LEN1(X, 'j'), SQL_LEN1(X, 'k'), SQL_LEN1(X, 'l'),        \
		    SQL_LEN1(X, 'm'), SQL_LEN1(X, 'n'), SQL_LEN1(X, 'o'), SQL_LEN1(X, 'p'),        \
		    SQL_LEN1(X, 'q'), SQL_LEN1(X, 'r'), SQL_LEN1(X, 's'), SQL_LEN1(X, 't'),        \
		    SQL_LEN1(X, 'u'), SQL_LEN1(X, 'v'), SQL_LEN1(X, 'w'), SQL_LEN1(X, 'x'),        \
		    SQL_LEN1(X, 'y'), SQL_LEN1(X, 'z'),                                            \
	}
static const uint32_t sql_top_lengths[26] = SQL_LENGTHS(SQL_TOP_LEN);
static const uint32_t sql_body_lengths[26] = SQL_LENGTHS(SQL_BODY_LEN);

static bool ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool ident_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* The entry for the word w (n bytes) if lengths (sql_top_lengths or sql_body_lengths) say a
 * word of its first letter has its length, else NULL. pg_temp_N (the session's temporary
 * schema by its real name) is pg_temp. The first test is inline: most words stop there. */
static const struct sql_word *word_find(const char *w, size_t n, const uint32_t *lengths)
{
	size_t i;

	if (n > 8 && strncasecmp(w, "pg_temp_", 8) == 0) {
		for (i = 8; i < n && w[i] >= '0' && w[i] <= '9'; i++)
			;
		if (i == n)
			n = 7;
	}
	if (n >= 32 || !(lengths[(w[0] | 0x20) - 'a'] & (1u << n)))
		return NULL;
	for (i = 0; i < PGP_ARRAY_LEN(sql_words); i++) {
		if (sql_words[i].len == n && sql_words[i].word[0] == (w[0] | 0x20) &&
		    strncasecmp(sql_words[i].word, w, n) == 0)
			return &sql_words[i];
	}
	return NULL;
}

static inline const struct sql_word *word_lookup(const char *w, size_t n, const uint32_t *lengths)
{
	unsigned letter = ((unsigned char)w[0] | 0x20) - 'a';

	if (letter >= 26 || lengths[letter] == 0 ||
	    (n < 32 && !(lengths[letter] & (1u << n)) && !(letter == 'p' - 'a' && n > 8)))
		return NULL;
	return word_find(w, n, lengths);
}

/* Is p (right after the word set_config) a call whose last argument is literally true, i.e.
 * a setting local to the transaction that ends with it (no reason to pin the lease)? */
static bool set_config_local(const char *p, const char *end)
{
	const char *arg = NULL, *last;
	unsigned depth = 0;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (p >= end || *p != '(')
		return false;
	for (; p < end; p++) {
		if (*p == '\'' || *p == '"') {
			char q = *p;

			for (p++; p < end && *p != q; p++)
				;
			if (p >= end)
				return false;
			continue;
		}
		if (*p == '(') {
			if (depth++ == 0)
				arg = p + 1;
		} else if (*p == ',' && depth == 1) {
			arg = p + 1;
		} else if (*p == ')' && --depth == 0) {
			break;
		}
	}
	if (p >= end || arg == NULL)
		return false;
	for (last = p; arg < last && strchr(" \t\r\n", *arg) != NULL; arg++)
		;
	while (last > arg && strchr(" \t\r\n", last[-1]) != NULL)
		last--;
	n = (size_t)(last - arg);
	return (n == 4 && strncasecmp(arg, "true", 4) == 0) ||
	       (n == 6 && strncasecmp(arg, "'true'", 6) == 0) ||
	       (n == 3 && strncasecmp(arg, "'t'", 3) == 0) ||
	       (n == 4 && strncasecmp(arg, "'on'", 4) == 0);
}

/* A word of the statement's own text (or a quoted name, then nword is past the second); p is
 * right after it. */
static void note_word(pgpool_sql_info *info, const char *w, size_t n, unsigned nword, const char *p,
                      const char *end)
{
	const struct sql_word *e;
	size_t i;
	char *dst = nword == 0 ? info->first : nword == 1 ? info->second : NULL;

	if (dst != NULL && n < sizeof(info->first)) {
		for (i = 0; i < n; i++)
			dst[i] = (char)toupper((unsigned char)w[i]);
		dst[n] = '\0';
	}
	e = word_lookup(w, n, sql_top_lengths);
	if (e == NULL || e->top == 0)
		return;
	/* set_config(name, value, true) lasts until the transaction ends: no pin, but the
	 * statements parsed after it in the transaction see it (pgpool_exec.c's statement key). */
	if (e->top == PGPOOL_W_SETCONFIG && set_config_local(p, end)) {
		info->words |= PGPOOL_W_SETLOCAL;
		return;
	}
	/* UPDATE pg_settings SET setting = ... is SET by another name; reading it is nothing. */
	if (e->top == PGPOOL_W_SETTINGS) {
		if (strcmp(info->first, "SELECT") != 0)
			info->words |= PGPOOL_W_SESSION;
		return;
	}
	info->words |= e->top;
}

/* What a body that runs statements of its own (a DO block's, a function's being created, or a
 * string a DO block is given) says about session state. Nothing in it shows in the command
 * tags, and it may EXECUTE statements from strings, so it is read as a plain list of words,
 * quotes and all: `EXECUTE 'SET ROLE x'` counts. It errs on the side of pinning (a DO block's
 * UPDATE ... SET pins too): a false alarm costs pooling for one handle, a miss leaks state.
 * Text built at run time ('SE' || 'T', format('%s', ...)) and the bodies of functions a
 * statement calls are out of its sight (COMPATIBILITY.md). */
static uint32_t body_words(const char *p, const char *end)
{
	const struct sql_word *e;
	const char *w;
	uint32_t words = 0;
	bool set = false;
	size_t n;

	while (p < end) {
		/* '$' ends a word here: $x$SET ROLE a$x$ is a quoted statement */
		if (!ident_start((unsigned char)*p) && !(*p >= '0' && *p <= '9')) {
			p++;
			continue;
		}
		for (w = p; p < end && (ident_start((unsigned char)*p) || (*p >= '0' && *p <= '9'));
		     p++)
			;
		n = (size_t)(p - w);
		if (set) {
			/* SET LOCAL and SET TRANSACTION end with the transaction. */
			set = false;
			if (!(n == 5 && strncasecmp(w, "local", 5) == 0) &&
			    !(n == 11 && strncasecmp(w, "transaction", 11) == 0))
				words |= PGPOOL_W_SESSION;
		}
		if (n == 3 && strncasecmp(w, "set", 3) == 0) {
			set = true;
			continue;
		}
		e = word_lookup(w, n, sql_body_lengths);
		if (e == NULL || e->body == 0)
			continue;
		if (e->body == PGPOOL_W_SETCONFIG && set_config_local(p, end))
			continue;
		words |= e->body;
	}
	return set ? words | PGPOOL_W_SESSION : words;
}

/* Does literal text (a string or a function body) mention deallocate or discard? A function
 * can EXECUTE them, where no command tag tells. */
static bool literal_deallocates(const char *p, const char *end)
{
	for (; p + 7 <= end; p++) {
		if ((*p | 0x20) != 'd')
			continue;
		if ((p + 10 <= end && strncasecmp(p, "deallocate", 10) == 0) ||
		    strncasecmp(p, "discard", 7) == 0)
			return true;
	}
	return false;
}

/* Length of a dollar-quote tag ("$tag$" or "$$") at p, 0 if p does not start one. */
static size_t dollar_tag(const char *p, const char *end)
{
	const char *q = p + 1;

	if (q < end && *q == '$')
		return 2;
	if (q >= end || !ident_start((unsigned char)*q) || (unsigned char)*q >= 0x80)
		return 0;
	while (q < end && (ident_char((unsigned char)*q) && *q != '$'))
		q++;
	return (q < end && *q == '$') ? (size_t)(q - p + 1) : 0;
}

void pgpool_sql_scan(const char *sql, size_t len, pgpool_sql_info *info)
{
	const char *p = sql, *end = sql + len, *w;
	unsigned nword = 0, depth, sword = 0;
	bool ended = false, escapes, is_do = false;
	size_t tag;

	memset(info, 0, sizeof(*info));
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			p++;
		} else if (c == '-' && p + 1 < end && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
		} else if (c == '/' && p + 1 < end && p[1] == '*') {
			for (depth = 1, p += 2; p < end && depth > 0; p++) {
				if (*p == '/' && p + 1 < end && p[1] == '*')
					depth++, p++;
				else if (*p == '*' && p + 1 < end && p[1] == '/')
					depth--, p++;
			}
		} else if (c == ';') {
			ended = nword > 0;
			sword = 0;
			is_do = false;
			p++;
		} else {
			if (ended)
				info->multi = true;
			if (c == '\'' || c == '"') {
				escapes = c == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e');
				w = p;
				for (p++; p < end; p++) {
					if (escapes && *p == '\\' && p + 1 < end) {
						p++;
					} else if ((unsigned char)*p == c) {
						if (p + 1 < end && (unsigned char)p[1] == c)
							p++;
						else
							break;
					}
				}
				if (c == '\'' && literal_deallocates(w, p))
					info->words |= PGPOOL_W_DEALLOC;
				/* DO 'BEGIN ... END': the body of a DO block as a string. */
				if (c == '\'' && is_do)
					info->words |= body_words(w + 1, p);
				/* "pg_temp".t, "pg_advisory_lock"(1): the same names quoted. A
				 * quoted identifier is never a keyword: only the names among
				 * the words (pg_..., set_config, nextval, setval) count. */
				if (c == '"' && p - w > 1 &&
				    ((w[1] | 0x20) == 'p' || (w[1] | 0x20) == 's' ||
				     (w[1] | 0x20) == 'n'))
					note_word(info, w + 1, (size_t)(p - w - 1), 2,
					          p < end ? p + 1 : end, end);
				if (p < end)
					p++;
			} else if (c == '$' && (tag = dollar_tag(p, end)) != 0) {
				w = p;
				for (p += tag; p + tag <= end && memcmp(p, w, tag) != 0; p++)
					;
				if (literal_deallocates(w + tag, p))
					info->words |= PGPOOL_W_DEALLOC;
				/* A DO block's or a function's body: read for session state,
				 * whatever the statement (cheap: common statements have none). */
				info->words |= body_words(w + tag, p + tag <= end ? p : end);
				p = p + tag <= end ? p + tag : end;
			} else if (ident_start(c)) {
				w = p;
				while (p < end && ident_char((unsigned char)*p))
					p++;
				if (sword++ == 0)
					is_do = p - w == 2 && strncasecmp(w, "do", 2) == 0;
				/* E'...' escape strings: the quote right after is handled above. */
				note_word(info, w, (size_t)(p - w), nword++, p, end);
			} else {
				if (nword == 0)
					nword = 2; /* the statement does not start with a keyword */
				p++;
			}
		}
	}
}
