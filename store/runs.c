/*
 * Projects, runs, states, logs and the smaller per-step writes (overflow
 * work lists, reconciliation, sprints, worklog deletions). Every statement is
 * static text with $n parameters.
 */
#include "store/pipe.h"
#include "store/store.h"

/* Run a parameterised statement; returns the result (caller PQclear) or NULL
 * with err set. */
static PGresult *q(PGconn *db, const char *sql, int n, const char *const *vals, char *err,
		   size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);
		if (!*m)
			m = PQerrorMessage(db);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int q0(PGconn *db, const char *sql, int n, const char *const *vals, char *err, size_t errlen)
{
	PGresult *r = q(db, sql, n, vals, err, errlen);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

static bool unique_violation(PGconn *db, const char *sql, int n, const char *const *vals,
			     PGresult **out, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*out = r;
		return false;
	}
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	bool uv = state && strcmp(state, "23505") == 0;
	if (!uv) {
		const char *m = PQresultErrorMessage(r);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
	}
	PQclear(r);
	*out = NULL;
	return uv;
}

int store_begin(PGconn *db, char *err, size_t errlen)
{
	return pg_exec(db, "BEGIN", err, errlen);
}

int store_commit(PGconn *db, char *err, size_t errlen)
{
	return pg_exec(db, "COMMIT", err, errlen);
}

void store_rollback(PGconn *db)
{
	/* A step whose writes failed before their BEGIN went out has none. */
	if (PQtransactionStatus(db) == PQTRANS_IDLE)
		return;
	PGresult *r = PQexec(db, "ROLLBACK");
	PQclear(r);
}

bool store_conn_lost(PGconn *db)
{
	return !db || PQstatus(db) != CONNECTION_OK;
}

/* ---- projects ------------------------------------------------------------- */

int store_project_register(PGconn *db, const char *key, const char *cron, int jitter_s, int64_t *id,
			   char *err, size_t errlen)
{
	char jit[24];
	snprintf(jit, sizeof jit, "%d", jitter_s);
	const char *vals[3] = {key, cron, jit};
	/* One statement so that concurrent registrations of one key agree. */
	PGresult *r = q(
		db,
		"WITH p AS (INSERT INTO project (key) VALUES ($1)"
		" ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING id),"
		" j AS (INSERT INTO sync_job (project_id, cron, effective_cron, jitter_seconds)"
		" SELECT id, $2, $2, $3::int FROM p ON CONFLICT (project_id) DO NOTHING),"
		" s AS (INSERT INTO sync_state (project_id, entity)"
		" SELECT id, e FROM p, unnest(ARRAY['issue','comment','worklog','sprint']) e"
		" ON CONFLICT DO NOTHING)"
		" SELECT id FROM p",
		3, vals, err, errlen);
	if (!r)
		return -1;
	int rc = parse_i64(PQgetvalue(r, 0, 0), id);
	PQclear(r);
	if (rc < 0)
		snprintf(err, errlen, "unexpected project id");
	return rc;
}

static char **text_array(const char *lit, size_t *n)
{
	/* Parse a PostgreSQL text[] literal of account ids ({a,b,"c d"}). The
	 * ids are validated on the way in, so quoting is rare; handle it. */
	*n = 0;
	if (!lit || lit[0] != '{')
		return NULL;
	size_t cap = 4;
	char **v = xmalloc(cap * sizeof *v);
	const char *p = lit + 1;
	while (*p && *p != '}') {
		struct buf item;
		buf_init(&item, 4096);
		int rc = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				rc |= buf_putc(&item, *p++);
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != '}')
				rc |= buf_putc(&item, *p++);
		}
		(void)rc;
		if (*n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[(*n)++] = buf_detach(&item);
		if (*p == ',')
			p++;
	}
	return v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A project's columns (id, key, tracked users) as fill_project reads them. */
#define PROJECT_COLS                                                              \
	"p.id, p.key, coalesce((SELECT array_agg(account_id ORDER BY account_id)" \
	" FROM project_tracked_user t WHERE t.project_id = p.id), '{}')"

/* The project in columns col.. of row 0. */
static int fill_project(PGresult *r, int col, struct store_project *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (parse_i64(PQgetvalue(r, 0, col), &out->id) < 0) {
		snprintf(err, errlen, "unexpected project id");
		return -1;
	}
	snprintf(out->key, sizeof out->key, "%s", PQgetvalue(r, 0, col + 1));
	size_t n;
	out->tracked = text_array(PQgetvalue(r, 0, col + 2), &n);
	out->n_tracked = (int)n;
	return 0;
}

