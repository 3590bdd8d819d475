/*
 * Statements in one libpq pipeline, read back after one sync point.
 */
#include "store/pipe.h"

#include <stdio.h>
#include <string.h>

#define BEGIN_TAG (-1)

static void conn_error(PGconn *db, const char *what, char *err, size_t errlen)
{
	const char *m = PQerrorMessage(db);
	snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
}

int pipe_open(struct pipe *p, PGconn *db, bool begin, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->db = db;
	bool idle = PQtransactionStatus(db) == PQTRANS_IDLE;
	if (!PQenterPipelineMode(db)) {
		conn_error(db, "cannot start a pipeline", err, errlen);
		return -1;
	}
	if (begin && idle)
		pipe_send(p, BEGIN_TAG, "BEGIN", NULL, 0, NULL, NULL, NULL);
	return 0;
}

void pipe_send(struct pipe *p, int tag, const char *sql, const char *ps_name, int n_params,
	       const char *const *values, const int *lengths, const int *formats)
{
	if (p->failed)
		return;
	if (p->n >= PIPE_MAX ||
	    !(ps_name ? PQsendQueryPrepared(p->db, ps_name, n_params, values, lengths, formats, 0)
		      : PQsendQueryParams(p->db, sql, n_params, NULL, values, lengths, formats,
					  0))) {
		p->failed = true;
		return;
	}
	p->tag[p->n++] = tag;
}

int pipe_finish(struct pipe *p, void (*on_result)(void *ud, int tag, PGresult *r), void *ud,
		const char *what, char *err, size_t errlen)
{
	int rc = 0;
	if (p->failed) {
		conn_error(p->db, what, err, errlen);
		rc = -1;
	}
	if (!PQpipelineSync(p->db)) {
		if (rc == 0)
			conn_error(p->db, what, err, errlen);
		(void)PQexitPipelineMode(p->db);
		return -1;
	}
	for (int i = 0; i < p->n; i++) {
		PGresult *r = PQgetResult(p->db);
		if (!r) {
			if (rc == 0)
				snprintf(err, errlen, "%s: missing result", what);
			rc = -1;
			break;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (on_result && p->tag[i] != BEGIN_TAG)
				on_result(ud, p->tag[i], r);
		} else if (rc == 0) {
			/* The first failure; the statements after it were skipped. */
			const char *m = PQresultErrorMessage(r);
			if (!*m)
				m = PQerrorMessage(p->db);
			snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			snprintf(p->sqlstate, sizeof p->sqlstate, "%s", state ? state : "");
			rc = -1;
		} else {
			rc = -1;
		}
		PQclear(r);
		r = PQgetResult(p->db); /* the NULL that ends each statement */
		if (r)
			PQclear(r);
	}
	/* Up to and including the sync point (bounded: a broken connection
	 * answers NULL for ever). */
	for (int guard = 0; guard < 1000; guard++) {
		PGresult *r = PQgetResult(p->db);
		if (!r) {
			if (PQstatus(p->db) != CONNECTION_OK) {
				rc = -1;
				break;
			}
			continue;
		}
		ExecStatusType st = PQresultStatus(r);
		PQclear(r);
		if (st == PGRES_PIPELINE_SYNC)
			break;
		if (st == PGRES_FATAL_ERROR && PQstatus(p->db) != CONNECTION_OK) {
			rc = -1;
			break;
		}
	}
	if (!PQexitPipelineMode(p->db) && rc == 0) {
		snprintf(err, errlen, "%s: pipeline still busy", what);
		rc = -1;
	}
	return rc;
}
