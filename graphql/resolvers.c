/*
 * jirasync's resolvers: every field of schema.graphql bound to code. Rows
 * come from store/read.c copied into the request's arena and travel as
 * GQL_V_PTR values; leaf fields are read through a table of (offset, kind)
 * descriptors. Nested lists (issues -> comments -> author) are batch
 * resolvers: one store statement per field per level, whatever the page
 * size, so there is no N+1. Database failures are logged and answered with
 * a generic message and a classified code; Jira look-ups come back with the
 * Jira client's classified code and guidance.
 */
#include <stddef.h>

#include <cjson/cJSON.h>

#include "graphql/admin_int.h"
#include "engine/engine.h"
#include "jira/jira.h"
#include "scheduler/scheduler.h"
#include "store/store.h"

/* ---- helpers ------------------------------------------------------------------ */
static struct gql_admin_rq *rq_of(const struct gql_resolve_info *info)
{
	return info->ctx;
}

/* The request of a Query field that reads the database: marked so, which
 * lets the response be kept against the snapshot it was read in. */
static struct gql_admin_rq *reader_of(const struct gql_resolve_info *info)
{
	struct gql_admin_rq *rq = info->ctx;
	rq->read_data = true;
	return rq;
}

/* Log a store failure and raise a field error that says nothing internal. */
static int db_fail(const struct gql_resolve_info *info, const char *err)
{
	bool lost = store_conn_lost(rq_of(info)->db);
	log_error("graphql: database read failed", "field", info->field_name, "error", err);
	if (lost)
		gql_fail(info, "DB_UNAVAILABLE", "the database is unavailable");
	else
		gql_fail(info, "INTERNAL", "internal error (logged on the server)");
	return -1;
}

/* An ID argument that must be a positive integer. */
static int arg_id(const struct gql_resolve_info *info, const char *name, int64_t *out)
{
	const struct gql_value *v = gql_arg(info, name);
	int64_t id = 0;
	if (v && v->kind == GQL_V_INT)
		id = v->u.i;
	else if (!v || v->kind != GQL_V_STRING || parse_i64(v->u.str.s, &id) < 0)
		id = -1;
	if (id <= 0) {
		gql_fail(info, "BAD_USER_INPUT", "argument \"%s\" must be a numeric id", name);
		return -1;
	}
	*out = id;
	return 0;
}

/* A string property of an input object, copied NUL-terminated; NULL if absent. */
static const char *obj_str(struct gql_exec *x, const struct gql_value *obj, const char *name)
{
	const struct gql_value *v = obj ? gql_value_get(obj, name) : NULL;
	if (!v || (v->kind != GQL_V_STRING && v->kind != GQL_V_ENUM))
		return NULL;
	char *s = gql_alloc(x, v->u.str.len + 1);
	memcpy(s, v->u.str.s, v->u.str.len);
	return s;
}

static struct gql_value time_value(struct gql_exec *x, int64_t ms)
{
	if (ms == JS_TIME_NULL)
		return gql_null();
	char t[32];
	return gql_string(gql_strdup(x, jtime_format(t, ms)));
}

/* A JSON document as a value tree (for the JSON scalar). */
static struct gql_value from_json(struct gql_exec *x, const cJSON *j)
{
	if (cJSON_IsString(j))
		return gql_string(gql_strdup(x, j->valuestring));
	if (cJSON_IsBool(j))
		return gql_bool(cJSON_IsTrue(j));
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d == (double)(int64_t)d && d > -9e15 && d < 9e15)
			return gql_int((int64_t)d);
		return gql_float(d);
	}
	if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
		size_t n = (size_t)cJSON_GetArraySize(j), i = 0;
		struct gql_value v = cJSON_IsArray(j) ? gql_list_new(x, n) : gql_object_new(x, n);
		const cJSON *c;
		cJSON_ArrayForEach(c, j)
		{
			if (cJSON_IsArray(j)) {
				v.u.list.items[i++] = from_json(x, c);
			} else {
				v.u.obj.fields[i].name = gql_strdup(x, c->string ? c->string : "");
				v.u.obj.fields[i++].value = from_json(x, c);
			}
		}
		return v;
	}
	return gql_null();
}

static struct gql_value json_text_value(struct gql_exec *x, const char *text)
{
	if (!text)
		return gql_null();
	cJSON *j = cJSON_Parse(text);
	struct gql_value v = j ? from_json(x, j) : gql_null();
	cJSON_Delete(j);
	return v;
}

