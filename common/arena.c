/*
 * Arenas: a sync batch or a GraphQL request allocates many small strings
 * and releases them all at once. Blocks grow geometrically up to 1 MiB, so
 * a batch costs a handful of mallocs however many strings it holds.
 */
#include "common/common.h"

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->used_total = 0;
}

void arena_release(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used_total = 0;
}

/*
 * Free every block but the largest, which is kept (emptied) for the next
 * use: a long-lived arena that serves one request after another settles on
 * one block and stops calling malloc.
 */
void arena_reset(struct arena *a)
{
	struct arena_block *keep = NULL;
	for (struct arena_block *b = a->head, *next; b; b = next) {
		next = b->next;
		if (!keep || b->size > keep->size) {
			free(keep);
			keep = b;
		} else {
			free(b);
		}
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
	}
	a->head = keep;
	a->used_total = 0;
}

void arena_adopt(struct arena *dst, struct arena *src)
{
	if (!src->head)
		return;
	struct arena_block *tail = src->head;
	while (tail->next)
		tail = tail->next;
	/* dst keeps allocating from its own head block. */
	if (dst->head) {
		tail->next = dst->head->next;
		dst->head->next = src->head;
	} else {
		dst->head = src->head;
	}
	dst->used_total += src->used_total;
	src->head = NULL;
	src->used_total = 0;
}

void *arena_alloc_raw(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_block *b = a->head;
	if (!b || b->size - b->used < n) {
		size_t size = b ? b->size * 2 : 8192;
		if (size > ((size_t)1 << 20))
			size = (size_t)1 << 20;
		if (size < n)
			size = n;
		b = xmalloc(sizeof *b + size);
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	a->used_total += n;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_alloc_raw(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc_raw(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}
