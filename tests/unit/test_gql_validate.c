/*
 * Unit tests of GraphQL validation (spec section 5): for every rule, at
 * least one document that breaks it (with the expected message) and one
 * that passes, against a small schema with interfaces, unions, enums, input
 * objects and non-null arguments. Also the schema loader's own checks and
 * the depth and alias limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "graphql/graphql.h"

static const char SDL[] =
	"interface Node { id: ID! }\n"
	"interface Pet { name(surname: Boolean): String }\n"
	"enum DogCommand { SIT DOWN HEEL }\n"
	"type Dog implements Pet & Node {\n"
	"  id: ID! name(surname: Boolean): String nickname: String barkVolume: Int\n"
	"  doesKnowCommand(dogCommand: DogCommand!): Boolean!\n"
	"  isHouseTrained(atOtherHomes: Boolean): Boolean! owner: Human\n"
	"}\n"
	"type Cat implements Pet & Node { id: ID! name(surname: Boolean): String nickname: String "
	"meowVolume: Int }\n"
	"union CatOrDog = Cat | Dog\n"
	"type Human implements Node { id: ID! name: String pets: [Pet!]! }\n"
	"union DogOrHuman = Dog | Human\n"
	"input FindDogInput { name: String, owner: String, command: DogCommand = SIT, limit: Int! }\n"
	"type Query {\n"
	"  dog: Dog node(id: ID!): Node pets: [Pet] catOrDog: CatOrDog dogOrHuman: DogOrHuman\n"
	"  human(id: ID): Human findDog(input: FindDogInput): Dog\n"
	"  booleanList(list: [Boolean!]): Boolean intArg(i: Int!, j: Int = 3): Int\n"
	"  floatArg(f: Float): Float stringArg(s: String): String nonNullBool(b: Boolean!): Boolean\n"
	"}\n"
	"type Mutation { rename(id: ID!, name: String!): Dog }\n"
	"directive @repeatme repeatable on FIELD\n"
	"directive @onQuery on QUERY\n";

static struct gql_schema *S;

static int setup(void **state)
{
	(void)state;
	char err[256];
	S = gql_schema_new();
	if (gql_schema_load(S, SDL, strlen(SDL), err, sizeof err) < 0)
		fail_msg("schema: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gql_schema_free(S);
	return 0;
}

static void valid(const char *q)
{
	char *errs = NULL;
	if (gql_check_document(S, q, strlen(q), NULL, &errs) != 0)
		fail_msg("expected valid: %s\n  errors: %s", q, errs);
	assert_null(errs);
}

static void invalid(const char *q, const char *want)
{
	char *errs = NULL;
	if (gql_check_document(S, q, strlen(q), NULL, &errs) == 0)
		fail_msg("expected an error for: %s", q);
	if (!strstr(errs, want))
		fail_msg("for %s\n  wanted \"%s\"\n  got %s", q, want, errs);
	free(errs);
}

static void test_executable_definitions(void **state)
{
	(void)state;
	invalid("{ dog { id } } type X { a: Int }", "not executable");
	valid("{ dog { id } }");
}

static void test_operations(void **state)
{
	(void)state;
	invalid("query A { dog { id } } query A { pets { name } }",
		"There can be only one operation named \\\"A\\\"");
	valid("query A { dog { id } } query B { pets { name } }");
	invalid("{ dog { id } } query B { dog { id } }", "anonymous operation must be the only");
	valid("{ dog { id } }");
	invalid("subscription { dog { id } }", "Subscriptions are not supported");
	valid("mutation { rename(id: 1, name: \"x\") { id } }");
}

static void test_field_selections(void **state)
{
	(void)state;
	invalid("{ dog { meowVolume } }",
		"Cannot query field \\\"meowVolume\\\" on type \\\"Dog\\\"");
	invalid("{ pets { nickname } }", "on type \\\"Pet\\\"");
	invalid("{ catOrDog { name } }", "on type \\\"CatOrDog\\\"");
	valid("{ catOrDog { __typename ... on Cat { meowVolume } ... on Pet { name } } }");
	valid("{ __typename __schema { queryType { name } } __type(name: \"Dog\") { name } }");
	invalid("{ dog { __schema { queryType { name } } } }",
		"Cannot query field \\\"__schema\\\"");
}

static void test_field_merging(void **state)
{
	(void)state;
	invalid("{ dog { name: nickname name } }",
		"\\\"nickname\\\" and \\\"name\\\" are different fields");
	invalid("{ dog { doesKnowCommand(dogCommand: SIT) doesKnowCommand(dogCommand: HEEL) } }",
		"differing arguments");
	invalid("query ($a: DogCommand!, $b: DogCommand!) { dog { doesKnowCommand(dogCommand: $a) "
		"doesKnowCommand(dogCommand: $b) } }",
		"differing arguments");
	invalid("{ dog { ...A ...B } } fragment A on Dog { x: name } fragment B on Dog { x: nickname }",
		"different fields");
	invalid("{ dog { owner { x: name } } dog { owner { x: id } } }", "different fields");
	invalid("{ pets { ... on Dog { v: barkVolume } ... on Cat { v: nickname } } }",
		"conflicting types \\\"Int\\\" and \\\"String\\\"");
	valid("{ dog { name name doesKnowCommand(dogCommand: SIT) doesKnowCommand(dogCommand: SIT) } }");
	valid("{ pets { ... on Dog { v: barkVolume } ... on Cat { v: meowVolume } } }");
	valid("{ pets { ... on Dog { n: nickname } ... on Cat { n: name } } }");
	valid("{ dog { owner { name } } dog { owner { id } } }");
	valid("{ dog { ...A ...A } } fragment A on Dog { x: name }");
}

static void test_leaf_selections(void **state)
{
	(void)state;
	invalid("{ dog { barkVolume { a } } }", "must not have a selection");
	invalid("{ dog }", "must have a selection of subfields");
	invalid("{ human { pets } }", "must have a selection of subfields");
	valid("{ dog { barkVolume } human { pets { name } } }");
}

static void test_arguments(void **state)
{
	(void)state;
	invalid("{ dog { name(unknown: true) } }", "Unknown argument \\\"unknown\\\" on field");
	invalid("{ dog @skip(unless: true) { id } }",
		"Unknown argument \\\"unless\\\" on directive");
	invalid("{ dog { name(surname: true, surname: false) } }",
		"There can be only one argument named \\\"surname\\\"");
	valid("{ dog { name(surname: true) } }");
	invalid("{ dog { doesKnowCommand } }",
		"argument \\\"dogCommand\\\" of type \\\"DogCommand!\\\" "
		"is required");
	invalid("{ nonNullBool(b: null) }", "Expected value of type \\\"Boolean!\\\", found null");
	invalid("{ dog @include { id } }", "Directive \\\"@include\\\" argument \\\"if\\\"");
	valid("{ intArg(i: 1) nonNullBool(b: false) }");
}

static void test_fragments(void **state)
{
	(void)state;
	invalid("{ dog { ...F } } fragment F on Dog { id } fragment F on Dog { name }",
		"There can be only one fragment named \\\"F\\\"");
	invalid("{ dog { ...F } } fragment F on Nope { id }", "Unknown type \\\"Nope\\\"");
	invalid("{ dog { ... on Nope { id } } }", "Unknown type \\\"Nope\\\"");
	invalid("{ dog { ...F } } fragment F on DogCommand { id }", "non composite type");
	invalid("{ dog { ... on Int { id } } }", "non composite type");
	invalid("{ dog { id } } fragment F on Dog { id }", "Fragment \\\"F\\\" is never used");
	invalid("{ dog { ...Missing } }", "Unknown fragment \\\"Missing\\\"");
	invalid("{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { ...A }",
		"within itself");
	invalid("{ dog { ...A } } fragment A on Dog { name ...A }", "within itself");
	valid("{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { name }");
	/* Fragment spread is possible. */
	invalid("{ dog { ... on Cat { meowVolume } } }", "can never be of type \\\"Cat\\\"");
	invalid("{ dog { ...C } } fragment C on Cat { meowVolume }",
		"Fragment \\\"C\\\" cannot be spread");
	invalid("{ catOrDog { ... on Human { name } } }", "can never be of type \\\"Human\\\"");
	invalid("{ pets { ... on Human { name } } }", "can never be of type \\\"Human\\\"");
	valid("{ dog { ... on Pet { name } ... on CatOrDog { __typename } } }");
	valid("{ pets { ... on DogOrHuman { __typename } ... on Node { id } } }");
	valid("{ node(id: 1) { ... on Pet { name } } }");
}

