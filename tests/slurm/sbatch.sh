#!/bin/bash
# SPDX-License-Identifier: MIT
# slurm/mpispool.sbatch on a real (private, single-node) Slurm cluster:
#  0. the template as shipped, with no option on the sbatch command line:
#     its whole-node default runs on this node (whatever its size), the
#     allocation and the rank's job step have all of the node's cpus, and
#     it serves the spool until it is empty.
#  1. two allocations serve one spool: the first is warned (SIGTERM to the
#     batch script, as --signal=B:TERM sends), stops cleanly and exits 0;
#     the second (--dependency=afterany) resumes; every task runs once.
#  2. the time limit: in a one-minute allocation a job whose "timeout" is
#     600 s is never started and stays in new/, a job whose timeout fits
#     runs, and Slurm's own --signal warning stops the rest cleanly; a run
#     with time enough finishes both.
#  3. the template's commented mpirun variant, warned the same way.
#  4. a job array of two allocations serving one spool at once.
# 1 to 4 take part of the node as the template documents (--exclusive=user
# --cpus-per-task=2), so that two allocations can share it.
. "$(dirname "$0")/lib.sh"

T_START=$(date +%s)
setup_spool
slurm_start
SBATCH_SCRIPT=$REPO_ROOT/slurm/mpispool.sbatch
LOG=$TEST_TMP/ids.log
: >"$LOG"
# The template finds mpispool-run here (sbatch exports our environment).
export MPISPOOL_RUN

# tasks_file NAME N CMD: N tasks "CMD; echo NAME i >> LOG".
tasks_file() {
    local name=$1 n=$2 cmd=$3 i
    for i in $(seq 0 $((n - 1))); do
        echo "$cmd; echo $name $i >> $LOG"
    done >"$TEST_TMP/$name.tasks"
    echo "$TEST_TMP/$name.tasks"
}
ran() { grep -c "^$1 " "$LOG" || true; }

# assert_each_once NAME N: tasks 0..N-1 of NAME each logged exactly once.
assert_each_once() {
    local name=$1 n=$2 i c
    for i in $(seq 0 $((n - 1))); do
        c=$(grep -c "^$name $i\$" "$LOG" || true)
        assert_eq 1 "$c" "times task $i of $name ran"
    done
}

# Part of the node, as the template says: 2 cpus, shared with our jobs.
PART=(--exclusive=user --cpus-per-task=2)

# alloc ARGS...: sbatch the template (part of the node, output in
# TEST_TMP), print the Slurm job id.
alloc() {
    sbatch --parsable --chdir="$TEST_TMP" "${PART[@]}" \
        --output="$TEST_TMP/alloc-%j.out" "$@" ||
        fail "sbatch $* failed"
}
alloc_out() { cat "$TEST_TMP/alloc-$1.out" 2>/dev/null; }

# step_cpus JOBID: the cpus of the job's step 0 (the ranks), once it runs.
step_cpus() {
    scontrol show step "$1.0" 2>/dev/null | tr ' ' '\n' | sed -n 's/^CPUs=//p' |
        head -n 1
}
step_started() { [ -n "$(step_cpus "$1")" ]; }

# ---- 0. the template as shipped: `sbatch slurm/mpispool.sbatch SPOOL`
# in a directory, nothing else. The tasks wait for a gate, so that the
# allocation is seen running.
node_cpus=$(scontrol show node "$(hostname -s)" | tr ' ' '\n' |
    sed -n 's/^CPUTot=//p')
GATE=$TEST_TMP/gate-shipped
whole=$(submit --name whole --tasks "$(tasks_file whole 6 \
    "while [ ! -e $GATE ]; do sleep 0.05; done")")
shipped=$(cd "$TEST_TMP" && sbatch --parsable "$SBATCH_SCRIPT" "$SPOOL") ||
    fail "sbatch $SBATCH_SCRIPT $SPOOL failed"
