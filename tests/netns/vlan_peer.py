#!/usr/bin/python3
"""The kernel side of vlan_kernel_peer.sh: crafts IEEE 802.1Q / 802.1ad frames with scapy and
sends them on a TAP through an AF_PACKET socket (this kernel has no VLAN devices), then reads
what tapir sends back. The kernel moves a received frame's outer tag into the packet's metadata;
PACKET_AUXDATA gives it back, and it is put in the frame again before scapy parses it.

    vlan_peer.py IFACE TAPIR_MAC TAPIR_IP PEER_IP CASE

CASE: arp (a VID 10 who-has gets a VID 10 is-at), ping (a tagged echo request gets a tagged
reply whose IPv4 and ICMP checksums verify), udp (a tagged datagram to port 7 comes back),
silent-vid20, silent-qinq, silent-untagged (no answer at all within a second).
Prints "ok: ..." or "FAIL: ..." lines; exits 0 when every check passed, else 1. While waiting,
it answers tapir's ARP requests for PEER_IP on the VLAN, so replies need no earlier ARP.
"""

import socket
import struct
import sys
import time

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40

VID, PCP = 10, 5  # what tapir-echo runs with (--vlan 10 --vlan-pcp 5)

iface, tapir_mac, tapir_ip, peer_ip, case = sys.argv[1:6]
tapir_mac = tapir_mac.lower()
peer_mac = open(f"/sys/class/net/{iface}/address").read().strip()

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
sock.bind((iface, 0))
sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
failures = 0


def ok(text):
    print(f"ok: {text}")


def bad(text):
    global failures
    failures += 1
    print(f"FAIL: {text}")


def receive(deadline):
    """The next frame tapir sent (not one of ours) with its tag put back, or None at deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data, ancillary, _flags, addr = sock.recvmsg(65535, socket.CMSG_SPACE(64))
        except socket.timeout:
            return None
        if addr[2] == PACKET_OUTGOING:
            continue
        for level, kind, aux in ancillary:
            if level != SOL_PACKET or kind != PACKET_AUXDATA or len(aux) < 20:
                continue
            status, _len, _snap, _mac, _net, tci, tpid = struct.unpack("IIIHHHH", aux[:20])
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        frame = Ether(data)
        if frame.src.lower() != tapir_mac:
            continue
        return frame


def tagged(payload, vid=VID):
    return Ether(src=peer_mac, dst=tapir_mac) / Dot1Q(vlan=vid, prio=3) / payload


def is_announcement(frame):
    return ARP in frame and frame[ARP].op == 1 and frame[ARP].psrc == frame[ARP].pdst


def serve_arp(frame):
    """Answers tapir's who-has for the peer on VLAN 10; True if the frame was that."""
    if ARP in frame and frame[ARP].op == 1 and frame[ARP].pdst == peer_ip and Dot1Q in frame:
        sock.send(bytes(Ether(src=peer_mac, dst=tapir_mac) / Dot1Q(vlan=VID) /
                        ARP(op=2, hwsrc=peer_mac, psrc=peer_ip, hwdst=tapir_mac, pdst=tapir_ip)))
        return True
    return False


def wait_for(match, seconds=3.0):
    deadline = time.monotonic() + seconds
    while True:
        frame = receive(deadline)
        if frame is None:
            return None
        if is_announcement(frame) or serve_arp(frame):
            continue
        if match(frame):
            return frame


def check_tag(frame, what):
    # IEEE 802.1Q-2018 §9.6: the reply carries the interface's VID and its PCP, DEI 0.
    if Dot1Q not in frame:
        bad(f"{what}: untagged: {frame.summary()}")
        return False
    tag = frame[Dot1Q]
    if tag.vlan != VID or tag.prio != PCP or tag.id != 0:
        bad(f"{what}: tag vid {tag.vlan} pcp {tag.prio} dei {tag.id}, expected vid {VID} pcp {PCP} dei 0")
        return False
    ok(f"{what}: tagged VID {VID} PCP {PCP}")
    return True


