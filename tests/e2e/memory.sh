#!/bin/bash
# SPDX-License-Identifier: MIT
# "memory": a task over its limit is killed and its record says so; a task
# within it runs; a task needing more memory than any rank has is rejected
# with the reason.
# Usage: memory.sh [rlimit], one ctest entry each:
#   (none)  the limit is a memory cgroup, where the rank may create them
#           (as root here); skipped (exit 77) where it may not;
#   rlimit  no cgroups (MPISPOOL_NO_CGROUPS=1): the limit is RLIMIT_AS, and
#           the task over it fails its own way.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODE=${1:-cgroup}
# A memory cgroup we may create children in, found the way mpispool-run
# does (v1 memory controller, else the unified hierarchy).
cgroup_usable() {
    local v1 v2
    v1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
    v2=$(awk -F: '$1 == "0" && $2 == "" { print $3 }' /proc/self/cgroup)
    { [ -n "$v1" ] && [ -w "/sys/fs/cgroup/memory$v1" ]; } ||
        { [ -n "$v2" ] && [ -e /sys/fs/cgroup/cgroup.controllers ] &&
            [ -w "/sys/fs/cgroup$v2" ]; }
}
case $MODE in
cgroup) cgroup_usable || skip "no memory cgroup this user may create groups in" ;;
rlimit) export MPISPOOL_NO_CGROUPS=1 ;;
*) fail "unknown mode '$MODE' (rlimit)" ;;
esac
setup_spool
T=$TEST_TMP
cd "$T"

alloc() { # MB: a command that holds MB megabytes
    printf '["perl", "-e", "$x = \\"a\\" x (%d*1024*1024); print length($x), \\"\\\\n\\""]' "$1"
}
echo "{\"memory\": \"64M\", \"command\": $(alloc 300)}" >over.json
echo "{\"memory\": \"256M\", \"command\": $(alloc 10)}" >within.json
echo '{"memory": "100T", "command": ["true"]}' >huge.json
cgroups_before=$(stale_task_cgroups)
over=$(submit over.json)
within=$(submit within.json)
huge=$(submit huge.json)
run_until_empty 2

assert_state "$within" done
assert_eq $((10 * 1024 * 1024)) "$(cat "$(task_out "$within" 0)")" "output within the limit"

assert_state "$over" failed
if [ "$MODE" = cgroup ]; then
    assert_json "$(record "$over" 0)" .error "memory limit of 64M exceeded"
    assert_json "$(record "$over" 0)" .signal 9
    left=$(new_stale_task_cgroups "$cgroups_before" | head -3)
    [ -z "$left" ] || fail "task cgroups left behind: $left"
else
    assert_ne 0 "$(jqf "$(record "$over" 0)" .exit_code)" "exit code over the limit"
    assert_json "$(record "$over" 0)" .error null "error over RLIMIT_AS (the task's own failure)"
fi

assert_state "$huge" rejected
assert_match "^a task needs 100T of memory but the largest rank has [0-9.]+[KMGT]$" \
    "$(cat "$SPOOL/rejected/$huge.error")" "rejection reason"
pass
