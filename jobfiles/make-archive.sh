#!/bin/sh
# SPDX-License-Identifier: MIT
# Build jobfiles/inputs.tar.gz, the input archive of jobfiles/archive.json,
# from jobfiles/inputs/ (its contents, without the inputs/ prefix).
# Reproducible: sorted names, fixed times and owners.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
tar -C "$dir/inputs" --sort=name --mtime=2026-01-01 --owner=0 --group=0 \
    --numeric-owner -cf - . | gzip -n >"$dir/inputs.tar.gz"
echo "built $dir/inputs.tar.gz"
