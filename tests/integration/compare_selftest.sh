#!/usr/bin/env bash
# Proves that js-compare, the fidelity check the sync tests end with, can
# fail: a database that equals tests/fixtures/compare/truth.json compares
# equal, and each kind of divergence (missing/extra/soft-deleted issue, a
# changed column, a timestamp off by 1 ms, ADF differing in one value, a
# missing comment, an extra worklog, a wrong sprint link, a changed user, a
# row on another project's issue, a tracked-users sync with extras) makes it
# exit 1 naming the row and the column. Usage errors exit 2.
#
#   tests/integration/compare_selftest.sh [BUILD_DIR]   (default: $JS_BUILD, else build-test)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${JS_BUILD:-$ROOT/build-test}}
BUILD=$(cd "$BUILD" && pwd)
COMPARE=$BUILD/js-compare
FIX=$ROOT/tests/fixtures/compare
[ -x "$COMPARE" ] || { echo "no $COMPARE: build the js-compare target" >&2; exit 2; }

# shellcheck source=../../scripts/lib.sh
. "$ROOT/scripts/lib.sh"
HTTP_PID=""
cleanup() {
	[ -z "$HTTP_PID" ] || kill "$HTTP_PID" 2>/dev/null || true
	js_stop_services
}
trap cleanup EXIT
trap 'echo "compare_selftest: aborted at line $LINENO: $BASH_COMMAND" >&2' ERR
js_start_services

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$JS_PG_PORT" -U jirasync)
BASE_URL="postgres://jirasync@127.0.0.1:$JS_PG_PORT"

# The schema: the migration's up section, then the rows of a correct sync.
sed -n '/^-- migrate:up/,/^-- migrate:down/p' "$ROOT/migrations/0001_init.sql" |
	"${PSQL[@]}" -d jirasync >/dev/null
"${PSQL[@]}" -d jirasync -f "$FIX/db.sql" >/dev/null

WORK=$JS_TMP/compare
mkdir -p "$WORK"
PASS=0
FAIL=0
N=0

fail() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}

