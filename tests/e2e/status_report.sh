#!/bin/bash
# SPDX-License-Identifier: MIT
# `mpispool status` shows a running coordinator and its job; the status file
# follows doc/formats.md; `mpispool report` (text and --json) after the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

# Runs at least 4 s, and on until the test has looked at it running
# (however slow the machine): until $T/gate exists.
slow=$(submit --name slow-one --env "GATE=$T/gate" -- sh -c \
    'sleep 4; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo slept')
start_coordinator 2 --spool "$SPOOL" --until-empty

# Poll status --json until the job shows up as running.
shows_running() {
    "$MPISPOOL" --spool "$SPOOL" status --json >"$T/status.json" || return 1
    jq -e --arg j "$slow" \
        '[.. | objects | select(.job? == $j and .state? == "running")] | length > 0' \
        "$T/status.json" >/dev/null
}
if ! wait_until 10 shows_running; then
    show_coordinator_log
    echo "--- last status --json:" >&2
    cat "$T/status.json" >&2 || true
    fail "status --json did not show job $slow running within 10 s"
fi

# The status file itself (doc/formats.md).
files=("$SPOOL"/status/*.json)
assert_eq 1 "${#files[@]}" "status files"
st=${files[0]}
coord=$(jqf "$st" .coordinator)
assert_eq "$(basename "$st" .json)" "$coord" "status file name"
assert_json "$st" .host "$(hostname -s)"
pid=$(jqf "$st" .pid)
[ -d "/proc/$pid" ] || fail "status pid $pid is not a running process"
assert_eq mpispool-run "$(cat "/proc/$pid/comm")" "process of status .pid"
assert_eq "$(hostname -s)-$pid" "$coord" "coordinator name HOST-PID"
assert_json "$st" .state running
assert_json "$st" .until_empty true
assert_json "$st" '.slots.total >= 1' true
assert_json "$st" '.slots.busy' 1
assert_json "$st" '.slots.total == .slots.busy + .slots.free' true
assert_json "$st" '[.ranks[] | .rank] | @json' '[1]'
assert_json "$st" '.ranks[0].busy' 1
# Per rank: its share of memory (MemTotal or less), GPUs, load, tasks.
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
assert_json "$st" ".ranks[0].memory > 0 and .ranks[0].memory <= $mem_kb * 1024" true
assert_json "$st" '.ranks[0].memory_reserved' 0
assert_json "$st" '.ranks[0].gpus' 0
assert_json "$st" '.ranks[0].load | type' number
assert_json "$st" '.ranks[0].tasks' 1
assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' \
    "$(jqf "$st" .updated)" "status .updated"
job=$(jq -c --arg j "$slow" '.jobs[] | select(.job == $j)' "$st")
[ -n "$job" ] || fail "job $slow not in $st: $(cat "$st")"
assert_eq slow-one "$(jq -r .name <<<"$job")" "status job name"
assert_eq running "$(jq -r .state <<<"$job")" "status job state"
assert_eq 1 "$(jq -r .tasks <<<"$job")" "status job tasks"
assert_eq 1 "$(jq -r .running <<<"$job")" "status job running"
assert_eq 0 "$(jq -r .pending <<<"$job")" "status job pending"

# The text form names the coordinator and the job.
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" status
text=$(cat "$T/last.out")
assert_contains "$coord" "$text" "mpispool status"
assert_contains "$slow" "$text" "mpispool status"
assert_match 'RANK +HOST +STATE +CORES +MEMORY +GPUS +LOAD +TASKS' "$text" \
    "mpispool status rank table"
touch "$T/gate"

# wait returns when the job ends, not before.
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait --timeout 30 "$slow"
assert_file "$SPOOL/done/$slow.json" "job file in done/ when wait returns"
assert_file "$SPOOL/out/$slow/report.json" "report when wait returns"
wait_coordinator 20
assert_eq 0 "$COORD_RC" "exit code of mpispool-run --until-empty"

# The task record.
rec=$(record "$slow" 0)
time_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
assert_match "$time_re" "$(jqf "$rec" .start)" "record .start"
assert_match "$time_re" "$(jqf "$rec" .end)" "record .end"
elapsed=$(jqf "$rec" .elapsed)
assert_lt 3.9 "$elapsed" "elapsed of the slow task (sleep 4, then the gate)"
assert_lt "$elapsed" 40 "elapsed of the slow task (sleep 4, then the gate)"
s=$(time_us "$(jqf "$rec" .start)")
e=$(time_us "$(jqf "$rec" .end)")
assert_lt "$(awk -v s="$s" -v e="$e" -v el="$elapsed" \
    'BEGIN { d = (e - s) / 1e6 - el; print (d < 0 ? -d : d) }')" 0.01 \
    "end - start vs elapsed"
assert_json "$rec" .rank 1
assert_json "$rec" .host "$(hostname -s)"
assert_json "$rec" '.max_rss_kb > 0' true
assert_json "$rec" '.user_s | type' number
assert_json "$rec" '.system_s | type' number
assert_eq 1 "$(wc -l <"$SPOOL/out/$slow/records.jsonl")" "lines in records.jsonl"
assert_eq "$(jq -cS . "$rec")" "$(jq -cS . "$SPOOL/out/$slow/records.jsonl")" \
    "records.jsonl line vs TASK.json"

# report.json and mpispool report.
rep="$SPOOL/out/$slow/report.json"
assert_json "$rep" .job "$slow"
assert_json "$rep" .name slow-one
assert_json "$rep" .state done
assert_json "$rep" .counts.tasks 1
assert_json "$rep" .counts.succeeded 1
assert_json "$rep" .counts.failed 0
for k in submitted started ended; do
    assert_match "$time_re" "$(jqf "$rep" ".$k")" "report .$k"
done
assert_eq "$(jq -cS . "$rec")" "$(jq -cS '.tasks[0]' "$rep")" "report task 0 vs record"

assert_exit 0 "$MPISPOOL" --spool "$SPOOL" report --json "$slow"
assert_eq "$(jq -cS . "$rep")" "$(jq -cS . "$T/last.out")" "report --json vs report.json"
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" report "$slow"
text=$(cat "$T/last.out")
assert_contains "$slow" "$text" "mpispool report"
assert_contains "slow-one" "$text" "mpispool report"
assert_contains "done" "$text" "mpispool report"

pass
