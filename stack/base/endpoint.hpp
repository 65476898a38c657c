// An IPv4 transport endpoint: address and port, as a socket binds, connects or receives from.
#pragma once

#include <cstdint>

#include "stack/base/ipv4_address.hpp"

namespace tapir {

struct Ipv4Endpoint {
  Ipv4Address address;
  std::uint16_t port = 0;

  constexpr bool operator==(const Ipv4Endpoint&) const = default;
};

}  // namespace tapir
