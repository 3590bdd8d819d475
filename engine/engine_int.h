/*
 * engine_int.h: private to engine/ (engine.c and worker.c). The engine and
 * connection structs, the script table and the task state changes that the
 * consumer runtime performs. Other modules include engine/engine.h only.
 */
#ifndef JS_ENGINE_INT_H
#define JS_ENGINE_INT_H

#include "common/conn.h"
#include "engine/engine.h"

enum {
	S_ENQUEUE,
	S_DELAY,
	S_ACK,
	S_RETRY,
	S_DEAD,
	S_PROMOTE,
	S_HEARTBEAT,
	S_REQUEUE,
	S_RENEW,
	S_RELEASE,
	S_REAP,
	S_ACK_FETCH,
	S_ACK_CHAIN,
	N_SCRIPTS
};

#define ENGINE_NEXT_MAX 8 /* tasks a handler may enqueue with its ack */

struct engine {
	char *redis_url;
	char *prefix;
	char *group;
	int64_t visibility_ms;
	int max_deliveries;
	char *poison_code;
	int64_t block_ms;
	int64_t promote_interval_ms;
	int64_t command_timeout_ms;
	char k_tasks[128], k_delayed[128], k_dead[128], k_live[128];
	const struct engine_kind **kinds;
	size_t n_kinds;
	engine_failed_fn failed_fn;
	void *failed_user;
	/* Shared by the worker threads of this process (monotonic ms). */
	atomic_llong next_promote_ms;
	atomic_llong next_reap_ms;
};

struct engine_conn {
	struct engine *e;
	redisContext *rc;
	char sha[N_SCRIPTS][41];
	char err[256];
};

/* The string forms of a task's numbers. */
struct engine_fields {
	char run[24];
	char seq[16];
	char attempt[16];
	const char *payload;
};

/* A task queued by a handler with engine_call_enqueue (owned copies). */
struct engine_next {
	struct engine_task t;
	char kind[ENGINE_KIND_MAX + 1];
	char *payload;
};

const struct engine_kind *engine_find_kind(const struct engine *e, const char *kind);
struct engine_conn *engine_connect_timeout(struct engine *e, int64_t timeout_ms, char *err,
					   size_t errlen);
bool engine_conn_broken(const struct engine_conn *c);
int engine_ensure_group(struct engine_conn *c);
redisReply *engine_script(struct engine_conn *c, int s, int nkeys, int n, const char **argv,
			  const size_t *lens, int *rc);
void engine_task_fields(const struct engine_task *t, struct engine_fields *f);
void engine_delay_member(const struct engine_task *t, struct buf *m);
int engine_parse_entry(const redisReply *r, struct engine_task *t);

/* State changes of a delivered task; *acked is 1 when this call acknowledged
 * it (0: already acknowledged by another consumer or gone with a flush). */
int engine_ack(struct engine_conn *c, const struct engine_task *t, const struct engine_next *next,
	       int n_next, long long *acked);
int engine_retry_later(struct engine_conn *c, const struct engine_task *t, int64_t delay_ms,
		       long long *acked);
int engine_dead_letter(struct engine_conn *c, const struct engine_task *t, const char *code,
		       enum engine_fail_reason why, long long *acked);
/* Acknowledge n DONE tasks (ids[i] of run runs[i]) in one script and, when
 * fetch > 0, read up to fetch new entries for consumer in the same call:
 * *entries gets the XREADGROUP-shaped reply (caller frees) or NULL. */
#define ENGINE_ACK_MAX 64
int engine_ack_fetch(struct engine_conn *c, const char *consumer, int fetch,
		     char ids[][ENGINE_ID_MAX], char runs[][24], int n, redisReply **entries);
/* engine_ack, and then, in the same script, read one new entry for consumer:
 * with no backlog that is the successor just added, so a run's steps stay
 * with the consumer that has its state warm instead of going to whichever
 * consumer was blocked in XREADGROUP. *entries: the XREADGROUP-shaped reply
 * (caller frees) or NULL. */
int engine_ack_chain(struct engine_conn *c, const char *consumer, const struct engine_task *t,
		     const struct engine_next *next, int n_next, long long *acked,
		     redisReply **entries);
int engine_requeue(struct engine_conn *c, const struct engine_task *t);
int engine_claim_keep(struct engine_conn *c, const char *consumer, const char *id, bool *kept);
int engine_reap_consumers(struct engine_conn *c, int64_t idle_ms);

#endif
