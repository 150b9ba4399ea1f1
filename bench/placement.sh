#!/bin/bash
# SPDX-License-Identifier: MIT
# Time to place tasks on large synthetic nodes without MPI:
# `mpispool-run --topology SPEC --dry-run 1,256,300` (start-up, topology,
# three placements), best of 3 runs, for plain descriptions of 2,048 to
# 131,072 PUs and, for comparison, a description with a NUMA level, which
# hwloc itself builds (time superlinear in the PUs). The target for
# "pack:64 core:256 pu:2" is under a second. Prints results; asserts
# nothing.
# Usage: bench/placement.sh [RUNS]   (default 3)
set -euo pipefail

RUNS=${1:-3}
. "$(dirname "$0")/lib.sh" placement

# best SPEC: the fastest of RUNS runs, in milliseconds.
best() {
    local best="" t0 t1 ms i
    for i in $(seq 1 "$RUNS"); do
        t0=$(now)
        "$MPISPOOL_RUN" --topology "$1" --dry-run 1,256,300 >/dev/null
        t1=$(now)
        ms=$(((t1 - t0) / 1000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

printf '%-34s %8s %10s\n' topology PUs "best ms"
for spec in "pack:16 core:64 pu:2" "pack:64 core:64 pu:2" \
    "pack:64 core:256 pu:2" "pack:64 l3:8 core:128 pu:2" \
    "pack:256 core:256 pu:2" "pack:16 numa:1 core:64 pu:2"; do
    pus=1
    for level in $spec; do pus=$((pus * ${level#*:})); done
    printf '%-34s %8d %10d\n' "$spec" "$pus" "$(best "$spec")"
done
