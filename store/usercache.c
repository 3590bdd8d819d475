/*
 * The admin plane's user cache: an open-addressing table from account id to
 * the user row, valid for one value of jira_user_epoch. Every transaction
 * that changes jira_user bumps the epoch (a trigger, migration 0004), and
 * readers pass the epoch read beside the rows that reference the users: the
 * same epoch means no user changed since the cached rows were read; another
 * one empties the cache. So a read never shows a user older than the
 * snapshot it was given, and a sync's commit is seen by the next request.
 */
#include "store/store.h"

#define CACHE_MAX_USERS 65536 /* then it starts over */

struct cached_user {
	char *account_id; /* NULL: free slot */
	char *display_name, *email, *time_zone;
	bool active;
	uint64_t hash;
};

struct store_user_cache {
	int64_t epoch; /* -1: nothing cached yet */
	struct cached_user *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

struct store_user_cache *store_user_cache_new(void)
{
	struct store_user_cache *c = xcalloc(1, sizeof *c);
	c->epoch = -1;
	return c;
}

static void cache_clear(struct store_user_cache *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		struct cached_user *u = &c->slots[i];
		if (!u->account_id)
			continue;
		free(u->account_id);
		free(u->display_name);
		free(u->email);
		free(u->time_zone);
		*u = (struct cached_user){0};
	}
	c->n = 0;
}

void store_user_cache_free(struct store_user_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c->slots);
	free(c);
}

static struct cached_user *slot_for(struct store_user_cache *c, const char *id, uint64_t h)
{
	for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		struct cached_user *u = &c->slots[i];
		if (!u->account_id || (u->hash == h && !strcmp(u->account_id, id)))
			return u;
	}
}

static const struct cached_user *lookup(struct store_user_cache *c, const char *id)
{
	if (!c->n)
		return NULL;
	struct cached_user *u = slot_for(c, id, hash_str(id));
	return u->account_id ? u : NULL;
}

static void insert(struct store_user_cache *c, const struct store_user_row *r)
{
	if (c->n + 1 > CACHE_MAX_USERS)
		cache_clear(c);
	if ((c->n + 1) * 2 > c->cap) { /* load <= 1/2 */
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct cached_user *old = c->slots;
		size_t old_cap = c->cap;
		c->slots = xcalloc(cap, sizeof *c->slots);
		c->cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].account_id)
				*slot_for(c, old[i].account_id, old[i].hash) = old[i];
		free(old);
	}
	uint64_t h = hash_str(r->account_id);
	struct cached_user *u = slot_for(c, r->account_id, h);
	if (u->account_id)
		return; /* already there */
	*u = (struct cached_user){.account_id = xstrdup(r->account_id),
				  .display_name = xstrdup_or_null(r->display_name),
				  .email = xstrdup_or_null(r->email),
				  .time_zone = xstrdup_or_null(r->time_zone),
				  .active = r->active,
				  .hash = h};
	c->n++;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct store_user_row *)a)->account_id,
		      ((const struct store_user_row *)b)->account_id);
}

int store_users_cached(PGconn *db, struct store_user_cache *c, int64_t epoch, struct arena *a,
		       const char *const *ids, size_t n, struct store_user_row *out, char *err,
		       size_t errlen)
{
	if (c->epoch != epoch) {
		cache_clear(c);
		c->epoch = epoch;
	}
	/* The distinct ids not cached, read in one statement. */
	const char **miss = arena_alloc(a, (n ? n : 1) * sizeof *miss);
	const struct cached_user **hit = arena_alloc(a, (n ? n : 1) * sizeof *hit);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!(hit[i] = lookup(c, ids[i])))
			miss[m++] = ids[i];
	struct store_user_row *rows = NULL;
	size_t nr = 0;
	if (m) {
		qsort(miss, m, sizeof *miss, cmp_id);
		size_t d = 0;
		for (size_t i = 0; i < m; i++)
			if (!d || strcmp(miss[d - 1], miss[i]) != 0)
				miss[d++] = miss[i];
		if (store_read_users(db, a, miss, d, &rows, &nr, err, errlen) < 0)
			return -1;
		if (nr)
			qsort(rows, nr, sizeof *rows, cmp_row);
		for (size_t i = 0; i < d; i++) {
			struct store_user_row key = {.account_id = miss[i]};
			const struct store_user_row *f = nr ? bsearch(&key, rows, nr, sizeof *rows,
								      cmp_row)
							    : NULL;
			/* Not synced as a user row: what the reference says. */
			struct store_user_row none = {.account_id = miss[i], .active = true};
			insert(c, f ? f : &none);
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* Inserting may have moved or dropped entries: look again then. */
		const struct cached_user *u = m ? lookup(c, ids[i]) : hit[i];
		if (!u) { /* the cache started over while filling: from what was read */
			struct store_user_row key = {.account_id = ids[i]};
			const struct store_user_row *f = nr ? bsearch(&key, rows, nr, sizeof *rows,
								      cmp_row)
							    : NULL;
			out[i] = f ? *f
				   : (struct store_user_row){.account_id = ids[i], .active = true};
			continue;
		}
		out[i] = (struct store_user_row){.account_id = ids[i],
						 .display_name = arena_strdup(a, u->display_name),
						 .email = arena_strdup(a, u->email),
						 .time_zone = arena_strdup(a, u->time_zone),
						 .active = u->active};
	}
	return 0;
}
