#!/bin/bash
# SPDX-License-Identifier: MIT
# Shell commands up to the documented 1 MiB (task file lines, "shell",
# "tasks" and "steps" strings) run and print exactly what they should,
# although Linux gives one program argument at most 128 KiB (the shell gets
# a long command in pieces); over a worker rank (the wire) and on rank 0
# alone. One byte more is refused at submit, and an argv element a program
# cannot be given is refused at submit and at claim, naming it.
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

KIB=1024
SIZES=(127 129 512 1024) # KiB: the last is exactly TASKFILE_MAX_LINE

# line BYTES: "echo AAA...A", BYTES bytes long (no newline).
line() {
    printf 'echo '
    head -c $(($1 - 5)) /dev/zero | tr '\0' A
}
# expected BYTES: what that line prints.
expected() {
    head -c $(($1 - 5)) /dev/zero | tr '\0' A
    echo
}

# The shape of disBatch's exampleTaskFiles/WayTooLongTask: one line of
# 320012 bytes, echo "Say ahhh...h".
way_too_long() {
    printf 'echo "Say a'
    head -c 320000 /dev/zero | tr '\0' h
    printf '"'
}
for k in "${SIZES[@]}"; do
    line $((k * KIB))
    echo
done >"$T/long.tasks"
{
    way_too_long
    echo
} >>"$T/long.tasks"
for k in "${SIZES[@]}"; do expected $((k * KIB)) >"$T/want.$k"; done
{
    printf 'Say a'
    head -c 320000 /dev/zero | tr '\0' h
    echo
} >"$T/want.way"

# A job file: a 1 MiB "shell", a "tasks" string of 600 KiB under bash
# (--interpreter: bash gets the pieces too) and "steps" of 300 KiB each.
jq -n --rawfile one <(line $((1024 * KIB))) '{shell: $one}' >"$T/shell.json"
jq -n --rawfile mid <(line $((600 * KIB))) \
    '{tasks: [$mid, "echo short"], interpreter: "bash"}' >"$T/tasks.json"
jq -n --rawfile step <(line $((300 * KIB))) \
    '{steps: [$step, ["true"], $step]}' >"$T/steps.json"
expected $((600 * KIB)) >"$T/want.600"
{
    expected $((300 * KIB))
    expected $((300 * KIB))
} >"$T/want.steps"

# check_long JOB: each task printed its line's A's, byte for byte.
check_long() {
    local job=$1 i
    assert_state "$job" done
    for i in "${!SIZES[@]}"; do
        assert_same_file "$T/want.${SIZES[$i]}" "$(task_out "$job" "$i")" \
            "job $job task $i (${SIZES[$i]} KiB line)"
        assert_json "$(record "$job" "$i")" .exit_code 0
    done
    assert_same_file "$T/want.way" "$(task_out "$job" 4)" "job $job WayTooLongTask"
}

wire=$(submit --tasks "$T/long.tasks")
shell=$(submit "$T/shell.json")
tasks=$(submit "$T/tasks.json")
steps=$(submit "$T/steps.json")
run_until_empty 2 # one worker rank: every task crosses the wire
check_long "$wire"
assert_same_file "$T/want.1024" "$(task_out "$shell" 0)" "1 MiB \"shell\""
assert_same_file "$T/want.600" "$(task_out "$tasks" 0)" "600 KiB \"tasks\" string under bash"
assert_eq "short" "$(cat "$(task_out "$tasks" 1)")" "the short task beside it"
assert_same_file "$T/want.steps" "$(task_out "$steps" 0)" "two 300 KiB steps"
assert_state "$steps" done

alone=$(submit --tasks "$T/long.tasks")
run_until_empty 1 # rank 0 runs the tasks itself
check_long "$alone"

# mpispool log shows the whole command of the 1 MiB line.
mps log "$wire" | awk -F'\t' 'NR == 5 { printf "%s", $9 }' >"$T/logged"
line $((1024 * KIB)) >"$T/line.1024"
assert_same_file "$T/line.1024" "$T/logged" "Command column of the 1 MiB task"

# One byte over the limit: refused at submit, naming the file and line.
{
    echo 'echo fine'
    line $((1024 * KIB + 1))
    echo
} >"$T/over.tasks"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --tasks "$T/over.tasks"
assert_eq "mpispool: $T/over.tasks: line 2: longer than 1048576 bytes" \
    "$(cat "$T/last.err")" "message for a line over the limit"
jq -n --rawfile s <(line $((1024 * KIB + 1))) '{shell: $s}' >"$T/over.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/over.json"
assert_contains "'shell' is longer than 1048576 bytes" "$(cat "$T/last.err")" \
    "message for a \"shell\" over the limit"

# An argument no program can be given (131072 bytes): refused at submit,
# and at claim for a job file put into new/ by hand.
jq -n --rawfile a <(head -c 131072 /dev/zero | tr '\0' a) \
    '{command: ["printf", "%s", $a]}' >"$T/argv.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/argv.json"
assert_contains "'command[2]' is 131072 bytes long: Linux runs no program with an argument longer than 131071 bytes" \
    "$(cat "$T/last.err")" "message for a long argument"
cp "$T/argv.json" "$SPOOL/tmp/handmade.json"
mv "$SPOOL/tmp/handmade.json" "$SPOOL/new/handmade.json"
run_until_empty 1
assert_state handmade rejected
assert_contains "'command[2]' is 131072 bytes long" \
    "$(cat "$SPOOL/rejected/handmade.error")" "reason of the rejection at claim"
# One byte less runs.
jq -n --rawfile a <(head -c 131071 /dev/zero | tr '\0' a) \
    '{command: ["printf", "%s", $a]}' >"$T/argv-ok.json"
ok=$(submit "$T/argv-ok.json")
run_until_empty 2
assert_eq 131071 "$(wc -c <"$(task_out "$ok" 0)")" "output of the longest argument"

pass "lines of 127, 129, 512 and 1024 KiB run byte-exact; over the limits is refused"
