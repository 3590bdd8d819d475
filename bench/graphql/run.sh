#!/usr/bin/env bash
# GraphQL admin plane over HTTP, side by side with PostGraphile 4 serving the
# same tables in the same run (figures, not a test). wrk at 32 connections:
#   (a) { __typename }
#   (b) 50 issues with their comments (and authors), worklogs (and authors)
#       and assignee; run twice: with the response cache (the default; a
#       hit still checks PostgreSQL's snapshot) and by a second server with
#       GRAPHQL_CACHE_MB=0, which reads every answer.
# Prints requests/s, p50/p99 latency and the ratios against PostGraphile.
# The engine-only micro-benchmark is bench/graphql/engine.sh.
#
# Usage: bench/graphql/run.sh [SECONDS_PER_RUN] [ISSUES]   (default 10, 400)
# Env: GRAPHQL_THREADS (jirasync server threads, default 2), PGL_WORKERS
# (PostGraphile cluster workers, default 2: both get the machine's cores).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../scripts/lib.sh"
SECS=${1:-10}
ISSUES=${2:-400}
CONNS=32
BUILD="$JS_ROOT/build-bench-gql"
ADMIN=bench-admin-token

command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is needed for PostGraphile" >&2; exit 1; }

echo "building (Release, no sanitizers) ..." >&2
cmake -S "$JS_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJIRASYNC_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target gql_serve jirasync jira-sim -j"$(nproc)" 2>&1 | grep -E 'error' && exit 1
if [ ! -x "$HERE/node_modules/.bin/postgraphile" ]; then
	echo "installing postgraphile@4 into bench/graphql/node_modules ..." >&2
	(cd "$HERE" && npm install --no-audit --no-fund --silent >/dev/null)
fi

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	js_stop_services
}
trap cleanup EXIT
js_start_services
# Both servers and pgbench reach PostgreSQL over its Unix socket, as a
# deployment on one host would (see the README): loopback TCP costs every
# round trip a trip through the TCP stack on both sides.
export DATABASE_URL="postgres://jirasync@/jirasync?host=$JS_TMP/pg&port=$JS_PG_PORT"
js_start_sim "$BUILD" --flavour cloud --project ALPHA --issues "$ISSUES" --seed 21 \
	--email sync@example.com --api-token test-token
export JIRA_EMAIL=sync@example.com JIRA_API_TOKEN=test-token LOG_LEVEL=warn
"$BUILD/jirasync" migrate >/dev/null 2>&1
"$BUILD/jirasync" project register ALPHA >/dev/null 2>&1
"$BUILD/jirasync" sync ALPHA >/dev/null 2>&1
kill "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
PID=$(psql "$DATABASE_URL" -XAtc "SELECT id FROM project WHERE key = 'ALPHA'")
# PostGraphile infers relations from foreign keys. Users are referenced by
# account id without one, and comments and worklogs reference their issue
# through statement triggers (migration 0005), so smart comments declare
# these relations (bench database only).
psql "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 <<'SQL'
COMMENT ON TABLE issue IS E'@foreignKey (assignee_id) references jira_user (account_id)';
COMMENT ON TABLE comment IS E'@foreignKey (author_id) references jira_user (account_id)\n@foreignKey (issue_id) references issue (id)';
COMMENT ON TABLE worklog IS E'@foreignKey (author_id) references jira_user (account_id)\n@foreignKey (issue_id) references issue (id)';
VACUUM ANALYZE;
SQL

JS_PORT=$(js_free_port)
ADMIN_TOKEN=$ADMIN LISTEN_ADDR=127.0.0.1:$JS_PORT GRAPHQL_THREADS=${GRAPHQL_THREADS:-2} \
	"$BUILD/gql_serve" 2>"$JS_TMP/gql.log" &
PIDS+=($!)
# The same server with its response cache off: (b) then reads every answer.
JS_PORT0=$(js_free_port)
ADMIN_TOKEN=$ADMIN LISTEN_ADDR=127.0.0.1:$JS_PORT0 GRAPHQL_THREADS=${GRAPHQL_THREADS:-2} GRAPHQL_CACHE_MB=0 \
	"$BUILD/gql_serve" 2>"$JS_TMP/gql0.log" &
PIDS+=($!)
PGL_PORT=$(js_free_port)
"$HERE/node_modules/.bin/postgraphile" -c "$DATABASE_URL" -s public -n 127.0.0.1 -p "$PGL_PORT" \
	--disable-query-log --cluster-workers "${PGL_WORKERS:-2}" >"$JS_TMP/pgl.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
	curl -fs "http://127.0.0.1:$JS_PORT/healthz" >/dev/null 2>&1 &&
		curl -fs "http://127.0.0.1:$JS_PORT0/healthz" >/dev/null 2>&1 &&
		curl -fs -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' \
			"http://127.0.0.1:$PGL_PORT/graphql" 2>/dev/null && break
	sleep 0.2
