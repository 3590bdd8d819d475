/*
 * graphql/server.h: the HTTP side of the GraphQL admin plane (libmicrohttpd):
 * GraphQL over HTTP at /graphql, /healthz, /readyz and /metrics. Used by
 * `jirasync serve` (gql_serve_cli) and by `jirasync run`, which starts the
 * same server in-process with gql_server_start/gql_server_stop.
 */
#ifndef JS_GQL_SERVER_H
#define JS_GQL_SERVER_H

#include <stdatomic.h>

#include "common/common.h"

struct gql_server;

/*
 * Load the schema from schema_path (NULL: SCHEMA_PATH, ./schema.graphql, then
 * the source tree's), bind every field, and listen on cfg->listen_addr with
 * GRAPHQL_THREADS threads (default 4), each with its own PostgreSQL
 * connection. cfg is borrowed and must outlive the server; it needs
 * database_url, redis_url and admin_token. NULL and a one-line message in
 * err when the schema has a field without a resolver, the address cannot be
 * bound, or a setting is missing.
 */
struct gql_server *gql_server_start(const struct config *cfg, const char *schema_path, char *err,
				    size_t errlen);
/* Stop listening, finish the requests in flight, release everything. NULL ok. */
void gql_server_stop(struct gql_server *s);

/*
 * The same as a service of `jirasync run` (the shape of struct
 * sched_service): start returns at once with *handle; wait blocks until
 * *stop becomes non-zero, then stops the server and returns 0.
 */
int gql_service_start(const struct config *cfg, atomic_int *stop, void **handle, char *err,
		      size_t errlen);
int gql_service_wait(void *handle);

/* `jirasync serve [--schema PATH] [--listen ADDR]`: serve until SIGINT/SIGTERM. */
int gql_serve_cli(int argc, char **argv);

#endif
