#!/usr/bin/env bash
# The GraphQL admin plane end to end over HTTP, against a real PostgreSQL and
# Redis filled by `jirasync sync` from the simulator: every query answers
# what the database holds, every mutation changes the schedule, auth
# failures, each limit (refused before any SQL runs, per PostgreSQL's own
# statement log), GraphQL-over-HTTP negotiation and status codes, UTF-8,
# fresh data after a sync, health/readiness/metrics, and no internal text
# when the database is gone.
set -euo pipefail
source "$(dirname "$0")/graphql_common.sh"
setup --flavour cloud --project ALPHA --issues 150 --seed 11 --email sync@example.com --api-token test-token
trap gql_cleanup EXIT
"$JS" project register ALPHA >/dev/null 2>&1
"$JS" sync ALPHA 2>/dev/null || fail "sync ALPHA"
enable_statement_log
start_gql
PID=$(psql_q "SELECT id FROM project WHERE key = 'ALPHA'")

echo "== queries"
ok_query $READ '{ projects { id key createdAt issueCount syncJob { cron status } } }'
expect "projects lists ALPHA" "$(body '.data.projects | map(.key) | join(",")')" ALPHA
expect "issueCount is the live issue count" "$(body '.data.projects[0].issueCount')" \
	"$(psql_q "SELECT count(*) FROM issue WHERE project_id = $PID AND deleted_at IS NULL")"
expect "project's syncJob" "$(body '.data.projects[0].syncJob.cron')" "$(psql_q "SELECT cron FROM sync_job WHERE project_id = $PID")"
ok_query $READ 'query($id: ID!) { project(id: $id) { key } missing: project(id: 999999) { key } }' "{\"id\":\"$PID\"}"
expect "project(id)" "$(body '.data.project.key') $(body '.data.missing')" "ALPHA null"

# Paging: every live issue once, in (updated DESC, id DESC) order.
after=null; keys=""; pages=0
while :; do
	ok_query $READ 'query($p: ID!, $a: String) { issues(projectId: $p, first: 40, after: $a) {
		totalCount pageInfo { hasNextPage endCursor } edges { cursor node { key } } } }' \
		"{\"p\":\"$PID\",\"a\":$after}"
	keys="$keys$(body '.data.issues.edges[].node.key')"$'\n'
	pages=$((pages + 1))
	[ "$(body '.data.issues.pageInfo.hasNextPage')" = true ] || break
	after=$(body '.data.issues.pageInfo.endCursor | tojson')
done
want=$(psql_q "SELECT key FROM issue WHERE project_id = $PID AND deleted_at IS NULL ORDER BY updated DESC, id DESC")
expect "paging with cursors returns every issue in order ($pages pages)" "$(echo "$keys" | sed '/^$/d')" "$want"
expect "totalCount" "$(body '.data.issues.totalCount')" "$(echo "$want" | wc -l)"

# Filters, each compared with the same question asked of PostgreSQL.
filter_count() { # FILTER_JSON SQL_WHERE
	ok_query $READ 'query($p: ID!, $f: IssueFilter) { issues(projectId: $p, filter: $f, first: 500) { totalCount edges { node { key } } } }' \
		"{\"p\":\"$PID\",\"f\":$1}"
	local want; want=$(psql_q "SELECT count(*) FROM issue i WHERE project_id = $PID AND deleted_at IS NULL AND $2")
	[ "$want" -gt 0 ] || fail "filter $1 matches nothing in the data: not a test"
	expect "filter $1 totalCount" "$(body '.data.issues.totalCount')" "$want"
	expect "filter $1 edges" "$(body '.data.issues.edges | length')" "$want"
}
filter_count '{"status":"Done"}' "status = 'Done'"
acc=$(psql_q "SELECT assignee_id FROM issue WHERE project_id = $PID AND assignee_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
filter_count "{\"assignee\":\"$acc\"}" "assignee_id = '$acc'"
sp=$(psql_q "SELECT sprint_id FROM issue_sprint GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
filter_count "{\"sprintId\":\"$sp\"}" "EXISTS (SELECT 1 FROM issue_sprint s WHERE s.issue_id = i.id AND s.sprint_id = $sp)"
since=$(psql_q "SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY updated) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM issue WHERE project_id = $PID")
filter_count "{\"updatedSince\":\"$since\"}" "updated >= '$since'"
word=$(psql_q "SELECT lower(split_part(summary, ' ', 2)) FROM issue WHERE project_id = $PID ORDER BY id LIMIT 1")
filter_count "{\"text\":\"$word\"}" "search_vector @@ websearch_to_tsquery('simple', '$word')"
filter_count "{\"status\":\"Done\",\"text\":\"$word\"}" "status = 'Done' AND search_vector @@ websearch_to_tsquery('simple', '$word')"

# A page reads only the columns its query selects (through fragments and
# @include too): every field still answers what a query selecting all of
# them answers.
ok_query $READ "{ issues(projectId: $PID, first: 60) { edges { node { key summary status statusCategory
	priority issueType created updated resolved labels deletedAt assignee { accountId displayName }
	comments { id body created updated author { accountId displayName emailAddress timeZone active }
		updateAuthor { accountId } }
	worklogs { id comment started created updated timeSpentSeconds
		author { accountId displayName emailAddress timeZone active } } } } } }"
