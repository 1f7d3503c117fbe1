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
# Disk: a run is one-shot, so no incremental caches, and test binaries carry
# line tables only (backtraces keep file:line). Full debug info made the
# debug target 4.1 GB (14 lab test binaries of 71 MB each) and filled a CI
# machine's disk while linking the lab tests; this way it is 1.8 GB.
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only

echo "== cargo fmt --check, cargo clippy and cargo doc (warnings are errors)"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

echo "== cargo test (workspace, without the lab)"
cargo test --workspace --exclude hortus-lab

echo "== cargo fuzz: the inventory target for ${FUZZ_SECONDS:-60} s"
bash scripts/fuzz.sh
# The fuzz build (sanitizer flags, its own target directory) is not used again.
[ -z "${CI:-}" ] || rm -rf fuzz/target

echo "== nix: module, lib and flake"
cargo build --release --bin hortus
HORTUS_BIN="$PWD/target/release/hortus" bash tests/nix/run.sh

echo "== nix: whole NixOS (nixos/lib/eval-config.nix; SKIPPED without HORTUS_NIXPKGS)"
HORTUS_BIN="$PWD/target/release/hortus" bash tests/nix/nixos/run.sh

echo "== host tier: kernel WireGuard + systemd-networkd + BIRD 3 / babeld in a QEMU guest"
HORTUS_BIN="$PWD/target/release/hortus" bash tests/host/run.sh

echo "== lab: network namespaces with wireguard-go, phantun, BIRD 3 and babeld"
cargo test -p hortus-lab -- --test-threads=1
