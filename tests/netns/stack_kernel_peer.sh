#!/usr/bin/env bash
# The Linux kernel as tapir's peer: tapir-echo and tapir-ping run on TAP (and TUN) devices
# inside one private namespace, and the namespace's own kernel talks to them with its ordinary
# tools: arping, ping (small, at the MTU, fragmented), UDP echo/discard, a connected UDP socket
# to a closed port, and a lossy run through --faults. tcpdump records the kernel's side of tap0,
# tapir-echo records its own side with --pcap, and tshark reads both at the end.
#
# Usage: stack_kernel_peer.sh PATH/TO/tapir-echo PATH/TO/tapir-ping
# Each check prints "ok: ..." or "FAIL: ..."; the script exits 0 when every check passed, 1 when
# any failed, 77 (printing "SKIP: <reason>") only when namespaces cannot be made here.
#
#   tap0  kernel 10.0.0.1/24  tapir-echo 10.0.0.2/24 (--mac, --pcap)   ARP, ping, UDP, pcap
#   tun0  kernel 10.0.1.1/24  tapir-echo 10.0.1.2/24 (--tun)           ping without ARP
#   tap1  kernel 10.0.2.1/24  tapir-ping 10.0.2.2/24                   tapir pings the kernel
#   tap2  kernel 10.0.3.1/24  tapir-echo 10.0.3.2/24 (--faults)        seeded loss
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

usage="usage: stack_kernel_peer.sh PATH/TO/tapir-echo PATH/TO/tapir-ping"
echo_bin=${1:?$usage}
ping_bin=${2:?$usage}
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
# fatal: the set-up itself broke; nothing after it can be meaningful.
fatal() {
  echo "FAIL: $*"
  exit 1
}
# indent TEXT: quoted output under a FAIL line.
indent() {
  local line
  while IFS= read -r line; do printf '    | %s\n' "$line"; done <<<"$1"
}

for bin in "$echo_bin" "$ping_bin"; do
  [[ -x $bin ]] || fatal "$bin is not an executable (build it first)"
done
# scripts/setup.sh installs these; missing ones are a broken machine, not a reason to skip.
for tool in ping arping socat python3 tcpdump tshark timeout; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (scripts/setup.sh installs it)"
done

ns=$(netns_unique kpeer)
netns_create "$ns" || fatal "cannot create namespace $ns"
work=$(mktemp -d /tmp/tapir-kpeer.XXXXXX)
netns_at_exit rm -rf "$work"

in_ns() {
  ip netns exec "$ns" "$@"
}

# kernel_dev DEV MODE ADDR: a TAP or TUN owned by the namespace's kernel, addressed and up.
kernel_dev() {
  ip -n "$ns" tuntap add dev "$1" mode "$2" || fatal "ip tuntap add dev $1 mode $2"
  ip -n "$ns" addr add "$3" dev "$1" || fatal "ip addr add $3 dev $1"
  ip -n "$ns" link set "$1" up || fatal "ip link set $1 up"
}

# link_has_carrier DEV: a tapir process has attached (a TAP/TUN nobody reads is NO-CARRIER).
# shellcheck disable=SC2317  # called through wait_for
link_has_carrier() {
  ip -n "$ns" link show "$1" | grep -q LOWER_UP
}

