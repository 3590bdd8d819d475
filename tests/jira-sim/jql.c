/*
 * jira-sim JQL: exactly the subset the sync client sends, read the way Jira
 * reads it. project = KEY (or in (KEY)), updated compared with epoch ms
 * (absolute) or a date string (read in the CALLER's time zone, minute
 * granularity: the trap that makes UTC-formatted cursors skip updates), an
 * optional (assignee in (...) OR worklogAuthor in (...)) group, and
 * ORDER BY updated ASC[, key|id ASC]. Anything else is a 400 with Jira's
 * error wording.
 */
#include "tests/jira-sim/sim.h"

#include <ctype.h>
#include <strings.h>

enum tok_kind { T_END, T_WORD, T_STRING, T_OP, T_LP, T_RP, T_COMMA };

struct tok {
	enum tok_kind kind;
	char text[256];
	size_t pos; /* 1-based character */
};

struct lexer {
	const char *s;
	size_t i;
	struct tok cur;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct lexer *L, const char *fmt, ...) JS_PRINTF(2, 3);
static void fail(struct lexer *L, const char *fmt, ...)
{
	if (L->failed)
		return;
	L->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->err, L->errlen, fmt, ap);
	va_end(ap);
}

static void next(struct lexer *L)
{
	const char *s = L->s;
	while (isspace((unsigned char)s[L->i]))
		L->i++;
	struct tok *t = &L->cur;
	t->pos = L->i + 1;
	t->text[0] = '\0';
	char c = s[L->i];
	if (!c) {
		t->kind = T_END;
		return;
	}
	if (c == '(' || c == ')' || c == ',') {
		t->kind = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
		t->text[0] = c;
		t->text[1] = '\0';
		L->i++;
		return;
	}
	if (c == '"' || c == '\'') {
		size_t k = 0;
		L->i++;
		while (s[L->i] && s[L->i] != c) {
			if (s[L->i] == '\\' && s[L->i + 1])
				L->i++;
			if (k + 1 < sizeof(t->text))
				t->text[k++] = s[L->i];
			L->i++;
		}
		if (!s[L->i]) {
			fail(L,
			     "Error in the JQL Query: The quoted string '%s' has not been completed. "
			     "(line 1, character %zu)",
			     t->text, t->pos);
			t->kind = T_END;
			return;
		}
		L->i++;
		t->text[k] = '\0';
		t->kind = T_STRING;
		return;
	}
	if (strchr("=!<>~", c)) {
		size_t k = 0;
		while (s[L->i] && strchr("=!<>~", s[L->i]) && k < 2)
			t->text[k++] = s[L->i++];
		t->text[k] = '\0';
		t->kind = T_OP;
		return;
	}
	size_t k = 0;
	while (s[L->i] && !isspace((unsigned char)s[L->i]) && !strchr("()=!<>~,\"'", s[L->i])) {
		if (k + 1 < sizeof(t->text))
			t->text[k++] = s[L->i];
		L->i++;
	}
	t->text[k] = '\0';
	t->kind = T_WORD;
}

/* Copy with truncation (no format-truncation games). */
static void scopy(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l >= n)
		l = n - 1;
	memcpy(dst, src, l);
	dst[l] = '\0';
}

static bool is_word(const struct lexer *L, const char *w)
{
	return L->cur.kind == T_WORD && strcasecmp(L->cur.text, w) == 0;
}

static const char *tok_desc(const struct tok *t)
{
	return t->kind == T_END ? "<EOF>" : t->text;
}

/* A date literal in the caller's zone: yyyy-MM-dd[ HH:mm] or with '/'. */
static int parse_date_literal(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0;
	char sep1, sep2, tail;
	int n = sscanf(s, "%4d%c%2d%c%2d %2d:%2d%c", &y, &sep1, &mo, &sep2, &d, &h, &mi, &tail);
	if (n != 5 && n != 7)
		return -1;
	if (sep1 != sep2 || (sep1 != '-' && sep1 != '/'))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
		return -1;
	/* Reject trailing seconds or garbage that sscanf stopped before. */
	size_t len = strlen(s);
	if (n == 5 && len != 10)
		return -1;
	if (n == 7 && len != 16)
		return -1;
	*ms = sim_local_to_ms(y, mo, d, h, mi, SIM.o.caller_offset);
	return 0;
}

