#!/bin/bash
# SPDX-License-Identifier: MIT
# A job's "archive" (tar.gz from a job file, zip from --archive) is copied
# into the spool at submit and extracted into each task's private work
# directory, where the task runs: alone (one rank runs the tasks) and with
# mpirun -np 3 (rank 0 ships the archive to the workers over MPI).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! command -v python3 >/dev/null; then
    echo "$TEST_NAME: SKIP: python3 is not installed (scripts/install-deps.sh)"
    exit 77
fi
setup_spool
T=$TEST_TMP
cd "$T"

# The inputs: text, a file in a subdirectory, a name with a space, a
# symlink, and 3 MB of random bytes (more than one 1 MiB chunk on the wire).
mkdir -p "$T/inputs/sub" "$T/jobs"
echo "alpha" >"$T/inputs/a.txt"
echo "beta in sub" >"$T/inputs/sub/b.txt"
echo "spaced" >"$T/inputs/with space.txt"
ln -s sub/b.txt "$T/inputs/link"
head -c 3000000 /dev/urandom >"$T/inputs/random.bin"
sha=$(sha256sum <"$T/inputs/random.bin" | cut -d' ' -f1)
tar -czf "$T/jobs/inputs.tar.gz" -C "$T/inputs" .
python3 - "$T/inputs" "$T/inputs.zip" <<'EOF'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for name in ("a.txt", "sub/b.txt", "with space.txt", "random.bin"):
        z.write(os.path.join(src, name), name)
EOF
# Fine for the check at claim, but no file system takes a 300-byte name:
# extraction fails on the rank that runs the task, and so does the task.
python3 - "$T/longname.tar.gz" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("d/" + "x" * 300)
    i.size = 2
    t.addfile(i, io.BytesIO(b"hi"))
EOF

# The tasks, and what each prints. Task 4 changes its copy of a.txt; the
# other tasks still see the original (every task has its own copy).
cat >"$T/jobs/job.json" <<'EOF'
{
  "name": "with-archive",
  "archive": "inputs.tar.gz",
  "tasks": [
    "cat a.txt",
    "cat sub/b.txt",
    "cat 'with space.txt'",
    "cat link",
    "echo changed > a.txt; cat a.txt",
    "sha256sum < random.bin | cut -d' ' -f1",
    "test \"$(pwd -P)\" = \"$(cd \"$MPISPOOL_WORKDIR\" && pwd -P)\" && echo in-workdir"
  ]
}
EOF
expected=("alpha" "beta in sub" "spaced" "beta in sub" "changed" "$sha"
    "in-workdir")

# check_job JOB: every task printed what it should, the job is done.
check_job() {
    local job=$1 i
    assert_state "$job" done
    for i in "${!expected[@]}"; do
        assert_eq "${expected[$i]}" "$(cat "$(task_out "$job" "$i")")" \
            "output of task $i of job $job"
    done
}

for np in 1 3; do
    # Submitted from elsewhere: the archive is relative to the job file.
    (cd / && "$MPISPOOL" --spool "$SPOOL" submit "$T/jobs/job.json") \
        >"$T/tar.id" || fail "submit of a job file with an archive"
    tar_job=$(cat "$T/tar.id")
    assert_json "$SPOOL/new/$tar_job.json" .archive "$tar_job.archive"
    assert_same_file "$T/jobs/inputs.tar.gz" "$SPOOL/data/$tar_job.archive" \
        "archive copied into data/"
    zip_job=$(submit --archive "$T/inputs.zip" -- cat 'with space.txt')
    long_job=$(submit --archive "$T/longname.tar.gz" -- echo ran)

    run_until_empty "$np" --workdir "$T/work$np"

    check_job "$tar_job"
    assert_state "$zip_job" done
    assert_eq "spaced" "$(cat "$(task_out "$zip_job" 0)")" "zip job output"
    assert_state "$long_job" failed
    assert_json "$(record "$long_job" 0)" .exit_code null "exit code"
    assert_match "^cannot extract 'd/xxxx.*' from archive '.*': " \
        "$(jqf "$(record "$long_job" 0)" .error)" "why the task failed"
    assert_eq "" "$(cat "$(task_out "$long_job" 0)" 2>/dev/null)" \
        "output of a task never started"
    if [ "$np" = 3 ]; then
        ranks=$(cat "$SPOOL"/out/"$tar_job"/[0-9]*.json | jq -s -r \
            '[.[].rank] | unique | map(tostring) | join(",")')
        assert_ne "0" "$ranks" "ranks that ran the tasks"
    fi
    # Work directories and the workers' copies of the archive are gone.
    leftovers=$(find "$T/work$np" -mindepth 1 2>/dev/null | head -n 5)
    assert_eq "" "$leftovers" "left in the work directory"
done

# The spool's copy is the job's: changing the original changes nothing,
# and a missing archive is refused at submit.
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --archive "$T/nothere.tgz" \
    -- true
assert_contains "archive '$T/nothere.tgz' not found" "$(cat "$T/last.err")" \
    "submit error for a missing archive"
echo '{"shell": "true", "archive": "gone.zip"}' >"$T/jobs/gone.json"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit "$T/jobs/gone.json"
assert_contains "archive '$T/jobs/gone.zip' not found" "$(cat "$T/last.err")" \
    "submit error for a job file's missing archive"

# A job with "cwd" runs there and finds its archive in MPISPOOL_WORKDIR.
job=$(submit --archive "$T/inputs.zip" --cwd "$T" -- \
    sh -c 'pwd -P; cat "$MPISPOOL_WORKDIR/a.txt"')
run_until_empty 1 --workdir "$T/work-cwd"
assert_state "$job" done
assert_eq "$T"$'\n'"alpha" "$(cat "$(task_out "$job" 0)")" \
    "a job with cwd runs there and finds the archive in MPISPOOL_WORKDIR"

# The limits are mpispool-run options.
few=$(submit --archive "$T/inputs.zip" -- true)
run_until_empty 1 --archive-max-entries 3
small=$(submit --archive "$T/jobs/inputs.tar.gz" -- true)
run_until_empty 1 --archive-max-bytes 1M
assert_state "$few" rejected
assert_contains "has more than 3 entries" "$(cat "$SPOOL/rejected/$few.error")" \
    "--archive-max-entries"
assert_state "$small" rejected
assert_contains "extracts to more than 1M" \
    "$(cat "$SPOOL/rejected/$small.error")" "--archive-max-bytes"

pass "tar.gz and zip archives, alone and with mpirun -np 3"
