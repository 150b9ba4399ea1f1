# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# A lab of PCs on this one machine, for the cluster tests (ctest -L cluster).
#
# Each simulated PC ("host") is a network namespace joined to a bridge by a
# veth pair, on the private subnet 10.77.0.0/24, with:
#   - its own sshd (own host key, own config, port 22 of its namespace,
#     root may log in with the test's user key only),
#   - its own hostname (a UTS namespace: Open MPI names a node by
#     gethostname(), so three namespaces are three nodes to it),
#   - a private /tmp (a mount namespace with a tmpfs on /tmp: workers share
#     no file system with rank 0; Open MPI's session directory and the
#     tasks' work directories live there).
# Rank 0 (mpirun, mpispool start and the spool) runs in the root namespace
# of this machine, whose bridge address is 10.77.0.1; its hostname is this
# machine's. The namespaces see the root file system outside /tmp (so the
# built programs), as lab PCs see the same installed software.
#
# The test's keys, ssh config and spool live in $CLUSTER_DIR,
# /var/tmp/mpispool-cluster-PID-TEST.XXXXXX (not in /tmp, which the hosts'
# own tmpfs hides from their sshd).
# Everything this library creates (namespaces, bridge, veths, sshds and
# what runs under them, the directory) is removed at exit, also on failure.
#
# Source it after tests/e2e/lib.sh:
#   . "$(dirname "$0")/../e2e/lib.sh"; . "$(dirname "$0")/lib.sh"
#   cluster_setup 3            # hosts h1 h2 h3 (10.77.0.11-13)
#   cluster_ssh h2 hostname    # -> h2
#   SSH="ssh -F $CLUSTER_SSH_CONFIG"

CLUSTER_SUBNET=10.77.0.0/24
CLUSTER_PREFIX=10.77.0
CLUSTER_TAG=mps$$ # namespace, bridge and veth names start with it
CLUSTER_BRIDGE=${CLUSTER_TAG}br
CLUSTER_HOSTS=()
CLUSTER_DIR=""
CLUSTER_SSH_CONFIG=""

# cluster_skip WHY: exit 77 (skipped) with the reason.
cluster_skip() {
    printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
    exit 77
}

# cluster_ns HOST: the network namespace of HOST.
cluster_ns() { printf '%s%s\n' "$CLUSTER_TAG" "$1"; }

