#!/bin/bash
# SPDX-License-Identifier: MIT
# "fail_fast" (submit --fail-fast): once a task has failed for good (its
# retries used up), no task or retry of the job starts any more, its
# running tasks on every rank get SIGTERM (SIGKILL after --kill-grace)
# and are recorded as cancelled by fail_fast, and the job ends failed with
# the reason in report.json, `mpispool report` and (while it stops)
# `mpispool status`. A failed attempt that will be retried stops nothing.
# Another job's tasks run on. A coordinator killed while the job stops
# and started again does not run the job's tasks again.
. "$(dirname "$0")/lib.sh"

setup_spool
T=$TEST_TMP

# until_file FILE...: a task line's prefix that waits (at most 60 s) for
# the files another task creates.
until_files() {
    local cond="" f
    for f in "$@"; do cond="$cond [ -e $T/$f ] &&"; done
    printf 'i=0; until %s true; do i=$((i + 1)); [ $i -lt 1200 ] || exit 99; sleep 0.05; done; ' "$cond"
}
status_has() { mps status 2>/dev/null | grep -qF -- "$1"; }
ranks_of() { # JOBID TASK...: the ranks their records name, sorted, unique
    local job=$1 t
    shift
    for t in "$@"; do jq -r .rank "$(record "$job" "$t")"; done | sort -u
}

# ---- several ranks: 2 workers with 3 slots each, two jobs side by side.
# Task 0 of FF fails once every other slot is taken: FF's tasks 1-3 and
# OTHER's two tasks. Tasks 2 ignores SIGTERM. FF's tasks 4-9 would start
# in the slot task 0 frees.
{
    printf '%sexit 3\n' "$(until_files ff.1 ff.2 ff.3 other.0 other.1)"
    echo "touch $T/ff.1; exec sleep 300"
    echo "touch $T/ff.2; trap '' TERM; exec sleep 300"
    echo "touch $T/ff.3; exec sleep 300"
    for i in 4 5 6 7 8 9; do echo "touch $T/ff.$i"; done
} >"$T/ff.tasks"
{
    for i in 0 1; do printf 'touch %s/other.%s; %sexit 0\n' "$T" "$i" "$(until_files go)"; done
} >"$T/other.tasks"
FF=$(submit --fail-fast --name ff --tasks "$T/ff.tasks")
OTHER=$(submit --name other --tasks "$T/other.tasks")
assert_json "$SPOOL/new/$FF.json" .fail_fast true "submit --fail-fast"

start_coordinator 3 --spool "$SPOOL" --until-empty --slots 3 --kill-grace 5
# Task 2 ignores SIGTERM: for --kill-grace the job is stopping, and status
# says why.
wait_until 60 status_has "$FF: stopped by fail_fast: task 0 failed" || {
    mps status >&2 || true
    show_coordinator_log
    fail "status never showed $FF stopping for fail_fast"
}
jq -se --arg j "$FF" '[.[].jobs[] | select(.job == $j)][0] |
    .state == "stopping" and .reason == "stopped by fail_fast: task 0 failed"' \
    "$SPOOL"/status/*.json >/dev/null || fail "status file: FF is not stopping with its reason"
in_failed() { [ -e "$SPOOL/failed/$1.json" ]; }
wait_until 60 in_failed "$FF" || {
    show_coordinator_log
    fail "$FF did not end after its task 0 failed"
}
# OTHER's tasks still run, and finish once told to.
assert_state "$OTHER" cur
assert_no_file "$(record "$OTHER" 0)" "OTHER's task 0 is still running: its record"
touch "$T/go"
wait_coordinator 60
assert_eq 0 "$COORD_RC" "coordinator exit code"

R=$SPOOL/out/$FF/report.json
assert_state "$FF" failed
assert_json "$R" .state failed
assert_json "$R" .reason "stopped by fail_fast: task 0 failed"
assert_eq '{"tasks":10,"succeeded":0,"failed":1,"cancelled":9}' \
    "$(jq -c .counts "$R")" "FF's counts"
