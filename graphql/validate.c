/*
 * Validation (spec section 5) of an executable document against a schema.
 * One walk over every operation and fragment definition resolves fields,
 * fragments and type conditions onto the AST (the executor relies on that),
 * and checks fields, arguments, directives, values and leaf selections; it
 * records each definition's variable usages and fragment spreads, from which
 * the per-operation variable rules, fragment cycles and unused fragments
 * are decided. Field merging follows the spec's FieldsInSetCanMerge with a
 * comparison budget so a hostile document cannot make it quadratic forever.
 * Depth and alias limits are computed here too, fragments memoised.
 */
#include "graphql/gql_int.h"

#define CODE "GRAPHQL_VALIDATION_FAILED"
#define MERGE_BUDGET 2000000L
#define MAX_SPREAD_NESTING 100

struct vctx {
	const struct gql_schema *s;
	struct ast_doc *doc;
	struct err_list *errs;
	struct arena *a;
	/* Where usages and spreads of the definition being walked go. */
	struct var_usage **usages;
	struct ast_name **spreads;
	long budget;
	bool budget_reported;
	size_t n_frags;
};

#define VERR(c, l1, l2, ...) gql__err_add((c)->errs, CODE, (l1), (l2), __VA_ARGS__)

static struct ast_fragment *find_fragment(const struct ast_doc *d, const char *name)
{
	for (struct ast_fragment *f = d->frags; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static const char *tstr(struct vctx *c, const struct tref *t)
{
	struct buf b = BUF_INIT;
	const char *r = "?";
	if (gql__tref_str(t, &b) == 0)
		r = arena_strndup(c->a, b.data, b.len);
	buf_release(&b);
	return r;
}

static const char *vstr(struct vctx *c, const struct ast_value *v)
{
	struct buf b = BUF_INIT;
	buf_init(&b, 200);
	const char *r = "...";
	if (gql__value_literal(v, &b) == 0)
		r = arena_strndup(c->a, b.data, b.len);
	buf_release(&b);
	return r;
}

/* ---- values of correct type (5.6.1) and input objects (5.6.2-5.6.4) -------- */
static bool int32_literal(const char *s)
{
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= INT32_MIN && v <= INT32_MAX;
}

static void add_usage(struct vctx *c, const struct ast_value *v, const struct tref *type,
		      bool has_default)
{
	if (!c->usages)
		return;
	struct var_usage *u = arena_alloc(c->a, sizeof *u);
	u->name = v->str;
	u->loc = v->loc;
	u->type = type;
	u->has_default = has_default;
	u->next = *c->usages;
	*c->usages = u;
}

/*
 * Check literal v against input type t. Returns false after reporting. Only
 * the first problem of one value is reported.
 */
static bool check_value_as(struct vctx *c, const struct ast_value *v, const struct tref *t,
			   bool has_default, const struct tref *shown);

static bool check_value(struct vctx *c, const struct ast_value *v, const struct tref *t,
			bool has_default)
{
	return check_value_as(c, v, t, has_default, t);
}

/* shown: the type named in messages (the non-null type around t). */
static bool check_value_as(struct vctx *c, const struct ast_value *v, const struct tref *t,
			   bool has_default, const struct tref *shown)
{
	if (v->kind == V_VAR) {
		add_usage(c, v, t, has_default);
		return true;
	}
	if (t->kind == TR_NONNULL) {
		if (v->kind == V_NULL) {
			VERR(c, &v->loc, NULL, "Expected value of type \"%s\", found null.",
			     tstr(c, t));
			return false;
		}
		return check_value_as(c, v, t->of, false, t);
	}
	if (v->kind == V_NULL)
		return true;
	if (t->kind == TR_LIST) {
		if (v->kind != V_LIST)
			return check_value(c, v, t->of, false);
		for (const struct ast_value *it = v->items; it; it = it->next)
			if (!check_value(c, it, t->of, false))
				return false;
		return true;
	}
	const struct gql_type *nt = t->type;
	if (!nt)
		return true;
	bool ok = true;
	if (nt->kind == GQL_SCALAR) {
		if (!strcmp(nt->name, "Int"))
			ok = v->kind == V_INT && int32_literal(v->str);
		else if (!strcmp(nt->name, "Float"))
			ok = v->kind == V_INT || v->kind == V_FLOAT;
		else if (!strcmp(nt->name, "String"))
			ok = v->kind == V_STRING;
		else if (!strcmp(nt->name, "Boolean"))
			ok = v->kind == V_BOOL;
		else if (!strcmp(nt->name, "ID"))
			ok = v->kind == V_STRING || v->kind == V_INT;
		/* Custom scalars accept any literal. */
	} else if (nt->kind == GQL_ENUM) {
		ok = false;
		if (v->kind == V_ENUM)
			for (size_t i = 0; i < nt->n_values; i++)
				ok |= strcmp(nt->values[i].name, v->str) == 0;
	} else if (nt->kind == GQL_INPUT_OBJECT) {
		if (v->kind != V_OBJECT) {
			ok = false;
		} else {
			for (const struct ast_objfield *f = v->fields; f; f = f->next) {
				for (const struct ast_objfield *g = v->fields; g != f; g = g->next)
					if (strcmp(g->name, f->name) == 0) {
						VERR(c, &g->loc, &f->loc,
						     "There can be only one input field named \"%s\".",
						     f->name);
						return false;
					}
				const struct gql_input_def *fd = gql__find_input(
					nt->inputs, nt->n_inputs, f->name);
				if (!fd) {
					VERR(c, &f->loc, NULL,
					     "Field \"%s\" is not defined by type \"%s\".", f->name,
					     nt->name);
					return false;
				}
				if (!check_value(c, f->value, fd->type, fd->defval != NULL))
					return false;
			}
			for (size_t i = 0; i < nt->n_inputs; i++) {
				const struct gql_input_def *fd = &nt->inputs[i];
				if (fd->type->kind != TR_NONNULL || fd->defval)
					continue;
				bool present = false;
				for (const struct ast_objfield *f = v->fields; f; f = f->next)
					present |= strcmp(f->name, fd->name) == 0;
				if (!present) {
					VERR(c, &v->loc, NULL,
					     "Field \"%s.%s\" of required type \"%s\" was not provided.",
					     nt->name, fd->name, tstr(c, fd->type));
					return false;
				}
			}
		}
	}
	if (!ok) {
		VERR(c, &v->loc, NULL, "Expected value of type \"%s\", found %s.", tstr(c, shown),
		     vstr(c, v));
		return false;
	}
	return true;
}

/* Arguments of a field or directive: known names (5.4.1), uniqueness (5.4.2),
 * required arguments (5.4.2.1) and their values. */
static void check_args(struct vctx *c, const struct ast_arg *args, const struct gql_input_def *defs,
		       size_t n_defs, const char *what, const char *name, struct gql_loc where)
{
	for (const struct ast_arg *a = args; a; a = a->next) {
		for (const struct ast_arg *b = args; b != a; b = b->next)
			if (strcmp(a->name, b->name) == 0) {
				VERR(c, &b->loc, &a->loc,
				     "There can be only one argument named \"%s\".", a->name);
				break;
			}
		const struct gql_input_def *d = gql__find_input((struct gql_input_def *)defs,
								n_defs, a->name);
		if (!d) {
			VERR(c, &a->loc, NULL, "Unknown argument \"%s\" on %s \"%s\".", a->name,
			     what, name);
			continue;
		}
		check_value(c, a->value, d->type, d->defval != NULL);
	}
	for (size_t i = 0; i < n_defs; i++) {
		const struct gql_input_def *d = &defs[i];
		if (d->type->kind != TR_NONNULL || d->defval)
			continue;
		bool present = false;
		for (const struct ast_arg *a = args; a; a = a->next)
			present |= strcmp(a->name, d->name) == 0;
		if (!present)
			VERR(c, &where, NULL,
			     "%s \"%s\" argument \"%s\" of type \"%s\" is required, but it was not "
			     "provided.",
			     what[0] == 'f' ? "Field" : "Directive", name, d->name,
			     tstr(c, d->type));
	}
}

/* Directives defined (5.7.1), in valid locations (5.7.2), unique (5.7.3). */
static void check_directives(struct vctx *c, const struct ast_directive *dirs, enum dir_loc where)
{
	for (const struct ast_directive *d = dirs; d; d = d->next) {
		const struct gql_dir_def *dd = gql__find_dir(c->s, d->name);
		if (!dd) {
			VERR(c, &d->loc, NULL, "Unknown directive \"@%s\".", d->name);
			continue;
		}
		if (!(dd->locations & (1u << where)))
			VERR(c, &d->loc, NULL, "Directive \"@%s\" may not be used on %s.", d->name,
			     gql__dir_loc_names[where]);
		if (!dd->repeatable)
			for (const struct ast_directive *e = dirs; e != d; e = e->next)
				if (strcmp(e->name, d->name) == 0) {
					VERR(c, &e->loc, &d->loc,
					     "The directive \"@%s\" can only be used once at this location.",
					     d->name);
					break;
				}
		char nm[140];
		snprintf(nm, sizeof nm, "@%s", d->name);
		check_args(c, d->args, dd->args, dd->n_args, "directive", nm, d->loc);
	}
}

/* ---- the walk over selections ---------------------------------------------- */
/* Fragment spread is possible (5.5.2.3). */
static bool types_overlap(const struct gql_type *a, const struct gql_type *b)
{
	if (a == b)
		return true;
	if (a->kind == GQL_OBJECT)
		return b->kind != GQL_OBJECT && gql__possible(b, a);
	if (b->kind == GQL_OBJECT)
		return gql__possible(a, b);
	for (size_t i = 0; i < a->n_possible; i++)
		if (gql__possible(b, a->possible[i]))
			return true;
	return false;
}

static void walk_selset(struct vctx *c, struct ast_selset *ss, struct gql_type *parent);

static void walk_field(struct vctx *c, struct ast_sel *sel, struct gql_type *parent)
{
	struct gql_field_def *fd = gql__field_on(c->s, parent, sel->name);
	check_directives(c, sel->dirs, DL_FIELD);
	if (!fd) {
		VERR(c, &sel->loc, NULL, "Cannot query field \"%s\" on type \"%s\".", sel->name,
		     parent->name);
		return;
	}
	sel->def = fd;
	char nm[300];
	snprintf(nm, sizeof nm, "%s.%s", parent->name, fd->name);
	check_args(c, sel->args, fd->args, fd->n_args, "field", nm, sel->loc);
	struct gql_type *rt = gql__named(fd->type);
	if (gql__is_leaf(rt)) {
		if (sel->selset)
			VERR(c, &sel->selset->loc, NULL,
			     "Field \"%s\" must not have a selection since type \"%s\" has no subfields.",
			     sel->name, tstr(c, fd->type));
	} else if (!sel->selset) {
		VERR(c, &sel->loc, NULL,
		     "Field \"%s\" of type \"%s\" must have a selection of subfields. Did you mean "
		     "\"%s { ... }\"?",
		     sel->name, tstr(c, fd->type), sel->name);
	} else {
		walk_selset(c, sel->selset, rt);
	}
}

static void walk_selset(struct vctx *c, struct ast_selset *ss, struct gql_type *parent)
{
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		switch (sel->kind) {
		case SEL_FIELD:
			walk_field(c, sel, parent);
			break;
		case SEL_INLINE: {
			check_directives(c, sel->dirs, DL_INLINE_FRAGMENT);
			struct gql_type *t = parent;
			if (sel->type_cond) {
				t = gql__find_type(c->s, sel->type_cond);
				if (!t) {
					VERR(c, &sel->cond_loc, NULL, "Unknown type \"%s\".",
					     sel->type_cond);
					break;
				}
				if (!gql__is_composite(t)) {
					VERR(c, &sel->cond_loc, NULL,
					     "Fragment cannot condition on non composite type \"%s\".",
					     t->name);
					break;
				}
				sel->cond_type = t;
				if (!types_overlap(t, parent)) {
					VERR(c, &sel->loc, NULL,
					     "Fragment cannot be spread here as objects of type \"%s\" can "
					     "never be of type \"%s\".",
					     parent->name, t->name);
					break;
				}
			}
			walk_selset(c, sel->selset, t);
			break;
		}
		case SEL_SPREAD: {
			check_directives(c, sel->dirs, DL_FRAGMENT_SPREAD);
			struct ast_fragment *f = find_fragment(c->doc, sel->name);
			if (!f) {
				VERR(c, &sel->loc, NULL, "Unknown fragment \"%s\".", sel->name);
				break;
			}
			sel->frag = f;
			if (c->spreads) {
				struct ast_name *n = arena_alloc(c->a, sizeof *n);
				n->name = f->name;
				n->loc = sel->loc;
				n->next = *c->spreads;
				*c->spreads = n;
			}
			if (f->type && gql__is_composite(f->type) &&
			    !types_overlap(f->type, parent))
				VERR(c, &sel->loc, NULL,
				     "Fragment \"%s\" cannot be spread here as objects of type \"%s\" can "
				     "never be of type \"%s\".",
				     f->name, parent->name, f->type->name);
			break;
		}
		}
	}
}

/* ---- overlapping fields can be merged (5.3.2) ------------------------------ */
struct fentry {
	struct ast_sel *sel;
	struct gql_type *parent;
};

struct fset {
	struct fentry *e;
	size_t n, cap;
};

static const char *resp_key(const struct ast_sel *s)
{
	return s->alias ? s->alias : s->name;
}

/* visited: fragments already expanded into this set (each once). */
static void collect(struct vctx *c, struct fset *fs, struct ast_selset *ss, struct gql_type *parent,
		    struct ast_name **visited, int depth)
{
	if (!ss || depth > 200)
		return;
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (sel->kind == SEL_FIELD) {
			if (fs->n == fs->cap) {
				fs->cap = fs->cap ? fs->cap * 2 : 16;
				fs->e = xrealloc(fs->e, fs->cap * sizeof *fs->e);
			}
			fs->e[fs->n].sel = sel;
			fs->e[fs->n].parent = parent;
			fs->n++;
		} else if (sel->kind == SEL_INLINE) {
			collect(c, fs, sel->selset, sel->cond_type ? sel->cond_type : parent,
				visited, depth + 1);
		} else if (sel->frag && sel->frag->type) {
			bool seen = false;
			for (struct ast_name *v = *visited; v; v = v->next)
				seen |= strcmp(v->name, sel->frag->name) == 0;
			if (seen)
				continue;
			struct ast_name *v = arena_alloc(c->a, sizeof *v);
			v->name = sel->frag->name;
			v->next = *visited;
			*visited = v;
			collect(c, fs, sel->frag->selset, sel->frag->type, visited, depth + 1);
		}
	}
}

