// SeqNum: modular arithmetic and comparison across the 2^32 wrap.
#include "stack/wire/seq_num.hpp"

#include <limits>
#include <ostream>
#include <type_traits>

#include <gtest/gtest.h>

namespace tapir::wire {

void PrintTo(SeqNum s, std::ostream* os) {
  *os << "SeqNum(" << s.value() << ")";
}

namespace {

// Never an integer in disguise.
static_assert(!std::is_convertible_v<SeqNum, std::uint32_t>);
static_assert(!std::is_convertible_v<std::uint32_t, SeqNum>);
static_assert(std::is_trivially_copyable_v<SeqNum> && sizeof(SeqNum) == 4);

constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();

TEST(SeqNum, AddsModulo2To32) {
  // RFC 9293 §3.4: sequence arithmetic is modulo 2^32.
  EXPECT_EQ(SeqNum(kMax) + 1, SeqNum(0));
  EXPECT_EQ(SeqNum(kMax - 2) + 10, SeqNum(7));
  EXPECT_EQ(SeqNum(3) - 5, SeqNum(kMax - 1));
  SeqNum s(kMax);
  s += 2;
  EXPECT_EQ(s, SeqNum(1));
  s -= 3;
  EXPECT_EQ(s, SeqNum(kMax - 1));
}

TEST(SeqNum, DifferenceIsSignedDistance) {
  EXPECT_EQ(SeqNum(10) - SeqNum(3), 7);
  EXPECT_EQ(SeqNum(3) - SeqNum(10), -7);
  EXPECT_EQ(SeqNum(5) - SeqNum(kMax - 1), 7);  // across the wrap
  EXPECT_EQ(SeqNum(kMax - 1) - SeqNum(5), -7);
  EXPECT_EQ(SeqNum(42) - SeqNum(42), 0);
  EXPECT_EQ(SeqNum(0x80000000U) - SeqNum(0), std::numeric_limits<std::int32_t>::min());
}

TEST(SeqNum, ComparesBySignOfDifference) {
  // RFC 9293 §3.4 / RFC 1982 §3.2: ordering by the sign of the 32-bit difference.
  EXPECT_LT(SeqNum(1), SeqNum(2));
  EXPECT_GT(SeqNum(2), SeqNum(1));
  EXPECT_LE(SeqNum(2), SeqNum(2));
  EXPECT_GE(SeqNum(2), SeqNum(2));
  EXPECT_FALSE(SeqNum(2) < SeqNum(2));
  EXPECT_FALSE(SeqNum(2) > SeqNum(2));
}

TEST(SeqNum, ComparesAcrossWrapAround) {
  const SeqNum before(kMax - 10);
  const SeqNum after(20);
  EXPECT_LT(before, after);
  EXPECT_LE(before, after);
  EXPECT_GT(after, before);
  EXPECT_GE(after, before);
  EXPECT_FALSE(after < before);
  EXPECT_LT(SeqNum(kMax), SeqNum(0));
  EXPECT_EQ(seq_max(before, after), after);
  EXPECT_EQ(seq_min(before, after), before);
}

TEST(SeqNum, OrdersNumbersLessThanHalfTheSpaceApart) {
  const SeqNum base(0x12345678);
  const std::uint32_t half = 0x80000000U;
  EXPECT_LT(base, base + (half - 1));
  EXPECT_GT(base, base + (half + 1));  // further than 2^31 ahead reads as behind
}

TEST(SeqNum, IsNotTransitiveAcrossMoreThanHalfTheSpace) {
  // The documented caveat: a < b and b < c, yet c < a, once c - a >= 2^31.
  const SeqNum a(0);
  const SeqNum b(0x60000000U);
  const SeqNum c(0xc0000000U);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, a);
}

TEST(SeqNum, ExactlyHalfTheSpaceApartIsUndefined) {
  // RFC 1982 §3.2 leaves this case undefined; the sign rule makes each less than the other.
  const SeqNum a(0);
  const SeqNum b(0x80000000U);
  EXPECT_LT(a, b);
  EXPECT_LT(b, a);
}

}  // namespace
}  // namespace tapir::wire
