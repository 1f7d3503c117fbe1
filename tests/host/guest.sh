#!/bin/bash
# The host tier's test, run INSIDE the QEMU guest (root, from the 9p share
# /mnt/host, started by tests/host/run.sh). Output goes to result.log on the
# share; the exit code is the number of failed checks.
#
# One network namespace per node of tests/host/mesh.toml, each a "host" of
# its own: a private mount namespace with /etc/hortus (key, plan.json),
# /etc/systemd/network (exactly the files `hortus render --format networkd`
# wrote), /etc/sysctl.d (hortus' 60-hortus.conf, applied with systemd-sysctl
# as a Debian host does: nothing sets a node's sysctls by hand), a private
# /run, a D-Bus system bus and its own systemd-networkd, which creates the
# kernel WireGuard interfaces and the dummy anchor. Then BIRD 3, and
# afterwards babeld, on the rendered configs.
set -u
SHARE=$(cd "$(dirname "$0")" && pwd)
export PATH="$SHARE/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
S=/srv/hortus-host
NODES=(alpha beta gamma delta)
declare -A UNDERLAY=()
declare -A ULA=()
declare -A KEYFILE=()
declare -A HOLDER=()
PASS=0 FAIL=0
PHASES="bird babeld lifecycle exit endpoints"
# run.sh may narrow the phases (HORTUS_HOST_PHASES) for development.
[ -f "$SHARE/env" ] && . "$SHARE/env"

now_us() { echo "${EPOCHREALTIME/./}"; }
T0=$(now_us)
# elapsed [START_US]: seconds since START_US (default: the test's start), 0.1 s.
elapsed() {
    local d=$(($(now_us) - ${1:-$T0}))
    printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10))
}
ok() { echo "PASS: $* [$(elapsed)]"; PASS=$((PASS + 1)); }
ko() { echo "FAIL: $* [$(elapsed)]"; FAIL=$((FAIL + 1)); }
chk() { local d=$1; shift; if "$@"; then ok "$d"; else ko "$d"; return 1; fi; }
sec() { echo; echo "===== $* (t=$(elapsed)s, uptime $(cut -d' ' -f1 /proc/uptime)s)"; }
# wait_for SECONDS CMD...: polls CMD every 0.2 s; prints the seconds it took
# or "timeout".
wait_for() {
    local limit=$(($1 * 1000000)) t0
    shift
    t0=$(now_us)
    while ! "$@" >/dev/null 2>&1; do
        if [ $(($(now_us) - t0)) -gt "$limit" ]; then
            echo "timeout"
            return 1
        fi
        sleep 0.2
    done
    elapsed "$t0"
}

# Runs a command in node $1's namespaces (network + its private mounts).
in_node() { local n=$1; shift; nsenter -t "${HOLDER[$n]}" -m -n -- "$@"; }
plan() { jq -r "$2" "$S/$1/etc/plan.json"; }
links() { plan "$1" '.node.links[].interface'; }

# ------------------------------------------------------------------ setup

# A public node: namespace $1 with eth0 on the underlay bridge at $2.
add_public_node() {
    local n=$1
    UNDERLAY[$n]=$2
    ip netns add "$n"
    ip link add eth0 netns "$n" type veth peer name "v-$n" netns internet
    ip -n internet link set "v-$n" master br0 up
    ip -n "$n" addr add "$2/24" dev eth0
    ip -n "$n" link set eth0 up
    ip -n "$n" link set lo up
}

underlay() {
    ip netns add internet
    ip -n internet link add br0 type bridge
    ip -n internet link set br0 up
    add_public_node alpha 192.0.2.10
    add_public_node beta 192.0.2.11
    add_public_node gamma 192.0.2.12
    # delta sits behind a masquerading router with no inbound path.
    ip netns add delta-nat
    ip netns add delta
    ip link add wan netns delta-nat type veth peer name v-delta netns internet
    ip -n internet link set v-delta master br0 up
    ip link add lan netns delta-nat type veth peer name eth0 netns delta
    ip -n delta-nat addr add 192.0.2.100/24 dev wan
    ip -n delta-nat addr add 10.0.3.1/24 dev lan
    ip -n delta-nat link set wan up
    ip -n delta-nat link set lan up
    ip -n delta addr add 10.0.3.2/24 dev eth0
    ip -n delta link set eth0 up
    ip -n delta link set lo up
    ip -n delta route add default via 10.0.3.1
    # delta-nat is the underlay's home router, not a mesh host: hortus
    # renders nothing for it, so its forwarding is the tier's to set.
    ip netns exec delta-nat sysctl -qw net.ipv4.ip_forward=1
    chk "delta-nat: nftables masquerade, no inbound path" ip netns exec delta-nat nft -f - <<'EOF'
table ip nat {
    chain postrouting { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }
}
table inet filter {
    chain forward { type filter hook forward priority 0; policy drop;
        ct state established,related accept; iifname "lan" accept; }
}
EOF
}

# new_key NODE [FILE]: a fresh private key in the node's /etc/hortus
# (0640 root:systemd-network, as systemd-networkd reads it); prints the
# public key.
new_key() {
    local f=$S/$1/etc/${2:-key}
    mkdir -p "$S/$1/etc" "$S/$1/network"
    install -m 0640 -g systemd-network /dev/null "$f"
    wg genkey > "$f"
    wg pubkey < "$f"
}
keys() {
    local n
    cp "$SHARE/mesh.toml" "$S/mesh.toml"
    for n in "${NODES[@]}"; do
        sed -i "s|@$n@|$(new_key "$n")|" "$S/mesh.toml"
    done
}

