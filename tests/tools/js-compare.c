/*
 * js-compare: the fidelity check every sync integration test ends with.
 * It loads the Jira simulator's ground truth for one project (from the
 * simulator's /_sim/truth endpoint or from a file) and the project's rows in
 * PostgreSQL (one query per table, indexed in hash maps keyed by id), then
 * reports every difference row by row and column by column: issues, sprint
 * links, comments, worklogs, sprints, users and cross-row integrity.
 * Exit 0 when the copy equals the source, 1 on a difference, 2 on a usage,
 * connection or input error. Run with --help for the command line.
 */
#include "common/common.h"
#include "common/conn.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define MAX_LINES 20  /* difference lines printed per category */
#define SHOW_BYTES 72 /* bytes of a value shown in a difference line */
#define TRUTH_MAX ((size_t)2 << 30)

enum { RC_EQUAL = 0, RC_DIFFER = 1, RC_ERROR = 2 };

/* ---- hash maps ---------------------------------------------------------- */

/* Open addressing, linear probing; INT64_MIN marks an empty slot. */
struct idmap {
	int64_t *keys;
	size_t *vals;
	size_t cap; /* power of two */
	size_t n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void idmap_alloc(struct idmap *m, size_t cap)
{
	m->keys = xmalloc(cap * sizeof *m->keys);
	m->vals = xmalloc(cap * sizeof *m->vals);
	for (size_t i = 0; i < cap; i++)
		m->keys[i] = INT64_MIN;
	m->cap = cap;
	m->n = 0;
}

static void idmap_release(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* Insert key -> val; returns false (map unchanged) when key is present. */
static bool idmap_put(struct idmap *m, int64_t key, size_t val)
{
	if (!m->cap)
		idmap_alloc(m, 64);
	if ((m->n + 1) * 2 > m->cap) {
		struct idmap big;
		idmap_alloc(&big, m->cap * 2);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i] != INT64_MIN)
				(void)idmap_put(&big, m->keys[i], m->vals[i]);
		idmap_release(m);
		*m = big;
	}
	size_t mask = m->cap - 1;
	for (size_t i = mix64((uint64_t)key) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == key)
			return false;
		if (m->keys[i] == INT64_MIN) {
			m->keys[i] = key;
			m->vals[i] = val;
			m->n++;
			return true;
		}
	}
}

static bool idmap_get(const struct idmap *m, int64_t key, size_t *val)
{
	if (!m->cap || key == INT64_MIN)
		return false;
	size_t mask = m->cap - 1;
	for (size_t i = mix64((uint64_t)key) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == key) {
			if (val)
				*val = m->vals[i];
			return true;
		}
		if (m->keys[i] == INT64_MIN)
			return false;
	}
}

/* String keys, borrowed (they live in the truth document or a PGresult). */
struct strmap {
	const char **keys;
	size_t *vals;
	size_t cap;
	size_t n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix64(h);
}

static void strmap_alloc(struct strmap *m, size_t cap)
{
	m->keys = xcalloc(cap, sizeof *m->keys);
	m->vals = xmalloc(cap * sizeof *m->vals);
	m->cap = cap;
	m->n = 0;
}

static void strmap_release(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static bool strmap_put(struct strmap *m, const char *key, size_t val)
{
	if (!m->cap)
		strmap_alloc(m, 64);
	if ((m->n + 1) * 2 > m->cap) {
		struct strmap big;
		strmap_alloc(&big, m->cap * 2);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				(void)strmap_put(&big, m->keys[i], m->vals[i]);
		strmap_release(m);
		*m = big;
	}
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		if (!m->keys[i]) {
			m->keys[i] = key;
			m->vals[i] = val;
			m->n++;
			return true;
		}
		if (strcmp(m->keys[i], key) == 0)
			return false;
	}
}

static bool strmap_get(const struct strmap *m, const char *key, size_t *val)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		if (!m->keys[i])
			return false;
		if (strcmp(m->keys[i], key) == 0) {
			*val = m->vals[i];
			return true;
		}
	}
}

/* ---- fields ------------------------------------------------------------- */

enum ftype {
	F_INT,  /* JSON integer; bigint column */
	F_TIME, /* JSON epoch ms; timestamptz column read as epoch ms */
	F_TEXT, /* JSON string; text column */
	F_USER, /* JSON accountId string (or {"accountId": ...}); text column */
	F_BOOL, /* JSON boolean; boolean column */
	F_JSON, /* any JSON; jsonb column, compared structurally */
	F_LIST, /* JSON array; text[] column read as jsonb, compared in order */
};

/*
 * One compared attribute: its name in the truth document, which is also the
 * alias of its column in the SELECT (columns come in table order, so column
 * i is field i; check_columns() verifies it).
 */
struct field {
	const char *name;
	enum ftype type;
};

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static const struct field issue_fields[] = {
	{"id", F_INT},
	{"key", F_TEXT},
	{"summary", F_TEXT},
	{"status", F_TEXT},
	{"statusCategory", F_TEXT},
	{"priority", F_TEXT},
	{"issueType", F_TEXT},
	{"assignee", F_USER},
	{"reporter", F_USER},
	{"created", F_TIME},
	{"updated", F_TIME},
	{"resolved", F_TIME},
	{"labels", F_LIST},
	{"descriptionText", F_TEXT},
	{"descriptionAdf", F_JSON},
};
/* $1 project id, $2 the truth's issue ids (found in another project too). */
static const char issue_sql[] =
	"SELECT i.id AS \"id\", i.key AS \"key\", i.summary AS \"summary\","
	" i.status AS \"status\", i.status_category AS \"statusCategory\","
	" i.priority AS \"priority\", i.issue_type AS \"issueType\","
	" i.assignee_id AS \"assignee\", i.reporter_id AS \"reporter\","
	" " MS("i.created") " AS \"created\", " MS(
		"i.updated") " AS \"updated\","
			     " " MS("i.resolved") " AS \"resolved\", to_jsonb(i.labels)::text AS \"labels\","
						  " i.description AS \"descriptionText\", i.description_adf::text AS \"descriptionAdf\","
						  " i.project_id = $1 AS in_project, i.deleted_at IS NOT NULL AS deleted, p.key AS project_key"
						  " FROM issue i JOIN project p ON p.id = i.project_id"
						  " WHERE i.project_id = $1 OR i.id = ANY ($2::bigint[]) ORDER BY i.id";

