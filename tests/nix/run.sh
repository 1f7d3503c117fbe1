#!/usr/bin/env bash
# Checks of hortus' Nix parts, offline (Debian's nix-bin 2.8 is enough):
# the mapping in nix/lib.nix against goldens and against `hortus render`,
# lib.mkPlan as import from derivation, the flake's outputs, and the NixOS
# module under nixpkgs' lib.evalModules.
#
#   tests/nix/run.sh                     # prints one line per check
#   HORTUS_BLESS=1 tests/nix/run.sh      # rewrite tests/nix/golden/ and the
#                                        # option table of docs/nixos.md first
#
# Environment:
#   HORTUS_BIN            the hortus binary (default target/release/hortus,
#                         built with cargo when absent)
#   HORTUS_NIXPKGS_LIB    a nixpkgs lib checkout (the directory holding lib/,
#                         e.g. nix-community/nixpkgs.lib); the module checks
#                         need it and print SKIPPED without it
#   HORTUS_NIXPKGS        a whole nixpkgs tree (tests/nix/nixos/run.sh's);
#                         its lib/ serves when HORTUS_NIXPKGS_LIB is unset
#   HORTUS_REQUIRE_TOOLS  1 = a missing tool (nix, python3, networkd) fails
#                         instead of skipping
#   HORTUS_BLESS          1 = regenerate the goldens and docs/nixos.md's option
#                         table (scripts/nixos-option-docs.sh) from this run
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 2
here=tests/nix
golden=$here/golden
hosts=(hastur kaambl eihort yidhra abhoth azasos)
key_file=/run/keys/hortus-wireguard

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    echo "ok   $1"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/     | /' | head -n 60; fi
}
skip() {
    echo "SKIPPED: $1" >&2
}
# check NAME COMMAND...: pass if COMMAND succeeds, else fail with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}
# check_equal NAME ACTUAL EXPECTED: pass if the two strings are equal.
check_equal() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $3"$'\n'"got: $2"; fi
}
# missing WHAT: skip the whole run, or fail when tools are required.
missing() {
    if [ "${HORTUS_REQUIRE_TOOLS:-}" = 1 ]; then
        fail "$1 (HORTUS_REQUIRE_TOOLS=1)"
        echo "$passed passed, $failed failed"
        exit 1
    fi
    skip "$1"
    exit 0
}

command -v nix-instantiate >/dev/null && command -v nix >/dev/null ||
    missing "nix is not installed (apt-get install nix-bin)"
command -v python3 >/dev/null || missing "python3 is not installed"

# Debian's nix-bin has no nixbld group; build as root without one.
if [ -z "${NIX_CONFIG:-}" ] && ! getent group nixbld >/dev/null 2>&1; then
    export NIX_CONFIG="build-users-group ="
fi
# No evaluation cache: CI once saw `attribute 'packages.x86_64-linux.lib' is
# unexpectedly missing` for an attribute the flake has (a stale/inconsistent
# eval-cache row, cf. garnix-io/issues#36); the checks are about the flake's
# outputs, not Nix's cache.
nix_flags=(--extra-experimental-features 'nix-command flakes' --option eval-cache false)
# Import from derivation, offline, with the host's /bin/sh and binary
# (`nix eval` is always read-write; nix-instantiate --eval needs the flag).
build_flags=(--option substituters '' --option sandbox false)
ifd_flags=(--read-write-mode "${build_flags[@]}")

hortus=${HORTUS_BIN:-$repo/target/release/hortus}
if [ ! -x "$hortus" ]; then
    echo "building $hortus" >&2
    cargo build --release --bin hortus >&2 || { fail "cargo build --release --bin hortus"; exit 1; }
    hortus=$repo/target/release/hortus
fi

# A whole nixpkgs tree (the whole-NixOS tier's, tests/nix/nixos/) holds lib/ too.
if [ -z "${HORTUS_NIXPKGS_LIB:-}" ] && [ -f "${HORTUS_NIXPKGS:-/nonexistent}/lib/default.nix" ]; then
    HORTUS_NIXPKGS_LIB=$HORTUS_NIXPKGS
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hortus-nix-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# eval_json OUT ARGS...: nix-instantiate --eval --strict --json into OUT.
eval_json() {
    local out=$1
    shift
    nix-instantiate --eval --strict --json "$@" >"$out"
}

