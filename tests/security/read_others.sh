#!/bin/bash
# SPDX-License-Identifier: MIT
# Reading what is not yours: a job's archive is read with its owner's
# rights, however it is named (absolute path, symlink or '..' in data/, a
# symlinked directory in data/), and what a user submits or gets back
# (archive and task file copies in data/, outputs, records, reports)
# follows her umask: another user cannot read it.
. "$(dirname "$0")/lib.sh"

# leak_job NAME ARCHIVE: eve's job NAME extracting ARCHIVE (as named in
# the job file) and copying what it finds where she can read it; it must
# end without $TOKEN anywhere eve can look.
leak_job() {
    local name=$1 archive=$2
    drop_as "$EVE" "$name" "{\"shell\": \"cat secret.txt; cp secret.txt '$PUB/$name'\", \"archive\": \"$archive\"}"
    start_rank0
    settle "$name" 20
    assert_not_leaked "$SPOOL/out" "$SPOOL/done" "$SPOOL/failed" \
        "$SPOOL/rejected" "$PUB" "$(home_of "$EVE")"
}

# An absolute "archive" naming a root-only 0600 tar.
sc_archive_root_only() {
    leak_job eve-r1 "$ROOTDIR/secret.tar"
}

# An absolute "archive" naming another user's private tar.
sc_archive_other_user() {
    local home
    home=$(home_of "$BOB")
    cp "$ROOTDIR/secret.tar" "$home/private.tar"
    chown "$BOB:" "$home/private.tar"
    chmod 0600 "$home/private.tar"
    leak_job eve-r2 "$home/private.tar"
}

# A relative "archive" that is eve's symlink in data/ to the root-only tar.
sc_archive_symlink_in_data() {
    eve_try "make a symlink in data/" \
        ln -s "$ROOTDIR/secret.tar" "$SPOOL/data/eve-r3.tar" || true
    leak_job eve-r3 eve-r3.tar
}

# A relative "archive" climbing out of data/ with '..'.
sc_archive_dotdot() {
    local rel
    rel=$(realpath --relative-to="$SPOOL/data" "$ROOTDIR/secret.tar")
    case $rel in ../*) ;; *) fail "not a '..' path: $rel" ;; esac
    leak_job eve-r4 "$rel"
}

# A relative "archive" through eve's symlink to a directory, in data/.
sc_archive_symlinked_dir() {
    eve_try "make a symlink in data/" \
        ln -s "$ROOTDIR" "$SPOOL/data/eve-dir" || true
    leak_job eve-r5 eve-dir/secret.tar
}

# bob submits with umask 077: nothing of his job under out/ is readable
# by eve; bob reads his output and report.
sc_output_umask() {
    local job f
    job=$(SEC_UMASK=077 submit_as "$BOB" -- sh -c "echo bob-private-$$; echo bob-err-$$ >&2")
    start_rank0
    assert_job_done "$job" 30 "bob's job"
    wait_until 10 test -f "$SPOOL/out/$job/report.json" ||
        fail "no report for bob's job"
    stop_rank0
    as "$BOB" cat "$SPOOL/out/$job/0.out" | grep -qx "bob-private-$$" ||
        fail "bob cannot read his own output"
    as "$BOB" "$MPISPOOL" --spool "$SPOOL" report "$job" >/dev/null ||
        fail "bob cannot read his own report"
    while IFS= read -r f; do
        if can_read "$EVE" "$f"; then
            fail "eve can read ${f#"$SPOOL"/} of bob's job (bob's umask 077)"
        fi
    done < <(find "$SPOOL/out/$job" -type f)
}

# bob submits an archive and a task file with umask 077: the copies in
# data/ (named after his job id, which anyone can guess) and his job
# file are not readable by eve.
sc_data_copies_umask() {
    local home job f
    home=$(home_of "$BOB")
    mkdir -p "$T/bob"
    echo "bob-archive-$$" >"$T/bob/input"
    make_tar "$home/in.tar" "$T/bob"
    echo "echo bob-task-$$" >"$home/run.tasks"
    chown "$BOB:" "$home/in.tar" "$home/run.tasks"
    chmod 0600 "$home/in.tar" "$home/run.tasks"
    job=$(SEC_UMASK=077 submit_as "$BOB" --archive in.tar --tasks run.tasks)
    local found=0
    for f in "$SPOOL/data/$job".* "$SPOOL/new/$job.json"; do
        [ -f "$f" ] || continue
        found=$((found + 1))
        if can_read "$EVE" "$f"; then
            fail "eve can read ${f#"$SPOOL"/} (bob's umask 077)"
        fi
    done
    [ "$found" -ge 1 ] || fail "no file of bob's job in the spool"
    # Still bob's job runs, with his archive and task file.
    start_rank0
    assert_job_done "$job" 30 "bob's job"
    grep -qx "bob-task-$$" "$SPOOL/out/$job/0.out" ||
        fail "bob's task did not run from his task file"
}

sec_main "$@"