static const struct field comment_fields[] = {
	{"id", F_INT},        {"issueId", F_INT},  {"author", F_USER},  {"updateAuthor", F_USER},
	{"bodyText", F_TEXT}, {"bodyAdf", F_JSON}, {"created", F_TIME}, {"updated", F_TIME},
};
static const char comment_sql[] =
	"SELECT c.id AS \"id\", c.issue_id AS \"issueId\", c.author_id AS \"author\","
	" c.update_author_id AS \"updateAuthor\", c.body AS \"bodyText\","
	" c.body_adf::text AS \"bodyAdf\", " MS(
		"c.created") " AS \"created\","
			     " " MS("c.updated") " AS \"updated\","
						 " i.project_id = $1 AS in_project, i.deleted_at IS NOT NULL AS deleted, p.key AS project_key"
						 " FROM comment c JOIN issue i ON i.id = c.issue_id JOIN project p ON p.id = i.project_id"
						 " WHERE i.project_id = $1 OR c.id = ANY ($2::bigint[]) ORDER BY c.id";

static const struct field worklog_fields[] = {
	{"id", F_INT},           {"issueId", F_INT},
	{"author", F_USER},      {"updateAuthor", F_USER},
	{"commentText", F_TEXT}, {"commentAdf", F_JSON},
	{"started", F_TIME},     {"created", F_TIME},
	{"updated", F_TIME},     {"timeSpentSeconds", F_INT},
};
static const char worklog_sql[] =
	"SELECT w.id AS \"id\", w.issue_id AS \"issueId\", w.author_id AS \"author\","
	" w.update_author_id AS \"updateAuthor\", w.comment AS \"commentText\","
	" w.comment_adf::text AS \"commentAdf\", " MS(
		"w.started") " AS \"started\","
			     " " MS("w.created") " AS \"created\", " MS(
				     "w.updated") " AS \"updated\","
						  " w.time_spent_seconds AS \"timeSpentSeconds\","
						  " i.project_id = $1 AS in_project, i.deleted_at IS NOT NULL AS deleted, p.key AS project_key"
						  " FROM worklog w JOIN issue i ON i.id = w.issue_id JOIN project p ON p.id = i.project_id"
						  " WHERE i.project_id = $1 OR w.id = ANY ($2::bigint[]) ORDER BY w.id";

static const struct field sprint_fields[] = {
	{"id", F_INT},    {"boardId", F_INT},    {"name", F_TEXT},    {"state", F_TEXT},
	{"goal", F_TEXT}, {"startDate", F_TIME}, {"endDate", F_TIME}, {"completeDate", F_TIME},
};
static const char sprint_sql[] =
	"SELECT s.id AS \"id\", s.board_id AS \"boardId\", s.name AS \"name\","
	" s.state AS \"state\", s.goal AS \"goal\", " MS(
		"s.start_date") " AS \"startDate\","
				" " MS("s.end_date") " AS \"endDate\", " MS(
					"s.complete_date") " AS \"completeDate\","
							   " EXISTS (SELECT 1 FROM project_sprint ps WHERE ps.sprint_id = s.id AND ps.project_id = $1)"
							   " AS in_project"
							   " FROM sprint s"
							   " WHERE s.id IN (SELECT sprint_id FROM project_sprint WHERE project_id = $1)"
							   " OR s.id = ANY ($2::bigint[]) ORDER BY s.id";

static const struct field user_fields[] = {
	{"accountId", F_TEXT}, {"displayName", F_TEXT}, {"emailAddress", F_TEXT},
	{"timeZone", F_TEXT},  {"accountType", F_TEXT}, {"active", F_BOOL},
};
/* $1 the truth's account ids as a JSON array. */
static const char user_sql[] =
	"SELECT account_id AS \"accountId\", display_name AS \"displayName\","
	" email AS \"emailAddress\", time_zone AS \"timeZone\","
	" account_type AS \"accountType\", active AS \"active\""
	" FROM jira_user WHERE account_id IN (SELECT jsonb_array_elements_text($1::jsonb))";

/* Links of the project's live issues, grouped by issue. */
static const char link_sql[] =
	"SELECT s.issue_id, s.sprint_id FROM issue_sprint s JOIN issue i ON i.id = s.issue_id"
	" WHERE i.project_id = $1 AND i.deleted_at IS NULL ORDER BY s.issue_id, s.sprint_id";

/* ---- report ------------------------------------------------------------- */

enum cat {
	CAT_PROJECT,
	CAT_MISSING_ISSUE,
	CAT_EXTRA_ISSUE,
	CAT_DELETED_ISSUE,
	CAT_ISSUE,
	CAT_LINK,
	CAT_COMMENT,
	CAT_WORKLOG,
	CAT_SPRINT,
	CAT_USER,
	CAT_INTEGRITY,
	CAT_N
};
static const char *const cat_names[CAT_N] = {
	"project",      "missing issues", "extra issues", "soft-deleted live issues",
	"issue fields", "sprint links",   "comments",     "worklogs",
	"sprints",      "users",          "integrity",
};

struct cmp {
	const char *project;
	size_t count[CAT_N];
};

