#!/bin/bash
# SPDX-License-Identifier: MIT
# Mutation testing on demand (not part of ctest or CI): breaks the source on
# purpose, one small change at a time, and checks that the tests meant to
# notice each break fail.
#
# Usage: tests/mutate.sh [--check] [--list] [--no-baseline] [NAME...]
#
#   (no option)    copy the tree (git's tracked and untracked, not ignored,
#                  files, as they are in the work tree) to a scratch
#                  directory, build it there (build-mutate/ at the top of the
#                  repository, or $MUTATE_DIR; kept between runs, so later
#                  runs rebuild only what changed), run the tests of the
#                  chosen mutations once unchanged (the baseline: they must
#                  pass), then for each mutation: apply it, rebuild, run its
#                  tests, restore the file. Prints a table and exits 1 when
#                  a mutation survived, did not apply or did not build.
#   --check        only check that each mutation's text is found exactly
#                  once in its file (no build, no tests).
#   --list         print the mutations and the tests meant to catch them.
#   --no-baseline  skip the run of the unchanged tree.
#   NAME...        only these mutations (default: all).
#
# It runs one build job and one test at a time, under nice, so it leaves
# the machine to others; a full run takes about an hour on two cores. Do
# not run two at once on the same scratch directory.
#
# The mutations are listed at the end of this file, one block each:
#
#   NAME
#       file  PATH (from the top of the repository)
#       tests CTEST-REGEX (the tests that must catch it; ctest -R)
#       from  TEXT (found exactly once in the file, or the mutation "did
#             not apply": the list must follow the code)
#       to    TEXT (may be empty: the text is deleted)
#       why   what the break does, in a few words
#
# In TEXT, \n stands for a line break (so a pattern may span lines; it
# cannot hold a literal backslash followed by n). Leading and trailing
# blanks of a value are not part of it. Results: "caught by TEST..." (one of
# its tests failed or timed out), SURVIVED (all its tests passed or were
# skipped), "did not apply" (its text is not found exactly once), "build
# failed" (the mutated tree does not compile: fix the mutation) or "no
# test" (the regex matches no test).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF=$ROOT/tests/mutate.sh
WORK=${MUTATE_DIR:-$ROOT/build-mutate}
TREE=$WORK/tree
BUILD=$TREE/build
LOGS=$WORK/logs

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

mode=run
baseline=1
only=()
while [ $# -gt 0 ]; do
    case $1 in
    --check) mode=check ;;
    --list) mode=list ;;
    --no-baseline) baseline=0 ;;
    -h | --help)
        sed -n '3,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "mutate.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
    *) only+=("$1") ;;
    esac
    shift
done

# ---------------------------------------------------------------- the list

NAMES=() FILES=() TESTS=() FROMS=() TOS=() WHYS=()

# Read the blocks after the __MUTATIONS__ line of this file.
parse_list() {
    local line key value n=-1
    while IFS= read -r line; do
        case $line in
        '' | '#'*) continue ;;
        [![:space:]]*)
            n=$((n + 1))
            NAMES[n]=$line FILES[n]="" TESTS[n]="" FROMS[n]="" TOS[n]="" WHYS[n]=""
            continue
            ;;
        esac
        [ "$n" -ge 0 ] || { echo "mutate.sh: a value before the first name: $line" >&2; exit 2; }
        line=${line#"${line%%[![:space:]]*}"}
        key=${line%%[[:space:]]*}
        value=${line#"$key"}
        value=${value#"${value%%[![:space:]]*}"}
        value=${value%"${value##*[![:space:]]}"}
        case $key in
        file) FILES[n]=$value ;;
        tests) TESTS[n]=$value ;;
        from) FROMS[n]=$value ;;
        to) TOS[n]=$value ;;
        why) WHYS[n]=$value ;;
        *) echo "mutate.sh: unknown key '$key' in ${NAMES[n]}" >&2; exit 2 ;;
        esac
    done < <(sed -n '/^__MUTATIONS__$/,$p' "$SELF" | tail -n +2)
    local i
    for i in "${!NAMES[@]}"; do
        if [ -z "${FILES[i]}" ] || [ -z "${TESTS[i]}" ] || [ -z "${FROMS[i]}" ]; then
            echo "mutate.sh: ${NAMES[i]} lacks file, tests or from" >&2
            exit 2
        fi
    done
}

