#!/usr/bin/env python3
"""Writes docs/wire.md: a fixed introduction, then each codec's own header comment (its diagram,
RFC and decisions), so the page cannot drift from the code. `--check` exits 1 if the file on
disk differs from what would be written (ctest runs that)."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ["ethernet", "vlan", "arp", "ipv4", "icmpv4", "udp", "tcp", "seq_num", "vxlan", "pcap"]
TITLES = {"ethernet": "Ethernet II", "vlan": "802.1Q / 802.1ad tags", "arp": "ARP",
          "ipv4": "IPv4", "icmpv4": "ICMPv4", "udp": "UDP", "tcp": "TCP",
          "seq_num": "TCP sequence numbers", "vxlan": "VXLAN", "pcap": "pcap files"}

INTRO = """# Wire formats: views and reprs

Everything in tapir that touches the bytes of a packet goes through `stack/wire/`, one
header/source pair per protocol. This page explains the pattern and then shows, for each
protocol, the comment at the top of its header: the layout diagram, the RFC, and the decisions
the codec makes. (It is generated from those headers by `scripts/gen_wire_doc.py`; ctest fails
if it is out of date.)

## The pattern
A **view** wraps a byte span without copying: `Ipv4View` reads, `Ipv4ViewMut` also writes (both
are `BasicIpv4View<B>` with `B` = `const std::byte` or `std::byte`). Fields are read with
`load_be16(span, offset)`-style helpers over `gsl::span`, never by casting the buffer to a
struct.

- `check()` validates every length the accessors rely on and returns one specific error:
  `Errc::truncated`, `bad_version`, `bad_header_len`, `bad_length`, `bad_option`,
  `bad_checksum`, `bad_field`, `unsupported`. After it passes, no accessor can fail or read
  past the buffer. `View::checked(span)` does both in one step.
- Getters are named after the field (`src_port()`, `ttl()`); setters exist only on the mutable
  view (`set_ttl()`); `payload()` is the span after the header (for IPv4 and UDP, up to the
  length field, so link-layer padding is trimmed).

A **repr** is a plain value with the fields a protocol module cares about:

- `Repr::parse(view, …)` builds it from a checked view (checksums verified when the
  `ChecksumPolicy` says so — fuzz targets switch that off);
- `buffer_len()` is how many bytes `emit()` writes;
- `emit(view_mut, …)` writes every one of those bytes and computes the checksum. For UDP and TCP
  the payload is already in place (the caller copies it once, straight into the frame), and the
  checksum covers it.

Tests exercise four things per protocol (decode captured Linux bytes; build with setters; parse
to a repr; emit into a buffer pre-filled with `0xA5` and compare) plus every rejection path, and
one fuzz target per codec checks that anything `parse()` accepts re-emits and re-parses equal.

`describe(frame)` (`stack/wire/describe.hpp`) walks the layers with these views and prints a
tcpdump-like line; `tapir-decode -v` prints every field.
"""


def header_comment(path):
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("//"):
            lines.append(line[3:] if line.startswith("// ") else line[2:])
        elif lines:
            break
    return "\n".join(lines).rstrip()


def render():
    out = [INTRO]
    for name in ORDER:
        path = ROOT / "stack" / "wire" / f"{name}.hpp"
        out.append(f"\n## {TITLES[name]} — `stack/wire/{name}.hpp`\n\n```\n{header_comment(path)}\n```\n")
    return "".join(out)


def main():
    target = ROOT / "docs" / "wire.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/wire.md is out of date: run scripts/gen_wire_doc.py")
            return 1
        print("docs/wire.md matches the codec headers")
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
