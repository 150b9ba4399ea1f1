#!/bin/bash
# SPDX-License-Identifier: MIT
# How many tasks run at once: by default a worker runs as many as it has
# cores; `--slots K` sets it. Measured from the records' start/end times.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# overlap JOB: the largest number of the job's tasks that ran at once.
overlap() {
    jq -s '. as $r | [$r[] as $a
        | [$r[] | select(.start <= $a.start and $a.start < .end)] | length]
        | max' "$SPOOL/out/$1"/[0-9]*.json
}

# job_of N SECONDS: a job of N tasks that each sleep SECONDS.
job_of() {
    local i
    for i in $(seq 1 "$1"); do echo "sleep $2"; done >"$T/sleep.tasks"
    submit --tasks "$T/sleep.tasks"
}

cores=$(nproc)
default=$(job_of $((cores * 2)) 1)
run_until_empty 2
assert_state "$default" done
assert_eq "$cores" "$(overlap "$default")" \
    "tasks at once on one worker of $cores cores (default slots)"

three=$(job_of 6 1)
run_until_empty 2 --slots 3
assert_state "$three" done
assert_eq 3 "$(overlap "$three")" "tasks at once with --slots 3"

one=$(job_of 3 0.3)
run_until_empty 1 --slots 1
assert_state "$one" done
assert_eq 1 "$(overlap "$one")" "tasks at once with -np 1 --slots 1"
assert_json "$(record "$one" 0)" .rank 0

pass
