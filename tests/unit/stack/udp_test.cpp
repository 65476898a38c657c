// Stack, UDP: bind (explicit, ephemeral, in use, not available), connect and its filter, the
// datagram send_to emits (against Linux's), checksums on input (zero, bad), the receive queue
// bound, closed and reused handles, wakers, and the largest datagram there is, both ways.
#include <gtest/gtest.h>

#include "stack/base/checksum.hpp"
#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using wire::IpProtocol;

const Capture& udp_capture() {
  static const Capture c = load_capture("udp.pcap");
  return c;
}

std::vector<std::byte> datagram_to_us(std::uint16_t dport, Bytes payload,
                                      Ipv4Address from = kPeerIp, std::uint16_t sport = 40000) {
  return to_us(udp_packet(from, kIp, sport, dport, payload));
}

// ---- Binding -----------------------------------------------------------------------------------

TEST(StackUdp, BindsAnExplicitPort) {
  Host h;
  auto s = std::move(*h.stack->udp_socket());
  EXPECT_EQ(s.local_endpoint()->port, 0);
  ASSERT_TRUE(s.bind({kIp, 7}));
  EXPECT_EQ(*s.local_endpoint(), (Ipv4Endpoint{kIp, 7}));
  // Once only.
  EXPECT_EQ(s.bind({kIp, 8}).error(), std::errc::invalid_argument);
}

TEST(StackUdp, PortZeroIsAnEphemeralPortInLinuxsRange) {
  Host h;
  std::vector<std::uint16_t> ports;
  std::vector<UdpSocket> sockets;
  for (int i = 0; i < 8; ++i) {
    auto s = std::move(*h.stack->udp_socket());
    ASSERT_TRUE(s.bind({}));
    const auto port = s.local_endpoint()->port;
    // Linux's ip_local_port_range, RFC 6056 §3.3.1.
    EXPECT_GE(port, 32768);
    EXPECT_LE(port, 60999);
    for (auto p : ports)
      EXPECT_NE(p, port);
    ports.push_back(port);
    sockets.push_back(std::move(s));
  }
}

TEST(StackUdp, TheEphemeralRangeRunsOut) {
  StackConfig c = quiet_config();
  c.ephemeral_port_min = 50000;
  c.ephemeral_port_max = 50001;
  Host h(c);
  auto a = h.udp(0);
  auto b = h.udp(0);
  EXPECT_NE(a.local_endpoint()->port, b.local_endpoint()->port);
  auto s = std::move(*h.stack->udp_socket());
  EXPECT_EQ(s.bind({}).error(), std::errc::address_in_use);
  EXPECT_EQ(s.send_to(bytes_of("x"), {kPeerIp, 9}).error(), std::errc::address_in_use);
}

TEST(StackUdp, APortInUseIsRefused) {
  Host h;
  auto any7 = h.udp(7);
  auto s = std::move(*h.stack->udp_socket());
  EXPECT_EQ(s.bind({Ipv4Address::any(), 7}).error(), std::errc::address_in_use);
  EXPECT_EQ(s.bind({kIp, 7}).error(), std::errc::address_in_use);
  ASSERT_TRUE(s.bind({kIp, 8}));
  auto t = std::move(*h.stack->udp_socket());
  EXPECT_EQ(t.bind({Ipv4Address::any(), 8}).error(), std::errc::address_in_use);
  // Free again once closed.
  any7.close();
  EXPECT_TRUE(t.bind({Ipv4Address::any(), 7}));
}

TEST(StackUdp, AnAddressNotOursIsNotAvailable) {
  Host h;
  auto s = std::move(*h.stack->udp_socket());
  EXPECT_EQ(s.bind({Ipv4Address(10, 0, 0, 99), 7}).error(), std::errc::address_not_available);
  EXPECT_TRUE(s.bind({kIp, 7}));
}

TEST(StackUdp, SocketsAreBounded) {
  StackConfig c = quiet_config();
  c.max_udp_sockets = 2;
  Host h(c);
  auto a = std::move(*h.stack->udp_socket());
  auto b = std::move(*h.stack->udp_socket());
  EXPECT_EQ(h.stack->udp_socket().error(), std::errc::too_many_files_open);
  a.close();
  EXPECT_TRUE(h.stack->udp_socket());
}

