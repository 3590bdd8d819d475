/*
 * jira: the Jira REST client (Cloud search/jql and Data Center search), its
 * pagination, retries, ADF -> text, JQL building, and the error classifier.
 * One struct jira_client per thread: it owns a libcurl easy handle that keeps
 * connections alive between requests.
 *
 * Every function that talks to Jira returns 0 on success or -1 with *err
 * filled by the classifier (code, retryable, category, guidance).
 */
#ifndef JS_JIRA_H
#define JS_JIRA_H

#include "common/model.h"

/* ---- classification ------------------------------------------------------ */
/* The canonical failure codes (DESIGN.md). */
/* clang-format off */
#define JIRA_CODES(X)                                                                     \
	X(AUTH_EXPIRED) X(FORBIDDEN) X(SUSPENDED_PAYMENT) X(SITE_UNAVAILABLE) X(NOT_FOUND)   \
	X(INVALID_QUERY) X(RATE_LIMIT) X(JIRA_UNAVAILABLE) X(API_REMOVED) X(SCHEMA_CHANGE)   \
	X(NETWORK_GLITCH) X(TLS_ERROR) X(DB_UNAVAILABLE) X(QUEUE_UNAVAILABLE) X(CONFIG_ERROR) \
	X(INTERNAL)

enum jira_code {
	JIRA_OK = 0,
#define JIRA_CODE_ENUM(c) JIRA_##c,
	JIRA_CODES(JIRA_CODE_ENUM)
#undef JIRA_CODE_ENUM
	JIRA_N_CODES
};
/* clang-format on */

struct jira_error {
	enum jira_code code;
	bool retryable;
	int http_status;        /* 0 when no HTTP response */
	int64_t retry_after_ms; /* from Retry-After / X-RateLimit-Reset; 0 if none */
	char message[512];      /* what happened: "GET /rest/api/3/field: HTTP 401 ..." */
};

/* What the classifier looks at: one finished (or failed) HTTP exchange. */
struct jira_http_result {
	int curl_code;            /* CURLcode; 0 when a response arrived */
	long status;              /* HTTP status; 0 when none */
	const char *content_type; /* may be NULL */
	const char *body;         /* may be NULL; not NUL-terminated beyond body_len */
	size_t body_len;
	const char *seraph_login_reason; /* X-Seraph-LoginReason, may be NULL */
	const char *retry_after;         /* Retry-After, may be NULL */
	const char *ratelimit_reset;     /* X-RateLimit-Reset, may be NULL */
	const char *method;
	const char *path;
	bool json_parse_failed; /* a 2xx whose body was not the JSON we expected */
	bool body_too_large;    /* the body passed opts.max_body_bytes (curl_code = WRITE_ERROR) */
};

/*
 * Classify one exchange. Pure: no I/O, no allocation. JIRA_OK for a 2xx
 * that parsed (and no X-Seraph-LoginReason failure). Decisions beyond the
 * obvious: a 500 "Search limit exceeded"/max result window is INVALID_QUERY
 * (deterministic, caused by the query's offset; retrying cannot help); a
 * 2xx with unparsable or incomplete JSON is SCHEMA_CHANGE, not retryable
 * (the HTTP layer alone re-sends once a 2xx whose body is not JSON at all,
 * as that is usually a truncated transfer); 3xx (the client never follows
 * redirects) is SITE_UNAVAILABLE (renamed/moved site); 405 is API_REMOVED;
 * another 4xx is INTERNAL; curl WRITE_ERROR (body over the limit) is
 * INTERNAL. retry_after_ms is set for 429/503 from Retry-After, else
 * X-RateLimit-Reset, clamped to [1 s, 120 s].
 */
void jira_classify(const struct jira_http_result *r, struct jira_error *out);
/* Stable name ("AUTH_EXPIRED") and its properties. */
const char *jira_code_name(enum jira_code code);
int jira_code_from_name(const char *name, enum jira_code *out) JS_WUR;
bool jira_code_retryable(enum jira_code code);
/* Alert category: "auth", "billing", "availability", "rate_limit", "network",
 * "config", "bug", "infrastructure". */
const char *jira_code_category(enum jira_code code);
/* One sentence telling a human what to do. */
const char *jira_code_guidance(enum jira_code code);
/* Fill err for a non-HTTP failure (DB down, config, internal). */
void jira_error_set(struct jira_error *err, enum jira_code code, const char *fmt, ...)
	JS_PRINTF(3, 4);

/* ---- pure helpers (unit-tested) ----------------------------------------- */
/* Flatten an ADF document (cJSON*) into text; appends to out. Never fails on
 * unknown nodes: they keep their text. Returns -1 only if out overflows. */
