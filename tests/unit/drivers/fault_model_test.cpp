// drivers/memory/fault_model: the --faults spec, the seeded fate sequence, and FaultyDevice
// applying it in both directions over a MemoryWire with a manual clock.
#include "drivers/memory/fault_model.hpp"

#include <algorithm>
#include <bit>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/memory/memory_wire.hpp"

namespace tapir::drivers {
namespace {

using namespace std::chrono_literals;

constexpr Instant kT0 = instant_from_micros(1'000'000);

struct Collector final : FrameHandler {
  struct Got {
    std::vector<std::byte> bytes;
    Instant at;
  };
  std::vector<Got> frames;
  void on_frame(Bytes frame, Instant now) override {
    frames.push_back({{frame.begin(), frame.end()}, now});
  }
};

// A 64-byte frame carrying `index` in its first four bytes.
std::vector<std::byte> numbered_frame(std::uint32_t index) {
  std::vector<std::byte> f(64, std::byte{0x5a});
  store_be32(f, 0, index);
  return f;
}

FaultSpec spec_of(std::string_view text) {
  auto spec = FaultSpec::parse(text);
  EXPECT_TRUE(spec) << FaultSpec::error_line(text);
  return spec ? *spec : FaultSpec{};
}

// --- FaultSpec::parse -------------------------------------------------------------------------

TEST(FaultSpec, ParsesTheDocumentedExample) {
  const auto spec = FaultSpec::parse("loss=3%,dup=1%,reorder=5%,delay=5ms,corrupt=0.1%,seed=42");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->loss_ppm, 30'000U);
  EXPECT_EQ(spec->dup_ppm, 10'000U);
  EXPECT_EQ(spec->reorder_ppm, 50'000U);
  EXPECT_EQ(spec->corrupt_ppm, 1'000U);
  EXPECT_EQ(spec->delay, 5ms);
  EXPECT_EQ(spec->jitter, FaultSpec::kDefaultJitter);
  EXPECT_EQ(spec->seed, 42U);
  EXPECT_TRUE(spec->any());
}

TEST(FaultSpec, ParsesPercentagesToPartsPerMillion) {
  EXPECT_EQ(spec_of("loss=0.0001%").loss_ppm, 1U);
  EXPECT_EQ(spec_of("loss=0.25%").loss_ppm, 2'500U);
  EXPECT_EQ(spec_of("loss=12.3456%").loss_ppm, 123'456U);
  EXPECT_EQ(spec_of("loss=0%").loss_ppm, 0U);
  EXPECT_EQ(spec_of("loss=100%").loss_ppm, 1'000'000U);
  EXPECT_EQ(spec_of("loss=100.0000%").loss_ppm, 1'000'000U);
  EXPECT_EQ(spec_of("loss=007%").loss_ppm, 70'000U);
}

TEST(FaultSpec, ParsesDurationsInEveryUnit) {
  EXPECT_EQ(spec_of("delay=250us").delay, 250us);
  EXPECT_EQ(spec_of("delay=5ms").delay, 5ms);
  EXPECT_EQ(spec_of("delay=2s").delay, 2s);
  EXPECT_EQ(spec_of("delay=0ms").delay, 0us);
  EXPECT_EQ(spec_of("jitter=3ms").jitter, 3ms);
  EXPECT_EQ(spec_of("seed=18446744073709551615").seed, 18446744073709551615ULL);
}

TEST(FaultSpec, EmptySpecMeansNoFaults) {
  const auto spec = FaultSpec::parse("");
  ASSERT_TRUE(spec);
  EXPECT_EQ(*spec, FaultSpec{});
  EXPECT_FALSE(spec->any());
  EXPECT_EQ(FaultSpec::error_line(""), "");
}

TEST(FaultSpec, RejectsBadItemsAndNamesThem) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"loss=101%", "--faults: \"loss=101%\": percentage above 100%"},
      {"loss=100.0001%", "--faults: \"loss=100.0001%\": percentage above 100%"},
      {"loss=1000%", "--faults: \"loss=1000%\": percentage above 100%"},
      {"loss=99999999999999999999%",
       "--faults: \"loss=99999999999999999999%\": percentage above 100%"},
      {"loss=0.12345%", "--faults: \"loss=0.12345%\": more than 4 decimals in a percentage"},
      {"loss=3", "--faults: \"loss=3\": expected a percentage like 3% or 0.25%"},
      {"loss=%", "--faults: \"loss=%\": expected a percentage like 3% or 0.25%"},
      {"loss=3.%", "--faults: \"loss=3.%\": expected a percentage like 3% or 0.25%"},
      {"loss=.5%", "--faults: \"loss=.5%\": expected a percentage like 3% or 0.25%"},
      {"loss=-1%", "--faults: \"loss=-1%\": expected a percentage like 3% or 0.25%"},
      {"loss=1e2%", "--faults: \"loss=1e2%\": expected a percentage like 3% or 0.25%"},
      {"dup=x%", "--faults: \"dup=x%\": expected a percentage like 3% or 0.25%"},
      {"reorder=200%", "--faults: \"reorder=200%\": percentage above 100%"},
      {"corrupt=1.5", "--faults: \"corrupt=1.5\": expected a percentage like 3% or 0.25%"},
      {"delay=5", "--faults: \"delay=5\": expected a duration with a unit: us, ms or s"},
      {"delay=5h", "--faults: \"delay=5h\": expected a duration with a unit: us, ms or s"},
      {"delay=ms", "--faults: \"delay=ms\": expected a duration like 5ms"},
      {"delay=-5ms", "--faults: \"delay=-5ms\": expected a duration like 5ms"},
      {"delay=1.5ms", "--faults: \"delay=1.5ms\": expected a duration like 5ms"},
      {"delay=18446744073709551615s",
       "--faults: \"delay=18446744073709551615s\": duration too large"},
      {"jitter=2m", "--faults: \"jitter=2m\": expected a duration with a unit: us, ms or s"},
      {"seed=abc", "--faults: \"seed=abc\": expected a decimal seed"},
      {"seed=", "--faults: \"seed=\": expected a decimal seed"},
      {"seed=-1", "--faults: \"seed=-1\": expected a decimal seed"},
      {"seed=18446744073709551616",
       "--faults: \"seed=18446744073709551616\": expected a decimal seed"},
      {"drop=3%",
       "--faults: \"drop=3%\": unknown key (expected loss, dup, reorder, corrupt, delay, jitter or "
       "seed)"},
      {"LOSS=3%",
       "--faults: \"LOSS=3%\": unknown key (expected loss, dup, reorder, corrupt, delay, jitter or "
       "seed)"},
      {"loss", "--faults: \"loss\": expected key=value"},
      {"loss=1%,,dup=1%", "--faults: \"\": empty item"},
      {"loss=1%,", "--faults: \"\": empty item"},
      {",loss=1%", "--faults: \"\": empty item"},
      {"loss=1%,loss=2%", "--faults: \"loss=2%\": repeated key"},
      {"loss=1%,dup=120%,seed=1", "--faults: \"dup=120%\": percentage above 100%"},
      {"loss=1% ", "--faults: \"loss=1% \": expected a percentage like 3% or 0.25%"},
  };
  for (const auto& [text, line] : cases) {
    const auto spec = FaultSpec::parse(text);
    ASSERT_FALSE(spec) << text;
    EXPECT_EQ(spec.error(), make_error_code(Errc::invalid_argument)) << text;
    EXPECT_EQ(FaultSpec::error_line(text), line) << text;
  }
}

TEST(FaultSpec, ToStringReadsBackEqual) {
  for (const std::string_view text :
       {"", "loss=3%,dup=1%,reorder=5%,delay=5ms,corrupt=0.1%,seed=42",
        "loss=0.0001%,dup=100%,reorder=12.3456%,corrupt=0.25%,delay=1500us,jitter=2s,seed=7",
        "delay=3s,jitter=0us"}) {
    const auto spec = spec_of(text);
    const auto again = FaultSpec::parse(spec.to_string());
    ASSERT_TRUE(again) << spec.to_string();
    EXPECT_EQ(*again, spec) << spec.to_string();
  }
  EXPECT_EQ(spec_of("loss=3%,dup=1%,reorder=5%,delay=5ms,corrupt=0.1%,seed=42").to_string(),
            "loss=3%,dup=1%,reorder=5%,corrupt=0.1%,delay=5ms,jitter=10ms,seed=42");
}

// --- FaultModel ---------------------------------------------------------------------------------

std::vector<FrameFate> fates(const FaultSpec& spec, std::uint64_t stream, std::size_t n) {
  FaultModel model(spec, stream);
  std::vector<FrameFate> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(model.decide(64 + i % 1000));
  return out;
}

TEST(FaultModel, SameSeedGivesTheSameFates) {
  const auto spec = spec_of("loss=10%,dup=10%,reorder=10%,corrupt=10%,delay=1ms,seed=1234");
  EXPECT_EQ(fates(spec, 0, 5000), fates(spec, 0, 5000));
}

TEST(FaultModel, DifferentSeedOrStreamGivesDifferentFates) {
  auto spec = spec_of("loss=10%,dup=10%,reorder=10%,corrupt=10%,delay=1ms,seed=1234");
  const auto base = fates(spec, 0, 5000);
  EXPECT_NE(fates(spec, 1, 5000), base);
  spec.seed = 1235;
  EXPECT_NE(fates(spec, 0, 5000), base);
}

TEST(FaultModel, RatesDoNotReshuffleOtherFates) {
  // Every decision takes the same draws whatever the rates, so the loss pattern is the same
  // with or without duplication.
  const auto a = fates(spec_of("loss=5%,seed=9"), 0, 5000);
  const auto b = fates(spec_of("loss=5%,dup=50%,corrupt=20%,seed=9"), 0, 5000);
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(a[i].drop, b[i].drop) << "frame " << i;
}

TEST(FaultModel, FractionsMatchTheSpec) {
  constexpr std::uint64_t kSeed = 20261123;
  constexpr std::size_t kFrames = 1'000'000;
  FaultSpec spec = spec_of("loss=3%,dup=1%,reorder=5%,corrupt=0.1%,delay=5ms");
  spec.seed = kSeed;
  FaultModel model(spec);
  std::size_t dropped = 0, duplicated = 0, corrupted = 0, reordered = 0;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const auto fate = model.decide(100);
    if (fate.drop) {
      ++dropped;
      continue;
    }
    duplicated += fate.duplicate ? 1 : 0;
    corrupted += fate.corrupt ? 1 : 0;
    reordered += fate.reorder ? 1 : 0;
    EXPECT_GE(fate.delay, spec.delay);
    EXPECT_LE(fate.delay, spec.delay + spec.jitter);
    EXPECT_EQ(fate.reorder, fate.delay != spec.delay);
    EXPECT_LT(fate.corrupt_bit, 800U);
  }
  const auto within = [&](std::size_t got, double rate, std::size_t out_of, const char* what) {
    const double expected = rate * static_cast<double>(out_of);
    EXPECT_NEAR(static_cast<double>(got), expected, expected * 0.1)
        << what << " with seed " << kSeed << " over " << out_of << " frames";
  };
  within(dropped, 0.03, kFrames, "loss");
  within(duplicated, 0.01, kFrames - dropped, "dup");
  within(corrupted, 0.001, kFrames - dropped, "corrupt");
  within(reordered, 0.05, kFrames - dropped, "reorder");
}

TEST(FaultModel, ExtremesAreExact) {
  FaultModel all(spec_of("loss=100%"));
  FaultModel none(spec_of("dup=0%,seed=3"));
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(all.decide(60).drop);
    EXPECT_EQ(none.decide(60), FrameFate{});
  }
}

// --- FaultyDevice -------------------------------------------------------------------------------

// Delivers everything still held, advancing a manual clock to each next_deadline().
void drain(FaultyDevice& dev, Collector& out) {
  for (int guard = 0; guard < 100000 && dev.next_deadline() != kNever; ++guard) {
    ASSERT_TRUE(dev.receive(dev.next_deadline(), out, 64));
  }
}

TEST(FaultyDevice, PassesFramesUntouchedWithoutFaults) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), FaultSpec{});
  Collector got;
  const auto f = numbered_frame(1);
  ASSERT_TRUE(wire.b().transmit(f, kT0));
  ASSERT_TRUE(dev.receive(kT0, got, 8));
  ASSERT_EQ(got.frames.size(), 1U);
  EXPECT_EQ(got.frames[0].bytes, f);
  ASSERT_TRUE(dev.transmit(f, kT0));
  Collector at_b;
  ASSERT_TRUE(wire.b().receive(kT0, at_b, 8));
  ASSERT_EQ(at_b.frames.size(), 1U);
  EXPECT_EQ(at_b.frames[0].bytes, f);
  EXPECT_EQ(dev.counters().rx_frames.value(), 1U);
  EXPECT_EQ(dev.counters().tx_frames.value(), 1U);
  for (const auto& c : collect_counters(dev.fault_counters()))
    EXPECT_EQ(c.value, 0U) << c.name;
}

