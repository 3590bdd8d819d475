/*
 * The Jira client's HTTP behaviour against a real HTTP peer: an in-process
 * libmicrohttpd server on a free loopback port, scripted per test. Retries
 * and Retry-After, non-retryable statuses, timeouts, dropped connections,
 * gzip, credentials on the wire, Cloud token paging, Data Center keyset
 * paging with ties, per-issue comment paging and board sprints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "jira/jira.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

/* ---- the scripted server ------------------------------------------------------ */

struct reply {
	int status;
	struct buf body;
	const char *content_type;
	const char *hdr_name[3];
	const char *hdr_value[3];
	int delay_ms;
	bool drop;
	bool gzip;
};

struct req {
	const char *method;
	const char *url;
	struct MHD_Connection *conn;
	const char *body;
	cJSON *json; /* the POST body parsed, or NULL */
};

typedef void (*route_fn)(const struct req *rq, int nth, struct reply *out);

static struct {
	struct MHD_Daemon *d;
	int port;
	char base[64];
	pthread_mutex_t mu;
	route_fn route;
	int requests;
	int path_hits[16];
	const char *paths[16];
	char last_auth[256];
	char last_accept_enc[64];
	int max_start_at;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Checks inside the server's threads: cmocka's asserts must not run
 * there, so a failure is recorded and the test's teardown reports it. */
static volatile int route_failed;
#define RCHECK(c)                                \
	do {                                     \
		if (!(c) && !route_failed)       \
			route_failed = __LINE__; \
	} while (0)

struct upload {
	struct buf body;
};

static const unsigned char gz_user[] = {
	0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x4a, 0x4c,
	0x4e, 0xce, 0x2f, 0xcd, 0x2b, 0xf1, 0x4c, 0x51, 0xb2, 0x52, 0x4a, 0xaf, 0xd2, 0x2d,
	0x2d, 0x4e, 0x2d, 0x52, 0xd2, 0x51, 0x4a, 0xc9, 0x2c, 0x2e, 0xc8, 0x49, 0xac, 0xf4,
	0x4b, 0xcc, 0x4d, 0x05, 0x8a, 0x47, 0x65, 0x16, 0x14, 0xa4, 0xa6, 0x28, 0x1c, 0x5e,
	0xa9, 0x54, 0x0b, 0x00, 0xf3, 0xdc, 0xb7, 0x34, 0x31, 0x00, 0x00, 0x00,
};

/* Requests per path prefix, so a test can say "exactly N requests to X". */
static int hits(const char *path)
{
	pthread_mutex_lock(&S.mu);
	int n = 0;
	for (int i = 0; i < 16 && S.paths[i]; i++)
		if (strcmp(S.paths[i], path) == 0)
			n = S.path_hits[i];
	pthread_mutex_unlock(&S.mu);
	return n;
}

static int count_hit(const char *url)
{
	for (int i = 0; i < 16; i++) {
		if (!S.paths[i]) {
			S.paths[i] = strdup(url);
			S.path_hits[i] = 1;
			return 1;
		}
		if (strcmp(S.paths[i], url) == 0)
			return ++S.path_hits[i];
	}
	return 0;
}

static void reset_counts(void)
{
	pthread_mutex_lock(&S.mu);
	for (int i = 0; i < 16; i++) {
		free((void *)S.paths[i]);
		S.paths[i] = NULL;
		S.path_hits[i] = 0;
	}
	S.requests = 0;
	S.max_start_at = 0;
	pthread_mutex_unlock(&S.mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *up = *con_cls;
	if (!up) {
		up = calloc(1, sizeof *up);
		buf_init(&up->body, 1 << 20);
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (buf_append(&up->body, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&S.mu);
	S.requests++;
	int nth = count_hit(url);
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	snprintf(S.last_auth, sizeof S.last_auth, "%s", auth ? auth : "");
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
	snprintf(S.last_accept_enc, sizeof S.last_accept_enc, "%s", ae ? ae : "");
	route_fn route = S.route;
	pthread_mutex_unlock(&S.mu);

	struct req rq = {method, url, conn, up->body.data, NULL};
	if (up->body.len)
		rq.json = cJSON_Parse(up->body.data);
	struct reply r = {.status = 200, .content_type = "application/json"};
	buf_init(&r.body, 0);
	route(&rq, nth, &r);
	cJSON_Delete(rq.json);
	if (r.delay_ms)
		sleep_ms(r.delay_ms);
	if (r.drop) {
		buf_release(&r.body);
		return MHD_NO; /* closes the connection without a response */
	}
	struct MHD_Response *resp;
	if (r.gzip)
		resp = MHD_create_response_from_buffer(sizeof gz_user, (void *)gz_user,
						       MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(r.body.len, r.body.data,
						       MHD_RESPMEM_MUST_COPY);
	if (r.content_type)
		MHD_add_response_header(resp, "Content-Type", r.content_type);
	if (r.gzip)
		MHD_add_response_header(resp, "Content-Encoding", "gzip");
	for (int i = 0; i < 3 && r.hdr_name[i]; i++)
		MHD_add_response_header(resp, r.hdr_name[i], r.hdr_value[i]);
	enum MHD_Result rc = MHD_queue_response(conn, (unsigned int)r.status, resp);
	MHD_destroy_response(resp);
	buf_release(&r.body);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct upload *up = *con_cls;
	if (up) {
		buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

static int server_start(void **state)
{
	(void)state;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
			       NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED,
			       on_completed, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			       MHD_OPTION_END);
	if (!S.d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT);
	S.port = info ? info->port : 0;
	snprintf(S.base, sizeof S.base, "http://127.0.0.1:%d", S.port);
	return S.port ? 0 : -1;
}

static int server_stop(void **state)
{
	(void)state;
	MHD_stop_daemon(S.d);
	reset_counts();
	return 0;
}

static int per_test(void **state)
{
	(void)state;
	reset_counts();
	route_failed = 0;
	return 0;
}

static int after_test(void **state)
{
	(void)state;
	if (route_failed)
		fail_msg("a check in the server failed at line %d", route_failed);
	return 0;
}

static void reply_json(struct reply *r, int status, const char *json)
{
	r->status = status;
	RCHECK((buf_puts(&r->body, json)) == 0);
}

static long query_long(const struct req *rq, const char *name, long def)
{
	const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
	return v ? strtol(v, NULL, 10) : def;
}

/* Field list and server info every client asks for first. */
static bool common_routes(const struct req *rq, struct reply *r)
{
	if (strcmp(rq->url, "/rest/api/3/field") == 0) {
		reply_json(
			r, 200,
			"[{\"id\":\"summary\",\"schema\":{\"type\":\"string\"}},"
			"{\"id\":\"customfield_10020\",\"schema\":{\"type\":\"array\",\"items\":\"json\","
			"\"custom\":\"com.pyxis.greenhopper.jira:gh-sprint\",\"customId\":10020}}]");
		return true;
	}
	if (strcmp(rq->url, "/rest/api/2/field") == 0) {
		reply_json(r, 200, "[{\"id\":\"summary\",\"schema\":{\"type\":\"string\"}}]");
		return true;
	}
	if (strcmp(rq->url, "/rest/api/2/serverInfo") == 0) {
		reply_json(
			r, 200,
			"{\"baseUrl\":\"x\",\"version\":\"1001.0.0\",\"deploymentType\":\"Cloud\"}");
		return true;
	}
	return false;
}

static struct jira_client *client(enum jira_flavour fl, long attempts, long timeout_s)
{
	struct jira_opts o = {
		.base_url = S.base,
		.email = "ops@example.com",
		.api_token = "tok-SECRET",
		.flavour = fl,
		.timeout_s = timeout_s,
		.connect_timeout_s = 2,
		.max_attempts = attempts,
		.page_size = 2,
		.backoff_base_ms = 100,
	};
	struct jira_client *c = jira_client_new(&o);
	assert_non_null(c);
	return c;
}

/* ---- retries and classification on the wire ------------------------------------ */

static void route_429_then_ok(const struct req *rq, int nth, struct reply *r)
{
	if (common_routes(rq, r))
		return;
	if (nth == 1) {
		reply_json(r, 429, "<html><title>Oops - an error has occurred</title></html>");
		r->content_type = "text/html";
		r->hdr_name[0] = "Retry-After";
		r->hdr_value[0] = "1";
		return;
	}
	reply_json(r, 200, "{\"accountId\":\"me\",\"displayName\":\"Me\"}");
}

static void test_429_retry_after(void **state)
{
	(void)state;
	S.route = route_429_then_ok;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 3, 10);
	struct jira_error err;
	assert_int_equal(jira_prepare(c, &err), 0);
	assert_int_equal(jira_flavour_of(c), JIRA_FLAVOUR_CLOUD);
	assert_string_equal(jira_sprint_field(c), "customfield_10020");
	cJSON *me = NULL;
	int64_t t0 = mono_ms();
	assert_int_equal(jira_myself(c, &me, &err), 0);
	int64_t took = mono_ms() - t0;
	assert_int_equal(hits("/rest/api/3/myself"), 2);
	assert_true(took >= 1000);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(me, "accountId")->valuestring, "me");
	cJSON_Delete(me);
	struct jira_stats st;
	jira_get_stats(c, &st);
	assert_int_equal(st.requests, 3); /* field + 2 x myself */
	assert_int_equal(st.retries, 1);
	assert_true(st.bytes > 0);
	/* Basic email:token on the wire (base64 of "ops@example.com:tok-SECRET"). */
	assert_string_equal(S.last_auth, "Basic b3BzQGV4YW1wbGUuY29tOnRvay1TRUNSRVQ=");
	jira_client_free(c);
}

static void route_503_html(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	reply_json(
		r, 503,
		"<!DOCTYPE html><html><head><title>Atlassian Cloud Notifications - Page Unavailable</title></head></html>");
	r->content_type = "text/html";
}

static void test_503_exhausts_attempts(void **state)
{
	(void)state;
	S.route = route_503_html;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 3, 10);
	struct jira_error err;
	cJSON *me = NULL;
	assert_int_equal(jira_myself(c, &me, &err), -1);
	assert_null(me);
	assert_int_equal(err.code, JIRA_JIRA_UNAVAILABLE);
	assert_true(err.retryable);
	assert_int_equal(err.http_status, 503);
	assert_int_equal(hits("/rest/api/3/myself"), 3);
	assert_non_null(strstr(err.message, "GET /rest/api/3/myself: HTTP 503"));
	assert_null(strstr(err.message, "tok-SECRET"));
	struct jira_stats st;
	jira_get_stats(c, &st);
	assert_int_equal(st.retries, 2);
	jira_client_free(c);
}

static void route_401(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	reply_json(
		r, 401,
		"{\"errorMessages\":[\"You are not authenticated. Authentication required to perform this operation.\"],\"errors\":{}}");
	r->hdr_name[0] = "X-Seraph-LoginReason";
	r->hdr_value[0] = "AUTHENTICATED_FAILED";
}

static void test_401_not_retried(void **state)
{
	(void)state;
	S.route = route_401;
	struct jira_opts o = {.base_url = S.base,
			      .pat = "pat-SECRET",
			      .flavour = JIRA_FLAVOUR_DC,
			      .max_attempts = 3,
			      .backoff_base_ms = 100};
	struct jira_client *c = jira_client_new(&o);
	struct jira_error err;
	cJSON *me = NULL;
	assert_int_equal(jira_myself(c, &me, &err), -1);
	assert_int_equal(err.code, JIRA_AUTH_EXPIRED);
	assert_false(err.retryable);
	assert_int_equal(hits("/rest/api/2/myself"), 1);
	assert_string_equal(S.last_auth, "Bearer pat-SECRET");
	assert_null(strstr(err.message, "pat-SECRET"));
	jira_client_free(c);
}

static void route_slow(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	r->delay_ms = 2200;
	reply_json(r, 200, "{}");
}

static void test_timeout(void **state)
{
	(void)state;
	S.route = route_slow;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 1, 1);
	struct jira_error err;
	assert_int_equal(jira_prepare(c, &err), 0);
	cJSON *me = NULL;
	int64_t t0 = mono_ms();
	assert_int_equal(jira_myself(c, &me, &err), -1);
	int64_t took = mono_ms() - t0;
	assert_int_equal(err.code, JIRA_NETWORK_GLITCH);
	assert_true(err.retryable);
	assert_int_equal(err.http_status, 0);
	assert_true(took >= 900 && took < 2100);
	jira_client_free(c);
}

static char drop_query[64];

static void route_drop(const struct req *rq, int nth, struct reply *r)
{
	if (common_routes(rq, r))
		return;
	const char *qv = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "query");
	if (qv)
		snprintf(drop_query, sizeof drop_query, "%s", qv);
	if (strcmp(rq->url, "/rest/api/3/myself") == 0 || nth == 1) {
		r->drop = true;
		return;
	}
	reply_json(r, 200, "[]");
}

static void test_dropped_connection(void **state)
{
	(void)state;
	S.route = route_drop;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 2, 5);
	struct jira_error err;
	cJSON *me = NULL;
	assert_int_equal(jira_myself(c, &me, &err), -1);
	assert_int_equal(err.code, JIRA_NETWORK_GLITCH);
	assert_true(err.retryable);
	/* Our policy made 2 attempts; libcurl itself retries a request once
	 * when a kept-alive connection dies before answering, so the server
	 * may see one more. */
	struct jira_stats st;
	jira_get_stats(c, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.requests, 3); /* field + 2 attempts */
	assert_true(hits("/rest/api/3/myself") >= 2 && hits("/rest/api/3/myself") <= 4);
	/* A drop then a success: recovered. */
	cJSON *users = NULL;
	assert_int_equal(jira_find_project_users(c, "KP", "ca rl&x", &users, &err), 0);
	assert_int_equal(cJSON_GetArraySize(users), 0);
	cJSON_Delete(users);
	assert_int_equal(hits("/rest/api/3/user/assignable/search"), 2);
	/* The value was escaped: the server decoded it whole. */
	assert_string_equal(drop_query, "ca rl&x");
	jira_client_free(c);
}

