// Simulation: two stacks over a perfect memory wire. They announce themselves (RFC 5227 §2.3),
// resolve each other with ARP and ping each other both ways, with small pings and with
// 20000-byte pings that leave and return in fragments.
#include <gtest/gtest.h>

#include "tests/sim/sim_apps.hpp"
#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {
namespace {

// Runs two pingers (A to B, B to A) until both have sent everything and 2 s have passed.
RunResult ping_both_ways(World& w, Pinger& ab, Pinger& ba) {
  const auto settle = 2s;
  return w.run(
      [&](Instant now) {
        ab.step(now);
        ba.step(now);
      },
      [&] {
        if (ab.finished_sending() && ba.finished_sending()) return kNever;
        return std::min(ab.deadline(), ba.deadline());
      },
      [&] { return ab.finished_sending() && ba.finished_sending() && w.now() >= kStart + settle; });
}

TEST(SimPing, ArpAndPingBothDirections) {
  World w(std::nullopt, std::nullopt);
  Pinger ab(w.a().stack(), w.b().address(), 56, 5, kStart, 100ms);
  Pinger ba(w.b().stack(), w.a().address(), 56, 5, kStart + 50ms, 100ms);
  const auto run = ping_both_ways(w, ab, ba);
  ASSERT_TRUE(run.done) << run.steps << " steps";
  for (Pinger* p : {&ab, &ba}) {
    EXPECT_EQ(p->sent, 5);
    EXPECT_EQ(p->bad, 0U);
    EXPECT_EQ(p->errors, 0U);
    ASSERT_EQ(p->copies.size(), 5U);
    for (const auto& [seq, n] : p->copies)
      EXPECT_EQ(n, 1U) << seq;
  }
  // A resolved B with one request; B had learnt A from that request (it was the target) and
  // needed none. Both announced themselves twice.
  EXPECT_EQ(counter(w.a().stack(), "arp.tx_requests"), 1U);
  EXPECT_EQ(counter(w.a().stack(), "arp.resolved"), 1U);
  EXPECT_EQ(counter(w.b().stack(), "arp.tx_requests"), 0U);
  EXPECT_EQ(counter(w.b().stack(), "arp.tx_replies"), 1U);
  for (Node* n : {&w.a(), &w.b()}) {
    EXPECT_EQ(counter(n->stack(), "arp.tx_announcements"), 2U);
    EXPECT_EQ(counter(n->stack(), "icmp.tx_echo_replies"), 5U);
    EXPECT_EQ(counter(n->stack(), "ipv4.tx_fragments"), 0U);
    expect_consistent(*n);
  }
}

TEST(SimPing, FragmentedPingsBothWays) {
  World w(std::nullopt, std::nullopt);
  Pinger ab(w.a().stack(), w.b().address(), 20000, 3, kStart, 100ms);
  Pinger ba(w.b().stack(), w.a().address(), 20000, 3, kStart + 10ms, 100ms);
  const auto run = ping_both_ways(w, ab, ba);
  ASSERT_TRUE(run.done);
  for (Pinger* p : {&ab, &ba}) {
    EXPECT_EQ(p->bad, 0U);
    EXPECT_EQ(p->errors, 0U);
    EXPECT_EQ(p->copies.size(), 3U);
  }
  // 20028 bytes of ICMP: 14 fragments of 1480 bytes at most, each way, per ping.
  for (Node* n : {&w.a(), &w.b()}) {
    EXPECT_EQ(counter(n->stack(), "ipv4.tx_fragments"), 2U * 3U * 14U);
    EXPECT_EQ(counter(n->stack(), "ipv4.reasm_ok"), 2U * 3U);
    expect_consistent(*n);
  }
}

TEST(SimPing, AnAddressNobodyHasIsHostUnreachable) {
  World w(std::nullopt, std::nullopt);
  Pinger lost(w.a().stack(), Ipv4Address(10, 0, 0, 77), 56, 1, kStart, 100ms);
  const auto r = w.run([&](Instant now) { lost.step(now); }, [&] { return lost.deadline(); },
                       [&] { return lost.errors > 0; });
  ASSERT_TRUE(r.done);
  // RFC 1122 §2.3.2.1: give up after a bounded number of requests (3, one second apart).
  EXPECT_EQ(r.end, kStart + 3s);
  EXPECT_EQ(counter(w.a().stack(), "arp.resolve_failed"), 1U);
  EXPECT_TRUE(lost.copies.empty());
}

}  // namespace
}  // namespace tapir::sim