TEST(FaultyDevice, ReceiveDelayIsExactWithAManualClock) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("delay=5ms"));
  Collector got;
  ASSERT_TRUE(wire.b().transmit(numbered_frame(1), kT0));
  ASSERT_TRUE(wire.b().transmit(numbered_frame(2), kT0 + 1ms));
  ASSERT_EQ(*dev.receive(kT0, got, 8), 0U);
  EXPECT_EQ(dev.next_deadline(), kT0 + 1ms);  // the wire's frame 2
  ASSERT_EQ(*dev.receive(kT0 + 1ms, got, 8), 0U);
  EXPECT_EQ(dev.next_deadline(), kT0 + 5ms);
  ASSERT_EQ(*dev.receive(kT0 + 5ms - 1us, got, 8), 0U);
  ASSERT_EQ(*dev.receive(kT0 + 5ms, got, 8), 1U);
  EXPECT_EQ(dev.next_deadline(), kT0 + 6ms);
  ASSERT_EQ(*dev.receive(kT0 + 6ms - 1us, got, 8), 0U);
  ASSERT_EQ(*dev.receive(kT0 + 6ms, got, 8), 1U);
  EXPECT_EQ(dev.next_deadline(), kNever);
  ASSERT_EQ(got.frames.size(), 2U);
  EXPECT_EQ(got.frames[0].bytes, numbered_frame(1));
  EXPECT_EQ(got.frames[0].at, kT0 + 5ms);
  EXPECT_EQ(got.frames[1].bytes, numbered_frame(2));
  EXPECT_EQ(dev.fault_counters().delayed.value(), 2U);
}

