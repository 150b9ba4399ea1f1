#!/bin/bash
# SPDX-License-Identifier: MIT
# The committed wire seeds are what gen_wire_seeds writes today; when the
# encoding changes, regenerate them: gen_wire_seeds tests/fuzz/corpus/wire
# usage: check_wire_seeds.sh GENERATOR COMMITTED SCRATCH
set -euo pipefail

gen=$1 committed=$2 scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
"$gen" "$scratch"
n=0
for f in "$scratch"/*; do
    n=$((n + 1))
    if ! cmp -s "$f" "$committed/$(basename "$f")"; then
        echo "fuzz-wire-seeds: $committed/$(basename "$f") differs from what" \
            "the encoder writes; regenerate: $gen $committed" >&2
        exit 1
    fi
done
[ "$n" -ge 10 ] || { echo "fuzz-wire-seeds: only $n seeds generated" >&2; exit 1; }
echo "fuzz-wire-seeds: $n seeds match the encoder"