# render NODE INVENTORY [extra render args]: hortus' files for NODE, and the
# networkd and sysctl.d files installed into the directories the node's
# networkd and systemd-sysctl read (its /etc/systemd/network, /etc/sysctl.d).
render() {
    local n=$1 inv=$2; shift 2
    hortus render "$inv" --host "$n" --format all -o "$S/$n/out" \
        --private-key-file "/etc/hortus/${KEYFILE[$n]:-key}" --hortus "$(command -v hortus)" \
        --babeld-pid-file /run/babeld.pid --babeld-state-file /run/babeld.state \
        --babeld-local-path /run/babeld.sock "$@" 2>/dev/null &&
        hortus plan "$inv" --host "$n" -o "$S/$n/etc/plan.json" 2>/dev/null || return 1
    rm -f "$S/$n/network/"*
    cp -p "$S/$n/out/networkd/"* "$S/$n/network/"
    mkdir -p "$S/$n/sysctl.d"
    rm -f "$S/$n/sysctl.d/"*
    cp -p "$S/$n/out/sysctl.d/"* "$S/$n/sysctl.d/" || return 1
    ULA[$n]=$(plan "$n" .node.address)
}

# A long-lived holder process keeps node $1's mount namespace: the network
# namespace's sysfs read-only (networkd then does not wait for udev),
# /etc/hortus, /etc/systemd/network and /etc/sysctl.d bound to the node's
# directories, a private /run. Then, in a host's boot order, systemd-sysctl,
# a D-Bus system bus and systemd-networkd in it.
start_host() {
    local n=$1
    rm -f "$S/$n/holder.pid"
    ip netns exec "$n" unshare -m --propagation private bash -c '
        S=$1 n=$2
        mount -o remount,ro /sys 2>/dev/null || mount -t sysfs -o ro sysfs /sys
        mount --bind "$S/$n/etc" /etc/hortus
        mount --bind "$S/$n/network" /etc/systemd/network
        mount --bind "$S/$n/sysctl.d" /etc/sysctl.d
        mount -t tmpfs -o mode=0755 tmpfs /run
        mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp /run/dbus
        chown -R systemd-network:systemd-network /run/systemd/netif
        echo $$ > "$S/$n/holder.pid"
        exec sleep infinity' holder "$S" "$n" </dev/null >/dev/null 2>&1 &
    wait_for 10 test -s "$S/$n/holder.pid" >/dev/null
    HOLDER[$n]=$(cat "$S/$n/holder.pid")
    sysctl_boot "$n"
    in_node "$n" dbus-daemon --system --fork
    start_networkd "$n"
}

# sysctl_boot NODE: what systemd-sysctl.service does at boot, before the
# network, and what a host runs after its /etc/sysctl.d changed: every
# sysctl.d file, i.e. the node's /etc/sysctl.d (hortus' 60-hortus.conf) and
# Debian's /usr/lib/sysctl.d. The net.* keys are per network namespace, so
# they land in the node's; keys of interfaces that do not exist yet are
# skipped with a warning (udev applies them when the interface appears:
# sysctl_links).
sysctl_boot() {
    local out
    out=$(in_node "$1" /usr/lib/systemd/systemd-sysctl 2>&1) || { ko "$1: systemd-sysctl failed: $out"; return 1; }
    [ -z "$out" ] || echo "$out" | sed "s/^/  $1: systemd-sysctl: /"
}
# sysctl_links NODE: what udev's 99-systemd.rules runs for each network
# interface that appears (the nodes have no udev of their own), for every
# planned link: systemd-sysctl limited to the interface's keys.
sysctl_links() {
    local i args=()
    for i in $(links "$1"); do
        args+=("--prefix=/net/ipv4/conf/$i" "--prefix=/net/ipv4/neigh/$i" "--prefix=/net/ipv6/conf/$i" "--prefix=/net/ipv6/neigh/$i")
    done
    in_node "$1" /usr/lib/systemd/systemd-sysctl "${args[@]}"
}
# sysctl_held NODE: every key of the node's installed 60-hortus.conf has its
# value in the node's namespace (read from /proc/sys; in a key, a `/` stands
# for a dot in an interface name); prints the keys that differ.
sysctl_held() {
    in_node "$1" bash -c '
        n=0 bad=0 re="^[[:space:]]*([^#;[:space:]=][^[:space:]=]*)[[:space:]]*=[[:space:]]*(.*[^[:space:]])"
        while IFS= read -r line; do
            [[ $line =~ $re ]] || continue
            key=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]} n=$((n + 1))
            p=${key//./:}; p=${p//\//.}; p=/proc/sys/${p//://}
            { got=$(<"$p"); } 2>/dev/null || got="(no such key)"
            [ "$got" = "$want" ] || { echo "  $key = $got, rendered $want"; bad=1; }
        done < /etc/sysctl.d/60-hortus.conf || exit 1
        [ "$n" -gt 0 ] && [ "$bad" = 0 ]'
}
sysctl_keys() { grep -cE '^[^#;[:space:]]' "$S/$1/sysctl.d/60-hortus.conf"; }

start_networkd() {
    local n=$1
    in_node "$n" env SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_TIME=1 \
        /lib/systemd/systemd-networkd >> "$S/$n/networkd.log" 2>&1 </dev/null &
    echo $! > "$S/$n/networkd.pid"
}

# Every interface the node's plan names exists, of the right kind, up.
host_up() {
    local n=$1 i
    in_node "$n" ip -6 addr show dev "$(plan "$n" .node.anchor)" | grep -q "${ULA[$n]}/128" || return 1
    for i in $(links "$n"); do
        in_node "$n" ip -6 addr show dev "$i" | grep -q "inet6 ${ULA[$n]} peer" || return 1
    done
}

