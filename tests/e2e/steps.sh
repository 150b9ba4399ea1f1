#!/bin/bash
# SPDX-License-Identifier: MIT
# "steps": commands run one after another by one task in one work
# directory; the first failing step ends the task (unless
# "continue_on_error"), and the record lists each step that ran. With one
# rank (rank 0 runs the task) and with a worker rank.
. "$(dirname "$0")/lib.sh"

check_run() { # NP
    local np=$1
    setup_spool
    # Step 1 writes a file that step 2 reads; step 2 then fails; step 3
    # must not run.
    cat >"$TEST_TMP/stop.json" <<'JSON'
{"name": "stop", "steps": ["echo hello > shared.txt; echo one",
                           ["sh", "-c", "cat shared.txt; echo oops >&2; exit 3"],
                           "echo three; touch ran3"]}
JSON
    cat >"$TEST_TMP/all.json" <<'JSON'
{"name": "all", "continue_on_error": true,
 "steps": ["echo a > f", "cat f; exit 4", ["sh", "-c", "echo three; cat f"]]}
JSON
    cat >"$TEST_TMP/ok.json" <<'JSON'
{"name": "ok", "steps": [["true"], "test -z \"$(ls)\" || ls; echo x > y", "cat y"]}
JSON
    local stop all ok
    stop=$(submit "$TEST_TMP/stop.json")
    all=$(submit "$TEST_TMP/all.json")
    ok=$(submit "$TEST_TMP/ok.json")
    run_until_empty "$np" --spool "$SPOOL"

    local R
    assert_state "$stop" failed
    R=$(record "$stop" 0)
    assert_eq 2 "$(jq '.steps | length' "$R")" "np=$np: steps run of 'stop'"
    assert_eq "0 3" "$(jq -r '[.steps[].exit_code] | map(tostring) | join(" ")' "$R")" \
        "np=$np: step exit codes of 'stop'"
    assert_eq 3 "$(jq .exit_code "$R")" "np=$np: the task's exit code is the failed step's"
    assert_eq "one
hello" "$(cat "$(task_out "$stop" 0)")" "np=$np: stdout of 'stop' (steps in order)"
    assert_eq "oops" "$(cat "$(task_err "$stop" 0)")" "np=$np: stderr of 'stop'"
    assert_eq "4 6" "$(jq -r '[.steps[].stdout_bytes] | map(tostring) | join(" ")' "$R")" \
        "np=$np: each step's stdout size"
    assert_eq "0 5" "$(jq -r '[.steps[].stderr_bytes] | map(tostring) | join(" ")' "$R")" \
        "np=$np: each step's stderr size"
    local s0 e0 s1 e1
    s0=$(time_us "$(jq -r '.steps[0].start' "$R")")
    e0=$(time_us "$(jq -r '.steps[0].end' "$R")")
    s1=$(time_us "$(jq -r '.steps[1].start' "$R")")
    e1=$(time_us "$(jq -r '.steps[1].end' "$R")")
    if ! { [ "$s0" -le "$e0" ] && [ "$e0" -le "$s1" ] && [ "$s1" -le "$e1" ]; }; then
        fail "np=$np: step times out of order: $s0 $e0 $s1 $e1"
    fi
    assert_eq null "$(jq .steps[0].signal "$R")" "np=$np: no signal"

    assert_state "$all" failed
    R=$(record "$all" 0)
    assert_eq "0 4 0" "$(jq -r '[.steps[].exit_code] | map(tostring) | join(" ")' "$R")" \
        "np=$np: continue_on_error runs every step"
    assert_eq 4 "$(jq .exit_code "$R")" "np=$np: continue_on_error: exit code of the failed step"
    assert_eq "a
three
a" "$(cat "$(task_out "$all" 0)")" "np=$np: output of 'all'"

    assert_state "$ok" done
    R=$(record "$ok" 0)
    assert_eq "0 0 0" "$(jq -r '[.steps[].exit_code] | map(tostring) | join(" ")' "$R")" \
        "np=$np: steps of 'ok'"
    assert_eq "x" "$(cat "$(task_out "$ok" 0)")" "np=$np: 'ok' ran in an empty private dir"
    # A job without steps has no steps key.
    rm -rf "$TEST_TMP"
}

check_run 1
check_run 2

# The archive is extracted once, and the steps work on it in turn; the
# timeout covers all steps: the one running when it ends gets SIGTERM and
# no further step starts.
setup_spool
mkdir -p "$TEST_TMP/in"
echo 1 >"$TEST_TMP/in/count"
tar -C "$TEST_TMP/in" -cf "$TEST_TMP/in.tar" count
cat >"$TEST_TMP/arch.json" <<JSON
{"name": "arch", "archive": "$TEST_TMP/in.tar",
 "steps": ["echo \$((\$(cat count) + 1)) > count", "echo \$((\$(cat count) + 1)) > count", "cat count"]}
JSON
cat >"$TEST_TMP/slow.json" <<'JSON'
{"name": "slow", "timeout": 1.5,
 "steps": ["sleep 1", "sleep 5", "touch never"]}
JSON
arch=$(submit "$TEST_TMP/arch.json")
slow=$(submit "$TEST_TMP/slow.json")
t0=$(date +%s%N)
run_until_empty 2 --spool "$SPOOL" --kill-grace 2
t1=$(date +%s%N)
assert_state "$arch" done
assert_eq 3 "$(cat "$(task_out "$arch" 0)")" "steps share one extraction of the archive"
assert_state "$slow" failed
R=$(record "$slow" 0)
assert_json "$R" .timed_out true "the steps' timeout"
assert_json "$R" '.steps | length' 2 "steps run before the timeout"
assert_json "$R" '.steps[1].signal' 15 "the running step got SIGTERM"
assert_json "$R" .signal 15 "the task's signal is the timed-out step's"
[ $(((t1 - t0) / 1000000)) -lt 20000 ] || fail "the run took $(((t1 - t0) / 1000000)) ms"
rm -rf "$TEST_TMP"

# Parser errors reach the user at submit time.
setup_spool
echo '{"command": ["true"], "continue_on_error": true}' >"$TEST_TMP/bad.json"
out=$("$MPISPOOL" --spool "$SPOOL" submit "$TEST_TMP/bad.json" 2>&1) &&
    fail "submit accepted continue_on_error without steps"
assert_contains "'continue_on_error' needs 'steps'" "$out" "submit's error"
pass "steps run in order in one dir, stop at the first failure, continue_on_error runs all"
