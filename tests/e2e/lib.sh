# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers for the shell tests: a temporary spool, mpirun, assertions.
#
# Source it from a test script that runs under `set -euo pipefail`:
#   . "$(dirname "$0")/../e2e/lib.sh"     (or ./lib.sh from tests/e2e/)
# ctest passes MPISPOOL and MPISPOOL_RUN (the built programs); by hand they
# default to build/ at the top of the repository.

set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${MPISPOOL:=$REPO_ROOT/build/mpispool}"
: "${MPISPOOL_RUN:=$REPO_ROOT/build/mpispool-run}"
export MPISPOOL MPISPOOL_RUN

if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# A test never depends on the caller's spool.
unset MPISPOOL_SPOOL

# ---------------------------------------------------------------- messages

log() {
    printf '%s: %s\n' "$TEST_NAME" "$*" >&2
}

fail() {
    printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

# skip WHY...: this test (or this ctest entry of a test) cannot run here:
# say why and exit 77, which ctest reports as skipped.
skip() {
    printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
    exit 77
}

pass() {
    printf '%s: PASS%s\n' "$TEST_NAME" "${1:+: $1}"
}

# ---------------------------------------------------------------- cleanup

# Background processes this test started; cleanup kills them and all their
# descendants (by pid, never by name).
BG_PIDS=()
TEST_TMP=""
_CLEANUP_HOOKS=()

# descendants PID: print the pids of every descendant of PID, one a line.
descendants() {
    local root=$1
    ps -e -o pid=,ppid= | awk -v root="$root" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            found[root] = 1
            changed = 1
            while (changed) {
                changed = 0
                for (i in pids) {
                    p = pids[i]
                    if (!(p in found) && (parent[p] in found)) {
                        found[p] = 1; changed = 1
                    }
                }
            }
            for (p in found) if (p != root) print p
        }'
}

# kill_tree PID: SIGTERM PID and its descendants, SIGKILL what is left
# after a grace period.
kill_tree() {
    local pid=$1 all p i
    all="$pid $(descendants "$pid" | tr '\n' ' ')"
    for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 1 30); do
        local alive=0
        for p in $all; do
            if kill -0 "$p" 2>/dev/null; then alive=1; fi
        done
        [ "$alive" = 0 ] && return 0
        sleep 0.1
    done
    for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
}

# crash_tree PID: PID and its descendants die at one instant, as in a
# machine crash: every one is stopped first (listed again until no new
# one appears: a stopped process forks nothing), then all are SIGKILLed.
# Killed one by one in list order instead, a task could die before its
# rank and be reported as killed by a signal (a failure) by a coordinator
# still alive.
crash_tree() {
    local pid=$1 all="" p more
    while :; do
        more=""
        for p in $pid $(descendants "$pid"); do
            case " $all " in *" $p "*) ;; *) more="$more $p" ;; esac
        done
        [ -z "$more" ] && break
        for p in $more; do kill -STOP "$p" 2>/dev/null || true; done
        all="$all $more"
    done
    for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
}

on_cleanup() {
    _CLEANUP_HOOKS+=("$*")
}

_cleanup() {
    local rc=$? pid hook
    set +e
    for hook in "${_CLEANUP_HOOKS[@]}"; do eval "$hook"; done
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill_tree "$pid"; fi
        wait "$pid" 2>/dev/null
    done
    if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
        if [ "$rc" != 0 ] && [ -n "${KEEP_TMP:-}" ]; then
            echo "$TEST_NAME: kept $TEST_TMP" >&2
        else
            rm -rf "$TEST_TMP"
        fi
    fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup

require_programs() {
    [ -x "$MPISPOOL" ] || fail "mpispool not built: $MPISPOOL"
    [ -x "$MPISPOOL_RUN" ] || fail "mpispool-run not built: $MPISPOOL_RUN"
    command -v jq >/dev/null || fail "jq is not installed (scripts/install-deps.sh)"
    command -v mpirun >/dev/null || fail "mpirun is not installed"
}

# require_gnu_parallel: GNU parallel on PATH. scripts/install-deps.sh
# installs it, so under CI (CI set: .ci/run) its absence is a failure;
# elsewhere the test is skipped (exit 77) with the reason.
require_gnu_parallel() {
    local why
    if ! command -v parallel >/dev/null; then
        why="GNU parallel is not installed (scripts/install-deps.sh)"
    elif ! parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
        why="'parallel' is not GNU parallel (moreutils?)"
    else
        return 0
    fi
    [ -z "${CI:-}" ] || fail "$why"
    printf '%s: SKIP: %s\n' "$TEST_NAME" "$why" >&2
    exit 77
}

# setup_spool: make $TEST_TMP (removed at exit) and an initialised spool
# $SPOOL inside it.
setup_spool() {
    require_programs
    TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mpispool-$TEST_NAME.XXXXXX")
    TEST_TMP=$(cd "$TEST_TMP" && pwd -P)
    SPOOL=$TEST_TMP/spool
    "$MPISPOOL" init "$SPOOL" >"$TEST_TMP/init.log" 2>&1 || {
        cat "$TEST_TMP/init.log" >&2
        fail "mpispool init $SPOOL failed"
    }
    export SPOOL
}

# mps ARGS...: the CLI on the test spool.
mps() {
    "$MPISPOOL" --spool "$SPOOL" "$@"
}

# submit ARGS...: submit, check that stdout is one job id, print it.
submit() {
    local out
    out=$("$MPISPOOL" --spool "$SPOOL" submit "$@") ||
        fail "mpispool submit $* exited $?"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] ||
        fail "submit printed more than one line: '$out'"
    [[ "$out" =~ ^[A-Za-z0-9._-]+$ ]] ||
        fail "submit did not print a bare job id: '$out'"
    printf '%s\n' "$out"
}

