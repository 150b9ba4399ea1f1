#!/bin/bash
# SPDX-License-Identifier: MIT
# disBatch task files: #DISBATCH PREFIX, SUFFIX and REPEAT make the tasks
# disBatch makes, run under bash with disBatch's variables; the exit codes
# and the log files (names and contents) are those disBatch documents.
# disBatch itself cannot run here: the expectations below were derived from
# its source (disbatch/disBatch.py: the regular expressions dbprefix,
# dbsuffix, dbrepeat and dbcomment, TaskGenerator._task_generator, the
# DISBATCH_* variables of EngineBlock, tasks run as /bin/bash -c) and its
# Readme, for a file in the style of its exampleTaskFiles/
# DBtasksOneBadOneLeaky (whose BARRIER and PERENGINE lines mpispool
# refuses). BARRIER, PERENGINE and unknown directives are refused at
# submit and at claim; --resume-failed reruns exactly the failed tasks,
# with the same task ids, repeat indexes and log files.
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"
HOST=$(hostname)

# <SP> marks a line's significant trailing space.
sed 's/<SP>$/ /' >"$T/DBtasks" <<'EOF'
# In the style of disBatch's exampleTaskFiles/DBtasksOneBadOneLeaky.
# Note there is a space at the end of the next line.
#DISBATCH PREFIX cd dbTestOutputDir ;<SP>
#DISBATCH SUFFIX  &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID}.log
# parentheses are important in this example so that all output is
# collected and captured by the redirection.
( echo "10 running on" $(hostname) ; echo done ; )
( echo "11 running on" $(hostname) ; echo done ; )
( echo "12 running on" $(hostname) ; echo done ; )

# generate non-zero return code
( echo "13 running on" $(hostname) ; echo done ; exit 13 )

( echo "14 running on" $(hostname) ; echo done ; )

# leak some output
( echo "15 running on" $(hostname) ; echo done ; ) ; echo 'missed some output'

# singleton repeat
#DISBATCH SUFFIX  &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID}_rx_${DISBATCH_REPEAT_INDEX}.log
#DISBATCH REPEAT 1 start 39 ( echo "$DISBATCH_REPEAT_INDEX running on" $(hostname) ; echo done ; )

# empty repeat
#DISBATCH REPEAT 0 start 1

# use zero padding for env variables in file name.
#DISBATCH SUFFIX ( echo "${DISBATCH_REPEAT_INDEX} running on" $(hostname) ; echo "Zero-padded stream index: ${DISBATCH_STREAM_INDEX_ZP}" ; ) &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID_ZP}_rx_${DISBATCH_REPEAT_INDEX_ZP}.log
#DISBATCH REPEAT 3 start 40

# fail two in repeat
#DISBATCH SUFFIX  &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID}_rx_${DISBATCH_REPEAT_INDEX}.log
#DISBATCH REPEAT 3 start 50 ( echo "$DISBATCH_REPEAT_INDEX running on" $(hostname) ; [[ $DISBATCH_REPEAT_INDEX -eq 51 ]] )

#DISBATCH SUFFIX<SP>
( echo "55 running on" $(hostname) ; echo done ; ) &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID}.log
EOF

# What disBatch makes of it: task id, line (DISBATCH_STREAM_INDEX), repeat
# index, exit code, log file and its contents (H: the host name). Task 3
# exits 13; REPEAT 3 start 50 fails for 50 and 52 ([[ ]] is bash's); task
# 5's suffix redirects only its last command, so its subshell's output
# leaks to the task's stdout and the log gets "missed some output".
EXPECTED=(
    "0 7 -1 0 DBtasks_task_0.log 10 running on H|done"
    "1 8 -1 0 DBtasks_task_1.log 11 running on H|done"
    "2 9 -1 0 DBtasks_task_2.log 12 running on H|done"
    "3 12 -1 13 DBtasks_task_3.log 13 running on H|done"
    "4 14 -1 0 DBtasks_task_4.log 14 running on H|done"
    "5 17 -1 0 DBtasks_task_5.log missed some output"
    "6 21 39 0 DBtasks_task_6_rx_39.log 39 running on H|done"
    "7 28 40 0 DBtasks_task_000007_rx_000040.log 40 running on H|Zero-padded stream index: 000028"
    "8 28 41 0 DBtasks_task_000008_rx_000041.log 41 running on H|Zero-padded stream index: 000028"
    "9 28 42 0 DBtasks_task_000009_rx_000042.log 42 running on H|Zero-padded stream index: 000028"
    "10 32 50 1 DBtasks_task_10_rx_50.log 50 running on H"
    "11 32 51 0 DBtasks_task_11_rx_51.log 51 running on H"
    "12 32 52 1 DBtasks_task_12_rx_52.log 52 running on H"
    "13 35 -1 0 DBtasks_task_13.log 55 running on H|done"
)
LEAKED="15 running on $HOST
done"
OUT=$T/run/dbTestOutputDir
mkdir -p "$OUT"

