#!/usr/bin/env bash
# The README's first command: install missing packages, build the release
# flavour, run the demo.
#
#   scripts/run.sh [arguments for scripts/demo.sh]
#
# Runs scripts/demo.sh when it exists, otherwise the quick-start example
# build/release/examples/quickstart/counter.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/deps.sh
bash scripts/build.sh release

echo
if [[ -f scripts/demo.sh ]]; then
    echo "run.sh: running scripts/demo.sh"
    bash scripts/demo.sh "$@"
else
    demo=build/release/examples/quickstart/counter
    if [[ ! -x "$demo" ]]; then
        echo "run.sh: $demo was not built." >&2
        echo "run.sh: it comes from examples/quickstart/counter.c (examples/CMakeLists.txt, CASTY_BUILD_EXAMPLES=ON)." >&2
        exit 1
    fi
    echo "run.sh: running $demo"
    "$demo"
fi

echo
echo "run.sh: done. ./scripts/test.sh builds debug, ASan+UBSan and TSan and runs every test."
