#!/bin/bash
# SPDX-License-Identifier: MIT
# The mpispool CLI without a coordinator: help, version, usage errors, init,
# submit's output and the validation of job files at submit time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP

# --- help, version, usage exit codes --------------------------------------
assert_exit 0 "$MPISPOOL" --help
[ -s "$T/last.out" ] || fail "mpispool --help printed nothing on stdout"
assert_contains "submit" "$(cat "$T/last.out")" "mpispool --help"
assert_exit 0 "$MPISPOOL" -h
assert_exit 0 "$MPISPOOL" --version
assert_match '[0-9]+\.[0-9]+' "$(cat "$T/last.out")" "mpispool --version"
for cmd in init submit status wait report; do
    assert_exit 0 "$MPISPOOL" "$cmd" --help
    [ -s "$T/last.out" ] || fail "mpispool $cmd --help printed nothing"
done
assert_exit 0 "$MPISPOOL_RUN" --help
[ -s "$T/last.out" ] || fail "mpispool-run --help printed nothing on stdout"
assert_exit 0 "$MPISPOOL_RUN" --version

assert_exit 2 "$MPISPOOL"
assert_exit 2 "$MPISPOOL" frobnicate
[ -s "$T/last.err" ] || fail "unknown command: no message on stderr"
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --no-such-option
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" submit --no-such-option -- true
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" submit --cpus
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" submit
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" wait
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" report
assert_exit 2 "$MPISPOOL" init
assert_exit 2 "$MPISPOOL_RUN" --no-such-option
[ -z "$(ls -A "$SPOOL/new")" ] || fail "a usage error left a job in new/"

# --- init -----------------------------------------------------------------
for d in tmp new cur done failed rejected cancel out journal status data; do
    [ -d "$SPOOL/$d" ] || fail "init did not create $d/"
done
assert_eq 1733 "$(stat -c %a "$SPOOL/new")" "mode of new/"
assert_eq 1733 "$(stat -c %a "$SPOOL/tmp")" "mode of tmp/"
# Idempotent: a second init succeeds and keeps what is there.
echo '{"command": ["true"]}' >"$SPOOL/new/keep-me.json"
assert_exit 0 "$MPISPOOL" init "$SPOOL"
assert_file "$SPOOL/new/keep-me.json" "job kept by a second init"
rm "$SPOOL/new/keep-me.json"
# A fresh path, parents included.
assert_exit 0 "$MPISPOOL" init "$T/a/b/spool2"
[ -d "$T/a/b/spool2/new" ] || fail "init of a nested path made no new/"
# Unusable paths: runtime failure (1) with a git-style message.
touch "$T/plainfile"
for bad in /dev/null/spool "$T/plainfile/spool" "$T/plainfile"; do
    assert_exit 1 "$MPISPOOL" init "$bad"
    assert_match '^mpispool: ' "$(head -n 1 "$T/last.err")" "init $bad message"
done
# Commands on something that is not a spool fail with 1 and say so.
assert_exit 1 "$MPISPOOL" --spool "$T/not-a-spool" status
assert_match '^mpispool: ' "$(head -n 1 "$T/last.err")" "status on a non-spool"
assert_exit 1 "$MPISPOOL" --spool "$T/not-a-spool" submit -- true

# --- submit ---------------------------------------------------------------
mkdir "$T/work"
cd "$T/work"
id1=$(CLI_TEST_VAR='captured at submit' submit -- echo hello)
assert_match '^[0-9]{8}-[0-9]{4,}$' "$id1" "job id format YYYYMMDD-NNNN"
assert_eq "$(date -u +%Y%m%d)" "${id1%%-*}" "job id date (UTC)"
job="$SPOOL/new/$id1.json"
assert_file "$job" "submitted job file"
assert_json "$job" '.command | @json' '["echo","hello"]'
assert_json "$job" '.submit_dir' "$T/work"
assert_json "$job" '.submit_env | type' object
assert_json "$job" '.submit_env.CLI_TEST_VAR' "captured at submit"
assert_json "$job" '.submit_env.PATH' "$PATH"
[ -z "$(ls -A "$SPOOL/tmp")" ] || fail "submit left files in tmp/"

# $MPISPOOL_SPOOL instead of --spool; ids differ.
id2=$(MPISPOOL_SPOOL=$SPOOL "$MPISPOOL" submit -- true) ||
    fail "submit with \$MPISPOOL_SPOOL failed"
assert_match '^[0-9]{8}-[0-9]{4,}$' "$id2" "id from submit with \$MPISPOOL_SPOOL"
assert_ne "$id1" "$id2" "second job id"
assert_file "$SPOOL/new/$id2.json"

# Options land in the job file.
mkdir "$T/elsewhere"
id3=$(submit --name "my job" --cpus 2 --timeout 30 --env A=1 --env 'B=x=y z' \
    --cwd "$T/elsewhere" -- sh -c 'exit 0')
job="$SPOOL/new/$id3.json"
assert_json "$job" '.name' "my job"
assert_json "$job" '.cpus' 2
assert_json "$job" '.timeout' 30
assert_json "$job" '.env.A' 1
assert_json "$job" '.env.B' "x=y z"
assert_json "$job" '.cwd' "$T/elsewhere"
assert_json "$job" '.command | @json' '["sh","-c","exit 0"]'

# A job file: submitted as given, plus the submit keys.
cat >"$T/good.json" <<'JSON'
{"name": "from-file", "shell": "echo from file", "env": {"K": "V"}}
JSON
id4=$(submit "$T/good.json")
job="$SPOOL/new/$id4.json"
assert_json "$job" '.name' from-file
assert_json "$job" '.shell' "echo from file"
assert_json "$job" '.env.K' V
assert_json "$job" '.submit_dir' "$T/work"

# Invalid job files are refused at submit, with the validator's message.
count_new() { ls -A "$SPOOL/new" | wc -l; }
before=$(count_new)
echo '{"comand": ["true"]}' >"$T/typo.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/typo.json"
assert_contains "unknown key 'comand'" "$(cat "$T/last.err")" "submit typo.json"
assert_match '^mpispool: ' "$(head -n 1 "$T/last.err")" "submit typo.json"
[ ! -s "$T/last.out" ] || fail "a refused submit printed on stdout"
echo '{"command": ["true"], "cpus": 0}' >"$T/cpus.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/cpus.json"
assert_contains "cpus" "$(cat "$T/last.err")" "submit cpus.json"
echo '{"command": []}' >"$T/empty.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/empty.json"
echo '{"command": ["true"], "shell": "true"}' >"$T/both.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/both.json"
printf '{"command": ["true"' >"$T/truncated.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/truncated.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/does-not-exist.json"
assert_contains "does-not-exist.json" "$(cat "$T/last.err")" "missing file"
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" submit --cpus zero -- true
assert_eq "$before" "$(count_new)" "jobs in new/ after refused submits"
[ -z "$(ls -A "$SPOOL/tmp")" ] || fail "a refused submit left files in tmp/"

# --- status and wait without a coordinator --------------------------------
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" status
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" status --json
jq -e . "$T/last.out" >/dev/null || fail "status --json is not JSON"
# wait gives up after --timeout with 1 (the job never ran).
start=$(date +%s%N)
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 1 "$id1"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -ge 900 ] || fail "wait --timeout 1 returned after ${elapsed_ms} ms"
[ "$elapsed_ms" -lt 10000 ] || fail "wait --timeout 1 took ${elapsed_ms} ms"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 1 no-such-job
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" report no-such-job

pass
