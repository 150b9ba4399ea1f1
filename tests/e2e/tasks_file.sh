#!/bin/bash
# SPDX-License-Identifier: MIT
# `mpispool submit --tasks FILE`: one task per line, comments and blank
# lines skipped, the file copied at submit time, each task's output right.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# Lines and what each task prints; comments, blank and white-space-only
# lines are no tasks. The last line has no newline; one ends in \r\n.
{
    printf '# a task file\n'
    printf '\n'
    printf 'echo zero\n'
    printf '   # indented comment\n'
    printf '\t# tab-indented comment\n'
    printf '   \n'
    printf '\t\n'
    printf 'echo "one  two"   # a shell comment after the command\n'
    printf "printf '%%s\\\\n' \"it's\" 'sp ace'\n"
    printf 'echo crlf\r\n'
    printf '  echo leading-blank\n'
    printf 'echo $((6 * 7)) "$MPISPOOL_TASK_ID"\n'
    printf 'echo héllo 🚀 >&2; echo ok\n'
    printf '#echo not a task\n'
    printf 'echo last'
} >"$T/list.tasks"
expected=(
    "zero"
    "one  two"
    $'it\'s\nsp ace'
    "crlf"
    "leading-blank"
    "42 5"
    "ok"
    "last"
)
n=${#expected[@]}

job=$(submit --name listed --tasks "$T/list.tasks")
jobfile="$SPOOL/new/$job.json"
assert_json "$jobfile" .task_file "$job.tasks"
assert_same_file "$T/list.tasks" "$SPOOL/data/$job.tasks" "task file copied into data/"
# The spool holds its own copy: changing the file now changes nothing.
echo 'echo changed-after-submit' >"$T/list.tasks"

# A failing line fails the job, the others still run.
printf 'true\nexit 4\ntrue\n' >"$T/fail.tasks"
failing=$(submit --tasks "$T/fail.tasks")

# Files submit refuses: a NUL byte (with its line number), no such file.
printf 'echo a\necho b\0c\n' >"$T/nul.tasks"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --tasks "$T/nul.tasks"
assert_contains "line 2" "$(cat "$T/last.err")" "message for a NUL byte"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --tasks "$T/missing.tasks"

run_until_empty 2

assert_state "$job" done
rep="$SPOOL/out/$job/report.json"
assert_json "$rep" .counts.tasks "$n"
assert_json "$rep" .counts.succeeded "$n"
assert_json "$rep" '.tasks | length' "$n"
assert_json "$rep" .name listed
for i in $(seq 0 $((n - 1))); do
    assert_eq "${expected[$i]}" "$(cat "$(task_out "$job" "$i")")" "output of task $i"
    assert_json "$(record "$job" "$i")" .task "$i"
    assert_json "$(record "$job" "$i")" .exit_code 0
done
assert_no_file "$(record "$job" "$n")" "record of a task beyond the last"
assert_eq "héllo 🚀" "$(cat "$(task_err "$job" 6)")" "stderr of task 6"

assert_state "$failing" failed
assert_json "$(record "$failing" 1)" .exit_code 4
assert_json "$SPOOL/out/$failing/report.json" .counts.succeeded 2
assert_json "$SPOOL/out/$failing/report.json" .counts.failed 1

pass
