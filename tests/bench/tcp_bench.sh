#!/usr/bin/env bash
# End-to-end TCP through one TAP: the kernel of a private network namespace against tapir-echo
# (10.0.0.2) on its TCP discard (9), chargen (19) and echo (7) ports, with tcp_bench_client on
# the kernel's side:
#   send  kernel -> tapir bulk (discard): BYTES through tapir's receive path and socket API
#   recv  tapir -> kernel bulk (chargen): BYTES through tapir's send path
#   rate  connections per second: PARALLEL at a time, each a handshake, one byte echoed, close
# A benchmark, not a test: run it by hand on an idle machine and copy the figures to
# docs/performance.md.
#   tests/bench/tcp_bench.sh [TAPIR_ECHO] [CLIENT] [BYTES] [RATE_SECONDS] [PARALLEL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo_bin=${1:-$here/../../build/bin/tapir-echo}
client=${2:-$here/../../build/bin/tcp_bench_client}
bytes=${3:-2000000000}
rate_seconds=${4:-5}
parallel=${5:-32}
# shellcheck source=../netns/lib.sh
source "$here/../netns/lib.sh"
netns_require_root_or_skip
ns=$(netns_unique tcpbench)
netns_create "$ns"
netns_exec "$ns" ip tuntap add dev tap0 mode tap
netns_exec "$ns" ip addr add 10.0.0.1/24 dev tap0
netns_exec "$ns" ip link set tap0 up
# The kernel's client closes first, so its side of every connection ends in TIME-WAIT; without
# reuse, connect() slows to a crawl hunting for a free port once thousands are waiting (the
# kernel's cost, not tapir's). RFC 6191-style reuse with timestamps, in this namespace only.
netns_exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
# Even so, a port is reused only a second after its TIME-WAIT began, and connect() takes even
# ports only: 28,232 ports gave the kernel 14.1 k connections/s whatever tapir did. So the
# client has the whole port range and four source addresses (taken in turn), in this namespace.
netns_exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
sources=10.0.0.1
for host in 11 12 13; do
  netns_exec "$ns" ip addr add "10.0.0.$host/24" dev tap0
  sources+=",10.0.0.$host"
done
start_bg ip netns exec "$ns" timeout 600 "$echo_bin" --tap tap0 --ip 10.0.0.2/24 --log-level warn ${TAPIR_ARGS:-}
wait_for 10 netns_exec "$ns" ping -c 1 -W 1 10.0.0.2 >/dev/null
netns_exec "$ns" timeout 60 "$client" send 10.0.0.2 9 100000000 >/dev/null  # warm up
for run in 1 2 3; do
  echo "run $run"
  netns_exec "$ns" timeout 120 "$client" send 10.0.0.2 9 "$bytes"
  netns_exec "$ns" timeout 120 "$client" recv 10.0.0.2 19 "$bytes"
  netns_exec "$ns" timeout 60 "$client" rate 10.0.0.2 7 "$rate_seconds" "$parallel" 10000000 "$sources"
done
