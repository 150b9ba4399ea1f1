#!/bin/bash
# SPDX-License-Identifier: MIT
# Variants of the attacks: renames racing the claim, files swapped
# between check and use (the archive, the task file), ids squatted before
# they are minted, directories and device nodes where files belong, huge
# and deeply nested JSON. The user's outcome is what is asserted: bob's
# job runs as his, with his file and output; the secret stays secret;
# rank 0 keeps serving with bounded memory.
. "$(dirname "$0")/lib.sh"

# next_id: the id the next `mpispool submit` hands out, as anyone can
# tell from SPOOL/seq (world-readable) and the date.
next_id() {
    local seq
    seq=$(as "$EVE" cat "$SPOOL/seq" 2>/dev/null) || return 1
    [[ "$seq" =~ ^[0-9]+$ ]] || return 1
    printf '%s-%04d\n' "$(date -u +%Y%m%d)" "$((10#$seq + 1))"
}

# Eve predicts bob's next id, waits for his file and keeps renaming a job
# file of hers into new/ under it: refused (sticky bit) while bob's file
# is there, taken the moment rank 0 has claimed his.
sc_claim_race() {
    local predicted job
    start_rank0
    predicted=$(next_id) ||
        log "eve cannot tell the next id from SPOOL/seq: no race to run"
    as "$EVE" perl -e '
        my ($spool, $id) = @ARGV;
        my $tmp = "$spool/tmp/.race.$$";
        my $end = time + 30;
        # First the file of bob is there (anyone may stat a name in new/
        # and cur/), then it is claimed.
        1 until -e "$spool/new/$id.json" || -e "$spool/cur/$id.json" ||
            time > $end;
        while (time < $end) {
            open(my $f, ">", $tmp) or die "$tmp: $!\n";
            print $f "{\"shell\": \"echo eve-was-here\"}\n";
            close($f);
            utime(time - 60, time - 60, $tmp); # not "still being written"
            if (rename($tmp, "$spool/new/$id.json")) {
                print "renamed\n";
                exit 0;
            }
        }
        unlink $tmp;' "$SPOOL" "$predicted" >"$T/race.out" 2>&1 &
    BG_PIDS+=("$!")
    sleep 0.5
    job=$(submit_as "$BOB" -- sh -c 'sleep 2; echo bob-output')
    [ "$job" = "$predicted" ] ||
        log "bob's id $job is not the predicted $predicted: no race to run"
    assert_job_done "$job" 30 "bob's job"
    log "eve's racer: $(cat "$T/race.out")"
    # Whatever became of eve's file, it is not bob's job.
    wait_until 15 test ! -e "$SPOOL/new/$job.json" || true
    sleep 1
    assert_eq "$(uid_of "$BOB")" "$(stat -c %u "$SPOOL/done/$job.json")" \
        "owner of bob's job file"
    grep -q bob-output "$SPOOL/done/$job.json" ||
        fail "bob's job file in done/ is not his"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
}

# Eve's job waits for her first one; once it is claimed (its archive in
# data/ checked as hers), she swaps the archive for a symlink to a
# root-only 0600 tar.
sc_archive_swap() {
    local home first second
    home=$(home_of "$EVE")
    mkdir -p "$T/harmless"
    echo "secret.txt is not here yet" >"$T/harmless/secret.txt"
    make_tar "$home/ok.tar" "$T/harmless"
    chown "$EVE:" "$home/ok.tar"
    first=$(submit_as "$EVE" -- sleep 3)
    second=$(submit_json "$EVE" "{\"after\": [\"$first\"], \"archive\": \"ok.tar\", \"shell\": \"cat secret.txt; cp secret.txt '$PUB/swapped'\"}")
    start_rank0
    wait_until 20 test -e "$SPOOL/cur/$second.json" ||
        fail "eve's second job was not claimed"
    eve_try "swap her archive" sh -c 'rm -f "$1" && ln -s "$2" "$1"' sh \
        "$SPOOL/data/$second.archive" "$ROOTDIR/secret.tar" || true
    settle "$second" 30
    assert_not_leaked "$SPOOL/out" "$PUB" "$home"
}

# Eve submits a task file (copied into data/ as hers), then, before any
# coordinator claims the job, swaps the copy for a symlink to bob's
# private task file, and another job's for one to a root-only file.
# Already refused today (the owner is checked on the open file); kept as
# a regression test.
sc_task_file_swap() {
    local home bobhome a b
    home=$(home_of "$EVE")
    bobhome=$(home_of "$BOB")
    printf 'echo %s\n' "$TOKEN" >"$bobhome/private.tasks"
    chown "$BOB:" "$bobhome/private.tasks"
    chmod 0600 "$bobhome/private.tasks"
    echo 'echo eve' >"$home/t.tasks"
    chown "$EVE:" "$home/t.tasks"
    a=$(submit_as "$EVE" --tasks t.tasks)
    b=$(submit_as "$EVE" --tasks t.tasks)
    eve_try "swap her task file" sh -c 'rm -f "$1" && ln -s "$2" "$1"' sh \
        "$SPOOL/data/$a.tasks" "$bobhome/private.tasks" || true
    eve_try "swap her task file" sh -c 'rm -f "$1" && ln -s "$2" "$1"' sh \
        "$SPOOL/data/$b.tasks" "$ROOTDIR/secret" || true
    start_rank0
    settle "$a" 20
    settle "$b" 20
    assert_not_leaked "$SPOOL/out" "$PUB" "$home"
}

