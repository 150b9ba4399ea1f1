#!/bin/bash
# SPDX-License-Identifier: MIT
# Configure build-fuzz/ with clang and -DMPISPOOL_FUZZ=ON, build, and run
# the libFuzzer targets (ctest label fuzz; a crash fails and leaves the
# input in build-fuzz/tests/fuzz/scratch-NAME/crashes/). Each fuzzes for
# MPISPOOL_FUZZ_SECONDS (60). Extra arguments go to ctest, e.g.
# `MPISPOOL_FUZZ_SECONDS=10 scripts/test-fuzz.sh -R fuzz-wire`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

command -v clang >/dev/null ||
    { echo "test-fuzz: clang is not installed (scripts/install-deps.sh)" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMPISPOOL_FUZZ=ON \
    -DMPISPOOL_WERROR=ON -DMPISPOOL_FUZZ_SECONDS="${MPISPOOL_FUZZ_SECONDS:-60}"
cmake --build build-fuzz -j2
rm -rf build-fuzz/tests/fuzz/scratch-*
rc=0
ctest --test-dir build-fuzz --output-on-failure --no-tests=error -L fuzz "$@" ||
    rc=$?
# What each fuzzer did: executions, coverage, speed.
for log in build-fuzz/tests/fuzz/scratch-*/fuzz.log; do
    [ -f "$log" ] || continue
    name=$(basename "$(dirname "$log")")
    printf 'test-fuzz: %s: %s\n' "${name#scratch-}" \
        "$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tr -s ' \t' ' ' ||
            echo 'no summary')"
done
exit "$rc"
