/*
 * store/pipe: several statements sent in one libpq pipeline and read back
 * after one sync point, so a step's statements cost one round trip. The
 * server runs them in order; after the first failure it skips the rest up
 * to the sync point. Internal to store/.
 */
#ifndef JS_STORE_PIPE_H
#define JS_STORE_PIPE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define PIPE_MAX 12

struct pipe {
	PGconn *db;
	int n;
	int tag[PIPE_MAX];
	bool failed;      /* a send failed: pipe_finish reports it */
	char sqlstate[6]; /* of the first statement that failed, or "" */
};

/* Enter pipeline mode. With begin, a BEGIN goes first when no transaction
 * is open, so the statements run in one (left open for the caller). */
int pipe_open(struct pipe *p, PGconn *db, bool begin, char *err, size_t errlen);
/* Queue one statement: sql with $n parameters, or the prepared statement
 * ps_name when it is not NULL. lengths and formats may be NULL (text). */
void pipe_send(struct pipe *p, int tag, const char *sql, const char *ps_name, int n_params,
	       const char *const *values, const int *lengths, const int *formats);
/* Sync, hand each statement's result to on_result (when not NULL) with its
 * tag, and leave pipeline mode. 0, or -1 with "what: message" in err and the
 * failing statement's SQLSTATE in p->sqlstate. */
int pipe_finish(struct pipe *p, void (*on_result)(void *ud, int tag, PGresult *r), void *ud,
		const char *what, char *err, size_t errlen);

#endif