/* "full" -> "FULL" in the arena. */
static struct gql_value upper_enum(struct gql_exec *x, const char *s)
{
	if (!s)
		return gql_null();
	char *u = gql_strdup(x, s);
	for (char *p = u; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return gql_enum(u);
}

/* ---- leaf fields by descriptor ------------------------------------------------ */
enum fkind { F_STR, F_ID, F_ID_OPT, F_INT, F_BOOL, F_TIME, F_ENUM, F_ENUM_UPPER, F_JSON, F_LABELS };

struct fdesc {
	const char *coord;
	size_t off;
	enum fkind kind;
};

#define FD(type, field, row, member, kind)                         \
	{                                                          \
		type "." field, offsetof(struct row, member), kind \
	}

static const struct fdesc leaves[] = {
	FD("Project", "id", store_project_row, id, F_ID),
	FD("Project", "key", store_project_row, key, F_STR),
	FD("Project", "name", store_project_row, name, F_STR),
	FD("Project", "createdAt", store_project_row, created_ms, F_TIME),
	FD("Issue", "id", store_issue_row, id, F_ID),
	FD("Issue", "key", store_issue_row, key, F_STR),
	FD("Issue", "summary", store_issue_row, summary, F_STR),
	FD("Issue", "status", store_issue_row, status, F_STR),
	FD("Issue", "statusCategory", store_issue_row, status_category, F_STR),
	FD("Issue", "priority", store_issue_row, priority, F_STR),
	FD("Issue", "issueType", store_issue_row, issue_type, F_STR),
	FD("Issue", "created", store_issue_row, created_ms, F_TIME),
	FD("Issue", "updated", store_issue_row, updated_ms, F_TIME),
	FD("Issue", "resolved", store_issue_row, resolved_ms, F_TIME),
	FD("Issue", "labels", store_issue_row, labels_json, F_LABELS),
	FD("Issue", "deletedAt", store_issue_row, deleted_ms, F_TIME),
	FD("Comment", "id", store_comment_row, id, F_ID),
	FD("Comment", "body", store_comment_row, body, F_STR),
	FD("Comment", "created", store_comment_row, created_ms, F_TIME),
	FD("Comment", "updated", store_comment_row, updated_ms, F_TIME),
	FD("Worklog", "id", store_worklog_row, id, F_ID),
	FD("Worklog", "comment", store_worklog_row, comment, F_STR),
	FD("Worklog", "started", store_worklog_row, started_ms, F_TIME),
	FD("Worklog", "timeSpentSeconds", store_worklog_row, time_spent_seconds, F_INT),
	FD("Worklog", "created", store_worklog_row, created_ms, F_TIME),
	FD("Worklog", "updated", store_worklog_row, updated_ms, F_TIME),
	FD("Sprint", "id", store_sprint_row, id, F_ID),
	FD("Sprint", "name", store_sprint_row, name, F_STR),
	FD("Sprint", "state", store_sprint_row, state, F_STR),
	FD("Sprint", "goal", store_sprint_row, goal, F_STR),
	FD("Sprint", "boardId", store_sprint_row, board_id, F_ID_OPT),
	FD("Sprint", "startDate", store_sprint_row, start_ms, F_TIME),
	FD("Sprint", "endDate", store_sprint_row, end_ms, F_TIME),
	FD("Sprint", "completeDate", store_sprint_row, complete_ms, F_TIME),
	FD("User", "accountId", store_user_row, account_id, F_STR),
	FD("User", "displayName", store_user_row, display_name, F_STR),
	FD("User", "emailAddress", store_user_row, email, F_STR),
	FD("User", "timeZone", store_user_row, time_zone, F_STR),
	FD("User", "active", store_user_row, active, F_BOOL),
	FD("SyncJob", "projectId", store_job_row, project_id, F_ID),
	FD("SyncJob", "cron", store_job_row, cron, F_STR),
	FD("SyncJob", "effectiveCron", store_job_row, effective_cron, F_STR),
	FD("SyncJob", "status", store_job_row, status, F_ENUM),
	FD("SyncJob", "pauseNote", store_job_row, pause_note, F_STR),
	FD("SyncJob", "failureStreak", store_job_row, failure_streak, F_INT),
	FD("SyncJob", "lastRunAt", store_job_row, last_run_ms, F_TIME),
	FD("SyncJob", "nextRunAt", store_job_row, next_run_ms, F_TIME),
	FD("SyncState", "entity", store_state_row, entity, F_STR),
	FD("SyncState", "status", store_state_row, status, F_ENUM),
	FD("SyncState", "cursor", store_state_row, cursor_ms, F_TIME),
	FD("SyncState", "lastSuccessAt", store_state_row, last_success_ms, F_TIME),
	FD("SyncState", "lastErrorCode", store_state_row, last_error_code, F_STR),
	FD("SyncRun", "id", store_run_row, id, F_ID),
	FD("SyncRun", "kind", store_run_row, kind, F_ENUM_UPPER),
	FD("SyncRun", "trigger", store_run_row, trigger, F_ENUM_UPPER),
	FD("SyncRun", "status", store_run_row, status, F_ENUM),
	FD("SyncRun", "errorCode", store_run_row, error_code, F_STR),
	FD("SyncRun", "errorMessage", store_run_row, error_message, F_STR),
	FD("SyncRun", "issuesUpserted", store_run_row, issues_upserted, F_INT),
	FD("SyncRun", "issuesDeleted", store_run_row, issues_deleted, F_INT),
	FD("SyncRun", "commentsUpserted", store_run_row, comments_upserted, F_INT),
	FD("SyncRun", "commentsDeleted", store_run_row, comments_deleted, F_INT),
	FD("SyncRun", "worklogsUpserted", store_run_row, worklogs_upserted, F_INT),
	FD("SyncRun", "worklogsDeleted", store_run_row, worklogs_deleted, F_INT),
	FD("SyncRun", "jiraRequests", store_run_row, jira_requests, F_INT),
	FD("SyncRun", "startedAt", store_run_row, started_ms, F_TIME),
	FD("SyncRun", "finishedAt", store_run_row, finished_ms, F_TIME),
	FD("SyncLog", "id", store_log_row, id, F_ID),
	FD("SyncLog", "runId", store_log_row, run_id, F_ID_OPT),
	FD("SyncLog", "level", store_log_row, level, F_ENUM),
	FD("SyncLog", "message", store_log_row, message, F_STR),
	FD("SyncLog", "details", store_log_row, details, F_JSON),
	FD("SyncLog", "createdAt", store_log_row, created_ms, F_TIME),
};

static int r_leaf(const struct gql_resolve_info *info, const struct gql_value *parent,
		  struct gql_value *out)
{
	const struct fdesc *d = info->userdata;
	const char *row = parent->kind == GQL_V_PTR ? parent->u.ptr : NULL;
	if (!row) {
		*out = gql_null();
		return 0;
	}
	const void *p = row + d->off;
	const char *s;
	int64_t i;
	switch (d->kind) {
	case F_STR:
		memcpy(&s, p, sizeof s);
		*out = gql_string(s);
		break;
	case F_ENUM:
		memcpy(&s, p, sizeof s);
		*out = s ? gql_enum(s) : gql_null();
		break;
	case F_ENUM_UPPER:
		memcpy(&s, p, sizeof s);
		*out = upper_enum(info->exec, s);
		break;
	case F_JSON:
		memcpy(&s, p, sizeof s);
		*out = json_text_value(info->exec, s);
		break;
	case F_LABELS: {
		memcpy(&s, p, sizeof s);
		cJSON *j = s ? cJSON_Parse(s) : NULL;
		size_t n = cJSON_IsArray(j) ? (size_t)cJSON_GetArraySize(j) : 0, k = 0;
		*out = gql_list_new(info->exec, n);
		const cJSON *c;
		cJSON_ArrayForEach(c, j)
		{
			if (cJSON_IsString(c) && k < n)
				out->u.list.items[k++] = gql_string(
					gql_strdup(info->exec, c->valuestring));
		}
		out->u.list.n = k;
		cJSON_Delete(j);
		break;
	}
	case F_ID:
	case F_INT:
		memcpy(&i, p, sizeof i);
		*out = gql_int(i);
		break;
	case F_ID_OPT:
		memcpy(&i, p, sizeof i);
		*out = i ? gql_int(i) : gql_null();
		break;
	case F_TIME:
		memcpy(&i, p, sizeof i);
		*out = time_value(info->exec, i);
		break;
	case F_BOOL: {
		bool b;
		memcpy(&b, p, sizeof b);
		*out = gql_bool(b);
		break;
	}
	}
	return 0;
}

/* A list value of pointers to n rows of size sz. */
static struct gql_value ptr_list(struct gql_exec *x, void *rows, size_t n, size_t sz,
				 const char *type)
{
	struct gql_value v = gql_list_new(x, n);
	for (size_t i = 0; i < n; i++)
		v.u.list.items[i] = gql_ptr((char *)rows + i * sz, type);
	return v;
}

/* ---- Query ---------------------------------------------------------------------- */
static int q_projects(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	struct store_project_row *rows;
	size_t n;
	char e[STORE_ERRLEN];
	if (store_read_projects(rq->db, rq->arena, &rows, &n, e, sizeof e) < 0)
		return db_fail(info, e);
	*out = ptr_list(info->exec, rows, n, sizeof *rows, "Project");
	return 0;
}

static int q_project(const struct gql_resolve_info *info, const struct gql_value *parent,
		     struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	int64_t id;
	if (arg_id(info, "id", &id) < 0)
		return -1;
	struct store_project_row *p = gql_alloc(info->exec, sizeof *p);
	char e[STORE_ERRLEN];
	int rc = store_read_project(rq->db, rq->arena, id, p, e, sizeof e);
	if (rc < 0)
		return db_fail(info, e);
	*out = rc == 0 ? gql_ptr(p, "Project") : gql_null();
	return 0;
}

/* The issues connection: the page and how it was asked. */
struct conn_val {
	struct store_issue_page page;
};

/* Cursors are "<updated microseconds>:<issue id>": the keyset position. */
static const char *make_cursor(struct gql_exec *x, const struct store_issue_row *r)
{
	char c[64];
	snprintf(c, sizeof c, "%" PRId64 ":%" PRId64, r->updated_us, r->id);
	return gql_strdup(x, c);
}

static int parse_cursor(const char *s, int64_t *us, int64_t *id)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	if (!colon || colon - s > 23)
		return -1;
	char a[24];
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = '\0';
	return parse_i64(a, us) < 0 || parse_i64(colon + 1, id) < 0 ? -1 : 0;
}