cp "$JS_TMP/body" "$JS_TMP/full.json"
expect "a page with its assignees keeps the page order" \
	"$(jq -r '.data.issues.edges[].node.key' "$JS_TMP/full.json" | tr '\n' ' ')" \
	"$(psql_q "SELECT key FROM issue WHERE project_id = $PID AND deleted_at IS NULL
	           ORDER BY updated DESC, id DESC LIMIT 60" | tr '\n' ' ')"
expect "a page's assignees are the issues' users" \
	"$(jq -r '.data.issues.edges[] | .node.assignee.displayName // "-"' "$JS_TMP/full.json" | tr '\n' ' ')" \
	"$(psql_q "SELECT coalesce(u.display_name, '-') FROM issue i LEFT JOIN jira_user u ON u.account_id = i.assignee_id
	           WHERE i.project_id = $PID AND i.deleted_at IS NULL ORDER BY i.updated DESC, i.id DESC LIMIT 60" | tr '\n' ' ')"
narrow() { # NAME QUERY_SELECTION JQ_PROJECTION [VARIABLES]
	local head="" frag=""
	case $2 in *'$yes'*) head='query($yes: Boolean = true)' ;; esac
	case $2 in *'...I'*) frag='fragment I on Issue { summary created comments { body updated author { active } } }' ;; esac
	ok_query $READ "$head { issues(projectId: $PID, first: 60) { edges { node { $2 } } } } $frag" "${4:-null}"
	expect "$1" "$(jq -c '.data.issues.edges' "$JS_TMP/body")" \
		"$(jq -c ".data.issues.edges | map({node: (.node | $3)})" "$JS_TMP/full.json")"
}
narrow "a page selecting keys, labels and author names only" \
	'key labels assignee { displayName } comments { id author { displayName } } worklogs { id author { accountId } }' \
	'{key, labels, assignee: (.assignee | if . then {displayName} else null end), comments: [.comments[] | {id, author: (.author | if . then {displayName} else null end)}],
	  worklogs: [.worklogs[] | {id, author: (.author | if . then {accountId} else null end)}]}'
narrow "a page selecting comments and their authors, no worklogs" \
	'key comments { id author { accountId displayName active } }' \
	'{key, comments: [.comments[] | {id, author: (.author | if . then {accountId, displayName, active} else null end)}]}'
narrow "a page selecting worklogs and their authors, no comments" \
	'key worklogs { id author { displayName timeZone } }' \
	'{key, worklogs: [.worklogs[] | {id, author: (.author | if . then {displayName, timeZone} else null end)}]}'
narrow "a page selecting through a fragment and @include" \
	'key ...I status @include(if: $yes) assignee { accountId } worklogs { comment started author { emailAddress timeZone } }' \
	'{key, summary, created, comments: [.comments[] | {body, updated, author: (.author | if . then {active} else null end)}],
	  status, assignee: (.assignee | if . then {accountId} else null end), worklogs: [.worklogs[] | {comment, started,
	  author: (.author | if . then {emailAddress, timeZone} else null end)}]}'
narrow "a page skipping a field with @include(if: false)" \
	'key summary @include(if: $yes) priority issueType resolved deletedAt comments { updateAuthor { accountId } }' \
	'{key, priority, issueType, resolved, deletedAt,
	  comments: [.comments[] | {updateAuthor}]}' '{"yes":false}'
