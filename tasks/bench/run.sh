#!/usr/bin/env bash
# Rampart against Firewall Builder and Aerleon on the same generated policy:
# compile time and peak memory, output size, load time into a scratch
# network namespace, and the shadowing analysis.
#
#   sudo tasks/bench/run.sh [N ...]        (default: 1000 10000 100000)
#
# Needs root (network namespaces) and Debian's apt-get; installs what is
# missing: fwbuilder, time, iptables, nftables, iproute2, python3-venv, and
# Aerleon from PyPI in a virtual environment. Builds rampart once, in
# release mode. Writes raw figures to $WORK/results.tsv and the Markdown
# section to $WORK/BENCHMARKS-section.md (tasks/bench/report.py).
#
# Environment: RUNS (default 3; each figure is the median), WORK (default
# /tmp/rampart-bench), CARGO_TARGET_DIR, COMPILE_TIMEOUT (default 300 s),
# LOAD_TIMEOUT (default 120 s), SHADOW_TIMEOUT (default 120 s), LONG
# (default 30 s: a run longer than this is not repeated).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000 100000)
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/rampart-bench}
COMPILE_TIMEOUT=${COMPILE_TIMEOUT:-300}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-120}
SHADOW_TIMEOUT=${SHADOW_TIMEOUT:-120}
LONG=${LONG:-30}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
NS=rampart-bench-$$

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, apt-get)" >&2; exit 2; }

# ---- peers and tools ------------------------------------------------------
missing=()
command -v fwb_ipt >/dev/null || missing+=(fwbuilder)
[ -x /usr/bin/time ] || missing+=(time)
command -v iptables-restore >/dev/null || missing+=(iptables)
command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || missing+=(iproute2)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
mkdir -p "$WORK"
VENV=$WORK/venv
if [ ! -x "$VENV/bin/aclgen" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q aerleon
fi
FWB_VERSION=$(dpkg-query -W -f '${Version}' fwbuilder 2>/dev/null || echo unknown)
AERLEON_VERSION=$("$VENV/bin/pip" show aerleon | awk '/^Version:/ {print $2}')

# ---- rampart, built once --------------------------------------------------
(cd "$ROOT" && cargo build --release -q -p rampart-cli -p rampart-bench)
RAMPART=$CARGO_TARGET_DIR/release/rampart
GEN=$CARGO_TARGET_DIR/release/rampart-bench

export HOME=$WORK/home   # fwb_ipt needs a writable HOME
mkdir -p "$HOME"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

RESULTS=$WORK/results.tsv
{
  printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'meta\tmachine\t%s, %s cores, %s\n' "$(uname -r)" "$(nproc)" \
    "$(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo)"
  printf 'meta\tcpu\t%s\n' "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  printf 'meta\tload_before\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'meta\tfwbuilder\t%s\n' "$FWB_VERSION"
  printf 'meta\taerleon\t%s\n' "$AERLEON_VERSION"
  printf 'meta\tiptables\t%s\n' "$(iptables --version)"
  printf 'meta\tnft\t%s\n' "$(nft --version)"
  printf 'meta\truns\t%s\n' "$RUNS"
  printf 'meta\tlong\t%s\n' "$LONG"
  printf 'meta\ttimeouts\tcompile %s s, load %s s, shadowing %s s\n' "$COMPILE_TIMEOUT" "$LOAD_TIMEOUT" "$SHADOW_TIMEOUT"
  printf 'meta\tcommand\t%s\n' "sudo tasks/bench/run.sh ${SIZES[*]}"
} > "$RESULTS"
: > "$WORK/loadavg.samples"   # 1-minute load average after each measurement

# One measurement: /usr/bin/time -v around `timeout`. Prints "WALL RSS_KB RC".
once() {
  local limit=$1; shift
  local tv; tv=$(mktemp)
  local rc=0
  /usr/bin/time -v -o "$tv" timeout "$limit" "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$tv")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
  rm -f "$tv"
  cut -d' ' -f1 /proc/loadavg >> "$WORK/loadavg.samples"
  echo "$wall $rss $rc"
}

