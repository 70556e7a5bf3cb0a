#!/usr/bin/env bash
# SWIM across real network stacks: five network namespaces on one bridge,
# one casty-swim-node per namespace, faults injected with iptables
# (SWIM_HARNESS.md section 6; issue 7).
#
#   scripts/netns_swim.sh [--quick] [--bin PATH] [--keep-logs]
#
#   --quick      CI durations: partition 10 s, loss 20 s (default 30 s, 60 s)
#   --bin PATH   use this casty-swim-node instead of building one (build/netns)
#   --keep-logs  keep the node logs even when every check passes
#
# Namespaces cswim0..cswim4 (10.201.0.1..5/24, node ids 1..5, port 7946) are
# joined by veth pairs to bridge br0 in namespace cswimhub. Node 1 is the seed.
# Scenario, each step a check (any failure: exit 1):
#   a) converge: all 5 views = 5 within 10 s of starting the nodes;
#   b) crash: SIGKILL node 5; every survivor reports it dead within 10 s;
#      then node 5 restarts (same id and address) and every view is 5 again
#      within 10 s, so the partition below runs on all five;
#   c) partition {1,2} | {3,4,5} (iptables INPUT DROP by source, both ways)
#      for 30 s (--quick: 10 s), held longer if needed until each side has
#      declared every node of the other side dead (bound 30 s); nobody may
#      declare a node of its own side dead; after the heal all five views
#      must be 5 again within 30 s. If they are not, the check fails and
#      nodes 3-5 are restarted (joining through the seed) so that d) runs;
#   d) 30 % UDP loss (iptables statistic INPUT DROP on every node): zero dead
#      declarations; every view is 5 again within 30 s after the loss stops;
#   e) graceful leave: SIGTERM node 4; every other node reports it left
#      within 3 s and no suspicion timer fires for it.
# Lines: `swim <test> impl=casty cfg=casty n=5 ...` (the harness format) and
# `# check <name>: ok|FAIL ...`. Times are CLOCK_MONOTONIC ms, as the nodes
# print them (casty-swim-node --now reads the same clock).
#
# Needs root, `ip netns`, a bridge and iptables (installed with apt-get when
# missing and root). Otherwise it prints why and exits 77 (skip). An EXIT trap
# kills every node and deletes every namespace, also on failure; the logs are
# removed on success and kept (path printed) on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

quick=0
keep_logs=0
BIN=""
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --keep-logs) keep_logs=1 ;;
    --bin)
        if (($# < 2)); then
            echo "netns_swim.sh: --bin needs a path" >&2
            exit 2
        fi
        BIN=$2
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "netns_swim.sh: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

N=5
HUB=cswimhub
PORT=7946
PROFILE=casty
CONVERGE_S=10
DEAD_S=10
REJOIN_S=10
HEAL_S=30
DETECT_S=30
RECONVERGE_S=30
LEAVE_S=3
LOSS_PCT=30
if ((quick)); then
    PART_S=10
    LOSS_S=20
else
    PART_S=30
    LOSS_S=60
fi
GROUP_A=(1 2)
GROUP_B=(3 4 5)
VICTIM=5
LEAVER=4

skip() {
    echo "netns_swim.sh: SKIP: $*"
    exit 77
}

# ---- prerequisites ----

((EUID == 0)) || skip "needs root (network namespaces and iptables)"

# Install a Debian package for a missing command (as scripts/deps.sh does), or skip.
need() {
    local cmd=$1 pkg=$2
    if command -v "$cmd" >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        skip "$cmd missing and no apt-get to install $pkg"
    fi
    echo "# netns_swim: installing $pkg"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -q -o DPkg::Lock::Timeout=300 &&
        apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "$pkg" </dev/null; } >&2; then
        skip "could not install $pkg"
    fi
    command -v "$cmd" >/dev/null 2>&1 || skip "$cmd still missing after installing $pkg"
}
need ip iproute2
need iptables iptables
need flock util-linux

# One run at a time on this machine: the namespace names are fixed.
exec 9>/run/lock/casty-netns-swim.lock
flock -w 900 9 || {
    echo "netns_swim.sh: another run holds /run/lock/casty-netns-swim.lock" >&2
    exit 1
}

# ---- build ----

build_bin() {
    local dir="$ROOT/build/netns" log="$ROOT/build/netns.log"
    mkdir -p "$dir"
    echo "# netns_swim: building casty-swim-node in $dir (log $log)"
    if ! cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCASTY_BUILD_TESTS=OFF \
        -DCASTY_BUILD_EXAMPLES=OFF -DCASTY_BUILD_PERF=OFF >"$log" 2>&1; then
        tail -20 "$log" >&2
        return 1
    fi
    if grep -q 'add_subdirectory(cluster/tools)' "$ROOT/CMakeLists.txt"; then
        cmake --build "$dir" -j "$(nproc)" --target casty-swim-node >>"$log" 2>&1 || {
            tail -20 "$log" >&2
            return 1
        }
        BIN=$dir/cluster/tools/casty-swim-node
        return 0
    fi
    # Not wired into the top-level build yet: link the tool by hand.
    cmake --build "$dir" -j "$(nproc)" --target casty_static >>"$log" 2>&1 || {
        tail -20 "$log" >&2
        return 1
    }
    local libs
    libs=$(pkg-config --libs liburing libxxhash libsodium)
    # shellcheck disable=SC2086 # $libs is a list of linker flags
    gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$ROOT" -I"$ROOT/include" \
        "$ROOT/cluster/tools/swim_node.c" "$dir/libcasty.a" $libs -lmimalloc -lpthread -lm \
        -o "$dir/casty-swim-node" >>"$log" 2>&1 || {
        tail -20 "$log" >&2
        return 1
    }
    BIN=$dir/casty-swim-node
}