int store_project_by_key(PGconn *db, const char *key, struct store_project *out, char *err,
			 size_t errlen)
{
	const char *vals[1] = {key};
	PGresult *r = q(db, "SELECT " PROJECT_COLS " FROM project p WHERE p.key = $1", 1, vals, err,
			errlen);
	if (!r)
		return -1;
	int rc = PQntuples(r) == 1 ? fill_project(r, 0, out, err, errlen) : 1;
	PQclear(r);
	return rc;
}

void store_project_release(struct store_project *p)
{
	if (!p)
		return;
	free_strv(p->tracked, (size_t)p->n_tracked);
	p->tracked = NULL;
	p->n_tracked = 0;
}

/* A text[] literal of validated ids, every element quoted. */
static char *array_literal(const char *const *ids, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= buf_putc(&b, '"');
		for (const char *p = ids[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				rc |= buf_putc(&b, '\\');
			rc |= buf_putc(&b, *p);
		}
		rc |= buf_putc(&b, '"');
	}
	rc |= buf_putc(&b, '}');
	(void)rc;
	return buf_detach(&b);
}

int store_set_tracked_users(PGconn *db, int64_t project_id, const char *const *ids, size_t n,
			    char *err, size_t errlen)
{
	char pid[24];
	char *arr = array_literal(ids, n);
	const char *vals[2] = {fmt_i64(pid, project_id), arr};
	int rc = q0(db,
		    "WITH d AS (DELETE FROM project_tracked_user WHERE project_id = $1"
		    " AND account_id <> ALL($2::text[]))"
		    " INSERT INTO project_tracked_user (project_id, account_id)"
		    " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
		    2, vals, err, errlen);
	free(arr);
	return rc;
}

/* ---- runs ----------------------------------------------------------------- */

void store_run_release(struct store_run *r)
{
	if (!r)
		return;
	free(r->checkpoint);
	free_strv(r->account_ids, r->n_account_ids);
	memset(r, 0, sizeof *r);
}

int store_run_create(PGconn *db, int64_t project_id, const char *kind, const char *trigger,
		     int64_t slot_ms, const char *const *account_ids, size_t n_accounts,
		     const char *checkpoint, int64_t *run_id, char *err, size_t errlen)
{
	char pid[24], slot[24];
	char *arr = n_accounts ? array_literal(account_ids, n_accounts) : NULL;
	const char *vals[6] = {fmt_i64(pid, project_id),
			       kind,
			       trigger,
			       slot_ms == JS_TIME_NULL ? NULL : fmt_i64(slot, slot_ms),
			       arr,
			       checkpoint ? checkpoint : "{}"};
	PGresult *r = NULL;
	int rc;
	if (unique_violation(
		    db,
		    "INSERT INTO sync_run (project_id, kind, trigger, slot_at, account_ids,"
		    " checkpoint) VALUES ($1, $2, $3,"
		    " timestamptz 'epoch' + $4::bigint * interval '1 millisecond',"
		    " $5::text[], $6::jsonb) RETURNING id",
		    6, vals, &r, err, errlen)) {
		rc = 1;
	} else if (!r) {
		rc = -1;
	} else {
		rc = parse_i64(PQgetvalue(r, 0, 0), run_id) < 0 ? -1 : 0;
		PQclear(r);
	}
	free(arr);
	return rc;
}

int store_run_start(PGconn *db, int64_t project_id, bool force_full, const char *trigger,
		    int64_t slot_ms, const char *const *account_ids, size_t n_accounts,
		    int64_t *run_id, char kind_out[16], char *err, size_t errlen)
{
	int64_t cursor = JS_TIME_NULL;
	if (store_begin(db, err, errlen) < 0)
		return -1;
	if (store_state_cursor(db, project_id, "issue", &cursor, NULL, err, errlen) < 0)
		goto fail;
	const char *kind = n_accounts                               ? "backfill"
			   : (force_full || cursor == JS_TIME_NULL) ? "full"
								    : "incremental";
	if (!trigger)
		trigger = n_accounts ? "backfill" : "manual";
	int rc = store_run_create(db, project_id, kind, trigger, slot_ms, account_ids, n_accounts,
				  "{}", run_id, err, errlen);
	if (rc != 0) {
		store_rollback(db);
		return rc;
	}
	for (const char *const *ent =
		     (const char *const[]){"issue", "comment", "worklog", "sprint", NULL};
	     *ent; ent++)
		if (store_state_set(db, project_id, *ent, "RUNNING", JS_TIME_NULL, NULL, err,
				    errlen) < 0)
			goto fail;
	char details[160], rid[24];
	snprintf(details, sizeof details, "{\"kind\":\"%s\",\"trigger\":\"%s\",\"runId\":%s}", kind,
		 trigger, fmt_i64(rid, *run_id));
	if (store_log(db, project_id, *run_id, "INFO", "run started", details, err, errlen) < 0 ||
	    store_commit(db, err, errlen) < 0)
		goto fail;
	snprintf(kind_out, 16, "%s", kind);
	return 0;
fail:
	store_rollback(db);
	return -1;
}

