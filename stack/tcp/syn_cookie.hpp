// SYN cookies (RFC 4987 §3.6): answering a SYN without keeping state, so a full SYN queue never
// denies a legitimate connection.
//
// When its SYN queue is full, a listener (RFC 9293 §3.10.7.2, "If the state is LISTEN", third
// check: SYN) answers the SYN with a SYN-ACK whose ISN is a cookie, make(), and forgets the
// SYN. The cookie encodes the little the listener must remember (the MSS class) and
// authenticates the rest; the client's final ACK brings it back, and check() either recovers
// the MSS, and the listener builds the connection then, or says the ACK is not an answer to a
// cookie of ours: RFC 9293 §3.10.7.2's second check applies ("any acknowledgment is bad if it
// arrives on a connection still in the LISTEN state"), and the reply is <SEQ=SEG.ACK><CTL=RST>.
//
// What the caller passes to check(), from the final ACK (RFC 9293 §3.4: the SYN occupies one
// sequence number on each side):
//   cookie     = SEG.ACK - 1   (our SYN-ACK's ISN, which the ACK acknowledges)
//   client_isn = SEG.SEQ - 1   (the client's ISN, which its SYN carried)
// and the 4-tuple as seen by us (local = the listener's address and port).
//
// Layout (32 bits; bit 31 is the most significant):
//
//   inner  = [ t mod 64 : 6 | mss index : 2 | mac : 24 ]
//              bits 31..26    bits 25..24     bits 23..0
//   cookie = F1(tuple) + client_isn + inner                       (mod 2^32)
//
//   t    = floor(now / 64 s), the coarse time counter, on the stack's clock
//   F1   = low 32 bits of SipHash-2-4(key, 0x01 | tuple)
//   mac  = low 24 bits of SipHash-2-4(key, 0x02 | tuple | client_isn | t | mss index)
//   (tuple: the 12 bytes of four_tuple.hpp; client_isn: 4 bytes and t: 8 bytes (two's
//   complement), both big-endian; mss index: 1 byte. The leading tag byte keeps the two
//   hashes apart.)
//
// This is Linux's scheme (net/ipv4/syncookies.c: cookie = hash1(tuple) + client_isn +
// (count << 24) + ((hash2(tuple, count) + mss_index) & 0xffffff)) made cleaner in two ways:
//  - The MSS index has its own two bits and, like the client ISN, is covered by the mac.
//    Linux adds the index into the hash's low bits and adds the client ISN outside the hash, so
//    a cookie (or client ISN) off by 1..3 still passes there, with another MSS. Here the only
//    cookies check() accepts for a (tuple, client ISN) at a given time are exactly the ones
//    make() returns for it: 4 MSS indices x the 2 counter values of the window.
//  - t keeps 6 bits in the cookie instead of 8, so the mac keeps a full 24 bits.
// F1 + client_isn hides t and the index from an observer and moves the ISN with the client's,
// as Linux's does.
//
// Window, as Linux's: a cookie is valid in the counter period it was made in and the next one
// (Linux: 60 s periods, MAX_SYNCOOKIE_AGE 2, i.e. the current and the previous count; here 64 s
// periods). So a cookie made at m checked at n is accepted whenever n - m < 64 s, never once
// n - m >= 128 s, and never when it was made in a later period than n's (from the future).
// t mod 64 is what the cookie holds; the full t is in the mac, so a cookie 64 periods (68
// minutes) or more old aliases a recent t mod 64 but fails the mac.
//
// Forgery: for a (tuple, client ISN) there are exactly 8 valid cookies at any time. A guess
// passes the window with chance 2/64 and then needs the 24-bit mac: 2^-24; in all 2^-29 per
// guess without the key. (Linux's: 2/256 x 4 x 2^-24 = 2^-29 as well.)
//
// MSS (RFC 4987 §3.6: only a few MSS values fit): the table is Linux's msstab for IPv4,
// {536, 1300, 1440, 1460}. make() keeps the largest entry not above the client's MSS, as Linux
// does; an MSS below 536 is index 0 (536, again as Linux: every IPv4 host must accept a
// 576-byte datagram, RFC 9293 §3.7.1's default send MSS). The caller passes the MSS it would
// have used as its send MSS: the client's option (536 when it sent none, RFC 9293 §3.7.1),
// already clamped to the route's MSS.
//
// What a cookie cannot carry (RFC 4987 §3.6 lists the costs):
//  - Options beyond the MSS class: window scale and SACK-permitted are lost, unless the client
//    sent timestamps; then encode_options_in_tsval() below stores them in the low 6 bits of the
//    SYN-ACK's TSval, which the ACK echoes in TSecr (Linux's cookie_init_timestamp()). Without
//    timestamps such a connection has no window scaling (a 64 KiB window) and no SACK.
//  - The exact MSS: it is rounded down to a table entry.
//  - Retransmission: no state means no SYN-ACK retransmit. A lost SYN-ACK waits for the
//    client's SYN retransmission; a lost final ACK goes unnoticed by the server, so a protocol
//    where the server speaks first stalls until the client sends.
//  - Data on the SYN: it is not acknowledged and must be sent again.
// The listener should also check cookies only while it has sent some recently (within the
// window; Linux's tcp_synq_no_recent_overflow()), so ACKs at LISTEN cost no hashing otherwise
// and forgers get no guesses.
//
// Keys: one secret SipKey per stack, drawn as IsnGenerator::key_from() draws its own (a
// separate draw, not the ISN key). Nothing here allocates or changes state; time is the
// caller's.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "stack/base/siphash.hpp"
#include "stack/base/time.hpp"
#include "stack/tcp/four_tuple.hpp"
#include "stack/wire/seq_num.hpp"