static void route_gzip(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	r->gzip = true;
}

static void test_gzip_and_body_limit(void **state)
{
	(void)state;
	S.route = route_gzip;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 1, 5);
	struct jira_error err;
	cJSON *me = NULL;
	assert_int_equal(jira_myself(c, &me, &err), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(me, "accountId")->valuestring,
			    "gz-user");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(me, "displayName")->valuestring,
			    "Zipped \xC3\xA9");
	assert_non_null(strstr(S.last_accept_enc, "gzip"));
	cJSON_Delete(me);
	jira_client_free(c);

	/* A body over the limit is refused and classified, not buffered. */
	S.route = route_429_then_ok; /* myself answers a 2nd time with a small body */
	reset_counts();
	struct jira_opts o = {.base_url = S.base,
			      .flavour = JIRA_FLAVOUR_CLOUD,
			      .max_attempts = 3,
			      .max_body_bytes = 100};
	c = jira_client_new(&o);
	assert_int_equal(jira_prepare(c, &err), -1); /* the field list is 200+ bytes */
	assert_int_equal(err.code, JIRA_INTERNAL);
	assert_false(err.retryable);
	assert_non_null(strstr(err.message, "limit"));
	assert_int_equal(hits("/rest/api/3/field"), 1);
	jira_client_free(c);
}

