#!/usr/bin/env bash
# Builds what Rampart ships: a static x86_64 binary (musl) and the Debian
# package around it (cargo-deb), with the man pages, the shell completions,
# the systemd units and an example policy in /etc/rampart/.
# Leaves target/debian/rampart_VERSION_amd64.deb and prints its path.
set -euo pipefail
cd "$(dirname "$0")/../.."

triple=x86_64-unknown-linux-musl
# cargo-deb's version is pinned so that the package's layout does not move.
deb_version=3.8.0

if ! rustup target list --installed | grep -qx "$triple"; then
  rustup target add "$triple"
fi
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $deb_version" ]; then
  cargo install --locked --quiet cargo-deb --version "$deb_version"
fi

cargo build --release --locked --target "$triple" -p rampart-cli
out="target/$triple/release"
bin="$out/rampart"
if ! file -b "$bin" | grep -q "static"; then
  echo "error: $bin is not statically linked: $(file -b "$bin")" >&2
  exit 2
fi

stage="$out/package"
rm -rf "$stage"
"$bin" manpages "$stage/man" 2>/dev/null
gzip -9n "$stage"/man/man*/*
mkdir -p "$stage/completions"
COMPLETE=bash "$bin" >"$stage/completions/rampart.bash"
COMPLETE=zsh "$bin" >"$stage/completions/_rampart"
COMPLETE=fish "$bin" >"$stage/completions/rampart.fish"
cargo run --quiet --locked -p rampart-package -- "$stage/units"

cargo deb --no-build --no-strip --locked --target "$triple" -p rampart-cli \
  --output target/debian/ | tail -n 1
