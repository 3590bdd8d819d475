/*
 * common/: Jira timestamp parsing and formatting, durations, bounded
 * buffers, and configuration errors (one line naming the setting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"

static int64_t ms(const char *s)
{
	int64_t v = 0;
	if (jtime_parse(s, &v) < 0)
		fail_msg("'%s' not parsed", s);
	return v;
}

static void test_jtime_parse(void **state)
{
	(void)state;
	assert_int_equal(ms("2021-11-18T00:18:29.845+0000"), 1637194709845);
	assert_int_equal(ms("2022-06-09T16:29:31.871-0700"), 1654817371871);
	assert_int_equal(ms("2021-05-01T03:34:00.000Z"), 1619840040000);
	assert_int_equal(ms("2021-05-01T03:34:00Z"), 1619840040000);
	assert_int_equal(ms("2018-03-06T09:10:57.810-08:00"), 1520356257810);
	assert_int_equal(ms("2021-05-08T07:04:25.376+0100"), 1620453865376);
	assert_int_equal(ms("2021-05-01"), 1619827200000);
	assert_int_equal(ms("1970-01-01T00:00:00.000Z"), 0);
	assert_int_equal(ms("2024-02-29T12:00:00.000Z"), 1709208000000); /* leap day */
	/* Same instant, different zones. */
	assert_int_equal(ms("2022-06-09T16:29:31.871-0700"), ms("2022-06-09T23:29:31.871Z"));

	const char *bad[] = {
		"",
		"garbage",
		"2021-13-01",
		"2021-00-10",
		"2021-02-30",
		"2023-02-29",
		"2021-04-31",
		"2021-05-01T25:00:00Z",
		"2021-05-01T10:60:00Z",
		"2021-05-01T10:00:00+2500",
		"2021-05-01T10:00:00.Z",
		"2021-05-01T10:00:00.000+00",
		"2021-5-1",
		"2021-05-01X",
		"2021-05-01T10:00:00.000Zjunk",
		"12021-05-01",
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++) {
		int64_t v = 42;
		if (jtime_parse(bad[i], &v) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(v, 42); /* out parameter untouched */
	}
	int64_t v;
	assert_int_equal(jtime_parse(NULL, &v), -1);
}

static void test_jtime_format(void **state)
{
	(void)state;
	char out[32];
	assert_string_equal(jtime_format(out, 1637194709845), "2021-11-18T00:18:29.845Z");
	assert_string_equal(jtime_format(out, 0), "1970-01-01T00:00:00.000Z");
	assert_string_equal(jtime_format_jira(out, 1654817371871, -420),
			    "2022-06-09T16:29:31.871-0700");
	/* Round trips, including before 1970. */
	int64_t samples[] = {0, 1, 999, 1637194709845, 1654817371871, 4102444799999, -1, -86400001};
	for (size_t i = 0; i < JS_ARRAY_LEN(samples); i++) {
		int64_t back;
		assert_int_equal(jtime_parse(jtime_format(out, samples[i]), &back), 0);
		assert_int_equal(back, samples[i]);
		assert_int_equal(jtime_parse(jtime_format_jira(out, samples[i], 330), &back), 0);
		assert_int_equal(back, samples[i]);
	}
}

static void test_durations(void **state)
{
	(void)state;
	long v;
	assert_int_equal(parse_duration_s("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(parse_duration_s("90s", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(parse_duration_s("30m", &v), 0);
	assert_int_equal(v, 1800);
	assert_int_equal(parse_duration_s("24h", &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(parse_duration_s("7d", &v), 0);
	assert_int_equal(v, 604800);
	const char *bad[] = {"",       "h", "-5m", "5x", "5mm", "1.5h", "99999999999999999999",
			     "100000d"};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad); i++) {
		v = 7;
		if (parse_duration_s(bad[i], &v) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
	assert_int_equal(parse_duration_s(NULL, &v), -1);
}

static void test_buf_limits(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10);
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "0123456789A"), -1); /* nothing appended */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_printf(&b, "%s=%d", "k", 42), 0);
	assert_string_equal(b.data, "k=42");
	buf_release(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_json_str(&b, "a\"b\\c\n\x01"), 0);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	char *s = buf_detach(&b);
	assert_string_equal(s, "\"a\\\"b\\\\c\\n\\u0001\"");
	assert_int_equal(b.len, 0);
	free(s);
	/* Growth over many appends keeps the contents. */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[9999], 'a' + 9999 % 26);
	assert_int_equal(b.data[10000], '\0');
	buf_release(&b);
}

