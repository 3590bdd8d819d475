/*
 * The scheduler's command line: `jirasync project ...` (the operations API
 * from the shell), `jirasync scheduler` (the schedule loop alone) and
 * `jirasync run` (the schedule loop plus the services cli/main.c hands in:
 * the worker, later the GraphQL server). Output of `project` commands is
 * "name: value" lines on stdout; errors are one line on stderr with the
 * stable code in brackets.
 */
#include "scheduler/sched_int.h"
#include <stddef.h>

static const char project_usage[] =
	"usage: jirasync project COMMAND KEY [ARGS]\n"
	"  register KEY [--cron EXPR]       register a project with its schedule\n"
	"                                   (default SYNC_DEFAULT_CRON, with a per-project jitter)\n"
	"  pause KEY [--note TEXT]          stop firing the schedule (a running sync finishes)\n"
	"  resume KEY                       fire again from the next slot (missed slots collapse)\n"
	"  reschedule KEY 'CRON'            set the schedule (5 fields, or 6 with seconds)\n"
	"  trigger KEY [--full] [--accounts ID,...]\n"
	"                                   start a run now (a backfill with --accounts); with a run\n"
	"                                   active the overlap policy decides (SKIP or BUFFER_ONE)\n"
	"  start KEY [--full]               resume and trigger\n"
	"  track KEY [ID,...]               set the tracked users (none: all); added users are\n"
	"                                   backfilled\n"
	"  overlap KEY SKIP|BUFFER_ONE      set the overlap policy\n"
	"  show KEY                         print the schedule\n"
	"Runs are enqueued at once when REDIS_URL is set, otherwise by the scheduler.\n"
	"Needs DATABASE_URL.\n";

static int code_exit(const char *code)
{
	if (!strcmp(code, "BAD_USER_INPUT"))
		return EXIT_USAGE;
	if (!strcmp(code, "DB_UNAVAILABLE") || !strcmp(code, "QUEUE_UNAVAILABLE"))
		return EXIT_UNAVAILABLE;
	return EXIT_FAILED;
}

static void print_time(const char *name, int64_t ms)
{
	char t[32];
	printf("%s: %s\n", name, ms == JS_TIME_NULL ? "-" : jtime_format(t, ms));
}

static void print_job(const struct sched_job *j)
{
	printf("project: %s\n", j->key);
	printf("status: %s\n", j->status);
	if (j->pause_note[0])
		printf("pause_note: %s\n", j->pause_note);
	printf("cron: %s\n", j->cron);
	printf("effective_cron: %s\n", j->effective_cron);
	printf("jitter_seconds: %d\n", j->jitter_seconds);
	printf("overlap_policy: %s\n", j->overlap_policy);
	print_time("last_run", j->last_run_ms);
	print_time("next_run", j->next_run_ms);
	printf("active_run: %" PRId64 "\n", j->active_run_id);
	printf("buffered: %s\n", j->buffered ? "yes" : "no");
	printf("tracked_users: ");
	for (size_t i = 0; i < j->n_tracked; i++)
		printf("%s%s", i ? "," : "", j->tracked[i]);
	printf("%s\n", j->n_tracked ? "" : "(all)");
}

/* Split "a,b" into a NULL-free vector pointing into list (modified). */
static size_t split_ids(char *list, const char **ids, size_t max)
{
	size_t n = 0;
	for (char *s = list; *s && n < max;) {
		size_t len = strcspn(s, ",");
		bool last = s[len] == '\0';
		s[len] = '\0';
		if (len)
			ids[n++] = s;
		s += len + (last ? 0 : 1);
	}
	return n;
}

/* A queue connection for enqueueing at once, or NULL (the reconciler then
 * enqueues). */
static struct engine_conn *maybe_engine(const struct config *cfg, struct engine **eng)
{
	*eng = NULL;
	if (!cfg->redis_url || !*cfg->redis_url)
		return NULL;
	struct engine_options eo;
	sched_engine_options(cfg, &eo);
	char e[512];
	*eng = engine_new(&eo, e, sizeof e);
	if (!*eng)
		return NULL;
	struct engine_conn *c = engine_connect(*eng, e, sizeof e);
	if (!c)
		log_warn("cannot reach redis: the scheduler will enqueue runs", "error", e);
	return c;
}

