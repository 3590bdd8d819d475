/*
 * The sync run as a state machine over its checkpoint (a JSON object in
 * sync_run.checkpoint):
 *
 *   issues --(last page)--> catchup (full runs) --> verify (Cloud: truncated
 *   comment, then worklog sets re-read by id) --> overflow (comments, then
 *   worklogs, per issue) --> worklog_deleted (incremental) --> sprints (every
 *   SPRINT_REFRESH_EVERY for incremental runs) --> reconcile (full runs, or
 *   every RECONCILE_EVERY) --> finalize
 *
 * Every step fetches first (no transaction open during HTTP), then in one
 * transaction writes its rows and moves the run from step_seq N to N+1 with
 * the new checkpoint. A step replayed after a crash either finds the run at
 * N (and redoes the same idempotent work) or past N (STALE: nothing to do).
 */
#include "worker/worker.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#include "store/store.h"

#define OVERFLOW_ISSUES_PER_STEP 10
#define DELETED_FEED_PAGES 10
/* The worklog feeds omit the last minute; stay behind it. */
#define FEED_LAG_MS 60000

struct ckpt {
	char phase[24];
	char *cursor;     /* search cursor of the current phase, or NULL */
	int64_t since_ms; /* lower bound of the issue search, or JS_TIME_NULL */
	int64_t max_updated_ms;
	int64_t wl_until_ms; /* worklog feed position reached, or JS_TIME_NULL */
	int64_t sprints_ms;  /* when this run listed the sprints, or JS_TIME_NULL */
	bool reconcile;
	/* A full run of a project that had no issue rows when it started: every
	 * issue row of the project at its end is one its pages wrote, so it
	 * has nothing to reconcile and records no seen ids. */
	bool empty;
	int64_t pages;
	bool fresh; /* a new run: the first step fills the checkpoint */
};

static void ckpt_release(struct ckpt *c)
{
	free(c->cursor);
	c->cursor = NULL;
}

static int64_t json_i64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : JS_TIME_NULL;
}

static int ckpt_parse(const char *text, struct ckpt *c)
{
	memset(c, 0, sizeof *c);
	cJSON *o = cJSON_Parse(text);
	if (!o)
		return -1;
	const cJSON *phase = cJSON_GetObjectItemCaseSensitive(o, "phase");
	const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(o, "cursor");
	snprintf(c->phase, sizeof c->phase, "%s",
		 cJSON_IsString(phase) ? phase->valuestring : "issues");
	c->cursor = cJSON_IsString(cursor) ? xstrdup(cursor->valuestring) : NULL;
	c->since_ms = json_i64(o, "since");
	c->max_updated_ms = json_i64(o, "maxUpdated");
	c->wl_until_ms = json_i64(o, "wlUntil");
	c->sprints_ms = json_i64(o, "sprintsAt");
	c->reconcile = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "reconcile"));
	c->empty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "empty"));
	c->fresh = !cJSON_IsString(phase);
	c->pages = json_i64(o, "pages");
	if (c->pages == JS_TIME_NULL)
		c->pages = 0;
	cJSON_Delete(o);
	return 0;
}

static char *ckpt_text(const struct ckpt *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "phase", c->phase);
	if (c->cursor)
		cJSON_AddStringToObject(o, "cursor", c->cursor);
	else
		cJSON_AddNullToObject(o, "cursor");
	/* Millisecond epochs fit a double exactly (< 2^53). */
	const struct {
		const char *name;
		int64_t v;
	} nums[] = {{"since", c->since_ms},
		    {"maxUpdated", c->max_updated_ms},
		    {"wlUntil", c->wl_until_ms},
		    {"sprintsAt", c->sprints_ms}};
	for (size_t i = 0; i < JS_ARRAY_LEN(nums); i++)
		if (nums[i].v == JS_TIME_NULL)
			cJSON_AddNullToObject(o, nums[i].name);
		else
			cJSON_AddNumberToObject(o, nums[i].name, (double)nums[i].v);
	cJSON_AddBoolToObject(o, "reconcile", c->reconcile);
	if (c->empty)
		cJSON_AddBoolToObject(o, "empty", true);
	cJSON_AddNumberToObject(o, "pages", (double)c->pages);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}

void worker_sync_init(struct worker_sync *w, PGconn *db, struct jira_client *jira,
		      const struct config *cfg)
{
	memset(w, 0, sizeof *w);
	w->db = db;
	w->jira = jira;
	w->cfg = cfg;
	w->estimate = -1;
	w->started_mono = mono_ms();
	batch_init(&w->batch);
}

/*
 * Prefetch of the next search page, or of the next overflow step's issues.
 * The helper thread owns pf_jira, its own copy of the query (or issue ids)
 * and a batch while it runs; the step thread touches them only after
 * pthread_join. A prefetch is used when the next step asks for exactly what
 * it fetched (same phase, lower bound and cursor, or the same issues), and
 * discarded otherwise.
 */
struct worker_prefetch {
	pthread_t thread;
	bool running;
	struct jira_client *jira;
	char phase[24];
	char *cursor_in;  /* the cursor the page was asked with */
	char *cursor_out; /* the page's next cursor */
	int64_t since_ms;
	char *project_key;
	char **accounts;
	size_t n_accounts;
	struct batch batch;
	int rc;
	struct jira_error err;
	/* An overflow prefetch: the sets of these issues, of kind okind. */
	bool overflow;
	char okind[8];
	int64_t ids[OVERFLOW_ISSUES_PER_STEP];
	size_t n_ids;
	int64_t done[OVERFLOW_ISSUES_PER_STEP];
	size_t n_done;
	/* The helper client's counters, read only after a join. */
	int64_t seen_requests, seen_bytes;
	int64_t acc_requests, acc_bytes;
};

