/*
 * jira-sim control API under /_sim (no auth): health, the ground-truth
 * export the fidelity tests compare the database with, mutations between
 * syncs (they bump the issue's updated like Jira, except worklog deletion,
 * which only shows in /worklog/deleted), fault injection and request
 * statistics. Mutations take the data lock for writing.
 */
#include "tests/jira-sim/sim.h"

#include <cjson/cJSON.h>
#include <strings.h>

#define CJ cJSON_GetObjectItemCaseSensitive

static void ok_json(struct sim_resp *w, int status)
{
	w->status = status;
	w->ctype = "application/json;charset=UTF-8";
}

/* ---- truth ------------------------------------------------------------------ */
static void out_ms(struct buf *b, int64_t ms)
{
	if (ms == JS_TIME_NULL)
		out(b, "null");
	else
		outf(b, "%" PRId64, ms);
}

static void out_uid(struct buf *b, int u)
{
	if (u < 0)
		out(b, "null");
	else
		out_str(b, SIM.users[u].account_id);
}

/* "bodyText":..,"bodyAdf":.. for a document. */
static void out_doc_truth(struct buf *b, const char *tkey, const char *akey,
			  const struct sim_doc *d)
{
	struct buf text = BUF_INIT;
	bool present = d->seed || d->over_json;
	if (present)
		sim_doc_render(d, NULL, &text);
	outf(b, "\"%s\":", tkey);
	out_str(b, present && text.len ? text.data : NULL);
	outf(b, ",\"%s\":", akey);
	if (present && !SIM.o.dc)
		sim_doc_render(d, b, NULL);
	else
		out(b, "null");
	buf_release(&text);
}

static bool tracked_has(char **ids, size_t n, int u)
{
	if (u < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], SIM.users[u].account_id) == 0)
			return true;
	return false;
}

static bool issue_included(const struct sim_issue *is, char **ids, size_t n, bool filter)
{
	if (is->deleted)
		return false;
	if (!filter || tracked_has(ids, n, is->assignee))
		return true;
	for (size_t k = 0; k < is->n_worklogs; k++) {
		const struct sim_worklog *w = &SIM.worklogs[is->worklogs[k] - SIM_ID_BASE];
		if (!w->deleted && tracked_has(ids, n, w->author))
			return true;
	}
	return false;
}

