#!/bin/bash
# SPDX-License-Identifier: MIT
# mpispool log writes a GNU parallel --joblog: the same tasks run by
# `parallel --joblog` and by mpispool give the same header and, per line,
# the same Seq, Exitval, Signal, Command and Receive (stdout bytes), with
# numbers in parallel's formats; parallel --resume-failed accepts the file;
# --all-attempts, -o FILE and a running job (records.jsonl) work.
. "$(dirname "$0")/lib.sh"

require_gnu_parallel
setup_spool
cd "$TEST_TMP"
export PARALLEL_HOME=$TEST_TMP/parallel-home # no ~/.parallel of the caller

# Successes, exit codes, a signal, output on stdout and stderr, quoting.
cat >tasks.txt <<'EOF2'
echo hello
exit 3
kill -9 $$
printf 'a\tb\n'; echo to-stderr >&2
printf '%s' "quoted 'arg'"
sleep 0.3; echo slept
head -c 100000 /dev/zero
false
EOF2
ntasks=$(wc -l <tasks.txt)

parallel -j 2 --joblog parallel.log <tasks.txt >/dev/null 2>&1 || true
# parallel writes lines as jobs end: order them by Seq.
{ head -n 1 parallel.log; tail -n +2 parallel.log | sort -n -k1,1; } >parallel.sorted

job=$(submit --tasks tasks.txt)
run_until_empty 2 --spool "$SPOOL"
assert_state "$job" failed
assert_exit 0 mps log "$job"
cp "$TEST_TMP/last.out" mpispool.log
assert_exit 0 mps log -o mpispool-o.log "$job"
assert_eq "" "$(cat "$TEST_TMP/last.out")" "stdout with -o"
assert_same_file mpispool.log mpispool-o.log "log -o FILE"

assert_eq "$(head -n 1 parallel.sorted)" "$(head -n 1 mpispool.log)" "header"
assert_eq "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" \
    "$(head -n 1 mpispool.log)" "header"
assert_eq "$((ntasks + 1))" "$(wc -l <parallel.sorted)" "lines of parallel's joblog"
assert_eq "$((ntasks + 1))" "$(wc -l <mpispool.log)" "lines of mpispool's joblog"

float3='^[0-9]+\.[0-9]{3}$'
runtime='^ *[0-9]+\.[0-9]{3}$'
for n in $(seq 1 "$ntasks"); do
    p=$(sed -n "$((n + 1))p" parallel.sorted)
    m=$(sed -n "$((n + 1))p" mpispool.log)
    IFS=$'\t' read -r pseq phost pstart prt psend precv pexit psig pcmd <<<"$p"
    IFS=$'\t' read -r mseq mhost mstart mrt msend mrecv mexit msig mcmd <<<"$m"
    what="line $n ($mcmd)"
    assert_eq "$n" "$mseq" "$what: Seq"
    assert_eq "$pseq" "$mseq" "$what: Seq"
    assert_eq "$pexit" "$mexit" "$what: Exitval"
    assert_eq "$psig" "$msig" "$what: Signal"
    assert_eq "$pcmd" "$mcmd" "$what: Command"
    assert_eq "$psend" "$msend" "$what: Send"
    assert_eq "$precv" "$mrecv" "$what: Receive (stdout bytes)"
    [ -n "$mhost" ] || fail "$what: empty Host"
    assert_match "$float3" "$pstart" "$what: parallel's Starttime"
    assert_match "$float3" "$mstart" "$what: Starttime"
    assert_match "$runtime" "$prt" "$what: parallel's JobRuntime"
    assert_match "$runtime" "$mrt" "$what: JobRuntime"
    assert_eq "${#prt}" "${#mrt}" "$what: JobRuntime width (%10.3f)"
    # The record agrees: start, host, stdout size.
    rec=$(record "$job" $((n - 1)))
    assert_eq "$(jq -r .host "$rec")" "$mhost" "$what: Host = record's host"
    assert_eq "$(jq -r .stdout_bytes "$rec")" "$mrecv" "$what: Receive = stdout_bytes"
    assert_eq "$(stat -c %s "$(task_out "$job" $((n - 1)))")" "$mrecv" \
        "$what: Receive = size of the task's .out"
    rstart=$(jq -r .start "$rec")
    assert_lt "$(awk -v a="$mstart" -v b="$(time_us "$rstart")" \
        'BEGIN { d = a - b / 1e6; print (d < 0 ? -d : d) }')" 0.0011 \
        "$what: Starttime - record's start"
