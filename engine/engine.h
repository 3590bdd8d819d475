/*
 * engine: the Redis transport of the workflow engine. Tasks travel through a
 * Redis Stream read by a consumer group (at-least-once), delayed tasks wait in
 * a sorted set, failed ones end in a dead-letter stream, and leases elect the
 * scheduler leader. PostgreSQL stays the source of truth for runs: if Redis
 * loses everything, the lead's reconciler re-enqueues unfinished runs, using
 * engine_run_live() to see which runs still have a task in Redis.
 *
 * Threading: a struct engine is configured once (engine_new, engine_register,
 * engine_on_failed) and then only read, so any number of threads may share
 * it. A struct engine_conn is one Redis connection: one thread at a time.
 * engine_worker_run() opens one connection per worker thread itself.
 *
 * Errors: functions return 0 on success and a negative ENGINE_E* value on
 * failure, with a one-line message in the connection (engine_conn_error()).
 *
 * Delivery is at-least-once: a task can run twice (a worker died after its
 * commit but before its ack, or a reclaim raced a slow handler), so handlers
 * must be idempotent; the worker recognises a replay by task seq <= the run's
 * step_seq. The key layout is drawn at the top of engine.c.
 *
 * Reconciler contract (for the scheduler's reconciler). {js}:live counts,
 * per run, the tasks Redis holds for it: ready, pending (being handled) or
 * delayed; it is kept exact by the same scripts that move tasks, and reaches 0
 * (the field disappears) when the run's last task is acknowledged without a
 * successor or dead-lettered. So, for each run PostgreSQL says is RUNNING:
 *   engine_run_live(run) > 0            -> the run is moving; leave it.
 *   == 0 and heartbeat_at older than    -> its task was lost (Redis restarted
 *      the visibility timeout              without persistence, FLUSHALL, or the
 *                                          process died between dead-lettering
 *                                          and the failure callback): re-enqueue
 *                                          the step its checkpoint expects
 *                                          next (seq = the run's step_seq).
 * One HGET per run; no stream scan. A re-enqueue that races a task still in
 * flight is harmless for the same idempotency reason as above. Redis keeps no
 * history: whatever Redis loses, PostgreSQL's runs and checkpoints rebuild.
 */
#ifndef JS_ENGINE_H
#define JS_ENGINE_H

#include <stdatomic.h>

#include "common/common.h"

enum {
	ENGINE_OK = 0,
	ENGINE_EIO = -1,    /* Redis unreachable or the connection broke */
	ENGINE_EREPLY = -2, /* Redis answered with an error */
	ENGINE_EINVAL = -3, /* bad argument (kind with a newline, ...) */
	ENGINE_EGRACE = -4, /* engine_worker_run: handlers outlived the grace period */
};

/* The longest kind, payload and code accepted. */
#define ENGINE_KIND_MAX 64
#define ENGINE_PAYLOAD_MAX 4096
#define ENGINE_CODE_MAX 64
#define ENGINE_ID_MAX 48 /* a stream entry id "1700000000000-12" fits */

/*
 * One task. On enqueue, the caller fills kind, run_id, seq, attempt (0 is
 * taken as 1) and payload. On delivery, the engine also fills id (the stream
 * entry id) and deliveries (how many times this entry has been delivered,
 * 1 the first time). Strings of a delivered task live until the handler
 * returns. run_id 0 means "not part of a run": not tracked in {js}:live.
 */
struct engine_task {
	const char *kind;
	int64_t run_id;
	int seq;
	int attempt;
	const char *payload; /* may be NULL: empty */
	size_t payload_len;
	char id[ENGINE_ID_MAX];
	long deliveries;
};

/*
 * Retry policy of one task kind. The delay before attempt n+1 is
 * initial_ms * coefficient^(n-1), capped at max_ms, and never shorter than
 * the minimum delay the handler asked for (Retry-After). A RETRY whose code
 * is listed in non_retryable, or that would exceed max_attempts, fails the
 * task instead. Zero fields take the defaults: 1 s, 2.0, 5 min, 5 attempts.
 */
struct engine_retry_policy {
	int64_t initial_ms;
	double coefficient;
	int64_t max_ms;
	int max_attempts;
	const char *const *non_retryable; /* codes like "AUTH_EXPIRED" */
	size_t n_non_retryable;
};

enum engine_status { ENGINE_DONE = 0, ENGINE_RETRY, ENGINE_FAIL };

/* What a handler returns. code must outlive the handler's return: a string
 * literal, static storage or a string of the task. */
struct engine_outcome {
	enum engine_status status;
	const char *code;     /* RETRY and FAIL: "RATE_LIMIT", "AUTH_EXPIRED", ... */
	int64_t min_delay_ms; /* RETRY: at least this long (Retry-After) */
};

