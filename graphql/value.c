/*
 * Values, errors and JSON text for the graphql module: property look-up on
 * struct gql_value (its constructors are inline in graphql.h), the error
 * list shared by validation and execution, its JSON form ({"message",
 * "locations","path","extensions"}) and a JSON string writer that always
 * emits valid UTF-8 (invalid input bytes become U+FFFD) whatever a resolver
 * hands back. Also the FNV-1a hash the document cache keys on.
 */
#include "graphql/gql_int.h"

const struct gql_value *gql_value_get(const struct gql_value *obj, const char *name)
{
	if (!obj || obj->kind != GQL_V_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->u.obj.n; i++)
		if (obj->u.obj.fields[i].name && strcmp(obj->u.obj.fields[i].name, name) == 0)
			return &obj->u.obj.fields[i].value;
	return NULL;
}

uint64_t gql__hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- JSON ---------------------------------------------------------------- */
/* ---- errors -------------------------------------------------------------- */
void gql__err_add(struct err_list *l, const char *code, const struct gql_loc *loc1,
		  const struct gql_loc *loc2, const char *fmt, ...)
{
	/* A hostile document can produce many errors: keep the first 100. */
	if (l->n >= 100)
		return;
	struct gql_err *e = arena_alloc(l->arena, sizeof *e);
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	e->message = arena_strdup(l->arena, msg);
	e->code = code;
	if (loc1)
		e->locs[e->n_locs++] = *loc1;
	if (loc2)
		e->locs[e->n_locs++] = *loc2;
	if (l->last)
		l->last->next = e;
	else
		l->first = e;
	l->last = e;
	l->n++;
}

static int path_json(const struct gql_path *p, struct buf *b)
{
	if (!p)
		return 0;
	if (p->parent) {
		if (path_json(p->parent, b) < 0 || buf_putc(b, ',') < 0)
			return -1;
	}
	if (p->key)
		return buf_json_strn(b, p->key, strlen(p->key));
	return buf_printf(b, "%zu", p->index);
}

int gql__errors_json(const struct err_list *l, struct buf *b)
{
	if (buf_putc(b, '[') < 0)
		return -1;
	for (const struct gql_err *e = l->first; e; e = e->next) {
		if (e != l->first && buf_putc(b, ',') < 0)
			return -1;
		if (buf_puts(b, "{\"message\":") < 0 ||
		    buf_json_strn(b, e->message, strlen(e->message)) < 0)
			return -1;
		if (e->n_locs) {
			if (buf_puts(b, ",\"locations\":[") < 0)
				return -1;
			for (int i = 0; i < e->n_locs; i++)
				if (buf_printf(b, "%s{\"line\":%d,\"column\":%d}", i ? "," : "",
					       e->locs[i].line, e->locs[i].col) < 0)
					return -1;
			if (buf_putc(b, ']') < 0)
				return -1;
		}
		if (e->path) {
			if (buf_puts(b, ",\"path\":[") < 0 || path_json(e->path, b) < 0 ||
			    buf_putc(b, ']') < 0)
				return -1;
		}
		if (e->code) {
			if (buf_puts(b, ",\"extensions\":{\"code\":") < 0 ||
			    buf_json_strn(b, e->code, strlen(e->code)) < 0 || buf_puts(b, "}") < 0)
				return -1;
		}
		if (buf_putc(b, '}') < 0)
			return -1;
	}
	return buf_putc(b, ']');
}