# ---------------------------------------------------------------- parsing
bad=""
while IFS= read -r file; do
    nix-instantiate --parse "$file" >/dev/null 2>"$work/parse.err" || bad+="$file: $(cat "$work/parse.err")"$'\n'
done < <(find flake.nix nix "$here" -name '*.nix' | sort)
if [ -z "$bad" ]; then pass "every .nix file parses"; else fail "every .nix file parses" "$bad"; fi

# ------------------------------------------- docs/nixos.md option reference
# Generated from the modules' declarations with a builtins-only stand-in lib
# (tests/nix/option-docs.nix); with nixpkgs' lib, below, the same table must
# come out of the real lib.evalModules.
if [ "${HORTUS_BLESS:-}" = 1 ]; then
    bash scripts/nixos-option-docs.sh >&2
fi
check "docs/nixos.md's option table equals the modules' declarations (bash scripts/nixos-option-docs.sh)" \
    bash scripts/nixos-option-docs.sh --check

# ------------------------------------------------------------ the plan
plan=$work/plan.json
if ! "$hortus" plan examples/six-nodes.toml >"$plan" 2>"$work/plan.err"; then
    fail "hortus plan examples/six-nodes.toml" "$(cat "$work/plan.err")"
    echo "$passed passed, $failed failed"
    exit 1
fi
for host in "${hosts[@]}"; do
    "$hortus" plan examples/six-nodes.toml --host "$host" >"$work/$host.plan.json"
    "$hortus" render examples/six-nodes.toml --host "$host" --format all -o "$work/$host.render" \
        --private-key-file "$key_file" --babeld-pid-file /run/babeld/babeld.pid \
        --babeld-state-file /var/lib/babeld/state --babeld-local-path /run/babeld/babeld.sock 2>"$work/render.err" ||
        fail "hortus render --host $host" "$(cat "$work/render.err")"
done

# The same mesh with an IPv4 overlay (its sysctl.d files: IPv4 forwarding).
sed 's|^prefix = "fdcc::/64"|&\nipv4_prefix = "10.42.0.0/24"|' examples/six-nodes.toml >"$work/six-nodes-ipv4.toml"
"$hortus" plan "$work/six-nodes-ipv4.toml" >"$work/plan-ipv4.json"
for host in "${hosts[@]}"; do
    "$hortus" render "$work/six-nodes-ipv4.toml" --host "$host" --format sysctl -o "$work/$host.render-ipv4" 2>"$work/render.err" ||
        fail "hortus render --host $host --format sysctl (IPv4 overlay)" "$(cat "$work/render.err")"
done

# nix/lib.nix reads the plan version hortus writes.
plan_version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$plan")
check_equal "nix/lib.nix's planVersion equals the version \`hortus plan\` writes ($plan_version)" \
    "$(nix-instantiate --eval -E '(import ./nix/lib.nix).planVersion' 2>&1)" "$plan_version"

if [ "${HORTUS_BLESS:-}" = 1 ]; then
    mkdir -p "$golden"
    cp "$plan" "$golden/six-nodes.plan.json"
fi
check "the six-node plan equals $golden/six-nodes.plan.json" cmp "$plan" "$golden/six-nodes.plan.json"

# The committed plan and BIRD configs of checks.x86_64-linux.vm-mesh.
vm=$here/vm-mesh
mkdir -p "$work/vm-mesh"
"$hortus" plan "$vm/hortus.toml" -o "$work/vm-mesh/plan.json"
for node in alpha beta gamma; do
    mkdir -p "$work/vm-mesh/$node"
    "$hortus" render "$vm/hortus.toml" --host "$node" --format bird >"$work/vm-mesh/$node/bird.conf"
done
if [ "${HORTUS_BLESS:-}" = 1 ]; then
    cp -r "$work/vm-mesh/." "$vm/"
