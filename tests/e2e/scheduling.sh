#!/bin/bash
# SPDX-License-Identifier: MIT
# Scheduling: a wide task is not starved by a stream of narrow ones (jobs
# take turns and cores are reserved for the task whose turn it is), and a
# task wider than every rank is rejected with the reason instead of
# waiting forever.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# 200 one-core tasks first, then one task that needs every core of the
# only worker (mpirun -np 2: rank 0 takes none).
cores=$(hwloc-calc -N core machine:0)
awk 'BEGIN { for (i = 0; i < 200; i++) print "sleep 0.02" }' >narrow.tasks
narrow=$(submit --name narrow --tasks narrow.tasks)
wide=$(submit --name wide --cpus "$cores" -- sh -c 'grep Cpus_allowed_list: /proc/self/status')
toowide=$(submit --name toowide --cpus $((cores + 1)) -- true)
run_until_empty 2

assert_state "$narrow" done
assert_state "$wide" done
# RFC 3339 times of one fixed width compare as strings.
wide_start=$(jqf "$(record "$wide" 0)" .start)
before=$(jqf "$SPOOL/out/$narrow/report.json" \
    '[.tasks[] | select(.start < $w)] | length' --arg w "$wide_start")
assert_json "$SPOOL/out/$narrow/report.json" '.tasks | length' 200
log "narrow tasks started before the wide one: $before of 200"
[ "$before" -le 10 ] ||
    fail "the $cores-core task waited behind $before of 200 narrow tasks"
allowed=$(awk '{ print $2 }' "$(task_out "$wide" 0)")
assert_json "$(record "$wide" 0)" .cores "$allowed"

assert_state "$toowide" rejected
assert_eq "a task needs $((cores + 1)) cpus but the largest rank has $cores" \
    "$(cat "$SPOOL/rejected/$toowide.error")" "rejection reason"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 5 "$toowide"
pass
