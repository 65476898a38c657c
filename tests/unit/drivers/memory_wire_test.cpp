// drivers/memory/memory_wire: two ends in one process, frames arrive in order at t + latency.
#include "drivers/memory/memory_wire.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "drivers/memory/fault_model.hpp"

namespace tapir::drivers {
namespace {

using namespace std::chrono_literals;

constexpr Instant kT0 = instant_from_micros(5'000'000);

struct Collector final : FrameHandler {
  std::vector<std::vector<std::byte>> frames;
  std::vector<Instant> times;
  void on_frame(Bytes frame, Instant now) override {
    frames.emplace_back(frame.begin(), frame.end());
    times.push_back(now);
  }
};

std::vector<std::byte> numbered_frame(std::uint32_t index, std::size_t len = 60) {
  std::vector<std::byte> f(len, std::byte{0x11});
  store_be32(f, 0, index);
  return f;
}

TEST(MemoryWire, EndsAreEthernetWithTheConfiguredMtu) {
  MemoryWire plain;
  EXPECT_EQ(plain.a().medium(), Medium::Ethernet);
  EXPECT_EQ(plain.b().medium(), Medium::Ethernet);
  EXPECT_EQ(plain.a().mtu(), 1500U);
  MemoryWire jumbo({.mtu = 9000});
  EXPECT_EQ(jumbo.b().mtu(), 9000U);
  EXPECT_EQ(plain.a().next_deadline(), kNever);
  EXPECT_EQ(plain.a().native_handle(), -1);
}

TEST(MemoryWire, DeliversInOrderAtTransmitTimePlusLatency) {
  MemoryWire wire({.latency = 2ms});
  for (std::uint32_t i = 0; i < 3; ++i)
    ASSERT_TRUE(wire.a().transmit(numbered_frame(i), kT0 + Duration{100 * std::int64_t{i}}));
  Collector got;
  EXPECT_EQ(wire.b().next_deadline(), kT0 + 2ms);
  ASSERT_EQ(*wire.b().receive(kT0 + 2ms - 1us, got, 16), 0U);
  ASSERT_EQ(*wire.b().receive(kT0 + 2ms, got, 16), 1U);
  EXPECT_EQ(wire.b().next_deadline(), kT0 + 2100us);
  ASSERT_EQ(*wire.b().receive(kT0 + 3ms, got, 16), 2U);
  EXPECT_EQ(wire.b().next_deadline(), kNever);
  ASSERT_EQ(got.frames.size(), 3U);
  for (std::uint32_t i = 0; i < 3; ++i)
    EXPECT_EQ(got.frames[i], numbered_frame(i));
  EXPECT_EQ(got.times[0], kT0 + 2ms);
  // Nothing came back to a.
  Collector at_a;
  EXPECT_EQ(*wire.a().receive(kT0 + 1s, at_a, 16), 0U);
}

TEST(MemoryWire, ZeroLatencyDeliversAtTheSameInstant) {
  MemoryWire wire;
  ASSERT_TRUE(wire.a().transmit(numbered_frame(1), kT0));
  EXPECT_EQ(wire.b().next_deadline(), kT0);
  Collector got;
  ASSERT_EQ(*wire.b().receive(kT0, got, 16), 1U);
}

TEST(MemoryWire, CarriesBothDirectionsIndependently) {
  MemoryWire wire({.latency = 1ms});
  ASSERT_TRUE(wire.a().transmit(numbered_frame(1), kT0));
  ASSERT_TRUE(wire.b().transmit(numbered_frame(2), kT0 + 500us));
  EXPECT_EQ(wire.in_flight_to_b(), 1U);
  EXPECT_EQ(wire.in_flight_to_a(), 1U);
  EXPECT_EQ(wire.a().next_deadline(), kT0 + 1500us);
  EXPECT_EQ(wire.b().next_deadline(), kT0 + 1ms);
  Collector at_a, at_b;
  ASSERT_EQ(*wire.a().receive(kT0 + 2ms, at_a, 16), 1U);
  ASSERT_EQ(*wire.b().receive(kT0 + 2ms, at_b, 16), 1U);
  EXPECT_EQ(at_a.frames[0], numbered_frame(2));
  EXPECT_EQ(at_b.frames[0], numbered_frame(1));
  EXPECT_EQ(wire.a().counters().tx_frames.value(), 1U);
  EXPECT_EQ(wire.a().counters().rx_frames.value(), 1U);
  EXPECT_EQ(wire.b().counters().rx_bytes.value(), 60U);
}

TEST(MemoryWire, QueueBoundDropsAndCountsAtTheSender) {
  MemoryWire wire({.queue_capacity = 4});
  for (std::uint32_t i = 0; i < 6; ++i)
    ASSERT_TRUE(wire.a().transmit(numbered_frame(i), kT0));  // a drop is not an error
  EXPECT_EQ(wire.a().counters().tx_frames.value(), 4U);
  EXPECT_EQ(wire.a().counters().tx_dropped_full.value(), 2U);
  Collector got;
  ASSERT_EQ(*wire.b().receive(kT0, got, 16), 4U);
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(got.frames[i], numbered_frame(i));
  // Room again once received.
  ASSERT_TRUE(wire.a().transmit(numbered_frame(9), kT0));
  EXPECT_EQ(wire.in_flight_to_b(), 1U);
}

TEST(MemoryWire, DropsFramesLongerThanMtuPlusHeaders) {
  MemoryWire wire({.mtu = 100});
  ASSERT_TRUE(wire.a().transmit(numbered_frame(0, 100 + MemoryWire::kFrameOverhead), kT0));
  ASSERT_TRUE(wire.a().transmit(numbered_frame(1, 100 + MemoryWire::kFrameOverhead + 1), kT0));
  EXPECT_EQ(wire.a().counters().tx_dropped_large.value(), 1U);
  EXPECT_EQ(wire.in_flight_to_b(), 1U);
}

TEST(MemoryWire, ReceiveHonoursMaxFrames) {
  MemoryWire wire;
  for (std::uint32_t i = 0; i < 5; ++i)
    ASSERT_TRUE(wire.a().transmit(numbered_frame(i), kT0));
  Collector got;
  ASSERT_EQ(*wire.b().receive(kT0, got, 2), 2U);
  ASSERT_EQ(*wire.b().receive(kT0, got, 2), 2U);
  ASSERT_EQ(*wire.b().receive(kT0, got, 2), 1U);
  ASSERT_EQ(*wire.b().receive(kT0, got, 2), 0U);
  for (std::uint32_t i = 0; i < 5; ++i)
    EXPECT_EQ(got.frames[i], numbered_frame(i));
}

TEST(MemoryWire, FaultsComeFromWrappingAnEnd) {
  // The documented idiom: a FaultyDevice over one end applies faults both ways at that end.
  MemoryWire wire({.latency = 1ms});
  FaultyDevice lossy_a(wire.a(), *FaultSpec::parse("loss=100%,seed=1"));
  ASSERT_TRUE(lossy_a.transmit(numbered_frame(1), kT0));
  ASSERT_TRUE(wire.b().transmit(numbered_frame(2), kT0));
  Collector at_a, at_b;
  EXPECT_EQ(*wire.b().receive(kT0 + 1s, at_b, 16), 0U);
  EXPECT_EQ(*lossy_a.receive(kT0 + 1s, at_a, 16), 0U);
  EXPECT_EQ(lossy_a.fault_counters().dropped.value(), 2U);
}

}  // namespace
}  // namespace tapir::drivers