static void JS_PRINTF(3, 4) report(struct cmp *c, enum cat cat, const char *fmt, ...)
{
	if (++c->count[cat] > MAX_LINES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * Report text. Values are excerpted to SHOW_BYTES, so a line stays far below
 * a buffer's maximum; an append that failed anyway would only shorten it.
 */
static void put(struct buf *b, const char *s)
{
	if (buf_puts(b, s) < 0)
		return;
}

static void putn(struct buf *b, const char *s, size_t n)
{
	if (buf_append(b, s, n) < 0)
		return;
}

static void JS_PRINTF(2, 3) putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
}

/* Back up to the start of a UTF-8 sequence. */
static size_t utf8_floor(const char *s, size_t i)
{
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/*
 * Append s as a quoted excerpt: from byte `from` (a window that shows where
 * two values part), at most SHOW_BYTES bytes, cut on a character boundary.
 */
static void put_excerpt(struct buf *out, const char *s, size_t from)
{
	size_t len = strlen(s);
	size_t end = len;
	if (end - from > SHOW_BYTES)
		end = utf8_floor(s, from + SHOW_BYTES);
	char *part = xstrndup(s + from, end - from);
	put(out, from ? "..." : "");
	if (buf_json_str(out, part) < 0)
		put(out, "?");
	put(out, end < len ? "..." : "");
	free(part);
}

static void put_text(struct buf *out, const char *s, size_t from)
{
	if (!s) {
		put(out, "null");
		return;
	}
	put_excerpt(out, s, from);
}

/* The byte where two strings part, moved back to show some context. */
static size_t text_window(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	size_t d = 0;
	while (a[d] && a[d] == b[d])
		d++;
	if (d <= SHOW_BYTES / 2)
		return 0;
	return utf8_floor(a, d - SHOW_BYTES / 4);
}

static void put_ms(struct buf *out, bool null, int64_t ms, bool time)
{
	if (null) {
		put(out, "null");
		return;
	}
	char t[32];
	if (time)
		putf(out, "%" PRId64 " (%s)", ms, jtime_format(t, ms));
	else
		putf(out, "%" PRId64, ms);
}

static void put_json(struct buf *out, const cJSON *v)
{
	if (!v || cJSON_IsNull(v)) {
		put(out, "null");
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	if (!s) {
		put(out, "?");
		return;
	}
	size_t len = strlen(s);
	size_t end = len > SHOW_BYTES ? utf8_floor(s, SHOW_BYTES) : len;
	putn(out, s, end);
	if (end < len)
		put(out, "...");
	cJSON_free(s);
}

/* ---- JSON values -------------------------------------------------------- */

/* An integral JSON number that a double holds exactly. */
static bool json_i64(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (d != d || d < -9007199254740992.0 || d > 9007199254740992.0 || d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

/* A user reference: "accountId", {"accountId": ...} or null. */
static const char *json_user(const cJSON *v)
{
	if (cJSON_IsObject(v))
		v = cJSON_GetObjectItemCaseSensitive(v, "accountId");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool field_type_ok(const cJSON *v, enum ftype t)
{
	if (cJSON_IsNull(v))
		return t != F_BOOL && t != F_LIST;
	switch (t) {
	case F_INT:
	case F_TIME: {
		int64_t x;
		return json_i64(v, &x);
	}
	case F_TEXT:
		return cJSON_IsString(v);
	case F_USER:
		return cJSON_IsString(v) || (cJSON_IsObject(v) && json_user(v));
	case F_BOOL:
		return cJSON_IsBool(v);
	case F_JSON:
		return true;
	case F_LIST:
		return cJSON_IsArray(v);
	}
	return false;
}

/*
 * Structural comparison; key order does not matter, array order does.
 * SQL NULL and JSON null are the same. On a difference, path names where
 * (JSONPath-like) and *pa / *pb the differing values (NULL = absent).
 */
static bool json_differs(const cJSON *a, const cJSON *b, struct buf *path, const cJSON **pa,
			 const cJSON **pb)
{
	bool an = !a || cJSON_IsNull(a), bn = !b || cJSON_IsNull(b);
	*pa = a;
	*pb = b;
	if (an || bn)
		return an != bn;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) != cJSON_IsTrue(b);
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return true;
	if (cJSON_IsNumber(a))
		return a->valuedouble != b->valuedouble;
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) != 0;
	size_t mark = path->len;
	if (cJSON_IsArray(a)) {
		const cJSON *x = a->child, *y = b->child;
		for (int i = 0; x || y; i++) {
			putf(path, "[%d]", i);
			if (!x || !y) {
				*pa = x;
				*pb = y;
				return true;
			}
			if (json_differs(x, y, path, pa, pb))
				return true;
			path->len = mark;
			path->data[mark] = '\0';
			x = x->next;
			y = y->next;
		}
		return false;
	}
	if (cJSON_IsObject(a)) {
		/* Every member of b in a, then every member of a in b. */
		for (int pass = 0; pass < 2; pass++) {
			const cJSON *from = pass ? a : b, *other = pass ? b : a;
			for (const cJSON *m = from->child; m; m = m->next) {
				const cJSON *o = cJSON_GetObjectItemCaseSensitive(other, m->string);
				putf(path, ".%s", m->string);
				if (!o) {
					*pa = pass ? m : NULL;
					*pb = pass ? NULL : m;
					return true;
				}
				if (!pass && json_differs(o, m, path, pa, pb))
					return true;
				path->len = mark;
				path->data[mark] = '\0';
			}
		}
		return false;
	}
	return false;
}

/* ---- row comparison ----------------------------------------------------- */

static void compare_value(struct cmp *c, enum cat cat, const char *label, const struct field *f,
			  const cJSON *tv, const char *dv)
{
	struct buf msg = BUF_INIT;
	switch (f->type) {
	case F_TEXT:
	case F_USER: {
		const char *ts = f->type == F_USER    ? json_user(tv)
				 : cJSON_IsString(tv) ? tv->valuestring
						      : NULL;
		if ((!ts && !dv) || (ts && dv && strcmp(ts, dv) == 0))
			break;
		size_t from = text_window(dv, ts);
		put(&msg, "db ");
		put_text(&msg, dv, from);
		put(&msg, " != jira ");
		put_text(&msg, ts, from);
		break;
	}
	case F_INT:
	case F_TIME: {
		int64_t t = 0, d = 0;
		bool tnull = !json_i64(tv, &t), dnull = !dv;
		if (dv && parse_i64(dv, &d) < 0) {
			putf(&msg, "db %s is not a number", dv);
			break;
		}
		if (tnull == dnull && (tnull || t == d))
			break;
		put(&msg, "db ");
		put_ms(&msg, dnull, d, f->type == F_TIME);
		put(&msg, " != jira ");
		put_ms(&msg, tnull, t, f->type == F_TIME);
		break;
	}
	case F_BOOL: {
		bool t = cJSON_IsTrue(tv), d = dv && dv[0] == 't';
		if (dv && t == d)
			break;
		putf(&msg, "db %s != jira %s", dv ? (d ? "true" : "false") : "null",
		     t ? "true" : "false");
		break;
	}
	case F_JSON:
	case F_LIST: {
		cJSON *d = dv ? cJSON_Parse(dv) : NULL;
		if (dv && !d) {
			put(&msg, "db value is not JSON");
			break;
		}
		struct buf path = BUF_INIT;
		const cJSON *pa, *pb;
		put(&path, "$");
		if (json_differs(d, tv, &path, &pa, &pb)) {
			if (f->type == F_LIST) {
				pa = d;
				pb = tv;
			} else {
				putf(&msg, "at %s: ", path.data);
			}
			bool top = path.len == 1 || f->type == F_LIST;
			put(&msg, "db ");
			if (pa || top)
				put_json(&msg, pa);
			else
				put(&msg, "(absent)");
			put(&msg, " != jira ");
			if (pb || top)
				put_json(&msg, pb);
			else
				put(&msg, "(absent)");
		}
		buf_release(&path);
		cJSON_Delete(d);
		break;
	}
	}
	if (msg.len)
		report(c, cat, "%s: %s: %s", label, f->name, msg.data);
	buf_release(&msg);
}

/* Compare fields[0..nf) of a truth object with columns 0..nf of a row. */
static void compare_row(struct cmp *c, enum cat cat, const char *label, const struct field *fs,
			size_t nf, const cJSON *obj, const PGresult *r, int row)
{
	for (size_t i = 0; i < nf; i++) {
		const cJSON *tv = cJSON_GetObjectItemCaseSensitive(obj, fs[i].name);
		const char *dv = PQgetisnull(r, row, (int)i) ? NULL : PQgetvalue(r, row, (int)i);
		compare_value(c, cat, label, &fs[i], tv, dv);
	}
}

/* ---- the truth ---------------------------------------------------------- */

/* One entity kind of the truth: its objects, indexed by id. */
struct tset {
	const char *what; /* "issue" */
	const struct field *fields;
	size_t nf;
	const cJSON **items;
	size_t n;
	struct idmap ids;
	unsigned char *seen; /* matched by a database row */
};

static void tset_release(struct tset *t)
{
	free(t->items);
	free(t->seen);
	idmap_release(&t->ids);
}

static int64_t item_id(const cJSON *o)
{
	int64_t id = 0;
	(void)json_i64(cJSON_GetObjectItemCaseSensitive(o, "id"), &id);
	return id;
}

/*
 * Index truth[member]: every element an object with every field present
 * and of its type, ids positive and unique. -1 with err set otherwise.
 */
static int tset_load(struct tset *t, const cJSON *root, const char *member, char *err,
		     size_t errlen)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, member);
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "truth: '%s' is not an array", member);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr);
	t->items = xcalloc(n ? n : 1, sizeof *t->items);
	t->seen = xcalloc(n ? n : 1, 1);
	t->n = 0;
	for (const cJSON *o = arr->child; o; o = o->next) {
		if (!cJSON_IsObject(o)) {
			snprintf(err, errlen, "truth: %s #%zu is not an object", t->what, t->n);
			return -1;
		}
		for (size_t i = 0; i < t->nf; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, t->fields[i].name);
			if (!v || !field_type_ok(v, t->fields[i].type)) {
				snprintf(err, errlen, "truth: %s #%zu: field '%s' is %s", t->what,
					 t->n, t->fields[i].name,
					 v ? "of the wrong type" : "missing");
				return -1;
			}
		}
		int64_t id = item_id(o);
		if (t->fields[0].type == F_INT && id <= 0) {
			snprintf(err, errlen, "truth: %s #%zu: id is not a positive integer",
				 t->what, t->n);
			return -1;
		}
		if (t->fields[0].type == F_INT && !idmap_put(&t->ids, id, t->n)) {
			snprintf(err, errlen, "truth: duplicate %s id %" PRId64, t->what, id);
			return -1;
		}
		t->items[t->n++] = o;
	}
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	return buf_append(b, p, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* GET <base>/_sim/truth?project=KEY[&tracked=a,b] into out. */
static int fetch_truth(const char *base, const char *project, const char *tracked, struct buf *out,
		       char *err, size_t errlen)
{
	int rc = -1;
	struct buf url = BUF_INIT;
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	char *ep = curl_easy_escape(h, project, 0);
	int brc = buf_append(&url, base, bl);
	brc |= buf_printf(&url, "/_sim/truth?project=%s", ep);
	curl_free(ep);
	if (tracked) {
		/* Each id escaped, the commas kept. */
		brc |= buf_puts(&url, "&tracked=");
		const char *p = tracked;
		while (*p) {
			size_t n = strcspn(p, ",");
			char *e = curl_easy_escape(h, p, (int)n);
			brc |= buf_puts(&url, e);
			curl_free(e);
			p += n;
			if (*p == ',') {
				brc |= buf_putc(&url, ',');
				p++;
			}
		}
	}
	if (brc) {
		snprintf(err, errlen, "truth url too long");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "cannot fetch truth from '%s': %s", url.data,
			 curl_easy_strerror(cc));
		goto out;
	}
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "cannot fetch truth from '%s': HTTP %ld: %.*s", url.data,
			 status, (int)strcspn(out->data, "\n"), out->data);
		goto out;
	}
	rc = 0;
