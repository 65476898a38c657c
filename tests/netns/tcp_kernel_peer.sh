#!/usr/bin/env bash
# The Linux kernel as tapir's TCP peer: tapir-echo, tapir-httpd and tapir-get run on TAP devices
# inside one private namespace, and the namespace's own kernel talks TCP to them with its
# ordinary tools (socat, curl, hping3, python3 over the kernel's sockets, python3 -m http.server).
# Bulk transfers, many connections, killed clients, a SYN flood and loss in both directions
# (nftables on the kernel's side, --faults on tapir's) must all leave the bytes intact.
#
# Usage: tcp_kernel_peer.sh PATH/TO/tapir-echo PATH/TO/tapir-httpd PATH/TO/tapir-get
#        tcp_kernel_peer.sh --reference
# Each check prints "ok: ..." or "FAIL: ..." with its time; the script exits 0 when every check
# passed, 1 when any failed, 77 (printing "SKIP: <reason>") only when namespaces cannot be made.
# TCP_KPEER_PARTS=echo,many,kill,flood,faults,httpd,get (the default: all) runs only some parts;
# TCP_KPEER_SEED=N fixes the seed of --faults and of the kill delays (printed either way).
# TCP_KPEER_KEEP=DIR copies the logs and the captures (tcpdump on the kernel's side of each TAP,
# the first 128 bytes of every frame) to DIR at the end, for tshark.
# --reference runs the TCP parts (echo, many, kill, flood, faults) with Linux as the device under
# test instead of tapir: a second namespace behind veth pairs, tcp_peer.py's echo, discard and
# chargen servers on its sockets, its own SYN cookies, nft drops on both sides (no dup/reorder),
# its nstat counters for tapir's. It shows the checks themselves hold against the reference.
#
#   tap0  kernel 10.0.0.1/24  tapir-echo  10.0.0.2/24   bulk, many connections, kills, SYN flood
#   tap1  kernel 10.0.1.1/24  tapir-echo  10.0.1.2/24   --faults on tapir's side, nft drops on ours
#   tap2  kernel 10.0.2.1/24  tapir-httpd 10.0.2.2/24   curl
#   tap3  kernel 10.0.3.1/24  tapir-get   10.0.3.2/24   python3 -m http.server on 10.0.3.1
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"

