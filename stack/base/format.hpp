// fmt formatters for the base types, so `fmt::format_to(out, "{} > {}", src, dst)` writes
// addresses straight into the output buffer with no temporary strings (the trace path).
#pragma once

#include <string_view>

#include <fmt/format.h>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"

template <>
struct fmt::formatter<tapir::Ipv4Address> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const tapir::Ipv4Address& a, FormatContext& ctx) const {
    char buf[16];
    const auto n = a.format_to(buf);
    return fmt::formatter<std::string_view>::format(std::string_view(buf, n), ctx);
  }
};

template <>
struct fmt::formatter<tapir::MacAddress> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const tapir::MacAddress& m, FormatContext& ctx) const {
    char buf[18];
    m.format_to(buf);
    return fmt::formatter<std::string_view>::format(std::string_view(buf, 17), ctx);
  }
};
