/*
 * Unit tests of GraphQL execution over a tiny in-memory data set (50 issues
 * with 3 comments each, 3 users): variables and defaults, input coercion
 * and its errors, fragments, aliases, @skip/@include, __typename, abstract
 * types, field errors with path and code, null propagation, serial
 * mutations, batch resolvers (one call per level), request limits, the
 * document cache and the JSON output itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <pthread.h>

#include "graphql/graphql.h"

static const char SDL[] =
	"scalar DateTime\n"
	"enum Status { OPEN DONE }\n"
	"interface Node { id: ID! }\n"
	"type User implements Node { id: ID! name: String! email: String }\n"
	"type Comment implements Node { id: ID! body: String! author: User! }\n"
	"type Issue implements Node {\n"
	"  id: ID! key: String! summary: String status: Status!\n"
	"  comments(first: Int = 10): [Comment!]! labels: [String!] created: DateTime\n"
	"}\n"
	"union SearchResult = Issue | User\n"
	"input IssueFilter { status: Status, keys: [String!], limit: Int = 50 }\n"
	"type Query {\n"
	"  issues(first: Int = 20, filter: IssueFilter): [Issue!]!\n"
	"  issue(key: String!): Issue\n"
	"  node(id: ID!): Node\n"
	"  search(text: String!): [SearchResult!]!\n"
	"  echo(i: Int, f: Float, s: String, b: Boolean, id: ID, st: Status, l: [Int],\n"
	"       in: IssueFilter, dt: DateTime): String\n"
	"  fails: String\n"
	"  failsNonNull: String!\n"
	"  brokenIssues: [Issue]\n"
	"  brokenIssuesStrict: [Issue!]\n"
	"  badInt: Int\n"
	"  text: String\n"
	"  wrongAbstract: Node\n"
	"  issuePage(first: Int = 10): IssuePage!\n"
	"}\n"
	"type IssuePage { edges: [IssueEdge!]! total: Int! }\n"
	"type IssueEdge { cursor: String! node: Issue! }\n"
	"type Mutation { incr(by: Int!): Int! }\n";

/* ---- the data set ----------------------------------------------------------- */
struct issue {
	char id[16], key[16], summary[32];
	const char *status;
	int n_comments;
	const char *comment_authors[3];
};

static struct issue issues[50];
static struct issue broken = {"99", "BROKEN", "broken", "OPEN", 2, {"u1", "ghost", NULL}};
static struct issue nokey = {"98", "", "no key", "OPEN", 0, {NULL}};
static const char *const users[][3] = {
	{"u1", "Ada", "ada@example.com"},
	{"u2", "Linus", NULL},
	{"u3", "Grace \xF0\x9F\x98\x80", NULL},
};

struct counters {
	int issues_calls, key_calls, summary_calls, comments_calls, comments_parents, author_calls,
		author_parents;
	bool wanted_comments;
	size_t n_subfields;
	const char *subfields[8];
	long counter;
};
static struct counters C;

static struct gql_value user_value(struct gql_exec *x, const char *id)
{
	for (size_t i = 0; i < JS_ARRAY_LEN(users); i++) {
		if (strcmp(users[i][0], id) != 0)
			continue;
		struct gql_value v = gql_object_new(x, 3);
		v.u.obj.fields[0].name = "id";
		v.u.obj.fields[0].value = gql_string(users[i][0]);
		v.u.obj.fields[1].name = "name";
		v.u.obj.fields[1].value = gql_string(users[i][1]);
		v.u.obj.fields[2].name = "email";
		v.u.obj.fields[2].value = gql_string(users[i][2]);
		v.type = "User";
		return v;
	}
	return gql_null();
}

static int r_issues(const struct gql_resolve_info *info, const struct gql_value *parent,
		    struct gql_value *out)
{
	(void)parent;
	C.issues_calls++;
	C.wanted_comments = gql_info_wants(info, "comments");
	C.n_subfields = gql_info_subfields(info, C.subfields, 8);
	int64_t first = gql_arg_int(info, "first", 20);
	const struct gql_value *filter = gql_arg(info, "filter");
	const struct gql_value *st = gql_value_get(filter, "status");
	const struct gql_value *limit = gql_value_get(filter, "limit");
	if (limit && limit->kind == GQL_V_INT && limit->u.i < first)
		first = limit->u.i;
	*out = gql_list_new(info->exec, 50);
	size_t n = 0;
	for (size_t i = 0; i < 50 && (int64_t)n < first; i++) {
		if (st && st->kind == GQL_V_ENUM && strcmp(st->u.str.s, issues[i].status) != 0)
			continue;
		out->u.list.items[n++] = gql_ptr(&issues[i], "Issue");
	}
	out->u.list.n = n;
	return 0;
}

static struct issue *find_issue(const char *key)
{
	if (!strcmp(key, "BROKEN"))
		return &broken;
	for (size_t i = 0; i < 50; i++)
		if (!strcmp(issues[i].key, key))
			return &issues[i];
	return NULL;
}

static int r_issue(const struct gql_resolve_info *info, const struct gql_value *parent,
		   struct gql_value *out)
{
	(void)parent;
	*out = gql_ptr(find_issue(gql_arg_str(info, "key")), "Issue");
	return 0;
}

static int r_issue_field(const struct gql_resolve_info *info, const struct gql_value *parent,
			 struct gql_value *out)
{
	const struct issue *is = parent->u.ptr;
	const char *f = info->field_name;
	if (!strcmp(f, "id"))
		*out = gql_string(is->id);
	else if (!strcmp(f, "key")) {
		C.key_calls++;
		*out = is->key[0] ? gql_string(is->key) : gql_null();
	} else if (!strcmp(f, "summary")) {
		C.summary_calls++;
		*out = gql_string(is->summary);
	} else if (!strcmp(f, "status"))
		*out = gql_enum(is->status);
	else if (!strcmp(f, "labels")) {
		*out = gql_list_new(info->exec, 2);
		out->u.list.items[0] = gql_string("a");
		out->u.list.items[1] = gql_string("b");
	} else if (!strcmp(f, "created")) {
		*out = gql_string("2024-01-02T03:04:05Z");
	}
	return 0;
}

