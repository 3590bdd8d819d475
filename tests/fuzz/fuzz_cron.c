/*
 * libFuzzer target for cron expressions: cron_parse on arbitrary bytes, and
 * for every expression that parses, cron_next/cron_next_jittered from several
 * start times with their invariants checked: strictly later, whole seconds,
 * matching the expression, equal to a naive day-by-day search within 400 days
 * (so nothing matches in between), and never "never fires" once it has fired.
 * Input: the expression, optionally followed by a newline and a start time in
 * epoch milliseconds.
 *
 * fuzz-sources: scheduler/cron.c common/timeutil.c common/mem.c
 */
#include "scheduler/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                             \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "check failed: %s (line %d), expression '%s'\n", #cond, \
				__LINE__, expr);                                                \
			abort();                                                                \
		}                                                                               \
	} while (0)

static const int64_t starts[] = {
	INT64_C(1735689600000),   /* 2025-01-01T00:00:00Z */
	INT64_C(1743154217250),   /* 2025-03-28T09:30:17.250Z: mid-day, mid-minute */
	INT64_C(1709251199999),   /* 2024-02-29T23:59:59.999Z */
	INT64_C(951782400000),    /* 2000-02-29T00:00:00Z */
	INT64_C(4102444799999),   /* 2099-12-31T23:59:59.999Z */
	INT64_C(253370764800000), /* 9999-01-01T00:00:00Z: near the end of range */
	INT64_C(-1),              /* just before the epoch */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int low_bit(uint64_t m)
{
	return __builtin_ctzll(m);
}

/*
 * An independent, naive next-fire: day by day (a day matches when its
 * earliest candidate time matches), then the first candidate of the day's
 * hour x minute x second sets after `after`. Looks 400 days ahead;
 * INT64_MIN when nothing is found there.
 */
static int64_t reference_next(const struct cron *c, int64_t after)
{
	int64_t after_s = floor_div(after, 1000);
	int64_t day0 = floor_div(after_s, 86400);
	for (int64_t day = day0; day < day0 + 400; day++) {
		int64_t base = day * 86400;
		int64_t earliest = base + low_bit(c->hour) * 3600 + low_bit(c->minute) * 60 +
				   low_bit(c->second);
		if (earliest * 1000 > CRON_MAX_MS || !cron_matches(c, earliest * 1000))
			continue;
		for (int h = 0; h < 24; h++) {
			if (!(c->hour >> h & 1) || base + h * 3600 + 3599 <= after_s)
				continue;
			for (int m = 0; m < 60; m++) {
				if (!(c->minute >> m & 1) ||
				    base + h * 3600 + m * 60 + 59 <= after_s)
					continue;
				for (int sec = 0; sec < 60; sec++) {
					int64_t t = base + h * 3600 + m * 60 + sec;
					if ((c->second >> sec & 1) && t > after_s)
						return t * 1000;
				}
			}
		}
	}
	return INT64_MIN;
}

static void check_from(const struct cron *c, const char *expr, int64_t after)
{
	int64_t prev = after, next = 0;
	bool fired = false;
	for (int k = 0; k < 4; k++) {
		int rc = cron_next(c, prev, &next);
		if (rc != 0) {
			CHECK(rc == CRON_ENEVER || rc == CRON_ERANGE);
			/* The calendar repeats every 400 years: a schedule that
			 * fired once fires again within the search window. */
			CHECK(!(fired && rc == CRON_ENEVER));
			if (rc == CRON_ENEVER)
				CHECK(reference_next(c, prev) == INT64_MIN);
			break;
		}
		fired = true;
		CHECK(next > prev);
		CHECK(next % 1000 == 0);
		CHECK(next <= CRON_MAX_MS);
		CHECK(cron_matches(c, next));
		/* A naive reference agrees (or the gap exceeds its reach). */
		int64_t want = reference_next(c, prev);
		if (want == INT64_MIN)
			CHECK(next - prev > INT64_C(399) * 86400000);
		else
			CHECK(next == want);
		char out[32];
		CHECK(strlen(cron_format_rfc3339(out, next)) >= 20);
		prev = next;
	}

	uint32_t period = cron_jitter_period_s(c);
	CHECK(period >= 1 && period <= 3600);
	uint32_t j = cron_jitter_seconds(expr, period);
	CHECK(j < period);
	int64_t slot, fire;
	if (cron_next_jittered(c, after, j, &slot, &fire) == 0) {
		CHECK(fire > after);
		CHECK(fire == slot + (int64_t)j * 1000);
		CHECK(cron_matches(c, slot));
		int64_t slot2;
		if (cron_next_jittered(c, fire, j, &slot2, NULL) == 0)
			CHECK(slot2 > slot);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char expr[1024];
	if (size >= sizeof expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';

	int64_t after = 0;
	bool have_after = false;
	char *nl = strchr(expr, '\n');
	if (nl) {
		*nl = '\0';
		have_after = parse_i64(nl + 1, &after) == 0 && after >= CRON_MIN_MS &&
			     after <= CRON_MAX_MS;
	}

	struct cron c;
	char err[256];
	memset(err, 0, sizeof err);
	if (cron_parse(expr, &c, err, sizeof err) != 0) {
		CHECK(strncmp(err, "invalid cron '", 14) == 0);
		CHECK(strchr(err, '\n') == NULL);
		return 0;
	}
	/* Bitsets only hold values of their fields. */
	CHECK(c.second && c.second < (UINT64_C(1) << 60));
	CHECK(c.minute && c.minute < (UINT64_C(1) << 60));
	CHECK(c.hour && c.hour < (1u << 24));
	CHECK((c.dom & 1) == 0);
	CHECK(c.month && (c.month & ~0x1ffeu) == 0);
	CHECK((c.dow & 0x80) == 0);
	CHECK(c.dom || c.dow);

	if (have_after) {
		check_from(&c, expr, after);
	} else {
		for (size_t i = 0; i < JS_ARRAY_LEN(starts); i++)
			check_from(&c, expr, starts[i]);
	}
	return 0;
}
