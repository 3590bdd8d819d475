/*
 * Private to the scheduler module: what the operations (ops.c), the schedule
 * loop (loop.c) and the command line (cli.c) share. The SQL on sync_job
 * lives in ops.c and loop.c because the scheduler owns that table's
 * semantics (catch-up, buffering); run creation goes through store.
 */
#ifndef JS_SCHED_INT_H
#define JS_SCHED_INT_H

#include "scheduler/scheduler.h"
#include "store/store.h"

/* The task kind of one sync step; its seq is the run's step_seq expected. */
#define SCHED_STEP_KIND "sync.step"

/* What starting a run became. */
enum sched_fire_outcome {
	SCHED_FIRE_STARTED = 0,
	SCHED_FIRE_SKIPPED,   /* SKIP: a run is active; recorded in sync_log */
	SCHED_FIRE_BUFFERED,  /* BUFFER_ONE (or a backfill): waits for the active run */
	SCHED_FIRE_DUPLICATE, /* the slot already has its run (another leader) */
};

struct sched_fire {
	int64_t project_id;
	const char *policy;  /* SKIP | BUFFER_ONE */
	const char *trigger; /* schedule | manual | backfill */
	int64_t slot_ms;     /* JS_TIME_NULL unless scheduled */
	bool full;
	const char *const *account_ids;
	size_t n_account_ids;
	bool always_buffer; /* buffer even under SKIP (added tracked users) */
};

/*
 * Start a run (store_run_start) and enqueue its first task when eng is not
 * NULL (an enqueue failure is logged: the reconciler enqueues it later). When
 * the project has an active run, apply the overlap policy. Returns 0 with
 * *outcome (and *run_id, kind when started), or -1 with err.
 */
int sched_fire_run(PGconn *db, struct engine_conn *eng, const struct sched_fire *f,
		   enum sched_fire_outcome *outcome, int64_t *run_id, char kind[16], char *err,
		   size_t errlen) JS_WUR;

/* Enqueue the step task (run, seq) now. */
int sched_enqueue_step(struct engine_conn *eng, int64_t run_id, int seq) JS_WUR;

/* The first fire strictly after after_ms of cron with jitter: *fire_ms and
 * *slot_ms. -1 when the expression is invalid or never fires. */
int sched_next_fire(const char *cron, int jitter_s, int64_t after_ms, int64_t *slot_ms,
		    int64_t *fire_ms) JS_WUR;

/* Fill err from a failed store call: DB_UNAVAILABLE when the connection is
 * lost, otherwise INTERNAL. */
void sched_db_error(PGconn *db, struct sched_error *err, const char *what, const char *msg);
void sched_set_error(struct sched_error *err, const char *code, const char *field, const char *fmt,
		     ...) JS_PRINTF(4, 5);

/* Engine options from the environment (ENGINE_VISIBILITY_MS,
 * ENGINE_MAX_DELIVERIES) shared by the scheduler and `jirasync run`. */
void sched_engine_options(const struct config *cfg, struct engine_options *o);

/* The schedule loop with its own connections until *stop; 0 on a clean
 * stop. lease_ms and tick_ms: 0 takes the defaults (10000, 1000). */
struct sched_loop_opts {
	int64_t lease_ms;
	int64_t tick_ms;
	int64_t reconcile_grace_ms; /* heartbeat age before a task-less run is re-enqueued */
};
int sched_loop_run(const struct config *cfg, const struct sched_loop_opts *o, atomic_int *stop);

/* SIGTERM/SIGINT set *stop (the flag given to the last call). */
void sched_install_signals(atomic_int *stop);

#endif
