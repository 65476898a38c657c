#include "stack/base/checksum.hpp"

#include <bit>
#include <cstring>

namespace tapir {

// RFC 1071 §2(B): the ones'-complement sum is independent of byte order, so the data is summed
// as native-order 32-bit words in a 64-bit accumulator (no carry handling inside the loop) and
// the folded result is swapped into network order once at the end.
std::uint32_t checksum_add(Bytes data, std::uint32_t acc) noexcept {
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t sum = 0;
  while (n >= 32) {
    std::uint32_t w[8];
    std::memcpy(w, p, sizeof w);
    sum += std::uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
    p += 32;
    n -= 32;
  }
  while (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, sizeof w);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd byte is the high half of a network-order word: in memory order it comes first.
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);
    sum += w;
  }
  while (sum >> 16)
    sum = (sum & 0xffffU) + (sum >> 16);
  auto folded = static_cast<std::uint16_t>(sum);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<std::uint16_t>((folded >> 8) | (folded << 8));
  }
  return checksum_add_word(acc, folded);
}

}  // namespace tapir
