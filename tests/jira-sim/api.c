/*
 * jira-sim Jira endpoints: Cloud (REST v3, enhanced search with keyset
 * nextPageToken, old search answering 410) and Data Center (REST v2, offset
 * search with the 10,000 result window), per-issue comments and worklogs,
 * the worklog feeds, users, projects, fields, and the Agile board/sprint
 * API. Responses mirror the real captures in tests/fixtures/jira-captures/:
 * same keys, same types, timestamps in the caller's zone.
 */
#include "tests/jira-sim/sim.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <strings.h>

#define CJ cJSON_GetObjectItemCaseSensitive

static const char *api_prefix(void)
{
	return SIM.o.dc ? "/rest/api/2" : "/rest/api/3";
}

static const char *sprint_field(void)
{
	return SIM.o.dc ? "customfield_10105" : "customfield_10020";
}

/* ---- small renderers ------------------------------------------------------ */
static void out_avatars(struct buf *b, const char *base)
{
	const char *q = strchr(base, '?') ? "&" : "?";
	outf(b,
	     "{\"48x48\":\"%s%ssize=48\",\"24x24\":\"%s%ssize=24\",\"16x16\":\"%s%ssize=16\","
	     "\"32x32\":\"%s%ssize=32\"}",
	     base, q, base, q, base, q, base, q);
}

static void render_user_obj(struct buf *b, const struct sim_req *r, const struct sim_user *u);

/* Users are most of a page's bytes: each is rendered once for the usual
 * Host ("http://127.0.0.1:PORT") and copied afterwards. */
static char default_host[64];
static pthread_once_t users_once = PTHREAD_ONCE_INIT;

static void users_prerender(void)
{
	struct sim_req r;
	memset(&r, 0, sizeof(r));
	snprintf(default_host, sizeof(default_host), "http://127.0.0.1:%d", SIM.o.port);
	snprintf(r.host, sizeof(r.host), "%s", default_host);
	for (size_t i = 0; i < SIM.n_users; i++) {
		struct buf b = BUF_INIT;
		render_user_obj(&b, &r, &SIM.users[i]);
		SIM.users[i].json_cloud = buf_detach(&b);
	}
}

static void out_user_obj(struct buf *b, const struct sim_req *r, const struct sim_user *u)
{
	pthread_once(&users_once, users_prerender);
	if (u->json_cloud && strcmp(r->host, default_host) == 0)
		out(b, u->json_cloud);
	else
		render_user_obj(b, r, u);
}

static void render_user_obj(struct buf *b, const struct sim_req *r, const struct sim_user *u)
{
	char av[160];
	snprintf(av, sizeof(av), "https://avatar-management.example.net/initials/%.2s.png",
		 u->display_name);
	if (SIM.o.dc) {
		outf(b, "{\"self\":\"%s/rest/api/2/user?username=%s\",\"name\":", r->host, u->name);
		out_str(b, u->name);
		out(b, ",\"key\":");
		out_str(b, u->account_id);
		out(b, ",\"emailAddress\":");
		out_str(b, u->email);
		out(b, ",\"avatarUrls\":");
		out_avatars(b, av);
		out(b, ",\"displayName\":");
		out_str(b, u->display_name);
		out(b, ",\"active\":true,\"timeZone\":");
		out_str(b, u->tz);
		out(b, "}");
		return;
	}
	outf(b, "{\"self\":\"%s/rest/api/3/user?accountId=%s\",\"accountId\":", r->host,
	     u->account_id);
	out_str(b, u->account_id);
	out(b, ",\"emailAddress\":");
	out_str(b, u->email);
	out(b, ",\"avatarUrls\":");
	out_avatars(b, av);
	out(b, ",\"displayName\":");
	out_str(b, u->display_name);
	out(b, ",\"active\":true,\"timeZone\":");
	out_str(b, u->tz);
	out(b, ",\"accountType\":\"atlassian\"}");
}

static void out_user(struct buf *b, const struct sim_req *r, int idx)
{
	if (idx < 0)
		out(b, "null");
	else
		out_user_obj(b, r, &SIM.users[idx]);
}

static void out_t(struct buf *b, int64_t ms)
{
	out_time(b, ms, SIM.o.caller_offset);
}

/* Agile dates: "2021-05-01T03:34:00.000Z" on Cloud, "...-08:00" on DC. */
static void out_agile_time(struct buf *b, int64_t ms)
{
	char t[32];
	if (!SIM.o.dc) {
		jtime_format(t, ms);
		outf(b, "\"%s\"", t);
		return;
	}
	jtime_format_jira(t, ms, SIM.o.caller_offset);
	size_t n = strlen(t);
	/* "+hhmm" -> "+hh:mm" */
	outf(b, "\"%.*s:%s\"", (int)(n - 2), t, t + n - 2);
}

static void agile_time_str(char *o, size_t n, int64_t ms)
{
	struct buf b = BUF_INIT;
	out_agile_time(&b, ms);
	snprintf(o, n, "%.*s", (int)(b.len - 2), b.data + 1);
	buf_release(&b);
}

static void out_project_obj(struct buf *b, const struct sim_req *r, const struct sim_project *p)
{
	outf(b, "{\"self\":\"%s%s/project/%" PRId64 "\",\"id\":\"%" PRId64 "\",\"key\":", r->host,
	     api_prefix(), p->id, p->id);
	out_str(b, p->key);
	out(b, ",\"name\":");
	out_str(b, p->name);
	/* The Server capture's project has no projectTypeKey/simplified. */
	out(b, SIM.o.dc ? ",\"avatarUrls\":"
			: ",\"projectTypeKey\":\"software\",\"simplified\":false,\"avatarUrls\":");
	char av[200];
	snprintf(av, sizeof(av), "%s/secure/projectavatar?pid=%" PRId64, r->host, p->id);
	out_avatars(b, av);
	out(b, "}");
}

static void out_status(struct buf *b, const struct sim_req *r, int s)
{
	const struct sim_status *st = &sim_statuses[s];
	outf(b, "{\"self\":\"%s%s/status/%s\",\"description\":\"\",\"iconUrl\":\"%s/\",\"name\":",
	     r->host, api_prefix(), st->id, r->host);
	out_str(b, st->name);
	outf(b,
	     ",\"id\":\"%s\",\"statusCategory\":{\"self\":\"%s%s/statuscategory/%d\",\"id\":%d,"
	     "\"key\":\"%s\",\"colorName\":\"%s\",\"name\":\"%s\"}}",
	     st->id, r->host, api_prefix(), st->cat_id, st->cat_id, st->cat_key, st->cat_color,
	     st->cat_name);
}

