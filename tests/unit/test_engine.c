/*
 * Unit tests of the engine's retry arithmetic (engine_retry_decide): backoff
 * growth and cap, minimum delays, non-retryable codes, attempt limits and
 * defaults. The Redis-facing behaviour is tested by
 * tests/integration/engine_*.sh against a real server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "engine/engine.h"

static const char *const never[] = {"AUTH_EXPIRED", "FORBIDDEN"};
static const struct engine_retry_policy policy = {
	.initial_ms = 1000,
	.coefficient = 2.0,
	.max_ms = 10000,
	.max_attempts = 6,
	.non_retryable = never,
	.n_non_retryable = 2,
};

static void test_backoff_grows_then_caps(void **state)
{
	(void)state;
	const int64_t want[] = {0, 1000, 2000, 4000, 8000, 10000};
	for (int attempt = 1; attempt <= 5; attempt++) {
		int64_t d = -1;
		enum engine_fail_reason why = 0;
		assert_true(engine_retry_decide(&policy, attempt, "JIRA_UNAVAILABLE", 0, &d, &why));
		assert_int_equal(d, want[attempt]);
	}
}

static void test_attempts_exhausted(void **state)
{
	(void)state;
	int64_t d = 77;
	enum engine_fail_reason why = 0;
	assert_false(engine_retry_decide(&policy, 6, "JIRA_UNAVAILABLE", 0, &d, &why));
	assert_int_equal(why, ENGINE_EXHAUSTED);
	assert_int_equal(d, 77); /* untouched on failure */
}

static void test_non_retryable_never_retried(void **state)
{
	(void)state;
	int64_t d = 0;
	enum engine_fail_reason why = 0;
	assert_false(engine_retry_decide(&policy, 1, "AUTH_EXPIRED", 0, &d, &why));
	assert_int_equal(why, ENGINE_NOT_RETRYABLE);
	assert_false(engine_retry_decide(&policy, 1, "FORBIDDEN", 5000, &d, &why));
	assert_int_equal(why, ENGINE_NOT_RETRYABLE);
	assert_true(engine_retry_decide(&policy, 1, "RATE_LIMIT", 0, &d, &why));
}

static void test_min_delay_wins_even_over_cap(void **state)
{
	(void)state;
	int64_t d = 0;
	enum engine_fail_reason why = 0;
	assert_true(engine_retry_decide(&policy, 1, "RATE_LIMIT", 3500, &d, &why));
	assert_int_equal(d, 3500);
	assert_true(engine_retry_decide(&policy, 5, "RATE_LIMIT", 60000, &d, &why));
	assert_int_equal(d, 60000);
	assert_true(engine_retry_decide(&policy, 3, "RATE_LIMIT", 100, &d, &why));
	assert_int_equal(d, 4000); /* a short Retry-After does not shorten the backoff */
}

static void test_defaults_and_huge_attempts(void **state)
{
	(void)state;
	struct engine_retry_policy zero = {0};
	int64_t d = 0;
	enum engine_fail_reason why = 0;
	assert_true(engine_retry_decide(&zero, 1, "X", 0, &d, &why));
	assert_int_equal(d, 1000);
	assert_true(engine_retry_decide(&zero, 4, "X", 0, &d, &why));
	assert_int_equal(d, 8000);
	assert_false(engine_retry_decide(&zero, 5, "X", 0, &d, &why));
	struct engine_retry_policy many = {
		.initial_ms = 1000, .coefficient = 10.0, .max_ms = 60000, .max_attempts = 1000000};
	assert_true(engine_retry_decide(&many, 900, "X", 0, &d, &why));
	assert_int_equal(d, 60000); /* no overflow */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_grows_then_caps),
		cmocka_unit_test(test_attempts_exhausted),
		cmocka_unit_test(test_non_retryable_never_retried),
		cmocka_unit_test(test_min_delay_wins_even_over_cap),
		cmocka_unit_test(test_defaults_and_huge_attempts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
