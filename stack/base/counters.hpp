// Named counters. Every drop in the stack increments one; names are stable, `<layer>.<reason>`
// (e.g. "ipv4.rx_bad_checksum"), and readable through the API and by apps on SIGUSR1.
//
// A layer keeps its counters in a plain struct of `Counter` members and lists them once in a
// `for_each_counter(F)` member, which the stack uses to print, collect or compare them:
//
//   struct Ipv4Counters {
//     Counter rx_bad_checksum, rx_truncated;
//     template <class F> void for_each_counter(F&& f) const {
//       f("ipv4.rx_bad_checksum", rx_bad_checksum);
//       f("ipv4.rx_truncated", rx_truncated);
//     }
//   };
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tapir {

class Counter {
 public:
  constexpr void inc(std::uint64_t n = 1) noexcept { value_ += n; }
  constexpr std::uint64_t value() const noexcept { return value_; }
  constexpr void reset() noexcept { value_ = 0; }

 private:
  std::uint64_t value_ = 0;
};

struct CounterValue {
  std::string_view name;
  std::uint64_t value;
  bool operator==(const CounterValue&) const = default;
};

// Collects a counter struct into (name, value) pairs, e.g. for printing. Not for the data path.
template <class Counters>
std::vector<CounterValue> collect_counters(const Counters& counters, bool nonzero_only = false) {
  std::vector<CounterValue> out;
  counters.for_each_counter([&](std::string_view name, const Counter& c) {
    if (!nonzero_only || c.value() != 0) out.push_back({name, c.value()});
  });
  return out;
}

}  // namespace tapir
