/*
 * Execution (spec section 6): variable and argument coercion, field
 * collection with @skip/@include, resolver calls, result coercion and null
 * propagation, serialised as JSON in field order.
 *
 * Execution is level-wise rather than one parent at a time: a selection set
 * is executed for all the objects of one level at once (every item of every
 * list at that depth), field by field. A batch resolver is therefore called
 * once per field per level, and a plain resolver once per parent. Fields run
 * strictly in document order, each completed (sub-tree included) before the
 * next starts, which is also what serial mutation execution requires.
 *
 * Results are built as a small tree in the request arena: a NULL node
 * pointer means "this position failed and must propagate null to the
 * nearest nullable parent" (spec 6.4.4); a node of kind RN_NULL is a plain
 * null. The AST (shared through the document cache) is only read here.
 */
#include "graphql/gql_int.h"

#include <cjson/cJSON.h>
#include <math.h>

enum rn_kind { RN_NULL, RN_RAW, RN_LIST, RN_OBJ };
struct robj;
struct rnode {
	enum rn_kind kind;
	size_t off, len;      /* RAW: JSON text at off in the execution's leaf buffer */
	struct rnode **items; /* LIST */
	size_t n;
	struct robj *obj; /* OBJ */
};

struct fgroup;
struct robj {
	size_t n;
	const struct fgroup **keys; /* each field's group: its response key */
	struct rnode **vals;
};

/* The fields sharing one response key within a selection set. */
struct fnode {
	struct ast_sel *sel;
	struct fnode *next;
};
struct fgroup {
	const char *key;
	char *jkey; /* "key": as written in the response */
	size_t jkey_len;
	struct fnode *first, *last;
	size_t n;
	struct fgroup *next;
};

struct item {
	const struct gql_value *v;
	struct gql_type *type;
	const struct gql_path *path;
	struct robj *obj;
	bool invalid;
};

struct cost_memo {
	const struct ast_fragment *f;
	bool paged;
	double cost;
	struct cost_memo *next;
};

struct gql_exec {
	const struct gql_schema *s;
	const struct gql_limits *lim;
	struct arena *a;
	struct err_list errs;
	struct ast_doc *doc;
	struct ast_op *op;
	struct gql_value vars; /* OBJECT of coerced variables */
	void *ctx;
	/* Last gql_fail(). */
	const char *fail_msg;
	const char *fail_code;
	struct cost_memo *memo;
	size_t n_frags;     /* fragment definitions in the document */
	struct buf *leaves; /* the JSON text of every leaf value, back to back */
	bool too_large;     /* the leaves outgrew the response limit */
};

struct sel_info {
	const struct fgroup *fg;
	struct gql_exec *x;
	const struct fgroup *siblings; /* the parent selection set's fields; may be NULL */
};

const struct gql_schema *gql__exec_schema(struct gql_exec *x)
{
	return x->s;
}

void gql_limits_default(struct gql_limits *l)
{
	l->max_document_bytes = 65536;
	l->max_tokens = 10000;
	l->max_depth = 20;
	l->max_aliases = 50;
	l->max_cost = 100000;
	l->default_list_size = 20;
	l->max_response_bytes = (size_t)64 << 20;
}

/* ---- resolver helpers ----------------------------------------------------- */
void *gql_alloc(struct gql_exec *x, size_t n)
{
	return arena_alloc(x->a, n);
}

char *gql_strdup(struct gql_exec *x, const char *s)
{
	return arena_strdup(x->a, s);
}

struct gql_value gql_list_new(struct gql_exec *x, size_t n)
{
	struct gql_value v = {.kind = GQL_V_LIST};
	v.u.list.items = arena_alloc(x->a, (n ? n : 1) * sizeof(struct gql_value));
	v.u.list.n = n;
	return v;
}

struct gql_value gql_object_new(struct gql_exec *x, size_t n)
{
	struct gql_value v = {.kind = GQL_V_OBJECT};
	v.u.obj.fields = arena_alloc(x->a, (n ? n : 1) * sizeof(struct gql_field_value));
	v.u.obj.n = n;
	return v;
}

void gql_fail(const struct gql_resolve_info *info, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	info->exec->fail_msg = arena_strdup(info->exec->a, msg);
	info->exec->fail_code = code ? arena_strdup(info->exec->a, code) : NULL;
}

struct gql_value gql_error(struct gql_exec *x, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct gql_value v = {.kind = GQL_V_ERROR};
	v.u.err.message = arena_strdup(x->a, msg);
	v.u.err.code = code ? arena_strdup(x->a, code) : NULL;
	return v;
}

const struct gql_value *gql_arg(const struct gql_resolve_info *info, const char *name)
{
	return gql_value_get(info->args, name);
}

int64_t gql_arg_int(const struct gql_resolve_info *info, const char *name, int64_t dflt)
{
	const struct gql_value *v = gql_arg(info, name);
	return (v && v->kind == GQL_V_INT) ? v->u.i : dflt;
}

const char *gql_arg_str(const struct gql_resolve_info *info, const char *name)
{
	const struct gql_value *v = gql_arg(info, name);
	if (!v || (v->kind != GQL_V_STRING && v->kind != GQL_V_ENUM))
		return NULL;
	return v->u.str.s;
}

/* ---- variables and @skip/@include ----------------------------------------- */
static const struct gql_value *var_get(struct gql_exec *x, const char *name)
{
	return gql_value_get(&x->vars, name);
}

static bool included(struct gql_exec *x, const struct ast_directive *dirs)
{
	for (const struct ast_directive *d = dirs; d; d = d->next) {
		bool skip = strcmp(d->name, "skip") == 0;
		if (!skip && strcmp(d->name, "include") != 0)
			continue;
		bool cond = false;
		for (const struct ast_arg *a = d->args; a; a = a->next) {
			if (strcmp(a->name, "if") != 0)
				continue;
			if (a->value->kind == V_BOOL) {
				cond = a->value->b;
			} else if (a->value->kind == V_VAR) {
				const struct gql_value *v = var_get(x, a->value->str);
				cond = v && v->kind == GQL_V_BOOL && v->u.b;
			}
		}
		if (skip == cond)
			return false;
	}
	return true;
}

/* ---- input coercion -------------------------------------------------------- */
struct cerr {
	char msg[300];
};