TEST(FaultyDevice, TransmitDelayIsExactWithAManualClock) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("delay=250us"));
  Collector at_b;
  ASSERT_TRUE(dev.transmit(numbered_frame(7), kT0));
  EXPECT_EQ(dev.held_tx(), 1U);
  EXPECT_EQ(dev.next_deadline(), kT0 + 250us);
  ASSERT_TRUE(dev.poll(kT0 + 249us));
  EXPECT_EQ(wire.in_flight_to_b(), 0U);
  ASSERT_TRUE(dev.poll(kT0 + 250us));
  EXPECT_EQ(dev.next_deadline(), kNever);
  ASSERT_EQ(*wire.b().receive(kT0 + 250us, at_b, 8), 1U);
  EXPECT_EQ(at_b.frames[0].bytes, numbered_frame(7));

  // receive() also sends what is due.
  ASSERT_TRUE(dev.transmit(numbered_frame(8), kT0 + 1ms));
  Collector ignored;
  ASSERT_TRUE(dev.receive(kT0 + 1250us, ignored, 8));
  ASSERT_EQ(*wire.b().receive(kT0 + 1250us, at_b, 8), 1U);
  EXPECT_EQ(at_b.frames[1].bytes, numbered_frame(8));
}

TEST(FaultyDevice, NextDeadlineIncludesTheInnerDevice) {
  MemoryWire wire({.latency = 3ms});
  FaultyDevice dev(wire.a(), spec_of("delay=5ms"));
  ASSERT_TRUE(wire.b().transmit(numbered_frame(1), kT0));
  EXPECT_EQ(dev.next_deadline(), kT0 + 3ms);
  ASSERT_TRUE(dev.transmit(numbered_frame(2), kT0));
  EXPECT_EQ(dev.next_deadline(), kT0 + 3ms);
  Collector got;
  ASSERT_EQ(*dev.receive(kT0 + 3ms, got, 8), 0U);
  EXPECT_EQ(dev.next_deadline(), kT0 + 5ms);  // the transmitted frame
  ASSERT_TRUE(dev.poll(kT0 + 5ms));
  EXPECT_EQ(dev.next_deadline(), kT0 + 8ms);  // the received one
}

