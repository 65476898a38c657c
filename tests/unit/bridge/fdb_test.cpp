// bridge/fdb: the filtering database alone (IEEE 802.1Q-2018 §8.8). Learning (§8.7), lazy and
// swept ageing with a manual clock (§8.8.3), moves, static entries (§8.8.1), independent VLAN
// learning (§8.8.7), the capacity policy (a full table learns no new source), and that the
// index keeps working through heavy churn (backward-shift deletion).
#include "stack/bridge/fdb.hpp"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"

namespace tapir::bridge {
namespace {

using namespace std::chrono_literals;

constexpr Instant kT0 = instant_from_micros(1'000'000);

MacAddress mac(std::uint32_t n) {
  return MacAddress({0x02, 0x00, static_cast<std::uint8_t>(n >> 24),
                     static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                     static_cast<std::uint8_t>(n)});
}

std::vector<FdbEntry> entries(const Fdb& f) {
  std::vector<FdbEntry> out;
  f.for_each([&](const FdbEntry& e) { out.push_back(e); });
  return out;
}

TEST(BridgeFdb, LearnsASourceAndFindsIt) {
  // 802.1Q-2018 §8.7: the learning process records the source on the reception port.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  EXPECT_EQ(f.lookup(mac(1), 10, kT0, c), std::nullopt);
  EXPECT_EQ(f.learn(mac(1), 10, 3, kT0, c), Fdb::Learnt::Added);
  EXPECT_EQ(f.lookup(mac(1), 10, kT0, c), PortId{3});
  EXPECT_EQ(f.size(), 1U);
  EXPECT_EQ(c.fdb_learned.value(), 1U);
  EXPECT_EQ(f.learn(mac(1), 10, 3, kT0 + 1s, c), Fdb::Learnt::Refreshed);
  EXPECT_EQ(c.fdb_learned.value(), 1U);
  const auto all = entries(f);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0], (FdbEntry{mac(1), 10, 3, false, kT0 + 1s}));
}

TEST(BridgeFdb, IndependentVlanLearningKeepsOneEntryPerVid) {
  // 802.1Q-2018 §8.8.7 (IVL): the same MAC in two VLANs is two entries, on different ports.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 10, 1, kT0, c);
  f.learn(mac(1), 20, 2, kT0, c);
  EXPECT_EQ(f.lookup(mac(1), 10, kT0, c), PortId{1});
  EXPECT_EQ(f.lookup(mac(1), 20, kT0, c), PortId{2});
  EXPECT_EQ(f.lookup(mac(1), 30, kT0, c), std::nullopt);
  EXPECT_EQ(c.fdb_moved.value(), 0U);
  EXPECT_EQ(f.size(), 2U);
}

TEST(BridgeFdb, AgeingRemovesAnEntryAtTheAgeingTimeLazilyOnLookup) {
  // 802.1Q-2018 §8.8.3: a dynamic entry not refreshed for the ageing time (300 s) is removed.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0, c);
  EXPECT_EQ(f.next_expiry(), kT0 + 300s);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 299s, c), PortId{0});
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 299s + 999999us, c), PortId{0});
  EXPECT_EQ(c.fdb_aged.value(), 0U);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 300s, c), std::nullopt);
  EXPECT_EQ(c.fdb_aged.value(), 1U);
  EXPECT_EQ(f.size(), 0U);
  EXPECT_EQ(f.next_expiry(), kNever);
}

TEST(BridgeFdb, TrafficRefreshesAnEntry) {
  // 802.1Q-2018 §8.8.3: every frame from the source restarts its age.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0, c);
  f.learn(mac(1), 1, 0, kT0 + 200s, c);
  EXPECT_EQ(f.next_expiry(), kT0 + 500s);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 499s, c), PortId{0});
  EXPECT_EQ(f.expire(kT0 + 499s, c), 0U);
  EXPECT_EQ(f.expire(kT0 + 500s, c), 1U);
  EXPECT_EQ(f.size(), 0U);
}

TEST(BridgeFdb, ExpireSweepsOldestFirstAndNextExpiryIsExact) {
  // 802.1Q-2018 §8.8.3, swept: entries go in the order they were last seen.
  Fdb f(16, 10s, 1);
  FdbCounters c;
  for (std::uint32_t i = 0; i < 5; ++i)
    f.learn(mac(i), 1, 0, kT0 + std::chrono::seconds(i), c);
  f.learn(mac(0), 1, 0, kT0 + 7s, c);     // refreshed: now the newest
  EXPECT_EQ(f.next_expiry(), kT0 + 11s);  // mac(1), seen at 1 s
  EXPECT_EQ(f.expire(kT0 + 12s, c), 2U);  // mac(1), mac(2)
  EXPECT_EQ(f.next_expiry(), kT0 + 13s);
  EXPECT_EQ(f.lookup(mac(0), 1, kT0 + 12s, c), PortId{0});
  EXPECT_EQ(f.expire(kT0 + 17s, c), 3U);
  EXPECT_EQ(f.next_expiry(), kNever);
  EXPECT_EQ(c.fdb_aged.value(), 5U);
}

