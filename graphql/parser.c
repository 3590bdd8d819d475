/*
 * GraphQL parser (spec section 2 and the type-system grammar of section 3):
 * recursive descent over the lexer with one token of lookahead, building the
 * AST of gql_int.h in an arena. Nesting of every kind (selection sets, list
 * and object values, list types) shares one counter bounded by
 * parse_opts.max_nesting, so hostile input cannot exhaust the stack; the
 * token limit bounds memory. The first error stops parsing and carries the
 * line:column of the offending token.
 */
#include "graphql/gql_int.h"

struct parser {
	struct lexer lx;
	struct token tok; /* current lookahead */
	struct arena *a;
	int depth, max_depth;
	struct parse_error *err;
	bool failed;
};

static int perr(struct parser *p, struct gql_loc loc, const char *code, const char *fmt, ...)
	JS_PRINTF(4, 5);
static int perr(struct parser *p, struct gql_loc loc, const char *code, const char *fmt, ...)
{
	if (p->failed)
		return -1;
	p->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
	va_end(ap);
	p->err->loc = loc;
	p->err->code = code;
	return -1;
}

static int advance(struct parser *p)
{
	if (p->failed)
		return -1;
	if (lex_next(&p->lx, &p->tok) < 0) {
		p->failed = true;
		snprintf(p->err->message, sizeof p->err->message, "syntax error: %s", p->lx.err);
		p->err->loc = p->lx.err_loc;
		p->err->code = p->lx.err_code;
		return -1;
	}
	return 0;
}

static int unexpected(struct parser *p, const char *expected)
{
	const struct token *t = &p->tok;
	if (t->kind == T_NAME || t->kind == T_INT || t->kind == T_FLOAT)
		return perr(p, t->loc, "GRAPHQL_PARSE_FAILED",
			    "syntax error: expected %s, found %s \"%.40s\"", expected,
			    tok_kind_name(t->kind), t->value);
	return perr(p, t->loc, "GRAPHQL_PARSE_FAILED", "syntax error: expected %s, found %s",
		    expected, tok_kind_name(t->kind));
}

static bool peek(struct parser *p, enum tok_kind k)
{
	return !p->failed && p->tok.kind == k;
}

static bool peek_kw(struct parser *p, const char *kw)
{
	return peek(p, T_NAME) && strcmp(p->tok.value, kw) == 0;
}

/* Consume a token of kind k, else fail. */
static int expect(struct parser *p, enum tok_kind k)
{
	if (p->failed)
		return -1;
	if (p->tok.kind != k)
		return unexpected(p, tok_kind_name(k));
	return advance(p);
}

/* Consume k when present; true when it was. */
static bool skip(struct parser *p, enum tok_kind k)
{
	if (peek(p, k)) {
		advance(p);
		return !p->failed;
	}
	return false;
}

static int expect_kw(struct parser *p, const char *kw)
{
	if (!peek_kw(p, kw)) {
		char what[64];
		snprintf(what, sizeof what, "\"%s\"", kw);
		return unexpected(p, what);
	}
	return advance(p);
}

static const char *parse_name(struct parser *p, struct gql_loc *loc)
{
	if (!peek(p, T_NAME)) {
		unexpected(p, "Name");
		return NULL;
	}
	const char *n = p->tok.value;
	if (loc)
		*loc = p->tok.loc;
	if (advance(p) < 0)
		return NULL;
	return n;
}

static int enter(struct parser *p)
{
	if (++p->depth > p->max_depth)
		return perr(p, p->tok.loc, "QUERY_TOO_DEEP",
			    "document nesting exceeds the limit of %d", p->max_depth);
	return 0;
}

static void leave(struct parser *p)
{
	p->depth--;
}

/* ---- values and types ---------------------------------------------------- */
static struct ast_value *parse_value(struct parser *p, bool is_const);

static struct ast_value *parse_list_value(struct parser *p, bool is_const)
{
	struct ast_value *v = arena_alloc(p->a, sizeof *v), **tail = &v->items;
	v->kind = V_LIST;
	v->loc = p->tok.loc;
	if (enter(p) < 0 || expect(p, T_LBRACKET) < 0)
		return NULL;
	while (!p->failed && !peek(p, T_RBRACKET)) {
		if (peek(p, T_EOF)) {
			unexpected(p, "\"]\"");
			return NULL;
		}
		struct ast_value *it = parse_value(p, is_const);
		if (!it)
			return NULL;
		*tail = it;
		tail = &it->next;
	}
	if (expect(p, T_RBRACKET) < 0)
		return NULL;
	leave(p);
	return v;
}

