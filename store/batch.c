/*
 * Writing a sync batch: one statement per table, each fed its rows as
 * column arrays (INSERT ... SELECT FROM unnest($1::bigint[], ...)) and each
 * skipping rows that did not change, so a replay of the same page writes no
 * new row versions. All of a batch's statements go out in one libpq
 * pipeline (after a BEGIN when no transaction is open): one round trip, no
 * temporary tables to fill and truncate.
 * Comment and worklog sets of issues whose sets are complete are replaced,
 * which is how deleted comments disappear; those deletions name their
 * issues as an array (= ANY), so they read the issue_id index.
 */
#include <libpq-events.h>

#include "store/pipe.h"
#include "store/store.h"

/* epoch milliseconds -> timestamptz, exactly. */
#define TS(col)                                                               \
	"CASE WHEN " col " IS NULL THEN NULL ELSE timestamptz 'epoch' + " col \
	" * interval '1 millisecond' END"

/*
 * Users in two statements: new ones are inserted (DO NOTHING leaves existing
 * rows unlocked), then the ones that differ are updated (an UPDATE locks only
 * the rows it changes). One upsert with DO UPDATE ... WHERE would lock every
 * user of the page until commit, even unchanged ones, so syncs of two
 * projects sharing users would take turns page by page.
 */
static const char users_ins_sql[] =
	"INSERT INTO jira_user (account_id, display_name, email, time_zone, account_type, active)"
	" SELECT DISTINCT ON (account_id) account_id, display_name, email, time_zone, account_type,"
	" active FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
	" $6::boolean[]) AS t(account_id, display_name, email, time_zone, account_type, active)"
	" ON CONFLICT (account_id) DO NOTHING";

static const char users_upd_sql[] =
	"UPDATE jira_user AS u SET display_name = t.display_name, email = t.email,"
	" time_zone = t.time_zone, account_type = t.account_type, active = t.active,"
	" synced_at = now()"
	" FROM (SELECT DISTINCT ON (account_id) * FROM unnest($1::text[], $2::text[], $3::text[],"
	" $4::text[], $5::text[], $6::boolean[]) AS x(account_id, display_name, email, time_zone,"
	" account_type, active)) AS t"
	" WHERE u.account_id = t.account_id"
	" AND (u.display_name, u.email, u.time_zone, u.account_type, u.active)"
	" IS DISTINCT FROM (t.display_name, t.email, t.time_zone, t.account_type, t.active)";

static const char issues_sql[] =
	"INSERT INTO issue AS i (id, project_id, key, summary, status, status_category, priority,"
	" issue_type, assignee_id, reporter_id, created, updated, resolved, labels, description,"
	" description_adf, comment_total, worklog_total)"
	" SELECT DISTINCT ON (id) id, project_id, key, summary, status, status_category, priority,"
	" issue_type, assignee_id, reporter_id, " TS("created") ", " TS("updated") ", " TS(
		"resolved") ","
			    " ARRAY(SELECT jsonb_array_elements_text(coalesce(labels, '[]'))), description,"
			    " description_adf, comment_total, worklog_total"
			    " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],"
			    " $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[],"
			    " $13::bigint[], $14::jsonb[], $15::text[], $16::jsonb[], $17::integer[], $18::integer[])"
			    " AS t(id, project_id, key, summary, status, status_category, priority, issue_type,"
			    " assignee_id, reporter_id, created, updated, resolved, labels, description,"
			    " description_adf, comment_total, worklog_total)"
			    " ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id, key = EXCLUDED.key,"
			    " summary = EXCLUDED.summary, status = EXCLUDED.status,"
			    " status_category = EXCLUDED.status_category, priority = EXCLUDED.priority,"
			    " issue_type = EXCLUDED.issue_type, assignee_id = EXCLUDED.assignee_id,"
			    " reporter_id = EXCLUDED.reporter_id, created = EXCLUDED.created,"
			    " updated = EXCLUDED.updated, resolved = EXCLUDED.resolved, labels = EXCLUDED.labels,"
			    " description = EXCLUDED.description, description_adf = EXCLUDED.description_adf,"
			    " comment_total = EXCLUDED.comment_total, worklog_total = EXCLUDED.worklog_total,"
			    " deleted_at = NULL, synced_at = now()"
			    " WHERE (i.project_id, i.key, i.summary, i.status, i.status_category, i.priority,"
			    " i.issue_type, i.assignee_id, i.reporter_id, i.created, i.updated, i.resolved, i.labels,"
			    " i.description, i.description_adf, i.comment_total, i.worklog_total, i.deleted_at)"
			    " IS DISTINCT FROM (EXCLUDED.project_id, EXCLUDED.key, EXCLUDED.summary, EXCLUDED.status,"
			    " EXCLUDED.status_category, EXCLUDED.priority, EXCLUDED.issue_type, EXCLUDED.assignee_id,"
			    " EXCLUDED.reporter_id, EXCLUDED.created, EXCLUDED.updated, EXCLUDED.resolved,"
			    " EXCLUDED.labels, EXCLUDED.description, EXCLUDED.description_adf,"
			    " EXCLUDED.comment_total, EXCLUDED.worklog_total, NULL::timestamptz)";

