#!/bin/bash
# SPDX-License-Identifier: MIT
# A coordinator claims only a few jobs ahead of what it can hand out (so
# that other coordinators on the spool get work), but a job that outranks
# the ones it holds is claimed at once, and an invalid one is rejected at
# once rather than left in new/.
. "$(dirname "$0")/lib.sh"

setup_spool
# Each low job keeps the one slot busy for 3 s, so that the test (however
# slow the machine) submits the high one while low1 and low2 still run.
for j in 1 2 3 4; do
    for t in $(seq 1 10); do echo "sleep 0.3"; done >"$TEST_TMP/low$j.tasks"
    eval "low$j=\$(submit --tasks \"$TEST_TMP/low$j.tasks\" --name low$j)"
done
"$MPISPOOL_RUN" --spool "$SPOOL" --slots 1 --until-empty \
    >"$TEST_TMP/coordinator.log" 2>&1 &
COORD_PID=$!
BG_PIDS+=("$COORD_PID")
claimed() { grep -q "claimed job $1" "$TEST_TMP/coordinator.log"; }
wait_until 30 claimed "$low1" || fail "low1 was not claimed"
sleep 0.5
# Two claimed ahead, the rest still in new/ for anyone.
claimed "$low4" && fail "low4 was claimed while low1 and low2 had work left"
assert_state "$low4" new
high=$(submit --name high --priority 10 -- echo high)
echo '{"command": ["true"], "bogus": 1}' >"$TEST_TMP/bad.json"
cp "$TEST_TMP/bad.json" "$SPOOL/tmp/bad-job.json"
mv "$SPOOL/tmp/bad-job.json" "$SPOOL/new/bad-job.json"
wait_until 10 test -e "$SPOOL/done/$high.json" ||
    fail "the high-priority job waited behind the claimed ones"
wait_until 10 test -e "$SPOOL/rejected/bad-job.json" ||
    fail "the invalid job file was left in new/"
# It was claimed at once, ahead of low3 (which waits its turn in new/).
order=$(grep -o "claimed job [^ ]*" "$TEST_TMP/coordinator.log" |
    awk '{print $3}' | tr '\n' ' ')
case "$order" in
"$low1 $low2 $high "*) ;;
*) fail "claim order: $order (want low1 low2 high ...)" ;;
esac
wait_coordinator 120
assert_eq 0 "$COORD_RC" "exit status"
for j in "$low1" "$low2" "$low3" "$low4"; do assert_state "$j" done; done
# Jobs waiting for a dependency do not count as work in hand: three jobs
# after a fourth that sorts after them in new/ must not keep it there.
# (The fourth comes first: submit refuses a dependency the spool does not
# know.)
echo '{"name": "first", "command": ["sleep", "0.5"]}' >"$SPOOL/tmp/zz-first.json"
mv "$SPOOL/tmp/zz-first.json" "$SPOOL/new/zz-first.json"
for k in 1 2 3; do
    printf '{"name": "after%d", "command": ["true"], "after": ["zz-first"]}\n' \
        "$k" >"$TEST_TMP/after$k.json"
    eval "after$k=\$(submit \"$TEST_TMP/after$k.json\")"
done
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
    >>"$TEST_TMP/coordinator.log" 2>&1 || {
    tail -n 20 "$TEST_TMP/coordinator.log" >&2
    fail "the dependency run failed"
}
for j in zz-first "$after1" "$after2" "$after3"; do assert_state "$j" done; done
pass "claims ahead are bounded; priority, invalid files and dependencies are not held up"