static struct ast_value *parse_object_value(struct parser *p, bool is_const)
{
	struct ast_value *v = arena_alloc(p->a, sizeof *v);
	struct ast_objfield **tail = &v->fields;
	v->kind = V_OBJECT;
	v->loc = p->tok.loc;
	if (enter(p) < 0 || expect(p, T_LBRACE) < 0)
		return NULL;
	while (!p->failed && !peek(p, T_RBRACE)) {
		struct ast_objfield *f = arena_alloc(p->a, sizeof *f);
		f->name = parse_name(p, &f->loc);
		if (!f->name || expect(p, T_COLON) < 0)
			return NULL;
		f->value = parse_value(p, is_const);
		if (!f->value)
			return NULL;
		*tail = f;
		tail = &f->next;
	}
	if (expect(p, T_RBRACE) < 0)
		return NULL;
	leave(p);
	return v;
}

static struct ast_value *parse_value(struct parser *p, bool is_const)
{
	if (p->failed)
		return NULL;
	struct token *t = &p->tok;
	struct ast_value *v;
	switch (t->kind) {
	case T_LBRACKET:
		return parse_list_value(p, is_const);
	case T_LBRACE:
		return parse_object_value(p, is_const);
	case T_DOLLAR:
		if (is_const) {
			perr(p, t->loc, "GRAPHQL_PARSE_FAILED",
			     "syntax error: unexpected variable in a constant value");
			return NULL;
		}
		v = arena_alloc(p->a, sizeof *v);
		v->kind = V_VAR;
		v->loc = t->loc;
		if (advance(p) < 0)
			return NULL;
		v->str = parse_name(p, NULL);
		if (!v->str)
			return NULL;
		v->len = strlen(v->str);
		return v;
	case T_INT:
	case T_FLOAT:
	case T_STRING:
	case T_BLOCK_STRING:
		v = arena_alloc(p->a, sizeof *v);
		v->kind = t->kind == T_INT ? V_INT : t->kind == T_FLOAT ? V_FLOAT : V_STRING;
		v->loc = t->loc;
		v->str = t->value;
		v->len = t->value_len;
		return advance(p) < 0 ? NULL : v;
	case T_NAME:
		v = arena_alloc(p->a, sizeof *v);
		v->loc = t->loc;
		v->str = t->value;
		v->len = t->value_len;
		if (strcmp(t->value, "true") == 0 || strcmp(t->value, "false") == 0) {
			v->kind = V_BOOL;
			v->b = t->value[0] == 't';
		} else if (strcmp(t->value, "null") == 0) {
			v->kind = V_NULL;
		} else {
			v->kind = V_ENUM;
		}
		return advance(p) < 0 ? NULL : v;
	default:
		unexpected(p, "a value");
		return NULL;
	}
}

static struct tref *parse_type(struct parser *p)
{
	struct tref *t = arena_alloc(p->a, sizeof *t);
	t->loc = p->tok.loc;
	if (peek(p, T_LBRACKET)) {
		if (enter(p) < 0 || advance(p) < 0)
			return NULL;
		t->kind = TR_LIST;
		t->of = parse_type(p);
		if (!t->of || expect(p, T_RBRACKET) < 0)
			return NULL;
		leave(p);
	} else {
		t->kind = TR_NAMED;
		t->name = parse_name(p, NULL);
		if (!t->name)
			return NULL;
	}
	if (peek(p, T_BANG)) {
		if (advance(p) < 0)
			return NULL;
		struct tref *nn = arena_alloc(p->a, sizeof *nn);
		nn->kind = TR_NONNULL;
		nn->of = t;
		nn->loc = t->loc;
		return nn;
	}
	return t;
}

/* ---- directives and arguments -------------------------------------------- */
static int parse_arguments(struct parser *p, bool is_const, struct ast_arg **out)
{
	struct ast_arg **tail = out;
	*out = NULL;
	if (!peek(p, T_LPAREN))
		return 0;
	if (advance(p) < 0)
		return -1;
	if (peek(p, T_RPAREN))
		return unexpected(p, "Name");
	while (!p->failed && !peek(p, T_RPAREN)) {
		struct ast_arg *a = arena_alloc(p->a, sizeof *a);
		a->name = parse_name(p, &a->loc);
		if (!a->name || expect(p, T_COLON) < 0)
			return -1;
		a->value = parse_value(p, is_const);
		if (!a->value)
			return -1;
		*tail = a;
		tail = &a->next;
	}
	return expect(p, T_RPAREN);
}

