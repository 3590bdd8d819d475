/*
 * Unit tests of the GraphQL lexer and parser: the executable grammar, the
 * SDL grammar, string decoding (escapes, surrogate pairs, block strings),
 * error locations, and the limits that protect against hostile documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "graphql/gql_int.h"

static struct arena A;

static int setup(void **state)
{
	(void)state;
	arena_init(&A);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_release(&A);
	return 0;
}

static struct ast_doc *parse_ok(const char *src)
{
	struct parse_error pe;
	struct ast_doc *d = gql__parse(src, strlen(src), &A, NULL, &pe);
	if (!d)
		fail_msg("parse failed at %d:%d: %s", pe.loc.line, pe.loc.col, pe.message);
	return d;
}

static struct parse_error parse_fail(const char *src, const struct parse_opts *o)
{
	struct parse_error pe;
	struct ast_doc *d = gql__parse(src, strlen(src), &A, o, &pe);
	assert_null(d);
	return pe;
}

static const struct ast_arg *arg(const struct ast_sel *s, const char *name)
{
	for (const struct ast_arg *a = s->args; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	fail_msg("no argument %s", name);
	return NULL;
}

static void test_kitchen_sink(void **state)
{
	(void)state;
	const char *q =
		"# a comment\n"
		"query Q($id: ID!, $n: Int = 10, $tags: [String!] = [\"a\", \"b\"], $in: In = {a: 1}) "
		"@dir(x: 1) {\n"
		"  alias: field(id: $id, f: -1.5e3, s: \"str\", b: true, nul: null, e: ENUM_V,\n"
		"               l: [1, 2, [3]], o: {k: {k2: $n}}) @skip(if: false) {\n"
		"    ...Frag @include(if: true)\n"
		"    ... on Issue { key }\n"
		"    ... @include(if: true) { id }\n"
		"  },,,\n"
		"}\n"
		"mutation { m }\n"
		"subscription S { s }\n"
		"fragment Frag on Issue @f { summary }\n"
		"{ anon }\n";
	struct ast_doc *d = parse_ok(q);
	assert_false(d->has_sdl);
	struct ast_op *op = d->ops;
	assert_int_equal(op->op, OP_QUERY);
	assert_string_equal(op->name, "Q");
	/* Variables with types and defaults. */
	struct ast_vardef *v = op->vars;
	assert_string_equal(v->name, "id");
	assert_int_equal(v->type->kind, TR_NONNULL);
	assert_string_equal(v->type->of->name, "ID");
	v = v->next;
	assert_string_equal(v->name, "n");
	assert_int_equal(v->defval->kind, V_INT);
	assert_string_equal(v->defval->str, "10");
	v = v->next;
	assert_int_equal(v->type->kind, TR_LIST);
	assert_int_equal(v->type->of->kind, TR_NONNULL);
	assert_int_equal(v->defval->kind, V_LIST);
	assert_string_equal(v->defval->items->next->str, "b");
	v = v->next;
	assert_int_equal(v->defval->kind, V_OBJECT);
	assert_string_equal(op->dirs->name, "dir");
	/* The field with alias, arguments of every kind and a directive. */
	struct ast_sel *f = op->selset->first;
	assert_int_equal(f->kind, SEL_FIELD);
	assert_string_equal(f->alias, "alias");
	assert_string_equal(f->name, "field");
	assert_int_equal(arg(f, "id")->value->kind, V_VAR);
	assert_string_equal(arg(f, "id")->value->str, "id");
	assert_int_equal(arg(f, "f")->value->kind, V_FLOAT);
	assert_string_equal(arg(f, "f")->value->str, "-1.5e3");
	assert_int_equal(arg(f, "s")->value->kind, V_STRING);
	assert_int_equal(arg(f, "b")->value->kind, V_BOOL);
	assert_true(arg(f, "b")->value->b);
	assert_int_equal(arg(f, "nul")->value->kind, V_NULL);
	assert_int_equal(arg(f, "e")->value->kind, V_ENUM);
	const struct ast_value *l = arg(f, "l")->value;
	assert_int_equal(l->items->next->next->kind, V_LIST);
	const struct ast_value *o = arg(f, "o")->value;
	assert_string_equal(o->fields->value->fields->name, "k2");
	assert_int_equal(o->fields->value->fields->value->kind, V_VAR);
	assert_string_equal(f->dirs->name, "skip");
	/* Spread, inline fragment with and without type condition. */
	struct ast_sel *s = f->selset->first;
	assert_int_equal(s->kind, SEL_SPREAD);
	assert_string_equal(s->name, "Frag");
	assert_string_equal(s->dirs->name, "include");
	s = s->next;
	assert_int_equal(s->kind, SEL_INLINE);
	assert_string_equal(s->type_cond, "Issue");
	s = s->next;
	assert_int_equal(s->kind, SEL_INLINE);
	assert_null(s->type_cond);
	assert_string_equal(s->dirs->name, "include");
	assert_null(s->next);
	/* Other operations and the fragment. */
	op = op->next;
	assert_int_equal(op->op, OP_MUTATION);
	assert_null(op->name);
	op = op->next;
	assert_int_equal(op->op, OP_SUBSCRIPTION);
	op = op->next;
	assert_int_equal(op->op, OP_QUERY);
	assert_null(op->name);
	assert_string_equal(op->selset->first->name, "anon");
	assert_string_equal(d->frags->name, "Frag");
	assert_string_equal(d->frags->type_cond, "Issue");
	assert_string_equal(d->frags->dirs->name, "f");
}

