#!/bin/sh
# SPDX-License-Identifier: MIT
# House-style checks CI runs: clang-format, and no module includes another
# module's private _int.h header.
set -eu
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files '*.c' '*.h')
# A missing clang-format fails the check: skipping it would pass anything.
if ! command -v clang-format >/dev/null 2>&1; then
    echo "check-style: clang-format is missing (sh scripts/deps.sh)" >&2
    exit 1
fi
for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not clang-formatted: $f" >&2
        status=1
    fi
done
for f in $files; do
    case "$f" in
    src/*)
        mod=$(echo "$f" | cut -d/ -f2)
        bad=$(grep -Eo '#include "[a-z]+/[a-z_]+_int\.h"' "$f" |
            grep -v "\"$mod/" || true)
        if [ -n "$bad" ]; then
            echo "$f includes another module's private header: $bad" >&2
            status=1
        fi
        ;;
    esac
done
[ $status -eq 0 ] && echo "style: ok"
exit $status
