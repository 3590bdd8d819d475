/*
 * jirasync: one binary, one subcommand per process role. This file only
 * parses the command line and hands each subcommand to its module; the
 * commands themselves live with the modules that own them.
 */
#include <unistd.h>

#include "common/common.h"
#include "common/conn.h"
#include "graphql/server.h"
#include "jira/jira.h"
#include "scheduler/scheduler.h"
#include "store/store.h"
#include "worker/worker.h"

#ifndef JS_MIGRATIONS_DIR
#define JS_MIGRATIONS_DIR "migrations"
#endif

static const char usage_text[] =
	"usage: jirasync COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  migrate [--down N]          apply migrations (or roll back the newest N)\n"
	"  sync KEY [--full]           one sync of a project in the foreground\n"
	"  project register|pause|resume|reschedule|trigger|start|track|overlap|show KEY ...\n"
	"                              manage a project's schedule (project --help)\n"
	"  worker [--concurrency N]    run sync steps from the queue\n"
	"  scheduler                   fire schedules (leader-elected), reconcile runs\n"
	"  serve [--listen ADDR]       the GraphQL admin plane (/graphql, /healthz, /readyz, /metrics)\n"
	"  run [--concurrency N]       scheduler + worker + GraphQL server in one process\n"
	"                              (the embedded default)\n"
	"  cron 'EXPR' [--from TIME] [--count N]\n"
	"                              print the next fire times of a schedule (UTC)\n"
	"  version                     print the version\n"
	"\n"
	"Configuration comes from the environment; see README.md.\n";

static const char *migrations_dir(void)
{
	const char *d = getenv("MIGRATIONS_DIR");
	if (d && *d)
		return d;
	if (access(JS_MIGRATIONS_DIR, R_OK) == 0)
		return JS_MIGRATIONS_DIR;
	return "migrations";
}

/* Load the configuration and connect to PostgreSQL, or print why not. */
static PGconn *connect_db(struct config *cfg, int *code)
{
	char e[STORE_ERRLEN];
	if (config_load(cfg, JS_NEED_DB, e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		*code = EXIT_CONFIG;
		return NULL;
	}
	PGconn *db = pg_connect(cfg->database_url, e, sizeof e);
	if (!db) {
		fprintf(stderr, "jirasync: %s\n", e);
		*code = EXIT_UNAVAILABLE;
	}
	return db;
}

static int cmd_migrate(int argc, char **argv)
{
	long down = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--down") && i + 1 < argc) {
			if (parse_int_range(argv[++i], 1, 10000, &down) < 0) {
				fprintf(stderr,
					"jirasync migrate: --down needs a positive number\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--help")) {
			fputs("usage: jirasync migrate [--down N]\n"
			      "  Apply migrations/NNNN_name.sql in order (MIGRATIONS_DIR overrides the\n"
			      "  directory); --down rolls back the newest N.\n",
			      stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "jirasync migrate: unexpected argument '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	struct config cfg;
	int code = EXIT_FAILED;
	PGconn *db = connect_db(&cfg, &code);
	if (!db)
		goto out;
	char e[STORE_ERRLEN];
	int applied = 0;
	int rc = down ? store_migrate_down(db, migrations_dir(), (int)down, e, sizeof e)
		      : store_migrate(db, migrations_dir(), &applied, e, sizeof e);
	if (rc < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		code = store_conn_lost(db) ? EXIT_UNAVAILABLE : EXIT_FAILED;
		goto out;
	}
	if (!down) {
		char n[24];
		log_info(applied ? "migrations applied" : "database is up to date", "#applied",
			 fmt_i64(n, applied));
	}
	code = EXIT_OK;
out:
	PQfinish(db);
	config_release(&cfg);
	return code;
}

/* The services `jirasync run` starts next to the scheduler. */
static const struct sched_service run_services[] = {
	{"worker", worker_service_start, worker_service_wait},
	{"graphql", gql_service_start, gql_service_wait},
};

int main(int argc, char **argv)
{
	char e[256];
	if (log_init_from_env(e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		return EXIT_CONFIG;
	}
	jira_global_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - 1, argv + 1);
	if (!strcmp(cmd, "sync"))
		return worker_sync_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "project"))
		return sched_project_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "worker"))
		return worker_service_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "scheduler"))
		return sched_scheduler_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "run"))
		return sched_run_cli(argc - 1, argv + 1, run_services, JS_ARRAY_LEN(run_services));
	if (!strcmp(cmd, "serve"))
		return gql_serve_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "cron"))
		return cron_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "version")) {
		puts("jirasync 0.1.0");
		return EXIT_OK;
	}
	fprintf(stderr, "jirasync: unknown command '%s'\n%s", cmd, usage_text);
	return EXIT_USAGE;
}
