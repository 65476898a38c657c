#!/usr/bin/env bash
# End-to-end ping round trip through one TAP: the kernel of a private network namespace pings
# tapir-echo (10.0.0.2) COUNT times, one request every INTERVAL s, and the script prints the
# RTT distribution (min, median, p90, p99, max) that ping reported. A benchmark, not a test:
# run it by hand on an idle machine and copy the figures to docs/performance.md. Three lines for
# tapir:
#   tapir         tapir-echo as it starts by default (sleeps in epoll between frames)
#   busy-poll     tapir-echo --busy-poll 5000: keeps polling the TAP 5 ms after each frame, so
#                 with pings 2 ms apart it never sleeps
#   same-cpu      tapir-echo --cpu 0, and ping on CPU 0 as well (taskset): no wake-up crosses
#                 CPUs
# For reference the same pings then go from one namespace's kernel to another's over a veth
# pair, so the line "linux" is the kernel answering itself with no TAP and no userspace in the
# path. TAPIR_ARGS adds options to every tapir-echo run.
#   tests/bench/ping_rtt.sh [TAPIR_ECHO] [COUNT] [SIZE] [INTERVAL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo_bin=${1:-$here/../../build/bin/tapir-echo}
count=${2:-2000}
size=${3:-56}
interval=${4:-0.002}
# shellcheck source=../netns/lib.sh
source "$here/../netns/lib.sh"
netns_require_root_or_skip
ns=$(netns_unique bench)
netns_create "$ns"
netns_exec "$ns" ip tuntap add dev tap0 mode tap
netns_exec "$ns" ip addr add 10.0.0.1/24 dev tap0
netns_exec "$ns" ip link set tap0 up
summarise() {
  python3 -c '
import re, sys
rtts = sorted(float(m.group(1)) for m in (re.search(r"time=([0-9.]+) ms", l) for l in sys.stdin) if m)
if not rtts:
    sys.exit("no replies")
q = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))]
print("%-9s replies %d  min %.1f us  median %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us" % (
    sys.argv[1], len(rtts), rtts[0] * 1000, q(0.5) * 1000, q(0.9) * 1000, q(0.99) * 1000,
    rtts[-1] * 1000))' "$1"
}
# measure LABEL PING_CPU TAPIR_OPTIONS...: one tapir-echo run; PING_CPU "" lets ping run anywhere.
measure() {
  local label=$1 cpu=$2 pin=()
  shift 2
  [[ -n $cpu ]] && pin=(taskset -c "$cpu")
  # shellcheck disable=SC2086  # TAPIR_ARGS is a list of options
  start_bg ip netns exec "$ns" timeout 300 "$echo_bin" --tap tap0 --ip 10.0.0.2/24 \
    --log-level warn "$@" ${TAPIR_ARGS:-}
  local pid=$NETNS_LAST_PID
  wait_for 10 netns_exec "$ns" ping -c 1 -W 1 10.0.0.2 >/dev/null
  netns_exec "$ns" "${pin[@]}" ping -q -c 200 -i 0.002 -s "$size" 10.0.0.2 >/dev/null # warm up
  netns_exec "$ns" timeout 600 "${pin[@]}" ping -c "$count" -i "$interval" -s "$size" 10.0.0.2 |
    summarise "$label"
  stop_bg "$pid"
}
measure tapir ""
measure busy-poll "" --busy-poll 5000
measure same-cpu 0 --cpu 0
peer=$(netns_unique bench-peer)
netns_create "$peer"
veth_pair "$ns" veth0 10.0.9.1/24 "$peer" veth1 10.0.9.2/24
netns_exec "$ns" ping -q -c 200 -i 0.002 -s "$size" 10.0.9.2 >/dev/null
netns_exec "$ns" timeout 600 ping -c "$count" -i "$interval" -s "$size" 10.0.9.2 | summarise linux
