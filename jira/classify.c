/*
 * The error classifier: every failure of a Jira exchange (libcurl code, HTTP
 * status, error body, headers) becomes one canonical code with a retry
 * decision, an alert category and one sentence of guidance. It is pure (no
 * I/O, no allocation) so the signatures of jira-api.md can be unit-tested;
 * the codes travel unchanged into logs, runs, alerts and GraphQL.
 */
#include "common/common.h"
#include "jira/jira.h"

#include <ctype.h>
#include <curl/curl.h>

struct code_info {
	const char *name;
	bool retryable;
	const char *category;
	const char *guidance;
};

static const struct code_info codes[JIRA_N_CODES] = {
	[JIRA_OK] = {"OK", false, "none", "Nothing to do."},
	[JIRA_AUTH_EXPIRED] =
		{"AUTH_EXPIRED", false, "auth",
		 "Create a new Jira API token (Cloud, with JIRA_EMAIL) or personal access token (Data Center), set it and resume the project."},
	[JIRA_FORBIDDEN] =
		{"FORBIDDEN", false, "auth",
		 "Grant the sync account Browse Projects on this project (and Jira Software for sprints), then resume."},
	[JIRA_SUSPENDED_PAYMENT] =
		{"SUSPENDED_PAYMENT", false, "billing",
		 "The Jira site is suspended for non-payment: settle the subscription in Atlassian admin, then resume."},
	[JIRA_SITE_UNAVAILABLE] =
		{"SITE_UNAVAILABLE", false, "availability",
		 "The Jira site is deactivated, renamed or does not exist: check JIRA_BASE_URL and the site's status before resuming."},
	[JIRA_NOT_FOUND] =
		{"NOT_FOUND", false, "config",
		 "The project or issue does not exist or the sync account cannot see it: check the project key and its permissions."},
	[JIRA_INVALID_QUERY] =
		{"INVALID_QUERY", false, "config",
		 "Jira rejected the search: check the project key and tracked users exist and are visible to the sync account."},
	[JIRA_RATE_LIMIT] =
		{"RATE_LIMIT", true, "rate_limit",
		 "Jira is throttling the sync account; it will retry after the advised delay, lower WORKER_CONCURRENCY if this persists."},
	[JIRA_JIRA_UNAVAILABLE] =
		{"JIRA_UNAVAILABLE", true, "availability",
		 "Jira returned a server error or is down; the sync retries with back-off, check Atlassian's status page if it persists."},
	[JIRA_API_REMOVED] = {"API_REMOVED", false, "bug",
			      "Jira removed an endpoint this version uses: upgrade jirasync."},
	[JIRA_SCHEMA_CHANGE] =
		{"SCHEMA_CHANGE", false, "bug",
		 "Jira answered with JSON this version does not understand: report it with the sync log and upgrade jirasync."},
	[JIRA_NETWORK_GLITCH] =
		{"NETWORK_GLITCH", true, "network",
		 "The connection to Jira failed or timed out; the sync retries, check DNS, proxy and firewall if it persists."},
	[JIRA_TLS_ERROR] =
		{"TLS_ERROR", false, "network",
		 "The TLS handshake with Jira failed: check the site's certificate and the system CA bundle."},
	[JIRA_DB_UNAVAILABLE] =
		{"DB_UNAVAILABLE", true, "infrastructure",
		 "PostgreSQL is unreachable: check DATABASE_URL and the database server."},
	[JIRA_QUEUE_UNAVAILABLE] = {"QUEUE_UNAVAILABLE", true, "infrastructure",
				    "Redis is unreachable: check REDIS_URL and the Redis server."},
	[JIRA_CONFIG_ERROR] =
		{"CONFIG_ERROR", false, "config",
		 "A setting is missing or malformed: fix it as the message says and restart."},
	[JIRA_INTERNAL] = {"INTERNAL", false, "bug",
			   "An internal error: report it with the sync log."},
};

const char *jira_code_name(enum jira_code code)
{
	if ((int)code < 0 || code >= JIRA_N_CODES)
		return "INTERNAL";
	return codes[code].name;
}

int jira_code_from_name(const char *name, enum jira_code *out)
{
	if (!name)
		return -1;
	for (int i = 0; i < JIRA_N_CODES; i++) {
		if (strcmp(codes[i].name, name) == 0) {
			*out = (enum jira_code)i;
			return 0;
		}
	}
	return -1;
}

bool jira_code_retryable(enum jira_code code)
{
	if ((int)code < 0 || code >= JIRA_N_CODES)
		return false;
	return codes[code].retryable;
}

const char *jira_code_category(enum jira_code code)
{
	if ((int)code < 0 || code >= JIRA_N_CODES)
		return "bug";
	return codes[code].category;
}

const char *jira_code_guidance(enum jira_code code)
{
	if ((int)code < 0 || code >= JIRA_N_CODES)
		return codes[JIRA_INTERNAL].guidance;
	return codes[code].guidance;
}

