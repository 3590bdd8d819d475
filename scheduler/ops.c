/*
 * The operations API: register, pause, resume, reschedule, trigger, start,
 * tracked users, overlap policy and read, on sync_job and its project. The
 * CLI and the GraphQL mutations both call these; each validates its input
 * (BAD_USER_INPUT naming the field), maps failures to stable codes and
 * returns the job as it is after the change plus the run it started.
 *
 * Starting a run (here and from the schedule loop) goes through
 * sched_fire_run: the database's unique indexes decide whether a run may
 * start (one active per project, one per schedule slot), the overlap policy
 * decides what happens otherwise.
 */
#include "scheduler/sched_int.h"

#include <stdarg.h>

#include "jira/jira.h"

void sched_set_error(struct sched_error *err, const char *code, const char *field, const char *fmt,
		     ...)
{
	snprintf(err->code, sizeof err->code, "%s", code);
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

void sched_db_error(PGconn *db, struct sched_error *err, const char *what, const char *msg)
{
	sched_set_error(err, store_conn_lost(db) ? "DB_UNAVAILABLE" : "INTERNAL", NULL, "%s: %s",
			what, msg);
}

int sched_next_fire(const char *cron, int jitter_s, int64_t after_ms, int64_t *slot_ms,
		    int64_t *fire_ms)
{
	struct cron c;
	if (cron_parse(cron, &c, NULL, 0) < 0)
		return -1;
	return cron_next_jittered(&c, after_ms, (uint32_t)(jitter_s < 0 ? 0 : jitter_s), slot_ms,
				  fire_ms) < 0
		       ? -1
		       : 0;
}

int sched_enqueue_step(struct engine_conn *eng, int64_t run_id, int seq)
{
	struct engine_task t = {
		.kind = SCHED_STEP_KIND, .run_id = run_id, .seq = seq, .attempt = 1};
	return engine_enqueue(eng, &t, NULL);
}

/* ---- reading ----------------------------------------------------------------- */

static const char job_sql[] =
	"SELECT p.id, p.key, j.cron, j.effective_cron, j.jitter_seconds, j.overlap_policy,"
	" j.status::text, coalesce(j.pause_note, ''), j.failure_streak,"
	" (extract(epoch from j.last_run_at) * 1000)::bigint,"
	" (extract(epoch from j.next_run_at) * 1000)::bigint,"
	" (extract(epoch from j.updated_at) * 1000)::bigint,"
	" j.buffered_trigger IS NOT NULL OR j.buffered_accounts IS NOT NULL,"
	" coalesce((SELECT r.id FROM sync_run r WHERE r.project_id = p.id AND r.status = 'RUNNING'), 0),"
	" coalesce((SELECT string_agg(t.account_id, ',' ORDER BY t.account_id)"
	"   FROM project_tracked_user t WHERE t.project_id = p.id), '')"
	" FROM project p JOIN sync_job j ON j.project_id = p.id WHERE p.key = $1";

static int64_t ms_or_null(const PGresult *r, int col)
{
	int64_t v;
	if (PQgetisnull(r, 0, col) || parse_i64(PQgetvalue(r, 0, col), &v) < 0)
		return JS_TIME_NULL;
	return v;
}

static char **split_csv(const char *s, size_t *n)
{
	*n = 0;
	if (!*s)
		return NULL;
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	char **v = xmalloc(cap * sizeof *v);
	while (*s) {
		size_t len = strcspn(s, ",");
		if (len)
			v[(*n)++] = xstrndup(s, len);
		s += len;
		if (*s == ',')
			s++;
	}
	return v;
}

void sched_job_release(struct sched_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n_tracked; i++)
		free(j->tracked[i]);
	free(j->tracked);
	j->tracked = NULL;
	j->n_tracked = 0;
}

void sched_result_release(struct sched_result *r)
{
	if (r)
		sched_job_release(&r->job);
}