static bool values_equal(const struct ast_value *a, const struct ast_value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case V_NULL:
		return true;
	case V_BOOL:
		return a->b == b->b;
	case V_LIST:
		for (a = a->items, b = b->items; a && b; a = a->next, b = b->next)
			if (!values_equal(a, b))
				return false;
		return !a && !b;
	case V_OBJECT: {
		size_t na = 0, nb = 0;
		for (const struct ast_objfield *f = a->fields; f; f = f->next)
			na++;
		for (const struct ast_objfield *g = b->fields; g; g = g->next)
			nb++;
		if (na != nb)
			return false;
		for (const struct ast_objfield *f = a->fields; f; f = f->next) {
			const struct ast_objfield *g = b->fields;
			while (g && strcmp(g->name, f->name) != 0)
				g = g->next;
			if (!g || !values_equal(f->value, g->value))
				return false;
		}
		return true;
	}
	default:
		return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
	}
}

static bool args_equal(const struct ast_arg *a, const struct ast_arg *b)
{
	size_t na = 0, nb = 0;
	for (const struct ast_arg *x = a; x; x = x->next)
		na++;
	for (const struct ast_arg *y = b; y; y = y->next)
		nb++;
	if (na != nb)
		return false;
	for (const struct ast_arg *x = a; x; x = x->next) {
		const struct ast_arg *y = b;
		while (y && strcmp(x->name, y->name) != 0)
			y = y->next;
		if (!y || !values_equal(x->value, y->value))
			return false;
	}
	return true;
}

