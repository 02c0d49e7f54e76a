#!/usr/bin/env bash
# Renders the report of examples/kvm-bridges.rp and takes the screenshot
# the README shows (docs/report-kvm-bridges.png) with headless Chromium.
# Needs the Debian package chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/report
mkdir -p "$out" docs
cargo run --quiet --locked -- report examples/kvm-bridges.rp -o "$out/kvm-bridges.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1500 \
  --screenshot="$PWD/docs/report-kvm-bridges.png" "file://$PWD/$out/kvm-bridges.html" 2>/dev/null
echo "docs/report-kvm-bridges.png written"