/* A run's columns as fill_run reads them (RUN_NCOLS of them). */
#define RUN_COLS                                                                           \
	"r.id, r.project_id, r.kind, r.trigger, r.status, r.step_seq, r.checkpoint::text," \
	" coalesce(r.account_ids, '{}'), (extract(epoch from r.started_at) * 1000)::bigint"
#define RUN_NCOLS 9
static const char run_cols[] = "SELECT " RUN_COLS " FROM sync_run r ";

static int fill_run(PGresult *r, struct store_run *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	int64_t seq;
	if (parse_i64(PQgetvalue(r, 0, 0), &out->id) < 0 ||
	    parse_i64(PQgetvalue(r, 0, 1), &out->project_id) < 0 ||
	    parse_i64(PQgetvalue(r, 0, 5), &seq) < 0 ||
	    parse_i64(PQgetvalue(r, 0, 8), &out->started_ms) < 0) {
		snprintf(err, errlen, "unexpected sync_run row");
		return -1;
	}
	snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(r, 0, 2));
	snprintf(out->trigger, sizeof out->trigger, "%s", PQgetvalue(r, 0, 3));
	snprintf(out->status, sizeof out->status, "%s", PQgetvalue(r, 0, 4));
	out->step_seq = (int)seq;
	out->checkpoint = xstrdup(PQgetvalue(r, 0, 6));
	out->account_ids = text_array(PQgetvalue(r, 0, 7), &out->n_account_ids);
	return 0;
}

static int load_run(PGconn *db, const char *where, const char *arg, struct store_run *out,
		    char *err, size_t errlen)
{
	struct buf sql;
	buf_init(&sql, 0);
	int rc = buf_puts(&sql, run_cols);
	rc |= buf_puts(&sql, where);
	if (rc < 0) {
		buf_release(&sql);
		return -1;
	}
	const char *vals[1] = {arg};
	PGresult *r = q(db, sql.data, 1, vals, err, errlen);
	buf_release(&sql);
	if (!r)
		return -1;
	rc = PQntuples(r) == 1 ? fill_run(r, out, err, errlen) : 1;
	PQclear(r);
	return rc;
}

int store_run_active(PGconn *db, int64_t project_id, struct store_run *out, char *err,
		     size_t errlen)
{
	char pid[24];
	return load_run(db, "WHERE project_id = $1 AND status = 'RUNNING'",
			fmt_i64(pid, project_id), out, err, errlen);
}

int store_run_load(PGconn *db, int64_t run_id, struct store_run *out, char *err, size_t errlen)
{
	char id[24];
	int rc = load_run(db, "WHERE id = $1", fmt_i64(id, run_id), out, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "no run %" PRId64, run_id);
	return rc == 1 ? -1 : rc;
}

int store_run_load_project(PGconn *db, int64_t run_id, struct store_run *run,
			   struct store_project *project, char *err, size_t errlen)
{
	char id[24];
	const char *vals[1] = {fmt_i64(id, run_id)};
	PGresult *r = q(
		db,
		"SELECT " RUN_COLS ", " PROJECT_COLS
		" FROM sync_run r LEFT JOIN project p ON p.id = r.project_id WHERE r.id = $1",
		1, vals, err, errlen);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		snprintf(err, errlen, "no run %" PRId64, run_id);
		PQclear(r);
		return -1;
	}
	int rc = fill_run(r, run, err, errlen);
	memset(project, 0, sizeof *project);
	if (rc == 0 && PQgetisnull(r, 0, RUN_NCOLS)) {
		snprintf(err, errlen, "the project of run %" PRId64 " is gone", run_id);
		rc = 1;
	} else if (rc == 0) {
		rc = fill_project(r, RUN_NCOLS, project, err, errlen);
	}
	PQclear(r);
	return rc;
}

static const char run_finish_sql[] =
	"UPDATE sync_run SET status = $2::sync_status, error_code = $3, error_message = $4,"
	" finished_at = now() WHERE id = $1 AND status = 'RUNNING'";
