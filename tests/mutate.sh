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
# the machine to others; a full run takes about an hour on two cores. The
# copy is taken when a run starts: later edits of the work tree do not
# affect it. Do not run two at once on the same scratch directory.
#
# The list (tests/mutate.sh --list prints it with what each break does):
# first the five breaks that once went unnoticed (a timeout signalling the
# task's main process instead of its process group, "failed" decided
# before "cancelled", a doubled kill grace, rejected jobs not counted in
# the metrics, cgroup2 tracking disabled so the v1 freezer takes over),
# then breaks of the timeout and kill paths, the cgroup choice and memory
# limits, job state rules, record fields, output capture, claim and
# reject, metrics, retries, cancel, and the journal and recovery.
#
# The mutations are listed at the end of this file (mutation_list), one
# block each:
#
#   NAME
#       file  PATH (from the top of the repository)
#       tests CTEST-REGEX (the tests that must catch it; ctest -R)
#       from  TEXT (found exactly once in the file, or the mutation "did
#             not apply": the list must follow the code)
#       to    TEXT (may be empty: the text is deleted)
#       why   what the break does, in a few words
#
# In TEXT, \n stands for a line break (so a pattern may span lines) and \\
# for one backslash (C's '\n' is written '\\n'). Leading and trailing
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

# ---------------------------------------------------------------- the list

NAMES=() FILES=() TESTS=() FROMS=() TOS=() WHYS=()

# Read the blocks of mutation_list into the arrays above.
parse_list() {
    local line key value n=-1 i
    while IFS= read -r line; do
        case $line in
        '' | '#'*) continue ;;
        [![:space:]]*)
            n=$((n + 1))
            NAMES[n]=$line FILES[n]="" TESTS[n]="" FROMS[n]="" TOS[n]="" WHYS[n]=""
            continue
            ;;
        esac
        if [ "$n" -lt 0 ]; then
            echo "mutate.sh: a value before the first name: $line" >&2
            exit 2
        fi
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
        *)
            echo "mutate.sh: unknown key '$key' in ${NAMES[n]}" >&2
            exit 2
            ;;
        esac
    done < <(mutation_list)
    for i in "${!NAMES[@]}"; do
        if [ -z "${FILES[i]}" ] || [ -z "${TESTS[i]}" ] || [ -z "${FROMS[i]}" ]; then
            echo "mutate.sh: ${NAMES[i]} lacks file, tests or from" >&2
            exit 2
        fi
    done
}

