#!/usr/bin/env bash
# Format every tracked .c/.h with clang-format (.clang-format at the root).
#
#   scripts/format.sh           rewrite files in place
#   scripts/format.sh --check   change nothing; exit 1 if a file is not formatted
#
# include/casty/pp.h is generated and left alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
*)
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    echo "format.sh: $CLANG_FORMAT not found; install it with scripts/deps.sh --format" >&2
    exit 1
fi

mapfile -d '' files < <(git ls-files -z -- '*.c' '*.h' ':!:include/casty/pp.h')
if ((${#files[@]} == 0)); then
    echo "format.sh: no tracked .c/.h files"
    exit 0
fi

if ((check)); then
    if ! "$CLANG_FORMAT" --dry-run --Werror "${files[@]}"; then
        echo "format.sh: files above are not formatted; run scripts/format.sh" >&2
        exit 1
    fi
    echo "format.sh: all ${#files[@]} files are already formatted"
else
    "$CLANG_FORMAT" -i "${files[@]}"
    echo "format.sh: formatted ${#files[@]} files"
fi
