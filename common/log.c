/*
 * Logging: one JSON object per line on stderr ({"time","level","msg", then
 * the fields}), or a readable text line when stderr is a terminal (or
 * LOG_FORMAT=text). Lines are written with one write(2) so that threads and
 * processes sharing stderr do not interleave within a line.
 */
#include "common/common.h"

#include <pthread.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int text_format = -1; /* -1: decide from isatty */

static const char *level_names[] = {"debug", "info", "warn", "error"};

int log_init_from_env(char *err, size_t errlen)
{
	const char *lv = getenv("LOG_LEVEL");
	if (lv && *lv) {
		size_t i;
		for (i = 0; i < JS_ARRAY_LEN(level_names); i++)
			if (strcmp(lv, level_names[i]) == 0)
				break;
		if (i == JS_ARRAY_LEN(level_names)) {
			snprintf(err, errlen,
				 "invalid LOG_LEVEL '%s': expected debug, info, warn or error", lv);
			return -1;
		}
		min_level = (enum log_level)i;
	}
	const char *fmt = getenv("LOG_FORMAT");
	if (fmt && *fmt) {
		if (strcmp(fmt, "json") == 0)
			text_format = 0;
		else if (strcmp(fmt, "text") == 0)
			text_format = 1;
		else {
			snprintf(err, errlen, "invalid LOG_FORMAT '%s': expected json or text",
				 fmt);
			return -1;
		}
	}
	return 0;
}

void log_set_level(enum log_level level)
{
	min_level = level;
}

bool log_enabled(enum log_level level)
{
	return level >= min_level;
}

void log_kv(enum log_level level, const char *msg, ...)
{
	if (level < min_level)
		return;
	if (text_format < 0)
		text_format = isatty(2) ? 1 : 0;

	char ts[32];
	jtime_format(ts, now_ms());
	struct buf b;
	buf_init(&b, 1 << 20);
	int rc = 0;
	if (text_format) {
		rc |= buf_printf(&b, "%s %-5s %s", ts, level_names[level], msg);
	} else {
		rc |= buf_puts(&b, "{\"time\":\"");
		rc |= buf_puts(&b, ts);
		rc |= buf_printf(&b, "\",\"level\":\"%s\",\"msg\":", level_names[level]);
		rc |= buf_json_str(&b, msg);
	}
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		const char *val = va_arg(ap, const char *);
		bool raw = key[0] == '#';
		if (raw)
			key++;
		if (text_format) {
			rc |= buf_printf(&b, " %s=%s", key, val ? val : "null");
		} else {
			rc |= buf_putc(&b, ',');
			rc |= buf_json_str(&b, key);
			rc |= buf_putc(&b, ':');
			if (!val)
				rc |= buf_puts(&b, "null");
			else if (raw)
				rc |= buf_puts(&b, val);
			else
				rc |= buf_json_str(&b, val);
		}
	}
	va_end(ap);
	if (!text_format)
		rc |= buf_putc(&b, '}');
	rc |= buf_putc(&b, '\n');
	(void)rc; /* a line over 1 MiB is cut; still written */
	(void)!write(2, b.data, b.len);
	buf_release(&b);
}
