#!/usr/bin/env bash
# No N+1: issues -> comments -> author, worklogs -> author and assignee cost
# the same number of SQL statements for 5 issues as for 50, counted by
# PostgreSQL itself (log_statement = all), and the server's own counter
# agrees. Also counts a deeper page with sprints and reporters.
set -euo pipefail
source "$(dirname "$0")/graphql_common.sh"
setup --flavour cloud --project ALPHA --issues 120 --seed 5 --email sync@example.com --api-token test-token
trap gql_cleanup EXIT
"$JS" project register ALPHA >/dev/null 2>&1
"$JS" sync ALPHA 2>/dev/null || fail "sync ALPHA"
enable_statement_log
start_gql GRAPHQL_THREADS=1
PID=$(psql_q "SELECT id FROM project WHERE key = 'ALPHA'")
QUERY='query($p: ID!, $n: Int) { issues(projectId: $p, first: $n) { edges { node { key
	comments { id author { displayName } } worklogs { id author { displayName } } assignee { displayName } } } } }'
counter() { curl -s "$GQL_BASE/metrics" | grep '^jirasync_graphql_sql_statements_total ' | awk '{print $2}'; }

ok_query $READ "$QUERY" "{\"p\":\"$PID\",\"n\":1}" # warm-up: connection and prepared statements
count() { # N -> statements for first: N
	local mark c0; c0=$(counter); mark=$(log_mark)
	ok_query $READ "$QUERY" "{\"p\":\"$PID\",\"n\":$1}"
	[ "$(body '.data.issues.edges | length')" = "$1" ] || fail "expected $1 issues"
	local pg; pg=$(statements_since "$mark")
	local own=$(( $(counter) - c0 ))
	[ "$pg" = "$own" ] || fail "PostgreSQL saw $pg statements, the server counted $own"
	echo "$pg"
}
n5=$(count 5)
n50=$(count 50)
comments50=$(body '[.data.issues.edges[].node.comments[]] | length')
worklogs50=$(body '[.data.issues.edges[].node.worklogs[]] | length')
[ "$comments50" -gt 50 ] && [ "$worklogs50" -gt 0 ] || fail "too few children for the test to mean anything ($comments50 comments)"
echo "  statements: first 5 -> $n5, first 50 -> $n50 ($comments50 comments, $worklogs50 worklogs)"
[ "$n5" = "$n50" ] || fail "statements grow with the page size: $n5 for 5 issues, $n50 for 50"
# issues with their assignees, comments with their authors, worklogs with
# their authors.
[ "$n50" -le 3 ] || fail "$n50 statements for three levels"
pass "issues(first: 5) and issues(first: 50) with comments, worklogs and authors cost $n50 statements each"

DEEP='query($p: ID!, $n: Int) { issues(projectId: $p, first: $n) { totalCount edges { node { key reporter { accountId }
	sprints { name } comments { author { displayName } updateAuthor { accountId } } } } } }'
d() { local mark; mark=$(log_mark); ok_query $READ "$DEEP" "{\"p\":\"$PID\",\"n\":$1}"; statements_since "$mark"; }
a=$(d 3); b=$(d 100)
[ "$a" = "$b" ] || fail "deeper query: $a statements for 3 issues, $b for 100"
pass "a query with sprints, reporters and update authors: $b statements for 3 or 100 issues"
echo "graphql_statements: all passed"
