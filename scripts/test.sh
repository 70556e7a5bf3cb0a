#!/usr/bin/env bash
# The README's second command: install missing packages, then build and test
# each flavour in its own directory (build/<kind>, see scripts/build.sh).
#
#   scripts/test.sh [--quick] [--all] [--no-deps] [debug|release|asan|tsan ...]
#
#   (no kinds)  debug asan tsan: CASTY_DEBUG_FULL, ASan+UBSan, TSan
#   --quick     debug only (when no kinds are given)
#   --all       also run the tests labelled slow and perf_smoke
#   --no-deps   skip scripts/deps.sh
#   --no-bench  skip the perf smoke run (scripts/bench.sh --quick, Release)
#   (not --quick: also scripts/netns_swim.sh --quick, SWIM over network
#   namespaces, when run as root)
#   --no-fuzz   skip the fuzzers (scripts/fuzz.sh: each libFuzzer target for
#               CASTY_FUZZ_SECONDS, default 60; skipped with --quick)
#
# Each build runs `ctest --output-on-failure -j2 --timeout 300`. A failing
# build does not stop the others; a summary line per build is printed at the
# end and the exit status is non-zero if any build or test failed.
# CASTY_TEST_JOBS overrides ctest's -j.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

quick=0
all=0
bench=1
fuzz=1
deps=1
kinds=()
for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    --all) all=1 ;;
    --no-deps) deps=0 ;;
    --no-bench) bench=0 ;;
    --no-fuzz) fuzz=0 ;;
    debug | release | asan | tsan) kinds+=("$arg") ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "test.sh: unknown argument '$arg'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
if ((${#kinds[@]} == 0)); then
    if ((quick)); then
        kinds=(debug)
    else
        kinds=(debug asan tsan)
    fi
fi

if ((quick)); then
    fuzz=0
fi
if ((deps)); then
    if ((fuzz)); then
        bash scripts/deps.sh --fuzz
    else
        bash scripts/deps.sh
    fi
fi

# Sanitizer runtimes of GCC 12 can fail to start on kernels with a large
# mmap randomisation (vm.mmap_rnd_bits > 28: "unexpected memory mapping").
# Probe once per sanitizer; if only ASLR is in the way, run ctest under
# `setarch -R` (no randomisation, inherited by every test process).
sanitizer_wrapper=()
probe_sanitizer() {
    local flags=$1 dir
    sanitizer_wrapper=()
    dir=$(mktemp -d)
    printf '#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, f, 0); return pthread_join(t, 0); }\n' >"$dir/probe.c"
    # shellcheck disable=SC2086 # $flags is a list of compiler flags
    if ! cc $flags -pthread "$dir/probe.c" -o "$dir/probe" 2>"$dir/log"; then
        echo "test.sh: cannot build with $flags:" >&2
        cat "$dir/log" >&2
        rm -rf "$dir"
        return 1
    fi
    if "$dir/probe" >"$dir/log" 2>&1; then
        rm -rf "$dir"
        return 0
    fi
    if setarch "$(uname -m)" -R "$dir/probe" >/dev/null 2>&1; then
        echo "test.sh: $flags needs ASLR off on this kernel; running ctest under setarch -R"
        sanitizer_wrapper=(setarch "$(uname -m)" -R)
        rm -rf "$dir"
        return 0
    fi
    echo "test.sh: programs built with $flags do not start here:" >&2
    head -5 "$dir/log" >&2
    echo "test.sh: (if it says 'unexpected memory mapping': sysctl vm.mmap_rnd_bits=28)" >&2
    rm -rf "$dir"
    return 1
}

ctest_args=(--output-on-failure -j "${CASTY_TEST_JOBS:-2}" --timeout 300 --no-tests=error)
if ((!all)); then
    ctest_args+=(-LE '^(slow|perf_smoke)$')
fi

summary=()
failed=0
for kind in "${kinds[@]}"; do
    echo
    echo "==== test.sh: $kind ===="
    t0=$SECONDS
    if ! bash scripts/build.sh "$kind"; then
        summary+=("$(printf '%-8s FAIL  build failed (%d s)' "$kind" $((SECONDS - t0)))")
        failed=1
        continue
    fi
    t1=$SECONDS

    sanitizer_wrapper=()
    probe_ok=1
    case "$kind" in
    asan) probe_sanitizer "-fsanitize=address,undefined" || probe_ok=0 ;;
    tsan) probe_sanitizer "-fsanitize=thread" || probe_ok=0 ;;
    esac
    if ((!probe_ok)); then
        summary+=("$(printf '%-8s FAIL  sanitizer runtime unusable on this machine' "$kind")")
        failed=1
        continue
    fi

    if "${sanitizer_wrapper[@]}" ctest --test-dir "build/$kind" "${ctest_args[@]}"; then
        result=PASS
    else
        result=FAIL
        failed=1
    fi
    summary+=("$(printf '%-8s %-4s  build %d s, tests %d s (log: build/%s/Testing/Temporary/LastTest.log)' \
        "$kind" "$result" $((t1 - t0)) $((SECONDS - t1)) "$kind")")
done

# The perf suite's smoke run (issue 4): every workload and probe on a small N,
# Release build, no thresholds; it fails only if a program fails.
if ((bench)); then
    echo
    echo "==== test.sh: bench --quick ===="
    t0=$SECONDS
    if bash scripts/bench.sh --quick; then
        summary+=("$(printf '%-8s PASS  scripts/bench.sh --quick (%d s)' bench $((SECONDS - t0)))")
    else
        summary+=("$(printf '%-8s FAIL  scripts/bench.sh --quick (%d s)' bench $((SECONDS - t0)))")
        failed=1
    fi
fi

if ((fuzz)); then
    echo
    echo "==== test.sh: fuzz (${CASTY_FUZZ_SECONDS:-60} s per target) ===="
    t0=$SECONDS
    if bash scripts/fuzz.sh --no-deps --time "${CASTY_FUZZ_SECONDS:-60}"; then
        summary+=("$(printf '%-8s PASS  scripts/fuzz.sh (%d s)' fuzz $((SECONDS - t0)))")
    else
        summary+=("$(printf '%-8s FAIL  scripts/fuzz.sh (%d s; logs: build/fuzz/logs/)' fuzz $((SECONDS - t0)))")
        failed=1
    fi
fi

if ((!quick)); then
    # SWIM across network namespaces, killed nodes, a 2/3 partition, 30 % kernel-level loss
    # (root only; 77 = skipped).
    echo
    echo "==== test.sh: netns_swim --quick ===="
    t0=$SECONDS
    rc=0
    bash scripts/netns_swim.sh --quick || rc=$?
    if ((rc == 0)); then
        summary+=("$(printf '%-8s PASS  scripts/netns_swim.sh --quick (%d s)' netns $((SECONDS - t0)))")
    elif ((rc == 77)); then
        summary+=("$(printf '%-8s SKIP  scripts/netns_swim.sh (needs root and namespaces)' netns)")
    else
        summary+=("$(printf '%-8s FAIL  scripts/netns_swim.sh --quick (%d s)' netns $((SECONDS - t0)))")
        failed=1
    fi
fi

echo
echo "==== test.sh summary ===="
for line in "${summary[@]}"; do
    echo "test.sh: $line"
done
exit "$failed"