assert_json "$(record "$FF" 0)" .exit_code 3
for t in 1 2 3; do
    rec=$(record "$FF" "$t")
    assert_json "$rec" .cancelled true
    assert_json "$rec" .error "cancelled by fail_fast: task 0 failed"
    assert_json "$rec" .exit_code null
done
assert_json "$(record "$FF" 1)" .signal 15 "task 1 ended by SIGTERM:"
assert_json "$(record "$FF" 3)" .signal 15 "task 3 ended by SIGTERM:"
assert_json "$(record "$FF" 2)" .signal 9 "task 2 (ignores SIGTERM) ended by SIGKILL:"
# SIGKILL only after the grace (5 s).
t0_end=$(time_us "$(jqf "$(record "$FF" 0)" .end)")
t2_end=$(time_us "$(jqf "$(record "$FF" 2)" .end)")
[ $((t2_end - t0_end)) -ge 4500000 ] ||
    fail "task 2 was SIGKILLed $(((t2_end - t0_end) / 1000)) ms after the failure, before --kill-grace 5"
# Tasks ran on both workers, the ended ones on a rank other than task 0's.
[ "$(ranks_of "$FF" 0 1 2 3 | wc -l)" = 2 ] || fail "FF's tasks did not run on two ranks"
[ -n "$(comm -13 <(ranks_of "$FF" 0) <(ranks_of "$FF" 1 2 3))" ] ||
    fail "no task was ended on a rank other than the failed task's"
# Tasks 4-9 never started: no side effect, no record.
for t in 4 5 6 7 8 9; do
    assert_no_file "$T/ff.$t" "FF task $t's side effect"
    assert_no_file "$(record "$FF" "$t")" "FF task $t's record"
done
assert_eq 4 "$(jq '.tasks | length' "$R")" "attempts in FF's report"
text=$(mps report "$FF")
assert_contains "reason stopped by fail_fast: task 0 failed" "$text" "mpispool report"
assert_contains "tasks 10: 0 succeeded, 1 failed, 9 cancelled" "$text" "mpispool report"
grep -qF "job $FF: task 0 failed and the job has fail_fast: 3 running tasks ended, 6 never started" \
    "$T/coordinator.log" || fail "the coordinator log does not say why FF stopped"
# The other job is unaffected.
assert_state "$OTHER" done
assert_json "$SPOOL/out/$OTHER/report.json" .counts.succeeded 2
assert_exit 1 mps wait -q "$FF"

# ---- retries, one slot (rank 0 alone runs the tasks, in order).
# R1: task 0 fails, then succeeds on its retry: nothing stops.
cat >"$T/r1.tasks" <<EOF
[ \$MPISPOOL_ATTEMPT -ge 2 ]
touch $T/r1.1
touch $T/r1.2
EOF
printf '{"fail_fast": true, "retries": 1, "retry_backoff": 0.2, "task_file": "%s"}\n' \
    "$T/r1.tasks" >"$T/r1.json"
R1=$(submit "$T/r1.json")
# R2 (first, by priority): tasks 0 and 1 fail twice. Their first failures
# stop nothing (tasks 2 and 3 start after them, before the retries are
# due); task 0's second one stops the job while task 1's retry waits:
# that retry is dropped, task 1 counts as failed, tasks 4-6 never start.
cat >"$T/r2.tasks" <<EOF
echo "0 \$MPISPOOL_ATTEMPT" >> $T/r2.runs; exit 4
echo "1 \$MPISPOOL_ATTEMPT" >> $T/r2.runs; exit 5
echo "2 \$MPISPOOL_ATTEMPT" >> $T/r2.runs
echo "3 \$MPISPOOL_ATTEMPT" >> $T/r2.runs; sleep 4
echo "4 \$MPISPOOL_ATTEMPT" >> $T/r2.runs
echo "5 \$MPISPOOL_ATTEMPT" >> $T/r2.runs
echo "6 \$MPISPOOL_ATTEMPT" >> $T/r2.runs
EOF
printf '{"fail_fast": true, "retries": 1, "retry_backoff": 2, "priority": 1, "task_file": "%s"}\n' \
    "$T/r2.tasks" >"$T/r2.json"
