// Stack, IPv4: header checks on input (each drop counted once), padding, source and
// destination rules, fragmentation on output, reassembly on input (against Linux's own
// fragmented ping reply) and its timeout, routing (longest prefix, gateways, no route), and
// forwarding (off by default; TTL, time exceeded, fragmentation needed, no route).
#include <gtest/gtest.h>

#include "stack/base/checksum.hpp"
#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::IpProtocol;
using wire::Ipv4ViewMut;

const Capture& capture(std::string_view name) {
  static std::map<std::string, Capture, std::less<>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(std::string(name), load_capture(name)).first;
  return it->second;
}

std::vector<std::byte> ping_packet(Ipv4Address dst = kIp, std::size_t data_len = 16) {
  return ipv4_packet(ip_header(kPeerIp, dst, IpProtocol::Icmp),
                     echo_request(0x4242, 7, counting(0, data_len)));
}

// ---- Input checks ------------------------------------------------------------------------------

struct Mangled {
  const char* what;
  std::vector<std::byte> packet;
  const char* counter;
};

std::vector<Mangled> mangled_pings() {
  std::vector<Mangled> out;
  const auto good = ping_packet();
  auto p = good;
  p[10] ^= std::byte{0x01};
  out.push_back({"bad checksum", p, "ipv4.rx_bad_checksum"});
  p = good;
  p[0] = std::byte{0x65};  // version 6, IHL 5
  Ipv4ViewMut(p).fill_checksum();
  out.push_back({"version 6", p, "ipv4.rx_bad_version"});
  p = good;
  p[0] = std::byte{0x44};  // IHL 4
  out.push_back({"header length 16", p, "ipv4.rx_bad_header_len"});
  p = good;
  Ipv4ViewMut(p).set_total_len(19);
  Ipv4ViewMut(p).fill_checksum();
  out.push_back({"total length below the header", p, "ipv4.rx_bad_length"});
  p = good;
  Ipv4ViewMut(p).set_total_len(static_cast<std::uint16_t>(good.size() + 1));
  Ipv4ViewMut(p).fill_checksum();
  out.push_back({"total length past the frame", p, "ipv4.rx_truncated"});
  p = good;
  p.resize(19);
  out.push_back({"shorter than a header", p, "ipv4.rx_truncated"});
  p = good;
  p[0] = std::byte{0x4f};  // IHL 15: 60 bytes, more than the 44-byte packet
  out.push_back({"header past the frame", p, "ipv4.rx_truncated"});
  return out;
}

TEST(StackIpv4, ABadHeaderIsDroppedSilentlyAndCountedOnce) {
  for (const auto& m : mangled_pings()) {
    SCOPED_TRACE(m.what);
    Host h;
    h.learn(kPeerIp, kPeerMac);
    // The good ping is answered at once, so silence below means the drop.
    h.receive(to_us(ping_packet()));
    ASSERT_EQ(h.take().size(), 1U);
    auto expected = nonzero_counters(*h.stack);
    // RFC 1122 §3.2.1.1-2: a wrong version or a bad checksum is silently discarded; so is a
    // header whose lengths disagree with the frame (RFC 791 §3.1).
    h.receive(to_us(m.packet));
    EXPECT_TRUE(h.take().empty());
    expected["eth.rx_frames"] += 1;
    expected["ipv4.rx_packets"] += 1;
    expected[m.counter] += 1;
    EXPECT_EQ(nonzero_counters(*h.stack), expected);
  }
}

TEST(StackIpv4, EthernetPaddingIsTrimmed) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  // An echo request without data is a 28-byte datagram: the frame is padded to 60 with junk.
  auto frame =
      to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp), echo_request(9, 1, {})));
  ASSERT_EQ(frame.size(), 42U);
  frame.resize(60, std::byte{0xaa});
  h.receive(frame);
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ip.payload_len, 8U);
  const auto icmp = parse_icmp(*p);  // the checksum would not verify over the padding
  ASSERT_TRUE(icmp);
  EXPECT_EQ(*icmp, (wire::Icmpv4Repr{wire::Icmpv4Repr::EchoReply{9, 1, {}}}));
  // Our own padding is zeros (RFC 894).
  for (std::size_t i = 14 + 28; i < 60; ++i)
    EXPECT_EQ(sent[0].bytes[i], std::byte{0}) << i;
}