void jira_error_set(struct jira_error *err, enum jira_code code, const char *fmt, ...)
{
	if (!err)
		return;
	memset(err, 0, sizeof *err);
	err->code = code;
	err->retryable = jira_code_retryable(code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

/* ---- helpers over a body that is not NUL-terminated --------------------- */

/* Case-insensitive search for needle in (hay, len). */
static bool body_has(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (!hay || n == 0 || n > len)
		return false;
	for (size_t i = 0; i + n <= len; i++) {
		size_t j = 0;
		while (j < n &&
		       tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

static bool header_is(const char *v, const char *want)
{
	if (!v)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(want);
	return strncasecmp(v, want, n) == 0 &&
	       (v[n] == '\0' || v[n] == ' ' || v[n] == '\r' || v[n] == '\n' || v[n] == ';');
}

/*
 * A short, printable excerpt of the error body for the message: the first
 * "errorMessages" entry, "errorMessage" or "message" when the body is JSON
 * we can read, else the first characters of text with tags skipped. Only
 * what Jira said; our request (and its credentials) never enters it.
 */
static void body_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!body || len == 0 || outlen < 2)
		return;
	static const char *const keys[] = {"\"errorMessages\"", "\"errorMessage\"", "\"message\""};
	const char *start = NULL;
	for (size_t k = 0; k < JS_ARRAY_LEN(keys) && !start; k++) {
		size_t kl = strlen(keys[k]);
		for (size_t i = 0; i + kl <= len; i++) {
			if (memcmp(body + i, keys[k], kl) == 0) {
				size_t p = i + kl;
				while (p < len &&
				       (body[p] == ' ' || body[p] == ':' || body[p] == '['))
					p++;
				if (p < len && body[p] == '"') {
					start = body + p + 1;
					break;
				}
			}
		}
	}
	size_t o = 0;
	if (start) {
		for (const char *p = start; p < body + len && o + 1 < outlen && o < 200; p++) {
			if (*p == '"')
				break;
			if (*p == '\\' && p + 1 < body + len) {
				p++;
				if (*p == 'u') /* keep it simple: drop escapes */
					continue;
			}
			out[o++] = (unsigned char)*p < 0x20 ? ' ' : *p;
		}
	} else {
		bool in_tag = false, space = false;
		for (size_t i = 0; i < len && o + 1 < outlen && o < 160; i++) {
			char ch = body[i];
			if (ch == '<') {
				in_tag = true;
				continue;
			}
			if (in_tag) {
				if (ch == '>')
					in_tag = false;
				continue;
			}
			if ((unsigned char)ch <= ' ') {
				if (o > 0 && !space)
					out[o++] = ' ';
				space = true;
				continue;
			}
			space = false;
			out[o++] = ch;
		}
		while (o > 0 && out[o - 1] == ' ')
			o--;
	}
	out[o] = '\0';
}

/* Parse Retry-After: delta seconds (an HTTP date is not worth supporting:
 * Jira sends seconds). Clamped to [1 s, 120 s]; DC sends 0 and Atlassian has
 * sent Long.MAX. -1 when absent or unreadable. */
static int64_t parse_retry_after(const char *v)
{
	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	int64_t secs = 0;
	for (; isdigit((unsigned char)*v); v++) {
		if (secs < 1000000)
			secs = secs * 10 + (*v - '0');
	}
	if (secs < 1)
		secs = 1;
	if (secs > 120)
		secs = 120;
	return secs * 1000;
}

/* X-RateLimit-Reset: an ISO-8601 instant ("2026-04-02T10:15Z"); the wait is
 * the distance from now, clamped like Retry-After. */
static int64_t parse_ratelimit_reset(const char *v)
{
	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	char tmp[64];
	size_t n = 0;
	while (v[n] && v[n] != '\r' && v[n] != '\n' && n + 1 < sizeof tmp) {
		tmp[n] = v[n];
		n++;
	}
	while (n > 0 && tmp[n - 1] == ' ')
		n--;
	tmp[n] = '\0';
	int64_t at;
	if (jtime_parse(tmp, &at) < 0)
		return -1;
	int64_t wait = at - now_ms();
	if (wait < 1000)
		wait = 1000;
	if (wait > 120000)
		wait = 120000;
	return wait;
}

static enum jira_code classify_curl(int cc)
{
	switch ((CURLcode)cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return JIRA_TLS_ERROR;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_LOGIN_DENIED:
		return JIRA_CONFIG_ERROR;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_FAILED_INIT:
	case CURLE_WRITE_ERROR: /* our write callback refused: body over the limit */
		return JIRA_INTERNAL;
	case CURLE_TOO_MANY_REDIRECTS:
		return JIRA_SITE_UNAVAILABLE;
	default:
		/* Timeouts, refused connections, resets, empty replies, partial
		 * transfers, DNS failures, HTTP/2 stream errors, bad gzip from a
		 * broken proxy: all transient from where we stand. */
		return JIRA_NETWORK_GLITCH;
	}
}

static enum jira_code classify_status(const struct jira_http_result *r, const char **why)
{
	long s = r->status;
	const char *b = r->body;
	size_t n = b ? r->body_len : 0;
	*why = NULL;

	/* Data Center answers with bad credentials as the anonymous user and
	 * says so in this header, whatever the status. */
	if (header_is(r->seraph_login_reason, "AUTHENTICATED_FAILED") ||
	    header_is(r->seraph_login_reason, "AUTHENTICATION_DENIED")) {
		*why = "login rejected (X-Seraph-LoginReason)";
		return JIRA_AUTH_EXPIRED;
	}
	if (s >= 200 && s < 300) {
		*why = "unexpected response body";
		return JIRA_SCHEMA_CHANGE;
	}
	if (s >= 300 && s < 400) {
		*why = "redirected: the site moved or was renamed";
		return JIRA_SITE_UNAVAILABLE;
	}
	switch (s) {
	case 400:
		return JIRA_INVALID_QUERY;
	case 401:
		return JIRA_AUTH_EXPIRED;
	case 403:
		if (body_has(b, n, "suspended-payment") || body_has(b, n, "Tenant is restricted"))
			return JIRA_SUSPENDED_PAYMENT;
		return JIRA_FORBIDDEN;
	case 404:
		if (body_has(b, n, "Site temporarily unavailable"))
			return JIRA_SITE_UNAVAILABLE;
		return JIRA_NOT_FOUND;
	case 405:
		/* The endpoint no longer takes this method. */
		return JIRA_API_REMOVED;
	case 409:
		/* User search: "the request took longer than 10 s". */
		return JIRA_JIRA_UNAVAILABLE;
	case 410:
		return JIRA_API_REMOVED;
	case 413:
	case 414:
		return JIRA_INVALID_QUERY;
	case 429:
		return JIRA_RATE_LIMIT;
	default:
		break;
	}
	if (s >= 500 && s < 600) {
		/* Deep paging on Data Center: deterministic, the same request
		 * fails again, so retrying only burns attempts. The offset is
		 * part of our query, hence INVALID_QUERY (not a server outage). */
		if (body_has(b, n, "Search limit exceeded") ||
		    body_has(b, n, "max_result_window") || body_has(b, n, "max.result.window") ||
		    body_has(b, n, "max result window")) {
			*why = "search result window (10,000) exceeded";
			return JIRA_INVALID_QUERY;
		}
		return JIRA_JIRA_UNAVAILABLE;
	}
	/* Any other 4xx: a request we should not have made. */
	return JIRA_INTERNAL;
}

void jira_classify(const struct jira_http_result *r, struct jira_error *out)
{
	memset(out, 0, sizeof *out);
	const char *method = r->method ? r->method : "GET";
	const char *path = r->path ? r->path : "?";
	char excerpt[256];
	excerpt[0] = '\0';

	if (r->curl_code != 0) {
		out->code = classify_curl(r->curl_code);
		out->retryable = jira_code_retryable(out->code);
		if (r->curl_code == CURLE_WRITE_ERROR && r->body_too_large)
			snprintf(out->message, sizeof out->message,
				 "%s %s: response body larger than the client's limit", method,
				 path);
		else
			snprintf(out->message, sizeof out->message, "%s %s: %s (curl %d)", method,
				 path, curl_easy_strerror((CURLcode)r->curl_code), r->curl_code);
		return;
	}

	const char *why = NULL;
	out->http_status = (int)r->status;
	if (r->status >= 200 && r->status < 300 && !r->json_parse_failed &&
	    !header_is(r->seraph_login_reason, "AUTHENTICATED_FAILED") &&
	    !header_is(r->seraph_login_reason, "AUTHENTICATION_DENIED")) {
		out->code = JIRA_OK;
		snprintf(out->message, sizeof out->message, "%s %s: HTTP %ld", method, path,
			 r->status);
		return;
	}
	out->code = classify_status(r, &why);
	out->retryable = jira_code_retryable(out->code);
	if (out->code == JIRA_RATE_LIMIT || r->status == 503) {
		int64_t ra = parse_retry_after(r->retry_after);
		if (ra < 0)
			ra = parse_ratelimit_reset(r->ratelimit_reset);
		if (ra > 0)
			out->retry_after_ms = ra;
	}
	if (r->status >= 200 && r->status < 300 && out->code == JIRA_SCHEMA_CHANGE)
		excerpt[0] = '\0';
	else
		body_excerpt(r->body, r->body_len, excerpt, sizeof excerpt);
	snprintf(out->message, sizeof out->message, "%s %s: HTTP %ld%s%s%s%s", method, path,
		 r->status, why ? ": " : "", why ? why : "", excerpt[0] ? ": " : "", excerpt);
}
