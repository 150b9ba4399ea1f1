#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what mpispool needs to build, test and benchmark (Debian/Ubuntu).
# Does nothing when everything is installed; non-interactive; uses sudo
# only when not run as root.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libopenmpi-dev openmpi-bin
    libhwloc-dev hwloc
    libarchive-dev libjansson-dev libcmocka-dev
    clang-format jq procps python3
    # tests/e2e/joblog*.sh: GNU parallel reads `mpispool log` (under CI
    # its absence fails them; elsewhere they are skipped).
    parallel
    # tests/e2e/manpages.sh: man -l and groff render the man pages.
    man-db groff-base
    # scripts/test-fuzz.sh: clang and its runtimes (libFuzzer, sanitizers),
    # which clang only recommends.
    clang libclang-rt-14-dev
)

. "$(dirname "$0")/apt.sh"
apt_ensure install-deps "${PACKAGES[@]}"
