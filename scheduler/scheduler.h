/*
 * scheduler: the public header of the scheduler module, the only one other
 * modules and cli/main.c include. It re-exports the cron API (parse, next
 * fire times, per-project jitter, the `jirasync cron` subcommand) and
 * declares:
 *   - the operations API (sched_*): register, pause, resume, reschedule,
 *     trigger, start, tracked users, read. The CLI (`jirasync project ...`)
 *     uses it now and the GraphQL mutations use it too;
 *   - the scheduler service (`jirasync scheduler`): leader election, due
 *     schedules, catch-up, overlap policy, delayed-task promotion and the
 *     reconciler;
 *   - `jirasync run`: the scheduler plus other services (the worker, later
 *     the GraphQL server) in one process.
 */
#ifndef JS_SCHEDULER_H
#define JS_SCHEDULER_H

#include <stdatomic.h>

#include "common/conn.h"
#include "engine/engine.h"
#include "scheduler/cron.h"

/* ---- operations ------------------------------------------------------------ */

/*
 * What every operation needs. db is required. engine may be NULL: a run an
 * operation starts is then created in PostgreSQL only, and the scheduler's
 * reconciler enqueues its first task within a few seconds; with a connection
 * the first task is enqueued at once. cfg gives SYNC_DEFAULT_CRON.
 * One context per thread (a PGconn is not shared).
 */
struct sched_ctx {
	PGconn *db;
	struct engine_conn *engine;
	const struct config *cfg;
};

/*
 * An operation's error. code is stable and meant for GraphQL's
 * extensions.code:
 *   "BAD_USER_INPUT"   invalid project key, cron, account id, note, policy
 *                      (field names the argument: "key", "cron", "accountIds",
 *                      "note", "policy")
 *   "NOT_FOUND"        the project is not registered (field "key")
 *   "CONFLICT"         the state forbids it (e.g. trigger of a PAUSED job, a
 *                      backfill while another run is active and a buffered
 *                      trigger is already waiting)
 *   "DB_UNAVAILABLE", "QUEUE_UNAVAILABLE", "INTERNAL": the classifier's
 *                      codes (jira_code_name) for infrastructure failures
 * message is one human line, never containing secrets.
 */
#define SCHED_CODE_MAX 32
struct sched_error {
	char code[SCHED_CODE_MAX];
	char field[32];
	char message[512];
};

#define SCHED_NOTE_MAX 1000 /* longest pause note accepted */
#define SCHED_CRON_MAX 200  /* longest cron expression accepted */

/* A project's schedule as stored (sync_job + project). Times are epoch ms,
 * JS_TIME_NULL when unset. sched_job_release frees tracked. */
struct sched_job {
	int64_t project_id;
	char key[256];
	char cron[SCHED_CRON_MAX + 1];           /* as set by the admin */
	char effective_cron[SCHED_CRON_MAX + 1]; /* the one in force */
	int jitter_seconds;
	char overlap_policy[16];             /* SKIP | BUFFER_ONE */
	char status[16];                     /* ACTIVE | PAUSED | ERROR */
	char pause_note[SCHED_NOTE_MAX + 1]; /* "" when none */
	int failure_streak;
	int64_t last_run_ms;
	int64_t next_run_ms;
	int64_t updated_ms;
	bool buffered;         /* a BUFFER_ONE trigger waits for the active run */
	int64_t active_run_id; /* the RUNNING run, 0 when none */
	char **tracked;        /* tracked account ids (none: all users) */
	size_t n_tracked;
};
void sched_job_release(struct sched_job *j);

/*
 * What a mutation returns: the updated job and the run it started, if any.
 * outcome: "started" (run_id set), "skipped" (SKIP policy: a run is active;
 * recorded in sync_log), "buffered" (BUFFER_ONE: starts when the active run
 * ends), "unchanged" (nothing to do, e.g. resume of an ACTIVE job) or
 * "updated". sched_result_release frees job.
 */
struct sched_result {
	struct sched_job job;
	int64_t run_id;      /* 0 when no run was started */
	char run_kind[16];   /* full | incremental | backfill, "" when none */
	const char *outcome; /* static string */
};
void sched_result_release(struct sched_result *r);

