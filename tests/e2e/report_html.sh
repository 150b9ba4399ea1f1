#!/bin/bash
# SPDX-License-Identifier: MIT
# `mpispool report --html`: a real job (ok, failed, killed, timed out
# tasks; '<script>' in its name and a task's stderr) and a synthetic
# 100,000-task report, rendered by headless Chromium: the page's own
# script runs without errors and finds every bar, the injected markup
# stays text, and the big page is capped with a note.
# Needs chromium (scripts/install-browser-deps.sh); skipped without it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "$TEST_NAME: SKIP: chromium is not installed (scripts/install-browser-deps.sh)"
    exit 77
fi

setup_spool
T=$TEST_TMP
cd "$T"

# chrome OUTPUT-ARGS... FILE: headless Chromium on FILE, bounded in time,
# its log (console messages included) in $T/chrome.log.
chrome() {
    local profile rc=0
    profile=$(mktemp -d "$T/profile.XXXXXX")
    local args=("$@")
    local file=${args[-1]}
    unset 'args[-1]'
    timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        "${args[@]}" "file://$file" 2>>"$T/chrome.log" || rc=$?
    rm -rf "$profile"
    [ "$rc" = 0 ] || {
        tail -n 20 "$T/chrome.log" >&2
        fail "chromium exited $rc on $file"
    }
}

# render HTML: screenshot to HTML.png and the DOM after the scripts ran
# to HTML.dom; fails on a script error.
render() {
    local html=$1
    : >"$T/chrome.log"
    chrome --screenshot="$html.png" --window-size=1200,900 "$html" >/dev/null
    [ -s "$html.png" ] || fail "no screenshot of $html"
    [ "$(head -c 8 "$html.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] ||
        fail "$html.png is not a PNG"
    chrome --dump-dom "$html" >"$html.dom"
    if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE.*[Ee]rror' "$T/chrome.log"; then
        fail "script errors on $html (above)"
    fi
    grep -q '<div id="status">ok</div>' "$html.dom" || {
        grep -o '<div id="status">[^<]*</div>' "$html.dom" >&2 || true
        fail "the page's script did not finish with ok on $html"
    }
    grep -q '<body data-ok="1"' "$html.dom" || fail "no data-ok on $html"
}

# bars FILE: the timeline bars in a page or DOM.
bars() {
    grep -o 'class="bar [a-z]*"' "$1" | wc -l
}

# ---- a real job
cat >job.json <<'EOF'
{"name": "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\"><script>document.body.setAttribute('data-pwned','name')</script> & co",
 "timeout": 2,
 "tasks": [
   "true",
   "sleep 0.2",
   "echo '<script>document.body.setAttribute(\"data-pwned\",\"stderr\")</script>' >&2; exit 3",
   "for i in $(seq 1 100); do echo \"line $i\" >&2; done; exit 1",
   "kill -9 $$",
   "sleep 30",
   "sleep 0.1"
 ]}
EOF
job=$(submit job.json)
run_until_empty 3 --kill-grace 1
assert_state "$job" failed
report=$SPOOL/out/$job/report.json
attempts=$(jqf "$report" '.tasks | length')
assert_eq 7 "$attempts" "attempts in report.json"

assert_exit 0 "$MPISPOOL" --spool "$SPOOL" report --html "$T/job.html" "$job"
html=$T/job.html
assert_file "$html"
[ ! -s "$T/last.out" ] || fail "report --html FILE printed on stdout"
# Records are read in place when they are flat and have no escapes, else
# by jansson (MPISPOOL_HTML_SLOW_PARSE=1: always): the same page.
MPISPOOL_HTML_SLOW_PARSE=1 assert_exit 0 "$MPISPOOL" --spool "$SPOOL" report --html "$T/slow.html" "$job"
diff <(grep -v '^<p style' "$T/job.html") <(grep -v '^<p style' "$T/slow.html") >&2 ||
    fail "the page differs when every record is read by jansson"
# --html - writes the same page to stdout
assert_exit 0 "$MPISPOOL" --spool "$SPOOL" report --html - "$job"
grep -q '<svg id="timeline"' "$T/last.out" || fail "report --html - printed no page"
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" report --html x.html --json "$job"
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" status --html x.html

# Self-contained: no URL to load, nothing fetched.
if grep -Eo '(src|href)="[^"#]*"|url\(|@import|https?://[^" ]*' "$html" |
    grep -v 'http://www.w3.org/2000/svg'; then
    fail "the page refers to something outside it (above)"
fi
# Escaped: the injected markup is text, in the title, heading and table.
grep -q '<script>document.body' "$html" && fail "a <script> of the job got into the page as markup"
grep -q '<img src=x' "$html" && fail "an <img> of the job's name got into the page as markup"
grep -q '&lt;script&gt;document.body.setAttribute(&quot;data-pwned&quot;' "$html" ||
    fail "the stderr '<script>' is not shown escaped"
