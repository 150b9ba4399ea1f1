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
    clang-format jq parallel procps python3
    # tests/e2e/manpages.sh: man -l and groff render the man pages.
    man-db groff-base
    # scripts/test-fuzz.sh: clang and its runtimes (libFuzzer, sanitizers),
    # which clang only recommends.
    clang libclang-rt-14-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null ||
        { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