/* Sprint links of the batch's issues ($1) that are gone from the new set. */
static const char links_del_sql[] =
	"DELETE FROM issue_sprint s WHERE s.issue_id = ANY ($1::bigint[])"
	" AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS x(issue_id, sprint_id)"
	" WHERE x.issue_id = s.issue_id AND x.sprint_id = s.sprint_id)";

static const char links_ins_sql[] =
	"INSERT INTO issue_sprint (issue_id, sprint_id) SELECT DISTINCT issue_id, sprint_id"
	" FROM unnest($1::bigint[], $2::bigint[]) AS x(issue_id, sprint_id) ON CONFLICT DO NOTHING";

static const char comments_sql[] =
	"INSERT INTO comment AS c (id, issue_id, author_id, update_author_id, body, body_adf,"
	" created, updated)"
	" SELECT DISTINCT ON (id) id, issue_id, author_id, update_author_id, body, body_adf, " TS("created") ", " TS(
		"updated") " FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
			   " $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::bigint[])"
			   " AS t(id, issue_id, author_id, update_author_id, body, body_adf, created, updated)"
			   " ON CONFLICT (id) DO UPDATE SET issue_id = EXCLUDED.issue_id,"
			   " author_id = EXCLUDED.author_id, update_author_id = EXCLUDED.update_author_id,"
			   " body = EXCLUDED.body, body_adf = EXCLUDED.body_adf, created = EXCLUDED.created,"
			   " updated = EXCLUDED.updated, synced_at = now()"
			   " WHERE (c.issue_id, c.author_id, c.update_author_id, c.body, c.body_adf, c.created,"
			   " c.updated) IS DISTINCT FROM (EXCLUDED.issue_id, EXCLUDED.author_id,"
			   " EXCLUDED.update_author_id, EXCLUDED.body, EXCLUDED.body_adf, EXCLUDED.created,"
			   " EXCLUDED.updated)";

/* Comments of issues with a complete set ($1) that the set ($2) no longer has. */
static const char comments_del_sql[] = "DELETE FROM comment c WHERE c.issue_id = ANY ($1::bigint[])"
				       " AND NOT (c.id = ANY ($2::bigint[]))";

static const char worklogs_sql[] =
	"INSERT INTO worklog AS w (id, issue_id, author_id, update_author_id, comment, comment_adf,"
	" started, created, updated, time_spent_seconds)"
	" SELECT DISTINCT ON (id) id, issue_id, author_id, update_author_id, comment, comment_adf, " TS("started") ", " TS("created") ", " TS(
		"updated") ", time_spent_seconds"
			   " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],"
			   " $6::jsonb[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])"
			   " AS t(id, issue_id, author_id, update_author_id, comment, comment_adf, started, created,"
			   " updated, time_spent_seconds)"
			   " ON CONFLICT (id) DO UPDATE SET issue_id = EXCLUDED.issue_id,"
			   " author_id = EXCLUDED.author_id, update_author_id = EXCLUDED.update_author_id,"
			   " comment = EXCLUDED.comment, comment_adf = EXCLUDED.comment_adf,"
			   " started = EXCLUDED.started, created = EXCLUDED.created, updated = EXCLUDED.updated,"
			   " time_spent_seconds = EXCLUDED.time_spent_seconds, synced_at = now()"
			   " WHERE (w.issue_id, w.author_id, w.update_author_id, w.comment, w.comment_adf, w.started,"
			   " w.created, w.updated, w.time_spent_seconds) IS DISTINCT FROM (EXCLUDED.issue_id,"
			   " EXCLUDED.author_id, EXCLUDED.update_author_id, EXCLUDED.comment, EXCLUDED.comment_adf,"
			   " EXCLUDED.started, EXCLUDED.created, EXCLUDED.updated, EXCLUDED.time_spent_seconds)";