// Sends n numbered frames into dev's receive direction, one every 100us, receiving as it goes,
// and returns how often each arrived, in arrival order.
std::vector<std::uint32_t> run_receive(FaultyDevice& dev, MemoryWire& wire, std::uint32_t n) {
  Collector got;
  for (std::uint32_t i = 0; i < n; ++i) {
    const Instant t = kT0 + Duration{100 * std::int64_t{i}};
    EXPECT_TRUE(wire.b().transmit(numbered_frame(i), t));
    EXPECT_TRUE(dev.receive(t, got, 64));
  }
  drain(dev, got);
  std::vector<std::uint32_t> order;
  for (const auto& f : got.frames)
    order.push_back(load_be32(f.bytes, 0));
  return order;
}

TEST(FaultyDevice, ReorderLetsLaterFramesOvertakeButDeliversEachOnce) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("reorder=10%,jitter=2ms,seed=77"));
  const auto order = run_receive(dev, wire, 2000);
  ASSERT_EQ(order.size(), 2000U);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end())) << "seed 77";
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < 2000; ++i)
    ASSERT_EQ(sorted[i], i) << "seed 77";
  EXPECT_GT(dev.fault_counters().reordered.value(), 100U);
  EXPECT_EQ(dev.fault_counters().queue_full.value(), 0U);
}