static void out_sprint_value(struct buf *b, const struct sim_issue *is)
{
	if (!is->n_sprints) {
		out(b, "null");
		return;
	}
	out(b, "[");
	for (int i = 0; i < is->n_sprints; i++) {
		const struct sim_sprint *s = sim_sprint_by_id(is->sprints[i]);
		if (i)
			out(b, ",");
		if (SIM.o.dc) {
			char st[40], en[40], co[40];
			snprintf(st, sizeof(st), "<null>");
			snprintf(en, sizeof(en), "<null>");
			snprintf(co, sizeof(co), "<null>");
			if (s->start != JS_TIME_NULL)
				agile_time_str(st, sizeof(st), s->start);
			if (s->end != JS_TIME_NULL)
				agile_time_str(en, sizeof(en), s->end);
			if (s->complete != JS_TIME_NULL)
				agile_time_str(co, sizeof(co), s->complete);
			char state[16];
			snprintf(state, sizeof(state), "%s", sim_sprint_states[s->state]);
			for (char *c = state; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			struct buf v = BUF_INIT;
			outf(&v,
			     "com.atlassian.greenhopper.service.sprint.Sprint@%x[id=%" PRId64
			     ",rapidViewId=%" PRId64 ",state=%s,name=%s,startDate=%s,endDate=%s,"
			     "completeDate=%s,sequence=%d,goal=%s]",
			     (unsigned)(sim_mix((uint64_t)s->id) & 0xffffff), s->id, s->board_id,
			     state, s->name, st, en, co, s->seq, s->goal ? s->goal : "<null>");
			out_str(b, v.data);
			buf_release(&v);
			continue;
		}
		outf(b, "{\"id\":%" PRId64 ",\"name\":", s->id);
		out_str(b, s->name);
		outf(b, ",\"state\":\"%s\",\"boardId\":%" PRId64, sim_sprint_states[s->state],
		     s->board_id);
		if (s->goal) {
			out(b, ",\"goal\":");
			out_str(b, s->goal);
		}
		if (s->start != JS_TIME_NULL) {
			out(b, ",\"startDate\":");
			out_agile_time(b, s->start);
			out(b, ",\"endDate\":");
			out_agile_time(b, s->end);
		}
		if (s->complete != JS_TIME_NULL) {
			out(b, ",\"completeDate\":");
			out_agile_time(b, s->complete);
		}
		out(b, "}");
	}
	out(b, "]");
}

static void out_comment(struct buf *b, const struct sim_req *r, const struct sim_comment *c)
{
	outf(b,
	     "{\"self\":\"%s%s/issue/%" PRId64 "/comment/%" PRId64 "\",\"id\":\"%" PRId64
	     "\",\"author\":",
	     r->host, api_prefix(), c->issue_id, c->id, c->id);
	out_user(b, r, c->author);
	out(b, ",\"body\":");
	sim_doc_render(&c->body, b, NULL);
	out(b, ",\"updateAuthor\":");
	out_user(b, r, c->update_author);
	out(b, ",\"created\":");
	out_t(b, c->created);
	out(b, ",\"updated\":");
	out_t(b, c->updated);
	out(b, SIM.o.dc ? "}" : ",\"jsdPublic\":true}");
}

static void out_time_spent(struct buf *b, int64_t secs)
{
	int64_t h = secs / 3600, m = secs % 3600 / 60;
	if (h && m)
		outf(b, "\"%" PRId64 "h %" PRId64 "m\"", h, m);
	else if (h)
		outf(b, "\"%" PRId64 "h\"", h);
	else
		outf(b, "\"%" PRId64 "m\"", m);
}

static void out_worklog(struct buf *b, const struct sim_req *r, const struct sim_worklog *w)
{
	outf(b, "{\"self\":\"%s%s/issue/%" PRId64 "/worklog/%" PRId64 "\",\"author\":", r->host,
	     api_prefix(), w->issue_id, w->id);
	out_user(b, r, w->author);
	out(b, ",\"updateAuthor\":");
	out_user(b, r, w->update_author);
	if (w->comment.seed) {
		out(b, ",\"comment\":");
		sim_doc_render(&w->comment, b, NULL);
	}
	out(b, ",\"created\":");
	out_t(b, w->created);
	out(b, ",\"updated\":");
	out_t(b, w->updated);
	out(b, ",\"started\":");
	out_t(b, w->started);
	out(b, ",\"timeSpent\":");
	out_time_spent(b, w->seconds);
	outf(b,
	     ",\"timeSpentSeconds\":%" PRId64 ",\"id\":\"%" PRId64 "\",\"issueId\":\"%" PRId64
	     "\"}",
	     w->seconds, w->id, w->issue_id);
}

/* ---- issue fields ---------------------------------------------------------- */
enum {
	F_SUMMARY,
	F_ISSUETYPE,
	F_PROJECT,
	F_STATUS,
	F_PRIORITY,
	F_ASSIGNEE,
	F_REPORTER,
	F_CREATOR,
	F_CREATED,
	F_UPDATED,
	F_RESOLUTIONDATE,
	F_RESOLUTION,
	F_LABELS,
	F_DESCRIPTION,
	F_COMMENT,
	F_WORKLOG,
	F_SPRINT,
	F_STORYPOINTS,
	F_N
};
static const char *const field_names[F_N] = {
	"summary",  "issuetype",   "project", "status",  "priority",        "assignee",
	"reporter", "creator",     "created", "updated", "resolutiondate",  "resolution",
	"labels",   "description", "comment", "worklog", NULL /* sprint */, "customfield_10016",
};

struct fieldset {
	uint32_t bits;
	bool id_only; /* only id (and key) requested */
	bool key;
};

static int field_index(const char *name)
{
	if (strcmp(name, sprint_field()) == 0)
		return F_SPRINT;
	for (int i = 0; i < F_N; i++)
		if (field_names[i] && strcmp(field_names[i], name) == 0)
			return i;
	return -1;
}

static void fieldset_add(struct fieldset *fs, const char *name, bool *any)
{
	while (isspace((unsigned char)*name))
		name++;
	if (!*name)
		return;
	*any = true;
	if (strcmp(name, "*all") == 0 || strcmp(name, "*navigable") == 0) {
		fs->bits |= (1u << F_N) - 1;
		if (strcmp(name, "*navigable") == 0)
			fs->bits &= ~(1u << F_COMMENT | 1u << F_WORKLOG); /* not navigable */
		return;
	}
	if (name[0] == '-') {
		int i = field_index(name + 1);
		if (i >= 0)
			fs->bits &= ~(1u << i);
		return;
	}
	if (strcmp(name, "key") == 0) {
		fs->key = true;
		return;
	}
	int i = field_index(name);
	if (i >= 0)
		fs->bits |= 1u << i;
}

/* fields from a JSON array (POST) or a comma list (GET). def_all: the old
 * search's default (*navigable) instead of search/jql's (id). */
static void fieldset_parse(struct fieldset *fs, const cJSON *arr, const char *list, bool def_all)
{
	memset(fs, 0, sizeof(*fs));
	bool any = false;
	if (cJSON_IsArray(arr)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it))
			fieldset_add(fs, it->valuestring, &any);
	} else if (cJSON_IsString(arr)) {
		list = arr->valuestring;
	}
	if (list) {
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "%s", list);
		char *save = NULL;
		for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
			fieldset_add(fs, t, &any);
	}
	if (!any && def_all)
		fieldset_add(fs, "*navigable", &any);
	fs->id_only = fs->bits == 0;
}