TEST(StackIpv4, ABroadcastOrMulticastSourceIsDropped) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = h.udp(7);
  for (Ipv4Address src : {Ipv4Address::broadcast(), kSubnetBroadcast, Ipv4Address(224, 0, 0, 5)}) {
    // RFC 1122 §3.2.1.3: a datagram whose source is a broadcast, multicast or loopback address
    // is dropped.
    h.receive(to_us(ipv4_packet(ip_header(src, kIp, IpProtocol::Udp),
                                udp_datagram(src, kIp, 7, 7, bytes_of("spoof")))));
  }
  EXPECT_TRUE(h.take().empty());
  EXPECT_FALSE(sock.readable());
  EXPECT_EQ(h.count("ipv4.rx_bad_source"), 3U);
  EXPECT_EQ(h.count("udp.rx_datagrams"), 0U);
}

TEST(StackIpv4, ALoopbackSourceFromTheWireIsDropped) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  ASSERT_TRUE(h.stack->set_default_gateway(kPeerIp));
  // RFC 1122 §3.2.1.3: a datagram whose source is a broadcast, multicast or loopback address
  // is dropped ({127, <any>} "MUST NOT appear outside a host"). Before the fix in receive_ipv4
  // the echo reply went to the gateway, addressed to 127.0.0.1.
  h.receive(to_us(ipv4_packet(ip_header(Ipv4Address(127, 0, 0, 1), kIp, IpProtocol::Icmp),
                              echo_request(1, 1, bytes_of("lo")))));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("ipv4.rx_bad_source"), 1U);
  EXPECT_EQ(h.count("icmp.rx_echo_requests"), 0U);
}

TEST(StackIpv4, ADatagramForAnotherHostIsDroppedWithoutForwarding) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = h.udp(7);
  for (Ipv4Address dst : {Ipv4Address(10, 0, 0, 3), Ipv4Address(192, 0, 2, 1)})
    h.receive(to_us(udp_packet(kPeerIp, dst, 7, 7, bytes_of("elsewhere"))));
  EXPECT_TRUE(h.take().empty());
  EXPECT_FALSE(sock.readable());
  EXPECT_EQ(h.count("ipv4.rx_not_for_us"), 2U);
  EXPECT_EQ(h.count("ipv4.rx_forwarded"), 0U);
}

// ---- Fragmentation on output -------------------------------------------------------------------

TEST(StackIpv4, ALargeDatagramLeavesInFragmentsOfTheMtu) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = h.udp(5000);
  const auto data = counting(3, 4000);
  ASSERT_EQ(*sock.send_to(data, {kPeerIp, 9}), 4000U);
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 3U);
  std::vector<ParsedIpv4> frags;
  for (const auto& f : sent) {
    auto p = parse_ipv4(f);  // each header checksum verifies
    ASSERT_TRUE(p);
    frags.push_back(std::move(*p));
  }
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 payload bytes; each
  // copies the header (no options are sent) with its offset and more-fragments flag.
  const std::size_t lens[] = {1480, 1480, 1048};
  const std::uint16_t offsets[] = {0, 1480, 2960};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(frags[i].ip.payload_len, lens[i]);
    EXPECT_EQ(frags[i].ip.frag_offset, offsets[i]);
    EXPECT_EQ(frags[i].ip.more_frags, i < 2);
    EXPECT_FALSE(frags[i].ip.dont_frag);
    EXPECT_EQ(frags[i].ip.ident, frags[0].ip.ident);
    EXPECT_EQ(frags[i].ip.src, kIp);
    EXPECT_EQ(frags[i].ip.dst, kPeerIp);
    EXPECT_EQ(frags[i].ip.protocol, IpProtocol::Udp);
    // On the wire the offset is in 8-byte units: 0, 185, 370.
    EXPECT_EQ(load_be16(frags[i].header, 6) & 0x1fffU, offsets[i] / 8U);
  }
  EXPECT_EQ(sent[0].bytes.size(), 1514U);
  const auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 4008U);
  const wire::UdpView udp(*whole);
  ASSERT_TRUE(udp.check());
  EXPECT_TRUE(udp.verify_checksum(kIp, kPeerIp));
  EXPECT_EQ(udp.len(), 4008U);
  EXPECT_EQ(vec(udp.payload()), data);
  EXPECT_EQ(h.count("ipv4.tx_packets"), 1U);
  EXPECT_EQ(h.count("ipv4.tx_fragments"), 3U);
  EXPECT_EQ(h.count("udp.tx_datagrams"), 1U);
}