struct sched_trigger_opts {
	bool full;                      /* force a full run */
	const char *const *account_ids; /* non-empty: a backfill of these accounts */
	size_t n_account_ids;
};

/*
 * The operations. Each returns 0 with *out filled (release it), or -1 with
 * *err filled and *out untouched. key is a Jira project key (A-Z, 0-9, _,
 * starting with a letter).
 *
 * register: creates project, sync_job (cron, NULL: SYNC_DEFAULT_CRON; a
 *   stable per-project jitter; next_run_at) and sync_state rows. An existing
 *   project is returned unchanged (outcome "unchanged").
 * pause: status PAUSED with note (may be NULL); a paused job never fires.
 *   The active run, if any, finishes.
 * resume: status ACTIVE, next_run_at = the next fire after now (missed
 *   slots collapse: no burst).
 * reschedule: validates cron (BAD_USER_INPUT, field "cron", message naming
 *   the cron field and reason), sets cron and effective_cron, recomputes the
 *   jitter and next_run_at.
 * trigger: a manual run now (full or incremental; a backfill with account
 *   ids). With a run active: SKIP records the skipped trigger in sync_log and
 *   returns outcome "skipped"; BUFFER_ONE queues one (outcome "buffered";
 *   a second buffered trigger is a no-op "buffered"). CONFLICT when the job
 *   is PAUSED (use start).
 * start: resume + trigger.
 * set_tracked: validates the account ids, replaces the tracked set; the
 *   added accounts trigger a backfill run of them (as trigger does).
 * set_overlap: policy "SKIP" or "BUFFER_ONE".
 */
int sched_register(const struct sched_ctx *c, const char *key, const char *cron,
		   struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_pause(const struct sched_ctx *c, const char *key, const char *note,
		struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_resume(const struct sched_ctx *c, const char *key, struct sched_result *out,
		 struct sched_error *err) JS_WUR;
int sched_reschedule(const struct sched_ctx *c, const char *key, const char *cron,
		     struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_trigger(const struct sched_ctx *c, const char *key, const struct sched_trigger_opts *o,
		  struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_start(const struct sched_ctx *c, const char *key, const struct sched_trigger_opts *o,
		struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_set_tracked(const struct sched_ctx *c, const char *key, const char *const *account_ids,
		      size_t n, struct sched_result *out, struct sched_error *err) JS_WUR;
int sched_set_overlap(const struct sched_ctx *c, const char *key, const char *policy,
		      struct sched_result *out, struct sched_error *err) JS_WUR;
/* Read one job: 0, or -1 (NOT_FOUND, DB_UNAVAILABLE, ...). */
int sched_get(const struct sched_ctx *c, const char *key, struct sched_job *out,
	      struct sched_error *err) JS_WUR;

/* `jirasync project register|pause|resume|reschedule|trigger|start|track|
 * overlap|show ...`; argv[0] is "project". Returns the exit code. */
int sched_project_cli(int argc, char **argv);

/* ---- the scheduler service ------------------------------------------------ */

/* `jirasync scheduler [--lease-ms N] [--tick-ms N]`: runs until SIGTERM or
 * SIGINT, exit 0. */
int sched_scheduler_cli(int argc, char **argv);

/*
 * A service that `jirasync run` starts next to the scheduler. start launches
 * it (threads) and returns at once: 0 and *handle, or -1 with err. stop is
 * set non-zero to ask it to stop; wait joins it and returns 0 for a clean
 * stop. The worker registers here; the GraphQL server is the next one (the
 * hook: add a row to the table passed by cli/main.c).
 */
struct sched_service {
	const char *name;
	int (*start)(const struct config *cfg, atomic_int *stop, void **handle, char *err,
		     size_t errlen);
	int (*wait)(void *handle);
};

/* `jirasync run [--concurrency N]`: the scheduler and the given services in
 * one process until SIGTERM or SIGINT. */
int sched_run_cli(int argc, char **argv, const struct sched_service *services, size_t n);

#endif
