#!/bin/bash
# SPDX-License-Identifier: MIT
# Run one libFuzzer target for SECONDS on a scratch copy of its seed corpus
# (the source tree is never written); fails on any crash, leak, sanitizer
# report or input that takes over 10 s, leaving the input in SCRATCH/crashes/.
# usage: run.sh FUZZER SEEDS SCRATCH SECONDS [DICT]
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: run.sh FUZZER SEEDS SCRATCH SECONDS [DICT]" >&2
    exit 2
fi
fuzzer=$1 seeds=$2 scratch=$3 seconds=$4 dict=${5:-}
name=$(basename "$fuzzer")

[ -x "$fuzzer" ] || { echo "$name: not built: $fuzzer" >&2; exit 1; }
nseeds=$(find "$seeds" -maxdepth 1 -type f | wc -l)
[ "$nseeds" -gt 0 ] || { echo "$name: no seeds in $seeds" >&2; exit 1; }

rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/crashes"
cp "$seeds"/* "$scratch/corpus/"

args=(
    -max_total_time="$seconds"
    -timeout=10
    -rss_limit_mb=2048
    -print_final_stats=1
    -artifact_prefix="$scratch/crashes/"
)
if [ -n "$dict" ]; then
    args+=(-dict="$dict")
fi
echo "$name: $nseeds seeds, $seconds s, scratch $scratch"
rc=0
"$fuzzer" "${args[@]}" "$scratch/corpus" 2>"$scratch/fuzz.log" || rc=$?
grep -E '^(stat::|INFO: Seed|#[0-9]+[[:space:]]+DONE)' "$scratch/fuzz.log" || true
if [ "$rc" != 0 ] || [ -n "$(ls -A "$scratch/crashes")" ]; then
    tail -n 60 "$scratch/fuzz.log" >&2
    echo "$name: FAIL (exit $rc); inputs: $(ls "$scratch/crashes")" >&2
    exit 1
fi
echo "$name: no crash in $seconds s ($(ls "$scratch/corpus" | wc -l) inputs in the corpus)"