# check NAME WANT_RC MUTATION_SQL TRUTH_FILE [PATTERN...] [-- EXTRA_ARGS...]
# Runs js-compare against a fresh copy of the database with MUTATION_SQL
# applied, expects exit WANT_RC and every PATTERN (fixed strings) in its output.
check() {
	local name=$1 want=$2 sql=$3 truth=$4
	shift 4
	local patterns=() extra=()
	while [ $# -gt 0 ]; do
		if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
		patterns+=("$1"); shift
	done
	N=$((N + 1))
	local db="case_$N"
	createdb_copy "$db"
	if [ -n "$sql" ]; then
		"${PSQL[@]}" -d "$db" -c "$sql" >/dev/null
	fi
	local out rc=0
	out=$("$COMPARE" --db "$BASE_URL/$db" --project DEMO --truth-file "$truth" \
		${extra[@]+"${extra[@]}"} 2>&1) || rc=$?
	local ok=1
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, want $want"
		ok=0
	fi
	for p in ${patterns[@]+"${patterns[@]}"}; do
		if ! grep -qF -- "$p" <<<"$out"; then
			fail "$name: output lacks: $p"
			ok=0
		fi
	done
	if [ "$ok" = 1 ]; then
		PASS=$((PASS + 1))
		echo "ok   $name"
	else
		printf '%s\n' "$out" | sed 's/^/     | /' >&2
	fi
}

# A copy of the loaded database. CREATE DATABASE refuses while another
# session (an autovacuum worker, say) is connected to the template: retry.
createdb_copy() {
	local err
	for _ in $(seq 1 100); do
		err=$("${PSQL[@]}" -d postgres -c "CREATE DATABASE $1 TEMPLATE jirasync" 2>&1 >/dev/null) &&
			return 0
		grep -q "being accessed by other users" <<<"$err" || break
		sleep 0.1
	done
	echo "cannot copy the database: $err" >&2
	return 1
}

TRUTH=$FIX/truth.json
BOB=557058:f58131cb-b67d-43c7-b30d-6b58d40bd077
ALICE=5b10a2844c20165700ede21g

# --- equal ---------------------------------------------------------------
check "equal copy" 0 "" "$TRUTH" \
	"js-compare: DEMO equal: 3 issues, 3 comments, 2 worklogs, 2 sprints, 3 users"
check "quiet equal copy prints nothing" 0 "" "$TRUTH" -- --quiet
out=$("$COMPARE" --db "$BASE_URL/case_1" --project DEMO --truth-file "$TRUTH" --quiet)
[ -z "$out" ] || fail "--quiet printed: $out"

# --- issues ---------------------------------------------------------------
check "missing issue" 1 "DELETE FROM issue WHERE id = 10003" "$TRUTH" \
	"issue 10003 (DEMO-3): missing from db" "js-compare: DEMO differs"
check "extra issue" 1 \
	"INSERT INTO issue (id, project_id, key, updated) VALUES (10004, 1, 'DEMO-4', now())" "$TRUTH" \
	"issue 10004 (DEMO-4): extra in db (not live in jira)"
check "changed summary" 1 \
	"UPDATE issue SET summary = 'Login fails with 🔥 emoji in passwd' WHERE id = 10001" "$TRUTH" \
	'issue 10001 (DEMO-1): summary: db "Login fails with 🔥 emoji in passwd" != jira "Login fails with 🔥 emoji in password"'
check "updated off by 1 ms" 1 \
	"UPDATE issue SET updated = updated + interval '1 millisecond' WHERE id = 10002" "$TRUTH" \
	"issue 10002 (DEMO-2): updated: db 1700200001000 (2023-11-17T05:46:41.000Z) != jira 1700200000999 (2023-11-17T05:46:40.999Z)"
check "soft-deleted live issue" 1 "UPDATE issue SET deleted_at = now() WHERE id = 10001" "$TRUTH" \
	"issue 10001 (DEMO-1): soft-deleted in db but live in jira" \
	"comment 20001 (issue 10001): live in jira but on a soft-deleted issue in db"
check "ADF differing in one value" 1 \
	"UPDATE issue SET description_adf = jsonb_set(description_adf, '{content,0,content,0,text}', '\"Steps: type 😀 than \"') WHERE id = 10001" \
	"$TRUTH" \
	'issue 10001 (DEMO-1): descriptionAdf: at $.content[0].content[0].text: db "Steps: type 😀 than " != jira "Steps: type 😀 then "'
check "ADF number changed" 1 \
	"UPDATE issue SET description_adf = jsonb_set(description_adf, '{content,0,attrs,weight}', '2.51') WHERE id = 10003" \
	"$TRUTH" "issue 10003 (DEMO-3): descriptionAdf: at \$.content[0].attrs.weight: db 2.51 != jira 2.5"
check "ADF member added" 1 \
	"UPDATE issue SET description_adf = description_adf || '{\"extra\": true}' WHERE id = 10003" \
	"$TRUTH" "issue 10003 (DEMO-3): descriptionAdf: at \$.extra: db true != jira (absent)"
check "description text null" 1 "UPDATE issue SET description = NULL WHERE id = 10003" "$TRUTH" \
	'issue 10003 (DEMO-3): descriptionText: db null != jira "1. mix 🧪\n2. wait"'
check "labels reordered" 1 "UPDATE issue SET labels = '{𝓊𝓃𝒾𝒸ℴ𝒹ℯ,backend}' WHERE id = 10001" "$TRUTH" \
	'issue 10001 (DEMO-1): labels: db ["𝓊𝓃𝒾𝒸ℴ𝒹ℯ","backend"] != jira ["backend","𝓊𝓃𝒾𝒸ℴ𝒹ℯ"]'
check "assignee changed" 1 "UPDATE issue SET assignee_id = '$BOB' WHERE id = 10001" "$TRUTH" \
	"issue 10001 (DEMO-1): assignee: db \"$BOB\" != jira \"$ALICE\""
check "issue in another project" 1 "UPDATE issue SET project_id = 2 WHERE id = 10002" "$TRUTH" \
	"issue 10002 (DEMO-2): in project OTHER in db, not DEMO" \
	"worklog 30002 (issue 10002): belongs to an issue of project OTHER in db"

# --- sprint links and sprints ----------------------------------------------
check "wrong sprint link" 1 "UPDATE issue_sprint SET sprint_id = 7 WHERE issue_id = 10002" "$TRUTH" \
	"issue 10002 (DEMO-2): sprint link 7: extra in db" \
	"issue 10002 (DEMO-2): sprint link 8: missing from db"
check "sprint state changed" 1 "UPDATE sprint SET state = 'closed' WHERE id = 8" "$TRUTH" \
	'sprint 8 (DEMO Sprint 2): state: db "closed" != jira "active"'
check "sprint not linked to project" 1 "DELETE FROM project_sprint WHERE sprint_id = 7" "$TRUTH" \
	"sprint 7 (DEMO Sprint 1 🏁): not linked to project DEMO in db"

# --- comments and worklogs --------------------------------------------------
check "missing comment" 1 "DELETE FROM comment WHERE id = 20002" "$TRUTH" \
	"comment 20002 (issue 10001): missing from db"
check "comment updated by other user" 1 \
	"UPDATE comment SET update_author_id = '$BOB' WHERE id = 20002" "$TRUTH" \
	"comment 20002 (issue 10001): updateAuthor: db \"$BOB\" != jira \"$ALICE\""
check "comment moved to another project's issue" 1 \
	"UPDATE comment SET issue_id = 50001 WHERE id = 20003" "$TRUTH" \
	"comment 20003 (issue 50001): belongs to an issue of project OTHER in db"
check "extra worklog" 1 \
	"INSERT INTO worklog (id, issue_id, started, time_spent_seconds) VALUES (30003, 10003, now(), 60)" \
	"$TRUTH" "worklog 30003 (issue 10003): extra in db"
check "worklog time spent changed" 1 \
	"UPDATE worklog SET time_spent_seconds = 3601 WHERE id = 30001" "$TRUTH" \
	"worklog 30001 (issue 10001): timeSpentSeconds: db 3601 != jira 3600"

# --- users ------------------------------------------------------------------
check "changed user display name" 1 \
	"UPDATE jira_user SET display_name = 'Bob Builder' WHERE account_id = '$BOB'" "$TRUTH" \
	"user \"$BOB\": displayName: db \"Bob Builder\" != jira \"Bob 𝄞 Builder\""
check "user deactivated" 1 \
	"UPDATE jira_user SET active = false WHERE account_id = '$ALICE'" "$TRUTH" \
	"user \"$ALICE\": active: db false != jira true"
check "missing user" 1 "DELETE FROM jira_user WHERE account_id = '712020:bot-automation'" "$TRUTH" \
	'user "712020:bot-automation": missing from db'

# --- the truth side changes -------------------------------------------------
jq '(.issues[] | select(.id == 10001) | .labels) |= . + ["zzz"]
    | (.comments[] | select(.id == 20001) | .bodyAdf.content[0].content[0].text) = "Confirmed 👎"' \
	"$TRUTH" >"$WORK/truth-changed.json"
check "truth changed label and comment ADF" 1 "" "$WORK/truth-changed.json" \
	'issue 10001 (DEMO-1): labels: db ["backend","𝓊𝓃𝒾𝒸ℴ𝒹ℯ"] != jira ["backend","𝓊𝓃𝒾𝒸ℴ𝒹ℯ","zzz"]' \
	'comment 20001 (issue 10001): bodyAdf: at $.content[0].content[0].text: db "Confirmed 👍" != jira "Confirmed 👎"'

# Many differences: at most 20 lines per category, then a count.
check "many differences are capped" 1 \
	"INSERT INTO issue (id, project_id, key, updated) SELECT g, 1, 'DEMO-' || g, now() FROM generate_series(11000, 11029) g" \
	"$TRUTH" "... and 10 more extra issues differences" "js-compare: DEMO differs: 30 differences (extra issues 30)"

# --- tracked users: the truth holds only Alice's issues ---------------------
jq --arg a "$ALICE" '(.issues |= map(select(.assignee == $a or .reporter == $a)))
    | ([.issues[].id]) as $ids
    | .comments |= map(select(.issueId as $i | $ids | index($i)))
    | .worklogs |= map(select(.issueId as $i | $ids | index($i)))' \
	"$TRUTH" >"$WORK/truth-tracked.json"
check "tracked: issues outside the set were synced" 1 "" "$WORK/truth-tracked.json" \
	"issue 10002 (DEMO-2): extra in db: not in jira's tracked set (assignee null, reporter $BOB)" \
	"issue 10003 (DEMO-3): extra in db: not in jira's tracked set" -- --tracked "$ALICE"
check "tracked: only the tracked issues" 0 "DELETE FROM issue WHERE id IN (10002, 10003)" \
	"$WORK/truth-tracked.json" \
	"js-compare: DEMO equal: 1 issues, 2 comments, 1 worklogs, 2 sprints, 3 users" -- --tracked "$ALICE"

# --- truth over HTTP (the simulator's path and query) -----------------------
mkdir -p "$WORK/www/_sim"
cp "$TRUTH" "$WORK/www/_sim/truth"
HTTP_PORT=$(js_free_port)
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK/www" \
	>"$WORK/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 200); do
	curl -fsS "http://127.0.0.1:$HTTP_PORT/_sim/truth" >/dev/null 2>&1 && break
	sleep 0.1