static int cfail(struct cerr *e, const char *fmt, ...) JS_PRINTF(2, 3);
static int cfail(struct cerr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *tname(struct gql_exec *x, const struct tref *t)
{
	struct buf b = BUF_INIT;
	const char *r = "?";
	if (gql__tref_str(t, &b) == 0)
		r = arena_strndup(x->a, b.data, b.len);
	buf_release(&b);
	return r;
}

static int coerce_input(struct gql_exec *x, const struct gql_value *in, const struct tref *t,
			struct gql_value *out, struct cerr *e, int depth);
static int coerce_literal(struct gql_exec *x, const struct ast_value *v, const struct tref *t,
			  struct gql_value *out, struct cerr *e, int depth);

static int coerce_scalar(struct gql_exec *x, const struct gql_value *in, const struct gql_type *t,
			 struct gql_value *out, struct cerr *e)
{
	const char *n = t->name;
	if (t->kind == GQL_ENUM) {
		if (in->kind == GQL_V_STRING || in->kind == GQL_V_ENUM) {
			for (size_t i = 0; i < t->n_values; i++)
				if (strlen(t->values[i].name) == in->u.str.len &&
				    memcmp(t->values[i].name, in->u.str.s, in->u.str.len) == 0) {
					*out = gql_enum(t->values[i].name);
					return 0;
				}
		}
		return cfail(e, "Value is not a valid %s enum value", n);
	}
	if (!strcmp(n, "Int")) {
		if (in->kind == GQL_V_INT && in->u.i >= INT32_MIN && in->u.i <= INT32_MAX) {
			*out = *in;
			return 0;
		}
		return cfail(e, "Int cannot represent a non 32-bit signed integer value");
	}
	if (!strcmp(n, "Float")) {
		if (in->kind == GQL_V_INT) {
			*out = gql_float((double)in->u.i);
			return 0;
		}
		if (in->kind == GQL_V_FLOAT && isfinite(in->u.f)) {
			*out = *in;
			return 0;
		}
		return cfail(e, "Float cannot represent a non numeric value");
	}
	if (!strcmp(n, "String")) {
		if (in->kind == GQL_V_STRING) {
			*out = *in;
			return 0;
		}
		return cfail(e, "String cannot represent a non string value");
	}
	if (!strcmp(n, "Boolean")) {
		if (in->kind == GQL_V_BOOL) {
			*out = *in;
			return 0;
		}
		return cfail(e, "Boolean cannot represent a non boolean value");
	}
	if (!strcmp(n, "ID")) {
		if (in->kind == GQL_V_STRING) {
			*out = *in;
			return 0;
		}
		if (in->kind == GQL_V_INT) {
			char b[24];
			*out = gql_string(gql_strdup(x, fmt_i64(b, in->u.i)));
			return 0;
		}
		return cfail(e, "ID cannot represent a non-string and non-integer value");
	}
	/* Custom scalars: passed through as given. */
	*out = *in;
	return 0;
}

static int coerce_input(struct gql_exec *x, const struct gql_value *in, const struct tref *t,
			struct gql_value *out, struct cerr *e, int depth)
{
	if (depth > 64)
		return cfail(e, "value nested too deeply");
	if (t->kind == TR_NONNULL) {
		if (in->kind == GQL_V_NULL)
			return cfail(e, "Expected non-nullable type \"%s\" not to be null",
				     tname(x, t));
		return coerce_input(x, in, t->of, out, e, depth + 1);
	}
	if (in->kind == GQL_V_NULL) {
		*out = gql_null();
		return 0;
	}
	if (t->kind == TR_LIST) {
		if (in->kind != GQL_V_LIST) {
			struct gql_value one;
			if (coerce_input(x, in, t->of, &one, e, depth + 1) < 0)
				return -1;
			*out = gql_list_new(x, 1);
			out->u.list.items[0] = one;
			return 0;
		}
		*out = gql_list_new(x, in->u.list.n);
		for (size_t i = 0; i < in->u.list.n; i++)
			if (coerce_input(x, &in->u.list.items[i], t->of, &out->u.list.items[i], e,
					 depth + 1) < 0)
				return -1;
		return 0;
	}
	const struct gql_type *nt = t->type;
	if (nt->kind != GQL_INPUT_OBJECT)
		return coerce_scalar(x, in, nt, out, e);
	if (in->kind != GQL_V_OBJECT)
		return cfail(e, "Expected type \"%s\" to be an object", nt->name);
	for (size_t i = 0; i < in->u.obj.n; i++)
		if (!gql__find_input(nt->inputs, nt->n_inputs, in->u.obj.fields[i].name))
			return cfail(e, "Field \"%s\" is not defined by type \"%s\"",
				     in->u.obj.fields[i].name, nt->name);
	*out = gql_object_new(x, nt->n_inputs);
	size_t k = 0;
	for (size_t i = 0; i < nt->n_inputs; i++) {
		const struct gql_input_def *fd = &nt->inputs[i];
		const struct gql_value *fv = gql_value_get(in, fd->name);
		struct gql_value cv;
		if (!fv) {
			if (fd->defval) {
				if (coerce_literal(x, fd->defval, fd->type, &cv, e, depth + 1) < 0)
					return -1;
			} else if (fd->type->kind == TR_NONNULL) {
				return cfail(
					e, "Field \"%s\" of required type \"%s\" was not provided",
					fd->name, tname(x, fd->type));
			} else {
				continue;
			}
		} else if (coerce_input(x, fv, fd->type, &cv, e, depth + 1) < 0) {
			return -1;
		}
		out->u.obj.fields[k].name = fd->name;
		out->u.obj.fields[k].value = cv;
		k++;
	}
	out->u.obj.n = k;
	return 0;
}

/* A literal without a schema type (custom scalars): its natural value. */
static struct gql_value literal_plain(struct gql_exec *x, const struct ast_value *v, int depth)
{
	struct gql_value r = gql_null();
	if (depth > 64)
		return r;
	switch (v->kind) {
	case V_INT: {
		int64_t i;
		if (parse_i64(v->str, &i) == 0)
			return gql_int(i);
		return gql_float(strtod(v->str, NULL));
	}
	case V_FLOAT:
		return gql_float(strtod(v->str, NULL));
	case V_STRING:
		return gql_stringn(v->str, v->len);
	case V_BOOL:
		return gql_bool(v->b);
	case V_ENUM:
		return gql_enum(v->str);
	case V_VAR: {
		const struct gql_value *vv = var_get(x, v->str);
		return vv ? *vv : r;
	}
	case V_NULL:
		return r;
	case V_LIST: {
		size_t n = 0;
		for (const struct ast_value *it = v->items; it; it = it->next)
			n++;
		r = gql_list_new(x, n);
		n = 0;
		for (const struct ast_value *it = v->items; it; it = it->next)
			r.u.list.items[n++] = literal_plain(x, it, depth + 1);
		return r;
	}
	case V_OBJECT: {
		size_t n = 0;
		for (const struct ast_objfield *f = v->fields; f; f = f->next)
			n++;
		r = gql_object_new(x, n);
		n = 0;
		for (const struct ast_objfield *f = v->fields; f; f = f->next, n++) {
			r.u.obj.fields[n].name = f->name;
			r.u.obj.fields[n].value = literal_plain(x, f->value, depth + 1);
		}
		return r;
	}
	}
	return r;
}

/*
 * Coerce a literal (spec 5.6 / 6.4.2). Returns 1 when the literal is a
 * variable that was not provided (the caller treats it as absent).
 */
static int coerce_literal(struct gql_exec *x, const struct ast_value *v, const struct tref *t,
			  struct gql_value *out, struct cerr *e, int depth)
{
	if (depth > 64)
		return cfail(e, "value nested too deeply");
	if (v->kind == V_VAR) {
		const struct gql_value *vv = var_get(x, v->str);
		if (!vv)
			return 1;
		if (vv->kind == GQL_V_NULL && t->kind == TR_NONNULL)
			return cfail(e, "Expected non-nullable type \"%s\" not to be null",
				     tname(x, t));
		*out = *vv;
		return 0;
	}
	if (t->kind == TR_NONNULL) {
		if (v->kind == V_NULL)
			return cfail(e, "Expected non-nullable type \"%s\" not to be null",
				     tname(x, t));
		return coerce_literal(x, v, t->of, out, e, depth + 1);
	}
	if (v->kind == V_NULL) {
		*out = gql_null();
		return 0;
	}
	if (t->kind == TR_LIST) {
		if (v->kind != V_LIST) {
			struct gql_value one;
			int rc = coerce_literal(x, v, t->of, &one, e, depth + 1);
			if (rc < 0)
				return -1;
			*out = gql_list_new(x, 1);
			out->u.list.items[0] = rc == 1 ? gql_null() : one;
			return 0;
		}
		size_t n = 0;
		for (const struct ast_value *it = v->items; it; it = it->next)
			n++;
		*out = gql_list_new(x, n);
		n = 0;
		for (const struct ast_value *it = v->items; it; it = it->next, n++) {
			int rc = coerce_literal(x, it, t->of, &out->u.list.items[n], e, depth + 1);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				if (t->of->kind == TR_NONNULL)
					return cfail(
						e,
						"Expected non-nullable type \"%s\" not to be null",
						tname(x, t->of));
				out->u.list.items[n] = gql_null();
			}
		}
		return 0;
	}
	const struct gql_type *nt = t->type;
	if (nt->kind == GQL_INPUT_OBJECT) {
		if (v->kind != V_OBJECT)
			return cfail(e, "Expected type \"%s\" to be an object", nt->name);
		*out = gql_object_new(x, nt->n_inputs);
		size_t k = 0;
		for (size_t i = 0; i < nt->n_inputs; i++) {
			const struct gql_input_def *fd = &nt->inputs[i];
			const struct ast_objfield *f = v->fields;
			while (f && strcmp(f->name, fd->name) != 0)
				f = f->next;
			int rc = 1;
			struct gql_value cv;
			if (f) {
				rc = coerce_literal(x, f->value, fd->type, &cv, e, depth + 1);
				if (rc < 0)
					return -1;
			}
			if (rc == 1) {
				if (fd->defval) {
					if (coerce_literal(x, fd->defval, fd->type, &cv, e,
							   depth + 1) < 0)
						return -1;
				} else if (fd->type->kind == TR_NONNULL) {
					return cfail(
						e,
						"Field \"%s\" of required type \"%s\" was not provided",
						fd->name, tname(x, fd->type));
				} else {
					continue;
				}
			}
			out->u.obj.fields[k].name = fd->name;
			out->u.obj.fields[k].value = cv;
			k++;
		}
		out->u.obj.n = k;
		return 0;
	}
	struct gql_value in = gql_null();
	switch (v->kind) {
	case V_INT: {
		int64_t i;
		if (parse_i64(v->str, &i) < 0)
			return cfail(e, "Int cannot represent a non 32-bit signed integer value");
		in = gql_int(i);
		break;
	}
	case V_FLOAT:
		in = gql_float(strtod(v->str, NULL));
		break;
	case V_STRING:
		in = gql_stringn(v->str, v->len);
		break;
	case V_BOOL:
		in = gql_bool(v->b);
		break;
	case V_ENUM:
		in = gql_enum(v->str);
		if (nt->kind != GQL_ENUM && !strcmp(nt->name, "String"))
			return cfail(e, "String cannot represent a non string value");
		break;
	default:
		break;
	}
	if (nt->kind == GQL_SCALAR && !nt->builtin) {
		*out = literal_plain(x, v, depth + 1);
		return 0;
	}
	if (nt->kind == GQL_ENUM && v->kind != V_ENUM)
		return cfail(e, "Enum \"%s\" cannot represent non-enum value", nt->name);
	if (nt->kind != GQL_ENUM && v->kind == V_ENUM)
		return cfail(e, "%s cannot represent an enum value", nt->name);
	return coerce_scalar(x, &in, nt, out, e);
}

