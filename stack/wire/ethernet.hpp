// Ethernet II frames (IEEE 802.3 clause 3.2 with the DIX EtherType interpretation, RFC 894).
//
//   0                   6                  12        14
//  +-------------------+-------------------+---------+----------------
//  | destination MAC   | source MAC        | type    | payload (46..1500, padded)
//  +-------------------+-------------------+---------+----------------
//
// The frame check sequence is not part of what a TAP or a pcap carries.
#pragma once

#include <cstdint>

#include "stack/base/mac_address.hpp"
#include "stack/wire/common.hpp"

namespace tapir::wire {

// Unknown values are representable: any 16-bit value may be held.
enum class EtherType : std::uint16_t {
  Ipv4 = 0x0800,
  Arp = 0x0806,
  Vlan = 0x8100,  // IEEE 802.1Q customer tag
  Ipv6 = 0x86dd,
  QinQ = 0x88a8,  // IEEE 802.1ad service tag
};

template <ByteType B>
class BasicEthernetView {
 public:
  static constexpr std::size_t header_len = 14;
  // Ethernet's minimum frame without FCS: shorter frames are padded on send.
  static constexpr std::size_t min_frame_len = 60;

  explicit BasicEthernetView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>)
      BasicEthernetView(const BasicEthernetView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // RFC 894: the buffer must hold at least the 14-byte header.
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicEthernetView> checked(gsl::span<B> buffer) {
    BasicEthernetView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  MacAddress dst() const { return MacAddress::from_bytes(buf_, 0); }
  MacAddress src() const { return MacAddress::from_bytes(buf_, 6); }
  EtherType ethertype() const { return static_cast<EtherType>(load_be16(buf_, 12)); }
  gsl::span<B> payload() const { return buf_.subspan(header_len); }
  gsl::span<B> buffer() const { return buf_; }

  void set_dst(MacAddress m) const requires kIsMutable<B> { m.to_bytes(buf_, 0); }
  void set_src(MacAddress m) const requires kIsMutable<B> { m.to_bytes(buf_, 6); }
  void set_ethertype(EtherType t) const requires kIsMutable<B> {
    store_be16(buf_, 12, static_cast<std::uint16_t>(t));
  }

 private:
  gsl::span<B> buf_;
};

using EthernetView = BasicEthernetView<const std::byte>;
using EthernetViewMut = BasicEthernetView<std::byte>;

struct EthernetRepr {
  MacAddress src;
  MacAddress dst;
  EtherType ethertype{};

  // The view must have passed check().
  static Result<EthernetRepr> parse(const EthernetView& view);
  // Bytes emit() writes: the header only; the payload follows it in the same buffer.
  static constexpr std::size_t buffer_len() { return EthernetView::header_len; }
  void emit(const EthernetViewMut& view) const;

  bool operator==(const EthernetRepr&) const = default;
};

}  // namespace tapir::wire
