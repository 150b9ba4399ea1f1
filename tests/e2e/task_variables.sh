#!/bin/bash
# SPDX-License-Identifier: MIT
# Every task knows its place: MPISPOOL_TASK_ID (from 0), MPISPOOL_TASK_SEQ
# (from 1, as GNU parallel's {#}), MPISPOOL_TASK_COUNT (the job's tasks,
# as SLURM_ARRAY_TASK_COUNT) and, for a task file's tasks,
# MPISPOOL_TASK_LINE (its line in the file); a retried attempt too, on a
# worker rank and on rank 0 alone.
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

say='echo "$MPISPOOL_TASK_ID $MPISPOOL_TASK_SEQ $MPISPOOL_TASK_COUNT ${MPISPOOL_TASK_LINE-none}"'
# Lines 1 and 3 are no tasks; the task on line 5 fails its first attempt.
printf '%s\n' "# a comment" "$say" "" "$say" \
    "[ \"\$MPISPOOL_ATTEMPT\" = 2 ] || exit 1; $say" >"$T/vars.tasks"
jq -n --arg say "$say" '{tasks: [$say, ["sh", "-c", $say], $say]}' >"$T/array.json"
jq -n --arg say "$say" '{steps: [$say, ["sh", "-c", $say]]}' >"$T/steps.json"
echo '{"retries": 1, "retry_backoff": 0}' >"$T/retry.json"

for np in 2 1; do
    file=$(submit --tasks "$T/vars.tasks" "$T/retry.json")
    array=$(submit "$T/array.json")
    cmd=$(submit -- sh -c "$say")
    steps=$(submit "$T/steps.json")
    run_until_empty "$np"
    assert_eq "0 1 3 2" "$(cat "$(task_out "$file" 0)")" "file task 0 (np $np)"
    assert_eq "1 2 3 4" "$(cat "$(task_out "$file" 1)")" "file task 1 (np $np)"
    assert_eq "2 3 3 5" "$(cat "$(task_out "$file" 2)")" "retried file task 2 (np $np)"
    assert_json "$(record "$file" 2)" .attempt 2
    for t in 0 1 2; do
        assert_eq "$t $((t + 1)) 3 none" "$(cat "$(task_out "$array" "$t")")" \
            "array task $t (np $np)"
    done
    assert_eq "0 1 1 none" "$(cat "$(task_out "$cmd" 0)")" "a command job (np $np)"
    assert_eq "$(printf '0 1 1 none\n0 1 1 none')" "$(cat "$(task_out "$steps" 0)")" \
        "each step (np $np)"
done

pass "MPISPOOL_TASK_SEQ, _COUNT and _LINE"
