#!/usr/bin/env python3
"""Make a nixpkgs tree fit for a whole-NixOS evaluation of hortus, in place.

    prepare-nixpkgs.py TREE      # prints what it changed; exit 0 when TREE is fit

The neg-serg/nixpkgs-slim clone drops modules from nixos/modules/module-list.nix
that hortus hosts need (bird.nix, babeld.nix, the iptables/nftables firewall and
NAT backends) or NixOS test VMs need, and exposes only a whitelist of
pkgs/by-name. This adds the
modules after firewall.nix and turns the whitelist off. A full nixpkgs tree
needs neither and is left as it is. Run it on a copy (tests/nix/nixos/run.sh
does): the tree is never committed.
"""
import sys
from pathlib import Path

tree = Path(sys.argv[1])
modules = [
    "./services/networking/babeld.nix",
    "./services/networking/bird.nix",
    "./services/networking/firewall-iptables.nix",
    "./services/networking/firewall-nftables.nix",
    "./services/networking/nat-iptables.nix",
    "./services/networking/nat-nftables.nix",
    # For pkgs.testers.runNixOSTest (checks.x86_64-linux.vm-mesh): the test
    # VMs' qemu-vm.nix sets options these declare.
    "./services/networking/connman.nix",
    "./virtualisation/qemu-guest-agent.nix",
    "./tasks/filesystems/overlayfs.nix",
]

module_list = tree / "nixos/modules/module-list.nix"
text = module_list.read_text()
anchor = "  ./services/networking/firewall.nix\n"
missing = [m for m in modules if f"  {m}\n" not in text]
if missing:
    if anchor not in text:
        sys.exit(f"{module_list}: no line `{anchor.strip()}` to add {missing} after")
    text = text.replace(anchor, anchor + "".join(f"  {m}\n" for m in missing))
    module_list.unlink()  # a hard-linked copy: never write through to the source tree
    module_list.write_text(text)
    print(f"module list: added {', '.join(missing)}")

overlay = tree / "pkgs/top-level/by-name-overlay.nix"
text = overlay.read_text()
old = "filteredPackageFiles = if isMainByname then filterAttrs (name: _: whitelist ? ${name}) packageFiles else packageFiles;"
if old in text:
    text = text.replace(old, "filteredPackageFiles = packageFiles; # whitelist off for a whole-NixOS evaluation")
    overlay.unlink()
    overlay.write_text(text)
    print("by-name overlay: whitelist off")
elif "whitelist ?" in text:
    sys.exit(f"{overlay}: a by-name whitelist in a form this script does not know")
