#!/bin/bash
# SPDX-License-Identifier: MIT
# The progress display of `mpispool wait` and `mpispool status --watch`:
# plain lines whose counts grow to the total when not on a terminal, a bar
# redrawn in place with a rate and an ETA on one (a pty from util-linux
# `script`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if ! command -v script >/dev/null; then
    echo "$TEST_NAME: SKIP: util-linux 'script' is not installed (needed for a pty)"
    exit 77
fi

setup_spool
T=$TEST_TMP
cd "$T"
N=24
for i in $(seq 1 $N); do echo "sleep 0.25"; done >tasks.txt

# ---- not on a terminal: plain lines, counts growing to the total
job=$(submit --name plain --tasks tasks.txt)
start_coordinator 2 --spool "$SPOOL" --until-empty --slots 2
start=$(date +%s%N)
assert_exit 0 timeout -k 5 60 "$MPISPOOL" --spool "$SPOOL" wait "$job"
secs=$((($(date +%s%N) - start) / 1000000000 + 1))
wait_coordinator 30
err=$T/last.err
if grep -q $'[\r\033]' "$err"; then
    cat -A "$err" >&2
    fail "wait wrote terminal controls to a file"
fi
grep '^progress: ' "$err" >plain.txt || {
    cat "$err" >&2
    fail "wait printed no progress lines when not on a terminal"
}
lines=$(wc -l <plain.txt)
[ "$lines" -ge 2 ] || fail "only $lines progress line(s): $(cat plain.txt)"
# at most about one a second (plus the first and the last)
[ "$lines" -le $((secs + 2)) ] || fail "$lines progress lines in ${secs}s: $(cat plain.txt)"
prev=-1
while IFS= read -r line; do
    [[ "$line" =~ ^progress:\ ([0-9]+)/([0-9]+|\?)\ tasks,\ ([0-9]+)\ failed,\ ([0-9]+)\ running,\ (--|[0-9.]+)\ tasks/s,\ ETA\ ([0-9hmsd ]+|--)$ ]] ||
        fail "not a progress line: '$line'"
    d=${BASH_REMATCH[1]}
    [ "$d" -ge "$prev" ] || fail "done went back from $prev to $d: $(cat plain.txt)"
    prev=$d
done <plain.txt
last=$(tail -n 1 plain.txt)
assert_match "^progress: $N/$N tasks, 0 failed, 0 running, " "$last" "last progress line"
first_done=$(head -n 1 plain.txt | sed 's|^progress: \([0-9]*\)/.*|\1|')
[ "$first_done" -lt "$N" ] || fail "the first line already had every task done: $(cat plain.txt)"
grep -q "^$job done$" "$err" || fail "no '$job done' line: $(cat "$err")"
# a rate was measured and an ETA given while the job ran
grep -Eq "^progress: ([0-9]|1[0-9]|2[0-3])/$N tasks, .* [0-9.]+ tasks/s, ETA [0-9]+s$" plain.txt ||
    fail "no line with a rate and an ETA before the end: $(cat plain.txt)"
# -q: nothing
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" wait -q "$job"
[ ! -s "$T/last.err" ] || fail "wait -q printed: $(cat "$T/last.err")"

# ---- on a terminal: one line redrawn with \r, a bar, a rate and an ETA
job2=$(submit --name tty --tasks tasks.txt)
start_coordinator 2 --spool "$SPOOL" --until-empty --slots 2
timeout -k 5 60 script -qfc "stty cols 100 rows 30; '$MPISPOOL' --spool '$SPOOL' wait '$job2'" \
    /dev/null >tty.out 2>&1 || fail "wait on a pty failed: $(cat -A tty.out | tail -n 5)"
wait_coordinator 30
redraws=$(tr -cd '\r' <tty.out | wc -c)
[ "$redraws" -ge 3 ] || fail "only $redraws carriage returns on the terminal: $(cat -A tty.out)"
grep -q $'\033\[K' tty.out || fail "the line is not erased to its end (ESC [ K)"
# split at \r: the frames of the line
tr '\r' '\n' <tty.out | sed 's/\x1b\[K//g' >frames.txt
grep -Eq '^\[#*\.+\] ([0-9]|1[0-9]|2[0-3])/24 tasks, 0 failed, [0-9]+ running, [0-9.]+ tasks/s, ETA [0-9]+s$' frames.txt ||
    fail "no frame with a bar, a rate and an ETA: $(head -c 3000 frames.txt)"
grep -Eq "^\[#{10,}\] $N/$N tasks, 0 failed, 0 running" frames.txt ||
    fail "no full bar at the end: $(tail -n 5 frames.txt)"
# the width of the terminal (100 columns) is kept
width=$(awk '{ if (length($0) > w) w = length($0) } END { print w }' frames.txt)
[ "$width" -le 99 ] || fail "a line of $width characters on a 100-column terminal"
[ "$width" -ge 60 ] || fail "lines of at most $width characters on a 100-column terminal"
grep -q "$job2 done" frames.txt || fail "no '$job2 done' on the terminal"

# ---- status --watch: until the spool is idle, plain, then on a terminal
job3=$(submit --name watch --tasks tasks.txt)
start_coordinator 2 --spool "$SPOOL" --until-empty --slots 2
assert_exit 0 timeout -k 5 60 "$MPISPOOL" --spool "$SPOOL" status --watch 0.5 --until-idle
wait_coordinator 30
out=$T/last.out
frames=$(grep -c '^--- ' "$out")
[ "$frames" -ge 3 ] || fail "status --watch 0.5 showed $frames frames: $(cat "$out")"
grep -Eq "^progress: [0-9]+/$N tasks, 0 failed, [0-9]+ running" "$out" ||
    fail "status --watch showed no progress of the job: $(cat "$out")"
tail -n 3 "$out" | grep -q ' 0 new, 0 cur, ' || fail "status --watch --until-idle stopped before the spool was idle: $(tail -n 5 "$out")"
if grep -q $'\033' "$out"; then fail "status --watch wrote terminal controls to a file"; fi

job4=$(submit --name watch-tty --tasks tasks.txt)
start_coordinator 2 --spool "$SPOOL" --until-empty --slots 2
timeout -k 5 60 script -qfc "stty cols 100 rows 30; '$MPISPOOL' --spool '$SPOOL' status --watch 0.5 --until-idle" \
    /dev/null >watch.out 2>&1 || fail "status --watch on a pty failed: $(tail -c 2000 watch.out | cat -A)"
wait_coordinator 30
homes=$(grep -o $'\033\[H' watch.out | wc -l)
[ "$homes" -ge 3 ] || fail "status --watch redrew $homes times on a terminal"
grep -Eq '\[#+\.*\] [0-9]+/24 tasks' watch.out || fail "status --watch shows no bar on a terminal"
grep -q "$job4" watch.out || fail "status --watch does not show job $job4"

# without --until-idle it runs until interrupted, and SIGINT ends it with 0
rc=0
timeout --preserve-status -s INT 1.6 "$MPISPOOL" --spool "$SPOOL" status --watch 0.5 \
    >int.out 2>&1 || rc=$?
assert_eq 0 "$rc" "exit code of status --watch after SIGINT"
[ "$(grep -c '^--- ' int.out)" -ge 2 ] || fail "status --watch 0.5 showed less than 2 frames in 1.6 s: $(cat int.out)"

# ---- usage errors
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --watch abc
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --watch=0
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --watch --json
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --watch 1 2
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" report --watch "$job"

pass "plain lines to $N/$N, $redraws redraws on a pty, status --watch until idle"
