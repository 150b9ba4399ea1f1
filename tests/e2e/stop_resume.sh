#!/bin/bash
# SPDX-License-Identifier: MIT
# Stopping (how Slurm ends an allocation): SIGTERM, SIGINT or SIGUSR1 stop
# dispatching, end the running tasks (SIGTERM, grace, SIGKILL), record them
# as interrupted (not failed), write the status, exit 0 as soon as they
# ended (here at once: they trap TERM; the grace of 60 s is not waited
# out); the next run resumes them with attempt + 1 and never reruns a task
# that ended. How long a stop takes is measured by bench/control_latency.sh.
. "$(dirname "$0")/lib.sh"

setup_spool
LOG=$TEST_TMP/ids.log

# The tasks: each appends its id when it starts and when it ends; one
# that traps TERM says so.
make_job() {
    : >"$LOG"
    for i in $(seq 0 11); do
        echo "echo start $i >> $LOG; trap 'echo term $i >> $LOG; exit 3' TERM; sleep 1.5 & wait; echo end $i >> $LOG"
    done >"$TEST_TMP/stop.tasks"
    submit --tasks "$TEST_TMP/stop.tasks"
}

started() { [ "$(grep -c '^start' "$LOG")" -ge "$1" ]; }

# stop_run HOW NP: start a run, stop it with HOW once two tasks run, check
# the stop; then resume and check the job.
stop_run() {
    local how=$1 np=$2 job t0 t1 rc ms
    job=$(make_job)
    : >"$TEST_TMP/coordinator.log"
    if [ "$np" = 1 ]; then
        "$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 --kill-grace 60 \
            >>"$TEST_TMP/coordinator.log" 2>&1 &
        COORD_PID=$!
        BG_PIDS+=("$COORD_PID")
        target=$COORD_PID
    else
        start_coordinator "$np" --spool "$SPOOL" --slots 1 --kill-grace 60
        wait_until 30 mpirun_pid "$COORD_PID" >/dev/null ||
            fail "no mpirun started"
        target=$(mpirun_pid "$COORD_PID")
    fi
    wait_until 30 started 2 || {
        show_coordinator_log
        fail "$how: tasks did not start"
    }
    t0=$(date +%s%N)
    kill -"$how" "$target"
    # Far below the grace: a stop that waited it out would take 60 s.
    wait_coordinator 30
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    log "$how to $([ "$np" = 1 ] && echo mpispool-run || echo "mpirun -np $np"): exit $COORD_RC after $ms ms"
    if [ "$np" = 1 ] || [ "$how" = USR1 ]; then
        assert_eq 0 "$COORD_RC" "exit status after SIG$how"
    fi
    grep -q 'stopping; running tasks are ended' "$TEST_TMP/coordinator.log" ||
        fail "$how: no stop in the log: $(cat "$TEST_TMP/coordinator.log")"
    # The running tasks got SIGTERM and are recorded as interrupted.
    grep -q '^term' "$LOG" || fail "$how: no task saw SIGTERM"
    interrupted=$(cat "$SPOOL/out/$job/records.jsonl" |
        jq -s '[.[] | select(.interrupted == true)] | length')
    [ "$interrupted" -ge 1 ] || fail "$how: no interrupted record"
    failed=$(cat "$SPOOL/out/$job/records.jsonl" |
        jq -s '[.[] | select(.exit_code != 0 and (.interrupted | not))] |
        length')
    assert_eq 0 "$failed" "$how: records of failures that are not interruptions"
    assert_state "$job" cur
    stopped=$(jq -r 'select(.state == "stopped") | .state' \
        "$SPOOL"/status/*.json | head -n 1)
    assert_eq stopped "$stopped" "$how: the status file's state"

    # The next run resumes: every task ends once, none that ended reruns.
    ended_before=$(grep -c '^end' "$LOG" || true)
    "$MPISPOOL_RUN" --spool "$SPOOL" --slots 4 --until-empty \
        >>"$TEST_TMP/coordinator.log" 2>&1 || fail "the resuming run failed"
    assert_state "$job" done
    for i in $(seq 0 11); do
        n=$(grep -c "^end $i\$" "$LOG" || true)
        assert_eq 1 "$n" "$how: times task $i ended"
    done
    REPORT=$SPOOL/out/$job/report.json
    assert_eq 12 "$(jq '.counts.succeeded' "$REPORT")" "$how: succeeded"
    assert_eq 0 "$(jq '.counts.failed' "$REPORT")" "$how: failed"
    again=$(jq '[.tasks[] | select(.attempt >= 2 and .exit_code == 0)] |
        length' "$REPORT")
    [ "$again" -ge 1 ] || fail "$how: no task resumed with attempt 2"
    log "$how: $ended_before tasks had ended, $again resumed with attempt 2"
}

stop_run TERM 1
stop_run INT 1
stop_run USR1 2
stop_run TERM 2
pass "SIGTERM, SIGINT and SIGUSR1 stop cleanly; the next run resumes"