/* One call for every issue at this level. */
static int b_comments(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out)
{
	C.comments_calls++;
	C.comments_parents += (int)n;
	int64_t first = gql_arg_int(info, "first", 10);
	for (size_t i = 0; i < n; i++) {
		const struct issue *is = parents[i].u.ptr;
		size_t k = (size_t)(is->n_comments < first ? is->n_comments : first);
		out[i] = gql_list_new(info->exec, k);
		for (size_t j = 0; j < k; j++) {
			struct gql_value c = gql_object_new(info->exec, 3);
			char buf[64];
			snprintf(buf, sizeof buf, "%s-c%zu", is->key, j);
			c.u.obj.fields[0].name = "id";
			c.u.obj.fields[0].value = gql_string(gql_strdup(info->exec, buf));
			snprintf(buf, sizeof buf, "comment %zu on %s", j, is->key);
			c.u.obj.fields[1].name = "body";
			c.u.obj.fields[1].value = gql_string(gql_strdup(info->exec, buf));
			c.u.obj.fields[2].name = "authorId";
			c.u.obj.fields[2].value = gql_string(is->comment_authors[j]);
			out[i].u.list.items[j] = c;
		}
	}
	return 0;
}

static int b_author(const struct gql_resolve_info *info, const struct gql_value *parents, size_t n,
		    struct gql_value *out)
{
	C.author_calls++;
	C.author_parents += (int)n;
	for (size_t i = 0; i < n; i++) {
		const struct gql_value *aid = gql_value_get(&parents[i], "authorId");
		out[i] = user_value(info->exec, aid->u.str.s);
	}
	return 0;
}

static int r_node(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)parent;
	const char *id = gql_arg_str(info, "id");
	for (size_t i = 0; i < 50; i++)
		if (!strcmp(issues[i].id, id)) {
			*out = gql_ptr(&issues[i], "Issue");
			return 0;
		}
	*out = user_value(info->exec, id);
	return 0;
}

static int r_search(const struct gql_resolve_info *info, const struct gql_value *parent,
		    struct gql_value *out)
{
	(void)parent;
	(void)gql_arg_str(info, "text");
	*out = gql_list_new(info->exec, 2);
	out->u.list.items[0] = gql_ptr(&issues[0], "Issue");
	/* A plain object names its type through a __typename property. */
	struct gql_value u = gql_object_new(info->exec, 3);
	u.u.obj.fields[0].name = "__typename";
	u.u.obj.fields[0].value = gql_string("User");
	u.u.obj.fields[1].name = "id";
	u.u.obj.fields[1].value = gql_string("u9");
	u.u.obj.fields[2].name = "name";
	u.u.obj.fields[2].value = gql_string("Nine");
	out->u.list.items[1] = u;
	return 0;
}

static void show(struct buf *b, const struct gql_value *v)
{
	switch (v->kind) {
	case GQL_V_NULL:
		assert_int_equal(buf_puts(b, "null"), 0);
		break;
	case GQL_V_INT:
		assert_int_equal(buf_printf(b, "int:%" PRId64, v->u.i), 0);
		break;
	case GQL_V_FLOAT:
		assert_int_equal(buf_printf(b, "float:%g", v->u.f), 0);
		break;
	case GQL_V_STRING:
		assert_int_equal(buf_printf(b, "str:%s", v->u.str.s), 0);
		break;
	case GQL_V_ENUM:
		assert_int_equal(buf_printf(b, "enum:%s", v->u.str.s), 0);
		break;
	case GQL_V_BOOL:
		assert_int_equal(buf_printf(b, "bool:%d", v->u.b), 0);
		break;
	case GQL_V_LIST:
		assert_int_equal(buf_putc(b, '['), 0);
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i)
				assert_int_equal(buf_putc(b, ' '), 0);
			show(b, &v->u.list.items[i]);
		}
		assert_int_equal(buf_putc(b, ']'), 0);
		break;
	case GQL_V_OBJECT:
		assert_int_equal(buf_putc(b, '{'), 0);
		for (size_t i = 0; i < v->u.obj.n; i++) {
			assert_int_equal(
				buf_printf(b, "%s%s=", i ? " " : "", v->u.obj.fields[i].name), 0);
			show(b, &v->u.obj.fields[i].value);
		}
		assert_int_equal(buf_putc(b, '}'), 0);
		break;
	default:
		assert_int_equal(buf_puts(b, "?"), 0);
	}
}

/* Echo the coerced arguments so tests can see coercion. */
static int r_echo(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)parent;
	struct buf b = BUF_INIT;
	show(&b, info->args);
	*out = gql_string(gql_strdup(info->exec, b.data));
	buf_release(&b);
	return 0;
}

static int r_fails(const struct gql_resolve_info *info, const struct gql_value *parent,
		   struct gql_value *out)
{
	(void)parent;
	(void)out;
	gql_fail(info, "AUTH_EXPIRED", "the Jira token of '%s' expired", "ops");
	return -1;
}

static int r_broken(const struct gql_resolve_info *info, const struct gql_value *parent,
		    struct gql_value *out)
{
	(void)parent;
	*out = gql_list_new(info->exec, 3);
	out->u.list.items[0] = gql_ptr(&issues[0], "Issue");
	out->u.list.items[1] = gql_ptr(&nokey, "Issue");
	out->u.list.items[2] = gql_ptr(&issues[2], "Issue");
	return 0;
}

