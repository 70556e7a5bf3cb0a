#!/usr/bin/env bash
# Run the perf suite (perf/README.md, WORKLOADS.md) and summarise it.
#
#   scripts/bench.sh [--runs N] [--quick] [--peers] [--no-build] [WORKLOAD...]
#
#   WORKLOAD    W1 .. W6, T1 and L1 .. L4 (default: all). A workload brings
#               the limit probes it is held against (W1: L1; W2: L2 L3;
#               W3: L2; W4: L1 L2; W6: L1 L2; T1, the transport: L4).
#   --runs N    process runs per configuration (default 3); the table shows
#               the median and the spread (min-max, +-(max-min)/2/median)
#   --quick     small N and 1 run: a smoke test (well under 60 s), no thresholds;
#               its outputs go to build/bench-quick, not perf/results
#   --peers     also run the CAF and Erlang/OTP versions (perf/peers/), side by side
#   --no-build  use build/release as it is
#
# Builds Release (scripts/build.sh release), runs each configuration N times
# (runs interleaved, so a slow minute of the machine spreads over all), prints
# the median table with each workload's ratio to its limit probe and its
# target, writes perf/results/latest.json and raw.txt, and renders plots
# (PNG and SVG) into perf/results/ with gnuplot when it is installed
# (scripts/deps.sh --perf). Exit status: non-zero only if a program failed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

runs=3
quick=0
peers=0
build=1
selected=()
while (($# > 0)); do
    case "$1" in
    --runs)
        runs=${2:-}
        if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
            echo "bench.sh: --runs wants a positive integer" >&2
            exit 2
        fi
        shift
        ;;
    --quick) quick=1 ;;
    --peers) peers=1 ;;
    --no-build) build=0 ;;
    [WwLlTt][0-9]) selected+=("${1^^}") ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "bench.sh: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done
if ((quick)); then
    runs=1
