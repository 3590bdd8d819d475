/*
 * jira-sim data: deterministic generation of users, projects, issues,
 * comments, worklogs, boards and sprints from the seed (splitmix64), the
 * per-project (updated, id) order that makes keyset search a binary search,
 * and the mutations the control API performs. Rich-text bodies are not
 * stored: each is regenerated from its own seed when rendered (ADF on Cloud,
 * wiki markup on Data Center) together with its exact plain text.
 */
#include "tests/jira-sim/sim.h"

#include <math.h>
#include <strings.h>

struct sim SIM;

const char *const sim_sprint_states[3] = {"closed", "active", "future"};

const struct sim_status sim_statuses[] = {
	{"10000", "To Do", "new", "To Do", "blue-gray", 2},
	{"3", "In Progress", "indeterminate", "In Progress", "yellow", 4},
	{"10001", "In Review", "indeterminate", "In Progress", "yellow", 4},
	{"10002", "Done", "done", "Done", "green", 3},
};
const int sim_n_statuses = (int)JS_ARRAY_LEN(sim_statuses);
const struct sim_named sim_priorities[] = {
	{"1", "Highest"}, {"2", "High"}, {"3", "Medium"}, {"4", "Low"}, {"5", "Lowest"},
};
const int sim_n_priorities = (int)JS_ARRAY_LEN(sim_priorities);
const struct sim_named sim_types[] = {
	{"10001", "Story"},
	{"10002", "Task"},
	{"10003", "Bug"},
	{"10004", "Epic"},
};
const int sim_n_types = (int)JS_ARRAY_LEN(sim_types);

/* ---- randomness --------------------------------------------------------- */
uint64_t sim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	uint64_t x = r->s;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

int rng_poisson(struct rng *r, double mean)
{
	if (mean <= 0)
		return 0;
	/* Knuth for small means; normal approximation past 30. */
	if (mean > 30) {
		double u1 = rng_unit(r) + 1e-12, u2 = rng_unit(r);
		double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
		int v = (int)(mean + z * sqrt(mean) + 0.5);
		return v < 0 ? 0 : v;
	}
	double l = exp(-mean), p = 1.0;
	int k = 0;
	do {
		k++;
		p *= rng_unit(r);
	} while (p > l);
	return k - 1;
}

/* ---- time zones --------------------------------------------------------- */
/* Fixed offsets (standard time): the simulator does not model DST. */
static const struct {
	const char *zone;
	int minutes;
} zones[] = {
	{"UTC", 0},
	{"Etc/UTC", 0},
	{"GMT", 0},
	{"Europe/London", 0},
	{"Europe/Lisbon", 0},
	{"America/Los_Angeles", -480},
	{"America/Denver", -420},
	{"America/Chicago", -360},
	{"America/Guatemala", -360},
	{"America/New_York", -300},
	{"America/Sao_Paulo", -180},
	{"America/Argentina/Buenos_Aires", -180},
	{"Pacific/Honolulu", -600},
	{"Europe/Berlin", 60},
	{"Europe/Paris", 60},
	{"Europe/Warsaw", 60},
	{"Africa/Cairo", 120},
	{"Europe/Helsinki", 120},
	{"Europe/Moscow", 180},
	{"Asia/Dubai", 240},
	{"Asia/Kolkata", 330},
	{"Asia/Kathmandu", 345},
	{"Asia/Shanghai", 480},
	{"Asia/Singapore", 480},
	{"Asia/Tokyo", 540},
	{"Australia/Sydney", 600},
	{"Pacific/Auckland", 720},
};

