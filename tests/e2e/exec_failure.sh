#!/bin/bash
# SPDX-License-Identifier: MIT
# A command that cannot be executed is reported with its errno in the
# record's error (exit_code null, not 127), and fails its job.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

printf '#!/bin/sh\necho should not run\n' >"$T/noexec.sh"
chmod 0644 "$T/noexec.sh"
mkdir "$T/adir"

missing=$(submit -- nosuchcmd --flag)
noexec=$(submit -- "$T/noexec.sh")
isdir=$(submit -- "$T/adir")
cat >"$T/mixed.json" <<'JSON'
{"tasks": [["echo", "before"], ["nosuchcmd"], ["echo", "after"]]}
JSON
mixed=$(submit "$T/mixed.json")
# A shell job whose command is missing is the shell's business: 127.
echo '{"shell": "nosuchcmd"}' >"$T/sh.json"
shell127=$(submit "$T/sh.json")

run_until_empty 2

rec=$(record "$missing" 0)
assert_file "$rec" "record of the nosuchcmd job"
assert_json "$rec" .exit_code null
assert_json "$rec" .signal null
assert_json "$rec" .timed_out false
assert_json "$rec" .error "cannot execute 'nosuchcmd': No such file or directory"
assert_state "$missing" failed
assert_json "$SPOOL/out/$missing/report.json" .state failed
assert_json "$SPOOL/out/$missing/report.json" .counts.failed 1
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" wait --timeout 5 "$missing"

rec=$(record "$noexec" 0)
assert_json "$rec" .exit_code null
assert_json "$rec" .error "cannot execute '$T/noexec.sh': Permission denied"
[ ! -s "$(task_out "$noexec" 0)" ] || fail "a non-executable script ran"
assert_state "$noexec" failed

rec=$(record "$isdir" 0)
assert_json "$rec" .exit_code null
assert_json "$rec" .error "cannot execute '$T/adir': Permission denied"

# The other tasks of the job still run.
assert_json "$(record "$mixed" 0)" .exit_code 0
assert_json "$(record "$mixed" 2)" .exit_code 0
assert_eq before "$(cat "$(task_out "$mixed" 0)")" "task 0 output"
assert_eq after "$(cat "$(task_out "$mixed" 2)")" "task 2 output"
assert_json "$(record "$mixed" 1)" .error \
    "cannot execute 'nosuchcmd': No such file or directory"
assert_json "$SPOOL/out/$mixed/report.json" .counts.succeeded 2
assert_json "$SPOOL/out/$mixed/report.json" .counts.failed 1
assert_state "$mixed" failed

rec=$(record "$shell127" 0)
assert_json "$rec" .exit_code 127
assert_json "$rec" .error null
assert_contains "nosuchcmd" "$(cat "$(task_err "$shell127" 0)")" "sh's message"

pass