# cluster_ip HOST: the address of HOST (h1 -> 10.77.0.11).
cluster_ip() { printf '%s.%d\n' "$CLUSTER_PREFIX" $((10 + ${1#h})); }

# cluster_veth HOST: the root-namespace end of HOST's veth pair: setting it
# down cuts the host off as a pulled cable would.
cluster_veth() { printf '%sv%s\n' "$CLUSTER_TAG" "${1#h}"; }

# cluster_reap_stale: remove what a cluster test killed outright (no trap
# ran: SIGKILL, a ctest timeout) left behind: its namespaces (and the
# processes in them), bridge and veths, all named after its pid.
cluster_reap_stale() {
    local br pid ns p
    for br in $(ip -o link show type bridge 2>/dev/null |
        sed -n 's/^[0-9]*: \(mps[0-9]*br\)[:@].*/\1/p'); do
        pid=${br#mps}
        pid=${pid%br}
        kill -0 "$pid" 2>/dev/null && continue
        log "removing what cluster test pid $pid left behind ($br)"
        for ns in $(ip netns list | awk '{print $1}' | grep "^mps${pid}h"); do
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null || true
            done
            ip netns del "$ns" 2>/dev/null || true
        done
        ip -o link show | sed -n "s/^[0-9]*: \(mps${pid}v[0-9]*\)[:@].*/\1/p" |
            while read -r p; do ip link del "$p" 2>/dev/null || true; done
        ip link del "$br" 2>/dev/null || true
        rm -rf "/var/tmp/mpispool-cluster-$pid-"*
    done
}

cluster_requirements() {
    [ "$(id -u)" = 0 ] ||
        cluster_skip "needs root (network namespaces, bridges, unshare)"
    local prog
    for prog in ip unshare ssh ssh-keygen /usr/sbin/sshd mpirun jq; do
        command -v "$prog" >/dev/null ||
            cluster_skip "$prog is not installed (run scripts/install-cluster-deps.sh)"
    done
    cluster_reap_stale
    if ip -o addr show | grep -q " $CLUSTER_PREFIX\."; then
        cluster_skip "$CLUSTER_SUBNET is already in use on this machine" \
            "(a cluster test running, or one killed before its clean-up)"
    fi
    ip netns add "${CLUSTER_TAG}probe" 2>/dev/null ||
        cluster_skip "cannot create a network namespace here"
    ip netns del "${CLUSTER_TAG}probe"
}

# cluster_cleanup: kill every process in our namespaces (by pid: they are
# all ours), delete the namespaces and the bridge, remove CLUSTER_DIR.
cluster_cleanup() {
    local host ns pids p i
    for host in "${CLUSTER_HOSTS[@]}"; do
        ns=$(cluster_ns "$host")
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    done
    for i in $(seq 1 20); do
        pids=""
        for host in "${CLUSTER_HOSTS[@]}"; do
            pids="$pids $(ip netns pids "$(cluster_ns "$host")" 2>/dev/null | tr '\n' ' ')"
        done
        [ -z "${pids// /}" ] && break
        [ "$i" = 20 ] && for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        sleep 0.1
    done
    for host in "${CLUSTER_HOSTS[@]}"; do
        ip netns del "$(cluster_ns "$host")" 2>/dev/null || true
        ip link del "$(cluster_veth "$host")" 2>/dev/null || true
    done
    ip link del "$CLUSTER_BRIDGE" 2>/dev/null || true
    if [ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ]; then
        if [ -n "${KEEP_TMP:-}" ]; then
            echo "$TEST_NAME: kept $CLUSTER_DIR" >&2
        else
            rm -rf "$CLUSTER_DIR"
        fi
    fi
}

# cluster_add_host HOST: namespace, veth on the bridge, sshd in its own
# UTS and mount namespaces (hostname HOST, a tmpfs on /tmp).
cluster_add_host() {
    local host=$1 ns veth ip
    ns=$(cluster_ns "$host")
    veth=$(cluster_veth "$host")
    ip=$(cluster_ip "$host")
    CLUSTER_HOSTS+=("$host")
    ip netns add "$ns"
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip link set "$veth" master "$CLUSTER_BRIDGE"
    ip link set "$veth" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip addr add "$ip/24" dev "${veth}p"
    ip netns exec "$ns" ip link set "${veth}p" up

    local dir=$CLUSTER_DIR/$host
    mkdir -p "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    cat >"$dir/sshd_config" <<EOF
ListenAddress $ip
Port 22
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $CLUSTER_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
ClientAliveInterval 2
ClientAliveCountMax 3
AcceptEnv OMPI_* MPISPOOL_*
LogLevel ERROR
EOF
    # sshd -D stays in the foreground: its pid is the namespace's first.
    ip netns exec "$ns" unshare --uts --mount --propagation private \
        sh -c 'hostname "$1" && mount -t tmpfs -o mode=1777 tmpfs /tmp &&
               exec /usr/sbin/sshd -D -e -f "$2"' \
        sh "$host" "$dir/sshd_config" >"$dir/sshd.log" 2>&1 &
    BG_PIDS+=("$!")
}

# cluster_setup N: hosts h1..hN, each answering ssh; sets CLUSTER_DIR,
# CLUSTER_SSH_CONFIG and CLUSTER_SSH ("ssh -F CONFIG").
cluster_setup() {
    local n=$1 i host
    cluster_requirements
    on_cleanup cluster_cleanup
    CLUSTER_DIR=$(mktemp -d "/var/tmp/mpispool-cluster-$$-$TEST_NAME.XXXXXX")
    chmod 755 "$CLUSTER_DIR"
    # The hosts see this machine's files, but a /tmp of their own: run
    # copies of the programs from the cluster directory, wherever the build
    # is (a checkout under /tmp included). mpispool start finds
    # mpispool-run beside mpispool.
    mkdir -p "$CLUSTER_DIR/bin"
    cp "$MPISPOOL" "$MPISPOOL_RUN" "$CLUSTER_DIR/bin/"
    MPISPOOL=$CLUSTER_DIR/bin/$(basename "$MPISPOOL")
    MPISPOOL_RUN=$CLUSTER_DIR/bin/$(basename "$MPISPOOL_RUN")
    export MPISPOOL MPISPOOL_RUN
    mkdir -p /run/sshd # sshd's privilege separation directory
    ssh-keygen -q -t ed25519 -N '' -f "$CLUSTER_DIR/user_key"
    cp "$CLUSTER_DIR/user_key.pub" "$CLUSTER_DIR/authorized_keys"
    CLUSTER_SSH_CONFIG=$CLUSTER_DIR/ssh_config
    {
        for i in $(seq 1 "$n"); do
            printf 'Host h%d\n  HostName %s\n' "$i" "$(cluster_ip "h$i")"
        done
        cat <<EOF
Host *
  User root
  IdentityFile $CLUSTER_DIR/user_key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  GlobalKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
  ServerAliveInterval 2
  ServerAliveCountMax 3
EOF
    } >"$CLUSTER_SSH_CONFIG"
    CLUSTER_SSH="ssh -F $CLUSTER_SSH_CONFIG"
    export CLUSTER_SSH CLUSTER_SSH_CONFIG CLUSTER_DIR

    ip link add "$CLUSTER_BRIDGE" type bridge
    ip link set "$CLUSTER_BRIDGE" up
    ip addr add "$CLUSTER_PREFIX.1/24" dev "$CLUSTER_BRIDGE"
    for i in $(seq 1 "$n"); do cluster_add_host "h$i"; done
    for i in $(seq 1 "$n"); do
        host=h$i
        wait_until 20 cluster_answers "$host" || {
            cat "$CLUSTER_DIR/$host/sshd.log" >&2 || true
            fail "$host does not answer ssh"
        }
        assert_eq "$host" "$(cluster_ssh "$host" hostname)" "hostname of $host"
    done
    log "lab of $n hosts up: ${CLUSTER_HOSTS[*]} on $CLUSTER_SUBNET (rank 0: $(hostname), root namespace)"
}

# cluster_ssh HOST CMD...: run CMD on HOST.
cluster_ssh() {
    local host=$1
    shift
    timeout -k 2 15 ssh -F "$CLUSTER_SSH_CONFIG" "$host" "$@"
}

cluster_answers() {
    timeout -k 2 8 ssh -F "$CLUSTER_SSH_CONFIG" "$1" true >/dev/null 2>&1
}

# cluster_cut HOST: pull HOST's cable (its veth end on the bridge goes
# down); its sshd and processes keep running, unreachable.
cluster_cut() {
    ip link set "$(cluster_veth "$1")" down
}

# cluster_net_args: mpirun options that keep Open MPI's TCP traffic on the
# lab's subnet, one a line (for mapfile).
cluster_net_args() {
    printf '%s\n' --mca btl self,vader,tcp \
        --mca btl_tcp_if_include "$CLUSTER_SUBNET" \
        --mca oob_tcp_if_include "$CLUSTER_SUBNET"
}

# cluster_mpirun_args: those and ssh with the test's config.
cluster_mpirun_args() {
    printf '%s\n' --mca plm_rsh_agent "$CLUSTER_SSH"
    cluster_net_args
}
