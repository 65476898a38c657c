// VXLAN header codec (RFC 7348 §5): the four kinds of wire test, the captured vxlan.pcap round
// trip, and every rejection path.
#include "stack/wire/vxlan.hpp"

#include <gtest/gtest.h>

#include "stack/wire/ethernet.hpp"
#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;
using test::to_hex;

// From tests/captures/vxlan.pcap (frame 1): Linux's vxlan device sends the inner ARP request of
// 10.0.42.1 from 10.0.0.1:50677 to 10.0.0.2:4789, VNI 42.
const auto kVxlanFrame = from_hex(
    "0a0000000002 0a0000000001 0800"
    "4500004e7e8600004011e8160a0000010a000002"  // IPv4, IHL 5
    "c5f5 12b5 003a caba"                       // UDP, dst port 4789
    "08 000000 00002a 00"                       // VXLAN: I flag, VNI 42
    "ffffffffffff 0a0000004201 0806"            // inner Ethernet
    "0001 0800 0604 0001 0a0000004201 0a002a01 000000000000 0a002a02");
constexpr std::size_t kVxlanOffset = 14 + 20 + 8;

Bytes vxlan_of(const std::vector<std::byte>& frame) {
  return Bytes(frame).subspan(kVxlanOffset);
}

TEST(Vxlan, DecodesCapturedHeader) {
  auto view = VxlanView::checked(vxlan_of(kVxlanFrame));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->flags(), 0x08);
  EXPECT_TRUE(view->i_flag());
  EXPECT_EQ(view->vni(), 42U);
  EXPECT_EQ(view->reserved1(), 0U);
  EXPECT_EQ(view->reserved2(), 0);
  auto inner = EthernetView::checked(view->payload());
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->dst(), MacAddress::broadcast());
  EXPECT_EQ(inner->src(), MacAddress({0x0a, 0x00, 0x00, 0x00, 0x42, 0x01}));
  EXPECT_EQ(inner->ethertype(), EtherType::Arp);
  EXPECT_EQ(view->payload().size(), 42U);
}

// RFC 7348 §5: the IANA-assigned UDP destination port for VXLAN.
TEST(Vxlan, PortIsTheIanaAssignedOne) {
  EXPECT_EQ(kVxlanPort, 4789);
  EXPECT_EQ(load_be16(kVxlanFrame, 14 + 20 + 2), kVxlanPort);
}

TEST(Vxlan, BuildsWithSetters) {
  const std::vector<std::byte> expected(kVxlanFrame.begin() + kVxlanOffset, kVxlanFrame.end());
  auto buf = poisoned(expected.size());
  const VxlanViewMut view(buf);
  view.set_flags(VxlanView::kFlagI);
  view.clear_reserved();
  view.set_vni(42);
  std::copy(expected.begin() + 8, expected.end(), view.payload().begin());
  EXPECT_EQ(buf, expected);
}

TEST(Vxlan, SetVniWritesOnlyItsThreeBytes) {
  auto buf = poisoned(8);
  const VxlanViewMut view(buf);
  view.set_vni(0x12345678);  // masked to 24 bits
  EXPECT_EQ(to_hex(buf), "a5a5a5a5345678a5");
  EXPECT_EQ(view.vni(), 0x345678U);
}

TEST(Vxlan, ParsesToRepr) {
  auto repr = VxlanRepr::parse(VxlanView(vxlan_of(kVxlanFrame)));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, VxlanRepr{42});
}

TEST(Vxlan, EmitsEveryHeaderByte) {
  EXPECT_EQ(VxlanRepr::buffer_len(), 8U);
  auto buf = poisoned(VxlanRepr::buffer_len());
  VxlanRepr{42}.emit(VxlanViewMut(buf));
  EXPECT_EQ(to_hex(buf),
            "08000000"
            "00002a00");
  buf = poisoned(VxlanRepr::buffer_len());
  VxlanRepr{0xffffff}.emit(VxlanViewMut(buf));
  EXPECT_EQ(to_hex(buf),
            "08000000"
            "ffffff00");
}

