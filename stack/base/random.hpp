// The stack's only source of randomness: a seeded, deterministic generator. Seeds come from
// StackConfig, so a simulation or fuzz run replays exactly; drivers seed it from the OS.
#pragma once

#include <cstdint>
#include <random>

namespace tapir {

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t next_u64() { return engine_(); }
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(engine_() >> 32); }

  // Uniform in [0, bound) for bound > 0, by Lemire's multiply-shift with rejection; written out
  // (not std::uniform_int_distribution) so results are identical across standard libraries.
  std::uint32_t below(std::uint32_t bound) {
    if (bound == 0) return 0;
    std::uint64_t m = std::uint64_t{next_u32()} * bound;
    auto low = static_cast<std::uint32_t>(m);
    if (low < bound) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-bound) % bound;
      while (low < threshold) {
        m = std::uint64_t{next_u32()} * bound;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  // Uniform in [lo, hi] (inclusive).
  std::uint32_t between(std::uint32_t lo, std::uint32_t hi) {
    if (hi <= lo) return lo;
    const std::uint64_t span = std::uint64_t{hi} - lo + 1;
    if (span > 0xffffffffULL) return next_u32();
    return lo + below(static_cast<std::uint32_t>(span));
  }

  // True with probability parts_per_million / 1e6.
  bool chance_ppm(std::uint32_t parts_per_million) { return below(1'000'000) < parts_per_million; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tapir
