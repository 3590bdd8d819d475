#!/usr/bin/env bash
# Build and run the cron next-fire benchmark (optimised, no sanitizers).
# Usage: bench/cron/run.sh [SECONDS_PER_MEASUREMENT]   (default 0.5)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(mktemp "${TMPDIR:-/tmp}/bench_cron.XXXXXX")
trap 'rm -f "$BIN"' EXIT
${CC:-cc} -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT" -Wall -Wextra \
	"$ROOT/bench/cron/bench_cron.c" "$ROOT/scheduler/cron.c" "$ROOT/common/timeutil.c" \
	"$ROOT/common/mem.c" -o "$BIN"
"$BIN" "$@"
