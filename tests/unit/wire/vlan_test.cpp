// VLAN tag codec (IEEE 802.1Q-2018 §9.6) and the tag-stack walker: the four kinds of wire test,
// the captured vlan.pcap round trip, and every rejection path.
#include "stack/wire/vlan.hpp"

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::wire {
namespace {

using test::from_hex;
using test::poisoned;
using test::to_hex;

// From tests/captures/vlan.pcap (frame 1): an 802.1Q-tagged ARP request, VID 10, PCP 5.
const auto kTaggedArp = from_hex(
    "ffffffffffff 0a0000000001 8100 a00a 0806"
    "0001 0800 0604 0001 0a0000000001 0a000001 000000000000 0a000002");
// Frame 2: VID 20 with DEI set, carrying IPv4.
const auto kDeiFrame = from_hex(
    "0a0000000002 0a0000000001 8100 1014 0800"
    "4500002910014000400116d10a0000010a000002080004a574610001746170697220766c616e203230");
// Frame 4: QinQ, S-tag (0x88a8) VID 100, then C-tag (0x8100) VID 10, then IPv4.
const auto kQinQFrame = from_hex(
    "0a0000000002 0a0000000001 88a8 0064 8100 000a 0800"
    "4500002610034000400116d20a0000010a00000208004cd57461000374617069722071696e71");

// The bytes after the TPID.
Bytes tag_of(const std::vector<std::byte>& frame) {
  return Bytes(frame).subspan(14);
}

const VlanRepr kArpTag{5, false, 10, EtherType::Arp};

TEST(Vlan, DecodesCapturedTag) {
  auto view = VlanView::checked(tag_of(kTaggedArp));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->tci(), 0xa00a);
  EXPECT_EQ(view->pcp(), 5);
  EXPECT_FALSE(view->dei());
  EXPECT_EQ(view->vid(), 10);
  EXPECT_EQ(view->ethertype(), EtherType::Arp);
  EXPECT_EQ(view->payload().size(), 28U);
}

// 802.1Q-2018 §9.6: the TCI is PCP (3 bits), DEI (1 bit), VID (12 bits), most significant
// first.
TEST(Vlan, DecodesCapturedDropEligibleIndicator) {
  const VlanView view(tag_of(kDeiFrame));
  ASSERT_TRUE(view.check());
  EXPECT_EQ(view.pcp(), 0);
  EXPECT_TRUE(view.dei());
  EXPECT_EQ(view.vid(), 20);
  EXPECT_EQ(view.ethertype(), EtherType::Ipv4);
}

TEST(Vlan, BuildsWithSetters) {
  const std::vector<std::byte> expected(kTaggedArp.begin() + 14, kTaggedArp.end());
  auto buf = poisoned(expected.size());
  const VlanViewMut view(buf);
  view.set_pcp(5);
  view.set_dei(false);
  view.set_vid(10);
  view.set_ethertype(EtherType::Arp);
  std::copy(expected.begin() + 4, expected.end(), view.payload().begin());
  EXPECT_EQ(buf, expected);
}

TEST(Vlan, FieldSettersKeepTheRestOfTheTci) {
  std::vector<std::byte> buf(4);
  const VlanViewMut view(buf);
  view.set_tci(0xffff);
  view.set_vid(0);
  EXPECT_EQ(view.tci(), 0xf000);
  view.set_dei(false);
  EXPECT_EQ(view.tci(), 0xe000);
  view.set_pcp(0);
  view.set_vid(0x1abc);  // masked to 12 bits
  EXPECT_EQ(view.tci(), 0x0abc);
  view.set_pcp(0xff);  // masked to 3 bits
  EXPECT_EQ(view.tci(), 0xeabc);
}

TEST(Vlan, ParsesToRepr) {
  auto repr = VlanRepr::parse(VlanView(tag_of(kTaggedArp)));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kArpTag);
  auto dei = VlanRepr::parse(VlanView(tag_of(kDeiFrame)));
  ASSERT_TRUE(dei);
  EXPECT_EQ(*dei, (VlanRepr{0, true, 20, EtherType::Ipv4}));
}