done

mkbody() { jq -cn --arg q "$1" '{query: $q}' >"$JS_TMP/$2.json"; }
mkbody '{ __typename }' js_a
cp "$JS_TMP/js_a.json" "$JS_TMP/pgl_a.json"
mkbody "{ issues(projectId: $PID, first: 50) { edges { node { key summary
	comments { id body author { displayName } } worklogs { id timeSpentSeconds author { displayName } }
	assignee { displayName } } } } }" js_b
mkbody "{ allIssues(first: 50, condition: {projectId: \"$PID\"}, orderBy: [UPDATED_DESC, ID_DESC]) { nodes { key summary
	commentsByIssueId(orderBy: [CREATED_ASC, ID_ASC]) { nodes { id body jiraUserByAuthorId { displayName } } }
	worklogsByIssueId(orderBy: [STARTED_ASC, ID_ASC]) { nodes { id timeSpentSeconds jiraUserByAuthorId { displayName } } }
	jiraUserByAssigneeId { displayName } } } }" pgl_b

# Both answer (b) with the same issues, comments and worklogs.
js_b=$(curl -fs -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
	--data-binary "@$JS_TMP/js_b.json" "http://127.0.0.1:$JS_PORT/graphql")
pgl_b=$(curl -fs -H 'Content-Type: application/json' --data-binary "@$JS_TMP/pgl_b.json" \
	"http://127.0.0.1:$PGL_PORT/graphql")
shape_js=$(jq -c '[.data.issues.edges[].node | [.key, (.comments | length), (.worklogs | length), .assignee.displayName]]' <<<"$js_b")
shape_pgl=$(jq -c '[.data.allIssues.nodes[] | [.key, (.commentsByIssueId.nodes | length), (.worklogsByIssueId.nodes | length), .jiraUserByAssigneeId.displayName]]' <<<"$pgl_b")
if [ "$shape_js" != "$shape_pgl" ] || [ "$(jq length <<<"$shape_js")" != 50 ]; then
	echo "the two servers answer (b) differently; not comparable" >&2
	echo "jirasync:    ${shape_js:0:300}" >&2
	echo "PostGraphile: ${shape_pgl:0:300}" >&2
	exit 1
fi
n_comments=$(jq '[.[][1]] | add' <<<"$shape_js")
n_worklogs=$(jq '[.[][2]] | add' <<<"$shape_js")

