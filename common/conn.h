/*
 * Connection helpers for PostgreSQL and Redis. Kept apart from common.h so
 * that only the modules that talk to a server see libpq and hiredis.
 */
#ifndef JS_CONN_H
#define JS_CONN_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "common/common.h"

/* Connect to PostgreSQL; NULL and a one-line error (password redacted). */
PGconn *pg_connect(const char *url, char *err, size_t errlen);
/* Run a statement that returns no rows; 0 or -1 with the error in err. */
int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen) JS_WUR;

/*
 * Connect to Redis from a URL: redis://[:password@]host:port[/db] or
 * unix:///path. NULL and a one-line error on failure. timeout_ms applies to
 * connect and to each command (0 = none).
 */
redisContext *redis_connect_url(const char *url, int timeout_ms, char *err, size_t errlen);

#endif
