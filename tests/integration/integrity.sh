#!/usr/bin/env bash
# Referential integrity of the synced rows (migration 0005): a row whose
# parent is missing is refused with foreign_key_violation and nothing of its
# statement stays; deleting a project, an issue or a run deletes what hangs
# off it; a parent's id cannot change; TRUNCATE issue empties its children;
# migrating down restores the foreign keys with the same rules.
set -euo pipefail
source "$(dirname "$0")/common.sh"
trap js_stop_services EXIT
js_start_services
"$JS" migrate 2>/dev/null || fail "migrate"

# sqlstate SQL -> the SQLSTATE the statement failed with ("ok" when it did not)
sqlstate() {
	local out
	if out=$(psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1); then
		echo ok
	else
		sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -n 1
	fi
}

seed() {
	psql_q "SET client_min_messages = warning; TRUNCATE project, issue, comment, worklog, issue_sprint, sync_run, sync_run_seen CASCADE" >/dev/null
	psql_q "INSERT INTO project (id, key) VALUES (1, 'ONE'), (2, 'TWO');
		INSERT INTO issue (id, project_id, key, updated) VALUES
			(10, 1, 'ONE-1', now()), (11, 1, 'ONE-2', now()), (20, 2, 'TWO-1', now());
		INSERT INTO comment (id, issue_id) VALUES (100, 10), (101, 10), (110, 11), (200, 20);
		INSERT INTO worklog (id, issue_id) VALUES (300, 10), (310, 11), (320, 20);
		INSERT INTO issue_sprint (issue_id, sprint_id) VALUES (10, 7), (11, 7), (20, 8);
		INSERT INTO sync_run (id, project_id, kind, trigger) VALUES (5, 1, 'full', 'manual');
		INSERT INTO sync_run_seen (run_id, issue_id) VALUES (5, 10), (5, 11)" >/dev/null
}
counts() {
	psql_q "SELECT (SELECT count(*) FROM issue) || ' ' || (SELECT count(*) FROM comment) || ' '
		|| (SELECT count(*) FROM worklog) || ' ' || (SELECT count(*) FROM issue_sprint) || ' '
		|| (SELECT count(*) FROM sync_run_seen)"
}