static int parse_value_list(struct lexer *L, char vals[][128], size_t max, size_t *n)
{
	*n = 0;
	if (L->cur.kind != T_LP) {
		fail(L,
		     "Error in the JQL Query: Expecting '(' but got '%s'. (line 1, character %zu)",
		     tok_desc(&L->cur), L->cur.pos);
		return -1;
	}
	next(L);
	for (;;) {
		if (L->cur.kind != T_WORD && L->cur.kind != T_STRING) {
			fail(L,
			     "Error in the JQL Query: Expecting either a value, list or function but "
			     "got '%s'. (line 1, character %zu)",
			     tok_desc(&L->cur), L->cur.pos);
			return -1;
		}
		if (*n < max)
			scopy(vals[(*n)++], 128, L->cur.text);
		next(L);
		if (L->cur.kind == T_COMMA) {
			next(L);
			continue;
		}
		if (L->cur.kind == T_RP) {
			next(L);
			return 0;
		}
		fail(L,
		     "Error in the JQL Query: Expecting ')' but got '%s'. (line 1, character %zu)",
		     tok_desc(&L->cur), L->cur.pos);
		return -1;
	}
}

struct pstate {
	struct lexer L;
	struct jql *q;
	bool have_project;
	int user_groups;
};

static int add_users(struct pstate *P, const char *field, char vals[][128], size_t n, bool wl)
{
	for (size_t i = 0; i < n; i++) {
		int u = sim_user_by_account(vals[i]);
		if (u < 0) {
			fail(&P->L, "The value '%s' does not exist for the field '%s'.", vals[i],
			     field);
			return -1;
		}
		struct jql *q = P->q;
		if (wl) {
			if (q->n_worklog < JQL_MAX_USERS)
				q->wl_users[q->n_worklog++] = u;
		} else if (q->n_assignee < JQL_MAX_USERS) {
			q->users[q->n_assignee++] = u;
		}
	}
	P->q->has_user_filter = true;
	return 0;
}

