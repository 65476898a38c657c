#include "stack/base/ipv4_address.hpp"

#include <charconv>

namespace tapir {
namespace {

// Parses a decimal number of 1..3 digits without sign or leading '+'; rejects empty text.
bool parse_decimal(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size() && out <= max;
}

}  // namespace

Result<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = text.find('.');
    const bool last = (i == 3);
    if (last != (dot == std::string_view::npos)) return fail(Errc::bad_address);
    unsigned octet = 0;
    if (!parse_decimal(text.substr(0, dot), 255, octet)) return fail(Errc::bad_address);
    value = (value << 8) | octet;
    if (!last) text.remove_prefix(dot + 1);
  }
  return Ipv4Address(value);
}

std::size_t Ipv4Address::format_to(char (&out)[16]) const {
  std::size_t n = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const unsigned octet = (value_ >> shift) & 0xffU;
    const auto [ptr, ec] = std::to_chars(out + n, out + 15, octet);
    (void)ec;  // three digits always fit
    n = static_cast<std::size_t>(ptr - out);
    if (shift > 0) out[n++] = '.';
  }
  out[n] = '\0';
  return n;
}

std::string Ipv4Address::to_string() const {
  char buf[16];
  const auto n = format_to(buf);
  return std::string(buf, n);
}

Result<Ipv4Cidr> Ipv4Cidr::make(Ipv4Address address, unsigned prefix_len) {
  if (prefix_len > 32) return fail(Errc::bad_prefix_len);
  return Ipv4Cidr(address, prefix_len);
}

Result<Ipv4Cidr> Ipv4Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(Errc::bad_prefix_len);
  auto address = Ipv4Address::parse(text.substr(0, slash));
  if (!address) return tl::unexpected(address.error());
  unsigned len = 0;
  if (!parse_decimal(text.substr(slash + 1), 32, len)) return fail(Errc::bad_prefix_len);
  return Ipv4Cidr(*address, len);
}

std::string Ipv4Cidr::to_string() const {
  return address_.to_string() + "/" + std::to_string(prefix_len_);
}

}  // namespace tapir