static const char log_sql[] = "INSERT INTO sync_log (project_id, run_id, level, message, details)"
			      " VALUES ($1, $2, $3, $4, $5::jsonb)";

enum { STEP_ADVANCE, STEP_OTHER };

int store_step_commit(PGconn *db, const struct store_step_end *end, char *err, size_t errlen)
{
	const struct store_counts *a = end->add;
	char id[24], seq[24], pid[24], v[9][24];
	const char *adv[12] = {fmt_i64(id, end->run_id),
			       fmt_i64(seq, end->expect_seq),
			       end->checkpoint,
			       fmt_i64(v[0], a->issues_upserted),
			       fmt_i64(v[1], a->issues_deleted),
			       fmt_i64(v[2], a->comments_upserted),
			       fmt_i64(v[3], a->comments_deleted),
			       fmt_i64(v[4], a->worklogs_upserted),
			       fmt_i64(v[5], a->worklogs_deleted),
			       fmt_i64(v[6], a->sprints_upserted),
			       fmt_i64(v[7], a->jira_requests),
			       fmt_i64(v[8], a->jira_bytes)};
	struct pipe p;
	if (pipe_open(&p, db, true, err, errlen) < 0)
		return -1;
	/* js_step_guard raises JS001 when the UPDATE matched no row: what
	 * follows it, COMMIT included, is skipped. */
	pipe_send(&p, STEP_ADVANCE,
		  "WITH a AS (UPDATE sync_run SET step_seq = step_seq + 1, checkpoint = $3::jsonb,"
		  " issues_upserted = issues_upserted + $4, issues_deleted = issues_deleted + $5,"
		  " comments_upserted = comments_upserted + $6,"
		  " comments_deleted = comments_deleted + $7,"
		  " worklogs_upserted = worklogs_upserted + $8,"
		  " worklogs_deleted = worklogs_deleted + $9,"
		  " sprints_upserted = sprints_upserted + $10,"
		  " jira_requests = jira_requests + $11, jira_bytes = jira_bytes + $12,"
		  " heartbeat_at = now()"
		  " WHERE id = $1 AND step_seq = $2 AND status = 'RUNNING' RETURNING 1)"
		  " SELECT js_step_guard(count(*)) FROM a",
		  NULL, 12, adv, NULL, NULL);
	if (end->finish) {
		const char *fin[4] = {id, "SUCCESS", NULL, NULL};
		pipe_send(&p, STEP_OTHER, run_finish_sql, NULL, 4, fin, NULL, NULL);
	}
	if (end->log_msg) {
		const char *log[5] = {fmt_i64(pid, end->project_id), id, "INFO", end->log_msg,
				      end->log_details ? end->log_details : "{}"};
		pipe_send(&p, STEP_OTHER, log_sql, NULL, 5, log, NULL, NULL);
	}
	pipe_send(&p, STEP_OTHER, "COMMIT", NULL, 0, NULL, NULL, NULL);
	if (pipe_finish(&p, NULL, NULL, "cannot commit step", err, errlen) == 0)
		return 0;
	return strcmp(p.sqlstate, "JS001") == 0 ? 1 : -1;
}

int store_run_finish(PGconn *db, int64_t run_id, bool ok, const char *code, const char *message,
		     char *err, size_t errlen)
{
	char id[24];
	const char *vals[4] = {fmt_i64(id, run_id), ok ? "SUCCESS" : "FAILED", code, message};
	return q0(db, run_finish_sql, 4, vals, err, errlen);
}

int store_run_counts(PGconn *db, int64_t run_id, struct store_counts *o, char *err, size_t errlen)
{
	char id[24];
	const char *vals[1] = {fmt_i64(id, run_id)};
	PGresult *r = q(
		db,
		"SELECT issues_upserted, issues_deleted, comments_upserted, comments_deleted,"
		" worklogs_upserted, worklogs_deleted, sprints_upserted, jira_requests,"
		" jira_bytes FROM sync_run WHERE id = $1",
		1, vals, err, errlen);
	if (!r)
		return -1;
	int rc = -1;
	if (PQntuples(r) == 1) {
		int64_t *f[] = {&o->issues_upserted,  &o->issues_deleted,    &o->comments_upserted,
				&o->comments_deleted, &o->worklogs_upserted, &o->worklogs_deleted,
				&o->sprints_upserted, &o->jira_requests,     &o->jira_bytes};
		rc = 0;
		for (int i = 0; i < 9; i++)
			if (parse_i64(PQgetvalue(r, 0, i), f[i]) < 0)
				rc = -1;
	}
	PQclear(r);
	return rc;
}