# ---------------------------------------------------------------- checks

# The route the kernel picks from $1 to $2's ULA: installed by the routing
# daemon (protocol $PROTO), source $1's ULA; with $3, over interface $3.
# (Matched with bash's own regexes: every process costs under TCG.)
route_ok() {
    local r
    r=$(in_node "$1" ip -6 route get "${ULA[$2]}" 2>/dev/null) || return 1
    [[ $r =~ \ proto\ ($PROTO)\ src\ ${ULA[$1]}\  ]] || return 1
    [ -z "${3:-}" ] || [[ $r == *" dev $3 "* ]]
}
route_not_via() {
    local r
    r=$(in_node "$1" ip -6 route get "${ULA[$2]}" 2>/dev/null) || return 1
    [[ $r =~ \ proto\ ($PROTO)\ src\ ${ULA[$1]}\  ]] && [[ $r != *" dev $3 "* ]]
}
ping_ok() { in_node "$1" ping -6 -n -c 1 -W 2 "${ULA[$2]}" >/dev/null 2>&1; }
mesh_ok() {
    local a b
    for a in "${NODES[@]}"; do for b in "${NODES[@]}"; do
        [ "$a" = "$b" ] && continue
        route_ok "$a" "$b" && ping_ok "$a" "$b" || return 1
    done; done
}

# has_line TEXT REGEX: a line of TEXT matches REGEX as a whole.
has_line() {
    local line
    while IFS= read -r line; do [[ $line =~ ^$2$ ]] && return 0; done <<<"$1"
    return 1
}

# Every node's anchor is a dummy; every planned link is a kernel WireGuard
# interface with the planned MTU, listening on the pair port when it
# listens, and has a handshake with its peer.
check_links() {
    local n anchor kinds ports handshakes i mtu listen port peer
    for n in "${NODES[@]}"; do
        anchor=$(plan "$n" .node.anchor)
        kinds=$(in_node "$n" ip -d -o link show)
        ports=$(in_node "$n" wg show all listen-port)
        handshakes=$(in_node "$n" wg show all latest-handshakes)
        chk "$n: anchor $anchor is a dummy with ${ULA[$n]}" has_line "$kinds" "[0-9]+: $anchor: .* dummy .*"
        while IFS=$'\t' read -r i mtu listen port peer; do
            chk "$n/$i: kernel wireguard, mtu $mtu" has_line "$kinds" "[0-9]+: $i: .* mtu $mtu .* wireguard .*"
            if [ "$listen" = true ]; then
                chk "$n/$i: listens on the pair port $port" has_line "$ports" "$i"$'\t'"$port"
            fi
            chk "$n/$i: handshake with $peer" has_line "$handshakes" "$i"$'\t'"[^"$'\t'"]+"$'\t'"[1-9][0-9]*"
        done < <(plan "$n" '.node.links[] | [.interface, .mtu, .listen, .port, .peer] | @tsv')
    done
}

# Every ordered pair: the kernel's route is the daemon's with the planned
# source, the ULA answers, and the route settles on the direct tunnel
# (Babel's RTT-based cost may briefly prefer a detour under TCG's jitter).
check_reach() {
    local a b t
    for a in "${NODES[@]}"; do for b in "${NODES[@]}"; do
        [ "$a" = "$b" ] && continue
        chk "$a -> $b: kernel route to ${ULA[$b]} is $DAEMON's (proto $PROTO), src ${ULA[$a]}" route_ok "$a" "$b"
        chk "$a -> $b: ping ${ULA[$b]}" ping_ok "$a" "$b"
        t=$(wait_for 30 route_ok "$a" "$b" "wg-$b")
        chk "$a -> $b: route over the direct tunnel wg-$b (${t} s)" test "$t" != timeout ||
            in_node "$a" ip -6 route get "${ULA[$b]}"
    done; done
}

# `hortus status --json` on node $1, reading the running daemon's socket.
status_json() {
    in_node "$1" hortus status --plan /etc/hortus/plan.json --host "$1" --daemon "$DAEMON" \
        --bird-socket /run/bird.ctl --babeld-socket /run/babeld.sock --json "${@:2}"
}
# Node $1's status has no flag on any link or destination and read Babel.
status_clean() {
    local j
    j=$(status_json "$1") &&
        jq -e '.babel_error == null and ([.links[].flags[], .destinations[].flags[]] | length == 0)' <<<"$j" >/dev/null
}
# Every node's `hortus status` is clean (kernel WireGuard, the daemon's
# socket, netlink routes); a node's text report is shown when it is not.
check_status() {
    local n t
    for n in "${NODES[@]}"; do
        t=$(wait_for 30 status_clean "$n")
        chk "$n: hortus status: every link up, every node reached as planned, no flag ($t s)" test "$t" != timeout ||
            in_node "$n" hortus status --plan /etc/hortus/plan.json --host "$n" --daemon "$DAEMON" \
                --bird-socket /run/bird.ctl --babeld-socket /run/babeld.sock
    done
}
# During the alpha–beta cut: alpha's status shows wg-beta down, beta reached
# via another peer, and exits 3 (a planned link down too long; 2 would be
# a usage error) with --down-after 0.
status_shows_cut() {
    local j rc=0
    j=$(status_json alpha --down-after 0) || rc=$?
    [ "$rc" = 3 ] &&
        jq -e '(.links[] | select(.peer == "beta") | .up == false)
            and (.destinations[] | select(.node == "beta") | .reach.kind == "via")' <<<"$j" >/dev/null
}

# `hortus status --watch --json` log $1 shows beta detoured and, last,
# direct again.
watch_saw_cut() {
    jq -se '[.[] | select(.destination == "beta" and (.initial | not))] as $e
        | ($e | any(.detour)) and ($e | last | .direct)' "$1" >/dev/null
}