static int r_bad_int(const struct gql_resolve_info *info, const struct gql_value *parent,
		     struct gql_value *out)
{
	(void)info;
	(void)parent;
	*out = gql_int((int64_t)1 << 40);
	return 0;
}

static int r_text(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)info;
	(void)parent;
	static const char t[] = "q\"b\\s\n\x01 \xF0\x9F\x98\x80 bad:\xC3(\xFF end\0after";
	*out = gql_stringn(t, sizeof t - 1);
	return 0;
}

static int r_wrong_abstract(const struct gql_resolve_info *info, const struct gql_value *parent,
			    struct gql_value *out)
{
	(void)info;
	(void)parent;
	*out = gql_ptr(&issues[0], "Status");
	return 0;
}

/* A connection: {edges: [{cursor, node}], total} as plain objects. */
static int r_issue_page(const struct gql_resolve_info *info, const struct gql_value *parent,
			struct gql_value *out)
{
	(void)parent;
	int64_t n = gql_arg_int(info, "first", 10);
	struct gql_value edges = gql_list_new(info->exec, (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		struct gql_value e = gql_object_new(info->exec, 2);
		e.u.obj.fields[0] = (struct gql_field_value){"cursor", gql_string(issues[i].id)};
		e.u.obj.fields[1] = (struct gql_field_value){"node", gql_ptr(&issues[i], "Issue")};
		edges.u.list.items[i] = e;
	}
	*out = gql_object_new(info->exec, 2);
	out->u.obj.fields[0] = (struct gql_field_value){"edges", edges};
	out->u.obj.fields[1] = (struct gql_field_value){"total", gql_int(50)};
	return 0;
}

static int r_incr(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	(void)parent;
	C.counter += gql_arg_int(info, "by", 0);
	*out = gql_int(C.counter);
	return 0;
}

/* ---- fixture ---------------------------------------------------------------- */
static struct gql_schema *S;
static struct gql_engine *E;

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(issues[i].id, sizeof issues[i].id, "%d", i + 1);
		snprintf(issues[i].key, sizeof issues[i].key, "ISS-%d", i + 1);
		snprintf(issues[i].summary, sizeof issues[i].summary, "Summary %d", i + 1);
		issues[i].status = i % 5 == 0 ? "DONE" : "OPEN";
		issues[i].n_comments = 3;
		for (int j = 0; j < 3; j++)
			issues[i].comment_authors[j] = users[(i + j) % 3][0];
	}
	char err[512];
	S = gql_schema_new();
	if (gql_schema_load(S, SDL, strlen(SDL), err, sizeof err) < 0)
		fail_msg("schema: %s", err);
	/* Before binding, every field that needs a resolver is listed. */
	assert_int_equal(gql_schema_check_bound(S, err, sizeof err), -1);
	assert_non_null(strstr(err, "Query.issues"));
	assert_non_null(strstr(err, "Comment.author"));
	assert_non_null(strstr(err, "Mutation.incr"));
	static const struct {
		const char *coord;
		gql_resolve_fn fn;
	} binds[] = {
		{"Query.issues", r_issues},
		{"Query.issue", r_issue},
		{"Query.node", r_node},
		{"Query.search", r_search},
		{"Query.echo", r_echo},
		{"Query.fails", r_fails},
		{"Query.failsNonNull", r_fails},
		{"Query.brokenIssues", r_broken},
		{"Query.brokenIssuesStrict", r_broken},
		{"Query.badInt", r_bad_int},
		{"Query.text", r_text},
		{"Query.wrongAbstract", r_wrong_abstract},
		{"Mutation.incr", r_incr},
		{"Query.issuePage", r_issue_page},
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(binds); i++)
		assert_int_equal(gql_schema_bind(S, binds[i].coord, binds[i].fn, NULL), 0);
	static const char *const issue_fields[] = {"id",     "key",    "summary",
						   "status", "labels", "created"};
	char coord[64];
	for (size_t i = 0; i < JS_ARRAY_LEN(issue_fields); i++) {
		snprintf(coord, sizeof coord, "Issue.%s", issue_fields[i]);
		assert_int_equal(gql_schema_bind(S, coord, r_issue_field, NULL), 0);
	}
	assert_int_equal(gql_schema_bind_batch(S, "Issue.comments", b_comments, NULL), 0);
	assert_int_equal(gql_schema_bind_batch(S, "Comment.author", b_author, NULL), 0);
	assert_int_equal(gql_schema_check_bound(S, err, sizeof err), -1);
	assert_string_equal(err, "9 field(s) without a resolver: User.id, User.name, User.email, "
				 "Comment.id, Comment.body, IssuePage.edges, IssuePage.total, "
				 "IssueEdge.cursor, IssueEdge.node");
	assert_int_equal(gql_schema_bind_property(S, "User.*"), 0);
	assert_int_equal(gql_schema_bind_property(S, "IssuePage.*"), 0);
	assert_int_equal(gql_schema_bind_property(S, "IssueEdge.*"), 0);
	assert_int_equal(gql_schema_bind_property(S, "Comment.id"), 0);
	assert_int_equal(gql_schema_bind_property(S, "Comment.body"), 0);
	assert_int_equal(gql_schema_check_bound(S, err, sizeof err), 0);
	/* Unknown coordinates are refused; root fields cannot be properties. */
	assert_int_equal(gql_schema_bind(S, "Issue.nope", r_issue_field, NULL), -1);
	assert_int_equal(gql_schema_bind(S, "Nope.x", r_issue_field, NULL), -1);
	assert_int_equal(gql_schema_bind(S, "__Type.name", r_issue_field, NULL), -1);
	E = gql_engine_new(S, NULL, 8);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gql_engine_free(E);
	gql_schema_free(S);
	return 0;
}

