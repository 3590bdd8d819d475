/*
 * Batches of rows (see model.h): vectors that grow by doubling and an arena
 * for their strings. A batch is reset between pages and reused, so a sync's
 * memory stays flat whatever the size of the project.
 */
#include "common/model.h"

void batch_init(struct batch *b)
{
	memset(b, 0, sizeof *b);
	arena_init(&b->arena);
}

#define VEC_FREE(vec) (free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

void batch_release(struct batch *b)
{
	arena_release(&b->arena);
	VEC_FREE(b->issues);
	VEC_FREE(b->comments);
	VEC_FREE(b->worklogs);
	VEC_FREE(b->users);
	VEC_FREE(b->sprints);
	VEC_FREE(b->comment_overflow);
	VEC_FREE(b->worklog_overflow);
	VEC_FREE(b->deleted_ids);
	batch_init(b);
}

void batch_reset(struct batch *b)
{
	arena_release(&b->arena);
	b->issues.n = b->comments.n = b->worklogs.n = b->users.n = b->sprints.n = 0;
	b->comment_overflow.n = b->worklog_overflow.n = b->deleted_ids.n = 0;
	b->max_updated_ms = 0;
	b->bytes = 0;
	b->requests = 0;
}

#define VEC_PUSH(vec)                                                             \
	do {                                                                      \
		if ((vec).n == (vec).cap) {                                       \
			(vec).cap = (vec).cap ? (vec).cap * 2 : 64;               \
			(vec).v = xrealloc((vec).v, (vec).cap * sizeof *(vec).v); \
		}                                                                 \
		memset(&(vec).v[(vec).n], 0, sizeof *(vec).v);                    \
		(vec).n++;                                                        \
	} while (0)

struct issue_row *batch_add_issue(struct batch *b)
{
	VEC_PUSH(b->issues);
	struct issue_row *r = &b->issues.v[b->issues.n - 1];
	r->resolved_ms = JS_TIME_NULL;
	return r;
}

struct comment_row *batch_add_comment(struct batch *b)
{
	VEC_PUSH(b->comments);
	return &b->comments.v[b->comments.n - 1];
}

struct worklog_row *batch_add_worklog(struct batch *b)
{
	VEC_PUSH(b->worklogs);
	struct worklog_row *r = &b->worklogs.v[b->worklogs.n - 1];
	r->started_ms = r->created_ms = r->updated_ms = JS_TIME_NULL;
	return r;
}

struct sprint_row *batch_add_sprint(struct batch *b)
{
	VEC_PUSH(b->sprints);
	struct sprint_row *r = &b->sprints.v[b->sprints.n - 1];
	r->start_ms = r->end_ms = r->complete_ms = JS_TIME_NULL;
	return r;
}

void batch_add_id(struct batch *b, int which, int64_t id)
{
	switch (which) {
	case JS_IDS_COMMENT_OVERFLOW:
		VEC_PUSH(b->comment_overflow);
		b->comment_overflow.v[b->comment_overflow.n - 1] = id;
		break;
	case JS_IDS_WORKLOG_OVERFLOW:
		VEC_PUSH(b->worklog_overflow);
		b->worklog_overflow.v[b->worklog_overflow.n - 1] = id;
		break;
	default:
		VEC_PUSH(b->deleted_ids);
		b->deleted_ids.v[b->deleted_ids.n - 1] = id;
		break;
	}
}

static uint32_t id_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

const char *batch_add_user(struct batch *b, const struct user_row *u)
{
	if (!u || !u->account_id)
		return NULL;
	/* A page meets a few dozen distinct users at most: a linear scan
	 * (hash first, the string only on a hash match) beats a table here. */
	uint32_t h = id_hash(u->account_id);
	for (size_t i = 0; i < b->users.n; i++)
		if (b->users.v[i].hash == h && strcmp(b->users.v[i].account_id, u->account_id) == 0)
			return b->users.v[i].account_id;
	VEC_PUSH(b->users);
	struct user_row *r = &b->users.v[b->users.n - 1];
	r->account_id = arena_strdup(&b->arena, u->account_id);
	r->display_name = arena_strdup(&b->arena, u->display_name);
	r->email = arena_strdup(&b->arena, u->email);
	r->time_zone = arena_strdup(&b->arena, u->time_zone);
	r->account_type = arena_strdup(&b->arena, u->account_type);
	r->active = u->active;
	r->hash = h;
	return r->account_id;
}

void batch_move_children(struct batch *dst, struct batch *src, bool comments, size_t from,
			 size_t to)
{
	for (size_t i = from; i < to; i++)
		if (comments)
			*batch_add_comment(dst) = src->comments.v[i];
		else
			*batch_add_worklog(dst) = src->worklogs.v[i];
}
