#!/bin/bash
# SPDX-License-Identifier: MIT
# A command found nowhere on the task's PATH is "No such file or directory"
# even when a PATH directory cannot be searched (EACCES there means only
# that directory is closed, not that the command exists); a command that
# exists but is not executable is "Permission denied". Root can search any
# directory, so as root the run drops to nobody.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP

mkdir -p "$T/closed" "$T/bin" "$T/tmp"
printf '#!/bin/sh\necho hi\n' >"$T/bin/notexec"
chmod 0644 "$T/bin/notexec"
chmod 0700 "$T/closed"
run_as=()
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
    chmod -R a+rwX "$SPOOL" "$T/tmp"
    chmod a+rx "$T" "$T/bin"
    run_as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    # Where nobody cannot run the program at all (a build under a private
    # directory, a root directory of mode 0700 in a chroot), this test has
    # nothing to say: ctest reports it skipped, with the reason.
    if ! why=$("${run_as[@]}" "$MPISPOOL_RUN" --version 2>&1); then
        echo "$TEST_NAME: SKIP: nobody cannot run $MPISPOOL_RUN: $why"
        exit 77
    fi
else
    chmod 0000 "$T/closed"
fi

cat >"$T/job.json" <<JSON
{"tasks": [["nosuchcmd"], ["notexec"]],
 "env": {"PATH": "$T/closed:$T/bin:/usr/bin:/bin"}}
JSON
job=$(submit "$T/job.json")
# new/ is sticky: only the job file's owner may claim it; its id is
# reserved (ids/) for that owner too, as if nobody had submitted it.
[ ${#run_as[@]} -eq 0 ] ||
    chown 65534:65534 "$SPOOL/new/$job.json" "$SPOOL/ids/$job"
rc=0
TMPDIR=$T/tmp timeout -k 5 60 "${run_as[@]}" "$MPISPOOL_RUN" --spool "$SPOOL" \
    --until-empty >"$T/run.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$T/run.log" >&2; fail "mpispool-run exited $rc"; }
chmod 0700 "$T/closed"

assert_json "$(record "$job" 0)" .error \
    "cannot execute 'nosuchcmd': No such file or directory"
assert_json "$(record "$job" 1)" .error \
    "cannot execute 'notexec': Permission denied"
pass
