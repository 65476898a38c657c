// IPv4 datagrams (RFC 791 §3.1, with the host requirements of RFC 1122 §3.2.1).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |R|D|M|     Fragment Offset     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options (0..40 bytes, IHL > 5)             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Payload (up to Total Length)               |
//
// R is the reserved flag, D "don't fragment", M "more fragments". The old TOS byte is split into
// DSCP (RFC 2474 §3) and ECN (RFC 3168 §5). The fragment offset is given in 8-byte units on the
// wire; this codec speaks it in bytes everywhere (getter, setter and repr).
//
// Two ways to check a view:
//  - check() validates a whole datagram: the header, and Total Length against the buffer. After
//    it, payload() is exactly the bytes up to Total Length (Ethernet padding is trimmed off).
//  - check_header() validates the header alone and allows the datagram to be cut short, as in
//    the copy an ICMP error quotes (RFC 1122 §3.2.2: at least the header and 8 bytes; Linux
//    quotes up to 576 bytes in all). After it, payload() is what is present, at most Total
//    Length. Ipv4Repr::parse_quoted() uses it.
//
// Options are not interpreted here: the repr keeps them verbatim (at most 40 bytes, inline).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "stack/base/checksum.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/wire/common.hpp"

namespace tapir::wire {

// RFC 790 / IANA "Assigned Internet Protocol Numbers". Unknown values are representable: any
// 8-bit value may be held.
enum class IpProtocol : std::uint8_t {
  Icmp = 1,
  Tcp = 6,
  Udp = 17,
};

template <ByteType B>
class BasicIpv4View {
 public:
  static constexpr std::size_t min_header_len = 20;
  static constexpr std::size_t max_header_len = 60;
  static constexpr std::uint8_t version_4 = 4;