# Cuts the alpha–beta tunnel in the underlay (alpha drops UDP to and from
# beta), waits for both ends to route around it, heals it, waits for the
# direct route to come back; `hortus status --watch` on alpha logs it all.
check_failover() {
    local t watch_log="$S/watch.$DAEMON.jsonl" watcher
    in_node alpha hortus status --watch --json --for 600 --plan /etc/hortus/plan.json --host alpha >"$watch_log" &
    watcher=$!
    sleep 1
    in_node alpha nft -f - <<EOF
table inet hortus_cut {
    chain out { type filter hook output priority 0; ip daddr ${UNDERLAY[beta]} meta l4proto udp drop; }
    chain in { type filter hook input priority 0; ip saddr ${UNDERLAY[beta]} meta l4proto udp drop; }
}
EOF
    t=$(wait_for 60 route_not_via alpha beta wg-beta)
    chk "cut alpha–beta: alpha routes to beta around the cut ($t s)" test "$t" != timeout
    if [ "$DAEMON" = bird ]; then
        # 100 ms hellos, limit 11 (or hortus failover when the plan probes):
        # about a second in the lab; the emulated guest polls slowly, and
        # the 1 s hellos of plan format 6 took 6-7 s.
        chk "cut alpha–beta: with BIRD's defaults, alpha's detour within 5 s ($t s)" \
            awk -v t="$t" 'BEGIN { exit !(t != "timeout" && t < 5) }'
    fi
    t=$(wait_for 60 route_not_via beta alpha wg-alpha)
    chk "cut alpha–beta: beta routes to alpha around the cut (+$t s)" test "$t" != timeout
    chk "cut alpha–beta: alpha -> beta ping over the detour" ping_ok alpha beta
    chk "cut alpha–beta: beta -> alpha ping over the detour" ping_ok beta alpha
    t=$(wait_for 30 status_shows_cut)
    chk "cut alpha–beta: hortus status on alpha: wg-beta down, beta via a detour, exit 3 with --down-after 0 ($t s)" \
        test "$t" != timeout || status_json alpha
    echo "alpha -> beta during the cut: $(in_node alpha ip -6 route get "${ULA[beta]}")"
    in_node alpha nft delete table inet hortus_cut
    t=$(wait_for 90 route_ok alpha beta wg-beta)
    chk "heal alpha–beta: alpha routes to beta over wg-beta again ($t s)" test "$t" != timeout
    t=$(wait_for 60 route_ok beta alpha wg-alpha)
    chk "heal alpha–beta: beta routes to alpha over wg-alpha again (+$t s)" test "$t" != timeout
    chk "heal alpha–beta: alpha -> beta ping" ping_ok alpha beta
    kill "$watcher" 2>/dev/null
    wait "$watcher" 2>/dev/null
    chk "hortus status --watch on alpha: beta detoured during the cut, direct again after the heal" \
        watch_saw_cut "$watch_log" || cat "$watch_log"
}

# daemon_phase NAME: routes, reachability and failover with the daemon running.
daemon_phase() {
    local t
    t=$(wait_for 90 mesh_ok)
    chk "$DAEMON: every node routes to and reaches every other node ($t s after start)" test "$t" != timeout
    [ "$t" = timeout ] && dump_state
    check_reach
    check_status
    check_failover
}

dump_state() {
    local n
    for n in "${NODES[@]}"; do
        echo "--- $n"
        in_node "$n" ip route show
        in_node "$n" ip -6 route show
        in_node "$n" wg show all
    done
    ip netns exec delta-nat nft list ruleset
    ip netns exec delta-nat ip route
    echo "--- delta networkd log"; cat "$S/delta/networkd.log"
}

# With BIRD, each node also runs its rendered hortus-failover.service's
# command when the plan probes links (its RuntimeDirectory is
# /run/hortus-failover).
declare -A FAILOVER=()
start_bird() {
    local n unit
    for n in "${NODES[@]}"; do
        chk "$n: bird -p accepts the rendered bird.conf" in_node "$n" bird -p -c "$S/$n/out/bird.conf"
        in_node "$n" bird -c "$S/$n/out/bird.conf" -s /run/bird.ctl -P /run/bird.pid
        unit=$S/$n/out/failover/hortus-failover.service
        [ -f "$unit" ] || continue
        in_node "$n" sh -c "exec $(sed -n 's/^ExecStart=//p' "$unit")" >>"$S/$n/failover.log" 2>&1 &
        FAILOVER[$n]=$!
    done
}
stop_bird() {
    local n
    for n in "${NODES[@]}"; do
        [ -n "${FAILOVER[$n]:-}" ] && kill "${FAILOVER[$n]}" 2>/dev/null && wait "${FAILOVER[$n]}" 2>/dev/null
        FAILOVER[$n]=
        in_node "$n" birdc -s /run/bird.ctl down >/dev/null
    done
}
start_babeld() {
    local n
    for n in "${NODES[@]}"; do
        in_node "$n" babeld -D -c "$S/$n/out/babeld.conf"
    done
}

# ------------------------------------------------------------- lifecycle
# What a host does on a configuration change, in the NixOS module's order:
# new files, systemd-networkd, `hortus reconcile`, then `birdc configure`.

# The WireGuard interfaces node $1's kernel has / its plan has, sorted.
live_links() { in_node "$1" ip -br link show type wireguard | awk '{print $1}' | sed 's/@.*//' | sort | tr '\n' ' '; }
planned_links() { links "$1" | sort | tr '\n' ' '; }

