#include "stack/base/mac_address.hpp"

namespace tapir {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress MacAddress::from_bytes(Bytes b, std::size_t off) {
  Expects(off <= b.size() && b.size() - off >= size);
  std::array<std::uint8_t, 6> o{};
  for (std::size_t i = 0; i < size; ++i)
    o[i] = load_u8(b, off + i);
  return MacAddress(o);
}

Result<MacAddress> MacAddress::parse(std::string_view text) {
  // Exactly six groups of two hex digits with one consistent separator.
  if (text.size() != 17) return fail(Errc::bad_address);
  const char sep = text[2];
  if (sep != ':' && sep != '-') return fail(Errc::bad_address);
  std::array<std::uint8_t, 6> o{};
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t p = i * 3;
    if (i > 0 && text[p - 1] != sep) return fail(Errc::bad_address);
    const int hi = hex_value(text[p]);
    const int lo = hex_value(text[p + 1]);
    if (hi < 0 || lo < 0) return fail(Errc::bad_address);
    o[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return MacAddress(o);
}

void MacAddress::to_bytes(BytesMut b, std::size_t off) const {
  Expects(off <= b.size() && b.size() - off >= size);
  for (std::size_t i = 0; i < size; ++i)
    store_u8(b, off + i, octets_[i]);
}

void MacAddress::format_to(char (&out)[18]) const {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    out[i * 3] = kHex[octets_[i] >> 4];
    out[i * 3 + 1] = kHex[octets_[i] & 0x0fU];
    out[i * 3 + 2] = (i + 1 < size) ? ':' : '\0';
  }
}

std::string MacAddress::to_string() const {
  char buf[18];
  format_to(buf);
  return std::string(buf, 17);
}

}  // namespace tapir