static void route_not_json(const struct req *rq, int nth, struct reply *r)
{
	if (common_routes(rq, r))
		return;
	if (strcmp(rq->url, "/rest/api/3/myself") == 0) {
		reply_json(r, 200, nth == 1 ? "{\"accountId\":\"trunc" : "{\"accountId\":\"ok\"}");
		return;
	}
	/* Valid JSON without what we need: never retried. */
	reply_json(r, 200, "{\"issues\":{}}");
}

static void test_schema_change_on_wire(void **state)
{
	(void)state;
	S.route = route_not_json;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 3, 5);
	struct jira_error err;
	cJSON *me = NULL;
	/* A truncated 2xx body is retried once. */
	assert_int_equal(jira_myself(c, &me, &err), 0);
	assert_int_equal(hits("/rest/api/3/myself"), 2);
	cJSON_Delete(me);
	struct batch b;
	batch_init(&b);
	struct jira_query q = {.project_key = "KP", .updated_since_ms = JS_TIME_NULL};
	char *cursor = NULL;
	assert_int_equal(jira_search_page(c, &q, &cursor, &b, &err), -1);
	assert_int_equal(err.code, JIRA_SCHEMA_CHANGE);
	assert_false(err.retryable);
	assert_int_equal(hits("/rest/api/3/search/jql"), 1);
	assert_null(cursor);
	batch_release(&b);
	jira_client_free(c);
}

