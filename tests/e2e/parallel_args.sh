#!/bin/bash
# SPDX-License-Identifier: MIT
# `mpispool submit -- COMMAND {} ::: ARGS` makes the command lines GNU
# parallel makes: for the same templates and inputs (::: lists, :::: files
# and stdin, :::+ and ::::+ links, several sources), the job's task file
# and `mpispool log`'s Command column are byte for byte the lines of
# `parallel -k --dry-run`, in the same order, and the tasks' outputs are
# `parallel -k`'s, for arguments with spaces, quotes, $, backslashes,
# globs, a leading -, non-ASCII, empty ones and ones with newlines; {#} is
# the task number (MPISPOOL_TASK_ID + 1, the log's Seq).
. "$(dirname "$0")/lib.sh"

command -v parallel >/dev/null || {
    echo "parallel_args: SKIP: GNU parallel is not installed (scripts/install-deps.sh)"
    exit 77
}
parallel --version 2>/dev/null | grep -q 'GNU parallel' || {
    echo "parallel_args: SKIP: 'parallel' is not GNU parallel (moreutils?)"
    exit 77
}
setup_spool
cd "$TEST_TMP"
export PARALLEL_HOME=$TEST_TMP/parallel-home # no ~/.parallel of the caller
export PARALLEL_SHELL=/bin/sh                # the shell of mpispool's tasks
unset PARALLEL
touch a.txt b.txt # what an unquoted *.txt would become

AWKWARD=(plain 'two words' "it's" "''" "'" "a'" "'a" 'say "hi"' '$HOME'
    '$(echo x)' '`id`' 'back\slash' '\' '*.txt' '?' '-n' '--' '-e'
    'héllo wörld' '🚀' 'é¯' '' ' ' $'tab\there' '#not-a-comment' '~'
    'a;b' 'a|b' 'a&b' '<in>' '!' '{}' 'x=y' '  lead' 'trail  ' $'cr\r'
    'A-Z_0.9+/x' '%s' 'a,b:c@d')
PATHS=(a/b.c a.b.c.d dir.d/f .bashrc x. a/ / '' . .. //a a//b/ ./x
    'sp ace/f.t x' /abs/dir/file.tar.gz)

# Argument files: awkward lines, an empty line, CRLF lines, and a last
# line without its newline.
printf '%s\n' plain 'two words' "it's" '$HOME' '' '*.txt' 'é' >args1
printf 'dos\r\nline\r\n' >>args1
printf 'no-newline' >>args1
printf '%s\n' 1 2 3 4 5 6 7 8 9 10 11 12 >args2
printf '%s\n' 'x y' '' "z'" >args3

ncase=0
JOBS=()
RUN=()
DRY_PIDS=()

# check [--dry] WORDS...: submit WORDS after '--' (stdin passed on) and
# start `parallel -k --dry-run WORDS` (in the background: it takes a
# second or more to start) to compare with the job's task file; unless
# --dry, the tasks' outputs are later compared with what parallel prints
# when it runs those lines.
check() {
    local run=1 id
    if [ "$1" = --dry ]; then
        run=0
        shift
    fi
    ncase=$((ncase + 1))
    cat >"stdin.$ncase"
    id=$(submit -- "$@" <"stdin.$ncase")
    printf '%s\n' "$*" >"words.$ncase"
    parallel -k --dry-run "$@" <"stdin.$ncase" >"dry.$ncase" 2>"dry.$ncase.err" &
    DRY_PIDS[ncase]=$!
    BG_PIDS+=("$!")
    JOBS[ncase]=$id
    RUN[ncase]=$run
}