struct cJSON;
int jira_adf_to_text(const struct cJSON *adf, struct buf *out) JS_WUR;

/* Project keys: ^[A-Z][A-Z0-9_]+$, at most 255. Account ids: [A-Za-z0-9:_.@-]
 * up to 128 characters. Nothing else enters JQL. */
bool jira_valid_project_key(const char *key);
bool jira_valid_account_id(const char *id);

struct jira_query {
	const char *project_key;
	int64_t updated_since_ms;       /* JS_TIME_NULL: no lower bound (full) */
	const char *const *account_ids; /* tracked users; n = 0: whole project */
	size_t n_account_ids;
	bool ids_only; /* reconciliation: fields=id, big pages */
};
/*
 * Build the JQL: project = "KEY" [AND updated >= <epoch ms>]
 * [AND (assignee in ("a","b") OR worklogAuthor in ("a","b"))] ORDER BY updated ASC, key ASC
 * (both flavours). Appends to out. -1 and a message in err (out untouched)
 * for an invalid key or account id; JQL words (AND, OR, ORDER, EMPTY, ...)
 * are refused as keys and ids too.
 */
int jira_build_jql(const struct jira_query *q, struct buf *out, char *err, size_t errlen) JS_WUR;

/* Parse one issue object (as in search results) into rows of b: the issue,
 * its users, embedded comments and worklogs when complete (otherwise the
 * issue id goes into comment_overflow / worklog_overflow), sprint ids from
 * sprint_field (NULL: none). 0 or -1 when a required field is missing
 * (SCHEMA_CHANGE). */
int jira_parse_issue(const struct cJSON *issue, const char *sprint_field, struct batch *b,
		     struct jira_error *err) JS_WUR;
int jira_parse_comment(const struct cJSON *c, int64_t issue_id, struct batch *b,
		       struct jira_error *err) JS_WUR;
int jira_parse_worklog(const struct cJSON *w, int64_t issue_id, struct batch *b,
		       struct jira_error *err) JS_WUR;
int jira_parse_sprint(const struct cJSON *s, struct batch *b, struct jira_error *err) JS_WUR;
/* Sprint ids from a sprint field value: Cloud objects or Server strings
 * ("com.atlassian.greenhopper.service.sprint.Sprint@..[id=266,...]"). */
size_t jira_parse_sprint_field(const struct cJSON *v, int64_t *ids, size_t max_ids);

/* ---- the client --------------------------------------------------------- */
struct jira_opts {
	const char *base_url; /* no trailing slash */
	const char *email;    /* Cloud: Basic email:api_token */
	const char *api_token;
	const char *pat;           /* Data Center: Bearer */
	enum jira_flavour flavour; /* AUTO: ask serverInfo */
	long timeout_s;
	long connect_timeout_s;
	long max_attempts; /* per request, including the first */
	long page_size;    /* issues per search page (<= 100) */
	/* Optional (0 = default): first retry delay, doubled per attempt with
	 * jitter and capped at 30 s (default 500 ms); largest response body
	 * accepted (default 64 MiB). */
	long backoff_base_ms;
	size_t max_body_bytes;
	/* Requests in flight at once where a step reads many issues' sets
	 * (jira_issue_children_many); 0 or 1: one at a time. */
	long parallel;
};

struct jira_client;
/* Process-wide set-up (libcurl, the JSON allocator hooks): call it in main()
 * before starting threads; jira_client_new calls it too. */
void jira_global_init(void);
struct jira_client *jira_client_new(const struct jira_opts *o);
void jira_client_free(struct jira_client *c);

/* Resolve the flavour (serverInfo) and the sprint field (/field). Called
 * once; the results are cached in the client. */
int jira_prepare(struct jira_client *c, struct jira_error *err) JS_WUR;
enum jira_flavour jira_flavour_of(const struct jira_client *c);
const char *jira_sprint_field(const struct jira_client *c); /* may be NULL */

/* Counters since the client was created. */
struct jira_stats {
	int64_t requests;
	int64_t bytes;
	int64_t retries;
};
void jira_get_stats(const struct jira_client *c, struct jira_stats *out);

/*
 * One page of the issue search. *cursor is opaque to the caller: NULL or ""
 * on the first page; on return it holds the next page's cursor (malloc'd;
 * the caller frees the old one) or NULL when this was the last page. Cloud:
 * the nextPageToken (an empty page that still has a token, or the same
 * token twice, ends the search with a warning). Data Center: a keyset
 * position "dc:<updated ms>:<startAt>:<ids seen at that ms>" that restarts
 * the JQL at `updated >= <ms>` instead of deep offsets; startAt is used only
 * inside one updated value shared by a whole page, and a search that would
 * need an offset past 10,000 fails with INVALID_QUERY. The page's rows go
 * into b (appended; b->max_updated_ms, b->requests, b->bytes updated); on
 * failure b is as it was. Never assumes a full page. q->ids_only makes it
 * jira_search_ids.
 */
