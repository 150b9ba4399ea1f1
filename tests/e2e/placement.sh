#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool-run --topology SPEC --dry-run K,K...: placement on machines we
# do not have (synthetic and XML topologies), without MPI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_programs
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mpispool-$TEST_NAME.XXXXXX")

dry() { "$MPISPOOL_RUN" --topology "$1" --dry-run "$2"; }

assert_eq "task 0: 8 cpus -> 0-15
task 1: 8 cpus -> 16-31
task 2: 8 cpus -> 32-47
task 3: 8 cpus -> 48-63
task 4: 1 cpus -> does not fit" "$(dry "pack:2 l3:2 core:8 pu:2" 8,8,8,8,1)" \
    "four 8-core tasks, one per L3"
assert_eq "task 0: 2 cpus -> 0-1
task 1: 3 cpus -> 4-6
task 2: 2 cpus -> 2-3
task 3: 1 cpus -> 7" "$(dry "pack:2 core:4 pu:1" 2,3,2,1)" \
    "a 3-core task stays in one package"

XML=$(cd "$(dirname "$0")/../data/topologies" && pwd)/two-gpus.xml
assert_eq "task 0: 1 cpus -> 0
task 1: 1 cpus -> 1
task 2: 1 cpus -> does not fit" "$(dry "$XML" 1,1,1)" "XML topology"

# A node of 32,768 PUs: placing a task took time quadratic in the node's
# size (minutes here). The bound only guards against that; bench/placement.sh
# measures it (well under a second).
rc=0
timeout 30 "$MPISPOOL_RUN" --topology "pack:64 core:256 pu:2" \
    --dry-run 1,256,300 >"$TEST_TMP/large.out" 2>&1 || rc=$?
[ "$rc" != 124 ] || fail "--dry-run on 32,768 PUs did not end within 30 s"
assert_eq 0 "$rc" "exit code of --dry-run on 32,768 PUs"
assert_eq "task 0: 1 cpus -> 0-1
task 1: 256 cpus -> 512-1023
task 2: 300 cpus -> 2-511,1024-1113" "$(cat "$TEST_TMP/large.out")" \
    "placement on 32,768 PUs"
# Not a plain description (a NUMA level): hwloc builds the tree.
assert_eq "task 0: 4 cpus -> 0-3
task 1: 2 cpus -> 4-5
task 2: 4 cpus -> 8-11" "$(dry "pack:2 numa:2 core:4 pu:1" 4,2,4)" \
    "a topology with NUMA nodes"

assert_exit 1 "$MPISPOOL_RUN" --topology "pack:two" --dry-run 1
assert_eq "mpispool-run: cannot use topology 'pack:two'" \
    "$(cat "$TEST_TMP/last.err")" "bad topology message"
assert_exit 2 "$MPISPOOL_RUN" --dry-run 1,x
pass