static const char worklogs_del_sql[] = "DELETE FROM worklog w WHERE w.issue_id = ANY ($1::bigint[])"
				       " AND NOT (w.id = ANY ($2::bigint[]))";

/* Overflow work the run still owes: $1 run, $2 kinds, $3 issues. */
static const char overflow_sql[] =
	"INSERT INTO sync_run_overflow (run_id, kind, issue_id)"
	" SELECT DISTINCT $1::bigint, kind, issue_id FROM unnest($2::text[], $3::bigint[])"
	" AS x(kind, issue_id) ON CONFLICT DO NOTHING";
/* Overflow work done: $1 run, $2 kind, $3 issues. */
static const char overflow_done_sql[] = "DELETE FROM sync_run_overflow WHERE run_id = $1"
					" AND kind = $2 AND issue_id = ANY($3::bigint[])";

/* ---- array parameters (binary format) -------------------------------------- */

/*
 * One array parameter being built in PostgreSQL's binary array format
 * (array_recv): a header (dimensions, null flag, element type, length,
 * lower bound), then each element as a 4-byte length (-1: NULL) and its
 * bytes. Sent in binary, the server reads elements by length instead of
 * parsing and unescaping a text literal: no quoting here, no array_in there.
 */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT4 = 23, OID_TEXT = 25, OID_JSONB = 3802 };
#define ARR_HEADER 20

struct arr {
	struct buf b;
	size_t n;
	uint32_t oid;
	bool has_null;
};

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4];
	be32(x, v);
	return buf_append(b, x, 4);
}

static int arr_init(struct arr *a, uint32_t oid)
{
	buf_init(&a->b, 0);
	a->n = 0;
	a->oid = oid;
	a->has_null = false;
	static const char zero[ARR_HEADER];
	return buf_append(&a->b, zero, ARR_HEADER);
}

static int arr_null(struct arr *a)
{
	a->n++;
	a->has_null = true;
	return put_u32(&a->b, UINT32_MAX);
}

/* A string element (text or jsonb, whose binary form is a version byte and
 * the text). */
static int arr_str(struct arr *a, const char *s)
{
	if (!s)
		return arr_null(a);
	size_t len = strlen(s);
	bool jsonb = a->oid == OID_JSONB;
	if (len > INT32_MAX - 1)
		return -1;
	a->n++;
	int rc = put_u32(&a->b, (uint32_t)(len + jsonb));
	if (jsonb)
		rc |= buf_putc(&a->b, 1);
	return rc | buf_append(&a->b, s, len);
}

/* An integer element (int8 or int4); JS_TIME_NULL is NULL. */
static int arr_i64(struct arr *a, int64_t v)
{
	if (v == JS_TIME_NULL)
		return arr_null(a);
	a->n++;
	if (a->oid == OID_INT4) {
		if (v < INT32_MIN || v > INT32_MAX)
			return -1;
		return put_u32(&a->b, 4) | put_u32(&a->b, (uint32_t)(int32_t)v);
	}
	uint64_t u = (uint64_t)v;
	return put_u32(&a->b, 8) | put_u32(&a->b, (uint32_t)(u >> 32)) |
	       put_u32(&a->b, (uint32_t)u);
}

static int arr_bool(struct arr *a, bool v)
{
	a->n++;
	return put_u32(&a->b, 1) | buf_putc(&a->b, v ? 1 : 0);
}

