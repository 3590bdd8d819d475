/*
 * Writing a sync batch. Rows are streamed with COPY into temporary tables
 * (ON COMMIT DELETE ROWS, so they are empty at every step's start), then
 * merged into the real tables by one multi-statement round trip: one
 * statement per table, each skipping rows that did not change, so a replay
 * of the same page writes no new row versions. Comment and worklog sets of
 * issues whose sets are complete are replaced, which is how deleted comments
 * disappear. The set deletions name their issues as an array (= ANY), so they
 * read the issue_id index: a join against the unanalysed temporary table
 * would scan the whole comment table on every page.
 */
#include "store/store.h"

static const char temp_tables_sql[] =
	"SET LOCAL client_min_messages = warning;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_user (account_id text, display_name text, email text,"
	" time_zone text, account_type text, active boolean) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_issue (id bigint, project_id bigint, key text,"
	" summary text, status text, status_category text, priority text, issue_type text,"
	" assignee_id text, reporter_id text, created bigint, updated bigint, resolved bigint,"
	" labels jsonb, description text, description_adf jsonb, comment_total integer,"
	" worklog_total integer) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_issue_sprint (issue_id bigint, sprint_id bigint)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_comment (id bigint, issue_id bigint, author_id text,"
	" update_author_id text, body text, body_adf jsonb, created bigint, updated bigint)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_worklog (id bigint, issue_id bigint, author_id text,"
	" update_author_id text, comment text, comment_adf jsonb, started bigint, created bigint,"
	" updated bigint, time_spent_seconds bigint) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_replace (kind text, issue_id bigint)"
	" ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS tmp_overflow (kind text, issue_id bigint)"
	" ON COMMIT DELETE ROWS;";

/* epoch milliseconds -> timestamptz, exactly. */
#define TS(col)                                                               \
	"CASE WHEN " col " IS NULL THEN NULL ELSE timestamptz 'epoch' + " col \
	" * interval '1 millisecond' END"

/*
 * The merge script; PQsendQuery runs it as one round trip and returns one
 * result per statement, in this order (see enum merge_stmt).
 */
