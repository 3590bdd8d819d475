/*
 * store: every SQL statement outside the migrations. Batch upserts of synced
 * rows (column arrays through unnest, one statement per table that skips
 * unchanged rows, pipelined), runs and their checkpoints, per-entity states, logs,
 * projects and schedules, and the migration runner.
 *
 * Functions take a PGconn and return 0 on success or -1 with a one-line
 * message in err (never containing secrets). Connection loss is reported by
 * store_conn_lost() so callers can classify it as DB_UNAVAILABLE.
 */
#ifndef JS_STORE_H
#define JS_STORE_H

#include "common/conn.h"
#include "common/model.h"

#define STORE_ERRLEN 512

/* ---- migrations ----------------------------------------------------------- */
/* Apply migrations/NNNN_name.sql files of dir in order, each in its own
 * transaction, under an advisory lock, recorded in schema_migrations.
 * *applied gets how many were applied (0 when up to date). */
int store_migrate(PGconn *db, const char *dir, int *applied, char *err, size_t errlen) JS_WUR;
/* Roll back the newest `steps` migrations with their down sections. */
int store_migrate_down(PGconn *db, const char *dir, int steps, char *err, size_t errlen) JS_WUR;

/* ---- transactions --------------------------------------------------------- */
int store_begin(PGconn *db, char *err, size_t errlen) JS_WUR;
int store_commit(PGconn *db, char *err, size_t errlen) JS_WUR;
void store_rollback(PGconn *db);
bool store_conn_lost(PGconn *db);

/* ---- projects --------------------------------------------------------------- */
struct store_project {
	int64_t id;
	char key[256];
	int n_tracked;
	char **tracked; /* account ids; store_project_release frees */
};
/* Insert the project with its schedule (cron, jitter) and sync states;
 * an existing project is returned unchanged. */
int store_project_register(PGconn *db, const char *key, const char *cron, int jitter_s, int64_t *id,
			   char *err, size_t errlen) JS_WUR;
/* 0 found, 1 not found, -1 error. */
int store_project_by_key(PGconn *db, const char *key, struct store_project *out, char *err,
			 size_t errlen) JS_WUR;
void store_project_release(struct store_project *p);
int store_set_tracked_users(PGconn *db, int64_t project_id, const char *const *ids, size_t n,
			    char *err, size_t errlen) JS_WUR;

/* ---- runs ----------------------------------------------------------------- */
struct store_run {
	int64_t id;
	int64_t project_id;
	char kind[16];    /* full|incremental|backfill */
	char trigger[16]; /* schedule|manual|backfill */
	char status[16];  /* RUNNING|SUCCESS|FAILED */
	int step_seq;
	char *checkpoint;   /* JSON text; store_run_release frees */
	char **account_ids; /* backfill accounts */
	size_t n_account_ids;
	int64_t started_ms;
};
void store_run_release(struct store_run *r);
/* Create a RUNNING run. 1 (and no run) when the project already has one
 * active (the unique index says so) or the slot was already taken. */
int store_run_create(PGconn *db, int64_t project_id, const char *kind, const char *trigger,
		     int64_t slot_ms, const char *const *account_ids, size_t n_accounts,
		     const char *checkpoint, int64_t *run_id, char *err, size_t errlen) JS_WUR;
/*
 * Start a run of the project the way every trigger does: a backfill when
 * account ids are given, otherwise full when forced or when the project has
 * no issue cursor yet, else incremental. One transaction: the run (with an
 * empty checkpoint that the first step fills), the states set RUNNING and an
 * INFO "run started" log line. kind_out gets the kind. 1 when the project
 * already has an active run or the slot was taken.
 */
int store_run_start(PGconn *db, int64_t project_id, bool force_full, const char *trigger,
		    int64_t slot_ms, const char *const *account_ids, size_t n_accounts,
		    int64_t *run_id, char kind_out[16], char *err, size_t errlen) JS_WUR;
/* The project's RUNNING run: 0 found, 1 none, -1 error. */
int store_run_active(PGconn *db, int64_t project_id, struct store_run *out, char *err,
		     size_t errlen) JS_WUR;
