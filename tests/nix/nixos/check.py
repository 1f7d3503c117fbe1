#!/usr/bin/env python3
"""Checks of the whole-NixOS tier's evaluations against `hortus plan` / `hortus render`.

    check.py OUT GEN STORE

OUT/cases.tsv names the cases (./run.sh) and OUT/<case>.json holds what eval.nix
returned; GEN/<variant>/ holds the plan, the host views and the renders. For
each case: the evaluation reached toplevel.drvPath (the .drv is in STORE), no
assertion failed, no warning but the plan's own, services.hortus.plan is
`hortus plan --host`, the routing daemon's config is `hortus render` byte for
byte, the networkd units NixOS' networkd.nix wrote equal `hortus render
--format networkd` section by section and key by key, the phantun units'
arguments and the NAT rules equal `hortus render --format forwarder`'s (the
nftables table byte for byte; the iptables commands one to one from the
plan's `node.nat_rules`), the sysctls services.hortus defines equal `hortus
render`'s sysctl.d/60-hortus.conf, and the firewall is what the plan and the
case ask for. Prints one line per check, a summary table, and `N passed, N
failed`.
"""
import json
import shlex
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import unitfile  # noqa: E402  (tests/nix/unitfile.py)

out, gen, store = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
passed = failed = 0
rows = []


def parse_unit(text):
    """A unit as [(section, Counter of (key, value))]: comments, blank lines
    and the order of keys inside a section do not count; repeated keys do."""
    return [(f"[{name}]", Counter(pairs)) for name, pairs in unitfile.parse_unit(text)]


def unit_diff(name, nixos, rendered):
    """'' when equal, else what differs."""
    a, b = parse_unit(nixos), parse_unit(rendered)
    if [s for s, _ in a] != [s for s, _ in b]:
        return f"{name}: sections {[s for s, _ in a]} != {[s for s, _ in b]}"
    for (section, x), (_, y) in zip(a, b):
        if x != y:
            return f"{name} {section}: NixOS only {sorted((x - y).elements())}, render only {sorted((y - x).elements())}"
    return ""


def stderr_warnings(name):
    """The warnings Nix printed while evaluating case NAME (lib.warn, traces)."""
    return [l.strip() for l in (out / f"{name}.err").read_text().splitlines() if "warning:" in l.lower()]


def params(args):
    p = {"variant": "v6", "daemon": '"bird"', "mode": '"planFile"', "trustInterfaces": "true",
         "firewall": '"iptables"', "rpfilter": "true"}
    for a in args.split():
        k, _, v = a.partition("=")
        p[k] = v
    return {k: v.strip('"') for k, v in p.items()}