static void test_values(void **state)
{
	(void)state;
	invalid("{ intArg(i: \"one\") }", "Expected value of type \\\"Int!\\\", found \\\"one\\\"");
	invalid("{ intArg(i: 3000000000) }", "found 3000000000");
	invalid("{ intArg(i: 1.5) }", "found 1.5");
	invalid("{ stringArg(s: 1) }", "Expected value of type \\\"String\\\"");
	invalid("{ stringArg(s: ABC) }", "found ABC");
	invalid("{ dog { doesKnowCommand(dogCommand: JUMP) } }", "found JUMP");
	invalid("{ dog { doesKnowCommand(dogCommand: \"SIT\") } }", "found \\\"SIT\\\"");
	invalid("{ booleanList(list: [true, 1]) }",
		"Expected value of type \\\"Boolean!\\\", found 1");
	invalid("{ booleanList(list: [true, null]) }", "found null");
	valid("{ floatArg(f: 1) booleanList(list: true) stringArg(s: null) "
	      "dog { doesKnowCommand(dogCommand: SIT) } node(id: \"x\") { id } human(id: 4) { id } }");
	/* Input objects. */
	invalid("{ findDog(input: {limit: 1, nope: 2}) { id } }",
		"Field \\\"nope\\\" is not defined by type \\\"FindDogInput\\\"");
	invalid("{ findDog(input: {limit: 1, limit: 2}) { id } }",
		"There can be only one input field named \\\"limit\\\"");
	invalid("{ findDog(input: {name: \"x\"}) { id } }",
		"Field \\\"FindDogInput.limit\\\" of required type \\\"Int!\\\" was not provided");
	invalid("{ findDog(input: {limit: null}) { id } }", "found null");
	invalid("{ findDog(input: {limit: 1, command: WALK}) { id } }", "found WALK");
	invalid("{ findDog(input: 5) { id } }", "Expected value of type \\\"FindDogInput\\\"");
	valid("{ findDog(input: {limit: 1, name: \"Rex\", command: HEEL}) { id } }");
}

