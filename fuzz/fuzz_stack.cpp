// The whole stack under a sequence of frames with a manual clock. The input is a flags byte and
// then records:
//
//   [u8 flags] ([u16 delay_ms][u16 len][len bytes])*        (big-endian; a short tail is ignored)
//
// flags bit 0 adds a TUN interface (10.0.1.1/24, MTU 1280, bare IP packets), bit 1 turns forwarding
// on. IEEE 802.1Q: bit 2 puts the Ethernet device's own interface on VLAN 10 (PCP 3, as `--vlan
// 10 --vlan-pcp 3`), bit 3 adds an interface on VLAN 20 of that device (10.0.20.2/24, its own
// MAC, PCP 1), bit 4 an 802.1ad one on S-VLAN 100, C-VLAN 10 (10.0.100.2/24, MTU 1400, the
// device's MAC), bit 5 an untagged one (10.0.5.2/24) when bit 2 left the device without one.
// Each record's frame goes to the Ethernet interface (10.0.0.2/24, gateway 10.0.0.1), or to the
// TUN interface when the top bit of delay_ms is set (and it exists); the clock first moves on by
// the low 15 bits of delay_ms. A UDP socket bound to port 7 echoes what it receives, and an ICMP
// socket sends one echo request at the start and reads whatever comes. After each record the
// stack is polled; at the end the clock jumps to next_deadline() a few times.
//
// Checksum verification is off (ChecksumPolicy verify_rx = false), so mutated frames get deep;
// filling stays on. Invariants: every frame the stack emits parses with our own codecs (Ethernet,
// the tags of exactly one of our interfaces with its PCP, ARP, IPv4 with a header checksum that
// verifies and one of our addresses as source, and UDP or ICMP with theirs when whole), or is a
// datagram that came in, forwarded (TTL one less, checksum updated); no frame exceeds its
// interface's MTU; the neighbour queue and the reassembler stay within their bounds; the counters
// account for every frame at each layer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "stack/base/checksum.hpp"
#include "stack/stack.hpp"
#include "stack/wire/arp.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"
#include "stack/wire/udp.hpp"
#include "stack/wire/vlan.hpp"

using namespace tapir;
using namespace tapir::wire;

namespace {

constexpr MacAddress kMac({0x0a, 0x00, 0x00, 0x00, 0x00, 0x02});
constexpr std::size_t kMtu = 1500;

StackConfig fuzz_config(bool forwarding) {
  StackConfig c;
  c.seed = 7;
  c.max_mtu = kMtu;  // small frame pools: a fresh stack per input stays cheap
  c.arp_pending_frames = 32;
  c.arp_pending_per_neighbor = 16;
  c.reassembly.slots = 4;
  c.reassembly.max_bytes = 64 * 1024;
  c.reassembly.max_fragments = 48;
  c.udp_rx_bytes = 64 * 1024;
  c.udp_tx_bytes = 64 * 1024;
  c.udp_queue_datagrams = 32;
  c.icmp_rx_bytes = 64 * 1024;
  c.forwarding = forwarding;
  c.checksums = ChecksumPolicy{false, true};
  return c;
}

// Remembers the IPv4 packets that came in (the last kRemembered), so a forwarded one can be
// recognised on its way out: with checksum verification off, a forwarded header keeps the bad
// checksum it came with, updated incrementally.
class InputRecorder final : public FrameTracer {
 public:
  static constexpr std::size_t kRemembered = 64;

  void on_frame(InterfaceId, Medium medium, bool outgoing, Bytes frame) override {
    if (outgoing) return;
    Bytes packet = frame;
    if (medium == Medium::Ethernet) {
      // Untagged or tagged (IEEE 802.1Q / 802.1ad): a forwarded packet may cross VLANs.
      auto tags = parse_vlan_tags(EthernetView(frame));
      if (!tags || tags->ethertype != EtherType::Ipv4) return;
      packet = frame.subspan(tags->payload_offset);
    }
    const Ipv4View ip(packet);
    if (!ip.check()) return;
    packet = packet.first(ip.total_len());
    if (packets_.size() == kRemembered) packets_.erase(packets_.begin());
    packets_.emplace_back(packet.begin(), packet.end());
  }