int jira_search_page(struct jira_client *c, const struct jira_query *q, char **cursor,
		     struct batch *b, struct jira_error *err) JS_WUR;

/* Reconciliation: one page of issue ids only (large pages). Same cursor
 * contract; ids appended to b->deleted_ids (used here as "ids seen"). */
int jira_search_ids(struct jira_client *c, const struct jira_query *q, char **cursor,
		    struct batch *b, struct jira_error *err) JS_WUR;

/* Approximate count of the query's issues (Cloud approximate-count; DC total
 * from a maxResults=0 search). -1 on failure. */
int jira_count(struct jira_client *c, const struct jira_query *q, int64_t *count,
	       struct jira_error *err) JS_WUR;

/* Every comment / worklog of one issue (pages /issue/{id}/comment and
 * /issue/{id}/worklog until done), appended to b. */
int jira_issue_comments(struct jira_client *c, int64_t issue_id, struct batch *b,
			struct jira_error *err) JS_WUR;
int jira_issue_worklogs(struct jira_client *c, int64_t issue_id, struct batch *b,
			struct jira_error *err) JS_WUR;
/*
 * The complete comment (comments) or worklog sets of n issues, as the two
 * calls above read them one issue after another, with up to the client's
 * `parallel` requests in flight: this client and copies of it, made on
 * first use and kept with it (their connections are reused; their
 * requests count in jira_get_stats). Rows are appended to b in the order
 * of ids, and done gets, in that order, the issues whose set was read (a
 * 404, an issue gone, is skipped). -1 with err, the first failure in the
 * order of ids; b then holds nothing of this call.
 */
int jira_issue_children_many(struct jira_client *c, bool comments, const int64_t *ids, size_t n,
			     struct batch *b, int64_t *done, size_t *n_done,
			     struct jira_error *err) JS_WUR;

/* Known comments (comment/list) or worklogs (worklog/list) re-read by id, at
 * most JIRA_LIST_IDS_MAX in one request: issue_ids[i] is the issue ids[i]
 * belongs to. Rows that no longer exist are simply absent. Appended to b. */
#define JIRA_LIST_IDS_MAX 1000
int jira_children_by_ids(struct jira_client *c, bool comments, const int64_t *ids,
			 const int64_t *issue_ids, size_t n, struct batch *b,
			 struct jira_error *err) JS_WUR;

/* Worklog ids deleted since since_ms (/worklog/deleted, follows nextPage up
 * to max_pages pages). Ids go to b->deleted_ids; *until_ms gets the feed's
 * "until" to store as the next since. */
int jira_worklogs_deleted(struct jira_client *c, int64_t since_ms, int max_pages, struct batch *b,
			  int64_t *until_ms, struct jira_error *err) JS_WUR;

/* All sprints of the project's boards (kanban boards' 400 skipped),
 * deduplicated by id, into b->sprints. */
int jira_project_sprints(struct jira_client *c, const char *project_key, struct batch *b,
			 struct jira_error *err) JS_WUR;

/* Like jira_project_sprints; open_only asks only for active and future
 * sprints (state=active,future): the cheap refresh of incremental runs. */
int jira_project_sprints_ex(struct jira_client *c, const char *project_key, bool open_only,
			    struct batch *b, struct jira_error *err) JS_WUR;
/* One sprint by id (/rest/agile/1.0/sprint/{id}) into b->sprints. */
int jira_sprint_get(struct jira_client *c, int64_t sprint_id, struct batch *b,
		    struct jira_error *err) JS_WUR;

/* Use a flavour and sprint field known from an earlier jira_prepare (a
 * cache) instead of asking Jira; marks the client prepared unless flavour
 * is AUTO. */
void jira_set_site(struct jira_client *c, enum jira_flavour flavour, const char *sprint_field);
bool jira_prepared(const struct jira_client *c);

/* Admin look-ups for the console: projects matching query, users of a
 * project matching query. Results as a cJSON array the caller deletes:
 * [{"key","name","id"}] / [{"accountId","displayName","emailAddress"}]. */
int jira_find_projects(struct jira_client *c, const char *query, struct cJSON **out,
		       struct jira_error *err) JS_WUR;
int jira_find_project_users(struct jira_client *c, const char *project_key, const char *query,
			    struct cJSON **out, struct jira_error *err) JS_WUR;
/* GET /myself: checks the credentials. */
int jira_myself(struct jira_client *c, struct cJSON **out, struct jira_error *err) JS_WUR;

#endif