static const char merge_sql[] =
	/* 0 users */
	"INSERT INTO jira_user AS u (account_id, display_name, email, time_zone, account_type, active)"
	" SELECT DISTINCT ON (account_id) account_id, display_name, email, time_zone, account_type,"
	" active FROM tmp_user"
	" ON CONFLICT (account_id) DO UPDATE SET display_name = EXCLUDED.display_name,"
	" email = EXCLUDED.email, time_zone = EXCLUDED.time_zone,"
	" account_type = EXCLUDED.account_type, active = EXCLUDED.active, synced_at = now()"
	" WHERE (u.display_name, u.email, u.time_zone, u.account_type, u.active)"
	" IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.email, EXCLUDED.time_zone,"
	" EXCLUDED.account_type, EXCLUDED.active);"
	/* 1 issues */
	"INSERT INTO issue AS i (id, project_id, key, summary, status, status_category, priority,"
	" issue_type, assignee_id, reporter_id, created, updated, resolved, labels, description,"
	" description_adf, comment_total, worklog_total)"
	" SELECT DISTINCT ON (id) id, project_id, key, summary, status, status_category, priority,"
	" issue_type, assignee_id, reporter_id, " TS("created") ", " TS("updated") ", " TS(
		"resolved") ","
			    " ARRAY(SELECT jsonb_array_elements_text(coalesce(labels, '[]'))), description,"
			    " description_adf, comment_total, worklog_total FROM tmp_issue"
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
			    " EXCLUDED.comment_total, EXCLUDED.worklog_total, NULL::timestamptz);"
			    /* 2 sprint links of the batch's issues: drop the ones gone */
			    "DELETE FROM issue_sprint s WHERE s.issue_id = ANY (ARRAY(SELECT id FROM tmp_issue))"
			    " AND NOT EXISTS (SELECT 1 FROM tmp_issue_sprint x"
			    " WHERE x.issue_id = s.issue_id AND x.sprint_id = s.sprint_id);"
			    /* 3 and add the new ones */
			    "INSERT INTO issue_sprint (issue_id, sprint_id) SELECT DISTINCT issue_id, sprint_id"
			    " FROM tmp_issue_sprint ON CONFLICT DO NOTHING;"
			    /* 4 comments */
			    "INSERT INTO comment AS c (id, issue_id, author_id, update_author_id, body, body_adf,"
			    " created, updated)"
			    " SELECT DISTINCT ON (id) id, issue_id, author_id, update_author_id, body, body_adf, " TS("created") ", " TS(
				    "updated") " FROM tmp_comment"
					       " ON CONFLICT (id) DO UPDATE SET issue_id = EXCLUDED.issue_id,"
					       " author_id = EXCLUDED.author_id, update_author_id = EXCLUDED.update_author_id,"
					       " body = EXCLUDED.body, body_adf = EXCLUDED.body_adf, created = EXCLUDED.created,"
					       " updated = EXCLUDED.updated, synced_at = now()"
					       " WHERE (c.issue_id, c.author_id, c.update_author_id, c.body, c.body_adf, c.created,"
					       " c.updated) IS DISTINCT FROM (EXCLUDED.issue_id, EXCLUDED.author_id,"
					       " EXCLUDED.update_author_id, EXCLUDED.body, EXCLUDED.body_adf, EXCLUDED.created,"
					       " EXCLUDED.updated);"
					       /* 5 comments gone from complete sets */
					       "DELETE FROM comment c WHERE c.issue_id = ANY (ARRAY(SELECT issue_id FROM tmp_replace"
					       " WHERE kind = 'comment')) AND NOT EXISTS (SELECT 1 FROM tmp_comment x WHERE x.id = c.id);"
					       /* 6 worklogs */
					       "INSERT INTO worklog AS w (id, issue_id, author_id, update_author_id, comment, comment_adf,"
					       " started, created, updated, time_spent_seconds)"
					       " SELECT DISTINCT ON (id) id, issue_id, author_id, update_author_id, comment, comment_adf, " TS("started") ", " TS(
						       "created") ", " TS("updated") ", time_spent_seconds FROM tmp_worklog"
										     " ON CONFLICT (id) DO UPDATE SET issue_id = EXCLUDED.issue_id,"
										     " author_id = EXCLUDED.author_id, update_author_id = EXCLUDED.update_author_id,"
										     " comment = EXCLUDED.comment, comment_adf = EXCLUDED.comment_adf,"
										     " started = EXCLUDED.started, created = EXCLUDED.created, updated = EXCLUDED.updated,"
										     " time_spent_seconds = EXCLUDED.time_spent_seconds, synced_at = now()"
										     " WHERE (w.issue_id, w.author_id, w.update_author_id, w.comment, w.comment_adf, w.started,"
										     " w.created, w.updated, w.time_spent_seconds) IS DISTINCT FROM (EXCLUDED.issue_id,"
										     " EXCLUDED.author_id, EXCLUDED.update_author_id, EXCLUDED.comment, EXCLUDED.comment_adf,"
										     " EXCLUDED.started, EXCLUDED.created, EXCLUDED.updated, EXCLUDED.time_spent_seconds);"
										     /* 7 worklogs gone from complete sets */
										     "DELETE FROM worklog w WHERE w.issue_id = ANY (ARRAY(SELECT issue_id FROM tmp_replace"
										     " WHERE kind = 'worklog')) AND NOT EXISTS (SELECT 1 FROM tmp_worklog x WHERE x.id = w.id);"
										     /* 8 overflow work the run still owes */
										     "INSERT INTO sync_run_overflow (run_id, kind, issue_id)"
										     " SELECT DISTINCT $RUN$, kind, issue_id FROM tmp_overflow ON CONFLICT DO NOTHING;";

