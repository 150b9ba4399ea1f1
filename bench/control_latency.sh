#!/bin/bash
# SPDX-License-Identifier: MIT
# How fast mpispool's controls take effect on `mpirun -np 2 mpispool-run`
# (rank 0 coordinates, rank 1 runs tasks), each the median of ROUNDS:
#  - cancel: `mpispool cancel JOB` of a running task -> the job in failed/
#    (promised: within a second; a task that ignores SIGTERM is killed half
#    a second after it);
#  - drain: `mpispool drain HOST` -> the rank shows "draining" in the
#    status file (rewritten every 250 ms), and `drain --undo` -> a task
#    that waited runs and its job is done;
#  - stop: SIGUSR1 to mpirun while a task runs (it traps TERM and exits at
#    once) -> mpirun exits.
# The full rescan of the spool is set to 60 s, so what is measured is the
# inotify path. Prints results; asserts nothing. (The tests cancel.sh,
# drain.sh and stop_resume.sh check the behaviour, with time limits that
# only catch a hang.)
# Usage: bench/control_latency.sh [ROUNDS]     (default 3)
set -euo pipefail

ROUNDS=${1:-3}
. "$(dirname "$0")/lib.sh" control

SPOOL=$TMP/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
HOST=$(hostname)
mps() { "$MPISPOOL" --spool "$SPOOL" "$@"; }
ms_since() { echo $((($(now) - $1) / 1000)); }

start_run() {
    mpirun --oversubscribe --bind-to none -np 2 "$MPISPOOL_RUN" --spool "$SPOOL" \
        --slots 2 --rescan 60 >>"$TMP/run.log" 2>&1 &
    RUN_PID=$!
    await 30 compgen -G "$SPOOL/status/*.json"
}
stop_run() {
    kill -USR1 "$RUN_PID"
    wait "$RUN_PID" || true
    RUN_PID=""
    rm -f "$SPOOL"/status/*.json
}
rank_state() {
    [ "$(jq -r 'select(.state != "stopped") | [.ranks[].state] | join(" ")' \
        "$SPOOL"/status/*.json)" = "$1" ]
}
started() { [ -e "$TMP/started.$1" ]; }

echo "control latency: mpirun -np 2, $ROUNDS rounds each, $(nproc) cores, $(hostname -s)"
start_run
: >"$TMP/cancel" && : >"$TMP/cancel-stubborn" && : >"$TMP/drain" && : >"$TMP/undo"
for i in $(seq 1 "$ROUNDS"); do
    for kind in plain stubborn; do
        trap=""
        [ "$kind" = stubborn ] && trap="trap '' TERM; "
        job=$(mps submit -- sh -c "${trap}touch $TMP/started.$kind$i; sleep 60")
        await 30 started "$kind$i"
        t0=$(now)
        mps cancel "$job" >/dev/null
        await 30 test -e "$SPOOL/failed/$job.json"
        ms_since "$t0" >>"$TMP/cancel${trap:+-stubborn}"
    done

    await 30 rank_state idle
    t0=$(now)
    mps drain "$HOST" >/dev/null
    await 30 rank_state draining
    ms_since "$t0" >>"$TMP/drain"
    job=$(mps submit -- true)
    sleep 0.5
    t0=$(now)
    mps drain --undo "$HOST" >/dev/null
    await 30 test -e "$SPOOL/done/$job.json"
    ms_since "$t0" >>"$TMP/undo"
done
stop_run

: >"$TMP/stop"
for i in $(seq 1 "$ROUNDS"); do
    job=$(mps submit -- sh -c "trap 'exit 3' TERM; touch $TMP/started.stop$i; sleep 60 & wait")
    start_run
    await 30 started "stop$i"
    t0=$(now)
    kill -USR1 "$RUN_PID"
    wait "$RUN_PID" || true
    RUN_PID=""
    ms_since "$t0" >>"$TMP/stop"
    rm -f "$SPOOL"/status/*.json
    mps cancel "$job" >/dev/null
done

report() { # WHAT FILE
    printf '%-52s median %5s ms  (%s ms)\n' "$1" "$(median <"$2")" \
        "$(sort -n "$2" | paste -sd' ')"
}
report "cancel -> job ended" "$TMP/cancel"
report "cancel of a task ignoring SIGTERM -> job ended" "$TMP/cancel-stubborn"
report "drain -> rank shows draining" "$TMP/drain"
report "drain --undo -> waiting task done" "$TMP/undo"
report "SIGUSR1 to mpirun -> mpirun exited" "$TMP/stop"
