/*
 * graphql internals: the token, AST and schema structures shared by the
 * lexer, parser, schema loader, validator, executor and introspection.
 * Nothing outside graphql/ includes this file; the public API is graphql.h.
 *
 * Every AST node lives in the arena of the document that was parsed; every
 * schema node lives in the schema's arena. Lists are singly linked through
 * `next` so the parser never reallocates; the schema copies them into arrays
 * once, because introspection and validation index them.
 */
#ifndef JS_GQL_INT_H
#define JS_GQL_INT_H

#include "common/common.h"
#include "graphql/graphql.h"

#include <pthread.h>

/* ---- lexer --------------------------------------------------------------- */
enum tok_kind {
	T_EOF = 0,
	T_BANG,
	T_DOLLAR,
	T_AMP,
	T_LPAREN,
	T_RPAREN,
	T_SPREAD,
	T_COLON,
	T_EQUALS,
	T_AT,
	T_LBRACKET,
	T_RBRACKET,
	T_LBRACE,
	T_PIPE,
	T_RBRACE,
	T_NAME,
	T_INT,
	T_FLOAT,
	T_STRING,
	T_BLOCK_STRING,
};

struct token {
	enum tok_kind kind;
	size_t pos; /* byte offset of the first character */
	size_t len; /* raw length in the source */
	struct gql_loc loc;
	char *value; /* decoded value of STRING/BLOCK_STRING, the text of others */
	size_t value_len;
};

struct lexer {
	const char *src;
	size_t len;
	size_t pos;
	struct arena *arena;
	size_t n_tokens;
	size_t max_tokens; /* 0 = unlimited */
	/* Incremental position -> line:column mapping (monotonic). */
	size_t loc_pos;
	int loc_line, loc_col;
	/* First error. */
	char err[256];
	struct gql_loc err_loc;
	const char *err_code;
};

void lex_init(struct lexer *lx, const char *src, size_t len, struct arena *a, size_t max_tokens);
/* Next token into *t; -1 with lx->err set on a lexical error or limit. */
int lex_next(struct lexer *lx, struct token *t);
const char *tok_kind_name(enum tok_kind k);

/* ---- AST ----------------------------------------------------------------- */
enum val_kind { V_VAR, V_INT, V_FLOAT, V_STRING, V_BOOL, V_NULL, V_ENUM, V_LIST, V_OBJECT };

struct ast_objfield;
struct ast_value {
	enum val_kind kind;
	struct gql_loc loc;
	const char *str; /* VAR name, INT/FLOAT text, STRING value, ENUM name */
	size_t len;      /* length of str (strings may hold NUL) */
	bool b;
	struct ast_value *items;     /* LIST */
	struct ast_objfield *fields; /* OBJECT */
	struct ast_value *next;
};

struct ast_objfield {
	const char *name;
	struct gql_loc loc;
	struct ast_value *value;
	struct ast_objfield *next;
};

struct ast_arg {
	const char *name;
	struct gql_loc loc;
	struct ast_value *value;
	struct ast_arg *next;
};

struct ast_directive {
	const char *name;
	struct gql_loc loc;
	struct ast_arg *args;
	struct ast_directive *next;
};

struct gql_type;
enum tref_kind { TR_NAMED, TR_LIST, TR_NONNULL };
struct tref {
	enum tref_kind kind;
	const char *name;      /* NAMED */
	struct gql_type *type; /* NAMED, once resolved against a schema */
	struct tref *of;       /* LIST, NONNULL */
	struct gql_loc loc;
};

struct gql_field_def;
struct ast_fragment;
struct ast_selset;
enum sel_kind { SEL_FIELD, SEL_SPREAD, SEL_INLINE };
struct ast_sel {
	enum sel_kind kind;
	struct gql_loc loc;
	const char *alias; /* FIELD; NULL when none */
	const char *name;  /* FIELD name, SPREAD fragment name */
	struct ast_arg *args;
	struct ast_directive *dirs;
	struct ast_selset *selset; /* FIELD (optional), INLINE */
	const char *type_cond;     /* INLINE; NULL when none */
	struct gql_loc cond_loc;
	struct ast_sel *next;
	/* Filled by validation. */
	struct gql_field_def *def;  /* FIELD */
	struct ast_fragment *frag;  /* SPREAD */
	struct gql_type *cond_type; /* INLINE with a condition */
};

struct ast_selset {
	struct gql_loc loc;
	struct ast_sel *first;
};

/* A variable used in a position expecting `type` (validation). */
struct var_usage {
	const char *name;
	struct gql_loc loc;
	const struct tref *type;
	bool has_default; /* the position has a default value */
	struct var_usage *next;
};

struct ast_vardef {
	const char *name;
	struct gql_loc loc;
	struct tref *type;
	struct ast_value *defval;
	struct ast_directive *dirs;
	struct ast_vardef *next;
};

