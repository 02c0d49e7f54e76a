#!/usr/bin/env bash
# Runs every Rampart test, the kernel tests included.
#
# Kernel tests build network namespaces and load rulesets with the real
# iptables-restore and nft, so this needs root. Missing Debian packages are
# installed first; a test whose tool is still missing fails (never skips).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iptables nftables iproute2 iputils-ping sudo socat util-linux procps kmod systemd dsniff conntrack
  openssh-client openssh-server fwbuilder netbase man-db file vim ansible-core chromium ipset fail2ban)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}; run as root (sudo $0) to install them" >&2
    exit 2
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# LOG lines from namespaces reach the kernel log through nf_log_syslog.
modprobe nf_log_syslog 2>/dev/null || true

# CI builds with the declared minimum Rust version, so the MSRV is what CI
# proves: raising either is one conscious change to both.
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
if ! rustc --version | grep -q "^rustc $msrv\."; then
  echo "rustc is $(rustc --version), the workspace declares rust-version $msrv" >&2
  exit 2
fi

# Snapshots are the expected output: a missing or changed one fails the run,
# and the run never writes one (whatever the CI variable says).
export INSTA_UPDATE=no
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# The Debian package: built once (release, static), installed, removed.
tasks/package/test.sh 2>&1 | tee -a "$log"
# One closing line for the whole run, summed over every test binary.
# Ignored and filtered tests are counted too: a test that does not run proves
# nothing, so any ignored test fails the run.
awk '/^test result:/ { p += $4; f += $6; i += $8; x += $12 } /^package: / { p += $2; f += $4 }
  END { printf "tests: %d passed, %d failed, %d ignored, %d filtered out\n", p, f, i, x; exit (i > 0) }' "$log"
