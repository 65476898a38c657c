#!/usr/bin/env bash
# The demo (README): installs what is missing, builds, then shows tapir answering the Linux
# kernel. Inside one private network namespace the kernel owns a TAP device tap0 (10.0.0.1/24)
# and tapir-echo, tapir's stack in a process of its own, sits on the other end of it as
# 10.0.0.2/24, recording what it sends and receives with --pcap. The kernel then pings it
# (small and fragmented), resolves it with ARP, echoes UDP and TCP off it, hits closed ports and
# fetches a page from tapir-httpd with curl;
# tapir-ping, a second tapir on a second TAP, pings the kernel; tapir-echo prints its counters;
# and tapir-decode prints the capture layer by layer, and one fragment with every field.
# Last, tapir-switch: three more namespaces' kernels ping each other through a userspace
# learning switch whose ports are TAPs, and the switch prints its forwarding database.
# Nothing outside the namespace is touched; it is deleted at exit. Run as root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
echo "=== demo: building tapir-echo, tapir-ping, tapir-httpd, tapir-decode and tapir-switch"
cmake --preset default >/dev/null
build_log=$(mktemp /tmp/tapir-demo-build.XXXXXX)
if ! cmake --build --preset default --target tapir-echo tapir-ping tapir-httpd tapir-decode \
  tapir-switch >"$build_log" 2>&1; then
  tail -n 30 "$build_log"
  rm -f "$build_log"
  echo "demo: the build failed (the lines above are its end)"
  exit 1
fi
tail -n 1 "$build_log"
rm -f "$build_log"
bin=build/bin # relative: the demo runs from the repository root

# shellcheck source=tests/netns/lib.sh
source tests/netns/lib.sh
netns_require_root_or_skip

ns=$(netns_unique demo)
netns_create "$ns"
out=$(mktemp -d /tmp/tapir-demo.XXXXXX)
pcap="$out/tapir-echo.pcap"
netns_at_exit rm -rf "$out"