static bool valid_key(const char *key, struct sched_error *err)
{
	if (key && jira_valid_project_key(key))
		return true;
	sched_set_error(
		err, "BAD_USER_INPUT", "key",
		"invalid project key '%.64s': expected A-Z, 0-9 and _, starting with a letter",
		key ? key : "");
	return false;
}

int sched_get(const struct sched_ctx *c, const char *key, struct sched_job *out,
	      struct sched_error *err)
{
	if (!valid_key(key, err))
		return -1;
	const char *vals[1] = {key};
	PGresult *r = PQexecParams(c->db, job_sql, 1, NULL, vals, NULL, NULL, 0);
	int rc = -1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);
		char msg[256];
		snprintf(msg, sizeof msg, "%.*s", (int)strcspn(m, "\n"), m);
		sched_db_error(c->db, err, "cannot read schedule", msg);
		goto out;
	}
	if (PQntuples(r) != 1) {
		sched_set_error(
			err, "NOT_FOUND", "key",
			"project '%s' is not registered: run 'jirasync project register %s'", key,
			key);
		goto out;
	}
	struct sched_job j;
	memset(&j, 0, sizeof j);
	int64_t v;
	if (parse_i64(PQgetvalue(r, 0, 0), &j.project_id) < 0) {
		sched_set_error(err, "INTERNAL", NULL, "unexpected sync_job row");
		goto out;
	}
	snprintf(j.key, sizeof j.key, "%s", PQgetvalue(r, 0, 1));
	snprintf(j.cron, sizeof j.cron, "%s", PQgetvalue(r, 0, 2));
	snprintf(j.effective_cron, sizeof j.effective_cron, "%s", PQgetvalue(r, 0, 3));
	j.jitter_seconds = parse_i64(PQgetvalue(r, 0, 4), &v) == 0 ? (int)v : 0;
	snprintf(j.overlap_policy, sizeof j.overlap_policy, "%s", PQgetvalue(r, 0, 5));
	snprintf(j.status, sizeof j.status, "%s", PQgetvalue(r, 0, 6));
	snprintf(j.pause_note, sizeof j.pause_note, "%s", PQgetvalue(r, 0, 7));
	j.failure_streak = parse_i64(PQgetvalue(r, 0, 8), &v) == 0 ? (int)v : 0;
	j.last_run_ms = ms_or_null(r, 9);
	j.next_run_ms = ms_or_null(r, 10);
	j.updated_ms = ms_or_null(r, 11);
	j.buffered = PQgetvalue(r, 0, 12)[0] == 't';
	if (parse_i64(PQgetvalue(r, 0, 13), &j.active_run_id) < 0)
		j.active_run_id = 0;
	j.tracked = split_csv(PQgetvalue(r, 0, 14), &j.n_tracked);
	*out = j;
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* ---- starting runs ------------------------------------------------------------ */

static int exec_params(PGconn *db, const char *sql, int n, const char *const *vals, char *err,
		       size_t errlen, long *n_rows)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		rc = -1;
	} else if (n_rows) {
		*n_rows = strtol(PQcmdTuples(r), NULL, 10);
	}
	PQclear(r);
	return rc;
}

/* A PostgreSQL text[] literal of validated account ids (no quoting needed:
 * the validator allows only [A-Za-z0-9:_.@-]). */
static char *ids_literal(const char *const *ids, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= buf_puts(&b, ids[i]);
	}
	rc |= buf_putc(&b, '}');
	(void)rc; /* unbounded buffer: cannot fail */
	return buf_detach(&b);
}

static int slot_taken(PGconn *db, int64_t project_id, int64_t slot_ms, bool *taken, char *err,
		      size_t errlen)
{
	char pid[24], slot[24];
	const char *vals[2] = {fmt_i64(pid, project_id), fmt_i64(slot, slot_ms)};
	PGresult *r = PQexecParams(db,
				   "SELECT 1 FROM sync_run WHERE project_id = $1 AND slot_at ="
				   " timestamptz 'epoch' + $2::bigint * interval '1 millisecond'",
				   2, NULL, vals, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		rc = -1;
	} else {
		*taken = PQntuples(r) > 0;
	}
	PQclear(r);
	return rc;
}

