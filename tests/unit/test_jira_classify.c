/*
 * The error classifier against the real error signatures of jira-api.md:
 * each HTTP status / body / header / libcurl code combination must map to
 * the code, retry decision and alert category an operator relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "jira/jira.h"

#include <curl/curl.h>

static struct jira_error classify(long status, const char *body, const char *seraph,
				  const char *retry_after)
{
	struct jira_http_result r = {0};
	r.status = status;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.seraph_login_reason = seraph;
	r.retry_after = retry_after;
	r.method = "POST";
	r.path = "/rest/api/3/search/jql";
	struct jira_error e;
	jira_classify(&r, &e);
	return e;
}

static struct jira_error classify_curl(int cc)
{
	struct jira_http_result r = {0};
	r.curl_code = cc;
	r.method = "GET";
	r.path = "/rest/api/3/field";
	struct jira_error e;
	jira_classify(&r, &e);
	return e;
}

static void expect(struct jira_error e, enum jira_code code, bool retryable, const char *category)
{
	if (e.code != code)
		fail_msg("got %s, want %s (%s)", jira_code_name(e.code), jira_code_name(code),
			 e.message);
	assert_int_equal(e.retryable, retryable);
	assert_string_equal(jira_code_category(e.code), category);
}

static void test_401_variants(void **state)
{
	(void)state;
	expect(classify(
		       401,
		       "{\"message\":\"Client must be authenticated to access this resource.\",\"status-code\":401}",
		       NULL, NULL),
	       JIRA_AUTH_EXPIRED, false, "auth");
	expect(classify(401, "Client must be authenticated to access this resource.", NULL, NULL),
	       JIRA_AUTH_EXPIRED, false, "auth");
	expect(classify(
		       401,
		       "{\"errorMessages\":[\"You are not authenticated. Authentication required to perform this operation.\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_AUTH_EXPIRED, false, "auth");
	expect(classify(
		       401,
		       "Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/",
		       NULL, NULL),
	       JIRA_AUTH_EXPIRED, false, "auth");
	expect(classify(
		       401,
		       "<html><head><title>Unauthorized (401)</title></head><body>Unauthorized</body></html>",
		       "AUTHENTICATED_FAILED", NULL),
	       JIRA_AUTH_EXPIRED, false, "auth");
	/* DC serves bad credentials as anonymous: 200 + the header. */
	expect(classify(200, "{\"issues\":[]}", "AUTHENTICATED_FAILED", NULL), JIRA_AUTH_EXPIRED,
	       false, "auth");
	/* The header saying OK on a 200 is a success. */
	struct jira_error ok = classify(200, "{}", "OK", NULL);
	assert_int_equal(ok.code, JIRA_OK);
	struct jira_error e = classify(401, "Client must be authenticated", NULL, NULL);
	assert_int_equal(e.http_status, 401);
	assert_non_null(strstr(e.message, "POST /rest/api/3/search/jql"));
	assert_non_null(strstr(e.message, "401"));
}