out:
	buf_release(&url);
	curl_easy_cleanup(h);
	return rc;
}

/* ---- database ----------------------------------------------------------- */

static PGresult *query(PGconn *db, const char *sql, int n, const char *const *params, char *err,
		       size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);
		snprintf(err, errlen, "query failed: %.*s", (int)strcspn(m, "\n"), m);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* The columns of r start with fields, in order (an invariant of the SQL). */
static int check_columns(const PGresult *r, const struct field *fs, size_t nf, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < nf; i++) {
		if ((int)i >= PQnfields(r) || strcmp(PQfname(r, (int)i), fs[i].name) != 0) {
			snprintf(err, errlen, "internal: column %zu is not '%s'", i, fs[i].name);
			return -1;
		}
	}
	return 0;
}

static int64_t row_id(const PGresult *r, int row, int col)
{
	int64_t v = 0;
	if (parse_i64(PQgetvalue(r, row, col), &v) < 0)
		return 0;
	return v;
}

static bool row_flag(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col)[0] == 't';
}

/* "{1,2,3}": the ids of a truth set as a bigint[] literal. */
static char *id_array(const struct tset *t)
{
	struct buf b = BUF_INIT;
	int rc = buf_putc(&b, '{');
	for (size_t i = 0; i < t->n; i++)
		rc |= buf_printf(&b, "%s%" PRId64, i ? "," : "", item_id(t->items[i]));
	rc |= buf_putc(&b, '}');
	if (rc) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* ---- the comparison ----------------------------------------------------- */

struct opts {
	const char *db_url;
	const char *project;
	const char *truth_url;
	const char *truth_file;
	const char *tracked;
	bool quiet;
};

struct state {
	struct cmp c;
	const struct opts *o;
	PGconn *db;
	char project_id[24];
	struct tset issues, comments, worklogs, sprints;
	const cJSON **users;
	size_t n_users;
	struct strmap user_ids;
	struct idmap live; /* truth issue id -> truth index, for issues live in the db */
};

static const char *truth_key(const cJSON *o)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
	return cJSON_IsString(k) ? k->valuestring : "?";
}

