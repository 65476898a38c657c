#include "stack/wire/tcp.hpp"

#include <algorithm>

namespace tapir::wire {
namespace {

// The option lengths of RFC 9293 §3.2 (MSS), RFC 7323 §2.2 and §3.2 (window scale,
// timestamps) and RFC 2018 §2 and §3 (SACK-permitted, SACK).
constexpr std::size_t kMssLen = 4;
constexpr std::size_t kWindowScaleLen = 3;
constexpr std::size_t kSackPermittedLen = 2;
constexpr std::size_t kTimestampsLen = 10;
constexpr std::size_t kSackBaseLen = 2;
constexpr std::size_t kSackBlockLen = 8;

bool known_len_ok(TcpOptionKind kind, std::size_t len) {
  switch (kind) {
    case TcpOptionKind::Mss:
      return len == kMssLen;
    case TcpOptionKind::WindowScale:
      return len == kWindowScaleLen;
    case TcpOptionKind::SackPermitted:
      return len == kSackPermittedLen;
    case TcpOptionKind::Timestamps:
      return len == kTimestampsLen;
    case TcpOptionKind::Sack: {
      // RFC 2018 §3: length 2 + 8n for n blocks, n = 1..4.
      if (len < kSackBaseLen + kSackBlockLen || (len - kSackBaseLen) % kSackBlockLen != 0) {
        return false;
      }
      return (len - kSackBaseLen) / kSackBlockLen <= TcpRepr::max_sack_blocks;
    }
    default:
      return true;  // unknown kinds: any length >= 2 inside the area
  }
}

// The options area in Linux's tcp_options_write() layout (see TcpRepr::emit()).
std::size_t linux_options_len(const TcpRepr& r) {
  std::size_t n = 0;
  if (r.max_seg_size) n += kMssLen;
  if (r.timestamps) {
    n += 2 + kTimestampsLen;  // SACK_PERM TS, or NOP NOP TS
  } else if (r.sack_permitted) {
    n += 2 + kSackPermittedLen;  // NOP NOP SACK_PERM
  }
  if (r.window_scale) n += 1 + kWindowScaleLen;
  if (r.sack_count != 0) n += 2 + kSackBaseLen + kSackBlockLen * r.sack_count;
  return n;
}

// The options packed without NOPs, padded to a multiple of 4.
std::size_t packed_options_len(const TcpRepr& r) {
  std::size_t n = 0;
  if (r.max_seg_size) n += kMssLen;
  if (r.sack_permitted) n += kSackPermittedLen;
  if (r.timestamps) n += kTimestampsLen;
  if (r.window_scale) n += kWindowScaleLen;
  if (r.sack_count != 0) n += kSackBaseLen + kSackBlockLen * r.sack_count;
  return (n + 3) / 4 * 4;
}

bool use_linux_layout(const TcpRepr& r) {
  return linux_options_len(r) <= TcpView::max_options_len;
}

// Appends to an options area whose size was computed beforehand.
class OptionWriter {
 public:
  explicit OptionWriter(BytesMut area) : area_(area) {}

  void u8(std::uint8_t v) { store_u8(area_, off_++, v); }
  void kind(TcpOptionKind k) { u8(static_cast<std::uint8_t>(k)); }
  void nop() { kind(TcpOptionKind::Nop); }
  void be16(std::uint16_t v) {
    store_be16(area_, off_, v);
    off_ += 2;
  }
  void be32(std::uint32_t v) {
    store_be32(area_, off_, v);
    off_ += 4;
  }

  void mss(std::uint16_t v) {
    kind(TcpOptionKind::Mss);
    u8(kMssLen);
    be16(v);
  }
  void sack_permitted() {
    kind(TcpOptionKind::SackPermitted);
    u8(kSackPermittedLen);
  }
  void timestamps(const TcpTimestamps& ts) {
    kind(TcpOptionKind::Timestamps);
    u8(kTimestampsLen);
    be32(ts.tsval);
    be32(ts.tsecr);
  }
  void window_scale(std::uint8_t shift) {
    kind(TcpOptionKind::WindowScale);
    u8(kWindowScaleLen);
    u8(shift);
  }
  void sack(gsl::span<const SackBlock> blocks) {
    kind(TcpOptionKind::Sack);
    u8(static_cast<std::uint8_t>(kSackBaseLen + kSackBlockLen * blocks.size()));
    for (const auto& b : blocks) {
      be32(b.left.value());
      be32(b.right.value());
    }
  }
  // RFC 9293 §3.2: the padding after the options is zeros (End of Option List).
  void pad_to_end() {
    while (off_ < area_.size())
      kind(TcpOptionKind::End);
  }
  std::size_t offset() const { return off_; }