done
N=$((N + 1))
rc=0
out=$("$COMPARE" --db "$BASE_URL/case_1" --project DEMO --truth-url "http://127.0.0.1:$HTTP_PORT/" \
	--tracked "$ALICE,$BOB" 2>&1) || rc=$?
if [ "$rc" = 0 ] && grep -qF "GET /_sim/truth?project=DEMO&tracked=$ALICE,557058%3Af58131cb" "$WORK/http.log"; then
	PASS=$((PASS + 1)); echo "ok   truth over http"
else
	fail "truth over http: exit $rc: $out"; cat "$WORK/http.log" >&2
fi
kill "$HTTP_PID" 2>/dev/null || true
wait "$HTTP_PID" 2>/dev/null || true
HTTP_PID=""

# --- errors exit 2 with one line --------------------------------------------
expect_error() {
	local name=$1 pattern=$2; shift 2
	local out rc=0
	out=$("$COMPARE" "$@" 2>&1) || rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "$pattern" <<<"$out"; then
		PASS=$((PASS + 1)); echo "ok   $name"
	else
		fail "$name: exit $rc, output: $out"
	fi
}
printf '{"project": {"key": "DEMO"}, "issues": [' >"$WORK/truncated.json"
jq '.project.key = "OTHER"' "$TRUTH" >"$WORK/other.json"
jq 'del(.issues[0].summary)' "$TRUTH" >"$WORK/nosummary.json"
DEAD_PORT=$(js_free_port)
expect_error "no project" "--project is required" --db "$BASE_URL/case_1" --truth-file "$TRUTH"
expect_error "no truth" "exactly one of --truth-url and --truth-file" --db "$BASE_URL/case_1" --project DEMO
expect_error "unknown flag" "unknown argument '--frobnicate'" --db "$BASE_URL/case_1" --project DEMO \
	--truth-file "$TRUTH" --frobnicate