static int buffer_trigger(PGconn *db, const struct sched_fire *f, bool *buffered, char *err,
			  size_t errlen)
{
	char pid[24], slot[24];
	long n = 0;
	if (f->n_account_ids) {
		/* Accounts accumulate: every added account gets its backfill. */
		char *arr = ids_literal(f->account_ids, f->n_account_ids);
		const char *vals[2] = {fmt_i64(pid, f->project_id), arr};
		int rc = exec_params(
			db,
			"UPDATE sync_job SET buffered_accounts = (SELECT array_agg(DISTINCT a)"
			" FROM unnest(coalesce(buffered_accounts, '{}') || $2::text[]) a),"
			" updated_at = now() WHERE project_id = $1",
			2, vals, err, errlen, &n);
		free(arr);
		*buffered = n > 0;
		return rc;
	}
	const char *vals[4] = {fmt_i64(pid, f->project_id),
			       strcmp(f->trigger, "schedule") == 0 ? "schedule" : "manual",
			       f->full ? "true" : "false",
			       f->slot_ms == JS_TIME_NULL ? NULL : fmt_i64(slot, f->slot_ms)};
	/* BUFFER_ONE keeps one: the first buffered trigger stays, later ones
	 * are skipped (and recorded as such by the caller). */
	int rc = exec_params(
		db,
		"UPDATE sync_job SET buffered_trigger = $2, buffered_full = $3::boolean,"
		" buffered_slot_at = timestamptz 'epoch' + $4::bigint * interval '1 millisecond',"
		" updated_at = now() WHERE project_id = $1 AND buffered_trigger IS NULL",
		4, vals, err, errlen, &n);
	*buffered = n > 0;
	return rc;
}

static int log_skip(PGconn *db, const struct sched_fire *f, const char *why, char *err,
		    size_t errlen)
{
	struct buf d;
	buf_init(&d, 4096);
	char v[24], t[32];
	int rc = buf_puts(&d, "{\"trigger\":");
	rc |= buf_json_str(&d, f->trigger);
	rc |= buf_puts(&d, ",\"policy\":");
	rc |= buf_json_str(&d, f->policy);
	rc |= buf_puts(&d, ",\"reason\":");
	rc |= buf_json_str(&d, why);
	if (f->slot_ms != JS_TIME_NULL) {
		rc |= buf_printf(&d, ",\"slotMs\":%s,\"slot\":", fmt_i64(v, f->slot_ms));
		rc |= buf_json_str(&d, jtime_format(t, f->slot_ms));
	}
	rc |= buf_printf(&d, ",\"full\":%s}", f->full ? "true" : "false");
	int out = -1;
	if (rc < 0)
		snprintf(err, errlen, "skip details too long");
	else
		out = store_log(db, f->project_id, 0, "INFO",
				strcmp(f->trigger, "schedule") == 0 ? "scheduled run skipped"
								    : "trigger skipped",
				d.data, err, errlen);
	buf_release(&d);
	return out;
}