  explicit BasicIpv4View(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>) BasicIpv4View(const BasicIpv4View<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The header alone: version, IHL and Total Length are consistent and the header (with its
  // options) is inside the buffer; the rest of the datagram may be missing.
  Status check_header() const {
    if (buf_.size() < min_header_len) return fail(Errc::truncated);
    // RFC 791 §3.1: the version field is 4.
    if (version() != version_4) return fail(Errc::bad_version);
    // RFC 791 §3.1: IHL is the header length in 32-bit words; minimum 5.
    if (ihl() < 5) return fail(Errc::bad_header_len);
    if (header_len() > buf_.size()) return fail(Errc::truncated);
    // RFC 791 §3.1: Total Length counts the header and the data.
    if (total_len() < header_len()) return fail(Errc::bad_length);
    return ok();
  }
  // A whole datagram: check_header(), and the buffer holds all Total Length bytes (it may hold
  // more: link-layer padding, which payload() leaves out).
  Status check() const {
    if (auto s = check_header(); !s) return s;
    if (total_len() > buf_.size()) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicIpv4View> checked(gsl::span<B> buffer) {
    BasicIpv4View v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  std::uint8_t version() const { return static_cast<std::uint8_t>(load_u8(buf_, 0) >> 4); }
  // The header length in 32-bit words, as on the wire.
  std::uint8_t ihl() const { return static_cast<std::uint8_t>(load_u8(buf_, 0) & 0x0fU); }
  std::size_t header_len() const { return std::size_t{ihl()} * 4; }
  std::uint8_t dscp() const { return static_cast<std::uint8_t>(load_u8(buf_, 1) >> 2); }
  std::uint8_t ecn() const { return static_cast<std::uint8_t>(load_u8(buf_, 1) & 0x03U); }
  std::uint16_t total_len() const { return load_be16(buf_, 2); }
  std::uint16_t ident() const { return load_be16(buf_, 4); }
  // RFC 791 §3.1: bit 0 of the flags is reserved and must be zero.
  bool reserved_flag() const { return (load_u8(buf_, 6) & 0x80U) != 0; }
  bool dont_frag() const { return (load_u8(buf_, 6) & 0x40U) != 0; }
  bool more_frags() const { return (load_u8(buf_, 6) & 0x20U) != 0; }
  // RFC 791 §3.1: the offset is measured in units of 8 octets; returned here in bytes.
  std::uint16_t frag_offset() const {
    return static_cast<std::uint16_t>((load_be16(buf_, 6) & 0x1fffU) * 8U);
  }
  std::uint8_t ttl() const { return load_u8(buf_, 8); }
  IpProtocol protocol() const { return static_cast<IpProtocol>(load_u8(buf_, 9)); }
  std::uint16_t checksum() const { return load_be16(buf_, 10); }
  Ipv4Address src() const { return Ipv4Address::from_bytes(buf_, 12); }
  Ipv4Address dst() const { return Ipv4Address::from_bytes(buf_, 16); }
  gsl::span<B> options() const {
    return buf_.subspan(min_header_len, header_len() - min_header_len);
  }
  // The bytes after the header up to Total Length (after check()), or up to the end of the
  // buffer if that comes first (after check_header() on a quoted datagram).
  gsl::span<B> payload() const {
    const std::size_t end = std::min<std::size_t>(total_len(), buf_.size());
    return buf_.subspan(header_len(), end - header_len());
  }
  gsl::span<B> buffer() const { return buf_; }

  // RFC 791 §3.1: the checksum is the 16-bit ones' complement of the ones' complement sum of
  // all 16-bit words in the header; summed with the checksum in place it verifies as zero.
  bool verify_checksum() const { return internet_checksum(buf_.first(header_len())) == 0; }

  void set_version(std::uint8_t v) const requires kIsMutable<B> {
    Expects(v < 16);
    store_u8(buf_, 0, static_cast<std::uint8_t>((unsigned{v} << 4) | (load_u8(buf_, 0) & 0x0fU)));
  }
  // In bytes: a multiple of 4 from 20 to 60.
  void set_header_len(std::size_t len) const requires kIsMutable<B> {
    Expects(len % 4 == 0 && len >= min_header_len && len <= max_header_len);
    store_u8(buf_, 0, static_cast<std::uint8_t>((load_u8(buf_, 0) & 0xf0U) | (len / 4)));
  }
  void set_dscp(std::uint8_t v) const requires kIsMutable<B> {
    Expects(v < 64);
    store_u8(buf_, 1, static_cast<std::uint8_t>((unsigned{v} << 2) | (load_u8(buf_, 1) & 0x03U)));
  }
  void set_ecn(std::uint8_t v) const requires kIsMutable<B> {
    Expects(v < 4);
    store_u8(buf_, 1, static_cast<std::uint8_t>((load_u8(buf_, 1) & 0xfcU) | unsigned{v}));
  }
  void set_total_len(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 2, v); }
  void set_ident(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 4, v); }
  void set_reserved_flag(bool on) const requires kIsMutable<B> { set_flag(0x80U, on); }
  void set_dont_frag(bool on) const requires kIsMutable<B> { set_flag(0x40U, on); }
  void set_more_frags(bool on) const requires kIsMutable<B> { set_flag(0x20U, on); }
  // In bytes: a multiple of 8 below 65536. Leaves the three flag bits as they are.
  void set_frag_offset(std::uint16_t bytes) const requires kIsMutable<B> {
    Expects(bytes % 8 == 0);
    store_be16(buf_, 6, static_cast<std::uint16_t>((load_be16(buf_, 6) & 0xe000U) | (bytes / 8U)));
  }
  void set_ttl(std::uint8_t v) const requires kIsMutable<B> { store_u8(buf_, 8, v); }
  void set_protocol(IpProtocol p) const requires kIsMutable<B> {
    store_u8(buf_, 9, static_cast<std::uint8_t>(p));
  }
  void set_checksum(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 10, v); }
  void set_src(Ipv4Address a) const requires kIsMutable<B> { a.to_bytes(buf_, 12); }
  void set_dst(Ipv4Address a) const requires kIsMutable<B> { a.to_bytes(buf_, 16); }
  // Computes the header checksum over the header_len() bytes now in the buffer and stores it.
  void fill_checksum() const requires kIsMutable<B> {
    set_checksum(0);
    set_checksum(internet_checksum(buf_.first(header_len())));
  }

 private:
  void set_flag(unsigned mask, bool on) const requires kIsMutable<B> {
    const unsigned b = load_u8(buf_, 6);
    store_u8(buf_, 6, static_cast<std::uint8_t>(on ? (b | mask) : (b & ~mask)));
  }

  gsl::span<B> buf_;
};

using Ipv4View = BasicIpv4View<const std::byte>;
using Ipv4ViewMut = BasicIpv4View<std::byte>;

// The raw option bytes of a header, held inline (no allocation). Options are not interpreted;
// parse keeps them verbatim, emit writes them verbatim.
struct Ipv4Options {
  // RFC 791 §3.1: IHL is at most 15 words, so at most 40 bytes of options.
  static constexpr std::size_t max_len = 40;

