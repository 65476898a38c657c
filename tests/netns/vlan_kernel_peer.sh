#!/usr/bin/env bash
# IEEE 802.1Q against the Linux kernel: tapir-echo runs with --vlan 10 --vlan-pcp 5 on tap0 in a
# private namespace. This kernel has no 802.1Q VLAN devices, so the kernel's side crafts tagged
# frames with scapy and sends them through an AF_PACKET socket on tap0 (vlan_peer.py); tcpdump
# records tap0 and tshark, the referee, reads the tags back.
#
# Usage: vlan_kernel_peer.sh PATH/TO/tapir-echo
# Each check prints "ok: ..." or "FAIL: ..."; exits 0 when every check passed, 1 when any
# failed, 77 (printing "SKIP: <reason>") only when namespaces cannot be made here.
#
#   namespace kernel                              tapir-echo --vlan 10 --vlan-pcp 5
#   tap0 (no address, no VLAN devices) ========== 10.0.10.2/24 on VID 10, PCP 5
#   vlan_peer.py: AF_PACKET, 10.0.10.1 on VID 10  (untagged, VID 20 and QinQ frames: dropped)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

echo_bin=${1:?usage: vlan_kernel_peer.sh PATH/TO/tapir-echo}
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

[[ -x $echo_bin ]] || fatal "$echo_bin is not an executable (build it first)"
for tool in tcpdump tshark timeout; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (scripts/setup.sh installs it)"
done
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || fatal "/usr/bin/python3 has no scapy (python3-scapy)"

# A bad PCP is one error line and exit 2, before any device is touched.
out=$("$echo_bin" --tap tap0 --ip 10.0.10.2/24 --vlan 10 --vlan-pcp 8 2>&1)
rc=$?
if ((rc == 2)) && [[ $out == 'tapir-echo: --vlan-pcp: "8": not a PCP in 0..7' ]]; then
  ok "--vlan-pcp 8: one error line, exit 2"
else
  bad "--vlan-pcp 8: exit $rc, output:"
  indent "$out"
fi

ns=$(netns_unique vlan)
netns_create "$ns" || fatal "cannot create namespace $ns"
work=$(mktemp -d /tmp/tapir-vlan.XXXXXX)
netns_at_exit rm -rf "$work"
in_ns() {
  ip netns exec "$ns" "$@"
}

ip -n "$ns" tuntap add dev tap0 mode tap || fatal "ip tuntap add dev tap0 mode tap"
ip -n "$ns" link set tap0 up || fatal "ip link set tap0 up"

pcap=$work/tap0.pcap
start_bg ip netns exec "$ns" timeout 50 tcpdump -Z root --immediate-mode -U -s 65535 -i tap0 \
  -w "$pcap" >"$work/tcpdump.log" 2>&1
tcpdump_pid=$NETNS_LAST_PID
wait_for 10 test -s "$pcap" || fatal "tcpdump on tap0 did not start: $(cat "$work/tcpdump.log")"

mac=02:74:61:70:10:02
log=$work/echo.log
start_bg ip netns exec "$ns" timeout 50 "$echo_bin" --tap tap0 --ip 10.0.10.2/24 --mac "$mac" \
  --vlan 10 --vlan-pcp 5 >"$log" 2>&1
echo_pid=$NETNS_LAST_PID
# shellcheck disable=SC2317  # called through wait_for
has_child() { [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]; }
# shellcheck disable=SC2317
has_carrier() { ip -n "$ns" link show tap0 | grep -q LOWER_UP; }
wait_for 5 has_child "$echo_pid" || fatal "tapir-echo did not start: $(cat "$log")"
echo_app=$(awk '{print $1}' "/proc/$echo_pid/task/$echo_pid/children")
wait_for 5 has_carrier || fatal "tapir-echo did not attach to tap0: $(cat "$log")"
if grep -q "10.0.10.2/24 on tap0 VLAN 10" "$log"; then
  ok "tapir-echo says where it runs: $(grep -o '10.0.10.2/24 on tap0 VLAN 10.*' "$log" | head -n 1)"
else
  bad "tapir-echo's start line does not name VLAN 10:"
  indent "$(cat "$log")"
fi

# counters: SIGUSR1 makes tapir-echo print its non-zero counters to stderr, ending with dev.*.
# shellcheck disable=SC2317
dump_done() { tail -n "+$(($1 + 1))" "$log" | grep -q '^dev\.tx_frames '; }
dump=""
counters() {
  local before
  before=$(wc -l <"$log")
  kill -USR1 "$echo_app" 2>/dev/null || return 1
  wait_for 3 dump_done "$before" || return 1
  sleep 0.1
  dump=$(tail -n "+$((before + 1))" "$log")
}
counter() {
  awk -v name="$1" '$1 == name { value = $2 } END { print value + 0 }' <<<"$dump"
}

