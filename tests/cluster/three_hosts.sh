#!/bin/bash
# SPDX-License-Identifier: MIT
# A real multi-host run on this machine: three lab PCs (network namespaces
# with their own sshd, hostname and /tmp, see lib.sh) and rank 0 here.
# 1. mpirun --hostfile with ssh: tasks run on every host; their output
#    reaches the spool over MPI although the hosts share no /tmp with it.
# 2. mpispool start with a hostfile that also names a PC that is off: it is
#    left out (ssh's reason on stderr) and the spool drains on the rest.
# 3. mpispool drain h1: h1's rank is in the next run but gets no task.
# 4. SIGTERM to mpispool start stops the ranks on every PC cleanly.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$(readlink -f "$0")")/lib.sh"

cluster_setup 3
SPOOL=$CLUSTER_DIR/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1 || fail "mpispool init failed"
HERE=$(hostname)
mapfile -t MPIRUN_ARGS < <(cluster_mpirun_args)
mapfile -t NET_ARGS < <(cluster_net_args)

# The tasks print where they ran: they cannot write to the spool's /tmp.
make_tasks() { # N SLEEP
    local _
    for _ in $(seq 0 $(($1 - 1))); do
        echo "sleep $2; echo task \$MPISPOOL_TASK_ID attempt \$MPISPOOL_ATTEMPT on \$(hostname); ls /tmp | grep -c mpispool-cluster || true"
    done >"$CLUSTER_DIR/tasks"
    "$MPISPOOL" --spool "$SPOOL" submit --tasks "$CLUSTER_DIR/tasks"
}

# check_job JOB N: done, N tasks, each succeeded once; prints the hosts.
check_job() {
    local job=$1 n=$2 t
    assert_eq "" "$(find "$SPOOL/new" "$SPOOL/cur" -name '*.json')" \
        "job files in new/ and cur/ after the run"
    [ -f "$SPOOL/done/$job.json" ] || fail "job $job is not in done/"
    assert_json "$SPOOL/out/$job/report.json" .counts.succeeded "$n"
    for t in $(seq 0 $((n - 1))); do
        assert_match "^task $t attempt [0-9]+ on [^ ]+" \
            "$(head -n 1 "$SPOOL/out/$job/$t.out")" "output of task $t"
    done
    jq -r .host "$SPOOL/out/$job/records.jsonl" | sort -u
}

# 1. mpirun straight: rank 0 here (no worker here), one rank on each PC.
printf '%s slots=1\nh1 slots=1\nh2 slots=1\nh3 slots=1\n' "$HERE" \
    >"$CLUSTER_DIR/mpi-hosts"
job=$(make_tasks 24 0.2)
t0=$(now_us)
timeout -k 5 120 mpirun --hostfile "$CLUSTER_DIR/mpi-hosts" \
    --bind-to none --map-by node -np 4 "${MPIRUN_ARGS[@]}" \
    "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
    >"$CLUSTER_DIR/run1.log" 2>&1 || {
    tail -n 30 "$CLUSTER_DIR/run1.log" >&2
    fail "mpirun across h1 h2 h3 failed"
}
t1=$(now_us)
hosts=$(check_job "$job" 24 | tr '\n' ' ')
log "mpirun on 3 hosts: 24 tasks in $(((t1 - t0) / 1000)) ms on: $hosts"
assert_eq "h1 h2 h3 " "$hosts" "hosts in the records"
# Each task ran in a /tmp of its host's own: none saw the test's directory.
for t in $(seq 0 23); do
    assert_eq 0 "$(sed -n 2p "$SPOOL/out/$job/$t.out")" "task $t saw this /tmp"
