// Stack, ICMP: echo replies (against Linux's), broadcast echo, the errors the stack sends (port
// and protocol unreachable, their quote, never for broadcast, the rate limit), the errors it
// receives (a connected UDP socket refused), and the IcmpSocket (send, replies, errors).
#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::Icmpv4DstUnreachable;
using wire::Icmpv4Repr;
using wire::IpProtocol;

const Capture& ping_capture() {
  static const Capture c = load_capture("ping.pcap");
  return c;
}

// The destination unreachable of a frame the stack sent, with its quote; fails otherwise.
struct Unreachable {
  ParsedIpv4 packet;
  Icmpv4Repr::DstUnreachable du;
};
std::optional<Unreachable> unreachable_of(const SentFrame& f) {
  auto p = parse_ipv4(f);
  if (!p) return std::nullopt;
  const auto icmp = parse_icmp(*p);
  if (!icmp) return std::nullopt;
  const auto* du = std::get_if<Icmpv4Repr::DstUnreachable>(&icmp->message);
  if (du == nullptr) {
    ADD_FAILURE() << "not a destination unreachable";
    return std::nullopt;
  }
  const Icmpv4Repr::DstUnreachable copy = *du;  // spans into p's frame, which moves intact
  return Unreachable{std::move(*p), copy};
}

// ---- Echo --------------------------------------------------------------------------------------

TEST(StackIcmp, EchoReplyOfEverySize) {
  for (std::size_t len : {0U, 56U, 1472U}) {
    SCOPED_TRACE(len);
    Host h;
    h.learn(kPeerIp, kPeerMac);
    const auto data = counting(0x10, len);
    auto request = ip_header(kPeerIp, kIp, IpProtocol::Icmp, 61, 0x5151);
    request.dont_frag = true;
    h.receive(to_us(ipv4_packet(request, echo_request(0x3a26, 9, data))));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1U);
    const auto p = parse_ipv4(sent[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->eth.dst, kPeerMac);
    EXPECT_EQ(p->eth.src, kMac);
    EXPECT_EQ(p->ip.src, kIp);
    EXPECT_EQ(p->ip.dst, kPeerIp);
    EXPECT_EQ(p->ip.protocol, IpProtocol::Icmp);
    EXPECT_EQ(p->ip.ttl, 64);
    EXPECT_FALSE(p->ip.dont_frag);  // as Linux's replies
    EXPECT_FALSE(p->ip.more_frags);
    EXPECT_EQ(p->ip.frag_offset, 0);
    EXPECT_EQ(p->ip.buffer_len(), 28 + len);  // 1472 fills the 1500-byte MTU exactly
    EXPECT_EQ(sent[0].bytes.size(), std::max<std::size_t>(60, 14 + 28 + len));
    const auto icmp = parse_icmp(*p);
    ASSERT_TRUE(icmp);
    // RFC 792: the reply swaps the addresses and returns the identifier, sequence number and
    // data of the request; RFC 1122 §3.2.2.6: of any size the host can reassemble.
    EXPECT_EQ(*icmp, (Icmpv4Repr{Icmpv4Repr::EchoReply{0x3a26, 9, data}}));
    EXPECT_EQ(h.count("icmp.rx_echo_requests"), 1U);
    EXPECT_EQ(h.count("icmp.tx_echo_replies"), 1U);
  }
}

TEST(StackIcmp, TheLargestEchoIsReassembledAndAnsweredInFragments) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  // RFC 1122 §3.2.2.6: of any size the host can reassemble. 65507 data bytes: a 65535-byte
  // datagram, 45 fragments each way.
  const auto data = counting(0, 65507);
  const auto request = echo_request(0x77, 3, data);
  for (const auto& f : fragments(ip_header(kPeerIp, kIp, IpProtocol::Icmp), request, 1500))
    h.receive(to_us(f));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 45U);
  std::vector<ParsedIpv4> frags;
  for (const auto& f : sent) {
    auto p = parse_ipv4(f);
    ASSERT_TRUE(p);
    frags.push_back(std::move(*p));
  }
  const auto whole = reassemble(frags);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 65515U);
  const auto reply = Icmpv4Repr::parse(wire::Icmpv4View(*whole), wire::ChecksumPolicy::all());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, (Icmpv4Repr{Icmpv4Repr::EchoReply{0x77, 3, data}}));
}