/* Execute and return the response text; it must always be valid JSON. */
static char *run_full(struct gql_engine *e, const char *q, const char *vars, const char *opname,
		      bool mut, int *rc_out)
{
	struct gql_request rq = {.query = q,
				 .query_len = strlen(q),
				 .variables_json = vars,
				 .operation_name = opname,
				 .allow_mutations = mut};
	struct buf out = BUF_INIT;
	int rc = gql_execute(e, &rq, &out);
	if (rc_out)
		*rc_out = rc;
	cJSON *j = cJSON_Parse(out.data);
	if (!j)
		fail_msg("response is not JSON: %s", out.data);
	cJSON_Delete(j);
	return buf_detach(&out);
}

static char *run(const char *q, const char *vars, int *rc)
{
	return run_full(E, q, vars, NULL, false, rc);
}

static void expect(const char *q, const char *vars, const char *want, int want_rc)
{
	int rc;
	char *got = run(q, vars, &rc);
	if (strcmp(got, want) != 0)
		fail_msg("query %s\n  want %s\n  got  %s", q, want, got);
	assert_int_equal(rc, want_rc);
	free(got);
}

static void expect_has(const char *q, const char *vars, const char *want, int want_rc)
{
	int rc;
	char *got = run(q, vars, &rc);
	if (!strstr(got, want))
		fail_msg("query %s\n  want substring %s\n  got  %s", q, want, got);
	if (rc != want_rc)
		fail_msg("query %s: rc %d, want %d: %s", q, rc, want_rc, got);
	free(got);
}

/* ---- tests ------------------------------------------------------------------ */
static void test_basic_aliases_typename(void **state)
{
	(void)state;
	expect("{ issue(key: \"ISS-2\") { __typename k: key summary status labels created } }",
	       NULL,
	       "{\"data\":{\"issue\":{\"__typename\":\"Issue\",\"k\":\"ISS-2\",\"summary\":\"Summary 2\","
	       "\"status\":\"OPEN\",\"labels\":[\"a\",\"b\"],\"created\":\"2024-01-02T03:04:05Z\"}}}",
	       0);
	expect("{ a: issue(key: \"ISS-1\") { key } b: issue(key: \"nope\") { key } __typename }",
	       NULL, "{\"data\":{\"a\":{\"key\":\"ISS-1\"},\"b\":null,\"__typename\":\"Query\"}}",
	       0);
	/* Merged fields appear once, in first-seen order. */
	expect("{ issue(key: \"ISS-3\") { key ... on Issue { summary key } ...F } } "
	       "fragment F on Issue { status summary }",
	       NULL,
	       "{\"data\":{\"issue\":{\"key\":\"ISS-3\",\"summary\":\"Summary 3\",\"status\":\"OPEN\"}}}",
	       0);
}

static void test_variables_and_defaults(void **state)
{
	(void)state;
	expect("query ($n: Int = 2) { issues(first: $n) { key } }", NULL,
	       "{\"data\":{\"issues\":[{\"key\":\"ISS-1\"},{\"key\":\"ISS-2\"}]}}", 0);
	expect("query ($n: Int = 2) { issues(first: $n) { key } }", "{\"n\": 1}",
	       "{\"data\":{\"issues\":[{\"key\":\"ISS-1\"}]}}", 0);
	/* An absent variable leaves the argument's own default in place. */
	char *got = run("query ($n: Int) { issues(first: $n) { key } }", "{}", NULL);
	cJSON *j = cJSON_Parse(got);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
						       "issues");
	assert_int_equal(cJSON_GetArraySize(list), 20);
	cJSON_Delete(j);
	free(got);
	/* Input objects from variables, with enum strings and defaults. */
	expect("query ($f: IssueFilter) { issues(first: 3, filter: $f) { key status } }",
	       "{\"f\": {\"status\": \"DONE\"}}",
	       "{\"data\":{\"issues\":[{\"key\":\"ISS-1\",\"status\":\"DONE\"},{\"key\":\"ISS-6\","
	       "\"status\":\"DONE\"},{\"key\":\"ISS-11\",\"status\":\"DONE\"}]}}",
	       0);
	expect("query ($f: IssueFilter) { echo(in: $f) }", "{\"f\": {\"keys\": \"K-1\"}}",
	       "{\"data\":{\"echo\":\"{in={keys=[str:K-1] limit=int:50}}\"}}", 0);
	expect("{ echo(i: 1, f: 2, s: \"x\", b: true, id: 7, st: DONE, l: 5, "
	       "in: {status: OPEN, keys: [\"A\", \"B\"]}, dt: {any: [1, \"two\"]}) }",
	       NULL,
	       "{\"data\":{\"echo\":\"{i=int:1 f=float:2 s=str:x b=bool:1 id=str:7 st=enum:DONE "
	       "l=[int:5] in={status=enum:OPEN keys=[str:A str:B] limit=int:50} "
	       "dt={any=[int:1 str:two]}}\"}}",
	       0);
	expect("query ($i: Int, $id: ID, $l: [Int], $f: Float) { echo(i: $i, id: $id, l: $l, f: $f) }",
	       "{\"i\": -5, \"id\": 12, \"l\": [1, null, 3], \"f\": 1.5}",
	       "{\"data\":{\"echo\":\"{i=int:-5 f=float:1.5 id=str:12 l=[int:1 null int:3]}\"}}",
	       0);
	expect("query ($i: Int) { echo(l: [$i]) }", NULL, "{\"data\":{\"echo\":\"{l=[null]}\"}}",
	       0);
	expect("query ($i: Int) { echo(i: $i) }", "{\"i\": null}",
	       "{\"data\":{\"echo\":\"{i=null}\"}}", 0);
}

