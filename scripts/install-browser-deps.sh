#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what the HTML report test needs (Debian/Ubuntu): headless
# Chromium, which renders `mpispool report --html` pages
# (tests/e2e/report_html.sh). Does nothing when it is installed;
# non-interactive; uses sudo only when not run as root.
set -euo pipefail

PACKAGES=(chromium)

. "$(dirname "$0")/apt.sh"
apt_ensure install-browser-deps "${PACKAGES[@]}"
