/*
 * graphql: a GraphQL engine written to the GraphQL specification (October
 * 2021): lexer, parser, SDL schema loading, validation (spec section 5),
 * execution (section 6) with resolvers bound by name, introspection and
 * request limits. The HTTP layer and jirasync's resolvers sit on top.
 *
 * Typical use (once at start-up, then per request from any thread):
 *
 *     struct gql_schema *s = gql_schema_new();
 *     if (gql_schema_load(s, sdl, strlen(sdl), err, sizeof err) < 0) ...
 *     gql_schema_bind(s, "Query.projects", resolve_projects, store);
 *     gql_schema_bind_batch(s, "Issue.comments", batch_comments, store);
 *     gql_schema_bind_property(s, "Comment.*");
 *     if (gql_schema_check_bound(s, err, sizeof err) < 0) refuse to start;
 *     struct gql_limits lim; gql_limits_default(&lim);
 *     struct gql_engine *e = gql_engine_new(s, &lim, 256);
 *     ...
 *     struct gql_request rq = {.query = q, .query_len = n,
 *                              .variables_json = vars, .ctx = per_request,
 *                              .allow_mutations = caller_is_admin};
 *     struct buf out = BUF_INIT;
 *     gql_execute(e, &rq, &out);   // out holds {"errors":[...],"data":{...}}
 *     // or, from a POST body: gql_execute_body(e, body, len, ctx, admin, &out)
 *
 * Execution is level-wise: one selection set runs for all the objects at
 * the same depth at once (every item of every list above), field by field,
 * so a batch resolver sees all the parents of its level in one call and
 * issues -> comments -> author costs one call per level. Fields run in
 * document order, each one complete before the next (mutations are serial).
 *
 * Resolver binding rule (checked by gql_schema_check_bound):
 *   - every field of the query and mutation root types needs a resolver
 *     (gql_schema_bind or gql_schema_bind_batch);
 *   - a field of any other object type needs either a resolver or an
 *     explicit gql_schema_bind_property() for it ("Type.field" or "Type.*"),
 *     which allows the default resolver: it reads the property of the same
 *     name from a parent value of kind GQL_V_OBJECT (absent -> null);
 *   - interface fields are served by the resolvers of the object types;
 *     introspection fields are built in.
 *
 * Threading: load and bind the schema before serving; afterwards the schema
 * is read-only and gql_execute may run concurrently on one engine (the
 * document cache has its own lock). Resolvers must be thread-safe.
 */
#ifndef JS_GRAPHQL_H
#define JS_GRAPHQL_H

#include "common/common.h"

/* ---- values: what resolvers return and receive --------------------------- */
enum gql_vkind {
	GQL_V_NULL = 0,
	GQL_V_INT,    /* i */
	GQL_V_FLOAT,  /* f */
	GQL_V_STRING, /* str (UTF-8, not necessarily NUL-free; len counts) */
	GQL_V_BOOL,   /* b */
	GQL_V_ENUM,   /* str: the enum value's name */
	GQL_V_LIST,   /* list */
	GQL_V_OBJECT, /* obj: named fields (input objects, plain parent values) */
	GQL_V_PTR,    /* ptr: a host object the resolvers understand */
	GQL_V_ERROR,  /* err: a field error (message and code) */
};

struct gql_field_value;
struct gql_value {
	enum gql_vkind kind;
	/*
	 * Concrete object type name, needed when a value is returned for an
	 * interface or union field (else NULL). For GQL_V_OBJECT a
	 * "__typename" string property is also accepted.
	 */
	const char *type;
	union {
		int64_t i;
		double f;
		bool b;
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			struct gql_value *items;
			size_t n;
		} list;
		struct {
			struct gql_field_value *fields;
			size_t n;
		} obj;
		void *ptr;
		struct {
			const char *message;
			const char *code;
		} err;
	} u;
};

struct gql_field_value {
	const char *name;
	struct gql_value value;
};

/* Value constructors (no allocation; strings are borrowed, see gql_strdup).
 * Inline: a response builds one per field of every row. */
