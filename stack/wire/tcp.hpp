// TCP segments (RFC 9293 §3.1), with the options of RFC 9293 §3.2 (MSS), RFC 7323 (window scale,
// timestamps) and RFC 2018 (SACK).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |       |       |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options (0..40 bytes)      |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                             Data                              |
//
// Data Offset is the header length in 32-bit words (5..15). The checksum covers an IPv4
// pseudo-header (source, destination, zero, protocol 6, TCP length), the header and the data.
// A TCP segment has no length field: the segment is the whole span the IP layer hands over.
//
// Options (RFC 9293 §3.2): a single byte kind 0 (End of Option List) or 1 (No-Operation), or
// kind, length (counting kind and length), data:
//
//   kind 2  len 4   MSS: maximum segment size, 16 bits           (RFC 9293 §3.2, RFC 6691)
//   kind 3  len 3   window scale: shift count, 8 bits            (RFC 7323 §2.2)
//   kind 4  len 2   SACK permitted                               (RFC 2018 §2)
//   kind 5  len 2+8n SACK: n = 1..4 blocks of (left edge, right edge) (RFC 2018 §3)
//   kind 8  len 10  timestamps: TSval, TSecr, 32 bits each       (RFC 7323 §3.2)
//
// Decisions this codec makes:
//  - The 4 reserved bits (RFC 9293 §3.1: "must be zero in generated segments and must be
//    ignored in received segments"; the last one was RFC 3540's NS bit, now historic, and is
//    AccECN's AE bit in drafts) are readable through the view for tracing, ignored by
//    TcpRepr::parse() and written as zero by every setter and by emit().
//  - TcpRepr::ack_number is present iff the ACK bit is set, and urgent_pointer iff URG is set;
//    the repr has no separate ACK or URG flag, so it cannot hold the two disagreeing. Without
//    ACK (URG) the field is written as zero, as Linux does.
//  - Options are parsed whatever the segment's flags (MSS, window scale and SACK-permitted are
//    only meaningful on a SYN: the TCP layer decides). A repeated option keeps its last value.
//    Unknown options are skipped by their length and not kept in the repr.
//  - emit() lays options out exactly as Linux's tcp_options_write() does, so a segment from
//    Linux re-emits to identical bytes (see TcpRepr::emit()).
//
// Per-segment cost: parse() and emit() each make one pass over the segment for the checksum
// and copy nothing else; emit() expects the payload to be in place in the view already.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>

#include "stack/base/checksum.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/wire/common.hpp"
#include "stack/wire/seq_num.hpp"

namespace tapir::wire {

// RFC 9293 §3.1: the control bits, byte 13 of the header.
enum class TcpFlag : std::uint8_t {
  Fin = 0x01,
  Syn = 0x02,
  Rst = 0x04,
  Psh = 0x08,
  Ack = 0x10,
  Urg = 0x20,
  Ece = 0x40,  // RFC 3168 §6.1
  Cwr = 0x80,  // RFC 3168 §6.1
};

// IANA "TCP Option Kind Numbers". Unknown values are representable: any 8-bit value may be held.
enum class TcpOptionKind : std::uint8_t {
  End = 0,
  Nop = 1,
  Mss = 2,
  WindowScale = 3,
  SackPermitted = 4,
  Sack = 5,
  Timestamps = 8,
};

// One option as it is on the wire. `data` is what follows the kind and length bytes (empty for
// End and Nop); for the kinds above its length has been checked.
struct TcpOption {
  TcpOptionKind kind{};
  Bytes data;
};

// Walks an options area one option at a time; never reads outside it. Each step yields a
// Result<TcpOption>: an option, or Errc::bad_option for a malformed length, after which the
// walk ends. End (kind 0) is yielded and ends the walk; the bytes after it are padding.
//
//   for (const auto& opt : view.option_list()) { if (!opt) ...; use(opt->kind, opt->data); }
class TcpOptionIterator {
 public:
  using value_type = Result<TcpOption>;
  using difference_type = std::ptrdiff_t;