static void test_403_404(void **state)
{
	(void)state;
	expect(classify(
		       403,
		       "{\"errorMessages\":[\"You currently don't have access to perform this operation.\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_FORBIDDEN, false, "auth");
	expect(classify(403, "Tenant is restricted: suspended-payment", NULL, NULL),
	       JIRA_SUSPENDED_PAYMENT, false, "billing");
	expect(classify(403, "{\"errorMessages\":[\"Tenant is restricted: suspended-payment\"]}",
			NULL, NULL),
	       JIRA_SUSPENDED_PAYMENT, false, "billing");
	expect(classify(
		       404,
		       "{\"errorMessage\": \"Site temporarily unavailable\", \"errorCode\": \"OTHER\"}",
		       NULL, NULL),
	       JIRA_SITE_UNAVAILABLE, false, "availability");
	expect(classify(
		       404,
		       "{\"errorMessages\":[\"Issue does not exist or you do not have permission to see it.\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_NOT_FOUND, false, "config");
	expect(classify(
		       404,
		       "{\"errorMessages\":[\"No project could be found with key 'VULN'.\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_NOT_FOUND, false, "config");
	expect(classify(404, "<html><title>Oops, you've found a dead link</title></html>", NULL,
			NULL),
	       JIRA_NOT_FOUND, false, "config");
	struct jira_error e = classify(
		404,
		"{\"errorMessages\":[\"No project could be found with key 'VULN'.\"],\"errors\":{}}",
		NULL, NULL);
	assert_non_null(strstr(e.message, "No project could be found with key 'VULN'."));
}

static void test_400_410(void **state)
{
	(void)state;
	expect(classify(
		       400,
		       "{\"errorMessages\":[\"Error in the JQL Query: The quoted string 'Configuring Fees ' has not been completed. (line 1, character 1305)\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_INVALID_QUERY, false, "config");
	expect(classify(
		       400,
		       "{\"errorMessages\":[\"The value 'VULN' does not exist for the field 'project'.\"],\"warningMessages\":[]}",
		       NULL, NULL),
	       JIRA_INVALID_QUERY, false, "config");
	expect(classify(
		       400,
		       "{\"errorMessages\":[\"Field 'resolution' does not exist or you do not have permission to view it.\"],\"warningMessages\":[]}",
		       NULL, NULL),
	       JIRA_INVALID_QUERY, false, "config");
	expect(classify(
		       410,
		       "{\"errorMessages\":[\"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046\"],\"errors\":{}}",
		       NULL, NULL),
	       JIRA_API_REMOVED, false, "bug");
}

static void test_429_and_5xx(void **state)
{
	(void)state;
	struct jira_error e = classify(
		429, "<html><title>Oops - an error has occurred</title></html>", NULL, "7");
	expect(e, JIRA_RATE_LIMIT, true, "rate_limit");
	assert_int_equal(e.retry_after_ms, 7000);
	/* DC sends 0: at least one second. Long.MAX: capped. */
	assert_int_equal(classify(429, "", NULL, "0").retry_after_ms, 1000);
	assert_int_equal(classify(429, "", NULL, "9223372036854775807").retry_after_ms, 120000);
	/* No Retry-After: X-RateLimit-Reset (a minute ahead) is used. */
	struct jira_http_result r = {0};
	char reset[32];
	jtime_format(reset, now_ms() + 60000);
	reset[16] = 'Z';
	reset[17] = '\0'; /* yyyy-MM-ddTHH:mmZ */
	r.status = 429;
	r.ratelimit_reset = reset;
	jira_classify(&r, &e);
	assert_int_equal(e.code, JIRA_RATE_LIMIT);
	assert_true(e.retry_after_ms >= 1000 && e.retry_after_ms <= 60000);

	expect(classify(
		       503,
		       "<html><head><title>Atlassian Cloud Notifications - Page Unavailable</title></head></html>",
		       NULL, NULL),
	       JIRA_JIRA_UNAVAILABLE, true, "availability");
	e = classify(503, "", NULL, "30");
	expect(e, JIRA_JIRA_UNAVAILABLE, true, "availability");
	assert_int_equal(e.retry_after_ms, 30000);
	expect(classify(500, "{\"errorMessages\":[\"Internal server error\"]}", NULL, NULL),
	       JIRA_JIRA_UNAVAILABLE, true, "availability");
	expect(classify(502, "<html>Bad Gateway</html>", NULL, NULL), JIRA_JIRA_UNAVAILABLE, true,
	       "availability");
	expect(classify(504, "", NULL, NULL), JIRA_JIRA_UNAVAILABLE, true, "availability");
	/* Deep paging on DC: deterministic, not retryable. */
	expect(classify(
		       500,
		       "{\"errorMessages\":[\"Search limit exceeded. The search platform limit of 10,000 results was exceeded (jira.search.platform.max.result.window).\"]}",
		       NULL, NULL),
	       JIRA_INVALID_QUERY, false, "config");
}

static void test_2xx_schema(void **state)
{
	(void)state;
	struct jira_http_result r = {0};
	r.status = 200;
	r.body = "{\"issues\":[{\"id\":";
	r.body_len = strlen(r.body);
	r.json_parse_failed = true;
	r.method = "POST";
	r.path = "/rest/api/3/search/jql";
	struct jira_error e;
	jira_classify(&r, &e);
	expect(e, JIRA_SCHEMA_CHANGE, false, "bug");
	r.json_parse_failed = false;
	jira_classify(&r, &e);
	assert_int_equal(e.code, JIRA_OK);
}

static void test_curl_codes(void **state)
{
	(void)state;
	int glitches[] = {CURLE_OPERATION_TIMEDOUT,  CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR,
			  CURLE_SEND_ERROR,          CURLE_GOT_NOTHING,     CURLE_PARTIAL_FILE,
			  CURLE_COULDNT_RESOLVE_HOST};
	for (size_t i = 0; i < JS_ARRAY_LEN(glitches); i++) {
		struct jira_error e = classify_curl(glitches[i]);
		expect(e, JIRA_NETWORK_GLITCH, true, "network");
		assert_int_equal(e.http_status, 0);
		assert_non_null(strstr(e.message, "GET /rest/api/3/field"));
	}
	int tls[] = {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR,
		     CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM};
	for (size_t i = 0; i < JS_ARRAY_LEN(tls); i++)
		expect(classify_curl(tls[i]), JIRA_TLS_ERROR, false, "network");
	expect(classify_curl(CURLE_URL_MALFORMAT), JIRA_CONFIG_ERROR, false, "config");
}

static void test_names_guidance(void **state)
{
	(void)state;
	for (int i = 1; i < JIRA_N_CODES; i++) {
		const char *name = jira_code_name((enum jira_code)i);
		enum jira_code back;
		assert_int_equal(jira_code_from_name(name, &back), 0);
		assert_int_equal(back, i);
		const char *g = jira_code_guidance((enum jira_code)i);
		assert_true(strlen(g) > 20);
		assert_true(strlen(jira_code_category((enum jira_code)i)) > 0);
	}
	enum jira_code dummy = JIRA_OK;
	assert_int_equal(jira_code_from_name("NO_SUCH_CODE", &dummy), -1);
	assert_int_equal(jira_code_from_name(NULL, &dummy), -1);
	assert_string_equal(jira_code_name(JIRA_AUTH_EXPIRED), "AUTH_EXPIRED");
	assert_string_equal(jira_code_name(JIRA_DB_UNAVAILABLE), "DB_UNAVAILABLE");
	assert_true(jira_code_retryable(JIRA_DB_UNAVAILABLE));
	assert_false(jira_code_retryable(JIRA_CONFIG_ERROR));

	struct jira_error e;
	jira_error_set(&e, JIRA_DB_UNAVAILABLE, "cannot connect to postgres at '%s'",
		       "127.0.0.1:5432");
	assert_int_equal(e.code, JIRA_DB_UNAVAILABLE);
	assert_true(e.retryable);
	assert_string_equal(e.message, "cannot connect to postgres at '127.0.0.1:5432'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_401_variants),   cmocka_unit_test(test_403_404),
		cmocka_unit_test(test_400_410),        cmocka_unit_test(test_429_and_5xx),
		cmocka_unit_test(test_2xx_schema),     cmocka_unit_test(test_curl_codes),
		cmocka_unit_test(test_names_guidance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
