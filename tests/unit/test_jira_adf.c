/*
 * ADF -> text: every node kind of the agreed rules, nesting, tables, unknown
 * nodes, 4-byte UTF-8, and the real ADF bodies of the Cloud capture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/common.h"
#include "jira/jira.h"

#include <cjson/cJSON.h>

/* Converts a JSON document; returns a static copy of the text. */
static const char *conv(const char *json)
{
	static char out[8192];
	cJSON *doc = cJSON_Parse(json);
	if (!doc)
		fail_msg("bad test JSON: %s", json);
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(jira_adf_to_text(doc, &b), 0);
	snprintf(out, sizeof out, "%s", b.data);
	buf_release(&b);
	cJSON_Delete(doc);
	return out;
}

#define DOC(x) "{\"type\":\"doc\",\"version\":1,\"content\":[" x "]}"
#define P(x) "{\"type\":\"paragraph\",\"content\":[" x "]}"
#define T(s) "{\"type\":\"text\",\"text\":\"" s "\"}"

static void test_inline_nodes(void **state)
{
	(void)state;
	assert_string_equal(conv(DOC(P(T("a") ","
					      "{\"type\":\"hardBreak\"}"
					      "," T("b")))),
			    "a\nb");
	assert_string_equal(
		conv(DOC(P(
			"{\"type\":\"mention\",\"attrs\":{\"id\":\"5b86\",\"text\":\"@Carlos\"}}"))),
		"@Carlos");
	assert_string_equal(conv(DOC(P("{\"type\":\"mention\",\"attrs\":{\"id\":\"5b86\"}}"))),
			    "@5b86");
	assert_string_equal(
		conv(DOC(P(
			"{\"type\":\"emoji\",\"attrs\":{\"shortName\":\":grin:\",\"text\":\"\xF0\x9F\x98\x81\"}}"))),
		"\xF0\x9F\x98\x81");
	assert_string_equal(
		conv(DOC(P("{\"type\":\"emoji\",\"attrs\":{\"shortName\":\":grin:\"}}"))),
		":grin:");
	assert_string_equal(
		conv(DOC(P(
			"{\"type\":\"inlineCard\",\"attrs\":{\"url\":\"https://x.example/a\"}}"))),
		"https://x.example/a");
	assert_string_equal(
		conv(DOC("{\"type\":\"blockCard\",\"attrs\":{\"url\":\"https://x.example/b\"}}")),
		"https://x.example/b");
	assert_string_equal(
		conv(DOC(P("{\"type\":\"date\",\"attrs\":{\"timestamp\":\"1611014400000\"}}"))),
		"2021-01-19");
	assert_string_equal(
		conv(DOC(P(
			"{\"type\":\"status\",\"attrs\":{\"text\":\"IN PROGRESS\",\"color\":\"blue\"}}"))),
		"IN PROGRESS");
	assert_string_equal(
		conv(DOC(
			"{\"type\":\"mediaSingle\",\"content\":[{\"type\":\"media\",\"attrs\":{\"id\":\"x\",\"type\":\"file\"}}]}"
			"," P(T("after")))),
		"[attachment]\nafter");
	assert_string_equal(
		conv(DOC(P(T("see ") ","
				     "{\"type\":\"mediaInline\",\"attrs\":{\"id\":\"y\"}}"))),
		"see [attachment]");
	/* Marks do not change the text. */
	assert_string_equal(
		conv(DOC(P(
			"{\"type\":\"text\",\"text\":\"bold\",\"marks\":[{\"type\":\"strong\"},{\"type\":\"link\",\"attrs\":{\"href\":\"https://a\"}}]}"))),
		"bold");
}

