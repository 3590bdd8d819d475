/*
 * Real Jira captures -> batch rows: the Cloud search page and single issue
 * (issues, users, comments, worklogs, sprint ids), the agile sprint lists
 * (Cloud and Server), Server issues with greenhopper sprint strings, and the
 * schema checks that turn a broken response into SCHEMA_CHANGE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "jira/jira.h"

#include <cjson/cJSON.h>

#define CAP FIXTURES_DIR "/jira-captures/"
#define ACCOUNT "5b86be50b8e3cb5895860d6d"

static cJSON *load(const char *path)
{
	struct buf raw;
	buf_init(&raw, 0);
	if (buf_read_file(&raw, path) < 0)
		fail_msg("cannot read %s", path);
	cJSON *j = cJSON_Parse(raw.data);
	buf_release(&raw);
	assert_non_null(j);
	return j;
}

static const struct issue_row *find_issue(const struct batch *b, const char *key)
{
	for (size_t i = 0; i < b->issues.n; i++)
		if (strcmp(b->issues.v[i].key, key) == 0)
			return &b->issues.v[i];
	fail_msg("no issue %s", key);
	return NULL;
}

static size_t count_comments(const struct batch *b, int64_t issue_id)
{
	size_t n = 0;
	for (size_t i = 0; i < b->comments.n; i++)
		n += b->comments.v[i].issue_id == issue_id;
	return n;
}

static const struct comment_row *find_comment(const struct batch *b, int64_t id)
{
	for (size_t i = 0; i < b->comments.n; i++)
		if (b->comments.v[i].id == id)
			return &b->comments.v[i];
	fail_msg("no comment %" PRId64, id);
	return NULL;
}

static void test_cloud_search_page(void **state)
{
	(void)state;
	cJSON *page = load(CAP "cloud-v3-search-page.json");
	struct batch b;
	batch_init(&b);
	struct jira_error err;
	const cJSON *issue;
	cJSON_ArrayForEach(issue, cJSON_GetObjectItemCaseSensitive(page, "issues"))
	{
		if (jira_parse_issue(issue, "customfield_10020", &b, &err) < 0)
			fail_msg("parse failed: %s", err.message);
	}
	assert_int_equal(b.issues.n, 18);

	const struct issue_row *kp19 = find_issue(&b, "KP-19");
	assert_int_equal(kp19->id, 10032);
	assert_string_equal(kp19->project_key, "KP");
	assert_string_equal(kp19->status, "Backlog");
	assert_string_equal(kp19->status_category, "new");
	assert_string_equal(kp19->priority, "Medium");
	assert_string_equal(kp19->issue_type, "Story");
	assert_null(kp19->assignee_id);
	assert_string_equal(kp19->reporter_id, ACCOUNT);
	assert_int_equal(kp19->created_ms, 1620453865376); /* 2021-05-08T07:04:25.376+0100 */
	assert_int_equal(kp19->updated_ms, 1637194709845); /* 2021-11-18T00:18:29.845+0000 */
	assert_int_equal(kp19->resolved_ms, JS_TIME_NULL);
	assert_string_equal(kp19->labels_json, "[\"test\"]");
	assert_non_null(kp19->description_adf);
	assert_non_null(strstr(kp19->description_adf, "\"panelType\":\"info\""));
	assert_true(strncmp(kp19->description_text, "Lorem Ipsum", 11) == 0);
	assert_int_equal(kp19->n_sprint_ids, 0);
	assert_true(kp19->comments_complete);
	assert_int_equal(kp19->comment_total, 1);
	assert_true(kp19->worklogs_complete);
	assert_int_equal(kp19->worklog_total, 0);
	const struct comment_row *c = find_comment(&b, 10055);
	assert_int_equal(c->issue_id, 10032);
	assert_string_equal(c->author_id, ACCOUNT);
	assert_string_equal(c->update_author_id, ACCOUNT);
	assert_string_equal(c->body_text, "asdsadsad");
	assert_int_equal(c->created_ms, 1637194709845);

	const struct issue_row *kp1 = find_issue(&b, "KP-1");
	assert_int_equal(kp1->id, 10007);
	assert_string_equal(kp1->status, "Done");
	assert_string_equal(kp1->status_category, "done");
	assert_string_equal(kp1->priority, "Low");
	assert_string_equal(kp1->assignee_id, ACCOUNT);
	assert_int_equal(kp1->created_ms, 1610167704162);
	assert_int_equal(kp1->updated_ms, 1626551623107);
	assert_int_equal(kp1->resolved_ms, 1610167714743);
	assert_string_equal(kp1->labels_json, "[\"asd\"]");
	assert_string_equal(kp1->description_text, "asdasddsa");
	assert_int_equal(count_comments(&b, 10007), 5);
	assert_string_equal(find_comment(&b, 10008)->body_text, "2021-01-19");
	/* Worklogs 10001 and 10002 of KP-1. */
	assert_int_equal(b.worklogs.n, 2);
	const struct worklog_row *w = &b.worklogs.v[0];
	assert_int_equal(w->id, 10001);
	assert_int_equal(w->issue_id, 10007);
	assert_int_equal(w->time_spent_seconds, 12000);
	assert_int_equal(w->started_ms, 1626418870774);
	assert_int_equal(w->created_ms, 1626547910285);
	assert_string_equal(w->author_id, ACCOUNT);
	assert_string_equal(
		w->comment_text,
		"Header 1 | Header 2 | Header 3\nRow 00 | Row 01 | Row 02\nRow 10 | Row 11 | Row 12");
	assert_non_null(w->comment_adf);
	assert_int_equal(b.worklogs.v[1].id, 10002);

	const struct issue_row *kp2 = find_issue(&b, "KP-2");
	assert_int_equal(count_comments(&b, 10009), 17);
	assert_int_equal(kp2->comment_total, 17);
	assert_string_equal(find_comment(&b, 10017)->body_text, "Carlos Test\xF0\x9F\x98\x81");

	const struct issue_row *kp7 = find_issue(&b, "KP-7");
	assert_string_equal(kp7->labels_json,
			    "[\"blocker\",\"triaged\",\"triaged-1\",\"triaged-2\"]");
	assert_null(kp7->description_text);
	assert_null(kp7->description_adf);

	/* Sprint ids from customfield_10020 objects. */
	const struct issue_row *kp11 = find_issue(&b, "KP-11");
	assert_int_equal(kp11->n_sprint_ids, 1);
	assert_int_equal(kp11->sprint_ids[0], 3);
	const struct issue_row *kp18 = find_issue(&b, "KP-18");
	assert_int_equal(kp18->n_sprint_ids, 1);
	assert_int_equal(kp18->sprint_ids[0], 4);

	/* All 23 embedded comments, one user, deduplicated, with details. */
	assert_int_equal(b.comments.n, 23);
	assert_int_equal(b.users.n, 1);
	assert_string_equal(b.users.v[0].account_id, ACCOUNT);
	assert_string_equal(b.users.v[0].display_name, "Carlos Treminio");
	assert_string_equal(b.users.v[0].time_zone, "America/Guatemala");
	assert_string_equal(b.users.v[0].account_type, "atlassian");
	assert_true(b.users.v[0].active);
	assert_int_equal(b.comment_overflow.n, 0);
	assert_int_equal(b.worklog_overflow.n, 0);
	assert_int_equal(b.max_updated_ms, 1637194709845);

	batch_release(&b);
	cJSON_Delete(page);
}