static int parse_directives(struct parser *p, bool is_const, struct ast_directive **out)
{
	struct ast_directive **tail = out;
	*out = NULL;
	while (peek(p, T_AT)) {
		struct ast_directive *d = arena_alloc(p->a, sizeof *d);
		d->loc = p->tok.loc;
		if (advance(p) < 0)
			return -1;
		d->name = parse_name(p, NULL);
		if (!d->name || parse_arguments(p, is_const, &d->args) < 0)
			return -1;
		*tail = d;
		tail = &d->next;
	}
	return p->failed ? -1 : 0;
}

/* ---- executable definitions ---------------------------------------------- */
static struct ast_selset *parse_selset(struct parser *p);

static struct ast_sel *parse_selection(struct parser *p)
{
	struct ast_sel *s = arena_alloc(p->a, sizeof *s);
	s->loc = p->tok.loc;
	if (peek(p, T_SPREAD)) {
		if (advance(p) < 0)
			return NULL;
		if (peek(p, T_NAME) && !peek_kw(p, "on")) {
			s->kind = SEL_SPREAD;
			s->name = parse_name(p, NULL);
			if (!s->name || parse_directives(p, false, &s->dirs) < 0)
				return NULL;
			return s;
		}
		s->kind = SEL_INLINE;
		if (peek_kw(p, "on")) {
			if (advance(p) < 0)
				return NULL;
			s->type_cond = parse_name(p, &s->cond_loc);
			if (!s->type_cond)
				return NULL;
		}
		if (parse_directives(p, false, &s->dirs) < 0)
			return NULL;
		s->selset = parse_selset(p);
		return s->selset ? s : NULL;
	}
	s->kind = SEL_FIELD;
	s->name = parse_name(p, NULL);
	if (!s->name)
		return NULL;
	if (skip(p, T_COLON)) {
		s->alias = s->name;
		s->name = parse_name(p, NULL);
		if (!s->name)
			return NULL;
	}
	if (parse_arguments(p, false, &s->args) < 0 || parse_directives(p, false, &s->dirs) < 0)
		return NULL;
	if (peek(p, T_LBRACE)) {
		s->selset = parse_selset(p);
		if (!s->selset)
			return NULL;
	}
	return p->failed ? NULL : s;
}

static struct ast_selset *parse_selset(struct parser *p)
{
	struct ast_selset *ss = arena_alloc(p->a, sizeof *ss);
	struct ast_sel **tail = &ss->first;
	ss->loc = p->tok.loc;
	if (enter(p) < 0 || expect(p, T_LBRACE) < 0)
		return NULL;
	if (peek(p, T_RBRACE)) {
		unexpected(p, "Name");
		return NULL;
	}
	while (!p->failed && !peek(p, T_RBRACE)) {
		struct ast_sel *s = parse_selection(p);
		if (!s)
			return NULL;
		*tail = s;
		tail = &s->next;
	}
	if (expect(p, T_RBRACE) < 0)
		return NULL;
	leave(p);
	return ss;
}

static int parse_vardefs(struct parser *p, struct ast_vardef **out)
{
	struct ast_vardef **tail = out;
	if (!peek(p, T_LPAREN))
		return 0;
	if (advance(p) < 0)
		return -1;
	if (peek(p, T_RPAREN))
		return unexpected(p, "\"$\"");
	while (!p->failed && !peek(p, T_RPAREN)) {
		struct ast_vardef *v = arena_alloc(p->a, sizeof *v);
		v->loc = p->tok.loc;
		if (expect(p, T_DOLLAR) < 0)
			return -1;
		v->name = parse_name(p, NULL);
		if (!v->name || expect(p, T_COLON) < 0)
			return -1;
		v->type = parse_type(p);
		if (!v->type)
			return -1;
		if (skip(p, T_EQUALS)) {
			v->defval = parse_value(p, true);
			if (!v->defval)
				return -1;
		}
		if (parse_directives(p, true, &v->dirs) < 0)
			return -1;
		*tail = v;
		tail = &v->next;
	}
	return expect(p, T_RPAREN);
}