narrow "a page reading worklogs before comments, and comments under two aliases" \
	'key worklogs { id timeSpentSeconds } c1: comments { id } c2: comments { body author { displayName } }' \
	'{key, worklogs: [.worklogs[] | {id, timeSpentSeconds}], c1: [.comments[] | {id}],
	  c2: [.comments[] | {body, author: (.author | if . then {displayName} else null end)}]}'

st=$(q $READ "{ issues(projectId: $PID, first: 501) { totalCount } }")
expect "first above 500 is refused" "$st $(body '.errors[0].extensions.code')" "200 BAD_USER_INPUT"

# One issue with everything nested, compared with its rows.
key=$(psql_q "SELECT i.key FROM issue i WHERE project_id = $PID AND EXISTS (SELECT 1 FROM comment c WHERE c.issue_id = i.id)
              AND EXISTS (SELECT 1 FROM worklog w WHERE w.issue_id = i.id) AND assignee_id IS NOT NULL
              AND description_adf IS NOT NULL ORDER BY id LIMIT 1")
iid=$(psql_q "SELECT id FROM issue WHERE key = '$key'")
ok_query $READ 'query($k: String!) { issue(key: $k) { id key summary status statusCategory priority issueType created updated resolved labels description descriptionAdf deletedAt
	assignee { accountId displayName active } reporter { accountId }
	comments { id body created updated author { accountId displayName } updateAuthor { accountId } }
	worklogs { id timeSpentSeconds started comment author { accountId } }
	sprints { id name state goal boardId startDate endDate completeDate } } }' "{\"k\":\"$key\"}"
expect "issue(key).id" "$(body '.data.issue.id')" "$iid"
expect "issue summary" "$(body '.data.issue.summary')" "$(psql_q "SELECT summary FROM issue WHERE id = $iid")"
expect "issue comments in order" "$(body '.data.issue.comments[].id' | tr '\n' ' ')" \
	"$(psql_q "SELECT id FROM comment WHERE issue_id = $iid ORDER BY created, id" | tr '\n' ' ')"
expect "comment authors" "$(body '.data.issue.comments[].author.accountId' | tr '\n' ' ')" \
	"$(psql_q "SELECT author_id FROM comment WHERE issue_id = $iid ORDER BY created, id" | tr '\n' ' ')"
expect "issue worklogs" "$(body '[.data.issue.worklogs[].timeSpentSeconds] | add')" \
	"$(psql_q "SELECT sum(time_spent_seconds) FROM worklog WHERE issue_id = $iid")"
expect "assignee display name" "$(body '.data.issue.assignee.displayName')" \
	"$(psql_q "SELECT u.display_name FROM issue i JOIN jira_user u ON u.account_id = i.assignee_id WHERE i.id = $iid")"
expect "issue sprints" "$(body '.data.issue.sprints | length')" \
	"$(psql_q "SELECT count(*) FROM issue_sprint l JOIN sprint s ON s.id = l.sprint_id WHERE l.issue_id = $iid")"
expect "labels" "$(body '.data.issue.labels | join(",")')" "$(psql_q "SELECT array_to_string(labels, ',') FROM issue WHERE id = $iid")"
expect "descriptionAdf is a JSON document" "$(body '.data.issue.descriptionAdf.type')" "doc"
expect "a timestamp is RFC 3339 UTC with ms" "$(body '.data.issue.updated' | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$')" 1

ok_query $READ "{ sprints(projectId: $PID) { id name state } jiraUsers(projectId: $PID) { accountId displayName }
	trackedUsers(projectId: $PID) { accountId } syncJob(projectId: $PID) { projectId cron effectiveCron status pauseNote failureStreak lastRunAt nextRunAt }
	syncStates(projectId: $PID) { entity status cursor lastSuccessAt lastErrorCode }
	syncLogs(projectId: $PID, limit: 3) { id runId level message details createdAt }
	errors: syncLogs(projectId: $PID, level: ERROR) { id }
	syncRuns(projectId: $PID) { id kind trigger status errorCode issuesUpserted issuesDeleted commentsUpserted worklogsUpserted jiraRequests startedAt finishedAt } }"
expect "sprints" "$(body '.data.sprints | length')" "$(psql_q "SELECT count(*) FROM project_sprint WHERE project_id = $PID")"
expect "jiraUsers" "$(body '.data.jiraUsers | length')" "$(psql_q "SELECT count(*) FROM jira_user WHERE account_id IN (
	SELECT assignee_id FROM issue UNION SELECT reporter_id FROM issue UNION SELECT author_id FROM comment UNION SELECT author_id FROM worklog)")"