static void truth(struct sim_req *r, struct sim_resp *w)
{
	const char *key = sim_arg(r, "project");
	const char *tracked = sim_arg(r, "tracked");
	char *copy = NULL;
	char **ids = NULL;
	size_t n_ids = 0;
	bool filter = tracked != NULL;
	if (tracked) {
		copy = xstrdup(tracked);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			ids = xrealloc(ids, (n_ids + 1) * sizeof(*ids));
			ids[n_ids++] = t;
		}
	}
	pthread_rwlock_rdlock(&SIM.lock);
	const struct sim_project *p = key ? sim_project_by_key(key) : NULL;
	if (!p) {
		resp_error(w, 404, "unknown project");
		goto out;
	}
	bool *used = xcalloc(SIM.n_users + 1, sizeof(*used));
	struct buf *b = &w->body;
	ok_json(w, 200);
	outf(b, "{\"project\":{\"key\":");
	out_str(b, p->key);
	outf(b, ",\"id\":%" PRId64 ",\"name\":", p->id);
	out_str(b, p->name);
	out(b, "},\"issues\":[");
	struct buf cm = BUF_INIT, wl = BUF_INIT;
	size_t n_is = 0, n_cm = 0, n_wl = 0;
	for (size_t i = 0; i < p->n_issues; i++) {
		const struct sim_issue *is = p->by_num[i];
		if (!issue_included(is, ids, n_ids, filter))
			continue;
		if (n_is++)
			out(b, ",");
		if (is->assignee >= 0)
			used[is->assignee] = true;
		used[is->reporter] = true;
		outf(b, "{\"id\":%" PRId64 ",\"key\":\"%s-%d\",\"summary\":", is->id, p->key,
		     is->num);
		out_str(b, is->summary);
		const struct sim_status *st = &sim_statuses[is->status];
		out(b, ",\"status\":");
		out_str(b, st->name);
		out(b, ",\"statusCategory\":");
		out_str(b, st->cat_key);
		out(b, ",\"priority\":");
		out_str(b, is->priority < 0 ? NULL : sim_priorities[is->priority].name);
		out(b, ",\"issueType\":");
		out_str(b, sim_types[is->type].name);
		out(b, ",\"assignee\":");
		out_uid(b, is->assignee);
		out(b, ",\"reporter\":");
		out_uid(b, is->reporter);
		out(b, ",\"created\":");
		out_ms(b, is->created);
		out(b, ",\"updated\":");
		out_ms(b, is->updated);
		out(b, ",\"resolved\":");
		out_ms(b, is->resolved);
		out(b, ",\"labels\":[");
		for (int l = 0; l < is->n_labels; l++) {
			if (l)
				out(b, ",");
			out_str(b, is->labels[l]);
		}
		out(b, "],");
		out_doc_truth(b, "descriptionText", "descriptionAdf", &is->desc);
		out(b, ",\"sprintIds\":[");
		for (int s = 0; s < is->n_sprints; s++)
			outf(b, "%s%" PRId64, s ? "," : "", is->sprints[s]);
		out(b, "]}");
		for (size_t k = 0; k < is->n_comments; k++) {
			const struct sim_comment *c = &SIM.comments[is->comments[k] - SIM_ID_BASE];
			if (c->deleted)
				continue;
			used[c->author] = used[c->update_author] = true;
			if (n_cm++)
				out(&cm, ",");
			outf(&cm, "{\"id\":%" PRId64 ",\"issueId\":%" PRId64 ",\"author\":", c->id,
			     c->issue_id);
			out_uid(&cm, c->author);
			out(&cm, ",\"updateAuthor\":");
			out_uid(&cm, c->update_author);
			out(&cm, ",");
			out_doc_truth(&cm, "bodyText", "bodyAdf", &c->body);
			out(&cm, ",\"created\":");
			out_ms(&cm, c->created);
			out(&cm, ",\"updated\":");
			out_ms(&cm, c->updated);
			out(&cm, "}");
		}
		for (size_t k = 0; k < is->n_worklogs; k++) {
			const struct sim_worklog *x = &SIM.worklogs[is->worklogs[k] - SIM_ID_BASE];
			if (x->deleted)
				continue;
			used[x->author] = used[x->update_author] = true;
			if (n_wl++)
				out(&wl, ",");
			outf(&wl, "{\"id\":%" PRId64 ",\"issueId\":%" PRId64 ",\"author\":", x->id,
			     x->issue_id);
			out_uid(&wl, x->author);
			out(&wl, ",\"updateAuthor\":");
			out_uid(&wl, x->update_author);
			out(&wl, ",");
			out_doc_truth(&wl, "commentText", "commentAdf", &x->comment);
			out(&wl, ",\"started\":");
			out_ms(&wl, x->started);
			out(&wl, ",\"created\":");
			out_ms(&wl, x->created);
			out(&wl, ",\"updated\":");
			out_ms(&wl, x->updated);
			outf(&wl, ",\"timeSpentSeconds\":%" PRId64 "}", x->seconds);
		}
	}
	out(b, "],\"comments\":[");
	outn(b, cm.data, cm.len);
	out(b, "],\"worklogs\":[");
	outn(b, wl.data, wl.len);
	out(b, "],\"users\":[");
	size_t nu = 0;
	for (size_t u = 0; u < SIM.n_users; u++) {
		if (!used[u])
			continue;
		const struct sim_user *x = &SIM.users[u];
		if (nu++)
			out(b, ",");
		out(b, "{\"accountId\":");
		out_str(b, x->account_id);
		out(b, ",\"displayName\":");
		out_str(b, x->display_name);
		out(b, ",\"emailAddress\":");
		out_str(b, x->email);
		out(b, ",\"timeZone\":");
		out_str(b, x->tz);
		/* Data Center users have no accountType. */
		out(b, SIM.o.dc ? ",\"accountType\":null,\"active\":true}"
				: ",\"accountType\":\"atlassian\",\"active\":true}");
	}
	out(b, "],\"sprints\":[");
	size_t ns = 0;
	for (size_t s = 0; s < SIM.n_sprints; s++) {
		const struct sim_sprint *sp = &SIM.sprints[s];
		if (sp->board_id != p->scrum_board)
			continue;
		if (ns++)
			out(b, ",");
		outf(b, "{\"id\":%" PRId64 ",\"boardId\":%" PRId64 ",\"name\":", sp->id,
		     sp->board_id);
		out_str(b, sp->name);
		outf(b, ",\"state\":\"%s\",\"goal\":", sim_sprint_states[sp->state]);
		out_str(b, sp->goal);
		out(b, ",\"startDate\":");
		out_ms(b, sp->start);
		out(b, ",\"endDate\":");
		out_ms(b, sp->end);
		out(b, ",\"completeDate\":");
		out_ms(b, sp->complete);
		out(b, "}");
	}
	out(b, "]}");
	buf_release(&cm);
	buf_release(&wl);
	free(used);
