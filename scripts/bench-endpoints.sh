#!/usr/bin/env bash
# What `hortus endpoints` costs on a host with N dialled links (default
# 250): N wireguard-go interfaces in a namespace of its own, each with one
# peer and two endpoint candidates, no traffic (so every link is quiet: the
# first switch of all N links comes after switch_after_s, the worst case).
# Prints the service's CPU time and peak RSS over SECONDS (default 75).
#
# usage: sudo scripts/bench-endpoints.sh [N] [SECONDS]   (needs wireguard-go, wg)
set -euo pipefail
N=${1:-250}
SECONDS_RUN=${2:-75}
HORTUS=${HORTUS_BIN:-$(dirname "$0")/../target/release/hortus}
NS=hbench-ep
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
python3 - "$N" > "$work/inv.toml" <<'PY'
import base64, sys
n = int(sys.argv[1])
print('[mesh]\nport_scheme = "xor"\nbase_port = 30000\n')
for i in range(n + 1):
    key = base64.b64encode(i.to_bytes(4, "little") + bytes(27) + b"\x55").decode()
    print(f'[nodes.node{i}]\nid = {i}\npublic_key = "{key}"')
    print(f'endpoints = ["198.18.{i // 250}.{i % 250 + 1}", "2001:db8::{i + 1:x}"]\n')
PY
"$HORTUS" plan "$work/inv.toml" --host node0 -o "$work/plan.json" 2>/dev/null
(umask 077 && wg genkey > "$work/key")
mkdir -p "$work/wg"
ip netns add "$NS"
ip -n "$NS" link set lo up
inns() { ip netns exec "$NS" unshare -m sh -c 'mount --bind "$0" /run/wireguard && exec "$@"' "$work/wg" "$@"; }
python3 -c '
import json, sys
for l in json.load(open(sys.argv[1]))["node"]["links"]:
    print(l["interface"], l["peer_public_key"], l["endpoints"][0]["socket"])
' "$work/plan.json" > "$work/links"
t0=$(date +%s.%N)
while read -r iface key endpoint; do
    inns env LOG_LEVEL=error wireguard-go -f "$iface" >/dev/null 2>&1 &
    pids+=($!)
done < "$work/links"
while read -r iface key endpoint; do
    until [ -S "$work/wg/$iface.sock" ]; do sleep 0.05; done
    inns wg set "$iface" private-key "$work/key" peer "$key" endpoint "$endpoint" allowed-ips ::/0
done < "$work/links"
echo "$(wc -l < "$work/links") wireguard-go interfaces up in $(echo "$(date +%s.%N) - $t0" | bc) s"
inns /usr/bin/time -f '%U %S %M' -o "$work/time" timeout "$SECONDS_RUN" "$HORTUS" endpoints --plan "$work/plan.json" \
    > "$work/log" 2>&1 || true
read -r user sys rss < <(tail -1 "$work/time")
moves=$(grep -c ' -> ' "$work/log" || true)
echo "hortus endpoints, $N dialled links, ${SECONDS_RUN} s: user ${user} s, sys ${sys} s, peak RSS ${rss} KiB, ${moves} moves"
head -1 "$work/log"