# run_mpi NP ARGS...: mpispool-run under mpirun, bounded in time.
run_mpi() {
    local np=$1
    shift
    timeout -k 5 90 mpirun --oversubscribe --bind-to none -np "$np" \
        "$MPISPOOL_RUN" "$@"
}

# start_coordinator NP ARGS...: run_mpi in the background; sets COORD_PID
# (the timeout process heading the tree; killed at exit) and writes its
# output to $TEST_TMP/coordinator.log.
start_coordinator() {
    run_mpi "$@" >>"$TEST_TMP/coordinator.log" 2>&1 &
    COORD_PID=$!
    BG_PIDS+=("$COORD_PID")
}

# wait_coordinator [SECONDS]: wait for the background coordinator to exit;
# sets COORD_RC. Fails when it is still running after SECONDS (60).
wait_coordinator() {
    local limit=${1:-60} i
    for i in $(seq 1 $((limit * 10))); do
        if ! kill -0 "$COORD_PID" 2>/dev/null; then
            COORD_RC=0
            wait "$COORD_PID" || COORD_RC=$?
            return 0
        fi
        sleep 0.1
    done
    show_coordinator_log
    fail "coordinator still running after ${limit}s"
}

show_coordinator_log() {
    if [ -s "$TEST_TMP/coordinator.log" ]; then
        echo "--- coordinator output (last 40 lines):" >&2
        tail -n 40 "$TEST_TMP/coordinator.log" >&2
        echo "---" >&2
    fi
}

# run_until_empty NP: submit first, then run all queued jobs in the
# foreground with --until-empty; asserts exit 0.
run_until_empty() {
    local np=$1 rc=0
    shift
    run_mpi "$np" --spool "$SPOOL" --until-empty "$@" \
        >>"$TEST_TMP/coordinator.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        show_coordinator_log
        fail "mpirun -np $np mpispool-run --until-empty exited $rc (want 0)"
    fi
}

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; returns
# 1 on timeout.
wait_until() {
    local limit=$1 deadline
    shift
    deadline=$(($(date +%s%N) + limit * 1000000000))
    while ! "$@" 2>/dev/null; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------- assertions

assert_eq() { # EXPECTED ACTUAL WHAT
    if [ "$1" != "$2" ]; then
        fail "$3: expected '$1', got '$2'"
    fi
}

assert_ne() { # UNEXPECTED ACTUAL WHAT
    if [ "$1" = "$2" ]; then
        fail "$3: expected anything but '$1'"
    fi
}

assert_match() { # REGEX ACTUAL WHAT
    if ! [[ "$2" =~ $1 ]]; then
        fail "$3: expected to match /$1/, got '$2'"
    fi
}

assert_contains() { # NEEDLE HAYSTACK WHAT
    case "$2" in
    *"$1"*) ;;
    *) fail "$3: expected to contain '$1', got '$2'" ;;
    esac
}

assert_file() { # PATH [WHAT]
    [ -f "$1" ] || fail "${2:-file} missing: $1"
}

assert_no_file() { # PATH [WHAT]
    [ ! -e "$1" ] || fail "${2:-file} should not exist: $1"
}

assert_lt() { # A B WHAT  (numbers, floats allowed)
    if ! awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; then
        fail "$3: expected < $2, got $1"
    fi
}

