/*
 * The reads of the GraphQL admin plane. Each function is one static,
 * parameterised statement, prepared once per connection (named "rd_*");
 * batch loaders take N ids as one array parameter (= ANY($1)) so that a
 * level of a GraphQL response costs one statement whatever its width
 * (comments and worklogs of a level share one round trip, pipelined). A skip
 * mask parameter leaves out the columns a query does not select. Rows are
 * copied into the caller's arena so the PGresult is released at once.
 * What a sync commits is what the next read returns; the only thing kept
 * between reads is users, under the epoch that rows carry (usercache.c).
 */
#include <stdatomic.h>

#include "store/store.h"

/*
 * Rows come back in binary format: timestamps as their 8-byte microsecond
 * count, integers as big-endian words, text as its bytes. That spares the
 * server formatting every timestamp and number as text (a third of the cost
 * of a comment page) and us parsing it back.
 */
#define MS(col) col

enum stmt {
	ST_PING,
	ST_SNAPSHOT,
	ST_PROJECTS,
	ST_PROJECT,
	ST_ISSUE_COUNTS,
	ST_ISSUE_PAGE,
	ST_ISSUE_FIRST_PAGE,
	ST_ISSUE_PAGE_E,
	ST_ISSUE_FIRST_PAGE_E,
	ST_ISSUE_TOTAL,
	ST_ISSUE_BY_KEY,
	ST_ISSUE_TEXTS,
	ST_COMMENTS,
	ST_COMMENTS_E,
	ST_WORKLOGS,
	ST_WORKLOGS_E,
	ST_ISSUE_SPRINTS,
	ST_USERS,
	ST_JOBS,
	ST_PROJECT_SPRINTS,
	ST_PROJECT_USERS,
	ST_TRACKED,
	ST_STATES,
	ST_LOGS,
	ST_RUNS,
	ST_RUN,
	ST_M_RUNS,
	ST_M_ERRORS,
	N_STMT
};

#define ISSUE_BASE_COLS                                                                              \
	"i.id, i.project_id, i.key, i.summary, i.status, i.status_category, i.priority, "            \
	"i.issue_type, i.assignee_id, i.reporter_id, " MS("i.created") ", " MS("i.updated") ", " MS( \
		"i.resolved") ", " MS("i.deleted_at") ", i.updated, array_to_json(i.labels)::text"
/*
 * KEEP(p, bit, col): col unless the caller's skip mask (parameter p, enum
 * store_skip) has bit set; a skipped column is a NULL that costs neither
 * side anything to send or read.
 */
#define SK_TEXT "1"
#define SK_FIELDS "2"
#define SK_TIMES "4"
#define SK_LABELS "8"
#define SK_UPDATE_AUTHOR "16"
_Static_assert(STORE_SKIP_TEXT == 1 && STORE_SKIP_FIELDS == 2 && STORE_SKIP_TIMES == 4 &&
		       STORE_SKIP_LABELS == 8 && STORE_SKIP_UPDATE_AUTHOR == 16,
	       "the SK_ literals follow enum store_skip");
#define KEEP(p, bit, col) "CASE WHEN " p "::int4 & " bit " = 0 THEN " col " END"

/* Pages: the description columns are read separately, when asked for; p is
 * the skip mask parameter. */
#define ISSUE_COLS(p)                                                                                                                                                                                                                                                       \
	"i.id, i.project_id, i.key, " KEEP(p, SK_TEXT, "i.summary") ", " KEEP(p, SK_FIELDS, "i.status") ", " KEEP(p, SK_FIELDS, "i.status_category") ", " KEEP(p, SK_FIELDS, "i.priority") ", " KEEP(p, SK_FIELDS, "i.issue_type") ", i.assignee_id, i.reporter_id, " KEEP( \
		p, SK_TIMES,                                                                                                                                                                                                                                                \
		"i.created") ", " KEEP(p, SK_TIMES,                                                                                                                                                                                                                         \
				       "i.updated") ", " KEEP(p, SK_TIMES,                                                                                                                                                                                                  \
							      "i.resolved") ", " KEEP(p, SK_TIMES,                                                                                                                                                                          \
										      "i.deleted_at") ", i.updated, " KEEP(p,                                                                                                                                               \
															   SK_LABELS,                                                                                                                                       \
															   "array_to_json(i.labels)::text") ", false, NULL::text, NULL::text"
#define ISSUE_TEXT_COLS ISSUE_BASE_COLS ", true, i.description, i.description_adf::text"

/* The filters of the issues connection; $1 project, $2 status, $3 assignee,
 * $4 sprint, $5 updated since (ms), $6 text, $7 include deleted. */
#define ISSUE_FILTER                                                                                   \
	" FROM issue i WHERE i.project_id = $1::int8"                                                  \
	" AND ($2::text IS NULL OR i.status = $2)"                                                     \
	" AND ($3::text IS NULL OR i.assignee_id = $3)"                                                \
	" AND ($4::int8 IS NULL OR EXISTS (SELECT 1 FROM issue_sprint s"                               \
	"      WHERE s.issue_id = i.id AND s.sprint_id = $4))"                                         \
	" AND ($5::int8 IS NULL OR i.updated >= 'epoch'::timestamptz + $5 * interval '1 millisecond')" \
	" AND ($6::text IS NULL OR i.search_vector @@ websearch_to_tsquery('simple', $6))"             \
	" AND ($7::bool OR i.deleted_at IS NULL)"

/* extra: "" or ", " USER_EPOCH, after the issue's columns. */
#define PAGE_SQL_X(extra)                                                                 \
	"SELECT " ISSUE_COLS("$11") extra ISSUE_FILTER                                    \
		" AND ($8::int8 IS NULL OR (i.updated, i.id) <"                           \
		"      ('epoch'::timestamptz + $8 * interval '1 microsecond', $9::int8))" \
		" ORDER BY i.updated DESC, i.id DESC LIMIT $10::int8"
