#!/usr/bin/env bash
# The whole-NixOS tier: real NixOS systems importing services.hortus,
# evaluated with nixpkgs' nixos/lib/eval-config.nix (every default module) up
# to config.system.build.toplevel.drvPath, offline, in a private store; then
# ./check.py compares what NixOS made with `hortus plan` / `hortus render`.
#
#   HORTUS_NIXPKGS=/path/to/nixpkgs tests/nix/nixos/run.sh
#   HORTUS_NIXOS_ONLY='babeld|vm-mesh' ...      # only the cases matching a regex
#
# Environment:
#   HORTUS_NIXPKGS      a nixpkgs tree: a full checkout, or a clone of
#                       neg-serg/nixpkgs-slim at 47ec8b0206b6 (docs/nixos.md);
#                       a tree that needs ./prepare-nixpkgs.py is prepared in
#                       a hard-linked temporary copy. Unset: prints SKIPPED.
#   HORTUS_BIN          the hortus binary (default target/release/hortus)
#   HORTUS_DEPS_DIR     where Nix 2.26 is unpacked (default <repo>/.deps;
#                       ./install-nix.sh, once, ~10 s with apt)
#   HORTUS_NIXOS_STORE  the private store (default: a fresh one per run,
#                       so every .drv is written anew and timed)
#   HORTUS_NIXOS_ONLY   a regex of case names (default: every case)
#   HORTUS_NIXOS_JOBS   evaluations run at once (default 1: the machine is shared)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 2

if [ -z "${HORTUS_NIXPKGS:-}" ]; then
    echo "SKIPPED: whole-NixOS evaluation: set HORTUS_NIXPKGS to a nixpkgs tree (docs/nixos.md, section Whole NixOS, says how to get one)"
    exit 0
fi
[ -f "$HORTUS_NIXPKGS/nixos/lib/eval-config.nix" ] || {
    echo "FAIL HORTUS_NIXPKGS=$HORTUS_NIXPKGS has no nixos/lib/eval-config.nix"
    exit 1
}
nixpkgs_src=$(cd "$HORTUS_NIXPKGS" && pwd)
hortus=${HORTUS_BIN:-$repo/target/release/hortus}
[ -x "$hortus" ] || { cargo build --release --bin hortus >&2 && hortus=$repo/target/release/hortus; } ||
    { echo "FAIL cargo build --release --bin hortus"; exit 1; }
only=${HORTUS_NIXOS_ONLY:-.}
jobs=${HORTUS_NIXOS_JOBS:-1}
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }

# ---- Nix >= 2.18 (nixpkgs' lib/minfeatures.nix), privately.
deps=${HORTUS_DEPS_DIR:-$repo/.deps}
nixbin=$(bash "$here/install-nix.sh" "$deps/nix-2.26") || { echo "FAIL installing Nix 2.26 (tests/nix/nixos/install-nix.sh)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hortus-nixos.XXXXXX")
[ "${HORTUS_NIXOS_KEEP:-}" = 1 ] && echo "keeping $work" || trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
store=${HORTUS_NIXOS_STORE:-$work/store}

# ---- nixpkgs: a hard-linked copy when the tree needs preparing.
nixpkgs=$nixpkgs_src
if ! python3 - "$nixpkgs_src" <<'EOF'
import sys
from pathlib import Path
t = Path(sys.argv[1])
ok = "./services/networking/bird.nix" in (t / "nixos/modules/module-list.nix").read_text() and \
    "whitelist ?" not in (t / "pkgs/top-level/by-name-overlay.nix").read_text() \
    if (t / "pkgs/top-level/by-name-overlay.nix").exists() else True
sys.exit(0 if ok else 1)
EOF
then
    nixpkgs=$work/nixpkgs
    cp -al "$nixpkgs_src" "$nixpkgs" && python3 "$here/prepare-nixpkgs.py" "$nixpkgs" ||
        { echo "FAIL preparing a copy of $nixpkgs_src"; exit 1; }
fi
extra_modules=""
if [ ! -e "$nixpkgs/pkgs/development/haskell-modules/hackage-packages.nix" ]; then
    extra_modules="$here/no-shellcheck.nix"
fi
echo "nixpkgs: $nixpkgs_src ($(cat "$nixpkgs/.version" 2>/dev/null || echo '?'))${extra_modules:+, without hackage-packages.nix: no shellcheck}"

