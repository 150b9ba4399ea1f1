#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool start on this machine alone (tests/cluster/ runs it on several
# hosts): a host that does not answer ssh is left out with ssh's reason,
# an mpirun run that ends with work left is started again after --pause,
# the spool drains and start exits 0; SIGTERM to start becomes a clean
# stop (SIGUSR1 to mpirun): exit 0, interrupted tasks, resumed next time.
. "$(dirname "$0")/lib.sh"

setup_spool
export TMPDIR=$TEST_TMP # where start writes its Open MPI hostfile
HOST=$(hostname)
printf '# the lab\n%s slots=2\ndeadpc   # switched off\n' "$HOST" >"$TEST_TMP/hosts"

# A fake ssh: every host but this one is unreachable.
cat >"$TEST_TMP/fake-ssh" <<'EOF'
#!/bin/sh
for a; do
    case "$a" in
    deadpc)
        echo "ssh: connect to host deadpc port 22: No route to host" >&2
        exit 255
        ;;
    esac
done
exit 0
EOF
chmod +x "$TEST_TMP/fake-ssh"
export MPISPOOL_SSH="$TEST_TMP/fake-ssh -q"

# A wrapper mpirun whose first run dies at once, as when a PC vanishes.
cat >"$TEST_TMP/flaky-mpirun" <<EOF
#!/bin/sh
echo "\$*" >> "$TEST_TMP/mpirun.args"
if [ ! -e "$TEST_TMP/failed-once" ]; then
    touch "$TEST_TMP/failed-once"
    echo "flaky-mpirun: a host vanished" >&2
    exit 1
fi
exec mpirun --oversubscribe "\$@"
EOF
chmod +x "$TEST_TMP/flaky-mpirun"

# Usage errors.
assert_exit 2 mps start
assert_exit 2 mps start --hostfile "$TEST_TMP/hosts" stray
assert_exit 2 mps start --hostfile "$TEST_TMP/hosts" --np-per-host 0
assert_exit 0 mps start --help
assert_contains "--hostfile FILE" "$(cat "$TEST_TMP/last.out")" "start --help"
assert_exit 1 mps start --hostfile "$TEST_TMP/nosuchfile"
assert_contains "cannot open hostfile" "$(cat "$TEST_TMP/last.err")" "missing hostfile"

printf '# nobody\n\n' >"$TEST_TMP/empty-hosts"
assert_exit 1 mps start --hostfile "$TEST_TMP/empty-hosts"
assert_contains "lists no host" "$(cat "$TEST_TMP/last.err")" "empty hostfile"
printf '%s\n-oProxyCommand=touch%%20%s/pwned\n' "$HOST" "$TEST_TMP" >"$TEST_TMP/bad-hosts"
assert_exit 1 mps start --hostfile "$TEST_TMP/bad-hosts"
assert_contains "line 2: bad host name '-oProxyCommand" "$(cat "$TEST_TMP/last.err")" \
    "a host name ssh would take for an option"
assert_no_file "$TEST_TMP/pwned"

# An empty spool: nothing to do.
assert_exit 0 mps start --hostfile "$TEST_TMP/hosts"
assert_contains "the spool is empty: nothing to do" "$(cat "$TEST_TMP/last.err")" \
    "start on an empty spool"

# Ten jobs; the first mpirun fails, the second drains the spool.
ids=()
for i in $(seq 0 9); do ids+=("$(submit -- sh -c "echo job $i on \$(hostname)")"); done
t0=$(now_us)
MPISPOOL_MPIRUN=$TEST_TMP/flaky-mpirun timeout -k 5 90 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$TEST_TMP/hosts" \
    --pause 0.5 --retries 2 --run-option=--kill-grace=3 \
    >"$TEST_TMP/start.out" 2>"$TEST_TMP/start.err" ||
    { cat "$TEST_TMP/start.err" >&2; fail "mpispool start exited $?"; }
t1=$(now_us)
log "two runs, ten jobs: $(((t1 - t0) / 1000)) ms"
err=$(cat "$TEST_TMP/start.err")
assert_contains "deadpc does not answer: ssh: connect to host deadpc port 22: No route to host" \
    "$err" "progress line of a host that does not answer"
