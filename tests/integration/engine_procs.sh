#!/usr/bin/env bash
# Engine tests that need real processes (tests/engine/engine_proc.c):
#   crash      a worker killed with -9 mid-task: another reclaims and completes it
#   poison     a task that kills every worker: dead-lettered after N deliveries,
#              the failure callback fired with its code
#   sigterm    SIGTERM: in-flight tasks finish, nothing left pending
#   grace      a handler outliving the grace period: its task stays pending and
#              another worker completes it after the visibility timeout
#   restart    Redis restarted without persistence and FLUSHALL mid-run: workers
#              reconnect and keep consuming new tasks (tasks lost with Redis are
#              the reconciler's job: PostgreSQL knows the unfinished runs)
# Usage: engine_procs.sh [scenario...] (all by default).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

BUILD=${JS_BUILD_DIR:-$JS_ROOT/build-engine-it}
san=OFF
[ "${JS_SANITIZE:-0}" = 1 ] && san=ON
cmake -S "$JS_ROOT" -B "$BUILD" -DJIRASYNC_WERROR=ON -DJIRASYNC_SANITIZE=$san >/dev/null
cmake --build "$BUILD" --target engine_proc -j2 2>&1 | grep -E 'error|warning' || true
P="$BUILD/engine_proc"
test -x "$P"

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	js_stop_services
}
trap cleanup EXIT
js_start_services
export LOG_FORMAT=json

passed=0
failed=0
fail() { echo "not ok - $scenario: $*"; failed=$((failed + 1)); return 1; }