// ---- Connect -----------------------------------------------------------------------------------

TEST(StackUdp, AConnectedSocketHearsOnlyItsPeer) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(7);
  ASSERT_TRUE(s.connect({kPeerIp, 40000}));
  // As on Linux, connecting fixes the local address to the route's source.
  EXPECT_EQ(*s.local_endpoint(), (Ipv4Endpoint{kIp, 7}));
  h.receive(datagram_to_us(7, bytes_of("other port"), kPeerIp, 40001));
  h.receive(datagram_to_us(7, bytes_of("other host"), Ipv4Address(10, 0, 0, 3), 40000));
  h.receive(datagram_to_us(7, bytes_of("peer")));
  std::array<std::byte, 32> buf{};
  const auto got = s.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->remote, (Ipv4Endpoint{kPeerIp, 40000}));
  EXPECT_EQ(vec(Bytes(buf).first(got->len)), bytes_of("peer"));
  EXPECT_FALSE(s.readable());
  EXPECT_EQ(h.count("udp.rx_no_socket"), 2U);
  // The strangers get port unreachables: 10.0.0.1's at once, 10.0.0.3's waits on ARP.
  EXPECT_EQ(h.take().size(), 1U);
  // send() goes to the peer.
  ASSERT_TRUE(s.send(bytes_of("back")));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_TRUE(is_arp_request_for(sent[1], Ipv4Address(10, 0, 0, 3)));
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  const auto udp = parse_udp(*p);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->dst_port, 40000);
  EXPECT_EQ(udp->src_port, 7);
}

TEST(StackUdp, ConnectConnectsAnUnboundSocketToAnEphemeralPort) {
  Host h;
  auto s = std::move(*h.stack->udp_socket());
  ASSERT_TRUE(s.connect({kPeerIp, 9}));
  EXPECT_GE(s.local_endpoint()->port, 32768);
  EXPECT_EQ(s.local_endpoint()->address, kIp);
  EXPECT_EQ(s.connect({kPeerIp, 0}).error(), std::errc::invalid_argument);
  EXPECT_EQ(s.connect({Ipv4Address::any(), 9}).error(), std::errc::invalid_argument);
}

TEST(StackUdp, SendWithoutAPeerNeedsADestination) {
  Host h;
  auto s = h.udp(7);
  EXPECT_EQ(s.send(bytes_of("x")).error(), std::errc::destination_address_required);
  EXPECT_EQ(s.send_to(bytes_of("x"), {kPeerIp, 0}).error(), std::errc::invalid_argument);
  EXPECT_EQ(s.send_to(bytes_of("x"), {Ipv4Address::any(), 9}).error(), std::errc::invalid_argument);
}

// ---- Output ------------------------------------------------------------------------------------

TEST(StackUdp, SendToEmitsTheDatagramLinuxDoes) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  // udp.pcap frame 2: the echo from 10.0.0.2:7 back to 10.0.0.1:40000, "hello tapir\n".
  auto s = h.udp(7);
  ASSERT_EQ(*s.send_to(bytes_of("hello tapir\n"), {kPeerIp, 40000}), 12U);
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->eth.dst, kPeerMac);
  EXPECT_EQ(p->ip.src, kIp);
  EXPECT_EQ(p->ip.dst, kPeerIp);
  EXPECT_EQ(p->ip.ttl, 64);
  // RFC 768: the checksum covers the pseudo-header, header and data; always sent.
  const auto udp = parse_udp(*p);  // verifies, and is not zero
  ASSERT_TRUE(udp);
  EXPECT_EQ(*udp, (wire::UdpRepr{7, 40000, 12}));
  // The whole frame is Linux's byte for byte but for the IP identification (and its header
  // checksum) and our padding to 60 bytes: the UDP checksum, and DF, which Linux sets on a
  // datagram that fits the path MTU (RFC 1191 §3, IP_PMTUDISC_WANT).
  const auto linux_reply = captured(udp_capture(), 2);
  EXPECT_TRUE(p->ip.dont_frag);
  EXPECT_EQ(to_hex(without_ident(vec(Bytes(sent[0].bytes).first(linux_reply.size())))),
            to_hex(without_ident(linux_reply)));
  EXPECT_EQ(sent[0].bytes.size(), 60U);
  EXPECT_EQ(h.count("udp.tx_datagrams"), 1U);
}

