/*
 * worker.c: the consumer runtime of the engine. engine_worker_run() starts N
 * threads; each owns one Redis connection and loops: promote due delayed
 * tasks (one thread per process per interval), reclaim tasks idle longer
 * than the visibility timeout (XAUTOCLAIM), read new ones (XREADGROUP BLOCK),
 * run the handler and apply its outcome with one atomic script. A broken
 * connection is dropped and re-opened with backoff; a missing group (after
 * a Redis restart or FLUSHALL) is re-created. On stop, threads read nothing
 * new, put back tasks read but not started, and let in-flight handlers
 * finish within the grace period.
 */
#include "engine/engine_int.h"

#include <pthread.h>
#include <unistd.h>

struct runtime {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n_alive;
};

struct wthread {
	struct engine *e;
	struct runtime *rt;
	atomic_int *stop;
	int read_batch;
	void *ctx;
	char consumer[192];
	struct engine_conn *c;      /* NULL while disconnected */
	char cursor[ENGINE_ID_MAX]; /* XAUTOCLAIM position */
	int64_t next_reclaim;
	int64_t backoff_ms;
	bool was_lost;
	/* DONE tasks whose acknowledgement is coalesced (see queue_ack). */
	char ack_ids[ENGINE_ACK_MAX][ENGINE_ID_MAX];
	char ack_runs[ENGINE_ACK_MAX][24];
	int n_acks;
	int64_t first_ack_ms;
	int64_t last_handler_ms; /* how long the last handler ran */
	/* The entry read by the ack that added a successor (engine_ack_chain),
	 * already delivered to this consumer: run before reading anew. */
	redisReply *chained;
	pthread_t tid;
};

/* Coalesced acknowledgements wait at most this long, and only behind
 * handlers faster than ACK_FAST_MS; a slow handler never delays another's ack. */
#define ACK_WINDOW_MS 5
#define ACK_FAST_MS 1
/* Tasks are prefetched (up to read_batch per read) only while handlers are
 * fast; a prefetched task not started within PREFETCH_HOLD_MS is handed back. */
#define PREFETCH_HOLD_MS 200

struct engine_call {
	struct wthread *w;
	const struct engine_task *task;
	struct engine_next next[ENGINE_NEXT_MAX];
	int n_next;
	bool lost; /* a heartbeat found the task claimed by another consumer */
};

enum op_kind { OP_ACK, OP_RETRY, OP_DEAD };

struct finish_op {
	enum op_kind kind;
	const struct engine_next *next;
	int n_next;
	redisReply **chained; /* OP_ACK: read the next entry too (engine_ack_chain) */
	const char *consumer;
	int64_t delay_ms;
	const char *code;
	enum engine_fail_reason why;
};

static bool stopping(const struct wthread *w)
{
	return atomic_load(w->stop) != 0;
}

/* How many tasks to read at once: read_batch while handlers are fast, else 1. */
static int fetch_n(const struct wthread *w)
{
	return w->last_handler_ms < ACK_FAST_MS ? w->read_batch : 1;
}

static void drop_conn(struct wthread *w, const char *why)
{
	if (!w->c)
		return;
	log_warn("redis connection lost", "consumer", w->consumer, "error",
		 w->c->err[0] ? w->c->err : why);
	engine_conn_free(w->c);
	w->c = NULL;
	w->was_lost = true;
}

/* One connection attempt; on failure sleep the backoff (in slices, so a stop
 * is noticed) and double it up to 5 s. */
static int try_connect(struct wthread *w)
{
	char err[256];
	struct engine *e = w->e;
	w->c = engine_connect_timeout(e, e->command_timeout_ms + e->block_ms, err, sizeof err);
	if (w->c) {
		if (w->was_lost)
			log_info("redis connection restored", "consumer", w->consumer);
		w->was_lost = false;
		w->backoff_ms = 100;
		w->next_reclaim = 0; /* look for orphans right away */
		return 0;
	}
	if (!w->was_lost || w->backoff_ms >= 5000)
		log_warn("cannot reach redis, retrying", "consumer", w->consumer, "error", err,
			 "#backoff_ms", fmt_i64((char[24]){0}, w->backoff_ms));
	w->was_lost = true;
	for (int64_t slept = 0; slept < w->backoff_ms && !stopping(w); slept += 50)
		sleep_ms(50);
	w->backoff_ms = w->backoff_ms * 2 > 5000 ? 5000 : w->backoff_ms * 2;
	return -1;
}