TEST(StackIpv4, DontFragmentRefusesWhatTheMtuCannotCarry) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = h.udp(5000);
  ASSERT_TRUE(sock.set_dont_fragment(true));
  // With don't-fragment, a datagram over the MTU is refused here (Linux: EMSGSIZE).
  EXPECT_EQ(sock.send_to(counting(0, 1473), {kPeerIp, 9}).error(), std::errc::message_size);
  ASSERT_TRUE(sock.send_to(counting(0, 1472), {kPeerIp, 9}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->ip.dont_frag);
  EXPECT_EQ(p->ip.buffer_len(), 1500U);
  EXPECT_FALSE(p->ip.more_frags);
}

// ---- Reassembly --------------------------------------------------------------------------------

TEST(StackIpv4, AFragmentedPingIsReassembledAndAnsweredInFragmentsAsLinuxDoes) {
  // ping_frag.pcap: Linux's 4028-byte echo request in three fragments (frames 1-3) and Linux's
  // reply, fragmented the same way (frames 4-6). In order and in reverse.
  const auto& c = capture("ping_frag.pcap");
  ASSERT_EQ(c.frames.size(), 6U);
  for (const std::vector<std::size_t>& order :
       {std::vector<std::size_t>{1, 2, 3}, std::vector<std::size_t>{3, 2, 1}}) {
    SCOPED_TRACE(order[0]);
    Host h;
    h.receive(captured(capture("arp.pcap"), 1));  // A asks for us: now we know A
    h.take();
    for (std::size_t i = 0; i + 1 < order.size(); ++i) {
      h.receive(captured(c, order[i]));
      EXPECT_TRUE(h.take().empty());
    }
    // RFC 791 §3.2, RFC 815: fragments wait in the reassembler until the datagram is whole.
    h.receive(captured(c, order.back()));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 3U);
    for (std::size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(i);
      // Byte for byte Linux's reply but for the IP identification (and so the checksum).
      EXPECT_EQ(to_hex(without_ident(sent[i].bytes)), to_hex(without_ident(captured(c, 4 + i))));
      const auto p = parse_ipv4(sent[i]);
      ASSERT_TRUE(p);
    }
    EXPECT_EQ(h.count("ipv4.reasm_ok"), 1U);
    EXPECT_EQ(h.count("icmp.tx_echo_replies"), 1U);
    EXPECT_EQ(h.count("ipv4.tx_fragments"), 3U);
  }
}

TEST(StackIpv4, AnIncompleteDatagramTimesOutWithTimeExceededWhenFragmentZeroCame) {
  const auto& c = capture("ping_frag.pcap");
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(captured(c, 1));
  h.receive(captured(c, 3));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.stack->next_deadline(), kT0 + 30s);
  h.now = kT0 + 30s - 1us;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  h.now = kT0 + 30s;
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ip.src, kIp);
  EXPECT_EQ(p->ip.dst, kPeerIp);
  // RFC 1122 §3.2.2 / RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as keeps
  // the whole error within 576 bytes (as Linux does).
  EXPECT_EQ(p->ip.buffer_len(), 576U);
  const auto icmp = parse_icmp(*p);
  ASSERT_TRUE(icmp);
  const auto* te = std::get_if<wire::Icmpv4Repr::TimeExceeded>(&icmp->message);
  ASSERT_NE(te, nullptr);
  // RFC 792, RFC 1122 §3.3.2: fragment zero is here, so tell the sender reassembly timed out.
  EXPECT_EQ(te->code, wire::Icmpv4TimeExceeded::ReassemblyTimeExceeded);
  // The quote is fragment zero's header as received and the start of its payload.
  const auto first = captured(c, 1);
  const Bytes first_ip = Bytes(first).subspan(14);
  EXPECT_EQ(to_hex(p->payload.subspan(8)), to_hex(first_ip.first(548)));
  EXPECT_EQ(h.count("ipv4.reasm_timeout"), 1U);
  // Once only.
  h.now = kT0 + 40s;
  h.poll();
  for (const auto& f : h.take())
    EXPECT_EQ(wire::EthernetView(f.bytes).ethertype(), wire::EtherType::Arp);
  EXPECT_EQ(h.count("icmp.tx_errors"), 1U);
}

