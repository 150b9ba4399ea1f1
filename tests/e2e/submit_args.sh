#!/bin/bash
# SPDX-License-Identifier: MIT
# `mpispool submit -- COMMAND ::: ARGS` at submit time (no coordinator):
# the job it makes, what it refuses and with which exit code and message,
# that a refusal leaves nothing in the spool, and that without ::: or ::::
# `submit -- COMMAND ARG...` is still one task run without a shell. The
# command lines themselves are compared with GNU parallel's in
# parallel_args.sh.
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# --- the job --------------------------------------------------------------
job=$(submit --name conv --cpus 2 -- convert {} {.}.png ::: a.jpg 'b c.jpg')
jobfile=$SPOOL/new/$job.json
assert_json "$jobfile" .task_file "$job.tasks"
assert_json "$jobfile" .name conv
assert_json "$jobfile" .cpus 2
assert_json "$jobfile" 'has("command")' false
assert_eq "convert a.jpg a.png
convert 'b c.jpg' 'b c'.png" "$(cat "$SPOOL/data/$job.tasks")" "task file"
# Private: it holds the submitter's input (the coordinator reads it as them).
assert_eq 600 "$(stat -c %a "$SPOOL/data/$job.tasks")" "mode of the task file"
# Only the copy is left in data/: the file the lines were made in is gone.
assert_eq "$job.tasks" "$(ls -A "$SPOOL/data")" "files in data/"

# '--options' and ':::' in the command are the command's and the
# separators, as in parallel.
job=$(submit -- ./sim --a {1} --b {2} ::: 1 2 ::: x)
assert_eq "./sim --a 1 --b x
./sim --a 2 --b x" "$(cat "$SPOOL/data/$job.tasks")" "options in the command"

# Argument files and standard input.
printf 'one\ntwo\n' >inputs.txt
job=$(submit -- ./run {} :::: inputs.txt)
assert_eq "./run one
./run two" "$(cat "$SPOOL/data/$job.tasks")" ":::: FILE"
job=$(printf 'x\n' | submit -- ./run {} :::: -)
assert_eq "./run x" "$(cat "$SPOOL/data/$job.tasks")" ":::: -"

# Without ::: or :::: the command is one task, run without a shell, {}
# and all.
job=$(submit -- echo {} 'a b')
assert_json "$SPOOL/new/$job.json" '.command | join("|")' "echo|{}|a b"
assert_json "$SPOOL/new/$job.json" 'has("task_file")' false

# --- refusals -------------------------------------------------------------
before=$(ls -A "$SPOOL/new" "$SPOOL/data" | sort)

# refused CODE MESSAGE ARGS...: submit ARGS exits CODE, says MESSAGE on
# stderr after "mpispool: ", and queues nothing.
refused() {
    local code=$1 message=$2
    shift 2
    assert_exit "$code" "$MPISPOOL" --spool "$SPOOL" submit "$@"
    assert_contains "mpispool: $message" "$(cat "$T/last.err")" "message of submit $*"
    assert_eq "" "$(cat "$T/last.out")" "stdout of submit $*"
    assert_eq "$before" "$(ls -A "$SPOOL/new" "$SPOOL/data" | sort)" \
        "spool after submit $*"
}

# Usage errors (2): what parallel has and mpispool does not.
refused 2 "'{%}' is not supported (GNU parallel's job slot" -- echo {%} ::: a
refused 2 "'{= perl expression =}' is not supported" -- echo '{= s/a/b/ =}' ::: a
refused 2 "'{..}' is not supported (a replacement string of GNU parallel --plus)" \
    -- echo {..} ::: a
refused 2 "'{##}' is not supported" -- echo {##} ::: a
refused 2 "'{3}': there are only 2 argument sources" -- echo {3} ::: a ::: b
refused 2 "'{0}': argument positions count from 1" -- echo {0} ::: a
refused 2 "':::' must be followed by arguments" -- echo {} :::
refused 2 "'::::' must be followed by argument files" -- echo {} ::: a ::::
refused 2 "'::::' names standard input ('-') twice" -- echo :::: - ::::+ -
refused 2 "':::' cannot be combined with --resume-failed" \
    --resume-failed "$job" -- echo ::: a
refused 2 "unknown option '--colsep'" --colsep , -- echo {1} ::: a,b
refused 2 "give only one of JOB.json, --tasks FILE or -- COMMAND" \
    --tasks inputs.txt -- echo ::: a
# Runtime refusals (1): argument files, and lines a task file cannot hold.
refused 1 "cannot open argument file 'missing.txt': No such file or directory" \
    -- echo :::: missing.txt
: >empty.txt
refused 1 "argument file 'empty.txt' is empty" -- echo :::: empty.txt
printf 'a\nb\0c\n' >nul.txt
refused 1 "argument file 'nul.txt': line 2: NUL byte" -- echo :::: nul.txt
refused 1 "command line 2 ('#b') starts with '#', which a task file reads as a comment" \
    -- {} ::: 'echo a' '#b'
refused 1 "command line 1 ('# a') starts with '#'" -- '#' {} ::: a
refused 1 "command line 1 ('') is empty or white space" -- {} ::: ''
refused 1 "command line 1 ('echo a ?') ends in a carriage return" \
    -- echo {} $'\r' ::: a
refused 1 "command line 1 ('echo a?echo a') holds a newline" -- $'echo a\necho' {} ::: a
# 3000^3 lines: refused at once, before any is made.
seq 1 3000 >n3000
refused 1 "the argument sources make more than 10000000 command lines" \
    -- echo :::: n3000 n3000 n3000
# And submit exits 0 again once the line is fine.
job=$(submit -- echo {} ::: '#b')
assert_eq "echo '#b'" "$(cat "$SPOOL/data/$job.tasks")" "a quoted '#'"

pass