int sched_fire_run(PGconn *db, struct engine_conn *eng, const struct sched_fire *f,
		   enum sched_fire_outcome *outcome, int64_t *run_id, char kind[16], char *err,
		   size_t errlen)
{
	int64_t id = 0;
	char k[16] = "";
	int rc = store_run_start(db, f->project_id, f->full, f->trigger, f->slot_ms, f->account_ids,
				 f->n_account_ids, &id, k, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (eng && sched_enqueue_step(eng, id, 0) < 0) {
			char rid[24];
			log_warn("cannot enqueue the first step; the reconciler will", "#run",
				 fmt_i64(rid, id), "error", engine_conn_error(eng));
		}
		*outcome = SCHED_FIRE_STARTED;
		*run_id = id;
		snprintf(kind, 16, "%s", k);
		return 0;
	}
	if (f->slot_ms != JS_TIME_NULL) {
		bool taken = false;
		if (slot_taken(db, f->project_id, f->slot_ms, &taken, err, errlen) < 0)
			return -1;
		if (taken) {
			*outcome = SCHED_FIRE_DUPLICATE;
			return 0;
		}
	}
	/* A run is active (or was a moment ago: a buffered trigger then starts
	 * at the next tick of the schedule loop). */
	bool buffer = f->always_buffer || strcmp(f->policy, "BUFFER_ONE") == 0;
	if (buffer) {
		bool buffered = false;
		if (buffer_trigger(db, f, &buffered, err, errlen) < 0)
			return -1;
		if (buffered) {
			*outcome = SCHED_FIRE_BUFFERED;
			return 0;
		}
		if (log_skip(db, f, "a run is active and one trigger is already buffered", err,
			     errlen) < 0)
			return -1;
		*outcome = SCHED_FIRE_SKIPPED;
		return 0;
	}
	if (log_skip(db, f, "a run is active", err, errlen) < 0)
		return -1;
	*outcome = SCHED_FIRE_SKIPPED;
	return 0;
}

static const char *fire_outcome_name(enum sched_fire_outcome o)
{
	switch (o) {
	case SCHED_FIRE_STARTED:
		return "started";
	case SCHED_FIRE_SKIPPED:
		return "skipped";
	case SCHED_FIRE_BUFFERED:
		return "buffered";
	case SCHED_FIRE_DUPLICATE:
		return "unchanged";
	}
	return "unchanged";
}

/* ---- mutations ---------------------------------------------------------------- */

/* Re-read the job into out after a change. */
static int finish(const struct sched_ctx *c, const char *key, const char *outcome, int64_t run_id,
		  const char *kind, struct sched_result *out, struct sched_error *err)
{
	struct sched_result r;
	memset(&r, 0, sizeof r);
	if (sched_get(c, key, &r.job, err) < 0)
		return -1;
	r.outcome = outcome;
	r.run_id = run_id;
	snprintf(r.run_kind, sizeof r.run_kind, "%s", kind ? kind : "");
	*out = r;
	return 0;
}

/* An UPDATE matched no row: the project is not registered (NOT_FOUND), or
 * it was registered a moment ago (then the caller's change simply lost). */
static int not_found(const struct sched_ctx *c, const char *key, struct sched_result *out,
		     struct sched_error *err)
{
	struct sched_job j;
	if (sched_get(c, key, &j, err) < 0)
		return -1;
	sched_job_release(&j);
	return finish(c, key, "unchanged", 0, NULL, out, err);
}

static bool valid_cron(const char *cron, struct cron *parsed, struct sched_error *err)
{
	char e[256];
	if (!cron || strlen(cron) > SCHED_CRON_MAX) {
		sched_set_error(err, "BAD_USER_INPUT", "cron",
				"invalid cron: longer than %d characters", SCHED_CRON_MAX);
		return false;
	}
	if (cron_parse(cron, parsed, e, sizeof e) < 0) {
		sched_set_error(err, "BAD_USER_INPUT", "cron", "%s", e);
		return false;
	}
	int64_t next;
	if (cron_next(parsed, now_ms(), &next) < 0) {
		sched_set_error(err, "BAD_USER_INPUT", "cron", "invalid cron '%s': it never fires",
				cron);
		return false;
	}
	return true;
}

static bool valid_accounts(const char *const *ids, size_t n, struct sched_error *err)
{
	if (n > 1000) {
		sched_set_error(err, "BAD_USER_INPUT", "accountIds",
				"too many account ids (%zu, at most 1000)", n);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!ids[i] || !jira_valid_account_id(ids[i])) {
			sched_set_error(err, "BAD_USER_INPUT", "accountIds",
					"invalid account id '%.64s'", ids[i] ? ids[i] : "");
			return false;
		}
	return true;
}

