#!/usr/bin/env bash
# Self-test of tests/netns/lib.sh: two namespaces joined by a veth can ping each other, and when
# the script using the library exits, its namespaces are gone and its background process ended.
# Exit 0 if all of that works, 77 (printing "SKIP: <reason>") when it cannot run here, 1 on a
# failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

netns_require_root_or_skip
command -v ping >/dev/null 2>&1 || netns_skip "ping (iputils-ping) is not installed"

fail() {
  echo "FAIL: $*"
  exit 1
}

state=$(mktemp /tmp/tapir-selftest.XXXXXX)
trap 'rm -f "$state"' EXIT

# Phase 1, in a child shell: build, ping, leave a background process running, exit.
bash -c '
  set -euo pipefail
  source "$1"
  a=$(netns_unique st-a)
  b=$(netns_unique st-b)
  netns_create "$a"
  netns_create "$b"
  veth_pair "$a" veth0 10.0.0.1/24 "$b" veth0 10.0.0.2/24 0a:00:00:00:00:01 0a:00:00:00:00:02
  netdev_offload_off "$a" veth0
  start_bg ip netns exec "$b" timeout 60 sleep 60
  echo "$a $b $NETNS_LAST_PID" >"$2"
  wait_for 5 ip netns exec "$a" ping -c 1 -W 1 10.0.0.2
  ip -n "$a" link show veth0 | grep -q "0a:00:00:00:00:01"
  ! wait_for 1 false 2>/dev/null
' selftest "$here/lib.sh" "$state"
rc=$?
read -r ns_a ns_b bg_pid <"$state" || fail "phase 1 wrote no state (exit $rc)"
((rc == 0)) || fail "phase 1 (create, veth, ping) exited $rc"

# Phase 2: the child's EXIT trap must have removed its namespaces and ended its process.
for ns in "$ns_a" "$ns_b"; do
  if [[ -e /run/netns/$ns ]]; then
    ip netns del "$ns" 2>/dev/null
    fail "namespace $ns survived the exit trap"
  fi
done
if [[ -r /proc/$bg_pid/cmdline ]] && tr '\0' ' ' <"/proc/$bg_pid/cmdline" | grep -q "sleep 60"; then
  fail "background process $bg_pid survived the exit trap"
fi
echo "PASS: namespaces $ns_a and $ns_b pinged across a veth and were removed"
exit 0
