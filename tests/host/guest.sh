#!/bin/bash
# The host tier's test, run INSIDE the QEMU guest (root, from the 9p share
# /mnt/host, started by tests/host/run.sh). Output goes to result.log on the
# share; the exit code is the number of failed checks.
#
# One network namespace per node of tests/host/mesh.toml, each a "host" of
# its own: a private mount namespace with /etc/hortus (key, plan.json),
# /etc/systemd/network (exactly the files `hortus render --format networkd`
# wrote), a private /run, a D-Bus system bus and its own systemd-networkd,
# which creates the kernel WireGuard interfaces and the dummy anchor. Then
# BIRD 3, and afterwards babeld, on the rendered configs.
set -u
SHARE=$(cd "$(dirname "$0")" && pwd)
export PATH="$SHARE/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
S=/srv/hortus-host
NODES=(alpha beta gamma delta)
declare -A UNDERLAY=([alpha]=192.0.2.10 [beta]=192.0.2.11 [gamma]=192.0.2.12)
declare -A ULA=()
PASS=0 FAIL=0
PHASES="bird babeld lifecycle"
# run.sh may narrow the phases (HORTUS_HOST_PHASES) for development.
[ -f "$SHARE/env" ] && . "$SHARE/env"
T0=$(date +%s.%N)

ok() { echo "PASS: $*"; PASS=$((PASS + 1)); }
ko() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }
chk() { local d=$1; shift; if "$@"; then ok "$d"; else ko "$d"; return 1; fi; }
sec() { echo; echo "===== $* (t=$(elapsed)s, uptime $(cut -d' ' -f1 /proc/uptime)s)"; }
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - ${1:-$T0}}"; }
# wait_for SECONDS CMD...: polls CMD every 0.2 s; prints the seconds it took.
wait_for() {
    local limit=$1 t0; shift
    t0=$(date +%s.%N)
    while ! "$@" >/dev/null 2>&1; do
        if awk "BEGIN{exit !($(date +%s.%N) - $t0 > $limit)}"; then
            echo "timeout"; return 1
        fi
        sleep 0.2
    done
    elapsed "$t0"
}

# Runs a command in node $1's namespaces (network + its private mounts).
in_node() { local n=$1; shift; nsenter -t "$(cat "$S/$n/holder.pid")" -m -n -- "$@"; }
plan() { jq -r "$2" "$S/$1/etc/plan.json"; }
links() { plan "$1" '.node.links[].interface'; }

# ------------------------------------------------------------------ setup

underlay() {
    ip netns add internet
    ip -n internet link add br0 type bridge
    ip -n internet link set br0 up
    local n
    for n in alpha beta gamma; do
        ip netns add "$n"
        ip link add eth0 netns "$n" type veth peer name "v-$n" netns internet
        ip -n internet link set "v-$n" master br0 up
        ip -n "$n" addr add "${UNDERLAY[$n]}/24" dev eth0
        ip -n "$n" link set eth0 up
    done
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
    ip -n delta route add default via 10.0.3.1
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
    for n in "${NODES[@]}"; do
        ip -n "$n" link set lo up
        # What the NixOS module sets (nix/lib.nix sysctl): nodes forward
        # between their WireGuard links.
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.forwarding=1
    done
}

keys() {
    local n
    cp "$SHARE/mesh.toml" "$S/mesh.toml"
    for n in "${NODES[@]}"; do
        mkdir -p "$S/$n/etc" "$S/$n/network"
        install -m 0640 -g systemd-network /dev/null "$S/$n/etc/key"
        wg genkey > "$S/$n/etc/key"
        sed -i "s|@$n@|$(wg pubkey < "$S/$n/etc/key")|" "$S/mesh.toml"
    done
}

