#!/bin/bash
# SPDX-License-Identifier: MIT
# A task that starts a daemon (double fork + setsid, so it leaves the task's
# process group and session) leaves no process behind: the daemon is gone
# once the job is done, whether the task exited 0 or was killed by its
# timeout, and the daemon holding the task's stdout open does not hold up
# its result. With one rank and with two.
#
# Usage: daemon.sh [MODE], one ctest entry each:
#   auto     (default) the per-task cgroup the rank picks, which must be the
#            best this machine offers: cgroup2 where it is usable, else the
#            v1 freezer, pids, memory hierarchy, else none;
#   cgroup2, freezer, pids, memory
#            that hierarchy alone (MPISPOOL_TRACK_CGROUP); skipped (exit
#            77) where this machine has no usable one;
#   environ  no cgroups (MPISPOOL_NO_CGROUPS=1): the fallback that finds a
#            task's processes by a marker in their environment.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# Every process a task starts carries DAEMON_TAG=$T (unique to this run),
# which tells ours from a stranger that got a recycled pid.
TAG="DAEMON_TAG=$T"
tagged() { # PID: PID is alive and one of ours (a zombie has no environ)
    kill -0 "$1" 2>/dev/null && [ -d "/proc/$1" ] &&
        grep -qa "$TAG" "/proc/$1/environ" 2>/dev/null
}
# Anything a failed run left behind is killed at exit, by pid.
leftovers() { # print the pids of every live process with our tag
    local f
    for f in /proc/[0-9]*/environ; do
        if grep -qa "$TAG" "$f" 2>/dev/null; then
            f=${f#/proc/}
            echo "${f%/environ}"
        fi
    done
}
kill_leftovers() {
    local p
    for p in $(leftovers); do
        if tagged "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    done
}
on_cleanup kill_leftovers
none_left() { [ -z "$(leftovers)" ]; }

# A classic double fork: setsid's sh starts sleep in the background, writes
# its pid and exits, so sleep is an orphan in its own session; it keeps the
# task's stdout and stderr open.
double_fork='cat /proc/self/cgroup >&2
setsid sh -c '\''sleep 300 & echo $! >"$PIDFILE"'\'' & wait; echo started'
# The same daemon ignoring TERM, with its parent staying alive, then the
# task runs into its timeout.
stubborn='setsid sh -c '\''trap "" TERM; sleep 300 & echo $! >"$PIDFILE"; wait'\'' &
while [ ! -s "$PIDFILE" ]; do sleep 0.05; done; echo started; sleep 60'

# own_cgroup_dir HIERARCHY: our own directory in the v1 hierarchy of that
# controller, or in the cgroup2 one (HIERARCHY cgroup2), wherever it is
# mounted (/proc/self/mountinfo); fails when there is none.
own_cgroup_dir() {
    local path
    if [ "$1" = cgroup2 ]; then
        path=$(awk -F: '$1 == 0 && $2 == "" { print $3 }' /proc/self/cgroup)
    else
        path=$(awk -F: -v c="$1" '$2 ~ "(^|,)" c "(,|$)" { print $3 }' /proc/self/cgroup)
    fi
    [ -n "$path" ] || return 1
    awk -v want="$1" -v path="$path" '{
        for (i = 7; i <= NF && $i != "-"; i++) ;
        type = $(i + 1); n = split($(i + 3), super, ",")
        if (want == "cgroup2") { if (type != "cgroup2") next }
        else {
            if (type != "cgroup") next
            has = 0; for (j = 1; j <= n; j++) if (super[j] == want) has = 1
            if (!has) next
        }
        root = $4; rel = path
        if (root != "/") {
            if (index(path, root) != 1) next
            rel = substr(path, length(root) + 1)
        }
        print $5 (rel == "/" ? "" : rel); found = 1; exit
    } END { exit !found }' /proc/self/mountinfo
}

# usable HIERARCHY: we may make cgroups in our own cgroup there and move
# processes into them (what mpispool-run looks for).
usable() {
    local dir
    dir=$(own_cgroup_dir "$1") && [ -w "$dir" ] && [ -w "$dir/cgroup.procs" ]
}

# in_own_cgroup HIERARCHY GROUPS: the task whose /proc/self/cgroup is
# GROUPS is in a task cgroup of its own in that hierarchy.
in_own_cgroup() {
    local line
    if [ "$1" = cgroup2 ]; then
        line=$(grep '^0::' <<<"$2") || return 1
    else
        line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" <<<"$2") || return 1
    fi
    [[ "$line" =~ :/(.*/)?mpispool-[0-9]+-[0-9]+$ ]]
}