TEST(StackIcmp, EchoReplyIsLinuxsButForTheIdentification) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  // ping.pcap: two requests from Linux's ping (56 data bytes) and Linux's replies.
  for (std::size_t req : {1U, 3U}) {
    h.receive(captured(ping_capture(), req));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1U);
    EXPECT_EQ(to_hex(without_ident(sent[0].bytes)),
              to_hex(without_ident(captured(ping_capture(), req + 1))));
  }
}

// RFC 1122 §3.2.2.6: a Record Route option of an echo request goes back in the reply, updated
// with this host ("SHOULD be updated to include the current host and included in the IP header
// of the Echo Reply"), as Linux does in ping_record_route.pcap.
TEST(StackIcmp, EchoReplyCarriesTheRecordRouteAsLinuxDoes) {
  const auto capture = load_capture("ping_record_route.pcap");
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(captured(capture, 1));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(to_hex(without_ident(sent[0].bytes)), to_hex(without_ident(captured(capture, 2))));
}

TEST(StackIcmp, EchoToABroadcastOrMulticastAddressIsIgnored) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  for (Ipv4Address dst : {kSubnetBroadcast, Ipv4Address::broadcast(), Ipv4Address(224, 0, 0, 1)}) {
    const MacAddress mac =
        dst.is_multicast() ? MacAddress({0x01, 0x00, 0x5e, 0, 0, 1}) : MacAddress::broadcast();
    h.receive(to_us(
        ipv4_packet(ip_header(kPeerIp, dst, IpProtocol::Icmp), echo_request(1, 1, bytes_of("all"))),
        mac));
  }
  // RFC 1122 §3.2.2.6: an echo request to a broadcast or multicast address may be ignored;
  // Linux ignores them by default (icmp_echo_ignore_broadcasts).
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("icmp.rx_broadcast_echo"), 3U);
  EXPECT_EQ(h.count("icmp.tx_echo_replies"), 0U);
}

TEST(StackIcmp, ABadChecksumOrATruncatedMessageIsDropped) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto echo = echo_request(1, 1, bytes_of("sum"));
  echo[2] ^= std::byte{0xff};
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp), echo)));
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp),
                              Bytes(echo_request(1, 1, {})).first(7))));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("icmp.rx_bad_checksum"), 1U);
  EXPECT_EQ(h.count("icmp.rx_malformed"), 1U);
}

// ---- Errors sent -------------------------------------------------------------------------------

TEST(StackIcmp, AClosedPortIsPortUnreachableQuotingTheHeaderAndData) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto header = ip_header(kPeerIp, kIp, IpProtocol::Udp, 64, 0x7e05);
  header.dont_frag = true;
  const auto offender =
      ipv4_packet(header, udp_datagram(kPeerIp, kIp, 40000, 9, bytes_of("closed\n")));
  h.receive(to_us(offender));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = unreachable_of(sent[0]);
  ASSERT_TRUE(u);
  // The error comes from the address the offender was sent to when that is ours (RFC 1812
  // §4.3.2.4).
  EXPECT_EQ(u->packet.ip.src, kIp);
  EXPECT_EQ(u->packet.ip.dst, kPeerIp);
  EXPECT_EQ(u->packet.eth.dst, kPeerMac);
  // RFC 1122 §4.1.3.1: no socket on the port is an ICMP port unreachable.
  EXPECT_EQ(u->du.code, Icmpv4DstUnreachable::PortUnreachable);
  EXPECT_EQ(u->du.next_hop_mtu, 0);
  // RFC 1122 §3.2.2 / RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as keeps
  // the whole error within 576 bytes (as Linux does): here all of it, byte for byte (type 3,
  // code 3, checksum, 4 unused bytes, then the datagram).
  EXPECT_EQ(to_hex(u->packet.payload.subspan(8)), to_hex(offender));
  EXPECT_EQ(u->packet.ip.buffer_len(), 20U + 8U + offender.size());
  EXPECT_EQ(h.count("udp.rx_no_socket"), 1U);
  EXPECT_EQ(h.count("icmp.tx_errors"), 1U);
}