enum merge_stmt {
	M_USERS,
	M_ISSUES,
	M_SPRINT_DEL,
	M_SPRINT_INS,
	M_COMMENTS,
	M_COMMENTS_DEL,
	M_WORKLOGS,
	M_WORKLOGS_DEL,
	M_OVERFLOW,
	M_COUNT
};

/* ---- COPY text format ------------------------------------------------------ */

static int put_str(struct buf *b, const char *s)
{
	if (!s)
		return buf_append(b, "\\N", 2);
	int rc = 0;
	const char *run = s;
	for (const char *p = s; *p; p++) {
		const char *esc = NULL;
		switch (*p) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			continue;
		}
		rc |= buf_append(b, run, (size_t)(p - run));
		rc |= buf_append(b, esc, 2);
		run = p + 1;
	}
	rc |= buf_puts(b, run);
	return rc;
}

static int put_i64(struct buf *b, int64_t v)
{
	if (v == JS_TIME_NULL)
		return buf_append(b, "\\N", 2);
	char tmp[24];
	return buf_puts(b, fmt_i64(tmp, v));
}

static int put_bool(struct buf *b, bool v)
{
	return buf_putc(b, v ? 't' : 'f');
}

#define SEP(b) buf_putc(b, '\t')
#define EOL(b) buf_putc(b, '\n')

static int copy_in(PGconn *db, const char *sql, const struct buf *data, char *err, size_t errlen)
{
	if (data->len == 0)
		return 0;
	PGresult *r = PQexec(db, sql);
	int rc = -1;
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (PQputCopyData(db, data->data, (int)data->len) != 1 || PQputCopyEnd(db, NULL) != 1)
		goto fail;
	rc = 0;
	while ((r = PQgetResult(db))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = -1;
		PQclear(r);
	}
	if (rc == 0)
		return 0;
fail:;
	const char *m = PQerrorMessage(db);
	snprintf(err, errlen, "cannot copy rows: %.*s", (int)strcspn(m, "\n"), m);
	return -1;
}

static int enc_users(const struct batch *b, struct buf *o)
{
	int rc = 0;
	for (size_t i = 0; i < b->users.n; i++) {
		const struct user_row *u = &b->users.v[i];
		rc |= put_str(o, u->account_id);
		rc |= SEP(o);
		rc |= put_str(o, u->display_name);
		rc |= SEP(o);
		rc |= put_str(o, u->email);
		rc |= SEP(o);
		rc |= put_str(o, u->time_zone);
		rc |= SEP(o);
		rc |= put_str(o, u->account_type);
		rc |= SEP(o);
		rc |= put_bool(o, u->active);
		rc |= EOL(o);
	}
	return rc;
}

static int enc_issues(const struct batch *b, int64_t project_id, struct buf *o, struct buf *links,
		      struct buf *replace)
{
	int rc = 0;
	char tmp[24];
	for (size_t i = 0; i < b->issues.n; i++) {
		const struct issue_row *r = &b->issues.v[i];
		rc |= put_i64(o, r->id);
		rc |= SEP(o);
		rc |= put_i64(o, project_id);
		rc |= SEP(o);
		rc |= put_str(o, r->key);
		rc |= SEP(o);
		rc |= put_str(o, r->summary);
		rc |= SEP(o);
		rc |= put_str(o, r->status);
		rc |= SEP(o);
		rc |= put_str(o, r->status_category);
		rc |= SEP(o);
		rc |= put_str(o, r->priority);
		rc |= SEP(o);
		rc |= put_str(o, r->issue_type);
		rc |= SEP(o);
		rc |= put_str(o, r->assignee_id);
		rc |= SEP(o);
		rc |= put_str(o, r->reporter_id);
		rc |= SEP(o);
		rc |= put_i64(o, r->created_ms);
		rc |= SEP(o);
		rc |= put_i64(o, r->updated_ms);
		rc |= SEP(o);
		rc |= put_i64(o, r->resolved_ms);
		rc |= SEP(o);
		rc |= put_str(o, r->labels_json ? r->labels_json : "[]");
		rc |= SEP(o);
		rc |= put_str(o, r->description_text);
		rc |= SEP(o);
		rc |= put_str(o, r->description_adf);
		rc |= SEP(o);
		rc |= put_i64(o, r->comment_total);
		rc |= SEP(o);
		rc |= put_i64(o, r->worklog_total);
		rc |= EOL(o);
		for (size_t k = 0; k < r->n_sprint_ids; k++)
			rc |= buf_printf(links, "%s\t%" PRId64 "\n", fmt_i64(tmp, r->id),
					 r->sprint_ids[k]);
		if (r->comments_complete)
			rc |= buf_printf(replace, "comment\t%s\n", fmt_i64(tmp, r->id));
		if (r->worklogs_complete)
			rc |= buf_printf(replace, "worklog\t%s\n", fmt_i64(tmp, r->id));
	}
	return rc;
}