MODE=${1:-auto}
case $MODE in
auto)
    # The order mpispool-run documents: the best usable hierarchy.
    want=none
    for h in cgroup2 freezer pids memory; do
        if usable "$h"; then want=$h && break; fi
    done
    log "mode auto: the task cgroup must be in the $want hierarchy"
    ;;
environ) want=none ;;
cgroup2 | freezer | pids | memory)
    usable "$MODE" || skip "no usable $MODE hierarchy on this machine" \
        "(own cgroup: $(own_cgroup_dir "$MODE" || echo none))"
    want=$MODE
    ;;
*) fail "unknown mode '$MODE' (auto, cgroup2, freezer, pids, memory, environ)" ;;
esac

cgroups_before=$(stale_task_cgroups)
for np in 1 2; do
    what="np $np, $MODE"
    log "$what"
    rm -f "$T"/*.pid
    exits=$(submit --env "$TAG" --env "PIDFILE=$T/exits.pid" \
        -- sh -c "$double_fork")
    killed=$(submit --timeout 1 --env "$TAG" --env "PIDFILE=$T/killed.pid" \
        -- sh -c "$stubborn")
    case $MODE in
    environ)
        MPISPOOL_NO_CGROUPS=1 run_until_empty "$np" --spool "$SPOOL" \
            --kill-grace 30
        ;;
    auto) run_until_empty "$np" --spool "$SPOOL" --kill-grace 30 ;;
    *)
        MPISPOOL_TRACK_CGROUP=$MODE run_until_empty "$np" \
            --spool "$SPOOL" --kill-grace 30
        ;;
    esac
    # Where the task ran: in a cgroup of its own in the hierarchy asked
    # for (or picked), in none of ours without cgroups.
    groups=$(cat "$(task_err "$exits" 0)")
    if [ "$want" = none ]; then
        if [[ "$groups" == *mpispool-* ]]; then
            fail "$what: the task is in a cgroup of ours: $groups"
        fi
    else
        in_own_cgroup "$want" "$groups" ||
            fail "$what: the task is not in a $want cgroup of its own: $groups"
    fi

    assert_state "$exits" done
    rec=$(record "$exits" 0)
    assert_json "$rec" .exit_code 0 "$what: exit code of the daemonizing task"
    assert_eq started "$(cat "$(task_out "$exits" 0)")" \
        "$what: stdout of the daemonizing task"
    # The daemon kept the task's stdout open; its result did not wait
    # for it (the pipes are read until the leftovers are killed, not
    # until a 2 s drain limit runs out).
    late_us=$(($(time_us "$(jqf "$SPOOL/out/$exits/report.json" .ended)") -
        $(time_us "$(jqf "$rec" .end)")))
    log "$what: job ended $((late_us / 1000)) ms after its task"
    assert_lt "$late_us" 1500000 "$what: microseconds from the task's end to its job's"
    assert_state "$killed" failed
    rec=$(record "$killed" 0)
    assert_json "$rec" .timed_out true "$what: timed_out of the daemonizing task"
    # The task's own shell died of TERM; the grace (30 s) did not hold
    # anything up (a bound far from both the 1 s timeout and the grace).
    assert_json "$rec" .signal 15 "$what: signal of the timed-out task"
    assert_lt "$(jqf "$rec" .elapsed)" 20 "$what: elapsed of the timed-out task"

    for f in exits killed; do
        [ -s "$T/$f.pid" ] || fail "$what: the $f task wrote no daemon pid"
        pid=$(cat "$T/$f.pid")
        # A killed process may be a zombie a moment longer, until the
        # rank that adopted it reaps it.
        if ! wait_until 5 eval '! tagged '"$pid"; then
            ps -o pid,ppid,pgid,sid,stat,args -p "$pid" >&2 || true
            fail "$what: the daemon of the $f task (pid $pid) is still running"
        fi
        if kill -0 "$pid" 2>/dev/null && [ -d "/proc/$pid" ] &&
            [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
            fail "$what: the daemon of the $f task (pid $pid) is an unreaped zombie"
        fi
    done
    if ! wait_until 5 none_left; then
        ps -o pid,ppid,pgid,sid,stat,args -p "$(leftovers | paste -sd,)" >&2 || true
        fail "$what: processes of the tasks are left: $(leftovers | xargs)"
    fi
    left=$(new_stale_task_cgroups "$cgroups_before")
    [ -z "$left" ] || fail "$what: task cgroups left behind: $left"
done
pass
