// TupleMap: the demux's fixed-capacity FourTuple -> slot index map (linear probing, keyed
// SipHash, backward-shift deletion).
#include "stack/tcp/tuple_map.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/allocations.hpp"

namespace tapir {
namespace {

using tcp::FourTuple;
using tcp::FourTupleHash;
using tcp::TupleMap;

const SipKey kKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

FourTuple tuple(std::uint16_t remote_port) {
  return FourTuple{Ipv4Address(10, 0, 0, 2), 80, Ipv4Address(10, 0, 0, 1), remote_port};
}

FourTuple random_tuple(Random& r) {
  return FourTuple{Ipv4Address(r.next_u32()), static_cast<std::uint16_t>(r.next_u32()),
                   Ipv4Address(r.next_u32()), static_cast<std::uint16_t>(r.next_u32())};
}

// The bucket a tuple hashes to in a map of bucket_count buckets under kKey (what TupleMap
// computes: the low bits of FourTupleHash).
std::size_t home(const FourTuple& t, std::size_t bucket_count) {
  return FourTupleHash(kKey)(t) & (bucket_count - 1);
}

// Tuples whose home bucket is one of `homes` in a map of bucket_count buckets, found by trying
// remote ports in turn: the collisions a test needs, built from the public hash.
std::vector<FourTuple> tuples_homed_at(const std::vector<std::size_t>& homes,
                                       std::size_t bucket_count, std::size_t n) {
  std::vector<FourTuple> out;
  for (std::uint32_t port = 1; out.size() < n && port <= 0xffff; ++port) {
    const FourTuple t = tuple(static_cast<std::uint16_t>(port));
    for (const std::size_t h : homes) {
      if (home(t, bucket_count) == h) {
        out.push_back(t);
        break;
      }
    }
  }
  return out;
}

TEST(TupleMap, InsertFindErase) {
  TupleMap m(16, kKey);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find(tuple(1)), std::nullopt);
  EXPECT_TRUE(m.insert(tuple(1), 7));
  EXPECT_TRUE(m.insert(tuple(2), 8));
  EXPECT_EQ(m.size(), 2U);
  EXPECT_EQ(m.find(tuple(1)), 7U);
  EXPECT_EQ(m.find(tuple(2)), 8U);
  EXPECT_TRUE(m.contains(tuple(2)));
  EXPECT_FALSE(m.contains(tuple(3)));
  EXPECT_TRUE(m.erase(tuple(1)));
  EXPECT_FALSE(m.erase(tuple(1)));
  EXPECT_EQ(m.find(tuple(1)), std::nullopt);
  EXPECT_EQ(m.find(tuple(2)), 8U);
  EXPECT_EQ(m.size(), 1U);
}

// The key is the whole tuple: tuples that differ in one field only are different keys.
TEST(TupleMap, EveryFieldOfTheTupleIsPartOfTheKey) {
  TupleMap m(8, kKey);
  const FourTuple base = tuple(40000);
  FourTuple local = base;
  local.local = Ipv4Address(10, 0, 0, 3);
  FourTuple local_port = base;
  local_port.local_port = 81;
  FourTuple remote = base;
  remote.remote = Ipv4Address(10, 0, 0, 9);
  FourTuple remote_port = base;
  remote_port.remote_port = 40001;
  ASSERT_TRUE(m.insert(base, 0));
  ASSERT_TRUE(m.insert(local, 1));
  ASSERT_TRUE(m.insert(local_port, 2));
  ASSERT_TRUE(m.insert(remote, 3));
  ASSERT_TRUE(m.insert(remote_port, 4));
  EXPECT_EQ(m.find(base), 0U);
  EXPECT_EQ(m.find(local), 1U);
  EXPECT_EQ(m.find(local_port), 2U);
  EXPECT_EQ(m.find(remote), 3U);
  EXPECT_EQ(m.find(remote_port), 4U);
}

TEST(TupleMap, InsertRefusesAKeyAlreadyPresentAndKeepsItsValue) {
  TupleMap m(4, kKey);
  EXPECT_TRUE(m.insert(tuple(1), 7));
  EXPECT_FALSE(m.insert(tuple(1), 9));
  EXPECT_EQ(m.find(tuple(1)), 7U);
  EXPECT_EQ(m.size(), 1U);
}

TEST(TupleMap, FullTableRefusesUntilAnEraseMakesRoom) {
  TupleMap m(4, kKey);
  for (std::uint16_t p = 1; p <= 4; ++p)
    EXPECT_TRUE(m.insert(tuple(p), p));
  EXPECT_TRUE(m.full());
  EXPECT_FALSE(m.insert(tuple(5), 5));
  EXPECT_EQ(m.find(tuple(5)), std::nullopt);
  EXPECT_EQ(m.size(), 4U);
  EXPECT_TRUE(m.erase(tuple(2)));
  EXPECT_TRUE(m.insert(tuple(5), 5));
  EXPECT_EQ(m.find(tuple(5)), 5U);
  for (const std::uint16_t p : {std::uint16_t{1}, std::uint16_t{3}, std::uint16_t{4}})
    EXPECT_EQ(m.find(tuple(p)), p);
}

TEST(TupleMap, ZeroCapacityRefusesEveryInsert) {
  TupleMap m(0, kKey);
  EXPECT_EQ(m.capacity(), 0U);
  EXPECT_FALSE(m.insert(tuple(1), 1));
  EXPECT_EQ(m.find(tuple(1)), std::nullopt);
  EXPECT_FALSE(m.erase(tuple(1)));
}

// Load factor <= 0.5: the bucket count is a power of two, at least twice the capacity.
TEST(TupleMap, BucketCountIsThePowerOfTwoAtLeastTwiceTheCapacity) {
  const std::vector<std::pair<std::size_t, std::size_t>> cases{
      {0, 2}, {1, 2}, {2, 4}, {3, 8}, {4, 8}, {5, 16}, {1000, 2048}, {1024, 2048}, {1025, 4096}};
  for (const auto& [capacity, buckets] : cases) {
    const TupleMap m(capacity, kKey);
    EXPECT_EQ(m.bucket_count(), buckets) << capacity;
    EXPECT_EQ(m.capacity(), capacity);
  }
}

// Backward-shift deletion: erasing any member of a probe chain leaves every other member
// findable. Four tuples with the same home bucket make one chain in a tiny table (capacity 4,
// 8 buckets); each is erased in turn from a fresh table, in every insertion order.
TEST(TupleMap, EraseInAProbeChainKeepsTheOthersFindable) {
  constexpr std::size_t kBuckets = 8;
  for (std::size_t h = 0; h < kBuckets; ++h) {  // home 7 makes the chain wrap to bucket 0
    const auto chain = tuples_homed_at({h}, kBuckets, 4);
    ASSERT_EQ(chain.size(), 4U);
    std::vector<std::size_t> order{0, 1, 2, 3};
    do {
      for (std::size_t victim = 0; victim < 4; ++victim) {
        TupleMap m(4, kKey);
        ASSERT_EQ(m.bucket_count(), kBuckets);
        for (const std::size_t i : order)
          ASSERT_TRUE(m.insert(chain[i], static_cast<std::uint32_t>(i)));
        EXPECT_EQ(m.max_probe_len(), 4U);
        ASSERT_TRUE(m.erase(chain[victim]));
        for (std::size_t i = 0; i < 4; ++i) {
          EXPECT_EQ(m.find(chain[i]), i == victim ? std::nullopt : std::optional<std::uint32_t>(i))
              << "home " << h << " victim " << victim;
        }
        EXPECT_EQ(m.max_probe_len(), 3U);  // the chain closed up
      }
    } while (std::next_permutation(order.begin(), order.end()));
  }
}

// The harder case for backward shift: one run holding chains of neighbouring homes (an entry
// whose home lies after the hole must not move into it; one whose home lies before must), and
// wrapping past the last bucket. Homes 6, 7 and 0 in 8 buckets, random insertion orders and
// random erasures, every survivor checked after every step.
TEST(TupleMap, EraseInARunOfNeighbouringChainsAcrossTheWrapKeepsTheOthersFindable) {
  constexpr std::size_t kBuckets = 8;
  const auto pool = tuples_homed_at({6, 7, 0}, kBuckets, 12);
  ASSERT_EQ(pool.size(), 12U);
  Random r(20240601);
  for (int trial = 0; trial < 2000; ++trial) {
    TupleMap m(4, kKey);
    std::unordered_map<std::size_t, std::uint32_t> live;  // pool index -> value
    for (int step = 0; step < 12; ++step) {
      const std::size_t i = r.below(12);
      if (live.count(i) != 0) {
        ASSERT_TRUE(m.erase(pool[i]));
        live.erase(i);
      } else {
        const auto value = static_cast<std::uint32_t>(trial * 100 + step);
        const bool inserted = m.insert(pool[i], value);
        ASSERT_EQ(inserted, live.size() < 4);
        if (inserted) live[i] = value;
      }
      for (std::size_t j = 0; j < pool.size(); ++j) {
        const auto it = live.find(j);
        ASSERT_EQ(m.find(pool[j]),
                  it == live.end() ? std::nullopt : std::optional<std::uint32_t>(it->second))
            << "trial " << trial << " step " << step << " tuple " << j;
      }
      ASSERT_EQ(m.size(), live.size());
    }
  }
}

// 100k random operations against std::unordered_map, on a pool of tuples three times the
// capacity so that finds miss, inserts meet a full table and erases hit and miss.
TEST(TupleMap, AgreesWithUnorderedMapOverRandomOperations) {
  constexpr std::uint64_t kSeed = 0x5eed0001;
  SCOPED_TRACE(testing::Message() << "seed " << kSeed);
  Random r(kSeed);
  constexpr std::size_t kCapacity = 512;
  std::vector<FourTuple> pool;
  for (std::size_t i = 0; i < 3 * kCapacity; ++i)
    pool.push_back(random_tuple(r));

  TupleMap m(kCapacity, kKey);
  std::unordered_map<std::size_t, std::uint32_t> ref;  // pool index -> value
  std::size_t inserted = 0, refused_full = 0, erased = 0;
  for (int op = 0; op < 100'000; ++op) {
    const std::size_t i = r.below(static_cast<std::uint32_t>(pool.size()));
    const FourTuple& t = pool[i];
    switch (r.below(3)) {
      case 0: {
        const std::uint32_t value = r.next_u32();
        const bool expect = ref.count(i) == 0 && ref.size() < kCapacity;
        ASSERT_EQ(m.insert(t, value), expect) << "op " << op;
        if (expect) {
          ref[i] = value;
          ++inserted;
        } else if (ref.count(i) == 0) {
          ++refused_full;
        }
        break;
      }
      case 1: {
        const bool expect = ref.erase(i) == 1;
        ASSERT_EQ(m.erase(t), expect) << "op " << op;
        erased += expect ? 1U : 0U;
        break;
      }
      default: {
        const auto it = ref.find(i);
        ASSERT_EQ(m.find(t), it == ref.end() ? std::nullopt : std::optional(it->second))
            << "op " << op;
        break;
      }
    }
    ASSERT_EQ(m.size(), ref.size()) << "op " << op;
  }
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const auto it = ref.find(i);
    EXPECT_EQ(m.find(pool[i]), it == ref.end() ? std::nullopt : std::optional(it->second));
  }
  // The workload reached every path.
  EXPECT_GT(inserted, 1000U);
  EXPECT_GT(refused_full, 100U);
  EXPECT_GT(erased, 1000U);
}

