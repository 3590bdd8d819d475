#!/usr/bin/env bash
# No-op tasks per second through the engine against BullMQ, on the same
# private Redis, with the same concurrency, in the same run. Each side
# enqueues N tasks in chunks of 1000, then consumes them with C concurrent
# consumers (the engine: C threads; BullMQ: one Worker with concurrency C),
# acknowledging each task. The engine runs twice per round: engine-b16 is its
# default (up to 16 tasks prefetched per read while handlers are fast),
# engine-b1 never prefetches (at most C tasks held, as BullMQ). Prints each
# round and the ratios of the best rounds. Figures only: nothing here asserts
# a timing.
#   bench/engine/run.sh            (N=20000 C=8 ROUNDS=2 BATCH=16 to override)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

N=${N:-20000}
C=${C:-8}
ROUNDS=${ROUNDS:-2}
BATCH=${BATCH:-16}
BUILD=${JS_BUILD_DIR:-$JS_ROOT/build-bench}
HERE="$JS_ROOT/bench/engine"

cmake -S "$JS_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJIRASYNC_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target engine_bench -j2 2>&1 | grep -E 'error|warning' || true
test -x "$BUILD/engine_bench"
(cd "$HERE" && npm install --no-audit --no-fund --silent >/dev/null)

trap js_stop_services EXIT
js_start_services
echo "redis $(redis-server --version | awk '{print $3}'), bullmq $(node -p "require('$HERE/node_modules/bullmq/package.json').version"), n=$N concurrency=$C, $(nproc) cores"

out="$JS_TMP/bench.txt"
: >"$out"
for r in $(seq 1 "$ROUNDS"); do
	node "$HERE/bullmq_bench.mjs" "$N" "$C" | tee -a "$out"
	"$BUILD/engine_bench" "$N" "$C" 1 | sed 's/^engine/engine-b1/' | tee -a "$out"
	"$BUILD/engine_bench" "$N" "$C" "$BATCH" | sed "s/^engine/engine-b$BATCH/" | tee -a "$out"
done

# best(name, field): the highest value of field over the rounds of name
best() { grep "^$1 " "$out" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | sort -n | tail -1; }
for side in engine-b1 "engine-b$BATCH"; do
	for f in process_per_s total_per_s; do
		e=$(best "$side" "$f"); b=$(best bullmq "$f")
		awk -v s="$side" -v f="$f" -v e="$e" -v b="$b" \
			'BEGIN { printf "%-10s %-14s engine %7d/s  bullmq %6d/s  ratio %.1fx\n", s, f, e, b, e / b }'
	done
done