#define FIRST_PAGE_SQL_X(extra)                               \
	"SELECT " ISSUE_COLS("$4") extra                      \
		" FROM issue i WHERE i.project_id = $1::int8" \
		" AND ($2::bool OR i.deleted_at IS NULL) ORDER BY i.updated DESC, i.id DESC LIMIT $3::int8"
#define PAGE_SQL PAGE_SQL_X("")
#define FIRST_PAGE_SQL FIRST_PAGE_SQL_X("")
#define USER_COLS "u.account_id, u.display_name, u.email, u.time_zone, u.active"
#define USER_EPOCH "(SELECT e.epoch FROM jira_user_epoch e)"
#define COMMENT_COLS                                                                         \
	"c.id, c.issue_id, c.author_id, " KEEP(                                              \
		"$2", SK_UPDATE_AUTHOR,                                                      \
		"c.update_author_id") ", " KEEP("$2", SK_TEXT,                               \
						"c.body") ", "                               \
							  "c.created, " KEEP("$2", SK_TIMES, \
									     "c.updated")
#define WORKLOG_COLS                                                                    \
	"w.id, w.issue_id, w.author_id, " KEEP(                                         \
		"$2", SK_TEXT,                                                          \
		"w.comment") ", "                                                       \
			     "w.started, " KEEP("$2", SK_TIMES, "w.created") ", " KEEP( \
				     "$2", SK_TIMES, "w.updated") ", w.time_spent_seconds"
#define SPRINT_COLS                                                               \
	"s.id, s.board_id, s.name, s.state, s.goal, " MS("s.start_date") ", " MS( \
		"s.end_date") ", " MS("s.complete_date")
#define RUN_COLS                                                                                 \
	"r.id, r.project_id, r.kind, r.trigger, r.status::text, r.error_code, r.error_message, " \
	"r.issues_upserted, r.issues_deleted, r.comments_upserted, r.comments_deleted, "         \
	"r.worklogs_upserted, r.worklogs_deleted, r.jira_requests, " MS("r.started_at") ", " MS( \
		"r.finished_at")