static void test_coercion_errors(void **state)
{
	(void)state;
	int rc;
	char *got = run("query ($n: Int) { issues(first: $n) { key } }", "{\"n\": \"x\"}", &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(got, "Variable \\\"$n\\\" got invalid value"));
	assert_non_null(strstr(got, "\"code\":\"BAD_USER_INPUT\""));
	assert_non_null(strstr(got, "\"locations\":[{\"line\":1,\"column\":8}]"));
	assert_null(strstr(got, "\"data\""));
	free(got);
	expect_has("query ($k: String!) { issue(key: $k) { key } }", NULL,
		   "Variable \\\"$k\\\" of required type \\\"String!\\\" was not provided.", -1);
	expect_has("query ($k: String!) { issue(key: $k) { key } }", "{\"k\": null}",
		   "must not be null", -1);
	expect_has("query ($n: Int) { echo(i: $n) }", "{\"n\": 2147483648}", "32-bit", -1);
	expect_has("query ($n: Int) { echo(i: $n) }", "{\"n\": 1.5}", "32-bit", -1);
	expect_has("query ($s: Status) { echo(st: $s) }", "{\"s\": \"LATER\"}",
		   "not a valid Status enum value", -1);
	expect_has("query ($f: IssueFilter) { echo(in: $f) }", "{\"f\": {\"nope\": 1}}",
		   "Field \\\"nope\\\" is not defined by type \\\"IssueFilter\\\"", -1);
	expect_has("query ($f: IssueFilter) { echo(in: $f) }", "{\"f\": {\"keys\": [null]}}",
		   "not to be null", -1);
	expect_has("query ($b: Boolean) { echo(b: $b) }", "{\"b\": 1}", "Boolean cannot represent",
		   -1);
	expect_has("{ echo(s: \"x\") }", "[1]", "variables must be a JSON object", -1);
	expect_has("{ echo(s: \"x\") }", "{bad json", "variables must be a JSON object", -1);
	/* Valid requests are not affected by extra variables. */
	expect("{ echo(s: \"x\") }", "{\"unused\": 1}", "{\"data\":{\"echo\":\"{s=str:x}\"}}", 0);
	/* Parse and validation errors refuse the request. */
	expect_has("{ issue(key: 1) { key } }", NULL, "GRAPHQL_VALIDATION_FAILED", -1);
	expect_has("{ issue(key: ", NULL, "GRAPHQL_PARSE_FAILED", -1);
}

static void test_fragments_and_directives(void **state)
{
	(void)state;
	const char *q = "query ($yes: Boolean!, $no: Boolean = false) {\n"
			"  issue(key: \"ISS-4\") {\n"
			"    key @skip(if: $yes)\n"
			"    summary @include(if: $yes)\n"
			"    id @include(if: $no)\n"
			"    ...F @skip(if: $no)\n"
			"    ... @include(if: $no) { labels }\n"
			"    ... on Node { nid: id }\n"
			"  }\n"
			"}\n"
			"fragment F on Issue { status s2: summary @skip(if: true) }";
	expect(q, "{\"yes\": true}",
	       "{\"data\":{\"issue\":{\"summary\":\"Summary 4\",\"status\":\"OPEN\",\"nid\":\"4\"}}}",
	       0);
	expect(q, "{\"yes\": false, \"no\": true}",
	       "{\"data\":{\"issue\":{\"key\":\"ISS-4\",\"id\":\"4\",\"labels\":[\"a\",\"b\"],"
	       "\"nid\":\"4\"}}}",
	       0);
}

static void test_abstract_types(void **state)
{
	(void)state;
	expect("{ a: node(id: \"3\") { __typename id ... on Issue { key } ... on User { name } } "
	       "b: node(id: \"u2\") { __typename id ... on Issue { key } ... on User { name email } } "
	       "c: node(id: \"none\") { id } }",
	       NULL,
	       "{\"data\":{\"a\":{\"__typename\":\"Issue\",\"id\":\"3\",\"key\":\"ISS-3\"},"
	       "\"b\":{\"__typename\":\"User\",\"id\":\"u2\",\"name\":\"Linus\",\"email\":null},"
	       "\"c\":null}}",
	       0);
	expect("{ search(text: \"x\") { __typename ... on Issue { key } ... on User { name } } }",
	       NULL,
	       "{\"data\":{\"search\":[{\"__typename\":\"Issue\",\"key\":\"ISS-1\"},"
	       "{\"__typename\":\"User\",\"name\":\"Nine\"}]}}",
	       0);
	expect_has("{ wrongAbstract { id } }", NULL,
		   "Abstract type \\\"Node\\\" must resolve to an Object type at runtime", 1);
}

