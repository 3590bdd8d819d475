/*
 * Unit tests of GraphQL introspection: the standard introspection query (as
 * graphql-js getIntrospectionQuery() writes it, spelled out below rather than
 * taken from the library) runs without errors against a test schema and
 * describes its types, fields, arguments, defaults, deprecations, wrappers,
 * interfaces, possible types, enum values, input fields and directives.
 * Set GQL_INTROSPECTION_OUT=path to keep the result for graphql-js's
 * buildClientSchema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "graphql/graphql.h"

static const char SDL[] =
	"\"\"\"\n"
	"  A timestamp.\n"
	"    Indented line.\n"
	"\"\"\"\n"
	"scalar DateTime @specifiedBy(url: \"https://tools.ietf.org/html/rfc3339\")\n"
	"\"Workflow states\" enum Status { OPEN \"closed\" DONE OLD @deprecated(reason: \"use DONE\") }\n"
	"interface Node { id: ID! }\n"
	"type User implements Node { id: ID! name: String! }\n"
	"type Comment implements Node { id: ID! body: String! author: User! }\n"
	"\"An issue\" type Issue implements Node {\n"
	"  id: ID!\n"
	"  \"The issue key\" key: String!\n"
	"  comments(first: Int = 10, \"order\" order: [Status!] = [OPEN, DONE]): [Comment!]!\n"
	"  legacy: String @deprecated\n"
	"  created: DateTime\n"
	"}\n"
	"union SearchResult = Issue | User\n"
	"input IssueFilter { status: Status = OPEN, keys: [String!], limit: Int! = 50, "
	"text: String = \"a \\\"b\\\"\" }\n"
	"directive @cost(weight: Int = 1) repeatable on FIELD_DEFINITION | OBJECT\n"
	"type Query { issues(filter: IssueFilter): [Issue!]! search(text: String!): [SearchResult!]! "
	"node(id: ID!): Node }\n"
	"type Mutation { touch(key: String!): Issue }\n";

/* What graphql-js 16.15 getIntrospectionQuery({specifiedByUrl: true,
 * directiveIsRepeatable: true}) sends, written out independently. */
static const char INTROSPECTION_QUERY[] = "\n"
					  "    query IntrospectionQuery {\n"
					  "      __schema {\n"
					  "        \n"
					  "        queryType { name kind }\n"
					  "        mutationType { name kind }\n"
					  "        subscriptionType { name kind }\n"
					  "        types {\n"
					  "          ...FullType\n"
					  "        }\n"
					  "        directives {\n"
					  "          name\n"
					  "          description\n"
					  "          isRepeatable\n"
					  "          \n"
					  "          \n"
					  "          locations\n"
					  "          args {\n"
					  "            ...InputValue\n"
					  "          }\n"
					  "        }\n"
					  "      }\n"
					  "    }\n"
					  "\n"
					  "    fragment FullType on __Type {\n"
					  "      kind\n"
					  "      name\n"
					  "      description\n"
					  "      specifiedByURL\n"
					  "      \n"
					  "      fields(includeDeprecated: true) {\n"
					  "        name\n"
					  "        description\n"
					  "        args {\n"
					  "          ...InputValue\n"
					  "        }\n"
					  "        type {\n"
					  "          ...TypeRef\n"
					  "        }\n"
					  "        isDeprecated\n"
					  "        deprecationReason\n"
					  "      }\n"
					  "      inputFields {\n"
					  "        ...InputValue\n"
					  "      }\n"
					  "      interfaces {\n"
					  "        ...TypeRef\n"
					  "      }\n"
					  "      enumValues(includeDeprecated: true) {\n"
					  "        name\n"
					  "        description\n"
					  "        isDeprecated\n"
					  "        deprecationReason\n"
					  "      }\n"
					  "      possibleTypes {\n"
					  "        ...TypeRef\n"
					  "      }\n"
					  "    }\n"
					  "\n"
					  "    fragment InputValue on __InputValue {\n"
					  "      name\n"
					  "      description\n"
					  "      type { ...TypeRef }\n"
					  "      defaultValue\n"
					  "      \n"
					  "      \n"
					  "    }\n"
					  "\n"
					  "    fragment TypeRef on __Type {\n"
					  "      kind\n"
					  "      name\n"
					  "      ofType {\n"
					  "        name\n"
					  "        kind\n"
					  "        ofType {\n"
					  "          name\n"
					  "          kind\n"
					  "          ofType {\n"
					  "            name\n"
					  "            kind\n"
					  "            ofType {\n"
					  "              name\n"
					  "              kind\n"
					  "              ofType {\n"
					  "                name\n"
					  "                kind\n"
					  "                ofType {\n"
					  "                  name\n"
					  "                  kind\n"
					  "                  ofType {\n"
					  "                    name\n"
					  "                    kind\n"
					  "                    ofType {\n"
					  "                      name\n"
					  "                      kind\n"
					  "                      ofType {\n"
					  "                        name\n"
					  "                        kind\n"
					  "                      }\n"
					  "                    }\n"
					  "                  }\n"
					  "                }\n"
					  "              }\n"
					  "            }\n"
					  "          }\n"
					  "        }\n"
					  "      }\n"
					  "    }\n"
					  "  ";