# assert_exit CODE CMD...: run CMD (output to $TEST_TMP/last.out/.err) and
# check its exit code.
assert_exit() {
    local want=$1 rc=0
    shift
    "$@" >"$TEST_TMP/last.out" 2>"$TEST_TMP/last.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "--- stdout:" >&2
        head -c 2000 "$TEST_TMP/last.out" >&2
        echo "--- stderr:" >&2
        head -c 2000 "$TEST_TMP/last.err" >&2
        fail "exit code of '$*': expected $want, got $rc"
    fi
}

# assert_same_file EXPECTED ACTUAL WHAT: byte-exact comparison.
assert_same_file() {
    [ -f "$2" ] || fail "$3: missing $2"
    if ! cmp -s "$1" "$2"; then
        echo "--- expected (od -c, first lines):" >&2
        od -c "$1" | head -n 8 >&2 || true
        echo "--- actual:" >&2
        od -c "$2" | head -n 8 >&2 || true
        fail "$3: $2 differs from expected"
    fi
}

# stale_task_cgroups: the per-task cgroups of mpispool-run (named
# mpispool-RANKPID-N, for memory limits and to track a task's processes)
# whose rank is not running, one a line, sorted. A rank removes each when
# its task ends; compare with a list taken before the run, as other runs
# on the machine may have left some.
stale_task_cgroups() {
    local dir name pid
    find /sys/fs/cgroup -maxdepth 6 -type d -name 'mpispool-*' 2>/dev/null |
        sort | while IFS= read -r dir; do
        name=${dir##*/}
        pid=${name#mpispool-}
        pid=${pid%%-*}
        if ! kill -0 "$pid" 2>/dev/null; then printf '%s\n' "$dir"; fi
    done
}

# new_stale_task_cgroups BEFORE: those of stale_task_cgroups not in BEFORE
# (an earlier output of it).
new_stale_task_cgroups() {
    comm -13 <(printf '%s\n' "$1" | sed '/^$/d') <(stale_task_cgroups)
}

# ---------------------------------------------------------------- JSON

# jqf FILE FILTER [jq args...]: print jq -r FILTER of FILE.
jqf() {
    local file=$1 filter=$2
    shift 2
    [ -f "$file" ] || fail "missing JSON file $file"
    jq -r "$@" "$filter" "$file" || fail "jq '$filter' failed on $file"
}

# assert_json FILE FILTER EXPECTED [WHAT]: jq -r FILTER of FILE equals
# EXPECTED (null prints as "null").
assert_json() {
    local got
    got=$(jqf "$1" "$2")
    assert_eq "$3" "$got" "${4:-$(basename "$1")} $2"
}

# The record of a task and the paths of its output.
record() { # JOBID TASK
    printf '%s/out/%s/%s.json\n' "$SPOOL" "$1" "$2"
}
task_out() { printf '%s/out/%s/%s.out\n' "$SPOOL" "$1" "$2"; }
task_err() { printf '%s/out/%s/%s.err\n' "$SPOOL" "$1" "$2"; }

# assert_state JOBID DIR: the job file is in SPOOL/DIR/ and nowhere else.
assert_state() {
    local job=$1 want=$2 d where=""
    for d in new cur done failed rejected; do
        if [ -e "$SPOOL/$d/$job.json" ]; then where="$where$d "; fi
    done
    assert_eq "$want " "$where" "job $job is in"
}

# time_us RFC3339: microseconds since the epoch.
time_us() {
    date -u -d "$1" +%s%6N || fail "not a time: '$1'"
}

# now_us: wall clock microseconds.
now_us() {
    local t=$EPOCHREALTIME
    printf '%s\n' "${t/./}"
}

# rename_us SRC DST: rename(2) SRC to DST and print the wall clock time in
# microseconds taken just before the rename.
rename_us() {
    perl -MTime::HiRes=time -e '
        my $t = time;
        rename($ARGV[0], $ARGV[1]) or die "rename: $!\n";
        printf "%d\n", $t * 1e6;' "$1" "$2"
}

# tree_cpu_ticks PID: utime+stime (clock ticks) of PID and its descendants.
tree_cpu_ticks() {
    local pid=$1 p total=0 stat rest
    for p in "$pid" $(descendants "$pid"); do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${stat##*) }
        # rest starts at field 3 (state); utime and stime are fields 14, 15.
        set -- $rest
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}

# mpirun_pid ROOT: the pid of the mpirun process in ROOT's tree.
mpirun_pid() {
    local p comm
    for p in "$1" $(descendants "$1"); do
        comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        case "$comm" in
        mpirun | orterun | mpiexec | prterun)
            echo "$p"
            return 0
            ;;
        esac
    done
    return 1
}

# rank_pids ROOT: the mpispool-run processes in ROOT's tree.
rank_pids() {
    local p
    for p in $(descendants "$1"); do
        if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mpispool-run ]; then
            echo "$p"
        fi
    done
}
