# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the security scenarios: a spool shared by untrusted users.
#
# A scenario script sources this file, defines functions sc_NAME and ends
# with `sec_main "$@"`; it is run as `bash SCRIPT NAME [NP]` (one ctest
# entry per scenario, tests/CMakeLists.txt). sec_main makes, as root:
#   - a spool set up as the README says for a shared one (`mpispool init`
#     as root: tmp/ new/ cancel/ data/ ids/ mode 1733, the rest 0755);
#   - three unprivileged test users: $ANA and $BOB (honest) and $EVE
#     (hostile), each with a home directory, removed at exit;
#   - copies of the programs the users may run ($T/bin), a world-writable
#     sticky $TMPDIR for the ranks ($SEC_TMPDIR, like /tmp), a directory
#     anyone may write ($PUB, where tasks leave proofs of who they ran
#     as), and a root-only directory ($ROOTDIR, mode 0700) holding a 0600
#     root file and a 0600 root tar, both holding $TOKEN;
# then runs sc_NAME with rank 0 as root, alone (NP 1) or under mpirun
# -np NP. Every process of the test users, every mount and every file is
# removed at exit, within seconds. Not root: exit 77 with the reason.

. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

SEC_MOUNTS=()
SEC_USERS=()
NP=1

sec_skip() {
    printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"
    exit 77
}

sec_require() {
    [ "$(id -u)" = 0 ] ||
        sec_skip "needs root: rank 0 runs as root and the test creates" \
            "unprivileged users (run ctest -L security as root)"
    local prog
    for prog in useradd userdel runuser mount umount perl python3 tar \
        mkfifo truncate sha256sum; do
        command -v "$prog" >/dev/null || sec_skip "$prog is not installed"
    done
}

# ---------------------------------------------------------------- users

# sec_add_user NAME: an unprivileged user with a home directory (mode
# 0700: what a user keeps there is hers), removed at exit.
sec_add_user() {
    local name=$1
    SEC_USERS+=("$name")
    useradd -m -U -s /bin/sh "$name" || fail "useradd $name"
    chmod 0700 "$(home_of "$name")"
}

home_of() { getent passwd "$1" | cut -d: -f6; }
uid_of() { id -u "$1"; }

# as USER CMD...: run CMD as USER in USER's home directory, with umask
# 022 unless SEC_UMASK says otherwise.
as() {
    local who=$1
    shift
    (cd "$(home_of "$who")" && umask "${SEC_UMASK:-022}" &&
        runuser -u "$who" -- "$@")
}

# submit_as USER ARGS...: mpispool submit as USER; prints the job id.
submit_as() {
    local who=$1 out rc=0
    shift
    out=$(as "$who" "$MPISPOOL" --spool "$SPOOL" submit "$@" 2>"$T/submit.err") ||
        rc=$?
    [ "$rc" = 0 ] || fail "mpispool submit $* as $who exited $rc:" \
        "$(head -c 300 "$T/submit.err")"
    [[ "$out" =~ ^[A-Za-z0-9._-]+$ ]] ||
        fail "submit as $who did not print a bare job id: '$out'"
    printf '%s\n' "$out"
}

# submit_json USER JSON: USER submits the job file JSON (written in her
# home; relative names in it are relative to that); prints the job id.
submit_json() {
    local who=$1 file
    file=$(home_of "$who")/job-$RANDOM.json
    printf '%s\n' "$2" >"$file"
    chown "$who:" "$file"
    submit_as "$who" "$file"
}

# drop_as USER NAME JSON: USER writes the job file NAME.json by hand
# (tmp/, then renamed into new/, as doc/formats.md says).
drop_as() {
    local who=$1 name=$2 json=$3
    printf '%s\n' "$json" | as "$who" sh -c \
        'cat >"$1/tmp/.$2.$$" && mv "$1/tmp/.$2.$$" "$1/new/$2.json"' \
        sh "$SPOOL" "$name" || fail "$who cannot drop $name.json into new/"
}

# make_tar TAR DIR: a tar of DIR's contents (owned by whoever runs it).
make_tar() {
    tar -C "$2" -cf "$1" . || fail "tar of $2"
}

# ---------------------------------------------------------------- rank 0