# bench NAME URL BODY TOKEN -> "rps p50_ms p99_ms"
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
bench() {
	local out
	BODY_FILE="$JS_TMP/$3.json" TOKEN="$4" wrk -t2 -c"$CONNS" -d2s -s "$HERE/wrk_post.lua" "$2" >/dev/null 2>&1 # warm-up
	out=$(BODY_FILE="$JS_TMP/$3.json" TOKEN="$4" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$HERE/wrk_post.lua" "$2")
	if grep -q 'Non-2xx' <<<"$out"; then echo "$1: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
	local rps p50 p99
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out" | to_ms)
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms)
	echo "$rps $p50 $p99"
}
echo "data: $ISSUES issues; query (b) returns 50 issues, $n_comments comments, $n_worklogs worklogs" >&2
echo "wrk: $CONNS connections, ${SECS}s per run, 2 threads; $(nproc) cores shared by both servers and PostgreSQL" >&2
read -r js_a_rps js_a_p50 js_a_p99 < <(bench "jirasync (a)" "http://127.0.0.1:$JS_PORT/graphql" js_a "$ADMIN")
read -r pgl_a_rps pgl_a_p50 pgl_a_p99 < <(bench "PostGraphile (a)" "http://127.0.0.1:$PGL_PORT/graphql" pgl_a "")
# The server's own time per request (its histogram in /metrics), around the
# (b) runs: the rest of wrk's latency is waiting behind the other requests.
durations() { curl -fs "http://127.0.0.1:$1/metrics" | awk '
	$1 == "jirasync_graphql_request_duration_seconds_count" {n = $2}
	$1 == "jirasync_graphql_request_duration_seconds_sum" {s = $2}
	$1 == "jirasync_graphql_request_duration_seconds_bucket{le=\"0.001\"}" {b = $2}
	$1 == "jirasync_graphql_response_cache_hits_total" {h = $2}
	END {print n, s, b, h + 0}'; }
read -r d0_n d0_s d0_b d0_h < <(durations "$JS_PORT")
read -r js_b_rps js_b_p50 js_b_p99 < <(bench "jirasync (b)" "http://127.0.0.1:$JS_PORT/graphql" js_b "$ADMIN")
read -r d1_n d1_s d1_b d1_h < <(durations "$JS_PORT")
read -r e0_n e0_s e0_b _ < <(durations "$JS_PORT0")
read -r js0_b_rps js0_b_p50 js0_b_p99 < <(bench "jirasync (b), cache off" "http://127.0.0.1:$JS_PORT0/graphql" js_b "$ADMIN")
read -r e1_n e1_s e1_b _ < <(durations "$JS_PORT0")
read -r pgl_b_rps pgl_b_p50 pgl_b_p99 < <(bench "PostGraphile (b)" "http://127.0.0.1:$PGL_PORT/graphql" pgl_b "")
# The cache under writes: another connection commits at a given rate (a
# sync commits some 50-100 steps a second), and then as fast as it can, so
# that most kept answers are stale by the next request and a miss pays for
# two snapshot checks on top of its reads.
PGB="$(js_pg_bindir)/pgbench"; [ -x "$PGB" ] || PGB=$(command -v pgbench || true)
WRITERS=()
# under_writes LABEL PGBENCH_RATE_ARGS... -> a row in WRITERS
under_writes() {
	local label=$1 port=$2 tick t0 t1 s0 s1 n0 n1 h0 h1 rps p50 p99; shift 2
	"$PGB" -n -c 1 "$@" -T "$((SECS + 3))" -f "$JS_TMP/tick.pgbench" "$DATABASE_URL" >/dev/null 2>&1 &
	tick=$!
	read -r n0 _ _ h0 < <(durations "$port")
	t0=$(psql "$DATABASE_URL" -XAtc "SELECT n FROM bench_tick"); s0=$(date +%s.%N)
	read -r rps p50 p99 < <(bench "jirasync (b), $label" "http://127.0.0.1:$port/graphql" js_b "$ADMIN")
	t1=$(psql "$DATABASE_URL" -XAtc "SELECT n FROM bench_tick"); s1=$(date +%s.%N)
	read -r n1 _ _ h1 < <(durations "$port")
	wait "$tick" || true
	WRITERS+=("$(awk -v c="$((t1 - t0))" -v secs="$(echo "$s1 - $s0" | bc -l)" -v n="$((n1 - n0))" \
		-v h="$((h1 - h0))" -v r="$rps" -v a="$p50" -v b="$p99" -v l="$label" 'BEGIN {
		printf "%-44s %12s %9s %9s   %.0f commits/s, %.1f%% from the cache", "(b) 50 issues    jirasync, " l, r, a, b, c / secs, 100 * h / n }')")
}
if [ -n "$PGB" ]; then
	psql "$DATABASE_URL" -Xqc "CREATE TABLE bench_tick (n bigint); INSERT INTO bench_tick VALUES (0)"
	echo "UPDATE bench_tick SET n = n + 1;" >"$JS_TMP/tick.pgbench"
	under_writes "writes" "$JS_PORT" -R 500
	under_writes "writes" "$JS_PORT" # flat out
	under_writes "writes, cache off" "$JS_PORT0"
fi

printf '\n%-44s %12s %9s %9s\n' "query / server" "requests/s" "p50 ms" "p99 ms"
printf '%-44s %12s %9s %9s\n' "(a) __typename   jirasync" "$js_a_rps" "$js_a_p50" "$js_a_p99"
printf '%-44s %12s %9s %9s\n' "(a) __typename   PostGraphile 4" "$pgl_a_rps" "$pgl_a_p50" "$pgl_a_p99"
printf '%-44s %12s %9s %9s\n' "(b) 50 issues    jirasync" "$js_b_rps" "$js_b_p50" "$js_b_p99"
printf '%-44s %12s %9s %9s\n' "(b) 50 issues    jirasync, cache off" "$js0_b_rps" "$js0_b_p50" "$js0_b_p99"
for w in "${WRITERS[@]}"; do echo "$w"; done
printf '%-44s %12s %9s %9s\n' "(b) 50 issues    PostGraphile 4" "$pgl_b_rps" "$pgl_b_p50" "$pgl_b_p99"
ra=$(awk -v a="$js_a_rps" -v b="$pgl_a_rps" 'BEGIN {printf "%.1f", a / b}')
rb=$(awk -v a="$js_b_rps" -v b="$pgl_b_rps" 'BEGIN {printf "%.1f", a / b}')
rb0=$(awk -v a="$js0_b_rps" -v b="$pgl_b_rps" 'BEGIN {printf "%.1f", a / b}')
echo
echo "ratio (a) jirasync / PostGraphile: ${ra}x   (target >= 3x)"
echo "ratio (b) jirasync / PostGraphile: ${rb}x   (target >= 10x; jirasync p99 ${js_b_p99} ms, target <= 10 ms)"
echo "ratio (b) jirasync, response cache off / PostGraphile: ${rb0}x   (p99 ${js0_b_p99} ms)"
awk -v n="$((d1_n - d0_n))" -v h="$((d1_h - d0_h))" 'BEGIN {
	if (n > 0) printf "jirasync (b): %.1f%% of the requests answered from the response cache" \
		" (nothing was committed during the run; each hit still asks PostgreSQL for its snapshot)\n", 100 * h / n }'
