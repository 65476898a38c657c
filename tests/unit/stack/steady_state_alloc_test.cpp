// DESIGN.md "Memory": after start-up, steady-state traffic allocates nothing. This test counts
// every operator new while pings (small and fragmented), a UDP echo through the socket API and
// ARP traffic go through a warmed-up stack, and requires zero.
#include <vector>

#include <gtest/gtest.h>

#include "stack/stack.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/icmpv4.hpp"
#include "stack/wire/udp.hpp"
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
  auto stack = *Stack::create(StackConfig{});
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
  round();  // warm-up: first uses may allocate (socket queues are made on first open)
  const std::size_t frames_before = sink.frames;
  const std::size_t before = test::allocations();
  for (int i = 0; i < 100; ++i)
    round();
  EXPECT_EQ(test::allocations() - before, 0U);
  // Each round: ARP reply, echo reply, 3 fragments of the big reply, UDP echo, our request.
  EXPECT_EQ(sink.frames - frames_before, 100U * 7);
  EXPECT_TRUE(woken);
}

}  // namespace
}  // namespace tapir