/* After a join: fold the helper client's new requests into acc_*. */
static void prefetch_account(struct worker_prefetch *pf)
{
	if (!pf->jira)
		return;
	struct jira_stats st;
	jira_get_stats(pf->jira, &st);
	pf->acc_requests += st.requests - pf->seen_requests;
	pf->acc_bytes += st.bytes - pf->seen_bytes;
	pf->seen_requests = st.requests;
	pf->seen_bytes = st.bytes;
}

static void *prefetch_main(void *arg)
{
	struct worker_prefetch *pf = arg;
	struct jira_query q = {.project_key = pf->project_key,
			       .updated_since_ms = pf->since_ms,
			       .account_ids = (const char *const *)pf->accounts,
			       .n_account_ids = pf->n_accounts};
	char *cursor = pf->cursor_in;
	pf->rc = jira_search_page(pf->jira, &q, &cursor, &pf->batch, &pf->err);
	pf->cursor_out = pf->rc == 0 ? cursor : NULL;
	if (pf->rc == 0 && cursor == pf->cursor_in)
		pf->cursor_out = cursor ? xstrdup(cursor) : NULL;
	return NULL;
}

static void prefetch_clear(struct worker_prefetch *pf)
{
	if (pf->running) {
		pthread_join(pf->thread, NULL);
		pf->running = false;
	}
	prefetch_account(pf);
	free(pf->cursor_in);
	free(pf->cursor_out);
	free(pf->project_key);
	for (size_t i = 0; i < pf->n_accounts; i++)
		free(pf->accounts[i]);
	free(pf->accounts);
	pf->cursor_in = pf->cursor_out = pf->project_key = NULL;
	pf->accounts = NULL;
	pf->n_accounts = 0;
	pf->overflow = false;
	pf->n_ids = pf->n_done = 0;
	batch_reset(&pf->batch);
}

void worker_prefetch_free(struct worker_prefetch *pf)
{
	if (!pf)
		return;
	prefetch_clear(pf);
	batch_release(&pf->batch);
	free(pf);
}

void worker_sync_release(struct worker_sync *w)
{
	worker_prefetch_free(w->pf);
	w->pf = NULL;
	batch_release(&w->batch);
}

/* A database failure as a classified error. */
static void db_error(struct worker_sync *w, struct jira_error *err, const char *what,
		     const char *msg)
{
	jira_error_set(err, store_conn_lost(w->db) ? JIRA_DB_UNAVAILABLE : JIRA_INTERNAL, "%s: %s",
		       what, msg);
}

int worker_run_begin(struct worker_sync *w, const char *project_key,
		     const struct worker_run_opts *opts, int64_t *run_id, bool *resumed,
		     struct jira_error *err)
{
	char e[STORE_ERRLEN];
	struct store_project p;
	struct store_run run;
	int rc = -1;

	if (!jira_valid_project_key(project_key)) {
		jira_error_set(err, JIRA_CONFIG_ERROR, "invalid project key '%s'", project_key);
		return -1;
	}
	for (size_t i = 0; i < opts->n_account_ids; i++)
		if (!jira_valid_account_id(opts->account_ids[i])) {
			jira_error_set(err, JIRA_CONFIG_ERROR, "invalid account id '%s'",
				       opts->account_ids[i]);
			return -1;
		}
	int f = store_project_by_key(w->db, project_key, &p, e, sizeof e);
	if (f < 0) {
		db_error(w, err, "cannot read project", e);
		return -1;
	}
	if (f == 1) {
		jira_error_set(err, JIRA_NOT_FOUND,
			       "project '%s' is not registered: run 'jirasync project register %s'",
			       project_key, project_key);
		return -1;
	}
	int a = store_run_active(w->db, p.id, &run, e, sizeof e);
	if (a < 0) {
		db_error(w, err, "cannot read runs", e);
		goto out;
	}
	if (a == 0) {
		*run_id = run.id;
		*resumed = true;
		store_run_release(&run);
		rc = 0;
		goto out;
	}

	char kind[16], rid[24];
	int cr = store_run_start(w->db, p.id, opts->full, opts->trigger, opts->slot_ms,
				 opts->account_ids, opts->n_account_ids, run_id, kind, e, sizeof e);
	if (cr < 0) {
		db_error(w, err, "cannot create run", e);
		goto out;
	}
	if (cr == 1) {
		rc = 1; /* lost a race with another starter, or the slot is taken */
		goto out;
	}
	*resumed = false;
	fmt_i64(rid, *run_id);
	log_info("run started", "project", project_key, "#run", rid, "kind", kind);
	rc = 0;
out:
	store_project_release(&p);
	return rc;
}

/* How long what jira_prepare learnt about a site (flavour, sprint field) is
 * trusted before incremental runs ask again; full runs always ask. */
#define SITE_CACHE_MS (24LL * 3600 * 1000)

int worker_prepare(struct worker_sync *w, bool fresh, struct jira_error *err)
{
	char e[STORE_ERRLEN], flavour[16], field[128];
	if (jira_prepared(w->jira))
		return 0;
	const char *url = w->cfg->jira_base_url;
	if (!fresh && url) {
		int f = store_site_get(w->db, url, SITE_CACHE_MS, flavour, field, e, sizeof e);
		if (f == 0) {
			enum jira_flavour fl = strcmp(flavour, "cloud") == 0 ? JIRA_FLAVOUR_CLOUD
									     : JIRA_FLAVOUR_DC;
			/* A flavour forced by configuration wins over the cache. */
			if (w->cfg->jira_flavour == JIRA_FLAVOUR_AUTO ||
			    w->cfg->jira_flavour == fl) {
				jira_set_site(w->jira, fl, field);
				return 0;
			}
		} else if (f < 0) {
			log_warn("cannot read the jira site cache", "error", e);
		}
	}
	if (jira_prepare(w->jira, err) < 0)
		return -1;
	if (url) {
		const char *fl = jira_flavour_of(w->jira) == JIRA_FLAVOUR_CLOUD ? "cloud"
										: "datacenter";
		const char *sf = jira_sprint_field(w->jira);
		if (store_site_put(w->db, url, fl, sf ? sf : NULL, e, sizeof e) < 0)
			log_warn("cannot write the jira site cache", "error", e);
	}
	return 0;
}

