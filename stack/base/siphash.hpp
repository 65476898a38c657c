// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed hash with
// a 128-bit key and a 64-bit output, two compression rounds per 8-byte word and four
// finalisation rounds. The stack uses it where an attacker must not predict or collide a value
// without knowing a secret: initial sequence numbers (RFC 6528), later SYN cookies.
//
// The message is read as little-endian 64-bit words; the last word carries the 0..7 bytes left
// over and, in its top byte, the message length mod 256 (the paper, §2). The key is two
// little-endian words too: the 16 key bytes kb[0..15] are k0 = kb[0..7], k1 = kb[8..15].
//
// SipHasher takes the message in pieces, so a caller can hash fields without laying them out in
// a temporary buffer; any split of the same bytes gives the same value as siphash24() over all
// of them. Nothing allocates.
#pragma once

#include <cstdint>

#include "stack/base/bytes.hpp"

namespace tapir {

struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;

  // The key as the paper writes it: 16 bytes, k0 from the first 8 (little-endian), k1 from the
  // rest. bytes must be exactly 16 long (checked).
  static SipKey from_bytes(Bytes bytes);

  friend constexpr bool operator==(const SipKey&, const SipKey&) = default;
};

class SipHasher {
 public:
  explicit SipHasher(const SipKey& key) noexcept;

  // Appends bytes to the message.
  SipHasher& add(Bytes data) noexcept;
  // Appends one byte; two or four bytes in network (big-endian) order, as they sit in a header.
  SipHasher& add_u8(std::uint8_t v) noexcept;
  SipHasher& add_be16(std::uint16_t v) noexcept;
  SipHasher& add_be32(std::uint32_t v) noexcept;

  // The SipHash-2-4 of everything added so far. The hasher is not changed: more may be added.
  std::uint64_t finish() const noexcept;

 private:
  void push(std::uint8_t byte) noexcept;
  void compress(std::uint64_t word) noexcept;

  std::uint64_t v0_, v1_, v2_, v3_;
  std::uint64_t tail_ = 0;  // the bytes of the current, incomplete word, little-endian
  std::uint64_t len_ = 0;   // bytes added in all
};

// SipHash-2-4 of message under key, in one call.
std::uint64_t siphash24(const SipKey& key, Bytes message) noexcept;

}  // namespace tapir
