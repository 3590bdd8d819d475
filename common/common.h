/*
 * common: the shared toolbox of every module. Memory (one out-of-memory
 * policy: log and abort), growable bounded buffers, arenas for per-activity
 * allocations, JSON-lines logging, configuration from the environment,
 * Jira timestamp parsing and formatting, and connection helpers.
 *
 * This is the only header other modules need from common/. It includes the
 * system headers we rely on and then banned.h, so unsafe string functions
 * are compile errors everywhere.
 */
#ifndef JS_COMMON_H
#define JS_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JS_WUR __attribute__((warn_unused_result))
#define JS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define JS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes of the binary (sysexits.h values where one fits). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,       /* the run failed; guidance on stderr */
	EXIT_USAGE = 64,       /* bad command line */
	EXIT_UNAVAILABLE = 69, /* a service (PostgreSQL, Redis, Jira) unreachable */
	EXIT_SOFTWARE = 70,    /* internal error */
	EXIT_CONFIG = 78,      /* missing or malformed setting */
};

/* ---- memory: abort on out-of-memory, in one place ---------------------- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Duplicate s, or return NULL when s is NULL. */
char *xstrdup_or_null(const char *s);

/* ---- growable buffer: always NUL-terminated, never grows past max ------- */
struct buf {
	char *data; /* NUL-terminated; "" (static) until the first append */
	size_t len;
	size_t cap;
	size_t max; /* 0 = 1 GiB */
};
#define BUF_INIT              \
	{                     \
		NULL, 0, 0, 0 \
	}
void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Append; -1 (and nothing appended) when max would be exceeded. */
int buf_append_slow(struct buf *b, const void *p, size_t len) JS_WUR;
int buf_puts(struct buf *b, const char *s) JS_WUR;
/* Make room for extra more bytes now; -1 (nothing done) past max. */
int buf_reserve(struct buf *b, size_t extra); /* later appends still check */
/* The common case inline: the bytes fit the capacity (which never exceeds
 * max + 1, so fitting it is within max). */
JS_WUR static inline int buf_append(struct buf *b, const void *p, size_t len)
{
	if (len < b->cap - b->len) {
		if (len) /* p may be NULL then */
			memcpy(b->data + b->len, p, len);
		b->len += len;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append_slow(b, p, len);
}
JS_WUR static inline int buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append_slow(b, &c, 1);
}
int buf_printf(struct buf *b, const char *fmt, ...) JS_PRINTF(2, 3) JS_WUR;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) JS_WUR;
/* Length of the valid UTF-8 sequence at p (1..4, of at most avail bytes), 0
 * when invalid: overlong, surrogate, above U+10FFFF or truncated. */
size_t utf8_len(const unsigned char *p, size_t avail);
/* Append s (len bytes) as a JSON string literal, quotes included: control
 * characters escaped, valid UTF-8 copied as is, each byte of an invalid
 * sequence replaced by U+FFFD, so the output is always valid JSON. */
int buf_json_strn(struct buf *b, const char *s, size_t len) JS_WUR;
int buf_json_str(struct buf *b, const char *s) JS_WUR;
/* Return the contents (caller frees); b is left empty. Never NULL. */
char *buf_detach(struct buf *b);
/* Read a whole file; 0 or -1 (errno set). */
int buf_read_file(struct buf *b, const char *path) JS_WUR;

/* ---- arena: many small allocations released at once --------------------- */
struct arena_block;
struct arena {
	struct arena_block *head;
	size_t used_total;
};
void arena_init(struct arena *a);
void arena_release(struct arena *a);                /* frees everything; a reusable after */
void arena_reset(struct arena *a);                  /* like release, keeps the largest block */
void *arena_alloc(struct arena *a, size_t n);       /* zeroed, 16-byte aligned */
void *arena_alloc_raw(struct arena *a, size_t n);   /* not zeroed, 16-byte aligned */
char *arena_strdup(struct arena *a, const char *s); /* NULL stays NULL */
/* Move src's memory into dst (pointers into it stay valid, now freed with
 * dst); src is left empty. */
void arena_adopt(struct arena *dst, struct arena *src);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* ---- logging: JSON lines on stderr (text when stderr is a terminal) ----- */
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
/* Reads LOG_LEVEL (debug|info|warn|error) and LOG_FORMAT (json|text). */
int log_init_from_env(char *err, size_t errlen) JS_WUR;
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/*
 * log_kv(level, msg, key, value, ..., NULL): fields are string pairs. A key
 * starting with '#' marks a numeric or boolean value written unquoted (the
 * '#' is dropped). NULL values are written as null.
 */
void log_kv(enum log_level level, const char *msg, ...);
#define log_debug(...) log_kv(LOG_DEBUG, __VA_ARGS__, (const char *)NULL)
#define log_info(...) log_kv(LOG_INFO, __VA_ARGS__, (const char *)NULL)
#define log_warn(...) log_kv(LOG_WARN, __VA_ARGS__, (const char *)NULL)
#define log_error(...) log_kv(LOG_ERROR, __VA_ARGS__, (const char *)NULL)