done
jq -r '.ranks[] | "\(.rank) \(.host)"' "$SPOOL"/status/*.json | sort -u |
    tr '\n' ' ' | grep -q '1 h1 2 h2 3 h3' ||
    fail "status file ranks: $(jq -c '[.ranks[] | [.rank, .host]]' "$SPOOL"/status/*.json)"

# 2. mpispool start: this PC, the three, and h4 which is switched off.
printf '%s\nh1\nh2\nh3\nh4   # switched off\n' "$HERE" >"$CLUSTER_DIR/lab-hosts"
printf 'Host h4\n  HostName %s.14\n' "$CLUSTER_PREFIX" >>"$CLUSTER_SSH_CONFIG.h4"
cat "$CLUSTER_SSH_CONFIG" >>"$CLUSTER_SSH_CONFIG.h4"
job=$(make_tasks 40 0.3)
t0=$(now_us)
MPISPOOL_SSH="ssh -F $CLUSTER_SSH_CONFIG.h4" timeout -k 5 120 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$CLUSTER_DIR/lab-hosts" \
    --pause 1 --retries 2 -- "${NET_ARGS[@]}" \
    >"$CLUSTER_DIR/start.log" 2>&1 || {
    tail -n 30 "$CLUSTER_DIR/start.log" >&2
    fail "mpispool start failed"
}
t1=$(now_us)
hosts=$(check_job "$job" 40 | tr '\n' ' ')
log "mpispool start on 4 of 5 hosts: 40 tasks in $(((t1 - t0) / 1000)) ms on: $hosts"
out=$(grep '^mpispool start:' "$CLUSTER_DIR/start.log")
printf '%s\n' "$out" | sed 's/^/  | /' >&2
assert_match "h4 does not answer: .*(timed out|No route to host|unreachable)" "$out" "h4's line"
assert_contains "4 of 5 hosts answer" "$out" "hosts answering"
assert_contains "run 1: 5 ranks on $HERE h1 h2 h3" "$out" "the run"
assert_contains "the spool is empty: done" "$out" "the end"
for h in h1 h2 h3; do
    assert_contains "$h" "$hosts" "hosts that ran tasks"
done

# 3. mpispool drain h1: its rank stays in the run but gets no task.
"$MPISPOOL" --spool "$SPOOL" drain h1 >/dev/null || fail "mpispool drain h1 failed"
job=$(make_tasks 16 0.2)
MPISPOOL_SSH=$CLUSTER_SSH timeout -k 5 120 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$CLUSTER_DIR/lab-hosts" \
    --pause 1 --retries 2 -- "${NET_ARGS[@]}" \
    >"$CLUSTER_DIR/drain.log" 2>&1 || {
    tail -n 30 "$CLUSTER_DIR/drain.log" >&2
    fail "mpispool start with h1 drained failed"
}
hosts=$(check_job "$job" 16 | tr '\n' ' ')
log "h1 drained: 16 tasks ran on: $hosts"
case " $hosts " in *" h1 "*) fail "a task ran on the drained h1" ;; esac
assert_contains "run 1: 5 ranks on $HERE h1 h2 h3" "$(cat "$CLUSTER_DIR/drain.log")" \
    "h1 is still in the run"
grep -q 'rank [0-9] on h1: draining (no new tasks)' "$CLUSTER_DIR/drain.log" ||
    fail "the coordinator did not say h1 drains"
"$MPISPOOL" --spool "$SPOOL" drain --undo h1 >/dev/null

# 4. SIGTERM to mpispool start: mpirun gets SIGUSR1 and forwards it to
#    the ranks on every PC; running tasks end as interrupted, start exits
#    0, and the next start runs them again (attempt 2, which is quick).
for _ in $(seq 0 7); do
    echo "[ \$MPISPOOL_ATTEMPT = 1 ] && sleep 60; echo task \$MPISPOOL_TASK_ID attempt \$MPISPOOL_ATTEMPT on \$(hostname)"
done >"$CLUSTER_DIR/slow-tasks"
job=$("$MPISPOOL" --spool "$SPOOL" submit --tasks "$CLUSTER_DIR/slow-tasks")
MPISPOOL_SSH=$CLUSTER_SSH "$MPISPOOL" --spool "$SPOOL" start \
    --hostfile "$CLUSTER_DIR/lab-hosts" --pause 1 -- "${NET_ARGS[@]}" \
    >"$CLUSTER_DIR/stop.log" 2>&1 &
START_PID=$!
BG_PIDS+=("$START_PID")
running_on_all() {
    local st
    st=$(jq -r 'select(.state == "running") | [.ranks[] | select(.busy > 0) | .host] | unique | join(" ")' \
        "$SPOOL"/status/*.json 2>/dev/null)
    [[ "$st" == *h1*h2*h3* ]]
}
wait_until 60 running_on_all || {
    tail -n 20 "$CLUSTER_DIR/stop.log" >&2
    fail "the slow tasks did not run on h1 h2 h3"
}
t0=$(now_us)
kill -TERM "$START_PID"
wait_until 30 eval '! kill -0 $START_PID' || fail "start still runs 30 s after SIGTERM"
rc=0
wait "$START_PID" || rc=$?
t1=$(now_us)
log "SIGTERM to mpispool start on 4 PCs: exit $rc after $(((t1 - t0) / 1000)) ms"
assert_eq 0 "$rc" "exit status of mpispool start after SIGTERM"
grep -q 'stopping: SIGUSR1 (a clean stop) to mpirun' "$CLUSTER_DIR/stop.log" ||
    fail "no relay line: $(grep '^mpispool start' "$CLUSTER_DIR/stop.log")"
interrupted=$(jq -r 'select(.interrupted == true) | .host' "$SPOOL/out/$job/records.jsonl" |
    sort -u | tr '\n' ' ')
log "interrupted tasks on: $interrupted"
for h in h1 h2 h3; do
    assert_contains "$h" "$interrupted" "hosts with interrupted tasks"
done
MPISPOOL_SSH=$CLUSTER_SSH timeout -k 5 120 "$MPISPOOL" --spool "$SPOOL" start \
    --hostfile "$CLUSTER_DIR/lab-hosts" --pause 1 -- "${NET_ARGS[@]}" \
    >"$CLUSTER_DIR/resume.log" 2>&1 || {
    tail -n 20 "$CLUSTER_DIR/resume.log" >&2
    fail "the second start failed"
}
check_job "$job" 8 >/dev/null
assert_eq 0 "$(jq -s '[.[] | select(.attempt == 1 and .exit_code == 0)] | length' \
    "$SPOOL/out/$job/records.jsonl")" "first attempts that ran to their end"

pass "tasks ran on h1 h2 h3 over ssh; mpispool start left out h4 and drained the spool on the others; a drained h1 got no task; SIGTERM stopped all PCs cleanly"
