/*
 * Schema: built from SDL (spec section 3). gql_schema_new() loads the
 * built-in scalars, directives and introspection types from SDL text of our
 * own; gql_schema_load() adds the application's definitions and checks the
 * result (every referenced type exists and has the right kind, objects
 * implement their interfaces, unions hold objects, a query root exists).
 * Resolvers are then bound by coordinate ("Type.field") and
 * gql_schema_check_bound() enforces the binding rule stated in graphql.h.
 * Everything lives in the schema's arena; arrays are built once per type.
 */
#include "graphql/gql_int.h"

const char *const gql__dir_loc_names[DL_COUNT] = {
	"QUERY",
	"MUTATION",
	"SUBSCRIPTION",
	"FIELD",
	"FRAGMENT_DEFINITION",
	"FRAGMENT_SPREAD",
	"INLINE_FRAGMENT",
	"VARIABLE_DEFINITION",
	"SCHEMA",
	"SCALAR",
	"OBJECT",
	"FIELD_DEFINITION",
	"ARGUMENT_DEFINITION",
	"INTERFACE",
	"UNION",
	"ENUM",
	"ENUM_VALUE",
	"INPUT_OBJECT",
	"INPUT_FIELD_DEFINITION",
};

/* ---- lookups and type predicates ----------------------------------------- */
struct gql_type *gql__find_type(const struct gql_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_types; i++)
		if (strcmp(s->types[i]->name, name) == 0)
			return s->types[i];
	return NULL;
}

struct gql_dir_def *gql__find_dir(const struct gql_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_dirs; i++)
		if (strcmp(s->dirs[i]->name, name) == 0)
			return s->dirs[i];
	return NULL;
}

struct gql_field_def *gql__find_field(const struct gql_type *t, const char *name)
{
	for (size_t i = 0; i < t->n_fields; i++)
		if (strcmp(t->fields[i].name, name) == 0)
			return &t->fields[i];
	return NULL;
}

struct gql_input_def *gql__find_input(struct gql_input_def *a, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0)
			return &a[i];
	return NULL;
}

struct gql_field_def *gql__field_on(const struct gql_schema *s, const struct gql_type *t,
				    const char *name)
{
	if (name[0] == '_' && name[1] == '_') {
		struct gql_schema *ms = (struct gql_schema *)s;
		if (strcmp(name, "__typename") == 0 && gql__is_composite(t))
			return &ms->typename_field;
		if (t == s->query && strcmp(name, "__schema") == 0)
			return &ms->schema_field;
		if (t == s->query && strcmp(name, "__type") == 0)
			return &ms->type_field;
	}
	if (t->kind != GQL_OBJECT && t->kind != GQL_INTERFACE)
		return NULL;
	return gql__find_field(t, name);
}

struct gql_type *gql__named(const struct tref *t)
{
	while (t && t->kind != TR_NAMED)
		t = t->of;
	return t ? t->type : NULL;
}

bool gql__is_composite(const struct gql_type *t)
{
	return t && (t->kind == GQL_OBJECT || t->kind == GQL_INTERFACE || t->kind == GQL_UNION);
}

bool gql__is_leaf(const struct gql_type *t)
{
	return t && (t->kind == GQL_SCALAR || t->kind == GQL_ENUM);
}

bool gql__is_input_type(const struct tref *t)
{
	struct gql_type *n = gql__named(t);
	return n && (n->kind == GQL_SCALAR || n->kind == GQL_ENUM || n->kind == GQL_INPUT_OBJECT);
}

bool gql__is_output_type(const struct tref *t)
{
	struct gql_type *n = gql__named(t);
	return n && n->kind != GQL_INPUT_OBJECT;
}

bool gql__possible(const struct gql_type *abstract, const struct gql_type *t)
{
	if (abstract == t)
		return true;
	for (size_t i = 0; i < abstract->n_possible; i++)
		if (abstract->possible[i] == t)
			return true;
	return false;
}

int gql__tref_str(const struct tref *t, struct buf *b)
{
	switch (t->kind) {
	case TR_NAMED:
		return buf_puts(b, t->name);
	case TR_LIST:
		if (buf_putc(b, '[') < 0 || gql__tref_str(t->of, b) < 0)
			return -1;
		return buf_putc(b, ']');
	case TR_NONNULL:
		if (gql__tref_str(t->of, b) < 0)
			return -1;
		return buf_putc(b, '!');
	}
	return -1;
}

