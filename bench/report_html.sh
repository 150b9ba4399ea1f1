#!/bin/bash
# SPDX-License-Identifier: MIT
# Time of `mpispool report --html` on a synthetic report of 100,000 task
# attempts (the page is capped; about 1 s is normal): median of 3 runs, and
# the page's size. Prints results; asserts nothing. (tests/e2e/report_html.sh
# checks what the page holds, with a time limit that only catches a hang.)
# Usage: bench/report_html.sh [ATTEMPTS] [RUNS]     (default 100000 3)
set -euo pipefail

N=${1:-100000}
RUNS=${2:-3}
. "$(dirname "$0")/lib.sh" report-html

SPOOL=$TMP/spool
"$MPISPOOL" init "$SPOOL" >/dev/null 2>&1
big=20261129-9999
echo '{"shell": "true"}' >"$SPOOL/failed/$big.json"
mkdir -p "$SPOOL/out/$big"
awk -v id="$big" -v n="$N" -f "$ROOT/tests/e2e/big_report.awk" \
    >"$SPOOL/out/$big/report.json"

for _ in $(seq 1 "$RUNS"); do
    t0=$(now)
    "$MPISPOOL" --spool "$SPOOL" report --html "$TMP/big.html" "$big"
    echo $((($(now) - t0) / 1000))
done >"$TMP/ms"
echo "report --html of $N attempts: median $(median <"$TMP/ms") ms over $RUNS runs" \
    "($(sort -n "$TMP/ms" | paste -sd' ') ms), $(stat -c %s "$TMP/big.html") bytes"