/* ---- Cloud token paging ---------------------------------------------------------- */

static void issue_json(struct buf *b, int id, int64_t updated_ms)
{
	char ts[32];
	jtime_format_jira(ts, updated_ms, 60);
	int rc = buf_printf(
		b,
		"{\"id\":\"%d\",\"key\":\"T-%d\",\"fields\":{\"summary\":\"Issue %d\","
		"\"status\":{\"name\":\"Open\",\"statusCategory\":{\"key\":\"new\"}},"
		"\"issuetype\":{\"name\":\"Task\"},\"created\":\"%s\",\"updated\":\"%s\","
		"\"comment\":{\"total\":0,\"comments\":[]},\"worklog\":{\"total\":0,\"worklogs\":[]}}}",
		id, id, id, ts, ts);
	RCHECK((rc) == 0);
}

static char cloud_last_jql[512];
static bool cloud_fields_ok = true;
static bool cloud_last_is_flag; /* page 2 ends with isLast instead of an empty page */

static void route_cloud_search(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	RCHECK(rq->url && strcmp(rq->url, "/rest/api/3/search/jql") == 0);
	RCHECK(rq->method && strcmp(rq->method, "POST") == 0);
	const cJSON *jql = cJSON_GetObjectItemCaseSensitive(rq->json, "jql");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(rq->json, "nextPageToken");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rq->json, "fields");
	const cJSON *mr = cJSON_GetObjectItemCaseSensitive(rq->json, "maxResults");
	snprintf(cloud_last_jql, sizeof cloud_last_jql, "%s",
		 cJSON_IsString(jql) ? jql->valuestring : "");
	bool has_sprint = false, has_comment = false;
	const cJSON *f;
	cJSON_ArrayForEach(f, fields)
	{
		has_sprint |= strcmp(f->valuestring, "customfield_10020") == 0;
		has_comment |= strcmp(f->valuestring, "comment") == 0;
	}
	if (!has_sprint || !has_comment || !cJSON_IsNumber(mr) || mr->valueint != 2)
		cloud_fields_ok = false;
	RCHECK(buf_puts(&r->body, "{\"issues\":[") == 0);
	const char *t = cJSON_IsString(tok) ? tok->valuestring : "";
	if (!*t) {
		issue_json(&r->body, 1, 1700000000000);
		RCHECK((buf_putc(&r->body, ',')) == 0);
		issue_json(&r->body, 2, 1700000001000);
		RCHECK((buf_puts(&r->body, "],\"nextPageToken\":\"tok-2\",\"isLast\":false}")) ==
		       0);
	} else if (strcmp(t, "tok-2") == 0) {
		issue_json(&r->body, 3, 1700000002000);
		if (cloud_last_is_flag) {
			RCHECK((buf_puts(&r->body, "],\"isLast\":true}")) == 0);
		} else {
			RCHECK((buf_putc(&r->body, ',')) == 0);
			issue_json(&r->body, 4, 1700000003000);
			RCHECK((buf_puts(&r->body,
					 "],\"nextPageToken\":\"tok-3\",\"isLast\":false}")) == 0);
		}
	} else {
		/* An empty page that still carries a token: must end the loop. */
		RCHECK((buf_puts(&r->body, "],\"nextPageToken\":\"tok-4\",\"isLast\":false}")) ==
		       0);
	}
}