/* CoerceArgumentValues (6.4.1): an OBJECT of the present arguments. */
static int coerce_args(struct gql_exec *x, const struct ast_arg *args,
		       const struct gql_input_def *defs, size_t n_defs, struct gql_value *out,
		       struct cerr *e)
{
	*out = gql_object_new(x, n_defs);
	size_t k = 0;
	for (size_t i = 0; i < n_defs; i++) {
		const struct gql_input_def *d = &defs[i];
		const struct ast_arg *a = args;
		while (a && strcmp(a->name, d->name) != 0)
			a = a->next;
		struct gql_value v;
		int rc = 1;
		if (a) {
			rc = coerce_literal(x, a->value, d->type, &v, e, 0);
			if (rc < 0)
				return cfail(e, "Argument \"%s\" has invalid value: %.200s",
					     d->name, e->msg);
		}
		if (rc == 1) {
			if (d->defval) {
				if (coerce_literal(x, d->defval, d->type, &v, e, 0) < 0)
					return -1;
			} else if (d->type->kind == TR_NONNULL) {
				return cfail(
					e,
					"Argument \"%s\" of required type \"%s\" was not provided.",
					d->name, tname(x, d->type));
			} else {
				continue;
			}
		}
		out->u.obj.fields[k].name = d->name;
		out->u.obj.fields[k].value = v;
		k++;
	}
	out->u.obj.n = k;
	return 0;
}

/* cJSON -> gql_value in the request arena. */
static struct gql_value from_json(struct gql_exec *x, const cJSON *j, int depth)
{
	if (depth > 64 || !j || cJSON_IsNull(j))
		return gql_null();
	if (cJSON_IsBool(j))
		return gql_bool(cJSON_IsTrue(j));
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			return gql_int((int64_t)d);
		return gql_float(d);
	}
	if (cJSON_IsString(j))
		return gql_string(gql_strdup(x, j->valuestring));
	size_t n = 0;
	for (const cJSON *c = j->child; c; c = c->next)
		n++;
	if (cJSON_IsArray(j)) {
		struct gql_value v = gql_list_new(x, n);
		n = 0;
		for (const cJSON *c = j->child; c; c = c->next)
			v.u.list.items[n++] = from_json(x, c, depth + 1);
		return v;
	}
	struct gql_value v = gql_object_new(x, n);
	n = 0;
	for (const cJSON *c = j->child; c; c = c->next, n++) {
		v.u.obj.fields[n].name = gql_strdup(x, c->string);
		v.u.obj.fields[n].value = from_json(x, c, depth + 1);
	}
	return v;
}

/* CoerceVariableValues (6.4.1); errors are request errors. */
static int coerce_variables(struct gql_exec *x, const struct gql_value *given)
{
	size_t n = 0;
	for (const struct ast_vardef *v = x->op->vars; v; v = v->next)
		n++;
	x->vars = gql_object_new(x, n);
	size_t k = 0;
	int rc = 0;
	for (const struct ast_vardef *v = x->op->vars; v; v = v->next) {
		const struct gql_value *in = gql_value_get(given, v->name);
		struct gql_value out;
		struct cerr e;
		if (!in && v->defval) {
			if (coerce_literal(x, v->defval, v->type, &out, &e, 0) != 0) {
				gql__err_add(&x->errs, "BAD_USER_INPUT", &v->loc, NULL,
					     "Variable \"$%s\" has an invalid default value: %s",
					     v->name, e.msg);
				rc = -1;
				continue;
			}
		} else if (v->type->kind == TR_NONNULL && (!in || in->kind == GQL_V_NULL)) {
			gql__err_add(
				&x->errs, "BAD_USER_INPUT", &v->loc, NULL,
				in ? "Variable \"$%s\" of non-null type \"%s\" must not be null."
				   : "Variable \"$%s\" of required type \"%s\" was not provided.",
				v->name, tname(x, v->type));
			rc = -1;
			continue;
		} else if (!in) {
			continue;
		} else if (coerce_input(x, in, v->type, &out, &e, 0) < 0) {
			gql__err_add(&x->errs, "BAD_USER_INPUT", &v->loc, NULL,
				     "Variable \"$%s\" got invalid value; %s.", v->name, e.msg);
			rc = -1;
			continue;
		}
		x->vars.u.obj.fields[k].name = v->name;
		x->vars.u.obj.fields[k].value = out;
		k++;
	}
	x->vars.u.obj.n = k;
	return rc;
}

/* ---- field collection (6.3.2) ---------------------------------------------- */
static bool type_applies(const struct gql_type *obj, const struct gql_type *cond)
{
	return !cond || cond == obj || (cond->kind != GQL_OBJECT && gql__possible(cond, obj));
}

static void collect_fields(struct gql_exec *x, const struct gql_type *t,
			   const struct ast_selset *ss, struct fgroup **head, struct fgroup **tail,
			   const struct ast_fragment **visited, size_t *n_visited, int depth)
{
	if (!ss || depth > 256)
		return;
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (!included(x, sel->dirs))
			continue;
		if (sel->kind == SEL_FIELD) {
			const char *key = sel->alias ? sel->alias : sel->name;
			struct fgroup *g = *head;
			while (g && strcmp(g->key, key) != 0)
				g = g->next;
			if (!g) {
				g = arena_alloc(x->a, sizeof *g);
				g->key = key;
				/* Response keys are GraphQL names ([_A-Za-z][_0-9A-Za-z]*,
				 * the lexer allows nothing else): nothing to escape. */
				size_t kl = strlen(key);
				g->jkey = arena_alloc_raw(x->a, kl + 4);
				g->jkey[0] = '"';
				memcpy(g->jkey + 1, key, kl);
				memcpy(g->jkey + 1 + kl, "\":", 3);
				g->jkey_len = kl + 3;
				if (*tail)
					(*tail)->next = g;
				else
					*head = g;
				*tail = g;
			}
			struct fnode *fn = arena_alloc(x->a, sizeof *fn);
			fn->sel = sel;
			if (g->last)
				g->last->next = fn;
			else
				g->first = fn;
			g->last = fn;
			g->n++;
		} else if (sel->kind == SEL_INLINE) {
			if (type_applies(t, sel->cond_type))
				collect_fields(x, t, sel->selset, head, tail, visited, n_visited,
					       depth + 1);
		} else {
			const struct ast_fragment *f = sel->frag;
			bool seen = false;
			for (size_t i = 0; i < *n_visited; i++)
				seen |= visited[i] == f;
			if (seen || !f || !type_applies(t, f->type) || *n_visited >= x->n_frags)
				continue;
			visited[(*n_visited)++] = f;
			collect_fields(x, t, f->selset, head, tail, visited, n_visited, depth + 1);
		}
	}
}

/* Collect over the sub-selections of every field node of a group. */
static struct fgroup *collect_sub(struct gql_exec *x, const struct gql_type *t,
				  const struct fgroup *fg)
{
	struct fgroup *head = NULL, *tail = NULL;
	const struct ast_fragment **visited = arena_alloc(x->a, (x->n_frags + 1) * sizeof *visited);
	size_t n_visited = 0;
	for (const struct fnode *fn = fg->first; fn; fn = fn->next)
		collect_fields(x, t, fn->sel->selset, &head, &tail, visited, &n_visited, 0);
	return head;
}

/* ---- selection info for resolvers ------------------------------------------ */
typedef bool (*sel_visit)(const char *name, void *arg);

