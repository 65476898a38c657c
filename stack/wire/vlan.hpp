// IEEE 802.1Q VLAN tags (IEEE 802.1Q-2018 §9.6), with IEEE 802.1ad service tags recognised.
//
// The tag's TPID is the EtherType of the enclosing header: 0x8100 for a customer tag (C-tag),
// 0x88a8 for a service tag (S-tag) (802.1Q-2018 §9.5, Table 9-1). The view covers the bytes
// after the TPID:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-----+-+-----------------------+-------------------------------+----------
//  | PCP |D|          VID          |      encapsulated EtherType   | payload
//  +-----+-+-----------------------+-------------------------------+----------
//   TCI: priority code point (3), drop eligible indicator (1), VLAN identifier (12)
//
// A QinQ frame (802.1ad) nests the tags: dst, src, 0x88a8, S-TCI, 0x8100, C-TCI, EtherType.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/wire/common.hpp"
#include "stack/wire/ethernet.hpp"

namespace tapir::wire {

template <ByteType B>
class BasicVlanView {
 public:
  // TCI and encapsulated EtherType.
  static constexpr std::size_t header_len = 4;

  explicit BasicVlanView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>) BasicVlanView(const BasicVlanView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer must hold the TCI and the encapsulated EtherType.
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicVlanView> checked(gsl::span<B> buffer) {
    BasicVlanView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  // 802.1Q-2018 §9.6: the TCI is PCP (3 bits), DEI (1 bit), VID (12 bits), most significant
  // first.
  std::uint16_t tci() const { return load_be16(buf_, 0); }
  std::uint8_t pcp() const { return static_cast<std::uint8_t>(tci() >> 13); }
  bool dei() const { return (tci() & 0x1000U) != 0; }
  std::uint16_t vid() const { return static_cast<std::uint16_t>(tci() & 0x0fffU); }
  EtherType ethertype() const { return static_cast<EtherType>(load_be16(buf_, 2)); }
  gsl::span<B> payload() const { return buf_.subspan(header_len); }
  gsl::span<B> buffer() const { return buf_; }

  void set_tci(std::uint16_t tci) const requires kIsMutable<B> { store_be16(buf_, 0, tci); }
  // The field setters keep the rest of the TCI and mask the value to its width.
  void set_pcp(std::uint8_t pcp) const requires kIsMutable<B> {
    set_tci(static_cast<std::uint16_t>((tci() & 0x1fffU) | ((pcp & 0x7U) << 13)));
  }
  void set_dei(bool dei) const requires kIsMutable<B> {
    set_tci(static_cast<std::uint16_t>((tci() & 0xefffU) | (dei ? 0x1000U : 0U)));
  }
  void set_vid(std::uint16_t vid) const requires kIsMutable<B> {
    set_tci(static_cast<std::uint16_t>((tci() & 0xf000U) | (vid & 0x0fffU)));
  }
  void set_ethertype(EtherType t) const requires kIsMutable<B> {
    store_be16(buf_, 2, static_cast<std::uint16_t>(t));
  }

 private:
  gsl::span<B> buf_;
};

using VlanView = BasicVlanView<const std::byte>;
using VlanViewMut = BasicVlanView<std::byte>;

struct VlanRepr {
  // 802.1Q-2018 §9.6, Table 9-2: VID 0 is the null VLAN ID (a priority tag: the frame belongs
  // to the port's VLAN and the tag carries only PCP/DEI); VID 0xFFF is reserved.
  static constexpr std::uint16_t kPriorityTagVid = 0x000;
  static constexpr std::uint16_t kReservedVid = 0xfff;

  std::uint8_t pcp = 0;   // 0..7
  bool dei = false;       // drop eligible
  std::uint16_t vid = 0;  // 0..4094
  EtherType ethertype{};  // the encapsulated (inner) EtherType

  // Errc::truncated from check(); Errc::bad_field for VID 0xFFF.
  static Result<VlanRepr> parse(const VlanView& view);
  // Bytes emit() writes: the TCI and the EtherType; the payload follows in the same buffer.
  static constexpr std::size_t buffer_len() { return VlanView::header_len; }
  // pcp and vid are masked to their 3 and 12 bits.
  void emit(const VlanViewMut& view) const;

  bool operator==(const VlanRepr&) const = default;
};

// The tags of one Ethernet frame, outermost first, as an 802.1ad bridge sees them.
struct VlanTags {
  std::optional<VlanRepr> service;   // S-tag (TPID 0x88a8), if the frame has one
  std::optional<VlanRepr> customer;  // C-tag (TPID 0x8100), if the frame has one
  EtherType ethertype{};             // the EtherType after the last tag (or the frame's own)
  std::size_t payload_offset = 0;    // from the start of the frame: 14, 18 or 22

  bool operator==(const VlanTags&) const = default;
};

// Walks the tag stack of a whole Ethernet frame: an optional S-tag, then an optional C-tag
// (802.1Q-2018 §9.5, Table 9-1; 802.1ad stacks the S-tag outside the C-tag). An untagged frame
// gives neither tag and offset 14. Errors: Errc::truncated (the frame or a tag is cut short),
// Errc::bad_field (a tag with VID 0xFFF), Errc::unsupported (any other tag stack: more than two
// tags, an S-tag inside an S-tag, or any tag inside a C-tag, e.g. legacy 0x8100-in-0x8100).
Result<VlanTags> parse_vlan_tags(const EthernetView& frame);

}  // namespace tapir::wire