  std::array<std::byte, max_len> buf{};
  std::uint8_t len = 0;

  // bytes.size() must be at most max_len.
  static Ipv4Options from_bytes(Bytes bytes) {
    Expects(bytes.size() <= max_len);
    Ipv4Options o;
    std::copy(bytes.begin(), bytes.end(), o.buf.begin());
    o.len = static_cast<std::uint8_t>(bytes.size());
    return o;
  }
  Bytes bytes() const { return Bytes(buf).first(len); }
  bool empty() const { return len == 0; }

  // Only the first len bytes take part.
  bool operator==(const Ipv4Options& other) const {
    return std::ranges::equal(bytes(), other.bytes());
  }
};

struct Ipv4Repr {
  Ipv4Address src;
  Ipv4Address dst;
  IpProtocol protocol{};
  std::uint8_t ttl = 64;
  std::uint8_t dscp = 0;  // 0..63
  std::uint8_t ecn = 0;   // 0..3
  std::uint16_t ident = 0;
  bool dont_frag = false;
  bool more_frags = false;
  std::uint16_t frag_offset = 0;  // in bytes; a multiple of 8
  std::size_t payload_len = 0;    // Total Length minus the header length
  Ipv4Options options;            // its len a multiple of 4; the header length follows from it

  // A whole datagram (runs view.check()). With policy.verify_rx, a header checksum that does not
  // verify is Errc::bad_checksum.
  //
  // RFC 791 §3.1: the reserved flag must be zero. A set reserved flag is accepted but not kept
  // (emit always writes zero): RFC 1122 §3.2.1 asks hosts to be liberal in what they accept,
  // and Linux forwards and delivers such datagrams too.
  static Result<Ipv4Repr> parse(const Ipv4View& view, ChecksumPolicy policy);
  // The header quoted in an ICMP error (runs view.check_header()): the checksum is not verified
  // and the datagram may be cut short, so payload_len is what the quoted Total Length declares,
  // usually more than the quote holds.
  static Result<Ipv4Repr> parse_quoted(const Ipv4View& view);

  std::size_t header_len() const { return Ipv4View::min_header_len + options.len; }
  // Header and payload: what Total Length says.
  std::size_t buffer_len() const { return header_len() + payload_len; }

  // Writes the header_len() bytes of the header, options included, and the header checksum
  // (zero unless policy.fill_tx). The view must hold at least header_len() bytes; the payload
  // after the header is the caller's and is not touched. Requires frag_offset % 8 == 0,
  // options.len % 4 == 0, dscp < 64, ecn < 4 and buffer_len() <= 65535.
  void emit(const Ipv4ViewMut& view, ChecksumPolicy policy) const;

  bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace tapir::wire