fi
check "the vm-mesh test's committed plan and BIRD configs equal \`hortus plan\` / \`hortus render\`" \
    diff -r -x hortus.toml "$vm" "$work/vm-mesh"

# ------------------------------------------------- nix/lib.nix: host views
if eval_json "$work/views.json" -E "
    let l = import ./nix/lib.nix; p = builtins.fromJSON (builtins.readFile $plan);
    in builtins.listToAttrs (map (h: { name = h; value = l.hostView p h; }) (l.hostNames p))" 2>"$work/err"; then
    check "lib.hostView equals \`hortus plan --host\` for all six hosts" python3 -c '
import json, sys
views = json.load(open(sys.argv[1]))
bad = [h for h in sys.argv[3:] if views.get(h) != json.load(open(f"{sys.argv[2]}/{h}.plan.json"))]
assert not bad and len(views) == len(sys.argv[3:]), f"differ: {bad}, views: {sorted(views)}"
' "$work/views.json" "$work" "${hosts[@]}"
else
    fail "lib.hostView evaluates" "$(cat "$work/err")"
fi

# ------------------------------------------- nix/lib.nix: the mapping
mapping=$work/mapping.json
if eval_json "$mapping" "$here/mapping.nix" --arg planFile "$plan" --argstr privateKeyFile "$key_file" 2>"$work/err"; then
    if [ "${HORTUS_BLESS:-}" = 1 ]; then
        python3 -c '
import json, sys
mapping = json.load(open(sys.argv[1]))
for host, value in mapping.items():
    with open(f"{sys.argv[2]}/{host}.json", "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
' "$mapping" "$golden"
    fi
    for host in "${hosts[@]}"; do
        check "mapping of $host (netdevs, networks, firewall, sysctl) equals $golden/$host.json" python3 -c '
import json, sys
actual = json.load(open(sys.argv[1]))[sys.argv[3]]
expected = json.load(open(sys.argv[2]))
for part in sorted(set(actual) | set(expected)):
    assert actual.get(part) == expected.get(part), f"{part} differs:\n{json.dumps(actual.get(part), indent=1, sort_keys=True)}"
' "$mapping" "$golden/$host.json" "$host"
    done
    for host in "${hosts[@]}"; do
        python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))[sys.argv[2]], open(sys.argv[3], "w"))' \
            "$mapping" "$host" "$work/$host.mapping.json"
        check "mapping of $host agrees with \`hortus render --format networkd\`" \
            python3 "$here/compare-networkd.py" "$work/$host.mapping.json" "$work/$host.render/networkd" --write "$work/$host.units"
    done

    # boot.kernel.sysctl: the keys and values of the rendered sysctl.d file,
    # without and with an IPv4 overlay.
    if eval_json "$work/mapping-ipv4.json" "$here/mapping.nix" --arg planFile "$work/plan-ipv4.json" 2>"$work/err"; then
        for host in "${hosts[@]}"; do
            check "mapping of $host: sysctl equals \`hortus render\`'s sysctl.d/60-hortus.conf (also with an IPv4 overlay)" \
                python3 "$here/compare-sysctl.py" "$mapping" "$host" "$work/$host.render/sysctl.d/60-hortus.conf" \
                --and "$work/mapping-ipv4.json" "$host" "$work/$host.render-ipv4/sysctl.d/60-hortus.conf"
        done
        # The comparison itself must notice a difference.
        python3 -c '
import json, sys
mapping = json.load(open(sys.argv[1]))
mapping["abhoth"]["sysctl"]["net.ipv4.conf.wg-hastur.rp_filter"] = 2
json.dump(mapping, open(sys.argv[2], "w"))
' "$mapping" "$work/mapping.mutated.json"
        if python3 "$here/compare-sysctl.py" "$work/mapping.mutated.json" abhoth \
            "$work/abhoth.render/sysctl.d/60-hortus.conf" >/dev/null 2>&1; then
            fail "the sysctl comparison notices a changed value"
        else
            pass "the sysctl comparison notices a changed value"
        fi
    else
        fail "tests/nix/mapping.nix evaluates (IPv4 overlay)" "$(cat "$work/err")"
    fi

    # The comparison itself must notice a difference.
    python3 -c '