int sched_register(const struct sched_ctx *c, const char *key, const char *cron,
		   struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	struct cron parsed;
	if (!valid_key(key, err))
		return -1;
	if (!cron)
		cron = c->cfg && c->cfg->sync_default_cron ? c->cfg->sync_default_cron
							   : "*/15 * * * *";
	if (!valid_cron(cron, &parsed, err))
		return -1;
	struct sched_job old;
	if (sched_get(c, key, &old, err) == 0) {
		sched_job_release(&old);
		return finish(c, key, "unchanged", 0, NULL, out, err);
	}
	if (strcmp(err->code, "NOT_FOUND") != 0)
		return -1;
	int jitter = (int)cron_jitter_seconds(key, cron_jitter_period_s(&parsed));
	int64_t id, slot, fire;
	if (store_project_register(c->db, key, cron, jitter, &id, e, sizeof e) < 0) {
		sched_db_error(c->db, err, "cannot register project", e);
		return -1;
	}
	if (cron_next_jittered(&parsed, now_ms(), (uint32_t)jitter, &slot, &fire) < 0) {
		sched_set_error(err, "BAD_USER_INPUT", "cron", "invalid cron '%s': it never fires",
				cron);
		return -1;
	}
	char pid[24], f[24];
	const char *vals[2] = {fmt_i64(pid, id), fmt_i64(f, fire)};
	if (exec_params(c->db,
			"UPDATE sync_job SET next_run_at = timestamptz 'epoch' + $2::bigint *"
			" interval '1 millisecond' WHERE project_id = $1 AND next_run_at IS NULL",
			2, vals, e, sizeof e, NULL) < 0) {
		sched_db_error(c->db, err, "cannot set the next run", e);
		return -1;
	}
	log_info("project registered", "project", key, "#id", pid, "cron", cron);
	return finish(c, key, "updated", 0, NULL, out, err);
}

int sched_pause(const struct sched_ctx *c, const char *key, const char *note,
		struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	if (!valid_key(key, err))
		return -1;
	if (note && strlen(note) > SCHED_NOTE_MAX) {
		sched_set_error(err, "BAD_USER_INPUT", "note",
				"pause note longer than %d characters", SCHED_NOTE_MAX);
		return -1;
	}
	const char *vals[2] = {key, note && *note ? note : NULL};
	long n = 0;
	/* A buffered scheduled firing would be a firing of a paused schedule. */
	if (exec_params(
		    c->db,
		    "UPDATE sync_job j SET status = 'PAUSED', pause_note = $2, updated_at = now(),"
		    " buffered_trigger = CASE WHEN buffered_trigger = 'schedule' THEN NULL"
		    "   ELSE buffered_trigger END"
		    " FROM project p WHERE p.id = j.project_id AND p.key = $1",
		    2, vals, e, sizeof e, &n) < 0) {
		sched_db_error(c->db, err, "cannot pause", e);
		return -1;
	}
	if (n == 0)
		return not_found(c, key, out, err);
	log_info("schedule paused", "project", key);
	return finish(c, key, "updated", 0, NULL, out, err);
}

int sched_resume(const struct sched_ctx *c, const char *key, struct sched_result *out,
		 struct sched_error *err)
{
	char e[STORE_ERRLEN];
	struct sched_job j;
	if (sched_get(c, key, &j, err) < 0)
		return -1;
	bool active = strcmp(j.status, "ACTIVE") == 0;
	int64_t slot, fire;
	int nf = sched_next_fire(j.effective_cron, j.jitter_seconds, now_ms(), &slot, &fire);
	char pid[24], f[24];
	fmt_i64(pid, j.project_id);
	sched_job_release(&j);
	if (active)
		return finish(c, key, "unchanged", 0, NULL, out, err);
	if (nf < 0) {
		sched_set_error(err, "CONFLICT", "cron",
				"the schedule's cron never fires; reschedule it");
		return -1;
	}
	/* Missed slots collapse: the next fire is the first one after now. */
	const char *vals[2] = {pid, fmt_i64(f, fire)};
	if (exec_params(
		    c->db,
		    "UPDATE sync_job SET status = 'ACTIVE', pause_note = NULL, failure_streak = 0,"
		    " next_run_at = timestamptz 'epoch' + $2::bigint * interval '1 millisecond',"
		    " updated_at = now() WHERE project_id = $1",
		    2, vals, e, sizeof e, NULL) < 0) {
		sched_db_error(c->db, err, "cannot resume", e);
		return -1;
	}
	log_info("schedule resumed", "project", key);
	return finish(c, key, "updated", 0, NULL, out, err);
}