grep -q '<title>mpispool job [^<]*&lt;img src=x' "$html" ||
    fail "the job name is not in the title, escaped"
# The failed tasks: 2 (exit 3), 3 (exit 1, 100 lines of stderr), 4
# (SIGKILL), 5 (timed out); the stderr tail is the last 20 lines.
for t in 2 3 4 5; do
    grep -q "<tr class=\"frow\"><td>$t</td>" "$html" || fail "task $t not in the failed table"
done
for t in 0 1 6; do
    if grep -q "<tr class=\"frow\"><td>$t</td>" "$html"; then
        fail "task $t succeeded but is in the failed table"
    fi
done
assert_eq 4 "$(grep -c '<tr class="frow">' "$html")" "rows of the failed table"
grep -q 'line 100' "$html" || fail "the stderr tail misses the last line"
grep -q 'line 81$' "$html" || fail "the stderr tail misses line 81 (the 20th from the end)"
if grep -q 'line 80$' "$html"; then fail "the stderr tail has more than 20 lines"; fi
grep -q 'signal 9 (Killed)' "$html" || fail "the SIGKILLed task's result is missing"
assert_eq 1 "$(grep -o 'class="bar timeout"' "$html" | wc -l)" "timed-out bars"
assert_eq 3 "$(grep -o 'class="bar failed"' "$html" | wc -l)" "failed bars"
assert_eq 3 "$(grep -o 'class="bar ok"' "$html" | wc -l)" "ok bars"
grep -q '<title>task 5 attempt 1 on ' "$html" || fail "no tooltip on the bar of task 5"
grep -q 'id="capped"' "$html" && fail "a 7-task page says it is capped"

render "$html"
assert_eq "$attempts" "$(bars "$html.dom")" "bars in the rendered timeline"
grep -q '<body[^>]*data-pwned' "$html.dom" && fail "injected markup ran in the page"
log "rendered $html.png ($(stat -c %s "$html.png") bytes)"
# MPISPOOL_KEEP_PNG=DIR keeps the screenshots, to look at them.
if [ -n "${MPISPOOL_KEEP_PNG:-}" ]; then cp "$html.png" "$MPISPOOL_KEEP_PNG/"; fi

# ---- a synthetic report of 100,000 tasks: the page is capped
big=20261129-9999
echo '{"shell": "true"}' >"$SPOOL/failed/$big.json"
mkdir -p "$SPOOL/out/$big"
awk -v id="$big" -v n=100000 -f "$REPO_ROOT/tests/e2e/big_report.awk" \
    >"$SPOOL/out/$big/report.json"
# About 1 s (30 s under AddressSanitizer); the time limit only catches a
# hang or a blow-up. bench/report_html.sh measures it.
start=$(date +%s%N)
assert_exit 0 timeout -k 5 100 "$MPISPOOL" --spool "$SPOOL" report --html "$T/big.html" "$big"
ms=$((($(date +%s%N) - start) / 1000000))
log "report --html of 100000 attempts: ${ms} ms, $(stat -c %s "$T/big.html") bytes"
size=$(stat -c %s "$T/big.html")
[ "$size" -lt 8000000 ] || fail "the 100000-task page is $size bytes"
grep -q '<p class="note" id="capped">The timeline shows [0-9]* of 100000 attempts' "$T/big.html" ||
    fail "the capped page has no note saying so"
drawn=$(grep -o 'data-bars="[0-9]*"' "$T/big.html" | grep -o '[0-9]*')
[ "$drawn" -le 20000 ] && [ "$drawn" -ge 15000 ] || fail "$drawn bars drawn, want 15000..20000"
# every attempt that did not succeed is drawn: 5000 failed, 100
# interrupted, 100 cancelled
assert_eq 5000 "$(grep -o 'class="bar failed"' "$T/big.html" | wc -l)" "failed bars of the big page"
assert_eq 100 "$(grep -o 'class="bar interrupted"' "$T/big.html" | wc -l)" "interrupted bars of the big page"
assert_eq 100 "$(grep -o 'class="bar cancelled"' "$T/big.html" | wc -l)" "cancelled bars of the big page"
grep -q 'cancelled: error: cancelled by mpispool cancel' "$T/big.html" || fail "no tooltip of a cancelled attempt"
grep -q '\.\.\. and 5100 more tasks that did not succeed' "$T/big.html" ||
    fail "the failed table of the big page is not cut at 100 rows"
render "$T/big.html"
assert_eq "$drawn" "$(bars "$T/big.html.dom")" "bars in the rendered big timeline"
if [ -n "${MPISPOOL_KEEP_PNG:-}" ]; then cp "$T/big.html.png" "$MPISPOOL_KEEP_PNG/"; fi
# every rank has bars
for r in $(seq 1 16); do
    grep -q ">node0$(((r - 1) / 4)):$r</text>" "$T/big.html" || fail "rank $r has no row"
done

pass "7-attempt and 100000-attempt pages render, escaped, $drawn bars drawn of 100000"