/* ---- states and logs -------------------------------------------------------- */

int store_state_set(PGconn *db, int64_t project_id, const char *entity, const char *status,
		    int64_t cursor_ms, const char *error_code, char *err, size_t errlen)
{
	char pid[24], cur[24];
	const char *vals[5] = {fmt_i64(pid, project_id), entity, status,
			       cursor_ms == JS_TIME_NULL ? NULL : fmt_i64(cur, cursor_ms),
			       error_code};
	return q0(
		db,
		"INSERT INTO sync_state (project_id, entity, status, cursor_ms, last_error_code,"
		" last_success_at) VALUES ($1, $2, $3::sync_status, $4::bigint, $5,"
		" CASE WHEN $3 = 'SUCCESS' THEN now() END)"
		" ON CONFLICT (project_id, entity) DO UPDATE SET status = EXCLUDED.status,"
		" cursor_ms = coalesce(EXCLUDED.cursor_ms, sync_state.cursor_ms),"
		" last_error_code = EXCLUDED.last_error_code,"
		" last_success_at = coalesce(EXCLUDED.last_success_at, sync_state.last_success_at),"
		" updated_at = now()",
		5, vals, err, errlen);
}

int store_state_cursor(PGconn *db, int64_t project_id, const char *entity, int64_t *cursor_ms,
		       int64_t *last_reconcile_ms, char *err, size_t errlen)
{
	char pid[24];
	const char *vals[2] = {fmt_i64(pid, project_id), entity};
	PGresult *r = q(db,
			"SELECT cursor_ms, (extract(epoch from last_reconcile_at) * 1000)::bigint"
			" FROM sync_state WHERE project_id = $1 AND entity = $2",
			2, vals, err, errlen);
	if (!r)
		return -1;
	int rc = 1;
	*cursor_ms = JS_TIME_NULL;
	if (last_reconcile_ms)
		*last_reconcile_ms = JS_TIME_NULL;
	if (PQntuples(r) == 1) {
		if (last_reconcile_ms && !PQgetisnull(r, 0, 1) &&
		    parse_i64(PQgetvalue(r, 0, 1), last_reconcile_ms) < 0)
			*last_reconcile_ms = JS_TIME_NULL;
		if (!PQgetisnull(r, 0, 0) && parse_i64(PQgetvalue(r, 0, 0), cursor_ms) == 0)
			rc = 0;
	}
	PQclear(r);
	return rc;
}

int store_project_empty(PGconn *db, int64_t project_id, bool *empty, char *err, size_t errlen)
{
	char pid[24];
	const char *vals[1] = {fmt_i64(pid, project_id)};
	PGresult *r = q(db, "SELECT NOT EXISTS (SELECT 1 FROM issue WHERE project_id = $1)", 1,
			vals, err, errlen);
	if (!r)
		return -1;
	*empty = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return 0;
}

int store_state_reconciled(PGconn *db, int64_t project_id, int64_t at_ms, char *err, size_t errlen)
{
	char pid[24], at[24];
	const char *vals[2] = {fmt_i64(pid, project_id), fmt_i64(at, at_ms)};
	return q0(db,
		  "UPDATE sync_state SET last_reconcile_at = timestamptz 'epoch' + $2::bigint *"
		  " interval '1 millisecond' WHERE project_id = $1 AND entity = 'issue'",
		  2, vals, err, errlen);
}

int store_log(PGconn *db, int64_t project_id, int64_t run_id, const char *level, const char *msg,
	      const char *details, char *err, size_t errlen)
{
	char pid[24], rid[24];
	const char *vals[5] = {project_id ? fmt_i64(pid, project_id) : NULL,
			       run_id ? fmt_i64(rid, run_id) : NULL, level, msg,
			       details ? details : "{}"};
	return q0(db, log_sql, 5, vals, err, errlen);
}

/* ---- per-step writes ---------------------------------------------------------- */

/* "{1,2,3}" for a bigint[] parameter. */
static char *id_array(const int64_t *ids, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '{');
	char tmp[24];
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= buf_puts(&b, fmt_i64(tmp, ids[i]));
	}
	rc |= buf_putc(&b, '}');
	(void)rc;
	return buf_detach(&b);
}

