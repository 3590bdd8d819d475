/*
 * jira-sim hidden modes for the tests (no python on CI):
 *   --check-shape ACTUAL FIXTURE: every key and JSON type in ACTUAL must
 *     appear at the same path in the real capture FIXTURE (types merged
 *     over all fixture instances), and keys the capture always has must be
 *     present; ADF documents are validated structurally.
 *   --self-test: every generated ADF document's exported text equals the
 *     text an independent implementation of the ADF->text rules computes.
 */
#include "tests/jira-sim/sim.h"

#include <cjson/cJSON.h>

#define CJ cJSON_GetObjectItemCaseSensitive

/* ---- ADF -> text (the documented rules) ------------------------------------- */
static const char *attr_str(const cJSON *n, const char *k)
{
	const cJSON *a = CJ(n, "attrs");
	const cJSON *v = a ? CJ(a, k) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is_block(const char *t)
{
	static const char *const blocks[] = {
		"paragraph",   "heading", "codeBlock", "blockquote",   "panel",   "rule",
		"mediaSingle", "expand",  "taskItem",  "decisionItem", "listItem"};
	for (size_t i = 0; i < JS_ARRAY_LEN(blocks); i++)
		if (strcmp(blocks[i], t) == 0)
			return true;
	return false;
}

static void walk(const cJSON *n, struct buf *t);

static void walk_children(const cJSON *n, struct buf *t)
{
	const cJSON *c = CJ(n, "content"), *it;
	if (cJSON_IsArray(c))
		cJSON_ArrayForEach(it, c) walk(it, t);
}

static void walk(const cJSON *n, struct buf *t)
{
	const cJSON *ty = CJ(n, "type");
	const char *type = cJSON_IsString(ty) ? ty->valuestring : "";
	const char *s;
	if (strcmp(type, "text") == 0) {
		const cJSON *x = CJ(n, "text");
		if (cJSON_IsString(x))
			out(t, x->valuestring);
	} else if (strcmp(type, "hardBreak") == 0) {
		out(t, "\n");
	} else if (strcmp(type, "mention") == 0) {
		if ((s = attr_str(n, "text")))
			out(t, s);
		else if ((s = attr_str(n, "id")))
			outf(t, "@%s", s);
	} else if (strcmp(type, "emoji") == 0) {
		if ((s = attr_str(n, "text")) || (s = attr_str(n, "shortName")))
			out(t, s);
	} else if (strcmp(type, "inlineCard") == 0 || strcmp(type, "blockCard") == 0) {
		if ((s = attr_str(n, "url")))
			out(t, s);
	} else if (strcmp(type, "date") == 0) {
		int64_t ms;
		if ((s = attr_str(n, "timestamp")) && parse_i64(s, &ms) == 0) {
			char iso[32];
			jtime_format(iso, ms);
			outn(t, iso, 10);
		}
	} else if (strcmp(type, "status") == 0) {
		if ((s = attr_str(n, "text")))
			out(t, s);
	} else if (strcmp(type, "media") == 0 || strcmp(type, "mediaInline") == 0) {
		out(t, "[attachment]");
	} else if (strcmp(type, "bulletList") == 0 || strcmp(type, "orderedList") == 0) {
		bool ordered = type[0] == 'o';
		const cJSON *a = CJ(n, "attrs");
		const cJSON *o = a ? CJ(a, "order") : NULL;
		long num = cJSON_IsNumber(o) ? (long)o->valuedouble : 1;
		const cJSON *c = CJ(n, "content"), *it;
		if (cJSON_IsArray(c))
			cJSON_ArrayForEach(it, c)
			{
				const cJSON *ity = CJ(it, "type");
				if (cJSON_IsString(ity) &&
				    strcmp(ity->valuestring, "listItem") == 0) {
					if (ordered)
						outf(t, "%ld. ", num++);
					else
						out(t, "- ");
				}
				walk(it, t);
			}
	} else if (strcmp(type, "tableRow") == 0) {
		const cJSON *c = CJ(n, "content"), *it;
		bool first = true;
		if (cJSON_IsArray(c))
			cJSON_ArrayForEach(it, c)
			{
				struct buf cell = BUF_INIT;
				walk_children(it, &cell);
				while (cell.len && cell.data[cell.len - 1] == '\n')
					cell.data[--cell.len] = '\0';
				if (!first)
					out(t, " | ");
				first = false;
				outn(t, cell.data, cell.len);
				buf_release(&cell);
			}
		out(t, "\n");
	} else {
		walk_children(n, t);
		if (is_block(type) && (t->len == 0 || t->data[t->len - 1] != '\n'))
			out(t, "\n");
	}
}

void check_adf_text(const cJSON *doc, struct buf *o)
{
	struct buf t = BUF_INIT;
	if (doc && !cJSON_IsNull(doc))
		walk(doc, &t);
	while (t.len && strchr(" \t\r\n", t.data[t.len - 1]))
		t.data[--t.len] = '\0';
	outn(o, t.data, t.len);
	buf_release(&t);
}

/* ---- self test ----------------------------------------------------------------- */
static int check_doc(const struct sim_doc *d, const char *what, int64_t id, int *bad)
{
	if (!d->seed && !d->over_json)
		return 0;
	struct buf json = BUF_INIT, text = BUF_INIT, mine = BUF_INIT;
	sim_doc_render(d, &json, &text);
	cJSON *doc = cJSON_Parse(json.data);
	if (!doc) {
		fprintf(stderr, "self-test: %s %" PRId64 ": document is not JSON\n", what, id);
		(*bad)++;
	} else if (!SIM.o.dc) {
		check_adf_text(doc, &mine);
		if (strcmp(mine.data, text.data) != 0 || text.len == 0) {
			if (*bad < 5)
				fprintf(stderr,
					"self-test: %s %" PRId64
					": text differs\n--- exported\n%s\n"
					"--- by the rules\n%s\n",
					what, id, text.data, mine.data);
			(*bad)++;
		}
	}
	cJSON_Delete(doc);
	buf_release(&json);
	buf_release(&text);
	buf_release(&mine);
	return 1;
}

int self_test_main(void)
{
	int bad = 0, n = 0;
	for (size_t i = 0; i < SIM.n_issues; i++)
		n += check_doc(&SIM.issues[i]->desc, "issue", SIM.issues[i]->id, &bad);
	for (size_t i = 0; i < SIM.n_comments; i++)
		n += check_doc(&SIM.comments[i].body, "comment", SIM.comments[i].id, &bad);
	for (size_t i = 0; i < SIM.n_worklogs; i++)
		n += check_doc(&SIM.worklogs[i].comment, "worklog", SIM.worklogs[i].id, &bad);
	/* Overrides (what the control API writes) follow the same rules. */
	struct sim_doc d = {0, DOC_COMMENT, NULL, NULL};
	sim_doc_set_text(&d, "first line\nsecond \"line\" \xF0\x9F\x98\x84\n");
	n += check_doc(&d, "override", 0, &bad);
	free(d.over_json);
	free(d.over_text);
	printf("self-test: %d documents checked, %d mismatches\n", n, bad);
	return bad ? 1 : 0;
}

/* ---- shape model of the fixture -------------------------------------------------- */
enum { TY_NULL = 1, TY_BOOL = 2, TY_NUM = 4, TY_STR = 8, TY_ARR = 16, TY_OBJ = 32 };

struct keyc {
	char *name;
	int count;
};

struct shape {
	char *path;
	unsigned types;
	int n_objects;
	struct keyc *keys;
	size_t n_keys;
};

struct model {
	struct shape *s;
	size_t n;
	char **fields; /* --fields: only these under "[].fields" */
	size_t n_fields;
	char **nullable;
	size_t n_nullable;
	char **optional;
	size_t n_optional;
	int errors;
	int checked;
};

static unsigned type_of(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return TY_NULL;
	if (cJSON_IsBool(v))
		return TY_BOOL;
	if (cJSON_IsNumber(v))
		return TY_NUM;
	if (cJSON_IsString(v))
		return TY_STR;
	if (cJSON_IsArray(v))
		return TY_ARR;
	return TY_OBJ;
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case TY_NULL:
		return "null";
	case TY_BOOL:
		return "boolean";
	case TY_NUM:
		return "number";
	case TY_STR:
		return "string";
	case TY_ARR:
		return "array";
	default:
		return "object";
	}
}