  TcpOptionIterator() = default;
  explicit TcpOptionIterator(Bytes area) : area_(area) { advance(); }

  const value_type& operator*() const { return current_; }
  const value_type* operator->() const { return &current_; }
  TcpOptionIterator& operator++() {
    advance();
    return *this;
  }
  void operator++(int) { advance(); }
  bool operator==(std::default_sentinel_t) const { return done_; }

 private:
  void advance();

  Bytes area_;
  std::size_t offset_ = 0;
  bool stopped_ = false;  // End or an error was yielded: the next step ends the walk
  bool done_ = false;
  value_type current_;
};

class TcpOptionRange {
 public:
  explicit TcpOptionRange(Bytes area) : area_(area) {}
  TcpOptionIterator begin() const { return TcpOptionIterator(area_); }
  std::default_sentinel_t end() const { return {}; }

 private:
  Bytes area_;
};

template <ByteType B>
class BasicTcpView {
 public:
  static constexpr std::size_t min_header_len = 20;
  static constexpr std::size_t max_header_len = 60;
  static constexpr std::size_t max_options_len = max_header_len - min_header_len;
  // The pseudo-header's TCP length is 16 bits: no segment is longer.
  static constexpr std::size_t max_segment_len = 0xffff;
  // RFC 9293 §3.1: the protocol number in the pseudo-header.
  static constexpr std::uint8_t protocol_number = 6;

  explicit BasicTcpView(gsl::span<B> buffer) noexcept : buf_(buffer) {}

  // A view from a writable one.
  template <ByteType B2>
  requires(std::is_const_v<B> && !std::is_const_v<B2>) BasicTcpView(const BasicTcpView<B2>& other)
  noexcept  // NOLINT(runtime/explicit)
      : buf_(other.buffer()) {}

  // The buffer holds the header with its options, every option is well formed, and the segment
  // fits a 16-bit TCP length. After it, option_list() yields no error.
  Status check() const {
    if (buf_.size() < min_header_len) return fail(Errc::truncated);
    // RFC 9293 §3.1: Data Offset is the header length in 32-bit words; minimum 5.
    if (header_len() < min_header_len) return fail(Errc::bad_header_len);
    if (header_len() > buf_.size()) return fail(Errc::truncated);
    if (buf_.size() > max_segment_len) return fail(Errc::bad_length);
    // RFC 9293 §3.2: every option's length must lie inside the options area.
    for (const auto& opt : option_list()) {
      if (!opt) return tl::unexpected(opt.error());
    }
    return ok();
  }
  static Result<BasicTcpView> checked(gsl::span<B> buffer) {
    BasicTcpView v(buffer);
    if (auto s = v.check(); !s) return tl::unexpected(s.error());
    return v;
  }

  std::uint16_t src_port() const { return load_be16(buf_, 0); }
  std::uint16_t dst_port() const { return load_be16(buf_, 2); }
  SeqNum seq_number() const { return SeqNum(load_be32(buf_, 4)); }
  // The raw field; RFC 9293 §3.1: it carries a value only when ACK is set.
  SeqNum ack_number() const { return SeqNum(load_be32(buf_, 8)); }
  std::size_t header_len() const { return static_cast<std::size_t>(load_u8(buf_, 12) >> 4U) * 4; }
  // The 4 reserved bits, for tracing only (RFC 9293 §3.1: ignored on receive).
  std::uint8_t reserved() const { return static_cast<std::uint8_t>(load_u8(buf_, 12) & 0x0fU); }
  // The control bits as a TcpFlag bit set.
  std::uint8_t flags() const { return load_u8(buf_, 13); }
  bool flag(TcpFlag f) const { return (flags() & static_cast<std::uint8_t>(f)) != 0; }
  bool fin() const { return flag(TcpFlag::Fin); }
  bool syn() const { return flag(TcpFlag::Syn); }
  bool rst() const { return flag(TcpFlag::Rst); }
  bool psh() const { return flag(TcpFlag::Psh); }
  bool ack() const { return flag(TcpFlag::Ack); }
  bool urg() const { return flag(TcpFlag::Urg); }
  bool ece() const { return flag(TcpFlag::Ece); }
  bool cwr() const { return flag(TcpFlag::Cwr); }
  // The raw window (RFC 7323 §2.3: the TCP layer applies the scale, never on a SYN).
  std::uint16_t window_len() const { return load_be16(buf_, 14); }
  std::uint16_t checksum() const { return load_be16(buf_, 16); }
  std::uint16_t urgent_pointer() const { return load_be16(buf_, 18); }