static const struct {
	const char *name;
	int n_params;
	const char *sql;
} stmts[N_STMT] = {
	/* ST_PING, ST_M_*: text results (see text_result below). */
	[ST_PING] = {"rd_ping", 0, "SELECT 1"},
	[ST_SNAPSHOT] = {"rd_snapshot", 0, "SELECT pg_current_snapshot()::text"},
	[ST_PROJECTS] = {"rd_projects", 0,
			 "SELECT p.id, p.key, p.name, " MS(
				 "p.created_at") " FROM project p ORDER BY p.key"},
	[ST_PROJECT] = {"rd_project", 1,
			"SELECT p.id, p.key, p.name, " MS(
				"p.created_at") " FROM project p WHERE p.id = $1::int8"},
	[ST_ISSUE_COUNTS] =
		{"rd_issue_counts", 1,
		 "SELECT project_id, count(*) FROM issue WHERE project_id = ANY($1::int8[])"
		 " AND deleted_at IS NULL GROUP BY project_id"},
	[ST_ISSUE_PAGE] = {"rd_issue_page", 11, PAGE_SQL},
	/*
	 * The first page without filters, the common case, as its own statement:
	 * the optional filters above make PostgreSQL plan every execution of
	 * rd_issue_page afresh (a custom plan per parameter set), this one is
	 * planned once per connection. $1 project, $2 include deleted, $3
	 * limit, $4 skip mask.
	 */
	[ST_ISSUE_FIRST_PAGE] = {"rd_issue_first_page", 4, FIRST_PAGE_SQL},
	/* The same with the user epoch: the assignees come from the user
	 * cache (store_users_cached). */
	[ST_ISSUE_PAGE_E] = {"rd_issue_page_e", 11, PAGE_SQL_X(", " USER_EPOCH)},
	[ST_ISSUE_FIRST_PAGE_E] = {"rd_issue_first_page_e", 4, FIRST_PAGE_SQL_X(", " USER_EPOCH)},
	[ST_ISSUE_TOTAL] = {"rd_issue_total", 7, "SELECT count(*)" ISSUE_FILTER},
	[ST_ISSUE_BY_KEY] =
		{"rd_issue_by_key", 1,
		 "SELECT " ISSUE_TEXT_COLS " FROM project p JOIN issue i ON i.project_id = p.id"
		 " WHERE i.key = $1 ORDER BY i.deleted_at DESC NULLS FIRST, i.updated DESC LIMIT 1"},
	[ST_ISSUE_TEXTS] = {"rd_issue_texts", 1,
			    "SELECT i.id, i.description, i.description_adf::text FROM issue i"
			    " WHERE i.id = ANY($1::int8[])"},
	[ST_COMMENTS] = {"rd_comments", 2,
			 "SELECT " COMMENT_COLS
			 " FROM comment c WHERE c.issue_id = ANY($1::int8[])"},
	/* With the user epoch in the rows' snapshot: the authors come from the
	 * user cache (store_users_cached). */
	[ST_COMMENTS_E] = {"rd_comments_e", 2,
			   "SELECT " COMMENT_COLS ", " USER_EPOCH
			   " FROM comment c WHERE c.issue_id = ANY($1::int8[])"},
	[ST_WORKLOGS_E] = {"rd_worklogs_e", 2,
			   "SELECT " WORKLOG_COLS ", " USER_EPOCH
			   " FROM worklog w WHERE w.issue_id = ANY($1::int8[])"},
	[ST_WORKLOGS] = {"rd_worklogs", 2,
			 "SELECT " WORKLOG_COLS
			 " FROM worklog w WHERE w.issue_id = ANY($1::int8[])"},
	[ST_ISSUE_SPRINTS] =
		{"rd_issue_sprints", 1,
		 "SELECT l.issue_id, " SPRINT_COLS
		 " FROM issue_sprint l JOIN sprint s ON s.id = l.sprint_id"
		 " WHERE l.issue_id = ANY($1::int8[]) ORDER BY l.issue_id, s.start_date NULLS LAST, s.id"},
	[ST_USERS] = {"rd_users", 1,
		      "SELECT " USER_COLS " FROM jira_user u WHERE u.account_id = ANY($1::text[])"},
	[ST_JOBS] =
		{"rd_jobs", 1,
		 "SELECT j.project_id, j.cron, j.effective_cron, j.status::text, j.pause_note,"
		 " j.failure_streak, " MS("j.last_run_at") ", " MS(
			 "j.next_run_at") " FROM sync_job j WHERE j.project_id = ANY($1::int8[])"},
	[ST_PROJECT_SPRINTS] =
		{"rd_project_sprints", 1,
		 "SELECT 0, " SPRINT_COLS
		 " FROM project_sprint ps JOIN sprint s ON s.id = ps.sprint_id"
		 " WHERE ps.project_id = $1::int8 ORDER BY s.start_date NULLS LAST, s.id"},
	[ST_PROJECT_USERS] =
		{"rd_project_users", 1,
		 "SELECT " USER_COLS " FROM jira_user u WHERE u.account_id IN ("
		 " SELECT assignee_id FROM issue WHERE project_id = $1::int8"
		 " UNION SELECT reporter_id FROM issue WHERE project_id = $1::int8"
		 " UNION SELECT c.author_id FROM comment c JOIN issue i ON i.id = c.issue_id"
		 "       WHERE i.project_id = $1::int8"
		 " UNION SELECT w.author_id FROM worklog w JOIN issue i ON i.id = w.issue_id"
		 "       WHERE i.project_id = $1::int8)"
		 " ORDER BY u.display_name NULLS LAST, u.account_id"},
	[ST_TRACKED] =
		{"rd_tracked", 1,
		 "SELECT t.account_id, u.display_name, u.email, u.time_zone, coalesce(u.active, true)"
		 " FROM project_tracked_user t LEFT JOIN jira_user u ON u.account_id = t.account_id"
		 " WHERE t.project_id = $1::int8 ORDER BY t.account_id"},
	[ST_STATES] =
		{"rd_states", 1,
		 "SELECT s.entity, s.status::text, s.last_error_code, s.cursor_ms, " MS(
			 "s.last_success_at") " FROM sync_state s WHERE s.project_id = $1::int8"
					      " ORDER BY array_position(ARRAY['issue','comment','worklog','sprint'], s.entity)"},
	[ST_LOGS] =
		{"rd_logs", 3,
		 "SELECT l.id, l.run_id, l.level, l.message, l.details::text, " MS(
			 "l.created_at") " FROM sync_log l WHERE l.project_id = $1::int8"
					 " AND array_position(ARRAY['DEBUG','INFO','WARN','ERROR'], l.level) >="
					 "     coalesce(array_position(ARRAY['DEBUG','INFO','WARN','ERROR'], $3::text), 1)"
					 " ORDER BY l.id DESC LIMIT $2::int8"},
	[ST_RUNS] = {"rd_runs", 2,
		     "SELECT " RUN_COLS " FROM sync_run r WHERE r.project_id = $1::int8"
		     " ORDER BY r.id DESC LIMIT $2::int8"},
	[ST_RUN] = {"rd_run", 1, "SELECT " RUN_COLS " FROM sync_run r WHERE r.id = $1::int8"},
	[ST_M_RUNS] =
		{"rd_m_runs", 0,
		 "WITH d AS (SELECT status, extract(epoch FROM finished_at - started_at)::float8 AS s"
		 "           FROM sync_run)"
		 " SELECT count(*) FILTER (WHERE status = 'RUNNING'),"
		 "  count(*) FILTER (WHERE status = 'SUCCESS'),"
		 "  count(*) FILTER (WHERE status = 'FAILED'),"
		 "  count(s), coalesce(sum(s), 0),"
		 "  count(*) FILTER (WHERE s <= 1), count(*) FILTER (WHERE s <= 5),"
		 "  count(*) FILTER (WHERE s <= 15), count(*) FILTER (WHERE s <= 60),"
		 "  count(*) FILTER (WHERE s <= 300), count(*) FILTER (WHERE s <= 900),"
		 "  count(*) FILTER (WHERE s <= 3600), count(*) FILTER (WHERE s <= 14400),"
		 "  (SELECT coalesce(sum(jira_requests), 0)::int8 FROM sync_run)"
		 " FROM d"},
	[ST_M_ERRORS] =
		{"rd_m_errors", 0,
		 "SELECT details->>'code', count(*) FROM sync_log"
		 " WHERE level IN ('WARN', 'ERROR') AND details ? 'code' GROUP BY 1 ORDER BY 1"},
};

const double store_run_bucket_le[STORE_RUN_BUCKETS] = {1, 5, 15, 60, 300, 900, 3600, 14400};

static atomic_uint_fast64_t n_statements;

uint64_t store_read_statements(void)
{
	return (uint64_t)atomic_load(&n_statements);
}

static void set_err(PGconn *db, PGresult *r, char *err, size_t errlen)
{
	const char *m = r ? PQresultErrorMessage(r) : "";
	if (!*m)
		m = PQerrorMessage(db);
	snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
}

static int prepare(PGconn *db, enum stmt s, char *err, size_t errlen)
{
	PGresult *r = PQprepare(db, stmts[s].name, stmts[s].sql, stmts[s].n_params, NULL);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* 42P05: already prepared on this connection. */
		if (!state || strcmp(state, "42P05") != 0) {
			set_err(db, r, err, errlen);
			rc = -1;
		}
	}
	PQclear(r);
	return rc;
}

int store_read_prepare(PGconn *db, char *err, size_t errlen)
{
	for (int s = 0; s < N_STMT; s++)
		if (prepare(db, (enum stmt)s, err, errlen) < 0)
			return -1;
	return 0;
}

static bool text_result(enum stmt s)
{
	return s == ST_PING || s == ST_SNAPSHOT || s == ST_M_RUNS || s == ST_M_ERRORS;
}

/* Execute a prepared read; prepare it first when this connection has not.
 * Returns the rows (caller PQclear) or NULL with err set. */
