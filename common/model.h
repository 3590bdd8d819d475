/*
 * The rows of one sync batch, as the Jira client produces them and the store
 * writes them. jira/ fills a struct batch from one search page (or one
 * overflow page); store/ upserts it set-based; worker/ moves it between them.
 * Every string in a batch lives in the batch's arena and dies with it.
 */
#ifndef JS_MODEL_H
#define JS_MODEL_H

#include "common/common.h"

struct user_row {
	const char *account_id; /* Cloud accountId; DC user key/name */
	const char *display_name;
	const char *email;        /* may be NULL (privacy settings) */
	const char *time_zone;    /* may be NULL */
	const char *account_type; /* atlassian|app|customer; may be NULL */
	bool active;
	uint32_t hash; /* of account_id; set by batch_add_user */
};

struct issue_row {
	int64_t id;      /* Jira numeric id: the key of the row */
	const char *key; /* "KP-19": changes when the issue moves */
	const char *project_key;
	const char *summary;
	const char *status;
	const char *status_category; /* statusCategory.key: new|indeterminate|done */
	const char *priority;        /* NULL when unset */
	const char *issue_type;
	const char *assignee_id; /* NULL when unassigned */
	const char *reporter_id;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t resolved_ms;          /* JS_TIME_NULL when unresolved */
	const char *labels_json;      /* JSON array text, "[]" when none */
	const char *description_text; /* ADF flattened, or DC wiki markup */
	const char *description_adf;  /* raw ADF JSON text; NULL on DC or none */
	int64_t *sprint_ids;          /* from the sprint field */
	size_t n_sprint_ids;
	/* Whether the embedded sets were complete (total <= embedded). */
	int comment_total;
	int worklog_total;
	bool comments_complete;
	bool worklogs_complete;
};

struct comment_row {
	int64_t id;
	int64_t issue_id;
	const char *author_id;
	const char *update_author_id;
	const char *body_text;
	const char *body_adf; /* NULL on DC */
	int64_t created_ms;
	int64_t updated_ms;
};

struct worklog_row {
	int64_t id;
	int64_t issue_id;
	const char *author_id;
	const char *update_author_id;
	const char *comment_text; /* may be NULL */
	const char *comment_adf;
	int64_t started_ms;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t time_spent_seconds;
};

struct sprint_row {
	int64_t id;
	int64_t board_id; /* originBoardId */
	const char *name;
	const char *state; /* future|active|closed */
	const char *goal;
	int64_t start_ms; /* JS_TIME_NULL when absent */
	int64_t end_ms;
	int64_t complete_ms;
};

/* A growable array of T with count and capacity. */
#define JS_VEC(T)              \
	struct {               \
		T *v;          \
		size_t n, cap; \
	}

struct batch {
	struct arena arena;
	JS_VEC(struct issue_row) issues;
	JS_VEC(struct comment_row) comments;
	JS_VEC(struct worklog_row) worklogs;
	JS_VEC(struct user_row) users; /* deduplicated by account_id */
	JS_VEC(struct sprint_row) sprints;
	/* Issues whose comment / worklog sets were truncated: page them. */
	JS_VEC(int64_t) comment_overflow;
	JS_VEC(int64_t) worklog_overflow;
	/* Ids (numeric) deleted upstream, for worklog deletions. */
	JS_VEC(int64_t) deleted_ids;
	int64_t max_updated_ms; /* newest issue updated in the batch */
	size_t bytes;           /* response bytes read for the batch */
	int requests;           /* Jira requests made for the batch */
};

void batch_init(struct batch *b);
void batch_release(struct batch *b); /* b reusable after */
void batch_reset(struct batch *b);
/* Append one zeroed element and return it (grows the vector). */
struct issue_row *batch_add_issue(struct batch *b);
struct comment_row *batch_add_comment(struct batch *b);
struct worklog_row *batch_add_worklog(struct batch *b);
struct sprint_row *batch_add_sprint(struct batch *b);
void batch_add_id(struct batch *b, int which, int64_t id); /* JS_IDS_* */
enum { JS_IDS_COMMENT_OVERFLOW = 0, JS_IDS_WORKLOG_OVERFLOW, JS_IDS_DELETED };
/* Append src's comments (comments) or worklogs [from, to) to dst. Their
 * strings stay in src's arena: move it into dst's (arena_adopt) before src
 * is reset or released. */
void batch_move_children(struct batch *dst, struct batch *src, bool comments, size_t from,
			 size_t to);
/* Add a user once per batch (by account_id); returns the batch's copy of
 * the account id, NULL when u has none. */
const char *batch_add_user(struct batch *b, const struct user_row *u);

#endif
