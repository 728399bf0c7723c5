#!/bin/sh
# SPDX-License-Identifier: MIT
# clang-tidy (.clang-tidy: bugprone-*, braces on every body) over the C
# files of src/ and apps/, with the compile commands of a clang build
# (make build-clang). Any finding fails (WarningsAsErrors in .clang-tidy).
#   sh scripts/tidy.sh BUILD_DIR
set -eu
cd "$(dirname "$0")/.."
build=${1:?usage: tidy.sh BUILD_DIR (a clang build: make build-clang)}
if ! command -v clang-tidy >/dev/null 2>&1; then
    echo "tidy: clang-tidy is missing (sh scripts/deps.sh)" >&2
    exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
    echo "tidy: $build/compile_commands.json is missing (make build-clang)" >&2
    exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/gl-tidy.XXXXXX")
trap 'rm -f "$log"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
status=0
git ls-files 'src/*.c' 'apps/*.c' |
    xargs -P "$jobs" -n 8 clang-tidy -p "$build" --quiet >"$log" 2>&1 ||
    status=1
# clang-tidy prints "N warnings generated" for suppressed system headers;
# what matters is each finding.
if grep -q -E ': (warning|error): ' "$log"; then
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log" >&2
    status=1
fi
if [ $status -eq 0 ]; then
    echo "tidy: ok ($(git ls-files 'src/*.c' 'apps/*.c' | wc -l) files)"
fi
exit $status
