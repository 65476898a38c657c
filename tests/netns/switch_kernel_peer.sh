#!/usr/bin/env bash
# tapir-switch with Linux kernels as its hosts: each host is a private network namespace whose
# kernel owns one switch port (a TAP the switch created in namespace SW and then moved into the
# host's namespace, so every run also checks that a TAP keeps working after `ip link set tapA
# netns HA`). The hosts use their ordinary tools (ping, arping, socat, curl, python3 + scapy for
# tagged frames); tcpdump records on the hosts' side and tshark is the referee.
#
# Usage: switch_kernel_peer.sh PATH/TO/tapir-switch [PATH/TO/tapir-echo PATH/TO/tapir-ping]
#        switch_kernel_peer.sh --reference
# Each check prints "ok: ..." or "FAIL: ..."; the script exits 0 when every check passed, 1 when
# any failed, 77 (printing "SKIP: <reason>") only when namespaces cannot be made here.
# --reference runs the learning checks (1, 2, 3, 8) with a Linux bridge (ageing_time 200, i.e.
# 2 s, veth pairs to the hosts) in tapir-switch's place: the checks themselves hold against
# Linux. SWITCH_KPEER_KEEP=DIR keeps the logs and captures.
#
#   learning phase: tapir-switch --port tapA --port tapB --port tapC --port tapD --ageing 2
#                                --ip 10.5.0.254/24
#     HA: tapA 10.5.0.1 (02:00:00:05:00:01), later tapD (the same host moved to another port)
#     HB: tapB 10.5.0.2 (:02)      HC: tapC 10.5.0.3 (:03)
#     1 all-pairs ping   2 a learnt unicast A->B is not seen on C; a broadcast reaches B and C
#     3 A's entry ages out; the next unicast to A is flooded (seen on C)
#     8 A moves from tapA to tapD (gratuitous ARP, arp_notify): B reaches it again, FDB moved
#     9 the management address answers ping, TCP echo (7) and the status page (80)
#     and a port whose interface is deleted fails alone: logged once, its entries flushed
#   VLAN phase: --port tapA:access=10 --port tapB:access=10 --port tapC:access=20
#               --port tapT:trunk=10,20 [--port tapE:trunk=10,20 --port tapF:trunk=10,20]
#               --ip 10.5.0.254/24 --mgmt-vlan 10
#     4 access VLANs isolate: A<->B ping, A->C does not, C sees none of A's broadcasts
#     5 the trunk tapT (namespace HT, scapy) carries VLAN 10 and 20 tagged, each to its own
#       access ports only; VID 30, not on the trunk, is dropped and counted
#     6 (with tapir-echo and tapir-ping that have --vlan) tapir-echo --vlan 10 behind tapE and
#       tapir-ping --vlan 10 behind tapF talk through the trunks; each tapir TAP meets its
#       switch port in a 2-port Linux bridge (no VLAN filtering: tags pass untouched)
#     9 the management address is on VLAN 10 only: A reaches it, C does not
#     and --pcap-dir: the switch's own capture of the trunk has the frames tagged as sent
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

usage="usage: switch_kernel_peer.sh PATH/TO/tapir-switch [PATH/TO/tapir-echo PATH/TO/tapir-ping] | --reference"
reference=0
dut=tapir-switch
if [[ ${1:-} == --reference ]]; then
  reference=1
  dut="a Linux bridge"
else
  switch_bin=${1:?$usage}
  echo_bin=${2:-}
  ping_bin=${3:-}
fi
netns_require_root_or_skip
started=$SECONDS

checks=0
failures=0
ok() {
  checks=$((checks + 1))
  echo "ok: [$((SECONDS - started))s] $*"
}
bad() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: [$((SECONDS - started))s] $*"
}
fatal() {
  echo "FAIL: $*"
  exit 1
}
indent() {
  local line
  while IFS= read -r line; do printf '    | %s\n' "$line"; done <<<"$1"
}

if ((!reference)); then
  [[ -x $switch_bin ]] || fatal "$switch_bin is not an executable (build it first)"
fi
for tool in ping arping socat curl tcpdump tshark timeout; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (scripts/setup.sh installs it)"
done
py=/usr/bin/python3
$py -c 'import scapy' 2>/dev/null || fatal "$py has no scapy (apt install python3-scapy)"

