#!/bin/bash
# SPDX-License-Identifier: MIT
# Run as root, mpispool-run runs each job's tasks as the owner of its job
# file: uid, primary group and supplementary groups; root's jobs as root; a
# uid without a password entry with the file's gid and no other groups. A
# job file that is a hard link to another user's file, or a symbolic link
# to one, is rejected and nothing of it runs, as is a job naming a task
# file its owner does not own. One rank and mpirun -np 2.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "$TEST_NAME: SKIP: needs root (it switches tasks to other users)"
    exit 77
fi
for prog in useradd userdel groupadd groupdel usermod runuser setpriv; do
    if ! command -v "$prog" >/dev/null; then
        echo "$TEST_NAME: SKIP: $prog is not installed"
        exit 77
    fi
done

setup_spool
T=$TEST_TMP
chmod 0755 "$T"
# The test users run the CLI: use copies the build directory's mode cannot
# hide from them (a checkout under a private directory, e.g. mktemp -d).
mkdir -p "$T/bin"
cp "$MPISPOOL" "$MPISPOOL_RUN" "$T/bin/"
chmod 0755 "$T/bin" "$T/bin/"*
MPISPOOL=$T/bin/$(basename "$MPISPOOL")
MPISPOOL_RUN=$T/bin/$(basename "$MPISPOOL_RUN")
export MPISPOOL MPISPOOL_RUN
mkdir -p "$T/work"
cat >"$T/handmade.json" <<'JSON'
{"shell": "id -u; stat -c %U .; touch f && echo wrote; echo \"$HOME $USER ${MPS_ROOT_SECRET-unset}\""}
JSON
chmod 0644 "$T/handmade.json"
export MPS_ROOT_SECRET=only-for-root
echo 'id -u' >"$T/a.tasks"
echo 'echo leaked' >"$T/secret"
chmod 0644 "$T/a.tasks"
chmod 0600 "$T/secret"

USER_A=mps-test-a-$$
USER_B=mps-test-b-$$
GROUP_X=mps-test-x-$$
on_cleanup 'userdel -r "$USER_A" >/dev/null 2>&1'
on_cleanup 'userdel -r "$USER_B" >/dev/null 2>&1'
on_cleanup 'groupdel "$GROUP_X" >/dev/null 2>&1'
groupadd "$GROUP_X" || fail "groupadd $GROUP_X"
useradd -m -U -s /bin/sh "$USER_A" || fail "useradd $USER_A"
useradd -m -U -s /bin/sh "$USER_B" || fail "useradd $USER_B"
usermod -aG "$GROUP_X" "$USER_A" || fail "usermod -aG $GROUP_X $USER_A"
uid_a=$(id -u "$USER_A")
uid_b=$(id -u "$USER_B")
gid_x=$(getent group "$GROUP_X" | cut -d: -f3)
groups_a=$(id -G "$USER_A" | tr ' ' '\n' | sort -n | tr '\n' ' ')
home_b=$(getent passwd "$USER_B" | cut -d: -f6)
case " $groups_a" in
*" $gid_x "*) ;;
*) fail "$USER_A is not in $GROUP_X ($gid_x) after usermod: $groups_a" ;;
esac

# Where a test user cannot run the CLI (a build under a private directory),
# this test has nothing to say.
if ! why=$(runuser -u "$USER_A" -- "$MPISPOOL" --version 2>&1); then
    echo "$TEST_NAME: SKIP: $USER_A cannot run $MPISPOOL: $why"
    exit 77
fi

# as USER CMD...: run CMD as USER from /, where every user may be.
as() {
    local who=$1
    shift
    (cd / && runuser -u "$who" -- "$@")
}

# sorted_groups FILE: the second line of an "id -u; id -G" output, sorted.
sorted_groups() {
    sed -n 2p "$1" | tr ' ' '\n' | sort -n | tr '\n' ' '
}