peer() {
  local out rc
  out=$(in_ns timeout 20 /usr/bin/python3 "$here/vlan_peer.py" tap0 "$mac" 10.0.10.2 10.0.10.1 "$1" 2>&1)
  rc=$?
  while IFS= read -r line; do
    case $line in
      ok:*) ok "${line#ok: }" ;;
      FAIL:*) bad "${line#FAIL: }" ;;
      *) [[ -n $line ]] && echo "    | $line" ;;
    esac
  done <<<"$out"
  ((rc == 0)) || [[ $out == *FAIL:* ]] || bad "vlan_peer.py $1 exited $rc"
}

# IEEE 802.1Q-2018 §8.6.2, §9.6: tagged frames of VID 10 reach the interface; its replies carry VID 10
# and the interface's PCP 5 (RFC 826 ARP, RFC 792 echo, RFC 862 UDP echo on port 7).
peer arp
peer ping
peer udp

# Frames of another VLAN, 802.1ad frames with an S-tag, and untagged frames: no interface takes
# them; each is dropped and counted by name.
for case in vid20:eth.rx_unknown_vlan:2 qinq:eth.rx_service_tagged:1 untagged:eth.rx_untagged:1; do
  IFS=: read -r what name n <<<"$case"
  counters || fatal "no counters from tapir-echo (SIGUSR1)"
  before=$(counter "$name")
  peer "silent-$what"
  counters || fatal "no counters from tapir-echo (SIGUSR1)"
  after=$(counter "$name")
  if ((after == before + n)); then
    ok "$what: $name rose by $n ($before -> $after)"
  else
    bad "$what: $name went $before -> $after, expected +$n"
  fi
done
if (($(counter eth.rx_tagged_frames) >= 3)); then
  ok "eth.rx_tagged_frames $(counter eth.rx_tagged_frames), eth.tx_tagged_frames $(counter eth.tx_tagged_frames)"
else
  bad "eth.rx_tagged_frames is $(counter eth.rx_tagged_frames)"
fi

stop_bg "$echo_pid"
sleep 0.3
stop_bg "$tcpdump_pid"

# tshark is the referee: every frame tapir sent is tagged VID 10 with PCP 5, DEI 0; the ARP
# reply, echo reply and UDP echo are among them with good checksums.
fields() {
  tshark -n -r "$pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -Y "$1" -T fields \
    "${@:2}" 2>/dev/null
}
from_tapir=$(fields "eth.src == $mac" -e frame.number -e vlan.id -e vlan.priority -e vlan.dei)
total=$(grep -c . <<<"$from_tapir")
wrong=$(awk -F'\t' '$2 != "10" || $3 != "5" || $4 != "0"' <<<"$from_tapir")
if ((total >= 3)) && [[ -z $wrong ]]; then
  ok "tshark: all $total frames from tapir have vlan.id 10, vlan.priority 5, vlan.dei 0"
else
  bad "tshark: $total frames from tapir; untagged or wrongly tagged:"
  indent "${wrong:-none}"
fi
for check in "ARP reply:arp.opcode == 2" \
  "echo reply:icmp.type == 0 && ip.checksum.status == 1 && icmp.checksum.status == 1" \
  "UDP echo:udp.srcport == 7 && ip.checksum.status == 1 && udp.checksum.status == 1"; do
  what=${check%%:*}
  n=$(fields "eth.src == $mac && vlan.id == 10 && vlan.priority == 5 && ${check#*:}" -e frame.number | grep -c .)
  if ((n >= 1)); then
    ok "tshark: $what on vlan.id 10, priority 5, checksums good ($n)"
  else
    bad "tshark: no $what with vlan.id == 10 (filter ${check#*:})"
  fi
done
# Nothing came from tapir for the frames of VID 20, the QinQ frame or the untagged one.
n=$(fields "eth.src == $mac && (vlan.id == 20 || icmp.seq == 9)" -e frame.number | grep -c .)
if ((n == 0)); then
  ok "tshark: no frame from tapir on VID 20 and no reply to the dropped pings"
else
  bad "tshark: $n frames from tapir answer what it should have dropped"
fi

echo "vlan_kernel_peer: $checks checks, $failures failed"
((failures == 0))
