#!/usr/bin/env bash
# Several processes: 2 schedulers and 3 workers, 10 projects on a
# two-second test schedule. Over many slots every (project, slot) gets
# exactly one run (or, when the previous run was still going, a recorded
# skip) while a leader is alive; killing the leader hands over within the
# lease time; every run completes and each project equals the simulator.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sched_common.sh"
projects=(P01 P02 P03 P04 P05 P06 P07 P08 P09 P10)
sched_setup --flavour cloud $(printf -- '--project %s ' "${projects[@]}") --issues 12 --seed 41 --feed-lag-ms 0
for p in "${projects[@]}"; do
	"$JS" project register "$p" --cron '*/2 * * * * *' >/dev/null 2>&1 || fail "register $p"
done
now() { echo $(($(date +%s%N) / 1000000)); }

svc_start s1 scheduler; svc_start s2 scheduler
for i in 1 2 3; do svc_start "w$i" worker --concurrency 2; done
t0=$(now)
sleep 10
leader=s1; other=s2
[ -n "$(log_time_ms "$JS_TMP/s1.log" "scheduler is the leader")" ] || { leader=s2; other=s1; }
[ -n "$(log_time_ms "$JS_TMP/$other.log" "scheduler is the leader")" ] && fail "both schedulers led at once"
t_kill=$(now)
svc_kill "$leader"
sleep 8
t_end=$(now)
svc_stop "$other"
wait_no_running 60
for i in 1 2 3; do svc_stop "w$i"; done

t_take=$(log_time_ms "$JS_TMP/$other.log" "scheduler is the leader")
[ -n "$t_take" ] || fail "the other scheduler never took over"
gap=$((t_take - t_kill))
[ "$gap" -le $((SCHEDULER_LEASE_MS + 500)) ] || fail "takeover took ${gap} ms (lease ${SCHEDULER_LEASE_MS} ms)"
pass "the leader was killed; the other scheduler took over after ${gap} ms (lease ${SCHEDULER_LEASE_MS} ms)"

dup=$(psql_q "SELECT count(*) FROM (SELECT 1 FROM sync_run WHERE slot_at IS NOT NULL
              GROUP BY project_id, slot_at HAVING count(*) > 1) d")
[ "$dup" = 0 ] || fail "$dup (project, slot) pairs with more than one run"

# missing A B: slots (even seconds) due in [A, B] with neither a run nor a skip record.
missing() {
	psql_q "WITH slots AS (SELECT j.project_id, s AS slot_ms FROM sync_job j,
	          generate_series(($1::bigint / 2000) * 2000, $2::bigint, 2000) s
	          WHERE s + j.jitter_seconds * 1000 BETWEEN $1 AND $2),
	        seen AS (SELECT project_id, (extract(epoch from slot_at) * 1000)::bigint AS slot_ms
	          FROM sync_run WHERE slot_at IS NOT NULL
	          UNION ALL SELECT project_id, (details->>'slotMs')::bigint FROM sync_log
	          WHERE message = 'scheduled run skipped')
	        SELECT count(*) || ' of ' || (SELECT count(*) FROM slots) FROM slots WHERE NOT EXISTS
	          (SELECT 1 FROM seen WHERE seen.project_id = slots.project_id AND seen.slot_ms = slots.slot_ms)"
}
m1=$(missing $((t0 + 3000)) $((t_kill - 1500)))
m2=$(missing $((t_take + 1500)) $((t_end - 1500)))
[ "${m1%% *}" = 0 ] || fail "slots missed under the first leader: $m1"
[ "${m2%% *}" = 0 ] || fail "slots missed under the second leader: $m2"
both=$(psql_q "SELECT count(*) FROM sync_run r JOIN sync_log l ON l.project_id = r.project_id
               AND l.message = 'scheduled run skipped'
               AND (l.details->>'slotMs')::bigint = (extract(epoch from r.slot_at) * 1000)::bigint")
[ "$both" = 0 ] || fail "$both slots both ran and were skipped"
runs=$(psql_q "SELECT count(*) FROM sync_run WHERE trigger = 'schedule'")
skips=$(psql_q "SELECT count(*) FROM sync_log WHERE message = 'scheduled run skipped'")
pass "every due slot fired exactly once (${m1#* of } + ${m2#* of } slots checked; $runs runs, $skips recorded skips)"

[ "$(psql_q "SELECT count(*) FROM sync_run WHERE status <> 'SUCCESS'")" = 0 ] || fail "some runs did not succeed"
for p in "${projects[@]}"; do compare "$p" >/dev/null; done
no_duplicates
pass "all ${#projects[@]} projects equal the simulator's ground truth"
[ "$(pending_tasks)" = 0 ] || fail "tasks left pending: $(pending_tasks)"
pass "graceful stop of every process: exit 0, no task pending"
