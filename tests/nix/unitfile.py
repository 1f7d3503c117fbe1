"""systemd unit files as the Nix tiers compare them (compare-networkd.py,
nixos/check.py)."""


def parse_unit(text):
    """[(section, [(key, value)])] of a unit file's text, in file order;
    comments and blank lines dropped. A line that is neither a section
    header nor key=value inside a section raises ValueError."""
    sections = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1], []))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1].append((key.strip(), value.strip()))
        else:
            raise ValueError(f"not a unit line: {raw!r}")
    return sections
