#!/bin/bash
# SPDX-License-Identifier: MIT
# A task that starts a daemon (double fork + setsid, so it leaves the task's
# process group and session) leaves no process behind: the daemon is gone
# once the job is done, whether the task exited 0 or was killed by its
# timeout, and the daemon holding the task's stdout open does not hold up
# its result. With one rank and with two; with the per-task cgroup the
# rank picks, with each v1 hierarchy it can use (MPISPOOL_TRACK_CGROUP:
# freezer, pids, memory) where this machine has it, and with the fallback
# that finds a task's processes by a marker in their environment
# (MPISPOOL_NO_CGROUPS=1).
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

# v1_usable CONTROLLER: we may make cgroups in our own cgroup of that v1
# hierarchy (mounted where mpispool-run finds it on this machine).
v1_usable() {
    local path
    path=$(awk -F: -v c="$1" '$2 ~ "(^|,)" c "(,|$)" { print $3 }' /proc/self/cgroup)
    [ -n "$path" ] && grep -q " /sys/fs/cgroup/$1 .* cgroup .*$1" /proc/self/mountinfo &&
        [ -w "/sys/fs/cgroup/$1${path%/}" ] && [ -w "/sys/fs/cgroup/$1${path%/}/cgroup.procs" ]
}

cgroups_before=$(stale_task_cgroups)
for np in 1 2; do
    for mode in auto freezer pids memory environ; do
        what="np $np, $mode"
        case $mode in
        freezer | pids | memory)
            if ! v1_usable "$mode"; then
                log "$what: skipped, no usable v1 $mode hierarchy here"
                continue
            fi
            ;;
        esac
        log "$what"
        rm -f "$T"/*.pid
        exits=$(submit --env "$TAG" --env "PIDFILE=$T/exits.pid" \
            -- sh -c "$double_fork")
        killed=$(submit --timeout 1 --env "$TAG" --env "PIDFILE=$T/killed.pid" \
            -- sh -c "$stubborn")
        case $mode in
        environ)
            MPISPOOL_NO_CGROUPS=1 run_until_empty "$np" --spool "$SPOOL" \
                --kill-grace 30
            ;;
        freezer | pids | memory)
            MPISPOOL_TRACK_CGROUP=$mode run_until_empty "$np" \
                --spool "$SPOOL" --kill-grace 30
            ;;
        *) run_until_empty "$np" --spool "$SPOOL" --kill-grace 30 ;;
        esac
        # Where the task ran: in a cgroup of its own in the hierarchy asked
        # for, in none of ours without cgroups.
        groups=$(cat "$(task_err "$exits" 0)")
        case $mode in
        freezer | pids | memory)
            grep -Eq "^[0-9]+:$mode:/(.*/)?mpispool-[0-9]+-[0-9]+\$" <<<"$groups" ||
                fail "$what: the task is not in a $mode cgroup of its own: $groups"
            ;;
        environ)
            if [[ "$groups" == *mpispool-* ]]; then
                fail "$what: the task is in a cgroup of ours: $groups"
            fi
            ;;
        auto) log "$what: $(grep mpispool- <<<"$groups" || echo 'no task cgroup')" ;;
        esac

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
        # anything up.
        assert_json "$rec" .signal 15 "$what: signal of the timed-out task"
        assert_lt "$(jqf "$rec" .elapsed)" 10 "$what: elapsed of the timed-out task"

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
done
pass