# apply NODE INVENTORY: render + install, systemd-sysctl, `hortus reconcile`
# (and udev's systemd-sysctl on the interfaces), `birdc configure`.
apply() {
    local n=$1 pid out t0 t1 ts t2
    t0=$(now_us)
    render "$n" "$2" || { ko "$n: hortus render"; return 1; }
    t1=$(now_us)
    # The host's configuration management reloads its sysctl.d.
    sysctl_boot "$n"
    ts=$(now_us)
    out=$(in_node "$n" hortus reconcile 2>&1) || ko "$n: hortus reconcile failed: $out"
    t2=$(now_us)
    # udev on the interfaces networkd (re)created.
    sysctl_links "$n"
    echo "$out" | sed "s/^/  $n: /"
    pid=$(in_node "$n" cat /run/bird.pid)
    out=$(in_node "$n" birdc -s /run/bird.ctl configure 2>&1)
    # "Reconfiguration in progress" when protocols restart for new channels.
    if [[ $out == *Reconfigur* ]] && [ "$(in_node "$n" cat /run/bird.pid)" = "$pid" ] &&
        in_node "$n" kill -0 "$pid"; then
        ok "$n: birdc configure reloaded BIRD in place (pid $pid)"
    else
        ko "$n: birdc configure did not reload BIRD in place: $(tr '\n' ' ' <<< "$out")"
    fi
    echo "  $n: took $(elapsed "$t0") s (done at ${EPOCHREALTIME}): render $(((t1 - t0) / 1000)) ms, systemd-sysctl $(((ts - t1) / 1000)) ms, reconcile $(((t2 - ts) / 1000)) ms"
}

# After a change: no stale or missing interface anywhere, every pair routed
# by Babel with the planned source, every link handshaking; with a second
# argument also every link's kind, MTU and port (check_links).
converged_as_planned() {
    local n t
    for n in "${NODES[@]}"; do
        chk "$1: $n has exactly the planned WireGuard interfaces: $(planned_links "$n")" \
            test "$(live_links "$n")" = "$(planned_links "$n")" || echo "  live: $(live_links "$n")"
        chk "$1: $n: the $(sysctl_keys "$n") keys of its rendered sysctl.d/60-hortus.conf hold" sysctl_held "$n"
    done
    t=$(wait_for 90 mesh_ok)
    chk "$1: every node routes to and reaches every other node ($t s)" test "$t" != timeout || dump_state
    # A restarted networkd replaces a link's peer: the session restarts when
    # the far end notices (up to ~15 s of unanswered data for WireGuard).
    t=$(wait_for 40 all_handshaken)
    chk "$1: every link has a handshake ($t s)" test "$t" != timeout
    [ -z "${2:-}" ] || check_links
}
all_handshaken() {
    local n
    for n in "${NODES[@]}"; do
        ! in_node "$n" wg show all latest-handshakes | grep -q $'\t0$' || return 1
    done
}

# ping_start FROM TO SECONDS: a 5/s ping in the background ($! is its pid;
# -c, not a -w deadline, so that no reply still in flight counts as lost);
# each reply and each missing one (-O) logged with its time (-D);
# ping_wait PID: waits for it (in this shell: a subshell cannot wait for
# it, and would read a ping still running), then sets LOST to lost/sent.
ping_start() { in_node "$1" ping -6 -n -D -O -i 0.2 -W 2 -c $(($3 * 5)) "${ULA[$2]}" > "$S/ping.out" 2>&1 & }
ping_wait() { wait "$1"; LOST=$(awk '/transmitted/{print $1 - $4 "/" $1}' "$S/ping.out"); }
# What ping said besides its replies (unanswered pings with their times,
# errors, the summary), for a failed check.
ping_losses() { grep -v 'bytes from' "$S/ping.out"; }