SW=$(netns_unique sw)
HA=$(netns_unique ha)
HB=$(netns_unique hb)
HC=$(netns_unique hc)
HT=$(netns_unique ht)
HE=$(netns_unique he)
HF=$(netns_unique hf)
for n in "$SW" "$HA" "$HB" "$HC" "$HT" "$HE" "$HF"; do
  netns_create "$n" || fatal "cannot create namespace $n"
done
work=$(mktemp -d /tmp/tapir-switch.XXXXXX)
keep() {
  if [[ -n ${SWITCH_KPEER_KEEP:-} ]]; then
    mkdir -p "$SWITCH_KPEER_KEEP" && cp -r "$work"/. "$SWITCH_KPEER_KEEP"/
  fi
  rm -rf "$work"
}
netns_at_exit keep

MAC_A=02:00:00:05:00:01
MAC_B=02:00:00:05:00:02
MAC_C=02:00:00:05:00:03
MAC_D=02:00:00:05:00:04
MAC_T=02:00:00:05:00:14
MGMT=10.5.0.254

# ---------------------------------------------------------------------------------------------
# The switch under test.

switch_pid="" # the timeout(1) process, for stop_bg
switch_app="" # tapir-switch itself, for SIGUSR1
switch_log=""

# shellcheck disable=SC2317  # called through wait_for
has_child() {
  [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}

# start_switch NAME PORTS... -- ARGS...: tapir-switch in SW with --port for each of PORTS (the
# specs) and ARGS; waits until it has made its TAPs.
start_switch() {
  local name=$1 spec args=()
  shift
  local taps=()
  while (($# > 0)) && [[ $1 != -- ]]; do
    args+=(--port "$1")
    taps+=("${1%%:*}")
    shift
  done
  [[ ${1:-} == -- ]] && shift
  args+=("$@")
  switch_log=$work/$name.log
  start_bg ip netns exec "$SW" timeout 120 "$switch_bin" "${args[@]}" >"$switch_log" 2>&1
  switch_pid=$NETNS_LAST_PID
  wait_for 5 has_child "$switch_pid" || fatal "tapir-switch did not start: $(cat "$switch_log")"
  switch_app=$(awk '{print $1}' "/proc/$switch_pid/task/$switch_pid/children")
  for spec in "${taps[@]}"; do
    wait_for 5 ip -n "$SW" link show "$spec" ||
      fatal "tapir-switch did not make $spec: $(cat "$switch_log")"
  done
}

# stop_switch: SIGTERM; a sanitizer report (the asan build) or an error line in its log fails.
stop_switch() {
  if [[ -n $switch_pid ]]; then stop_bg "$switch_pid"; fi
  switch_pid=""
  switch_app=""
  local report='AddressSanitizer|LeakSanitizer|runtime error:|^[0-9:.]+ [a-z_]+ +(error|critical) '
  if grep -vE "${expected_error:-^\$}" "$switch_log" | grep -qE "$report"; then
    bad "tapir-switch ($(basename "$switch_log" .log) phase) logged an error or a sanitizer report:"
    indent "$(grep -vE "${expected_error:-^\$}" "$switch_log" | grep -E -A5 "$report" | head -20)"
  fi
}

# attach PORT NS: the switch port PORT (tapX) is handed to namespace NS, where the host's
# interface is called PORT too. tapir: the TAP itself moves; reference: a veth swX--tapX with
# swX in br0.
attach() {
  local port=$1 ns=$2
  if ((reference)); then
    local sw_end=sw${port#tap}
    ip -n "$SW" link add "$sw_end" type veth peer name "$port" netns "$ns" || fatal "veth $port"
    ip -n "$SW" link set "$sw_end" master br0 || fatal "br0 $sw_end"
    ip -n "$SW" link set "$sw_end" up || fatal "up $sw_end"
  else
    ip -n "$SW" link set "$port" netns "$ns" || fatal "ip link set $port netns $ns"
  fi
}

# host_up NS IF MAC [ADDR]: the host's interface gets its MAC (and address) and comes up.
host_up() {
  local ns=$1 dev=$2 mac=$3 addr=${4:-}
  ip -n "$ns" link set "$dev" address "$mac" || fatal "ip link set $dev address $mac"
  if [[ -n $addr ]]; then ip -n "$ns" addr add "$addr" dev "$dev" || fatal "addr $addr on $dev"; fi
  ip -n "$ns" link set "$dev" up || fatal "ip link set $dev up"
}

# dump: SIGUSR1 to tapir-switch; its FDB and counters (ending "end of dump") go to $dump.
# Reference: `bridge fdb show` (learnt entries only) in the same "fdb MAC vid 1 port tapX" form.
# shellcheck disable=SC2317  # called through wait_for
dump_done() {
  [[ $(grep -c '^end of dump$' "$switch_log") -gt $1 ]]
}
dump=""
take_dump() {
  dump=""
  if ((reference)); then
    dump=$(ip netns exec "$SW" bridge fdb show br br0 | awk '!/permanent/ && $2 == "dev" {
      port = $3; sub(/^sw/, "tap", port); print "fdb", $1, "vid 1 port", port }')
    return 0
  fi
  local before
  before=$(grep -c '^end of dump$' "$switch_log")
  kill -USR1 "$switch_app" 2>/dev/null || return 1
  wait_for 3 dump_done "$before" || return 1
  dump=$(awk -v n="$before" '/^fdb: / { seen++ } seen > n' "$switch_log" | sed '/^end of dump$/q')
}
# fdb_port MAC [VID]: the port the last dump puts MAC on (empty if none).
fdb_port() {
  awk -v mac="$1" -v vid="${2:-}" '$1 == "fdb" && $2 == mac && (vid == "" || $4 == vid) {
    print $6 }' <<<"$dump"
}
counter() {
  awk -v name="$1" '$1 == name { value = $2 } END { print value + 0 }' <<<"$dump"
}

# ---------------------------------------------------------------------------------------------
# Captures: tcpdump on a host's side of its port; tshark counts.

declare -A cap_pid
# capture NAME NS IF: starts tcpdump, waits until it writes.
capture() {
  local name=$1 ns=$2 dev=$3
  rm -f "$work/$name.pcap"
  start_bg ip netns exec "$ns" timeout 60 tcpdump -Z root --immediate-mode -U -s 256 -i "$dev" \
    -w "$work/$name.pcap" >"$work/$name.tcpdump.log" 2>&1
  cap_pid[$name]=$NETNS_LAST_PID
  wait_for 5 test -s "$work/$name.pcap" ||
    fatal "tcpdump on $dev in $ns did not start: $(cat "$work/$name.tcpdump.log")"
}
# end_capture NAME...: stops them (after a moment for the last frames).
end_capture() {
  local name
  sleep 0.3
  for name in "$@"; do stop_bg "${cap_pid[$name]}"; done
}
# count NAME FILTER: frames of capture NAME matching the tshark display filter.
count() {
  tshark -r "$work/$1.pcap" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l
}

ping_ok() { # ping_ok NS ADDR [COUNT]: every request answered
  local n=${3:-1} out
  out=$(ip netns exec "$1" timeout 10 ping -n -c "$n" -i 0.2 -W 2 "$2" 2>&1)
  grep -q "$n packets transmitted, $n received" <<<"$out"
}

# =============================================================================================
# The learning phase: checks 1, 2, 3, 8 (both modes) and 9 (tapir).
echo "switch_kernel_peer: learning through $dut"
if ((reference)); then
  ip -n "$SW" link add br0 type bridge ageing_time 200 || fatal "ip link add br0 type bridge"
  ip -n "$SW" link set br0 up || fatal "br0 up"
else
  start_switch learning tapA tapB tapC tapD -- --ageing 2 --ip "$MGMT/24"
fi
# After start: each TAP moves into its host's namespace.
attach tapA "$HA"
attach tapB "$HB"
attach tapC "$HC"
attach tapD "$HA"
host_up "$HA" tapA "$MAC_A" 10.5.0.1/24
host_up "$HB" tapB "$MAC_B" 10.5.0.2/24
host_up "$HC" tapC "$MAC_C" 10.5.0.3/24
ip -n "$HA" link set tapD address "$MAC_D" # down, no address, until A moves to it (check 8)

# 1. All pairs, each way (ARP resolves through the switch).
declare -A NS_OF=([1]=$HA [2]=$HB [3]=$HC)
pairs_ok=0
pairs_bad=""
for i in 1 2 3; do
  for j in 1 2 3; do
    ((i == j)) && continue
    if ping_ok "${NS_OF[$i]}" "10.5.0.$j" 2; then
      pairs_ok=$((pairs_ok + 1))
    else
      pairs_bad+=" 10.5.0.$i->10.5.0.$j"
    fi
  done
done
if ((pairs_ok == 6)); then
  ok "1 all-pairs ping: 6 of 6 directions answered (A, B, C through $dut)"
else
  bad "1 all-pairs ping: $pairs_ok of 6; failed:$pairs_bad"
fi

# From here on the hosts' neighbour entries are permanent, so the kernels send no ARP of their
# own (probes would refresh the switch's entries at random moments): what the switch learns is
# only what each check sends.
macs=([1]=$MAC_A [2]=$MAC_B [3]=$MAC_C)
devs=([1]=tapA [2]=tapB [3]=tapC)
for i in 1 2 3; do
  for j in 1 2 3; do
    ((i == j)) && continue
    ip -n "${NS_OF[$i]}" neigh replace "10.5.0.$j" lladdr "${macs[$j]}" nud permanent \
      dev "${devs[$i]}" || fatal "ip neigh replace on ${devs[$i]}"
  done
done

# udp_broadcast NS SRC PAYLOAD: one datagram to 10.5.0.255:9999 from SRC.
udp_broadcast() {
  ip netns exec "$1" timeout 5 $py - "$2" "$3" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind((sys.argv[1], 0))
for _ in range(3):
    s.sendto(sys.argv[2].encode(), ("10.5.0.255", 9999))
EOF
}

# 2. IEEE 802.1Q-2018 §8.8.3: a learnt destination is forwarded to its port only; broadcast
# (and unknown) destinations are flooded to every other port (§8.6.3). The first small ping
# refreshes both entries (ageing is 2 s); the 84-byte pings after it are the ones counted.
capture learnC "$HC" tapC
capture learnB "$HB" tapB
ip netns exec "$HA" timeout 5 ping -n -c 1 -s 24 -W 1 10.5.0.2 >/dev/null 2>&1
out=$(ip netns exec "$HA" timeout 10 ping -n -c 5 -i 0.2 -W 2 10.5.0.2 2>&1)
udp_broadcast "$HA" 10.5.0.1 learning-broadcast
idle_t0=$(date +%s.%N) # A's last frame: check 3 counts its idle time from here
take_dump || fatal "no FDB dump: $(tail -5 "$switch_log" 2>/dev/null)"
present=$(fdb_port "$MAC_A")
end_capture learnC learnB
ab='icmp && ip.len == 84 && ((ip.src == 10.5.0.1 && ip.dst == 10.5.0.2) || (ip.src == 10.5.0.2 && ip.dst == 10.5.0.1))'
on_c=$(count learnC "$ab")
on_b=$(count learnB "$ab")
bcast='eth.src == '$MAC_A' && eth.dst == ff:ff:ff:ff:ff:ff && udp.dstport == 9999'
bc_c=$(count learnC "$bcast")
bc_b=$(count learnB "$bcast")
if grep -q "5 packets transmitted, 5 received" <<<"$out" && ((on_b == 10 && on_c == 0)); then
  ok "2 learnt unicast: A<->B's 10 echo frames seen on B, $on_c on C"
else
  bad "2 learnt unicast: A<->B echo frames on B $on_b (want 10), on C $on_c (want 0)"
  indent "$out"
fi
if ((bc_b == 3 && bc_c == 3)); then
  ok "2 broadcast: A's 3 UDP broadcasts reached B ($bc_b) and C ($bc_c)"
else
  bad "2 broadcast: A's 3 UDP broadcasts seen on B $bc_b, on C $bc_c (want 3 and 3)"
fi

# 3. IEEE 802.1Q-2018 §8.8.3: an entry not refreshed within the ageing time (2 s here) is
# removed, and a frame to that address is flooded again. A's entry was there right after its
# broadcasts (the dump above); from then on A is idle.
gone=0
for ((k = 0; k < 14; k++)); do
  sleep 0.5
  take_dump || break
  if [[ -z $(fdb_port "$MAC_A") ]]; then
    gone=1
    break
  fi
done
idle_s=$(awk -v a="$idle_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [[ $present == tapA ]] && ((gone)); then
  ok "3 ageing: A's entry (on tapA after its last frame) gone from the FDB after ${idle_s} s idle (ageing 2 s)"
else
  bad "3 ageing: A's entry was on '${present}' (want tapA), gone=$gone after ${idle_s} s"
  indent "$dump"
fi
capture ageC "$HC" tapC
ping_ok "$HB" 10.5.0.1 1
ping_b=$?
end_capture ageC
flooded=$(count ageC "icmp.type == 8 && ip.src == 10.5.0.2 && ip.dst == 10.5.0.1")
if ((ping_b == 0 && flooded >= 1)); then
  ok "3 ageing: the next unicast B->A after ageing was flooded (seen on C: $flooded)"
else
  bad "3 ageing: B->A ping ok=$((ping_b == 0)), requests seen on C: $flooded (want >= 1)"
fi

# 8. A moves from tapA to tapD: a relearnt source (IEEE 802.1Q-2018 §8.7: the entry follows
# the port the address is now seen on). The host announces itself with a gratuitous ARP when
# tapD comes up (arp_notify), as a migrated VM or a replugged laptop does.
ping_ok "$HB" 10.5.0.1 1 # A's entry back on tapA, fresh
ip -n "$HA" link set tapA down
ip netns exec "$HA" sysctl -qw net.ipv4.conf.tapD.arp_notify=1
ip -n "$HA" link set tapD address "$MAC_A"
ip -n "$HA" addr add 10.5.0.1/24 dev tapD
move_t0=$(date +%s.%N)
ip -n "$HA" link set tapD up
moved=0
for ((k = 0; k < 10; k++)); do
  if ping_ok "$HB" 10.5.0.1 1; then
    moved=1
    break
  fi
done
move_s=$(awk -v a="$move_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
take_dump
now_on=$(fdb_port "$MAC_A")
if ((moved)) && [[ $now_on == tapD ]]; then
  detail=""
  ((reference)) || detail=", bridge.fdb_moved $(counter bridge.fdb_moved)"
  ok "8 move: B reaches A on tapD ${move_s} s after it came up; the FDB has A on tapD$detail"
  if ((!reference)) && (($(counter bridge.fdb_moved) < 1)); then
    bad "8 move: bridge.fdb_moved is 0 (A was learnt anew, not moved)"
  fi
else
  bad "8 move: reached=$moved after ${move_s} s, the FDB has A on '$now_on' (want tapD)"
  indent "$dump"
fi

# 9. The management address: the switch's own host stack behind an internal port.
if ((!reference)); then
  if ping_ok "$HA" "$MGMT" 3; then
    ok "9 management: $MGMT answers ping from A"
  else
    bad "9 management: no ping answer from $MGMT"
  fi
  reply=$(printf 'hello switch\n' | ip netns exec "$HB" timeout 5 socat -t 2 - "TCP:$MGMT:7" 2>&1)
  if [[ $reply == "hello switch" ]]; then
    ok "9 management: TCP echo (port 7) from B answered 'hello switch'"
  else
    bad "9 management: TCP echo from B answered '$reply'"
  fi
  page=$(ip netns exec "$HC" timeout 5 curl -s "http://$MGMT/" 2>&1)
  if grep -q "^fdb $MAC_C vid 1 port tapC" <<<"$page" && grep -q '^bridge\.' <<<"$page"; then
    ok "9 management: the status page (port 80) lists C on tapC and the counters"
  else
    bad "9 management: the status page from C:"
    indent "$page"
  fi
fi

# A port whose interface is deleted (its host namespace went, say): the switch logs it once,
# stops reading it, and the other ports carry on.
expected_error=""
if ((!reference)); then
  ping_ok "$HB" 10.5.0.1 1 # A's entry on tapD fresh (ageing is 2 s): a flush, not ageing, removes it
  ip -n "$HA" link del tapD || bad "ip link del tapD (in $HA)"
  expected_error='bridge port 3 \(tapD\): device failed'
  sleep 0.2
  take_dump
  failed=$(counter bridge_drv.device_failed)
  if ((failed == 1)) && grep -qE "$expected_error" "$switch_log" && [[ -z $(fdb_port "$MAC_A") ]] &&
    ping_ok "$HB" 10.5.0.3 2; then
    ok "a deleted port: tapD logged once as failed (bridge_drv.device_failed 1), A's entry on it flushed; B still reaches C"
  else
    bad "a deleted port: bridge_drv.device_failed $failed, A on '$(fdb_port "$MAC_A")', the log line or B->C failed"
    indent "$(tail -n 5 "$switch_log")"
  fi
fi

if ((!reference)); then
  take_dump && {
    echo "    the learning phase's FDB and counters (SIGUSR1):"
    indent "$dump"
  }
fi
stop_switch
expected_error=""

if ((reference)); then
  echo "switch_kernel_peer: $checks checks, $failures failed, $((SECONDS - started)) s"
  ((failures == 0))
  exit
fi

# =============================================================================================
# The VLAN phase: checks 4, 5, 6, 9. A new switch, new TAPs (the old ones went with it).
# Check 6 needs tapir apps that take --vlan (a build without it refuses the option).
have_vlan_hosts=0
if [[ -x $echo_bin && -x $ping_bin ]] && ! grep -aq -- '--vlan is not supported yet' "$echo_bin"; then
  have_vlan_hosts=1
fi
vlan_ports=(tapA:access=10 tapB:access=10 tapC:access=20 'tapT:trunk=10,20')
((have_vlan_hosts)) && vlan_ports+=('tapE:trunk=10,20' 'tapF:trunk=10,20')
start_switch vlan "${vlan_ports[@]}" -- --ip "$MGMT/24" --mgmt-vlan 10 --pcap-dir "$work/switch-pcap"
attach tapA "$HA"
attach tapB "$HB"
attach tapC "$HC"
attach tapT "$HT"
host_up "$HA" tapA "$MAC_A" 10.5.0.1/24
host_up "$HB" tapB "$MAC_B" 10.5.0.2/24
host_up "$HC" tapC "$MAC_C" 10.5.0.3/24
host_up "$HT" tapT "$MAC_T"

# 4. IEEE 802.1Q-2018 §8.6.2, §8.6.4: a frame is relayed only to member ports of its VLAN.
capture vlanB "$HB" tapB
capture vlanC "$HC" tapC
ab_ok=0
ping_ok "$HA" 10.5.0.2 2 && ab_ok=1
ac_out=$(ip netns exec "$HA" timeout 10 ping -n -c 2 -i 0.2 -W 1 10.5.0.3 2>&1)
udp_broadcast "$HA" 10.5.0.1 vlan10-broadcast
end_capture vlanB vlanC
from_a_on_c=$(count vlanC "eth.src == $MAC_A")
a_bcast_on_b=$(count vlanB "eth.src == $MAC_A && eth.dst == ff:ff:ff:ff:ff:ff")
if ((ab_ok)); then
  ok "4 access VLANs: A and B (both VLAN 10) ping"
else
  bad "4 access VLANs: A cannot ping B on VLAN 10"
fi
if grep -q " 0 received" <<<"$ac_out"; then
  ok "4 access VLANs: A (VLAN 10) cannot reach C (VLAN 20)"
else
  bad "4 access VLANs: A reached C across VLANs:"
  indent "$ac_out"
fi
if ((from_a_on_c == 0 && a_bcast_on_b >= 3)); then
  ok "4 access VLANs: none of A's frames on C; B saw A's $a_bcast_on_b broadcasts (ARP, UDP)"
else
  bad "4 access VLANs: A's frames on C $from_a_on_c (want 0); A's broadcasts on B $a_bcast_on_b"
fi

# 5. The trunk: HT's kernel sends nothing; scapy sends tagged frames on tapT. VLAN 10: an ARP
# request and a ping to A (10.5.0.20 is HT's address on VLAN 10); VLAN 20: an ARP request to C
# and a UDP broadcast (10.5.0.21 on VLAN 20); VLAN 30, not on the trunk: a UDP broadcast.
capture trunkT "$HT" tapT
capture trunkA "$HA" tapA
capture trunkB "$HB" tapB
capture trunkC "$HC" tapC
ip netns exec "$HT" timeout 20 $py - "$MAC_T" "$MAC_A" >"$work/scapy.log" 2>&1 <<'EOF'
import sys, time
from scapy.all import ARP, ICMP, IP, UDP, Dot1Q, Ether, conf, sendp
conf.verb = 0
me, mac_a = sys.argv[1], sys.argv[2]
bc = "ff:ff:ff:ff:ff:ff"
def send(frame):
    sendp(frame, iface="tapT")
    time.sleep(0.1)
send(Ether(src=me, dst=bc) / Dot1Q(vlan=10) / ARP(op=1, hwsrc=me, psrc="10.5.0.20", pdst="10.5.0.1"))
send(Ether(src=me, dst=mac_a) / Dot1Q(vlan=10) / IP(src="10.5.0.20", dst="10.5.0.1") / ICMP(id=0x77, seq=1))
send(Ether(src=me, dst=bc) / Dot1Q(vlan=20) / ARP(op=1, hwsrc=me, psrc="10.5.0.21", pdst="10.5.0.3"))
send(Ether(src=me, dst=bc) / Dot1Q(vlan=20) / IP(src="10.5.0.21", dst="10.5.0.255") / UDP(sport=9999, dport=9999) / b"vlan20")
send(Ether(src=me, dst=bc) / Dot1Q(vlan=30) / IP(src="10.5.0.22", dst="10.5.0.255") / UDP(sport=9999, dport=9999) / b"vlan30")
time.sleep(0.5)
EOF
scapy_rc=$?
end_capture trunkT trunkA trunkB trunkC
((scapy_rc == 0)) || bad "5 trunk: scapy failed: $(cat "$work/scapy.log")"
arp10=$(count trunkT "vlan.id == 10 && arp.opcode == 2 && arp.src.proto_ipv4 == 10.5.0.1")
icmp10=$(count trunkT "vlan.id == 10 && icmp.type == 0 && ip.src == 10.5.0.1")
arp20=$(count trunkT "vlan.id == 20 && arp.opcode == 2 && arp.src.proto_ipv4 == 10.5.0.3")
untagged=$(count trunkT "!vlan && eth.src != $MAC_T")
wrong_tag=$(count trunkT "(vlan.id == 20 && (ip.src == 10.5.0.1 || arp.src.proto_ipv4 == 10.5.0.1)) || (vlan.id == 10 && (ip.src == 10.5.0.3 || arp.src.proto_ipv4 == 10.5.0.3))")
if ((arp10 >= 1 && icmp10 >= 1 && arp20 >= 1 && untagged == 0 && wrong_tag == 0)); then
  ok "5 trunk: replies come back tagged: A's ARP reply and echo reply with vlan.id == 10, C's ARP reply with vlan.id == 20; nothing untagged or mis-tagged"
else
  bad "5 trunk: on tapT A's ARP reply/10 $arp10, echo reply/10 $icmp10, C's ARP reply/20 $arp20 (want >= 1 each); untagged $untagged, mis-tagged $wrong_tag (want 0)"
fi
v20='arp.src.proto_ipv4 == 10.5.0.21 || ip.src == 10.5.0.21'
v10='arp.src.proto_ipv4 == 10.5.0.20 || ip.src == 10.5.0.20'
v30='ip.src == 10.5.0.22'
leak_a=$(count trunkA "$v20 || $v30")
leak_b=$(count trunkB "$v20 || $v30")
leak_c=$(count trunkC "$v10 || $v30")
c20=$(count trunkC "!vlan && ($v20)")
a10=$(count trunkA "!vlan && ($v10)")
if ((leak_a == 0 && leak_b == 0 && leak_c == 0 && c20 == 2 && a10 == 2)); then
  ok "5 trunk: VLAN 20 reached C only (2 frames, untagged), VLAN 10 A only (2 frames, untagged), VLAN 30 nobody"
else
  bad "5 trunk: VLAN 20/30 frames on A $leak_a, on B $leak_b, VLAN 10/30 on C $leak_c (want 0); C got $c20 of VLAN 20's 2, A $a10 of VLAN 10's 2"
fi
take_dump
drop30=$(counter bridge.port3.rx_dropped_vlan)
if ((drop30 >= 1)); then
  ok "5 trunk: VID 30 (not on tapT) dropped at ingress: bridge.port3.rx_dropped_vlan $drop30"
else
  bad "5 trunk: bridge.port3.rx_dropped_vlan is $drop30 (want >= 1)"
  indent "$dump"
fi
if [[ $(fdb_port "$MAC_T" 10) == tapT && $(fdb_port "$MAC_T" 20) == tapT && $(fdb_port "$MAC_A" 10) == tapA && -z $(fdb_port "$MAC_A" 20) ]]; then
  ok "5 trunk: HT's MAC learnt apart in VLAN 10 and VLAN 20 (an entry per MAC and VID)"
else
  bad "5 trunk: the FDB per VLAN:"
  indent "$dump"
fi

# 9. The management address on VLAN 10 (--mgmt-vlan 10).
if ping_ok "$HA" "$MGMT" 2 && ! ping_ok "$HC" "$MGMT" 1; then
  ok "9 management on VLAN 10: A (VLAN 10) reaches $MGMT, C (VLAN 20) does not"
else
  bad "9 management on VLAN 10: A or C got the wrong answer"
fi

# 6. Two tapir hosts with --vlan 10 through the trunks tapE and tapF.
if ((have_vlan_hosts)); then
  attach tapE "$HE"
  attach tapF "$HF"
  # join NS SWITCHPORT TAPIRTAP: a 2-port Linux bridge (no VLAN filtering: tags pass as they are)
  join() {
    ip -n "$1" link add brj type bridge || fatal "bridge in $1"
    ip -n "$1" link set "$2" master brj || fatal "$2 into the bridge in $1"
    ip -n "$1" link set "$3" master brj || fatal "$3 into the bridge in $1"
    ip -n "$1" link set "$2" up || fatal "$2 up"
    ip -n "$1" link set "$3" up || fatal "$3 up"
    ip -n "$1" link set brj up || fatal "brj up in $1"
  }
  ip -n "$HE" tuntap add dev te0 mode tap || fatal "tuntap te0"
  ip -n "$HF" tuntap add dev tf0 mode tap || fatal "tuntap tf0"
  join "$HE" tapE te0
  join "$HF" tapF tf0
  start_bg ip netns exec "$HE" timeout 60 "$echo_bin" --tap te0 --ip 10.6.0.1/24 --vlan 10 \
    >"$work/echo.log" 2>&1
  # shellcheck disable=SC2317  # called through wait_for
  te0_attached() { ip -n "$HE" link show te0 | grep -q LOWER_UP; }
  wait_for 5 te0_attached || bad "6 tapir hosts: tapir-echo did not attach to te0: $(cat "$work/echo.log")"
  capture trunkE "$HE" tapE
  out=$(ip netns exec "$HF" timeout 20 "$ping_bin" --tap tf0 --ip 10.6.0.2/24 --vlan 10 -c 3 \
    -i 0.2 10.6.0.1 2>&1)
  out20=$(ip netns exec "$HF" timeout 20 "$ping_bin" --tap tf0 --ip 10.6.0.2/24 --vlan 20 -c 1 \
    -W 1 10.6.0.1 2>&1)
  end_capture trunkE
  tagged=$(count trunkE "vlan.id == 10 && icmp.type == 0 && ip.src == 10.6.0.1")
  untagged=$(count trunkE "!vlan && icmp")
  if grep -q "3 packets transmitted, 3 received" <<<"$out" && ((tagged == 3 && untagged == 0)); then
    ok "6 tapir hosts: tapir-ping --vlan 10 (tapF) got 3 of 3 replies from tapir-echo --vlan 10 (tapE); on tapE the 3 replies carry vlan.id == 10, nothing untagged"
  else
    bad "6 tapir hosts: tapir-ping --vlan 10 through the trunks; replies tagged 10 on tapE $tagged (want 3), untagged ICMP $untagged:"
    indent "$out"
    indent "$(cat "$work/echo.log")"
  fi
  if grep -q "1 packets transmitted, 0 received" <<<"$out20"; then
    ok "6 tapir hosts: tapir-ping --vlan 20 gets no answer from tapir-echo on VLAN 10"
  else
    bad "6 tapir hosts: tapir-ping --vlan 20:"
    indent "$out20"
  fi
else
  echo "note: check 6 (tapir hosts with --vlan) left out: tapir-echo/tapir-ping with --vlan not given"
fi

take_dump && {
  echo "    the VLAN phase's FDB and counters (SIGUSR1):"
  indent "$dump"
}
stop_switch
# --pcap-dir: the switch's own capture of the trunk has the frames as it wrote them, tagged.
own=$work/switch-pcap/tapT.pcap
own10=$(tshark -r "$own" -Y "vlan.id == 10 && ip.src == 10.5.0.1 && icmp.type == 0" 2>/dev/null | wc -l)
own20=$(tshark -r "$own" -Y "vlan.id == 20 && arp.src.proto_ipv4 == 10.5.0.3" 2>/dev/null | wc -l)
if ((own10 >= 1 && own20 >= 1)); then
  ok "--pcap-dir: tapT.pcap has A's echo reply tagged 10 and C's ARP reply tagged 20, as sent"
else
  bad "--pcap-dir: in $own A's echo reply/10 $own10, C's ARP reply/20 $own20 (want >= 1 each)"
fi
echo "switch_kernel_peer: $checks checks, $failures failed, $((SECONDS - started)) s"
((failures == 0))