namespace tapir::tcp {

// What a valid cookie remembers.
struct CookieInfo {
  std::uint16_t mss = 0;  // the MSS class: an entry of SynCookies::mss_table

  friend constexpr bool operator==(const CookieInfo&, const CookieInfo&) = default;
};

class SynCookies {
 public:
  // Linux's msstab for IPv4 (net/ipv4/syncookies.c), smallest first.
  static constexpr std::array<std::uint16_t, 4> mss_table{536, 1300, 1440, 1460};
  // The coarse time counter's unit.
  static constexpr Duration counter_period = std::chrono::seconds(64);
  // Counter values accepted: the current one and the one before (Linux's MAX_SYNCOOKIE_AGE).
  static constexpr std::uint32_t window_counters = 2;

  explicit SynCookies(SipKey key) noexcept : key_(key) {}

  // RFC 4987 §3.6: the ISN of the SYN-ACK answering a SYN from tuple's remote end with
  // sequence number client_isn, advertising mss (see above), at now.
  wire::SeqNum make(const FourTuple& tuple, wire::SeqNum client_isn, std::uint16_t mss,
                    Instant now) const noexcept;

  // RFC 4987 §3.6: whether cookie (SEG.ACK - 1 of the final ACK) is one make() returned for
  // this tuple and client_isn (SEG.SEQ - 1) within the window before now; if so, the MSS
  // class it recorded. nullopt for a forged, altered, expired or future cookie.
  std::optional<CookieInfo> check(const FourTuple& tuple, wire::SeqNum client_isn,
                                  wire::SeqNum cookie, Instant now) const noexcept;

  // The index into mss_table make() encodes for mss: the largest entry not above it, 0 if none.
  static constexpr std::uint8_t mss_index(std::uint16_t mss) noexcept {
    auto i = static_cast<std::uint8_t>(mss_table.size() - 1);
    while (i > 0 && mss < mss_table[i])
      --i;
    return i;
  }

 private:
  std::uint32_t offset(const FourTuple& tuple, wire::SeqNum client_isn) const noexcept;
  std::uint32_t mac(const FourTuple& tuple, wire::SeqNum client_isn, std::int64_t t,
                    std::uint8_t index) const noexcept;

  SipKey key_;
};

// Options a SYN-ACK with a cookie records when the client sent timestamps.
struct CookieOptions {
  std::optional<std::uint8_t> window_scale{};  // the client's shift count (RFC 7323 §2.3)
  bool sack_permitted = false;                 // RFC 2018 §2

  friend constexpr bool operator==(const CookieOptions&, const CookieOptions&) = default;
};

// Linux's cookie_init_timestamp(): the TSval (RFC 7323 §3.2) of a SYN-ACK carrying a cookie,
// at most ts_now, whose low 6 bits record the client's options:
//   bits 0..3  window scale shift (min(shift, 14), RFC 7323 §2.3), or 0xf: no window scaling
//   bit 4      SACK-permitted
//   bit 5      zero (Linux's ECN bit; this stack does not negotiate ECN)
// The value is ts_now with its low 6 bits replaced, less 64 if that would exceed ts_now, so the
// TSval never runs ahead of the clock (it may lag by up to 63 ticks), modulo 2^32.
//
// Only the client's options are recorded: the listener's own shift count must be a function of
// its configuration alone, so it can compute it again when the ACK arrives (Linux does too).
// The bits are not authenticated, as in Linux: only someone who saw the SYN-ACK can echo them,
// and he could as well have sent a SYN with the options he likes.
std::uint32_t encode_options_in_tsval(std::uint32_t ts_now, const CookieOptions& options) noexcept;

// Linux's cookie_timestamp_decode(): the options recorded by encode_options_in_tsval(), read
// from the TSecr of the final ACK. Call it only when the ACK carries timestamps; without them
// the connection has neither window scaling nor SACK.
CookieOptions decode_options_from_tsecr(std::uint32_t tsecr) noexcept;

}  // namespace tapir::tcp
