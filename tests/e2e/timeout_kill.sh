#!/bin/bash
# SPDX-License-Identifier: MIT
# "timeout": SIGTERM to the task's whole process group first, SIGKILL only
# after --kill-grace. A task that traps TERM gets it, says so and exits on
# its own (timed_out, its own exit code; one that exits 0 failed all the
# same, its error says why); a wrapper that traps TERM and
# waits for its child sees the child get TERM too and finishes; a task
# that ignores TERM still ends once the grace is over: the task notes when
# TERM came, and its record's end is the grace later (not twice it, not
# the default 10 s). With one rank and with two.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# Seconds between SIGTERM and SIGKILL. Several seconds, so that a loaded
# machine's delays stay well below the grace itself.
GRACE=5

for np in 1 2; do
    log "mpirun -np $np, --kill-grace $GRACE"
    # The trap runs when `wait` is interrupted; sleep 30 got TERM too (the
    # whole process group does).
    traps=$(submit --timeout 1 -- sh -c \
        'trap "echo got TERM; sleep 0.3; exit 3" TERM; sleep 30 & wait')
    # A wrapper that traps TERM runs its trap only once its foreground child
    # ends: the child must get TERM itself (it is in the task's process
    # group, not the task's main process), or both wait for SIGKILL.
    wrapper=$(submit --timeout 1 -- sh -c '
        trap "echo wrapper got TERM" TERM
        sh -c "trap \"echo child got TERM; exit 5\" TERM; sleep 30 & wait"
        echo "child exited $?"
        exit 4')
    # Exits 0 on TERM: cut short all the same, so it failed.
    zero=$(submit --timeout 1 -- sh -c 'trap "exit 0" TERM; sleep 30 & wait')
    # An ignored signal stays ignored across exec: sleep ignores TERM too.
    ignores=$(submit --timeout 1 -- sh -c 'trap "" TERM; echo ignoring; sleep 30')
    # Notes when TERM came (wall clock, as the record's end), then carries on.
    notes=$(submit --timeout 1 --env "TERM_AT=$T/term.$np" -- sh -c '
        trap "date +%s%N >\"\$TERM_AT\"" TERM
        echo watching
        while :; do sleep 0.1; done')
    run_until_empty "$np" --spool "$SPOOL" --kill-grace "$GRACE"

    rec=$(record "$traps" 0)
    assert_state "$traps" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the TERM-trapping task"
    assert_json "$rec" .exit_code 3 "np $np: exit code of the TERM-trapping task"
    assert_json "$rec" .signal null "np $np: signal of the TERM-trapping task"
    assert_contains "got TERM" "$(cat "$(task_out "$traps" 0)")" \
        "np $np: stdout of the TERM-trapping task"
    assert_lt 0.99 "$(jqf "$rec" .elapsed)" \
        "np $np: elapsed of the TERM-trapping task (timeout 1)"

    rec=$(record "$wrapper" 0)
    assert_state "$wrapper" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the wrapper"
    assert_json "$rec" .signal null "np $np: signal of the wrapper (not SIGKILLed)"
    assert_json "$rec" .exit_code 4 "np $np: exit code of the wrapper"
    assert_eq "child got TERM
wrapper got TERM
child exited 5" "$(cat "$(task_out "$wrapper" 0)")" "np $np: stdout of the wrapper"

    rec=$(record "$zero" 0)
    assert_state "$zero" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the task exiting 0"
    assert_json "$rec" .exit_code 0 "np $np: exit code of the task exiting 0"
    assert_json "$rec" .error "timed out after 1 s (exited 0 on SIGTERM)" \
        "np $np: error of the task exiting 0 on its timeout"

    rec=$(record "$ignores" 0)
    assert_state "$ignores" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the TERM-ignoring task"
    assert_json "$rec" .exit_code null "np $np: exit code of the TERM-ignoring task"
    assert_json "$rec" .signal 9 "np $np: signal of the TERM-ignoring task"
    assert_eq ignoring "$(cat "$(task_out "$ignores" 0)")" \
        "np $np: stdout of the TERM-ignoring task"
    # Killed at timeout + grace: not before.
    assert_lt "$(awk -v g="$GRACE" 'BEGIN { print g + 0.95 }')" \
        "$(jqf "$rec" .elapsed)" "np $np: elapsed of the TERM-ignoring task (timeout 1 + grace $GRACE)"

    rec=$(record "$notes" 0)
    assert_json "$rec" .timed_out true "np $np: timed_out of the TERM-noting task"
    assert_json "$rec" .signal 9 "np $np: signal of the TERM-noting task"
    [ -s "$T/term.$np" ] || fail "np $np: the TERM-noting task never got TERM"
    term_us=$(($(cat "$T/term.$np") / 1000))
    grace_ms=$((($(time_us "$(jqf "$rec" .end)") - term_us) / 1000))
    log "np $np: SIGKILL came $grace_ms ms after the SIGTERM the task saw"
    # The task notes TERM a little after it was sent; the SIGKILL comes the
    # grace after the sending. Twice the grace is far beyond any delay.
    [ "$grace_ms" -ge $((GRACE * 900)) ] ||
        fail "np $np: SIGKILL $grace_ms ms after SIGTERM (grace ${GRACE} s)"
    [ "$grace_ms" -lt $((GRACE * 1800)) ] ||
        fail "np $np: SIGKILL $grace_ms ms after SIGTERM (grace ${GRACE} s, not twice it)"
done
pass
