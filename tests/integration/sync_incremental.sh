#!/usr/bin/env bash
# Incremental sync after updates, creations, deletions (issues, comments,
# worklogs) and sprint changes ends equal to the source; the caller is a user
# behind UTC, so a date-string JQL would miss these updates.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project INC --issues 300 --seed 11 --feed-lag-ms 0 \
	--caller-tz America/Los_Angeles
export RECONCILE_EVERY=0   # every incremental run reconciles deletions here

"$JS" project register INC >/dev/null 2>&1
"$JS" sync INC 2>/dev/null || fail "full sync"
compare INC

ids=($(psql_q "SELECT id FROM issue ORDER BY id LIMIT 8"))
sim POST "/_sim/issues/${ids[0]}" '{"summary":"changed summary ☃ 𝄞","status":"Done"}' >/dev/null
sim POST "/_sim/issues/${ids[1]}" '{"assignee":null,"labels":["x","y"]}' >/dev/null
sim POST "/_sim/issues/${ids[2]}" '{"description":"new description"}' >/dev/null
new=$(sim POST /_sim/issues '{"project":"INC","summary":"brand new"}' | json_field id)
sim DELETE "/_sim/issues/${ids[3]}" >/dev/null
c=$(psql_q "SELECT id FROM comment WHERE issue_id = ${ids[4]} ORDER BY id LIMIT 1")
if [ -n "$c" ]; then sim DELETE "/_sim/comments/$c" >/dev/null; fi
sim POST "/_sim/issues/${ids[5]}/comments" '{"body":"a new comment"}' >/dev/null
w=$(psql_q "SELECT w.id FROM worklog w WHERE w.issue_id = ${ids[6]} ORDER BY id LIMIT 1")
if [ -z "$w" ]; then
	w=$(sim POST "/_sim/issues/${ids[6]}/worklogs" '{"timeSpentSeconds":3600}' | json_field id)
	"$JS" sync INC 2>/dev/null || fail "incremental sync (worklog added)"
fi
sim DELETE "/_sim/worklogs/$w" >/dev/null
# 30 comments on one issue: beyond the embedded limit of 20.
for i in $(seq 1 30); do sim POST "/_sim/issues/${ids[7]}/comments" "{\"body\":\"bulk $i\"}" >/dev/null; done
sp=$(sim POST /_sim/sprints '{"project":"INC","name":"Sprint new","state":"active"}' | json_field id)
sim POST "/_sim/issues/${ids[0]}" "{\"sprintIds\":[$sp]}" >/dev/null

sim POST /_sim/stats/reset >/dev/null
"$JS" sync INC 2>"$JS_TMP/inc.log" || { cat "$JS_TMP/inc.log"; fail "incremental sync"; }
[ "$(last_run kind)" = incremental ] || fail "second run should be incremental"
compare INC
[ "$(psql_q "SELECT deleted_at IS NOT NULL FROM issue WHERE id = ${ids[3]}")" = t ] || fail "deleted issue not soft-deleted"
[ "$(psql_q "SELECT count(*) FROM worklog WHERE id = $w")" = 0 ] || fail "deleted worklog still present"
[ "$(psql_q "SELECT count(*) FROM issue WHERE id = $new")" = 1 ] || fail "new issue missing"
[ "$(psql_q "SELECT count(*) FROM comment WHERE issue_id = ${ids[7]}")" -gt 30 ] || fail "overflow comments missing"
pass "updates, creations, deletions, overflow and sprint changes synced"
[ "$(last_run worklogs_deleted)" -ge 1 ] || fail "run did not count the worklog deletion"

# A deleted issue that comes back (restored) is live again.
psql_q "UPDATE issue SET summary = 'tampered' WHERE id = ${ids[0]}" >/dev/null
"$JS" sync INC --full 2>/dev/null || fail "full resync"
compare INC
pass "a full run repairs local drift"

# Sprint changes that touch no issue (a sprint closed, a future one renamed),
# read by an incremental run that does not reconcile.
unset RECONCILE_EVERY
active=$(psql_q "SELECT id FROM sprint WHERE state = 'active' ORDER BY id LIMIT 1")
future=$(psql_q "SELECT id FROM sprint WHERE state = 'future' ORDER BY id LIMIT 1")
[ -n "$active" ] && [ -n "$future" ] || fail "no active and future sprints to change"
sim POST "/_sim/sprints/$active" '{"state":"closed"}' >/dev/null
sim POST "/_sim/sprints/$future" '{"name":"Renamed future sprint"}' >/dev/null
sim POST /_sim/stats/reset >/dev/null
# No lookback here: the issues changed above would be read again otherwise.
SYNC_LOOKBACK_MINUTES=0 SPRINT_REFRESH_EVERY=0 "$JS" sync INC 2>/dev/null || fail "incremental sync (sprints)"
[ "$(last_run kind)" = incremental ] || fail "expected an incremental run"
compare INC
[ "$(psql_q "SELECT state FROM sprint WHERE id = $active")" = closed ] || fail "closed sprint not read"
pass "a sprint closed and a sprint renamed without issue changes are read incrementally"
sim GET /_sim/stats >"$JS_TMP/stats.json"; n=$(json_field total <"$JS_TMP/stats.json")
[ "$n" -le 5 ] || fail "an incremental run with nothing to read made $n requests: $(cat "$JS_TMP/stats.json")"
pass "an incremental run with only sprint changes made $n Jira requests"