static inline struct engine_outcome engine_done(void)
{
	struct engine_outcome o = {ENGINE_DONE, NULL, 0};
	return o;
}
static inline struct engine_outcome engine_retry(const char *code, int64_t min_delay_ms)
{
	struct engine_outcome o = {ENGINE_RETRY, code, min_delay_ms};
	return o;
}
static inline struct engine_outcome engine_fail(const char *code)
{
	struct engine_outcome o = {ENGINE_FAIL, code, 0};
	return o;
}

/* The handler's view of the delivery in progress (see engine_call_*). */
struct engine_call;

typedef struct engine_outcome (*engine_handler_fn)(struct engine_call *call,
						   const struct engine_task *task,
						   void *thread_ctx);

/* One row of the caller's const table of task kinds. */
struct engine_kind {
	const char *kind;
	engine_handler_fn handle;
	struct engine_retry_policy retry;
};

/* Why a task ended in the dead-letter stream. */
enum engine_fail_reason {
	ENGINE_FAILED = 1,    /* the handler returned FAIL */
	ENGINE_NOT_RETRYABLE, /* RETRY with a code listed as never retried */
	ENGINE_EXHAUSTED,     /* RETRY after max_attempts */
	ENGINE_POISON,        /* delivered more than max_deliveries times */
	ENGINE_UNKNOWN_KIND,  /* no handler registered, or a malformed entry */
};
const char *engine_fail_reason_name(enum engine_fail_reason r);

struct engine_failure {
	const struct engine_task *task;
	const char *code;
	enum engine_fail_reason reason;
};

/*
 * Called once per task that was moved to the dead-letter stream, after the
 * move, on the worker thread that moved it: the run owner fails the run with
 * f->code. If the process dies between the move and the call, the run stays
 * RUNNING without a live task, which the reconciler notices.
 */
typedef void (*engine_failed_fn)(const struct engine_failure *f, void *thread_ctx, void *user);

struct engine_options {
	const char *redis_url;       /* required */
	const char *prefix;          /* key prefix with hash tag; default "{js}" */
	const char *group;           /* consumer group; default "workers" */
	int64_t visibility_ms;       /* idle time before a task is reclaimed; 30000 */
	int max_deliveries;          /* deliveries before dead-letter; 5 */
	const char *poison_code;     /* code reported for poison tasks; "INTERNAL" */
	int64_t block_ms;            /* XREADGROUP BLOCK; min(1000, visibility/2) */
	int64_t promote_interval_ms; /* opportunistic promotion by workers; 500 */
	int64_t command_timeout_ms;  /* per command (plus block_ms); 5000 */
};

struct engine;

/* Create an engine; NULL and a message in err on bad options. */
struct engine *engine_new(const struct engine_options *o, char *err, size_t errlen);
void engine_free(struct engine *e);
/* Register a kind before engine_worker_run; the table row must outlive e. */
int engine_register(struct engine *e, const struct engine_kind *k) JS_WUR;
void engine_on_failed(struct engine *e, engine_failed_fn fn, void *user);
/* The full name of a key: engine_key(e, "tasks", out, n) -> "{js}:tasks". */
const char *engine_key(const struct engine *e, const char *suffix, char *out, size_t n);

/* ---- connections ---------------------------------------------------------- */
struct engine_conn;
/* Connect (and create the consumer group if missing); NULL and err on failure. */
struct engine_conn *engine_connect(struct engine *e, char *err, size_t errlen);
void engine_conn_free(struct engine_conn *c);
/* The last error on c, "" when none. */
const char *engine_conn_error(const struct engine_conn *c);

/* ---- producing ------------------------------------------------------------ */
/* Add a task to the ready stream; id_out (may be NULL) gets the entry id. */
int engine_enqueue(struct engine_conn *c, const struct engine_task *t,
		   char id_out[ENGINE_ID_MAX]) JS_WUR;
/* Add n tasks in one pipeline (one round trip). */
int engine_enqueue_many(struct engine_conn *c, const struct engine_task *t, size_t n) JS_WUR;
/* Add a task that becomes ready after delay_ms (Redis server clock).
 * An identical task (same kind, run, seq, attempt, payload) already waiting
 * is not added twice. */
int engine_enqueue_delayed(struct engine_conn *c, const struct engine_task *t,
			   int64_t delay_ms) JS_WUR;
/* Move up to max due delayed tasks to the ready stream; *moved gets how many.
 * Atomic per call; safe to call from any number of processes. */
int engine_promote_due(struct engine_conn *c, int max, int *moved) JS_WUR;

