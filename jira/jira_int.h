/*
 * Private to jira/: the client struct and the HTTP layer that the API calls
 * (client.c) are built on. Nothing outside jira/ includes this file.
 */
#ifndef JS_JIRA_INT_H
#define JS_JIRA_INT_H

#include "common/common.h"
#include "jira/jira.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define JIRA_DEFAULT_MAX_BODY ((size_t)64 << 20)

struct jira_client {
	CURL *curl;
	struct curl_slist *headers;
	char *base_url;
	char *email;
	char *api_token;
	char *pat;
	enum jira_flavour flavour;
	bool prepared;
	char *sprint_field;
	long timeout_s;
	long connect_timeout_s;
	long max_attempts;
	long page_size;
	long backoff_base_ms;
	size_t max_body;
	struct jira_stats stats;
	long parallel;
	/* Copies for requests in flight beside this one
	 * (jira_issue_children_many), made on first use. */
	struct jira_client *copies[JIRA_PARALLEL_MAX - 1];
	int n_copies;
	unsigned int rng;
	struct jm_arena *jm; /* parse trees of the call in progress (jsonmem.c) */

	/* The exchange in flight. */
	struct buf body;
	bool too_large;
	char content_type[128];
	char seraph[64];
	char retry_after[64];
	char ratelimit_reset[64];
};

/* A new client for the same site, with c's settings and what c learned
 * from the site (flavour, sprint field); NULL when curl cannot start one. */
struct jira_client *jira_client_copy(const struct jira_client *c);

/* jsonmem.c: cJSON trees parsed between jm_enter and jm_leave live in the
 * arena; nothing parsed inside may be used after jm_leave. */
struct jm_arena;
void jm_install(void);
struct jm_arena *jm_new(void);
void jm_free_arena(struct jm_arena *a);
void jm_enter(struct jm_arena *a);
void jm_leave(struct jm_arena *a);

/*
 * One JSON exchange with retries: method ("GET"/"POST"), target = path and
 * query ("/rest/api/3/field?x=1"; values already escaped), json_body for
 * POST (NULL for GET). On 0, *out is the parsed body (caller deletes). On -1,
 * err is classified (err->http_status tells a 400 from a 404). Retries
 * retryable failures up to max_attempts with back-off, and a 2xx whose body
 * is not JSON once.
 */
int jira_http_json(struct jira_client *c, const char *method, const char *target,
		   const char *json_body, cJSON **out, struct jira_error *err) JS_WUR;

/* The path of target without its query string, for messages. */
void jira_target_path(const char *target, char *out, size_t outlen);

/* A 2xx whose JSON lacks what we need: SCHEMA_CHANGE naming the field. */
void jira_schema_error(struct jira_error *err, const char *method, const char *target,
		       const char *what);

/* Escape one query-string value (curl_easy_escape); appends to out. */
int jira_put_escaped(struct jira_client *c, struct buf *out, const char *value) JS_WUR;

/* JQL with or without the ORDER BY clause (counts do not need it). */
int jira_jql_build(const struct jira_query *q, bool order, struct buf *out, char *err,
		   size_t errlen) JS_WUR;

#endif