static bool walk_names(struct gql_exec *x, const struct ast_selset *ss, sel_visit fn, void *arg,
		       int depth)
{
	if (!ss || depth > 64)
		return false;
	for (const struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (!included(x, sel->dirs))
			continue;
		if (sel->kind == SEL_FIELD) {
			if (fn(sel->name, arg))
				return true;
		} else if (walk_names(x,
				      sel->kind == SEL_INLINE ? sel->selset
				      : sel->frag             ? sel->frag->selset
							      : NULL,
				      fn, arg, depth + 1)) {
			return true;
		}
	}
	return false;
}

static bool match_name(const char *name, void *arg)
{
	return strcmp(name, arg) == 0;
}

bool gql_info_wants(const struct gql_resolve_info *info, const char *field)
{
	const struct sel_info *si = info->selection_;
	if (!si)
		return false;
	for (const struct fnode *fn = si->fg->first; fn; fn = fn->next)
		if (walk_names(si->x, fn->sel->selset, match_name, (void *)field, 0))
			return true;
	return false;
}

/* Whether selection set ss selects the dotted path (segment names, fragments
 * and @skip/@include applied); path_len is the length of path. */
static bool selects_path(struct gql_exec *x, const struct ast_selset *ss, const char *path,
			 size_t path_len, int depth)
{
	if (!ss || depth > 64)
		return false;
	size_t seg = 0;
	while (seg < path_len && path[seg] != '.')
		seg++;
	for (const struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (!included(x, sel->dirs))
			continue;
		if (sel->kind != SEL_FIELD) {
			if (selects_path(x,
					 sel->kind == SEL_INLINE ? sel->selset
					 : sel->frag             ? sel->frag->selset
								 : NULL,
					 path, path_len, depth + 1))
				return true;
			continue;
		}
		if (strlen(sel->name) != seg || memcmp(sel->name, path, seg) != 0)
			continue;
		if (seg == path_len ||
		    selects_path(x, sel->selset, path + seg + 1, path_len - seg - 1, depth + 1))
			return true;
	}
	return false;
}

bool gql_info_wants_path(const struct gql_resolve_info *info, const char *path)
{
	const struct sel_info *si = info->selection_;
	if (!si)
		return false;
	size_t len = strlen(path);
	for (const struct fnode *fn = si->fg->first; fn; fn = fn->next)
		if (selects_path(si->x, fn->sel->selset, path, len, 0))
			return true;
	return false;
}

bool gql_info_sibling(const struct gql_resolve_info *info, const char *field,
		      struct gql_resolve_info *out)
{
	const struct sel_info *si = info->selection_;
	if (!si)
		return false;
	for (const struct fgroup *g = si->siblings; g; g = g->next) {
		if (strcmp(g->first->sel->name, field) != 0)
			continue;
		struct sel_info *ss = arena_alloc(si->x->a, sizeof *ss);
		ss->fg = g;
		ss->x = si->x;
		ss->siblings = NULL;
		*out = *info;
		out->field_name = g->first->sel->name;
		out->response_key = g->key;
		out->args = NULL;
		out->selection_ = ss;
		return true;
	}
	return false;
}

struct name_acc {
	const char **names;
	size_t max, n;
	const char **seen;
	size_t n_seen;
};

static bool add_name(const char *name, void *arg)
{
	struct name_acc *acc = arg;
	for (size_t i = 0; i < acc->n_seen; i++)
		if (strcmp(acc->seen[i], name) == 0)
			return false;
	if (acc->n_seen < 1024)
		acc->seen[acc->n_seen++] = name;
	if (acc->n < acc->max)
		acc->names[acc->n] = name;
	acc->n++;
	return false;
}

size_t gql_info_subfields(const struct gql_resolve_info *info, const char **names, size_t max)
{
	const struct sel_info *si = info->selection_;
	if (!si)
		return 0;
	const char **seen = xcalloc(1024, sizeof *seen);
	struct name_acc acc = {names, max, 0, seen, 0};
	for (const struct fnode *fn = si->fg->first; fn; fn = fn->next)
		walk_names(si->x, fn->sel->selset, add_name, &acc, 0);
	free(seen);
	return acc.n;
}

/* ---- result coercion ------------------------------------------------------- */
/* A decimal integer, optionally in quotes (ID), without printf: responses
 * carry hundreds of ids. */
