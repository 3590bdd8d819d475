#!/usr/bin/env bash
# Each injected fault gives the right code with bounded retries, and once the
# fault clears a rerun converges to the source.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project FLT --issues 150 --seed 5 --feed-lag-ms 0
export JIRA_MAX_ATTEMPTS=3 JIRA_TIMEOUT_SECONDS=2
SEARCH=/rest/api/3/search/jql
"$JS" project register FLT >/dev/null 2>&1

path_requests() {
	sim GET /_sim/stats | grep -o "\"$1\" *: *[0-9]*" | head -n 1 | sed 's/.*: *//'
}

# expect_failure KIND CODE ATTEMPTS [extra fault json]
expect_failure() {
	local kind=$1 code=$2 attempts=$3 extra=${4:-}
	sim DELETE /_sim/faults >/dev/null
	sim POST /_sim/stats/reset >/dev/null
	sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"$kind\",\"count\":50$extra}" >/dev/null
	if "$JS" sync FLT --full 2>"$JS_TMP/f.log"; then fail "$kind: sync succeeded"; fi
	grep -q "\[$code\]" "$JS_TMP/f.log" || { cat "$JS_TMP/f.log"; fail "$kind: stderr lacks $code"; }
	[ "$(last_run status)" = FAILED ] || fail "$kind: run not FAILED"
	[ "$(last_run error_code)" = "$code" ] || fail "$kind: run code $(last_run error_code) != $code"
	local logged
	logged=$(psql_q "SELECT details->>'code' FROM sync_log WHERE level = 'ERROR' ORDER BY id DESC LIMIT 1")
	[ "$logged" = "$code" ] || fail "$kind: sync_log code $logged"
	psql_q "SELECT details->>'guidance' FROM sync_log WHERE level = 'ERROR' ORDER BY id DESC LIMIT 1" |
		grep -q . || fail "$kind: no guidance"
	local n; n=$(path_requests "$SEARCH")
	# attempts may be a pattern like 3|4: libcurl re-sends once by itself
	# when a reused keep-alive connection turns out to be dead.
	[[ "$n" =~ ^($attempts)$ ]] || fail "$kind: $n search requests, expected $attempts"
	pass "$kind -> $code after $attempts request(s)"
}

expect_failure 401 AUTH_EXPIRED 1
expect_failure 403_suspended SUSPENDED_PAYMENT 1
expect_failure 404_site SITE_UNAVAILABLE 1
expect_failure 410 API_REMOVED 1
expect_failure 500 JIRA_UNAVAILABLE 3
expect_failure 502 JIRA_UNAVAILABLE 3
expect_failure 503 JIRA_UNAVAILABLE 3
expect_failure 429 RATE_LIMIT 3 ',"retryAfter":1'
expect_failure drop NETWORK_GLITCH '3|4'
expect_failure delay NETWORK_GLITCH 3 ',"delayMs":3000'
# A body that is not JSON at all is re-sent once (a cut transfer), then SCHEMA_CHANGE.
expect_failure malformed SCHEMA_CHANGE "${MALFORMED_ATTEMPTS:-2}"
expect_failure truncated SCHEMA_CHANGE "${MALFORMED_ATTEMPTS:-2}"

# Transient faults within the retry budget: the run succeeds.
sim DELETE /_sim/faults >/dev/null
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"429\",\"count\":1,\"retryAfter\":1}" >/dev/null
sim POST /_sim/faults '{"path":"/rest/api/3/issue/","kind":"503","count":2}' >/dev/null
"$JS" sync FLT --full 2>"$JS_TMP/ok.log" || { cat "$JS_TMP/ok.log"; fail "transient faults were not retried"; }
pass "429 and 503 within the retry budget are retried and the run succeeds"

# Fault cleared: the rerun converges.
sim DELETE /_sim/faults >/dev/null
"$JS" sync FLT --full 2>/dev/null || fail "rerun after faults"
compare FLT
no_duplicates

