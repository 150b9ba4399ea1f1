#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what the slurm tests need (Debian/Ubuntu): Slurm's controller,
# node daemon and client tools, and munge. Does nothing when everything is
# installed; non-interactive; uses sudo only when not run as root. The
# tests start their own daemons with their own configuration; the
# packages' system services are not used (and not started here).
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)

. "$(dirname "$0")/apt.sh"
apt_ensure install-slurm-deps "${PACKAGES[@]}"
