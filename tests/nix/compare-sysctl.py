#!/usr/bin/env python3
"""Compare the NixOS side's boot.kernel.sysctl with `hortus render`'s sysctl.d file.

Usage: compare-sysctl.py JSON HOST SYSCTL_CONF [--and JSON HOST SYSCTL_CONF]...

JSON maps host names to `{"sysctl": {key: value}, ...}` (tests/nix/mapping.nix
or module-eval.nix); SYSCTL_CONF is the sysctl.d/60-hortus.conf `hortus render`
wrote for HOST. They must hold the same keys with the same values. Exit 0 if
every triple agrees, 1 with a description if not.
"""

import json
import sys
from pathlib import Path

from unitfile import parse_sysctl_d


def compare(json_file, host, conf):
    nix = json.loads(Path(json_file).read_text())[host]["sysctl"]
    rendered = parse_sysctl_d(Path(conf).read_text())
    problems = [f"{k}: Nix {nix.get(k)!r}, render {rendered.get(k)!r}"
                for k in sorted(set(nix) | set(rendered)) if nix.get(k) != rendered.get(k)]
    return [f"{host} ({json_file} vs {conf}): {p}" for p in problems], len(rendered)


def main(argv):
    args = argv[1:]
    triples = []
    while args:
        if triples and args[0] == "--and":
            args = args[1:]
        if len(args) < 3 or "--and" in args[:3]:
            print(__doc__.strip().splitlines()[2], file=sys.stderr)
            return 2
        triples.append(args[:3])
        args = args[3:]
    if not triples:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    problems, counts = [], []
    for triple in triples:
        p, n = compare(*triple)
        problems += p
        counts.append(n)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{' + '.join(map(str, counts))} keys agree")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
