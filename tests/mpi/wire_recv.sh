#!/bin/bash
# SPDX-License-Identifier: MIT
# One wire_recv finds a message that has arrived (see wire_recv.c).
# Usage: wire_recv.sh PROGRAM
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
PROG=${1:?usage: wire_recv.sh PROGRAM}
TEST_NAME=wire_recv
setup_spool # for TEST_TMP
mkfifo "$TEST_TMP/bell"
out=$TEST_TMP/run.log
timeout -k 5 60 mpirun --oversubscribe --bind-to none -np 2 "$PROG" \
    "$TEST_TMP/bell" 200 >"$out" 2>&1 || {
    cat "$out" >&2
    fail "a message that had arrived was not found by one wire_recv"
}
grep -q "0 of 200 messages missed" "$out" || fail "$(cat "$out")"
pass "$(grep 'wire_recv:' "$out")"