assert_contains "1 of 2 hosts answer" "$err" "hosts answering"
assert_contains "run 1 ended" "$err" "first run's end"
assert_contains "work is left: starting again in 0.5 s" "$err" "restart line"
assert_contains "run 2: 3 ranks on $HOST" "$err" "second run"
assert_contains "the spool is empty: done" "$err" "last line"
for id in "${ids[@]}"; do assert_state "$id" "done"; done
# The mpirun command line: hostfile, mapping, the ssh agent, until-empty.
args=$(tail -n 1 "$TEST_TMP/mpirun.args")
assert_match "^--hostfile [^ ]+ --bind-to none --map-by node -np 3 --mca plm_rsh_agent $TEST_TMP/fake-ssh -q .*/mpispool-run --spool $SPOOL --until-empty --kill-grace=3$" \
    "$args" "mpirun's arguments"
assert_eq 2 "$(wc -l <"$TEST_TMP/mpirun.args")" "mpirun runs"

# slots=0 on the first host: rank 0 alone there (it then runs the tasks
# itself, as mpispool-run does alone).
printf '%s slots=0\ndeadpc\n' "$HOST" >"$TEST_TMP/hosts0"
: >"$TEST_TMP/mpirun.args"
one=$(submit -- true)
MPISPOOL_MPIRUN=$TEST_TMP/flaky-mpirun timeout -k 5 60 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$TEST_TMP/hosts0" \
    2>"$TEST_TMP/start.err" || fail "start with slots=0 exited $?"
assert_contains "run 1: 1 rank on $HOST" "$(cat "$TEST_TMP/start.err")" "slots=0 run"
assert_match " -np 1 " "$(cat "$TEST_TMP/mpirun.args")" "mpirun -np with slots=0"
assert_state "$one" "done"

# Giving up: runs that finish nothing, --retries times in a row.
: >"$TEST_TMP/mpirun.args"
stuck=$(submit -- true)
cat >"$TEST_TMP/broken-mpirun" <<'EOF'
#!/bin/sh
exit 1
EOF
chmod +x "$TEST_TMP/broken-mpirun"
rc=0
MPISPOOL_MPIRUN=$TEST_TMP/broken-mpirun timeout -k 5 60 \
    "$MPISPOOL" --spool "$SPOOL" start --hostfile "$TEST_TMP/hosts" \
    --pause 0.1 --retries 2 2>"$TEST_TMP/start.err" || rc=$?
assert_eq 1 "$rc" "exit status after giving up"
assert_contains "giving up: 3 runs in a row finished no job within a minute" \
    "$(cat "$TEST_TMP/start.err")" "giving up"
assert_state "$stuck" new

# SIGTERM to start: a clean stop of the run (SIGUSR1 to mpirun), exit 0,
# without waiting for the running task (it sleeps 120 s; the bound on the
# stop is a third of that, as a sanitizer build on a loaded machine has
# taken 21 s).
LOG=$TEST_TMP/ids.log
: >"$LOG"
slow=$(submit -- sh -c "echo start >> $LOG; sleep 120; echo end >> $LOG")
MPISPOOL_MPIRUN=mpirun "$MPISPOOL" --spool "$SPOOL" start \
    --hostfile "$TEST_TMP/hosts" -- --oversubscribe \
    >"$TEST_TMP/start.out" 2>"$TEST_TMP/start.err" &
START_PID=$!
BG_PIDS+=("$START_PID")
wait_until 30 grep -q start "$LOG" || {
    cat "$TEST_TMP/start.err" >&2
    fail "the slow task did not start"
}
t0=$(now_us)
kill -TERM "$START_PID"
wait_until 60 eval '! kill -0 $START_PID' || fail "start still runs 60 s after SIGTERM"
rc=0
wait "$START_PID" || rc=$?
t1=$(now_us)
log "SIGTERM to mpispool start: exit $rc after $(((t1 - t0) / 1000)) ms"
assert_eq 0 "$rc" "exit status of start after SIGTERM"
assert_lt $(((t1 - t0) / 1000)) 40000 "ms from SIGTERM to start's exit"
assert_contains "stopping: SIGUSR1 (a clean stop) to mpirun" \
    "$(cat "$TEST_TMP/start.err")" "relay line"
assert_state "$stuck" "done"
assert_state "$slow" cur
assert_json "$(record "$slow" 0)" .interrupted true "record of the stopped task"
# Its hostfile is removed.
assert_eq "" "$(ls "$TEST_TMP"/mpispool-hosts.* 2>/dev/null)" "hostfiles left"
grep -q end "$LOG" && fail "the slow task ran to its end"

pass "start leaves out hosts that do not answer, restarts until the spool is empty, gives up after --retries, stops cleanly on SIGTERM"