/* One "field op value" clause. in_group: inside a parenthesised OR group. */
static int parse_simple(struct pstate *P, bool *is_user)
{
	struct lexer *L = &P->L;
	struct jql *q = P->q;
	if (L->cur.kind != T_WORD) {
		fail(L,
		     "Error in the JQL Query: Expecting a field name but got '%s'. (line 1, "
		     "character %zu)",
		     tok_desc(&L->cur), L->cur.pos);
		return -1;
	}
	char field[64];
	scopy(field, sizeof(field), L->cur.text);
	size_t fpos = L->cur.pos;
	next(L);
	bool in = is_word(L, "in");
	if (!in && L->cur.kind != T_OP) {
		fail(L,
		     "Error in the JQL Query: Expecting operator but got '%s'. Valid operators are "
		     "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. "
		     "(line 1, character %zu)",
		     tok_desc(&L->cur), L->cur.pos);
		return -1;
	}
	char op[4];
	scopy(op, sizeof(op), in ? "in" : L->cur.text);
	next(L);
	char vals[JQL_MAX_USERS][128];
	size_t n = 0;
	if (in) {
		if (parse_value_list(L, vals, JQL_MAX_USERS, &n) < 0)
			return -1;
	} else {
		if (L->cur.kind != T_WORD && L->cur.kind != T_STRING) {
			fail(L,
			     "Error in the JQL Query: Expecting either a value, list or function but got "
			     "'%s'. (line 1, character %zu)",
			     tok_desc(&L->cur), L->cur.pos);
			return -1;
		}
		scopy(vals[0], sizeof(vals[0]), L->cur.text);
		n = 1;
		next(L);
	}
	*is_user = false;
	if (strcasecmp(field, "project") == 0) {
		if ((!in && strcmp(op, "=") != 0) || n != 1) {
			fail(L,
			     "Error in the JQL Query: the simulator supports 'project = KEY' with one "
			     "project. (line 1, character %zu)",
			     fpos);
			return -1;
		}
		struct sim_project *p = sim_project_by_key(vals[0]);
		if (!p) {
			fail(L, "The value '%s' does not exist for the field 'project'.", vals[0]);
			return -1;
		}
		if (P->have_project && q->project != p) {
			q->project = NULL; /* contradictory: matches nothing */
		} else {
			q->project = p;
		}
		P->have_project = true;
		return 0;
	}
	if (strcasecmp(field, "updated") == 0 || strcasecmp(field, "updatedDate") == 0) {
		if (in) {
			fail(L,
			     "Error in the JQL Query: the simulator compares 'updated' with one value. "
			     "(line 1, character %zu)",
			     fpos);
			return -1;
		}
		int64_t ms;
		const char *v = vals[0];
		bool all_digits = *v != '\0';
		for (const char *c = v; *c; c++)
			all_digits &= isdigit((unsigned char)*c) != 0;
		if (all_digits && strlen(v) < 19) {
			if (parse_i64(v, &ms) < 0)
				return -1;
		} else if (parse_date_literal(v, &ms) < 0) {
			fail(L,
			     "Date value '%s' for field 'updated' is invalid. Valid formats include: "
			     "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
			     "format e.g. '-5d', '4w 2d'.",
			     v);
			return -1;
		}
		if (strcmp(op, ">=") == 0) {
			if (ms > q->lo)
				q->lo = ms;
		} else if (strcmp(op, ">") == 0) {
			if (ms + 1 > q->lo)
				q->lo = ms + 1;
		} else if (strcmp(op, "<=") == 0) {
			if (ms < q->hi)
				q->hi = ms;
		} else if (strcmp(op, "<") == 0) {
			if (ms - 1 < q->hi)
				q->hi = ms - 1;
		} else if (strcmp(op, "=") == 0) {
			if (ms > q->lo)
				q->lo = ms;
			if (ms < q->hi)
				q->hi = ms;
		} else {
			fail(L,
			     "Error in the JQL Query: The operator '%s' is not supported by the 'updated' "
			     "field. (line 1, character %zu)",
			     op, fpos);
			return -1;
		}
		return 0;
	}
	bool wl = strcasecmp(field, "worklogAuthor") == 0;
	if (wl || strcasecmp(field, "assignee") == 0) {
		if (!in && strcmp(op, "=") != 0) {
			fail(L,
			     "Error in the JQL Query: The operator '%s' is not supported by the '%s' "
			     "field. (line 1, character %zu)",
			     op, field, fpos);
			return -1;
		}
		*is_user = true;
		return add_users(P, wl ? "worklogAuthor" : "assignee", vals, n, wl);
	}
	fail(L, "Field '%s' does not exist or you do not have permission to view it.", field);
	return -1;
}

static int parse_term(struct pstate *P)
{
	struct lexer *L = &P->L;
	if (L->cur.kind == T_LP) {
		next(L);
		int n = 0;
		bool all_user = true;
		for (;;) {
			bool is_user;
			if (parse_simple(P, &is_user) < 0)
				return -1;
			all_user &= is_user;
			n++;
			if (is_word(L, "or")) {
				next(L);
				continue;
			}
			break;
		}
		if (L->cur.kind != T_RP) {
			fail(L,
			     "Error in the JQL Query: Expecting ')' but got '%s'. (line 1, character %zu)",
			     tok_desc(&L->cur), L->cur.pos);
			return -1;
		}
		next(L);
		if (n > 1 && !all_user) {
			fail(L,
			     "Error in the JQL Query: the simulator supports OR only between assignee and "
			     "worklogAuthor clauses.");
			return -1;
		}
		if (all_user && ++P->user_groups > 1) {
			fail(L, "Error in the JQL Query: the simulator supports one user group.");
			return -1;
		}
		return 0;
	}
	bool is_user;
	if (parse_simple(P, &is_user) < 0)
		return -1;
	if (is_user && ++P->user_groups > 1) {
		fail(L, "Error in the JQL Query: the simulator supports one user group.");
		return -1;
	}
	return 0;
}