static void test_cloud_issue_and_truncation(void **state)
{
	(void)state;
	cJSON *issue = load(CAP "cloud-v3-issue.json");
	struct batch b;
	batch_init(&b);
	struct jira_error err;
	assert_int_equal(jira_parse_issue(issue, "customfield_10020", &b, &err), 0);
	assert_int_equal(b.issues.n, 1);
	assert_int_equal(b.issues.v[0].id, 10032);
	assert_string_equal(b.issues.v[0].key, "KP-19");
	assert_int_equal(b.issues.v[0].updated_ms, 1637194709845);
	assert_int_equal(b.comments.n, 1);
	assert_int_equal(b.comments.v[0].id, 10055);

	/* Comments past the embedded limit: none of the partial ones, the
	 * issue goes to the overflow list. */
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(issue, "fields");
	cJSON *comment = cJSON_GetObjectItemCaseSensitive(fields, "comment");
	cJSON_ReplaceItemInObjectCaseSensitive(comment, "total", cJSON_CreateNumber(25));
	batch_reset(&b);
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), 0);
	assert_int_equal(b.comments.n, 0);
	assert_false(b.issues.v[0].comments_complete);
	assert_int_equal(b.issues.v[0].comment_total, 25);
	assert_int_equal(b.comment_overflow.n, 1);
	assert_int_equal(b.comment_overflow.v[0], 10032);
	assert_true(b.issues.v[0].worklogs_complete);
	assert_int_equal(b.worklog_overflow.n, 0);

	batch_release(&b);
	cJSON_Delete(issue);
}