out:
	pthread_rwlock_unlock(&SIM.lock);
	free(ids);
	free(copy);
}

/* ---- mutations ------------------------------------------------------------------ */
static int user_arg(const cJSON *v, int def, char *err, size_t errlen)
{
	if (!v)
		return def;
	if (cJSON_IsNull(v))
		return -1;
	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "user must be an account id string");
		return -2;
	}
	int u = sim_user_by_account(v->valuestring);
	if (u < 0) {
		snprintf(err, errlen, "unknown user '%s'", v->valuestring);
		return -2;
	}
	return u;
}

static int named_index(const cJSON *v, const void *table, size_t stride, int n, size_t name_off)
{
	if (!cJSON_IsString(v))
		return -2;
	for (int i = 0; i < n; i++) {
		const char *const *name = (const char *const *)((const char *)table +
								stride * (size_t)i + name_off);
		const char *const *id = (const char *const *)((const char *)table +
							      stride * (size_t)i);
		if (strcasecmp(*name, v->valuestring) == 0 || strcmp(*id, v->valuestring) == 0)
			return i;
	}
	return -2;
}

/* Apply the optional fields of an issue edit; -1 and err on bad input
 * (nothing is changed then: validation first). */
static int apply_issue_fields(struct sim_issue *is, const cJSON *body, char *err, size_t errlen)
{
	const cJSON *summary = CJ(body, "summary"), *status = CJ(body, "status"),
		    *assignee = CJ(body, "assignee"), *labels = CJ(body, "labels"),
		    *desc = CJ(body, "description"), *sprints = CJ(body, "sprintIds"),
		    *priority = CJ(body, "priority");
	int st = -1, pr = -3, as = -3;
	if (summary && (!cJSON_IsString(summary) || !*summary->valuestring)) {
		snprintf(err, errlen, "summary must be a non-empty string");
		return -1;
	}
	if (status) {
		st = named_index(status, sim_statuses, sizeof(sim_statuses[0]), sim_n_statuses,
				 offsetof(struct sim_status, name));
		if (st < 0) {
			snprintf(err, errlen, "unknown status");
			return -1;
		}
	}
	if (priority) {
		pr = cJSON_IsNull(priority)
			     ? -1
			     : named_index(priority, sim_priorities, sizeof(sim_priorities[0]),
					   sim_n_priorities, offsetof(struct sim_named, name));
		if (pr == -2) {
			snprintf(err, errlen, "unknown priority");
			return -1;
		}
	}
	if (assignee) {
		as = user_arg(assignee, -1, err, errlen);
		if (as == -2)
			return -1;
	}
	if (labels && (!cJSON_IsArray(labels) || cJSON_GetArraySize(labels) > SIM_MAX_LABELS)) {
		snprintf(err, errlen, "labels must be an array of at most %d strings",
			 SIM_MAX_LABELS);
		return -1;
	}
	const cJSON *it;
	if (labels)
		cJSON_ArrayForEach(it, labels) if (!cJSON_IsString(it) || !*it->valuestring ||
						   strchr(it->valuestring, ' '))
		{
			snprintf(err, errlen, "labels must be non-empty strings without spaces");
			return -1;
		}
	if (desc && !cJSON_IsString(desc) && !cJSON_IsNull(desc)) {
		snprintf(err, errlen, "description must be a string or null");
		return -1;
	}
	if (sprints) {
		if (!cJSON_IsArray(sprints) ||
		    cJSON_GetArraySize(sprints) > SIM_MAX_ISSUE_SPRINTS) {
			snprintf(err, errlen, "sprintIds must be an array of at most %d ids",
				 SIM_MAX_ISSUE_SPRINTS);
			return -1;
		}
		cJSON_ArrayForEach(it, sprints)
		{
			const struct sim_sprint *s = cJSON_IsNumber(it)
							     ? sim_sprint_by_id(
								       (int64_t)it->valuedouble)
							     : NULL;
			if (!s || s->project != is->project) {
				snprintf(err, errlen, "unknown sprint id for this project");
				return -1;
			}
		}
	}
	if (summary) {
		free(is->summary);
		is->summary = xstrdup(summary->valuestring);
	}
	if (st >= 0) {
		bool was_done = strcmp(sim_statuses[is->status].cat_key, "done") == 0;
		is->status = st;
		bool done = strcmp(sim_statuses[st].cat_key, "done") == 0;
		if (done && !was_done)
			is->resolved = sim_stamp();
		else if (!done)
			is->resolved = JS_TIME_NULL;
	}
	if (pr != -3)
		is->priority = pr;
	if (as != -3)
		is->assignee = as;
	if (labels) {
		for (int l = 0; l < is->n_labels; l++)
			free(is->labels[l]);
		is->n_labels = 0;
		cJSON_ArrayForEach(it, labels)
			is->labels[is->n_labels++] = xstrdup(it->valuestring);
	}
	if (desc)
		sim_doc_set_text(&is->desc, cJSON_IsString(desc) ? desc->valuestring : NULL);
	if (sprints) {
		is->n_sprints = 0;
		cJSON_ArrayForEach(it, sprints)
			is->sprints[is->n_sprints++] = (int64_t)it->valuedouble;
	}
	return 0;
}

