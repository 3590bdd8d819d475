#!/usr/bin/env bash
# The Jira simulator behaves like Jira where the sync depends on it: its
# search pages, boards and sprints have the shapes of the real captures in
# tests/fixtures/jira-captures/, JQL date strings are read in the caller's
# time zone, page tokens are keyset positions, Data Center refuses deep
# offsets, enhanced search embeds at most 20 comments/worklogs, faults fire
# exactly `count` times, and the truth export follows mutations.
# Needs only bash, curl and GNU date; JSON is read with `jira-sim --json`.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
trap js_stop_services EXIT

BUILD=${JS_BUILD_DIR:-$JS_ROOT/build}
if [ ! -x "$BUILD/jira-sim" ]; then
	cmake -S "$JS_ROOT" -B "$BUILD" -DJIRASYNC_WERROR=ON >/dev/null
	cmake --build "$BUILD" --target jira-sim -j"$(nproc)" >/dev/null
fi
SIM="$BUILD/jira-sim"
FIX="$JS_ROOT/tests/fixtures/jira-captures"
JS_TMP=$(mktemp -d /tmp/jirasync-sim.XXXXXX)
export JS_TMP
T=$JS_TMP

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "not ok - $1" >&2; }
check() { # check NAME COMMAND...
	local name=$1; shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
eq() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'" >&2; return 1; }; }
j() { "$SIM" --json "$@"; }

# req METHOD PATH [BODY] -> status on stdout; body in $T/body, headers in $T/hdr
req() {
	local method=$1 path=$2 body=${3:-}
	local args=(-s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$method")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	curl "${args[@]}" "$JIRA_BASE_URL$path" || true
}

stop_sim() {
	if [ -f "$JS_TMP/sim.pid" ]; then
		kill "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
		wait "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
		rm -f "$JS_TMP/sim.pid"
	fi
}

FIELDS=summary,issuetype,project,status,priority,assignee,reporter,creator,created,updated,resolutiondate,resolution,labels,description,comment,worklog,customfield_10020
FIELDS_JSON="[\"${FIELDS//,/\",\"}\"]"

check "generated ADF text follows the documented rules" "$SIM" --self-test --seed 7

# ---------------------------------------------------------------- Cloud ----
js_start_sim "$BUILD" --seed 11 --issues 200 --feed-lag-ms 0
search() { # search JQL [extra json members]
	req POST /rest/api/3/search/jql "{\"jql\":\"$1\"${2:+,$2}}"
}

st=$(search 'project = DEMO ORDER BY updated ASC, key ASC' "\"maxResults\":100,\"fields\":$FIELDS_JSON")
cp "$T/body" "$T/page.json"
check "cloud search answers 200" eq "$st" 200
check "cloud search page has 100 issues" eq "$(j "$T/page.json" issues.#)" 100
check "cloud page fields match the real capture's shapes" "$SIM" --check-shape "$T/page.json" \
	"$FIX/cloud-v3-search-page.json" --at issues --fields "$FIELDS" \
	--optional '[].fields.worklog.worklogs[].comment' --nullable '[].fields.priority'
check "cloud page has a nextPageToken and isLast=false" \
	eq "$(j "$T/page.json" isLast)" false
check "only requested fields are returned" eq "$(j "$T/page.json" issues.0.fields.#)" 17
check "timestamps are in the caller's zone" \
	bash -c "grep -q '\"updated\":\"[0-9T:.-]*-0800\"' '$T/page.json'"

st=$(search 'project = DEMO')
check "default fields are id only" eq "$(j "$T/body" issues.0)" "{\"id\":\"$(j "$T/page.json" issues.0.id)\"}"

req GET /rest/agile/1.0/board/1 >/dev/null
check "board matches agile-board.json" "$SIM" --check-shape "$T/body" "$FIX/agile-board.json"
req GET '/rest/agile/1.0/board?projectKeyOrId=DEMO' >/dev/null
check "project has a scrum and a kanban board" eq "$(j "$T/body" values.0.type values.1.type total | tr '\n' ' ')" "scrum kanban 2 "
req GET '/rest/agile/1.0/board/1/sprint?state=future' >/dev/null
check "future sprints match agile-board-sprints.json" "$SIM" --check-shape "$T/body" "$FIX/agile-board-sprints.json"
req GET /rest/agile/1.0/board/1/sprint >/dev/null
cp "$T/body" "$T/sprints.json"
check "sprint list matches agile-sprints-server.json" "$SIM" --check-shape "$T/sprints.json" "$FIX/agile-sprints-server.json"
check "sprint list has no total" eq "$(j "$T/sprints.json" total 2>/dev/null || true)" MISSING
active=$(grep -o '"id":[0-9]*,"self":"[^"]*","state":"active"' "$T/sprints.json" | head -1 | sed 's/"id":\([0-9]*\).*/\1/')
req GET "/rest/agile/1.0/sprint/$active" >/dev/null
check "active sprint matches agile-sprint.json" "$SIM" --check-shape "$T/body" "$FIX/agile-sprint.json"
st=$(req GET /rest/agile/1.0/board/2/sprint)
check "kanban board refuses sprints with 400" eq "$st $(cat "$T/body")" \
	'400 {"errorMessages":["The board does not support sprints"],"errors":{}}'

# Embedded limits: every 40th issue has 25-45 comments and worklogs.
req GET '/_sim/truth?project=DEMO' >/dev/null
cp "$T/body" "$T/truth.json"
check "truth lists DEMO-40 at index 39" eq "$(j "$T/truth.json" issues.39.key)" DEMO-40
u40=$(j "$T/truth.json" issues.39.updated)
req GET '/rest/api/3/issue/DEMO-40/comment' >/dev/null
ctotal=$(j "$T/body" total)
req GET '/rest/api/3/issue/DEMO-40/worklog' >/dev/null
wtotal=$(j "$T/body" total)
check "heavy issue has more than 20 comments and worklogs" test "$ctotal" -gt 20 -a "$wtotal" -gt 20
search "project = DEMO AND updated >= $u40 AND updated <= $u40" '"fields":["comment","worklog"]' >/dev/null
check "the updated range finds DEMO-40" eq "$(j "$T/body" issues.0.key)" DEMO-40
check "search embeds 20 comments of $ctotal" eq "$(j "$T/body" issues.0.fields.comment.comments.# issues.0.fields.comment.maxResults issues.0.fields.comment.total | tr '\n' ' ')" "20 20 $ctotal "
check "search embeds 20 worklogs of $wtotal" eq "$(j "$T/body" issues.0.fields.worklog.worklogs.# issues.0.fields.worklog.total | tr '\n' ' ')" "20 $wtotal "
req GET "/rest/api/3/issue/DEMO-40/comment?startAt=0&maxResults=100&orderBy=created" >/dev/null
check "per-issue comments return all of them" eq "$(j "$T/body" comments.# total maxResults | tr '\n' ' ')" "$ctotal $ctotal 100 "
req GET "/rest/api/3/issue/DEMO-40/comment?startAt=20&maxResults=10" >/dev/null
check "per-issue comments page by startAt" eq "$(j "$T/body" comments.# startAt | tr '\n' ' ')" "10 20 "
req GET "/rest/api/3/issue/DEMO-40/worklog" >/dev/null
check "per-issue worklogs default to 5000 per page" eq "$(j "$T/body" worklogs.# maxResults | tr '\n' ' ')" "$wtotal 5000 "

# JQL date strings are read in the caller's zone (America/Los_Angeles, -0800).
upd=$(j "$T/truth.json" issues.100.updated)
minute=$((upd / 60000 * 60000))
la=$(date -u -d "@$(((minute / 1000) - 8 * 3600))" '+%Y-%m-%d %H:%M')
utc=$(date -u -d "@$((minute / 1000))" '+%Y-%m-%d %H:%M')
count() { req POST /rest/api/3/search/approximate-count "{\"jql\":\"$1\"}" >/dev/null; j "$T/body" count; }
c_ms=$(count "project = DEMO AND updated >= $minute")
c_la=$(count "project = DEMO AND updated >= \\\"$la\\\"")
c_utc=$(count "project = DEMO AND updated >= \\\"$utc\\\"")
check "a date string in the caller's zone equals the epoch-ms bound" eq "$c_la" "$c_ms"
check "a UTC-formatted date string skips updates (the trap)" test "$c_utc" -lt "$c_la"
la_slash=${la//-//}
check "yyyy/MM/dd HH:mm is accepted" eq "$(count "project = DEMO AND updated >= \\\"$la_slash\\\"")" "$c_ms"
check "a date without time is midnight in the caller's zone" eq \
	"$(count "project = DEMO AND updated >= \\\"${la:0:10}\\\"")" \
	"$(count "project = DEMO AND updated >= $(( $(date -u -d "${la:0:10}" +%s) * 1000 + 8 * 3600000 ))")"
st=$(search 'project = DEMO AND updated >= \"2024-13-40\"')
check "an invalid date is a 400" eq "$st" 400
st=$(search 'project = NOPE')
check "an unknown project is a 400 naming it" eq "$st $(j "$T/body" errorMessages.0)" \
	"400 The value 'NOPE' does not exist for the field 'project'."
st=$(search 'order by key desc')
check "an unbounded query is a 400" eq "$st" 400
st=$(search 'project = DEMO AND summary ~ foo')
check "unsupported JQL is a 400 with errorMessages" eq "$st $(j "$T/body" errors)" "400 {}"

# Page tokens are keyset positions: an issue updated while paging is seen again later.
st=$(search 'project = DEMO ORDER BY updated ASC' '"maxResults":50')
first=$(j "$T/body" issues.0.id)
tok=$(j "$T/body" nextPageToken)
all=$(grep -o '"id":"[0-9]*"' "$T/body")
req POST "/_sim/issues/$first" '{"summary":"Edited while a sync pages"}' >/dev/null
st=$(search 'project = DEMO AND updated >= 0 ORDER BY updated ASC' "\"nextPageToken\":\"$tok\"")
check "a token from another JQL is a 400" eq "$st" 400
pages=1
while [ "$tok" != MISSING ]; do
	search 'project = DEMO ORDER BY updated ASC' "\"maxResults\":50,\"nextPageToken\":\"$tok\"" >/dev/null
	all="$all"$'\n'"$(grep -o '"id":"[0-9]*"' "$T/body" || true)"
	tok=$(j "$T/body" nextPageToken || true)
	pages=$((pages + 1))
done
check "paging returns every issue ($pages pages)" eq "$(echo "$all" | sort -u | wc -l)" 200
check "the issue updated mid-paging is returned again" eq "$(echo "$all" | grep -c "\"id\":\"$first\"")" 2
st=$(search 'project = DEMO' '"nextPageToken":"garbage!"')
check "a malformed token is a 400" eq "$st" 400