static void test_errors_and_null_propagation(void **state)
{
	(void)state;
	/* A failing nullable field: null, one error with path and code; siblings live. */
	expect("{ fails ok: issue(key: \"ISS-1\") { key } }", NULL,
	       "{\"errors\":[{\"message\":\"the Jira token of 'ops' expired\",\"locations\":[{\"line\":1,"
	       "\"column\":3}],\"path\":[\"fails\"],\"extensions\":{\"code\":\"AUTH_EXPIRED\"}}],"
	       "\"data\":{\"fails\":null,\"ok\":{\"key\":\"ISS-1\"}}}",
	       1);
	/* A failing non-null root field nulls the whole data. */
	expect("{ ok: issue(key: \"ISS-1\") { key } failsNonNull }", NULL,
	       "{\"errors\":[{\"message\":\"the Jira token of 'ops' expired\",\"locations\":[{\"line\":1,"
	       "\"column\":35}],\"path\":[\"failsNonNull\"],\"extensions\":{\"code\":\"AUTH_EXPIRED\"}}],"
	       "\"data\":null}",
	       1);
	/*
	 * A null non-null field nulls its object; the nullable list item stops
	 * it. The failed object's later fields are not resolved.
	 */
	C.summary_calls = 0;
	expect("{ brokenIssues { key summary } }", NULL,
	       "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Issue.key.\","
	       "\"locations\":[{\"line\":1,\"column\":18}],\"path\":[\"brokenIssues\",1,\"key\"],"
	       "\"extensions\":{\"code\":\"INTERNAL_ERROR\"}}],"
	       "\"data\":{\"brokenIssues\":[{\"key\":\"ISS-1\",\"summary\":\"Summary 1\"},null,"
	       "{\"key\":\"ISS-3\",\"summary\":\"Summary 3\"}]}}",
	       1);
	assert_int_equal(C.summary_calls, 2);
	/* With non-null items the whole list becomes null. */
	expect_has(
		"{ brokenIssuesStrict { key } }", NULL,
		"\"path\":[\"brokenIssuesStrict\",1,\"key\"],\"extensions\":{\"code\":\"INTERNAL_ERROR\"}}],"
		"\"data\":{\"brokenIssuesStrict\":null}}",
		1);
	/*
	 * Deep: author User! fails -> Comment null -> [Comment!]! fails ->
	 * issue.comments is non-null -> issue (nullable) becomes null. One error.
	 */
	int rc;
	char *got = run("{ issue(key: \"BROKEN\") { key comments { body author { name } } } "
			"other: issue(key: \"ISS-1\") { key } }",
			NULL, &rc);
	assert_int_equal(rc, 1);
	const char *want =
		"{\"errors\":[{\"message\":\"Cannot return null for non-nullable field "
		"Comment.author.\",\"locations\":[{\"line\":1,\"column\":46}],\"path\":"
		"[\"issue\",\"comments\",1,\"author\"],\"extensions\":{\"code\":"
		"\"INTERNAL_ERROR\"}}],\"data\":{\"issue\":null,\"other\":{\"key\":\"ISS-1\"}}}";
	if (strcmp(got, want))
		fail_msg("got %s", got);
	free(got);
	/* Result coercion errors. */
	expect_has("{ badInt }", NULL, "Int cannot represent non 32-bit signed integer value", 1);
	expect_has("{ badInt }", NULL, "\"data\":{\"badInt\":null}", 1);
}

static void test_json_output(void **state)
{
	(void)state;
	/* Escapes, NUL kept, 4-byte characters kept, invalid UTF-8 replaced. */
	expect("{ text }", NULL,
	       "{\"data\":{\"text\":\"q\\\"b\\\\s\\n\\u0001 \xF0\x9F\x98\x80 bad:\xEF\xBF\xBD(\xEF\xBF\xBD "
	       "end\\u0000after\"}}",
	       0);
	expect("{ node(id: \"u3\") { ... on User { name } } }", NULL,
	       "{\"data\":{\"node\":{\"name\":\"Grace \xF0\x9F\x98\x80\"}}}", 0);
}

static void test_mutations(void **state)
{
	(void)state;
	C.counter = 0;
	int rc;
	char *got = run_full(E, "mutation { a: incr(by: 1) b: incr(by: 10) c: incr(by: 100) }",
			     NULL, NULL, true, &rc);
	assert_string_equal(got, "{\"data\":{\"a\":1,\"b\":11,\"c\":111}}");
	assert_int_equal(rc, 0);
	free(got);
	/* Refused unless the request allows mutations; nothing runs. */
	got = run_full(E, "mutation { incr(by: 1) }", NULL, NULL, false, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(got, "FORBIDDEN"));
	assert_int_equal(C.counter, 111);
	free(got);
	/* Operation selection by name. */
	const char *doc = "query Q { issue(key: \"ISS-1\") { key } } mutation M { incr(by: 1) }";
	got = run_full(E, doc, NULL, "M", true, &rc);
	assert_string_equal(got, "{\"data\":{\"incr\":112}}");
	free(got);
	got = run_full(E, doc, NULL, NULL, true, &rc);
	assert_non_null(strstr(got, "Must provide operation name"));
	free(got);
	got = run_full(E, doc, NULL, "X", true, &rc);
	assert_non_null(strstr(got, "Unknown operation named \\\"X\\\""));
	assert_int_equal(rc, -1);
	free(got);
}

static void test_batch_resolvers(void **state)
{
	(void)state;
	memset(&C, 0, sizeof C);
	int rc;
	char *got = run("{ issues(first: 50) { key comments(first: 3) { body author { name } } } }",
			NULL, &rc);
	assert_int_equal(rc, 0);
	/* One call per level, whatever the page size. */
	assert_int_equal(C.issues_calls, 1);
	assert_int_equal(C.comments_calls, 1);
	assert_int_equal(C.comments_parents, 50);
	assert_int_equal(C.author_calls, 1);
	assert_int_equal(C.author_parents, 150);
	assert_int_equal(C.key_calls, 50);
	/* The resolver of the list saw what was selected below it. */
	assert_true(C.wanted_comments);
	assert_int_equal(C.n_subfields, 2);
	assert_string_equal(C.subfields[0], "key");
	assert_string_equal(C.subfields[1], "comments");
	/* And the result is assembled in the right places. */
	cJSON *j = cJSON_Parse(got);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
						       "issues");
	assert_int_equal(cJSON_GetArraySize(list), 50);
	cJSON *i49 = cJSON_GetArrayItem(list, 49);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(i49, "key")->valuestring, "ISS-50");
	cJSON *c2 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(i49, "comments"), 2);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(c2, "body")->valuestring,
			    "comment 2 on ISS-50");
	/* Issue 50 (index 49): authors users[(49 + j) % 3] -> j=2: users[0]. */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(c2, "author"), "name")
				    ->valuestring,
			    "Ada");
	cJSON_Delete(j);
	free(got);
	/* Skipped fields are not resolved at all. */
	memset(&C, 0, sizeof C);
	got = run("{ issues(first: 5) { key comments @skip(if: true) { body } } }", NULL, &rc);
	assert_int_equal(C.comments_calls, 0);
	assert_false(C.wanted_comments);
	free(got);
}

