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
#             UDP 6696 over CONTROL_S seconds) and kernel route changes in
#             that idle window (`ip monitor route`, all nodes): flapping;
#   failover  on 4 nodes, REPEAT times per cut mode (underlay drop, interface
#             down): packets lost by a 5/s ping n0->n1 across the cut (outage
#             = lost x 0.2 s), route changes n0->n1 while cut after the first
#             switch (flapping), seconds from heal until n0's route to n1 is
#             the direct tunnel again, and packets lost around the heal;
#   iperf     TCP throughput, 5 s, one hop: underlay vs overlay (wireguard-go)
#             vs a forwarded link (wireguard-go over the UDP-over-TCP relay).
#
# Environment: PHASES ("converge failover iperf"), DAEMONS ("bird babeld"), TIMERS ("1000/2000 300/1200":
# hello/update ms), SIZES ("4 6 8"), REPEAT (3), CONTROL_S (20), HORTUS
# (default target/release/hortus, built if missing), PREFIX ("hb-"),
# BIRD_SCAN (unset: BIRD runs the rendered config; N: experiment with the
# kernel protocol's `scan time N`, patched in after `up`).
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
PREFIX=${PREFIX:-hb-}
PHASES=${PHASES:-converge failover iperf}
BIRD_SCAN=${BIRD_SCAN:-}
HORTUS=${HORTUS:-$PWD/target/release/hortus}

for tool in jq iperf3 wg; do
    command -v "$tool" >/dev/null || { echo "bench-lab: $tool is required" >&2; exit 2; }
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
    [ "$d" = bird ] && [ -n "$BIRD_SCAN" ] && d="bird+scan$BIRD_SCAN"
    shift
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$d" "$@" | tee -a "$results"
}

# An inventory of N public nodes n0.. with the given Babel timers.
inventory() { # N HELLO UPDATE FILE
    {
        printf '[mesh.babel]\nhello_interval_ms = %s\nupdate_interval_ms = %s\n\n' "$2" "$3"
        for ((i = 0; i < $1; i++)); do
            printf '[nodes.n%d]\nid = %d\npublic_key = "%s"\nendpoints = ["192.0.2.%d"]\n\n' \
                "$i" "$i" "$(wg genkey | wg pubkey)" $((i + 1))
        done
    } >"$4"
}

ula() { jq -r ".nodes.$1.address" "$state/lab/plan.json"; }
# The interface of NODE's selected route to PEER's ULA ("none" if no route).
route_dev() {
    local out
    out=$(ip -n "$PREFIX$1" -j -6 route get "$(ula "$2")" from "$(ula "$1")" 2>/dev/null) || { echo none; return; }
    jq -r '.[0].dev // "none"' <<<"$out"
}
babel_out() { ip netns exec "$PREFIX$1" nft -j list counter inet hortus_lab babel_out | jq '.nftables[1].counter.packets'; }
since_start() { sed -n 's/.*(\([0-9.]*\) s since the daemons started).*/\1/p'; }

up() { # DAEMON INVENTORY
    lab up "$2" --daemon "$1" --name "$PREFIX" 2>>"$log"
    if [ "$1" = bird ] && [ -n "$BIRD_SCAN" ]; then patch_scan_time; fi
    lab wait --timeout 120 | tee -a "$log"
}

# Experiment, not what hortus renders: `scan time $BIRD_SCAN` in every node's
# kernel protocol, applied with `birdc configure` (see docs/lab-benchmarks.md).
patch_scan_time() {
    local conf
    for conf in "$state"/lab/nodes/*/bird.conf; do
        sed -i "s/^protocol kernel kernel6 {/&\n\tscan time $BIRD_SCAN;/" "$conf"
        "$HORTUS_BIRDC" -s "${conf%/bird.conf}/bird.ctl" configure >>"$log"
    done
    sleep 1
}

converge_and_control() { # DAEMON HELLO UPDATE N RUN
    local d=$1 h=$2 u=$3 n=$4 run=$5 inv="$state/inv.toml"
    inventory "$n" "$h" "$u" "$inv"
    record "$d" "$h" "$u" "$n" converge_s "$(up "$d" "$inv" | since_start)" s
    if [ "$run" = 1 ]; then
        local before=() after=() i mon=()
        for ((i = 0; i < n; i++)); do
            ip -n "${PREFIX}n$i" monitor route >"$state/mon$i" 2>/dev/null &
            mon+=($!)
            before+=("$(babel_out "n$i")")
        done
        sleep "$CONTROL_S"
        for ((i = 0; i < n; i++)); do after+=("$(babel_out "n$i")"); done
        kill "${mon[@]}"
        wait "${mon[@]}" 2>/dev/null || true
        local sent=0 changes
        for ((i = 0; i < n; i++)); do sent=$((sent + after[i] - before[i])); done
        changes=$(cat "$state"/mon* | grep -c . || true)
        rm -f "$state"/mon*
        record "$d" "$h" "$u" "$n" babel_pkts_per_node_s "$(echo "scale=2; $sent / $n / $CONTROL_S" | bc)" pkt/s
        record "$d" "$h" "$u" "$n" idle_route_changes "$changes" "changes/${CONTROL_S}s"
    fi
    lab down >>"$log" 2>&1
}

failover() { # DAEMON HELLO UPDATE MODE(underlay|interface-down)
    local d=$1 h=$2 u=$3 mode=$4 flag=()
    [ "$mode" = interface-down ] && flag=(--interface-down)
    local direct=wg-n1 ping_json changes=0 last first_switch="" t0 back="" i
    # Start from the direct path both ways.
    for ((i = 0; i < 1200; i++)); do
        [ "$(route_dev n0 n1)" = "$direct" ] && [ "$(route_dev n1 n0)" = wg-n0 ] && break
        sleep 0.1
    done
    lab ping n0 n1 -c 100 -i 0.2 --json >"$state/ping" 2>>"$log" &
    local ping=$!
    sleep 2
    lab cut n0 n1 "${flag[@]}"
    t0=$(date +%s.%N)
    last=$direct
    while kill -0 "$ping" 2>/dev/null; do
        local dev
        dev=$(route_dev n0 n1)
        if [ "$dev" != "$last" ]; then
            if [ -z "$first_switch" ]; then first_switch=1; else changes=$((changes + 1)); fi
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
