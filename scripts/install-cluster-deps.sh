#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what the cluster tests (ctest -L cluster) need on Debian/Ubuntu:
# an sshd per simulated host (openssh-server), ip netns/veth/bridge
# (iproute2) and unshare (util-linux). Does nothing when they are installed;
# non-interactive; uses sudo only when not run as root.
set -euo pipefail

PACKAGES=(openssh-server openssh-client iproute2 util-linux)

. "$(dirname "$0")/apt.sh"
apt_ensure install-cluster-deps "${PACKAGES[@]}"