usage="usage: tcp_kernel_peer.sh PATH/TO/tapir-echo PATH/TO/tapir-httpd PATH/TO/tapir-get | --reference"
reference=0
dut=tapir # the device under test, in messages
if [[ ${1:-} == --reference ]]; then
  reference=1
  dut=Linux
  parts=",${TCP_KPEER_PARTS:-echo,many,kill,flood,faults},"
  parts=${parts//,httpd,/,}
  parts=${parts//,get,/,}
else
  echo_bin=${1:?$usage}
  httpd_bin=${2:?$usage}
  get_bin=${3:?$usage}
  parts=",${TCP_KPEER_PARTS:-echo,many,kill,flood,faults,httpd,get},"
fi
seed=${TCP_KPEER_SEED:-$((RANDOM % 10000 + 1))}
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
# bad_log MESSAGE LOG: a FAIL line with the last lines of LOG (a tapir process's stderr) and,
# while that tapir process runs, its TCP counters now (log_proc maps its log to its PID).
declare -A log_proc=()
bad_log() {
  local proc=${log_proc[$2]:-}
  bad "$1"
  echo "    $(basename "$2"), last lines:"
  indent "$(tail -n 25 "$2" | grep -vE '^[a-z0-9_]+\.[a-z0-9_.]+ [0-9]+$')"
  if ((!reference)) && [[ -n $proc ]] && netns__alive "$proc" && counters "$proc" "$2"; then
    echo "    its counters now:"
    indent "$(grep -E '^(tcp|arp|dev|faults)\.' <<<"$dump" | paste -sd ' ' | fold -s -w 96)"
  fi
}
# part NAME: the part is selected by TCP_KPEER_PARTS.
part() {
  [[ $parts == *",$1,"* ]]
}

# Timings: tick starts a clock, took prints the seconds since as "1.2 s" (no fork: bash 5's
# EPOCHREALTIME in microseconds).
tick() {
  t0=${EPOCHREALTIME/./}
}
took() {
  local us=$((${EPOCHREALTIME/./} - t0))
  printf '%d.%d s' $((us / 1000000)) $((us % 1000000 / 100000))
}

if ((!reference)); then
  for bin in "$echo_bin" "$httpd_bin" "$get_bin"; do
    [[ -x $bin ]] || fatal "$bin is not an executable (build it first)"
  done
fi
# scripts/setup.sh installs these; missing ones are a broken machine, not a reason to skip.
for tool in socat python3 curl hping3 nft tcpdump tshark timeout sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (scripts/setup.sh installs it)"
done
peer=$here/tcp_peer.py
echo "tcp_kernel_peer: seed $seed (TCP_KPEER_SEED=$seed repeats the --faults stream and the kill delays)"

ns=$(netns_unique tcppeer)
netns_create "$ns" || fatal "cannot create namespace $ns"
if ((reference)); then
  ref=$(netns_unique tcpref)
  netns_create "$ref" || fatal "cannot create namespace $ref"
  echo "tcp_kernel_peer: the reference run: Linux (namespace $ref) in tapir's place"
fi
work=$(mktemp -d /tmp/tapir-tcppeer.XXXXXX)
netns_at_exit rm -rf "$work"

in_ns() {
  ip netns exec "$ns" "$@"
}

# kernel_dev DEV ADDR: a TAP owned by the namespace's kernel, addressed and up.
kernel_dev() {
  ip -n "$ns" tuntap add dev "$1" mode tap || fatal "ip tuntap add dev $1 mode tap"
  ip -n "$ns" addr add "$2" dev "$1" || fatal "ip addr add $2 dev $1"
  ip -n "$ns" link set "$1" up || fatal "ip link set $1 up"
}

# shellcheck disable=SC2317  # called through wait_for
link_has_carrier() {
  ip -n "$ns" link show "$1" | grep -q LOWER_UP
}
# shellcheck disable=SC2317  # called through wait_for
has_child() {
  [[ -n $(cat "/proc/$1/task/$1/children" 2>/dev/null) ]]
}
# tcp_open ADDR PORT: the kernel can connect to ADDR:PORT (bash's /dev/tcp, closed at once).
# shellcheck disable=SC2317  # called through wait_for
tcp_open() {
  in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
# gone PID: PID has exited (a zombie counts as gone).
# shellcheck disable=SC2317  # called through wait_for
gone() {
  ! netns__alive "$1"
}

# start_app NAME DEV ADDR PORT BIN ARGS...: BIN ARGS in the namespace under timeout(1), stdout
# and stderr to $work/NAME.log; waits until DEV has carrier and the kernel can connect to
# ADDR:PORT. Sets app_pid (the timeout process, for stop_bg) and app_proc (the app itself, for
# SIGUSR1).
start_app() {
  local name=$1 dev=$2 addr=$3 port=$4 bin=$5
  shift 5
  start_bg ip netns exec "$ns" timeout 300 "$bin" "$@" >"$work/$name.log" 2>&1
  app_pid=$NETNS_LAST_PID
  wait_for 5 has_child "$app_pid" || fatal "$(basename "$bin") $* did not start: $(cat "$work/$name.log")"
  app_proc=$(awk '{print $1}' "/proc/$app_pid/task/$app_pid/children")
  log_proc[$work/$name.log]=$app_proc
  wait_for 5 link_has_carrier "$dev" ||
    fatal "$(basename "$bin") $* did not attach to $dev: $(cat "$work/$name.log")"
  wait_for 10 tcp_open "$addr" "$port" ||
    fatal "$(basename "$bin") $* does not accept on $addr:$port: $(tail -n 20 "$work/$name.log")"
}

# stop_app PID PROC LOG LABEL: SIGTERM to the app PROC (started as PID by start_app), which must exit 0 within 5 s (then it is killed).
stop_app() {
  local pid=$1 proc=$2 log=$3 label=$4 rc
  if ((reference)); then
    stop_bg "$pid"
    return 0
  fi
  kill -TERM "$proc" 2>/dev/null
  if wait_for 5 gone "$pid"; then
    wait "$pid" 2>/dev/null
    rc=$? # timeout(1) passes on the app's exit status
    stop_bg "$pid" # only forgets it: it has been reaped
    if ((rc == 0)); then
      ok "$label: SIGTERM stopped it, exit 0"
    else
      bad_log "$label: exited $rc after SIGTERM, expected 0" "$log"
    fi
  else
    stop_bg "$pid"
    bad_log "$label: still running 5 s after SIGTERM (killed)" "$log"
  fi
}

# counters PID LOG: SIGUSR1 to the app PID, which prints every non-zero counter to stderr as
# `name value` lines ending with the device's (dev.*); waits for that dump in LOG and keeps it in
# $dump. counter NAME prints NAME's value in $dump (0 when absent: only non-zero ones print).
# shellcheck disable=SC2317  # called through wait_for
dump_done() {
  tail -n "+$(($2 + 1))" "$1" | grep -q '^dev\.tx_frames '
}
counters() {
  local pid=$1 log=$2 before
  dump=""
  if ((reference)); then
    # Linux's counters under tapir's names (nstat: absolute, zeros too, no history file).
    dump=$(ip netns exec "$ref" nstat -asz 2>/dev/null | awk '
      $1 == "TcpInSegs" { print "tcp.rx_segments", $2 }
      $1 == "TcpPassiveOpens" { print "tcp.passive_opens", $2 }
      $1 == "TcpExtSyncookiesSent" { print "tcp.syn_cookies_sent", $2 }
      $1 == "TcpExtSyncookiesRecv" { print "tcp.syn_cookies_ok", $2 }
      $1 == "TcpExtListenDrops" { print "tcp.listen_drops", $2 }')
    return 0
  fi
  before=$(wc -l <"$log")
  kill -USR1 "$pid" 2>/dev/null || return 1
  wait_for 3 dump_done "$log" "$before" || return 1
  sleep 0.1 # the dev.* lines after dev.tx_frames
  dump=$(tail -n "+$((before + 1))" "$log")
}
counter() {
  awk -v name="$1" '$1 == name { value = $2 } END { print value + 0 }' <<<"$dump"
}

# peer LABEL LOG SECONDS MODE ARGS...: tcp_peer.py MODE ARGS in the namespace; its one line
# "ok ..." or "fail ..." becomes the check's ok:/FAIL: (with LOG's tail on failure).
peer() {
  local label=$1 log=$2 seconds=$3 out
  shift 3
  out=$(in_ns timeout "$seconds" python3 "$peer" "$@" 2>&1)
  if [[ $out == ok\ * ]]; then
    ok "$label: ${out#ok }"
    peer_ok=1
  else
    bad_log "$label: ${out:-timed out after $seconds s}" "$log"
    peer_ok=0
  fi
}

# socat_echo LABEL LOG ADDR FILE SECONDS: FILE through the echo service at ADDR:7 with socat,
# which half-closes at the end of FILE and waits (-t) for the rest of the echo and the server's
# FIN; the echo must have FILE's sha256.
socat_echo() {
  local label=$1 log=$2 addr=$3 file=$4 seconds=$5 rc sum_in sum_out
  tick
  in_ns timeout "$seconds" socat -b 65536 -t "$seconds" -T "$seconds" - "TCP4:$addr:7" \
    <"$file" >"$file.echo" 2>"$file.socat"
  rc=$?
  sum_in=$(sha256sum <"$file" | cut -c1-16)
  sum_out=$(sha256sum <"$file.echo" | cut -c1-16)
  if ((rc == 0)) && [[ $sum_in == "$sum_out" ]]; then
    ok "$label: $(($(stat -c %s "$file") / 1024)) KiB echoed, sha256 $sum_in… identical ($(took))"
  else
    bad_log "$label: socat exit $rc, $(stat -c %s "$file") bytes sent (sha256 $sum_in…)," \
      "$(stat -c %s "$file.echo") came back (sha256 $sum_out…) ($(took)) $(head -c 300 "$file.socat")" "$log"
  fi
}

# capture DEV: tcpdump on the kernel's side of DEV into $work/DEV.pcap, the first 128 bytes of
# each frame (headers: enough to see the TCP exchange when something fails, and for the checks
# that read the capture). Sets capture_pid; the capture starts before this returns.
capture() {
  start_bg ip netns exec "$ns" timeout 290 tcpdump -Z root --immediate-mode -U -s 128 -i "$1" \
    -w "$work/$1.pcap" >"$work/tcpdump-$1.log" 2>&1
  capture_pid=$NETNS_LAST_PID
  wait_for 10 test -s "$work/$1.pcap" || fatal "tcpdump on $1 did not start: $(cat "$work/tcpdump-$1.log")"
}

# tshark_count FILE FILTER: how many frames of FILE match FILTER (checksums verified).
tshark_count() {
  tshark -n -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -Y "$2" -T fields \
    -e frame.number 2>/dev/null | grep -c .
}

# reset_shapes PCAP ADDR: a diagnostic for a FAIL (at most 90 s of tshark): how the connections
# that ADDR reset went, as the kernel saw them (K: the kernel, T: ADDR; S SYN, A ACK, D data, F FIN, R RST), grouped.
reset_shapes() {
  timeout 90 tshark -n -r "$1" -Y tcp -T fields -e tcp.stream -e ip.src -e tcp.flags.syn -e tcp.flags.ack \
    -e tcp.flags.fin -e tcp.flags.reset -e tcp.len 2>/dev/null | awk -v addr="$2" '
    function flag(v) { return v == "1" || v == "True" }
    {
      f = ""
      if (flag($3)) f = f "S"
      if (flag($4)) f = f "A"
      if ($7 > 0) f = f "D"
      if (flag($5)) f = f "F"
      if (flag($6)) { f = f "R"; if ($2 == addr) reset[$1] = 1 }
      w = ($2 == addr ? "T" : "K") ":" f
      if (shape[$1] == "" || substr(shape[$1], length(shape[$1]) - length(w) + 1) != w) {
        shape[$1] = shape[$1] " " w   # repeats of the same step folded into one
      }
    }
    END {
      for (st in reset) { n++; count[shape[st]]++ }
      printf "%d connections reset by %s:", n + 0, addr
      for (sh in count) printf "\n  %d x%s", count[sh], sh
      printf "\n"
    }' | head -n 8
}

if ((reference)); then
  # The kernel's ends keep the TAPs' names, so every check below reads the same; offloads off
  # on both ends, so each frame is one wire-sized segment (and nft drops segments, not GSO
  # super-packets).
  veth_pair "$ns" tap0 10.0.0.1/24 "$ref" eth0 10.0.0.2/24 || fatal "veth tap0"
  veth_pair "$ns" tap1 10.0.1.1/24 "$ref" eth1 10.0.1.2/24 || fatal "veth tap1"
  netdev_offload_off "$ns" tap0 tap1 || fatal "offloads off ($ns)"
  netdev_offload_off "$ref" eth0 eth1 || fatal "offloads off ($ref)"
  ip netns exec "$ref" sysctl -qw net.ipv4.tcp_syncookies=1 || fatal "sysctl tcp_syncookies"
else
  kernel_dev tap0 10.0.0.1/24
  kernel_dev tap1 10.0.1.1/24
  kernel_dev tap2 10.0.2.1/24
  kernel_dev tap3 10.0.3.1/24
fi

# echo_service NAME DEV ADDR ARGS...: tapir-echo --tap DEV --ip ADDR/24 ARGS (or, in the
# reference run, tcp_peer.py's servers on ADDR in $ref); sets app_pid and app_proc.
echo_service() {
  local name=$1 dev=$2 addr=$3
  shift 3
  if ((reference)); then
    start_bg ip netns exec "$ref" timeout 300 python3 "$peer" serve "$addr" 290 >"$work/$name.log" 2>&1
    app_pid=$NETNS_LAST_PID
    wait_for 5 has_child "$app_pid" || fatal "tcp_peer.py serve did not start: $(cat "$work/$name.log")"
    app_proc=$(awk '{print $1}' "/proc/$app_pid/task/$app_pid/children")
    wait_for 10 tcp_open "$addr" 7 || fatal "tcp_peer.py serve: no echo on $addr: $(cat "$work/$name.log")"
  else
    start_app "$name" "$dev" "$addr" 7 "$echo_bin" --tap "$dev" --ip "$addr/24" "$@"
  fi
}

# ---------------------------------------------------------------------------------------------
# tap0: tapir-echo, clean path.
if part echo || part many || part kill || part flood; then
  capture tap0
  tcpdump0_pid=$capture_pid
  echo_service echo tap0 10.0.0.2
  echo_pid=$app_pid
  echo_proc=$app_proc
  echo_log=$work/echo.log
fi

if part echo; then
  # RFC 862 over TCP: 10 MiB of random bytes come back byte for byte, in order, with both sides'
  # FINs at the end (RFC 9293 §3.6 half-close: socat shuts its side, the server finishes first).
  head -c 10M /dev/urandom >"$work/echo10.bin"
  socat_echo "TCP echo (RFC 862) of 10 MiB with socat" "$echo_log" 10.0.0.2 "$work/echo10.bin" 60

  # RFC 863 over TCP: 200 MiB into port 9, nothing back, the server closes after our FIN; the
  # kernel's TCP_INFO shows every byte acknowledged (flow control and window updates, RFC 9293
  # §3.8.6, over a long transfer with sequence numbers well past 2^27).
  peer "TCP discard (RFC 863) of 200 MiB" "$echo_log" 120 discard 10.0.0.2 9 $((200 << 20)) 110

  # RFC 864 over TCP: 200 MiB read from port 19 are 72-character lines of the rotating
  # printable ASCII ring ended by CR LF, checked byte for byte; we close with data unread, so
  # the kernel resets the connection (RFC 2525 §2.17) and tapir must drop it.
  peer "TCP chargen (RFC 864) of 200 MiB" "$echo_log" 120 chargen 10.0.0.2 19 $((200 << 20)) 110

  # RFC 9293 §3.10.7.1: a SYN to a port nobody listens on draws a RST: connect() fails at once.
  peer "closed TCP port (RFC 9293 §3.10.7.1): connect to 10.0.0.2:9999" "$echo_log" 10 \
    refused 10.0.0.2 9999
fi

if part many; then
  # RFC 9293 §3.3.2: 1000 full lifecycles (SYN, data, FIN both ways) one after another; tapir's
  # slots must be freed and reused, and the kernel's TIME-WAITs never collide with a new one.
  peer "1000 sequential TCP echo connections" "$echo_log" 130 sequential 10.0.0.2 7 1000 120

  # 100 connections established at once (a barrier), then each echoes 16 KiB of its own bytes:
  # the demux keeps 100 4-tuples apart and the listener's queue takes them all.
  peer "100 concurrent TCP echo connections" "$echo_log" 70 concurrent 10.0.0.2 7 100 60
  ((peer_ok)) || indent "$(reset_shapes "$work/tap0.pcap" 10.0.0.2)"
fi

if part kill; then
  # 200 clients killed (SIGKILL, by their own PID) after a random 10-60 ms: a third write into
  # discard (9) (the kernel then sends the queued data and a FIN), a third write into echo (7)
  # without reading through a 4 KiB receive buffer, so the kernel soon advertises a zero window
  # and tapir's echo waits on it, probing (RFC 9293 §3.8.6.1), until the kill, which the
  # kernel answers with a RST since data is unread (RFC 2525 §2.17); a third read chargen (19)
  # (unread data again: a RST while tapir sends). Every client must still be running when
  # killed (none refused or reset early), and tapir must serve normally afterwards.
  RANDOM=$seed
  counters "$echo_proc" "$echo_log" && opens_before=$(counter tcp.passive_opens)
  tick
  killed=0
  early=()
  for ((i = 0; i < 200; i++)); do
    case $((i % 3)) in
      0) client=(socat -u /dev/zero TCP4:10.0.0.2:9) ;;
      1) client=(socat -u /dev/zero "TCP4:10.0.0.2:7,rcvbuf=4096") ;;
      2) client=(socat -u TCP4:10.0.0.2:19 /dev/null) ;;
    esac
    # ip netns exec execs the client, so the PID is the client's own; no timeout(1) wrapper
    # (killing that would leave the client running): the bound is the kill right below.
    start_bg ip netns exec "$ns" "${client[@]}" 2>>"$work/kill-clients.log"
    pid=$NETNS_LAST_PID
    sleep "0.0$((RANDOM % 50 + 10))"
    if netns__alive "$pid"; then
      kill -KILL "$pid"
      wait "$pid" 2>/dev/null
      killed=$((killed + 1))
    else
      wait "$pid" 2>/dev/null
      early+=("#$i ${client[*]}: exit $?")
    fi
    stop_bg "$pid" # only forgets it: it has been reaped
  done
  kill_time=$(took)
  opens="?"
  counters "$echo_proc" "$echo_log" && opens=$(($(counter tcp.passive_opens) - ${opens_before:-0}))
  if ((killed == 200)); then
    ok "200 clients killed mid-transfer (discard, echo, chargen): all were running when killed;" \
      "tcp.passive_opens +$opens ($kill_time)"
  else
    bad_log "killed clients: $killed of 200 were still running when killed; ${#early[@]} ended early:" \
      "${early[*]:0:5} $(tail -n 5 "$work/kill-clients.log")" "$echo_log"
  fi
  # Afterwards: an echo through a fresh connection, and 100 at once again (the killed
  # connections' slots must have been freed: 200 leaked ones would leave too few of 256).
  peer "after the kills: TCP echo of 1 MiB" "$echo_log" 30 echo 10.0.0.2 7 $((1 << 20)) 25
  peer "after the kills: 100 concurrent TCP echo connections" "$echo_log" 70 concurrent \
    10.0.0.2 7 100 60
  ((peer_ok)) || indent "$(reset_shapes "$work/tap0.pcap" 10.0.0.2)"
fi

if part flood; then
  # RFC 4987: a bounded SYN flood (hping3, 50000 SYNs as fast as it goes, for at most 8 s) from
  # a spoofed address inside tap0's subnet that nobody owns (10.0.0.77), so tapir's SYN-ACKs
  # wait on an ARP that never resolves and every half-open connection stays; the SYN queue
  # fills and SYN cookies (RFC 4987 §3.6) must let a legitimate connection through meanwhile.
  # No route leaves the namespace, so nothing spoofed goes anywhere.
  counters "$echo_proc" "$echo_log"
  cookies_before=$(counter tcp.syn_cookies_sent)
  rx_before=$(counter tcp.rx_segments)
  start_bg ip netns exec "$ns" timeout 8 hping3 -q -I tap0 -S -p 7 --faster -c 50000 -a 10.0.0.77 \
    10.0.0.2 >"$work/hping3.log" 2>&1
  flood_pid=$NETNS_LAST_PID
  sleep 1
  flooding=no
  netns__alive "$flood_pid" && flooding=yes
  tick
  out=$(in_ns timeout 30 python3 "$peer" echo 10.0.0.2 7 65536 25 2>&1)
  legit_time=$(took)
  still="the flood ended meanwhile"
  netns__alive "$flood_pid" && still="the flood still running at the end"
  wait "$flood_pid" 2>/dev/null
  stop_bg "$flood_pid"
  counters "$echo_proc" "$echo_log"
  cookies=$(($(counter tcp.syn_cookies_sent) - cookies_before))
  syns=$(($(counter tcp.rx_segments) - rx_before))
  flood_stats="hping3: $(grep -m 1 'packets transmitted' "$work/hping3.log"); $dut: tcp.rx_segments"
  flood_stats+=" +$syns, tcp.syn_cookies_sent +$cookies, tcp.syn_cookies_ok $(counter tcp.syn_cookies_ok),"
  flood_stats+=" tcp.listen_drops $(counter tcp.listen_drops), tcp.no_slot $(counter tcp.no_slot)"
  if [[ $out == ok\ * && $flooding == yes ]]; then
    ok "SYN flood (RFC 4987): a legitimate echo of 64 KiB started during the flood succeeded" \
      "($legit_time, $still); $flood_stats"
  elif [[ $out == ok\ * ]]; then
    bad "SYN flood (RFC 4987): hping3 had ended before the legitimate connection started; $flood_stats"
  else
    bad_log "SYN flood (RFC 4987): the legitimate echo during the flood: $out ($legit_time); $flood_stats" "$echo_log"
  fi
  if ((cookies > 0)); then
    ok "SYN cookies (RFC 4987 §3.6): $dut answered $cookies SYNs with cookies during the flood"
  else
    echo "note: tcp.syn_cookies_sent did not grow during the flood (the SYN queue never filled)"
  fi
  # Once the flood is over, a new connection works as before.
  peer "after the SYN flood: TCP echo of 1 MiB" "$echo_log" 30 echo 10.0.0.2 7 $((1 << 20)) 25
fi

if part echo || part many || part kill || part flood; then
  stop_app "$echo_pid" "$echo_proc" "$echo_log" "tapir-echo (tap0)"
  sleep 0.3
  stop_bg "$tcpdump0_pid"
fi

# ---------------------------------------------------------------------------------------------
# tap1: loss, duplication and reordering in both directions. The kernel's side: nftables in the
# namespace drops a random 3% of the packets to and from 10.0.1.2 (an inet table of our own with
# input and output hooks, deleted afterwards); tapir's side: its fault-injecting device, seeded.
if part faults; then
  nft_table=tapir_loss
  # nft_loss NS PEER: in NS, drop a random 3% of the packets from and to PEER.
  nft_loss() {
    ip netns exec "$1" nft -f - <<EOF
table inet $nft_table {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr $2 numgen random mod 100 < 3 counter drop
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr $2 numgen random mod 100 < 3 counter drop
  }
}
EOF
  }
  # nft_cleanup NS: the table gone from NS (quietly, if it is gone already). The namespace is
  # an argument: exit hooks must not rely on the script's variables.
  # shellcheck disable=SC2317  # called at exit
  nft_cleanup() {
    ip netns exec "$1" nft delete table inet tapir_loss 2>/dev/null || true
  }
  netns_at_exit nft_cleanup "$ns"
  nft_loss "$ns" 10.0.1.2 || fatal "nft: cannot create table inet $nft_table in $ns"
  faults="loss=3%,dup=1%,reorder=5%,delay=5ms,seed=$seed"
  if ((reference)); then
    # Linux has no --faults: the same 3% loss by nft on its side too (the namespace goes at exit).
    nft_loss "$ref" 10.0.1.1 || fatal "nft: cannot create table inet $nft_table in $ref"
    faults="nft 3% in $ref"
  fi
  capture tap1
  tcpdump1_pid=$capture_pid
  echo_service faults tap1 10.0.1.2 --faults "$faults"
  faults_pid=$app_pid
  faults_proc=$app_proc
  faults_log=$work/faults.log

  # RFC 9293 §3.10.7.4 (sequence checks, duplicates dropped), §3.8.1 / RFC 6298 (retransmission),
  # RFC 2018 / RFC 6675 (SACK recovery), RFC 5681 (fast retransmit): 2 MiB echoed intact while
  # ~6% of the segments each way are lost, 1% duplicated and 5% reordered.
  head -c 2M /dev/urandom >"$work/echo2.bin"
  label="--faults $faults"
  ((reference)) && label=$faults
  socat_echo "TCP echo of 2 MiB under loss both ways (nft 3% + $label)" "$faults_log" \
    10.0.1.2 "$work/echo2.bin" 120
  nft_counts=$(in_ns nft list table inet "$nft_table" 2>&1 | grep -oE 'counter packets [0-9]+' |
    awk '{print $3}' | paste -sd/)
  if ((reference)); then
    echo "    nft dropped (in/out) $nft_counts in $ns;" \
      "$(ip netns exec "$ref" nft list table inet "$nft_table" 2>&1 | grep -oE 'counter packets [0-9]+' |
        awk '{print $3}' | paste -sd/) in $ref"
  else
    counters "$faults_proc" "$faults_log"
    echo "    nft dropped (in/out) $nft_counts; tapir: faults.dropped $(counter faults.dropped)," \
      "faults.duplicated $(counter faults.duplicated), faults.reordered $(counter faults.reordered)," \
      "faults.delayed $(counter faults.delayed)"
  fi
  stop_app "$faults_pid" "$faults_proc" "$faults_log" "tapir-echo (tap1, --faults)"
  sleep 0.3
  stop_bg "$tcpdump1_pid"

  # The wire as the kernel saw it: tshark finds the loss recovery (retransmissions), and every
  # TCP segment tapir sent has a correct checksum (RFC 9293 §3.1, RFC 1071) and parses.
  retrans=$(tshark_count "$work/tap1.pcap" 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission')
  sacks=$(tshark_count "$work/tap1.pcap" 'tcp.options.sack_le')
  tapir_segs=$(tshark_count "$work/tap1.pcap" 'ip.src == 10.0.1.2 && tcp')
  badsum=$(tshark_count "$work/tap1.pcap" 'tcp.checksum.status == 0 || ip.checksum.status == 0')
  malformed=$(tshark_count "$work/tap1.pcap" '_ws.malformed')
  if ((tapir_segs > 0 && badsum == 0 && malformed == 0)); then
    ok "pcap (tap1): $tapir_segs TCP segments from $dut, none malformed, no bad checksum;" \
      "$retrans retransmissions, $sacks segments with SACK blocks"
  else
    bad "pcap (tap1): $tapir_segs TCP segments from $dut, $badsum with bad checksums, $malformed malformed"
  fi

  nft_cleanup "$ns"
  if in_ns nft list table inet "$nft_table" >/dev/null 2>&1; then
    bad "nft: table inet $nft_table still exists after delete"
  else
    ok "nft: table inet $nft_table deleted"
  fi
fi

# ---------------------------------------------------------------------------------------------
# tap2: tapir-httpd serving $work/www, curl as the client. $work/secret.txt lies just outside the
# document root, for the path escapes.
if part httpd; then
  www=$work/www
  mkdir -p "$www"
  printf 'hello from tapir-httpd\n' >"$www/small.txt"
  head -c 100M /dev/urandom >"$www/big.bin"
  printf 'secret: outside the root\n' >"$work/secret.txt"
  capture tap2
  tcpdump2_pid=$capture_pid
  start_app httpd tap2 10.0.2.2 80 "$httpd_bin" --tap tap2 --ip 10.0.2.2/24 --root "$www"
  httpd_pid=$app_pid
  httpd_proc=$app_proc
  httpd_log=$work/httpd.log
  base=http://10.0.2.2
  # curl_ ARGS...: curl in the namespace, never through a proxy, bounded.
  curl_() {
    in_ns curl --noproxy '*' -sS --max-time 60 "$@"
  }

  # RFC 9112 §6 / RFC 9110 §15.3.1: GET of a small file: 200, the exact bytes, a Content-Type.
  tick
  out=$(curl_ -o "$work/small.got" -w '%{http_code} %{size_download} %{content_type}' "$base/small.txt" 2>&1)
  if [[ $out == "200 "* ]] && cmp -s "$www/small.txt" "$work/small.got"; then
    ok "httpd GET /small.txt: $out ($(took))"
  else
    bad_log "httpd GET /small.txt: '$out', $(stat -c %s "$work/small.got" 2>/dev/null) bytes" "$httpd_log"
  fi

  # The same for 100 MiB: a long transfer from tapir to the kernel, sha256 identical.
  tick
  out=$(curl_ --max-time 120 -o "$work/big.got" -w '%{http_code} %{size_download} %{speed_download}' \
    "$base/big.bin" 2>&1)
  sum_in=$(sha256sum <"$www/big.bin" | cut -c1-16)
  sum_out=$(sha256sum <"$work/big.got" 2>/dev/null | cut -c1-16)
  read -r code size speed <<<"$out"
  if [[ $code == 200 && $sum_in == "$sum_out" ]]; then
    ok "httpd GET /big.bin: 200, $size bytes, sha256 $sum_in… identical," \
      "$(awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }') MB/s ($(took))"
  else
    bad_log "httpd GET /big.bin: '$out', sha256 $sum_out… (file $sum_in…) ($(took))" "$httpd_log"
  fi

  # RFC 9110 §9.3.2: HEAD gets GET's headers (Content-Length of the whole file) and no body.
  out=$(curl_ -I -o "$work/head.hdr" -w '%{http_code} %{size_download}' "$base/big.bin" 2>&1)
  length=$(tr -d '\r' <"$work/head.hdr" | awk 'tolower($1) == "content-length:" { print $2 }')
  if [[ $out == "200 0" && $length == $((100 << 20)) ]]; then
    ok "httpd HEAD /big.bin: 200, Content-Length $length, no body"
  else
    bad_log "httpd HEAD /big.bin: '$out', Content-Length '$length' (file $((100 << 20)))" "$httpd_log"
  fi

  # RFC 9110 §15.5.5: a missing file is 404 Not Found.
  out=$(curl_ -o /dev/null -w '%{http_code}' "$base/missing.txt" 2>&1)
  if [[ $out == 404 ]]; then
    ok "httpd GET /missing.txt: 404"
  else
    bad_log "httpd GET /missing.txt: '$out', expected 404" "$httpd_log"
  fi

  # RFC 9110 §15.5.6: POST to a static file is 405 Method Not Allowed, with an Allow header.
  out=$(curl_ -X POST -d 'x=1' -D "$work/post.hdr" -o /dev/null -w '%{http_code}' "$base/small.txt" 2>&1)
  allow=$(tr -d '\r' <"$work/post.hdr" | awk 'tolower($1) == "allow:" { $1 = ""; print substr($0, 2) }')
  if [[ $out == 405 && -n $allow ]]; then
    ok "httpd POST /small.txt: 405, Allow: $allow"
  else
    bad_log "httpd POST /small.txt: '$out', Allow '$allow' (expected 405 with an Allow header)" "$httpd_log"
  fi

  # RFC 9112 §9.3: HTTP/1.1 connections persist; curl with two URLs reuses the first connection
  # for the second request (curl -v says so, and %{num_connects} is 1 then 0).
  out=$(curl_ -v -o /dev/null -o /dev/null -w '%{http_code}/%{num_connects} ' \
    "$base/small.txt" "$base/small.txt" 2>"$work/keepalive.err")
  if [[ $out == "200/1 200/0 " ]] && grep -q 'Re-using existing connection' "$work/keepalive.err"; then
    ok "httpd keep-alive (RFC 9112 §9.3): two GETs, one connection ($(grep -m 1 'Re-using' "$work/keepalive.err" | tr -d '*' | sed 's/^ *//'))"
  else
    bad_log "httpd keep-alive (RFC 9112 §9.3): code/connects '$out'; curl -v: $(grep -E 'Connected|Re-using|Closing|left intact' "$work/keepalive.err" | tr '\n' ' ')" "$httpd_log"
  fi

  # 200 requests at once (curl --parallel opens up to 200 connections): all 200 OK.
  args=()
  for ((i = 0; i < 200; i++)); do args+=(-o /dev/null "$base/small.txt"); done
  tick
  out=$(curl_ --no-progress-meter --parallel --parallel-immediate --parallel-max 200 \
    -w '%{http_code} %{num_connects}\n' "${args[@]}" 2>"$work/parallel.err")
  n_ok=$(grep -c '^200 ' <<<"$out")
  conns=$(awk '{ s += $2 } END { print s + 0 }' <<<"$out")
  if ((n_ok == 200)); then
    ok "httpd: 200 parallel GETs all 200 OK over $conns connections ($(took))"
  else
    bad_log "httpd: 200 parallel GETs: $n_ok were 200 OK ($(took)); code, connects: $(awk '{ print $1 }' <<<"$out" |
      sort | uniq -c | tr -s ' \n' ' '); curl: $(sort "$work/parallel.err" | uniq -c | head -n 3 | tr -s ' \n' ' ')" \
      "$httpd_log"
    indent "$(reset_shapes "$work/tap2.pcap" 10.0.2.2)"
  fi

  # No path leaves the document root (RFC 3986 §5.2.4 dot segments, RFC 9110 §4.2.2): raw
  # "..", percent-encoded dots and slashes, an absolute-looking path; each must be 400 or 404
  # (403 also refuses) and never bring back $work/secret.txt or /etc/passwd.
  for path in '/../secret.txt' '/%2e%2e/secret.txt' '/%2E%2E/%2e%2e/%2e%2e/etc/passwd' \
    '/..%2fsecret.txt' '/../../../../../../etc/passwd' '/%2e%2e%2f%2e%2e%2fetc%2fpasswd' '//etc/passwd'; do
    out=$(curl_ --path-as-is -o "$work/escape.got" -w '%{http_code}' "$base$path" 2>&1)
    if [[ $out =~ ^(400|403|404)$ ]] && ! grep -qE 'secret: outside|^root:' "$work/escape.got"; then
      ok "httpd path escape GET $path: $out"
    else
      bad_log "httpd path escape GET $path: '$out', body: $(head -c 100 "$work/escape.got")" "$httpd_log"
    fi
  done

  stop_app "$httpd_pid" "$httpd_proc" "$httpd_log" "tapir-httpd"
  sleep 0.3
  stop_bg "$tcpdump2_pid"
