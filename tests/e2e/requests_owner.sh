#!/bin/bash
# SPDX-License-Identifier: MIT
# Requests about jobs on a spool shared by several users (run as root, with
# two test users): mpispool cancel of another user's job fails with "job X
# is not yours" and leaves it alone, as does a request file that user drops
# in cancel/; only the spool's administrator may drain; a user's cancel of
# her own queued job withdraws it at once, with no coordinator: report,
# wait, log and a second cancel see it cancelled, and a coordinator later
# files it in failed/ with a report written as its owner, never running it.
# A FIFO in cancel/ does not hold the coordinator up; it is removed, with
# a line in its log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "$TEST_NAME: SKIP: needs root (its test users make the requests)"
    exit 77
fi
for prog in useradd userdel runuser mkfifo; do
    if ! command -v "$prog" >/dev/null; then
        echo "$TEST_NAME: SKIP: $prog is not installed"
        exit 77
    fi
done

setup_spool
T=$TEST_TMP
chmod 0755 "$T"
# Copies of the programs the test users can run (the build directory may
# be private).
mkdir -p "$T/bin"
cp "$MPISPOOL" "$MPISPOOL_RUN" "$T/bin/"
chmod 0755 "$T/bin" "$T/bin/"*
MPISPOOL=$T/bin/$(basename "$MPISPOOL")
MPISPOOL_RUN=$T/bin/$(basename "$MPISPOOL_RUN")

ANA=mps-req-a-$$
BOB=mps-req-b-$$
on_cleanup 'userdel -r "$ANA" >/dev/null 2>&1'
on_cleanup 'userdel -r "$BOB" >/dev/null 2>&1'
useradd -m -U -s /bin/sh "$ANA" || fail "useradd $ANA"
useradd -m -U -s /bin/sh "$BOB" || fail "useradd $BOB"
if ! why=$(runuser -u "$ANA" -- "$MPISPOOL" --version 2>&1); then
    echo "$TEST_NAME: SKIP: $ANA cannot run $MPISPOOL: $why"
    exit 77
fi

# as USER mpispool ARGS...: run the CLI as USER, from /.
as() {
    local who=$1
    shift
    (cd / && runuser -u "$who" -- "$MPISPOOL" --spool "$SPOOL" "$@")
}

mine=$(as "$ANA" submit -- touch "$T/withdrawn-ran")
kept=$(as "$ANA" submit -- echo kept)
bobs=$(as "$BOB" submit -- echo bob)

# Bob may not cancel ana's job, through the CLI or a file in cancel/.
assert_exit 1 as "$BOB" cancel "$mine"
assert_eq "mpispool: job $mine is not yours (it is $ANA's): only its owner, root or the spool's administrator may cancel it" \
    "$(cat "$T/last.err")" "bob's cancel of ana's job"
assert_file "$SPOOL/new/$mine.json" "ana's job after bob's cancel"
runuser -u "$BOB" -- sh -c ': >"$1/cancel/$2+bob"' sh "$SPOOL" "$kept" ||
    fail "bob cannot drop a file in cancel/"
# Nor drain a host, or undo a drain; he may list the drained hosts.
host=$(hostname)
assert_exit 1 as "$BOB" drain "$host"
assert_eq "mpispool: only the spool's administrator (root) may drain" \
    "$(cat "$T/last.err")" "bob's drain"
assert_exit 1 as "$BOB" drain --undo "$host"
assert_exit 0 as "$BOB" drain
assert_eq "" "$(cat "$T/last.out")" "drained hosts"
assert_eq "" "$(ls -A "$SPOOL/drain")" "drain/ after bob's drain"
assert_eq 755 "$(stat -c %a "$SPOOL/drain")" "mode of drain/"

# Ana withdraws her queued job: cancelled at once, no coordinator running.
assert_exit 0 as "$ANA" cancel "$mine"
assert_eq "cancelled job $mine (it had not started)" "$(cat "$T/last.out")" \
    "ana's cancel of her queued job"
assert_no_file "$SPOOL/new/$mine.json" "ana's withdrawn job in new/"
assert_exit 0 as "$BOB" report --json "$mine"
assert_eq cancelled "$(jq -r .state "$T/last.out")" "report state (bob reads)"
assert_exit 0 as "$ANA" report "$mine"
assert_contains cancelled "$(cat "$T/last.out")" "ana's report"
assert_exit 1 as "$ANA" wait "$mine"
assert_contains "$mine cancelled before it started" "$(cat "$T/last.err")" \
    "mpispool wait of the withdrawn job"
assert_exit 0 as "$ANA" log "$mine"
assert_exit 1 as "$ANA" cancel "$mine"
assert_eq "mpispool: job '$mine' has already ended (cancelled)" \
    "$(cat "$T/last.err")" "a second cancel"
assert_exit 1 as "$BOB" cancel "$mine"

# A FIFO in cancel/ named for bob's own job, and ana's file named like a
# withdrawal of bob's job: neither blocks nor cancels anything.
runuser -u "$BOB" -- mkfifo "$SPOOL/cancel/$bobs+fifo" ||
    fail "bob cannot make a FIFO in cancel/"
runuser -u "$ANA" -- sh -c ': >"$1/cancel/$2.json"' sh "$SPOOL" "$bobs" ||
    fail "ana cannot drop a file in cancel/"
rc=0
timeout -k 5 60 "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
    >"$T/coordinator.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || {
    show_coordinator_log
    fail "mpispool-run --until-empty exited $rc"
}
assert_state "$kept" done
assert_state "$bobs" done
assert_state "$mine" failed
assert_no_file "$T/withdrawn-ran" "proof that the withdrawn job ran"
R=$SPOOL/out/$mine/report.json
assert_eq cancelled "$(jq -r .state "$R")" "report of the withdrawn job"
assert_eq "$ANA" "$(stat -c %U "$R")" "owner of its report"
assert_eq "" "$(ls -A "$SPOOL/cancel")" "cancel/ after the coordinator"
log_text=$(cat "$T/coordinator.log")
assert_contains "removed 'cancel/$bobs+fifo'" "$log_text" "log of the FIFO"
assert_contains "refused: job $kept belongs to uid $(id -u "$ANA")" \
    "$log_text" "log of bob's request"
assert_contains "job $mine cancelled before it started" "$log_text" \
    "log of the withdrawal"
pass "only owners and root cancel, only the administrator drains, owners withdraw queued jobs at once"
