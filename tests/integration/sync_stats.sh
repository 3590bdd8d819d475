#!/usr/bin/env bash
# Table statistics after the first page: when analysing a table fails (here
# another session holds a lock that ANALYZE needs and inserts do not), the
# sync warns, goes on, ends equal to Jira, and tries again on later steps; the
# tables it could analyse have statistics. Once the lock goes, the next sync
# analyses the last one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project STA --issues 300 --seed 5
"$JS" project register STA >/dev/null 2>&1

stats() { psql_q "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_stats
                  WHERE schemaname = current_schema() AND attname = 'issue_id'
                  AND tablename IN ('comment', 'worklog', 'issue_sprint')"; }
[ -z "$(stats)" ] || fail "fresh tables already have statistics: $(stats)"

# SHARE UPDATE EXCLUSIVE conflicts with ANALYZE, not with INSERT or DELETE.
hold stats-holder "BEGIN; LOCK TABLE worklog IN SHARE UPDATE EXCLUSIVE MODE"

PGOPTIONS="-c lock_timeout=300" "$JS" sync STA 2>"$JS_TMP/sync.log" ||
	{ release; tail -5 "$JS_TMP/sync.log"; fail "the sync failed because ANALYZE could not run"; }
release
[ "$(last_run status)" = SUCCESS ] || fail "run status $(last_run status)"
compare STA
warnings=$(grep -c 'cannot refresh table statistics' "$JS_TMP/sync.log" || true)
[ "$warnings" -gt 1 ] || fail "expected a warning on each step, got $warnings"
grep 'cannot refresh table statistics' "$JS_TMP/sync.log" | head -n 1 | grep -q 'worklog' ||
	fail "the warning does not name the table"
[ "$(stats)" = "comment,issue_sprint" ] || fail "statistics after the blocked sync: $(stats)"
pass "ANALYZE blocked: the sync warned on $warnings steps, went on, and equals Jira"

"$JS" sync STA 2>"$JS_TMP/sync2.log" || fail "second sync"
[ "$(stats)" = "comment,issue_sprint,worklog" ] || fail "statistics after the lock went: $(stats)"
! grep -q 'cannot refresh table statistics' "$JS_TMP/sync2.log" || fail "warned without a lock"
pass "once the lock is gone the next sync analyses the table it could not"
