# shellcheck shell=bash
# Helpers for tests (and the demo) that use the real Linux kernel as a peer inside private
# network namespaces. Source it:  source "$(dirname "$0")/lib.sh"
#
#   netns_require_root_or_skip          print "SKIP: <reason>" and exit 77 unless we can work
#   netns_unique BASE                   print a per-process namespace name: tapir-BASE-<pid>
#   netns_create NAME                   create NAME (lo up, IPv6 off), delete it at exit
#   netns_exec NAME CMD...              run CMD inside NAME
#   veth_pair NS1 IF1 ADDR1 NS2 IF2 ADDR2 [MAC1 MAC2]
#                                       a veth between two namespaces, addresses in CIDR form
#   netdev_offload_off NS IF...         switch off checksum offload, SG, TSO, GSO, GRO
#   start_bg CMD...                     run CMD in the background; its PID goes to
#                                       NETNS_LAST_PID and is killed at exit (only that PID)
#   stop_bg PID                         stop one PID started by start_bg now (TERM, then KILL)
#   wait_for SECONDS CMD...             poll CMD every 0.1 s until it succeeds; 1 on timeout
#   netns_at_exit CMD...                run CMD during cleanup (before the namespaces go)
#   netns_cleanup                       kill the recorded PIDs, delete the recorded namespaces
#
# The first netns_create or start_bg installs an EXIT trap (and makes INT/TERM exit through it)
# that calls netns_cleanup; a script that needs its own exit work uses netns_at_exit instead of
# its own trap. Nothing here touches the host's interfaces or any process it did not start.
# Set NETNS_KEEP_IPV6=1 before netns_create to leave IPv6 on in new namespaces.

NETNS_CREATED=()
NETNS_PIDS=()
NETNS_EXIT_HOOKS=()
NETNS_LAST_PID=""
NETNS_TRAP_SET=0

netns_skip() {
  echo "SKIP: $*"
  exit 77
}

netns_require_root_or_skip() {
  if [[ $(id -u) -ne 0 ]]; then netns_skip "needs root (network namespaces)"; fi
  if ! command -v ip >/dev/null 2>&1; then netns_skip "iproute2 (ip) is not installed"; fi
  if [[ ! -c /dev/net/tun ]]; then netns_skip "/dev/net/tun is missing"; fi
  local probe="tapir-probe-$$"
  if ! ip netns add "$probe" 2>/dev/null; then netns_skip "'ip netns add' is not permitted here"; fi
  ip netns del "$probe" 2>/dev/null || true
}

netns_unique() {
  echo "tapir-$1-$$"
}