# shellcheck disable=SC2317  # called through wait_for
has_child() {
  [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}

# start_echo NAME DEV ARGS...: tapir-echo ARGS in the namespace, bounded by timeout(1), stderr
# and stdout to $work/NAME.log. Sets echo_pid (the timeout process, for stop_bg) and echo_app
# (tapir-echo itself, the child of that timeout, for SIGUSR1). Waits until DEV has carrier.
start_echo() {
  local name=$1 dev=$2
  shift 2
  start_bg ip netns exec "$ns" timeout 120 "$echo_bin" "$@" >"$work/$name.log" 2>&1
  echo_pid=$NETNS_LAST_PID
  wait_for 5 has_child "$echo_pid" || fatal "tapir-echo $* did not start: $(cat "$work/$name.log")"
  echo_app=$(awk '{print $1}' "/proc/$echo_pid/task/$echo_pid/children")
  wait_for 5 link_has_carrier "$dev" ||
    fatal "tapir-echo $* did not attach to $dev: $(cat "$work/$name.log")"
}

# counters PID LOG: SIGUSR1 to tapir-echo PID, which prints every non-zero counter to stderr as
# `name value` lines ending with the device's (dev.*); waits for that dump in LOG and keeps it
# in $dump. counter NAME prints NAME's value in $dump (0 when absent: only non-zero ones print).
# shellcheck disable=SC2317  # called through wait_for
dump_done() {
  tail -n "+$(($2 + 1))" "$1" | grep -q '^dev\.tx_frames '
}
counters() {
  local pid=$1 log=$2 before
  dump=""
  before=$(wc -l <"$log")
  kill -USR1 "$pid" 2>/dev/null || return 1
  wait_for 3 dump_done "$log" "$before" || return 1
  sleep 0.1 # the dev.* lines after dev.tx_frames
  dump=$(tail -n "+$((before + 1))" "$log")
}
counter() {
  awk -v name="$1" '$1 == name { value = $2 } END { print value + 0 }' <<<"$dump"
}

# ping_all LABEL EXPECTED ARGS...: the kernel's ping ARGS gets EXPECTED replies.
ping_all() {
  local label=$1 expected=$2 out
  shift 2
  out=$(in_ns timeout 20 ping "$@" 2>&1)
  if grep -q "$expected packets transmitted, $expected received" <<<"$out"; then
    ok "$label: $(grep 'packets transmitted' <<<"$out")"
  else
    bad "$label: ping $*:"
    indent "$out"
  fi
}

# ---------------------------------------------------------------------------------------------
# tap0: tapir-echo with a fixed MAC and a capture of its own; tcpdump on the kernel's side.
mac=02:74:61:70:00:02
tapir_pcap=$work/tapir.pcap
kernel_pcap=$work/kernel.pcap
kernel_dev tap0 tap 10.0.0.1/24
start_bg ip netns exec "$ns" timeout 90 tcpdump -Z root --immediate-mode -U -s 65535 -i tap0 \
  -w "$kernel_pcap" >"$work/tcpdump.log" 2>&1
tcpdump_pid=$NETNS_LAST_PID
wait_for 10 test -s "$kernel_pcap" || fatal "tcpdump on tap0 did not start: $(cat "$work/tcpdump.log")"
start_echo echo tap0 --tap tap0 --ip 10.0.0.2/24 --mac "$mac" --pcap "$tapir_pcap"
main_pid=$echo_pid
main_app=$echo_app
main_log=$work/echo.log

# RFC 826: the kernel asks who has 10.0.0.2 and tapir answers with its MAC, three times. Debian's
# arping is Thomas Habets' (the interface is -i; iputils' arping spells it -I).
out=$(in_ns timeout 10 arping -c 3 -W 0.2 -i tap0 10.0.0.2 2>&1)
replies=$(grep -ci "bytes from $mac (10.0.0.2)" <<<"$out")
if ((replies == 3)); then
  ok "ARP (RFC 826): arping -c 3 got 3 replies from $mac"
else
  bad "ARP (RFC 826): arping -c 3 -i tap0 10.0.0.2: $replies of 3 replies from $mac:"
  indent "$out"
fi

# RFC 792 echo at sizes 0 and 56; 1472 fills a 1500-byte MTU exactly; 4000 and 20000 go out as
# fragments and tapir's replies come back as fragments (RFC 791 fragmentation and reassembly).
for size in 0 56 1472 4000 20000; do
  rfc="RFC 792"
  ((size > 1472)) && rfc="RFC 792, RFC 791 fragments"
  ping_all "ping -s $size ($rfc)" 3 -c 3 -i 0.2 -W 2 -s "$size" 10.0.0.2
done

# RFC 1191 sanity: with DF set the kernel refuses locally to send 1473 bytes of payload through a
# 1500-byte MTU (1473 + 8 + 20 = 1501), and 1472 with DF goes through unfragmented.
out=$(in_ns timeout 10 ping -c 1 -W 1 -M "do" -s 1473 10.0.0.2 2>&1)
rc=$?
if ((rc != 0)) && grep -qi 'message too long' <<<"$out"; then
  ok "MTU: ping -M do -s 1473 fails locally ($(grep -oi 'message too long.*' <<<"$out" | head -n 1))"
else
  bad "MTU: ping -M do -s 1473 exited $rc, expected a local 'message too long':"
  indent "$out"
fi
ping_all "MTU: ping -M do -s 1472" 3 -c 3 -i 0.2 -W 2 -M "do" -s 1472 10.0.0.2

# RFC 826: after the pings the kernel's neighbour entry for 10.0.0.2 holds tapir's MAC.
neigh=$(ip -n "$ns" neigh show 10.0.0.2 dev tap0)
if grep -qi "lladdr $mac" <<<"$neigh"; then
  ok "ARP (RFC 826): the kernel's neighbour entry: $neigh"
else
  bad "ARP (RFC 826): the kernel's neighbour entry for 10.0.0.2 is '$neigh', expected lladdr $mac"
fi

# RFC 862: a line sent to port 7 comes back byte for byte.
printf 'hello tapir, echo me\n' >"$work/line.in"
in_ns timeout 10 socat -t 1 - UDP4:10.0.0.2:7 <"$work/line.in" >"$work/line.out" 2>"$work/socat.err"
if cmp -s "$work/line.in" "$work/line.out"; then
  ok "UDP echo (RFC 862): port 7 returned the same $(wc -c <"$work/line.in") bytes"
else
  bad "UDP echo (RFC 862): sent '$(cat "$work/line.in")', got back '$(cat "$work/line.out")' $(cat "$work/socat.err")"
fi

# RFC 862 with a 4000-byte datagram: fragmented towards tapir, reassembled, echoed in fragments.
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) % 251 for i in range(4000)))' \
  >"$work/big.in"
