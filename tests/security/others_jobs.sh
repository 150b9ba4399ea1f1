#!/bin/bash
# SPDX-License-Identifier: MIT
# Touching another user's job: a job file eve renames into new/ under the
# id of bob's job (in each state) leaves bob's job file, outputs and
# outcome alone; ids cannot be handed out twice (SPOOL/seq reset) nor
# their minting blocked (a lock held on it); eve cannot cancel bob's
# running or queued job, nor drain the hosts everyone's jobs run on.
. "$(dirname "$0")/lib.sh"

# snapshot JOB: checksums of JOB's job file (wherever it is) and of every
# file under out/JOB/, one a line.
snapshot() {
    local where
    where=$(job_final "$1")
    printf '%s %s %s\n' "$where" "$(stat -c %U "$SPOOL/$where/$1.json")" \
        "$(sha_of "$SPOOL/$where/$1.json")"
    if [ -d "$SPOOL/out/$1" ]; then
        (cd "$SPOOL/out/$1" && find . -type f | sort | xargs -r sha256sum)
    fi
}

# assert_same_snapshot JOB BEFORE WHAT: snapshot JOB is still BEFORE.
assert_same_snapshot() {
    local now
    now=$(snapshot "$1")
    if [ "$now" != "$2" ]; then
        diff <(printf '%s\n' "$2") <(printf '%s\n' "$now") | sed 's/^/  /' >&2 || true
        fail "$3: its job file, owner or outputs changed (diff above)"
    fi
}

# eve_dup JOB: eve renames a job file of hers into new/ under JOB's id;
# then waits (up to 15 s) for a coordinator to take it.
eve_dup() {
    as "$EVE" sh -c 'printf "%s\n" "{\"shell\": \"echo eve-was-here\"}" \
        >"$1/tmp/.dup.$$" && mv "$1/tmp/.dup.$$" "$1/new/$2.json"' \
        sh "$SPOOL" "$1" 2>/dev/null
    wait_until 15 test ! -e "$SPOOL/new/$1.json" || true
}

# dup_ended STATE: bob's job ended in STATE; eve's file under its id must
# change nothing of it.
dup_ended() {
    local want=$1 job before
    case $want in
    'done') job=$(submit_as "$BOB" -- sh -c 'echo bob-output') ;;
    failed) job=$(submit_as "$BOB" -- sh -c 'echo bob-output; exit 3') ;;
    rejected) # a job file naming an archive that does not exist
        job=bob-rejected
        drop_as "$BOB" "$job" '{"command": ["true"], "archive": "no-such.tar"}'
        ;;
    esac
    start_rank0
    wait_ended "$job" 30 || fail "bob's job did not end"
    assert_eq "$want" "$(job_final "$job")" "where bob's job ended"
    sleep 1 # its report and records are written
    before=$(snapshot "$job")
    eve_dup "$job"
    sleep 1
    assert_same_snapshot "$job" "$before" \
        "bob's $want job after eve's file under its id"
}

sc_dup_id_done() { dup_ended 'done'; }
sc_dup_id_failed() { dup_ended failed; }
sc_dup_id_rejected() { dup_ended rejected; }

# assert_bobs_own JOB OUTPUT SUM: bob's job JOB ends done with his own
# job file (SUM) and OUTPUT.
assert_bobs_own() {
    local job=$1 output=$2 sum=$3
    assert_job_done "$job" 40 "bob's job"
    assert_eq "$(uid_of "$BOB") $sum" \
        "$(stat -c %u "$SPOOL/done/$job.json") $(sha_of "$SPOOL/done/$job.json")" \
        "owner and checksum of bob's job file"
    assert_eq "$output" "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
}

running() {
    status_has "any(.jobs[]; .job == \"$1\" and .running >= 1)"
}

sc_dup_id_running() {
    local job sum
    job=$(submit_as "$BOB" -- sh -c 'sleep 4; echo bob-output')
    sum=$(sha_of "$SPOOL/new/$job.json")
    start_rank0
    wait_until 20 running "$job" || fail "bob's job did not start"
    eve_dup "$job"
    assert_bobs_own "$job" bob-output "$sum"
}

# Claimed and waiting for its dependency.
sc_dup_id_waiting() {
    local first job sum
    first=$(submit_as "$BOB" -- sleep 4)
    job=$(submit_json "$BOB" "{\"after\": [\"$first\"], \"shell\": \"echo bob-output\"}")
    sum=$(sha_of "$SPOOL/new/$job.json")
    start_rank0
    wait_until 20 test -e "$SPOOL/cur/$job.json" ||
        fail "bob's second job was not claimed"
    eve_dup "$job"
    assert_bobs_own "$job" bob-output "$sum"
}

# Still in new/ (the sticky bit stops the rename: already safe).
sc_dup_id_queued() {
    local job sum
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    sum=$(sha_of "$SPOOL/new/$job.json")
    as "$EVE" sh -c 'printf "%s\n" "{\"shell\": \"echo eve\"}" \
        >"$1/tmp/.dup" && mv -f "$1/tmp/.dup" "$1/new/$2.json"' \
        sh "$SPOOL" "$job" 2>/dev/null || true
    start_rank0
    assert_bobs_own "$job" bob-output "$sum"
}