# step TEXT: the heading of one step of the walkthrough.
step() {
  echo
  echo "=== demo: $*"
}
# run CMD...: print CMD as typed, run it inside the namespace; a failure is shown, not fatal.
run() {
  echo "\$ $*"
  ip netns exec "$ns" "$@" || echo "(exit $?)"
}
# shellcheck disable=SC2317  # called through wait_for
has_carrier() {
  ip -n "$ns" link show "$1" | grep -q LOWER_UP
}
# shellcheck disable=SC2317  # called through wait_for
has_child() {
  [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}

step "the kernel's side: tap0 10.0.0.1/24 and tap1 10.0.1.1/24 in namespace $ns"
for dev in tap0:10.0.0.1/24 tap1:10.0.1.1/24; do
  name=${dev%%:*} addr=${dev#*:}
  echo "\$ ip tuntap add dev $name mode tap; ip addr add $addr dev $name; ip link set $name up"
  ip -n "$ns" tuntap add dev "$name" mode tap
  ip -n "$ns" addr add "$addr" dev "$name"
  ip -n "$ns" link set "$name" up
done

step "tapir-echo --tap tap0 --ip 10.0.0.2/24 --pcap $pcap"
# timeout(1) bounds it and passes stop_bg's SIGTERM on; tapir-echo itself is its child, the
# PID for SIGUSR1.
start_bg ip netns exec "$ns" timeout 120 "$bin/tapir-echo" --tap tap0 --ip 10.0.0.2/24 \
  --pcap "$pcap" 2>"$out/tapir-echo.log"
echo_pid=$NETNS_LAST_PID
if ! wait_for 5 has_child "$echo_pid" || ! wait_for 5 has_carrier tap0; then
  cat "$out/tapir-echo.log"
  echo "demo: tapir-echo did not start on tap0"
  exit 1
fi
echo_app=$(awk '{print $1}' "/proc/$echo_pid/task/$echo_pid/children")
sleep 0.2
cat "$out/tapir-echo.log"
echo "(a TAP shows DOWN, no carrier, until a program opens it: tap1 waits for tapir-ping)"
ip -n "$ns" -br addr show

step "the kernel pings tapir (ICMP echo, RFC 792)"
run ping -c 3 -i 0.2 10.0.0.2

step "a 4000-byte ping: fragmented on the way in, reassembled, fragmented on the way back (RFC 791)"
run ping -c 2 -i 0.2 -s 4000 10.0.0.2

step "ARP (RFC 826): who has 10.0.0.2? (Debian's arping names the interface with -i)"
run arping -c 2 -W 0.2 -i tap0 10.0.0.2
run ip neigh show dev tap0

step "UDP echo on port 7 (RFC 862)"
echo "\$ echo 'hello tapir' | nc -u -w 1 10.0.0.2 7"
echo "came back: $(echo 'hello tapir' | ip netns exec "$ns" timeout 5 nc -u -w 1 10.0.0.2 7 || true)"

step "a closed UDP port: tapir answers ICMP port unreachable, the kernel's socket sees ECONNREFUSED"
echo "\$ python3: a connected UDP socket to 10.0.0.2:4444, send(), then recv()"
ip netns exec "$ns" timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.0.0.2", 4444))
s.send(b"anyone there?")
try:
    print("recv:", s.recv(100))
except ConnectionRefusedError as e:
    print("recv:", e)
except socket.timeout:
    print("recv: no answer in 2 s")' || echo "(exit $?)"

step "a closed TCP port: tapir answers the SYN with a RST (RFC 9293 §3.10.7.1), connect() is refused"
echo "\$ nc -v -w 2 10.0.0.2 9999"
ip netns exec "$ns" timeout 5 nc -v -w 2 10.0.0.2 9999 </dev/null 2>&1 || true

step "TCP echo on port 7 (RFC 862 over RFC 9293): the kernel connects, sends a line, reads it back"
echo "\$ echo 'hello over TCP' | nc -N 10.0.0.2 7"
ip netns exec "$ns" timeout 5 nc -N -w 2 10.0.0.2 7 <<<"hello over TCP" || echo "(exit $?)"

step "1 MiB through TCP echo: what comes back is what went (sha256 both ways)"
ip netns exec "$ns" head -c 1048576 /dev/urandom >"$out/blob"
echo "\$ nc -N 10.0.0.2 7 < blob | sha256sum; sha256sum < blob"
ip netns exec "$ns" timeout 10 nc -N -w 5 10.0.0.2 7 <"$out/blob" | sha256sum || echo "(exit $?)"
sha256sum <"$out/blob"

step "TCP chargen on port 19 (RFC 864): the first two lines"
ip netns exec "$ns" timeout 5 nc -w 2 10.0.0.2 19 </dev/null 2>/dev/null | head -n 2 || true

step "tapir-ping, a second tapir on tap1 (10.0.1.2/24), pings the kernel at 10.0.1.1"
# --log-level warn: without it tapir-ping logs its counters at exit; the step after shows them.
run timeout 20 "$bin/tapir-ping" --tap tap1 --ip 10.0.1.2/24 --log-level warn -c 3 -i 0.2 10.0.1.1
run timeout 20 "$bin/tapir-ping" --tap tap1 --ip 10.0.1.2/24 --log-level warn -c 1 -s 4000 \
  10.0.1.1

step "tapir-echo's counters (SIGUSR1: every non-zero counter, on stderr)"
lines=$(wc -l <"$out/tapir-echo.log")
kill -USR1 "$echo_app"
wait_for 3 sh -c "tail -n +$((lines + 1)) '$out/tapir-echo.log' | grep -q '^dev\.'" || true
sleep 0.2
tail -n "+$((lines + 1))" "$out/tapir-echo.log"

step "SIGTERM: tapir-echo stops and flushes its capture"
stop_bg "$echo_pid"
ls -l "$pcap"

step "tapir-httpd on tap1 (10.0.1.2/24) serves a directory; the kernel's curl fetches from it"
mkdir -p "$out/www"
cat >"$out/www/index.html" <<'HTML'
<!doctype html>
<title>tapir</title>
<p>Hello from tapir-httpd: HTTP/1.1 over tapir's TCP, over a TAP, to the Linux kernel.</p>
HTML
httpd_log="$out/tapir-httpd.log"
start_bg ip netns exec "$ns" timeout 60 "$bin/tapir-httpd" --tap tap1 --ip 10.0.1.2/24 \
  --root "$out/www" --port 80 2>"$httpd_log"
httpd_pid=$NETNS_LAST_PID
wait_for 10 has_carrier tap1 || echo "(tapir-httpd did not attach to tap1)"
echo "\$ curl -s http://10.0.1.2/"
ip netns exec "$ns" timeout 10 curl -s --retry 3 --retry-connrefused http://10.0.1.2/ ||
  echo "(exit $?)"
echo "\$ curl -sI http://10.0.1.2/missing.html"
ip netns exec "$ns" timeout 10 curl -sI http://10.0.1.2/missing.html | head -n 1 || true
echo "(tapir-httpd's log: one line per request)"
stop_bg "$httpd_pid"
grep -v '^\(eth\|arp\|ipv4\|icmp\|udp\|tcp\|dev\|drv\)\.' "$httpd_log" | tail -n 4 || true

step "tapir-decode $pcap (the first 25 of $("$bin/tapir-decode" "$pcap" | wc -l) frames)"
"$bin/tapir-decode" "$pcap" | sed -n '1,25p'

# The first fragment tapir sent: its frame number is the first field of the one-line form.
# (awk stops at the first match, so tapir-decode may get SIGPIPE: not a failure.)
frag=$("$bin/tapir-decode" "$pcap" | awk '/10\.0\.0\.2 > 10\.0\.0\.1: .*fragment/ {print $1; exit}' || true)
step "tapir-decode -v: frame ${frag:-?}, the first fragment of tapir's answer to the 4000-byte ping"
if [[ -n $frag ]]; then
  "$bin/tapir-decode" -v "$pcap" |
    awk -v n="$frag" '/^frame / {on = ($2 == n ":")} on'
else
  echo "(no fragment from 10.0.0.2 in the capture)"
fi

step "tapir-switch: three hosts (namespaces A, B, C, their kernels) on a userspace learning switch"
sw_ns=$(netns_unique demo-sw)
declare -A host_ns=([A]=$(netns_unique demo-a) [B]=$(netns_unique demo-b) [C]=$(netns_unique demo-c))
for n in "$sw_ns" "${host_ns[@]}"; do netns_create "$n"; done
echo "\$ tapir-switch --port tapA --port tapB --port tapC   (in namespace $sw_ns: it makes the TAPs)"
start_bg ip netns exec "$sw_ns" timeout 60 "$bin/tapir-switch" --port tapA --port tapB \
  --port tapC 2>"$out/tapir-switch.log"
switch_pid=$NETNS_LAST_PID
if ! wait_for 5 has_child "$switch_pid" || ! wait_for 5 ip -n "$sw_ns" link show tapC; then
  cat "$out/tapir-switch.log"
  echo "demo: tapir-switch did not start"
  exit 1
fi
switch_app=$(awk '{print $1}' "/proc/$switch_pid/task/$switch_pid/children")
i=0
for h in A B C; do
  i=$((i + 1))
  echo "\$ ip link set tap$h netns ${host_ns[$h]}; ip addr add 10.5.0.$i/24 dev tap$h; ip link set tap$h up"
  ip -n "$sw_ns" link set "tap$h" netns "${host_ns[$h]}"
  ip -n "${host_ns[$h]}" link set "tap$h" address "02:00:00:05:00:0$i"
  ip -n "${host_ns[$h]}" addr add "10.5.0.$i/24" dev "tap$h"
  ip -n "${host_ns[$h]}" link set "tap$h" up
done
i=0
for h in A B C; do
  i=$((i + 1))
  for j in 1 2 3; do
    ((j == i)) && continue
    echo "\$ ping -c 1 10.5.0.$j   (from $h)"
    ip netns exec "${host_ns[$h]}" timeout 5 ping -n -c 1 -W 2 "10.5.0.$j" | grep 'bytes from' ||
      echo "(no answer)"
  done
done

step "tapir-switch's forwarding database and counters (SIGUSR1)"
lines=$(wc -l <"$out/tapir-switch.log")
kill -USR1 "$switch_app"
wait_for 3 sh -c "tail -n +$((lines + 1)) '$out/tapir-switch.log' | grep -q '^end of dump'" || true
tail -n "+$((lines + 1))" "$out/tapir-switch.log" | grep -E '^(fdb|ports:|bridge\.(fdb|port[0-9]\.(rx|tx)_frames|port[0-9]\.tx_flooded))' || true
stop_bg "$switch_pid"
