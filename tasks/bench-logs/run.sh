#!/usr/bin/env bash
# Benchmark `rampart logs summary` against the tools administrators use,
# in one run on one generated file, and write the `## Logs` section of
# BENCHMARKS.md at the repository root.
#
#   tasks/bench-logs/run.sh [LINES]        # default 1000000
#
# Env: BENCH_RUNS (best of N for the fast tools, default 3),
#      SKIP_FAIL2BAN=1 (fail2ban-regex takes minutes on 1M lines),
#      SKIP_NFLOG=1 (the NFLOG burst needs root, ip, iptables and ping),
#      CARGO_TARGET_DIR (where to build; default target/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lines=${1:-1000000}
runs=${BENCH_RUNS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
cd "$root"

command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
cargo build --release -q -p rampart-cli
cargo build --release -q -p rampart-logs --example gen_logs
rampart=$target/release/rampart

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/bench.log
"$target/release/examples/gen_logs" "$lines" > "$log"
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache for every tool alike

results=$work/results.tsv
: > "$results"

# measure NAME RUNS CMD... : best wall time of RUNS runs, with the peak RSS
# and CPU time (user + system) of that run.
measure() {
    local name=$1 n=$2
    shift 2
    local best="" rss="" cpu="" i
    for ((i = 0; i < n; i++)); do
        /usr/bin/time -v -o "$work/time" "$@" > "$work/out" 2> /dev/null || true
        local wall kb used
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0
            for (j = 1; j <= n; j++) s = s * 60 + p[j]
            print s }' "$work/time")
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
        used=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$work/time")
        if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then
            best=$wall rss=$kb cpu=$used
        fi
    done
    printf '%s\t%s\t%s\t%s\n' "$name" "$best" "$rss" "$cpu" >> "$results"
    printf '%-34s %8ss %8s KB %8ss CPU\n' "$name" "$best" "$rss" "$cpu" >&2
}

measure 'grep -c SRC=' "$runs" grep -c 'SRC=' "$log"
measure 'awk top sources' "$runs" sh -c "awk '{for(i=1;i<=NF;i++) if (\$i ~ /^SRC=/) {c[substr(\$i,5)]++; break}} END {for (s in c) print c[s], s}' '$log' | sort -rn | head -10"
measure 'python3 regex (top_sources.py)' 1 python3 "$root/tasks/bench-logs/top_sources.py" "$log"
if [[ ${SKIP_FAIL2BAN:-0} != 1 ]] && command -v fail2ban-regex > /dev/null; then
    measure 'fail2ban-regex SRC=<HOST>' 1 fail2ban-regex "$log" 'SRC=<HOST>'
    f2b=$(fail2ban-regex --version 2>/dev/null | head -1 || true)
else
    f2b="not run (install: apt-get install -y fail2ban)"
fi
measure 'rampart logs summary -j 1' "$runs" "$rampart" logs summary -j 1 "$log"
measure 'rampart logs summary -j 2' "$runs" "$rampart" logs summary -j 2 "$log"

# Instructions per line: callgrind counts are the same on a loaded machine.
# A 100,000-line file minus an empty one, so start-up is not counted.
ipl="not measured (install valgrind)"
if command -v valgrind > /dev/null; then
    "$target/release/examples/gen_logs" 100000 > "$work/small.log"
    : > "$work/empty.log"
    irs() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$rampart" logs summary -j 1 "$1" 2>&1 >/dev/null |
            awk '/Collected :/ {print $NF}'
    }
    small=$(irs "$work/small.log")
    empty=$(irs "$work/empty.log")
    ipl=$(( (small - empty) / 100000 ))
    echo "instructions per line: $ipl" >&2
fi