TEST(StackIpv4, NoTimeExceededWithoutFragmentZero) {
  const auto& c = capture("ping_frag.pcap");
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(captured(c, 2));
  h.now = kT0 + 31s;
  h.poll();
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("ipv4.reasm_timeout"), 1U);
  EXPECT_EQ(h.count("icmp.tx_errors"), 0U);
}

// ---- Routing -----------------------------------------------------------------------------------

// The ARP request the first datagram to `dst` causes: whom the stack resolves as next hop.
std::optional<Ipv4Address> next_hop_for(Host& h, Ipv4Address dst) {
  auto sock = h.udp(0);
  auto r = sock.send_to(bytes_of("route"), {dst, 9});
  EXPECT_TRUE(r) << r.error().message();
  h.poll();
  const auto sent = h.take();
  if (sent.size() != 1U) {
    ADD_FAILURE() << sent.size() << " frames";
    return std::nullopt;
  }
  const auto arp = parse_arp(sent[0]);
  if (!arp) return std::nullopt;
  return arp->arp.target_protocol_addr;
}

TEST(StackIpv4, TheLongestPrefixPicksTheNextHop) {
  Host h;
  ASSERT_TRUE(h.stack->add_route(*Ipv4Cidr::parse("10.1.0.0/16"), Ipv4Address(10, 0, 0, 254)));
  ASSERT_TRUE(h.stack->add_route(*Ipv4Cidr::parse("10.1.2.0/24"), Ipv4Address(10, 0, 0, 253)));
  ASSERT_TRUE(h.stack->set_default_gateway(Ipv4Address(10, 0, 0, 252)));
  // RFC 1812 §5.2.4.3: the longest matching prefix wins.
  EXPECT_EQ(next_hop_for(h, Ipv4Address(10, 1, 2, 3)), Ipv4Address(10, 0, 0, 253));
  EXPECT_EQ(next_hop_for(h, Ipv4Address(10, 1, 7, 7)), Ipv4Address(10, 0, 0, 254));
  EXPECT_EQ(next_hop_for(h, Ipv4Address(192, 0, 2, 1)), Ipv4Address(10, 0, 0, 252));
  // On the link: the destination itself, even with a default route.
  EXPECT_EQ(next_hop_for(h, Ipv4Address(10, 0, 0, 77)), Ipv4Address(10, 0, 0, 77));
}

TEST(StackIpv4, OffLinkTrafficGoesToTheGatewaysMac) {
  Host h;
  const Ipv4Address gw(10, 0, 0, 254);
  const MacAddress gw_mac({0x0a, 0, 0, 0, 0, 0xfe});
  ASSERT_TRUE(h.stack->set_default_gateway(gw));
  auto sock = h.udp(5000);
  ASSERT_TRUE(sock.send_to(bytes_of("far"), {Ipv4Address(192, 0, 2, 7), 53}));
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_TRUE(is_arp_request_for(sent[0], gw));
  h.receive(arp_reply(gw_mac, gw));
  sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, gw_mac);
  EXPECT_EQ(p->ip.dst, Ipv4Address(192, 0, 2, 7));
  EXPECT_EQ(p->ip.src, kIp);
  EXPECT_TRUE(parse_udp(*p));
}

TEST(StackIpv4, NoRouteIsNetworkUnreachable) {
  Host h;
  auto sock = h.udp(5000);
  // Picks the route and fills in the source address; network_unreachable if there is none.
  EXPECT_EQ(sock.send_to(bytes_of("x"), {Ipv4Address(192, 0, 2, 7), 53}).error(),
            std::errc::network_unreachable);
  EXPECT_EQ(sock.connect({Ipv4Address(192, 0, 2, 7), 53}).error(), std::errc::network_unreachable);
  h.poll();
  EXPECT_TRUE(h.take().empty());
  // A gateway must be on a connected prefix.
  EXPECT_EQ(h.stack->set_default_gateway(Ipv4Address(192, 0, 2, 1)).error(),
            std::errc::network_unreachable);
  // A direct route needs an existing interface.
  EXPECT_EQ(h.stack->add_route(*Ipv4Cidr::parse("10.9.0.0/16"), std::nullopt, 3).error(),
            std::errc::invalid_argument);
}