TEST(Vxlan, EmitMasksVniTo24Bits) {
  auto buf = poisoned(VxlanRepr::buffer_len());
  VxlanRepr{0x01000042}.emit(VxlanViewMut(buf));
  EXPECT_EQ(to_hex(buf),
            "08000000"
            "00004200");
}

// RFC 7348 §5: the reserved flag bits and reserved fields MUST be set to zero on transmission
// and ignored on receipt.
TEST(Vxlan, IgnoresReservedBitsOnReceiptAndZeroesThemOnEmit) {
  const auto header = from_hex("ff abcdef 00002a 77");
  const VxlanView view(header);
  EXPECT_EQ(view.reserved1(), 0xabcdefU);
  EXPECT_EQ(view.reserved2(), 0x77);
  auto repr = VxlanRepr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, VxlanRepr{42});
  auto buf = poisoned(VxlanRepr::buffer_len());
  repr->emit(VxlanViewMut(buf));
  EXPECT_EQ(to_hex(buf),
            "08000000"
            "00002a00");
}

// RFC 7348 §5: the I flag MUST be set to 1 for a valid VNI.
TEST(Vxlan, RejectsClearIFlag) {
  const auto header = from_hex("f7 000000 00002a 00");  // every flag bit but I
  EXPECT_TRUE(VxlanView(header).check());
  EXPECT_FALSE(VxlanView(header).i_flag());
  EXPECT_EQ(VxlanRepr::parse(VxlanView(header)).error(), Errc::bad_field);
}

TEST(Vxlan, RejectsTruncatedHeader) {
  for (std::size_t len = 0; len < VxlanView::header_len; ++len) {
    const VxlanView view(vxlan_of(kVxlanFrame).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(VxlanRepr::parse(view).error(), Errc::truncated) << "len " << len;
  }
  EXPECT_TRUE(VxlanView(vxlan_of(kVxlanFrame).first(8)).check());
}

// tests/captures/vxlan.pcap: every VXLAN header (at 14 + IPv4 header + 8) parses and re-emits
// to its own bytes.
TEST(Vxlan, EveryCapturedFrameRoundTrips) {
  const auto capture = test::load_capture("vxlan.pcap");
  ASSERT_EQ(capture.link_type, LinkType::Ethernet);
  ASSERT_FALSE(capture.frames.empty());
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    const auto frame = capture.frames[i].span();
    auto eth = EthernetView::checked(frame);
    ASSERT_TRUE(eth) << "frame " << i;
    ASSERT_EQ(eth->ethertype(), EtherType::Ipv4) << "frame " << i;
    ASSERT_GE(frame.size(), 14U + 20U + 8U) << "frame " << i;
    // RFC 791 §3.1: IHL is the header length in 32-bit words; protocol 17 is UDP.
    const std::size_t ihl = (load_u8(frame, 14) & 0x0fU) * 4U;
    ASSERT_EQ(load_u8(frame, 14 + 9), 17) << "frame " << i;
    ASSERT_EQ(load_be16(frame, 14 + ihl + 2), kVxlanPort) << "frame " << i;
    const Bytes vxlan = frame.subspan(14 + ihl + 8);
    auto repr = VxlanRepr::parse(VxlanView(vxlan));
    ASSERT_TRUE(repr) << "frame " << i << ": " << repr.error().message();
    EXPECT_EQ(repr->vni, 42U);
    auto buf = poisoned(VxlanRepr::buffer_len());
    repr->emit(VxlanViewMut(buf));
    EXPECT_EQ(to_hex(buf), to_hex(vxlan.first(8))) << "frame " << i;
    EXPECT_TRUE(EthernetView(VxlanView(vxlan).payload()).check()) << "frame " << i;
  }
}

}  // namespace
}  // namespace tapir::wire