static int do_op(struct engine_conn *c, const struct engine_task *t, const struct finish_op *op,
		 long long *acked)
{
	switch (op->kind) {
	case OP_ACK:
		if (op->chained)
			return engine_ack_chain(c, op->consumer, t, op->next, op->n_next, acked,
						op->chained);
		return engine_ack(c, t, op->next, op->n_next, acked);
	case OP_RETRY:
		return engine_retry_later(c, t, op->delay_ms, acked);
	case OP_DEAD:
		return engine_dead_letter(c, t, op->code, op->why, acked);
	}
	return ENGINE_EINVAL;
}

/*
 * Apply the outcome of a task. If the connection breaks, reconnect and try
 * once more (for up to the visibility timeout, after which another consumer
 * would reclaim the task anyway). Giving up is safe: the task stays pending
 * and is delivered again.
 */
static int finish(struct wthread *w, const struct engine_task *t, const struct finish_op *op)
{
	long long acked = 0;
	int rc = ENGINE_EIO;
	int64_t deadline = mono_ms() + w->e->visibility_ms;

	for (int attempt = 0; attempt < 2; attempt++) {
		while (!w->c && mono_ms() < deadline)
			if (try_connect(w) != 0 && stopping(w))
				break;
		if (!w->c)
			break;
		rc = do_op(w->c, t, op, &acked);
		if (rc != ENGINE_EIO)
			break;
		drop_conn(w, "finish");
	}
	if (rc != 0) {
		log_warn("cannot settle task; it stays pending", "kind", t->kind, "#run_id",
			 fmt_i64((char[24]){0}, t->run_id), "id", t->id, "error",
			 w->c ? w->c->err : "redis unreachable");
		return rc;
	}
	if (op->kind == OP_DEAD && acked == 1) {
		log_warn("task failed", "kind", t->kind, "#run_id",
			 fmt_i64((char[24]){0}, t->run_id), "code", op->code, "reason",
			 engine_fail_reason_name(op->why));
		if (w->e->failed_fn) {
			struct engine_failure f = {t, op->code, op->why};
			w->e->failed_fn(&f, w->ctx, w->e->failed_user);
		}
	}
	return 0;
}

static void dead(struct wthread *w, const struct engine_task *t, const char *code,
		 enum engine_fail_reason why)
{
	struct finish_op op = {.kind = OP_DEAD, .code = code, .why = why};
	(void)finish(w, t, &op);
}

static void process_entries(struct wthread *w, const redisReply *arr, const long *deliveries);

static void queue_ack(struct wthread *w, const struct engine_task *t)
{
	if (w->n_acks == 0)
		w->first_ack_ms = mono_ms();
	snprintf(w->ack_ids[w->n_acks], ENGINE_ID_MAX, "%s", t->id);
	fmt_i64(w->ack_runs[w->n_acks], t->run_id);
	w->n_acks++;
}

/*
 * Send the coalesced acknowledgements in one script call and, when fetch > 0,
 * read up to fetch new tasks in the same round trip (as a reply to the ack),
 * which are then run. Returns true when new tasks were run. If Redis cannot
 * be reached the tasks stay pending and are delivered again later.
 */
static bool flush_acks(struct wthread *w, int fetch)
{
	redisReply *r = NULL;
	int rc = ENGINE_EIO;
	int64_t deadline = mono_ms() + w->e->visibility_ms;

	if (w->n_acks == 0 && fetch == 0)
		return false;
	for (int attempt = 0; attempt < 2; attempt++) {
		while (!w->c && mono_ms() < deadline)
			if (try_connect(w) != 0 && stopping(w))
				break;
		if (!w->c)
			break;
		rc = engine_ack_fetch(w->c, w->consumer, fetch, w->ack_ids, w->ack_runs, w->n_acks,
				      &r);
		if (rc != ENGINE_EIO)
			break;
		drop_conn(w, "ack");
	}
	if (rc == ENGINE_EREPLY && w->c && strstr(w->c->err, "NOGROUP")) {
		log_warn("consumer group missing; re-creating it", "consumer", w->consumer);
		if (engine_ensure_group(w->c) == ENGINE_EIO)
			drop_conn(w, "xgroup");
	} else if (rc != 0) {
		log_warn("cannot acknowledge tasks; they stay pending", "consumer", w->consumer,
			 "#n", fmt_i64((char[24]){0}, w->n_acks), "error",
			 w->c ? w->c->err : "redis unreachable");
	}
	w->n_acks = 0;
	bool ran = false;
	if (r && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->element[1]->elements > 0) {
		process_entries(w, r->element[0]->element[1], NULL);
		ran = true;
	}
	freeReplyObject(r);
	return ran;
}