in_ns timeout 10 socat -b 65536 -t 1 - UDP4:10.0.0.2:7 <"$work/big.in" >"$work/big.out" \
  2>"$work/socat.err"
if cmp -s "$work/big.in" "$work/big.out"; then
  ok "UDP echo (RFC 862, RFC 791 fragments): a 4000-byte datagram came back intact"
else
  bad "UDP echo (RFC 862, RFC 791 fragments): 4000 bytes sent, $(wc -c <"$work/big.out") came back" \
    "($(cmp "$work/big.in" "$work/big.out" 2>&1 | head -n 1)) $(cat "$work/socat.err")"
fi

# udp_probe PORT COUNT: COUNT datagrams to 10.0.0.2:PORT from a connected socket, then 1 s for an
# answer. Prints "reply N bytes", "refused" (ECONNREFUSED, an ICMP port unreachable arrived) or
# "silence".
udp_probe() {
  in_ns timeout 10 python3 - "$1" "$2" <<'EOF'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect(("10.0.0.2", port))
try:
    for i in range(count):
        s.send(b"datagram %d for port %d" % (i, port))
    data = s.recv(65535)
    print("reply %d bytes" % len(data))
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("silence")
EOF
}

# RFC 863: datagrams to port 9 get no answer at all, yet tapir received them (its counters).
if counters "$main_app" "$main_log"; then
  rx_before=$(counter udp.rx_datagrams)
  tx_before=$(counter udp.tx_datagrams)
  answer=$(udp_probe 9 3)
  if counters "$main_app" "$main_log"; then
    rx_after=$(counter udp.rx_datagrams)
    tx_after=$(counter udp.tx_datagrams)
    if [[ $answer == silence ]] && ((rx_after - rx_before == 3 && tx_after == tx_before)); then
      ok "UDP discard (RFC 863): no answer; udp.rx_datagrams $rx_before -> $rx_after, udp.tx_datagrams stays $tx_after"
    else
      bad "UDP discard (RFC 863): answer '$answer'; udp.rx_datagrams '$rx_before' -> '$rx_after' (3 sent)," \
        "udp.tx_datagrams '$tx_before' -> '$tx_after'"
    fi
  else
    bad "UDP discard (RFC 863): answer '$answer'; no counter dump after the second SIGUSR1"
  fi