int sched_project_cli(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(project_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1];
	static const char *const subs[] = {"register", "pause", "resume",  "reschedule", "trigger",
					   "start",    "track", "overlap", "show"};
	bool known = false;
	for (size_t i = 0; i < JS_ARRAY_LEN(subs); i++)
		known |= !strcmp(sub, subs[i]);
	if (!known) {
		fprintf(stderr, "jirasync project: unknown command '%s'\n%s", sub, project_usage);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(project_usage, stdout);
			return EXIT_OK;
		}
	if (argc < 3) {
		fprintf(stderr, "jirasync project %s: missing project KEY\n%s", sub, project_usage);
		return EXIT_USAGE;
	}
	const char *key = argv[2];
	const char *cron = NULL, *note = NULL, *policy = NULL;
	char *accounts = NULL;
	bool full = false, has_ids = false;
	int code = EXIT_USAGE;
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--cron") && i + 1 < argc && !strcmp(sub, "register")) {
			cron = argv[++i];
		} else if (!strcmp(a, "--note") && i + 1 < argc && !strcmp(sub, "pause")) {
			note = argv[++i];
		} else if (!strcmp(a, "--full") &&
			   (!strcmp(sub, "trigger") || !strcmp(sub, "start"))) {
			full = true;
		} else if (!strcmp(a, "--accounts") && i + 1 < argc &&
			   (!strcmp(sub, "trigger") || !strcmp(sub, "start"))) {
			free(accounts);
			accounts = xstrdup(argv[++i]);
			has_ids = true;
		} else if (a[0] != '-' && !strcmp(sub, "reschedule") && !cron) {
			cron = a;
		} else if (a[0] != '-' && !strcmp(sub, "overlap") && !policy) {
			policy = a;
		} else if (!strcmp(sub, "track") && !has_ids) {
			accounts = xstrdup(a);
			has_ids = true;
		} else {
			fprintf(stderr, "jirasync project %s: unexpected argument '%s'\n", sub, a);
			goto out_args;
		}
	}
	if ((!strcmp(sub, "reschedule") && !cron) || (!strcmp(sub, "overlap") && !policy)) {
		fprintf(stderr, "jirasync project %s: missing %s\n%s", sub,
			!strcmp(sub, "reschedule") ? "CRON" : "POLICY", project_usage);
		goto out_args;
	}

	struct config cfg;
	char e[512];
	PGconn *db = NULL;
	struct engine *eng = NULL;
	struct engine_conn *ec = NULL;
	code = EXIT_FAILED;
	if (config_load(&cfg, JS_NEED_DB, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		code = EXIT_CONFIG;
		goto out_cfg;
	}
	db = pg_connect(cfg.database_url, e, sizeof e);
	if (!db) {
		fprintf(stderr, "jirasync: %s\n", e);
		code = EXIT_UNAVAILABLE;
		goto out;
	}
	if (strcmp(sub, "show") != 0)
		ec = maybe_engine(&cfg, &eng);
	struct sched_ctx ctx = {.db = db, .engine = ec, .cfg = &cfg};
	struct sched_error err;
	memset(&err, 0, sizeof err);
	struct sched_result res;
	memset(&res, 0, sizeof res);
	const char *ids[1000];
	size_t n_ids = accounts ? split_ids(accounts, ids, JS_ARRAY_LEN(ids)) : 0;
	struct sched_trigger_opts to = {.full = full, .account_ids = ids, .n_account_ids = n_ids};
	int rc;
	if (!strcmp(sub, "show")) {
		rc = sched_get(&ctx, key, &res.job, &err);
	} else if (!strcmp(sub, "register")) {
		rc = sched_register(&ctx, key, cron, &res, &err);
	} else if (!strcmp(sub, "pause")) {
		rc = sched_pause(&ctx, key, note, &res, &err);
	} else if (!strcmp(sub, "resume")) {
		rc = sched_resume(&ctx, key, &res, &err);
	} else if (!strcmp(sub, "reschedule")) {
		rc = sched_reschedule(&ctx, key, cron, &res, &err);
	} else if (!strcmp(sub, "trigger")) {
		rc = sched_trigger(&ctx, key, &to, &res, &err);
	} else if (!strcmp(sub, "start")) {
		rc = sched_start(&ctx, key, &to, &res, &err);
	} else if (!strcmp(sub, "track")) {
		rc = sched_set_tracked(&ctx, key, ids, n_ids, &res, &err);
	} else {
		rc = sched_set_overlap(&ctx, key, policy, &res, &err);
	}
	if (rc < 0) {
		fprintf(stderr, "jirasync project %s: %s [%s]\n", sub, err.message, err.code);
		code = code_exit(err.code);
		goto out;
	}
	if (res.outcome)
		printf("outcome: %s\n", res.outcome);
	if (res.run_id)
		printf("run: %" PRId64 " (%s)\n", res.run_id, res.run_kind);
	print_job(&res.job);
	sched_result_release(&res);
	code = EXIT_OK;
out:
	engine_conn_free(ec);
	engine_free(eng);
	PQfinish(db);
out_cfg:
	config_release(&cfg);
out_args:
	free(accounts);
	return code;
}

