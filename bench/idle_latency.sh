#!/bin/bash
# SPDX-License-Identifier: MIT
# Idle cost and dispatch latency of `mpirun -np 3 mpispool-run`:
#  - CPU of mpirun and its ranks over 10 s with nothing to do (% of one core;
#    the target is < 1%),
#  - rename of a job into new/ -> its task's record start, over 20
#    single-task jobs one after another (min/median/max ms; target < 10 ms);
# then of `mpirun -np 2 mpispool-run` over 10 s each:
#  - CPU while its one task runs (the ranks look at MPI every millisecond),
#  - CPU while that task is suspended by --idle-policy (the owner is
#    active; the target is the idle figure, no polling).
# Prints results; asserts nothing. (tests/e2e/idle_latency.sh and
# idle_policy.sh only guard against a spin and a missed job.)
# Usage: bench/idle_latency.sh [JOBS] [IDLE_SECONDS]   (default 20 10)
set -euo pipefail

JOBS=${1:-20}
IDLE_S=${2:-10}
. "$(dirname "$0")/lib.sh" idle

SPOOL=$TMP/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
mpirun --oversubscribe --bind-to none -np 3 "$MPISPOOL_RUN" --spool "$SPOOL" \
    >"$TMP/run.log" 2>&1 &
RUN_PID=$!

for _ in $(seq 1 200); do
    compgen -G "$SPOOL/status/*.json" >/dev/null && break
    kill -0 "$RUN_PID" 2>/dev/null || { cat "$TMP/run.log" >&2; exit 1; }
    sleep 0.1
done
compgen -G "$SPOOL/status/*.json" >/dev/null ||
    { echo "no status file after 20 s" >&2; exit 1; }
sleep 2 # past start-up

# cpu PID...: utime+stime ticks of each pid, "pid ticks" per line.
cpu() {
    local p stat rest
    for p in "$@"; do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${stat##*) }
        set -- $rest
        echo "$p $((${12} + ${13}))"
    done
}
pids=("$RUN_PID" $(ps -o pid= --ppid "$RUN_PID"))
hz=$(getconf CLK_TCK)
t0=$(now)
cpu "${pids[@]}" | sort -k1,1 >"$TMP/cpu0"
sleep "$IDLE_S"
cpu "${pids[@]}" | sort -k1,1 >"$TMP/cpu1"
t1=$(now)

echo "idle CPU over $(awk -v us=$((t1 - t0)) 'BEGIN { printf "%.1f", us / 1e6 }') s, % of one core:"
join "$TMP/cpu0" "$TMP/cpu1" | while read -r p a b; do
    name=$(cat "/proc/$p/comm" 2>/dev/null || echo '?')
    awk -v p="$p" -v n="$name" -v d="$((b - a))" -v hz="$hz" -v us="$((t1 - t0))" \
        'BEGIN { printf "  %-8s %-14s %6.2f%%\n", p, n, 100 * d / hz / (us / 1e6) }'
done
join "$TMP/cpu0" "$TMP/cpu1" | awk -v hz="$hz" -v us="$((t1 - t0))" \
    '{ d += $3 - $2 } END { printf "  total                   %6.2f%%\n", 100 * d / hz / (us / 1e6) }'

# Dispatch latency.
: >"$TMP/lat"
for i in $(seq 1 "$JOBS"); do
    id=latency-$i
    echo '{"command": ["true"]}' >"$SPOOL/tmp/$id.json"
    sleep 0.2 # idle again before the drop
    renamed=$(perl -MTime::HiRes=time -e '
        my $t = time; rename($ARGV[0], $ARGV[1]) or die "rename: $!\n";
        printf "%d\n", $t * 1e6;' "$SPOOL/tmp/$id.json" "$SPOOL/new/$id.json")
    rec=$SPOOL/out/$id/0.json
    for _ in $(seq 1 200); do
        [ -s "$rec" ] && break
        sleep 0.05
    done
    [ -s "$rec" ] || { echo "no record for $id after 10 s" >&2; exit 1; }
    start=$(date -u -d "$(jq -r .start "$rec")" +%s%6N)
    echo $((start - renamed)) >>"$TMP/lat"
done
sort -n "$TMP/lat" | awk '
    { v[NR] = $1 / 1000 }
    END {
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "dispatch latency over %d jobs (rename -> start): min %.2f ms, median %.2f ms, max %.2f ms\n",
            NR, v[1], med, v[NR]
    }'

kill -TERM "$RUN_PID"
t0=$(now)
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
echo "mpirun exited $rc $((($(now) - t0) / 1000)) ms after SIGTERM"

# tree_pct SECONDS: CPU of mpirun ($RUN_PID) and its children over SECONDS,
# in % of one core.
tree_pct() {
    local pids a b t0 t1
    read -ra pids <<<"$RUN_PID $(ps -o pid= --ppid "$RUN_PID" | xargs)"
    t0=$(now)
    a=$(cpu "${pids[@]}" | awk '{ s += $2 } END { print s + 0 }')
    sleep "$1"
    b=$(cpu "${pids[@]}" | awk '{ s += $2 } END { print s + 0 }')
    t1=$(now)
    awk -v d="$((b - a))" -v hz="$hz" -v us="$((t1 - t0))" \
        'BEGIN { printf "%.2f", 100 * d / hz / (us / 1e6) }'
}

# One task, then its suspension: the owner's input is a file touched.
ACT=$TMP/activity
LOADF=$TMP/load
echo 0.00 >"$LOADF"
touch -d '1 hour ago' "$ACT"
"$MPISPOOL" --spool "$SPOOL" submit -- sh -c "touch $TMP/running; sleep 600" >/dev/null
mpirun --oversubscribe --bind-to none -np 2 "$MPISPOOL_RUN" --spool "$SPOOL" \
    --idle-policy "load=1,idle=2s,input=$ACT,action=suspend,loadfile=$LOADF" \
    >"$TMP/run2.log" 2>&1 &
RUN_PID=$!
await 60 test -e "$TMP/running"
sleep 2
echo "CPU of mpirun -np 2 while its task runs: $(tree_pct "$IDLE_S")% of one core"
(while :; do touch "$ACT"; sleep 0.3; done) &
TOUCH_PID=$!
sleep 3 # the rank sees the owner and stops the task
echo "CPU of mpirun -np 2 while its task is suspended: $(tree_pct "$IDLE_S")% of one core"
kill "$TOUCH_PID"
