// Stack, Ethernet: which frames the interface takes (its MAC, broadcast, the all-hosts group),
// and every frame it drops, each counted once; configuration checks of Stack::create and
// add_interface; the tracer; an IP (TUN) interface carrying bare packets.
#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

constexpr MacAddress kOtherMac({0x0a, 0x00, 0x00, 0x00, 0x00, 0x99});

std::vector<std::byte> ping_to_us(std::uint16_t seq = 1) {
  return ipv4_packet(ip_header(kPeerIp, kIp, wire::IpProtocol::Icmp),
                     echo_request(0x77, seq, bytes_of("ethernet")));
}

TEST(StackEthernet, DropsFramesNotForUsAndCountsEachOnce) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  const auto before = nonzero_counters(*h.stack);
  // Another unicast MAC.
  h.receive(to_us(ping_to_us(), kOtherMac));
  // A multicast group we did not join (224.0.0.251, mDNS).
  h.receive(to_us(ping_to_us(), MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb})));
  // Our own frame looped back.
  h.receive(to_us(ping_to_us(), kMac, kMac));
  // Shorter than the 14-byte header.
  h.receive(Bytes(to_us(ping_to_us())).first(13));
  // IPv6, and a VLAN tag (its TCI the IPv4 header's first bytes: VID 0x500) on a device with no
  // interface on that VLAN (IEEE 802.1Q-2018 §8.6.2; see vlan_test.cpp).
  h.receive(ethernet_frame(kMac, kPeerMac, wire::EtherType::Ipv6, ping_to_us()));
  h.receive(ethernet_frame(kMac, kPeerMac, wire::EtherType::Vlan, ping_to_us()));
  EXPECT_TRUE(h.take().empty());
  auto after = nonzero_counters(*h.stack);
  auto expected = before;
  expected["eth.rx_frames"] += 6;
  expected["eth.rx_not_for_us"] = 2;
  expected["eth.rx_own_source"] = 1;
  expected["eth.rx_truncated"] = 1;
  expected["eth.rx_unknown_ethertype"] = 1;
  expected["eth.rx_unknown_vlan"] = 1;
  EXPECT_EQ(after, expected);
}

TEST(StackEthernet, TakesOurMacBroadcastAndAllHosts) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(to_us(ping_to_us(1)));
  // RFC 1112 §6.4: an IPv4 multicast group maps to 01:00:5e plus its low 23 bits; RFC 1112 §4:
  // every host is a member of the all-hosts group 224.0.0.1. A UDP datagram to it is taken.
  auto sock = h.udp(5353);
  h.receive(to_us(udp_packet(kPeerIp, Ipv4Address(224, 0, 0, 1), 5353, 5353, bytes_of("mc")),
                  MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01})));
  h.receive(to_us(udp_packet(kPeerIp, kSubnetBroadcast, 5353, 5353, bytes_of("bc")),
                  MacAddress::broadcast()));
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1U);  // the echo reply
  EXPECT_EQ(h.count("eth.rx_not_for_us"), 0U);
  std::array<std::byte, 16> buf{};
  auto got = sock.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->local, Ipv4Address(224, 0, 0, 1));
  got = sock.recv_from(buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->local, kSubnetBroadcast);
}

TEST(StackEthernet, CreateRefusesABadConfiguration) {
  StackConfig c;
  c.max_mtu = 67;
  EXPECT_EQ(Stack::create(c).error(), std::errc::invalid_argument);
  EXPECT_FALSE(Stack::validate(c).empty());
  c = StackConfig{};
  c.arp_max_tries = 0;
  EXPECT_FALSE(Stack::validate(c).empty());
  c = StackConfig{};
  c.ephemeral_port_min = 61000;
  c.ephemeral_port_max = 60000;
  EXPECT_FALSE(Stack::validate(c).empty());
  EXPECT_TRUE(Stack::validate(StackConfig{}).empty());
}

