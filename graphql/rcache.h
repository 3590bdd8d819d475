/*
 * Responses of read-only GraphQL requests, kept with the PostgreSQL
 * snapshot they were read in (the text of pg_current_snapshot()).
 *
 * Two snapshots with the same text see the same committed data: xmax is
 * one past the latest transaction that finished, and xip lists those
 * below it still running, so any commit changes the text and it never
 * comes back. A response read in snapshot S is therefore the right answer
 * to the same request for as long as the database's snapshot is still S,
 * and a commit (a sync step, a mutation) makes it stale at once.
 *
 * Responses that read no data at all ({ __typename }, introspection) are
 * kept without a snapshot and served without asking PostgreSQL. The cache
 * never decides what may be kept: the caller stores only successful
 * queries whose every read came from PostgreSQL in one unchanged snapshot.
 *
 * Thread-safe (one mutex). Bounded by bytes: the oldest entries go first.
 */
#ifndef JS_GQL_RCACHE_H
#define JS_GQL_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

struct rcache;

enum rcache_result {
	RCACHE_HIT,       /* the response was appended to out */
	RCACHE_MISS,      /* nothing usable (a stale entry was dropped) */
	RCACHE_NEED_SNAP, /* an entry needs the current snapshot to be judged */
};

struct rcache_stats {
	uint64_t hits, misses, stale, evictions;
	size_t entries, bytes;
};

/* max_bytes: the whole cache (keys and responses); 0: a cache that keeps nothing. */
struct rcache *rcache_new(size_t max_bytes);
void rcache_free(struct rcache *c);

/*
 * The response for key (the request's query, operation name and variables,
 * however the caller joins them). snap: the database's current snapshot,
 * or NULL when the caller has not asked yet: then an entry read in some
 * snapshot answers RCACHE_NEED_SNAP, and the caller asks again with it.
 */
enum rcache_result rcache_get(struct rcache *c, const char *key, size_t key_len, const char *snap,
			      struct buf *out) JS_WUR;

/* Keep a response; snap NULL: it read no data. Bodies over an eighth of
 * the cache are not kept. */
void rcache_put(struct rcache *c, const char *key, size_t key_len, const char *snap,
		const char *body, size_t body_len);

void rcache_stats(struct rcache *c, struct rcache_stats *st);

#endif
