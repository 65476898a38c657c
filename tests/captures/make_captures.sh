#!/usr/bin/env bash
# Makes the reference captures in tests/captures/: real Linux traffic between private network
# namespaces, recorded with tcpdump on a veth (or TUN) inside a namespace. Run as root:
#   sudo tests/captures/make_captures.sh [OUTPUT_DIR]
# Idempotent: every run builds fresh namespaces (all named tapir-cap-*), overwrites the .pcap
# files and deletes the namespaces again (EXIT trap). It sends nothing outside those namespaces
# and never touches the host's interfaces. Every wait is bounded.
#
# Fixed addresses, so tests can assert them:
#   host A  10.0.0.1   0a:00:00:00:00:01      host B  10.0.0.2   0a:00:00:00:00:02
#   router  10.0.0.254 0a:00:00:00:00:fe  |   10.0.1.254 0a:00:00:00:01:fe (MTU 1000)
#   host C  10.0.1.2   0a:00:00:00:01:02 (MTU 1000)
#   VXLAN overlay: 10.0.42.1 0a:00:00:00:42:01 <-> 10.0.42.2 0a:00:00:00:42:02, VNI 42
#
# Every veth has checksum offload, TSO, GSO and GRO switched off (by an ethtool ioctl from
# python3), so the captured TCP/UDP checksums are the real ones and every frame is one wire
# frame. IPv6 is disabled in every namespace, so no IPv6 chatter gets into the files.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
PY=/usr/bin/python3 # the system python, which has scapy

if [[ $(id -u) -ne 0 ]]; then
  echo "make_captures: must run as root" >&2
  exit 1
fi
for tool in ip tcpdump tshark capinfos arping ping socat nft "$PY"; do
  command -v "$tool" >/dev/null || { echo "make_captures: missing $tool" >&2; exit 1; }
done
mkdir -p "$out"

work=$(mktemp -d /tmp/tapir-cap.XXXXXX)
NAMESPACES=(tapir-cap-a tapir-cap-b tapir-cap-r tapir-cap-c)
BG_PIDS=()

# still_ours PID: PID is a background job of this shell that has not been reaped, so a
# signal cannot reach a recycled PID of some other process.
still_ours() {
  local job
  for job in $(jobs -p); do
    if [[ $job == "$1" ]]; then return 0; fi
  done
  return 1
}

cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do
    if still_ours "$pid"; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "${BG_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  BG_PIDS=()
  local ns
  for ns in "${NAMESPACES[@]}"; do
    if [[ -e /run/netns/$ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
  done
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'echo "make_captures: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# --- helpers ---------------------------------------------------------------------------------

# Switches off tx checksum offload, scatter-gather, TSO, GSO and GRO on the named interfaces of
# the current namespace (the legacy ETHTOOL_S* ioctls; no ethtool binary needed).
cat >"$work/offload_off.py" <<'EOF'
import ctypes, fcntl, socket, struct, sys
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM, ETHTOOL_SSG, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO = 0x17, 0x19, 0x1F, 0x24, 0x2C
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    for cmd in (ETHTOOL_STXCSUM, ETHTOOL_SSG, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO):
        value = ctypes.create_string_buffer(struct.pack("II", cmd, 0), 8)
        ifreq = struct.pack("16sP", name.encode(), ctypes.addressof(value))
        fcntl.ioctl(sock, SIOCETHTOOL, ifreq)
EOF

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_until SECONDS CMD...: polls CMD every 0.1 s; fails after SECONDS.
wait_until() {
  local limit=$(($1 * 10)) i; shift
  for ((i = 0; i < limit; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "make_captures: timed out waiting for: $*" >&2
  return 1
}

ns_new() {
  local ns=$1
  if [[ -e /run/netns/$ns ]]; then ip netns del "$ns"; fi # left over from an aborted run
  ip netns add "$ns"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
}

# ns_del_all: ends this capture's background processes and deletes its namespaces.
ns_del_all() {
  cleanup
}

# veth NS1 IF1 MAC1 CIDR1 NS2 IF2 MAC2 CIDR2 [MTU]
veth() {
  local ns1=$1 if1=$2 mac1=$3 addr1=$4 ns2=$5 if2=$6 mac2=$7 addr2=$8 mtu=${9:-1500}
  ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2"
  in_ns "$ns1" "$PY" "$work/offload_off.py" "$if1"
  in_ns "$ns2" "$PY" "$work/offload_off.py" "$if2"
  ip -n "$ns1" link set "$if1" address "$mac1" mtu "$mtu" up
  ip -n "$ns2" link set "$if2" address "$mac2" mtu "$mtu" up
  ip -n "$ns1" addr add "$addr1" dev "$if1"
  ip -n "$ns2" addr add "$addr2" dev "$if2"
}

# The usual pair: A 10.0.0.1 <-> B 10.0.0.2 on A:veth0 / B:veth0.
two_hosts() {
  ns_new tapir-cap-a
  ns_new tapir-cap-b
  veth tapir-cap-a veth0 0a:00:00:00:00:01 10.0.0.1/24 tapir-cap-b veth0 0a:00:00:00:00:02 10.0.0.2/24
}

# bg NS CMD...: runs CMD in namespace NS in the background; the EXIT trap kills its PID.
bg() {
  local ns=$1; shift
  ip netns exec "$ns" "$@" &
  BG_PIDS+=($!)
}

# capture_start NS IF NAME [FILTER...]: tcpdump into $work/NAME; waits until it listens.
CAP_PID=""
capture_start() {
  local ns=$1 dev=$2 name=$3; shift 3
  rm -f "$work/$name" "$work/$name.err"
  ip netns exec "$ns" tcpdump -Z root --immediate-mode -i "$dev" -U -s 65535 -w "$work/$name" "$@" 2>"$work/$name.err" &
  CAP_PID=$!
  BG_PIDS+=("$CAP_PID")
  wait_until 10 grep -q "listening on" "$work/$name.err"
}

# capture_stop: lets the last frames land, then stops tcpdump by its PID (SIGINT flushes).
capture_stop() {
  sleep 0.5
  kill -INT "$CAP_PID"
  local i
  for ((i = 0; i < 50; i++)); do
    if ! still_ours "$CAP_PID" || ! kill -0 "$CAP_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if still_ours "$CAP_PID"; then kill -KILL "$CAP_PID" 2>/dev/null || true; fi
  wait "$CAP_PID" 2>/dev/null || true
  if [[ -n ${CAP_DEBUG:-} ]]; then cat "$work"/*.err >&2; fi
  CAP_PID=""
}

# publish NAME: moves $work/NAME to the output directory and prints its frame count.
publish() {
  local name=$1
  mv -f "$work/$name" "$out/$name"
  chmod 644 "$out/$name"
  printf '%-24s %6d bytes %4d frames\n' "$name" "$(stat -c %s "$out/$name")" \
    "$(tshark -r "$out/$name" 2>/dev/null | wc -l)"
}

A=tapir-cap-a
B=tapir-cap-b
R=tapir-cap-r
C=tapir-cap-c

# --- arp.pcap: two ARP pings (request + reply each), a gratuitous request and reply ----------
make_arp() {
  two_hosts
  capture_start $A veth0 arp.pcap arp
  in_ns $A timeout 10 arping -q -c 2 -W 0.2 -i veth0 10.0.0.2 || true
  # Gratuitous ARP: an unsolicited request, then an unsolicited reply, for our own address.
  in_ns $A timeout 10 arping -q -U -c 1 -i veth0 -S 10.0.0.1 10.0.0.1 || true
  in_ns $A timeout 10 arping -q -U -P -c 1 -i veth0 -S 10.0.0.1 10.0.0.1 || true
  capture_stop
  ns_del_all
  publish arp.pcap
}

# --- ping.pcap, ping_record_route.pcap, ping_frag.pcap ---------------------------------------
make_pings() {
  two_hosts
  # Warm the neighbour caches so the ICMP captures hold only ICMP.
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null

  capture_start $A veth0 ping.pcap icmp
  in_ns $A timeout 10 ping -q -c 2 -i 0.2 -s 56 -W 2 10.0.0.2 >/dev/null
  capture_stop
  publish ping.pcap

  capture_start $A veth0 ping_record_route.pcap icmp
  in_ns $A timeout 10 ping -q -R -c 1 -W 2 10.0.0.2 >/dev/null
  capture_stop
  publish ping_record_route.pcap

  capture_start $A veth0 ping_frag.pcap ip
  in_ns $A timeout 10 ping -q -c 1 -s 4000 -W 2 10.0.0.2 >/dev/null
  capture_stop
  publish ping_frag.pcap
  ns_del_all
}

# --- udp.pcap: one datagram to a UDP echo server on port 7 and its reply ---------------------
make_udp() {
  two_hosts
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null
  bg $B timeout 30 socat UDP-RECVFROM:7,bind=10.0.0.2,fork EXEC:cat
  wait_until 10 in_ns $B sh -c 'ss -uln | grep -q "10.0.0.2:7 "'
  capture_start $A veth0 udp.pcap udp
  printf 'hello tapir\n' | in_ns $A timeout 10 socat -t 2 - UDP:10.0.0.2:7,sourceport=40000 >/dev/null
  capture_stop
  ns_del_all
  publish udp.pcap
}

# --- icmp_errors.pcap: port unreachable, time exceeded, fragmentation needed ------------------
make_icmp_errors() {
  ns_new $A
  ns_new $R
  ns_new $C
  veth $A veth0 0a:00:00:00:00:01 10.0.0.1/24 $R veth0 0a:00:00:00:00:fe 10.0.0.254/24
  veth $R veth1 0a:00:00:00:01:fe 10.0.1.254/24 $C veth0 0a:00:00:00:01:02 10.0.1.2/24 1000
  ip -n $A route add default via 10.0.0.254
  ip -n $C route add default via 10.0.1.254
  in_ns $R sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
  in_ns $C sysctl -qw net.ipv4.icmp_ratelimit=0
  # Warm the neighbour caches (A<->R, R<->C) so the capture holds only the exchanges below.
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.1.2 >/dev/null

  capture_start $A veth0 icmp_errors.pcap icmp or udp
  # 1. UDP to a closed port on C: C answers "port unreachable" (type 3 code 3).
  in_ns $A timeout 10 socat -u - UDP:10.0.1.2:9,sourceport=40000 <<<"closed" || true
  sleep 0.3
  # 2. TTL 1 through the router: R answers "time exceeded in transit" (type 11 code 0).
  in_ns $A timeout 10 ping -q -c 1 -t 1 -W 1 10.0.1.2 >/dev/null || true
  # 3. 1428 bytes with DF toward C behind the MTU-1000 link: R answers "fragmentation needed"
  #    with next-hop MTU 1000 (type 3 code 4).
  in_ns $A timeout 10 ping -q -c 1 -M "do" -s 1400 -W 1 10.0.1.2 >/dev/null || true
  capture_stop
  ns_del_all
  publish icmp_errors.pcap
}

# --- tcp.pcap: handshake with Linux's default options, request, response, FIN close --------
make_tcp() {
  two_hosts
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null
  # shellcheck disable=SC2016 # $line is for the server's shell
  printf '%s\n' 'read -r line' 'printf "pong %s\\n" "$line"' >"$work/pong.sh"
  bg $B timeout 30 socat TCP-LISTEN:8080,bind=10.0.0.2,reuseaddr EXEC:"/bin/sh $work/pong.sh"
  wait_until 10 in_ns $B sh -c 'ss -tln | grep -q "10.0.0.2:8080 "'
  capture_start $A veth0 tcp.pcap tcp
  { printf 'ping\n'; sleep 1; } | in_ns $A timeout 10 socat - TCP:10.0.0.2:8080,sourceport=40000 >/dev/null
  capture_stop
  ns_del_all
  publish tcp.pcap
}

# --- tcp_rst.pcap: Linux's resets for segments to a port nobody listens on (RFC 9293
# §3.10.7.1): a SYN (no ACK) gets RST+ACK acknowledging it; a segment with ACK and 6 data bytes
# gets a bare RST whose sequence number is that ACK; a RST gets nothing.
make_tcp_rst() {
  two_hosts
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null
  cat >"$work/tcp_rst.py" <<'EOF'
from scapy.all import IP, TCP, Raw, send
send(IP(src="10.0.0.1", dst="10.0.0.2", id=0x2001) / TCP(sport=40010, dport=9999, flags="S",
     seq=1000, window=64240, options=[("MSS", 1460)]), verbose=False)
send(IP(src="10.0.0.1", dst="10.0.0.2", id=0x2002) / TCP(sport=40011, dport=9999, flags="PA",
     seq=5000, ack=777777, window=502) / Raw(b"hello\n"), verbose=False)
send(IP(src="10.0.0.1", dst="10.0.0.2", id=0x2003) / TCP(sport=40012, dport=9999, flags="R",
     seq=9000, window=0), verbose=False)
EOF
  capture_start $A veth0 tcp_rst.pcap tcp port 9999
  in_ns $A timeout 20 "$PY" "$work/tcp_rst.py"
  capture_stop
  ns_del_all
  publish tcp_rst.pcap
}

# --- tcp_sack.pcap: a 12000-byte transfer with one data segment dropped by nftables in the
# receiver, so the receiver's duplicate ACKs carry SACK blocks, then the retransmission. The
# receiver's listening socket advertises MSS 536 to keep the file small.
make_tcp_sack() {
  two_hosts
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null
  # numgen inc counts only the packets that reach it (data segments to port 5001 longer than
  # 300 bytes); the 4th such segment is dropped once. The retransmission passes (count 5).
  in_ns $B nft -f - <<'EOF'
table inet tapir_cap {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 5001 ip length > 300 numgen inc mod 1000000 == 3 counter drop
  }
}
EOF
  bg $B timeout 30 socat -u TCP-LISTEN:5001,bind=10.0.0.2,reuseaddr,mss=536 OPEN:/dev/null
  wait_until 10 in_ns $B sh -c 'ss -tln | grep -q "10.0.0.2:5001 "'
  capture_start $A veth0 tcp_sack.pcap tcp
  { yes 'tapir sack test' || true; } | head -c 12000 >"$work/payload"
  in_ns $A timeout 10 socat -u - TCP:10.0.0.2:5001,sourceport=40001 <"$work/payload"
  capture_stop
  in_ns $B nft list table inet tapir_cap | grep -q 'packets 1 ' ||
    echo "make_captures: warning: the nftables drop rule did not fire exactly once" >&2
  ns_del_all
  publish tcp_sack.pcap
}

# --- vlan.pcap: 802.1Q frames crafted with scapy, sent from A, captured on B's veth ----------
make_vlan() {
  two_hosts
  cat >"$work/vlan_frames.py" <<'EOF'
from scapy.all import ARP, ICMP, IP, Dot1AD, Dot1Q, Ether, Raw, sendp
A, B = "0a:00:00:00:00:01", "0a:00:00:00:00:02"
frames = [
    # 802.1Q VID 10, PCP 5: ARP request who-has 10.0.0.2 tell 10.0.0.1.
    Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=10, prio=5)
    / ARP(op=1, hwsrc=A, psrc="10.0.0.1", hwdst="00:00:00:00:00:00", pdst="10.0.0.2"),
    # 802.1Q VID 20, DEI set: ICMP echo request.
    Ether(src=A, dst=B) / Dot1Q(vlan=20, id=1)
    / IP(src="10.0.0.1", dst="10.0.0.2", id=0x1001, flags="DF")
    / ICMP(type=8, id=0x7461, seq=1) / Raw(b"tapir vlan 20"),
    # Priority-tagged: VID 0, PCP 3: ICMP echo request.
    Ether(src=A, dst=B) / Dot1Q(vlan=0, prio=3)
    / IP(src="10.0.0.1", dst="10.0.0.2", id=0x1002, flags="DF")
    / ICMP(type=8, id=0x7461, seq=2) / Raw(b"tapir priority tag"),
    # QinQ: outer 802.1ad (0x88a8) VID 100, inner 802.1Q VID 10: ICMP echo request.
    Ether(src=A, dst=B) / Dot1AD(vlan=100) / Dot1Q(vlan=10)
    / IP(src="10.0.0.1", dst="10.0.0.2", id=0x1003, flags="DF")
    / ICMP(type=8, id=0x7461, seq=3) / Raw(b"tapir qinq"),
]
for frame in frames:
    sendp(frame, iface="veth0", verbose=False)
EOF
  capture_start $B veth0 vlan.pcap vlan
  in_ns $A timeout 20 "$PY" "$work/vlan_frames.py"
  capture_stop
  ns_del_all
  publish vlan.pcap
}

# --- vxlan.pcap: ping across a VXLAN overlay (VNI 42, UDP 4789), captured on the underlay ----
make_vxlan() {
  two_hosts
  local ns local_ip remote_ip n
  for n in 1 2; do
    if [[ $n == 1 ]]; then ns=$A local_ip=10.0.0.1 remote_ip=10.0.0.2; else ns=$B local_ip=10.0.0.2 remote_ip=10.0.0.1; fi
    ip -n "$ns" link add vx0 type vxlan id 42 local "$local_ip" remote "$remote_ip" dstport 4789 dev veth0
    ip -n "$ns" link set vx0 address "0a:00:00:00:42:0$n" up
    ip -n "$ns" addr add "10.0.42.$n/24" dev vx0
  done
  in_ns $A timeout 10 ping -q -c 1 -W 2 10.0.0.2 >/dev/null # underlay ARP
  capture_start $A veth0 vxlan.pcap udp port 4789
  in_ns $A timeout 10 ping -q -c 2 -i 0.2 -W 2 10.0.42.2 >/dev/null
  capture_stop
  ns_del_all
  publish vxlan.pcap
}

# --- raw_ip.pcap: LINKTYPE_RAW from a TUN device. A and B each have tun0 (10.0.0.1/24 and
# 10.0.0.2/24); socat carries the tunnel's packets over UDP on an underlay veth (10.0.1.0/24),
# so both the echo requests and the replies are real Linux packets.
make_raw_ip() {
  ns_new $A
  ns_new $B
  veth $A veth0 0a:00:00:00:01:01 10.0.1.1/24 $B veth0 0a:00:00:00:01:02 10.0.1.2/24
  local ns n peer
  for n in 1 2; do
    if [[ $n == 1 ]]; then ns=$A peer=2; else ns=$B peer=1; fi
    ip -n "$ns" tuntap add dev tun0 mode tun
    ip -n "$ns" addr add "10.0.0.$n/24" dev tun0
    ip -n "$ns" link set tun0 up
    bg "$ns" timeout 30 socat UDP-DATAGRAM:10.0.1.$peer:5555,bind=10.0.1.$n:5555 \
      TUN,tun-name=tun0,tun-type=tun,iff-no-pi
  done
  wait_until 10 in_ns $A sh -c 'ip link show tun0 | grep -q LOWER_UP'
  wait_until 10 in_ns $B sh -c 'ip link show tun0 | grep -q LOWER_UP'
  capture_start $A tun0 raw_ip.pcap icmp
  in_ns $A timeout 10 ping -q -c 2 -i 0.2 -W 2 10.0.0.2 >/dev/null
  capture_stop
  ns_del_all
  publish raw_ip.pcap
}

# CAPTURES="tcp vlan" makes only those (the names of the make_* functions below).
for what in ${CAPTURES:-arp pings udp icmp_errors tcp tcp_rst tcp_sack vlan vxlan raw_ip}; do
  "make_$what"
done
echo "make_captures: done; files in $out"