static bool types_conflict(const struct tref *a, const struct tref *b)
{
	if (a->kind == TR_LIST || b->kind == TR_LIST) {
		if (a->kind != b->kind)
			return true;
		return types_conflict(a->of, b->of);
	}
	if (a->kind == TR_NONNULL || b->kind == TR_NONNULL) {
		if (a->kind != b->kind)
			return true;
		return types_conflict(a->of, b->of);
	}
	if (gql__is_leaf(a->type) || gql__is_leaf(b->type))
		return a->type != b->type;
	return false;
}

static bool spend(struct vctx *c, const struct gql_loc *loc)
{
	if (--c->budget >= 0)
		return true;
	if (!c->budget_reported) {
		c->budget_reported = true;
		gql__err_add(c->errs, "QUERY_TOO_COMPLEX", loc, NULL,
			     "the document is too complex to validate field merging");
	}
	return false;
}

static void conflicts_between(struct vctx *c, struct fset *a, struct fset *b, bool exclusive);

static void find_conflict(struct vctx *c, const struct fentry *x, const struct fentry *y,
			  bool exclusive)
{
	if (x->sel == y->sel && x->parent == y->parent)
		return;
	if (!spend(c, &x->sel->loc))
		return;
	const char *key = resp_key(x->sel);
	exclusive = exclusive || (x->parent != y->parent && x->parent->kind == GQL_OBJECT &&
				  y->parent->kind == GQL_OBJECT);
	if (!exclusive) {
		if (strcmp(x->sel->name, y->sel->name) != 0) {
			VERR(c, &x->sel->loc, &y->sel->loc,
			     "Fields \"%s\" conflict because \"%s\" and \"%s\" are different fields. Use "
			     "different aliases on the fields to fetch both if this was intentional.",
			     key, x->sel->name, y->sel->name);
			return;
		}
		if (!args_equal(x->sel->args, y->sel->args)) {
			VERR(c, &x->sel->loc, &y->sel->loc,
			     "Fields \"%s\" conflict because they have differing arguments. Use "
			     "different aliases on the fields to fetch both if this was intentional.",
			     key);
			return;
		}
	}
	const struct gql_field_def *dx = x->sel->def, *dy = y->sel->def;
	if (dx && dy && types_conflict(dx->type, dy->type)) {
		VERR(c, &x->sel->loc, &y->sel->loc,
		     "Fields \"%s\" conflict because they return conflicting types \"%s\" and \"%s\". "
		     "Use different aliases on the fields to fetch both if this was intentional.",
		     key, tstr(c, dx->type), tstr(c, dy->type));
		return;
	}
	if (x->sel->selset && y->sel->selset && dx && dy) {
		if (x->sel->selset == y->sel->selset && exclusive == false)
			return;
		struct fset fa = {0}, fb = {0};
		struct ast_name *va = NULL, *vb = NULL;
		collect(c, &fa, x->sel->selset, gql__named(dx->type), &va, 0);
		collect(c, &fb, y->sel->selset, gql__named(dy->type), &vb, 0);
		conflicts_between(c, &fa, &fb, exclusive);
		free(fa.e);
		free(fb.e);
	}
}

