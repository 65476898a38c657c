// ICMP for IPv4 (RFC 792, with the host requirements of RFC 1122 §3.2.2 and the next-hop MTU
// of RFC 1191 §4).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Rest of header                            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Data ...
//
// Rest of header, by type:
//   echo request (8) / echo reply (0):  Identifier(16)  Sequence Number(16); data = echo data
//   destination unreachable (3):        unused(16)      Next-Hop MTU(16) (code 4, RFC 1191)
//   time exceeded (11):                 unused(32)
// In the two errors the data quotes the offending datagram: its IPv4 header (options included)
// and as much of its payload as the sender chose (RFC 792: at least 64 bits; RFC 1122 §3.2.2;
// Linux quotes up to 576 bytes in all, so the quoted Total Length is usually more than quoted).
//
// The checksum covers the whole ICMP message (header and data).
//
// Emit order: Icmpv4Repr::emit() writes the whole message itself, data included: it copies the
// repr's data span into place (the only copy of it; skipped when the span already is its place
// in the view), writes the quoted header of an error, and then computes the checksum over the
// finished message. Callers do not pre-write the data.
#pragma once

#include <algorithm>
#include <cstdint>
#include <variant>

#include "stack/base/checksum.hpp"
#include "stack/wire/common.hpp"
#include "stack/wire/ipv4.hpp"

namespace tapir::wire {

// RFC 792 (and the IANA registry). Unknown values are representable: any 8-bit value.
enum class Icmpv4Type : std::uint8_t {
  EchoReply = 0,
  DstUnreachable = 3,
  SourceQuench = 4,
  Redirect = 5,
  EchoRequest = 8,
  RouterAdvert = 9,    // RFC 1256
  RouterSolicit = 10,  // RFC 1256
  TimeExceeded = 11,
  ParamProblem = 12,
  Timestamp = 13,
  TimestampReply = 14,
};

// Destination unreachable codes: 0-5 RFC 792, 6-12 RFC 1122 §3.2.2.1, 13-15 RFC 1812 §5.2.7.1.
// Any other 8-bit value is representable.
enum class Icmpv4DstUnreachable : std::uint8_t {
  NetUnreachable = 0,
  HostUnreachable = 1,
  ProtocolUnreachable = 2,
  PortUnreachable = 3,
  FragmentationNeeded = 4,  // and DF set; RFC 1191 §4: the next-hop MTU rides along
  SourceRouteFailed = 5,
  DstNetUnknown = 6,
  DstHostUnknown = 7,
  SrcHostIsolated = 8,
  NetProhibited = 9,
  HostProhibited = 10,
  NetUnreachableForTos = 11,
  HostUnreachableForTos = 12,
  CommProhibited = 13,
  HostPrecedenceViolation = 14,
  PrecedenceCutoff = 15,
};

// Time exceeded codes (RFC 792). Any other 8-bit value is representable.
enum class Icmpv4TimeExceeded : std::uint8_t {
  TtlExceeded = 0,             // time to live exceeded in transit
  ReassemblyTimeExceeded = 1,  // fragment reassembly time exceeded
};

template <ByteType B>
class BasicIcmpv4View {
 public:
  static constexpr std::size_t header_len = 8;

  explicit BasicIcmpv4View(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>)
      BasicIcmpv4View(const BasicIcmpv4View<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer holds the 8-byte header. The message is the whole buffer (the IPv4 payload):
  // there is no length field.
  Status check() const {
    if (buf_.size() < header_len) return fail(Errc::truncated);
    return ok();
  }
  static Result<BasicIcmpv4View> checked(gsl::span<B> buffer) {
    BasicIcmpv4View v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  Icmpv4Type type() const { return static_cast<Icmpv4Type>(load_u8(buf_, 0)); }
  std::uint8_t code() const { return load_u8(buf_, 1); }
  std::uint16_t checksum() const { return load_be16(buf_, 2); }
  // The four bytes after the checksum, whatever the type.
  std::uint32_t rest_of_header() const { return load_be32(buf_, 4); }
  // RFC 792: echo request and reply.
  std::uint16_t ident() const { return load_be16(buf_, 4); }
  std::uint16_t seq_no() const { return load_be16(buf_, 6); }
  // RFC 1191 §4: destination unreachable, code 4: the low-order 16 bits of the second word.
  std::uint16_t next_hop_mtu() const { return load_be16(buf_, 6); }
  // Everything after the 8-byte header: the echo data, or an error's quoted datagram.
  gsl::span<B> payload() const { return buf_.subspan(header_len); }
  gsl::span<B> buffer() const { return buf_; }

  // RFC 792: the checksum is the 16-bit ones' complement of the ones' complement sum of the
  // ICMP message starting with the type; summed with the checksum in place it verifies as zero.
  bool verify_checksum() const { return internet_checksum(buf_) == 0; }

  void set_type(Icmpv4Type t) const requires kIsMutable<B> {
    store_u8(buf_, 0, static_cast<std::uint8_t>(t));
  }
  void set_code(std::uint8_t v) const requires kIsMutable<B> { store_u8(buf_, 1, v); }
  void set_checksum(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 2, v); }
  void set_rest_of_header(std::uint32_t v) const requires kIsMutable<B> { store_be32(buf_, 4, v); }
  void set_ident(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 4, v); }
  void set_seq_no(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 6, v); }
  void set_next_hop_mtu(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 6, v); }
  // Computes the checksum over the whole buffer as it now is and stores it.
  void fill_checksum() const requires kIsMutable<B> {
    set_checksum(0);
    set_checksum(internet_checksum(buf_));
  }

 private:
  gsl::span<B> buf_;
};