// No tombstones: a full table (load 0.5) put through a million erase/insert cycles keeps
// probe lengths of a fresh table, and every key stays findable.
TEST(TupleMap, AMillionEraseInsertCyclesDoNotLengthenProbes) {
  constexpr std::uint64_t kSeed = 0x5eed0002;
  SCOPED_TRACE(testing::Message() << "seed " << kSeed);
  Random r(kSeed);
  constexpr std::size_t kCapacity = 1024;
  TupleMap m(kCapacity, kKey);
  std::vector<FourTuple> live;
  while (live.size() < kCapacity) {
    const FourTuple t = random_tuple(r);
    if (m.insert(t, static_cast<std::uint32_t>(live.size()))) live.push_back(t);
  }
  const std::size_t fresh = m.max_probe_len();
  std::size_t worst = fresh;
  for (int cycle = 0; cycle < 1'000'000; ++cycle) {
    const std::size_t i = r.below(static_cast<std::uint32_t>(kCapacity));
    ASSERT_TRUE(m.erase(live[i]));
    FourTuple t = random_tuple(r);
    while (!m.insert(t, static_cast<std::uint32_t>(i)))  // a repeat tuple (rare): draw again
      t = random_tuple(r);
    live[i] = t;
    if (cycle % 100'000 == 0) worst = std::max(worst, m.max_probe_len());
  }
  EXPECT_EQ(m.size(), kCapacity);
  for (std::size_t i = 0; i < kCapacity; ++i)
    ASSERT_EQ(m.find(live[i]), i);
  // A fresh table of 1024 keys in 2048 buckets has a longest probe of a few dozen at most; a
  // table that kept tombstones would by now probe most of the array on a miss.
  EXPECT_LE(worst, 64U) << "fresh " << fresh;
  EXPECT_LE(m.max_probe_len(), 64U);
}

TEST(TupleMap, ClearEmptiesTheMapForReuse) {
  TupleMap m(4, kKey);
  for (std::uint16_t p = 1; p <= 4; ++p)
    ASSERT_TRUE(m.insert(tuple(p), p));
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.max_probe_len(), 0U);
  for (std::uint16_t p = 1; p <= 4; ++p)
    EXPECT_EQ(m.find(tuple(p)), std::nullopt);
  for (std::uint16_t p = 5; p <= 8; ++p)
    EXPECT_TRUE(m.insert(tuple(p), p));
  EXPECT_EQ(m.find(tuple(8)), 8U);
}