static int enc_comments(const struct batch *b, struct buf *o)
{
	int rc = 0;
	for (size_t i = 0; i < b->comments.n; i++) {
		const struct comment_row *c = &b->comments.v[i];
		rc |= put_i64(o, c->id);
		rc |= SEP(o);
		rc |= put_i64(o, c->issue_id);
		rc |= SEP(o);
		rc |= put_str(o, c->author_id);
		rc |= SEP(o);
		rc |= put_str(o, c->update_author_id);
		rc |= SEP(o);
		rc |= put_str(o, c->body_text);
		rc |= SEP(o);
		rc |= put_str(o, c->body_adf);
		rc |= SEP(o);
		rc |= put_i64(o, c->created_ms);
		rc |= SEP(o);
		rc |= put_i64(o, c->updated_ms);
		rc |= EOL(o);
	}
	return rc;
}

static int enc_worklogs(const struct batch *b, struct buf *o)
{
	int rc = 0;
	for (size_t i = 0; i < b->worklogs.n; i++) {
		const struct worklog_row *w = &b->worklogs.v[i];
		rc |= put_i64(o, w->id);
		rc |= SEP(o);
		rc |= put_i64(o, w->issue_id);
		rc |= SEP(o);
		rc |= put_str(o, w->author_id);
		rc |= SEP(o);
		rc |= put_str(o, w->update_author_id);
		rc |= SEP(o);
		rc |= put_str(o, w->comment_text);
		rc |= SEP(o);
		rc |= put_str(o, w->comment_adf);
		rc |= SEP(o);
		rc |= put_i64(o, w->started_ms);
		rc |= SEP(o);
		rc |= put_i64(o, w->created_ms);
		rc |= SEP(o);
		rc |= put_i64(o, w->updated_ms);
		rc |= SEP(o);
		rc |= put_i64(o, w->time_spent_seconds);
		rc |= EOL(o);
	}
	return rc;
}

static int enc_ids(struct buf *o, const char *kind, const int64_t *ids, size_t n)
{
	int rc = 0;
	char tmp[24];
	for (size_t i = 0; i < n; i++)
		rc |= buf_printf(o, "%s\t%s\n", kind, fmt_i64(tmp, ids[i]));
	return rc;
}

