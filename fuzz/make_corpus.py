#!/usr/bin/env python3
"""Writes fuzz seed inputs taken from the Linux captures in tests/captures/.

    python3 fuzz/make_corpus.py [--captures DIR] [--corpus DIR] [--max N]

For every frame of every capture it walks the headers (Ethernet, 802.1Q/802.1ad tags, ARP,
IPv4, ICMP, UDP, TCP, VXLAN and the Ethernet frame inside it) and offers the bytes from each
protocol's header onwards to that protocol's fuzz target, as a file named
<capture>_<frame-number> (frame numbers count from 1, as tshark shows them; "_inner" is added
for the frame inside a VXLAN packet and for the inner tag of a QinQ frame). Fragments of one
IPv4 datagram are also reassembled, so the ICMP/UDP/TCP targets get the whole message; such a
seed carries the number of the datagram's last fragment.

fuzz_stack, the whole-stack target, gets whole conversations instead: the frames of a capture in
its record format (a flags byte, then [u16 delay_ms][u16 len][frame] per frame; see
fuzz/fuzz_stack.cpp), named stack_<capture>[_<variant>].

fuzz_tcp_connection and fuzz_tcp_sim decode their inputs as decisions, not frames: their seeds
are written here from small scripts (tcp_connection_seeds, tcp_sim_seeds), one per starting
state and option set, and one per kind of fault.

Per target it keeps at most --max inputs (default 15): identical bytes are written once, and the
inputs are chosen so that every distinct shape (ethertype chain, ICMP type/code, TCP flags and
options, ...) is represented before a second input of the same shape. fuzz_pcap_reader gets a
few of the small capture files whole.

Other helpers put their own seeds in the same directories. This script deletes only files it
wrote itself on an earlier run (listed in fuzz/corpus/.make_corpus_written), never others.
Standard library only.
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IPV4 = 228

ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD = 0x0800, 0x0806, 0x8100, 0x88A8, 0x9100
VXLAN_PORT = 4789

TARGETS = [
    "fuzz_wire_ethernet",
    "fuzz_wire_arp",
    "fuzz_wire_vlan",
    "fuzz_wire_ipv4",
    "fuzz_wire_icmpv4",
    "fuzz_wire_udp",
    "fuzz_wire_tcp",
    "fuzz_wire_vxlan",
    "fuzz_describe",
]
PCAP_TARGET = "fuzz_pcap_reader"
# Small whole files for the pcap reader: Ethernet and raw link types, short and long records.
PCAP_SEEDS = ["arp.pcap", "udp.pcap", "ping_record_route.pcap", "raw_ip.pcap", "vlan.pcap"]
MANIFEST = ".make_corpus_written"

STACK_TARGET = "fuzz_stack"
# fuzz_stack's flags byte: bit 0 adds its TUN interface (10.0.1.1/24), bit 1 turns forwarding on;
# the top bit of a record's delay sends its frame to the TUN interface. IEEE 802.1Q: bit 2 puts
# the Ethernet interface on VLAN 10, bit 3 adds one on VLAN 20, bit 4 one on S-VLAN 100 / C-VLAN
# 10, bit 5 (with bit 2) an untagged one.
STACK_TUN, STACK_FORWARDING, STACK_TO_TUN = 0x01, 0x02, 0x8000
STACK_VLAN10, STACK_VLAN20, STACK_QINQ, STACK_UNTAGGED = 0x04, 0x08, 0x10, 0x20
STACK_MAC = bytes.fromhex("0a0000000002")  # the target's Ethernet interface: 10.0.0.2/24
ROUTER_MAC = bytes.fromhex("0a00000000fe")  # the router of icmp_errors.pcap


def read_pcap(path: Path) -> tuple[int, list[bytes]]:
    """Returns (link type, frames) of a classic pcap file in either byte order."""
    data = path.read_bytes()
    if len(data) < 24:
        raise ValueError(f"{path}: too short for a pcap header")
    magic_le = struct.unpack_from("<I", data)[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        order = "<"
    elif struct.unpack_from(">I", data)[0] in (0xA1B2C3D4, 0xA1B23C4D):
        order = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    link_type = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    frames = []
    at = 24
    while at + 16 <= len(data):
        incl_len = struct.unpack_from(order + "I", data, at + 8)[0]
        at += 16
        if at + incl_len > len(data):
            raise ValueError(f"{path}: truncated record")
        frames.append(data[at : at + incl_len])
        at += incl_len
    return link_type, frames


class Seeds:
    """Candidate inputs per target, each with a shape key for diversity."""

    def __init__(self) -> None:
        self.by_target: dict[str, list[tuple[str, str, bytes]]] = {t: [] for t in TARGETS}

    def offer(self, target: str, name: str, shape: str, data: bytes) -> None:
        if data:
            self.by_target[target].append((name, shape, data))

    def select(self, target: str, limit: int) -> list[tuple[str, bytes]]:
        seen_bytes: set[bytes] = set()
        unique = []
        for name, shape, data in self.by_target[target]:
            if data in seen_bytes:
                continue
            seen_bytes.add(data)
            unique.append((name, shape, data))
        # Rounds: first the first input of every shape, then second ones, and so on.
        by_shape: OrderedDict[str, list[tuple[str, bytes]]] = OrderedDict()
        for name, shape, data in unique:
            by_shape.setdefault(shape, []).append((name, data))
        chosen: list[tuple[str, bytes]] = []
        depth = 0
        while len(chosen) < limit and any(len(v) > depth for v in by_shape.values()):
            for entries in by_shape.values():
                if depth < len(entries) and len(chosen) < limit:
                    chosen.append(entries[depth])
            depth += 1
        return chosen


def tcp_shape(seg: bytes) -> str:
    if len(seg) < 20:
        return "tcp-short"
    flags = seg[13]
    data_off = (seg[12] >> 4) * 4
    kinds = []
    i = 20
    while i < min(data_off, len(seg)):
        kind = seg[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        kinds.append(kind)
        if i + 1 >= len(seg) or seg[i + 1] < 2:
            break
        i += seg[i + 1]
    has_data = len(seg) > data_off
    return f"tcp flags={flags:#x} opts={kinds} data={has_data}"


class Walker:
    def __init__(self, seeds: Seeds, capture: str) -> None:
        self.seeds = seeds
        self.capture = capture
        self.fragments: dict[tuple, list[tuple[int, int, bool, bytes, bytes]]] = {}

    def name(self, number: int, inner: bool = False) -> str:
        return f"{self.capture}_{number}" + ("_inner" if inner else "")

    def frame(self, link_type: int, number: int, frame: bytes) -> None:
        if link_type == LINKTYPE_ETHERNET:
            self.seeds.offer("fuzz_describe", self.name(number), self.capture, b"\x00" + frame)
            self.ethernet(number, frame, outer=True)
        elif link_type in (LINKTYPE_RAW, LINKTYPE_IPV4):
            self.seeds.offer("fuzz_describe", self.name(number), self.capture, b"\x01" + frame)
            self.ipv4(number, frame, "raw")

    def ethernet(self, number: int, frame: bytes, outer: bool) -> None:
        if len(frame) < 14:
            return
        ethertype = struct.unpack_from(">H", frame, 12)[0]
        at = 14
        chain = [ethertype]
        name = self.name(number, inner=not outer)
        # 802.1Q / 802.1ad tags: the vlan target gets the bytes after each TPID.
        while ethertype in (ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD) and at + 4 <= len(frame):
            tci = struct.unpack_from(">H", frame, at)[0]
            vlan_shape = f"vlan tpid={ethertype:#x} pcp={tci >> 13} dei={(tci >> 12) & 1} vid0={tci & 0xFFF == 0}"
            tag_name = name + ("_inner" if len(chain) > 1 else "")
            self.seeds.offer("fuzz_wire_vlan", tag_name, vlan_shape, frame[at:])
            ethertype = struct.unpack_from(">H", frame, at + 2)[0]
            chain.append(ethertype)
            at += 4
        where = "outer" if outer else "inner"
        self.seeds.offer("fuzz_wire_ethernet", name, f"eth {where} {chain} {self.capture}", frame)
        if ethertype == ETH_ARP:
            arp = frame[at:]
            op = struct.unpack_from(">H", arp, 6)[0] if len(arp) >= 8 else -1
            shape = f"arp op={op} trailer={len(arp) > 28} {where}"
            self.seeds.offer("fuzz_wire_arp", name, shape, arp)
        elif ethertype == ETH_IPV4:
            self.ipv4(number, frame[at:], where)

    def ipv4(self, number: int, packet: bytes, where: str) -> None:
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return
        ihl = (packet[0] & 0x0F) * 4
        total = struct.unpack_from(">H", packet, 2)[0]
        packet = packet[:total] if ihl <= total <= len(packet) else packet
        flags_frag = struct.unpack_from(">H", packet, 6)[0]
        more = bool(flags_frag & 0x2000)
        offset = (flags_frag & 0x1FFF) * 8
        proto = packet[9]
        shape = f"ipv4 ihl={ihl} df={bool(flags_frag & 0x4000)} mf={more} off={offset > 0} proto={proto} {where}"
        self.seeds.offer("fuzz_wire_ipv4", self.name(number, inner=where == "inner"), shape, packet)
        payload = packet[ihl:]
        if more or offset:
            key = (packet[12:20], struct.unpack_from(">H", packet, 4)[0], proto)
            self.fragments.setdefault(key, []).append((offset, number, more, payload, packet[:ihl]))
            self.reassemble(key, proto)
            return
        self.transport(number, proto, payload, where)

    def reassemble(self, key: tuple, proto: int) -> None:
        parts = sorted(self.fragments[key])
        if not parts or parts[-1][2]:  # the last fragment (MF clear) has not arrived yet
            return
        data = b""
        for offset, _, _, payload, _ in parts:
            if offset != len(data):
                return  # a hole: wait for more
            data += payload
        last_number = max(p[1] for p in parts)
        del self.fragments[key]
        self.transport(last_number, proto, data, "reassembled")

    def transport(self, number: int, proto: int, payload: bytes, where: str) -> None:
        name = self.name(number, inner=where == "inner")
        if proto == 1 and len(payload) >= 4:
            self.seeds.offer("fuzz_wire_icmpv4", name, f"icmp {payload[0]}/{payload[1]}", payload)
        elif proto == 17 and len(payload) >= 8:
            sport, dport = struct.unpack_from(">HH", payload)
            csum = struct.unpack_from(">H", payload, 6)[0]
            port = dport if dport in (7, 9, VXLAN_PORT) else sport if sport in (7, 9) else "other"
            self.seeds.offer("fuzz_wire_udp", name, f"udp port={port} csum0={csum == 0}", payload)
            if dport == VXLAN_PORT:
                vxlan = payload[8:]
                self.seeds.offer("fuzz_wire_vxlan", name, f"vxlan {len(vxlan)}", vxlan)
                if len(vxlan) >= 8:
                    self.ethernet(number, vxlan[8:], outer=False)
        elif proto == 6 and len(payload) >= 20:
            self.seeds.offer("fuzz_wire_tcp", name, tcp_shape(payload), payload)


def stack_record(delay_ms: int, frame: bytes) -> bytes:
    return struct.pack(">HH", delay_ms, len(frame)) + frame


def stack_seeds(captures: Path) -> list[tuple[str, bytes]]:
    """Whole conversations for fuzz_stack, from the captures, 1 ms between frames."""

    def frames(name: str) -> list[bytes]:
        path = captures / name
        return read_pcap(path)[1] if path.exists() else []

    def conversation(flags: int, frame_list: list[bytes], to_tun: bool = False) -> bytes:
        out = bytes([flags])
        for i, frame in enumerate(frame_list):
            out += stack_record((1 if i else 0) | (STACK_TO_TUN if to_tun else 0), frame)
        return out

    seeds: list[tuple[str, bytes]] = []
    for capture in ["arp", "ping", "ping_frag", "udp", "tcp", "vlan", "ping_record_route"]:
        fl = frames(capture + ".pcap")
        if fl:
            seeds.append((f"stack_{capture}", conversation(0, fl)))
    # Fragment zero of a ping alone, then 31 s of silence: the reassembly timer and its ICMP
    # time exceeded.
    frag = frames("ping_frag.pcap")
    if frag:
        seeds.append(("stack_ping_frag_timeout", conversation(0, frag[:1]) + stack_record(31000, b"")))
    # The router's traffic of icmp_errors.pcap, sent to our MAC, forwarded to the TUN interface
    # (10.0.1.0/24, MTU 1280): TTL 1 and DF over the MTU get their ICMP errors.
    errors = frames("icmp_errors.pcap")
    if errors:
        to_us = [STACK_MAC + f[6:] for f in errors if f[:6] == ROUTER_MAC]
        seeds.append(("stack_icmp_errors_forwarding", conversation(STACK_TUN | STACK_FORWARDING, to_us)))
    # vlan.pcap's tagged ARP, VID 20 ping, priority tag and QinQ ping on devices with VLANs.
    vlan = frames("vlan.pcap")
    if vlan:
        seeds.append(("stack_vlan_tagged", conversation(STACK_VLAN10 | STACK_VLAN20 | STACK_QINQ, vlan)))
        seeds.append(("stack_vlan_mixed", conversation(STACK_VLAN10 | STACK_UNTAGGED | STACK_FORWARDING, vlan)))
    raw = frames("raw_ip.pcap")
    if raw:
        seeds.append(("stack_raw_ip_tun", conversation(STACK_TUN, raw, to_tun=True)))
    return seeds


TCP_CONNECTION_TARGET = "fuzz_tcp_connection"
# fuzz_tcp_connection's first byte: the state its script reaches (fuzz/fuzz_tcp_connection.cpp).
TCP_STATES = ["syn_sent", "syn_received", "established", "fin_wait_1", "fin_wait_2",
              "close_wait", "closing", "last_ack", "time_wait"]
# Its second byte: the open (bits 0-1) and the options.
TCP_OPEN = {"passive": 0, "active": 1, "cookie": 2, "simultaneous": 3}
TCP_TS, TCP_SACK, TCP_WS, TCP_SMALL_MSS, TCP_BIG_BUFFER, TCP_QUICK = 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
TCP_VARIANTS = {
    "plain": TCP_OPEN["passive"],
    "active_ts_sack_ws": TCP_OPEN["active"] | TCP_TS | TCP_SACK | TCP_WS,
    "cookie_big": TCP_OPEN["cookie"] | TCP_TS | TCP_SACK | TCP_WS | TCP_BIG_BUFFER,
    "simultaneous_small_quick": TCP_OPEN["simultaneous"] | TCP_TS | TCP_SACK | TCP_SMALL_MSS | TCP_QUICK,
}


def tcp_ops() -> dict[str, bytes]:
    """Operation scripts for fuzz_tcp_connection (opcodes as in Harness::run_op)."""
    def coop(how: int, wnd: int, *extra: int) -> bytes:  # a cooperative peer's segment
        return bytes([6, how, wnd, *extra])

    def advance(ms: int) -> bytes:
        return bytes([8]) + struct.pack(">H", ms if ms < 0x8000 else 0x8000 | (ms // 100))

    def send(n: int) -> bytes:
        return bytes([10]) + struct.pack(">H", n)

    def recv(n: int) -> bytes:
        return bytes([11]) + struct.pack(">H", n)

    ack_all, ack_none, ack_half = 0x0F, 0x00, 0x07
    # A segment at RCV.NXT acknowledging SND.NXT with `flags` (bit 0 clears ACK, 0x08 RST, 0x02 SYN).
    def fuzzed(flags: int, seq_off: int = 0, ack_off: int = 0, plen: int = 0) -> bytes:
        out = bytes([0, flags, 0]) + struct.pack(">h", seq_off)
        if not flags & 0x01:
            out += bytes([1]) + struct.pack(">h", ack_off)
        return out + struct.pack(">HB", 0x2000, 0) + struct.pack(">H", plen)

    return {
        "bare": b"",
        "exchange": send(6000) + coop(0x20 | ack_half, 1, 64) + recv(8192) + coop(0x10 | ack_all, 1)
        + advance(1000) + bytes([12]) + coop(ack_all, 1) + advance(61000),
        "loss": send(8000) + advance(1200) + coop(0x80 | 0x05, 1, 8, 12) + coop(ack_none, 1)
        + coop(ack_none, 1) + coop(ack_none, 1) + coop(ack_all, 1) + advance(300),
        "zero_window": coop(ack_all, 0) + send(4000) + advance(5000) + advance(20000) + coop(ack_all, 1)
        + advance(200),
        "hostile": fuzzed(0x08) + fuzzed(0x08, 5) + fuzzed(0x02) + fuzzed(0x00, 0, 5000)
        + fuzzed(0x00, -3000, 0, 100) + fuzzed(0x01, 0, 0, 300) + advance(500),
        "timers": bytes([14, 0, 4, 1, 2]) + bytes([14, 2]) + advance(0x7FFF) + advance(600000)
        + bytes([13]),
    }


def tcp_connection_seeds() -> list[tuple[str, bytes]]:
    """Each starting state with four option sets, each with one operation script."""
    ops = tcp_ops()
    scripts = list(ops)
    variants = list(TCP_VARIANTS.items())
    seeds = []
    for i, state in enumerate(TCP_STATES):
        for k, (vname, bits) in enumerate(variants):
            script = "bare" if k == 0 else scripts[1 + (i + k) % (len(scripts) - 1)]
            seeds.append((f"tcp_{state}_{vname}_{script}", bytes([i, bits]) + ops[script]))
    return seeds


TCP_SIM_TARGET = "fuzz_tcp_sim"
# fuzz_tcp_sim's mode byte (fuzz/fuzz_tcp_sim.cpp).
SIM_SACK, SIM_TS, SIM_WS, SIM_NODELAY, SIM_CLOSE_EARLY, SIM_MTU_576 = 0x01, 0x02, 0x04, 0x08, 0x10, 0x80
SIM_BUF_4K, SIM_BUF_16K, SIM_BUF_64K, SIM_BUF_256K = 0x00, 0x20, 0x40, 0x60


def tcp_sim_seeds() -> list[tuple[str, bytes]]:
    """Transfers with one kind of fault each: [u16 a_to_b][u16 b_to_a][mode][pace] faults."""
    def scenario(a_to_b: int, b_to_a: int, mode: int, pace: int, faults: bytes) -> bytes:
        return struct.pack(">HHBB", a_to_b, b_to_a, mode, pace) + faults

    full = SIM_SACK | SIM_TS | SIM_WS
    return [
        ("sim_clean_small", scenario(1000, 3000, SIM_SACK | SIM_TS, 0, b"")),
        ("sim_clean_64k_window_scaling", scenario(65535, 65535, full | SIM_BUF_64K, 0, b"")),
        ("sim_loss", scenario(20000, 20000, SIM_SACK | SIM_TS | SIM_BUF_16K, 0, bytes([0x07, 0x80]) * 30)),
        ("sim_loss_no_sack", scenario(20000, 5000, SIM_TS | SIM_BUF_16K, 0, bytes([0x05, 0x80]) * 30)),
        ("sim_duplicate_and_reorder", scenario(30000, 10000, SIM_SACK | SIM_BUF_16K, 0,
                                               bytes([0x03, 0xA0, 0x05, 0x04, 0xB0, 0x0A, 0x02, 0xD0]) * 15)),
        ("sim_corrupt", scenario(10000, 10000, SIM_TS | SIM_BUF_16K, 0,
                                 bytes([0x04, 0xE0, 0x00, 0x30, 0x40]) * 15)),
        ("sim_slow_reader_4k", scenario(40000, 40000, SIM_SACK | SIM_TS | SIM_NODELAY | SIM_BUF_4K, 20,
                                        bytes([0x10, 0x80]) * 10)),
        ("sim_close_early_mtu_576", scenario(16000, 0, SIM_SACK | SIM_TS | SIM_CLOSE_EARLY | SIM_MTU_576, 0,
                                             bytes([0x20, 0x80, 0x20, 0xA0, 0x00]) * 6)),
        ("sim_handshake_losses", scenario(500, 500, SIM_SACK | SIM_TS, 0, bytes([0x80]) * 5)),
        ("sim_blackout", scenario(20000, 20000, full | SIM_BUF_256K, 0, bytes([0x08]) + bytes([0x80]) * 40)),
    ]


def load_manifest(corpus: Path) -> set[str]:
    path = corpus / MANIFEST
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=Path, default=ROOT / "tests" / "captures")
    parser.add_argument("--corpus", type=Path, default=ROOT / "fuzz" / "corpus")
    parser.add_argument("--max", type=int, default=15)
    args = parser.parse_args()

    captures = sorted(args.captures.glob("*.pcap"))
    if not captures:
        print(f"make_corpus: no captures in {args.captures}", file=sys.stderr)
        return 1

    seeds = Seeds()
    for path in captures:
        link_type, frames = read_pcap(path)
        walker = Walker(seeds, path.stem)
        for number, frame in enumerate(frames, start=1):
            walker.frame(link_type, number, frame)

    args.corpus.mkdir(parents=True, exist_ok=True)
    # Remove what this script wrote last time (and only that), then write afresh.
    for rel in sorted(load_manifest(args.corpus)):
        old = args.corpus / rel
        if old.is_file() and old.parent.parent == args.corpus:
            old.unlink()
    written: list[str] = []

    def write(target: str, name: str, data: bytes) -> None:
        directory = args.corpus / target
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        if path.exists():  # a file of another helper with the same name: leave it alone
            if path.read_bytes() != data:
                print(f"make_corpus: kept foreign {target}/{name}", file=sys.stderr)
            return
        path.write_bytes(data)
        written.append(f"{target}/{name}")

    counts = {}
    for target in TARGETS:
        chosen = seeds.select(target, args.max)
        for name, data in chosen:
            write(target, name, data)
        counts[target] = len(chosen)

    pcap_count = 0
    for file_name in PCAP_SEEDS:
        src = args.captures / file_name
        if src.exists():
            write(PCAP_TARGET, file_name, src.read_bytes())
            pcap_count += 1
    counts[PCAP_TARGET] = pcap_count

    stack = stack_seeds(args.captures)
    for name, data in stack:
        write(STACK_TARGET, name, data)
    counts[STACK_TARGET] = len(stack)

    for target, generated in [(TCP_CONNECTION_TARGET, tcp_connection_seeds()),
                              (TCP_SIM_TARGET, tcp_sim_seeds())]:
        for name, data in generated:
            write(target, name, data)
        counts[target] = len(generated)

    (args.corpus / MANIFEST).write_text("".join(f"{w}\n" for w in sorted(written)))
    for target, count in counts.items():
        total = sum(1 for p in (args.corpus / target).iterdir() if not p.name.startswith("."))
        print(f"{target:22s} {count:3d} from captures, {total:3d} files in the directory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