static const char *str_arg(const char *src)
{
	struct ast_doc *d = parse_ok(src);
	return d->ops->selset->first->args->value->str;
}

static void test_strings_and_escapes(void **state)
{
	(void)state;
	assert_string_equal(str_arg("{ f(s: \"a\\\"b\\\\c\\/d\\n\\t\") }"), "a\"b\\c/d\n\t");
	assert_string_equal(str_arg("{ f(s: \"\\u00e9\") }"), "\xC3\xA9");
	assert_string_equal(str_arg("{ f(s: \"\\u20AC\") }"), "\xE2\x82\xAC");
	/* A surrogate pair becomes one 4-byte UTF-8 character. */
	assert_string_equal(str_arg("{ f(s: \"\\uD83D\\uDE00!\") }"), "\xF0\x9F\x98\x80!");
	/* The braced form (October 2021). */
	assert_string_equal(str_arg("{ f(s: \"\\u{1F600}\") }"), "\xF0\x9F\x98\x80");
	/* Raw 4-byte characters pass through. */
	assert_string_equal(str_arg("{ f(s: \"\xF0\x9F\x98\x80 ok\") }"), "\xF0\x9F\x98\x80 ok");
	/* \u0000 is kept with its length. */
	struct ast_doc *d = parse_ok("{ f(s: \"a\\u0000b\") }");
	assert_int_equal(d->ops->selset->first->args->value->len, 3);

	struct parse_error pe = parse_fail("{ f(s: \"\\uD83D x\") }", NULL);
	assert_non_null(strstr(pe.message, "surrogate"));
	assert_int_equal(pe.loc.col, 9);
	pe = parse_fail("{ f(s: \"\\uDE00\") }", NULL);
	assert_non_null(strstr(pe.message, "surrogate"));
	pe = parse_fail("{ f(s: \"\\x\") }", NULL);
	assert_non_null(strstr(pe.message, "escape"));
	pe = parse_fail("{ f(s: \"\\u12G4\") }", NULL);
	assert_non_null(strstr(pe.message, "Unicode"));
	pe = parse_fail("{ f(s: \"\\u{110000}\") }", NULL);
	assert_non_null(strstr(pe.message, "Unicode"));
	pe = parse_fail("{ f(s: \"abc) }", NULL);
	assert_non_null(strstr(pe.message, "unterminated"));
	pe = parse_fail("{ f(s: \"a\nb\") }", NULL);
	assert_non_null(strstr(pe.message, "unterminated"));
	/* Invalid UTF-8 and control characters inside strings. */
	pe = parse_fail("{ f(s: \"\xC3\x28\") }", NULL);
	assert_non_null(strstr(pe.message, "UTF-8"));
	pe = parse_fail("{ f(s: \"\xED\xA0\x80\") }", NULL); /* encoded surrogate */
	assert_non_null(strstr(pe.message, "UTF-8"));
	pe = parse_fail("{ f(s: \"a\x01\") }", NULL);
	assert_non_null(strstr(pe.message, "U+0001"));
}

