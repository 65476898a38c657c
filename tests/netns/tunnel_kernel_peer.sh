#!/usr/bin/env bash
# tapir-tunnel against the Linux kernel's vxlan device (RFC 7348), and two tapir-tunnels back to
# back, in private namespaces joined by veth underlays (docs/tunnel.md has the picture):
#
#   namespace T                                        namespace L
#   tap0 192.168.77.1/24 (kernel, mtu 1450)            vx0 192.168.77.2/24 (vxlan id 42, mtu 1450)
#    | tapir-tunnel --tap tap0 --vni 42                 | (the kernel's VTEP)
#   veth0 10.9.0.1/24  ==== UDP 4789, VXLAN ====       veth1 10.9.0.2/24
#
#   namespace T1                                       namespace T2
#   tap0 192.168.78.1/24 + tapir-tunnel   ======       tap0 192.168.78.2/24 + tapir-tunnel
#   veth0 10.10.0.1/24                                 veth1 10.10.0.2/24
#
# Checks: ping both ways (and at the inner MTU with DF), 10 MiB over TCP with the same sha256,
# tshark on the underlay (VXLAN, VNI 42, flags 0x08, both directions), the TAP-side --pcap, bad
# datagrams crafted with scapy from L each dropped and counted (wrong VNI, I flag clear, wrong
# source, inner frame too short and too long), a clean stop on SIGTERM; then T1 <-> T2.
#
# Usage: tunnel_kernel_peer.sh PATH/TO/tapir-tunnel [--bench]
# --bench also times 200 MiB over TCP through tapir-tunnel and through Linux vxlan devices at
# both ends (docs/performance.md); not run by ctest.
# Each check prints "ok: ..." or "FAIL: ..."; exit 0 when all passed, 1 when any failed, 77
# (printing "SKIP: <reason>") only when namespaces cannot be made here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

usage="usage: tunnel_kernel_peer.sh PATH/TO/tapir-tunnel [--bench]"
tunnel_bin=${1:?$usage}
bench=0
[[ ${2:-} == --bench ]] && bench=1
netns_require_root_or_skip

checks=0
failures=0
ok() {
  checks=$((checks + 1))
  echo "ok: $*"
}
bad() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: $*"
}
fatal() {
  echo "FAIL: $*"
  exit 1
}
indent() {
  local line
  while IFS= read -r line; do printf '    | %s\n' "$line"; done <<<"$1"
}

[[ -x $tunnel_bin ]] || fatal "$tunnel_bin is not an executable (build it first)"
for tool in ping socat tcpdump tshark timeout sha256sum /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (scripts/setup.sh installs it)"
done
ip link help vxlan >/dev/null 2>&1 || true

nsT=$(netns_unique tunT)
nsL=$(netns_unique tunL)
netns_create "$nsT" || fatal "cannot create namespace $nsT"
netns_create "$nsL" || fatal "cannot create namespace $nsL"
work=$(mktemp -d /tmp/tapir-tunnel.XXXXXX)
netns_at_exit rm -rf "$work"

