// Ethernet II codec: the four kinds of wire test (captured bytes, setters, parse, emit into
// 0xA5) and every rejection path of check().
#include "stack/wire/ethernet.hpp"

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;

// An ARP request from a Linux veth (dst broadcast, src 0a:11:22:33:44:01), 42 bytes as captured
// (the kernel pads to 60 only on real NICs; a veth/TAP capture shows the unpadded frame).
const auto kArpFrame = from_hex(
    "ffffffffffff 0a1122334401 0806"
    "0001 0800 06 04 0001 0a1122334401 0a000001 000000000000 0a000002");

TEST(Ethernet, DecodesCapturedHeader) {
  auto view = EthernetView::checked(kArpFrame);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->dst(), MacAddress::broadcast());
  EXPECT_EQ(view->src(), MacAddress({0x0a, 0x11, 0x22, 0x33, 0x44, 0x01}));
  EXPECT_EQ(view->ethertype(), EtherType::Arp);
  EXPECT_EQ(view->payload().size(), 28U);
}

TEST(Ethernet, BuildsWithSetters) {
  auto buf = poisoned(kArpFrame.size());
  EthernetViewMut view(buf);
  view.set_dst(MacAddress::broadcast());
  view.set_src(MacAddress({0x0a, 0x11, 0x22, 0x33, 0x44, 0x01}));
  view.set_ethertype(EtherType::Arp);
  std::copy(kArpFrame.begin() + 14, kArpFrame.end(), view.payload().begin());
  EXPECT_EQ(buf, kArpFrame);
}

TEST(Ethernet, ParsesToRepr) {
  auto repr = EthernetRepr::parse(EthernetView(kArpFrame));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (EthernetRepr{MacAddress({0x0a, 0x11, 0x22, 0x33, 0x44, 0x01}),
                                 MacAddress::broadcast(), EtherType::Arp}));
}

TEST(Ethernet, EmitsEveryHeaderByte) {
  const EthernetRepr repr{MacAddress({0x0a, 0x11, 0x22, 0x33, 0x44, 0x01}), MacAddress::broadcast(),
                          EtherType::Arp};
  auto buf = poisoned(EthernetRepr::buffer_len());
  repr.emit(EthernetViewMut(buf));
  EXPECT_EQ(buf, std::vector<std::byte>(kArpFrame.begin(), kArpFrame.begin() + 14));
}

TEST(Ethernet, UnknownEtherTypeIsRepresentable) {
  auto frame = kArpFrame;
  frame[12] = std::byte{0x12};
  frame[13] = std::byte{0x34};
  auto repr = EthernetRepr::parse(EthernetView(frame));
  ASSERT_TRUE(repr);
  EXPECT_EQ(static_cast<std::uint16_t>(repr->ethertype), 0x1234);
}

// RFC 894 (IEEE 802.3 §3.2): destination, source and type make a 14-byte header; less is cut.
TEST(Ethernet, RejectsTruncatedHeader) {
  for (std::size_t len = 0; len < EthernetView::header_len; ++len) {
    const auto view = EthernetView(Bytes(kArpFrame).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(EthernetRepr::parse(view).error(), Errc::truncated);
  }
  EXPECT_TRUE(EthernetView(Bytes(kArpFrame).first(14)).check());
}

}  // namespace
}  // namespace tapir::wire
