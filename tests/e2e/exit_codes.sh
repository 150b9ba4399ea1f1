#!/bin/bash
# SPDX-License-Identifier: MIT
# Exit codes, signals and timeouts end up in the task records; a job with a
# failing task ends in failed/, an all-ok job in done/, and `mpispool wait`
# says which.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

ok=$(submit --name ok -- sh -c 'exit 0')
three=$(submit -- sh -c 'exit 3')
c137=$(submit -- sh -c 'exit 137')
usr1=$(submit -- sh -c 'kill -USR1 $$; sleep 5')
sigkill=$(submit -- sh -c 'kill -KILL $$; sleep 5')
slow=$(submit --timeout 1 -- sleep 20)
cat >"$T/mixed.json" <<'JSON'
{"name": "mixed", "tasks": [["true"], ["false"], "exit 0", "exit 9"]}
JSON
mixed=$(submit "$T/mixed.json")
cat >"$T/allok.json" <<'JSON'
{"tasks": [["true"], "exit 0", ["sh", "-c", "echo fine"]]}
JSON
allok=$(submit "$T/allok.json")

# Coordinator in the background; `wait` blocks until the jobs end.
start_coordinator 2 --spool "$SPOOL" --until-empty
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait --timeout 50 "$ok"
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait --timeout 50 "$ok" "$allok"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 50 "$three"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 50 "$ok" "$mixed"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 50 --quiet \
    "$ok" "$allok" "$three" "$c137" "$usr1" "$sigkill" "$slow" "$mixed"
[ ! -s "$T/last.out" ] || fail "wait --quiet printed: $(cat "$T/last.out")"
wait_coordinator 30
assert_eq 0 "$COORD_RC" "exit code of mpispool-run --until-empty"

# check JOB EXIT_CODE SIGNAL TIMED_OUT: the record of task 0.
check() {
    local rec
    rec=$(record "$1" 0)
    assert_file "$rec" "record of job $1"
    assert_json "$rec" .job "$1"
    assert_json "$rec" .task 0
    assert_json "$rec" .attempt 1
    assert_json "$rec" .exit_code "$2"
    assert_json "$rec" .signal "$3"
    assert_json "$rec" .timed_out "$4"
}
check "$ok" 0 null false
assert_json "$(record "$ok" 0)" .error null
check "$three" 3 null false
check "$c137" 137 null false
check "$usr1" null 10 false
check "$sigkill" null 9 false
rec=$(record "$slow" 0)
assert_json "$rec" .timed_out true
assert_json "$rec" .exit_code null
assert_match '^(9|15)$' "$(jqf "$rec" .signal)" "signal of a timed-out task"
elapsed=$(jqf "$rec" .elapsed)
assert_lt "$elapsed" 10 "elapsed of a task with timeout 1 running sleep 20"

assert_state "$ok" done
assert_state "$allok" done
for j in "$three" "$c137" "$usr1" "$sigkill" "$slow" "$mixed"; do
    assert_state "$j" failed
done

# Reports: state and counts.
assert_json "$SPOOL/out/$ok/report.json" .state done
assert_json "$SPOOL/out/$three/report.json" .state failed
rep="$SPOOL/out/$mixed/report.json"
assert_json "$rep" .state failed
assert_json "$rep" .name mixed
assert_json "$rep" .counts.tasks 4
assert_json "$rep" .counts.succeeded 2
assert_json "$rep" .counts.failed 2
assert_json "$rep" '[.tasks[] | .exit_code] | sort | @json' '[0,0,1,9]'
rep="$SPOOL/out/$allok/report.json"
assert_json "$rep" .state done
assert_json "$rep" .counts.succeeded 3
assert_eq "fine" "$(cat "$(task_out "$allok" 2)")" "output of allok task 2"
for t in 0 1 2 3; do
    assert_file "$(record "$mixed" "$t")" "record of mixed task $t"
done

pass