# Offline (own network namespace when unshare can), the private store as a
# chroot store, no substituters; builds (the /bin/sh IFD) see the host's
# /bin and /usr in the sandbox a chroot store always uses. The build hook
# is off: Nix re-executes /proc/self/exe (here the private loader) for it.
export NIX_CONFIG='build-users-group =
experimental-features = nix-command flakes
substituters =
sandbox-paths = /bin /usr /lib /lib64
build-hook ='
offline=
unshare -n true 2>/dev/null && offline="unshare -n"
nixi=$work/nix-instantiate
printf '#!/bin/sh\nexec %s %s --store %s --option substituters "" --read-write-mode "$@"\n' \
    "$offline" "$nixbin/nix-instantiate" "$store" >"$nixi"
chmod +x "$nixi"
echo "nix: $("$nixi" --eval -E builtins.nixVersion 2>&1)"

# ---- inputs: plans and renders of the six-node example, without and with an
# IPv4 overlay (v6, v4), and of the routes-and-exits example (rx).
key_file=/run/keys/hortus-wireguard
six_hosts=(hastur kaambl eihort yidhra abhoth azasos)
rx_hosts=(hastur kaambl home pi abhoth laptop)
mkdir -p "$work/gen/v6" "$work/gen/v4" "$work/gen/rx"
cp examples/six-nodes.toml "$work/gen/v6/inventory.toml"
sed 's|^prefix = "fdcc::/64"|&\nipv4_prefix = "10.42.0.0/24"|' examples/six-nodes.toml >"$work/gen/v4/inventory.toml"
cp examples/routes-and-exits.toml "$work/gen/rx/inventory.toml"
for variant in v6 v4 rx; do
    g=$work/gen/$variant
    if [ "$variant" = rx ]; then hosts=("${rx_hosts[@]}"); else hosts=("${six_hosts[@]}"); fi
    # (Their warnings go to hortus.log: the checks compare them with NixOS'.)
    "$hortus" plan "$g/inventory.toml" -o "$g/plan.json" 2>>"$work/hortus.log" ||
        { cat "$work/hortus.log"; echo "FAIL hortus plan ($variant)"; exit 1; }
    for h in "${hosts[@]}"; do
        "$hortus" plan "$g/inventory.toml" --host "$h" -o "$g/$h.plan.json" 2>>"$work/hortus.log" &&
            "$hortus" render "$g/inventory.toml" --host "$h" --format all -o "$g/$h" \
                --private-key-file "$key_file" --babeld-pid-file /run/babeld/babeld.pid \
                --babeld-state-file /var/lib/babeld/state --babeld-local-path /run/babeld/babeld.sock >/dev/null 2>>"$work/hortus.log" &&
            "$hortus" render "$g/inventory.toml" --host "$h" --format hosts >"$g/$h/hosts" 2>>"$work/hortus.log" ||
            { cat "$work/hortus.log"; echo "FAIL hortus render --host $h ($variant)"; exit 1; }
    done
done

# ---- the cases: name, then eval.nix arguments (key=value, a Nix expression each).
cases=()
add() { cases+=("$*"); }
for h in "${six_hosts[@]}"; do add "$h-bird" host=\"$h\"; done
for h in "${six_hosts[@]}"; do add "$h-babeld" host=\"$h\" daemon=\"babeld\"; done
# Routes and exits: an exit, a subnet router without masquerade, a use_exit
# node, both firewall backends and daemons, and the inventory mode.
add hastur-bird-exit host=\"hastur\" variant=rx
add kaambl-babeld-exit-nftables host=\"kaambl\" daemon=\"babeld\" firewall=\"nftables\" variant=rx
add pi-bird-subnets-nftables host=\"pi\" firewall=\"nftables\" variant=rx
add home-babeld-subnets host=\"home\" daemon=\"babeld\" variant=rx
add laptop-bird-use-exit host=\"laptop\" variant=rx
add laptop-babeld-use-exit-nftables host=\"laptop\" daemon=\"babeld\" firewall=\"nftables\" variant=rx
add laptop-bird-use-exit-inventory host=\"laptop\" mode=\"inventory\" variant=rx
add hastur-bird-ipv4 host=\"hastur\" variant=v4
add yidhra-bird-ipv4 host=\"yidhra\" variant=v4
add hastur-babeld-ipv4 host=\"hastur\" daemon=\"babeld\" variant=v4
add azasos-babeld-ipv4 host=\"azasos\" daemon=\"babeld\" variant=v4
add eihort-bird-untrusted host=\"eihort\" trustInterfaces=false
add abhoth-babeld-untrusted host=\"abhoth\" daemon=\"babeld\" trustInterfaces=false
add kaambl-bird-nftables host=\"kaambl\" firewall=\"nftables\"
add yidhra-babeld-nftables-ipv4 host=\"yidhra\" daemon=\"babeld\" firewall=\"nftables\" variant=v4
add hastur-bird-no-rpfilter host=\"hastur\" rpfilter=false
add abhoth-babeld-no-rpfilter-ipv4 host=\"abhoth\" daemon=\"babeld\" rpfilter=false variant=v4
add hastur-bird-inventory host=\"hastur\" mode=\"inventory\"
add azasos-babeld-inventory host=\"azasos\" daemon=\"babeld\" mode=\"inventory\"
add yidhra-bird-inventory-ipv4 host=\"yidhra\" mode=\"inventory\" variant=v4