static void test_cloud_paging(void **state)
{
	(void)state;
	S.route = route_cloud_search;
	cloud_last_is_flag = false;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 1, 5);
	struct jira_error err;
	struct batch b;
	batch_init(&b);
	struct jira_query q = {.project_key = "KP", .updated_since_ms = 1699999999000};
	char *cursor = NULL;
	int pages = 0;
	do {
		char *prev = cursor; /* the caller frees the old cursor */
		assert_int_equal(jira_search_page(c, &q, &cursor, &b, &err), 0);
		free(prev);
		pages++;
		assert_true(pages <= 5);
	} while (cursor);
	assert_int_equal(pages, 3);
	assert_int_equal(hits("/rest/api/3/search/jql"), 3);
	assert_int_equal(b.issues.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(b.issues.v[i].id, (int64_t)i + 1);
	assert_int_equal(b.max_updated_ms, 1700000003000);
	assert_int_equal(b.requests, 3); /* the 3 pages (the field list is not the batch's) */
	assert_true(cloud_fields_ok);
	assert_string_equal(
		cloud_last_jql,
		"project = \"KP\" AND updated >= 1699999999000 ORDER BY updated ASC, key ASC");

	/* isLast:true without a token ends the loop too. */
	cloud_last_is_flag = true;
	reset_counts();
	batch_reset(&b);
	pages = 0;
	do {
		char *prev = cursor; /* the caller frees the old cursor */
		assert_int_equal(jira_search_page(c, &q, &cursor, &b, &err), 0);
		free(prev);
		pages++;
		assert_true(pages <= 5);
	} while (cursor);
	assert_int_equal(pages, 2);
	assert_int_equal(b.issues.n, 3);

	/* Id-only pages for reconciliation. */
	reset_counts();
	batch_reset(&b);
	cloud_last_is_flag = false;
	do {
		char *prev = cursor;
		assert_int_equal(jira_search_ids(c, &q, &cursor, &b, &err), 0);
		free(prev);
	} while (cursor);
	assert_int_equal(b.deleted_ids.n, 4);
	assert_int_equal(b.issues.n, 0);
	batch_release(&b);
	jira_client_free(c);
}

/* ---- Data Center keyset paging ------------------------------------------------------ */

/* A DC search over a fixed data set: honours `updated >= N`, orders by
 * (updated, key), applies startAt/maxResults, reports total. Ties on
 * purpose: 3000 x 5 (more than a page), 5000 x 2. */
static const int64_t dc_updated[] = {1000, 1000, 2000, 3000, 3000, 3000,
				     3000, 3000, 4000, 5000, 5000, 6000};
#define DC_N ((int)JS_ARRAY_LEN(dc_updated))
static bool dc_bad_jql;