if [[ -z $BIN ]]; then
    build_bin || {
        echo "netns_swim.sh: build failed" >&2
        exit 1
    }
fi
[[ $BIN == /* ]] || BIN=$PWD/$BIN
[[ -x $BIN ]] || {
    echo "netns_swim.sh: $BIN is not executable" >&2
    exit 1
}

# ---- namespaces ----

ns_of() { echo "cswim$(($1 - 1))"; }
ip_of() { echo "10.201.0.$1"; }
ALL_NS=("$HUB")
for ((id = 1; id <= N; id++)); do
    ALL_NS+=("$(ns_of "$id")")
done

LOGDIR=""
declare -a PIDS=()
failures=0
cleaning=0

cleanup() {
    local rc=$?
    ((cleaning)) && return
    cleaning=1
    set +e
    for pid in "${PIDS[@]}"; do
        [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        [[ -n $pid ]] && wait "$pid" 2>/dev/null
    done
    for ns in "${ALL_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    local left
    left=$(ip netns list 2>/dev/null | awk '$1 ~ /^cswim/ { print $1 }' | tr '\n' ' ')
    if [[ -n $left ]]; then
        echo "netns_swim.sh: namespaces left behind: $left" >&2
    fi
    if [[ -n $LOGDIR && -d $LOGDIR ]]; then
        if ((rc == 0 && !keep_logs)); then
            rm -rf "$LOGDIR"
        else
            echo "# netns_swim: node logs kept in $LOGDIR"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of a run that could not clean up (killed with SIGKILL).
for ns in "${ALL_NS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
done

ip netns add "$HUB" 2>/dev/null || skip "cannot create network namespaces (ip netns add failed)"
ip -n "$HUB" link add br0 type bridge 2>/dev/null || skip "cannot create a bridge in a namespace"
ip -n "$HUB" link set br0 up
for ((id = 1; id <= N; id++)); do
    ns=$(ns_of "$id")
    ip netns add "$ns"
    ip link add eth0 netns "$ns" type veth peer name "p$id" netns "$HUB" ||
        skip "cannot create veth pairs between namespaces"
    ip -n "$ns" addr add "$(ip_of "$id")/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$HUB" link set "p$id" master br0
    ip -n "$HUB" link set "p$id" up
done

# iptables inside a namespace: the nf_tables build, else the legacy one.
IPT=""
for cand in iptables iptables-legacy; do
    if command -v "$cand" >/dev/null 2>&1 &&
        ip netns exec cswim0 "$cand" -w -A INPUT -p udp -m statistic --mode random \
            --probability 0.5 -j DROP 2>/dev/null; then
        ip netns exec cswim0 "$cand" -w -F INPUT
        IPT=$cand
        break
    fi
done
[[ -n $IPT ]] || skip "iptables (statistic match) does not work in a namespace"

ipt() {
    local ns=$1
    shift
    ip netns exec "$ns" "$IPT" -w "$@"
}

# ---- nodes ----

LOGDIR=$(mktemp -d /tmp/netns_swim.XXXXXX)
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')

log_of() { echo "$LOGDIR/node$1.log"; }

start_node() {
    local id=$1
    local args=(--id "$id" --bind "$(ip_of "$id"):$PORT" --cluster netns-swim
        --profile "$PROFILE" --key-hex "$KEY" --status-ms 100)
    ((id == 1)) || args+=(--seed "$(ip_of 1):$PORT")
    ip netns exec "$(ns_of "$id")" "$BIN" "${args[@]}" >>"$(log_of "$id")" 2>&1 &
    PIDS[id]=$!
}

now_ms() { "$BIN" --now; }

# ---- log queries (awk over `kind t_ms=... key=value ...` lines) ----

# shellcheck disable=SC2016 # awk source, not shell
AWK_KV='function kv(   i, p) { split("", f); for (i = 2; i <= NF; i++) { p = index($i, "=");
    if (p) f[substr($i, 1, p - 1)] = substr($i, p + 1) } }
function match_all(   i, p) { for (i = 1; i <= nc; i++) { p = index(c[i], "=");
    if (f[substr(c[i], 1, p - 1)] != substr(c[i], p + 1)) return 0 } return 1 }'

# first_ms LOG KIND SINCE [key=value...]: t_ms of the first matching line at or after SINCE.
first_ms() {
    local log=$1 kind=$2 since=$3
    shift 3
    awk -v kind="$kind" -v since="$since" -v conds="$*" "$AWK_KV"'
        BEGIN { nc = split(conds, c, " ") }
        $1 == kind { kv(); if (f["t_ms"] + 0 < since + 0 || !match_all()) next; print f["t_ms"]; exit }' "$log"
}

# count LOG KIND FROM UNTIL [key=value...]: matching lines with FROM <= t_ms <= UNTIL.
count() {
    local log=$1 kind=$2 from=$3 until=$4
    shift 4
    awk -v kind="$kind" -v from="$from" -v until="$until" -v conds="$*" "$AWK_KV"'
        BEGIN { nc = split(conds, c, " "); n = 0 }
        $1 == kind { kv(); t = f["t_ms"] + 0; if (t >= from + 0 && t <= until + 0 && match_all()) n++ }
        END { print n }' "$log"
}

# min_view LOG FROM UNTIL: smallest view= in status lines of the window (-1 if none).
min_view() {
    awk -v from="$2" -v until="$3" "$AWK_KV"'
        BEGIN { m = -1 }
        $1 == "status" { kv(); t = f["t_ms"] + 0
            if (t >= from + 0 && t <= until + 0 && (m < 0 || f["view"] + 0 < m)) m = f["view"] + 0 }
        END { print m }' "$1"
}

# last_field LOG KIND KEY UNTIL: KEY of the last KIND line at or before UNTIL (0 if none).
last_field() {
    awk -v kind="$2" -v key="$3" -v until="$4" "$AWK_KV"'
        BEGIN { v = 0 }
        $1 == kind { kv(); if (f["t_ms"] + 0 <= until + 0) v = f[key] + 0 }
        END { print v }' "$1"
}

# Arithmetic on decimals. No `>` in the expression: awk's printf would take it as a redirection.
calc() {
    [[ $* != *'>'* ]] || {
        echo "netns_swim.sh: calc: '>' in '$*'" >&2
        return 1
    }
    awk "BEGIN { printf \"%.1f\", $* }"
}

# Median and max of the numbers given.
stats_of() {
    printf '%s\n' "$@" | sort -g | awk 'NF { v[++n] = $1 } END {
        if (n == 0) { print "-1 -1"; exit }
        m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "%.1f %.1f\n", m, v[n] }'
}

check() {
    local name=$1 ok=$2
    shift 2
    if ((ok)); then
        echo "# check $name: ok $*"
    else
        echo "# check $name: FAIL $*"
        failures=$((failures + 1))
    fi
}

# wait_for SECONDS FUNC ARGS...: call FUNC every 200 ms until it succeeds or the time is up.
wait_for() {
    local secs=$1 deadline
    shift
    deadline=$(($(date +%s%N) + secs * 1000000000))
    while :; do
        "$@" && return 0
        (($(date +%s%N) < deadline)) || return 1
        sleep 0.2
    done
}

# all_view WANT SINCE IDS...: every listed node printed a status with view=WANT since SINCE.
all_view() {
    local want=$1 since=$2 id
    shift 2
    for id in "$@"; do
        [[ -n $(first_ms "$(log_of "$id")" status "$since" "view=$want") ]] || return 1
    done
}

# view_time WANT SINCE IDS...: the latest of the nodes' first view=WANT times, minus SINCE.
view_time() {
    local want=$1 since=$2 id t worst=""
    shift 2
    for id in "$@"; do
        t=$(first_ms "$(log_of "$id")" status "$since" "view=$want")
        [[ -n $t ]] || {
            echo -1
            return
        }
        if [[ -z $worst ]] || awk -v a="$t" -v b="$worst" 'BEGIN { exit !(a > b) }'; then
            worst=$t
        fi
    done
    calc "$worst - $since"
}

# all_saw MEMBER STATE SINCE IDS...: every listed node reported MEMBER in STATE since SINCE.
all_saw() {
    local member=$1 state=$2 since=$3 id
    shift 3
    for id in "$@"; do
        [[ -n $(first_ms "$(log_of "$id")" event "$since" "member=$member" "state=$state") ]] ||
            return 1
    done
}

# sides_dead SINCE: each side of the partition reported every node of the other side dead.
sides_dead() {
    local since=$1 x y
    for x in "${GROUP_A[@]}"; do
        for y in "${GROUP_B[@]}"; do
            all_saw "$y" dead "$since" "$x" || return 1
            all_saw "$x" dead "$since" "$y" || return 1
        done
    done
}

ALL_IDS=()
for ((id = 1; id <= N; id++)); do
    ALL_IDS+=("$id")
done

echo "# netns_swim: n=$N cfg=$PROFILE quick=$quick partition_s=$PART_S loss_s=$LOSS_S" \
    "loss_pct=$LOSS_PCT iptables=$IPT bin=$BIN logs=$LOGDIR"

# ---- a) converge ----

t0=$(now_ms)
for id in "${ALL_IDS[@]}"; do
    start_node "$id"
done
ok=0
wait_for "$CONVERGE_S" all_view "$N" "$t0" "${ALL_IDS[@]}" && ok=1
conv_ms=$(view_time "$N" "$t0" "${ALL_IDS[@]}")
echo "swim converge impl=casty cfg=$PROFILE join=concurrent n=$N trial=1 ms=$conv_ms mode=netns"
if awk -v a="$conv_ms" -v b="$CONVERGE_S" 'BEGIN { exit !(a < 0 || a > b * 1000) }'; then
    ok=0
fi
check converge "$ok" "(all views = $N in ${conv_ms} ms, bound ${CONVERGE_S} s)"
if ((!ok)); then
    echo "netns_swim.sh: FAIL: no convergence; the later steps need it" >&2
    exit 1
fi
sleep 2

# ---- b) crash of a non-seed node, then its restart ----

survivors=()
for id in "${ALL_IDS[@]}"; do
    ((id == VICTIM)) || survivors+=("$id")
done
tk=$(now_ms)
kill -KILL "${PIDS[VICTIM]}"
wait "${PIDS[VICTIM]}" 2>/dev/null || true
PIDS[VICTIM]=""
ok=0
wait_for $((DEAD_S + 2)) all_saw "$VICTIM" dead "$tk" "${survivors[@]}" && ok=1
dead_times=()
per_node=""
susp_first=""
suspectors=0
dead_timers=0
observers=0
for id in "${survivors[@]}"; do
    log=$(log_of "$id")
    t=$(first_ms "$log" event "$tk" "member=$VICTIM" state=dead)
    if [[ -n $t ]]; then
        d=$(calc "$t - $tk")
        dead_times+=("$d")
        observers=$((observers + 1))
        per_node+=" n$id=$d"
    else
        per_node+=" n$id=-1"
    fi
    s=$(first_ms "$log" local_suspect "$tk" "member=$VICTIM")
    if [[ -n $s ]]; then
        suspectors=$((suspectors + 1))
        s=$(calc "$s - $tk")
        if [[ -z $susp_first ]] || awk -v a="$s" -v b="$susp_first" 'BEGIN { exit !(a < b) }'; then
            susp_first=$s
        fi
    fi
    now=$(now_ms)
    dead_timers=$((dead_timers + $(count "$log" suspect_timer "$tk" "$now" "member=$VICTIM")))
done
read -r dead_p50 dead_all <<<"$(stats_of "${dead_times[@]}")"
dead_first=$(printf '%s\n' "${dead_times[@]}" | sort -g | head -1)
((observers == ${#survivors[@]})) || dead_all=-1
echo "swim fail impl=casty cfg=$PROFILE n=$N trial=1 victim=$VICTIM suspect_first_ms=${susp_first:--1}" \
    "dead_first_ms=${dead_first:--1} dead_all_ms=$dead_all dead_p50_ms=$dead_p50" \
    "local_suspectors=$suspectors local_dead_timers=$dead_timers" \
    "dead_observers=$observers/${#survivors[@]} mode=netns"
echo "# fail: t_kill=$tk; dead reported at (ms after SIGKILL):$per_node"
if awk -v a="$dead_all" -v b="$DEAD_S" 'BEGIN { exit !(a < 0 || a > b * 1000) }'; then
    ok=0
fi
check crash_dead "$ok" "(all ${#survivors[@]} survivors: dead in ${dead_all} ms, bound ${DEAD_S} s)"

tr=$(now_ms)
start_node "$VICTIM"
ok=0
wait_for "$REJOIN_S" all_view "$N" "$tr" "${ALL_IDS[@]}" && ok=1
rejoin_ms=$(view_time "$N" "$tr" "${ALL_IDS[@]}")
refutes=$(count "$(log_of "$VICTIM")" refute "$tr" "$(now_ms)")
echo "# rejoin: node $VICTIM restarted; all views = $N after ${rejoin_ms} ms; its refutations=$refutes"
check rejoin "$ok" "(all views = $N in ${rejoin_ms} ms after the restart, bound ${REJOIN_S} s)"
sleep 2

# ---- c) partition {1,2} | {3,4,5} ----

partition() {
    local op=$1 x y
    for x in "${GROUP_A[@]}"; do
        for y in "${GROUP_B[@]}"; do
            ipt "$(ns_of "$x")" "$op" INPUT -s "$(ip_of "$y")" -j DROP
            ipt "$(ns_of "$y")" "$op" INPUT -s "$(ip_of "$x")" -j DROP
        done
    done
}

# side_dead_ms SINCE OBSERVERS -- SUBJECTS: when the last observer saw the last subject dead.
side_dead_ms() {
    local since=$1 x y t worst=0
    shift
    local obs=() subj=()
    while [[ $1 != -- ]]; do
        obs+=("$1")
        shift
    done
    shift
    subj=("$@")
    for x in "${obs[@]}"; do
        for y in "${subj[@]}"; do
            t=$(first_ms "$(log_of "$x")" event "$since" "member=$y" state=dead)
            [[ -n $t ]] || {
                echo -1
                return
            }
            t=$(calc "$t - $since")
            if awk -v a="$t" -v b="$worst" 'BEGIN { exit !(a > b) }'; then
                worst=$t
            fi
        done
    done
    echo "$worst"
}

tp=$(now_ms)
partition -A
sleep "$PART_S"
# Hold the split until each side has declared the other dead (bounded): the
# minority side's Lifeguard health multiplier stretches its probing, so its
# detection time varies (8-13 s seen with the casty profile).
sides_dead "$tp" || wait_for $((DETECT_S - PART_S)) sides_dead "$tp" || true
th=$(now_ms)
held_s=$(calc "($th - $tp) / 1000")
sides_ok=0
sides_dead "$tp" && sides_ok=1
a_dead=$(side_dead_ms "$tp" "${GROUP_A[@]}" -- "${GROUP_B[@]}")
b_dead=$(side_dead_ms "$tp" "${GROUP_B[@]}" -- "${GROUP_A[@]}")
same_side=0
for grp in A B; do
    if [[ $grp == A ]]; then members=("${GROUP_A[@]}"); else members=("${GROUP_B[@]}"); fi
    for x in "${members[@]}"; do
        for y in "${members[@]}"; do
            ((x == y)) && continue
            same_side=$((same_side + $(count "$(log_of "$x")" event "$tp" "$th" "member=$y" state=dead)))
        done
    done
done
part_susp=0
for id in "${ALL_IDS[@]}"; do
    part_susp=$((part_susp + $(count "$(log_of "$id")" local_suspect "$tp" "$th")))
done
partition -D
ok=0
wait_for "$HEAL_S" all_view "$N" "$th" "${ALL_IDS[@]}" && ok=1
merge_ms=$(view_time "$N" "$th" "${ALL_IDS[@]}")
heal_refutes=0
for id in "${ALL_IDS[@]}"; do
    heal_refutes=$((heal_refutes + $(count "$(log_of "$id")" refute "$th" "$(now_ms)")))
done
views=""
for id in "${ALL_IDS[@]}"; do
    views+=" n$id=$(last_field "$(log_of "$id")" status view "$(now_ms)")"
done
echo "swim partition impl=casty cfg=$PROFILE n=$N trial=1 split=${#GROUP_A[@]}/${#GROUP_B[@]}" \
    "secs=$held_s a_dead_ms=$a_dead b_dead_ms=$b_dead same_side_dead=$same_side" \
    "local_suspicions=$part_susp merge_ms=$merge_ms merge_view=$N refutations=$heal_refutes mode=netns"
echo "# partition: t_part=$tp t_heal=$th (CLOCK_MONOTONIC ms, as in the node logs);" \
    "views ${HEAL_S} s after the heal:$views"
check partition_detect "$sides_ok" "(side {${GROUP_A[*]}} saw {${GROUP_B[*]}} dead after ${a_dead} ms," \
    "side {${GROUP_B[*]}} saw {${GROUP_A[*]}} dead after ${b_dead} ms; bound ${DETECT_S} s)"
check partition_same_side "$((same_side == 0))" "(dead declarations within a side: $same_side)"
check partition_merge "$ok" "(all views = $N ${merge_ms} ms after the heal, bound ${HEAL_S} s)"
if ((!ok)); then
    # Bring the seedless side back the way an operator would (restart, join
    # through the seed), so that the loss step still runs on all five.
    echo "# partition: no re-merge; restarting nodes ${GROUP_B[*]} (SIGKILL, start, join via the seed)"
    for id in "${GROUP_B[@]}"; do
        kill -KILL "${PIDS[id]}"
        wait "${PIDS[id]}" 2>/dev/null || true
        PIDS[id]=""
    done
    tr=$(now_ms)
    for id in "${GROUP_B[@]}"; do
        start_node "$id"
    done
    # Not a check: a joiner can inherit a stale "dead" from the seed's state
    # and wait for the next push-pull (10 s) to correct it; allow 30 s.
    if ! wait_for "$HEAL_S" all_view "$N" "$tr" "${ALL_IDS[@]}"; then
        echo "netns_swim.sh: FAIL: no view of $N even after restarting ${GROUP_B[*]}" >&2
        exit 1
    fi
    echo "# partition: all views = $N $(view_time "$N" "$tr" "${ALL_IDS[@]}") ms after the restart"
fi
sleep 3

# ---- d) 30 % UDP loss on every node ----

loss_drops() {
    local id total=0 n
    for id in "${ALL_IDS[@]}"; do
        n=$(ipt "$(ns_of "$id")" -L INPUT -v -n -x | awk '$3 == "DROP" && /statistic/ { s += $1 } END { print s + 0 }')
        total=$((total + n))
    done
    echo "$total"
}

prob=$(calc "$LOSS_PCT / 100")
tl=$(now_ms)
for id in "${ALL_IDS[@]}"; do
    ipt "$(ns_of "$id")" -A INPUT -p udp -m statistic --mode random --probability "$prob" -j DROP
done
sleep "$LOSS_S"
dropped=$(loss_drops)
for id in "${ALL_IDS[@]}"; do
    ipt "$(ns_of "$id")" -D INPUT -p udp -m statistic --mode random --probability "$prob" -j DROP
done
te=$(now_ms)
ok=0
wait_for "$RECONVERGE_S" all_view "$N" "$te" "${ALL_IDS[@]}" && ok=1
reconv_ms=$(view_time "$N" "$te" "${ALL_IDS[@]}")
sleep 3 # suspicions begun under loss may still end in a declaration now
tt=$(now_ms)
susp=0
timers=0
deads=0
refutes=0
rejoins=0
minv=$N
sent=0
declared=""
for id in "${ALL_IDS[@]}"; do
    log=$(log_of "$id")
    susp=$((susp + $(count "$log" local_suspect "$tl" "$te")))
    timers=$((timers + $(count "$log" suspect_timer "$tl" "$tt")))
    deads=$((deads + $(count "$log" event "$tl" "$tt" state=dead)))
    refutes=$((refutes + $(count "$log" refute "$tl" "$tt")))
    rejoins=$((rejoins + $(count "$log" event "$tl" "$tt" state=alive old=dead)))
    v=$(min_view "$log" "$tl" "$te")
    ((v >= 0 && v < minv)) && minv=$v
    s0=$(last_field "$log" status udp_sent "$tl")
    s1=$(last_field "$log" status udp_sent "$te")
    sent=$((sent + s1 - s0))
    declared+=$(awk -v from="$tl" -v until="$tt" "$AWK_KV"'
        $1 == "event" { kv(); t = f["t_ms"] + 0; if (t >= from && t <= until && f["state"] == "dead") print f["member"] }' "$log")
    declared+=$'\n'
done
nodes_dead=$(printf '%s' "$declared" | awk 'NF' | sort -u | wc -l)
echo "swim loss impl=casty cfg=$PROFILE n=$N trial=1 loss_pct=$LOSS_PCT secs=$LOSS_S tcp_fallback=false" \
    "local_suspicions=$susp local_dead_timers=$timers dead_declarations=$deads" \
    "nodes_declared_dead=$nodes_dead refutations=$refutes rejoin_events=$rejoins" \
    "min_member_view=$minv udp_sent=$sent udp_dropped=$dropped reconverge_ms=$reconv_ms mode=kernel"
echo "# loss: t_on=$tl t_off=$te udp_dropped/udp_sent=$(awk -v d="$dropped" -v s="$sent" 'BEGIN { printf "%.3f", s ? d / s : 0 }')" \
    "(iptables counts the receivers' drops of the nodes' datagrams)"
check loss_no_dead "$((deads == 0))" "(dead declarations under ${LOSS_PCT} % loss: $deads)"
check loss_reconverge "$ok" "(all views = $N ${reconv_ms} ms after the loss stopped, bound ${RECONVERGE_S} s)"
sleep 1

# ---- e) graceful leave ----

stayers=()
for id in "${ALL_IDS[@]}"; do
    ((id == LEAVER)) || stayers+=("$id")
done
tv=$(now_ms)
kill -TERM "${PIDS[LEAVER]}"
leave_rc=0
wait "${PIDS[LEAVER]}" || leave_rc=$?
PIDS[LEAVER]=""
ok=0
wait_for "$LEAVE_S" all_saw "$LEAVER" left "$tv" "${stayers[@]}" && ok=1
left_times=()
leave_observers=0
leave_timers=0
for id in "${stayers[@]}"; do
    log=$(log_of "$id")
    t=$(first_ms "$log" event "$tv" "member=$LEAVER" state=left)
    if [[ -n $t ]]; then
        left_times+=("$(calc "$t - $tv")")
        leave_observers=$((leave_observers + 1))
    fi
    leave_timers=$((leave_timers + $(count "$log" suspect_timer "$tv" "$(now_ms)" "member=$LEAVER")))
done
read -r left_p50 left_all <<<"$(stats_of "${left_times[@]}")"
left_first=$(printf '%s\n' "${left_times[@]}" | sort -g | head -1)
((leave_observers == ${#stayers[@]})) || left_all=-1
lv=$(first_ms "$(log_of "$LEAVER")" leave "$tv")
lx=$(first_ms "$(log_of "$LEAVER")" exit "$tv")
leave_call=-1
[[ -n $lv && -n $lx ]] && leave_call=$(calc "$lx - $lv")
echo "swim leave impl=casty cfg=$PROFILE n=$N trial=1 victim=$LEAVER first_ms=${left_first:--1}" \
    "all_ms=$left_all p50_ms=$left_p50 observers=$leave_observers/${#stayers[@]}" \
    "dead_timers_fired=$leave_timers leave_call_ms=$leave_call exit_rc=$leave_rc mode=netns"
ok=$((ok && leave_timers == 0 && leave_rc == 0))
check leave "$ok" "(left seen by $leave_observers/${#stayers[@]} in ${left_all} ms, bound ${LEAVE_S} s;" \
    "suspicion timers $leave_timers; exit status $leave_rc)"

if ((failures)); then
    echo "netns_swim.sh: FAIL ($failures checks failed)"
    exit 1
fi
echo "netns_swim.sh: PASS"
