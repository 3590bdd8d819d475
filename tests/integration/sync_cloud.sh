#!/usr/bin/env bash
# Full sync against the Cloud simulator equals the source, row by row; a
# second sync of unchanged data writes no new row versions; migrations are a
# no-op the second time.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project ALPHA --project BETA --issues 450 --seed 7 \
	--email sync@example.com --api-token test-token

"$JS" project register ALPHA >/dev/null 2>&1
"$JS" project register BETA >/dev/null 2>&1
stats() { psql_q "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_stats
                  WHERE schemaname = current_schema() AND attname = 'issue_id'
                  AND tablename IN ('comment', 'worklog', 'issue_sprint')"; }
[ -z "$(stats)" ] || fail "fresh tables already have statistics: $(stats)"
"$JS" sync ALPHA 2>"$JS_TMP/sync.log" || { cat "$JS_TMP/sync.log"; fail "full sync"; }
# The deletions of the next pages probe these by issue_id: without
# statistics PostgreSQL would scan them whole for every page.
[ "$(stats)" = "comment,issue_sprint,worklog" ] || fail "no statistics after the first sync: $(stats)"
pass "the first sync gives comment, worklog and issue_sprint statistics"
[ "$(last_run kind)" = full ] || fail "first run should be full"
[ "$(last_run status)" = SUCCESS ] || fail "run status"
compare ALPHA
n=$(psql_q "SELECT count(*) FROM issue i JOIN project p ON p.id = i.project_id WHERE p.key = 'BETA'")
[ "$n" = 0 ] || fail "BETA issues synced without a BETA run"
seen_ins() { sleep 0.6; psql_q "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'sync_run_seen'"; }
s0=$(seen_ins)
"$JS" sync BETA 2>/dev/null || fail "sync BETA"
compare BETA
# BETA had no issues: its first full run has nothing to reconcile, so it
# records no seen ids (the next full run of ALPHA, which has issues, does).
[ "$(seen_ins)" = "$s0" ] || fail "the first full run of an empty project recorded seen ids"
pass "the first full run of an empty project skips the reconciliation bookkeeping"

# Overflow sets were paged: issues with more than 20 comments exist in Jira
# and in full in the database.
big=$(psql_q "SELECT count(*) FROM (SELECT issue_id FROM comment GROUP BY issue_id HAVING count(*) > 20) x")
[ "$big" -gt 0 ] || fail "no issue with more than 20 comments was synced"
pass "$big issues with more than 20 comments synced completely"

# Re-sync unchanged data: no new row versions in the data tables.
snap() { psql_q "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables
                 WHERE relname IN ('issue','comment','worklog','jira_user','issue_sprint','sprint')"; }
sleep 0.6 # statistics are flushed at most every 500 ms
before=$(snap)
"$JS" sync ALPHA --full 2>/dev/null || fail "second full sync"
sleep 0.6
after=$(snap)
[ "$before" = "$after" ] || fail "re-sync of unchanged data wrote rows ($before -> $after)"
[ "$(last_run issues_upserted)" = 0 ] || fail "unchanged issues counted as upserted"
pass "re-syncing unchanged data writes no new row versions"
compare ALPHA
[ "$(seen_ins)" -gt "$s0" ] || fail "a full run of a project with issues recorded no seen ids"

# A full run of a project that has issues reconciles with the ids its pages
# saw: an issue deleted in Jira is soft-deleted, the others stay live.
gone=$(psql_q "SELECT i.id FROM issue i JOIN project p ON p.id = i.project_id WHERE p.key = 'ALPHA'
	ORDER BY i.id LIMIT 1")
sim DELETE "/_sim/issues/$gone" >/dev/null
"$JS" sync ALPHA --full 2>/dev/null || fail "full sync after a deletion"
[ "$(psql_q "SELECT deleted_at IS NOT NULL FROM issue WHERE id = $gone")" = t ] ||
	fail "a full run did not soft-delete an issue deleted in Jira"
[ "$(last_run issues_deleted)" = 1 ] || fail "the full run counted $(last_run issues_deleted) deletions, not 1"
compare ALPHA
pass "a full run of a project with issues soft-deletes the one deleted in Jira"

# A sync locks only the users it changes: another transaction holding every
# user row (as a concurrent sync of another project touching the same users
# would) does not hold up a re-sync whose users are unchanged.
hold user-holder "SELECT 1 FROM jira_user FOR SHARE"
PGOPTIONS="-c lock_timeout=5000" "$JS" sync ALPHA --full 2>"$JS_TMP/locked.log" ||
	{ release; cat "$JS_TMP/locked.log"; fail "a re-sync waited on users another transaction holds"; }
release
pass "a re-sync with unchanged users does not wait on transactions holding them"

out=$("$JS" migrate 2>&1)
echo "$out" | grep -q "up to date" || fail "second migrate was not a no-op: $out"
pass "migrate twice is a no-op"

# On a terminal: a progress line with pages, issues, rate and an ETA from the
# approximate count (script(1) gives the command a pseudo-terminal).
if command -v script >/dev/null; then
	script -qec "'$JS' sync BETA --full" /dev/null >"$JS_TMP/tty.log" 2>&1 || fail "sync on a terminal"
	grep -q "pages" "$JS_TMP/tty.log" && grep -q "/~450" "$JS_TMP/tty.log" && grep -q "ETA" "$JS_TMP/tty.log" ||
		{ cat "$JS_TMP/tty.log"; fail "no progress line on a terminal"; }
	pass "a terminal shows pages, issues of the approximate count, rate and ETA"
fi
