// Google Benchmark of the learning bridge alone: frames in through Bridge::receive, out into a
// sink that only counts them. Learnt unicast between two access ports (two FDB operations, no
// copy: the frame leaves as it came), a trunk re-tag (untagged in, tagged out: one copy into
// the scratch frame), a broadcast flooded to 7 ports of mixed modes, and the FDB under a
// flood of new sources at capacity. Figures in docs/bridge.md.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "stack/bridge/bridge.hpp"

namespace {

using namespace tapir;          // NOLINT(build/namespaces): a benchmark
using namespace tapir::bridge;  // NOLINT(build/namespaces)

const MacAddress kA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kB({0x02, 0, 0, 0, 0, 0x0b});

struct CountingSink final : PortSink {
  std::size_t frames = 0, bytes = 0;
  void transmit(PortId /*port*/, Bytes frame) override {
    ++frames;
    bytes += frame.size();
  }
};

std::vector<std::byte> frame(MacAddress dst, MacAddress src, std::size_t len) {
  std::vector<std::byte> f(len, std::byte{0x5a});
  dst.to_bytes(f, 0);
  src.to_bytes(f, 6);
  f[12] = std::byte{0x08};
  f[13] = std::byte{0x00};
  return f;
}

void report(benchmark::State& state, const CountingSink& sink, std::size_t frame_len) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame_len));
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["out/in"] = static_cast<double>(sink.frames) /
                             static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
}

// A learnt unicast from access port 0 to access port 1, both VLAN 10.
void BM_BridgeUnicastAccessToAccess(benchmark::State& state) {
  Bridge br(BridgeConfig{});
  const PortId a = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  const PortId b = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  (void)br.add_port({.mode = PortMode::Access, .pvid = 10});
  CountingSink sink;
  const Instant now = instant_from_micros(1'000'000);
  const auto len = static_cast<std::size_t>(state.range(0));
  br.receive(b, frame(kA, kB, len), now, sink);  // learn B on b
  const auto f = frame(kB, kA, len);
  sink.frames = 0;
  for (auto _ : state) {
    br.receive(a, f, now, sink);
    benchmark::DoNotOptimize(sink.frames);
  }
  report(state, sink, len);
}
BENCHMARK(BM_BridgeUnicastAccessToAccess)->Arg(60)->Arg(1514);

// A learnt unicast from an access port (untagged) to a trunk (tagged): the tag is inserted.
void BM_BridgeUnicastAccessToTrunkRetag(benchmark::State& state) {
  Bridge br(BridgeConfig{});
  const PortId a = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  const PortId t = *br.add_port({.mode = PortMode::Trunk, .allowed = {10, 20}});
  CountingSink sink;
  const Instant now = instant_from_micros(1'000'000);
  const auto len = static_cast<std::size_t>(state.range(0));
  // B speaks from the trunk, tagged 10.
  auto tagged = frame(kA, kB, len + 4);
  tagged[12] = std::byte{0x81};
  tagged[13] = std::byte{0x00};
  tagged[14] = std::byte{0x00};
  tagged[15] = std::byte{10};
  tagged[16] = std::byte{0x08};
  tagged[17] = std::byte{0x00};
  br.receive(t, tagged, now, sink);
  const auto f = frame(kB, kA, len);
  sink.frames = 0;
  for (auto _ : state) {
    br.receive(a, f, now, sink);
    benchmark::DoNotOptimize(sink.frames);
  }
  report(state, sink, len);
}
BENCHMARK(BM_BridgeUnicastAccessToTrunkRetag)->Arg(60)->Arg(1514);

// The reverse: tagged on the trunk in, untagged to the access port out.
void BM_BridgeUnicastTrunkToAccessUntag(benchmark::State& state) {
  Bridge br(BridgeConfig{});
  const PortId a = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  const PortId t = *br.add_port({.mode = PortMode::Trunk, .allowed = {10, 20}});
  CountingSink sink;
  const Instant now = instant_from_micros(1'000'000);
  const auto len = static_cast<std::size_t>(state.range(0));
  br.receive(a, frame(kB, kA, len), now, sink);  // A on a
  auto tagged = frame(kA, kB, len + 4);
  tagged[12] = std::byte{0x81};
  tagged[13] = std::byte{0x00};
  tagged[14] = std::byte{0x00};
  tagged[15] = std::byte{10};
  tagged[16] = std::byte{0x08};
  tagged[17] = std::byte{0x00};
  sink.frames = 0;
  for (auto _ : state) {
    br.receive(t, tagged, now, sink);
    benchmark::DoNotOptimize(sink.frames);
  }
  report(state, sink, len + 4);
}
BENCHMARK(BM_BridgeUnicastTrunkToAccessUntag)->Arg(64)->Arg(1514);

// A broadcast from an access port flooded to 4 access and 3 trunk ports of its VLAN.
void BM_BridgeBroadcastFlood8Ports(benchmark::State& state) {
  Bridge br(BridgeConfig{});
  const PortId a = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  for (int i = 0; i < 4; ++i)
    (void)br.add_port({.mode = PortMode::Access, .pvid = 10});
  for (int i = 0; i < 3; ++i)
    (void)br.add_port({.mode = PortMode::Trunk, .allowed = {10, 20}});
  CountingSink sink;
  const Instant now = instant_from_micros(1'000'000);
  const auto f = frame(MacAddress::broadcast(), kA, 1514);
  for (auto _ : state) {
    br.receive(a, f, now, sink);
    benchmark::DoNotOptimize(sink.frames);
  }
  report(state, sink, f.size());
}
BENCHMARK(BM_BridgeBroadcastFlood8Ports);

// A MAC flood: every frame has a new source and the FDB (4096 entries) is full, so each one is
// a refused learn plus a flood of an unknown destination to one other port.
void BM_BridgeMacFloodAtCapacity(benchmark::State& state) {
  Bridge br(BridgeConfig{});
  const PortId a = *br.add_port({.mode = PortMode::Access, .pvid = 10});
  (void)br.add_port({.mode = PortMode::Access, .pvid = 10});
  CountingSink sink;
  const Instant now = instant_from_micros(1'000'000);
  auto f = frame(kB, kA, 60);
  f[6] = std::byte{0x06};  // sources 06:00:xx:xx:xx:xx, never kB
  std::uint32_t n = 0;
  for (auto _ : state) {
    ++n;
    f[8] = static_cast<std::byte>(n >> 24);
    f[9] = static_cast<std::byte>(n >> 16);
    f[10] = static_cast<std::byte>(n >> 8);
    f[11] = static_cast<std::byte>(n);
    br.receive(a, f, now, sink);
    benchmark::DoNotOptimize(sink.frames);
  }
  report(state, sink, f.size());
  state.counters["fdb_size"] = static_cast<double>(br.fdb_size());
}
BENCHMARK(BM_BridgeMacFloodAtCapacity);

}  // namespace

BENCHMARK_MAIN();
