#!/bin/bash
# SPDX-License-Identifier: MIT
# The "stdout"/"stderr" job keys (mpispool submit -o/-e): each task's
# output is copied to its patterned path (%x %j %t %3t %u %A %a %%,
# relative to the submit directory), byte for byte (binary, 3 MB, empty),
# and every attempt writes it again, so the last attempt's bytes stay. A
# copy that cannot be written fails the task with the reason in its
# record, and the spool keeps the output. A pattern that would be one file
# for several tasks is refused (at submit, or at claim for a hand-made
# task file job). With --max-output the copy holds what the spool holds.
#
# With no argument it runs as whoever runs it (rank 0 then writes the
# copies as itself). With "owner" (root only; ctest e2e-output_copies_owner)
# the jobs belong to an unprivileged test user: rank 0 runs as root (one
# rank, then mpirun -np 2) and the copies are that user's (uid, gid, the
# umask it submitted with); a path into a directory only root may write,
# or a link the user made to root's file, is not written; then the same
# jobs run with rank 0 as that user. A copy that does not end holds only
# its own attempt, and a stop of mpispool-run ends it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

MODE=${1:-plain}
OWNER=""
if [ "$MODE" = owner ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "$TEST_NAME owner: SKIP: needs root (it makes a test user)"
        exit 77
    fi
    for prog in useradd userdel runuser; do
        command -v "$prog" >/dev/null ||
            fail "$prog is not installed (package passwd / util-linux)"
    done
fi

setup_spool
T=$TEST_TMP
chmod 0755 "$T"
head -c 3000000 /dev/urandom >"$T/big.bin"
printf 'a\0b\377\001\n\0' >"$T/small.bin"
printf 'precious\n' >"$T/rootfile"
chmod 0644 "$T/big.bin" "$T/small.bin" "$T/rootfile"
mkdir -m 0755 "$T/rootonly"

if [ "$MODE" = owner ]; then
    OWNER=mps-copies-$$
    on_cleanup 'userdel -r "$OWNER" >/dev/null 2>&1'
    useradd -m -U -s /bin/sh "$OWNER" || fail "useradd $OWNER"
    OWNER_HOME=$(getent passwd "$OWNER" | cut -d: -f6)
    # Programs the test user can run, whatever the build directory's mode.
    mkdir -p "$T/bin"
    cp "$MPISPOOL" "$MPISPOOL_RUN" "$T/bin/"
    chmod 0755 "$T/bin" "$T/bin/"*
    MPISPOOL=$T/bin/$(basename "$MPISPOOL")
    MPISPOOL_RUN=$T/bin/$(basename "$MPISPOOL_RUN")
    export MPISPOOL MPISPOOL_RUN
    if ! why=$(runuser -u "$OWNER" -- "$MPISPOOL" --version 2>&1); then
        fail "$OWNER cannot run $MPISPOOL: $why"
    fi
    WANT_IDS="$(id -u "$OWNER") $(id -g "$OWNER")"
else
    WANT_IDS="$(id -u) $(id -g)"
fi

# owner CMD...: run CMD as the jobs' owner (with umask 027), in $WORK.
owner() {
    if [ -n "$OWNER" ]; then
        (cd "$WORK" && umask 027 &&
            runuser -u "$OWNER" -- env HOME="$OWNER_HOME" "$@")
    else
        (cd "$WORK" && umask 027 && "$@")
    fi
}

# sub ARGS...: mpispool submit as the owner; prints the job id.
sub() {
    local out
    out=$(owner "$MPISPOOL" --spool "$SPOOL" submit "$@") ||
        fail "submit $* exited $?"
    printf '%s\n' "$out"
}

# run_rank0 NP [USER]: serve $SPOOL until it is empty, as root (or
# whoever runs the test), or as USER.
run_rank0() {
    local np=$1 user=${2:-} rc=0
    if [ -z "$user" ]; then
        run_until_empty "$np"
        return
    fi
    (cd / && runuser -u "$user" -- env HOME="$OWNER_HOME" \
        timeout -k 5 90 mpirun --oversubscribe --bind-to none -np "$np" \
        "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty) \
        >>"$T/coordinator.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || {
        show_coordinator_log
        fail "mpispool-run as $user (np $np) exited $rc"
    }
}

# assert_copy EXPECTED COPY WHAT: byte-exact, and the owner's file.
assert_copy() {
    assert_same_file "$1" "$2" "$3"
    assert_eq "$WANT_IDS 640" "$(stat -c '%u %g %a' "$2")" \
        "owner, group and mode of $3"
}

# round NAME NP [RANK_USER]: the jobs below in a fresh work directory and
# spool, one run of rank 0 (as RANK_USER when given), the checks.
round() {
    local name=$1 np=$2 rank_user=${3:-}
    WORK=$T/work-$name
    mkdir -m 0755 "$WORK"
    [ -z "$OWNER" ] || chown "$OWNER:" "$WORK"
    owner mkdir logs
    if [ -n "$rank_user" ]; then
        SPOOL=$WORK/spool
        owner "$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
    else
        SPOOL=$T/spool-$name
        "$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
    fi
    cat >"$T/copies-$name.json" <<JSON
{"name": "copies", "retries": 1, "retry_backoff": 0.1,
 "stdout": "logs/%x-%j-%3t.out", "stderr": "logs/%j.%t.err",
 "tasks": ["cat '$T/big.bin'",
           "cat '$T/small.bin'; printf 'E\\\\000rr' >&2",
           "true",
           "echo out of \$MPISPOOL_ATTEMPT; echo err of \$MPISPOOL_ATTEMPT >&2; [ \$MPISPOOL_ATTEMPT = 2 ]",
           "echo out of \$MPISPOOL_ATTEMPT; exit 1"]}
JSON
    chmod 0644 "$T/copies-$name.json"
    local copies both marks missing rootonly="" link=""
    copies=$(sub "$T/copies-$name.json")
    both=$(sub --name both -o 'logs/%x.log' -e 'logs/%x.log' -- \
        sh -c 'echo to-out; echo to-err >&2')
    marks=$(sub --stdout 'logs/100%%-%u-%A_%a.txt' -- echo marks)
    missing=$(sub -o "$T/no-such-dir/x.out" -- echo kept)
    if [ -n "$OWNER" ]; then
        # Never as root: root's directory, and the user's link to root's
        # file, stay as they are.
        rootonly=$(sub -o "$T/rootonly/x.out" -- echo kept)
        owner ln -s "$T/rootfile" logs/link.out
        link=$(sub -o logs/link.out -- echo overwritten)
    fi

    # A pattern submit cannot use is a usage error.
    assert_exit 2 owner "$MPISPOOL" --spool "$SPOOL" submit -o 'x%q' -- true
    assert_contains "'--stdout': unknown pattern '%q' in 'x%q'" \
        "$(cat "$T/last.err")" "submit -o with an unknown pattern"
    assert_exit 2 owner "$MPISPOOL" --spool "$SPOOL" submit --stderr '50%' \
        -- true
    assert_contains "'--stderr': '50%' ends in a lone '%'" \
        "$(cat "$T/last.err")" "submit --stderr with a lone %"

    # One file for several tasks: refused at submit; a hand-made job file
    # naming a task file is refused when rank 0 has counted its tasks.
    printf 'echo 1\necho 2\n' >"$T/two.tasks"
    chmod 0644 "$T/two.tasks"
    assert_exit 1 owner "$MPISPOOL" --spool "$SPOOL" submit -o one.out \
        --tasks "$T/two.tasks"
    assert_eq "mpispool: invalid job: 'stdout' ('one.out') would be one file for all 2 tasks: put %t (the task number) in it" \
        "$(cat "$T/last.err")" "submit of a task file with one stdout file"
    cp "$T/two.tasks" "$SPOOL/data/handmade.tasks"
    printf '%s' '{"task_file": "handmade.tasks", "stdout": "/tmp/one.out"}' \
        >"$SPOOL/tmp/handmade.json"
    mv "$SPOOL/tmp/handmade.json" "$SPOOL/new/"

    run_rank0 "$np" "$rank_user"

    local w=$WORK/logs
    assert_state "$copies" failed
    assert_copy "$T/big.bin" "$w/copies-$copies-000.out" "3 MB binary stdout"
    assert_copy "$T/small.bin" "$w/copies-$copies-001.out" "binary stdout"
    printf 'E\0rr' >"$T/err1"
    assert_copy "$T/err1" "$w/$copies.1.err" "binary stderr"
    assert_copy /dev/null "$w/copies-$copies-002.out" "empty stdout"
    assert_copy /dev/null "$w/$copies.0.err" "empty stderr"
    # Retried: every attempt wrote its copy; the last one's stays.
    printf 'out of 2\n' >"$T/out2"
    printf 'err of 2\n' >"$T/err2"
    assert_copy "$T/out2" "$w/copies-$copies-003.out" "retried stdout"
    assert_copy "$T/err2" "$w/$copies.3.err" "retried stderr"
    assert_copy "$T/out2" "$w/copies-$copies-004.out" "stdout of a failed retry"
    assert_json "$(record "$copies" 3)" '[.attempt, .exit_code, .error] | @json' \
        '[2,0,null]'
    assert_json "$(record "$copies" 4)" '[.attempt, .exit_code, .error] | @json' \
        '[2,1,null]'
    for t in 0 1 2 3 4; do
        assert_same_file "$(task_out "$copies" "$t")" \
            "$w/copies-$copies-00$t.out" "the spool's stdout of task $t"
    done
    local made=("$w/copies-$copies-"*)
    [ "${#made[@]}" = 5 ] || fail "copies of job $copies: ${made[*]}"

    assert_state "$both" done
    printf 'to-out\nto-err\n' >"$T/both"
    assert_copy "$T/both" "$w/both.log" "stdout then stderr in one file"
    assert_state "$marks" done
    local user
    user=$(owner id -un)
    printf 'marks\n' >"$T/marks"
    assert_copy "$T/marks" "$w/100%-$user-${marks}_0.txt" "%% %u %A %a"

    # Not written: the reason in the record, the output in the spool.
    assert_state "$missing" failed
    assert_json "$(record "$missing" 0)" .error \
        "cannot copy stdout to '$T/no-such-dir/x.out': No such file or directory"
    assert_json "$(record "$missing" 0)" .exit_code 0
    assert_eq kept "$(cat "$(task_out "$missing" 0)")" "spool output of $missing"
    if [ -n "$rootonly" ]; then
        assert_state "$rootonly" failed
        assert_json "$(record "$rootonly" 0)" .error \
            "cannot copy stdout to '$T/rootonly/x.out': Permission denied"
        assert_no_file "$T/rootonly/x.out" "a copy in root's directory"
        assert_eq kept "$(cat "$(task_out "$rootonly" 0)")" \
            "spool output of $rootonly"
        assert_state "$link" failed
        assert_json "$(record "$link" 0)" .error \
            "cannot copy stdout to '$WORK/logs/link.out': Permission denied"
        assert_eq precious "$(cat "$T/rootfile")" "root's file behind a link"
    fi

    assert_state handmade rejected
    assert_eq "'stdout' ('/tmp/one.out') would be one file for all 2 tasks: put %t (the task number) in it" \
        "$(cat "$SPOOL/rejected/handmade.error")" "hand-made task file job"
    assert_json "$SPOOL/done/$marks.json" .submit_umask 0027
}

# stopped_copy: a copy that does not end (a hung file system; here the
# test hook MPISPOOL_TEST_STOP_COPIES has rank 0 stop each copying process
# with SIGSTOP) holds only its own attempt: other jobs still run. Stopping
# mpispool-run kills it after --kill-grace; the attempt is interrupted,
# and the next run writes the copy.
stopped_copy() {
    WORK=$T/work-stopped
    mkdir -m 0755 "$WORK"
    owner mkdir logs
    SPOOL=$T/spool-stopped
    "$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
    local big quick
    big=$(sub -o logs/big.out -- head -c 10000000 /dev/zero)
    MPISPOOL_TEST_STOP_COPIES=1 start_coordinator 1 --spool "$SPOOL" \
        --kill-grace 1
    wait_until 60 stopped_child ||
        fail "no stopped copying process under mpispool-run"
    quick=$(submit -- echo quick)
    wait_until 60 test -e "$SPOOL/done/$quick.json" ||
        fail "job $quick did not run while a copy was held"
    assert_state "$big" cur
    kill -USR1 "$(mpirun_pid "$COORD_PID")"
    wait_coordinator 60
    assert_eq 0 "$COORD_RC" "exit code of the stopped mpispool-run"
    assert_state "$big" cur
    assert_json "$(record "$big" 0)" '[.interrupted, .error] | @json' \
        "[true,\"cannot copy stdout to '$WORK/logs/big.out': the copying process was killed (Killed)\"]"
    run_until_empty 1
    assert_state "$big" done
    assert_json "$(record "$big" 0)" .attempt 2
    head -c 10000000 /dev/zero >"$T/zeros"
    assert_copy "$T/zeros" "$WORK/logs/big.out" "copy written again"
}

# stopped_child: a stopped mpispool-run process under the coordinator.
stopped_child() {
    local p
    for p in $(descendants "$COORD_PID"); do
        case "$(ps -o stat=,comm= -p "$p" 2>/dev/null)" in
        T*mpispool-run) return 0 ;;
        esac
    done
    return 1
}

if [ "$MODE" = owner ]; then
    round root1 1
    round root2 2
    round user2 2 "$OWNER"
else
    round self2 2
    stopped_copy
    # --max-output: the copy holds what the spool keeps, the first SIZE
    # bytes of the stream, and the record says so.
    SPOOL=$T/spool-self2
    WORK=$T/work-self2
    trunc=$(sub -o 'logs/trunc.out' -- head -c 5000 "$T/big.bin")
    run_mpi 1 --spool "$SPOOL" --until-empty --max-output 1K \
        >>"$T/coordinator.log" 2>&1 || fail "mpispool-run --max-output 1K"
    assert_state "$trunc" done
    head -c 1024 "$T/big.bin" >"$T/first1k"
    assert_copy "$T/first1k" "$WORK/logs/trunc.out" "copy under --max-output"
    assert_json "$(record "$trunc" 0)" .note \
        "stdout truncated at 1K (--max-output)"
fi
pass
