#!/usr/bin/env python3
"""Babel timers under random loss: route flaps and failover, in `hortus lab`.

Usage: scripts/bench-loss.py OUT_DIR     (root; after scripts/install-test-deps.sh
                                           and `source scripts/env.sh`)

Every cell (routing daemon x hello/update timers x loss) is an all-public
4-node lab of its own (6 WireGuard tunnels, wireguard-go), and all cells run
at the same time, so they share the machine's conditions. In each cell:

  1. `hortus lab up`, `lab wait`, then `hortus lab loss PERCENT`: every node
     drops PERCENT % of what it sends on its underlay (nftables `numgen
     random`), so each direction of each tunnel loses that share;
  2. SETTLE_S seconds of settling (babeld's smoothing moves routes onto the
     direct links only over the first minute or so);
  3. the flap window: `hortus lab watch --for WINDOW_S --json` records every
     settled change of each node's route to each other node (12 routes).
     Nothing is cut, so every change is a flap: a move to another tunnel or
     a loss of the route, each counted once;
  4. CUTS times: wait until n0 and n1 route to each other directly, cut the
     n0-n1 tunnel in n0 (underlay drop, both ways), CUT_S later heal it, and
     wait up to HEAL_S for both to be direct again, all while `lab watch`
     runs and n0 pings n1 every 10 ms. Outage = lost pings x 10 ms (what an
     application sees); failover = from the cut until both n0->n1 and n1->n0
     have a route through another tunnel (as `lab watch` saw it); back =
     from the heal until both are direct.

Power loss (KILLS > 0): per daemon and timers one more 4-node lab without
loss, where n0's link to n1 costs 1000 (`link_costs`), so n0 reaches n1
through n2 or n3. KILLS times: n0 pings n1 every 10 ms while the relay in
use is killed (`lab kill`); outage = lost x 10 ms; then `lab revive` and
wait (up to REVIVE_S) until every node reaches every other.

Environment: PREFIX ("hl": namespaces hl0-..., hl1-...), KILLS (20), REVIVE_S (240), DAEMONS ("bird babeld"), TIMERS ("100/2000 1000/2000:old":
hello/update ms, optionally `:old` for the settings before plan format 7 —
babeld without link quality, 4 s smoothing, BIRD's own limit 12), LOSSES ("0 2 5": percent), WINDOW_S (3600), SETTLE_S (120),
CUTS (5), CUT_S (15), HEAL_S (60), HORTUS (default target/release/hortus).
Results: OUT_DIR/results.json (every cell's figures), OUT_DIR/summary.md (the
tables), OUT_DIR/<cell>/ (its inventory, events and log).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HORTUS = os.environ.get("HORTUS", str(REPO / "target/release/hortus"))
DAEMONS = os.environ.get("DAEMONS", "bird babeld").split()
# The settings before plan format 7 (`:old` after a TIMERS entry).
OLD_SETTINGS = ["link_quality = false", "smoothing_half_life = 4", "hello_limit = 12"]
TIMERS = [
    (*(int(x) for x in t.split(":")[0].split("/")), t.endswith(":old"))
    for t in os.environ.get("TIMERS", "100/2000 1000/2000:old").split()
]
LOSSES = [int(x) for x in os.environ.get("LOSSES", "0 2 5").split()]
WINDOW_S = int(os.environ.get("WINDOW_S", "3600"))
SETTLE_S = int(os.environ.get("SETTLE_S", "120"))
CUTS = int(os.environ.get("CUTS", "5"))
CUT_S = int(os.environ.get("CUT_S", "15"))
HEAL_S = int(os.environ.get("HEAL_S", "60"))
KILLS = int(os.environ.get("KILLS", "20"))
REVIVE_S = int(os.environ.get("REVIVE_S", "240"))
PING_INTERVAL_S = 0.01
PREFIX = os.environ.get("PREFIX", "hl")
NODES = 4


def now_ms():
    return int(time.time() * 1000)


class Cell:
    """One daemon x timers x loss lab."""

    def __init__(self, index, daemon, hello, update, old, loss, out, tmp, kills=False):
        self.daemon, self.hello, self.update, self.old, self.loss = daemon, hello, update, old, loss
        self.kills = kills
        kind = "kills" if kills else f"loss{loss}"
        self.name = f"{daemon}-{hello}-{update}{'-old' if old else ''}-{kind}"
        self.dir = out / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = tmp / self.name
        self.prefix = f"{PREFIX}{index}-"
        self.ulas = {}
        self.log = open(self.dir / "log", "a")
        self.result = {"daemon": daemon, "hello_ms": hello, "update_ms": update, "old": old, "loss_percent": loss}
        if kills:
            self.result["kind"] = "kills"

    def lab(self, *args, check=True, stdout=None):
        cmd = [HORTUS, "lab", "--state-dir", str(self.state), *args]
        print("$", " ".join(cmd), file=self.log, flush=True)
        out = subprocess.run(cmd, stdout=stdout or self.log, stderr=self.log, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{self.name}: `{' '.join(args)}` failed with {out.returncode}")
        return out

    def inventory(self):
        lines = ["[mesh.babel]", f"hello_interval_ms = {self.hello}", f"update_interval_ms = {self.update}"]
        lines += (OLD_SETTINGS if self.old else []) + [""]
        for i in range(NODES):
            key = subprocess.run("wg genkey | wg pubkey", shell=True, capture_output=True, text=True, check=True)
            lines += [f"[nodes.n{i}]", f"id = {i}", f'public_key = "{key.stdout.strip()}"']
            lines += [f'endpoints = ["192.0.2.{i + 1}"]']
            lines += (["link_costs = { n1 = 1000 }"] if self.kills and i == 0 else []) + [""]
        path = self.dir / "inventory.toml"
        path.write_text("\n".join(lines))
        return path

    def ula(self, node):
        """Node's ULA, from the lab's plan (read once, after `up`)."""
        if not self.ulas:
            plan = json.loads((self.state / "plan.json").read_text())
            self.ulas = {name: n["address"] for name, n in plan["nodes"].items()}
        return self.ulas[node]

    def route_dev(self, a, b):
        """The interface of a's route to b's ULA, or None."""
        out = subprocess.run(
            ["ip", "-n", self.prefix + a, "-j", "-6", "route", "get", self.ula(b), "from", self.ula(a)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            return None
        routes = json.loads(out.stdout or "[]")
        return routes[0].get("dev") if routes else None

    def wait_direct(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if self.route_dev("n0", "n1") == "wg-n1" and self.route_dev("n1", "n0") == "wg-n0":
                return True
            time.sleep(0.2)
        return False

    def ping(self, a, b, seconds):
        """n pings from a to b every 10 ms, started now; returns the process."""
        count = str(int(seconds / PING_INTERVAL_S))
        cmd = ["ip", "netns", "exec", self.prefix + a, "ping", "-6", "-n", "-q", "-i", str(PING_INTERVAL_S), "-c", count]
        cmd += ["-W", "1", "-I", self.ula(a), self.ula(b)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def outage(ping):
        """Lost pings x 10 ms, in seconds (None when ping's summary is missing)."""
        out, _ = ping.communicate()
        for line in out.splitlines():
            if "transmitted" in line:
                sent, received = int(line.split()[0]), int(line.split()[3])
                return round((sent - received) * PING_INTERVAL_S, 2)
        return None

    def run(self):
        try:
            self.lab("up", str(self.inventory()), "--daemon", self.daemon, "--name", self.prefix)
            self.lab("wait", "--timeout", "120")
            if self.kills:
                self.power_losses()
                return
            if self.loss:
                self.lab("loss", str(self.loss))
            time.sleep(SETTLE_S)
            self.flap_window()
            self.failovers()
        except Exception as e:  # noqa: BLE001 - a failed cell is reported, the others go on
            self.result["error"] = str(e)
        finally:
            self.lab("down", check=False)
            self.log.close()

    def flap_window(self):
        events = self.dir / "window.jsonl"
        start = now_ms()
        with open(events, "w") as f:
            self.lab("watch", "--for", f"{WINDOW_S}s", "--json", stdout=f)
        end = now_ms()
        self.result["window"] = window_figures(read_events(events), start, end)

    def failovers(self):
        events = self.dir / "cuts.jsonl"
        cuts = []
        with open(events, "w") as f:
            cmd = [HORTUS, "lab", "--state-dir", str(self.state), "watch", "--json"]
            watch = subprocess.Popen(cmd, stdout=f, stderr=self.log, start_new_session=True)
            try:
                time.sleep(1)
                for _ in range(CUTS):
                    if not self.wait_direct(HEAL_S):
                        cuts.append({"skipped": "n0-n1 not direct"})
                        continue
                    ping = self.ping("n0", "n1", CUT_S)
                    time.sleep(0.5)
                    cut = now_ms()
                    self.lab("cut", "n0", "n1")
                    outage = self.outage(ping)
                    heal = now_ms()
                    self.lab("heal", "n0", "n1")
                    self.wait_direct(HEAL_S)
                    time.sleep(1)
                    cuts.append({"cut_ms": cut, "heal_ms": heal, "outage_s": outage})
            finally:
                os.killpg(watch.pid, 15)
                watch.wait()
        evs = read_events(events)
        made = [c for c in cuts if "cut_ms" in c]
        nexts = [c["cut_ms"] for c in made[1:]] + [float("inf")]
        self.result["cuts"] = [{**cut_figures(evs, c, n), "outage_s": c["outage_s"]} for c, n in zip(made, nexts)]
        self.result["cuts_skipped"] = len(cuts) - len(made)


    def relay(self):
        """The node n0's route to n1 goes through, or None."""
        dev = self.route_dev("n0", "n1")
        return dev[3:] if dev in ("wg-n2", "wg-n3") else None

    def power_losses(self):
        kills = []
        for _ in range(KILLS):
            end = time.time() + HEAL_S
            while self.relay() is None and time.time() < end:
                time.sleep(0.2)
            relay = self.relay()
            if relay is None:
                kills.append({"skipped": "n0 -> n1 through no relay"})
                continue
            ping = self.ping("n0", "n1", 3)
            time.sleep(0.5)
            self.lab("kill", relay)
            outage = self.outage(ping)
            self.lab("revive", relay)
            started = time.time()
            revived = self.lab("wait", "--timeout", str(REVIVE_S), check=False).returncode == 0
            kills.append({"relay": relay, "outage_s": outage, "reconnected_s": round(time.time() - started, 1) if revived else None})
        self.result["kills"] = kills


def read_events(path):
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            out.append(json.loads(line))
    return sorted(out, key=lambda e: e["unix_ms"])


def window_figures(events, start, end):
    """Flaps and time off the direct route in a window without cuts."""
    changes = [e for e in events if not e["initial"]]
    state = {}
    off_direct = unreachable = 0
    for e in events:
        key = (e["host"], e["destination"])
        t = max(e["unix_ms"], start)
        if key in state:
            since, direct, has_route = state[key]
            off_direct += 0 if direct else t - since
            unreachable += 0 if has_route else t - since
        state[key] = (t, e["direct"], e["interface"] is not None)
    for since, direct, has_route in state.values():
        off_direct += 0 if direct else end - since
        unreachable += 0 if has_route else end - since
    route_ms = max(1, len(state) * (end - start))
    hours = (end - start) / 3_600_000
    return {
        "seconds": round((end - start) / 1000),
        "routes": len(state),
        "initial_not_direct": sum(1 for e in events if e["initial"] and not e["direct"]),
        "flaps": len(changes),
        "flaps_per_hour": round(len(changes) / hours, 1) if hours else None,
        "losses_of_route": sum(1 for e in changes if e["interface"] is None),
        "off_direct_percent": round(100 * off_direct / route_ms, 3),
        "unreachable_percent": round(100 * unreachable / route_ms, 3),
    }


def cut_figures(events, cut, until):
    """Failover, flaps while cut, and the way back (before `until`, the
    next cut), for one n0-n1 cut."""
    c, h = cut["cut_ms"], cut["heal_ms"]
    out = {"failover_s": None, "flaps_while_cut": 0, "back_s": None}
    failover = []
    back = []
    for host, dest in (("n0", "n1"), ("n1", "n0")):
        mine = [e for e in events if e["host"] == host and e["destination"] == dest and not e["initial"]]
        during = [e for e in mine if c <= e["unix_ms"] < h]
        detour = next((e for e in during if e["interface"] is not None and not e["direct"]), None)
        failover.append((detour["unix_ms"] - c) / 1000 if detour else None)
        if detour:
            out["flaps_while_cut"] += sum(1 for e in during if e["unix_ms"] > detour["unix_ms"])
        after = [e for e in mine if h <= e["unix_ms"] < until]
        last_direct = next((e for e in reversed(after) if e["direct"]), None)
        back.append((last_direct["unix_ms"] - h) / 1000 if last_direct and after[-1]["direct"] else None)
    out["failover_s"] = None if None in failover else max(failover)
    out["back_s"] = None if None in back else max(back)
    return out


def median_range(values, digits=1):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    med = round(statistics.median(values), digits)
    return f"{med} s ({round(min(values), digits)}–{round(max(values), digits)})"


def timers(r):
    return f"{r['hello_ms']}/{r['update_ms']}" + (" (old settings)" if r.get("old") else "")


def percentiles(values):
    """p50 / p95 / max of the values that are not None, and how many were."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return "—"
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values):.2f} / {p95:.2f} / {values[-1]:.2f} s (n={len(values)})"


def summary(results):
    lines = []
    for daemon in DAEMONS:
        lines += [
            f"### {daemon}",
            "",
            "| hello/update | loss | window | flaps (losses of route) | flaps per hour, 12 routes | off direct | unreachable | outage p50 / p95 / max (10 ms pings) | failover (routes) | back to direct | flaps while cut |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|",
        ]
        for r in results:
            if r["daemon"] != daemon:
                continue
            if r.get("kind") == "kills":
                kills = r.get("kills", [])
                slow = [k["reconnected_s"] for k in kills if "reconnected_s" in k]
                lines.append(
                    f"| {timers(r)} | power loss of the relay | {len(kills)} kills | | | | "
                    f"| {percentiles([k.get('outage_s') for k in kills])} | | revived relay reconnected: {percentiles(slow)} | |"
                    if "error" not in r
                    else f"| {timers(r)} | power loss | failed: {r.get('error')} |"
                )
                continue
            w = r.get("window")
            cuts = [c for c in r.get("cuts", []) if "failover_s" in c]
            if w is None:
                lines.append(f"| {timers(r)} | {r['loss_percent']} % | failed: {r.get('error')} |")
                continue
            timeouts = sum(1 for c in cuts if c["failover_s"] is None)
            fail = median_range([c["failover_s"] for c in cuts]) + (f", {timeouts} none" if timeouts else "")
            lines.append(
                f"| {timers(r)} | {r['loss_percent']} % | {w['seconds'] // 60} min "
                f"| {w['flaps']} ({w['losses_of_route']}) | {w['flaps_per_hour']} | {w['off_direct_percent']} % "
                f"| {w['unreachable_percent']} % | {percentiles([c.get('outage_s') for c in cuts])} "
                f"| {fail} | {median_range([c['back_s'] for c in cuts])} "
                f"| {sum(c['flaps_while_cut'] for c in cuts)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if os.geteuid() != 0:
        sys.exit("bench-loss: run as root")
    for tool in ("wg", "ip", "nft"):
        if shutil.which(tool) is None:
            sys.exit(f"bench-loss: {tool} is required")
    if not os.access(HORTUS, os.X_OK):
        subprocess.run(["cargo", "build", "-q", "--release", "--bin", "hortus"], cwd=REPO, check=True)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hortus-bench-loss."))
    version = subprocess.run([HORTUS, "--version"], capture_output=True, text=True).stdout.strip()
    header = (
        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {version}, {os.cpu_count()} cores, "
        f"WINDOW_S={WINDOW_S} SETTLE_S={SETTLE_S} CUTS={CUTS} CUT_S={CUT_S} HEAL_S={HEAL_S} KILLS={KILLS}"
    )
    print(header, flush=True)
    cells = []
    for daemon in DAEMONS:
        for hello, update, old in TIMERS:
            for loss in LOSSES:
                cells.append(Cell(len(cells), daemon, hello, update, old, loss, out, tmp))
            if KILLS:
                cells.append(Cell(len(cells), daemon, hello, update, old, 0, out, tmp, kills=True))
    threads = [threading.Thread(target=c.run) for c in cells]
    for t in threads:
        t.start()
        time.sleep(2)  # stagger the bring-ups
    for t in threads:
        t.join()
    results = [c.result for c in cells]
    (out / "results.json").write_text(json.dumps({"run": header, "cells": results}, indent=2) + "\n")
    table = summary(results)
    (out / "summary.md").write_text(f"{header}\n\n{table}")
    print(table)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