TEST(StackIcmp, TheQuoteStopsAt576BytesInAll) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  const auto offender = udp_packet(kPeerIp, kIp, 40000, 9, counting(0, 1000));
  h.receive(to_us(offender));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = unreachable_of(sent[0]);
  ASSERT_TRUE(u);
  // RFC 1122 §3.2.2 / RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as keeps
  // the whole error within 576 bytes (as Linux does).
  EXPECT_EQ(u->packet.ip.buffer_len(), 576U);
  EXPECT_EQ(to_hex(u->packet.payload.subspan(8)), to_hex(Bytes(offender).first(548)));
}

TEST(StackIcmp, NoPortUnreachableForBroadcastOrMulticast) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  for (Ipv4Address dst : {kSubnetBroadcast, Ipv4Address::broadcast(), Ipv4Address(224, 0, 0, 1)}) {
    const MacAddress mac =
        dst.is_multicast() ? MacAddress({0x01, 0x00, 0x5e, 0, 0, 1}) : MacAddress::broadcast();
    h.receive(to_us(udp_packet(kPeerIp, dst, 40000, 9, bytes_of("anyone?")), mac));
  }
  // RFC 1122 §4.1.3.1: ... (never for a broadcast or multicast datagram, which
  // send_icmp_error refuses).
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("udp.rx_no_socket"), 3U);
  EXPECT_EQ(h.count("icmp.tx_errors"), 0U);
}

TEST(StackIcmp, AnUnknownProtocolIsProtocolUnreachable) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  // SCTP (132), which this stack does not speak.
  const auto packet = ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol{132}), bytes_of("sctp init"));
  const Bytes offender = packet;
  h.receive(to_us(packet));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto u = unreachable_of(sent[0]);
  ASSERT_TRUE(u);
  // RFC 1122 §3.2.2.1: a host should send protocol unreachable for a transport it lacks.
  EXPECT_EQ(u->du.code, Icmpv4DstUnreachable::ProtocolUnreachable);
  EXPECT_EQ(to_hex(u->packet.payload.subspan(8)), to_hex(offender));
  EXPECT_EQ(h.count("ipv4.rx_unknown_protocol"), 1U);
  // Not for a broadcast.
  auto header = ip_header(kPeerIp, kSubnetBroadcast, IpProtocol{99});
  h.receive(to_us(ipv4_packet(header, bytes_of("x")), MacAddress::broadcast()));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("ipv4.rx_unknown_protocol"), 2U);
}

TEST(StackIcmp, ErrorsAreRateLimitedByATokenBucket) {
  Host h;  // burst 50, one token per 20 ms
  h.learn(kPeerIp, kPeerMac);
  const auto closed = to_us(udp_packet(kPeerIp, kIp, 40000, 9, bytes_of("x")));
  const auto burst = [&](int n) {
    for (int i = 0; i < n; ++i)
      h.receive(closed);
    return h.take().size();
  };
  // RFC 1812 §4.3.2.8 (RFC 1122 §3.2.2): a token bucket of icmp_error_burst tokens, one more
  // every icmp_error_interval.
  EXPECT_EQ(burst(60), 50U);
  EXPECT_EQ(h.count("icmp.tx_rate_limited"), 10U);
  h.advance(19ms);
  EXPECT_EQ(burst(1), 0U);
  h.advance(1ms);
  EXPECT_EQ(burst(2), 1U);
  h.advance(100ms);
  EXPECT_EQ(burst(10), 5U);
  h.advance(10s);  // refilled to the burst, no more
  EXPECT_EQ(burst(60), 50U);
  EXPECT_EQ(h.count("icmp.tx_errors"), 106U);
  EXPECT_EQ(h.count("udp.rx_no_socket"), 133U);
}