/* ---- steps ------------------------------------------------------------------ */

struct step {
	struct worker_sync *w;
	struct store_run run;
	struct store_project project;
	struct ckpt c; /* becomes the next checkpoint */
	struct store_counts counts;
	struct jira_stats stats0;
	const char *log_msg; /* INFO line written with the step, or NULL */
	bool in_txn;
};

/* Open the step's transaction: called after the fetch, before any write. */
static int step_begin(struct step *s, struct jira_error *err)
{
	char e[STORE_ERRLEN];
	if (s->in_txn)
		return 0;
	if (store_begin(s->w->db, e, sizeof e) < 0) {
		jira_error_set(err, store_conn_lost(s->w->db) ? JIRA_DB_UNAVAILABLE : JIRA_INTERNAL,
			       "cannot begin transaction: %s", e);
		return -1;
	}
	s->in_txn = true;
	return 0;
}

/* Build the run's issue query. account ids point into run/project memory. */
static void make_query(struct step *s, struct jira_query *q, bool ids_only)
{
	memset(q, 0, sizeof *q);
	q->project_key = s->project.key;
	q->ids_only = ids_only;
	q->updated_since_ms = ids_only ? JS_TIME_NULL : s->c.since_ms;
	if (s->run.n_account_ids) {
		q->account_ids = (const char *const *)s->run.account_ids;
		q->n_account_ids = s->run.n_account_ids;
	} else if (s->project.n_tracked) {
		q->account_ids = (const char *const *)s->project.tracked;
		q->n_account_ids = (size_t)s->project.n_tracked;
	}
}

static bool is_full(const struct step *s)
{
	return strcmp(s->run.kind, "full") == 0;
}

static bool is_backfill(const struct step *s)
{
	return strcmp(s->run.kind, "backfill") == 0;
}

/* A new run's checkpoint, from its kind and the project's cursors. */
static int init_checkpoint(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	int64_t cursor = JS_TIME_NULL, last_reconcile = JS_TIME_NULL;
	if (store_state_cursor(w->db, s->run.project_id, "issue", &cursor, &last_reconcile, e,
			       sizeof e) < 0) {
		db_error(w, err, "cannot read sync state", e);
		return -1;
	}
	bool full = is_full(s), backfill = is_backfill(s);
	snprintf(s->c.phase, sizeof s->c.phase, "issues");
	s->c.since_ms = (full || backfill || cursor == JS_TIME_NULL)
				? JS_TIME_NULL
				: cursor - w->cfg->lookback_minutes * 60000;
	s->c.max_updated_ms = JS_TIME_NULL;
	s->c.wl_until_ms = JS_TIME_NULL;
	s->c.sprints_ms = JS_TIME_NULL;
	s->c.reconcile = full || (!backfill &&
				  (last_reconcile == JS_TIME_NULL ||
				   now_ms() - last_reconcile >= w->cfg->reconcile_every_s * 1000));
	/* One run of a project at a time: nothing else adds its issues meanwhile. */
	s->c.empty = false;
	if (full && store_project_empty(w->db, s->run.project_id, &s->c.empty, e, sizeof e) < 0) {
		db_error(w, err, "cannot read the project's issues", e);
		return -1;
	}
	return 0;
}

