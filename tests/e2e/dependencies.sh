#!/bin/bash
# SPDX-License-Identifier: MIT
# "after" / "after_any": a job starts only after its dependencies ended as
# needed; one whose "after" dependency failed fails unrun with the reason;
# an unknown dependency is rejected at claim. `mpispool status` says why a
# job waits (a dependency, higher priority, free slots). A higher priority
# job's task starts first on one slot. A job waiting for a dependency
# survives a crash of its coordinator.
. "$(dirname "$0")/lib.sh"

setup_spool
T=$TEST_TMP

jobfile() { # NAME JSON
    printf '%s\n' "$2" >"$T/$1.json"
    submit "$T/$1.json"
}

# ---- dependencies and waiting reasons, one slot
A=$(jobfile a "{\"name\": \"a\", \"shell\": \"sleep 2; echo a > $T/a.done\"}")
B=$(jobfile b "{\"name\": \"b\", \"after\": [\"$A\"], \"shell\": \"cat $T/a.done\"}")
D=$(jobfile d '{"name": "d", "command": ["false"]}')
C=$(jobfile c "{\"name\": \"c\", \"after_any\": [\"$D\"], \"command\": [\"true\"]}")
E=$(jobfile e "{\"name\": \"e\", \"after\": [\"$D\"], \"command\": [\"true\"]}")
LOW=$(jobfile low '{"name": "low", "priority": 1, "command": ["true"]}')
HIGH=$(jobfile high '{"name": "high", "priority": 5, "command": ["true"]}')
# An unknown dependency: submit refuses it; a job file dropped into new/
# by hand is rejected at claim.
printf '%s\n' '{"name": "u", "after": ["20000101-9999"], "command": ["true"]}' \
    >"$T/unknown.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/unknown.json"
assert_eq "mpispool: dependency 20000101-9999 ('after') is not a job of this spool" \
    "$(cat "$T/last.err")" "submit of an unknown dependency"
UNKNOWN=unknown-dep
cp "$T/unknown.json" "$SPOOL/tmp/$UNKNOWN.json"
mv "$SPOOL/tmp/$UNKNOWN.json" "$SPOOL/new/$UNKNOWN.json"
# A cycle: cycle-x waits for cycle-y, which waits for cycle-x; job files
# dropped into new/ by hand (their ids are their names; submit would
# refuse the first, naming a job that is not there yet). Whichever is
# claimed first is refused with the cycle; the other then fails for it.
X=cycle-x
printf '{"name": "x", "after": ["cycle-y"], "command": ["true"]}\n' \
    >"$SPOOL/tmp/$X.json"
printf '{"name": "y", "after": ["%s"], "command": ["true"]}\n' "$X" \
    >"$SPOOL/tmp/cycle-y.json"
mv "$SPOOL/tmp/$X.json" "$SPOOL/new/$X.json"
mv "$SPOOL/tmp/cycle-y.json" "$SPOOL/new/cycle-y.json"