static bool parse_id_seg(const char *s, int64_t *id, const char **rest)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return false;
	*id = v;
	*rest = end;
	return true;
}

static void bad_request(struct sim_resp *w, const char *msg)
{
	resp_error(w, 400, msg);
}

static void issues_create(struct sim_resp *w, const cJSON *body)
{
	const cJSON *pk = CJ(body, "project");
	struct sim_project *p = cJSON_IsString(pk) ? sim_project_by_key(pk->valuestring) : NULL;
	if (!p) {
		bad_request(w, "unknown or missing project");
		return;
	}
	struct sim_issue *is = sim_add_issue(p);
	char err[200];
	if (apply_issue_fields(is, body, err, sizeof(err)) < 0) {
		sim_delete_issue(is);
		bad_request(w, err);
		return;
	}
	ok_json(w, 201);
	outf(&w->body, "{\"id\":%" PRId64 ",\"key\":\"%s-%d\"}", is->id, p->key, is->num);
}

static void comment_write(struct sim_resp *w, struct sim_issue *is, struct sim_comment *c,
			  const cJSON *body)
{
	const cJSON *text = CJ(body, "body");
	char err[200];
	int author = user_arg(CJ(body, "author"), c ? c->author : 0, err, sizeof(err));
	if (author < 0) {
		bad_request(w, author == -1 ? "author cannot be null" : err);
		return;
	}
	if (!cJSON_IsString(text) || !*text->valuestring) {
		bad_request(w, "body must be a non-empty string");
		return;
	}
	if (!c) {
		c = sim_add_comment(is, author, text->valuestring);
		ok_json(w, 201);
	} else {
		sim_doc_set_text(&c->body, text->valuestring);
		c->update_author = author;
		c->updated = sim_stamp();
		sim_touch_issue(is);
		ok_json(w, 200);
	}
	outf(&w->body, "{\"id\":%" PRId64 "}", c->id);
}

