#!/bin/bash
# SPDX-License-Identifier: MIT
# Install what the HTML report test needs (Debian/Ubuntu): headless
# Chromium, which renders `mpispool report --html` pages
# (tests/e2e/report_html.sh). Does nothing when it is installed;
# non-interactive; uses sudo only when not run as root.
set -euo pipefail

PACKAGES=(chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-browser-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-browser-deps: not root and no sudo; install: ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi

echo "install-browser-deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
