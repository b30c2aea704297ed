/*
 * admin_out.c: records of cells rendered as JSON or text (see admin_out.h).
 */
#include "admin_out.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqsrv.h"

enum cell_kind {
	CELL_STR,  /* quoted in JSON, left-aligned in tables */
	CELL_NUM,  /* a number as text, right-aligned */
	CELL_BOOL, /* true / false */
	CELL_NULL, /* JSON null, "-" in text */
};

struct admin_cell {
	char *key;
	char *val;
	enum cell_kind kind;
	unsigned flags;
};

struct admin_rec {
	struct admin_cell *cells;
	uint32_t n, cap;
};

void out_init(struct admin_out *o, bool json, bool list)
{
	memset(o, 0, sizeof(*o));
	o->json = json;
	o->list = list;
}

void out_free(struct admin_out *o)
{
	for (uint32_t i = 0; i < o->nrecs; i++) {
		for (uint32_t j = 0; j < o->recs[i].n; j++) {
			free(o->recs[i].cells[j].key);
			free(o->recs[i].cells[j].val);
		}
		free(o->recs[i].cells);
	}
	free(o->recs);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

void out_record(struct admin_out *o)
{
	if (o->nrecs == o->cap) {
		uint32_t cap = o->cap ? o->cap * 2 : 16;
		struct admin_rec *r = realloc(o->recs, cap * sizeof(*r));
		if (!r) {
			o->oom = true;
			return;
		}
		o->recs = r;
		o->cap = cap;
	}
	memset(&o->recs[o->nrecs++], 0, sizeof(struct admin_rec));
}

static void out_cell(struct admin_out *o, const char *key, char *val, enum cell_kind kind,
                     unsigned flags)
{
	struct admin_rec *r;
	char *k = strdup(key);

	if (!val || !k || (o->nrecs == 0 && (out_record(o), o->nrecs == 0))) {
		free(val);
		free(k);
		o->oom = true;
		return;
	}
	r = &o->recs[o->nrecs - 1];
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		struct admin_cell *c = realloc(r->cells, cap * sizeof(*c));
		if (!c) {
			free(val);
			free(k);
			o->oom = true;
			return;
		}
		r->cells = c;
		r->cap = cap;
	}
	r->cells[r->n++] = (struct admin_cell){k, val, kind, flags};
}

static char *out_vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

static char *out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *out_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = out_vfmt(fmt, ap);
	va_end(ap);
	return s;
}

void out_str(struct admin_out *o, const char *key, const char *value, unsigned flags)
{
	if (!value) {
		out_null(o, key, flags);
		return;
	}
	out_cell(o, key, strdup(value), CELL_STR, flags);
}

void out_u64(struct admin_out *o, const char *key, uint64_t value, unsigned flags)
{
	out_cell(o, key, out_fmt("%" PRIu64, value), CELL_NUM, flags);
}

void out_i64(struct admin_out *o, const char *key, int64_t value, unsigned flags)
{
	out_cell(o, key, out_fmt("%" PRId64, value), CELL_NUM, flags);
}

void out_secs(struct admin_out *o, const char *key, double value, unsigned flags)
{
	out_cell(o, key, out_fmt("%.3f", value), CELL_NUM, flags);
}

void out_bool(struct admin_out *o, const char *key, bool value, unsigned flags)
{
	out_cell(o, key, strdup(value ? "true" : "false"), CELL_BOOL, flags);
}

void out_null(struct admin_out *o, const char *key, unsigned flags)
{
	out_cell(o, key, strdup("null"), CELL_NULL, flags);
}

void out_message(struct admin_out *o, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = out_vfmt(fmt, ap);
	va_end(ap);
	free(o->message);
	o->message = s;
	if (!s)
		o->oom = true;
}

int out_json_string(pgp_buf *b, const char *s)
{
	if (reqsrv_printf(b, "\"") < 0)
		return -ENOMEM;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		int rc;
		if (*c == '"' || *c == '\\')
			rc = reqsrv_printf(b, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			rc = reqsrv_printf(b, "\\u%04x", *c);
		else
			rc = pgp_buf_append(b, c, 1);
		if (rc < 0)
			return -ENOMEM;
	}
	return reqsrv_printf(b, "\"") < 0 ? -ENOMEM : 0;
}

static int out_json_rec(const struct admin_rec *r, pgp_buf *b)
{
	if (reqsrv_printf(b, "{") < 0)
		return -ENOMEM;
	for (uint32_t j = 0; j < r->n; j++) {
		const struct admin_cell *c = &r->cells[j];
		if ((j && reqsrv_printf(b, ", ") < 0) || out_json_string(b, c->key) < 0 ||
		    reqsrv_printf(b, ": ") < 0)
			return -ENOMEM;
		if (c->kind == CELL_STR ? out_json_string(b, c->val) < 0
		                        : reqsrv_printf(b, "%s", c->val) < 0)
			return -ENOMEM;
	}
	return reqsrv_printf(b, "}") < 0 ? -ENOMEM : 0;
}

