#!/bin/bash
# SPDX-License-Identifier: MIT
# Honest users on a shared spool: a task may change the files extracted
# from its own job's archive (they are the task user's); a user cancels
# her own queued job at once, without a coordinator, and her own running
# job; root cancels anyone's.
. "$(dirname "$0")/lib.sh"

# ana's task appends to, removes and adds to what her archive held.
sc_archive_files_writable() {
    local home job
    home=$(home_of "$ANA")
    mkdir -p "$T/in/sub"
    echo first >"$T/in/data.txt"
    echo other >"$T/in/other.txt"
    echo deep >"$T/in/sub/deep.txt"
    make_tar "$home/in.tar" "$T/in"
    chown "$ANA:" "$home/in.tar"
    job=$(submit_as "$ANA" --archive in.tar -- sh -c \
        'echo more >>data.txt && rm other.txt && echo x >sub/new.txt &&
         echo again >sub/deep.txt && stat -c %u data.txt sub/deep.txt')
    start_rank0
    assert_job_done "$job" 30 "ana's job changing her archive's files"
    assert_eq "$(uid_of "$ANA")
$(uid_of "$ANA")" "$(cat "$SPOOL/out/$job/0.out")" \
        "owner of the extracted files, as the task saw them"
}

# No coordinator runs: ana's cancel of her queued job ends it at once,
# and no coordinator started later runs it.
sc_cancel_own_queued() {
    local job other state
    job=$(submit_as "$ANA" -- sh -c "touch '$PUB/ran'")
    as "$ANA" "$MPISPOOL" --spool "$SPOOL" cancel "$job" >"$T/cancel.out" 2>&1 ||
        fail "ana's cancel of her queued job exited $?: $(cat "$T/cancel.out")"
    state=$(as "$ANA" "$MPISPOOL" --spool "$SPOOL" report --json "$job" \
        2>/dev/null | jq -r .state) || true
    assert_eq cancelled "$state" \
        "state of ana's queued job right after her cancel (no coordinator)"
    other=$(submit_as "$ANA" -- true)
    start_rank0
    assert_job_done "$other" 30 "ana's next job"
    assert_no_file "$PUB/ran" "proof that the cancelled job ran"
    state=$(as "$ANA" "$MPISPOOL" --spool "$SPOOL" report --json "$job" |
        jq -r .state) || true
    assert_eq cancelled "$state" "state of ana's cancelled job at the end"
}

# Already so today; kept so that checking who may cancel does not stop
# owners and root: ana cancels her running job, root bob's.
sc_cancel_own_running() {
    local mine bobs
    mine=$(submit_as "$ANA" -- sleep 60)
    bobs=$(submit_as "$BOB" -- sleep 60)
    start_rank0 --slots 2 --kill-grace 2
    wait_until 20 test -e "$SPOOL/cur/$bobs.json" || fail "not claimed"
    wait_until 20 status_has '[.jobs[].running] | add == 2' ||
        fail "the two jobs did not start"
    as "$ANA" "$MPISPOOL" --spool "$SPOOL" cancel "$mine" >/dev/null ||
        fail "ana's cancel of her running job failed"
    "$MPISPOOL" --spool "$SPOOL" cancel "$bobs" >/dev/null ||
        fail "root's cancel of bob's running job failed"
    local j
    for j in "$mine" "$bobs"; do
        wait_ended "$j" 15 || fail "cancelled job $j did not end within 15 s"
        assert_eq cancelled "$(jq -r .state "$SPOOL/out/$j/report.json")" \
            "state of cancelled job $j"
    done
}

sec_main "$@"
