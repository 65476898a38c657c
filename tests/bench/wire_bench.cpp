// Per-frame costs of the wire layer: the Internet checksum over full-size payloads and the
// codecs' check/parse/emit on captured Linux frames. Run: build/default/bin/bench_wire
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/base/checksum.hpp"
#include "stack/base/random.hpp"

namespace {

using namespace tapir;

std::vector<std::byte> random_bytes(std::size_t n) {
  Random rng(1);
  std::vector<std::byte> v(n);
  for (auto& b : v)
    b = static_cast<std::byte>(rng.next_u32());
  return v;
}

void BM_InternetChecksum(benchmark::State& state) {
  const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(internet_checksum(data));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_InternetChecksum)->Arg(20)->Arg(64)->Arg(1460)->Arg(9000);

}  // namespace

BENCHMARK_MAIN();
