#!/bin/bash
# SPDX-License-Identifier: MIT
# CPU binding under mpirun -np NP on this one PC: each task's own
# Cpus_allowed_list (read by the task from /proc/self/status) equals the
# record's cores and MPISPOOL_CPUS, OMP_NUM_THREADS is its cpus, and tasks
# that run at the same time never share a core, on any rank (ranks split the
# node's cores; surplus ranks take no tasks). With more than two ranks,
# tasks run on more than one of them. Needs two cores (skipped, exit 77,
# with fewer).
# Usage: binding.sh NP
set -euo pipefail
NP=${1:?usage: binding.sh NP}
. "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=binding-np$NP
cores=$(hwloc-calc -N core machine:0)
[ "$cores" -ge 2 ] || skip "needs at least two cores, this machine has $cores"
setup_spool
T=$TEST_TMP
cd "$T"

probe='sleep 0.2; grep Cpus_allowed_list: /proc/self/status; echo "$MPISPOOL_CPUS $OMP_NUM_THREADS"'
for i in $(seq 1 24); do echo "$probe"; done >probe.tasks
one=$(submit --name one-core --tasks probe.tasks)
two=""
if [ "$NP" = 2 ]; then
    head -n 4 probe.tasks >probe4.tasks
    two=$(submit --name two-cores --cpus 2 --tasks probe4.tasks)
fi
run_until_empty "$NP"

# check JOB CPUS: every task saw its record's cores.
check() {
    local job=$1 cpus=$2 i n allowed rest
    n=$(jqf "$SPOOL/out/$job/report.json" '.counts.tasks')
    for i in $(seq 0 $((n - 1))); do
        { read -r _ allowed; read -r rest; } <"$(task_out "$job" "$i")"
        assert_json "$(record "$job" "$i")" .cores "$allowed" "task $i cores"
        assert_eq "$allowed $cpus" "$rest" "task $i MPISPOOL_CPUS and OMP_NUM_THREADS"
    done
}
check "$one" 1

# Expand "0-2,5" into numbers and find overlapping tasks sharing one.
shared=$(jq -s '
    def cpus: split(",") | map(if test("-")
        then (split("-") | map(tonumber)) as [$a, $b] | range($a; $b + 1)
        else tonumber end);
    [.[] | .tasks[] | {s: .start, e: .end, c: (.cores | cpus), r: .rank}]
    | . as $t
    | [range(0; length) as $i | range($i + 1; length) as $j
       | select($t[$i].s < $t[$j].e and $t[$j].s < $t[$i].e)
       | select(($t[$i].c - ($t[$i].c - $t[$j].c)) | length > 0)
       | "\($t[$i].r):\($t[$i].c) and \($t[$j].r):\($t[$j].c)"]' \
    "$SPOOL/out/$one/report.json" ${two:+"$SPOOL/out/$two/report.json"})
assert_eq "[]" "$(jq -c . <<<"$shared")" "concurrent tasks sharing a core"

ranks=$(jq -r '[.tasks[].rank] | unique | join(" ")' "$SPOOL/out/$one/report.json")
log "ranks that ran tasks: $ranks"
if [ "$NP" -gt 2 ]; then
    [ "$(wc -w <<<"$ranks")" -ge 2 ] || fail "only rank $ranks ran tasks"
fi
if [ -n "$two" ]; then
    check "$two" 2
    # Both cores of the only worker: all their PUs.
    want=$(hwloc-calc -N pu core:0-1)
    got=$(jqf "$(record "$two" 0)" '.cores | split(",") | map(if test("-")
        then (split("-") | map(tonumber)) as [$a, $b] | ($b - $a + 1)
        else 1 end) | add')
    assert_eq "$want" "$got" "PUs of a 2-core task"
fi
pass