static void test_directives(void **state)
{
	(void)state;
	invalid("{ dog @nope { id } }", "Unknown directive \\\"@nope\\\"");
	invalid("query @skip(if: true) { dog { id } }", "may not be used on QUERY");
	invalid("{ dog @onQuery { id } }", "may not be used on FIELD");
	invalid("query ($v: Int @skip(if: true)) { intArg(i: $v) }",
		"may not be used on VARIABLE_DEFINITION");
	valid("query @onQuery { dog { id } }");
	invalid("{ dog @skip(if: true) @skip(if: false) { id } }",
		"The directive \\\"@skip\\\" can only be used once at this location");
	valid("{ dog @repeatme @repeatme @skip(if: false) @include(if: true) { id } }");
	valid("{ dog { ...F @include(if: true) ... @skip(if: false) { id } } } "
	      "fragment F on Dog { id }");
}

static void test_variables(void **state)
{
	(void)state;
	invalid("query ($a: Int!, $a: Int!) { intArg(i: $a) }",
		"There can be only one variable named \\\"$a\\\"");
	invalid("query ($d: Dog) { dog { id } }", "cannot be non-input type \\\"Dog\\\"");
	invalid("query ($d: [CatOrDog]) { dog { id } }", "non-input type");
	invalid("query ($d: Nope) { dog { id } }", "Unknown type \\\"Nope\\\"");
	valid("query ($a: Int!, $b: FindDogInput, $c: DogCommand!) { intArg(i: $a) "
	      "findDog(input: $b) { id } dog { doesKnowCommand(dogCommand: SIT) @skip(if: false) } "
	      "c: booleanList(list: null) @include(if: true) x: stringArg(s: \"\") "
	      "y: dog { id } z: catOrDog { __typename } w: human { id } v: node(id: 1) { id } "
	      "u: pets { name } t: floatArg(f: 1) s: nonNullBool(b: true) r: dogOrHuman { __typename } "
	      "q: findDog { id } p: intArg(i: 2) o: booleanList(list: [true]) "
	      "n: stringArg(s: null) m: floatArg(f: null) l: human(id: null) { id } "
	      "k: dog { name(surname: null) } cc: pets { name } "
	      "dd: intArg(i: 3, j: null) ee: booleanList ff: dog { isHouseTrained } "
	      "gg: dog { doesKnowCommand(dogCommand: DOWN) } hh: findDog(input: null) { id } "
	      "ii: human { pets { ... on Dog { doesKnowCommand(dogCommand: SIT) } } } "
	      "jj: dog { owner { name } } kk: node(id: \"1\") { __typename } "
	      "ll: findDog(input: {limit: 2}) { id } mm: dog { doesKnowCommand(dogCommand: $c) } }");
	/* All variable uses defined, also through fragments. */
	invalid("query Q { intArg(i: $x) }",
		"Variable \\\"$x\\\" is not defined by operation \\\"Q\\\"");
	invalid("query Q { ...F } fragment F on Query { intArg(i: $x) }",
		"Variable \\\"$x\\\" is not defined by operation \\\"Q\\\"");
	invalid("query A($x: Int!) { ...F } query B { ...F } fragment F on Query { intArg(i: $x) }",
		"not defined by operation \\\"B\\\"");
	valid("query Q($x: Int!) { ...F } fragment F on Query { intArg(i: $x) }");
	/* All variables used. */
	invalid("query Q($x: Int) { dog { id } }",
		"Variable \\\"$x\\\" is never used in operation \\\"Q\\\"");
	valid("query Q($x: Boolean!) { ...F } fragment F on Query { dog @skip(if: $x) { id } }");
	/* All variable usages allowed. */
	invalid("query ($b: Boolean) { nonNullBool(b: $b) }",
		"Variable \\\"$b\\\" of type \\\"Boolean\\\" used in position expecting type \\\"Boolean!\\\"");
	valid("query ($b: Boolean = true) { nonNullBool(b: $b) }");
	invalid("query ($i: Int!) { floatArg(f: $i) }", "expecting type \\\"Float\\\"");
	invalid("query ($l: [Boolean]) { booleanList(list: $l) }",
		"expecting type \\\"[Boolean!]\\\"");
	invalid("query ($b: Boolean!) { booleanList(list: $b) }",
		"expecting type \\\"[Boolean!]\\\"");
	valid("query ($b: Boolean!) { booleanList(list: [$b]) }");
	invalid("query ($l: Int) { findDog(input: {limit: $l}) { id } }",
		"expecting type \\\"Int!\\\"");
	valid("query ($n: String, $l: Int!) { findDog(input: {limit: $l, name: $n}) { id } }");
	/* A nullable variable may feed a non-null argument that has a default. */
	valid("query ($j: Int) { intArg(i: 1, j: $j) }");
	invalid("query ($i: Int = \"x\") { intArg(i: 1) floatArg(f: $i) }",
		"Expected value of type \\\"Int\\\", found \\\"x\\\"");
}