static void process_one(struct wthread *w, const struct engine_task *t)
{
	struct engine *e = w->e;
	if (t->deliveries > e->max_deliveries) {
		dead(w, t, e->poison_code, ENGINE_POISON);
		return;
	}
	const struct engine_kind *k = engine_find_kind(e, t->kind);
	if (!k) {
		dead(w, t, "INTERNAL", ENGINE_UNKNOWN_KIND);
		return;
	}
	struct engine_call call = {.w = w, .task = t};
	int64_t t0 = mono_ms();
	struct engine_outcome out = k->handle(&call, t, w->ctx);
	w->last_handler_ms = mono_ms() - t0;
	const char *code = out.code && out.code[0] ? out.code : "INTERNAL";
	char codebuf[ENGINE_CODE_MAX + 1];
	snprintf(codebuf, sizeof codebuf, "%s", code);

	if (call.lost) {
		/* Another consumer owns the task now; its outcome is the one that counts. */
		log_warn("task claimed by another consumer; outcome dropped", "kind", t->kind,
			 "#run_id", fmt_i64((char[24]){0}, t->run_id), "id", t->id);
		goto out;
	}
	switch (out.status) {
	case ENGINE_DONE: {
		if (call.n_next == 0) {
			queue_ack(w, t);
			break;
		}
		/* The successor usually comes straight back to this consumer,
		 * whose handler state (a prefetched page) is warm for it. */
		struct finish_op op = {.kind = OP_ACK, .next = call.next, .n_next = call.n_next};
		if (!stopping(w) && !w->chained) {
			op.chained = &w->chained;
			op.consumer = w->consumer;
		}
		(void)finish(w, t, &op);
		break;
	}
	case ENGINE_RETRY: {
		int64_t delay = 0;
		enum engine_fail_reason why = ENGINE_FAILED;
		if (engine_retry_decide(&k->retry, t->attempt, codebuf, out.min_delay_ms, &delay,
					&why)) {
			struct finish_op op = {.kind = OP_RETRY, .delay_ms = delay};
			log_info("task retry scheduled", "kind", t->kind, "#run_id",
				 fmt_i64((char[24]){0}, t->run_id), "code", codebuf, "#attempt",
				 fmt_i64((char[24]){0}, t->attempt), "#delay_ms",
				 fmt_i64((char[24]){0}, delay));
			(void)finish(w, t, &op);
		} else {
			dead(w, t, codebuf, why);
		}
		break;
	}
	case ENGINE_FAIL:
	default:
		dead(w, t, codebuf, ENGINE_FAILED);
		break;
	}
out:
	for (int i = 0; i < call.n_next; i++)
		free(call.next[i].payload);
}

/*
 * Run the entries of one read (XREADGROUP or XAUTOCLAIM) in order. Entries
 * still waiting PREFETCH_HOLD_MS after the read are handed back or re-claimed
 * (see below). After a stop, entries not started are put back into the
 * stream at once.
 */
