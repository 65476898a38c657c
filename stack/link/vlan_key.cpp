#include "stack/link/vlan_key.hpp"

#include <gsl/assert>

namespace tapir::link {

namespace {

std::optional<std::uint16_t> vid_of(const std::optional<wire::VlanRepr>& tag) {
  // IEEE 802.1Q-2018 §9.6, Table 9-2: the null VID means "no VLAN, priority only".
  if (!tag || tag->vid == wire::VlanRepr::kPriorityTagVid) return std::nullopt;
  return tag->vid;
}

}  // namespace

VlanKey classify(const wire::VlanTags& tags) {
  return {vid_of(tags.service), vid_of(tags.customer)};
}

void emit_link_header(BytesMut header, MacAddress src, MacAddress dst, const VlanKey& key,
                      std::uint8_t pcp, wire::EtherType type) {
  Expects(header.size() == key.header_len());
  using wire::EtherType;
  const EtherType after_service = key.customer ? EtherType::Vlan : type;
  const EtherType outer = key.service ? EtherType::QinQ : after_service;
  wire::EthernetRepr{src, dst, outer}.emit(wire::EthernetViewMut(header));
  std::size_t at = wire::EthernetView::header_len;
  // IEEE 802.1Q-2018 §9.6: TCI = PCP, DEI, VID; then the EtherType of what follows the tag.
  if (key.service) {
    wire::VlanRepr{pcp, false, *key.service, after_service}.emit(
        wire::VlanViewMut(header.subspan(at)));
    at += wire::VlanView::header_len;
  }
  if (key.customer)
    wire::VlanRepr{pcp, false, *key.customer, type}.emit(wire::VlanViewMut(header.subspan(at)));
}

}  // namespace tapir::link
