#!/bin/bash
# SPDX-License-Identifier: MIT
# "timeout": SIGTERM first, SIGKILL only after --kill-grace. A task that
# traps TERM gets it, says so and exits on its own (timed_out, its own exit
# code); a task that ignores TERM still ends once the grace is over, and
# not after the default 10 s. With one rank and with two.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

for np in 1 2; do
    log "mpirun -np $np, --kill-grace 2"
    # The trap runs when `wait` is interrupted; sleep 30 got TERM too (the
    # whole process group does).
    traps=$(submit --timeout 1 -- sh -c \
        'trap "echo got TERM; sleep 0.3; exit 3" TERM; sleep 30 & wait')
    # An ignored signal stays ignored across exec: sleep ignores TERM too.
    ignores=$(submit --timeout 1 -- sh -c 'trap "" TERM; echo ignoring; sleep 30')
    run_until_empty "$np" --spool "$SPOOL" --kill-grace 2

    rec=$(record "$traps" 0)
    assert_state "$traps" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the TERM-trapping task"
    assert_json "$rec" .exit_code 3 "np $np: exit code of the TERM-trapping task"
    assert_json "$rec" .signal null "np $np: signal of the TERM-trapping task"
    assert_contains "got TERM" "$(cat "$(task_out "$traps" 0)")" \
        "np $np: stdout of the TERM-trapping task"
    elapsed=$(jqf "$rec" .elapsed)
    assert_lt 0.99 "$elapsed" "np $np: elapsed of the TERM-trapping task (timeout 1)"
    assert_lt "$elapsed" 2.9 "np $np: elapsed of the TERM-trapping task (no SIGKILL)"

    rec=$(record "$ignores" 0)
    assert_state "$ignores" failed
    assert_json "$rec" .timed_out true "np $np: timed_out of the TERM-ignoring task"
    assert_json "$rec" .exit_code null "np $np: exit code of the TERM-ignoring task"
    assert_json "$rec" .signal 9 "np $np: signal of the TERM-ignoring task"
    assert_eq ignoring "$(cat "$(task_out "$ignores" 0)")" \
        "np $np: stdout of the TERM-ignoring task"
    elapsed=$(jqf "$rec" .elapsed)
    # Killed at timeout + grace = 3 s: not before, and not 10 s later.
    assert_lt 2.95 "$elapsed" "np $np: elapsed of the TERM-ignoring task (timeout 1 + grace 2)"
    assert_lt "$elapsed" 8 "np $np: elapsed of the TERM-ignoring task (grace 2, not 10)"
done
pass
