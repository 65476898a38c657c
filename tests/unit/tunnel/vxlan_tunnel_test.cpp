// The sans-IO core of tapir-tunnel (apps/tunnel/vxlan_tunnel.hpp): RFC 7348 §5's header on the
// way out, its checks on the way in, and a counter for every drop.
#include "apps/tunnel/vxlan_tunnel.hpp"

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/wire/ethernet.hpp"
#include "tests/support/allocations.hpp"
#include "tests/support/captures.hpp"

namespace tapir::tunnel {
namespace {

using test::concat;
using test::from_hex;
using test::poisoned;
using test::to_hex;

// Captured with tcpdump on veth0 in the netns scene of tests/netns/tunnel_kernel_peer.sh (T's
// end of the underlay), while `ping -c1 -s 8 -p 7461706972 192.168.77.1` ran in L: the UDP
// payload of the datagram Linux's vxlan device (vx0, id 42) sent from 10.9.0.2:55792 to
// 10.9.0.1:4789. The VXLAN header, then the inner Ethernet frame: an ICMP echo request from
// 192.168.77.2 to 192.168.77.1.
constexpr std::string_view kLinuxHeaderHex = "08 000000 00002a 00";
constexpr std::string_view kLinuxInnerHex =
    "46d16f56499e 66f794c6b27f 0800"              // inner Ethernet: tap0's MAC < vx0's MAC
    "4500002460 4c40004001bf38 c0a84d02c0a84d01"  // IPv4 192.168.77.2 > 192.168.77.1, ICMP
    "0800 70e1 3052 0001 7461706972000000";       // echo request, id 0x3052, seq 1, "tapir"

std::vector<std::byte> linux_datagram() {
  return from_hex(std::string(kLinuxHeaderHex) + std::string(kLinuxInnerHex));
}

constexpr Ipv4Address kRemote{10, 9, 0, 2};
constexpr Ipv4Address kStranger{10, 9, 0, 3};

TunnelConfig config42() {
  return {.vni = 42, .remote = kRemote, .check_source = true, .max_frame_len = 1468};
}

// ---- Encapsulation -------------------------------------------------------------------------

// RFC 7348 §5: flags 0x08 (I set), reserved fields zero, the VNI, then the inner frame. Our
// encapsulation of Linux's inner frame is byte for byte what Linux's vxlan device sent.
TEST(VxlanTunnel, EncapsulatesTheCapturedFrameToLinuxsBytes) {
  VxlanTunnel tunnel(config42());
  const auto inner = from_hex(kLinuxInnerHex);
  auto buffer = poisoned(VxlanTunnel::headroom + inner.size() + 16);  // room to spare after
  std::copy(inner.begin(), inner.end(), buffer.begin() + VxlanTunnel::headroom);
  auto datagram = tunnel.encapsulate(buffer, inner.size());
  ASSERT_TRUE(datagram);
  EXPECT_EQ(datagram->data(), buffer.data());  // in place: the frame was not moved
  EXPECT_EQ(to_hex(*datagram), to_hex(linux_datagram()));
  EXPECT_EQ(std::to_integer<int>(buffer[VxlanTunnel::headroom + inner.size()]), 0xa5);
  EXPECT_EQ(tunnel.counters().tx_frames.value(), 1U);
  EXPECT_EQ(tunnel.counters().tx_bytes.value(), inner.size());
}

// The same header into a separate 8-byte buffer (tapir-tunnel's gather write: header, frame).
TEST(VxlanTunnel, WritesTheHeaderApartForAGatherWrite) {
  VxlanTunnel tunnel(config42());
  const auto inner = from_hex(kLinuxInnerHex);
  auto header = poisoned(VxlanTunnel::header_len);
  ASSERT_TRUE(tunnel.write_header(inner, header));
  EXPECT_EQ(to_hex(header), to_hex(from_hex(kLinuxHeaderHex)));
}

// RFC 7348 §5: the VNI is 24 bits, in bytes 4..6; byte 7 is reserved (zero).
TEST(VxlanTunnel, HeaderCarriesAll24BitsOfTheVni) {
  VxlanTunnel tunnel({.vni = 0xabcdef, .remote = kRemote});
  const auto inner = from_hex(kLinuxInnerHex);
  auto header = poisoned(VxlanTunnel::header_len);
  ASSERT_TRUE(tunnel.write_header(inner, header));
  EXPECT_EQ(to_hex(header), to_hex(from_hex("08000000 abcdef00")));
}

TEST(VxlanTunnel, EncapsulationDropsAFrameShorterThanAnEthernetHeader) {
  VxlanTunnel tunnel(config42());
  auto buffer = poisoned(VxlanTunnel::headroom + 13);
  auto r = tunnel.encapsulate(buffer, 13);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::too_small);
  EXPECT_EQ(tunnel.counters().tx_too_small.value(), 1U);
  EXPECT_EQ(tunnel.counters().tx_frames.value(), 0U);
  EXPECT_EQ(std::to_integer<int>(buffer[0]), 0xa5);  // nothing written
  EXPECT_FALSE(tunnel.encapsulate(buffer, 0));
  EXPECT_EQ(tunnel.counters().tx_too_small.value(), 2U);
  auto ok = poisoned(VxlanTunnel::headroom + 14);
  EXPECT_TRUE(tunnel.encapsulate(ok, 14));  // exactly an Ethernet header is carried
}

TEST(VxlanTunnel, EncapsulationDropsAFrameLongerThanTheTapCarries) {
  VxlanTunnel tunnel(config42());
  auto buffer = poisoned(VxlanTunnel::headroom + 1469);
  auto r = tunnel.encapsulate(buffer, 1469);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::too_large);
  EXPECT_EQ(tunnel.counters().tx_too_large.value(), 1U);
  EXPECT_TRUE(tunnel.encapsulate(buffer, 1468));
  EXPECT_EQ(tunnel.counters().tx_frames.value(), 1U);
}

