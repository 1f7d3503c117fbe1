#!/usr/bin/env bash
# Usage: scripts/bench-lab.sh [OUT_DIR]          (root; after scripts/install-test-deps.sh)
#
# Measures the mesh in `hortus lab` (network namespaces, wireguard-go, BIRD 3
# or babeld), for every daemon and timer set:
#
#   converge  time from the routing daemons' start to full connectivity
#             (`hortus lab wait`: every pair has a Babel route and answers a
#             ping), all-public meshes of SIZES nodes, REPEAT runs each;
#   control   Babel packets sent per node per second (nftables counter on
#             UDP 6696 over CONTROL_S seconds, after SETTLE_S seconds of
#             settling), the routing daemon's CPU time per node per
#             second (/proc/PID/stat), and how often a daemon's
#             kernel route moved to another interface in that idle window
#             (`ip monitor route`, all nodes): flapping;
#   failover  on 4 nodes, REPEAT times per cut mode (underlay drop, interface
#             down): packets lost by a 5/s ping n0->n1 across the cut (outage
#             = lost x 0.2 s), route changes n0->n1 while cut after the first
#             switch (flapping), seconds from heal until n0's route to n1 is
#             the direct tunnel again, and packets lost around the heal;
#   iperf     TCP throughput, 5 s, one hop: underlay vs overlay (wireguard-go)
#             vs a forwarded link (wireguard-go over the UDP-over-TCP relay).
#
# Environment: PHASES ("converge failover iperf"), DAEMONS ("bird babeld"), TIMERS ("1000/2000 300/1200":
# hello/update ms), SIZES ("4 6 8"), REPEAT (3), CONTROL_S (20), SETTLE_S (45), HORTUS
# (default target/release/hortus, built if missing), PREFIX ("hb-"),
# KERNEL_SCAN_S (unset: hortus' default; N: mesh.babel.kernel_scan_s = N,
# BIRD rows labelled bird/scanNs).
# Results: OUT_DIR/results.tsv (one line per measurement) and OUT_DIR/log.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

out=${1:-bench-lab-out}
DAEMONS=${DAEMONS:-bird babeld}
TIMERS=${TIMERS:-1000/2000 300/1200}
SIZES=${SIZES:-4 6 8}
REPEAT=${REPEAT:-3}
CONTROL_S=${CONTROL_S:-20}
SETTLE_S=${SETTLE_S:-45}
PREFIX=${PREFIX:-hb-}
PHASES=${PHASES:-converge failover iperf}
KERNEL_SCAN_S=${KERNEL_SCAN_S:-}
HORTUS=${HORTUS:-$PWD/target/release/hortus}

for tool in jq bc iperf3 wg; do
    command -v "$tool" >/dev/null || { echo "bench-lab: $tool is required (apt-get install jq bc iperf3 wireguard-tools)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench-lab: run as root" >&2; exit 2; }
[ -x "$HORTUS" ] || cargo build -q --release --bin hortus

mkdir -p "$out"
results="$out/results.tsv"
log="$out/log"
state=$(mktemp -d /tmp/hortus-bench.XXXXXX)
lab() { "$HORTUS" lab --state-dir "$state/lab" "$@"; }
cleanup() { lab down >>"$log" 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
[ -f "$results" ] || printf 'daemon\thello_ms\tupdate_ms\tnodes\tmetric\tvalue\tunit\n' >"$results"
record() { # DAEMON HELLO UPDATE NODES METRIC VALUE UNIT
    local d=$1
    shift
    if [ "$d" = bird ] && [ -n "$KERNEL_SCAN_S" ]; then d="bird/scan${KERNEL_SCAN_S}s"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$d" "$@" | tee -a "$results"
}

# An inventory of N public nodes n0.. with the given Babel timers.
inventory() { # N HELLO UPDATE FILE
    {
        printf '[mesh.babel]\nhello_interval_ms = %s\nupdate_interval_ms = %s\n' "$2" "$3"
        if [ -n "$KERNEL_SCAN_S" ]; then printf 'kernel_scan_s = %s\n' "$KERNEL_SCAN_S"; fi
        echo
        for ((i = 0; i < $1; i++)); do
            printf '[nodes.n%d]\nid = %d\npublic_key = "%s"\nendpoints = ["192.0.2.%d"]\n\n' \
                "$i" "$i" "$(wg genkey | wg pubkey)" $((i + 1))
        done
    } >"$4"
}

# Of `ip monitor route` lines on stdin: how often a daemon's route (proto
# bird or babel) moved to another interface. Metric-only updates, deletions,
# first installs and the kernel's own routes do not count.
next_hop_changes() {
    awk '/proto (bird|babel)/ && !/^Deleted/ {
        dst = ($1 == "unreachable") ? $2 : $1; dev = "unreachable"
        for (i = 1; i < NF; i++) if ($i == "dev" && $1 != "unreachable") dev = $(i + 1)
        if (dst in last && last[dst] != dev) n++
        last[dst] = dev
    } END { print n + 0 }'
}

