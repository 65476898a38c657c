#!/usr/bin/env bash
# The demo (README): installs what is missing, builds, then shows the Linux kernel's own
# traffic decoded by tapir. Two private network namespaces joined by a veth; the kernel in one
# pings (small and fragmented), resolves with ARP, echoes UDP and opens a TCP connection to the
# other, while tcpdump records it. tapir-decode then prints every frame layer by layer, and one
# frame with every field. Nothing outside the two namespaces is touched; they are deleted at exit.
# Run as root.
#
# (Until the stack-on-TAP issue lands, tapir reads the wire; it does not yet answer on it.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
echo "=== demo: building tapir-decode"
cmake --preset default >/dev/null
cmake --build --preset default --target tapir-decode | tail -n 1

# shellcheck source=tests/netns/lib.sh
source tests/netns/lib.sh
netns_require_root_or_skip

a=$(netns_unique demo-a)
b=$(netns_unique demo-b)
netns_create "$a"
netns_create "$b"
veth_pair "$a" veth0 10.0.0.1/24 "$b" veth0 10.0.0.2/24 0a:00:00:00:00:01 0a:00:00:00:00:02
# Checksums are computed late on a veth unless offload is off; the capture should show real ones.
netdev_offload_off "$a" veth0
netdev_offload_off "$b" veth0

out=$(mktemp -d /tmp/tapir-demo.XXXXXX)
pcap="$out/demo.pcap"
netns_at_exit rm -rf "$out"

start_bg ip netns exec "$a" timeout 60 tcpdump -Z root --immediate-mode -U -s 65535 -i veth0 \
  -w "$pcap" not ip6
tcpdump_pid=$NETNS_LAST_PID
wait_for 10 test -s "$pcap"

start_bg ip netns exec "$b" timeout 60 socat UDP4-RECVFROM:7,fork EXEC:cat
start_bg ip netns exec "$b" timeout 60 socat TCP4-LISTEN:8080,reuseaddr SYSTEM:'echo hello from the kernel'
wait_for 10 ip netns exec "$b" sh -c 'ss -ltn | grep -q :8080'

echo "=== demo: the kernel at 10.0.0.1 talks to the kernel at 10.0.0.2"
ip netns exec "$a" ping -c 2 -i 0.2 10.0.0.2 | tail -n 2
ip netns exec "$a" ping -c 1 -s 4000 10.0.0.2 | tail -n 2
ip netns exec "$a" arping -c 1 -I veth0 10.0.0.2 | tail -n 1 || true
echo "udp echo: $(echo 'hello tapir' | ip netns exec "$a" timeout 5 nc -u -w 1 10.0.0.2 7)"
echo "tcp: $(ip netns exec "$a" timeout 5 nc -w 2 10.0.0.2 8080 </dev/null)"
sleep 0.3
stop_bg "$tcpdump_pid"

echo
echo "=== demo: tapir-decode $pcap"
build/default/bin/tapir-decode "$pcap"
echo
echo "=== demo: tapir-decode -v (the first TCP segment, every field)"
build/default/bin/tapir-decode -v "$pcap" | awk '/^frame /{f=$0; n=0; next} /TCP:/{print f; print prev2; print prev; print; exit} {prev2=prev; prev=$0}'
