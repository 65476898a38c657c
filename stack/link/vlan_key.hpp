// Which VLAN a frame belongs to on a device, and the Ethernet header (with its tags) that an
// interface on a VLAN writes (IEEE 802.1Q-2018 §9, 802.1ad service tags).
//
// A device carries one interface per VlanKey: the untagged one (no tags), 802.1Q tagged ones
// (a C-VID, like Linux's eth0.10) and 802.1ad ones (an S-VID, with or without a C-VID inside).
// The stack keys each received frame with classify() and hands it to the interface with that
// key; a frame of an interface leaves with the header emit_link_header() writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/bytes.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/vlan.hpp"

namespace tapir::link {

struct VlanKey {
  std::optional<std::uint16_t> service;   // S-VID (TPID 0x88a8), 1..4094
  std::optional<std::uint16_t> customer;  // C-VID (TPID 0x8100), 1..4094

  bool untagged() const { return !service && !customer; }
  // Bytes of the Ethernet header with these tags: 14, 18 or 22.
  std::size_t header_len() const {
    return wire::EthernetView::header_len + (service ? wire::VlanView::header_len : 0) +
           (customer ? wire::VlanView::header_len : 0);
  }
  bool operator==(const VlanKey&) const = default;
};

// The largest header emit_link_header() writes: Ethernet, an S-tag and a C-tag.
inline constexpr std::size_t kMaxLinkHeaderLen =
    wire::EthernetView::header_len + 2 * wire::VlanView::header_len;

// The VLAN of a frame with these tags. IEEE 802.1Q-2018 §9.6, Table 9-2: a tag with the null
// VID (0) is a priority tag; it carries PCP and DEI only, and the frame belongs to the VLAN it
// would have without the tag (so a priority-tagged frame goes to the untagged interface).
VlanKey classify(const wire::VlanTags& tags);

// Writes the Ethernet header of an interface on `key` into `header` (exactly
// key.header_len() bytes): dst, src, then the S-tag and the C-tag when the key has them
// (802.1ad stacks the S-tag outside, 802.1Q-2018 §9.5 Table 9-1), each with `pcp` and DEI 0,
// then `type`.
void emit_link_header(BytesMut header, MacAddress src, MacAddress dst, const VlanKey& key,
                      std::uint8_t pcp, wire::EtherType type);

}  // namespace tapir::link
