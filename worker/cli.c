/*
 * `jirasync sync KEY [--full] [--accounts a,b]`: one run of one project in
 * the foreground, cron-job style. Resumes the project's unfinished run if
 * there is one (after a crash or a kill), otherwise starts a new one; on a
 * terminal it draws a progress line with an ETA from the approximate count.
 */
#include "worker/worker.h"

#include <malloc.h>
#include <unistd.h>

#include "store/store.h"

static void usage(FILE *f)
{
	fputs("usage: jirasync sync KEY [--full] [--accounts ID,ID...]\n"
	      "  Run one sync of project KEY in the foreground and exit.\n"
	      "  --full          re-read every issue and reconcile deletions\n"
	      "  --accounts IDS  backfill the whole history of these account ids\n"
	      "                  (the project's cursors do not move)\n"
	      "Resumes the project's unfinished run, if any, from its checkpoint.\n"
	      "Needs DATABASE_URL and JIRA_BASE_URL with JIRA_EMAIL + JIRA_API_TOKEN (Cloud)\n"
	      "or JIRA_PAT (Data Center).\n",
	      f);
}

static void progress_line(void *ud, const struct worker_progress *p)
{
	(void)ud;
	double secs = (double)p->elapsed_ms / 1000.0;
	double rate = secs > 0 ? (double)p->issues / secs : 0;
	char eta[32] = "?";
	if (p->estimate > 0 && rate > 0 && p->issues <= p->estimate)
		snprintf(eta, sizeof eta, "%.0fs", (double)(p->estimate - p->issues) / rate);
	if (p->estimate < 0)
		fprintf(stderr,
			"\r\033[K%-16s pages %" PRId64 "  issues %" PRId64 "  %.0f issues/s",
			p->phase, p->pages, p->issues, rate);
	else
		fprintf(stderr,
			"\r\033[K%-16s pages %" PRId64 "  issues %" PRId64 "/~%" PRId64
			"  %.0f issues/s  ETA %s",
			p->phase, p->pages, p->issues, p->estimate, rate, eta);
	fflush(stderr);
}

