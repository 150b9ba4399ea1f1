#!/bin/bash
# SPDX-License-Identifier: MIT
# Guards against the pathological, with bounds a heavily loaded machine
# meets: an idle `mpirun -np 3 mpispool-run` does not spin (under 10% of
# one core for all of mpirun's tree; about 1% is normal), a job renamed into
# new/ is noticed at once (inotify: it starts within 10 s although the full
# rescan comes only every 60 s here; some milliseconds are normal), and
# SIGTERM ends the run within 10 s. The figures themselves are measured by
# bench/idle_latency.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

start_coordinator 3 --spool "$SPOOL" --rescan 60
wait_until 20 compgen -G "$SPOOL/status/*.json" >/dev/null || {
    show_coordinator_log
    fail "no status file 20 s after starting mpirun -np 3 mpispool-run"
}
mp=$(mpirun_pid "$COORD_PID") || fail "no mpirun process under $COORD_PID"
nranks=$(rank_pids "$mp" | wc -l)
assert_eq 3 "$nranks" "mpispool-run processes under mpirun"
sleep 1 # let start-up settle

# --- idle CPU over 10 s ---------------------------------------------------
hz=$(getconf CLK_TCK)
t0=$(now_us)
c0=$(tree_cpu_ticks "$mp")
sleep 10
c1=$(tree_cpu_ticks "$mp")
t1=$(now_us)
pct=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v us="$((t1 - t0))" \
    'BEGIN { printf "%.2f", 100 * (c / hz) / (us / 1e6) }')
log "idle CPU of mpirun + 3 ranks: ${pct}% of one core over 10 s"
assert_lt "$pct" 10 "idle CPU (% of one core)"

# --- dispatch latency: rename into new/ -> record start -------------------
echo '{"command": ["true"]}' >"$SPOOL/tmp/latency-1.json"
renamed=$(rename_us "$SPOOL/tmp/latency-1.json" "$SPOOL/new/latency-1.json")
wait_until 30 test -e "$(record latency-1 0)" ||
    fail "no record 30 s after dropping latency-1 into new/"
started=$(time_us "$(jqf "$(record latency-1 0)" .start)")
lat_ms=$(awk -v a="$renamed" -v b="$started" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
log "dispatch latency (rename -> task start): ${lat_ms} ms"
assert_lt "$lat_ms" 10000 "dispatch latency in ms (a rescan would take 60 s)"
assert_lt -1 "$lat_ms" "dispatch latency (start before the rename?)"
assert_json "$(record latency-1 0)" .exit_code 0

# --- SIGTERM ---------------------------------------------------------------
ranks=$(rank_pids "$mp")
kill -TERM "$mp"
t0=$(now_us)
wait_coordinator 10
log "mpirun exited $COORD_RC after SIGTERM in $((($(now_us) - t0) / 1000)) ms"
# The ranks go with mpirun (a zombie waiting to be reaped counts as gone).
ranks_gone() {
    local p
    for p in $ranks; do
        if [ -e "/proc/$p" ] && [ "$(awk '{ print $3 }' "/proc/$p/stat")" != Z ]; then
            return 1
        fi
    done
}
wait_until 5 ranks_gone || fail "rank processes left running 5 s after mpirun: $ranks"

pass
