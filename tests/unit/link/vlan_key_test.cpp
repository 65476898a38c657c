// link/vlan_key: which VLAN a frame is on (IEEE 802.1Q-2018 §9.6, Table 9-2: a priority tag
// carries no VLAN), and the header an interface writes, compared byte for byte with the tags of
// frames crafted on Linux (tests/captures/vlan.pcap) and written into a poisoned buffer.
#include "stack/link/vlan_key.hpp"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/captures.hpp"

namespace tapir::link {
namespace {

using wire::EtherType;

// vlan.pcap: 1: C-tag VID 10 PCP 5, ARP; 3: C-tag VID 0 PCP 3 (a priority tag), IPv4;
// 4: S-tag VID 100 (0x88a8) around a C-tag VID 10, IPv4.
wire::VlanTags tags_of(Bytes frame) {
  auto tags = wire::parse_vlan_tags(wire::EthernetView(frame));
  EXPECT_TRUE(tags);
  return tags.value_or(wire::VlanTags{});
}

TEST(VlanKey, ClassifiesLinuxCraftedFrames) {
  const auto capture = test::load_capture("vlan.pcap");
  ASSERT_EQ(capture.frames.size(), 4U);
  EXPECT_EQ(classify(tags_of(capture.frames[0].bytes)), (VlanKey{std::nullopt, 10}));
  // IEEE 802.1Q-2018 §9.6, Table 9-2: the null VID: priority only, the untagged VLAN.
  EXPECT_TRUE(classify(tags_of(capture.frames[2].bytes)).untagged());
  // 802.1ad: the S-VID outside, the C-VID inside.
  EXPECT_EQ(classify(tags_of(capture.frames[3].bytes)), (VlanKey{100, 10}));
  EXPECT_EQ((VlanKey{100, 10}).header_len(), 22U);
  EXPECT_EQ((VlanKey{std::nullopt, 10}).header_len(), 18U);
  EXPECT_EQ(VlanKey{}.header_len(), 14U);
}

TEST(VlanKey, EmitsTheHeaderLinuxSends) {
  const auto capture = test::load_capture("vlan.pcap");
  ASSERT_EQ(capture.frames.size(), 4U);
  for (std::size_t n : {std::size_t{0}, std::size_t{3}}) {
    const Bytes frame = capture.frames[n].bytes;
    const wire::EthernetView eth(frame);
    const wire::VlanTags tags = tags_of(frame);
    const VlanKey key = classify(tags);
    const std::uint8_t pcp = tags.customer->pcp;
    std::vector<std::byte> out(key.header_len() + 2, std::byte{0xa5});
    emit_link_header(BytesMut(out).first(key.header_len()), eth.src(), eth.dst(), key, pcp,
                     tags.ethertype);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(key.header_len()),
                           frame.begin()))
        << "frame " << n + 1 << ": " << test::to_hex(out);
    // emit writes exactly the header, nothing after it.
    EXPECT_EQ(out[key.header_len()], std::byte{0xa5});
  }
}

TEST(VlanKey, EmitsAnUntaggedHeaderAndTheInterfacePcp) {
  const MacAddress src({2, 0, 0, 0, 0, 2});
  std::vector<std::byte> out(14, std::byte{0xa5});
  emit_link_header(out, src, MacAddress::broadcast(), VlanKey{}, 7, EtherType::Arp);
  EXPECT_EQ(wire::EthernetView(out).ethertype(), EtherType::Arp);  // no tag: the PCP is unused
  // IEEE 802.1Q-2018 §9.6: TCI = PCP (3 bits), DEI (1), VID (12); DEI is 0.
  out.assign(18, std::byte{0xa5});
  emit_link_header(out, src, MacAddress::broadcast(), VlanKey{std::nullopt, 4094}, 7,
                   EtherType::Ipv4);
  EXPECT_EQ(load_be16(out, 12), 0x8100);
  EXPECT_EQ(load_be16(out, 14), 0xeffe);  // PCP 7, DEI 0, VID 4094 (0xffe)
  EXPECT_EQ(load_be16(out, 16), 0x0800);
}

}  // namespace
}  // namespace tapir::link