import json, sys
host = json.load(open(sys.argv[1]))
host["netdevs"]["20-wg-hastur"]["netdevConfig"]["MTUBytes"] += 1
json.dump(host, open(sys.argv[2], "w"))
' "$work/abhoth.mapping.json" "$work/abhoth.mutated.json"
    if python3 "$here/compare-networkd.py" "$work/abhoth.mutated.json" "$work/abhoth.render/networkd" >/dev/null 2>&1; then
        fail "the networkd comparison notices a changed MTU"
    else
        pass "the networkd comparison notices a changed MTU"
    fi

    # With a preshared key file on both sides.
    if eval_json "$work/psk.json" "$here/mapping.nix" --arg planFile "$plan" --argstr privateKeyFile "$key_file" \
        --argstr presharedKeyFile /run/keys/hortus-psk 2>"$work/err" &&
        python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["abhoth"], open(sys.argv[2], "w"))' \
            "$work/psk.json" "$work/abhoth.psk.json" &&
        "$hortus" render examples/six-nodes.toml --host abhoth --format networkd -o "$work/abhoth.psk.render" \
            --private-key-file "$key_file" --preshared-key-file /run/keys/hortus-psk 2>"$work/err"; then
        check "mapping with presharedKeyFile agrees with \`hortus render --preshared-key-file\`" \
            python3 "$here/compare-networkd.py" "$work/abhoth.psk.json" "$work/abhoth.psk.render/networkd"
    else
        fail "mapping and render with a preshared key file" "$(cat "$work/err")"
    fi

    # systemd-networkd itself parses the units NixOS would write.
    for host in abhoth azasos; do
        out=$(bash scripts/check-networkd-dir.sh "$work/$host.units" 2>&1)
        case $? in
            0) pass "systemd-networkd accepts the module's units of $host" ;;
            2) if [ "${HORTUS_REQUIRE_TOOLS:-}" = 1 ]; then
                   fail "systemd-networkd accepts the module's units of $host" "$out"
               else
                   skip "systemd-networkd check of $host: $out"
               fi ;;
            *) fail "systemd-networkd accepts the module's units of $host" "$out" ;;
        esac
    done
else
    fail "tests/nix/mapping.nix evaluates" "$(cat "$work/err")"
fi

# ------------------------------------------------ lib.mkPlan (IFD)
mkdir -p "$work/hortus/bin"
cp "$hortus" "$work/hortus/bin/hortus"
stub_pkgs="import $repo/$here/stub-pkgs.nix { hortusDir = \"$work/hortus\"; }"
# mkplan_case NAME EXPECTED_JSON MKPLAN_ARGS: run.mkPlan as IFD, compare.
mkplan_case() {
    local name=$1 expected=$2 args=$3
    if eval_json "$work/ifd.json" "${ifd_flags[@]}" -E "
        let pkgs = $stub_pkgs; in
        (import ./nix/run.nix).mkPlan ({ inherit (pkgs) runCommand hortus; } // $args)" 2>"$work/err"; then
        check "$name" python3 -c 'import json, sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' \
            "$work/ifd.json" "$expected"
    else
        fail "$name" "$(cat "$work/err")"
    fi
}
mkplan_case "mkPlan (IFD) of the TOML inventory equals \`hortus plan\`" "$plan" \
    "{ inventory = $repo/examples/six-nodes.toml; }"
mkplan_case "mkPlan (IFD) of the inventory as an attrset equals \`hortus plan\`" "$plan" \
    "{ inventory = builtins.fromTOML (builtins.readFile $repo/examples/six-nodes.toml); }"
mkplan_case "mkPlan (IFD) with host = \"abhoth\" equals \`hortus plan --host abhoth\`" "$work/abhoth.plan.json" \
    "{ inventory = $repo/examples/six-nodes.toml; host = \"abhoth\"; }"
if nix-instantiate --eval --strict "${ifd_flags[@]}" -E "
    let pkgs = $stub_pkgs; in
    (import ./nix/run.nix).mkPlan {
      inherit (pkgs) runCommand hortus;
      inventory = { mesh.babel.mac_key_file = ./README.md; nodes = { }; };
    }" >/dev/null 2>"$work/err"; then
    fail "mkPlan refuses a Nix path in an attrset inventory"
elif grep -q 'inventory.mesh.babel.mac_key_file is a Nix path' "$work/err"; then
    pass "mkPlan refuses a Nix path in an attrset inventory (it would enter the store)"
else
    fail "mkPlan refuses a Nix path in an attrset inventory" "$(cat "$work/err")"
fi
if nix-instantiate --eval --strict "${ifd_flags[@]}" -E "
    let pkgs = $stub_pkgs; in
    (import ./nix/run.nix).mkPlan { inherit (pkgs) runCommand hortus; inventory = { nodes.a = { id = 0; }; }; }" \
    >/dev/null 2>"$work/err"; then
    fail "mkPlan of a bad inventory fails with hortus' message"
elif grep -q 'missing field `public_key`' "$work/err"; then
    pass "mkPlan of a bad inventory fails with hortus' message"
else
    fail "mkPlan of a bad inventory fails with hortus' message" "$(cat "$work/err")"
fi

# ------------------------------------------------------------ the flake
# A copy of the working tree's files (tracked and untracked, not ignored),
# so the check sees uncommitted work and never copies target/.
flake=$work/flake
mkdir -p "$flake"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ -e "$file" ] && printf '%s\0' "$file"
done | (cd "$repo" && xargs -0 cp --parents -t "$flake")