# One slot: A (priority 0, first claimed... but HIGH and LOW come first by
# priority). Run in the background and look at the status meanwhile.
start_coordinator 1 --spool "$SPOOL" --until-empty --slots 1
status_has() { mps status 2>/dev/null | grep -qF -- "$1"; }
wait_until 30 status_has "$B: waiting for $A (running)" || {
    mps status >&2 || true
    show_coordinator_log
    fail "status never showed B waiting for A (running)"
}
log "status while A runs: $(mps status | grep -F "$B:")"
jq -e --arg b "$B" --arg a "$A" \
    '.jobs[] | select(.job == $b) | .waiting == "waiting for \($a) (running)"' \
    "$SPOOL"/status/*.json >/dev/null ||
    fail "status file has no 'waiting' for B"
wait_coordinator 60
assert_eq 0 "$COORD_RC" "coordinator exit code"

assert_state "$A" done
assert_state "$B" done
assert_state "$D" failed
assert_state "$C" done
assert_state "$E" failed
assert_state "$LOW" done
assert_state "$HIGH" done
assert_state "$UNKNOWN" rejected
assert_contains "dependency 20000101-9999 ('after') is not a job of this spool" \
    "$(cat "$SPOOL/rejected/$UNKNOWN.error")" "unknown dependency's reason"
cycle_error=$(cat "$SPOOL/rejected/$X.error" "$SPOOL/rejected/cycle-y.error" \
    2>/dev/null || true)
case "$cycle_error" in
"dependency cycle: $X -> cycle-y -> $X" | "dependency cycle: cycle-y -> $X -> cycle-y") ;;
*) fail "no job of the cycle was refused with it: '$cycle_error'" ;;
esac
for j in "$X" cycle-y; do
    [ -e "$SPOOL/rejected/$j.json" ] || [ -e "$SPOOL/failed/$j.json" ] ||
        fail "$j of the cycle is neither rejected nor failed"
done
assert_eq "a" "$(cat "$(task_out "$B" 0)")" "B saw A's file"
a_end=$(time_us "$(jqf "$(record "$A" 0)" .end)")
b_start=$(time_us "$(jqf "$(record "$B" 0)" .start)")
[ "$a_end" -le "$b_start" ] || fail "B started ($b_start) before A ended ($a_end)"
d_end=$(time_us "$(jqf "$(record "$D" 0)" .end)")
c_start=$(time_us "$(jqf "$(record "$C" 0)" .start)")
[ "$d_end" -le "$c_start" ] || fail "C started before D ended"
assert_json "$SPOOL/out/$E/report.json" .reason "dependency $D failed"
assert_json "$SPOOL/out/$E/report.json" .state failed
assert_no_file "$(record "$E" 0)" "E's task never ran"
assert_contains "reason dependency $D failed" "$(mps report "$E")" "mpispool report of E"
grep -qF "job $E fails: dependency $D failed" "$T/coordinator.log" ||
    fail "the coordinator log does not say why E failed"
h_start=$(time_us "$(jqf "$(record "$HIGH" 0)" .start)")
l_start=$(time_us "$(jqf "$(record "$LOW" 0)" .start)")
a_start=$(time_us "$(jqf "$(record "$A" 0)" .start)")
[ "$h_start" -lt "$l_start" ] || fail "priority 5 started after priority 1"
[ "$l_start" -lt "$a_start" ] || fail "priority 1 started after priority 0"

# ---- waiting reasons for priority and slots, while one slot is taken
rm -f "$T/coordinator.log"
BUSY=$(jobfile busy '{"name": "busy", "priority": 9, "shell": "sleep 3"}')
WIDE=$(jobfile wide '{"name": "wide", "priority": 9, "cpus": 1, "command": ["true"]}')
LOW2=$(jobfile low2 '{"name": "low2", "priority": 2, "command": ["true"]}')
start_coordinator 1 --spool "$SPOOL" --until-empty --slots 1
wait_until 30 status_has "$LOW2: waiting: priority 9 jobs first" || {
    mps status >&2 || true
    fail "status never showed low2 waiting for priority 9 jobs"
}
status_has "$WIDE: waiting for free slots (needs 1 cpu)" ||
    fail "status does not show wide waiting for a slot: $(mps status)"
wait_coordinator 60
assert_state "$LOW2" done
assert_state "$BUSY" done

# ---- a job waiting on "after" survives a crash of its coordinator
SLOW=$(jobfile slow "{\"name\": \"slow\", \"shell\": \"sleep 3; echo s > $T/slow.done\"}")
AFTER=$(jobfile after "{\"name\": \"after\", \"after\": [\"$SLOW\"], \"shell\": \"cat $T/slow.done\"}")
start_coordinator 2 --spool "$SPOOL"
wait_until 30 status_has "$AFTER: waiting for $SLOW (running)" ||
    fail "status never showed the dependent job waiting"
crash_tree "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
assert_state "$AFTER" cur
run_until_empty 2 --spool "$SPOOL"
assert_state "$SLOW" done
assert_state "$AFTER" done
assert_eq "s" "$(cat "$(task_out "$AFTER" 0)")" "the dependent job ran after the restart"
pass "after/after_any order jobs, a failed dependency fails its dependents, status says why jobs wait, a crash keeps them"