ula() { jq -r ".nodes.$1.address" "$state/lab/plan.json"; }
# The interface of NODE's selected route to PEER's ULA ("none" if no route).
route_dev() {
    local out
    out=$(ip -n "$PREFIX$1" -j -6 route get "$(ula "$2")" from "$(ula "$1")" 2>/dev/null) || { echo none; return; }
    jq -r '.[0].dev // "none"' <<<"$out"
}
# CPU time (ms) node $1's routing daemon $2 (bird or babeld) has used so far.
daemon_cpu_ms() {
    local pid
    pid=$(cat "$state/lab/nodes/$1/$2.pid")
    awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$pid/stat"
}
babel_out() { ip netns exec "$PREFIX$1" nft -j list counter inet hortus_lab babel_out | jq '.nftables[1].counter.packets'; }
since_start() { sed -n 's/.*(\([0-9.]*\) s since the daemons started).*/\1/p'; }

up() { # DAEMON INVENTORY
    lab up "$2" --daemon "$1" --name "$PREFIX" 2>>"$log"
    lab wait --timeout 120 | tee -a "$log"
}

converge_and_control() { # DAEMON HELLO UPDATE N RUN
    local d=$1 h=$2 u=$3 n=$4 run=$5 inv="$state/inv.toml"
    inventory "$n" "$h" "$u" "$inv"
    record "$d" "$h" "$u" "$n" converge_s "$(up "$d" "$inv" | since_start)" s
    if [ "$run" = 1 ]; then
        # Let the routes settle first: babeld's smoothing moves routes to
        # the direct links over ~30 s after convergence; that is not flapping.
        sleep "$SETTLE_S"
        local before=() after=() cpu0=() cpu1=() i mon=()
        for ((i = 0; i < n; i++)); do
            ip -n "${PREFIX}n$i" monitor route >"$state/mon$i" 2>/dev/null &
            mon+=($!)
            before+=("$(babel_out "n$i")")
            cpu0+=("$(daemon_cpu_ms "n$i" "$d")")
        done
        sleep "$CONTROL_S"
        for ((i = 0; i < n; i++)); do
            after+=("$(babel_out "n$i")")
            cpu1+=("$(daemon_cpu_ms "n$i" "$d")")
        done
        kill "${mon[@]}"
        wait "${mon[@]}" 2>/dev/null || true
        local sent=0 cpu=0 changes
        for ((i = 0; i < n; i++)); do
            sent=$((sent + after[i] - before[i]))
            cpu=$((cpu + cpu1[i] - cpu0[i]))
        done
        changes=0
        for ((i = 0; i < n; i++)); do changes=$((changes + $(next_hop_changes <"$state/mon$i"))); done
        rm -f "$state"/mon*
        record "$d" "$h" "$u" "$n" babel_pkts_per_node_s "$(echo "scale=2; $sent / $n / $CONTROL_S" | bc)" pkt/s
        record "$d" "$h" "$u" "$n" idle_route_changes "$changes" "changes/${CONTROL_S}s"
        record "$d" "$h" "$u" "$n" daemon_cpu_ms_per_node_s "$(echo "scale=2; $cpu / $n / $CONTROL_S" | bc)" ms/s
    fi
    lab down >>"$log" 2>&1
}