static struct ast_op *parse_operation(struct parser *p)
{
	struct ast_op *op = arena_alloc(p->a, sizeof *op);
	op->loc = p->tok.loc;
	if (peek(p, T_LBRACE)) {
		op->op = OP_QUERY;
		op->selset = parse_selset(p);
		return op->selset ? op : NULL;
	}
	if (peek_kw(p, "query"))
		op->op = OP_QUERY;
	else if (peek_kw(p, "mutation"))
		op->op = OP_MUTATION;
	else if (peek_kw(p, "subscription"))
		op->op = OP_SUBSCRIPTION;
	if (advance(p) < 0)
		return NULL;
	if (peek(p, T_NAME)) {
		op->name = parse_name(p, NULL);
		if (!op->name)
			return NULL;
	}
	if (parse_vardefs(p, &op->vars) < 0 || parse_directives(p, false, &op->dirs) < 0)
		return NULL;
	op->selset = parse_selset(p);
	return op->selset ? op : NULL;
}

static struct ast_fragment *parse_fragment(struct parser *p)
{
	struct ast_fragment *f = arena_alloc(p->a, sizeof *f);
	f->loc = p->tok.loc;
	f->depth_memo = -1;
	f->spread_memo = -1;
	if (expect_kw(p, "fragment") < 0)
		return NULL;
	if (peek_kw(p, "on")) {
		unexpected(p, "a fragment name other than \"on\"");
		return NULL;
	}
	f->name = parse_name(p, NULL);
	if (!f->name || expect_kw(p, "on") < 0)
		return NULL;
	f->type_cond = parse_name(p, &f->cond_loc);
	if (!f->type_cond || parse_directives(p, false, &f->dirs) < 0)
		return NULL;
	f->selset = parse_selset(p);
	return f->selset ? f : NULL;
}

/* ---- type-system definitions --------------------------------------------- */
static const char *parse_description(struct parser *p)
{
	if (peek(p, T_STRING) || peek(p, T_BLOCK_STRING)) {
		const char *d = p->tok.value;
		return advance(p) < 0 ? NULL : d;
	}
	return NULL;
}

static struct ast_input_value *parse_input_values(struct parser *p, enum tok_kind open,
						  enum tok_kind close)
{
	struct ast_input_value *first = NULL, **tail = &first;
	if (expect(p, open) < 0)
		return NULL;
	while (!p->failed && !peek(p, close)) {
		struct ast_input_value *iv = arena_alloc(p->a, sizeof *iv);
		iv->desc = parse_description(p);
		iv->name = parse_name(p, &iv->loc);
		if (!iv->name || expect(p, T_COLON) < 0)
			return NULL;
		iv->type = parse_type(p);
		if (!iv->type)
			return NULL;
		if (skip(p, T_EQUALS)) {
			iv->defval = parse_value(p, true);
			if (!iv->defval)
				return NULL;
		}
		if (parse_directives(p, true, &iv->dirs) < 0)
			return NULL;
		*tail = iv;
		tail = &iv->next;
	}
	if (expect(p, close) < 0)
		return NULL;
	return first;
}

static struct ast_name *parse_implements(struct parser *p)
{
	struct ast_name *first = NULL, **tail = &first;
	if (!peek_kw(p, "implements"))
		return NULL;
	advance(p);
	skip(p, T_AMP);
	do {
		struct ast_name *n = arena_alloc(p->a, sizeof *n);
		n->name = parse_name(p, &n->loc);
		if (!n->name)
			return NULL;
		*tail = n;
		tail = &n->next;
	} while (skip(p, T_AMP));
	return first;
}

static struct ast_field_def *parse_field_defs(struct parser *p)
{
	struct ast_field_def *first = NULL, **tail = &first;
	if (!peek(p, T_LBRACE))
		return NULL;
	advance(p);
	while (!p->failed && !peek(p, T_RBRACE)) {
		struct ast_field_def *f = arena_alloc(p->a, sizeof *f);
		f->desc = parse_description(p);
		f->name = parse_name(p, &f->loc);
		if (!f->name)
			return NULL;
		if (peek(p, T_LPAREN)) {
			f->args = parse_input_values(p, T_LPAREN, T_RPAREN);
			if (p->failed)
				return NULL;
		}
		if (expect(p, T_COLON) < 0)
			return NULL;
		f->type = parse_type(p);
		if (!f->type || parse_directives(p, true, &f->dirs) < 0)
			return NULL;
		*tail = f;
		tail = &f->next;
	}
	expect(p, T_RBRACE);
	return first;
}