# substitute FILE FROM TO: replace the one occurrence of FROM in FILE by TO
# (in either, \n is a line break and \\ a backslash). Exits 3 and prints
# how many times FROM was found when that is not once; FILE is then
# unchanged.
substitute() {
    FROM=$2 TO=$3 perl -e '
        my ($file) = @ARGV;
        (my $from = $ENV{FROM}) =~ s/\\([\\n])/$1 eq "n" ? "\n" : "\\"/ge;
        (my $to = $ENV{TO}) =~ s/\\([\\n])/$1 eq "n" ? "\n" : "\\"/ge;
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

RESULTS=()
bad=0

# check_applies INDEX DIR: whether the mutation's text is in DIR's file
# exactly once (without changing it); sets RESULTS[INDEX] when not.
check_applies() {
    local i=$1 copy count
    copy=$(mktemp)
    if ! cp "$2/${FILES[i]}" "$copy" 2>/dev/null; then
        RESULTS[i]="did not apply (no file ${FILES[i]})"
        rm -f "$copy"
        return 1
    fi
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

# ---------------------------------------------------------------- the copy

# Bring TREE up to date with the work tree: copy what differs (so that
# unchanged files keep their times and the build stays incremental).
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
    nice -n 19 ctest --test-dir "$BUILD" -R "$1" --output-on-failure \
        >>"$2" 2>&1 || true
    if grep -q 'No tests were found' "$2"; then return 1; fi
    sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*\(Failed\|Timeout\|Exception\).*$/\1/p' "$2"
}

# The file being mutated (relative to TREE) and its unchanged text, put
# back with a fresh time (so that the next build compiles it again) after
# the mutation and at exit.
CURRENT=""
ORIGINAL=""
restore() {
    if [ -n "$CURRENT" ]; then
        cat "$ORIGINAL" >"$TREE/$CURRENT"
        CURRENT=""
    fi
}

# baseline_run: the tests of the chosen mutations on the unchanged copy;
# exits when one fails (a mutation it catches would prove nothing).
baseline_run() {
    local i regex="" failed
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
}

# mutate INDEX: apply the mutation to the copy, build, run its tests,
# restore; sets RESULTS[INDEX].
mutate() {
    local i=$1 name=${NAMES[$1]} log failed
    log=$LOGS/$name.log
    : >"$log"
    if ! check_applies "$i" "$TREE"; then
        echo "mutate.sh: $name: ${RESULTS[i]}" >&2
        return
    fi
    echo "mutate.sh: $name ($(date +%T))" >&2
    CURRENT=${FILES[i]}
    cp "$TREE/$CURRENT" "$ORIGINAL"
    substitute "$TREE/$CURRENT" "${FROMS[i]}" "${TOS[i]}" >/dev/null
    if ! build "$log"; then
        RESULTS[i]="build failed (see $log)"
    elif ! failed=$(run_tests "${TESTS[i]}" "$log"); then
        RESULTS[i]="no test matches ${TESTS[i]}"
    elif [ -n "$failed" ]; then
        RESULTS[i]="caught by $(paste -sd' ' <<<"$failed")"
    else
        RESULTS[i]="SURVIVED"
    fi
    restore
    echo "mutate.sh: $name: ${RESULTS[i]}" >&2
}

main() {
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

    parse_list
    local name i found
    for name in "${only[@]}"; do
        found=0
        for i in "${!NAMES[@]}"; do [ "${NAMES[i]}" = "$name" ] && found=1; done
        if [ "$found" = 0 ]; then
            echo "mutate.sh: no mutation named '$name' (see --list)" >&2
            exit 2
        fi
    done

    case $mode in
    list)
        for i in "${!NAMES[@]}"; do
            selected "$i" || continue
            printf '%-34s %-28s %s\n' "${NAMES[i]}" "${FILES[i]}" "${TESTS[i]}"
            printf '%-34s %s\n' "" "${WHYS[i]}"
        done
        echo "${#NAMES[@]} mutations"
        exit 0
        ;;
    check)
        for i in "${!NAMES[@]}"; do
            selected "$i" || continue
            if check_applies "$i" "$ROOT"; then RESULTS[i]="applies"; fi
        done
        print_table applies
        if [ "$bad" != 0 ]; then
            echo "mutate.sh: $bad mutation(s) do not apply" >&2
            exit 1
        fi
        exit 0
        ;;
    esac

    sync_tree
    ORIGINAL=$WORK/original
    trap restore EXIT
    echo "mutate.sh: building the copy in $BUILD" >&2
    if ! cmake -S "$TREE" -B "$BUILD" -DMPISPOOL_WERROR=OFF >"$LOGS/configure.log" 2>&1; then
        cat "$LOGS/configure.log" >&2
        echo "mutate.sh: cmake failed" >&2
        exit 1
    fi
    : >"$LOGS/build.log"
    if ! build "$LOGS/build.log"; then
        tail -n 30 "$LOGS/build.log" >&2
        echo "mutate.sh: the unchanged copy does not build" >&2
        exit 1
    fi
    [ "$baseline" = 0 ] || baseline_run
    for i in "${!NAMES[@]}"; do
        selected "$i" && mutate "$i"
    done
    build "$LOGS/build.log" || true

    print_table "caught by"
    if [ "$bad" != 0 ]; then
        echo "mutate.sh: $bad of the mutations were not caught (see $LOGS/)" >&2
        exit 1
    fi
}

