# shellcheck shell=bash
# Sourced by scripts/bench.sh --peers: builds the CAF and Erlang/OTP versions
# of the workloads (perf/peers/caf, perf/peers/erlang) into
# build/release/perf/peers/ and appends their command lines to the caller's
# `commands` array. A runtime that is not installed is skipped with a message
# (Debian: apt-get install libcaf-dev erlang-base). Never part of CMake's build.
#
#   peer_commands QUICK FAMILY...    (FAMILY: W1 .. W6; others are ignored)

peer_commands() {
    local quick=$1
    shift
    local -A fam=()
    local f
    for f in "$@"; do
        fam[$f]=1
    done
    local dir=build/release/perf/peers
    mkdir -p "$dir"

    # family | arguments | quick arguments (the sizes match bench.sh's Casty cases)
    local caf_cases=(
        "W1|W1 --threads 1|--n 200000"
        "W2|W2 --threads 2|--n 20000"
        "W2|W2 --threads 2 --busy-poll|--n 20000"
        "W3|W3 --threads 2 --window 32768|--n 1000000"
        "W4|W4 --ring 1000 --threads 1|--hops 100000"
        "W4|W4 --ring 1000 --threads 2|--hops 100000"
        "W4|W4 --ring 10000 --threads 1|--hops 100000"
        "W4|W4 --ring 10000 --threads 2|--hops 100000"
        "W5|W5 --threads 2 --throughput 64|--n 100000"
        "W5|W5i --threads 2|--n 100000"
        "W6|W6 --threads 1|--n 20000"
        "W6|W6 --threads 2|--n 20000"
        "W6|W6 --threads 2 --busy-poll|--n 20000"
        "W6|W6 --threads 2 --outside --n 200000|--n 20000"
    )
    # family | erl flags , casty_peer arguments | quick arguments
    local erl_cases=(
        "W1|+S 1,W1|n=200000"
        "W2|+S 2,W2|n=20000"
        "W2|+S 2 +sbwt very_long,W2 busy=1|n=20000"
        "W3|+S 2,W3 window=32768|n=1000000"
        "W4|+S 1,W4 ring=1000|hops=100000"
        "W4|+S 2,W4 ring=1000|hops=100000"
        "W4|+S 1,W4 ring=10000|hops=100000"
        "W4|+S 2,W4 ring=10000|hops=100000"
        "W5|+S 2,W5|n=100000"
        "W5|+S 2,W5i|n=100000"
        "W6|+S 1,W6|n=20000"
        "W6|+S 2,W6|n=20000"
        "W6|+S 2 +sbwt very_long,W6 busy=1|n=20000"
    )
    local c family args qargs

    if ! command -v g++ >/dev/null 2>&1 || [[ ! -f /usr/include/caf/all.hpp ]]; then
        echo "bench.sh: --peers: CAF not installed (apt-get install libcaf-dev g++); skipping CAF"
    elif ! g++ -O2 -std=c++17 -pthread -o "$dir/caf_bench" perf/peers/caf/caf_bench.cpp \
        -lcaf_core 2>"$dir/caf_build.log"; then
        echo "bench.sh: --peers: CAF build failed (log: $dir/caf_build.log); skipping CAF"
    else
        for c in "${caf_cases[@]}"; do
            IFS='|' read -r family args qargs <<<"$c"
            if [[ -n "${fam[$family]:-}" ]]; then
                ((quick)) && args="$args $qargs"
                commands+=("$dir/caf_bench $args")
            fi
        done
    fi

    if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
        echo "bench.sh: --peers: Erlang/OTP not installed (apt-get install erlang-base); skipping Erlang"
    elif ! erlc -o "$dir" perf/peers/erlang/casty_peer.erl 2>"$dir/erl_build.log"; then
        echo "bench.sh: --peers: Erlang build failed (log: $dir/erl_build.log); skipping Erlang"
    else
        local flags
        for c in "${erl_cases[@]}"; do
            IFS='|' read -r family args qargs <<<"$c"
            flags=${args%%,*}
            args=${args#*,}
            if [[ -n "${fam[$family]:-}" ]]; then
                ((quick)) && args="$args $qargs"
                # +sbt db binds schedulers to cores (as Casty pins shards); +P allows 1M+ processes.
                commands+=("erl -noshell +sbt db +P 4000000 $flags -pa $dir -run casty_peer main $args")
            fi
        done
    fi
}