bool gql__tref_equal(const struct tref *a, const struct tref *b)
{
	while (a && b) {
		if (a->kind != b->kind)
			return false;
		if (a->kind == TR_NAMED)
			return strcmp(a->name, b->name) == 0;
		a = a->of;
		b = b->of;
	}
	return a == b;
}

/* GraphQL string literal of (s, n): JSON escaping is valid GraphQL too. */
int gql__value_literal(const struct ast_value *v, struct buf *b)
{
	switch (v->kind) {
	case V_VAR:
		return buf_printf(b, "$%s", v->str);
	case V_INT:
	case V_FLOAT:
	case V_ENUM:
		return buf_puts(b, v->str);
	case V_STRING:
		return buf_json_strn(b, v->str, v->len);
	case V_BOOL:
		return buf_puts(b, v->b ? "true" : "false");
	case V_NULL:
		return buf_puts(b, "null");
	case V_LIST:
		if (buf_putc(b, '[') < 0)
			return -1;
		for (const struct ast_value *it = v->items; it; it = it->next)
			if ((it != v->items && buf_puts(b, ", ") < 0) ||
			    gql__value_literal(it, b) < 0)
				return -1;
		return buf_putc(b, ']');
	case V_OBJECT:
		if (buf_putc(b, '{') < 0)
			return -1;
		for (const struct ast_objfield *f = v->fields; f; f = f->next)
			if ((f != v->fields && buf_puts(b, ", ") < 0) ||
			    buf_printf(b, "%s: ", f->name) < 0 ||
			    gql__value_literal(f->value, b) < 0)
				return -1;
		return buf_putc(b, '}');
	}
	return -1;
}

/* ---- loading ------------------------------------------------------------- */
struct loader {
	struct gql_schema *s;
	bool builtin;
	char *err;
	size_t errlen;
	bool failed;
};