# Without --override-input: these must not need the nixpkgs input (offline).
check_equal "flake: nixosModules.hortus is a function, evaluated without nixpkgs" \
    "$(nix "${nix_flags[@]}" eval --option substituters '' "path:$flake#nixosModules.hortus" --apply builtins.isFunction 2>&1)" true
check_equal "flake: nixosModules.default is a function too" \
    "$(nix "${nix_flags[@]}" eval --option substituters '' "path:$flake#nixosModules.default" --apply builtins.isFunction 2>&1)" true
check_equal "flake: lib.planVersion = $plan_version (\`hortus plan\`'s), without nixpkgs" \
    "$(nix "${nix_flags[@]}" eval --option substituters '' "path:$flake#lib.planVersion" 2>&1)" "$plan_version"
if nix "${nix_flags[@]}" eval --json --impure "${build_flags[@]}" --expr "
    let pkgs = $stub_pkgs; in
    (builtins.getFlake \"path:$flake\").lib.mkPlan { inherit pkgs; inventory = $repo/examples/six-nodes.toml; }" \
    >"$work/flake-plan.json" 2>"$work/err"; then
    check "flake: lib.mkPlan { pkgs; inventory; } (IFD, pkgs.hortus) equals \`hortus plan\`" \
        python3 -c 'import json, sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' "$work/flake-plan.json" "$plan"
else
    fail "flake: lib.mkPlan (IFD)" "$(cat "$work/err")"
fi

# With nixpkgs replaced by a local stand-in: every output evaluates.
stub=$work/stub-nixpkgs
cp -r "$here/stub-nixpkgs" "$stub"
if [ -n "${HORTUS_NIXPKGS_LIB:-}" ] && [ -d "$HORTUS_NIXPKGS_LIB/lib" ]; then
    cp -r "$HORTUS_NIXPKGS_LIB/lib" "$stub/lib"
fi
override=(--override-input nixpkgs "path:$stub" --no-write-lock-file)
version=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["workspace"]["package"]["version"])' Cargo.toml)
check "flake: checks.x86_64-linux.nix-mapping (goldens) evaluates to a derivation" \
    nix "${nix_flags[@]}" eval --option substituters '' "${override[@]}" --raw \
    "path:$flake#checks.x86_64-linux.nix-mapping.drvPath"
names=$(nix "${nix_flags[@]}" eval --json --option substituters '' "${override[@]}" "path:$flake#packages" \
    --apply 'ps: builtins.mapAttrs (system: p: [ p.hortus.name p.default.name ]) ps' 2>"$work/err")