  // Whether `out` is a packet that came in, forwarded: the same bytes but for a TTL one less
  // and the checksum updated for it (RFC 1624).
  bool forwarded(Bytes out) const {
    for (const auto& in : packets_) {
      if (in.size() != out.size() || in.size() < Ipv4View::min_header_len) continue;
      bool same = true;
      for (std::size_t i = 0; i < in.size() && same; ++i)
        same = i == 8 || i == 10 || i == 11 || in[i] == out[i];
      if (!same) continue;
      const std::uint8_t ttl = load_u8(in, 8);
      if (ttl < 2 || load_u8(out, 8) != ttl - 1) continue;
      if (load_be16(out, 10) !=
          checksum_update(load_be16(in, 10), load_be16(in, 8), load_be16(out, 8)))
        continue;
      return true;
    }
    return false;
  }

 private:
  std::vector<std::vector<std::byte>> packets_;
};

// Checks every frame as it leaves.
class CheckingSink final : public FrameSink {
 public:
  CheckingSink(const Stack& stack, const InputRecorder& inputs) : stack_(stack), inputs_(inputs) {}

  void transmit(InterfaceId iface, Bytes frame) override {
    FUZZ_CHECK(iface < stack_.interface_count());
    const InterfaceConfig& cfg = stack_.interface(iface);
    if (cfg.medium == Medium::Ip) {
      check_ipv4(frame, cfg.mtu, true);
      return;
    }
    const EthernetView eth(frame);
    FUZZ_CHECK(eth.check());
    FUZZ_CHECK(frame.size() >= EthernetView::min_frame_len);
    FUZZ_CHECK(!cfg.link);  // frames leave by a device
    // The tags name exactly one interface on this device: the one that sent the frame.
    auto tags = parse_vlan_tags(eth);
    FUZZ_CHECK(tags);
    const InterfaceConfig* from = nullptr;
    for (InterfaceId i = 0; i < stack_.interface_count(); ++i) {
      const InterfaceConfig& c = stack_.interface(i);
      if (i != iface && c.link != iface) continue;
      const auto vid = [](const std::optional<VlanRepr>& t) {
        return t ? std::optional<std::uint16_t>(t->vid) : std::nullopt;
      };
      if (vid(tags->service) != c.service_vlan || vid(tags->customer) != c.vlan) continue;
      FUZZ_CHECK(from == nullptr);
      from = &c;
    }
    FUZZ_CHECK(from != nullptr);
    for (const auto& t : {tags->service, tags->customer})
      if (t) FUZZ_CHECK(t->pcp == from->pcp && !t->dei);
    FUZZ_CHECK(frame.size() <= tags->payload_offset + from->mtu ||
               frame.size() == EthernetView::min_frame_len);
    FUZZ_CHECK(eth.src() == from->mac);
    const Bytes payload = frame.subspan(tags->payload_offset);
    const EtherType type = tags->ethertype;
    if (type == EtherType::Arp) {
      const ArpView arp(payload);
      FUZZ_CHECK(arp.check());
      auto repr = ArpRepr::parse(arp);
      FUZZ_CHECK(repr);
      FUZZ_CHECK(repr->source_hardware_addr == from->mac);
      FUZZ_CHECK(repr->source_protocol_addr == from->address.address());
      FUZZ_CHECK(repr->operation == ArpOperation::Request ||
                 repr->operation == ArpOperation::Reply);
    } else {
      FUZZ_CHECK(type == EtherType::Ipv4);
      // Short datagrams are padded to the minimum frame; nothing else follows a datagram.
      check_ipv4(payload, from->mtu, frame.size() > EthernetView::min_frame_len);
    }
  }

