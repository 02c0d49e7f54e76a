#!/usr/bin/env python3
"""What an administrator would write: a regex per line over a firewall log,
counting lines per prefix, top sources and top destination ports.
Usage: top_sources.py FILE [TOP]"""
import re
import sys
from collections import Counter

LINE = re.compile(
    r"(?:kernel: (?:\[\s*\d+\.\d+\] )?|^\[[^]]*\] |^\d+,\d+,\d+,[^;]*;|\"MESSAGE\":\")"
    r"(?P<prefix>.*?)IN=(?P<in>\S*) OUT=(?P<out>\S*) "
    r".*?SRC=(?P<src>\S+) DST=(?P<dst>\S+).*?PROTO=(?P<proto>\S+)(?: SPT=(?P<spt>\d+) DPT=(?P<dpt>\d+))?"
)


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    total = fw = 0
    prefixes: Counter = Counter()
    sources: Counter = Counter()
    ports: Counter = Counter()
    with open(path, "r", errors="replace") as f:
        for line in f:
            total += 1
            m = LINE.search(line)
            if not m:
                continue
            fw += 1
            prefixes[(m.group("prefix") or "").strip()] += 1
            sources[m.group("src")] += 1
            if m.group("dpt"):
                ports[(m.group("proto"), m.group("dpt"))] += 1
    print(f"lines: {total} total, {fw} firewall")
    for p, n in prefixes.most_common(top):
        print(f"{n:>9}  {p}")
    for s, n in sources.most_common(top):
        print(f"{n:>9}  {s}")
    for (proto, port), n in ports.most_common(top):
        print(f"{n:>9}  {port}/{proto}")


if __name__ == "__main__":
    main()
