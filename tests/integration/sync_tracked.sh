#!/usr/bin/env bash
# Tracked users: the sync is limited to issues assigned to them or with their
# worklogs; a backfill run for added accounts fetches their whole history
# without moving the project's cursors.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project TRK --issues 400 --seed 21 --feed-lag-ms 0
"$JS" project register TRK >/dev/null 2>&1
sim GET /_sim/truth?project=TRK >"$JS_TMP/truth.json"
users=($(grep -o '"assignee":"[^"]*"' "$JS_TMP/truth.json" | cut -d'"' -f4 | sort | uniq -c | sort -rn | awk 'NR <= 2 {print $2}'))
u1=${users[0]}; u2=${users[1]}
[ -n "$u1" ] && [ -n "$u2" ] || fail "no assignees in the truth"

"$JS" project track TRK "$u1" 2>/dev/null || fail "track"
"$JS" sync TRK 2>/dev/null || fail "tracked full sync"
compare TRK --tracked "$u1"
all=$(grep -o '"key":"TRK-[0-9]*"' "$JS_TMP/truth.json" | wc -l)
got=$(psql_q "SELECT count(*) FROM issue WHERE deleted_at IS NULL")
[ "$got" -lt "$all" ] || fail "tracked sync read the whole project ($got of $all)"
pass "a tracked-user sync holds exactly that user's issues ($got of $all)"

cursor=$(psql_q "SELECT cursor_ms FROM sync_state WHERE entity = 'issue'")
"$JS" project track TRK "$u1,$u2" 2>/dev/null || fail "track two"
"$JS" sync TRK --accounts "$u2" 2>/dev/null || fail "backfill"
[ "$(psql_q "SELECT kind FROM sync_run ORDER BY id DESC LIMIT 1")" = backfill ] || fail "not a backfill run"
[ "$(psql_q "SELECT cursor_ms FROM sync_state WHERE entity = 'issue'")" = "$cursor" ] || fail "backfill moved the cursor"
compare TRK --tracked "$u1,$u2"
pass "the backfill fetched the added user's history without moving the cursor"

# Invalid account ids never reach JQL.
if "$JS" sync TRK --accounts 'x" OR project = "Y' 2>"$JS_TMP/bad.log"; then fail "invalid account id accepted"; fi
grep -q "invalid account id" "$JS_TMP/bad.log" || fail "no clear error for an invalid account id"
pass "an invalid account id is refused before any request"
