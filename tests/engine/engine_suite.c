/*
 * engine_suite: in-process tests of the engine against the real Redis at
 * REDIS_URL (tests/integration/engine_suite.sh starts one). Each case uses
 * its own key prefix so cases cannot see each other's tasks. Usage:
 * engine_suite [case...]; prints one "ok"/"not ok" line per case and a
 * closing "N passed, N failed"; exits non-zero when a case failed.
 */
#include <pthread.h>
#include <unistd.h>

#include "common/common.h"
#include "engine/engine.h"

static const char *redis_url;
static char why[512];

#define CHECK(cond, ...)                                        \
	do {                                                    \
		if (!(cond)) {                                  \
			snprintf(why, sizeof why, __VA_ARGS__); \
			goto fail;                              \
		}                                               \
	} while (0)

/* ---- shared helpers ------------------------------------------------------- */

struct opts_ex {
	int64_t visibility_ms;
	int max_deliveries;
};

static struct engine *mk_engine(const char *name, int64_t visibility_ms)
{
	char prefix[128], err[256];
	snprintf(prefix, sizeof prefix, "{jt-%s-%ld-%lld}", name, (long)getpid(),
		 (long long)(now_ms() % 1000000));
	struct engine_options o = {
		.redis_url = redis_url,
		.prefix = prefix,
		.visibility_ms = visibility_ms,
		.block_ms = 50,
		.promote_interval_ms = 30,
	};
	struct engine *e = engine_new(&o, err, sizeof err);
	if (!e) {
		fprintf(stderr, "engine_new: %s\n", err);
		exit(2);
	}
	return e;
}

static struct engine_conn *mk_conn(struct engine *e)
{
	char err[256];
	struct engine_conn *c = engine_connect(e, err, sizeof err);
	if (!c) {
		fprintf(stderr, "engine_connect: %s\n", err);
		exit(2);
	}
	return c;
}

struct runner {
	struct engine *e;
	struct engine_worker_options o;
	atomic_int stop;
	int rc;
	bool running;
	pthread_t tid;
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	r->rc = engine_worker_run(r->e, &r->o);
	return NULL;
}

static void start_workers(struct runner *r, struct engine *e, int threads, int batch, int64_t grace)
{
	memset(r, 0, sizeof *r);
	r->e = e;
	atomic_init(&r->stop, 0);
	r->o.n_threads = threads;
	r->o.read_batch = batch;
	r->o.stop = &r->stop;
	r->o.grace_ms = grace;
	if (pthread_create(&r->tid, NULL, runner_main, r) != 0)
		abort();
	r->running = true;
}

static int stop_workers(struct runner *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->tid, NULL);
	r->running = false;
	return r->rc;
}

/* Wait until nothing is ready, pending or delayed (or timeout); 0 when drained. */
static int wait_drained(struct engine_conn *c, int64_t timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	struct engine_depth d;
	while (mono_ms() < end) {
		if (engine_queue_depth(c, &d) == 0 && d.ready == 0 && d.pending == 0 &&
		    d.delayed == 0)
			return 0;
		sleep_ms(20);
	}
	return -1;
}

static struct engine_task task(const char *kind, int64_t run, int seq, const char *payload)
{
	struct engine_task t = {.kind = kind,
				.run_id = run,
				.seq = seq,
				.attempt = 1,
				.payload = payload,
				.payload_len = payload ? strlen(payload) : 0};
	return t;
}

/* Failure callbacks recorded by the cases. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
struct failure_rec {
	int64_t run;
	char code[64];
	char reason[32];
};
static struct failure_rec failures[64];
static int n_failures;

static void on_failed(const struct engine_failure *f, void *ctx, void *user)
{
	(void)ctx;
	(void)user;
	pthread_mutex_lock(&mu);
	if (n_failures < (int)JS_ARRAY_LEN(failures)) {
		failures[n_failures].run = f->task->run_id;
		snprintf(failures[n_failures].code, 64, "%s", f->code);
		snprintf(failures[n_failures].reason, 32, "%s", engine_fail_reason_name(f->reason));
		n_failures++;
	}
	pthread_mutex_unlock(&mu);
}

static const struct failure_rec *failure_of(int64_t run)
{
	const struct failure_rec *r = NULL;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < n_failures; i++)
		if (failures[i].run == run)
			r = &failures[i];
	pthread_mutex_unlock(&mu);
	return r;
}

/* ---- happy path: every task exactly once ------------------------------------ */

