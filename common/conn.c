/*
 * PostgreSQL and Redis connections from URLs. Errors name the server with
 * its password redacted, so they can be logged as they are.
 */
#include "common/conn.h"

static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	size_t n = strcspn(message, "\n");
	char line[512];
	snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), message);
	log_debug("postgresql notice", "notice", line);
}

PGconn *pg_connect(const char *url, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(url);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char *safe = url_redact(url);
		const char *msg = c ? PQerrorMessage(c) : "out of memory";
		size_t n = strcspn(msg, "\n");
		snprintf(err, errlen, "cannot connect to postgresql at '%s': %.*s", safe, (int)n,
			 msg);
		free(safe);
		PQfinish(c);
		return NULL;
	}
	/* Server notices (a ROLLBACK with nothing to roll back, ...) go to the
	 * debug log, not raw to stderr. */
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	/* Every timestamp we read or write is UTC. */
	PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
	PQclear(r);
	return c;
}

int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *msg = PQerrorMessage(c);
		snprintf(err, errlen, "%.*s", (int)strcspn(msg, "\n"), msg);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

redisContext *redis_connect_url(const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *c = NULL;
	char host[256] = "127.0.0.1";
	char password[256] = "";
	long port = 6379, db = 0;

	if (strncmp(url, "unix://", 7) == 0) {
		c = timeout_ms ? redisConnectUnixWithTimeout(url + 7, tv)
			       : redisConnectUnix(url + 7);
	} else if (strncmp(url, "redis://", 8) == 0) {
		const char *p = url + 8;
		const char *at = strchr(p, '@');
		if (at) {
			const char *colon = memchr(p, ':', (size_t)(at - p));
			const char *pw = colon ? colon + 1 : p;
			snprintf(password, sizeof password, "%.*s", (int)(at - pw), pw);
			p = at + 1;
		}
		size_t hl = strcspn(p, ":/");
		if (hl > 0)
			snprintf(host, sizeof host, "%.*s", (int)hl, p);
		p += hl;
		if (*p == ':') {
			char *end;
			port = strtol(p + 1, &end, 10);
			if (end == p + 1 || port <= 0 || port > 65535) {
				snprintf(err, errlen, "invalid REDIS_URL: bad port");
				return NULL;
			}
			p = end;
		}
		if (*p == '/' && p[1]) {
			char *end;
			db = strtol(p + 1, &end, 10);
			if (*end || db < 0) {
				snprintf(err, errlen, "invalid REDIS_URL: bad database number");
				return NULL;
			}
		}
		c = timeout_ms ? redisConnectWithTimeout(host, (int)port, tv)
			       : redisConnect(host, (int)port);
	} else {
		snprintf(err, errlen, "invalid REDIS_URL: expected redis:// or unix://");
		return NULL;
	}
	if (!c || c->err) {
		snprintf(err, errlen, "cannot connect to redis at '%s:%ld': %s", host, port,
			 c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	if (timeout_ms)
		redisSetTimeout(c, tv);
	if (password[0]) {
		redisReply *r = redisCommand(c, "AUTH %s", password);
		bool ok = r && r->type != REDIS_REPLY_ERROR;
		freeReplyObject(r);
		if (!ok) {
			snprintf(err, errlen, "cannot authenticate to redis at '%s:%ld'", host,
				 port);
			redisFree(c);
			return NULL;
		}
	}
	if (db) {
		redisReply *r = redisCommand(c, "SELECT %ld", db);
		freeReplyObject(r);
	}
	return c;
}