# A run ended elsewhere while one of its steps was fetching: that step's
# writes are refused at its commit together with its checkpoint, so none of
# the page lands; the sync stops with a clear message; a rerun converges.
psql_q "TRUNCATE issue, comment, worklog, issue_sprint" >/dev/null
sim POST /_sim/faults "{\"path\":\"$SEARCH\",\"kind\":\"delay\",\"delayMs\":2500,\"count\":1}" >/dev/null
JIRA_TIMEOUT_SECONDS=20 "$JS" sync FLT --full 2>"$JS_TMP/stale.log" &
sync_pid=$!
for _ in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'RUNNING'")" = 1 ] && break
	sleep 0.05
done
seq_before=$(psql_q "SELECT step_seq FROM sync_run WHERE status = 'RUNNING'")
psql_q "UPDATE sync_run SET status = 'FAILED', error_code = 'INTERNAL', finished_at = now() WHERE status = 'RUNNING'" >/dev/null
if wait "$sync_pid"; then fail "the sync of an ended run exited 0"; fi
grep -q "was ended or continued elsewhere" "$JS_TMP/stale.log" || { cat "$JS_TMP/stale.log"; fail "no message for the ended run"; }
[ "$(psql_q "SELECT count(*) FROM issue")" = 0 ] || fail "the refused step's issues were committed"
[ "$(last_run step_seq)" = "$seq_before" ] || fail "the refused step moved the checkpoint"
[ "$(psql_q "SELECT count(*) FROM sync_log WHERE run_id = (SELECT max(id) FROM sync_run) AND message = 'issue page synced'")" = 0 ] ||
	fail "the refused step's log line was committed"
pass "a step of a run ended meanwhile commits nothing (writes, checkpoint, log line) and the sync says why"
"$JS" sync FLT --full 2>/dev/null || fail "rerun after the ended run"
compare FLT
no_duplicates

# PostgreSQL drops the sync's connection while a step waits on Jira (an
# overflow step, so that the connection's statements are prepared and the
# failure meets the step's pipelined writes): DB_UNAVAILABLE (exit 69), the
# step commits nothing, the run is recorded FAILED on a new connection, and
# a rerun converges.
psql_q "TRUNCATE issue, comment, worklog, issue_sprint" >/dev/null
sim DELETE /_sim/faults >/dev/null
sim POST /_sim/faults '{"path":"/rest/api/3/issue/","kind":"delay","delayMs":2500,"count":1}' >/dev/null
JIRA_TIMEOUT_SECONDS=20 "$JS" sync FLT --full 2>"$JS_TMP/drop.log" &
sync_pid=$!
for _ in $(seq 1 200); do
	[ "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'RUNNING' AND checkpoint->>'phase' = 'overflow_comment'")" = 1 ] && break
	sleep 0.02
done
seq_before=$(psql_q "SELECT step_seq FROM sync_run WHERE status = 'RUNNING'")
comments_before=$(psql_q "SELECT count(*) FROM comment")
psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'" >/dev/null
rc=0
wait "$sync_pid" || rc=$?
[ "$rc" = 69 ] || { cat "$JS_TMP/drop.log"; fail "a dropped PostgreSQL connection exited $rc, not 69"; }
grep -q '\[DB_UNAVAILABLE\]' "$JS_TMP/drop.log" || { cat "$JS_TMP/drop.log"; fail "stderr lacks DB_UNAVAILABLE"; }
grep -q 'cannot write overflow' "$JS_TMP/drop.log" || { cat "$JS_TMP/drop.log"; fail "the failure did not meet the step's writes"; }
[ -n "$seq_before" ] && [ "$(last_run step_seq)" = "$seq_before" ] || fail "the failed step moved the checkpoint"
[ "$(psql_q "SELECT count(*) FROM comment")" = "$comments_before" ] || fail "rows of the failed step were committed"
[ "$(last_run status) $(last_run error_code)" = "FAILED DB_UNAVAILABLE" ] ||
	fail "run after a dropped connection: $(last_run status) $(last_run error_code)"
pass "a PostgreSQL connection dropped mid-step fails the run as DB_UNAVAILABLE (exit 69) and commits nothing of the step"
"$JS" sync FLT --full 2>/dev/null || fail "rerun after the dropped connection"
compare FLT
no_duplicates
