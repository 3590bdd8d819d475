# Helpers for the scheduler/worker service tests: start and stop service
# processes, wait for runs, restart Redis and PostgreSQL in place. Source it
# after common.sh.

# Fast engine and scheduler timings for tests (seconds-level schedules).
export ENGINE_VISIBILITY_MS=${ENGINE_VISIBILITY_MS:-2000}
export SCHEDULER_LEASE_MS=${SCHEDULER_LEASE_MS:-2000}
export SCHEDULER_TICK_MS=${SCHEDULER_TICK_MS:-200}
export SCHEDULER_RECONCILE_GRACE_MS=${SCHEDULER_RECONCILE_GRACE_MS:-1500}
export WORKER_GRACE_MS=${WORKER_GRACE_MS:-10000}
SEARCH=/rest/api/3/search/jql

declare -A SVC_PID=()

# svc_start NAME ARGS...: start "$JS" ARGS in the background, log in $JS_TMP/NAME.log.
svc_start() {
	local name=$1; shift
	"$JS" "$@" >>"$JS_TMP/$name.log" 2>&1 &
	SVC_PID[$name]=$!
}

# svc_stop NAME: SIGTERM, wait, fail unless it exits 0.
svc_stop() {
	local name=$1 pid=${SVC_PID[$1]} rc=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	unset "SVC_PID[$name]"
	[ "$rc" = 0 ] || { tail -20 "$JS_TMP/$name.log" >&2; fail "$name exited $rc after SIGTERM"; }
}

# svc_kill NAME: kill -9.
svc_kill() {
	local pid=${SVC_PID[$1]}
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "SVC_PID[$1]"
}

svc_kill_all() {
	local n
	for n in "${!SVC_PID[@]}"; do kill -9 "${SVC_PID[$n]}" 2>/dev/null || true; done
	for n in "${!SVC_PID[@]}"; do wait "${SVC_PID[$n]}" 2>/dev/null || true; done
}

# Stop services (processes first) on exit.
sched_setup() {
	setup "$@"
	trap 'svc_kill_all; js_stop_services' EXIT
}

# run_of OUTPUT: the run id in a `project trigger` output.
run_of() { sed -n 's/^run: \([0-9]*\).*/\1/p' <<<"$1"; }

# wait_step RUN N [TIMEOUT]: until the run's step_seq >= N (or it ended).
wait_step() {
	local run=$1 n=$2 t=${3:-60} i
	for ((i = 0; i < t * 10; i++)); do
		[ "$(psql_q "SELECT (step_seq >= $n OR status <> 'RUNNING')::int FROM sync_run WHERE id = $run")" = 1 ] && return 0
		sleep 0.1
	done
	fail "run $run did not reach step $n in ${t}s"
}

# wait_done RUN [TIMEOUT]: until the run ended; fail unless SUCCESS.
wait_done() {
	local run=$1 t=${2:-90} i st
	for ((i = 0; i < t * 10; i++)); do
		st=$(psql_q "SELECT status FROM sync_run WHERE id = $run")
		[ "$st" = SUCCESS ] && return 0
		[ "$st" = RUNNING ] || fail "run $run ended $st: $(psql_q "SELECT error_code || ' ' || error_message FROM sync_run WHERE id = $run")"
		sleep 0.1
	done
	fail "run $run did not finish in ${t}s (step $(psql_q "SELECT step_seq FROM sync_run WHERE id = $run"))"
}

# wait_no_running [TIMEOUT]
wait_no_running() {
	local t=${1:-60} i
	for ((i = 0; i < t * 10; i++)); do
		[ "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'RUNNING'")" = 0 ] && return 0
		sleep 0.1
	done
	fail "runs still RUNNING after ${t}s: $(psql_q "SELECT string_agg(id || ':' || step_seq, ' ') FROM sync_run WHERE status = 'RUNNING'")"
}

rcli() { redis-cli -p "$JS_REDIS_PORT" "$@"; }

# Redis restarted without persistence: everything it held is gone.
redis_restart() {
	rcli shutdown nosave >/dev/null 2>&1 || true
	for _ in $(seq 1 50); do rcli ping >/dev/null 2>&1 || break; sleep 0.1; done
	redis-server --port "$JS_REDIS_PORT" --bind 127.0.0.1 --dir "$JS_TMP/redis" \
		--save "" --appendonly no --daemonize yes --pidfile "$JS_TMP/redis/redis.pid" \
		--logfile "$JS_TMP/redis/redis.log" >/dev/null
	for _ in $(seq 1 50); do rcli ping >/dev/null 2>&1 && return 0; sleep 0.1; done
	fail "redis did not come back"
}

pg_restart() {
	local bin as=""; bin=$(js_pg_bindir)
	if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
	$as "$bin/pg_ctl" -D "$JS_TMP/pg" -m fast -w -t 60 restart \
		-o "-c listen_addresses=127.0.0.1 -p $JS_PG_PORT -k $JS_TMP/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		>/dev/null || fail "postgresql did not restart"
}

# The stream's pending entries (delivered, not acknowledged).
pending_tasks() { rcli XPENDING '{js}:tasks' workers | head -n 1; }

# log_time_ms FILE MSG: epoch ms of the first JSON log line with "msg":"MSG".
log_time_ms() {
	local t
	t=$(grep -F "\"msg\":\"$2\"" "$1" | head -n 1 | grep -o '"time":"[^"]*"' | cut -d'"' -f4)
	[ -n "$t" ] || { echo ""; return 0; }
	echo $(($(date -d "$t" +%s%N) / 1000000))
}
