#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool drain HOST: no new task goes to the ranks on HOST, running ones
# finish; the ranks show "draining" in the status file and in mpispool
# status; drain --undo gives them work again; only root's and the spool
# administrator's drain files count. The ranks of this test run
# on this machine, so their host is its hostname. The coordinator's full
# rescan comes only every 60 s here, so the bounds below (generous, for a
# loaded machine) see that drain/ is watched; how fast a drain takes
# effect is measured by bench/control_latency.sh.
. "$(dirname "$0")/lib.sh"

setup_spool
HOST=$(hostname)
LOG=$TEST_TMP/ids.log
: >"$LOG"

# The CLI: usage errors, listing, the request file and its directory.
assert_exit 2 mps drain --undo
assert_exit 2 mps drain ../etc
assert_exit 2 mps drain .hidden
assert_exit 0 mps drain
assert_eq "" "$(cat "$TEST_TMP/last.out")" "drained hosts of a fresh spool"
# A spool made before drain/ existed gets it on demand, mode 0755: only
# the administrator drains.
assert_eq 755 "$(stat -c %a "$SPOOL/drain")" "mode of drain/ after init"
rmdir "$SPOOL/drain"
assert_exit 0 mps drain otherpc
assert_eq 755 "$(stat -c %a "$SPOOL/drain")" "mode of drain/"
assert_file "$SPOOL/drain/otherpc" "drain request"
assert_exit 0 mps drain
assert_eq otherpc "$(cat "$TEST_TMP/last.out")" "drained hosts"
assert_exit 0 mps drain --undo otherpc
assert_no_file "$SPOOL/drain/otherpc" "drain request after --undo"
assert_exit 0 mps drain --undo otherpc
assert_contains "was not draining" "$(cat "$TEST_TMP/last.out")" "undo twice"

# The ranks' states in the status file of the running coordinator.
rank_states() {
    jq -r 'select(.state != "stopped") | [.ranks[].state] | join(" ")' \
        "$SPOOL"/status/*.json 2>/dev/null
}
states_are() { [ "$(rank_states)" = "$1" ]; }

# One worker rank with two slots; it serves until stopped.
start_coordinator 2 --spool "$SPOOL" --slots 2 --rescan 60
wait_until 30 states_are idle || {
    show_coordinator_log
    fail "the worker rank never became idle: '$(rank_states)'"
}

# A drain file of another user (a spool whose drain/ is still mode 1733
# from an older mpispool) drains nothing and is not listed.
: >"$TEST_TMP/drain-file"
chown 65534 "$TEST_TMP/drain-file"
mv "$TEST_TMP/drain-file" "$SPOOL/drain/$HOST"
assert_exit 0 mps drain
assert_eq "" "$(cat "$TEST_TMP/last.out")" "drained hosts with another's file"
first=$(submit -- true)
wait_until 20 test -f "$SPOOL/done/$first.json" ||
    fail "another user's drain file kept a task from running"
wait_until 10 states_are idle || fail "rank state with another's drain file: '$(rank_states)'"
rm "$SPOOL/drain/$HOST"

# A task that runs when the host is drained finishes, and succeeds.
long=$(submit -- sh -c "echo start long >> $LOG; sleep 2; echo end long >> $LOG")
wait_until 20 grep -q 'start long' "$LOG" || fail "the long task did not start"
t0=$(now_us)
assert_exit 0 mps drain "$HOST"
assert_contains "host $HOST: draining" "$(cat "$TEST_TMP/last.out")" "drain output"
wait_until 20 states_are draining || fail "rank state 20 s after drain: '$(rank_states)'"
t1=$(now_us)
log "rank draining $(((t1 - t0) / 1000)) ms after mpispool drain"
assert_exit 0 mps status
assert_match "[[:space:]]draining[[:space:]]" "$(cat "$TEST_TMP/last.out")" \
    "mpispool status shows the draining rank"
assert_contains "drained hosts (mpispool drain): $HOST" "$(cat "$TEST_TMP/last.out")" \
    "mpispool status lists the drained host"
assert_exit 0 mps status --json
assert_eq "[\"$HOST\"]" "$(jq -c .spool.drained "$TEST_TMP/last.out")" \
    "status --json .spool.drained"

# New work waits while the host is drained.
short=$(submit -- sh -c "echo start short >> $LOG")
wait_until 20 test -f "$SPOOL/done/$long.json" || fail "the long task did not end"
assert_json "$(record "$long" 0)" .exit_code 0 "record of the task that ran on"
sleep 1.5
assert_state "$short" cur
assert_no_file "$(record "$short" 0)" "record of a task on a drained host"
grep -q 'start short' "$LOG" && fail "a task started on a drained host"
states_are draining || fail "rank state while drained: '$(rank_states)'"

# Undo: the waiting task runs at once.
t0=$(now_us)
assert_exit 0 mps drain --undo "$HOST"
wait_until 20 test -f "$SPOOL/done/$short.json" ||
    fail "the task did not run within 20 s of drain --undo"
t1=$(now_us)
log "task done $(((t1 - t0) / 1000)) ms after drain --undo"
wait_until 5 states_are idle || fail "rank state after undo: '$(rank_states)'"

# A drained host's short name drains its ranks too; a drain seen at start
# (the rescan, not inotify) holds from the first task.
kill -USR1 "$(mpirun_pid "$COORD_PID")"
wait_coordinator 30
assert_eq 0 "$COORD_RC" "exit status after SIGUSR1"
assert_exit 0 mps drain "${HOST%%.*}"
third=$(submit -- sh -c "echo start third >> $LOG")
: >"$TEST_TMP/coordinator.log"
start_coordinator 2 --spool "$SPOOL" --slots 2 --rescan 60
wait_until 30 states_are draining || {
    show_coordinator_log
    fail "rank state of a new run on a drained host: '$(rank_states)'"
}
sleep 1
assert_state "$third" cur
assert_exit 0 mps drain --undo "${HOST%%.*}"
wait_until 20 test -f "$SPOOL/done/$third.json" ||
    fail "the third task did not run within 20 s of drain --undo"
grep -q 'rank 1 on .*: draining (no new tasks)' "$TEST_TMP/coordinator.log" ||
    fail "no drain line in the coordinator's log"
kill -USR1 "$(mpirun_pid "$COORD_PID")"
wait_coordinator 30

pass "drain stops new tasks on the host, running ones finish, --undo resumes"
