#!/usr/bin/env bash
# Mutations seen by the scheduler (`jirasync run`: scheduler + worker):
# registered with a 2-second schedule, the project's runs fire; paused, no
# run fires; triggered, a run appears and completes — all observed through
# GraphQL.
set -euo pipefail
source "$(dirname "$0")/graphql_common.sh"
setup --flavour cloud --project ALPHA --issues 30 --seed 9 --email sync@example.com --api-token test-token
stop_run() {
	if [ -f "$JS_TMP/run.pid" ]; then
		kill -TERM "$(cat "$JS_TMP/run.pid")" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$(cat "$JS_TMP/run.pid")" 2>/dev/null || break; sleep 0.1; done
		rm -f "$JS_TMP/run.pid"
	fi
}
trap 'stop_run; gql_cleanup' EXIT
start_gql
"$JS" run --concurrency 2 --no-serve 2>"$JS_TMP/run.log" &
echo $! >"$JS_TMP/run.pid"

ok_query $ADMIN 'mutation { registerProject(key: "ALPHA", cron: "*/2 * * * * *") { outcome syncJob { projectId cron status } } }'
PID=$(body '.data.registerProject.syncJob.projectId')
expect "registered" "$(body '.data.registerProject.syncJob.status')" ACTIVE

runs() { ok_query $READ "{ syncRuns(projectId: $PID, limit: 500) { id trigger status } }"; }
schedule_runs() { runs; body '[.data.syncRuns[] | select(.trigger == "SCHEDULE")] | length'; }
# wait_for SECONDS JQ_CONDITION_ON_syncRuns
wait_for() {
	local t=$(( $1 * 10 ))
	for _ in $(seq 1 "$t"); do
		runs
		[ "$(body ".data.syncRuns | $2")" = true ] && return 0
		sleep 0.1
	done
	return 1
}
wait_for 30 'any(.trigger == "SCHEDULE" and .status == "SUCCESS")' || { tail -5 "$JS_TMP/run.log"; fail "no scheduled run completed"; }
pass "the schedule fires: $(schedule_runs) scheduled runs so far"

ok_query $ADMIN "mutation { pauseProjectSync(projectId: $PID, note: \"quiet please\") { syncJob { status pauseNote } } }"
expect "paused" "$(body '.data.pauseProjectSync.syncJob.status')" PAUSED
wait_for 30 'all(.status != "RUNNING")' || fail "the active run did not finish"
n=$(schedule_runs)
sleep 7
expect "no run fired while paused (7 s, schedule every 2 s)" "$(schedule_runs)" "$n"

st=$(q $ADMIN "mutation { triggerProjectSync(projectId: $PID) { outcome } }")
expect "trigger while paused" "$(body '.errors[0].extensions.code')" CONFLICT
ok_query $ADMIN "mutation { rescheduleProjectSync(projectId: $PID, cron: \"0 3 1 1 *\") { syncJob { cron } } }"
ok_query $ADMIN "mutation { resumeProjectSync(projectId: $PID) { syncJob { status } } }"
expect "resumed with a yearly schedule" "$(body '.data.resumeProjectSync.syncJob.status')" ACTIVE
ok_query $ADMIN "mutation { triggerProjectSync(projectId: $PID, full: true) { outcome run { id kind trigger status } } }"
expect "trigger started a run" "$(body '.data.triggerProjectSync | .outcome + " " + .run.kind + " " + .run.trigger')" "started FULL MANUAL"
run=$(body '.data.triggerProjectSync.run.id')
wait_for 60 "any(.id == \"$run\" and .status == \"SUCCESS\")" || { tail -5 "$JS_TMP/run.log"; fail "run $run did not complete"; }
pass "the triggered run $run completed"
ok_query $READ "{ issues(projectId: $PID) { totalCount } syncStates(projectId: $PID) { entity status } }"
expect "its issues are readable" "$(body '.data.issues.totalCount')" 30
expect "states" "$(body '[.data.syncStates[].status] | unique | join(",")')" SUCCESS

acc=$(psql_q "SELECT account_id FROM jira_user ORDER BY account_id LIMIT 1")
ok_query $ADMIN "mutation { setTrackedUsers(projectId: $PID, accountIds: [\"$acc\"]) { outcome run { id kind trigger } } }"
out=$(body '.data.setTrackedUsers.outcome')
if [ "$out" = started ]; then
	run=$(body '.data.setTrackedUsers.run.id')
	expect "tracking a user starts a backfill" "$(body '.data.setTrackedUsers.run | .kind + " " + .trigger')" "BACKFILL BACKFILL"
	wait_for 60 "any(.id == \"$run\" and .status == \"SUCCESS\")" || fail "backfill $run did not complete"
	pass "the backfill run completed"
else
	fail "setTrackedUsers outcome '$out'"
fi

# jirasync run serves the admin plane itself, and refuses to start without its token.
stop_run
set +e
env -u ADMIN_TOKEN "$JS" run 2>"$JS_TMP/run78.log"; rc=$?
set -e
expect "run without ADMIN_TOKEN exits 78" "$rc" 78
grep -q "ADMIN_TOKEN" "$JS_TMP/run78.log" || fail "the error does not name ADMIN_TOKEN"
RUN_PORT=$(js_free_port)
ADMIN_TOKEN=$ADMIN READ_TOKEN=$READ LISTEN_ADDR=127.0.0.1:$RUN_PORT "$JS" run --concurrency 1 2>"$JS_TMP/run2.log" &
echo $! >"$JS_TMP/run.pid"
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$RUN_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
GQL_URL="http://127.0.0.1:$RUN_PORT/graphql"
ok_query $READ "{ issues(projectId: $PID) { totalCount } }"
expect "jirasync run serves GraphQL" "$(body '.data.issues.totalCount')" 30
pid=$(cat "$JS_TMP/run.pid"); rm -f "$JS_TMP/run.pid"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
expect "jirasync run stops on SIGTERM with exit 0" "$rc" 0
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$JS_TMP/run2.log"; then
	grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error' "$JS_TMP/run2.log" | head -40 >&2
	fail "jirasync run: sanitizer report"
fi
echo "graphql_scheduler: all passed"