static int compare_issues(struct state *s, char *err, size_t errlen)
{
	const size_t nf = JS_ARRAY_LEN(issue_fields);
	int rc = -1;
	struct idmap dbseen = {0};
	char *ids = id_array(&s->issues);
	const char *params[2] = {s->project_id, ids};
	PGresult *r = ids ? query(s->db, issue_sql, 2, params, err, errlen) : NULL;
	if (!ids)
		snprintf(err, errlen, "too many issue ids");
	if (!r || check_columns(r, issue_fields, nf, err, errlen) < 0)
		goto out;
	const int c_in = (int)nf, c_del = c_in + 1, c_pkey = c_in + 2;
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t id = row_id(r, row, 0);
		const char *dkey = PQgetvalue(r, row, 1);
		size_t ti;
		bool found = idmap_get(&s->issues.ids, id, &ti);
		if (!idmap_put(&dbseen, id, (size_t)row)) {
			report(&s->c, CAT_INTEGRITY, "issue %" PRId64 " (%s): duplicate row in db",
			       id, dkey);
			continue;
		}
		if (!row_flag(r, row, c_in)) {
			/* Selected only because the truth has this id. */
			if (!found)
				continue;
			report(&s->c, CAT_INTEGRITY,
			       "issue %" PRId64 " (%s): in project %s in db, not %s", id,
			       truth_key(s->issues.items[ti]), PQgetvalue(r, row, c_pkey),
			       s->c.project);
			s->issues.seen[ti] = 1;
			continue;
		}
		if (row_flag(r, row, c_del)) {
			if (found) {
				report(&s->c, CAT_DELETED_ISSUE,
				       "issue %" PRId64
				       " (%s): soft-deleted in db but live in jira",
				       id, truth_key(s->issues.items[ti]));
				s->issues.seen[ti] = 1;
			}
			continue;
		}
		if (!found) {
			/* Columns 7 and 8 are issue_fields' assignee and reporter. */
			const char *as = PQgetisnull(r, row, 7) ? NULL : PQgetvalue(r, row, 7);
			const char *re = PQgetisnull(r, row, 8) ? NULL : PQgetvalue(r, row, 8);
			if (s->o->tracked)
				report(&s->c, CAT_EXTRA_ISSUE,
				       "issue %" PRId64
				       " (%s): extra in db: not in jira's tracked set"
				       " (assignee %s, reporter %s)",
				       id, dkey, as ? as : "null", re ? re : "null");
			else
				report(&s->c, CAT_EXTRA_ISSUE,
				       "issue %" PRId64 " (%s): extra in db (not live in jira)", id,
				       dkey);
			continue;
		}
		s->issues.seen[ti] = 1;
		(void)idmap_put(&s->live, id, ti);
		char label[96];
		snprintf(label, sizeof label, "issue %" PRId64 " (%s)", id,
			 truth_key(s->issues.items[ti]));
		compare_row(&s->c, CAT_ISSUE, label, issue_fields, nf, s->issues.items[ti], r, row);
	}
	for (size_t i = 0; i < s->issues.n; i++)
		if (!s->issues.seen[i])
			report(&s->c, CAT_MISSING_ISSUE, "issue %" PRId64 " (%s): missing from db",
			       item_id(s->issues.items[i]), truth_key(s->issues.items[i]));
	rc = 0;
