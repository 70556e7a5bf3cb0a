#!/usr/bin/env bash
# Configure and build one flavour of Casty into build/<kind>.
#
#   scripts/build.sh [debug|release|asan|tsan] [extra cmake -D options...]
#
#   debug    Debug, CASTY_DEBUG_FULL=ON (O(n) self-checks), -Werror   (default)
#   release  Release, -Werror
#   asan     Debug, ASan+UBSan (CASTY_SANITIZE=address), -Werror
#   tsan     Debug, TSan (CASTY_SANITIZE=thread), -Werror
#
# Every kind sets all of its options explicitly, so a reused build directory
# cannot keep a stale setting from an earlier configure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

kind=${1:-debug}
if (($# > 0)); then
    shift
fi
case "$kind" in
debug) args=(-DCMAKE_BUILD_TYPE=Debug -DCASTY_DEBUG_FULL=ON -DCASTY_SANITIZE=) ;;
release) args=(-DCMAKE_BUILD_TYPE=Release -DCASTY_DEBUG_FULL=OFF -DCASTY_SANITIZE=) ;;
asan) args=(-DCMAKE_BUILD_TYPE=Debug -DCASTY_DEBUG_FULL=OFF -DCASTY_SANITIZE=address) ;;
tsan) args=(-DCMAKE_BUILD_TYPE=Debug -DCASTY_DEBUG_FULL=OFF -DCASTY_SANITIZE=thread) ;;
-h | --help)
    usage
    exit 0
    ;;
*)
    echo "build.sh: unknown build kind '$kind'" >&2
    usage >&2
    exit 2
    ;;
esac
args+=(-DCASTY_WERROR=ON)

jobs=$(nproc 2>/dev/null || echo 2)
echo "build.sh: configuring build/$kind"
cmake -S . -B "build/$kind" "${args[@]}" "$@"
echo "build.sh: building build/$kind with $jobs jobs"
cmake --build "build/$kind" -j "$jobs"