else
  bad "UDP discard (RFC 863): SIGUSR1 to tapir-echo ($main_app) printed no counters:"
  indent "$(tail -n 20 "$main_log")"
fi

# RFC 1122 §4.1.3.1: a datagram to a port nobody listens on draws an ICMP port unreachable, which
# the kernel reports to a connected UDP socket as ECONNREFUSED.
answer=$(udp_probe 4444 1)
if [[ $answer == refused ]]; then
  ok "closed UDP port (RFC 1122 §4.1.3.1): the kernel's connected socket got ECONNREFUSED"
else
  bad "closed UDP port (RFC 1122 §4.1.3.1): a connected socket to 10.0.0.2:4444 saw '$answer', expected ECONNREFUSED"
fi

# RFC 9293 §3.10.7.1: a SYN to a TCP port nobody listens on draws a RST, which the kernel's
# connect() reports at once as ECONNREFUSED (no retransmitted SYNs, no timeout).
answer=$(in_ns timeout 10 python3 - <<'EOF'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(3.0)
start = time.monotonic()
try:
    s.connect(("10.0.0.2", 9999))
    print("connected")
except ConnectionRefusedError:
    print("refused %.3f" % (time.monotonic() - start))
except OSError as e:
    print("error %s" % e)
EOF
)
if [[ $answer == refused* ]] && (($(awk '{print ($2 < 1.0)}' <<<"$answer"))); then
  ok "closed TCP port (RFC 9293 §3.10.7.1): the kernel's connect() refused after ${answer#refused } s"
else
  bad "closed TCP port (RFC 9293 §3.10.7.1): connect to 10.0.0.2:9999 gave '$answer', expected a prompt ECONNREFUSED"
fi

# ---------------------------------------------------------------------------------------------
# tun0: no link layer, so no ARP; the kernel's packets reach tapir as bare IPv4 (RFC 791).
kernel_dev tun0 tun 10.0.1.1/24
start_echo tun tun0 --tun tun0 --ip 10.0.1.2/24
tun_pid=$echo_pid
ping_all "TUN (RFC 792): ping -c 3 10.0.1.2" 3 -c 3 -i 0.2 -W 2 10.0.1.2
ping_all "TUN (RFC 791 fragments): ping -s 4000 10.0.1.2" 3 -c 3 -i 0.2 -W 2 -s 4000 10.0.1.2
stop_bg "$tun_pid"

# ---------------------------------------------------------------------------------------------
# tap1: tapir-ping is the client and the kernel at 10.0.2.1 answers.
kernel_dev tap1 tap 10.0.2.1/24

# tapir_ping ARGS...: runs tapir-ping in the namespace; output in $out, exit code in $rc.
# Each run's output is kept in $work/tapir-ping-N.log for the sanitizer check at the end.
ping_runs=0
tapir_ping() {
  out=$(in_ns timeout 20 "$ping_bin" --tap tap1 --ip 10.0.2.2/24 "$@" 2>&1)
  rc=$?
  ping_runs=$((ping_runs + 1))
  printf '%s\n' "$out" >"$work/tapir-ping-$ping_runs.log"
}
# replies_from OUT BYTES ADDR: the iputils-style reply lines, e.g.
#   64 bytes from 10.0.2.1: icmp_seq=1 ttl=64 time=0.4 ms
replies_from() {
  grep -cE "^$2 bytes from ${3//./\\.}: icmp_seq=[0-9]+ ttl=64 time=[0-9.]+ ms" <<<"$1"
}