static struct shape *shape_get(struct model *m, const char *path, bool create)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->s[i].path, path) == 0)
			return &m->s[i];
	if (!create)
		return NULL;
	m->s = xrealloc(m->s, (m->n + 1) * sizeof(*m->s));
	struct shape *s = &m->s[m->n++];
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(path);
	return s;
}

static bool in_list(char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool is_adf(const cJSON *v)
{
	const cJSON *t = cJSON_IsObject(v) ? CJ(v, "type") : NULL;
	return cJSON_IsString(t) && strcmp(t->valuestring, "doc") == 0;
}

static void child_path(char *o, size_t n, const char *path, const char *key)
{
	if (!key)
		snprintf(o, n, "%s[]", path);
	else if (!*path)
		snprintf(o, n, "%s", key);
	else
		snprintf(o, n, "%s.%s", path, key);
}

static void learn(struct model *m, const char *path, const cJSON *v)
{
	struct shape *s = shape_get(m, path, true);
	s->types |= type_of(v);
	if (is_adf(v))
		return; /* documents are checked structurally */
	char cp[512];
	const cJSON *it;
	if (cJSON_IsArray(v)) {
		child_path(cp, sizeof(cp), path, NULL);
		cJSON_ArrayForEach(it, v) learn(m, cp, it);
		return;
	}
	if (!cJSON_IsObject(v))
		return;
	bool filter = m->n_fields && strcmp(path, "[].fields") == 0;
	s = shape_get(m, path, false);
	s->n_objects++;
	cJSON_ArrayForEach(it, v)
	{
		if (filter && !in_list(m->fields, m->n_fields, it->string))
			continue;
		size_t k;
		for (k = 0; k < s->n_keys; k++)
			if (strcmp(s->keys[k].name, it->string) == 0)
				break;
		if (k == s->n_keys) {
			s->keys = xrealloc(s->keys, (s->n_keys + 1) * sizeof(*s->keys));
			s->keys[s->n_keys].name = xstrdup(it->string);
			s->keys[s->n_keys++].count = 0;
		}
		s->keys[k].count++;
		child_path(cp, sizeof(cp), path, it->string);
		learn(m, cp, it);
		s = shape_get(m, path, false); /* m->s may have moved */
	}
}

static void err(struct model *m, const char *fmt, ...) JS_PRINTF(2, 3);
static void err(struct model *m, const char *fmt, ...)
{
	m->errors++;
	if (m->errors > 40)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("shape: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void check_adf_node(struct model *m, const char *path, const cJSON *n, int depth)
{
	const cJSON *ty = CJ(n, "type");
	if (!cJSON_IsObject(n) || !cJSON_IsString(ty) || depth > 20) {
		err(m, "%s: ADF node without a string type", path);
		return;
	}
	const cJSON *c = CJ(n, "content"), *a = CJ(n, "attrs"), *mk = CJ(n, "marks"), *it;
	if (c && !cJSON_IsArray(c))
		err(m, "%s: ADF content is not an array", path);
	if (a && !cJSON_IsObject(a))
		err(m, "%s: ADF attrs is not an object", path);
	if (mk && !cJSON_IsArray(mk))
		err(m, "%s: ADF marks is not an array", path);
	if (strcmp(ty->valuestring, "text") == 0 && !cJSON_IsString(CJ(n, "text")))
		err(m, "%s: ADF text node without text", path);
	if (mk)
		cJSON_ArrayForEach(it, mk) if (!cJSON_IsString(CJ(it, "type")))
			err(m, "%s: ADF mark without type", path);
	if (cJSON_IsArray(c))
		cJSON_ArrayForEach(it, c) check_adf_node(m, path, it, depth + 1);
}

static void check(struct model *m, const char *path, const cJSON *v)
{
	m->checked++;
	struct shape *s = shape_get(m, path, false);
	if (!s) {
		err(m, "%s: not in the capture", path);
		return;
	}
	unsigned t = type_of(v);
	if (!(s->types & t) && !(t == TY_NULL && in_list(m->nullable, m->n_nullable, path))) {
		err(m, "%s: %s where the capture has another type", path, type_name(t));
		return;
	}
	if (is_adf(v)) {
		if (!cJSON_IsNumber(CJ(v, "version")) || !cJSON_IsArray(CJ(v, "content")))
			err(m, "%s: ADF doc without version/content", path);
		check_adf_node(m, path, v, 0);
		return;
	}
	char cp[512];
	const cJSON *it;
	if (cJSON_IsArray(v)) {
		child_path(cp, sizeof(cp), path, NULL);
		cJSON_ArrayForEach(it, v) check(m, cp, it);
		return;
	}
	if (!cJSON_IsObject(v))
		return;
	cJSON_ArrayForEach(it, v)
	{
		bool known = false;
		for (size_t k = 0; k < s->n_keys; k++)
			known |= strcmp(s->keys[k].name, it->string) == 0;
		if (!known) {
			err(m, "%s: key '%s' is not in the capture", path, it->string);
			continue;
		}
		child_path(cp, sizeof(cp), path, it->string);
		check(m, cp, it);
		s = shape_get(m, path, false);
	}
	for (size_t k = 0; k < s->n_keys; k++) {
		if (s->keys[k].count < s->n_objects)
			continue; /* optional in the capture too */
		child_path(cp, sizeof(cp), path, s->keys[k].name);
		if (!CJ(v, s->keys[k].name) && !in_list(m->optional, m->n_optional, cp))
			err(m, "%s: key '%s' missing (the capture always has it)", path,
			    s->keys[k].name);
	}
	if (m->n_fields && strcmp(path, "[].fields") == 0) {
		for (size_t i = 0; i < m->n_fields; i++)
			if (!CJ(v, m->fields[i]))
				err(m, "%s: requested field '%s' missing", path, m->fields[i]);
	}
}

static cJSON *load(const char *file)
{
	struct buf b = BUF_INIT;
	cJSON *j = NULL;
	if (buf_read_file(&b, file) < 0)
		fprintf(stderr, "check-shape: cannot read '%s': %s\n", file, strerror(errno));
	else if (!(j = cJSON_ParseWithLength(b.data, b.len)))
		fprintf(stderr, "check-shape: '%s' is not JSON\n", file);
	buf_release(&b);
	return j;
}

static const cJSON *at_path(const cJSON *v, const char *path)
{
	if (!path || !*path)
		return v;
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", path);
	char *save = NULL;
	for (char *t = strtok_r(tmp, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
		v = CJ(v, t);
	return v;
}

static void push(char ***list, size_t *n, char *s)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = s;
}

int check_shape_main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
			"usage: jira-sim --check-shape ACTUAL FIXTURE [--at PATH] [--fields a,b] "
			"[--nullable PATH]... [--optional PATH]...\n");
		return EXIT_USAGE;
	}
	struct model m;
	memset(&m, 0, sizeof(m));
	const char *at = NULL;
	char *fields = NULL;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--at") == 0) {
			at = argv[i + 1];
		} else if (strcmp(argv[i], "--fields") == 0) {
			fields = xstrdup(argv[i + 1]);
			char *save = NULL;
			for (char *t = strtok_r(fields, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				push(&m.fields, &m.n_fields, t);
		} else if (strcmp(argv[i], "--nullable") == 0) {
			push(&m.nullable, &m.n_nullable, argv[i + 1]);
		} else if (strcmp(argv[i], "--optional") == 0) {
			push(&m.optional, &m.n_optional, argv[i + 1]);
		} else {
			fprintf(stderr, "check-shape: unknown option '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	cJSON *actual = load(argv[2]), *fixture = load(argv[3]);
	int rc = 1;
	if (!actual || !fixture)
		goto out;
	const cJSON *a = at_path(actual, at), *f = at_path(fixture, at);
	if (!a || !f) {
		fprintf(stderr, "check-shape: path '%s' missing\n", at ? at : "");
		goto out;
	}
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 0) {
		fprintf(stderr, "check-shape: nothing to check (empty array)\n");
		goto out;
	}
	learn(&m, "", f);
	check(&m, "", a);
	printf("check-shape %s: %d values checked, %d differences\n", argv[2], m.checked, m.errors);
	rc = m.errors ? 1 : 0;
out:
	cJSON_Delete(actual);
	cJSON_Delete(fixture);
	for (size_t i = 0; i < m.n; i++) {
		free(m.s[i].path);
		for (size_t k = 0; k < m.s[i].n_keys; k++)
			free(m.s[i].keys[k].name);
		free(m.s[i].keys);
	}
	free(m.s);
	free(m.fields);
	free(m.nullable);
	free(m.optional);
	free(fields);
	return rc;
}

/* ---- --json FILE PATH...: tiny value extractor for the shell tests ---------------- */
/* PATH: dot-separated keys and array indexes ("issues.0.fields.summary");
 * a final "#" prints an array's or object's size. Strings print raw,
 * integers without a fraction, anything else as compact JSON. */
int json_get_main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: jira-sim --json FILE PATH...\n");
		return EXIT_USAGE;
	}
	cJSON *root = load(argv[2]);
	if (!root)
		return 1;
	int rc = 0;
	for (int i = 3; i < argc; i++) {
		const cJSON *v = root;
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s", argv[i]);
		char *save = NULL;
		bool count = false;
		for (char *t = strtok_r(tmp, ".", &save); t && v; t = strtok_r(NULL, ".", &save)) {
			long idx;
			if (strcmp(t, "#") == 0)
				count = true;
			else if (cJSON_IsArray(v) && parse_int_range(t, 0, 1L << 30, &idx) == 0)
				v = cJSON_GetArrayItem(v, (int)idx);
			else
				v = cJSON_IsObject(v) ? CJ(v, t) : NULL;
		}
		if (!v) {
			printf("MISSING\n");
			rc = 1;
		} else if (count) {
			printf("%d\n", cJSON_GetArraySize(v));
		} else if (cJSON_IsString(v)) {
			printf("%s\n", v->valuestring);
		} else if (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble) {
			printf("%" PRId64 "\n", (int64_t)v->valuedouble);
		} else {
			char *s = cJSON_PrintUnformatted(v);
			printf("%s\n", s ? s : "");
			free(s);
		}
	}
	cJSON_Delete(root);
	return rc;
}