// ---- Decapsulation -------------------------------------------------------------------------

TEST(VxlanTunnel, DecapsulatesTheDatagramLinuxSent) {
  VxlanTunnel tunnel(config42());
  const auto datagram = linux_datagram();
  auto inner = tunnel.decapsulate(datagram, kRemote);
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->data(), datagram.data() + VxlanTunnel::header_len);  // a view, no copy
  EXPECT_EQ(to_hex(*inner), to_hex(from_hex(kLinuxInnerHex)));
  auto eth = wire::EthernetView::checked(*inner);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->ethertype(), wire::EtherType::Ipv4);
  EXPECT_EQ(tunnel.counters().rx_frames.value(), 1U);
  EXPECT_EQ(tunnel.counters().rx_bytes.value(), inner->size());
}

// Only the address is compared: a Linux vxlan device sends from a port of its own choosing per
// flow (RFC 7348 §5, the source port), here 55792.
TEST(VxlanTunnel, DropsADatagramFromAnotherAddress) {
  VxlanTunnel tunnel(config42());
  auto r = tunnel.decapsulate(linux_datagram(), kStranger);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::wrong_source);
  EXPECT_EQ(tunnel.counters().rx_wrong_source.value(), 1U);
  EXPECT_EQ(tunnel.counters().rx_frames.value(), 0U);
}

TEST(VxlanTunnel, AcceptsAnySourceWhenTold) {
  auto config = config42();
  config.check_source = false;
  VxlanTunnel tunnel(config);
  EXPECT_TRUE(tunnel.decapsulate(linux_datagram(), kStranger));
  EXPECT_EQ(tunnel.counters().rx_wrong_source.value(), 0U);
}

TEST(VxlanTunnel, DropsADatagramShorterThanTheHeader) {
  VxlanTunnel tunnel(config42());
  const auto datagram = linux_datagram();
  for (std::size_t len : {0U, 1U, 7U}) {
    auto r = tunnel.decapsulate(Bytes(datagram).first(len), kRemote);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Drop::bad_header);
  }
  EXPECT_EQ(tunnel.counters().rx_bad_header.value(), 3U);
}

// RFC 7348 §5: the I flag MUST be set to 1 for a valid VNI.
TEST(VxlanTunnel, DropsADatagramWithTheIFlagClear) {
  VxlanTunnel tunnel(config42());
  auto datagram = linux_datagram();
  datagram[0] = std::byte{0x00};
  auto r = tunnel.decapsulate(datagram, kRemote);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::bad_header);
  datagram[0] = std::byte{0xf7};  // every flag but I
  EXPECT_FALSE(tunnel.decapsulate(datagram, kRemote));
  EXPECT_EQ(tunnel.counters().rx_bad_header.value(), 2U);
}