check_rules() {
	local label=$1
	seed
	[ "$(counts)" = "3 4 3 3 2" ] || fail "$label: seed: $(counts)"

	# A batch with one orphan among good rows: all of it is refused.
	[ "$(sqlstate "INSERT INTO comment (id, issue_id) VALUES (102, 10), (103, 99)")" = 23503 ] ||
		fail "$label: comment of a missing issue"
	[ "$(sqlstate "INSERT INTO worklog (id, issue_id) VALUES (301, 10), (302, 99)")" = 23503 ] ||
		fail "$label: worklog of a missing issue"
	[ "$(sqlstate "INSERT INTO issue_sprint (issue_id, sprint_id) VALUES (99, 7)")" = 23503 ] ||
		fail "$label: sprint link of a missing issue"
	[ "$(sqlstate "INSERT INTO issue (id, project_id, key, updated) VALUES (12, 1, 'ONE-3', now()), (13, 9, 'X-1', now())")" = 23503 ] ||
		fail "$label: issue of a missing project"
	[ "$(sqlstate "INSERT INTO sync_run_seen (run_id, issue_id) VALUES (99, 10)")" = 23503 ] ||
		fail "$label: seen row of a missing run"
	[ "$(counts)" = "3 4 3 3 2" ] || fail "$label: a refused statement left rows: $(counts)"
	# The sync's own statement shape: an upsert moving a row to a missing parent.
	[ "$(sqlstate "INSERT INTO comment AS c (id, issue_id) VALUES (100, 99)
		ON CONFLICT (id) DO UPDATE SET issue_id = EXCLUDED.issue_id")" = 23503 ] ||
		fail "$label: upsert to a missing issue"
	[ "$(sqlstate "UPDATE worklog SET issue_id = 99 WHERE id = 300")" = 23503 ] ||
		fail "$label: update to a missing issue"
	[ "$(psql_q "SELECT issue_id FROM comment WHERE id = 100")" = 10 ] || fail "$label: upsert moved the row"
	# Rows with parents are accepted.
	[ "$(sqlstate "INSERT INTO comment (id, issue_id) VALUES (102, 11)")" = ok ] ||
		fail "$label: a good comment was refused"
	pass "$label: a row whose parent is missing is refused (23503) with its whole statement"

	# A parent's id does not change under its children.
	[ "$(sqlstate "UPDATE issue SET id = 12 WHERE id = 11")" = 23503 ] || fail "$label: issue id changed"
	[ "$(sqlstate "UPDATE project SET id = 3 WHERE id = 2")" = 23503 ] || fail "$label: project id changed"
	[ "$(sqlstate "UPDATE issue SET summary = 'x' WHERE id = 11")" = ok ] || fail "$label: plain update refused"
	pass "$label: a parent's id cannot change while rows refer to it"

	# Deleting an issue deletes its comments, worklogs and sprint links.
	psql_q "DELETE FROM issue WHERE id = 11" >/dev/null
	[ "$(counts)" = "2 3 2 2 2" ] || fail "$label: after deleting an issue: $(counts)"
	[ "$(psql_q "SELECT count(*) FROM comment WHERE issue_id = 11")" = 0 ] || fail "$label: comments stayed"
	# Deleting a project deletes its issues and theirs, and leaves the other project alone.
	psql_q "DELETE FROM sync_run" >/dev/null
	[ "$(counts)" = "2 3 2 2 0" ] || fail "$label: after deleting the run: $(counts)"
	psql_q "DELETE FROM project WHERE id = 1" >/dev/null
	[ "$(counts)" = "1 1 1 1 0" ] || fail "$label: after deleting a project: $(counts)"
	[ "$(psql_q "SELECT string_agg(id::text, ',') FROM comment")" = 200 ] || fail "$label: wrong comment left"
	pass "$label: deleting a project, an issue or a run deletes what hangs off it"

	seed
	psql_q "SET client_min_messages = warning; TRUNCATE issue CASCADE" >/dev/null
	[ "$(counts)" = "0 0 0 0 2" ] || fail "$label: after TRUNCATE issue: $(counts)"
	pass "$label: TRUNCATE issue empties its children"
}

check_rules "statement triggers"
[ "$(psql_q "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
	AND conrelid IN ('issue'::regclass, 'comment'::regclass, 'worklog'::regclass, 'issue_sprint'::regclass)")" = 0 ] ||
	fail "foreign keys still on the synced tables"

# Down to before 0005 restores the foreign keys; the same rules hold; up again.
since_0005=$(find "$JS_ROOT/migrations" -name '[0-9]*.sql' -printf '%f\n' | awk '$0 >= "0005"' | wc -l)
"$JS" migrate --down "$since_0005" 2>/dev/null || fail "down"
[ "$(psql_q "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
	AND conrelid IN ('issue'::regclass, 'comment'::regclass, 'worklog'::regclass, 'issue_sprint'::regclass, 'sync_run_seen'::regclass)")" = 5 ] ||
	fail "down did not restore the foreign keys"
seed
[ "$(sqlstate "INSERT INTO comment (id, issue_id) VALUES (103, 99)")" = 23503 ] || fail "foreign key: orphan comment"
psql_q "DELETE FROM project WHERE id = 1" >/dev/null
[ "$(counts)" = "1 1 1 1 0" ] || fail "foreign key: cascade: $(counts)"
pass "migrating down restores the foreign keys"
psql_q "SET client_min_messages = warning; TRUNCATE project, issue, comment, worklog, issue_sprint, sync_run, sync_run_seen CASCADE" >/dev/null
"$JS" migrate 2>/dev/null || fail "up again"
check_rules "after down and up"
