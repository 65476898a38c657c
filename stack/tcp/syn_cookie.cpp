#include "stack/tcp/syn_cookie.hpp"

namespace tapir::tcp {
namespace {

// The layout of syn_cookie.hpp: [ t mod 64 : 6 | mss index : 2 | mac : 24 ].
constexpr unsigned kMacBits = 24;
constexpr std::uint32_t kMacMask = (std::uint32_t{1} << kMacBits) - 1;
constexpr unsigned kIndexShift = kMacBits;
constexpr std::uint32_t kIndexMask = 0x3;
constexpr unsigned kCounterShift = kMacBits + 2;
constexpr std::uint32_t kCounterMask = 0x3f;  // the 6 bits of t the cookie holds

static_assert(SynCookies::mss_table.size() == kIndexMask + 1);
static_assert(SynCookies::window_counters <= kCounterMask);

// Tag bytes keeping the two hashes' messages apart.
constexpr std::uint8_t kOffsetTag = 0x01;
constexpr std::uint8_t kMacTag = 0x02;

// t = floor(now / 64 s); floor, not truncation, so the counter steps evenly across the epoch.
std::int64_t counter(Instant now) {
  constexpr std::int64_t period = SynCookies::counter_period.count();
  const std::int64_t us = to_micros(now);
  const std::int64_t q = us / period;
  return (us % period < 0) ? q - 1 : q;
}

// The low 6 bits of t; two's complement, so consecutive counters differ by one mod 64 even
// below zero.
std::uint32_t counter_bits(std::int64_t t) {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(t)) & kCounterMask;
}

}  // namespace

std::uint32_t SynCookies::offset(const FourTuple& tuple, wire::SeqNum client_isn) const noexcept {
  // RFC 4987 §3.6 (Linux's hash1(tuple) + client_isn): hides the rest and follows the client.
  SipHasher h(key_);
  h.add_u8(kOffsetTag);
  const auto f1 = static_cast<std::uint32_t>(add_to(h, tuple).finish());
  return f1 + client_isn.value();
}

std::uint32_t SynCookies::mac(const FourTuple& tuple, wire::SeqNum client_isn, std::int64_t t,
                              std::uint8_t index) const noexcept {
  // RFC 4987 §3.6: a keyed hash over everything the cookie vouches for.
  SipHasher h(key_);
  h.add_u8(kMacTag);
  add_to(h, tuple);
  const auto ut = static_cast<std::uint64_t>(t);
  h.add_be32(client_isn.value())
      .add_be32(static_cast<std::uint32_t>(ut >> 32))
      .add_be32(static_cast<std::uint32_t>(ut))
      .add_u8(index);
  return static_cast<std::uint32_t>(h.finish()) & kMacMask;
}

wire::SeqNum SynCookies::make(const FourTuple& tuple, wire::SeqNum client_isn, std::uint16_t mss,
                              Instant now) const noexcept {
  const std::int64_t t = counter(now);
  const std::uint8_t index = mss_index(mss);
  const std::uint32_t inner = (counter_bits(t) << kCounterShift) |
                              (std::uint32_t{index} << kIndexShift) |
                              mac(tuple, client_isn, t, index);
  return wire::SeqNum(offset(tuple, client_isn)) + inner;
}

std::optional<CookieInfo> SynCookies::check(const FourTuple& tuple, wire::SeqNum client_isn,
                                            wire::SeqNum cookie, Instant now) const noexcept {
  const std::uint32_t inner = cookie.value() - offset(tuple, client_isn);
  // RFC 4987 §3.6: the cookie's time must be in the window: the current counter or the one
  // before. Counted mod 64, so a cookie from a later counter (the future) is 63, 62, ... old.
  const std::int64_t t_now = counter(now);
  const std::uint32_t age = (counter_bits(t_now) - (inner >> kCounterShift)) & kCounterMask;
  if (age >= window_counters) return std::nullopt;
  const std::int64_t t = t_now - std::int64_t{age};
  const auto index = static_cast<std::uint8_t>((inner >> kIndexShift) & kIndexMask);
  // RFC 4987 §3.6: and the hash must match, or the cookie is forged or altered.
  if ((inner & kMacMask) != mac(tuple, client_isn, t, index)) return std::nullopt;
  return CookieInfo{mss_table[index]};
}

namespace {

// Linux's TSBITS and TS_OPT_* (net/ipv4/syncookies.c).
constexpr unsigned kTsBits = 6;
constexpr std::uint32_t kTsMask = (std::uint32_t{1} << kTsBits) - 1;
constexpr std::uint32_t kWscaleMask = 0xf;  // 0xf: no window scaling
constexpr std::uint32_t kSackBit = 0x10;
constexpr std::uint8_t kMaxWindowScale = 14;  // RFC 7323 §2.3

}  // namespace

std::uint32_t encode_options_in_tsval(std::uint32_t ts_now, const CookieOptions& options) noexcept {
  std::uint32_t bits = kWscaleMask;
  if (options.window_scale) {
    // RFC 7323 §2.3: a shift count above 14 is used as 14.
    bits = std::uint32_t{*options.window_scale < kMaxWindowScale ? *options.window_scale
                                                                 : kMaxWindowScale};
  }
  if (options.sack_permitted) bits |= kSackBit;
  std::uint32_t ts = (ts_now & ~kTsMask) | bits;
  // Never ahead of the clock: the connection's later TSvals come from the clock itself, and the
  // peer's PAWS check (RFC 7323 §5) must never see them go backwards from this one.
  if (bits > (ts_now & kTsMask)) ts -= kTsMask + 1;
  return ts;
}

CookieOptions decode_options_from_tsecr(std::uint32_t tsecr) noexcept {
  CookieOptions options;
  options.sack_permitted = (tsecr & kSackBit) != 0;
  const std::uint32_t wscale = tsecr & kWscaleMask;
  // 0xf is "no window scaling"; anything else is the shift (encode writes 0..14 only).
  if (wscale != kWscaleMask) {
    options.window_scale = static_cast<std::uint8_t>(wscale);
  }
  return options;
}

}  // namespace tapir::tcp
