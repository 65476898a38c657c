// Simulation under the seeded fault model: the UDP echo and ping scenarios with loss,
// duplication and reordering at both ends, and with corruption, for several seeds. Whatever
// arrives must be exactly what was sent (every byte checked; a corrupted frame must be refused
// by a checksum, never accepted), the counters must account for every frame, and the faults
// must really have happened. Every failure names its seed and spec.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/sim/sim_apps.hpp"
#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {
namespace {

drivers::FaultSpec spec(const std::string& text) {
  auto s = drivers::FaultSpec::parse(text);
  EXPECT_TRUE(s) << drivers::FaultSpec::error_line(text);
  return s.value_or(drivers::FaultSpec{});
}

struct Outcome {
  std::uint64_t udp_sent = 0, udp_echoed_once_or_more = 0, pings_answered = 0;
  std::uint64_t fragmented_sent = 0, fragmented_echoed = 0;
  std::uint64_t dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
  std::uint64_t checksum_drops = 0;
  std::uint64_t undetectable = 0;     // corruptions no checksum can see (undetectable_corruption)
  std::vector<std::string> counters;  // every non-zero counter of A and B, "name=value"
};

// A sends 120 numbered datagrams (some fragmented) to B's echo server, `interval` apart, and pings
// B with 8000-byte pings; B pings A with small ones. Checks everything that arrived, byte for
// byte.
Outcome run_scenario(const std::string& spec_a, const std::string& spec_b, Duration interval = 5ms,
                     const StackConfig& config = {}) {
  SCOPED_TRACE("faults at A: " + spec_a + "; at B: " + spec_b);
  World w(spec(spec_a), spec(spec_b), config);
  EchoServer server(w.b().stack(), 7);
  UdpClient client(w.a().stack(), {w.b().address(), 7}, {8, 300, 1472, 3000, 64, 8000}, 120, kStart,
                   interval);
  Pinger ab(w.a().stack(), w.b().address(), 8000, 20, kStart + 1ms, 6 * interval);
  Pinger ba(w.b().stack(), w.a().address(), 56, 20, kStart + 2ms, 6 * interval);
  const Duration settle = 5s;
  const auto finished = [&] {
    return client.finished_sending() && ab.finished_sending() && ba.finished_sending();
  };
  const auto r = w.run(
      [&](Instant now) {
        server.step();
        client.step(now);
        ab.step(now);
        ba.step(now);
      },
      [&] {
        if (finished()) return client.last_send() + settle;
        return std::min({client.deadline(), ab.deadline(), ba.deadline()});
      },
      [&] { return finished() && w.now() >= client.last_send() + settle; });
  EXPECT_TRUE(r.done) << "stopped after " << r.steps << " steps at "
                      << to_micros(r.end) - to_micros(kStart) << " us";

  // Nothing that arrived differs from what was sent.
  EXPECT_EQ(client.bad, 0U);
  EXPECT_EQ(ab.bad, 0U);
  EXPECT_EQ(ba.bad, 0U);
  // Copies come only from duplication (dup=): each decorator on the way sends a frame at most
  // twice, two decorators per hop, two hops for an echo.
  for (const auto& [index, n] : client.copies)
    EXPECT_LE(n, 16U) << "datagram " << index;
  for (const auto& [seq, n] : ab.copies)
    EXPECT_LE(n, 16U) << "ping " << seq;
  EXPECT_EQ(client.sent, 120U);
  EXPECT_EQ(client.send_failed, 0U);
  EXPECT_EQ(server.send_failed, 0U);
  // What UDP took in is what the socket saw, plus what it dropped (counted).
  const Stack& b = w.b().stack();
  EXPECT_EQ(counter(b, "udp.rx_datagrams"),
            server.received + counter(b, "udp.rx_bad_checksum") + counter(b, "udp.rx_malformed") +
                counter(b, "udp.rx_no_socket") + counter(b, "udp.rx_queue_full"));
  expect_consistent(w.a());
  expect_consistent(w.b());
  if (::testing::Test::HasFailure()) {
    dump(w.a());
    dump(w.b());
  }

  Outcome o;
  o.udp_sent = client.sent;
  o.udp_echoed_once_or_more = client.copies.size();
  for (const auto& [index, n] : client.copies)
    if (client.size_of(index) > 1472) ++o.fragmented_echoed;
  for (std::uint32_t i = 0; i < client.sent; ++i)
    if (client.size_of(i) > 1472) ++o.fragmented_sent;
  o.pings_answered = ab.copies.size() + ba.copies.size();
  o.undetectable = client.undetectable + ab.undetectable + ba.undetectable;
  for (const Node* n : {&w.a(), &w.b()}) {
    const auto& f = n->faulty()->fault_counters();
    o.dropped += f.dropped.value();
    o.duplicated += f.duplicated.value();
    o.reordered += f.reordered.value();
    o.corrupted += f.corrupted.value();
    EXPECT_EQ(f.queue_full.value(), 0U);
    EXPECT_EQ(f.too_large.value(), 0U);
    for (const char* name : {"ipv4.rx_bad_checksum", "udp.rx_bad_checksum", "icmp.rx_bad_checksum"})
      o.checksum_drops += counter(n->stack(), name);
    n->stack().for_each_counter([&](std::string_view name, const Counter& c) {
      if (c.value() != 0)
        o.counters.push_back(n->name() + " " + std::string(name) + "=" + std::to_string(c.value()));
    });
  }
  return o;
}

TEST(SimFaults, OnlyCompensatingFlipsAreExcused) {
  const auto sent = numbered_payload(3, 8000);
  auto got = sent;
  EXPECT_FALSE(undetectable_corruption(got, sent, 8));  // equal
  // One flipped bit changes the sum: the checksum must have caught it.
  got[1204] ^= std::byte{0x01};
  EXPECT_FALSE(undetectable_corruption(got, sent, 8));
  // The same bit of a 16-bit word flipped the other way in another fragment: the same sum.
  std::size_t at = 4876;
  while ((sent[at] & std::byte{0x01}) == (sent[1204] & std::byte{0x01}))
    at += 2;  // a byte whose low bit differs from byte 1204's, at the same word position
  got[at] ^= std::byte{0x01};
  EXPECT_TRUE(undetectable_corruption(got, sent, 8));
  // The same bit flipped in an odd byte instead: another word position, another sum.
  auto odd = got;
  odd[at] = sent[at];
  std::size_t o = 4877;
  while ((sent[o] & std::byte{0x01}) == (sent[1204] & std::byte{0x01}))
    o += 2;
  odd[o] ^= std::byte{0x01};
  EXPECT_FALSE(undetectable_corruption(odd, sent, 8));
  // Swapped ranges keep the sum but change many bits: not excused.
  auto swapped = sent;
  std::swap_ranges(swapped.begin() + 100, swapped.begin() + 200, swapped.begin() + 3000);
  EXPECT_FALSE(undetectable_corruption(swapped, sent, 8));
}

TEST(SimFaults, LossDuplicationAndReorderDeliverOnlyIntactData) {
  Outcome total;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const std::string a = "loss=5%,dup=2%,reorder=5%,seed=" + std::to_string(seed);
    const std::string b = "loss=5%,dup=2%,reorder=5%,seed=" + std::to_string(seed + 1000);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    const auto o = run_scenario(a, b);
    std::printf("seed %llu: udp %llu/%llu, fragmented %llu/%llu, pings %llu/40\n",
                static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(o.udp_echoed_once_or_more),
                static_cast<unsigned long long>(o.udp_sent),
                static_cast<unsigned long long>(o.fragmented_echoed),
                static_cast<unsigned long long>(o.fragmented_sent),
                static_cast<unsigned long long>(o.pings_answered));
    // Most of it gets through: a small datagram and its echo meet four 5% losses (both ends'
    // decorators, both ways): 81%.
    EXPECT_GE(o.udp_echoed_once_or_more, o.udp_sent / 2);
    EXPECT_GT(o.pings_answered, 0U);
    EXPECT_EQ(o.undetectable, 0U);  // nothing was corrupted
    total.dropped += o.dropped;
    total.duplicated += o.duplicated;
    total.reordered += o.reordered;
    total.checksum_drops += o.checksum_drops;
  }
  // The faults happened; and without corruption no checksum ever failed.
  EXPECT_GT(total.dropped, 0U);
  EXPECT_GT(total.duplicated, 0U);
  EXPECT_GT(total.reordered, 0U);
  EXPECT_EQ(total.checksum_drops, 0U);
}

