// SYN cookies (RFC 4987 §3.6): the ISN of a stateless SYN-ACK encodes the MSS class and the time
// and authenticates the 4-tuple and the client's ISN; the final ACK brings it back.
#include "stack/tcp/syn_cookie.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/allocations.hpp"

namespace tapir {
namespace {

using tcp::CookieInfo;
using tcp::CookieOptions;
using tcp::FourTuple;
using tcp::SynCookies;
using wire::SeqNum;
using namespace std::chrono_literals;

const SipKey kKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
const FourTuple kTuple{Ipv4Address(10, 0, 0, 2), 80, Ipv4Address(10, 0, 0, 1), 40000};
const SeqNum kClientIsn(0x12345678);
constexpr Duration kPeriod = SynCookies::counter_period;
// The start of a counter period (period 1000 after the epoch).
const Instant kStart = Instant{1000 * kPeriod};

std::optional<std::uint16_t> checked_mss(const SynCookies& c, const FourTuple& tuple,
                                         SeqNum client_isn, SeqNum cookie, Instant now) {
  const auto info = c.check(tuple, client_isn, cookie, now);
  if (!info) return std::nullopt;
  return info->mss;
}

FourTuple random_tuple(Random& r) {
  return FourTuple{Ipv4Address(r.next_u32()), static_cast<std::uint16_t>(r.next_u32()),
                   Ipv4Address(r.next_u32()), static_cast<std::uint16_t>(r.next_u32())};
}

// RFC 4987 §3.6: a cookie made now checks now and gives back the MSS class: each of Linux's
// msstab entries survives the round trip.
TEST(SynCookies, CookieMadeNowChecksNowWithEachMssOfTheTable) {
  const SynCookies c(kKey);
  for (const std::uint16_t mss : SynCookies::mss_table) {
    const SeqNum cookie = c.make(kTuple, kClientIsn, mss, kStart);
    EXPECT_EQ(c.check(kTuple, kClientIsn, cookie, kStart), CookieInfo{mss}) << mss;
  }
}

// RFC 4987 §3.6 (only a few MSS values fit): a client MSS between entries rounds down to the
// largest entry not above it (Linux's rule); below the table it is 536, as in Linux.
TEST(SynCookies, ClientMssRoundsDownToTheLargestEntryNotAboveIt) {
  const SynCookies c(kKey);
  const std::array<std::array<std::uint16_t, 2>, 13> cases{{{0, 536},
                                                            {88, 536},
                                                            {535, 536},
                                                            {536, 536},
                                                            {1299, 536},
                                                            {1300, 1300},
                                                            {1439, 1300},
                                                            {1440, 1440},
                                                            {1459, 1440},
                                                            {1460, 1460},
                                                            {1461, 1460},
                                                            {8960, 1460},
                                                            {65535, 1460}}};
  for (const auto& [mss, expected] : cases) {
    const SeqNum cookie = c.make(kTuple, kClientIsn, mss, kStart);
    EXPECT_EQ(checked_mss(c, kTuple, kClientIsn, cookie, kStart), expected) << mss;
    EXPECT_EQ(SynCookies::mss_table[SynCookies::mss_index(mss)], expected) << mss;
  }
}

// RFC 4987 §3.6, the window (Linux's: the current counter and the one before): a cookie is
// accepted through the rest of its 64 s period and all of the next, and from then on never.
TEST(SynCookies, CookieIsValidInItsPeriodAndTheNext) {
  const SynCookies c(kKey);
  const SeqNum cookie = c.make(kTuple, kClientIsn, 1460, kStart);
  const std::array<Duration, 8> ages{Duration{0},   Duration{1}, 1s,           30s,
                                     kPeriod - 1us, kPeriod,     kPeriod + 1s, 2 * kPeriod - 1us};
  for (const Duration age : ages) {
    EXPECT_EQ(checked_mss(c, kTuple, kClientIsn, cookie, kStart + age), 1460) << age.count();
  }
}

// RFC 4987 §3.6: whatever the instant within its period, a cookie is good for at least 64 s.
TEST(SynCookies, CookieIsValidForAtLeastOnePeriodFromAnyInstant) {
  const SynCookies c(kKey);
  Random r(6528);
  for (int i = 0; i < 1000; ++i) {
    const Instant made = kStart + Duration{r.below(1'000'000'000)};
    const Instant checked = made + Duration{r.below(64'000'000)};  // less than 64 s later
    const SeqNum cookie = c.make(kTuple, kClientIsn, 1300, made);
    ASSERT_EQ(checked_mss(c, kTuple, kClientIsn, cookie, checked), 1300) << i;
  }
}

// RFC 4987 §3.6: a cookie older than the window is rejected: two periods and more, including
// 64 and 65 periods, where its 6 counter bits match the current or previous counter again and
// only the mac over the full counter tells it apart.
TEST(SynCookies, ExpiredCookieIsRejected) {
  const SynCookies c(kKey);
  const SeqNum cookie = c.make(kTuple, kClientIsn, 1460, kStart + kPeriod - 1us);
  // The end of its period: the next period's end is the last accepted instant.
  EXPECT_TRUE(c.check(kTuple, kClientIsn, cookie, kStart + 2 * kPeriod - 1us));
  EXPECT_FALSE(c.check(kTuple, kClientIsn, cookie, kStart + 2 * kPeriod));
  for (const int periods : {2, 3, 10, 63, 64, 65, 128, 129, 1000}) {
    EXPECT_FALSE(c.check(kTuple, kClientIsn, cookie, kStart + periods * kPeriod)) << periods;
    EXPECT_FALSE(c.check(kTuple, kClientIsn, cookie, kStart + periods * kPeriod + 30s)) << periods;
  }
}

// RFC 4987 §3.6: a cookie from a later period than now (the future) is rejected.
TEST(SynCookies, FutureCookieIsRejected) {
  const SynCookies c(kKey);
  for (const int periods : {1, 2, 3, 32, 62, 63, 64, 65, 500}) {
    const SeqNum cookie = c.make(kTuple, kClientIsn, 1460, kStart + periods * kPeriod);
    EXPECT_FALSE(c.check(kTuple, kClientIsn, cookie, kStart)) << periods;
    EXPECT_FALSE(c.check(kTuple, kClientIsn, cookie, kStart + kPeriod - 1us)) << periods;
  }
}

// RFC 4987 §3.6: the counter steps evenly across the stack clock's epoch (floor division).
TEST(SynCookies, TheCounterStepsEvenlyAcrossTheEpoch) {
  const SynCookies c(kKey);
  const SeqNum before = c.make(kTuple, kClientIsn, 536, Instant{-1us});
  EXPECT_EQ(checked_mss(c, kTuple, kClientIsn, before, Instant{kPeriod - 1us}), 536);
  EXPECT_FALSE(c.check(kTuple, kClientIsn, before, Instant{kPeriod}));
  const SeqNum earlier = c.make(kTuple, kClientIsn, 536, Instant{-kPeriod - 1us});
  EXPECT_TRUE(c.check(kTuple, kClientIsn, earlier, Instant{-1us}));
  EXPECT_FALSE(c.check(kTuple, kClientIsn, earlier, Instant{0us}));
}

// RFC 4987 §3.6: the cookie authenticates the 4-tuple: any changed field, or the tuple seen
// from the other end, is rejected.
TEST(SynCookies, ChangedTupleFieldIsRejected) {
  const SynCookies c(kKey);
  const SeqNum cookie = c.make(kTuple, kClientIsn, 1460, kStart);
  auto t = kTuple;
  t.local = Ipv4Address(10, 0, 0, 3);
  EXPECT_FALSE(c.check(t, kClientIsn, cookie, kStart));
  t = kTuple;
  t.local_port = 81;
  EXPECT_FALSE(c.check(t, kClientIsn, cookie, kStart));
  t = kTuple;
  t.remote = Ipv4Address(10, 0, 0, 9);
  EXPECT_FALSE(c.check(t, kClientIsn, cookie, kStart));
  t = kTuple;
  t.remote_port = 40001;
  EXPECT_FALSE(c.check(t, kClientIsn, cookie, kStart));
  const FourTuple reversed{kTuple.remote, kTuple.remote_port, kTuple.local, kTuple.local_port};
  EXPECT_FALSE(c.check(reversed, kClientIsn, cookie, kStart));
}

// RFC 4987 §3.6: the cookie authenticates the client's ISN; unlike Linux's layout, an ISN off by
// one to three (which there shifts the MSS index instead) is rejected too.
TEST(SynCookies, ChangedClientIsnIsRejected) {
  const SynCookies c(kKey);
  for (const std::uint16_t mss : SynCookies::mss_table) {
    const SeqNum cookie = c.make(kTuple, kClientIsn, mss, kStart);
    for (const std::uint32_t delta : {1U, 2U, 3U, 4U, 0x100U, 0x01000000U, 0x80000000U}) {
      EXPECT_FALSE(c.check(kTuple, kClientIsn + delta, cookie, kStart)) << mss << " +" << delta;
      EXPECT_FALSE(c.check(kTuple, kClientIsn - delta, cookie, kStart)) << mss << " -" << delta;
    }
  }
}

// RFC 4987 §3.6: the hash is keyed; another listener's (or a restarted stack's) key rejects.
TEST(SynCookies, DifferentKeyIsRejected) {
  const SynCookies c(kKey);
  const SeqNum cookie = c.make(kTuple, kClientIsn, 1460, kStart);
  EXPECT_FALSE(SynCookies(SipKey{kKey.k0 ^ 1U, kKey.k1}).check(kTuple, kClientIsn, cookie, kStart));
  EXPECT_FALSE(SynCookies(SipKey{kKey.k0, kKey.k1 ^ (std::uint64_t{1} << 63)})
                   .check(kTuple, kClientIsn, cookie, kStart));
  EXPECT_TRUE(SynCookies(kKey).check(kTuple, kClientIsn, cookie, kStart));
}

// RFC 4987 §3.6: any single flipped bit of the cookie is rejected, in the mac, the MSS index
// and the counter bits alike, for each MSS class.
TEST(SynCookies, FlippedBitInTheCookieIsRejected) {
  const SynCookies c(kKey);
  for (const std::uint16_t mss : SynCookies::mss_table) {
    const SeqNum cookie = c.make(kTuple, kClientIsn, mss, kStart);
    for (unsigned bit = 0; bit < 32; ++bit) {
      const SeqNum flipped(cookie.value() ^ (std::uint32_t{1} << bit));
      EXPECT_FALSE(c.check(kTuple, kClientIsn, flipped, kStart)) << mss << " bit " << bit;
      EXPECT_FALSE(c.check(kTuple, kClientIsn, flipped, kStart + kPeriod)) << mss << " bit " << bit;
    }
  }
}

// RFC 4987 §3.6, forgery: for a (tuple, client ISN) at an instant exactly 8 cookies are valid
// (4 MSS classes x the 2 counters of the window), and check() accepts a value iff it is one of
// them. That is exact, not a probability, so this cannot flake: each of 100000 seeded random
// cookies is accepted iff it is equal by construction to one of the 8 (chance 8 / 2^32 each).
TEST(SynCookies, RandomCookiesAreAcceptedOnlyWhenEqualToAValidOne) {
  const SynCookies c(kKey);
  const Instant now = kStart + 10s;
  std::array<std::uint32_t, 8> valid{};
  for (std::size_t i = 0; i < SynCookies::mss_table.size(); ++i) {
    valid[2 * i] = c.make(kTuple, kClientIsn, SynCookies::mss_table[i], now).value();
    valid[2 * i + 1] = c.make(kTuple, kClientIsn, SynCookies::mss_table[i], now - kPeriod).value();
  }
  Random r(4987);
  int accepted = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::uint32_t guess = r.next_u32();
    bool is_valid = false;
    for (const auto v : valid)
      is_valid = is_valid || v == guess;
    const bool ok = c.check(kTuple, kClientIsn, SeqNum(guess), now).has_value();
    ASSERT_EQ(ok, is_valid) << "seed 4987, guess " << i << ": " << guess;
    accepted += ok ? 1 : 0;
  }
  EXPECT_EQ(accepted, 0);
  for (const auto v : valid)
    EXPECT_TRUE(c.check(kTuple, kClientIsn, SeqNum(v), now));
}

// RFC 4987 §3.6 over seeded random connections: each cookie checks, and each single change of
// a tuple field, the client ISN, the key or one bit is rejected. Each change makes the 24-bit
// mac a fresh value (or changes it by a known non-zero amount), so a false accept has chance at
// most 2^-24 per check: 2000 trials x 38 changed checks = 76000 checks, expected 0.0045 false
// accepts. The seed is fixed, so the result is the same on every run: it cannot flake.
TEST(SynCookies, SeededRandomConnectionsRejectEveryChange) {
  Random r(20070801);  // RFC 4987's date
  int forged = 0;
  for (int i = 0; i < 2000; ++i) {
    const SipKey key{r.next_u64(), r.next_u64()};
    const SynCookies c(key);
    const FourTuple tuple = random_tuple(r);
    const SeqNum isn(r.next_u32());
    const auto mss = static_cast<std::uint16_t>(r.between(536, 9000));
    const Instant made = Instant{Duration{static_cast<std::int64_t>(r.next_u64() >> 12)}};
    const Instant now = made + Duration{r.below(64'000'000)};
    const SeqNum cookie = c.make(tuple, isn, mss, made);
    ASSERT_EQ(checked_mss(c, tuple, isn, cookie, now),
              SynCookies::mss_table[SynCookies::mss_index(mss)])
        << "trial " << i;

    auto accepted = [&](const SynCookies& by, const FourTuple& t, SeqNum client_isn, SeqNum ck) {
      const bool ok = by.check(t, client_isn, ck, now).has_value();
      if (ok) ADD_FAILURE() << "trial " << i << " accepted a changed cookie";
      forged += ok ? 1 : 0;
    };
    auto t = tuple;
    t.local = Ipv4Address(tuple.local.value() ^ (1U << r.below(32)));
    accepted(c, t, isn, cookie);
    t = tuple;
    t.local_port = static_cast<std::uint16_t>(tuple.local_port ^ (1U << r.below(16)));
    accepted(c, t, isn, cookie);
    t = tuple;
    t.remote = Ipv4Address(tuple.remote.value() ^ (1U << r.below(32)));
    accepted(c, t, isn, cookie);
    t = tuple;
    t.remote_port = static_cast<std::uint16_t>(tuple.remote_port ^ (1U << r.below(16)));
    accepted(c, t, isn, cookie);
    accepted(c, tuple, isn + r.between(1, 0xffffffffU), cookie);
    accepted(SynCookies(SipKey{key.k0 ^ (std::uint64_t{1} << r.below(64)), key.k1}), tuple, isn,
             cookie);
    for (unsigned bit = 0; bit < 32; ++bit)
      accepted(c, tuple, isn, SeqNum(cookie.value() ^ (std::uint32_t{1} << bit)));
  }
  EXPECT_EQ(forged, 0) << "seed 20070801";
}

// RFC 9293 §3.4: the caller passes SEG.SEQ - 1 and SEG.ACK - 1 of the final ACK, modulo 2^32:
// a client ISN at the top of the sequence space (the ACK's SEG.SEQ wrapped to 0) still checks.
TEST(SynCookies, ClientIsnWrapsAroundTheSequenceSpace) {
  const SynCookies c(kKey);
  for (const std::uint32_t isn : {0xffffffffU, 0xfffffffeU, 0U, 1U, 0x7fffffffU, 0x80000000U}) {
    const SeqNum client_isn(isn);
    const SeqNum cookie = c.make(kTuple, client_isn, 1440, kStart);
    // The final ACK: <SEQ=client_isn+1><ACK=cookie+1>.
    const SeqNum seg_seq = client_isn + 1;
    const SeqNum seg_ack = cookie + 1;
    EXPECT_EQ(checked_mss(c, kTuple, seg_seq - 1, seg_ack - 1, kStart + 5s), 1440) << isn;
    EXPECT_FALSE(c.check(kTuple, seg_seq, seg_ack - 1, kStart + 5s)) << isn;
  }
  // Cookies of the wrapped neighbours differ: the ISN moves with the client's.
  EXPECT_NE(c.make(kTuple, SeqNum(0xffffffff), 1440, kStart),
            c.make(kTuple, SeqNum(0), 1440, kStart));
}

// RFC 4987 §3.6: SYNs of two tuples (or two client ISNs) get unrelated cookies; the same SYN
// at the same time gets the same one (no state).
TEST(SynCookies, CookiesAreAFunctionOfTheirInputsAlone) {
  const SynCookies c(kKey);
  EXPECT_EQ(c.make(kTuple, kClientIsn, 1460, kStart), c.make(kTuple, kClientIsn, 1460, kStart));
  EXPECT_EQ(c.make(kTuple, kClientIsn, 1460, kStart),
            SynCookies(kKey).make(kTuple, kClientIsn, 1460, kStart + 63s));
  auto other = kTuple;
  other.remote_port = 40001;
  EXPECT_NE(c.make(kTuple, kClientIsn, 1460, kStart), c.make(other, kClientIsn, 1460, kStart));
}

// DESIGN.md "Memory": making and checking cookies allocates nothing.
TEST(SynCookies, MakingAndCheckingAllocatesNothing) {
  const SynCookies c(kKey);
  std::array<SeqNum, 1000> cookies{};
  int ok = 0;
  const std::size_t before = test::allocations();
  for (std::size_t i = 0; i < cookies.size(); ++i) {
    cookies[i] = c.make(kTuple, kClientIsn + static_cast<std::uint32_t>(i), 1460, kStart);
    ok += c.check(kTuple, kClientIsn + static_cast<std::uint32_t>(i), cookies[i], kStart) ? 1 : 0;
  }
  const std::size_t after = test::allocations();
  EXPECT_EQ(after - before, 0U);
  EXPECT_EQ(ok, 1000);
}

// RFC 4987 §3.6 (options a cookie cannot hold) with timestamps on: Linux's
// cookie_init_timestamp() layout, low 6 bits of TSval = wscale (0xf none) | SACK << 4.
TEST(SynCookies, OptionsRoundTripThroughTheTimestamp) {
  for (int ws = -1; ws <= 14; ++ws) {
    for (const bool sack : {false, true}) {
      CookieOptions o;
      if (ws >= 0) o.window_scale = static_cast<std::uint8_t>(ws);
      o.sack_permitted = sack;
      for (const std::uint32_t now : {0U, 5U, 63U, 64U, 1000U, 0x3c5U, 0xffffffffU, 0x80000000U}) {
        const std::uint32_t ts = tcp::encode_options_in_tsval(now, o);
        EXPECT_EQ(tcp::decode_options_from_tsecr(ts), o) << ws << sack << " " << now;
        // Never ahead of the clock, and at most 63 ticks behind (modulo 2^32).
        EXPECT_LT(now - ts, 64U) << ws << sack << " " << now;
      }
    }
  }
}

// Linux's exact values: ts_now 1000 (low bits 40) with wscale 7 and SACK (bits 0x17) is 983;
// with no window scaling and SACK (0x1f) 991; ts_now 0x3c5 (low bits 5) goes back a block.
TEST(SynCookies, TimestampEncodingMatchesLinux) {
  const CookieOptions ws7_sack{7, true};
  const CookieOptions none_sack{std::nullopt, true};
  const CookieOptions none{std::nullopt, false};
  EXPECT_EQ(tcp::encode_options_in_tsval(1000, ws7_sack), 983U);
  EXPECT_EQ(tcp::encode_options_in_tsval(1000, none_sack), 991U);
  EXPECT_EQ(tcp::encode_options_in_tsval(0x3c5, ws7_sack), 0x397U);
  EXPECT_EQ(tcp::encode_options_in_tsval(0x3df, none_sack), 0x3dfU);
  EXPECT_EQ(tcp::encode_options_in_tsval(0, none), 0xffffffcfU);  // wraps below zero
  // RFC 7323 §2.3: a shift count above 14 is recorded as 14.
  const CookieOptions ws20{20, false};
  EXPECT_EQ(tcp::decode_options_from_tsecr(tcp::encode_options_in_tsval(1000, ws20)),
            (CookieOptions{14, false}));
}

// four_tuple.hpp: equality is field by field; the hash is keyed and covers every field.
TEST(FourTuple, EqualityAndKeyedHash) {
  auto other = kTuple;
  EXPECT_EQ(other, kTuple);
  other.local_port = 81;
  EXPECT_NE(other, kTuple);
  const tcp::FourTupleHash h(kKey);
  EXPECT_EQ(h(kTuple), h(FourTuple{kTuple}));
  EXPECT_NE(h(other), h(kTuple));
  EXPECT_NE(tcp::FourTupleHash(SipKey{1, 2})(kTuple), h(kTuple));
  // The 12 bytes of RFC 6528's F (isn.hpp): local address, local port, remote address, port.
  const std::array<std::byte, 12> bytes{
      std::byte{10}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0},    std::byte{80},
      std::byte{10}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0x9c}, std::byte{0x40}};
  EXPECT_EQ(tcp::keyed_hash(kKey, kTuple), siphash24(kKey, bytes));
}

}  // namespace
}  // namespace tapir
