#!/usr/bin/env bash
# bench/schedules: 10,000 registered schedules against one `jirasync
# scheduler`, figures measured in the same run:
#   - firing lateness: for every schedule on `* * * * *` (jitter spread over
#     the minute, as registration does), the time between a slot's due fire
#     time and the start of its run (sync_run.started_at - (slot + jitter)),
#     over one minute of firings: p50, p99, max;
#   - idle CPU: with the same 10,000 schedules registered and none due in the
#     window, the scheduler's CPU time (utime + stime from /proc/PID/stat)
#     over 30 s, as a percentage of one core.
# No workers run: a fired run stays RUNNING, which is what the lateness
# measures (the scheduler's part). Usage: bench/schedules/run.sh [N]
# (default 10000). Prints figures; asserts nothing.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$JS_ROOT"
N=${1:-10000}
js_install_deps
BUILD=${JS_BUILD_BENCH:-$JS_ROOT/build-bench}
js_build "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
JS=$BUILD/jirasync
export LOG_FORMAT=json LOG_LEVEL=warn JIRA_BASE_URL=http://127.0.0.1:9 JIRA_EMAIL=b@example.com JIRA_API_TOKEN=b
q() { psql "$DATABASE_URL" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
trap 'kill $SPID 2>/dev/null || true; js_stop_services' EXIT
SPID=
js_start_services
"$JS" migrate >/dev/null 2>&1

# Registration in bulk (the same rows `jirasync project register` writes, with
# a jitter spread over the minute), next fire in the minute after next.
q "INSERT INTO project (key) SELECT 'B' || lpad(i::text, 6, '0') FROM generate_series(1, $N) i;
   INSERT INTO sync_job (project_id, cron, effective_cron, jitter_seconds, next_run_at)
     SELECT id, '* * * * *', '* * * * *', (id * 7919) % 60,
            date_trunc('minute', now()) + interval '2 minutes' + ((id * 7919) % 60) * interval '1 second'
     FROM project;
   INSERT INTO sync_state (project_id, entity)
     SELECT id, e FROM project, unnest(ARRAY['issue','comment','worklog','sprint']) e;
   ANALYZE" >/dev/null
echo "== $N schedules on '* * * * *', firing from $(q "SELECT min(next_run_at) FROM sync_job")"

"$JS" scheduler >"$JS_TMP/sched.log" 2>&1 &
SPID=$!
first=$(q "SELECT extract(epoch from min(next_run_at))::bigint FROM sync_job")
sleep $((first - $(date +%s) + 62))
kill -TERM $SPID; wait $SPID || true; SPID=
q "SELECT 'fired ' || count(*) || ' runs; lateness p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3)
          || ' s, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3)
          || ' s (target <= 1 s), max ' || round(max(l)::numeric, 3) || ' s'
   FROM (SELECT extract(epoch from r.started_at - (r.slot_at + j.jitter_seconds * interval '1 second')) AS l
         FROM sync_run r JOIN sync_job j USING (project_id) WHERE r.slot_at IS NOT NULL) x"
missed=$(q "SELECT count(*) FROM sync_job j WHERE NOT EXISTS (SELECT 1 FROM sync_run r WHERE r.project_id = j.project_id)")
echo "schedules that did not fire in their first minute: $missed"

# Idle: the same schedules, none due during the window.
q "UPDATE sync_job SET cron = '0 0 1 1 *', effective_cron = '0 0 1 1 *',
       next_run_at = date_trunc('year', now()) + interval '1 year'" >/dev/null
"$JS" scheduler >"$JS_TMP/sched-idle.log" 2>&1 &
SPID=$!
sleep 3
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep 30
c1=$(cpu); t1=$(date +%s.%N)
printf 'idle scheduler with %d schedules: %.3f%% of a core over %.0f s (target <= 1%%)\n' "$N" \
	"$(echo "($c1 - $c0) / $ticks / ($t1 - $t0) * 100" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
kill -TERM $SPID; wait $SPID || true; SPID=