static PGresult *run(PGconn *db, enum stmt s, const char *const *vals, char *err, size_t errlen)
{
	if (s != ST_PING && s != ST_M_RUNS && s != ST_M_ERRORS) /* GraphQL reads only */
		atomic_fetch_add(&n_statements, 1);
	int fmt = text_result(s) ? 0 : 1;
	PGresult *r = PQexecPrepared(db, stmts[s].name, stmts[s].n_params, vals, NULL, NULL, fmt);
	if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* 26000: no such prepared statement on this connection yet. */
		if (state && !strcmp(state, "26000")) {
			PQclear(r);
			if (prepare(db, s, err, errlen) < 0)
				return NULL;
			r = PQexecPrepared(db, stmts[s].name, stmts[s].n_params, vals, NULL, NULL,
					   fmt);
		}
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_err(db, r, err, errlen);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* ---- column access ------------------------------------------------------- */
/* A NULL reads as length 0, and so does an empty text: PQgetisnull is only
 * asked for those (a response reads thousands of cells). */
static const char *col_s(PGresult *r, struct arena *a, int row, int col)
{
	int len = PQgetlength(r, row, col);
	if (!len && PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, col), (size_t)len);
}

/* A big-endian integer of 2, 4 or 8 bytes (binary results); dflt when NULL
 * (no integer is 0 bytes long, in either format). */
static int64_t col_i(PGresult *r, int row, int col, int64_t dflt)
{
	int len = PQgetlength(r, row, col);
	if (!len)
		return dflt;
	if (PQfformat(r, col) == 0)
		return strtoll(PQgetvalue(r, row, col), NULL, 10);
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;
	for (int k = 0; k < len && k < 8; k++)
		v = v << 8 | p[k];
	if (len == 4)
		return (int32_t)(uint32_t)v;
	if (len == 2)
		return (int16_t)(uint16_t)v;
	return (int64_t)v;
}

/* PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC. */
#define PG_EPOCH_US INT64_C(946684800000000)

/* A timestamptz as epoch microseconds; JS_TIME_NULL when NULL. */
static int64_t col_us(PGresult *r, int row, int col)
{
	if (!PQgetlength(r, row, col)) /* NULL */
		return JS_TIME_NULL;
	return col_i(r, row, col, 0) + PG_EPOCH_US;
}

/* A timestamptz as epoch milliseconds (floor); JS_TIME_NULL when NULL. */
static int64_t col_t(PGresult *r, int row, int col)
{
	int64_t us = col_us(r, row, col);
	if (us == JS_TIME_NULL)
		return us;
	return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

static bool col_b(PGresult *r, int row, int col)
{
	if (!PQgetlength(r, row, col)) /* NULL */
		return false;
	const char *v = PQgetvalue(r, row, col);
	return PQfformat(r, col) ? v[0] != 0 : v[0] == 't';
}

/* ---- array parameters ---------------------------------------------------- */
/* "{1,2,3}" */
static char *int_array(const int64_t *ids, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		char d[24], *p = d + sizeof d;
		uint64_t u = ids[i] < 0 ? 0 - (uint64_t)ids[i] : (uint64_t)ids[i];
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (ids[i] < 0)
			*--p = '-';
		if (i)
			rc |= buf_putc(&b, ',');
		rc |= buf_append(&b, p, (size_t)(d + sizeof d - p));
	}
	rc |= buf_putc(&b, '}');
	(void)rc; /* unbounded buffer: appends cannot fail */
	return buf_detach(&b);
}