# start_rank0 [ARGS...]: mpispool-run as root on the spool, alone (NP 1)
# or under mpirun -np NP, in the background with $SEC_TMPDIR as TMPDIR;
# waits until it serves and sets COORD_PID (the process heading it),
# RANK0_PID and, with NP > 1, RANK1_PID.
start_rank0() {
    local limit=${SEC_COORD_LIMIT:-150}
    if [ "$NP" = 1 ]; then
        TMPDIR=$SEC_TMPDIR timeout -k 5 "$limit" "$MPISPOOL_RUN" \
            --spool "$SPOOL" "$@" >>"$T/coordinator.log" 2>&1 &
    else
        TMPDIR=$SEC_TMPDIR timeout -k 5 "$limit" mpirun --oversubscribe \
            --bind-to none -np "$NP" -x TMPDIR "$MPISPOOL_RUN" \
            --spool "$SPOOL" "$@" >>"$T/coordinator.log" 2>&1 &
    fi
    COORD_PID=$!
    BG_PIDS+=("$COORD_PID")
    wait_until 30 rank0_serving || {
        show_coordinator_log
        fail "rank 0 did not start serving within 30 s"
    }
    RANK1_PID=""
    if [ "$NP" != 1 ]; then
        local p
        for p in $(rank_pids "$COORD_PID"); do
            [ "$p" = "$RANK0_PID" ] || RANK1_PID=$p
        done
        [ -n "$RANK1_PID" ] || fail "no rank 1 under mpirun -np $NP"
    fi
    RANK0_BASE_RSS=$(peak_rss_mb "$RANK0_PID")
}