# NFLOG burst: 100,000 flood pings inside a namespace made for this run
# = 200,000 NFLOG messages (request and reply leave through OUTPUT).
nflog="not run"
if [[ ${SKIP_NFLOG:-0} != 1 ]]; then
    ns=rampart-bench-$$-logs
    ip netns add "$ns"
    trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
    ip -n "$ns" link set lo up
    ip netns exec "$ns" iptables -A OUTPUT -p icmp -j NFLOG --nflog-group 5 --nflog-prefix "RULE 9 -- ACCEPT "
    ip netns exec "$ns" "$rampart" logs collect --nflog 5 --rcvbuf 268435456 --exit-idle 3 \
        --to "$work/nflog.log" 2> "$work/nflog.err" &
    collector=$!
    sleep 1
    start=$(date +%s.%N)
    ip netns exec "$ns" ping -f -q -c 100000 127.0.0.1 > /dev/null
    end=$(date +%s.%N)
    wait "$collector" || true
    got=$(wc -l < "$work/nflog.log")
    summary=$(tail -1 "$work/nflog.err")
    nflog=$(awk -v s="$start" -v e="$end" -v g="$got" -v m="$summary" \
        'BEGIN { printf "200000 messages sent in %.2f s (%.0f/s); collected %d lines; collector said: %s", e - s, 200000 / (e - s), g, m }')
    ip netns del "$ns"
    trap 'rm -rf "$work"' EXIT
    echo "NFLOG burst: $nflog" >&2
fi

python3 - "$results" "$root/BENCHMARKS.md" "$lines" "$bytes" "$runs" "$f2b" "$nflog" "$ipl" <<'PY'
import os, re, subprocess, sys
results, md, lines, size, runs, f2b, nflog, ipl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
rows = [l.rstrip("\n").split("\t") for l in open(results)]
ref = next(float(r[1]) for r in rows if r[0] == "rampart logs summary -j 1")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
out = ["## Logs", "",
       f"One generated file: {lines:,} lines, {size / 1e6:.1f} MB (mixed syslog, RFC 3339, dmesg, kmsg and",
       "journal-JSON envelopes; Rampart, ufw, firewalld and free prefixes; TCP/UDP/ICMP/IPv6; 400 sources).",
       f"Machine: {os.cpu_count()} CPUs ({cpu}), load average at start {open('/proc/loadavg').read().split()[0]}.",
       f"Wall time is the best of {runs} runs for the fast tools, one run for Python and fail2ban; peak RSS from `/usr/bin/time -v`.",
       "On a shared machine (load above the CPU count) every wall time is inflated and `-j 2` cannot help: compare the ratios of one run.",
       f"fail2ban: {f2b}.", "",
       "CPU s is user + system time of the same run; lines per CPU second is what one core does,",
       "and is far less inflated by a loaded machine than wall time.",
       f"Instructions per line (rampart -j 1, callgrind, 100,000 generated lines, start-up subtracted): {ipl}.", "",
       f"Reproduce (as root, for the NFLOG burst): `BENCH_RUNS={runs} tasks/bench-logs/run.sh {lines}`", "",
       "| tool | wall s | lines/s | MB/s | CPU s | lines per CPU s | peak RSS MB | time / rampart -j 1 |",
       "|---|---:|---:|---:|---:|---:|---:|---:|"]
for name, wall, kb, cpu in rows:
    w = max(float(wall), 1e-3)
    c = max(float(cpu), 1e-3)
    out.append(f"| {name} | {w:.2f} | {lines / w:,.0f} | {size / 1e6 / w:,.0f} | {c:.2f} | {lines / c:,.0f} | {int(kb) / 1024:.1f} | {w / ref:.2f}x |")
out += ["", "`grep -c` and the awk one-liner only count or pick one field; the Python script and",
        "rampart read every line (rampart: envelope, time span, prefix attribution, and every LOG field",
        "checked, so lines read only in part are counted as such).", "",
        f"NFLOG burst (`rampart logs collect --nflog 5 --rcvbuf 268435456` in a network namespace, `ping -f -c 100000 127.0.0.1`): {nflog}.", ""]
section = "\n".join(out)
text = open(md).read() if os.path.exists(md) else "# Benchmarks\n\n"
if re.search(r"^## Logs$", text, re.M):
    text = re.sub(r"^## Logs\n.*?(?=^## |\Z)", section + "\n", text, flags=re.S | re.M)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(md, "w").write(text.rstrip("\n") + "\n")
print(section)
PY
