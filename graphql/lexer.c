/*
 * GraphQL lexer (spec section 2.1): turns source text into tokens on demand.
 * Ignored tokens (BOM, white space, line terminators, commas, comments) are
 * skipped; strings and block strings are decoded into the arena, escapes
 * (\uXXXX, surrogate pairs, \u{...}) become UTF-8. The source must be UTF-8;
 * non-ASCII is allowed only inside strings and comments. Positions are
 * mapped to line:column lazily and incrementally so a long single-line
 * document stays linear. The token count limit is enforced here.
 */
#include "graphql/gql_int.h"

void lex_init(struct lexer *lx, const char *src, size_t len, struct arena *a, size_t max_tokens)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->len = len;
	lx->arena = a;
	lx->max_tokens = max_tokens;
	lx->loc_line = 1;
	lx->loc_col = 1;
	/* A leading byte order mark is ignored. */
	if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
		lx->pos = 3;
		lx->loc_pos = 3;
	}
}

static struct gql_loc loc_at(struct lexer *lx, size_t pos)
{
	if (pos < lx->loc_pos) { /* never happens for forward scans; restart */
		lx->loc_pos = 0;
		lx->loc_line = 1;
		lx->loc_col = 1;
	}
	while (lx->loc_pos < pos && lx->loc_pos < lx->len) {
		unsigned char c = (unsigned char)lx->src[lx->loc_pos++];
		if (c == '\n') {
			lx->loc_line++;
			lx->loc_col = 1;
		} else if (c == '\r') {
			if (lx->loc_pos < lx->len && lx->src[lx->loc_pos] == '\n')
				lx->loc_pos++;
			lx->loc_line++;
			lx->loc_col = 1;
		} else if ((c & 0xC0) != 0x80) {
			lx->loc_col++;
		}
	}
	struct gql_loc l = {lx->loc_line, lx->loc_col};
	return l;
}

static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...) JS_PRINTF(3, 4);
static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...)
{
	if (lx->err[0])
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lx->err, sizeof lx->err, fmt, ap);
	va_end(ap);
	lx->err_loc = loc_at(lx, pos);
	if (!lx->err_code)
		lx->err_code = "GRAPHQL_PARSE_FAILED";
	return -1;
}

const char *tok_kind_name(enum tok_kind k)
{
	static const char *const names[] = {
		"<EOF>", "\"!\"", "\"$\"", "\"&\"", "\"(\"",  "\")\"",       "\"...\"",
		"\":\"", "\"=\"", "\"@\"", "\"[\"", "\"]\"",  "\"{\"",       "\"|\"",
		"\"}\"", "Name",  "Int",   "Float", "String", "BlockString",
	};
	return (unsigned)k < JS_ARRAY_LEN(names) ? names[k] : "?";
}