// ---- Errors received ---------------------------------------------------------------------------

// A port unreachable from the peer quoting `offender` (an IPv4 datagram we sent).
std::vector<std::byte> port_unreachable_from_peer(Bytes offender) {
  const auto quoted = wire::Ipv4Repr::parse_quoted(wire::Ipv4View(offender));
  EXPECT_TRUE(quoted);
  const Icmpv4Repr::DstUnreachable du{Icmpv4DstUnreachable::PortUnreachable, 0, *quoted,
                                      offender.subspan(quoted->header_len())};
  return to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp), icmp_message({du})));
}

TEST(StackIcmp, PortUnreachableRefusesTheConnectedUdpSocket) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto connected = h.udp(40000);
  ASSERT_TRUE(connected.connect({kPeerIp, 9}));
  auto other = h.udp(40001);  // unconnected: hears nothing
  int wakes = 0;
  connected.set_read_waker([&] { ++wakes; });
  ASSERT_TRUE(connected.send(bytes_of("closed\n")));
  ASSERT_TRUE(other.send_to(bytes_of("closed\n"), {kPeerIp, 9}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  h.receive(port_unreachable_from_peer(Bytes(sent[0].bytes).subspan(14, 35)));
  h.receive(port_unreachable_from_peer(Bytes(sent[1].bytes).subspan(14, 35)));
  EXPECT_TRUE(h.take().empty());
  // RFC 1122 §4.1.3.3: UDP passes ICMP errors up. As on Linux (without IP_RECVERR), only a
  // connected socket hears them.
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(connected.readable());
  EXPECT_EQ(connected.recv_from({}).error(), std::errc::connection_refused);
  EXPECT_EQ(connected.recv_from({}).error(), std::errc::operation_would_block);  // once
  EXPECT_FALSE(other.readable());
  EXPECT_EQ(h.count("icmp.rx_errors"), 2U);
  // The socket works on.
  ASSERT_TRUE(connected.send(bytes_of("again")));
  h.poll();
  EXPECT_EQ(h.take().size(), 1U);
}

TEST(StackIcmp, AnErrorAboutSomeoneElsesDatagramIsIgnored) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = h.udp(40000);
  ASSERT_TRUE(sock.connect({kPeerIp, 9}));
  // Quotes a datagram from 10.0.0.7, not from us.
  const auto foreign = udp_packet(Ipv4Address(10, 0, 0, 7), kPeerIp, 40000, 9, bytes_of("x"));
  h.receive(port_unreachable_from_peer(foreign));
  EXPECT_FALSE(sock.readable());
  EXPECT_EQ(h.count("icmp.rx_errors"), 1U);
}

// ---- IcmpSocket --------------------------------------------------------------------------------

TEST(StackIcmp, IcmpSocketSendsEchoRequestsWithItsIdentifier) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto sock = std::move(*h.stack->icmp_socket());
  const std::uint16_t ident = *sock.ident();
  const auto data = counting(0, 56);
  // The caller's identifier and checksum are overwritten.
  auto message = echo_request(0, 1, data);
  ASSERT_EQ(*sock.send_to(message, kPeerIp), message.size());
  EXPECT_LE(h.stack->next_deadline(), h.now);  // queued: poll at once
  h.poll();
  auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ip.src, kIp);
  EXPECT_EQ(p->ip.dst, kPeerIp);
  const auto icmp = parse_icmp(*p);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(*icmp, (Icmpv4Repr{Icmpv4Repr::EchoRequest{ident, 1, data}}));

  // The reply comes back whole, with the sender and its TTL.
  int wakes = 0;
  sock.set_read_waker([&] { ++wakes; });
  const auto reply = echo_reply(ident, 1, data);
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp, 57), reply)));
  EXPECT_EQ(wakes, 1);
  std::vector<std::byte> buf(200);
  const auto got = sock.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->remote.address, kPeerIp);
  EXPECT_EQ(got->ttl, 57);
  ASSERT_EQ(got->len, reply.size());
  buf.resize(got->len);
  EXPECT_EQ(buf, reply);
  EXPECT_EQ(sock.recv_from(buf).error(), std::errc::operation_would_block);
  // A reply for another identifier is nobody's.
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp),
                              echo_reply(static_cast<std::uint16_t>(ident + 1), 1, data))));
  EXPECT_FALSE(sock.readable());
  EXPECT_EQ(h.count("icmp.rx_no_socket"), 1U);
}