#define H_RUNS 30
#define H_SEQS 10
static atomic_int h_calls[H_RUNS + 1][H_SEQS + 1];
static atomic_int h_total;

static struct engine_outcome h_handle(struct engine_call *call, const struct engine_task *t,
				      void *ctx)
{
	(void)call;
	(void)ctx;
	char want[64];
	snprintf(want, sizeof want, "run=%" PRId64 ";seq=%d", t->run_id, t->seq);
	if (t->run_id >= 1 && t->run_id <= H_RUNS && t->seq >= 1 && t->seq <= H_SEQS &&
	    t->payload_len == strlen(want) && memcmp(t->payload, want, t->payload_len) == 0)
		atomic_fetch_add(&h_calls[t->run_id][t->seq], 1);
	atomic_fetch_add(&h_total, 1);
	return engine_done();
}

static const struct engine_kind h_kind = {.kind = "noop", .handle = h_handle};

static int case_happy(void)
{
	struct engine *e = mk_engine("happy", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	static char payloads[H_RUNS * H_SEQS][64];
	struct engine_task ts[H_RUNS * H_SEQS];
	size_t n = 0;

	CHECK(engine_register(e, &h_kind) == 0, "register");
	for (int run = 1; run <= H_RUNS; run++)
		for (int seq = 1; seq <= H_SEQS; seq++) {
			snprintf(payloads[n], 64, "run=%d;seq=%d", run, seq);
			ts[n] = task("noop", run, seq, payloads[n]);
			n++;
		}
	CHECK(engine_enqueue_many(c, ts, n) == 0, "enqueue_many: %s", engine_conn_error(c));
	int64_t live = 0;
	CHECK(engine_run_live(c, 7, &live) == 0 && live == H_SEQS, "live(7) = %" PRId64 " before",
	      live);
	struct engine_depth d;
	CHECK(engine_queue_depth(c, &d) == 0 && d.ready == (int64_t)n, "ready = %" PRId64, d.ready);

	start_workers(&r, e, 4, 4, 5000);
	CHECK(wait_drained(c, 20000) == 0, "queue not drained");
	CHECK(stop_workers(&r) == 0, "worker_run rc %d", r.rc);
	for (int run = 1; run <= H_RUNS; run++)
		for (int seq = 1; seq <= H_SEQS; seq++)
			CHECK(atomic_load(&h_calls[run][seq]) == 1,
			      "run %d seq %d handled %d times", run, seq,
			      atomic_load(&h_calls[run][seq]));
	CHECK(atomic_load(&h_total) == H_RUNS * H_SEQS, "total %d", atomic_load(&h_total));
	CHECK(engine_queue_depth(c, &d) == 0 && d.ready == 0 && d.pending == 0 && d.dead == 0,
	      "depth after: ready %" PRId64 " pending %" PRId64 " dead %" PRId64, d.ready,
	      d.pending, d.dead);
	for (int run = 1; run <= H_RUNS; run++)
		CHECK(engine_run_live(c, run, &live) == 0 && live == 0,
		      "live(%d) = %" PRId64 " after", run, live);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- a chain: each step enqueues the next with its ack ------------------------ */

static atomic_int chain_calls[8];

static struct engine_outcome chain_handle(struct engine_call *call, const struct engine_task *t,
					  void *ctx)
{
	(void)ctx;
	if (t->seq >= 1 && t->seq <= 5)
		atomic_fetch_add(&chain_calls[t->seq], 1);
	sleep_ms(60);
	if (t->seq < 5) {
		struct engine_task next = task("chain", t->run_id, t->seq + 1, "next");
		if (engine_call_enqueue(call, &next) != 0)
			return engine_fail("INTERNAL");
	}
	return engine_done();
}

static const struct engine_kind chain_kind = {.kind = "chain", .handle = chain_handle};

static int case_chain(void)
{
	struct engine *e = mk_engine("chain", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0, gaps = 0, samples = 0;
	struct engine_task t = task("chain", 42, 1, "first");

	CHECK(engine_register(e, &chain_kind) == 0, "register");
	CHECK(engine_enqueue(c, &t, NULL) == 0, "enqueue");
	start_workers(&r, e, 2, 1, 5000);
	/* While the chain runs, the run is never without a live task. */
	while (atomic_load(&chain_calls[5]) == 0 && samples < 1000) {
		int64_t live = -1;
		if (engine_run_live(c, 42, &live) == 0 && live == 0)
			gaps++;
		samples++;
		sleep_ms(2);
	}
	CHECK(wait_drained(c, 5000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");
	CHECK(gaps == 0, "run 42 looked dead %d times out of %d while running", gaps, samples);
	for (int s = 1; s <= 5; s++)
		CHECK(atomic_load(&chain_calls[s]) == 1, "step %d ran %d times", s,
		      atomic_load(&chain_calls[s]));
	int64_t live = -1;
	CHECK(engine_run_live(c, 42, &live) == 0 && live == 0, "live after = %" PRId64, live);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- affinity: a chain's steps stay with the consumer that ran the first ---------- */

#define AFF_STEPS 20
static pthread_t aff_thread[AFF_STEPS + 1];
static atomic_int aff_calls;

static struct engine_outcome aff_handle(struct engine_call *call, const struct engine_task *t,
					void *ctx)
{
	(void)ctx;
	if (t->seq >= 1 && t->seq <= AFF_STEPS)
		aff_thread[t->seq] = pthread_self();
	atomic_fetch_add(&aff_calls, 1);
	sleep_ms(5);
	if (t->seq < AFF_STEPS) {
		struct engine_task next = task("aff", t->run_id, t->seq + 1, "next");
		if (engine_call_enqueue(call, &next) != 0)
			return engine_fail("INTERNAL");
	}
	return engine_done();
}

static const struct engine_kind aff_kind = {.kind = "aff", .handle = aff_handle};

/* With idle consumers blocked on the stream, a successor still goes to the
 * thread whose handler added it (the ack reads it in the same script), so a
 * run's warm state (a prefetched page) is found by its next step. */
static int case_affinity(void)
{
	struct engine *e = mk_engine("affinity", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct engine_task t = task("aff", 77, 1, "first");

	CHECK(engine_register(e, &aff_kind) == 0, "register");
	start_workers(&r, e, 4, 1, 5000);
	sleep_ms(200); /* every thread is blocked in XREADGROUP */
	CHECK(engine_enqueue(c, &t, NULL) == 0, "enqueue");
	sleep_ms(100);
	CHECK(wait_drained(c, 10000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");
	CHECK(atomic_load(&aff_calls) == AFF_STEPS, "%d calls for %d steps",
	      atomic_load(&aff_calls), AFF_STEPS);
	int moved = 0;
	for (int s = 2; s <= AFF_STEPS; s++)
		moved += !pthread_equal(aff_thread[s], aff_thread[1]);
	CHECK(moved == 0, "%d of %d steps ran on another thread than the first", moved,
	      AFF_STEPS - 1);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- delayed: not before its due time, soon after ------------------------------ */

static atomic_llong delayed_at;

static struct engine_outcome delayed_handle(struct engine_call *call, const struct engine_task *t,
					    void *ctx)
{
	(void)call;
	(void)t;
	(void)ctx;
	atomic_store(&delayed_at, now_ms());
	return engine_done();
}

static const struct engine_kind delayed_kind = {.kind = "later", .handle = delayed_handle};

static int case_delayed(void)
{
	struct engine *e = mk_engine("delayed", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct engine_task t = task("later", 9, 1, "x");
	struct engine_depth d;
	int64_t live = 0;

	CHECK(engine_register(e, &delayed_kind) == 0, "register");
	start_workers(&r, e, 2, 1, 5000);
	sleep_ms(100);
	int64_t t0 = now_ms();
	CHECK(engine_enqueue_delayed(c, &t, 1200) == 0, "enqueue_delayed: %s",
	      engine_conn_error(c));
	CHECK(engine_enqueue_delayed(c, &t, 1200) == 0, "enqueue_delayed twice");
	CHECK(engine_queue_depth(c, &d) == 0 && d.delayed == 1,
	      "delayed = %" PRId64 " (identical task twice)", d.delayed);
	CHECK(engine_run_live(c, 9, &live) == 0 && live == 1, "live = %" PRId64 " while delayed",
	      live);
	sleep_ms(900);
	CHECK(atomic_load(&delayed_at) == 0, "delivered %lld ms after enqueue, due after 1200",
	      (long long)(atomic_load(&delayed_at) - t0));
	CHECK(wait_drained(c, 3000) == 0, "not drained");
	int64_t at = atomic_load(&delayed_at) - t0;
	CHECK(at >= 1190 && at <= 1800, "delivered after %" PRId64 " ms, due after 1200", at);
	CHECK(stop_workers(&r) == 0, "worker rc");
	CHECK(engine_run_live(c, 9, &live) == 0 && live == 0, "live = %" PRId64 " after", live);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- retry policy -------------------------------------------------------------- */

static int64_t rt_seen[4][8]; /* run 1..3: delivery time of attempt n */
static atomic_int rt_calls[4];

static struct engine_outcome rt_handle(struct engine_call *call, const struct engine_task *t,
				       void *ctx)
{
	(void)call;
	(void)ctx;
	if (t->run_id < 1 || t->run_id > 3)
		return engine_fail("INTERNAL");
	atomic_fetch_add(&rt_calls[t->run_id], 1);
	if (t->attempt >= 1 && t->attempt < 8)
		rt_seen[t->run_id][t->attempt] = mono_ms();
	switch (t->run_id) {
	case 1:
		return engine_retry("JIRA_UNAVAILABLE", 0); /* backoff, exhausted */
	case 2:
		return engine_retry("AUTH_EXPIRED", 0); /* never retried */
	default:
		return t->attempt == 1 ? engine_retry("RATE_LIMIT", 1500) : engine_done();
	}
}

static const char *const never[] = {"AUTH_EXPIRED", "FORBIDDEN"};
static const struct engine_kind rt_kind = {
	.kind = "flaky",
	.handle = rt_handle,
	.retry = {.initial_ms = 200,
		  .coefficient = 3.0,
		  .max_ms = 700,
		  .max_attempts = 5,
		  .non_retryable = never,
		  .n_non_retryable = 2},
};

static int case_retry(void)
{
	struct engine *e = mk_engine("retry", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct engine_task ts[3] = {task("flaky", 1, 1, ""), task("flaky", 2, 1, ""),
				    task("flaky", 3, 1, "")};

	engine_on_failed(e, on_failed, NULL);
	CHECK(engine_register(e, &rt_kind) == 0, "register");
	start_workers(&r, e, 3, 1, 5000);
	CHECK(engine_enqueue_many(c, ts, 3) == 0, "enqueue");
	CHECK(wait_drained(c, 10000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");

	/* Non-retryable: one call, failed at once with its code. */
	const struct failure_rec *f2 = failure_of(2);
	CHECK(atomic_load(&rt_calls[2]) == 1, "AUTH_EXPIRED task ran %d times",
	      atomic_load(&rt_calls[2]));
	CHECK(f2 && strcmp(f2->code, "AUTH_EXPIRED") == 0 &&
		      strcmp(f2->reason, "not_retryable") == 0,
	      "run 2 failure: %s/%s", f2 ? f2->code : "none", f2 ? f2->reason : "");

	/* Backoff 200, 600, then capped at 700, 700; failed after 5 attempts. */
	const struct failure_rec *f1 = failure_of(1);
	CHECK(atomic_load(&rt_calls[1]) == 5, "retried task ran %d times, want 5",
	      atomic_load(&rt_calls[1]));
	CHECK(f1 && strcmp(f1->code, "JIRA_UNAVAILABLE") == 0 &&
		      strcmp(f1->reason, "exhausted") == 0,
	      "run 1 failure: %s/%s", f1 ? f1->code : "none", f1 ? f1->reason : "");
	const int64_t want[] = {0, 0, 200, 600, 700, 700};
	for (int a = 2; a <= 5; a++) {
		int64_t gap = rt_seen[1][a] - rt_seen[1][a - 1];
		CHECK(gap >= want[a] - 15 && gap <= want[a] + 350,
		      "gap before attempt %d = %" PRId64 " ms, want about %" PRId64, a, gap,
		      want[a]);
	}

	/* RATE_LIMIT with a minimum delay longer than the backoff: the minimum wins. */
	int64_t gap3 = rt_seen[3][2] - rt_seen[3][1];
	CHECK(atomic_load(&rt_calls[3]) == 2 && failure_of(3) == NULL,
	      "rate-limited task: %d calls", atomic_load(&rt_calls[3]));
	CHECK(gap3 >= 1485 && gap3 <= 2000, "rate-limit gap %" PRId64 " ms, want >= 1500", gap3);

	struct engine_depth d;
	int64_t live = -1;
	CHECK(engine_queue_depth(c, &d) == 0 && d.dead == 2, "dead = %" PRId64 ", want 2", d.dead);
	for (int run = 1; run <= 3; run++)
		CHECK(engine_run_live(c, run, &live) == 0 && live == 0, "live(%d) = %" PRId64, run,
		      live);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- heartbeat keeps a long task from being reclaimed ---------------------------- */

static atomic_int hb_calls[3];

static struct engine_outcome hb_handle(struct engine_call *call, const struct engine_task *t,
				       void *ctx)
{
	(void)ctx;
	int which = t->run_id == 1 ? 1 : 2;
	atomic_fetch_add(&hb_calls[which], 1);
	for (int i = 0; i < 15; i++) {
		sleep_ms(100);
		if (which == 1 && engine_call_heartbeat(call) != 0)
			return engine_retry("INTERNAL", 0);
	}
	return engine_done();
}

static const struct engine_kind hb_kind = {.kind = "long", .handle = hb_handle};

static int case_heartbeat(void)
{
	struct engine *e = mk_engine("heartbeat", 400);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct engine_task ts[2] = {task("long", 1, 1, "heartbeat"), task("long", 2, 1, "silent")};

	CHECK(engine_register(e, &hb_kind) == 0, "register");
	CHECK(engine_enqueue_many(c, ts, 2) == 0, "enqueue");
	start_workers(&r, e, 3, 1, 5000);
	CHECK(wait_drained(c, 10000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");
	CHECK(atomic_load(&hb_calls[1]) == 1, "heartbeating task ran %d times",
	      atomic_load(&hb_calls[1]));
	/* The control: without heartbeats the same task is reclaimed mid-run. */
	CHECK(atomic_load(&hb_calls[2]) >= 2, "silent task ran %d times, expected a reclaim",
	      atomic_load(&hb_calls[2]));
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- leases ---------------------------------------------------------------------- */

static int case_lease(void)
{
	struct engine *e = mk_engine("lease", 5000);
	struct engine_conn *a = mk_conn(e), *b = mk_conn(e);
	int ok = 0;
	bool ha = false, hb = true;

	CHECK(engine_lease_acquire(a, "lease:scheduler", "A", 600, &ha) == 0 && ha, "A acquire");
	CHECK(engine_lease_acquire(b, "lease:scheduler", "B", 600, &hb) == 0 && !hb,
	      "B acquired a held lease");
	for (int i = 0; i < 4; i++) { /* A renews past the ttl: B still cannot take it */
		sleep_ms(250);
		CHECK(engine_lease_renew(a, "lease:scheduler", "A", 600, &ha) == 0 && ha,
		      "A renew %d", i);
		CHECK(engine_lease_acquire(b, "lease:scheduler", "B", 600, &hb) == 0 && !hb,
		      "B took it at %d", i);
	}
	CHECK(engine_lease_renew(b, "lease:scheduler", "B", 600, &hb) == 0 && !hb,
	      "B renewed A's lease");
	CHECK(engine_lease_release(b, "lease:scheduler", "B") == 0, "B release");
	CHECK(engine_lease_renew(a, "lease:scheduler", "A", 600, &ha) == 0 && ha,
	      "B's release removed A's lease");
	/* A stops renewing: B takes over after the ttl, and A knows it lost it. */
	sleep_ms(700);
	CHECK(engine_lease_acquire(b, "lease:scheduler", "B", 600, &hb) == 0 && hb,
	      "B did not take over");
	CHECK(engine_lease_renew(a, "lease:scheduler", "A", 600, &ha) == 0 && !ha,
	      "A still thinks it leads");
	CHECK(engine_lease_release(b, "lease:scheduler", "B") == 0, "release");
	CHECK(engine_lease_acquire(a, "lease:scheduler", "A", 600, &ha) == 0 && ha,
	      "A after release");
	ok = 1;
fail:
	engine_conn_free(a);
	engine_conn_free(b);
	engine_free(e);
	return ok;
}

/* ---- graceful stop: nothing left un-acked ---------------------------------------- */

static atomic_int gs_calls[41];
static atomic_int gs_done;

static struct engine_outcome gs_handle(struct engine_call *call, const struct engine_task *t,
				       void *ctx)
{
	(void)call;
	(void)ctx;
	if (t->seq >= 1 && t->seq <= 40)
		atomic_fetch_add(&gs_calls[t->seq], 1);
	sleep_ms(150);
	atomic_fetch_add(&gs_done, 1);
	return engine_done();
}

static const struct engine_kind gs_kind = {.kind = "work", .handle = gs_handle};

static int case_graceful(void)
{
	struct engine *e = mk_engine("graceful", 60000); /* no reclaim can hide a leak */
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct engine_task ts[40];
	struct engine_depth d;

	CHECK(engine_register(e, &gs_kind) == 0, "register");
	for (int i = 0; i < 40; i++)
		ts[i] = task("work", 100 + i, i + 1, "");
	CHECK(engine_enqueue_many(c, ts, 40) == 0, "enqueue");
	start_workers(&r, e, 3, 5, 5000); /* batches of 5: some read but not started at stop */
	sleep_ms(400);
	int64_t t_stop = mono_ms();
	CHECK(stop_workers(&r) == 0, "worker rc %d", r.rc);
	int64_t took = mono_ms() - t_stop;
	int done = atomic_load(&gs_done);
	CHECK(done > 0 && done < 40, "done %d at stop", done);
	CHECK(engine_queue_depth(c, &d) == 0 && d.pending == 0, "pending after stop = %" PRId64,
	      d.pending);
	CHECK(d.ready == 40 - done, "ready %" PRId64 " + done %d != 40", d.ready, done);
	CHECK(took < 1000, "stop took %" PRId64 " ms", took);

	/* Another worker finishes the rest; nothing ran twice. */
	start_workers(&r, e, 3, 5, 5000);
	CHECK(wait_drained(c, 10000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");
	for (int i = 1; i <= 40; i++)
		CHECK(atomic_load(&gs_calls[i]) == 1, "task %d ran %d times", i,
		      atomic_load(&gs_calls[i]));
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- unknown kinds and FAIL go to the dead-letter stream ----------------------------- */

static struct engine_outcome fail_handle(struct engine_call *call, const struct engine_task *t,
					 void *ctx)
{
	(void)call;
	(void)t;
	(void)ctx;
	return engine_fail("SCHEMA_CHANGE");
}

static const struct engine_kind fail_kind = {.kind = "broken", .handle = fail_handle};

struct dead_seen {
	int n;
	char codes[4][64];
	char reasons[4][32];
	int64_t runs[4];
};

static void dead_cb(const struct engine_task *t, const char *code, const char *reason, void *user)
{
	struct dead_seen *s = user;
	if (s->n < 4) {
		snprintf(s->codes[s->n], 64, "%s", code);
		snprintf(s->reasons[s->n], 32, "%s", reason);
		s->runs[s->n] = t->run_id;
		s->n++;
	}
}

static int case_dead(void)
{
	struct engine *e = mk_engine("dead", 5000);
	struct engine_conn *c = mk_conn(e);
	struct runner r = {0};
	int ok = 0;
	struct dead_seen s = {0};
	struct engine_task ts[2] = {task("broken", 501, 3, "p"), task("no-such-kind", 502, 1, "p")};

	engine_on_failed(e, on_failed, NULL);
	CHECK(engine_register(e, &fail_kind) == 0, "register");
	CHECK(engine_enqueue(c, &ts[0], NULL) == 0 && engine_enqueue(c, &ts[1], NULL) == 0,
	      "enqueue");
	start_workers(&r, e, 1, 1, 5000);
	CHECK(wait_drained(c, 5000) == 0, "not drained");
	CHECK(stop_workers(&r) == 0, "worker rc");
	CHECK(engine_dead_list(c, 10, dead_cb, &s) == 0 && s.n == 2, "dead entries %d", s.n);
	CHECK(s.runs[0] == 501 && strcmp(s.codes[0], "SCHEMA_CHANGE") == 0 &&
		      strcmp(s.reasons[0], "failed") == 0,
	      "dead[0] %" PRId64 " %s %s", s.runs[0], s.codes[0], s.reasons[0]);
	CHECK(s.runs[1] == 502 && strcmp(s.reasons[1], "unknown_kind") == 0, "dead[1] %s",
	      s.reasons[1]);
	const struct failure_rec *f = failure_of(501);
	CHECK(f && strcmp(f->code, "SCHEMA_CHANGE") == 0, "callback for 501");
	int64_t live = -1;
	CHECK(engine_run_live(c, 501, &live) == 0 && live == 0, "live(501) = %" PRId64, live);
	ok = 1;
fail:
	if (r.running)
		(void)stop_workers(&r);
	engine_conn_free(c);
	engine_free(e);
	return ok;
}

/* ---- main ------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
	{"happy_exactly_once", case_happy},        {"chain_live_tracking", case_chain},
	{"delayed_due_time", case_delayed},        {"retry_policy", case_retry},
	{"heartbeat_keeps_claim", case_heartbeat}, {"lease_takeover", case_lease},
	{"graceful_stop", case_graceful},          {"dead_letter", case_dead},
	{"chain_affinity", case_affinity},
};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	redis_url = getenv("REDIS_URL");
	if (!redis_url) {
		fprintf(stderr, "engine_suite: REDIS_URL is not set\n");
		return 2;
	}
	log_set_level(LOG_ERROR);
	for (size_t i = 0; i < JS_ARRAY_LEN(cases); i++) {
		bool selected = argc < 2;
		for (int a = 1; a < argc; a++)
			selected |= strcmp(argv[a], cases[i].name) == 0;
		if (!selected)
			continue;
		why[0] = '\0';
		int64_t t0 = mono_ms();
		if (cases[i].fn()) {
			printf("ok - %s (%" PRId64 " ms)\n", cases[i].name, mono_ms() - t0);
			passed++;
		} else {
			printf("not ok - %s: %s\n", cases[i].name, why);
			failed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