// RFC 1191 §3 with Linux's default (IP_PMTUDISC_WANT): DF only where the datagram fits the
// path MTU; a larger one is fragmented (RFC 791 §3.2), so its fragments carry no DF.
TEST(StackUdp, ADatagramLargerThanTheMtuLeavesInFragmentsWithoutDf) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(7);
  ASSERT_TRUE(s.send_to(std::vector<std::byte>(4000), {kPeerIp, 40000}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 3U);
  for (const auto& f : sent) {
    const auto p = parse_ipv4(f);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->ip.dont_frag);
  }
}

TEST(StackUdp, AChecksumThatComputesToZeroIsSentAsAllOnes) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(7);
  // Choose two payload bytes so the computed checksum is zero: the sum of everything else,
  // complemented, placed in the payload, makes the total 0xffff.
  std::vector<std::byte> payload(2, std::byte{0});
  const auto zero_sum = udp_datagram(kIp, kPeerIp, 7, 40000, payload, false);
  const std::uint32_t acc = checksum_add(
      zero_sum, pseudo_header_sum(kIp, kPeerIp, 17, static_cast<std::uint16_t>(zero_sum.size())));
  store_be16(payload, 0, static_cast<std::uint16_t>(checksum_finish(acc)));
  ASSERT_TRUE(s.send_to(payload, {kPeerIp, 40000}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);
  const auto p = parse_ipv4(sent[0]);
  ASSERT_TRUE(p);
  // RFC 768: a computed zero is transmitted as all ones.
  EXPECT_EQ(wire::UdpView(p->payload).checksum(), 0xffff);
  EXPECT_TRUE(parse_udp(*p));
}

// ---- Input -------------------------------------------------------------------------------------

TEST(StackUdp, ReceivesLinuxsDatagram) {
  Host h;
  auto s = h.udp(7);
  // udp.pcap frame 1: 10.0.0.1:40000 -> 10.0.0.2:7 "hello tapir\n".
  h.receive(captured(udp_capture(), 1));
  std::array<std::byte, 64> buf{};
  const auto got = s.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->remote, (Ipv4Endpoint{kPeerIp, 40000}));
  EXPECT_EQ(got->local, kIp);
  EXPECT_EQ(got->ttl, 64);
  EXPECT_EQ(vec(Bytes(buf).first(got->len)), bytes_of("hello tapir\n"));
  EXPECT_EQ(s.recv_from(buf).error(), std::errc::operation_would_block);
}

TEST(StackUdp, AZeroChecksumIsAccepted) {
  Host h;
  auto s = h.udp(7);
  auto frame = captured(udp_capture(), 1);
  store_be16(frame, 34 + 6, 0);
  // RFC 768, RFC 1122 §4.1.3.4: a checksum that fails is discarded; zero means none was sent.
  h.receive(frame);
  EXPECT_TRUE(s.readable());
  EXPECT_EQ(h.count("udp.rx_bad_checksum"), 0U);
}

TEST(StackUdp, ABadChecksumIsDroppedAndCounted) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(7);
  auto frame = captured(udp_capture(), 1);
  frame.back() ^= std::byte{0x01};  // the payload's last byte
  const auto expected = [&] {
    auto c = nonzero_counters(*h.stack);
    c["eth.rx_frames"] += 1;
    c["ipv4.rx_packets"] += 1;
    c["ipv4.rx_delivered"] += 1;
    c["udp.rx_datagrams"] += 1;
    c["udp.rx_bad_checksum"] += 1;
    return c;
  }();
  // RFC 768, RFC 1122 §4.1.3.4: a checksum that fails is discarded; zero means none was sent.
  h.receive(frame);
  EXPECT_FALSE(s.readable());
  EXPECT_TRUE(h.take().empty());  // and no port unreachable either
  EXPECT_EQ(nonzero_counters(*h.stack), expected);
}