int sim_tz_offset(const char *zone, int *minutes)
{
	for (size_t i = 0; i < JS_ARRAY_LEN(zones); i++) {
		if (strcmp(zones[i].zone, zone) == 0) {
			*minutes = zones[i].minutes;
			return 0;
		}
	}
	return -1;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t sim_local_to_ms(int y, int mo, int d, int h, int mi, int offset_min)
{
	int64_t days = days_from_civil(y, mo, d);
	return ((days * 24 + h) * 60 + mi - offset_min) * 60000LL;
}

/* ---- lookups ------------------------------------------------------------ */
struct sim_project *sim_project_by_key(const char *key)
{
	for (size_t i = 0; i < SIM.n_projects; i++) {
		char idbuf[24];
		if (strcasecmp(SIM.projects[i].key, key) == 0 ||
		    strcmp(fmt_i64(idbuf, SIM.projects[i].id), key) == 0)
			return &SIM.projects[i];
	}
	return NULL;
}

struct sim_issue *sim_issue_by_id(int64_t id)
{
	if (id < SIM_ID_BASE || (size_t)(id - SIM_ID_BASE) >= SIM.n_issues)
		return NULL;
	struct sim_issue *is = SIM.issues[id - SIM_ID_BASE];
	return is->deleted ? NULL : is;
}

struct sim_issue *sim_issue_by_ref(const char *ref)
{
	int64_t id;
	if (parse_i64(ref, &id) == 0)
		return sim_issue_by_id(id);
	const char *dash = strrchr(ref, '-');
	if (!dash || dash == ref || (size_t)(dash - ref) >= 32)
		return NULL;
	char key[32];
	memcpy(key, ref, (size_t)(dash - ref));
	key[dash - ref] = '\0';
	struct sim_project *p = sim_project_by_key(key);
	int64_t num;
	if (!p || parse_i64(dash + 1, &num) < 0 || num < 1 || (size_t)num > p->n_issues)
		return NULL;
	struct sim_issue *is = p->by_num[num - 1];
	return is->deleted ? NULL : is;
}

struct sim_comment *sim_comment_by_id(int64_t id)
{
	if (id < SIM_ID_BASE || (size_t)(id - SIM_ID_BASE) >= SIM.n_comments)
		return NULL;
	struct sim_comment *c = &SIM.comments[id - SIM_ID_BASE];
	return c->deleted ? NULL : c;
}

struct sim_worklog *sim_worklog_by_id(int64_t id)
{
	if (id < SIM_ID_BASE || (size_t)(id - SIM_ID_BASE) >= SIM.n_worklogs)
		return NULL;
	struct sim_worklog *w = &SIM.worklogs[id - SIM_ID_BASE];
	return w->deleted ? NULL : w;
}

struct sim_sprint *sim_sprint_by_id(int64_t id)
{
	if (id < 1 || (size_t)id > SIM.n_sprints)
		return NULL;
	return &SIM.sprints[id - 1];
}

int sim_user_by_account(const char *account_id)
{
	for (size_t i = 0; i < SIM.n_users; i++)
		if (strcmp(SIM.users[i].account_id, account_id) == 0 ||
		    (SIM.o.dc && strcmp(SIM.users[i].name, account_id) == 0))
			return (int)i;
	return -1;
}

/* ---- order -------------------------------------------------------------- */
static int cmp_pos(int64_t u1, int64_t i1, int64_t u2, int64_t i2)
{
	if (u1 != u2)
		return u1 < u2 ? -1 : 1;
	if (i1 != i2)
		return i1 < i2 ? -1 : 1;
	return 0;
}

static int cmp_issue_order(const void *a, const void *b)
{
	const struct sim_issue *x = *(struct sim_issue *const *)a;
	const struct sim_issue *y = *(struct sim_issue *const *)b;
	return cmp_pos(x->updated, x->id, y->updated, y->id);
}

size_t sim_order_lower(const struct sim_project *p, int64_t updated, int64_t id)
{
	size_t lo = 0, hi = p->n_order;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sim_issue *is = p->order[mid];
		if (cmp_pos(is->updated, is->id, updated, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void order_remove(struct sim_project *p, struct sim_issue *is)
{
	size_t i = sim_order_lower(p, is->updated, is->id);
	if (i < p->n_order && p->order[i] == is) {
		memmove(&p->order[i], &p->order[i + 1], (p->n_order - i - 1) * sizeof(*p->order));
		p->n_order--;
	}
}

static void order_insert(struct sim_project *p, struct sim_issue *is)
{
	size_t i = sim_order_lower(p, is->updated, is->id);
	memmove(&p->order[i + 1], &p->order[i], (p->n_order - i) * sizeof(*p->order));
	p->order[i] = is;
	p->n_order++;
}

int64_t sim_stamp(void)
{
	int64_t t = now_ms();
	if (t <= SIM.last_stamp)
		t = SIM.last_stamp + 1;
	SIM.last_stamp = t;
	return t;
}

void sim_touch_issue(struct sim_issue *is)
{
	struct sim_project *p = &SIM.projects[is->project];
	order_remove(p, is);
	is->updated = sim_stamp();
	order_insert(p, is);
}

/* ---- words -------------------------------------------------------------- */
static const char *const first_names[] = {
	"Carlos", "Ana",  "Wei",   "Priya", "Olga", "Tomás", "Fatima", "John",  "Mia",  "Kenji",
	"Lucía",  "Noah", "Amara", "Sven",  "Zoë",  "Ravi",  "Hannah", "Diego", "Yuki", "Omar",
};
static const char *const last_names[] = {
	"Treminio", "Silva",  "Zhang",   "Patel",     "Ivanova", "García", "Khan",
	"Smith",    "Müller", "Tanaka",  "Fernández", "Brown",   "Okafor", "Larsen",
	"O'Neil",   "Rao",    "Schmidt", "López",     "Sato",    "Haddad",
};
static const char *const user_zones[] = {
	"America/Los_Angeles", "America/Sao_Paulo", "America/New_York", "America/Guatemala",
	"Europe/London",       "Europe/Berlin",     "Asia/Kolkata",     "Asia/Tokyo",
	"Australia/Sydney",    "Pacific/Auckland",  "America/Chicago",  "Asia/Kathmandu",
};
static const char *const words[] = {
	"login",       "page",   "timeout",   "cache",  "report",  "export",    "search",
	"invoice",     "sync",   "dashboard", "token",  "webhook", "query",     "billing",
	"upload",      "mobile", "API",       "filter", "latency", "migration", "schema",
	"retry",       "queue",  "worker",    "café",   "naïve",   "日本語",    "\"quoted\"",
	"back\\slash", "50%",    "<tag>",     "a&b",
};
static const char *const verbs[] = {
	"Fix",      "Add",      "Improve",  "Remove",  "Investigate",
	"Refactor", "Document", "Speed up", "Support", "Migrate",
};
static const char *const label_words[] = {
	"backend",  "frontend", "ui",       "api",       "infra",
	"security", "perf",     "customer", "tech-debt", "ux",
};
static const struct {
	const char *short_name, *id, *text;
} emojis[] = {
	{":smile:", "1f604", "\xF0\x9F\x98\x84"},
	{":grin:", "1f601", "\xF0\x9F\x98\x81"},
	{":rocket:", "1f680", "\xF0\x9F\x9A\x80"},
	{":thumbsup:", "1f44d", "\xF0\x9F\x91\x8D"},
};

#define PICK(r, arr) (arr[rng_next(r) % JS_ARRAY_LEN(arr)])

/* ---- document generation ------------------------------------------------ */
/*
 * The generator writes the ADF JSON and, in step, the text the documented
 * rules give for it. It never emits what the rules leave open: no empty
 * blocks, no leading/trailing spaces or newlines inside text nodes, no
 * hardBreak at a block's end, no nested lists.
 */
struct gen {
	struct rng r;
	struct buf *j; /* may be NULL */
	struct buf *t; /* may be NULL */
};

static void gj(struct gen *g, const char *s)
{
	if (g->j)
		out(g->j, s);
}

static void gjs(struct gen *g, const char *s)
{
	if (g->j)
		out_str(g->j, s);
}

static void gt(struct gen *g, const char *s)
{
	if (g->t)
		out(g->t, s);
}

static void gt_block_end(struct gen *g)
{
	if (g->t && (g->t->len == 0 || g->t->data[g->t->len - 1] != '\n'))
		out(g->t, "\n");
}

static void gen_words(struct gen *g, struct buf *w, int n)
{
	for (int i = 0; i < n; i++) {
		if (i)
			out(w, " ");
		const char *x = PICK(&g->r, words);
		if (i == 0 && x[0] >= 'a' && x[0] <= 'z') {
			char c = (char)(x[0] - 'a' + 'A');
			outn(w, &c, 1);
			out(w, x + 1);
		} else {
			out(w, x);
		}
	}
}

static void gen_text_node(struct gen *g, const char *text, int mark)
{
	gj(g, "{\"type\":\"text\",\"text\":");
	gjs(g, text);
	if (mark == 1)
		gj(g, ",\"marks\":[{\"type\":\"strong\"}]");
	else if (mark == 2)
		gj(g, ",\"marks\":[{\"type\":\"em\"}]");
	else if (mark == 3)
		gj(g, ",\"marks\":[{\"type\":\"code\"}]");
	gj(g, "}");
	gt(g, text);
}

/* Inline content of a paragraph: text runs with separators, never starting
 * or ending with a hardBreak or whitespace. */
static void gen_inlines(struct gen *g, bool rich)
{
	struct buf w = BUF_INIT;
	int n = (int)rng_range(&g->r, 1, rich ? 5 : 2);
	for (int i = 0; i < n; i++) {
		if (i) {
			gj(g, ",");
			int sep = rich ? (int)rng_range(&g->r, 0, 9) : 1;
			if (sep == 0) {
				gj(g, "{\"type\":\"hardBreak\"},");
				gt(g, "\n");
			} else {
				gen_text_node(g, " ", 0);
				gj(g, ",");
			}
		}
		int kind = rich ? (int)rng_range(&g->r, 0, 11) : 0;
		buf_reset(&w);
		if (kind <= 5) {
			gen_words(g, &w, (int)rng_range(&g->r, 1, 8));
			gen_text_node(g, w.data, kind <= 3 ? 0 : kind - 3);
		} else if (kind <= 7) {
			const struct sim_user *u = &SIM.users[rng_next(&g->r) % SIM.n_users];
			bool with_text = kind == 6;
			gj(g, "{\"type\":\"mention\",\"attrs\":{\"id\":");
			gjs(g, u->account_id);
			if (with_text) {
				outf(&w, "@%s", u->display_name);
				gj(g, ",\"text\":");
				gjs(g, w.data);
				gt(g, w.data);
			} else {
				gt(g, "@");
				gt(g, u->account_id);
			}
			gj(g, ",\"accessLevel\":\"\"}}");
		} else if (kind <= 9) {
			int e = (int)(rng_next(&g->r) % JS_ARRAY_LEN(emojis));
			gj(g, "{\"type\":\"emoji\",\"attrs\":{\"shortName\":");
			gjs(g, emojis[e].short_name);
			gj(g, ",\"id\":");
			gjs(g, emojis[e].id);
			if (kind == 8) {
				gj(g, ",\"text\":");
				gjs(g, emojis[e].text);
				gt(g, emojis[e].text);
			} else {
				gt(g, emojis[e].short_name);
			}
			gj(g, "}}");
		} else if (kind == 10) {
			/* A date at UTC midnight, as the editor stores it. */
			int64_t day = rng_range(&g->r, 18000, 20500);
			int64_t ms = day * 86400000LL;
			char ts[32], iso[32];
			jtime_format(iso, ms);
			snprintf(ts, sizeof(ts), "%" PRId64, ms);
			gj(g, "{\"type\":\"date\",\"attrs\":{\"timestamp\":");
			gjs(g, ts);
			gj(g, "}}");
			iso[10] = '\0';
			gt(g, iso);
		} else {
			outf(&w, "https://example.com/browse/%c%d",
			     'A' + (int)rng_range(&g->r, 0, 25), (int)rng_range(&g->r, 1, 999));
			gj(g, "{\"type\":\"inlineCard\",\"attrs\":{\"url\":");
			gjs(g, w.data);
			gj(g, "}}");
			gt(g, w.data);
		}
	}
	buf_release(&w);
}

static void gen_paragraph(struct gen *g, bool rich)
{
	gj(g, "{\"type\":\"paragraph\",\"content\":[");
	gen_inlines(g, rich);
	gj(g, "]}");
	gt_block_end(g);
}

static void gen_list(struct gen *g, bool ordered)
{
	int n = (int)rng_range(&g->r, 2, 4);
	int order = ordered ? (int)rng_range(&g->r, 1, 3) : 1;
	if (ordered) {
		if (order == 1 && rng_next(&g->r) % 2) {
			gj(g, "{\"type\":\"orderedList\",\"content\":[");
		} else {
			char a[64];
			snprintf(a, sizeof(a),
				 "{\"type\":\"orderedList\",\"attrs\":{\"order\":%d},\"content\":[",
				 order);
			gj(g, a);
		}
	} else {
		gj(g, "{\"type\":\"bulletList\",\"content\":[");
	}
	for (int i = 0; i < n; i++) {
		if (i)
			gj(g, ",");
		if (ordered) {
			char p[16];
			snprintf(p, sizeof(p), "%d. ", order + i);
			gt(g, p);
		} else {
			gt(g, "- ");
		}
		gj(g, "{\"type\":\"listItem\",\"content\":[");
		gen_paragraph(g, false);
		gj(g, "]}");
		gt_block_end(g);
	}
	gj(g, "]}");
}

static void gen_table(struct gen *g)
{
	int rows = (int)rng_range(&g->r, 2, 3), cols = (int)rng_range(&g->r, 2, 3);
	gj(g,
	   "{\"type\":\"table\",\"attrs\":{\"isNumberColumnEnabled\":false,\"layout\":\"default\"},\"content\":[");
	struct buf w = BUF_INIT;
	for (int r = 0; r < rows; r++) {
		if (r)
			gj(g, ",");
		gj(g, "{\"type\":\"tableRow\",\"content\":[");
		for (int c = 0; c < cols; c++) {
			if (c) {
				gj(g, ",");
				gt(g, " | ");
			}
			buf_reset(&w);
			if (r == 0)
				outf(&w, "Header %d", c + 1);
			else
				gen_words(g, &w, (int)rng_range(&g->r, 1, 3));
			gj(g,
			   r == 0 ? "{\"type\":\"tableHeader\",\"attrs\":{},\"content\":[{\"type\":\"paragraph\",\"content\":["
				  : "{\"type\":\"tableCell\",\"attrs\":{},\"content\":[{\"type\":\"paragraph\",\"content\":[");
			gen_text_node(g, w.data, r == 0 ? 1 : 0);
			gj(g, "]}]}");
		}
		gj(g, "]}");
		gt(g, "\n");
	}
	gj(g, "]}");
	buf_release(&w);
}

static void gen_adf(struct gen *g, int kind)
{
	gj(g, "{\"version\":1,\"type\":\"doc\",\"content\":[");
	int blocks = kind == DOC_DESC ? (int)rng_range(&g->r, 1, 6) : (int)rng_range(&g->r, 1, 2);
	struct buf w = BUF_INIT;
	for (int i = 0; i < blocks; i++) {
		if (i)
			gj(g, ",");
		int b = kind == DOC_DESC ? (int)rng_range(&g->r, 0, 11)
					 : (int)rng_range(&g->r, 0, 5);
		if (b <= 4 || (i == 0 && b == 11)) {
			gen_paragraph(g, true);
		} else if (b == 5) {
			gen_list(g, false);
		} else if (b == 6) {
			gen_list(g, true);
		} else if (b == 7) {
			char a[80];
			snprintf(a, sizeof(a),
				 "{\"type\":\"heading\",\"attrs\":{\"level\":%d},\"content\":[",
				 (int)rng_range(&g->r, 1, 3));
			gj(g, a);
			buf_reset(&w);
			gen_words(g, &w, (int)rng_range(&g->r, 1, 4));
			gen_text_node(g, w.data, 0);
			gj(g, "]}");
			gt_block_end(g);
		} else if (b == 8) {
			gj(g,
			   "{\"type\":\"codeBlock\",\"attrs\":{\"language\":\"sql\"},\"content\":[");
			buf_reset(&w);
			outf(&w, "SELECT id FROM t WHERE n = %d;", (int)rng_range(&g->r, 1, 99));
			gen_text_node(g, w.data, 0);
			gj(g, "]}");
			gt_block_end(g);
		} else if (b == 9) {
			gen_table(g);
		} else if (b == 10) {
			gj(g,
			   "{\"type\":\"panel\",\"attrs\":{\"panelType\":\"info\"},\"content\":[");
			gen_paragraph(g, true);
			gj(g, "]}");
			gt_block_end(g);
		} else {
			gj(g, "{\"type\":\"rule\"}");
			gt_block_end(g);
		}
	}
	gj(g, "]}");
	buf_release(&w);
}

/* Data Center: wiki markup; its text is the string itself. */
static void gen_wiki(struct gen *g, int kind, struct buf *w)
{
	int blocks = kind == DOC_DESC ? (int)rng_range(&g->r, 1, 4) : 1;
	for (int i = 0; i < blocks; i++) {
		if (i)
			out(w, "\n\n");
		int b = (int)rng_range(&g->r, 0, 5);
		if (b == 0 && kind == DOC_DESC) {
			out(w, "h2. ");
			gen_words(g, w, 3);
		} else if (b == 1 && kind == DOC_DESC) {
			out(w, "* ");
			gen_words(g, w, 2);
			out(w, "\n* ");
			gen_words(g, w, 3);
		} else {
			gen_words(g, w, (int)rng_range(&g->r, 2, 8));
			out(w, " *");
			gen_words(g, w, 1);
			out(w, "* [~");
			out(w, SIM.users[rng_next(&g->r) % SIM.n_users].name);
			out(w, "] :)");
		}
	}
}

static void trim_trailing(struct buf *t)
{
	while (t->len && (t->data[t->len - 1] == '\n' || t->data[t->len - 1] == ' ' ||
			  t->data[t->len - 1] == '\t' || t->data[t->len - 1] == '\r'))
		t->data[--t->len] = '\0';
}

void sim_doc_render(const struct sim_doc *d, struct buf *json, struct buf *text)
{
	if (d->over_json) {
		if (json) {
			if (SIM.o.dc)
				out_str(json, d->over_json);
			else
				out(json, d->over_json);
		}
		if (text && d->over_text)
			out(text, d->over_text);
		return;
	}
	if (!d->seed) {
		if (json)
			out(json, "null");
		return;
	}
	struct gen g = {{d->seed}, json, NULL};
	if (SIM.o.dc) {
		struct buf w = BUF_INIT;
		gen_wiki(&g, d->kind, &w);
		if (json)
			out_str(json, w.data);
		if (text)
			out(text, w.data);
		buf_release(&w);
		return;
	}
	struct buf t = BUF_INIT;
	g.t = text ? &t : NULL;
	gen_adf(&g, d->kind);
	if (text) {
		trim_trailing(&t);
		out(text, t.data);
	}
	buf_release(&t);
}

static void doc_clear(struct sim_doc *d)
{
	free(d->over_json);
	free(d->over_text);
	d->over_json = d->over_text = NULL;
}

void sim_doc_set_text(struct sim_doc *d, const char *text)
{
	doc_clear(d);
	if (!text || !*text) {
		d->seed = 0;
		return;
	}
	d->seed = 1; /* not null */
	if (SIM.o.dc) {
		d->over_json = xstrdup(text);
		d->over_text = xstrdup(text);
		return;
	}
	/* One paragraph; newlines become hardBreaks. */
	struct buf j = BUF_INIT, t = BUF_INIT, part = BUF_INIT;
	out(&j,
	    "{\"version\":1,\"type\":\"doc\",\"content\":[{\"type\":\"paragraph\",\"content\":[");
	const char *p = text;
	bool first = true;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n) {
			if (!first)
				out(&j, ",");
			buf_reset(&part);
			outn(&part, p, n);
			out(&j, "{\"type\":\"text\",\"text\":");
			out_str(&j, part.data);
			out(&j, "}");
			first = false;
		}
		if (!nl)
			break;
		if (!first)
			out(&j, ",");
		out(&j, "{\"type\":\"hardBreak\"}");
		first = false;
		p = nl + 1;
	}
	out(&j, "]}]}");
	out(&t, text);
	trim_trailing(&t);
	d->over_json = buf_detach(&j);
	d->over_text = buf_detach(&t);
	buf_release(&part);
}

/* ---- growth helpers ----------------------------------------------------- */
#define GROW(arr, n, cap)                                                \
	do {                                                             \
		if ((n) == (cap)) {                                      \
			(cap) = (cap) ? (cap)*2 : 64;                    \
			(arr) = xrealloc((arr), (cap) * sizeof(*(arr))); \
		}                                                        \
	} while (0)

static void issue_add_comment_id(struct sim_issue *is, int64_t id)
{
	GROW(is->comments, is->n_comments, is->cap_comments);
	is->comments[is->n_comments++] = id;
}

static void issue_add_worklog_id(struct sim_issue *is, int64_t id)
{
	GROW(is->worklogs, is->n_worklogs, is->cap_worklogs);
	is->worklogs[is->n_worklogs++] = id;
}

static struct sim_comment *new_comment(struct sim_issue *is)
{
	GROW(SIM.comments, SIM.n_comments, SIM.cap_comments);
	struct sim_comment *c = &SIM.comments[SIM.n_comments];
	memset(c, 0, sizeof(*c));
	c->id = SIM_ID_BASE + (int64_t)SIM.n_comments++;
	c->issue_id = is->id;
	c->body.kind = DOC_COMMENT;
	issue_add_comment_id(is, c->id);
	return c;
}

static struct sim_worklog *new_worklog(struct sim_issue *is)
{
	GROW(SIM.worklogs, SIM.n_worklogs, SIM.cap_worklogs);
	struct sim_worklog *w = &SIM.worklogs[SIM.n_worklogs];
	memset(w, 0, sizeof(*w));
	w->id = SIM_ID_BASE + (int64_t)SIM.n_worklogs++;
	w->issue_id = is->id;
	w->comment.kind = DOC_WORKLOG;
	issue_add_worklog_id(is, w->id);
	return w;
}

static struct sim_issue *new_issue(struct sim_project *p)
{
	struct sim_issue *is = xcalloc(1, sizeof(*is));
	GROW(SIM.issues, SIM.n_issues, SIM.cap_issues);
	is->id = SIM_ID_BASE + (int64_t)SIM.n_issues;
	SIM.issues[SIM.n_issues++] = is;
	GROW(p->by_num, p->n_issues, p->cap_issues);
	p->by_num[p->n_issues++] = is;
	is->num = (int)p->n_issues;
	is->project = (int)(p - SIM.projects);
	is->desc.kind = DOC_DESC;
	is->resolved = JS_TIME_NULL;
	is->assignee = -1;
	is->priority = -1;
	return is;
}

static char *gen_summary(struct rng *r)
{
	struct buf b = BUF_INIT;
	out(&b, PICK(r, verbs));
	int n = (int)rng_range(r, 2, 6);
	for (int i = 0; i < n; i++) {
		out(&b, " ");
		out(&b, PICK(r, words));
	}
	return buf_detach(&b);
}

/* ---- generation --------------------------------------------------------- */
#define DAY_MS 86400000LL

static uint64_t doc_seed(int kind, int64_t id)
{
	uint64_t s = sim_mix(SIM.o.seed ^ ((uint64_t)kind << 56) ^ (uint64_t)id);
	return s ? s : 1;
}

static void gen_users(struct rng *r)
{
	SIM.n_users = (size_t)SIM.o.users;
	SIM.users = xcalloc(SIM.n_users, sizeof(*SIM.users));
	for (size_t i = 0; i < SIM.n_users; i++) {
		struct sim_user *u = &SIM.users[i];
		const char *fn = first_names[i % JS_ARRAY_LEN(first_names)];
		const char *ln = last_names[(i / JS_ARRAY_LEN(first_names) + i * 7) %
					    JS_ARRAY_LEN(last_names)];
		if (SIM.o.dc) {
			snprintf(u->account_id, sizeof(u->account_id), "JIRAUSER%zu", 10100 + i);
		} else {
			uint64_t a = rng_next(r), b = rng_next(r);
			snprintf(u->account_id, sizeof(u->account_id), "%016" PRIx64 "%08" PRIx64,
				 a, (uint64_t)(b & 0xffffffffU));
		}
		snprintf(u->display_name, sizeof(u->display_name), "%s %s", fn, ln);
		/* ASCII-only login names and mail addresses. */
		char login[40];
		size_t k = 0;
		for (const char *s = u->display_name; *s && k + 1 < sizeof(login); s++) {
			unsigned char c = (unsigned char)*s;
			if (c >= 'A' && c <= 'Z')
				login[k++] = (char)(c - 'A' + 'a');
			else if ((c >= 'a' && c <= 'z'))
				login[k++] = (char)c;
			else if (c == ' ')
				login[k++] = '.';
		}
		login[k] = '\0';
		snprintf(u->name, sizeof(u->name), "%.24s%u", login, (unsigned)(i % 1000000));
		snprintf(u->email, sizeof(u->email), "%.24s%u@example.com", login,
			 (unsigned)(i % 1000000));
		u->tz = user_zones[i % JS_ARRAY_LEN(user_zones)];
	}
	struct sim_user *c = &SIM.caller;
	if (SIM.o.dc)
		snprintf(c->account_id, sizeof(c->account_id), "JIRAUSER10000");
	else
		snprintf(c->account_id, sizeof(c->account_id), "5f0c277e70b8a90025a00000");
	snprintf(c->name, sizeof(c->name), "sync-bot");
	snprintf(c->display_name, sizeof(c->display_name), "Sync Bot");
	snprintf(c->email, sizeof(c->email), "%s",
		 SIM.o.email ? SIM.o.email : "sync-bot@example.com");
	c->tz = SIM.o.caller_tz;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void gen_sprints(struct sim_project *p, struct rng *r, long n_issues)
{
	long n = n_issues / 40;
	if (n < 1)
		n = 1;
	long n_future = n >= 3 ? 2 : 0;
	long n_closed = n - 1 - n_future;
	int64_t anchor = SIM.o.anchor_ms;
	int64_t cadence = 14 * DAY_MS;
	if (n_closed > 0 && cadence * (n_closed + 1) > 700 * DAY_MS)
		cadence = 700 * DAY_MS / (n_closed + 1);
	for (long k = 0; k < n; k++) {
		GROW(SIM.sprints, SIM.n_sprints, SIM.cap_sprints);
		struct sim_sprint *s = &SIM.sprints[SIM.n_sprints];
		memset(s, 0, sizeof(*s));
		s->id = (int64_t)++SIM.n_sprints;
		s->board_id = p->scrum_board;
		s->project = (int)(p - SIM.projects);
		s->seq = (int)k + 1;
		snprintf(s->name, sizeof(s->name), "%s Sprint %ld", p->key, k + 1);
		/* Cloud sends "goal" ("" when unset) once a sprint has started; Server
		 * only when set. Future sprints have none. */
		bool has_goal = rng_next(r) % 2;
		if (has_goal && k <= n_closed)
			s->goal = xstrdup(k % 3 ? "Ship the search rework"
						: "Stabilise, \"no\" new features");
		else if (!SIM.o.dc && k <= n_closed)
			s->goal = xstrdup("");
		s->start = s->end = s->complete = JS_TIME_NULL;
		if (k < n_closed) {
			s->state = SPRINT_CLOSED;
			s->start = anchor - 7 * DAY_MS - (n_closed - k) * cadence +
				   rng_range(r, 0, 3600000);
			s->end = s->start + cadence;
			s->complete = s->end + rng_range(r, -7200000, 7200000);
		} else if (k == n_closed) {
			s->state = SPRINT_ACTIVE;
			s->start = anchor - 7 * DAY_MS + rng_range(r, 0, 3600000);
			s->end = s->start + 14 * DAY_MS;
		} else {
			s->state = SPRINT_FUTURE;
		}
	}
}

static void gen_project(size_t pi, struct rng *r)
{
	struct sim_project *p = &SIM.projects[pi];
	long n = SIM.o.issues;
	int64_t anchor = SIM.o.anchor_ms;
	int64_t span = 730 * DAY_MS;
	size_t first_sprint = SIM.n_sprints;
	gen_sprints(p, r, n);
	size_t n_sprints = SIM.n_sprints - first_sprint;

	int64_t *created = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(*created));
	for (long i = 0; i < n; i++)
		created[i] = anchor - span + rng_range(r, 0, span - 3600000);
	qsort(created, (size_t)n, sizeof(*created), cmp_i64);

	int64_t prev_updated = INT64_MIN;
	for (long i = 0; i < n; i++) {
		struct sim_issue *is = new_issue(p);
		is->created = created[i];
		double u = rng_unit(r);
		int64_t room = anchor - 60000 - is->created;
		is->updated = is->created + (int64_t)((double)room * u * u * u);
		/* Some issues share an updated stamp (bulk edits): (updated, id) ties. */
		if (prev_updated >= is->created && prev_updated < anchor - 60000 &&
		    rng_next(r) % 50 == 0)
			is->updated = prev_updated;
		prev_updated = is->updated;
		is->summary = gen_summary(r);
		is->type = (int)(rng_next(r) % (uint64_t)sim_n_types);
		is->status = (int)(rng_next(r) % (uint64_t)sim_n_statuses);
		if (strcmp(sim_statuses[is->status].cat_key, "done") == 0)
			is->resolved = rng_range(r, is->created, is->updated);
		is->priority = rng_next(r) % 8 == 0
				       ? -1
				       : (int)(rng_next(r) % (uint64_t)sim_n_priorities);
		is->reporter = (int)(rng_next(r) % SIM.n_users);
		is->assignee = rng_next(r) % 5 == 0 ? -1 : (int)(rng_next(r) % SIM.n_users);
		is->n_labels = (int)rng_range(r, 0, 3);
		for (int l = 0; l < is->n_labels; l++) {
			const char *lw;
			bool dup;
			do {
				lw = PICK(r, label_words);
				dup = false;
				for (int m = 0; m < l; m++)
					dup |= strcmp(is->labels[m], lw) == 0;
			} while (dup);
			is->labels[l] = xstrdup(lw);
		}
		is->desc.seed = rng_next(r) % 6 == 0 ? 0 : doc_seed(DOC_DESC, is->id);
		int ns = (int)rng_range(r, 0, 9);
		ns = ns < 3 ? 0 : ns < 8 ? 1 : 2;
		if (n_sprints && ns) {
			size_t s = first_sprint + rng_next(r) % n_sprints;
			is->sprints[is->n_sprints++] = SIM.sprints[s].id;
			if (ns == 2 && s + 1 < first_sprint + n_sprints)
				is->sprints[is->n_sprints++] = SIM.sprints[s + 1].id;
		}

		bool heavy = is->num % 40 == 0;
		int nc = heavy ? (int)rng_range(r, 25, 45) : rng_poisson(r, SIM.o.comments_avg);
		int nw = heavy ? (int)rng_range(r, 25, 45) : rng_poisson(r, SIM.o.worklogs_avg);
		int64_t *times = xmalloc((size_t)(nc + nw + 1) * sizeof(*times));
		for (int k = 0; k < nc; k++)
			times[k] = rng_range(r, is->created, is->updated);
		qsort(times, (size_t)nc, sizeof(*times), cmp_i64);
		for (int k = 0; k < nc; k++) {
			struct sim_comment *c = new_comment(is);
			c->author = (int)(rng_next(r) % SIM.n_users);
			c->update_author = rng_next(r) % 10 == 0 ? (int)(rng_next(r) % SIM.n_users)
								 : c->author;
			c->created = times[k];
			c->updated = rng_next(r) % 6 == 0 ? rng_range(r, c->created, is->updated)
							  : c->created;
			c->body.seed = doc_seed(DOC_COMMENT, c->id);
		}
		for (int k = 0; k < nw; k++)
			times[k] = rng_range(r, is->created, is->updated);
		qsort(times, (size_t)nw, sizeof(*times), cmp_i64);
		for (int k = 0; k < nw; k++) {
			struct sim_worklog *w = new_worklog(is);
			w->author = (int)(rng_next(r) % SIM.n_users);
			w->update_author = w->author;
			w->created = times[k];
			w->started = w->created - rng_range(r, 0, 8 * 3600000LL);
			w->updated = rng_next(r) % 8 == 0 ? rng_range(r, w->created, is->updated)
							  : w->created;
			w->seconds = 60 * rng_range(r, 1, 31) * 15; /* 15m .. 7h45m */
			w->comment.seed = rng_next(r) % 2 ? doc_seed(DOC_WORKLOG, w->id) : 0;
		}
		free(times);
	}
	free(created);
	p->order = xmalloc((p->n_issues + 1) * sizeof(*p->order));
	memcpy(p->order, p->by_num, p->n_issues * sizeof(*p->order));
	p->n_order = p->n_issues;
	qsort(p->order, p->n_order, sizeof(*p->order), cmp_issue_order);
}

void sim_generate(void)
{
	struct rng r = {sim_mix(SIM.o.seed)};
	SIM.mut_rng.s = sim_mix(SIM.o.seed ^ 0x5555);
	gen_users(&r);
	SIM.n_projects = SIM.o.n_projects;
	SIM.projects = xcalloc(SIM.n_projects, sizeof(*SIM.projects));
	for (size_t i = 0; i < SIM.n_projects; i++) {
		struct sim_project *p = &SIM.projects[i];
		p->id = 10000 + (int64_t)i;
		snprintf(p->key, sizeof(p->key), "%s", SIM.o.projects[i]);
		snprintf(p->name, sizeof(p->name), "%s Project", p->key);
		p->scrum_board = 2 * (int64_t)i + 1;
		p->kanban_board = 2 * (int64_t)i + 2;
	}
	for (size_t i = 0; i < SIM.n_projects; i++)
		gen_project(i, &r);
	SIM.last_stamp = now_ms();
}

/* ---- mutations ---------------------------------------------------------- */
struct sim_issue *sim_add_issue(struct sim_project *p)
{
	struct sim_issue *is = new_issue(p);
	/* by_num may have moved; order needs room for one more. */
	p->order = xrealloc(p->order, (p->n_issues + 1) * sizeof(*p->order));
	is->created = is->updated = sim_stamp();
	is->reporter = 0;
	is->type = 1;
	is->status = 0;
	is->priority = 2;
	struct rng r = {sim_mix(SIM.o.seed ^ (uint64_t)is->id)};
	is->summary = gen_summary(&r);
	order_insert(p, is);
	return is;
}

void sim_delete_issue(struct sim_issue *is)
{
	struct sim_project *p = &SIM.projects[is->project];
	order_remove(p, is);
	is->deleted = true;
	int64_t t = sim_stamp();
	for (size_t i = 0; i < is->n_comments; i++)
		SIM.comments[is->comments[i] - SIM_ID_BASE].deleted = true;
	for (size_t i = 0; i < is->n_worklogs; i++) {
		struct sim_worklog *w = &SIM.worklogs[is->worklogs[i] - SIM_ID_BASE];
		if (!w->deleted) {
			w->deleted = true;
			w->deleted_at = t;
		}
	}
}

struct sim_comment *sim_add_comment(struct sim_issue *is, int author, const char *body)
{
	struct sim_comment *c = new_comment(is);
	c->author = c->update_author = author;
	c->created = c->updated = sim_stamp();
	sim_doc_set_text(&c->body, body);
	sim_touch_issue(is);
	return c;
}

struct sim_worklog *sim_add_worklog(struct sim_issue *is, int author, int64_t seconds,
				    const char *comment)
{
	struct sim_worklog *w = new_worklog(is);
	w->author = w->update_author = author;
	w->created = w->updated = sim_stamp();
	w->started = w->created - seconds * 1000;
	w->seconds = seconds;
	sim_doc_set_text(&w->comment, comment);
	sim_touch_issue(is);
	return w;
}

struct sim_sprint *sim_add_sprint(struct sim_project *p, const char *name, int state)
{
	GROW(SIM.sprints, SIM.n_sprints, SIM.cap_sprints);
	struct sim_sprint *s = &SIM.sprints[SIM.n_sprints];
	memset(s, 0, sizeof(*s));
	s->id = (int64_t)++SIM.n_sprints;
	s->board_id = p->scrum_board;
	s->project = (int)(p - SIM.projects);
	s->seq = (int)s->id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->start = s->end = s->complete = JS_TIME_NULL;
	s->state = SPRINT_FUTURE;
	sim_sprint_set_state(s, state);
	return s;
}

void sim_sprint_set_state(struct sim_sprint *s, int state)
{
	int64_t t = sim_stamp();
	if (state == SPRINT_FUTURE) {
		s->start = s->end = s->complete = JS_TIME_NULL;
	} else {
		if (!s->goal && !SIM.o.dc)
			s->goal = xstrdup("");
		if (s->start == JS_TIME_NULL) {
			s->start = t;
			s->end = t + 14 * DAY_MS;
		}
		s->complete = state == SPRINT_CLOSED ? t : JS_TIME_NULL;
	}
	s->state = state;
}