TEST(BridgeFdb, ChangingTheAgeingTimeAppliesToEveryEntry) {
  // 802.1Q-2018 §8.8.3: the ageing time is a managed parameter of the bridge.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0, c);
  f.set_ageing(10s);
  EXPECT_EQ(f.next_expiry(), kT0 + 10s);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 10s, c), std::nullopt);
}

TEST(BridgeFdb, ASourceOnAnotherPortMovesThere) {
  // 802.1Q-2018 §8.7: the entry follows the station to the port it is now seen on.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0, c);
  EXPECT_EQ(f.learn(mac(1), 1, 2, kT0 + 1s, c), Fdb::Learnt::Moved);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 1s, c), PortId{2});
  EXPECT_EQ(c.fdb_moved.value(), 1U);
  EXPECT_EQ(f.size(), 1U);
}

TEST(BridgeFdb, StaticEntriesNeverAgeAndNeverMove) {
  // 802.1Q-2018 §8.8.1: static filtering entries are changed only by management.
  Fdb f(16, 300s, 1);
  FdbCounters c;
  ASSERT_TRUE(f.add_static(mac(1), 1, 4, kT0, c));
  EXPECT_EQ(f.learn(mac(1), 1, 2, kT0, c), Fdb::Learnt::Static);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 1000000s, c), PortId{4});
  EXPECT_EQ(f.expire(kT0 + 1000000s, c), 0U);
  EXPECT_EQ(f.next_expiry(), kNever);
  EXPECT_EQ(c.fdb_moved.value(), 0U);
  // A learnt entry made static takes the configured port and stops ageing.
  f.learn(mac(2), 1, 0, kT0, c);
  ASSERT_TRUE(f.add_static(mac(2), 1, 5, kT0, c));
  EXPECT_EQ(f.size(), 2U);
  EXPECT_EQ(f.learnt_size(), 0U);
  EXPECT_EQ(f.lookup(mac(2), 1, kT0 + 1000s, c), PortId{5});
  EXPECT_TRUE(f.remove(mac(2), 1));
  EXPECT_FALSE(f.remove(mac(2), 1));
  EXPECT_EQ(f.size(), 1U);
}

TEST(BridgeFdb, FlushPortForgetsItsLearntEntriesOnly) {
  Fdb f(16, 300s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0, c);
  f.learn(mac(2), 1, 1, kT0, c);
  f.learn(mac(3), 2, 1, kT0, c);
  ASSERT_TRUE(f.add_static(mac(4), 1, 1, kT0, c));
  EXPECT_EQ(f.flush_port(1), 2U);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0, c), PortId{0});
  EXPECT_EQ(f.lookup(mac(2), 1, kT0, c), std::nullopt);
  EXPECT_EQ(f.lookup(mac(4), 1, kT0, c), PortId{1});
  EXPECT_EQ(f.size(), 2U);
}

TEST(BridgeFdb, AFullTableLearnsNoNewSourceButKnownOnesKeepWorking) {
  // The capacity policy (fdb.hpp): no new source while full, counted in fdb_full; entries
  // already there keep forwarding and keep being refreshed.
  Fdb f(4, 300s, 1);
  FdbCounters c;
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(f.learn(mac(i), 1, 0, kT0, c), Fdb::Learnt::Added);
  EXPECT_EQ(f.learn(mac(100), 1, 1, kT0 + 1s, c), Fdb::Learnt::Full);
  EXPECT_EQ(c.fdb_full.value(), 1U);
  EXPECT_EQ(f.size(), 4U);
  EXPECT_EQ(f.lookup(mac(100), 1, kT0 + 1s, c), std::nullopt);
  EXPECT_EQ(f.learn(mac(2), 1, 3, kT0 + 2s, c), Fdb::Learnt::Moved);
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_TRUE(f.lookup(mac(i), 1, kT0 + 2s, c).has_value());
  EXPECT_FALSE(f.add_static(mac(200), 1, 0, kT0 + 2s, c));
  // Once the oldest has aged out, a new source takes its place.
  f.learn(mac(0), 1, 0, kT0 + 100s, c);
  f.learn(mac(2), 1, 3, kT0 + 100s, c);
  f.learn(mac(3), 1, 0, kT0 + 100s, c);
  EXPECT_EQ(f.learn(mac(100), 1, 1, kT0 + 300s, c), Fdb::Learnt::Added);  // mac(1) aged out
  EXPECT_EQ(c.fdb_aged.value(), 1U);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0 + 300s, c), std::nullopt);
  EXPECT_EQ(f.lookup(mac(100), 1, kT0 + 300s, c), PortId{1});
}

