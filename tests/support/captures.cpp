#include "tests/support/captures.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace tapir::test {

std::string capture_path(std::string_view name) {
  return std::string(TAPIR_CAPTURE_DIR) + "/" + std::string(name);
}

Capture load_capture(std::string_view name) {
  const auto path = capture_path(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot open capture " << path;
    return {};
  }
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Bytes file = as_bytes(raw.data(), raw.size());
  auto reader = wire::PcapReader::open(file);
  if (!reader) {
    ADD_FAILURE() << path << ": " << reader.error().message();
    return {};
  }
  Capture capture{reader->file_header().link_type, {}};
  for (;;) {
    auto record = reader->next();
    if (!record) {
      ADD_FAILURE() << path << ": " << record.error().message();
      return {};
    }
    if (!*record) break;
    const auto& r = **record;
    capture.frames.push_back({{r.data.begin(), r.data.end()}, r.header});
  }
  return capture;
}

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  int high = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == ':')
      continue;
    if (v < 0) {
      ADD_FAILURE() << "bad hex character '" << c << "'";
      return {};
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) ADD_FAILURE() << "odd number of hex digits";
  return out;
}

std::string to_hex(Bytes bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    s += kHex[v >> 4];
    s += kHex[v & 0xfU];
  }
  return s;
}

}  // namespace tapir::test
