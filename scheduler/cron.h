/*
 * Cron expressions: parsing into bitsets, next-fire times in UTC, per-project
 * jitter, and the `jirasync cron` subcommand. Private to the scheduler module;
 * other modules include scheduler/scheduler.h, which re-exports this API.
 *
 * Syntax (Vixie cron, 5 fields):
 *
 *   minute hour day-of-month month day-of-week
 *   0-59   0-23 1-31         1-12  0-7 (0 and 7 = Sunday)
 *
 * Each field is a comma list of items: `*`, `N`, `A-B`, each optionally with
 * a step `/S` (`*`/15, `1-30/7`; in this file `*`/S stands for star-slash-S,
 * which would end a C comment). `N/S` means `N-max/S` (`5/10` in minutes is
 * 5,15,...,55). Months accept JAN-DEC and days SUN-SAT, case-insensitive, also
 * in ranges (`JAN-MAR`, `mon-fri`); as the end of a day range SUN means 7, so
 * `FRI-SUN` is Friday to Sunday. Macros: @hourly, @daily, @midnight, @weekly,
 * @monthly, @yearly, @annually (@reboot is refused: it has no schedule).
 *
 * Day rule (Vixie): when both day-of-month and day-of-week are restricted
 * (neither field starts with `*`), a day matches if EITHER matches:
 * `0 0 13 * FRI` fires on every 13th and on every Friday. When either starts
 * with `*`, both must match (so `0 0 * * MON` is Mondays only, and the quirk
 * `0 0 `*`/2 * MON` is Mondays with an odd day of the month).
 *
 * Extension for tests: a 6-field form with a leading seconds field (0-59),
 * `*`/2 * * * * * fires every two seconds. The 5-field form fires at second 0.
 *
 * Times are epoch milliseconds, always UTC. Supported instants are the years
 * 0001 to 9999 (CRON_MIN_MS..CRON_MAX_MS).
 */
#ifndef JS_SCHEDULER_CRON_H
#define JS_SCHEDULER_CRON_H

#include "common/common.h"

/* A parsed expression. Plain data: copy it, compare it, no release needed. */
struct cron {
	uint64_t second; /* bit n = second n (0-59); only bit 0 for 5 fields */
	uint64_t minute; /* bit n = minute n (0-59) */
	uint32_t hour;   /* bit n = hour n (0-23) */
	uint32_t dom;    /* bit n = day of month n (1-31) */
	uint16_t month;  /* bit n = month n (1-12) */
	uint8_t dow;     /* bit n = weekday n (0-6, Sunday = 0; 7 folded into 0) */
	uint8_t flags;   /* CRON_F_* */
};

enum {
	CRON_F_DOM_STAR = 1 << 0, /* day-of-month field started with '*' */
	CRON_F_DOW_STAR = 1 << 1, /* day-of-week field started with '*' */
	CRON_F_SECONDS = 1 << 2,  /* parsed from the 6-field form */
};

/* Errors of cron_next and friends (negative; 0 is success). */
enum {
	CRON_ENEVER = -1, /* the expression never fires (e.g. `0 0 30 2 *`) */
	CRON_ERANGE = -2, /* the start or the result lies outside years 1-9999 */
};

#define CRON_MIN_MS INT64_C(-62135596800000) /* 0001-01-01T00:00:00Z */
#define CRON_MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/*
 * Parse expr into *out. Returns 0, or -1 with *out untouched and a one-line
 * message in err (when err is not NULL) that names the field and the reason:
 *   invalid cron '0 0 32 * *': day-of-month: value 32 out of range 1-31
 *   invalid cron '* * * *': expected 5 fields, got 4
 */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen) JS_WUR;