static void worklog_write(struct sim_resp *w, struct sim_issue *is, struct sim_worklog *x,
			  const cJSON *body)
{
	const cJSON *secs = CJ(body, "timeSpentSeconds"), *comment = CJ(body, "comment"),
		    *started = CJ(body, "started");
	char err[200];
	int author = user_arg(CJ(body, "author"), x ? x->author : 0, err, sizeof(err));
	if (author < 0) {
		bad_request(w, author == -1 ? "author cannot be null" : err);
		return;
	}
	if ((!x && !secs) || (secs && (!cJSON_IsNumber(secs) || secs->valuedouble < 60 ||
				       secs->valuedouble > 7 * 86400))) {
		bad_request(w, "timeSpentSeconds must be a number of seconds (60 .. 604800)");
		return;
	}
	if (comment && !cJSON_IsString(comment) && !cJSON_IsNull(comment)) {
		bad_request(w, "comment must be a string or null");
		return;
	}
	if (started && !cJSON_IsNumber(started)) {
		bad_request(w, "started must be epoch milliseconds");
		return;
	}
	if (!x) {
		x = sim_add_worklog(is, author, (int64_t)secs->valuedouble,
				    cJSON_IsString(comment) ? comment->valuestring : NULL);
		ok_json(w, 201);
	} else {
		if (secs)
			x->seconds = (int64_t)secs->valuedouble;
		if (comment)
			sim_doc_set_text(&x->comment,
					 cJSON_IsString(comment) ? comment->valuestring : NULL);
		x->update_author = author;
		x->updated = sim_stamp();
		sim_touch_issue(is);
		ok_json(w, 200);
	}
	if (started)
		x->started = (int64_t)started->valuedouble;
	outf(&w->body, "{\"id\":%" PRId64 "}", x->id);
}

static int state_index(const cJSON *v)
{
	if (!cJSON_IsString(v))
		return -1;
	for (int i = 0; i < 3; i++)
		if (strcasecmp(v->valuestring, sim_sprint_states[i]) == 0)
			return i;
	return -1;
}

static void sprint_write(struct sim_resp *w, struct sim_sprint *s, const cJSON *body)
{
	const cJSON *name = CJ(body, "name"), *state = CJ(body, "state"), *goal = CJ(body, "goal");
	int st = state ? state_index(state) : -2;
	if (st == -1 || (name && (!cJSON_IsString(name) || !*name->valuestring)) ||
	    (goal && !cJSON_IsString(goal) && !cJSON_IsNull(goal))) {
		bad_request(
			w,
			"name must be a string, state closed|active|future, goal a string or null");
		return;
	}
	if (!s) {
		const cJSON *pk = CJ(body, "project");
		struct sim_project *p = cJSON_IsString(pk) ? sim_project_by_key(pk->valuestring)
							   : NULL;
		if (!p || !name) {
			bad_request(w, "project and name are required");
			return;
		}
		s = sim_add_sprint(p, name->valuestring, st >= 0 ? st : SPRINT_FUTURE);
		ok_json(w, 201);
	} else {
		if (name)
			snprintf(s->name, sizeof(s->name), "%s", name->valuestring);
		if (st >= 0)
			sim_sprint_set_state(s, st);
		ok_json(w, 200);
	}
	if (goal) {
		free(s->goal);
		s->goal = cJSON_IsString(goal) ? xstrdup(goal->valuestring) : NULL;
	}
	outf(&w->body, "{\"id\":%" PRId64 "}", s->id);
}