int sched_reschedule(const struct sched_ctx *c, const char *key, const char *cron,
		     struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	struct cron parsed;
	if (!valid_key(key, err) || !valid_cron(cron, &parsed, err))
		return -1;
	struct sched_job j;
	if (sched_get(c, key, &j, err) < 0)
		return -1;
	int64_t pid_v = j.project_id;
	sched_job_release(&j);
	int jitter = (int)cron_jitter_seconds(key, cron_jitter_period_s(&parsed));
	int64_t slot, fire;
	if (cron_next_jittered(&parsed, now_ms(), (uint32_t)jitter, &slot, &fire) < 0) {
		sched_set_error(err, "BAD_USER_INPUT", "cron", "invalid cron '%s': it never fires",
				cron);
		return -1;
	}
	char pid[24], jit[24], f[24];
	const char *vals[4] = {fmt_i64(pid, pid_v), cron, fmt_i64(jit, jitter), fmt_i64(f, fire)};
	if (exec_params(
		    c->db,
		    "UPDATE sync_job SET cron = $2, effective_cron = $2, jitter_seconds = $3::int,"
		    " next_run_at = timestamptz 'epoch' + $4::bigint * interval '1 millisecond',"
		    " updated_at = now() WHERE project_id = $1",
		    4, vals, e, sizeof e, NULL) < 0) {
		sched_db_error(c->db, err, "cannot reschedule", e);
		return -1;
	}
	log_info("schedule changed", "project", key, "cron", cron);
	return finish(c, key, "updated", 0, NULL, out, err);
}

/* Trigger on a loaded job; always_buffer for added tracked users. */
static int trigger_job(const struct sched_ctx *c, const struct sched_job *j, bool full,
		       const char *const *ids, size_t n, bool always_buffer,
		       struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	struct sched_fire f = {.project_id = j->project_id,
			       .policy = j->overlap_policy,
			       .trigger = n ? "backfill" : "manual",
			       .slot_ms = JS_TIME_NULL,
			       .full = full,
			       .account_ids = ids,
			       .n_account_ids = n,
			       .always_buffer = always_buffer};
	enum sched_fire_outcome o;
	int64_t run_id = 0;
	char kind[16] = "";
	if (sched_fire_run(c->db, c->engine, &f, &o, &run_id, kind, e, sizeof e) < 0) {
		sched_db_error(c->db, err, "cannot start a run", e);
		return -1;
	}
	char rid[24];
	log_info("trigger", "project", j->key, "outcome", fire_outcome_name(o), "#run",
		 fmt_i64(rid, run_id));
	return finish(c, j->key, fire_outcome_name(o), run_id, kind, out, err);
}

int sched_trigger(const struct sched_ctx *c, const char *key, const struct sched_trigger_opts *o,
		  struct sched_result *out, struct sched_error *err)
{
	struct sched_trigger_opts none = {0};
	if (!o)
		o = &none;
	if (!valid_key(key, err) || !valid_accounts(o->account_ids, o->n_account_ids, err))
		return -1;
	struct sched_job j;
	if (sched_get(c, key, &j, err) < 0)
		return -1;
	int rc = -1;
	if (strcmp(j.status, "PAUSED") == 0) {
		sched_set_error(
			err, "CONFLICT", "key",
			"project '%s' is paused: resume it, or use start to resume and trigger",
			key);
		goto out;
	}
	rc = trigger_job(c, &j, o->full, o->account_ids, o->n_account_ids, false, out, err);
out:
	sched_job_release(&j);
	return rc;
}