# Faults fire exactly count times.
req POST /_sim/stats/reset >/dev/null
req POST /_sim/faults '{"path":"/rest/api/3/search/jql","kind":"429","count":2,"retryAfter":7}' >/dev/null
s1=$(search 'project = DEMO'); h1=$(tr -d '\r' <"$T/hdr")
s2=$(search 'project = DEMO'); s3=$(search 'project = DEMO')
check "429 fires twice then the request succeeds" eq "$s1 $s2 $s3" "429 429 200"
check "429 carries Retry-After and RateLimit-Reason" \
	bash -c "grep -qi '^Retry-After: 7$' <<<\"\$1\" && grep -qi '^RateLimit-Reason: jira-burst-based$' <<<\"\$1\"" _ "$h1"
req GET /rest/api/3/issue/DEMO-1/comment >/dev/null
req GET /_sim/stats >/dev/null
check "stats count every request, paths normalised" eq \
	"$(j "$T/body" total 'byPath./rest/api/3/search/jql' 'byPath./rest/api/3/issue/{id}/comment' | tr '\n' ' ')" "4 3 1 "
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"503","count":1,"retryAfter":3}' >/dev/null
check "503 answers an HTML page" eq "$(req GET /rest/api/3/myself)$(grep -c 'Page Unavailable' "$T/body")" 5031
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"404_site","count":1}' >/dev/null
check "404_site answers the site-unavailable body" eq "$(req GET /rest/api/3/myself) $(j "$T/body" errorMessage)" "404 Site temporarily unavailable"
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"403_suspended","count":1}' >/dev/null
check "403_suspended answers 403" eq "$(req GET /rest/api/3/myself)" 403
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"401","count":1}' >/dev/null
check "401 carries X-Seraph-LoginReason" eq "$(req GET /rest/api/3/myself) $(grep -ci 'X-Seraph-LoginReason: AUTHENTICATED_FAILED' "$T/hdr")" "401 1"
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"malformed","count":1}' >/dev/null
st=$(req GET /rest/api/3/myself)
check "malformed answers 200 with a non-JSON body" bash -c "[ $st = 200 ] && ! '$SIM' --json '$T/body' accountId >/dev/null 2>&1"
req POST /_sim/faults '{"path":"/rest/api/3/myself","kind":"truncated","count":1}' >/dev/null
st=$(req GET /rest/api/3/myself)
check "truncated answers 200 with cut JSON" bash -c "[ $st = 200 ] && ! '$SIM' --json '$T/body' accountId >/dev/null 2>&1"
check "after the faults the endpoint answers normally" eq "$(req GET /rest/api/3/myself) $(j "$T/body" timeZone)" "200 America/Los_Angeles"
req POST /_sim/faults '{"path":"/rest/api/3/serverInfo","kind":"drop","count":1}' >/dev/null
rc=0; curl -s -o /dev/null "$JIRA_BASE_URL/rest/api/3/serverInfo" || rc=$?
check "drop closes the connection without a response (curl exit $rc)" eq "$rc" 52
req POST /_sim/faults '{"path":"/rest/api/3/serverInfo","kind":"delay","count":1,"delayMs":400}' >/dev/null
t0=$(date +%s%N); st=$(req GET /rest/api/3/serverInfo); t1=$(date +%s%N)
check "delay answers normally after the delay" test "$st" = 200 -a $(((t1 - t0) / 1000000)) -ge 400
check "old search answers 410" eq "$(req GET /rest/api/3/search)" 410
check "unknown paths answer the dead-link page" eq "$(req GET /rest/api/3/nothing-here)$(grep -c 'dead link' "$T/body")" 4041