static void process_entries(struct wthread *w, const redisReply *arr, const long *deliveries)
{
	int64_t t0 = mono_ms();
	for (size_t i = 0; i < arr->elements; i++) {
		struct engine_task t;
		const redisReply *en = arr->element[i];
		if (engine_parse_entry(en, &t) != 0) {
			if (en->type != REDIS_REPLY_ARRAY || en->elements < 1 ||
			    en->element[0]->type != REDIS_REPLY_STRING ||
			    en->element[0]->len >= ENGINE_ID_MAX)
				continue;
			memset(&t, 0, sizeof t);
			memcpy(t.id, en->element[0]->str, en->element[0]->len + 1);
			t.kind = "?";
			t.payload = "";
			t.attempt = 1;
			if (w->c)
				dead(w, &t, "INTERNAL", ENGINE_UNKNOWN_KIND);
			continue;
		}
		t.deliveries = deliveries ? deliveries[i] : 1;
		if (!w->c)
			break; /* lost: the rest stays pending and is reclaimed */
		if (stopping(w)) {
			int rc = engine_requeue(w->c, &t);
			if (rc == ENGINE_EIO)
				drop_conn(w, "requeue");
			continue;
		}
		if (w->n_acks > 0 &&
		    (w->last_handler_ms >= ACK_FAST_MS || w->n_acks >= ENGINE_ACK_MAX ||
		     mono_ms() - w->first_ack_ms >= ACK_WINDOW_MS))
			(void)flush_acks(w, 0);
		if (!w->c)
			break;
		if (i > 0 && mono_ms() - t0 > PREFETCH_HOLD_MS) {
			/* Held too long behind a slow handler: a first delivery goes back
			 * to the stream for an idle consumer; a redelivery (whose count
			 * must survive for poison detection) is kept and claimed anew. */
			int rc;
			bool kept = false;
			if (t.deliveries <= 1) {
				rc = engine_requeue(w->c, &t);
			} else {
				rc = engine_claim_keep(w->c, w->consumer, t.id, &kept);
				t0 = mono_ms();
			}
			if (rc == ENGINE_EIO)
				drop_conn(w, "claim");
			if (rc != 0 || !kept)
				continue;
		}
		process_one(w, &t);
	}
}

static bool is_nogroup(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0;
}

/* Handle an error reply of a read; the group is re-created if it is gone. */
static void read_error(struct wthread *w, const char *what, const redisReply *r)
{
	if (is_nogroup(r)) {
		log_warn("consumer group missing; re-creating it", "consumer", w->consumer);
		if (engine_ensure_group(w->c) == ENGINE_EIO)
			drop_conn(w, "xgroup");
		return;
	}
	log_warn("redis read failed", "what", what, "error", r ? r->str : "");
	sleep_ms(100);
}

static void read_new(struct wthread *w)
{
	struct engine *e = w->e;
	char count[16], block[24];
	snprintf(count, sizeof count, "%d", fetch_n(w));
	fmt_i64(block, e->block_ms);
	const char *argv[] = {"XREADGROUP", "GROUP", e->group,  w->consumer, "COUNT", count,
			      "BLOCK",      block,   "STREAMS", e->k_tasks,  ">"};
	redisReply *r = redisCommandArgv(w->c->rc, 11, argv, NULL);
	if (!r) {
		drop_conn(w, "xreadgroup");
		return;
	}
	if (r->type == REDIS_REPLY_ERROR)
		read_error(w, "xreadgroup", r);
	else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		 r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
		process_entries(w, r->element[0]->element[1], NULL);
	freeReplyObject(r);
}

/* Claim tasks idle longer than the visibility timeout and run them, after
 * reading their delivery counts (for poison detection). */