/* The escaping of one ASCII byte, as JSON wants it. */
static void ref_escape(struct buf *b, unsigned char c)
{
	char tmp[8];
	switch (c) {
	case '"':
		assert_int_equal(buf_puts(b, "\\\""), 0);
		break;
	case '\\':
		assert_int_equal(buf_puts(b, "\\\\"), 0);
		break;
	case '\n':
		assert_int_equal(buf_puts(b, "\\n"), 0);
		break;
	case '\r':
		assert_int_equal(buf_puts(b, "\\r"), 0);
		break;
	case '\t':
		assert_int_equal(buf_puts(b, "\\t"), 0);
		break;
	case '\b':
		assert_int_equal(buf_puts(b, "\\b"), 0);
		break;
	case '\f':
		assert_int_equal(buf_puts(b, "\\f"), 0);
		break;
	default:
		if (c < 0x20) {
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
			assert_int_equal(buf_puts(b, tmp), 0);
		} else {
			assert_int_equal(buf_putc(b, (char)c), 0);
		}
	}
}

/* JSON strings: every special byte at every offset of the word-at-a-time
 * scan, against a byte-by-byte reference; UTF-8 kept, invalid bytes made
 * U+FFFD, embedded NUL escaped when a length is given. */
static void test_json_strings(void **state)
{
	(void)state;
	const unsigned char specials[] = {'"',  '\\', '\n', '\r', '\t', '\b', '\f',
					  0x01, 0x1f, 0x7f, ' ',  '~',  0x00};
	struct buf got, want;
	buf_init(&got, 0);
	buf_init(&want, 0);
	char s[40];
	for (size_t k = 0; k < sizeof specials; k++) {
		for (size_t len = 1; len <= sizeof s; len++) {
			for (size_t at = 0; at < len; at++) {
				memset(s, 'x', sizeof s);
				s[at] = (char)specials[k];
				buf_reset(&got);
				buf_reset(&want);
				assert_int_equal(buf_json_strn(&got, s, len), 0);
				assert_int_equal(buf_putc(&want, '"'), 0);
				for (size_t i = 0; i < len; i++)
					ref_escape(&want, (unsigned char)s[i]);
				assert_int_equal(buf_putc(&want, '"'), 0);
				assert_int_equal(got.len, want.len);
				assert_memory_equal(got.data, want.data, want.len);
			}
		}
	}
	/* Two in one word: a borrow out of the first must not hide or invent
	 * the second. */
	for (size_t k = 0; k < sizeof specials; k++) {
		unsigned char second = specials[(k + 5) % sizeof specials];
		for (size_t at = 0; at < 16; at++) {
			for (size_t d = 1; d <= 8; d++) {
				memset(s, 'x', 24);
				s[at] = (char)specials[k];
				s[at + d] = (char)second;
				buf_reset(&got);
				buf_reset(&want);
				assert_int_equal(buf_json_strn(&got, s, 24), 0);
				assert_int_equal(buf_putc(&want, '"'), 0);
				for (size_t i = 0; i < 24; i++)
					ref_escape(&want, (unsigned char)s[i]);
				assert_int_equal(buf_putc(&want, '"'), 0);
				assert_int_equal(got.len, want.len);
				assert_memory_equal(got.data, want.data, want.len);
			}
		}
	}
	/* A multi-byte character at every offset is kept as it is. */
	for (size_t at = 0; at < 20; at++) {
		memset(s, 'x', 24);
		memcpy(s + at, "\xf0\x9d\x84\x9e", 4);
		buf_reset(&got);
		assert_int_equal(buf_json_strn(&got, s, 24), 0);
		assert_int_equal(got.len, 26);
		assert_memory_equal(got.data + 1, s, 24);
	}
	const struct {
		const char *in, *out;
	} cases[] = {
		{"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e and more ascii text",
		 "\"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e and more ascii text\""},
		{"bad \xff byte in a long enough string",
		 "\"bad \xef\xbf\xbd byte in a long enough string\""},
		{"lone \xc3", "\"lone \xef\xbf\xbd\""},
		{"surrogate \xed\xa0\x80!", "\"surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!\""},
		{"overlong \xc0\xaf", "\"overlong \xef\xbf\xbd\xef\xbf\xbd\""},
		{"", "\"\""},
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(cases); i++) {
		buf_reset(&got);
		assert_int_equal(buf_json_str(&got, cases[i].in), 0);
		assert_string_equal(got.data, cases[i].out);
	}
	buf_reset(&got);
	assert_int_equal(buf_json_strn(&got, "a\0b", 3), 0);
	assert_string_equal(got.data, "\"a\\u0000b\"");
	buf_release(&got);
	buf_release(&want);
}