/* Fill in the header: one dimension of n elements, or none when empty. */
static int arr_close(struct arr *a)
{
	if (a->b.len < ARR_HEADER || a->n > INT32_MAX)
		return -1;
	const uint32_t words[5] = {a->n ? 1 : 0, a->has_null, a->oid, (uint32_t)a->n, 1};
	for (int i = 0; i < 5; i++)
		be32((unsigned char *)a->b.data + 4 * i, words[i]);
	if (a->n == 0)
		a->b.len = 12; /* no dimension */
	return 0;
}

/* ---- prepared statements ----------------------------------------------------- */

/*
 * The upserts are prepared once per connection: parsing and planning them
 * cost PostgreSQL more than some of their rows do. Whether a connection has
 * them rides on the connection itself (libpq instance data), which
 * PQreset clears, since a new session has no prepared statements. The
 * deletions stay unprepared: their best plan depends on how many rows the
 * issue ids match, which a generic plan would guess.
 */
enum {
	PS_USERS_INS,
	PS_USERS_UPD,
	PS_ISSUES,
	PS_LINKS,
	PS_COMMENTS,
	PS_WORKLOGS,
	PS_OVERFLOW,
	N_PS
};
static const char *const ps_name[N_PS] = {
	"js_batch_users_ins", "js_batch_users_upd", "js_batch_issues",   "js_batch_links",
	"js_batch_comments",  "js_batch_worklogs",  "js_batch_overflow",
};

static int ps_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNRESET)
		(void)PQsetInstanceData(((PGEventConnReset *)info)->conn, ps_event, NULL);
	return 1;
}

static int ps_ensure(PGconn *db, char *err, size_t errlen)
{
	static char prepared_mark;
	if (PQinstanceData(db, ps_event))
		return 0;
	/* Registering twice fails harmlessly: the procedure is already there. */
	(void)PQregisterEventProc(db, ps_event, "jirasync batch statements", NULL);
	const char *const sql[N_PS] = {users_ins_sql, users_upd_sql, issues_sql,  links_ins_sql,
				       comments_sql,  worklogs_sql,  overflow_sql};
	/* An earlier attempt on this session may have prepared some of them. */
	PGresult *r = PQexec(db, "SELECT name FROM pg_prepared_statements"
				 " WHERE name LIKE 'js\\_batch\\_%'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQerrorMessage(db);
		snprintf(err, errlen, "cannot prepare statements: %.*s", (int)strcspn(m, "\n"), m);
		PQclear(r);
		return -1;
	}
	bool have[N_PS] = {false};
	for (int t = 0; t < PQntuples(r); t++)
		for (int i = 0; i < N_PS; i++)
			if (!strcmp(PQgetvalue(r, t, 0), ps_name[i]))
				have[i] = true;
	PQclear(r);
	for (int i = 0; i < N_PS; i++) {
		if (have[i])
			continue;
		r = PQprepare(db, ps_name[i], sql[i], 0, NULL);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok) {
			const char *m = PQerrorMessage(db);
			snprintf(err, errlen, "cannot prepare statements: %.*s",
				 (int)strcspn(m, "\n"), m);
			return -1;
		}
	}
	if (!PQsetInstanceData(db, ps_event, &prepared_mark)) {
		snprintf(err, errlen, "cannot prepare statements: no instance data");
		return -1;
	}
	return 0;
}

/* ---- the pipeline ---------------------------------------------------------- */

enum stmt_kind { ST_OTHER, ST_ISSUES, ST_COMMENTS, ST_COMMENTS_DEL, ST_WORKLOGS, ST_WORKLOGS_DEL };

#define MAX_PARAMS 18

/* Queue one statement fed binary arrays, after a leading text parameter
 * when text_first. ps: a prepared statement's index, or -1 to send sql. */
static void send_arrays(struct pipe *p, enum stmt_kind kind, int ps, const char *sql, int n_params,
			const struct arr *const *arrs, const char *text_first)
{
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS], formats[MAX_PARAMS];
	if (n_params > MAX_PARAMS) {
		p->failed = true;
		return;
	}
	int k = 0;
	if (text_first) {
		values[0] = text_first;
		lengths[0] = 0;
		formats[0] = 0;
		k = 1;
	}
	for (int i = 0; k < n_params; i++, k++) {
		values[k] = arrs[i]->b.data;
		lengths[k] = (int)arrs[i]->b.len;
		formats[k] = 1;
	}
	pipe_send(p, kind, sql, ps >= 0 ? ps_name[ps] : NULL, n_params, values, lengths, formats);
}

