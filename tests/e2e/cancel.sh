#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool cancel JOBID [TASK...]: pending tasks dropped, running ones
# killed (SIGTERM, then SIGKILL after half a second however long
# --kill-grace is), the job ends "cancelled" in failed/ and in its report,
# also when one of its tasks failed; a queued job is cancelled without any
# coordinator; cancelling some tasks leaves the others to run. How fast a
# cancel ends a job is measured by bench/control_latency.sh; here a bound
# only catches a hang.
. "$(dirname "$0")/lib.sh"

setup_spool

# A queued job, no coordinator running: cancelled at once.
q=$(submit -- sleep 100)
out=$(mps cancel "$q")
assert_contains "cancelled job $q" "$out" "cancel output"
assert_state "$q" failed
assert_eq cancelled "$(jq -r .state "$SPOOL/out/$q/report.json")" \
    "report state of the queued job"
assert_eq 1 "$(jq .counts.cancelled "$SPOOL/out/$q/report.json")" \
    "cancelled count of the queued job"
# Ended jobs and unknown ids are errors.
assert_exit 1 mps cancel "$q"
assert_exit 1 mps cancel 20991231-9999
assert_exit 2 mps cancel
assert_exit 2 mps cancel "$q" notanumber
mps cancel --help | grep -q 'Usage: mpispool cancel' || fail "no cancel --help"

cancel_run() {
    local np=$1 job part t0 t1 ms
    # Ten tasks of 30 s on a few slots: some run, the rest wait. The first
    # ignores SIGTERM: only the SIGKILL of the cancel ends it.
    { echo "trap '' TERM; touch $TEST_TMP/ignoring.$np; sleep 30"
      for i in $(seq 2 10); do echo "sleep 30"; done; } \
        >"$TEST_TMP/long.tasks"
    job=$(submit --tasks "$TEST_TMP/long.tasks")
    # A second job from which only tasks 1 and 3 are cancelled; its task 4
    # fails, and the job still ends "cancelled".
    for i in $(seq 0 4); do echo "sleep 0.2; echo task $i"; done |
        sed '$s/$/; exit 7/' >"$TEST_TMP/part.tasks"
    part=$(submit --tasks "$TEST_TMP/part.tasks" --priority -1)
    : >"$TEST_TMP/coordinator.log"
    # A kill grace far beyond the cancel's own half second.
    if [ "$np" = 1 ]; then
        "$MPISPOOL_RUN" --spool "$SPOOL" --slots 3 --until-empty \
            --kill-grace 120 >>"$TEST_TMP/coordinator.log" 2>&1 &
        COORD_PID=$!
        BG_PIDS+=("$COORD_PID")
    else
        start_coordinator "$np" --spool "$SPOOL" --until-empty --kill-grace 120
    fi
    running() {
        # Every coordinator's status file at once: an earlier run's too.
        jq -se --arg j "$job" '[.[].jobs[] | select(.job == $j) |
            .running] | add >= 1' "$SPOOL"/status/*.json >/dev/null 2>&1
    }
    wait_until 30 running && wait_until 30 test -e "$TEST_TMP/ignoring.$np" || {
        show_coordinator_log
        fail "np $np: the long job did not start"
    }
    mps cancel "$part" 1 3 >/dev/null
    t0=$(date +%s%N)
    mps cancel "$job" >/dev/null
    # Within a second on an idle machine; the bound catches a hang or a
    # SIGKILL after --kill-grace (120 s) instead of half a second.
    wait_until 30 test -e "$SPOOL/failed/$job.json" ||
        fail "np $np: the cancelled job did not end"
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    log "np $np: job ended $ms ms after mpispool cancel"
    wait_coordinator 60
    assert_eq 0 "$COORD_RC" "np $np: exit status"
    R=$SPOOL/out/$job/report.json
    assert_eq cancelled "$(jq -r .state "$R")" "np $np: state"
    assert_eq 10 "$(jq '.counts.cancelled' "$R")" "np $np: cancelled count"
    killed=$(jq '[.tasks[] | select(.cancelled == true)] | length' "$R")
    [ "$killed" -ge 1 ] || fail "np $np: no running task was killed"
    # Only the running ones have records; the rest never started.
    assert_eq "$killed" "$(jq '.tasks | length' "$R")" "np $np: records"
    jq -e '[.tasks[] | .elapsed < 30] | all' "$R" >/dev/null ||
        fail "np $np: a killed task ran on: $(jq -c '[.tasks[].elapsed]' "$R")"
    # The TERM-ignoring task ran until the cancel's SIGKILL.
    assert_json "$(record "$job" 0)" .signal 9 "np $np: signal of the TERM-ignoring task"
    assert_json "$(record "$job" 0)" .cancelled true "np $np: cancelled (TERM-ignoring task)"
    # The partly cancelled job: tasks 0, 2 and 4 ran, 1 and 3 did not.
    P=$SPOOL/out/$part/report.json
    assert_state "$part" failed
    assert_eq cancelled "$(jq -r .state "$P")" "np $np: partial job state"
    assert_eq "0:0 2:0 4:7" "$(jq -r '[.tasks[] | "\(.task):\(.exit_code)"] |
        sort | join(" ")' "$P")" "np $np: tasks that ran and their exit codes"
    assert_eq 2 "$(jq .counts.cancelled "$P")" "np $np: partial cancelled"
    assert_eq 1 "$(jq .counts.failed "$P")" "np $np: partial failed"
    ls "$SPOOL/cancel/" | grep -q . && fail "np $np: requests left in cancel/"
    return 0
}

cancel_run 1
cancel_run 3
pass "queued, running and partial cancels"