/* The store_skip bits whose fields no selection below prefix ("edges.node."
 * or "") asks for. */
struct skip_group {
	unsigned bit;
	const char *fields[5];
};

static unsigned skip_mask(const struct gql_resolve_info *info, const char *prefix,
			  const struct skip_group *groups, size_t n)
{
	unsigned skip = 0;
	char path[128];
	for (size_t g = 0; g < n; g++) {
		bool wanted = false;
		for (size_t f = 0;
		     f < JS_ARRAY_LEN(groups[g].fields) && groups[g].fields[f] && !wanted; f++) {
			snprintf(path, sizeof path, "%s%s", prefix, groups[g].fields[f]);
			wanted = gql_info_wants_path(info, path);
		}
		if (!wanted)
			skip |= groups[g].bit;
	}
	return skip;
}

static const struct skip_group issue_skips[] = {
	{STORE_SKIP_TEXT, {"summary"}},
	{STORE_SKIP_FIELDS, {"status", "statusCategory", "priority", "issueType"}},
	{STORE_SKIP_TIMES, {"created", "updated", "resolved", "deletedAt"}},
	{STORE_SKIP_LABELS, {"labels"}},
};
static const struct skip_group comment_skips[] = {
	{STORE_SKIP_TEXT, {"body"}},
	{STORE_SKIP_TIMES, {"created", "updated"}},
	{STORE_SKIP_UPDATE_AUTHOR, {"updateAuthor"}},
};
static const struct skip_group worklog_skips[] = {
	{STORE_SKIP_TEXT, {"comment"}},
	{STORE_SKIP_TIMES, {"started", "created", "updated"}},
};

static int q_issues(const struct gql_resolve_info *info, const struct gql_value *parent,
		    struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	struct gql_exec *x = info->exec;
	struct store_issue_query q = {.updated_since_ms = JS_TIME_NULL};
	if (arg_id(info, "projectId", &q.project_id) < 0)
		return -1;
	int64_t first = gql_arg_int(info, "first", 50);
	if (first < 0 || first > STORE_ISSUES_MAX) {
		gql_fail(info, "BAD_USER_INPUT", "\"first\" must be between 0 and %d",
			 STORE_ISSUES_MAX);
		return -1;
	}
	q.limit = (int)first;
	const char *after = gql_arg_str(info, "after");
	if (after) {
		if (parse_cursor(after, &q.after_updated_us, &q.after_id) < 0) {
			gql_fail(info, "BAD_USER_INPUT",
				 "\"after\" is not a cursor of this connection");
			return -1;
		}
		q.has_after = true;
	}
	const struct gql_value *f = gql_arg(info, "filter");
	if (f && f->kind == GQL_V_OBJECT) {
		q.status = obj_str(x, f, "status");
		q.assignee = obj_str(x, f, "assignee");
		q.text = obj_str(x, f, "text");
		const struct gql_value *sp = gql_value_get(f, "sprintId");
		if (sp && sp->kind == GQL_V_INT) {
			q.sprint_id = sp->u.i;
		} else if (sp && sp->kind == GQL_V_STRING) {
			if (parse_i64(obj_str(x, f, "sprintId"), &q.sprint_id) < 0 ||
			    q.sprint_id <= 0) {
				gql_fail(info, "BAD_USER_INPUT",
					 "\"sprintId\" must be a numeric id");
				return -1;
			}
		}
		const char *since = obj_str(x, f, "updatedSince");
		if (since && jtime_parse(since, &q.updated_since_ms) < 0) {
			gql_fail(info, "BAD_USER_INPUT",
				 "\"updatedSince\" is not an RFC 3339 timestamp");
			return -1;
		}
		const struct gql_value *del = gql_value_get(f, "includeDeleted");
		q.include_deleted = del && del->kind == GQL_V_BOOL && del->u.b;
	}
	q.want_total = gql_info_wants(info, "totalCount");
	/* Issues of a page are reached through edges.node only. */
	q.skip = skip_mask(info, "edges.node.", issue_skips, JS_ARRAY_LEN(issue_skips));
	/* Assignees asked for: the page carries the user epoch, and b_user takes
	 * them from the thread's user cache. */
	q.epoch = gql_info_wants_path(info, "edges.node.assignee");
	struct conn_val *c = gql_alloc(x, sizeof *c);
	char e[STORE_ERRLEN];
	if (store_read_issue_page(rq->db, rq->arena, &q, &c->page, e, sizeof e) < 0)
		return db_fail(info, e);
	if (c->page.n && c->page.rows[0].user_epoch >= 0)
		rq->user_epoch = c->page.rows[0].user_epoch;
	*out = gql_ptr(c, "IssueConnection");
	return 0;
}

static int conn_edges(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	struct conn_val *c = parent->u.ptr;
	*out = ptr_list(info->exec, c->page.rows, c->page.n, sizeof *c->page.rows, "IssueEdge");
	return 0;
}

