/*
 * gql_serve: `jirasync serve` for the integration tests and the benchmark,
 * built from the same gql_serve_cli, so the tests do not depend on the
 * subcommand being wired into cli/main.c.
 */
#include "common/common.h"
#include "graphql/server.h"
#include "jira/jira.h"

int main(int argc, char **argv)
{
	char e[256];
	jira_global_init();
	if (log_init_from_env(e, sizeof e) < 0) {
		fprintf(stderr, "gql_serve: %s\n", e);
		return EXIT_CONFIG;
	}
	return gql_serve_cli(argc, argv);
}
