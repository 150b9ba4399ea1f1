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

assert_exit 1 "$MPISPOOL_RUN" --topology "pack:two" --dry-run 1
assert_eq "mpispool-run: cannot use topology 'pack:two'" \
    "$(cat "$TEST_TMP/last.err")" "bad topology message"
assert_exit 2 "$MPISPOOL_RUN" --dry-run 1,x
pass