static inline struct gql_value gql_null(void)
{
	return (struct gql_value){.kind = GQL_V_NULL};
}
static inline struct gql_value gql_int(int64_t i)
{
	return (struct gql_value){.kind = GQL_V_INT, .u.i = i};
}
static inline struct gql_value gql_float(double f)
{
	return (struct gql_value){.kind = GQL_V_FLOAT, .u.f = f};
}
static inline struct gql_value gql_bool(bool b)
{
	return (struct gql_value){.kind = GQL_V_BOOL, .u.b = b};
}
/* s NULL -> null */
static inline struct gql_value gql_stringn(const char *s, size_t len)
{
	if (!s)
		return gql_null();
	return (struct gql_value){.kind = GQL_V_STRING, .u.str = {s, len}};
}
static inline struct gql_value gql_string(const char *s)
{
	return s ? gql_stringn(s, strlen(s)) : gql_null();
}
static inline struct gql_value gql_enum(const char *name)
{
	struct gql_value v = gql_string(name);
	if (name)
		v.kind = GQL_V_ENUM;
	return v;
}
/* p NULL -> null */
static inline struct gql_value gql_ptr(void *p, const char *type_name)
{
	if (!p)
		return gql_null();
	return (struct gql_value){.kind = GQL_V_PTR, .type = type_name, .u.ptr = p};
}
/* Look up a property of an OBJECT value; NULL when absent or not an object. */
const struct gql_value *gql_value_get(const struct gql_value *obj, const char *name);

/* ---- limits -------------------------------------------------------------- */
/*
 * Checked before any resolver runs; each refusal is one error with
 * extensions.code:
 *   max_document_bytes  DOCUMENT_TOO_LARGE   (request text length)
 *   max_tokens          TOO_MANY_TOKENS      (lexical tokens, while parsing)
 *   max_depth           QUERY_TOO_DEEP       (selection set nesting, fragments
 *                                             expanded; `{a{b}}` has depth 2)
 *   max_aliases         TOO_MANY_ALIASES     (aliased fields, fragments counted
 *                                             once per definition)
 *   max_cost            QUERY_TOO_COSTLY     (see below)
 * The parser also refuses more than 128 nested brackets (QUERY_TOO_DEEP),
 * validation more than 100 nested fragment spreads (QUERY_TOO_DEEP) and
 * documents whose field merging check exceeds a fixed work budget
 * (QUERY_TOO_COMPLEX), so recursion and time stay bounded whatever the
 * limits say.
 *
 * Cost of a selection set = sum over its fields (fragments expanded) of
 *     1 + m * cost(field's selection set)
 * where m is the field's page size: the value of its `first`, `limit`,
 * `last` or `pageSize` argument (the first present, after variables, else
 * the argument's default; at least 1), whether the field is a list or a
 * connection object. A field without a page size has m = 1, except a list
 * field, which has m = default_list_size, or m = 1 when its parent field has
 * a page size (the edges/nodes list of a connection: the page is counted
 * once). Introspection fields (__schema, __type) cost 1 in total. So
 * `{projects(first:10){issues(first:50){key}}}` costs 1 + 10 * (1 + 50 * 1)
 * = 511, and `{issues(first:50){edges{node{key}}}}` costs
 * 1 + 50 * (1 + 1 * (1 + 1)) = 151.
 */
struct gql_limits {
	size_t max_document_bytes; /* default 65536 */
	size_t max_tokens;         /* default 10000 */
	int max_depth;             /* default 20 (the standard introspection query needs 15) */
	int max_aliases;           /* default 50 */
	double max_cost;           /* default 100000 */
	int default_list_size;     /* default 20 */
	size_t max_response_bytes; /* default 64 MiB; exceeding aborts with an error */
};
void gql_limits_default(struct gql_limits *l);

/* ---- resolvers ----------------------------------------------------------- */
struct gql_exec; /* one request's execution state */
struct gql_resolve_info {
	const char *parent_type;      /* object type name, e.g. "Issue" */
	const char *field_name;       /* schema field name */
	const char *response_key;     /* alias or field name */
	const struct gql_value *args; /* coerced arguments: GQL_V_OBJECT */
	void *ctx;                    /* gql_request.ctx */
	void *userdata;               /* given at bind time */
	struct gql_exec *exec;        /* for gql_alloc, gql_strdup, gql_fail */
	const void *selection_;       /* private: see gql_info_* below */
};

/*
 * A resolver computes one field for one parent value. Set *out and return 0;
 * or return -1 after gql_fail() to raise a field error (the field becomes
 * null, the error lands in "errors" with the field's path and code). Setting
 * *out to gql_error() is equivalent.
 */