fi

# ---------------------------------------------------------------------------------------------
# tap3: tapir-get as the client, python3's http.server in the kernel's namespace on 10.0.3.1.
if part get; then
  srv=$work/srv
  mkdir -p "$srv"
  head -c 20M /dev/urandom >"$srv/file20.bin"
  start_bg ip netns exec "$ns" timeout 200 python3 -m http.server --bind 10.0.3.1 --directory "$srv" \
    8000 >"$work/http.server.log" 2>&1
  server_pid=$NETNS_LAST_PID
  capture tap3
  tcpdump3_pid=$capture_pid
  wait_for 10 tcp_open 10.0.3.1 8000 || fatal "python3 -m http.server did not start: $(cat "$work/http.server.log")"
  # tapir_get NAME ARGS...: tapir-get on tap3, output in $work/get-NAME.log, exit code in $rc.
  tapir_get() {
    local name=$1
    shift
    tick
    in_ns timeout 90 "$get_bin" --tap tap3 --ip 10.0.3.2/24 "$@" >"$work/get-$name.log" 2>&1
    rc=$?
  }

  # RFC 9112 as the client: GET of 20 MiB, the body to -o, sha256 identical, exit 0.
  tapir_get 20m http://10.0.3.1:8000/file20.bin -o "$work/file20.got"
  sum_in=$(sha256sum <"$srv/file20.bin" | cut -c1-16)
  sum_out=$(sha256sum <"$work/file20.got" 2>/dev/null | cut -c1-16)
  if ((rc == 0)) && [[ $sum_in == "$sum_out" ]]; then
    ok "tapir-get of 20 MiB from python3 http.server: exit 0, sha256 $sum_in… identical ($(took))"
  else
    bad_log "tapir-get of 20 MiB: exit $rc, $(stat -c %s "$work/file20.got" 2>/dev/null) bytes," \
      "sha256 $sum_out… (file $sum_in…) ($(took))" "$work/get-20m.log"
  fi

  # A 404 from the server: a non-zero exit and a message that names it.
  tapir_get 404 http://10.0.3.1:8000/missing.bin -o "$work/missing.got"
  if ((rc != 0 && rc != 124)) && grep -q '404' "$work/get-404.log"; then
    ok "tapir-get of a missing file: exit $rc, '$(grep -m 1 404 "$work/get-404.log")' ($(took))"
  else
    bad_log "tapir-get of a missing file: exit $rc, expected non-zero with a message naming 404" \
      "$work/get-404.log"
  fi

  # RFC 9293 §3.10.7.3: a RST answers tapir's SYN to a closed port: a prompt non-zero exit.
  tapir_get refused http://10.0.3.1:8001/file20.bin -o "$work/refused.got"
  if ((rc != 0 && rc != 124)) && grep -qi 'refused' "$work/get-refused.log"; then
    ok "tapir-get to a closed port: exit $rc, '$(grep -m 1 -i refused "$work/get-refused.log")' ($(took))"
  else
    bad_log "tapir-get to a closed port: exit $rc, expected non-zero with 'refused' ($(took))" \
      "$work/get-refused.log"
  fi
  stop_bg "$server_pid"
  sleep 0.3
  stop_bg "$tcpdump3_pid"
fi

# An ASan/UBSan build (the asan preset) reports on stderr; UBSan's "runtime error" does not even
# change the exit status, so look for the reports in every tapir process's output.
reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log 2>/dev/null)
if [[ -z $reports ]]; then
  ok "sanitizers: no report in the output of any tapir process"
else
  bad "sanitizers: reports in $(tr '\n' ' ' <<<"$reports"):"
  indent "$(grep -hE -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log | head -n 30)"
fi

echo "tcp_kernel_peer: $checks checks, $failures failed (seed $seed)"
if [[ -n ${TCP_KPEER_KEEP:-} ]]; then
  cp -r "$work" "$TCP_KPEER_KEEP" && echo "tcp_kernel_peer: logs and captures kept in $TCP_KPEER_KEEP"
fi
((failures == 0))
