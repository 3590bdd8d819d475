# Helpers for the GraphQL admin plane tests: the server binary, starting it
# against the private services, and requests. Source after `set -euo pipefail`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v jq >/dev/null || fail "these tests need jq"
# tests/graphql/*.c drivers are globbed at configure time: configure, then
# build the server driver (incremental when up to date).
cmake -S "$JS_ROOT" -B "$JS_BUILD" >/dev/null
cmake --build "$JS_BUILD" --target gql_serve jirasync jira-sim -j"$(nproc)" 2>&1 | grep -E 'error|warning' || true
GQL_SERVE="$JS_BUILD/gql_serve"
[ -x "$GQL_SERVE" ] || fail "no $GQL_SERVE"

ADMIN=admin-secret-token
READ=read-secret-token

# start_gql [env assignments...]: the server on a free port; exports GQL_URL.
start_gql() {
	GQL_PORT=$(js_free_port)
	env ADMIN_TOKEN=$ADMIN READ_TOKEN=$READ LISTEN_ADDR=127.0.0.1:$GQL_PORT GRAPHQL_THREADS=2 "$@" \
		"$GQL_SERVE" 2>>"$JS_TMP/gql.log" &
	echo $! >"$JS_TMP/gql.pid"
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$GQL_PORT/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	curl -fsS "http://127.0.0.1:$GQL_PORT/healthz" >/dev/null || { cat "$JS_TMP/gql.log"; fail "server did not start"; }
	GQL_BASE="http://127.0.0.1:$GQL_PORT"
	GQL_URL="$GQL_BASE/graphql"
}

# Stop the server; fail when it did not exit cleanly or a sanitizer spoke.
stop_gql() {
	if [ -f "$JS_TMP/gql.pid" ]; then
		local pid rc=0; pid=$(cat "$JS_TMP/gql.pid")
		rm -f "$JS_TMP/gql.pid"
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" || rc=$?
		if [ "$rc" != 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$JS_TMP/gql.log"; then
			grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error' "$JS_TMP/gql.log" | head -40 >&2
			fail "the server exited with $rc or a sanitizer report"
		fi
	fi
}

gql_cleanup() {
	stop_gql
	js_stop_services
}

# post TOKEN JSON_BODY [curl args...]: POST /graphql; body in $JS_TMP/body,
# headers in $JS_TMP/headers; prints the status code.
post() {
	local tok=$1 body=$2; shift 2
	curl -s -o "$JS_TMP/body" -D "$JS_TMP/headers" -w '%{http_code}' \
		${tok:+-H "Authorization: Bearer $tok"} -H 'Content-Type: application/json' "$@" \
		--data-binary "$body" "$GQL_URL"
}

# q TOKEN QUERY [VARIABLES_JSON]: POST a query; prints the status.
q() {
	local vars=${3:-null}
	post "$1" "$(jq -cn --arg q "$2" --argjson v "$vars" '{query: $q, variables: $v}')"
}

# get TOKEN QUERY [curl args]: GET /graphql?query=...; prints the status.
get() {
	local tok=$1 query=$2; shift 2
	curl -s -o "$JS_TMP/body" -D "$JS_TMP/headers" -w '%{http_code}' -G \
		${tok:+-H "Authorization: Bearer $tok"} "$@" --data-urlencode "query=$query" "$GQL_URL"
}

# body JQ_FILTER: evaluate on the last response body.
body() { jq -r "$1" "$JS_TMP/body"; }
header() { grep -i "^$1:" "$JS_TMP/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

# expect NAME ACTUAL EXPECTED
expect() {
	[ "$2" = "$3" ] || { echo "body: $(head -c 600 "$JS_TMP/body")" >&2; fail "$1: got '$2', expected '$3'"; }
	pass "$1"
}

# Successful query: status 200 and no errors.
ok_query() {
	local st; st=$(q "$@")
	[ "$st" = 200 ] && [ "$(body '.errors // [] | length')" = 0 ] ||
		{ echo "body: $(head -c 600 "$JS_TMP/body")" >&2; fail "query failed ($st): $2"; }
}

# Statement counting from PostgreSQL's own log (log_statement = all).
pg_log() { echo "$JS_TMP/pg/server.log"; }
enable_statement_log() {
	psql_q "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
	psql_q "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
}
log_mark() { stat -c %s "$(pg_log)"; }
# statements_since MARK: read statements the server executed since MARK.
statements_since() {
	sleep 0.2
	tail -c +"$(($1 + 1))" "$(pg_log)" | grep -c 'execute rd_' || true
}