slurm_wait_running "$shipped" 60
assert_eq "$node_cpus" "$(slurm_job_field "$shipped" NumCPUs)" \
    "cpus of the shipped template's allocation (the whole node)"
wait_until 60 step_started "$shipped" || {
    cat "$TEST_TMP/mpispool-$shipped.out" >&2
    fail "allocation $shipped started no job step"
}
assert_eq "$node_cpus" "$(step_cpus "$shipped")" "cpus of the ranks' job step"
touch "$GATE"
slurm_wait_job "$shipped" 120
out0=$(cat "$TEST_TMP/mpispool-$shipped.out") ||
    fail "no mpispool-$shipped.out in the directory sbatch ran in"
printf '%s\n' "$out0" >&2
assert_eq COMPLETED "$JOB_STATE" "state of the shipped template's allocation"
assert_eq 0:0 "$JOB_EXIT" "exit code of the shipped template's allocation"
assert_contains "cpus per node: $node_cpus; one rank each, with all its cpus" \
    "$out0" "allocation $shipped"
assert_contains "job $whole done: 6 succeeded" "$out0" "allocation $shipped"
assert_contains "mpispool-run exited 0" "$out0" "allocation $shipped"
assert_state "$whole" done
assert_each_once whole 6
log "0: the shipped template ran on all $node_cpus cpus of the node and completed"

# ---- 1. two allocations, a warning in between
a=$(submit --name a --tasks "$(tasks_file a 30 'sleep 0.3')")
b=$(submit --name b --tasks "$(tasks_file b 30 'sleep 0.3')")
first=$(MPISPOOL_MARGIN=10 alloc --time=5 --signal=B:TERM@10 "$SBATCH_SCRIPT" "$SPOOL")
second=$(MPISPOOL_SPOOL=$SPOOL MPISPOOL_MARGIN=10 alloc --time=5 \
    --signal=B:TERM@10 --dependency=afterany:"$first" "$SBATCH_SCRIPT")
log "allocations $first and $second (after $first)"
slurm_wait_running "$first" 60
logged() { [ "$(wc -l <"$LOG")" -ge "$1" ]; }
wait_until 60 logged 8 || {
    alloc_out "$first" >&2
    fail "allocation $first ran no tasks"
}
t0=$(date +%s%N)
# What --signal=B:TERM does at the warning time: SIGTERM to the batch
# script alone.
scancel --batch --signal=TERM "$first" || fail "scancel --batch failed"
slurm_wait_job "$first" 60
ms=$((($(date +%s%N) - t0) / 1000000))
alloc_out "$first" >&2
assert_eq COMPLETED "$JOB_STATE" "state of the warned allocation"
assert_eq 0:0 "$JOB_EXIT" "exit code of the warned allocation"
log "allocation $first ended $ms ms after the warning"
out1=$(alloc_out "$first")
assert_contains "SIGTERM: stopping mpispool-run (SIGUSR1 to rank 0, pid" "$out1" "allocation $first"
assert_contains "stopping; running tasks are ended" "$out1" "allocation $first"
assert_contains "stays in cur/" "$out1" "allocation $first"
assert_contains "mpispool-run exited 0" "$out1" "allocation $first"
done_first=$(wc -l <"$LOG")

slurm_wait_job "$second" 120
alloc_out "$second" >&2
assert_eq COMPLETED "$JOB_STATE" "state of the second allocation"
assert_eq 0:0 "$JOB_EXIT" "exit code of the second allocation"
assert_state "$a" done
assert_state "$b" done
assert_each_once a 30
assert_each_once b 30
for job in "$a" "$b"; do
    assert_eq 30 "$(jq '.counts.succeeded' "$SPOOL/out/$job/report.json")" \
        "succeeded tasks of $job"
done
interrupted=$(cat "$SPOOL/out/$a/records.jsonl" "$SPOOL/out/$b/records.jsonl" |
    jq -s '[.[] | select(.interrupted == true)] | length')
