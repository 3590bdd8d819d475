/*
 * libFuzzer target for what Jira sends us: arbitrary bytes are parsed as
 * JSON and fed to the issue, comment, worklog and sprint parsers (Cloud
 * object and Server string sprint fields), the ADF flattener and the
 * timestamp parser. Nothing may crash, leak or read out of bounds, and a
 * failed parse must leave the batch as it was.
 *
 * fuzz-sources: jira/parse.c jira/adf.c jira/classify.c jira/jql.c common/*.c
 * fuzz-pkgs: libcjson libcurl libpq hiredis
 * fuzz-libs: -lm -lpthread
 */
#include <cjson/cJSON.h>

#include "common/model.h"
#include "jira/jira.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	cJSON *root = cJSON_ParseWithLength(text, size);
	struct batch b;
	batch_init(&b);
	struct jira_error err;
	int64_t ms;
	(void)!jtime_parse(text, &ms);
	if (root) {
		const cJSON *items = cJSON_IsArray(root) ? root : NULL;
		const cJSON *one = items ? NULL : root;
		const cJSON *it;
		if (items) {
			cJSON_ArrayForEach(it, items)
			{
				size_t n_before = b.issues.n;
				if (jira_parse_issue(it, "customfield_10020", &b, &err) < 0 &&
				    b.issues.n != n_before)
					__builtin_trap(); /* a failed parse changed the batch */
			}
		} else {
			(void)!jira_parse_issue(one, "customfield_10020", &b, &err);
			(void)!jira_parse_comment(one, 10000, &b, &err);
			(void)!jira_parse_worklog(one, 10000, &b, &err);
			(void)!jira_parse_sprint(one, &b, &err);
			int64_t ids[16];
			(void)jira_parse_sprint_field(one, ids, 16);
			struct buf out;
			buf_init(&out, 1 << 20);
			(void)!jira_adf_to_text(one, &out);
			buf_release(&out);
		}
		cJSON_Delete(root);
	}
	batch_release(&b);
	free(text);
	return 0;
}
