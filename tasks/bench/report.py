#!/usr/bin/env python3
"""results.tsv (from tasks/bench/run.sh) -> the BENCHMARKS.md section."""

import sys
from collections import defaultdict

meta = {}
val = defaultdict(dict)  # (n, tool, metric) -> {kind: value}
sizes = []
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.rstrip("\n").split("\t")
    if parts[0] == "meta":
        meta[parts[1]] = parts[2]
        continue
    n, tool, metric, kind, value = parts[0], parts[1], parts[2], parts[3], "\t".join(parts[4:])
    n = int(n)
    if n not in sizes:
        sizes.append(n)
    val[(n, tool, metric)][kind] = value


def status(n, tool, metric):
    """Why there is no figure, or None."""
    v = val.get((n, tool, metric), {})
    if "dnf" in v:
        return f"did not finish in {v['dnf']} s"
    if "fail" in v:
        return "failed: " + v["fail"]
    if "skip" in v:
        return v["skip"]
    if "time" not in v:
        return "not measured"
    return None


def secs(n, tool, metric):
    s = status(n, tool, metric)
    if s:
        return s
    t = float(val[(n, tool, metric)]["time"])
    return f"{t:.3f} s" if t < 10 else f"{t:.1f} s"


def mb(n, tool, metric):
    s = status(n, tool, metric)
    if s or "rss" not in val[(n, tool, metric)]:
        return "–"
    return f"{int(val[(n, tool, metric)]['rss']) / 1024:.0f} MB"


def ratio(n, a, b, kind="time"):
    """Rampart (a) / peer (b) as a factor; with a bound when the peer did not finish."""
    va, vb = val.get(a and (n,) + a, {}), val.get((n,) + b, {})
    if kind not in va:
        return "–"
    x = float(va[kind])
    if "dnf" in vb and kind == "time":
        return f"< {x / float(vb['dnf']):.4f}"
    if kind not in vb or float(vb[kind]) == 0:
        return "–"
    r = x / float(vb[kind])
    return f"{r:.4f}" if r < 0.01 else f"{r:.3f}" if r < 1 else f"{r:.2f}"


out = []
w = out.append
w("## Compile and load: Rampart vs Firewall Builder vs Aerleon\n")
w(f"Measured by `tasks/bench/run.sh` on {meta.get('date', '?')}: {meta.get('machine', '?')} "
  f"({meta.get('cpu', '?')}). Firewall Builder {meta.get('fwbuilder', '?')} (Debian), "
  f"Aerleon {meta.get('aerleon', '?')} (PyPI), {meta.get('iptables', '?')}, {meta.get('nft', '?')}.")
w("")
w(f"Load average (1 min): {meta.get('load_before', '?')} before the run; "
  f"{meta.get('load_during', '?')} during it; {meta.get('load_after', '?')} after. "
  "The machine is shared: other builds ran at the same time, so absolute figures are noisy; "
  "the ratios compare tools measured in the same minutes.")
w("")
w(f"Each figure is the median of {meta.get('runs', '?')} runs (a run longer than {meta.get('long', '?')} s, and "
  "Firewall Builder's compile in iptables-restore mode, are run once); "
  f"bounds: {meta.get('timeouts', '?')}. "
  "wall time and peak RSS from `/usr/bin/time -v`. A ratio is Rampart / peer: below 1, Rampart is faster or smaller. "
  "Where the peer did not finish, the ratio is an upper bound.")
w("")
w("Reproduce (as root, from the repository root):")
w("")
w("```")
w(meta.get("command", "sudo tasks/bench/run.sh 1000 10000 100000"))
w("```")
w("")

w("### Compile: wall time and peak memory\n")
w("Rampart's compile includes every check, the W0301 shadowing check among them. "
  "Firewall Builder here runs with its shadowing check off (`check_shading` false); with it on, see the last table.\n")
w("| N | tool | time | peak RSS | Rampart/peer time | Rampart/peer memory |")
w("|---:|---|---:|---:|---:|---:|")
rows = [
    ("rampart", "compile-ipt", "Rampart → iptables-restore", None),
    ("rampart", "compile-nft", "Rampart → nft", None),
    ("fwb", "compile", "Firewall Builder (fwb_ipt), script", ("rampart", "compile-ipt")),
    ("fwb-restore", "compile", "Firewall Builder, iptables-restore mode", ("rampart", "compile-ipt")),
    ("aerleon", "compile-ipt", "Aerleon → iptables", ("rampart", "compile-ipt")),
    ("aerleon", "compile-nft", "Aerleon → nftables", ("rampart", "compile-nft")),
]
for n in sizes:
    for tool, metric, label, ref in rows:
        if (n, tool, metric) not in val:
            continue
        rt = ratio(n, ref, (tool, metric)) if ref else ""
        rm = ratio(n, ref, (tool, metric), "rss") if ref else ""
        w(f"| {n:,} | {label} | {secs(n, tool, metric)} | {mb(n, tool, metric)} | {rt} | {rm} |")
w("")

w("### Output size and load time into a scratch network namespace\n")
w("Rules are counted in the kernel after loading (`iptables-save` `-A` lines; nft rules in `nft -a list ruleset`). "
  "Firewall Builder's default script makes one `iptables` call per rule; its iptables-restore mode and "
  "Aerleon's iptables output (wrapped in `*filter`/`COMMIT`) load in one `iptables-restore`.\n")
w("| N | output | bytes | rules in kernel | load time | Rampart/peer load time |")
w("|---:|---|---:|---:|---:|---:|")
loads = [
    ("rampart-ipt", "rampart/rules.v4", "Rampart iptables-restore", None),
    ("rampart-nft", "rampart/rules.nft", "Rampart nft -f", None),
    ("fwb", "fwb/fw.fw", "Firewall Builder script (iptables calls)", ("rampart-ipt", "load")),
    ("fwb-restore", "fwb-restore/fw.fw", "Firewall Builder script, iptables-restore mode", ("rampart-ipt", "load")),
    ("aerleon-ipt", "aerleon-ipt/bench", "Aerleon iptables", ("rampart-ipt", "load")),
    ("aerleon-nft", "aerleon-nft/bench.nft", "Aerleon nftables", ("rampart-nft", "load")),
]
for n in sizes:
    for tool, f, label, ref in loads:
        size = val.get((n, "file", f), {}).get("bytes")
        if size is None and (n, tool, "load") not in val:
            continue
        rules = val.get((n, tool, "load"), {}).get("rules", "–")
        rt = ratio(n, ref, (tool, "load")) if ref else ""
        w(f"| {n:,} | {label} | {int(size):,} | {rules} | {secs(n, tool, 'load')} | {rt} |" if size
          else f"| {n:,} | {label} | – | {rules} | {secs(n, tool, 'load')} | {rt} |")
w("")

w("### Shadowing analysis\n")
w("Rampart: `rampart check` (parse, resolve, all checks, W0301 among them). Firewall Builder: `fwb_ipt` with "
  "`check_shading` on, as in its shipped templates (compile included; the compile without the check is in the first table).\n")
w("| N | Rampart check | Firewall Builder with shadowing check | Rampart/peer |")
w("|---:|---:|---:|---:|")
for n in sizes:
    w(f"| {n:,} | {secs(n, 'rampart', 'shadow')} | {secs(n, 'fwb', 'shadow')} | "
      f"{ratio(n, ('rampart', 'shadow'), ('fwb', 'shadow'))} |")
w("")
print("\n".join(out))
