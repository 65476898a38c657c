// UDP datagrams (RFC 768, with the host requirements of RFC 1122 §4.1.3).
//
//    0      7 8     15 16    23 24    31
//   +--------+--------+--------+--------+
//   |   Source Port   |    Dest Port    |
//   +--------+--------+--------+--------+
//   |     Length      |    Checksum     |
//   +--------+--------+--------+--------+
//   |          payload (Length - 8)  ...
//
// The checksum covers an IPv4 pseudo-header (source and destination address, zero, protocol 17,
// UDP length), the UDP header and the payload. A transmitted zero means "no checksum"; a
// computed zero is sent as 0xFFFF, its ones' complement twin.
//
// Per-frame cost: parse() and emit() make one pass over the datagram for the checksum and copy
// nothing; emit() expects the payload to be in place in the view already.
#pragma once

#include <cstdint>

#include "stack/base/checksum.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/wire/common.hpp"
#include "stack/wire/ipv4.hpp"

namespace tapir::wire {

template <ByteType B>
class BasicUdpView {
 public:
  static constexpr std::size_t header_len = 8;
  // RFC 768: the protocol number in the pseudo-header.
  static constexpr auto protocol_number = static_cast<std::uint8_t>(IpProtocol::Udp);

  explicit BasicUdpView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>) BasicUdpView(const BasicUdpView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer holds the header, and all Length bytes (it may hold more, which payload() leaves
  // out).
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    // RFC 768: Length counts the header and the data, so its minimum value is eight.
    if (len() < header_len) return fail(Errc::bad_length);
    if (len() > buf_.size()) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicUdpView> checked(gsl::span<B> buffer) {
    BasicUdpView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  std::uint16_t src_port() const { return load_be16(buf_, 0); }
  std::uint16_t dst_port() const { return load_be16(buf_, 2); }
  std::uint16_t len() const { return load_be16(buf_, 4); }
  std::uint16_t checksum() const { return load_be16(buf_, 6); }
  // The bytes after the header up to Length.
  gsl::span<B> payload() const { return buf_.subspan(header_len, len() - header_len); }
  gsl::span<B> buffer() const { return buf_; }

  // RFC 768: the checksum over pseudo-header, header and data, in one pass over the Length
  // bytes; summed with the checksum in place it verifies as zero. A zero checksum field (none
  // sent) is not special-cased here: the repr decides.
  bool verify_checksum(Ipv4Address src, Ipv4Address dst) const {
    const std::uint32_t acc = pseudo_header_sum(src, dst, protocol_number, len());
    return checksum_finish(checksum_add(buf_.first(len()), acc)) == 0;
  }

  void set_src_port(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 0, v); }
  void set_dst_port(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 2, v); }
  void set_len(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 4, v); }
  void set_checksum(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 6, v); }
  // Computes the checksum over the Length bytes now in the buffer and stores it; RFC 768: a
  // computed zero is transmitted as all ones.
  void fill_checksum(Ipv4Address src, Ipv4Address dst) const requires kIsMutable<B> {
    set_checksum(0);
    const std::uint32_t acc = pseudo_header_sum(src, dst, protocol_number, len());
    const std::uint16_t sum = checksum_finish(checksum_add(buf_.first(len()), acc));
    set_checksum(sum == 0 ? std::uint16_t{0xffff} : sum);
  }

 private:
  gsl::span<B> buf_;
};

using UdpView = BasicUdpView<const std::byte>;
using UdpViewMut = BasicUdpView<std::byte>;

struct UdpRepr {
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::size_t payload_len = 0;  // Length minus 8

  // Runs view.check(). src_ip and dst_ip are the addresses of the carrying IPv4 header. With
  // policy.verify_rx a checksum that does not verify is Errc::bad_checksum; RFC 768 and
  // RFC 1122 §4.1.3.4: a zero checksum field means the sender computed none, and is accepted.
  static Result<UdpRepr> parse(const UdpView& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                               ChecksumPolicy policy);

  // Header and payload.
  std::size_t buffer_len() const { return UdpView::header_len + payload_len; }

  // Writes the 8 header bytes. The payload must already be in the view's payload area (bytes
  // 8 .. buffer_len()), since the checksum covers it; emit() does not copy it. With
  // policy.fill_tx the checksum is computed (a zero result sent as 0xFFFF), otherwise zero is
  // written (none sent). Requires buffer_len() <= 65535 and a view at least that long.
  void emit(const UdpViewMut& view, Ipv4Address src_ip, Ipv4Address dst_ip,
            ChecksumPolicy policy) const;

  bool operator==(const UdpRepr&) const = default;
};

}  // namespace tapir::wire