// RFC 7348 §5: the reserved fields and flag bits are ignored on receipt.
TEST(VxlanTunnel, IgnoresReservedBitsOnReceipt) {
  VxlanTunnel tunnel(config42());
  auto datagram = linux_datagram();
  datagram[0] = std::byte{0xff};
  datagram[1] = datagram[2] = datagram[3] = std::byte{0xff};
  datagram[7] = std::byte{0xff};
  EXPECT_TRUE(tunnel.decapsulate(datagram, kRemote));
  EXPECT_EQ(tunnel.counters().rx_bad_header.value(), 0U);
}

// RFC 7348 §4.1: only hosts of the same VXLAN segment (VNI) communicate.
TEST(VxlanTunnel, DropsADatagramForAnotherVni) {
  VxlanTunnel tunnel(config42());
  auto datagram = linux_datagram();
  datagram[6] = std::byte{0x07};  // VNI 7
  auto r = tunnel.decapsulate(datagram, kRemote);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::wrong_vni);
  datagram[6] = std::byte{0x2a};
  datagram[4] = std::byte{0x01};  // VNI 0x01002a: the high bits count too
  EXPECT_FALSE(tunnel.decapsulate(datagram, kRemote));
  EXPECT_EQ(tunnel.counters().rx_wrong_vni.value(), 2U);
}

TEST(VxlanTunnel, DropsAnInnerFrameShorterThanAnEthernetHeader) {
  VxlanTunnel tunnel(config42());
  const auto datagram = linux_datagram();
  auto r = tunnel.decapsulate(Bytes(datagram).first(8 + 13), kRemote);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::too_small);
  EXPECT_FALSE(tunnel.decapsulate(Bytes(datagram).first(8), kRemote));  // no inner frame
  EXPECT_EQ(tunnel.counters().rx_too_small.value(), 2U);
  EXPECT_TRUE(tunnel.decapsulate(Bytes(datagram).first(8 + 14), kRemote));
}

// The TAP carries at most its MTU + 14 + 4 bytes; the tunnel drops longer frames before the
// TAP would.
TEST(VxlanTunnel, DropsAnInnerFrameLongerThanTheTapCarries) {
  VxlanTunnel tunnel(config42());
  std::vector<std::byte> datagram = linux_datagram();
  datagram.resize(8 + 1469);
  auto r = tunnel.decapsulate(datagram, kRemote);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Drop::too_large);
  EXPECT_EQ(tunnel.counters().rx_too_large.value(), 1U);
  EXPECT_TRUE(tunnel.decapsulate(Bytes(datagram).first(8 + 1468), kRemote));
  tunnel.set_max_frame_len(VxlanTunnel::max_frame_len_for(1500));  // the TAP's MTU went up
  EXPECT_TRUE(tunnel.decapsulate(datagram, kRemote));
  EXPECT_EQ(tunnel.counters().rx_too_large.value(), 1U);
  EXPECT_EQ(tunnel.counters().rx_frames.value(), 2U);
}

// The captured frame with an IEEE 802.1Q tag (VID 10) after the source address, or an
// 802.1ad service tag.
std::vector<std::byte> tagged_inner(std::string_view tpid) {
  auto inner = from_hex(kLinuxInnerHex);
  auto tag = from_hex(std::string(tpid) + "000a");
  inner.insert(inner.begin() + 12, tag.begin(), tag.end());
  return inner;
}

// RFC 7348 §6.1: "Decapsulated VXLAN frames with the inner VLAN tag SHOULD be discarded unless
// configured otherwise"; on encapsulation a VTEP "SHOULD NOT include an inner VLAN tag".
TEST(VxlanTunnel, DropsInnerVlanTagsUnlessConfigured) {
  VxlanTunnel tunnel(config42());
  for (std::string_view tpid : {"8100", "88a8"}) {
    const auto inner = tagged_inner(tpid);
    auto datagram = concat(from_hex(kLinuxHeaderHex), inner);
    auto r = tunnel.decapsulate(datagram, kRemote);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Drop::inner_vlan);
    auto header = poisoned(VxlanTunnel::header_len);
    auto w = tunnel.write_header(inner, header);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), Drop::inner_vlan);
  }
  EXPECT_EQ(tunnel.counters().rx_inner_vlan.value(), 2U);
  EXPECT_EQ(tunnel.counters().tx_inner_vlan.value(), 2U);
  EXPECT_EQ(tunnel.counters().rx_frames.value() + tunnel.counters().tx_frames.value(), 0U);

  auto config = config42();
  config.carry_vlan = true;  // "configured otherwise"
  VxlanTunnel carrying(config);
  const auto inner = tagged_inner("8100");
  auto datagram = concat(from_hex(kLinuxHeaderHex), inner);
  EXPECT_TRUE(carrying.decapsulate(datagram, kRemote));
  auto header = poisoned(VxlanTunnel::header_len);
  EXPECT_TRUE(carrying.write_header(inner, header));
  EXPECT_EQ(carrying.counters().rx_inner_vlan.value() + carrying.counters().tx_inner_vlan.value(),
            0U);
}