TEST(FaultyDevice, EveryFrameArrivesZeroOnceOrTwiceAsCounted) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("loss=10%,dup=10%,reorder=10%,delay=1ms,seed=4242"));
  constexpr std::uint32_t kN = 3000;
  const auto order = run_receive(dev, wire, kN);
  std::map<std::uint32_t, int> seen;
  for (auto i : order)
    ++seen[i];
  std::size_t twice = 0;
  for (const auto& [i, count] : seen) {
    ASSERT_LE(count, 2) << "frame " << i << " seed 4242";
    twice += count == 2 ? 1 : 0;
  }
  const auto& c = dev.fault_counters();
  EXPECT_EQ(kN - seen.size(), c.dropped.value()) << "seed 4242";
  EXPECT_EQ(twice, c.duplicated.value()) << "seed 4242";
  EXPECT_EQ(order.size(), kN - c.dropped.value() + c.duplicated.value());
  EXPECT_GT(c.dropped.value(), 0U);
  EXPECT_GT(c.duplicated.value(), 0U);
  EXPECT_EQ(c.delayed.value(), kN - c.dropped.value());
}

TEST(FaultyDevice, SameDueInstantDeliversInArrivalOrder) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("delay=1ms"));
  for (std::uint32_t i = 0; i < 20; ++i)
    ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
  Collector got;
  ASSERT_EQ(*dev.receive(kT0, got, 64), 0U);
  ASSERT_EQ(*dev.receive(kT0 + 1ms, got, 64), 20U);
  for (std::uint32_t i = 0; i < 20; ++i)
    EXPECT_EQ(load_be32(got.frames[i].bytes, 0), i);
}

