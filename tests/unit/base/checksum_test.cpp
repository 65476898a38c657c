#include "stack/base/checksum.hpp"

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/captures.hpp"

namespace tapir {
namespace {

// A straightforward RFC 1071 reference: big-endian 16-bit words, end-around carry.
std::uint16_t reference_checksum(Bytes data) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2)
    sum += load_be16(data, i);
  if (data.size() % 2 == 1) sum += std::uint32_t{load_u8(data, data.size() - 1)} << 8;
  while (sum >> 16)
    sum = (sum & 0xffffU) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// RFC 1071 §3: the numerical example, bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
TEST(Checksum, Rfc1071Example) {
  const auto data = test::from_hex("0001f203f4f5f6f7");
  EXPECT_EQ(checksum_finish(checksum_add(data)), static_cast<std::uint16_t>(~0xddf2U));
}

// An IPv4 echo-request header as Linux sends it (10.0.0.1 -> 10.0.0.2), checksum 0xa4ce.
TEST(Checksum, VerifiesCapturedIpv4Header) {
  const auto header = test::from_hex("4500005481d840004001a4ce0a0000010a000002");
  EXPECT_EQ(internet_checksum(header), 0);  // a correct header sums to zero
}

TEST(Checksum, AgreesWithReferenceAtEveryLengthAndAlignment) {
  Random rng(1);
  std::vector<std::byte> buf(300);
  for (auto& b : buf)
    b = static_cast<std::byte>(rng.next_u32());
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len = 0; len + off <= buf.size(); ++len) {
      const Bytes data = Bytes(buf).subspan(off, len);
      ASSERT_EQ(internet_checksum(data), reference_checksum(data)) << off << "+" << len;
    }
  }
}

TEST(Checksum, PartialSumsCombineOverEvenChunks) {
  const auto data = test::from_hex("4500005481d840004001a4ce0a0000010a000002");
  const Bytes all(data);
  const auto acc = checksum_add(all.subspan(10), checksum_add(all.first(10)));
  EXPECT_EQ(checksum_finish(acc), 0);
}

// RFC 1624 §4: incremental update after a TTL decrement equals recomputation.
TEST(Checksum, Rfc1624IncrementalUpdateMatchesRecompute) {
  auto header = test::from_hex("4500005481d840004001a4ce0a0000010a000002");
  const auto old_word = load_be16(header, 8);  // TTL and protocol
  const auto old_sum = load_be16(header, 10);
  header[8] = std::byte{0x3f};
  const auto new_word = load_be16(header, 8);
  store_be16(header, 10, 0);
  const auto recomputed = internet_checksum(header);
  EXPECT_EQ(checksum_update(old_sum, old_word, new_word), recomputed);
}

TEST(Checksum, Update32MatchesRecompute) {
  auto header = test::from_hex("4500005481d840004001a4ce0a0000010a000002");
  const auto old_sum = load_be16(header, 10);
  const auto old_src = load_be32(header, 12);
  store_be32(header, 12, 0xc0a80101);
  store_be16(header, 10, 0);
  EXPECT_EQ(checksum_update32(old_sum, old_src, 0xc0a80101), internet_checksum(header));
}

TEST(Checksum, PseudoHeaderSum) {
  // RFC 768: src, dst, zero, protocol, UDP length as 16-bit words.
  const auto words = test::from_hex("0a000001 0a000002 0011 0010");
  EXPECT_EQ(checksum_finish(
                pseudo_header_sum(Ipv4Address(10, 0, 0, 1), Ipv4Address(10, 0, 0, 2), 17, 16)),
            internet_checksum(words));
}

}  // namespace
}  // namespace tapir
