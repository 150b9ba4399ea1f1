#!/bin/bash
# SPDX-License-Identifier: MIT
# Arguments and shell strings reach the task byte-exact: UTF-8, quotes,
# spaces, empty arguments, newlines, backslashes, shell metacharacters.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

ARGS=(
    "héllo wörld"
    "日本語のテキスト"
    "emoji 🚀✨"
    "it's"
    'say "hi"'
    ""
    "  leading and trailing  "
    $'line one\nline two'
    'back\slash \n not a newline'
    '$HOME and `date` and $(id)'
    '*'
    $'tab\there'
    "--not-an-option"
    ""
)
# Expected: each argument followed by a NUL byte.
printf '%s\0' "${ARGS[@]}" >"$T/args.expected"

# 1. Through the CLI's argv (submit -- CMD ARGS...).
cli=$(submit --name "données 🚀 \"q\"" -- sh -c 'printf "%s\0" "$@"' sh "${ARGS[@]}")
job="$SPOOL/new/$cli.json"
assert_json "$job" '.command | length' $((4 + ${#ARGS[@]}))
jq -j '.command[4:][] | . + "\u0000"' "$job" >"$T/jobfile.args"
assert_same_file "$T/args.expected" "$T/jobfile.args" "argv in the job file"

# 2. Through a job file written by jq (argv job); "\\0" in JSON is the
# two characters \0 that printf turns into a NUL byte.
# Each argument gets a prefix "x" so jq never takes one for an option.
jq -n '{command: (["sh", "-c", "printf \"%s\\0\" \"$@\"", "sh"]
                  + ($ARGS.positional | map(.[1:])))}' \
    --args "${ARGS[@]/#/x}" >"$T/argv.json"
file=$(submit "$T/argv.json")

# 3. A shell job: the string itself holds UTF-8, quotes and newlines.
PAYLOAD=$'héllo "wörld" it\'s 日本語 🚀\n  two  spaces\tand tab \\ back $HOME `x`\n\nlast'
SCRIPT="cat <<'EOF'
$PAYLOAD
EOF
printf %s 'é\"x'"
jq -n --arg s "$SCRIPT" '{shell: $s}' >"$T/shell.json"
shell=$(submit "$T/shell.json")
printf '%s\n%s' "$PAYLOAD" 'é"x' >"$T/shell.expected"

# 4. Environment values with UTF-8 and a newline.
envj=$(submit --env $'GREETING=grüße\nzweite Zeile' -- sh -c 'printf "%s" "$GREETING"')
printf '%s' $'grüße\nzweite Zeile' >"$T/env.expected"

run_until_empty 2

assert_same_file "$T/args.expected" "$(task_out "$cli" 0)" "argv via submit --"
assert_same_file "$T/args.expected" "$(task_out "$file" 0)" "argv via job file"
assert_same_file "$T/shell.expected" "$(task_out "$shell" 0)" "shell job output"
assert_same_file "$T/env.expected" "$(task_out "$envj" 0)" "env value"
for j in "$cli" "$file" "$shell" "$envj"; do
    assert_json "$(record "$j" 0)" .exit_code 0
done
assert_json "$SPOOL/out/$cli/report.json" .name "données 🚀 \"q\""

pass
