# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# apt_ensure NAME PKG...: install the Debian packages PKG... that are not
# installed yet (NAME labels the messages). Does nothing when all are;
# non-interactive; uses sudo only when not run as root. Sourced by the
# scripts/install-*.sh scripts.
apt_ensure() {
    local name=$1 pkg status
    shift
    local missing=()
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [ "$status" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "$name: all $# packages are installed"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || {
            echo "$name: not root and no sudo; install: ${missing[*]}" >&2
            return 1
        }
        sudo=(sudo)
    fi
    echo "$name: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" </dev/null
}