// Every rejection path of one tunnel, each counted in its own counter and nowhere else.
TEST(VxlanTunnel, EachDropHasItsOwnCounter) {
  VxlanTunnel tunnel(config42());
  auto good = linux_datagram();
  auto no_i = good;
  no_i[0] = std::byte{0};
  auto vni7 = good;
  vni7[6] = std::byte{7};
  auto big = good;
  big.resize(8 + 2000);
  auto tagged = concat(from_hex(kLinuxHeaderHex), tagged_inner("8100"));
  auto small_frame = poisoned(VxlanTunnel::headroom + 10);
  auto big_frame = poisoned(VxlanTunnel::headroom + 2000);

  (void)tunnel.decapsulate(good, kStranger);
  (void)tunnel.decapsulate(Bytes(good).first(4), kRemote);
  (void)tunnel.decapsulate(no_i, kRemote);
  (void)tunnel.decapsulate(vni7, kRemote);
  (void)tunnel.decapsulate(Bytes(good).first(8 + 5), kRemote);
  (void)tunnel.decapsulate(big, kRemote);
  (void)tunnel.decapsulate(tagged, kRemote);
  auto header = poisoned(VxlanTunnel::header_len);
  (void)tunnel.write_header(Bytes(tagged).subspan(8), header);
  (void)tunnel.encapsulate(small_frame, 10);
  (void)tunnel.encapsulate(big_frame, 2000);

  std::vector<std::string> nonzero;
  tunnel.counters().for_each_counter([&](std::string_view name, const Counter& c) {
    if (c.value() != 0) nonzero.push_back(std::string(name) + "=" + std::to_string(c.value()));
  });
  EXPECT_EQ(nonzero,
            (std::vector<std::string>{
                "tunnel.tx_too_small=1", "tunnel.tx_too_large=1", "tunnel.tx_inner_vlan=1",
                "tunnel.rx_wrong_source=1", "tunnel.rx_bad_header=2", "tunnel.rx_wrong_vni=1",
                "tunnel.rx_too_small=1", "tunnel.rx_too_large=1", "tunnel.rx_inner_vlan=1"}));
}

TEST(VxlanTunnel, CounterNamesFollowTheHouseRule) {
  VxlanTunnel tunnel(config42());
  std::set<std::string> names;
  tunnel.counters().for_each_counter([&](std::string_view name, const Counter&) {
    EXPECT_TRUE(name.starts_with("tunnel.tx_") || name.starts_with("tunnel.rx_")) << name;
    names.insert(std::string(name));
  });
  EXPECT_EQ(names.size(), 17U);  // no name twice
}

// RFC 7348 §4.3: 50 bytes of overhead (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14), so
// a 1500-byte underlay carries an inner MTU of 1450.
TEST(VxlanTunnel, OverheadAndFrameBounds) {
  EXPECT_EQ(VxlanTunnel::overhead, 50U);
  EXPECT_EQ(VxlanTunnel::max_frame_len_for(1450), 1468U);
  EXPECT_EQ(VxlanTunnel::max_frame_len_for(1500), 1518U);
  EXPECT_EQ(VxlanTunnel::max_frame_len_for(65535), 65507U - 8U);  // one UDP datagram
}

// DESIGN.md, Memory: the data path allocates nothing.
TEST(VxlanTunnel, NothingAllocatesPerFrame) {
  VxlanTunnel tunnel(config42());
  const auto datagram = linux_datagram();
  auto buffer = poisoned(VxlanTunnel::headroom + 1468);
  auto vni7 = datagram;
  vni7[6] = std::byte{7};
  const std::size_t before = test::allocations();
  for (int i = 0; i < 1000; ++i) {
    (void)tunnel.decapsulate(datagram, kRemote);
    (void)tunnel.decapsulate(vni7, kRemote);
    (void)tunnel.encapsulate(buffer, 1468);
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_EQ(tunnel.counters().rx_frames.value(), 1000U);
  EXPECT_EQ(tunnel.counters().tx_frames.value(), 1000U);
}

}  // namespace
}  // namespace tapir::tunnel