fi
if ((${#selected[@]} == 0)); then
    selected=(W1 W2 W3 W4 W5 W6 T1 L1 L2 L3 L4)
fi

# The limit probes each workload is compared with.
declare -A needs=([W1]="L1" [W2]="L2 L3" [W3]="L2" [W4]="L1 L2" [W5]="" [W6]="L1 L2" [T1]="L4")
declare -A want=()
for w in "${selected[@]}"; do
    want[$w]=1
    for l in ${needs[$w]:-}; do
        want[$l]=1
    done
done

# family | program and arguments | arguments appended by --quick
cases=(
    "W1|w1_pingpong --placement same-shard|--n 200000"
    "W2|w1_pingpong --placement cross-shard|--n 20000"
    "W2|w1_pingpong --placement cross-shard --busy-poll|--n 20000"
    "W3|w3_fanin --window 32768|--n 1000000"
    "W3|w3_fanin --window 0|--n 1000000"
    "W4|w4_ring --ring 1000 --placement same-shard|--hops 100000"
    "W4|w4_ring --ring 1000 --placement alternating|--hops 100000"
    "W4|w4_ring --ring 1000 --placement hash|--hops 100000"
    "W4|w4_ring --ring 10000 --placement same-shard|--hops 100000"
    "W4|w4_ring --ring 10000 --placement alternating|--hops 100000"
    "W4|w4_ring --ring 10000 --placement hash|--hops 100000"
    "W5|w5_spawn --placement local|--n 100000"
    "W5|w5_spawn --placement spread|--n 100000"
    "W5|w5_spawn --idle|--n 100000"
    "W6|w6_ask --placement same-shard|--n 20000"
    "W6|w6_ask --placement cross-shard|--n 20000"
    "W6|w6_ask --placement cross-shard --busy-poll|--n 20000"
    "W6|w6_ask --placement outside|--n 20000"
    "T1|t1_transport --mode stream --size 64|--n 300000"
    "T1|t1_transport --mode stream --size 1024 --n 500000|--n 100000"
    "T1|t1_transport --mode stream --size 64 --key --n 500000|--n 100000"
    "T1|t1_transport --mode rr --n 20000|--n 2000"
    "L1|l1_ring|--n 10000000"
    "L2|l2_spsc|--n 2000000 --rtt-n 50000"
    "L3|l3_wake|--n 200000 --wake-n 1000"
    "L4|l4_loopback|--ms 100 --rr-n 2000"
)

BIN=build/release/perf
OUT=perf/results
if ((quick)); then
    OUT=build/bench-quick # a smoke run must not overwrite the committed full results
fi
mkdir -p "$OUT"
if ((build)); then
    echo "bench.sh: building Release (scripts/build.sh release)"
    if ! bash scripts/build.sh release >"$OUT/build.log" 2>&1; then
        tail -30 "$OUT/build.log" >&2
        echo "bench.sh: build failed (log: $OUT/build.log)" >&2
        exit 1
    fi
fi

commands=()
for c in "${cases[@]}"; do
    IFS='|' read -r family cmd quick_args <<<"$c"
    if [[ -n "${want[$family]:-}" ]]; then
        if ((quick)); then
            cmd="$cmd $quick_args"
        fi
        commands+=("$BIN/$cmd")
    fi
done

if ((peers)); then
    # Adds the peers' commands (or says why not); see perf/peers/peers.sh.
    # shellcheck source=perf/peers/peers.sh
    source perf/peers/peers.sh
    peer_commands "$quick" "${!want[@]}"
fi

# Other work on the machine shows up as spread; say so rather than let it pass unnoticed.
# (Sampled over a second, not the load average, which still remembers our own build.)
cpu_busy_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    # Fields after "cpu": user nice system idle iowait irq softirq steal.
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x); split(b, y); total = 0
        for (i = 2; i <= 9; i++) total += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%d", (total > 0 ? 100 * (total - idle) / total : 0) }'
}
busy=$(cpu_busy_pct 2>/dev/null || echo 0)
if ((busy > 20)); then
    echo "bench.sh: warning: the CPUs were ${busy}% busy before the runs; figures may be noisy"
fi

raw=$OUT/raw.txt
: >"$raw"
failed=0
t_start=$SECONDS
echo "bench.sh: ${#commands[@]} configurations x $runs run(s)"
for ((run = 1; run <= runs; run++)); do
    echo "# run $run" >>"$raw" # report.py pairs each round's workloads with its own probes
    for cmd in "${commands[@]}"; do
        # shellcheck disable=SC2086 # the command is a word list
        if out=$(timeout 600 $cmd 2>"$OUT/stderr.txt"); then
            printf '%s\n' "$out" >>"$raw"
            printf '%s\n' "$out" | sed "s|^|  [$run/$runs] |"
        else
            rc=$?
            failed=1
            echo "bench.sh: FAILED (exit $rc): $cmd" >&2
            sed 's/^/    /' "$OUT/stderr.txt" >&2
        fi
    done
done
rm -f "$OUT/stderr.txt"
echo "bench.sh: ran in $((SECONDS - t_start)) s; raw lines in $raw"
echo

report_args=("$raw" "$OUT" --runs "$runs")
if ((quick)); then
    report_args+=(--quick)
fi
if ((peers)); then
    report_args+=(--peers)
fi
python3 perf/report.py "${report_args[@]}"
echo
echo "bench.sh: wrote $OUT/latest.json"

if command -v gnuplot >/dev/null 2>&1; then
    for plot in w6 w3 w4 limits; do
        # A workload left out of this run has no data: drop its old plot rather than keep it.
        if ! grep -qv '^#' "$OUT/data/$plot.dat" 2>/dev/null; then
            rm -f "$OUT/$plot.png" "$OUT/$plot.svg"
            continue
        fi
        for fmt in png svg; do
            case $fmt in
            png) term="pngcairo size 1000,560 noenhanced" ;;
            svg) term="svg size 1000,560 noenhanced" ;;
            esac
            if ! gnuplot -e "datadir='$OUT/data'; plotdir='perf/plot'; set terminal $term; set output '$OUT/$plot.$fmt'" \
                perf/plot/$plot.gp 2>"$OUT/gnuplot.log"; then
                echo "bench.sh: plot $plot.$fmt failed:" >&2
                sed 's/^/    /' "$OUT/gnuplot.log" | tail -3 >&2
            fi
        done
    done
    rm -f "$OUT/gnuplot.log"
    echo "bench.sh: plots (PNG and SVG) in $OUT/: $(cd "$OUT" && echo ./*.png)"
else
    echo "bench.sh: gnuplot not found, plots skipped (install it: scripts/deps.sh --perf)"
fi
exit "$failed"