int store_overflow_next(PGconn *db, int64_t run_id, const char *kind, int64_t *ids, size_t max,
			size_t *n, char *err, size_t errlen)
{
	char rid[24], lim[24];
	const char *vals[3] = {fmt_i64(rid, run_id), kind, fmt_i64(lim, (int64_t)max)};
	PGresult *r = q(db,
			"SELECT issue_id FROM sync_run_overflow WHERE run_id = $1 AND kind = $2"
			" ORDER BY issue_id LIMIT $3",
			3, vals, err, errlen);
	if (!r)
		return -1;
	*n = 0;
	for (int i = 0; i < PQntuples(r) && (size_t)i < max; i++)
		if (parse_i64(PQgetvalue(r, i, 0), &ids[*n]) == 0)
			(*n)++;
	PQclear(r);
	return 0;
}

void store_known_release(struct store_known *k)
{
	free(k->issues);
	free(k->totals);
	free(k->ids);
	free(k->id_issue);
	memset(k, 0, sizeof *k);
}

#define KNOWN_SQL(table, total)                                                                \
	"WITH k AS (SELECT o.issue_id, i." total " AS total FROM sync_run_overflow o"          \
	" JOIN issue i ON i.id = o.issue_id JOIN " table " x ON x.issue_id = o.issue_id"       \
	" WHERE o.run_id = $1 AND o.kind = $2 AND o.issue_id > $3"                             \
	" GROUP BY o.issue_id, i." total " HAVING i." total " > 0 AND count(*) >= i." total    \
	" AND count(*) <= $4 ORDER BY o.issue_id LIMIT $5)"                                    \
	" SELECT k.issue_id, k.total, x.id FROM k JOIN " table " x ON x.issue_id = k.issue_id" \
	" ORDER BY k.issue_id, x.id"

int store_overflow_known(PGconn *db, int64_t run_id, const char *kind, int64_t after_issue,
			 size_t max_ids, struct store_known *out, char *err, size_t errlen)
{
	enum { MAX_ISSUES = 200 };
	memset(out, 0, sizeof *out);
	out->last_issue = after_issue;
	bool comments = strcmp(kind, "comment") == 0;
	char rid[24], after[24], maxi[24], lim[24];
	const char *vals[5] = {fmt_i64(rid, run_id), kind, fmt_i64(after, after_issue),
			       fmt_i64(maxi, (int64_t)max_ids), fmt_i64(lim, MAX_ISSUES)};
	PGresult *r = q(db,
			comments ? KNOWN_SQL("comment", "comment_total")
				 : KNOWN_SQL("worklog", "worklog_total"),
			5, vals, err, errlen);
	if (!r)
		return -1;
	int rows = PQntuples(r);
	out->issues = xcalloc(MAX_ISSUES, sizeof *out->issues);
	out->totals = xcalloc(MAX_ISSUES, sizeof *out->totals);
	out->ids = xcalloc(max_ids ? max_ids : 1, sizeof *out->ids);
	out->id_issue = xcalloc(max_ids ? max_ids : 1, sizeof *out->id_issue);
	int rc = 0;
	for (int i = 0; i < rows;) {
		int64_t issue, total;
		if (parse_i64(PQgetvalue(r, i, 0), &issue) < 0 ||
		    parse_i64(PQgetvalue(r, i, 1), &total) < 0) {
			rc = -1;
			break;
		}
		int j = i;
		while (j < rows && strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)) == 0)
			j++;
		/* Whole issues only: one that does not fit waits for the next call. */
		if (out->n_ids + (size_t)(j - i) > max_ids || out->n_issues == MAX_ISSUES) {
			out->more = true;
			break;
		}
		for (int k = i; k < j; k++) {
			if (parse_i64(PQgetvalue(r, k, 2), &out->ids[out->n_ids]) < 0) {
				rc = -1;
				break;
			}
			out->id_issue[out->n_ids++] = issue;
		}
		out->issues[out->n_issues] = issue;
		out->totals[out->n_issues++] = (int)total;
		out->last_issue = issue;
		i = j;
	}
	/* A full set of issues may have more behind it. */
	if (out->n_issues == MAX_ISSUES)
		out->more = true;
	PQclear(r);
	if (rc < 0) {
		snprintf(err, errlen, "unreadable overflow row");
		store_known_release(out);
	}
	return rc;
}

int store_delete_worklogs(PGconn *db, int64_t project_id, const int64_t *ids, size_t n,
			  struct store_counts *counts, char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	char pid[24];
	char *arr = id_array(ids, n);
	const char *vals[2] = {fmt_i64(pid, project_id), arr};
	PGresult *r = q(db,
			"DELETE FROM worklog w USING issue i WHERE w.issue_id = i.id"
			" AND i.project_id = $1 AND w.id = ANY($2::bigint[])",
			2, vals, err, errlen);
	free(arr);
	if (!r)
		return -1;
	int64_t d = 0;
	if (parse_i64(PQcmdTuples(r), &d) == 0)
		counts->worklogs_deleted += d;
	PQclear(r);
	return 0;
}