typedef int (*gql_resolve_fn)(const struct gql_resolve_info *info, const struct gql_value *parent,
			      struct gql_value *out);
/*
 * A batch resolver computes one field for n parents at once (all the items
 * of the lists at this level of the response), out[0..n-1] in parent order.
 * It is called once per field per level, so issues -> comments -> author is
 * one call per level whatever the page size. Return -1 after gql_fail() to
 * fail the field for every parent, or put gql_error() in single slots.
 */
typedef int (*gql_batch_fn)(const struct gql_resolve_info *info, const struct gql_value *parents,
			    size_t n, struct gql_value *out);

/* Allocate from the request's arena (zeroed; released after the response). */
void *gql_alloc(struct gql_exec *x, size_t n);
char *gql_strdup(struct gql_exec *x, const char *s);
/* A list value of n null items, allocated in the request arena. */
struct gql_value gql_list_new(struct gql_exec *x, size_t n);
/* An object value with room for n fields (set .name/.value of each). */
struct gql_value gql_object_new(struct gql_exec *x, size_t n);
/* Record the field error message (formatted) and code (NULL -> INTERNAL_ERROR). */
void gql_fail(const struct gql_resolve_info *info, const char *code, const char *fmt, ...)
	JS_PRINTF(3, 4);
/* An error value for one slot of a batch (message copied into the arena). */
struct gql_value gql_error(struct gql_exec *x, const char *code, const char *fmt, ...)
	JS_PRINTF(3, 4);

/* Argument access: NULL when the argument was not given and has no default. */
const struct gql_value *gql_arg(const struct gql_resolve_info *info, const char *name);
int64_t gql_arg_int(const struct gql_resolve_info *info, const char *name, int64_t dflt);
/* NUL-terminated string argument, or NULL. */
const char *gql_arg_str(const struct gql_resolve_info *info, const char *name);

/*
 * Selection info: which sub-fields the query asks of this field's value
 * (fragments and @skip/@include applied, every type condition included).
 * gql_info_wants: true when a sub-field of that schema name is selected.
 * gql_info_subfields: the distinct selected sub-field names in query order;
 * writes up to max, returns the total count. Lets a resolver pick columns or
 * prefetch children.
 */
bool gql_info_wants(const struct gql_resolve_info *info, const char *field);
/* gql_info_wants_path: the same for a dotted path of sub-fields below this
 * one, "edges.node.summary": every segment selected in the one before. */
bool gql_info_wants_path(const struct gql_resolve_info *info, const char *path);
/*
 * The first field named field (its schema name) that the selection set of
 * this field's parent also selects, as an info for the selection queries
 * above (its args are NULL): lets a batch resolver read a sibling's rows in
 * the same round trip. false when the parent does not select it.
 */
bool gql_info_sibling(const struct gql_resolve_info *info, const char *field,
		      struct gql_resolve_info *out);
size_t gql_info_subfields(const struct gql_resolve_info *info, const char **names, size_t max);

/* ---- schema -------------------------------------------------------------- */
enum gql_type_kind { GQL_SCALAR, GQL_OBJECT, GQL_INTERFACE, GQL_UNION, GQL_ENUM, GQL_INPUT_OBJECT };

struct gql_schema;
/* A schema with the built-in scalars, directives and introspection types. */
struct gql_schema *gql_schema_new(void);
void gql_schema_free(struct gql_schema *s);
/*
 * Load SDL text (type definitions, schema definition, directive
 * definitions). Once per schema. -1 with "line:col: message" in err on a
 * syntax or consistency error (unknown types, bad interfaces, invalid
 * default values, ...); the schema is then unusable: free it.
 */
int gql_schema_load(struct gql_schema *s, const char *sdl, size_t len, char *err,
		    size_t errlen) JS_WUR;
/* Bind "Type.field" to a resolver; -1 when no such object field. */
int gql_schema_bind(struct gql_schema *s, const char *coord, gql_resolve_fn fn,
		    void *userdata) JS_WUR;
int gql_schema_bind_batch(struct gql_schema *s, const char *coord, gql_batch_fn fn,
			  void *userdata) JS_WUR;
