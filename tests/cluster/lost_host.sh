#!/bin/bash
# SPDX-License-Identifier: MIT
# A lab PC vanishes mid-run (its cable is pulled: the veth goes down).
# Open MPI then ends the whole run (ssh keepalives notice within ~8 s);
# mpispool start sees work left, asks the PCs again, starts a new run on
# those that answer, and the spool drains: every task succeeds exactly
# once, tasks whose end was journaled never run again, and only the tasks
# that were running when the run ended run a second time.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$(readlink -f "$0")")/lib.sh"

cluster_setup 3
SPOOL=$CLUSTER_DIR/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1 || fail "mpispool init failed"
HERE=$(hostname)
mapfile -t NET_ARGS < <(cluster_net_args)
N=80

# Tasks print their id, attempt and host (the PCs cannot write to the
# spool: it is in this machine's /tmp... and /var/tmp, not shared).
for _ in $(seq 0 $((N - 1))); do
    echo "sleep 1; echo task \$MPISPOOL_TASK_ID attempt \$MPISPOOL_ATTEMPT on \$(hostname)"
done >"$CLUSTER_DIR/tasks"
job=$("$MPISPOOL" --spool "$SPOOL" submit --tasks "$CLUSTER_DIR/tasks")
RECORDS=$SPOOL/out/$job/records.jsonl

printf '%s\nh1\nh2\nh3\n' "$HERE" >"$CLUSTER_DIR/lab-hosts"
t0=$(now_us)
MPISPOOL_SSH=$CLUSTER_SSH timeout -k 5 240 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$CLUSTER_DIR/lab-hosts" \
    --pause 1 --retries 3 -- "${NET_ARGS[@]}" \
    >"$CLUSTER_DIR/start.log" 2>&1 &
START_PID=$!
BG_PIDS+=("$START_PID")

records_at_least() { [ -f "$RECORDS" ] && [ "$(wc -l <"$RECORDS")" -ge "$1" ]; }
h2_has_run() { grep -q '"host": *"h2"' "$RECORDS" 2>/dev/null; }
wait_until 60 records_at_least 16 || {
    tail -n 30 "$CLUSTER_DIR/start.log" >&2
    fail "the first run did not get going"
}
wait_until 20 h2_has_run || fail "no task ran on h2 before the cut"
done_at_cut=$(wc -l <"$RECORDS")
cluster_cut h2
t_cut=$(now_us)
log "cut h2's link after $(((t_cut - t0) / 1000)) ms, $done_at_cut tasks ended"

wait_until 60 grep -q 'run 1 ended' "$CLUSTER_DIR/start.log" || {
    tail -n 30 "$CLUSTER_DIR/start.log" >&2
    fail "the run did not end within 60 s of the cut"
}
t_end=$(now_us)
log "run 1 ended $(((t_end - t_cut) / 1000)) ms after the cut"
wait_until 180 eval '! kill -0 $START_PID' || fail "mpispool start did not finish"
rc=0
wait "$START_PID" || rc=$?
t1=$(now_us)
out=$(grep '^mpispool start:' "$CLUSTER_DIR/start.log")
printf '%s\n' "$out" | sed 's/^/  | /' >&2
log "mpispool start: exit $rc after $(((t1 - t0) / 1000)) ms in all"
[ "$rc" = 0 ] || {
    tail -n 40 "$CLUSTER_DIR/start.log" >&2
    fail "mpispool start exited $rc"
}
assert_match "run 1 ended after [0-9]+ s \(mpirun: [^)]*\): 0 jobs ended, 0 waiting in new/, 1 claimed in cur/" \
    "$out" "end of the first run"
assert_match "h2 does not answer: .*(timed out|No route to host)" "$out" "h2's line"
assert_contains "run 2: 4 ranks on $HERE h1 h3" "$out" "the second run"
assert_contains "the spool is empty: done" "$out" "the end"

# The job: done, every task succeeded exactly once, as its last attempt.
[ -f "$SPOOL/done/$job.json" ] || fail "job $job is not in done/"
assert_json "$SPOOL/out/$job/report.json" .counts.succeeded "$N"
bad=$(jq -s -r 'group_by(.task)[] |
        (map(select(.exit_code == 0 and .signal == null and .error == null
                    and (.interrupted | not)))) as $ok |
        select(($ok | length) != 1 or $ok[0].attempt != (map(.attempt) | max))
        | "task \(.[0].task): attempts \(map(.attempt)), \($ok | length) succeeded"' \
    "$RECORDS")
[ -z "$bad" ] || fail "tasks not run exactly once to success: $bad"
assert_eq "$N" "$(jq -s 'map(.task) | unique | length' "$RECORDS")" "tasks with records"
# Only what ran when the run ended ran again: at most its 8 slots (2 per
# worker rank; h2's two tasks at least, as they never ended).
again=$(jq -s '[.[] | select(.attempt > 1)] | map(.task) | unique | length' "$RECORDS")
log "$again tasks ran again (attempt 2); records: $(wc -l <"$RECORDS") for $N tasks"
[ "$again" -ge 2 ] || fail "h2's unfinished tasks were not run again ($again)"
[ "$again" -le 8 ] || fail "$again tasks ran again; at most 8 were running"
for t in $(seq 0 $((N - 1))); do
    last=$(jq -s -r --argjson t "$t" '[.[] | select(.task == $t)] | max_by(.attempt) | "\(.attempt) \(.host)"' "$RECORDS")
    assert_eq "task $t attempt ${last% *} on ${last#* }" "$(cat "$SPOOL/out/$job/$t.out")" \
        "output of task $t"
done
# h2 ran tasks before the cut, none in the second run.
hosts_after=$(jq -s -r '[.[] | select(.attempt > 1) | .host] | unique | join(" ")' "$RECORDS")
case " $hosts_after " in *" h2 "*) fail "a task ran again on h2, which was cut off" ;; esac

pass "h2 cut off mid-run: the run ended $(((t_end - t_cut) / 1000)) ms later, mpispool start finished the $N tasks on the others, $again ran again, none twice to success"
