// Time in the core: a clock *type* with no now(). The core is told the time by its caller
// (a driver reads the real clock, a test or simulation makes time up), never reads it itself.
#pragma once

#include <chrono>
#include <cstdint>

namespace tapir {

using Duration = std::chrono::microseconds;

// Tag clock for Instant. It deliberately has no now(): see the sans-IO rule in DESIGN.md.
struct StackClock {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = Duration;
  using time_point = std::chrono::time_point<StackClock, Duration>;
  static constexpr bool is_steady = true;
};

using Instant = StackClock::time_point;

// The instant `us` microseconds after the epoch the driver chose (its start, usually).
constexpr Instant instant_from_micros(std::int64_t us) {
  return Instant{Duration{us}};
}
constexpr std::int64_t to_micros(Instant t) {
  return t.time_since_epoch().count();
}

// "No deadline": what next_deadline() returns when nothing is pending.
constexpr Instant kNever = Instant::max();

}  // namespace tapir
