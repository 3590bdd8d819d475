#!/usr/bin/env bash
# The server's introspection checked with graphql-js (npm `graphql`, installed
# into a temporary directory): buildClientSchema of what the server answers to
# graphql-js's own introspection query prints exactly like schema.graphql.
# Also: a schema with a field no resolver serves stops the server at start.
set -euo pipefail
source "$(dirname "$0")/graphql_common.sh"
command -v node >/dev/null && command -v npm >/dev/null || fail "this test needs node and npm"
setup --flavour cloud --project ALPHA --issues 5 --seed 3 --email sync@example.com --api-token test-token
trap gql_cleanup EXIT
NODE_DIR="$JS_TMP/graphql-js"
mkdir -p "$NODE_DIR"
cp "$JS_ROOT/tests/graphql-js/package.json" "$JS_ROOT/tests/graphql-js/check_introspection.js" "$NODE_DIR/"
(cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) || fail "npm install graphql"
start_gql
node "$NODE_DIR/check_introspection.js" "$GQL_URL" "$READ" "$JS_ROOT/schema.graphql" || fail "introspection differs from schema.graphql"
pass "graphql-js buildClientSchema(introspection) equals buildSchema(schema.graphql)"
stop_gql

# A field without a resolver: the server refuses to start and names it.
sed 's/^  projects: \[Project!\]!$/&\n  "Not served."\n  unserved: Int/' "$JS_ROOT/schema.graphql" >"$JS_TMP/extra.graphql"
grep -q unserved "$JS_TMP/extra.graphql" || fail "could not build the test schema"
port=$(js_free_port)
set +e
out=$(ADMIN_TOKEN=$ADMIN LISTEN_ADDR=127.0.0.1:$port timeout 10 "$GQL_SERVE" --schema "$JS_TMP/extra.graphql" 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "server started with an unserved field (rc $rc)"
grep -q 'Query.unserved' <<<"$out" || fail "the refusal does not name the field: $out"
pass "a field without a resolver stops the start: $(tail -n 1 <<<"$out")"
set +e
out=$(ADMIN_TOKEN= LISTEN_ADDR=127.0.0.1:$port timeout 10 "$GQL_SERVE" 2>&1); rc=$?
set -e
expect "no ADMIN_TOKEN: configuration error" "$rc" 78
# A port another program listens on (PostgreSQL here): a clear refusal.
set +e
out=$(ADMIN_TOKEN=$ADMIN LISTEN_ADDR=127.0.0.1:$JS_PG_PORT timeout 10 "$GQL_SERVE" 2>&1); rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "server started on a port in use (rc $rc)"
grep -q "cannot listen on 127.0.0.1 port $JS_PG_PORT: Address already in use" <<<"$out" ||
	fail "the refusal does not say why: $out"
pass "a port in use stops the start: $(tail -n 1 <<<"$out")"
echo "graphql_introspection: all passed"
