/*
 * Configuration: every setting comes from the environment and can be
 * overridden by a flag (config_set). A missing or malformed setting is one
 * line naming it; the binary exits with EXIT_CONFIG (78). Secrets are held
 * here and nowhere else, and no function in this file prints them.
 */
#include "common/common.h"

#include <ctype.h>

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
	return 0;
}

static bool valid_http_url(const char *v)
{
	return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
}

/* One setting: its name, and how to store and check a value. */
struct setting {
	const char *name;
	int (*apply)(struct config *c, const char *v, char *err, size_t errlen);
	const char *defval; /* NULL: no default */
};

#define STR_SETTING(fn, field)                                                   \
	static int fn(struct config *c, const char *v, char *err, size_t errlen) \
	{                                                                        \
		(void)err;                                                       \
		(void)errlen;                                                    \
		return set_str(&c->field, v);                                    \
	}
STR_SETTING(set_jira_email, jira_email)
STR_SETTING(set_jira_api_token, jira_api_token)
STR_SETTING(set_jira_pat, jira_pat)
STR_SETTING(set_listen_addr, listen_addr)
STR_SETTING(set_admin_token, admin_token)
STR_SETTING(set_read_token, read_token)
STR_SETTING(set_smtp_user, smtp_user)
STR_SETTING(set_smtp_password, smtp_password)
STR_SETTING(set_alert_email_from, alert_email_from)
STR_SETTING(set_alert_email_to, alert_email_to)
STR_SETTING(set_sync_default_cron, sync_default_cron)

static int set_database_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "postgres://", 11) && strncmp(v, "postgresql://", 13) && !strchr(v, '=')) {
		snprintf(
			err, errlen,
			"invalid DATABASE_URL: expected postgres://... or a libpq conninfo string");
		return -1;
	}
	return set_str(&c->database_url, v);
}

static int set_redis_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "redis://", 8) && strncmp(v, "unix://", 7)) {
		snprintf(err, errlen,
			 "invalid REDIS_URL: expected redis://host:port or unix:///path");
		return -1;
	}
	return set_str(&c->redis_url, v);
}

static int set_jira_base_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (!valid_http_url(v)) {
		snprintf(err, errlen, "invalid JIRA_BASE_URL: expected http:// or https://");
		return -1;
	}
	size_t n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	free(c->jira_base_url);
	c->jira_base_url = xstrndup(v, n);
	return 0;
}

static int set_http_url(char **dst, const char *name, const char *v, char *err, size_t errlen)
{
	if (!valid_http_url(v)) {
		snprintf(err, errlen, "invalid %s: expected http:// or https://", name);
		return -1;
	}
	return set_str(dst, v);
}

static int set_webhook(struct config *c, const char *v, char *err, size_t errlen)
{
	return set_http_url(&c->alert_webhook_url, "ALERT_WEBHOOK_URL", v, err, errlen);
}

static int set_smtp_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8)) {
		snprintf(err, errlen,
			 "invalid SMTP_URL: expected smtp://host:port or smtps://host:port");
		return -1;
	}
	return set_str(&c->smtp_url, v);
}

static int set_flavour(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "cloud") == 0)
		c->jira_flavour = JIRA_FLAVOUR_CLOUD;
	else if (strcmp(v, "datacenter") == 0 || strcmp(v, "dc") == 0 || strcmp(v, "server") == 0)
		c->jira_flavour = JIRA_FLAVOUR_DC;
	else if (strcmp(v, "auto") == 0)
		c->jira_flavour = JIRA_FLAVOUR_AUTO;
	else {
		snprintf(err, errlen,
			 "invalid JIRA_FLAVOUR '%s': expected cloud, datacenter or auto", v);
		return -1;
	}
	return 0;
}

#define RANGE_SETTING(fn, field, name, lo, hi)                                                    \
	static int fn(struct config *c, const char *v, char *err, size_t errlen)                  \
	{                                                                                         \
		if (parse_int_range(v, lo, hi, &c->field) < 0) {                                  \
			snprintf(err, errlen,                                                     \
				 "invalid %s '%s': expected an integer from %ld to %ld", name, v, \
				 (long)(lo), (long)(hi));                                         \
			return -1;                                                                \
		}                                                                                 \
		return 0;                                                                         \
	}