static void route_dc_search(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	RCHECK(rq->url && strcmp(rq->url, "/rest/api/2/search") == 0);
	const cJSON *jql = cJSON_GetObjectItemCaseSensitive(rq->json, "jql");
	const cJSON *sa = cJSON_GetObjectItemCaseSensitive(rq->json, "startAt");
	const cJSON *mr = cJSON_GetObjectItemCaseSensitive(rq->json, "maxResults");
	RCHECK(cJSON_IsString(jql) && cJSON_IsNumber(sa) && cJSON_IsNumber(mr));
	int64_t since = INT64_MIN;
	const char *u = strstr(jql->valuestring, "updated >= ");
	if (u)
		since = strtoll(u + 11, NULL, 10);
	if (strchr(jql->valuestring, '/') || strchr(jql->valuestring, '\''))
		dc_bad_jql = true;
	int start = sa->valueint, max = mr->valueint;
	pthread_mutex_lock(&S.mu);
	if (start > S.max_start_at)
		S.max_start_at = start;
	pthread_mutex_unlock(&S.mu);
	/* Matching ids in (updated, key) order; keys "T-<id>" compare as strings. */
	int ids[DC_N], n = 0;
	for (int i = 0; i < DC_N; i++)
		if (dc_updated[i] >= since)
			ids[n++] = i + 1;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0; j--) {
			int a = ids[j - 1], b = ids[j];
			char ka[16], kb[16];
			snprintf(ka, sizeof ka, "T-%d", a);
			snprintf(kb, sizeof kb, "T-%d", b);
			if (dc_updated[a - 1] > dc_updated[b - 1] ||
			    (dc_updated[a - 1] == dc_updated[b - 1] && strcmp(ka, kb) > 0)) {
				ids[j - 1] = b;
				ids[j] = a;
			}
		}
	RCHECK((buf_printf(&r->body, "{\"startAt\":%d,\"maxResults\":%d,\"total\":%d,\"issues\":[",
			   start, max, n)) == 0);
	for (int i = start, k = 0; i < n && k < max; i++, k++) {
		if (k)
			RCHECK((buf_putc(&r->body, ',')) == 0);
		issue_json(&r->body, ids[i], dc_updated[ids[i] - 1]);
	}
	RCHECK((buf_puts(&r->body, "]}")) == 0);
}

static void test_dc_keyset_paging(void **state)
{
	(void)state;
	S.route = route_dc_search;
	dc_bad_jql = false;
	struct jira_client *c = client(JIRA_FLAVOUR_DC, 1, 5);
	struct jira_error err;
	struct batch b;
	batch_init(&b);
	struct jira_query q = {.project_key = "KP", .updated_since_ms = JS_TIME_NULL};
	char *cursor = NULL;
	int pages = 0;
	do {
		char *prev = cursor;
		assert_int_equal(jira_search_page(c, &q, &cursor, &b, &err), 0);
		free(prev);
		pages++;
		assert_true(pages <= 20);
	} while (cursor);
	/* Every issue exactly once, in updated order. */
	assert_int_equal(b.issues.n, DC_N);
	int seen[DC_N + 1] = {0};
	for (size_t i = 0; i < b.issues.n; i++) {
		int64_t id = b.issues.v[i].id;
		assert_true(id >= 1 && id <= DC_N);
		seen[id]++;
		if (i)
			assert_true(b.issues.v[i].updated_ms >= b.issues.v[i - 1].updated_ms);
	}
	for (int i = 1; i <= DC_N; i++)
		assert_int_equal(seen[i], 1);
	assert_false(dc_bad_jql);
	/* The five-way tie at 3000 needed offsets within the value, and
	 * small ones only. */
	assert_true(S.max_start_at > 0 && S.max_start_at < 10);
	assert_int_equal(b.max_updated_ms, 6000);

	/* Id-only pages see the same set. */
	batch_reset(&b);
	do {
		char *prev = cursor;
		assert_int_equal(jira_search_ids(c, &q, &cursor, &b, &err), 0);
		free(prev);
	} while (cursor);
	assert_int_equal(b.deleted_ids.n, DC_N);

	/* A cursor that is not ours is refused. */
	char garbage[] = "garbage";
	cursor = garbage;
	assert_int_equal(jira_search_page(c, &q, &cursor, &b, &err), -1);
	assert_int_equal(err.code, JIRA_INTERNAL);
	batch_release(&b);
	jira_client_free(c);
}

/* ---- per-issue comments and board sprints ------------------------------------------------ */