TEST(StackIpv4, ADirectRouteResolvesTheDestinationOnItsInterface) {
  Host h;
  ASSERT_TRUE(h.stack->add_route(*Ipv4Cidr::parse("172.16.0.0/12"), std::nullopt, h.eth));
  EXPECT_EQ(next_hop_for(h, Ipv4Address(172, 16, 5, 5)), Ipv4Address(172, 16, 5, 5));
}

TEST(StackIpv4, APointToPointSubnetHasNoBroadcastAddress) {
  // RFC 3021 §2.1: a /31 has no directed broadcast; both addresses are hosts. Before the fix in
  // Stack::link_output, 10.0.0.1 (the /31's broadcast() by arithmetic) was sent to
  // ff:ff:ff:ff:ff:ff without ARP.
  Host h(quiet_config(), ethernet_interface(kMac, "10.0.0.0/31"));
  EXPECT_EQ(next_hop_for(h, Ipv4Address(10, 0, 0, 1)), Ipv4Address(10, 0, 0, 1));
  // And the peer's datagrams are taken as unicast from a host.
  auto sock = h.udp(7);
  h.receive(
      to_us(udp_packet(Ipv4Address(10, 0, 0, 1), Ipv4Address(10, 0, 0, 0), 9, 7, bytes_of("p2p"))));
  EXPECT_TRUE(sock.readable());
  EXPECT_EQ(h.count("ipv4.rx_bad_source"), 0U);
}

TEST(StackIpv4, TheRouteTableIsBounded) {
  StackConfig c = quiet_config();
  c.max_routes = 2;
  Host h(c);
  ASSERT_TRUE(h.stack->add_route(*Ipv4Cidr::parse("10.1.0.0/16"), Ipv4Address(10, 0, 0, 254)));
  EXPECT_EQ(h.stack->set_default_gateway(Ipv4Address(10, 0, 0, 254)).error(),
            std::errc::no_buffer_space);
}

// ---- Forwarding --------------------------------------------------------------------------------

// The router of icmp_errors.pcap: 10.0.0.254 towards host A, 10.0.1.254 towards host C over a
// link of MTU 1000; both hosts' MACs known.
constexpr MacAddress kRouterMac0({0x0a, 0, 0, 0, 0, 0xfe});
constexpr MacAddress kRouterMac1({0x0a, 0, 0, 0, 0x01, 0xfe});
constexpr MacAddress kHostCMac({0x0a, 0, 0, 0, 0x01, 0x02});
constexpr Ipv4Address kHostC(10, 0, 1, 2);

struct Router : Host {
  explicit Router(bool forwarding = true)
      : Host(config(forwarding), ethernet_interface(kRouterMac0, "10.0.0.254/24")) {
    eth1 = *stack->add_interface(ethernet_interface(kRouterMac1, "10.0.1.254/24", 1000));
    learn(kPeerIp, kPeerMac, eth);
    learn(kHostC, kHostCMac, eth1);
  }
  static StackConfig config(bool forwarding) {
    StackConfig c = quiet_config();
    c.forwarding = forwarding;
    return c;
  }
  InterfaceId eth1 = 0;
};

// The ICMP message of a frame: everything after its IPv4 header.
std::vector<std::byte> icmp_bytes(Bytes frame) {
  const wire::Ipv4View ip(frame.subspan(14));
  return vec(ip.payload());
}

TEST(StackIpv4, ForwardingIsOffByDefault) {
  Router r(false);
  r.receive(captured(capture("icmp_errors.pcap"), 1));
  EXPECT_TRUE(r.take().empty());
  EXPECT_EQ(r.count("ipv4.rx_not_for_us"), 1U);
  EXPECT_EQ(r.count("ipv4.rx_forwarded"), 0U);
}