awk -v n="$((d1_n - d0_n))" -v s="$(echo "$d1_s - $d0_s" | bc -l)" -v b="$((d1_b - d0_b))" 'BEGIN {
	if (n > 0) printf "jirasync (b), time in the server per request: mean %.2f ms, %.2f%% within 1 ms\n", 1000 * s / n, 100 * b / n }'
awk -v n="$((e1_n - e0_n))" -v s="$(echo "$e1_s - $e0_s" | bc -l)" -v b="$((e1_b - e0_b))" 'BEGIN {
	if (n > 0) printf "jirasync (b), cache off, time in the server per request: mean %.2f ms, %.2f%% within 1 ms\n", 1000 * s / n, 100 * b / n }'
# Closed loop: each connection sends its next request when the last answer
# arrives, so the mean latency is connections / throughput (Little's law).
echo "at $CONNS connections the mean latency is $CONNS / requests per second:" \
	"p99 <= 10 ms needs at least $((CONNS * 100)) requests/s even if every request took the same time" \
	"(jirasync (b): mean $(awk -v c="$CONNS" -v r="$js_b_rps" 'BEGIN {printf "%.1f", 1000 * c / r}') ms;" \
	"cache off: $(awk -v c="$CONNS" -v r="$js0_b_rps" 'BEGIN {printf "%.1f", 1000 * c / r}') ms)"

# The floor under (b): the three statements jirasync sends for it once its
# user cache is warm (the page, then comments and worklogs, each with the
# user epoch; assignees and authors come from the cache), taken
# from the binary and replayed by pgbench with no GraphQL server at all, on
# as many clients as wrk has connections. No server that sends them can
# answer (b) faster than this.
if [ -n "$PGB" ]; then
	ids=$(psql "$DATABASE_URL" -XAtc "SELECT '{' || string_agg(id::text, ',') || '}' FROM (SELECT id FROM issue
		WHERE project_id = $PID AND deleted_at IS NULL ORDER BY updated DESC, id DESC LIMIT 50) x")
	page=$(strings -n 20 "$BUILD/gql_serve" | grep -E '^SELECT i\.id' | grep -F 'jira_user_epoch' |
		grep -F 'LIMIT $3::int8' | head -n 1)
	com=$(strings -n 20 "$BUILD/gql_serve" | grep -E '^SELECT c\.id' | grep -F 'jira_user_epoch' | head -n 1)
	wl=$(strings -n 20 "$BUILD/gql_serve" | grep -E '^SELECT w\.id' | grep -F 'jira_user_epoch' | head -n 1)
	if [ -n "$page" ] && [ -n "$com" ] && [ -n "$wl" ]; then
		{
			sed 's/\$1::int8/:pid::int8/g; s/\$2::bool/false/g; s/\$3::int8/51::int8/g; s/\$4::int4/78::int4/g' <<<"$page"
			echo ";"
			sed 's/\$1::int8\[\]/:ids::int8[]/g; s/\$2::int4/84::int4/g' <<<"$com"
			echo ";"
			sed 's/\$1::int8\[\]/:ids::int8[]/g; s/\$2::int4/84::int4/g' <<<"$wl"
			echo ";"
		} | awk '/^;$/ {print buf ";"; buf=""; next} {buf = buf $0 " "}' >"$JS_TMP/b.pgbench"
		tps=$("$PGB" -n -M prepared -c "$CONNS" -j 2 -T "$SECS" -D pid="$PID" -D ids="$ids" \
			-f "$JS_TMP/b.pgbench" "$DATABASE_URL" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}')
		echo "PostgreSQL alone, the statements of (b) replayed by pgbench: ${tps} per second;" \
			"jirasync (b) with the cache off reaches $(awk -v a="$js0_b_rps" -v b="$tps" 'BEGIN {printf "%.0f", 100 * a / b}')% of that"
	fi
fi
