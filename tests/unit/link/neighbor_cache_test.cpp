// link/neighbor_cache: the ARP cache alone. Resolution (a request due at once, retries one retry
// interval apart, max_tries in all, then failure with every queued frame's owner told), the
// frames released in order on resolution, RFC 826's merge rule, re-confirmation of an old entry
// by unicast requests, removal of unused entries, and every bound.
#include "stack/link/neighbor_cache.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::link {
namespace {

using namespace std::chrono_literals;
using State = NeighborCache::State;

constexpr Instant kT0 = instant_from_micros(1'000'000);
constexpr Ipv4Address kA(10, 0, 0, 1);
constexpr Ipv4Address kB(10, 0, 0, 3);
constexpr Ipv4Address kC(10, 0, 0, 4);
constexpr MacAddress kMacA({0x0a, 0, 0, 0, 0, 0x01});
constexpr MacAddress kMacB({0x0a, 0, 0, 0, 0, 0x03});

NeighborConfig config() {
  NeighborConfig c;
  c.capacity = 4;
  c.reachable_time = 30s;
  c.stale_time = 60s;
  c.retry_interval = 1s;
  c.max_tries = 3;
  c.pending_frames = 8;
  c.frame_size = 64;
  return c;
}

std::vector<std::byte> frame(char tag, std::size_t len = 20) {
  return std::vector<std::byte>(len, static_cast<std::byte>(tag));
}

FrameOwner udp_owner(std::uint32_t slot) {
  return {FrameOwner::Kind::Udp, {slot, 1}};
}

// What one poll() asked for.
struct Polled {
  std::vector<NeighborCache::Request> requests;
  std::vector<FrameOwner> failed;
};

Polled poll(NeighborCache& cache, Instant now) {
  Polled out;
  cache.poll(
      now, [&](const NeighborCache::Request& r) { out.requests.push_back(r); },
      [&](const FrameOwner& o) { out.failed.push_back(o); });
  return out;
}

// The frames one update() released, with the MAC they were released to.
struct Released {
  std::vector<std::vector<std::byte>> frames;
  std::vector<MacAddress> macs;
};

bool update(NeighborCache& cache, Ipv4Address ip, MacAddress mac, bool create, Instant now,
            Released* released = nullptr, InterfaceIndex iface = 0) {
  return cache.update(iface, ip, mac, create, now, [&](BytesMut f, MacAddress m) {
    if (released == nullptr) {
      ADD_FAILURE() << "unexpected release";
      return;
    }
    released->frames.emplace_back(f.begin(), f.end());
    released->macs.push_back(m);
  });
}

TEST(NeighborCache, AnUnknownNeighbourIsNotResolved) {
  NeighborCache cache(config());
  EXPECT_EQ(cache.lookup(0, kA, kT0), std::nullopt);
  EXPECT_EQ(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.next_deadline(), kNever);
  EXPECT_TRUE(poll(cache, kT0).requests.empty());
  EXPECT_EQ(cache.entries().size(), 4U);
}

TEST(NeighborCache, EnqueueStartsAResolutionWhoseFirstRequestIsDueAtOnce) {
  NeighborCache cache(config());
  ASSERT_TRUE(cache.enqueue(0, kA, frame('1'), udp_owner(0), kT0));
  const auto* e = cache.find(0, kA);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, State::Incomplete);
  EXPECT_EQ(cache.pending(), 1U);
  EXPECT_EQ(cache.next_deadline(), kT0);
  EXPECT_EQ(cache.lookup(0, kA, kT0), std::nullopt);  // incomplete is not resolved
  const auto p = poll(cache, kT0);
  ASSERT_EQ(p.requests.size(), 1U);
  EXPECT_EQ(p.requests[0].iface, 0);
  EXPECT_EQ(p.requests[0].target, kA);
  EXPECT_EQ(p.requests[0].unicast_to, std::nullopt);  // broadcast
  EXPECT_EQ(cache.next_deadline(), kT0 + 1s);
  // A second frame for it joins the same resolution: no new request.
  ASSERT_TRUE(cache.enqueue(0, kA, frame('2'), udp_owner(0), kT0 + 10ms));
  EXPECT_TRUE(poll(cache, kT0 + 10ms).requests.empty());
  EXPECT_EQ(cache.pending(), 2U);
}

