/*
 * The migration runner: migrations/NNNN_name.sql files with dbmate-style
 * "-- migrate:up" and "-- migrate:down" sections. Each file is applied in
 * its own transaction together with its schema_migrations row, all under a
 * session advisory lock, so two processes migrating at once serialise and a
 * failing migration leaves the database at the previous version.
 */
#include "store/store.h"

#include <dirent.h>

/* An arbitrary constant: the advisory lock key of the migration runner. */
#define MIGRATE_LOCK_KEY "7294611"

struct migration {
	char version[32]; /* the NNNN prefix */
	char name[256];   /* the file name */
};

static int cmp_migration(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->version,
		      ((const struct migration *)b)->version);
}

static int list_migrations(const char *dir, struct migration **out, size_t *n, char *err,
			   size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open migrations directory '%s': %s", dir,
			 strerror(errno));
		return -1;
	}
	struct migration *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		size_t digits = strspn(e->d_name, "0123456789");
		if (len < 5 || strcmp(e->d_name + len - 4, ".sql") || digits == 0 || digits >= 32 ||
		    e->d_name[digits] != '_' || len >= sizeof v->name)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		memcpy(v[cnt].version, e->d_name, digits);
		v[cnt].version[digits] = '\0';
		memcpy(v[cnt].name, e->d_name, len + 1);
		cnt++;
	}
	closedir(d);
	qsort(v, cnt, sizeof *v, cmp_migration);
	for (size_t i = 1; i < cnt; i++)
		if (strcmp(v[i].version, v[i - 1].version) == 0) {
			snprintf(err, errlen, "two migrations share version %s: '%s' and '%s'",
				 v[i].version, v[i - 1].name, v[i].name);
			free(v);
			return -1;
		}
	*out = v;
	*n = cnt;
	return 0;
}

/* The text of one section ("up" or "down") of a migration file. */
static int read_section(const char *dir, const char *name, const char *section, struct buf *out,
			char *err, size_t errlen)
{
	struct buf path, text;
	buf_init(&path, 4096);
	buf_init(&text, 16 << 20);
	int rc = -1;
	if (buf_printf(&path, "%s/%s", dir, name) < 0 || buf_read_file(&text, path.data) < 0) {
		snprintf(err, errlen, "cannot read migration '%s': %s", name, strerror(errno));
		goto out;
	}
	char marker[32];
	snprintf(marker, sizeof marker, "-- migrate:%s", section);
	const char *start = strstr(text.data, marker);
	if (!start) {
		snprintf(err, errlen, "migration '%s' has no '%s' section", name, marker);
		goto out;
	}
	start += strlen(marker);
	const char *end = strstr(start, "-- migrate:");
	size_t len = end ? (size_t)(end - start) : strlen(start);
	if (buf_append(out, start, len) < 0) {
		snprintf(err, errlen, "migration '%s' is too large", name);
		goto out;
	}
	rc = 0;
out:
	buf_release(&path);
	buf_release(&text);
	return rc;
}

static int exec_params(PGconn *db, const char *sql, int n, const char *const *vals, char *err,
		       size_t errlen)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, vals, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQerrorMessage(db);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static int lock_and_prepare(PGconn *db, char *err, size_t errlen)
{
	if (pg_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) < 0)
		return -1;
	return pg_exec(db,
		       "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       " version text PRIMARY KEY,"
		       " name text NOT NULL,"
		       " applied_at timestamptz NOT NULL DEFAULT now())",
		       err, errlen);
}

static void unlock(PGconn *db)
{
	PGresult *r = PQexec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
	PQclear(r);
}

static int is_applied(PGconn *db, const char *version, bool *applied, char *err, size_t errlen)
{
	const char *vals[1] = {version};
	PGresult *r = PQexecParams(db, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
				   NULL, vals, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *m = PQerrorMessage(db);
		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		rc = -1;
	} else {
		*applied = PQntuples(r) > 0;
	}
	PQclear(r);
	return rc;
}

/* Run one section and record (or forget) the version, in one transaction. */
static int apply_one(PGconn *db, const char *dir, const struct migration *m, bool up, char *err,
		     size_t errlen)
{
	struct buf sql;
	buf_init(&sql, 16 << 20);
	char inner[STORE_ERRLEN] = "";
	int rc = -1;
	if (read_section(dir, m->name, up ? "up" : "down", &sql, err, errlen) < 0)
		goto out;
	if (pg_exec(db, "BEGIN", inner, sizeof inner) < 0)
		goto fail;
	/* PQexec runs a multi-statement script as one implicit unit inside our
	 * transaction; any error aborts the whole file. */
	if (pg_exec(db, sql.data, inner, sizeof inner) < 0) {
		store_rollback(db);
		goto fail;
	}
	const char *vals[2] = {m->version, m->name};
	if (exec_params(db,
			up ? "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"
			   : "DELETE FROM schema_migrations WHERE version = $1",
			up ? 2 : 1, vals, inner, sizeof inner) < 0) {
		store_rollback(db);
		goto fail;
	}
	if (pg_exec(db, "COMMIT", inner, sizeof inner) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "migration '%s' failed: %s", m->name, inner);
out:
	buf_release(&sql);
	return rc;
}

int store_migrate(PGconn *db, const char *dir, int *applied, char *err, size_t errlen)
{
	struct migration *v = NULL;
	size_t n = 0;
	int rc = -1, count = 0;
	if (list_migrations(dir, &v, &n, err, errlen) < 0)
		return -1;
	if (n == 0) {
		snprintf(err, errlen, "no migrations found in '%s'", dir);
		free(v);
		return -1;
	}
	if (lock_and_prepare(db, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool done = false;
		if (is_applied(db, v[i].version, &done, err, errlen) < 0)
			goto unlock;
		if (done)
			continue;
		if (apply_one(db, dir, &v[i], true, err, errlen) < 0)
			goto unlock;
		log_info("migration applied", "name", v[i].name);
		count++;
	}
	*applied = count;
	rc = 0;
unlock:
	unlock(db);
out:
	free(v);
	return rc;
}

int store_migrate_down(PGconn *db, const char *dir, int steps, char *err, size_t errlen)
{
	struct migration *v = NULL;
	size_t n = 0;
	int rc = -1;
	if (list_migrations(dir, &v, &n, err, errlen) < 0)
		return -1;
	if (lock_and_prepare(db, err, errlen) < 0)
		goto out;
	for (size_t i = n; i > 0 && steps > 0; i--) {
		bool done = false;
		if (is_applied(db, v[i - 1].version, &done, err, errlen) < 0)
			goto unlock;
		if (!done)
			continue;
		if (apply_one(db, dir, &v[i - 1], false, err, errlen) < 0)
			goto unlock;
		log_info("migration rolled back", "name", v[i - 1].name);
		steps--;
	}
	rc = 0;
unlock:
	unlock(db);
out:
	free(v);
	return rc;
}
