#!/usr/bin/env bash
# Benchmark of the Jira simulator (prints figures, asserts nothing): startup
# time for N issues, then full-field 100-issue search/jql pages served to one
# and to two keep-alive clients, and a whole keyset walk of the project
# following nextPageToken. Usage: sim_bench.sh [ISSUES] (default 100000).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
trap js_stop_services EXIT

ISSUES=${1:-100000}
PAGES=${SIM_BENCH_PAGES:-200}
BUILD=${JS_BUILD_DIR:-$JS_ROOT/build}
if [ ! -x "$BUILD/jira-sim" ]; then
	cmake -S "$JS_ROOT" -B "$BUILD" -DJIRASYNC_WERROR=ON >/dev/null
	cmake --build "$BUILD" --target jira-sim -j"$(nproc)" >/dev/null
fi
SIM="$BUILD/jira-sim"
JS_TMP=$(mktemp -d /tmp/jirasync-simbench.XXXXXX)
export JS_TMP
T=$JS_TMP

t0=$(date +%s%N)
js_start_sim "$BUILD" --issues "$ISSUES"
t1=$(date +%s%N)
echo "startup: $ISSUES issues ready in $(((t1 - t0) / 1000000)) ms ($(grep -o 'generated_in_ms=[0-9]*' "$T/sim.log"))"
grep -o 'comments=[0-9]* worklogs=[0-9]*' "$T/sim.log" | sed 's/^/data: /'

FIELDS='[\"summary\",\"issuetype\",\"project\",\"status\",\"priority\",\"assignee\",\"reporter\",\"creator\",\"created\",\"updated\",\"resolutiondate\",\"resolution\",\"labels\",\"description\",\"comment\",\"worklog\",\"customfield_10020\"]'
cfg=$T/bench.cfg
: >"$cfg"
for i in $(seq 1 "$PAGES"); do
	# Pages spread over the project's history: each starts at another cursor.
	cat >>"$cfg" <<EOF
url = "$JIRA_BASE_URL/rest/api/3/search/jql"
request = "POST"
header = "Content-Type: application/json"
data = "{\"jql\":\"project = DEMO AND updated >= $((1700000000000 + i * 150000000)) ORDER BY updated ASC\",\"maxResults\":100,\"fields\":$FIELDS}"
output = "/dev/null"
write-out = "%{size_download}\n"
EOF
	[ "$i" -lt "$PAGES" ] && echo next >>"$cfg"
done

report() { # report LABEL MS FILES...
	local label=$1 ms=$2; shift 2
	cat "$@" | awk -v ms="$ms" -v l="$label" '{s += $1; n++}
		END {printf "%s: %d pages in %d ms = %.0f pages/s, %.1f MB/s, %.0f KB/page\n", l, n, ms, n * 1000 / ms, s / 1e6 / (ms / 1000), s / n / 1000}'
}
t0=$(date +%s%N)
curl -s -K "$cfg" >"$T/s0"
t1=$(date +%s%N)
report "1 client " $(((t1 - t0) / 1000000)) "$T/s0"
t0=$(date +%s%N)
curl -s -K "$cfg" >"$T/s1" &
c1=$!
curl -s -K "$cfg" >"$T/s2"
wait "$c1"
t1=$(date +%s%N)
report "2 clients" $(((t1 - t0) / 1000000)) "$T/s1" "$T/s2"

# A whole keyset walk, one curl per page (includes curl start-up).
tok=""
pages=0
bytes=0
t0=$(date +%s%N)
while :; do
	body="{\"jql\":\"project = DEMO ORDER BY updated ASC\",\"maxResults\":100,\"fields\":${FIELDS//\\/}${tok:+,\"nextPageToken\":\"$tok\"}}"
	curl -s -o "$T/page" -H 'Content-Type: application/json' --data-binary "$body" "$JIRA_BASE_URL/rest/api/3/search/jql"
	pages=$((pages + 1))
	bytes=$((bytes + $(stat -c %s "$T/page")))
	tok=$(tail -c 300 "$T/page" | grep -o '"nextPageToken":"[^"]*"' | cut -d'"' -f4 || true)
	[ -n "$tok" ] || break
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "walk: $pages pages ($bytes bytes) in $ms ms = $((pages * 1000 / (ms + 1))) pages/s"