/* {"a","b\"c"}: every element quoted, quotes and backslashes escaped. */
static char *text_array(const char *const *s, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		rc |= buf_puts(&b, i ? ",\"" : "\"");
		for (const char *p = s[i]; *p; p++) {
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

/* ---- rows ------------------------------------------------------------------- */
/* A user row from columns c..c+4 (USER_COLS). */
static void user_cols(PGresult *r, struct arena *a, int i, int c, struct store_user_row *u)
{
	u->account_id = col_s(r, a, i, c);
	u->display_name = col_s(r, a, i, c + 1);
	u->email = col_s(r, a, i, c + 2);
	u->time_zone = col_s(r, a, i, c + 3);
	u->active = col_b(r, i, c + 4);
}

static void user_row(PGresult *r, struct arena *a, int i, struct store_user_row *u)
{
	user_cols(r, a, i, 0, u);
}

static void project_row(PGresult *r, struct arena *a, int i, struct store_project_row *p)
{
	p->id = col_i(r, i, 0, 0);
	p->key = col_s(r, a, i, 1);
	p->name = col_s(r, a, i, 2);
	p->created_ms = col_t(r, i, 3);
}

static void issue_row(PGresult *r, struct arena *a, int i, struct store_issue_row *o)
{
	o->id = col_i(r, i, 0, 0);
	o->project_id = col_i(r, i, 1, 0);
	o->key = col_s(r, a, i, 2);
	o->summary = col_s(r, a, i, 3);
	o->status = col_s(r, a, i, 4);
	o->status_category = col_s(r, a, i, 5);
	o->priority = col_s(r, a, i, 6);
	o->issue_type = col_s(r, a, i, 7);
	o->assignee_id = col_s(r, a, i, 8);
	o->reporter_id = col_s(r, a, i, 9);
	o->created_ms = col_t(r, i, 10);
	o->updated_ms = col_t(r, i, 11);
	o->resolved_ms = col_t(r, i, 12);
	o->deleted_ms = col_t(r, i, 13);
	o->updated_us = col_us(r, i, 14);
	o->labels_json = col_s(r, a, i, 15);
	o->has_texts = col_b(r, i, 16);
	o->description = col_s(r, a, i, 17);
	o->description_adf = col_s(r, a, i, 18);
	/* rd_issue_page_e, rd_issue_first_page_e: the user epoch follows. */
	o->user_epoch = PQnfields(r) > 19 ? col_i(r, i, 19, -1) : -1;
}

static void sprint_row(PGresult *r, struct arena *a, int i, struct store_sprint_row *s)
{
	s->issue_id = col_i(r, i, 0, 0);
	s->id = col_i(r, i, 1, 0);
	s->board_id = col_i(r, i, 2, 0);
	s->name = col_s(r, a, i, 3);
	s->state = col_s(r, a, i, 4);
	s->goal = col_s(r, a, i, 5);
	s->start_ms = col_t(r, i, 6);
	s->end_ms = col_t(r, i, 7);
	s->complete_ms = col_t(r, i, 8);
}

static void run_row(PGresult *r, struct arena *a, int i, struct store_run_row *o)
{
	o->id = col_i(r, i, 0, 0);
	o->project_id = col_i(r, i, 1, 0);
	o->kind = col_s(r, a, i, 2);
	o->trigger = col_s(r, a, i, 3);
	o->status = col_s(r, a, i, 4);
	o->error_code = col_s(r, a, i, 5);
	o->error_message = col_s(r, a, i, 6);
	o->issues_upserted = col_i(r, i, 7, 0);
	o->issues_deleted = col_i(r, i, 8, 0);
	o->comments_upserted = col_i(r, i, 9, 0);
	o->comments_deleted = col_i(r, i, 10, 0);
	o->worklogs_upserted = col_i(r, i, 11, 0);
	o->worklogs_deleted = col_i(r, i, 12, 0);
	o->jira_requests = col_i(r, i, 13, 0);
	o->started_ms = col_t(r, i, 14);
	o->finished_ms = col_t(r, i, 15);
}

/* Run statement s and copy every row with fill() into an arena array. */
typedef void (*fill_fn)(PGresult *r, struct arena *a, int i, void *row);

/* Copy the rows of r with fill() into an arena array. */
static void copy_rows(PGresult *r, struct arena *a, size_t row_size, fill_fn fill, void **rows,
		      size_t *n)
{
	int nt = PQntuples(r);
	char *out = arena_alloc(a, row_size * (size_t)(nt ? nt : 1));
	for (int i = 0; i < nt; i++)
		fill(r, a, i, out + row_size * (size_t)i);
	*rows = out;
	*n = (size_t)nt;
}

static int read_rows(PGconn *db, struct arena *a, enum stmt s, const char *const *vals,
		     size_t row_size, fill_fn fill, void **rows, size_t *n, char *err,
		     size_t errlen)
{
	PGresult *r = run(db, s, vals, err, errlen);
	if (!r)
		return -1;
	copy_rows(r, a, row_size, fill, rows, n);
	PQclear(r);
	return 0;
}

/* Adapters with the fill_fn signature. */
static void fill_user(PGresult *r, struct arena *a, int i, void *row)
{
	user_row(r, a, i, row);
}
static void fill_project(PGresult *r, struct arena *a, int i, void *row)
{
	project_row(r, a, i, row);
}
static void fill_issue(PGresult *r, struct arena *a, int i, void *row)
{
	issue_row(r, a, i, row);
}
static void fill_sprint(PGresult *r, struct arena *a, int i, void *row)
{
	sprint_row(r, a, i, row);
}
static void fill_run(PGresult *r, struct arena *a, int i, void *row)
{
	run_row(r, a, i, row);
}

static void fill_issue_text(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_issue_text_row *t = row;
	t->id = col_i(r, i, 0, 0);
	t->description = col_s(r, a, i, 1);
	t->description_adf = col_s(r, a, i, 2);
}

static void fill_comment(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_comment_row *c = row;
	c->id = col_i(r, i, 0, 0);
	c->issue_id = col_i(r, i, 1, 0);
	c->author_id = col_s(r, a, i, 2);
	c->update_author_id = col_s(r, a, i, 3);
	c->body = col_s(r, a, i, 4);
	c->created_ms = col_t(r, i, 5);
	c->order_us = col_us(r, i, 5);
	c->updated_ms = col_t(r, i, 6);
	c->user_epoch = PQnfields(r) > 7 ? col_i(r, i, 7, -1) : -1; /* rd_comments_e */
}

static void fill_worklog(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_worklog_row *w = row;
	w->id = col_i(r, i, 0, 0);
	w->issue_id = col_i(r, i, 1, 0);
	w->author_id = col_s(r, a, i, 2);
	w->comment = col_s(r, a, i, 3);
	w->started_ms = col_t(r, i, 4);
	w->order_us = col_us(r, i, 4);
	w->created_ms = col_t(r, i, 5);
	w->updated_ms = col_t(r, i, 6);
	w->time_spent_seconds = col_i(r, i, 7, 0);
	w->user_epoch = PQnfields(r) > 8 ? col_i(r, i, 8, -1) : -1; /* rd_worklogs_e */
}

static void fill_job(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_job_row *j = row;
	j->project_id = col_i(r, i, 0, 0);
	j->cron = col_s(r, a, i, 1);
	j->effective_cron = col_s(r, a, i, 2);
	j->status = col_s(r, a, i, 3);
	j->pause_note = col_s(r, a, i, 4);
	j->failure_streak = col_i(r, i, 5, 0);
	j->last_run_ms = col_t(r, i, 6);
	j->next_run_ms = col_t(r, i, 7);
}

static void fill_state(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_state_row *s = row;
	s->entity = col_s(r, a, i, 0);
	s->status = col_s(r, a, i, 1);
	s->last_error_code = col_s(r, a, i, 2);
	s->cursor_ms = col_i(r, i, 3, JS_TIME_NULL); /* stored as epoch ms */
	s->last_success_ms = col_t(r, i, 4);
}

static void fill_log(PGresult *r, struct arena *a, int i, void *row)
{
	struct store_log_row *l = row;
	l->id = col_i(r, i, 0, 0);
	l->run_id = col_i(r, i, 1, 0);
	l->level = col_s(r, a, i, 2);
	l->message = col_s(r, a, i, 3);
	l->details = col_s(r, a, i, 4);
	l->created_ms = col_t(r, i, 5);
}

/* ---- the reads --------------------------------------------------------------- */
int store_read_ping(PGconn *db, char *err, size_t errlen)
{
	PGresult *r = run(db, ST_PING, NULL, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

int store_read_snapshot(PGconn *db, char *out, size_t n, char *err, size_t errlen)
{
	PGresult *r = run(db, ST_SNAPSHOT, NULL, err, errlen);
	if (!r)
		return -1;
	int rc = 0;
	if (PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) >= n) {
		snprintf(err, errlen, "the snapshot is longer than %zu bytes", n - 1);
		rc = -1;
	} else {
		memcpy(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0) + 1);
	}
	PQclear(r);
	return rc;
}

int store_read_projects(PGconn *db, struct arena *a, struct store_project_row **rows, size_t *n,
			char *err, size_t errlen)
{
	return read_rows(db, a, ST_PROJECTS, NULL, sizeof **rows, fill_project, (void **)rows, n,
			 err, errlen);
}

/* One row of a one-parameter statement into *out: 0 found, 1 none. */
static int read_one(PGconn *db, struct arena *a, enum stmt s, const char *param, size_t row_size,
		    fill_fn fill, void *out, char *err, size_t errlen)
{
	const char *vals[1] = {param};
	PGresult *r = run(db, s, vals, err, errlen);
	if (!r)
		return -1;
	int rc = 1;
	if (PQntuples(r) > 0) {
		memset(out, 0, row_size);
		fill(r, a, 0, out);
		rc = 0;
	}
	PQclear(r);
	return rc;
}

int store_read_project(PGconn *db, struct arena *a, int64_t id, struct store_project_row *out,
		       char *err, size_t errlen)
{
	char v[24];
	return read_one(db, a, ST_PROJECT, fmt_i64(v, id), sizeof *out, fill_project, out, err,
			errlen);
}

int store_read_issue_counts(PGconn *db, const int64_t *ids, size_t n, int64_t *counts, char *err,
			    size_t errlen)
{
	char *arr = int_array(ids, n);
	const char *vals[1] = {arr};
	PGresult *r = run(db, ST_ISSUE_COUNTS, vals, err, errlen);
	free(arr);
	if (!r)
		return -1;
	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	for (int t = 0; t < PQntuples(r); t++) {
		int64_t pid = col_i(r, t, 0, 0), c = col_i(r, t, 1, 0);
		for (size_t i = 0; i < n; i++)
			if (ids[i] == pid)
				counts[i] = c;
	}
	PQclear(r);
	return 0;
}

int store_read_issue_page(PGconn *db, struct arena *a, const struct store_issue_query *q,
			  struct store_issue_page *out, char *err, size_t errlen)
{
	char pid[24], sprint[24], since[24], after_us[24], after_id[24], lim[24], skip[24];
	int limit = q->limit < 0 ? 0 : q->limit > STORE_ISSUES_MAX ? STORE_ISSUES_MAX : q->limit;
	const char *vals[11] = {
		fmt_i64(pid, q->project_id),
		q->status,
		q->assignee,
		q->sprint_id ? fmt_i64(sprint, q->sprint_id) : NULL,
		q->updated_since_ms != JS_TIME_NULL ? fmt_i64(since, q->updated_since_ms) : NULL,
		q->text,
		q->include_deleted ? "true" : "false",
		q->has_after ? fmt_i64(after_us, q->after_updated_us) : NULL,
		q->has_after ? fmt_i64(after_id, q->after_id) : NULL,
		fmt_i64(lim, limit + 1), /* one more tells whether a next page exists */
		fmt_i64(skip, q->skip),
	};
	bool first_page = !q->status && !q->assignee && !q->sprint_id &&
			  q->updated_since_ms == JS_TIME_NULL && !q->text && !q->has_after;
	const char *first_vals[4] = {vals[0], vals[6], vals[9], vals[10]};
	enum stmt st = q->epoch     ? first_page ? ST_ISSUE_FIRST_PAGE_E : ST_ISSUE_PAGE_E
		       : first_page ? ST_ISSUE_FIRST_PAGE
				    : ST_ISSUE_PAGE;
	struct store_issue_row *rows;
	size_t n;
	if (read_rows(db, a, st, first_page ? first_vals : vals, sizeof *rows, fill_issue,
		      (void **)&rows, &n, err, errlen) < 0)
		return -1;
	int64_t total = -1;
	if (q->want_total) {
		PGresult *r = run(db, ST_ISSUE_TOTAL, vals, err, errlen);
		if (!r)
			return -1;
		total = col_i(r, 0, 0, 0);
		PQclear(r);
	}
	out->has_next = n > (size_t)limit;
	out->n = out->has_next ? (size_t)limit : n;
	out->rows = rows;
	out->total = total;
	return 0;
}

int store_read_issue_by_key(PGconn *db, struct arena *a, const char *key,
			    struct store_issue_row *out, char *err, size_t errlen)
{
	return read_one(db, a, ST_ISSUE_BY_KEY, key, sizeof *out, fill_issue, out, err, errlen);
}

/* A batch statement over n int8 ids ($1), with the skip mask as $2 for the
 * statements that take one. */
static int read_by_ids_skip(PGconn *db, struct arena *a, enum stmt s, const int64_t *ids, size_t n,
			    unsigned skip, size_t row_size, fill_fn fill, void **rows,
			    size_t *n_rows, char *err, size_t errlen)
{
	char *arr = int_array(ids, n);
	char sk[24];
	const char *vals[2] = {arr, fmt_i64(sk, skip)};
	int rc = read_rows(db, a, s, vals, row_size, fill, rows, n_rows, err, errlen);
	free(arr);
	return rc;
}

static int read_by_ids(PGconn *db, struct arena *a, enum stmt s, const int64_t *ids, size_t n,
		       size_t row_size, fill_fn fill, void **rows, size_t *n_rows, char *err,
		       size_t errlen)
{
	return read_by_ids_skip(db, a, s, ids, n, 0, row_size, fill, rows, n_rows, err, errlen);
}

int store_read_issue_texts(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			   struct store_issue_text_row **rows, size_t *n_rows, char *err,
			   size_t errlen)
{
	return read_by_ids(db, a, ST_ISSUE_TEXTS, issue_ids, n, sizeof **rows, fill_issue_text,
			   (void **)rows, n_rows, err, errlen);
}

/*
 * Comments and worklogs are ordered here rather than by the statement: the
 * batch arrives in scan order and sorting a few hundred row structs costs
 * less than PostgreSQL sorting the wide tuples (and growing and trimming its
 * heap for them on every request). The order is the statements' former
 * ORDER BY issue_id, created/started (NULLs last), id.
 */
static int cmp_order(int64_t issue_a, int64_t t_a, int64_t id_a, int64_t issue_b, int64_t t_b,
		     int64_t id_b)
{
	if (issue_a != issue_b)
		return issue_a < issue_b ? -1 : 1;
	if (t_a != t_b) {
		if (t_a == JS_TIME_NULL || t_b == JS_TIME_NULL)
			return t_a == JS_TIME_NULL ? 1 : -1;
		return t_a < t_b ? -1 : 1;
	}
	return id_a < id_b ? -1 : id_a > id_b;
}

static int cmp_comment(const void *a, const void *b)
{
	const struct store_comment_row *x = a, *y = b;
	return cmp_order(x->issue_id, x->order_us, x->id, y->issue_id, y->order_us, y->id);
}

static int cmp_worklog(const void *a, const void *b)
{
	const struct store_worklog_row *x = a, *y = b;
	return cmp_order(x->issue_id, x->order_us, x->id, y->issue_id, y->order_us, y->id);
}

int store_read_issue_comments(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      bool epoch, unsigned skip, struct store_comment_row **rows,
			      size_t *n_rows, char *err, size_t errlen)
{
	if (read_by_ids_skip(db, a, epoch ? ST_COMMENTS_E : ST_COMMENTS, issue_ids, n, skip,
			     sizeof **rows, fill_comment, (void **)rows, n_rows, err, errlen) < 0)
		return -1;
	qsort(*rows, *n_rows, sizeof **rows, cmp_comment);
	return 0;
}

int store_read_issue_worklogs(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      bool epoch, unsigned skip, struct store_worklog_row **rows,
			      size_t *n_rows, char *err, size_t errlen)
{
	if (read_by_ids_skip(db, a, epoch ? ST_WORKLOGS_E : ST_WORKLOGS, issue_ids, n, skip,
			     sizeof **rows, fill_worklog, (void **)rows, n_rows, err, errlen) < 0)
		return -1;
	qsort(*rows, *n_rows, sizeof **rows, cmp_worklog);
	return 0;
}

/* Drain one pipelined statement's results (they end with a NULL); 0 with its
 * rows, -1 with err set, 1 when this connection has not prepared it (26000). */
static int pipe_result(PGconn *db, struct arena *a, size_t row_size, fill_fn fill, void **rows,
		       size_t *n, char *err, size_t errlen)
{
	PGresult *r = PQgetResult(db);
	int rc = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		copy_rows(r, a, row_size, fill, rows, n);
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		rc = state && !strcmp(state, "26000") ? 1 : -1;
		set_err(db, r, err, errlen);
	}
	PQclear(r);
	if (r)
		while ((r = PQgetResult(db)) != NULL)
			PQclear(r);
	return rc;
}

/*
 * Pipeline mode: both statements and a sync go out in one write and their
 * results come back together, so the second costs no round trip. A failure
 * still reads the pipeline to its sync before leaving pipeline mode.
 * 1: not sent or not prepared on this connection (take the ordinary path).
 */
static int pipe_children(PGconn *db, struct arena *a, const char *arr,
			 const struct store_children_query *q, void **rows, size_t *nrows,
			 char *err, size_t errlen)
{
	enum stmt st[2] = {q->epoch ? ST_COMMENTS_E : ST_COMMENTS,
			   q->epoch ? ST_WORKLOGS_E : ST_WORKLOGS};
	char sk[2][24];
	const char *vals[2][2] = {{arr, fmt_i64(sk[0], q->comment_skip)},
				  {arr, fmt_i64(sk[1], q->worklog_skip)}};
	if (PQenterPipelineMode(db) != 1)
		return 1;
	if (PQsendQueryPrepared(db, stmts[st[0]].name, 2, vals[0], NULL, NULL, 1) != 1 ||
	    PQsendQueryPrepared(db, stmts[st[1]].name, 2, vals[1], NULL, NULL, 1) != 1 ||
	    PQpipelineSync(db) != 1) {
		set_err(db, NULL, err, errlen);
		PQexitPipelineMode(db);
		return -1;
	}
	atomic_fetch_add(&n_statements, 2);
	int rc = pipe_result(db, a, sizeof(struct store_comment_row), fill_comment, &rows[0],
			     &nrows[0], err, errlen);
	/* After a failure the second reports PGRES_PIPELINE_ABORTED: keep the
	 * first message. */
	char scratch[STORE_ERRLEN];
	int rc2 = pipe_result(db, a, sizeof(struct store_worklog_row), fill_worklog, &rows[1],
			      &nrows[1], rc ? scratch : err, rc ? sizeof scratch : errlen);
	if (!rc)
		rc = rc2;
	PGresult *r = PQgetResult(db);
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && !rc) {
		set_err(db, r, err, errlen);
		rc = -1;
	}
	PQclear(r);
	if (PQexitPipelineMode(db) != 1 && !rc) {
		set_err(db, NULL, err, errlen);
		rc = -1;
	}
	return rc;
}