out:
	idmap_release(&dbseen);
	PQclear(r);
	free(ids);
	return rc;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int compare_links(struct state *s, char *err, size_t errlen)
{
	const char *params[1] = {s->project_id};
	PGresult *r = query(s->db, link_sql, 1, params, err, errlen);
	if (!r)
		return -1;
	/* Rows are ordered by issue: remember where each issue's run starts. */
	struct idmap first = {0};
	int nrows = PQntuples(r);
	for (int row = 0; row < nrows; row++)
		(void)idmap_put(&first, row_id(r, row, 0), (size_t)row);
	int64_t *want = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < s->issues.n; i++) {
		const cJSON *o = s->issues.items[i];
		int64_t id = item_id(o);
		if (!idmap_get(&s->live, id, NULL))
			continue; /* missing or not live in the db: reported already */
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "sprintIds");
		size_t n = 0;
		size_t an = (size_t)cJSON_GetArraySize(arr);
		if (an > cap) {
			cap = an * 2;
			want = xrealloc(want, cap * sizeof *want);
		}
		for (const cJSON *v = arr->child; v; v = v->next)
			(void)json_i64(v, &want[n++]);
		if (n > 1)
			qsort(want, n, sizeof *want, cmp_i64);
		size_t row0;
		int row = idmap_get(&first, id, &row0) ? (int)row0 : nrows;
		size_t k = 0;
		while (k < n || (row < nrows && row_id(r, row, 0) == id)) {
			bool have_db = row < nrows && row_id(r, row, 0) == id;
			int64_t d = have_db ? row_id(r, row, 1) : INT64_MAX;
			int64_t t = k < n ? want[k] : INT64_MAX;
			if (k > 0 && k < n && want[k] == want[k - 1]) {
				k++; /* a repeated id in the truth */
				continue;
			}
			if (d == t) {
				row++;
				k++;
			} else if (t < d) {
				report(&s->c, CAT_LINK,
				       "issue %" PRId64 " (%s): sprint link %" PRId64
				       ": missing from db",
				       id, truth_key(o), t);
				k++;
			} else {
				report(&s->c, CAT_LINK,
				       "issue %" PRId64 " (%s): sprint link %" PRId64
				       ": extra in db",
				       id, truth_key(o), d);
				row++;
			}
		}
	}
	free(want);
	idmap_release(&first);
	PQclear(r);
	return 0;
}

/* Comments and worklogs: the same rules over different columns. */
static int compare_children(struct state *s, struct tset *t, const char *sql, enum cat cat,
			    char *err, size_t errlen)
{
	int rc = -1;
	char *ids = id_array(t);
	const char *params[2] = {s->project_id, ids};
	PGresult *r = ids ? query(s->db, sql, 2, params, err, errlen) : NULL;
	if (!ids)
		snprintf(err, errlen, "too many %s ids", t->what);
	if (!r || check_columns(r, t->fields, t->nf, err, errlen) < 0)
		goto out;
	const int c_in = (int)t->nf, c_del = c_in + 1, c_pkey = c_in + 2;
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t id = row_id(r, row, 0), issue = row_id(r, row, 1);
		size_t ti;
		bool found = idmap_get(&t->ids, id, &ti);
		if (found && t->seen[ti]) {
			report(&s->c, CAT_INTEGRITY,
			       "%s %" PRId64 " (issue %" PRId64 "): duplicate row in db", t->what,
			       id, issue);
			continue;
		}
		if (!row_flag(r, row, c_in)) {
			if (!found)
				continue;
			report(&s->c, CAT_INTEGRITY,
			       "%s %" PRId64 " (issue %" PRId64
			       "): belongs to an issue of project %s in db",
			       t->what, id, issue, PQgetvalue(r, row, c_pkey));
			t->seen[ti] = 1;
			continue;
		}
		if (row_flag(r, row, c_del)) {
			/* Rows of soft-deleted issues are ignored, unless Jira has them live. */
			if (found) {
				report(&s->c, CAT_INTEGRITY,
				       "%s %" PRId64 " (issue %" PRId64
				       "): live in jira but on a soft-deleted issue in db",
				       t->what, id, issue);
				t->seen[ti] = 1;
			}
			continue;
		}
		if (!found) {
			/* Rows of issues Jira does not have are covered by the extra issue. */
			if (idmap_get(&s->issues.ids, issue, NULL))
				report(&s->c, cat,
				       "%s %" PRId64 " (issue %" PRId64 "): extra in db", t->what,
				       id, issue);
			continue;
		}
		t->seen[ti] = 1;
		char label[96];
		snprintf(label, sizeof label, "%s %" PRId64 " (issue %" PRId64 ")", t->what, id,
			 issue);
		compare_row(&s->c, cat, label, t->fields, t->nf, t->items[ti], r, row);
	}
	for (size_t i = 0; i < t->n; i++) {
		if (t->seen[i])
			continue;
		int64_t issue = 0;
		(void)json_i64(cJSON_GetObjectItemCaseSensitive(t->items[i], "issueId"), &issue);
		report(&s->c, cat, "%s %" PRId64 " (issue %" PRId64 "): missing from db", t->what,
		       item_id(t->items[i]), issue);
	}
	rc = 0;
out:
	PQclear(r);
	free(ids);
	return rc;
}

static int compare_sprints(struct state *s, char *err, size_t errlen)
{
	struct tset *t = &s->sprints;
	int rc = -1;
	char *ids = id_array(t);
	const char *params[2] = {s->project_id, ids};
	PGresult *r = ids ? query(s->db, sprint_sql, 2, params, err, errlen) : NULL;
	if (!ids)
		snprintf(err, errlen, "too many sprint ids");
	if (!r || check_columns(r, t->fields, t->nf, err, errlen) < 0)
		goto out;
	const int c_in = (int)t->nf;
	for (int row = 0; row < PQntuples(r); row++) {
		int64_t id = row_id(r, row, 0);
		size_t ti;
		bool found = idmap_get(&t->ids, id, &ti);
		char label[96];
		snprintf(label, sizeof label, "sprint %" PRId64 " (%s)", id,
			 PQgetisnull(r, row, 2) ? "" : PQgetvalue(r, row, 2));
		if (!found) {
			report(&s->c, CAT_SPRINT, "%s: extra in db", label);
			continue;
		}
		t->seen[ti] = 1;
		if (!row_flag(r, row, c_in))
			report(&s->c, CAT_SPRINT, "%s: not linked to project %s in db", label,
			       s->c.project);
		compare_row(&s->c, CAT_SPRINT, label, t->fields, t->nf, t->items[ti], r, row);
	}
	for (size_t i = 0; i < t->n; i++)
		if (!t->seen[i])
			report(&s->c, CAT_SPRINT, "sprint %" PRId64 ": missing from db",
			       item_id(t->items[i]));
	rc = 0;
out:
	PQclear(r);
	free(ids);
	return rc;
}