  // The options area with its padding: bytes 20 .. header_len().
  gsl::span<B> options() const {
    return buf_.subspan(min_header_len, header_len() - min_header_len);
  }
  TcpOptionRange option_list() const { return TcpOptionRange(options()); }
  gsl::span<B> payload() const { return buf_.subspan(header_len()); }
  gsl::span<B> buffer() const { return buf_; }

  // RFC 9293 §3.1: the checksum over pseudo-header, header and data, in one pass over the
  // buffer; summed with the checksum in place it verifies as zero.
  bool verify_checksum(Ipv4Address src, Ipv4Address dst) const {
    return checksum_finish(checksum_add(buf_, pseudo_sum(src, dst))) == 0;
  }

  void set_src_port(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 0, v); }
  void set_dst_port(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 2, v); }
  void set_seq_number(SeqNum v) const requires kIsMutable<B> { store_be32(buf_, 4, v.value()); }
  void set_ack_number(SeqNum v) const requires kIsMutable<B> { store_be32(buf_, 8, v.value()); }
  // Writes Data Offset, and the reserved bits as zero (RFC 9293 §3.1). len is a multiple of 4
  // in 20..60.
  void set_header_len(std::size_t len) const requires kIsMutable<B> {
    Expects(len % 4 == 0 && len >= min_header_len && len <= max_header_len);
    store_u8(buf_, 12, static_cast<std::uint8_t>((len / 4) << 4U));
  }
  void set_flags(std::uint8_t bits) const requires kIsMutable<B> { store_u8(buf_, 13, bits); }
  void set_flag(TcpFlag f, bool on) const requires kIsMutable<B> {
    const auto bit = static_cast<std::uint8_t>(f);
    set_flags(static_cast<std::uint8_t>(on ? (flags() | bit) : (flags() & ~bit)));
  }
  void set_window_len(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 14, v); }
  void set_checksum(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 16, v); }
  void set_urgent_pointer(std::uint16_t v) const requires kIsMutable<B> { store_be16(buf_, 18, v); }
  // Computes the checksum over the whole buffer (header, options and data now in place) and
  // stores it.
  void fill_checksum(Ipv4Address src, Ipv4Address dst) const requires kIsMutable<B> {
    set_checksum(0);
    set_checksum(checksum_finish(checksum_add(buf_, pseudo_sum(src, dst))));
  }

 private:
  std::uint32_t pseudo_sum(Ipv4Address src, Ipv4Address dst) const {
    Expects(buf_.size() <= max_segment_len);
    return pseudo_header_sum(src, dst, protocol_number, static_cast<std::uint16_t>(buf_.size()));
  }

  gsl::span<B> buf_;
};

using TcpView = BasicTcpView<const std::byte>;
using TcpViewMut = BasicTcpView<std::byte>;

// RFC 2018 §3: one block of data received out of order, [left, right).
struct SackBlock {
  SeqNum left{};   // the first sequence number of the block
  SeqNum right{};  // the sequence number just after the last byte of the block
  bool operator==(const SackBlock&) const = default;
};