# measure N TOOL METRIC LIMIT CMD...: RUNS runs, medians to results.tsv.
# A run that times out or fails is recorded with its reason, not repeated.
measure() {
  local n=$1 tool=$2 metric=$3 limit=$4; shift 4
  local walls=() rsss=()
  for ((r = 0; r < RUNS; r++)); do
    read -r wall rss rc < <(once "$limit" "$@")
    if [ "$rc" = 124 ]; then
      printf '%s\t%s\t%s\tdnf\t%s\n' "$n" "$tool" "$metric" "$limit" >> "$RESULTS"
      echo "  $tool $metric: did not finish in $limit s" >&2
      return 1
    elif [ "$rc" != 0 ]; then
      local why; why=$(tail -n 3 "$WORK/last.err" "$WORK/last.out" | tr '\t\n' '  ' | cut -c1-300)
      printf '%s\t%s\t%s\tfail\texit %s: %s\n' "$n" "$tool" "$metric" "$rc" "$why" >> "$RESULTS"
      echo "  $tool $metric: failed (exit $rc)" >&2
      return 1
    fi
    walls+=("$wall"); rsss+=("$rss")
    # A run longer than LONG seconds is not repeated.
    awk -v w="$wall" -v l="$LONG" 'BEGIN {exit !(w > l)}' && break
  done
  local mw mr
  mw=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  mr=$(printf '%s\n' "${rsss[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%s\t%s\t%s\ttime\t%s\n' "$n" "$tool" "$metric" "$mw" >> "$RESULTS"
  printf '%s\t%s\t%s\trss\t%s\n' "$n" "$tool" "$metric" "$mr" >> "$RESULTS"
  echo "  $tool $metric: ${mw} s, ${mr} KB" >&2
}

# Load FILE into a fresh namespace with CMD (run in the namespace), RUNS
# times; records the median time and the rules the kernel then holds.
load() {
  local n=$1 tool=$2 kind=$3; shift 3
  local walls=() count=""
  for ((r = 0; r < RUNS; r++)); do
    cleanup; ip netns add "$NS"
    read -r wall _ rc < <(once "$LOAD_TIMEOUT" ip netns exec "$NS" "$@")
    if [ "$rc" = 124 ]; then
      printf '%s\t%s\tload\tdnf\t%s\n' "$n" "$tool" "$LOAD_TIMEOUT" >> "$RESULTS"
      echo "  $tool load: did not finish in $LOAD_TIMEOUT s" >&2
      cleanup; return 1
    elif [ "$rc" != 0 ]; then
      local why; why=$(tail -n 3 "$WORK/last.err" "$WORK/last.out" | tr '\t\n' '  ' | cut -c1-300)
      printf '%s\t%s\tload\tfail\texit %s: %s\n' "$n" "$tool" "$rc" "$why" >> "$RESULTS"
      echo "  $tool load: failed (exit $rc)" >&2
      cleanup; return 1
    fi
    walls+=("$wall")
    awk -v w="$wall" -v l="$LONG" 'BEGIN {exit !(w > l)}' && r=$RUNS
    if [ -z "$count" ]; then
      case $kind in
        ipt) count=$(ip netns exec "$NS" iptables-save -t filter | grep -c '^-A' || true) ;;
        nft) count=$(ip netns exec "$NS" nft -a list ruleset | grep '# handle' | grep -cvE '^\s*(table|chain|set|map) ' || true) ;;
      esac
    fi
  done
  cleanup
  local mw
  mw=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%s\t%s\tload\ttime\t%s\n' "$n" "$tool" "$mw" >> "$RESULTS"
  printf '%s\t%s\tload\trules\t%s\n' "$n" "$tool" "$count" >> "$RESULTS"
  echo "  $tool load: ${mw} s, $count rules in the kernel" >&2
}

skip() { printf '%s\t%s\t%s\tskip\t%s\n' "$1" "$2" "$3" "$4" >> "$RESULTS"; }

