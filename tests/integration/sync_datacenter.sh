#!/usr/bin/env bash
# Data Center: /rest/api/2/search refuses offsets past 10,000; the keyset
# cursor on `updated` syncs a larger project completely, Bearer auth.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour dc --project BIG --issues 10250 --comments-avg 0.5 --worklogs-avg 0.3 \
	--seed 3 --pat dc-secret-token
export JIRA_PAT=dc-secret-token JIRA_API_TOKEN= JIRA_EMAIL=

"$JS" project register BIG >/dev/null 2>&1
"$JS" sync BIG 2>"$JS_TMP/dc.log" || { tail -5 "$JS_TMP/dc.log"; fail "DC full sync"; }
compare BIG
[ "$(psql_q "SELECT count(*) FROM issue WHERE deleted_at IS NULL")" = 10250 ] || fail "issue count"
pass "10,250 issues synced past the 10,000 window"
! grep -q dc-secret-token "$JS_TMP/dc.log" || fail "the token appears in the log"

# Wrong token: AUTH_EXPIRED, not retried.
export JIRA_PAT=wrong
sim POST /_sim/stats/reset >/dev/null
if "$JS" sync BIG 2>"$JS_TMP/auth.log"; then fail "sync with a wrong token succeeded"; fi
grep -q AUTH_EXPIRED "$JS_TMP/auth.log" || fail "wrong token not classified AUTH_EXPIRED"
[ "$(last_run error_code)" = AUTH_EXPIRED ] || fail "run error code"
pass "a wrong token fails with AUTH_EXPIRED"