TEST(StackEthernet, AddInterfaceChecksItsArguments) {
  StackConfig c = quiet_config();
  c.max_interfaces = 2;
  auto stack = std::move(*Stack::create(c));
  EXPECT_EQ(stack->add_interface(ethernet_interface(MacAddress::broadcast())).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(stack->add_interface(ethernet_interface(MacAddress{})).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(stack->add_interface(ethernet_interface(kMac, "10.0.0.2/24", 67)).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(stack->add_interface(ethernet_interface(kMac, "10.0.0.2/24", 9001)).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(stack->add_interface(ethernet_interface(kMac, "0.0.0.0/0")).error(),
            std::errc::invalid_argument);
  EXPECT_EQ(*stack->add_interface(ethernet_interface()), 0);
  EXPECT_EQ(*stack->add_interface(ethernet_interface(kOtherMac, "10.0.1.2/24")), 1);
  EXPECT_EQ(stack->add_interface(ethernet_interface(kOtherMac, "10.0.2.2/24")).error(),
            std::errc::no_buffer_space);
  EXPECT_EQ(stack->interface_count(), 2U);
  // Each interface's prefix is a connected route.
  ASSERT_EQ(stack->routes().routes().size(), 2U);
  EXPECT_EQ(stack->routes().lookup(Ipv4Address(10, 0, 1, 9))->iface, 1);
}

TEST(StackEthernet, AFrameForAnUnknownInterfaceIsIgnoredAndCounted) {
  Host h;
  h.receive(7, to_us(ping_to_us()));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.count("eth.rx_frames"), 0U);
  EXPECT_EQ(h.count("eth.rx_no_interface"), 1U);
}

struct RecordingTracer final : FrameTracer {
  struct Seen {
    InterfaceId iface;
    Medium medium;
    bool outgoing;
    std::size_t len;
  };
  std::vector<Seen> seen;
  void on_frame(InterfaceId iface, Medium medium, bool outgoing, Bytes frame) override {
    seen.push_back({iface, medium, outgoing, frame.size()});
  }
};

TEST(StackEthernet, TheTracerSeesEveryFrameInAndOut) {
  Host h;
  RecordingTracer tracer;
  h.stack->set_tracer(&tracer);
  h.receive(arp_request(kPeerMac, kPeerIp, kIp));
  h.receive(to_us(ping_to_us()));
  ASSERT_EQ(h.take().size(), 2U);
  ASSERT_EQ(tracer.seen.size(), 4U);
  EXPECT_FALSE(tracer.seen[0].outgoing);
  EXPECT_EQ(tracer.seen[0].len, 42U);
  EXPECT_TRUE(tracer.seen[1].outgoing);
  EXPECT_EQ(tracer.seen[1].len, 60U);
  EXPECT_FALSE(tracer.seen[2].outgoing);
  EXPECT_TRUE(tracer.seen[3].outgoing);
  EXPECT_EQ(tracer.seen[3].medium, Medium::Ethernet);
  h.stack->set_tracer(nullptr);
  h.receive(to_us(ping_to_us()));
  EXPECT_EQ(tracer.seen.size(), 4U);
}

TEST(StackEthernet, AnIpInterfaceCarriesBarePackets) {
  auto stack = std::move(*Stack::create(quiet_config()));
  InterfaceConfig tun;
  tun.medium = Medium::Ip;
  tun.mtu = 1500;
  tun.address = *Ipv4Cidr::parse("10.0.0.2/24");
  const auto id = *stack->add_interface(tun);
  CaptureSink sink;
  // raw_ip.pcap: Linux pinging 10.0.0.2 over a TUN; the reply is the captured one but for the
  // IP identification and checksum. No ARP, no padding.
  const auto capture = load_capture("raw_ip.pcap");
  ASSERT_EQ(capture.frames.size(), 4U);
  stack->poll(kT0, sink);
  EXPECT_TRUE(sink.frames.empty());  // no announcements on an IP interface
  stack->receive(id, captured(capture, 1), kT0, sink);
  ASSERT_EQ(sink.frames.size(), 1U);
  EXPECT_EQ(to_hex(without_ident(sink.frames[0].bytes, 0)),
            to_hex(without_ident(captured(capture, 2), 0)));
  const auto p = parse_ipv4(sink.frames[0].bytes, Medium::Ip);
  ASSERT_TRUE(p);
  EXPECT_TRUE(parse_icmp(*p));
  EXPECT_EQ(counter(*stack, "eth.rx_frames"), 0U);
  EXPECT_EQ(counter(*stack, "eth.tx_frames"), 0U);
  EXPECT_EQ(counter(*stack, "icmp.tx_echo_replies"), 1U);
}

}  // namespace
}  // namespace tapir::test