static void next_phase(struct step *s, const char *phase)
{
	snprintf(s->c.phase, sizeof s->c.phase, "%s", phase);
	free(s->c.cursor);
	s->c.cursor = NULL;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The helper, idle and ready for new work; NULL when there is no helper client. */
static struct worker_prefetch *prefetch_ready(struct step *s)
{
	struct worker_sync *w = s->w;
	if (!w->prefetch_jira)
		return NULL;
	if (!w->pf) {
		w->pf = xcalloc(1, sizeof *w->pf);
		batch_init(&w->pf->batch);
	}
	struct worker_prefetch *pf = w->pf;
	prefetch_clear(pf);
	if (!jira_prepared(w->prefetch_jira))
		jira_set_site(w->prefetch_jira, jira_flavour_of(w->jira),
			      jira_sprint_field(w->jira));
	if (!pf->jira) {
		struct jira_stats st;
		jira_get_stats(w->prefetch_jira, &st);
		pf->seen_requests = st.requests;
		pf->seen_bytes = st.bytes;
	}
	pf->jira = w->prefetch_jira;
	snprintf(pf->phase, sizeof pf->phase, "%s", s->c.phase);
	return pf;
}

/* Start fetching the page after this one on the helper thread. */
static void prefetch_start(struct step *s, const struct jira_query *q)
{
	if (!s->c.cursor)
		return;
	struct worker_prefetch *pf = prefetch_ready(s);
	if (!pf)
		return;
	pf->since_ms = q->updated_since_ms;
	pf->project_key = xstrdup(q->project_key);
	pf->n_accounts = q->n_account_ids;
	pf->accounts = q->n_account_ids ? xcalloc(q->n_account_ids, sizeof *pf->accounts) : NULL;
	for (size_t i = 0; i < q->n_account_ids; i++)
		pf->accounts[i] = xstrdup(q->account_ids[i]);
	/* The thread works on its own copy of the cursor. */
	pf->cursor_in = xstrdup(s->c.cursor);
	pf->running = pthread_create(&pf->thread, NULL, prefetch_main, pf) == 0;
}

/* Fetch the complete comment or worklog sets of ids into b; done lists the
 * issues whose set was read (a 404 means the issue is gone: reconciliation
 * removes it, its set is left as it is). */
static int fetch_sets(struct jira_client *c, const char *kind, const int64_t *ids, size_t n,
		      struct batch *b, int64_t *done, size_t *n_done, struct jira_error *err)
{
	return jira_issue_children_many(c, strcmp(kind, "comment") == 0, ids, n, b, done, n_done,
					err);
}

static void *prefetch_overflow_main(void *arg)
{
	struct worker_prefetch *pf = arg;
	pf->rc = fetch_sets(pf->jira, pf->okind, pf->ids, pf->n_ids, &pf->batch, pf->done,
			    &pf->n_done, &pf->err);
	return NULL;
}

/* Start fetching the next overflow step's sets on the helper thread. */
static void prefetch_overflow_start(struct step *s, const char *kind, const int64_t *ids, size_t n)
{
	if (n == 0)
		return;
	struct worker_prefetch *pf = prefetch_ready(s);
	if (!pf)
		return;
	pf->overflow = true;
	snprintf(pf->okind, sizeof pf->okind, "%s", kind);
	memcpy(pf->ids, ids, n * sizeof *ids);
	pf->n_ids = n;
	pf->running = pthread_create(&pf->thread, NULL, prefetch_overflow_main, pf) == 0;
}

/* Wait for the helper's work; NULL when none was in flight. */
static struct worker_prefetch *prefetch_join(struct worker_sync *w)
{
	struct worker_prefetch *pf = w->pf;
	if (!pf || !pf->running)
		return NULL;
	pthread_join(pf->thread, NULL);
	pf->running = false;
	prefetch_account(pf);
	return pf;
}

/* A prefetch that matched: its rows become this step's (the batches are
 * swapped), its outcome goes to *rc and *err. */
static void prefetch_adopt(struct worker_sync *w, struct worker_prefetch *pf, int *rc,
			   struct jira_error *err)
{
	struct batch tmp = w->batch;
	w->batch = pf->batch;
	pf->batch = tmp;
	*rc = pf->rc;
	if (pf->rc < 0)
		*err = pf->err;
}

/* Take the prefetched sets if they are the ones wanted: 1 taken (its rc in
 * *rc, the issues read in done), 0 not available. */
static int prefetch_overflow_take(struct step *s, const char *kind, const int64_t *ids, size_t n,
				  int64_t *done, size_t *n_done, int *rc, struct jira_error *err)
{
	struct worker_prefetch *pf = prefetch_join(s->w);
	if (!pf)
		return 0;
	bool match = pf->overflow && strcmp(pf->phase, s->c.phase) == 0 &&
		     strcmp(pf->okind, kind) == 0 && pf->n_ids == n &&
		     memcmp(pf->ids, ids, n * sizeof *ids) == 0;
	if (match) {
		prefetch_adopt(s->w, pf, rc, err);
		memcpy(done, pf->done, pf->n_done * sizeof *done);
		*n_done = pf->n_done;
	}
	prefetch_clear(pf);
	return match;
}

/* Take the prefetched page if it is the one wanted: 1 taken (rc in *rc),
 * 0 not available. */
static int prefetch_take(struct step *s, const struct jira_query *q, char **cursor, int *rc,
			 struct jira_error *err)
{
	struct worker_prefetch *pf = prefetch_join(s->w);
	if (!pf)
		return 0;
	bool match = !pf->overflow && strcmp(pf->phase, s->c.phase) == 0 &&
		     same_str(pf->cursor_in, s->c.cursor) && pf->since_ms == q->updated_since_ms;
	if (match) {
		prefetch_adopt(s->w, pf, rc, err);
		*cursor = pf->cursor_out;
		pf->cursor_out = NULL;
	}
	prefetch_clear(pf);
	return match;
}

/* issues / catchup: one search page. */
static int step_issues(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	struct jira_query q;
	make_query(s, &q, false);
	/* The client replaces the cursor with a new one and leaves the old
	 * one to us (untouched on failure). */
	char *old = s->c.cursor, *cursor = old;
	int rc = 0;
	if (prefetch_take(s, &q, &cursor, &rc, err)) {
		if (rc < 0)
			return -1;
	} else if (jira_search_page(w->jira, &q, &cursor, &w->batch, err) < 0) {
		return -1;
	}
	if (cursor != old)
		free(old);
	s->c.cursor = cursor;
	/* The next page is fetched while this one is written. */
	prefetch_start(s, &q);
	s->c.pages++;
	if (w->batch.max_updated_ms > s->c.max_updated_ms || s->c.max_updated_ms == JS_TIME_NULL)
		if (w->batch.issues.n)
			s->c.max_updated_ms = w->batch.max_updated_ms;
	char e[STORE_ERRLEN];
	s->in_txn = true; /* the write opens the step's transaction */
	if (store_write_batch(w->db, s->run.project_id, s->run.id, &w->batch, &s->counts, e,
			      sizeof e) < 0) {
		db_error(w, err, "cannot write page", e);
		return -1;
	}
	/* A full run sees every issue of the project while paging: those ids
	 * are its reconciliation, without a second listing. */
	if (is_full(s) && s->c.reconcile && !s->c.empty && w->batch.issues.n) {
		int64_t *ids = xmalloc(w->batch.issues.n * sizeof *ids);
		for (size_t i = 0; i < w->batch.issues.n; i++)
			ids[i] = w->batch.issues.v[i].id;
		int sr = store_seen_add(w->db, s->run.id, ids, w->batch.issues.n, e, sizeof e);
		free(ids);
		if (sr < 0) {
			db_error(w, err, "cannot record seen issues", e);
			return -1;
		}
	}
	w->pages++;
	w->issues += (int64_t)w->batch.issues.n;
	s->log_msg = "issue page synced";
	if (!s->c.cursor) {
		/* A full run pages for a while: issues changed meanwhile are read
		 * again from the run's start, whatever the search's paging did. */
		if (strcmp(s->c.phase, "issues") == 0 && is_full(s)) {
			next_phase(s, "catchup");
			s->c.since_ms = s->run.started_ms - w->cfg->lookback_minutes * 60000;
		} else {
			next_phase(s, "verify_comment");
		}
	}
	return 0;
}

/* The issue of comment or worklog row i of b. */
static int64_t child_issue(const struct batch *b, bool comments, size_t i)
{
	return comments ? b->comments.v[i].issue_id : b->worklogs.v[i].issue_id;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * verify_comment / verify_worklog (Cloud). An overflow issue that holds at
 * least as many rows as Jira counts has no row that is new to us, so its
 * set can be re-read by id: up to 1000 rows of many issues in one
 * comment/list or worklog/list request, where paging them costs one
 * request per issue. When as many rows come back as Jira counts, they are
 * the whole set (edited ones read again, deleted ones absent) and it
 * replaces ours. An issue with fewer left stays on the overflow list and is
 * paged by step_overflow. The checkpoint cursor is the last issue checked.
 */
static int step_verify(struct step *s, const char *kind, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	bool comments = strcmp(kind, "comment") == 0;
	const char *after_phase = comments ? "verify_worklog" : "overflow_comment";
	int64_t after = 0;
	if (s->c.cursor && parse_i64(s->c.cursor, &after) < 0)
		after = 0;
	if (jira_flavour_of(w->jira) != JIRA_FLAVOUR_CLOUD) {
		next_phase(s, after_phase);
		return 0;
	}
	struct store_known k;
	if (store_overflow_known(w->db, s->run.id, kind, after, JIRA_LIST_IDS_MAX, &k, e,
				 sizeof e) < 0) {
		db_error(w, err, "cannot read overflow list", e);
		return -1;
	}
	if (k.n_issues == 0) {
		store_known_release(&k);
		next_phase(s, after_phase);
		return 0;
	}
	int rc = -1;
	int *got = xcalloc(k.n_issues, sizeof *got);
	int64_t *done = xcalloc(k.n_issues, sizeof *done);
	size_t n_done = 0;
	if (jira_children_by_ids(w->jira, comments, k.ids, k.id_issue, k.n_ids, &w->batch, err) < 0)
		goto out;
	/* k.issues is in ascending order. */
	size_t n_rows = comments ? w->batch.comments.n : w->batch.worklogs.n;
	for (size_t i = 0; i < n_rows; i++) {
		int64_t issue = child_issue(&w->batch, comments, i);
		const int64_t *at = bsearch(&issue, k.issues, k.n_issues, sizeof issue, cmp_i64);
		if (at)
			got[at - k.issues]++;
	}
	for (size_t i = 0; i < k.n_issues; i++)
		if (got[i] == k.totals[i])
			done[n_done++] = k.issues[i];
	/* Rows of issues not known whole are left to the per-issue pages. */
	size_t m = 0;
	for (size_t i = 0; i < n_rows; i++) {
		int64_t issue = child_issue(&w->batch, comments, i);
		if (!bsearch(&issue, done, n_done, sizeof issue, cmp_i64))
			continue;
		if (comments)
			w->batch.comments.v[m++] = w->batch.comments.v[i];
		else
			w->batch.worklogs.v[m++] = w->batch.worklogs.v[i];
	}
	if (comments)
		w->batch.comments.n = m;
	else
		w->batch.worklogs.n = m;
	/* The write opens the step's transaction. */
	s->in_txn = true;
	if (store_replace_children(w->db, kind, done, n_done, &w->batch, s->run.id, done, n_done,
				   &s->counts, e, sizeof e) < 0) {
		db_error(w, err, "cannot write overflow", e);
		goto out;
	}
	if (k.more) {
		char tmp[24];
		free(s->c.cursor);
		s->c.cursor = xstrdup(fmt_i64(tmp, k.last_issue));
	} else {
		next_phase(s, after_phase);
	}
	s->log_msg = comments ? "overflow comments read by id" : "overflow worklogs read by id";
	rc = 0;
out:
	free(got);
	free(done);
	store_known_release(&k);
	return rc;
}

static int step_overflow(struct step *s, const char *kind, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	/* This step's issues, and the next step's, fetched while this one writes. */
	int64_t ids[2 * OVERFLOW_ISSUES_PER_STEP];
	size_t n_all = 0;
	if (store_overflow_next(w->db, s->run.id, kind, ids, JS_ARRAY_LEN(ids), &n_all, e,
				sizeof e) < 0) {
		db_error(w, err, "cannot read overflow list", e);
		return -1;
	}
	if (n_all == 0) {
		next_phase(s, strcmp(kind, "comment") == 0 ? "overflow_worklog"
			      : is_backfill(s)             ? "finalize"
			      : is_full(s)                 ? "sprints"
							   : "worklog_deleted");
		return 0;
	}
	size_t n = n_all < OVERFLOW_ISSUES_PER_STEP ? n_all : OVERFLOW_ISSUES_PER_STEP;
	int64_t done[OVERFLOW_ISSUES_PER_STEP];
	size_t n_done = 0;
	/* The list was read outside the transaction; the fetch comes next. */
	int rc = 0;
	if (prefetch_overflow_take(s, kind, ids, n, done, &n_done, &rc, err)) {
		if (rc < 0)
			return -1;
	} else if (fetch_sets(w->jira, kind, ids, n, &w->batch, done, &n_done, err) < 0) {
		return -1;
	}
	prefetch_overflow_start(s, kind, ids + n, n_all - n);
	s->in_txn = true; /* the write opens the step's transaction */
	if (store_replace_children(w->db, kind, done, n_done, &w->batch, s->run.id, ids, n,
				   &s->counts, e, sizeof e) < 0) {
		db_error(w, err, "cannot write overflow", e);
		return -1;
	}
	s->log_msg = strcmp(kind, "comment") == 0 ? "overflow comments synced"
						  : "overflow worklogs synced";
	return 0;
}

static int step_worklog_deleted(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	int64_t since = JS_TIME_NULL;
	if (s->c.wl_until_ms != JS_TIME_NULL) {
		since = s->c.wl_until_ms;
	} else if (store_state_cursor(w->db, s->run.project_id, "worklog", &since, NULL, e,
				      sizeof e) < 0) {
		db_error(w, err, "cannot read worklog cursor", e);
		return -1;
	}
	next_phase(s, "sprints");
	if (since == JS_TIME_NULL)
		return 0;
	int64_t until = since;
	if (jira_worklogs_deleted(w->jira, since, DELETED_FEED_PAGES, &w->batch, &until, err) < 0)
		return -1;
	if (step_begin(s, err) < 0)
		return -1;
	if (store_delete_worklogs(w->db, s->run.project_id, w->batch.deleted_ids.v,
				  w->batch.deleted_ids.n, &s->counts, e, sizeof e) < 0) {
		db_error(w, err, "cannot delete worklogs", e);
		return -1;
	}
	s->c.wl_until_ms = until;
	s->log_msg = "worklog deletions synced";
	return 0;
}

/*
 * Sprints. Full and reconciling runs read every sprint of the project's
 * boards and make that the project's set. Other runs read only the active
 * and future ones (one request per scrum board), and then each sprint we
 * hold as open that Jira no longer lists as open (it was closed or
 * deleted) by its id: closing a sprint does not touch every issue in it.
 */
#define OPEN_SPRINTS_MAX 64

static bool batch_has_sprint(const struct batch *b, int64_t id)
{
	for (size_t i = 0; i < b->sprints.n; i++)
		if (b->sprints.v[i].id == id)
			return true;
	return false;
}

/*
 * Incremental runs list the sprints every SPRINT_REFRESH_EVERY (0: every
 * run), and at once when a changed issue links a sprint we do not hold.
 * Between listings the sprint links of changed issues are current; a
 * sprint's own name, state and dates are at most that old.
 */
static int sprints_due(struct step *s, bool *due, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	int64_t last = JS_TIME_NULL;
	long every = w->cfg->sprint_refresh_s;
	if (store_state_cursor(w->db, s->run.project_id, "sprint", &last, NULL, e, sizeof e) < 0)
		goto fail;
	*due = every == 0 || last == JS_TIME_NULL || s->run.started_ms - last >= every * 1000;
	if (!*due && store_unknown_sprint_links(w->db, s->run.project_id, s->c.since_ms, due, e,
						sizeof e) < 0)
		goto fail;
	return 0;
fail:
	db_error(w, err, "cannot read sprint state", e);
	return -1;
}

static int step_sprints(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	bool complete = is_full(s) || s->c.reconcile;
	if (!complete) {
		bool due = false;
		if (sprints_due(s, &due, err) < 0)
			return -1;
		if (!due) {
			next_phase(s, "finalize");
			s->log_msg = "sprints listed recently";
			return 0;
		}
	}
	if (jira_project_sprints_ex(w->jira, s->project.key, !complete, &w->batch, err) < 0)
		return -1;
	if (!complete) {
		int64_t open[OPEN_SPRINTS_MAX];
		size_t n = 0;
		if (store_open_sprints(w->db, s->run.project_id, open, OPEN_SPRINTS_MAX, &n, e,
				       sizeof e) < 0) {
			db_error(w, err, "cannot read open sprints", e);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (batch_has_sprint(&w->batch, open[i]))
				continue;
			/* A sprint deleted in Jira answers 404: it keeps its last
			 * state until the next complete listing unlinks it. */
			if (jira_sprint_get(w->jira, open[i], &w->batch, err) < 0 &&
			    err->code != JIRA_NOT_FOUND)
				return -1;
		}
	}
	if (step_begin(s, err) < 0)
		return -1;
	if (store_write_sprints(w->db, s->run.project_id, &w->batch, complete, &s->counts, e,
				sizeof e) < 0) {
		db_error(w, err, "cannot write sprints", e);
		return -1;
	}
	s->c.sprints_ms = s->run.started_ms;
	next_phase(s, s->c.reconcile ? "reconcile" : "finalize");
	s->log_msg = "sprints synced";
	return 0;
}

static int step_reconcile(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	struct jira_query q;
	make_query(s, &q, true);
	if (is_full(s)) {
		/* The issue pages already recorded every id (step_issues), or
		 * the project was empty and there is nothing to reconcile. */
		if (step_begin(s, err) < 0)
			return -1;
		free(s->c.cursor);
		s->c.cursor = NULL;
		goto finish;
	}
	/* The client replaces the cursor with a new one and leaves the old
	 * one to us (untouched on failure). */
	char *old = s->c.cursor, *cursor = old;
	if (jira_search_ids(w->jira, &q, &cursor, &w->batch, err) < 0)
		return -1;
	if (cursor != old)
		free(old);
	s->c.cursor = cursor;
	if (step_begin(s, err) < 0)
		return -1;
	if (store_seen_add(w->db, s->run.id, w->batch.deleted_ids.v, w->batch.deleted_ids.n, e,
			   sizeof e) < 0) {
		db_error(w, err, "cannot record seen issues", e);
		return -1;
	}
finish:
	if (!s->c.cursor) {
		if ((!s->c.empty && store_seen_finish(w->db, s->run.id, s->run.project_id,
						      &s->counts, e, sizeof e) < 0) ||
		    store_state_reconciled(w->db, s->run.project_id, s->run.started_ms, e,
					   sizeof e) < 0) {
			db_error(w, err, "cannot finish reconciliation", e);
			return -1;
		}
		next_phase(s, "finalize");
		s->log_msg = "deletions reconciled";
	}
	return 0;
}

static int step_finalize(struct step *s, struct jira_error *err)
{
	struct worker_sync *w = s->w;
	char e[STORE_ERRLEN];
	int64_t pid = s->run.project_id;
	int rc = 0;
	if (step_begin(s, err) < 0)
		return -1;
	if (!is_backfill(s)) {
		int64_t cur = JS_TIME_NULL;
		if (store_state_cursor(w->db, pid, "issue", &cur, NULL, e, sizeof e) < 0)
			rc = -1;
		int64_t next = s->c.max_updated_ms;
		if (cur != JS_TIME_NULL && (next == JS_TIME_NULL || cur > next))
			next = cur;
		/* A project with no issues yet still gets a cursor. */
		if (next == JS_TIME_NULL)
			next = s->run.started_ms;
		int64_t wl = s->c.wl_until_ms;
		if (is_full(s) || wl == JS_TIME_NULL)
			wl = s->run.started_ms - FEED_LAG_MS - w->cfg->lookback_minutes * 60000;
		if (rc == 0)
			rc = store_state_set(w->db, pid, "issue", "SUCCESS", next, NULL, e,
					     sizeof e);
		if (rc == 0)
			rc = store_state_set(w->db, pid, "comment", "SUCCESS", next, NULL, e,
					     sizeof e);
		if (rc == 0)
			rc = store_state_set(w->db, pid, "worklog", "SUCCESS", wl, NULL, e,
					     sizeof e);
		/* The sprint cursor is when they were last listed (a null
		 * cursor keeps the one held). */
		if (rc == 0)
			rc = store_state_set(w->db, pid, "sprint", "SUCCESS", s->c.sprints_ms, NULL,
					     e, sizeof e);
	} else {
		for (const char *const *ent =
			     (const char *const[]){"issue", "comment", "worklog", "sprint", NULL};
		     rc == 0 && *ent; ent++)
			rc = store_state_set(w->db, pid, *ent, "SUCCESS", JS_TIME_NULL, NULL, e,
					     sizeof e);
	}
	if (rc < 0) {
		db_error(w, err, "cannot finish run", e);
		return -1;
	}
	next_phase(s, "done");
	s->log_msg = "run finished";
	return 0;
}

/* Requests of both clients; a prefetch is counted by the step that joins
 * it (usually the one that uses its page). */
static void all_stats(struct worker_sync *w, struct jira_stats *out)
{
	jira_get_stats(w->jira, out);
	if (w->pf) {
		out->requests += w->pf->acc_requests;
		out->bytes += w->pf->acc_bytes;
	}
}

static void report_progress(struct worker_sync *w, const char *phase)
{
	if (!w->progress)
		return;
	struct worker_progress p = {phase, w->pages, w->issues, w->estimate,
				    mono_ms() - w->started_mono};
	w->progress(w->progress_ud, &p);
}

static char *step_details(const struct step *s)
{
	struct buf b;
	buf_init(&b, 4096);
	const struct store_counts *c = &s->counts;
	char v[9][24];
	int rc = buf_printf(&b,
			    "{\"phase\":\"%s\",\"issues\":%s,\"issuesDeleted\":%s,\"comments\":%s,"
			    "\"commentsDeleted\":%s,\"worklogs\":%s,\"worklogsDeleted\":%s,"
			    "\"sprints\":%s,\"requests\":%s,\"bytes\":%s}",
			    s->c.phase, fmt_i64(v[0], c->issues_upserted),
			    fmt_i64(v[1], c->issues_deleted), fmt_i64(v[2], c->comments_upserted),
			    fmt_i64(v[3], c->comments_deleted), fmt_i64(v[4], c->worklogs_upserted),
			    fmt_i64(v[5], c->worklogs_deleted), fmt_i64(v[6], c->sprints_upserted),
			    fmt_i64(v[7], c->jira_requests), fmt_i64(v[8], c->jira_bytes));
	(void)rc;
	return buf_detach(&b);
}

enum worker_step_result worker_run_step(struct worker_sync *w, int64_t run_id, int expect_seq,
					struct jira_error *err)
{
	struct step s;
	char e[STORE_ERRLEN];
	enum worker_step_result res = WORKER_STEP_FAILED;
	memset(&s, 0, sizeof s);
	s.w = w;
	batch_reset(&w->batch);

	/* The run, its checkpoint and its project (key, tracked users). */
	int lr = store_run_load_project(w->db, run_id, &s.run, &s.project, e, sizeof e);
	if (lr < 0) {
		db_error(w, err, "cannot load run", e);
		return WORKER_STEP_FAILED;
	}
	if (strcmp(s.run.status, "RUNNING") != 0 ||
	    (expect_seq >= 0 && s.run.step_seq != expect_seq)) {
		res = WORKER_STEP_STALE;
		goto out;
	}
	if (lr == 1) {
		db_error(w, err, "cannot load project", e);
		goto out;
	}
	if (ckpt_parse(s.run.checkpoint, &s.c) < 0) {
		jira_error_set(err, JIRA_INTERNAL, "run %" PRId64 " has a malformed checkpoint",
			       run_id);
		goto out;
	}
	if (s.c.fresh && init_checkpoint(&s, err) < 0)
		goto out;
	all_stats(w, &s.stats0);
	if (worker_prepare(w, is_full(&s), err) < 0)
		goto out;

	const char *phase = s.c.phase;
	char phase_now[24];
	snprintf(phase_now, sizeof phase_now, "%s", phase);
	int rc;
	if (!strcmp(phase, "issues") || !strcmp(phase, "catchup"))
		rc = step_issues(&s, err);
	else if (!strcmp(phase, "verify_comment"))
		rc = step_verify(&s, "comment", err);
	else if (!strcmp(phase, "verify_worklog"))
		rc = step_verify(&s, "worklog", err);
	else if (!strcmp(phase, "overflow_comment"))
		rc = step_overflow(&s, "comment", err);
	else if (!strcmp(phase, "overflow_worklog"))
		rc = step_overflow(&s, "worklog", err);
	else if (!strcmp(phase, "worklog_deleted"))
		rc = step_worklog_deleted(&s, err);
	else if (!strcmp(phase, "sprints"))
		rc = step_sprints(&s, err);
	else if (!strcmp(phase, "reconcile"))
		rc = step_reconcile(&s, err);
	else if (!strcmp(phase, "finalize"))
		rc = step_finalize(&s, err);
	else {
		jira_error_set(err, JIRA_INTERNAL, "run %" PRId64 " is in unknown phase '%s'",
			       run_id, phase);
		goto out;
	}
	if (rc < 0)
		goto out;

	/* Commit the step's writes with the next checkpoint and its counters. */
	struct jira_stats st;
	all_stats(w, &st);
	s.counts.jira_requests = st.requests - s.stats0.requests;
	s.counts.jira_bytes = st.bytes - s.stats0.bytes;
	char *text = ckpt_text(&s.c);
	char *details = s.log_msg ? step_details(&s) : NULL;
	struct store_step_end end = {.run_id = run_id,
				     .project_id = s.run.project_id,
				     .expect_seq = s.run.step_seq,
				     .checkpoint = text,
				     .add = &s.counts,
				     /* the last step ends the run in the same transaction */
				     .finish = strcmp(s.c.phase, "done") == 0,
				     .log_msg = s.log_msg,
				     .log_details = details};
	s.in_txn = true; /* opened by the step's writes, or by the commit itself */
	int adv = store_step_commit(w->db, &end, e, sizeof e);
	free(text);
	free(details);
	if (adv < 0) {
		db_error(w, err, "cannot commit step", e);
		goto out;
	}
	if (adv == 1) {
		res = WORKER_STEP_STALE;
		goto out;
	}
	s.in_txn = false;
	res = strcmp(s.c.phase, "done") == 0 ? WORKER_STEP_DONE : WORKER_STEP_MORE;
	if (!w->stats_known) { /* committed already: a failure here costs speed only */
		int st_rc = store_ensure_stats(w->db, e, sizeof e);
		w->stats_known = st_rc == 1;
		if (st_rc < 0)
			log_warn("cannot refresh table statistics", "error", e);
	}
	log_debug("step committed", "phase", phase_now, "next", s.c.phase);
	report_progress(w, s.c.phase);
out:
	if (s.in_txn)
		store_rollback(w->db);
	ckpt_release(&s.c);
	store_project_release(&s.project);
	store_run_release(&s.run);
	return res;
}

int worker_run_fail(struct worker_sync *w, int64_t run_id, const struct jira_error *err)
{
	char e[STORE_ERRLEN];
	struct store_run run;
	if (store_conn_lost(w->db) && PQstatus(w->db) == CONNECTION_BAD)
		PQreset(w->db);
	store_rollback(w->db);
	if (store_run_load(w->db, run_id, &run, e, sizeof e) < 0) {
		log_error("cannot record run failure", "error", e);
		return -1;
	}
	const char *code = jira_code_name(err->code);
	struct buf d;
	buf_init(&d, 8192);
	char st[24];
	int rc = buf_puts(&d, "{\"code\":");
	rc |= buf_json_str(&d, code);
	rc |= buf_printf(&d, ",\"retryable\":%s,\"category\":", err->retryable ? "true" : "false");
	rc |= buf_json_str(&d, jira_code_category(err->code));
	rc |= buf_puts(&d, ",\"guidance\":");
	rc |= buf_json_str(&d, jira_code_guidance(err->code));
	rc |= buf_puts(&d, ",\"message\":");
	rc |= buf_json_str(&d, err->message);
	rc |= buf_printf(&d, ",\"httpStatus\":%s}", fmt_i64(st, err->http_status));
	(void)rc;
	int out = 0;
	if (store_run_finish(w->db, run_id, false, code, err->message, e, sizeof e) < 0 ||
	    store_log(w->db, run.project_id, run_id, "ERROR", "run failed", d.data, e, sizeof e) <
		    0)
		out = -1;
	for (const char *const *ent =
		     (const char *const[]){"issue", "comment", "worklog", "sprint", NULL};
	     out == 0 && *ent; ent++)
		if (store_state_set(w->db, run.project_id, *ent, "FAILED", JS_TIME_NULL, code, e,
				    sizeof e) < 0)
			out = -1;
	if (out < 0)
		log_error("cannot record run failure", "error", e);
	buf_release(&d);
	store_run_release(&run);
	return out;
}
