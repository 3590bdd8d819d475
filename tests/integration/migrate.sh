#!/usr/bin/env bash
# Migrations: applied to an empty database, a no-op the second time, a
# failing migration leaves the database at the previous version, down works.
set -euo pipefail
source "$(dirname "$0")/common.sh"
trap js_stop_services EXIT
js_start_services

"$JS" migrate 2>/dev/null || fail "first migrate"
nmig=$(ls "$JS_ROOT"/migrations/*.sql | wc -l)
last=$(basename "$(ls "$JS_ROOT"/migrations/*.sql | tail -1)" | cut -c1-4)
[ "$(psql_q "SELECT count(*) FROM schema_migrations")" = "$nmig" ] || fail "versions not recorded"
[ "$(psql_q "SELECT max(version) FROM schema_migrations")" = "$last" ] || fail "last version not recorded"
for t in project project_tracked_user jira_user issue issue_sprint sprint comment worklog \
	sync_job sync_state sync_run sync_log alert; do
	[ "$(psql_q "SELECT to_regclass('public.$t') IS NOT NULL")" = t ] || fail "table $t missing"
done
pass "the data model is created on an empty database"
out=$("$JS" migrate 2>&1) || fail "second migrate"
echo "$out" | grep -q "up to date" || fail "second migrate not a no-op"
pass "a second migrate is a no-op"

# Two migrators at once serialise on the advisory lock.
dir="$JS_TMP/migrations"; mkdir -p "$dir"; cp "$JS_ROOT"/migrations/*.sql "$dir"/
cat >"$dir/0900_extra.sql" <<'SQL'
-- migrate:up
CREATE TABLE extra_a (id int);
SELECT pg_sleep(0.5);
-- migrate:down
DROP TABLE extra_a;
SQL
MIGRATIONS_DIR=$dir "$JS" migrate 2>/dev/null & p1=$!
MIGRATIONS_DIR=$dir "$JS" migrate 2>/dev/null & p2=$!
wait $p1 || fail "concurrent migrate 1"; wait $p2 || fail "concurrent migrate 2"
[ "$(psql_q "SELECT count(*) FROM schema_migrations")" = $((nmig + 1)) ] || fail "concurrent migrate recorded twice"
pass "concurrent migrations serialise"

cat >"$dir/0901_broken.sql" <<'SQL'
-- migrate:up
CREATE TABLE extra_b (id int);
INSERT INTO no_such_table VALUES (1);
-- migrate:down
DROP TABLE extra_b;
SQL
if MIGRATIONS_DIR=$dir "$JS" migrate 2>"$JS_TMP/m.log"; then fail "broken migration succeeded"; fi
grep -q "0901_broken.sql" "$JS_TMP/m.log" || fail "error does not name the migration"
[ "$(psql_q "SELECT to_regclass('public.extra_b') IS NULL")" = t ] || fail "partial migration left behind"
[ "$(psql_q "SELECT max(version) FROM schema_migrations")" = 0900 ] || fail "version moved"
pass "a failing migration leaves the database at the previous version"

rm "$dir/0901_broken.sql"
MIGRATIONS_DIR=$dir "$JS" migrate --down 1 2>/dev/null || fail "down"
[ "$(psql_q "SELECT to_regclass('public.extra_a') IS NULL")" = t ] || fail "down did not run"
pass "migrate --down rolls back"

# Configuration errors: one line naming the setting, exit 78.
set +e
DATABASE_URL= "$JS" migrate 2>"$JS_TMP/c.log"; rc=$?
set -e
[ "$rc" = 78 ] && grep -q DATABASE_URL "$JS_TMP/c.log" || fail "missing DATABASE_URL: rc $rc"
[ "$(wc -l <"$JS_TMP/c.log")" = 1 ] || fail "config error is not one line"
pass "a missing setting is one line naming it, exit 78"