TEST(NeighborCache, RetriesEveryIntervalThenFailsAndTellsEachOwner) {
  NeighborCache cache(config());
  ASSERT_TRUE(cache.enqueue(0, kA, frame('1'), udp_owner(3), kT0));
  ASSERT_TRUE(cache.enqueue(0, kA, frame('2'), {FrameOwner::Kind::Icmp, {5, 2}}, kT0));
  ASSERT_TRUE(cache.enqueue(0, kB, frame('3'), udp_owner(4), kT0));
  EXPECT_EQ(poll(cache, kT0).requests.size(), 2U);
  EXPECT_TRUE(poll(cache, kT0 + 999ms).requests.empty());
  EXPECT_EQ(poll(cache, kT0 + 1s).requests.size(), 2U);
  // B answers; A does not.
  Released released;
  EXPECT_TRUE(update(cache, kB, kMacB, false, kT0 + 1500ms, &released));
  ASSERT_EQ(released.frames.size(), 1U);
  EXPECT_EQ(poll(cache, kT0 + 2s).requests.size(), 1U);
  // RFC 1122 §2.3.2.1: give up after a bounded number of requests.
  const auto p = poll(cache, kT0 + 3s);
  EXPECT_TRUE(p.requests.empty());
  ASSERT_EQ(p.failed.size(), 2U);
  EXPECT_EQ(p.failed[0].kind, FrameOwner::Kind::Udp);
  EXPECT_EQ(p.failed[0].socket, (SocketId{3, 1}));
  EXPECT_EQ(p.failed[1].kind, FrameOwner::Kind::Icmp);
  EXPECT_EQ(p.failed[1].socket, (SocketId{5, 2}));
  EXPECT_EQ(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.pending(), 0U);
  EXPECT_EQ(cache.counters().failed.value(), 1U);
  EXPECT_EQ(cache.counters().pending_dropped.value(), 2U);
  EXPECT_EQ(cache.counters().resolved.value(), 1U);
}

TEST(NeighborCache, AResolutionReleasesItsFramesInOrderAndNoOthers) {
  NeighborCache cache(config());
  ASSERT_TRUE(cache.enqueue(0, kA, frame('1'), udp_owner(0), kT0));
  ASSERT_TRUE(cache.enqueue(0, kB, frame('x', 30), udp_owner(0), kT0));
  ASSERT_TRUE(cache.enqueue(0, kA, frame('2', 40), udp_owner(0), kT0));
  ASSERT_TRUE(cache.enqueue(0, kA, frame('3', 64), udp_owner(0), kT0));
  Released released;
  // RFC 826's merge: the reply updates the Incomplete entry, which releases its frames.
  EXPECT_TRUE(update(cache, kA, kMacA, false, kT0 + 5ms, &released));
  ASSERT_EQ(released.frames.size(), 3U);
  EXPECT_EQ(released.frames[0], frame('1'));
  EXPECT_EQ(released.frames[1], frame('2', 40));
  EXPECT_EQ(released.frames[2], frame('3', 64));
  for (const auto& m : released.macs)
    EXPECT_EQ(m, kMacA);
  EXPECT_EQ(cache.pending(), 1U);  // B's frame still waits
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 5ms), kMacA);
  const auto* e = cache.find(0, kA);
  EXPECT_EQ(e->state, State::Reachable);
  EXPECT_EQ(e->confirmed, kT0 + 5ms);
  // B's frame comes out when B resolves.
  Released b;
  EXPECT_TRUE(update(cache, kB, kMacB, true, kT0 + 6ms, &b));
  ASSERT_EQ(b.frames.size(), 1U);
  EXPECT_EQ(b.frames[0], frame('x', 30));
  EXPECT_EQ(cache.pending(), 0U);
}

