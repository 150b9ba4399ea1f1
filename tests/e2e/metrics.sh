#!/bin/bash
# SPDX-License-Identifier: MIT
# --metrics-file: Prometheus text-format metrics, written FILE.tmp then
# renamed, while running and at exit; checked by a strict format checker
# (promcheck.py) and for their values: running tasks while one runs, task
# and job totals (rejected job files too), the task duration histogram,
# per-rank busy slots.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "metrics: SKIP: python3 is not installed" >&2; exit 77; }
CHECK=$(dirname "$0")/promcheck.py
python3 "$CHECK" --self-test || fail "promcheck.py refuses bad input badly"

setup_spool
M=$TEST_TMP/metrics/mpispool.prom
mkdir -p "$TEST_TMP/metrics"
metric() { # NAME{LABELS} [FILE]: its value
    awk -v n="$1" '$1 == n { print $2 }' "${2:-$M}"
}

SLOW=$(submit --name slow -- sh -c 'touch '"$TEST_TMP"'/slow.started; sleep 4')
OK=$(submit --name ok --tasks <(printf 'true\ntrue\nsleep 0.3\n'))
BAD=$(submit --name bad -- false)
# Two job files a coordinator must reject (not JSON; an unknown key).
printf '{"command": ["true"' >"$SPOOL/tmp/broken.json"
mv "$SPOOL/tmp/broken.json" "$SPOOL/new/broken.json"
printf '{"comand": ["true"]}' >"$SPOOL/tmp/typo.json"
mv "$SPOOL/tmp/typo.json" "$SPOOL/new/typo.json"
start_coordinator 2 --spool "$SPOOL" --until-empty --metrics-file "$M"
wait_until 30 test -e "$TEST_TMP/slow.started" || fail "the slow task never started"
# One snapshot of the file (it is rewritten every 2 s) for every check
# made while the task runs.
SNAP=$TEST_TMP/metrics/running.prom
running_seen() {
    [ -f "$M" ] && cp "$M" "$SNAP" &&
        [ "$(metric mpispool_tasks_running "$SNAP")" = 1 ]
}
wait_until 10 running_seen || {
    cat "$M" >&2 || true
    fail "the metrics never showed the slow task running"
}
python3 "$CHECK" "$SNAP" || fail "metrics while running are not valid"
busy=$(awk '/^mpispool_rank_busy_slots\{/ { s += $2 } END { print s + 0 }' "$SNAP")
assert_eq 1 "$busy" "busy slots while one task runs"
wait_coordinator 60
assert_eq 0 "$COORD_RC" "coordinator exit code"
assert_state "$SLOW" done
assert_state "$OK" done
assert_state "$BAD" failed
assert_state broken rejected
assert_state typo rejected

python3 "$CHECK" "$M" || { cat "$M" >&2; fail "final metrics are not valid"; }
assert_no_file "$M.tmp" "metrics temporary file"
assert_eq 4 "$(metric mpispool_tasks_succeeded_total)" "tasks succeeded"
assert_eq 1 "$(metric mpispool_tasks_failed_total)" "tasks failed"
assert_eq 2 "$(metric mpispool_jobs_done_total)" "jobs done"
assert_eq 1 "$(metric mpispool_jobs_failed_total)" "jobs failed"
assert_eq 2 "$(metric mpispool_jobs_rejected_total)" "jobs rejected"
assert_eq 0 "$(metric mpispool_tasks_running)" "running at exit"
assert_eq 0 "$(metric mpispool_queue_tasks_pending)" "pending at exit"
assert_eq 5 "$(metric mpispool_task_duration_seconds_count)" "histogram count"
assert_eq 5 "$(metric 'mpispool_task_duration_seconds_bucket{le="+Inf"}')" "+Inf bucket"
# The slow task took about 4 s: in no bucket up to 1 s, in the 5 s one.
le1=$(metric 'mpispool_task_duration_seconds_bucket{le="1"}')
le5=$(metric 'mpispool_task_duration_seconds_bucket{le="5"}')
assert_eq "4 5" "$le1 $le5" "buckets le=1 and le=5"
sum=$(metric mpispool_task_duration_seconds_sum)
awk -v s="$sum" 'BEGIN { exit !(s >= 4 && s < 10) }' || fail "duration sum $sum not in [4, 10)"
grep -q '^# TYPE mpispool_task_duration_seconds histogram$' "$M" || fail "no histogram TYPE"
grep -q '^mpispool_rank_busy_slots{host="[^"]*",rank="1"} 0$' "$M" ||
    fail "no per-rank busy slots with host and rank labels"
pass "metrics valid while running and at exit, with the right counts"