static int conn_page_info(const struct gql_resolve_info *info, const struct gql_value *parent,
			  struct gql_value *out)
{
	(void)info;
	*out = gql_ptr(parent->u.ptr, "PageInfo");
	return 0;
}

static int conn_total(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	(void)info;
	struct conn_val *c = parent->u.ptr;
	*out = gql_int(c->page.total);
	return 0;
}

static int page_has_next(const struct gql_resolve_info *info, const struct gql_value *parent,
			 struct gql_value *out)
{
	(void)info;
	struct conn_val *c = parent->u.ptr;
	*out = gql_bool(c->page.has_next);
	return 0;
}

static int page_end_cursor(const struct gql_resolve_info *info, const struct gql_value *parent,
			   struct gql_value *out)
{
	struct conn_val *c = parent->u.ptr;
	*out = c->page.n ? gql_string(make_cursor(info->exec, &c->page.rows[c->page.n - 1]))
			 : gql_null();
	return 0;
}

static int edge_cursor(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	*out = gql_string(make_cursor(info->exec, parent->u.ptr));
	return 0;
}

static int edge_node(const struct gql_resolve_info *info, const struct gql_value *parent,
		     struct gql_value *out)
{
	(void)info;
	*out = gql_ptr(parent->u.ptr, "Issue");
	return 0;
}

static int q_issue(const struct gql_resolve_info *info, const struct gql_value *parent,
		   struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	const char *key = gql_arg_str(info, "key");
	struct store_issue_row *r = gql_alloc(info->exec, sizeof *r);
	char e[STORE_ERRLEN];
	int rc = store_read_issue_by_key(rq->db, rq->arena, key ? key : "", r, e, sizeof e);
	if (rc < 0)
		return db_fail(info, e);
	*out = rc == 0 ? gql_ptr(r, "Issue") : gql_null();
	return 0;
}

/* Per-project lists: one table of (field, reader, row size, type). */
typedef int (*project_list_fn)(PGconn *db, struct arena *a, int64_t project_id, void **rows,
			       size_t *n, char *err, size_t errlen);

static int rd_sprints(PGconn *db, struct arena *a, int64_t pid, void **rows, size_t *n, char *e,
		      size_t el)
{
	return store_read_project_sprints(db, a, pid, (struct store_sprint_row **)rows, n, e, el);
}
static int rd_users(PGconn *db, struct arena *a, int64_t pid, void **rows, size_t *n, char *e,
		    size_t el)
{
	return store_read_project_users(db, a, pid, (struct store_user_row **)rows, n, e, el);
}
static int rd_tracked(PGconn *db, struct arena *a, int64_t pid, void **rows, size_t *n, char *e,
		      size_t el)
{
	return store_read_tracked_users(db, a, pid, (struct store_user_row **)rows, n, e, el);
}
static int rd_states(PGconn *db, struct arena *a, int64_t pid, void **rows, size_t *n, char *e,
		     size_t el)
{
	return store_read_states(db, a, pid, (struct store_state_row **)rows, n, e, el);
}

struct list_desc {
	project_list_fn read;
	size_t row_size;
	const char *type;
};
static const struct list_desc l_sprints = {rd_sprints, sizeof(struct store_sprint_row), "Sprint"};
static const struct list_desc l_users = {rd_users, sizeof(struct store_user_row), "User"};
static const struct list_desc l_tracked = {rd_tracked, sizeof(struct store_user_row), "User"};
static const struct list_desc l_states = {rd_states, sizeof(struct store_state_row), "SyncState"};

static int q_project_list(const struct gql_resolve_info *info, const struct gql_value *parent,
			  struct gql_value *out)
{
	(void)parent;
	const struct list_desc *d = info->userdata;
	struct gql_admin_rq *rq = reader_of(info);
	int64_t pid;
	if (arg_id(info, "projectId", &pid) < 0)
		return -1;
	void *rows;
	size_t n;
	char e[STORE_ERRLEN];
	if (d->read(rq->db, rq->arena, pid, &rows, &n, e, sizeof e) < 0)
		return db_fail(info, e);
	*out = ptr_list(info->exec, rows, n, d->row_size, d->type);
	return 0;
}

static int q_sync_job(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	int64_t pid;
	if (arg_id(info, "projectId", &pid) < 0)
		return -1;
	struct store_job_row *rows;
	size_t n;
	char e[STORE_ERRLEN];
	if (store_read_jobs(rq->db, rq->arena, &pid, 1, &rows, &n, e, sizeof e) < 0)
		return db_fail(info, e);
	*out = n ? gql_ptr(rows, "SyncJob") : gql_null();
	return 0;
}

/* limit argument in [0, max]. */
static int arg_limit(const struct gql_resolve_info *info, int64_t dflt, int64_t max, int *out)
{
	int64_t l = gql_arg_int(info, "limit", dflt);
	if (l < 0 || l > max) {
		gql_fail(info, "BAD_USER_INPUT", "\"limit\" must be between 0 and %" PRId64, max);
		return -1;
	}
	*out = (int)l;
	return 0;
}

static int q_sync_logs(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	int64_t pid;
	int limit;
	if (arg_id(info, "projectId", &pid) < 0 || arg_limit(info, 100, 1000, &limit) < 0)
		return -1;
	struct store_log_row *rows;
	size_t n;
	char e[STORE_ERRLEN];
	if (store_read_logs(rq->db, rq->arena, pid, limit, gql_arg_str(info, "level"), &rows, &n, e,
			    sizeof e) < 0)
		return db_fail(info, e);
	*out = ptr_list(info->exec, rows, n, sizeof *rows, "SyncLog");
	return 0;
}

static int q_sync_runs(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	(void)parent;
	struct gql_admin_rq *rq = reader_of(info);
	int64_t pid;
	int limit;
	if (arg_id(info, "projectId", &pid) < 0 || arg_limit(info, 20, 500, &limit) < 0)
		return -1;
	struct store_run_row *rows;
	size_t n;
	char e[STORE_ERRLEN];
	if (store_read_runs(rq->db, rq->arena, pid, limit, &rows, &n, e, sizeof e) < 0)
		return db_fail(info, e);
	*out = ptr_list(info->exec, rows, n, sizeof *rows, "SyncRun");
	return 0;
}

/* ---- live Jira look-ups ------------------------------------------------------------ */
static struct jira_client *jira_of(const struct gql_resolve_info *info)
{
	struct gql_admin_rq *rq = rq_of(info);
	if (!*rq->jira) {
		const struct config *c = rq->cfg;
		struct jira_opts o = {
			.base_url = c->jira_base_url,
			.email = c->jira_email,
			.api_token = c->jira_api_token,
			.pat = c->jira_pat,
			.flavour = c->jira_flavour,
			.timeout_s = c->http_timeout_s,
			.connect_timeout_s = c->http_connect_timeout_s,
			.max_attempts = c->http_max_attempts,
			.page_size = c->page_size,
		};
		*rq->jira = jira_client_new(&o);
	}
	return *rq->jira;
}