 private:
  void check_ipv4(Bytes packet, std::size_t mtu, bool exact) const {
    const Ipv4View view(packet);
    FUZZ_CHECK(view.check());
    FUZZ_CHECK(view.total_len() <= mtu);
    if (exact) FUZZ_CHECK(view.total_len() == packet.size());
    if (stack_.config().forwarding && inputs_.forwarded(packet.first(view.total_len()))) return;
    // Our own datagrams: the header checksum verifies, the source is one of ours.
    auto ip = Ipv4Repr::parse(view, ChecksumPolicy::all());
    FUZZ_CHECK(ip);
    FUZZ_CHECK(ip->ttl != 0);
    bool ours = false;
    for (InterfaceId i = 0; i < stack_.interface_count(); ++i)
      ours = ours || stack_.interface(i).address.address() == ip->src;
    FUZZ_CHECK(ours);
    if (ip->more_frags) FUZZ_CHECK(ip->payload_len % 8 == 0);
    if (ip->more_frags || ip->frag_offset != 0) return;  // its transport checksum spans fragments
    if (ip->protocol == IpProtocol::Udp) {
      auto udp = UdpRepr::parse(UdpView(view.payload()), ip->src, ip->dst, ChecksumPolicy::all());
      FUZZ_CHECK(udp);
      FUZZ_CHECK(udp->buffer_len() == view.payload().size());
    } else if (ip->protocol == IpProtocol::Icmp) {
      FUZZ_CHECK(Icmpv4Repr::parse(Icmpv4View(view.payload()), ChecksumPolicy::all()));
      // RFC 1122 §3.2.2 / RFC 1812 §4.3.2.3: an ICMP error within 576 bytes.
      const auto type = static_cast<Icmpv4Type>(load_u8(view.payload(), 0));
      if (type == Icmpv4Type::DstUnreachable || type == Icmpv4Type::TimeExceeded)
        FUZZ_CHECK(view.total_len() <= 576);
    } else if (ip->protocol == IpProtocol::Tcp) {
      // RFC 9293 §3.10.7.1: with no connections, the only TCP the stack sends is a reset.
      auto tcp = wire::TcpRepr::parse(wire::TcpView(view.payload()), ip->src, ip->dst,
                                      ChecksumPolicy::all());
      FUZZ_CHECK(tcp);
      FUZZ_CHECK(tcp->rst && !tcp->syn && !tcp->fin && tcp->payload_len == 0);
    } else {
      FUZZ_CHECK(false);  // the stack originates nothing else
    }
  }

