#!/usr/bin/env bash
# The engine's in-process tests (tests/engine/engine_suite.c) against a real
# Redis: exactly-once happy path, chains and live tracking, delayed tasks,
# retry policy, heartbeats, leases, graceful stop, dead letters.
# Build dir: $JS_BUILD_DIR (default build-engine-it); JS_SANITIZE=1 for ASan+UBSan.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

BUILD=${JS_BUILD_DIR:-$JS_ROOT/build-engine-it}
san=OFF
[ "${JS_SANITIZE:-0}" = 1 ] && san=ON
cmake -S "$JS_ROOT" -B "$BUILD" -DJIRASYNC_WERROR=ON -DJIRASYNC_SANITIZE=$san >/dev/null
cmake --build "$BUILD" --target engine_suite -j2 2>&1 | grep -E 'error|warning' || true
test -x "$BUILD/engine_suite"

trap js_stop_services EXIT
js_start_services
"$BUILD/engine_suite" "$@"