static void test_schema_change(void **state)
{
	(void)state;
	cJSON *issue = load(CAP "cloud-v3-issue.json");
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(issue, "fields");
	struct batch b;
	batch_init(&b);
	struct jira_error err;

	/* No `updated`: refused, batch untouched (users included). */
	cJSON *updated = cJSON_DetachItemFromObjectCaseSensitive(fields, "updated");
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	assert_non_null(strstr(err.message, "updated"));
	assert_int_equal(b.issues.n + b.users.n + b.comments.n, 0);

	/* A timestamp in a format we do not know. */
	cJSON_AddItemToObject(fields, "updated", cJSON_CreateString("18/Nov/21 12:18 AM"));
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	cJSON_DeleteItemFromObjectCaseSensitive(fields, "updated");
	cJSON_AddItemToObject(fields, "updated", updated);

	/* No id / a non-numeric id / no key. */
	cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(issue, "id");
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	cJSON_AddItemToObject(issue, "id", cJSON_CreateString("KP-19"));
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	cJSON_DeleteItemFromObjectCaseSensitive(issue, "id");
	cJSON_AddItemToObject(issue, "id", id);
	cJSON *key = cJSON_DetachItemFromObjectCaseSensitive(issue, "key");
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	cJSON_AddItemToObject(issue, "key", key);

	/* A broken embedded comment rolls the whole issue back. */
	cJSON *comments = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(fields, "comment"), "comments");
	cJSON *c0 = cJSON_GetArrayItem(comments, 0);
	cJSON_ReplaceItemInObjectCaseSensitive(c0, "created", cJSON_CreateString("yesterday"));
	assert_int_equal(jira_parse_issue(issue, NULL, &b, &err), -1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	assert_non_null(strstr(err.message, "10055"));
	assert_int_equal(b.issues.n + b.users.n + b.comments.n, 0);

	assert_int_equal(
		jira_parse_sprint(cJSON_GetObjectItemCaseSensitive(fields, "summary"), &b, &err),
		-1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	batch_release(&b);
	cJSON_Delete(issue);
}

static void parse_sprints(const char *file, struct batch *b)
{
	cJSON *j = load(file);
	struct jira_error err;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "values"))
	{
		if (jira_parse_sprint(s, b, &err) < 0)
			fail_msg("%s", err.message);
	}
	cJSON_Delete(j);
}

static void test_sprints(void **state)
{
	(void)state;
	struct batch b;
	batch_init(&b);
	struct jira_error err;
	parse_sprints(CAP "agile-board-sprints.json", &b);
	assert_int_equal(b.sprints.n, 1);
	const struct sprint_row *s = &b.sprints.v[0];
	assert_int_equal(s->id, 4);
	assert_int_equal(s->board_id, 4);
	assert_string_equal(s->name, "KP Sprint 3");
	assert_string_equal(s->state, "future");
	assert_null(s->goal);
	assert_int_equal(s->start_ms, JS_TIME_NULL);
	assert_int_equal(s->end_ms, JS_TIME_NULL);
	assert_int_equal(s->complete_ms, JS_TIME_NULL);

	cJSON *one = load(CAP "agile-sprint.json");
	assert_int_equal(jira_parse_sprint(one, &b, &err), 0);
	cJSON_Delete(one);
	s = &b.sprints.v[1];
	assert_int_equal(s->id, 1);
	assert_string_equal(s->state, "active");
	assert_int_equal(s->start_ms, 1619756978642); /* 2021-04-30T04:29:38.642Z */
	assert_int_equal(s->end_ms, 1620966540000);
	assert_int_equal(s->complete_ms, JS_TIME_NULL);
	assert_string_equal(s->goal, ""); /* "" stays "", as Jira sent it */

	batch_reset(&b);
	parse_sprints(CAP "agile-sprints-server.json", &b);
	assert_int_equal(b.sprints.n, 6);
	s = &b.sprints.v[0];
	assert_int_equal(s->id, 740);
	assert_int_equal(s->board_id, 734);
	assert_string_equal(s->name, "Iteration-10");
	assert_string_equal(s->state, "closed");
	assert_int_equal(s->start_ms, 1460384943294);    /* 2016-04-11T07:29:03.294-07:00 */
	assert_int_equal(s->complete_ms, 1461845328543); /* 2016-04-28T05:08:48.543-07:00 */
	assert_string_equal(b.sprints.v[5].goal, "My Goal");
	assert_int_equal(b.sprints.v[4].start_ms, JS_TIME_NULL);
	batch_release(&b);
}