TEST(StackUdp, AShortOrInconsistentHeaderIsMalformed) {
  Host h;
  auto s = h.udp(7);
  auto d = udp_datagram(kPeerIp, kIp, 40000, 7, bytes_of("abc"));
  store_be16(d, 4, 100);  // Length past the datagram
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Udp), d)));
  h.receive(to_us(ipv4_packet(ip_header(kPeerIp, kIp, IpProtocol::Udp), Bytes(d).first(7))));
  EXPECT_FALSE(s.readable());
  EXPECT_EQ(h.count("udp.rx_malformed"), 2U);
}

TEST(StackUdp, TheReceiveQueueIsBounded) {
  StackConfig c = quiet_config();
  c.udp_queue_datagrams = 4;
  c.udp_rx_bytes = 1000;
  Host h(c);
  auto s = h.udp(7);
  for (int i = 0; i < 6; ++i)
    h.receive(datagram_to_us(7, counting(static_cast<unsigned>(i), 10)));
  EXPECT_EQ(h.count("udp.rx_queue_full"), 2U);
  std::array<std::byte, 16> buf{};
  for (int i = 0; i < 4; ++i) {
    const auto got = s.recv_from(buf);
    ASSERT_TRUE(got);
    EXPECT_EQ(vec(Bytes(buf).first(got->len)), counting(static_cast<unsigned>(i), 10));
  }
  EXPECT_FALSE(s.readable());
  // In bytes too: 600 + 600 do not fit in 1000.
  h.receive(datagram_to_us(7, counting(0, 600)));
  h.receive(datagram_to_us(7, counting(1, 600)));
  EXPECT_EQ(h.count("udp.rx_queue_full"), 3U);
  EXPECT_TRUE(s.readable());
}

TEST(StackUdp, AShortBufferTakesTheStartOfTheDatagram) {
  Host h;
  auto s = h.udp(7);
  h.receive(datagram_to_us(7, bytes_of("truncate me")));
  h.receive(datagram_to_us(7, bytes_of("next")));
  std::array<std::byte, 4> buf{};
  auto got = s.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->len, 11U);
  EXPECT_EQ(vec(buf), bytes_of("trun"));
  got = s.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(vec(buf), bytes_of("next"));
}

TEST(StackUdp, ASocketBoundToAnAddressHearsOnlyThatAddress) {
  Host h;
  auto s = std::move(*h.stack->udp_socket());
  ASSERT_TRUE(s.bind({kIp, 7}));
  h.receive(to_us(udp_packet(kPeerIp, kSubnetBroadcast, 40000, 7, bytes_of("bc")),
                  MacAddress::broadcast()));
  EXPECT_FALSE(s.readable());
  h.receive(datagram_to_us(7, bytes_of("uc")));
  EXPECT_TRUE(s.readable());
}

// ---- Handles and wakers ------------------------------------------------------------------------

TEST(StackUdp, AClosedHandleIsABadFileDescriptor) {
  Host h;
  auto s = h.udp(7);
  const SocketId old = s.id();
  h.receive(datagram_to_us(7, bytes_of("left behind")));
  s.close();
  EXPECT_FALSE(s.is_open());
  std::array<std::byte, 16> buf{};
  EXPECT_EQ(s.recv_from(buf).error(), std::errc::bad_file_descriptor);
  EXPECT_EQ(s.send_to(bytes_of("x"), {kPeerIp, 9}).error(), std::errc::bad_file_descriptor);
  EXPECT_EQ(s.bind({}).error(), std::errc::bad_file_descriptor);
  EXPECT_EQ(s.local_endpoint().error(), std::errc::bad_file_descriptor);
  EXPECT_EQ(s.set_dont_fragment(true).error(), std::errc::bad_file_descriptor);
  EXPECT_FALSE(s.readable());
  // The slot is reused with a new generation, empty.
  auto again = h.udp(7);
  EXPECT_EQ(again.id().slot, old.slot);
  EXPECT_NE(again.id().generation, old.generation);
  // A moved-from handle is closed too.
  auto moved = std::move(again);
  EXPECT_EQ(again.recv_from(buf).error(),  // NOLINT(bugprone-use-after-move)
            std::errc::bad_file_descriptor);
  EXPECT_EQ(moved.recv_from(buf).error(), std::errc::operation_would_block);
  EXPECT_FALSE(moved.readable());
}

