#!/usr/bin/env python3
"""Compare the NixOS module's networkd values with `hortus render` output.

Usage: compare-networkd.py HOST_JSON NETWORKD_DIR [--write DIR]

HOST_JSON holds one host's `{"netdevs": ..., "networks": ...}` as nix/lib.nix
maps them (nixpkgs' systemd.network.netdevs / networks shapes). They are
turned into unit files the way NixOS does (one [Section] per *Config attrset,
one [WireGuardPeer] / [Address] per list item, a list value as repeated keys)
and compared with the .netdev/.network files `hortus render --format
networkd` wrote into NETWORKD_DIR: the same file names, and in each file the
same sections with the same key=value lines (order within a section and
comments aside). Exit 0 if they agree, 1 with a description if not.

--write DIR also writes the NixOS-style unit files into DIR, e.g. for
scripts/check-networkd-dir.sh.
"""

import json
import sys
from pathlib import Path

from unitfile import parse_unit

# nixpkgs option name -> unit section name, per unit kind.
SECTIONS = {
    "netdev": {"netdevConfig": "NetDev", "wireguardConfig": "WireGuard", "wireguardPeers": "WireGuardPeer"},
    "network": {"matchConfig": "Match", "linkConfig": "Link", "networkConfig": "Network", "addresses": "Address"},
}


def unit_value(value):
    """A Nix value as NixOS writes it into a unit file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def section_lines(attrs):
    """key=value pairs of one section; a list gives the key once per item."""
    pairs = []
    for key, value in attrs.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, unit_value(item)))
    return pairs


def nix_unit(kind, unit):
    """[(section, pairs)] of one nixpkgs netdev/network attrset."""
    sections = []
    for option, value in unit.items():
        name = SECTIONS[kind].get(option)
        if name is None:
            raise SystemExit(f"compare-networkd: no rule for the {kind} option `{option}`; extend SECTIONS")
        for attrs in value if isinstance(value, list) else [value]:
            sections.append((name, section_lines(attrs)))
    return sections


def canonical(sections):
    """Order-insensitive form: sorted sections of sorted pairs."""
    return sorted((name, sorted(pairs)) for name, pairs in sections)


def render_unit(sections):
    """Unit file text of [(section, pairs)]."""
    blocks = ["[%s]\n%s" % (name, "".join(f"{k}={v}\n" for k, v in pairs)) for name, pairs in sections]
    return "\n".join(blocks)


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--write"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    host = json.loads(Path(argv[1]).read_text())
    rendered_dir = Path(argv[2])
    nix_files = {}
    for kind, option in (("netdev", "netdevs"), ("network", "networks")):
        for name, unit in host[option].items():
            nix_files[f"{name}.{kind}"] = nix_unit(kind, unit)
    try:
        rendered = {p.name: parse_unit(p.read_text()) for p in sorted(rendered_dir.iterdir()) if p.is_file()}
    except ValueError as e:
        raise SystemExit(f"compare-networkd: {e}") from e

    problems = []
    for name in sorted(set(nix_files) | set(rendered)):
        if name not in rendered:
            problems.append(f"{name}: made by the module, not by hortus render")
        elif name not in nix_files:
            problems.append(f"{name}: written by hortus render, missing from the module")
        elif canonical(nix_files[name]) != canonical(rendered[name]):
            problems.append(
                f"{name} differs:\n--- module\n{render_unit(canonical(nix_files[name]))}"
                f"--- hortus render\n{render_unit(canonical(rendered[name]))}"
            )

    if len(argv) == 5:
        out = Path(argv[4])
        out.mkdir(parents=True, exist_ok=True)
        for name, sections in nix_files.items():
            (out / name).write_text(render_unit(sections))

    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{len(rendered)} files agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