static void test_cache(void **state)
{
	(void)state;
	struct gql_engine *e = gql_engine_new(S, NULL, 2);
	struct gql_cache_stats st;
	const char *q1 = "{ issue(key: \"ISS-1\") { key } }";
	const char *q2 = "{ issue(key: \"ISS-2\") { key } }";
	const char *q3 = "{ issue(key: \"ISS-3\") { key } }";
	free(run_full(e, q1, NULL, NULL, false, NULL));
	free(run_full(e, q1, NULL, NULL, false, NULL));
	gql_engine_cache_stats(e, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	free(run_full(e, q2, NULL, NULL, false, NULL));
	free(run_full(e, q3, NULL, NULL, false, NULL));       /* evicts q1 */
	free(run_full(e, q2, NULL, NULL, false, NULL));       /* hit */
	char *got = run_full(e, q1, NULL, NULL, false, NULL); /* miss again */
	assert_string_equal(got, "{\"data\":{\"issue\":{\"key\":\"ISS-1\"}}}");
	free(got);
	gql_engine_cache_stats(e, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 2);
	/* Invalid documents are cached too, with their errors. */
	free(run_full(e, "{ nope }", NULL, NULL, false, NULL));
	got = run_full(e, "{ nope }", NULL, NULL, false, NULL);
	assert_non_null(strstr(got, "Cannot query field"));
	free(got);
	gql_engine_cache_stats(e, &st);
	assert_int_equal(st.hits, 3);
	gql_engine_free(e);
}

static char *body(const char *b, int *rc)
{
	struct buf out = BUF_INIT;
	*rc = gql_execute_body(E, b, strlen(b), NULL, false, &out);
	return buf_detach(&out);
}

static void test_http_body(void **state)
{
	(void)state;
	int rc;
	char *got = body("{\"query\": \"query A { a: issue(key: \\\"ISS-1\\\") { key } } "
			 "query B($k: String!) { issue(key: $k) { summary } }\", "
			 "\"operationName\": \"B\", \"variables\": {\"k\": \"ISS-7\"}}",
			 &rc);
	assert_string_equal(got, "{\"data\":{\"issue\":{\"summary\":\"Summary 7\"}}}");
	assert_int_equal(rc, 0);
	free(got);
	got = body(
		"{\"query\": \"{ issue(key: \\\"ISS-1\\\") { key } }\", \"operationName\": null, "
		"\"variables\": null}",
		&rc);
	assert_string_equal(got, "{\"data\":{\"issue\":{\"key\":\"ISS-1\"}}}");
	free(got);
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"{\"query\": 1}",
		"{\"query\": \"{ fails }\", \"variables\": []}",
		"{\"query\": \"{ fails }\", \"operationName\": 3}",
		"{\"query\": \"{ fails }\"",
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++) {
		got = body(bad[i], &rc);
		assert_int_equal(rc, -1);
		assert_non_null(strstr(got, "\"code\":\"BAD_REQUEST\""));
		free(got);
	}
}

struct thread_arg {
	struct gql_engine *e;
	int id;
	int bad;
};

static void *worker(void *p)
{
	struct thread_arg *ta = p;
	static const char *const qs[] = {
		"{ issue(key: \"ISS-1\") { summary id } }",
		"{ issue(key: \"ISS-2\") { summary id } }",
		"{ issue(key: \"ISS-3\") { summary id } }",
	};
	for (int i = 0; i < 300; i++) {
		int k = (i + ta->id) % 3;
		struct gql_request rq = {.query = qs[k], .query_len = strlen(qs[k])};
		struct buf out = BUF_INIT;
		char want[128];
		snprintf(want, sizeof want,
			 "{\"data\":{\"issue\":{\"summary\":\"Summary %d\",\"id\":\"%d\"}}}", k + 1,
			 k + 1);
		if (gql_execute(ta->e, &rq, &out) != 0 || strcmp(out.data, want) != 0)
			ta->bad++;
		buf_release(&out);
	}
	return NULL;
}