lifecycle() {
    local n pid lost key
    DAEMON=bird PROTO=bird

    sec "lifecycle 1: add a node (epsilon, public)"
    add_public_node epsilon 192.0.2.14
    printf '\n[nodes.epsilon]\nid = 4\npublic_key = "%s"\nendpoints = ["192.0.2.14"]\n' \
        "$(new_key epsilon)" >> "$S/mesh.toml"
    NODES+=(epsilon)
    render epsilon "$S/mesh.toml"
    start_host epsilon
    wait_for 30 host_up epsilon >/dev/null
    sysctl_links epsilon
    in_node epsilon bird -c "$S/epsilon/out/bird.conf" -s /run/bird.ctl -P /run/bird.pid
    for n in alpha beta gamma delta; do apply "$n" "$S/mesh.toml"; done
    converged_as_planned "add epsilon"

    sec "lifecycle 2: remove a node (gamma)"
    # gamma is switched off; the others get an inventory without it.
    in_node gamma birdc -s /run/bird.ctl down >/dev/null
    kill "$(cat "$S/gamma/networkd.pid")"
    ip -n gamma link set eth0 down
    NODES=(alpha beta delta epsilon)
    awk '/^\[nodes\.gamma\]/{skip=1; next} /^\[/{skip=0} !skip' "$S/mesh.toml" > "$S/mesh.next"
    mv "$S/mesh.next" "$S/mesh.toml"
    # systemd-networkd alone (new files + reload) keeps the old interface.
    render alpha "$S/mesh.toml"
    in_node alpha networkctl reload
    sleep 2
    chk "remove gamma: with new files and networkctl reload alone, alpha still has wg-gamma (what reconcile is for)" \
        in_node alpha ip link show wg-gamma
    echo "alpha -> beta before the change: $(in_node alpha ip -6 route get "${ULA[beta]}" 2>&1)"
    ping_start alpha beta 8
    pid=$!
    for n in "${NODES[@]}"; do apply "$n" "$S/mesh.toml"; done
    ping_wait "$pid"
    lost=$LOST
    chk "remove gamma: no ping lost alpha -> beta during the change (lost/sent $lost)" test "${lost%/*}" = 0 ||
        ping_losses
    converged_as_planned "remove gamma"

    sec "lifecycle 3: change the ports (base_port), alpha's MTU and key path (a new key)"
    local old_ll
    old_ll=$(plan alpha '.node.links[] | select(.peer == "beta") | .addresses[0].address')
    key=$(new_key alpha key-2)
    KEYFILE[alpha]=key-2
    awk -v key="$key" '
        /^base_port = 51800$/ { print "base_port = 52800"; next }
        /^\[nodes\.alpha\]/ { a = 1 }
        a && /^public_key/ { print "public_key = \"" key "\""; print "mtu = 1400"; a = 0; next }
        { print }' "$S/mesh.toml" > "$S/mesh.next"
    mv "$S/mesh.next" "$S/mesh.toml"
    # NixOS restarts networkd when a .netdev changed; then reconcile runs.
    for n in "${NODES[@]}"; do
        render "$n" "$S/mesh.toml"
        kill "$(cat "$S/$n/networkd.pid")"
    done
    sleep 1
    for n in "${NODES[@]}"; do start_networkd "$n"; done
    sleep 3
    echo "after the networkd restart, before reconcile: alpha/wg-beta mtu $(in_node alpha cat /sys/class/net/wg-beta/mtu), planned $(plan alpha '.node.links[] | select(.peer == "beta") | .mtu'); port $(in_node alpha wg show wg-beta listen-port), planned $(plan alpha '.node.links[] | select(.peer == "beta") | .port')"
    chk "change: a networkd restart alone leaves alpha/wg-beta at the old MTU (what reconcile is for)" \
        test "$(in_node alpha cat /sys/class/net/wg-beta/mtu)" != "$(plan alpha '.node.links[] | select(.peer == "beta") | .mtu')"
    for n in "${NODES[@]}"; do apply "$n" "$S/mesh.toml"; done
    converged_as_planned "change" links
    chk "change: alpha's links use the new key from /etc/hortus/key-2" \
        test "$(in_node alpha wg show wg-beta public-key)" = "$key"
    if [ -n "${FAILOVER[alpha]:-}" ]; then
        # The new key moved alpha's link-locals: its prober follows the
        # changed plan file, never putting the old ones back.
        chk "change: hortus failover on alpha followed the changed plan" grep -q "the plan changed: probing" "$S/alpha/failover.log"
        sleep 2
        chk "change: alpha's old link-local $old_ll stays gone from wg-beta" \
            sh -c "! nsenter -t ${HOLDER[alpha]} -n ip -6 addr show dev wg-beta | grep -q '$old_ll/'"
    fi
}

