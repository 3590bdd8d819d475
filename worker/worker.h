/*
 * worker: the sync activities. A run is a sequence of bounded steps; each
 * step reads the run's checkpoint, does one unit of work against Jira,
 * and commits its writes together with the next checkpoint. The foreground
 * `jirasync sync` loops over steps; the engine runs one step per task.
 */
#ifndef JS_WORKER_H
#define JS_WORKER_H

#include <stdatomic.h>

#include "common/conn.h"
#include "jira/jira.h"

struct worker_progress {
	const char *phase;
	int64_t pages;
	int64_t issues;
	int64_t estimate; /* approximate issue count of the run; -1 unknown */
	int64_t elapsed_ms;
};

struct worker_prefetch; /* private to worker/sync.c */

struct worker_sync {
	PGconn *db;
	struct jira_client *jira;
	const struct config *cfg;
	struct batch batch;
	void (*progress)(void *ud, const struct worker_progress *p);
	void *progress_ud;
	int64_t started_mono;
	int64_t pages, issues, estimate;
	/*
	 * Optional second client (the caller owns it): while a search page or
	 * an overflow step is written, the next one is fetched with it on a
	 * helper thread, into pf (created on demand). The next step uses it
	 * when it asks for exactly what was fetched. A caller that spreads a
	 * run's steps over several worker_syncs moves prefetch_jira and pf
	 * with the run (see worker/service.c); a prefetch another process
	 * fetches again is a wasted request.
	 */
	struct jira_client *prefetch_jira;
	struct worker_prefetch *pf;
	bool stats_known; /* store_ensure_stats answered 1 */
};

/* Wait for a prefetch in flight and free it. NULL ok. */
void worker_prefetch_free(struct worker_prefetch *pf);

struct worker_run_opts {
	bool full;                      /* force a full sync */
	const char *trigger;            /* schedule|manual|backfill */
	int64_t slot_ms;                /* schedule slot or JS_TIME_NULL */
	const char *const *account_ids; /* backfill these accounts */
	size_t n_account_ids;
};

enum worker_step_result {
	WORKER_STEP_MORE = 0, /* committed; call again */
	WORKER_STEP_DONE,     /* the run finished successfully */
	WORKER_STEP_STALE,    /* the run moved on (another delivery) or ended */
	WORKER_STEP_FAILED,   /* *err says why; nothing of this step committed */
};

void worker_sync_init(struct worker_sync *w, PGconn *db, struct jira_client *jira,
		      const struct config *cfg);
void worker_sync_release(struct worker_sync *w);

/*
 * Start a run of the project, or find its unfinished one (*resumed = true).
 * Returns 0, or -1 with err (unknown project: NOT_FOUND, CONFIG_ERROR;
 * database: DB_UNAVAILABLE). 1 when another run is active and a new one was
 * asked for with options that differ (a backfill while a run is active).
 */
int worker_run_begin(struct worker_sync *w, const char *project_key,
		     const struct worker_run_opts *opts, int64_t *run_id, bool *resumed,
		     struct jira_error *err) JS_WUR;

/* Make sure the client knows the site's flavour and sprint field: from the
 * jira_site cache (younger than a day) unless fresh, else from Jira (and
 * then cached). worker_run_step calls it; call it yourself before other
 * Jira calls. */
int worker_prepare(struct worker_sync *w, bool fresh, struct jira_error *err) JS_WUR;

/* Do the next step of the run. expect_seq < 0: whatever the current one is. */
enum worker_step_result worker_run_step(struct worker_sync *w, int64_t run_id, int expect_seq,
					struct jira_error *err);

/* End the run as FAILED with err's code: run, states and an ERROR log line
 * with the code and guidance in details. */
int worker_run_fail(struct worker_sync *w, int64_t run_id, const struct jira_error *err);

/* `jirasync sync KEY [--full]` */
int worker_sync_cli(int argc, char **argv);

/*
 * The worker service (worker/service.c): engine consumers running one
 * "sync.step" task (run_id, seq = the step_seq it expects) per step, with
 * cfg->worker_concurrency threads. start returns at once (0 and *handle, or
 * -1 with err); setting *stop asks it to stop; wait joins it: 0 after a clean
 * stop, -1 when steps outlived the grace period (then exit the process
 * without freeing: those threads still run). cfg must outlive the service.
 */
int worker_service_start(const struct config *cfg, atomic_int *stop, void **handle, char *err,
			 size_t errlen) JS_WUR;
int worker_service_wait(void *handle);
/* `jirasync worker [--concurrency N]` */
int worker_service_cli(int argc, char **argv);

#endif