expect_error "unreadable truth" "cannot read truth file" --db "$BASE_URL/case_1" --project DEMO \
	--truth-file "$WORK/absent.json"
expect_error "truncated truth" "truth is not a JSON object" --db "$BASE_URL/case_1" --project DEMO \
	--truth-file "$WORK/truncated.json"
expect_error "truth of another project" "truth is for project 'OTHER', not 'DEMO'" \
	--db "$BASE_URL/case_1" --project DEMO --truth-file "$WORK/other.json"
expect_error "truth without a field" "truth: issue #0: field 'summary' is missing" \
	--db "$BASE_URL/case_1" --project DEMO --truth-file "$WORK/nosummary.json"
expect_error "database down" "cannot connect to postgresql" \
	--db "postgres://jirasync@127.0.0.1:$DEAD_PORT/jirasync" --project DEMO --truth-file "$TRUTH"
expect_error "simulator down" "cannot fetch truth from 'http://127.0.0.1:$DEAD_PORT/_sim/truth?project=DEMO'" \
	--db "$BASE_URL/case_1" --project DEMO --truth-url "http://127.0.0.1:$DEAD_PORT"
# A project the database does not know is a difference, not an error.
check "project missing from db" 1 "DELETE FROM project WHERE key = 'DEMO'" "$TRUTH" \
	"project DEMO: missing from db"