static void out_issue(struct buf *b, const struct sim_req *r, const struct sim_issue *is,
		      const struct fieldset *fs, bool embed_limit)
{
	const struct sim_project *p = &SIM.projects[is->project];
	if (fs->id_only && !SIM.o.dc) {
		outf(b, "{\"id\":\"%" PRId64 "\"", is->id);
		if (fs->key)
			outf(b, ",\"key\":\"%s-%d\"", p->key, is->num);
		out(b, "}");
		return;
	}
	outf(b,
	     "{\"expand\":\"operations,versionedRepresentations,editmeta,changelog,renderedFields\","
	     "\"id\":\"%" PRId64 "\",\"self\":\"%s%s/issue/%" PRId64
	     "\",\"key\":\"%s-%d\",\"fields\":{",
	     is->id, r->host, api_prefix(), is->id, p->key, is->num);
	bool first = true;
	for (int f = 0; f < F_N; f++) {
		if (!(fs->bits & (1u << f)))
			continue;
		if (!first)
			out(b, ",");
		first = false;
		outf(b, "\"%s\":", f == F_SPRINT ? sprint_field() : field_names[f]);
		switch (f) {
		case F_SUMMARY:
			out_str(b, is->summary);
			break;
		case F_ISSUETYPE: {
			const struct sim_named *t = &sim_types[is->type];
			outf(b,
			     "{\"self\":\"%s%s/issuetype/%s\",\"id\":\"%s\",\"description\":\"\","
			     "\"iconUrl\":\"%s/secure/viewavatar?size=medium&avatarId=10315&avatarType=issuetype\","
			     "\"name\":\"%s\",\"subtask\":false,\"avatarId\":10315%s}",
			     r->host, api_prefix(), t->id, t->id, r->host, t->name,
			     SIM.o.dc ? "" : ",\"hierarchyLevel\":0");
			break;
		}
		case F_PROJECT:
			out_project_obj(b, r, p);
			break;
		case F_STATUS:
			out_status(b, r, is->status);
			break;
		case F_PRIORITY:
			if (is->priority < 0) {
				out(b, "null");
			} else {
				const struct sim_named *pr = &sim_priorities[is->priority];
				outf(b,
				     "{\"self\":\"%s%s/priority/%s\",\"iconUrl\":\"%s/images/icons/priorities/%s.svg\","
				     "\"name\":\"%s\",\"id\":\"%s\"}",
				     r->host, api_prefix(), pr->id, r->host, pr->name, pr->name,
				     pr->id);
			}
			break;
		case F_ASSIGNEE:
			out_user(b, r, is->assignee);
			break;
		case F_REPORTER:
		case F_CREATOR:
			out_user(b, r, is->reporter);
			break;
		case F_CREATED:
			out_t(b, is->created);
			break;
		case F_UPDATED:
			out_t(b, is->updated);
			break;
		case F_RESOLUTIONDATE:
			out_t(b, is->resolved);
			break;
		case F_RESOLUTION:
			if (is->resolved == JS_TIME_NULL)
				out(b, "null");
			else
				outf(b,
				     "{\"self\":\"%s%s/resolution/10000\",\"id\":\"10000\",\"description\":"
				     "\"Work has been completed on this issue.\",\"name\":\"Done\"}",
				     r->host, api_prefix());
			break;
		case F_LABELS:
			out(b, "[");
			for (int i = 0; i < is->n_labels; i++) {
				if (i)
					out(b, ",");
				out_str(b, is->labels[i]);
			}
			out(b, "]");
			break;
		case F_DESCRIPTION:
			sim_doc_render(&is->desc, b, NULL);
			break;
		case F_COMMENT: {
			size_t live = 0;
			for (size_t i = 0; i < is->n_comments; i++)
				live += !SIM.comments[is->comments[i] - SIM_ID_BASE].deleted;
			/* Enhanced search embeds at most 20 (oldest first); DC all of them. */
			size_t lim = embed_limit ? 20 : live;
			out(b, "{\"comments\":[");
			size_t n = 0;
			for (size_t i = 0; i < is->n_comments && n < lim; i++) {
				const struct sim_comment *c =
					&SIM.comments[is->comments[i] - SIM_ID_BASE];
				if (c->deleted)
					continue;
				if (n++)
					out(b, ",");
				out_comment(b, r, c);
			}
			outf(b,
			     "],\"self\":\"%s%s/issue/%" PRId64 "/comment\",\"maxResults\":%zu,"
			     "\"total\":%zu,\"startAt\":0}",
			     r->host, api_prefix(), is->id, embed_limit ? (size_t)20 : live, live);
			break;
		}
		case F_WORKLOG: {
			size_t live = 0;
			for (size_t i = 0; i < is->n_worklogs; i++)
				live += !SIM.worklogs[is->worklogs[i] - SIM_ID_BASE].deleted;
			outf(b, "{\"startAt\":0,\"maxResults\":20,\"total\":%zu,\"worklogs\":[",
			     live);
			size_t n = 0;
			for (size_t i = 0; i < is->n_worklogs && n < 20; i++) {
				const struct sim_worklog *w =
					&SIM.worklogs[is->worklogs[i] - SIM_ID_BASE];
				if (w->deleted)
					continue;
				if (n++)
					out(b, ",");
				out_worklog(b, r, w);
			}
			out(b, "]}");
			break;
		}
		case F_SPRINT:
			out_sprint_value(b, is);
			break;
		case F_STORYPOINTS:
			if (is->id % 3)
				outf(b, "%d.0", (int)(is->id % 8) + 1);
			else
				out(b, "null");
			break;
		}
	}
	out(b, "}}");
}

/* ---- request bodies -------------------------------------------------------- */
static cJSON *body_json(const struct sim_req *r)
{
	if (!r->body_len)
		return NULL;
	return cJSON_ParseWithLength(r->body, r->body_len);
}

static long arg_long(const struct sim_req *r, const cJSON *body, const char *name, long def,
		     long min, long max, bool *bad)
{
	const cJSON *v = body ? CJ(body, name) : NULL;
	long x = def;
	if (cJSON_IsNumber(v)) {
		x = (long)v->valuedouble;
	} else {
		const char *s = sim_arg(r, name);
		if (s && *s && parse_int_range(s, LONG_MIN / 2, LONG_MAX / 2, &x) < 0)
			*bad = true;
	}
	if (x < min)
		x = min;
	if (x > max)
		x = max;
	return x;
}