# Truth follows mutations.
acc=$(j "$T/truth.json" users.0.accountId)
st=$(req POST /_sim/issues "{\"project\":\"DEMO\",\"summary\":\"Brand new\",\"assignee\":\"$acc\",\"description\":\"line one\\nline two\"}")
new=$(j "$T/body" id)
check "creating an issue answers its id and key" eq "$st $(j "$T/body" key)" "201 DEMO-201"
req POST "/_sim/issues/$new/comments" '{"body":"a new comment"}' >/dev/null
cid=$(j "$T/body" id)
req POST "/_sim/issues/$new/worklogs" "{\"timeSpentSeconds\":3600,\"author\":\"$acc\",\"comment\":\"did it\"}" >/dev/null
wid=$(j "$T/body" id)
req GET "/rest/api/3/issue/$new?fields=updated" >/dev/null
before=$(j "$T/body" fields.updated)
req DELETE "/_sim/worklogs/$wid" >/dev/null
req GET "/rest/api/3/issue/$new?fields=updated" >/dev/null
check "deleting a worklog does not bump the issue" eq "$(j "$T/body" fields.updated)" "$before"
req GET '/rest/api/3/worklog/deleted?since=0' >/dev/null
check "the deleted worklog is in the deleted feed" bash -c "grep -q '\"worklogId\":$wid,' '$T/body'"
req GET "/_sim/truth?project=DEMO&tracked=$acc" >/dev/null
cp "$T/body" "$T/truth2.json"
n=$(j "$T/truth2.json" issues.#)
last=$((n - 1))
check "truth has the new issue" eq \
	"$(j "$T/truth2.json" issues.$last.id issues.$last.summary issues.$last.assignee | tr '\n' '|')" \
	"$new|Brand new|$acc|"
check "truth has the new description's text" eq "$(j "$T/truth2.json" issues.$last.descriptionText)" "line one"$'\n'"line two"
check "truth has the new comment" bash -c "grep -q '\"id\":$cid,\"issueId\":$new,' '$T/truth2.json'"
check "truth drops the deleted worklog" bash -c "! grep -q '\"id\":$wid,\"issueId\"' '$T/truth2.json'"
check "tracked truth keeps only the tracked user's issues" test "$n" -lt 201 -a "$n" -gt 0
req DELETE "/_sim/issues/$new" >/dev/null
req GET "/_sim/truth?project=DEMO" >/dev/null
check "a deleted issue leaves the truth" bash -c "! grep -q '\"id\":$new,\"key\"' '$T/body'"
check "a deleted issue leaves the search" eq "$(count 'project = DEMO')" 200
req POST /_sim/bulk-update '{"project":"DEMO","count":5}' >/dev/null
req GET '/_sim/truth?project=DEMO' >/dev/null
nb=$(grep -o '"summary":"Bulk edit' "$T/body" | wc -l)
check "bulk update touches up to 5 issues ($nb)" test "$nb" -ge 1 -a "$nb" -le 5
stop_sim

# Auth: Cloud Basic with the configured email and token.
js_start_sim "$BUILD" --issues 5 --email bot@example.com --api-token s3cret
check "cloud without credentials is a 401" eq "$(req GET /rest/api/3/myself)" 401
check "cloud with credentials is a 200" eq "$(curl -s -o /dev/null -w '%{http_code}' -u bot@example.com:s3cret "$JIRA_BASE_URL/rest/api/3/myself")" 200
stop_sim

# ------------------------------------------------------------ Data Center ----
js_start_sim "$BUILD" --flavour dc --issues 120 --seed 5 --caller-tz Asia/Kolkata --pat dc-token
dreq() { curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer dc-token' -H 'Content-Type: application/json' "$@" || true; }
st=$(dreq -X POST --data-binary '{"jql":"project = DEMO ORDER BY updated ASC, key ASC","startAt":0,"maxResults":100,"fields":["summary","issuetype","project","status","priority","assignee","updated","created","resolutiondate","labels","resolution","description","comment","worklog","customfield_10105"]}' "$JIRA_BASE_URL/rest/api/2/search")
cp "$T/body" "$T/dc.json"
check "dc search answers total and offsets" eq "$st $(j "$T/dc.json" total startAt maxResults issues.# | tr '\n' ' ')" "200 120 0 100 100 "
DCF=issuetype,project,status,priority,assignee,updated,created,resolutiondate,resolution
dreq "$JIRA_BASE_URL/rest/api/2/search?jql=project%20%3D%20DEMO&maxResults=100&fields=$DCF" >/dev/null
check "dc page fields match the Server capture's shapes" "$SIM" --check-shape "$T/body" \
	"$FIX/agile-sprint-issues-server.json" --at issues --fields "$DCF" \
	--nullable '[].fields.priority' --nullable '[].fields.resolution' --nullable '[].fields.resolutiondate' --nullable '[].fields.assignee'
check "dc descriptions are wiki strings" bash -c "grep -q '\"description\":\"' '$T/dc.json'"
check "dc sprint field holds greenhopper strings" bash -c "grep -q 'com.atlassian.greenhopper.service.sprint.Sprint@[0-9a-f]*\[id=[0-9]*,rapidViewId=' '$T/dc.json'"
check "dc timestamps are in the caller's zone" bash -c "grep -q '\"updated\":\"[0-9T:.-]*+0530\"' '$T/dc.json'"
st=$(dreq "$JIRA_BASE_URL/rest/api/2/search?jql=project%20%3D%20DEMO&startAt=9950&maxResults=100")
check "dc refuses startAt+maxResults past 10,000 with 500" eq "$st $(grep -c 'search platform limit' "$T/body")" "500 1"
st=$(dreq "$JIRA_BASE_URL/rest/api/2/search?jql=project%20%3D%20DEMO&startAt=9900&maxResults=100")
check "dc accepts a window ending at 10,000" eq "$st" 200
check "dc has no search/jql" eq "$(dreq -X POST --data-binary '{"jql":"project = DEMO"}' "$JIRA_BASE_URL/rest/api/3/search/jql")" 404
check "dc without the PAT is a 401" eq "$(curl -s -o /dev/null -w '%{http_code}' "$JIRA_BASE_URL/rest/api/2/myself")" 401
dreq "$JIRA_BASE_URL/rest/api/2/serverInfo" >/dev/null
check "dc serverInfo says Server" eq "$(j "$T/body" deploymentType)" Server
dreq "$JIRA_BASE_URL/rest/agile/1.0/board/1/sprint" >/dev/null
check "dc sprints match agile-sprints-server.json" "$SIM" --check-shape "$T/body" "$FIX/agile-sprints-server.json"
# The trap reversed: a UTC+5:30 caller sending UTC literals re-reads 5h30 of updates.
dreq "$JIRA_BASE_URL/_sim/truth?project=DEMO" >/dev/null
upd=$(j "$T/body" issues.60.updated)
minute=$((upd / 60000 * 60000))
ist=$(date -u -d "@$(((minute / 1000) + 19800))" '+%Y-%m-%d %H:%M')
dtotal() { dreq -G --data-urlencode "jql=$1" --data-urlencode maxResults=0 "$JIRA_BASE_URL/rest/api/2/search" >/dev/null; j "$T/body" total; }
check "dc date strings are read in the caller's zone" eq "$(dtotal "project = DEMO AND updated >= \"$ist\"")" "$(dtotal "project = DEMO AND updated >= $minute")"
stop_sim

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
