/*
 * The worker service (`jirasync worker`, and the worker half of `jirasync
 * run`): engine consumers whose one task kind, "sync.step" (run_id, seq),
 * runs one checkpointed step of a run with worker_run_step. A task's seq is
 * the run's step_seq it expects; the step commits its writes with the move
 * to seq + 1, and the successor task is added atomically with the ack.
 *
 * Each engine thread owns a context: its libcurl client, its PostgreSQL
 * connection (re-established with backoff when the server goes away), a
 * Redis connection for probes (engine_run_live), and a heartbeat helper that
 * keeps the task's claim while a long step blocks in Jira or PostgreSQL.
 */
#include "worker/worker.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "store/store.h"

#define STEP_KIND "sync.step"

/* Codes the engine never retries, whatever a handler says. */
static const char *const never_retried[] = {"AUTH_EXPIRED", "FORBIDDEN",     "SUSPENDED_PAYMENT",
					    "NOT_FOUND",    "INVALID_QUERY", "API_REMOVED",
					    "CONFIG_ERROR", "SCHEMA_CHANGE"};

/*
 * Prefetch carriers. A run's steps are tasks that any thread may take, but
 * the page (or overflow sets) a step starts fetching for its successor lives
 * in a helper client and its prefetch state. A carrier holds those two for
 * one run and moves from thread to thread with the run's steps, so within
 * this process the next step finds what the previous one fetched, as in the
 * foreground sync. When another process takes the steps in between (several
 * workers share a run), a prefetch may go unused: a carrier whose run skips
 * steps here more often than not stops prefetching for it, which bounds the
 * extra requests.
 */
struct carrier {
	int64_t run_id; /* 0: free */
	bool busy;      /* a thread is running one of the run's steps */
	int64_t last_seq, steps, gaps;
	int64_t used_mono;
	struct jira_client *jira;
	struct worker_prefetch *pf;
};

struct carriers {
	pthread_mutex_t mu;
	struct carrier *v;
	int n;
};

/* The run's carrier, or a free (else the least recently used idle) one for
 * it; NULL when every carrier is busy. */
static struct carrier *carrier_take(struct carriers *cs, int64_t run_id, int seq)
{
	if (!cs || cs->n == 0)
		return NULL;
	pthread_mutex_lock(&cs->mu);
	struct carrier *c = NULL, *lru = NULL;
	for (int i = 0; i < cs->n; i++) {
		struct carrier *x = &cs->v[i];
		if (x->busy)
			continue;
		if (x->run_id == run_id) {
			c = x;
			break;
		}
		/* a free carrier first, else the least recently used */
		if (!lru || (lru->run_id != 0 && (x->run_id == 0 || x->used_mono < lru->used_mono)))
			lru = x;
	}
	if (!c && lru) {
		c = lru;
		worker_prefetch_free(c->pf);
		c->pf = NULL;
		c->run_id = run_id;
		c->last_seq = seq - 1;
		c->steps = c->gaps = 0;
	}
	if (c) {
		c->busy = true;
		c->steps++;
		if (seq != c->last_seq + 1)
			c->gaps++;
		c->last_seq = seq;
	}
	pthread_mutex_unlock(&cs->mu);
	return c;
}

/* Whether this process runs enough of the run's consecutive steps for a
 * prefetch to be worth its request. */
static bool carrier_prefetches(const struct carrier *c)
{
	return c->steps < 4 || c->gaps * 2 < c->steps;
}

static void carrier_put(struct carriers *cs, struct carrier *c, bool run_over)
{
	pthread_mutex_lock(&cs->mu);
	if (run_over) {
		worker_prefetch_free(c->pf);
		c->pf = NULL;
		c->run_id = 0;
	}
	c->used_mono = mono_ms();
	c->busy = false;
	pthread_mutex_unlock(&cs->mu);
}

struct wctx {
	struct carriers *carriers;
	const struct config *cfg;
	struct engine *eng;
	PGconn *db;
	struct jira_client *jira;
	struct worker_sync ws;
	struct engine_conn *probe;  /* for engine_run_live; opened on demand */
	struct jira_error last_err; /* of the last failed step, for on_failed */
	int64_t last_err_run;
	/* The heartbeat helper: while armed, it calls engine_call_heartbeat
	 * every hb_every_ms. The handler thread does not touch Redis while
	 * armed, and disarming takes the mutex, so the two never overlap. */
	pthread_t hb_tid;
	bool hb_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct engine_call *hb_call;
	int64_t hb_every_ms;
	bool hb_quit;
};

struct worker_service {
	const struct config *cfg;
	struct engine *eng;
	atomic_int *stop;
	struct carriers carriers;
	int n;
	struct wctx *ctx;
	void **ctx_ptrs;
	pthread_t tid;
	int rc;
};

