// What the Stack unit tests share: a FrameSink that records every frame per interface, a host
// with a manual clock, frame builders over the wire reprs, and parsers that read the stack's
// frames back with the same codecs (checksums verified). The addresses are those of the Linux
// captures (tests/captures/README.md): the stack under test is host B (10.0.0.2,
// 0a:00:00:00:00:02), its peer host A (10.0.0.1, 0a:00:00:00:00:01), so captured frames can be
// fed in and captured replies compared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/stack.hpp"
#include "stack/wire/arp.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/udp.hpp"
#include "tests/support/captures.hpp"

namespace tapir::test {

using namespace std::chrono_literals;

inline constexpr MacAddress kMac({0x0a, 0x00, 0x00, 0x00, 0x00, 0x02});
inline constexpr MacAddress kPeerMac({0x0a, 0x00, 0x00, 0x00, 0x00, 0x01});
inline constexpr Ipv4Address kIp(10, 0, 0, 2);
inline constexpr Ipv4Address kPeerIp(10, 0, 0, 1);
inline constexpr Ipv4Address kSubnetBroadcast(10, 0, 0, 255);
inline constexpr Instant kT0 = instant_from_micros(1'000'000);

// One frame the stack handed to its sink.
struct SentFrame {
  InterfaceId iface = 0;
  std::vector<std::byte> bytes;
};

// Records every transmitted frame, in order, with its interface.
class CaptureSink final : public FrameSink {
 public:
  void transmit(InterfaceId iface, Bytes frame) override {
    frames.push_back({iface, {frame.begin(), frame.end()}});
  }
  // The frames recorded so far, leaving the sink empty.
  std::vector<SentFrame> take() { return std::exchange(frames, {}); }
  std::vector<SentFrame> on(InterfaceId iface) const {
    std::vector<SentFrame> out;
    for (const auto& f : frames)
      if (f.iface == iface) out.push_back(f);
    return out;
  }

