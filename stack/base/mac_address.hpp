// An IEEE 802 MAC address (EUI-48).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "stack/base/bytes.hpp"
#include "stack/base/error.hpp"

namespace tapir {

class MacAddress {
 public:
  static constexpr std::size_t size = 6;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(std::array<std::uint8_t, 6> octets) : octets_(octets) {}

  static constexpr MacAddress broadcast() {
    return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }
  // Reads six bytes at off (bounds-checked).
  static MacAddress from_bytes(Bytes b, std::size_t off = 0);
  // Parses "02:00:00:00:00:01" (also '-' separated); case-insensitive.
  static Result<MacAddress> parse(std::string_view text);

  void to_bytes(BytesMut b, std::size_t off = 0) const;
  constexpr const std::array<std::uint8_t, 6>& octets() const { return octets_; }

  constexpr bool is_broadcast() const { return *this == broadcast(); }
  // I/G bit: group (multicast or broadcast) address.
  constexpr bool is_multicast() const { return (octets_[0] & 0x01U) != 0; }
  constexpr bool is_unicast() const { return !is_multicast(); }
  // U/L bit: locally administered.
  constexpr bool is_local() const { return (octets_[0] & 0x02U) != 0; }
  constexpr bool is_zero() const { return *this == MacAddress{}; }

  std::string to_string() const;
  // Writes "xx:xx:xx:xx:xx:xx" (17 chars) into out; no allocation.
  void format_to(char (&out)[18]) const;

  constexpr auto operator<=>(const MacAddress&) const = default;

 private:
  std::array<std::uint8_t, 6> octets_{};
};

}  // namespace tapir

template <>
struct std::hash<tapir::MacAddress> {
  std::size_t operator()(const tapir::MacAddress& m) const noexcept {
    std::uint64_t v = 0;
    for (auto o : m.octets())
      v = (v << 8) | o;
    return std::hash<std::uint64_t>{}(v);
  }
};
