/*
 * The HTTP layer of the Jira client: one libcurl easy handle per client (so
 * connections are kept alive), JSON in and out, bounded response bodies, the
 * headers the classifier needs, and the retry policy: retryable failures are
 * tried up to max_attempts times with exponential back-off and jitter (500 ms
 * x 2^n, capped at 30 s); on 429/503 Retry-After (or X-RateLimit-Reset) is a
 * minimum. Credentials go to libcurl's auth options only; nothing here logs
 * a header, and CURLOPT_VERBOSE stays off.
 */
#include "common/common.h"
#include "jira/jira.h"
#include "jira/jira_int.h"

#include <ctype.h>
#include <pthread.h>

#define BACKOFF_CAP_MS 30000

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	jm_install();
}

void jira_global_init(void)
{
	pthread_once(&global_once, global_init);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct jira_client *c = ud;
	size_t n = size * nmemb;
	if (buf_append(&c->body, ptr, n) < 0) {
		c->too_large = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

static void copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct jira_client *c = ud;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): forget the last one's. */
		c->content_type[0] = c->seraph[0] = c->retry_after[0] = c->ratelimit_reset[0] =
			'\0';
		return n;
	}
	static const struct {
		const char *name;
		size_t off;
		size_t len;
	} wanted[] = {
		{"content-type", offsetof(struct jira_client, content_type), 128},
		{"x-seraph-loginreason", offsetof(struct jira_client, seraph), 64},
		{"retry-after", offsetof(struct jira_client, retry_after), 64},
		{"x-ratelimit-reset", offsetof(struct jira_client, ratelimit_reset), 64},
	};
	const char *colon = memchr(ptr, ':', n);
	if (!colon)
		return n;
	size_t name_len = (size_t)(colon - ptr);
	for (size_t i = 0; i < JS_ARRAY_LEN(wanted); i++) {
		if (strlen(wanted[i].name) == name_len &&
		    strncasecmp(ptr, wanted[i].name, name_len) == 0) {
			copy_value((char *)c + wanted[i].off, wanted[i].len, colon + 1,
				   n - name_len - 1);
			break;
		}
	}
	return n;
}

struct jira_client *jira_client_new(const struct jira_opts *o)
{
	pthread_once(&global_once, global_init);
	if (!o || !o->base_url)
		return NULL;
	CURL *curl = curl_easy_init();
	if (!curl)
		return NULL;
	struct jira_client *c = xcalloc(1, sizeof *c);
	c->curl = curl;
	c->jm = jm_new();
	size_t n = strlen(o->base_url);
	while (n > 0 && o->base_url[n - 1] == '/')
		n--;
	c->base_url = xstrndup(o->base_url, n);
	c->email = xstrdup_or_null(o->email);
	c->api_token = xstrdup_or_null(o->api_token);
	c->pat = xstrdup_or_null(o->pat);
	c->flavour = o->flavour;
	c->timeout_s = o->timeout_s > 0 ? o->timeout_s : 60;
	c->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
	c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 3;
	c->page_size = o->page_size > 0 && o->page_size <= 100 ? o->page_size : 100;
	c->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 500;
	c->max_body = o->max_body_bytes > 0 ? o->max_body_bytes : JIRA_DEFAULT_MAX_BODY;
	c->parallel = o->parallel < 1                   ? 1
		      : o->parallel > JIRA_PARALLEL_MAX ? JIRA_PARALLEL_MAX
							: o->parallel;
	c->rng = (unsigned int)(mono_ms() ^ (int64_t)(uintptr_t)c);
	buf_init(&c->body, c->max_body);

	c->headers = curl_slist_append(c->headers, "Accept: application/json");
	c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
	/* No 100-continue round trip for our small POST bodies. */
	c->headers = curl_slist_append(c->headers, "Expect:");

	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "jirasync/1");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->email && c->api_token) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->email);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, c->api_token);
	} else if (c->pat) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, c->pat);
	}
	return c;
}

static void free_secret(char *s)
{
	if (!s)
		return;
	/* volatile: the compiler must not drop the wipe of memory about to be freed */
	volatile char *p = s;
	while (*p)
		*p++ = '\0';
	free(s);
}

void jira_client_free(struct jira_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_copies; i++)
		jira_client_free(c->copies[i]);
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->base_url);
	free(c->email);
	free_secret(c->api_token);
	free_secret(c->pat);
	free(c->sprint_field);
	buf_release(&c->body);
	jm_free_arena(c->jm);
	free(c);
}

void jira_get_stats(const struct jira_client *c, struct jira_stats *out)
{
	*out = c->stats;
	for (int i = 0; i < c->n_copies; i++) {
		struct jira_stats s;
		jira_get_stats(c->copies[i], &s);
		out->requests += s.requests;
		out->bytes += s.bytes;
		out->retries += s.retries;
	}
}

