#!/usr/bin/env bash
# Usage: scripts/check-nft.sh FILE
# Check an nftables ruleset with `nft -c -f FILE` in a network namespace of
# its own (nothing is loaded; the check needs the kernel's nftables, so
# root). Exit 0 iff accepted; exit 2 if it cannot run (no nft, not root).
set -euo pipefail
if [ "$#" -ne 1 ]; then
    echo "usage: $0 FILE" >&2
    exit 2
fi
if ! command -v nft >/dev/null || ! command -v unshare >/dev/null; then
    echo "check-nft: nft or unshare not found; run scripts/install-test-deps.sh" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "check-nft: needs root (nft -c talks to the kernel)" >&2
    exit 2
fi
if [ ! -r "$1" ]; then
    echo "check-nft: cannot read $1" >&2
    exit 2
fi
exec unshare --net nft -c -f "$1"
