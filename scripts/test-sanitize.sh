#!/bin/bash
# SPDX-License-Identifier: MIT
# Configure build-asan/ with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DMPISPOOL_SANITIZE=ON; every report is fatal), build, and run the unit,
# mpi and e2e tests under them. Extra arguments go to ctest.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# Leaks are checked, except those of Open MPI and the libraries it loads
# (tests/sanitize/lsan.supp). A suppression matches any frame of a leak's
# stack, and those libraries have no frame pointers, so stacks are unwound
# the slow, complete way; Open MPI keeps its components loaded so that
# their frames have names. abort_on_error: a report ends the program with
# SIGABRT, which no test takes for a task's exit code. mpirun passes all
# this to every rank.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:fast_unwind_on_malloc=0:malloc_context_size=30
# Tests run some ranks as other users (nobody, test users), and the
# checkout may sit in a private directory: the sanitizers read world-
# readable copies of the suppression files.
supp=$(mktemp -d /tmp/mpispool-supp.XXXXXX)
trap 'rm -rf "$supp"' EXIT
cp tests/sanitize/lsan.supp tests/sanitize/ubsan.supp "$supp/"
chmod 0755 "$supp"
chmod 0644 "$supp"/*.supp
export LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp
export OMPI_MCA_mca_base_component_disable_dlclose=1

# Checks named in tests/sanitize/ubsan.supp (known bugs) must be recoverable
# for their suppressions to apply; every other check stays fatal.
recover=$({ grep -oE '^[a-z-]+:' tests/sanitize/ubsan.supp || true; } |
    tr -d : | sort -u | paste -sd, -)
cmake -S . -B build-asan -DMPISPOOL_SANITIZE=ON -DMPISPOOL_WERROR=ON \
    -DCMAKE_C_FLAGS= "-DMPISPOOL_SANITIZE_RECOVER=$recover"
cmake --build build-asan -j2
start=$(date +%s)
rc=0
ctest --test-dir build-asan --output-on-failure --no-tests=error \
    -j "${MPISPOOL_TEST_JOBS:-2}" -L 'unit|mpi|e2e' "$@" || rc=$?
echo "test-sanitize: ctest exited $rc after $(($(date +%s) - start)) s"
exit "$rc"
