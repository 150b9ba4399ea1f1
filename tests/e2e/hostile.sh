#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile job files dropped into new/ of a running coordinator: every file
# of the invalid corpus (tests/data/jobfiles/invalid/NAME.json, expected
# error line in NAME.expect) and generated ones too big to check in (a 50 MB
# file, 10,000-deep objects, a million-deep arrays), a symlink to a valid
# job, a FIFO, a directory, task files that are a FIFO or /dev/zero, and bad
# names. Each ends in rejected/ with a
# one-line JOBID.error holding its expected text; nothing is written
# outside out/ and the spool's own directories; the coordinator keeps
# running and a valid job submitted afterwards completes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"
CORPUS=$REPO_ROOT/tests/data/jobfiles/invalid

# The table: job id -> expected text of its .error line, and the file name
# each has in new/ (the id plus .json unless a case says otherwise).
declare -A EXPECT NAME
IDS=()
add_case() { # ID EXPECTED [NAME]
    IDS+=("$1")
    EXPECT[$1]=$2
    NAME[$1]=${3:-$1.json}
}

# Nothing outside the spool changes: a listing of $T with sizes and times,
# before and after, leaving out what this script writes ($OURS) and the
# coordinator's log and TMPDIR (checked on their own); directories by name
# only, as creating the log changes $T's time.
OURS=$T/ours
mkdir -p "$OURS" "$T/tmpdir"
outside() {
    find "$T" \( -path "$SPOOL" -o -path "$OURS" -o -path "$T/tmpdir" \
        -o -path "$T/coordinator.log" \) -prune \
        -o -type d -printf '%p/\n' -o -printf '%p %y %s %T@\n' | sort
}

# --- the generated cases, made in a staging directory ------------------------
mkdir -p "$OURS/stage"
# 50 MB: a job that would be valid but for its size.
{
    printf '{"command": ["echo", "'
    head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' a
    printf '"]}\n'
} >"$OURS/stage/hostile-50mb.json"
[ "$(stat -c %s "$OURS/stage/hostile-50mb.json")" -gt $((50 * 1024 * 1024)) ] ||
    fail "the 50 MB job file is too small"
add_case hostile-50mb "job file is larger than 16 MiB"

# 10,000-deep objects (the corpus has 10,000-deep arrays) and a million-deep
# arrays: the parser stops at its depth limit instead of at the stack's.
deep_objects=$(printf '{"a": %.0s' $(seq 10000))
close_objects=$(printf '}%.0s' $(seq 10000))
printf '{"command": ["true"], "env": %s"x"%s}\n' "$deep_objects" \
    "$close_objects" >"$OURS/stage/hostile-deep-objects.json"
add_case hostile-deep-objects "maximum parsing depth reached"
{
    head -c 1000000 /dev/zero | tr '\0' '['
    head -c 1000000 /dev/zero | tr '\0' ']'
} >"$OURS/stage/hostile-deep-million.json"
add_case hostile-deep-million "maximum parsing depth reached"

# A symlink to a valid job file (outside the spool) is not followed.
echo '{"command": ["touch", "'"$T"'/symlink-ran"]}' >"$T/valid-target.json"
ln -s "$T/valid-target.json" "$OURS/stage/hostile-symlink.json"
add_case hostile-symlink "job file is a symbolic link"
# A FIFO nobody writes to must not block the coordinator.
mkfifo "$OURS/stage/hostile-fifo.json"
add_case hostile-fifo "job file is not a regular file"
# A valid job whose task file is a FIFO or a device: refused, not read.
mkfifo "$T/tasks-fifo"
echo '{"task_file": "'"$T"'/tasks-fifo"}' >"$OURS/stage/hostile-tasks-fifo.json"
add_case hostile-tasks-fifo "task file '$T/tasks-fifo' is not a regular file"
echo '{"task_file": "/dev/zero"}' >"$OURS/stage/hostile-tasks-zero.json"
add_case hostile-tasks-zero "task file '/dev/zero' is not a regular file"
mkdir "$OURS/stage/hostile-dir.json"
add_case hostile-dir "job file is not a regular file"
# Names that are not job ids.
echo '{"command": ["true"]}' >"$OURS/stage/hostile-no-extension"
add_case hostile-no-extension "job file name must end in '.json'" \
    hostile-no-extension
echo '{"command": ["true"]}' >"$OURS/stage/hostile bad id.json"
add_case "hostile bad id" "job id must be 1 to 64 characters"