TEST(StackIpv4, AForwardedDatagramLosesOneTtlAndKeepsAValidChecksum) {
  Router r;
  // icmp_errors.pcap frame 1: UDP 10.0.0.1:40000 -> 10.0.1.2:9 "closed\n", TTL 64.
  const auto in = captured(capture("icmp_errors.pcap"), 1);
  r.receive(in);
  const auto sent = r.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].iface, r.eth1);
  const auto p = parse_ipv4(sent[0]);  // the checksum, updated incrementally, verifies
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kHostCMac);
  EXPECT_EQ(p->eth.src, kRouterMac1);
  EXPECT_EQ(p->ip.ttl, 63);
  // The datagram as it came, TTL one less, checksum updated incrementally (RFC 1624).
  auto expected = vec(Bytes(in).subspan(14));
  Ipv4ViewMut(expected).set_ttl(63);
  Ipv4ViewMut(expected).fill_checksum();
  EXPECT_EQ(to_hex(Bytes(sent[0].bytes).subspan(14, expected.size())), to_hex(expected));
  EXPECT_EQ(r.count("ipv4.rx_forwarded"), 1U);
}

TEST(StackIpv4, TtlOneIsAnsweredWithTimeExceededAsLinuxDoes) {
  Router r;
  const auto& c = capture("icmp_errors.pcap");
  // Frame 3: an echo request with TTL 1; frame 4: the Linux router's time exceeded.
  r.receive(captured(c, 3));
  const auto sent = r.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].iface, r.eth);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kPeerMac);
  // The error comes from the address the offender was sent to when that is ours (RFC 1812
  // §4.3.2.4), else from the outgoing interface.
  EXPECT_EQ(p->ip.src, Ipv4Address(10, 0, 0, 254));
  EXPECT_EQ(p->ip.dst, kPeerIp);
  EXPECT_EQ(p->ip.ttl, 64);
  // RFC 1812 §5.3.1: a datagram whose TTL would reach zero is dropped with time exceeded.
  // The ICMP message is Linux's byte for byte (Linux's outer header differs: TOS 0xc0).
  EXPECT_EQ(to_hex(icmp_bytes(sent[0].bytes)), to_hex(icmp_bytes(captured(c, 4))));
  EXPECT_EQ(r.count("ipv4.rx_ttl_expired"), 1U);
  EXPECT_EQ(r.count("icmp.tx_errors"), 1U);
}

TEST(StackIpv4, TooBigWithDontFragmentIsFragmentationNeededAsLinuxDoes) {
  Router r;
  const auto& c = capture("icmp_errors.pcap");
  // Frame 5: a 1428-byte echo request with DF towards the MTU-1000 link; frame 6: Linux's
  // fragmentation needed, next-hop MTU 1000, quoting 548 bytes.
  r.receive(captured(c, 5));
  const auto sent = r.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].iface, r.eth);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ip.buffer_len(), 576U);
  // RFC 1191 §4 (RFC 1812 §5.2.6): too big with DF is refused with fragmentation needed and
  // the next-hop MTU.
  EXPECT_EQ(to_hex(icmp_bytes(sent[0].bytes)), to_hex(icmp_bytes(captured(c, 6))));
  EXPECT_EQ(r.count("ipv4.rx_frag_needed"), 1U);
}

// RFC 791 §3.2, RFC 1812 §5.2.6: a router cuts a datagram without DF that is too big for the
// next hop into fragments (RFC 1191 §4: fragmentation needed is for DF only); a fragment is cut
// again, its pieces keeping their place in the original datagram.
TEST(StackIpv4, TooBigWithoutDontFragmentIsFragmented) {
  Router r;
  const auto l4 = udp_datagram(kPeerIp, kHostC, 40000, 9, counting(0, 1400));
  auto header = ip_header(kPeerIp, kHostC, IpProtocol::Udp);
  r.receive(to_us(ipv4_packet(header, l4), kRouterMac0));
  auto sent = r.take();
  ASSERT_EQ(sent.size(), 2U);
  std::vector<std::byte> joined;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].iface, r.eth1);
    const auto p = parse_ipv4(sent[i]);
    ASSERT_TRUE(p);
    EXPECT_LE(p->ip.buffer_len(), 1000U);
    EXPECT_EQ(p->ip.ttl, 63);
    EXPECT_EQ(p->ip.ident, header.ident);
    EXPECT_EQ(p->ip.frag_offset, joined.size());
    EXPECT_EQ(p->ip.more_frags, i == 0);
    joined.insert(joined.end(), p->payload.begin(), p->payload.end());
  }
  EXPECT_EQ(joined, l4);
  // The second half of a datagram, itself a fragment at offset 1480 with more to come.
  header.frag_offset = 1480;
  header.more_frags = true;
  r.receive(to_us(ipv4_packet(header, counting(0, 1200)), kRouterMac0));
  sent = r.take();
  ASSERT_EQ(sent.size(), 2U);
  const auto first = parse_ipv4(sent[0]);
  const auto second = parse_ipv4(sent[1]);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->ip.frag_offset, 1480U);
  EXPECT_TRUE(first->ip.more_frags);
  EXPECT_EQ(second->ip.frag_offset, 1480U + first->payload.size());
  EXPECT_TRUE(second->ip.more_frags);  // more of the original datagram follows
  EXPECT_EQ(r.count("icmp.tx_errors"), 0U);
  EXPECT_EQ(r.count("ipv4.rx_forwarded"), 2U);
}