 private:
  BytesMut area_;
  std::size_t off_ = 0;
};

void write_linux_layout(const TcpRepr& r, OptionWriter& w) {
  if (r.max_seg_size) w.mss(*r.max_seg_size);
  if (r.timestamps) {
    if (r.sack_permitted) {
      w.sack_permitted();
    } else {
      w.nop();
      w.nop();
    }
    w.timestamps(*r.timestamps);
  } else if (r.sack_permitted) {
    w.nop();
    w.nop();
    w.sack_permitted();
  }
  if (r.window_scale) {
    w.nop();
    w.window_scale(*r.window_scale);
  }
  if (r.sack_count != 0) {
    w.nop();
    w.nop();
    w.sack(r.sacks());
  }
}

void write_packed_layout(const TcpRepr& r, OptionWriter& w) {
  if (r.max_seg_size) w.mss(*r.max_seg_size);
  if (r.sack_permitted) w.sack_permitted();
  if (r.timestamps) w.timestamps(*r.timestamps);
  if (r.window_scale) w.window_scale(*r.window_scale);
  if (r.sack_count != 0) w.sack(r.sacks());
  w.pad_to_end();
}

}  // namespace

void TcpOptionIterator::advance() {
  if (stopped_ || offset_ >= area_.size()) {
    done_ = true;
    return;
  }
  const auto kind = static_cast<TcpOptionKind>(load_u8(area_, offset_));
  // RFC 9293 §3.2: End of Option List is one octet and ends the list; the rest is padding.
  if (kind == TcpOptionKind::End) {
    current_ = TcpOption{kind, {}};
    stopped_ = true;
    return;
  }
  // RFC 9293 §3.2: No-Operation is one octet.
  if (kind == TcpOptionKind::Nop) {
    current_ = TcpOption{kind, {}};
    ++offset_;
    return;
  }
  // RFC 9293 §3.2: any other option has a length octet that counts the kind and length octets
  // and the data; it must be at least 2 and stay inside the options area, and a known option
  // must have its defined length.
  const std::size_t room = area_.size() - offset_;
  const std::size_t len = room >= 2 ? load_u8(area_, offset_ + 1) : 0;
  if (len < 2 || len > room || !known_len_ok(kind, len)) {
    current_ = fail(Errc::bad_option);
    stopped_ = true;
    return;
  }
  current_ = TcpOption{kind, area_.subspan(offset_ + 2, len - 2)};
  offset_ += len;
}

Result<TcpRepr> TcpRepr::parse(const TcpView& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                               ChecksumPolicy policy) {
  if (auto s = view.check(); !s) return tl::unexpected(s.error());
  if (policy.verify_rx && !view.verify_checksum(src_ip, dst_ip)) return fail(Errc::bad_checksum);

  TcpRepr r;
  r.src_port = view.src_port();
  r.dst_port = view.dst_port();
  r.seq_number = view.seq_number();
  // RFC 9293 §3.1: the acknowledgment number is meaningful only when ACK is set.
  if (view.ack()) r.ack_number = view.ack_number();
  r.fin = view.fin();
  r.syn = view.syn();
  r.rst = view.rst();
  r.psh = view.psh();
  r.ece = view.ece();
  r.cwr = view.cwr();
  r.window_len = view.window_len();
  // RFC 9293 §3.1: the urgent pointer is interpreted only when URG is set.
  if (view.urg()) r.urgent_pointer = view.urgent_pointer();

  for (const auto& opt : view.option_list()) {
    const Bytes data = opt->data;  // check() has validated every option's length
    switch (opt->kind) {
      case TcpOptionKind::Mss:
        r.max_seg_size = load_be16(data, 0);
        break;
      case TcpOptionKind::WindowScale:
        r.window_scale = load_u8(data, 0);
        break;
      case TcpOptionKind::SackPermitted:
        r.sack_permitted = true;
        break;
      case TcpOptionKind::Sack:
        r.sack_blocks = {};
        r.sack_count = data.size() / kSackBlockLen;
        for (std::size_t i = 0; i < r.sack_count; ++i) {
          r.sack_blocks[i] = SackBlock{SeqNum(load_be32(data, i * kSackBlockLen)),
                                       SeqNum(load_be32(data, i * kSackBlockLen + 4))};
        }
        break;
      case TcpOptionKind::Timestamps:
        r.timestamps = TcpTimestamps{load_be32(data, 0), load_be32(data, 4)};
        break;
      default:
        break;  // End, Nop, and unknown options (skipped by their length)
    }
  }
  r.payload_len = view.payload().size();
  return r;
}

std::uint8_t TcpRepr::flags() const {
  std::uint8_t bits = 0;
  const auto add = [&bits](bool on, TcpFlag f) {
    if (on) bits = static_cast<std::uint8_t>(bits | static_cast<std::uint8_t>(f));
  };
  add(fin, TcpFlag::Fin);
  add(syn, TcpFlag::Syn);
  add(rst, TcpFlag::Rst);
  add(psh, TcpFlag::Psh);
  add(ack_number.has_value(), TcpFlag::Ack);
  add(urgent_pointer.has_value(), TcpFlag::Urg);
  add(ece, TcpFlag::Ece);
  add(cwr, TcpFlag::Cwr);
  return bits;
}

std::size_t TcpRepr::header_len() const {
  Expects(sack_count <= max_sack_blocks);
  if (use_linux_layout(*this)) return TcpView::min_header_len + linux_options_len(*this);
  const std::size_t packed = packed_options_len(*this);
  Expects(packed <= TcpView::max_options_len);
  return TcpView::min_header_len + packed;
}

void TcpRepr::emit(const TcpViewMut& view, Ipv4Address src_ip, Ipv4Address dst_ip,
                   ChecksumPolicy policy) const {
  const std::size_t hlen = header_len();
  const std::size_t total = hlen + payload_len;
  Expects(total <= TcpView::max_segment_len && view.buffer().size() >= total);
  const TcpViewMut seg(view.buffer().first(total));

  seg.set_src_port(src_port);
  seg.set_dst_port(dst_port);
  seg.set_seq_number(seq_number);
  seg.set_ack_number(ack_number.value_or(SeqNum(0)));
  seg.set_header_len(hlen);  // and the reserved bits, zero
  seg.set_flags(flags());
  seg.set_window_len(window_len);
  seg.set_urgent_pointer(urgent_pointer.value_or(std::uint16_t{0}));

  OptionWriter w(seg.options());
  if (use_linux_layout(*this)) {
    write_linux_layout(*this, w);
  } else {
    write_packed_layout(*this, w);
  }
  Ensures(w.offset() == hlen - TcpView::min_header_len);

  if (policy.fill_tx) {
    seg.fill_checksum(src_ip, dst_ip);
  } else {
    seg.set_checksum(0);
  }
}

bool TcpRepr::operator==(const TcpRepr& other) const {
  const auto a = sacks();
  const auto b = other.sacks();
  return src_port == other.src_port && dst_port == other.dst_port &&
         seq_number == other.seq_number && ack_number == other.ack_number && fin == other.fin &&
         syn == other.syn && rst == other.rst && psh == other.psh && ece == other.ece &&
         cwr == other.cwr && window_len == other.window_len &&
         urgent_pointer == other.urgent_pointer && max_seg_size == other.max_seg_size &&
         window_scale == other.window_scale && sack_permitted == other.sack_permitted &&
         std::equal(a.begin(), a.end(), b.begin(), b.end()) && timestamps == other.timestamps &&
         payload_len == other.payload_len;
}

}  // namespace tapir::wire