# exit_phase: the mesh gains an IPv4 overlay, alpha becomes an exit and
# delta (behind NAT) uses it, every node changed the way `apply` changes
# one, plus the rendered perimeter table loaded as its unit would
# (`nft -f`). An Internet address, 203.0.113.1 on the underlay's bridge, is
# reached by alpha's and delta-nat's default routes (their providers');
# nftables there count who its echo requests come from.
exit_phase() {
    local n t fam want got
    DAEMON=bird PROTO=bird
    ip -n internet addr add 192.0.2.1/24 dev br0
    ip -n internet addr add 203.0.113.1/32 dev br0
    ip -n alpha route replace default via 192.0.2.1
    ip -n delta-nat route replace default via 192.0.2.1
    ip netns exec internet nft -f - <<'EOF'
table inet seen {
    chain input { type filter hook input priority 0; policy accept;
        ip daddr 203.0.113.1 icmp type echo-request ip saddr 192.0.2.10 counter comment "alpha"
        ip daddr 203.0.113.1 icmp type echo-request ip saddr != 192.0.2.10 counter comment "other"
    }
}
EOF
    awk '
        /^\[mesh\]$/ { print; print "ipv4_prefix = \"10.42.0.0/24\""; next }
        /^\[nodes\.alpha\]$/ { print; print "exit = true"; next }
        /^\[nodes\.delta\]$/ { print; print "use_exit = true"; next }
        { print }' "$S/mesh.toml" > "$S/mesh-exit.toml"
    for n in "${NODES[@]}"; do
        apply "$n" "$S/mesh-exit.toml"
        chk "$n: nft loads the rendered perimeter table (firewall/hortus-firewall.nft)" \
            in_node "$n" nft -f "$S/$n/out/firewall/hortus-firewall.nft"
    done
    converged_as_planned "exit"
    for fam in ipv4 ipv6; do
        want=$(plan delta "[.node.policy_routing.rules[] | select(.family == \"$fam\")] | length")
        got=$(in_node delta ip "-${fam#ipv}" rule show | grep -cE '^327[0-3]0:')
        chk "delta: networkd applied the plan's $want $fam policy rules ($got)" test "$want" = "$got"
    done
    in_node delta ip -4 rule show | sed 's/^/  delta: /'
    chk "delta: its own traffic but WireGuard's looks up table 66" \
        sh -c "nsenter -t ${HOLDER[delta]} -n ip -4 rule show | grep -q 'not from all fwmark 0x1a28 lookup 66'"
    chk "delta: WireGuard marks its packets (networkd FirewallMark=6696)" \
        test "$(in_node delta wg show wg-alpha fwmark)" = 0x1a28
    t=$(wait_for 60 sh -c "nsenter -t ${HOLDER[delta]} -n ip -4 route show table 66 | grep -q '^default via .* proto bird'")
    chk "delta: BIRD installed the exit's default route in table 66 ($t s)" test "$t" != timeout
    in_node delta ip -4 route show table 66 | sed 's/^/  delta table 66: /'
    chk "delta: its main table's default stays its uplink's" \
        sh -c "nsenter -t ${HOLDER[delta]} -n ip -4 route show default | grep -q 'via 10.0.3.1'"
    chk "delta reaches 203.0.113.1 through the mesh" in_node delta ping -4 -n -c 3 -i 0.3 -W 2 203.0.113.1 || {
        for n in alpha delta; do
            echo "--- $n"; in_node "$n" ip -4 addr; in_node "$n" ip -4 route; in_node "$n" ip -4 route show table 66
        done
    }
    got=$(ip netns exec internet nft list chain inet seen input)
    echo "$got" | grep counter | sed 's/^/  internet: /'
    chk "the Internet sees delta's pings from the exit alpha, none from elsewhere" \
        seen_from_alpha_only "$got"
    sleep 5
    t=$(wait_for 40 all_handshaken)
    chk "exit: every link still has a handshake with delta using the exit ($t s)" test "$t" != timeout
    t=$(wait_for 60 mesh_ok)
    chk "exit: every node still routes to and reaches every other ($t s)" test "$t" != timeout || dump_state
}
# endpoints_phase: delta (behind NAT) dials alpha by a name its hosts file
# resolves; `hortus endpoints` runs in delta's namespace with kernel
# WireGuard. alpha moves to a new address and the name follows: delta's
# link finds it again with nothing restarted.
endpoints_phase() {
    local base t port old=192.0.2.10 new=192.0.2.20
    DAEMON=bird PROTO=bird
    base=$S/mesh.toml
    [ -f "$S/mesh-exit.toml" ] && base=$S/mesh-exit.toml
    awk -v old="$old" '
        /^\[mesh\]$/ { print; print "endpoints.switch_after_s = 10"; next }
        $0 == "endpoints = [\"" old "\"]" { print "endpoints = [\"alpha.mesh.test\"]"; next }
        { print }' "$base" > "$S/mesh-endpoints.toml"
    printf '127.0.0.1 localhost\n%s alpha.mesh.test\n' "$old" > "$S/delta/hosts"
    chk "delta: its own /etc/hosts (alpha.mesh.test)" in_node delta mount --bind "$S/delta/hosts" /etc/hosts
    apply delta "$S/mesh-endpoints.toml"
    chk "delta: the plan says it switches endpoints" test "$(plan delta .node.switches_endpoints)" = true
    port=$(plan delta '.node.links[] | select(.peer == "alpha") | .port')
    chk "delta: networkd's Endpoint is the name" grep -q "^Endpoint=alpha.mesh.test:$port$" "$S/delta/network/20-wg-alpha.netdev"
    t=$(wait_for 30 sh -c "nsenter -t ${HOLDER[delta]} -m -n wg show wg-alpha endpoints | grep -q $old:$port")
    chk "delta: networkd resolved it to $old ($t s)" test "$t" != timeout
    in_node delta sh -c 'exec hortus endpoints --plan /etc/hortus/plan.json' > "$S/delta/endpoints.log" 2>&1 &
    local watcher=$!
    t=$(wait_for 60 mesh_ok)
    chk "endpoints: every node routes to and reaches every other before the move ($t s)" test "$t" != timeout
    # alpha moves; its name follows. (The old address goes first: deleting
    # a primary address also deletes its secondaries.)
    ip -n alpha addr del "$old/24" dev eth0
    ip -n alpha addr add "$new/24" dev eth0
    ip -n alpha route replace default via 192.0.2.1 2>/dev/null
    chk "alpha: moved to $new" sh -c "ip -n alpha -4 -br addr show dev eth0 | grep -q ' $new/24'"
    printf '127.0.0.1 localhost\n%s alpha.mesh.test\n' "$new" > "$S/delta/hosts"
    t=$(wait_for 60 sh -c "nsenter -t ${HOLDER[delta]} -m -n wg show wg-alpha endpoints | grep -q $new:$port")
    chk "endpoints: delta re-dials the moved alpha at $new after its link went quiet ($t s, switch_after_s 10)" test "$t" != timeout
    chk "endpoints: the move is logged" grep -q "wg-alpha: nothing received for .* -> $new:$port" "$S/delta/endpoints.log"
    sed 's/^/  delta endpoints: /' "$S/delta/endpoints.log"
    t=$(wait_for 60 sh -c "nsenter -t ${HOLDER[delta]} -n ping -6 -n -c 1 -W 1 -I wg-alpha ${ULA[alpha]}")
    chk "endpoints: delta reaches alpha over their direct link again ($t s)" test "$t" != timeout
    if [ "$t" = timeout ]; then
        for n in delta alpha; do
            echo "--- $n: wg, link-locals, route to the other, failover log"
            in_node "$n" wg show all | sed "s/^/  /"
            in_node "$n" ip -6 addr show scope link | sed "s/^/  /"
            [ "$n" = delta ] && in_node delta ip -6 route get "${ULA[alpha]}" | sed "s/^/  /"
            [ "$n" = alpha ] && in_node alpha ip -6 route get "${ULA[delta]}" | sed "s/^/  /"
            tail -20 "$S/$n/failover.log" 2>/dev/null | sed "s/^/  /"
        done
    fi
    kill "$watcher" 2>/dev/null
}
# seen_from_alpha_only RULES: the "alpha" counter of the Internet's rules
# counted packets, the "other" one none.
seen_from_alpha_only() {
    grep 'comment "alpha"' <<< "$1" | grep -qv 'packets 0 ' && grep 'comment "other"' <<< "$1" | grep -q 'packets 0 '
}

