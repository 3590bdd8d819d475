/*
 * engine_proc: a worker process and small Redis probes for the engine tests
 * that need separate processes (kill -9, poison tasks, Redis restarts,
 * SIGTERM). Driven by tests/integration/engine_procs.sh. Every handler
 * appends one line per event to the log file (O_APPEND, one write per line),
 * which the script reads to assert what happened.
 *
 *   engine_proc enqueue PREFIX KIND RUN SEQ [N] [PAYLOAD]   (N tasks, seq SEQ..SEQ+N-1)
 *   engine_proc work PREFIX LOG [--threads N] [--visibility MS] [--max-deliveries N]
 *                               [--grace MS] [--exit-when-idle]
 *   engine_proc depth PREFIX        prints "ready R pending P delayed D dead X"
 *   engine_proc live PREFIX RUN     prints the live count of RUN
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common/common.h"
#include "engine/engine.h"

static atomic_int stop_flag;
static int log_fd = -1;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void event(const char *what, const struct engine_task *t, const char *extra)
{
	char line[256];
	int n = snprintf(line, sizeof line, "%s %" PRId64 " %d %d %ld %ld %s\n", what, t->run_id,
			 t->seq, t->attempt, t->deliveries, (long)getpid(), extra ? extra : "-");
	if (log_fd >= 0 && n > 0)
		(void)!write(log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* "sleep": sleeps the payload's milliseconds, heartbeating, then done. */
static struct engine_outcome sleep_handle(struct engine_call *call, const struct engine_task *t,
					  void *ctx)
{
	(void)ctx;
	long ms = 0;
	if (parse_int_range(t->payload, 0, 600000, &ms) != 0)
		return engine_fail("INTERNAL");
	event("start", t, NULL);
	for (long slept = 0; slept < ms; slept += 50) {
		sleep_ms(50);
		if (slept % 200 == 0 && engine_call_heartbeat(call) != 0)
			break;
	}
	event("done", t, NULL);
	return engine_done();
}

/* "crash": takes the whole process down, like a segfault in a parser would. */
static struct engine_outcome crash_handle(struct engine_call *call, const struct engine_task *t,
					  void *ctx)
{
	(void)call;
	(void)ctx;
	event("start", t, NULL);
	raise(SIGKILL);
	return engine_done();
}

static const struct engine_kind kinds[] = {
	{.kind = "sleep", .handle = sleep_handle},
	{.kind = "crash", .handle = crash_handle},
};

static void on_failed(const struct engine_failure *f, void *ctx, void *user)
{
	(void)ctx;
	(void)user;
	char extra[128];
	snprintf(extra, sizeof extra, "%s/%s", f->code, engine_fail_reason_name(f->reason));
	event("failed", f->task, extra);
}

static struct engine *mk(const char *prefix, int64_t visibility, int max_deliveries)
{
	char err[256];
	struct engine_options o = {
		.redis_url = getenv("REDIS_URL"),
		.prefix = prefix,
		.visibility_ms = visibility,
		.max_deliveries = max_deliveries,
		.block_ms = 100,
		.promote_interval_ms = 100,
		.command_timeout_ms = 2000,
	};
	struct engine *e = engine_new(&o, err, sizeof err);
	if (!e) {
		fprintf(stderr, "engine_proc: %s\n", err);
		exit(2);
	}
	return e;
}

static struct engine_conn *conn(struct engine *e)
{
	char err[256];
	struct engine_conn *c = engine_connect(e, err, sizeof err);
	if (!c) {
		fprintf(stderr, "engine_proc: %s\n", err);
		exit(2);
	}
	return c;
}

static long num(const char *s)
{
	long v = 0;
	if (parse_int_range(s, 0, INT32_MAX, &v) != 0) {
		fprintf(stderr, "engine_proc: bad number '%s'\n", s);
		exit(64);
	}
	return v;
}