static const char *arg_str(const struct sim_req *r, const cJSON *body, const char *name)
{
	const cJSON *v = body ? CJ(body, name) : NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	return sim_arg(r, name);
}

/* ---- page tokens ---------------------------------------------------------- */
static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void token_encode(char *o, size_t on, int64_t updated, int64_t id, uint64_t hash)
{
	char raw[96];
	int n = snprintf(raw, sizeof(raw), "v1|%" PRId64 "|%" PRId64 "|%016" PRIx64, updated, id,
			 hash);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < n && k + 2 < on; i++) {
		acc = acc << 8 | (unsigned char)raw[i];
		bits += 8;
		while (bits >= 6 && k + 2 < on) {
			bits -= 6;
			o[k++] = b64u[(acc >> bits) & 63];
		}
	}
	if (bits > 0 && k + 2 < on)
		o[k++] = b64u[(acc << (6 - bits)) & 63];
	o[k] = '\0';
}

static int token_decode(const char *t, int64_t *updated, int64_t *id, uint64_t *hash)
{
	char raw[128];
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (const char *c = t; *c; c++) {
		const char *pos = strchr(b64u, *c);
		if (!pos || !*c)
			return -1;
		acc = acc << 6 | (uint32_t)(pos - b64u);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k + 1 >= sizeof(raw))
				return -1;
			raw[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	raw[k] = '\0';
	long long u, i;
	unsigned long long h;
	char tail;
	if (sscanf(raw, "v1|%lld|%lld|%16llx%c", &u, &i, &h, &tail) != 3)
		return -1;
	*updated = u;
	*id = i;
	*hash = h;
	return 0;
}

/* ---- search ---------------------------------------------------------------- */
static bool parse_jql_or_400(struct sim_resp *w, const char *text, struct jql *q)
{
	char err[512];
	if (!text || !*text) {
		resp_error(w, 400,
			   "Unbounded JQL queries are not allowed here. Please add a search "
			   "restriction to your query.");
		return false;
	}
	if (jql_parse(text, q, err, sizeof(err)) < 0) {
		resp_error(w, 400, err);
		return false;
	}
	return true;
}

static size_t first_pos(const struct jql *q)
{
	if (q->lo == INT64_MIN)
		return 0;
	return sim_order_lower(q->project, q->lo, INT64_MIN);
}

static void search_jql(struct sim_req *r, struct sim_resp *w)
{
	cJSON *body = body_json(r);
	if (r->body_len && !body) {
		resp_error(w, 400, "Unexpected character in the request body.");
		return;
	}
	bool bad = false;
	struct fieldset fs;
	fieldset_parse(&fs, body ? CJ(body, "fields") : NULL, sim_arg(r, "fields"), false);
	long max = arg_long(r, body, "maxResults", 50, 0, fs.id_only ? 5000 : 100, &bad);
	const char *tok = arg_str(r, body, "nextPageToken");
	struct jql q;
	if (bad) {
		resp_error(w, 400, "The value of 'maxResults' is invalid.");
		goto out;
	}
	pthread_rwlock_rdlock(&SIM.lock);
	if (!parse_jql_or_400(w, arg_str(r, body, "jql"), &q))
		goto unlock;
	size_t i = q.project ? first_pos(&q) : 0;
	if (tok && *tok) {
		int64_t tu, ti;
		uint64_t th;
		if (token_decode(tok, &tu, &ti, &th) < 0) {
			resp_error(w, 400, "The provided nextPageToken is invalid.");
			goto unlock;
		}
		if (th != q.hash) {
			resp_error(w, 400,
				   "The nextPageToken does not match the JQL query of the "
				   "first page.");
			goto unlock;
		}
		if (q.project) {
			size_t after = ti == INT64_MAX
					       ? sim_order_lower(q.project, tu + 1, INT64_MIN)
					       : sim_order_lower(q.project, tu, ti + 1);
			if (after > i)
				i = after;
		}
	}
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	out(b, "{\"issues\":[");
	long n = 0;
	const struct sim_issue *last = NULL;
	bool more = false;
	const struct sim_project *p = q.project;
	for (; p && i < p->n_order; i++) {
		const struct sim_issue *is = p->order[i];
		if (is->updated > q.hi)
			break;
		if (!jql_match(&q, is))
			continue;
		if (n == max) {
			more = true;
			break;
		}
		if (n++)
			out(b, ",");
		out_issue(b, r, is, &fs, true);
		last = is;
	}
	out(b, "]");
	if (more && last) {
		char t[160];
		token_encode(t, sizeof(t), last->updated, last->id, q.hash);
		outf(b, ",\"nextPageToken\":\"%s\",\"isLast\":false}", t);
	} else {
		out(b, ",\"isLast\":true}");
	}
unlock:
	pthread_rwlock_unlock(&SIM.lock);
out:
	cJSON_Delete(body);
}

static void approximate_count(struct sim_req *r, struct sim_resp *w)
{
	cJSON *body = body_json(r);
	struct jql q;
	pthread_rwlock_rdlock(&SIM.lock);
	if (parse_jql_or_400(w, arg_str(r, body, "jql"), &q)) {
		int64_t n = 0;
		const struct sim_project *p = q.project;
		for (size_t i = p ? first_pos(&q) : 0; p && i < p->n_order; i++) {
			if (p->order[i]->updated > q.hi)
				break;
			n += jql_match(&q, p->order[i]);
		}
		w->status = 200;
		w->ctype = "application/json;charset=UTF-8";
		outf(&w->body, "{\"count\":%" PRId64 "}", n);
	}
	pthread_rwlock_unlock(&SIM.lock);
	cJSON_Delete(body);
}

static void search_dc(struct sim_req *r, struct sim_resp *w)
{
	cJSON *body = body_json(r);
	bool bad = false;
	struct fieldset fs;
	fieldset_parse(&fs, body ? CJ(body, "fields") : NULL, sim_arg(r, "fields"), true);
	long start = arg_long(r, body, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, body, "maxResults", 50, 0, fs.id_only ? 1000 : 100, &bad);
	struct jql q;
	if (bad) {
		resp_error(w, 400, "The value of 'startAt' or 'maxResults' is invalid.");
		goto out;
	}
	if (start + max > 10000) {
		resp_error(w, 500,
			   "Search limit exceeded. The search request (startAt + maxResults) "
			   "exceeds the search platform limit of 10000 results "
			   "(jira.search.platform.max.result.window).");
		goto out;
	}
	pthread_rwlock_rdlock(&SIM.lock);
	if (!parse_jql_or_400(w, arg_str(r, body, "jql"), &q))
		goto unlock;
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	outf(b, "{\"expand\":\"schema,names\",\"startAt\":%ld,\"maxResults\":%ld,\"total\":", start,
	     max);
	struct buf issues = BUF_INIT;
	int64_t total = 0;
	long n = 0;
	const struct sim_project *p = q.project;
	for (size_t i = p ? first_pos(&q) : 0; p && i < p->n_order; i++) {
		const struct sim_issue *is = p->order[i];
		if (is->updated > q.hi)
			break;
		if (!jql_match(&q, is))
			continue;
		if (total >= start && n < max) {
			if (n++)
				out(&issues, ",");
			out_issue(&issues, r, is, &fs, false);
		}
		total++;
	}
	outf(b, "%" PRId64 ",\"issues\":[", total);
	outn(b, issues.data, issues.len);
	out(b, "]}");
	buf_release(&issues);
unlock:
	pthread_rwlock_unlock(&SIM.lock);
out:
	cJSON_Delete(body);
}

/* ---- per-issue ---------------------------------------------------------------- */
static void issue_not_found(struct sim_resp *w)
{
	resp_error(w, 404, "Issue does not exist or you do not have permission to see it.");
}

static void issue_comments(struct sim_req *r, struct sim_resp *w, const char *ref)
{
	bool bad = false;
	long start = arg_long(r, NULL, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, NULL, "maxResults", 100, 0, 100, &bad);
	const char *order = sim_arg(r, "orderBy");
	bool desc = order && order[0] == '-';
	pthread_rwlock_rdlock(&SIM.lock);
	const struct sim_issue *is = sim_issue_by_ref(ref);
	if (!is) {
		issue_not_found(w);
		goto out;
	}
	size_t live = 0;
	for (size_t i = 0; i < is->n_comments; i++)
		live += !SIM.comments[is->comments[i] - SIM_ID_BASE].deleted;
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	outf(b, "{\"startAt\":%ld,\"maxResults\":%ld,\"total\":%zu,\"comments\":[", start, max,
	     live);
	long k = 0, n = 0;
	for (size_t j = 0; j < is->n_comments && n < max; j++) {
		size_t i = desc ? is->n_comments - 1 - j : j;
		const struct sim_comment *c = &SIM.comments[is->comments[i] - SIM_ID_BASE];
		if (c->deleted || k++ < start)
			continue;
		if (n++)
			out(b, ",");
		out_comment(b, r, c);
	}
	out(b, "]}");
out:
	pthread_rwlock_unlock(&SIM.lock);
}

static void issue_worklogs(struct sim_req *r, struct sim_resp *w, const char *ref)
{
	bool bad = false;
	long start = arg_long(r, NULL, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, NULL, "maxResults", 5000, 0, 5000, &bad);
	pthread_rwlock_rdlock(&SIM.lock);
	const struct sim_issue *is = sim_issue_by_ref(ref);
	if (!is) {
		issue_not_found(w);
		goto out;
	}
	size_t live = 0;
	for (size_t i = 0; i < is->n_worklogs; i++)
		live += !SIM.worklogs[is->worklogs[i] - SIM_ID_BASE].deleted;
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	outf(b, "{\"startAt\":%ld,\"maxResults\":%ld,\"total\":%zu,\"worklogs\":[", start, max,
	     live);
	long k = 0, n = 0;
	for (size_t i = 0; i < is->n_worklogs && n < max; i++) {
		const struct sim_worklog *wl = &SIM.worklogs[is->worklogs[i] - SIM_ID_BASE];
		if (wl->deleted || k++ < start)
			continue;
		if (n++)
			out(b, ",");
		out_worklog(b, r, wl);
	}
	out(b, "]}");
out:
	pthread_rwlock_unlock(&SIM.lock);
}

static void issue_get(struct sim_req *r, struct sim_resp *w, const char *ref)
{
	struct fieldset fs;
	fieldset_parse(&fs, NULL, sim_arg(r, "fields"), true);
	fs.id_only = false;
	pthread_rwlock_rdlock(&SIM.lock);
	const struct sim_issue *is = sim_issue_by_ref(ref);
	if (!is) {
		issue_not_found(w);
	} else {
		w->status = 200;
		w->ctype = "application/json;charset=UTF-8";
		out_issue(&w->body, r, is, &fs, false);
	}
	pthread_rwlock_unlock(&SIM.lock);
}

/* ---- worklog feeds --------------------------------------------------------------- */
struct feed_item {
	int64_t t, id;
};

static int cmp_feed(const void *a, const void *b)
{
	const struct feed_item *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void worklog_feed(struct sim_req *r, struct sim_resp *w, bool deleted)
{
	const char *s = sim_arg(r, "since");
	int64_t since = 0;
	if (s && *s && parse_i64(s, &since) < 0) {
		resp_error(w, 400, "The 'since' parameter must be a number of milliseconds.");
		return;
	}
	int64_t cutoff = now_ms() - SIM.o.feed_lag_ms;
	pthread_rwlock_rdlock(&SIM.lock);
	struct feed_item *items = xmalloc((SIM.n_worklogs + 1) * sizeof(*items));
	size_t n = 0;
	for (size_t i = 0; i < SIM.n_worklogs; i++) {
		const struct sim_worklog *wl = &SIM.worklogs[i];
		if (wl->deleted != deleted)
			continue;
		int64_t t = deleted ? wl->deleted_at : wl->updated;
		if (t >= since && t <= cutoff)
			items[n++] = (struct feed_item){t, wl->id};
	}
	pthread_rwlock_unlock(&SIM.lock);
	qsort(items, n, sizeof(*items), cmp_feed);
	bool last = n <= 1000;
	size_t m = last ? n : 1000;
	int64_t until = m ? items[m - 1].t : since;
	const char *what = deleted ? "deleted" : "updated";
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	out(b, "{\"values\":[");
	for (size_t i = 0; i < m; i++)
		outf(b,
		     "%s{\"worklogId\":%" PRId64 ",\"updatedTime\":%" PRId64 ",\"properties\":[]}",
		     i ? "," : "", items[i].id, items[i].t);
	outf(b,
	     "],\"since\":%" PRId64 ",\"until\":%" PRId64
	     ",\"self\":\"%s%s/worklog/%s?since=%" PRId64 "\"",
	     since, until, r->host, api_prefix(), what, since);
	if (!last)
		outf(b, ",\"nextPage\":\"%s%s/worklog/%s?since=%" PRId64 "\"", r->host,
		     api_prefix(), what, until);
	outf(b, ",\"lastPage\":%s}", last ? "true" : "false");
	free(items);
}

/* POST comment/list and worklog/list: the rows of up to 1000 ids, in the
 * order asked; ids that are unknown, deleted or on a deleted issue are left
 * out. Comments come in a PageBeanComment, worklogs as a bare array. */
static void list_by_ids(struct sim_req *r, struct sim_resp *w, bool comments)
{
	cJSON *body = body_json(r);
	const cJSON *ids = body ? CJ(body, "ids") : NULL;
	int n = cJSON_IsArray(ids) ? cJSON_GetArraySize(ids) : 0;
	if (n < 1 || n > 1000) {
		resp_error(w, 400,
			   comments ? "The number of comment IDs must be between 1 and 1000."
				    : "The number of worklog IDs must be between 1 and 1000.");
		cJSON_Delete(body);
		return;
	}
	pthread_rwlock_rdlock(&SIM.lock);
	struct buf rows = BUF_INIT;
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, ids)
	{
		int64_t id = -1;
		if (cJSON_IsNumber(it))
			id = (int64_t)it->valuedouble;
		else if (cJSON_IsString(it) && parse_i64(it->valuestring, &id) < 0)
			id = -1;
		if (comments) {
			const struct sim_comment *c = sim_comment_by_id(id);
			if (!c || !sim_issue_by_id(c->issue_id))
				continue;
			if (k++)
				out(&rows, ",");
			out_comment(&rows, r, c);
		} else {
			const struct sim_worklog *wl = sim_worklog_by_id(id);
			if (!wl || !sim_issue_by_id(wl->issue_id))
				continue;
			if (k++)
				out(&rows, ",");
			out_worklog(&rows, r, wl);
		}
	}
	pthread_rwlock_unlock(&SIM.lock);
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	if (comments)
		outf(b,
		     "{\"maxResults\":%d,\"startAt\":0,\"total\":%d,\"isLast\":true,\"values\":[",
		     k, k);
	else
		out(b, "[");
	out(b, rows.data ? rows.data : "");
	out(b, comments ? "]}" : "]");
	buf_release(&rows);
	cJSON_Delete(body);
}

/* ---- metadata -------------------------------------------------------------------- */
static void fields_list(struct sim_req *r, struct sim_resp *w)
{
	(void)r;
	static const struct {
		const char *id, *name, *type, *items, *system;
	} sys[] = {
		{"summary", "Summary", "string", NULL, "summary"},
		{"issuetype", "Issue Type", "issuetype", NULL, "issuetype"},
		{"project", "Project", "project", NULL, "project"},
		{"status", "Status", "status", NULL, "status"},
		{"priority", "Priority", "priority", NULL, "priority"},
		{"assignee", "Assignee", "user", NULL, "assignee"},
		{"reporter", "Reporter", "user", NULL, "reporter"},
		{"creator", "Creator", "user", NULL, "creator"},
		{"created", "Created", "datetime", NULL, "created"},
		{"updated", "Updated", "datetime", NULL, "updated"},
		{"resolutiondate", "Resolved", "datetime", NULL, "resolutiondate"},
		{"resolution", "Resolution", "resolution", NULL, "resolution"},
		{"labels", "Labels", "array", "string", "labels"},
		{"description", "Description", "string", NULL, "description"},
		{"comment", "Comment", "comments-page", NULL, "comment"},
		{"worklog", "Log Work", "array", "worklog", "worklog"},
	};
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	out(b, "[");
	for (size_t i = 0; i < JS_ARRAY_LEN(sys); i++) {
		outf(b,
		     "%s{\"id\":\"%s\",\"key\":\"%s\",\"name\":\"%s\",\"custom\":false,\"orderable\":true,"
		     "\"navigable\":true,\"searchable\":true,\"clauseNames\":[\"%s\"],\"schema\":{\"type\":\"%s\"",
		     i ? "," : "", sys[i].id, sys[i].id, sys[i].name, sys[i].id, sys[i].type);
		if (sys[i].items)
			outf(b, ",\"items\":\"%s\"", sys[i].items);
		outf(b, ",\"system\":\"%s\"}}", sys[i].system);
	}
	out(b,
	    ",{\"id\":\"customfield_10016\",\"key\":\"customfield_10016\",\"name\":\"Story point estimate\","
	    "\"untranslatedName\":\"Story point estimate\",\"custom\":true,\"orderable\":true,\"navigable\":true,"
	    "\"searchable\":true,\"clauseNames\":[\"cf[10016]\",\"Story point estimate\"],\"schema\":{"
	    "\"type\":\"number\",\"custom\":\"com.pyxis.greenhopper.jira:jsw-story-points\",\"customId\":10016}}");
	out(b,
	    ",{\"id\":\"customfield_10019\",\"key\":\"customfield_10019\",\"name\":\"Rank\",\"untranslatedName\":"
	    "\"Rank\",\"custom\":true,\"orderable\":true,\"navigable\":true,\"searchable\":true,\"clauseNames\":"
	    "[\"cf[10019]\",\"Rank\"],\"schema\":{\"type\":\"any\",\"custom\":"
	    "\"com.pyxis.greenhopper.jira:gh-lexo-rank\",\"customId\":10019}}");
	const char *sf = sprint_field();
	outf(b,
	     ",{\"id\":\"%s\",\"key\":\"%s\",\"name\":\"Sprint\",\"untranslatedName\":\"Sprint\",\"custom\":true,"
	     "\"orderable\":true,\"navigable\":true,\"searchable\":true,\"clauseNames\":[\"cf[%s]\",\"Sprint\"],"
	     "\"schema\":{\"type\":\"array\",\"items\":\"%s\",\"custom\":\"com.pyxis.greenhopper.jira:gh-sprint\","
	     "\"customId\":%s}}",
	     sf, sf, sf + 12, SIM.o.dc ? "string" : "json", sf + 12);
	out(b, "]");
}

static void myself(struct sim_req *r, struct sim_resp *w)
{
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	out_user_obj(&w->body, r, &SIM.caller);
	/* add locale: reopen the object */
	w->body.data[--w->body.len] = '\0';
	out(&w->body, ",\"locale\":\"en_US\"}");
}

static void server_info(struct sim_req *r, struct sim_resp *w)
{
	char t[32];
	jtime_format_jira(t, now_ms(), SIM.o.caller_offset);
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	if (SIM.o.dc)
		outf(&w->body,
		     "{\"baseUrl\":\"%s\",\"version\":\"9.12.2\",\"versionNumbers\":[9,12,2],"
		     "\"deploymentType\":\"Server\",\"buildNumber\":9120002,\"buildDate\":"
		     "\"2023-12-05T00:00:00.000+0000\",\"serverTime\":\"%s\",\"scmInfo\":"
		     "\"0123456789abcdef\",\"serverTitle\":\"Jira Simulator\"}",
		     r->host, t);
	else
		outf(&w->body,
		     "{\"baseUrl\":\"%s\",\"displayUrl\":\"%s\",\"version\":\"1001.0.0-SNAPSHOT\","
		     "\"versionNumbers\":[1001,0,0],\"deploymentType\":\"Cloud\",\"buildNumber\":100289,"
		     "\"buildDate\":\"2026-01-01T00:00:00.000+0000\",\"serverTime\":\"%s\",\"scmInfo\":"
		     "\"0123456789abcdef\",\"serverTitle\":\"Jira\"}",
		     r->host, r->host, t);
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *h = hay; *h; h++)
		if (strncasecmp(h, needle, n) == 0)
			return true;
	return n == 0;
}

