/*
 * ADF (Atlassian Document Format) -> plain text, for descriptions, comment
 * bodies and worklog comments of Cloud REST v3. The rules are fixed (the
 * simulator's ground truth uses the same ones): depth-first, inline nodes
 * give their text, block nodes end with a newline, list items get "- " or
 * "N. ", table cells are joined by " | ". Unknown nodes keep the text of
 * their content, so a new node type never loses words or fails a sync.
 */
#include "common/common.h"
#include "jira/jira.h"

#include <cjson/cJSON.h>

/* Where a node sits: the list it belongs to, for listItem prefixes. */
struct list_ctx {
	int kind;  /* 0 none, 1 bullet, 2 ordered */
	long next; /* ordered: the number of the next item */
};

static const char *const block_nodes[] = {
	"paragraph",   "heading", "codeBlock", "blockquote",   "panel",    "rule",
	"mediaSingle", "expand",  "taskItem",  "decisionItem", "listItem",
};

static bool is_block(const char *type)
{
	for (size_t i = 0; i < JS_ARRAY_LEN(block_nodes); i++)
		if (strcmp(type, block_nodes[i]) == 0)
			return true;
	return false;
}

static const char *attr_str(const cJSON *node, const char *name)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(node, "attrs");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, name);
	return cJSON_IsString(v) ? v->valuestring : NULL; /* "" counts as present */
}

static int put_opt(struct buf *out, const char *s)
{
	return s ? buf_puts(out, s) : 0;
}

static int end_line(struct buf *out)
{
	if (out->len > 0 && out->data[out->len - 1] == '\n')
		return 0;
	return buf_putc(out, '\n');
}

static int render(const cJSON *node, struct buf *out, struct list_ctx *list);

static int render_children(const cJSON *node, struct buf *out, struct list_ctx *list)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(node, "content");
	const cJSON *child;
	if (!cJSON_IsArray(content))
		return 0;
	cJSON_ArrayForEach(child, content)
	{
		if (render(child, out, list) < 0)
			return -1;
	}
	return 0;
}

/* "date": attrs.timestamp, epoch milliseconds as a string (or a number). */
static int render_date(const cJSON *node, struct buf *out)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(node, "attrs");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(attrs, "timestamp");
	int64_t ms;
	if (cJSON_IsString(ts)) {
		if (parse_i64(ts->valuestring, &ms) < 0)
			return 0;
	} else if (cJSON_IsNumber(ts) && ts->valuedouble > -1e15 && ts->valuedouble < 1e15) {
		ms = (int64_t)ts->valuedouble;
	} else {
		return 0;
	}
	char iso[32];
	jtime_format(iso, ms);
	return buf_append(out, iso, 10); /* YYYY-MM-DD */
}

static int render_row(const cJSON *row, struct buf *out)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(row, "content");
	const cJSON *cell;
	int i = 0, rc = 0;
	struct buf cb;
	buf_init(&cb, out->max);
	if (cJSON_IsArray(content)) {
		cJSON_ArrayForEach(cell, content)
		{
			struct list_ctx none = {0, 0};
			buf_reset(&cb);
			if (render(cell, &cb, &none) < 0) {
				rc = -1;
				goto out;
			}
			size_t n = cb.len;
			while (n > 0 && cb.data[n - 1] == '\n')
				n--;
			if ((i++ > 0 && buf_puts(out, " | ") < 0) ||
			    buf_append(out, cb.data, n) < 0) {
				rc = -1;
				goto out;
			}
		}
	}
	rc = buf_putc(out, '\n');
out:
	buf_release(&cb);
	return rc;
}

static int render(const cJSON *node, struct buf *out, struct list_ctx *list)
{
	if (!cJSON_IsObject(node))
		return 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(node, "type");
	const char *type = cJSON_IsString(t) ? t->valuestring : "";

	if (strcmp(type, "text") == 0) {
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(node, "text");
		return cJSON_IsString(text) ? buf_puts(out, text->valuestring) : 0;
	}
	if (strcmp(type, "hardBreak") == 0)
		return buf_putc(out, '\n');
	if (strcmp(type, "mention") == 0) {
		const char *txt = attr_str(node, "text");
		if (txt)
			return buf_puts(out, txt);
		const char *id = attr_str(node, "id");
		return id ? buf_printf(out, "@%s", id) : 0;
	}
	if (strcmp(type, "emoji") == 0) {
		const char *txt = attr_str(node, "text");
		return put_opt(out, txt ? txt : attr_str(node, "shortName"));
	}
	if (strcmp(type, "inlineCard") == 0 || strcmp(type, "blockCard") == 0)
		return put_opt(out, attr_str(node, "url"));
	if (strcmp(type, "date") == 0)
		return render_date(node, out);
	if (strcmp(type, "status") == 0)
		return put_opt(out, attr_str(node, "text"));
	if (strcmp(type, "media") == 0 || strcmp(type, "mediaInline") == 0)
		return buf_puts(out, "[attachment]");
	if (strcmp(type, "tableRow") == 0)
		return render_row(node, out);

	if (strcmp(type, "bulletList") == 0 || strcmp(type, "orderedList") == 0) {
		struct list_ctx inner = {1, 1};
		if (type[0] == 'o') {
			inner.kind = 2;
			const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(node, "attrs");
			const cJSON *order = cJSON_GetObjectItemCaseSensitive(attrs, "order");
			if (cJSON_IsNumber(order) && order->valuedouble >= 0 &&
			    order->valuedouble < 1e9)
				inner.next = (long)order->valuedouble;
		}
		return render_children(node, out, &inner);
	}
	if (strcmp(type, "listItem") == 0) {
		if (list && list->kind == 1 && buf_puts(out, "- ") < 0)
			return -1;
		if (list && list->kind == 2 && buf_printf(out, "%ld. ", list->next++) < 0)
			return -1;
		/* Nested lists inside the item open their own context. */
		struct list_ctx none = {0, 0};
		if (render_children(node, out, &none) < 0)
			return -1;
		return end_line(out);
	}

	struct list_ctx none = {0, 0};
	if (render_children(node, out, &none) < 0)
		return -1;
	if (is_block(type))
		return end_line(out);
	return 0;
}

int jira_adf_to_text(const struct cJSON *adf, struct buf *out)
{
	size_t start = out->len;
	struct list_ctx none = {0, 0};
	if (render(adf, out, &none) < 0) {
		/* Leave out as it was. */
		out->len = start;
		if (out->cap)
			out->data[start] = '\0';
		return -1;
	}
	size_t n = out->len;
	while (n > start && (out->data[n - 1] == '\n' || out->data[n - 1] == ' ' ||
			     out->data[n - 1] == '\t' || out->data[n - 1] == '\r'))
		n--;
	out->len = n;
	if (out->cap)
		out->data[n] = '\0';
	return 0;
}
