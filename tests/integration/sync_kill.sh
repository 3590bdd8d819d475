#!/usr/bin/env bash
# kill -9 at random points during runs, then a rerun: the run resumes from its
# checkpoint and the database converges to the source with no duplicate rows.
set -euo pipefail
source "$(dirname "$0")/common.sh"
setup --flavour cloud --project KIL --issues 1500 --seed 9 --feed-lag-ms 0
export RECONCILE_EVERY=0
"$JS" project register KIL >/dev/null 2>&1
# Search pages answer slowly (Jira far away), so that a run lasts longer than
# the kill delays below and every kill lands in the middle of one.
sim POST /_sim/faults '{"path":"/rest/api/3/search/jql","kind":"delay","delayMs":80,"count":1000000}' >/dev/null
RANDOM=42
resumed=0
for round in 1 2 3 4 5 6; do
	if [ "$round" = 4 ]; then
		# Change the source between kills: later runs must pick it up.
		ids=($(psql_q "SELECT id FROM issue ORDER BY id LIMIT 3"))
		if [ ${#ids[@]} -ge 3 ]; then
			sim POST "/_sim/issues/${ids[0]}" '{"summary":"changed between kills"}' >/dev/null
			sim DELETE "/_sim/issues/${ids[1]}" >/dev/null
		fi
	fi
	"$JS" sync KIL 2>>"$JS_TMP/kill.log" &
	pid=$!
	sleep "0.$(( RANDOM % 9 + 1 ))$(( RANDOM % 10 ))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
"$JS" sync KIL 2>>"$JS_TMP/kill.log" || { tail -5 "$JS_TMP/kill.log"; fail "final sync"; }
resumed=$(grep -c "resuming unfinished run" "$JS_TMP/kill.log" || true)
[ "$resumed" -ge 3 ] || fail "only $resumed runs were resumed after 6 kills"
pass "$resumed runs resumed from their checkpoints after kill -9"
# One more run so that changes made after the last full pass are read too.
"$JS" sync KIL 2>/dev/null || fail "incremental after kills"
compare KIL
no_duplicates