static void users_search(struct sim_req *r, struct sim_resp *w, bool assignable)
{
	bool bad = false;
	long start = arg_long(r, NULL, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, NULL, "maxResults", 50, 0, 1000, &bad);
	const char *query = sim_arg(r, "query");
	if (!query)
		query = sim_arg(r, "username");
	if (assignable) {
		const char *proj = sim_arg(r, "project");
		const char *acc = sim_arg(r, "accountId");
		if (!query && !acc) {
			resp_error(w, 400,
				   "The query parameter 'query' or 'accountId' is required.");
			return;
		}
		if (!proj || !sim_project_by_key(proj)) {
			char m[200];
			snprintf(m, sizeof(m), "No project could be found with key '%s'.",
				 proj ? proj : "");
			resp_error(w, 404, m);
			return;
		}
		if (acc)
			query = acc;
	}
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	out(b, "[");
	long k = 0, n = 0;
	for (size_t i = 0; i < SIM.n_users && n < max; i++) {
		const struct sim_user *u = &SIM.users[i];
		if (query && !contains_ci(u->display_name, query) &&
		    !contains_ci(u->email, query) && strcmp(u->account_id, query) != 0 &&
		    !contains_ci(u->name, query))
			continue;
		if (k++ < start)
			continue;
		if (n++)
			out(b, ",");
		out_user_obj(b, r, u);
	}
	out(b, "]");
}

