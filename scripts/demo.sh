#!/usr/bin/env bash
# A short tour of Casty: runs a handful of the examples (examples/README.md),
# each under a one-line heading, then a quick performance summary.
#
#   scripts/demo.sh [--no-bench]
#
#   --no-bench  skip the performance summary (scripts/bench.sh --quick)
#
# Uses the Release build in build/release (scripts/run.sh builds it first;
# alone, run `scripts/build.sh release` before). The tour takes a few seconds;
# the summary is the perf suite's smoke run (small N, one run, no thresholds).
# Exit status: non-zero if an example fails; a failing or missing benchmark
# script only prints how to run it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

bench=1
for arg in "$@"; do
    case "$arg" in
    --no-bench) bench=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "demo.sh: unknown argument '$arg'" >&2
        usage >&2
        exit 2
        ;;
    esac
done

BIN=build/release/examples

# group/name | heading
tour=(
    "basics/01-ping-pong|two actors on two cores hit a ball back and forth"
    "basics/02-ask-pattern|request-response: a reply, an error reply, a timeout, a dead actor"
    "basics/03-parent-child|a parent gathers its children's work; stopping it stops them first"
    "patterns/01-router|round-robin and consistent-hash routing over a pool on every core"
    "patterns/03-circuit-breaker|a circuit breaker opens, half-opens on a timer, and closes"
    "practical/01-chat-room|chat rooms notice a crashed user through death watch"
    "practical/02-job-queue|bounded mailboxes push back on producers; crashed workers restart"
)

failed=0
for entry in "${tour[@]}"; do
    example=${entry%%|*}
    heading=${entry#*|}
    echo
    echo "== $heading (examples/$example.c)"
    exe=$BIN/$example
    if [[ ! -x "$exe" ]]; then
        echo "demo.sh: $exe is missing: run scripts/build.sh release first" >&2
        failed=1
        continue
    fi
    # Every example ends in well under a second; the timeout only guards the tour.
    if ! timeout 30 "$exe"; then
        echo "demo.sh: $exe failed" >&2
        failed=1
    fi
done

if ((bench)); then
    echo
    echo "== performance: scripts/bench.sh --quick (a smoke run: small N, one run; full tables: scripts/bench.sh)"
    bench_args=(--quick)
    # scripts/run.sh has just built Release: skip the rebuild when bench.sh supports that.
    if [[ -f scripts/bench.sh ]] && bash scripts/bench.sh --help 2>/dev/null | grep -q -- --no-build; then
        bench_args+=(--no-build)
    fi
    if [[ ! -f scripts/bench.sh ]]; then
        echo "demo.sh: scripts/bench.sh is not there; the perf suite is described in perf/README.md"
    elif ! timeout 300 bash scripts/bench.sh "${bench_args[@]}"; then
        echo "demo.sh: the performance summary did not complete; run it with: bash scripts/bench.sh --quick"
    fi
fi

echo
if ((failed)); then
    echo "demo.sh: some examples failed (see above)" >&2
    exit 1
fi
echo "demo.sh: all examples are in examples/ (examples/README.md); each runs as build/<kind>/examples/<group>/<name>"