int store_run_load(PGconn *db, int64_t run_id, struct store_run *out, char *err,
		   size_t errlen) JS_WUR;
/* A run and its project (key, tracked users) in one statement: 0, 1 when
 * the run's project is gone, -1 (no run, or an error). */
int store_run_load_project(PGconn *db, int64_t run_id, struct store_run *run,
			   struct store_project *project, char *err, size_t errlen) JS_WUR;

/* Counters a step adds to its run. */
struct store_counts {
	int64_t issues_upserted, issues_deleted;
	int64_t comments_upserted, comments_deleted;
	int64_t worklogs_upserted, worklogs_deleted;
	int64_t sprints_upserted;
	int64_t jira_requests, jira_bytes;
};
/*
 * End a step in one round trip: move the run from expect_seq to
 * expect_seq + 1 with the new checkpoint and add the counters, end the run
 * with SUCCESS when finish, write the INFO log line when log_msg, and
 * COMMIT, opening the transaction first when none is open. Returns 1 when
 * the run is no longer RUNNING at expect_seq (another delivery got there
 * first, or another process ended it): nothing of the step is committed.
 * After 1 or -1 the caller rolls back.
 */
struct store_step_end {
	int64_t run_id, project_id;
	int expect_seq;
	const char *checkpoint;
	const struct store_counts *add;
	bool finish;
	const char *log_msg;     /* or NULL */
	const char *log_details; /* JSON object text, or NULL */
};
int store_step_commit(PGconn *db, const struct store_step_end *end, char *err,
		      size_t errlen) JS_WUR;
/* End the run: SUCCESS, or FAILED with code and message. */
int store_run_finish(PGconn *db, int64_t run_id, bool ok, const char *code, const char *message,
		     char *err, size_t errlen) JS_WUR;
int store_run_counts(PGconn *db, int64_t run_id, struct store_counts *out, char *err,
		     size_t errlen) JS_WUR;

/* ---- states and logs -------------------------------------------------------- */
/* cursor_ms JS_TIME_NULL leaves the cursor as it is. */
int store_state_set(PGconn *db, int64_t project_id, const char *entity, const char *status,
		    int64_t cursor_ms, const char *error_code, char *err, size_t errlen) JS_WUR;
/* 0 found, 1 no cursor yet. */
int store_state_cursor(PGconn *db, int64_t project_id, const char *entity, int64_t *cursor_ms,
		       int64_t *last_reconcile_ms, char *err, size_t errlen) JS_WUR;
/* Whether the project has no issue rows at all (live or soft-deleted). */
int store_project_empty(PGconn *db, int64_t project_id, bool *empty, char *err,
			size_t errlen) JS_WUR;
int store_state_reconciled(PGconn *db, int64_t project_id, int64_t at_ms, char *err,
			   size_t errlen) JS_WUR;
/* details: JSON object text or NULL. */
int store_log(PGconn *db, int64_t project_id, int64_t run_id, const char *level, const char *msg,
	      const char *details, char *err, size_t errlen) JS_WUR;

/* ---- synced rows (inside a step's transaction) ------------------------------ */
struct store_write {
	bool replace_comments; /* replace the comment sets of issues marked complete */
	bool replace_worklogs;
};
/*
 * Write a batch: users, issues (project_id), sprint links of those issues,
 * comments and worklogs (replacing the complete sets of the batch's issues,
 * so deleted ones disappear), and the overflow work list of run_id.
 * Unchanged rows are not rewritten. Counts go into *counts. The statements
 * go out in one round trip, after a BEGIN when no transaction is open: the
 * caller commits or rolls back (this and store_replace_children).
 */