R2=$(submit "$T/r2.json")
: >"$T/coordinator.log"
run_until_empty 1 --spool "$SPOOL" --slots 1
assert_state "$R1" done
assert_eq 4 "$(jq '.tasks | length' "$SPOOL/out/$R1/report.json")" "R1's attempts"
assert_file "$T/r1.2" "R1 task 2's side effect"
assert_state "$R2" failed
R=$SPOOL/out/$R2/report.json
assert_json "$R" .reason "stopped by fail_fast: task 0 failed"
assert_eq "0 1,1 1,2 1,3 1,0 2" "$(paste -sd, "$T/r2.runs")" "R2's attempts, in order"
assert_eq '{"tasks":7,"succeeded":2,"failed":2,"cancelled":3}' \
    "$(jq -c .counts "$R")" "R2's counts"
assert_json "$(record "$R2" 0)" .attempt 2
assert_json "$(record "$R2" 1)" .attempt 1
for t in 4 5 6; do assert_no_file "$(record "$R2" "$t")" "R2 task $t's record"; done

# ---- a coordinator killed while the job stops, and started again.
# Tasks 1-3 ignore SIGTERM, so the job stops for the whole --kill-grace
# (60 s); the coordinator dies meanwhile. Each attempt notes itself in
# runs: none may run again, tasks 4-7 never.
{
    printf 'echo "0 $MPISPOOL_ATTEMPT" >> %s/c.runs; %sexit 7\n' "$T" "$(until_files c.1 c.2 c.3)"
    for i in 1 2 3; do
        echo "echo \"$i \$MPISPOOL_ATTEMPT\" >> $T/c.runs; touch $T/c.$i; trap '' TERM; exec sleep 300"
    done
    for i in 4 5 6 7; do echo "echo \"$i \$MPISPOOL_ATTEMPT\" >> $T/c.runs"; done
} >"$T/c.tasks"
C=$(submit --fail-fast --tasks "$T/c.tasks")
: >"$T/coordinator.log"
start_coordinator 3 --spool "$SPOOL" --slots 2 --kill-grace 60
wait_until 60 status_has "$C: stopped by fail_fast: task 0 failed" || {
    mps status >&2 || true
    show_coordinator_log
    fail "status never showed $C stopping for fail_fast"
}
crash_tree "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
assert_state "$C" cur
# Another job submitted meanwhile runs as usual.
D=$(submit -- touch "$T/d.ran")
start_coordinator 3 --spool "$SPOOL" --until-empty --slots 2
wait_until 60 in_failed "$C" || {
    show_coordinator_log
    fail "the restarted coordinator did not end $C; attempts: $(sort "$T/c.runs" | paste -sd,)"
}
wait_coordinator 60
assert_eq 0 "$COORD_RC" "exit code of the restarted coordinator"
assert_state "$C" failed
assert_json "$SPOOL/out/$C/report.json" .reason "stopped by fail_fast: task 0 failed"
assert_json "$SPOOL/out/$C/report.json" .counts.failed 1
assert_eq "0 1,1 1,2 1,3 1" "$(sort "$T/c.runs" | paste -sd,)" \
    "attempts of C's tasks across the restart"
grep -qF "job $C: stopped by fail_fast before (task 0 failed): none of its tasks runs again" \
    "$T/coordinator.log" || fail "the restarted coordinator does not say why C ends"
assert_state "$D" done
assert_file "$T/d.ran" "the other job's side effect"
pass "fail_fast stops a job's tasks on every rank at the first failure for good, leaves other jobs alone, and holds across a coordinator restart"
