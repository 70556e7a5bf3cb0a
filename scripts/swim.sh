#!/usr/bin/env bash
# Run the SWIM harness (/work/shared/SWIM_HARNESS.md) with perf/swim_driver
# and summarise it: median and max per test, profile and N.
#
#   scripts/swim.sh [--quick] [--no-build] [DRIVER ARGS...]
#
#   (default)   the spec's matrix, about 25 minutes, written to perf/results/swim.txt:
#               converge n=5,20,50 x5 (lan, local, casty; join=concurrent, and join=seq on lan),
#               fail and leave n=5,20,50 x3 (lan, local, casty),
#               load 60 s n=5,20,50 (lan) and n=20 (local, casty),
#               loss 60 s n=20 at 10 % and 30 % (lan, local, casty; tcp_fallback=false)
#   --quick     a subset in under a minute, written to build/swim-quick.txt:
#               converge n=5,20 x1 (lan, casty), fail n=5 x1 (lan), leave n=5 x1 (lan),
#               load n=5 for 5 s (lan), loss n=20 at 30 % for 10 s (lan)
#   --no-build  use build/release as it is
#   DRIVER ARGS are appended to every swim_driver run and so override the
#               matrix (e.g. --seed 7, --trials 1, --ctimeout 20).
#
# Builds Release (scripts/build.sh release). Each run takes its own port
# block (--base), so no run waits on the sockets of the one before. The load
# test reads machine-wide /proc/net/snmp counters: keep the box quiet.
# Exit status: non-zero if the build or a driver run failed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

quick=0
build=1
extra=()
while (($# > 0)); do
    case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) extra+=("$1") ;;
    esac
    shift
done

if ((build)); then
    bash scripts/build.sh release >/dev/null
fi
driver=build/release/perf/swim_driver
if [[ ! -x "$driver" ]]; then
    echo "swim.sh: $driver is missing (build first, or drop --no-build)" >&2
    exit 1
fi

if ((quick)); then
    out=build/swim-quick.txt
    runs=(
        "--test converge --profile lan --n 5,20 --trials 1"
        "--test converge --profile casty --n 5,20 --trials 1"
        "--test fail --profile lan --n 5 --trials 1"
        "--test leave --profile lan --n 5 --trials 1"
        "--test load --profile lan --n 5 --secs 5"
        "--test loss --profile lan --n 20 --loss 30 --secs 10"
    )
else
    out=perf/results/swim.txt
    runs=(
        "--test converge --profile lan"
        "--test converge --profile lan --join seq"
        "--test converge --profile local"
        "--test converge --profile casty"
        "--test fail --profile lan"
        "--test fail --profile local"
        "--test fail --profile casty"
        "--test leave --profile lan"
        "--test leave --profile local"
        "--test leave --profile casty"
        "--test load --profile lan"
        "--test load --profile local --n 20"
        "--test load --profile casty --n 20"
        "--test loss --profile lan"
        "--test loss --profile local"
        "--test loss --profile casty"
    )
fi

mkdir -p "$(dirname "$out")"
: >"$out"
base=20000
for run in "${runs[@]}"; do
    # shellcheck disable=SC2086 # each run is a word list on purpose
    "$driver" $run --base "$base" "${extra[@]}" | tee -a "$out"
    base=$((base + 2000))
    if ((base > 56000)); then
        base=20000
    fi
done

echo
echo "swim.sh: lines in $out; median (max) over trials, -1 = never reached"
python3 - "$out" <<'EOF'
import statistics
import sys
from collections import OrderedDict

SKIP = {"impl", "cfg", "n", "trial", "join", "loss_pct", "secs", "tcp_fallback"}
groups = OrderedDict()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or f[0] != "swim":
        continue
    kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
    label = f"{f[1]:8} cfg={kv.get('cfg', '?'):5} n={kv.get('n', '?'):>2}"
    if "join" in kv:
        label += f" join={kv['join']}"
    if "loss_pct" in kv:
        label += f" loss={kv['loss_pct']}%"
    g = groups.setdefault(label, OrderedDict())
    for k, v in kv.items():
        if k in SKIP:
            continue
        if "/" in v:  # observers=k/N-1: the count k
            v = v.split("/")[0]
        try:
            g.setdefault(k, []).append(float(v))
        except ValueError:
            pass


def fmt(x):
    if x != 0 and abs(x) < 1:
        return f"{x:.3g}"
    return f"{x:.1f}".rstrip("0").rstrip(".")


for label, g in groups.items():
    cells = []
    for k, vals in g.items():
        ok = [v for v in vals if v >= 0]
        never = len(vals) - len(ok)
        if not ok:
            cells.append(f"{k}=never")
            continue
        cell = f"{k}={fmt(statistics.median(ok))}"
        if len(vals) > 1:
            cell += f"({'never' if never else fmt(max(ok))})"
        if never:
            cell += f"[{never}x never]"
        cells.append(cell)
    trials = max(len(v) for v in g.values()) if g else 0
    print(f"{label} trials={trials}: " + " ".join(cells))
EOF