failover() { # DAEMON HELLO UPDATE MODE(underlay|interface-down)
    local d=$1 h=$2 u=$3 mode=$4 flag=()
    [ "$mode" = interface-down ] && flag=(--interface-down)
    local direct=wg-n1 ping_json changes=0 last detour="" t0 back="" i
    # Start from the direct path both ways.
    for ((i = 0; i < 1200; i++)); do
        [ "$(route_dev n0 n1)" = "$direct" ] && [ "$(route_dev n1 n0)" = wg-n0 ] && break
        sleep 0.1
    done
    lab ping n0 n1 -c 100 -i 0.2 --json >"$state/ping" 2>>"$log" &
    local ping=$!
    sleep 2
    lab cut n0 n1 "${flag[@]}"
    last=$direct
    while kill -0 "$ping" 2>/dev/null; do
        local dev
        dev=$(route_dev n0 n1)
        if [ "$dev" != "$last" ]; then
            # Flaps: changes after the route first reached a detour (the
            # retracted, unreachable route on the way there is not one).
            if [ -n "$detour" ]; then changes=$((changes + 1)); fi
            case $dev in wg-*) detour=$dev ;; esac
            last=$dev
        fi
        sleep 0.2
    done
    wait "$ping" || true
    ping_json=$(cat "$state/ping")
    local lost
    lost=$(echo "$ping_json" | jq '.transmitted - .received')
    record "$d" "$h" "$u" 4 "outage_${mode}_lost" "$lost" "pkts@5/s"
    record "$d" "$h" "$u" 4 "outage_${mode}_s" "$(echo "scale=1; $lost / 5" | bc)" s
    record "$d" "$h" "$u" 4 "flaps_while_cut_${mode}" "$changes" changes
    lab ping n0 n1 -c 75 -i 0.2 --json >"$state/ping" 2>>"$log" &
    ping=$!
    sleep 1
    lab heal n0 n1
    t0=$(date +%s.%N)
    for ((i = 0; i < 1200; i++)); do
        if [ "$(route_dev n0 n1)" = "$direct" ]; then
            back=$(echo "$(date +%s.%N) - $t0" | bc)
            break
        fi
        sleep 0.1
    done
    wait "$ping" || true
    record "$d" "$h" "$u" 4 "back_to_direct_${mode}_s" "${back:-timeout}" s
    record "$d" "$h" "$u" 4 "heal_${mode}_lost" "$(jq '.transmitted - .received' "$state/ping")" "pkts@5/s"
}

iperf() { # LABEL NS_SERVER NS_CLIENT TARGET
    ip netns exec "$2" iperf3 -s -1 -D -I "$state/iperf.pid" >/dev/null
    sleep 0.5
    local bps
    bps=$(ip netns exec "$3" iperf3 -c "$4" -t 5 -J | jq '.end.sum_received.bits_per_second')
    record bird 1000 2000 "$1" iperf_mbit_s "$(echo "scale=0; $bps / 1000000" | bc)" Mbit/s
}

echo "== $(date -u +%FT%TZ) $("$HORTUS" --version), $(bird --version 2>&1 | head -1), $(babeld -V 2>&1), $(nproc) cores" | tee -a "$log"
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
for d in $DAEMONS; do
    for t in $TIMERS; do
        h=${t%/*} u=${t#*/}
        if has_phase converge; then
            for n in $SIZES; do
                for ((r = 1; r <= REPEAT; r++)); do converge_and_control "$d" "$h" "$u" "$n" "$r"; done
            done
        fi
        if has_phase failover; then
            inventory 4 "$h" "$u" "$state/inv.toml"
            up "$d" "$state/inv.toml" >/dev/null
            sleep 5
            for mode in underlay interface-down; do
                for ((r = 1; r <= REPEAT; r++)); do failover "$d" "$h" "$u" "$mode"; done
            done
            lab down >>"$log" 2>&1
        fi
    done
done

if has_phase iperf; then
    inventory 4 1000 2000 "$state/inv.toml"
    up bird "$state/inv.toml" >/dev/null
    iperf underlay "${PREFIX}n1" "${PREFIX}n0" 198.18.2.2
    iperf overlay "${PREFIX}n1" "${PREFIX}n0" "$(ula n1)"
    lab down >>"$log" 2>&1
    up bird examples/six-nodes.toml >/dev/null
    iperf forwarded "${PREFIX}abhoth" "${PREFIX}hastur" "$(ula abhoth)"
    lab down >>"$log" 2>&1
fi
echo "results in $results"