[ "$interrupted" -ge 1 ] || fail "no task was interrupted by the warning"
failures=$(cat "$SPOOL/out/$a/records.jsonl" "$SPOOL/out/$b/records.jsonl" |
    jq -s '[.[] | select(.exit_code != 0 and (.interrupted | not))] | length')
assert_eq 0 "$failures" "records of failures that are not interruptions"
out2=$(alloc_out "$second")
assert_contains "job $a done: 30 succeeded" "$out2" "allocation $second"
assert_contains "job $b done: 30 succeeded" "$out2" "allocation $second"
# Two coordinators (each names its status file HOST-PID.json).
c1=$(printf '%s\n' "$out1" | sed -n 's/.*(status: \(.*\))$/\1/p')
c2=$(printf '%s\n' "$out2" | sed -n 's/.*(status: \(.*\))$/\1/p')
[ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" != "$c2" ] ||
    fail "not two coordinators: '$c1' and '$c2'"
assert_contains "adopted job $a" "$out2" "allocation $second"
log "1: $done_first of 60 tasks in allocation $first, the rest in $second; $interrupted interrupted and rerun"

# ---- 2. the time limit
: >"$LOG"
long=$(submit --name long --timeout 600 --tasks "$(tasks_file long 3 true)")
fits=$(submit --name fits --timeout 5 --tasks "$(tasks_file fits 2 true)")
busy=$(submit --name busy --tasks "$(tasks_file busy 500 'sleep 0.2')")
# One minute; Slurm warns 20 s before the end (or, by its resolution, up
# to a minute earlier); tasks must end by then: 40 s at most are left.
third=$(MPISPOOL_MARGIN=20 alloc --time=1 --signal=B:TERM@20 "$SBATCH_SCRIPT" "$SPOOL")
slurm_wait_job "$third" 150
alloc_out "$third" >&2
out3=$(alloc_out "$third")
assert_eq COMPLETED "$JOB_STATE" "state of the one-minute allocation"
assert_eq 0:0 "$JOB_EXIT" "exit code of the one-minute allocation"
assert_match "job $long: its tasks' timeout of 600 s would outlive the allocation \(ends in [0-9]+ s\): left for the next allocation" \
    "$out3" "the held-back line"
# Slurm's warning (sent up to a minute early) or, at the end time given
# to it, mpispool-run itself stopped the run.
case "$out3" in
*"SIGTERM: stopping mpispool-run (SIGUSR1 to rank 0"*) how="Slurm's warning" ;;
*"the allocation's end time has come: stopping"*) how="the end time" ;;
*) fail "allocation $third was not stopped by the warning nor at its end time" ;;
esac
assert_state "$long" new
# Claiming made its (empty) output directory; no task has a record.
[ ! -s "$SPOOL/out/$long/records.jsonl" ] ||
    fail "the 600 s job has records: $(cat "$SPOOL/out/$long/records.jsonl")"
assert_no_file "$SPOOL/out/$long/0.json" "record of a task never started"
assert_eq 0 "$(ran long)" "tasks of the 600 s job started"
assert_state "$fits" done
assert_each_once fits 2
busy_first=$(ran busy)
[ "$busy_first" -lt 500 ] || fail "all of busy ran before the warning"
assert_state "$busy" cur

# The next allocation, here a run outside Slurm with no end, finishes.
rc=0
timeout -k 5 120 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 10 --until-empty \
    >"$TEST_TMP/last-run.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of the run after the allocation"
assert_state "$long" done
assert_state "$busy" done
assert_each_once long 3
assert_each_once busy 500
log "2: $busy_first of 500 busy tasks ran in the one-minute allocation, stopped by $how"