TEST(StackIcmp, IcmpSocketRefusesWhatIsNotAnEchoRequest) {
  Host h;
  auto sock = std::move(*h.stack->icmp_socket());
  EXPECT_EQ(sock.send_to(echo_reply(1, 1, {}), kPeerIp).error(), std::errc::invalid_argument);
  EXPECT_EQ(sock.send_to(Bytes(echo_request(1, 1, {})).first(7), kPeerIp).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(sock.send_to(echo_request(1, 1, {}), Ipv4Address::any()).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(sock.send_to(echo_request(1, 1, {}), Ipv4Address(192, 0, 2, 1)).error(),
            std::errc::network_unreachable);
  sock.close();
  EXPECT_EQ(sock.send_to(echo_request(1, 1, {}), kPeerIp).error(), std::errc::bad_file_descriptor);
}

TEST(StackIcmp, TwoIcmpSocketsHaveDifferentIdentifiers) {
  Host h;
  auto a = std::move(*h.stack->icmp_socket());
  auto b = std::move(*h.stack->icmp_socket());
  EXPECT_NE(*a.ident(), *b.ident());
}

TEST(StackIcmp, AnErrorQuotingOurEchoRequestReachesTheIcmpSocket) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  ASSERT_TRUE(h.stack->set_default_gateway(kPeerIp));
  auto sock = std::move(*h.stack->icmp_socket());
  const Ipv4Address far(192, 0, 2, 99);
  ASSERT_TRUE(sock.send_to(echo_request(0, 4, bytes_of("far away")), far));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(parse_ipv4(sent[0])->eth.dst, kPeerMac);  // via the gateway
  // The gateway says host unreachable, quoting our request.
  const Bytes offender = Bytes(sent[0].bytes).subspan(14, 20 + 16);
  const auto quoted = wire::Ipv4Repr::parse_quoted(wire::Ipv4View(offender));
  ASSERT_TRUE(quoted);
  const auto error = icmp_message({Icmpv4Repr::DstUnreachable{Icmpv4DstUnreachable::HostUnreachable,
                                                              0, *quoted, offender.subspan(20)}});
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Icmp, 63), error)));
  EXPECT_TRUE(h.take().empty());
  // RFC 1122 §3.2.2: errors go to the transport (here: the socket) that sent the offender.
  std::vector<std::byte> buf(200);
  const auto got = sock.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->remote.address, kPeerIp);
  EXPECT_EQ(got->ttl, 63);
  buf.resize(got->len);
  EXPECT_EQ(buf, error);
}

TEST(StackIcmp, AnUnresolvedEchoRequestIsHostUnreachableOnTheIcmpSocket) {
  Host h;
  auto sock = std::move(*h.stack->icmp_socket());
  ASSERT_TRUE(sock.send_to(echo_request(0, 1, {}), kPeerIp));
  for (int i = 0; i <= 3; ++i) {
    h.now = kT0 + i * 1s;
    h.poll();
  }
  EXPECT_EQ(sock.recv_from({}).error(), std::errc::host_unreachable);
}

}  // namespace
}  // namespace tapir::test
