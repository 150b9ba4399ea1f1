#!/bin/bash
# SPDX-License-Identifier: MIT
# Configure build-fuzz/ with clang and -DMPISPOOL_FUZZ=ON, build, and run
# the libFuzzer targets (ctest label fuzz, 60 s each; a crash fails and
# leaves the input in build-fuzz/tests/fuzz/scratch-NAME/crashes/).
# Extra arguments go to cmake's configure step, e.g.
# -DMPISPOOL_FUZZ_SECONDS=10 for a quick run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

command -v clang >/dev/null ||
    { echo "test-fuzz: clang is not installed (scripts/install-deps.sh)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMPISPOOL_FUZZ=ON \
    -DMPISPOOL_WERROR=ON "$@"
cmake --build build-fuzz -j2
ctest --test-dir build-fuzz --output-on-failure --no-tests=error -L fuzz