/* ---- services ----------------------------------------------------------------- */

static int parse_ms_flag(const char *cmd, const char *name, const char *v, int64_t *out)
{
	long n;
	if (parse_int_range(v, 10, 3600000, &n) < 0) {
		fprintf(stderr, "jirasync %s: %s needs milliseconds (10-3600000)\n", cmd, name);
		return -1;
	}
	*out = n;
	return 0;
}

/* Common flags of `scheduler` and `run`; returns 1 when --help was printed,
 * -1 on a usage error. */
static int parse_service_flags(const char *cmd, int argc, char **argv, struct sched_loop_opts *o,
			       const char **concurrency, const char *usage)
{
	memset(o, 0, sizeof *o);
	o->lease_ms = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 1;
		} else if (!strcmp(a, "--lease-ms") && i + 1 < argc) {
			if (parse_ms_flag(cmd, a, argv[++i], &o->lease_ms) < 0)
				return -1;
		} else if (!strcmp(a, "--tick-ms") && i + 1 < argc) {
			if (parse_ms_flag(cmd, a, argv[++i], &o->tick_ms) < 0)
				return -1;
		} else if (!strcmp(a, "--reconcile-grace-ms") && i + 1 < argc) {
			if (parse_ms_flag(cmd, a, argv[++i], &o->reconcile_grace_ms) < 0)
				return -1;
		} else if (concurrency && !strcmp(a, "--concurrency") && i + 1 < argc) {
			*concurrency = argv[++i];
		} else {
			fprintf(stderr, "jirasync %s: unexpected argument '%s'\n%s", cmd, a, usage);
			return -1;
		}
	}
	return 0;
}

/* Settings the flags did not give come from the configuration. */
static void loop_opts_from_config(struct sched_loop_opts *o, const struct config *cfg)
{
	if (o->lease_ms == 0)
		o->lease_ms = cfg->scheduler_lease_ms;
	if (o->tick_ms == 0)
		o->tick_ms = cfg->scheduler_tick_ms;
	if (o->reconcile_grace_ms == 0)
		o->reconcile_grace_ms = cfg->scheduler_reconcile_grace_ms;
}

static const char scheduler_usage[] =
	"usage: jirasync scheduler [--lease-ms N] [--tick-ms N] [--reconcile-grace-ms N]\n"
	"  Fire the due schedules of sync_job (only the process holding the Redis lease\n"
	"  fires), promote delayed tasks and re-enqueue runs that lost their task.\n"
	"  --lease-ms N            leader lease (SCHEDULER_LEASE_MS, default 10000)\n"
	"  --tick-ms N             longest sleep between ticks (SCHEDULER_TICK_MS, 1000)\n"
	"  --reconcile-grace-ms N  checkpoint age before a task-less run is re-enqueued\n"
	"                          (SCHEDULER_RECONCILE_GRACE_MS, 5000)\n"
	"Stops on SIGTERM or SIGINT. Needs DATABASE_URL and REDIS_URL.\n";