TEST(Vlan, EmitsEveryHeaderByte) {
  EXPECT_EQ(VlanRepr::buffer_len(), 4U);
  auto buf = poisoned(VlanRepr::buffer_len());
  kArpTag.emit(VlanViewMut(buf));
  EXPECT_EQ(to_hex(buf), "a00a0806");
  buf = poisoned(VlanRepr::buffer_len());
  VlanRepr{0, true, 20, EtherType::Ipv4}.emit(VlanViewMut(buf));
  EXPECT_EQ(to_hex(buf), "10140800");
}

TEST(Vlan, EmitMasksFieldsToTheirWidths) {
  auto buf = poisoned(VlanRepr::buffer_len());
  VlanRepr{0x0f, false, 0xf123, EtherType::Ipv4}.emit(VlanViewMut(buf));
  EXPECT_EQ(to_hex(buf), "e1230800");
}

// 802.1Q-2018 §9.6, Table 9-2: VID 0 is the null VLAN ID (a priority tag: the frame belongs
// to the port's VLAN and the tag carries only PCP/DEI); VID 0xFFF is reserved.
TEST(Vlan, PriorityTagWithVidZeroIsValid) {
  const auto tag = from_hex("6000 0800");  // vlan.pcap frame 3: VID 0, PCP 3
  auto repr = VlanRepr::parse(VlanView(tag));
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->vid, VlanRepr::kPriorityTagVid);
  EXPECT_EQ(repr->pcp, 3);
}

TEST(Vlan, RejectsReservedVid) {
  const auto reserved = from_hex("afff 0800");
  EXPECT_TRUE(VlanView(reserved).check());
  EXPECT_EQ(VlanRepr::parse(VlanView(reserved)).error(), Errc::bad_field);
  const auto highest = from_hex("affe 0800");  // VID 4094, the highest usable
  EXPECT_TRUE(VlanRepr::parse(VlanView(highest)));
}

TEST(Vlan, RejectsTruncatedTag) {
  for (std::size_t len = 0; len < VlanView::header_len; ++len) {
    const VlanView view(tag_of(kTaggedArp).first(len));
    EXPECT_EQ(view.check().error(), Errc::truncated) << "len " << len;
    EXPECT_EQ(VlanRepr::parse(view).error(), Errc::truncated) << "len " << len;
  }
  EXPECT_TRUE(VlanView(tag_of(kTaggedArp).first(4)).check());
}

TEST(VlanTags, UntaggedFrameHasNoTags) {
  const auto frame = from_hex("ffffffffffff 0a0000000001 0806 0001");
  auto tags = parse_vlan_tags(EthernetView(frame));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (VlanTags{std::nullopt, std::nullopt, EtherType::Arp, 14}));
}

TEST(VlanTags, FindsCustomerTag) {
  auto tags = parse_vlan_tags(EthernetView(kTaggedArp));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (VlanTags{std::nullopt, kArpTag, EtherType::Arp, 18}));
}

// 802.1Q-2018 §9.5, Table 9-1: TPID 0x88a8 opens an S-tag, the outer tag of an 802.1ad frame;
// TPID 0x8100 opens a C-tag, alone or inside the S-tag.
TEST(VlanTags, FindsServiceAndCustomerTagsOfQinQ) {
  auto tags = parse_vlan_tags(EthernetView(kQinQFrame));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (VlanTags{VlanRepr{0, false, 100, EtherType::Vlan},
                             VlanRepr{0, false, 10, EtherType::Ipv4}, EtherType::Ipv4, 22}));
  EXPECT_EQ(load_u8(kQinQFrame, tags->payload_offset), 0x45);
}

TEST(VlanTags, FindsLoneServiceTag) {
  const auto frame = from_hex("0a0000000002 0a0000000001 88a8 2064 0800 45");
  auto tags = parse_vlan_tags(EthernetView(frame));
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (VlanTags{VlanRepr{1, false, 100, EtherType::Ipv4}, std::nullopt,
                             EtherType::Ipv4, 18}));
}

