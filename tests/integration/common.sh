# Helpers for the sync integration tests: a build to test, private services,
# the simulator, and assertions. Source it after `set -euo pipefail`.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"

: "${JS_BUILD:=$JS_ROOT/build-test}"
if [ ! -x "$JS_BUILD/jirasync" ] || [ ! -x "$JS_BUILD/jira-sim" ]; then
	js_build "$JS_BUILD" -DJIRASYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
JS="$JS_BUILD/jirasync"
COMPARE="$JS_BUILD/js-compare"
export LOG_FORMAT=json
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$JS_ROOT/tests/lsan.supp}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "  ok: $*"; }

# setup SIM_FLAGS...: services + simulator + migrated database.
setup() {
	trap js_stop_services EXIT
	js_start_services
	js_start_sim "$JS_BUILD" "$@"
	export JIRA_EMAIL=sync@example.com JIRA_API_TOKEN=test-token JIRA_PAT=
	"$JS" migrate >/dev/null 2>&1 || fail "migrate"
}

psql_q() { psql "$DATABASE_URL" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# hold NAME SQL: in the background, a session named NAME runs SQL and then
# sleeps, keeping what SQL locked (pid in $HOLDER); returns once it sleeps.
# release ends it.
hold() {
	PGAPPNAME=$1 psql "$DATABASE_URL" -X -q -c "$2; SELECT pg_sleep(120)" >/dev/null 2>&1 &
	HOLDER=$!
	for _ in $(seq 1 100); do
		[ "$(psql_q "SELECT count(*) FROM pg_stat_activity
		             WHERE application_name = '$1' AND wait_event = 'PgSleep'")" = 1 ] && return 0
		sleep 0.1
	done
	fail "the session $1 did not start holding its locks"
}
release() { kill "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; }

# sim METHOD PATH [JSON]: call the simulator's control API, print the body.
sim() {
	curl -fsS -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$JS_SIM_URL$2"
}

# json_field NAME: first "NAME":value of stdin (numbers and simple strings).
json_field() {
	grep -o "\"$1\" *: *\"\{0,1\}[^\",}]*" | head -n 1 | sed 's/.*: *"\{0,1\}//'
}

sim_requests() { sim GET /_sim/stats | json_field total; }

# compare KEY [extra args]: the database equals the simulator's ground truth.
compare() {
	local key=$1; shift
	"$COMPARE" --project "$key" --truth-url "$JS_SIM_URL" "$@" || fail "database differs from Jira for $key"
	pass "database equals the simulator's ground truth for $key"
}

no_duplicates() {
	local d
	d=$(psql_q "SELECT (SELECT count(*) - count(DISTINCT (issue_id, sprint_id)) FROM issue_sprint)
	          + (SELECT count(*) - count(DISTINCT id) FROM comment)
	          + (SELECT count(*) - count(DISTINCT id) FROM worklog)
	          + (SELECT count(*) FROM sync_run WHERE status = 'RUNNING')")
	[ "$d" = 0 ] || fail "duplicate rows or unfinished runs: $d"
	pass "no duplicate rows, no unfinished run"
}

last_run() { psql_q "SELECT $1 FROM sync_run ORDER BY id DESC LIMIT 1"; }
