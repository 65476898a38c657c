#!/usr/bin/env bash
# The Linux kernel pings (sizes 0, 56, 1472) and arpings tap_responder — the wire codecs over
# drivers/tap — through a TAP, then pings it through a TUN (no ARP there), each inside a private
# namespace. Also checks that opening a TUN by name as a TAP fails with exit 2 and one line.
# Usage: tap_kernel_ping.sh PATH/TO/tap_responder
# Exit 0 when everything works, 77 (printing "SKIP: <reason>") when it cannot run here, 1 on a
# failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

responder=${1:?usage: tap_kernel_ping.sh PATH/TO/tap_responder}
netns_require_root_or_skip
command -v ping >/dev/null 2>&1 || netns_skip "ping (iputils-ping) is not installed"
command -v arping >/dev/null 2>&1 || netns_skip "arping is not installed"

fail() {
  echo "FAIL: $*"
  exit 1
}

ns=$(netns_unique tapping)
netns_create "$ns" || fail "cannot create namespace $ns"

# link_has_carrier IF: the responder has attached (a tap/tun without a reader has NO-CARRIER).
# shellcheck disable=SC2317  # called through wait_for
link_has_carrier() {
  ip -n "$ns" link show "$1" | grep -q LOWER_UP
}

# pings ADDR: the kernel's ping at each size must get all its replies.
pings() {
  local addr=$1 size out
  for size in 0 56 1472; do
    out=$(ip netns exec "$ns" ping -c 3 -i 0.2 -W 2 -s "$size" "$addr" 2>&1) ||
      fail "ping -s $size $addr: $out"
    echo "ping -s $size $addr: $(grep 'packets transmitted' <<<"$out")"
  done
}

# --- TAP ---
ip -n "$ns" tuntap add dev tap0 mode tap || fail "ip tuntap add tap0"
ip -n "$ns" addr add 10.0.0.1/24 dev tap0 || fail "ip addr add tap0"
ip -n "$ns" link set tap0 up || fail "ip link set tap0 up"
start_bg ip netns exec "$ns" "$responder" --dev tap0 --ip 10.0.0.2 --mac 02:00:00:00:00:02 \
  --seconds 30
tap_pid=$NETNS_LAST_PID
wait_for 5 link_has_carrier tap0 || fail "tap_responder did not attach to tap0"
pings 10.0.0.2
out=$(ip netns exec "$ns" timeout 10 arping -c 3 -W 0.2 -i tap0 10.0.0.2 2>&1) ||
  fail "arping 10.0.0.2: $out"
replies=$(grep -ci 'bytes from 02:00:00:00:00:02 (10.0.0.2)' <<<"$out")
((replies == 3)) || fail "arping 10.0.0.2: $replies of 3 replies from 02:00:00:00:00:02: $out"
echo "arping 10.0.0.2: $(grep 'packets transmitted' <<<"$out")"
stop_bg "$tap_pid"

# --- TUN ---
ip -n "$ns" tuntap add dev tun0 mode tun || fail "ip tuntap add tun0"
ip -n "$ns" addr add 10.0.1.1/24 dev tun0 || fail "ip addr add tun0"
ip -n "$ns" link set tun0 up || fail "ip link set tun0 up"
start_bg ip netns exec "$ns" "$responder" --dev tun0 --ip 10.0.1.2 --seconds 30 --tun
tun_pid=$NETNS_LAST_PID
wait_for 5 link_has_carrier tun0 || fail "tap_responder --tun did not attach to tun0"
pings 10.0.1.2
stop_bg "$tun_pid"

# --- a TUN opened as a TAP: exit 2, one line on stderr ---
err=$(ip netns exec "$ns" timeout 10 "$responder" --dev tun0 --ip 10.0.1.2 --seconds 1 2>&1 >/dev/null)
rc=$?
((rc == 2)) || fail "tap_responder --dev tun0 (a TUN) as a TAP exited $rc, expected 2: $err"
lines=$(printf '%s\n' "$err" | wc -l)
if ((lines != 1)) || [[ -z $err ]]; then fail "expected one line on stderr, got $lines: $err"; fi
echo "mode mismatch: exit 2: $err"

echo "PASS: the kernel pinged tap_responder over a TAP and a TUN and arpinged it over the TAP"
exit 0