static void projects(struct sim_req *r, struct sim_resp *w, bool paged)
{
	const char *query = sim_arg(r, "query");
	struct buf *b = &w->body;
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	struct buf v = BUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < SIM.n_projects; i++) {
		const struct sim_project *p = &SIM.projects[i];
		if (query && !contains_ci(p->key, query) && !contains_ci(p->name, query))
			continue;
		if (n++)
			out(&v, ",");
		out_project_obj(&v, r, p);
	}
	if (paged)
		outf(b,
		     "{\"self\":\"%s/rest/api/3/project/search\",\"maxResults\":50,\"startAt\":0,"
		     "\"total\":%zu,\"isLast\":true,\"values\":[%s]}",
		     r->host, n, v.data);
	else
		outf(b, "[%s]", v.data);
	buf_release(&v);
}

/* ---- agile ----------------------------------------------------------------------- */
static void out_board(struct buf *b, const struct sim_req *r, const struct sim_project *p,
		      bool scrum)
{
	int64_t id = scrum ? p->scrum_board : p->kanban_board;
	outf(b,
	     "{\"id\":%" PRId64 ",\"self\":\"%s/rest/agile/1.0/board/%" PRId64
	     "\",\"name\":\"%s - %s\","
	     "\"type\":\"%s\",\"location\":{\"projectId\":%" PRId64 ",\"displayName\":\"%s (%s)\","
	     "\"projectName\":\"%s\",\"projectKey\":\"%s\",\"projectTypeKey\":\"software\",\"avatarURI\":"
	     "\"/secure/projectavatar?size=small&s=small&pid=%" PRId64 "\",\"name\":\"%s (%s)\"}}",
	     id, r->host, id, p->key, scrum ? "Scrum" : "Kanban", scrum ? "scrum" : "kanban", p->id,
	     p->name, p->key, p->name, p->key, p->id, p->name, p->key);
}