/* ---- observing ------------------------------------------------------------ */
struct engine_depth {
	int64_t ready;   /* in the stream, not yet delivered */
	int64_t pending; /* delivered, not acknowledged */
	int64_t delayed; /* waiting for their due time */
	int64_t dead;    /* in the dead-letter stream */
};
int engine_queue_depth(struct engine_conn *c, struct engine_depth *out) JS_WUR;
/*
 * How many tasks of run_id are live (ready, pending or delayed) according to
 * {js}:live; 0 means the run has nothing in Redis and, if PostgreSQL says it
 * is RUNNING, the reconciler must re-enqueue it from its checkpoint.
 */
int engine_run_live(struct engine_conn *c, int64_t run_id, int64_t *n_live) JS_WUR;
/* Fetch up to max_n entries of the dead-letter stream, oldest first, as
 * callbacks (for tests and the admin plane). */
typedef void (*engine_dead_fn)(const struct engine_task *t, const char *code, const char *reason,
			       void *user);
int engine_dead_list(struct engine_conn *c, int max_n, engine_dead_fn fn, void *user) JS_WUR;

/* ---- leases and locks ----------------------------------------------------- */
/*
 * A lease on key "<prefix>:<name>" (e.g. name "lease:scheduler" or
 * "lock:project:12") held by owner (a unique string per process) for ttl_ms.
 * acquire: *held true when owner holds it now (newly or already: then renewed).
 * renew: *held false when owner no longer holds it (expired, taken over).
 * release: deletes only if owner holds it.
 */
int engine_lease_acquire(struct engine_conn *c, const char *name, const char *owner, int64_t ttl_ms,
			 bool *held) JS_WUR;
int engine_lease_renew(struct engine_conn *c, const char *name, const char *owner, int64_t ttl_ms,
		       bool *held) JS_WUR;
int engine_lease_release(struct engine_conn *c, const char *name, const char *owner) JS_WUR;

/* ---- consuming ------------------------------------------------------------ */
struct engine_worker_options {
	int n_threads;        /* >= 1 */
	void **thread_ctx;    /* n_threads pointers handed to handlers, or NULL */
	atomic_int *stop;     /* required: non-zero asks the workers to stop */
	int64_t grace_ms;     /* how long in-flight handlers may run after stop; 30000 */
	int read_batch;       /* most tasks prefetched per read while handlers are
				  * fast (under 1 ms); 1 once they are slow; 16 */
	const char *consumer; /* consumer name prefix; default "<host>-<pid>" */
};

/*
 * Run the consumers until *stop becomes non-zero. Each thread has its own
 * connection and reconnects with backoff when Redis goes away (recreating the
 * consumer group after a restart or FLUSHALL). After stop, threads read no
 * new tasks; tasks read but not started are put back at once; in-flight
 * handlers get grace_ms to finish. Returns 0, or ENGINE_EGRACE when some
 * handler was still running at the end of the grace period: those threads
 * are left running detached (their tasks stay pending and are reclaimed by
 * other consumers after the visibility timeout), so the caller must then
 * exit the process without calling engine_free().
 *
 * Round trips: the acknowledgement of a DONE task and the read of the next
 * tasks travel in one script call. Acknowledgements of fast handlers (under
 * 1 ms) are coalesced for at most 5 ms; a slow handler's is sent before the
 * next handler starts. A DONE with engine_call_enqueue()d successors is
 * acknowledged at once, atomically with adding them.
 */
int engine_worker_run(struct engine *e, const struct engine_worker_options *o) JS_WUR;

/* Within a handler: queue a task to be added atomically with the
 * acknowledgement of a DONE outcome (discarded on RETRY and FAIL). */
int engine_call_enqueue(struct engine_call *call, const struct engine_task *t) JS_WUR;
/* Within a handler: keep the claim on the task (reset its idle time) so it is
 * not reclaimed; call it well within the visibility timeout. 0, or -1 when
 * this consumer lost it (another consumer took it over: the handler should
 * stop; its outcome is then dropped, the other consumer's counts) or Redis is
 * unreachable. */
int engine_call_heartbeat(struct engine_call *call) JS_WUR;
/* Within a handler: true once the workers were asked to stop. */
bool engine_call_stopping(const struct engine_call *call);

/* ---- policy arithmetic (pure; exposed for tests) -------------------------- */
/*
 * Decide what a RETRY outcome of attempt `attempt` becomes: returns true and
 * the delay in *delay_ms when retried; false and the reason in *why when the
 * task fails instead.
 */
bool engine_retry_decide(const struct engine_retry_policy *p, int attempt, const char *code,
			 int64_t min_delay_ms, int64_t *delay_ms, enum engine_fail_reason *why);

#endif