static void test_blocks(void **state)
{
	(void)state;
	assert_string_equal(conv(DOC(P(T("one")) "," P(T("two")))), "one\ntwo");
	assert_string_equal(
		conv(DOC("{\"type\":\"heading\",\"attrs\":{\"level\":2},\"content\":[" T(
			"Title") "]}"
				 "," P(T("body")))),
		"Title\nbody");
	assert_string_equal(
		conv(DOC("{\"type\":\"codeBlock\",\"attrs\":{\"language\":\"c\"},\"content\":[" T(
			"int x;\\nx++;") "]}"
					 "," P(T("z")))),
		"int x;\nx++;\nz");
	assert_string_equal(
		conv(DOC("{\"type\":\"blockquote\",\"content\":[" P(T("q")) "]}"
									    ","
									    "{\"type\":\"rule\"}"
									    "," P(T("r")))),
		"q\nr");
	assert_string_equal(
		conv(DOC("{\"type\":\"panel\",\"attrs\":{\"panelType\":\"info\"},\"content\":[" P(
			T("p")) "]}"
				"," P(T("x")))),
		"p\nx");
	assert_string_equal(
		conv(DOC("{\"type\":\"expand\",\"attrs\":{\"title\":\"More\"},\"content\":[" P(
			T("hidden")) "]}"
				     "," P(T("y")))),
		"hidden\ny");
	assert_string_equal(
		conv(DOC(
			"{\"type\":\"taskList\",\"content\":[{\"type\":\"taskItem\",\"attrs\":{\"state\":\"TODO\"},\"content\":[" T(
				"t1") "]},{\"type\":\"taskItem\",\"content\":[" T("t2") "]}]}")),
		"t1\nt2");
	assert_string_equal(
		conv(DOC(
			"{\"type\":\"decisionList\",\"content\":[{\"type\":\"decisionItem\",\"content\":[" T(
				"d1") "]}]}"
				      "," P(T("e")))),
		"d1\ne");
	/* Trailing whitespace and newlines are trimmed; empty stays empty. */
	assert_string_equal(conv(DOC(P(T("x  ")) "," P())), "x");
	assert_string_equal(conv(DOC()), "");
	assert_string_equal(conv("{\"type\":\"doc\"}"), "");
}

static void test_lists(void **state)
{
	(void)state;
	assert_string_equal(
		conv(DOC("{\"type\":\"bulletList\",\"content\":["
			 "{\"type\":\"listItem\",\"content\":[" P(
				 T("a")) "]},"
					 "{\"type\":\"listItem\",\"content\":[" P(T("b")) "]}]}")),
		"- a\n- b");
	assert_string_equal(
		conv(DOC("{\"type\":\"orderedList\",\"attrs\":{\"order\":3},\"content\":["
			 "{\"type\":\"listItem\",\"content\":[" P(
				 T("c")) "]},"
					 "{\"type\":\"listItem\",\"content\":[" P(T("d")) "]}]}")),
		"3. c\n4. d");
	assert_string_equal(conv(DOC("{\"type\":\"orderedList\",\"content\":["
				     "{\"type\":\"listItem\",\"content\":[" P(T("x")) "]}]}")),
			    "1. x");
	/* Nested: an ordered list inside a bullet item, then more bullets. */
	assert_string_equal(
		conv(DOC(
			"{\"type\":\"bulletList\",\"content\":["
			"{\"type\":\"listItem\",\"content\":[" P(T(
				"top")) ","
					"{\"type\":\"orderedList\",\"content\":["
					"{\"type\":\"listItem\",\"content\":[" P(T(
						"sub1")) "]},"
							 "{\"type\":\"listItem\",\"content\":[" P(T(
								 "sub2")) "]}]}]},"
									  "{\"type\":\"listItem\",\"content\":[" P(
										  T("next")) "]}]}")),
		"- top\n1. sub1\n2. sub2\n- next");
}

static void test_tables(void **state)
{
	(void)state;
	assert_string_equal(
		conv(DOC(
			"{\"type\":\"table\",\"content\":["
			"{\"type\":\"tableRow\",\"content\":["
			"{\"type\":\"tableHeader\",\"content\":[" P(T(
				"H1")) "]},"
				       "{\"type\":\"tableHeader\",\"content\":[" P(T(
					       "H2")) "]}]},"
						      "{\"type\":\"tableRow\",\"content\":["
						      "{\"type\":\"tableCell\",\"content\":[" P(T("a")) "," P(T(
							      "a2")) "]},"
								     "{\"type\":\"tableCell\",\"content\":[" P() "]}]}]}"
														 "," P(T("end")))),
		"H1 | H2\na\na2 | \nend");
}