# Quoting of each awkward argument; the same with the arguments appended.
check "printf '[%s]\n'" {} ::: "${AWKWARD[@]}" </dev/null
check "printf '[%s]\n'" ::: "${AWKWARD[@]:0:12}" </dev/null
# The path edits.
check "printf '%s|%s|%s|%s|%s\n'" {} {.} {/} {//} {/.} ::: "${PATHS[@]}" </dev/null
# All combinations, the last source fastest; {} is every argument.
check "printf '%s (%s) (%s) %s\n'" {#} {1} {2} {} ::: a b c ::: 'x y' "it's" </dev/null
# Positional edits, {-1}, leading zeros.
check "printf '%s %s %s %s\n'" {1/} {2.} {-1//} {01/.} ::: d/x.y ::: e/f.g </dev/null
# :::+ links to the previous source; a linked group stops at its
# shortest source, also in the middle of a product.
check "printf '%s %s\n'" {1} {2} ::: a b c :::+ 1 2 </dev/null
check "printf '%s-%s-%s-%s\n'" {1} {2} {3} {4} ::: x y ::: a b c \
    :::+ 1 2 3 4 ::: p q </dev/null
# Argument files, linked and not; standard input.
check "printf '%s=%s\n'" {2} {1} :::: args1 ::::+ args2 </dev/null
check "printf '%s/%s\n'" {1} {2} :::: args3 ::: u v </dev/null
check "printf '<%s>\n'" :::: - <args1
# ::: words with newlines are split into arguments, as parallel does.
check "printf '[%s]\n'" ::: $'l1\nl2' $'end\n' last </dev/null
# The words are joined into one shell command line.
check 'printf "%s\n" {} | wc -c' ::: 'a b' 'cd' </dev/null
check 'x={};' "printf '%s\n'" '"$x"' ::: 'a b' '$y' </dev/null
# A replacement string as the command: no quoting; no command: each
# argument is a command line.
check {1} "'<%s>\n'" {2} ::: printf ::: 'a b' 'c' </dev/null
check ::: "printf 'one\n'" "printf '%s\n' 'two three'" </dev/null
# {#} over many tasks; with MPISPOOL_TASK_ID (which parallel lacks).
check "printf '%s %s\n'" {#} {} ::: $(seq 1 12) </dev/null
check --dry "printf '%s %s\n'" {#} '"$MPISPOOL_TASK_ID"' ::: a b c d </dev/null

# The task files are byte for byte parallel's lines.
for n in $(seq 1 "$ncase"); do
    wait "${DRY_PIDS[n]}" ||
        fail "parallel --dry-run of case $n failed: $(cat "dry.$n.err")"
    assert_same_file "dry.$n" "$SPOOL/data/${JOBS[n]}.tasks" \
        "case $n ($(cat "words.$n")): the task file against parallel --dry-run"
done

# parallel runs the lines of the cases to run (with no command, each input
# line is a command line, run as it is): one parallel for all, as each
# takes a second to start.
for n in $(seq 1 "$ncase"); do
    [ "${RUN[n]}" = 0 ] || cat "dry.$n"
done >run.lines
parallel -k <run.lines >run.parallel 2>run.err ||
    fail "parallel -k of the command lines failed: $(cat run.err)"

run_until_empty 2

: >run.mpispool
for n in $(seq 1 "$ncase"); do
    id=${JOBS[n]}
    ntasks=$(wc -l <"dry.$n")
    assert_state "$id" done
    # mpispool log: Seq is {#}, Command the line parallel would run.
    assert_exit 0 mps log "$id"
    tail -n +2 "$TEST_TMP/last.out" | cut -f 9- >"log.$n"
    assert_same_file "dry.$n" "log.$n" "case $n: mpispool log's Command column"
    assert_eq "$(seq 1 "$ntasks")" "$(tail -n +2 "$TEST_TMP/last.out" | cut -f 1)" \
        "case $n: mpispool log's Seq column"
    [ "${RUN[n]}" = 1 ] || continue
    for t in $(seq 0 $((ntasks - 1))); do
        cat "$(task_out "$id" "$t")"
    done >>run.mpispool
done
assert_same_file run.parallel run.mpispool "the tasks' outputs against parallel -k's"

# {#} is MPISPOOL_TASK_ID + 1.
id=${JOBS[ncase]}
for t in 0 1 2 3; do
    assert_eq "$((t + 1)) $t" "$(cat "$(task_out "$id" "$t")")" "{#} of task $t"
done

pass "$ncase templates as GNU parallel makes them"