expect "trackedUsers (none)" "$(body '.data.trackedUsers | length')" 0
expect "syncStates" "$(body '.data.syncStates | map(.entity + ":" + .status) | join(",")')" "issue:SUCCESS,comment:SUCCESS,worklog:SUCCESS,sprint:SUCCESS"
expect "syncLogs limit" "$(body '.data.syncLogs | length')" 3
expect "syncLogs newest first" "$(body '.data.syncLogs[0].id')" "$(psql_q "SELECT max(id) FROM sync_log WHERE project_id = $PID")"
expect "syncLogs level filter" "$(body '.data.errors | length')" 0
expect "syncRuns" "$(body '.data.syncRuns | map(.kind + "/" + .trigger + "/" + .status) | join(",")')" "FULL/MANUAL/SUCCESS"
expect "run counters" "$(body '.data.syncRuns[0].issuesUpserted')" "$(psql_q "SELECT issues_upserted FROM sync_run ORDER BY id DESC LIMIT 1")"

# Live Jira look-ups, and a failure of one comes back classified.
ok_query $READ '{ jiraProjectOptions(query: "ALP") { key name id } jiraProjectUserOptions(projectKey: "ALPHA") { accountId displayName } }'
expect "jiraProjectOptions" "$(body '.data.jiraProjectOptions | map(.key) | join(",")')" ALPHA
[ "$(body '.data.jiraProjectUserOptions | length')" -gt 0 ] || fail "jiraProjectUserOptions is empty"
pass "jiraProjectUserOptions lists assignable users"
sim POST /_sim/faults '{"path":"/rest/api/3/user/assignable/search","kind":"401","count":5}' >/dev/null
st=$(q $READ '{ jiraProjectUserOptions(projectKey: "ALPHA") { accountId } }')
expect "a Jira 401 is classified" "$st $(body '.errors[0].extensions.code') $(body '.errors[0].path[0]')" "200 AUTH_EXPIRED jiraProjectUserOptions"

echo "== a sync's commit is visible at once"
first=$(psql_q "SELECT id FROM issue WHERE project_id = $PID ORDER BY id LIMIT 1")
sim POST "/_sim/issues/$first" '{"summary":"Renamed by the admin test 🚀"}' >/dev/null
ok_query $READ "{ issue(key: \"$(psql_q "SELECT key FROM issue WHERE id = $first")\") { summary } }"
before=$(body '.data.issue.summary')
"$JS" sync ALPHA 2>/dev/null || fail "incremental sync"
ok_query $READ "{ issue(key: \"$(psql_q "SELECT key FROM issue WHERE id = $first")\") { summary } }"
expect "summary after the sync (was '$before')" "$(body '.data.issue.summary')" "Renamed by the admin test 🚀"

