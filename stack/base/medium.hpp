// What a device (and the stack interface on it) carries: Ethernet frames (TAP, memory wire) or
// bare IP packets (TUN). Shared by the core and the drivers.
#pragma once

#include <cstdint>

namespace tapir {

enum class Medium : std::uint8_t {
  Ethernet,  // frames start with an Ethernet header (TAP, memory wire)
  Ip,        // frames are bare IP packets (TUN)
};

}  // namespace tapir