static void test_block_strings(void **state)
{
	(void)state;
	const char *q = "{ f(s: \"\"\"\n"
			"\n"
			"    Hello,\n"
			"      World!\n"
			"\n"
			"    Yours, \\\"\"\" \\n stays\n"
			"  \n"
			"\"\"\") }";
	assert_string_equal(str_arg(q), "Hello,\n  World!\n\nYours, \"\"\" \\n stays");
	assert_string_equal(str_arg("{ f(s: \"\"\"  one line  \"\"\") }"), "  one line  ");
	assert_string_equal(str_arg("{ f(s: \"\"\"a\r\n  b\r  c\"\"\") }"), "a\nb\nc");
	assert_string_equal(str_arg("{ f(s: \"\"\"\"\"\") }"), "");
	assert_string_equal(str_arg("{ f(s: \"\"\"\xF0\x9F\x98\x80\"\"\") }"), "\xF0\x9F\x98\x80");
	struct parse_error pe = parse_fail("{ f(s: \"\"\"never closed) }", NULL);
	assert_non_null(strstr(pe.message, "unterminated"));
}

static void test_numbers(void **state)
{
	(void)state;
	assert_string_equal(str_arg("{ f(n: 0) }"), "0");
	assert_string_equal(str_arg("{ f(n: -0.5) }"), "-0.5");
	assert_string_equal(str_arg("{ f(n: 12E+2) }"), "12E+2");
	static const char *const bad[] = {"{ f(n: 01) }",   "{ f(n: 1.) }", "{ f(n: 1a) }",
					  "{ f(n: .5) }",   "{ f(n: 1e) }", "{ f(n: -) }",
					  "{ f(n: 1.5.2) }"};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++)
		parse_fail(bad[i], NULL);
}

static void test_error_locations(void **state)
{
	(void)state;
	struct parse_error pe = parse_fail("{\n  a(x: )\n}", NULL);
	assert_int_equal(pe.loc.line, 2);
	assert_int_equal(pe.loc.col, 8);
	assert_string_equal(pe.code, "GRAPHQL_PARSE_FAILED");
	assert_non_null(strstr(pe.message, "expected a value"));
	/* Columns count characters, not bytes; \r\n is one line break. */
	pe = parse_fail("# \xC3\xA9\xC3\xA9\r\n{ \"\xC3\xA9\" }", NULL);
	assert_int_equal(pe.loc.line, 2);
	assert_int_equal(pe.loc.col, 3);
	pe = parse_fail("query Q { a } }", NULL);
	assert_int_equal(pe.loc.col, 15);
	pe = parse_fail("{ a", NULL);
	assert_non_null(strstr(pe.message, "<EOF>"));
	pe = parse_fail("", NULL);
	assert_non_null(strstr(pe.message, "empty"));
	pe = parse_fail("{ }", NULL);
	assert_int_equal(pe.loc.col, 3);
	pe = parse_fail("{ a ? }", NULL);
	assert_non_null(strstr(pe.message, "'?'"));
	pe = parse_fail("{ \xC3\xA9 }", NULL);
	assert_non_null(strstr(pe.message, "U+00C3"));
	pe = parse_fail("fragment on on T { a }", NULL);
	pe = parse_fail("query ($a: Int = $b) { a }", NULL);
	assert_non_null(strstr(pe.message, "variable"));
	pe = parse_fail("{ a(): b }", NULL);
	pe = parse_fail("{ ..a }", NULL);
	/* The first error is reported through the public API as JSON too. */
	char *json = NULL;
	assert_int_equal(gql_check_document(NULL, "{\n a(", 5, NULL, &json), -1);
	assert_non_null(strstr(json, "\"locations\":[{\"line\":2,\"column\":4}]"));
	assert_non_null(strstr(json, "GRAPHQL_PARSE_FAILED"));
	free(json);
	assert_int_equal(gql_check_document(NULL, "{ a }", 5, NULL, &json), 0);
	assert_null(json);
}