static struct ast_typedef *parse_typedef(struct parser *p, const char *desc)
{
	struct ast_typedef *t = arena_alloc(p->a, sizeof *t);
	t->desc = desc;
	t->loc = p->tok.loc;
	const char *kw = p->tok.value;
	if (strcmp(kw, "scalar") == 0)
		t->kind = GQL_SCALAR;
	else if (strcmp(kw, "type") == 0)
		t->kind = GQL_OBJECT;
	else if (strcmp(kw, "interface") == 0)
		t->kind = GQL_INTERFACE;
	else if (strcmp(kw, "union") == 0)
		t->kind = GQL_UNION;
	else if (strcmp(kw, "enum") == 0)
		t->kind = GQL_ENUM;
	else
		t->kind = GQL_INPUT_OBJECT;
	if (advance(p) < 0)
		return NULL;
	t->name = parse_name(p, NULL);
	if (!t->name)
		return NULL;
	switch (t->kind) {
	case GQL_SCALAR:
		parse_directives(p, true, &t->dirs);
		break;
	case GQL_OBJECT:
	case GQL_INTERFACE:
		t->interfaces = parse_implements(p);
		if (!p->failed)
			parse_directives(p, true, &t->dirs);
		if (!p->failed)
			t->fields = parse_field_defs(p);
		break;
	case GQL_UNION:
		parse_directives(p, true, &t->dirs);
		if (skip(p, T_EQUALS)) {
			struct ast_name **tail = &t->members;
			skip(p, T_PIPE);
			do {
				struct ast_name *n = arena_alloc(p->a, sizeof *n);
				n->name = parse_name(p, &n->loc);
				if (!n->name)
					return NULL;
				*tail = n;
				tail = &n->next;
			} while (skip(p, T_PIPE));
		}
		break;
	case GQL_ENUM:
		parse_directives(p, true, &t->dirs);
		if (skip(p, T_LBRACE)) {
			struct ast_enum_value **tail = &t->values;
			while (!p->failed && !peek(p, T_RBRACE)) {
				struct ast_enum_value *ev = arena_alloc(p->a, sizeof *ev);
				ev->desc = parse_description(p);
				ev->name = parse_name(p, &ev->loc);
				if (!ev->name)
					return NULL;
				if (!strcmp(ev->name, "true") || !strcmp(ev->name, "false") ||
				    !strcmp(ev->name, "null")) {
					perr(p, ev->loc, "GRAPHQL_PARSE_FAILED",
					     "syntax error: '%s' is reserved and cannot be an enum value",
					     ev->name);
					return NULL;
				}
				if (parse_directives(p, true, &ev->dirs) < 0)
					return NULL;
				*tail = ev;
				tail = &ev->next;
			}
			expect(p, T_RBRACE);
		}
		break;
	case GQL_INPUT_OBJECT:
		parse_directives(p, true, &t->dirs);
		if (peek(p, T_LBRACE))
			t->inputs = parse_input_values(p, T_LBRACE, T_RBRACE);
		break;
	}
	return p->failed ? NULL : t;
}

static struct ast_dirdef *parse_dirdef(struct parser *p, const char *desc)
{
	struct ast_dirdef *d = arena_alloc(p->a, sizeof *d);
	d->desc = desc;
	d->loc = p->tok.loc;
	if (expect_kw(p, "directive") < 0 || expect(p, T_AT) < 0)
		return NULL;
	d->name = parse_name(p, NULL);
	if (!d->name)
		return NULL;
	if (peek(p, T_LPAREN)) {
		d->args = parse_input_values(p, T_LPAREN, T_RPAREN);
		if (p->failed)
			return NULL;
	}
	if (peek_kw(p, "repeatable")) {
		d->repeatable = true;
		advance(p);
	}
	if (expect_kw(p, "on") < 0)
		return NULL;
	skip(p, T_PIPE);
	struct ast_name **tail = &d->locations;
	do {
		struct ast_name *n = arena_alloc(p->a, sizeof *n);
		n->name = parse_name(p, &n->loc);
		if (!n->name)
			return NULL;
		*tail = n;
		tail = &n->next;
	} while (skip(p, T_PIPE));
	return p->failed ? NULL : d;
}

