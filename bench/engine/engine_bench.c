/*
 * engine_bench: no-op tasks per second through the engine, the same shape as
 * bullmq_bench.mjs: enqueue N tasks (pipelined, in chunks), then consume them
 * with C threads (enqueue -> deliver -> ack, at-least-once), and report the
 * time of each phase. Prints one line "engine n=N c=C batch=B enqueue_ms=..
 * process_ms=.. process_per_s=.. total_per_s=..". Never asserts a timing.
 *
 *   REDIS_URL=... engine_bench N CONCURRENCY [READ_BATCH]
 */
#include <pthread.h>
#include <unistd.h>

#include "common/common.h"
#include "engine/engine.h"

static atomic_int handled;
static atomic_int stop_flag;
static int target;

static struct engine_outcome noop(struct engine_call *call, const struct engine_task *t, void *ctx)
{
	(void)call;
	(void)t;
	(void)ctx;
	atomic_fetch_add(&handled, 1);
	return engine_done();
}

static const struct engine_kind noop_kind = {.kind = "noop", .handle = noop};

struct run_arg {
	struct engine *e;
	struct engine_worker_options o;
	int rc;
};

static void *run_main(void *p)
{
	struct run_arg *a = p;
	a->rc = engine_worker_run(a->e, &a->o);
	return NULL;
}

static long arg_num(const char *s, long min, long max)
{
	long v;
	if (parse_int_range(s, min, max, &v) != 0) {
		fprintf(stderr, "engine_bench: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *url = getenv("REDIS_URL");
	if (!url || argc < 3) {
		fprintf(stderr, "usage: REDIS_URL=... engine_bench N CONCURRENCY [READ_BATCH]\n");
		return 64;
	}
	target = (int)arg_num(argv[1], 1, 10000000);
	int conc = (int)arg_num(argv[2], 1, 256);
	int batch = argc > 3 ? (int)arg_num(argv[3], 1, 1000) : 1;
	char prefix[64], err[256];
	snprintf(prefix, sizeof prefix, "{bench-%ld}", (long)getpid());
	log_set_level(LOG_WARN);

	struct engine_options eo = {.redis_url = url, .prefix = prefix, .visibility_ms = 30000};
	struct engine *e = engine_new(&eo, err, sizeof err);
	if (!e || engine_register(e, &noop_kind) != 0) {
		fprintf(stderr, "engine_bench: %s\n", err);
		return 1;
	}
	struct engine_conn *c = engine_connect(e, err, sizeof err);
	if (!c) {
		fprintf(stderr, "engine_bench: %s\n", err);
		return 1;
	}

	/* Enqueue in chunks of 1000, one pipeline each (as BullMQ's addBulk). */
	enum { CHUNK = 1000 };
	struct engine_task *ts = xcalloc(CHUNK, sizeof *ts);
	int64_t t0 = mono_ms();
	for (int done = 0; done < target;) {
		int n = target - done < CHUNK ? target - done : CHUNK;
		for (int i = 0; i < n; i++) {
			ts[i].kind = "noop";
			ts[i].run_id = (done + i) / 10 + 1;
			ts[i].seq = (done + i) % 10 + 1;
			ts[i].attempt = 1;
			ts[i].payload = "{}";
			ts[i].payload_len = 2;
		}
		if (engine_enqueue_many(c, ts, (size_t)n) != 0) {
			fprintf(stderr, "engine_bench: %s\n", engine_conn_error(c));
			return 1;
		}
		done += n;
	}
	int64_t t1 = mono_ms();

	struct run_arg ra = {.e = e,
			     .o = {.n_threads = conc, .stop = &stop_flag, .read_batch = batch}};
	pthread_t tid;
	if (pthread_create(&tid, NULL, run_main, &ra) != 0)
		return 1;
	/* Done when every task was handled and acknowledged (nothing pending). */
	struct engine_depth d = {0};
	for (;;) {
		if (atomic_load(&handled) >= target && engine_queue_depth(c, &d) == 0 &&
		    d.ready == 0 && d.pending == 0)
			break;
		usleep(500);
	}
	int64_t t2 = mono_ms();
	atomic_store(&stop_flag, 1);
	pthread_join(tid, NULL);

	double enq_ms = (double)(t1 - t0), proc_ms = (double)(t2 - t1);
	printf("engine n=%d c=%d batch=%d enqueue_ms=%.0f process_ms=%.0f process_per_s=%.0f "
	       "total_per_s=%.0f handled=%d\n",
	       target, conc, batch, enq_ms, proc_ms, target / (proc_ms / 1000.0),
	       target / ((enq_ms + proc_ms) / 1000.0), atomic_load(&handled));
	free(ts);
	engine_conn_free(c);
	engine_free(e);
	return ra.rc == 0 ? 0 : 1;
}