# RFC 792: tapir resolves the kernel with ARP (RFC 826), sends echo requests, reads the replies.
tapir_ping -c 3 -i 0.2 -W 2 10.0.2.1
n=$(replies_from "$out" 64 10.0.2.1)
if ((rc == 0 && n == 3)) && grep -q '3 packets transmitted, 3 received' <<<"$out"; then
  ok "tapir-ping (RFC 792): -c 3 10.0.2.1: exit 0, 3 replies, $(grep 'packets transmitted' <<<"$out")"
else
  bad "tapir-ping (RFC 792): -c 3 10.0.2.1: exit $rc, $n reply lines:"
  indent "$out"
fi

# RFC 791: 4000 bytes go out in fragments from tapir; the kernel's reply is reassembled by tapir.
tapir_ping -c 2 -i 0.2 -W 2 -s 4000 10.0.2.1
n=$(replies_from "$out" 4008 10.0.2.1)
if ((rc == 0 && n == 2)); then
  ok "tapir-ping (RFC 791 fragments): -s 4000: exit 0, 2 replies of 4008 bytes"
else
  bad "tapir-ping (RFC 791 fragments): -s 4000 10.0.2.1: exit $rc, $n reply lines of 4008 bytes:"
  indent "$out"
fi

# RFC 1122 §2.3.2.1: nobody answers ARP for 10.0.2.99, so after the stack's tries (3, a second
# apart) the queued requests are dropped and the user told "Destination Host Unreachable"; no
# reply at all means exit 1. -W 4 waits out the ARP tries. The kernel pinging 10.0.0.99 (nobody
# there either) at the same time is the reference: it must behave the same way.
start_bg ip netns exec "$ns" timeout 20 ping -c 2 -i 0.2 -W 4 10.0.0.99 >"$work/unreach.out" 2>&1
ref_pid=$NETNS_LAST_PID
tapir_ping -c 2 -i 0.2 -W 4 10.0.2.99
wait "$ref_pid"
ref_rc=$?
stop_bg "$ref_pid" # only forgets it: it has been reaped
ref_out=$(cat "$work/unreach.out")
if ! { ((ref_rc == 1)) && grep -q 'Destination Host Unreachable' <<<"$ref_out"; }; then
  bad "unreachable (RFC 1122 §2.3.2.1): the reference, the kernel's ping -c 2 -W 4 10.0.0.99, exited $ref_rc:"
  indent "$ref_out"
elif ((rc == 1)) && grep -q 'Destination Host Unreachable' <<<"$out"; then
  ok "tapir-ping (RFC 1122 §2.3.2.1): 10.0.2.99: exit 1, $(grep -m 1 'Destination Host Unreachable' <<<"$out")" \
    "(the kernel: exit 1, $(grep -m 1 'Destination Host Unreachable' <<<"$ref_out"))"
else
  bad "tapir-ping (RFC 1122 §2.3.2.1): 10.0.2.99 exited $rc, expected 1 with Destination Host Unreachable" \
    "as the kernel's ping does ($(grep -m 1 'Destination Host Unreachable' <<<"$ref_out")):"
  indent "$out"
fi

# ---------------------------------------------------------------------------------------------
# tap2: the seeded fault model between tapir-echo and its TAP drops a fifth of the frames, so
# some pings are lost and some are answered.
kernel_dev tap2 tap 10.0.3.1/24
start_echo faults tap2 --tap tap2 --ip 10.0.3.2/24 --faults loss=20%,seed=5
faults_pid=$echo_pid
faults_app=$echo_app
out=$(in_ns timeout 20 ping -c 20 -i 0.05 -W 1 10.0.3.2 2>&1)
received=$(grep -oE '[0-9]+ received' <<<"$out" | grep -oE '^[0-9]+')
dropped="?"
if counters "$faults_app" "$work/faults.log"; then dropped=$(counter faults.dropped); fi
if [[ -n $received ]] && ((received > 0 && received < 20)); then
  ok "faults: loss=20%,seed=5: ping -c 20 got $received of 20 replies (faults.dropped $dropped)"