/*
 * The first fire time strictly after after_ms, in *next_ms (whole seconds).
 * Efficient: it skips whole years, months, days and hours that cannot match,
 * so a call costs a handful of steps, not a scan minute by minute.
 *
 * Bounded: the Gregorian calendar (weekdays included) repeats every 400
 * years, so the search covers 401 years from after_ms; when nothing matches
 * in that window nothing ever will, and it returns CRON_ENEVER. This covers
 * `0 0 29 2 *` (at most 8 years between leap days, e.g. 2096 -> 2104) and
 * rare combinations such as Feb 29 on a Sunday. An impossible expression
 * costs about 400 cheap iterations (microseconds), never a loop forever.
 *
 * CRON_ERANGE when after_ms or the result is outside CRON_MIN_MS..CRON_MAX_MS.
 * *next_ms is untouched on error.
 */
int cron_next(const struct cron *c, int64_t after_ms, int64_t *next_ms) JS_WUR;

/*
 * The next n fire times after after_ms, ascending, into out[0..n-1]. Returns
 * 0, or the error of the first cron_next that failed (out is then filled only
 * up to that point).
 */
int cron_next_n(const struct cron *c, int64_t after_ms, int64_t *out, size_t n) JS_WUR;

/* True when the second containing ms matches every field of c. */
bool cron_matches(const struct cron *c, int64_t ms);

/*
 * Format ms as RFC 3339 UTC: "2028-02-29T00:00:00Z", with ".mmm" only when the
 * milliseconds are not zero. Returns out. ms must be within CRON_MIN_MS..
 * CRON_MAX_MS (otherwise out is "invalid-time").
 */
char *cron_format_rfc3339(char out[32], int64_t ms);

/*
 * Jitter: spreading projects that share a schedule.
 *
 * cron_jitter_seconds(key, period_s) is a stable per-project offset in
 * [0, period_s): a 64-bit FNV-1a hash of the key, mixed (murmur3's final mix)
 * and reduced modulo the period. The same key always gets the same offset, in
 * every process and release (changing the hash would move every project's
 * fire second). 0 when period_s is 0 or key is NULL.
 *
 * cron_jitter_period_s(c) suggests the period to pass: the smallest gap
 * between consecutive fire times (sampled over 512 fires from 2000-01-01),
 * capped at 3600 s, at least 1. It costs 512 cron_next calls (about 0.1 ms):
 * compute it when a schedule is set, not on every tick. `*`/15 * * * * gives
 * 900 s, so 1,000 projects on it spread over up to 900 distinct seconds of
 * each quarter hour, and the jittered fire of one slot precedes the
 * next slot.
 *
 * cron_next_jittered(c, after_ms, jitter_s, ...) applies it. Each nominal fire
 * time of c is a slot (the identity of a run: unique per project and slot);
 * the slot fires at slot + jitter_s. It returns the first slot whose jittered
 * fire time is strictly after after_ms:
 *
 *   slot = cron_next(c, after_ms - jitter_s * 1000), fire = slot + jitter_s * 1000
 *
 * so fire > after_ms, and feeding the returned fire time back in as after_ms
 * yields the next slot: every slot appears exactly once, in order, and the
 * same slots come back after a restart. Errors as cron_next; outputs
 * untouched on error. Either output pointer may be NULL.
 */
uint32_t cron_jitter_seconds(const char *project_key, uint32_t period_s);
uint32_t cron_jitter_period_s(const struct cron *c);
int cron_next_jittered(const struct cron *c, int64_t after_ms, uint32_t jitter_s, int64_t *slot_ms,
		       int64_t *fire_ms) JS_WUR;

/*
 * The `jirasync cron` subcommand:
 *
 *   jirasync cron 'EXPR' [--from TIME] [--count N]
 *
 * Prints the next N fire times (default 5, at most 10000), one RFC 3339 UTC
 * time per line, strictly after TIME (RFC 3339 or epoch milliseconds; default
 * now). argv[0] is the subcommand name and is skipped; options may also be
 * written --from=TIME and --count=N. --help prints the usage on stdout.
 * Returns the exit code: 0, or EXIT_USAGE (64) with the message on stderr for
 * an invalid expression, an expression that never fires or a bad option.
 * cron_cli writes to stdout/stderr; cron_cli_to writes to the given streams.
 */
int cron_cli(int argc, char **argv);
int cron_cli_to(int argc, char **argv, FILE *out, FILE *errf);

#endif
