// Test helpers: frames captured from Linux (tests/captures/*.pcap) and hex literals.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/wire/pcap.hpp"

namespace tapir::test {

struct CapturedFrame {
  std::vector<std::byte> bytes;
  wire::PcapRecordHeader header;
  Bytes span() const { return bytes; }
};

struct Capture {
  wire::LinkType link_type{};
  std::vector<CapturedFrame> frames;
};

// Reads tests/captures/<name> (e.g. "ping.pcap"); fails the calling test (ADD_FAILURE) and
// returns an empty capture if the file is missing or malformed.
Capture load_capture(std::string_view name);

// The full path of tests/captures/<name>.
std::string capture_path(std::string_view name);

// "45 00 00 54" or "45000054" -> bytes. Aborts the test on bad hex.
std::vector<std::byte> from_hex(std::string_view hex);
std::string to_hex(Bytes bytes);

// n bytes counting up from first (mod 256): the pattern of ping's data after its timestamp.
inline std::vector<std::byte> counting(unsigned first, std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::byte>((first + i) & 0xffU);
  return out;
}

inline std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A buffer of n bytes, every one 0xA5: emit() must overwrite each byte it owns.
inline std::vector<std::byte> poisoned(std::size_t n) {
  return std::vector<std::byte>(n, std::byte{0xa5});
}

}  // namespace tapir::test
