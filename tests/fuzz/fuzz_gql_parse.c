/*
 * libFuzzer target for the GraphQL engine: arbitrary bytes are parsed,
 * validated against a small schema (interfaces, a union, an enum, an input
 * object, non-null arguments) and executed with simple resolvers, under the
 * default limits. Input: the document, optionally followed by a NUL byte and
 * a JSON variables object. Invariants: no crash, no leak, and every
 * response is one valid JSON object with "data" or "errors".
 *
 * fuzz-sources: graphql/lexer.c graphql/parser.c graphql/schema.c graphql/validate.c graphql/execute.c graphql/introspection.c graphql/value.c common/*.c
 * fuzz-pkgs: libcjson libcurl libpq hiredis
 * fuzz-libs: -lpthread
 */
#include <cjson/cJSON.h>

#include "graphql/graphql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SDL[] =
	"scalar JSON\n"
	"enum Color { RED GREEN }\n"
	"interface Node { id: ID! }\n"
	"type Item implements Node { id: ID! name: String color: Color tags: [String!]! "
	"children(first: Int = 3): [Item!]! data: JSON }\n"
	"type Other implements Node { id: ID! n: Int! }\n"
	"union Any = Item | Other\n"
	"input Filter { color: Color, names: [String!], limit: Int! = 5, nested: Filter }\n"
	"type Query { items(first: Int, filter: Filter): [Item] node(id: ID!): Node any: [Any!]! "
	"echo(s: String, f: Float, b: Boolean!, l: [[Int]]): String }\n"
	"type Mutation { touch(id: ID!): Item }\n";

static int r_items(const struct gql_resolve_info *info, const struct gql_value *parent,
		   struct gql_value *out)
{
	(void)parent;
	int64_t n = gql_arg_int(info, "first", 2);
	if (n < 0 || n > 5)
		n = 5;
	*out = gql_list_new(info->exec, (size_t)n);
	for (int64_t i = 0; i < n; i++)
		out->u.list.items[i] = gql_ptr((void *)(intptr_t)(i + 1), "Item");
	return 0;
}

static int r_item_field(const struct gql_resolve_info *info, const struct gql_value *parent,
			struct gql_value *out)
{
	intptr_t id = (intptr_t)parent->u.ptr;
	const char *f = info->field_name;
	if (!strcmp(f, "id"))
		*out = gql_int(id);
	else if (!strcmp(f, "name"))
		*out = id % 2 ? gql_string("odd \xF0\x9F\x98\x80") : gql_null();
	else if (!strcmp(f, "color"))
		*out = gql_enum(id % 2 ? "RED" : "BLUE"); /* BLUE: a result coercion error */
	else if (!strcmp(f, "tags"))
		*out = gql_list_new(info->exec, 2); /* null items in [String!]! */
	else if (!strcmp(f, "data"))
		*out = *info->args;
	return 0;
}

static int b_children(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out)
{
	int64_t first = gql_arg_int(info, "first", 3);
	if (first < 0 || first > 3)
		first = 3;
	for (size_t i = 0; i < n; i++) {
		intptr_t id = (intptr_t)parents[i].u.ptr;
		if (id > 1000) {
			out[i] = gql_error(info->exec, "TOO_DEEP", "no children below %ld",
					   (long)id);
			continue;
		}
		out[i] = gql_list_new(info->exec, (size_t)first);
		for (int64_t k = 0; k < first; k++)
			out[i].u.list.items[k] = gql_ptr((void *)(intptr_t)(id * 10 + k), "Item");
	}
	return 0;
}

static int r_node(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)parent;
	const char *id = gql_arg_str(info, "id");
	if (id && id[0] == 'o') {
		*out = gql_object_new(info->exec, 2);
		out->u.obj.fields[0].name = "id";
		out->u.obj.fields[0].value = gql_string("o1");
		out->u.obj.fields[1].name = "n";
		out->u.obj.fields[1].value = gql_null();
		out->type = "Other";
	} else {
		*out = gql_ptr((void *)(intptr_t)7, id && id[0] == 'x' ? NULL : "Item");
	}
	return 0;
}

static int r_any(const struct gql_resolve_info *info, const struct gql_value *parent,
		 struct gql_value *out)
{
	(void)parent;
	*out = gql_list_new(info->exec, 1);
	out->u.list.items[0] = gql_ptr((void *)(intptr_t)3, "Item");
	return 0;
}

static int r_echo(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)parent;
	if (!gql_arg(info, "s")) {
		gql_fail(info, "NO_S", "no s given");
		return -1;
	}
	*out = *gql_arg(info, "s");
	return 0;
}

static struct gql_engine *engine(struct gql_schema **sp)
{
	static struct gql_schema *s;
	static struct gql_engine *e;
	if (e) {
		*sp = s;
		return e;
	}
	char err[256];
	s = gql_schema_new();
	if (gql_schema_load(s, SDL, strlen(SDL), err, sizeof err) < 0) {
		fprintf(stderr, "fuzz schema: %s\n", err);
		abort();
	}
	if (gql_schema_bind(s, "Query.items", r_items, NULL) < 0 ||
	    gql_schema_bind(s, "Query.node", r_node, NULL) < 0 ||
	    gql_schema_bind(s, "Query.any", r_any, NULL) < 0 ||
	    gql_schema_bind(s, "Query.echo", r_echo, NULL) < 0 ||
	    gql_schema_bind(s, "Mutation.touch", r_node, NULL) < 0 ||
	    gql_schema_bind_batch(s, "Item.children", b_children, NULL) < 0 ||
	    gql_schema_bind_property(s, "Other.*") < 0)
		abort();
	static const char *const f[] = {"Item.id", "Item.name", "Item.color", "Item.tags",
					"Item.data"};
	for (size_t i = 0; i < JS_ARRAY_LEN(f); i++)
		if (gql_schema_bind(s, f[i], r_item_field, NULL) < 0)
			abort();
	if (gql_schema_check_bound(s, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz schema: %s\n", err);
		abort();
	}
	e = gql_engine_new(s, NULL, 0);
	*sp = s;
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gql_schema *s;
	struct gql_engine *e = engine(&s);
	const char *text = (const char *)data;
	size_t qlen = size;
	const char *nul = memchr(data, 0, size);
	char *vars = NULL;
	if (nul) {
		qlen = (size_t)(nul - text);
		vars = xstrndup(nul + 1, size - qlen - 1);
	}
	/* Parse + validate alone. */
	char *errs = NULL;
	if (gql_check_document(s, text, qlen, NULL, &errs) < 0) {
		cJSON *j = cJSON_Parse(errs);
		if (!j || !cJSON_IsArray(j)) {
			fprintf(stderr, "errors are not a JSON array: %s\n", errs);
			abort();
		}
		cJSON_Delete(j);
	}
	free(errs);
	/* Full execution. */
	struct gql_request rq = {
		.query = text, .query_len = qlen, .variables_json = vars, .allow_mutations = true};
	struct buf out = BUF_INIT;
	int rc = gql_execute(e, &rq, &out);
	cJSON *j = cJSON_Parse(out.data);
	if (!j || !cJSON_IsObject(j) ||
	    (!cJSON_GetObjectItemCaseSensitive(j, "data") &&
	     !cJSON_GetObjectItemCaseSensitive(j, "errors")) ||
	    (rc == 0) != !cJSON_GetObjectItemCaseSensitive(j, "errors")) {
		fprintf(stderr, "bad response (rc %d): %s\n", rc, out.data);
		abort();
	}
	cJSON_Delete(j);
	buf_release(&out);
	free(vars);
	return 0;
}
