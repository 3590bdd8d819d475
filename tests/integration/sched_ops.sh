#!/usr/bin/env bash
# The operations from the shell against a running scheduler and worker:
# input validation with stable codes, a paused schedule never fires, resume
# does not burst the missed slots, reschedule, trigger under the SKIP and
# BUFFER_ONE overlap policies, tracked users (added accounts get a backfill,
# buffered while a run is active), and a graceful shutdown in the middle of
# a run that leaves no task stuck; catch-up after downtime.
set -euo pipefail
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sched_common.sh"
sched_setup --flavour cloud --project OPS --project TRK --issues 300 --seed 51 --feed-lag-ms 0
now() { echo $(($(date +%s%N) / 1000000)); }
expect_code() { # expect_code EXIT CODE CMD...: exit status and [CODE] on stderr
	local want=$1 code=$2 rc=0; shift 2
	"$JS" "$@" >/dev/null 2>"$JS_TMP/err" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$JS_TMP/err")"
	grep -q "\[$code\]" "$JS_TMP/err" || fail "'$*' did not report $code: $(cat "$JS_TMP/err")"
}
field() { "$JS" project show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }
sched_runs() { psql_q "SELECT count(*) FROM sync_run r JOIN project p ON p.id = r.project_id WHERE p.key = '$1' AND trigger = 'schedule'"; }

expect_code 64 BAD_USER_INPUT project register 'bad key'
expect_code 64 BAD_USER_INPUT project register OPS --cron '61 * * * *'
grep -q minute "$JS_TMP/err" || fail "the cron error does not name the field"
expect_code 1 NOT_FOUND project show NOPE
"$JS" project register OPS --cron '* * * * * *' >/dev/null 2>&1 || fail "register OPS"
"$JS" project register TRK --cron '0 0 1 1 *' >/dev/null 2>&1 || fail "register TRK"
expect_code 64 BAD_USER_INPUT project trigger OPS --accounts 'x" OR project = "Y'
expect_code 64 BAD_USER_INPUT project reschedule OPS '* * * * 8'
grep -q day-of-week "$JS_TMP/err" || fail "the cron error does not name the field"
expect_code 64 BAD_USER_INPUT project overlap OPS SOMETIMES
pass "invalid keys, crons, account ids and policies are refused with BAD_USER_INPUT; unknown projects are NOT_FOUND"

svc_start w worker --concurrency 2
svc_start s scheduler
for _ in $(seq 1 100); do [ "$(sched_runs OPS)" -ge 3 ] && break; sleep 0.1; done
[ "$(sched_runs OPS)" -ge 3 ] || fail "the every-second schedule did not fire"
pass "the schedule fires ($(sched_runs OPS) scheduled runs)"

# Catch-up: the slots missed while no scheduler ran collapse into one run.
svc_stop s
wait_no_running 30
t_down=$(now)
sleep 4
t_up=$(now)
svc_start s scheduler
sleep 1.5
slots_run() { psql_q "SELECT count(*) FROM sync_run WHERE trigger = 'schedule'
                      AND slot_at > to_timestamp($1 / 1000.0) AND slot_at <= to_timestamp($2 / 1000.0)"; }
# The slots due when the new leader took over: exactly one run for them all.
lead=$(grep -F '"msg":"scheduler is the leader"' "$JS_TMP/s.log" | tail -n 1 | grep -o '"time":"[^"]*"' | cut -d'"' -f4)
t_lead=$(($(date -d "$lead" +%s%N) / 1000000))
[ "$t_lead" -ge "$t_up" ] || fail "the restarted scheduler did not lead"
caught=$(slots_run $((t_down + 1000)) "$t_lead")
[ "$caught" = 1 ] || fail "the $(( (t_lead - t_down) / 1000 )) slots missed while down started $caught runs, expected 1"
pass "after 4 s without a scheduler the missed slots collapsed into one run"

# Pause: never fires; trigger is refused; resume collapses the missed slots.
"$JS" project pause OPS --note "maintenance window" >/dev/null 2>&1 || fail "pause"
[ "$(field OPS status)" = PAUSED ] && [ "$(field OPS pause_note)" = "maintenance window" ] || fail "pause not recorded"
wait_no_running 30
t_pause=$(now); n=$(sched_runs OPS)
sleep 3
[ "$(sched_runs OPS)" = "$n" ] || fail "a paused schedule fired"
expect_code 1 CONFLICT project trigger OPS
pass "a paused schedule never fires; trigger of a paused project is a CONFLICT"
t_resume=$(now)
"$JS" project resume OPS >/dev/null 2>&1 || fail "resume"
sleep 2.5
burst=$(psql_q "SELECT count(*) FROM sync_run WHERE trigger = 'schedule'
                AND slot_at > to_timestamp($t_pause / 1000.0) AND slot_at < to_timestamp(($t_resume - 500) / 1000.0)")
[ "$burst" = 0 ] || fail "$burst missed slots fired after resume"
[ "$(sched_runs OPS)" -gt "$n" ] || fail "no run after resume"
pass "resume fires again from the next slot, without a burst of the missed ones"

"$JS" project reschedule OPS '0 0 1 1 *' >/dev/null 2>&1 || fail "reschedule"
[ "$(field OPS cron)" = '0 0 1 1 *' ] || fail "reschedule not stored"
case "$(field OPS next_run)" in ????-01-01T00:*) ;; *) fail "next run not recomputed: $(field OPS next_run)";; esac
wait_no_running 30
n=$(sched_runs OPS); sleep 2
[ "$(sched_runs OPS)" = "$n" ] || fail "the old schedule still fires"
pass "reschedule replaces the cron and the next fire time"