fwb_dnf=""       # set when Firewall Builder's compile did not finish
fwb_shadow_dnf=""
fwb_load_dnf=""
for n in "${SIZES[@]}"; do
  echo "== N=$n" >&2
  d=$WORK/n$n
  rm -rf "$d"; "$GEN" gen "$n" "$d"
  mkdir -p "$d/out/rampart" "$d/out/fwb" "$d/out/fwb-restore" "$d/out/fwb-shadow" "$d/out/aerleon-ipt" "$d/out/aerleon-nft"
  pol=$d/rampart/policy.rp

  # -- compile
  measure "$n" rampart compile-ipt "$COMPILE_TIMEOUT" "$RAMPART" compile "$pol" -o "$d/out/rampart/rules.v4" || true
  measure "$n" rampart compile-nft "$COMPILE_TIMEOUT" "$RAMPART" compile "$pol" -t nft -o "$d/out/rampart/rules.nft" || true
  if [ -n "$fwb_dnf" ]; then
    skip "$n" fwb compile "$fwb_dnf"; skip "$n" fwb-restore compile "$fwb_dnf"
  else
    measure "$n" fwb compile "$COMPILE_TIMEOUT" fwb_ipt -f "$d/fwb/fw.fwb" -d "$d/out/fwb" fw \
      || fwb_dnf="not run: failed or did not finish at N=$n"
    if [ -z "$fwb_dnf" ]; then
      RUNS=1 measure "$n" fwb-restore compile "$COMPILE_TIMEOUT" fwb_ipt -f "$d/fwb/fw-restore.fwb" -d "$d/out/fwb-restore" fw || true
    else
      skip "$n" fwb-restore compile "$fwb_dnf"
    fi
  fi
  # aclgen may exit 0 when a target fails: its log must say "done." without errors.
  for t in ipt nft; do
    dir=iptables; [ $t = nft ] && dir=nftables
    if measure "$n" aerleon compile-$t "$COMPILE_TIMEOUT" "$VENV/bin/aclgen" \
         --base_directory="$d/aerleon/$dir" --definitions_directory="$d/aerleon/def" \
         --output_directory="$d/out/aerleon-$t"; then
      if grep -qiE 'with errors|Error generating|Traceback' "$WORK/last.err" || [ -z "$(ls -A "$d/out/aerleon-$t")" ]; then
        why=$(grep -iE -m3 'error|unsupported' "$WORK/last.err" | tr '\t\n' '  ' | cut -c1-300)
        printf '%s\taerleon\tcompile-%s\tfail\tlog reports errors: %s\n' "$n" "$t" "$why" >> "$RESULTS"
      fi
    fi
  done

  # -- output size (bytes; rules are counted after loading)
  for f in "$d/out/rampart/rules.v4" "$d/out/rampart/rules.nft" "$d/out/fwb/fw.fw" "$d/out/fwb-restore/fw.fw" \
           "$d/out/aerleon-ipt/bench" "$d/out/aerleon-nft/bench.nft"; do
    [ -f "$f" ] && printf '%s\tfile\t%s\tbytes\t%s\n' "$n" "${f#"$d"/out/}" "$(stat -c %s "$f")" >> "$RESULTS"
  done

  # -- load into a scratch namespace
  [ -f "$d/out/rampart/rules.v4" ] && load "$n" rampart-ipt ipt iptables-restore "$d/out/rampart/rules.v4" || true
  [ -f "$d/out/rampart/rules.nft" ] && load "$n" rampart-nft nft nft -f "$d/out/rampart/rules.nft" || true
  if [ -f "$d/out/fwb/fw.fw" ]; then
    if [ -n "$fwb_load_dnf" ]; then skip "$n" fwb load "$fwb_load_dnf"
    else load "$n" fwb ipt sh "$d/out/fwb/fw.fw" start || fwb_load_dnf="not run: failed or did not finish at N=$n"; fi
  else
    skip "$n" fwb load "no output (compile did not finish)"
  fi
  if [ -f "$d/out/fwb-restore/fw.fw" ]; then load "$n" fwb-restore ipt sh "$d/out/fwb-restore/fw.fw" start || true
  else skip "$n" fwb-restore load "no output (compile did not finish)"; fi
  if [ -s "$d/out/aerleon-ipt/bench" ]; then
    # Aerleon's iptables output is the body of a filter table: wrap it.
    { echo '*filter'; grep -v '^#' "$d/out/aerleon-ipt/bench"; echo COMMIT; } > "$d/out/aerleon-ipt/bench.restore"
    load "$n" aerleon-ipt ipt iptables-restore "$d/out/aerleon-ipt/bench.restore" || true
  else
    skip "$n" aerleon-ipt load "no output"
  fi
  if [ -s "$d/out/aerleon-nft/bench.nft" ]; then load "$n" aerleon-nft nft nft -f "$d/out/aerleon-nft/bench.nft" || true
  else skip "$n" aerleon-nft load "no output"; fi

  # -- shadowing analysis
  measure "$n" rampart shadow "$COMPILE_TIMEOUT" "$RAMPART" check "$pol" || true
  if [ -n "$fwb_shadow_dnf" ]; then skip "$n" fwb shadow "$fwb_shadow_dnf"
  else
    measure "$n" fwb shadow "$SHADOW_TIMEOUT" fwb_ipt -f "$d/fwb/fw-shadow.fwb" -d "$d/out/fwb-shadow" fw \
      || fwb_shadow_dnf="not run: failed or did not finish at N=$n"
  fi
done

printf 'meta\tload_during\t%s\n' "$(sort -g "$WORK/loadavg.samples" | awk '{a[NR]=$1} END {printf "%s (min) / %s (median) / %s (max) over %d samples", a[1], a[int((NR+1)/2)], a[NR], NR}')" >> "$RESULTS"
printf 'meta\tload_after\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS"
python3 "$ROOT/tasks/bench/report.py" "$RESULTS" > "$WORK/BENCHMARKS-section.md"
echo "results: $RESULTS; section: $WORK/BENCHMARKS-section.md" >&2
