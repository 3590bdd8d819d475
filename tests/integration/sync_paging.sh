#!/usr/bin/env bash
# Issues changed while a full sync is paging are not lost: updates and
# creations made between pages are in the database when the run ends, and
# deletions made meanwhile are found by the next reconciling run.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project PAG --issues 900 --seed 13 --feed-lag-ms 0
"$JS" project register PAG >/dev/null 2>&1
# Slow every search page down so that the changes land mid-run.
sim POST /_sim/faults '{"path":"/rest/api/3/search/jql","kind":"delay","count":12,"delayMs":250}' >/dev/null

"$JS" sync PAG 2>"$JS_TMP/sync.log" &
pid=$!
sleep 0.8
# The oldest issues were read on the first page: updating them moves them
# behind the cursor. Create a few, delete a few.
sim GET /_sim/truth?project=PAG >"$JS_TMP/truth.json"
ids=($(grep -o '"id":[0-9]*,"key":"PAG-[0-9]*"' "$JS_TMP/truth.json" | awk -F'[:,]' 'NR <= 12 {print $2}'))
[ ${#ids[@]} -ge 12 ] || fail "could not read issue ids from the truth"
for i in 0 1 2 3 4 5; do sim POST "/_sim/issues/${ids[$i]}" "{\"summary\":\"changed mid-run $i\"}" >/dev/null; done
for i in 1 2 3; do sim POST /_sim/issues "{\"project\":\"PAG\",\"summary\":\"created mid-run $i\"}" >/dev/null; done
for i in 8 9; do sim DELETE "/_sim/issues/${ids[$i]}" >/dev/null; done
kill -0 "$pid" 2>/dev/null || fail "the sync ended before the changes; slow it down more"
wait "$pid" || { cat "$JS_TMP/sync.log"; fail "full sync"; }

for i in 0 1 2 3 4 5; do
	s=$(psql_q "SELECT summary FROM issue WHERE id = ${ids[$i]}")
	[ "$s" = "changed mid-run $i" ] || fail "update made mid-run lost: ${ids[$i]} has '$s'"
done
n=$(psql_q "SELECT count(*) FROM issue WHERE summary LIKE 'created mid-run %'")
[ "$n" = 3 ] || fail "issues created mid-run: $n of 3"
pass "updates and creations made while the full sync paged are in the database"

export RECONCILE_EVERY=0
"$JS" sync PAG 2>/dev/null || fail "reconciling run"
compare PAG
for i in 8 9; do
	[ "$(psql_q "SELECT deleted_at IS NOT NULL FROM issue WHERE id = ${ids[$i]}")" = t ] ||
		fail "issue deleted mid-run not soft-deleted"
done
pass "deletions made mid-run are found by the next reconciling run"
no_duplicates
