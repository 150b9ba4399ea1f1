#!/bin/bash
# SPDX-License-Identifier: MIT
# Configure build/ (warnings are errors), build, and run the tests.
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit` or `-R e2e-cli`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# mpirun refuses to run as root unless told (containers, CI).
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# The whole suite also needs Slurm and munge (label slurm), sshd and
# iproute2 (label cluster) and Chromium (the HTML report test); without
# them those tests say why and are skipped.
if [ $# -eq 0 ] && [ -z "${MPISPOOL_QUICK:-}" ]; then
    bash scripts/install-deps.sh
    bash scripts/install-slurm-deps.sh
    bash scripts/install-cluster-deps.sh
    bash scripts/install-browser-deps.sh
fi

cmake -S . -B build -DMPISPOOL_WERROR=ON
cmake --build build -j2
# Two at a time: most tests wait (for ranks, tasks, timers) more than they
# compute; those that must run alone are RUN_SERIAL in tests/CMakeLists.txt.
ctest --test-dir build --output-on-failure -j "${MPISPOOL_TEST_JOBS:-2}" "$@"

# The whole suite (no arguments): the tests again under the sanitizers,
# then the fuzzers. MPISPOOL_QUICK=1 stops after the plain run.
if [ $# -eq 0 ] && [ -z "${MPISPOOL_QUICK:-}" ]; then
    bash scripts/test-sanitize.sh
    bash scripts/test-fuzz.sh
fi
