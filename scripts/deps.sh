#!/usr/bin/env bash
# Install the Debian 12 packages Casty needs, if any are missing.
#
#   scripts/deps.sh [--perf] [--fuzz] [--valgrind] [--format] [--check]
#
#   --perf       also gnuplot (perf plots; the no-X build)
#   --fuzz       also clang and its libFuzzer/sanitizer runtimes (CASTY_FUZZ=ON)
#   --valgrind   also valgrind
#   --format     also clang-format (scripts/format.sh)
#   --check      only report what is missing; exit 1 if anything is
#
# Idempotent: checks each package with `dpkg -s` and runs apt-get (update, then
# install) only when something is missing. As root it installs; otherwise it
# prints the exact command to run and exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(build-essential cmake pkg-config liburing-dev libmimalloc-dev libxxhash-dev libsodium-dev libcmocka-dev g++)
check_only=0

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

for arg in "$@"; do
    case "$arg" in
    --perf) packages+=(gnuplot-nox) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    --valgrind) packages+=(valgrind) ;;
    --format) packages+=(clang-format) ;;
    --check) check_only=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "deps.sh: unknown option '$arg'" >&2
        usage >&2
        exit 2
        ;;
    esac
done

if ! command -v dpkg >/dev/null 2>&1; then
    echo "deps.sh: no dpkg here (not Debian?); install the equivalents of:" >&2
    echo "  ${packages[*]}" >&2
    echo "deps.sh: continuing; CMake will report anything still missing." >&2
    exit 0
fi

installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for pkg in "${packages[@]}"; do
    if ! installed "$pkg"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "deps.sh: all ${#packages[@]} packages present"
    exit 0
fi

echo "deps.sh: missing: ${missing[*]}"
apt_install=(install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")
if ((check_only)); then
    exit 1
fi
if ((EUID != 0)); then
    echo "deps.sh: not root; run this, then retry:" >&2
    echo "  sudo apt-get update && sudo apt-get ${apt_install[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q -o DPkg::Lock::Timeout=300
apt-get "${apt_install[@]}" </dev/null

still=()
for pkg in "${missing[@]}"; do
    if ! installed "$pkg"; then
        still+=("$pkg")
    fi
done
if ((${#still[@]} != 0)); then
    echo "deps.sh: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "deps.sh: installed ${missing[*]}"
