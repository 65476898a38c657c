// SipHash-2-4, written from the description in the paper (Aumasson & Bernstein 2012, §2).
#include "stack/base/siphash.hpp"

#include <bit>

namespace tapir {
namespace {

// The paper's §2 initialisation constants: "somepseudorandomlygeneratedbytes" in ASCII.
constexpr std::uint64_t kInit0 = 0x736f6d6570736575ULL;
constexpr std::uint64_t kInit1 = 0x646f72616e646f6dULL;
constexpr std::uint64_t kInit2 = 0x6c7967656e657261ULL;
constexpr std::uint64_t kInit3 = 0x7465646279746573ULL;

constexpr int kCompressionRounds = 2;   // the "2" of SipHash-2-4
constexpr int kFinalizationRounds = 4;  // the "4"

struct State {
  std::uint64_t v0, v1, v2, v3;

  // One SipRound: add-rotate-xor over the four words (the paper's Figure 2.1).
  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  void compress(std::uint64_t m) noexcept {
    v3 ^= m;
    for (int i = 0; i < kCompressionRounds; ++i)
      round();
    v0 ^= m;
  }
};

std::uint64_t load_le64(Bytes b, std::size_t off) {
  Expects(off <= b.size() && b.size() - off >= 8);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::to_integer<std::uint64_t>(b[off + i]) << (8 * i);
  return v;
}

}  // namespace

SipKey SipKey::from_bytes(Bytes bytes) {
  Expects(bytes.size() == 16);
  return SipKey{load_le64(bytes, 0), load_le64(bytes, 8)};
}

SipHasher::SipHasher(const SipKey& key) noexcept
    : v0_(key.k0 ^ kInit0), v1_(key.k1 ^ kInit1), v2_(key.k0 ^ kInit2), v3_(key.k1 ^ kInit3) {}

void SipHasher::compress(std::uint64_t word) noexcept {
  State s{v0_, v1_, v2_, v3_};
  s.compress(word);
  v0_ = s.v0;
  v1_ = s.v1;
  v2_ = s.v2;
  v3_ = s.v3;
}

void SipHasher::push(std::uint8_t byte) noexcept {
  tail_ |= std::uint64_t{byte} << (8 * (len_ % 8));
  ++len_;
  if (len_ % 8 == 0) {
    compress(tail_);
    tail_ = 0;
  }
}

SipHasher& SipHasher::add(Bytes data) noexcept {
  std::size_t i = 0;
  // Complete a word begun by an earlier add, then take whole words straight from data.
  while (i < data.size() && len_ % 8 != 0)
    push(load_u8(data, i++));
  for (; data.size() - i >= 8; i += 8) {
    compress(load_le64(data, i));
    len_ += 8;
  }
  while (i < data.size())
    push(load_u8(data, i++));
  return *this;
}

SipHasher& SipHasher::add_u8(std::uint8_t v) noexcept {
  push(v);
  return *this;
}

SipHasher& SipHasher::add_be16(std::uint16_t v) noexcept {
  push(static_cast<std::uint8_t>(v >> 8));
  push(static_cast<std::uint8_t>(v & 0xffU));
  return *this;
}

SipHasher& SipHasher::add_be32(std::uint32_t v) noexcept {
  push(static_cast<std::uint8_t>(v >> 24));
  push(static_cast<std::uint8_t>((v >> 16) & 0xffU));
  push(static_cast<std::uint8_t>((v >> 8) & 0xffU));
  push(static_cast<std::uint8_t>(v & 0xffU));
  return *this;
}

std::uint64_t SipHasher::finish() const noexcept {
  State s{v0_, v1_, v2_, v3_};
  // The last word: the leftover bytes, and the length mod 256 in the top byte.
  s.compress(tail_ | (len_ & 0xffU) << 56);
  s.v2 ^= 0xff;
  for (int i = 0; i < kFinalizationRounds; ++i)
    s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::uint64_t siphash24(const SipKey& key, Bytes message) noexcept {
  return SipHasher(key).add(message).finish();
}

}  // namespace tapir
