// Big-endian field access over byte spans: the only way the stack reads or writes wire bytes.
// Every access is bounds-checked by gsl::span (a violated bound terminates, it never reads past
// the buffer); views call these only after their check() has validated the lengths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <gsl/span>
#include <gsl/util>

namespace tapir {

using Bytes = gsl::span<const std::byte>;
using BytesMut = gsl::span<std::byte>;

inline std::uint8_t load_u8(Bytes b, std::size_t off) {
  return std::to_integer<std::uint8_t>(b[off]);
}

inline std::uint16_t load_be16(Bytes b, std::size_t off) {
  Expects(off <= b.size() && b.size() - off >= 2);
  const auto* p = b.data() + off;
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}

inline std::uint32_t load_be32(Bytes b, std::size_t off) {
  Expects(off <= b.size() && b.size() - off >= 4);
  const auto* p = b.data() + off;
  return (std::to_integer<std::uint32_t>(p[0]) << 24) |
         (std::to_integer<std::uint32_t>(p[1]) << 16) |
         (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}

inline void store_u8(BytesMut b, std::size_t off, std::uint8_t v) {
  b[off] = std::byte{v};
}

inline void store_be16(BytesMut b, std::size_t off, std::uint16_t v) {
  Expects(off <= b.size() && b.size() - off >= 2);
  auto* p = b.data() + off;
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v & 0xffU);
}

inline void store_be32(BytesMut b, std::size_t off, std::uint32_t v) {
  Expects(off <= b.size() && b.size() - off >= 4);
  auto* p = b.data() + off;
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>((v >> 16) & 0xffU);
  p[2] = static_cast<std::byte>((v >> 8) & 0xffU);
  p[3] = static_cast<std::byte>(v & 0xffU);
}

// Copies src into dst at off; dst must have room (checked).
inline void store_bytes(BytesMut dst, std::size_t off, Bytes src) {
  Expects(off <= dst.size() && dst.size() - off >= src.size());
  if (!src.empty()) std::memmove(dst.data() + off, src.data(), src.size());
}

// A byte view of any trivially copyable object or array of them (for tests and literals).
inline Bytes as_bytes(const void* data, std::size_t len) {
  return {static_cast<const std::byte*>(data), len};
}

}  // namespace tapir
