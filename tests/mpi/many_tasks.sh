#!/bin/bash
# SPDX-License-Identifier: MIT
# 500 tasks through `mpirun -np NP mpispool-run --until-empty`: every task
# runs exactly once, on a worker rank (rank 0 only when alone), with its
# own output, and the work is spread over the workers.
# Usage: many_tasks.sh NP
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
NP=${1:?usage: many_tasks.sh NP}
TEST_NAME="many_tasks-np$NP"
N=500
setup_spool
T=$TEST_TMP
cd "$T"

: >"$T/ran.log"
for _ in $(seq 1 $N); do
    printf 'echo "$MPISPOOL_TASK_ID"; echo "$MPISPOOL_TASK_ID" >>%s\n' "$T/ran.log"
done >"$T/many.tasks"
# A gate job holds the coordinator (--until-empty) until every rank has
# said HELLO, so how fast ranks start does not decide who gets tasks.
gate=$(submit --name gate -- sh -c "while [ ! -e '$T/go' ]; do sleep 0.05; done")
# Private work directories go under TMPDIR; nothing of ours may remain.
mkdir "$TEST_TMP/tmp"
TMPDIR=$TEST_TMP/tmp start_coordinator "$NP" --spool "$SPOOL" --until-empty
want_ranks=$((NP > 1 ? NP - 1 : 1))
ranks_ready() {
    local st
    st=$(ls "$SPOOL"/status/*.json 2>/dev/null | head -n 1)
    [ -n "$st" ] && jq -e --argjson n "$want_ranks" \
        '(.ranks | length) == $n and ([.ranks[] | select(.state == "starting")] | length) == 0' \
        "$st" >/dev/null
}
wait_until 60 ranks_ready || { touch "$T/go"; fail "ranks did not all start within 60 s"; }
t0=$(now_us)
job=$(submit --name "many-np$NP" --tasks "$T/many.tasks")
touch "$T/go"
wait_coordinator 90
[ "$COORD_RC" = 0 ] || { show_coordinator_log; fail "coordinator exited $COORD_RC"; }
assert_state "$gate" done
left=$(find "$TEST_TMP/tmp" -maxdepth 1 -name 'mpispool-*' | head -3)
[ -z "$left" ] || fail "work directories left behind: $left"
log "$N tasks with -np $NP in $((($(now_us) - t0) / 1000)) ms"

assert_state "$job" done
out="$SPOOL/out/$job"
nrec=$(find "$out" -maxdepth 1 -name '[0-9]*.json' | wc -l)
assert_eq "$N" "$nrec" "task records"
jq -s -c '.' "$out"/[0-9]*.json >"$T/records.json"

# Every record: the right job and task number, first attempt, exit 0.
bad=$(jq -r --arg j "$job" --argjson n "$N" '
    .[] | select(.job != $j or .attempt != 1 or .exit_code != 0
                 or .signal != null or .error != null
                 or .task < 0 or .task >= $n)
    | "\(.task): \(tojson)"' "$T/records.json" | head -n 5 || true)
[ -z "$bad" ] || fail "bad records: $bad"
assert_eq "$N" "$(jq '[.[].task] | unique | length' "$T/records.json")" \
    "distinct task numbers in records"
misplaced=$(jq -r '"\(input_filename) \(.task)"' "$out"/[0-9]*.json |
    awk '{ n = $1; sub(/.*\//, "", n); sub(/\.json$/, "", n);
           if (n != $2) print n ".json holds task " $2 }' | head -n 3 || true)
[ -z "$misplaced" ] || fail "$misplaced"

# Each task's stdout is its id.
for i in $(seq 0 $((N - 1))); do
    read -r line <"$out/$i.out" || fail "task $i: empty stdout"
    [ "$line" = "$i" ] || fail "task $i: stdout '$line', expected '$i'"
    [ "$(wc -c <"$out/$i.out")" = "$((${#i} + 1))" ] ||
        fail "task $i: stdout has $(wc -c <"$out/$i.out") bytes"
done

# Each task ran exactly once.
seq 0 $((N - 1)) >"$T/expected.log"
sort -n "$T/ran.log" >"$T/sorted.log"
if ! cmp -s "$T/expected.log" "$T/sorted.log"; then
    dups=$(uniq -d "$T/sorted.log" | head -n 5 | tr '\n' ' ' || true)
    missing=$(comm -23 <(sort "$T/expected.log") <(sort -u "$T/sorted.log") |
        head -n 5 | tr '\n' ' ' || true)
    fail "shared log: $(wc -l <"$T/sorted.log") lines; run twice: [$dups]; never: [$missing]"
fi

# Where they ran.
ranks=$(jq -r '[.[].rank] | unique | map(tostring) | join(" ")' "$T/records.json")
log "ranks that ran tasks: $ranks"
for r in $ranks; do
    if [ "$NP" = 1 ]; then
        assert_eq 0 "$r" "rank with -np 1"
    else
        [ "$r" -ge 1 ] && [ "$r" -le $((NP - 1)) ] ||
            fail "rank $r ran a task with -np $NP (want 1..$((NP - 1)))"
    fi
done
if [ "$NP" -ge 4 ]; then
    nranks=$(wc -w <<<"$ranks")
    [ "$nranks" -gt 1 ] || fail "only rank $ranks ran tasks with -np $NP"
fi

rep="$out/report.json"
assert_json "$rep" .counts.tasks "$N"
assert_json "$rep" .counts.succeeded "$N"
assert_json "$rep" .counts.failed 0
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait --timeout 5 "$job"

pass
