#!/bin/bash
# SPDX-License-Identifier: MIT
# "gpus": tasks get GPUs that hwloc finds, through CUDA_VISIBLE_DEVICES,
# never two at once on one GPU; a job needing more GPUs than any rank has
# is rejected with the reason. This machine has no GPU, so the assignment
# runs on an hwloc XML topology with two CUDA devices.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"
XML=$(cd "$(dirname "$0")/../data/topologies" && pwd)/two-gpus.xml

for i in 1 2 3 4 5 6; do
    echo 'sleep 0.3; echo "$CUDA_VISIBLE_DEVICES"'
done >gpu.tasks
echo '{"gpus": 1, "task_file": "gpu.tasks"}' >one.json
one=$(submit one.json)
echo '{"gpus": 2, "command": ["sh", "-c", "echo $CUDA_VISIBLE_DEVICES"]}' >two.json
two=$(submit two.json)
echo '{"gpus": 3, "command": ["true"]}' >three.json
three=$(submit three.json)

rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
    --topology "$XML" >"$T/run.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/run.log" >&2; fail "mpispool-run exited $rc"; }

assert_state "$one" done
for i in 0 1 2 3 4 5; do
    got=$(cat "$(task_out "$one" "$i")")
    assert_match '^[01]$' "$got" "CUDA_VISIBLE_DEVICES of task $i"
    assert_json "$(record "$one" "$i")" .gpus "$got"
done
# Tasks that overlap in time hold different GPUs.
overlaps=$(jq -r '[.tasks[] | {s: .start, e: .end, g: .gpus}] as $t
    | [range(0; $t | length) as $i | range($i + 1; $t | length) as $j
       | select($t[$i].s < $t[$j].e and $t[$j].s < $t[$i].e
                and $t[$i].g == $t[$j].g)] | length' \
    "$SPOOL/out/$one/report.json")
assert_eq 0 "$overlaps" "overlapping tasks sharing a GPU"
assert_eq "0,1" "$(cat "$(task_out "$two" 0)")" "CUDA_VISIBLE_DEVICES of a 2-GPU task"
assert_state "$three" rejected
assert_eq "a task needs 3 GPUs but the largest rank has 2" \
    "$(cat "$SPOOL/rejected/$three.error")" "rejection reason"

# This machine's own topology has no GPU: rejected, not queued forever.
echo '{"gpus": 1, "command": ["true"]}' >none.json
none=$(submit none.json)
run_until_empty 2
assert_state "$none" rejected
assert_eq "a task needs 1 GPU but no rank has a GPU" \
    "$(cat "$SPOOL/rejected/$none.error")" "rejection reason without GPUs"
pass
