#!/bin/bash
# SPDX-License-Identifier: MIT
# Throughput of tiny tasks: N runs of `true` through xargs -P 2, GNU
# parallel -j 2 and mpispool (submit --tasks + mpirun -np 2 --until-empty),
# the spool first under /tmp, then on tmpfs (/dev/shm) when there is one.
# Prints tasks/s and ratios; asserts nothing.
# Usage: bench/throughput.sh [N]     (default 2000)
set -euo pipefail

N=${1:-2000}
. "$(dirname "$0")/lib.sh" bench
rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.1f", n / (us / 1e6) }'; }
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) print "true" }' >"$TMP/true.tasks"
echo "throughput: $N tasks of 'true' on $(nproc) cores, $(hostname -s)"

# xargs: one sh -c per task, like the task file lines are run.
t0=$(now)
xargs -P 2 -I{} sh -c '{}' <"$TMP/true.tasks"
xargs_us=$(($(now) - t0))

# GNU parallel (runs each line through a shell too).
parallel_us=""
if command -v parallel >/dev/null; then
    t0=$(now)
    parallel --will-cite -j 2 <"$TMP/true.tasks"
    parallel_us=$(($(now) - t0))
fi

# mpispool: submit + the whole coordinator run, with the spool in DIR.
# Sets mps_us, submit_us, inrun_us, done_n.
run_mpispool() {
    local spool=$1/spool job t0 t1 t2
    "$MPISPOOL" init "$spool" >/dev/null 2>&1
    t0=$(now)
    job=$("$MPISPOOL" --spool "$spool" submit --tasks "$TMP/true.tasks")
    t1=$(now)
    mpirun --oversubscribe --bind-to none -np 2 "$MPISPOOL_RUN" \
        --spool "$spool" --until-empty >"$TMP/run.log" 2>&1 || {
        echo "mpispool-run failed:" >&2
        tail -n 20 "$TMP/run.log" >&2
        exit 1
    }
    t2=$(now)
    mps_us=$((t2 - t0))
    submit_us=$((t1 - t0))
    done_n=$(find "$spool/out/$job" -maxdepth 1 -name '[0-9]*.json' | wc -l)
    # In-run rate: first record start to last record end.
    inrun_us=$(jq -n '
        def us: (.[0:19] + "Z" | fromdateiso8601) * 1000000
                + (.[20:26] | tonumber);
        [inputs] | ((map(.end | us) | max) - (map(.start | us) | min))' \
        "$spool/out/$job"/[0-9]*.json)
}

report_mpispool() {
    printf '%-34s %10s %10s\n' "$1" "$(secs $mps_us)" "$(rate "$N" $mps_us)"
    printf '%-34s %10s\n' "  of which submit" "$(secs $submit_us)"
    printf '%-34s %10s %10s\n' "  in-run (first start..last end)" \
        "$(secs "$inrun_us")" "$(rate "$N" "$inrun_us")"
    echo "  records written: $done_n of $N"
}

ratios() {
    awk -v m="$mps_us" -v x="$xargs_us" -v p="${parallel_us:-0}" -v w="$1" '
    BEGIN {
        printf "mpispool/xargs rate ratio (%s):    %.2f\n", w, x / m
        if (p > 0) printf "mpispool/parallel rate ratio (%s): %.2f\n", w, p / m
    }'
}

printf '\n%-34s %10s %10s\n' "runner" "seconds" "tasks/s"
printf '%-34s %10s %10s\n' "xargs -P 2" "$(secs $xargs_us)" "$(rate "$N" $xargs_us)"
if [ -n "$parallel_us" ]; then
    printf '%-34s %10s %10s\n' "parallel -j 2" "$(secs "$parallel_us")" \
        "$(rate "$N" "$parallel_us")"
fi
# The spool on this machine's disk (where $TMP is), as a lab would have
# it: rank 0 creates a record file per task there.
run_mpispool "$TMP"
report_mpispool "mpispool (submit + mpirun -np 2)"
disk_ratios=$(ratios "spool in $(dirname "$TMP")")
# The same on tmpfs: the pipeline without the file system's costs. (An
# ext4 without a journal, as on the project's test machines, passes over
# every inode freed in the last minutes when it creates a file, so right
# after a large clean-up each record file costs a fraction of a ms.)
shm_ratios=""
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
    shm=$(mktemp -d /dev/shm/mpispool-bench.XXXXXX)
    run_mpispool "$shm"
    rm -rf "$shm"
    report_mpispool "mpispool, spool on tmpfs"
    shm_ratios=$(ratios "spool on tmpfs")
fi
echo
echo "$disk_ratios"
[ -z "$shm_ratios" ] || echo "$shm_ratios"
