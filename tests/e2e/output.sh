#!/bin/bash
# SPDX-License-Identifier: MIT
# Task output is captured byte-exact: 200 MB of binary stdout, stdout and
# stderr kept apart, and the byte counts in the record match the files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

dd if=/dev/urandom of="$T/ref" bs=1M count=200 status=none
head -c 3000000 /dev/urandom >"$T/small-out"
head -c 2500000 /dev/urandom >"$T/small-err"
printf 'to-out\nno newline' >"$T/sep.out"
printf 'to-err\n' >"$T/sep.err"
printf 'a\0b\377\n\r' >"$T/bin.err"

big=$(submit -- cat "$T/ref")
both=$(submit -- sh -c 'cat "$1" & cat "$2" >&2; wait' sh "$T/small-out" "$T/small-err")
cat >"$T/sep.json" <<'JSON'
{"shell": "printf 'to-out\\n'; printf 'to-err\\n' >&2; printf 'no newline'"}
JSON
sep=$(submit "$T/sep.json")
bin=$(submit -- printf 'a\0b\377\n\r')
binerr=$(submit -- sh -c 'printf "a\0b\377\n\r" >&2')
quiet=$(submit -- true)

start=$(date +%s)
run_until_empty 2
log "ran in $(($(date +%s) - start)) s"

# check JOB EXPECTED_OUT EXPECTED_ERR: files byte-exact, counts and paths in
# the record right. An empty EXPECTED means /dev/null.
check() {
    local job=$1 rec out err
    rec=$(record "$job" 0)
    out=$(task_out "$job" 0)
    err=$(task_err "$job" 0)
    assert_json "$rec" .exit_code 0
    assert_same_file "$2" "$out" "stdout of job $job"
    assert_same_file "$3" "$err" "stderr of job $job"
    assert_json "$rec" .stdout_bytes "$(stat -c %s "$out")"
    assert_json "$rec" .stderr_bytes "$(stat -c %s "$err")"
    assert_json "$rec" .stdout "$out"
    assert_json "$rec" .stderr "$err"
}

# The big one by checksum (cmp would do too, this prints something useful).
out=$(task_out "$big" 0)
assert_file "$out" "stdout of the 200 MB job"
assert_eq "$(sha256sum <"$T/ref" | cut -d' ' -f1)" \
    "$(sha256sum <"$out" | cut -d' ' -f1)" "sha256 of 200 MB stdout"
assert_json "$(record "$big" 0)" .stdout_bytes 209715200
check "$big" "$T/ref" /dev/null
check "$both" "$T/small-out" "$T/small-err"
check "$sep" "$T/sep.out" "$T/sep.err"
printf 'a\0b\377\n\r' >"$T/bin.out"
check "$bin" "$T/bin.out" /dev/null
check "$binerr" /dev/null "$T/bin.err"
check "$quiet" /dev/null /dev/null
assert_json "$(record "$quiet" 0)" .stdout_bytes 0

# report.json carries the same records.
assert_json "$SPOOL/out/$big/report.json" '.tasks[0].stdout_bytes' 209715200

pass
