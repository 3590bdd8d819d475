/*
 * Unit tests of the scheduler's cron expressions: a table of next-fire times
 * worked out by hand from a calendar (the Vixie day rule, leap days, steps,
 * month ends, names, macros, year ends, the seconds extension), the exact
 * error messages for invalid input, a comparison against a naive day-by-day
 * and minute-by-minute search over random expressions, the per-project
 * jitter, and the `jirasync cron` command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "scheduler/scheduler.h"

static int64_t ts(const char *s)
{
	int64_t ms;
	if (jtime_parse(s, &ms) < 0)
		fail_msg("bad time in test: %s", s);
	return ms;
}

static struct cron parse_ok(const char *expr)
{
	struct cron c;
	char err[256] = "";
	if (cron_parse(expr, &c, err, sizeof err) != 0)
		fail_msg("'%s' did not parse: %s", expr, err);
	return c;
}

/* ---- next-fire table ----------------------------------------------------- */

struct next_case {
	const char *expr;
	const char *from;
	const char *want[6]; /* the next fire times in order; NULL ends */
};

/* Weekdays checked against a calendar: 2025-01-01 Wed, 2025-03-28 Fri,
 * 2025-05-15 Thu, 2025-06-01 Sun, 2025-07-01 Tue, 2026-01-01 Thu. */
