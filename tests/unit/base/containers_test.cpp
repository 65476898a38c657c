#include <gtest/gtest.h>

#include "stack/base/counters.hpp"
#include "stack/base/frame_pool.hpp"
#include "stack/base/random.hpp"
#include "stack/base/ring_buffer.hpp"
#include "stack/base/time.hpp"

namespace tapir {
namespace {

TEST(RingQueue, BoundedFifo) {
  RingQueue<int> q(3);
  EXPECT_TRUE(q.push(1));
  EXPECT_TRUE(q.push(2));
  EXPECT_TRUE(q.push(3));
  EXPECT_FALSE(q.push(4));  // full: refused, not grown
  EXPECT_EQ(q.size(), 3U);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_TRUE(q.push(4));  // wraps around
  EXPECT_EQ(q[2], 4);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 3);
  EXPECT_EQ(q.pop(), 4);
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(ByteRing, WritePeekConsumeAcrossTheWrap) {
  ByteRing ring(8);
  const std::array<std::byte, 6> a{std::byte{1}, std::byte{2}, std::byte{3},
                                   std::byte{4}, std::byte{5}, std::byte{6}};
  EXPECT_EQ(ring.write(a), 6U);
  EXPECT_EQ(ring.consume(4), 4U);
  EXPECT_EQ(ring.write(a), 6U);  // 2 left + 6 = 8, wrapping
  EXPECT_EQ(ring.write(a), 0U);  // full
  std::array<std::byte, 8> out{};
  EXPECT_EQ(ring.peek(1, out), 7U);
  EXPECT_EQ(out[0], std::byte{6});
  EXPECT_EQ(out[1], std::byte{1});
  EXPECT_EQ(out[6], std::byte{6});
  EXPECT_EQ(ring.read(out), 8U);
  EXPECT_TRUE(ring.empty());
}

TEST(FramePool, FixedCapacityAndReturnOnDestruction) {
  FramePool pool(2, 2048);
  {
    auto a = pool.allocate();
    auto b = pool.allocate();
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a.storage().size(), 2048U);
    EXPECT_NE(a.storage().data(), b.storage().data());
    EXPECT_FALSE(pool.allocate());  // exhausted: counted, not grown
    EXPECT_EQ(pool.counters().alloc_failed.value(), 1U);
    auto moved = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from handle is empty
    EXPECT_EQ(pool.in_use(), 2U);
  }
  EXPECT_EQ(pool.available(), 2U);
}

TEST(Random, SameSeedSameSequence) {
  Random a(42);
  Random b(42);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(a.next_u64(), b.next_u64());
  Random c(7);
  for (int i = 0; i < 1000; ++i) {
    const auto v = c.between(10, 20);
    EXPECT_GE(v, 10U);
    EXPECT_LE(v, 20U);
  }
}

TEST(Time, InstantArithmetic) {
  const Instant t0 = instant_from_micros(1'000'000);
  const Instant t1 = t0 + std::chrono::milliseconds(250);
  EXPECT_EQ(to_micros(t1), 1'250'000);
  EXPECT_LT(t1, kNever);
  EXPECT_EQ(t1 - t0, Duration(250'000));
}

struct DemoCounters {
  Counter rx_ok, rx_bad;
  template <class F>
  void for_each_counter(F&& f) const {
    f("demo.rx_ok", rx_ok);
    f("demo.rx_bad", rx_bad);
  }
};

TEST(Counters, CollectsByName) {
  DemoCounters c;
  c.rx_bad.inc(3);
  EXPECT_EQ(collect_counters(c),
            (std::vector<CounterValue>{{"demo.rx_ok", 0}, {"demo.rx_bad", 3}}));
  EXPECT_EQ(collect_counters(c, true), (std::vector<CounterValue>{{"demo.rx_bad", 3}}));
}

}  // namespace
}  // namespace tapir