int bits_differing(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  EXPECT_EQ(a.size(), b.size());
  int n = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    n += std::popcount(std::to_integer<unsigned>(a[i] ^ b[i]));
  return n;
}

TEST(FaultyDevice, CorruptionFlipsExactlyOneBit) {
  for (const std::string_view text : {"corrupt=100%,seed=5", "corrupt=100%,delay=1ms,seed=5"}) {
    MemoryWire wire;
    FaultyDevice dev(wire.a(), spec_of(text));
    const auto order = run_receive(dev, wire, 0);  // nothing; exercise the helper's drain
    EXPECT_TRUE(order.empty());
    Collector got;
    for (std::uint32_t i = 0; i < 200; ++i) {
      ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
      ASSERT_TRUE(dev.receive(kT0, got, 64));
    }
    drain(dev, got);
    ASSERT_EQ(got.frames.size(), 200U) << text;
    std::size_t i = 0;
    for (const auto& f : got.frames)
      EXPECT_EQ(bits_differing(f.bytes, numbered_frame(static_cast<std::uint32_t>(i++))), 1)
          << text;
    EXPECT_EQ(dev.fault_counters().corrupted.value(), 200U);

    // Transmit: the caller's frame is left alone; what goes out differs by one bit.
    const auto original = numbered_frame(9);
    auto frame = original;
    ASSERT_TRUE(dev.transmit(frame, kT0));
    EXPECT_EQ(frame, original);
    ASSERT_TRUE(dev.poll(kT0 + 1ms));
    Collector at_b;
    ASSERT_EQ(*wire.b().receive(kT0 + 1ms, at_b, 8), 1U);
    EXPECT_EQ(bits_differing(at_b.frames[0].bytes, original), 1) << text;
  }
}

TEST(FaultyDevice, BoundedQueueDropsAndCountsAtCapacity) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("delay=1ms"), {.queue_capacity = 4});
  Collector got;
  for (std::uint32_t i = 0; i < 10; ++i)
    ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
  ASSERT_EQ(*dev.receive(kT0, got, 64), 0U);
  EXPECT_EQ(dev.held_rx(), 4U);
  EXPECT_EQ(dev.fault_counters().queue_full.value(), 6U);
  for (std::uint32_t i = 0; i < 10; ++i)
    ASSERT_TRUE(dev.transmit(numbered_frame(i), kT0));
  EXPECT_EQ(dev.held_tx(), 4U);  // each direction has its own queue
  EXPECT_EQ(dev.fault_counters().queue_full.value(), 12U);
  ASSERT_EQ(*dev.receive(kT0 + 1ms, got, 64), 4U);
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(load_be32(got.frames[i].bytes, 0), i);
  EXPECT_EQ(wire.in_flight_to_b(), 4U);
}

TEST(FaultyDevice, FramesTooLargeToHoldAreCounted) {
  MemoryWire wire({.mtu = 9000});
  FaultyDevice dev(wire.a(), spec_of("delay=1ms"), {.queue_capacity = 4, .frame_size = 100});
  ASSERT_TRUE(dev.transmit(std::vector<std::byte>(101), kT0));
  EXPECT_EQ(dev.fault_counters().too_large.value(), 1U);
  EXPECT_EQ(dev.held_tx(), 0U);
}

TEST(FaultyDevice, ReceiveNeverHandsOverMoreThanMaxFrames) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("dup=100%"));
  for (std::uint32_t i = 0; i < 3; ++i)
    ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
  Collector got;
  std::size_t calls = 0;
  while (got.frames.size() < 6 && calls++ < 20)
    ASSERT_LE(*dev.receive(kT0, got, 1), 1U);
  ASSERT_EQ(got.frames.size(), 6U);
  for (std::uint32_t i = 0; i < 6; ++i)
    EXPECT_EQ(load_be32(got.frames[i].bytes, 0), i / 2);
  EXPECT_EQ(*dev.receive(kT0, got, 8), 0U);
}

