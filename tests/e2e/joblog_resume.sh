#!/bin/bash
# SPDX-License-Identifier: MIT
# GNU parallel reads `mpispool log` of a task file with comments and blank
# lines: Seq is the task's line number, as parallel numbers the lines of
# the same file, so `parallel --resume-failed --joblog LOG < FILE` runs
# exactly the failed lines again, and `parallel --retry-failed --joblog
# LOG` the same commands. Each line records its line number in $RAN when
# it runs; lines 4, 8 and 10 fail (exit 3, SIGKILL, false).
. "$(dirname "$0")/lib.sh"

require_gnu_parallel
setup_spool
cd "$TEST_TMP"
export PARALLEL_HOME=$TEST_TMP/parallel-home # no ~/.parallel of the caller

cat >tasks.txt <<'EOF2'
# A sweep: each line records its line number; three fail.

echo 3 >>"$RAN"
echo 4 >>"$RAN"; exit 3
    # an indented comment
echo 6 >>"$RAN"
   
echo 8 >>"$RAN"; kill -9 $$
echo 9 >>"$RAN"
echo 10 >>"$RAN"; false
# the end
EOF2

# ran FILE: the line numbers recorded in FILE, sorted, on one line.
ran() { sort -n "$1" | tr '\n' ' ' | sed 's/ $//'; }
# seqs LOG [FROM]: the Seq column of a joblog from line FROM (default 2).
seqs() { tail -n +"${2:-2}" "$1" | cut -f1 | sort -n | tr '\n' ' ' | sed 's/ $//'; }

export RAN=$TEST_TMP/ran.mpispool
job=$(submit --tasks tasks.txt)
run_until_empty 2 --spool "$SPOOL"
assert_state "$job" failed
assert_eq "3 4 6 8 9 10" "$(ran "$RAN")" "lines mpispool ran"
assert_exit 0 mps log -o mpispool.log "$job"
assert_eq "3 4 6 8 9 10" "$(seqs mpispool.log)" "Seq: the tasks' line numbers"

# parallel run on the same file writes the same Seq, Exitval, Signal and
# Command for each of those lines (and lines for the comments and blank
# lines, which it runs as commands that do nothing).
RAN=$TEST_TMP/ran.parallel parallel -j 2 --joblog parallel.log <tasks.txt \
    >/dev/null 2>&1 || true
assert_eq "3 4 6 8 9 10" "$(ran "$TEST_TMP/ran.parallel")" "lines parallel ran"
tail -n +2 mpispool.log | cut -f1,7-9 | sort -n >mpispool.fields
tail -n +2 parallel.log | cut -f1,7-9 | sort -n |
    awk -F'\t' 'NR == FNR { want[$1] = 1; next } $1 in want' \
        mpispool.fields - >parallel.fields
assert_same_file parallel.fields mpispool.fields \
    "Seq, Exitval, Signal and Command of mpispool's log vs parallel's"

# --resume-failed: the lines not logged as succeeded run again: the
# failed ones (and the comments and blank lines, which do nothing).
cp mpispool.log resume.log
rc=0
RAN=$TEST_TMP/ran.resume parallel --resume-failed --joblog resume.log \
    <tasks.txt >/dev/null 2>&1 || rc=$?
assert_eq "4 8 10" "$(ran "$TEST_TMP/ran.resume")" \
    "lines parallel --resume-failed ran again"
assert_eq 3 "$rc" "exit status of parallel --resume-failed (failed jobs)"
assert_eq "1 2 4 5 7 8 10 11" "$(seqs resume.log 8)" \
    "Seq of the jobs parallel --resume-failed logged"

# --retry-failed: the failed Commands of the log run again, by Seq.
cp mpispool.log retry.log
rc=0
RAN=$TEST_TMP/ran.retry parallel --retry-failed --joblog retry.log \
    >/dev/null 2>&1 || rc=$?
assert_eq "4 8 10" "$(ran "$TEST_TMP/ran.retry")" \
    "lines parallel --retry-failed ran again"
assert_eq 3 "$rc" "exit status of parallel --retry-failed (failed jobs)"
assert_eq "4 8 10" "$(tail -n +8 retry.log | awk -F'\t' '$9 != ""' | cut -f1 |
    sort -n | tr '\n' ' ' | sed 's/ $//')" \
    "Seq of the commands parallel --retry-failed ran"

# A job file's tasks have no lines: Seq is the task number + 1, as
# parallel numbers its arguments.
printf '{"tasks": ["true", "exit 2", ["echo", "x"]]}\n' >array.json
array=$(submit array.json)
run_until_empty 1 --spool "$SPOOL"
assert_exit 0 mps log "$array"
assert_eq "1 2 3" "$(seqs "$TEST_TMP/last.out")" "Seq of a job file's tasks"
pass "parallel --resume-failed and --retry-failed rerun the failed lines of mpispool log"
