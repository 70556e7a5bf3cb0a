#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each one for a while.
#
#   scripts/fuzz.sh [--time SECONDS] [--no-deps] [TARGET...]
#
#   TARGET      fuzz_frame, fuzz_message, fuzz_handshake (default: all)
#   --time S    seconds per target (default 60)
#   --no-deps   skip scripts/deps.sh --fuzz
#
# Configures build/fuzz (clang, CASTY_FUZZ=ON, CASTY_SANITIZE=address, -O1 -g
# with assertions on), builds the targets, and runs each over a fresh copy of
# its corpus (tests/fuzz/corpus/<target>/, copied to build/fuzz/corpus/) with
# -max_len, -timeout=10, -rss_limit_mb=2048 and leak detection. New inputs
# stay in the copy; add the interesting ones to the committed corpus by hand.
# Logs go to build/fuzz/logs/<target>.log. A summary line per target gives
# runs, exec/s and coverage. Exits non-zero on any crash, leak, timeout or
# out-of-memory, printing the reproducer's path and the command to replay it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

all_targets=(fuzz_frame fuzz_message fuzz_handshake)
seconds=60
deps=1
targets=()
while (($#)); do
    case "$1" in
    --time)
        if (($# < 2)) || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
            echo "fuzz.sh: --time needs a positive number of seconds" >&2
            exit 2
        fi
        seconds=$2
        shift
        ;;
    --no-deps) deps=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    fuzz_frame | fuzz_message | fuzz_handshake) targets+=("$1") ;;
    *)
        echo "fuzz.sh: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done
if ((${#targets[@]} == 0)); then
    targets=("${all_targets[@]}")
fi

# The longest input worth trying: a few frames, one message, one handshake body.
max_len_of() {
    case "$1" in
    fuzz_frame) echo 16384 ;;
    fuzz_message) echo 2048 ;;
    fuzz_handshake) echo 512 ;;
    esac
}

if ((deps)); then
    bash scripts/deps.sh --fuzz
fi

BUILD=build/fuzz
# -O1 -g without NDEBUG: fast enough to fuzz, and CASTY_DASSERT stays on.
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCASTY_FUZZ=ON -DCASTY_SANITIZE=address \
    -DCASTY_BUILD_PERF=OFF -DCASTY_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}"

failed=0
summary=()
for target in "${targets[@]}"; do
    corpus=$BUILD/corpus/$target
    artifacts=$BUILD/artifacts/$target
    log=$BUILD/logs/$target.log
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$BUILD/logs"
    cp -r "tests/fuzz/corpus/$target/." "$corpus/"

    echo
    echo "==== fuzz.sh: $target for ${seconds} s (log: $log) ===="
    rc=0
    ASAN_OPTIONS=detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BUILD/tests/fuzz/$target" -max_total_time="$seconds" -max_len="$(max_len_of "$target")" \
        -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?

    # The last status line ("#N DONE cov: C ft: F corp: ...") and the final stats.
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    speed=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    reproducers=$(find "$artifacts" -type f | sort)
    if ((rc == 0)) && [[ -z "$reproducers" ]]; then
        summary+=("$(printf '%-15s PASS  %s runs, %s exec/s, %s' "$target" "${runs:-?}" "${speed:-?}" "${cov:-cov: ?}")")
    else
        failed=1
        tail -40 "$log" >&2
        summary+=("$(printf '%-15s FAIL  exit %d after %s runs (log: %s)' "$target" "$rc" "${runs:-?}" "$log")")
        for file in $reproducers; do
            summary+=("  reproducer: $file")
            summary+=("  replay:     $BUILD/tests/fuzz/$target $file")
        done
    fi
done

echo
echo "==== fuzz.sh summary ===="
for line in "${summary[@]}"; do
    echo "fuzz.sh: $line"
done
exit "$failed"