# render NODE INVENTORY [extra render args]: hortus' files for NODE, and the
# networkd files installed into the directory its networkd reads.
render() {
    local n=$1 inv=$2; shift 2
    hortus render "$inv" --host "$n" --format all -o "$S/$n/out" \
        --private-key-file /etc/hortus/key \
        --babeld-pid-file /run/babeld.pid --babeld-state-file /run/babeld.state "$@" 2>/dev/null &&
        hortus plan "$inv" --host "$n" -o "$S/$n/etc/plan.json" 2>/dev/null || return 1
    rm -f "$S/$n/network/"*
    cp -p "$S/$n/out/networkd/"* "$S/$n/network/"
    ULA[$n]=$(plan "$n" .node.address)
}

# A long-lived holder process keeps node $1's mount namespace: the network
# namespace's sysfs read-only (networkd then does not wait for udev),
# /etc/hortus and /etc/systemd/network bound to the node's directories, a
# private /run. Then a D-Bus system bus and systemd-networkd in it.
start_host() {
    local n=$1
    rm -f "$S/$n/holder.pid"
    ip netns exec "$n" unshare -m --propagation private bash -c '
        S=$1 n=$2
        mount -o remount,ro /sys 2>/dev/null || mount -t sysfs -o ro sysfs /sys
        mount --bind "$S/$n/etc" /etc/hortus
        mount --bind "$S/$n/network" /etc/systemd/network
        mount -t tmpfs -o mode=0755 tmpfs /run
        mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp /run/dbus
        chown -R systemd-network:systemd-network /run/systemd/netif
        echo $$ > "$S/$n/holder.pid"
        exec sleep infinity' holder "$S" "$n" </dev/null >/dev/null 2>&1 &
    wait_for 10 test -s "$S/$n/holder.pid" >/dev/null
    in_node "$n" dbus-daemon --system --fork
    start_networkd "$n"
}

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
route_ok() {
    local r
    r=$(in_node "$1" ip -6 route get "${ULA[$2]}" 2>/dev/null) || return 1
    echo "$r" | grep -Eq " proto ($PROTO) src ${ULA[$1]} " || return 1
    [ -z "${3:-}" ] || echo "$r" | grep -q " dev $3 "
}
route_not_via() {
    local r
    r=$(in_node "$1" ip -6 route get "${ULA[$2]}" 2>/dev/null) || return 1
    echo "$r" | grep -Eq " proto ($PROTO) src ${ULA[$1]} " && ! echo "$r" | grep -q " dev $3 "
}
ping_ok() { in_node "$1" ping -6 -n -c 1 -W 2 "${ULA[$2]}" >/dev/null 2>&1; }
mesh_ok() {
    local a b
    for a in "${NODES[@]}"; do for b in "${NODES[@]}"; do
        [ "$a" = "$b" ] && continue
        route_ok "$a" "$b" && ping_ok "$a" "$b" || return 1
    done; done
}