static int put_i64(struct buf *b, int64_t v, bool quoted)
{
	char tmp[24];
	char *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	if (quoted)
		*--p = '"';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	if (quoted)
		*--p = '"';
	return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

static int put_float(struct buf *b, double d)
{
	char tmp[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* Keep a JSON number a float when it looks like an integer? Not needed. */
	return buf_puts(b, tmp);
}

static int json_any(struct buf *b, const struct gql_value *v, int depth)
{
	if (depth > 64)
		return -1;
	switch (v->kind) {
	case GQL_V_NULL:
		return buf_puts(b, "null");
	case GQL_V_INT:
		return put_i64(b, v->u.i, false);
	case GQL_V_FLOAT:
		return isfinite(v->u.f) ? put_float(b, v->u.f) : -1;
	case GQL_V_BOOL:
		return buf_puts(b, v->u.b ? "true" : "false");
	case GQL_V_STRING:
	case GQL_V_ENUM:
		return buf_json_strn(b, v->u.str.s, v->u.str.len);
	case GQL_V_LIST:
		if (buf_putc(b, '[') < 0)
			return -1;
		for (size_t i = 0; i < v->u.list.n; i++)
			if ((i && buf_putc(b, ',') < 0) ||
			    json_any(b, &v->u.list.items[i], depth + 1) < 0)
				return -1;
		return buf_putc(b, ']');
	case GQL_V_OBJECT:
		if (buf_putc(b, '{') < 0)
			return -1;
		for (size_t i = 0; i < v->u.obj.n; i++) {
			const char *k = v->u.obj.fields[i].name ? v->u.obj.fields[i].name : "";
			if ((i && buf_putc(b, ',') < 0) || buf_json_strn(b, k, strlen(k)) < 0 ||
			    buf_putc(b, ':') < 0 ||
			    json_any(b, &v->u.obj.fields[i].value, depth + 1) < 0)
				return -1;
		}
		return buf_putc(b, '}');
	default:
		return -1;
	}
}

/* Serialise a leaf value; -1 with a message when it cannot be represented. */
/* Which built-in scalar a leaf type is: looked up once per field and level,
 * not once per value. */
enum scalar { SC_OTHER, SC_INT, SC_FLOAT, SC_STRING_ID, SC_BOOLEAN };

static enum scalar scalar_of(const struct gql_type *t)
{
	const char *n = t->name;
	if (t->kind == GQL_ENUM)
		return SC_OTHER;
	if (!strcmp(n, "Int"))
		return SC_INT;
	if (!strcmp(n, "Float"))
		return SC_FLOAT;
	if (!strcmp(n, "String") || !strcmp(n, "ID"))
		return SC_STRING_ID;
	if (!strcmp(n, "Boolean"))
		return SC_BOOLEAN;
	return SC_OTHER;
}

static int serialize_leaf(struct gql_exec *x, const struct gql_type *t, enum scalar sc,
			  const struct gql_value *v, struct buf *b, struct cerr *e)
{
	const char *n = t->name;
	if (t->kind == GQL_ENUM) {
		if (v->kind == GQL_V_ENUM || v->kind == GQL_V_STRING)
			for (size_t i = 0; i < t->n_values; i++)
				if (strlen(t->values[i].name) == v->u.str.len &&
				    memcmp(t->values[i].name, v->u.str.s, v->u.str.len) == 0)
					return buf_json_strn(b, v->u.str.s, v->u.str.len);
		return cfail(e, "Enum \"%s\" cannot represent value", n);
	}
	if (sc == SC_INT) {
		int64_t i;
		if (v->kind == GQL_V_INT)
			i = v->u.i;
		else if (v->kind == GQL_V_FLOAT && v->u.f == floor(v->u.f) && fabs(v->u.f) < 3e9)
			i = (int64_t)v->u.f;
		else if (v->kind == GQL_V_BOOL)
			i = v->u.b;
		else
			return cfail(e, "Int cannot represent non-integer value");
		if (i < INT32_MIN || i > INT32_MAX)
			return cfail(
				e, "Int cannot represent non 32-bit signed integer value: %" PRId64,
				i);
		return put_i64(b, i, false);
	}
	if (sc == SC_FLOAT) {
		if (v->kind == GQL_V_INT)
			return put_float(b, (double)v->u.i);
		if (v->kind == GQL_V_FLOAT && isfinite(v->u.f))
			return put_float(b, v->u.f);
		return cfail(e, "Float cannot represent non numeric value");
	}
	if (sc == SC_STRING_ID) {
		if (v->kind == GQL_V_STRING || (v->kind == GQL_V_ENUM && n[0] == 'S'))
			return buf_json_strn(b, v->u.str.s, v->u.str.len);
		if (v->kind == GQL_V_INT)
			return put_i64(b, v->u.i, true);
		if (v->kind == GQL_V_BOOL && n[0] == 'S')
			return buf_puts(b, v->u.b ? "\"true\"" : "\"false\"");
		return cfail(e, "%s cannot represent value", n);
	}
	if (sc == SC_BOOLEAN) {
		if (v->kind == GQL_V_BOOL)
			return buf_puts(b, v->u.b ? "true" : "false");
		if (v->kind == GQL_V_INT)
			return buf_puts(b, v->u.i ? "true" : "false");
		return cfail(e, "Boolean cannot represent a non boolean value");
	}
	(void)x;
	if (json_any(b, v, 0) < 0)
		return cfail(e, "Scalar \"%s\" cannot represent value", n);
	return 0;
}

/* ---- execution ------------------------------------------------------------- */
/* The paths of a level: n pointers to n paths (filled in by the caller
 * through *each), two allocations whatever n. */
static const struct gql_path **paths_new(struct gql_exec *x, size_t n, struct gql_path **each)
{
	const struct gql_path **pp = arena_alloc_raw(x->a, (n ? n : 1) * sizeof *pp);
	struct gql_path *pa = arena_alloc_raw(x->a, (n ? n : 1) * sizeof *pa);
	for (size_t i = 0; i < n; i++)
		pp[i] = &pa[i];
	*each = pa;
	return pp;
}

static void field_error(struct gql_exec *x, const struct fgroup *fg, const struct gql_path *path,
			const char *code, const char *msg)
{
	size_t before = x->errs.n;
	gql__err_add(&x->errs, code, &fg->first->sel->loc, NULL, "%s", msg);
	if (x->errs.n > before)
		x->errs.last->path = path;
}

static struct rnode rn_null_node = {.kind = RN_NULL};

static void execute_selset(struct gql_exec *x, const struct fgroup *parent_fg, struct item *items,
			   size_t n, int depth);

static void complete(struct gql_exec *x, const struct tref *t, const struct fgroup *fg,
		     const struct gql_field_def *fd, const struct gql_value *vals,
		     const struct gql_path **paths, size_t m, struct rnode **out, int depth);

/*
 * Complete values[0..m-1] of the LIST or named type t; out[i] NULL means
 * "failed, propagate null" (error already recorded), RN_NULL a plain null.
 * paths[i] is the response path of value i.
 */
static void complete_inner(struct gql_exec *x, const struct tref *t, const struct fgroup *fg,
			   const struct gql_field_def *fd, const struct gql_value *vals,
			   const struct gql_path **paths, size_t m, struct rnode **out, int depth)
{
	/* Nullable from here on: failed positions become null at the end. */
	struct item *items = NULL;
	size_t n_items = 0;
	for (size_t i = 0; i < m; i++) {
		const struct gql_value *v = &vals[i];
		out[i] = &rn_null_node;
		if (v->kind == GQL_V_ERROR) {
			field_error(x, fg, paths[i],
				    v->u.err.code ? v->u.err.code : "INTERNAL_ERROR",
				    v->u.err.message ? v->u.err.message : "resolver failed");
			out[i] = NULL;
		}
	}
	if (t->kind == TR_LIST) {
		/* Flatten every list at this level into one, complete, regroup. */
		size_t total = 0;
		for (size_t i = 0; i < m; i++) {
			if (!out[i] || vals[i].kind == GQL_V_NULL)
				continue;
			if (vals[i].kind != GQL_V_LIST) {
				field_error(x, fg, paths[i], "INTERNAL_ERROR",
					    "Expected a list for a list-typed field");
				out[i] = NULL;
				continue;
			}
			total += vals[i].u.list.n;
		}
		struct gql_value *fv = arena_alloc(x->a, (total ? total : 1) * sizeof *fv);
		struct gql_path *fpe;
		const struct gql_path **fp = paths_new(x, total, &fpe);
		struct rnode **fo = arena_alloc(x->a, (total ? total : 1) * sizeof *fo);
		size_t k = 0;
		for (size_t i = 0; i < m; i++) {
			if (!out[i] || vals[i].kind != GQL_V_LIST)
				continue;
			for (size_t j = 0; j < vals[i].u.list.n; j++) {
				fv[k] = vals[i].u.list.items[j];
				fpe[k] = (struct gql_path){
					.parent = paths[i], .key = NULL, .index = j};
				k++;
			}
		}
		complete(x, t->of, fg, fd, fv, fp, total, fo, depth);
		k = 0;
		for (size_t i = 0; i < m; i++) {
			if (!out[i] || vals[i].kind != GQL_V_LIST)
				continue;
			struct rnode *ln = arena_alloc(x->a, sizeof *ln);
			ln->kind = RN_LIST;
			ln->n = vals[i].u.list.n;
			ln->items = &fo[k];
			bool bad = false;
			for (size_t j = 0; j < ln->n; j++)
				bad |= fo[k + j] == NULL;
			k += ln->n;
			out[i] = bad ? NULL : ln;
		}
		return;
	}
	struct gql_type *nt = t->type;
	if (gql__is_leaf(nt)) {
		enum scalar sc = scalar_of(nt);
		struct rnode *nodes = arena_alloc_raw(x->a, (m ? m : 1) * sizeof *nodes);
		for (size_t i = 0; i < m; i++) {
			if (!out[i] || vals[i].kind == GQL_V_NULL)
				continue;
			struct cerr e;
			size_t off = x->leaves->len;
			e.msg[0] = '\0';
			if (serialize_leaf(x, nt, sc, &vals[i], x->leaves, &e) < 0) {
				x->leaves->len = off;
				if (!e.msg[0]) { /* no room: the whole response fails below */
					x->too_large = true;
					snprintf(e.msg, sizeof e.msg, "the response is too large");
				}
				field_error(x, fg, paths[i], "INTERNAL_ERROR", e.msg);
				out[i] = NULL;
				continue;
			}
			nodes[i] = (struct rnode){
				.kind = RN_RAW, .off = off, .len = x->leaves->len - off};
			out[i] = &nodes[i];
		}
		return;
	}
	/* Composite: find each runtime object type, then run the sub-selection. */
	items = arena_alloc(x->a, (m ? m : 1) * sizeof *items);
	size_t *idx = arena_alloc(x->a, (m ? m : 1) * sizeof *idx);
	for (size_t i = 0; i < m; i++) {
		const struct gql_value *v = &vals[i];
		if (!out[i] || v->kind == GQL_V_NULL)
			continue;
		struct gql_type *rt = nt;
		if (nt->kind != GQL_OBJECT) {
			const char *tn = v->type;
			const struct gql_value *tv = gql_value_get(v, "__typename");
			if (!tn && tv && tv->kind == GQL_V_STRING)
				tn = tv->u.str.s;
			rt = tn ? gql__find_type(x->s, tn) : NULL;
			if (!rt || rt->kind != GQL_OBJECT || !gql__possible(nt, rt)) {
				char msg[300];
				snprintf(
					msg, sizeof msg,
					"Abstract type \"%s\" must resolve to an Object type at runtime for "
					"field \"%s\"; got \"%s\".",
					nt->name, fd->name, tn ? tn : "nothing");
				field_error(x, fg, paths[i], "INTERNAL_ERROR", msg);
				out[i] = NULL;
				continue;
			}
		}
		struct rnode *on = arena_alloc(x->a, sizeof *on);
		on->kind = RN_OBJ;
		on->obj = arena_alloc(x->a, sizeof *on->obj);
		out[i] = on;
		items[n_items].v = v;
		items[n_items].type = rt;
		items[n_items].path = paths[i];
		items[n_items].obj = on->obj;
		idx[n_items] = i;
		n_items++;
	}
	if (n_items)
		execute_selset(x, fg, items, n_items, depth + 1);
	for (size_t k = 0; k < n_items; k++)
		if (items[k].invalid)
			out[idx[k]] = NULL;
}

/* Complete with null propagation (6.4.4): a non-null position that is null
 * fails (NULL) once, with one error; a nullable position stops the failure. */
static void complete(struct gql_exec *x, const struct tref *t, const struct fgroup *fg,
		     const struct gql_field_def *fd, const struct gql_value *vals,
		     const struct gql_path **paths, size_t m, struct rnode **out, int depth)
{
	if (t->kind == TR_NONNULL) {
		complete_inner(x, t->of, fg, fd, vals, paths, m, out, depth);
		for (size_t i = 0; i < m; i++)
			if (out[i] && out[i]->kind == RN_NULL) {
				char msg[600];
				snprintf(msg, sizeof msg,
					 "Cannot return null for non-nullable field %s.%s.",
					 fd->owner ? fd->owner->name : "Query", fd->name);
				field_error(x, fg, paths[i], "INTERNAL_ERROR", msg);
				out[i] = NULL;
			}
		return;
	}
	complete_inner(x, t, fg, fd, vals, paths, m, out, depth);
	for (size_t i = 0; i < m; i++)
		if (!out[i])
			out[i] = &rn_null_node;
}

/*
 * Resolve one field group for the items of one runtime type, then complete.
 */
static void execute_field(struct gql_exec *x, struct gql_type *t, const struct fgroup *fg,
			  const struct fgroup *siblings, struct item *items, size_t m, size_t slot,
			  int depth)
{
	struct ast_sel *sel = fg->first->sel;
	struct gql_field_def *fd = gql__field_on(x->s, t, sel->name);
	struct gql_value *vals = arena_alloc(x->a, (m ? m : 1) * sizeof *vals);
	struct gql_path *pe;
	const struct gql_path **paths = paths_new(x, m, &pe);
	struct rnode **out = arena_alloc(x->a, (m ? m : 1) * sizeof *out);
	for (size_t i = 0; i < m; i++)
		pe[i] = (struct gql_path){.parent = items[i].path, .key = fg->key, .index = 0};
	if (!fd) { /* validation guarantees this does not happen */
		for (size_t i = 0; i < m; i++)
			vals[i] = gql_error(x, "INTERNAL_ERROR", "unknown field '%s'", sel->name);
		goto complete;
	}
	if (fd == &((struct gql_schema *)x->s)->typename_field) {
		for (size_t i = 0; i < m; i++)
			vals[i] = gql_string(t->name);
		goto complete;
	}
	struct gql_value args;
	struct cerr e;
	if (coerce_args(x, sel->args, fd->args, fd->n_args, &args, &e) < 0) {
		for (size_t i = 0; i < m; i++)
			vals[i] = gql_error(x, "BAD_USER_INPUT", "%s", e.msg);
		goto complete;
	}
	struct sel_info si = {fg, x, siblings};
	struct gql_resolve_info info = {
		.parent_type = t->name,
		.field_name = fd->name,
		.response_key = fg->key,
		.args = &args,
		.ctx = x->ctx,
		.userdata = fd->userdata,
		.exec = x,
		.selection_ = &si,
	};
	if (fd->batch) {
		const struct gql_value *pv = NULL;
		struct gql_value *parents = arena_alloc(x->a, (m ? m : 1) * sizeof *parents);
		for (size_t i = 0; i < m; i++)
			parents[i] = *items[i].v;
		pv = parents;
		x->fail_msg = NULL;
		x->fail_code = NULL;
		if (fd->batch(&info, pv, m, vals) < 0) {
			for (size_t i = 0; i < m; i++) {
				vals[i].kind = GQL_V_ERROR;
				vals[i].u.err.message = x->fail_msg ? x->fail_msg
								    : "resolver failed";
				vals[i].u.err.code = x->fail_code;
			}
		}
	} else if (fd->resolve) {
		for (size_t i = 0; i < m; i++) {
			x->fail_msg = NULL;
			x->fail_code = NULL;
			vals[i] = gql_null();
			if (fd->resolve(&info, items[i].v, &vals[i]) < 0) {
				vals[i].kind = GQL_V_ERROR;
				vals[i].u.err.message = x->fail_msg ? x->fail_msg
								    : "resolver failed";
				vals[i].u.err.code = x->fail_code;
			}
		}
	} else if (fd->property) {
		for (size_t i = 0; i < m; i++) {
			const struct gql_value *pv = gql_value_get(items[i].v, fd->name);
			vals[i] = pv ? *pv : gql_null();
		}
	} else {
		for (size_t i = 0; i < m; i++)
			vals[i] = gql_error(x, "INTERNAL_ERROR", "no resolver for %s.%s", t->name,
					    fd->name);
	}
complete:
	complete(x, fd ? fd->type : ((struct gql_schema *)x->s)->typename_field.type, fg,
		 fd ? fd : &((struct gql_schema *)x->s)->typename_field, vals, paths, m, out,
		 depth);
	for (size_t i = 0; i < m; i++) {
		items[i].obj->keys[slot] = fg;
		items[i].obj->vals[slot] = out[i];
		if (!out[i])
			items[i].invalid = true;
	}
}

static void execute_selset(struct gql_exec *x, const struct fgroup *parent_fg, struct item *items,
			   size_t n, int depth)
{
	if (depth > 300)
		return;
	/* Partition by runtime type, keeping first-seen order. */
	bool *done = arena_alloc(x->a, n * sizeof *done);
	struct item *group = arena_alloc(x->a, n * sizeof *group);
	size_t *gidx = arena_alloc(x->a, n * sizeof *gidx);
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		struct gql_type *t = items[i].type;
		size_t m = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && items[j].type == t) {
				done[j] = true;
				gidx[m] = j;
				group[m++] = items[j];
			}
		struct fgroup *fields = collect_sub(x, t, parent_fg);
		size_t nf = 0;
		for (struct fgroup *g = fields; g; g = g->next)
			nf++;
		for (size_t k = 0; k < m; k++) {
			group[k].obj->n = nf;
			group[k].obj->keys = arena_alloc(x->a,
							 (nf ? nf : 1) * sizeof(struct fgroup *));
			group[k].obj->vals = arena_alloc(x->a,
							 (nf ? nf : 1) * sizeof(struct rnode *));
		}
		/*
		 * An object that already failed a non-null field becomes null (or
		 * propagates further): its remaining fields are not resolved.
		 */
		struct item *live = arena_alloc(x->a, m * sizeof *live);
		size_t *lidx = arena_alloc(x->a, m * sizeof *lidx);
		size_t slot = 0;
		for (struct fgroup *g = fields; g; g = g->next, slot++) {
			size_t n_live = 0;
			for (size_t k = 0; k < m; k++)
				if (!group[k].invalid) {
					lidx[n_live] = k;
					live[n_live++] = group[k];
				}
			if (!n_live)
				break;
			execute_field(x, t, g, fields, live, n_live, slot, depth);
			for (size_t k = 0; k < n_live; k++)
				group[lidx[k]].invalid = live[k].invalid;
		}
		for (size_t k = 0; k < m; k++)
			items[gidx[k]].invalid = group[k].invalid;
	}
}

