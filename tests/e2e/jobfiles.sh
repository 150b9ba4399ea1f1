#!/bin/bash
# SPDX-License-Identifier: MIT
# The examples in jobfiles/ (those scripts/demo.sh submits) run as their
# README says; after.json, given hello.json's job id as scripts/demo.sh
# does, runs once that job has succeeded.
. "$(dirname "$0")/lib.sh"

setup_spool
EX=$TEST_TMP/jobfiles
cp -r "$REPO_ROOT/jobfiles" "$EX"
rm -f "$EX/inputs.tar.gz"
sh "$EX/make-archive.sh" >/dev/null || fail "make-archive.sh failed"
assert_file "$EX/inputs.tar.gz" "built archive"
declare -A id
for name in hello shell array resources archive retries timeout steps fail_fast; do
    id[$name]=$(submit "$EX/$name.json")
done
id[squares]=$(submit --name squares --tasks "$EX/squares.tasks")
id[after]=$(jq --arg id "${id[hello]}" '.after = [$id]' "$EX/after.json" | submit -)
run_until_empty 1 --spool "$SPOOL" --kill-grace 1

for name in hello shell array resources archive retries squares steps after; do
    assert_state "${id[$name]}" done
done
assert_eq "Hello from mpispool" "$(cat "$(task_out "${id[hello]}" 0)")" "hello's output"
assert_contains "Bonjour from task 0" "$(cat "$(task_out "${id[shell]}" 0)")" "shell's output"
assert_json "$SPOOL/out/${id[array]}/report.json" .counts.succeeded 4
assert_eq "Hello from inside the archive" "$(cat "$(task_out "${id[archive]}" 0)")" \
    "a file of the archive"
assert_eq "sum of data/numbers.txt: 55" "$(cat "$(task_out "${id[archive]}" 1)")" \
    "a file in a directory of the archive"
assert_json "$SPOOL/out/${id[retries]}/report.json" '[.tasks[].attempt] | map(tostring) | join(" ")' "1 2"
assert_eq "attempt 2" "$(cat "$(task_out "${id[retries]}" 0)")" "the retried task's output"
assert_state "${id[timeout]}" failed
assert_json "$(record "${id[timeout]}" 0)" .exit_code 0
assert_json "$(record "${id[timeout]}" 1)" .timed_out true
assert_eq "this one sleeps too long" "$(cat "$(task_out "${id[timeout]}" 1)")" "the timed-out task's output"
assert_contains "step 1 writes a file" "$(cat "$(task_out "${id[steps]}" 0)")" \
    "the steps example's output"
assert_json "$(record "${id[steps]}" 0)" '.steps | length' 3
assert_eq "the job it waited for succeeded, so this one runs" \
    "$(cat "$(task_out "${id[after]}" 0)")" "after's output"
hello_end=$(time_us "$(jq -r .end "$(record "${id[hello]}" 0)")")
after_start=$(time_us "$(jq -r .start "$(record "${id[after]}" 0)")")
[ "$after_start" -ge "$hello_end" ] ||
    fail "after.json's task started before hello.json's ended"
assert_state "${id[fail_fast]}" failed
R=$SPOOL/out/${id[fail_fast]}/report.json
assert_json "$R" .reason "stopped by fail_fast: task 0 failed"
assert_eq '{"tasks":4,"succeeded":0,"failed":1,"cancelled":3}' "$(jq -c .counts "$R")" \
    "fail_fast's counts"
assert_json "$R" '[.tasks[] | select(.task > 0) | .error | select(. != "cancelled by fail_fast: task 0 failed")] | length' 0
pass "the jobfiles/ examples run as documented"