struct jira_client *jira_client_copy(const struct jira_client *c)
{
	struct jira_opts o = {.base_url = c->base_url,
			      .email = c->email,
			      .api_token = c->api_token,
			      .pat = c->pat,
			      .flavour = c->flavour,
			      .timeout_s = c->timeout_s,
			      .connect_timeout_s = c->connect_timeout_s,
			      .max_attempts = c->max_attempts,
			      .page_size = c->page_size,
			      .backoff_base_ms = c->backoff_base_ms,
			      .max_body_bytes = c->max_body,
			      .parallel = 1};
	struct jira_client *k = jira_client_new(&o);
	if (k && c->prepared)
		jira_set_site(k, c->flavour, c->sprint_field);
	return k;
}

void jira_target_path(const char *target, char *out, size_t outlen)
{
	size_t n = strcspn(target, "?");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, target, n);
	out[n] = '\0';
}

void jira_schema_error(struct jira_error *err, const char *method, const char *target,
		       const char *what)
{
	char path[256];
	jira_target_path(target, path, sizeof path);
	jira_error_set(err, JIRA_SCHEMA_CHANGE, "%s %s: HTTP 200: unexpected response: %s", method,
		       path, what);
	err->http_status = 200;
}

int jira_put_escaped(struct jira_client *c, struct buf *out, const char *value)
{
	char *e = curl_easy_escape(c->curl, value ? value : "", 0);
	if (!e)
		return -1;
	int rc = buf_puts(out, e);
	curl_free(e);
	return rc;
}

static int64_t backoff_ms(struct jira_client *c, int attempt)
{
	int64_t d = c->backoff_base_ms;
	for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	/* Jitter: somewhere in [d/2, d], so a fleet of workers spreads out. */
	int64_t half = d / 2;
	return half + (half > 0 ? (int64_t)(rand_r(&c->rng) % (unsigned int)(half + 1)) : 0);
}

/* One attempt. Fills r (pointing into c's buffers) and *json on a 2xx. */
static void perform(struct jira_client *c, const char *method, const char *url,
		    const char *json_body, struct jira_http_result *r, cJSON **json)
{
	buf_reset(&c->body);
	c->too_large = false;
	c->content_type[0] = c->seraph[0] = c->retry_after[0] = c->ratelimit_reset[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (json_body || strcmp(method, "POST") == 0) {
		if (!json_body)
			json_body = "{}";
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	CURLcode cc = curl_easy_perform(c->curl);
	c->stats.requests++;
	c->stats.bytes += (int64_t)c->body.len;
	long status = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	r->curl_code = (int)cc;
	r->status = status;
	r->content_type = c->content_type[0] ? c->content_type : NULL;
	r->body = c->body.data;
	r->body_len = c->body.len;
	r->seraph_login_reason = c->seraph[0] ? c->seraph : NULL;
	r->retry_after = c->retry_after[0] ? c->retry_after : NULL;
	r->ratelimit_reset = c->ratelimit_reset[0] ? c->ratelimit_reset : NULL;
	r->body_too_large = c->too_large;
	r->json_parse_failed = false;
	*json = NULL;
	if (cc == CURLE_OK && status >= 200 && status < 300) {
		*json = c->body.len ? cJSON_ParseWithLength(c->body.data, c->body.len) : NULL;
		if (!*json)
			r->json_parse_failed = true;
	}
}

int jira_http_json(struct jira_client *c, const char *method, const char *target,
		   const char *json_body, cJSON **out, struct jira_error *err)
{
	char path[256];
	jira_target_path(target, path, sizeof path);
	struct buf url;
	buf_init(&url, 1 << 20);
	if (buf_puts(&url, c->base_url) < 0 || buf_puts(&url, target) < 0) {
		buf_release(&url);
		jira_error_set(err, JIRA_INTERNAL, "%s %s: URL too long", method, path);
		return -1;
	}
	bool parse_retried = false;
	int rc = -1;
	for (int attempt = 1;; attempt++) {
		struct jira_http_result r = {0};
		cJSON *json = NULL;
		r.method = method;
		r.path = path;
		perform(c, method, url.data, json_body, &r, &json);
		jira_classify(&r, err);
		if (err->code == JIRA_OK) {
			*out = json;
			rc = 0;
			break;
		}
		cJSON_Delete(json);
		/* A 2xx that is not JSON is most likely a truncated transfer
		 * (a proxy, a reset): worth one more try, not more. Missing
		 * fields in valid JSON are never retried (see client.c). */
		bool again = err->retryable;
		if (err->code == JIRA_SCHEMA_CHANGE && r.json_parse_failed && !parse_retried) {
			parse_retried = true;
			again = true;
		}
		if (!again || attempt >= c->max_attempts)
			break;
		int64_t delay = backoff_ms(c, attempt);
		if (err->retry_after_ms > delay)
			delay = err->retry_after_ms;
		char ds[24], as[24];
		log_warn("jira request failed, retrying", "method", method, "path", path, "code",
			 jira_code_name(err->code), "#attempt", fmt_i64(as, attempt), "#delay_ms",
			 fmt_i64(ds, delay));
		c->stats.retries++;
		sleep_ms(delay);
	}
	buf_release(&url);
	/* Do not keep a huge body around between requests. */
	if (c->body.cap > ((size_t)4 << 20))
		buf_release(&c->body);
	return rc;
}
