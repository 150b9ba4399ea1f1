# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared set-up of the benchmarks: the built programs, Open MPI as root, a
# temporary directory $TMP, and the background run $RUN_PID (if any)
# stopped at exit. Usage: . bench/lib.sh NAME
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${MPISPOOL:=$ROOT/build/mpispool}"
: "${MPISPOOL_RUN:=$ROOT/build/mpispool-run}"
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
for p in "$MPISPOOL" "$MPISPOOL_RUN"; do
    [ -x "$p" ] || { echo "not built: $p (run scripts/test.sh)" >&2; exit 1; }
done

TMP=$(mktemp -d "/tmp/mpispool-${1:-bench}.XXXXXX")
RUN_PID=""
bench_cleanup() {
    if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -TERM "$RUN_PID" 2>/dev/null || true
        sleep 3
        kill -KILL "$RUN_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap bench_cleanup EXIT
now() { local t=$EPOCHREALTIME; echo "${t/./}"; } # microseconds

# median: the median of the numbers on stdin, one a line.
median() {
    sort -n | awk '{ v[NR] = $1 }
        END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# await SECONDS CMD...: poll CMD every 10 ms until it succeeds; fails (exit
# 1, with a message) after SECONDS.
await() {
    local limit=$1 deadline
    shift
    deadline=$(($(now) + limit * 1000000))
    until "$@" >/dev/null 2>&1; do
        if [ "$(now)" -ge "$deadline" ]; then
            echo "bench: still waiting after ${limit} s for: $*" >&2
            exit 1
        fi
        sleep 0.01
    done
}
