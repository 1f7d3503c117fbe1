"""systemd unit files and sysctl.d files as the Nix tiers compare them
(compare-networkd.py, compare-sysctl.py, nixos/check.py)."""


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


def parse_sysctl_d(text):
    """{key: value} of a sysctl.d file's `key = value` lines (values as
    ints when they are numbers); comments and blank lines dropped. A key
    given twice, or a line that is not key = value, raises ValueError."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if "=" not in line:
            raise ValueError(f"not a sysctl.d line: {raw!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        if key in values:
            raise ValueError(f"sysctl.d key given twice: {key}")
        values[key] = int(value) if value.lstrip("-").isdigit() else value
    return values
