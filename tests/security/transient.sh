#!/bin/bash
# SPDX-License-Identifier: MIT
# Transient errors are not invalid jobs: out/ briefly read-only (EROFS)
# or immutable (EPERM), or a full disk (ENOSPC) when rank 0 claims a
# valid job leave it queued and retried; once the error has cleared, the
# job ends done, without a restart of rank 0.
. "$(dirname "$0")/lib.sh"

# transient_out HOW: out/ fails (HOW: ro or immutable) from before bob
# submits until 3 s after (rank 0 sees the job at once, through inotify,
# and tries to claim it meanwhile, maybe several times); then it must
# run.
transient_out() {
    local how=$1 job
    start_rank0
    case $how in
    ro)
        sec_mount --bind "$SPOOL/out" "$SPOOL/out"
        mount -o remount,bind,ro "$SPOOL/out" || fail "remount ro"
        ;;
    immutable)
        chattr +i "$SPOOL/out" 2>/dev/null ||
            sec_skip "chattr +i is not supported on $SPOOL's file system"
        on_cleanup "chattr -i '$SPOOL/out' 2>/dev/null"
        ;;
    esac
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    sleep 3
    case $how in
    ro) sec_umount "$SPOOL/out" ;;
    immutable) chattr -i "$SPOOL/out" ;;
    esac
    log "out/ is writable again; bob's job is in $(job_where "$job")"
    assert_job_done "$job" 30 "bob's valid job claimed while out/ failed"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
}

sc_out_readonly() { transient_out ro; }
sc_out_immutable() {
    command -v chattr >/dev/null || sec_skip "chattr is not installed"
    transient_out immutable
}

# The spool on a small tmpfs. Rank 0 starts (its journal made), then the
# file system is filled (blocks and inodes) but for a sliver bob's job
# file takes; rank 0 tries to claim it on a full disk. Three seconds
# later the filler is removed.
sc_disk_full() {
    local fs=$T/fs job i
    mkdir -p "$fs"
    sec_mount -t tmpfs -o size=8m,nr_inodes=400,mode=0755 tmpfs "$fs"
    SPOOL=$fs/spool
    "$MPISPOOL" init "$SPOOL" >/dev/null || fail "mpispool init on tmpfs"
    start_rank0
    mkdir "$fs/filler"
    dd if=/dev/zero of="$fs/filler/blocks" bs=64k 2>/dev/null || true
    i=0
    while : >"$fs/filler/i$i" 2>/dev/null; do i=$((i + 1)); done
    # Room for one small file: bob's job.
    rm -f "$fs/filler/i0"
    truncate -s -16k "$fs/filler/blocks"
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    sleep 3
    rm -rf "$fs/filler"
    log "the disk has room again; bob's job is in $(job_where "$job")"
    assert_job_done "$job" 30 "bob's valid job claimed on a full disk"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
}

sec_main "$@"