static int jira_fail(const struct gql_resolve_info *info, const struct jira_error *je)
{
	log_warn("graphql: jira look-up failed", "field", info->field_name, "code",
		 jira_code_name(je->code), "error", je->message);
	gql_fail(info, jira_code_name(je->code), "%s", jira_code_guidance(je->code));
	return -1;
}

static bool jira_configured(const struct gql_resolve_info *info)
{
	const struct config *c = rq_of(info)->cfg;
	if (c->jira_base_url && *c->jira_base_url)
		return true;
	gql_fail(info, "CONFIG_ERROR", "JIRA_BASE_URL is not set on this server");
	return false;
}

static int q_jira_projects(const struct gql_resolve_info *info, const struct gql_value *parent,
			   struct gql_value *out)
{
	(void)parent;
	rq_of(info)->live = true; /* Jira's answer of the moment: never kept */
	if (!jira_configured(info))
		return -1;
	const char *query = gql_arg_str(info, "query");
	cJSON *arr = NULL;
	struct jira_error je = {0};
	if (jira_find_projects(jira_of(info), query ? query : "", &arr, &je) < 0)
		return jira_fail(info, &je);
	*out = from_json(info->exec, arr); /* [{key, name, id}]: property resolvers */
	cJSON_Delete(arr);
	return 0;
}

static int q_jira_users(const struct gql_resolve_info *info, const struct gql_value *parent,
			struct gql_value *out)
{
	(void)parent;
	rq_of(info)->live = true; /* Jira's answer of the moment: never kept */
	if (!jira_configured(info))
		return -1;
	const char *key = gql_arg_str(info, "projectKey");
	const char *query = gql_arg_str(info, "query");
	cJSON *arr = NULL;
	struct jira_error je = {0};
	if (jira_find_project_users(jira_of(info), key, query ? query : "", &arr, &je) < 0)
		return jira_fail(info, &je);
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	struct store_user_row *rows = gql_alloc(info->exec, sizeof *rows * (n ? n : 1));
	const cJSON *u;
	cJSON_ArrayForEach(u, arr)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "accountId");
		const cJSON *dn = cJSON_GetObjectItemCaseSensitive(u, "displayName");
		const cJSON *em = cJSON_GetObjectItemCaseSensitive(u, "emailAddress");
		if (!cJSON_IsString(id))
			continue;
		rows[i].account_id = gql_strdup(info->exec, id->valuestring);
		rows[i].display_name = cJSON_IsString(dn) ? gql_strdup(info->exec, dn->valuestring)
							  : NULL;
		rows[i].email = cJSON_IsString(em) ? gql_strdup(info->exec, em->valuestring) : NULL;
		rows[i++].active = true;
	}
	cJSON_Delete(arr);
	*out = ptr_list(info->exec, rows, i, sizeof *rows, "User");
	return 0;
}

