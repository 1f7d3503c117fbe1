#!/usr/bin/env bash
# Usage: scripts/bench-scale.sh [OUT_DIR]       (root; after scripts/install-test-deps.sh)
#
# The lab at scale: for each N in SIZES, the inventory
# `scripts/gen-inventory.py N cantor` writes (every 5th node NAT'd, every
# 7th censored, so forwarded links too) with base_port 20000, DAEMON (BIRD 3
# by default, or babeld) with hortus' default timers, measured once:
#
#   up_s         wall time of `hortus lab up`
#   converge_s   routing daemons' start to full connectivity (`hortus lab wait`)
#   babel_pps    Babel packets sent per node per second, and babel_Bps the
#                bytes (nftables counters on UDP 6696 over CONTROL_S seconds)
#   bird_cpu     the routing daemon's CPU time per node (babeld_cpu with
#                babeld), percent of one core, same window; wg_cpu the same
#                for all of a node's wireguard-go processes; failover_cpu for
#                its `hortus failover` (BIRD), whose probes are not counted
#                in babel_pps: 2 x links x 1000 / probe_interval_ms packets/s
#                leave a node (its echo requests and its replies)
#   bird_rss_kb  the daemon's resident memory per node; wg_rss_kb the sum over
#                the node's wireguard-go processes; failover_rss_kb
#   outage_s     packets lost by a 100/s ping node0 -> node1 across an
#                underlay cut of node0-node1 (lost x 0.01 s)
#   load1        the machine's 1-minute load average at the end (shared)
#
# Environment: DAEMON (bird), SIZES ("8 16 32"), CONTROL_S (20), SETTLE_S (30), PREFIX ("hs-"),
# HORTUS (default target/release/hortus). Results: OUT_DIR/results.tsv and OUT_DIR/log.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

out=${1:-bench-scale-out}
SIZES=${SIZES:-8 16 32}
CONTROL_S=${CONTROL_S:-20}
SETTLE_S=${SETTLE_S:-30}
PREFIX=${PREFIX:-hs-}
DAEMON=${DAEMON:-bird}
HORTUS=${HORTUS:-$PWD/target/release/hortus}
[ "$(id -u)" = 0 ] || { echo "bench-scale: run as root" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-scale: jq is required" >&2; exit 2; }
[ -x "$HORTUS" ] || cargo build -q --release --bin hortus

mkdir -p "$out"
results="$out/results.tsv"
log="$out/log"
state=$(mktemp -d /tmp/hortus-scale.XXXXXX)
lab() { "$HORTUS" lab --state-dir "$state/lab" "$@"; }
cleanup() { lab down >>"$log" 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
[ -f "$results" ] || printf 'nodes\tmetric\tvalue\tunit\n' >"$results"
record() { printf '%s\t%s\t%s\t%s\n' "$@" | tee -a "$results"; }
hz=$(getconf CLK_TCK)

# PIDs of node $1's processes of kind $2 (routing, wireguard) from the state file.
pids() { jq -r --arg n "$1" --arg k "$2" '.processes[] | select(.node == $n and .kind == $k) | .pid' "$state/lab/state.json"; }
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status"))); done; echo "$t"; }
counter() { ip netns exec "$PREFIX$1" nft -j list counter inet hortus_lab babel_out | jq ".nftables[1].counter.$2"; }
avg() { echo "scale=1; $1 / $2" | bc; }

for n in $SIZES; do
    inv="$state/inv$n.toml"
    python3 scripts/gen-inventory.py "$n" cantor | sed 's/^base_port = .*/base_port = 20000/' >"$inv"
    echo "== $n nodes (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$log"
    t0=$(date +%s.%N)
    lab up "$inv" --daemon "$DAEMON" --name "$PREFIX" 2>>"$log"
    t1=$(date +%s.%N)
    record "$n" up_s "$(echo "scale=1; ($t1 - $t0) / 1" | bc)" s
    record "$n" converge_s "$(lab wait --timeout 600 | tee -a "$log" | sed -n 's/.*(\([0-9.]*\) s since the daemons started).*/\1/p')" s
    sleep "$SETTLE_S"
    nodes=$(jq -r '.nodes | to_entries | sort_by(.value.id) | .[].key' "$state/lab/plan.json")
    declare -A p0=() b0=() bird0=() wg0=() fo0=()
    for node in $nodes; do
        p0[$node]=$(counter "$node" packets)
        b0[$node]=$(counter "$node" bytes)
        bird0[$node]=$(cpu_ticks $(pids "$node" routing))
        wg0[$node]=$(cpu_ticks $(pids "$node" wireguard))
        fo0[$node]=$(cpu_ticks $(pids "$node" failover))
    done
    sleep "$CONTROL_S"
    pk=0 by=0 bc_=0 wc=0 fc=0 brss=0 wrss=0 frss=0
    for node in $nodes; do
        pk=$((pk + $(counter "$node" packets) - p0[$node]))
        by=$((by + $(counter "$node" bytes) - b0[$node]))
        bc_=$((bc_ + $(cpu_ticks $(pids "$node" routing)) - bird0[$node]))
        wc=$((wc + $(cpu_ticks $(pids "$node" wireguard)) - wg0[$node]))
        fc=$((fc + $(cpu_ticks $(pids "$node" failover)) - fo0[$node]))
        brss=$((brss + $(rss_kb $(pids "$node" routing))))
        wrss=$((wrss + $(rss_kb $(pids "$node" wireguard))))
        frss=$((frss + $(rss_kb $(pids "$node" failover))))
    done
    record "$n" babel_pps "$(avg "$pk" "$((n * CONTROL_S))")" "packets/s per node"
    record "$n" babel_Bps "$(avg "$by" "$((n * CONTROL_S))")" "bytes/s per node"
    record "$n" "${DAEMON}_cpu" "$(echo "scale=2; $bc_ * 100 / $hz / $n / $CONTROL_S" | bc)" "% of a core per node"
    record "$n" wg_cpu "$(echo "scale=2; $wc * 100 / $hz / $n / $CONTROL_S" | bc)" "% of a core per node"
    record "$n" failover_cpu "$(echo "scale=2; $fc * 100 / $hz / $n / $CONTROL_S" | bc)" "% of a core per node"
    record "$n" "${DAEMON}_rss_kb" "$((brss / n))" "kB per node"
    record "$n" failover_rss_kb "$((frss / n))" "kB per node"
    record "$n" wg_rss_kb "$((wrss / n))" "kB per node (its wireguard-go processes)"
    lab ping node0 node1 -c 1000 -i 0.01 --json >"$state/ping" 2>>"$log" &
    ping=$!
    sleep 3
    lab cut node0 node1
    wait "$ping" || true
    lost=$(jq '.transmitted - .received' "$state/ping")
    record "$n" outage_s "$(echo "scale=2; $lost * 0.01 / 1" | bc)" "s (ping node0->node1 across a cut)"
    record "$n" load1 "$(cut -d' ' -f1 /proc/loadavg)" "(2 cores, shared)"
    lab down >>"$log" 2>&1
    unset p0 b0 bird0 wg0 fo0
done
