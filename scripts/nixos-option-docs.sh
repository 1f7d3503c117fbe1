#!/usr/bin/env bash
# The option reference in docs/nixos.md ("## Options"), between
#   <!-- BEGIN generated options --> and <!-- END generated options -->,
# is generated from the declarations in nix/module.nix and the modules it
# imports (tests/nix/option-docs.nix; Nix's builtins only, no nixpkgs).
# Edit an option's description there, then run this.
#
#   bash scripts/nixos-option-docs.sh           # rewrite the table in docs/nixos.md
#   bash scripts/nixos-option-docs.sh --check   # exit 1, showing the diff, if it differs
#
# tests/nix/run.sh runs the check. Needs nix-instantiate and python3.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

mode=write
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    *)
        echo "usage: $0 [--check]" >&2
        exit 2
        ;;
esac

# Debian's nix-bin has no nixbld group; evaluation needs none.
if [ -z "${NIX_CONFIG:-}" ] && ! getent group nixbld >/dev/null 2>&1; then
    export NIX_CONFIG="build-users-group ="
fi

table=$(nix-instantiate --eval --strict --json tests/nix/option-docs.nix -A markdown)

splice=$(
    cat <<'EOF'
import difflib, json, sys

mode, path = sys.argv[1], sys.argv[2]
table = json.loads(sys.stdin.read())
begin, end = "<!-- BEGIN generated options -->\n", "<!-- END generated options -->\n"
text = open(path, encoding="utf-8").read()
if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
    sys.exit(f"{path}: expected one {begin.strip()} line, then one {end.strip()} line")
head, rest = text.split(begin)
_, tail = rest.split(end)
wanted = head + begin + table + end + tail
if wanted == text:
    print(f"{path}: the option table is up to date")
elif mode == "check":
    sys.stdout.writelines(difflib.unified_diff(
        text.splitlines(True), wanted.splitlines(True), f"{path} (committed)", f"{path} (generated)"))
    print(f"{path}: the option table differs from the module's declarations; run bash scripts/nixos-option-docs.sh")
    sys.exit(1)
else:
    with open(path, "w", encoding="utf-8") as f:
        f.write(wanted)
    print(f"{path}: option table rewritten from the module's declarations")
EOF
)
python3 -c "$splice" "$mode" docs/nixos.md <<<"$table"
