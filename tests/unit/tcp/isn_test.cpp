// Initial sequence numbers (RFC 6528 §3): ISN = M + F(4-tuple, key), M the 4 µs timer.
#include "stack/tcp/isn.hpp"

#include <array>
#include <cstdint>

#include <gtest/gtest.h>

#include "tests/support/allocations.hpp"
#include "tests/support/captures.hpp"

namespace tapir {
namespace {

using tcp::IsnGenerator;
using wire::SeqNum;

const SipKey kKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
const Ipv4Address kLocal(10, 0, 0, 2);
const Ipv4Address kRemote(10, 0, 0, 1);
constexpr std::uint16_t kLocalPort = 80;
constexpr std::uint16_t kRemotePort = 40000;

SeqNum isn_at(const IsnGenerator& g, std::int64_t us) {
  return g.isn(kLocal, kLocalPort, kRemote, kRemotePort, instant_from_micros(us));
}

// RFC 6528 §3: F is a function of the 4-tuple and the key alone: the same tuple at the same
// time gets the same ISN, from the same generator or another with the same key.
TEST(IsnGenerator, SameTupleAndTimeGiveTheSameIsn) {
  const IsnGenerator g(kKey);
  EXPECT_EQ(isn_at(g, 123456789), isn_at(g, 123456789));
  EXPECT_EQ(isn_at(g, 123456789), isn_at(IsnGenerator(kKey), 123456789));
}

// RFC 6528 §3: F(localip, localport, remoteip, remoteport, secretkey) is SipHash-2-4 of the 12
// bytes local address, local port, remote address, remote port (network order), truncated to
// its low 32 bits; at time 0 the timer M is 0, so the ISN is F itself.
TEST(IsnGenerator, FIsTheTruncatedSipHashOfTheTupleInNetworkOrder) {
  const auto tuple = test::from_hex(
      "0a000002"
      "0050"
      "0a000001"
      "9c40");
  const auto f = static_cast<std::uint32_t>(siphash24(kKey, tuple));
  EXPECT_EQ(isn_at(IsnGenerator(kKey), 0), SeqNum(f));
  EXPECT_EQ(isn_at(IsnGenerator(kKey), 4000), SeqNum(f + 1000));
}

// RFC 6528 §3: "M is the 4 microsecond timer": for one tuple the ISN advances by exactly one
// every 4 µs, and not within those 4 µs.
TEST(IsnGenerator, AdvancesByOneEveryFourMicroseconds) {
  const IsnGenerator g(kKey);
  const std::int64_t start = 1'000'000'000;  // a multiple of 4 µs
  const SeqNum base = isn_at(g, start);
  for (std::int64_t dt = 0; dt < 40'000; ++dt)
    ASSERT_EQ(isn_at(g, start + dt) - base, dt / 4) << "dt " << dt << " us";
}

// RFC 6528 §3 (M) across the stack clock's epoch: an instant before it still ticks once per
// 4 µs, with no step or stall at zero.
TEST(IsnGenerator, TheTimerTicksEvenlyAcrossTheEpoch) {
  const IsnGenerator g(kKey);
  const SeqNum at_zero = isn_at(g, 0);
  EXPECT_EQ(isn_at(g, -1) - at_zero, -1);
  EXPECT_EQ(isn_at(g, -4) - at_zero, -1);
  EXPECT_EQ(isn_at(g, -5) - at_zero, -2);
  EXPECT_EQ(isn_at(g, 3) - at_zero, 0);
  EXPECT_EQ(isn_at(g, 4) - at_zero, 1);
}

// RFC 6528 §3: F depends on every field of the 4-tuple: changing any one changes the ISN.
TEST(IsnGenerator, EachFieldOfTheTupleChangesTheIsn) {
  const IsnGenerator g(kKey);
  const Instant now = instant_from_micros(5'000'000);
  const SeqNum base = g.isn(kLocal, kLocalPort, kRemote, kRemotePort, now);
  EXPECT_NE(g.isn(Ipv4Address(10, 0, 0, 3), kLocalPort, kRemote, kRemotePort, now), base);
  EXPECT_NE(g.isn(kLocal, 81, kRemote, kRemotePort, now), base);
  EXPECT_NE(g.isn(kLocal, kLocalPort, Ipv4Address(10, 0, 0, 9), kRemotePort, now), base);
  EXPECT_NE(g.isn(kLocal, kLocalPort, kRemote, 40001, now), base);
  // Local and remote are not interchangeable: the two directions' tuples hash apart.
  EXPECT_NE(g.isn(kRemote, kRemotePort, kLocal, kLocalPort, now), base);
  // Nor are address and port bytes: 12 bytes in a fixed order, not a sum of fields.
  EXPECT_NE(g.isn(kLocal, kRemotePort, kRemote, kLocalPort, now), base);
}

// RFC 6528 §3: F is keyed by "secretkey": another key gives other ISNs for the same tuple.
TEST(IsnGenerator, DifferentKeysGiveDifferentIsns) {
  const IsnGenerator a(kKey);
  const IsnGenerator b(SipKey{kKey.k0 ^ 1U, kKey.k1});
  const IsnGenerator c(SipKey{kKey.k0, kKey.k1 ^ (std::uint64_t{1} << 63)});
  for (const std::int64_t us : {0LL, 4LL, 1'000'000LL}) {
    EXPECT_NE(isn_at(a, us), isn_at(b, us)) << us;
    EXPECT_NE(isn_at(a, us), isn_at(c, us)) << us;
  }
}

// RFC 6528 §3: M counts modulo 2^32 (RFC 9293 §3.4: sequence space arithmetic is mod 2^32),
// so after 2^32 ticks of 4 µs (about 4.77 hours) the ISN of a tuple comes round again.
TEST(IsnGenerator, WrapsModulo2To32OverLongTimes) {
  const IsnGenerator g(kKey);
  constexpr std::int64_t kCycle = std::int64_t{4} << 32;  // 2^32 ticks, in microseconds
  const SeqNum base = isn_at(g, 0);
  EXPECT_EQ(isn_at(g, kCycle), base);
  EXPECT_EQ(isn_at(g, kCycle - 4), base - 1);
  EXPECT_EQ(isn_at(g, kCycle + 4), base + 1);
  EXPECT_EQ(isn_at(g, 1000 * kCycle + 40), base + 10);
  // Ten years on (in microseconds): still exactly the tick count mod 2^32.
  const std::int64_t ten_years = 10LL * 365 * 24 * 3600 * 1'000'000;
  EXPECT_EQ(isn_at(g, ten_years) - base,
            static_cast<std::int32_t>(static_cast<std::uint32_t>(ten_years / 4)));
}

// RFC 6528 §3 (M, the 4 µs timer of RFC 9293 §3.4.1): M ticks at 250 kHz, so two connections of one
// tuple opened 1 s apart get ISNs 250000 apart.
TEST(IsnGenerator, ConnectionsOneSecondApartAre250000Apart) {
  const IsnGenerator g(kKey);
  const std::int64_t first = 7'654'321;
  EXPECT_EQ(isn_at(g, first + 1'000'000) - isn_at(g, first), 250'000);
  EXPECT_EQ(isn_at(g, first + 1'000'000), isn_at(g, first) + 250'000);
}

// RFC 6528 §3: the secret key comes from the stack's seeded random source: two 64-bit draws,
// k0 first, so one seed gives one key (a simulation replays) and another seed another key.
TEST(IsnGenerator, KeyFromDrawsTwoWordsFromTheSeededRandom) {
  Random r1(42);
  Random r2(42);
  Random r3(43);
  const SipKey k = IsnGenerator::key_from(r1);
  Random expected(42);
  const std::uint64_t k0 = expected.next_u64();
  const std::uint64_t k1 = expected.next_u64();
  EXPECT_EQ(k.k0, k0);
  EXPECT_EQ(k.k1, k1);
  EXPECT_EQ(IsnGenerator::key_from(r2), k);
  EXPECT_NE(IsnGenerator::key_from(r3), k);
  EXPECT_NE(IsnGenerator::key_from(r1), k);  // the next key from the same source differs
}

// DESIGN.md "Memory": choosing an ISN allocates nothing (the hash runs over the fields, no buffer).
TEST(IsnGenerator, ChoosingAnIsnAllocatesNothing) {
  const IsnGenerator g(kKey);
  std::array<SeqNum, 1000> isns{};
  const std::size_t before = test::allocations();
  for (std::size_t i = 0; i < isns.size(); ++i)
    isns[i] = isn_at(g, static_cast<std::int64_t>(i));
  const std::size_t after = test::allocations();
  EXPECT_EQ(after - before, 0U);
  EXPECT_EQ(isns[999] - isns[0], 999 / 4);
}

}  // namespace
}  // namespace tapir