/* ---- batch loaders ----------------------------------------------------------------- */
/* The int64 at offset off of every parent row. */
static int64_t *parent_ids(struct gql_exec *x, const struct gql_value *parents, size_t n,
			   size_t off)
{
	int64_t *ids = gql_alloc(x, sizeof *ids * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		if (parents[i].kind == GQL_V_PTR)
			memcpy(&ids[i], (const char *)parents[i].u.ptr + off, sizeof ids[i]);
	return ids;
}

/*
 * Give each parent the rows whose key (int64 at key_off) equals the parent's
 * id; rows are sorted by key. Binary search per parent: O(n log m).
 */
static void distribute(struct gql_exec *x, const int64_t *ids, size_t n, char *rows, size_t m,
		       size_t sz, size_t key_off, const char *type, struct gql_value *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = m;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int64_t k;
			memcpy(&k, rows + mid * sz + key_off, sizeof k);
			if (k < ids[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t end = lo;
		for (;;) {
			int64_t k;
			if (end >= m)
				break;
			memcpy(&k, rows + end * sz + key_off, sizeof k);
			if (k != ids[i])
				break;
			end++;
		}
		out[i] = ptr_list(x, rows + lo * sz, end - lo, sz, type);
	}
}

/*
 * Issue.comments and Issue.worklogs of one level: whichever runs first reads
 * the other's rows too when the parent selection has both (one round trip,
 * store_read_issue_children) and leaves them here for it. The other uses
 * them only for the very same issues and columns; otherwise (another alias,
 * issues dropped by a failed sibling) it reads its own.
 */
struct children_stash {
	bool comments; /* which kind the rows are */
	bool authors;
	unsigned skip;
	const int64_t *ids;
	size_t n;
	void *rows;
	size_t n_rows;
};

struct child_params {
	bool authors;
	unsigned skip;
};

static void child_params(const struct gql_resolve_info *info, bool comments, struct child_params *p)
{
	p->authors = gql_info_wants(info, "author");
	p->skip = comments ? skip_mask(info, "", comment_skips, JS_ARRAY_LEN(comment_skips))
			   : skip_mask(info, "", worklog_skips, JS_ARRAY_LEN(worklog_skips));
}

static int b_children(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out, bool comments)
{
	struct gql_admin_rq *rq = rq_of(info);
	int64_t *ids = parent_ids(info->exec, parents, n, offsetof(struct store_issue_row, id));
	struct child_params own, other;
	child_params(info, comments, &own);
	void *rows = NULL;
	size_t m = 0;
	char e[STORE_ERRLEN];
	struct children_stash *st = rq->children;
	struct gql_resolve_info sib;
	if (st && st->comments == comments && st->authors == own.authors && st->skip == own.skip &&
	    st->n == n && !memcmp(st->ids, ids, sizeof *ids * n)) {
		rows = st->rows;
		m = st->n_rows;
		rq->children = NULL;
	} else if (gql_info_sibling(info, comments ? "worklogs" : "comments", &sib)) {
		child_params(&sib, !comments, &other);
		const struct child_params *c = comments ? &own : &other,
					  *w = comments ? &other : &own;
		/* Authors asked for: the rows carry the user epoch, and b_user
		 * takes them from the thread's user cache. */
		struct store_children_query q = {.comment_skip = c->skip,
						 .worklog_skip = w->skip,
						 .epoch = c->authors || w->authors};
		struct store_comment_row *cr;
		struct store_worklog_row *wr;
		size_t nc, nw;
		if (store_read_issue_children(rq->db, rq->arena, ids, n, &q, &cr, &nc, &wr, &nw, e,
					      sizeof e) < 0)
			return db_fail(info, e);
		st = gql_alloc(info->exec, sizeof *st);
		*st = (struct children_stash){.comments = !comments,
					      .authors = other.authors,
					      .skip = other.skip,
					      .ids = ids,
					      .n = n,
					      .rows = comments ? (void *)wr : (void *)cr,
					      .n_rows = comments ? nw : nc};
		rq->children = st;
		rows = comments ? (void *)cr : (void *)wr;
		m = comments ? nc : nw;
		if (nc && cr[0].user_epoch >= 0)
			rq->user_epoch = cr[0].user_epoch;
		else if (nw && wr[0].user_epoch >= 0)
			rq->user_epoch = wr[0].user_epoch;
	} else if (comments) {
		struct store_comment_row *cr;
		if (store_read_issue_comments(rq->db, rq->arena, ids, n, own.authors, own.skip, &cr,
					      &m, e, sizeof e) < 0)
			return db_fail(info, e);
		rows = cr;
		if (m && cr[0].user_epoch >= 0)
			rq->user_epoch = cr[0].user_epoch;
	} else {
		struct store_worklog_row *wr;
		if (store_read_issue_worklogs(rq->db, rq->arena, ids, n, own.authors, own.skip, &wr,
					      &m, e, sizeof e) < 0)
			return db_fail(info, e);
		rows = wr;
		if (m && wr[0].user_epoch >= 0)
			rq->user_epoch = wr[0].user_epoch;
	}
	if (comments)
		distribute(info->exec, ids, n, rows, m, sizeof(struct store_comment_row),
			   offsetof(struct store_comment_row, issue_id), "Comment", out);
	else
		distribute(info->exec, ids, n, rows, m, sizeof(struct store_worklog_row),
			   offsetof(struct store_worklog_row, issue_id), "Worklog", out);
	return 0;
}

static int b_comments(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out)
{
	return b_children(info, parents, n, out, true);
}

static int b_worklogs(const struct gql_resolve_info *info, const struct gql_value *parents,
		      size_t n, struct gql_value *out)
{
	return b_children(info, parents, n, out, false);
}

static int b_sprints(const struct gql_resolve_info *info, const struct gql_value *parents, size_t n,
		     struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	int64_t *ids = parent_ids(info->exec, parents, n, offsetof(struct store_issue_row, id));
	struct store_sprint_row *rows;
	size_t m;
	char e[STORE_ERRLEN];
	if (store_read_issue_sprints(rq->db, rq->arena, ids, n, &rows, &m, e, sizeof e) < 0)
		return db_fail(info, e);
	distribute(info->exec, ids, n, (char *)rows, m, sizeof *rows,
		   offsetof(struct store_sprint_row, issue_id), "Sprint", out);
	return 0;
}

/* Issue.description / Issue.descriptionAdf: rows of a page do not carry the
 * description columns; one statement reads them for every issue that lacks
 * them. userdata: true for the ADF document. */
static int b_issue_text(const struct gql_resolve_info *info, const struct gql_value *parents,
			size_t n, struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	bool adf = *(const bool *)info->userdata;
	int64_t *ids = gql_alloc(info->exec, sizeof *ids * (n ? n : 1));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_issue_row *r = parents[i].kind == GQL_V_PTR ? parents[i].u.ptr : NULL;
		if (r && !r->has_texts)
			ids[k++] = r->id;
	}
	struct store_issue_text_row *rows = NULL;
	size_t m = 0;
	char e[STORE_ERRLEN];
	if (k && store_read_issue_texts(rq->db, rq->arena, ids, k, &rows, &m, e, sizeof e) < 0)
		return db_fail(info, e);
	for (size_t i = 0; i < n; i++) {
		struct store_issue_row *r = parents[i].kind == GQL_V_PTR ? parents[i].u.ptr : NULL;
		out[i] = gql_null();
		if (!r)
			continue;
		if (!r->has_texts) {
			for (size_t j = 0; j < m; j++)
				if (rows[j].id == r->id) {
					r->description = rows[j].description;
					r->description_adf = rows[j].description_adf;
				}
			/* has_texts stays false: the other field's loader fills it too. */
		}
		out[i] = adf ? json_text_value(info->exec, r->description_adf)
			     : gql_string(r->description);
	}
	return 0;
}

static const bool text_plain = false, text_adf = true;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct store_user_row *)a)->account_id,
		      ((const struct store_user_row *)b)->account_id);
}

/* Where a row keeps a user reference: the offset of its account id. */
struct uref {
	size_t id_off;
};

/*
 * A user reference of n parents. Parents read with the user epoch (pages,
 * comments, worklogs) take their users from the thread's cache, which reads
 * the ones it lacks in one statement; otherwise the distinct ids are read in
 * one statement.
 */
static int b_user(const struct gql_resolve_info *info, const struct gql_value *parents, size_t n,
		  struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	struct gql_exec *x = info->exec;
	const struct uref *u_ref = info->userdata;
	const char **ref = gql_alloc(x, sizeof *ref * (n ? n : 1));
	const char **ids = gql_alloc(x, sizeof *ids * (n ? n : 1));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (parents[i].kind != GQL_V_PTR)
			continue;
		const char *row = parents[i].u.ptr;
		memcpy(&ref[i], row + u_ref->id_off, sizeof ref[i]);
		if (ref[i])
			ids[k++] = ref[i];
	}
	char e[STORE_ERRLEN];
	if (rq->users && rq->user_epoch >= 0) {
		struct store_user_row *got = gql_alloc(x, sizeof *got * (k ? k : 1));
		if (k && store_users_cached(rq->db, rq->users, rq->user_epoch, rq->arena, ids, k,
					    got, e, sizeof e) < 0)
			return db_fail(info, e);
		size_t j = 0;
		for (size_t i = 0; i < n; i++)
			out[i] = ref[i] ? gql_ptr(&got[j++], "User") : gql_null();
		return 0;
	}
	qsort(ids, k, sizeof *ids, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || strcmp(ids[u - 1], ids[i]) != 0)
			ids[u++] = ids[i];
	struct store_user_row *rows = NULL;
	size_t m = 0;
	if (u && store_read_users(rq->db, rq->arena, ids, u, &rows, &m, e, sizeof e) < 0)
		return db_fail(info, e);
	if (m)
		qsort(rows, m, sizeof *rows, cmp_user);
	for (size_t i = 0; i < n; i++) {
		if (!ref[i]) {
			out[i] = gql_null();
			continue;
		}
		struct store_user_row key = {.account_id = ref[i]};
		struct store_user_row *f = m ? bsearch(&key, rows, m, sizeof *rows, cmp_user)
					     : NULL;
		if (!f) { /* not synced as a user row: what the reference says */
			f = gql_alloc(x, sizeof *f);
			f->account_id = ref[i];
			f->active = true;
		}
		out[i] = gql_ptr(f, "User");
	}
	return 0;
}