static void conflicts_between(struct vctx *c, struct fset *a, struct fset *b, bool exclusive)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++) {
			if (c->budget < 0)
				return;
			if (strcmp(resp_key(a->e[i].sel), resp_key(b->e[j].sel)) == 0)
				find_conflict(c, &a->e[i], &b->e[j], exclusive);
		}
}

static int cmp_key(const void *p, const void *q)
{
	const struct fentry *a = p, *b = q;
	return strcmp(resp_key(a->sel), resp_key(b->sel));
}

static void check_merge(struct vctx *c, struct ast_selset *ss, struct gql_type *parent)
{
	struct fset fs = {0};
	struct ast_name *visited = NULL;
	collect(c, &fs, ss, parent, &visited, 0);
	/* Group by response key: only fields of one key are compared. */
	struct fentry *sorted = xmalloc((fs.n ? fs.n : 1) * sizeof *sorted);
	memcpy(sorted, fs.e, fs.n * sizeof *sorted);
	qsort(sorted, fs.n, sizeof *sorted, cmp_key);
	for (size_t i = 0; i < fs.n && c->budget >= 0;) {
		size_t j = i + 1;
		while (j < fs.n && strcmp(resp_key(sorted[i].sel), resp_key(sorted[j].sel)) == 0)
			j++;
		/*
		 * Leaf fields identical to one already kept (same parent type, name
		 * and arguments) cannot conflict with anything it does not: keep
		 * one representative, so `{ a a a ... }` stays linear.
		 */
		size_t n_rep = 0;
		for (size_t x = i; x < j; x++) {
			bool dup = false;
			for (size_t r = i; r < i + n_rep && !dup; r++)
				dup = !sorted[x].sel->selset && !sorted[r].sel->selset &&
				      sorted[x].parent == sorted[r].parent &&
				      !strcmp(sorted[x].sel->name, sorted[r].sel->name) &&
				      args_equal(sorted[x].sel->args, sorted[r].sel->args);
			if (!dup)
				sorted[i + n_rep++] = sorted[x];
		}
		for (size_t x = i; x < i + n_rep; x++)
			for (size_t y = x + 1; y < i + n_rep && c->budget >= 0; y++)
				find_conflict(c, &sorted[x], &sorted[y], false);
		i = j;
	}
	free(sorted);
	free(fs.e);
}