TEST(BridgeFdb, AFloodOfTenTimesCapacityRandomSourcesCannotGrowIt) {
  // The capacity policy under a MAC flood: the table stays at capacity, every refused source
  // is counted, and the first hosts learnt keep their entries.
  constexpr std::size_t kCap = 256;
  Fdb f(kCap, 300s, 42);
  FdbCounters c;
  for (std::uint32_t i = 0; i < 8; ++i)
    f.learn(mac(i), 1, static_cast<PortId>(i % 3), kT0, c);
  Random rng(7);
  std::set<std::pair<std::uint64_t, std::uint16_t>> offered;
  for (std::size_t i = 0; i < 10 * kCap; ++i) {
    auto m = MacAddress(
        {static_cast<std::uint8_t>(rng.next_u32() & 0xfeU),
         static_cast<std::uint8_t>(rng.next_u32()), static_cast<std::uint8_t>(rng.next_u32()),
         static_cast<std::uint8_t>(rng.next_u32()), static_cast<std::uint8_t>(rng.next_u32()),
         static_cast<std::uint8_t>(rng.next_u32())});
    f.learn(m, static_cast<std::uint16_t>(1 + rng.below(3)), 5, kT0 + 1s, c);
    ASSERT_LE(f.size(), kCap);
  }
  EXPECT_EQ(f.size(), kCap);
  EXPECT_EQ(c.fdb_learned.value(), kCap);
  EXPECT_EQ(c.fdb_full.value(), 10 * kCap - (kCap - 8));
  for (std::uint32_t i = 0; i < 8; ++i)
    EXPECT_EQ(f.lookup(mac(i), 1, kT0 + 2s, c), PortId(i % 3)) << i;
}

TEST(BridgeFdb, HeavyChurnKeepsTheIndexConsistentWithAModel) {
  // Learning, moves, removals and ageing in random order against a std::map model: the index
  // (linear probing with backward-shift deletion) never loses or invents an entry.
  constexpr std::size_t kCap = 64;
  Fdb f(kCap, 50s, 3);
  FdbCounters c;
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::pair<PortId, Instant>> model;
  Random rng(11);
  Instant now = kT0;
  for (int step = 0; step < 20000; ++step) {
    now += std::chrono::milliseconds(rng.below(100));
    // The model ages first, as the table does.
    std::erase_if(model, [&](const auto& kv) { return now - kv.second.second >= 50s; });
    const std::uint32_t m = rng.below(100);
    const auto vid = static_cast<std::uint16_t>(1 + rng.below(2));
    const auto port = static_cast<PortId>(rng.below(4));
    const auto op = rng.below(10);
    if (op < 6) {
      const auto r = f.learn(mac(m), vid, port, now, c);
      auto it = model.find({m, vid});
      if (it != model.end()) {
        it->second = {port, now};
      } else if (r != Fdb::Learnt::Full) {
        model[{m, vid}] = {port, now};
      }
    } else if (op < 8) {
      f.remove(mac(m), vid);
      model.erase({m, vid});
    } else {
      f.expire(now, c);
    }
    // Learnt entries aged but not swept may still be counted in size(); lookups agree.
    const auto got = f.lookup(mac(m), vid, now, c);
    const auto it = model.find({m, vid});
    ASSERT_EQ(got.has_value(), it != model.end()) << step;
    if (got) {
      ASSERT_EQ(*got, it->second.first);
    }
    ASSERT_LE(f.size(), kCap);
  }
  f.expire(now, c);
  EXPECT_EQ(f.size(), model.size());
  for (const auto& [k, v] : model)
    EXPECT_EQ(f.lookup(mac(k.first), k.second, now, c), v.first);
}

TEST(BridgeFdb, TimeGoingBackwardsIsTakenAsTheLatestSeen) {
  Fdb f(8, 10s, 1);
  FdbCounters c;
  f.learn(mac(1), 1, 0, kT0 + 100s, c);
  f.learn(mac(2), 1, 0, kT0, c);  // earlier than already seen: stamped kT0 + 100 s
  EXPECT_EQ(f.next_expiry(), kT0 + 110s);
  EXPECT_EQ(f.expire(kT0 + 110s, c), 2U);
}

TEST(BridgeFdb, ZeroCapacityLearnsNothing) {
  Fdb f(0, 300s, 1);
  FdbCounters c;
  EXPECT_EQ(f.learn(mac(1), 1, 0, kT0, c), Fdb::Learnt::Full);
  EXPECT_EQ(f.lookup(mac(1), 1, kT0, c), std::nullopt);
  EXPECT_EQ(f.size(), 0U);
}

}  // namespace
}  // namespace tapir::bridge