  std::vector<SentFrame> frames;
};

// The default configuration without the RFC 5227 start-up announcements, so a test sees only
// the frames its own input causes (arp_test checks the announcements with the default).
inline StackConfig quiet_config() {
  StackConfig c;
  c.arp_announcements = 0;
  return c;
}

inline InterfaceConfig ethernet_interface(MacAddress mac = kMac,
                                          std::string_view cidr = "10.0.0.2/24",
                                          std::size_t mtu = 1500) {
  InterfaceConfig c;
  c.medium = Medium::Ethernet;
  c.mac = mac;
  c.mtu = mtu;
  c.address = *Ipv4Cidr::parse(cidr);
  return c;
}

// The value of the counter called `name` (see Stack::for_each_counter); fails the test if no
// counter has that name.
inline std::uint64_t counter(const Stack& stack, std::string_view name) {
  std::optional<std::uint64_t> value;
  stack.for_each_counter([&](std::string_view n, const Counter& c) {
    if (n == name) value = c.value();
  });
  if (!value) {
    ADD_FAILURE() << "no counter named " << name;
    return ~std::uint64_t{0};
  }
  return *value;
}

// Every counter that is not zero, by name: tests compare it whole to show that one input moved
// exactly the counters it should.
inline std::map<std::string, std::uint64_t> nonzero_counters(const Stack& stack) {
  std::map<std::string, std::uint64_t> out;
  stack.for_each_counter([&](std::string_view n, const Counter& c) {
    if (c.value() != 0) out.emplace(std::string(n), c.value());
  });
  return out;
}

// ---- Frame builders ---------------------------------------------------------------------------

inline std::vector<std::byte> ethernet_frame(MacAddress dst, MacAddress src, wire::EtherType type,
                                             Bytes payload) {
  std::vector<std::byte> f(wire::EthernetView::header_len + payload.size());
  wire::EthernetRepr{src, dst, type}.emit(wire::EthernetViewMut(f));
  store_bytes(f, wire::EthernetView::header_len, payload);
  return f;
}

inline std::vector<std::byte> arp_frame(const wire::ArpRepr& arp, MacAddress dst) {
  std::vector<std::byte> packet(wire::ArpRepr::buffer_len());
  arp.emit(wire::ArpViewMut(packet));
  return ethernet_frame(dst, arp.source_hardware_addr, wire::EtherType::Arp, packet);
}

// An ARP request from (mac, ip) asking for `target`, broadcast.
inline std::vector<std::byte> arp_request(MacAddress mac, Ipv4Address ip, Ipv4Address target) {
  return arp_frame({wire::ArpOperation::Request, mac, ip, MacAddress{}, target},
                   MacAddress::broadcast());
}

// An ARP reply from (mac, ip) to us.
inline std::vector<std::byte> arp_reply(MacAddress mac, Ipv4Address ip, MacAddress to_mac = kMac,
                                        Ipv4Address to_ip = kIp) {
  return arp_frame({wire::ArpOperation::Reply, mac, ip, to_mac, to_ip}, to_mac);
}

inline wire::Ipv4Repr ip_header(Ipv4Address src, Ipv4Address dst, wire::IpProtocol protocol,
                                std::uint8_t ttl = 64, std::uint16_t ident = 0x1234) {
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ttl = ttl;
  ip.ident = ident;
  return ip;
}

// An IPv4 datagram: the header of `ip` (payload_len set from payload) with a valid checksum.
inline std::vector<std::byte> ipv4_packet(wire::Ipv4Repr ip, Bytes payload) {
  ip.payload_len = payload.size();
  std::vector<std::byte> p(ip.buffer_len());
  ip.emit(wire::Ipv4ViewMut(p), wire::ChecksumPolicy::all());
  store_bytes(p, ip.header_len(), payload);
  return p;
}

// A UDP datagram (header and payload) with its checksum over the pseudo-header (or zero).
inline std::vector<std::byte> udp_datagram(Ipv4Address src, Ipv4Address dst, std::uint16_t sport,
                                           std::uint16_t dport, Bytes payload,
                                           bool checksum = true) {
  const wire::UdpRepr udp{sport, dport, payload.size()};
  std::vector<std::byte> d(udp.buffer_len());
  store_bytes(d, wire::UdpView::header_len, payload);
  udp.emit(wire::UdpViewMut(d), src, dst,
           checksum ? wire::ChecksumPolicy::all() : wire::ChecksumPolicy::none());
  return d;
}

inline std::vector<std::byte> udp_packet(Ipv4Address src, Ipv4Address dst, std::uint16_t sport,
                                         std::uint16_t dport, Bytes payload) {
  return ipv4_packet(ip_header(src, dst, wire::IpProtocol::Udp),
                     udp_datagram(src, dst, sport, dport, payload));
}

inline std::vector<std::byte> icmp_message(const wire::Icmpv4Repr& icmp) {
  std::vector<std::byte> m(icmp.buffer_len());
  icmp.emit(wire::Icmpv4ViewMut(m), wire::ChecksumPolicy::all());
  return m;
}

inline std::vector<std::byte> echo_request(std::uint16_t ident, std::uint16_t seq, Bytes data) {
  return icmp_message({wire::Icmpv4Repr::EchoRequest{ident, seq, data}});
}

inline std::vector<std::byte> echo_reply(std::uint16_t ident, std::uint16_t seq, Bytes data) {
  return icmp_message({wire::Icmpv4Repr::EchoReply{ident, seq, data}});
}

// An IPv4 packet in an Ethernet frame from the peer to us.
inline std::vector<std::byte> to_us(Bytes packet, MacAddress dst = kMac,
                                    MacAddress src = kPeerMac) {
  return ethernet_frame(dst, src, wire::EtherType::Ipv4, packet);
}

// Cuts a datagram into fragments of at most `mtu` bytes (RFC 791 §3.2: every fragment but the
// last carries a multiple of 8 payload bytes), each a whole IPv4 packet.
inline std::vector<std::vector<std::byte>> fragments(wire::Ipv4Repr ip, Bytes payload,
                                                     std::size_t mtu) {
  std::vector<std::vector<std::byte>> out;
  const std::size_t piece = (mtu - ip.header_len()) & ~std::size_t{7};
  for (std::size_t off = 0; off < payload.size(); off += piece) {
    const std::size_t n = std::min(piece, payload.size() - off);
    wire::Ipv4Repr f = ip;
    f.frag_offset = static_cast<std::uint16_t>(off);
    f.more_frags = off + n < payload.size();
    out.push_back(ipv4_packet(f, payload.subspan(off, n)));
  }
  return out;
}

// ---- Reading the stack's frames back -----------------------------------------------------------

// An Ethernet frame carrying IPv4, parsed with the stack's own codecs; the header checksum
// verified. Owns the frame, so the payload span stays valid.
struct ParsedIpv4 {
  ParsedIpv4() = default;
  ParsedIpv4(ParsedIpv4&&) = default;  // a moved vector keeps its buffer: the spans stay valid
  ParsedIpv4& operator=(ParsedIpv4&&) = default;
  ParsedIpv4(const ParsedIpv4&) = delete;  // a copy's spans would point into the original
  ParsedIpv4& operator=(const ParsedIpv4&) = delete;

