#!/usr/bin/env python3
"""tapir-decode agrees with tshark on the captured Linux traffic, for the fields both print.

For every capture in tests/captures, runs `tapir-decode -v` and `tshark -T fields`, and for each
frame and each mapped field compares the values in order of appearance (outer layers first, so a
VXLAN inner frame or the datagram quoted in an ICMP error comes after the outer one). tshark may
dissect deeper than tapir prints (e.g. the ICMP message inside a quoted datagram): tapir's list
must then equal the start of tshark's. Exits 77 (skipped) if tshark is missing, 1 on any
disagreement or if too few values were compared for the check to mean anything.

usage: decode_vs_tshark.py TAPIR_DECODE CAPTURE_DIR
"""
import os
import re
import shutil
import subprocess
import sys

# (tapir layer, tapir key) -> (tshark field, how to normalise tshark's value)
def as_int(v):
    return str(int(v, 0))

def frag_units(v):  # this tshark prints ip.frag_offset in 8-byte units; tapir prints bytes
    return str(int(v, 0) * 8)

def ident(v):
    return v.lower()

MAP = {
    ("Ethernet", "dst"): ("eth.dst", ident),
    ("Ethernet", "src"): ("eth.src", ident),
    ("Ethernet", "type"): ("eth.type", as_int),
    ("802.1Q", "vid"): ("vlan.id", as_int),
    ("802.1Q", "pcp"): ("vlan.priority", as_int),
    ("802.1Q", "dei"): ("vlan.dei", as_int),
    ("802.1Q", "type"): ("vlan.etype", as_int),
    ("802.1ad", "vid"): ("ieee8021ad.id", as_int),
    ("ARP", "op"): ("arp.opcode", as_int),
    ("ARP", "sha"): ("arp.src.hw_mac", ident),
    ("ARP", "spa"): ("arp.src.proto_ipv4", ident),
    ("ARP", "tha"): ("arp.dst.hw_mac", ident),
    ("ARP", "tpa"): ("arp.dst.proto_ipv4", ident),
    ("IPv4", "header_len"): ("ip.hdr_len", as_int),
    ("IPv4", "dscp"): ("ip.dsfield.dscp", as_int),
    ("IPv4", "total_len"): ("ip.len", as_int),
    ("IPv4", "id"): ("ip.id", as_int),
    ("IPv4", "frag_offset"): ("ip.frag_offset", frag_units),
    ("IPv4", "ttl"): ("ip.ttl", as_int),
    ("IPv4", "protocol"): ("ip.proto", as_int),
    ("IPv4", "checksum"): ("ip.checksum", as_int),
    ("IPv4", "src"): ("ip.src", ident),
    ("IPv4", "dst"): ("ip.dst", ident),
    ("ICMP", "type"): ("icmp.type", as_int),
    ("ICMP", "code"): ("icmp.code", as_int),
    ("ICMP", "checksum"): ("icmp.checksum", as_int),
    ("ICMP", "id"): ("icmp.ident", as_int),
    ("ICMP", "seq"): ("icmp.seq", as_int),
    ("ICMP", "mtu"): ("icmp.mtu", as_int),
    ("UDP", "src_port"): ("udp.srcport", as_int),
    ("UDP", "dst_port"): ("udp.dstport", as_int),
    ("UDP", "len"): ("udp.length", as_int),
    ("UDP", "checksum"): ("udp.checksum", as_int),
    ("VXLAN", "vni"): ("vxlan.vni", as_int),
    ("TCP", "src_port"): ("tcp.srcport", as_int),
    ("TCP", "dst_port"): ("tcp.dstport", as_int),
    ("TCP", "seq"): ("tcp.seq_raw", as_int),
    ("TCP", "ack"): ("tcp.ack_raw", as_int),
    ("TCP", "header_len"): ("tcp.hdr_len", as_int),
    ("TCP", "flags"): ("tcp.flags", as_int),
    ("TCP", "window"): ("tcp.window_size_value", as_int),
    ("TCP", "checksum"): ("tcp.checksum", as_int),
    ("TCP", "urgent"): ("tcp.urgent_pointer", as_int),
    ("TCP", "payload_len"): ("tcp.len", as_int),
}
# The header of a datagram quoted in an ICMP error is IPv4 to tshark too.
QUOTED = {"src": "ip.src", "dst": "ip.dst", "protocol": "ip.proto", "id": "ip.id"}
FIELDS = sorted({f for f, _ in MAP.values()})


def tapir_frames(decode, path):
    out = subprocess.run([decode, "-v", path], check=True, capture_output=True, text=True).stdout
    frames = []
    for line in out.splitlines():
        if line.startswith("frame "):
            frames.append({})
            continue
        m = re.match(r"  ([^:]+): (.*)$", line)
        if not m or not frames:
            continue
        layer, body = m.group(1), m.group(2)
        pairs = {}
        for part in body.split(", "):
            key, _, value = part.partition(" ")
            pairs[key] = value.split(" ")[0]  # "0xa4ce (good)" -> "0xa4ce"
        if layer == "IPv4 (quoted)":
            for key, field in QUOTED.items():
                if key in pairs:
                    frames[-1].setdefault(field, []).append(str(int(pairs[key], 0)) if key in ("protocol", "id") else pairs[key])
            continue
        for key, value in pairs.items():
            if (layer, key) in MAP:
                field, _ = MAP[(layer, key)]
                norm = as_int(value) if MAP[(layer, key)][1] in (as_int, frag_units) else value.lower()
                frames[-1].setdefault(field, []).append(norm)
    return frames


def tshark_frames(path):
    cmd = ["tshark", "-r", path, "-o", "ip.defragment:FALSE", "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    frames = []
    for line in out.splitlines():
        cols = line.split("\t")
        frame = {}
        for f, col in zip(FIELDS, cols):
            if col:
                norm = next(n for (fld, n) in MAP.values() if fld == f)
                frame[f] = [norm(v) for v in col.split(",")]
        frames.append(frame)
    return frames


def main():
    decode, capture_dir = sys.argv[1], sys.argv[2]
    if shutil.which("tshark") is None:
        print("SKIP: tshark is not installed (scripts/setup.sh installs it)")
        return 77
    compared = 0
    used = set()
    failures = 0
    captures = sorted(f for f in os.listdir(capture_dir) if f.endswith(".pcap"))
    for name in captures:
        path = os.path.join(capture_dir, name)
        ours, theirs = tapir_frames(decode, path), tshark_frames(path)
        if len(ours) != len(theirs):
            print(f"{name}: tapir-decode shows {len(ours)} frames, tshark {len(theirs)}")
            failures += 1
            continue
        for n, (a, b) in enumerate(zip(ours, theirs), start=1):
            for field, values in a.items():
                if field not in b:
                    continue
                expected = b[field][: len(values)]
                if values != expected:
                    print(f"{name} frame {n}: {field}: tapir-decode {values}, tshark {b[field]}")
                    failures += 1
                else:
                    compared += len(values)
                    used.add(field)
    unused = sorted(set(FIELDS) - used)
    print(f"decode_vs_tshark: {len(captures)} captures, {compared} values agree, "
          f"{failures} disagreements; fields never compared: {unused or 'none'}")
    if compared < 500:
        print("decode_vs_tshark: too few values compared for the check to mean anything")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