# ---- 3. the mpirun variant: srun lines commented out, mpirun's taken in
awk '
    /^srun --mpi=pmix/ { in_srun = 1 }
    in_srun { print "# " $0; if ($0 ~ /^launcher_pid=/) in_srun = 0; next }
    /^# export OMPI_MCA_odls_base_sigkill_timeout=/ ||
    /^# mpirun / || /^#     "\$MPISPOOL_RUN"/ || /^# launcher_pid=/ {
        print substr($0, 3); next
    }
    { print }' "$SBATCH_SCRIPT" >"$TEST_TMP/mpirun.sbatch"
changed=$(diff "$SBATCH_SCRIPT" "$TEST_TMP/mpirun.sbatch" | grep -c '^>' || true)
assert_eq 9 "$changed" "lines changed for the mpirun variant"
grep -q '^mpirun --map-by ppr:1:node' "$TEST_TMP/mpirun.sbatch" ||
    fail "the mpirun variant has no mpirun line"
: >"$LOG"
m=$(submit --name m --tasks "$(tasks_file m 30 'sleep 0.3')")
fourth=$(MPISPOOL_MARGIN=10 alloc --time=5 --signal=B:TERM@10 "$TEST_TMP/mpirun.sbatch" "$SPOOL")
slurm_wait_running "$fourth" 60
wait_until 60 logged 4 || {
    alloc_out "$fourth" >&2
    fail "allocation $fourth (mpirun) ran no tasks"
}
scancel --batch --signal=TERM "$fourth" || fail "scancel --batch failed"
slurm_wait_job "$fourth" 60
alloc_out "$fourth" >&2
out4=$(alloc_out "$fourth")
assert_eq COMPLETED "$JOB_STATE" "state of the warned mpirun allocation"
assert_eq 0:0 "$JOB_EXIT" "exit code of the warned mpirun allocation"
assert_contains "SIGTERM: stopping mpispool-run (SIGUSR1 to the launcher" "$out4" "allocation $fourth"
assert_contains "stays in cur/" "$out4" "allocation $fourth"
m_first=$(ran m)
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --slots 4 --until-empty \
    >"$TEST_TMP/last-run.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of the run after the mpirun allocation"
assert_state "$m" done
assert_each_once m 30
failures=$(jq -s '[.[] | select(.exit_code != 0 and (.interrupted | not))] |
    length' "$SPOOL/out/$m/records.jsonl")
assert_eq 0 "$failures" "records of failures that are not interruptions (mpirun)"
log "3: mpirun variant: $m_first of 30 tasks before the warning"

# ---- 4. a job array: two allocations start together on one spool; who
# claims what is a race, but every task runs once and both end cleanly.
: >"$LOG"
arr_jobs=()
for j in 0 1 2 3; do
    arr_jobs+=("$(submit --name "arr$j" --tasks "$(tasks_file "arr$j" 10 'sleep 0.2')")")
done
array=$(MPISPOOL_MARGIN=10 sbatch --parsable --chdir="$TEST_TMP" \
    "${PART[@]}" --time=5 --signal=B:TERM@10 --array=0-1 \
    --output="$TEST_TMP/array-%a.out" "$SBATCH_SCRIPT" "$SPOOL") ||
    fail "sbatch --array failed"
for k in 0 1; do
    slurm_wait_job "${array}_$k" 120
    cat "$TEST_TMP/array-$k.out" >&2
    assert_eq COMPLETED "$JOB_STATE" "state of array element $k"
    assert_eq 0:0 "$JOB_EXIT" "exit code of array element $k"
done
for j in 0 1 2 3; do
    assert_state "${arr_jobs[j]}" done
    assert_each_once "arr$j" 10
done
claims=$(cat "$TEST_TMP"/array-[01].out | grep -c "claimed job" || true)
assert_eq 4 "$claims" "claims by the two array elements"
log "4: array elements claimed $(grep -c "claimed job" "$TEST_TMP/array-0.out" || true) and $(grep -c "claimed job" "$TEST_TMP/array-1.out" || true) of 4 jobs"

slurm_stop
pass "two allocations share the spool; the time limit holds jobs back ($(($(date +%s) - T_START)) s)"
