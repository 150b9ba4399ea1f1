#!/bin/bash
# SPDX-License-Identifier: MIT
# Several coordinators on one spool (two Slurm allocations, or a lab run
# plus a laptop): 50 jobs of 20 tasks; each job is claimed by exactly one
# coordinator, all end done, each coordinator has its own journal and
# status file, and mpispool status shows them all. A coordinator that dies
# with claimed jobs: a coordinator still running adopts them (its journal
# is no longer locked), without rerunning journaled ends.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
setup_spool
LOG=$TEST_TMP/tasks.log
: >"$LOG"

# The jobs are queued before any coordinator starts, so both race for them.
for j in $(seq 1 50); do
    for t in $(seq 0 19); do echo "echo \$MPISPOOL_JOB_ID $t >> $LOG"; done \
        >"$TEST_TMP/j$j.tasks"
    submit --tasks "$TEST_TMP/j$j.tasks" --name "j$j" >>"$TEST_TMP/ids"
done

"$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 >"$TEST_TMP/a.log" 2>&1 &
A=$!
BG_PIDS+=("$A")
"$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 >"$TEST_TMP/b.log" 2>&1 &
B=$!
BG_PIDS+=("$B")
two_status() { [ "$(ls "$SPOOL"/status/*.json 2>/dev/null | wc -l)" -ge 2 ]; }
wait_until 30 two_status || fail "two status files did not appear"
status=$(mps status)
for pid in "$A" "$B"; do
    assert_contains "-$pid" "$status" "mpispool status lists coordinator $pid"
done
all_done() { [ "$(ls "$SPOOL/done" | wc -l)" -ge 50 ]; }
wait_until 120 all_done || fail "not every job ended: $(ls "$SPOOL/done" | wc -l) done"
[ -e "$SPOOL/journal/$(hostname -s)-$A.log" ] || fail "no journal of coordinator A"
[ -e "$SPOOL/journal/$(hostname -s)-$B.log" ] || fail "no journal of coordinator B"
kill -TERM "$A" "$B"
wait "$A" || fail "coordinator A exited $?"
wait "$B" || fail "coordinator B exited $?"

# Every job claimed exactly once, by one of the two; both took some.
claims_a=$(grep -c 'claimed job' "$TEST_TMP/a.log" || true)
claims_b=$(grep -c 'claimed job' "$TEST_TMP/b.log" || true)
log "A claimed $claims_a jobs, B $claims_b"
assert_eq 50 "$((claims_a + claims_b))" "claims in all"
twice=$(cat "$TEST_TMP/a.log" "$TEST_TMP/b.log" | grep -o 'claimed job [^ ]*' |
    sort | uniq -d)
[ -z "$twice" ] || fail "jobs claimed twice: $twice"
[ "$claims_a" -ge 1 ] && [ "$claims_b" -ge 1 ] ||
    fail "one coordinator did all the work (A $claims_a, B $claims_b)"
# Every task ran exactly once.
assert_eq 1000 "$(wc -l <"$LOG")" "task runs"
assert_eq 1000 "$(sort -u "$LOG" | wc -l)" "distinct tasks"
# Both stopped with nothing claimed: their journals are gone.
assert_eq 0 "$(ls "$SPOOL/journal" | grep -c '\.log$' || true)" "journals left"

# A coordinator dies with claimed jobs while another one serves.
: >"$LOG"
for t in $(seq 0 59); do echo "echo $t >> $LOG; sleep 0.1"; done \
    >"$TEST_TMP/slow.tasks"
slow=$(submit --tasks "$TEST_TMP/slow.tasks")
"$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 >"$TEST_TMP/c.log" 2>&1 &
C=$!
BG_PIDS+=("$C")
some_ran() { [ "$(wc -l <"$LOG")" -ge 10 ]; }
wait_until 30 some_ran || fail "the slow job did not start"
# D starts while C is alive: the job is C's, D leaves it alone.
"$MPISPOOL_RUN" --spool "$SPOOL" --slots 2 --rescan 0.5 \
    >"$TEST_TMP/d.log" 2>&1 &
D=$!
BG_PIDS+=("$D")
sleep 1
grep -q "adopted" "$TEST_TMP/d.log" && fail "D adopted a live coordinator's job"
# D is held (SIGSTOP) while C dies and the test reads C's journal, which D
# removes once it adopted the job.
kill -STOP "$D"
kill -KILL "$C"
wait "$C" 2>/dev/null || true
n_at_crash=$(wc -l <"$LOG")
awk -v job="$slow" '$1 == "E" && $2 == job && $5 == 1 { print $3 }' \
    "$SPOOL"/journal/*-"$C".log | sort -u >"$TEST_TMP/ended"
kill -CONT "$D"
# D notices at its next rescan and adopts the job.
wait_until 30 test -e "$SPOOL/done/$slow.json" || {
    cat "$TEST_TMP/d.log" >&2
    fail "D did not finish the dead coordinator's job"
}
grep -q "adopted job $slow" "$TEST_TMP/d.log" || fail "D did not adopt $slow"
again=$(tail -n +$((n_at_crash + 1)) "$LOG" | sort -u |
    comm -12 - "$TEST_TMP/ended")
[ -z "$again" ] || fail "journaled tasks ran again: $(echo $again)"
missing=$(comm -23 <(seq 0 59 | sort) <(sort -u "$LOG"))
[ -z "$missing" ] || fail "tasks never ran: $(echo $missing)"
assert_eq 60 "$(jq .counts.succeeded "$SPOOL/out/$slow/report.json")" \
    "succeeded tasks of the adopted job"
[ -e "$SPOOL/status/$(hostname -s)-$C.json" ] &&
    fail "the dead coordinator's status file is still there"
kill -TERM "$D"
wait "$D" || fail "coordinator D exited $?"
pass "50 jobs over two coordinators, each once; a dead one's job adopted"