// RFC 7323 §3.2: the timestamps option.
struct TcpTimestamps {
  std::uint32_t tsval = 0;  // TS Value: the sender's clock
  std::uint32_t tsecr = 0;  // TS Echo Reply: valid only when ACK is set
  bool operator==(const TcpTimestamps&) const = default;
};

struct TcpRepr {
  // RFC 2018 §3: at most 4 blocks fit in 40 bytes of options.
  static constexpr std::size_t max_sack_blocks = 4;

  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  SeqNum seq_number{};
  std::optional<SeqNum> ack_number{};  // present iff the ACK bit is set
  bool fin = false;
  bool syn = false;
  bool rst = false;
  bool psh = false;
  bool ece = false;
  bool cwr = false;
  std::uint16_t window_len = 0;                   // raw, unscaled
  std::optional<std::uint16_t> urgent_pointer{};  // present iff the URG bit is set

  // Options, typed; held inline.
  // RFC 9293 §3.7.1 / RFC 6691: the largest segment data the sender will receive, IP and TCP
  // options not counted (1460 on a 1500-byte Ethernet MTU).
  std::optional<std::uint16_t> max_seg_size{};
  std::optional<std::uint8_t> window_scale{};  // raw shift count (RFC 7323 §2.3: > 14 means 14)
  bool sack_permitted = false;
  std::array<SackBlock, max_sack_blocks> sack_blocks{};  // the first sack_count are used
  std::size_t sack_count = 0;
  std::optional<TcpTimestamps> timestamps{};

  std::size_t payload_len = 0;

  // Runs view.check(). src_ip and dst_ip are the addresses of the carrying IPv4 header. With
  // policy.verify_rx a checksum that does not verify is Errc::bad_checksum.
  static Result<TcpRepr> parse(const TcpView& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                               ChecksumPolicy policy);

  // The SACK blocks in use.
  gsl::span<const SackBlock> sacks() const {
    Expects(sack_count <= max_sack_blocks);
    return {sack_blocks.data(), sack_count};
  }
  // The control bits as emit() writes them (ACK iff ack_number, URG iff urgent_pointer).
  std::uint8_t flags() const;

  // The header with the options laid out as emit() writes them: 20..60, a multiple of 4.
  // Requires the options to fit in 40 bytes (see emit()) and sack_count <= 4.
  std::size_t header_len() const;
  // Header and payload.
  std::size_t buffer_len() const { return header_len() + payload_len; }

  // Writes every header byte, options and padding included. The payload must already be in the
  // view's payload area (bytes header_len() .. buffer_len()), since the checksum covers it;
  // emit() does not copy it. With policy.fill_tx the checksum is computed over the first
  // buffer_len() bytes, otherwise zero is written. Requires a view at least buffer_len() long
  // and buffer_len() <= 65535.
  //
  // Options are laid out as Linux's tcp_options_write() does:
  //   MSS (2,4);
  //   SACK-permitted and timestamps: SACK_PERM (4,2) TS (8,10), no NOPs;
  //   timestamps alone: NOP NOP TS; SACK-permitted alone: NOP NOP SACK_PERM;
  //   window scale: NOP WSCALE (3,3);
  //   SACK blocks: NOP NOP SACK (5, 2+8n).
  // Every group is a multiple of 4 bytes, so no padding follows. Only if that layout would
  // exceed 40 bytes (possible for a parsed segment that packed its options tighter, never for
  // one Linux sent) are the options packed without NOPs in the same order and padded with End
  // bytes (zero) to a multiple of 4: so every repr parse() returns can be emitted. A repr whose
  // options do not fit even packed is a precondition violation.
  void emit(const TcpViewMut& view, Ipv4Address src_ip, Ipv4Address dst_ip,
            ChecksumPolicy policy) const;

  // Compares the SACK blocks in use only.
  bool operator==(const TcpRepr& other) const;
};

}  // namespace tapir::wire