round() {
    local np=$1
    local ida idroot idb handmade unknown
    ida=$(as "$USER_A" "$MPISPOOL" --spool "$SPOOL" submit -- \
        sh -c 'id -u; id -G') || fail "submit as $USER_A"
    idroot=$( (cd / && submit -- sh -c 'id -u; id -G'))
    idb=$(as "$USER_B" "$MPISPOOL" --spool "$SPOOL" submit -- id -u) ||
        fail "submit as $USER_B"
    # A job file without submit_dir runs in a private work directory,
    # which belongs to the job's user.
    # Without a submitter's environment it gets login variables, not the
    # environment of mpispool-run (root's).
    handmade=handmade-$np
    as "$USER_A" sh -c "cp '$T/handmade.json' '$SPOOL/tmp/$handmade.json' &&
        mv '$SPOOL/tmp/$handmade.json' '$SPOOL/new/'" ||
        fail "cannot drop a job file as $USER_A"
    # A uid without a password entry: its file's gid, no other groups.
    unknown=unknown-$np
    printf '%s' '{"shell": "id -u; id -G", "submit_dir": "/"}' \
        >"$SPOOL/tmp/$unknown.json"
    chown 4242:4243 "$SPOOL/tmp/$unknown.json"
    mv "$SPOOL/tmp/$unknown.json" "$SPOOL/new/"

    # A task file of A's runs as A; naming root's file is refused (rank 0
    # reads task files as root).
    local tasks
    tasks=$(as "$USER_A" "$MPISPOOL" --spool "$SPOOL" submit \
        --tasks "$T/a.tasks") || fail "submit --tasks as $USER_A"
    as "$USER_A" sh -c "printf '%s' '{\"task_file\": \"$T/secret\"}' \
        >'$SPOOL/tmp/secret-$np.json' && mv '$SPOOL/tmp/secret-$np.json' '$SPOOL/new/'" ||
        fail "cannot drop a job file as $USER_A"

    # B's own job file, linked into new/ by someone else (root can, with
    # any fs.protected_hardlinks), or symlinked there by A.
    as "$USER_B" sh -c "printf '%s' '{\"command\": [\"id\", \"-u\"]}' >'$home_b/job.json'"
    ln "$home_b/job.json" "$SPOOL/new/hardlink-$np.json"
    as "$USER_A" ln -s "$home_b/job.json" "$SPOOL/new/symlink-$np.json" ||
        fail "$USER_A cannot make a symlink in new/"

    if [ "$np" = 1 ]; then
        local rc=0
        timeout -k 5 90 "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
            --workdir "$T/work" >>"$T/coordinator.log" 2>&1 || rc=$?
        [ "$rc" = 0 ] || {
            show_coordinator_log
            fail "mpispool-run --until-empty exited $rc"
        }
    else
        run_until_empty "$np" --workdir "$T/work"
    fi

    for job in "$ida" "$idroot" "$idb" "$handmade" "$unknown"; do
        assert_state "$job" done
    done
    assert_eq "$uid_a" "$(sed -n 1p "$(task_out "$ida" 0)")" \
        "uid of $USER_A's task (np $np)"
    assert_eq "$groups_a" "$(sorted_groups "$(task_out "$ida" 0)")" \
        "groups of $USER_A's task (np $np)"
    assert_eq 0 "$(sed -n 1p "$(task_out "$idroot" 0)")" \
        "uid of root's task (np $np)"
    assert_eq "$uid_b" "$(cat "$(task_out "$idb" 0)")" \
        "uid of $USER_B's task (np $np)"
    assert_eq "$uid_a
$USER_A
wrote
$(getent passwd "$USER_A" | cut -d: -f6) $USER_A unset" "$(cat "$(task_out "$handmade" 0)")" \
        "$USER_A's task in its private work directory (np $np)"
    assert_eq "4242
4243" "$(cat "$(task_out "$unknown" 0)")" "task of an unknown uid (np $np)"

    assert_state "$tasks" done
    assert_eq "$uid_a" "$(cat "$(task_out "$tasks" 0)")" \
        "uid of $USER_A's task file task (np $np)"
    assert_state "secret-$np" rejected
    # Opened with the owner's rights: root's 0600 file is not theirs to read.
    assert_eq "cannot open task file '$T/secret': Permission denied" \
        "$(cat "$SPOOL/rejected/secret-$np.error")" "reason for root's task file"
    assert_no_file "$SPOOL/out/secret-$np/0.json" "record of root's task file"
    assert_state "hardlink-$np" rejected
    assert_eq "job file is a hard link: refused" \
        "$(cat "$SPOOL/rejected/hardlink-$np.error")" "hard link reason"
    assert_no_file "$SPOOL/out/hardlink-$np/0.json" "record of the hard link"
    assert_state "symlink-$np" rejected
    assert_contains "symbolic link" \
        "$(cat "$SPOOL/rejected/symlink-$np.error")" "symlink reason"
    assert_no_file "$SPOOL/out/symlink-$np/0.json" "record of the symlink"
    rm -f "$home_b/job.json"
    # Work directories are removed, the user's files in them too.
    [ -z "$(find "$T/work" -mindepth 1 -print -quit)" ] ||
        fail "left in the work directory: $(find "$T/work" -mindepth 1)"
}

round 1
round 2

# A rank that is root but may not change its uid or gid (no CAP_SETUID,
# CAP_SETGID) cannot even read the job as its owner: it keeps the job
# queued with the reason in its log (a passing problem of the
# coordinator, not of the job), rather than run it as root; --until-empty
# leaves it in new/ for a coordinator that can.
nocap=$(as "$USER_A" "$MPISPOOL" --spool "$SPOOL" submit -- id -u) ||
    fail "submit as $USER_A"
rc=0
timeout -k 5 60 setpriv --bounding-set -setuid,-setgid "$MPISPOOL_RUN" \
    --spool "$SPOOL" --until-empty --workdir "$T/work" \
    >>"$T/coordinator.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "mpispool-run without CAP_SETUID exited $rc"
assert_state "$nocap" new
grep -qF "job $nocap cannot be set up yet (cannot take the groups of user $uid_a: Operation not permitted)" \
    "$T/coordinator.log" || { tail -20 "$T/coordinator.log" >&2; fail "the coordinator log does not say why"; }
assert_no_file "$(record "$nocap" 0)" "record of the task that never ran"
pass