/* ---- heartbeat helper ---------------------------------------------------------- */

static void *hb_main(void *arg)
{
	struct wctx *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->hb_quit) {
		if (!w->hb_call) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (w->hb_every_ms % 1000) * 1000000;
		ts.tv_sec += (time_t)(w->hb_every_ms / 1000 + ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		struct engine_call *armed = w->hb_call;
		int rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		if (rc != 0 && w->hb_call == armed && armed && !w->hb_quit &&
		    engine_call_heartbeat(armed) != 0)
			log_warn("heartbeat failed: the task may be taken over");
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void hb_arm(struct wctx *w, struct engine_call *call)
{
	pthread_mutex_lock(&w->mu);
	w->hb_call = call;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void hb_disarm(struct wctx *w)
{
	pthread_mutex_lock(&w->mu);
	w->hb_call = NULL;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- connections ------------------------------------------------------------ */

/* Make sure the PostgreSQL connection is up, retrying with backoff for up
 * to about 30 s (the claim is kept by the heartbeat meanwhile). */
static bool ensure_db(struct wctx *w, struct engine_call *call)
{
	int64_t backoff = 100, waited = 0;
	while (PQstatus(w->db) != CONNECTION_OK) {
		PQreset(w->db);
		if (PQstatus(w->db) == CONNECTION_OK) {
			log_info("reconnected to postgresql");
			break;
		}
		if (waited >= 30000 || (call && engine_call_stopping(call)))
			return false;
		sleep_ms(backoff);
		waited += backoff;
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
	return true;
}

static struct engine_conn *probe_conn(struct wctx *w)
{
	char e[256];
	if (!w->probe) {
		w->probe = engine_connect(w->eng, e, sizeof e);
		if (!w->probe)
			log_warn("cannot reach redis", "error", e);
	}
	return w->probe;
}

/* ---- the step handler ---------------------------------------------------------- */

/*
 * A stale task: the run moved past seq (another delivery of this step did
 * it, or a duplicate was enqueued) or ended. Acknowledge it; and only when
 * the run is RUNNING and Redis holds no other task of it (the live count is
 * this very task) put the run's current step back, atomically with this ack.
 * Two deliveries of one entry share that entry's ack, so at most one of them
 * adds a successor: a stale duplicate cannot start a second chain.
 */
static struct engine_outcome handle_stale(struct wctx *w, struct engine_call *call,
					  const struct engine_task *t)
{
	char e[STORE_ERRLEN];
	struct store_run run;
	if (store_run_load(w->db, t->run_id, &run, e, sizeof e) < 0) {
		if (store_conn_lost(w->db))
			return engine_retry("DB_UNAVAILABLE", 500);
		return engine_done(); /* the run is gone (project deleted) */
	}
	struct engine_outcome o = engine_done();
	if (strcmp(run.status, "RUNNING") != 0)
		goto out;
	struct engine_conn *pc = probe_conn(w);
	int64_t live = 0;
	if (!pc || engine_run_live(pc, t->run_id, &live) < 0) {
		engine_conn_free(w->probe);
		w->probe = NULL;
		o = engine_retry("QUEUE_UNAVAILABLE", 500);
		goto out;
	}
	if (live <= 1) {
		struct engine_task next = {
			.kind = STEP_KIND, .run_id = t->run_id, .seq = run.step_seq, .attempt = 1};
		if (engine_call_enqueue(call, &next) < 0)
			o = engine_retry("INTERNAL", 0);
	}
out:
	store_run_release(&run);
	return o;
}

static struct engine_outcome step_handle(struct engine_call *call, const struct engine_task *t,
					 void *ctx)
{
	struct wctx *w = ctx;
	if (t->run_id <= 0 || t->seq < 0)
		return engine_fail("INTERNAL");
	struct jira_error err;
	memset(&err, 0, sizeof err);
	hb_arm(w, call);
	bool db_ok = ensure_db(w, call);
	enum worker_step_result r = WORKER_STEP_FAILED;
	if (db_ok) {
		struct carrier *c = carrier_take(w->carriers, t->run_id, t->seq);
		if (c) {
			w->ws.pf = c->pf;
			w->ws.prefetch_jira = carrier_prefetches(c) ? c->jira : NULL;
		}
		r = worker_run_step(&w->ws, t->run_id, t->seq, &err);
		if (c) {
			c->pf = w->ws.pf;
			w->ws.pf = NULL;
			w->ws.prefetch_jira = NULL;
			carrier_put(w->carriers, c, r != WORKER_STEP_MORE);
		}
	}
	hb_disarm(w);
	if (!db_ok)
		return engine_retry("DB_UNAVAILABLE", 1000);

	switch (r) {
	case WORKER_STEP_MORE: {
		struct engine_task next = {
			.kind = STEP_KIND, .run_id = t->run_id, .seq = t->seq + 1, .attempt = 1};
		if (engine_call_enqueue(call, &next) < 0)
			return engine_retry("INTERNAL", 0);
		return engine_done();
	}
	case WORKER_STEP_DONE:
		return engine_done();
	case WORKER_STEP_STALE:
		return handle_stale(w, call, t);
	case WORKER_STEP_FAILED:
		break;
	}
	w->last_err = err;
	w->last_err_run = t->run_id;
	const char *code = jira_code_name(err.code);
	char rid[24], sq[24];
	log_warn("step failed", "#run", fmt_i64(rid, t->run_id), "#seq", fmt_i64(sq, t->seq),
		 "code", code, "error", err.message);
	if (err.code == JIRA_DB_UNAVAILABLE) {
		PQreset(w->db); /* best effort now; ensure_db retries before the next step */
		if (PQstatus(w->db) == CONNECTION_OK)
			log_info("reconnected to postgresql");
	}
	if (err.retryable || jira_code_retryable(err.code))
		return engine_retry(code, err.retry_after_ms);
	return engine_fail(code);
}

/* The engine gave up on a task (FAIL, not retryable, attempts exhausted,
 * poison): the run fails with the code. */
static void on_failed(const struct engine_failure *f, void *thread_ctx, void *user)
{
	(void)user;
	struct wctx *w = thread_ctx;
	if (!w || f->task->run_id <= 0)
		return;
	struct jira_error err;
	memset(&err, 0, sizeof err);
	enum jira_code code;
	if (jira_code_from_name(f->code ? f->code : "INTERNAL", &code) < 0)
		code = JIRA_INTERNAL;
	if (w->last_err_run == f->task->run_id && w->last_err.code == code)
		err = w->last_err;
	else
		jira_error_set(&err, code, "step %d of run %" PRId64 " failed: %s", f->task->seq,
			       f->task->run_id, engine_fail_reason_name(f->reason));
	if (!ensure_db(w, NULL) || worker_run_fail(&w->ws, f->task->run_id, &err) < 0)
		log_error("cannot record the run's failure; the reconciler will retry it");
}

static const struct engine_kind step_kind = {
	.kind = STEP_KIND,
	.handle = step_handle,
	.retry = {.initial_ms = 1000,
		  .coefficient = 2.0,
		  .max_ms = 30000,
		  .max_attempts = 8,
		  .non_retryable = never_retried,
		  .n_non_retryable = JS_ARRAY_LEN(never_retried)},
};

/* ---- the service ------------------------------------------------------------- */

static void ctx_release(struct wctx *w)
{
	if (w->hb_started) {
		pthread_mutex_lock(&w->mu);
		w->hb_quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->hb_tid, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	worker_sync_release(&w->ws);
	engine_conn_free(w->probe);
	jira_client_free(w->jira);
	PQfinish(w->db);
}

static void service_free(struct worker_service *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		ctx_release(&s->ctx[i]);
	for (int i = 0; i < s->carriers.n; i++) {
		worker_prefetch_free(s->carriers.v[i].pf);
		jira_client_free(s->carriers.v[i].jira);
	}
	free(s->carriers.v);
	pthread_mutex_destroy(&s->carriers.mu);
	free(s->ctx);
	free(s->ctx_ptrs);
	engine_free(s->eng);
	free(s);
}

static void *service_main(void *arg)
{
	struct worker_service *s = arg;
	struct engine_worker_options wo = {.n_threads = s->n,
					   .thread_ctx = s->ctx_ptrs,
					   .stop = s->stop,
					   .grace_ms = s->cfg->worker_grace_ms};
	s->rc = engine_worker_run(s->eng, &wo);
	return NULL;
}

int worker_service_start(const struct config *cfg, atomic_int *stop, void **handle, char *err,
			 size_t errlen)
{
	struct worker_service *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->carriers.mu, NULL);
	s->cfg = cfg;
	s->stop = stop;
	s->n = (int)(cfg->worker_concurrency > 0 ? cfg->worker_concurrency : 4);
	struct engine_options eo = {
		.redis_url = cfg->redis_url,
		.visibility_ms = cfg->engine_visibility_ms,
		.max_deliveries = (int)cfg->engine_max_deliveries,
	};
	s->eng = engine_new(&eo, err, errlen);
	if (!s->eng)
		goto fail;
	if (engine_register(s->eng, &step_kind) < 0) {
		snprintf(err, errlen, "cannot register the task kind");
		goto fail;
	}
	engine_on_failed(s->eng, on_failed, s);
	s->ctx = xcalloc((size_t)s->n, sizeof *s->ctx);
	s->ctx_ptrs = xcalloc((size_t)s->n, sizeof *s->ctx_ptrs);
	struct jira_opts jo = {
		.base_url = cfg->jira_base_url,
		.email = cfg->jira_email,
		.api_token = cfg->jira_api_token,
		.pat = cfg->jira_pat,
		.flavour = cfg->jira_flavour,
		.timeout_s = cfg->http_timeout_s,
		.connect_timeout_s = cfg->http_connect_timeout_s,
		.max_attempts = cfg->http_max_attempts,
		.page_size = cfg->page_size,
		.parallel = cfg->http_parallel,
	};
	int64_t hb = eo.visibility_ms / 3;
	/* As many carriers as threads: every run in progress here can prefetch. */
	s->carriers.v = xcalloc((size_t)s->n, sizeof *s->carriers.v);
	s->carriers.n = s->n;
	for (int i = 0; i < s->n; i++)
		s->carriers.v[i].jira = jira_client_new(&jo);
	for (int i = 0; i < s->n; i++) {
		struct wctx *w = &s->ctx[i];
		w->carriers = &s->carriers;
		w->cfg = cfg;
		w->eng = s->eng;
		w->hb_every_ms = hb < 50 ? 50 : hb;
		/* Each thread keeps its own connection; one that fails now is
		 * retried before the thread's first step. */
		w->db = pg_connect(cfg->database_url, err, errlen);
		if (!w->db) {
			s->n = i;
			goto fail;
		}
		w->jira = jira_client_new(&jo);
		worker_sync_init(&w->ws, w->db, w->jira, cfg);
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->hb_tid, NULL, hb_main, w) != 0) {
			snprintf(err, errlen, "cannot start a heartbeat thread");
			s->n = i + 1;
			goto fail;
		}
		w->hb_started = true;
		s->ctx_ptrs[i] = w;
	}
	if (pthread_create(&s->tid, NULL, service_main, s) != 0) {
		snprintf(err, errlen, "cannot start the worker");
		goto fail;
	}
	char n[24];
	log_info("worker started", "#concurrency", fmt_i64(n, s->n));
	*handle = s;
	return 0;
fail:
	service_free(s);
	return -1;
}

int worker_service_wait(void *handle)
{
	struct worker_service *s = handle;
	if (!s)
		return 0;
	pthread_join(s->tid, NULL);
	int rc = s->rc;
	if (rc == ENGINE_EGRACE) {
		/* Handlers still run detached: their tasks stay pending and are
		 * reclaimed elsewhere. Leave everything allocated; exit soon. */
		log_warn("worker stopped with steps still running; they will be reclaimed");
		return -1;
	}
	service_free(s);
	log_info("worker stopped");
	return rc == 0 ? 0 : -1;
}

static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

int worker_service_cli(int argc, char **argv)
{
	static const char usage[] =
		"usage: jirasync worker [--concurrency N]\n"
		"  Run sync steps from the Redis queue with N threads (WORKER_CONCURRENCY,\n"
		"  default 4), each with its own Jira, PostgreSQL and Redis connections.\n"
		"  On SIGTERM or SIGINT it takes no new task, lets the running steps finish\n"
		"  (WORKER_GRACE_MS, default 30000) and exits 0.\n"
		"Needs DATABASE_URL, REDIS_URL and the Jira settings (see README.md).\n";
	const char *concurrency = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--concurrency") && i + 1 < argc) {
			concurrency = argv[++i];
		} else {
			fprintf(stderr, "jirasync worker: unexpected argument '%s'\n%s", argv[i],
				usage);
			return EXIT_USAGE;
		}
	}
	struct config cfg;
	char e[512];
	if (config_load(&cfg, JS_NEED_DB | JS_NEED_REDIS | JS_NEED_JIRA, e, sizeof e) < 0 ||
	    (concurrency && config_set(&cfg, "WORKER_CONCURRENCY", concurrency, e, sizeof e) < 0)) {
		fprintf(stderr, "jirasync: %s\n", e);
		config_release(&cfg);
		return EXIT_CONFIG;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	void *h = NULL;
	int code = EXIT_OK;
	if (worker_service_start(&cfg, &stop_flag, &h, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync worker: %s\n", e);
		config_release(&cfg);
		return EXIT_UNAVAILABLE;
	}
	int rc = worker_service_wait(h);
	if (rc != 0) {
		/* Steps outlived the grace period: exit without freeing what
		 * their threads still use. */
		fflush(NULL);
		_exit(EXIT_SOFTWARE);
	}
	config_release(&cfg);
	return code;
}