  const Stack& stack_;
  const InputRecorder& inputs_;
};

std::uint64_t counter(const Stack& s, std::string_view name) {
  std::optional<std::uint64_t> value;
  s.for_each_counter([&](std::string_view n, const Counter& c) {
    if (n == name) value = c.value();
  });
  FUZZ_CHECK(value);
  return *value;
}

void check_state(const Stack& s, std::uint64_t frames_in_ethernet) {
  FUZZ_CHECK(s.neighbors().pending() <= s.config().arp_pending_frames);
  FUZZ_CHECK(s.reassembler().bytes_held() <= s.reassembler().config().max_bytes);
  FUZZ_CHECK(s.reassembler().in_use() <= s.reassembler().config().slots);
  const auto c = [&](std::string_view name) { return counter(s, name); };
  // Every frame in is accounted for at each layer by exactly one outcome.
  FUZZ_CHECK(c("eth.rx_frames") == frames_in_ethernet);
  const std::uint64_t eth_out =
      c("eth.rx_truncated") + c("eth.rx_not_for_us") + c("eth.rx_own_source") +
      c("eth.rx_unknown_ethertype") + c("eth.rx_unknown_vlan") + c("eth.rx_untagged") +
      c("eth.rx_service_tagged") + c("eth.rx_bad_vlan") + c("arp.rx_malformed") +
      c("arp.rx_unsupported") + c("arp.rx_requests") + c("arp.rx_replies");
  FUZZ_CHECK(eth_out <= c("eth.rx_frames"));
  const std::uint64_t ip_drops =
      c("ipv4.rx_truncated") + c("ipv4.rx_bad_version") + c("ipv4.rx_bad_header_len") +
      c("ipv4.rx_bad_length") + c("ipv4.rx_bad_checksum") + c("ipv4.rx_bad_source") +
      c("ipv4.rx_not_for_us") + c("ipv4.rx_forwarded") + c("ipv4.rx_ttl_expired") +
      c("ipv4.rx_no_route") + c("ipv4.rx_frag_needed") + c("ipv4.rx_martian");
  FUZZ_CHECK(c("ipv4.rx_packets") + c("ipv4.reasm_ok") == ip_drops + c("ipv4.reasm_fragments") +
                                                              c("ipv4.rx_delivered") +
                                                              c("ipv4.rx_unknown_protocol"));
  FUZZ_CHECK(c("icmp.tx_echo_replies") <= c("icmp.rx_echo_requests"));
  FUZZ_CHECK(c("udp.rx_datagrams") <= c("ipv4.rx_delivered"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input = as_bytes(data, size);
  if (input.empty()) return 0;
  const std::uint8_t flags = load_u8(input, 0);
  const bool tun = (flags & 0x01U) != 0;

  auto created = Stack::create(fuzz_config((flags & 0x02U) != 0));
  FUZZ_CHECK(created);
  Stack& stack = **created;
  InterfaceConfig eth;
  eth.medium = Medium::Ethernet;
  eth.mac = kMac;
  eth.mtu = kMtu;
  eth.address = *Ipv4Cidr::parse("10.0.0.2/24");
  if ((flags & 0x04U) != 0) {
    eth.vlan = 10;
    eth.pcp = 3;
  }
  const InterfaceId eth0 = *stack.add_interface(eth);
  const auto add_child = [&](std::string_view cidr, MacAddress mac, auto&& edit) {
    InterfaceConfig c;
    c.mac = mac;
    c.mtu = kMtu;
    c.address = *Ipv4Cidr::parse(cidr);
    c.link = eth0;
    edit(c);
    FUZZ_CHECK(stack.add_interface(c));
  };
  if ((flags & 0x08U) != 0)
    add_child("10.0.20.2/24", MacAddress({0x0a, 0x00, 0x00, 0x00, 0x00, 0x20}),
              [](InterfaceConfig& c) {
                c.vlan = 20;
                c.pcp = 1;
              });
  if ((flags & 0x10U) != 0)
    add_child("10.0.100.2/24", MacAddress{}, [](InterfaceConfig& c) {
      c.service_vlan = 100;
      c.vlan = 10;
      c.mtu = 1400;
    });
  if ((flags & 0x24U) == 0x24U) add_child("10.0.5.2/24", MacAddress{}, [](InterfaceConfig&) {});
  std::optional<InterfaceId> tun0;
  if (tun) {
    InterfaceConfig ip;
    ip.medium = Medium::Ip;
    ip.mtu = 1280;
    ip.address = *Ipv4Cidr::parse("10.0.1.1/24");
    tun0 = *stack.add_interface(ip);
  }
  FUZZ_CHECK(stack.set_default_gateway(Ipv4Address(10, 0, 0, 1)));

  InputRecorder inputs;
  stack.set_tracer(&inputs);
  CheckingSink sink(stack, inputs);
  Instant now = instant_from_micros(1'000'000);

  auto udp = std::move(*stack.udp_socket());
  FUZZ_CHECK(udp.bind({Ipv4Address::any(), 7}));
  auto icmp = std::move(*stack.icmp_socket());
  {
    std::vector<std::byte> echo(8 + 16, std::byte{0x5a});
    store_u8(echo, 0, 8);
    store_u8(echo, 1, 0);
    FUZZ_CHECK(icmp.send_to(echo, Ipv4Address(10, 0, 0, 1)));
  }
  std::vector<std::byte> buf(65536);
  const auto serve = [&] {
    for (int i = 0; i < 64; ++i) {
      auto got = udp.recv_from(buf);
      if (!got) {
        if (got.error() == std::errc::operation_would_block) break;
        continue;  // an error reported once
      }
      (void)udp.send_to(Bytes(buf).first(got->len), got->remote);
    }
    for (int i = 0; i < 64; ++i) {
      auto got = icmp.recv_from(buf);
      if (!got && got.error() == std::errc::operation_would_block) break;
    }
  };

  std::uint64_t frames_in_ethernet = 0;
  std::size_t at = 1;
  while (input.size() - at >= 4) {
    const std::uint16_t delay = load_be16(input, at);
    const std::size_t len = std::min<std::size_t>(load_be16(input, at + 2), input.size() - at - 4);
    const Bytes frame = input.subspan(at + 4, len);
    at += 4 + len;
    now += std::chrono::milliseconds(delay & 0x7fffU);
    const bool to_tun = (delay & 0x8000U) != 0 && tun0;
    if (!to_tun) ++frames_in_ethernet;
    stack.receive(to_tun ? *tun0 : eth0, frame, now, sink);
    serve();
    stack.poll(now, sink);
    check_state(stack, frames_in_ethernet);
  }
  for (int i = 0; i < 4; ++i) {
    const Instant next = stack.next_deadline();
    if (next == kNever) break;
    if (next > now) now = next;
    stack.poll(now, sink);
    serve();
    check_state(stack, frames_in_ethernet);
  }
  return 0;
}
