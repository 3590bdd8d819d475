/*
 * graphql/rcache.c: a kept response answers the same request only while
 * the snapshot it was read in is current; responses that read no data
 * answer without a snapshot; the byte bound evicts the oldest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "graphql/rcache.h"

#define KEY(s) s, sizeof s - 1

static enum rcache_result get(struct rcache *c, const char *key, size_t n, const char *snap,
			      char *got, size_t got_len)
{
	struct buf b;
	buf_init(&b, 0);
	enum rcache_result r = rcache_get(c, key, n, snap, &b);
	snprintf(got, got_len, "%s", b.data);
	if (r != RCACHE_HIT)
		assert_int_equal(b.len, 0);
	buf_release(&b);
	return r;
}

static void test_snapshot_bound(void **state)
{
	(void)state;
	struct rcache *c = rcache_new(1 << 20);
	char got[64];
	assert_int_equal(get(c, KEY("q\0\0"), NULL, got, sizeof got), RCACHE_MISS);
	rcache_put(c, KEY("q\0\0"), "10:12:10,11", KEY("{\"data\":1}"));
	/* Without the snapshot it cannot answer; with the same one it does. */
	assert_int_equal(get(c, KEY("q\0\0"), NULL, got, sizeof got), RCACHE_NEED_SNAP);
	assert_int_equal(get(c, KEY("q\0\0"), "10:12:10,11", got, sizeof got), RCACHE_HIT);
	assert_string_equal(got, "{\"data\":1}");
	/* Another key (other variables) is another request. */
	assert_int_equal(get(c, KEY("q\0\0{}"), "10:12:10,11", got, sizeof got), RCACHE_MISS);
	/* A commit since (11 finished): stale, and dropped for good. */
	assert_int_equal(get(c, KEY("q\0\0"), "10:12:10", got, sizeof got), RCACHE_MISS);
	assert_int_equal(get(c, KEY("q\0\0"), "10:12:10,11", got, sizeof got), RCACHE_MISS);
	struct rcache_stats st;
	rcache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	rcache_free(c);
}

static void test_no_data(void **state)
{
	(void)state;
	struct rcache *c = rcache_new(1 << 20);
	char got[64];
	rcache_put(c, KEY("{ __typename }\0\0"), NULL,
		   KEY("{\"data\":{\"__typename\":\"Query\"}}"));
	assert_int_equal(get(c, KEY("{ __typename }\0\0"), NULL, got, sizeof got), RCACHE_HIT);
	assert_string_equal(got, "{\"data\":{\"__typename\":\"Query\"}}");
	assert_int_equal(get(c, KEY("{ __typename }\0\0"), "99:99:", got, sizeof got), RCACHE_HIT);
	/* A later answer to the same request replaces the earlier one. */
	rcache_put(c, KEY("{ __typename }\0\0"), "5:6:", KEY("{\"data\":2}"));
	assert_int_equal(get(c, KEY("{ __typename }\0\0"), "5:6:", got, sizeof got), RCACHE_HIT);
	assert_string_equal(got, "{\"data\":2}");
	struct rcache_stats st;
	rcache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	rcache_free(c);
}

static void test_bounded(void **state)
{
	(void)state;
	char body[1000], key[32], got[16];
	memset(body, 'x', sizeof body);
	struct rcache *c = rcache_new(64 * 1024);
	/* A body over an eighth of the cache is not kept. */
	char big[9000];
	memset(big, 'y', sizeof big);
	rcache_put(c, KEY("big"), NULL, big, sizeof big);
	assert_int_equal(get(c, KEY("big"), NULL, got, sizeof got), RCACHE_MISS);
	/* 500 responses of ~1 KB into 64 KiB: the newest stay, the oldest went. */
	for (int i = 0; i < 500; i++) {
		int n = snprintf(key, sizeof key, "q%d", i);
		rcache_put(c, key, (size_t)n, "1:1:", body, sizeof body);
	}
	struct rcache_stats st;
	rcache_stats(c, &st);
	assert_true(st.bytes <= 64 * 1024);
	assert_true(st.entries > 40 && st.entries < 64);
	assert_int_equal(st.evictions, 500 - st.entries);
	assert_int_equal(get(c, KEY("q499"), "1:1:", got, sizeof got), RCACHE_HIT);
	assert_int_equal(get(c, KEY("q0"), "1:1:", got, sizeof got), RCACHE_MISS);
	/* Every survivor is still found after the table grew. */
	for (int i = 500 - (int)st.entries; i < 500; i++) {
		int n = snprintf(key, sizeof key, "q%d", i);
		assert_int_equal(get(c, key, (size_t)n, "1:1:", got, sizeof got), RCACHE_HIT);
	}
	rcache_free(c);
	/* A cache of 0 bytes keeps nothing. */
	c = rcache_new(0);
	rcache_put(c, KEY("q"), NULL, KEY("{}"));
	assert_int_equal(get(c, KEY("q"), NULL, got, sizeof got), RCACHE_MISS);
	rcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_bound),
		cmocka_unit_test(test_no_data),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