static const struct uref off_assignee = {offsetof(struct store_issue_row, assignee_id)};
static const struct uref off_reporter = {offsetof(struct store_issue_row, reporter_id)};
static const struct uref off_c_author = {offsetof(struct store_comment_row, author_id)};
static const struct uref off_c_update = {offsetof(struct store_comment_row, update_author_id)};
static const struct uref off_w_author = {offsetof(struct store_worklog_row, author_id)};

static int b_project_job(const struct gql_resolve_info *info, const struct gql_value *parents,
			 size_t n, struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	int64_t *ids = parent_ids(info->exec, parents, n, offsetof(struct store_project_row, id));
	struct store_job_row *rows;
	size_t m;
	char e[STORE_ERRLEN];
	if (store_read_jobs(rq->db, rq->arena, ids, n, &rows, &m, e, sizeof e) < 0)
		return db_fail(info, e);
	for (size_t i = 0; i < n; i++) {
		out[i] = gql_null();
		for (size_t j = 0; j < m; j++)
			if (rows[j].project_id == ids[i])
				out[i] = gql_ptr(&rows[j], "SyncJob");
	}
	return 0;
}

static int b_issue_count(const struct gql_resolve_info *info, const struct gql_value *parents,
			 size_t n, struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	int64_t *ids = parent_ids(info->exec, parents, n, offsetof(struct store_project_row, id));
	int64_t *counts = gql_alloc(info->exec, sizeof *counts * (n ? n : 1));
	char e[STORE_ERRLEN];
	if (store_read_issue_counts(rq->db, ids, n, counts, e, sizeof e) < 0)
		return db_fail(info, e);
	for (size_t i = 0; i < n; i++)
		out[i] = gql_int(counts[i]);
	return 0;
}

/* ---- mutations ------------------------------------------------------------------------ */
/*
 * Mutations call the scheduler's operations API (sched_*): it owns the
 * schedule rules; here only arguments are mapped and results shaped into
 * SyncJobResult {syncJob, run, outcome}.
 */
static struct sched_ctx sched_ctx_of(const struct gql_resolve_info *info)
{
	struct gql_admin_rq *rq = rq_of(info);
	if (rq->queue && rq->eng && !*rq->eng) {
		char e[256];
		*rq->eng = engine_connect(rq->queue, e, sizeof e);
		if (!*rq->eng) /* the reconciler enqueues the run's first task later */
			log_warn("graphql: no queue connection for mutations", "error", e);
	}
	struct sched_ctx c = {.db = rq->db, .engine = rq->eng ? *rq->eng : NULL, .cfg = rq->cfg};
	return c;
}

static int sched_fail(const struct gql_resolve_info *info, const struct sched_error *e)
{
	const char *code = e->code[0] ? e->code : "INTERNAL";
	if (!strcmp(code, "BAD_USER_INPUT") || !strcmp(code, "NOT_FOUND") ||
	    !strcmp(code, "CONFLICT")) {
		gql_fail(info, code, "%s", e->message);
	} else {
		log_error("graphql: schedule operation failed", "field", info->field_name, "code",
			  code, "error", e->message);
		gql_fail(info, code, "%s",
			 !strcmp(code, "DB_UNAVAILABLE") ? "the database is unavailable"
			 : !strcmp(code, "QUEUE_UNAVAILABLE")
				 ? "the queue is unavailable"
				 : "internal error (logged on the server)");
	}
	return -1;
}

/* The project key of the projectId argument (NOT_FOUND when unknown). */
static const char *project_key_arg(const struct gql_resolve_info *info)
{
	struct gql_admin_rq *rq = rq_of(info);
	int64_t pid;
	if (arg_id(info, "projectId", &pid) < 0)
		return NULL;
	struct store_project_row p;
	char e[STORE_ERRLEN];
	int rc = store_read_project(rq->db, rq->arena, pid, &p, e, sizeof e);
	if (rc < 0) {
		db_fail(info, e);
		return NULL;
	}
	if (rc == 1) {
		gql_fail(info, "NOT_FOUND", "no project with id %" PRId64, pid);
		return NULL;
	}
	return p.key;
}

/* [String!] argument into an arena array. */
static const char **arg_strings(const struct gql_resolve_info *info, const char *name, size_t *n)
{
	const struct gql_value *v = gql_arg(info, name);
	*n = 0;
	if (!v || v->kind != GQL_V_LIST)
		return NULL;
	const char **out = gql_alloc(info->exec, sizeof *out * (v->u.list.n ? v->u.list.n : 1));
	for (size_t i = 0; i < v->u.list.n; i++) {
		const struct gql_value *it = &v->u.list.items[i];
		if (it->kind != GQL_V_STRING)
			continue;
		char *s = gql_alloc(info->exec, it->u.str.len + 1);
		memcpy(s, it->u.str.s, it->u.str.len);
		out[(*n)++] = s;
	}
	return out;
}

/* SyncJobResult from what the operation returned (released here). */
static int shape_result(const struct gql_resolve_info *info, struct sched_result *r,
			struct gql_value *out)
{
	struct gql_admin_rq *rq = rq_of(info);
	struct gql_exec *x = info->exec;
	struct store_job_row *j = gql_alloc(x, sizeof *j);
	j->project_id = r->job.project_id;
	j->cron = gql_strdup(x, r->job.cron);
	j->effective_cron = gql_strdup(x, r->job.effective_cron);
	j->status = gql_strdup(x, r->job.status);
	j->pause_note = r->job.pause_note[0] ? gql_strdup(x, r->job.pause_note) : NULL;
	j->failure_streak = r->job.failure_streak;
	j->last_run_ms = r->job.last_run_ms;
	j->next_run_ms = r->job.next_run_ms;
	struct gql_value run = gql_null();
	int rc = 0;
	if (r->run_id) {
		struct store_run_row *row = gql_alloc(x, sizeof *row);
		char e[STORE_ERRLEN];
		int f = store_read_run(rq->db, rq->arena, r->run_id, row, e, sizeof e);
		if (f < 0)
			rc = db_fail(info, e);
		else if (f == 0)
			run = gql_ptr(row, "SyncRun");
	}
	if (rc == 0) {
		*out = gql_object_new(x, 3);
		out->u.obj.fields[0].name = "syncJob";
		out->u.obj.fields[0].value = gql_ptr(j, "SyncJob");
		out->u.obj.fields[1].name = "run";
		out->u.obj.fields[1].value = run;
		out->u.obj.fields[2].name = "outcome";
		out->u.obj.fields[2].value = gql_string(
			gql_strdup(x, r->outcome ? r->outcome : "updated"));
	}
	sched_result_release(r);
	return rc;
}

