/*
 * The response cache (rcache.h): a chained hash table that doubles as it
 * fills, and a list from oldest to newest entry for eviction. An entry is
 * one allocation: the struct, then key, snapshot and body.
 */
#include <pthread.h>
#include <string.h>

#include "graphql/rcache.h"

struct entry {
	struct entry *chain;         /* next in the bucket */
	struct entry *older, *newer; /* the eviction list */
	uint64_t hash;
	size_t key_len, body_len, size;
	char *snap; /* NULL: read no data */
	char *body;
	char key[];
};

struct rcache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t n_buckets; /* a power of two */
	struct entry *oldest, *newest;
	size_t max_bytes;
	struct rcache_stats st;
};

static uint64_t hash_of(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

struct rcache *rcache_new(size_t max_bytes)
{
	struct rcache *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	c->n_buckets = 64;
	c->buckets = xcalloc(c->n_buckets, sizeof *c->buckets);
	c->max_bytes = max_bytes;
	return c;
}

void rcache_free(struct rcache *c)
{
	if (!c)
		return;
	for (struct entry *e = c->oldest, *next; e; e = next) {
		next = e->newer;
		free(e);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct entry **slot_of(struct rcache *c, uint64_t h, const char *key, size_t key_len)
{
	struct entry **p = &c->buckets[h & (c->n_buckets - 1)];
	while (*p &&
	       !((*p)->hash == h && (*p)->key_len == key_len && !memcmp((*p)->key, key, key_len)))
		p = &(*p)->chain;
	return p;
}

/* Unlink the entry *slot points at and free it. */
static void drop(struct rcache *c, struct entry **slot)
{
	struct entry *e = *slot;
	*slot = e->chain;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->st.entries--;
	c->st.bytes -= e->size;
	free(e);
}

enum rcache_result rcache_get(struct rcache *c, const char *key, size_t key_len, const char *snap,
			      struct buf *out)
{
	uint64_t h = hash_of(key, key_len);
	enum rcache_result res = RCACHE_MISS;
	pthread_mutex_lock(&c->lock);
	struct entry **slot = slot_of(c, h, key, key_len);
	struct entry *e = *slot;
	if (e && e->snap && !snap) {
		res = RCACHE_NEED_SNAP;
	} else if (e && e->snap && strcmp(e->snap, snap) != 0) {
		drop(c, slot); /* a commit since: stale for good */
		c->st.stale++;
	} else if (e) {
		/* The copy is made under the lock: the entry may go right after. */
		res = buf_append(out, e->body, e->body_len) == 0 ? RCACHE_HIT : RCACHE_MISS;
	}
	if (res == RCACHE_HIT)
		c->st.hits++;
	else if (res == RCACHE_MISS)
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	return res;
}

static void grow(struct rcache *c)
{
	size_t n = c->n_buckets * 2;
	struct entry **b = xcalloc(n, sizeof *b);
	for (size_t i = 0; i < c->n_buckets; i++)
		for (struct entry *e = c->buckets[i], *next; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
}

void rcache_put(struct rcache *c, const char *key, size_t key_len, const char *snap,
		const char *body, size_t body_len)
{
	size_t snap_len = snap ? strlen(snap) + 1 : 0;
	size_t size = sizeof(struct entry) + key_len + snap_len + body_len;
	if (size > c->max_bytes / 8)
		return;
	struct entry *e = xmalloc(size);
	*e = (struct entry){.hash = hash_of(key, key_len),
			    .key_len = key_len,
			    .body_len = body_len,
			    .size = size};
	memcpy(e->key, key, key_len);
	char *p = e->key + key_len;
	if (snap) {
		e->snap = p;
		memcpy(p, snap, snap_len);
		p += snap_len;
	}
	e->body = p;
	memcpy(p, body, body_len);

	pthread_mutex_lock(&c->lock);
	struct entry **slot = slot_of(c, e->hash, key, key_len);
	if (*slot)
		drop(c, slot); /* a request that raced this one; the later answer stays */
	while (c->oldest && c->st.bytes + size > c->max_bytes) {
		drop(c, slot_of(c, c->oldest->hash, c->oldest->key, c->oldest->key_len));
		c->st.evictions++;
	}
	if (c->st.entries + 1 > c->n_buckets)
		grow(c);
	slot = &c->buckets[e->hash & (c->n_buckets - 1)];
	e->chain = *slot;
	*slot = e;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->st.entries++;
	c->st.bytes += size;
	pthread_mutex_unlock(&c->lock);
}

void rcache_stats(struct rcache *c, struct rcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