int store_read_issue_children(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			      const struct store_children_query *q,
			      struct store_comment_row **comments, size_t *n_comments,
			      struct store_worklog_row **worklogs, size_t *n_worklogs, char *err,
			      size_t errlen)
{
	char *arr = int_array(issue_ids, n);
	void *rows[2] = {NULL, NULL};
	size_t nrows[2] = {0, 0};
	int rc = pipe_children(db, a, arr, q, rows, nrows, err, errlen);
	free(arr);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (store_read_issue_comments(db, a, issue_ids, n, q->epoch, q->comment_skip,
					      comments, n_comments, err, errlen) < 0 ||
		    store_read_issue_worklogs(db, a, issue_ids, n, q->epoch, q->worklog_skip,
					      worklogs, n_worklogs, err, errlen) < 0)
			return -1;
		return 0;
	}
	qsort(rows[0], nrows[0], sizeof **comments, cmp_comment);
	qsort(rows[1], nrows[1], sizeof **worklogs, cmp_worklog);
	*comments = rows[0];
	*n_comments = nrows[0];
	*worklogs = rows[1];
	*n_worklogs = nrows[1];
	return 0;
}

int store_read_issue_sprints(PGconn *db, struct arena *a, const int64_t *issue_ids, size_t n,
			     struct store_sprint_row **rows, size_t *n_rows, char *err,
			     size_t errlen)
{
	return read_by_ids(db, a, ST_ISSUE_SPRINTS, issue_ids, n, sizeof **rows, fill_sprint,
			   (void **)rows, n_rows, err, errlen);
}

