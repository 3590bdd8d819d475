#!/usr/bin/env bash
# An incremental run re-reads the comment and worklog sets of changed issues
# with more than the 20 rows a search page embeds by id (comment/list,
# worklog/list: one request for many issues), and pages an issue only when it
# may hold a row we have never seen. Edits, deletions and additions in those
# sets all end equal to the source. Sprints are listed every
# SPRINT_REFRESH_EVERY, and at once when a changed issue links a new sprint.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project KS --issues 400 --seed 23 --feed-lag-ms 0

by_path() { jq -r --arg p "$1" '.byPath[$p] // 0' <"$JS_TMP/stats.json"; }
stats() { sim GET /_sim/stats >"$JS_TMP/stats.json"; }

"$JS" project register KS >/dev/null 2>&1
"$JS" sync KS 2>/dev/null || fail "full sync"
compare KS

big_c=($(psql_q "SELECT id FROM issue WHERE comment_total > 20 ORDER BY id LIMIT 5"))
big_w=($(psql_q "SELECT id FROM issue WHERE worklog_total > 20 ORDER BY id LIMIT 3"))
[ "${#big_c[@]}" -eq 5 ] && [ "${#big_w[@]}" -eq 3 ] ||
	fail "the simulated project needs issues with more than 20 comments and worklogs"
# The 25th comment of an issue is beyond what its search page embeds.
nth_comment() { psql_q "SELECT id FROM comment WHERE issue_id = $1 ORDER BY id OFFSET $2 LIMIT 1"; }
nth_worklog() { psql_q "SELECT id FROM worklog WHERE issue_id = $1 ORDER BY id OFFSET $2 LIMIT 1"; }

# Comments: an edit, a deletion, an addition, a deletion plus an addition (the
# count is unchanged, the set is not), and an issue whose summary alone changed.
sim POST "/_sim/comments/$(nth_comment "${big_c[0]}" 21)" '{"body":"edited beyond the page ☃"}' >/dev/null
sim DELETE "/_sim/comments/$(nth_comment "${big_c[1]}" 20)" >/dev/null
sim POST "/_sim/issues/${big_c[2]}/comments" '{"body":"one more"}' >/dev/null
sim DELETE "/_sim/comments/$(nth_comment "${big_c[3]}" 22)" >/dev/null
sim POST "/_sim/issues/${big_c[3]}/comments" '{"body":"a replacement"}' >/dev/null
sim POST "/_sim/issues/${big_c[4]}" '{"summary":"only the summary"}' >/dev/null
# Worklogs: an edit, and a deletion on an issue that changed otherwise.
sim POST "/_sim/worklogs/$(nth_worklog "${big_w[0]}" 21)" '{"timeSpentSeconds":4500}' >/dev/null
gone=$(nth_worklog "${big_w[1]}" 20)
sim DELETE "/_sim/worklogs/$gone" >/dev/null
sim POST "/_sim/issues/${big_w[1]}" '{"summary":"worklog removed"}' >/dev/null

sim POST /_sim/stats/reset >/dev/null
"$JS" sync KS 2>"$JS_TMP/inc.log" || { cat "$JS_TMP/inc.log"; fail "incremental sync"; }
[ "$(last_run kind)" = incremental ] || fail "second run should be incremental"
compare KS
[ "$(psql_q "SELECT count(*) FROM worklog WHERE id = $gone")" = 0 ] || fail "deleted worklog still present"
pass "edits, deletions and additions beyond the embedded 20 synced"
stats
[ "$(by_path /rest/api/3/comment/list)" = 1 ] || fail "comments not re-read by id: $(cat "$JS_TMP/stats.json")"
[ "$(by_path /rest/api/3/worklog/list)" = 1 ] || fail "worklogs not re-read by id: $(cat "$JS_TMP/stats.json")"
# Only the two issues that may hold an unseen comment are paged.
[ "$(by_path '/rest/api/3/issue/{id}/comment')" = 2 ] ||
	fail "expected 2 per-issue comment pages: $(cat "$JS_TMP/stats.json")"
[ "$(by_path '/rest/api/3/issue/{id}/worklog')" = 0 ] ||
	fail "expected no per-issue worklog pages: $(cat "$JS_TMP/stats.json")"
pass "one comment/list and one worklog/list; only issues with new comments paged"

# Sprints were listed by the full run a moment ago: not again.
[ "$(by_path /rest/agile/1.0/board)" = 0 ] || fail "sprints listed again within SPRINT_REFRESH_EVERY"
pass "an incremental run within SPRINT_REFRESH_EVERY lists no sprints"

# A changed issue that links a sprint we do not hold brings the listing at once.
sp=$(sim POST /_sim/sprints '{"project":"KS","name":"Sprint brand new","state":"active"}' | json_field id)
sim POST "/_sim/issues/${big_c[4]}" "{\"sprintIds\":[$sp]}" >/dev/null
sim POST /_sim/stats/reset >/dev/null
"$JS" sync KS 2>/dev/null || fail "incremental sync (new sprint)"
stats
[ "$(by_path /rest/agile/1.0/board)" -ge 1 ] || fail "a new sprint did not bring a listing"
[ "$(psql_q "SELECT name FROM sprint WHERE id = $sp")" = "Sprint brand new" ] || fail "new sprint missing"
compare KS
pass "a changed issue in a new sprint brings the sprint listing"

# A sprint closed without any issue change: read once the listing is due.
active=$(psql_q "SELECT s.id FROM sprint s JOIN project_sprint p ON p.sprint_id = s.id WHERE s.state = 'active' ORDER BY s.id LIMIT 1")
[ -n "$active" ] || fail "no active sprint"
sim POST "/_sim/sprints/$active" '{"state":"closed"}' >/dev/null
SYNC_LOOKBACK_MINUTES=0 "$JS" sync KS 2>/dev/null || fail "incremental sync (within refresh)"
[ "$(psql_q "SELECT state FROM sprint WHERE id = $active")" = active ] ||
	fail "sprints were listed before SPRINT_REFRESH_EVERY"
# An hour later (the last listing moved back), the listing is due.
psql_q "UPDATE sync_state SET cursor_ms = cursor_ms - 3600000 WHERE entity = 'sprint'" >/dev/null
SYNC_LOOKBACK_MINUTES=0 "$JS" sync KS 2>/dev/null || fail "incremental sync (refresh due)"
[ "$(psql_q "SELECT state FROM sprint WHERE id = $active")" = closed ] || fail "closed sprint not read when due"
compare KS
pass "a sprint closed without issue changes is read when the refresh is due"
SPRINT_REFRESH_EVERY=soon "$JS" sync KS 2>"$JS_TMP/bad.log" && fail "a malformed SPRINT_REFRESH_EVERY was accepted"
grep -q SPRINT_REFRESH_EVERY "$JS_TMP/bad.log" || fail "the error does not name SPRINT_REFRESH_EVERY"
pass "a malformed SPRINT_REFRESH_EVERY is refused with its name"
