// SipHash-2-4 against its published test vectors, and the incremental hasher against one-shot.
#include "stack/base/siphash.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/captures.hpp"

namespace tapir {
namespace {

// The reference vectors' key and messages: key bytes 00 01 .. 0f, message of length n the
// bytes 00 01 .. n-1.
SipKey reference_key() {
  std::array<std::byte, 16> kb{};
  for (std::size_t i = 0; i < kb.size(); ++i)
    kb[i] = static_cast<std::byte>(i);
  return SipKey::from_bytes(kb);
}

std::vector<std::byte> reference_message(std::size_t len) {
  return test::counting(0, len);
}

std::string le_hex(std::uint64_t v) {
  std::array<std::byte, 8> b{};
  for (std::size_t i = 0; i < 8; ++i)
    b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xffU);
  return test::to_hex(b);
}

// The 64 SipHash-2-4 outputs for messages of length 0..63, from the reference implementation's
// vectors.h (vectors_sip64, github.com/veorq/SipHash), written as there: the output's 8 bytes,
// least significant first.
constexpr std::array<std::string_view, 64> kReferenceVectors = {
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",  // 0..3
    "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",  // 4..7
    "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",  // 8..11
    "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",  // 12..15
    "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",  // 16..19
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",  // 20..23
    "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",  // 24..27
    "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",  // 28..31
    "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",  // 32..35
    "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",  // 36..39
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",  // 40..43
    "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",  // 44..47
    "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",  // 48..51
    "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",  // 52..55
    "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",  // 56..59
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",  // 60..63
};

// SipHash paper (Aumasson & Bernstein 2012), Appendix A: key 00 01 .. 0f, the 15-byte message
// 00 01 .. 0e, "the algorithm returns ... a129ca6149be45e5".
TEST(SipHash, PaperAppendixAExample) {
  EXPECT_EQ(siphash24(reference_key(), reference_message(15)), 0xa129ca6149be45e5ULL);
}

// SipHash paper, Appendix A: the key 00 01 .. 0f read as two little-endian words.
TEST(SipHash, KeyBytesAreTwoLittleEndianWords) {
  const SipKey key = reference_key();
  EXPECT_EQ(key.k0, 0x0706050403020100ULL);
  EXPECT_EQ(key.k1, 0x0f0e0d0c0b0a0908ULL);
}

// Reference vectors.h (vectors_sip64) as 64-bit values, at the lengths where the last word is
// empty, one byte, nearly full or full: 0, 1, 7, 8, 15 (also the paper's example) and 63.
TEST(SipHash, ReferenceVectorsAtBoundaryLengths) {
  const SipKey key = reference_key();
  EXPECT_EQ(siphash24(key, reference_message(0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(siphash24(key, reference_message(1)), 0x74f839c593dc67fdULL);
  EXPECT_EQ(siphash24(key, reference_message(7)), 0xab0200f58b01d137ULL);
  EXPECT_EQ(siphash24(key, reference_message(8)), 0x93f5f5799a932462ULL);
  EXPECT_EQ(siphash24(key, reference_message(15)), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(siphash24(key, reference_message(63)), 0x958a324ceb064572ULL);
}

// Reference vectors.h (vectors_sip64): all 64, one-shot and fed one byte at a time.
TEST(SipHash, AllSixtyFourReferenceVectors) {
  const SipKey key = reference_key();
  for (std::size_t len = 0; len < kReferenceVectors.size(); ++len) {
    const auto message = reference_message(len);
    EXPECT_EQ(le_hex(siphash24(key, message)), kReferenceVectors[len]) << "length " << len;
    SipHasher h(key);
    for (const std::byte b : message)
      h.add_u8(std::to_integer<std::uint8_t>(b));
    EXPECT_EQ(le_hex(h.finish()), kReferenceVectors[len]) << "bytewise, length " << len;
  }
}

// Any split of a message into pieces hashes as the whole (seeded, so a failure replays).
TEST(SipHash, IncrementalEqualsOneShotForRandomSplits) {
  Random rng(6528);
  for (int trial = 0; trial < 500; ++trial) {
    const SipKey key{rng.next_u64(), rng.next_u64()};
    std::vector<std::byte> message(rng.below(200));
    for (auto& b : message)
      b = static_cast<std::byte>(rng.next_u32());
    const Bytes all(message);
    SipHasher h(key);
    std::size_t off = 0;
    while (off < all.size()) {
      const std::size_t n = rng.between(0, static_cast<std::uint32_t>(all.size() - off));
      h.add(all.subspan(off, n));
      off += n;
    }
    ASSERT_EQ(h.finish(), siphash24(key, all)) << "trial " << trial;
  }
}

// add_be16 / add_be32 append the value's bytes most significant first (network order).
TEST(SipHash, IntegerAddersAppendNetworkOrderBytes) {
  const SipKey key{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const auto bytes = test::from_hex(
      "c0a80001"
      "1f90"
      "7f"
      "0a000002"
      "d431");
  const auto fields = SipHasher(key)
                          .add_be32(0xc0a80001U)
                          .add_be16(0x1f90U)
                          .add_u8(0x7fU)
                          .add_be32(0x0a000002U)
                          .add_be16(0xd431U)
                          .finish();
  EXPECT_EQ(fields, siphash24(key, bytes));
}

// finish() leaves the hasher as it was: a prefix's hash, then more input.
TEST(SipHash, FinishDoesNotDisturbTheHasher) {
  const SipKey key = reference_key();
  const auto message = reference_message(20);
  const Bytes all(message);
  SipHasher h(key);
  h.add(all.first(11));
  EXPECT_EQ(h.finish(), siphash24(key, all.first(11)));
  EXPECT_EQ(h.finish(), siphash24(key, all.first(11)));
  h.add(all.subspan(11));
  EXPECT_EQ(le_hex(h.finish()), kReferenceVectors[20]);
}

// The key matters: flipping any one bit of it changes the hash.
TEST(SipHash, EveryKeyBitChangesTheHash) {
  const SipKey key = reference_key();
  const auto message = reference_message(12);
  const auto base = siphash24(key, message);
  for (unsigned bit = 0; bit < 128; ++bit) {
    SipKey k = key;
    if (bit < 64)
      k.k0 ^= std::uint64_t{1} << bit;
    else
      k.k1 ^= std::uint64_t{1} << (bit - 64);
    EXPECT_NE(siphash24(k, message), base) << "bit " << bit;
  }
}

}  // namespace
}  // namespace tapir