static atomic_int stop_flag;

int sched_scheduler_cli(int argc, char **argv)
{
	struct sched_loop_opts o;
	int f = parse_service_flags("scheduler", argc, argv, &o, NULL, scheduler_usage);
	if (f != 0)
		return f > 0 ? EXIT_OK : EXIT_USAGE;
	struct config cfg;
	char e[512];
	if (config_load(&cfg, JS_NEED_DB | JS_NEED_REDIS, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		config_release(&cfg);
		return EXIT_CONFIG;
	}
	loop_opts_from_config(&o, &cfg);
	sched_install_signals(&stop_flag);
	int rc = sched_loop_run(&cfg, &o, &stop_flag);
	config_release(&cfg);
	return rc == 0 ? EXIT_OK : EXIT_SOFTWARE;
}

static const char run_usage[] =
	"usage: jirasync run [--concurrency N] [--lease-ms N] [--tick-ms N] [--no-serve]\n"
	"  The embedded default: the scheduler, the worker (N threads,\n"
	"  WORKER_CONCURRENCY) and the GraphQL admin plane (LISTEN_ADDR) in one\n"
	"  process, syncing every registered project on its schedule. --no-serve\n"
	"  leaves the admin plane out. Stops gracefully on SIGTERM or SIGINT (Ctrl-C).\n"
	"Needs DATABASE_URL, REDIS_URL, the Jira settings and, unless --no-serve,\n"
	"ADMIN_TOKEN (see README.md).\n";

/* The service `run` leaves out with --no-serve, and whose token it checks. */
#define ADMIN_PLANE "graphql"

int sched_run_cli(int argc, char **argv, const struct sched_service *services, size_t n)
{
	struct sched_loop_opts o;
	const char *concurrency = NULL;
	bool serve = true;
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	int nargs = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !strcmp(argv[i], "--no-serve"))
			serve = false;
		else
			args[nargs++] = argv[i];
	}
	int f = parse_service_flags("run", nargs, args, &o, &concurrency, run_usage);
	free(args);
	if (f != 0)
		return f > 0 ? EXIT_OK : EXIT_USAGE;
	struct config cfg;
	char e[512];
	int code = EXIT_OK;
	if (config_load(&cfg, JS_NEED_DB | JS_NEED_REDIS | JS_NEED_JIRA, e, sizeof e) < 0 ||
	    (concurrency && config_set(&cfg, "WORKER_CONCURRENCY", concurrency, e, sizeof e) < 0)) {
		fprintf(stderr, "jirasync: %s\n", e);
		config_release(&cfg);
		return EXIT_CONFIG;
	}
	loop_opts_from_config(&o, &cfg);
	if (serve && (!cfg.admin_token || !*cfg.admin_token)) {
		fprintf(stderr,
			"jirasync: missing ADMIN_TOKEN: the admin plane needs it (or run --no-serve)\n");
		config_release(&cfg);
		return EXIT_CONFIG;
	}
	sched_install_signals(&stop_flag);
	void **handles = xcalloc(n + 1, sizeof *handles);
	size_t started = 0;
	for (; started < n; started++) {
		if (!serve && !strcmp(services[started].name, ADMIN_PLANE)) {
			handles[started] = NULL;
			continue;
		}
		if (services[started].start(&cfg, &stop_flag, &handles[started], e, sizeof e) < 0) {
			log_error("cannot start service", "service", services[started].name,
				  "error", e);
			code = EXIT_UNAVAILABLE;
			atomic_store(&stop_flag, 1);
			break;
		}
		log_info("service started", "service", services[started].name);
	}
	if (code == EXIT_OK && sched_loop_run(&cfg, &o, &stop_flag) < 0)
		code = EXIT_SOFTWARE;
	atomic_store(&stop_flag, 1);
	for (size_t i = started; i-- > 0;)
		if ((serve || strcmp(services[i].name, ADMIN_PLANE)) &&
		    services[i].wait(handles[i]) != 0 && code == EXIT_OK)
			code = EXIT_SOFTWARE;
	free(handles);
	config_release(&cfg);
	return code;
}