static void route_comments_sprints(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	if (strcmp(rq->url, "/rest/api/3/issue/77/comment") == 0) {
		long start = query_long(rq, "startAt", 0), max = query_long(rq, "maxResults", 50);
		RCHECK(max == 100);
		long total = 150;
		RCHECK(buf_printf(
			       &r->body,
			       "{\"startAt\":%ld,\"maxResults\":%ld,\"total\":%ld,\"comments\":[",
			       start, max, total) == 0);
		for (long i = start; i < total && i < start + max; i++)
			RCHECK((buf_printf(
				       &r->body,
				       "%s{\"id\":\"%ld\",\"author\":{\"accountId\":\"u%ld\"},"
				       "\"body\":{\"type\":\"doc\",\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":\"c%ld\"}]}]},"
				       "\"created\":\"2021-01-09T21:30:35.901+0000\",\"updated\":\"2021-01-09T21:30:35.901+0000\"}",
				       i > start ? "," : "", 1000 + i, i % 3, i)) == 0);
		RCHECK((buf_puts(&r->body, "]}")) == 0);
		return;
	}
	if (strcmp(rq->url, "/rest/agile/1.0/board") == 0) {
		const char *p = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
							    "projectKeyOrId");
		RCHECK(p && strcmp(p, "KP") == 0);
		reply_json(
			r, 200,
			"{\"maxResults\":50,\"startAt\":0,\"total\":3,\"isLast\":true,\"values\":["
			"{\"id\":4,\"type\":\"scrum\"},{\"id\":5,\"type\":\"simple\"},{\"id\":6,\"type\":\"scrum\"},"
			"{\"id\":7,\"type\":\"kanban\"}]}");
		return;
	}
	if (strcmp(rq->url, "/rest/agile/1.0/board/5/sprint") == 0) {
		reply_json(
			r, 400,
			"{\"errorMessages\":[\"The board does not support sprints\"],\"errors\":{}}");
		return;
	}
	if (strcmp(rq->url, "/rest/agile/1.0/board/4/sprint") == 0) {
		long start = query_long(rq, "startAt", 0);
		if (start == 0)
			reply_json(
				r, 200,
				"{\"maxResults\":1,\"startAt\":0,\"isLast\":false,\"values\":[{\"id\":1,\"state\":\"closed\",\"name\":\"S1\",\"originBoardId\":4,\"startDate\":\"2021-04-30T04:29:38.642Z\"}]}");
		else
			reply_json(
				r, 200,
				"{\"maxResults\":1,\"startAt\":1,\"isLast\":true,\"values\":[{\"id\":2,\"state\":\"future\",\"name\":\"S2\",\"originBoardId\":4}]}");
		return;
	}
	if (strcmp(rq->url, "/rest/agile/1.0/board/6/sprint") == 0) {
		/* Sprint 2 again (boards overlap) and a new one. */
		reply_json(
			r, 200,
			"{\"maxResults\":50,\"startAt\":0,\"isLast\":true,\"values\":[{\"id\":2,\"state\":\"future\",\"name\":\"S2\",\"originBoardId\":4},{\"id\":3,\"state\":\"active\",\"name\":\"S3, the one\",\"originBoardId\":6}]}");
		return;
	}
	reply_json(r, 404, "{\"errorMessages\":[\"not here\"]}");
}

static void test_comments_and_sprints(void **state)
{
	(void)state;
	S.route = route_comments_sprints;
	struct jira_client *c = client(JIRA_FLAVOUR_CLOUD, 2, 5);
	struct jira_error err;
	struct batch b;
	batch_init(&b);
	assert_int_equal(jira_issue_comments(c, 77, &b, &err), 0);
	assert_int_equal(b.comments.n, 150);
	assert_int_equal(hits("/rest/api/3/issue/77/comment"), 2);
	assert_int_equal(b.comments.v[149].id, 1149);
	assert_string_equal(b.comments.v[149].body_text, "c149");
	assert_int_equal(b.users.n, 3);

	assert_int_equal(jira_project_sprints(c, "KP", &b, &err), 0);
	assert_int_equal(b.sprints.n, 3);
	assert_int_equal(b.sprints.v[0].id, 1);
	assert_int_equal(b.sprints.v[1].id, 2);
	assert_int_equal(b.sprints.v[2].id, 3);
	assert_string_equal(b.sprints.v[2].name, "S3, the one");
	assert_int_equal(hits("/rest/agile/1.0/board/5/sprint"), 1); /* 400: skipped, not retried */
	assert_int_equal(hits("/rest/agile/1.0/board/7/sprint"), 0); /* kanban: never asked */

	/* A 404 on an issue is an error the caller sees. */
	assert_int_equal(jira_issue_worklogs(c, 78, &b, &err), -1);
	assert_int_equal(err.code, JIRA_NOT_FOUND);
	assert_int_equal(hits("/rest/api/3/issue/78/worklog"), 1);
	batch_release(&b);
	jira_client_free(c);
}

/* ---- worklog deletions, counts, look-ups, flavour detection ------------------------------- */

static char count_jql[512];

