#!/bin/bash
# SPDX-License-Identifier: MIT
# Output limits: beyond --max-output a task's output is discarded and its
# record says "stdout truncated at ..."; a full disk while writing output:
# the task's record says "No space left on device", the coordinator keeps
# running, the job's state on disk stays consistent, and once space is
# freed the next job runs.
# Usage: output_limits.sh [full_disk], one ctest entry each: the output
# limits, or the full disk alone, which is a small tmpfs the test mounts
# (root only; skipped, exit 77, where it cannot mount one).
. "$(dirname "$0")/lib.sh"

PART=${1:-limits}
case $PART in
limits | full_disk) ;;
*) fail "unknown part '$PART' (limits, full_disk)" ;;
esac

# ---------------------------------------------------------------- limits
output_limits() {
    # --max-output: 1 MiB of output, 100K kept; the task still succeeds.
    big=$(submit --name big -- sh -c 'head -c 1048576 /dev/zero; echo small >&2')
    run_until_empty 1 --spool "$SPOOL" --max-output 100K
    assert_state "$big" done
    assert_eq 102400 "$(stat -c %s "$(task_out "$big" 0)")" "bytes kept"
    assert_eq "small" "$(cat "$(task_err "$big" 0)")" "stderr under the limit"
    assert_eq "stdout truncated at 100K (--max-output)" \
        "$(jqf "$(record "$big" 0)" .note)" "the record's note"
    assert_eq 102400 "$(jqf "$(record "$big" 0)" .stdout_bytes)" "stdout_bytes"
    assert_exit 2 "$MPISPOOL_RUN" --spool "$SPOOL" --max-output lots

    # With a worker rank, what is beyond the limit stays on the worker: rank 0
    # receives the 100K it keeps and one byte more (to know it was passed),
    # not the task's 10 MiB.
    flood=$(submit --name flood -- sh -c 'head -c 10485760 /dev/zero')
    run_until_empty 2 --spool "$SPOOL" --max-output 100K \
        --metrics-file "$TEST_TMP/metrics.prom"
    assert_state "$flood" done
    assert_eq 102400 "$(stat -c %s "$(task_out "$flood" 0)")" "flood's bytes kept"
    assert_eq "stdout truncated at 100K (--max-output)" \
        "$(jqf "$(record "$flood" 0)" .note)" "flood's note"
    received=$(awk '$1 == "mpispool_output_received_bytes_total" { print $2 }' \
        "$TEST_TMP/metrics.prom")
    assert_eq 102401 "$received" "output bytes that reached rank 0"

    pass "--max-output truncates with a note"
}

# ---------------------------------------------------------------- full disk
full_disk_setup() {
    [ "$(id -u)" = 0 ] || skip "the full-disk part needs root to mount a tmpfs"
    SMALL=$TEST_TMP/small
    mkdir -p "$SMALL"
    mount -t tmpfs -o size=12m tmpfs "$SMALL" 2>"$TEST_TMP/mount.err" ||
        skip "cannot mount a tmpfs: $(cat "$TEST_TMP/mount.err")"
    on_cleanup "umount -l '$SMALL'"
    SPOOL=$SMALL/spool
    "$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
}

full_disk() {
    local np=$1 flood ok
    flood=$(submit --name flood -- sh -c 'head -c 64M /dev/zero; echo done')
    : >"$TEST_TMP/coordinator.log"
    start_coordinator "$np" --spool "$SPOOL"
    wait_until 60 test -e "$SPOOL/failed/$flood.json" || {
        show_coordinator_log
        fail "np $np: the flooding job did not end in failed/"
    }
    rec=$SPOOL/out/$flood/0.json
    assert_file "$rec" "the flooding task's record"
    assert_contains "No space left on device" "$(jqf "$rec" .error)" \
        "np $np: the record's error"
    R=$SPOOL/out/$flood/report.json
    assert_eq failed "$(jq -r .state "$R")" "np $np: report state"
    assert_eq 1 "$(jq '.tasks | length' "$R")" "np $np: records in the report"
    grep -q 'file system is full' "$TEST_TMP/coordinator.log" ||
        fail "np $np: no word of the full disk in the log"
    # The coordinator is still serving: free the space, submit again.
    kill -0 "$COORD_PID" || fail "np $np: the coordinator died"
    rm -f "$SPOOL/out/$flood/0.out"
    ok=$(submit --name after -- echo fine)
    wait_until 30 test -e "$SPOOL/done/$ok.json" || {
        show_coordinator_log
        fail "np $np: the job after the full disk did not run"
    }
    assert_eq fine "$(cat "$(task_out "$ok" 0)")" "np $np: output after"
    kill_tree "$COORD_PID"
    wait "$COORD_PID" 2>/dev/null || true
    log "np $np: full disk recorded, coordinator kept serving"
}

setup_spool
if [ "$PART" = limits ]; then
    output_limits
else
    full_disk_setup
    full_disk 1
    full_disk 2
    pass "a full disk is recorded, not fatal"
fi