  std::vector<std::byte> frame;
  wire::EthernetRepr eth;
  wire::Ipv4Repr ip;
  Bytes header;   // the raw IPv4 header
  Bytes payload;  // up to Total Length
};

inline std::optional<ParsedIpv4> parse_ipv4(Bytes frame, Medium medium = Medium::Ethernet) {
  ParsedIpv4 p;
  p.frame.assign(frame.begin(), frame.end());
  Bytes packet = p.frame;
  if (medium == Medium::Ethernet) {
    const wire::EthernetView eth(packet);
    if (!eth.check()) {
      ADD_FAILURE() << "not an Ethernet frame: " << to_hex(frame);
      return std::nullopt;
    }
    p.eth = *wire::EthernetRepr::parse(eth);
    if (p.eth.ethertype != wire::EtherType::Ipv4) {
      ADD_FAILURE() << "not IPv4: " << to_hex(frame);
      return std::nullopt;
    }
    packet = eth.payload();
  }
  const wire::Ipv4View view(packet);
  auto ip = wire::Ipv4Repr::parse(view, wire::ChecksumPolicy::all());
  if (!ip) {
    ADD_FAILURE() << "bad IPv4 (" << ip.error().message() << "): " << to_hex(frame);
    return std::nullopt;
  }
  p.ip = *ip;
  p.header = packet.first(view.header_len());
  p.payload = view.payload();
  return p;
}

inline std::optional<ParsedIpv4> parse_ipv4(const SentFrame& f) {
  return parse_ipv4(f.bytes);
}

// The ICMP message of a parsed datagram, its checksum verified (the spans point into `p`).
inline std::optional<wire::Icmpv4Repr> parse_icmp(const ParsedIpv4& p) {
  if (p.ip.protocol != wire::IpProtocol::Icmp) {
    ADD_FAILURE() << "not ICMP";
    return std::nullopt;
  }
  auto icmp = wire::Icmpv4Repr::parse(wire::Icmpv4View(p.payload), wire::ChecksumPolicy::all());
  if (!icmp) {
    ADD_FAILURE() << "bad ICMP (" << icmp.error().message() << ")";
    return std::nullopt;
  }
  return *icmp;
}

// The UDP header of a parsed (unfragmented) datagram, its checksum verified.
inline std::optional<wire::UdpRepr> parse_udp(const ParsedIpv4& p) {
  if (p.ip.protocol != wire::IpProtocol::Udp) {
    ADD_FAILURE() << "not UDP";
    return std::nullopt;
  }
  const wire::UdpView view(p.payload);
  auto udp = wire::UdpRepr::parse(view, p.ip.src, p.ip.dst, wire::ChecksumPolicy::all());
  if (!udp) {
    ADD_FAILURE() << "bad UDP (" << udp.error().message() << ")";
    return std::nullopt;
  }
  if (view.checksum() == 0) ADD_FAILURE() << "UDP sent without a checksum";
  return *udp;
}

inline Bytes udp_payload(const ParsedIpv4& p) {
  return wire::UdpView(p.payload).payload();
}

struct ParsedArp {
  wire::EthernetRepr eth;
  wire::ArpRepr arp;
  std::size_t frame_len = 0;
};

inline std::optional<ParsedArp> parse_arp(Bytes frame) {
  const wire::EthernetView eth(frame);
  if (!eth.check() || eth.ethertype() != wire::EtherType::Arp) {
    ADD_FAILURE() << "not an ARP frame: " << to_hex(frame);
    return std::nullopt;
  }
  const wire::ArpView view(eth.payload());
  if (!view.check()) {
    ADD_FAILURE() << "truncated ARP: " << to_hex(frame);
    return std::nullopt;
  }
  auto arp = wire::ArpRepr::parse(view);
  if (!arp) {
    ADD_FAILURE() << "unsupported ARP: " << to_hex(frame);
    return std::nullopt;
  }
  return ParsedArp{*wire::EthernetRepr::parse(eth), *arp, frame.size()};
}

inline std::optional<ParsedArp> parse_arp(const SentFrame& f) {
  return parse_arp(f.bytes);
}

// Whether a frame is an ARP request for `target` (broadcast unless `unicast_to`).
inline bool is_arp_request_for(const SentFrame& f, Ipv4Address target) {
  const wire::EthernetView eth(f.bytes);
  if (!eth.check() || eth.ethertype() != wire::EtherType::Arp) return false;
  auto arp = parse_arp(f);
  return arp && arp->arp.operation == wire::ArpOperation::Request &&
         arp->arp.target_protocol_addr == target;
}

// Reassembles the payload of the fragments of one datagram, in order of offset; checks the
// fragments agree (same ident, contiguous offsets, MF on all but the last).
inline std::optional<std::vector<std::byte>> reassemble(const std::vector<ParsedIpv4>& frags) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < frags.size(); ++i) {
    const auto& f = frags[i].ip;
    if (f.frag_offset != out.size() || f.ident != frags[0].ip.ident ||
        f.more_frags != (i + 1 < frags.size())) {
      ADD_FAILURE() << "fragment " << i << " out of place";
      return std::nullopt;
    }
    out.insert(out.end(), frags[i].payload.begin(), frags[i].payload.end());
  }
  return out;
}