RANGE_SETTING(set_concurrency, worker_concurrency, "WORKER_CONCURRENCY", 1, 256)
RANGE_SETTING(set_lookback, lookback_minutes, "SYNC_LOOKBACK_MINUTES", 0, 10080)
RANGE_SETTING(set_timeout, http_timeout_s, "JIRA_TIMEOUT_SECONDS", 1, 3600)
RANGE_SETTING(set_connect_timeout, http_connect_timeout_s, "JIRA_CONNECT_TIMEOUT_SECONDS", 1, 600)
RANGE_SETTING(set_attempts, http_max_attempts, "JIRA_MAX_ATTEMPTS", 1, 10)
RANGE_SETTING(set_page_size, page_size, "JIRA_PAGE_SIZE", 1, 100)
RANGE_SETTING(set_parallel, http_parallel, "JIRA_PARALLEL_REQUESTS", 1, JIRA_PARALLEL_MAX)
RANGE_SETTING(set_visibility, engine_visibility_ms, "ENGINE_VISIBILITY_MS", 200, 3600000)
RANGE_SETTING(set_max_deliveries, engine_max_deliveries, "ENGINE_MAX_DELIVERIES", 1, 1000)
RANGE_SETTING(set_grace, worker_grace_ms, "WORKER_GRACE_MS", 0, 600000)
RANGE_SETTING(set_lease, scheduler_lease_ms, "SCHEDULER_LEASE_MS", 10, 3600000)
RANGE_SETTING(set_tick, scheduler_tick_ms, "SCHEDULER_TICK_MS", 10, 3600000)
RANGE_SETTING(set_reconcile_grace, scheduler_reconcile_grace_ms, "SCHEDULER_RECONCILE_GRACE_MS", 10,
	      3600000)

static int set_reconcile(struct config *c, const char *v, char *err, size_t errlen)
{
	if (parse_duration_s(v, &c->reconcile_every_s) < 0) {
		snprintf(err, errlen,
			 "invalid RECONCILE_EVERY '%s': expected a duration like 24h, 30m or 3600",
			 v);
		return -1;
	}
	return 0;
}

static int set_sprint_refresh(struct config *c, const char *v, char *err, size_t errlen)
{
	if (parse_duration_s(v, &c->sprint_refresh_s) < 0) {
		snprintf(err, errlen,
			 "invalid SPRINT_REFRESH_EVERY '%s': expected a duration like 1h, 15m or 0",
			 v);
		return -1;
	}
	return 0;
}

static const struct setting settings[] = {
	{"DATABASE_URL", set_database_url, NULL},
	{"REDIS_URL", set_redis_url, NULL},
	{"JIRA_BASE_URL", set_jira_base_url, NULL},
	{"JIRA_EMAIL", set_jira_email, NULL},
	{"JIRA_API_TOKEN", set_jira_api_token, NULL},
	{"JIRA_PAT", set_jira_pat, NULL},
	{"JIRA_FLAVOUR", set_flavour, "auto"},
	{"SYNC_DEFAULT_CRON", set_sync_default_cron, "*/15 * * * *"},
	{"WORKER_CONCURRENCY", set_concurrency, "4"},
	{"LISTEN_ADDR", set_listen_addr, "127.0.0.1:8080"},
	{"ADMIN_TOKEN", set_admin_token, NULL},
	{"READ_TOKEN", set_read_token, NULL},
	{"SMTP_URL", set_smtp_url, NULL},
	{"SMTP_USER", set_smtp_user, NULL},
	{"SMTP_PASSWORD", set_smtp_password, NULL},
	{"ALERT_EMAIL_FROM", set_alert_email_from, NULL},
	{"ALERT_EMAIL_TO", set_alert_email_to, NULL},
	{"ALERT_WEBHOOK_URL", set_webhook, NULL},
	{"SYNC_LOOKBACK_MINUTES", set_lookback, "5"},
	{"RECONCILE_EVERY", set_reconcile, "24h"},
	{"SPRINT_REFRESH_EVERY", set_sprint_refresh, "1h"},
	{"JIRA_TIMEOUT_SECONDS", set_timeout, "60"},
	{"JIRA_CONNECT_TIMEOUT_SECONDS", set_connect_timeout, "10"},
	{"JIRA_MAX_ATTEMPTS", set_attempts, "3"},
	{"JIRA_PAGE_SIZE", set_page_size, "100"},
	{"JIRA_PARALLEL_REQUESTS", set_parallel, "4"},
	{"ENGINE_VISIBILITY_MS", set_visibility, "30000"},
	{"ENGINE_MAX_DELIVERIES", set_max_deliveries, "5"},
	{"WORKER_GRACE_MS", set_grace, "30000"},
	{"SCHEDULER_LEASE_MS", set_lease, "10000"},
	{"SCHEDULER_TICK_MS", set_tick, "1000"},
	{"SCHEDULER_RECONCILE_GRACE_MS", set_reconcile_grace, "5000"},
};

