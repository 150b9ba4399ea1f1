#!/bin/bash
# SPDX-License-Identifier: MIT
# A job of 1,000,000 tasks: time `mpispool submit --tasks`, then run
# `mpirun -np 2 mpispool-run` for 30 s while sampling rank 0's memory
# (VmRSS, VmHWM), then SIGTERM. A coordinator must cost memory for running
# tasks, not for every task. Prints results; asserts nothing.
# Usage: bench/scale.sh [TASKS] [SECONDS]     (default 1000000 30)
set -euo pipefail

N=${1:-1000000}
RUN_S=${2:-30}
. "$(dirname "$0")/lib.sh" scale

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "true" }' >"$TMP/million.tasks"
SPOOL=$TMP/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
echo "scale: $N tasks of 'true', mpirun -np 2 for ${RUN_S} s, $(nproc) cores"

t0=$(now)
job=$("$MPISPOOL" --spool "$SPOOL" submit --tasks "$TMP/million.tasks")
submit_us=$(($(now) - t0))

mpirun --oversubscribe --bind-to none -np 2 "$MPISPOOL_RUN" --spool "$SPOOL" \
    >"$TMP/run.log" 2>&1 &
RUN_PID=$!

# rank0_pid: the mpispool-run child of mpirun with OMPI_COMM_WORLD_RANK=0.
rank0_pid() {
    local p
    for p in $(ps -o pid= --ppid "$RUN_PID"); do
        if grep -qxz 'OMPI_COMM_WORLD_RANK=0' "/proc/$p/environ" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

r0=""
for _ in $(seq 1 100); do
    r0=$(rank0_pid) && break
    sleep 0.1
done
[ -n "$r0" ] || { echo "rank 0 not found" >&2; tail "$TMP/run.log" >&2; exit 1; }

peak_rss=0
hwm=0
t_start=$(now)
while [ $(($(now) - t_start)) -lt $((RUN_S * 1000000)) ]; do
    kill -0 "$RUN_PID" 2>/dev/null || { echo "mpirun ended early" >&2; break; }
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$r0/status" 2>/dev/null || echo 0)
    h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$r0/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak_rss" ] && peak_rss=$rss
    [ "${h:-0}" -gt "$hwm" ] && hwm=$h
    sleep 0.5
done
elapsed_us=$(($(now) - t_start))

kill -TERM "$RUN_PID" 2>/dev/null || true
t_term=$(now)
rc=0
wait "$RUN_PID" || rc=$?
term_ms=$((($(now) - t_term) / 1000))
RUN_PID=""

completed=$(find "$SPOOL/out/$job" -maxdepth 1 -name '[0-9]*.json' | wc -l)
echo
awk -v s="$submit_us" 'BEGIN { printf "submit --tasks (%s lines):   %.2f s\n", "'"$N"'", s / 1e6 }'
echo "tasks completed in ${RUN_S} s:    $completed ($(awk -v c="$completed" \
    -v us="$elapsed_us" 'BEGIN { printf "%.0f", c / (us / 1e6) }') tasks/s)"
awk -v r="$peak_rss" -v h="$hwm" 'BEGIN {
    printf "rank 0 peak VmRSS (sampled):   %.1f MB\n", r / 1024
    printf "rank 0 VmHWM:                  %.1f MB\n", h / 1024
}'
echo "mpirun exit after SIGTERM:     $rc in ${term_ms} ms"