def check_case(name, args, rc):
    p = params(args)
    host, variant, daemon = p["host"], p["variant"], p["daemon"]
    g = gen / variant
    results = []

    def check(ok, what, detail=""):
        results.append((bool(ok), what, detail))

    if rc != 0:
        err = (out / f"{name}.err").read_text().splitlines()
        errors = [l.strip().removeprefix("| ") for l in err if "error:" in l] or err[-3:]
        check(False, "evaluates", " | ".join(errors[-3:])[:600])
        return results
    r = json.loads((out / f"{name}.json").read_text())
    plan = json.loads((g / "plan.json").read_text())
    host_plan = json.loads((g / f"{host}.plan.json").read_text())

    drv = r["toplevel"]
    check(drv.endswith(".drv") and (store / drv.lstrip("/")).exists(), "toplevel.drvPath instantiated", drv)
    check(r["failedAssertions"] == [], "no failed assertion", r["failedAssertions"])
    intended = [f"hortus: {w}" for w in plan["warnings"]]
    check(r["warnings"] == intended, "no warning but the plan's", r["warnings"])
    # The plan's own warnings may show twice: as NixOS evaluation warnings,
    # and from `hortus plan` building the plan (inventory mode, IFD).
    stray = [l for l in stderr_warnings(name) if not any(w in l for w in plan["warnings"])]
    check(not stray, "no other warning printed while evaluating", stray[:5])
    check(r["plan"] == host_plan, "services.hortus.plan == hortus plan --host")

    # The routing daemon: the rendered config, the other one off.
    if daemon == "bird":
        want = (g / host / "bird.conf").read_text()
        check(r["bird"]["enable"] and r["bird"]["config"] == want and not r["babeld"]["enable"],
              "services.bird.config == hortus render --format bird (babeld off)")
    else:
        want = (g / host / "babeld.conf").read_text()
        check(r["babeld"]["enable"] and r["babeld"]["extraConfig"] == want and not r["bird"]["enable"],
              "services.babeld.extraConfig == hortus render --format babeld (BIRD off)")

    # networkd: the units NixOS' networkd.nix wrote against the rendered files.
    rendered = {f.name: f.read_text() for f in sorted((g / host / "networkd").iterdir())}
    units = r["units"]
    mesh = {n for n, t in units.items() if any(l.strip().startswith(("Name=wg-", "Name=anchor-")) for l in t.splitlines())}
    check(mesh <= set(rendered) and set(rendered) <= set(units), "networkd unit names == hortus render's",
          f"NixOS only: {sorted(mesh - set(rendered))}, render only: {sorted(set(rendered) - set(units))}")
    diffs = [d for n in sorted(set(rendered) & set(units)) if (d := unit_diff(n, units[n], rendered[n]))]
    check(not diffs, f"{len(rendered)} networkd units == hortus render (sections, key=value)", "; ".join(diffs)[:800])

    # Firewall.
    fw = r["firewall"]
    wg = sorted({n for n in (l.split(".")[0] for l in rendered) if n.startswith("20-wg-")})
    wg = sorted(n[len("20-"):] for n in wg)
    pfw = host_plan["node"]["firewall"]
    babel_port = pfw["babel_udp_port"]
    check(sorted(fw["allowedUDPPorts"]) == sorted(pfw["udp_ports"]),
          "firewall opens the plan's UDP ports (node.firewall.udp_ports)", fw["allowedUDPPorts"])
    check(sorted(wg) == sorted(pfw["mesh_interfaces"]), "the rendered WireGuard units are the plan's mesh_interfaces",
          {"render": wg, "plan": pfw["mesh_interfaces"]})
    if p["trustInterfaces"] == "true":
        check(set(wg) <= set(fw["trustedInterfaces"]) and not set(wg) & set(fw["interfaces"]),
              "mesh interfaces trusted", fw)
    else:
        check(not set(wg) & set(fw["trustedInterfaces"])
              and all(fw["interfaces"].get(i, {}).get("allowedUDPPorts") == [babel_port] for i in wg),
              f"mesh interfaces untrusted, Babel (UDP {babel_port}, node.firewall.babel_udp_port) open on each", fw)
    backend = p["firewall"]
    want_rpf = False if (backend == "iptables" and p["rpfilter"] == "false") else "loose"
    check(fw["backend"] == backend and fw["nftables"] == (backend == "nftables") and fw["checkReversePath"] == want_rpf,
          f"firewall backend {backend}, checkReversePath {json.dumps(want_rpf)}",
          {k: fw[k] for k in ("backend", "nftables", "checkReversePath")})

    # Forwarders: a phantun unit per one `hortus render --format forwarder`
    # writes, with its arguments; the servers' TCP ports open; NAT rules in
    # the firewall backend's form.
    fdir = g / host / "forwarder"
    want_units = {f.name: f.read_text() for f in sorted(fdir.glob("hortus-phantun-*.service"))} if fdir.is_dir() else {}
    f = r["forwarder"]

    def exec_args(text):
        # systemd's ExecStart= quoting, as far as these arguments need it (shell-like quotes).
        # Without the programs' paths (store paths in NixOS): phantun's, and
        # hortus' when it runs phantun (`hortus forwarder-client ... -- phantun ...`).
        line = next((l for l in text.splitlines() if l.startswith("ExecStart=")), "ExecStart=")
        argv = shlex.split(line.removeprefix("ExecStart="))
        if argv[1:2] == ["forwarder-client"] and "--" in argv:
            at = argv.index("--")
            return argv[1:at + 1] + argv[at + 2:]
        return argv[1:]

    bad = {n: (exec_args(f["units"].get(n, "")), exec_args(t)) for n, t in want_units.items()
           if exec_args(f["units"].get(n, "")) != exec_args(t)}
    check(set(f["units"]) == set(want_units) and not bad,
          f"{len(want_units)} phantun units == hortus render --format forwarder (ExecStart arguments)",
          {"NixOS": sorted(f["units"]), "render": sorted(want_units), "differ": bad})
    check(sorted(f["allowedTCPPorts"]) == sorted(pfw["tcp_ports"]),
          "firewall opens the phantun servers' TCP ports (node.firewall.tcp_ports)", f["allowedTCPPorts"])
    # The forwarders' rules (the perimeter's masquerading is checked below).
    rules = [r for r in host_plan["node"]["nat_rules"] if r["action"] in ("dnat", "masquerade")]
    if backend == "nftables":
        nft = fdir / "hortus-forwarder.nft"
        head = "table inet hortus_forwarder {\n"
        want_body = nft.read_text().split(head, 1)[1][:-2] if nft.is_file() else None
        check(f["nftables"] == want_body,
              "nftables table hortus_forwarder == hortus render's hortus-forwarder.nft table, byte for byte",
              {"NixOS": f["nftables"], "render": want_body})
    else:
        def ipt(r):
            if r["action"] == "dnat":
                return [f"{cmd} -t nat -A hortus-fwd-pre ! -i {r['except_interface']} -p tcp --dport {r['port']}"
                        f" -m addrtype --dst-type LOCAL -j DNAT --to-destination {to}"
                        for cmd, to in (("iptables", r["to"]), ("ip6tables", r["to6"]))]
            return [f"{cmd} -t nat -A hortus-fwd-post -s {src} -j MASQUERADE"
                    for cmd, src in (("iptables", r["from"]), ("ip6tables", r["from6"]))]
        got = sorted(l.strip() for l in f["extraCommands"].splitlines() if " -A hortus-fwd-" in l)
        want_ipt = sorted(l for r in rules for l in ipt(r))
        check(got == want_ipt, f"iptables NAT commands == the plan's {len(rules)} nat_rules, one to one",
              {"NixOS": got, "plan": want_ipt})

    # The perimeter (services.hortus.perimeter, on by default): the table
    # `hortus render --format firewall` writes, byte for byte, in the
    # nftables backend; with iptables, the hortus-firewall service loads it.
    fwfile = g / host / "firewall" / "hortus-firewall.nft"
    head = "table inet hortus_firewall {\n"
    want_fw = fwfile.read_text().split(head, 1)[1][:-2]
    per = r["perimeter"]
    if backend == "nftables":
        check(per["nftables"] == want_fw and per["unit"] is None,
              "nftables table hortus_firewall == hortus render --format firewall's table, byte for byte",
              {"NixOS": per["nftables"], "render": want_fw})
    else:
        unit = per["unit"] or ""
        check(per["nftables"] is None and "/bin/nft -f " in unit and "Before=network-pre.target" in unit,
              "hortus-firewall.service loads the perimeter table with nft (iptables backend)", unit[:400])

    # Host names (nix/hosts.nix): every line `hortus render --format hosts`
    # writes is in networking.hosts.
    want_hosts = [l.split() for l in (g / host / "hosts").read_text().splitlines() if l.strip() and not l.startswith("#")]
    missing = [l for l in want_hosts if not set(l[1:]) <= set(r["hosts"].get(l[0], []))]
    check(want_hosts and not missing, f"networking.hosts has the {len(want_hosts)} lines of hortus render --format hosts",
          missing)

    # Reconfiguration (nix/reconcile.nix): /etc/hortus/plan.json is the host's
    # plan, and hortus-reconcile.service runs `hortus reconcile` on it after networkd.
    rec = r["reconcile"]
    unit = rec["unit"] or ""
    check(rec["plan"] is not None and json.loads(rec["plan"]) == host_plan
          and "/bin/hortus reconcile --plan /etc/hortus/plan.json" in unit
          and any(l.startswith("After=") and "systemd-networkd.service" in l for l in unit.splitlines()),
          "/etc/hortus/plan.json == hortus plan --host; hortus-reconcile.service runs on it after networkd",
          {"plan installed": rec["plan"] is not None, "unit": unit[:400]})

    # Sysctls: what services.hortus defines is the rendered sysctl.d file
    # (the plan's node.sysctl); the system's values agree.
    rendered_sysctl = unitfile.parse_sysctl_d((g / host / "sysctl.d" / "60-hortus.conf").read_text())
    own = rendered_sysctl
    check(r["hortusSysctl"] == own, f"sysctl: services.hortus defines the {len(rendered_sysctl)} keys of hortus render's"
          " sysctl.d/60-hortus.conf", {"module": r["hortusSysctl"], "render": rendered_sysctl})
    s = r["sysctl"]
    bad = {k: (s.get(k), v) for k, v in own.items() if s.get(k) != v}
    check(not bad, "sysctl: the system's values of those keys are the same", bad)
    return results


