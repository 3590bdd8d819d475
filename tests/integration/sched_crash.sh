#!/usr/bin/env bash
# Crash safety of runs driven by the engine: 3 worker processes and a
# scheduler; in the middle of runs, workers are killed with -9, Redis is
# restarted with its data gone, and PostgreSQL is restarted. Every run
# completes, the database equals the simulator's ground truth and no row or
# run is duplicated.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sched_common.sh"
sched_setup --flavour cloud --project CRA --issues 1500 --seed 31 --feed-lag-ms 0
"$JS" project register CRA --cron '0 0 1 1 *' >/dev/null 2>&1 || fail "register"
# Slow search pages (Jira far away) so that runs last long enough to hurt.
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"delay\",\"delayMs\":120,\"count\":100000}" >/dev/null

svc_start sched scheduler
for i in 1 2 3; do svc_start "w$i" worker --concurrency 2; done

# 1. kill -9 of workers in the middle of a run.
run=$(run_of "$("$JS" project trigger CRA --full 2>/dev/null)")
[ -n "$run" ] || fail "trigger started no run"
wait_step "$run" 3
svc_kill w1; svc_start w1 worker --concurrency 2
wait_step "$run" 6
svc_kill w2; svc_kill w3
sleep 0.5
svc_start w2 worker --concurrency 2; svc_start w3 worker --concurrency 2
wait_done "$run" 120
compare CRA
no_duplicates
pass "workers killed with -9 mid-run: the run completed"

# 2. Redis restarted without its data in the middle of a run.
sim POST /_sim/bulk-update '{"project":"CRA","count":40}' >/dev/null
run=$(run_of "$("$JS" project trigger CRA --full 2>/dev/null)")
[ -n "$run" ] || fail "trigger started no run"
wait_step "$run" 4
# A marker no process writes tells whether the restart really emptied Redis
# (the task keys may already be back: the reconciler re-enqueues at once).
rcli SET restart-marker 1 >/dev/null
redis_restart
[ "$(rcli EXISTS restart-marker)" = 0 ] || fail "redis kept its data"
wait_done "$run" 120
compare CRA
no_duplicates
grep -q '"msg":"reconciler re-enqueued a run without a live task"' "$JS_TMP/sched.log" ||
	fail "the reconciler did not re-enqueue the run"
pass "redis restarted empty mid-run: the reconciler re-enqueued it and it converged"

# 3. PostgreSQL restarted in the middle of a run.
sim POST /_sim/bulk-update '{"project":"CRA","count":40}' >/dev/null
run=$(run_of "$("$JS" project trigger CRA --full 2>/dev/null)")
wait_step "$run" 4
pg_restart
[ "$(psql_q "SELECT status FROM sync_run WHERE id = $run")" = RUNNING ] ||
	fail "run $run ended before PostgreSQL came back: the restart did not hit it"
wait_done "$run" 120
compare CRA
no_duplicates
cat "$JS_TMP"/w*.log | grep -q '"msg":"reconnected to postgresql"' || fail "no worker reconnected"
pass "postgresql restarted mid-run: workers reconnected and the run converged"

# Graceful stop: every process exits 0 and no task is left pending.
for i in 1 2 3; do svc_stop "w$i"; done
svc_stop sched
[ "$(pending_tasks)" = 0 ] || fail "tasks left pending after a graceful stop: $(pending_tasks)"
[ "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'FAILED'")" = 0 ] || fail "a run failed"
pass "graceful stop: exit 0, nothing pending"
