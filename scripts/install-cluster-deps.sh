#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what the cluster tests (ctest -L cluster) need on Debian/Ubuntu:
# an sshd per simulated host (openssh-server), ip netns/veth/bridge
# (iproute2) and unshare (util-linux). Does nothing when they are installed;
# non-interactive; uses sudo only when not run as root.
set -euo pipefail

PACKAGES=(openssh-server openssh-client iproute2 util-linux)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-cluster-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-cluster-deps: not root and no sudo; install: ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi

echo "install-cluster-deps: installing ${missing[*]}"
# The tests never use a system sshd (they start their own, one in each
# network namespace they create), whether or not the package starts one.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
