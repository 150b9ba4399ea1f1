#!/bin/bash
# SPDX-License-Identifier: MIT
# A task's environment is the submitter's (captured at submit) plus the
# job's env plus MPISPOOL_*; its default cwd is the submit directory; stdin
# is /dev/null. Checked with one rank (rank 0 executes) and with a worker.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP

round() {
    local np=$1 writer
    mkdir -p "$T/sub$np" "$T/other$np"
    cd "$T/sub$np"

    export FOO=from-submit CAPTURED=at-submit-$np
    local envjob arr defcwd explicit shcwd stdin devnull
    envjob=$(ONLY_AT_SUBMIT=yes submit --env FOO=from-job --env 'EQ=a=b=c' -- \
        sh -c 'printf "%s|%s|%s|%s|%s|%s|%s\n" "$ONLY_AT_SUBMIT" "$CAPTURED" \
            "$FOO" "$EQ" "$MPISPOOL_JOB_ID" "$MPISPOOL_TASK_ID" \
            "${ONLY_IN_COORD-unset}"')
    echo '{"tasks": ["echo \"$MPISPOOL_JOB_ID $MPISPOOL_TASK_ID\"",
                     ["sh", "-c", "echo \"$MPISPOOL_JOB_ID $MPISPOOL_TASK_ID\""],
                     "echo \"$MPISPOOL_JOB_ID $MPISPOOL_TASK_ID\""]}' >"$T/arr.json"
    arr=$(submit "$T/arr.json")
    defcwd=$(submit -- pwd)
    explicit=$(submit --cwd "$T/other$np" -- pwd)
    echo '{"shell": "pwd"}' >"$T/shcwd.json"
    shcwd=$(submit "$T/shcwd.json")
    stdin=$(submit --timeout 10 -- cat)
    devnull=$(submit -- readlink /proc/self/fd/0)

    # The coordinator runs elsewhere, with a different environment and a
    # stdin that never ends: none of it may reach the tasks.
    export CAPTURED=changed-later
    cd "$T"
    mkfifo "$T/stdin$np"
    sleep 50 >"$T/stdin$np" &
    writer=$!
    BG_PIDS+=("$writer")
    ONLY_IN_COORD=leak run_mpi "$np" --spool "$SPOOL" --until-empty \
        <"$T/stdin$np" >>"$T/coordinator.log" 2>&1 &
    COORD_PID=$!
    BG_PIDS+=("$COORD_PID")
    local wait_rc=0
    "$MPISPOOL" --spool "$SPOOL" wait --timeout 40 --quiet "$envjob" "$arr" \
        "$defcwd" "$explicit" "$shcwd" "$stdin" "$devnull" || wait_rc=$?
    wait_coordinator 20
    assert_eq 0 "$COORD_RC" "exit code of mpispool-run (np $np)"
    kill "$writer" 2>/dev/null || true

    assert_eq "yes|at-submit-$np|from-job|a=b=c|$envjob|0|unset" \
        "$(cat "$(task_out "$envjob" 0)")" "task environment (np $np)"
    local i
    for i in 0 1 2; do
        assert_eq "$arr $i" "$(cat "$(task_out "$arr" "$i")")" \
            "MPISPOOL_JOB_ID MPISPOOL_TASK_ID of task $i (np $np)"
    done
    assert_eq "$T/sub$np" "$(cat "$(task_out "$defcwd" 0)")" "default cwd (np $np)"
    assert_eq "$T/other$np" "$(cat "$(task_out "$explicit" 0)")" "--cwd (np $np)"
    assert_eq "$T/sub$np" "$(cat "$(task_out "$shcwd" 0)")" "shell job cwd (np $np)"
    [ ! -s "$(task_out "$stdin" 0)" ] || fail "cat read something from stdin (np $np)"
    assert_json "$(record "$stdin" 0)" .timed_out false
    assert_lt "$(jqf "$(record "$stdin" 0)" .elapsed)" 5 "elapsed of 'cat' (np $np)"
    assert_eq /dev/null "$(cat "$(task_out "$devnull" 0)")" "stdin of a task (np $np)"
    assert_eq 0 "$wait_rc" "exit code of mpispool wait (np $np)"
}

round 1
round 2

pass
