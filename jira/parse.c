/*
 * Jira JSON -> the rows of a sync batch (common/model.h). Issues, their
 * embedded comments and worklogs, sprints and the users met on the way.
 * Strings are copied into the batch's arena, so the cJSON tree can be freed
 * right after. Cloud and Data Center differ in small ways handled here:
 * users are keyed by accountId (Cloud) or key/name (DC), rich text is ADF
 * (Cloud v3) or a wiki-markup string (DC), the sprint field holds objects
 * (Cloud) or greenhopper strings (DC). A missing required field or an
 * unreadable timestamp is SCHEMA_CHANGE and leaves the batch as it was.
 */
#include "common/common.h"
#include "jira/jira.h"

#include <ctype.h>
#include <cjson/cJSON.h>

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = GET(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Ids come as strings ("10032") in the core API and numbers in the agile
 * API; both accepted, range-checked. */
static int id_of(const cJSON *v, int64_t *out)
{
	if (cJSON_IsString(v)) {
		int64_t x;
		if (parse_i64(v->valuestring, &x) < 0 || x < 0)
			return -1;
		*out = x;
		return 0;
	}
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	return -1;
}

/* Optional timestamp: absent/null -> JS_TIME_NULL; present but unreadable
 * -> -1 (a format change we must not paper over). */
static int time_of(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *v = GET(o, k);
	if (!v || cJSON_IsNull(v)) {
		*out = JS_TIME_NULL;
		return 0;
	}
	if (!cJSON_IsString(v) || jtime_parse(v->valuestring, out) < 0)
		return -1;
	return 0;
}

/* Rolls a batch back to where a parse started when it fails. */
struct mark {
	size_t issues, comments, worklogs, users, sprints, c_over, w_over;
};

static void mark_take(const struct batch *b, struct mark *m)
{
	m->issues = b->issues.n;
	m->comments = b->comments.n;
	m->worklogs = b->worklogs.n;
	m->users = b->users.n;
	m->sprints = b->sprints.n;
	m->c_over = b->comment_overflow.n;
	m->w_over = b->worklog_overflow.n;
}

static void mark_restore(struct batch *b, const struct mark *m)
{
	b->issues.n = m->issues;
	b->comments.n = m->comments;
	b->worklogs.n = m->worklogs;
	b->users.n = m->users;
	b->sprints.n = m->sprints;
	b->comment_overflow.n = m->c_over;
	b->worklog_overflow.n = m->w_over;
}

/* A user object -> its id in the batch arena (NULL when absent), and the
 * user into the batch. Cloud: accountId. DC: key, else name. */
static const char *user_of(const cJSON *u, struct batch *b)
{
	if (!cJSON_IsObject(u))
		return NULL;
	const char *id = str_of(u, "accountId");
	if (!id || !*id)
		id = str_of(u, "key");
	if (!id || !*id)
		id = str_of(u, "name");
	if (!id || !*id)
		return NULL;
	const cJSON *active = GET(u, "active");
	struct user_row row = {
		.account_id = id,
		.display_name = str_of(u, "displayName"),
		.email = str_of(u, "emailAddress"),
		.time_zone = str_of(u, "timeZone"),
		.account_type = str_of(u, "accountType"),
		.active = !cJSON_IsBool(active) || cJSON_IsTrue(active),
	};
	return batch_add_user(b, &row);
}

/* Rich text: ADF object (text + raw JSON) or wiki string (text only). An
 * empty text is stored as NULL. */
static int rich_text(const cJSON *v, struct batch *b, const char **text, const char **adf)
{
	*text = NULL;
	*adf = NULL;
	if (cJSON_IsString(v)) {
		if (v->valuestring[0])
			*text = arena_strdup(&b->arena, v->valuestring);
		return 0;
	}
	if (!cJSON_IsObject(v))
		return 0;
	struct buf t;
	buf_init(&t, (size_t)64 << 20);
	int rc = jira_adf_to_text(v, &t);
	if (rc == 0 && t.len)
		*text = arena_strndup(&b->arena, t.data, t.len);
	buf_release(&t);
	if (rc < 0)
		return -1;
	char *raw = cJSON_PrintUnformatted(v);
	if (!raw)
		return -1;
	*adf = arena_strdup(&b->arena, raw);
	cJSON_free(raw);
	return 0;
}

static int fail(struct jira_error *err, const char *what, const char *where)
{
	jira_error_set(err, JIRA_SCHEMA_CHANGE, "unexpected Jira response: %s %s", what, where);
	return -1;
}

/* ---- comments and worklogs ------------------------------------------------ */

static int comment_row(const cJSON *c, int64_t issue_id, struct batch *b, struct jira_error *err)
{
	int64_t id;
	if (!cJSON_IsObject(c) || id_of(GET(c, "id"), &id) < 0)
		return fail(err, "comment without a numeric id", "");
	struct comment_row r = {.id = id, .issue_id = issue_id};
	char where[64];
	snprintf(where, sizeof where, "(comment %" PRId64 ")", id);
	if (time_of(c, "created", &r.created_ms) < 0 || time_of(c, "updated", &r.updated_ms) < 0)
		return fail(err, "unreadable timestamp", where);
	if (rich_text(GET(c, "body"), b, &r.body_text, &r.body_adf) < 0)
		return fail(err, "unreadable body", where);
	r.author_id = user_of(GET(c, "author"), b);
	r.update_author_id = user_of(GET(c, "updateAuthor"), b);
	*batch_add_comment(b) = r;
	return 0;
}

static int worklog_row(const cJSON *w, int64_t issue_id, struct batch *b, struct jira_error *err)
{
	int64_t id;
	if (!cJSON_IsObject(w) || id_of(GET(w, "id"), &id) < 0)
		return fail(err, "worklog without a numeric id", "");
	struct worklog_row r = {.id = id, .issue_id = issue_id};
	char where[64];
	snprintf(where, sizeof where, "(worklog %" PRId64 ")", id);
	if (time_of(w, "started", &r.started_ms) < 0 || time_of(w, "created", &r.created_ms) < 0 ||
	    time_of(w, "updated", &r.updated_ms) < 0)
		return fail(err, "unreadable timestamp", where);
	const cJSON *secs = GET(w, "timeSpentSeconds");
	if (cJSON_IsNumber(secs)) {
		if (secs->valuedouble < 0 || secs->valuedouble > 1e12)
			return fail(err, "timeSpentSeconds out of range", where);
		r.time_spent_seconds = (int64_t)secs->valuedouble;
	}
	if (rich_text(GET(w, "comment"), b, &r.comment_text, &r.comment_adf) < 0)
		return fail(err, "unreadable comment", where);
	r.author_id = user_of(GET(w, "author"), b);
	r.update_author_id = user_of(GET(w, "updateAuthor"), b);
	*batch_add_worklog(b) = r;
	return 0;
}

int jira_parse_comment(const struct cJSON *c, int64_t issue_id, struct batch *b,
		       struct jira_error *err)
{
	struct mark m;
	mark_take(b, &m);
	if (comment_row(c, issue_id, b, err) < 0) {
		mark_restore(b, &m);
		return -1;
	}
	return 0;
}

int jira_parse_worklog(const struct cJSON *w, int64_t issue_id, struct batch *b,
		       struct jira_error *err)
{
	struct mark m;
	mark_take(b, &m);
	if (worklog_row(w, issue_id, b, err) < 0) {
		mark_restore(b, &m);
		return -1;
	}
	return 0;
}

/* ---- sprints --------------------------------------------------------------- */

/* "...Sprint@77c19629[id=266,rapidViewId=174,state=CLOSED,name=A, B,...]":
 * the id after '[' or ','; field order varies by version and names may hold
 * commas, so nothing else is read from the string. */
static bool sprint_string_id(const char *s, int64_t *out)
{
	const char *p = strchr(s, '[');
	if (!p)
		return false;
	for (const char *q = p; (q = strstr(q, "id=")) != NULL; q += 3) {
		if (q[-1] != '[' && q[-1] != ',')
			continue;
		const char *d = q + 3;
		int64_t v = 0;
		int n = 0;
		while (isdigit((unsigned char)d[n]) && n < 18)
			v = v * 10 + (d[n++] - '0');
		if (n > 0 && (d[n] == ',' || d[n] == ']')) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool sprint_value_id(const cJSON *v, int64_t *out)
{
	if (cJSON_IsObject(v))
		return id_of(GET(v, "id"), out) == 0;
	if (cJSON_IsString(v))
		return sprint_string_id(v->valuestring, out);
	if (cJSON_IsNumber(v))
		return id_of(v, out) == 0;
	return false;
}

size_t jira_parse_sprint_field(const struct cJSON *v, int64_t *ids, size_t max_ids)
{
	size_t n = 0;
	int64_t id;
	if (cJSON_IsArray(v)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, v)
		{
			if (n >= max_ids || !sprint_value_id(e, &id))
				continue;
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= ids[i] == id;
			if (!dup)
				ids[n++] = id;
		}
	} else if (max_ids > 0 && sprint_value_id(v, &id)) {
		ids[n++] = id;
	}
	return n;
}

int jira_parse_sprint(const struct cJSON *s, struct batch *b, struct jira_error *err)
{
	int64_t id;
	if (!cJSON_IsObject(s) || id_of(GET(s, "id"), &id) < 0)
		return fail(err, "sprint without a numeric id", "");
	char where[64];
	snprintf(where, sizeof where, "(sprint %" PRId64 ")", id);
	const char *name = str_of(s, "name"), *state = str_of(s, "state");
	if (!name || !state)
		return fail(err, "sprint without name or state", where);
	struct sprint_row r = {.id = id, .board_id = 0};
	if (time_of(s, "startDate", &r.start_ms) < 0 || time_of(s, "endDate", &r.end_ms) < 0 ||
	    time_of(s, "completeDate", &r.complete_ms) < 0)
		return fail(err, "unreadable timestamp", where);
	int64_t board;
	if (id_of(GET(s, "originBoardId"), &board) == 0 || id_of(GET(s, "boardId"), &board) == 0)
		r.board_id = board;
	r.name = arena_strdup(&b->arena, name);
	r.state = arena_strdup(&b->arena, state);
	const char *goal = str_of(s, "goal");
	r.goal = goal ? arena_strdup(&b->arena, goal) : NULL; /* "" stays "" */
	*batch_add_sprint(b) = r;
	return 0;
}

/* ---- issues ---------------------------------------------------------------- */

/* Embedded comments/worklogs: complete iff total <= the number embedded.
 * Complete sets become rows; a truncated (or absent) set sends the issue id
 * to the overflow list and adds none of the partial rows. */
static int embedded(const cJSON *fields, const char *field, const char *list_key, int64_t issue_id,
		    struct batch *b, int *total_out, bool *complete_out, struct jira_error *err)
{
	const cJSON *holder = GET(fields, field);
	const cJSON *list = GET(holder, list_key);
	int which = field[0] == 'c' ? JS_IDS_COMMENT_OVERFLOW : JS_IDS_WORKLOG_OVERFLOW;
	if (!cJSON_IsObject(holder) || !cJSON_IsArray(list)) {
		*total_out = 0;
		*complete_out = false;
		batch_add_id(b, which, issue_id);
		return 0;
	}
	int n = cJSON_GetArraySize(list);
	const cJSON *t = GET(holder, "total");
	int total = n;
	if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 1e9)
		total = (int)t->valuedouble;
	*total_out = total;
	*complete_out = total <= n;
	if (!*complete_out) {
		batch_add_id(b, which, issue_id);
		return 0;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		int rc = which == JS_IDS_COMMENT_OVERFLOW ? comment_row(e, issue_id, b, err)
							  : worklog_row(e, issue_id, b, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const char *name_of(const cJSON *fields, const char *k, struct batch *b)
{
	return arena_strdup(&b->arena, str_of(GET(fields, k), "name"));
}

static int issue_rows(const cJSON *issue, const char *sprint_field, struct batch *b,
		      struct jira_error *err)
{
	int64_t id;
	if (!cJSON_IsObject(issue) || id_of(GET(issue, "id"), &id) < 0)
		return fail(err, "issue without a numeric id", "");
	const char *key = str_of(issue, "key");
	const cJSON *fields = GET(issue, "fields");
	char where[96];
	snprintf(where, sizeof where, "(issue %" PRId64 ")", id);
	if (!key || !*key)
		return fail(err, "issue without a key", where);
	if (!cJSON_IsObject(fields))
		return fail(err, "issue without fields", where);

	struct issue_row r = {.id = id, .resolved_ms = JS_TIME_NULL};
	if (time_of(fields, "updated", &r.updated_ms) < 0 || r.updated_ms == JS_TIME_NULL)
		return fail(err, "missing or unreadable fields.updated", where);
	if (time_of(fields, "created", &r.created_ms) < 0 ||
	    time_of(fields, "resolutiondate", &r.resolved_ms) < 0)
		return fail(err, "unreadable timestamp", where);

	r.key = arena_strdup(&b->arena, key);
	const char *pkey = str_of(GET(fields, "project"), "key");
	if (pkey)
		r.project_key = arena_strdup(&b->arena, pkey);
	else {
		const char *dash = strrchr(key, '-');
		r.project_key = dash ? arena_strndup(&b->arena, key, (size_t)(dash - key)) : NULL;
	}
	r.summary = arena_strdup(&b->arena, str_of(fields, "summary"));
	const cJSON *status = GET(fields, "status");
	r.status = arena_strdup(&b->arena, str_of(status, "name"));
	r.status_category = arena_strdup(&b->arena, str_of(GET(status, "statusCategory"), "key"));
	r.priority = name_of(fields, "priority", b);
	r.issue_type = name_of(fields, "issuetype", b);

	const cJSON *labels = GET(fields, "labels");
	if (cJSON_IsArray(labels)) {
		char *txt = cJSON_PrintUnformatted(labels);
		if (!txt)
			return fail(err, "unreadable labels", where);
		r.labels_json = arena_strdup(&b->arena, txt);
		cJSON_free(txt);
	} else {
		r.labels_json = arena_strdup(&b->arena, "[]");
	}
	if (rich_text(GET(fields, "description"), b, &r.description_text, &r.description_adf) < 0)
		return fail(err, "unreadable description", where);

	if (sprint_field) {
		const cJSON *sv = GET(fields, sprint_field);
		size_t cap = cJSON_IsArray(sv) ? (size_t)cJSON_GetArraySize(sv) : 1;
		if (cap > 0 && sv && !cJSON_IsNull(sv)) {
			int64_t *ids = arena_alloc(&b->arena, cap * sizeof *ids);
			r.n_sprint_ids = jira_parse_sprint_field(sv, ids, cap);
			r.sprint_ids = r.n_sprint_ids ? ids : NULL;
		}
	}

	r.assignee_id = user_of(GET(fields, "assignee"), b);
	r.reporter_id = user_of(GET(fields, "reporter"), b);
	if (embedded(fields, "comment", "comments", id, b, &r.comment_total, &r.comments_complete,
		     err) < 0 ||
	    embedded(fields, "worklog", "worklogs", id, b, &r.worklog_total, &r.worklogs_complete,
		     err) < 0)
		return -1;
	*batch_add_issue(b) = r;
	if (r.updated_ms > b->max_updated_ms)
		b->max_updated_ms = r.updated_ms;
	return 0;
}

int jira_parse_issue(const struct cJSON *issue, const char *sprint_field, struct batch *b,
		     struct jira_error *err)
{
	struct mark m;
	mark_take(b, &m);
	int64_t max_updated = b->max_updated_ms;
	if (issue_rows(issue, sprint_field, b, err) < 0) {
		mark_restore(b, &m);
		b->max_updated_ms = max_updated;
		return -1;
	}
	return 0;
}
