#!/usr/bin/env bash
# Runs the `cargo fuzz` target `inventory` (fuzz/fuzz_targets/inventory.rs:
# inventory bytes -> parse -> check -> plan -> every host's view -> BIRD,
# babeld and networkd renders) for a bounded time. A panic, or an input
# taking longer than 10 s, fails the run (debug assertions on, so integer
# overflow panics too); libFuzzer then prints the input's
# path under fuzz/artifacts/.
#
#   FUZZ_SECONDS=60 scripts/fuzz.sh      # default 60
#
# Works on a stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# -Z sanitizer flags (cargo-fuzz is installed by scripts/install-test-deps.sh).
# The corpus grows in a temporary directory, seeded from fuzz/seeds/, so the
# run leaves the tree as it was.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-60}
corpus=$(mktemp -d "${TMPDIR:-/tmp}/hortus-fuzz-corpus.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
RUSTC_BOOTSTRAP=1 cargo fuzz build --debug-assertions inventory
RUSTC_BOOTSTRAP=1 cargo fuzz run --debug-assertions inventory "$corpus" seeds -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 2>&1 |
    grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)|^"|Uses: [0-9]+$'