TEST(NeighborCache, TheMergeRuleCreatesOnlyWhenAsked) {
  NeighborCache cache(config());
  // RFC 826's merge: learns ip -> mac on iface. An existing entry is updated (and confirmed);
  // a missing one is created only if `create` (the packet was addressed to us).
  EXPECT_FALSE(update(cache, kA, kMacA, false, kT0));
  EXPECT_EQ(cache.find(0, kA), nullptr);
  EXPECT_FALSE(update(cache, kA, kMacA, true, kT0));  // did not exist before
  ASSERT_NE(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.lookup(0, kA, kT0), kMacA);
  EXPECT_TRUE(update(cache, kA, kMacB, false, kT0 + 1s));
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 1s), kMacB);
  EXPECT_EQ(cache.find(0, kA)->confirmed, kT0 + 1s);
  EXPECT_EQ(cache.counters().resolved.value(), 0U);  // nothing was waiting
  // Interfaces are separate tables.
  EXPECT_EQ(cache.lookup(1, kA, kT0 + 1s), std::nullopt);
  EXPECT_FALSE(update(cache, kA, kMacA, true, kT0 + 1s, nullptr, 1));
  EXPECT_EQ(cache.lookup(1, kA, kT0 + 1s), kMacA);
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 1s), kMacB);
}

TEST(NeighborCache, AnOldEntryIsStillUsedWhileUnicastRequestsReconfirmIt) {
  NeighborCache cache(config());
  update(cache, kA, kMacA, true, kT0);
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 29s), kMacA);
  EXPECT_EQ(cache.find(0, kA)->state, State::Reachable);
  EXPECT_TRUE(poll(cache, kT0 + 29s).requests.empty());
  // The MAC to send to ip on iface, if known (Reachable or Probe); marks the entry used. An
  // old Reachable entry moves to Probe here, so the next poll() re-confirms it.
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 30s), kMacA);
  EXPECT_EQ(cache.find(0, kA)->state, State::Probe);
  EXPECT_EQ(cache.next_deadline(), kT0 + 30s);
  auto p = poll(cache, kT0 + 30s);
  ASSERT_EQ(p.requests.size(), 1U);
  // RFC 1122 §2.3.2.1 "unicast poll".
  EXPECT_EQ(p.requests[0].unicast_to, kMacA);
  EXPECT_EQ(cache.lookup(0, kA, kT0 + 30500ms), kMacA);  // still usable
  // Confirmed: Reachable, no more requests.
  update(cache, kA, kMacA, false, kT0 + 31s);
  EXPECT_EQ(cache.find(0, kA)->state, State::Reachable);
  EXPECT_TRUE(poll(cache, kT0 + 40s).requests.empty());
}

TEST(NeighborCache, AnUnconfirmedEntryIsRemovedAfterMaxTries) {
  NeighborCache cache(config());
  update(cache, kA, kMacA, true, kT0);
  cache.lookup(0, kA, kT0 + 30s);
  for (int i = 0; i < 3; ++i) {
    const auto p = poll(cache, kT0 + 30s + i * 1s);
    ASSERT_EQ(p.requests.size(), 1U) << i;
    EXPECT_EQ(p.requests[0].unicast_to, kMacA);
  }
  const auto p = poll(cache, kT0 + 33s);
  EXPECT_TRUE(p.requests.empty());
  EXPECT_TRUE(p.failed.empty());
  EXPECT_EQ(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.counters().failed.value(), 0U);  // nothing was waiting on it
}

TEST(NeighborCache, AnEntryUnusedForTheStaleTimeIsRemoved) {
  NeighborCache cache(config());
  update(cache, kA, kMacA, true, kT0);
  update(cache, kB, kMacB, true, kT0);
  EXPECT_EQ(cache.next_deadline(), kT0 + 60s);
  cache.lookup(0, kB, kT0 + 20s);  // B is used, A is not
  poll(cache, kT0 + 60s - 1us);
  EXPECT_NE(cache.find(0, kA), nullptr);
  poll(cache, kT0 + 60s);
  EXPECT_EQ(cache.find(0, kA), nullptr);
  ASSERT_NE(cache.find(0, kB), nullptr);
  EXPECT_EQ(cache.next_deadline(), kT0 + 80s);
  poll(cache, kT0 + 80s);
  EXPECT_EQ(cache.find(0, kB), nullptr);
  EXPECT_EQ(cache.next_deadline(), kNever);
}

TEST(NeighborCache, AFullTableEvictsTheLeastRecentlyUsedResolvedEntry) {
  NeighborCache cache(config());  // 4 entries
  for (std::uint8_t i = 0; i < 4; ++i)
    update(cache, Ipv4Address(10, 0, 1, i), kMacA, true, kT0 + i * 1s);
  cache.lookup(0, Ipv4Address(10, 0, 1, 0), kT0 + 10s);  // 10.0.1.1 is now the oldest used
  update(cache, kA, kMacA, true, kT0 + 11s);
  EXPECT_NE(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.find(0, Ipv4Address(10, 0, 1, 1)), nullptr);
  EXPECT_NE(cache.find(0, Ipv4Address(10, 0, 1, 0)), nullptr);
  EXPECT_EQ(cache.counters().table_full.value(), 0U);
}

