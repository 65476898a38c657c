// IPv4 addresses and CIDR prefixes (RFC 791, RFC 4632), held in host byte order.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "stack/base/bytes.hpp"
#include "stack/base/error.hpp"

namespace tapir {

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(std::uint32_t host_order) : value_(host_order) {}
  constexpr Ipv4Address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
      : value_((std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d) {}

  static constexpr Ipv4Address any() { return Ipv4Address(0U); }
  static constexpr Ipv4Address broadcast() { return Ipv4Address(0xffffffffU); }
  static Ipv4Address from_bytes(Bytes b, std::size_t off = 0) {
    return Ipv4Address(load_be32(b, off));
  }
  // Strict dotted quad: four decimal octets 0..255, no leading '+', no empty parts.
  static Result<Ipv4Address> parse(std::string_view text);

  void to_bytes(BytesMut b, std::size_t off = 0) const { store_be32(b, off, value_); }
  constexpr std::uint32_t value() const { return value_; }

  constexpr bool is_unspecified() const { return value_ == 0; }
  constexpr bool is_broadcast() const { return value_ == 0xffffffffU; }
  constexpr bool is_multicast() const { return (value_ >> 28) == 0xeU; }  // 224.0.0.0/4
  constexpr bool is_loopback() const { return (value_ >> 24) == 127U; }

  std::string to_string() const;
  // Writes the dotted quad (at most 15 chars) NUL-terminated into out; returns its length.
  std::size_t format_to(char (&out)[16]) const;

  constexpr auto operator<=>(const Ipv4Address&) const = default;

 private:
  std::uint32_t value_ = 0;
};

// An address with a prefix length, as an interface address ("10.0.0.2/24") or a route.
class Ipv4Cidr {
 public:
  constexpr Ipv4Cidr() = default;
  // Returns an error if prefix_len > 32.
  static Result<Ipv4Cidr> make(Ipv4Address address, unsigned prefix_len);
  // "A.B.C.D/LEN"; the address part keeps its host bits (an interface address).
  static Result<Ipv4Cidr> parse(std::string_view text);

  constexpr Ipv4Address address() const { return address_; }
  constexpr unsigned prefix_len() const { return prefix_len_; }
  constexpr Ipv4Address netmask() const {
    return Ipv4Address(prefix_len_ == 0 ? 0U : ~std::uint32_t{0} << (32 - prefix_len_));
  }
  constexpr Ipv4Address network() const {
    return Ipv4Address(address_.value() & netmask().value());
  }
  // The directed broadcast address of the prefix (RFC 919/922).
  constexpr Ipv4Address broadcast() const {
    return Ipv4Address(address_.value() | ~netmask().value());
  }
  constexpr bool contains(Ipv4Address a) const {
    return (a.value() & netmask().value()) == network().value();
  }

  std::string to_string() const;

  constexpr bool operator==(const Ipv4Cidr&) const = default;

 private:
  constexpr Ipv4Cidr(Ipv4Address a, unsigned len) : address_(a), prefix_len_(len) {}
  Ipv4Address address_;
  unsigned prefix_len_ = 0;
};

}  // namespace tapir

template <>
struct std::hash<tapir::Ipv4Address> {
  std::size_t operator()(const tapir::Ipv4Address& a) const noexcept {
    return std::hash<std::uint32_t>{}(a.value());
  }
};