/*
 * Every selection set that belongs to a field, operation or fragment is
 * checked; an inline fragment's set is covered by its enclosing one.
 */
static void merge_walk(struct vctx *c, struct ast_selset *ss, struct gql_type *parent, int depth,
		       bool check)
{
	if (!ss || !parent || depth > 200 || c->budget < 0)
		return;
	if (check)
		check_merge(c, ss, parent);
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		if (sel->kind == SEL_FIELD && sel->def && sel->selset)
			merge_walk(c, sel->selset, gql__named(sel->def->type), depth + 1, true);
		else if (sel->kind == SEL_INLINE)
			merge_walk(c, sel->selset, sel->cond_type ? sel->cond_type : parent,
				   depth + 1, false);
	}
}

/* ---- fragments: cycles (5.5.2.2), use (5.5.1.4) ------------------------------ */
/*
 * Iterative depth-first search over fragment spreads, so a long chain of
 * fragments cannot exhaust the stack. visit: 0 new, 1 on the path, 2 done.
 */
struct dfs_frame {
	struct ast_fragment *f;
	struct ast_name *next;
};

static void find_cycles(struct vctx *c, struct ast_fragment *start, size_t n_frags)
{
	struct dfs_frame *st = xmalloc((n_frags + 1) * sizeof *st);
	size_t top = 0;
	start->visit = 1;
	st[top++] = (struct dfs_frame){start, start->spreads};
	while (top) {
		struct dfs_frame *fr = &st[top - 1];
		struct ast_name *sp = fr->next;
		if (!sp) {
			fr->f->visit = 2;
			top--;
			continue;
		}
		fr->next = sp->next;
		struct ast_fragment *g = find_fragment(c->doc, sp->name);
		if (!g)
			continue;
		if (g->visit == 1) {
			VERR(c, &sp->loc, NULL, "Cannot spread fragment \"%s\" within itself%s%s.",
			     g->name, g == fr->f ? "" : " via ", g == fr->f ? "" : fr->f->name);
		} else if (g->visit == 0 && top <= n_frags) {
			g->visit = 1;
			st[top++] = (struct dfs_frame){g, g->spreads};
		}
	}
	free(st);
}

