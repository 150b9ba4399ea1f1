#!/bin/bash
# SPDX-License-Identifier: MIT
# "after_notok" (Slurm's afternotok; submit --after-notok, --dependency
# afternotok:ID): a job runs only once each named job ended without
# succeeding (failed, cancelled or rejected); when one of them succeeds it
# never runs and ends cancelled, with "dependency ID succeeded
# (after_notok)" in its report, at once (without waiting for the others).
# `mpispool status` says what it waits for. Unknown ids are refused at
# submit and rejected at claim, as are a job naming itself and cycles.
# submit's dependency options land in the job file.
. "$(dirname "$0")/lib.sh"

setup_spool
T=$TEST_TMP

# ---- submit's options: ids added to the job file's lists, Slurm's spelling
A=$(submit --name a -- sh -c 'i=0; until [ -e "$0" ]; do i=$((i + 1)); [ $i -lt 1200 ] || exit 99; sleep 0.05; done; exit 1' "$T/a.go")
S=$(submit --name s -- true)
B=$(submit --name b --after-notok "$A" -- touch "$T/b.ran")
N=$(submit --name n --dependency "afternotok:$S" -- touch "$T/n.ran")
printf '{"command": ["touch", "%s"], "after": ["%s"]}\n' "$T/m.ran" "$S" >"$T/m.json"
M=$(submit --name m --dependency "afternotok:$A,afterok:$S:$S" "$T/m.json")
assert_eq "[\"$S\"] [\"$A\"]" "$(jq -c '.after, .after_notok' "$SPOOL/new/$M.json" | paste -sd' ')" \
    "dependencies of a job file and --dependency together"
EARLY=$(submit --name early --after-notok "$A:$S" -- touch "$T/early.ran")
assert_json "$SPOOL/new/$EARLY.json" '.after_notok | join(" ")' "$A $S"
ANY=$(submit --name any --after-any "$A" --after "$S" -- true)
assert_json "$SPOOL/new/$ANY.json" '[.after_any[0], .after[0]] | join(" ")' "$A $S"
K=$(submit --name k -- sleep 300)
KC=$(submit --name kc --after-notok "$K" -- touch "$T/kc.ran")
# A job that is rejected (an unknown key) also ended without succeeding.
echo '{"command": ["true"], "comand": 1}' >"$SPOOL/tmp/bad-job.json"
mv "$SPOOL/tmp/bad-job.json" "$SPOOL/new/bad-job.json"
RB=$(submit --name rb --after-notok bad-job -- touch "$T/rb.ran")

# ---- refused at submit
assert_exit 1 mps submit --after-notok 20000101-9999 -- true
assert_eq "mpispool: dependency 20000101-9999 ('after_notok') is not a job of this spool" \
    "$(cat "$T/last.err")" "unknown id at submit"
assert_exit 2 mps submit --after-notok 'a/b' -- true
assert_contains "--after-notok: 'a/b' is not a job id" "$(cat "$T/last.err")" "bad id"
assert_exit 2 mps submit --dependency "after:$S" -- true
assert_contains "Slurm's 'after' (once the job has started) is not supported" \
    "$(cat "$T/last.err")" "Slurm's after"
assert_exit 2 mps submit --dependency "afterok:$S?afternotok:$A" -- true
assert_exit 2 mps submit --dependency singleton -- true
assert_contains "'singleton' is not supported" "$(cat "$T/last.err")" "singleton"
echo '{"command": ["true"], "after_notok": "x"}' >"$T/bad.json"
assert_exit 1 mps submit "$T/bad.json"
assert_contains "'after_notok' must be an array of job ids" "$(cat "$T/last.err")" \
    "after_notok not an array"

# ---- rejected at claim: job files dropped into new/ by hand
drop() { # ID JSON
    printf '%s\n' "$2" >"$SPOOL/tmp/$1.json"
    mv "$SPOOL/tmp/$1.json" "$SPOOL/new/$1.json"
}
drop unknown-notok '{"command": ["true"], "after_notok": ["20000101-9998"]}'
drop selfish '{"command": ["true"], "after_notok": ["selfish"]}'
# A cycle of after_notok: whichever of the two is claimed first is refused
# with the cycle (the other then runs: a rejected job did not succeed).
drop cyc-a '{"command": ["true"], "after_notok": ["cyc-b"]}'
drop cyc-b '{"command": ["true"], "after_notok": ["cyc-a"]}'