/* ---- numbers ------------------------------------------------------------ */
/* Strict integer parsing: the whole string, in range; 0 or -1. */
int parse_i64(const char *s, int64_t *out) JS_WUR;
int parse_int_range(const char *s, long min, long max, long *out) JS_WUR;
/* Format a number into a small caller buffer; returns buf. */
char *fmt_i64(char buf[24], int64_t v);

/* ---- time --------------------------------------------------------------- */
#define JS_TIME_NULL INT64_MIN /* "no timestamp" in a row */
/*
 * Parse a Jira or ISO-8601 timestamp into epoch milliseconds:
 * "2021-11-18T00:18:29.845+0000", "2022-06-09T16:29:31.871-0700",
 * "2021-05-01T03:34:00.000Z", "2018-03-06T09:10:57.810-08:00",
 * "2021-05-01T03:34:00Z", "2021-05-01". 0 or -1 on malformed input.
 */
int jtime_parse(const char *s, int64_t *ms_out) JS_WUR;
/* RFC 3339 UTC with milliseconds: "2021-11-18T00:18:29.845Z" (out >= 32). */
char *jtime_format(char out[32], int64_t ms);
/* Same, in Jira's style with a numeric offset in minutes: "...+0000". */
char *jtime_format_jira(char out[32], int64_t ms, int offset_minutes);
int64_t now_ms(void);  /* wall clock, epoch ms */
int64_t mono_ms(void); /* monotonic clock, ms */
int64_t mono_us(void); /* monotonic clock, µs */
void sleep_ms(int64_t ms);

/* ---- configuration ------------------------------------------------------ */
enum jira_flavour { JIRA_FLAVOUR_AUTO = 0, JIRA_FLAVOUR_CLOUD, JIRA_FLAVOUR_DC };

#define JIRA_PARALLEL_MAX 16 /* the most JIRA_PARALLEL_REQUESTS */
struct config {
	char *database_url;
	char *redis_url;
	char *jira_base_url;
	char *jira_email;
	char *jira_api_token;           /* secret */
	char *jira_pat;                 /* secret */
	enum jira_flavour jira_flavour; /* JIRA_FLAVOUR: cloud|datacenter|auto */
	char *sync_default_cron;
	long worker_concurrency;
	char *listen_addr;
	char *admin_token; /* secret */
	char *read_token;  /* secret */
	char *smtp_url;
	char *smtp_user;
	char *smtp_password; /* secret */
	char *alert_email_from;
	char *alert_email_to;
	char *alert_webhook_url;
	long lookback_minutes;       /* SYNC_LOOKBACK_MINUTES, default 5 */
	long reconcile_every_s;      /* RECONCILE_EVERY, seconds or 24h/30m, default 24h */
	long sprint_refresh_s;       /* SPRINT_REFRESH_EVERY, default 1h; 0 = every run */
	long http_timeout_s;         /* JIRA_TIMEOUT_SECONDS, default 60 */
	long http_connect_timeout_s; /* JIRA_CONNECT_TIMEOUT_SECONDS, default 10 */
	long http_max_attempts;      /* JIRA_MAX_ATTEMPTS, default 3 */
	long page_size;              /* JIRA_PAGE_SIZE, default 100 (1..100) */
	long http_parallel;          /* JIRA_PARALLEL_REQUESTS, default 4 (1..JIRA_PARALLEL_MAX) */
	/* The engine and the services (milliseconds unless named otherwise). */
	long engine_visibility_ms;         /* ENGINE_VISIBILITY_MS, default 30000 */
	long engine_max_deliveries;        /* ENGINE_MAX_DELIVERIES, default 5 */
	long worker_grace_ms;              /* WORKER_GRACE_MS, default 30000 */
	long scheduler_lease_ms;           /* SCHEDULER_LEASE_MS, default 10000 */
	long scheduler_tick_ms;            /* SCHEDULER_TICK_MS, default 1000 */
	long scheduler_reconcile_grace_ms; /* SCHEDULER_RECONCILE_GRACE_MS, default 5000 */
};

/*
 * Load every setting from the environment. Which ones are required depends on
 * the command: pass the JS_NEED_* bits. On failure returns -1 and writes one
 * line naming the setting into err; the caller exits with EXIT_CONFIG.
 */
enum {
	JS_NEED_DB = 1 << 0,
	JS_NEED_REDIS = 1 << 1,
	JS_NEED_JIRA = 1 << 2,
};
int config_load(struct config *c, unsigned need, char *err, size_t errlen) JS_WUR;
void config_release(struct config *c);
/* Overrides from a flag: same validation as the environment. */
int config_set(struct config *c, const char *name, const char *value, char *err,
	       size_t errlen) JS_WUR;
/* Parse a duration: "90" (seconds), "90s", "30m", "24h", "7d". */
int parse_duration_s(const char *s, long *out) JS_WUR;

/* ---- misc --------------------------------------------------------------- */
/* Constant-time comparison for secrets; true when equal. */
bool secret_equal(const char *a, const char *b);
/* Remove the password from a URL for logging: "postgres://u:***@h/db". */
char *url_redact(const char *url); /* caller frees */

#include "common/banned.h"
#endif