static void boards(struct sim_req *r, struct sim_resp *w)
{
	bool bad = false;
	long start = arg_long(r, NULL, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, NULL, "maxResults", 50, 1, 50, &bad);
	const char *pk = sim_arg(r, "projectKeyOrId");
	const char *type = sim_arg(r, "type");
	const struct sim_project *only = NULL;
	if (pk && *pk) {
		only = sim_project_by_key(pk);
		if (!only) {
			char m[200];
			snprintf(m, sizeof(m), "No project could be found with key or id '%s'", pk);
			resp_error(w, 400, m);
			return;
		}
	}
	struct buf v = BUF_INIT;
	long total = 0, n = 0;
	for (size_t i = 0; i < SIM.n_projects; i++) {
		const struct sim_project *p = &SIM.projects[i];
		if (only && only != p)
			continue;
		for (int s = 1; s >= 0; s--) {
			if (type && !contains_ci(type, s ? "scrum" : "kanban"))
				continue;
			if (total++ < start || n >= max)
				continue;
			if (n++)
				out(&v, ",");
			out_board(&v, r, p, s);
		}
	}
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	outf(&w->body,
	     "{\"maxResults\":%ld,\"startAt\":%ld,\"total\":%ld,\"isLast\":%s,\"values\":[%s]}",
	     max, start, total, start + n >= total ? "true" : "false", v.data);
	buf_release(&v);
}

static const struct sim_project *board_project(int64_t id, bool *scrum)
{
	if (id < 1 || (size_t)((id - 1) / 2) >= SIM.n_projects)
		return NULL;
	*scrum = id % 2 == 1;
	return &SIM.projects[(id - 1) / 2];
}

static void out_sprint_obj(struct buf *b, const struct sim_req *r, const struct sim_sprint *s)
{
	outf(b,
	     "{\"id\":%" PRId64 ",\"self\":\"%s/rest/agile/1.0/sprint/%" PRId64
	     "\",\"state\":\"%s\","
	     "\"name\":",
	     s->id, r->host, s->id, sim_sprint_states[s->state]);
	out_str(b, s->name);
	if (s->start != JS_TIME_NULL) {
		out(b, ",\"startDate\":");
		out_agile_time(b, s->start);
		out(b, ",\"endDate\":");
		out_agile_time(b, s->end);
	}
	if (s->complete != JS_TIME_NULL) {
		out(b, ",\"completeDate\":");
		out_agile_time(b, s->complete);
	}
	outf(b, ",\"originBoardId\":%" PRId64, s->board_id);
	if (s->goal) {
		out(b, ",\"goal\":");
		out_str(b, s->goal);
	}
	out(b, "}");
}