static void test_limits(void **state)
{
	(void)state;
	/* Deep nesting is refused before the stack is at risk. */
	struct buf b = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_puts(&b, "{a"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_putc(&b, '}'), 0);
	struct parse_error pe = parse_fail(b.data, NULL);
	assert_string_equal(pe.code, "QUERY_TOO_DEEP");
	buf_reset(&b);
	/* Nested lists in values and in types count the same way. */
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_putc(&b, '['), 0);
	char *q = NULL;
	{
		struct buf qb = BUF_INIT;
		assert_int_equal(buf_printf(&qb, "{ f(a: %s) }", b.data), 0);
		q = buf_detach(&qb);
	}
	pe = parse_fail(q, NULL);
	assert_string_equal(pe.code, "QUERY_TOO_DEEP");
	free(q);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "query ($a: "), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(buf_putc(&b, '['), 0);
	pe = parse_fail(b.data, NULL);
	assert_string_equal(pe.code, "QUERY_TOO_DEEP");
	/* A nesting of 100 is fine with the default. */
	buf_reset(&b);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_puts(&b, "{a"), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_putc(&b, '}'), 0);
	parse_ok(b.data);
	/* The token limit. */
	buf_reset(&b);
	assert_int_equal(buf_putc(&b, '{'), 0);
	for (int i = 0; i < 600; i++)
		assert_int_equal(buf_puts(&b, " a"), 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	struct parse_opts po = {.max_tokens = 500};
	pe = parse_fail(b.data, &po);
	assert_string_equal(pe.code, "TOO_MANY_TOKENS");
	po.max_tokens = 602;
	struct parse_error pe2;
	assert_non_null(gql__parse(b.data, b.len, &A, &po, &pe2));
	buf_release(&b);
}

static void test_sdl(void **state)
{
	(void)state;
	const char *sdl =
		"\"\"\"The schema\"\"\"\n"
		"schema @a { query: Q mutation: M }\n"
		"\"A scalar\" scalar Date @specifiedBy(url: \"https://example.com\")\n"
		"interface Node { id: ID! }\n"
		"interface Named implements Node { id: ID! name: String }\n"
		"type Q implements & Node & Named @x {\n"
		"  \"desc\" id: ID!\n"
		"  name(\"arg desc\" upper: Boolean = false @deprecated): String @deprecated(reason: \"no\")\n"
		"}\n"
		"union U @u = | A | B\n"
		"enum E { \"first\" ONE TWO @deprecated }\n"
		"input In { a: Int = 1, b: [In!] }\n"
		"directive @cached(ttl: Int) repeatable on FIELD_DEFINITION | OBJECT\n";
	struct ast_doc *d = parse_ok(sdl);
	assert_true(d->has_sdl);
	assert_false(d->has_executable);
	assert_string_equal(d->schemas->desc, "The schema");
	assert_string_equal(d->schemas->query->name, "Q");
	assert_string_equal(d->schemas->mutation->name, "M");
	struct ast_typedef *t = d->types;
	assert_int_equal(t->kind, GQL_SCALAR);
	assert_string_equal(t->desc, "A scalar");
	assert_string_equal(t->dirs->name, "specifiedBy");
	t = t->next->next;
	assert_int_equal(t->kind, GQL_INTERFACE);
	assert_string_equal(t->interfaces->name, "Node");
	t = t->next;
	assert_int_equal(t->kind, GQL_OBJECT);
	assert_string_equal(t->interfaces->next->name, "Named");
	assert_string_equal(t->fields->desc, "desc");
	assert_string_equal(t->fields->next->args->desc, "arg desc");
	assert_int_equal(t->fields->next->args->defval->kind, V_BOOL);
	t = t->next;
	assert_int_equal(t->kind, GQL_UNION);
	assert_string_equal(t->members->next->name, "B");
	t = t->next;
	assert_int_equal(t->kind, GQL_ENUM);
	assert_string_equal(t->values->desc, "first");
	assert_string_equal(t->values->next->dirs->name, "deprecated");
	t = t->next;
	assert_int_equal(t->kind, GQL_INPUT_OBJECT);
	assert_int_equal(t->inputs->next->type->kind, TR_LIST);
	assert_true(d->dirdefs->repeatable);
	assert_string_equal(d->dirdefs->locations->next->name, "OBJECT");

	parse_fail("enum E { true }", NULL);
	parse_fail("extend type Q { a: Int }", NULL);
	parse_fail("\"desc\" { a }", NULL);
	parse_fail("directive @d on", NULL);
	parse_fail("type T { f(a: Int = $v): Int }", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kitchen_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings_and_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_locations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sdl, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