# substitute FILE FROM TO: replace the one occurrence of FROM in FILE by TO
# (\n in either is a line break). Exits 3 and says how many times FROM was
# found when that is not once; FILE is then unchanged.
substitute() {
    FROM=$2 TO=$3 perl -e '
        my ($file) = @ARGV;
        (my $from = $ENV{FROM}) =~ s/\\n/\n/g;
        (my $to = $ENV{TO}) =~ s/\\n/\n/g;
        open(my $in, "<", $file) or die "cannot open $file: $!\n";
        local $/;
        my $text = <$in>;
        close $in;
        my ($count, $at) = (0, -1);
        for (my $p = index($text, $from); $p >= 0;
             $p = index($text, $from, $p + 1)) {
            $count++;
            $at = $p if $count == 1;
        }
        if ($count != 1) { print "$count\n"; exit 3; }
        substr($text, $at, length $from) = $to;
        open(my $out, ">", $file) or die "cannot write $file: $!\n";
        print $out $text;
        close $out or die "cannot write $file: $!\n";' "$1"
}

selected() { # INDEX: whether the mutation was asked for
    local name
    [ ${#only[@]} -eq 0 ] && return 0
    for name in "${only[@]}"; do
        [ "$name" = "${NAMES[$1]}" ] && return 0
    done
    return 1
}

parse_list
for name in "${only[@]}"; do
    found=0
    for i in "${!NAMES[@]}"; do [ "${NAMES[i]}" = "$name" ] && found=1; done
    [ "$found" = 1 ] || { echo "mutate.sh: no mutation named '$name' (see --list)" >&2; exit 2; }
done

if [ "$mode" = list ]; then
    for i in "${!NAMES[@]}"; do
        selected "$i" || continue
        printf '%-34s %-28s %s\n' "${NAMES[i]}" "${FILES[i]}" "${TESTS[i]}"
        printf '%-34s %s\n' "" "${WHYS[i]}"
    done
    echo "${#NAMES[@]} mutations"
    exit 0
fi

RESULTS=()
bad=0

# check_applies INDEX DIR: whether the mutation's text is in DIR's file
# exactly once (without changing it); sets RESULTS[INDEX] when not.
check_applies() {
    local i=$1 copy count
    copy=$(mktemp)
    cp "$2/${FILES[i]}" "$copy" 2>/dev/null || {
        RESULTS[i]="did not apply (no file ${FILES[i]})"
        rm -f "$copy"
        return 1
    }
    if ! count=$(substitute "$copy" "${FROMS[i]}" "${TOS[i]}"); then
        RESULTS[i]="did not apply (found ${count:-?} times)"
        rm -f "$copy"
        return 1
    fi
    rm -f "$copy"
}

# print_table GOOD: the table; counts in bad the rows whose result does not
# start with GOOD.
print_table() {
    local i
    printf '\n%-34s %s\n' MUTATION RESULT
    for i in "${!NAMES[@]}"; do
        selected "$i" || continue
        printf '%-34s %s\n' "${NAMES[i]}" "${RESULTS[i]:-not run}"
        case ${RESULTS[i]:-} in
        "$1"*) ;;
        *) bad=$((bad + 1)) ;;
        esac
    done
}

if [ "$mode" = check ]; then
    for i in "${!NAMES[@]}"; do
        selected "$i" || continue
        if check_applies "$i" "$ROOT"; then RESULTS[i]="applies"; fi
    done
    print_table applies
    [ "$bad" = 0 ] || { echo "mutate.sh: $bad mutation(s) do not apply" >&2; exit 1; }
    exit 0
fi

# ---------------------------------------------------------------- the copy

# Bring TREE up to date with the work tree: copy what differs (so that
# unchanged files keep their times and the build stays incremental), remove
# what is gone.
sync_tree() {
    local f
    mkdir -p "$TREE" "$LOGS"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
        while IFS= read -r -d '' f; do
            [ -f "$ROOT/$f" ] || continue
            if ! cmp -s "$ROOT/$f" "$TREE/$f"; then
                mkdir -p "$(dirname "$TREE/$f")"
                cp -p "$ROOT/$f" "$TREE/$f"
            fi
        done
}

build() { # LOG
    nice -n 19 cmake --build "$BUILD" -j1 >>"$1" 2>&1
}

# run_tests REGEX LOG: run the tests, one at a time; prints the names of
# those that failed or timed out, one a line. Returns 1 when none matched.
run_tests() {
    local rc=0
    nice -n 19 ctest --test-dir "$BUILD" -R "$1" --output-on-failure \
        >>"$2" 2>&1 || rc=$?
    if grep -q 'No tests were found' "$2"; then return 1; fi
    sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*\(Failed\|Timeout\|Exception\).*$/\1/p' "$2"
    return 0
}