done
# The sleeper's run time, to the millisecond.
rt=$(awk -F'\t' '$1 == 6 { print $4 + 0 }' mpispool.log)
assert_lt 0.299 "$rt" "JobRuntime of 'sleep 0.3'"
assert_lt "$rt" 5 "JobRuntime of 'sleep 0.3'"

# parallel --resume-failed reads our joblog and reruns exactly the failed
# tasks (Seq 2, 3 and 8).
cp mpispool.log resume.log
parallel --resume-failed --joblog resume.log <tasks.txt >/dev/null 2>&1 || true
assert_eq "2 3 8" "$(tail -n +$((ntasks + 2)) resume.log | cut -f1 | sort -n | tr '\n' ' ' | sed 's/ $//')" \
    "tasks parallel --resume-failed reran from mpispool's joblog"

# A timeout: Exitval -1 and the signal, as parallel --timeout writes.
printf 'sleep 20\n' >slow.txt
parallel --timeout 1 --joblog slow-parallel.log <slow.txt >/dev/null 2>&1 || true
slow=$(submit --timeout 1 --tasks slow.txt)
run_until_empty 1 --spool "$SPOOL" --kill-grace 1
assert_exit 0 mps log "$slow"
assert_eq "$(tail -n 1 slow-parallel.log | cut -f1,5-9)" \
    "$(tail -n 1 "$TEST_TMP/last.out" | cut -f1,5-9)" "Seq, Send..Command of a timed-out task"
assert_eq "-1" "$(tail -n 1 "$TEST_TMP/last.out" | cut -f7)" "Exitval of a timed-out task"

# Retries: the last attempt by default, every attempt with --all-attempts.
cat >retry.json <<'EOF2'
{"name": "retry", "retries": 2, "retry_backoff": 0, "tasks": ["exit 4", ["echo", "two words", "it's"]]}
EOF2
rjob=$(submit retry.json)
run_until_empty 1 --spool "$SPOOL"
assert_exit 0 mps log "$rjob"
assert_eq "$(printf '1 4\n2 0')" \
    "$(tail -n +2 "$TEST_TMP/last.out" | awk -F'\t' '{ print $1, $7 }')" "last attempts"
assert_eq "echo 'two words' 'it'\\''s'" "$(tail -n 1 "$TEST_TMP/last.out" | cut -f9)" \
    "an argv task's Command, shell-quoted"
assert_exit 0 mps log --all-attempts "$rjob"
assert_eq "1 1 1 2" "$(tail -n +2 "$TEST_TMP/last.out" | cut -f1 | tr '\n' ' ' | sed 's/ $//')" \
    "Seq of every attempt"
assert_eq "4 4 4 0" "$(tail -n +2 "$TEST_TMP/last.out" | cut -f7 | tr '\n' ' ' | sed 's/ $//')" \
    "Exitval of every attempt"

# A running job: the attempts that ended so far, from records.jsonl.
GATE=$TEST_TMP/gate
printf 'echo first\nwhile [ ! -e %s ]; do sleep 0.05; done\n' "$GATE" >running.txt
run_job=$(submit --tasks running.txt)
start_coordinator 1 --spool "$SPOOL" --until-empty
wait_until 30 test -s "$SPOOL/out/$run_job/0.json" || fail "task 0 did not end"
assert_state "$run_job" cur
assert_exit 0 mps log "$run_job"
assert_eq 2 "$(wc -l <"$TEST_TMP/last.out")" "lines of a running job's log"
assert_eq "1 0 echo first" "$(tail -n 1 "$TEST_TMP/last.out" | awk -F'\t' '{ print $1, $7, $9 }')" \
    "the running job's ended task"
touch "$GATE"
wait_coordinator 30
assert_eq 0 "$COORD_RC" "coordinator exit code"
assert_exit 0 mps log "$run_job"
assert_eq 3 "$(wc -l <"$TEST_TMP/last.out")" "lines once the job ended"

# Errors.
assert_exit 1 mps log 20000101-9999
assert_contains "no job '20000101-9999'" "$(cat "$TEST_TMP/last.err")" "unknown job"
assert_exit 2 mps log
assert_exit 2 mps log --bogus "$job"
assert_exit 2 mps log "$job" "$job"
pass "mpispool log matches parallel --joblog field by field"
