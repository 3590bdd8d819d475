/*
 * Benchmark of the GraphQL engine: parse + validate of the standard
 * introspection query (no cache), the same through the document cache, the
 * introspection query executed, and a list query of 50 issues x 10 comments
 * x author with batch resolvers (requests per second and response bytes per
 * second). Prints figures; asserts nothing about time.
 * Build and run: bench/graphql/run.sh
 */
#include "graphql/graphql.h"

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char SDL[] =
	"type User { id: ID! name: String! }\n"
	"type Comment { id: ID! body: String! author: User! }\n"
	"type Issue { id: ID! key: String! summary: String comments(first: Int = 10): [Comment!]! }\n"
	"type Query { issues(first: Int = 50): [Issue!]! }\n";

static int r_issues(const struct gql_resolve_info *info, const struct gql_value *parent,
		    struct gql_value *out)
{
	(void)parent;
	int64_t n = gql_arg_int(info, "first", 50);
	*out = gql_list_new(info->exec, (size_t)n);
	for (int64_t i = 0; i < n; i++) {
		struct gql_value v = gql_object_new(info->exec, 3);
		char b[32];
		snprintf(b, sizeof b, "ISS-%d", (int)i + 1);
		v.u.obj.fields[0] = (struct gql_field_value){"id", gql_int(i + 1)};
		v.u.obj.fields[1] = (struct gql_field_value){"key",
							     gql_string(gql_strdup(info->exec, b))};
		v.u.obj.fields[2] = (struct gql_field_value){"summary",
							     gql_string("A summary of the issue")};
		out->u.list.items[i] = v;
	}
	return 0;
}

static int b_comments(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out)
{
	int64_t first = gql_arg_int(info, "first", 10);
	for (size_t i = 0; i < n; i++) {
		out[i] = gql_list_new(info->exec, (size_t)first);
		for (int64_t k = 0; k < first; k++) {
			struct gql_value c = gql_object_new(info->exec, 3);
			c.u.obj.fields[0] = (struct gql_field_value){"id", gql_int(k)};
			c.u.obj.fields[1] = (struct gql_field_value){
				"body", gql_string("Looks good to me \"ok\"")};
			c.u.obj.fields[2] = (struct gql_field_value){"authorId", gql_int(k % 7)};
			out[i].u.list.items[k] = c;
		}
	}
	(void)parents;
	return 0;
}

static int b_author(const struct gql_resolve_info *info, const struct gql_value *parents, size_t n,
		    struct gql_value *out)
{
	for (size_t i = 0; i < n; i++) {
		struct gql_value u = gql_object_new(info->exec, 2);
		u.u.obj.fields[0] = (struct gql_field_value){
			"id", *gql_value_get(&parents[i], "authorId")};
		u.u.obj.fields[1] = (struct gql_field_value){"name", gql_string("Ada Lovelace")};
		out[i] = u;
	}
	return 0;
}

static void run(struct gql_engine *e, const char *label, const char *q, double budget)
{
	struct gql_request rq = {.query = q, .query_len = strlen(q)};
	size_t bytes = 0;
	long n = 0;
	double t0 = secs(), t;
	do {
		struct buf out = BUF_INIT;
		if (gql_execute(e, &rq, &out) != 0) {
			fprintf(stderr, "%s failed: %.300s\n", label, out.data);
			exit(1);
		}
		bytes += out.len;
		buf_release(&out);
		n++;
		t = secs() - t0;
	} while (t < budget);
	printf("%-44s %9.0f req/s  %8.1f MB/s  (%zu bytes per response)\n", label, n / t,
	       (double)bytes / t / 1e6, bytes / (size_t)n);
}

int main(int argc, char **argv)
{
	double budget = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	char err[256];
	struct gql_schema *s = gql_schema_new();
	if (gql_schema_load(s, SDL, strlen(SDL), err, sizeof err) < 0 ||
	    gql_schema_bind(s, "Query.issues", r_issues, NULL) < 0 ||
	    gql_schema_bind_batch(s, "Issue.comments", b_comments, NULL) < 0 ||
	    gql_schema_bind_batch(s, "Comment.author", b_author, NULL) < 0 ||
	    gql_schema_bind_property(s, "Issue.*") < 0 ||
	    gql_schema_bind_property(s, "Comment.*") < 0 ||
	    gql_schema_bind_property(s, "User.*") < 0 ||
	    gql_schema_check_bound(s, err, sizeof err) < 0) {
		fprintf(stderr, "schema: %s\n", err);
		return 1;
	}
	struct gql_limits lim;
	gql_limits_default(&lim);
	/* Parse + validate only. */
	long n = 0;
	double t0 = secs(), t;
	do {
		char *errs = NULL;
		if (gql_check_document(s, gql_introspection_query, strlen(gql_introspection_query),
				       &lim, &errs) != 0)
			return 1;
		n++;
		t = secs() - t0;
	} while (t < budget);
	printf("%-44s %9.0f docs/s (%zu bytes)\n", "parse+validate introspection query", n / t,
	       strlen(gql_introspection_query));
	struct gql_engine *nocache = gql_engine_new(s, &lim, 0);
	struct gql_engine *cache = gql_engine_new(s, &lim, 64);
	const char *list = "{ issues(first: 50) { id key summary comments(first: 10) "
			   "{ id body author { id name } } } }";
	run(nocache, "introspection query, no cache", gql_introspection_query, budget);
	run(cache, "introspection query, cached document", gql_introspection_query, budget);
	run(nocache, "50 issues x 10 comments x author, no cache", list, budget);
	run(cache, "50 issues x 10 comments x author, cached", list, budget);
	run(cache, "one small field, cached", "{ issues(first: 1) { key } }", budget);
	gql_engine_free(nocache);
	gql_engine_free(cache);
	gql_schema_free(s);
	return 0;
}