int store_write_batch(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/*
 * The replace and sprint-link deletions probe comment, worklog and
 * issue_sprint by issue_id. Until a table has been analysed, PostgreSQL
 * guesses that each of a batch's 100 issue ids matches 0.5% of the table and
 * scans all of it: a bulk load into fresh tables turns quadratic long before
 * autovacuum's next look. This analyses (issue_id only) each of them that
 * holds rows but has no statistics yet; the statistics then keep up by
 * themselves, since a ratio of distinct values is stored. Returns 1 when all
 * three have statistics, 0 when some are still empty, -1 on error. Outside
 * a transaction.
 */
int store_ensure_stats(PGconn *db, char *err, size_t errlen) JS_WUR;

/* Replace the whole comment (or worklog) set of the given issues with the
 * rows of b (issues fetched through the per-issue endpoints), and take
 * done_ids off run_id's overflow list of that kind. */
int store_replace_children(PGconn *db, const char *kind, const int64_t *issue_ids, size_t n,
			   const struct batch *b, int64_t run_id, const int64_t *done_ids,
			   size_t n_done, struct store_counts *counts, char *err,
			   size_t errlen) JS_WUR;
/* Up to max issue ids still owed by the run for kind ("comment"|"worklog"). */
int store_overflow_next(PGconn *db, int64_t run_id, const char *kind, int64_t *ids, size_t max,
			size_t *n, char *err, size_t errlen) JS_WUR;
/*
 * Overflow issues of the run for kind whose stored set can be checked by
 * re-reading its rows by id instead of paging the issue: the issue holds at
 * least as many rows as Jira counts (so no row is new to us) and at most
 * max_ids. From the issue after after_issue, whole issues, up to max_ids
 * row ids in all. more: others may follow last_issue.
 */
struct store_known {
	int64_t *issues;
	int *totals; /* Jira's count for each issue */
	size_t n_issues;
	int64_t *ids, *id_issue; /* row ids and the issue each belongs to */
	size_t n_ids;
	int64_t last_issue;
	bool more;
};
int store_overflow_known(PGconn *db, int64_t run_id, const char *kind, int64_t after_issue,
			 size_t max_ids, struct store_known *out, char *err, size_t errlen) JS_WUR;
void store_known_release(struct store_known *k);
/* Delete worklogs by id that belong to the project's issues. */
int store_delete_worklogs(PGconn *db, int64_t project_id, const int64_t *ids, size_t n,
			  struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/* Upsert sprints and link them to the project; replace_set also unlinks
 * the project's sprints that are not in b (a complete listing). */
int store_write_sprints(PGconn *db, int64_t project_id, const struct batch *b, bool replace_set,
			struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/* Ids of the project's sprints stored as active or future (up to max). */
/* Whether an issue of the project updated since since_ms links a sprint we do
 * not hold (a sprint created since the last listing). */
int store_unknown_sprint_links(PGconn *db, int64_t project_id, int64_t since_ms, bool *found,
			       char *err, size_t errlen) JS_WUR;
int store_open_sprints(PGconn *db, int64_t project_id, int64_t *ids, size_t max, size_t *n,
		       char *err, size_t errlen) JS_WUR;

/* ---- the Jira site cache ---------------------------------------------------- */
/* 0 found and younger than max_age_ms (flavour "cloud"|"datacenter" and the
 * sprint field, "" when none, copied out), 1 not found or stale. */
int store_site_get(PGconn *db, const char *base_url, int64_t max_age_ms, char flavour[16],
		   char sprint_field[128], char *err, size_t errlen) JS_WUR;
int store_site_put(PGconn *db, const char *base_url, const char *flavour, const char *sprint_field,
		   char *err, size_t errlen) JS_WUR;
/* Reconciliation: remember ids seen; at the end soft-delete the project's
 * live issues not seen (and revive none: upserts revive). */
int store_seen_add(PGconn *db, int64_t run_id, const int64_t *ids, size_t n, char *err,
		   size_t errlen) JS_WUR;
int store_seen_finish(PGconn *db, int64_t run_id, int64_t project_id, struct store_counts *counts,
		      char *err, size_t errlen) JS_WUR;

/* ==== reads for the GraphQL admin plane (store/read.c) ======================= */
/*
 * Every read is one statement, prepared once per connection (by
 * store_read_prepare, or on first use), with $n parameters. Rows are copied
 * into the caller's arena: strings NUL-terminated (NULL for SQL NULL),
 * timestamps in epoch ms (JS_TIME_NULL for NULL), JSON columns as JSON text.
 * Batch loaders take N ids and run ONE statement (= ANY($1)), so a GraphQL
 * level costs one statement whatever the page size. Functions return 0, or
 * -1 with the database's message in err (for logs, never for clients); the
 * single-row look-ups return 1 when there is no such row. Call them outside
 * an explicit transaction.
 */
struct arena;

struct store_user_row {
	const char *account_id;
	const char *display_name, *email, *time_zone; /* NULL when unknown */
	bool active;
};
struct store_project_row {
	int64_t id;
	const char *key, *name;
	int64_t created_ms;
};
struct store_issue_row {
	int64_t id, project_id;
	const char *key, *summary, *status, *status_category, *priority, *issue_type;
	const char *assignee_id, *reporter_id;
	int64_t created_ms, updated_ms, resolved_ms, deleted_ms;
	int64_t updated_us;      /* exact, for keyset cursors */
	const char *labels_json; /* JSON array of strings */
	bool has_texts;          /* description columns read (else see below) */
	const char *description;
	const char *description_adf; /* JSON text or NULL */
	int64_t user_epoch;          /* read with q.epoch: jira_user_epoch then; else -1 */
};
struct store_comment_row {
	int64_t id, issue_id;
	const char *author_id, *update_author_id, *body;
	int64_t created_ms, updated_ms;
	int64_t order_us;   /* created, exact (JS_TIME_NULL: none) */
	int64_t user_epoch; /* read with the epoch: jira_user_epoch then; else -1 */
};
struct store_worklog_row {
	int64_t id, issue_id;
	const char *author_id, *comment;
	int64_t started_ms, created_ms, updated_ms;
	int64_t time_spent_seconds;
	int64_t order_us;   /* started, exact (JS_TIME_NULL: none) */
	int64_t user_epoch; /* as in store_comment_row */
};
struct store_sprint_row {
	int64_t id;
	int64_t issue_id; /* store_read_issue_sprints only */
	int64_t board_id; /* 0 when unknown */
	const char *name, *state, *goal;
	int64_t start_ms, end_ms, complete_ms;
};
struct store_job_row {
	int64_t project_id;
	const char *cron, *effective_cron, *status, *pause_note;
	int64_t failure_streak;
	int64_t last_run_ms, next_run_ms;
};
struct store_state_row {
	const char *entity, *status, *last_error_code;
	int64_t cursor_ms, last_success_ms;
};
struct store_run_row {
	int64_t id, project_id;
	const char *kind, *trigger, *status, *error_code, *error_message;
	int64_t issues_upserted, issues_deleted, comments_upserted, comments_deleted;
	int64_t worklogs_upserted, worklogs_deleted, jira_requests;
	int64_t started_ms, finished_ms;
};
struct store_log_row {
	int64_t id, run_id;                    /* run_id 0 when none */
	const char *level, *message, *details; /* details: JSON text */
	int64_t created_ms;
};

/* Prepare every read statement on a new connection (optional: each is also
 * prepared on first use). */
int store_read_prepare(PGconn *db, char *err, size_t errlen) JS_WUR;
/* Statements run by the data reads since start (all connections; the ping
 * and metrics reads are not counted). */
uint64_t store_read_statements(void);
/* The connection's current snapshot, pg_current_snapshot() as text, into
 * out (n bytes); -1 when it cannot be read or is longer (many transactions
 * running). Counted with the data reads. */
int store_read_snapshot(PGconn *db, char *out, size_t n, char *err, size_t errlen) JS_WUR;
/* SELECT 1: 0 when the server answers. */
int store_read_ping(PGconn *db, char *err, size_t errlen) JS_WUR;

int store_read_projects(PGconn *db, struct arena *a, struct store_project_row **rows, size_t *n,
			char *err, size_t errlen) JS_WUR;
/* 0 found, 1 no such project. */
int store_read_project(PGconn *db, struct arena *a, int64_t id, struct store_project_row *out,
		       char *err, size_t errlen) JS_WUR;
/* Live issue counts of n projects: counts[i] for ids[i]. */
int store_read_issue_counts(PGconn *db, const int64_t *ids, size_t n, int64_t *counts, char *err,
			    size_t errlen) JS_WUR;

/*
 * Columns a read leaves out when the caller says it does not need them: they
 * come back NULL (JS_TIME_NULL for times, no labels), so PostgreSQL has
 * fewer values to send and we fewer to copy. Ids, keys and the user
 * references are always read. 0 reads every column.
 */
enum store_skip {
	STORE_SKIP_TEXT = 1 << 0,          /* issue summary, comment body, worklog comment */
	STORE_SKIP_FIELDS = 1 << 1,        /* issue status, status category, priority, type */
	STORE_SKIP_TIMES = 1 << 2,         /* created, updated (ms), resolved, deleted, started */
	STORE_SKIP_LABELS = 1 << 3,        /* issue labels */
	STORE_SKIP_UPDATE_AUTHOR = 1 << 4, /* comment update author id */
};

/* One page of a project's issues, newest update first (updated DESC, id DESC). */
#define STORE_ISSUES_MAX 500
struct store_issue_query {
	int64_t project_id;
	const char *status, *assignee, *text; /* NULL: no filter; text is web-search syntax */
	int64_t sprint_id;                    /* 0: no filter */
	int64_t updated_since_ms;             /* JS_TIME_NULL: no filter */
	bool include_deleted;
	int limit;      /* 0..STORE_ISSUES_MAX */
	bool has_after; /* keyset: rows after (updated_us, id) */
	int64_t after_updated_us, after_id;
	bool want_total;
	unsigned skip; /* enum store_skip (user bits: the assignee) */
	bool epoch;    /* each row carries the user epoch (for store_users_cached) */
};
struct store_issue_page {
	struct store_issue_row *rows;
	size_t n;
	bool has_next;
	int64_t total; /* -1 unless want_total */
};
int store_read_issue_page(PGconn *db, struct arena *a, const struct store_issue_query *q,
			  struct store_issue_page *out, char *err, size_t errlen) JS_WUR;
/*
 * Pages leave the description columns out (has_texts false): they can be
 * large and TOASTed, and most pages do not show them. This reads them for n
 * issues in one statement, rows in any order.
 */
struct store_issue_text_row {
	int64_t id;
	const char *description, *description_adf;
};
int store_read_issue_texts(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			   struct store_issue_text_row **rows, size_t *n_rows, char *err,
			   size_t errlen) JS_WUR;
/* The issue with this key in a registered project (a live one first), with
 * its description columns. 0 / 1. */
int store_read_issue_by_key(PGconn *db, struct arena *a, const char *key,
			    struct store_issue_row *out, char *err, size_t errlen) JS_WUR;

/* Batch loaders: rows of n issues ordered by issue id, then as documented. */
/* Comments, oldest first; with epoch each row carries the user epoch (its
 * author then comes from store_users_cached); skip: enum store_skip. */
int store_read_issue_comments(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      bool epoch, unsigned skip, struct store_comment_row **rows,
			      size_t *n_rows, char *err, size_t errlen) JS_WUR;
/* Worklogs, by start time; epoch and skip as above. */
int store_read_issue_worklogs(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      bool epoch, unsigned skip, struct store_worklog_row **rows,
			      size_t *n_rows, char *err, size_t errlen) JS_WUR;
/*
 * Both of the above for the same n issues in one round trip (the two
 * statements pipelined): what a level of issues selecting comments and
 * worklogs costs. Same rows, order and statement count as the two calls.
 */
struct store_children_query {
	unsigned comment_skip, worklog_skip;
	bool epoch; /* each row carries the user epoch (for store_users_cached) */
};
int store_read_issue_children(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      const struct store_children_query *q,
			      struct store_comment_row **comments, size_t *n_comments,
			      struct store_worklog_row **worklogs, size_t *n_worklogs, char *err,
			      size_t errlen) JS_WUR;
/* Known sprints linked to the issues, by start date. */
int store_read_issue_sprints(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			     struct store_sprint_row **rows, size_t *n_rows, char *err,
			     size_t errlen) JS_WUR;
/* Users by account id (unknown ids are simply absent), any order. */
int store_read_users(PGconn *db, struct arena *a, const char *const *account_ids, size_t n,
		     struct store_user_row **rows, size_t *n_rows, char *err, size_t errlen) JS_WUR;
/*
 * Users kept between reads while jira_user_epoch stays the same (see
 * migrations/0004_user_epoch.sql); one cache per connection's thread.
 */
struct store_user_cache;
struct store_user_cache *store_user_cache_new(void);
void store_user_cache_free(struct store_user_cache *c);
/*
 * The users of ids[0..n-1] (repeats allowed) as of epoch, a value read in
 * the same snapshot as the rows that hold the ids: from memory when the
 * cache holds them under that epoch (a different epoch forgets everything),
 * the others in one statement. out[i] is filled with copies in a; an id
 * without a user row gets only its account id and active = true.
 */
int store_users_cached(PGconn *db, struct store_user_cache *c, int64_t epoch, struct arena *a,
		       const char *const *ids, size_t n, struct store_user_row *out, char *err,
		       size_t errlen) JS_WUR;
/* Schedules of n projects (absent when a project has none). */
int store_read_jobs(PGconn *db, struct arena *a, const int64_t *project_ids, size_t n,
		    struct store_job_row **rows, size_t *n_rows, char *err, size_t errlen) JS_WUR;

/* Per project. */
int store_read_project_sprints(PGconn *db, struct arena *a, int64_t project_id,
			       struct store_sprint_row **rows, size_t *n, char *err,
			       size_t errlen) JS_WUR;
/* Users seen as assignee, reporter, comment or worklog author, by name. */
int store_read_project_users(PGconn *db, struct arena *a, int64_t project_id,
			     struct store_user_row **rows, size_t *n, char *err,
			     size_t errlen) JS_WUR;
/* Tracked users by account id; ones never synced have only account_id. */
int store_read_tracked_users(PGconn *db, struct arena *a, int64_t project_id,
			     struct store_user_row **rows, size_t *n, char *err,
			     size_t errlen) JS_WUR;
int store_read_states(PGconn *db, struct arena *a, int64_t project_id,
		      struct store_state_row **rows, size_t *n, char *err, size_t errlen) JS_WUR;
/* Newest first; min_level NULL or DEBUG|INFO|WARN|ERROR (that level and worse). */
int store_read_logs(PGconn *db, struct arena *a, int64_t project_id, int limit,
		    const char *min_level, struct store_log_row **rows, size_t *n, char *err,
		    size_t errlen) JS_WUR;
/* Newest first. */
int store_read_runs(PGconn *db, struct arena *a, int64_t project_id, int limit,
		    struct store_run_row **rows, size_t *n, char *err, size_t errlen) JS_WUR;
/* 0 found, 1 no such run. */
int store_read_run(PGconn *db, struct arena *a, int64_t run_id, struct store_run_row *out,
		   char *err, size_t errlen) JS_WUR;

/* Figures for /metrics. */
#define STORE_RUN_BUCKETS 8 /* upper bounds in seconds: store_run_bucket_le[] */
extern const double store_run_bucket_le[STORE_RUN_BUCKETS];
struct store_code_count {
	const char *code;
	int64_t n;
};
struct store_metrics {
	int64_t runs_running, runs_success, runs_failed;
	int64_t duration_bucket[STORE_RUN_BUCKETS]; /* finished runs, cumulative */
	int64_t duration_count;
	double duration_sum_s;
	int64_t jira_requests;
	struct store_code_count *errors; /* Jira errors by classified code (sync_log) */
	size_t n_errors;
};
int store_read_metrics(PGconn *db, struct arena *a, struct store_metrics *m, char *err,
		       size_t errlen) JS_WUR;

#endif