# --- the simulator's own truth -----------------------------------------------
# Its generated data (both flavours), loaded faithfully by load_truth.sql,
# compares equal over --truth-url; after a change in the simulator that the
# database did not follow, the differences name the changed rows.
sim_case() {
	local flavour=$1 key=$2
	js_start_sim "$BUILD" --flavour "$flavour" --project "$key" --issues 40 --seed 11
	# js_start_sim waits 10 s; an ASan build on a loaded machine may need more.
	for _ in $(seq 1 200); do
		curl -fsS "$JS_SIM_URL/_sim/health" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fsS "$JS_SIM_URL/_sim/health" >/dev/null || { cat "$JS_TMP/sim.log" >&2; return 1; }
	local db="sim_$flavour"
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $db" >/dev/null
	sed -n '/^-- migrate:up/,/^-- migrate:down/p' "$ROOT/migrations/0001_init.sql" |
		"${PSQL[@]}" -d "$db" >/dev/null
	curl -fsS "$JS_SIM_URL/_sim/truth?project=$key" >"$WORK/sim-$flavour.json"
	"${PSQL[@]}" -d "$db" -v truth="$WORK/sim-$flavour.json" -f "$FIX/load_truth.sql" >/dev/null
	local counts out rc=0
	counts=$(jq -r '"\(.issues|length) issues, \(.comments|length) comments, \(.worklogs|length) worklogs, \(.sprints|length) sprints, \(.users|length) users"' \
		"$WORK/sim-$flavour.json")
	out=$("$COMPARE" --db "$BASE_URL/$db" --project "$key" --truth-url "$JS_SIM_URL" 2>&1) || rc=$?
	if [ "$rc" = 0 ] && [ "$out" = "js-compare: $key equal: $counts" ]; then
		PASS=$((PASS + 1)); echo "ok   simulator $flavour truth loaded faithfully compares equal"
	else
		fail "simulator $flavour equal: exit $rc: $out"
	fi
	local issue wl wl_issue
	issue=$(jq -r '.issues[3].id' "$WORK/sim-$flavour.json")
	wl=$(jq -r '.worklogs[0].id' "$WORK/sim-$flavour.json")
	wl_issue=$(jq -r '.worklogs[0].issueId' "$WORK/sim-$flavour.json")
	curl -fsS -X POST -H 'Content-Type: application/json' -d '{"summary": "Renamed in Jira 🪐"}' \
		"$JS_SIM_URL/_sim/issues/$issue" >/dev/null
	curl -fsS -X DELETE "$JS_SIM_URL/_sim/worklogs/$wl" >/dev/null
	rc=0
	out=$("$COMPARE" --db "$BASE_URL/$db" --project "$key" --truth-url "$JS_SIM_URL" 2>&1) || rc=$?
	if [ "$rc" = 1 ] && grep -qF "issue $issue ($key-" <<<"$out" &&
		grep -qF '!= jira "Renamed in Jira 🪐"' <<<"$out" &&
		grep -qE "^issue $issue \($key-[0-9]+\): updated: " <<<"$out" &&
		grep -qF "worklog $wl (issue $wl_issue): extra in db" <<<"$out"; then
		PASS=$((PASS + 1)); echo "ok   simulator $flavour changes the database missed are named"
	else
		fail "simulator $flavour changed: exit $rc"; printf '%s\n' "$out" | sed 's/^/     | /' >&2
	fi
	kill "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
	wait "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
	rm -f "$JS_TMP/sim.pid"
}
if [ -x "$BUILD/jira-sim" ]; then
	sim_case cloud SIMC
	sim_case dc SIMD
else
	echo "skip simulator round trip: no $BUILD/jira-sim"
fi

echo "compare_selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
