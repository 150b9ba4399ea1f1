#!/bin/bash
# SPDX-License-Identifier: MIT
# Idle desktops (--idle-policy): a rank takes tasks only while its PC is
# idle. Input is faked by touching a file (input=FILE) and the load by a
# file (loadfile=FILE), with idle=2s. While the "owner" is active no task
# starts (the job waits, status shows owner-active); tasks start only after
# a whole idle period; input mid-task with action=suspend stops the task
# (state T) and resumes it, without counting the pause against its
# timeout; with action=requeue the task is interrupted and runs again as
# attempt 2, and the job ends done. While tasks are suspended the ranks
# stay quiet (no spin) and mpispool cancel still ends them. A
# lone rank 0 applies the policy to itself (no start while the owner is
# active; requeue).
. "$(dirname "$0")/lib.sh"

setup_spool
ACT=$TEST_TMP/activity
LOADF=$TEST_TMP/load
echo 0.00 >"$LOADF"
touch -d '1 hour ago' "$ACT"
policy() { # ACTION
    printf 'load=1,idle=2s,input=%s,action=%s,loadfile=%s' "$ACT" "$1" "$LOADF"
}

# The status of the running coordinator (earlier runs' files say stopped).
status_json() {
    jq -s '[.[] | select(.state == "running")][0] // empty' \
        "$SPOOL"/status/*.json 2>/dev/null
}
rank_field() { # RANK JQ-PATH
    status_json | jq -r ".ranks[] | select(.rank == $1) | $2"
}
rank_is() { [ "$(rank_field "$1" .state)" = "$2" ]; }
state_of() { # PID: its process state letter
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
}
state_is() { [ "$(state_of "$1")" = "$2" ]; }
# owner_input SECONDS: the owner types for SECONDS (a touch every 0.3 s).
owner_input() {
    local end=$(($(date +%s%N) + $1 * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        touch "$ACT"
        sleep 0.3
    done
    touch "$ACT"
    LAST_INPUT_NS=$(date +%s%N)
}
# start_typing, then stop_typing SECONDS: the owner types (a touch every
# 0.3 s) in the background from now until SECONDS after stop_typing is
# called, however long the run takes to start in between.
start_typing() {
    touch "$ACT"
    (while :; do
        touch "$ACT"
        sleep 0.3
    done) &
    TYPING_PID=$!
    BG_PIDS+=("$TYPING_PID")
}
stop_typing() {
    sleep "$1"
    kill "$TYPING_PID"
    wait "$TYPING_PID" 2>/dev/null || true
    touch "$ACT"
    LAST_INPUT_NS=$(date +%s%N)
}

# ---- bad specs are usage errors
assert_exit 2 "$MPISPOOL_RUN" --spool "$SPOOL" --idle-policy 'action=kill'
assert_contains "--idle-policy: action takes suspend or requeue, not 'kill'" \
    "$(cat "$TEST_TMP/last.err")" "error for a bad action"
assert_exit 2 "$MPISPOOL_RUN" --spool "$SPOOL" --idle-policy 'keyboard=1'
assert_contains "unknown key 'keyboard'" "$(cat "$TEST_TMP/last.err")" \
    "error for an unknown key"
assert_contains '--idle-policy SPEC' "$("$MPISPOOL_RUN" --help)" "--help"

# ---- action=suspend, mpirun -np 2
start_typing
start_coordinator 2 --spool "$SPOOL" --slots 1 --idle-policy "$(policy suspend)"
wait_until 30 rank_is 1 owner-active || {
    show_coordinator_log
    fail "rank 1 is not owner-active after input: $(status_json)"
}
assert_eq input "$(rank_field 1 .idle_policy.reason)" "owner-active reason"
assert_eq suspend "$(rank_field 1 .idle_policy.action)" "idle_policy action"
assert_contains "idle=2s" "$(status_json | jq -r .idle_policy)" \
    "status idle_policy"

# The task counts 25 ticks of 0.1 s (about 3 s of running) and has a 7 s
# timeout, which the 5 s it is suspended below must not use up.
cat >"$TEST_TMP/suspend.json" <<JOB
{"name": "suspend-me", "timeout": 7,
 "shell": "echo \$\$ > $TEST_TMP/task.pid; i=0; while [ \$i -lt 25 ]; do sleep 0.1; i=\$((i+1)); echo \$i > $TEST_TMP/ticks; done; echo finished"}
JOB
job=$(submit "$TEST_TMP/suspend.json")
# The owner keeps working: nothing starts, the job waits.
stop_typing 3
[ ! -e "$TEST_TMP/task.pid" ] || fail "a task started while the owner was active"
assert_eq queued "$(status_json | jq -r --arg j "$job" \
    '.jobs[] | select(.job == $j) | .state')" "job state while owner-active"
mps status >"$TEST_TMP/status.txt" || fail "mpispool status failed"
grep -Eq '^ *1 +[^ ]+ +owner-active ' "$TEST_TMP/status.txt" || {
    cat "$TEST_TMP/status.txt" >&2
    fail "mpispool status does not show rank 1 owner-active"
}
grep -q 'rank 1 (.*): owner active since .*keyboard, mouse or terminal input' \
    "$TEST_TMP/status.txt" || {
    cat "$TEST_TMP/status.txt" >&2
    fail "mpispool status does not say since when the owner is active"
}
# Idle for the whole 2 s period (hysteresis), then the task starts.
wait_until 15 test -s "$TEST_TMP/task.pid" || {
    show_coordinator_log
    fail "the task did not start once the PC was idle"
}
quiet_ms=$((($(date +%s%N) - LAST_INPUT_NS) / 1000000))
log "task started ${quiet_ms} ms after the last input"
[ "$quiet_ms" -ge 1900 ] ||
    fail "the task started ${quiet_ms} ms after input (idle=2s)"
wait_until 10 rank_is 1 busy || fail "rank 1 not busy: $(status_json)"
pid=$(cat "$TEST_TMP/task.pid")
wait_until 10 test -s "$TEST_TMP/ticks" || fail "the task does not tick"

# The owner comes back mid-task: the task is stopped (state T) and stays
# stopped while input goes on.
start_typing
wait_until 5 state_is "$pid" T || fail "task $pid not stopped: state $(state_of "$pid")"
ticks=$(cat "$TEST_TMP/ticks")
wait_until 5 rank_is 1 owner-active || fail "rank 1 not owner-active mid-task"
mps status >"$TEST_TMP/status.txt"
grep -q 'its tasks are suspended' "$TEST_TMP/status.txt" || {
    cat "$TEST_TMP/status.txt" >&2
    fail "mpispool status does not say the tasks are suspended"
}
# A rank whose tasks are suspended stays quiet (does not spin).
ticks0=$(tree_cpu_ticks "$(mpirun_pid "$COORD_PID")")
sleep 4
ticks1=$(tree_cpu_ticks "$(mpirun_pid "$COORD_PID")")
log "mpirun and its ranks used $((ticks1 - ticks0)) ticks in 4 s of suspension"
# A guard against a spin only: 10% of one core (a few ticks are normal, the
# 1 ms polling of a rank with running tasks costs some 25 on a loaded
# machine); bench/idle_latency.sh measures it.
hz=$(getconf CLK_TCK)
[ $((ticks1 - ticks0)) -le $((4 * hz / 10)) ] ||
    fail "the run used $((ticks1 - ticks0)) clock ticks in 4 s while suspended"
assert_eq T "$(state_of "$pid")" "task state while the owner works"
assert_eq "$ticks" "$(cat "$TEST_TMP/ticks")" "ticks while suspended"
stop_typing 0
# Idle again: it resumes and finishes, within its timeout.
wait_until 10 eval '! state_is "$pid" T' || fail "task $pid not resumed"
quiet_ms=$((($(date +%s%N) - LAST_INPUT_NS) / 1000000))
[ "$quiet_ms" -ge 1900 ] || fail "the task resumed ${quiet_ms} ms after input"
wait_until 20 test -e "$SPOOL/done/$job.json" || {
    show_coordinator_log
    cat "$(record "$job" 0)" >&2 || true
    fail "the suspended job did not end done"
}
rec=$(record "$job" 0)
assert_json "$rec" .attempt 1
assert_json "$rec" .exit_code 0
assert_json "$rec" .timed_out false
assert_eq finished "$(cat "$(task_out "$job" 0)")" "task output"
elapsed=$(jqf "$rec" .elapsed)
log "suspended task: elapsed ${elapsed}s with a 7 s timeout"
assert_lt 7 "$elapsed" "elapsed (includes the suspension)"

# Load at the threshold makes the owner active too, until it stayed low
# for the idle period.
echo 1.50 >"$LOADF"
wait_until 5 rank_is 1 owner-active || fail "load 1.5 does not make rank 1 owner-active"
assert_eq load "$(rank_field 1 .idle_policy.reason)" "owner-active reason"
echo 0.10 >"$LOADF"
wait_until 10 rank_is 1 idle || fail "rank 1 not idle after the load fell"

# mpispool cancel ends a suspended task (SIGTERM, then SIGCONT).
rm -f "$TEST_TMP/task.pid"
job=$(submit -- sh -c "echo \$\$ > $TEST_TMP/task.pid; sleep 60")
wait_until 15 test -s "$TEST_TMP/task.pid" || fail "the second task did not start"
pid=$(cat "$TEST_TMP/task.pid")
touch "$ACT"
wait_until 5 state_is "$pid" T || fail "task $pid not stopped"
t0=$(date +%s%N)
mps cancel "$job" >/dev/null || fail "mpispool cancel failed"
wait_until 30 test -e "$SPOOL/failed/$job.json" || {
    show_coordinator_log
    fail "cancel of a suspended task: the job did not end"
}
ms=$((($(date +%s%N) - t0) / 1000000))
log "a suspended task was cancelled in $ms ms"
assert_json "$(record "$job" 0)" .cancelled true
# Its SIGTERM took effect (with the SIGCONT after it), not the SIGKILL
# that follows half a second later.
assert_json "$(record "$job" 0)" .signal 15 "signal of the cancelled suspended task"
assert_json "$SPOOL/out/$job/report.json" .state cancelled
wait_until 10 rank_is 1 idle || fail "rank 1 not idle again"

kill -USR1 "$(mpirun_pid "$COORD_PID")"
wait_coordinator 30

# ---- action=requeue
LOG=$TEST_TMP/requeue.log
requeue_job() {
    : >"$LOG"
    submit -- sh -c "echo start \$MPISPOOL_ATTEMPT >> $LOG; trap 'echo term \$MPISPOOL_ATTEMPT >> $LOG; exit 3' TERM; i=0; while [ \$i -lt 20 ]; do sleep 0.1; i=\$((i+1)); done; echo end \$MPISPOOL_ATTEMPT >> $LOG"
}
# requeue_run WHAT: attempt 1 starts, the owner comes back, it gets
# SIGTERM, attempt 2 runs once the PC is idle again, the run ends.
requeue_run() {
    wait_until 30 grep -q '^start 1$' "$LOG" || {
        show_coordinator_log
        fail "$1: attempt 1 did not start"
    }
    owner_input 1
    wait_until 5 grep -q '^term 1$' "$LOG" || fail "$1: attempt 1 got no SIGTERM"
    wait_until 20 grep -q '^start 2$' "$LOG" || {
        show_coordinator_log
        fail "$1: attempt 2 did not start"
    }
    quiet_ms=$((($(date +%s%N) - LAST_INPUT_NS) / 1000000))
    [ "$quiet_ms" -ge 1900 ] || fail "$1: attempt 2 started ${quiet_ms} ms after input"
    wait_coordinator 60
    assert_eq 0 "$COORD_RC" "$1: exit status"
}
# check_requeued WHAT JOB: two records, the first interrupted by the owner,
# the second done; the job is done.
check_requeued() {
    local what=$1 job=$2 records first
    assert_state "$job" done
    grep -q '^end 1$' "$LOG" && fail "$what: attempt 1 ran to its end"
    grep -q '^end 2$' "$LOG" || fail "$what: attempt 2 did not end"
    records=$SPOOL/out/$job/records.jsonl
    assert_eq 2 "$(wc -l <"$records")" "$what: records"
    first=$(head -n 1 "$records")
    assert_eq 1 "$(jq -r .attempt <<<"$first")" "$what: first record attempt"
    assert_eq true "$(jq -r .interrupted <<<"$first")" \
        "$what: first record interrupted"
    assert_contains "came back (--idle-policy)" "$(jq -r .error <<<"$first")" \
        "$what: first record error"
    assert_json "$(record "$job" 0)" .attempt 2
    assert_json "$(record "$job" 0)" .exit_code 0
    assert_json "$SPOOL/out/$job/report.json" .state done
    assert_json "$SPOOL/out/$job/report.json" .counts.failed 0
}

# mpirun -np 2
touch -d '1 hour ago' "$ACT"
job=$(requeue_job)
start_coordinator 2 --spool "$SPOOL" --slots 1 --until-empty --kill-grace 1 \
    --idle-policy "$(policy requeue)"
requeue_run "requeue -np 2"
check_requeued "requeue -np 2" "$job"
grep -q 'owner is active (input); taking no tasks, ending the running ones' \
    "$TEST_TMP/coordinator.log" || fail "requeue: no log line"

# A lone rank 0 applies the policy to itself: nothing starts while the
# owner is active, then the same requeue.
start_typing
job=$(requeue_job)
"$MPISPOOL_RUN" --spool "$SPOOL" --slots 1 --until-empty --kill-grace 1 \
    --idle-policy "$(policy requeue)" >>"$TEST_TMP/coordinator.log" 2>&1 &
COORD_PID=$!
BG_PIDS+=("$COORD_PID")
wait_until 10 rank_is 0 owner-active || {
    show_coordinator_log
    fail "lone rank 0 not owner-active: $(status_json)"
}
stop_typing 2
[ ! -s "$LOG" ] || fail "lone rank 0 ran a task while owner-active"
assert_state "$job" cur
requeue_run "requeue, one rank"
check_requeued "requeue, one rank" "$job"

pass
