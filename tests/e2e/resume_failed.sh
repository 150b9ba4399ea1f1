#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool submit --resume-failed JOBID: a new job of exactly the tasks of
# an ended job whose last attempt failed or that never ran, mapped back by
# "resumed_from"; once the cause is fixed they succeed.
. "$(dirname "$0")/lib.sh"

setup_spool
cd "$TEST_TMP"
FIXED=$TEST_TMP/fixed
RAN=$TEST_TMP/ran
# Tasks 2, 5 and 7 fail until $FIXED exists; every task notes that it ran
# and prints its number and the one it had in the job it was resumed from.
say='echo "task $MPISPOOL_TASK_ID was ${MPISPOOL_ORIGINAL_TASK:-none}"'
for i in $(seq 0 9); do
    case $i in
    2 | 5 | 7) echo "echo $i >>$RAN; $say; test -e $FIXED" ;;
    *) echo "echo $i >>$RAN; $say" ;;
    esac
done >tasks.txt

job=$(submit --name sweep --timeout 60 --tasks tasks.txt)
run_until_empty 2 --spool "$SPOOL"
assert_state "$job" failed
assert_json "$SPOOL/out/$job/report.json" .counts.failed 3
assert_eq 10 "$(sort -n "$RAN" | uniq | wc -l)" "tasks of the first run"

# With the same task file: exactly the three failed lines.
: >"$RAN"
r1=$(submit --tasks tasks.txt --resume-failed "$job")
assert_json "$SPOOL/new/$r1.json" '.resumed_from.job' "$job"
assert_json "$SPOOL/new/$r1.json" '.resumed_from.tasks | map(tostring) | join(" ")' "2 5 7"
assert_eq "$(sed -n '3p;6p;8p' tasks.txt)" "$(cat "$SPOOL/data/$r1.tasks")" \
    "the resumed job's task file"
run_until_empty 2 --spool "$SPOOL" # a worker rank: the variable crosses MPI
assert_eq "2 5 7" "$(sort -n "$RAN" | tr '\n' ' ' | sed 's/ $//')" "tasks run by the resumed job"
R1=$SPOOL/out/$r1/report.json
assert_json "$R1" .counts.tasks 3
assert_json "$R1" '[.tasks[].task] | sort | map(tostring) | join(" ")' "0 1 2"
assert_json "$R1" .counts.failed 3 # the cause is not fixed yet
# Each task knows its number in the earlier job.
for t in 0 1 2; do
    assert_eq "task $t was $(((t == 0) ? 2 : (t == 1) ? 5 : 7))" \
        "$(cat "$(task_out "$r1" "$t")")" "MPISPOOL_ORIGINAL_TASK of task $t"
done
assert_eq "task 2 was none" "$(cat "$(task_out "$job" 2)")" \
    "MPISPOOL_ORIGINAL_TASK outside a resumed job"

# Fixed: --resume-failed alone reuses the spooled copy and the settings.
touch "$FIXED"
: >"$RAN"
r2=$(submit --resume-failed "$job")
assert_json "$SPOOL/new/$r2.json" .name sweep
assert_json "$SPOOL/new/$r2.json" .timeout 60
assert_json "$SPOOL/new/$r2.json" '.resumed_from.tasks | map(tostring) | join(" ")' "2 5 7"
run_until_empty 1 --spool "$SPOOL" # rank 0 alone runs the tasks
assert_eq "task 1 was 5" "$(cat "$(task_out "$r2" 1)")" "MPISPOOL_ORIGINAL_TASK, one rank"
assert_state "$r2" done
assert_eq "2 5 7" "$(sort -n "$RAN" | tr '\n' ' ' | sed 's/ $//')" "tasks run after the fix"
assert_json "$SPOOL/out/$r2/report.json" .counts.succeeded 3

# A resumed job can be resumed in turn (its own task numbers).
r3=$(submit --resume-failed "$r1")
assert_json "$SPOOL/new/$r3.json" '.resumed_from.job' "$r1"
assert_json "$SPOOL/new/$r3.json" '.resumed_from.tasks | map(tostring) | join(" ")' "0 1 2"
assert_exit 0 mps cancel "$r3"

# Nothing failed: nothing to submit.
assert_exit 1 mps submit --resume-failed "$r2"
assert_contains "nothing to submit" "$(cat "$TEST_TMP/last.err")" "resume of a job that succeeded"
# Not the same task file.
head -n 4 tasks.txt >short.txt
assert_exit 1 mps submit --tasks short.txt --resume-failed "$job"
assert_contains "has 4 tasks, job $job had 10" "$(cat "$TEST_TMP/last.err")" "another task file"
# Not ended, unknown.
queued=$(submit -- true)
assert_exit 1 mps submit --resume-failed "$queued"
assert_contains "has not ended yet" "$(cat "$TEST_TMP/last.err")" "a queued job"
assert_exit 1 mps submit --resume-failed 20000101-9999
assert_exit 0 mps cancel "$queued"

# Tasks that never ran (cancelled before a coordinator took the job) are
# resumed too; a "tasks" array job gets the chosen entries.
cat >array.json <<'EOF2'
{"tasks": ["echo zero", ["echo", "one"], "echo two"]}
EOF2
arr=$(submit array.json)
assert_exit 0 mps cancel "$arr"
r4=$(submit --resume-failed "$arr")
assert_json "$SPOOL/new/$r4.json" '.tasks | tojson' '["echo zero",["echo","one"],"echo two"]'
assert_json "$SPOOL/new/$r4.json" '.resumed_from.tasks | map(tostring) | join(" ")' "0 1 2"
run_until_empty 1 --spool "$SPOOL"
assert_state "$r4" done
assert_eq one "$(cat "$(task_out "$r4" 1)")" "an argv task of the resumed array"
pass "resume-failed runs exactly the failed tasks, and they succeed once fixed"
