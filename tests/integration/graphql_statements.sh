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
start_gql GRAPHQL_THREADS=1 GRAPHQL_CACHE_MB=0
PID=$(psql_q "SELECT id FROM project WHERE key = 'ALPHA'")
QUERY='query($p: ID!, $n: Int) { issues(projectId: $p, first: $n) { edges { node { key
	comments { id author { displayName } } worklogs { id author { displayName } } assignee { displayName } } } } }'
counter() { curl -s "$GQL_BASE/metrics" | grep '^jirasync_graphql_sql_statements_total ' | awk '{print $2}'; }

# Warm-up: the connection, its prepared statements, and the authors of the
# first 50 issues in the server's user cache (valid while jira_user_epoch
# stays the same).
ok_query $READ "$QUERY" "{\"p\":\"$PID\",\"n\":50}"
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
# issues with their assignees, comments and worklogs; their authors from the
# cache.
[ "$n50" = 3 ] || fail "$n50 statements for three levels"
pass "issues(first: 5) and issues(first: 50) with comments, worklogs and authors cost $n50 statements each"

# A user change is seen by the very next request: it bumps the epoch, the
# cache starts over, and the authors are read again (one statement per
# author field at most).
who=$(psql_q "SELECT c.author_id FROM comment c JOIN issue i ON i.id = c.issue_id
	WHERE i.project_id = $PID ORDER BY i.updated DESC, i.id DESC, c.id LIMIT 1")
boss=$(psql_q "SELECT assignee_id FROM issue WHERE project_id = $PID AND assignee_id IS NOT NULL
	ORDER BY updated DESC, id DESC LIMIT 1")
e0=$(psql_q "SELECT epoch FROM jira_user_epoch")
psql_q "UPDATE jira_user SET display_name = 'Renamed Ünïcode 🙂' WHERE account_id = '$who'" >/dev/null
psql_q "UPDATE jira_user SET display_name = 'Renamed Boss' WHERE account_id = '$boss'" >/dev/null
[ "$(psql_q "SELECT epoch FROM jira_user_epoch")" -gt "$e0" ] || fail "a user update did not bump the epoch"
n=$(count 50)
names=$(body "[.data.issues.edges[].node.comments[] | select(.author.displayName == \"Renamed Ünïcode 🙂\")] | length")
[ "$names" -gt 0 ] || fail "the renamed author is not in the next response"
bosses=$(body '[.data.issues.edges[].node | select(.assignee.displayName == "Renamed Boss")] | length')
[ "$bosses" -gt 0 ] || fail "the renamed assignee is not in the next response"
[ "$n" -le 5 ] || fail "$n statements after a user change"
[ "$(count 50)" = 3 ] || fail "the cache did not warm again"
pass "an author and an assignee renamed in the database are in the very next response ($n statements), then 3 again"
# The next sync puts Jira's name back, and the response follows at once.
"$JS" sync ALPHA 2>/dev/null || fail "re-sync ALPHA"
count 50 >/dev/null
names=$(body "[.data.issues.edges[].node.comments[] | select(.author.displayName == \"Renamed Ünïcode 🙂\")] | length")
[ "$names" = 0 ] || fail "the name the sync restored is not in the next response"
pass "the sync that restores Jira's name is in the next response"
# A sync that changes no user leaves the epoch and the cache alone.
e1=$(psql_q "SELECT epoch FROM jira_user_epoch")
"$JS" sync ALPHA 2>/dev/null || fail "re-sync ALPHA"
[ "$(psql_q "SELECT epoch FROM jira_user_epoch")" = "$e1" ] || fail "a sync changing no user bumped the epoch"
[ "$(count 50)" = 3 ] || fail "statements after a sync that changed no user"
pass "a sync that changes no user keeps the epoch: still 3 statements"

DEEP='query($p: ID!, $n: Int) { issues(projectId: $p, first: $n) { totalCount edges { node { key reporter { accountId }
	sprints { name } comments { author { displayName } updateAuthor { accountId } } } } } }'
d() { local mark; mark=$(log_mark); ok_query $READ "$DEEP" "{\"p\":\"$PID\",\"n\":$1}"; statements_since "$mark"; }
a=$(d 3); b=$(d 100)
[ "$a" = "$b" ] || fail "deeper query: $a statements for 3 issues, $b for 100"
pass "a query with sprints, reporters and update authors: $b statements for 3 or 100 issues"
echo "graphql_statements: all passed"
