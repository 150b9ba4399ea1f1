#!/bin/bash
# SPDX-License-Identifier: MIT
# The allocation's end (--end-time EPOCH, or $SLURM_JOB_END_TIME): a task
# whose job's "timeout" would outlive it is not started and its job is left
# for the next allocation (never started: back in new/; started: kept in
# cur/ and resumed by the next run); a job without a timeout, or with one
# that fits, runs. With --until-empty the run then stops and exits 0.
. "$(dirname "$0")/lib.sh"

setup_spool
LOG=$TEST_TMP/ids.log
: >"$LOG"

# tasks_file NAME N CMD: a task file of N tasks "CMD; echo NAME i >> LOG".
tasks_file() {
    local name=$1 n=$2 cmd=$3 i
    for i in $(seq 0 $((n - 1))); do
        echo "$cmd; echo $name $i >> $LOG"
    done >"$TEST_TMP/$name.tasks"
    echo "$TEST_TMP/$name.tasks"
}
ran() { grep -c "^$1 " "$LOG" || true; }

# ---- bad values are usage errors
assert_exit 2 "$MPISPOOL_RUN" --spool "$SPOOL" --end-time soon
assert_contains "--end-time takes seconds since the epoch" \
    "$(cat "$TEST_TMP/last.err")" "--end-time soon"
assert_exit 0 "$MPISPOOL_RUN" --help
assert_contains "--end-time EPOCH" "$(cat "$TEST_TMP/last.out")" "--help"

# ---- 1. a job whose timeout outlives the allocation is never started
long=$(submit --timeout 600 --tasks "$(tasks_file long 3 true)")
short=$(submit --timeout 30 --tasks "$(tasks_file short 4 true)")
free=$(submit --tasks "$(tasks_file free 4 true)")
end=$(($(date +%s) + 120))
t0=$(date +%s%N)
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 --until-empty \
    --end-time "$end" >"$TEST_TMP/run1.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$TEST_TMP/run1.log" >&2
assert_eq 0 "$rc" "exit status of a run that left a job for later"
[ "$ms" -lt 20000 ] || fail "the run took $ms ms to give up"
assert_state "$short" done
assert_state "$free" done
assert_state "$long" new
assert_eq 0 "$(ran long)" "tasks of the 600 s job started"
assert_eq 4 "$(ran short)" "tasks of the 30 s job"
assert_eq 4 "$(ran free)" "tasks of the job without timeout"
assert_no_file "$SPOOL/out/$long/0.json" "record of a task never started"
line=$(grep "job $long:" "$TEST_TMP/run1.log" || true)
assert_match "job $long: its tasks' timeout of 600 s would outlive the allocation \(ends in 1[0-9][0-9] s\): left for the next allocation" \
    "$line" "the held-back line"
assert_eq 1 "$(grep -c "job $long: its tasks' timeout" "$TEST_TMP/run1.log")" \
    "held-back lines for one job"
log "run 1: exit 0 after $ms ms; the 600 s job stayed in new/"

# ---- 2. $SLURM_JOB_END_TIME does the same; --end-time 0 lifts it
rc=0
SLURM_JOB_END_TIME=$(($(date +%s) + 100)) timeout -k 5 60 "$MPISPOOL_RUN" \
    --spool "$SPOOL" --slots 2 --until-empty >"$TEST_TMP/run2.log" 2>&1 ||
    rc=$?
assert_eq 0 "$rc" "exit status with SLURM_JOB_END_TIME"
assert_state "$long" new
grep -q "job $long: its tasks' timeout of 600 s would outlive" \
    "$TEST_TMP/run2.log" || fail "SLURM_JOB_END_TIME was ignored: $(cat "$TEST_TMP/run2.log")"
assert_eq 0 "$(ran long)" "tasks of the 600 s job started"

# ---- 3. a coordinator that serves on (no --until-empty) keeps holding it
# and stops by itself at the end time, as on SIGTERM: the job goes back to
# new/, a running task is interrupted. Under mpirun, two ranks.
forever=$(submit --tasks "$(tasks_file forever 1 'sleep 60')")
t0=$(date +%s%N)
start_coordinator 2 --spool "$SPOOL" --slots 1 --kill-grace 2 \
    --end-time $(($(date +%s) + 5))
wait_until 30 grep -q "job $long: its tasks' timeout of 600 s" \
    "$TEST_TMP/coordinator.log" || {
    show_coordinator_log
    fail "the serving coordinator did not hold the job back"
}
wait_coordinator 40
ms=$((($(date +%s%N) - t0) / 1000000))
show_coordinator_log
assert_eq 0 "$COORD_RC" "exit status of mpirun after the end time"
grep -q "the allocation's end time has come: stopping" "$TEST_TMP/coordinator.log" ||
    fail "no stop at the end time"
[ "$ms" -ge 3500 ] && [ "$ms" -lt 30000 ] ||
    fail "the run ended $ms ms after its start (end time: 5 s)"
assert_state "$long" new
assert_state "$forever" cur
assert_eq 0 "$(ran long)" "tasks of the 600 s job started"
assert_json "$(record "$forever" 0)" .interrupted true
mps cancel "$forever" >/dev/null || fail "cannot cancel $forever"
log "run 3: stopped by itself $ms ms after its start (end time 5 s)"

# ---- 4. a run with enough time runs it
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 --until-empty \
    --end-time $(($(date +%s) + 3600)) >"$TEST_TMP/run4.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of the run with time enough"
assert_state "$long" done
assert_eq 3 "$(ran long)" "tasks of the 600 s job"

# ---- 5. a job that starts, then runs out of time, stays in cur/ and the
# next run (no end time) finishes it: tasks of 3 s, timeout 10 s, one at a
# time, 20 s left: tasks start while 10 s or more are left, so at most four
# start (fewer when the machine is slow to start the run) and the rest
# wait.
part=$(submit --timeout 10 --tasks "$(tasks_file part 6 'sleep 3')")
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 1 --until-empty \
    --end-time $(($(date +%s) + 20)) >"$TEST_TMP/run5.log" 2>&1 || rc=$?
cat "$TEST_TMP/run5.log" >&2
assert_eq 0 "$rc" "exit status of the run that ran out of time"
n=$(ran part)
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "$n of 6 tasks ran in 20 s with a 10 s timeout (want 1 to 4)"
assert_state "$part" cur
grep -q "job $part: its tasks' timeout of 10 s would outlive the allocation (ends in [0-9]* s): left for the next allocation" \
    "$TEST_TMP/run5.log" || fail "no held-back line for $part"
grep -q "job $part stays in cur/ with $n of 6 tasks ended" "$TEST_TMP/run5.log" ||
    fail "the job was not kept in cur/"
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 --until-empty \
    >"$TEST_TMP/run6.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of the resuming run"
assert_state "$part" done
for i in $(seq 0 5); do
    assert_eq 1 "$(grep -c "^part $i\$" "$LOG")" "times task $i of $part ran"
done
assert_eq 6 "$(jq '.counts.succeeded' "$SPOOL/out/$part/report.json")" \
    "succeeded tasks of $part"
pass "tasks that would outlive the allocation are left for the next one ($n of 6 ran before the end)"