/* Mark the fragments reachable from spreads (worklist, no recursion). */
static void mark_reach(struct vctx *c, struct ast_name *spreads, size_t n_frags)
{
	struct ast_fragment **work = xmalloc((n_frags + 1) * sizeof *work);
	size_t n = 0;
	struct ast_name *sp = spreads;
	for (;;) {
		if (!sp) {
			if (!n)
				break;
			sp = work[--n]->spreads;
			continue;
		}
		struct ast_fragment *g = find_fragment(c->doc, sp->name);
		sp = sp->next;
		if (!g || g->reach)
			continue;
		g->reach = true;
		g->used = true;
		if (n < n_frags)
			work[n++] = g;
	}
	free(work);
}

/* Nesting of fragment spreads inside fragments (memoised; acyclic here). */
static int spread_depth(struct ast_selset *ss, int level)
{
	int max = 0;
	if (!ss || level > 300)
		return 0;
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		int d = 0;
		if (sel->kind == SEL_FIELD || sel->kind == SEL_INLINE) {
			d = spread_depth(sel->selset, level + 1);
		} else if (sel->frag) {
			struct ast_fragment *f = sel->frag;
			if (f->spread_memo < 0) {
				f->spread_memo = 0;
				f->spread_memo = 1 + spread_depth(f->selset, level + 1);
			}
			d = f->spread_memo;
		}
		if (d > max)
			max = d;
	}
	return max;
}

/* ---- variables (5.8) ------------------------------------------------------ */
static bool types_compatible(const struct tref *var, const struct tref *loc)
{
	if (loc->kind == TR_NONNULL) {
		if (var->kind != TR_NONNULL)
			return false;
		return types_compatible(var->of, loc->of);
	}
	if (var->kind == TR_NONNULL)
		return types_compatible(var->of, loc);
	if (loc->kind == TR_LIST)
		return var->kind == TR_LIST && types_compatible(var->of, loc->of);
	if (var->kind == TR_LIST)
		return false;
	return var->type && var->type == loc->type;
}

static bool usage_allowed(const struct ast_vardef *vd, const struct var_usage *u)
{
	const struct tref *lt = u->type;
	if (lt->kind == TR_NONNULL && vd->type->kind != TR_NONNULL) {
		bool var_default = vd->defval && vd->defval->kind != V_NULL;
		if (!var_default && !u->has_default)
			return false;
		lt = lt->of;
	}
	return types_compatible(vd->type, lt);
}

static bool resolve_vartype(struct vctx *c, struct tref *t)
{
	while (t->kind != TR_NAMED)
		t = t->of;
	t->type = gql__find_type(c->s, t->name);
	if (!t->type) {
		VERR(c, &t->loc, NULL, "Unknown type \"%s\".", t->name);
		return false;
	}
	return true;
}

