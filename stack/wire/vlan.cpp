#include "stack/wire/vlan.hpp"

namespace tapir::wire {
namespace {

bool is_tpid(EtherType t) {
  return t == EtherType::Vlan || t == EtherType::QinQ;
}

// Parses the tag at `offset` of the frame (the bytes after its TPID).
Result<VlanRepr> parse_tag_at(Bytes frame, std::size_t offset) {
  return VlanRepr::parse(VlanView(frame.subspan(offset)));
}

}  // namespace

Result<VlanRepr> VlanRepr::parse(const VlanView& view) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  // 802.1Q-2018 §9.6, Table 9-2: VID 0xFFF is reserved and shall not be transmitted in a tag.
  if (view.vid() == kReservedVid) return fail(Errc::bad_field);
  return VlanRepr{view.pcp(), view.dei(), view.vid(), view.ethertype()};
}

void VlanRepr::emit(const VlanViewMut& view) const {
  view.set_tci(
      static_cast<std::uint16_t>(((pcp & 0x7U) << 13) | (dei ? 0x1000U : 0U) | (vid & 0x0fffU)));
  view.set_ethertype(ethertype);
}

Result<VlanTags> parse_vlan_tags(const EthernetView& frame) {
  if (auto s = frame.check(); !s) return tl::unexpected(s.error());
  const Bytes bytes = frame.buffer();
  VlanTags tags;
  tags.ethertype = frame.ethertype();
  tags.payload_offset = EthernetView::header_len;
  // 802.1Q-2018 §9.5, Table 9-1: TPID 0x88a8 opens an S-tag, the outer tag of an 802.1ad frame.
  if (tags.ethertype == EtherType::QinQ) {
    auto tag = parse_tag_at(bytes, tags.payload_offset);
    if (!tag) return tl::unexpected(tag.error());
    tags.service = *tag;
    tags.ethertype = tag->ethertype;
    tags.payload_offset += VlanView::header_len;
  }
  // 802.1Q-2018 §9.5, Table 9-1: TPID 0x8100 opens a C-tag, alone or inside the S-tag.
  if (tags.ethertype == EtherType::Vlan) {
    auto tag = parse_tag_at(bytes, tags.payload_offset);
    if (!tag) return tl::unexpected(tag.error());
    tags.customer = *tag;
    tags.ethertype = tag->ethertype;
    tags.payload_offset += VlanView::header_len;
  }
  if (is_tpid(tags.ethertype)) return fail(Errc::unsupported);
  return tags;
}

}  // namespace tapir::wire