enum op_kind { OP_QUERY, OP_MUTATION, OP_SUBSCRIPTION };
struct ast_op {
	enum op_kind op;
	const char *name; /* NULL when anonymous */
	struct gql_loc loc;
	struct ast_vardef *vars;
	struct ast_directive *dirs;
	struct ast_selset *selset;
	struct ast_op *next;
	/* Filled by validation. */
	struct var_usage *usages;
	struct ast_name *spreads;
};

struct ast_fragment {
	const char *name;
	struct gql_loc loc;
	const char *type_cond;
	struct gql_loc cond_loc;
	struct ast_directive *dirs;
	struct ast_selset *selset;
	struct ast_fragment *next;
	/* Filled by validation. */
	struct gql_type *type;
	bool used;
	int visit;       /* cycle detection state */
	int depth_memo;  /* selection depth, -1 unknown */
	int spread_memo; /* nesting of spreads below, -1 unknown */
	struct var_usage *usages;
	struct ast_name *spreads;
	bool reach; /* reachable from the current operation */
};

/* Type-system definitions (SDL). */
struct ast_name {
	const char *name;
	struct gql_loc loc;
	struct ast_name *next;
};

struct ast_input_value {
	const char *desc;
	const char *name;
	struct gql_loc loc;
	struct tref *type;
	struct ast_value *defval;
	struct ast_directive *dirs;
	struct ast_input_value *next;
};

struct ast_field_def {
	const char *desc;
	const char *name;
	struct gql_loc loc;
	struct ast_input_value *args;
	struct tref *type;
	struct ast_directive *dirs;
	struct ast_field_def *next;
};

struct ast_enum_value {
	const char *desc;
	const char *name;
	struct gql_loc loc;
	struct ast_directive *dirs;
	struct ast_enum_value *next;
};

struct ast_typedef {
	enum gql_type_kind kind;
	const char *desc;
	const char *name;
	struct gql_loc loc;
	struct ast_name *interfaces; /* OBJECT, INTERFACE */
	struct ast_directive *dirs;
	struct ast_field_def *fields;   /* OBJECT, INTERFACE */
	struct ast_input_value *inputs; /* INPUT_OBJECT */
	struct ast_enum_value *values;  /* ENUM */
	struct ast_name *members;       /* UNION */
	struct ast_typedef *next;
};

struct ast_dirdef {
	const char *desc;
	const char *name;
	struct gql_loc loc;
	struct ast_input_value *args;
	bool repeatable;
	struct ast_name *locations;
	struct ast_dirdef *next;
};

struct ast_schemadef {
	const char *desc;
	struct gql_loc loc;
	struct ast_directive *dirs;
	struct ast_name *query, *mutation, *subscription;
	struct ast_schemadef *next;
};

struct ast_doc {
	struct ast_op *ops;
	struct ast_fragment *frags;
	struct ast_typedef *types;
	struct ast_dirdef *dirdefs;
	struct ast_schemadef *schemas;
	struct gql_loc first_sdl_loc; /* of the first type-system definition */
	bool has_sdl;
	bool has_executable;
	size_t n_tokens;
};

struct parse_opts {
	size_t max_tokens; /* 0 = unlimited */
	int max_nesting;   /* brackets of any kind; 0 = default 128 */
};

struct parse_error {
	char message[320];
	struct gql_loc loc;
	const char *code; /* GRAPHQL_PARSE_FAILED or a limit code */
};

/* Parse src into an AST allocated in a; NULL with *err filled on failure. */
struct ast_doc *gql__parse(const char *src, size_t len, struct arena *a, const struct parse_opts *o,
			   struct parse_error *err);

/* ---- schema -------------------------------------------------------------- */
struct gql_input_def {
	const char *name;
	const char *desc;
	struct tref *type;
	struct ast_value *defval; /* NULL when none */
	const char *defval_text;  /* GraphQL literal text for introspection */
	bool deprecated;
	const char *reason;
	struct gql_loc loc;
};

struct gql_field_def {
	const char *name;
	const char *desc;
	struct gql_input_def *args;
	size_t n_args;
	struct tref *type;
	bool deprecated;
	const char *reason;
	struct gql_type *owner;
	/* Bindings. */
	gql_resolve_fn resolve;
	gql_batch_fn batch;
	void *userdata;
	bool property; /* default resolver allowed */
	bool builtin;  /* __typename/__schema/__type */
};

struct gql_enum_def {
	const char *name;
	const char *desc;
	bool deprecated;
	const char *reason;
};

struct gql_type {
	enum gql_type_kind kind;
	const char *name;
	const char *desc;
	const char *specified_by;
	bool builtin; /* scalars and introspection types */
	struct gql_field_def *fields;
	size_t n_fields;
	struct gql_type **interfaces;
	size_t n_interfaces;
	struct gql_type **possible; /* UNION members, INTERFACE implementers */
	size_t n_possible;
	struct gql_enum_def *values;
	size_t n_values;
	struct gql_input_def *inputs;
	size_t n_inputs;
	struct gql_loc loc;
};

