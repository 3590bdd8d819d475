/*
 * The Jira API calls the sync uses, on top of http.c: flavour and sprint
 * field discovery, the issue search (Cloud search/jql with nextPageToken;
 * Data Center search with a keyset cursor on `updated` so it never pages
 * past the 10,000-result window), id-only and count searches for
 * reconciliation, per-issue comment and worklog paging, the worklog deletion
 * feed, agile boards and sprints, and the admin look-ups. Every value put in
 * a query string is escaped; every JQL comes from jira_jql_build.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common/common.h"
#include "jira/jira.h"
#include "jira/jira_int.h"

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

#define DC_WINDOW 10000 /* jira.search.platform.max.result.window */
#define CLOUD_IDS_PAGE 5000
#define DC_IDS_PAGE 1000
#define COMMENT_PAGE 100
#define WORKLOG_PAGE 5000
#define AGILE_PAGE 50
#define MAX_LOOP_PAGES 100000 /* a guard against a server that never ends */

static const char *const issue_fields[] = {
	"summary", "status",         "priority", "issuetype",   "assignee", "reporter", "created",
	"updated", "resolutiondate", "labels",   "description", "comment",  "worklog",
};

static const char *api_ver(const struct jira_client *c)
{
	return c->flavour == JIRA_FLAVOUR_CLOUD ? "3" : "2";
}

static bool num_in(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi;
}

static int64_t id_value(const cJSON *v)
{
	int64_t x;
	if (cJSON_IsString(v) && parse_i64(v->valuestring, &x) == 0 && x >= 0)
		return x;
	if (num_in(v, 0, 9007199254740991.0))
		return (int64_t)v->valuedouble;
	return -1;
}

/* Adds the requests and bytes since *before to the batch's counters. */
static void account(struct jira_client *c, const struct jira_stats *before, struct batch *b)
{
	if (!b)
		return;
	b->requests += (int)(c->stats.requests - before->requests);
	b->bytes += (size_t)(c->stats.bytes - before->bytes);
}

/* ---- preparation --------------------------------------------------------- */

int jira_prepare(struct jira_client *c, struct jira_error *err)
{
	cJSON *info = NULL, *fields = NULL;
	int rc = -1;
	enum jira_flavour fl = c->flavour;
	if (fl == JIRA_FLAVOUR_AUTO) {
		/* v2 answers on both flavours; a Cloud proxy or gateway that
		 * only exposes v3 gets a second chance. */
		if (jira_http_json(c, "GET", "/rest/api/2/serverInfo", NULL, &info, err) < 0) {
			if (err->code != JIRA_NOT_FOUND ||
			    jira_http_json(c, "GET", "/rest/api/3/serverInfo", NULL, &info, err) <
				    0)
				goto out;
		}
		const cJSON *dt = GET(info, "deploymentType");
		fl = cJSON_IsString(dt) && strcmp(dt->valuestring, "Cloud") == 0
			     ? JIRA_FLAVOUR_CLOUD
			     : JIRA_FLAVOUR_DC;
	}
	const char *target = fl == JIRA_FLAVOUR_CLOUD ? "/rest/api/3/field" : "/rest/api/2/field";
	if (jira_http_json(c, "GET", target, NULL, &fields, err) < 0)
		goto out;
	if (!cJSON_IsArray(fields)) {
		jira_schema_error(err, "GET", target, "expected an array of fields");
		goto out;
	}
	char *sprint = NULL;
	const cJSON *f;
	cJSON_ArrayForEach(f, fields)
	{
		const cJSON *custom = GET(GET(f, "schema"), "custom");
		const cJSON *id = GET(f, "id");
		if (cJSON_IsString(custom) && cJSON_IsString(id) &&
		    strcmp(custom->valuestring, "com.pyxis.greenhopper.jira:gh-sprint") == 0) {
			sprint = xstrdup(id->valuestring);
			break;
		}
	}
	free(c->sprint_field);
	c->sprint_field = sprint;
	c->flavour = fl;
	c->prepared = true;
	rc = 0;
out:
	cJSON_Delete(info);
	cJSON_Delete(fields);
	return rc;
}

static int ensure_prepared(struct jira_client *c, struct jira_error *err)
{
	return c->prepared ? 0 : jira_prepare(c, err);
}

enum jira_flavour jira_flavour_of(const struct jira_client *c)
{
	return c->flavour;
}

const char *jira_sprint_field(const struct jira_client *c)
{
	return c->sprint_field;
}

/* ---- search ---------------------------------------------------------------- */

static int jql_or_fail(const struct jira_query *q, bool order, struct buf *jql,
		       struct jira_error *err)
{
	char msg[256];
	if (jira_jql_build(q, order, jql, msg, sizeof msg) < 0) {
		jira_error_set(err, JIRA_CONFIG_ERROR, "cannot build the search: %s", msg);
		return -1;
	}
	return 0;
}

static cJSON *search_body(struct jira_client *c, const char *jql, bool ids_only, long max_results)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "jql", jql);
	cJSON_AddNumberToObject(body, "maxResults", (double)max_results);
	cJSON *fields = cJSON_AddArrayToObject(body, "fields");
	if (ids_only) {
		/* The DC keyset needs `updated`; Cloud pages by token. */
		cJSON_AddItemToArray(
			fields,
			cJSON_CreateString(c->flavour == JIRA_FLAVOUR_CLOUD ? "id" : "updated"));
	} else {
		for (size_t i = 0; i < JS_ARRAY_LEN(issue_fields); i++)
			cJSON_AddItemToArray(fields, cJSON_CreateString(issue_fields[i]));
		if (c->sprint_field)
			cJSON_AddItemToArray(fields, cJSON_CreateString(c->sprint_field));
	}
	return body;
}