# The mutations, in the format described at the top of this file.
mutation_list() {
    cat <<'EOF'
timeout-signals-main-process-only
    file  src/ranks/exec_kill.c
    tests ^e2e-timeout_kill$
    from  kill(-t->pid, sig);
    to    kill(t->pid, sig);
    why   SIGTERM/SIGKILL reach the task's main process, not its process group

job-state-failed-before-cancelled
    file  src/rank0/finalize.c
    tests ^e2e-cancel$
    from  return job->cancelled               ? "cancelled"\n           : job->failed || job->reason ? "failed"\n                                        : "done";
    to    return job->failed || job->reason ? "failed"\n           : job->cancelled ? "cancelled"\n                                        : "done";
    why   a cancelled job with a failed task ends "failed"

kill-grace-doubled
    file  src/ranks/executor.c
    tests ^e2e-timeout_kill$
    from  t->kill_at = now + (int64_t)(ex->kill_grace_s * 1e6);
    to    t->kill_at = now + (int64_t)(ex->kill_grace_s * 2e6);
    why   SIGKILL comes twice --kill-grace after a timeout's SIGTERM

metrics-rejected-not-counted
    file  src/rank0/claim.c
    tests ^e2e-metrics$
    from  name, reason);\n    co->jobs_rejected++;\n    co->status_dirty = true;\n}\n\nvoid refuse(
    to    name, reason);\n    co->status_dirty = true;\n}\n\nvoid refuse(
    why   rejected jobs are not counted in the metrics

cgroup2-tracking-disabled
    file  src/ranks/cgroup.c
    tests ^(unit-test_executor-cgroup|e2e-daemon)$
    from  {{"cgroup2", NULL, CGROUP_TRACK_V2},
    to    {{"cgroup2", "none", CGROUP_TRACK_V2},
    why   no cgroup2 tracking: the v1 freezer (or nothing) tracks tasks

# ---- timeout and kill paths

timeout-not-recorded
    file  src/ranks/executor.c
    tests ^e2e-timeout_kill$
    from  t->timed_out = true;
    to    t->timed_out = false;
    why   a task killed by its timeout is not marked timed_out

timeout-sigkill-first
    file  src/ranks/exec_kill.c
    tests ^e2e-timeout_kill$
    from  exec_signal_task(ex, t, SIGTERM);
    to    exec_signal_task(ex, t, SIGKILL);
    why   a timeout (or cancel) kills at once: no SIGTERM, no grace

grace-never-ends
    file  src/ranks/executor.c
    tests ^e2e-timeout_kill$
    from  t->kill_at = 0;\n            exec_signal_task(ex, t, SIGKILL);
    to    t->kill_at = 0;
    why   no SIGKILL after the grace: a task ignoring SIGTERM runs on

leftovers-survive
    file  src/ranks/exec_kill.c
    tests ^e2e-daemon$
    from  if (t->track) {\n        cgroup_kill_all(t->track, ex->track_kind);\n        return;
    to    if (t->track) {\n        return;
    why   what a task leaves in its tracking cgroup is not killed

# ---- cgroup choice and memory limits

no-cgroups-ignored
    file  src/ranks/executor.c
    tests ^e2e-(daemon-environ|memory-rlimit)$
    from  if (!no_cgroups || !*no_cgroups || strcmp(no_cgroups, "0") == 0) {
    to    if (1) {
    why   MPISPOOL_NO_CGROUPS=1 still makes cgroups

track-cgroup-choice-ignored
    file  src/ranks/executor.c
    tests ^e2e-daemon-freezer$
    from  only && *only ? only : NULL
    to    NULL
    why   MPISPOOL_TRACK_CGROUP does not pick the hierarchy

oom-kill-not-reported
    file  src/ranks/cgroup.c
    tests ^e2e-memory$
    from  return kills > 0;
    to    return 0;
    why   a task killed over its memory limit is not recorded as such

# ---- job state rules

failed-task-job-done
    file  src/rank0/finalize.c
    tests ^(e2e-exit_codes|unit-test_coordinator)$
    from  : job->failed || job->reason ? "failed"
    to    : job->reason ? "failed"
    why   a job with a failed task ends "done"

stop-not-interrupted
    file  src/rank0/results.c
    tests ^e2e-stop_resume$
    from  rec->interrupted = !ok && !d->cancelled && co->stopping;
    to    rec->interrupted = false;
    why   tasks ended by a stop are recorded as failures, not interrupted

# ---- record fields

record-stderr-bytes
    file  src/common/record.c
    tests ^e2e-output$
    from  json_integer((json_int_t)rec->stderr_bytes)
    to    json_integer((json_int_t)rec->stdout_bytes)
    why   stderr_bytes says the stdout size

record-max-rss
    file  src/common/record.c
    tests ^e2e-status_report$
    from  json_integer(rec->max_rss_kb)
    to    json_integer(0)
    why   max_rss_kb is always 0

record-exit-code-zero-null
    file  src/common/record.c
    tests ^e2e-exit_codes$
    from  rec->exit_code >= 0 ? json_integer(rec->exit_code)
    to    rec->exit_code > 0 ? json_integer(rec->exit_code)
    why   exit code 0 is written as null

# ---- output capture

output-streams-swapped
    file  src/ranks/executor.c
    tests ^e2e-output$
    from  read_pipe(ex, t, t->out_fd == fds[i].fd ? 1 : 2);
    to    read_pipe(ex, t, t->out_fd == fds[i].fd ? 2 : 1);
    why   stdout lands in the .err file and stderr in the .out file

max-output-no-extra-byte
    file  src/ranks/executor.c
    tests ^e2e-output_limits$
    from  ex->max_forward = bytes ? bytes + 1 : 0;
    to    ex->max_forward = bytes ? bytes : 0;
    why   a worker passes on exactly --max-output bytes: truncation unnoticed

# ---- claim and reject

reject-unknown-key-accepted
    file  src/common/jobfile.c
    tests ^(unit-test_jobfile|e2e-rejected)$
    from  if (known)\n            continue;
    to    if (known || 1)\n            continue;
    why   a job file with a misspelt key is accepted

claim-lost-race-taken
    file  src/common/spool.c
    tests ^(unit-test_spool|e2e-coordinators)$
    from  if (errno == ENOENT && from >= 0 && to >= 0)\n        return 1;
    to    if (errno == ENOENT && from >= 0 && to >= 0)\n        return 0;
    why   a job another coordinator claimed first is run here too

drained-rank-gets-tasks
    file  src/rank0/queue.c
    tests ^(e2e-drain|unit-test_queue)$
    from  rs->draining || rs->mem_reserved + memory > rs->mem_total ||
    to    rs->mem_reserved + memory > rs->mem_total ||
    why   a drained host still gets new tasks

new-jobs-not-watched
    file  src/rank0/claim.c
    tests ^e2e-idle_latency$
    from  inotify_add_watch(co->inotify_fd, newdir,\n                                         IN_MOVED_TO | IN_CLOSE_WRITE)
    to    inotify_add_watch(co->inotify_fd, newdir,\n                                         0)
    why   new/ is not watched: a job waits for the next full rescan

# ---- metrics

metrics-failed-total
    file  src/rank0/metrics.c
    tests ^e2e-metrics$
    from  co->tasks_failed);
    to    co->tasks_succeeded);
    why   failed tasks are reported as the succeeded count

metrics-histogram-not-cumulative
    file  src/rank0/metrics.c
    tests ^e2e-metrics$
    from  cumulative += co->duration_count[i];
    to    cumulative = co->duration_count[i];
    why   histogram buckets are not cumulative

# ---- retries

retries-one-short
    file  src/rank0/queue.c
    tests ^(e2e-retries|unit-test_coordinator)$
    from  return (long long)failures <= (long long)job->spec->retries;
    to    return (long long)failures < (long long)job->spec->retries;
    why   a task gets one retry fewer than "retries" says

retry-backoff-not-doubled
    file  src/rank0/queue.c
    tests ^(e2e-retries|unit-test_queue|unit-test_coordinator)$
    from  delay *= 2;
    to    delay *= 1;
    why   the retry backoff does not double

# ---- cancel

cancel-task-list-ignored
    file  src/rank0/cancel.c
    tests ^(e2e-cancel|unit-test_coordinator)$
    from  for (size_t i = 0; i < n; i++)\n            cancel_task(co, job, tasks[i]);
    to    for (size_t i = 0; i < n && 0; i++)\n            cancel_task(co, job, tasks[i]);
    why   mpispool cancel JOB TASK... cancels nothing

cancel-grace-long
    file  src/rank0/rank0.h
    tests ^(e2e-cancel|unit-test_coordinator)$
    from  #define CANCEL_GRACE_S 0.5
    to    #define CANCEL_GRACE_S 60
    why   a cancelled task that ignores SIGTERM runs on for a minute

cancel-suspended-no-sigcont
    file  src/ranks/exec_kill.c
    tests ^e2e-idle_policy$
    from  if (t->suspended) {\n        exec_signal_task(ex, t, SIGCONT);
    to    if (0) {\n        exec_signal_task(ex, t, SIGCONT);
    why   a suspended task gets SIGTERM but no SIGCONT: only SIGKILL ends it

suspended-time-counts
    file  src/ranks/exec_kill.c
    tests ^e2e-idle_policy$
    from  t->timeout_at += now - t->suspended_at;
    to    t->timeout_at += 0;
    why   time spent suspended counts against a task's timeout

# ---- journal and recovery

journal-torn-line-replayed
    file  src/common/journal.c
    tests ^unit-test_journal$
    from  if (line[got - 1] != '\\n')\n            break;
    to    if (0)\n            break;
    why   a line torn by a crash is replayed as if whole

replayed-end-runs-again
    file  src/rank0/queue.c
    tests ^(e2e-crash|e2e-coordinators)$
    from  case JOURNAL_OK:\n    case JOURNAL_CANCELLED:\n    case JOURNAL_STOPPED:\n        return false;
    to    case JOURNAL_CANCELLED:\n    case JOURNAL_STOPPED:\n        return false;\n    case JOURNAL_OK:\n        break;
    why   a task a crashed coordinator journaled as done runs again
EOF
}

main "$@"