# Before bob submits, eve takes the next ids (from SPOOL/seq) in new/:
# files and a directory. Bob's submit must still give him a job of his
# own that runs.
sc_id_squatting() {
    local id seq i job
    seq=$(cat "$SPOOL/seq" 2>/dev/null || echo 0)
    [[ "$seq" =~ ^[0-9]+$ ]] || seq=0
    for i in 1 2 3 4; do
        id=$(printf '%s-%04d' "$(date -u +%Y%m%d)" "$((10#$seq + i))")
        if [ "$i" = 4 ]; then
            as "$EVE" mkdir "$SPOOL/new/$id.json"
        else
            drop_as "$EVE" "$id" '{"shell": "echo eve-was-here"}'
        fi
    done
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    start_rank0
    assert_job_done "$job" 30 "bob's job"
    assert_eq "$(uid_of "$BOB")" "$(stat -c %u "$SPOOL/done/$job.json")" \
        "owner of bob's job file"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
}

# Directories where job files belong: one alone, one twice under the same
# name (the first rejected one is not empty), one named like bob's
# running job. Bob's job runs as his; rank 0 goes on. Already so today.
sc_dir_job_file() {
    local job sum
    job=$(submit_as "$BOB" -- sh -c 'sleep 2; echo bob-output')
    sum=$(sha_of "$SPOOL/new/$job.json")
    start_rank0
    wait_until 20 test -e "$SPOOL/cur/$job.json" || fail "not claimed"
    as "$EVE" sh -c 'mkdir "$1/tmp/d" && touch "$1/tmp/d/x" &&
        mv "$1/tmp/d" "$1/new/eve-d.json"' sh "$SPOOL"
    wait_until 15 gone_from_queue eve-d || true
    as "$EVE" sh -c 'mkdir "$1/tmp/d" && touch "$1/tmp/d/x" &&
        mv "$1/tmp/d" "$1/new/eve-d.json"' sh "$SPOOL" 2>/dev/null || true
    as "$EVE" sh -c 'mkdir "$1/tmp/e" && mv "$1/tmp/e" "$1/new/$2.json"' \
        sh "$SPOOL" "$job" 2>/dev/null || true
    assert_job_done "$job" 30 "bob's job"
    assert_eq "$(uid_of "$BOB") $sum" \
        "$(stat -c %u "$SPOOL/done/$job.json") $(sha_of "$SPOOL/done/$job.json")" \
        "owner and checksum of bob's job file"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
    local next
    next=$(submit_as "$BOB" -- true)
    assert_job_done "$next" 20 "bob's next job"
}

# Device nodes owned by eve (as a user who is root on her own PC can make
# them on an NFS spool): a job file that is /dev/zero, a cancel request
# for her held job that is /dev/zero, an archive in data/ that is
# /dev/zero. Rank 0 reads none of them; bob's job runs. Already so today.
sc_device_nodes() {
    local held job
    held=$(submit_as "$EVE" -- sleep 30)
    start_rank0 --slots 4
    wait_until 20 test -e "$SPOOL/cur/$held.json" || fail "not claimed"
    mknod "$SPOOL/data/eve-zero.tar" c 1 5
    mknod "$SPOOL/cancel/$held+zero" c 1 5
    mknod "$SPOOL/tmp/eve-zero.json" c 1 5
    chown "$EVE:" "$SPOOL/data/eve-zero.tar" "$SPOOL/cancel/$held+zero" \
        "$SPOOL/tmp/eve-zero.json"
    as "$EVE" mv "$SPOOL/tmp/eve-zero.json" "$SPOOL/new/eve-zero.json"
    drop_as "$EVE" eve-dev '{"command": ["true"], "archive": "eve-zero.tar"}'
    wait_until 15 gone_from_queue eve-zero ||
        log "the node is still in new/ (rank 0 may leave what is no file)"
    settle eve-dev 15
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    assert_job_done "$job" 15 "bob's job"
    assert_rss_growth 256 "after eve's device nodes"
}

# A 1 GiB job file (sparse) and one of arrays nested 200,000 deep: each
# refused, rank 0's memory bounded, bob's job runs. Already so today (the
# 16 MiB limit is checked first; jansson limits the depth).
sc_huge_deep_json() {
    local home job
    home=$(home_of "$EVE")
    as "$EVE" truncate -s 1G "$home/huge.json"
    perl -e 'print "{\"tasks\": ", "[" x 200000, "]" x 200000, "}\n"' \
        >"$home/deep.json"
    chown "$EVE:" "$home/deep.json"
    start_rank0
    as "$EVE" sh -c 'mv "$1/huge.json" "$2/tmp/h" && mv "$2/tmp/h" "$2/new/eve-huge.json" &&
        mv "$1/deep.json" "$2/tmp/d" && mv "$2/tmp/d" "$2/new/eve-deep.json"' \
        sh "$home" "$SPOOL"
    wait_until 20 gone_from_queue eve-huge || log "eve-huge is still queued"
    wait_until 20 gone_from_queue eve-deep || log "eve-deep is still queued"
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    assert_job_done "$job" 15 "bob's job"
    assert_rss_growth 256 "after eve's huge and deep job files"
    local j
    for j in eve-huge eve-deep; do
        assert_ne 'done' "$(job_final "$j")" "where $j ended"
    done
}

sec_main "$@"