static void bulk_update(struct sim_resp *w, const cJSON *body)
{
	const cJSON *pk = CJ(body, "project"), *count = CJ(body, "count");
	struct sim_project *p = cJSON_IsString(pk) ? sim_project_by_key(pk->valuestring) : NULL;
	if (!p || !cJSON_IsNumber(count) || count->valuedouble < 0) {
		bad_request(w, "project and count are required");
		return;
	}
	long n = (long)count->valuedouble;
	long done = 0;
	if (p->n_order) {
		for (long i = 0; i < n; i++) {
			struct sim_issue *is = p->order[rng_next(&SIM.mut_rng) % p->n_order];
			free(is->summary);
			struct buf b = BUF_INIT;
			outf(&b, "Bulk edit %ld of %s-%d", i + 1, p->key, is->num);
			is->summary = buf_detach(&b);
			sim_touch_issue(is);
			done++;
		}
	}
	ok_json(w, 200);
	outf(&w->body, "{\"updated\":%ld}", done);
}

/* ---- faults and stats ------------------------------------------------------------ */
static void faults_add(struct sim_resp *w, const cJSON *body)
{
	const cJSON *path = CJ(body, "path"), *kind = CJ(body, "kind"), *count = CJ(body, "count"),
		    *ra = CJ(body, "retryAfter"), *dm = CJ(body, "delayMs");
	if (!cJSON_IsString(kind) || !sim_fault_kind_valid(kind->valuestring) ||
	    (path && !cJSON_IsString(path)) || (count && !cJSON_IsNumber(count))) {
		bad_request(w, "kind must be one of 429 500 502 503 401 403_suspended 404_site 410 "
			       "malformed truncated delay drop");
		return;
	}
	pthread_mutex_lock(&SIM.meta_lock);
	if (SIM.n_faults == JS_ARRAY_LEN(SIM.faults)) {
		pthread_mutex_unlock(&SIM.meta_lock);
		bad_request(w, "too many faults");
		return;
	}
	struct sim_fault *f = &SIM.faults[SIM.n_faults++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path ? path->valuestring : "/");
	snprintf(f->kind, sizeof(f->kind), "%s", kind->valuestring);
	f->count = count ? (int)count->valuedouble : 1;
	f->retry_after = cJSON_IsNumber(ra) ? (int)ra->valuedouble : 0;
	f->delay_ms = cJSON_IsNumber(dm) ? (int)dm->valuedouble : 0;
	pthread_mutex_unlock(&SIM.meta_lock);
	ok_json(w, 201);
	out(&w->body, "{\"ok\":true}");
}

static void stats_get(struct sim_resp *w)
{
	ok_json(w, 200);
	pthread_mutex_lock(&SIM.meta_lock);
	outf(&w->body, "{\"total\":%" PRId64 ",\"maxInFlight\":%" PRId64 ",\"byPath\":{",
	     SIM.stats_total, SIM.max_in_flight);
	for (size_t i = 0; i < SIM.n_stats; i++) {
		if (i)
			out(&w->body, ",");
		out_str(&w->body, SIM.stats[i].path);
		outf(&w->body, ":%" PRId64, SIM.stats[i].n);
	}
	out(&w->body, "}}");
	pthread_mutex_unlock(&SIM.meta_lock);
}

