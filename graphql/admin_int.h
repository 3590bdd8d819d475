/*
 * Private to graphql/server.c and graphql/resolvers.c: what the HTTP layer
 * hands to jirasync's resolvers for one request, and the binding of those
 * resolvers to the schema loaded from schema.graphql.
 */
#ifndef JS_GQL_ADMIN_INT_H
#define JS_GQL_ADMIN_INT_H

#include "common/conn.h"
#include "graphql/graphql.h"

struct jira_client;
struct engine;
struct engine_conn;

/* One request's context (gql_request.ctx). */
struct gql_admin_rq {
	PGconn *db;          /* the serving thread's connection */
	struct arena *arena; /* released after the response */
	const struct config *cfg;
	struct jira_client **jira;       /* the thread's Jira client, made on first use */
	struct engine *queue;            /* may be NULL */
	struct engine_conn **eng;        /* the thread's queue connection, made on first use */
	struct children_stash *children; /* resolvers.c: rows read ahead for a sibling field */
	struct store_user_cache *users;  /* the thread's users; NULL: every read joins them */
	int64_t user_epoch; /* the user epoch of rows this request read; -1: none yet */
	bool read_data;     /* a Query field read the database */
	bool live;          /* a Query field asked Jira: the response is not kept */
};

/*
 * Bind a resolver to every Query and Mutation field and to every field of
 * the object types of schema.graphql. -1 with a message when the schema has
 * a field this build does not know (checked again by gql_schema_check_bound).
 */
int gql_admin_bind(struct gql_schema *s, char *err, size_t errlen) JS_WUR;

#endif