enum mop { OP_REGISTER, OP_START, OP_PAUSE, OP_RESUME, OP_RESCHEDULE, OP_TRIGGER, OP_TRACK };
static const enum mop mops[] = {OP_REGISTER,   OP_START,   OP_PAUSE, OP_RESUME,
				OP_RESCHEDULE, OP_TRIGGER, OP_TRACK};

static int m_schedule(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	(void)parent;
	enum mop op = *(const enum mop *)info->userdata;
	const char *key = op == OP_REGISTER ? gql_arg_str(info, "key") : project_key_arg(info);
	if (!key)
		return -1;
	struct sched_ctx c = sched_ctx_of(info);
	struct sched_result r;
	struct sched_error e;
	memset(&e, 0, sizeof e);
	memset(&r, 0, sizeof r);
	size_t n_ids = 0;
	const char **ids = arg_strings(info, "accountIds", &n_ids);
	const struct gql_value *full = gql_arg(info, "full");
	struct sched_trigger_opts t = {
		.full = full && full->kind == GQL_V_BOOL && full->u.b,
		.account_ids = ids,
		.n_account_ids = n_ids,
	};
	int rc = -1;
	switch (op) {
	case OP_REGISTER:
		rc = sched_register(&c, key, gql_arg_str(info, "cron"), &r, &e);
		break;
	case OP_START:
		rc = sched_start(&c, key, &t, &r, &e);
		break;
	case OP_PAUSE:
		rc = sched_pause(&c, key, gql_arg_str(info, "note"), &r, &e);
		break;
	case OP_RESUME:
		rc = sched_resume(&c, key, &r, &e);
		break;
	case OP_RESCHEDULE:
		rc = sched_reschedule(&c, key, gql_arg_str(info, "cron"), &r, &e);
		break;
	case OP_TRIGGER:
		rc = sched_trigger(&c, key, &t, &r, &e);
		break;
	case OP_TRACK:
		rc = sched_set_tracked(&c, key, ids, n_ids, &r, &e);
		break;
	}
	if (rc < 0)
		return sched_fail(info, &e);
	return shape_result(info, &r, out);
}

/* ---- binding ---------------------------------------------------------------------------- */
struct rbind {
	const char *coord;
	gql_resolve_fn fn;
	const void *userdata;
};
struct bbind {
	const char *coord;
	gql_batch_fn fn;
	const void *userdata;
};

static const struct rbind resolvers[] = {
	{"Query.projects", q_projects, NULL},
	{"Query.project", q_project, NULL},
	{"Query.issues", q_issues, NULL},
	{"Query.issue", q_issue, NULL},
	{"Query.sprints", q_project_list, &l_sprints},
	{"Query.jiraUsers", q_project_list, &l_users},
	{"Query.trackedUsers", q_project_list, &l_tracked},
	{"Query.syncJob", q_sync_job, NULL},
	{"Query.syncStates", q_project_list, &l_states},
	{"Query.syncLogs", q_sync_logs, NULL},
	{"Query.syncRuns", q_sync_runs, NULL},
	{"Query.jiraProjectOptions", q_jira_projects, NULL},
	{"Query.jiraProjectUserOptions", q_jira_users, NULL},
	{"IssueConnection.edges", conn_edges, NULL},
	{"IssueConnection.pageInfo", conn_page_info, NULL},
	{"IssueConnection.totalCount", conn_total, NULL},
	{"PageInfo.hasNextPage", page_has_next, NULL},
	{"PageInfo.endCursor", page_end_cursor, NULL},
	{"IssueEdge.cursor", edge_cursor, NULL},
	{"IssueEdge.node", edge_node, NULL},
	{"Mutation.registerProject", m_schedule, &mops[0]},
	{"Mutation.startProjectSync", m_schedule, &mops[1]},
	{"Mutation.pauseProjectSync", m_schedule, &mops[2]},
	{"Mutation.resumeProjectSync", m_schedule, &mops[3]},
	{"Mutation.rescheduleProjectSync", m_schedule, &mops[4]},
	{"Mutation.triggerProjectSync", m_schedule, &mops[5]},
	{"Mutation.setTrackedUsers", m_schedule, &mops[6]},
};

static const struct bbind batches[] = {
	{"Project.syncJob", b_project_job, NULL},
	{"Project.issueCount", b_issue_count, NULL},
	{"Issue.comments", b_comments, NULL},
	{"Issue.worklogs", b_worklogs, NULL},
	{"Issue.sprints", b_sprints, NULL},
	{"Issue.description", b_issue_text, &text_plain},
	{"Issue.descriptionAdf", b_issue_text, &text_adf},
	{"Issue.assignee", b_user, &off_assignee},
	{"Issue.reporter", b_user, &off_reporter},
	{"Comment.author", b_user, &off_c_author},
	{"Comment.updateAuthor", b_user, &off_c_update},
	{"Worklog.author", b_user, &off_w_author},
};

/* Plain objects built by resolvers: the default property resolver. */
static const char *const properties[] = {"JiraProjectOption.*", "SyncJobResult.*"};

int gql_admin_bind(struct gql_schema *s, char *err, size_t errlen)
{
	const char *missing = NULL;
	for (size_t i = 0; i < JS_ARRAY_LEN(leaves) && !missing; i++)
		if (gql_schema_bind(s, leaves[i].coord, r_leaf, (void *)&leaves[i]) < 0)
			missing = leaves[i].coord;
	for (size_t i = 0; i < JS_ARRAY_LEN(resolvers) && !missing; i++)
		if (gql_schema_bind(s, resolvers[i].coord, resolvers[i].fn,
				    (void *)resolvers[i].userdata) < 0)
			missing = resolvers[i].coord;
	for (size_t i = 0; i < JS_ARRAY_LEN(batches) && !missing; i++)
		if (gql_schema_bind_batch(s, batches[i].coord, batches[i].fn,
					  (void *)batches[i].userdata) < 0)
			missing = batches[i].coord;
	for (size_t i = 0; i < JS_ARRAY_LEN(properties) && !missing; i++)
		if (gql_schema_bind_property(s, properties[i]) < 0)
			missing = properties[i];
	if (missing) {
		snprintf(err, errlen, "the schema has no field %s that this build serves", missing);
		return -1;
	}
	return 0;
}
