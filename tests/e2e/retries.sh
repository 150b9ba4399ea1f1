#!/bin/bash
# SPDX-License-Identifier: MIT
# "retries": n with "retry_backoff": seconds, doubling: every attempt keeps
# its own record, the delays between attempts double, and the job's
# outcome is that of its tasks' last attempts.
. "$(dirname "$0")/lib.sh"

setup_spool
COUNT=$TEST_TMP/count
# Fails twice, then succeeds.
cat >"$TEST_TMP/flaky.json" <<EOF
{"name": "flaky", "retries": 2, "retry_backoff": 0.4,
 "shell": "n=\$(cat $COUNT 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n > $COUNT; echo attempt \$n; [ \$n -ge 3 ]"}
EOF
# Talks and fails, then succeeds in silence: its output files are the
# last attempt's, empty, not the first attempt's.
cat >"$TEST_TMP/quiet.json" <<EOF
{"name": "quiet", "retries": 1, "retry_backoff": 0.1,
 "shell": "if [ \$MPISPOOL_ATTEMPT = 1 ]; then echo loud; echo louder >&2; exit 1; fi"}
EOF
# The reverse: silent and failing, then loud. Empty output files share
# one inode (hard links); the loud attempt must not write into it, which
# would show its text in every empty file of the job.
cat >"$TEST_TMP/loud.tasks" <<EOF
if [ \$MPISPOOL_ATTEMPT = 1 ]; then exit 1; fi; echo second
true
EOF
cat >"$TEST_TMP/loud.json" <<EOF
{"name": "loud", "retries": 1, "retry_backoff": 0.1,
 "task_file": "$TEST_TMP/loud.tasks"}
EOF
# Always fails: two attempts, then the job fails.
cat >"$TEST_TMP/broken.json" <<EOF
{"name": "broken", "retries": 1, "retry_backoff": 0.2, "command": ["false"]}
EOF
flaky=$(submit "$TEST_TMP/flaky.json")
broken=$(submit "$TEST_TMP/broken.json")
quiet=$(submit "$TEST_TMP/quiet.json")
loud=$(submit "$TEST_TMP/loud.json")
run_until_empty 2 --spool "$SPOOL"

assert_state "$flaky" done
R=$SPOOL/out/$flaky/report.json
assert_eq "1 2 3" "$(jq -r '[.tasks[].attempt] | map(tostring) | join(" ")' "$R")" \
    "flaky's attempts"
assert_eq "1 1 0" "$(jq -r '[.tasks[].exit_code] | map(tostring) | join(" ")' "$R")" \
    "flaky's exit codes"
assert_eq 1 "$(jq .counts.succeeded "$R")" "flaky succeeded"
assert_eq 0 "$(jq .counts.failed "$R")" "flaky failed"
# The output file holds the last attempt's.
assert_eq "attempt 3" "$(cat "$(task_out "$flaky" 0)")" "flaky's output"
# Delays: at least the backoff, then twice it.
e1=$(time_us "$(jq -r '.tasks[0].end' "$R")")
s2=$(time_us "$(jq -r '.tasks[1].start' "$R")")
e2=$(time_us "$(jq -r '.tasks[1].end' "$R")")
s3=$(time_us "$(jq -r '.tasks[2].start' "$R")")
d1=$((s2 - e1))
d2=$((s3 - e2))
log "delays: $((d1 / 1000)) ms, then $((d2 / 1000)) ms (backoff 0.4 s)"
[ "$d1" -ge 390000 ] || fail "first retry after $d1 us, before the 0.4 s backoff"
[ "$d2" -ge 790000 ] || fail "second retry after $d2 us, before the doubled 0.8 s"
[ "$d2" -lt 8000000 ] || fail "second retry only after $d2 us"

assert_state "$broken" failed
B=$SPOOL/out/$broken/report.json
assert_eq "1 2" "$(jq -r '[.tasks[].attempt] | map(tostring) | join(" ")' "$B")" \
    "broken's attempts"
assert_eq 1 "$(jq .counts.failed "$B")" "broken failed"
assert_eq failed "$(jq -r .state "$B")" "broken's state"
assert_state "$quiet" done
Q=$SPOOL/out/$quiet
assert_eq "" "$(cat "$Q/0.out")" "quiet's stdout after a silent last attempt"
assert_eq "" "$(cat "$Q/0.err")" "quiet's stderr after a silent last attempt"
assert_eq "0 0" "$(jq -r '"\(.stdout_bytes) \(.stderr_bytes)"' "$Q/0.json")" \
    "quiet's recorded output sizes"
assert_state "$loud" done
L=$SPOOL/out/$loud
assert_eq "second" "$(cat "$L/0.out")" "the loud retry's output"
assert_eq "" "$(cat "$L/1.out")" "a silent task's output"
assert_eq "" "$(cat "$L/0.err")" "the loud retry's stderr"
pass "retries with doubling backoff; every attempt recorded"