check_equal "flake: packages.*.{hortus,default} are hortus-$version for x86_64-linux and aarch64-linux" \
    "${names:-$(cat "$work/err")}" "{\"aarch64-linux\":[\"hortus-$version\",\"hortus-$version\"],\"x86_64-linux\":[\"hortus-$version\",\"hortus-$version\"]}"
if [ -d "$stub/lib" ]; then
    check "flake: nix flake check --no-build (nixpkgs stand-in with nixpkgs.lib)" \
        nix "${nix_flags[@]}" flake check --no-build --option substituters '' "${override[@]}" "path:$flake"
    # The package's source (lib.fileset): what cargo reads, nothing else.
    if src=$(nix "${nix_flags[@]}" eval --raw --option substituters '' "${override[@]}" \
        "path:$flake#packages.x86_64-linux.hortus.src" 2>"$work/err"); then
        check "flake: the package source holds the workspace, examples and nix/render-constants.json, not docs or other Nix files" bash -c '
            cd "$1" && test -f Cargo.toml -a -f Cargo.lock -a -f crates/hortus-cli/src/main.rs \
                -a -f examples/six-nodes.toml -a ! -e flake.nix -a ! -e docs -a ! -e target \
                -a "$(ls nix)" = render-constants.json \
                || { ls -la . nix; exit 1; }' src "$src"
    else
        fail "flake: the package source evaluates" "$(cat "$work/err")"
    fi
else
    skip "nix flake check needs HORTUS_NIXPKGS_LIB for checks.*.nixos-module (lib.evalModules)"
fi

# ------------------------------------- the NixOS module (lib.evalModules)
if [ -z "${HORTUS_NIXPKGS_LIB:-}" ] || [ ! -f "${HORTUS_NIXPKGS_LIB}/lib/default.nix" ]; then
    skip "module checks under lib.evalModules: set HORTUS_NIXPKGS_LIB to a nixpkgs lib checkout (a directory with lib/default.nix, e.g. nix-community/nixpkgs.lib)"
else
    nixlib="import ${HORTUS_NIXPKGS_LIB}/lib"
    if eval_json "$work/module.json" "$here/module-eval.nix" --arg lib "$nixlib" --arg planFile "$plan" \
        --argstr privateKeyFile "$key_file" 2>"$work/err"; then
        check "module: every host's networkd, firewall and sysctl values equal the goldens" python3 -c '
import json, sys
module = json.load(open(sys.argv[1]))
bad = [h for h in sys.argv[3:] if module.get(h) != json.load(open(f"{sys.argv[2]}/{h}.json"))]
assert not bad and len(module) == len(sys.argv[3:]), f"differ: {bad}"
' "$work/module.json" "$golden" "${hosts[@]}"
        for host in "${hosts[@]}"; do
            check "module: $host's boot.kernel.sysctl equals \`hortus render\`'s sysctl.d/60-hortus.conf" \
                python3 "$here/compare-sysctl.py" "$work/module.json" "$host" "$work/$host.render/sysctl.d/60-hortus.conf"
        done
    else
        fail "module: evaluates for every host" "$(cat "$work/err")"
    fi

    # The NAT table the nftables firewall gets: the body of the rendered one.
    python3 -c '