/* Run the merge script; counts of changed rows go into counts. */
static int merge(PGconn *db, int64_t run_id, struct store_counts *counts, char *err, size_t errlen)
{
	/* The run id is ours (an int64), not user input; the script runs in
	 * the simple protocol because it has several statements. */
	struct buf sql;
	buf_init(&sql, 0);
	const char *mark = strstr(merge_sql, "$RUN$");
	char tmp[24];
	int rc = buf_append(&sql, merge_sql, (size_t)(mark - merge_sql));
	rc |= buf_puts(&sql, fmt_i64(tmp, run_id));
	rc |= buf_puts(&sql, mark + 5);
	if (rc < 0 || !PQsendQuery(db, sql.data)) {
		const char *m = PQerrorMessage(db);
		snprintf(err, errlen, "cannot merge rows: %.*s", (int)strcspn(m, "\n"), m);
		buf_release(&sql);
		return -1;
	}
	buf_release(&sql);
	PGresult *r;
	int idx = 0;
	rc = 0;
	while ((r = PQgetResult(db))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (rc == 0) {
				const char *m = PQresultErrorMessage(r);
				snprintf(err, errlen, "cannot merge rows: %.*s",
					 (int)strcspn(m, "\n"), m);
			}
			rc = -1;
		} else {
			int64_t n = 0;
			if (parse_i64(PQcmdTuples(r), &n) < 0)
				n = 0;
			switch (idx) {
			case M_ISSUES:
				counts->issues_upserted += n;
				break;
			case M_COMMENTS:
				counts->comments_upserted += n;
				break;
			case M_COMMENTS_DEL:
				counts->comments_deleted += n;
				break;
			case M_WORKLOGS:
				counts->worklogs_upserted += n;
				break;
			case M_WORKLOGS_DEL:
				counts->worklogs_deleted += n;
				break;
			default:
				break;
			}
		}
		idx++;
		PQclear(r);
	}
	if (rc == 0 && idx != M_COUNT) {
		snprintf(err, errlen, "cannot merge rows: %d results for %d statements", idx,
			 M_COUNT);
		rc = -1;
	}
	return rc;
}

static int write_rows(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      const char *replace_kind, const int64_t *replace_ids, size_t n_replace,
		      struct store_counts *counts, char *err, size_t errlen)
{
	struct buf users, issues, links, replace, comments, worklogs, overflow;
	struct buf *all[] = {&users, &issues, &links, &replace, &comments, &worklogs, &overflow};
	for (size_t i = 0; i < JS_ARRAY_LEN(all); i++)
		buf_init(all[i], 0);
	int rc = -1;
	int enc = enc_users(b, &users);
	enc |= enc_issues(b, project_id, &issues, &links, &replace);
	enc |= enc_comments(b, &comments);
	enc |= enc_worklogs(b, &worklogs);
	if (replace_kind)
		enc |= enc_ids(&replace, replace_kind, replace_ids, n_replace);
	enc |= enc_ids(&overflow, "comment", b->comment_overflow.v, b->comment_overflow.n);
	enc |= enc_ids(&overflow, "worklog", b->worklog_overflow.v, b->worklog_overflow.n);
	if (enc) {
		snprintf(err, errlen, "batch too large to encode");
		goto out;
	}
	if (pg_exec(db, temp_tables_sql, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_user FROM STDIN", &users, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_issue FROM STDIN", &issues, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_issue_sprint FROM STDIN", &links, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_replace FROM STDIN", &replace, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_comment FROM STDIN", &comments, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_worklog FROM STDIN", &worklogs, err, errlen) < 0 ||
	    copy_in(db, "COPY tmp_overflow FROM STDIN", &overflow, err, errlen) < 0)
		goto out;
	rc = merge(db, run_id, counts, err, errlen);
out:
	for (size_t i = 0; i < JS_ARRAY_LEN(all); i++)
		buf_release(all[i]);
	return rc;
}

int store_write_batch(PGconn *db, int64_t project_id, int64_t run_id, const struct batch *b,
		      struct store_counts *counts, char *err, size_t errlen)
{
	return write_rows(db, project_id, run_id, b, NULL, NULL, 0, counts, err, errlen);
}

int store_replace_children(PGconn *db, const char *kind, const int64_t *issue_ids, size_t n,
			   const struct batch *b, struct store_counts *counts, char *err,
			   size_t errlen)
{
	if (strcmp(kind, "comment") && strcmp(kind, "worklog")) {
		snprintf(err, errlen, "unknown child kind '%s'", kind);
		return -1;
	}
	if (b->issues.n) {
		snprintf(err, errlen, "a children batch must not carry issues");
		return -1;
	}
	return write_rows(db, 0, 0, b, kind, issue_ids, n, counts, err, errlen);
}