static struct gql_schema *S;
static struct gql_engine *E;

static int setup(void **state)
{
	(void)state;
	char err[256];
	S = gql_schema_new();
	if (gql_schema_load(S, SDL, strlen(SDL), err, sizeof err) < 0)
		fail_msg("schema: %s", err);
	E = gql_engine_new(S, NULL, 4);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gql_engine_free(E);
	gql_schema_free(S);
	return 0;
}

static cJSON *exec_json(const char *q)
{
	struct gql_request rq = {.query = q, .query_len = strlen(q)};
	struct buf out = BUF_INIT;
	int rc = gql_execute(E, &rq, &out);
	if (rc != 0)
		fail_msg("introspection failed: %s", out.data);
	const char *path = getenv("GQL_INTROSPECTION_OUT");
	if (path && q == INTROSPECTION_QUERY) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(out.data, f);
		fclose(f);
	}
	cJSON *j = cJSON_Parse(out.data);
	assert_non_null(j);
	buf_release(&out);
	return j;
}

static cJSON *get(const cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v)
		fail_msg("no key %s", k);
	return v;
}

static const char *str(const cJSON *o, const char *k)
{
	cJSON *v = get(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *by_name(const cJSON *arr, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		const char *n = str(it, "name");
		if (n && !strcmp(n, name))
			return (cJSON *)it;
	}
	fail_msg("no element named %s", name);
	return NULL;
}

static bool has_name(const cJSON *arr, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		const char *n = str(it, "name");
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

/* "NON_NULL(LIST(NON_NULL(OBJECT Comment)))" */
static void type_str(const cJSON *t, struct buf *b)
{
	const cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "ofType");
	const char *kind = str(t, "kind");
	if (of && !cJSON_IsNull(of)) {
		assert_int_equal(buf_printf(b, "%s(", kind), 0);
		type_str(of, b);
		assert_int_equal(buf_putc(b, ')'), 0);
	} else {
		assert_int_equal(buf_printf(b, "%s %s", kind, str(t, "name")), 0);
	}
}

static void assert_type(const cJSON *t, const char *want)
{
	struct buf b = BUF_INIT;
	type_str(t, &b);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_standard_query(void **state)
{
	(void)state;
	cJSON *j = exec_json(INTROSPECTION_QUERY);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "errors"));
	cJSON *sch = get(get(j, "data"), "__schema");
	assert_string_equal(str(get(sch, "queryType"), "name"), "Query");
	assert_string_equal(str(get(sch, "mutationType"), "name"), "Mutation");
	assert_true(cJSON_IsNull(get(sch, "subscriptionType")));
	cJSON *types = get(sch, "types");
	static const char *const expected[] = {
		"Query",
		"Mutation",
		"Issue",
		"User",
		"Comment",
		"Node",
		"SearchResult",
		"Status",
		"IssueFilter",
		"DateTime",
		"String",
		"Int",
		"Float",
		"Boolean",
		"ID",
		"__Schema",
		"__Type",
		"__TypeKind",
		"__Field",
		"__InputValue",
		"__EnumValue",
		"__Directive",
		"__DirectiveLocation",
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(expected); i++)
		assert_true(has_name(types, expected[i]));

	/* Objects: fields, descriptions, args with defaults, wrappers, interfaces. */
	cJSON *issue = by_name(types, "Issue");
	assert_string_equal(str(issue, "kind"), "OBJECT");
	assert_string_equal(str(issue, "description"), "An issue");
	assert_true(cJSON_IsNull(get(issue, "inputFields")));
	assert_true(cJSON_IsNull(get(issue, "enumValues")));
	assert_true(cJSON_IsNull(get(issue, "possibleTypes")));
	assert_string_equal(str(by_name(get(issue, "interfaces"), "Node"), "kind"), "INTERFACE");
	cJSON *fields = get(issue, "fields");
	assert_int_equal(cJSON_GetArraySize(fields), 5);
	assert_string_equal(str(by_name(fields, "key"), "description"), "The issue key");
	assert_type(get(by_name(fields, "key"), "type"), "NON_NULL(SCALAR String)");
	cJSON *comments = by_name(fields, "comments");
	assert_type(get(comments, "type"), "NON_NULL(LIST(NON_NULL(OBJECT Comment)))");
	cJSON *first = by_name(get(comments, "args"), "first");
	assert_string_equal(str(first, "defaultValue"), "10");
	assert_type(get(first, "type"), "SCALAR Int");
	cJSON *order = by_name(get(comments, "args"), "order");
	assert_string_equal(str(order, "defaultValue"), "[OPEN, DONE]");
	assert_string_equal(str(order, "description"), "order");
	cJSON *legacy = by_name(fields, "legacy");
	assert_true(cJSON_IsTrue(get(legacy, "isDeprecated")));
	assert_string_equal(str(legacy, "deprecationReason"), "No longer supported");
	assert_false(cJSON_IsTrue(get(by_name(fields, "key"), "isDeprecated")));
	assert_true(cJSON_IsNull(get(by_name(fields, "key"), "deprecationReason")));

	/* Interfaces and unions: possible types. */
	cJSON *node = by_name(types, "Node");
	assert_string_equal(str(node, "kind"), "INTERFACE");
	cJSON *pt = get(node, "possibleTypes");
	assert_int_equal(cJSON_GetArraySize(pt), 3);
	assert_true(has_name(pt, "Issue") && has_name(pt, "User") && has_name(pt, "Comment"));
	cJSON *sr = by_name(types, "SearchResult");
	assert_string_equal(str(sr, "kind"), "UNION");
	assert_int_equal(cJSON_GetArraySize(get(sr, "possibleTypes")), 2);
	assert_true(cJSON_IsNull(get(sr, "fields")));

	/* Enums, with deprecated values. */
	cJSON *st = by_name(types, "Status");
	assert_string_equal(str(st, "description"), "Workflow states");
	cJSON *ev = get(st, "enumValues");
	assert_int_equal(cJSON_GetArraySize(ev), 3);
	assert_string_equal(str(by_name(ev, "DONE"), "description"), "closed");
	assert_true(cJSON_IsTrue(get(by_name(ev, "OLD"), "isDeprecated")));
	assert_string_equal(str(by_name(ev, "OLD"), "deprecationReason"), "use DONE");

	/* Input objects: input fields, defaults printed as GraphQL literals. */
	cJSON *inf = get(by_name(types, "IssueFilter"), "inputFields");
	assert_int_equal(cJSON_GetArraySize(inf), 4);
	assert_string_equal(str(by_name(inf, "status"), "defaultValue"), "OPEN");
	assert_string_equal(str(by_name(inf, "limit"), "defaultValue"), "50");
	assert_string_equal(str(by_name(inf, "text"), "defaultValue"), "\"a \\\"b\\\"\"");
	assert_true(cJSON_IsNull(get(by_name(inf, "keys"), "defaultValue")));
	assert_type(get(by_name(inf, "keys"), "type"), "LIST(NON_NULL(SCALAR String))");

	/* Scalars: block string description and specifiedByURL. */
	cJSON *dt = by_name(types, "DateTime");
	assert_string_equal(str(dt, "description"), "A timestamp.\n  Indented line.");
	assert_string_equal(str(dt, "specifiedByURL"), "https://tools.ietf.org/html/rfc3339");
	assert_true(cJSON_IsNull(get(by_name(types, "String"), "specifiedByURL")));

	/* Introspection types describe themselves. */
	cJSON *tk = get(by_name(types, "__TypeKind"), "enumValues");
	assert_int_equal(cJSON_GetArraySize(tk), 8);
	assert_true(has_name(get(by_name(types, "__Type"), "fields"), "ofType"));

	/* Directives. */
	cJSON *dirs = get(sch, "directives");
	assert_int_equal(cJSON_GetArraySize(dirs), 5);
	cJSON *skip = by_name(dirs, "skip");
	assert_false(cJSON_IsTrue(get(skip, "isRepeatable")));
	assert_int_equal(cJSON_GetArraySize(get(skip, "locations")), 3);
	assert_string_equal(cJSON_GetArrayItem(get(skip, "locations"), 0)->valuestring, "FIELD");
	assert_type(get(by_name(get(skip, "args"), "if"), "type"), "NON_NULL(SCALAR Boolean)");
	assert_true(has_name(dirs, "include"));
	cJSON *dep = by_name(dirs, "deprecated");
	assert_string_equal(str(by_name(get(dep, "args"), "reason"), "defaultValue"),
			    "\"No longer supported\"");
	assert_true(has_name(dirs, "specifiedBy"));
	cJSON *cost = by_name(dirs, "cost");
	assert_true(cJSON_IsTrue(get(cost, "isRepeatable")));
	/* Locations in declaration order. */
	assert_string_equal(cJSON_GetArrayItem(get(cost, "locations"), 0)->valuestring,
			    "FIELD_DEFINITION");
	assert_string_equal(cJSON_GetArrayItem(get(cost, "locations"), 1)->valuestring, "OBJECT");
	cJSON_Delete(j);
}

