#!/usr/bin/env bash
# Build and run the GraphQL engine benchmark (optimised, no sanitizers).
# Usage: bench/graphql/engine.sh [SECONDS_PER_MEASUREMENT]   (default 1)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(mktemp "${TMPDIR:-/tmp}/bench_gql.XXXXXX")
trap 'rm -f "$BIN"' EXIT
${CC:-cc} -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT" -Wall -Wextra \
	$(pkg-config --cflags libcjson libpq) "$ROOT/bench/graphql/bench_gql.c" \
	"$ROOT"/graphql/{lexer,parser,schema,validate,execute,introspection,value}.c \
	"$ROOT"/common/*.c -o "$BIN" $(pkg-config --libs libcjson libcurl libpq hiredis) -lpthread -lm
"$BIN" "$@"