TEST(VlanTags, RejectsMoreThanTwoTags) {
  const auto frame = from_hex("0a0000000002 0a0000000001 88a8 0064 8100 000a 8100 000b 0800 45");
  EXPECT_EQ(parse_vlan_tags(EthernetView(frame)).error(), Errc::unsupported);
  const auto s_in_qinq =
      from_hex("0a0000000002 0a0000000001 88a8 0064 8100 000a 88a8 000b 0800 45");
  EXPECT_EQ(parse_vlan_tags(EthernetView(s_in_qinq)).error(), Errc::unsupported);
}

TEST(VlanTags, RejectsTagsOutOfServiceThenCustomerOrder) {
  // Legacy double tagging with 0x8100 twice.
  const auto c_in_c = from_hex("0a0000000002 0a0000000001 8100 0064 8100 000a 0800 45");
  EXPECT_EQ(parse_vlan_tags(EthernetView(c_in_c)).error(), Errc::unsupported);
  const auto s_in_c = from_hex("0a0000000002 0a0000000001 8100 0064 88a8 000a 0800 45");
  EXPECT_EQ(parse_vlan_tags(EthernetView(s_in_c)).error(), Errc::unsupported);
  const auto s_in_s = from_hex("0a0000000002 0a0000000001 88a8 0064 88a8 000a 0800 45");
  EXPECT_EQ(parse_vlan_tags(EthernetView(s_in_s)).error(), Errc::unsupported);
}

TEST(VlanTags, RejectsTruncatedFrameOrTag) {
  for (std::size_t len = 0; len < kQinQFrame.size(); ++len) {
    auto tags = parse_vlan_tags(EthernetView(Bytes(kQinQFrame).first(len)));
    if (len < 22) {
      EXPECT_EQ(tags.error(), Errc::truncated) << "len " << len;
    } else {
      EXPECT_TRUE(tags) << "len " << len;  // the payload may be empty
    }
  }
}

TEST(VlanTags, RejectsReservedVidInEitherTag) {
  const auto outer = from_hex("0a0000000002 0a0000000001 88a8 0fff 8100 000a 0800");
  EXPECT_EQ(parse_vlan_tags(EthernetView(outer)).error(), Errc::bad_field);
  const auto inner = from_hex("0a0000000002 0a0000000001 88a8 0064 8100 0fff 0800");
  EXPECT_EQ(parse_vlan_tags(EthernetView(inner)).error(), Errc::bad_field);
}

// tests/captures/vlan.pcap: every tagged frame walks, and every tag re-emits to its own bytes.
TEST(Vlan, EveryCapturedFrameRoundTrips) {
  const auto capture = test::load_capture("vlan.pcap");
  ASSERT_EQ(capture.link_type, LinkType::Ethernet);
  ASSERT_FALSE(capture.frames.empty());
  int with_pcp = 0;
  int with_dei = 0;
  int priority_tagged = 0;
  int qinq = 0;
  for (std::size_t i = 0; i < capture.frames.size(); ++i) {
    const auto frame = capture.frames[i].span();
    auto tags = parse_vlan_tags(EthernetView(frame));
    ASSERT_TRUE(tags) << "frame " << i << ": " << tags.error().message();
    ASSERT_TRUE(tags->customer) << "frame " << i;
    // Re-emit each tag into 0xA5 and compare with the bytes after its TPID.
    std::size_t at = 14;
    for (const auto& tag : {tags->service, tags->customer}) {
      if (!tag) continue;
      auto buf = poisoned(VlanRepr::buffer_len());
      tag->emit(VlanViewMut(buf));
      EXPECT_EQ(to_hex(buf), to_hex(frame.subspan(at, 4))) << "frame " << i;
      auto again = VlanRepr::parse(VlanView(frame.subspan(at)));
      ASSERT_TRUE(again);
      EXPECT_EQ(*again, *tag);
      at += 4;
    }
    EXPECT_EQ(at, tags->payload_offset);
    with_pcp += tags->customer->pcp != 0 ? 1 : 0;
    with_dei += tags->customer->dei ? 1 : 0;
    priority_tagged += tags->customer->vid == 0 ? 1 : 0;
    qinq += tags->service ? 1 : 0;
  }
  EXPECT_GT(with_pcp, 0);
  EXPECT_GT(with_dei, 0);
  EXPECT_GT(priority_tagged, 0);
  EXPECT_GT(qinq, 0);
}

}  // namespace
}  // namespace tapir::wire
