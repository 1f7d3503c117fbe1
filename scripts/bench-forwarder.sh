#!/usr/bin/env bash
# Usage: scripts/bench-forwarder.sh [OUT_DIR]   (root; after scripts/install-test-deps.sh)
#
# One link a–b in `hortus lab` (wireguard-go, BIRD 3, default 1 s hellos),
# three ways: `direct` (neither end censored), `phantun` (b censored, the
# real phantun across the censor) and `relay` (b censored, mesh.forwarder =
# "none": the lab's stand-in UDP-over-TCP relay, hortus' forwarder before
# phantun). A third node c (uncensored) gives b a detour. Per variant:
#
#   rtt       ping b -> a over the tunnel, 100 x 50 ms: min/avg/max ms;
#   iperf     TCP b -> a over the tunnel, 10 s: Mbit/s (iperf3 -J);
#   cpu       CPU seconds of the forwarder processes of the link (both ends,
#             /proc/PID/stat) per GB carried during that iperf3, and idle
#             (keepalives and Babel only) in % of a core over IDLE_S s;
#   failover  (phantun, relay) b's forwarder to a killed while b pings a
#             every 100 ms: the outage (longest run of lost replies x 0.1 s)
#             until Babel moves b->a to the detour via c; then
#             `hortus lab revive b` and the seconds until b->a is direct
#             again (polled every 200 ms).
#
# Environment: VARIANTS ("direct phantun relay"), IDLE_S (20), HORTUS
# (default target/release/hortus, built if missing), PREFIX ("hbf-").
# Results: OUT_DIR/results.tsv and OUT_DIR/log.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

out=${1:-bench-forwarder-out}
VARIANTS=${VARIANTS:-direct phantun relay}
IDLE_S=${IDLE_S:-20}
PREFIX=${PREFIX:-hbf-}
HORTUS=${HORTUS:-$PWD/target/release/hortus}

for tool in jq iperf3 python3; do
    command -v "$tool" >/dev/null || { echo "bench-forwarder: $tool is required" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench-forwarder: run as root" >&2; exit 2; }
[ -x "$HORTUS" ] || cargo build -q --release --bin hortus

mkdir -p "$out"
results="$out/results.tsv"
log="$out/log"
state=$(mktemp -d /tmp/hortus-bench-fwd.XXXXXX)
lab() { "$HORTUS" lab --state-dir "$state/lab" "$@"; }
cleanup() { lab down >>"$log" 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
[ -f "$results" ] || printf 'variant\tmetric\tvalue\tunit\n' >"$results"
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" | tee -a "$results"; }

inventory() { # VARIANT -> inventory on stdout
    local censored=true forwarder=phantun
    [ "$1" = direct ] && censored=false
    [ "$1" = relay ] && forwarder=none
    cat <<EOF
[mesh]
forwarder = "$forwarder"
[nodes.a]
id = 0
public_key = "Qa1vemslfwos6UY8kn1c95LoOS5NtCcQ0YqSP46alDU="
endpoints = ["192.0.2.1"]
[nodes.c]
id = 1
public_key = "CeRNx11xOLO93e3vP6aUB8zrvSDCZbRhD5fMhDM7zFY="
endpoints = ["192.0.2.3"]
[nodes.b]
id = 2
public_key = "ZQv51UhFw5mghyzt9YLs2F6ymCDnsnd4D7Rq7bqLUE4="
endpoints = ["203.0.113.2"]
censored = $censored
EOF
}

# CPU ticks (utime + stime) of the a–b link's forwarder processes.
forwarder_ticks() {
    jq -r '.processes[] | select(.kind == "forwarder" and ((.node == "b" and .peer == "a") or (.node == "a" and .peer == "b"))) | .pid' \
        "$state/lab/state.json" | while read -r pid; do
        awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat"
    done | awk '{ s += $1 } END { print s + 0 }'
}
hz=$(getconf CLK_TCK)

route_dev() { ip -n "${PREFIX}b" -6 route get fdcc::1 2>/dev/null | grep -o 'dev [^ ]*' | cut -d' ' -f2; }

for variant in $VARIANTS; do
    echo "== $variant" | tee -a "$log"
    inventory "$variant" >"$state/inv.toml"
    lab up "$state/inv.toml" --name "$PREFIX" >>"$log" 2>&1
    lab wait --timeout 60 >>"$log" 2>&1
    sleep 5
    # RTT
    r=$(lab ping b a -c 100 -i 0.05 --json)
    record "$variant" rtt_ms "$(jq -r '.rtt_ms | map(tostring) | join("/")' <<<"$r")" "min/avg/max"
    # iperf3 + forwarder CPU under load
    ip netns exec "${PREFIX}a" iperf3 -s -1 -B fdcc::1 >>"$log" 2>&1 &
    sleep 1
    t0=$(forwarder_ticks)
    j=$(ip netns exec "${PREFIX}b" iperf3 -c fdcc::1 -B fdcc::3 -t 10 -J)
    t1=$(forwarder_ticks)
    wait || true
    bps=$(jq '.end.sum_received.bits_per_second' <<<"$j")
    bytes=$(jq '.end.sum_received.bytes' <<<"$j")
    record "$variant" iperf_mbit_s "$(python3 -c "print(round($bps / 1e6, 1))")" "Mbit/s"
    if [ "$variant" != direct ]; then
        record "$variant" cpu_s_per_gb "$(python3 -c "print(round(($t1 - $t0) / $hz / ($bytes / 1e9), 2))")" "CPU s per GB (both ends)"
        t0=$(forwarder_ticks)
        sleep "$IDLE_S"
        t1=$(forwarder_ticks)
        record "$variant" cpu_idle_pct "$(python3 -c "print(round(100 * ($t1 - $t0) / $hz / $IDLE_S, 3))")" "% of a core (both ends)"
        # Failover: b's forwarder to a dies.
        ip netns exec "${PREFIX}b" ping -6 -n -i 0.1 -c 300 -W 1 -I fdcc::3 fdcc::1 >"$state/ping.txt" 2>&1 &
        pinger=$!
        sleep 3
        direct=$(route_dev)
        lab kill b --forwarder a
        sleep 20
        start=$(date +%s.%N)
        lab revive b
        back=""
        for _ in $(seq 1 150); do
            if [ "$(route_dev)" = "$direct" ] && lab ping b a -c 1 >/dev/null 2>&1; then
                back=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
                break
            fi
            sleep 0.2
        done
        wait "$pinger" || true
        outage=$(python3 - "$state/ping.txt" <<'EOF'
import re, sys
seqs = sorted(int(m) for m in re.findall(r"icmp_seq=(\d+)", open(sys.argv[1]).read()))
gaps = [b - a - 1 for a, b in zip(seqs, seqs[1:])]
print(round(max(gaps, default=0) * 0.1, 1))
EOF
)
        record "$variant" failover_outage_s "$outage" "s (ping every 100 ms)"
        record "$variant" revive_to_direct_s "${back:-none}" "s"
    fi
    lab down >>"$log" 2>&1
done