# check_task JOB TASK ENTRY: the task's exit code, log and stdout.
check_task() {
    local job=$1 task=$2 id code log text
    read -r id _ _ code log text <<<"$3"
    assert_json "$(record "$job" "$task")" .exit_code "$code" "task $id"
    text=${text//H/$HOST}
    assert_eq "${text//|/$'\n'}" "$(cat "$OUT/$log")" "log $log"
    if [ "$id" = 5 ]; then
        assert_eq "$LEAKED" "$(cat "$(task_out "$job" "$task")")" "leaked output"
    else
        assert_eq "" "$(cat "$(task_out "$job" "$task")")" "stdout of task $id"
    fi
}

job=$(submit --cwd "$T/run" --tasks "$T/DBtasks")
assert_json "$SPOOL/new/$job.json" .task_file_name DBtasks
# A file of DISBATCH_* and MPISPOOL_TASK_* values, from standard input
# (DISBATCH_NAMETASKS is then "stdin", as disBatch names it).
vars=$(printf '%s\n' \
    '#DISBATCH SUFFIX ; env | grep -E "^(DISBATCH|MPISPOOL_TASK)" | sort; echo "bash=${BASH_VERSION:+yes}"' \
    'echo plain' \
    '#DISBATCH REPEAT 2 start 5 step 10 echo rep' |
    submit --tasks -)
run_until_empty 2

assert_state "$job" failed
assert_json "$SPOOL/out/$job/report.json" .counts.tasks 14
assert_json "$SPOOL/out/$job/report.json" .counts.failed 3
for entry in "${EXPECTED[@]}"; do
    check_task "$job" "${entry%% *}" "$entry"
done
assert_eq "$(for e in "${EXPECTED[@]}"; do
    read -r _ _ _ _ log _ <<<"$e"
    echo "$log"
done | sort)" "$(ls "$OUT" | sort)" "the log files, and nothing else"
# mpispool log shows the commands as disBatch's status file does.
assert_eq 'cd dbTestOutputDir ; ( echo "$DISBATCH_REPEAT_INDEX running on" $(hostname) ; [[ $DISBATCH_REPEAT_INDEX -eq 51 ]] ) &> ${DISBATCH_NAMETASKS}_task_${DISBATCH_TASKID}_rx_${DISBATCH_REPEAT_INDEX}.log' \
    "$(mps log "$job" | awk -F'\t' 'NR == 12 { print $9 }')" "Command of task 10"
# Its Seq is the line of the REPEAT that made it, as GNU parallel numbers
# the lines it reads.
assert_eq "$(grep -n 'REPEAT 3 start 50' "$T/DBtasks" | cut -d: -f1)" \
    "$(mps log "$job" | awk -F'\t' 'NR == 12 { print $1 }')" "Seq of task 10"

# The variables, tasks 0 to 2 (REPEAT 2 start 5 step 10 on line 3).
want_vars() { # TASKID LINE REPEAT
    printf 'DISBATCH_JOBID=%s\nDISBATCH_NAMETASKS=stdin\n' "$vars"
    printf 'DISBATCH_REPEAT_INDEX=%s\nDISBATCH_REPEAT_INDEX_ZP=%06d\n' "$3" "$3"
    printf 'DISBATCH_STREAM_INDEX=%s\nDISBATCH_STREAM_INDEX_ZP=%06d\n' "$2" "$2"
    printf 'DISBATCH_TASKID=%s\nDISBATCH_TASKID_ZP=%06d\n' "$1" "$1"
    printf 'MPISPOOL_TASK_COUNT=3\nMPISPOOL_TASK_ID=%s\n' "$1"
    printf 'MPISPOOL_TASK_LINE=%s\nMPISPOOL_TASK_SEQ=%s\nbash=yes\n' "$2" $(($1 + 1))
}
assert_eq "$(echo plain && want_vars 0 2 -1)" "$(cat "$(task_out "$vars" 0)")" "variables of task 0"
assert_eq "-00001" "$(printf '%06d' -1)" "printf pads as Python's :06d"
assert_eq "$(echo rep && want_vars 1 3 5)" "$(cat "$(task_out "$vars" 1)")" "variables of task 1"
assert_eq "$(echo rep && want_vars 2 3 15)" "$(cat "$(task_out "$vars" 2)")" "variables of task 2"