/* Allow the default property resolver for "Type.field" or "Type.*". */
int gql_schema_bind_property(struct gql_schema *s, const char *coord) JS_WUR;
/*
 * 0 when every field that needs a resolver has one (rule above); else -1
 * and err lists the missing coordinates ("Query.x, Issue.y"), truncated to
 * errlen.
 */
int gql_schema_check_bound(const struct gql_schema *s, char *err, size_t errlen) JS_WUR;

/* ---- documents (parse only; for tools, tests, fuzzing) -------------------- */
struct gql_loc {
	int line, col; /* 1-based; col counts Unicode code points */
};

/*
 * Parse and (when s is not NULL) validate a document; the errors, if any,
 * as a JSON array text in *errors_json (caller frees; NULL when valid).
 * Returns 0 valid, -1 invalid. lim NULL means defaults.
 */
int gql_check_document(const struct gql_schema *s, const char *text, size_t len,
		       const struct gql_limits *lim, char **errors_json) JS_WUR;

/* ---- execution ----------------------------------------------------------- */
struct gql_engine;
/*
 * An engine serves requests against a loaded, bound schema (borrowed: it
 * must outlive the engine) with limits (copied; NULL = defaults) and a
 * cache of up to cache_size parsed and validated documents (0 = none).
 */
struct gql_engine *gql_engine_new(const struct gql_schema *s, const struct gql_limits *lim,
				  size_t cache_size);
void gql_engine_free(struct gql_engine *e);

struct gql_request {
	const char *query;
	size_t query_len;
	const char *operation_name;        /* NULL: the document's only operation */
	const char *variables_json;        /* NUL-terminated JSON object text, or NULL */
	const struct gql_value *variables; /* or an OBJECT value (used when json NULL) */
	void *ctx;                         /* handed to every resolver */
	bool allow_mutations;              /* false: a mutation is refused (FORBIDDEN) */
	struct arena *arena;               /* optional: the execution allocates here and the caller
				releases or resets it afterwards; NULL: its own arena */
	/* Optional: called once the request is accepted (parsed, validated,
	 * within the limits, its variables coerced), before any field resolves;
	 * query: the operation is a query. */
	void (*accepted)(void *arg, bool query);
	void *accepted_arg;
};

/*
 * Execute a request; the JSON response ({"errors":[...]} first when any,
 * then "data") is appended to out. Returns 0 when the response has no
 * errors, 1 when it has field errors but data, -1 when the request was
 * refused before execution (parse, validation, limits, variables): the
 * HTTP layer may map -1 to status 400. Never fails for lack of memory.
 */
int gql_execute(struct gql_engine *e, const struct gql_request *rq, struct buf *out);
/*
 * The same from a GraphQL-over-HTTP JSON body {"query": "...",
 * "operationName": "..." or null, "variables": {...} or null}; a body that
 * is not such an object is refused (-1) with code BAD_REQUEST.
 */
int gql_execute_body(struct gql_engine *e, const char *body, size_t len, void *ctx,
		     bool allow_mutations, struct buf *out);
/*
 * extensions.code values: request refused (-1): GRAPHQL_PARSE_FAILED,
 * GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT (variables), the limit codes
 * above, OPERATION_RESOLUTION_FAILURE (operationName), FORBIDDEN (mutation
 * not allowed), BAD_REQUEST (no query). Field errors (1): the code a resolver
 * gave to gql_fail/gql_error, else INTERNAL_ERROR (also for result coercion
 * and non-null violations); BAD_USER_INPUT for argument coercion;
 * RESPONSE_TOO_LARGE when max_response_bytes is exceeded.
 */

struct gql_cache_stats {
	uint64_t hits, misses, evictions;
	size_t entries;
};
void gql_engine_cache_stats(struct gql_engine *e, struct gql_cache_stats *st);

/* The query graphql-js 16 getIntrospectionQuery({specifiedByUrl: true,
 * directiveIsRepeatable: true}) produces (descriptions,
 * specifiedByURL, directive isRepeatable, no schema description). */
extern const char gql_introspection_query[];
/*
 * Append the response to gql_introspection_query for schema s
 * ({"data":{"__schema":...}}), the input of graphql-js buildClientSchema.
 * 0, or -1 when the response carries errors (it is still appended).
 */
int gql_introspection_json(const struct gql_schema *s, struct buf *out) JS_WUR;

#endif