static bool is_name_start(int c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_name_cont(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int put_utf8(struct buf *b, unsigned cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_append(b, o, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at pos; -1 when not. */
static long hex4(struct lexer *lx, size_t pos)
{
	if (pos + 4 > lx->len)
		return -1;
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)lx->src[pos + i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Decode a unicode escape starting after "\u"; advances *pos. */
static int lex_unicode(struct lexer *lx, size_t *pos, struct buf *b)
{
	size_t p = *pos;
	long cp;
	size_t esc_start = p - 2;
	if (p < lx->len && lx->src[p] == '{') {
		/* Variable-width form \u{1F600}. */
		p++;
		cp = 0;
		size_t nd = 0;
		while (p < lx->len && lx->src[p] != '}') {
			int h = hexval((unsigned char)lx->src[p]);
			if (h < 0 || cp > 0x10FFFF)
				return lex_error(lx, esc_start, "invalid Unicode escape sequence");
			cp = cp * 16 + h;
			p++;
			nd++;
		}
		if (p >= lx->len || nd == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return lex_error(lx, esc_start, "invalid Unicode escape sequence");
		p++;
	} else {
		cp = hex4(lx, p);
		if (cp < 0)
			return lex_error(lx, esc_start, "invalid Unicode escape sequence");
		p += 4;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			/* A leading surrogate must be followed by a trailing one. */
			long lo = -1;
			if (p + 6 <= lx->len && lx->src[p] == '\\' && lx->src[p + 1] == 'u')
				lo = hex4(lx, p + 2);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return lex_error(
					lx, esc_start,
					"invalid Unicode escape sequence: unpaired surrogate");
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			return lex_error(lx, esc_start,
					 "invalid Unicode escape sequence: unpaired surrogate");
		}
	}
	*pos = p;
	if (put_utf8(b, (unsigned)cp) < 0)
		return lex_error(lx, esc_start, "string too long");
	return 0;
}

static int lex_string(struct lexer *lx, struct token *t)
{
	struct buf b = BUF_INIT;
	int rc = -1;
	size_t p = lx->pos + 1;
	buf_init(&b, lx->len + 16);
	for (;;) {
		if (p >= lx->len) {
			lex_error(lx, p, "unterminated string");
			goto out;
		}
		unsigned char c = (unsigned char)lx->src[p];
		if (c == '"') {
			p++;
			break;
		}
		if (c == '\n' || c == '\r') {
			lex_error(lx, p, "unterminated string");
			goto out;
		}
		if (c < 0x20 && c != '\t') {
			lex_error(lx, p, "invalid character within string: U+%04X", c);
			goto out;
		}
		if (c == '\\') {
			if (p + 1 >= lx->len) {
				lex_error(lx, p, "unterminated string");
				goto out;
			}
			char e = lx->src[p + 1];
			char o;
			switch (e) {
			case '"':
				o = '"';
				break;
			case '\\':
				o = '\\';
				break;
			case '/':
				o = '/';
				break;
			case 'b':
				o = '\b';
				break;
			case 'f':
				o = '\f';
				break;
			case 'n':
				o = '\n';
				break;
			case 'r':
				o = '\r';
				break;
			case 't':
				o = '\t';
				break;
			case 'u':
				p += 2;
				if (lex_unicode(lx, &p, &b) < 0)
					goto out;
				continue;
			default:
				lex_error(lx, p, "invalid character escape sequence: '\\%c'",
					  (e >= 0x20 && e < 0x7f) ? e : '?');
				goto out;
			}
			if (buf_putc(&b, o) < 0)
				goto out;
			p += 2;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)lx->src + p, lx->len - p);
		if (n == 0) {
			lex_error(lx, p, "invalid UTF-8 in string");
			goto out;
		}
		if (buf_append(&b, lx->src + p, n) < 0)
			goto out;
		p += n;
	}
	t->kind = T_STRING;
	t->len = p - lx->pos;
	t->value = arena_strndup(lx->arena, b.data, b.len);
	t->value_len = b.len;
	lx->pos = p;
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/*
 * BlockStringValue (spec 2.9.4): common indentation of all lines but the
 * first is removed, then leading and trailing blank lines.
 */
static char *block_value(struct arena *a, const char *raw, size_t n, size_t *out_len)
{
	/* Split into lines on \r\n, \n, \r. */
	size_t n_lines = 1;
	for (size_t i = 0; i < n; i++)
		if (raw[i] == '\n' || (raw[i] == '\r' && !(i + 1 < n && raw[i + 1] == '\n')))
			n_lines++;
	size_t *ls = xcalloc(n_lines, sizeof *ls), *le = xcalloc(n_lines, sizeof *le);
	size_t k = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '\n' || raw[i] == '\r') {
			ls[k] = s;
			le[k] = i;
			k++;
			if (raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n')
				i++;
			s = i + 1;
		}
	}
	ls[k] = s;
	le[k] = n;
	size_t common = SIZE_MAX;
	for (size_t i = 1; i < n_lines; i++) {
		size_t ind = 0;
		while (ls[i] + ind < le[i] && (raw[ls[i] + ind] == ' ' || raw[ls[i] + ind] == '\t'))
			ind++;
		if (ls[i] + ind < le[i] && ind < common)
			common = ind;
	}
	if (common != SIZE_MAX)
		for (size_t i = 1; i < n_lines; i++)
			ls[i] = (le[i] - ls[i] > common) ? ls[i] + common : le[i];
	size_t first = 0, last = n_lines;
	while (first < last && blank(raw + ls[first], le[first] - ls[first]))
		first++;
	while (last > first && blank(raw + ls[last - 1], le[last - 1] - ls[last - 1]))
		last--;
	char *o = arena_alloc(a, n + 1);
	size_t ol = 0;
	for (size_t i = first; i < last; i++) {
		if (i > first)
			o[ol++] = '\n';
		memcpy(o + ol, raw + ls[i], le[i] - ls[i]);
		ol += le[i] - ls[i];
	}
	o[ol] = '\0';
	*out_len = ol;
	free(ls);
	free(le);
	return o;
}

static int lex_block_string(struct lexer *lx, struct token *t)
{
	struct buf raw = BUF_INIT;
	int rc = -1;
	size_t p = lx->pos + 3;
	buf_init(&raw, lx->len + 16);
	for (;;) {
		if (p >= lx->len) {
			lex_error(lx, p, "unterminated string");
			goto out;
		}
		unsigned char c = (unsigned char)lx->src[p];
		if (c == '"' && p + 2 < lx->len && lx->src[p + 1] == '"' && lx->src[p + 2] == '"') {
			p += 3;
			break;
		}
		if (c == '\\' && p + 3 < lx->len && memcmp(lx->src + p + 1, "\"\"\"", 3) == 0) {
			if (buf_append(&raw, "\"\"\"", 3) < 0)
				goto out;
			p += 4;
			continue;
		}
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			lex_error(lx, p, "invalid character within string: U+%04X", c);
			goto out;
		}
		size_t n = utf8_len((const unsigned char *)lx->src + p, lx->len - p);
		if (n == 0) {
			lex_error(lx, p, "invalid UTF-8 in string");
			goto out;
		}
		if (buf_append(&raw, lx->src + p, n) < 0)
			goto out;
		p += n;
	}
	t->kind = T_BLOCK_STRING;
	t->len = p - lx->pos;
	t->value = block_value(lx->arena, raw.data, raw.len, &t->value_len);
	lx->pos = p;
	rc = 0;
out:
	buf_release(&raw);
	return rc;
}

static int lex_number(struct lexer *lx, struct token *t)
{
	size_t p = lx->pos;
	bool is_float = false;
	if (lx->src[p] == '-')
		p++;
	if (p < lx->len && lx->src[p] == '0') {
		p++;
		if (p < lx->len && is_digit(lx->src[p]))
			return lex_error(lx, p, "invalid number, unexpected digit after 0");
	} else if (p < lx->len && is_digit(lx->src[p])) {
		while (p < lx->len && is_digit(lx->src[p]))
			p++;
	} else {
		return lex_error(lx, p, "invalid number, expected digit");
	}
	if (p < lx->len && lx->src[p] == '.') {
		is_float = true;
		p++;
		if (p >= lx->len || !is_digit(lx->src[p]))
			return lex_error(lx, p, "invalid number, expected digit");
		while (p < lx->len && is_digit(lx->src[p]))
			p++;
	}
	if (p < lx->len && (lx->src[p] == 'e' || lx->src[p] == 'E')) {
		is_float = true;
		p++;
		if (p < lx->len && (lx->src[p] == '+' || lx->src[p] == '-'))
			p++;
		if (p >= lx->len || !is_digit(lx->src[p]))
			return lex_error(lx, p, "invalid number, expected digit");
		while (p < lx->len && is_digit(lx->src[p]))
			p++;
	}
	if (p < lx->len && (lx->src[p] == '.' || is_name_start(lx->src[p])))
		return lex_error(lx, p, "invalid number, unexpected character '%c'", lx->src[p]);
	t->kind = is_float ? T_FLOAT : T_INT;
	t->len = p - lx->pos;
	t->value = arena_strndup(lx->arena, lx->src + lx->pos, t->len);
	t->value_len = t->len;
	lx->pos = p;
	return 0;
}

int lex_next(struct lexer *lx, struct token *t)
{
	if (lx->err[0])
		return -1;
	/* Skip ignored tokens. */
	while (lx->pos < lx->len) {
		char c = lx->src[lx->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
			lx->pos++;
		} else if (c == '#') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n' &&
			       lx->src[lx->pos] != '\r')
				lx->pos++;
		} else if (lx->len - lx->pos >= 3 &&
			   memcmp(lx->src + lx->pos, "\xEF\xBB\xBF", 3) == 0) {
			lx->pos += 3; /* a BOM is white space anywhere */
		} else {
			break;
		}
	}
	memset(t, 0, sizeof *t);
	t->pos = lx->pos;
	t->loc = loc_at(lx, lx->pos);
	if (lx->pos >= lx->len) {
		t->kind = T_EOF;
		return 0;
	}
	if (lx->max_tokens && ++lx->n_tokens > lx->max_tokens) {
		lx->err_code = "TOO_MANY_TOKENS";
		return lex_error(lx, lx->pos, "document has more than %zu tokens", lx->max_tokens);
	}
	unsigned char c = (unsigned char)lx->src[lx->pos];
	enum tok_kind k = T_EOF;
	switch (c) {
	case '!':
		k = T_BANG;
		break;
	case '$':
		k = T_DOLLAR;
		break;
	case '&':
		k = T_AMP;
		break;
	case '(':
		k = T_LPAREN;
		break;
	case ')':
		k = T_RPAREN;
		break;
	case ':':
		k = T_COLON;
		break;
	case '=':
		k = T_EQUALS;
		break;
	case '@':
		k = T_AT;
		break;
	case '[':
		k = T_LBRACKET;
		break;
	case ']':
		k = T_RBRACKET;
		break;
	case '{':
		k = T_LBRACE;
		break;
	case '|':
		k = T_PIPE;
		break;
	case '}':
		k = T_RBRACE;
		break;
	case '.':
		if (lx->len - lx->pos >= 3 && lx->src[lx->pos + 1] == '.' &&
		    lx->src[lx->pos + 2] == '.') {
			t->kind = T_SPREAD;
			t->len = 3;
			lx->pos += 3;
			return 0;
		}
		return lex_error(lx, lx->pos, "unexpected character '.'");
	case '"':
		if (lx->len - lx->pos >= 3 && lx->src[lx->pos + 1] == '"' &&
		    lx->src[lx->pos + 2] == '"')
			return lex_block_string(lx, t);
		return lex_string(lx, t);
	default:
		break;
	}
	if (k != T_EOF) {
		t->kind = k;
		t->len = 1;
		lx->pos++;
		return 0;
	}
	if (c == '-' || is_digit(c))
		return lex_number(lx, t);
	if (is_name_start(c)) {
		size_t p = lx->pos;
		while (p < lx->len && is_name_cont((unsigned char)lx->src[p]))
			p++;
		t->kind = T_NAME;
		t->len = p - lx->pos;
		t->value = arena_strndup(lx->arena, lx->src + lx->pos, t->len);
		t->value_len = t->len;
		lx->pos = p;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return lex_error(lx, lx->pos, "unexpected character '%c'", c);
	return lex_error(lx, lx->pos, "unexpected character U+%04X", c);
}