// Under loss, datagrams that lost a fragment must not hold the reassembler's slots for the whole
// 30 s timeout: a new datagram evicts the oldest (as Linux's evictor does), so fragmented echoes
// come back about as often as the loss itself allows (each frame meets a 5% loss at both ends'
// decorators: 0.9025 per hop; 3000 bytes make 3 fragments each way, 8000 bytes 6).
TEST(SimFaults, FragmentedTrafficSurvivesLossAsWellAsTheLossAllows) {
  std::uint64_t sent = 0, echoed = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    const auto o = run_scenario("loss=5%,seed=" + std::to_string(seed),
                                "loss=5%,seed=" + std::to_string(seed + 1000));
    sent += o.fragmented_sent;
    echoed += o.fragmented_echoed;
  }
  // 0.9025^6 = 54% and 0.9025^12 = 29%: 42% on average; at least 30%.
  EXPECT_GE(echoed * 10, sent * 3);
}

TEST(SimFaults, CorruptedFramesAreRefusedByTheChecksums) {
  Outcome total;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const std::string a = "corrupt=5%,loss=1%,reorder=2%,seed=" + std::to_string(seed);
    const std::string b = "corrupt=5%,loss=1%,dup=1%,seed=" + std::to_string(seed + 1000);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    // ARP has no checksum: a corrupted request can teach B a wrong MAC for A, which only A's
    // next ARP (its second announcement, 2 s in) corrects. So the traffic lasts 6 s here.
    const auto o = run_scenario(a, b, 50ms);
    EXPECT_GT(o.udp_echoed_once_or_more, 0U);
    total.corrupted += o.corrupted;
    total.checksum_drops += o.checksum_drops;
    total.undetectable += o.undetectable;
  }
  EXPECT_GT(total.corrupted, 0U);
  EXPECT_GT(total.checksum_drops, 0U);
  // Compensating corruptions in two fragments of one datagram are rare next to the ones the
  // checksums caught (RFC 1071's sum is blind to them; so is Linux).
  EXPECT_LT(total.undetectable * 20, total.checksum_drops);
  std::printf("corrupted frames %llu, refused by a checksum %llu, undetectable %llu\n",
              static_cast<unsigned long long>(total.corrupted),
              static_cast<unsigned long long>(total.checksum_drops),
              static_cast<unsigned long long>(total.undetectable));
}

TEST(SimFaults, TheSameSeedReplaysExactly) {
  const std::string spec_text = "loss=5%,dup=2%,reorder=5%,seed=42";
  SCOPED_TRACE("seed=42");
  const auto first = run_scenario(spec_text, spec_text);
  const auto second = run_scenario(spec_text, spec_text);
  EXPECT_GT(first.dropped, 0U);
  EXPECT_EQ(first.udp_echoed_once_or_more, second.udp_echoed_once_or_more);
  EXPECT_EQ(first.pings_answered, second.pings_answered);
  EXPECT_EQ(first.counters, second.counters);
  // And another seed does not.
  const auto other = run_scenario("loss=5%,dup=2%,reorder=5%,seed=43", spec_text);
  EXPECT_NE(first.counters, other.counters);
}

}  // namespace
}  // namespace tapir::sim