static void test_server_issue(void **state)
{
	(void)state;
	cJSON *page = load(CAP "agile-sprint-issues-server.json");
	cJSON *issue = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(page, "issues"), 0);
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(issue, "fields");
	/* The greenhopper strings a Server sprint field holds; the second
	 * name has commas and an "id=" of its own. */
	cJSON *sprints = cJSON_CreateArray();
	cJSON_AddItemToArray(
		sprints,
		cJSON_CreateString(
			"com.atlassian.greenhopper.service.sprint.Sprint@77c19629[id=266,rapidViewId=174,state=CLOSED,"
			"name=GSC Sprint 26,startDate=2018-03-06T09:10:57.810-08:00,endDate=2018-03-20T09:10:00.000-08:00,"
			"completeDate=<null>,sequence=266,goal=<null>]"));
	cJSON_AddItemToArray(
		sprints,
		cJSON_CreateString(
			"com.atlassian.greenhopper.service.sprint.Sprint@1b0b0c0[rapidViewId=174,state=ACTIVE,"
			"name=Fixes, polish, id=9 and more,goal=a, b,id=271,sequence=271]"));
	cJSON_AddItemToObject(fields, "customfield_10007", sprints);
	cJSON_AddItemToObject(fields, "description", cJSON_CreateString("h1. Title\n*bold* text"));

	struct batch b;
	batch_init(&b);
	struct jira_error err;
	if (jira_parse_issue(issue, "customfield_10007", &b, &err) < 0)
		fail_msg("%s", err.message);
	const struct issue_row *r = &b.issues.v[0];
	assert_int_equal(r->id, 12338);
	assert_string_equal(r->key, "AR-86");
	assert_string_equal(r->project_key, "AR");
	assert_string_equal(r->status, "Ready");
	assert_string_equal(r->status_category, "new");
	assert_string_equal(r->priority, "Major");
	assert_string_equal(r->issue_type, "Task");
	/* DC users by key. */
	assert_string_equal(r->assignee_id, "mister.morris");
	assert_null(r->reporter_id);
	assert_int_equal(b.users.n, 1);
	assert_string_equal(b.users.v[0].display_name, "mister Morris");
	assert_string_equal(b.users.v[0].email, "mister.morris@uservoice.com");
	assert_int_equal(r->created_ms, 1449070755000); /* 2015-12-02T07:39:15.000-0800 */
	assert_int_equal(r->updated_ms, 1454343424000);
	assert_int_equal(r->resolved_ms, 1449526753000);
	assert_string_equal(r->labels_json, "[]");
	/* Wiki markup is kept as text, no ADF. */
	assert_string_equal(r->description_text, "h1. Title\n*bold* text");
	assert_null(r->description_adf);
	assert_int_equal(r->n_sprint_ids, 2);
	assert_int_equal(r->sprint_ids[0], 266);
	assert_int_equal(r->sprint_ids[1], 271);
	/* No embedded comment/worklog sets: both must be paged. */
	assert_false(r->comments_complete);
	assert_false(r->worklogs_complete);
	assert_int_equal(b.comment_overflow.n, 1);
	assert_int_equal(b.worklog_overflow.v[0], 12338);
	batch_release(&b);
	cJSON_Delete(page);
}

static void test_sprint_field_shapes(void **state)
{
	(void)state;
	int64_t ids[4];
	cJSON *v = cJSON_Parse(
		"[{\"id\":3,\"name\":\"a\"},{\"id\":4},{\"id\":3},{\"name\":\"no id\"}]");
	assert_int_equal(jira_parse_sprint_field(v, ids, 4), 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 4);
	cJSON_Delete(v);
	v = cJSON_Parse("\"x.Sprint@1[id=5,name=x]\"");
	assert_int_equal(jira_parse_sprint_field(v, ids, 4), 1);
	assert_int_equal(ids[0], 5);
	cJSON_Delete(v);
	v = cJSON_Parse("[\"garbage\", \"Sprint@1[rapidViewId=2,name=x]\", 7]");
	assert_int_equal(jira_parse_sprint_field(v, ids, 4), 1);
	assert_int_equal(ids[0], 7);
	cJSON_Delete(v);
	assert_int_equal(jira_parse_sprint_field(NULL, ids, 4), 0);
	v = cJSON_Parse("null");
	assert_int_equal(jira_parse_sprint_field(v, ids, 4), 0);
	cJSON_Delete(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cloud_search_page),
		cmocka_unit_test(test_cloud_issue_and_truncation),
		cmocka_unit_test(test_schema_change),
		cmocka_unit_test(test_sprints),
		cmocka_unit_test(test_server_issue),
		cmocka_unit_test(test_sprint_field_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