static void test_limits(void **state)
{
	(void)state;
	struct gql_limits lim;
	gql_limits_default(&lim);
	lim.max_depth = 3;
	lim.max_aliases = 2;
	char *errs = NULL;
	const char *deep = "{ human { pets { ... on Dog { owner { name } } } } }";
	assert_int_equal(gql_check_document(S, deep, strlen(deep), &lim, &errs), -1);
	assert_non_null(strstr(errs, "QUERY_TOO_DEEP"));
	free(errs);
	/* Depth counts through fragments. */
	const char *via = "{ human { ...P } } fragment P on Human { pets { ...D } } "
			  "fragment D on Dog { owner { id } }";
	assert_int_equal(gql_check_document(S, via, strlen(via), &lim, &errs), -1);
	assert_non_null(strstr(errs, "depth 4"));
	free(errs);
	const char *ok = "{ human { pets { name } } }";
	assert_int_equal(gql_check_document(S, ok, strlen(ok), &lim, &errs), 0);
	const char *aliases = "{ a: dog { id } b: dog { id } c: dog { id } }";
	assert_int_equal(gql_check_document(S, aliases, strlen(aliases), &lim, &errs), -1);
	assert_non_null(strstr(errs, "TOO_MANY_ALIASES"));
	free(errs);
	/* Many identical fields stay cheap to validate. */
	struct buf b = BUF_INIT;
	assert_int_equal(buf_puts(&b, "{ dog {"), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_puts(&b, " name"), 0);
	assert_int_equal(buf_puts(&b, " } }"), 0);
	assert_int_equal(gql_check_document(S, b.data, b.len, NULL, &errs), 0);
	buf_release(&b);
}