static const struct next_case next_cases[] = {
	/* Either rule: every 13th and every Friday. June 2025: Fridays 6, 13
	 * (also the 13th), 20, 27. July: Fridays 4, 11, 18, 25; the 13th is a
	 * Sunday and fires too. */
	{"0 0 13 * FRI",
	 "2025-06-01T00:00:00Z",
	 {"2025-06-06T00:00:00Z", "2025-06-13T00:00:00Z", "2025-06-20T00:00:00Z",
	  "2025-06-27T00:00:00Z", "2025-07-04T00:00:00Z", "2025-07-11T00:00:00Z"}},
	{"0 0 13 * 5",
	 "2025-07-11T00:00:00Z",
	 {"2025-07-13T00:00:00Z", "2025-07-18T00:00:00Z", "2025-07-25T00:00:00Z"}},
	/* Day-of-week led by '*': both must match (Vixie): only Mondays. */
	{"0 0 * * MON", "2025-06-01T00:00:00Z", {"2025-06-02T00:00:00Z", "2025-06-09T00:00:00Z"}},
	/* February 29: the next leap year, and across 2100 (not a leap year). */
	{"0 0 29 2 *", "2025-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
	{"0 0 29 2 *", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
	/* Feb 29 on a Sunday (star-led day-of-week, so AND): 2088 then 2128,
	 * a 40-year gap that a short horizon would miss. */
	{"0 0 29 2 */7", "2088-03-01T00:00:00Z", {"2128-02-29T00:00:00Z"}},
	{"0 0 29 2 */7", "2025-01-01T00:00:00Z", {"2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"}},
	/* Steps on ranges and N/S. */
	{"10-50/20 * * * *",
	 "2025-01-01T00:00:00Z",
	 {"2025-01-01T00:10:00Z", "2025-01-01T00:30:00Z", "2025-01-01T00:50:00Z",
	  "2025-01-01T01:10:00Z"}},
	{"5/10 * * * *",
	 "2025-01-01T00:50:00Z",
	 {"2025-01-01T00:55:00Z", "2025-01-01T01:05:00Z", "2025-01-01T01:15:00Z"}},
	{"0 0 1-30/7 * *",
	 "2025-04-01T00:00:00Z",
	 {"2025-04-08T00:00:00Z", "2025-04-15T00:00:00Z", "2025-04-22T00:00:00Z",
	  "2025-04-29T00:00:00Z", "2025-05-01T00:00:00Z"}},
	{"0 */6 * * *", "2025-01-01T05:59:59Z", {"2025-01-01T06:00:00Z", "2025-01-01T12:00:00Z"}},
	/* Month ends: the 31st skips 30-day months and February. */
	{"0 0 31 * *",
	 "2025-01-31T00:00:00Z",
	 {"2025-03-31T00:00:00Z", "2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z",
	  "2025-08-31T00:00:00Z", "2025-10-31T00:00:00Z", "2025-12-31T00:00:00Z"}},
	{"0 0 30 * *", "2025-01-30T00:00:00Z", {"2025-03-30T00:00:00Z", "2025-04-30T00:00:00Z"}},
	/* Names, mixed case, and ranges of names. 2025-03-31 is a Monday; April
	 * to December are skipped; 2026-01-01 is a Thursday. */
	{"0 9 * JAN-MAR mon-fri",
	 "2025-03-28T09:00:00Z",
	 {"2025-03-31T09:00:00Z", "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z",
	  "2026-01-05T09:00:00Z"}},
	{"0 9 1 jUn,Dec *",
	 "2025-01-01T00:00:00Z",
	 {"2025-06-01T09:00:00Z", "2025-12-01T09:00:00Z"}},
	/* 7 = Sunday, alone and in ranges; SUN closing a range is 7. */
	{"0 12 * * 7", "2025-01-01T00:00:00Z", {"2025-01-05T12:00:00Z", "2025-01-12T12:00:00Z"}},
	{"0 12 * * 0", "2025-01-01T00:00:00Z", {"2025-01-05T12:00:00Z"}},
	{"0 12 * * 5-7",
	 "2025-01-01T00:00:00Z",
	 {"2025-01-03T12:00:00Z", "2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z",
	  "2025-01-10T12:00:00Z"}},
	{"0 12 * * fri-sun",
	 "2025-01-01T00:00:00Z",
	 {"2025-01-03T12:00:00Z", "2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z"}},
	/* Macros, from Thursday 2025-05-15 10:30. */
	{"@hourly", "2025-05-15T10:30:00Z", {"2025-05-15T11:00:00Z", "2025-05-15T12:00:00Z"}},
	{"@daily", "2025-05-15T10:30:00Z", {"2025-05-16T00:00:00Z", "2025-05-17T00:00:00Z"}},
	{"@midnight", "2025-05-15T10:30:00Z", {"2025-05-16T00:00:00Z"}},
	{"@weekly", "2025-05-15T10:30:00Z", {"2025-05-18T00:00:00Z", "2025-05-25T00:00:00Z"}},
	{"@monthly", "2025-05-15T10:30:00Z", {"2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"}},
	{"@yearly", "2025-05-15T10:30:00Z", {"2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
	{"@annually", "2025-05-15T10:30:00Z", {"2026-01-01T00:00:00Z"}},
	{"  @DAILY  ", "2025-05-15T10:30:00Z", {"2025-05-16T00:00:00Z"}},
	/* Quarter-hour boundaries: strictly after, to the millisecond. */
	{"*/15 * * * *", "2025-01-01T00:14:59.999Z", {"2025-01-01T00:15:00Z"}},
	{"*/15 * * * *", "2025-01-01T00:15:00.000Z", {"2025-01-01T00:30:00Z"}},
	{"*/15 * * * *", "2025-01-01T00:15:00.001Z", {"2025-01-01T00:30:00Z"}},
	{"*/15 * * * *", "2025-01-01T00:45:00Z", {"2025-01-01T01:00:00Z"}},
	/* Year ends. */
	{"*/15 * * * *", "2025-12-31T23:45:00Z", {"2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z"}},
	{"0 0 1 1 *", "2025-12-31T23:59:59Z", {"2026-01-01T00:00:00Z"}},
	{"59 23 31 12 *", "2025-12-31T23:59:00Z", {"2026-12-31T23:59:00Z"}},
	{"30 2 * * *", "2024-12-31T03:00:00Z", {"2025-01-01T02:30:00Z"}},
	/* Lists mixing items. */
	{"0,30 8-9,17 * * *",
	 "2025-01-01T09:30:00Z",
	 {"2025-01-01T17:00:00Z", "2025-01-01T17:30:00Z", "2025-01-02T08:00:00Z"}},
	/* Seconds extension: six fields, seconds first. */
	{"*/2 * * * * *",
	 "2025-01-01T00:00:00Z",
	 {"2025-01-01T00:00:02Z", "2025-01-01T00:00:04Z", "2025-01-01T00:00:06Z"}},
	{"*/2 * * * * *", "2025-01-01T00:00:01.500Z", {"2025-01-01T00:00:02Z"}},
	{"*/2 * * * * *", "2025-12-31T23:59:58Z", {"2026-01-01T00:00:00Z"}},
	{"30 0 0 1 1 *", "2025-01-01T00:00:30Z", {"2026-01-01T00:00:30Z"}},
	/* Before 1970 works too. */
	{"0 0 1 1 *", "1969-06-01T00:00:00Z", {"1970-01-01T00:00:00Z"}},
};

static void test_next_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < JS_ARRAY_LEN(next_cases); i++) {
		const struct next_case *tc = &next_cases[i];
		struct cron c = parse_ok(tc->expr);
		int64_t t = ts(tc->from);
		for (size_t k = 0; k < JS_ARRAY_LEN(tc->want) && tc->want[k]; k++) {
			int64_t next = 0;
			char got[32];
			int rc = cron_next(&c, t, &next);
			if (rc != 0)
				fail_msg("'%s' after %s: error %d, want %s", tc->expr, tc->from, rc,
					 tc->want[k]);
			if (next != ts(tc->want[k]))
				fail_msg("'%s' from %s, fire %zu: got %s, want %s", tc->expr,
					 tc->from, k + 1, cron_format_rfc3339(got, next),
					 tc->want[k]);
			assert_true(cron_matches(&c, next));
			t = next;
		}
	}
}

static void test_next_n_matches_repeated_next(void **state)
{
	(void)state;
	struct cron c = parse_ok("0 0 13 * FRI");
	int64_t times[5];
	assert_int_equal(cron_next_n(&c, ts("2025-07-01T00:00:00Z"), times, 5), 0);
	const char *want[] = {"2025-07-04T00:00:00Z", "2025-07-11T00:00:00Z",
			      "2025-07-13T00:00:00Z", "2025-07-18T00:00:00Z",
			      "2025-07-25T00:00:00Z"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(times[i], ts(want[i]));
}

static void test_never_fires(void **state)
{
	(void)state;
	const char *never[] = {"0 0 30 2 *", "0 0 31 2,4,6,9,11 *", "0 0 31 4 *",
			       "0 0 30,31 2 */7"};
	for (size_t i = 0; i < JS_ARRAY_LEN(never); i++) {
		struct cron c = parse_ok(never[i]);
		int64_t next = 42;
		/* Returning at all is the point: the search is bounded. */
		assert_int_equal(cron_next(&c, ts("2025-01-01T00:00:00Z"), &next), CRON_ENEVER);
		assert_int_equal(next, 42); /* untouched */
	}
	/* An either-rule day-of-week rescues an impossible day-of-month. */
	struct cron c = parse_ok("0 0 30 2 MON");
	int64_t next;
	assert_int_equal(cron_next(&c, ts("2025-01-01T00:00:00Z"), &next), 0);
	assert_int_equal(next, ts("2025-02-03T00:00:00Z"));
}

static void test_time_range(void **state)
{
	(void)state;
	struct cron c = parse_ok("0 0 1 1 *");
	int64_t next = 7;
	assert_int_equal(cron_next(&c, ts("9999-06-01T00:00:00Z"), &next), CRON_ERANGE);
	assert_int_equal(cron_next(&c, CRON_MAX_MS + 1, &next), CRON_ERANGE);
	assert_int_equal(cron_next(&c, CRON_MIN_MS - 1, &next), CRON_ERANGE);
	assert_int_equal(next, 7);
	assert_int_equal(cron_next(&c, ts("9998-06-01T00:00:00Z"), &next), 0);
	assert_int_equal(next, ts("9999-01-01T00:00:00Z"));
}

/* ---- parse results and errors -------------------------------------------- */

static void test_parse_bitsets(void **state)
{
	(void)state;
	struct cron c = parse_ok("10-50/20 */6 1,15 JAN-MAR/2 1-5");
	assert_int_equal(c.second, 1);
	assert_int_equal(c.minute, (UINT64_C(1) << 10) | (UINT64_C(1) << 30) | (UINT64_C(1) << 50));
	assert_int_equal(c.hour, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
	assert_int_equal(c.dom, (1u << 1) | (1u << 15));
	assert_int_equal(c.month, (1u << 1) | (1u << 3));
	assert_int_equal(c.dow, 0x3e);
	assert_int_equal(c.flags, 0);

	c = parse_ok("* * * * *");
	assert_int_equal(c.minute, (UINT64_C(1) << 60) - 1);
	assert_int_equal(c.hour, (1u << 24) - 1);
	assert_int_equal(c.dom, 0xfffffffeu);
	assert_int_equal(c.month, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_int_equal(c.flags, CRON_F_DOM_STAR | CRON_F_DOW_STAR);

	c = parse_ok("0 0 * * 7");
	assert_int_equal(c.dow, 1);
	c = parse_ok("0 0 * * 1/2"); /* 1-7/2: Mon, Wed, Fri, Sun */
	assert_int_equal(c.dow, (1u << 1) | (1u << 3) | (1u << 5) | 1u);

	c = parse_ok("*/5 0 0 * * *");
	assert_int_equal(c.flags & CRON_F_SECONDS, CRON_F_SECONDS);
	uint64_t every5 = 0;
	for (int s = 0; s < 60; s += 5)
		every5 |= UINT64_C(1) << s;
	assert_int_equal(c.second, every5);

	/* Macros are exactly their expansions. */
	struct cron a = parse_ok("@weekly"), b = parse_ok("0 0 * * 0");
	assert_memory_equal(&a, &b, sizeof a);
	a = parse_ok("@annually");
	b = parse_ok("0 0 1 1 *");
	assert_memory_equal(&a, &b, sizeof a);
}

struct err_case {
	const char *expr;
	const char *msg;
};

static const struct err_case err_cases[] = {
	{"60 * * * *", "invalid cron '60 * * * *': minute: value 60 out of range 0-59"},
	{"* 24 * * *", "invalid cron '* 24 * * *': hour: value 24 out of range 0-23"},
	{"0 0 0 * *", "invalid cron '0 0 0 * *': day-of-month: value 0 out of range 1-31"},
	{"0 0 32 * *", "invalid cron '0 0 32 * *': day-of-month: value 32 out of range 1-31"},
	{"0 0 * 13 *", "invalid cron '0 0 * 13 *': month: value 13 out of range 1-12"},
	{"0 0 * 0 *", "invalid cron '0 0 * 0 *': month: value 0 out of range 1-12"},
	{"0 0 * * 8", "invalid cron '0 0 * * 8': day-of-week: value 8 out of range 0-7"},
	{"61 * * * * *", "invalid cron '61 * * * * *': second: value 61 out of range 0-59"},
	{"99999999999 * * * *",
	 "invalid cron '99999999999 * * * *': minute: value 99999999999 out of range 0-59"},
	{"*/0 * * * *", "invalid cron '*/0 * * * *': minute: step 0 out of range 1-60"},
	{"0 0 1-31/0 * *", "invalid cron '0 0 1-31/0 * *': day-of-month: step 0 out of range 1-31"},
	{"0 */25 * * *", "invalid cron '0 */25 * * *': hour: step 25 out of range 1-24"},
	{"1/x * * * *",
	 "invalid cron '1/x * * * *': minute: expected a step number after '/', got 'x'"},
	{"5-1 * * * *",
	 "invalid cron '5-1 * * * *': minute: range 5-1 has its start after its end"},
	{"0 0 * * FRI-MON",
	 "invalid cron '0 0 * * FRI-MON': day-of-week: range 5-1 has its start after its end"},
	{"0 0 * DEC-JAN *",
	 "invalid cron '0 0 * DEC-JAN *': month: range 12-1 has its start after its end"},
	{"x", "invalid cron 'x': expected 5 fields, got 1"},
	{"* * * *", "invalid cron '* * * *': expected 5 fields, got 4"},
	{"* * * * * * *", "invalid cron '* * * * * * *': expected 5 fields, got 7"},
	{"", "invalid cron '': empty expression"},
	{"   ", "invalid cron '   ': empty expression"},
	{"0 0 * FOO *",
	 "invalid cron '0 0 * FOO *': month: unknown name 'FOO' (expected 1-12 or JAN-DEC)"},
	{"0 0 * * MONDAY",
	 "invalid cron '0 0 * * MONDAY': day-of-week: unknown name 'MONDAY' (expected 0-7 or SUN-SAT)"},
	{"0 0 MON * *", "invalid cron '0 0 MON * *': day-of-month: expected a number, got 'MON'"},
	{"a * * * *", "invalid cron 'a * * * *': minute: expected a number, got 'a'"},
	{"1,,2 * * * *", "invalid cron '1,,2 * * * *': minute: empty list element"},
	{"1, * * * *", "invalid cron '1, * * * *': minute: empty list element"},
	{"1- * * * *", "invalid cron '1- * * * *': minute: missing value at the end"},
	{"1#2 * * * *", "invalid cron '1#2 * * * *': minute: unexpected '#2'"},
	{"** * * * *", "invalid cron '** * * * *': minute: unexpected '*'"},
	{"@fortnightly", "invalid cron '@fortnightly': unknown macro '@fortnightly'"},
	{"@reboot", "invalid cron '@reboot': @reboot is not supported (it has no schedule)"},
	{"@daily 5", "invalid cron '@daily 5': unexpected text after '@daily'"},
	{"0\t0\x01 * * *", "invalid cron '0?0? * * *': hour: unexpected '?'"},
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < JS_ARRAY_LEN(err_cases); i++) {
		struct cron c;
		memset(&c, 0xab, sizeof c);
		struct cron before = c;
		char err[256] = "";
		if (cron_parse(err_cases[i].expr, &c, err, sizeof err) != -1)
			fail_msg("'%s' parsed but should not", err_cases[i].expr);
		assert_string_equal(err, err_cases[i].msg);
		assert_memory_equal(&c, &before, sizeof c); /* untouched on error */
	}
}

static void test_parse_error_buffers(void **state)
{
	(void)state;
	struct cron c;
	char small[16];
	/* A short buffer is truncated, NUL-terminated; NULL err is allowed. */
	assert_int_equal(cron_parse("0 0 32 * *", &c, small, sizeof small), -1);
	assert_string_equal(small, "invalid cron '0");
	assert_int_equal(cron_parse("0 0 32 * *", &c, NULL, 0), -1);
	assert_int_equal(cron_parse(NULL, &c, small, sizeof small), -1);
	/* A very long expression is shown shortened. */
	char longexpr[600];
	memset(longexpr, '1', sizeof longexpr - 1);
	longexpr[sizeof longexpr - 1] = '\0';
	char err[256];
	assert_int_equal(cron_parse(longexpr, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "...': field 1 is too long (599 characters)"));
}

/* ---- comparison with a naive search -------------------------------------- */

/* Does this UTC day match, by the Vixie rule, using gmtime's calendar? */
static bool naive_day(const struct cron *c, const struct tm *tm)
{
	bool dom = c->dom >> tm->tm_mday & 1, dow = c->dow >> tm->tm_wday & 1;
	if (!(c->month >> (tm->tm_mon + 1) & 1))
		return false;
	if (c->flags & (CRON_F_DOM_STAR | CRON_F_DOW_STAR))
		return dom && dow;
	return dom || dow;
}

/* Day by day for up to 9 years, then second by second within a matching
 * day; returns -1 when nothing was found. */
static int64_t naive_next(const struct cron *c, int64_t after_ms)
{
	time_t t = (time_t)(after_ms / 1000 + 1); /* the tests use positive times */
	time_t day = t - t % 86400;
	for (int i = 0; i < 9 * 366; i++, day += 86400) {
		struct tm tm;
		gmtime_r(&day, &tm);
		if (!naive_day(c, &tm))
			continue;
		for (time_t s = day < t ? t : day; s < day + 86400; s++) {
			int sod = (int)(s % 86400);
			if (!(c->hour >> (sod / 3600) & 1)) {
				s += 3599 - sod % 3600; /* rest of the hour */
				continue;
			}
			if (!(c->minute >> (sod / 60 % 60) & 1)) {
				s += 59 - sod % 60; /* rest of the minute */
				continue;
			}
			if (c->second >> (sod % 60) & 1)
				return (int64_t)s * 1000;
		}
	}
	return -1;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* A random field item drawn from the forms cron accepts. */
static void rnd_field(struct buf *b, int min, int max)
{
	int n = 1 + (int)rnd(2);
	for (int i = 0; i < n; i++) {
		int lo = min + (int)rnd((uint32_t)(max - min + 1));
		int hi = lo + (int)rnd((uint32_t)(max - lo + 1));
		int r = (int)rnd(6);
		if (i)
			assert_int_equal(buf_putc(b, ','), 0);
		if (r == 0)
			assert_int_equal(buf_puts(b, "*"), 0);
		else if (r == 1)
			assert_int_equal(buf_printf(b, "*/%d", 1 + (int)rnd(7)), 0);
		else if (r == 2)
			assert_int_equal(buf_printf(b, "%d", lo), 0);
		else if (r == 3)
			assert_int_equal(buf_printf(b, "%d-%d", lo, hi), 0);
		else if (r == 4)
			assert_int_equal(buf_printf(b, "%d-%d/%d", lo, hi, 1 + (int)rnd(5)), 0);
		else
			assert_int_equal(buf_printf(b, "%d/%d", lo, 1 + (int)rnd(7)), 0);
	}
}

static void test_against_naive_search(void **state)
{
	(void)state;
	int compared = 0;
	for (int i = 0; i < 300; i++) {
		struct buf b = BUF_INIT;
		buf_init(&b, 256);
		if (rnd(4) == 0) {
			rnd_field(&b, 0, 59);
			assert_int_equal(buf_putc(&b, ' '), 0);
		}
		static const int lim[5][2] = {{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}};
		for (int f = 0; f < 5; f++) {
			if (f)
				assert_int_equal(buf_putc(&b, ' '), 0);
			rnd_field(&b, lim[f][0], lim[f][1]);
		}
		struct cron c = parse_ok(b.data);
		int64_t after = ts("2020-01-01T00:00:00Z") + (int64_t)rnd(10 * 365) * 86400000 +
				(int64_t)rnd(86400000);
		int64_t want = naive_next(&c, after), got = 0;
		int rc = cron_next(&c, after, &got);
		if (want < 0) {
			/* Nothing in 9 years: cron_next may find a later time, never an earlier one. */
			assert_true(rc == CRON_ENEVER || got > after + INT64_C(9) * 365 * 86400000);
		} else {
			char g[32], w[32];
			if (rc != 0 || got != want)
				fail_msg("'%s' after %" PRId64 ": got %s (rc %d), want %s", b.data,
					 after, cron_format_rfc3339(g, got), rc,
					 cron_format_rfc3339(w, want));
			compared++;
		}
		buf_release(&b);
	}
	assert_true(compared > 200);
}

/* ---- jitter --------------------------------------------------------------- */

static void test_jitter_stable_and_in_range(void **state)
{
	(void)state;
	assert_int_equal(cron_jitter_seconds("ABC", 900), cron_jitter_seconds("ABC", 900));
	uint32_t abc = cron_jitter_seconds("ABC", 900);
	assert_true(abc < 900);
	for (uint32_t period = 1; period < 5000; period += 37) {
		char key[16];
		snprintf(key, sizeof key, "K%u", period);
		assert_true(cron_jitter_seconds(key, period) < period);
	}
	assert_int_equal(cron_jitter_seconds("ABC", 0), 0);
	assert_int_equal(cron_jitter_seconds(NULL, 900), 0);
	assert_int_equal(cron_jitter_seconds("ABC", 1), 0);
}

static void test_jitter_pinned_values(void **state)
{
	(void)state;
	/* FNV-1a 64 of "ABC" is 0xfa2fe219a07442eb and of "PROJ"
	 * 0x998b53199893bf56; murmur3's fmix64 of those, modulo the period,
	 * gives these offsets (worked out with a separate script). Pinned so
	 * the fire seconds of deployed projects never move. */
	assert_int_equal(cron_jitter_seconds("ABC", 900), 497);
	assert_int_equal(cron_jitter_seconds("PROJ", 3600), 2638);
}

static void test_jitter_spread(void **state)
{
	(void)state;
	bool used[900] = {false};
	int distinct = 0;
	for (int i = 1; i <= 1000; i++) {
		char key[16];
		snprintf(key, sizeof key, "P%d", i);
		uint32_t j = cron_jitter_seconds(key, 900);
		if (!used[j]) {
			used[j] = true;
			distinct++;
		}
	}
	/* A uniform spread of 1000 keys over 900 seconds covers about 600. */
	assert_true(distinct > 500);
}

static void test_jitter_period(void **state)
{
	(void)state;
	struct cron c = parse_ok("*/15 * * * *");
	assert_int_equal(cron_jitter_period_s(&c), 900);
	c = parse_ok("* * * * *");
	assert_int_equal(cron_jitter_period_s(&c), 60);
	c = parse_ok("*/2 * * * * *");
	assert_int_equal(cron_jitter_period_s(&c), 2);
	c = parse_ok("@daily");
	assert_int_equal(cron_jitter_period_s(&c), 3600);
	c = parse_ok("0,5 * * * *");
	assert_int_equal(cron_jitter_period_s(&c), 300);
}

static void test_jittered_slots_unique_and_stable(void **state)
{
	(void)state;
	struct cron c = parse_ok("*/15 * * * *");
	uint32_t j = 437;
	int64_t slot, fire, t = ts("2025-01-01T00:00:00Z");
	/* 00:00 slot fires at 00:07:17 (after our start), then each quarter. */
	assert_int_equal(cron_next_jittered(&c, t, j, &slot, &fire), 0);
	assert_int_equal(slot, ts("2025-01-01T00:00:00Z"));
	assert_int_equal(fire, ts("2025-01-01T00:07:17Z"));
	int64_t prev_slot = slot;
	t = fire;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(cron_next_jittered(&c, t, j, &slot, &fire), 0);
		assert_int_equal(slot, prev_slot + 900000); /* every slot, once, in order */
		assert_int_equal(fire, slot + 437000);
		assert_true(fire > t);
		prev_slot = slot;
		t = fire;
	}
	/* A restart at any moment finds the slot that has not fired yet. */
	assert_int_equal(cron_next_jittered(&c, ts("2025-01-01T00:20:00Z"), j, &slot, &fire), 0);
	assert_int_equal(slot, ts("2025-01-01T00:15:00Z"));
	assert_int_equal(fire, ts("2025-01-01T00:22:17Z"));
	assert_int_equal(cron_next_jittered(&c, ts("2025-01-01T00:22:17Z"), j, &slot, NULL), 0);
	assert_int_equal(slot, ts("2025-01-01T00:30:00Z"));
	/* 1,000 projects on the same schedule fire in many distinct seconds. */
	bool used[900] = {false};
	int distinct = 0;
	for (int i = 0; i < 1000; i++) {
		char key[16];
		snprintf(key, sizeof key, "TEAM%d", i);
		uint32_t pj = cron_jitter_seconds(key, cron_jitter_period_s(&c));
		assert_int_equal(
			cron_next_jittered(&c, ts("2025-01-01T00:00:00Z"), pj, &slot, &fire), 0);
		int sec = (int)((fire - ts("2025-01-01T00:00:00Z")) / 1000) % 900;
		if (!used[sec]) {
			used[sec] = true;
			distinct++;
		}
	}
	assert_true(distinct > 500);
}

/* ---- format and command line ---------------------------------------------- */

static void test_format(void **state)
{
	(void)state;
	char out[32];
	assert_string_equal(cron_format_rfc3339(out, ts("2028-02-29T00:00:00Z")),
			    "2028-02-29T00:00:00Z");
	assert_string_equal(cron_format_rfc3339(out, 1), "1970-01-01T00:00:00.001Z");
	assert_string_equal(cron_format_rfc3339(out, -1), "1969-12-31T23:59:59.999Z");
	assert_string_equal(cron_format_rfc3339(out, CRON_MAX_MS), "9999-12-31T23:59:59.999Z");
	assert_string_equal(cron_format_rfc3339(out, CRON_MIN_MS), "0001-01-01T00:00:00Z");
	assert_string_equal(cron_format_rfc3339(out, CRON_MAX_MS + 1), "invalid-time");
}

struct cli_result {
	int rc;
	char out[4096];
	char err[4096];
};

static void slurp(FILE *f, char *dst, size_t n)
{
	rewind(f);
	size_t len = fread(dst, 1, n - 1, f);
	dst[len] = '\0';
	fclose(f);
}

static void run_cli(struct cli_result *r, int argc, char **argv)
{
	FILE *out = tmpfile(), *err = tmpfile();
	assert_non_null(out);
	assert_non_null(err);
	r->rc = cron_cli_to(argc, argv, out, err);
	slurp(out, r->out, sizeof r->out);
	slurp(err, r->err, sizeof r->err);
}

static void test_cli(void **state)
{
	(void)state;
	struct cli_result r;

	char *a1[] = {"cron", "0 0 29 2 *", "--from", "2025-01-01T00:00:00Z", "--count", "3"};
	run_cli(&r, 6, a1);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "2028-02-29T00:00:00Z\n2032-02-29T00:00:00Z\n2036-02-29T00:00:00Z\n");
	assert_string_equal(r.err, "");

	/* Epoch milliseconds, --opt=value, default count 5. */
	char from[32];
	snprintf(from, sizeof from, "--from=%" PRId64, ts("2025-01-01T00:00:00Z"));
	char *a2[] = {"cron", from, "*/15 * * * *"};
	run_cli(&r, 3, a2);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "2025-01-01T00:15:00Z\n2025-01-01T00:30:00Z\n"
				   "2025-01-01T00:45:00Z\n2025-01-01T01:00:00Z\n"
				   "2025-01-01T01:15:00Z\n");

	/* An offset in --from is honoured: 01:00+02:00 is 23:00Z the day before. */
	char *a3[] = {"cron", "@daily", "--from", "2025-01-02T01:00:00+02:00", "--count=1"};
	run_cli(&r, 5, a3);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "2025-01-02T00:00:00Z\n");

	/* Default --from is now: the first time lies within the next minute. */
	char *a4[] = {"cron", "* * * * *", "--count", "1"};
	int64_t before = now_ms();
	run_cli(&r, 4, a4);
	assert_int_equal(r.rc, 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	int64_t first = ts(r.out);
	assert_true(first > before - 1000 && first <= before + 61000);

	char *a5[] = {"cron", "0 0 32 * *"};
	run_cli(&r, 2, a5);
	assert_int_equal(r.rc, 64);
	assert_string_equal(r.out, "");
	assert_string_equal(
		r.err, "invalid cron '0 0 32 * *': day-of-month: value 32 out of range 1-31\n");

	char *a6[] = {"cron", "0 0 30 2 *"};
	run_cli(&r, 2, a6);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "never fires"));

	char *a7[] = {"cron", "--help"};
	run_cli(&r, 2, a7);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "usage: jirasync cron 'EXPR' [--from TIME] [--count N]"));

	char *a8[] = {"cron"};
	run_cli(&r, 1, a8);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "missing the cron expression"));

	char *a9[] = {"cron", "* * * * *", "--count", "0"};
	run_cli(&r, 4, a9);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "invalid --count '0'"));

	char *a10[] = {"cron", "* * * * *", "--from", "yesterday"};
	run_cli(&r, 4, a10);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "invalid --from 'yesterday'"));

	char *a11[] = {"cron", "* * * * *", "--from"};
	run_cli(&r, 3, a11);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "option '--from' needs a value"));

	char *a12[] = {"cron", "* * * * *", "--every", "5"};
	run_cli(&r, 4, a12);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "unknown option '--every'"));

	char *a13[] = {"cron", "*", "*", "*", "*", "*"};
	run_cli(&r, 6, a13);
	assert_int_equal(r.rc, 64);
	assert_non_null(strstr(r.err, "quote the expression"));

	/* Close to year 9999: the times that exist, then stop. */
	char *a14[] = {"cron", "@yearly", "--from", "9997-06-01T00:00:00Z", "--count", "5"};
	run_cli(&r, 6, a14);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "9998-01-01T00:00:00Z\n9999-01-01T00:00:00Z\n");
	assert_non_null(strstr(r.err, "no further fire times before the year 10000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_table),
		cmocka_unit_test(test_next_n_matches_repeated_next),
		cmocka_unit_test(test_never_fires),
		cmocka_unit_test(test_time_range),
		cmocka_unit_test(test_parse_bitsets),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_error_buffers),
		cmocka_unit_test(test_against_naive_search),
		cmocka_unit_test(test_jitter_stable_and_in_range),
		cmocka_unit_test(test_jitter_pinned_values),
		cmocka_unit_test(test_jitter_spread),
		cmocka_unit_test(test_jitter_period),
		cmocka_unit_test(test_jittered_slots_unique_and_stable),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
