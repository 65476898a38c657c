// DESIGN.md "Memory": after start-up, steady-state traffic allocates nothing. This test counts
// every operator new while pings (small and fragmented), a UDP echo through the socket API and
// ARP traffic go through a warmed-up stack, untagged and on an IEEE 802.1Q VLAN interface of
// the same device, and requires zero.
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/checksum.hpp"
#include "stack/stack.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/udp.hpp"
#include "stack/wire/vlan.hpp"
#include "tests/support/allocations.hpp"

namespace tapir {
namespace {

const MacAddress kOurMac({0x02, 0, 0, 0, 0, 0x02});
const MacAddress kPeerMac({0x02, 0, 0, 0, 0, 0x01});
const Ipv4Address kOurIp(10, 0, 0, 2);
const Ipv4Address kPeerIp(10, 0, 0, 1);

struct CountingSink final : FrameSink {
  std::size_t frames = 0;
  void transmit(InterfaceId /*iface*/, Bytes /*frame*/) override { ++frames; }
};

std::vector<std::byte> arp_request() {
  std::vector<std::byte> frame(60);
  const wire::EthernetViewMut eth{BytesMut(frame)};
  wire::EthernetRepr{kPeerMac, MacAddress::broadcast(), wire::EtherType::Arp}.emit(eth);
  wire::ArpRepr{wire::ArpOperation::Request, kPeerMac, kPeerIp, MacAddress{}, kOurIp}.emit(
      wire::ArpViewMut(eth.payload()));
  return frame;
}

// `frame` with an 802.1Q C-tag (IEEE 802.1Q-2018 §9.6) inserted after the MAC addresses.
std::vector<std::byte> tagged(const std::vector<std::byte>& frame, std::uint16_t vid) {
  std::vector<std::byte> out(frame.size() + 4);
  store_bytes(BytesMut(out), 0, Bytes(frame).first(12));
  store_be16(BytesMut(out), 12, static_cast<std::uint16_t>(wire::EtherType::Vlan));
  wire::VlanRepr{3, false, vid, wire::EthernetView(frame).ethertype()}.emit(
      wire::VlanViewMut(BytesMut(out).subspan(14)));
  store_bytes(BytesMut(out), 18, Bytes(frame).subspan(14));
  return out;
}

// One IPv4 frame from the peer carrying l4 (or the piece [off, off+n) of it as a fragment).
std::vector<std::byte> ipv4_frame(wire::IpProtocol protocol, Bytes l4, std::size_t off,
                                  std::size_t n, bool more) {
  std::vector<std::byte> frame(14 + 20 + n);
  const wire::EthernetViewMut eth{BytesMut(frame)};
  wire::EthernetRepr{kPeerMac, kOurMac, wire::EtherType::Ipv4}.emit(eth);
  wire::Ipv4Repr ip;
  ip.src = kPeerIp;
  ip.dst = kOurIp;
  ip.protocol = protocol;
  ip.ident = 99;
  ip.frag_offset = static_cast<std::uint16_t>(off);
  ip.more_frags = more;
  ip.payload_len = n;
  ip.emit(wire::Ipv4ViewMut(eth.payload()), wire::ChecksumPolicy::all());
  store_bytes(BytesMut(frame), 34, l4.subspan(off, n));
  return frame;
}

std::vector<std::byte> echo_request(std::size_t data_len) {
  std::vector<std::byte> data(data_len, std::byte{0x61});
  std::vector<std::byte> l4(8 + data_len);
  wire::Icmpv4Repr{wire::Icmpv4Repr::EchoRequest{7, 1, Bytes(data)}}.emit(
      wire::Icmpv4ViewMut(BytesMut(l4)), wire::ChecksumPolicy::all());
  return l4;
}

TEST(StackMemory, SteadyTrafficAllocatesNothing) {
  StackConfig config;
  config.arp_announcements = 0;  // the frames counted below are the traffic's only
  auto stack = *Stack::create(config);
  const auto iface =
      *stack->add_interface({Medium::Ethernet, kOurMac, 1500, *Ipv4Cidr::parse("10.0.0.2/24")});
  auto sock = *stack->udp_socket();
  ASSERT_TRUE(sock.bind({Ipv4Address::any(), 7}));
  auto ping = *stack->icmp_socket();
  bool woken = false;
  sock.set_read_waker([&] { woken = true; });

  const auto arp = arp_request();
  const auto small = echo_request(56);
  const auto small_frame = ipv4_frame(wire::IpProtocol::Icmp, small, 0, small.size(), false);
  const auto big = echo_request(3972);
  std::vector<std::vector<std::byte>> big_frames;
  for (std::size_t off = 0; off < big.size(); off += 1480) {
    const std::size_t n = std::min<std::size_t>(1480, big.size() - off);
    big_frames.push_back(ipv4_frame(wire::IpProtocol::Icmp, big, off, n, off + n < big.size()));
  }
  std::vector<std::byte> udp(8 + 1000, std::byte{0x33});
  wire::UdpRepr{40000, 7, 1000}.emit(wire::UdpViewMut(BytesMut(udp)), kPeerIp, kOurIp,
                                     wire::ChecksumPolicy::all());
  const auto udp_frame = ipv4_frame(wire::IpProtocol::Udp, udp, 0, udp.size(), false);
  std::vector<std::byte> buf(2048);
  std::vector<std::byte> echo(8 + 56);
  echo[0] = std::byte{8};

  CountingSink sink;
  auto now = instant_from_micros(1'000'000);
  auto round = [&] {
    stack->receive(iface, arp, now, sink);
    stack->receive(iface, small_frame, now, sink);
    for (const auto& f : big_frames)
      stack->receive(iface, f, now, sink);
    stack->receive(iface, udp_frame, now, sink);
    auto info = sock.recv_from(buf);
    ASSERT_TRUE(info);
    ASSERT_TRUE(sock.send_to(Bytes(buf).first(info->len), info->remote));
    ASSERT_TRUE(ping.send_to(echo, kPeerIp));
    stack->poll(now, sink);
    (void)ping.recv_from(buf);
    now += std::chrono::milliseconds(10);
  };
  // The same traffic on VLAN 10 of the same device (10.0.10.2/24): tags parsed on the way in,
  // written on the way out, fragments and ARP included.
  InterfaceConfig vlan10{Medium::Ethernet, MacAddress{}, 1500, *Ipv4Cidr::parse("10.0.10.2/24")};
  vlan10.vlan = 10;
  vlan10.pcp = 5;
  vlan10.link = iface;
  ASSERT_TRUE(stack->add_interface(vlan10));
  const Ipv4Address peer10(10, 0, 10, 1);
  const auto retarget = [&](std::vector<std::byte> frame, std::size_t ip_at) {
    // The VLAN's addresses in the frame's IPv4 header (checksum recomputed) or ARP packet.
    const BytesMut f(frame);
    if (wire::EthernetView(frame).ethertype() == wire::EtherType::Arp) {
      peer10.to_bytes(f, 14 + 14);
      Ipv4Address(10, 0, 10, 2).to_bytes(f, 14 + 24);
    } else {
      peer10.to_bytes(f, ip_at + 12);
      Ipv4Address(10, 0, 10, 2).to_bytes(f, ip_at + 16);
      store_be16(f, ip_at + 10, 0);
      store_be16(f, ip_at + 10, internet_checksum(Bytes(frame).subspan(ip_at, 20)));
    }
    return tagged(frame, 10);
  };
  const auto arp10 = retarget(arp, 14);
  const auto small10 = retarget(small_frame, 14);
  std::vector<std::vector<std::byte>> big10;
  for (const auto& f : big_frames)
    big10.push_back(retarget(f, 14));
  auto round10 = [&] {
    stack->receive(iface, arp10, now, sink);
    stack->receive(iface, small10, now, sink);
    for (const auto& f : big10)
      stack->receive(iface, f, now, sink);
    ASSERT_TRUE(ping.send_to(echo, peer10));
    stack->poll(now, sink);
    (void)ping.recv_from(buf);
    now += std::chrono::milliseconds(10);
  };
  round();  // warm-up: first uses may allocate (socket queues are made on first open)
  round10();
  const std::size_t frames_before = sink.frames;
  const std::size_t before = test::allocations();
  for (int i = 0; i < 100; ++i) {
    round();
    round10();
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  // Each round: ARP reply, echo reply, 3 fragments of the big reply, UDP echo, our request;
  // each tagged round the same but the UDP echo.
  EXPECT_EQ(sink.frames - frames_before, 100U * (7 + 6));
  EXPECT_EQ(stack->counters().eth.tx_tagged_frames.value(), 101U * 6);
  EXPECT_EQ(stack->counters().eth.rx_tagged_frames.value(), 101U * 5);
  EXPECT_TRUE(woken);
}

}  // namespace
}  // namespace tapir