netns__install_trap() {
  if ((NETNS_TRAP_SET)); then return 0; fi
  NETNS_TRAP_SET=1
  trap netns_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

netns_at_exit() {
  netns__install_trap
  NETNS_EXIT_HOOKS+=("$(printf '%q ' "$@")")
}

netns_create() {
  local name=$1
  netns__install_trap
  ip netns add "$name" || return 1
  NETNS_CREATED+=("$name")
  if [[ -z ${NETNS_KEEP_IPV6:-} ]]; then
    ip netns exec "$name" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
  fi
  ip -n "$name" link set lo up
}

netns_exec() {
  local name=$1
  shift
  ip netns exec "$name" "$@"
}

# veth_pair NS1 IF1 ADDR1 NS2 IF2 ADDR2 [MAC1 MAC2]: both ends up, ADDRs like 10.0.0.1/24
# (an empty ADDR leaves that end without an address).
veth_pair() {
  local ns1=$1 if1=$2 addr1=$3 ns2=$4 if2=$5 addr2=$6 mac1=${7:-} mac2=${8:-}
  ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2" || return 1
  if [[ -n $mac1 ]]; then ip -n "$ns1" link set dev "$if1" address "$mac1" || return 1; fi
  if [[ -n $mac2 ]]; then ip -n "$ns2" link set dev "$if2" address "$mac2" || return 1; fi
  if [[ -n $addr1 ]]; then ip -n "$ns1" addr add "$addr1" dev "$if1" || return 1; fi
  if [[ -n $addr2 ]]; then ip -n "$ns2" addr add "$addr2" dev "$if2" || return 1; fi
  ip -n "$ns1" link set dev "$if1" up || return 1
  ip -n "$ns2" link set dev "$if2" up || return 1
}

# netdev_offload_off NS IF...: the legacy ETHTOOL_S* ioctls from python3 (no ethtool binary
# needed), so captured TCP/UDP checksums are real and every frame is one wire frame.
netdev_offload_off() {
  local ns=$1
  shift
  ip netns exec "$ns" python3 - "$@" <<'EOF'
import ctypes, fcntl, socket, struct, sys
SIOCETHTOOL = 0x8946
STXCSUM, SSG, STSO, SGSO, SGRO = 0x17, 0x19, 0x1F, 0x24, 0x2C
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    for cmd in (STXCSUM, SSG, STSO, SGSO, SGRO):
        value = ctypes.create_string_buffer(struct.pack("II", cmd, 0), 8)
        fcntl.ioctl(sock, SIOCETHTOOL, struct.pack("16sP", name.encode(), ctypes.addressof(value)))
EOF
}

# start_bg CMD...: e.g. start_bg ip netns exec "$ns" socat ...; the PID is in NETNS_LAST_PID.
# Give long-running commands a bound of their own too (timeout 60 CMD).
start_bg() {
  netns__install_trap
  "$@" &
  NETNS_LAST_PID=$!
  NETNS_PIDS+=("$NETNS_LAST_PID")
}

# netns__alive PID: the process exists and is not a zombie.
netns__alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# netns__is_job PID: PID is a background job of this shell not yet reaped, so a signal cannot
# reach a recycled PID that belongs to some other process.
netns__is_job() {
  local job
  for job in $(jobs -p); do
    if [[ $job == "$1" ]]; then return 0; fi
  done
  return 1
}

# stop_bg PID: SIGTERM, up to 3 s to exit, then SIGKILL. Only PIDs start_bg recorded.
stop_bg() {
  local pid=$1 known=0 p i
  for p in "${NETNS_PIDS[@]}"; do [[ $p == "$pid" ]] && known=1; done
  if ((!known)); then
    echo "stop_bg: $pid was not started by start_bg" >&2
    return 1
  fi
  if netns__is_job "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      netns__alive "$pid" || break
      sleep 0.1
    done
    if netns__is_job "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  local kept=()
  for p in "${NETNS_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  NETNS_PIDS=("${kept[@]}")
}

# wait_for SECONDS CMD...: 0 as soon as CMD succeeds, 1 (with a message) after SECONDS.
wait_for() {
  local seconds=$1 i
  shift
  local tries=$((seconds * 10))
  ((tries > 0)) || tries=1
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "wait_for: timed out after ${seconds}s: $*" >&2
  return 1
}

netns_cleanup() {
  local status=$?
  local hook pid name # not "ns": a hook may use the caller's $ns (and set -u is common)
  for hook in "${NETNS_EXIT_HOOKS[@]}"; do
    eval "$hook" || true
  done
  NETNS_EXIT_HOOKS=()
  local live=()
  for pid in "${NETNS_PIDS[@]}"; do
    if netns__is_job "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      live+=("$pid")
    fi
  done
  for pid in "${live[@]}"; do
    local i
    for ((i = 0; i < 30; i++)); do
      netns__alive "$pid" || break
      sleep 0.1
    done
    if netns__is_job "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for pid in "${NETNS_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  NETNS_PIDS=()
  for name in "${NETNS_CREATED[@]}"; do
    ip netns del "$name" 2>/dev/null || true
  done
  NETNS_CREATED=()
  return "$status"
}
