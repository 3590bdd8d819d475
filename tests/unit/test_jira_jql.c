/*
 * JQL building: full, incremental and tracked-user queries use epoch
 * milliseconds (never a date string), and nothing but validated project keys
 * and account ids enters a query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "jira/jira.h"

static int build(const struct jira_query *q, struct buf *out, char *err, size_t errlen)
{
	buf_reset(out);
	return jira_build_jql(q, out, err, errlen);
}

static void test_full_and_incremental(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	char err[256];
	struct jira_query q = {.project_key = "KP", .updated_since_ms = JS_TIME_NULL};
	assert_int_equal(build(&q, &b, err, sizeof err), 0);
	assert_string_equal(b.data, "project = \"KP\" ORDER BY updated ASC, key ASC");

	q.updated_since_ms = 1732877091000;
	assert_int_equal(build(&q, &b, err, sizeof err), 0);
	assert_string_equal(
		b.data,
		"project = \"KP\" AND updated >= 1732877091000 ORDER BY updated ASC, key ASC");
	/* Never a date literal (read in the account's time zone). */
	assert_null(strchr(b.data, '/'));
	assert_null(strstr(b.data, "2024-"));
	buf_release(&b);
}

static void test_tracked_users(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	char err[256];
	const char *ids[] = {"5b86be50b8e3cb5895860d6d",
			     "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"};
	struct jira_query q = {.project_key = "ABC_1",
			       .updated_since_ms = 1000,
			       .account_ids = ids,
			       .n_account_ids = 2};
	assert_int_equal(build(&q, &b, err, sizeof err), 0);
	assert_string_equal(
		b.data,
		"project = \"ABC_1\" AND updated >= 1000 AND (assignee in "
		"(\"5b86be50b8e3cb5895860d6d\",\"557058:f58131cb-b67d-43c7-b30d-6b58d40bd077\") "
		"OR worklogAuthor in (\"5b86be50b8e3cb5895860d6d\",\"557058:f58131cb-b67d-43c7-b30d-6b58d40bd077\")) "
		"ORDER BY updated ASC, key ASC");
	q.n_account_ids = 1;
	q.updated_since_ms = JS_TIME_NULL;
	assert_int_equal(build(&q, &b, err, sizeof err), 0);
	assert_string_equal(
		b.data,
		"project = \"ABC_1\" AND (assignee in (\"5b86be50b8e3cb5895860d6d\") OR "
		"worklogAuthor in (\"5b86be50b8e3cb5895860d6d\")) ORDER BY updated ASC, key ASC");
	/* DC user keys and names pass too. */
	assert_true(jira_valid_account_id("JIRAUSER10100"));
	assert_true(jira_valid_account_id("mister.morris"));
	assert_true(jira_valid_account_id("a@b.example"));
	buf_release(&b);
}

static void test_invalid_keys(void **state)
{
	(void)state;
	const char *bad[] = {
		"",     "K",     "kp",
		"Kp",   "1KP",   "K P",
		"KP\"", "KP\\",  "KP\" OR project != \"X",
		"KP)",  "KP-1",  "AND",
		"OR",   "ORDER", "EMPTY",
		"NULL", "NOT",   "KP\n",
		"KP;",  "ÄB",
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++)
		if (jira_valid_project_key(bad[i]))
			fail_msg("key '%s' accepted", bad[i]);
	assert_false(jira_valid_project_key(NULL));
	char long_key[300];
	memset(long_key, 'A', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	assert_false(jira_valid_project_key(long_key));
	long_key[255] = '\0';
	assert_true(jira_valid_project_key(long_key));
	assert_true(jira_valid_project_key("KP"));
	assert_true(jira_valid_project_key("A1_B2"));

	struct buf b;
	buf_init(&b, 0);
	char err[256];
	struct jira_query q = {.project_key = "KP\" OR 1=1", .updated_since_ms = JS_TIME_NULL};
	assert_int_equal(build(&q, &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "project key"));
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_invalid_account_ids(void **state)
{
	(void)state;
	const char *bad[] = {"",      "a b", "a\"b", "a\\b",  "a'b",   "a,b", "a)b",
			     "x\nOR", "and", "Or",   "order", "empty", "null"};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++)
		if (jira_valid_account_id(bad[i]))
			fail_msg("account id '%s' accepted", bad[i]);
	assert_false(jira_valid_account_id(NULL));
	char long_id[200];
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_false(jira_valid_account_id(long_id));
	long_id[128] = '\0';
	assert_true(jira_valid_account_id(long_id));

	struct buf b;
	buf_init(&b, 0);
	char err[256];
	const char *ids[] = {"good", "bad\" OR assignee is EMPTY OR \"x"};
	struct jira_query q = {.project_key = "KP",
			       .updated_since_ms = JS_TIME_NULL,
			       .account_ids = ids,
			       .n_account_ids = 2};
	assert_int_equal(build(&q, &b, err, sizeof err), -1);
	assert_non_null(strstr(err, "account id"));
	assert_int_equal(b.len, 0);
	/* n > 0 with no array is refused, not dereferenced. */
	q.account_ids = NULL;
	assert_int_equal(build(&q, &b, err, sizeof err), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_and_incremental),
		cmocka_unit_test(test_tracked_users),
		cmocka_unit_test(test_invalid_keys),
		cmocka_unit_test(test_invalid_account_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