# rank0_serving: the status file of a rank 0 of ours says "running" and
# names its pid (RANK0_PID is set from it).
rank0_serving() {
    local f pid
    for f in "$SPOOL"/status/*.json; do
        [ -f "$f" ] || continue
        [ "$(jq -r .state "$f" 2>/dev/null)" = running ] || continue
        pid=$(jq -r .pid "$f")
        if kill -0 "$pid" 2>/dev/null &&
            descendants "$COORD_PID" | grep -qx "$pid"; then
            RANK0_PID=$pid
            STATUS_FILE=$f
            return 0
        fi
    done
    return 1
}

# status_has FILTER: jq -e FILTER holds on rank 0's status file.
status_has() {
    jq -e "$1" "$STATUS_FILE" >/dev/null 2>&1
}

# stop_rank0: stop the background rank 0 (SIGTERM, then SIGKILL after a
# few seconds: a wedged rank 0 may not answer).
stop_rank0() {
    [ -n "${COORD_PID:-}" ] || return 0
    kill_tree "$COORD_PID"
    wait "$COORD_PID" 2>/dev/null || true
    COORD_PID=""
}

# rank0_alive: rank 0 still runs.
rank0_alive() { kill -0 "$RANK0_PID" 2>/dev/null; }

# peak_rss_mb PID: the peak resident set size of PID so far (VmHWM), MB.
peak_rss_mb() {
    awk '/^VmHWM:/ { printf "%d\n", $2 / 1024 }' "/proc/$1/status"
}

# assert_rss_growth MB WHAT: rank 0's peak RSS grew by less than MB since
# it started serving (a sanitizer build starts higher; the attacks add
# gigabytes).
assert_rss_growth() {
    local now
    now=$(peak_rss_mb "$RANK0_PID")
    log "rank 0's peak RSS: $now MB ($RANK0_BASE_RSS MB when it began serving)"
    assert_lt "$((now - RANK0_BASE_RSS))" "$1" "$2: growth of rank 0's peak RSS in MB"
}

# ---------------------------------------------------------------- jobs

# job_where JOB: the spool directories holding JOB.json (new cur done
# failed rejected), space-separated, or "none".
job_where() {
    local d where=""
    for d in new cur 'done' failed rejected; do
        if [ -e "$SPOOL/$d/$1.json" ] || [ -L "$SPOOL/$d/$1.json" ]; then
            where="$where${where:+ }$d"
        fi
    done
    echo "${where:-none}"
}

# job_final JOB: where JOB ended (done, failed or rejected; the first of
# them holding JOB.json), or nothing.
job_final() {
    local d
    for d in 'done' failed rejected; do
        if [ -e "$SPOOL/$d/$1.json" ]; then
            echo "$d"
            return 0
        fi
    done
}

# job_ended JOB: JOB.json is in done/, failed/ or rejected/, and no
# coordinator holds a JOB.json in cur/ (a file under the same name left
# in new/ is another matter).
job_ended() {
    [ -n "$(job_final "$1")" ] && [ ! -e "$SPOOL/cur/$1.json" ]
}

# wait_ended JOB SECONDS: wait until JOB has ended; 1 on timeout.
wait_ended() { wait_until "$2" job_ended "$1"; }

# settle JOB SECONDS: wait for a hostile job to end, which it need not
# (a job refused for a transient error, e.g. EACCES, may be retried).
settle() {
    wait_ended "$1" "$2" ||
        log "job $1 has not ended after ${2}s (in $(job_where "$1"))"
}

# assert_job_done JOB SECONDS WHAT: JOB ends in done/ within SECONDS.
assert_job_done() {
    local job=$1 limit=$2 what=$3
    if ! wait_ended "$job" "$limit"; then
        show_coordinator_log
        fail "$what: job $job has not ended after ${limit}s (it is in" \
            "$(job_where "$job"))"
    fi
    if [ "$(job_final "$job")" != 'done' ]; then
        [ ! -f "$SPOOL/rejected/$job.error" ] ||
            log "rejected: $(cat "$SPOOL/rejected/$job.error")"
        [ ! -s "$SPOOL/out/$job/0.err" ] ||
            log "stderr of its task 0: $(head -c 500 "$SPOOL/out/$job/0.err")"
        show_coordinator_log
        fail "$what: job $job ended in $(job_final "$job")/, not done/"
    fi
}

# gone_from_queue NAME: NAME.json is neither waiting nor being run.
gone_from_queue() {
    [ ! -e "$SPOOL/new/$1.json" ] && [ ! -L "$SPOOL/new/$1.json" ] &&
        [ ! -e "$SPOOL/cur/$1.json" ]
}

# eve_try WHAT CMD...: eve runs CMD; when the spool refuses it (her attack
# cannot even start), say so and return 1: the scenario goes on, as what
# it asserts must hold either way.
eve_try() {
    local what=$1 err
    shift
    err=$(as "$EVE" "$@" 2>&1) && return 0
    log "eve could not $what (${err:-refused}): that step of the attack is" \
        "not possible"
    return 1
}

# ---------------------------------------------------------------- checks

# assert_never_root PROOF WHAT: the proof file PROOF (uids written by
# tasks with `id -u >>PROOF`) holds no 0.
assert_never_root() {
    if [ -f "$1" ] && grep -qx 0 "$1"; then
        fail "$2: a task ran as root (uid 0; $(basename "$1"))"
    fi
}

# assert_no_root_job_files: no job file in the spool belongs to root (no
# scenario has root submit anything, so one is a user's file turned
# root's).
assert_no_root_job_files() {
    local found
    found=$(find "$SPOOL"/new "$SPOOL"/cur "$SPOOL"/done "$SPOOL"/failed \
        "$SPOOL"/rejected -maxdepth 1 -uid 0 ! -type d 2>/dev/null |
        grep -v '\.error$' || true)
    [ -z "$found" ] || fail "job files owned by root appeared: $found"
}

# assert_not_leaked WHERE...: $TOKEN (the root-only secret) is in no
# file under WHERE.
assert_not_leaked() {
    local hit
    hit=$(grep -rlF -- "$TOKEN" "$@" 2>/dev/null || true)
    [ -z "$hit" ] || fail "the root-only secret leaked into: $hit"
}

# assert_unchanged FILE SUM WHAT: FILE's sha256 is still SUM.
assert_unchanged() {
    local now
    now=$(sha256sum <"$1" | cut -d' ' -f1)
    [ "$now" = "$2" ] || fail "$3: $1 was changed"
}

sha_of() { sha256sum <"$1" | cut -d' ' -f1; }

# can_read USER FILE: USER may read FILE.
can_read() { as "$1" cat "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------- mounts

# sec_mount ARGS... MOUNTPOINT: mount, remembered for the cleanup; where
# this root may not mount (a container), the scenario is skipped.
sec_mount() {
    local err
    err=$(mount "$@" 2>&1) || sec_skip "cannot mount here: $err"
    SEC_MOUNTS+=("${*: -1}")
}

sec_umount() {
    local mp=$1 i
    for i in 1 2 3 4 5; do
        umount "$mp" 2>/dev/null && return 0
        sleep 0.2
    done
    umount -l "$mp" 2>/dev/null
}

# ---------------------------------------------------------------- setup

# kill_user_processes USER: SIGKILL every process of USER (by pid), until
# none is left (bounded).
kill_user_processes() {
    local i p
    for i in 1 2 3 4 5 6 7 8 9 10; do
        local pids
        pids=$(ps -u "$1" -o pid= 2>/dev/null || true)
        [ -n "$pids" ] || return 0
        for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        sleep 0.1
    done
}

sec_cleanup() {
    local pid u i
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill_tree "$pid"; fi
    done
    for u in "${SEC_USERS[@]}"; do kill_user_processes "$u"; done
    for ((i = ${#SEC_MOUNTS[@]} - 1; i >= 0; i--)); do
        sec_umount "${SEC_MOUNTS[$i]}"
    done
    for u in "${SEC_USERS[@]}"; do
        userdel -r "$u" >/dev/null 2>&1 || userdel -f -r "$u" >/dev/null 2>&1
        getent group "$u" >/dev/null && groupdel "$u" >/dev/null 2>&1
    done
    return 0
}

# sweep_stale_users: remove the test users of an earlier run that was
# killed before its cleanup (mps-ana/bob/eve-PID whose PID is gone).
sweep_stale_users() {
    local name pid
    for name in $(getent passwd | cut -d: -f1 |
        grep -E '^mps-(ana|bob|eve)-[0-9]+$' || true); do
        pid=${name##*-}
        kill -0 "$pid" 2>/dev/null && continue
        kill_user_processes "$name"
        userdel -r "$name" >/dev/null 2>&1 || true
    done
}

sec_setup() {
    sec_require
    sweep_stale_users
    setup_spool
    T=$TEST_TMP
    chmod 0755 "$T"
    on_cleanup sec_cleanup
    # Programs every user may run (the build directory may be private).
    mkdir -p "$T/bin"
    cp "$MPISPOOL" "$MPISPOOL_RUN" "$T/bin/"
    chmod 0755 "$T/bin" "$T/bin/"*
    MPISPOOL=$T/bin/$(basename "$MPISPOOL")
    MPISPOOL_RUN=$T/bin/$(basename "$MPISPOOL_RUN")
    export MPISPOOL MPISPOOL_RUN
    SEC_TMPDIR=$T/tmp
    PUB=$T/pub
    ROOTDIR=$T/root
    mkdir -p "$SEC_TMPDIR" "$PUB" "$ROOTDIR/content"
    chmod 1777 "$SEC_TMPDIR"
    chmod 0777 "$PUB"
    chmod 0700 "$ROOTDIR"
    TOKEN=root-only-secret-$$-$RANDOM$RANDOM
    printf '%s\n' "$TOKEN" >"$ROOTDIR/content/secret.txt"
    printf '%s\n' "$TOKEN" >"$ROOTDIR/secret"
    make_tar "$ROOTDIR/secret.tar" "$ROOTDIR/content"
    chmod 0600 "$ROOTDIR/secret" "$ROOTDIR/secret.tar"
    ANA=mps-ana-$$
    BOB=mps-bob-$$
    EVE=mps-eve-$$
    sec_add_user "$ANA"
    sec_add_user "$BOB"
    sec_add_user "$EVE"
    local why
    why=$(as "$EVE" "$MPISPOOL" --version 2>&1) ||
        sec_skip "$EVE cannot run $MPISPOOL: $why"
}

# sec_main SCENARIO [NP]: set up and run sc_SCENARIO.
sec_main() {
    local scenario=${1:-}
    NP=${2:-1}
    if [ -z "$scenario" ] || ! declare -F "sc_$scenario" >/dev/null; then
        fail "usage: $0 SCENARIO [NP] (SCENARIO one of:" \
            "$(declare -F | awk '$3 ~ /^sc_/ { printf " %s", substr($3, 4) }'))"
    fi
    TEST_NAME=security-$scenario-np$NP
    sec_setup
    "sc_$scenario"
    pass
}