start_coordinator 1 --spool "$SPOOL" --until-empty --slots 4
status_has() { mps status 2>/dev/null | grep -qF -- "$1"; }
wait_until 60 status_has "$B: waiting for $A to end without success (running)" || {
    mps status >&2 || true
    show_coordinator_log
    fail "status never showed B waiting for A to end without success"
}
jq -se --arg b "$B" --arg a "$A" '[.[].jobs[] | select(.job == $b)][0].waiting ==
    "waiting for \($a) to end without success (running)"' "$SPOOL"/status/*.json \
    >/dev/null || fail "the status file has no 'waiting' for B"
# S succeeded: N and EARLY end cancelled while A still runs.
in_failed() { [ -e "$SPOOL/failed/$1.json" ]; }
wait_until 60 in_failed "$N" || fail "$N did not end after $S succeeded"
wait_until 60 in_failed "$EARLY" || fail "$EARLY did not end after $S succeeded"
assert_state "$A" cur
# Neither job of the cycle waits for ever.
cycle_ended() { [ ! -e "$SPOOL/cur/cyc-a.json" ] && [ ! -e "$SPOOL/new/cyc-a.json" ] &&
    [ ! -e "$SPOOL/cur/cyc-b.json" ] && [ ! -e "$SPOOL/new/cyc-b.json" ]; }
wait_until 60 cycle_ended || fail "the after_notok cycle was not refused: its jobs wait"
# Cancelling K lets KC run.
mps cancel "$K" >/dev/null
touch "$T/a.go"
wait_coordinator 90
assert_eq 0 "$COORD_RC" "coordinator exit code"

assert_state "$A" failed
assert_state "$S" done
# After a failure: runs, after the dependency ended.
assert_state "$B" done
assert_file "$T/b.ran" "B's side effect"
a_end=$(time_us "$(jqf "$(record "$A" 0)" .end)")
b_start=$(time_us "$(jqf "$(record "$B" 0)" .start)")
[ "$a_end" -le "$b_start" ] || fail "B started ($b_start) before A ended ($a_end)"
assert_state "$M" done
assert_file "$T/m.ran" "M (after S succeeded and A failed) ran"
assert_state "$ANY" done
# After a success: never runs, cancelled with the reason.
for j in "$N" "$EARLY"; do
    R=$SPOOL/out/$j/report.json
    assert_state "$j" failed
    assert_json "$R" .state cancelled
    assert_json "$R" .reason "dependency $S succeeded (after_notok)"
    assert_json "$R" .counts.cancelled 1
    assert_json "$R" '.tasks | length' 0
    assert_no_file "$(record "$j" 0)" "record of $j's task"
done
assert_no_file "$T/n.ran" "N's side effect"
assert_no_file "$T/early.ran" "EARLY's side effect"
assert_contains "reason dependency $S succeeded (after_notok)" "$(mps report "$N")" \
    "mpispool report of N"
assert_exit 1 mps wait -q "$N"
grep -qF "job $N is cancelled: dependency $S succeeded (after_notok)" "$T/coordinator.log" ||
    fail "the coordinator log does not say why N was cancelled"
# A cancelled or a rejected dependency counts as not succeeded.
assert_json "$SPOOL/out/$K/report.json" .state cancelled
assert_state "$KC" done
assert_file "$T/kc.ran" "KC (after the cancelled K) ran"
assert_state bad-job rejected
assert_state "$RB" done
assert_file "$T/rb.ran" "RB (after the rejected bad-job) ran"
# Refused at claim.
assert_state unknown-notok rejected
assert_eq "dependency 20000101-9998 ('after_notok') is not a job of this spool" \
    "$(cat "$SPOOL/rejected/unknown-notok.error")" "unknown id at claim"
assert_state selfish rejected
assert_eq "'after_notok' names the job itself (selfish)" \
    "$(cat "$SPOOL/rejected/selfish.error")" "a job naming itself"
cycle_error=$(cat "$SPOOL/rejected/cyc-a.error" "$SPOOL/rejected/cyc-b.error" \
    2>/dev/null || true)
case "$cycle_error" in
"dependency cycle: cyc-a -> cyc-b -> cyc-a" | "dependency cycle: cyc-b -> cyc-a -> cyc-b") ;;
*) fail "no job of the after_notok cycle was refused with it: '$cycle_error'" ;;
esac
for j in cyc-a cyc-b; do
    [ -e "$SPOOL/rejected/$j.json" ] || [ -e "$SPOOL/done/$j.json" ] ||
        fail "$j of the cycle is neither rejected nor done"
done
pass "after_notok runs a job only after its dependencies failed, was cancelled or rejected, cancels it when one succeeds, and refuses unknown ids and cycles"