TEST(FaultyDevice, ReceiveReadsAtMostMaxFramesFromTheInnerDevice) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("loss=50%,seed=11"));
  for (std::uint32_t i = 0; i < 100; ++i)
    ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
  // One receive() reads at most max_frames from the inner device, so its work is bounded;
  // what the losses left of them is handed over, and the rest stays ready.
  Collector got;
  const auto n = dev.receive(kT0, got, 10);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 10U - dev.fault_counters().dropped.value());
  EXPECT_GT(dev.fault_counters().dropped.value(), 0U);
  EXPECT_EQ(wire.in_flight_to_a(), 90U);
  EXPECT_LE(dev.next_deadline(), kT0);
}

TEST(FaultyDevice, DirectionsHaveTheirOwnRandomStreams) {
  MemoryWire wire;
  FaultyDevice dev(wire.a(), spec_of("loss=50%,seed=3"));
  std::vector<bool> rx_kept, tx_kept;
  for (std::uint32_t i = 0; i < 200; ++i) {
    Collector got, at_b;
    ASSERT_TRUE(wire.b().transmit(numbered_frame(i), kT0));
    ASSERT_TRUE(dev.receive(kT0, got, 1));
    rx_kept.push_back(!got.frames.empty());
    ASSERT_TRUE(dev.transmit(numbered_frame(i), kT0));
    ASSERT_TRUE(wire.b().receive(kT0, at_b, 1));
    tx_kept.push_back(!at_b.frames.empty());
  }
  EXPECT_NE(rx_kept, tx_kept);
}

struct RunTrace {
  std::vector<std::pair<std::vector<std::byte>, Instant>> at_a, at_b;
  bool operator==(const RunTrace&) const = default;
};

// Both ends of a wire wrapped in faults, traffic both ways, driven by next_deadline() alone.
RunTrace faulty_run(std::uint64_t seed) {
  MemoryWire wire({.latency = 700us});
  FaultSpec spec = spec_of("loss=5%,dup=5%,reorder=20%,corrupt=5%,delay=1ms,jitter=3ms");
  spec.seed = seed;
  FaultyDevice a(wire.a(), spec);
  spec.seed = seed + 1;
  FaultyDevice b(wire.b(), spec);
  Collector got_a, got_b;
  Instant now = kT0;
  for (std::uint32_t i = 0; i < 500; ++i) {
    now += 130us;
    EXPECT_TRUE(a.transmit(numbered_frame(i), now));
    EXPECT_TRUE(b.transmit(numbered_frame(100'000 + i), now));
    EXPECT_TRUE(a.receive(now, got_a, 64));
    EXPECT_TRUE(b.receive(now, got_b, 64));
  }
  for (int guard = 0; guard < 100000; ++guard) {
    now = std::min(a.next_deadline(), b.next_deadline());
    if (now == kNever) break;
    EXPECT_TRUE(a.receive(now, got_a, 64));
    EXPECT_TRUE(b.receive(now, got_b, 64));
  }
  RunTrace trace;
  for (auto& f : got_a.frames)
    trace.at_a.emplace_back(std::move(f.bytes), f.at);
  for (auto& f : got_b.frames)
    trace.at_b.emplace_back(std::move(f.bytes), f.at);
  return trace;
}

TEST(FaultyDevice, WholeRunReplaysExactlyFromTheSeed) {
  const auto first = faulty_run(99);
  EXPECT_GT(first.at_a.size(), 400U);
  EXPECT_GT(first.at_b.size(), 400U);
  EXPECT_TRUE(first == faulty_run(99)) << "seed 99";
  EXPECT_FALSE(first == faulty_run(100)) << "seed 100";
}

TEST(FaultyDevice, CountersHaveStableNames) {
  std::vector<std::string_view> names;
  FaultCounters{}.for_each_counter([&](std::string_view n, const Counter&) { names.push_back(n); });
  EXPECT_EQ(names, (std::vector<std::string_view>{
                       "faults.dropped", "faults.duplicated", "faults.corrupted", "faults.delayed",
                       "faults.reordered", "faults.queue_full", "faults.too_large"}));
}

}  // namespace
}  // namespace tapir::drivers