import sys
text = open(sys.argv[1]).read()
head = "table inet hortus_forwarder {\n"
assert text.count(head) == 1 and text.endswith("}\n"), text
open(sys.argv[2], "w").write(text.split(head, 1)[1][:-2])
' "$work/abhoth.render/forwarder/hortus-forwarder.nft" "$work/abhoth.nft-body" ||
        fail "the rendered hortus-forwarder.nft of abhoth has one table hortus_forwarder"

    if eval_json "$work/cases.json" "${ifd_flags[@]}" "$here/module-cases.nix" \
        --arg lib "$nixlib" --arg pkgs "$stub_pkgs" \
        --arg inventory "$repo/examples/six-nodes.toml" --arg planFile "$plan" --argstr host abhoth \
        --arg ipv4PlanFile "$work/plan-ipv4.json" \
        --arg hostPlanFile "$work/abhoth.plan.json" \
        --arg birdFile "$work/abhoth.render/bird.conf" --arg babeldFile "$work/abhoth.render/babeld.conf" \
        --arg sysctlFile "$work/abhoth.render/sysctl.d/60-hortus.conf" \
        --arg ipv4SysctlFile "$work/abhoth.render-ipv4/sysctl.d/60-hortus.conf" \
        --arg nftBodyFile "$work/abhoth.nft-body" \
        2>"$work/err"; then
        while IFS=$'\t' read -r ok name detail; do
            if [ "$ok" = true ]; then
                pass "module: $name"
            elif [ "$detail" = '"evaluation failed"' ]; then
                # The case alone, unguarded: its error message.
                nix-instantiate --eval --strict --json "${ifd_flags[@]}" "$here/module-cases.nix" \
                    --arg lib "$nixlib" --arg pkgs "$stub_pkgs" \
                    --arg inventory "$repo/examples/six-nodes.toml" --arg planFile "$plan" --argstr host abhoth \
                    --arg ipv4PlanFile "$work/plan-ipv4.json" \
                    --arg hostPlanFile "$work/abhoth.plan.json" \
                    --arg birdFile "$work/abhoth.render/bird.conf" --arg babeldFile "$work/abhoth.render/babeld.conf" \
                    --arg sysctlFile "$work/abhoth.render/sysctl.d/60-hortus.conf" \
                    --arg ipv4SysctlFile "$work/abhoth.render-ipv4/sysctl.d/60-hortus.conf" \
                    --arg nftBodyFile "$work/abhoth.nft-body" \
                    --argstr only "$name" >/dev/null 2>"$work/case.err"
                fail "module: $name" "$(grep -v '^ *… while\|^ *at \|^ *|\|^$' "$work/case.err" | tail -n 8)"
            else
                fail "module: $name" "$detail"
            fi
        done < <(python3 -c '
import json, sys
for name, case in sorted(json.load(open(sys.argv[1])).items()):
    ok, detail = str(case["ok"]).lower(), json.dumps(case["detail"])[:2000]
    print(f"{ok}\t{name}\t{detail}")
' "$work/cases.json")
    else
        fail "module: tests/nix/module-cases.nix evaluates" "$(cat "$work/err")"
    fi

    # The option table: the stand-in lib's equals nixpkgs' lib.optionAttrSetToDocList's.
    if eval_json "$work/docs-standin.json" "$here/option-docs.nix" -A options 2>"$work/err" &&
        eval_json "$work/docs-real.json" "$here/option-docs.nix" -A options --arg lib "$nixlib" 2>>"$work/err"; then
        check "option docs: the stand-in lib's option table (names, types, defaults, descriptions) equals nixpkgs' lib's" \
            python3 -c '
import json, sys
standin, real = (json.load(open(f)) for f in sys.argv[1:3])
diff = [(s, r) for s, r in zip(standin, real) if s != r]
assert len(standin) == len(real) and not diff, f"{len(standin)} vs {len(real)} options; first difference: {diff[:1]}"
' "$work/docs-standin.json" "$work/docs-real.json"
    else
        fail "option docs: tests/nix/option-docs.nix evaluates with the stand-in and with nixpkgs' lib" "$(cat "$work/err")"
    fi

    # A Nix path as privateKeyFile would copy the key into the store.
    if nix-instantiate --eval --strict -E "
        let m = import ./$here/module-eval.nix { lib = $nixlib; }; in
        (m.evalHost { services.hortus = { enable = true; planFile = $plan; hostName = \"abhoth\";
          privateKeyFile = ./README.md; birdConfigFile = ./README.md; }; }).services.hortus.privateKeyFile" \
        >/dev/null 2>"$work/err"; then
        fail "module: a Nix path as privateKeyFile is refused"
    elif grep -q "privateKeyFile' is not of type" "$work/err"; then
        pass "module: a Nix path as privateKeyFile is refused (type: null or string)"
    else
        fail "module: a Nix path as privateKeyFile is refused" "$(cat "$work/err")"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