# --resume-failed: the three failed tasks again, as the same tasks of the
# same file (kept whole: its directives make them).
rm "$OUT"/DBtasks_task_{3.log,10_rx_50.log,12_rx_52.log}
r=$(submit --resume-failed "$job")
assert_json "$SPOOL/new/$r.json" '.resumed_from.tasks | map(tostring) | join(" ")' "3 10 12"
assert_json "$SPOOL/new/$r.json" '.resumed_from.file_tasks | map(tostring) | join(" ")' "3 10 12"
assert_json "$SPOOL/new/$r.json" .task_file_name DBtasks
assert_same_file "$T/DBtasks" "$SPOOL/data/$r.tasks" "the resumed job's task file"
run_until_empty 1 # rank 0 alone
assert_state "$r" failed
assert_json "$SPOOL/out/$r/report.json" .counts.tasks 3
for t in 0 1 2; do
    check_task "$r" "$t" "${EXPECTED[$((t == 0 ? 3 : t == 1 ? 10 : 12))]}"
done
assert_eq 14 "$(ls "$OUT" | wc -l)" "log files after the resumed job"
assert_eq "$(mps log "$job" | awk -F'\t' 'NR == 5 || NR == 12 || NR == 14 { print $9 }')" \
    "$(mps log "$r" | awk -F'\t' 'NR > 1 { print $9 }')" "commands in the resumed job's log"
# A resumed job resumed in turn: its own task numbers, the same ones in
# the file.
r2=$(submit --resume-failed "$r")
assert_json "$SPOOL/new/$r2.json" '.resumed_from.tasks | map(tostring) | join(" ")' "0 1 2"
assert_json "$SPOOL/new/$r2.json" '.resumed_from.file_tasks | map(tostring) | join(" ")' "3 10 12"
assert_exit 0 mps cancel "$r2"

# Refused at submit, naming the line: BARRIER, PERENGINE, an unknown one.
refused() { # LINE MESSAGE
    printf 'echo one\n# two\n%s\necho four\n' "$1" >"$T/refused.tasks"
    assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --tasks "$T/refused.tasks"
    assert_eq "mpispool: $T/refused.tasks: line 3: $2" "$(cat "$T/last.err")" "message for '$1'"
}
refused '#DISBATCH BARRIER' '#DISBATCH BARRIER is not supported: split the tasks at the barrier into two jobs, the second submitted with "after": [the first job'"'"'s id]'
refused '#DISBATCH PERENGINE START hostname' "#DISBATCH PERENGINE is not supported: mpispool has no engines; put the command into each task (a #DISBATCH PREFIX) or into a job that runs first"
refused '#DISBATCH PREFIX' "'#DISBATCH PREFIX' needs one space after PREFIX, then the text ('#DISBATCH PREFIX ' alone sets it empty)"
refused '#DISBATCH RETRY 3' "unknown directive '#DISBATCH RETRY 3' (mpispool reads #DISBATCH PREFIX, SUFFIX and REPEAT)"
# ... and at claim, for a job file put into new/ by hand.
printf 'echo one\n# two\n#DISBATCH BARRIER CHECK\n' >"$T/barrier.tasks"
printf '{"task_file": "%s"}' "$T/barrier.tasks" >"$SPOOL/tmp/handmade.json"
mv "$SPOOL/tmp/handmade.json" "$SPOOL/new/handmade.json"
run_until_empty 1
assert_state handmade rejected
assert_contains "$T/barrier.tasks: line 3: #DISBATCH BARRIER is not supported" \
    "$(cat "$SPOOL/rejected/handmade.error")" "reason of the rejection at claim"

pass "disBatch's directives, variables, exit codes and logs; resumed as the same tasks"