static void route_feeds(const struct req *rq, int nth, struct reply *r)
{
	(void)nth;
	if (common_routes(rq, r))
		return;
	if (strcmp(rq->url, "/rest/api/3/worklog/deleted") == 0) {
		long since = query_long(rq, "since", -1);
		if (since == 0)
			reply_json(
				r, 200,
				"{\"values\":[{\"worklogId\":10001,\"updatedTime\":50},{\"worklogId\":10002,\"updatedTime\":100}],"
				"\"since\":0,\"until\":100,\"lastPage\":false,\"nextPage\":\"http://x/rest/api/3/worklog/deleted?since=100\"}");
		else if (since == 100)
			reply_json(
				r, 200,
				"{\"values\":[{\"worklogId\":10003,\"updatedTime\":200}],\"since\":100,\"until\":200,\"lastPage\":true}");
		else
			reply_json(r, 400, "{\"errorMessages\":[\"bad since\"]}");
		return;
	}
	if (strcmp(rq->url, "/rest/api/3/search/approximate-count") == 0 ||
	    strcmp(rq->url, "/rest/api/2/search") == 0) {
		const cJSON *jql = cJSON_GetObjectItemCaseSensitive(rq->json, "jql");
		snprintf(count_jql, sizeof count_jql, "%s",
			 cJSON_IsString(jql) ? jql->valuestring : "");
		reply_json(r, 200,
			   rq->url[10] == '3'
				   ? "{\"count\":1234}"
				   : "{\"startAt\":0,\"maxResults\":0,\"total\":77,\"issues\":[]}");
		return;
	}
	if (strcmp(rq->url, "/rest/api/3/project/search") == 0) {
		const char *qv = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
							     "query");
		if (qv && strcmp(qv, "none") == 0)
			reply_json(r, 404, "{\"errorMessages\":[\"No projects found\"]}");
		else
			reply_json(
				r, 200,
				"{\"isLast\":true,\"values\":[{\"id\":\"10000\",\"key\":\"KP\",\"name\":\"Kanban Project\"}]}");
		return;
	}
	if (strcmp(rq->url, "/rest/api/2/project") == 0) {
		reply_json(
			r, 200,
			"[{\"id\":\"1\",\"key\":\"AR\",\"name\":\"Team Argon\"},{\"id\":\"2\",\"key\":\"KP\",\"name\":\"Kanban\"}]");
		return;
	}
	reply_json(r, 404, "{}");
}

static void test_feeds_and_lookups(void **state)
{
	(void)state;
	S.route = route_feeds;
	struct jira_opts o = {
		.base_url = S.base, .email = "e", .api_token = "t", .max_attempts = 1};
	struct jira_client *c = jira_client_new(&o);
	struct jira_error err;
	struct batch b;
	batch_init(&b);
	/* Flavour from serverInfo. */
	assert_int_equal(jira_prepare(c, &err), 0);
	assert_int_equal(jira_flavour_of(c), JIRA_FLAVOUR_CLOUD);
	assert_int_equal(hits("/rest/api/2/serverInfo"), 1);

	int64_t until = -1;
	assert_int_equal(jira_worklogs_deleted(c, 0, 10, &b, &until, &err), 0);
	assert_int_equal(b.deleted_ids.n, 3);
	assert_int_equal(b.deleted_ids.v[0], 10001);
	assert_int_equal(b.deleted_ids.v[2], 10003);
	assert_int_equal(until, 200);
	assert_int_equal(hits("/rest/api/3/worklog/deleted"), 2);
	/* max_pages bounds the walk; until says where to resume. */
	batch_reset(&b);
	assert_int_equal(jira_worklogs_deleted(c, 0, 1, &b, &until, &err), 0);
	assert_int_equal(b.deleted_ids.n, 2);
	assert_int_equal(until, 100);

	int64_t n = 0;
	struct jira_query q = {.project_key = "KP", .updated_since_ms = 5};
	assert_int_equal(jira_count(c, &q, &n, &err), 0);
	assert_int_equal(n, 1234);
	assert_string_equal(count_jql, "project = \"KP\" AND updated >= 5");
	q.project_key = "bad key";
	assert_int_equal(jira_count(c, &q, &n, &err), -1);
	assert_int_equal(err.code, JIRA_CONFIG_ERROR);

	cJSON *projects = NULL;
	assert_int_equal(jira_find_projects(c, "kan", &projects, &err), 0);
	assert_int_equal(cJSON_GetArraySize(projects), 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(projects, 0), "key")
				    ->valuestring,
			    "KP");
	cJSON_Delete(projects);
	assert_int_equal(jira_find_projects(c, "none", &projects, &err), 0);
	assert_int_equal(cJSON_GetArraySize(projects), 0);
	cJSON_Delete(projects);
	jira_client_free(c);

	/* Data Center: count from total, projects filtered locally. */
	o.flavour = JIRA_FLAVOUR_DC;
	c = jira_client_new(&o);
	q.project_key = "KP";
	assert_int_equal(jira_count(c, &q, &n, &err), 0);
	assert_int_equal(n, 77);
	assert_int_equal(jira_find_projects(c, "argon", &projects, &err), 0);
	assert_int_equal(cJSON_GetArraySize(projects), 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(projects, 0), "key")
				    ->valuestring,
			    "AR");
	cJSON_Delete(projects);
	batch_release(&b);
	jira_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_429_retry_after, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_503_exhausts_attempts, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_401_not_retried, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_timeout, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_dropped_connection, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_gzip_and_body_limit, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_schema_change_on_wire, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_cloud_paging, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_dc_keyset_paging, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_comments_and_sprints, per_test, after_test),
		cmocka_unit_test_setup_teardown(test_feeds_and_lookups, per_test, after_test),
	};
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