struct gql_dir_def {
	const char *name;
	const char *desc;
	struct gql_input_def *args;
	size_t n_args;
	unsigned locations;      /* 1 << enum dir_loc */
	unsigned char order[32]; /* the locations in declaration order */
	int n_order;
	bool repeatable;
};

enum dir_loc {
	DL_QUERY,
	DL_MUTATION,
	DL_SUBSCRIPTION,
	DL_FIELD,
	DL_FRAGMENT_DEFINITION,
	DL_FRAGMENT_SPREAD,
	DL_INLINE_FRAGMENT,
	DL_VARIABLE_DEFINITION,
	DL_SCHEMA,
	DL_SCALAR,
	DL_OBJECT,
	DL_FIELD_DEFINITION,
	DL_ARGUMENT_DEFINITION,
	DL_INTERFACE,
	DL_UNION,
	DL_ENUM,
	DL_ENUM_VALUE,
	DL_INPUT_OBJECT,
	DL_INPUT_FIELD_DEFINITION,
	DL_COUNT
};
extern const char *const gql__dir_loc_names[DL_COUNT];

struct gql_schema {
	struct arena arena;
	struct gql_type **types;
	size_t n_types, cap_types;
	struct gql_dir_def **dirs;
	size_t n_dirs, cap_dirs;
	struct gql_type *query, *mutation, *subscription;
	const char *desc;
	bool loaded;
	/* Meta fields, owned by the schema, not listed in any type. */
	struct gql_field_def typename_field, schema_field, type_field;
};

struct gql_type *gql__find_type(const struct gql_schema *s, const char *name);
struct gql_dir_def *gql__find_dir(const struct gql_schema *s, const char *name);
struct gql_field_def *gql__find_field(const struct gql_type *t, const char *name);
struct gql_input_def *gql__find_input(struct gql_input_def *a, size_t n, const char *name);
/* Meta fields visible on type t (__typename everywhere; __schema/__type on query). */
struct gql_field_def *gql__field_on(const struct gql_schema *s, const struct gql_type *t,
				    const char *name);
bool gql__is_input_type(const struct tref *t);
bool gql__is_output_type(const struct tref *t);
bool gql__is_composite(const struct gql_type *t);
bool gql__is_leaf(const struct gql_type *t);
struct gql_type *gql__named(const struct tref *t);
/* t is one of the possible object types of abstract (or equal to it). */
bool gql__possible(const struct gql_type *abstract, const struct gql_type *t);
/* Write a type reference as GraphQL text ("[Int!]!"). */
int gql__tref_str(const struct tref *t, struct buf *b) JS_WUR;
bool gql__tref_equal(const struct tref *a, const struct tref *b);
int gql__value_literal(const struct ast_value *v, struct buf *b) JS_WUR;
/* Bind the introspection resolvers (introspection.c). */
void gql__bind_introspection(struct gql_schema *s);
extern const char gql__introspection_sdl[];
const struct gql_schema *gql__exec_schema(struct gql_exec *x);

/* ---- errors -------------------------------------------------------------- */
struct gql_path {
	const struct gql_path *parent;
	const char *key; /* NULL for a list index */
	size_t index;
};
struct gql_err {
	char *message;
	struct gql_loc locs[2];
	int n_locs;
	const struct gql_path *path;
	const char *code;
	struct gql_err *next;
};

struct err_list {
	struct gql_err *first, *last;
	size_t n;
	struct arena *arena;
};

void gql__err_add(struct err_list *l, const char *code, const struct gql_loc *loc1,
		  const struct gql_loc *loc2, const char *fmt, ...) JS_PRINTF(5, 6);
/* Serialise {"errors":[...]} entries (without the key) to b. */
int gql__errors_json(const struct err_list *l, struct buf *b) JS_WUR;

/* ---- validation ---------------------------------------------------------- */
struct validate_stats {
	int max_depth; /* deepest selection nesting of any operation */
	int n_aliases; /* aliases over the whole document, fragments expanded once */
};
/* Validate doc for execution against s; errors appended to errs. */
void gql__validate(const struct gql_schema *s, struct ast_doc *doc, struct err_list *errs,
		   const struct gql_limits *lim, struct validate_stats *st);

/* A constant literal valid for input type t? -1 with the reason in msg. */
int gql__check_literal(const struct gql_schema *s, const struct ast_value *v, const struct tref *t,
		       char *msg, size_t n);

/* ---- documents ------------------------------------------------------------ */
struct gql_document {
	struct arena arena;
	struct ast_doc *ast;  /* NULL when parsing failed */
	struct err_list errs; /* parse/validation errors (cached too) */
	char *text;
	size_t len;
	uint64_t hash;
	int refs; /* protected by the cache mutex */
	struct validate_stats stats;
	struct gql_document *lru_prev, *lru_next, *hnext;
};

uint64_t gql__hash(const char *s, size_t len);

#endif
