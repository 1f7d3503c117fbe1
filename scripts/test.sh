#!/usr/bin/env bash
# The project's one test command: installs what the tests need on a fresh
# Debian 12 machine (root), then runs every test with the real tools required
# (a missing tool fails instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
export HORTUS_REQUIRE_TOOLS=1 HORTUS_LAB_TESTS=1

echo "== cargo test (workspace, without the lab)"
cargo test --workspace --exclude hortus-lab

echo "== nix: module, lib and flake"
cargo build --release --bin hortus
HORTUS_BIN="$PWD/target/release/hortus" bash tests/nix/run.sh

echo "== host tier: kernel WireGuard + systemd-networkd + BIRD 3 / babeld in a QEMU guest"
HORTUS_BIN="$PWD/target/release/hortus" bash tests/host/run.sh

echo "== lab: network namespaces with wireguard-go, BIRD 3 and babeld"
cargo test -p hortus-lab -- --test-threads=1
