#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every libFuzzer harness of a fuzz build (make fuzz, make fuzz-ci;
# docs/fuzzing.md) for FUZZ_SECONDS each, under ASan and UBSan, starting
# from its committed corpus (tests/fuzz/corpus/<name>/) copied to a scratch
# directory, so the repository is never written. A crash, a leak, a
# timeout (FUZZ_TIMEOUT seconds for one input) or running out of memory
# fails the run and prints the reproducer.
#
#   sh scripts/fuzz.sh BUILD_DIR [NAME...]
#
# FUZZ_SECONDS   seconds per harness (default 30)
# FUZZ_SCRATCH   where corpora and crash files go (default: a new
#                directory under $TMPDIR, kept at the end so that new corpus
#                entries can be looked at and committed)
# FUZZ_KEEP      0: remove that default scratch directory when every
#                harness passed (make fuzz-ci); failures always keep it
set -eu
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz.sh BUILD_DIR [NAME...]}
shift
secs=${FUZZ_SECONDS:-30}
tmo=${FUZZ_TIMEOUT:-10}
keep=${FUZZ_KEEP:-1}
[ -n "${FUZZ_SCRATCH:-}" ] && keep=1
scratch=${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/gl-fuzz.XXXXXX")}
mkdir -p "$scratch"

if [ $# -gt 0 ]; then
    names="$*"
else
    names=$(for f in tests/fuzz/fuzz_*.c; do
        basename "$f" .c | sed 's/^fuzz_//'
    done)
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for n in $names; do
    exe="$build/fuzz/fuzz_$n"
    if [ ! -x "$exe" ]; then
        echo "fuzz: $exe is missing (build with make fuzz-build)" >&2
        status=1
        continue
    fi
    work="$scratch/$n"
    mkdir -p "$work/corpus" "$work/crashes"
    if [ -d "tests/fuzz/corpus/$n" ]; then
        cp -R "tests/fuzz/corpus/$n/." "$work/corpus/"
    else
        echo "fuzz: warning: no seed corpus tests/fuzz/corpus/$n" >&2
    fi
    start=$(date +%s)
    if "$exe" -max_total_time="$secs" -timeout="$tmo" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/" \
        "$work/corpus" >"$work/log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
        echo "fuzz: $n ok ($runs inputs in $(($(date +%s) - start)) s," \
            "corpus $(ls "$work/corpus" | wc -l) files)"
    else
        status=1
        echo "fuzz: $n FAILED; log $work/log; the end of it:" >&2
        tail -n 60 "$work/log" >&2
        for a in "$work"/crashes/*; do
            [ -e "$a" ] || continue
            echo "fuzz: reproducer $a (reproduce: $exe $a); as base64:" >&2
            base64 "$a" | head -c 4000 >&2
            echo >&2
        done
    fi
done
if [ $status -eq 0 ] && [ "$keep" = 0 ]; then
    rm -rf "$scratch"
else
    echo "fuzz: scratch directory (new corpus entries): $scratch"
fi
exit $status