int store_write_sprints(PGconn *db, int64_t project_id, const struct batch *b, bool replace_set,
			struct store_counts *counts, char *err, size_t errlen)
{
	/* Sprints are few (tens per board): a JSON document and one statement
	 * per table is plenty. */
	struct buf j;
	buf_init(&j, 0);
	int rc = buf_putc(&j, '[');
	char tmp[24];
	for (size_t i = 0; i < b->sprints.n; i++) {
		const struct sprint_row *s = &b->sprints.v[i];
		rc |= buf_printf(&j, "%s{\"id\":%s", i ? "," : "", fmt_i64(tmp, s->id));
		rc |= buf_printf(&j, ",\"board_id\":%s", fmt_i64(tmp, s->board_id));
		rc |= buf_puts(&j, ",\"name\":");
		rc |= buf_json_str(&j, s->name ? s->name : "");
		rc |= buf_puts(&j, ",\"state\":");
		rc |= buf_json_str(&j, s->state ? s->state : "");
		rc |= buf_puts(&j, ",\"goal\":");
		rc |= s->goal ? buf_json_str(&j, s->goal) : buf_puts(&j, "null");
		const int64_t ts[3] = {s->start_ms, s->end_ms, s->complete_ms};
		const char *names[3] = {"start_ms", "end_ms", "complete_ms"};
		for (int k = 0; k < 3; k++) {
			if (ts[k] == JS_TIME_NULL)
				rc |= buf_printf(&j, ",\"%s\":null", names[k]);
			else
				rc |= buf_printf(&j, ",\"%s\":%s", names[k], fmt_i64(tmp, ts[k]));
		}
		rc |= buf_putc(&j, '}');
	}
	rc |= buf_putc(&j, ']');
	if (rc < 0) {
		snprintf(err, errlen, "sprint list too large");
		buf_release(&j);
		return -1;
	}
	char pid[24];
	const char *vals[2] = {j.data, fmt_i64(pid, project_id)};
	PGresult *r = q(
		db,
		"INSERT INTO sprint AS s (id, board_id, name, state, goal, start_date, end_date,"
		" complete_date)"
		" SELECT id, board_id, name, state, goal,"
		" timestamptz 'epoch' + start_ms * interval '1 millisecond',"
		" timestamptz 'epoch' + end_ms * interval '1 millisecond',"
		" timestamptz 'epoch' + complete_ms * interval '1 millisecond'"
		" FROM json_to_recordset($1::json) AS x(id bigint, board_id bigint, name text,"
		" state text, goal text, start_ms bigint, end_ms bigint, complete_ms bigint)"
		" ON CONFLICT (id) DO UPDATE SET board_id = EXCLUDED.board_id,"
		" name = EXCLUDED.name, state = EXCLUDED.state, goal = EXCLUDED.goal,"
		" start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,"
		" complete_date = EXCLUDED.complete_date, synced_at = now()"
		" WHERE (s.board_id, s.name, s.state, s.goal, s.start_date, s.end_date,"
		" s.complete_date) IS DISTINCT FROM (EXCLUDED.board_id, EXCLUDED.name,"
		" EXCLUDED.state, EXCLUDED.goal, EXCLUDED.start_date, EXCLUDED.end_date,"
		" EXCLUDED.complete_date)",
		1, vals, err, errlen);
	if (!r)
		goto fail;
	int64_t n = 0;
	if (parse_i64(PQcmdTuples(r), &n) == 0)
		counts->sprints_upserted += n;
	PQclear(r);
	r = q(db,
	      replace_set
		      ? "WITH ids AS (SELECT (e->>'id')::bigint AS id FROM json_array_elements($1::json) e),"
			" d AS (DELETE FROM project_sprint ps WHERE ps.project_id = $2"
			" AND ps.sprint_id NOT IN (SELECT id FROM ids))"
			" INSERT INTO project_sprint (project_id, sprint_id) SELECT $2, id FROM ids"
			" ON CONFLICT DO NOTHING"
		      : "INSERT INTO project_sprint (project_id, sprint_id)"
			" SELECT $2, (e->>'id')::bigint FROM json_array_elements($1::json) e"
			" ON CONFLICT DO NOTHING",
	      2, vals, err, errlen);
	if (!r)
		goto fail;
	PQclear(r);
	buf_release(&j);
	return 0;
fail:
	buf_release(&j);
	return -1;
}

