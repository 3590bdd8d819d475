/*
 * store: every SQL statement outside the migrations. Batch upserts of synced
 * rows (COPY into temporary tables, then one merge statement per table that
 * skips unchanged rows), runs and their checkpoints, per-entity states, logs,
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
int store_project_register(PGconn *db, const char *key, const char *cron, int jitter_s,
			   int64_t *id, char *err, size_t errlen) JS_WUR;
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
	char kind[16];      /* full|incremental|backfill */
	char trigger[16];   /* schedule|manual|backfill */
	char status[16];    /* RUNNING|SUCCESS|FAILED */
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

/* Counters a step adds to its run. */
struct store_counts {
	int64_t issues_upserted, issues_deleted;
	int64_t comments_upserted, comments_deleted;
	int64_t worklogs_upserted, worklogs_deleted;
	int64_t sprints_upserted;
	int64_t jira_requests, jira_bytes;
};
/*
 * Inside the step's transaction: move the run from expect_seq to
 * expect_seq + 1 with the new checkpoint and add the counters. Returns 1
 * when the run is no longer at expect_seq (another delivery got there
 * first): the caller rolls back.
 */
int store_run_advance(PGconn *db, int64_t run_id, int expect_seq, const char *checkpoint,
		      const struct store_counts *add, char *err, size_t errlen) JS_WUR;
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
int store_state_reconciled(PGconn *db, int64_t project_id, int64_t at_ms, char *err,
			   size_t errlen) JS_WUR;
/* details: JSON object text or NULL. */
int store_log(PGconn *db, int64_t project_id, int64_t run_id, const char *level, const char *msg,
	      const char *details, char *err, size_t errlen) JS_WUR;

/* ---- synced rows (inside a step's transaction) ------------------------------ */
struct store_write {
	bool replace_comments;  /* replace the comment sets of issues marked complete */
	bool replace_worklogs;
};
/*
 * Write a batch: users, issues (project_id), sprint links of those issues,
 * comments and worklogs (replacing the complete sets of the batch's issues,
 * so deleted ones disappear), and the overflow work list of run_id.
 * Unchanged rows are not rewritten. Counts go into *counts.
 */
int store_write_batch(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/* Replace the whole comment (or worklog) set of the given issues with the
 * rows of b (issues fetched through the per-issue endpoints). */
int store_replace_children(PGconn *db, const char *kind, const int64_t *issue_ids, size_t n,
			   const struct batch *b, struct store_counts *counts, char *err,
			   size_t errlen) JS_WUR;
/* Up to max issue ids still owed by the run for kind ("comment"|"worklog"). */
int store_overflow_next(PGconn *db, int64_t run_id, const char *kind, int64_t *ids, size_t max,
			size_t *n, char *err, size_t errlen) JS_WUR;
int store_overflow_done(PGconn *db, int64_t run_id, const char *kind, const int64_t *ids,
			size_t n, char *err, size_t errlen) JS_WUR;
/* Delete worklogs by id that belong to the project's issues. */
int store_delete_worklogs(PGconn *db, int64_t project_id, const int64_t *ids, size_t n,
			  struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/* Upsert sprints and make them the project's sprint set. */
int store_write_sprints(PGconn *db, int64_t project_id, const struct batch *b,
			struct store_counts *counts, char *err, size_t errlen) JS_WUR;
/* Reconciliation: remember ids seen; at the end soft-delete the project's
 * live issues not seen (and revive none: upserts revive). */
int store_seen_add(PGconn *db, int64_t run_id, const int64_t *ids, size_t n, char *err,
		   size_t errlen) JS_WUR;
int store_seen_finish(PGconn *db, int64_t run_id, int64_t project_id,
		      struct store_counts *counts, char *err, size_t errlen) JS_WUR;

#endif
