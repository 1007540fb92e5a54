#!/usr/bin/env bash
# apt-get install, as root, leaving no service behind. Debian's maintainer scripts enable and
# start the daemon a package ships (prometheus and etcd-server do): the tests only want the
# binaries, which they start themselves on free loopback ports and stop by PID.
# Usage: scripts/apt-install.sh [apt-get install options] PACKAGE...
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
  saved="$(mktemp)"
  cp -p "$policy" "$saved"
fi
restore_policy() {
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT

# Every unit and init script enabled now, to tell apart what the install enables.
enabled() {
  { find /etc/systemd/system -path '*.wants/*' -name '*.service' -printf '%f\n' 2>/dev/null | sed 's/\.service$//'
    find /etc/rc[2-5].d -name 'S[0-9][0-9]*' -printf '%f\n' 2>/dev/null | sed 's/^S[0-9][0-9]//'; } | sort -u
}
before="$(enabled)"

# 101 = "action forbidden": invoke-rc.d and deb-systemd-invoke then start nothing.
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"
apt-get install -y -qq "$@" >/dev/null

for svc in $(comm -13 <(echo "$before") <(enabled)); do
  echo "apt-install: disabling the $svc service the install enabled" >&2
  if [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 || true
  fi
  [ -x "/etc/init.d/$svc" ] && { update-rc.d "$svc" disable >/dev/null 2>&1 || true; }
done