/* One post of a search body; *resp on success, issues checked. */
static int post_search(struct jira_client *c, const char *target, cJSON *body, cJSON **resp,
		       const cJSON **issues, struct jira_error *err)
{
	char *text = cJSON_PrintUnformatted(body);
	int rc = jira_http_json(c, "POST", target, text, resp, err);
	cJSON_free(text);
	if (rc < 0)
		return -1;
	*issues = GET(*resp, "issues");
	if (!cJSON_IsArray(*issues)) {
		jira_schema_error(err, "POST", target, "no \"issues\" array");
		cJSON_Delete(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

/* Takes one issue of a page: rows (or just its id) into b. */
static int take_issue(struct jira_client *c, const cJSON *issue, bool ids_only, struct batch *b,
		      struct jira_error *err)
{
	if (!ids_only)
		return jira_parse_issue(issue, c->sprint_field, b, err);
	int64_t id = id_value(GET(issue, "id"));
	if (id < 0) {
		jira_error_set(err, JIRA_SCHEMA_CHANGE,
			       "unexpected Jira response: issue without a numeric id");
		return -1;
	}
	batch_add_id(b, JS_IDS_DELETED, id);
	return 0;
}

static int search_cloud(struct jira_client *c, const struct jira_query *q, bool ids_only,
			char **cursor, struct batch *b, struct jira_error *err)
{
	static const char target[] = "/rest/api/3/search/jql";
	struct buf jql;
	buf_init(&jql, 1 << 20);
	cJSON *body = NULL, *resp = NULL;
	const cJSON *issues;
	char *next = NULL;
	int rc = -1;
	if (jql_or_fail(q, true, &jql, err) < 0)
		goto out;
	body = search_body(c, jql.data, ids_only, ids_only ? CLOUD_IDS_PAGE : c->page_size);
	if (*cursor && **cursor)
		cJSON_AddStringToObject(body, "nextPageToken", *cursor);
	if (post_search(c, target, body, &resp, &issues, err) < 0)
		goto out;
	struct mark_t {
		size_t issues, users, comments, worklogs, ids, c_over, w_over;
		int64_t max_updated;
	} m = {b->issues.n,           b->users.n,       b->comments.n,
	       b->worklogs.n,         b->deleted_ids.n, b->comment_overflow.n,
	       b->worklog_overflow.n, b->max_updated_ms};
	const cJSON *issue;
	cJSON_ArrayForEach(issue, issues)
	{
		if (take_issue(c, issue, ids_only, b, err) < 0) {
			b->issues.n = m.issues;
			b->users.n = m.users;
			b->comments.n = m.comments;
			b->worklogs.n = m.worklogs;
			b->deleted_ids.n = m.ids;
			b->comment_overflow.n = m.c_over;
			b->worklog_overflow.n = m.w_over;
			b->max_updated_ms = m.max_updated;
			goto out;
		}
	}
	const cJSON *is_last = GET(resp, "isLast");
	const cJSON *token = GET(resp, "nextPageToken");
	if (!cJSON_IsTrue(is_last) && cJSON_IsString(token) && token->valuestring[0]) {
		if (cJSON_GetArraySize(issues) == 0) {
			log_warn(
				"jira search returned an empty page with a next page token; treating it as the last page",
				"project", q->project_key);
		} else if (*cursor && strcmp(*cursor, token->valuestring) == 0) {
			log_warn(
				"jira search returned the same page token twice; treating it as the last page",
				"project", q->project_key);
		} else {
			next = xstrdup(token->valuestring);
		}
	}
	*cursor = next;
	rc = 0;
out:
	buf_release(&jql);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	return rc;
}

/*
 * Data Center keyset cursor: "dc:<T>:<S>:<id>,<id>,..." where T is the
 * lower bound on `updated` for the next query (updated >= T; "" before the
 * first page), S the startAt within that query, and the ids those already
 * taken whose updated equals T (skipped when met again: the boundary is
 * inclusive). Normally S is 0 and T moves to the last updated of each page;
 * only when a whole page shares one updated value does S grow, and it never
 * passes the 10,000-result window.
 */
struct dc_cursor {
	int64_t t; /* JS_TIME_NULL: none */
	long s;
	int64_t *seen;
	size_t n_seen;
};

static int dc_cursor_parse(const char *s, struct dc_cursor *cur)
{
	memset(cur, 0, sizeof *cur);
	cur->t = JS_TIME_NULL;
	if (!s || !*s)
		return 0;
	if (strncmp(s, "dc:", 3) != 0)
		return -1;
	const char *p = s + 3;
	char *end;
	if (*p != ':') {
		errno = 0;
		long long t = strtoll(p, &end, 10);
		if (errno || end == p || *end != ':')
			return -1;
		cur->t = t;
		p = end;
	}
	p++;
	errno = 0;
	long st = strtol(p, &end, 10);
	if (errno || end == p || *end != ':' || st < 0 || st > DC_WINDOW)
		return -1;
	cur->s = st;
	p = end + 1;
	size_t cap = 0;
	while (*p) {
		errno = 0;
		long long id = strtoll(p, &end, 10);
		if (errno || end == p || id < 0 || (*end && *end != ','))
			goto bad;
		if (cur->n_seen == cap) {
			cap = cap ? cap * 2 : 16;
			cur->seen = xrealloc(cur->seen, cap * sizeof *cur->seen);
		}
		cur->seen[cur->n_seen++] = id;
		p = *end ? end + 1 : end;
	}
	return 0;
bad:
	free(cur->seen);
	cur->seen = NULL;
	cur->n_seen = 0;
	return -1;
}

static char *dc_cursor_format(const struct dc_cursor *cur)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_puts(&b, "dc:");
	if (cur->t != JS_TIME_NULL)
		rc |= buf_printf(&b, "%" PRId64, cur->t);
	rc |= buf_printf(&b, ":%ld:", cur->s);
	for (size_t i = 0; i < cur->n_seen; i++)
		rc |= buf_printf(&b, "%s%" PRId64, i ? "," : "", cur->seen[i]);
	(void)rc; /* 1 GiB default max: cannot overflow for <= 1000 ids */
	return buf_detach(&b);
}

static bool seen_has(const struct dc_cursor *cur, int64_t id)
{
	for (size_t i = 0; i < cur->n_seen; i++)
		if (cur->seen[i] == id)
			return true;
	return false;
}

static int64_t issue_updated(const cJSON *issue)
{
	const cJSON *u = GET(GET(issue, "fields"), "updated");
	int64_t ms;
	if (!cJSON_IsString(u) || jtime_parse(u->valuestring, &ms) < 0)
		return JS_TIME_NULL;
	return ms;
}

static int search_dc(struct jira_client *c, const struct jira_query *q, bool ids_only,
		     char **cursor, struct batch *b, struct jira_error *err)
{
	static const char target[] = "/rest/api/2/search";
	struct dc_cursor cur, next = {JS_TIME_NULL, 0, NULL, 0};
	struct buf jql;
	buf_init(&jql, 1 << 20);
	cJSON *body = NULL, *resp = NULL;
	const cJSON *issues;
	int rc = -1;
	long page = ids_only ? DC_IDS_PAGE : c->page_size;
	if (dc_cursor_parse(*cursor, &cur) < 0) {
		jira_error_set(err, JIRA_INTERNAL, "invalid Data Center search cursor");
		return -1;
	}
	struct jira_query qq = *q;
	if (cur.t != JS_TIME_NULL &&
	    (qq.updated_since_ms == JS_TIME_NULL || cur.t > qq.updated_since_ms))
		qq.updated_since_ms = cur.t;
	if (jql_or_fail(&qq, true, &jql, err) < 0)
		goto out;
	body = search_body(c, jql.data, ids_only, page);
	cJSON_AddNumberToObject(body, "startAt", (double)cur.s);
	if (post_search(c, target, body, &resp, &issues, err) < 0)
		goto out;

	size_t m_issues = b->issues.n, m_users = b->users.n, m_comments = b->comments.n;
	size_t m_worklogs = b->worklogs.n, m_ids = b->deleted_ids.n;
	size_t c_over = b->comment_overflow.n, w_over = b->worklog_overflow.n;
	int64_t m_max = b->max_updated_ms;
	int n = cJSON_GetArraySize(issues);
	int64_t last = JS_TIME_NULL;
	const cJSON *issue;
	cJSON_ArrayForEach(issue, issues)
	{
		int64_t id = id_value(GET(issue, "id"));
		int64_t u = issue_updated(issue);
		if (id < 0 || u == JS_TIME_NULL) {
			jira_error_set(
				err, JIRA_SCHEMA_CHANGE,
				"unexpected Jira response: POST %s: issue without id or fields.updated",
				target);
			goto rollback;
		}
		last = u;
		/* Already taken: before the boundary (a server that rounds the
		 * bound down) or at it and seen on the previous page. */
		if (cur.t != JS_TIME_NULL && (u < cur.t || (u == cur.t && seen_has(&cur, id))))
			continue;
		if (take_issue(c, issue, ids_only, b, err) < 0)
			goto rollback;
	}

	const cJSON *total = GET(resp, "total");
	const cJSON *max_results = GET(resp, "maxResults");
	long served = num_in(max_results, 1, 1e9) ? (long)max_results->valuedouble : page;
	bool done = n == 0;
	if (!done && num_in(total, 0, 1e12))
		done = cur.s + n >= (long)total->valuedouble;
	else if (!done)
		done = n < served;
	if (done) {
		*cursor = NULL;
		rc = 0;
		goto out;
	}
	size_t cap = (size_t)n + cur.n_seen;
	next.seen = xmalloc(cap * sizeof *next.seen);
	if (last > cur.t || cur.t == JS_TIME_NULL) {
		/* Restart the query at the last updated value of the page. */
		next.t = last;
		next.s = 0;
		cJSON_ArrayForEach(issue, issues)
		{
			if (issue_updated(issue) == last)
				next.seen[next.n_seen++] = id_value(GET(issue, "id"));
		}
	} else {
		/* The whole page shares updated = T: offsets within T. */
		next.t = cur.t;
		next.s = cur.s + n;
		for (size_t i = 0; i < cur.n_seen; i++)
			next.seen[next.n_seen++] = cur.seen[i];
		cJSON_ArrayForEach(issue, issues)
		{
			int64_t id = id_value(GET(issue, "id"));
			if (issue_updated(issue) == cur.t && !seen_has(&cur, id))
				next.seen[next.n_seen++] = id;
		}
		/* Keep the cursor bounded: the newest ids are the ones that
		 * matter at the offset boundary. */
		if (next.n_seen > 1000) {
			memmove(next.seen, next.seen + (next.n_seen - 1000),
				1000 * sizeof *next.seen);
			next.n_seen = 1000;
		}
		if (next.s + served > DC_WINDOW) {
			jira_error_set(err, JIRA_INVALID_QUERY,
				       "POST %s: more than %d issues share updated = %" PRId64
				       "; cannot page them within the search window",
				       target, DC_WINDOW - (int)served, cur.t);
			goto rollback;
		}
	}
	*cursor = dc_cursor_format(&next);
	rc = 0;
	goto out;
rollback:
	b->issues.n = m_issues;
	b->users.n = m_users;
	b->comments.n = m_comments;
	b->worklogs.n = m_worklogs;
	b->deleted_ids.n = m_ids;
	b->comment_overflow.n = c_over;
	b->worklog_overflow.n = w_over;
	b->max_updated_ms = m_max;
out:
	free(cur.seen);
	free(next.seen);
	buf_release(&jql);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	return rc;
}

static int search(struct jira_client *c, const struct jira_query *q, bool ids_only, char **cursor,
		  struct batch *b, struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct jira_stats before = c->stats;
	char *cur = *cursor;
	jm_enter(c->jm);
	int rc = c->flavour == JIRA_FLAVOUR_CLOUD ? search_cloud(c, q, ids_only, &cur, b, err)
						  : search_dc(c, q, ids_only, &cur, b, err);
	jm_leave(c->jm);
	account(c, &before, b);
	if (rc == 0)
		*cursor = cur;
	return rc;
}

int jira_search_page(struct jira_client *c, const struct jira_query *q, char **cursor,
		     struct batch *b, struct jira_error *err)
{
	return search(c, q, q->ids_only, cursor, b, err);
}

int jira_search_ids(struct jira_client *c, const struct jira_query *q, char **cursor,
		    struct batch *b, struct jira_error *err)
{
	return search(c, q, true, cursor, b, err);
}

int jira_count(struct jira_client *c, const struct jira_query *q, int64_t *count,
	       struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct buf jql;
	buf_init(&jql, 1 << 20);
	cJSON *body = cJSON_CreateObject(), *resp = NULL;
	char *text = NULL;
	int rc = -1;
	bool cloud = c->flavour == JIRA_FLAVOUR_CLOUD;
	const char *target = cloud ? "/rest/api/3/search/approximate-count" : "/rest/api/2/search";
	if (jql_or_fail(q, false, &jql, err) < 0)
		goto out;
	cJSON_AddStringToObject(body, "jql", jql.data);
	if (!cloud) {
		cJSON_AddNumberToObject(body, "maxResults", 0);
		cJSON *f = cJSON_AddArrayToObject(body, "fields");
		cJSON_AddItemToArray(f, cJSON_CreateString("id"));
	}
	text = cJSON_PrintUnformatted(body);
	if (jira_http_json(c, "POST", target, text, &resp, err) < 0)
		goto out;
	const cJSON *n = GET(resp, cloud ? "count" : "total");
	if (!num_in(n, 0, 1e15)) {
		jira_schema_error(err, "POST", target, cloud ? "no \"count\"" : "no \"total\"");
		goto out;
	}
	*count = (int64_t)n->valuedouble;
	rc = 0;
out:
	cJSON_free(text);
	cJSON_Delete(body);
	cJSON_Delete(resp);
	buf_release(&jql);
	return rc;
}

/* ---- per-issue comments and worklogs ---------------------------------------- */

/* Drop the rows a failed comment / worklog read added to b. */
static void children_restore(struct batch *b, bool comments, size_t m_rows, size_t m_users)
{
	if (comments)
		b->comments.n = m_rows;
	else
		b->worklogs.n = m_rows;
	b->users.n = m_users;
}

static int issue_children(struct jira_client *c, int64_t issue_id, bool comments, struct batch *b,
			  struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct jira_stats before = c->stats;
	size_t m_rows = comments ? b->comments.n : b->worklogs.n, m_users = b->users.n;
	const char *list_key = comments ? "comments" : "worklogs";
	long page = comments ? COMMENT_PAGE : WORKLOG_PAGE;
	long start = 0;
	int rc = -1;
	struct buf target;
	buf_init(&target, 4096);
	for (int pages = 0; pages < MAX_LOOP_PAGES; pages++) {
		cJSON *resp = NULL;
		buf_reset(&target);
		if (buf_printf(&target,
			       "/rest/api/%s/issue/%" PRId64 "/%s?startAt=%ld&maxResults=%ld%s",
			       api_ver(c), issue_id, comments ? "comment" : "worklog", start, page,
			       comments && c->flavour == JIRA_FLAVOUR_CLOUD ? "&orderBy=created"
									    : "") < 0) {
			jira_error_set(err, JIRA_INTERNAL, "URL too long");
			goto out;
		}
		if (jira_http_json(c, "GET", target.data, NULL, &resp, err) < 0)
			goto out;
		const cJSON *list = GET(resp, list_key);
		if (!cJSON_IsArray(list)) {
			jira_schema_error(err, "GET", target.data,
					  comments ? "no \"comments\" array"
						   : "no \"worklogs\" array");
			cJSON_Delete(resp);
			goto out;
		}
		const cJSON *e;
		cJSON_ArrayForEach(e, list)
		{
			int prc = comments ? jira_parse_comment(e, issue_id, b, err)
					   : jira_parse_worklog(e, issue_id, b, err);
			if (prc < 0) {
				cJSON_Delete(resp);
				goto out;
			}
		}
		int n = cJSON_GetArraySize(list);
		const cJSON *total = GET(resp, "total");
		start += n;
		bool done = n == 0 ||
			    (num_in(total, 0, 1e12) ? start >= (long)total->valuedouble : n < page);
		cJSON_Delete(resp);
		if (done) {
			rc = 0;
			goto out;
		}
	}
	jira_error_set(err, JIRA_INTERNAL, "issue %" PRId64 ": too many pages", issue_id);
out:
	if (rc < 0)
		children_restore(b, comments, m_rows, m_users);
	account(c, &before, b);
	buf_release(&target);
	return rc;
}

int jira_issue_comments(struct jira_client *c, int64_t issue_id, struct batch *b,
			struct jira_error *err)
{
	jm_enter(c->jm);
	int rc = issue_children(c, issue_id, true, b, err);
	jm_leave(c->jm);
	return rc;
}

int jira_issue_worklogs(struct jira_client *c, int64_t issue_id, struct batch *b,
			struct jira_error *err)
{
	jm_enter(c->jm);
	int rc = issue_children(c, issue_id, false, b, err);
	jm_leave(c->jm);
	return rc;
}

/* ---- many issues' sets, several requests in flight ---------------------------- */

struct fan {
	bool comments;
	const int64_t *ids;
	size_t n;
	atomic_size_t next; /* the next index of ids to read */
	/* Per index of ids: the outcome (0 read, 1 gone, -1 failed), which
	 * worker read it and the rows it added to that worker's batch; 2
	 * until read. */
	int *status;
	int *worker;
	size_t *from, *to;
	struct jira_error *errs;
};

struct fan_worker {
	struct fan *f;
	struct jira_client *c;
	int index;
	struct batch b;
	pthread_t thread;
	bool started;
};

static void *fan_main(void *arg)
{
	struct fan_worker *fw = arg;
	struct fan *f = fw->f;
	for (;;) {
		size_t i = atomic_fetch_add(&f->next, 1);
		if (i >= f->n)
			break;
		size_t before = f->comments ? fw->b.comments.n : fw->b.worklogs.n;
		jm_enter(fw->c->jm);
		int rc = issue_children(fw->c, f->ids[i], f->comments, &fw->b, &f->errs[i]);
		jm_leave(fw->c->jm);
		f->worker[i] = fw->index;
		f->from[i] = before;
		f->to[i] = f->comments ? fw->b.comments.n : fw->b.worklogs.n;
		f->status[i] = rc == 0 ? 0 : f->errs[i].code == JIRA_NOT_FOUND ? 1 : -1;
		if (f->status[i] < 0) /* no new work after a failure */
			atomic_store(&f->next, f->n);
	}
	return NULL;
}

int jira_issue_children_many(struct jira_client *c, bool comments, const int64_t *ids, size_t n,
			     struct batch *b, int64_t *done, size_t *n_done, struct jira_error *err)
{
	*n_done = 0;
	if (n == 0)
		return 0;
	/* The copies start from what this client knows of the site. */
	if (ensure_prepared(c, err) < 0)
		return -1;
	size_t k = (size_t)c->parallel < n ? (size_t)c->parallel : n;
	while ((size_t)c->n_copies + 1 < k) {
		struct jira_client *copy = jira_client_copy(c);
		if (!copy)
			break; /* fewer in flight, not a failure */
		c->copies[c->n_copies++] = copy;
	}
	if (k > (size_t)c->n_copies + 1)
		k = (size_t)c->n_copies + 1;
	struct fan f = {.comments = comments, .ids = ids, .n = n};
	atomic_init(&f.next, 0);
	f.status = xcalloc(n, sizeof *f.status);
	f.worker = xcalloc(n, sizeof *f.worker);
	f.from = xcalloc(n, sizeof *f.from);
	f.to = xcalloc(n, sizeof *f.to);
	f.errs = xcalloc(n, sizeof *f.errs);
	for (size_t i = 0; i < n; i++)
		f.status[i] = 2; /* not read */
	struct fan_worker *w = xcalloc(k, sizeof *w);
	for (size_t i = 0; i < k; i++) {
		w[i] = (struct fan_worker){.f = &f, .c = i ? c->copies[i - 1] : c, .index = (int)i};
		batch_init(&w[i].b);
	}
	/* This thread is worker 0; the others run beside it. */
	for (size_t i = 1; i < k; i++)
		w[i].started = pthread_create(&w[i].thread, NULL, fan_main, &w[i]) == 0;
	fan_main(&w[0]);
	for (size_t i = 1; i < k; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	/* Indexes are taken in order and each one taken is read to the end, so
	 * only a failure leaves some unread (a worker that could not start
	 * left its share to the others). */
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (f.status[i] < 0) {
			*err = f.errs[i];
			rc = -1;
		}
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			if (f.status[i] != 0)
				continue;
			batch_move_children(b, &w[f.worker[i]].b, comments, f.from[i], f.to[i]);
			done[(*n_done)++] = ids[i];
		}
		/* The rows point into the workers' arenas: b takes them over. */
		for (size_t i = 0; i < k; i++) {
			for (size_t u = 0; u < w[i].b.users.n; u++)
				(void)batch_add_user(b, &w[i].b.users.v[u]);
			b->requests += w[i].b.requests;
			b->bytes += w[i].b.bytes;
			arena_adopt(&b->arena, &w[i].b.arena);
		}
	}
	for (size_t i = 0; i < k; i++)
		batch_release(&w[i].b);
	free(w);
	free(f.status);
	free(f.worker);
	free(f.from);
	free(f.to);
	free(f.errs);
	return rc;
}

/* ---- known comments and worklogs re-read by id -------------------------------- */

int jira_children_by_ids(struct jira_client *c, bool comments, const int64_t *ids,
			 const int64_t *issue_ids, size_t n, struct batch *b,
			 struct jira_error *err)
{
	if (n == 0 || n > JIRA_LIST_IDS_MAX) {
		jira_error_set(err, JIRA_INTERNAL, "between 1 and %d ids per list request",
			       JIRA_LIST_IDS_MAX);
		return -1;
	}
	if (ensure_prepared(c, err) < 0)
		return -1;
	jm_enter(c->jm);
	struct jira_stats before = c->stats;
	size_t m_rows = comments ? b->comments.n : b->worklogs.n, m_users = b->users.n;
	char target[64];
	snprintf(target, sizeof target, "/rest/api/%s/%s/list", api_ver(c),
		 comments ? "comment" : "worklog");
	int rc = -1;
	cJSON *resp = NULL;
	struct buf body;
	buf_init(&body, 0);
	int enc = buf_puts(&body, "{\"ids\":[");
	char tmp[24];
	for (size_t i = 0; i < n; i++)
		enc |= buf_printf(&body, "%s%s", i ? "," : "", fmt_i64(tmp, ids[i]));
	enc |= buf_puts(&body, "]}");
	if (enc < 0) {
		jira_error_set(err, JIRA_INTERNAL, "list request too large");
		goto out;
	}
	if (jira_http_json(c, "POST", target, body.data, &resp, err) < 0)
		goto out;
	/* Comments come in a page envelope, worklogs as a bare array. */
	const cJSON *list = comments ? GET(resp, "values") : resp;
	if (!cJSON_IsArray(list)) {
		jira_schema_error(err, "POST", target,
				  comments ? "no \"values\" array" : "not an array");
		goto out;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		int64_t id = id_value(GET(e, "id"));
		/* The issue a row belongs to is the one we hold it under; a row
		 * we did not ask for is left out. */
		size_t k = 0;
		while (k < n && ids[k] != id)
			k++;
		if (k == n)
			continue;
		int prc = comments ? jira_parse_comment(e, issue_ids[k], b, err)
				   : jira_parse_worklog(e, issue_ids[k], b, err);
		if (prc < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		children_restore(b, comments, m_rows, m_users);
	cJSON_Delete(resp);
	buf_release(&body);
	account(c, &before, b);
	jm_leave(c->jm);
	return rc;
}

/* ---- worklog deletions ------------------------------------------------------- */

int jira_worklogs_deleted(struct jira_client *c, int64_t since_ms, int max_pages, struct batch *b,
			  int64_t *until_ms, struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct jira_stats before = c->stats;
	size_t m_ids = b->deleted_ids.n;
	int64_t since = since_ms < 0 ? 0 : since_ms, until = since;
	int rc = -1;
	char target[128];
	if (max_pages <= 0)
		max_pages = 1;
	for (int pages = 0; pages < max_pages; pages++) {
		cJSON *resp = NULL;
		snprintf(target, sizeof target, "/rest/api/%s/worklog/deleted?since=%" PRId64,
			 api_ver(c), since);
		if (jira_http_json(c, "GET", target, NULL, &resp, err) < 0)
			goto out;
		const cJSON *values = GET(resp, "values");
		if (!cJSON_IsArray(values)) {
			jira_schema_error(err, "GET", target, "no \"values\" array");
			cJSON_Delete(resp);
			goto out;
		}
		const cJSON *v;
		cJSON_ArrayForEach(v, values)
		{
			int64_t id = id_value(GET(v, "worklogId"));
			if (id < 0) {
				jira_schema_error(err, "GET", target, "value without a worklogId");
				cJSON_Delete(resp);
				goto out;
			}
			batch_add_id(b, JS_IDS_DELETED, id);
		}
		const cJSON *u = GET(resp, "until");
		const cJSON *last = GET(resp, "lastPage");
		int64_t page_until = num_in(u, 0, 9007199254740991.0) ? (int64_t)u->valuedouble
								      : since;
		if (page_until > until)
			until = page_until;
		/* The next page starts at this one's "until" (what nextPage
		 * says); stop if it would not move forward. */
		bool done = !cJSON_IsFalse(last) || page_until <= since;
		cJSON_Delete(resp);
		since = page_until;
		if (done)
			break;
	}
	*until_ms = until;
	rc = 0;
out:
	if (rc < 0)
		b->deleted_ids.n = m_ids;
	account(c, &before, b);
	return rc;
}

/* ---- agile: boards and sprints --------------------------------------------------- */

static bool sprint_known(const struct batch *b, size_t from, int64_t id)
{
	for (size_t i = from; i < b->sprints.n; i++)
		if (b->sprints.v[i].id == id)
			return true;
	return false;
}

static int board_sprints(struct jira_client *c, int64_t board, bool open_only, size_t from,
			 struct batch *b, struct jira_error *err)
{
	long start = 0;
	char target[192];
	for (int pages = 0; pages < MAX_LOOP_PAGES; pages++) {
		cJSON *resp = NULL;
		snprintf(target, sizeof target,
			 "/rest/agile/1.0/board/%" PRId64 "/sprint?startAt=%ld&maxResults=%d%s",
			 board, start, AGILE_PAGE, open_only ? "&state=active,future" : "");
		if (jira_http_json(c, "GET", target, NULL, &resp, err) < 0) {
			/* Kanban boards do not support sprints: 400. */
			if (err->http_status == 400)
				return 0;
			return -1;
		}
		const cJSON *values = GET(resp, "values");
		if (!cJSON_IsArray(values)) {
			jira_schema_error(err, "GET", target, "no \"values\" array");
			cJSON_Delete(resp);
			return -1;
		}
		const cJSON *s;
		cJSON_ArrayForEach(s, values)
		{
			int64_t id = id_value(GET(s, "id"));
			if (id >= 0 && sprint_known(b, from, id))
				continue;
			if (jira_parse_sprint(s, b, err) < 0) {
				cJSON_Delete(resp);
				return -1;
			}
		}
		int n = cJSON_GetArraySize(values);
		bool done = n == 0 || !cJSON_IsFalse(GET(resp, "isLast"));
		cJSON_Delete(resp);
		if (done)
			return 0;
		start += n;
	}
	return 0;
}

int jira_project_sprints(struct jira_client *c, const char *project_key, struct batch *b,
			 struct jira_error *err)
{
	return jira_project_sprints_ex(c, project_key, false, b, err);
}

int jira_project_sprints_ex(struct jira_client *c, const char *project_key, bool open_only,
			    struct batch *b, struct jira_error *err)
{
	if (!jira_valid_project_key(project_key)) {
		jira_error_set(err, JIRA_CONFIG_ERROR, "invalid project key '%.64s'",
			       project_key ? project_key : "");
		return -1;
	}
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct jira_stats before = c->stats;
	size_t from = b->sprints.n;
	int64_t *boards = NULL;
	size_t n_boards = 0, cap = 0;
	long start = 0;
	int rc = -1;
	struct buf target;
	buf_init(&target, 4096);
	for (int pages = 0; pages < MAX_LOOP_PAGES; pages++) {
		cJSON *resp = NULL;
		buf_reset(&target);
		if (buf_puts(&target, "/rest/agile/1.0/board?projectKeyOrId=") < 0 ||
		    jira_put_escaped(c, &target, project_key) < 0 ||
		    buf_printf(&target, "&startAt=%ld&maxResults=%d", start, AGILE_PAGE) < 0) {
			jira_error_set(err, JIRA_INTERNAL, "URL too long");
			goto out;
		}
		if (jira_http_json(c, "GET", target.data, NULL, &resp, err) < 0)
			goto out;
		const cJSON *values = GET(resp, "values");
		if (!cJSON_IsArray(values)) {
			jira_schema_error(err, "GET", target.data, "no \"values\" array");
			cJSON_Delete(resp);
			goto out;
		}
		const cJSON *v;
		cJSON_ArrayForEach(v, values)
		{
			int64_t id = id_value(GET(v, "id"));
			const cJSON *type = GET(v, "type");
			/* Kanban boards have no sprints (they answer 400): skip them
			 * without asking. Boards of unknown type are asked. */
			if (id < 0 ||
			    (cJSON_IsString(type) && strcmp(type->valuestring, "kanban") == 0))
				continue;
			if (n_boards == cap) {
				cap = cap ? cap * 2 : 16;
				boards = xrealloc(boards, cap * sizeof *boards);
			}
			boards[n_boards++] = id;
		}
		int n = cJSON_GetArraySize(values);
		const cJSON *total = GET(resp, "total");
		start += n;
		bool done = n == 0 || cJSON_IsTrue(GET(resp, "isLast")) ||
			    (num_in(total, 0, 1e9) && start >= (long)total->valuedouble);
		cJSON_Delete(resp);
		if (done)
			break;
	}
	for (size_t i = 0; i < n_boards; i++)
		if (board_sprints(c, boards[i], open_only, from, b, err) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		b->sprints.n = from;
	account(c, &before, b);
	free(boards);
	buf_release(&target);
	return rc;
}

int jira_sprint_get(struct jira_client *c, int64_t sprint_id, struct batch *b,
		    struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct jira_stats before = c->stats;
	char target[96];
	snprintf(target, sizeof target, "/rest/agile/1.0/sprint/%" PRId64, sprint_id);
	cJSON *resp = NULL;
	int rc = jira_http_json(c, "GET", target, NULL, &resp, err);
	if (rc == 0)
		rc = jira_parse_sprint(resp, b, err);
	cJSON_Delete(resp);
	account(c, &before, b);
	return rc;
}

void jira_set_site(struct jira_client *c, enum jira_flavour flavour, const char *sprint_field)
{
	free(c->sprint_field);
	c->sprint_field = sprint_field && *sprint_field ? xstrdup(sprint_field) : NULL;
	c->flavour = flavour;
	c->prepared = flavour != JIRA_FLAVOUR_AUTO;
}

bool jira_prepared(const struct jira_client *c)
{
	return c->prepared;
}

/* ---- admin look-ups -------------------------------------------------------------- */

static bool contains_ci(const char *hay, const char *needle)
{
	if (!needle || !*needle)
		return true;
	if (!hay)
		return false;
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

static void add_project(cJSON *arr, const cJSON *p)
{
	const cJSON *key = GET(p, "key"), *name = GET(p, "name"), *id = GET(p, "id");
	if (!cJSON_IsString(key))
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "key", key->valuestring);
	cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "");
	cJSON_AddStringToObject(o, "id", cJSON_IsString(id) ? id->valuestring : "");
	cJSON_AddItemToArray(arr, o);
}

int jira_find_projects(struct jira_client *c, const char *query, struct cJSON **out,
		       struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct buf target;
	buf_init(&target, 8192);
	cJSON *resp = NULL, *arr = NULL;
	int rc = -1;
	bool cloud = c->flavour == JIRA_FLAVOUR_CLOUD;
	int w = 0;
	if (cloud) {
		w |= buf_puts(&target,
			      "/rest/api/3/project/search?maxResults=50&orderBy=key&query=");
		w |= jira_put_escaped(c, &target, query ? query : "");
	} else {
		w |= buf_puts(&target, "/rest/api/2/project");
	}
	if (w) {
		jira_error_set(err, JIRA_INTERNAL, "query too long");
		goto out;
	}
	if (jira_http_json(c, "GET", target.data, NULL, &resp, err) < 0) {
		/* project/search answers 404 when nothing matches. */
		if (cloud && err->code == JIRA_NOT_FOUND) {
			*out = cJSON_CreateArray();
			rc = 0;
		}
		goto out;
	}
	const cJSON *list = cloud ? GET(resp, "values") : resp;
	if (!cJSON_IsArray(list)) {
		jira_schema_error(err, "GET", target.data, "no project list");
		goto out;
	}
	arr = cJSON_CreateArray();
	const cJSON *p;
	cJSON_ArrayForEach(p, list)
	{
		if (!cloud &&
		    !contains_ci(cJSON_IsString(GET(p, "key")) ? GET(p, "key")->valuestring : NULL,
				 query) &&
		    !contains_ci(cJSON_IsString(GET(p, "name")) ? GET(p, "name")->valuestring
								: NULL,
				 query))
			continue;
		if (cJSON_GetArraySize(arr) >= 50)
			break;
		add_project(arr, p);
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	cJSON_Delete(arr);
	cJSON_Delete(resp);
	buf_release(&target);
	return rc;
}

int jira_find_project_users(struct jira_client *c, const char *project_key, const char *query,
			    struct cJSON **out, struct jira_error *err)
{
	if (!jira_valid_project_key(project_key)) {
		jira_error_set(err, JIRA_CONFIG_ERROR, "invalid project key '%.64s'",
			       project_key ? project_key : "");
		return -1;
	}
	if (ensure_prepared(c, err) < 0)
		return -1;
	struct buf target;
	buf_init(&target, 8192);
	cJSON *resp = NULL;
	int rc = -1;
	bool cloud = c->flavour == JIRA_FLAVOUR_CLOUD;
	int w = buf_printf(
		&target, "/rest/api/%s/user/assignable/search?maxResults=50&project=", api_ver(c));
	w |= jira_put_escaped(c, &target, project_key);
	w |= buf_puts(&target, cloud ? "&query=" : "&username=");
	w |= jira_put_escaped(c, &target, query ? query : "");
	if (w) {
		jira_error_set(err, JIRA_INTERNAL, "query too long");
		goto out;
	}
	if (jira_http_json(c, "GET", target.data, NULL, &resp, err) < 0)
		goto out;
	if (!cJSON_IsArray(resp)) {
		jira_schema_error(err, "GET", target.data, "expected an array of users");
		goto out;
	}
	cJSON *arr = cJSON_CreateArray();
	const cJSON *u;
	cJSON_ArrayForEach(u, resp)
	{
		const cJSON *id = GET(u, "accountId");
		if (!cJSON_IsString(id))
			id = GET(u, "key");
		if (!cJSON_IsString(id))
			id = GET(u, "name");
		if (!cJSON_IsString(id))
			continue;
		const cJSON *dn = GET(u, "displayName"), *em = GET(u, "emailAddress");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "accountId", id->valuestring);
		cJSON_AddStringToObject(o, "displayName",
					cJSON_IsString(dn) ? dn->valuestring : "");
		if (cJSON_IsString(em))
			cJSON_AddStringToObject(o, "emailAddress", em->valuestring);
		else
			cJSON_AddNullToObject(o, "emailAddress");
		cJSON_AddItemToArray(arr, o);
	}
	*out = arr;
	rc = 0;
out:
	cJSON_Delete(resp);
	buf_release(&target);
	return rc;
}

int jira_myself(struct jira_client *c, struct cJSON **out, struct jira_error *err)
{
	if (ensure_prepared(c, err) < 0)
		return -1;
	char target[64];
	snprintf(target, sizeof target, "/rest/api/%s/myself", api_ver(c));
	return jira_http_json(c, "GET", target, NULL, out, err);
}