# Overlap: slow pages keep a run active.
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"delay\",\"delayMs\":400,\"count\":100000}" >/dev/null
out=$("$JS" project trigger OPS --full 2>/dev/null); run=$(run_of "$out")
[ -n "$run" ] || fail "trigger did not start a run: $out"
out=$("$JS" project trigger OPS 2>/dev/null)
grep -q '^outcome: skipped' <<<"$out" || fail "SKIP: second trigger not skipped: $out"
[ "$(psql_q "SELECT count(*) FROM sync_log WHERE message = 'trigger skipped'")" = 1 ] || fail "skipped trigger not recorded"
"$JS" project overlap OPS BUFFER_ONE >/dev/null 2>&1 || fail "overlap"
out=$("$JS" project trigger OPS 2>/dev/null)
grep -q '^outcome: buffered' <<<"$out" || fail "BUFFER_ONE: trigger not buffered: $out"
out=$("$JS" project trigger OPS 2>/dev/null)
grep -q '^outcome: skipped' <<<"$out" || fail "BUFFER_ONE buffered more than one: $out"
sim DELETE /_sim/faults >/dev/null
wait_done "$run" 60
for _ in $(seq 1 100); do [ "$(psql_q "SELECT count(*) FROM sync_run WHERE id > $run")" -ge 1 ] && break; sleep 0.1; done
[ "$(psql_q "SELECT count(*) FROM sync_run WHERE id > $run AND trigger = 'manual'")" = 1 ] || fail "the buffered trigger did not start exactly one run"
wait_no_running 30
pass "trigger while a run is active: SKIP records it, BUFFER_ONE runs one afterwards"

# Tracked users: after a first sync, added accounts get a backfill.
sim GET /_sim/truth?project=TRK >"$JS_TMP/truth.json"
users=($(grep -o '"assignee":"[^"]*"' "$JS_TMP/truth.json" | cut -d'"' -f4 | sort | uniq -c | sort -rn | awk 'NR <= 2 {print $2}'))
out=$("$JS" project track TRK "${users[0]}" 2>/dev/null)
grep -q '^outcome: updated' <<<"$out" || fail "tracking before the first sync started a run: $out"
run=$(run_of "$("$JS" project trigger TRK 2>/dev/null)")
wait_done "$run" 60
compare TRK --tracked "${users[0]}" >/dev/null
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"delay\",\"delayMs\":400,\"count\":100000}" >/dev/null
run=$(run_of "$("$JS" project trigger TRK --full 2>/dev/null)")
out=$("$JS" project track TRK "${users[0]},${users[1]}" 2>/dev/null)
grep -q '^outcome: buffered' <<<"$out" || fail "added account not buffered while a run is active: $out"
sim DELETE /_sim/faults >/dev/null
wait_done "$run" 60
for _ in $(seq 1 100); do [ "$(psql_q "SELECT count(*) FROM sync_run WHERE id > $run AND kind = 'backfill'")" = 1 ] && break; sleep 0.1; done
bf=$(psql_q "SELECT id FROM sync_run WHERE id > $run AND kind = 'backfill'")
[ -n "$bf" ] || fail "no backfill run for the added account"
[ "$(psql_q "SELECT array_to_string(account_ids, ',') FROM sync_run WHERE id = $bf")" = "${users[1]}" ] || fail "backfill not limited to the added account"
wait_done "$bf" 60
compare TRK --tracked "${users[0]},${users[1]}" >/dev/null
pass "an added tracked user is backfilled (after the active run), and TRK equals the truth for both users"

# Graceful shutdown in the middle of a run: exit 0, nothing pending; a new
# worker finishes the run.
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"delay\",\"delayMs\":300,\"count\":100000}" >/dev/null
run=$(run_of "$("$JS" project trigger OPS --full 2>/dev/null)")
wait_step "$run" 1
svc_stop w
[ "$(pending_tasks)" = 0 ] || fail "a task is stuck pending after SIGTERM: $(pending_tasks)"
[ "$(psql_q "SELECT status FROM sync_run WHERE id = $run")" = RUNNING ] || fail "the run ended on SIGTERM"
sim DELETE /_sim/faults >/dev/null
svc_start w worker --concurrency 2
wait_done "$run" 60
compare OPS >/dev/null
svc_stop w; svc_stop s
pass "SIGTERM mid-run: exit 0, no task stuck; the next worker completes the run"
