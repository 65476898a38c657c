// VXLAN, Virtual eXtensible Local Area Network (RFC 7348): an Ethernet frame carried in UDP
// to port 4789. The 8-byte header (RFC 7348 §5) is followed by the inner Ethernet frame.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-----------------------------------------------+
//  |R|R|R|R|I|R|R|R|                   reserved                    |
//  +-+-+-+-+-+-+-+-+-----------------------------------------------+
//  |            VXLAN network identifier (VNI)     |   reserved    |
//  +-----------------------------------------------+---------------+
//  | inner Ethernet frame ...
//
// The outer frame is Ethernet / IPv4 / UDP (dst port 4789) / VXLAN / inner Ethernet.
#pragma once

#include <cstdint>

#include "stack/wire/common.hpp"

namespace tapir::wire {

// RFC 7348 §5: the IANA-assigned UDP destination port for VXLAN.
inline constexpr std::uint16_t kVxlanPort = 4789;

template <ByteType B>
class BasicVxlanView {
 public:
  static constexpr std::size_t header_len = 8;
  // RFC 7348 §5: the I flag, set for a valid VNI.
  static constexpr std::uint8_t kFlagI = 0x08;
  static constexpr std::uint32_t kMaxVni = 0xffffff;

  explicit BasicVxlanView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>)
      BasicVxlanView(const BasicVxlanView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer must hold the 8-byte header.
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicVxlanView> checked(gsl::span<B> buffer) {
    BasicVxlanView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  // The whole flags byte, reserved bits included.
  std::uint8_t flags() const { return load_u8(buf_, 0); }
  bool i_flag() const { return (flags() & kFlagI) != 0; }
  // The 24 bits of bytes 4..6.
  std::uint32_t vni() const { return load_be32(buf_, 4) >> 8; }
  // The reserved fields as they are on the wire: bytes 1..3 and byte 7.
  std::uint32_t reserved1() const { return load_be32(buf_, 0) & 0x00ffffffU; }
  std::uint8_t reserved2() const { return load_u8(buf_, 7); }
  // The inner Ethernet frame.
  gsl::span<B> payload() const { return buf_.subspan(header_len); }
  gsl::span<B> buffer() const { return buf_; }

  void set_flags(std::uint8_t flags) const requires kIsMutable<B> { store_u8(buf_, 0, flags); }
  // Writes bytes 4..6 (the value is masked to 24 bits); byte 7 is left alone.
  void set_vni(std::uint32_t vni) const requires kIsMutable<B> {
    store_u8(buf_, 4, static_cast<std::uint8_t>((vni >> 16) & 0xffU));
    store_u8(buf_, 5, static_cast<std::uint8_t>((vni >> 8) & 0xffU));
    store_u8(buf_, 6, static_cast<std::uint8_t>(vni & 0xffU));
  }
  // RFC 7348 §5: the reserved fields MUST be set to zero on transmission (bytes 1..3 and 7;
  // the reserved flag bits are part of set_flags()).
  void clear_reserved() const requires kIsMutable<B> {
    store_u8(buf_, 1, 0);
    store_u8(buf_, 2, 0);
    store_u8(buf_, 3, 0);
    store_u8(buf_, 7, 0);
  }

 private:
  gsl::span<B> buf_;
};

using VxlanView = BasicVxlanView<const std::byte>;
using VxlanViewMut = BasicVxlanView<std::byte>;

struct VxlanRepr {
  std::uint32_t vni = 0;  // 24 bits

  // Errc::truncated from check(); Errc::bad_field if the I flag is clear. Reserved bits are
  // ignored (RFC 7348 §5).
  static Result<VxlanRepr> parse(const VxlanView& view);
  // Bytes emit() writes: the 8-byte header; the inner frame follows in the same buffer.
  static constexpr std::size_t buffer_len() { return VxlanView::header_len; }
  // Writes flags 0x08, zero reserved fields and the VNI (masked to 24 bits).
  void emit(const VxlanViewMut& view) const;

  bool operator==(const VxlanRepr&) const = default;
};

}  // namespace tapir::wire