/* "{ dog { ...F0 } } fragment F0 on Dog { ...F1 } ... fragment Fn-1 on Dog { <last> }" */
static char *fragment_chain(int n, const char *last)
{
	struct buf b = BUF_INIT;
	assert_int_equal(buf_puts(&b, "{ dog { ...F0 } }"), 0);
	for (int i = 0; i < n - 1; i++)
		assert_int_equal(buf_printf(&b, " fragment F%d on Dog { id ...F%d }", i, i + 1), 0);
	assert_int_equal(buf_printf(&b, " fragment F%d on Dog { %s }", n - 1, last), 0);
	return buf_detach(&b);
}

static void test_fragment_chains(void **state)
{
	(void)state;
	/* A cycle closing 400 fragments down the chain is still found. */
	char *q = fragment_chain(400, "...F0");
	invalid(q, "Cannot spread fragment \\\"F0\\\" within itself via F399.");
	free(q);
	/* A chain that deep is refused even without a cycle ... */
	q = fragment_chain(400, "name");
	invalid(q,
		"more than the limit of 100\",\"locations\":[{\"line\":1,\"column\":1}],\"extensions\":{\"code\":\"QUERY_TOO_DEEP\"");
	free(q);
	/* ... and a moderate one is fine, every fragment counted as used. */
	q = fragment_chain(60, "name");
	valid(q);
	free(q);
}

static void test_schema_errors(void **state)
{
	(void)state;
	static const struct {
		const char *sdl, *want;
	} cases[] = {
		{"type Query { a: Nope }", "unknown type 'Nope'"},
		{"type Query { a: Int } type Query { b: Int }", "defined twice"},
		{"interface I { a: Int } type Query implements I { b: Int }",
		 "expected by interface"},
		{"interface I { a: Int } type Query implements I { a: String }", "incompatible"},
		{"union U = Int type Query { a: U }", "must be an object type"},
		{"type Query { a(x: Query): Int }", "must have an input type"},
		{"input In { a: Query } type Query { a: Int }", "must have an input type"},
		{"type Mutation { a: Int }", "no query root type"},
		{"type Query { a: Int @nope }", "unknown directive"},
		{"type Query { __a: Int }", "reserved"},
		{"input In { a: In! } type Query { a(i: In): Int }", "references itself"},
		{"type Query { a: Int } { a }", "operations"},
		{"enum E { A A } type Query { a: E }", "defined twice"},
		{"type Query { a(x: Int = \"one\"): Int }", "invalid default value of 'x' in 'a'"},
		{"enum E { A } input In { e: E = B } type Query { a(i: In): Int }", "found B"},
		{"input In { n: Int! } type Query { a(i: In = {}): Int }", "was not provided"},
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(cases); i++) {
		struct gql_schema *s = gql_schema_new();
		char err[256] = "";
		if (gql_schema_load(s, cases[i].sdl, strlen(cases[i].sdl), err, sizeof err) == 0)
			fail_msg("schema accepted: %s", cases[i].sdl);
		if (!strstr(err, cases[i].want))
			fail_msg("for %s wanted '%s', got '%s'", cases[i].sdl, cases[i].want, err);
		gql_schema_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executable_definitions),
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_field_selections),
		cmocka_unit_test(test_field_merging),
		cmocka_unit_test(test_leaf_selections),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fragment_chains),
		cmocka_unit_test(test_schema_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
