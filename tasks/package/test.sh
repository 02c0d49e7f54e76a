#!/usr/bin/env bash
# The Debian package as an administrator meets it: build it, install it
# with dpkg, use what it installed, remove and purge it, and check that
# nothing is left. Needs root and a host without the rampart package.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "package test failed: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root (it installs the package)"
if dpkg-query -W -f='${Status}' rampart 2>/dev/null | grep -q installed; then
  fail "a rampart package is already installed here; remove it first (dpkg -r rampart)"
fi

[ ! -e /etc/rampart/policy.rp ] || fail "/etc/rampart/policy.rp exists and is not the package's; move it away first"
etc_before=$([ -e /etc/rampart ] && echo yes || echo no)

deb=$(tasks/package/build.sh | tail -n 1)
[ -f "$deb" ] || fail "build.sh printed no .deb: $deb"
trap 'dpkg --purge rampart >/dev/null 2>&1 || true' EXIT

passed=0
check() { # check NAME COMMAND...: one named check; stops the test on failure
  local name=$1
  shift
  "$@" >/tmp/rampart-package-check.log 2>&1 || { cat /tmp/rampart-package-check.log >&2; fail "$name"; }
  passed=$((passed + 1))
}

check "dpkg -i installs it" dpkg -i "$deb"
check "the binary is static" sh -c 'file -b /usr/bin/rampart | grep -q static'
check "rampart --version" sh -c "/usr/bin/rampart --version | grep -qx 'rampart $(dpkg-deb -f "$deb" Version | sed 's/-.*//')'"
check "man -w rampart" man -w rampart
check "man -w rampart-policy" sh -c 'man -w rampart-policy | grep -q man5'
check "a page per subcommand" man -w rampart-compile
check "the editor files are installed" test -f /usr/share/vim/vimfiles/syntax/rampart.vim \
  -a -f /usr/share/vim/vimfiles/ftdetect/rampart.vim -a -f /usr/share/rampart/editors/rampart.tmLanguage.json
check "the fail2ban action is installed" grep -q "^actionban = <rampart> set add" /etc/fail2ban/action.d/rampart.conf
check "the example policy checks" rampart check /etc/rampart/policy.rp
check "the bash completion loads and completes the example's firewall" bash -c '
  source /usr/share/bash-completion/completions/rampart
  COMP_WORDS=(rampart compile /etc/rampart/policy.rp --firewall ""); COMP_CWORD=4
  _clap_complete_rampart rampart ""
  [ "${COMPREPLY[*]}" = server ]'
check "systemd accepts the units" systemd-analyze verify /usr/lib/systemd/system/rampart.service \
  /usr/lib/systemd/system/rampart-nft.service \
  /usr/lib/systemd/system/rampart-logs.service
check "dependencies declared" sh -c "dpkg-deb -f '$deb' Depends | tr -d ' ' | tr , '\n' | sort | tr '\n' ' ' | grep -qx 'conntrack iproute2 iptables|nftables '"

files=$(dpkg -L rampart | grep -v '^/\.$')
check "dpkg -r removes it" dpkg -r rampart
check "only the conffile stays after -r" sh -c '[ ! -e /usr/bin/rampart ] && [ -f /etc/rampart/policy.rp ]'
check "dpkg --purge removes the rest" dpkg --purge rampart
leftover=()
for f in $files; do
  [ -f "$f" ] && leftover+=("$f")
done
check "no file of the package is left" test ${#leftover[@]} -eq 0
check "the example policy is gone" test ! -e /etc/rampart/policy.rp
if [ "$etc_before" = no ]; then
  check "/etc/rampart is gone" test ! -e /etc/rampart
fi
trap - EXIT
echo "package: $passed passed, 0 failed"