static void *idle_watch(void *arg)
{
	struct engine *e = arg;
	struct engine_conn *c = NULL;
	struct engine_depth d;
	int quiet = 0;
	while (!atomic_load(&stop_flag)) {
		sleep_ms(100);
		if (!c) {
			char err[256];
			c = engine_connect(e, err, sizeof err);
			if (!c)
				continue;
		}
		if (engine_queue_depth(c, &d) != 0) {
			engine_conn_free(c);
			c = NULL;
			quiet = 0;
			continue;
		}
		quiet = d.ready + d.pending + d.delayed == 0 ? quiet + 1 : 0;
		if (quiet >= 3)
			atomic_store(&stop_flag, 1);
	}
	engine_conn_free(c);
	return NULL;
}

static int cmd_work(int argc, char **argv)
{
	int threads = 2, max_deliveries = 3;
	int64_t visibility = 1000, grace = 5000;
	bool exit_when_idle = false;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (int)num(argv[++i]);
		else if (strcmp(argv[i], "--visibility") == 0 && i + 1 < argc)
			visibility = num(argv[++i]);
		else if (strcmp(argv[i], "--max-deliveries") == 0 && i + 1 < argc)
			max_deliveries = (int)num(argv[++i]);
		else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc)
			grace = num(argv[++i]);
		else if (strcmp(argv[i], "--exit-when-idle") == 0)
			exit_when_idle = true;
		else
			return 64;
	}
	log_fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (log_fd < 0)
		return 2;
	struct engine *e = mk(argv[2], visibility, max_deliveries);
	for (size_t i = 0; i < JS_ARRAY_LEN(kinds); i++)
		if (engine_register(e, &kinds[i]) != 0)
			return 2;
	engine_on_failed(e, on_failed, NULL);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	pthread_t watch;
	if (exit_when_idle && pthread_create(&watch, NULL, idle_watch, e) != 0)
		return 2;
	struct engine_worker_options o = {
		.n_threads = threads, .stop = &stop_flag, .grace_ms = grace};
	int rc = engine_worker_run(e, &o);
	if (rc == ENGINE_EGRACE) {
		/* Handlers still run in detached threads: leave without tearing down. */
		fprintf(stderr, "engine_proc: grace period over\n");
		_exit(3);
	}
	if (exit_when_idle)
		pthread_join(watch, NULL);
	engine_free(e);
	close(log_fd);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (!getenv("REDIS_URL") || argc < 3) {
		fprintf(stderr,
			"usage: REDIS_URL=... engine_proc enqueue|work|depth|live PREFIX ...\n");
		return 64;
	}
	if (strcmp(argv[1], "work") == 0 && argc >= 4)
		return cmd_work(argc, argv);
	log_set_level(LOG_WARN);
	struct engine *e = mk(argv[2], 1000, 3);
	struct engine_conn *c = conn(e);
	int rc = 0;
	if (strcmp(argv[1], "enqueue") == 0 && argc >= 6) {
		long n = argc >= 7 ? num(argv[6]) : 1;
		const char *payload = argc >= 8 ? argv[7] : "";
		for (long i = 0; i < n && rc == 0; i++) {
			struct engine_task t = {.kind = argv[3],
						.run_id = num(argv[4]),
						.seq = (int)(num(argv[5]) + i),
						.attempt = 1,
						.payload = payload,
						.payload_len = strlen(payload)};
			rc = engine_enqueue(c, &t, NULL);
		}
	} else if (strcmp(argv[1], "depth") == 0) {
		struct engine_depth d;
		rc = engine_queue_depth(c, &d);
		if (rc == 0)
			printf("ready %" PRId64 " pending %" PRId64 " delayed %" PRId64
			       " dead %" PRId64 "\n",
			       d.ready, d.pending, d.delayed, d.dead);
	} else if (strcmp(argv[1], "live") == 0 && argc >= 4) {
		int64_t n = 0;
		rc = engine_run_live(c, num(argv[3]), &n);
		if (rc == 0)
			printf("%" PRId64 "\n", n);
	} else {
		rc = 64;
	}
	if (rc && rc != 64)
		fprintf(stderr, "engine_proc: %s\n", engine_conn_error(c));
	engine_conn_free(c);
	engine_free(e);
	return rc == 0 ? 0 : (rc == 64 ? 64 : 1);
}