static void board_sprints(struct sim_req *r, struct sim_resp *w, int64_t board)
{
	bool bad = false, scrum;
	long start = arg_long(r, NULL, "startAt", 0, 0, LONG_MAX / 4, &bad);
	long max = arg_long(r, NULL, "maxResults", 50, 1, 50, &bad);
	const char *state = sim_arg(r, "state");
	pthread_rwlock_rdlock(&SIM.lock);
	const struct sim_project *p = board_project(board, &scrum);
	if (!p) {
		resp_error(w, 404, "Board does not exist or you do not have permission to see it.");
		goto out;
	}
	if (!scrum) {
		resp_error(w, 400, "The board does not support sprints");
		goto out;
	}
	struct buf v = BUF_INIT;
	long k = 0, n = 0;
	bool more = false;
	/* Ordered by state (closed, active, future), then sequence. */
	for (int st = SPRINT_CLOSED; st <= SPRINT_FUTURE; st++) {
		if (state && !contains_ci(state, sim_sprint_states[st]))
			continue;
		for (size_t i = 0; i < SIM.n_sprints; i++) {
			const struct sim_sprint *s = &SIM.sprints[i];
			if (s->board_id != board || s->state != st)
				continue;
			if (k++ < start)
				continue;
			if (n == max) {
				more = true;
				break;
			}
			if (n++)
				out(&v, ",");
			out_sprint_obj(&v, r, s);
		}
	}
	w->status = 200;
	w->ctype = "application/json;charset=UTF-8";
	outf(&w->body, "{\"maxResults\":%ld,\"startAt\":%ld,\"isLast\":%s,\"values\":[%s]}", max,
	     start, more ? "false" : "true", v.data);
	buf_release(&v);
out:
	pthread_rwlock_unlock(&SIM.lock);
}

/* ---- routing ---------------------------------------------------------------------- */
static bool seg_eq(const char *path, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return false;
	*rest = path + n;
	return true;
}

static bool is_get(const struct sim_req *r)
{
	return strcmp(r->method, "GET") == 0;
}

static bool is_post(const struct sim_req *r)
{
	return strcmp(r->method, "POST") == 0;
}

static bool agile_handle(struct sim_req *r, struct sim_resp *w, const char *rest)
{
	if (strcmp(rest, "/board") == 0 && is_get(r)) {
		pthread_rwlock_rdlock(&SIM.lock);
		boards(r, w);
		pthread_rwlock_unlock(&SIM.lock);
		return true;
	}
	char tail[64];
	long long id;
	int consumed = 0;
	if (sscanf(rest, "/board/%lld%n", &id, &consumed) == 1 && is_get(r)) {
		snprintf(tail, sizeof(tail), "%s", rest + consumed);
		if (strcmp(tail, "/sprint") == 0) {
			board_sprints(r, w, id);
			return true;
		}
		if (!tail[0]) {
			bool scrum;
			const struct sim_project *p = board_project(id, &scrum);
			if (!p) {
				resp_error(
					w, 404,
					"Board does not exist or you do not have permission to see it.");
			} else {
				w->status = 200;
				w->ctype = "application/json;charset=UTF-8";
				out_board(&w->body, r, p, scrum);
			}
			return true;
		}
		return false;
	}
	if (sscanf(rest, "/sprint/%lld%n", &id, &consumed) == 1 && !rest[consumed] && is_get(r)) {
		pthread_rwlock_rdlock(&SIM.lock);
		const struct sim_sprint *s = sim_sprint_by_id(id);
		if (!s) {
			resp_error(
				w, 404,
				"Sprint does not exist or you do not have permission to see it.");
		} else {
			w->status = 200;
			w->ctype = "application/json;charset=UTF-8";
			out_sprint_obj(&w->body, r, s);
		}
		pthread_rwlock_unlock(&SIM.lock);
		return true;
	}
	return false;
}

bool api_handle(struct sim_req *r, struct sim_resp *w)
{
	const char *rest;
	if (seg_eq(r->path, "/rest/agile/1.0", &rest))
		return agile_handle(r, w, rest);
	bool dc = SIM.o.dc;
	/* Cloud: the old search is gone. */
	if (!dc && (strcmp(r->path, "/rest/api/3/search") == 0 ||
		    strcmp(r->path, "/rest/api/2/search") == 0)) {
		resp_error(w, 410,
			   "The requested API has been removed. Please migrate to the "
			   "/rest/api/3/search/jql API. A full migration guideline is available at "
			   "https://developer.atlassian.com/changelog/#CHANGE-2046");
		return true;
	}
	if (!seg_eq(r->path, api_prefix(), &rest))
		return false;
	if (!dc && strcmp(rest, "/search/jql") == 0 && (is_post(r) || is_get(r))) {
		search_jql(r, w);
		return true;
	}
	if (!dc && strcmp(rest, "/search/approximate-count") == 0 && is_post(r)) {
		approximate_count(r, w);
		return true;
	}
	if (dc && strcmp(rest, "/search") == 0 && (is_post(r) || is_get(r))) {
		search_dc(r, w);
		return true;
	}
	if (strncmp(rest, "/issue/", 7) == 0 && is_get(r)) {
		char ref[64];
		const char *s = rest + 7;
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 0 || n >= sizeof(ref))
			return false;
		memcpy(ref, s, n);
		ref[n] = '\0';
		if (!slash) {
			issue_get(r, w, ref);
			return true;
		}
		if (strcmp(slash, "/comment") == 0) {
			issue_comments(r, w, ref);
			return true;
		}
		if (strcmp(slash, "/worklog") == 0) {
			issue_worklogs(r, w, ref);
			return true;
		}
		return false;
	}
	if (strcmp(rest, "/worklog/updated") == 0 && is_get(r)) {
		worklog_feed(r, w, false);
		return true;
	}
	if (strcmp(rest, "/worklog/deleted") == 0 && is_get(r)) {
		worklog_feed(r, w, true);
		return true;
	}
	if (strcmp(rest, "/worklog/list") == 0 && is_post(r)) {
		list_by_ids(r, w, false);
		return true;
	}
	if (!dc && strcmp(rest, "/comment/list") == 0 && is_post(r)) {
		list_by_ids(r, w, true);
		return true;
	}
	if (!is_get(r))
		return false;
	if (strcmp(rest, "/field") == 0) {
		fields_list(r, w);
	} else if (strcmp(rest, "/myself") == 0) {
		myself(r, w);
	} else if (strcmp(rest, "/serverInfo") == 0) {
		server_info(r, w);
	} else if (strcmp(rest, "/users/search") == 0 || strcmp(rest, "/users") == 0 ||
		   strcmp(rest, "/user/search") == 0) {
		users_search(r, w, false);
	} else if (strcmp(rest, "/user/assignable/search") == 0) {
		users_search(r, w, true);
	} else if (!dc && strcmp(rest, "/project/search") == 0) {
		projects(r, w, true);
	} else if (strcmp(rest, "/project") == 0) {
		projects(r, w, false);
	} else {
		return false;
	}
	return true;
}