/* Concurrent requests share cached documents while others are evicted. */
static void test_concurrency(void **state)
{
	(void)state;
	struct gql_engine *e = gql_engine_new(S, NULL, 2);
	pthread_t th[4];
	struct thread_arg ta[4];
	for (int i = 0; i < 4; i++) {
		ta[i] = (struct thread_arg){e, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &ta[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(ta[i].bad, 0);
	}
	struct gql_cache_stats st;
	gql_engine_cache_stats(e, &st);
	assert_int_equal(st.hits + st.misses, 1200);
	assert_true(st.evictions > 0);
	assert_int_equal(st.entries, 2);
	gql_engine_free(e);
}

static void test_limits(void **state)
{
	(void)state;
	struct gql_limits lim;
	gql_limits_default(&lim);
	/* cost = 1 + 50 * (1 + 10 * (1 + 1 * 1)) = 1051 */
	const char *q = "query ($n: Int = 10) { issues(first: 50) { comments(first: $n) "
			"{ author { name } } } }";
	lim.max_cost = 1050;
	struct gql_engine *e = gql_engine_new(S, &lim, 0);
	int rc;
	memset(&C, 0, sizeof C);
	char *got = run_full(e, q, NULL, NULL, false, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(got, "QUERY_TOO_COSTLY"));
	assert_non_null(strstr(got, "cost of 1051"));
	assert_int_equal(C.issues_calls, 0);
	free(got);
	/* The variable changes the estimate. */
	got = run_full(e, q, "{\"n\": 9}", NULL, false, &rc);
	assert_int_equal(rc, 0);
	free(got);
	/* Without first/limit a list costs default_list_size. */
	got = run_full(e, "{ issues { key } }", NULL, NULL, false, &rc);
	assert_int_equal(rc, 0); /* default argument 20: 1 + 20 * 1 */
	free(got);
	gql_engine_free(e);
	lim.max_cost = 1051;
	e = gql_engine_new(S, &lim, 0);
	got = run_full(e, q, NULL, NULL, false, &rc);
	assert_int_equal(rc, 0);
	free(got);
	gql_engine_free(e);

	/*
	 * A connection's page size counts once: edges of a paged field are not
	 * multiplied again. 1 + 5 * (1 + 1 * (1 + (1 + 2 * 1))) = 26.
	 */
	gql_limits_default(&lim);
	lim.max_cost = 25;
	e = gql_engine_new(S, &lim, 0);
	const char *cq =
		"{ issuePage(first: 5) { edges { node { comments(first: 2) { body } } } } }";
	got = run_full(e, cq, NULL, NULL, false, &rc);
	assert_non_null(strstr(got, "cost of 26,"));
	free(got);
	gql_engine_free(e);
	lim.max_cost = 26;
	e = gql_engine_new(S, &lim, 0);
	got = run_full(e, "{ issuePage(first: 2) { total edges { cursor node { key } } } }", NULL,
		       NULL, false, &rc);
	assert_string_equal(
		got,
		"{\"data\":{\"issuePage\":{\"total\":50,\"edges\":[{\"cursor\":\"1\","
		"\"node\":{\"key\":\"ISS-1\"}},{\"cursor\":\"2\",\"node\":{\"key\":\"ISS-2\"}}]}}}");
	free(got);
	got = run_full(e, cq, NULL, NULL, false, &rc);
	assert_int_equal(rc, 0);
	free(got);
	gql_engine_free(e);

	gql_limits_default(&lim);
	lim.max_document_bytes = 20;
	lim.max_tokens = 5;
	lim.max_depth = 2;
	lim.max_aliases = 1;
	e = gql_engine_new(S, &lim, 0);
	got = run_full(e, "{ issue(key: \"ISS-1\") { key } }", NULL, NULL, false, &rc);
	assert_non_null(strstr(got, "DOCUMENT_TOO_LARGE"));
	assert_int_equal(rc, -1);
	free(got);
	got = run_full(e, "{ a b c d e f }", NULL, NULL, false, &rc);
	assert_non_null(strstr(got, "TOO_MANY_TOKENS"));
	free(got);
	gql_engine_free(e);
	gql_limits_default(&lim);
	lim.max_depth = 2;
	lim.max_aliases = 1;
	e = gql_engine_new(S, &lim, 0);
	got = run_full(e, "{ issues { comments { body } } }", NULL, NULL, false, &rc);
	assert_non_null(strstr(got, "QUERY_TOO_DEEP"));
	free(got);
	got = run_full(e, "{ a: fails b: fails }", NULL, NULL, false, &rc);
	assert_non_null(strstr(got, "TOO_MANY_ALIASES"));
	free(got);
	gql_engine_free(e);
}

/* The response limit: a response of exactly the limit is sent; one byte
 * more and nothing of it is, only RESPONSE_TOO_LARGE, whether the whole or
 * the leaf values alone exceed it. What out held before is kept. */
static void test_response_limit(void **state)
{
	(void)state;
	const char *q = "{ issuePage(first: 2) { total edges { cursor node { key } } } }";
	int rc;
	char *full = run(q, NULL, &rc);
	assert_int_equal(rc, 0);
	size_t n = strlen(full);
	struct gql_limits lim;
	for (int k = 0; k < 3; k++) {
		gql_limits_default(&lim);
		lim.max_response_bytes = k == 0 ? n : k == 1 ? n - 1 : 8;
		struct gql_engine *e = gql_engine_new(S, &lim, 0);
		struct gql_request rq = {.query = q, .query_len = strlen(q)};
		struct buf out = BUF_INIT;
		assert_int_equal(buf_puts(&out, "prefix:"), 0);
		rc = gql_execute(e, &rq, &out);
		if (k == 0) {
			assert_int_equal(rc, 0);
			assert_string_equal(out.data + 7, full);
		} else {
			assert_int_equal(rc, 1);
			assert_int_equal(strncmp(out.data, "prefix:{\"errors\":", 17), 0);
			assert_non_null(strstr(out.data, "RESPONSE_TOO_LARGE"));
			assert_null(strstr(out.data, "ISS-"));
			assert_null(strstr(out.data, "\"data\""));
			cJSON *j = cJSON_Parse(out.data + 7);
			assert_non_null(j);
			assert_int_equal(
				cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "errors")),
				1);
			cJSON_Delete(j);
		}
		buf_release(&out);
		gql_engine_free(e);
	}
	free(full);
}

/* A caller's arena, reset between requests as the server does, gives the
 * same responses as the execution's own arena. */
static void test_caller_arena(void **state)
{
	(void)state;
	const char *q = "{ issuePage(first: 3) { edges { node { key comments { body } } } } }";
	int rc;
	char *want = run(q, NULL, &rc);
	struct arena a;
	arena_init(&a);
	for (int k = 0; k < 3; k++) {
		struct gql_request rq = {.query = q, .query_len = strlen(q), .arena = &a};
		struct buf out = BUF_INIT;
		assert_true(gql_execute(E, &rq, &out) >= 0);
		assert_string_equal(out.data, want);
		buf_release(&out);
		arena_reset(&a);
	}
	arena_release(&a);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_aliases_typename),
		cmocka_unit_test(test_variables_and_defaults),
		cmocka_unit_test(test_coercion_errors),
		cmocka_unit_test(test_fragments_and_directives),
		cmocka_unit_test(test_abstract_types),
		cmocka_unit_test(test_errors_and_null_propagation),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_batch_resolvers),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_http_body),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_response_limit),
		cmocka_unit_test(test_caller_arena),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