static void check_variables(struct vctx *c, struct ast_op *op)
{
	const char *opname = op->name ? op->name : "";
	for (struct ast_vardef *v = op->vars; v; v = v->next) {
		for (struct ast_vardef *w = op->vars; w != v; w = w->next)
			if (strcmp(w->name, v->name) == 0) {
				VERR(c, &w->loc, &v->loc,
				     "There can be only one variable named \"$%s\".", v->name);
				break;
			}
		check_directives(c, v->dirs, DL_VARIABLE_DEFINITION);
		if (!resolve_vartype(c, v->type))
			continue;
		if (!gql__is_input_type(v->type)) {
			VERR(c, &v->type->loc, NULL,
			     "Variable \"$%s\" cannot be non-input type \"%s\".", v->name,
			     tstr(c, v->type));
			continue;
		}
		if (v->defval) {
			struct var_usage **save = c->usages;
			c->usages = NULL;
			check_value(c, v->defval, v->type, false);
			c->usages = save;
		}
	}
	/* Usages of the operation and of every fragment it reaches. */
	for (struct ast_fragment *f = c->doc->frags; f; f = f->next)
		f->reach = false;
	mark_reach(c, op->spreads, c->n_frags);
	struct var_usage *lists[2] = {op->usages, NULL};
	struct ast_fragment *f = c->doc->frags;
	for (int phase = 0;; phase++) {
		struct var_usage *ul = phase == 0 ? lists[0] : NULL;
		if (phase > 0) {
			while (f && !f->reach)
				f = f->next;
			if (!f)
				break;
			ul = f->usages;
			f = f->next;
		}
		for (struct var_usage *u = ul; u; u = u->next) {
			struct ast_vardef *vd = op->vars;
			while (vd && strcmp(vd->name, u->name) != 0)
				vd = vd->next;
			if (!vd) {
				if (op->name)
					VERR(c, &u->loc, &op->loc,
					     "Variable \"$%s\" is not defined by operation \"%s\".",
					     u->name, opname);
				else
					VERR(c, &u->loc, &op->loc,
					     "Variable \"$%s\" is not defined.", u->name);
				continue;
			}
			if (vd->type && gql__named(vd->type) && gql__is_input_type(vd->type) &&
			    !usage_allowed(vd, u))
				VERR(c, &vd->loc, &u->loc,
				     "Variable \"$%s\" of type \"%s\" used in position expecting type "
				     "\"%s\".",
				     u->name, tstr(c, vd->type), tstr(c, u->type));
		}
	}
	for (struct ast_vardef *v = op->vars; v; v = v->next) {
		bool used = false;
		for (struct var_usage *u = op->usages; u && !used; u = u->next)
			used = strcmp(u->name, v->name) == 0;
		for (struct ast_fragment *g = c->doc->frags; g && !used; g = g->next)
			for (struct var_usage *u = g->reach ? g->usages : NULL; u && !used;
			     u = u->next)
				used = strcmp(u->name, v->name) == 0;
		if (!used) {
			if (op->name)
				VERR(c, &v->loc, NULL,
				     "Variable \"$%s\" is never used in operation \"%s\".", v->name,
				     opname);
			else
				VERR(c, &v->loc, NULL, "Variable \"$%s\" is never used.", v->name);
		}
	}
}

/* ---- limits: depth and aliases ------------------------------------------------ */
static int sel_depth(struct ast_selset *ss, int level)
{
	int max = 0;
	if (!ss || level > 300)
		return 0;
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next) {
		int d = 0;
		if (sel->kind == SEL_FIELD) {
			d = 1 + sel_depth(sel->selset, level + 1);
		} else if (sel->kind == SEL_INLINE) {
			d = sel_depth(sel->selset, level + 1);
		} else if (sel->frag) {
			struct ast_fragment *f = sel->frag;
			if (f->depth_memo < 0) {
				f->depth_memo = 0; /* cycles were rejected; guards recursion */
				f->depth_memo = sel_depth(f->selset, level + 1);
			}
			d = f->depth_memo;
		}
		if (d > max)
			max = d;
	}
	return max;
}

static int sel_aliases(struct ast_selset *ss, int level)
{
	int n = 0;
	if (!ss || level > 300)
		return 0;
	for (struct ast_sel *sel = ss->first; sel; sel = sel->next)
		if (sel->kind != SEL_SPREAD)
			n += (sel->alias != NULL) + sel_aliases(sel->selset, level + 1);
	return n;
}

int gql__check_literal(const struct gql_schema *s, const struct ast_value *v, const struct tref *t,
		       char *msg, size_t n)
{
	struct arena a;
	arena_init(&a);
	struct err_list el = {.arena = &a};
	struct vctx c = {s, NULL, &el, &a, NULL, NULL, MERGE_BUDGET, false, 0};
	bool ok = check_value(&c, v, t, false);
	if (!ok && el.first && n)
		snprintf(msg, n, "%s", el.first->message);
	arena_release(&a);
	return ok ? 0 : -1;
}

/* ---- entry point ---------------------------------------------------------- */
static struct gql_type *op_root(const struct gql_schema *s, enum op_kind k)
{
	return k == OP_QUERY ? s->query : k == OP_MUTATION ? s->mutation : s->subscription;
}