cases = [l.split("\t") for l in (out / "cases.tsv").read_text().splitlines()[1:]]
for name, args, rc, seconds, rss in cases:
    if name == "stand-ins":
        results = []
        if rc == "0":
            r = json.loads((out / "stand-ins.json").read_text())
            results.append((r["count"] > 0 and not r["differences"],
                            f"the {r['count']} options tests/nix/nixos-stubs.nix declares exist in NixOS with the same types",
                            r["differences"]))
        else:
            err = [l.strip().removeprefix("| ") for l in (out / "stand-ins.err").read_text().splitlines() if "error:" in l]
            results.append((False, "evaluates", " | ".join(err[-3:])[:600]))
    elif name == "vm-mesh":
        results = []
        if rc == "0":
            r = json.loads((out / "vm-mesh.json").read_text())
            ok = all(v.endswith(".drv") and (store / v.lstrip("/")).exists() for v in (r["driver"], r["test"]))
            results.append((ok, f"driver and test .drv instantiated, nodes {r['nodes']}", r))
            stray = stderr_warnings("vm-mesh")
            results.append((not stray, "no warning printed while evaluating", stray[:5]))
        else:
            err = [l.strip().removeprefix("| ") for l in (out / "vm-mesh.err").read_text().splitlines() if "error:" in l]
            results.append((False, "evaluates", " | ".join(err[-3:])[:600]))
    else:
        results = check_case(name, args, int(rc))
    for ok, what, detail in results:
        if ok:
            passed += 1
            print(f"ok   {name}: {what}")
        else:
            failed += 1
            print(f"FAIL {name}: {what}\n     | {detail}")
    good = sum(ok for ok, _, _ in results)
    rows.append((name, args.replace('"', ""), seconds, f"{int(rss) // 1024}" if rss.isdigit() else "?",
                 f"{good}/{len(results)}", "pass" if good == len(results) else "FAIL"))

# The unit comparison itself notices a changed value, and ignores key order.
sample = next((out / f"{c[0]}.json" for c in cases if c[0] not in ("vm-mesh", "stand-ins") and c[2] == "0"), None)
if sample is not None:
    units = json.loads(sample.read_text())["units"]
    name, text = next((n, t) for n, t in sorted(units.items()) if "MTUBytes=" in t)
    changed = text.replace("MTUBytes=", "MTUBytes=1", 1)
    # Every section's key lines in reverse order.
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("["):
            blocks.append(current)
            current = [line]
        elif line.strip():
            current.append(line)
    blocks.append(current)
    reordered = "\n".join(line for b in blocks for line in (b[:1] + b[1:][::-1] if b and b[0].startswith("[") else b))
    ok = reordered != text and unit_diff(name, changed, text) != "" and unit_diff(name, reordered, text) == ""
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(f"{'ok  ' if ok else 'FAIL'} the unit comparison notices a changed MTUBytes in {name}, not reordered keys")
print()
header = ("case", "settings", "eval s", "max RSS MiB", "checks", "result")
widths = [max(len(str(x[i])) for x in rows + [header]) for i in range(len(header))]
for row in [header, tuple("-" * w for w in widths)] + rows:
    print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
print()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