static void reclaim(struct wthread *w)
{
	struct engine *e = w->e;
	char idle[24], count[16];
	fmt_i64(idle, e->visibility_ms);
	snprintf(count, sizeof count, "%d", w->read_batch);
	const char *argv[] = {"XAUTOCLAIM", e->k_tasks, e->group, w->consumer,
			      idle,         w->cursor,  "COUNT",  count};
	redisReply *r = redisCommandArgv(w->c->rc, 8, argv, NULL);
	long *counts = NULL;
	w->next_reclaim = mono_ms() + (e->visibility_ms / 2 > 50 ? e->visibility_ms / 2 : 50);
	if (!r) {
		drop_conn(w, "xautoclaim");
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		read_error(w, "xautoclaim", r);
		goto out;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= ENGINE_ID_MAX ||
	    r->element[1]->type != REDIS_REPLY_ARRAY)
		goto out;
	memcpy(w->cursor, r->element[0]->str, r->element[0]->len + 1);
	const redisReply *arr = r->element[1];
	if (arr->elements == 0)
		goto out;
	counts = xcalloc(arr->elements, sizeof *counts);
	for (size_t i = 0; i < arr->elements; i++) {
		const redisReply *en = arr->element[i];
		const char *id = en->type == REDIS_REPLY_ARRAY && en->elements >= 1 &&
						 en->element[0]->type == REDIS_REPLY_STRING
					 ? en->element[0]->str
					 : "0-0";
		const char *a[] = {"XPENDING", e->k_tasks, e->group, id, id, "1"};
		redisAppendCommandArgv(w->c->rc, 6, a, NULL);
	}
	for (size_t i = 0; i < arr->elements; i++) {
		redisReply *p = NULL;
		if (redisGetReply(w->c->rc, (void **)&p) != REDIS_OK) {
			drop_conn(w, "xpending");
			goto out;
		}
		counts[i] = 1;
		if (p->type == REDIS_REPLY_ARRAY && p->elements == 1 &&
		    p->element[0]->type == REDIS_REPLY_ARRAY && p->element[0]->elements == 4 &&
		    p->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
			counts[i] = (long)p->element[0]->element[3]->integer;
		freeReplyObject(p);
	}
	log_info("reclaimed idle tasks", "consumer", w->consumer, "#n",
		 fmt_i64((char[24]){0}, (int64_t)arr->elements));
	process_entries(w, arr, counts);
	w->next_reclaim = 0; /* there may be more: look again at once */
out:
	free(counts);
	freeReplyObject(r);
}

/* Promotion and consumer reaping: one thread of the process per interval. */
static void housekeeping(struct wthread *w)
{
	struct engine *e = w->e;
	long long now = mono_ms();
	long long next = atomic_load(&e->next_promote_ms);
	if (now >= next && atomic_compare_exchange_strong(&e->next_promote_ms, &next,
							  now + e->promote_interval_ms)) {
		int moved = 0;
		int rc = engine_promote_due(w->c, 100, &moved);
		if (rc == ENGINE_EIO)
			drop_conn(w, "promote");
		else if (rc == 0 && moved == 100)
			atomic_store(&e->next_promote_ms, 0); /* more are due */
	}
	next = atomic_load(&e->next_reap_ms);
	if (w->c && now >= next &&
	    atomic_compare_exchange_strong(&e->next_reap_ms, &next, now + 60000)) {
		int64_t idle = e->visibility_ms * 10 > 3600000 ? e->visibility_ms * 10 : 3600000;
		if (engine_reap_consumers(w->c, idle) == ENGINE_EIO)
			drop_conn(w, "reap");
	}
}

/* Run the entry an ack read for this consumer (after a stop: put it back). */
static void run_chained(struct wthread *w)
{
	redisReply *r = w->chained;
	w->chained = NULL;
	if (w->c)
		process_entries(w, r->element[1]->element[0]->element[1], NULL);
	/* without a connection it stays pending and is reclaimed */
	freeReplyObject(r);
}

static void *thread_main(void *arg)
{
	struct wthread *w = arg;
	while (!stopping(w)) {
		if (!w->c && try_connect(w) != 0)
			continue;
		housekeeping(w);
		if (w->c && !stopping(w) && mono_ms() >= w->next_reclaim)
			reclaim(w);
		if (w->chained) {
			run_chained(w);
			continue;
		}
		/* Acknowledge and fetch the next tasks in one round trip. */
		if (w->c && w->n_acks > 0 && flush_acks(w, stopping(w) ? 0 : fetch_n(w)))
			continue;
		if (w->c && !stopping(w))
			read_new(w);
	}
	while (w->chained)
		run_chained(w); /* stopping: process_entries hands it back */
	if (w->n_acks > 0)
		(void)flush_acks(w, 0);
	engine_conn_free(w->c);
	w->c = NULL;
	pthread_mutex_lock(&w->rt->mu);
	w->rt->n_alive--;
	pthread_cond_broadcast(&w->rt->cv);
	pthread_mutex_unlock(&w->rt->mu);
	return NULL;
}

int engine_worker_run(struct engine *e, const struct engine_worker_options *o)
{
	if (!o || o->n_threads < 1 || o->n_threads > 1024 || !o->stop)
		return ENGINE_EINVAL;
	struct runtime *rt = xcalloc(1, sizeof *rt);
	struct wthread *ws = xcalloc((size_t)o->n_threads, sizeof *ws);
	char host[64] = "host";
	char prefix[128];
	int64_t grace = o->grace_ms > 0 ? o->grace_ms : 30000;
	int started = 0, rc = 0;

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&rt->mu, NULL);

	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "host");
	/* The time suffix keeps a restarted process with a reused pid from
	 * inheriting the pending entries of its predecessor's consumer. */
	if (o->consumer && o->consumer[0])
		snprintf(prefix, sizeof prefix, "%s", o->consumer);
	else
		snprintf(prefix, sizeof prefix, "%s-%ld-%lld", host, (long)getpid(),
			 (long long)(now_ms() % 100000000));

	pthread_mutex_lock(&rt->mu);
	for (int i = 0; i < o->n_threads; i++) {
		struct wthread *w = &ws[i];
		w->e = e;
		w->rt = rt;
		w->stop = o->stop;
		w->read_batch = o->read_batch > 0 ? o->read_batch : 16;
		w->ctx = o->thread_ctx ? o->thread_ctx[i] : NULL;
		w->backoff_ms = 100;
		snprintf(w->cursor, sizeof w->cursor, "0-0");
		snprintf(w->consumer, sizeof w->consumer, "%s-%d", prefix, i);
		if (pthread_create(&w->tid, NULL, thread_main, w) != 0) {
			log_error("cannot start worker thread", "#index",
				  fmt_i64((char[24]){0}, i));
			atomic_store(o->stop, 1);
			rc = ENGINE_EINVAL;
			break;
		}
		started++;
		rt->n_alive++;
	}
	pthread_mutex_unlock(&rt->mu);
	log_info("workers started", "consumer", prefix, "#threads",
		 fmt_i64((char[24]){0}, started));

	while (!atomic_load(o->stop))
		sleep_ms(20);

	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += grace / 1000;
	deadline.tv_nsec += (grace % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&rt->mu);
	while (rt->n_alive > 0)
		if (pthread_cond_timedwait(&rt->cv, &rt->mu, &deadline) != 0)
			break;
	int left = rt->n_alive;
	pthread_mutex_unlock(&rt->mu);

	if (left > 0) {
		/* Threads still in handlers keep ws, rt and e: leak them on purpose. */
		log_warn("grace period over with handlers still running; their tasks stay pending",
			 "#running", fmt_i64((char[24]){0}, left));
		for (int i = 0; i < started; i++)
			pthread_detach(ws[i].tid);
		return ENGINE_EGRACE;
	}
	for (int i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	pthread_mutex_destroy(&rt->mu);
	pthread_cond_destroy(&rt->cv);
	free(ws);
	free(rt);
	log_info("workers stopped", "consumer", prefix);
	return rc;
}