int store_read_jobs(PGconn *db, struct arena *a, const int64_t *project_ids, size_t n,
		    struct store_job_row **rows, size_t *n_rows, char *err, size_t errlen)
{
	return read_by_ids(db, a, ST_JOBS, project_ids, n, sizeof **rows, fill_job, (void **)rows,
			   n_rows, err, errlen);
}

int store_read_users(PGconn *db, struct arena *a, const char *const *account_ids, size_t n,
		     struct store_user_row **rows, size_t *n_rows, char *err, size_t errlen)
{
	char *arr = text_array(account_ids, n);
	const char *vals[1] = {arr};
	int rc = read_rows(db, a, ST_USERS, vals, sizeof **rows, fill_user, (void **)rows, n_rows,
			   err, errlen);
	free(arr);
	return rc;
}

/* A per-project list. */
static int read_project_list(PGconn *db, struct arena *a, enum stmt s, int64_t project_id,
			     size_t row_size, fill_fn fill, void **rows, size_t *n, char *err,
			     size_t errlen)
{
	char pid[24];
	const char *vals[1] = {fmt_i64(pid, project_id)};
	return read_rows(db, a, s, vals, row_size, fill, rows, n, err, errlen);
}

int store_read_project_sprints(PGconn *db, struct arena *a, int64_t project_id,
			       struct store_sprint_row **rows, size_t *n, char *err, size_t errlen)
{
	return read_project_list(db, a, ST_PROJECT_SPRINTS, project_id, sizeof **rows, fill_sprint,
				 (void **)rows, n, err, errlen);
}

