/*
 * Growable, bounded, always NUL-terminated byte buffers: the only way
 * strings grow in this code base (see banned.h). A buffer refuses to grow
 * past its maximum, so a hostile peer cannot make us allocate without bound.
 */
#include "common/common.h"

#include <fcntl.h>
#include <unistd.h>

static char empty[1];

#define BUF_DEFAULT_MAX ((size_t)1 << 30)

void buf_init(struct buf *b, size_t max)
{
	b->data = empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	b->data = empty;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

static int grow(struct buf *b, size_t extra)
{
	size_t max = b->max ? b->max : BUF_DEFAULT_MAX;
	if (!b->data)
		b->data = empty;
	if (extra > max || b->len > max - extra)
		return -1;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > max + 1) /* need <= max + 1 here; the inline fast paths rely on it */
		cap = max + 1;
	if (b->cap) {
		b->data = xrealloc(b->data, cap);
	} else {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
	return 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
	return grow(b, extra);
}

int buf_append_slow(struct buf *b, const void *p, size_t len)
{
	if (grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/*
 * How many of the 8 bytes at p (in memory order) come before the first one
 * that stops a plain run: a control character, '"', '\\' or >= 0x80; 8
 * when none does. The usual has-zero-byte test, applied to w, to w ^ '"'
 * and to w ^ '\\': it may flag bytes above a real hit (a borrow), never
 * below one, so the lowest flag is exact.
 */
static unsigned plain_prefix(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t w;
	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	uint64_t ctl = (w - ones * 0x20) & ~w;
	uint64_t zq = (q - ones) & ~q, zb = (bs - ones) & ~bs;
	uint64_t m = (w | ctl | zq | zb) & high;
	return m ? (unsigned)__builtin_ctzll(m) / 8 : 8;
}

int buf_json_strn(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	if (buf_putc(b, '"') < 0)
		return -1;
	size_t i = 0;
	while (i < len) {
		/* Copy the longest run that needs no escaping (printable ASCII but
		 * quote and backslash, valid UTF-8 sequences) in one append;
		 * plain ASCII is scanned 8 bytes at a time. */
		size_t run = i;
		while (run < len) {
			if (len - run >= 8) {
				unsigned k = plain_prefix(p + run);
				run += k;
				if (k == 8)
					continue;
			}
			unsigned c = p[run];
			if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
				run++;
			} else if (c >= 0x80) {
				size_t n = utf8_len(p + run, len - run);
				if (!n)
					break;
				run += n;
			} else {
				break;
			}
		}
		if (run > i && buf_append(b, s + i, run - i) < 0)
			return -1;
		i = run;
		if (i >= len)
			break;
		unsigned c = p[i];
		int rc = 0;
		switch (c) {
		case '"':
			rc = buf_append(b, "\\\"", 2);
			break;
		case '\\':
			rc = buf_append(b, "\\\\", 2);
			break;
		case '\n':
			rc = buf_append(b, "\\n", 2);
			break;
		case '\r':
			rc = buf_append(b, "\\r", 2);
			break;
		case '\t':
			rc = buf_append(b, "\\t", 2);
			break;
		case '\b':
			rc = buf_append(b, "\\b", 2);
			break;
		case '\f':
			rc = buf_append(b, "\\f", 2);
			break;
		default:
			if (c < 0x80) {
				char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				rc = buf_append(b, u, 6);
			} else { /* not valid UTF-8: U+FFFD for the byte */
				rc = buf_append(b, "\xEF\xBF\xBD", 3);
			}
		}
		i++;
		if (rc < 0)
			return -1;
	}
	return buf_putc(b, '"');
}

int buf_json_str(struct buf *b, const char *s)
{
	return buf_json_strn(b, s, strlen(s));
}

char *buf_detach(struct buf *b)
{
	char *p = b->cap ? b->data : xstrdup("");
	b->data = empty;
	b->len = b->cap = 0;
	return p;
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			rc = -1;
			break;
		}
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