echo "== mutations"
ok_query $ADMIN 'mutation($p: ID!) { pauseProjectSync(projectId: $p, note: "upgrade 🔧 window") { outcome syncJob { status pauseNote } run { id } } }' "{\"p\":\"$PID\"}"
expect "pause" "$(body '.data.pauseProjectSync.syncJob.status')|$(body '.data.pauseProjectSync.syncJob.pauseNote')" "PAUSED|upgrade 🔧 window"
expect "pause stored (4-byte UTF-8 intact)" "$(psql_q "SELECT status || '|' || pause_note FROM sync_job WHERE project_id = $PID")" "PAUSED|upgrade 🔧 window"
st=$(q $ADMIN "mutation { triggerProjectSync(projectId: $PID) { outcome } }")
expect "trigger of a paused job is a conflict" "$st $(body '.errors[0].extensions.code')" "200 CONFLICT"
ok_query $ADMIN "mutation { resumeProjectSync(projectId: $PID) { outcome syncJob { status nextRunAt } } }"
expect "resume" "$(body '.data.resumeProjectSync.syncJob.status')" ACTIVE
[ "$(body '.data.resumeProjectSync.syncJob.nextRunAt')" != null ] || fail "resume without nextRunAt"
ok_query $ADMIN "mutation { rescheduleProjectSync(projectId: $PID, cron: \"0 3 * * 1-5\") { syncJob { cron effectiveCron } } }"
expect "reschedule" "$(psql_q "SELECT cron || '|' || effective_cron FROM sync_job WHERE project_id = $PID")" "0 3 * * 1-5|0 3 * * 1-5"
st=$(q $ADMIN "mutation { rescheduleProjectSync(projectId: $PID, cron: \"61 * * * *\") { outcome } }")
expect "an invalid cron is refused" "$st $(body '.errors[0].extensions.code')" "200 BAD_USER_INPUT"
ok_query $ADMIN 'mutation { registerProject(key: "BETA", cron: "*/30 * * * *") { outcome syncJob { projectId cron status } } }'
expect "registerProject" "$(psql_q "SELECT j.cron FROM sync_job j JOIN project p ON p.id = j.project_id WHERE p.key = 'BETA'")" "*/30 * * * *"
ok_query $ADMIN "mutation { triggerProjectSync(projectId: $PID, full: true) { outcome run { id kind trigger status } } }"
expect "trigger starts a run" "$(body '.data.triggerProjectSync | .outcome + " " + .run.kind + " " + .run.trigger + " " + .run.status')" "started FULL MANUAL RUNNING"
run=$(body '.data.triggerProjectSync.run.id')
expect "the run is in PostgreSQL" "$(psql_q "SELECT kind || ' ' || status FROM sync_run WHERE id = $run")" "full RUNNING"
ok_query $ADMIN "mutation { startProjectSync(projectId: $PID) { outcome } }"
expect "start while a run is active" "$(body '.data.startProjectSync.outcome')" skipped
acc2=$(psql_q "SELECT account_id FROM jira_user ORDER BY account_id LIMIT 1")
ok_query $ADMIN "mutation { setTrackedUsers(projectId: $PID, accountIds: [\"$acc2\"]) { outcome syncJob { status } } }"
expect "setTrackedUsers stored" "$(psql_q "SELECT string_agg(account_id, ',') FROM project_tracked_user WHERE project_id = $PID")" "$acc2"
ok_query $READ "{ trackedUsers(projectId: $PID) { accountId displayName } }"
expect "trackedUsers" "$(body '.data.trackedUsers[0].accountId')" "$acc2"
st=$(q $ADMIN 'mutation { pauseProjectSync(projectId: 424242) { outcome } }')
expect "unknown project" "$st $(body '.errors[0].extensions.code')" "200 NOT_FOUND"

echo "== auth"
expect "no token" "$(q "" '{ projects { key } }') $(body '.errors[0].extensions.code')" "401 UNAUTHENTICATED"
expect "WWW-Authenticate" "$(header WWW-Authenticate)" Bearer
expect "wrong token" "$(q wrong-token '{ projects { key } }')" 401
expect "a prefix of the token" "$(q "${ADMIN%?}" '{ projects { key } }')" 401
expect "read token on a mutation" "$(q $READ "mutation { resumeProjectSync(projectId: $PID) { outcome } }") $(body '.errors[0].extensions.code')" "403 FORBIDDEN"
expect "admin token on a query" "$(q $ADMIN '{ projects { key } }')" 200

echo "== GraphQL over HTTP"
expect "GET query" "$(get $READ '{ projects { key } }') $(body '.data.projects[0].key')" "200 ALPHA"
expect "GET mutation is 405" "$(get $ADMIN "mutation { pauseProjectSync(projectId: $PID) { outcome } }") $(header Allow)" "405 POST"
expect "the GET mutation did nothing" "$(psql_q "SELECT status FROM sync_job WHERE project_id = $PID")" ACTIVE
expect "PUT is 405" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $READ" "$GQL_URL")" 405
st=$(q $READ '{ __typename }')
expect "no Accept: graphql-response+json" "$st $(header Content-Type)" "200 application/graphql-response+json; charset=utf-8"
st=$(post $READ '{"query":"{ __typename }"}' -H 'Accept: application/json')
expect "Accept application/json" "$st $(header Content-Type)" "200 application/json; charset=utf-8"
st=$(post $READ '{"query":"{ __typename }"}' -H 'Accept: application/json;q=0.9, application/graphql-response+json')
expect "Accept with q values" "$(header Content-Type)" "application/graphql-response+json; charset=utf-8"
st=$(post $READ '{"query":"{ __typename }"}' -H 'Accept: application/graphql-response+json;q=0.2, application/json')
expect "Accept preferring json" "$(header Content-Type)" "application/json; charset=utf-8"
expect "Accept */*" "$(post $READ '{"query":"{ __typename }"}' -H 'Accept: */*') $(header Content-Type)" "200 application/graphql-response+json; charset=utf-8"
expect "unacceptable Accept" "$(post $READ '{"query":"{ __typename }"}' -H 'Accept: text/html')" 406
expect "POST not JSON" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READ" \
	-H 'Content-Type: text/plain' --data-binary '{"query":"{ __typename }"}' "$GQL_URL")" 415
