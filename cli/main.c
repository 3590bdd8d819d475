/*
 * jirasync: one binary, one subcommand per process role. This file only
 * parses the command line and hands each subcommand to its module; the
 * commands themselves live with the modules that own them.
 */
#include <unistd.h>

#include "common/common.h"
#include "common/conn.h"
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
	"  project register KEY [--cron EXPR]\n"
	"                              register a project with its schedule\n"
	"  project track KEY [ID,...]  set the project's tracked users (none: all)\n"
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
				fprintf(stderr, "jirasync migrate: --down needs a positive number\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--help")) {
			fputs("usage: jirasync migrate [--down N]\n"
			      "  Apply migrations/NNNN_name.sql in order (MIGRATIONS_DIR overrides the\n"
			      "  directory); --down rolls back the newest N.\n", stdout);
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

static int cmd_project(int argc, char **argv)
{
	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fputs("usage: jirasync project register KEY [--cron EXPR]\n"
		      "       jirasync project track KEY [ACCOUNT_ID,...]\n",
		      argc < 3 ? stderr : stdout);
		return argc < 3 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1], *key = argv[2];
	if (!jira_valid_project_key(key)) {
		fprintf(stderr, "jirasync project: invalid project key '%s': expected A-Z, 0-9 and _, "
				"starting with a letter\n", key);
		return EXIT_USAGE;
	}
	struct config cfg;
	int code = EXIT_FAILED;
	PGconn *db = connect_db(&cfg, &code);
	char e[STORE_ERRLEN];
	if (!db)
		goto out;
	if (!strcmp(sub, "register")) {
		const char *cron = cfg.sync_default_cron;
		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--cron") && i + 1 < argc) {
				cron = argv[++i];
			} else {
				fprintf(stderr, "jirasync project register: unexpected argument '%s'\n", argv[i]);
				code = EXIT_USAGE;
				goto out;
			}
		}
		struct cron c;
		if (cron_parse(cron, &c, e, sizeof e) < 0) {
			fprintf(stderr, "jirasync project register: %s\n", e);
			code = EXIT_USAGE;
			goto out;
		}
		int jitter = (int)cron_jitter_seconds(key, cron_jitter_period_s(&c));
		int64_t id;
		if (store_project_register(db, key, cron, jitter, &id, e, sizeof e) < 0) {
			fprintf(stderr, "jirasync: cannot register project '%s': %s\n", key, e);
			goto out;
		}
		char n[24];
		log_info("project registered", "project", key, "#id", fmt_i64(n, id), "cron", cron);
		code = EXIT_OK;
	} else if (!strcmp(sub, "track")) {
		struct store_project p;
		int f = store_project_by_key(db, key, &p, e, sizeof e);
		if (f != 0) {
			fprintf(stderr, "jirasync: %s\n", f == 1 ? "project is not registered" : e);
			goto out;
		}
		const char *ids[256];
		size_t n = 0;
		char *list = argc > 3 ? xstrdup(argv[3]) : xstrdup("");
		for (char *s = list; *s && n < JS_ARRAY_LEN(ids);) {
			size_t len = strcspn(s, ",");
			bool last = s[len] == '\0';
			s[len] = '\0';
			if (len) {
				if (!jira_valid_account_id(s)) {
					fprintf(stderr, "jirasync project track: invalid account id '%s'\n", s);
					code = EXIT_USAGE;
					free(list);
					store_project_release(&p);
					goto out;
				}
				ids[n++] = s;
			}
			s += len + (last ? 0 : 1);
		}
		if (store_set_tracked_users(db, p.id, ids, n, e, sizeof e) < 0)
			fprintf(stderr, "jirasync: cannot set tracked users: %s\n", e);
		else
			code = EXIT_OK;
		free(list);
		store_project_release(&p);
	} else {
		fprintf(stderr, "jirasync project: unknown subcommand '%s'\n", sub);
		code = EXIT_USAGE;
	}
out:
	PQfinish(db);
	config_release(&cfg);
	return code;
}

int main(int argc, char **argv)
{
	char e[256];
	if (log_init_from_env(e, sizeof e) < 0) {
		fprintf(stderr, "jirasync: %s\n", e);
		return EXIT_CONFIG;
	}
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
		return cmd_project(argc - 1, argv + 1);
	if (!strcmp(cmd, "cron"))
		return cron_cli(argc - 1, argv + 1);
	if (!strcmp(cmd, "version")) {
		puts("jirasync 0.1.0");
		return EXIT_OK;
	}
	fprintf(stderr, "jirasync: unknown command '%s'\n%s", cmd, usage_text);
	return EXIT_USAGE;
}