int store_read_project_users(PGconn *db, struct arena *a, int64_t project_id,
			     struct store_user_row **rows, size_t *n, char *err, size_t errlen)
{
	return read_project_list(db, a, ST_PROJECT_USERS, project_id, sizeof **rows, fill_user,
				 (void **)rows, n, err, errlen);
}

int store_read_tracked_users(PGconn *db, struct arena *a, int64_t project_id,
			     struct store_user_row **rows, size_t *n, char *err, size_t errlen)
{
	return read_project_list(db, a, ST_TRACKED, project_id, sizeof **rows, fill_user,
				 (void **)rows, n, err, errlen);
}

int store_read_states(PGconn *db, struct arena *a, int64_t project_id,
		      struct store_state_row **rows, size_t *n, char *err, size_t errlen)
{
	return read_project_list(db, a, ST_STATES, project_id, sizeof **rows, fill_state,
				 (void **)rows, n, err, errlen);
}

int store_read_logs(PGconn *db, struct arena *a, int64_t project_id, int limit,
		    const char *min_level, struct store_log_row **rows, size_t *n, char *err,
		    size_t errlen)
{
	char pid[24], lim[24];
	const char *vals[3] = {fmt_i64(pid, project_id), fmt_i64(lim, limit < 0 ? 0 : limit),
			       min_level};
	return read_rows(db, a, ST_LOGS, vals, sizeof **rows, fill_log, (void **)rows, n, err,
			 errlen);
}

int store_read_runs(PGconn *db, struct arena *a, int64_t project_id, int limit,
		    struct store_run_row **rows, size_t *n, char *err, size_t errlen)
{
	char pid[24], lim[24];
	const char *vals[2] = {fmt_i64(pid, project_id), fmt_i64(lim, limit < 0 ? 0 : limit)};
	return read_rows(db, a, ST_RUNS, vals, sizeof **rows, fill_run, (void **)rows, n, err,
			 errlen);
}

int store_read_run(PGconn *db, struct arena *a, int64_t run_id, struct store_run_row *out,
		   char *err, size_t errlen)
{
	char v[24];
	return read_one(db, a, ST_RUN, fmt_i64(v, run_id), sizeof *out, fill_run, out, err, errlen);
}

int store_read_metrics(PGconn *db, struct arena *a, struct store_metrics *m, char *err,
		       size_t errlen)
{
	PGresult *r = run(db, ST_M_RUNS, NULL, err, errlen);
	if (!r)
		return -1;
	memset(m, 0, sizeof *m);
	m->runs_running = col_i(r, 0, 0, 0);
	m->runs_success = col_i(r, 0, 1, 0);
	m->runs_failed = col_i(r, 0, 2, 0);
	m->duration_count = col_i(r, 0, 3, 0);
	m->duration_sum_s = strtod(PQgetvalue(r, 0, 4), NULL);
	for (int b = 0; b < STORE_RUN_BUCKETS; b++)
		m->duration_bucket[b] = col_i(r, 0, 5 + b, 0);
	m->jira_requests = col_i(r, 0, 5 + STORE_RUN_BUCKETS, 0);
	PQclear(r);
	r = run(db, ST_M_ERRORS, NULL, err, errlen);
	if (!r)
		return -1;
	int nt = PQntuples(r);
	m->errors = arena_alloc(a, sizeof *m->errors * (size_t)(nt ? nt : 1));
	for (int i = 0; i < nt; i++) {
		m->errors[i].code = col_s(r, a, i, 0);
		m->errors[i].n = col_i(r, i, 1, 0);
	}
	m->n_errors = (size_t)nt;
	PQclear(r);
	return 0;
}