TEST(NeighborCache, ATableFullOfResolutionsRefusesANewOne) {
  NeighborCache cache(config());
  for (std::uint8_t i = 0; i < 4; ++i)
    ASSERT_TRUE(cache.enqueue(0, Ipv4Address(10, 0, 1, i), frame('f'), udp_owner(0), kT0));
  // When the table is full, the least recently used entry that is not Incomplete makes room;
  // if every one is Incomplete, the new one is refused.
  EXPECT_FALSE(cache.enqueue(0, kA, frame('f'), udp_owner(0), kT0));
  EXPECT_FALSE(update(cache, kA, kMacA, true, kT0));
  EXPECT_EQ(cache.find(0, kA), nullptr);
  EXPECT_EQ(cache.counters().table_full.value(), 2U);
  EXPECT_EQ(cache.pending(), 4U);
}

TEST(NeighborCache, PendingFramesAreBoundedInNumberAndSize) {
  NeighborConfig c = config();
  c.pending_frames = 2;
  NeighborCache cache(c);
  // The frame larger than a buffer is refused before anything is created.
  EXPECT_FALSE(cache.enqueue(0, kA, frame('b', 65), udp_owner(0), kT0));
  EXPECT_EQ(cache.find(0, kA), nullptr);
  ASSERT_TRUE(cache.enqueue(0, kA, frame('1'), udp_owner(0), kT0));
  ASSERT_TRUE(cache.enqueue(0, kB, frame('2'), udp_owner(0), kT0));
  EXPECT_FALSE(cache.enqueue(0, kA, frame('3'), udp_owner(0), kT0));
  EXPECT_FALSE(cache.enqueue(0, kC, frame('4'), udp_owner(0), kT0));
  EXPECT_EQ(cache.find(0, kC), nullptr);
  EXPECT_EQ(cache.pending(), 2U);
  EXPECT_EQ(cache.counters().pending_full.value(), 3U);
  // Room again once released.
  Released released;
  update(cache, kA, kMacA, false, kT0, &released);
  EXPECT_EQ(released.frames.size(), 1U);
  EXPECT_TRUE(cache.enqueue(0, kC, frame('4'), udp_owner(0), kT0));
}

TEST(NeighborCache, OneNeighbourGetsAtMostItsShareOfThePendingFrames) {
  NeighborConfig c = config();
  c.pending_frames = 4;
  c.pending_per_neighbor = 2;
  NeighborCache cache(c);
  ASSERT_TRUE(cache.enqueue(0, kA, frame('1'), udp_owner(0), kT0));
  ASSERT_TRUE(cache.enqueue(0, kA, frame('2'), udp_owner(0), kT0));
  // One neighbour that never answers must not hold the whole queue (Linux: unres_qlen).
  EXPECT_FALSE(cache.enqueue(0, kA, frame('3'), udp_owner(0), kT0));
  EXPECT_TRUE(cache.enqueue(0, kB, frame('4'), udp_owner(0), kT0));
  EXPECT_TRUE(cache.enqueue(0, kB, frame('5'), udp_owner(0), kT0));
  EXPECT_EQ(cache.pending(), 4U);
  EXPECT_EQ(cache.counters().pending_full.value(), 1U);
  Released released;
  update(cache, kA, kMacA, false, kT0, &released);
  ASSERT_EQ(released.frames.size(), 2U);
  EXPECT_EQ(released.frames[1], frame('2'));
}

TEST(NeighborCache, CountersHaveTheirStableNames) {
  NeighborCache cache(config());
  std::vector<std::string> names;
  cache.counters().for_each_counter(
      [&](std::string_view n, const Counter&) { names.emplace_back(n); });
  EXPECT_EQ(names, (std::vector<std::string>{"arp.resolved", "arp.resolve_failed", "arp.table_full",
                                             "arp.tx_pending_full", "arp.tx_pending_dropped"}));
}

}  // namespace
}  // namespace tapir::link