static int parse_order(struct pstate *P)
{
	struct lexer *L = &P->L;
	int n = 0;
	for (;;) {
		if (L->cur.kind != T_WORD) {
			fail(L,
			     "Error in the JQL Query: Expecting a field name but got '%s'. (line 1, "
			     "character %zu)",
			     tok_desc(&L->cur), L->cur.pos);
			return -1;
		}
		char f[64];
		scopy(f, sizeof(f), L->cur.text);
		next(L);
		bool desc = false;
		if (is_word(L, "asc")) {
			next(L);
		} else if (is_word(L, "desc")) {
			desc = true;
			next(L);
		}
		bool ok = !desc &&
			  (n == 0 ? strcasecmp(f, "updated") == 0
				  : (strcasecmp(f, "key") == 0 || strcasecmp(f, "id") == 0));
		if (!ok) {
			fail(L,
			     "Error in the JQL Query: the simulator orders by 'updated ASC' optionally "
			     "followed by 'key ASC' or 'id ASC'.");
			return -1;
		}
		n++;
		if (L->cur.kind == T_COMMA) {
			next(L);
			continue;
		}
		return 0;
	}
}

int jql_parse(const char *text, struct jql *q, char *err, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	q->lo = INT64_MIN;
	q->hi = INT64_MAX;
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	q->hash = h;

	struct pstate P = {{text, 0, {0}, err, errlen, false}, q, false, 0};
	struct lexer *L = &P.L;
	next(L);
	bool any = false;
	while (!L->failed && L->cur.kind != T_END && !is_word(L, "order")) {
		if (any) {
			if (!is_word(L, "and")) {
				fail(L,
				     "Error in the JQL Query: Expecting either 'OR' or 'AND' but got '%s'. "
				     "(line 1, character %zu)",
				     tok_desc(&L->cur), L->cur.pos);
				break;
			}
			next(L);
		}
		if (parse_term(&P) < 0)
			break;
		any = true;
	}
	if (!L->failed && is_word(L, "order")) {
		next(L);
		if (!is_word(L, "by")) {
			fail(L,
			     "Error in the JQL Query: Expecting 'by' but got '%s'. (line 1, character %zu)",
			     tok_desc(&L->cur), L->cur.pos);
		} else {
			next(L);
			if (parse_order(&P) == 0 && L->cur.kind != T_END)
				fail(L,
				     "Error in the JQL Query: Expecting either ',' or the end of the query but "
				     "got '%s'. (line 1, character %zu)",
				     tok_desc(&L->cur), L->cur.pos);
		}
	}
	if (L->failed)
		return -1;
	if (!P.have_project) {
		snprintf(err, errlen,
			 "Unbounded JQL queries are not allowed here. Please add a search "
			 "restriction to your query.");
		return -1;
	}
	return 0;
}

bool jql_match(const struct jql *q, const struct sim_issue *is)
{
	if (!q->project || is->deleted || is->project != (int)(q->project - SIM.projects))
		return false;
	if (is->updated < q->lo || is->updated > q->hi)
		return false;
	if (!q->has_user_filter)
		return true;
	for (size_t i = 0; i < q->n_assignee; i++)
		if (is->assignee == q->users[i])
			return true;
	for (size_t k = 0; k < is->n_worklogs && q->n_worklog; k++) {
		const struct sim_worklog *w = &SIM.worklogs[is->worklogs[k] - SIM_ID_BASE];
		if (w->deleted)
			continue;
		for (size_t i = 0; i < q->n_worklog; i++)
			if (w->author == q->wl_users[i])
				return true;
	}
	return false;
}