# shellcheck disable=SC2317  # called through wait_for
link_has_carrier() {
  ip -n "$1" link show "$2" 2>/dev/null | grep -q LOWER_UP
}
# shellcheck disable=SC2317  # called through wait_for
has_child() {
  [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}
# shellcheck disable=SC2317  # called through wait_for
log_has() {
  grep -q "$2" "$1"
}

# start_tunnel NS NAME ARGS...: tapir-tunnel ARGS in NS under timeout(1), output to
# $work/NAME.log. Sets tunnel_pid (the timeout process) and tunnel_app (tapir-tunnel itself),
# waits for its start-up line (the signals are watched from then on), then sets tap0's MTU to
# 1450 and brings it up, and waits for its carrier (tapir-tunnel has it open).
start_tunnel() {
  local ns=$1 name=$2
  shift 2
  start_bg ip netns exec "$ns" timeout 90 "$tunnel_bin" "$@" >"$work/$name.log" 2>&1
  tunnel_pid=$NETNS_LAST_PID
  wait_for 5 has_child "$tunnel_pid" || fatal "tapir-tunnel $* did not start: $(cat "$work/$name.log")"
  tunnel_app=$(awk '{print $1}' "/proc/$tunnel_pid/task/$tunnel_pid/children")
  wait_for 5 log_has "$work/$name.log" "VXLAN VNI" ||
    fatal "tapir-tunnel $* did not start: $(cat "$work/$name.log")"
  ip -n "$ns" link set tap0 mtu 1450 up || fatal "no tap0 in $ns"
  wait_for 5 link_has_carrier "$ns" tap0 || fatal "tapir-tunnel $* did not attach to tap0"
}

# counters PID LOG: SIGUSR1 makes tapir-tunnel print every counter (dev.tx_errors last); the
# dump goes to $dump. counter NAME prints NAME's value in it.
# shellcheck disable=SC2317  # called through wait_for
dump_done() {
  tail -n "+$(($2 + 1))" "$1" | grep -q '^dev\.tx_errors '
}
counters() {
  local pid=$1 log=$2 before
  dump=""
  before=$(wc -l <"$log")
  kill -USR1 "$pid" 2>/dev/null || return 1
  wait_for 3 dump_done "$log" "$before" || return 1
  dump=$(tail -n "+$((before + 1))" "$log")
}
counter() {
  awk -v name="$1" '$1 == name { value = $2 } END { print value + 0 }' <<<"$dump"
}

# ping_ok LABEL NS ARGS...: all 3 (or -c N) echo requests answered.
ping_ok() {
  local label=$1 ns=$2 out
  shift 2
  out=$(ip netns exec "$ns" timeout 20 ping -q -c 3 -i 0.2 -W 2 "$@" 2>&1)
  if grep -q " 0% packet loss" <<<"$out"; then
    ok "$label: $(grep 'packets transmitted' <<<"$out")"
  else
    bad "$label: ping $*:"
    indent "$out"
  fi
}

# transfer LABEL FROM_NS TO_NS TO_ADDR PORT FILE: FILE over TCP with socat, from FROM_NS to a
# listener in TO_NS; the sha256 on both ends must agree.
transfer() {
  local label=$1 from=$2 to=$3 addr=$4 port=$5 file=$6 recv="$work/recv.$5" pid start end
  rm -f "$recv"
  start_bg ip netns exec "$to" timeout 40 socat -u "TCP-LISTEN:$port,reuseaddr" "CREATE:$recv"
  pid=$NETNS_LAST_PID
  wait_for 5 ip netns exec "$to" sh -c "ss -ltn | grep -q ':$port '" || {
    bad "$label: no listener on $port"
    return
  }
  start=$(date +%s.%N)
  if ! ip netns exec "$from" timeout 30 socat -u "OPEN:$file" "TCP:$addr:$port"; then
    bad "$label: the sender failed"
  fi
  wait "$pid" 2>/dev/null
  end=$(date +%s.%N)
  stop_bg "$pid"
  local want got
  want=$(sha256sum <"$file" | cut -d' ' -f1)
  got=$(sha256sum <"$recv" 2>/dev/null | cut -d' ' -f1)
  if [[ $want == "$got" ]]; then
    ok "$label: $(stat -c %s "$recv") bytes, sha256 ${got:0:16}…, $(awk -v s="$start" -v e="$end" \
      -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.2f s, %.0f Mbit/s", e - s, b * 8 / (e - s) / 1e6 }')"
  else
    bad "$label: sha256 differs (sent $want, received ${got:-nothing}, $(stat -c %s "$recv" 2>/dev/null || echo 0) bytes)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Part 1: tapir-tunnel in T, the kernel's vxlan device in L.
veth_pair "$nsT" veth0 10.9.0.1/24 "$nsL" veth1 10.9.0.2/24 || fatal "cannot make the veth underlay"
ip -n "$nsL" link add vx0 type vxlan id 42 local 10.9.0.2 remote 10.9.0.1 dstport 4789 dev veth1 ||
  fatal "cannot create a vxlan device (ip link add vx0 type vxlan ...)"
ip -n "$nsL" addr add 192.168.77.2/24 dev vx0
ip -n "$nsL" link set vx0 mtu 1450 up
# A veth has no hardware to finish checksums: with offload on, the kernel in L would leave the
# inner TCP checksum for the "NIC" and tapir-tunnel would carry it unfinished into T, whose
# kernel drops the segment. (ethtool -K veth1 tx off does the same; docs/tunnel.md.)
netdev_offload_off "$nsL" veth1 vx0 || fatal "cannot switch off offloads in L"
netdev_offload_off "$nsT" veth0 || fatal "cannot switch off offloads in T"

# Set-up errors: one line and exit 2, as for the other apps.
# expect_error LABEL LINE ARGS...: tapir-tunnel ARGS in T prints exactly LINE and exits 2.
expect_error() {
  local label=$1 line=$2 out status=0
  shift 2
  out=$(ip netns exec "$nsT" timeout 10 "$tunnel_bin" "$@" 2>&1) || status=$?
  if [[ $status == 2 && $out == "$line" ]]; then
    ok "$label: exit 2, '$out'"
  else
    bad "$label: exit $status, expected 2 and '$line'"
    indent "$out"
  fi
}
expect_error "a TAP that is not one" "tapir-tunnel: veth0 exists but is not a TAP device" \
  --tap veth0 --local 10.9.0.1 --remote 10.9.0.2
expect_error "an address not on this host" \
  "tapir-tunnel: --local 10.9.0.7:4789: cannot bind: Cannot assign requested address" \
  --tap tapx --local 10.9.0.7 --remote 10.9.0.2
expect_error "a bad option" 'tapir-tunnel: --vni: "1e3": not a VNI in 0..16777215' \
  --tap tap0 --local 10.9.0.1 --remote 10.9.0.2 --vni 1e3

start_bg ip netns exec "$nsL" timeout 90 tcpdump -Z root --immediate-mode -U -s 256 -i veth1 \
  -w "$work/underlay.pcap" udp port 4789
tcpdump_pid=$NETNS_LAST_PID

# tapir-tunnel creates tap0; the kernel's side of it gets its address and MTU afterwards (the
# tunnel reads the new MTU within a second).
start_tunnel "$nsT" tunT --tap tap0 --local 10.9.0.1:4789 --remote 10.9.0.2 --vni 42 \
  --pcap "$work/tap.pcap"
ip -n "$nsT" addr add 192.168.77.1/24 dev tap0
wait_for 5 log_has "$work/tunT.log" "tap0: MTU 1450" || bad "tapir-tunnel did not see tap0's MTU 1450"
sleep 0.5 # tcpdump is listening

ping_ok "ping T -> L through tapir-tunnel and vx0" "$nsT" 192.168.77.2
ping_ok "ping L -> T through vx0 and tapir-tunnel" "$nsL" 192.168.77.1
# The inner MTU: 1450 - 28 bytes of ICMP data with DF, both ways (RFC 7348 §4.3: 50 bytes of
# overhead under a 1500-byte underlay).
ping_ok "ping T -> L at the inner MTU (1422 bytes, DF)" "$nsT" -M "do" -s 1422 192.168.77.2
ping_ok "ping L -> T at the inner MTU (1422 bytes, DF)" "$nsL" -M "do" -s 1422 192.168.77.1

head -c $((10 * 1024 * 1024)) /dev/urandom >"$work/10MiB.bin"
transfer "TCP 10 MiB T -> L" "$nsT" "$nsL" 192.168.77.2 5001 "$work/10MiB.bin"
transfer "TCP 10 MiB L -> T" "$nsL" "$nsT" 192.168.77.1 5002 "$work/10MiB.bin"

# Bad datagrams from L, crafted with scapy; each kind is dropped and counted once per datagram.
counters "$tunnel_app" "$work/tunT.log" || fatal "SIGUSR1 printed no counters: $(tail -5 "$work/tunT.log")"
declare -A before
for c in rx_wrong_vni rx_bad_header rx_wrong_source rx_too_small rx_too_large rx_inner_vlan rx_frames; do
  before[$c]=$(counter "tunnel.$c")
done
dev_tx_before=$(counter dev.tx_frames)
ip -n "$nsL" addr add 10.9.0.3/24 dev veth1
if ! ip netns exec "$nsL" timeout 20 /usr/bin/python3 - <<'EOF' >"$work/scapy.out" 2>&1; then
from scapy.all import conf, fragment, send, Dot1Q, Ether, IP, UDP, ICMP, Raw
from scapy.layers.vxlan import VXLAN
from scapy.supersocket import L3RawSocket
conf.L3socket = L3RawSocket  # the kernel routes and resolves; spoofed sources are allowed
conf.verb = 0
inner = Ether(src="02:00:00:00:00:aa", dst="ff:ff:ff:ff:ff:ff") / IP(src="192.168.77.9", dst="192.168.77.1") / ICMP()
def udp(src="10.9.0.2"):
    return IP(src=src, dst="10.9.0.1") / UDP(sport=40000, dport=4789)
# RFC 7348 §4.1: another segment's VNI
send(udp() / VXLAN(vni=7) / inner, count=3)
# RFC 7348 §5: the I flag MUST be set to 1 for a valid VNI
send(udp() / Raw(bytes.fromhex("0000000000002a00")) / inner, count=2)
# not from --remote; an inner frame shorter than an Ethernet header
send(udp("10.9.0.3") / VXLAN(vni=42) / inner, count=4)
send(udp() / VXLAN(vni=42) / Raw(b"\x00" * 10), count=1)
# RFC 7348 §6.1: an inner VLAN tag (802.1Q, VID 10), discarded unless configured otherwise
send(udp() / VXLAN(vni=42) / Ether(src="02:00:00:00:00:aa", dst="ff:ff:ff:ff:ff:ff", type=0x8100) / Dot1Q(vlan=10) / IP(src="192.168.77.9", dst="192.168.77.1") / ICMP(), count=2)
# inner > 1450 + 18: the outer datagram is above veth1's MTU, so it goes in IPv4 fragments
for _ in range(5):
    send(fragment(udp() / VXLAN(vni=42) / inner / Raw(b"\x00" * 1450), fragsize=1400))
print("sent")
EOF
  bad "scapy could not send: $(cat "$work/scapy.out")"
fi
sleep 0.5
if counters "$tunnel_app" "$work/tunT.log"; then
  for spec in rx_wrong_vni:3 rx_bad_header:2 rx_wrong_source:4 rx_too_small:1 rx_too_large:5 rx_inner_vlan:2 rx_frames:0; do
    name=${spec%%:*}
    want=${spec##*:}
    got=$(($(counter "tunnel.$name") - before[$name]))
    if [[ $got == "$want" ]]; then
      ok "crafted datagrams: tunnel.$name +$got"
    else
      bad "crafted datagrams: tunnel.$name +$got, expected +$want"
      indent "$dump"
    fi
  done
  if [[ $(counter dev.tx_frames) == "$dev_tx_before" ]]; then
    ok "crafted datagrams: none reached tap0 (dev.tx_frames $dev_tx_before)"
  else
    bad "crafted datagrams: dev.tx_frames went from $dev_tx_before to $(counter dev.tx_frames)"
  fi
else
  bad "SIGUSR1 printed no counters after the crafted datagrams"
fi

# A full socket: with tapir-tunnel stopped (SIGSTOP), 30000 datagrams (VNI 7, so none is for
# the TAP) overflow its receive queue; after SIGCONT every one is either counted as a wrong VNI
# or as dropped by the kernel (SO_RXQ_OVFL), which agrees with the kernel's own UdpRcvbufErrors.
# The kernel reports its drop count with the next datagram queued after a drop, so 10 more
# follow once the queue is drained.
counters "$tunnel_app" "$work/tunT.log" || bad "SIGUSR1 printed no counters before the flood"
vni_before=$(counter tunnel.rx_wrong_vni)
full_before=$(counter tunnel.rx_dropped_full)
kernel_before=$(ip netns exec "$nsT" nstat -az UdpRcvbufErrors | awk '$1 == "UdpRcvbufErrors" { print $2 }')
kill -STOP "$tunnel_app"
flood=30000
ip netns exec "$nsL" timeout 20 /usr/bin/python3 - "$flood" <<'EOF2' || bad "the flood could not be sent"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.9.0.2", 0))
datagram = bytes.fromhex("0800000000000700") + bytes(50)  # VNI 7, a 50-byte inner frame
for _ in range(int(sys.argv[1])):
    s.sendto(datagram, ("10.9.0.1", 4789))
EOF2
kill -CONT "$tunnel_app"
sleep 1
ip netns exec "$nsL" timeout 20 /usr/bin/python3 - <<'EOF2' || bad "the 10 more could not be sent"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.9.0.2", 0))
for _ in range(10):
    s.sendto(bytes.fromhex("0800000000000700") + bytes(50), ("10.9.0.1", 4789))
EOF2
flood=$((flood + 10))
sleep 0.3
kernel_after=$(ip netns exec "$nsT" nstat -az UdpRcvbufErrors | awk '$1 == "UdpRcvbufErrors" { print $2 }')
if counters "$tunnel_app" "$work/tunT.log"; then
  vni=$(($(counter tunnel.rx_wrong_vni) - vni_before))
  full=$(($(counter tunnel.rx_dropped_full) - full_before))
  kernel=$((kernel_after - kernel_before))
  if ((full > 0 && full == kernel && vni + full == flood)); then
    ok "a full socket: of $flood datagrams $vni counted as rx_wrong_vni, $full as rx_dropped_full (the kernel's UdpRcvbufErrors: +$kernel)"
  else
    bad "a full socket: of $flood datagrams rx_wrong_vni +$vni, rx_dropped_full +$full, UdpRcvbufErrors +$kernel"
  fi
else
  bad "SIGUSR1 printed no counters after the flood"
fi

# A clean stop: SIGTERM ends tapir-tunnel with status 0 and its counters logged.
kill -TERM "$tunnel_app"
status=0
wait "$tunnel_pid" || status=$?
if [[ $status == 0 ]] && grep -q "tunnel.rx_frames" "$work/tunT.log"; then
  ok "SIGTERM: tapir-tunnel exits 0 with its counters"
else
  bad "SIGTERM: exit status $status"
  indent "$(tail -5 "$work/tunT.log")"
fi
stop_bg "$tunnel_pid"
sleep 0.3
stop_bg "$tcpdump_pid"

# The referee: tshark reads the underlay.
# fields FILTER: how many frames of the underlay capture match (-1 if tshark refuses the filter,
# so a misspelt field cannot pass as "none matched").
fields() {
  local out
  out=$(tshark -r "$work/underlay.pcap" -Y "$1" -T fields -e frame.number 2>/dev/null) || {
    echo -1
    return
  }
  grep -c . <<<"$out"
}
from_tapir=$(fields "ip.src == 10.9.0.1 && vxlan.vni == 42")
from_linux=$(fields "ip.src == 10.9.0.2 && vxlan.vni == 42")
tapir_bad=$(fields "ip.src == 10.9.0.1 && !(vxlan[0:4] == 08:00:00:00 && vxlan.vni == 42 && vxlan[7] == 00 && udp.srcport == 4789 && udp.dstport == 4789 && udp.checksum == 0)")
if ((from_tapir > 100 && from_linux > 100 && tapir_bad == 0)); then
  ok "tshark on veth1: VXLAN VNI 42 both ways ($from_tapir datagrams from tapir-tunnel, all with flags 0x08, reserved fields 0, port 4789 -> 4789 and a zero UDP checksum (RFC 7348 §5); $from_linux from vx0)"
else
  bad "tshark on veth1: $from_tapir VNI 42 from tapir-tunnel ($tapir_bad not flags 0x08, zero reserved, 4789 -> 4789, UDP checksum 0), $from_linux from vx0"
fi
wrong_seen=$(fields "vxlan.vni == 7 && udp.srcport == 40000")
if [[ $wrong_seen == 3 ]]; then
  ok "tshark on veth1: the 3 wrong-VNI datagrams were on the wire (vxlan.vni == 7)"
else
  bad "tshark on veth1: $wrong_seen datagrams with VNI 7, expected 3"
fi
icmp_tap=$(tshark -r "$work/tap.pcap" -Y "icmp.type == 8 && ip.dst == 192.168.77.2" 2>/dev/null | wc -l)
if ((icmp_tap >= 6)); then
  ok "--pcap: tshark reads $icmp_tap echo requests to 192.168.77.2 from the TAP side"
else
  bad "--pcap: $icmp_tap echo requests to 192.168.77.2 in the TAP-side capture"
fi

# ---------------------------------------------------------------------------------------------
# Part 2: two tapir-tunnels back to back.
ns1=$(netns_unique tunT1)
ns2=$(netns_unique tunT2)
netns_create "$ns1" || fatal "cannot create namespace $ns1"
netns_create "$ns2" || fatal "cannot create namespace $ns2"
veth_pair "$ns1" veth0 10.10.0.1/24 "$ns2" veth1 10.10.0.2/24 || fatal "cannot make the second underlay"
start_tunnel "$ns1" tun1 --tap tap0 --local 10.10.0.1:4789 --remote 10.10.0.2:4789 --vni 4242
tun1_pid=$tunnel_pid
tun1_app=$tunnel_app
start_tunnel "$ns2" tun2 --tap tap0 --local 10.10.0.2 --remote 10.10.0.1 --vni 4242
tun2_app=$tunnel_app
ip -n "$ns1" addr add 192.168.78.1/24 dev tap0
ip -n "$ns2" addr add 192.168.78.2/24 dev tap0
wait_for 5 log_has "$work/tun1.log" "tap0: MTU 1450" || bad "T1's tapir-tunnel did not see MTU 1450"
wait_for 5 log_has "$work/tun2.log" "tap0: MTU 1450" || bad "T2's tapir-tunnel did not see MTU 1450"

ping_ok "ping T1 -> T2 through two tapir-tunnels" "$ns1" 192.168.78.2
ping_ok "ping T2 -> T1 at the inner MTU (1422 bytes, DF)" "$ns2" -M "do" -s 1422 192.168.78.1
transfer "TCP 10 MiB T1 -> T2 through two tapir-tunnels" "$ns1" "$ns2" 192.168.78.2 5003 "$work/10MiB.bin"
if counters "$tun1_app" "$work/tun1.log"; then
  t1_tx=$(counter tunnel.tx_frames)
  t1_drops=$(($(counter tunnel.tx_dropped_full) + $(counter tunnel.tx_too_large) + $(counter tunnel.tx_errors)))
  if counters "$tun2_app" "$work/tun2.log"; then
    t2_rx=$(counter tunnel.rx_frames)
    if ((t1_tx > 7000 && t2_rx > 7000)); then
      ok "back to back: T1 sent $t1_tx frames into the tunnel ($t1_drops refused by the socket), T2 took $t2_rx out"
    else
      bad "back to back: T1 tunnel.tx_frames $t1_tx, T2 tunnel.rx_frames $t2_rx"
    fi
  fi
fi
stop_bg "$tun1_pid"

# A TAP deleted under a running tapir-tunnel: one error line, exit 1. (T2's, at --log-level
# trace for a moment first: one line per frame, tap>udp and udp>tap.)
tun2_pid=$tunnel_pid
stop_bg "$tun2_pid"
start_tunnel "$ns2" tun2t --tap tap0 --local 10.10.0.2 --remote 10.10.0.1 --vni 4242 --log-level trace
ip -n "$ns2" addr add 192.168.78.2/24 dev tap0
ip netns exec "$ns2" timeout 5 ping -c 1 -W 1 192.168.78.9 >/dev/null 2>&1
if grep -q "tunnel trace tap>udp .* ARP, Request who-has 192.168.78.9 tell 192.168.78.2" "$work/tun2t.log"; then
  ok "--log-level trace: the ARP request logged as a tap>udp line"
else
  bad "--log-level trace: no tap>udp line for the ARP request"
  indent "$(tail -5 "$work/tun2t.log")"
fi
ip -n "$ns2" link del tap0
status=0
wait "$tunnel_pid" || status=$?
if [[ $status == 1 ]] && grep -q "tunnel error tap0: .*; stopping" "$work/tun2t.log"; then
  ok "tap0 deleted under tapir-tunnel: exit 1, '$(grep -o 'tap0: .*; stopping' "$work/tun2t.log")'"
else
  bad "tap0 deleted under tapir-tunnel: exit $status"
  indent "$(tail -5 "$work/tun2t.log")"
fi
stop_bg "$tunnel_pid"

# ---------------------------------------------------------------------------------------------
# --bench: 200 MiB over TCP through tapir-tunnel (T1 <-> T2 above) and through Linux vxlan
# devices at both ends of the same kind of underlay.
if ((bench)); then
  head -c $((200 * 1024 * 1024)) /dev/zero >"$work/200MiB.bin"
  start_tunnel "$ns1" tun1b --tap tap0 --local 10.10.0.1:4789 --remote 10.10.0.2:4789 --vni 4242
  ip -n "$ns1" addr add 192.168.78.1/24 dev tap0
  bench1_pid=$tunnel_pid
  start_tunnel "$ns2" tun2b --tap tap0 --local 10.10.0.2:4789 --remote 10.10.0.1:4789 --vni 4242
  ip -n "$ns2" addr add 192.168.78.2/24 dev tap0
  bench2_pid=$tunnel_pid
  sleep 1.5
  transfer "bench: TCP 200 MiB through two tapir-tunnels" "$ns1" "$ns2" 192.168.78.2 5004 "$work/200MiB.bin"
  # Where segments were lost, if any: the kernel's UDP and TCP counters and tap0's queue (a
  # TAP drops when its reader falls behind).
  for ns in "$ns1" "$ns2"; do
    echo "bench: $ns: $(ip netns exec "$ns" nstat -az UdpRcvbufErrors UdpSndbufErrors TcpRetransSegs 2>/dev/null |
      awk 'NR > 1 { printf "%s %s  ", $1, $2 }')tap0 $(ip -n "$ns" -s link show tap0 |
      awk '/TX:/ { getline; print "TX dropped " $4 }')"
  done
  stop_bg "$bench1_pid"
  stop_bg "$bench2_pid"
  ns3=$(netns_unique tunV1)
  ns4=$(netns_unique tunV2)
  netns_create "$ns3" || fatal "cannot create $ns3"
  netns_create "$ns4" || fatal "cannot create $ns4"
  veth_pair "$ns3" veth0 10.11.0.1/24 "$ns4" veth1 10.11.0.2/24 || fatal "bench underlay"
  ip -n "$ns3" link add vx0 type vxlan id 42 local 10.11.0.1 remote 10.11.0.2 dstport 4789 dev veth0
  ip -n "$ns4" link add vx0 type vxlan id 42 local 10.11.0.2 remote 10.11.0.1 dstport 4789 dev veth1
  ip -n "$ns3" addr add 192.168.79.1/24 dev vx0
  ip -n "$ns4" addr add 192.168.79.2/24 dev vx0
  ip -n "$ns3" link set vx0 mtu 1450 up
  ip -n "$ns4" link set vx0 mtu 1450 up
  ping_ok "bench: ping through two Linux vxlan devices" "$ns3" 192.168.79.2
  transfer "bench: TCP 200 MiB through two Linux vxlan devices" "$ns3" "$ns4" 192.168.79.2 5005 "$work/200MiB.bin"
  # The same with every offload off on both sides, so each frame is one wire frame, as through
  # a TAP.
  netdev_offload_off "$ns3" veth0 vx0 || fatal "offloads in $ns3"
  netdev_offload_off "$ns4" veth1 vx0 || fatal "offloads in $ns4"
  transfer "bench: TCP 200 MiB through two Linux vxlan devices, offloads off" "$ns3" "$ns4" 192.168.79.2 5006 "$work/200MiB.bin"
fi

echo "tunnel_kernel_peer: $checks checks, $failures failed"
((failures == 0))