int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < JS_ARRAY_LEN(settings); i++)
		if (strcmp(settings[i].name, name) == 0)
			return settings[i].apply(c, value, err, errlen);
	snprintf(err, errlen, "unknown setting '%s'", name);
	return -1;
}

int config_load(struct config *c, unsigned need, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < JS_ARRAY_LEN(settings); i++) {
		const char *v = getenv(settings[i].name);
		if (!v || !*v)
			v = settings[i].defval;
		if (v && settings[i].apply(c, v, err, errlen) < 0)
			return -1;
	}
	if ((need & JS_NEED_DB) && !c->database_url) {
		snprintf(err, errlen,
			 "missing DATABASE_URL: set it to the PostgreSQL connection URL");
		return -1;
	}
	if ((need & JS_NEED_REDIS) && !c->redis_url) {
		snprintf(err, errlen, "missing REDIS_URL: set it to redis://host:port");
		return -1;
	}
	if (need & JS_NEED_JIRA) {
		if (!c->jira_base_url) {
			snprintf(
				err, errlen,
				"missing JIRA_BASE_URL: set it to https://your-site.atlassian.net or your Data Center URL");
			return -1;
		}
		if (c->jira_api_token && !c->jira_email) {
			snprintf(err, errlen,
				 "missing JIRA_EMAIL: JIRA_API_TOKEN needs the account's email");
			return -1;
		}
		if (!c->jira_api_token && !c->jira_pat) {
			snprintf(
				err, errlen,
				"missing JIRA_API_TOKEN (Cloud, with JIRA_EMAIL) or JIRA_PAT (Data Center)");
			return -1;
		}
	}
	if ((c->alert_email_to || c->alert_email_from) && !c->smtp_url) {
		snprintf(err, errlen, "missing SMTP_URL: ALERT_EMAIL_TO needs an SMTP server");
		return -1;
	}
	return 0;
}

void config_release(struct config *c)
{
	char **strs[] = {&c->database_url,      &c->redis_url,        &c->jira_base_url,
			 &c->jira_email,        &c->jira_api_token,   &c->jira_pat,
			 &c->sync_default_cron, &c->listen_addr,      &c->admin_token,
			 &c->read_token,        &c->smtp_url,         &c->smtp_user,
			 &c->smtp_password,     &c->alert_email_from, &c->alert_email_to,
			 &c->alert_webhook_url};
	for (size_t i = 0; i < JS_ARRAY_LEN(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

char *url_redact(const char *url)
{
	/* scheme://user:password@host -> scheme://user:***@host */
	const char *scheme = strstr(url, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	if (!scheme || !at)
		return xstrdup(url);
	const char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
	if (!colon)
		return xstrdup(url);
	struct buf b;
	buf_init(&b, 0);
	int rc = buf_append(&b, url, (size_t)(colon - url + 1));
	rc |= buf_puts(&b, "***");
	rc |= buf_puts(&b, at);
	(void)rc;
	return buf_detach(&b);
}
