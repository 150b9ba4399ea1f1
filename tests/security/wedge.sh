#!/bin/bash
# SPDX-License-Identifier: MIT
# Wedging or starving rank 0: whatever eve puts in the spool (a FIFO in
# cancel/, her archive in data/ swapped for a FIFO, a 2 GiB one-line task
# file, a 16 MiB job file hard-linked 255 times, 100,000 junk files in
# new/), rank 0 keeps serving: bob's one-task job submitted meanwhile ends
# done within a bound, and rank 0's memory stays bounded.
#
# The bounds: on an idle machine bob's job ends within a second of its
# submission; the bounds (15 to 20 s) leave room for a loaded 2-core
# machine and for the seconds the issue allows eve's flood to cost ("at
# most a few seconds"), and are well below what each attack costs today
# (a wedged rank 0 never runs the job; the floods delay it by minutes).
. "$(dirname "$0")/lib.sh"

# bob_runs_within SECONDS WHAT: bob submits a one-task job now; it must
# end done within SECONDS, with its output, and rank 0 must still run.
bob_runs_within() {
    local limit=$1 what=$2 job t0
    t0=$(date +%s%N)
    job=$(submit_as "$BOB" -- sh -c 'echo bob-output')
    assert_job_done "$job" "$limit" "bob's job $what"
    assert_eq bob-output "$(cat "$SPOOL/out/$job/0.out")" "bob's output"
    log "bob's job $what ended $((($(date +%s%N) - t0) / 1000000)) ms after" \
        "its submission"
    rank0_alive || fail "rank 0 died $what"
}

# A FIFO in cancel/ named for eve's own job, held by rank 0: opening it
# for reading would block until a writer comes.
sc_fifo_in_cancel() {
    local job
    job=$(submit_as "$EVE" -- sleep 60)
    start_rank0 --slots 4
    wait_until 20 test -e "$SPOOL/cur/$job.json" ||
        fail "eve's job was not claimed"
    eve_try "make a FIFO in cancel/" mkfifo "$SPOOL/cancel/$job+fifo" || true
    sleep 1
    bob_runs_within 20 "after eve's FIFO in cancel/"
}

# Eve's second job waits for her first; once it is claimed (its archive
# checked), she swaps her archive in data/ for a FIFO. Rank 0 opens it to
# send it to the worker when the dependency ends.
sc_fifo_archive_dependency() {
    local home first second
    home=$(home_of "$EVE")
    mkdir -p "$T/w2"
    echo data >"$T/w2/input"
    make_tar "$home/w2.tar" "$T/w2"
    chown "$EVE:" "$home/w2.tar"
    first=$(submit_as "$EVE" -- sleep 3)
    second=$(submit_json "$EVE" "{\"after\": [\"$first\"], \"archive\": \"w2.tar\", \"command\": [\"true\"]}")
    [ -f "$SPOOL/data/$second.archive" ] ||
        fail "no data/$second.archive after submit --archive"
    start_rank0 --slots 4
    wait_until 20 test -e "$SPOOL/cur/$second.json" ||
        fail "eve's second job was not claimed"
    eve_try "swap her archive for a FIFO" sh -c 'rm -f "$1" && mkfifo "$1"' \
        sh "$SPOOL/data/$second.archive" || true
    wait_ended "$first" 30 || fail "eve's first job did not end"
    sleep 1
    bob_runs_within 20 "after eve's archive became a FIFO"
}

# A task file of one 2 GiB line (a sparse file: no disk used): rank 0
# must refuse it without holding it in memory. The bound: rank 0's peak
# RSS grows by less than 256 MB (a 1 MiB line limit needs a few MB), far
# below the 2 GiB line.
sc_long_task_line() {
    local home
    home=$(home_of "$EVE")
    as "$EVE" truncate -s 2G "$home/big.tasks" || fail "truncate -s 2G"
    start_rank0
    drop_as "$EVE" eve-long "{\"task_file\": \"$home/big.tasks\"}"
    settle eve-long 60
    assert_rss_growth 256 "after a 2 GiB task line"
    bob_runs_within 15 "after eve's 2 GiB task line"
}

# long_tasks USER N: USER submits a low-priority job of N short tasks
# (they keep rank 0's claimed jobs waiting, so later files are deferred).
long_tasks() {
    local who=$1 n=$2 home
    home=$(home_of "$who")
    seq 1 "$n" | sed 's/.*/sleep 0.2/' >"$home/slow.tasks"
    chown "$who:" "$home/slow.tasks"
    submit_as "$who" --priority -10 --tasks slow.tasks
}

# Eve's low-priority jobs hold the slot; behind them a valid 16 MiB job
# file of hers, hard-linked 255 times into new/ (names sorted before
# bob's). Deferred, each is looked at again at every rescan.
sc_hardlinked_big_job() {
    local home big
    home=$(home_of "$EVE")
    long_tasks "$EVE" 400 >/dev/null
    long_tasks "$EVE" 400 >/dev/null
    start_rank0 --slots 1 --rescan 1
    big=$home/big.json
    python3 - "$big" <<'EOF'
import json, sys
# A valid job file just under the 16 MiB limit: many short tasks.
n = (16 * 1024 * 1024 - 200) // 12
with open(sys.argv[1], "w") as f:
    f.write('{"priority": -20, "tasks": [')
    f.write(",".join(['["true"]'] * n))
    f.write(']}\n')
EOF
    chown "$EVE:" "$big"
    eve_try "link her job file into new/" sh -c 'mv "$1" "$2/tmp/0eve-000.json" &&
        mv "$2/tmp/0eve-000.json" "$2/new/0eve-000.json" &&
        i=1; while [ $i -lt 255 ]; do
            ln "$2/new/0eve-000.json" "$2/new/0eve-$(printf %03d $i).json"
            i=$((i + 1)); done' sh "$big" "$SPOOL" || true
    sleep 2
    bob_runs_within 20 "behind eve's 255 links of a 16 MiB job file"
}

# 100,000 junk files in new/ (empty: not valid job files), named to sort
# before bob's.
sc_junk_flood() {
    start_rank0
    eve_try "flood new/" perl -e '
        my $d = shift;
        for my $i (1 .. 100000) {
            open(my $f, ">", sprintf("%s/0junk-%06d.json", $d, $i)) or
                die "$!\n";
            close($f);
        }' "$SPOOL/new" || true
    bob_runs_within 15 "after eve's 100,000 junk files"
}

sec_main "$@"