def checksums_verify(frame):
    """The IPv4 header and ICMP/UDP checksums as scapy recomputes them."""
    ip = frame[IP]
    fresh = IP(bytes(ip))
    del fresh.chksum
    good = IP(bytes(fresh)).chksum == ip.chksum
    for layer in (ICMP, UDP):
        if layer in ip:
            l4 = IP(bytes(ip))
            del l4[layer].chksum
            good = good and IP(bytes(l4))[layer].chksum == ip[layer].chksum
    return good


if case == "arp":
    sock.send(bytes(tagged(ARP(op=1, hwsrc=peer_mac, psrc=peer_ip, pdst=tapir_ip))))
    reply = wait_for(lambda f: ARP in f and f[ARP].op == 2)
    if reply is None:
        bad("no ARP reply to a VID 10 who-has")
    elif check_tag(reply, "ARP reply"):
        arp = reply[ARP]
        if arp.psrc == tapir_ip and arp.hwsrc.lower() == tapir_mac and arp.pdst == peer_ip:
            ok(f"ARP reply: {tapir_ip} is-at {tapir_mac}")
        else:
            bad(f"ARP reply: {arp.summary()}")
elif case == "ping":
    data = b"tapir vlan ping" * 4
    sock.send(bytes(tagged(IP(src=peer_ip, dst=tapir_ip) / ICMP(id=0x7461, seq=1) / data)))
    reply = wait_for(lambda f: ICMP in f and f[ICMP].type == 0)
    if reply is None:
        bad("no echo reply to a VID 10 echo request")
    elif check_tag(reply, "echo reply"):
        if bytes(reply[ICMP].payload)[: len(data)] == data and reply[ICMP].seq == 1:
            ok("echo reply: same identifier, sequence and data")
        else:
            bad(f"echo reply: {reply.summary()}")
        if checksums_verify(reply):
            ok("echo reply: IPv4 and ICMP checksums verify")
        else:
            bad(f"echo reply: a bad checksum: {reply.show(dump=True)}")
elif case == "udp":
    data = b"tapir vlan udp echo"
    sock.send(bytes(tagged(IP(src=peer_ip, dst=tapir_ip) / UDP(sport=40007, dport=7) / data)))
    reply = wait_for(lambda f: UDP in f and f[UDP].sport == 7)
    if reply is None:
        bad("no UDP echo on VID 10")
    elif check_tag(reply, "UDP echo"):
        if bytes(reply[UDP].payload) == data and reply[UDP].dport == 40007:
            ok("UDP echo: the same payload back")
        else:
            bad(f"UDP echo: {reply.summary()}")
        if checksums_verify(reply):
            ok("UDP echo: IPv4 and UDP checksums verify")
        else:
            bad("UDP echo: a bad checksum")
elif case.startswith("silent-"):
    who_has = ARP(op=1, hwsrc=peer_mac, psrc=peer_ip, pdst=tapir_ip)
    ping = IP(src=peer_ip, dst=tapir_ip) / ICMP(id=0x7461, seq=9) / b"not on VLAN 10"
    base = Ether(src=peer_mac, dst=tapir_mac)
    frames = {
        "silent-vid20": [tagged(who_has, 20), tagged(ping, 20)],
        # 802.1ad: S-tag 100 outside C-tag 10; tapir-echo has no service VLAN.
        "silent-qinq": [base / Dot1AD(vlan=100) / Dot1Q(vlan=VID) / ping],
        "silent-untagged": [Ether(src=peer_mac, dst="ff:ff:ff:ff:ff:ff") / who_has],
    }[case]
    for f in frames:
        sock.send(bytes(f))
    answer = wait_for(lambda f: True, seconds=1.0)
    if answer is None:
        ok(f"{case}: no answer")
    else:
        bad(f"{case}: answered with {answer.summary()}")
else:
    bad(f"unknown case {case}")

sys.exit(1 if failures else 0)