/* ---- the handler's side ------------------------------------------------------ */

int engine_call_enqueue(struct engine_call *call, const struct engine_task *t)
{
	if (call->n_next >= ENGINE_NEXT_MAX || !t->kind || !t->kind[0] ||
	    strlen(t->kind) > ENGINE_KIND_MAX || strchr(t->kind, '\n') || t->run_id < 0 ||
	    t->seq < 0 || t->payload_len > ENGINE_PAYLOAD_MAX || (t->payload_len && !t->payload))
		return ENGINE_EINVAL;
	struct engine_next *n = &call->next[call->n_next++];
	n->t = *t;
	snprintf(n->kind, sizeof n->kind, "%s", t->kind);
	n->t.kind = n->kind;
	n->payload = xmalloc(t->payload_len + 1);
	if (t->payload_len)
		memcpy(n->payload, t->payload, t->payload_len);
	n->payload[t->payload_len] = '\0';
	n->t.payload = n->payload;
	return 0;
}

int engine_call_heartbeat(struct engine_call *call)
{
	struct wthread *w = call->w;
	bool kept = false;
	if (!w->c)
		return -1;
	int rc = engine_claim_keep(w->c, w->consumer, call->task->id, &kept);
	if (rc == ENGINE_EIO)
		drop_conn(w, "heartbeat");
	if (rc == 0 && !kept)
		call->lost = true;
	return rc == 0 && kept ? 0 : -1;
}

bool engine_call_stopping(const struct engine_call *call)
{
	return stopping(call->w);
}
