/*
 * JQL building. Nothing from outside enters a query except validated project
 * keys and account ids, always quoted, and integers we format ourselves.
 * Time bounds are unquoted epoch milliseconds: absolute, so the time zone of
 * the sync account can never shift the window (a date string would be read
 * in the account's zone and silently skip updates).
 */
#include "common/common.h"
#include "jira/jira.h"
#include "jira/jira_int.h"

#include <ctype.h>

/* Words JQL gives a meaning to; refused as keys and ids even though they are
 * always quoted, so a typo'd setting never reads like a query. */
static const char *const jql_words[] = {
	"AND", "OR",  "NOT",     "EMPTY", "NULL",  "ORDER",  "BY",     "ASC",  "DESC", "IN",
	"IS",  "WAS", "CHANGED", "ON",    "AFTER", "BEFORE", "DURING", "FROM", "TO",
};

static bool is_jql_word(const char *s)
{
	for (size_t i = 0; i < JS_ARRAY_LEN(jql_words); i++)
		if (strcasecmp(s, jql_words[i]) == 0)
			return true;
	return false;
}

bool jira_valid_project_key(const char *key)
{
	if (!key || !isupper((unsigned char)key[0]))
		return false;
	size_t n = 1;
	for (; key[n]; n++) {
		char ch = key[n];
		if (!(isupper((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '_'))
			return false;
		if (n >= 255)
			return false;
	}
	return n >= 2 && !is_jql_word(key);
}

bool jira_valid_account_id(const char *id)
{
	if (!id || !*id)
		return false;
	size_t n = 0;
	for (; id[n]; n++) {
		char ch = id[n];
		if (!(isalnum((unsigned char)ch) || ch == ':' || ch == '_' || ch == '.' ||
		      ch == '@' || ch == '-'))
			return false;
		if (n >= 128)
			return false;
	}
	return !is_jql_word(id);
}

static int put_list(struct buf *out, const struct jira_query *q)
{
	int rc = buf_putc(out, '(');
	for (size_t i = 0; i < q->n_account_ids; i++)
		rc |= buf_printf(out, "%s\"%s\"", i ? "," : "", q->account_ids[i]);
	return rc | buf_putc(out, ')');
}

int jira_jql_build(const struct jira_query *q, bool order, struct buf *out, char *err,
		   size_t errlen)
{
	if (!q || !jira_valid_project_key(q->project_key)) {
		snprintf(err, errlen,
			 "invalid project key '%.64s': expected upper-case letters, digits or '_'",
			 q && q->project_key ? q->project_key : "");
		return -1;
	}
	if (q->n_account_ids > 0 && !q->account_ids) {
		snprintf(err, errlen, "account ids missing");
		return -1;
	}
	for (size_t i = 0; i < q->n_account_ids; i++) {
		if (!jira_valid_account_id(q->account_ids[i])) {
			snprintf(err, errlen, "invalid account id '%.64s'",
				 q->account_ids[i] ? q->account_ids[i] : "");
			return -1;
		}
	}
	struct buf tmp;
	buf_init(&tmp, out->max);
	int rc = buf_printf(&tmp, "project = \"%s\"", q->project_key);
	if (q->updated_since_ms != JS_TIME_NULL)
		rc |= buf_printf(&tmp, " AND updated >= %" PRId64, q->updated_since_ms);
	if (q->n_account_ids > 0) {
		rc |= buf_puts(&tmp, " AND (assignee in ");
		rc |= put_list(&tmp, q);
		rc |= buf_puts(&tmp, " OR worklogAuthor in ");
		rc |= put_list(&tmp, q);
		rc |= buf_putc(&tmp, ')');
	}
	if (order)
		rc |= buf_puts(&tmp, " ORDER BY updated ASC, key ASC");
	if (rc == 0)
		rc = buf_append(out, tmp.data, tmp.len);
	buf_release(&tmp);
	if (rc) {
		snprintf(err, errlen, "query too long");
		return -1;
	}
	return 0;
}

int jira_build_jql(const struct jira_query *q, struct buf *out, char *err, size_t errlen)
{
	return jira_jql_build(q, true, out, err, errlen);
}