TEST(StackIpv4, MartiansAreNeverForwarded) {
  Router r;
  // RFC 1812 §5.3.7: not from an unspecified source, not to a loopback or unspecified address.
  r.receive(to_us(ping_packet(Ipv4Address(127, 0, 0, 1)), kRouterMac0));
  r.receive(to_us(ping_packet(Ipv4Address::any()), kRouterMac0));
  r.receive(to_us(ipv4_packet(ip_header(Ipv4Address::any(), kHostC, IpProtocol::Udp),
                              udp_datagram(Ipv4Address::any(), kHostC, 68, 67, counting(0, 8))),
                  kRouterMac0));
  // RFC 2644: a directed broadcast is not forwarded onto its network by default.
  r.receive(to_us(ping_packet(Ipv4Address(10, 0, 1, 255)), kRouterMac0));
  EXPECT_TRUE(r.take().empty());
  EXPECT_EQ(r.count("ipv4.rx_martian"), 4U);
  EXPECT_EQ(r.count("ipv4.rx_forwarded"), 0U);
}

TEST(StackIpv4, NoRouteWhileForwardingIsNetUnreachable) {
  Router r;
  auto packet = ping_packet(Ipv4Address(192, 0, 2, 1));
  r.receive(to_us(packet, kRouterMac0));
  const auto sent = r.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  const auto icmp = parse_icmp(*p);
  ASSERT_TRUE(icmp);
  const auto* du = std::get_if<wire::Icmpv4Repr::DstUnreachable>(&icmp->message);
  ASSERT_NE(du, nullptr);
  // RFC 1812 §5.2.7.1: no route is network unreachable.
  EXPECT_EQ(du->code, wire::Icmpv4DstUnreachable::NetUnreachable);
  EXPECT_EQ(vec(du->data), vec(Bytes(packet).subspan(20)));
  EXPECT_EQ(r.count("ipv4.rx_no_route"), 1U);
}

TEST(StackIpv4, NoErrorAboutAnErrorOrALaterFragment) {
  Router r;
  // RFC 1122 §3.2.2: never about an ICMP error, a datagram to a broadcast or multicast address,
  // a fragment other than the first, or a datagram whose source is not one host.
  const auto quoted = ping_packet(kHostC);
  wire::Icmpv4Repr::TimeExceeded te{wire::Icmpv4TimeExceeded::TtlExceeded,
                                    *wire::Ipv4Repr::parse_quoted(wire::Ipv4View(quoted)),
                                    Bytes(quoted).subspan(20)};
  const auto error = icmp_message({te});
  r.receive(
      to_us(ipv4_packet(ip_header(kPeerIp, kHostC, IpProtocol::Icmp, 1), error), kRouterMac0));
  auto later = ip_header(kPeerIp, kHostC, IpProtocol::Udp, 1);
  later.frag_offset = 1480;
  r.receive(to_us(ipv4_packet(later, counting(0, 100)), kRouterMac0));
  EXPECT_TRUE(r.take().empty());
  EXPECT_EQ(r.count("ipv4.rx_ttl_expired"), 2U);
  EXPECT_EQ(r.count("icmp.tx_errors"), 0U);
}

}  // namespace
}  // namespace tapir::test
