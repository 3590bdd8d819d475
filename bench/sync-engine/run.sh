#!/usr/bin/env bash
# bench/sync-engine: the full sync of bench/sync (N issues, on average 3
# comments and 2 worklogs each) through the workflow engine against the
# one-shot path, each on fresh services and the same simulated data, in the
# same run:
#   - one-shot:  `jirasync sync BENCH` (steps in a loop, no queue);
#   - engine x1: one `jirasync worker --concurrency 1`, run started by
#                `jirasync project trigger` (every step a Redis task);
#   - engine x2: two worker processes sharing the run's steps.
# The time of each is the run's own finished_at - started_at (one clock, one
# definition); overhead = engine / one-shot - 1 (target <= 10%).
# Usage: bench/sync-engine/run.sh [N]   (default 100000). Prints figures only.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$JS_ROOT"
N=${1:-100000}
js_install_deps
BUILD=${JS_BUILD_BENCH:-$JS_ROOT/build-bench}
js_build "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
JS=$BUILD/jirasync
export LOG_FORMAT=json LOG_LEVEL=warn JIRA_EMAIL=bench@example.com JIRA_API_TOKEN=bench
q() { psql "$DATABASE_URL" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; js_stop_services; }
trap cleanup EXIT

# measure MODE -> sets SECS STEPS ISSUES
measure() {
	local mode=$1
	JS_TMP=
	js_start_services
	js_start_sim "$BUILD" --project BENCH --issues "$N" --comments-avg 3 --worklogs-avg 2 --feed-lag-ms 0 --seed 1
	"$JS" migrate >/dev/null 2>&1
	"$JS" project register BENCH --cron '0 0 1 1 *' >/dev/null 2>&1
	PIDS=()
	case $mode in
	oneshot)
		"$JS" sync BENCH 2>"$JS_TMP/sync.log" || { tail -3 "$JS_TMP/sync.log"; exit 1; } ;;
	engine*)
		local k=${mode#engine}
		for ((i = 0; i < k; i++)); do
			"$JS" worker --concurrency 1 2>>"$JS_TMP/worker.log" &
			PIDS+=($!)
		done
		sleep 0.5
		"$JS" project trigger BENCH >/dev/null 2>&1
		until [ "$(q "SELECT count(*) FROM sync_run WHERE status <> 'RUNNING'")" = 1 ]; do sleep 0.2; done
		for p in "${PIDS[@]}"; do kill -TERM "$p"; wait "$p" || true; done
		PIDS=() ;;
	esac
	[ "$(q "SELECT status FROM sync_run")" = SUCCESS ] || { echo "$mode: run failed: $(q "SELECT error_code, error_message FROM sync_run")"; exit 1; }
	SECS=$(q "SELECT extract(epoch from finished_at - started_at) FROM sync_run")
	STEPS=$(q "SELECT step_seq FROM sync_run")
	REQS=$(q "SELECT jira_requests FROM sync_run")
	ISSUES=$(q "SELECT count(*) FROM issue")
	js_stop_services
}

echo "== $N issues, $(nproc) cores"
measure oneshot; T1=$SECS
printf 'one-shot:   %d issues in %.2f s (%d steps, %d Jira requests): %.0f issues/s\n' "$ISSUES" "$SECS" "$STEPS" "$REQS" "$(echo "$ISSUES / $SECS" | bc -l)"
for k in 1 2; do
	measure "engine$k"
	printf 'engine x%d:  %d issues in %.2f s (%d steps, %d Jira requests): %.0f issues/s, overhead %+.1f%% (target <= 10%%)\n' \
		"$k" "$ISSUES" "$SECS" "$STEPS" "$REQS" "$(echo "$ISSUES / $SECS" | bc -l)" "$(echo "($SECS / $T1 - 1) * 100" | bc -l)"
done