/* A statement's row count into the step's counters. */
static void count_rows(void *ud, int tag, PGresult *r)
{
	struct store_counts *counts = ud;
	int64_t n = 0;
	if (parse_i64(PQcmdTuples(r), &n) < 0)
		n = 0;
	switch ((enum stmt_kind)tag) {
	case ST_ISSUES:
		counts->issues_upserted += n;
		break;
	case ST_COMMENTS:
		counts->comments_upserted += n;
		break;
	case ST_COMMENTS_DEL:
		counts->comments_deleted += n;
		break;
	case ST_WORKLOGS:
		counts->worklogs_upserted += n;
		break;
	case ST_WORKLOGS_DEL:
		counts->worklogs_deleted += n;
		break;
	case ST_OTHER:
		break;
	}
}

static int write_rows(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      const char *replace_kind, const int64_t *replace_ids, size_t n_replace,
		      const int64_t *done_ids, size_t n_done, struct store_counts *counts,
		      char *err, size_t errlen)
{
	/* Column arrays: users 6, issues 18, links 2, comments 8, worklogs 10,
	 * issue ids 1, complete comment/worklog sets 2, their ids 2, overflow 2,
	 * overflow issues done 1. */
	enum {
		U = 0,
		I = U + 6,
		L = I + 18,
		C = L + 2,
		W = C + 8,
		IDS = W + 10,
		RC = IDS + 1,
		RW = RC + 1,
		CID = RW + 1,
		WID = CID + 1,
		OK = WID + 1,
		OI = OK + 1,
		DONE = OI + 1,
		N_ARR = DONE + 1
	};
	/* Element types, one letter per array in the order above, as the
	 * statements cast them: T text, J jsonb, 8 bigint, 4 integer, B boolean. */
	static const char types[] = "TTTTTB"             /* users */
				    "88TTTTTTTT888JTJ44" /* issues */
				    "88"                 /* links */
				    "88TTTJ88"           /* comments */
				    "88TTTJ8888"         /* worklogs */
				    "88888"              /* IDS RC RW CID WID */
				    "T88";               /* OK OI DONE */
	_Static_assert(sizeof types == N_ARR + 1, "one type letter per array");
	struct arr a[N_ARR];
	int enc = 0;
	for (int i = 0; i < N_ARR; i++)
		enc |= arr_init(&a[i], types[i] == 'T'   ? OID_TEXT
				       : types[i] == 'J' ? OID_JSONB
				       : types[i] == '8' ? OID_INT8
				       : types[i] == '4' ? OID_INT4
							 : OID_BOOL);
	for (size_t i = 0; i < b->users.n; i++) {
		const struct user_row *u = &b->users.v[i];
		enc |= arr_str(&a[U + 0], u->account_id) | arr_str(&a[U + 1], u->display_name) |
		       arr_str(&a[U + 2], u->email) | arr_str(&a[U + 3], u->time_zone) |
		       arr_str(&a[U + 4], u->account_type) | arr_bool(&a[U + 5], u->active);
	}
	for (size_t i = 0; i < b->issues.n; i++) {
		const struct issue_row *r = &b->issues.v[i];
		enc |= arr_i64(&a[I + 0], r->id) | arr_i64(&a[I + 1], project_id) |
		       arr_str(&a[I + 2], r->key) | arr_str(&a[I + 3], r->summary) |
		       arr_str(&a[I + 4], r->status) | arr_str(&a[I + 5], r->status_category) |
		       arr_str(&a[I + 6], r->priority) | arr_str(&a[I + 7], r->issue_type) |
		       arr_str(&a[I + 8], r->assignee_id) | arr_str(&a[I + 9], r->reporter_id) |
		       arr_i64(&a[I + 10], r->created_ms) | arr_i64(&a[I + 11], r->updated_ms) |
		       arr_i64(&a[I + 12], r->resolved_ms) |
		       arr_str(&a[I + 13], r->labels_json ? r->labels_json : "[]") |
		       arr_str(&a[I + 14], r->description_text) |
		       arr_str(&a[I + 15], r->description_adf) |
		       arr_i64(&a[I + 16], r->comment_total) |
		       arr_i64(&a[I + 17], r->worklog_total);
		enc |= arr_i64(&a[IDS], r->id);
		for (size_t k = 0; k < r->n_sprint_ids; k++)
			enc |= arr_i64(&a[L + 0], r->id) | arr_i64(&a[L + 1], r->sprint_ids[k]);
		if (r->comments_complete)
			enc |= arr_i64(&a[RC], r->id);
		if (r->worklogs_complete)
			enc |= arr_i64(&a[RW], r->id);
	}
	for (size_t i = 0; i < b->comments.n; i++) {
		const struct comment_row *c = &b->comments.v[i];
		enc |= arr_i64(&a[C + 0], c->id) | arr_i64(&a[C + 1], c->issue_id) |
		       arr_str(&a[C + 2], c->author_id) | arr_str(&a[C + 3], c->update_author_id) |
		       arr_str(&a[C + 4], c->body_text) | arr_str(&a[C + 5], c->body_adf) |
		       arr_i64(&a[C + 6], c->created_ms) | arr_i64(&a[C + 7], c->updated_ms);
		enc |= arr_i64(&a[CID], c->id);
	}
	for (size_t i = 0; i < b->worklogs.n; i++) {
		const struct worklog_row *w = &b->worklogs.v[i];
		enc |= arr_i64(&a[W + 0], w->id) | arr_i64(&a[W + 1], w->issue_id) |
		       arr_str(&a[W + 2], w->author_id) | arr_str(&a[W + 3], w->update_author_id) |
		       arr_str(&a[W + 4], w->comment_text) | arr_str(&a[W + 5], w->comment_adf) |
		       arr_i64(&a[W + 6], w->started_ms) | arr_i64(&a[W + 7], w->created_ms) |
		       arr_i64(&a[W + 8], w->updated_ms) |
		       arr_i64(&a[W + 9], w->time_spent_seconds);
		enc |= arr_i64(&a[WID], w->id);
	}
	if (replace_kind)
		for (size_t i = 0; i < n_replace; i++)
			enc |= arr_i64(&a[strcmp(replace_kind, "comment") == 0 ? RC : RW],
				       replace_ids[i]);
	for (size_t i = 0; i < b->comment_overflow.n; i++)
		enc |= arr_str(&a[OK], "comment") | arr_i64(&a[OI], b->comment_overflow.v[i]);
	for (size_t i = 0; i < b->worklog_overflow.n; i++)
		enc |= arr_str(&a[OK], "worklog") | arr_i64(&a[OI], b->worklog_overflow.v[i]);
	for (size_t i = 0; i < n_done; i++)
		enc |= arr_i64(&a[DONE], done_ids[i]);
	const struct arr *v[N_ARR];
	for (int i = 0; i < N_ARR; i++) {
		enc |= arr_close(&a[i]);
		v[i] = &a[i];
	}
	int rc = -1;
	if (enc) {
		snprintf(err, errlen, "batch too large to encode");
		goto out;
	}
	size_t n_users = a[U].n, n_issues = a[I].n, n_links = a[L].n, n_comments = a[C].n,
	       n_worklogs = a[W].n, n_rc = a[RC].n, n_rw = a[RW].n, n_over = a[OK].n;
	char run[24];
	fmt_i64(run, run_id);

	if (ps_ensure(db, err, errlen) < 0)
		goto out;
	struct pipe p;
	if (pipe_open(&p, db, true, err, errlen) < 0)
		goto out;
	if (n_users) {
		send_arrays(&p, ST_OTHER, PS_USERS_INS, NULL, 6, &v[U], NULL);
		send_arrays(&p, ST_OTHER, PS_USERS_UPD, NULL, 6, &v[U], NULL);
	}
	if (n_issues) {
		send_arrays(&p, ST_ISSUES, PS_ISSUES, NULL, 18, &v[I], NULL);
		const struct arr *del[] = {v[IDS], v[L + 0], v[L + 1]};
		send_arrays(&p, ST_OTHER, -1, links_del_sql, 3, del, NULL);
	}
	if (n_links)
		send_arrays(&p, ST_OTHER, PS_LINKS, NULL, 2, &v[L], NULL);
	if (n_comments)
		send_arrays(&p, ST_COMMENTS, PS_COMMENTS, NULL, 8, &v[C], NULL);
	if (n_rc) {
		const struct arr *del[] = {v[RC], v[CID]};
		send_arrays(&p, ST_COMMENTS_DEL, -1, comments_del_sql, 2, del, NULL);
	}
	if (n_worklogs)
		send_arrays(&p, ST_WORKLOGS, PS_WORKLOGS, NULL, 10, &v[W], NULL);
	if (n_rw) {
		const struct arr *del[] = {v[RW], v[WID]};
		send_arrays(&p, ST_WORKLOGS_DEL, -1, worklogs_del_sql, 2, del, NULL);
	}
	if (n_over) {
		const struct arr *ov[] = {v[OK], v[OI]};
		send_arrays(&p, ST_OTHER, PS_OVERFLOW, NULL, 3, ov, run);
	}
	if (n_done) {
		const char *vals[3] = {run, replace_kind, v[DONE]->b.data};
		const int lengths[3] = {0, 0, (int)v[DONE]->b.len}, formats[3] = {0, 0, 1};
		pipe_send(&p, ST_OTHER, overflow_done_sql, NULL, 3, vals, lengths, formats);
	}
	rc = pipe_finish(&p, count_rows, counts, "cannot write rows", err, errlen);
out:
	for (int i = 0; i < N_ARR; i++)
		buf_release(&a[i].b);
	return rc;
}

