/*
 * Parse trees in an arena. A search page is about a megabyte and a half of
 * JSON and becomes a few hundred thousand cJSON nodes and strings, each a
 * malloc, all freed a moment later; those mallocs and frees were the
 * client's largest cost. Inside a scope (one page, one issue's comments or
 * worklogs) cJSON allocates from the client's arena instead, frees are
 * no-ops, and leaving the scope makes the whole tree reusable at once. The
 * arena's chunks are kept for the next page, so a sync allocates them once.
 *
 * cJSON's hooks are process-wide (installed by jira_global_init, which
 * main() calls before any thread starts), so the arena is found through a
 * thread-local pointer: outside a scope (other threads, other callers)
 * they are plain malloc and free. Everything a scope parses must be deleted
 * or copied out (parse.c copies into the batch's arena) before it ends;
 * memory malloc'd before the scope and freed inside it is recognised as not
 * the arena's and freed.
 */
#include <pthread.h>

#include "jira/jira_int.h"

#define JM_CHUNK ((size_t)256 << 10)
#define JM_KEEP ((size_t)4 << 20) /* spare chunk bytes kept between scopes */

struct jm_chunk {
	struct jm_chunk *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct jm_arena {
	struct jm_chunk *head;      /* in use by the current scope, newest first */
	struct jm_chunk *spare;     /* free for the next scope */
	const struct jm_chunk *hit; /* where the last owned free pointed */
	int depth;
};

static _Thread_local struct jm_arena *current;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *jm_malloc(size_t n)
{
	struct jm_arena *a = current;
	if (!a)
		return malloc(n);
	n = (n + 15) & ~(size_t)15;
	struct jm_chunk *h = a->head;
	if (!h || h->size - h->used < n) {
		size_t want = n > JM_CHUNK ? n : JM_CHUNK;
		struct jm_chunk *c = NULL;
		for (struct jm_chunk **pp = &a->spare; *pp; pp = &(*pp)->next) {
			if ((*pp)->size >= want) {
				c = *pp;
				*pp = c->next;
				break;
			}
		}
		if (!c) {
			c = malloc(sizeof *c + want);
			if (!c)
				return NULL;
			c->size = want;
		}
		c->used = 0;
		c->next = a->head;
		a->head = c;
		h = c;
	}
	void *p = h->data + h->used;
	h->used += n;
	return p;
}

/* cJSON_Delete frees a tree in about the order it was allocated, so the
 * chunk of the previous free is tried first: walking all the chunks for
 * each of a page's nodes was a tenth of the client's time. */
static bool jm_owns(struct jm_arena *a, const void *p)
{
	const unsigned char *q = p;
	const struct jm_chunk *h = a->hit;
	if (h && q >= h->data && q < h->data + h->size)
		return true;
	for (const struct jm_chunk *c = a->head; c; c = c->next)
		if (q >= c->data && q < c->data + c->size) {
			a->hit = c;
			return true;
		}
	return false;
}

static void jm_free(void *p)
{
	struct jm_arena *a = current;
	if (p && a && jm_owns(a, p))
		return;
	free(p);
}

static void install_hooks(void)
{
	cJSON_Hooks h = {.malloc_fn = jm_malloc, .free_fn = jm_free};
	cJSON_InitHooks(&h);
}

void jm_install(void)
{
	pthread_once(&hooks_once, install_hooks);
}

struct jm_arena *jm_new(void)
{
	jm_install();
	return xcalloc(1, sizeof(struct jm_arena));
}

static void free_chunks(struct jm_chunk *c)
{
	while (c) {
		struct jm_chunk *next = c->next;
		free(c);
		c = next;
	}
}

void jm_free_arena(struct jm_arena *a)
{
	if (!a)
		return;
	free_chunks(a->head);
	free_chunks(a->spare);
	free(a);
}

void jm_enter(struct jm_arena *a)
{
	if (a->depth++ == 0)
		current = a;
}

void jm_leave(struct jm_arena *a)
{
	if (--a->depth > 0)
		return;
	current = NULL;
	a->hit = NULL;
	/* Every chunk of the scope becomes spare; keep a bounded amount. */
	size_t kept = 0;
	for (struct jm_chunk *c = a->spare; c; c = c->next)
		kept += c->size;
	while (a->head) {
		struct jm_chunk *c = a->head;
		a->head = c->next;
		if (kept + c->size <= JM_KEEP) {
			c->next = a->spare;
			a->spare = c;
			kept += c->size;
		} else {
			free(c);
		}
	}
}