/* ---- routing ------------------------------------------------------------------- */
static void mutate(struct sim_req *r, struct sim_resp *w, const char *path, const cJSON *body)
{
	bool post = strcmp(r->method, "POST") == 0, del = strcmp(r->method, "DELETE") == 0;
	int64_t id;
	const char *rest;
	if (strcmp(path, "/issues") == 0 && post) {
		issues_create(w, body);
	} else if (strncmp(path, "/issues/", 8) == 0 && parse_id_seg(path + 8, &id, &rest)) {
		struct sim_issue *is = sim_issue_by_id(id);
		if (!is) {
			resp_error(w, 404,
				   "Issue does not exist or you do not have permission to see it.");
		} else if (!*rest && post) {
			char err[200];
			if (apply_issue_fields(is, body, err, sizeof(err)) < 0) {
				bad_request(w, err);
				return;
			}
			sim_touch_issue(is);
			ok_json(w, 200);
			outf(&w->body, "{\"id\":%" PRId64 ",\"updated\":%" PRId64 "}", is->id,
			     is->updated);
		} else if (!*rest && del) {
			sim_delete_issue(is);
			ok_json(w, 200);
			out(&w->body, "{\"deleted\":true}");
		} else if (strcmp(rest, "/comments") == 0 && post) {
			comment_write(w, is, NULL, body);
		} else if (strcmp(rest, "/worklogs") == 0 && post) {
			worklog_write(w, is, NULL, body);
		} else {
			resp_error(w, 404, "unknown control endpoint");
		}
	} else if (strncmp(path, "/comments/", 10) == 0 && parse_id_seg(path + 10, &id, &rest) &&
		   !*rest) {
		struct sim_comment *c = sim_comment_by_id(id);
		struct sim_issue *is = c ? sim_issue_by_id(c->issue_id) : NULL;
		if (!is) {
			resp_error(w, 404, "no such comment");
		} else if (post) {
			comment_write(w, is, c, body);
		} else if (del) {
			c->deleted = true;
			sim_touch_issue(is);
			ok_json(w, 200);
			out(&w->body, "{\"deleted\":true}");
		}
	} else if (strncmp(path, "/worklogs/", 10) == 0 && parse_id_seg(path + 10, &id, &rest) &&
		   !*rest) {
		struct sim_worklog *x = sim_worklog_by_id(id);
		struct sim_issue *is = x ? sim_issue_by_id(x->issue_id) : NULL;
		if (!is) {
			resp_error(w, 404, "no such worklog");
		} else if (post) {
			worklog_write(w, is, x, body);
		} else if (del) {
			/* Jira does not bump the issue: only the deleted feed tells. */
			x->deleted = true;
			x->deleted_at = sim_stamp();
			ok_json(w, 200);
			out(&w->body, "{\"deleted\":true}");
		}
	} else if (strcmp(path, "/sprints") == 0 && post) {
		sprint_write(w, NULL, body);
	} else if (strncmp(path, "/sprints/", 9) == 0 && parse_id_seg(path + 9, &id, &rest) &&
		   !*rest && post) {
		struct sim_sprint *s = sim_sprint_by_id(id);
		if (!s)
			resp_error(w, 404, "no such sprint");
		else
			sprint_write(w, s, body);
	} else if (strcmp(path, "/bulk-update") == 0 && post) {
		bulk_update(w, body);
	} else {
		resp_error(w, 404, "unknown control endpoint");
	}
}

bool control_handle(struct sim_req *r, struct sim_resp *w)
{
	const char *path = r->path + 5; /* after "/_sim" */
	bool get = strcmp(r->method, "GET") == 0;
	if (strcmp(path, "/health") == 0 && get) {
		w->status = 200;
		w->ctype = "text/plain";
		out(&w->body, "ok\n");
		return true;
	}
	if (strcmp(path, "/truth") == 0 && get) {
		truth(r, w);
		return true;
	}
	if (strcmp(path, "/stats") == 0 && get) {
		stats_get(w);
		return true;
	}
	if (strcmp(path, "/stats/reset") == 0 && strcmp(r->method, "POST") == 0) {
		pthread_mutex_lock(&SIM.meta_lock);
		SIM.stats_total = 0;
		SIM.n_stats = 0;
		SIM.max_in_flight = SIM.in_flight;
		pthread_mutex_unlock(&SIM.meta_lock);
		ok_json(w, 200);
		out(&w->body, "{\"ok\":true}");
		return true;
	}
	if (strcmp(path, "/faults") == 0 && strcmp(r->method, "DELETE") == 0) {
		pthread_mutex_lock(&SIM.meta_lock);
		SIM.n_faults = 0;
		pthread_mutex_unlock(&SIM.meta_lock);
		ok_json(w, 200);
		out(&w->body, "{\"ok\":true}");
		return true;
	}
	if (get)
		return false;
	cJSON *body = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len)
				  : cJSON_CreateObject();
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		bad_request(w, "the body must be a JSON object");
		return true;
	}
	if (strcmp(path, "/faults") == 0 && strcmp(r->method, "POST") == 0) {
		faults_add(w, body);
	} else {
		pthread_rwlock_wrlock(&SIM.lock);
		mutate(r, w, path, body);
		pthread_rwlock_unlock(&SIM.lock);
	}
	cJSON_Delete(body);
	return true;
}