static struct ast_schemadef *parse_schemadef(struct parser *p, const char *desc)
{
	struct ast_schemadef *s = arena_alloc(p->a, sizeof *s);
	s->desc = desc;
	s->loc = p->tok.loc;
	if (expect_kw(p, "schema") < 0 || parse_directives(p, true, &s->dirs) < 0 ||
	    expect(p, T_LBRACE) < 0)
		return NULL;
	do {
		struct gql_loc l = p->tok.loc;
		const char *opname = parse_name(p, NULL);
		if (!opname || expect(p, T_COLON) < 0)
			return NULL;
		struct ast_name *n = arena_alloc(p->a, sizeof *n);
		n->name = parse_name(p, &n->loc);
		if (!n->name)
			return NULL;
		struct ast_name **slot = !strcmp(opname, "query")          ? &s->query
					 : !strcmp(opname, "mutation")     ? &s->mutation
					 : !strcmp(opname, "subscription") ? &s->subscription
									   : NULL;
		if (!slot) {
			perr(p, l, "GRAPHQL_PARSE_FAILED",
			     "syntax error: unknown operation type '%s'", opname);
			return NULL;
		}
		*slot = n;
	} while (!p->failed && !peek(p, T_RBRACE));
	return expect(p, T_RBRACE) < 0 ? NULL : s;
}

static bool is_typedef_kw(struct parser *p)
{
	return peek_kw(p, "scalar") || peek_kw(p, "type") || peek_kw(p, "interface") ||
	       peek_kw(p, "union") || peek_kw(p, "enum") || peek_kw(p, "input");
}

static int parse_definition(struct parser *p, struct ast_doc *d, void ***tails)
{
	if (peek(p, T_LBRACE) || peek_kw(p, "query") || peek_kw(p, "mutation") ||
	    peek_kw(p, "subscription")) {
		struct ast_op *op = parse_operation(p);
		if (!op)
			return -1;
		*(struct ast_op **)tails[0] = op;
		tails[0] = (void **)&op->next;
		d->has_executable = true;
		return 0;
	}
	if (peek_kw(p, "fragment")) {
		struct ast_fragment *f = parse_fragment(p);
		if (!f)
			return -1;
		*(struct ast_fragment **)tails[1] = f;
		tails[1] = (void **)&f->next;
		d->has_executable = true;
		return 0;
	}
	struct gql_loc loc = p->tok.loc;
	const char *desc = parse_description(p);
	if (p->failed)
		return -1;
	if (!d->has_sdl)
		d->first_sdl_loc = loc;
	if (is_typedef_kw(p)) {
		struct ast_typedef *t = parse_typedef(p, desc);
		if (!t)
			return -1;
		*(struct ast_typedef **)tails[2] = t;
		tails[2] = (void **)&t->next;
	} else if (peek_kw(p, "directive")) {
		struct ast_dirdef *dd = parse_dirdef(p, desc);
		if (!dd)
			return -1;
		*(struct ast_dirdef **)tails[3] = dd;
		tails[3] = (void **)&dd->next;
	} else if (peek_kw(p, "schema")) {
		struct ast_schemadef *s = parse_schemadef(p, desc);
		if (!s)
			return -1;
		*(struct ast_schemadef **)tails[4] = s;
		tails[4] = (void **)&s->next;
	} else if (peek_kw(p, "extend")) {
		return perr(p, p->tok.loc, "GRAPHQL_PARSE_FAILED",
			    "syntax error: type extensions are not supported");
	} else {
		return unexpected(p, desc ? "a type-system definition" : "a definition");
	}
	d->has_sdl = true;
	return 0;
}

struct ast_doc *gql__parse(const char *src, size_t len, struct arena *a, const struct parse_opts *o,
			   struct parse_error *err)
{
	struct parser p;
	memset(&p, 0, sizeof p);
	memset(err, 0, sizeof *err);
	p.a = a;
	p.err = err;
	p.max_depth = (o && o->max_nesting > 0) ? o->max_nesting : 128;
	lex_init(&p.lx, src, len, a, o ? o->max_tokens : 0);
	struct ast_doc *d = arena_alloc(a, sizeof *d);
	void **tails[5] = {(void **)&d->ops, (void **)&d->frags, (void **)&d->types,
			   (void **)&d->dirdefs, (void **)&d->schemas};
	if (advance(&p) < 0)
		return NULL;
	if (peek(&p, T_EOF)) {
		perr(&p, p.tok.loc, "GRAPHQL_PARSE_FAILED", "syntax error: the document is empty");
		return NULL;
	}
	while (!p.failed && !peek(&p, T_EOF))
		if (parse_definition(&p, d, tails) < 0)
			break;
	if (p.failed)
		return NULL;
	d->n_tokens = p.lx.n_tokens;
	return d;
}