# eve resets SPOOL/seq: ana's next job must not get an id used before.
sc_seq_reset() {
    local first second before
    first=$(submit_as "$ANA" -- sh -c 'echo ana-first')
    start_rank0
    assert_job_done "$first" 30 "ana's first job"
    sleep 1
    before=$(snapshot "$first")
    as "$EVE" sh -c 'echo 0 >"$1/seq"' sh "$SPOOL" 2>/dev/null || true
    second=$(submit_as "$ANA" -- sh -c 'echo ana-second')
    assert_ne "$first" "$second" "the id of ana's second job"
    assert_job_done "$second" 30 "ana's second job"
    assert_eq "ana-second" "$(cat "$SPOOL/out/$second/0.out")" \
        "output of ana's second job"
    assert_eq "$before" "$(snapshot "$first")" "ana's first job"
}

# eve holds a lock on SPOOL/seq (a write lock if she may write it, else
# a read lock, and a flock): ana's submit must not wait for her.
sc_seq_lock() {
    as "$EVE" perl -MFcntl -e '
        my $f = shift;
        my ($fh, $type);
        if (open($fh, "+<", $f)) { $type = F_WRLCK }
        elsif (open($fh, "<", $f)) { $type = F_RDLCK }
        else { print "none\n"; exit 0 }
        my $lock = pack("s s l l l", $type, 0, 0, 0, 0);
        fcntl($fh, F_SETLK, $lock) or print STDERR "fcntl: $!\n";
        flock($fh, LOCK_SH | LOCK_NB);
        $| = 1;
        print "locked\n";
        sleep 120;' "$SPOOL/seq" >"$T/locker.out" 2>&1 &
    BG_PIDS+=("$!")
    wait_until 10 test -s "$T/locker.out" || fail "the locker did not start"
    log "eve's locker: $(cat "$T/locker.out")"
    local rc=0 job
    # From her home, as every user submits (the job runs where it was
    # submitted, and the test's own directory may be closed to her).
    job=$(cd "$(home_of "$ANA")" && timeout 10 runuser -u "$ANA" -- \
        "$MPISPOOL" --spool "$SPOOL" submit -- true) || rc=$?
    [ "$rc" = 0 ] || fail "ana's submit did not finish within 10 s while" \
        "eve held a lock (exit $rc)"
    start_rank0
    assert_job_done "$job" 30 "ana's job"
}

# Eve's cancel requests for bob's jobs: through the CLI and as a file she
# drops in cancel/ herself.
eve_cancels() {
    as "$EVE" "$MPISPOOL" --spool "$SPOOL" cancel "$1" >/dev/null 2>&1 || true
    as "$EVE" sh -c ': >"$1/cancel/$2+eve"' sh "$SPOOL" "$2" 2>/dev/null ||
        true
}

sc_cancel_other_running() {
    local a b
    a=$(submit_as "$BOB" -- sh -c 'sleep 3; echo bob-a')
    b=$(submit_as "$BOB" -- sh -c 'sleep 3; echo bob-b')
    start_rank0 --slots 2
    wait_until 20 running "$a" || fail "bob's first job did not start"
    wait_until 20 running "$b" || fail "bob's second job did not start"
    as "$EVE" "$MPISPOOL" --spool "$SPOOL" cancel "$a" >/dev/null 2>&1 || true
    as "$EVE" sh -c ': >"$1/cancel/$2+eve"' sh "$SPOOL" "$b" 2>/dev/null ||
        true
    assert_job_done "$a" 30 "bob's job eve cancelled with mpispool cancel"
    assert_job_done "$b" 30 "bob's job eve cancelled with a file in cancel/"
    assert_eq bob-a "$(cat "$SPOOL/out/$a/0.out")" "output of bob's job"
    assert_eq bob-b "$(cat "$SPOOL/out/$b/0.out")" "output of bob's job"
}

# Queued, no coordinator running when eve asks.
sc_cancel_other_queued() {
    local a b
    a=$(submit_as "$BOB" -- sh -c 'echo bob-a')
    b=$(submit_as "$BOB" -- sh -c 'echo bob-b')
    as "$EVE" "$MPISPOOL" --spool "$SPOOL" cancel "$a" >/dev/null 2>&1 || true
    as "$EVE" sh -c ': >"$1/cancel/$2+eve"' sh "$SPOOL" "$b" 2>/dev/null ||
        true
    start_rank0
    assert_job_done "$a" 30 "bob's job eve cancelled with mpispool cancel"
    assert_job_done "$b" 30 "bob's job eve cancelled with a file in cancel/"
    assert_eq bob-a "$(cat "$SPOOL/out/$a/0.out")" "output of bob's job"
}

# eve drains the host everyone's tasks run on (mpispool drain, and a file
# in drain/ under its short name): bob's job still runs.
sc_drain_non_admin() {
    local host job
    start_rank0
    host=$(as "$EVE" jq -r '.ranks[0].host' "$STATUS_FILE")
    as "$EVE" "$MPISPOOL" --spool "$SPOOL" drain "$host" >/dev/null 2>&1 ||
        true
    as "$EVE" sh -c ': >"$1/drain/$2"' sh "$SPOOL" "${host%%.*}" \
        2>/dev/null || true
    sleep 1
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    assert_job_done "$job" 20 "bob's job after eve's drain"
}

sec_main "$@"