static int out_render_json(const struct admin_out *o, pgp_buf *b)
{
	if (o->message) {
		if (reqsrv_printf(b, "{\"ok\": true, \"message\": ") < 0 ||
		    out_json_string(b, o->message) < 0 || reqsrv_printf(b, "}\n") < 0)
			return -ENOMEM;
		return 0;
	}
	if (!o->list) {
		static const struct admin_rec empty;
		if (out_json_rec(o->nrecs ? &o->recs[0] : &empty, b) < 0)
			return -ENOMEM;
		return reqsrv_printf(b, "\n") < 0 ? -ENOMEM : 0;
	}
	if (reqsrv_printf(b, "[") < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < o->nrecs; i++) {
		if (reqsrv_printf(b, i ? ",\n " : "") < 0 || out_json_rec(&o->recs[i], b) < 0)
			return -ENOMEM;
	}
	return reqsrv_printf(b, "]\n") < 0 ? -ENOMEM : 0;
}

/* Text cell: what people read ("-" for null; strings keep their control characters out). */
static const char *out_text_val(const struct admin_cell *c)
{
	return c->kind == CELL_NULL ? "-" : c->val;
}

static int out_render_record_text(const struct admin_rec *r, pgp_buf *b)
{
	size_t w = 0;

	for (uint32_t j = 0; j < r->n; j++) {
		size_t k = strlen(r->cells[j].key);
		w = k > w ? k : w;
	}
	for (uint32_t j = 0; j < r->n; j++) {
		const char *k = r->cells[j].key;
		if (reqsrv_printf(b, "%s:%*s  %s\n", k, (int)(w - strlen(k)), "",
		                  out_text_val(&r->cells[j])) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int out_render_table(const struct admin_out *o, pgp_buf *b)
{
	const struct admin_rec *first = o->nrecs ? &o->recs[0] : NULL;
	size_t width[64] = {0};
	bool num[64] = {false}; /* a column of numbers: right-aligned */
	uint32_t ncols;

	if (!first)
		return reqsrv_printf(b, "(none)\n") < 0 ? -ENOMEM : 0;
	ncols = first->n < 64 ? first->n : 64;
	/* Every record of a list has the same cells in the same order (one code path builds
	 * them); width by column index. */
	for (uint32_t j = 0; j < ncols; j++)
		width[j] = strlen(first->cells[j].key);
	for (uint32_t i = 0; i < o->nrecs; i++) {
		for (uint32_t j = 0; j < ncols && j < o->recs[i].n; j++) {
			size_t l = strlen(out_text_val(&o->recs[i].cells[j]));
			width[j] = l > width[j] ? l : width[j];
			num[j] = num[j] || o->recs[i].cells[j].kind == CELL_NUM;
		}
	}
	for (int row = -1; row < (int)o->nrecs; row++) {
		const struct admin_rec *r = row < 0 ? first : &o->recs[row];
		bool sep = false;
		for (uint32_t j = 0; j < ncols && j < r->n; j++) {
			const struct admin_cell *c = &r->cells[j];
			int rc;
			if (!(first->cells[j].flags & OUT_TEXT))
				continue;
			if (row < 0) {
				char head[64];
				size_t k;
				for (k = 0; k < sizeof(head) - 1 && c->key[k]; k++)
					head[k] = (char)toupper((unsigned char)c->key[k]);
				head[k] = '\0';
				rc = reqsrv_printf(b, "%s%*s", sep ? "  " : "",
				                   num[j] ? (int)width[j] : -(int)width[j], head);
			} else {
				rc = reqsrv_printf(b, "%s%*s", sep ? "  " : "",
				                   num[j] ? (int)width[j] : -(int)width[j],
				                   out_text_val(c));
			}
			if (rc < 0)
				return -ENOMEM;
			sep = true;
		}
		/* no trailing blanks */
		while (b->len > 0 && b->data[b->len - 1] == ' ')
			b->len--;
		if (reqsrv_printf(b, "\n") < 0)
			return -ENOMEM;
	}
	return 0;
}

int out_render(const struct admin_out *o, pgp_buf *b)
{
	if (o->oom)
		return -ENOMEM;
	if (o->json)
		return out_render_json(o, b);
	if (o->message)
		return reqsrv_printf(b, "%s\n", o->message) < 0 ? -ENOMEM : 0;
	if (!o->list)
		return o->nrecs ? out_render_record_text(&o->recs[0], b) : 0;
	return out_render_table(o, b);
}