using Icmpv4View = BasicIcmpv4View<const std::byte>;
using Icmpv4ViewMut = BasicIcmpv4View<std::byte>;

// One ICMP message. The data spans point into the parsed buffer (or, to emit, wherever the
// caller keeps the bytes); operator== compares their contents.
struct Icmpv4Repr {
  // RFC 792: echo request and reply, code 0. An echo with another code parses as Other, so it
  // still round-trips.
  struct EchoRequest {
    std::uint16_t ident = 0;
    std::uint16_t seq_no = 0;
    Bytes data;
    bool operator==(const EchoRequest& o) const {
      return ident == o.ident && seq_no == o.seq_no && std::ranges::equal(data, o.data);
    }
  };
  struct EchoReply {
    std::uint16_t ident = 0;
    std::uint16_t seq_no = 0;
    Bytes data;
    bool operator==(const EchoReply& o) const {
      return ident == o.ident && seq_no == o.seq_no && std::ranges::equal(data, o.data);
    }
  };
  // header is the quoted IPv4 header (Ipv4Repr::parse_quoted); data is every byte after it to
  // the end of the message: the quoted payload, and anything past the quoted datagram's end.
  struct DstUnreachable {
    Icmpv4DstUnreachable code{};
    // RFC 1191 §4: the MTU of the next-hop network, for FragmentationNeeded; zero ("unused")
    // for the other codes and for RFC 1191 §5's old routers, kept as received.
    std::uint16_t next_hop_mtu = 0;
    Ipv4Repr header;
    Bytes data;
    bool operator==(const DstUnreachable& o) const {
      return code == o.code && next_hop_mtu == o.next_hop_mtu && header == o.header &&
             std::ranges::equal(data, o.data);
    }
  };
  struct TimeExceeded {
    Icmpv4TimeExceeded code{};
    Ipv4Repr header;
    Bytes data;
    bool operator==(const TimeExceeded& o) const {
      return code == o.code && header == o.header && std::ranges::equal(data, o.data);
    }
  };
  // Every other type, kept whole so it round-trips: data is everything after the header.
  struct Other {
    Icmpv4Type type{};
    std::uint8_t code = 0;
    std::uint32_t rest_of_header = 0;
    Bytes data;
    bool operator==(const Other& o) const {
      return type == o.type && code == o.code && rest_of_header == o.rest_of_header &&
             std::ranges::equal(data, o.data);
    }
  };
  using Message = std::variant<EchoRequest, EchoReply, DstUnreachable, TimeExceeded, Other>;

  Message message;

  // Runs view.check(); the message is the whole view. With policy.verify_rx a checksum that does
  // not verify is Errc::bad_checksum. An error message whose quoted header does not pass
  // Ipv4View::check_header() is rejected with that check's code (truncated, bad_version,
  // bad_header_len, bad_length).
  //
  // Not kept (emit writes zero): the unused bits of the rest-of-header of the two errors (the
  // high 16 bits for destination unreachable, all 32 for time exceeded; RFC 4884 puts a length
  // there, RFC 792 says unused), and, in the quoted header, its checksum (emit recomputes it)
  // and its reserved flag (as Ipv4Repr::parse).
  static Result<Icmpv4Repr> parse(const Icmpv4View& view, ChecksumPolicy policy);

  // The whole message: 8 bytes of header, the quoted header of an error, and the data.
  std::size_t buffer_len() const;

  // Writes all buffer_len() bytes (see the top of this file for the order): the header, an
  // error's quoted header (with a freshly computed header checksum, whatever the policy), the
  // data, and the ICMP checksum (zero unless policy.fill_tx). The view must hold at least
  // buffer_len() bytes; the checksum covers exactly those.
  void emit(const Icmpv4ViewMut& view, ChecksumPolicy policy) const;

  bool operator==(const Icmpv4Repr&) const = default;
};

}  // namespace tapir::wire