int store_seen_add(PGconn *db, int64_t run_id, const int64_t *ids, size_t n, char *err,
		   size_t errlen)
{
	if (n == 0)
		return 0;
	char rid[24];
	char *arr = id_array(ids, n);
	const char *vals[2] = {fmt_i64(rid, run_id), arr};
	int rc = q0(db,
		    "INSERT INTO sync_run_seen (run_id, issue_id) SELECT $1, unnest($2::bigint[])"
		    " ON CONFLICT DO NOTHING",
		    2, vals, err, errlen);
	free(arr);
	return rc;
}

int store_seen_finish(PGconn *db, int64_t run_id, int64_t project_id, struct store_counts *counts,
		      char *err, size_t errlen)
{
	char rid[24], pid[24];
	const char *vals[2] = {fmt_i64(rid, run_id), fmt_i64(pid, project_id)};
	PGresult *r = q(db,
			"UPDATE issue i SET deleted_at = now() WHERE i.project_id = $2"
			" AND i.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM sync_run_seen s"
			" WHERE s.run_id = $1 AND s.issue_id = i.id)",
			2, vals, err, errlen);
	if (!r)
		return -1;
	int64_t d = 0;
	if (parse_i64(PQcmdTuples(r), &d) == 0)
		counts->issues_deleted += d;
	PQclear(r);
	const char *del[1] = {rid};
	return q0(db, "DELETE FROM sync_run_seen WHERE run_id = $1", 1, del, err, errlen);
}

int store_open_sprints(PGconn *db, int64_t project_id, int64_t *ids, size_t max, size_t *n,
		       char *err, size_t errlen)
{
	char pid[24], lim[24];
	const char *vals[2] = {fmt_i64(pid, project_id), fmt_i64(lim, (int64_t)max)};
	PGresult *r = q(db,
			"SELECT s.id FROM sprint s JOIN project_sprint ps ON ps.sprint_id = s.id"
			" WHERE ps.project_id = $1 AND s.state IN ('active', 'future')"
			" ORDER BY s.id LIMIT $2",
			2, vals, err, errlen);
	if (!r)
		return -1;
	*n = 0;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		if (parse_i64(PQgetvalue(r, i, 0), &ids[*n]) == 0)
			(*n)++;
	PQclear(r);
	return 0;
}

int store_site_get(PGconn *db, const char *base_url, int64_t max_age_ms, char flavour[16],
		   char sprint_field[128], char *err, size_t errlen)
{
	char age[24];
	const char *vals[2] = {base_url, fmt_i64(age, max_age_ms)};
	PGresult *r = q(
		db,
		"SELECT flavour, coalesce(sprint_field, '') FROM jira_site WHERE base_url = $1"
		" AND checked_at > now() - $2::bigint * interval '1 millisecond'",
		2, vals, err, errlen);
	if (!r)
		return -1;
	int rc = 1;
	if (PQntuples(r) == 1) {
		snprintf(flavour, 16, "%s", PQgetvalue(r, 0, 0));
		snprintf(sprint_field, 128, "%s", PQgetvalue(r, 0, 1));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

int store_site_put(PGconn *db, const char *base_url, const char *flavour, const char *sprint_field,
		   char *err, size_t errlen)
{
	const char *vals[3] = {base_url, flavour, sprint_field};
	return q0(db,
		  "INSERT INTO jira_site (base_url, flavour, sprint_field) VALUES ($1, $2, $3)"
		  " ON CONFLICT (base_url) DO UPDATE SET flavour = EXCLUDED.flavour,"
		  " sprint_field = EXCLUDED.sprint_field, checked_at = now()",
		  3, vals, err, errlen);
}

int store_unknown_sprint_links(PGconn *db, int64_t project_id, int64_t since_ms, bool *found,
			       char *err, size_t errlen)
{
	char pid[24], since[24];
	const char *vals[2] = {fmt_i64(pid, project_id),
			       fmt_i64(since, since_ms == JS_TIME_NULL ? 0 : since_ms)};
	PGresult *r = q(
		db,
		"SELECT EXISTS (SELECT 1 FROM issue i JOIN issue_sprint l ON l.issue_id = i.id"
		" WHERE i.project_id = $1"
		" AND i.updated >= timestamptz 'epoch' + $2::bigint * interval '1 millisecond'"
		" AND NOT EXISTS (SELECT 1 FROM sprint s WHERE s.id = l.sprint_id))",
		2, vals, err, errlen);
	if (!r)
		return -1;
	*found = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return 0;
}