else
  bad "faults: loss=20%,seed=5: ping -c 20 got '${received:-?}' of 20 replies, expected some but not all:"
  indent "$out"
fi
stop_bg "$faults_pid"

# ---------------------------------------------------------------------------------------------
# tap3: --busy-poll keeps polling the TAP after each frame (drv.busy_poll_hits counts frames
# found that way) and --cpu pins the process; pings 2 ms apart all fall inside a 1 s budget.
kernel_dev tap3 tap 10.0.4.1/24
start_echo busy tap3 --tap tap3 --ip 10.0.4.2/24 --busy-poll 1000000 --cpu 0
busy_pid=$echo_pid
busy_app=$echo_app
ping_all "busy-poll: ping -c 20 -i 0.002" 20 -c 20 -i 0.002 -W 1 10.0.4.2
allowed=$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$busy_app/status")
hits=0
if counters "$busy_app" "$work/busy.log"; then hits=$(counter drv.busy_poll_hits); fi
if [[ $allowed == 0 ]] && ((hits >= 10)); then
  ok "busy-poll and --cpu 0: Cpus_allowed_list $allowed, drv.busy_poll_hits $hits"
else
  bad "busy-poll and --cpu 0: Cpus_allowed_list '$allowed' (expected 0), drv.busy_poll_hits $hits (expected >= 10):"
  indent "$(tail -n 20 "$work/busy.log")"
fi
stop_bg "$busy_pid"
# A CPU the process may not run on: one line naming it, exit 2.
out=$(in_ns timeout 10 "$echo_bin" --tap tap9 --ip 10.0.9.2/24 --cpu 1023 2>&1)
rc=$?
if ((rc == 2)) && [[ $(grep -c . <<<"$out") == 1 ]] && grep -q -- '--cpu 1023: not a CPU this process may run on' <<<"$out"; then
  ok "--cpu 1023: exit 2, '$out'"
else
  bad "--cpu 1023: exit $rc, expected 2 with one line:"
  indent "$out"
fi

# ---------------------------------------------------------------------------------------------
# The captures. SIGTERM must stop tapir-echo cleanly (exit 0) with its pcap flushed.
# gone PID: PID has exited (a zombie counts as gone).
# shellcheck disable=SC2317  # called through wait_for
gone() {
  ! netns__alive "$1"
}
kill -TERM "$main_app" 2>/dev/null
if wait_for 3 gone "$main_pid"; then
  wait "$main_pid" 2>/dev/null
  main_rc=$? # timeout(1) passes on tapir-echo's exit status
  stop_bg "$main_pid" # only forgets it: it has been reaped
  if ((main_rc == 0)); then
    ok "SIGTERM: tapir-echo stopped within 3 s, exit 0"
  else
    bad "SIGTERM: tapir-echo exited $main_rc, expected 0:"
    indent "$(tail -n 20 "$main_log")"
  fi
else
  stop_bg "$main_pid"
  bad "SIGTERM: tapir-echo still running 3 s after SIGTERM (killed):"
  indent "$(tail -n 20 "$main_log")"
fi
sleep 0.3
stop_bg "$tcpdump_pid"

# RFC 5227 §2.3: at start-up tapir announced 10.0.0.2: an ARP request from its MAC with sender
# and target protocol addresses both 10.0.0.2; the kernel's capture of tap0 shows it.
announce=$(tcpdump -r "$kernel_pcap" -nn -e \
  "arp and ether src $mac and arp[6:2] = 1 and arp[14:4] = 0x0a000002 and arp[24:4] = 0x0a000002" 2>/dev/null)
if [[ -n $announce ]]; then
  ok "ARP announcement (RFC 5227 §2.3): $(grep -c . <<<"$announce") captured on tap0"
else
  bad "ARP announcement (RFC 5227 §2.3): no ARP request from $mac for 10.0.0.2 with sender 10.0.0.2 on tap0:"
  indent "$(tcpdump -r "$kernel_pcap" -nn -e arp 2>&1 | head -n 10)"