static const char *const config_vars[] = {
	"DATABASE_URL",
	"REDIS_URL",
	"JIRA_BASE_URL",
	"JIRA_EMAIL",
	"JIRA_API_TOKEN",
	"JIRA_PAT",
	"JIRA_FLAVOUR",
	"WORKER_CONCURRENCY",
	"SMTP_URL",
	"ALERT_EMAIL_TO",
	"ALERT_EMAIL_FROM",
	"JIRA_PAGE_SIZE",
	"JIRA_PARALLEL_REQUESTS",
	"RECONCILE_EVERY",
	"SPRINT_REFRESH_EVERY",
	"ENGINE_VISIBILITY_MS",
	"ENGINE_MAX_DELIVERIES",
	"WORKER_GRACE_MS",
	"SCHEDULER_LEASE_MS",
	"SCHEDULER_TICK_MS",
	"SCHEDULER_RECONCILE_GRACE_MS",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < JS_ARRAY_LEN(config_vars); i++)
		unsetenv(config_vars[i]);
	return 0;
}

static void set_valid_env(void)
{
	setenv("DATABASE_URL", "postgres://u:secretpw@127.0.0.1:5432/js", 1);
	setenv("REDIS_URL", "redis://127.0.0.1:6379", 1);
	setenv("JIRA_BASE_URL", "https://example.atlassian.net/", 1);
	setenv("JIRA_EMAIL", "ops@example.com", 1);
	setenv("JIRA_API_TOKEN", "tok-123", 1);
}

/* Loads the config and returns the error line ("" on success). */
static const char *load_err(unsigned need)
{
	static char err[256];
	struct config c;
	err[0] = '\0';
	int rc = config_load(&c, need, err, sizeof err);
	config_release(&c);
	if (rc == 0)
		err[0] = '\0';
	else
		assert_true(err[0] != '\0');
	/* One line. */
	assert_null(strchr(err, '\n'));
	return err;
}