static int compare_users(struct state *s, char *err, size_t errlen)
{
	const size_t nf = JS_ARRAY_LEN(user_fields);
	int rc = -1;
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < s->n_users; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(s->users[i], "accountId");
		cJSON_AddItemToArray(arr, cJSON_CreateString(a->valuestring));
	}
	char *ids = cJSON_PrintUnformatted(arr);
	const char *params[1] = {ids};
	struct strmap dbu = {0};
	PGresult *r = ids ? query(s->db, user_sql, 1, params, err, errlen) : NULL;
	if (!ids)
		snprintf(err, errlen, "out of memory printing account ids");
	if (!r || check_columns(r, user_fields, nf, err, errlen) < 0)
		goto out;
	for (int row = 0; row < PQntuples(r); row++)
		(void)strmap_put(&dbu, PQgetvalue(r, row, 0), (size_t)row);
	for (size_t i = 0; i < s->n_users; i++) {
		const char *acc =
			cJSON_GetObjectItemCaseSensitive(s->users[i], "accountId")->valuestring;
		struct buf label = BUF_INIT;
		put(&label, "user ");
		put_excerpt(&label, acc, 0);
		size_t row;
		if (!strmap_get(&dbu, acc, &row))
			report(&s->c, CAT_USER, "%s: missing from db", label.data);
		else
			compare_row(&s->c, CAT_USER, label.data, user_fields, nf, s->users[i], r,
				    (int)row);
		buf_release(&label);
	}
	rc = 0;
out:
	strmap_release(&dbu);
	PQclear(r);
	cJSON_free(ids);
	cJSON_Delete(arr);
	return rc;
}

static int load_users(struct state *s, const cJSON *root, char *err, size_t errlen)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "users");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "truth: 'users' is not an array");
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr);
	s->users = xcalloc(n ? n : 1, sizeof *s->users);
	for (const cJSON *o = arr->child; o; o = o->next) {
		for (size_t i = 0; i < JS_ARRAY_LEN(user_fields); i++) {
			const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(
								     o, user_fields[i].name)
							   : NULL;
			if (!v || !field_type_ok(v, user_fields[i].type) ||
			    (i == 0 && !cJSON_IsString(v))) {
				snprintf(err, errlen, "truth: user #%zu: field '%s' is %s",
					 s->n_users, user_fields[i].name,
					 v ? "of the wrong type" : "missing");
				return -1;
			}
		}
		const char *acc = cJSON_GetObjectItemCaseSensitive(o, "accountId")->valuestring;
		if (!strmap_put(&s->user_ids, acc, s->n_users)) {
			snprintf(err, errlen, "truth: duplicate user '%s'", acc);
			return -1;
		}
		s->users[s->n_users++] = o;
	}
	return 0;
}

static int load_truth(struct state *s, const cJSON *root, char *err, size_t errlen)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "project");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "key");
	if (!cJSON_IsString(k)) {
		snprintf(err, errlen, "truth: no project key");
		return -1;
	}
	if (strcmp(k->valuestring, s->o->project) != 0) {
		snprintf(err, errlen, "truth is for project '%s', not '%s'", k->valuestring,
			 s->o->project);
		return -1;
	}
	s->issues = (struct tset){
		.what = "issue", .fields = issue_fields, .nf = JS_ARRAY_LEN(issue_fields)};
	s->comments = (struct tset){
		.what = "comment", .fields = comment_fields, .nf = JS_ARRAY_LEN(comment_fields)};
	s->worklogs = (struct tset){
		.what = "worklog", .fields = worklog_fields, .nf = JS_ARRAY_LEN(worklog_fields)};
	s->sprints = (struct tset){
		.what = "sprint", .fields = sprint_fields, .nf = JS_ARRAY_LEN(sprint_fields)};
	if (tset_load(&s->issues, root, "issues", err, errlen) < 0 ||
	    tset_load(&s->comments, root, "comments", err, errlen) < 0 ||
	    tset_load(&s->worklogs, root, "worklogs", err, errlen) < 0 ||
	    tset_load(&s->sprints, root, "sprints", err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < s->issues.n; i++) {
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(s->issues.items[i],
								    "sprintIds");
		bool ok = cJSON_IsArray(ids);
		for (const cJSON *v = ok ? ids->child : NULL; v && ok; v = v->next) {
			int64_t x;
			ok = json_i64(v, &x);
		}
		if (!ok) {
			snprintf(err, errlen,
				 "truth: issue %" PRId64 ": sprintIds is not an array of integers",
				 item_id(s->issues.items[i]));
			return -1;
		}
	}
	return load_users(s, root, err, errlen);
}

/* The project row: its id, and its Jira id and name where the db has them. */
static int load_project(struct state *s, const cJSON *root, char *err, size_t errlen)
{
	const char *params[1] = {s->o->project};
	PGresult *r = query(s->db, "SELECT id, jira_id, name FROM project WHERE key = $1", 1,
			    params, err, errlen);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		report(&s->c, CAT_PROJECT, "project %s: missing from db", s->o->project);
		PQclear(r);
		return 1;
	}
	snprintf(s->project_id, sizeof s->project_id, "%s", PQgetvalue(r, 0, 0));
	/* A project is registered by key; its Jira id and name arrive with a sync. */
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "project");
	static const struct field pf[] = {{"id", F_INT}, {"name", F_TEXT}};
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, pf[i].name);
		if (!PQgetisnull(r, 0, i + 1) && v && field_type_ok(v, pf[i].type)) {
			char label[300];
			snprintf(label, sizeof label, "project %s", s->o->project);
			compare_value(&s->c, CAT_PROJECT, label, &pf[i], v,
				      PQgetvalue(r, 0, i + 1));
		}
	}
	PQclear(r);
	return 0;
}