# ------------------------------------------------------------------ run

sec "guest"
uname -r
grep PRETTY /etc/os-release
echo "systemd $(systemctl --version | head -1 | cut -d' ' -f2), $(bird --version 2>&1), babeld $(babeld -V 2>&1), hortus $(hortus --version)"
modprobe wireguard && modprobe dummy

sec "setup: underlay, keys, hortus render, one systemd-networkd per node"
mkdir -p "$S" /etc/hortus /etc/sysctl.d
underlay
keys
for n in "${NODES[@]}"; do
    chk "$n: hortus render + plan" render "$n" "$S/mesh.toml"
done
echo "alpha's networkd files: $(ls "$S/alpha/network" | tr '\n' ' ')"
for n in "${NODES[@]}"; do start_host "$n"; done
for n in "${NODES[@]}"; do
    t=$(wait_for 30 host_up "$n")
    chk "$n: networkd brought up the anchor and $(links "$n" | wc -l) WireGuard links ($t s)" test "$t" != timeout
    sysctl_links "$n"
done
for n in "${NODES[@]}"; do
    chk "$n: the rendered sysctl.d/60-hortus.conf turns on IPv6 forwarding" \
        grep -qE '^net[./]ipv6[./]conf[./]all[./]forwarding *= *1$' "$S/$n/sysctl.d/60-hortus.conf"
    chk "$n: the $(sysctl_keys "$n") keys of its rendered sysctl.d/60-hortus.conf hold in its namespace" sysctl_held "$n"
done

if [[ " $PHASES " == *" bird "* ]]; then
    sec "BIRD 3"
    DAEMON=bird PROTO=bird
    start_bird
    sleep 1
    check_links
    daemon_phase
    stop_bird
    sleep 1
    chk "BIRD's routes are gone after birdc down" sh -c "! nsenter -t ${HOLDER[alpha]} -n ip -6 route show proto bird | grep -q ."
fi
if [[ " $PHASES " == *" probe "* ]]; then
    sec "probe: what systemd-networkd does with changed and removed netdev files"
    f=$S/alpha/network
    show() { echo "$1: wg-beta port $(in_node alpha wg show wg-beta listen-port) mtu $(in_node alpha cat /sys/class/net/wg-beta/mtu) peer-endpoint $(in_node alpha wg show wg-delta endpoints | cut -f2) wg-gamma $(in_node alpha ip -br link show wg-gamma 2>&1 | cut -c1-40) wg-delta $(in_node alpha ip -br link show wg-delta 2>&1 | cut -c1-40) key $(in_node alpha wg show wg-beta public-key)"; }
    show before
    sed -i 's/^ListenPort=.*/ListenPort=40001/; s/^MTUBytes=.*/MTUBytes=1300/' "$f/20-wg-beta.netdev"
    rm "$f/20-wg-gamma.netdev" "$f/20-wg-gamma.network"
    in_node alpha networkctl reload; sleep 3
    show "after networkctl reload"
    in_node alpha ip link del wg-delta
    in_node alpha networkctl reload; sleep 3
    show "after ip link del wg-delta + reload"
    wg genkey > "$S/alpha/etc/key"
    in_node alpha networkctl reload; sleep 3
    show "after a new key + reload"
    kill "$(cat "$S/alpha/networkd.pid")"; sleep 1; start_networkd alpha; sleep 4
    show "after a networkd restart"
    tail -30 "$S/alpha/networkd.log"
fi
if [[ " $PHASES " == *" debug "* ]]; then
    sleep 5; dump_state
fi

if [[ " $PHASES " == *" babeld "* ]]; then
    sec "babeld"
    DAEMON=babeld PROTO='babel|42'
    start_babeld
    [[ " $PHASES " == *" bird "* ]] || { sleep 1; check_links; }
    daemon_phase
    # babeld has no config reload: NixOS restarts it when its config
    # changes. How long alpha's routes are gone across a restart:
    in_node alpha kill "$(in_node alpha cat /run/babeld.pid)"
    wait_for 10 sh -c "! nsenter -t ${HOLDER[alpha]} -n ip -6 route show proto babel | grep -q ." >/dev/null
    in_node alpha babeld -D -c "$S/alpha/out/babeld.conf"
    t=$(wait_for 60 mesh_ok)
    chk "babeld restarted on alpha (its routes withdrawn): every pair routed and answering again ($t s)" test "$t" != timeout
fi

if [[ " $PHASES " == *" lifecycle "* ]]; then
    # BIRD again (the BIRD phase stopped it), after babeld if that ran.
    if [[ " $PHASES " == *" babeld "* ]]; then
        for n in "${NODES[@]}"; do in_node "$n" kill "$(in_node "$n" cat /run/babeld.pid)"; done
        sleep 1
    fi
    start_bird
    lifecycle
fi

if [[ " $PHASES " == *" exit "* ]]; then
    sec "exit: an exit node and a use_exit node behind NAT"
    [[ " $PHASES " == *" lifecycle "* ]] || start_bird
    exit_phase
fi

if [[ " $PHASES " == *" endpoints "* ]]; then
    sec "endpoints: a peer's name moves to a new address"
    [[ " $PHASES " == *" lifecycle "* || " $PHASES " == *" exit "* ]] || start_bird
    endpoints_phase
fi

sec "networkd logs (warnings and errors)"
for n in "${NODES[@]}"; do
    grep -iE 'warn|error|fail|ignor' "$S/$n/networkd.log" | sed "s/^/$n: /" | head -20
done

sec "summary"
echo "guest test time: $(elapsed) s"
echo "RESULT: pass=$PASS fail=$FAIL"
exit "$FAIL"