// The key decides the layout: the same tuples hashed under two keys land in different
// buckets (a peer who does not know the key cannot aim them at one).
TEST(TupleMap, TheKeyDecidesWhereTuplesLand) {
  const SipKey other{0x1111111111111111ULL, 0x2222222222222222ULL};
  const auto chain = tuples_homed_at({3}, 1024, 8);  // all home 3 under kKey
  ASSERT_EQ(chain.size(), 8U);
  std::size_t same = 0;
  for (const auto& t : chain)
    same += (FourTupleHash(other)(t) & 1023) == 3 ? 1U : 0U;
  EXPECT_LT(same, 8U);

  TupleMap aimed(512, kKey);
  TupleMap keyed(512, other);
  for (std::uint32_t i = 0; i < chain.size(); ++i) {
    ASSERT_TRUE(aimed.insert(chain[i], i));
    ASSERT_TRUE(keyed.insert(chain[i], i));
  }
  EXPECT_EQ(aimed.max_probe_len(), 8U);  // one chain under the key they were aimed with
  EXPECT_LT(keyed.max_probe_len(), 8U);  // scattered under another
}

TEST(TupleMap, NoAllocationAfterConstruction) {
  Random r(11);
  std::vector<FourTuple> pool;
  for (int i = 0; i < 300; ++i)
    pool.push_back(random_tuple(r));
  TupleMap m(128, kKey);
  const std::size_t before = test::allocations();
  std::size_t hits = 0;
  for (int op = 0; op < 20000; ++op) {
    const FourTuple& t = pool[r.below(300)];
    switch (op % 3) {
      case 0:
        hits += m.insert(t, static_cast<std::uint32_t>(op)) ? 1U : 0U;
        break;
      case 1:
        hits += m.erase(t) ? 1U : 0U;
        break;
      default:
        hits += m.find(t).has_value() ? 1U : 0U;
        break;
    }
    if (op == 10000) m.clear();
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_GT(hits, 0U);
}

}  // namespace
}  // namespace tapir