sync_tree
echo "mutate.sh: building the copy in $BUILD" >&2
cmake -S "$TREE" -B "$BUILD" -DMPISPOOL_WERROR=OFF >"$LOGS/configure.log" 2>&1 ||
    { cat "$LOGS/configure.log" >&2; echo "mutate.sh: cmake failed" >&2; exit 1; }
: >"$LOGS/build.log"
build "$LOGS/build.log" || { tail -n 30 "$LOGS/build.log" >&2; echo "mutate.sh: the unchanged copy does not build" >&2; exit 1; }

if [ "$baseline" = 1 ]; then
    regex=""
    for i in "${!NAMES[@]}"; do
        selected "$i" || continue
        regex="${regex:+$regex|}${TESTS[i]}"
    done
    echo "mutate.sh: baseline: the tests on the unchanged copy" >&2
    : >"$LOGS/baseline.log"
    failed=$(run_tests "$regex" "$LOGS/baseline.log") || true
    if [ -n "$failed" ]; then
        echo "mutate.sh: these tests fail without any mutation (see $LOGS/baseline.log):" >&2
        echo "$failed" >&2
        exit 1
    fi
fi

CURRENT=""
restore() {
    if [ -n "$CURRENT" ]; then
        cp "$ROOT/$CURRENT" "$TREE/$CURRENT"
        CURRENT=""
    fi
}
trap restore EXIT

for i in "${!NAMES[@]}"; do
    selected "$i" || continue
    name=${NAMES[i]}
    log=$LOGS/$name.log
    : >"$log"
    check_applies "$i" "$TREE" || { echo "mutate.sh: $name: ${RESULTS[i]}" >&2; continue; }
    echo "mutate.sh: $name ($(date +%T))" >&2
    CURRENT=${FILES[i]}
    substitute "$TREE/$CURRENT" "${FROMS[i]}" "${TOS[i]}" >/dev/null
    if ! build "$log"; then
        RESULTS[i]="build failed (see $log)"
    elif ! failed=$(run_tests "${TESTS[i]}" "$log"); then
        RESULTS[i]="no test matches ${TESTS[i]}"
    elif [ -n "$failed" ]; then
        RESULTS[i]="caught by $(echo $failed)"
    else
        RESULTS[i]="SURVIVED"
    fi
    # A fresh time, so the next build compiles the file again.
    restore
    echo "mutate.sh: $name: ${RESULTS[i]}" >&2
done
build "$LOGS/build.log" || true

print_table "caught by"
if [ "$bad" != 0 ]; then
    echo "mutate.sh: $bad of the mutations were not caught (see $LOGS/)" >&2
    exit 1
fi
exit 0

# The mutations: see the top of this file for the format.
__MUTATIONS__

timeout-signals-main-process-only
    file  src/ranks/executor.c
    tests ^e2e-timeout_kill$
    from  kill(-t->pid, sig);
    to    kill(t->pid, sig);
    why   SIGTERM/SIGKILL reach the task's main process, not its process group

job-state-failed-before-cancelled
    file  src/rank0/coordinator.c
    tests ^e2e-cancel$
    from  return job->cancelled                    ? "cancelled"\n           : job->failed || job->dep_failure ? "failed"\n                                             : "done";
    to    return job->failed || job->dep_failure ? "failed"\n           : job->cancelled ? "cancelled"\n                                             : "done";
    why   a cancelled job with a failed task ends "failed"

kill-grace-doubled
    file  src/ranks/executor.c
    tests ^e2e-timeout_kill$
    from  t->kill_at = now + (int64_t)(ex->kill_grace_s * 1e6);
    to    t->kill_at = now + (int64_t)(ex->kill_grace_s * 2e6);
    why   SIGKILL comes twice --kill-grace after a timeout's SIGTERM

metrics-rejected-not-counted
    file  src/rank0/coordinator.c
    tests ^e2e-metrics$
    from  co->jobs_rejected++;
    to
    why   rejected jobs are not counted in the metrics

cgroup2-tracking-disabled
    file  src/ranks/cgroup.c
    tests ^(unit-test_executor|e2e-daemon)$
    from  {{"cgroup2", NULL, CGROUP_TRACK_V2},
    to    {{"cgroup2", "none", CGROUP_TRACK_V2},
    why   no cgroup2 tracking: the v1 freezer (or nothing) tracks tasks
