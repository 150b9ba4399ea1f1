#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile job archives are refused at claim, each with one line naming the
# problem: a missing file, '../' and absolute entries, a symlink and a
# hardlink pointing outside, a device node, a million entries, and two
# compression bombs (a 10 GiB file in a ~10 MB tar.gz, and a 1 GiB one
# that only the expansion ratio catches). Nothing is written outside the
# spool, the refusals take seconds, and the coordinator goes on to run a
# valid job submitted after them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! command -v python3 >/dev/null; then
    echo "$TEST_NAME: SKIP: python3 is not installed (scripts/install-deps.sh)"
    exit 77
fi
setup_spool
T=$TEST_TMP
cd "$T"
# '../' entries and absolute ones aim here; it must never appear.
CANARY=$T/canary
mkdir -p "$T/hostile" "$T/work"

# ---------------------------------------------------------------- archives

python3 - "$T/hostile" "$CANARY" <<'EOF'
import io, sys, tarfile, zlib

out, canary = sys.argv[1], sys.argv[2]


def tar_gz(name, members):
    """members: (TarInfo, bytes or None)"""
    with tarfile.open(f"{out}/{name}", "w:gz", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def info(name, kind=tarfile.REGTYPE, size=0, link=""):
    i = tarfile.TarInfo(name)
    i.type, i.size, i.linkname, i.mode = kind, size, link, 0o644
    return i


tar_gz("dotdot.tar.gz", [(info("../../../canary/escaped", size=3), b"bad")])
tar_gz("absolute.tar.gz", [(info(canary + "/abs", size=3), b"bad")])
tar_gz("symlink.tar.gz", [(info("link", tarfile.SYMTYPE, link="../../../canary"),
                           None)])
tar_gz("hardlink.tar.gz", [(info("hard", tarfile.LNKTYPE,
                                 link="../../../canary/x"), None)])
dev = info("null", tarfile.CHRTYPE)
dev.devmajor, dev.devminor = 1, 3
tar_gz("device.tar.gz", [(dev, None)])

# A million empty files: raw ustar headers, only name and checksum vary.
template = bytearray(info("x").tobuf(format=tarfile.USTAR_FORMAT))
with open(f"{out}/million.tar.gz", "wb") as f:
    gz = zlib.compressobj(1, zlib.DEFLATED, 31)
    batch = []
    for n in range(1_000_000):
        h = bytearray(template)
        name = b"f%07d" % n
        h[0:100] = name.ljust(100, b"\0")
        h[148:156] = b" " * 8
        h[148:156] = b"%06o\0 " % sum(h)
        batch.append(bytes(h))
        if len(batch) == 20000:
            f.write(gz.compress(b"".join(batch)))
            batch = []
    f.write(gz.compress(b"".join(batch) + bytes(1024)))
    f.write(gz.flush())

# Bombs: a gzip file may hold several members, one after another. One
# member of 1 GiB of zeros, compressed once (~1 MB), is repeated.
gz = zlib.compressobj(9, zlib.DEFLATED, 31)
zeros, parts = bytes(16 << 20), []
for _ in range(64):
    parts.append(gz.compress(zeros))
parts.append(gz.flush())
gib_of_zeros = b"".join(parts)


def header_member(name, size):
    return zlib.compress(info(name, size=size).tobuf(format=tarfile.PAX_FORMAT),
                         wbits=31)


# 10 GiB file: its header, then ten members of zeros (~10 MB on disk).
with open(f"{out}/bomb.tar.gz", "wb") as f:
    f.write(header_member("big", 10 << 30))
    for _ in range(10):
        f.write(gib_of_zeros)
# A 1023 MiB file (under the size limit): only the ratio refuses it.
with open(f"{out}/ratio.tar.gz", "wb") as f:
    f.write(header_member("zeros", (1 << 30) - (1 << 20)))
    f.write(gib_of_zeros)
EOF
bomb_size=$(stat -c %s "$T/hostile/bomb.tar.gz")
assert_lt "$bomb_size" 20000000 "bytes of the 10 GiB bomb on disk"

# ---------------------------------------------------------------- jobs

# Each hostile case: the archive (or "missing") and a part of its line.
cases=(
    "missing|not found"
    "dotdot.tar.gz|entry '../../../canary/escaped' has a '..' component"
    "absolute.tar.gz|has an absolute path"
    "symlink.tar.gz|symlink 'link' points outside the extraction directory"
    "hardlink.tar.gz|hardlink 'hard' points outside the extraction directory"
    "device.tar.gz|entry 'null' is a character device"
    "million.tar.gz|has more than 100000 entries"
    "bomb.tar.gz|extracts to more than 1G"
    "ratio.tar.gz|expands more than 200 times"
)

start_coordinator 2 --spool "$SPOOL" --workdir "$T/work"
t0=$(now_us)
jobs=()
for c in "${cases[@]}"; do
    file=${c%%|*}
    if [ "$file" = missing ]; then
        # By hand, straight into new/: the archive in data/ is not there.
        job=handmade-missing
        printf '{"shell": "cat escaped", "archive": "%s.archive"}\n' "$job" \
            >"$SPOOL/tmp/$job.json"
        mv "$SPOOL/tmp/$job.json" "$SPOOL/new/$job.json"
    else
        job=$(submit --archive "$T/hostile/$file" -- cat escaped)
        assert_same_file "$T/hostile/$file" "$SPOOL/data/$job.archive" \
            "$file copied into data/"
    fi
    jobs+=("$job")
done

for i in "${!cases[@]}"; do
    job=${jobs[$i]}
    want=${cases[$i]#*|}
    if ! wait_until 60 test -f "$SPOOL/rejected/$job.error"; then
        show_coordinator_log
        fail "job $job (${cases[$i]%%|*}) was not rejected"
    fi
    assert_state "$job" rejected
    assert_eq 1 "$(wc -l <"$SPOOL/rejected/$job.error")" "lines in $job.error"
    log "${cases[$i]%%|*}: $(cat "$SPOOL/rejected/$job.error")"
    assert_contains "$want" "$(cat "$SPOOL/rejected/$job.error")" \
        "why ${cases[$i]%%|*} was rejected"
done
elapsed_ms=$((($(now_us) - t0) / 1000))
log "all ${#cases[@]} hostile jobs rejected in ${elapsed_ms} ms"
# A guard against unbounded work (a bomb decompressed, a million entries
# walked to the end), not a speed figure: a sanitizer build on a loaded
# 2-core machine has taken 39 s.
assert_lt "$elapsed_ms" 90000 "ms to refuse every hostile archive"

# The coordinator is still up and runs a valid job.
mkdir -p "$T/good"
echo "still serving" >"$T/good/ok.txt"
tar -czf "$T/good.tar.gz" -C "$T/good" ok.txt
good=$(submit --archive "$T/good.tar.gz" -- cat ok.txt)
if ! wait_until 30 test -f "$SPOOL/done/$good.json"; then
    show_coordinator_log
    fail "valid job $good did not finish after the hostile ones"
fi
assert_eq "still serving" "$(cat "$(task_out "$good" 0)")" "valid job output"
kill -0 "$COORD_PID" 2>/dev/null || fail "the coordinator exited"

# Nothing was written outside the spool.
assert_no_file "$CANARY" "canary directory"
# (The worker keeps its copies of archives, JOBID.archive, until it exits.)
leftovers=$(find "$T/work" -mindepth 1 -type f ! -name '*.archive' | head -n 5)
assert_eq "" "$leftovers" "files left in the work directory"

pass "${#cases[@]} hostile archives refused in ${elapsed_ms} ms"