static char **split_ids(const char *s, size_t *n)
{
	*n = 0;
	size_t cap = 4;
	char **v = xmalloc(cap * sizeof *v);
	while (*s) {
		size_t len = strcspn(s, ",");
		if (len) {
			if (*n == cap) {
				cap *= 2;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[(*n)++] = xstrndup(s, len);
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return v;
}

int worker_sync_cli(int argc, char **argv)
{
	const char *key = NULL;
	bool full = false;
	char **accounts = NULL;
	size_t n_accounts = 0;
	/* Two threads at most (the step and the page prefetch): one malloc
	 * arena keeps the peak RSS flat instead of one arena per thread. */
	mallopt(M_ARENA_MAX, 1);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full")) {
			full = true;
		} else if (!strcmp(argv[i], "--accounts") && i + 1 < argc) {
			accounts = split_ids(argv[++i], &n_accounts);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' || key) {
			fprintf(stderr, "jirasync sync: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else {
			key = argv[i];
		}
	}
	if (!key) {
		usage(stderr);
		return EXIT_USAGE;
	}

	struct config cfg;
	char e[STORE_ERRLEN];
	int code = EXIT_FAILED;
	PGconn *db = NULL;
	struct jira_client *jira = NULL, *prefetch = NULL;
	struct worker_sync w;
	bool w_init = false;
	if (config_load(&cfg, JS_NEED_DB | JS_NEED_JIRA, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		code = EXIT_CONFIG;
		goto out;
	}
	db = pg_connect(cfg.database_url, e, sizeof e);
	if (!db) {
		fprintf(stderr, "jirasync: %s\n", e);
		code = EXIT_UNAVAILABLE;
		goto out;
	}
	struct jira_opts jo = {
		.base_url = cfg.jira_base_url,
		.email = cfg.jira_email,
		.api_token = cfg.jira_api_token,
		.pat = cfg.jira_pat,
		.flavour = cfg.jira_flavour,
		.timeout_s = cfg.http_timeout_s,
		.connect_timeout_s = cfg.http_connect_timeout_s,
		.max_attempts = cfg.http_max_attempts,
		.page_size = cfg.page_size,
		.parallel = cfg.http_parallel,
	};
	jira = jira_client_new(&jo);
	prefetch = jira_client_new(&jo);
	worker_sync_init(&w, db, jira, &cfg);
	w.prefetch_jira = prefetch;
	w_init = true;
	bool tty = isatty(2);
	if (tty) {
		w.progress = progress_line;
	}

	struct jira_error err;
	memset(&err, 0, sizeof err);
	struct worker_run_opts opts = {.full = full,
				       .slot_ms = JS_TIME_NULL,
				       .account_ids = (const char *const *)accounts,
				       .n_account_ids = n_accounts};
	int64_t run_id = 0;
	bool resumed = false;
	int64_t t0 = mono_ms();
	int brc = worker_run_begin(&w, key, &opts, &run_id, &resumed, &err);
	if (brc == 1) {
		fprintf(stderr,
			"jirasync: another run of '%s' started at the same moment; try again\n",
			key);
		code = EXIT_FAILED;
		goto out;
	}
	if (brc < 0) {
		fprintf(stderr, "jirasync: %s\n%s [%s]\n", err.message,
			jira_code_guidance(err.code), jira_code_name(err.code));
		code = err.code == JIRA_DB_UNAVAILABLE ? EXIT_UNAVAILABLE
		       : err.code == JIRA_CONFIG_ERROR ? EXIT_CONFIG
						       : EXIT_FAILED;
		goto out;
	}
	char rid[24];
	if (resumed)
		log_info("resuming unfinished run", "project", key, "#run", fmt_i64(rid, run_id));

	enum worker_step_result r = WORKER_STEP_MORE;
	if (worker_prepare(&w, opts.full, &err) < 0) {
		r = WORKER_STEP_FAILED;
	} else if (tty) {
		struct store_project p;
		if (store_project_by_key(db, key, &p, e, sizeof e) == 0) {
			struct jira_query q = {.project_key = key,
					       .updated_since_ms = JS_TIME_NULL,
					       .account_ids = (const char *const *)p.tracked,
					       .n_account_ids = (size_t)p.n_tracked};
			int64_t n;
			struct jira_error ce;
			if (!resumed && jira_count(jira, &q, &n, &ce) == 0)
				w.estimate = n;
			store_project_release(&p);
		}
	}
	while (r == WORKER_STEP_MORE)
		r = worker_run_step(&w, run_id, -1, &err);
	if (tty)
		fputs("\n", stderr);

	if (r == WORKER_STEP_STALE) {
		/* Ended (or moved on) by someone else: this step's writes were
		 * rolled back with its checkpoint. */
		fprintf(stderr,
			"jirasync: run %s of '%s' was ended or continued elsewhere; this sync stopped"
			" and its last step was rolled back\n",
			fmt_i64(rid, run_id), key);
		code = EXIT_FAILED;
		goto out;
	}
	if (r == WORKER_STEP_FAILED) {
		worker_run_fail(&w, run_id, &err);
		fprintf(stderr, "jirasync: sync of '%s' failed: %s\n%s [%s]\n", key, err.message,
			jira_code_guidance(err.code), jira_code_name(err.code));
		code = err.code == JIRA_DB_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_FAILED;
		goto out;
	}
	struct store_counts c;
	memset(&c, 0, sizeof c);
	if (store_run_counts(db, run_id, &c, e, sizeof e) < 0)
		log_warn("cannot read run counters", "error", e);
	char v[10][24];
	double secs = (double)(mono_ms() - t0) / 1000.0;
	char elapsed[32];
	snprintf(elapsed, sizeof elapsed, "%.3f", secs);
	log_info("sync finished", "project", key, "#run", fmt_i64(v[0], run_id), "#issues_upserted",
		 fmt_i64(v[1], c.issues_upserted), "#issues_deleted",
		 fmt_i64(v[2], c.issues_deleted), "#comments_upserted",
		 fmt_i64(v[3], c.comments_upserted), "#comments_deleted",
		 fmt_i64(v[4], c.comments_deleted), "#worklogs_upserted",
		 fmt_i64(v[5], c.worklogs_upserted), "#worklogs_deleted",
		 fmt_i64(v[6], c.worklogs_deleted), "#sprints_upserted",
		 fmt_i64(v[7], c.sprints_upserted), "#jira_requests",
		 fmt_i64(v[8], c.jira_requests), "#jira_bytes", fmt_i64(v[9], c.jira_bytes),
		 "#seconds", elapsed);
	code = EXIT_OK;
out:
	if (w_init)
		worker_sync_release(&w);
	jira_client_free(jira);
	jira_client_free(prefetch);
	PQfinish(db);
	for (size_t i = 0; i < n_accounts; i++)
		free(accounts[i]);
	free(accounts);
	config_release(&cfg);
	return code;
}