mkdir -p "$work/out"
printf 'case\targs\trc\tseconds\tmax_rss_kb\n' >"$work/out/cases.tsv"
# run_case NAME ARGS...: evaluate eval.nix's result into out/NAME.json, timed.
run_case() {
    local name=$1 variant=v6 nixargs="" settings="" arg
    shift
    for arg in "$@"; do
        case $arg in
            variant=*) variant=${arg#variant=} ;;
            *) nixargs+=" ${arg%%=*} = ${arg#*=};" settings+=" $arg" ;;
        esac
    done
    local g=$work/gen/$variant
    nixargs+=" gen = $g; inventory = $g/inventory.toml; hortusBin = $hortus;"
    [ -n "$extra_modules" ] && nixargs+=" extraModules = [ $extra_modules ];"
    local start rc
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$work/out/$name.rss" \
        "$nixi" --eval --strict --json -E "(import $here/eval.nix { nixpkgs = $nixpkgs; hortus = $repo; $nixargs }).result" \
        >"$work/out/$name.json" 2>"$work/out/$name.err"
    rc=$?
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "variant=$variant$settings" "$rc" "$(elapsed "$start")" \
        "$(tail -n1 "$work/out/$name.rss")" >>"$work/out/cases.tsv"
}
running=0
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    set -- $c
    [[ $1 =~ $only ]] || continue
    run_case "$@" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ---- checks.x86_64-linux.vm-mesh (pkgs.testers.runNixOSTest): its driver instantiates.
if [[ vm-mesh =~ $only ]]; then
    start=$(date +%s.%N)
    overlays="[ ]"
    [ -n "$extra_modules" ] && overlays="(import $extra_modules).nixpkgs.overlays"
    /usr/bin/time -f %M -o "$work/out/vm-mesh.rss" \
        "$nixi" --eval --strict --json -E "let pkgs = import $nixpkgs { system = \"x86_64-linux\"; overlays = $overlays; };
             test = import $repo/tests/nix/vm-mesh.nix { inherit pkgs; };
         in { driver = test.driver.drvPath; test = test.drvPath; nodes = builtins.attrNames test.nodes; }" \
        >"$work/out/vm-mesh.json" 2>"$work/out/vm-mesh.err"
    printf '%s\t%s\t%s\t%s\t%s\n' vm-mesh "checks.x86_64-linux.vm-mesh" "$?" "$(elapsed "$start")" \
        "$(tail -n1 "$work/out/vm-mesh.rss")" >>"$work/out/cases.tsv"
fi

# ---- the CI tier's stand-ins (tests/nix/nixos-stubs.nix) against the real options.
if [[ stand-ins =~ $only ]]; then
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$work/out/stand-ins.rss" \
        "$nixi" --eval --strict --json -E "import $here/stand-ins.nix { nixpkgs = $nixpkgs; }" \
        >"$work/out/stand-ins.json" 2>"$work/out/stand-ins.err"
    printf '%s\t%s\t%s\t%s\t%s\n' stand-ins "tests/nix/nixos-stubs.nix" "$?" "$(elapsed "$start")" \
        "$(tail -n1 "$work/out/stand-ins.rss")" >>"$work/out/cases.tsv"
fi

python3 "$here/check.py" "$work/out" "$work/gen" "$store"
rc=$?
echo "whole-NixOS tier: $(elapsed "$t0") s"
exit $rc