TEST(StackUdp, ReadWakerFiresAfterReceiveAndWriteWakerAfterPoll) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto s = h.udp(7);
  int reads = 0, writes = 0;
  s.set_read_waker([&] { ++reads; });
  s.set_write_waker([&] { ++writes; });
  h.receive(datagram_to_us(8, bytes_of("not mine")));
  EXPECT_EQ(reads, 0);
  h.take();
  h.receive(datagram_to_us(7, bytes_of("mine")));
  EXPECT_EQ(reads, 1);
  h.poll();
  EXPECT_EQ(writes, 0);  // nothing was queued
  ASSERT_TRUE(s.send_to(bytes_of("out"), {kPeerIp, 9}));
  EXPECT_EQ(writes, 0);
  h.poll();
  EXPECT_EQ(writes, 1);
  EXPECT_EQ(reads, 1);
  // A closed socket's wakers are gone.
  s.close();
  h.receive(datagram_to_us(7, bytes_of("late")));
  EXPECT_EQ(reads, 1);
}

TEST(StackUdp, WritableSaysWhetherADatagramFits) {
  StackConfig c = quiet_config();
  c.udp_tx_bytes = 100;
  Host h(c);
  auto s = h.udp(7);
  EXPECT_TRUE(s.writable(100));
  EXPECT_FALSE(s.writable(101));
  EXPECT_EQ(s.send_to(counting(0, 101), {kPeerIp, 9}).error(), std::errc::message_size);
  ASSERT_TRUE(s.send_to(counting(0, 60), {kPeerIp, 9}));
  EXPECT_FALSE(s.writable(60));
  EXPECT_EQ(s.send_to(counting(0, 60), {kPeerIp, 9}).error(), std::errc::operation_would_block);
  h.poll();
  EXPECT_TRUE(s.writable(100));
}

// ---- The largest datagram ----------------------------------------------------------------------

TEST(StackUdp, The65507ByteDatagramGoesAcrossAndOneMoreIsRefused) {
  Host a;
  Host b(quiet_config(), ethernet_interface(kPeerMac, "10.0.0.1/24"));
  a.learn(kPeerIp, kPeerMac);
  auto tx = a.udp(5000);
  auto rx = b.udp(6000);
  // RFC 768: the largest UDP payload in one IPv4 datagram (65,535 - 20 - 8).
  EXPECT_EQ(tx.send_to(counting(0, 65508), {kPeerIp, 6000}).error(), std::errc::message_size);
  const auto data = counting(7, 65507);
  ASSERT_EQ(*tx.send_to(data, {kPeerIp, 6000}), 65507U);
  a.poll();
  const auto frames = a.take();
  EXPECT_EQ(frames.size(), 45U);  // 44 x 1480 + 395
  for (const auto& f : frames)
    b.receive(f.bytes);
  std::vector<std::byte> buf(70000);
  const auto got = rx.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->len, 65507U);
  EXPECT_EQ(got->remote, (Ipv4Endpoint{kIp, 5000}));
  buf.resize(got->len);
  EXPECT_TRUE(buf == data);
  EXPECT_EQ(b.count("ipv4.reasm_ok"), 1U);
  // And back, with exchange() doing the ARP.
  ASSERT_TRUE(rx.send_to(data, {kIp, 5000}));
  exchange(a, b);
  buf.assign(70000, std::byte{0});
  const auto back = tx.recv_from(buf);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->len, 65507U);
  buf.resize(back->len);
  EXPECT_TRUE(buf == data);
}

}  // namespace
}  // namespace tapir::test