fi

# RFC 791 §3.2: tapir fragmented its replies to the large pings (fragments from 10.0.0.2 with MF
# set or a non-zero offset) as seen by the kernel on tap0.
frags=$(tcpdump -r "$kernel_pcap" -nn 'ip src 10.0.0.2 and (ip[6:2] & 0x3fff != 0)' 2>/dev/null |
  grep -c .)
if ((frags > 0)); then
  ok "fragmentation (RFC 791 §3.2): $frags fragments from tapir seen on tap0"
else
  bad "fragmentation (RFC 791 §3.2): no fragments from 10.0.0.2 on tap0"
fi

# tshark_fields FILE FILTER FIELDS...: one line per frame matching FILTER.
tshark_fields() {
  local file=$1 filter=$2 args=() f
  shift 2
  for f in "$@"; do args+=(-e "$f"); done
  tshark -n -r "$file" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -Y "$filter" \
    -T fields "${args[@]}" 2>/dev/null
}

# The pcap tapir wrote: tshark opens it, it holds ARP, ICMP and UDP, nothing is malformed and no
# IPv4, ICMP or UDP checksum is wrong (RFC 1071); tapir completes in its capture the checksums
# an offloaded TAP leaves partial. The kernel's capture is held to the same, but for the UDP
# checksums of the kernel's own datagrams: it leaves them to the TAP's checksum offload, and
# tcpdump sees them before that (as on any NIC with TX checksum offload).
for which in tapir kernel; do
  own_udp=''
  [[ $which == kernel ]] && own_udp=' && !(ip.src == 10.0.0.1 && udp && !icmp)'
  file=$work/$which.pcap
  err=$(tshark -n -r "$file" 2>&1 >/dev/null | grep -v '^Running as user')
  if [[ ! -s $file ]] || ! tshark -n -r "$file" -c 1 >/dev/null 2>&1 || [[ -n $err ]]; then
    bad "pcap ($which): tshark cannot read $file: $err"
    continue
  fi
  total=$(tshark_fields "$file" frame frame.number | grep -c .)
  arp=$(tshark_fields "$file" arp frame.number | grep -c .)
  icmp=$(tshark_fields "$file" icmp frame.number | grep -c .)
  udp=$(tshark_fields "$file" 'udp && !icmp' frame.number | grep -c .)
  malformed=$(tshark -n -r "$file" -Y _ws.malformed 2>/dev/null)
  badsum=$(tshark_fields "$file" \
    "(ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0)$own_udp" \
    frame.number frame.protocols)
  if ((arp > 0 && icmp > 0 && udp > 0)) && [[ -z $malformed && -z $badsum ]]; then
    ok "pcap ($which): tshark reads $total frames: $arp ARP, $icmp ICMP, $udp UDP; none malformed, no bad checksum"
  else
    bad "pcap ($which): $total frames, $arp ARP, $icmp ICMP, $udp UDP (each must be > 0);" \
      "malformed: $(grep -c . <<<"$malformed"); bad checksums: $(grep -c . <<<"$badsum")"
    [[ -n $malformed ]] && indent "$(head -n 5 <<<"$malformed")"
    [[ -n $badsum ]] && indent "$(head -n 5 <<<"$badsum")"
  fi
done

# An ASan/UBSan build (the asan preset) reports on stderr; UBSan's "runtime error" does not even
# change the exit status, so look for the reports in every tapir process's output.
reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log 2>/dev/null)
if [[ -z $reports ]]; then
  ok "sanitizers: no report in the output of any tapir process"
else
  bad "sanitizers: reports in $(tr '\n' ' ' <<<"$reports"):"
  indent "$(grep -hE -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log | head -n 30)"
fi

echo "stack_kernel_peer: $checks checks, $failures failed"
if ((failures > 0)); then
  echo "tapir-echo's log (tap0), last lines:"
  indent "$(tail -n 40 "$main_log")"
  exit 1
fi
exit 0
