#!/bin/bash
# SPDX-License-Identifier: MIT
# Code run as root: a hostile user must never get a task run as uid 0, nor
# make root write a file she names. Each scenario is one of the ways
# found: a job file extracted from her archive (root's) moved into new/;
# a work directory she made at rank 0's (or a worker's) predictable name
# with a symlink into new/; a symlink at a worker's archive copy path.
. "$(dirname "$0")/lib.sh"

# The job file a hostile archive carries: run as root, it leaves "0" in
# the proof file.
payload_tar() { # TAR PROOF NAME
    local dir
    dir=$(mktemp -d "$T/payload.XXXXXX")
    printf '{"shell": "id -u >>%s"}\n' "$2" >"$dir/$3"
    make_tar "$1" "$dir"
    chmod 0644 "$1"
}

# Eve's archive holds x.json; her task moves it into new/. Whoever the
# extracted file belongs to is who that job runs as.
sc_archive_job_into_new() {
    local home proof job
    home=$(home_of "$EVE")
    proof=$PUB/proof-a
    payload_tar "$home/a.tar" "$proof" x.json
    chown "$EVE:" "$home/a.tar"
    job=$(submit_as "$EVE" --archive a.tar -- \
        sh -c "mv x.json '$SPOOL/new/eve-rooted.json'")
    start_rank0
    wait_ended "$job" 30 || fail "eve's job did not end within 30 s"
    wait_until 30 gone_from_queue eve-rooted ||
        fail "the moved job file was not taken within 30 s"
    assert_never_root "$proof" "the job file extracted from eve's archive"
    assert_no_root_job_files
}

# Eve reads rank 0's pid (status file) or a worker's (ps), makes its work
# directory before it does, with a symlink named like her job's private
# directory pointing into new/; root then extracts her archive there.
sc_workdir_symlink() {
    local home proof pid rankdir
    home=$(home_of "$EVE")
    proof=$PUB/proof-b
    payload_tar "$home/b.tar" "$proof" eve-b-payload.json
    chown "$EVE:" "$home/b.tar"
    start_rank0
    if [ "$NP" = 1 ]; then
        pid=$(as "$EVE" jq -r .pid "$STATUS_FILE")
        rankdir=$SEC_TMPDIR/mpispool-rank0-$pid
    else
        # What ps shows anyone: the pid of the rank that is not rank 0.
        eve_try "see rank 1 in ps" ps -o pid= -p "$RANK1_PID" || true
        rankdir=$SEC_TMPDIR/mpispool-rank1-$RANK1_PID
    fi
    eve_try "make $rankdir" mkdir "$rankdir" &&
        eve_try "plant a symlink" ln -s "$SPOOL/new" "$rankdir/eve-b.0.1" ||
        true
    drop_as "$EVE" eve-b "{\"command\": [\"true\"], \"archive\": \"$home/b.tar\"}"
    wait_ended eve-b 30 || fail "eve's job did not end within 30 s"
    wait_until 30 gone_from_queue eve-b-payload ||
        fail "the extracted job file was not taken within 30 s"
    assert_never_root "$proof" "a job extracted through eve's symlink"
    assert_no_root_job_files
    [ ! -e "$SPOOL/done/eve-b-payload.json" ] ||
        [ "$(stat -c %u "$SPOOL/done/eve-b-payload.json")" != 0 ] ||
        fail "root extracted eve's archive into new/"
}

# On a worker, eve makes the rank's work directory first and plants a
# symlink where her job's archive copy goes, to a root-only 0600 file.
sc_archive_copy_symlink() {
    local home sum rankdir
    home=$(home_of "$EVE")
    mkdir -p "$T/c"
    echo data >"$T/c/input"
    make_tar "$home/c.tar" "$T/c"
    chown "$EVE:" "$home/c.tar"
    sum=$(sha_of "$ROOTDIR/secret")
    start_rank0
    eve_try "see rank 1 in ps" ps -o pid= -p "$RANK1_PID" || true
    rankdir=$SEC_TMPDIR/mpispool-rank1-$RANK1_PID
    eve_try "make $rankdir" mkdir "$rankdir" &&
        eve_try "plant a symlink" ln -s "$ROOTDIR/secret" \
            "$rankdir/eve-c.archive" || true
    drop_as "$EVE" eve-c "{\"command\": [\"true\"], \"archive\": \"$home/c.tar\"}"
    wait_ended eve-c 30 || fail "eve's job did not end within 30 s"
    assert_unchanged "$ROOTDIR/secret" "$sum" \
        "the root-only file eve's symlink named"
    [ "$(stat -c %u:%a "$ROOTDIR/secret")" = 0:600 ] ||
        fail "the root-only file changed owner or mode"
}

sec_main "$@"