static void test_type_lookup_and_deprecation_filter(void **state)
{
	(void)state;
	cJSON *j = exec_json(
		"{ t: __type(name: \"Issue\") { name kind fields { name } } "
		"n: __type(name: \"Nope\") { name } "
		"s: __type(name: \"Status\") { enumValues { name } } "
		"w: __type(name: \"Query\") { fields { name type { kind ofType { kind ofType "
		"{ kind ofType { kind name } } } } } } __typename }");
	cJSON *d = get(j, "data");
	cJSON *t = get(d, "t");
	assert_string_equal(str(t, "name"), "Issue");
	/* Deprecated fields are left out unless asked for. */
	assert_int_equal(cJSON_GetArraySize(get(t, "fields")), 4);
	assert_false(has_name(get(t, "fields"), "legacy"));
	assert_true(cJSON_IsNull(get(d, "n")));
	assert_int_equal(cJSON_GetArraySize(get(get(d, "s"), "enumValues")), 2);
	cJSON *issues = by_name(get(get(d, "w"), "fields"), "issues");
	assert_type(get(issues, "type"), "NON_NULL(LIST(NON_NULL(OBJECT Issue)))");
	assert_string_equal(str(d, "__typename"), "Query");
	cJSON_Delete(j);
}

static void test_exported_query(void **state)
{
	(void)state;
	/* The library's own copy of the query is the standard one ... */
	assert_string_equal(gql_introspection_query, INTROSPECTION_QUERY);
	/* ... and gql_introspection_json gives the same result as executing it. */
	cJSON *j = exec_json(INTROSPECTION_QUERY);
	struct buf out = BUF_INIT;
	assert_int_equal(gql_introspection_json(S, &out), 0);
	cJSON *k = cJSON_Parse(out.data);
	assert_non_null(k);
	assert_true(cJSON_Compare(j, k, true));
	assert_true(cJSON_GetArraySize(get(get(get(k, "data"), "__schema"), "types")) >= 23);
	cJSON_Delete(j);
	cJSON_Delete(k);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_query),
		cmocka_unit_test(test_type_lookup_and_deprecation_filter),
		cmocka_unit_test(test_exported_query),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