static int write_node(const struct gql_exec *x, struct buf *b, const struct rnode *r)
{
	if (!r || r->kind == RN_NULL)
		return buf_append(b, "null", 4);
	if (r->kind == RN_RAW)
		return buf_append(b, x->leaves->data + r->off, r->len);
	if (r->kind == RN_LIST) {
		if (buf_putc(b, '[') < 0)
			return -1;
		for (size_t i = 0; i < r->n; i++)
			if ((i && buf_putc(b, ',') < 0) || write_node(x, b, r->items[i]) < 0)
				return -1;
		return buf_putc(b, ']');
	}
	const struct robj *o = r->obj;
	if (buf_putc(b, '{') < 0)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		if ((i && buf_putc(b, ',') < 0) ||
		    buf_append(b, o->keys[i]->jkey, o->keys[i]->jkey_len) < 0 ||
		    write_node(x, b, o->vals[i]) < 0)
			return -1;
	return buf_putc(b, '}');
}

/* ---- cost ------------------------------------------------------------------ */
/* The page size a field asks for (first/limit/last/pageSize), or -1. */
static double page_size(struct gql_exec *x, const struct ast_sel *sel)
{
	static const char *const names[] = {"first", "limit", "last", "pageSize"};
	for (size_t k = 0; k < JS_ARRAY_LEN(names); k++)
		for (const struct ast_arg *a = sel->args; a; a = a->next) {
			if (strcmp(a->name, names[k]) != 0)
				continue;
			int64_t v = -1;
			if (a->value->kind == V_INT) {
				if (parse_i64(a->value->str, &v) < 0)
					v = INT32_MAX;
			} else if (a->value->kind == V_VAR) {
				const struct gql_value *vv = var_get(x, a->value->str);
				if (vv && vv->kind == GQL_V_INT)
					v = vv->u.i;
			}
			if (v >= 0)
				return v < 1 ? 1 : (double)v;
		}
	/* A default value of the argument counts as given. */
	for (size_t k = 0; k < JS_ARRAY_LEN(names); k++) {
		const struct gql_input_def *d = gql__find_input(sel->def->args, sel->def->n_args,
								names[k]);
		int64_t v;
		if (d && d->defval && d->defval->kind == V_INT &&
		    parse_i64(d->defval->str, &v) == 0)
			return v < 1 ? 1 : (double)v;
	}
	return -1;
}