check_links() {
    local n i want
    for n in "${NODES[@]}"; do
        chk "$n: anchor $(plan "$n" .node.anchor) is a dummy with ${ULA[$n]}" \
            sh -c "nsenter -t $(cat "$S/$n/holder.pid") -n ip -d link show $(plan "$n" .node.anchor) | grep -qw dummy"
        for i in $(links "$n"); do
            want=$(plan "$n" ".node.links[] | select(.interface == \"$i\")")
            chk "$n/$i: kernel wireguard, mtu $(jq .mtu <<<"$want")" \
                sh -c "nsenter -t $(cat "$S/$n/holder.pid") -n ip -d link show $i | grep -q 'mtu $(jq .mtu <<<"$want") .*' &&
                       nsenter -t $(cat "$S/$n/holder.pid") -n ip -d link show $i | grep -qw wireguard"
            if [ "$(jq .listen <<<"$want")" = true ]; then
                chk "$n/$i: listens on the pair port $(jq .port <<<"$want")" \
                    test "$(in_node "$n" wg show "$i" listen-port)" = "$(jq .port <<<"$want")"
            fi
            chk "$n/$i: handshake with $(jq -r .peer <<<"$want")" handshake "$n" "$i"
        done
    done
}
handshake() {
    local t
    t=$(in_node "$1" wg show "$2" latest-handshakes | awk '{print $2}')
    [ -n "$t" ] && [ "$t" != 0 ]
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

# Cuts the alpha–beta tunnel in the underlay (alpha drops UDP to and from
# beta), waits for both ends to route around it, heals it, waits for the
# direct route to come back.
check_failover() {
    local t
    in_node alpha nft -f - <<EOF
table inet hortus_cut {
    chain out { type filter hook output priority 0; ip daddr ${UNDERLAY[beta]} meta l4proto udp drop; }
    chain in { type filter hook input priority 0; ip saddr ${UNDERLAY[beta]} meta l4proto udp drop; }
}
EOF
    t=$(wait_for 60 route_not_via alpha beta wg-beta)
    chk "cut alpha–beta: alpha routes to beta around the cut ($t s)" test "$t" != timeout
    t=$(wait_for 60 route_not_via beta alpha wg-alpha)
    chk "cut alpha–beta: beta routes to alpha around the cut (+$t s)" test "$t" != timeout
    chk "cut alpha–beta: alpha -> beta ping over the detour" ping_ok alpha beta
    chk "cut alpha–beta: beta -> alpha ping over the detour" ping_ok beta alpha
    echo "alpha -> beta during the cut: $(in_node alpha ip -6 route get "${ULA[beta]}")"
    in_node alpha nft delete table inet hortus_cut
    t=$(wait_for 90 route_ok alpha beta wg-beta)
    chk "heal alpha–beta: alpha routes to beta over wg-beta again ($t s)" test "$t" != timeout
    t=$(wait_for 60 route_ok beta alpha wg-alpha)
    chk "heal alpha–beta: beta routes to alpha over wg-alpha again (+$t s)" test "$t" != timeout
    chk "heal alpha–beta: alpha -> beta ping" ping_ok alpha beta
}

# daemon_phase NAME: routes, reachability and failover with the daemon running.
daemon_phase() {
    local t
    t=$(wait_for 90 mesh_ok)
    chk "$DAEMON: every node routes to and reaches every other node ($t s after start)" test "$t" != timeout
    [ "$t" = timeout ] && dump_state
    check_reach
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

start_bird() {
    local n
    for n in "${NODES[@]}"; do
        chk "$n: bird -p accepts the rendered bird.conf" in_node "$n" bird -p -c "$S/$n/out/bird.conf"
        in_node "$n" bird -c "$S/$n/out/bird.conf" -s /run/bird.ctl -P /run/bird.pid
    done
}
stop_bird() {
    local n
    for n in "${NODES[@]}"; do in_node "$n" birdc -s /run/bird.ctl down >/dev/null; done
}
start_babeld() {
    local n
    for n in "${NODES[@]}"; do
        in_node "$n" babeld -D -c "$S/$n/out/babeld.conf"
    done
}

# ------------------------------------------------------------------ run

sec "guest"
uname -r
grep PRETTY /etc/os-release
echo "systemd $(systemctl --version | head -1 | cut -d' ' -f2), $(bird --version 2>&1), babeld $(babeld -V 2>&1), hortus $(hortus --version)"
modprobe wireguard && modprobe dummy

sec "setup: underlay, keys, hortus render, one systemd-networkd per node"
mkdir -p "$S" /etc/hortus
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
    chk "BIRD's routes are gone after birdc down" sh -c "! nsenter -t $(cat "$S/alpha/holder.pid") -n ip -6 route show proto bird | grep -q ."
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
fi

sec "networkd logs (warnings and errors)"
for n in "${NODES[@]}"; do
    grep -iE 'warn|error|fail|ignor' "$S/$n/networkd.log" | sed "s/^/$n: /" | head -20
done

sec "summary"
echo "guest test time: $(elapsed) s"
echo "RESULT: pass=$PASS fail=$FAIL"
exit "$FAIL"