int sched_start(const struct sched_ctx *c, const char *key, const struct sched_trigger_opts *o,
		struct sched_result *out, struct sched_error *err)
{
	struct sched_trigger_opts none = {0};
	struct sched_result r;
	if (!o)
		o = &none;
	if (!valid_key(key, err) || !valid_accounts(o->account_ids, o->n_account_ids, err))
		return -1;
	if (sched_resume(c, key, &r, err) < 0)
		return -1;
	sched_result_release(&r);
	return sched_trigger(c, key, o, out, err);
}

int sched_set_tracked(const struct sched_ctx *c, const char *key, const char *const *ids, size_t n,
		      struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	if (!valid_key(key, err) || !valid_accounts(ids, n, err))
		return -1;
	struct sched_job j;
	if (sched_get(c, key, &j, err) < 0)
		return -1;
	int rc = -1;
	const char **added = xcalloc(n + 1, sizeof *added);
	size_t n_added = 0;
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t k = 0; k < j.n_tracked && !known; k++)
			known = strcmp(j.tracked[k], ids[i]) == 0;
		for (size_t k = 0; k < n_added && !known; k++)
			known = strcmp(added[k], ids[i]) == 0;
		if (!known)
			added[n_added++] = ids[i];
	}
	bool was_filtered = j.n_tracked > 0;
	if (store_set_tracked_users(c->db, j.project_id, ids, n, e, sizeof e) < 0) {
		sched_db_error(c->db, err, "cannot set tracked users", e);
		goto out;
	}
	char na[24];
	log_info("tracked users set", "project", key, "#count", fmt_i64(na, (int64_t)n));
	/* Before the first sync there is nothing to catch up: the first run
	 * reads the whole history of whoever is tracked then. */
	int64_t cursor = JS_TIME_NULL;
	if (store_state_cursor(c->db, j.project_id, "issue", &cursor, NULL, e, sizeof e) < 0) {
		sched_db_error(c->db, err, "cannot read the sync state", e);
		goto out;
	}
	if (cursor == JS_TIME_NULL) {
		rc = finish(c, key, "updated", 0, NULL, out, err);
	} else if (n_added && n > 0) {
		/* The added accounts' history predates the cursor: backfill it,
		 * now or as soon as the active run ends (whatever the policy). */
		rc = trigger_job(c, &j, false, added, n_added, true, out, err);
	} else if (n == 0 && was_filtered) {
		/* Back to all users: the others' issues need a full run. */
		struct sched_job full = j;
		snprintf(full.overlap_policy, sizeof full.overlap_policy, "BUFFER_ONE");
		rc = trigger_job(c, &full, true, NULL, 0, true, out, err);
	} else {
		rc = finish(c, key, "updated", 0, NULL, out, err);
	}
out:
	free(added);
	sched_job_release(&j);
	return rc;
}

int sched_set_overlap(const struct sched_ctx *c, const char *key, const char *policy,
		      struct sched_result *out, struct sched_error *err)
{
	char e[STORE_ERRLEN];
	if (!valid_key(key, err))
		return -1;
	if (!policy || (strcmp(policy, "SKIP") != 0 && strcmp(policy, "BUFFER_ONE") != 0)) {
		sched_set_error(err, "BAD_USER_INPUT", "policy",
				"invalid overlap policy '%.32s': expected SKIP or BUFFER_ONE",
				policy ? policy : "");
		return -1;
	}
	const char *vals[2] = {key, policy};
	long n = 0;
	if (exec_params(
		    c->db,
		    "UPDATE sync_job j SET overlap_policy = $2, updated_at = now(),"
		    " buffered_trigger = CASE WHEN $2 = 'SKIP' THEN NULL ELSE buffered_trigger END"
		    " FROM project p WHERE p.id = j.project_id AND p.key = $1",
		    2, vals, e, sizeof e, &n) < 0) {
		sched_db_error(c->db, err, "cannot set the overlap policy", e);
		return -1;
	}
	if (n == 0)
		return not_found(c, key, out, err);
	return finish(c, key, "updated", 0, NULL, out, err);
}
