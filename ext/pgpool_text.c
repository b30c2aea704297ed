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

#define SQL_WORD(w, f)                                                                             \
	{                                                                                          \
		w, sizeof(w) - 1, f                                                                \
	}
static const struct {
	const char *word;
	size_t len;
	uint32_t flag;
} sql_words[] = {
    SQL_WORD("insert", PGPOOL_W_INSERT),
    SQL_WORD("nextval", PGPOOL_W_SEQFUNC),
    SQL_WORD("setval", PGPOOL_W_SEQFUNC),
    SQL_WORD("temp", PGPOOL_W_TEMP),
    SQL_WORD("temporary", PGPOOL_W_TEMP),
    SQL_WORD("into", PGPOOL_W_INTO),
    SQL_WORD("pg_advisory_lock", PGPOOL_W_ADVLOCK),
    SQL_WORD("pg_advisory_lock_shared", PGPOOL_W_ADVLOCK),
    SQL_WORD("pg_try_advisory_lock", PGPOOL_W_ADVLOCK),
    SQL_WORD("pg_try_advisory_lock_shared", PGPOOL_W_ADVLOCK),
    SQL_WORD("set_config", PGPOOL_W_SETCONFIG),
    SQL_WORD("hold", PGPOOL_W_HOLD),
    SQL_WORD("deallocate", PGPOOL_W_DEALLOC),
    SQL_WORD("discard", PGPOOL_W_DEALLOC),
};

static bool ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool ident_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static void note_word(pgpool_sql_info *info, const char *w, size_t n, unsigned nword, bool plain)
{
	size_t i;
	char *dst = nword == 0 ? info->first : nword == 1 ? info->second : NULL;

	if (dst != NULL && n < sizeof(info->first)) {
		for (i = 0; i < n; i++)
			dst[i] = (char)toupper((unsigned char)w[i]);
		dst[n] = '\0';
	}
	/* Every word we look for starts with one of these letters: most identifiers stop here. */
	if (plain || strchr("dhinpstDHINPST", w[0]) == NULL)
		return;
	for (i = 0; i < PGP_ARRAY_LEN(sql_words); i++) {
		if (sql_words[i].len == n && strncasecmp(sql_words[i].word, w, n) == 0) {
			info->words |= sql_words[i].flag;
			break;
		}
	}
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
	unsigned nword = 0, depth;
	bool ended = false, escapes;
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
				if (p < end)
					p++;
			} else if (c == '$' && (tag = dollar_tag(p, end)) != 0) {
				w = p;
				for (p += tag; p + tag <= end && memcmp(p, w, tag) != 0; p++)
					;
				if (literal_deallocates(w + tag, p))
					info->words |= PGPOOL_W_DEALLOC;
				p = p + tag <= end ? p + tag : end;
			} else if (ident_start(c)) {
				w = p;
				while (p < end && ident_char((unsigned char)*p))
					p++;
				/* E'...' escape strings: the quote right after is handled above. */
				note_word(info, w, (size_t)(p - w), nword++,
				          p - w == 10 && strncasecmp(w, "set_config", 10) == 0 &&
				              set_config_local(p, end));
			} else {
				if (nword == 0)
					nword = 2; /* the statement does not start with a keyword */
				p++;
			}
		}
	}
}