/*
 * Multiplier of a field's children (the formula is in graphql.h): its page
 * size; else default_list_size for a list, unless the parent field had a
 * page size (the edges/nodes list of a connection: that page was counted).
 */
static double field_multiplier(struct gql_exec *x, const struct ast_sel *sel, bool parent_paged,
			       bool *paged)
{
	double ps = page_size(x, sel);
	*paged = ps >= 0;
	if (ps >= 0)
		return ps;
	bool is_list = false;
	for (const struct tref *t = sel->def->type; t; t = t->of)
		is_list |= t->kind == TR_LIST;
	if (!is_list || parent_paged)
		return 1;
	return x->lim->default_list_size > 0 ? x->lim->default_list_size : 1;
}

static double selset_cost(struct gql_exec *x, const struct ast_selset *ss, bool paged, int depth)
{
	double c = 0;
	if (!ss || depth > 300)
		return 0;
	for (const struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (!included(x, sel->dirs))
			continue;
		if (sel->kind == SEL_FIELD) {
			if (!sel->def || sel->def->builtin) {
				c += 1;
				continue;
			}
			bool child_paged;
			double m = field_multiplier(x, sel, paged, &child_paged);
			c += 1 + m * selset_cost(x, sel->selset, child_paged, depth + 1);
		} else if (sel->kind == SEL_INLINE) {
			c += selset_cost(x, sel->selset, paged, depth + 1);
		} else if (sel->frag) {
			struct cost_memo *m = x->memo;
			while (m && (m->f != sel->frag || m->paged != paged))
				m = m->next;
			if (!m) {
				m = arena_alloc(x->a, sizeof *m);
				m->f = sel->frag;
				m->paged = paged;
				m->cost = selset_cost(x, sel->frag->selset, paged, depth + 1);
				m->next = x->memo;
				x->memo = m;
			}
			c += m->cost;
		}
		if (c > 1e18)
			c = 1e18;
	}
	return c;
}

/* ---- documents and the cache ----------------------------------------------- */
struct gql_engine {
	const struct gql_schema *s;
	struct gql_limits lim;
	pthread_mutex_t mu;
	size_t cap;
	size_t n_buckets;
	struct gql_document **buckets;
	struct gql_document *head, *tail; /* most recent first */
	struct gql_cache_stats st;
};

static struct gql_document *doc_build(const struct gql_schema *s, const char *text, size_t len,
				      const struct gql_limits *lim)
{
	struct gql_document *d = xcalloc(1, sizeof *d);
	arena_init(&d->arena);
	d->errs.arena = &d->arena;
	d->text = xstrndup(text, len);
	d->len = len;
	d->hash = gql__hash(text, len);
	d->refs = 1;
	struct parse_opts po = {lim->max_tokens, 0};
	struct parse_error pe;
	d->ast = gql__parse(d->text, len, &d->arena, &po, &pe);
	if (!d->ast) {
		gql__err_add(&d->errs, pe.code ? pe.code : "GRAPHQL_PARSE_FAILED", &pe.loc, NULL,
			     "%s", pe.message);
	} else if (s) {
		gql__validate(s, d->ast, &d->errs, lim, &d->stats);
	}
	return d;
}

static void doc_free(struct gql_document *d)
{
	if (!d)
		return;
	arena_release(&d->arena);
	free(d->text);
	free(d);
}

struct gql_engine *gql_engine_new(const struct gql_schema *s, const struct gql_limits *lim,
				  size_t cache_size)
{
	struct gql_engine *e = xcalloc(1, sizeof *e);
	e->s = s;
	if (lim)
		e->lim = *lim;
	else
		gql_limits_default(&e->lim);
	pthread_mutex_init(&e->mu, NULL);
	e->cap = cache_size;
	e->n_buckets = cache_size ? cache_size * 2 : 1;
	e->buckets = xcalloc(e->n_buckets, sizeof *e->buckets);
	return e;
}

void gql_engine_free(struct gql_engine *e)
{
	if (!e)
		return;
	struct gql_document *d = e->head;
	while (d) {
		struct gql_document *next = d->lru_next;
		if (--d->refs == 0)
			doc_free(d);
		d = next;
	}
	pthread_mutex_destroy(&e->mu);
	free(e->buckets);
	free(e);
}

void gql_engine_cache_stats(struct gql_engine *e, struct gql_cache_stats *st)
{
	pthread_mutex_lock(&e->mu);
	*st = e->st;
	pthread_mutex_unlock(&e->mu);
}

static void lru_unlink(struct gql_engine *e, struct gql_document *d)
{
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		e->head = d->lru_next;
	if (d->lru_next)
		d->lru_next->lru_prev = d->lru_prev;
	else
		e->tail = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
}

static void lru_push(struct gql_engine *e, struct gql_document *d)
{
	d->lru_prev = NULL;
	d->lru_next = e->head;
	if (e->head)
		e->head->lru_prev = d;
	e->head = d;
	if (!e->tail)
		e->tail = d;
}

static struct gql_document *cache_find(struct gql_engine *e, const char *text, size_t len,
				       uint64_t h)
{
	for (struct gql_document *d = e->buckets[h % e->n_buckets]; d; d = d->hnext)
		if (d->hash == h && d->len == len && memcmp(d->text, text, len) == 0)
			return d;
	return NULL;
}

static void bucket_remove(struct gql_engine *e, struct gql_document *d)
{
	struct gql_document **pp = &e->buckets[d->hash % e->n_buckets];
	while (*pp && *pp != d)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = d->hnext;
	d->hnext = NULL;
}

/* A referenced document for text: from the cache or freshly built. */
static struct gql_document *doc_get(struct gql_engine *e, const char *text, size_t len)
{
	uint64_t h = gql__hash(text, len);
	if (e->cap) {
		pthread_mutex_lock(&e->mu);
		struct gql_document *d = cache_find(e, text, len, h);
		if (d) {
			d->refs++;
			e->st.hits++;
			lru_unlink(e, d);
			lru_push(e, d);
			pthread_mutex_unlock(&e->mu);
			return d;
		}
		e->st.misses++;
		pthread_mutex_unlock(&e->mu);
	}
	/* Parse and validate outside the lock. */
	struct gql_document *d = doc_build(e->s, text, len, &e->lim);
	if (!e->cap)
		return d;
	pthread_mutex_lock(&e->mu);
	struct gql_document *other = cache_find(e, text, len, h);
	if (other) { /* another thread was faster: use its copy */
		other->refs++;
		pthread_mutex_unlock(&e->mu);
		doc_free(d);
		return other;
	}
	d->refs++; /* the cache's reference */
	size_t b = h % e->n_buckets;
	d->hnext = e->buckets[b];
	e->buckets[b] = d;
	lru_push(e, d);
	e->st.entries++;
	while (e->st.entries > e->cap && e->tail) {
		struct gql_document *old = e->tail;
		lru_unlink(e, old);
		bucket_remove(e, old);
		e->st.entries--;
		e->st.evictions++;
		if (--old->refs == 0)
			doc_free(old);
	}
	pthread_mutex_unlock(&e->mu);
	return d;
}

static void doc_put(struct gql_engine *e, struct gql_document *d)
{
	if (!e->cap) {
		doc_free(d);
		return;
	}
	pthread_mutex_lock(&e->mu);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&e->mu);
	if (last)
		doc_free(d);
}

int gql_check_document(const struct gql_schema *s, const char *text, size_t len,
		       const struct gql_limits *lim, char **errors_json)
{
	struct gql_limits dl;
	if (!lim) {
		gql_limits_default(&dl);
		lim = &dl;
	}
	*errors_json = NULL;
	struct gql_document *d = doc_build(s, text, len, lim);
	int rc = 0;
	if (d->errs.n) {
		struct buf b = BUF_INIT;
		if (gql__errors_json(&d->errs, &b) < 0)
			buf_reset(&b);
		*errors_json = buf_detach(&b);
		rc = -1;
	}
	doc_free(d);
	return rc;
}