static int lerr(struct loader *l, struct gql_loc loc, const char *fmt, ...) JS_PRINTF(3, 4);
static int lerr(struct loader *l, struct gql_loc loc, const char *fmt, ...)
{
	if (l->failed)
		return -1;
	l->failed = true;
	if (l->errlen) {
		int n = snprintf(l->err, l->errlen, "%d:%d: ", loc.line, loc.col);
		if (n >= 0 && (size_t)n < l->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

static void add_type(struct gql_schema *s, struct gql_type *t)
{
	if (s->n_types == s->cap_types) {
		s->cap_types = s->cap_types ? s->cap_types * 2 : 64;
		s->types = xrealloc(s->types, s->cap_types * sizeof *s->types);
	}
	s->types[s->n_types++] = t;
}

static void add_dir(struct gql_schema *s, struct gql_dir_def *d)
{
	if (s->n_dirs == s->cap_dirs) {
		s->cap_dirs = s->cap_dirs ? s->cap_dirs * 2 : 8;
		s->dirs = xrealloc(s->dirs, s->cap_dirs * sizeof *s->dirs);
	}
	s->dirs[s->n_dirs++] = d;
}

/* Copy an AST type reference into the schema arena, resolving names. */
static struct tref *resolve_tref(struct loader *l, const struct tref *t)
{
	struct tref *r = arena_alloc(&l->s->arena, sizeof *r);
	r->kind = t->kind;
	r->loc = t->loc;
	if (t->kind == TR_NAMED) {
		r->type = gql__find_type(l->s, t->name);
		if (!r->type) {
			lerr(l, t->loc, "unknown type '%s'", t->name);
			return NULL;
		}
		r->name = r->type->name;
		return r;
	}
	r->of = resolve_tref(l, t->of);
	return r->of ? r : NULL;
}

static struct ast_value *copy_value(struct arena *a, const struct ast_value *v)
{
	if (!v)
		return NULL;
	struct ast_value *c = arena_alloc(a, sizeof *c);
	*c = *v;
	c->next = NULL;
	if (v->str)
		c->str = arena_strndup(a, v->str, v->len);
	struct ast_value **tail = &c->items;
	for (const struct ast_value *it = v->items; it; it = it->next) {
		*tail = copy_value(a, it);
		tail = &(*tail)->next;
	}
	struct ast_objfield **ft = &c->fields;
	c->fields = NULL;
	for (const struct ast_objfield *f = v->fields; f; f = f->next) {
		struct ast_objfield *nf = arena_alloc(a, sizeof *nf);
		nf->name = arena_strdup(a, f->name);
		nf->loc = f->loc;
		nf->value = copy_value(a, f->value);
		*ft = nf;
		ft = &nf->next;
	}
	return c;
}

static const char *sdup(struct loader *l, const char *s)
{
	return arena_strdup(&l->s->arena, s);
}

static const struct ast_directive *find_directive(const struct ast_directive *d, const char *name)
{
	for (; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static const struct ast_value *dir_arg(const struct ast_directive *d, const char *name)
{
	for (const struct ast_arg *a = d ? d->args : NULL; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a->value;
	return NULL;
}

/* @deprecated(reason) -> deprecated flag and reason. */
static void deprecation(struct loader *l, const struct ast_directive *dirs, bool *dep,
			const char **reason)
{
	const struct ast_directive *d = find_directive(dirs, "deprecated");
	*dep = d != NULL;
	*reason = NULL;
	if (d) {
		const struct ast_value *r = dir_arg(d, "reason");
		if (r && r->kind == V_STRING)
			*reason = sdup(l, r->str);
		else if (!r)
			*reason = "No longer supported";
	}
}

static void check_directives(struct loader *l, const struct ast_directive *dirs, enum dir_loc where)
{
	for (const struct ast_directive *d = dirs; d && !l->failed; d = d->next) {
		const struct gql_dir_def *dd = gql__find_dir(l->s, d->name);
		if (!dd) {
			lerr(l, d->loc, "unknown directive '@%s'", d->name);
			return;
		}
		if (!(dd->locations & (1u << where)))
			lerr(l, d->loc, "directive '@%s' may not be used on %s", d->name,
			     gql__dir_loc_names[where]);
	}
}

static int check_name(struct loader *l, const char *name, struct gql_loc loc)
{
	if (!l->builtin && name[0] == '_' && name[1] == '_')
		return lerr(l, loc, "name '%s' must not begin with '__' (reserved)", name);
	return 0;
}

static struct gql_input_def *build_inputs(struct loader *l, const struct ast_input_value *iv,
					  size_t *n_out, enum dir_loc where, const char *owner)
{
	size_t n = 0;
	for (const struct ast_input_value *v = iv; v; v = v->next)
		n++;
	struct gql_input_def *a = n ? arena_alloc(&l->s->arena, n * sizeof *a) : NULL;
	size_t i = 0;
	for (const struct ast_input_value *v = iv; v && !l->failed; v = v->next, i++) {
		check_name(l, v->name, v->loc);
		if (gql__find_input(a, i, v->name)) {
			lerr(l, v->loc, "duplicate argument or input field '%s' in '%s'", v->name,
			     owner);
			break;
		}
		a[i].name = sdup(l, v->name);
		a[i].desc = sdup(l, v->desc);
		a[i].loc = v->loc;
		a[i].type = resolve_tref(l, v->type);
		if (!a[i].type)
			break;
		if (!gql__is_input_type(a[i].type)) {
			lerr(l, v->loc, "'%s' of '%s' must have an input type", v->name, owner);
			break;
		}
		a[i].defval = copy_value(&l->s->arena, v->defval);
		if (v->defval) {
			struct buf b = BUF_INIT;
			if (gql__value_literal(v->defval, &b) == 0)
				a[i].defval_text = arena_strndup(&l->s->arena, b.data, b.len);
			buf_release(&b);
		}
		check_directives(l, v->dirs, where);
		deprecation(l, v->dirs, &a[i].deprecated, &a[i].reason);
		if (a[i].deprecated && a[i].type->kind == TR_NONNULL && !a[i].defval)
			lerr(l, v->loc, "required '%s' of '%s' cannot be deprecated", v->name,
			     owner);
	}
	*n_out = n;
	return a;
}

static struct gql_type **build_names(struct loader *l, const struct ast_name *names, size_t *n_out,
				     enum gql_type_kind want, const char *owner)
{
	size_t n = 0;
	for (const struct ast_name *x = names; x; x = x->next)
		n++;
	struct gql_type **arr = n ? arena_alloc(&l->s->arena, n * sizeof *arr) : NULL;
	size_t i = 0;
	for (const struct ast_name *x = names; x && !l->failed; x = x->next, i++) {
		arr[i] = gql__find_type(l->s, x->name);
		if (!arr[i]) {
			lerr(l, x->loc, "unknown type '%s' in '%s'", x->name, owner);
			break;
		}
		if (arr[i]->kind != want) {
			lerr(l, x->loc, "'%s' in '%s' must be %s", x->name, owner,
			     want == GQL_INTERFACE ? "an interface" : "an object type");
			break;
		}
		for (size_t j = 0; j < i; j++)
			if (arr[j] == arr[i])
				lerr(l, x->loc, "'%s' listed twice in '%s'", x->name, owner);
	}
	*n_out = n;
	return arr;
}

static void fill_type(struct loader *l, struct gql_type *t, const struct ast_typedef *d)
{
	static const enum dir_loc where[] = {
		[GQL_SCALAR] = DL_SCALAR,       [GQL_OBJECT] = DL_OBJECT,
		[GQL_INTERFACE] = DL_INTERFACE, [GQL_UNION] = DL_UNION,
		[GQL_ENUM] = DL_ENUM,           [GQL_INPUT_OBJECT] = DL_INPUT_OBJECT,
	};
	check_directives(l, d->dirs, where[d->kind]);
	switch (d->kind) {
	case GQL_SCALAR: {
		const struct ast_directive *sb = find_directive(d->dirs, "specifiedBy");
		const struct ast_value *u = dir_arg(sb, "url");
		if (u && u->kind == V_STRING)
			t->specified_by = sdup(l, u->str);
		break;
	}
	case GQL_OBJECT:
	case GQL_INTERFACE: {
		t->interfaces = build_names(l, d->interfaces, &t->n_interfaces, GQL_INTERFACE,
					    t->name);
		size_t n = 0;
		for (const struct ast_field_def *f = d->fields; f; f = f->next)
			n++;
		if (n == 0) {
			lerr(l, d->loc, "type '%s' must define one or more fields", t->name);
			break;
		}
		t->fields = arena_alloc(&l->s->arena, n * sizeof *t->fields);
		size_t i = 0;
		for (const struct ast_field_def *f = d->fields; f && !l->failed; f = f->next, i++) {
			struct gql_field_def *fd = &t->fields[i];
			check_name(l, f->name, f->loc);
			if (gql__find_field(t, f->name)) {
				lerr(l, f->loc, "field '%s.%s' defined twice", t->name, f->name);
				break;
			}
			fd->name = sdup(l, f->name);
			fd->desc = sdup(l, f->desc);
			fd->owner = t;
			fd->type = resolve_tref(l, f->type);
			if (!fd->type)
				break;
			if (!gql__is_output_type(fd->type)) {
				lerr(l, f->loc, "field '%s.%s' must have an output type", t->name,
				     f->name);
				break;
			}
			char owner[256];
			snprintf(owner, sizeof owner, "%s.%s", t->name, f->name);
			fd->args = build_inputs(l, f->args, &fd->n_args, DL_ARGUMENT_DEFINITION,
						owner);
			check_directives(l, f->dirs, DL_FIELD_DEFINITION);
			deprecation(l, f->dirs, &fd->deprecated, &fd->reason);
			t->n_fields = i + 1;
		}
		break;
	}
	case GQL_UNION:
		t->possible = build_names(l, d->members, &t->n_possible, GQL_OBJECT, t->name);
		if (!l->failed && t->n_possible == 0)
			lerr(l, d->loc, "union '%s' must have one or more member types", t->name);
		break;
	case GQL_ENUM: {
		size_t n = 0;
		for (const struct ast_enum_value *v = d->values; v; v = v->next)
			n++;
		if (n == 0) {
			lerr(l, d->loc, "enum '%s' must define one or more values", t->name);
			break;
		}
		t->values = arena_alloc(&l->s->arena, n * sizeof *t->values);
		size_t i = 0;
		for (const struct ast_enum_value *v = d->values; v && !l->failed;
		     v = v->next, i++) {
			for (size_t j = 0; j < i; j++)
				if (strcmp(t->values[j].name, v->name) == 0)
					lerr(l, v->loc, "enum value '%s.%s' defined twice", t->name,
					     v->name);
			t->values[i].name = sdup(l, v->name);
			t->values[i].desc = sdup(l, v->desc);
			check_directives(l, v->dirs, DL_ENUM_VALUE);
			deprecation(l, v->dirs, &t->values[i].deprecated, &t->values[i].reason);
		}
		t->n_values = n;
		break;
	}
	case GQL_INPUT_OBJECT:
		t->inputs = build_inputs(l, d->inputs, &t->n_inputs, DL_INPUT_FIELD_DEFINITION,
					 t->name);
		if (!l->failed && t->n_inputs == 0)
			lerr(l, d->loc, "input '%s' must define one or more fields", t->name);
		break;
	}
}

static bool implements(const struct gql_type *t, const struct gql_type *iface)
{
	for (size_t i = 0; i < t->n_interfaces; i++)
		if (t->interfaces[i] == iface)
			return true;
	return false;
}

/* sub is a valid (covariant) replacement of super in an implementation. */
static bool subtype(const struct tref *sub, const struct tref *super)
{
	if (super->kind == TR_NONNULL)
		return sub->kind == TR_NONNULL && subtype(sub->of, super->of);
	if (sub->kind == TR_NONNULL)
		return subtype(sub->of, super);
	if (super->kind == TR_LIST)
		return sub->kind == TR_LIST && subtype(sub->of, super->of);
	if (sub->kind == TR_LIST)
		return false;
	if (sub->type == super->type)
		return true;
	if (super->type->kind == GQL_UNION)
		return sub->type->kind == GQL_OBJECT && gql__possible(super->type, sub->type);
	if (super->type->kind == GQL_INTERFACE)
		return (sub->type->kind == GQL_OBJECT || sub->type->kind == GQL_INTERFACE) &&
		       implements(sub->type, super->type);
	return false;
}

static void check_implementations(struct loader *l, const struct gql_type *t)
{
	for (size_t i = 0; i < t->n_interfaces && !l->failed; i++) {
		const struct gql_type *it = t->interfaces[i];
		if (it == t) {
			lerr(l, t->loc, "type '%s' cannot implement itself", t->name);
			return;
		}
		/* Transitive interfaces must be declared too. */
		for (size_t k = 0; k < it->n_interfaces; k++) {
			bool found = false;
			for (size_t m = 0; m < t->n_interfaces; m++)
				found |= t->interfaces[m] == it->interfaces[k];
			if (!found)
				lerr(l, t->loc, "type '%s' must implement '%s' because '%s' does",
				     t->name, it->interfaces[k]->name, it->name);
		}
		for (size_t j = 0; j < it->n_fields && !l->failed; j++) {
			const struct gql_field_def *ifd = &it->fields[j];
			const struct gql_field_def *fd = gql__find_field(t, ifd->name);
			if (!fd) {
				lerr(l, t->loc,
				     "'%s.%s' expected by interface '%s' is not provided", t->name,
				     ifd->name, it->name);
				return;
			}
			if (!subtype(fd->type, ifd->type)) {
				lerr(l, t->loc,
				     "'%s.%s' has a type incompatible with interface '%s'", t->name,
				     ifd->name, it->name);
				return;
			}
			for (size_t a = 0; a < ifd->n_args; a++) {
				const struct gql_input_def *ia = &ifd->args[a];
				const struct gql_input_def *fa = gql__find_input(
					fd->args, fd->n_args, ia->name);
				if (!fa || !gql__tref_equal(fa->type, ia->type)) {
					lerr(l, t->loc, "'%s.%s(%s:)' must match interface '%s'",
					     t->name, ifd->name, ia->name, it->name);
					return;
				}
			}
			for (size_t a = 0; a < fd->n_args; a++)
				if (fd->args[a].type->kind == TR_NONNULL && !fd->args[a].defval &&
				    !gql__find_input(ifd->args, ifd->n_args, fd->args[a].name))
					lerr(l, t->loc,
					     "'%s.%s(%s:)' is required but not in interface '%s'",
					     t->name, fd->name, fd->args[a].name, it->name);
		}
	}
}

/* An input object may not require itself through non-null fields only. */
static bool input_cycle(const struct gql_type *t, const struct gql_type *start, int depth)
{
	if (depth > 64)
		return true;
	for (size_t i = 0; i < t->n_inputs; i++) {
		const struct tref *r = t->inputs[i].type;
		if (r->kind != TR_NONNULL || r->of->kind != TR_NAMED ||
		    r->of->type->kind != GQL_INPUT_OBJECT)
			continue;
		if (r->of->type == start || input_cycle(r->of->type, start, depth + 1))
			return true;
	}
	return false;
}

static void check_defaults(struct loader *l, const struct gql_input_def *a, size_t n,
			   const char *owner)
{
	for (size_t i = 0; i < n && !l->failed; i++) {
		char msg[300];
		if (a[i].defval &&
		    gql__check_literal(l->s, a[i].defval, a[i].type, msg, sizeof msg) < 0)
			lerr(l, a[i].loc, "invalid default value of '%s' in '%s': %s", a[i].name,
			     owner, msg);
	}
}

static int load(struct gql_schema *s, const char *sdl, size_t len, bool builtin, char *err,
		size_t errlen)
{
	struct arena tmp;
	struct parse_error pe;
	struct loader l = {s, builtin, err, errlen, false};
	arena_init(&tmp);
	struct ast_doc *d = gql__parse(sdl, len, &tmp, NULL, &pe);
	if (!d) {
		struct gql_loc loc = pe.loc;
		lerr(&l, loc, "%s", pe.message);
		goto out;
	}
	if (d->has_executable) {
		struct gql_loc loc = d->ops ? d->ops->loc : d->frags->loc;
		lerr(&l, loc, "a schema may not contain operations or fragments");
		goto out;
	}
	size_t first_new = s->n_types;
	for (const struct ast_typedef *td = d->types; td && !l.failed; td = td->next) {
		check_name(&l, td->name, td->loc);
		if (gql__find_type(s, td->name)) {
			lerr(&l, td->loc, "type '%s' defined twice", td->name);
			break;
		}
		struct gql_type *t = arena_alloc(&s->arena, sizeof *t);
		t->kind = td->kind;
		t->name = sdup(&l, td->name);
		t->desc = sdup(&l, td->desc);
		t->builtin = builtin;
		t->loc = td->loc;
		add_type(s, t);
	}
	for (const struct ast_dirdef *dd = d->dirdefs; dd && !l.failed; dd = dd->next) {
		check_name(&l, dd->name, dd->loc);
		if (gql__find_dir(s, dd->name)) {
			lerr(&l, dd->loc, "directive '@%s' defined twice", dd->name);
			break;
		}
		struct gql_dir_def *dir = arena_alloc(&s->arena, sizeof *dir);
		dir->name = sdup(&l, dd->name);
		dir->desc = sdup(&l, dd->desc);
		dir->repeatable = dd->repeatable;
		for (const struct ast_name *n = dd->locations; n; n = n->next) {
			int k;
			for (k = 0; k < DL_COUNT; k++)
				if (strcmp(gql__dir_loc_names[k], n->name) == 0)
					break;
			if (k == DL_COUNT) {
				lerr(&l, n->loc, "unknown directive location '%s'", n->name);
				break;
			}
			if (!(dir->locations & (1u << k)))
				dir->order[dir->n_order++] = (unsigned char)k;
			dir->locations |= 1u << k;
		}
		char owner[140];
		snprintf(owner, sizeof owner, "@%s", dd->name);
		dir->args = build_inputs(&l, dd->args, &dir->n_args, DL_ARGUMENT_DEFINITION, owner);
		add_dir(s, dir);
	}
	size_t i = first_new;
	for (const struct ast_typedef *td = d->types; td && !l.failed; td = td->next, i++)
		fill_type(&l, s->types[i], td);
	if (l.failed)
		goto out;
	/* Interfaces learn their implementations (objects and interfaces). */
	for (i = 0; i < s->n_types; i++) {
		struct gql_type *it = s->types[i];
		if (it->kind != GQL_INTERFACE)
			continue;
		size_t n = 0;
		for (size_t j = 0; j < s->n_types; j++)
			for (size_t k = 0; k < s->types[j]->n_interfaces; k++)
				n += s->types[j]->interfaces[k] == it &&
				     s->types[j]->kind == GQL_OBJECT;
		it->possible = n ? arena_alloc(&s->arena, n * sizeof *it->possible) : NULL;
		it->n_possible = 0;
		for (size_t j = 0; j < s->n_types; j++)
			for (size_t k = 0; k < s->types[j]->n_interfaces; k++)
				if (s->types[j]->interfaces[k] == it &&
				    s->types[j]->kind == GQL_OBJECT)
					it->possible[it->n_possible++] = s->types[j];
	}
	for (i = first_new; i < s->n_types && !l.failed; i++) {
		check_implementations(&l, s->types[i]);
		if (s->types[i]->kind == GQL_INPUT_OBJECT &&
		    input_cycle(s->types[i], s->types[i], 0))
			lerr(&l, s->types[i]->loc,
			     "input '%s' references itself through non-null fields",
			     s->types[i]->name);
	}
	/* Default values of arguments and input fields must be valid. */
	for (i = first_new; i < s->n_types && !l.failed; i++) {
		struct gql_type *t = s->types[i];
		check_defaults(&l, t->inputs, t->n_inputs, t->name);
		for (size_t f = 0; f < t->n_fields && !l.failed; f++)
			check_defaults(&l, t->fields[f].args, t->fields[f].n_args,
				       t->fields[f].name);
	}
	for (i = 0; i < s->n_dirs && !l.failed; i++)
		check_defaults(&l, s->dirs[i]->args, s->dirs[i]->n_args, s->dirs[i]->name);
	if (l.failed || builtin)
		goto out;
	/* Root operation types. */
	const struct ast_schemadef *sd = d->schemas;
	if (sd && sd->next) {
		lerr(&l, sd->next->loc, "only one schema definition is allowed");
		goto out;
	}
	const struct ast_name *roots[3] = {sd ? sd->query : NULL, sd ? sd->mutation : NULL,
					   sd ? sd->subscription : NULL};
	static const char *const defaults[3] = {"Query", "Mutation", "Subscription"};
	struct gql_type **slots[3] = {&s->query, &s->mutation, &s->subscription};
	for (int k = 0; k < 3 && !l.failed; k++) {
		const char *name = roots[k] ? roots[k]->name : sd ? NULL : defaults[k];
		if (!name)
			continue;
		struct gql_type *t = gql__find_type(s, name);
		if (!t) {
			if (roots[k])
				lerr(&l, roots[k]->loc, "unknown root type '%s'", name);
			continue;
		}
		if (t->kind != GQL_OBJECT) {
			struct gql_loc loc = roots[k] ? roots[k]->loc : t->loc;
			lerr(&l, loc, "root type '%s' must be an object type", name);
		}
		*slots[k] = t;
	}
	if (sd) {
		s->desc = sdup(&l, sd->desc);
		check_directives(&l, sd->dirs, DL_SCHEMA);
	}
	if (!l.failed && !s->query) {
		struct gql_loc loc = {1, 1};
		lerr(&l, loc, "the schema has no query root type");
	}
	if (!l.failed)
		s->loaded = true;
out:
	arena_release(&tmp);
	return l.failed ? -1 : 0;
}

static struct tref *mk_tref(struct gql_schema *s, struct gql_type *t, bool nonnull)
{
	struct tref *r = arena_alloc(&s->arena, sizeof *r);
	r->kind = TR_NAMED;
	r->type = t;
	r->name = t->name;
	if (!nonnull)
		return r;
	struct tref *nn = arena_alloc(&s->arena, sizeof *nn);
	nn->kind = TR_NONNULL;
	nn->of = r;
	return nn;
}

struct gql_schema *gql_schema_new(void)
{
	struct gql_schema *s = xcalloc(1, sizeof *s);
	char err[256];
	arena_init(&s->arena);
	if (load(s, gql__introspection_sdl, strlen(gql__introspection_sdl), true, err, sizeof err) <
	    0) {
		log_error("cannot load the built-in graphql schema", "error", err);
		abort();
	}
	s->typename_field.name = "__typename";
	s->typename_field.desc = "The name of the current Object type at runtime.";
	s->typename_field.type = mk_tref(s, gql__find_type(s, "String"), true);
	s->typename_field.builtin = true;
	s->schema_field.name = "__schema";
	s->schema_field.desc = "Access the current type schema of this server.";
	s->schema_field.type = mk_tref(s, gql__find_type(s, "__Schema"), true);
	s->schema_field.builtin = true;
	s->type_field.name = "__type";
	s->type_field.desc = "Request the type information of a single type.";
	s->type_field.type = mk_tref(s, gql__find_type(s, "__Type"), false);
	s->type_field.builtin = true;
	s->type_field.args = arena_alloc(&s->arena, sizeof *s->type_field.args);
	s->type_field.n_args = 1;
	s->type_field.args[0].name = "name";
	s->type_field.args[0].type = mk_tref(s, gql__find_type(s, "String"), true);
	gql__bind_introspection(s);
	return s;
}

void gql_schema_free(struct gql_schema *s)
{
	if (!s)
		return;
	arena_release(&s->arena);
	free(s->types);
	free(s->dirs);
	free(s);
}

int gql_schema_load(struct gql_schema *s, const char *sdl, size_t len, char *err, size_t errlen)
{
	if (s->loaded) {
		snprintf(err, errlen, "a schema is loaded once");
		return -1;
	}
	return load(s, sdl, len, false, err, errlen);
}

/* ---- binding ------------------------------------------------------------- */
static struct gql_type *coord_type(struct gql_schema *s, const char *coord, const char **field)
{
	const char *dot = strchr(coord, '.');
	if (!dot || dot == coord || !dot[1])
		return NULL;
	char name[256];
	size_t n = (size_t)(dot - coord);
	if (n >= sizeof name)
		return NULL;
	memcpy(name, coord, n);
	name[n] = '\0';
	*field = dot + 1;
	struct gql_type *t = gql__find_type(s, name);
	return (t && t->kind == GQL_OBJECT && !t->builtin) ? t : NULL;
}

static struct gql_field_def *coord_field(struct gql_schema *s, const char *coord)
{
	const char *f;
	struct gql_type *t = coord_type(s, coord, &f);
	return t ? gql__find_field(t, f) : NULL;
}

int gql_schema_bind(struct gql_schema *s, const char *coord, gql_resolve_fn fn, void *userdata)
{
	struct gql_field_def *fd = coord_field(s, coord);
	if (!fd || !fn)
		return -1;
	fd->resolve = fn;
	fd->batch = NULL;
	fd->userdata = userdata;
	return 0;
}

int gql_schema_bind_batch(struct gql_schema *s, const char *coord, gql_batch_fn fn, void *userdata)
{
	struct gql_field_def *fd = coord_field(s, coord);
	if (!fd || !fn)
		return -1;
	fd->batch = fn;
	fd->resolve = NULL;
	fd->userdata = userdata;
	return 0;
}

int gql_schema_bind_property(struct gql_schema *s, const char *coord)
{
	const char *f;
	struct gql_type *t = coord_type(s, coord, &f);
	if (!t)
		return -1;
	if (strcmp(f, "*") == 0) {
		for (size_t i = 0; i < t->n_fields; i++)
			t->fields[i].property = true;
		return 0;
	}
	struct gql_field_def *fd = gql__find_field(t, f);
	if (!fd)
		return -1;
	fd->property = true;
	return 0;
}

int gql_schema_check_bound(const struct gql_schema *s, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	int missing = 0;
	for (size_t i = 0; i < s->n_types; i++) {
		const struct gql_type *t = s->types[i];
		if (t->kind != GQL_OBJECT || t->builtin)
			continue;
		bool root = t == s->query || t == s->mutation || t == s->subscription;
		for (size_t j = 0; j < t->n_fields; j++) {
			const struct gql_field_def *fd = &t->fields[j];
			if (fd->resolve || fd->batch || (!root && fd->property))
				continue;
			if (buf_printf(&b, "%s%s.%s", missing ? ", " : "", t->name, fd->name) < 0)
				break;
			missing++;
		}
	}
	if (missing && errlen)
		snprintf(err, errlen, "%d field(s) without a resolver: %s", missing, b.data);
	buf_release(&b);
	return missing ? -1 : 0;
}
