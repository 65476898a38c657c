// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// A checksum is built from partial sums: `checksum_add` folds data into a running 32-bit
// accumulator (a ones'-complement sum in network byte order); `checksum_finish` complements it.
// Partial sums over consecutive chunks combine only if every chunk but the last has even length.
#pragma once

#include <cstdint>

#include "stack/base/bytes.hpp"
#include "stack/base/ipv4_address.hpp"

namespace tapir {

// RFC 1071 §4.1: adds data into acc; the result is a partial sum folded to 16 bits.
std::uint32_t checksum_add(Bytes data, std::uint32_t acc = 0) noexcept;

// Adds a 16-bit word (network byte order value) into acc.
constexpr std::uint32_t checksum_add_word(std::uint32_t acc, std::uint16_t word) noexcept {
  acc += word;
  return (acc & 0xffffU) + (acc >> 16);
}

// Folds a partial sum and returns its ones' complement: the value to put on the wire.
constexpr std::uint16_t checksum_finish(std::uint32_t acc) noexcept {
  while (acc >> 16)
    acc = (acc & 0xffffU) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xffffU);
}

inline std::uint16_t internet_checksum(Bytes data) noexcept {
  return checksum_finish(checksum_add(data));
}

// The IPv4 pseudo-header of UDP (RFC 768) and TCP (RFC 9293 §3.1) as a partial sum.
constexpr std::uint32_t pseudo_header_sum(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                                          std::uint16_t length) noexcept {
  std::uint32_t acc = 0;
  acc = checksum_add_word(acc, static_cast<std::uint16_t>(src.value() >> 16));
  acc = checksum_add_word(acc, static_cast<std::uint16_t>(src.value() & 0xffffU));
  acc = checksum_add_word(acc, static_cast<std::uint16_t>(dst.value() >> 16));
  acc = checksum_add_word(acc, static_cast<std::uint16_t>(dst.value() & 0xffffU));
  acc = checksum_add_word(acc, protocol);
  acc = checksum_add_word(acc, length);
  return acc;
}

// RFC 1624 §3 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum after one 16-bit word changes
// from old_word to new_word (e.g. a TTL decrement), without touching the rest of the data.
constexpr std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_word,
                                        std::uint16_t new_word) noexcept {
  std::uint32_t acc = static_cast<std::uint16_t>(~checksum);
  acc = checksum_add_word(acc, static_cast<std::uint16_t>(~old_word));
  acc = checksum_add_word(acc, new_word);
  return checksum_finish(acc);
}

// The same for a 32-bit field (an address rewritten by NAT, say).
constexpr std::uint16_t checksum_update32(std::uint16_t checksum, std::uint32_t old_value,
                                          std::uint32_t new_value) noexcept {
  checksum = checksum_update(checksum, static_cast<std::uint16_t>(old_value >> 16),
                             static_cast<std::uint16_t>(new_value >> 16));
  return checksum_update(checksum, static_cast<std::uint16_t>(old_value & 0xffffU),
                         static_cast<std::uint16_t>(new_value & 0xffffU));
}

}  // namespace tapir