int store_write_batch(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      struct store_counts *counts, char *err, size_t errlen)
{
	return write_rows(db, project_id, run_id, b, NULL, NULL, 0, NULL, 0, counts, err, errlen);
}

int store_replace_children(PGconn *db, const char *kind, const int64_t *issue_ids, size_t n,
			   const struct batch *b, int64_t run_id, const int64_t *done_ids,
			   size_t n_done, struct store_counts *counts, char *err, size_t errlen)
{
	if (strcmp(kind, "comment") && strcmp(kind, "worklog")) {
		snprintf(err, errlen, "unknown child kind '%s'", kind);
		return -1;
	}
	if (b->issues.n) {
		snprintf(err, errlen, "a children batch must not carry issues");
		return -1;
	}
	return write_rows(db, 0, run_id, b, kind, issue_ids, n, done_ids, n_done, counts, err,
			  errlen);
}

int store_ensure_stats(PGconn *db, char *err, size_t errlen)
{
	static const char *const tables[] = {"comment", "worklog", "issue_sprint"};
	static const char check_sql[] =
		"SELECT t.name, EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema()"
		" AND s.tablename = t.name AND s.attname = 'issue_id'),"
		" CASE t.name WHEN 'comment' THEN EXISTS (SELECT 1 FROM comment)"
		" WHEN 'worklog' THEN EXISTS (SELECT 1 FROM worklog)"
		" ELSE EXISTS (SELECT 1 FROM issue_sprint) END"
		" FROM unnest(ARRAY['comment', 'worklog', 'issue_sprint']) AS t(name)";
	PGresult *r = PQexec(db, check_sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 3) {
		const char *m = PQerrorMessage(db);
		snprintf(err, errlen, "cannot read table statistics: %.*s", (int)strcspn(m, "\n"),
			 m);
		PQclear(r);
		return -1;
	}
	int known = 0;
	bool todo[3] = {false, false, false};
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 3; k++)
			if (!strcmp(PQgetvalue(r, i, 0), tables[k])) {
				bool stats = PQgetvalue(r, i, 1)[0] == 't';
				known += stats;
				todo[k] = !stats && PQgetvalue(r, i, 2)[0] == 't';
			}
	}
	PQclear(r);
	int rc = known == 3;
	for (int k = 0; k < 3; k++) {
		if (!todo[k])
			continue;
		char sql[64];
		snprintf(sql, sizeof sql, "ANALYZE %s (issue_id)", tables[k]);
		r = PQexec(db, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *m = PQerrorMessage(db);
			snprintf(err, errlen, "cannot analyse %s: %.*s", tables[k],
				 (int)strcspn(m, "\n"), m);
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}
