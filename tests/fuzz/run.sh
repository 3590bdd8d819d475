#!/usr/bin/env bash
# Build every libFuzzer target tests/fuzz/fuzz_*.c with clang
# (-fsanitize=fuzzer,address,undefined), without CMake, and run each one for a
# bounded time from its seed corpus. Exits non-zero when a target fails to
# build or finds a crash; the crashing input is kept and its path printed.
#
# Each target declares what it needs in comment lines of its source:
#   fuzz-sources: scheduler/cron.c common/*.c   (required; paths/globs from the repo root)
#   fuzz-pkgs: libcjson                         (optional; pkg-config packages)
#   fuzz-libs: -lm                              (optional; extra link flags)
# Seeds: tests/fuzz/corpus/<name>/ where <name> is the target without "fuzz_"
# (fuzz_cron.c -> corpus/cron/). Optional dictionary: tests/fuzz/<target>.dict.
# New inputs found during a run go to a scratch directory, never into the repo.
#
# Usage: tests/fuzz/run.sh [-t SECONDS] [TARGET...]
#   -t SECONDS   time per target (default $FUZZ_TIME or 20)
#   TARGET       e.g. fuzz_cron or cron (default: every target)
# Environment: FUZZ_TIME, FUZZ_OUT (scratch directory for binaries, logs, found
#   inputs; default a temp dir removed after a clean run), CC (default clang).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_DIR="$ROOT/tests/fuzz"
TIME=${FUZZ_TIME:-20}

while getopts "t:h" opt; do
	case $opt in
	t) TIME=$OPTARG ;;
	h) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) exit 64 ;;
	esac
done
shift $((OPTIND - 1))
if ! [[ $TIME =~ ^[0-9]+$ ]] || [ "$TIME" -lt 1 ]; then
	echo "run.sh: invalid time '$TIME': expected a number of seconds" >&2
	exit 64
fi

passed=0
failed=0
CC=${CC:-}
if [ -z "$CC" ]; then
	for c in clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then CC=$c; break; fi
	done
fi
if [ -z "$CC" ]; then
	echo "run.sh: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
	exit 69
fi

if [ -n "${FUZZ_OUT:-}" ]; then
	OUT=$FUZZ_OUT
	mkdir -p "$OUT"
else
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/jirasync-fuzz.XXXXXX")
	# A scratch directory of our own goes away unless something failed.
	trap '[ "$failed" -eq 0 ] && rm -rf "$OUT"' EXIT
fi

# The value of "key:" in a target's comments ("// key: a b" or "/* key: a b */").
directive() {
	grep -m1 -E "(//|/?\*)[[:space:]]*$1:" "$2" | sed -E "s@.*$1:[[:space:]]*@@; s@[[:space:]]*\*/.*@@" || true
}

targets=()
if [ $# -eq 0 ]; then
	for f in "$FUZZ_DIR"/fuzz_*.c; do
		[ -e "$f" ] && targets+=("$(basename "$f" .c)")
	done
else
	for t in "$@"; do
		t=$(basename "$t" .c)
		[[ $t == fuzz_* ]] || t="fuzz_$t"
		targets+=("$t")
	done
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "run.sh: no fuzz targets in $FUZZ_DIR" >&2
	exit 1
fi

CFLAGS_COMMON=(-std=c11 -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
	-I"$ROOT" -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "${targets[@]}"; do
	src="$FUZZ_DIR/$t.c"
	name=${t#fuzz_}
	if [ ! -f "$src" ]; then
		echo "run.sh: $t: no such target ($src)" >&2
		failed=$((failed + 1))
		continue
	fi
	srcs=$(directive fuzz-sources "$src")
	if [ -z "$srcs" ]; then
		echo "run.sh: $t: missing a 'fuzz-sources:' line" >&2
		failed=$((failed + 1))
		continue
	fi
	files=()
	missing=0
	for pat in $srcs; do
		matched=0
		while IFS= read -r m; do
			[ -n "$m" ] && files+=("$ROOT/$m") && matched=1
		done < <(cd "$ROOT" && compgen -G "$pat" || true)
		if [ $matched -eq 0 ]; then
			echo "run.sh: $t: source '$pat' matches nothing" >&2
			missing=1
		fi
	done
	pkgs=$(directive fuzz-pkgs "$src")
	libs=$(directive fuzz-libs "$src")
	pkg_cflags=()
	pkg_libs=()
	if [ -n "$pkgs" ]; then
		read -r -a pkg_cflags <<<"$(pkg-config --cflags $pkgs)"
		read -r -a pkg_libs <<<"$(pkg-config --libs $pkgs)"
	fi
	extra_libs=()
	[ -n "$libs" ] && read -r -a extra_libs <<<"$libs"
	if [ $missing -ne 0 ]; then
		failed=$((failed + 1))
		continue
	fi

	bin="$OUT/$t"
	echo "== $t: building ($srcs)"
	if ! "$CC" "${CFLAGS_COMMON[@]}" "${pkg_cflags[@]}" "$src" "${files[@]}" -o "$bin" \
		"${pkg_libs[@]}" "${extra_libs[@]}" -lm >"$OUT/$t.build.log" 2>&1; then
		cat "$OUT/$t.build.log" >&2
		echo "run.sh: $t: build failed" >&2
		failed=$((failed + 1))
		continue
	fi

	seeds="$FUZZ_DIR/corpus/$name"
	work="$OUT/$t.corpus"
	mkdir -p "$work" "$OUT/$t.artifacts"
	args=(-max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$OUT/$t.artifacts/")
	[ -f "$FUZZ_DIR/$t.dict" ] && args+=(-dict="$FUZZ_DIR/$t.dict")
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	echo "== $t: fuzzing for ${TIME}s (seeds: ${seeds#"$ROOT"/})"
	if "$bin" "${args[@]}" "${dirs[@]}" >"$OUT/$t.log" 2>&1; then
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$OUT/$t.log" || true
		echo "== $t: ok"
		passed=$((passed + 1))
	else
		tail -n 60 "$OUT/$t.log" >&2
		echo "run.sh: $t: FAILED; crashing input(s):" >&2
		ls -1 "$OUT/$t.artifacts/" | sed "s@^@  $OUT/$t.artifacts/@" >&2
		echo "  reproduce: $bin <file>" >&2
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