static void test_unknown_and_robust(void **state)
{
	(void)state;
	/* Unknown nodes keep the text of their content. */
	assert_string_equal(
		conv(DOC("{\"type\":\"layoutSection\",\"content\":[{\"type\":\"layoutColumn\",\"content\":[" P(
			T("col")) "]}]}"
				  ","
				  "{\"type\":\"futureNode\",\"attrs\":{\"x\":1},\"content\":[" T(
					  "kept") "]}")),
		"col\nkept");
	/* Odd shapes never fail. */
	assert_string_equal(conv(DOC("{\"type\":\"text\"}"
				     ","
				     "{\"content\":\"nope\"}"
				     ","
				     "7"
				     ","
				     "null"
				     ","
				     "{\"type\":\"mention\"}"
				     ","
				     "{\"type\":\"date\",\"attrs\":{\"timestamp\":\"x\"}}")),
			    "");
	assert_string_equal(conv("\"just a string\""), "");
	/* 4-byte UTF-8 and escapes survive. */
	assert_string_equal(conv(DOC(P(T("caf\\u00e9 \\ud83d\\ude80 ok")))),
			    "caf\xC3\xA9 \xF0\x9F\x9A\x80 ok");
	/* Appends to what is there; a full buffer is an error, not a crash. */
	cJSON *doc = cJSON_Parse(DOC(P(T("0123456789"))));
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(jira_adf_to_text(doc, &b), -1);
	assert_string_equal(b.data, "ab");
	buf_release(&b);
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, ">"), 0);
	assert_int_equal(jira_adf_to_text(doc, &b), 0);
	assert_string_equal(b.data, ">0123456789");
	buf_release(&b);
	cJSON_Delete(doc);
}

/* The real capture: descriptions, comment and worklog bodies. */
static cJSON *capture;

static const cJSON *issue_by_key(const char *key)
{
	const cJSON *issues = cJSON_GetObjectItemCaseSensitive(capture, "issues"), *i;
	cJSON_ArrayForEach(i, issues)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(i, "key");
		if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
			return i;
	}
	fail_msg("no issue %s in the capture", key);
	return NULL;
}

static char *text_of(const cJSON *adf)
{
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(jira_adf_to_text(adf, &b), 0);
	return buf_detach(&b);
}

static const cJSON *path(const cJSON *o, const char *a, const char *b2, int idx, const char *c)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	x = cJSON_GetObjectItemCaseSensitive(x, b2);
	x = cJSON_GetArrayItem(x, idx);
	return cJSON_GetObjectItemCaseSensitive(x, c);
}

static void test_real_capture(void **state)
{
	(void)state;
	struct buf raw;
	buf_init(&raw, 0);
	assert_int_equal(
		buf_read_file(&raw, FIXTURES_DIR "/jira-captures/cloud-v3-search-page.json"), 0);
	capture = cJSON_Parse(raw.data);
	buf_release(&raw);
	assert_non_null(capture);

	const cJSON *kp19 = cJSON_GetObjectItemCaseSensitive(issue_by_key("KP-19"), "fields");
	char *t = text_of(cJSON_GetObjectItemCaseSensitive(kp19, "description"));
	/* Bold run + NBSP run in one paragraph, then a panel whose paragraph
	 * starts with a hardBreak. */
	assert_true(strncmp(t,
			    "Lorem Ipsum\xC2\xA0"
			    "es simplemente",
			    27) == 0);
	assert_non_null(strstr(t, "versiones de Lorem Ipsum.\n\nsadsadsad"));
	assert_true(t[strlen(t) - 1] == 'd');
	free(t);

	const cJSON *kp2 = cJSON_GetObjectItemCaseSensitive(issue_by_key("KP-2"), "fields");
	t = text_of(cJSON_GetObjectItemCaseSensitive(kp2, "description"));
	assert_string_equal(t, "asadsasda\nsad\nsda\nsad\ndas\nsad\nsda");
	free(t);
	/* Comment 10017: text then an emoji with a 4-byte character. */
	t = text_of(path(kp2, "comment", "comments", 2, "body"));
	assert_string_equal(t, "Carlos Test\xF0\x9F\x98\x81");
	free(t);

	const cJSON *kp1 = cJSON_GetObjectItemCaseSensitive(issue_by_key("KP-1"), "fields");
	/* Comment 10008: a date node. */
	t = text_of(path(kp1, "comment", "comments", 2, "body"));
	assert_string_equal(t, "2021-01-19");
	free(t);
	/* Worklog 10001: a 3x3 table. */
	t = text_of(path(kp1, "worklog", "worklogs", 0, "comment"));
	assert_string_equal(
		t,
		"Header 1 | Header 2 | Header 3\nRow 00 | Row 01 | Row 02\nRow 10 | Row 11 | Row 12");
	free(t);

	/* Every ADF body of the capture converts without error. */
	const cJSON *issues = cJSON_GetObjectItemCaseSensitive(capture, "issues"), *i;
	int converted = 0;
	cJSON_ArrayForEach(i, issues)
	{
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(i, "fields");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(f, "description");
		if (cJSON_IsObject(d)) {
			free(text_of(d));
			converted++;
		}
	}
	assert_int_equal(converted, 3); /* KP-19, KP-2, KP-1 */
	cJSON_Delete(capture);
	capture = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_nodes),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_unknown_and_robust),
		cmocka_unit_test(test_real_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
