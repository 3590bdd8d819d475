#!/usr/bin/env bash
# bench/sync: a full sync of a large simulated project (on average 3 comments
# and 2 worklogs per issue), with figures measured in the same run:
#   - issues/s and rows/s end to end, and the rate of a plain COPY of the same
#     rows into scratch tables (the physical limit of this PostgreSQL), ratio;
#   - Jira requests made against the minimum possible (search pages +
#     overflow pages + sprint pages);
#   - the sync process's peak RSS, for 10,000 and for N issues;
#   - an incremental run over 11,093 issues with 150 changed: requests, time;
#   - where the CPU went during the N-issue sync: PostgreSQL's processes, the
#     sync process and the simulator (from /proc and time(1));
#   - a remote Jira: 2,000 issues with every request answered after 100 ms,
#     synced with one request in flight at a time and with 4;
#   - a remote PostgreSQL: 10,000 issues synced through tests/tools/tcp-delay
#     holding every byte 0.5 ms each way (1 ms a round trip), against the same
#     sync straight to PostgreSQL: the difference, a step, is about its round
#     trips in milliseconds.
# Usage: bench/sync/run.sh [N]   (default 100000). Prints figures; asserts nothing.
# BENCH_PG_STATEMENTS=1 also loads pg_stat_statements for the N-issue sync and
# prints PostgreSQL's time by statement (the extension costs a little).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$JS_ROOT"
N=${1:-100000}
js_install_deps
BUILD=${JS_BUILD_BENCH:-$JS_ROOT/build-bench}
js_build "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
JS=$BUILD/jirasync
export LOG_FORMAT=json JIRA_EMAIL=bench@example.com JIRA_API_TOKEN=bench
sim_total() { curl -fsS "$JS_SIM_URL/_sim/stats" | grep -o '"total" *: *[0-9]*' | head -n 1 | sed 's/.*: *//'; }
q() { psql "$DATABASE_URL" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
TICK=$(getconf CLK_TCK)
# CPU seconds of a process (self) or of its reaped children (children).
cpu_ticks() { awk -v w="$2" '{print (w == "children") ? $16 + $17 : $14 + $15}' "/proc/$1/stat"; }

# Restart the running PostgreSQL with pg_stat_statements loaded.
pg_statements_on() {
	local as=""
	if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
	printf '%s\n' "shared_preload_libraries = 'pg_stat_statements'" \
		"pg_stat_statements.track = all" "pg_stat_statements.track_planning = on" \
		>>"$JS_TMP/pg/postgresql.conf"
	$as "$(js_pg_bindir)/pg_ctl" -D "$JS_TMP/pg" -w -t 60 restart >/dev/null
	q "CREATE EXTENSION pg_stat_statements" >/dev/null
}

# new_project KEY ISSUES SEED: fresh services, a simulated project, migrated
# and registered.
new_project() {
	JS_TMP=
	js_start_services
	js_start_sim "$BUILD" --project "$1" --issues "$2" --comments-avg 3 --worklogs-avg 2 --feed-lag-ms 0 --seed "$3"
	"$JS" migrate >/dev/null 2>&1
	"$JS" project register "$1" >/dev/null 2>&1
}

# full_sync N -> sets SECS RSS_KB ROWS ISSUES REQ MINREQ
full_sync() {
	local n=$1
	JS_TMP=
	js_start_services
	local t0; t0=$(date +%s.%N)
	js_start_sim "$BUILD" --project BENCH --issues "$n" --comments-avg 3 --worklogs-avg 2 --feed-lag-ms 0 --seed 1
	SIM_START=$(echo "$(date +%s.%N) - $t0" | bc)
	"$JS" migrate >/dev/null 2>&1
	"$JS" project register BENCH >/dev/null 2>&1
	[ "${2:-}" = statements ] && pg_statements_on && q "SELECT pg_stat_statements_reset()" >/dev/null
	curl -fsS -X POST "$JS_SIM_URL/_sim/stats/reset" >/dev/null
	local pm sim pg0 sim0
	pm=$(head -n 1 "$JS_TMP/pg/postmaster.pid")
	sim=$(cat "$JS_TMP/sim.pid")
	pg0=$(cpu_ticks "$pm" children)
	sim0=$(cpu_ticks "$sim" self)
	/usr/bin/time -f '%e %M %U %S' -o "$JS_TMP/time" "$JS" sync BENCH 2>"$JS_TMP/sync.log" ||
		{ tail -3 "$JS_TMP/sync.log"; exit 1; }
	read -r SECS RSS_KB CUSER CSYS <"$JS_TMP/time"
	SIM_CPU=$(echo "($(cpu_ticks "$sim" self) - $sim0) / $TICK" | bc -l)
	sleep 1 # the backend exits after the sync and the postmaster reaps it
	PG_CPU=$(echo "($(cpu_ticks "$pm" children) - $pg0) / $TICK" | bc -l)
	JS_CPU=$(echo "$CUSER + $CSYS" | bc -l)
	ISSUES=$(q "SELECT count(*) FROM issue")
	ROWS=$(q "SELECT (SELECT count(*) FROM issue) + (SELECT count(*) FROM comment) + (SELECT count(*) FROM worklog)")
	REQ=$(sim_total)
	MINREQ=$(q "SELECT ceil(count(*) / 100.0)
	          + coalesce(sum(ceil(comment_total / 100.0)) FILTER (WHERE comment_total > 20), 0)
	          + coalesce(sum(ceil(worklog_total / 5000.0)) FILTER (WHERE worklog_total > 20), 0)
	          + 1 + (SELECT ceil(count(*) / 50.0) FROM sprint) FROM issue")
}

# PostgreSQL's time by statement since the reset before the sync (read before
# the COPY baseline adds its own statements).
statements() {
	echo "PostgreSQL's time by statement during the sync (pg_stat_statements; the rest of its CPU is"
	echo "outside execution: binding parameters, the jsonb of ADF bodies among them, and commits):"
	psql "$DATABASE_URL" -X -P pager=off -c "SELECT calls, round(total_exec_time) AS exec_ms,
		round(total_plan_time) AS plan_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
		ORDER BY total_exec_time + total_plan_time DESC LIMIT 15"
	q "SELECT 'all statements: ' || round(sum(total_exec_time)) || ' ms executing, '
		|| round(sum(total_plan_time)) || ' ms planning, ' || sum(calls) || ' calls'
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'"
}

copy_baseline() {
	# Dump the synced rows, then COPY them into scratch tables like the real
	# ones (columns only) through the same client library path (psql \copy).
	# A second COPY goes into tables that also carry the real ones' indexes
	# and generated full-text column (LIKE ... INCLUDING ALL): what any
	# writer keeping this schema pays at least.
	local icols
	icols=$(q "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
	           FROM information_schema.columns WHERE table_name = 'issue' AND column_name <> 'search_vector'")
	chmod 777 "$JS_TMP"
	q "COPY (SELECT $icols FROM issue) TO '$JS_TMP/issue.copy'" >/dev/null
	q "COPY comment TO '$JS_TMP/comment.copy'" >/dev/null
	q "COPY worklog TO '$JS_TMP/worklog.copy'" >/dev/null
	q "CREATE TABLE s_issue (LIKE issue); ALTER TABLE s_issue DROP COLUMN search_vector;
	   CREATE TABLE s_comment (LIKE comment); CREATE TABLE s_worklog (LIKE worklog);
	   CREATE TABLE x_issue (LIKE issue INCLUDING ALL); CREATE TABLE x_comment (LIKE comment INCLUDING ALL);
	   CREATE TABLE x_worklog (LIKE worklog INCLUDING ALL)" >/dev/null
	local t0; t0=$(date +%s.%N)
	psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 \
		-c "\\copy s_issue FROM '$JS_TMP/issue.copy'" \
		-c "\\copy s_comment FROM '$JS_TMP/comment.copy'" \
		-c "\\copy s_worklog FROM '$JS_TMP/worklog.copy'"
	COPY_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	t0=$(date +%s.%N)
	psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 \
		-c "\\copy x_issue ($icols) FROM '$JS_TMP/issue.copy'" \
		-c "\\copy x_comment FROM '$JS_TMP/comment.copy'" \
		-c "\\copy x_worklog FROM '$JS_TMP/worklog.copy'"
	COPYX_SECS=$(echo "$(date +%s.%N) - $t0" | bc)
}

echo "== full sync, 10,000 issues"
full_sync 10000
RSS10=$RSS_KB
js_stop_services

echo "== full sync, $N issues"
full_sync "$N" "$([ "${BENCH_PG_STATEMENTS:-0}" = 1 ] && echo statements)"
RSSN=$RSS_KB
STATEMENTS=
[ "${BENCH_PG_STATEMENTS:-0}" = 1 ] && STATEMENTS=$(statements)
copy_baseline
rate_rows=$(echo "$ROWS / $SECS" | bc -l)
rate_issues=$(echo "$ISSUES / $SECS" | bc -l)
copy_rate=$(echo "$ROWS / $COPY_SECS" | bc -l)
printf 'simulator start-up with %s issues: %.2f s\n' "$N" "$SIM_START"
printf 'end to end: %d issues, %d rows in %.2f s: %.0f issues/s, %.0f rows/s\n' "$ISSUES" "$ROWS" "$SECS" "$rate_issues" "$rate_rows"
printf 'plain COPY of the same rows: %.2f s: %.0f rows/s; end to end / COPY = %.2f (target >= 0.50)\n' "$COPY_SECS" "$copy_rate" "$(echo "$rate_rows / $copy_rate" | bc -l)"
copyx_rate=$(echo "$ROWS / $COPYX_SECS" | bc -l)
printf 'COPY into tables with the real indexes and full-text column: %.2f s: %.0f rows/s; end to end / that = %.2f; that / plain COPY = %.2f\n' "$COPYX_SECS" "$copyx_rate" "$(echo "$rate_rows / $copyx_rate" | bc -l)" "$(echo "$copyx_rate / $copy_rate" | bc -l)"
printf 'CPU during the sync: PostgreSQL processes %.2f s (%.0f%% of the wall time), jirasync %.2f s (%.0f%%), simulator %.2f s (%.0f%%)\n' \
	"$PG_CPU" "$(echo "100 * $PG_CPU / $SECS" | bc -l)" "$JS_CPU" "$(echo "100 * $JS_CPU / $SECS" | bc -l)" \
	"$SIM_CPU" "$(echo "100 * $SIM_CPU / $SECS" | bc -l)"
[ -n "$STATEMENTS" ] && echo "$STATEMENTS"
printf 'Jira requests: %d, minimum %d, ratio %.3f (target <= 1.02)\n' "$REQ" "$MINREQ" "$(echo "$REQ / $MINREQ" | bc -l)"
printf 'peak RSS: %.1f MB at 10,000 issues, %.1f MB at %s issues (target <= 32 MB, flat)\n' "$(echo "$RSS10 / 1024" | bc -l)" "$(echo "$RSSN / 1024" | bc -l)" "$N"
js_stop_services

echo "== incremental over 11,093 issues with 150 changed"
new_project INC 11093 2
"$JS" sync INC 2>/dev/null
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"project":"INC","count":150}' "$JS_SIM_URL/_sim/bulk-update" >/dev/null
curl -fsS -X POST "$JS_SIM_URL/_sim/stats/reset" >/dev/null
/usr/bin/time -f '%e %M' -o "$JS_TMP/time" "$JS" sync INC 2>/dev/null
read -r ISECS IRSS <"$JS_TMP/time"
IREQ=$(sim_total)
ICH=$(q "SELECT issues_upserted FROM sync_run ORDER BY id DESC LIMIT 1")
printf 'incremental: %d issues upserted, %d Jira requests (target <= 5), %.2f s (target < 1 s)\n' "$ICH" "$IREQ" "$ISECS"
js_stop_services

echo "== a remote Jira: 2,000 issues, every request answered after 100 ms"
new_project LAT 2000 3
for p in 1 4; do
	q "TRUNCATE issue" >/dev/null
	curl -fsS -X DELETE "$JS_SIM_URL/_sim/faults" >/dev/null
	curl -fsS -X POST -H 'Content-Type: application/json' \
		-d '{"path":"/rest/","kind":"delay","delayMs":100,"count":1000000}' "$JS_SIM_URL/_sim/faults" >/dev/null
	curl -fsS -X POST "$JS_SIM_URL/_sim/stats/reset" >/dev/null
	/usr/bin/time -f '%e' -o "$JS_TMP/time" env JIRA_PARALLEL_REQUESTS=$p "$JS" sync LAT --full 2>/dev/null
	read -r LSECS <"$JS_TMP/time"
	printf 'JIRA_PARALLEL_REQUESTS=%d: %.2f s, %d Jira requests\n' "$p" "$LSECS" "$(sim_total)"
	eval "LAT$p=$LSECS"
done
printf 'four in flight against one: %.1fx faster\n' "$(echo "$LAT1 / $LAT4" | bc -l)"
js_stop_services

echo "== a remote PostgreSQL: 10,000 issues, every round trip to PostgreSQL 1 ms longer"
new_project RPG 10000 4
delay_port=$(js_free_port)
"$BUILD/tcp-delay" "$delay_port" "$JS_PG_PORT" 500 &
delay_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$delay_port") 2>/dev/null && break; sleep 0.1; done
for where in local remote; do
	url=$DATABASE_URL
	[ "$where" = remote ] && url="postgres://jirasync@127.0.0.1:$delay_port/jirasync"
	q "TRUNCATE issue, comment, worklog, issue_sprint" >/dev/null
	/usr/bin/time -f '%e' -o "$JS_TMP/time" env DATABASE_URL="$url" "$JS" sync RPG --full 2>/dev/null
	read -r RSECS <"$JS_TMP/time"
	eval "RPG_$where=$RSECS"
done
kill "$delay_pid" 2>/dev/null || true
steps=$(q "SELECT step_seq FROM sync_run ORDER BY id DESC LIMIT 1")
printf 'PostgreSQL local: %.2f s; 1 ms a round trip away: %.2f s; %d steps: %.1f ms more a step, the run'"'"'s start and end included\n' \
	"$RPG_local" "$RPG_remote" "$steps" "$(echo "($RPG_remote - $RPG_local) * 1000 / $steps" | bc -l)"
js_stop_services