# wait_for FILE PATTERN COUNT TIMEOUT_S: until grep -c PATTERN >= COUNT
wait_for() {
	local end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		local n; n=$(grep -cE "$2" "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_exit PID TIMEOUT_S: waits for a background child; sets rc
wait_exit() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
	if kill -0 "$1" 2>/dev/null; then rc=124; kill -9 "$1"; wait "$1" 2>/dev/null || true; return 1; fi
	rc=0
	wait "$1" || rc=$?
}
depth() { "$P" depth "$1"; }

scenario_crash() {
	local pre="{it-crash}" log="$JS_TMP/crash.log"
	"$P" enqueue "$pre" sleep 1 1 1 2000
	"$P" work "$pre" "$log" --visibility 1000 2>"$JS_TMP/crash-a.err" &
	local a=$!; PIDS+=("$a")
	wait_for "$log" "^start 1 1 " 1 10 || { fail "task never started"; return; }
	kill -9 "$a"; wait "$a" 2>/dev/null || true
	"$P" work "$pre" "$log" --visibility 1000 --exit-when-idle 2>"$JS_TMP/crash-b.err" &
	local b=$!; PIDS+=("$b")
	wait_exit "$b" 20 || { fail "second worker did not finish"; return; }
	grep -qE "^done 1 1 1 2 $b " "$log" || { fail "not completed by the second worker (deliveries 2): $(cat "$log")"; return; }
	[ "$(grep -c '^done' "$log")" = 1 ] || { fail "completed more than once"; return; }
	[ "$(depth "$pre")" = "ready 0 pending 0 delayed 0 dead 0" ] || { fail "depth $(depth "$pre")"; return; }
	[ "$("$P" live "$pre" 1)" = 0 ] || { fail "run still live"; return; }
}

scenario_poison() {
	local pre="{it-poison}" log="$JS_TMP/poison.log" i
	"$P" enqueue "$pre" crash 7 1
	for i in 1 2 3 4 5 6; do
		# Each worker that picks the task up is killed by it (run in the
		# background so the shell does not report the expected kills).
		"$P" work "$pre" "$log" --visibility 300 --max-deliveries 3 --exit-when-idle \
			2>>"$JS_TMP/poison.err" &
		{ wait $!; } 2>/dev/null && break || true
	done
	[ "$(grep -c '^start 7 1 ' "$log")" = 3 ] || { fail "handler ran $(grep -c '^start 7' "$log") times, want 3"; return; }
	grep -qE '^failed 7 1 1 4 [0-9]+ INTERNAL/poison$' "$log" || { fail "no poison callback: $(cat "$log")"; return; }
	[ "$(depth "$pre")" = "ready 0 pending 0 delayed 0 dead 1" ] || { fail "depth $(depth "$pre")"; return; }
	[ "$("$P" live "$pre" 7)" = 0 ] || { fail "run still live"; return; }
}

scenario_sigterm() {
	local pre="{it-term}" log="$JS_TMP/term.log"
	"$P" enqueue "$pre" sleep 30 1 6 800
	"$P" work "$pre" "$log" --threads 2 --grace 5000 2>"$JS_TMP/term.err" &
	local a=$!; PIDS+=("$a")
	wait_for "$log" "^start 30 " 2 10 || { fail "tasks never started"; return; }
	kill -TERM "$a"
	wait_exit "$a" 10 || { fail "worker did not stop"; return; }
	[ "$rc" = 0 ] || { fail "exit code $rc"; return; }
	local started done_n
	started=$(grep -c "^start 30 " "$log"); done_n=$(grep -c "^done 30 " "$log")
	[ "$started" = "$done_n" ] || { fail "$started started, $done_n finished before exit"; return; }
	[ "$(depth "$pre")" = "ready $((6 - done_n)) pending 0 delayed 0 dead 0" ] ||
		{ fail "after stop: $(depth "$pre"), done $done_n"; return; }
	"$P" work "$pre" "$log" --threads 2 --exit-when-idle 2>>"$JS_TMP/term.err" ||
		{ fail "second worker failed"; return; }
	[ "$(grep '^done 30 ' "$log" | cut -d' ' -f3 | sort -n | uniq | wc -l)" = 6 ] ||
		{ fail "not all six done: $(cat "$log")"; return; }
	[ "$(grep -c '^done 30 ' "$log")" = 6 ] || { fail "some ran twice"; return; }
}

scenario_grace() {
	local pre="{it-grace}" log="$JS_TMP/grace.log"
	"$P" enqueue "$pre" sleep 40 1 1 4000
	"$P" work "$pre" "$log" --grace 300 --visibility 1000 2>"$JS_TMP/grace.err" &
	local a=$!; PIDS+=("$a")
	wait_for "$log" "^start 40 " 1 10 || { fail "never started"; return; }
	local t0=$SECONDS
	kill -TERM "$a"
	wait_exit "$a" 5 || { fail "worker did not exit after the grace period"; return; }
	[ "$rc" = 3 ] || { fail "exit code $rc, want 3 (grace over)"; return; }
	[ "$(depth "$pre")" = "ready 0 pending 1 delayed 0 dead 0" ] || { fail "after exit: $(depth "$pre")"; return; }
	"$P" work "$pre" "$log" --visibility 1000 --exit-when-idle 2>>"$JS_TMP/grace.err" &
	local b=$!; PIDS+=("$b")
	wait_exit "$b" 20 || { fail "second worker did not finish"; return; }
	grep -qE "^done 40 1 1 2 $b " "$log" || { fail "not reclaimed and completed: $(cat "$log")"; return; }
	[ "$(depth "$pre")" = "ready 0 pending 0 delayed 0 dead 0" ] || { fail "end: $(depth "$pre")"; return; }
}

restart_redis() {
	kill "$(cat "$JS_TMP/redis/redis.pid")"
	for _ in $(seq 1 50); do redis-cli -p "$JS_REDIS_PORT" ping >/dev/null 2>&1 || break; sleep 0.1; done
	sleep "${1:-0}"
	redis-server --port "$JS_REDIS_PORT" --bind 127.0.0.1 --dir "$JS_TMP/redis" \
		--save "" --appendonly no --daemonize yes --pidfile "$JS_TMP/redis/redis.pid" \
		--logfile "$JS_TMP/redis/redis.log" >/dev/null
	for _ in $(seq 1 50); do redis-cli -p "$JS_REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

scenario_restart() {
	local pre="{it-restart}" log="$JS_TMP/restart.log"
	"$P" enqueue "$pre" sleep 50 1 20 200
	"$P" work "$pre" "$log" --threads 2 --visibility 1000 2>"$JS_TMP/restart.err" &
	local a=$!; PIDS+=("$a")
	wait_for "$log" "^done 50 " 3 10 || { fail "nothing done before the restart"; return; }
	restart_redis 1   # down for a second: workers retry with backoff
	"$P" enqueue "$pre" sleep 51 1 5 100
	wait_for "$log" "^done 51 " 5 20 || { fail "new tasks not consumed after the restart"; return; }
	local before; before=$(grep -c '"consumer group missing; re-creating it"' "$JS_TMP/restart.err" || true)
	redis-cli -p "$JS_REDIS_PORT" flushall >/dev/null
	# The workers notice the lost group on their next read and re-create it.
	wait_for "$JS_TMP/restart.err" '"consumer group missing; re-creating it"' $((before + 1)) 10 ||
		{ fail "group not re-created after FLUSHALL"; return; }
	"$P" enqueue "$pre" sleep 52 1 5 100
	wait_for "$log" "^done 52 " 5 20 || { fail "new tasks not consumed after FLUSHALL"; return; }
	grep -q '"redis connection restored"' "$JS_TMP/restart.err" || { fail "no reconnect logged"; return; }
	kill -TERM "$a"
	wait_exit "$a" 10 || { fail "worker did not stop"; return; }
	[ "$rc" = 0 ] || { fail "exit code $rc"; return; }
	[ "$(grep "^done 5[12] " "$log" | cut -d' ' -f2,3 | sort -u | wc -l)" = 10 ] || { fail "duplicates or losses after restart"; return; }
	[ "$(depth "$pre")" = "ready 0 pending 0 delayed 0 dead 0" ] || { fail "end: $(depth "$pre")"; return; }
}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(crash poison sigterm grace restart)
for scenario in "${scenarios[@]}"; do
	t0=$(date +%s%N)
	if "scenario_$scenario" && [ "$failed" -eq "${failed_before:-0}" ]; then
		echo "ok - $scenario ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
		passed=$((passed + 1))
	fi
	failed_before=$failed
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