# --- the corpus ---------------------------------------------------------------
ncorpus=0
for f in "$CORPUS"/*.json; do
    name=$(basename "$f" .json)
    [ -f "$CORPUS/$name.expect" ] || fail "invalid/$name.json has no .expect"
    cp "$f" "$OURS/stage/corpus-$name.json"
    add_case "corpus-$name" "$(head -n 1 "$CORPUS/$name.expect")"
    ncorpus=$((ncorpus + 1))
done
[ "$ncorpus" -ge 30 ] || fail "only $ncorpus files in $CORPUS"

# --- run -----------------------------------------------------------------------
before=$(outside)
TMPDIR=$T/tmpdir start_coordinator 2 --spool "$SPOOL"
wait_until 30 compgen -G "$SPOOL/status/*.json" >/dev/null || {
    show_coordinator_log
    fail "no status file 30 s after starting the coordinator"
}

# Drop each the way submit does: into tmp/, then rename into new/.
for id in "${IDS[@]}"; do
    src="$OURS/stage/${NAME[$id]}"
    mv "$src" "$SPOOL/tmp/${NAME[$id]}"
    mv "$SPOOL/tmp/${NAME[$id]}" "$SPOOL/new/${NAME[$id]}"
done
log "dropped ${#IDS[@]} hostile files ($ncorpus from the corpus)"

# error_file ID: where its reason goes (the name without .json, + .error).
error_file() {
    printf '%s/rejected/%s.error\n' "$SPOOL" "${NAME[$1]%.json}"
}
all_rejected() {
    local id
    for id in "${IDS[@]}"; do
        [ -e "$(error_file "$id")" ] || return 1
    done
}
wait_until 60 all_rejected || {
    show_coordinator_log
    for id in "${IDS[@]}"; do
        [ -e "$(error_file "$id")" ] || log "not rejected: ${NAME[$id]}"
    done
    fail "not every hostile file was rejected within 60 s"
}

# The coordinator still takes work.
echo '{"shell": "echo still here", "name": "after-hostile"}' >"$OURS/ok.json"
ok=$(submit "$OURS/ok.json")
rc=0
timeout -k 5 60 "$MPISPOOL" --spool "$SPOOL" wait --timeout 45 "$ok" \
    >"$OURS/wait.log" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
    cat "$OURS/wait.log" >&2
    show_coordinator_log
    fail "the valid job after the hostile ones did not complete (wait: $rc)"
fi
assert_state "$ok" done
assert_eq "still here" "$(cat "$(task_out "$ok" 0)")" "output of $ok"
kill -0 "$COORD_PID" 2>/dev/null || {
    show_coordinator_log
    fail "the coordinator exited"
}
[ -n "$(rank_pids "$COORD_PID")" ] || fail "no mpispool-run rank is running"

# --- every case ------------------------------------------------------------------
mismatches=0
for id in "${IDS[@]}"; do
    name=${NAME[$id]}
    err=$(error_file "$id")
    if [ ! -e "$SPOOL/rejected/$name" ] && [ ! -L "$SPOOL/rejected/$name" ]; then
        log "$name: not in rejected/"
        mismatches=$((mismatches + 1))
        continue
    fi
    for d in new cur done failed; do
        if [ -e "$SPOOL/$d/$name" ] || [ -L "$SPOOL/$d/$name" ]; then
            log "$name: also in $d/"
            mismatches=$((mismatches + 1))
        fi
    done
    lines=$(wc -l <"$err")
    text=$(cat "$err")
    if [ "$lines" != 1 ] || [ "$(tail -c 1 "$err" | od -An -tx1 | tr -d ' ')" != 0a ]; then
        log "$name: $(basename "$err") has $lines lines: '$text'"
        mismatches=$((mismatches + 1))
    elif [[ "$text" != *"${EXPECT[$id]}"* ]]; then
        log "$name: expected '${EXPECT[$id]}', got '$text'"
        mismatches=$((mismatches + 1))
    fi
    if [ -e "$SPOOL/out/${name%.json}" ]; then
        log "$name: has an out/ directory"
        mismatches=$((mismatches + 1))
    fi
done
[ "$mismatches" = 0 ] || {
    show_coordinator_log
    fail "$mismatches mismatches among ${#IDS[@]} hostile files"
}

# The symlink was moved, not its target; the FIFO is still a FIFO.
[ -L "$SPOOL/rejected/hostile-symlink.json" ] ||
    fail "rejected/hostile-symlink.json is no longer a symlink"
[ -p "$SPOOL/rejected/hostile-fifo.json" ] ||
    fail "rejected/hostile-fifo.json is no longer a FIFO"
assert_no_file "$T/symlink-ran" "file made by the symlinked job"

# Nothing was written outside out/ and the spool's own places.
after=$(outside)
if [ "$before" != "$after" ]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    fail "files outside the spool changed"
fi
# (Open MPI keeps its session directory in TMPDIR while it runs.)
written=$(ls -A "$T/tmpdir" | grep -vE '^(ompi|openmpi-sessions|prte)' || true)
[ -z "$written" ] || fail "the coordinator wrote into TMPDIR: $written"
for d in new cur tmp failed cancel data; do
    [ -z "$(ls -A "$SPOOL/$d")" ] || fail "files left in $d/: $(ls "$SPOOL/$d")"
done
assert_eq "$ok.json" "$(ls "$SPOOL/done")" "files in done/"
assert_eq "$ok" "$(ls "$SPOOL/out")" "directories in out/"
assert_eq $((2 * ${#IDS[@]})) "$(ls -A "$SPOOL/rejected" | wc -l)" \
    "files in rejected/ (a job file and an .error per case)"
unexpected=$(cd "$SPOOL" && ls -A | grep -vxE \
    'tmp|new|cur|done|failed|rejected|cancel|out|journal|status|data|drain|ids|seq' || true)
[ -z "$unexpected" ] || fail "unexpected files in the spool: $unexpected"

pass "${#IDS[@]} hostile files rejected ($ncorpus from the corpus), coordinator still serving"