// ---- A host under test --------------------------------------------------------------------------

// One stack with one Ethernet interface (10.0.0.2/24 unless told), a capturing sink and a manual
// clock.
struct Host {
  explicit Host(const StackConfig& config = quiet_config(),
                const InterfaceConfig& iface = ethernet_interface()) {
    auto s = Stack::create(config);
    if (!s) {
      ADD_FAILURE() << "Stack::create: " << Stack::validate(config);
      return;
    }
    stack = std::move(*s);
    auto id = stack->add_interface(iface);
    if (!id) ADD_FAILURE() << "add_interface: " << id.error().message();
    eth = id.value_or(0);
  }

  void receive(Bytes frame) { stack->receive(eth, frame, now, sink); }
  void receive(InterfaceId iface, Bytes frame) { stack->receive(iface, frame, now, sink); }
  void poll() { stack->poll(now, sink); }
  void advance(Duration d) { now += d; }
  std::vector<SentFrame> take() { return sink.take(); }

  // Teaches the stack ip -> mac the way the network would: an ARP request from it for our
  // address (RFC 826 creates the entry since we are the target); our reply is discarded.
  void learn(Ipv4Address ip, MacAddress mac, InterfaceId iface = 0) {
    const Ipv4Address own = stack->interface(iface).address.address();
    stack->receive(iface, arp_request(mac, ip, own), now, sink);
    sink.frames.clear();
  }

  // A UDP socket bound to (any, port).
  UdpSocket udp(std::uint16_t port) {
    auto s = stack->udp_socket();
    EXPECT_TRUE(s);
    if (!s) return {};
    auto r = s->bind({Ipv4Address::any(), port});
    EXPECT_TRUE(r) << r.error().message();
    return std::move(*s);
  }

  std::uint64_t count(std::string_view name) const { return counter(*stack, name); }

  std::unique_ptr<Stack> stack;
  InterfaceId eth = 0;
  CaptureSink sink;
  Instant now = kT0;
};

// Moves every frame one host sent to the other, in order, until both are quiet (at most
// `rounds` exchanges, so a loop can never hang). Each frame is delivered at the receiver's now.
inline void exchange(Host& a, Host& b, int rounds = 100) {
  for (int i = 0; i < rounds; ++i) {
    a.poll();
    b.poll();
    auto from_a = a.take();
    auto from_b = b.take();
    if (from_a.empty() && from_b.empty()) return;
    for (const auto& f : from_a)
      b.receive(f.bytes);
    for (const auto& f : from_b)
      a.receive(f.bytes);
  }
  ADD_FAILURE() << "the hosts never went quiet";
}

// Frame bytes from a capture, by the frame number tshark shows (counting from 1).
inline std::vector<std::byte> captured(const Capture& c, std::size_t number) {
  if (number < 1 || number > c.frames.size()) {
    ADD_FAILURE() << "no frame " << number << " in the capture";
    return {};
  }
  return c.frames[number - 1].bytes;
}

// Frame bytes with the IPv4 identification and header checksum zeroed (the two fields that
// differ between our reply and Linux's for the same request).
inline std::vector<std::byte> without_ident(std::vector<std::byte> frame,
                                            std::size_t ip_at = wire::EthernetView::header_len) {
  for (std::size_t i : {ip_at + 4, ip_at + 5, ip_at + 10, ip_at + 11})
    if (i < frame.size()) frame[i] = std::byte{0};
  return frame;
}

inline std::vector<std::byte> bytes_of(std::string_view text) {
  const auto b = as_bytes(text.data(), text.size());
  return {b.begin(), b.end()};
}

inline std::vector<std::byte> vec(Bytes b) {
  return {b.begin(), b.end()};
}

}  // namespace tapir::test
