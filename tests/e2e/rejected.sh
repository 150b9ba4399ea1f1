#!/bin/bash
# SPDX-License-Identifier: MIT
# Job files dropped into new/ by hand: invalid ones end in rejected/ with a
# one-line JOBID.error, valid ones after them still run. Both while the
# coordinator starts (scan) and while it is running (new files noticed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# drop NAME CONTENT: write into tmp/ and rename into new/ (as a careful
# user or another program would).
drop() {
    printf '%s' "$2" >"$SPOOL/tmp/$1.json"
    mv "$SPOOL/tmp/$1.json" "$SPOOL/new/$1.json"
}

# check_rejected NAME [TEXT]: in rejected/, with a one-line .error.
check_rejected() {
    local err="$SPOOL/rejected/$1.error"
    assert_state "$1" rejected
    assert_file "$err" "rejection reason"
    assert_eq 1 "$(wc -l <"$err")" "lines in $1.error"
    [ "$(tail -c 1 "$err" | od -An -c | tr -d ' ')" = '\n' ] ||
        fail "$1.error does not end with a newline"
    [ "$(wc -c <"$err")" -gt 1 ] || fail "$1.error is empty"
    if [ $# -gt 1 ]; then
        assert_contains "$2" "$(cat "$err")" "$1.error"
    fi
    assert_no_file "$SPOOL/out/$1/0.json" "record of rejected job $1"
}

# --- before the coordinator starts ----------------------------------------
drop handmade-1 '{"comand": ["true"]}'
drop handmade-2 '{"command": ["true"'
drop handmade-3 '{"command": []}'
drop handmade-4 '{"command": ["true"], "shell": "true"}'
drop handmade-5 '{"command": ["true"], "cpus": "four"}'
drop handmade-6 "$(printf '{"command": ["echo", "\377\376"]}')"
drop handmade-7 '["true"]'
drop handmade-8 ''
# A symlink to a valid job file is not followed.
echo '{"command": ["true"]}' >"$T/target.json"
ln -s "$T/target.json" "$SPOOL/new/handmade-9.json"
drop handmade-ok '{"command": ["echo", "hand made"]}'
mkdir -p "$T/hm"
printf '# two tasks\necho one\n\necho two\n' >"$SPOOL/data/handmade-tf.tasks"
drop handmade-tf "{\"task_file\": \"handmade-tf.tasks\", \"submit_dir\": \"$T/hm\"}"

run_until_empty 2

check_rejected handmade-1 "unknown key 'comand'"
check_rejected handmade-2
check_rejected handmade-3 command
check_rejected handmade-4
check_rejected handmade-5 cpus
check_rejected handmade-6
check_rejected handmade-7
check_rejected handmade-8
check_rejected handmade-9
assert_state handmade-ok done
assert_eq "hand made" "$(cat "$(task_out handmade-ok 0)")" "output of handmade-ok"
assert_json "$(record handmade-ok 0)" .job handmade-ok
assert_state handmade-tf done
assert_eq one "$(cat "$(task_out handmade-tf 0)")" "task 0 of handmade-tf"
assert_eq two "$(cat "$(task_out handmade-tf 1)")" "task 1 of handmade-tf"
assert_json "$SPOOL/out/handmade-tf/report.json" .counts.tasks 2

# --- while the coordinator runs --------------------------------------------
start_coordinator 2 --spool "$SPOOL"
wait_until 20 compgen -G "$SPOOL/status/*.json" >/dev/null ||
    fail "no status file 20 s after starting the coordinator"
drop handmade-10 '{"command": ["true"], "timeout": "soon"}'
drop handmade-11 '{"shell": "echo late; echo late-err >&2", "name": "after-bad"}'
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait --timeout 30 handmade-11
wait_until 10 test -e "$SPOOL/rejected/handmade-10.error" ||
    fail "handmade-10 not rejected while the coordinator runs"
check_rejected handmade-10 timeout
assert_state handmade-11 done
assert_eq late "$(cat "$(task_out handmade-11 0)")" "output of handmade-11"
assert_eq late-err "$(cat "$(task_err handmade-11 0)")" \
    "stderr of handmade-11"
[ -z "$(ls -A "$SPOOL/new")" ] || fail "files left in new/: $(ls "$SPOOL/new")"

# SIGTERM to mpirun stops the coordinator (mpirun's own exit code is logged).
mp=$(mpirun_pid "$COORD_PID") || fail "no mpirun process under $COORD_PID"
kill -TERM "$mp"
wait_coordinator 15
log "mpirun exit code after SIGTERM: $COORD_RC"

pass