static void test_config_errors(void **state)
{
	(void)state;
	unsigned all = JS_NEED_DB | JS_NEED_REDIS | JS_NEED_JIRA;
	set_valid_env();
	assert_string_equal(load_err(all), "");

	struct config c;
	char err[256];
	assert_int_equal(config_load(&c, all, err, sizeof err), 0);
	assert_string_equal(c.jira_base_url, "https://example.atlassian.net"); /* slash trimmed */
	assert_int_equal(c.worker_concurrency, 4);
	assert_int_equal(c.http_max_attempts, 3);
	assert_int_equal(c.page_size, 100);
	assert_int_equal(c.http_parallel, 4);
	assert_int_equal(c.reconcile_every_s, 86400);
	assert_int_equal(c.sprint_refresh_s, 3600);
	config_release(&c);
	setenv("SPRINT_REFRESH_EVERY", "0", 1);
	assert_int_equal(config_load(&c, all, err, sizeof err), 0);
	assert_int_equal(c.sprint_refresh_s, 0);
	config_release(&c);
	setenv("SPRINT_REFRESH_EVERY", "soon", 1);
	assert_non_null(strstr(load_err(all), "SPRINT_REFRESH_EVERY"));
	unsetenv("SPRINT_REFRESH_EVERY");

	unsetenv("DATABASE_URL");
	assert_non_null(strstr(load_err(all), "DATABASE_URL"));
	assert_string_equal(load_err(JS_NEED_REDIS), ""); /* not needed: fine */

	set_valid_env();
	setenv("REDIS_URL", "localhost:6379", 1);
	assert_non_null(strstr(load_err(all), "REDIS_URL"));

	set_valid_env();
	setenv("JIRA_BASE_URL", "example.atlassian.net", 1);
	assert_non_null(strstr(load_err(all), "JIRA_BASE_URL"));

	set_valid_env();
	const char *bad_conc[] = {"0", "-1", "abc", "4x", "100000"};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad_conc); i++) {
		setenv("WORKER_CONCURRENCY", bad_conc[i], 1);
		assert_non_null(strstr(load_err(all), "WORKER_CONCURRENCY"));
	}
	setenv("WORKER_CONCURRENCY", "8", 1);
	assert_string_equal(load_err(all), "");

	const char *bad_par[] = {"0", "17", "four", "2x"};
	for (size_t i = 0; i < JS_ARRAY_LEN(bad_par); i++) {
		setenv("JIRA_PARALLEL_REQUESTS", bad_par[i], 1);
		assert_non_null(strstr(load_err(all), "JIRA_PARALLEL_REQUESTS"));
	}
	setenv("JIRA_PARALLEL_REQUESTS", "1", 1);
	assert_int_equal(config_load(&c, all, err, sizeof err), 0);
	assert_int_equal(c.http_parallel, 1);
	config_release(&c);
	unsetenv("JIRA_PARALLEL_REQUESTS");

	/* The engine and service settings: defaults, and a malformed one named. */
	clear_env(NULL);
	set_valid_env();
	assert_int_equal(config_load(&c, all, err, sizeof err), 0);
	assert_int_equal(c.engine_visibility_ms, 30000);
	assert_int_equal(c.engine_max_deliveries, 5);
	assert_int_equal(c.worker_grace_ms, 30000);
	assert_int_equal(c.scheduler_lease_ms, 10000);
	assert_int_equal(c.scheduler_tick_ms, 1000);
	assert_int_equal(c.scheduler_reconcile_grace_ms, 5000);
	config_release(&c);
	const char *tuning[] = {"ENGINE_VISIBILITY_MS", "ENGINE_MAX_DELIVERIES",
				"WORKER_GRACE_MS",      "SCHEDULER_LEASE_MS",
				"SCHEDULER_TICK_MS",    "SCHEDULER_RECONCILE_GRACE_MS"};
	for (size_t i = 0; i < JS_ARRAY_LEN(tuning); i++) {
		setenv(tuning[i], "5s", 1);
		assert_non_null(strstr(load_err(all), tuning[i]));
		setenv(tuning[i], "-1", 1);
		assert_non_null(strstr(load_err(all), tuning[i]));
		unsetenv(tuning[i]);
	}
	setenv("SCHEDULER_LEASE_MS", "2000", 1);
	assert_int_equal(config_load(&c, all, err, sizeof err), 0);
	assert_int_equal(c.scheduler_lease_ms, 2000);
	config_release(&c);
	unsetenv("SCHEDULER_LEASE_MS");

	set_valid_env();
	unsetenv("JIRA_EMAIL");
	assert_non_null(strstr(load_err(all), "JIRA_EMAIL"));
	/* The error never repeats a secret. */
	setenv("DATABASE_URL", "mysql://u:secretpw@h/db", 1);
	const char *e = load_err(all);
	assert_non_null(strstr(e, "DATABASE_URL"));
	assert_null(strstr(e, "secretpw"));
	clear_env(NULL);
}

/* Strings of an adopted arena outlive their first arena and are freed with
 * the adopting one (ASan reports a leak or a use after free otherwise). */
static void test_arena_adopt(void **state)
{
	(void)state;
	struct arena dst, src, empty;
	arena_init(&dst);
	arena_init(&src);
	arena_init(&empty);
	const char *kept = arena_strdup(&dst, "owned by dst");
	const char *moved[200];
	char name[32];
	for (int i = 0; i < 200; i++) { /* several blocks */
		snprintf(name, sizeof name, "row %d", i);
		moved[i] = arena_strdup(&src, name);
		(void)arena_alloc(&src, 500);
	}
	size_t total = dst.used_total + src.used_total;
	arena_adopt(&dst, &src);
	assert_null(src.head);
	assert_int_equal(src.used_total, 0);
	assert_int_equal(dst.used_total, total);
	arena_adopt(&dst, &empty); /* nothing to move */
	arena_release(&src);       /* frees nothing of the moved rows */
	assert_string_equal(kept, "owned by dst");
	assert_string_equal(moved[0], "row 0");
	assert_string_equal(moved[199], "row 199");
	/* dst goes on allocating, then frees everything once. */
	assert_string_equal(arena_strdup(&dst, "after"), "after");
	arena_init(&empty);
	arena_adopt(&empty, &dst); /* into an arena with no block */
	assert_string_equal(moved[100], "row 100");
	arena_release(&empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jtime_parse),
		cmocka_unit_test(test_jtime_format),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_buf_limits),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_arena_adopt),
		cmocka_unit_test_setup(test_config_errors, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