/* ---- requests -------------------------------------------------------------- */
static void write_errors_only(struct buf *out, const struct err_list *errs)
{
	size_t mark = out->len;
	if (buf_puts(out, "{\"errors\":") < 0 || gql__errors_json(errs, out) < 0 ||
	    buf_putc(out, '}') < 0) {
		out->len = mark;
		if (out->cap)
			out->data[mark] = '\0';
		if (buf_puts(out, "{\"errors\":[{\"message\":\"response too large\","
				  "\"extensions\":{\"code\":\"RESPONSE_TOO_LARGE\"}}]}") < 0)
			log_warn("graphql response buffer is too small even for an error");
	}
}

static void refuse(struct buf *out, struct arena *a, const char *code, const char *fmt, ...)
	JS_PRINTF(4, 5);
static void refuse(struct buf *out, struct arena *a, const char *code, const char *fmt, ...)
{
	struct err_list l = {.arena = a};
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gql__err_add(&l, code, NULL, NULL, "%s", msg);
	write_errors_only(out, &l);
}

int gql_execute(struct gql_engine *e, const struct gql_request *rq, struct buf *out)
{
	struct arena own;
	struct arena *ap = rq->arena ? rq->arena : &own;
	int rc = -1;
	struct gql_document *doc = NULL;
	cJSON *vj = NULL;
	struct buf leaves;
	buf_init(&leaves, e->lim.max_response_bytes);
	arena_init(&own);
	if (!rq->query) {
		refuse(out, ap, "BAD_REQUEST", "the request has no query");
		goto out;
	}
	if (e->lim.max_document_bytes && rq->query_len > e->lim.max_document_bytes) {
		refuse(out, ap, "DOCUMENT_TOO_LARGE",
		       "the document is %zu bytes, more than the limit of %zu", rq->query_len,
		       e->lim.max_document_bytes);
		goto out;
	}
	doc = doc_get(e, rq->query, rq->query_len);
	if (doc->errs.n) {
		write_errors_only(out, &doc->errs);
		goto out;
	}
	struct gql_exec x = {.s = e->s,
			     .lim = &e->lim,
			     .a = ap,
			     .doc = doc->ast,
			     .ctx = rq->ctx,
			     .leaves = &leaves};
	x.errs.arena = ap;
	for (const struct ast_fragment *f = doc->ast->frags; f; f = f->next)
		x.n_frags++;
	/* GetOperation (6.1). */
	for (struct ast_op *op = doc->ast->ops; op; op = op->next) {
		if (rq->operation_name ? (op->name && !strcmp(op->name, rq->operation_name))
				       : true) {
			if (x.op && !rq->operation_name) {
				refuse(out, ap, "OPERATION_RESOLUTION_FAILURE",
				       "Must provide operation name if query contains multiple operations.");
				goto out;
			}
			x.op = op;
		}
	}
	if (!x.op) {
		if (rq->operation_name)
			refuse(out, ap, "OPERATION_RESOLUTION_FAILURE",
			       "Unknown operation named \"%s\".", rq->operation_name);
		else
			refuse(out, ap, "OPERATION_RESOLUTION_FAILURE",
			       "Must provide an operation.");
		goto out;
	}
	if (x.op->op == OP_MUTATION && !rq->allow_mutations) {
		refuse(out, ap, "FORBIDDEN", "mutations are not allowed for this request");
		goto out;
	}
	/* Variables. */
	struct gql_value given = gql_object_new(&x, 0);
	given.u.obj.n = 0;
	if (rq->variables_json && rq->variables_json[0]) {
		vj = cJSON_Parse(rq->variables_json);
		if (!vj || !(cJSON_IsObject(vj) || cJSON_IsNull(vj))) {
			refuse(out, ap, "BAD_USER_INPUT", "variables must be a JSON object");
			goto out;
		}
		if (cJSON_IsObject(vj))
			given = from_json(&x, vj, 0);
	} else if (rq->variables && rq->variables->kind == GQL_V_OBJECT) {
		given = *rq->variables;
	}
	if (coerce_variables(&x, &given) < 0) {
		write_errors_only(out, &x.errs);
		goto out;
	}
	/* Cost. */
	double cost = selset_cost(&x, x.op->selset, false, 0);
	if (e->lim.max_cost > 0 && cost > e->lim.max_cost) {
		refuse(out, ap, "QUERY_TOO_COSTLY",
		       "the query has an estimated cost of %.0f, more than the limit of %.0f", cost,
		       e->lim.max_cost);
		goto out;
	}
	if (rq->accepted)
		rq->accepted(rq->accepted_arg, x.op->op == OP_QUERY);
	/* Execute the root selection set on a null root value. */
	struct gql_type *root = x.op->op == OP_MUTATION ? e->s->mutation : e->s->query;
	struct gql_value root_value = gql_null();
	struct robj *ro = arena_alloc(ap, sizeof *ro);
	struct item it = {.v = &root_value, .type = root, .path = NULL, .obj = ro};
	struct ast_sel root_sel = {.kind = SEL_FIELD, .name = "", .selset = x.op->selset};
	struct fnode root_fn = {.sel = &root_sel};
	struct fgroup root_fg = {.key = "", .first = &root_fn, .last = &root_fn, .n = 1};
	execute_selset(&x, &root_fg, &it, 1, 0);
	struct rnode data = {.kind = RN_OBJ, .obj = ro};
	/* Written straight into out, presized from the leaves (most of a
	 * response); on failure out is cut back to what it held before. */
	size_t start = out->len;
	size_t max = e->lim.max_response_bytes ? e->lim.max_response_bytes : SIZE_MAX / 2;
	if (!out->cap && leaves.len + leaves.len / 2 + 64 < max)
		buf_reserve(out, leaves.len + leaves.len / 2 + 64);
	bool ok = buf_putc(out, '{') == 0;
	if (ok && x.errs.n)
		ok = buf_puts(out, "\"errors\":") == 0 && gql__errors_json(&x.errs, out) == 0 &&
		     buf_putc(out, ',') == 0;
	ok = ok && buf_puts(out, "\"data\":") == 0 &&
	     write_node(&x, out, it.invalid ? NULL : &data) == 0 && buf_putc(out, '}') == 0;
	if (ok && (x.too_large || out->len - start > max))
		ok = false;
	if (!ok) {
		out->len = start;
		if (out->cap)
			out->data[start] = '\0';
		refuse(out, ap, "RESPONSE_TOO_LARGE", "the response exceeds %zu bytes",
		       e->lim.max_response_bytes);
		rc = 1;
	} else {
		rc = x.errs.n ? 1 : 0;
	}
out:
	buf_release(&leaves);
	cJSON_Delete(vj);
	if (doc)
		doc_put(e, doc);
	arena_release(&own);
	return rc;
}

int gql_execute_body(struct gql_engine *e, const char *body, size_t len, void *ctx,
		     bool allow_mutations, struct buf *out)
{
	struct arena a;
	int rc = -1;
	char *vars = NULL;
	arena_init(&a);
	cJSON *j = cJSON_ParseWithLength(body, len);
	if (!j || !cJSON_IsObject(j)) {
		refuse(out, &a, "BAD_REQUEST", "the request body must be a JSON object");
		goto out;
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "query");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "operationName");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "variables");
	if (!cJSON_IsString(q)) {
		refuse(out, &a, "BAD_REQUEST", "the request has no \"query\" string");
		goto out;
	}
	if (op && !cJSON_IsNull(op) && !cJSON_IsString(op)) {
		refuse(out, &a, "BAD_REQUEST", "\"operationName\" must be a string");
		goto out;
	}
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v)) {
		refuse(out, &a, "BAD_REQUEST", "\"variables\" must be an object");
		goto out;
	}
	if (v && cJSON_IsObject(v))
		vars = cJSON_PrintUnformatted(v);
	struct gql_request rq = {
		.query = q->valuestring,
		.query_len = strlen(q->valuestring),
		.operation_name = cJSON_IsString(op) ? op->valuestring : NULL,
		.variables_json = vars,
		.ctx = ctx,
		.allow_mutations = allow_mutations,
	};
	rc = gql_execute(e, &rq, out);
out:
	free(vars);
	cJSON_Delete(j);
	arena_release(&a);
	return rc;
}

int gql_introspection_json(const struct gql_schema *s, struct buf *out)
{
	struct gql_limits lim;
	gql_limits_default(&lim);
	struct gql_engine *e = gql_engine_new(s, &lim, 0);
	struct gql_request rq = {.query = gql_introspection_query,
				 .query_len = strlen(gql_introspection_query)};
	int rc = gql_execute(e, &rq, out);
	gql_engine_free(e);
	return rc == 0 ? 0 : -1;
}
