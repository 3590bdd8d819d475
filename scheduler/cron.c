/*
 * Cron expressions for the scheduler: a parser into one bitset per field, a
 * next-fire search in UTC that jumps over whole months, days and hours, the
 * per-project jitter that spreads projects sharing a schedule, and the
 * `jirasync cron` subcommand that shows the next fire times of an expression.
 *
 * Nothing here allocates or touches global state, so every function is safe
 * to call from any thread. The syntax and the day rule are in cron.h.
 */
#include "scheduler/cron.h"

#include <ctype.h>
#include <strings.h>

/* ---- calendar ----------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days and
 * days-from-civil after Howard Hinnant's public-domain algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
	return (int)(((days % 7) + 7 + 4) % 7);
}

/* Lowest set bit of mask at position >= from, or -1. */
static int next_bit(uint64_t mask, int from)
{
	if (from < 0)
		from = 0;
	if (from >= 64)
		return -1;
	mask &= ~UINT64_C(0) << from;
	return mask ? __builtin_ctzll(mask) : -1;
}

/* ---- parsing ------------------------------------------------------------ */

struct field_def {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is value names_base + i */
	int n_names, names_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum { F_SECOND, F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, N_FIELDS };

static const struct field_def fields[N_FIELDS] = {
	[F_SECOND] = {"second", 0, 59, NULL, 0, 0},
	[F_MINUTE] = {"minute", 0, 59, NULL, 0, 0},
	[F_HOUR] = {"hour", 0, 23, NULL, 0, 0},
	[F_DOM] = {"day-of-month", 1, 31, NULL, 0, 0},
	[F_MONTH] = {"month", 1, 12, month_names, 12, 1},
	[F_DOW] = {"day-of-week", 0, 7, dow_names, 7, 0},
};

static const struct {
	const char *name, *expr;
} macros[] = {
	{"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
	{"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
};

/* The expression as shown in messages: printable, at most 64 characters. */
static void quote_expr(char out[80], const char *expr)
{
	size_t n = 0;
	for (const char *p = expr; *p && n < 64; p++)
		out[n++] = isprint((unsigned char)*p) ? *p : '?';
	if (strlen(expr) > 64) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* A piece of one field (up to the next ',' or the end) for messages. */
static void quote_piece(char out[24], const char *p)
{
	size_t n = 0;
	for (; *p && *p != ',' && n < 16; p++)
		out[n++] = isprint((unsigned char)*p) ? *p : '?';
	if (*p && *p != ',') {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* How much of a run of digits to echo in a message. */
static int shown_len(const char *s, const char *end)
{
	return end - s > 20 ? 20 : (int)(end - s);
}

struct perr {
	char msg[160];
};

static int fail(struct perr *e, const char *fmt, ...) JS_PRINTF(2, 3);
static int fail(struct perr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * One value: a number or (months, days) a three-letter name. Numbers stop
 * being read past 4 digits so a huge value cannot overflow; it is then
 * reported out of range like any other.
 */
static int parse_value(const struct field_def *f, const char **pp, bool range_end, int *out,
		       struct perr *e)
{
	const char *p = *pp;
	char piece[24];
	if (isdigit((unsigned char)*p)) {
		const char *s = p;
		long v = 0;
		while (isdigit((unsigned char)*p)) {
			if (v < 100000)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (v < f->min || v > f->max)
			return fail(e, "%s: value %.*s out of range %d-%d", f->name,
				    shown_len(s, p), s, f->min, f->max);
		*out = (int)v;
		*pp = p;
		return 0;
	}
	if (isalpha((unsigned char)*p) && f->names) {
		const char *s = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - s);
		for (int i = 0; len == 3 && i < f->n_names; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = i + f->names_base;
				/* SUN closing a range means 7: FRI-SUN. */
				if (range_end && f == &fields[F_DOW] && *out == 0)
					*out = 7;
				*pp = p;
				return 0;
			}
		}
		quote_piece(piece, s);
		return fail(e, "%s: unknown name '%s' (expected %s)", f->name, piece,
			    f == &fields[F_MONTH] ? "1-12 or JAN-DEC" : "0-7 or SUN-SAT");
	}
	if (!*p || *p == ',')
		return fail(e, "%s: missing value%s", f->name, *p ? " before ','" : " at the end");
	quote_piece(piece, p);
	return fail(e, "%s: expected a number%s, got '%s'", f->name, f->names ? " or name" : "",
		    piece);
}

/* One comma-separated field into a bitset (bit n = value n). */
static int parse_field(const struct field_def *f, const char *s, uint64_t *bits, struct perr *e)
{
	uint64_t set = 0;
	const char *p = s;
	for (;;) {
		int lo, hi, step = 1;
		if (*p == ',' || !*p)
			return fail(e, "%s: empty list element", f->name);
		if (*p == '*') {
			lo = f->min;
			hi = f->max;
			p++;
		} else {
			if (parse_value(f, &p, false, &lo, e) < 0)
				return -1;
			hi = lo;
			if (*p == '-') {
				p++;
				if (parse_value(f, &p, true, &hi, e) < 0)
					return -1;
				if (hi < lo)
					return fail(e,
						    "%s: range %d-%d has its start after its end",
						    f->name, lo, hi);
			} else if (*p == '/') {
				hi = f->max; /* N/S means N-max/S */
			}
		}
		if (*p == '/') {
			p++;
			long v = 0;
			const char *d = p;
			while (isdigit((unsigned char)*p)) {
				if (v < 100000)
					v = v * 10 + (*p - '0');
				p++;
			}
			char piece[24];
			if (p == d) {
				quote_piece(piece, d);
				return fail(e, "%s: expected a step number after '/', got '%s'",
					    f->name, piece);
			}
			long span = f->max - f->min + 1;
			if (v < 1 || v > span)
				return fail(e, "%s: step %.*s out of range 1-%ld", f->name,
					    shown_len(d, p), d, span);
			step = (int)v;
		}
		if (*p && *p != ',') {
			char piece[24];
			quote_piece(piece, p);
			return fail(e, "%s: unexpected '%s'", f->name, piece);
		}
		for (int v = lo; v <= hi; v += step)
			set |= UINT64_C(1) << v;
		if (!*p)
			break;
		p++;
		if (!*p)
			return fail(e, "%s: empty list element", f->name);
	}
	*bits = set;
	return 0;
}

/* Split on blanks into at most max_fields copies (bounded by fbuf). */
#define FIELD_MAX 512 /* "0,1,2,...,59" is 169 characters */

static int split_fields(const char *expr, char fbuf[][FIELD_MAX], int max_fields, int *n_out,
			struct perr *e)
{
	int n = 0;
	const char *p = expr;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t len = (size_t)(p - s);
		if (n < max_fields) {
			if (len >= FIELD_MAX)
				return fail(e, "field %d is too long (%zu characters)", n + 1, len);
			memcpy(fbuf[n], s, len);
			fbuf[n][len] = '\0';
		}
		n++;
	}
	*n_out = n;
	return 0;
}

static int parse_fields(const char *expr, struct cron *c, struct perr *e)
{
	char fb[N_FIELDS][FIELD_MAX];
	int n = 0;
	if (split_fields(expr, fb, N_FIELDS, &n, e) < 0)
		return -1;
	if (n == 0)
		return fail(e, "empty expression");
	if (n != 5 && n != 6)
		return fail(e, "expected 5 fields, got %d", n);
	int first = n == 6 ? F_SECOND : F_MINUTE;
	uint64_t bits[N_FIELDS] = {0};
	bits[F_SECOND] = 1; /* 5 fields: at second 0 */
	memset(c, 0, sizeof *c);
	for (int i = first; i < N_FIELDS; i++) {
		if (parse_field(&fields[i], fb[i - first], &bits[i], e) < 0)
			return -1;
	}
	if (bits[F_DOW] & (UINT64_C(1) << 7))
		bits[F_DOW] = (bits[F_DOW] | 1) & 0x7f;
	c->second = bits[F_SECOND];
	c->minute = bits[F_MINUTE];
	c->hour = (uint32_t)bits[F_HOUR];
	c->dom = (uint32_t)bits[F_DOM];
	c->month = (uint16_t)bits[F_MONTH];
	c->dow = (uint8_t)bits[F_DOW];
	if (fb[F_DOM - first][0] == '*')
		c->flags |= CRON_F_DOM_STAR;
	if (fb[F_DOW - first][0] == '*')
		c->flags |= CRON_F_DOW_STAR;
	if (n == 6)
		c->flags |= CRON_F_SECONDS;
	return 0;
}

int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
	struct perr e = {{0}};
	struct cron c;
	char shown[80];
	int rc = -1;

	if (!expr)
		expr = "";
	const char *p = expr;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '@') {
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t len = (size_t)(p - s);
		const char *body = NULL;
		for (size_t i = 0; i < JS_ARRAY_LEN(macros); i++) {
			if (strlen(macros[i].name) == len &&
			    strncasecmp(s, macros[i].name, len) == 0)
				body = macros[i].expr;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		char piece[24];
		quote_piece(piece, s);
		if (!body && len == 7 && strncasecmp(s, "@reboot", 7) == 0)
			fail(&e, "@reboot is not supported (it has no schedule)");
		else if (!body)
			fail(&e, "unknown macro '%.*s'", (int)strcspn(piece, " \t"), piece);
		else if (*p)
			fail(&e, "unexpected text after '%.*s'", (int)len, s);
		else if (parse_fields(body, &c, &e) == 0)
			rc = 0;
	} else if (parse_fields(expr, &c, &e) == 0) {
		rc = 0;
	}
	if (rc < 0) {
		if (err && errlen) {
			quote_expr(shown, expr);
			snprintf(err, errlen, "invalid cron '%s': %s", shown, e.msg);
		}
		goto out;
	}
	*out = c;
out:
	return rc;
}

/* ---- next fire time ----------------------------------------------------- */

/*
 * The days of month m of year y that match, as bits 1..31. The weekday
 * pattern is laid over the month starting from the weekday of the 1st; then
 * the Vixie rule combines it with the day-of-month set (OR when both fields
 * are restricted, AND otherwise).
 */
static uint64_t day_mask(const struct cron *c, int64_t y, int m)
{
	int w1 = weekday(days_from_civil(y, m, 1));
	uint64_t week = 0;
	for (int k = 0; k < 7; k++) {
		if (c->dow & (1u << ((w1 + k) % 7)))
			week |= UINT64_C(1) << k;
	}
	uint64_t dowm = 0;
	for (int k = 0; k < 35; k += 7)
		dowm |= week << k;
	dowm <<= 1; /* day 1 is bit 1 */
	uint64_t dom = c->dom;
	uint64_t days;
	if (c->flags & (CRON_F_DOM_STAR | CRON_F_DOW_STAR))
		days = dom & dowm;
	else
		days = dom | dowm;
	uint64_t valid = ((UINT64_C(1) << (days_in_month(y, m) + 1)) - 1) & ~UINT64_C(1);
	return days & valid;
}

int cron_next(const struct cron *c, int64_t after_ms, int64_t *next_ms)
{
	if (after_ms < CRON_MIN_MS || after_ms > CRON_MAX_MS)
		return CRON_ERANGE;
	if (!c->second || !c->minute || !c->hour || !c->month || (!c->dom && !c->dow))
		return CRON_ENEVER; /* not from cron_parse; refuse rather than spin */

	int64_t t = floor_div(after_ms, 1000) + 1; /* strictly after */
	int64_t days = floor_div(t, 86400);
	int64_t rem = t - days * 86400;
	int64_t y;
	int mo, d, h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), s = (int)(rem % 60);
	civil_from_days(days, &y, &mo, &d);

	/*
	 * Field by field, coarse to fine. A field with no match at or after the
	 * current value carries into the next coarser unit and resets the finer
	 * ones; every step moves forward, and once a day matches the finer fields
	 * always match (each set is non-empty), so the loop runs a few times per
	 * call plus once per skipped month or year.
	 */
	const int64_t last_year = y + 401;
	for (;;) {
		if (y > last_year)
			return CRON_ENEVER;
		if (mo > 12) {
			y++;
			mo = 1;
		}
		int nm = next_bit(c->month, mo);
		if (nm < 0) {
			y++;
			mo = 1;
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if (nm != mo) {
			mo = nm;
			d = 1;
			h = mi = s = 0;
		}
		int nd = next_bit(day_mask(c, y, mo), d);
		if (nd < 0) {
			mo++;
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if (nd != d) {
			d = nd;
			h = mi = s = 0;
		}
		int nh = next_bit(c->hour, h);
		if (nh < 0) {
			d++;
			h = mi = s = 0;
			continue;
		}
		if (nh != h) {
			h = nh;
			mi = s = 0;
		}
		int nmi = next_bit(c->minute, mi);
		if (nmi < 0) {
			h++;
			mi = s = 0;
			continue;
		}
		if (nmi != mi) {
			mi = nmi;
			s = 0;
		}
		int ns = next_bit(c->second, s);
		if (ns < 0) {
			mi++;
			s = 0;
			continue;
		}
		s = ns;
		break;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	if (secs > CRON_MAX_MS / 1000)
		return CRON_ERANGE;
	*next_ms = secs * 1000;
	return 0;
}

int cron_next_n(const struct cron *c, int64_t after_ms, int64_t *out, size_t n)
{
	int64_t t = after_ms;
	for (size_t i = 0; i < n; i++) {
		int rc = cron_next(c, t, &out[i]);
		if (rc < 0)
			return rc;
		t = out[i];
	}
	return 0;
}

bool cron_matches(const struct cron *c, int64_t ms)
{
	if (ms < CRON_MIN_MS || ms > CRON_MAX_MS)
		return false;
	int64_t t = floor_div(ms, 1000);
	int64_t days = floor_div(t, 86400);
	int64_t rem = t - days * 86400;
	int64_t y;
	int mo, d;
	civil_from_days(days, &y, &mo, &d);
	return (c->second >> (rem % 60) & 1) && (c->minute >> (rem / 60 % 60) & 1) &&
	       (c->hour >> (rem / 3600) & 1) && (c->month >> mo & 1) &&
	       (day_mask(c, y, mo) >> d & 1);
}

char *cron_format_rfc3339(char out[32], int64_t ms)
{
	if (ms < CRON_MIN_MS || ms > CRON_MAX_MS) {
		snprintf(out, 32, "invalid-time");
		return out;
	}
	int64_t t = floor_div(ms, 1000);
	int milli = (int)(ms - t * 1000);
	int64_t days = floor_div(t, 86400);
	int64_t rem = t - days * 86400;
	int64_t y;
	int mo, d;
	civil_from_days(days, &y, &mo, &d);
	int h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), s = (int)(rem % 60);
	char tmp[96]; /* the compiler cannot see the ranges; copy at most 31 */
	if (milli)
		snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, mo, d, h,
			 mi, s, milli);
	else
		snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, mo, d, h, mi,
			 s);
	size_t n = strnlen(tmp, 31);
	memcpy(out, tmp, n);
	out[n] = '\0';
	return out;
}

/* ---- jitter ------------------------------------------------------------- */

uint32_t cron_jitter_seconds(const char *project_key, uint32_t period_s)
{
	if (!project_key || period_s == 0)
		return 0;
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 */
	for (const unsigned char *p = (const unsigned char *)project_key; *p; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	/* FNV's low bits barely change between "P1" and "P2"; mix them all. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32_t)(h % period_s);
}

uint32_t cron_jitter_period_s(const struct cron *c)
{
	const int64_t from = INT64_C(946684800000); /* 2000-01-01T00:00:00Z */
	int64_t prev, next, gap = 3600;
	if (cron_next(c, from, &prev) < 0)
		return 1;
	for (int i = 0; i < 512; i++) {
		if (cron_next(c, prev, &next) < 0)
			break;
		if ((next - prev) / 1000 < gap)
			gap = (next - prev) / 1000;
		prev = next;
	}
	return gap < 1 ? 1 : (uint32_t)gap;
}

int cron_next_jittered(const struct cron *c, int64_t after_ms, uint32_t jitter_s, int64_t *slot_ms,
		       int64_t *fire_ms)
{
	int64_t j = (int64_t)jitter_s * 1000;
	int64_t slot;
	if (after_ms < CRON_MIN_MS || after_ms > CRON_MAX_MS)
		return CRON_ERANGE;
	int rc = cron_next(c, after_ms - j < CRON_MIN_MS ? CRON_MIN_MS : after_ms - j, &slot);
	if (rc < 0)
		return rc;
	if (slot > CRON_MAX_MS - j)
		return CRON_ERANGE;
	if (slot_ms)
		*slot_ms = slot;
	if (fire_ms)
		*fire_ms = slot + j;
	return 0;
}

/* ---- the `jirasync cron` subcommand -------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: jirasync cron 'EXPR' [--from TIME] [--count N]\n"
	      "\n"
	      "Print the next N fire times of a cron expression, one RFC 3339 UTC time per\n"
	      "line, strictly after TIME.\n"
	      "\n"
	      "  EXPR         5 fields: minute hour day-of-month month day-of-week\n"
	      "               (lists, ranges, steps, JAN-DEC, SUN-SAT, 7 = Sunday), or\n"
	      "               @hourly @daily @midnight @weekly @monthly @yearly @annually;\n"
	      "               a 6th leading seconds field is accepted for tests\n"
	      "  --from TIME  RFC 3339 time (2025-01-31T12:00:00Z) or epoch milliseconds;\n"
	      "               default now\n"
	      "  --count N    how many fire times, 1-10000; default 5\n"
	      "  --help       this text\n",
	      f);
}

/* "--name VALUE" or "--name=VALUE"; advances *i past what it consumed. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int parse_from(const char *s, int64_t *ms)
{
	bool numeric = *s != '\0';
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) && !(p == s && *p == '-'))
			numeric = false;
	}
	if (numeric)
		return parse_i64(s, ms);
	return jtime_parse(s, ms);
}

int cron_cli_to(int argc, char **argv, FILE *out, FILE *errf)
{
	const char *expr = NULL, *from_s = NULL, *count_s = NULL;
	int64_t from = 0;
	long count = 5;
	int64_t *times = NULL;
	char msg[256], ts[32];
	int rc = EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(out);
			rc = EXIT_OK;
			goto out;
		} else if ((r = option_value(argc, argv, &i, "--from", &from_s)) != 0 ||
			   (r = option_value(argc, argv, &i, "--count", &count_s)) != 0) {
			if (r < 0) {
				fprintf(errf, "jirasync cron: option '%s' needs a value\n", a);
				goto out;
			}
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(errf, "jirasync cron: unknown option '%s' (see --help)\n", a);
			goto out;
		} else if (expr) {
			fprintf(errf,
				"jirasync cron: one expression expected, got '%s' too "
				"(quote the expression)\n",
				a);
			goto out;
		} else {
			expr = a;
		}
	}
	if (!expr) {
		fprintf(errf, "jirasync cron: missing the cron expression\n");
		usage(errf);
		goto out;
	}
	if (count_s && parse_int_range(count_s, 1, 10000, &count) < 0) {
		fprintf(errf,
			"jirasync cron: invalid --count '%s': expected an integer from 1 to 10000\n",
			count_s);
		goto out;
	}
	if (from_s) {
		if (parse_from(from_s, &from) < 0 || from < CRON_MIN_MS || from > CRON_MAX_MS) {
			fprintf(errf,
				"jirasync cron: invalid --from '%s': expected an RFC 3339 time "
				"(2025-01-31T12:00:00Z) or epoch milliseconds\n",
				from_s);
			goto out;
		}
	} else {
		from = now_ms();
	}
	struct cron c;
	if (cron_parse(expr, &c, msg, sizeof msg) < 0) {
		fprintf(errf, "%s\n", msg);
		goto out;
	}
	times = xcalloc((size_t)count, sizeof *times);
	int64_t t = from;
	for (long i = 0; i < count; i++) {
		int r = cron_next(&c, t, &times[i]);
		if (r == CRON_ENEVER) {
			fprintf(errf,
				"cron '%s' never fires: no matching date in a full 400-year "
				"calendar cycle\n",
				expr);
			goto out;
		} else if (r < 0) {
			if (i == 0) {
				fprintf(errf, "cron '%s': no fire time before the year 10000\n",
					expr);
				goto out;
			}
			fprintf(errf,
				"jirasync cron: no further fire times before the year 10000\n");
			count = i;
			break;
		}
		t = times[i];
	}
	for (long i = 0; i < count; i++)
		fprintf(out, "%s\n", cron_format_rfc3339(ts, times[i]));
	rc = fflush(out) == 0 ? EXIT_OK : EXIT_FAILED;
out:
	free(times);
	return rc;
}

int cron_cli(int argc, char **argv)
{
	return cron_cli_to(argc, argv, stdout, stderr);
}