for mt in application/graphql-response+json application/json; do
	want_req=400; [ $mt = application/json ] && want_req=200
	expect "$mt: JSON parse failure" "$(post $READ 'NONSENSE' -H "Accept: $mt")" 400
	expect "$mt: invalid parameters" "$(post $READ '{"qeury":"{ __typename }"}' -H "Accept: $mt")" 400
	expect "$mt: variables not an object" "$(post $READ '{"query":"{ __typename }","variables":[7]}' -H "Accept: $mt")" 400
	expect "$mt: document parse failure" "$(post $READ '{"query":"{"}' -H "Accept: $mt") $(body '.errors[0].extensions.code')" "$want_req GRAPHQL_PARSE_FAILED"
	expect "$mt: validation failure" "$(post $READ '{"query":"{ nope }"}' -H "Accept: $mt") $(body '.errors[0].extensions.code')" "$want_req GRAPHQL_VALIDATION_FAILED"
	expect "$mt: operation not determined" "$(post $READ '{"query":"query A { __typename } query B { __typename }"}' -H "Accept: $mt") $(body '.errors[0].extensions.code')" "$want_req OPERATION_RESOLUTION_FAILURE"
	expect "$mt: variable coercion failure" "$(post $READ '{"query":"query($p: ID!) { syncJob(projectId: $p) { cron } }","variables":{"p":[1]}}' -H "Accept: $mt") $(body '.errors[0].extensions.code')" "$want_req BAD_USER_INPUT"
	expect "$mt: field error keeps 200" "$(post $READ '{"query":"{ project(id: \"x\") { key } }"}' -H "Accept: $mt") $(body '.data.project')" "200 null"
done
st=$(post $READ '{"query":"query A { a: __typename } query B { b: __typename }","operationName":"B"}')
expect "operationName picks the operation" "$st $(body '.data | keys | join(",")')" "200 b"
st=$(get $READ 'query A { a: __typename } query B { b: __typename }' --data-urlencode operationName=A)
expect "operationName over GET" "$st $(body '.data | keys | join(",")')" "200 a"
st=$(get $READ 'query($k: String!) { issue(key: $k) { key } }' --data-urlencode 'variables={"k":"ÄÖ-😀"}')
expect "variables over GET with 4-byte UTF-8" "$st $(body '.data.issue')" "200 null"
st=$(post $READ '{"query":"{ a: __typename \"\"\"\" \"\"\"  }"}')
[ "$st" = 400 ] || fail "malformed string literal: $st"
st=$(q $READ 'query { issue(key: "😀🚀") { key } __typename }')
expect "4-byte characters in the document" "$st $(body '.data.__typename')" "200 Query"
expect "no CORS headers unless configured" "$(post $READ '{"query":"{ __typename }"}' -H 'Origin: https://evil.example'; header Access-Control-Allow-Origin)" 200
expect "unknown path" "$(curl -s -o /dev/null -w '%{http_code}' "$GQL_BASE/nope")" 404

echo "== limits, each refused before any SQL"
limit() { # NAME BODY_FILE_OR_JSON EXPECTED_STATUS EXPECTED_CODE
	local mark st; mark=$(log_mark)
	st=$(curl -s -o "$JS_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $READ" \
		-H 'Content-Type: application/json' --data-binary "@$2" "$GQL_URL")
	expect "$1 refused" "$st $(body '.errors[0].extensions.code')" "$3 $4"
	expect "$1: no statement reached PostgreSQL" "$(statements_since "$mark")" 0
}
mk() { jq -cn --arg q "$2" '{query: $q}' >"$JS_TMP/$1.json"; echo "$JS_TMP/$1.json"; }
head -c 300000 /dev/zero | tr '\0' ' ' | sed 's/^/{"query":"{ __typename }","pad":"/; s/$/"}/' >"$JS_TMP/big.json"
limit "body over 256 KiB" "$JS_TMP/big.json" 413 REQUEST_TOO_LARGE
limit "document over 64 KiB" "$(mk doc "{ projects { key } }$(printf '%*s' 70000 '')")" 400 DOCUMENT_TOO_LARGE
limit "tokens" "$(mk tok "{ projects { $(printf 'key %.0s' $(seq 1 10005)) } }")" 400 TOO_MANY_TOKENS
deep="name"; for _ in $(seq 1 22); do deep="ofType { $deep }"; done
limit "depth" "$(mk deep "{ __type(name: \"Issue\") { fields { type { $deep } } } }")" 400 QUERY_TOO_DEEP
limit "aliases" "$(mk alias "{ $(for i in $(seq 1 51); do printf 'a%d: __typename ' "$i"; done) }")" 400 TOO_MANY_ALIASES
limit "cost" "$(mk cost "{ syncRuns(projectId: $PID, limit: 100000) { id } }")" 400 QUERY_TOO_COSTLY
# With application/json a refused document is still a 200.
st=$(curl -s -o "$JS_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $READ" -H 'Accept: application/json' \
	-H 'Content-Type: application/json' --data-binary "@$JS_TMP/cost.json" "$GQL_URL")
expect "cost with application/json" "$st $(body '.errors[0].extensions.code')" "200 QUERY_TOO_COSTLY"

echo "== health, readiness, metrics"
expect "/healthz" "$(curl -s -w '%{http_code}' "$GQL_BASE/healthz" | tr -d '\n')" "ok200"
expect "/readyz" "$(curl -s -o /dev/null -w '%{http_code}' "$GQL_BASE/readyz")" 200
curl -s "$GQL_BASE/metrics" >"$JS_TMP/metrics"
m() { grep -v '^#' "$JS_TMP/metrics" | grep -F "$1 " | awk '{print $NF}'; }
expect "metrics: successful runs" "$(m 'jirasync_sync_runs{status="SUCCESS"}')" "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'SUCCESS'")"
expect "metrics: running runs" "$(m 'jirasync_sync_runs{status="RUNNING"}')" "$(psql_q "SELECT count(*) FROM sync_run WHERE status = 'RUNNING'")"
expect "metrics: run durations" "$(m 'jirasync_sync_run_duration_seconds_count')" "$(psql_q "SELECT count(*) FROM sync_run WHERE finished_at IS NOT NULL")"
expect "metrics: jira requests" "$(m 'jirasync_jira_requests_total')" "$(psql_q "SELECT sum(jira_requests) FROM sync_run")"
[ -n "$(m 'jirasync_queue_depth{state="ready"}')" ] || fail "metrics: no queue depth"
[ "$(m 'jirasync_graphql_requests_total{status="401"}')" -ge 3 ] || fail "metrics: 401s not counted"
[ "$(m 'jirasync_graphql_requests_total{status="405"}')" -ge 2 ] || fail "metrics: 405s not counted"
pass "metrics: queue depth and GraphQL requests by status"
# The request duration histogram: cumulative buckets, +Inf equal to the
# count, and one more /graphql request is one more observation.
hist() { curl -s "$GQL_BASE/metrics" | grep '^jirasync_graphql_request_duration_seconds'; }
h0=$(hist)
n0=$(awk '$1 == "jirasync_graphql_request_duration_seconds_count" {print $2}' <<<"$h0")
[ "${n0:-0}" -gt 0 ] || fail "metrics: no request durations: $h0"
awk '/_bucket/ {if ($2 < last) bad = 1; last = $2} END {exit bad}' <<<"$h0" ||
	fail "metrics: duration buckets not cumulative: $h0"
[ "$(awk '/le="\+Inf"/ {print $2}' <<<"$h0")" = "$n0" ] || fail "metrics: +Inf bucket is not the count"
awk '$1 == "jirasync_graphql_request_duration_seconds_sum" {exit !($2 > 0)}' <<<"$h0" ||
	fail "metrics: duration sum is not positive"
ok_query $READ '{ __typename }'
n1=$(hist | awk '$1 == "jirasync_graphql_request_duration_seconds_count" {print $2}')
expect "metrics: one request, one duration observed" "$((n1 - n0))" 1
psql_q "INSERT INTO sync_log (project_id, level, message, details) VALUES ($PID, 'ERROR', 'run failed', '{\"code\":\"RATE_LIMIT\"}')" >/dev/null
expect "metrics: Jira errors by code" "$(curl -s "$GQL_BASE/metrics" | grep -F 'jirasync_jira_errors_total{code="RATE_LIMIT"}' | awk '{print $NF}')" 1
ok_query $READ "{ syncLogs(projectId: $PID, level: WARN) { level message details } }"
expect "syncLogs at WARN and worse" "$(body '.data.syncLogs | map(.level + ":" + .details.code) | join(",")')" "ERROR:RATE_LIMIT"

echo "== connections opened together"
# One listening socket; an accepting thread hands the connections to the
# server threads in turn. A thread pool sharing the socket lets whichever
# thread wakes first take a whole burst while the others idle; a listener per
# thread (SO_REUSEPORT) splits it by a hash of the client's port, unevenly.
listeners() { awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" && $4 == "0A"' /proc/net/tcp | wc -l; }
expect "one listening socket" "$(listeners "$GQL_PORT")" 1
# Each thread opens its PostgreSQL connection on its first request.
backends() { psql_q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"; }
stop_gql
start_gql
expect "no database connection before the first request" "$(backends)" 0
split=$(node "$JS_ROOT/tests/integration/burst.js" 127.0.0.1 "$GQL_PORT" "$READ" 32) ||
	fail "burst of 32 connections"
expect "32 connections opened together: 16 on each thread (/metrics)" "$split" "16 16"
expect "both threads served requests" "$(backends)" 2
stop_gql
start_gql GRAPHQL_THREADS=3
split=$(node "$JS_ROOT/tests/integration/burst.js" 127.0.0.1 "$GQL_PORT" "$READ" 30) ||
	fail "burst of 30 connections"
expect "30 connections on 3 threads: 10 each" "$split" "10 10 10"
expect "one listening socket (3 threads)" "$(listeners "$GQL_PORT")" 1

# Out of file descriptors: accept fails (logged), the connections wait in the
# backlog, and once clients let go the server accepts and answers again.
stop_gql
start_gql
prlimit --pid "$(cat "$JS_TMP/gql.pid")" --nofile=40:40
node -e '
const net = require("net");
const socks = [];
for (let i = 0; i < 60; i++) socks.push(net.connect(+process.argv[1], "127.0.0.1").on("error", () => {}));
setTimeout(() => { for (const s of socks) s.destroy(); }, +process.argv[2]);
' "$GQL_PORT" 3000 &
holder=$!
for _ in $(seq 1 50); do grep -q "accept failed" "$JS_TMP/gql.log" && break; sleep 0.1; done
grep "accept failed" "$JS_TMP/gql.log" | grep -q "Too many open files" ||
	fail "no 'accept failed: Too many open files' in the log with 60 connections and 40 descriptors"
wait "$holder"
ok=0
for _ in $(seq 1 50); do
	st=$(curl -s -o /dev/null -w '%{http_code}' -m 2 -H "Authorization: Bearer $READ" \
		"$GQL_URL?query=%7B__typename%7D" || true)
	[ "$st" = 200 ] && { ok=1; break; }
	sleep 0.1
done
[ "$ok" = 1 ] || fail "the server did not answer again after running out of descriptors"
pass "out of file descriptors: accept failures logged, served again once clients let go"

echo "== the database goes away"
bin=$(js_pg_bindir); as=""; [ "$(id -u)" = 0 ] && as="runuser -u postgres --"
$as "$bin/pg_ctl" -D "$JS_TMP/pg" -m immediate stop >/dev/null 2>&1
st=$(q $READ "{ projects { key } }")
expect "a read without PostgreSQL" "$st $(body '.errors[0].extensions.code')" "200 DB_UNAVAILABLE"
if grep -qiE 'server|connection|SQL|select|libpq|socket' <<<"$(body '.errors[0].message')"; then
	fail "internal text in the response: $(body '.errors[0].message')"
fi
pass "no internal error text in the response: $(body '.errors[0].message')"
expect "/readyz without PostgreSQL" "$(curl -s -o /dev/null -w '%{http_code}' "$GQL_BASE/readyz")" 503
expect "/healthz still up" "$(curl -s -o /dev/null -w '%{http_code}' "$GQL_BASE/healthz")" 200
echo "graphql_api: all passed"
