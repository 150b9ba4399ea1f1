#!/bin/bash
# SPDX-License-Identifier: MIT
# Malformed MPI messages (bad magic, unknown version, a tag of no message
# type, a length that disagrees with the payload) are logged and dropped by
# rank 0, which keeps running and runs the job. The worker sends them
# through a test hook (MPISPOOL_TEST_SEND_GARBAGE) right after its HELLO.
# Usage: malformed.sh NP
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
NP=${1:?usage: malformed.sh NP}
TEST_NAME="malformed-np$NP"
setup_spool
job=$(submit --tasks <(for i in $(seq 1 20); do echo "echo $i"; done))
out=$TEST_TMP/run.log
MPISPOOL_TEST_SEND_GARBAGE=1 timeout -k 5 90 mpirun --oversubscribe \
    --bind-to none -np "$NP" -x MPISPOOL_TEST_SEND_GARBAGE "$MPISPOOL_RUN" \
    --spool "$SPOOL" --until-empty >"$out" 2>&1 || {
    cat "$out" >&2
    fail "mpirun exited $?"
}
assert_state "$job" done
dropped=$(grep -c 'dropped a message from rank' "$out" || true)
assert_eq $((4 * (NP - 1))) "$dropped" "messages logged and dropped"
for what in "magic" "version" "type" "length"; do
    grep -i 'dropped a message' "$out" | grep -qi "$what" ||
        fail "no drop names the bad $what: $(grep dropped "$out")"
done
pass "$dropped malformed messages dropped, the job ran"