static int run(struct state *s, const cJSON *root, char *err, size_t errlen)
{
	if (load_truth(s, root, err, errlen) < 0)
		return RC_ERROR;
	s->db = pg_connect(s->o->db_url, err, errlen);
	if (!s->db)
		return RC_ERROR;
	int prc = load_project(s, root, err, errlen);
	if (prc < 0)
		return RC_ERROR;
	if (prc == 0 &&
	    (compare_issues(s, err, errlen) < 0 || compare_links(s, err, errlen) < 0 ||
	     compare_children(s, &s->comments, comment_sql, CAT_COMMENT, err, errlen) < 0 ||
	     compare_children(s, &s->worklogs, worklog_sql, CAT_WORKLOG, err, errlen) < 0 ||
	     compare_sprints(s, err, errlen) < 0 || compare_users(s, err, errlen) < 0))
		return RC_ERROR;

	size_t total = 0;
	for (int i = 0; i < CAT_N; i++) {
		total += s->c.count[i];
		if (s->c.count[i] > MAX_LINES)
			printf("... and %zu more %s differences\n", s->c.count[i] - MAX_LINES,
			       cat_names[i]);
	}
	if (total) {
		struct buf sum = BUF_INIT;
		for (int i = 0; i < CAT_N; i++)
			if (s->c.count[i])
				putf(&sum, "%s%s %zu", sum.len ? ", " : "", cat_names[i],
				     s->c.count[i]);
		printf("js-compare: %s differs: %zu difference%s (%s)\n", s->o->project, total,
		       total == 1 ? "" : "s", sum.data);
		buf_release(&sum);
		return RC_DIFFER;
	}
	if (!s->o->quiet)
		printf("js-compare: %s equal: %zu issues, %zu comments, %zu worklogs, %zu sprints, %zu users\n",
		       s->o->project, s->issues.n, s->comments.n, s->worklogs.n, s->sprints.n,
		       s->n_users);
	return RC_EQUAL;
}

static void state_release(struct state *s)
{
	tset_release(&s->issues);
	tset_release(&s->comments);
	tset_release(&s->worklogs);
	tset_release(&s->sprints);
	free(s->users);
	strmap_release(&s->user_ids);
	idmap_release(&s->live);
	PQfinish(s->db);
}

/* ---- command line ------------------------------------------------------- */

static const char usage[] =
	"usage: js-compare [--db DATABASE_URL] --project KEY (--truth-url SIM_URL | --truth-file PATH)\n"
	"                  [--tracked ID1,ID2] [--quiet]\n"
	"Compares a project's rows in PostgreSQL with the Jira simulator's ground truth\n"
	"(GET SIM_URL/_sim/truth?project=KEY[&tracked=...]). --db defaults to $DATABASE_URL.\n"
	"--tracked asks the simulator for the tracked users' issues only (a file must be\n"
	"filtered already); project issues beyond them are reported as extra.\n"
	"--quiet prints nothing when equal. Exit 0 equal, 1 different, 2 error.\n";

static int parse_args(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
	static const char *const names[] = {"--db", "--project", "--truth-url", "--truth-file",
					    "--tracked"};
	const char **slots[] = {&o->db_url, &o->project, &o->truth_url, &o->truth_file,
				&o->tracked};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
			continue;
		}
		size_t k;
		for (k = 0; k < JS_ARRAY_LEN(names); k++) {
			size_t nl = strlen(names[k]);
			if (strncmp(a, names[k], nl) == 0 && (a[nl] == '\0' || a[nl] == '=')) {
				if (a[nl] == '=') {
					*slots[k] = a + nl + 1;
				} else if (i + 1 < argc) {
					*slots[k] = argv[++i];
				} else {
					snprintf(err, errlen, "option '%s' needs a value", a);
					return -1;
				}
				break;
			}
		}
		if (k == JS_ARRAY_LEN(names)) {
			snprintf(err, errlen, "unknown argument '%s'", a);
			return -1;
		}
	}
	if (!o->db_url || !*o->db_url)
		o->db_url = getenv("DATABASE_URL");
	if (!o->db_url || !*o->db_url)
		snprintf(err, errlen, "no database: pass --db or set DATABASE_URL");
	else if (!o->project || !*o->project)
		snprintf(err, errlen, "--project is required");
	else if (!o->truth_url == !o->truth_file)
		snprintf(err, errlen, "pass exactly one of --truth-url and --truth-file");
	else
		return 0;
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct state s = {0};
	struct buf raw = BUF_INIT;
	cJSON *root = NULL;
	char err[1024] = "";
	int rc = RC_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return RC_EQUAL;
		}
	}
	if (parse_args(argc, argv, &o, err, sizeof err) < 0) {
		fprintf(stderr, "js-compare: %s\n%s", err, usage);
		return RC_ERROR;
	}
	s.o = &o;
	s.c.project = o.project;
	buf_init(&raw, TRUTH_MAX);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.truth_file) {
		if (buf_read_file(&raw, o.truth_file) < 0) {
			snprintf(err, sizeof err, "cannot read truth file '%s': %s", o.truth_file,
				 strerror(errno));
			goto out;
		}
	} else if (fetch_truth(o.truth_url, o.project, o.tracked, &raw, err, sizeof err) < 0) {
		goto out;
	}
	root = cJSON_ParseWithLength(raw.data, raw.len);
	if (!cJSON_IsObject(root)) {
		const char *at = cJSON_GetErrorPtr();
		snprintf(err, sizeof err, "truth is not a JSON object (near byte %td)",
			 at && root == NULL ? at - raw.data : (ptrdiff_t)0);
		goto out;
	}
	buf_release(&raw);
	rc = run(&s, root, err, sizeof err);
out:
	fflush(stdout);
	if (rc == RC_ERROR)
		fprintf(stderr, "js-compare: %s\n", err);
	state_release(&s);
	cJSON_Delete(root);
	buf_release(&raw);
	curl_global_cleanup();
	return rc;
}
