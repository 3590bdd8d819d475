#!/usr/bin/env bash
# The response cache: a query asked again while the database has committed
# nothing answers with one statement (the snapshot check) and the same
# bytes; anything committed since (an UPDATE, a sync) is in the very next
# response; a transaction still open is not; responses that read no data
# cost no statement; errors, mutations and live Jira look-ups are never
# kept; GRAPHQL_CACHE_MB=0 turns it off and a bad value stops the server.
set -euo pipefail
source "$(dirname "$0")/graphql_common.sh"
setup --flavour cloud --project ALPHA --issues 60 --seed 21 --email sync@example.com --api-token test-token
trap gql_cleanup EXIT
"$JS" project register ALPHA >/dev/null 2>&1
"$JS" sync ALPHA 2>/dev/null || fail "sync ALPHA"
enable_statement_log
start_gql GRAPHQL_THREADS=2
PID=$(psql_q "SELECT id FROM project WHERE key = 'ALPHA'")
QUERY='query($p: ID!) { issues(projectId: $p, first: 20) { edges { node { key summary
	comments { body author { displayName } } worklogs { timeSpentSeconds } assignee { displayName } } } } }'
VARS="{\"p\":\"$PID\"}"
metric() { curl -s "$GQL_BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# ask TOKEN QUERY [VARS] -> statements PostgreSQL ran for it; the body in $JS_TMP/body
ask() {
	local mark; mark=$(log_mark)
	ok_query "$@"
	statements_since "$mark"
}
top=$(psql_q "SELECT key FROM issue WHERE project_id = $PID ORDER BY updated DESC, id DESC LIMIT 1")

echo "== the same query, nothing committed"
n1=$(ask $READ "$QUERY" "$VARS")
cp "$JS_TMP/body" "$JS_TMP/first"
[ "$n1" -ge 4 ] || fail "the first answer ran $n1 statements; it should read the data"
h0=$(metric jirasync_graphql_response_cache_hits_total)
n2=$(ask $READ "$QUERY" "$VARS")
expect "asked again: only the snapshot check" "$n2" 1
cmp -s "$JS_TMP/first" "$JS_TMP/body" || fail "the kept answer differs from the first"
pass "the kept answer is byte for byte the first"
expect "the hit is counted" "$(metric jirasync_graphql_response_cache_hits_total)" $((h0 + 1))
n=$(ask $ADMIN "$QUERY" "$VARS")
expect "the admin token gets the same kept answer" "$n" 1
st=$(get $READ "query { issues(projectId: $PID, first: 20) { edges { node { key summary } } } }")
st=$(get $READ "query { issues(projectId: $PID, first: 20) { edges { node { key summary } } } }")
expect "a query over GET is kept too" "$st $(body '.data.issues.edges[0].node.key')" "200 $top"

echo "== a commit is in the very next response"
psql_q "UPDATE issue SET summary = 'Renamed in the database ✓' WHERE key = '$top'" >/dev/null
s0=$(metric jirasync_graphql_response_cache_stale_total)
n=$(ask $READ "$QUERY" "$VARS")
expect "after an UPDATE" "$(body '.data.issues.edges[0].node.summary')" "Renamed in the database ✓"
[ "$n" -ge 4 ] || fail "after an UPDATE the data was not read again ($n statements)"
expect "the stale answer is counted" "$(metric jirasync_graphql_response_cache_stale_total)" $((s0 + 1))
expect "then kept again" "$(ask $READ "$QUERY" "$VARS") $(body '.data.issues.edges[0].node.summary')" \
	"1 Renamed in the database ✓"
# A sync puts Jira's summary back: its commit is seen at once.
"$JS" sync ALPHA --full 2>/dev/null || fail "re-sync ALPHA"
ask $READ "$QUERY" "$VARS" >/dev/null
jira=$(psql_q "SELECT summary FROM issue WHERE key = '$top'")
[ "$jira" != "Renamed in the database ✓" ] || fail "the sync did not restore the summary"
expect "after a sync" "$(body '.data.issues.edges[0].node.summary')" "$jira"

echo "== a transaction still open is not seen, its commit is"
psql_q "BEGIN; UPDATE issue SET summary = 'Committed later' WHERE key = '$top'; SELECT pg_sleep(3); COMMIT;" \
	>/dev/null &
writer=$!
sleep 1
ask $READ "$QUERY" "$VARS" >/dev/null
expect "during the transaction" "$(body '.data.issues.edges[0].node.summary')" "$jira"
n=$(ask $READ "$QUERY" "$VARS")
expect "during the transaction, asked again: kept (the snapshot did not move)" \
	"$n $(body '.data.issues.edges[0].node.summary')" "1 $jira"
wait $writer
ask $READ "$QUERY" "$VARS" >/dev/null
expect "after its commit" "$(body '.data.issues.edges[0].node.summary')" "Committed later"

echo "== answers that read no data"
ask $READ '{ __typename }' >/dev/null
expect "{ __typename } again: no statement" "$(ask $READ '{ __typename }')" 0
ask $READ '{ __schema { queryType { name } } }' >/dev/null
expect "introspection again: no statement" "$(ask $READ '{ __schema { queryType { name } } }')" 0

echo "== never kept"
h0=$(metric jirasync_graphql_response_cache_hits_total)
for _ in 1 2; do
	st=$(q $READ "{ syncLogs(projectId: $PID, limit: -1) { id } }")
	expect "a field error" "$st $(body '.errors[0].extensions.code')" "200 BAD_USER_INPUT"
done
expect "an answer with errors is not kept" "$(metric jirasync_graphql_response_cache_hits_total)" "$h0"
for _ in 1 2; do
	ok_query $ADMIN "mutation { pauseProjectSync(projectId: $PID, note: \"n\") { syncJob { status } } }"
	expect "pause" "$(body '.data.pauseProjectSync.syncJob.status')" PAUSED
	ok_query $ADMIN "mutation { resumeProjectSync(projectId: $PID) { syncJob { status } } }"
	expect "resume" "$(body '.data.resumeProjectSync.syncJob.status')" ACTIVE
done
expect "mutations are not kept" "$(metric jirasync_graphql_response_cache_hits_total)" "$h0"
ok_query $ADMIN 'mutation { __typename }'
st=$(q $READ 'mutation { __typename }')
expect "a mutation the admin sent stays forbidden to the read token" "$st" 403
st=$(get $READ 'mutation { __typename }')
expect "and refused over GET" "$st" 405
before=$(sim_requests)
for _ in 1 2 3; do
	ok_query $READ '{ jiraProjectOptions(query: "ALP") { key } }'
	expect "jiraProjectOptions" "$(body '.data.jiraProjectOptions[0].key')" ALPHA
done
[ $(( $(sim_requests) - before )) -ge 3 ] || fail "a live Jira look-up was answered from the cache"
pass "every live Jira look-up asks Jira ($(( $(sim_requests) - before )) requests for 3)"
expect "still no hit" "$(metric jirasync_graphql_response_cache_hits_total)" "$h0"
stop_gql

echo "== configuration"
start_gql GRAPHQL_CACHE_MB=0
ask $READ "$QUERY" "$VARS" >/dev/null
n=$(ask $READ "$QUERY" "$VARS")
[ "$n" -ge 4 ] || fail "GRAPHQL_CACHE_MB=0 still answered from a cache ($n statements)"
pass "GRAPHQL_CACHE_MB=0: every answer reads the data ($n statements)"
[ -z "$(metric jirasync_graphql_response_cache_hits_total)" ] || fail "cache metrics while it is off"
stop_gql
rc=0
out=$(env ADMIN_TOKEN=$ADMIN LISTEN_ADDR=127.0.0.1:$(js_free_port) GRAPHQL_CACHE_MB=lots "$GQL_SERVE" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "GRAPHQL_CACHE_MB=lots was accepted"
grep -q 'GRAPHQL_CACHE_MB must be a number from 0 to 65536' <<<"$out" || fail "unclear error: $out"
pass "GRAPHQL_CACHE_MB=lots: the server stops with '$(grep -o 'GRAPHQL_CACHE_MB[^"]*' <<<"$out" | head -1)'"
echo "graphql_cache: all checks passed"