void gql__validate(const struct gql_schema *s, struct ast_doc *doc, struct err_list *errs,
		   const struct gql_limits *lim, struct validate_stats *st)
{
	struct vctx c = {s, doc, errs, errs->arena, NULL, NULL, MERGE_BUDGET, false, 0};
	memset(st, 0, sizeof *st);
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		c.n_frags++;
	/* 5.1.1 Executable definitions. */
	if (doc->has_sdl) {
		VERR(&c, &doc->first_sdl_loc, NULL,
		     "The document contains a type-system definition, which is not executable.");
		return;
	}
	/* 5.2.1.1 Operation name uniqueness; 5.2.2.1 lone anonymous operation. */
	size_t n_ops = 0;
	for (struct ast_op *op = doc->ops; op; op = op->next)
		n_ops++;
	for (struct ast_op *op = doc->ops; op; op = op->next) {
		if (!op->name) {
			if (n_ops > 1)
				VERR(&c, &op->loc, NULL,
				     "This anonymous operation must be the only defined operation.");
			continue;
		}
		for (struct ast_op *o = doc->ops; o != op; o = o->next)
			if (o->name && strcmp(o->name, op->name) == 0) {
				VERR(&c, &o->loc, &op->loc,
				     "There can be only one operation named \"%s\".", op->name);
				break;
			}
	}
	/* 5.5.1.1 Fragment name uniqueness; 5.5.1.2-3 type conditions. */
	for (struct ast_fragment *f = doc->frags; f; f = f->next) {
		for (struct ast_fragment *g = doc->frags; g != f; g = g->next)
			if (strcmp(g->name, f->name) == 0) {
				VERR(&c, &g->loc, &f->loc,
				     "There can be only one fragment named \"%s\".", f->name);
				break;
			}
		struct gql_type *t = gql__find_type(s, f->type_cond);
		if (!t)
			VERR(&c, &f->cond_loc, NULL, "Unknown type \"%s\".", f->type_cond);
		else if (!gql__is_composite(t))
			VERR(&c, &f->cond_loc, NULL,
			     "Fragment \"%s\" cannot condition on non composite type \"%s\".",
			     f->name, t->name);
		else
			f->type = t;
	}
	/* Walk fragment definitions, then operations. */
	for (struct ast_fragment *f = doc->frags; f; f = f->next) {
		c.usages = &f->usages;
		c.spreads = &f->spreads;
		check_directives(&c, f->dirs, DL_FRAGMENT_DEFINITION);
		if (f->type)
			walk_selset(&c, f->selset, f->type);
	}
	for (struct ast_op *op = doc->ops; op; op = op->next) {
		c.usages = &op->usages;
		c.spreads = &op->spreads;
		static const enum dir_loc where[] = {DL_QUERY, DL_MUTATION, DL_SUBSCRIPTION};
		check_directives(&c, op->dirs, where[op->op]);
		if (op->op == OP_SUBSCRIPTION) {
			VERR(&c, &op->loc, NULL, "Subscriptions are not supported by this server.");
			continue;
		}
		struct gql_type *root = op_root(s, op->op);
		if (!root) {
			VERR(&c, &op->loc, NULL, "The schema does not support %s operations.",
			     op->op == OP_MUTATION ? "mutation" : "subscription");
			continue;
		}
		walk_selset(&c, op->selset, root);
	}
	c.usages = NULL;
	c.spreads = NULL;
	/* 5.5.2.2 cycles. */
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		if (f->visit == 0)
			find_cycles(&c, f, c.n_frags);
	bool cyclic = errs->n > 0;
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		if (f->visit == 1)
			cyclic = true;
	/* 5.8 variables per operation; fragment use. */
	for (struct ast_op *op = doc->ops; op; op = op->next)
		if (op->op != OP_SUBSCRIPTION)
			check_variables(&c, op);
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		if (!f->used)
			VERR(&c, &f->loc, NULL, "Fragment \"%s\" is never used.", f->name);
	if (cyclic || errs->n)
		return;
	/* Walkers recurse through spreads: bound their nesting. */
	for (struct ast_op *op = doc->ops; op; op = op->next) {
		int d = spread_depth(op->selset, 0);
		if (d > MAX_SPREAD_NESTING) {
			gql__err_add(
				errs, "QUERY_TOO_DEEP", &op->loc, NULL,
				"fragment spreads are nested %d deep, more than the limit of %d", d,
				MAX_SPREAD_NESTING);
			return;
		}
	}
	/* 5.3.2 field merging. */
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		merge_walk(&c, f->selset, f->type, 0, true);
	for (struct ast_op *op = doc->ops; op; op = op->next)
		merge_walk(&c, op->selset, op_root(s, op->op), 0, true);
	if (errs->n)
		return;
	/* Limits. */
	for (struct ast_op *op = doc->ops; op; op = op->next) {
		int d = sel_depth(op->selset, 0);
		if (d > st->max_depth)
			st->max_depth = d;
		st->n_aliases += sel_aliases(op->selset, 0);
	}
	for (struct ast_fragment *f = doc->frags; f; f = f->next)
		st->n_aliases += sel_aliases(f->selset, 0);
	if (lim && lim->max_depth > 0 && st->max_depth > lim->max_depth)
		gql__err_add(errs, "QUERY_TOO_DEEP", NULL, NULL,
			     "the query has depth %d, more than the limit of %d", st->max_depth,
			     lim->max_depth);
	if (lim && lim->max_aliases > 0 && st->n_aliases > lim->max_aliases)
		gql__err_add(errs, "TOO_MANY_ALIASES", NULL, NULL,
			     "the query uses %d aliases, more than the limit of %d", st->n_aliases,
			     lim->max_aliases);
}
