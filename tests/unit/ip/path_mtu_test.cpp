// The path MTU cache alone (RFC 1191), then through the Stack: a fragmentation-needed message
// about one of our datagrams lowers what we send to that destination.
#include "stack/ip/path_mtu.hpp"

#include <gtest/gtest.h>

#include "tests/unit/stack/stack_harness.hpp"

namespace tapir::test {
namespace {

using namespace std::chrono_literals;
using ip::PathMtuCache;
using ip::PathMtuConfig;

constexpr Ipv4Address kFar(192, 0, 2, 7);
constexpr Ipv4Address kOther(192, 0, 2, 8);

// RFC 1191 §3: the estimate drops to the Next-Hop MTU and is used for that destination only.
TEST(PathMtuCache, AReportLowersTheEstimateForThatDestination) {
  PathMtuCache c(PathMtuConfig{});
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 1500U);
  EXPECT_TRUE(c.on_frag_needed(kFar, 1000, 1500, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 1000U);
  EXPECT_EQ(c.mtu(kOther, 1500, kT0), 1500U);
  EXPECT_EQ(c.mtu(kFar, 900, kT0), 900U);  // never above the link's own
  EXPECT_EQ(c.counters().lowered.value(), 1U);
}

// RFC 1191 §3: a message never raises the estimate.
TEST(PathMtuCache, AReportNeverRaisesIt) {
  PathMtuCache c(PathMtuConfig{});
  ASSERT_TRUE(c.on_frag_needed(kFar, 1000, 1500, 1500, kT0));
  EXPECT_FALSE(c.on_frag_needed(kFar, 1200, 1000, 1500, kT0));
  EXPECT_FALSE(c.on_frag_needed(kFar, 1600, 1000, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 1000U);
  EXPECT_TRUE(c.on_frag_needed(kFar, 800, 1000, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 800U);
  EXPECT_EQ(c.counters().ignored.value(), 2U);
}

// RFC 1191 §5 and §7: an old router sends no Next-Hop MTU; the plateau below the datagram that
// did not fit is taken (Table 7-1).
TEST(PathMtuCache, AnOldRoutersReportTakesThePlateauBelow) {
  EXPECT_EQ(PathMtuCache::plateau_below(1500), 1492U);
  EXPECT_EQ(PathMtuCache::plateau_below(1492), 1006U);
  EXPECT_EQ(PathMtuCache::plateau_below(65535), 32000U);
  EXPECT_EQ(PathMtuCache::plateau_below(4000), 2002U);
  PathMtuCache c(PathMtuConfig{});
  EXPECT_TRUE(c.on_frag_needed(kFar, 0, 1500, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 1492U);
}

// As Linux's min_pmtu: no report sets the estimate below 552.
TEST(PathMtuCache, ReportsBelowTheFloorSetTheFloor) {
  PathMtuCache c(PathMtuConfig{});
  EXPECT_TRUE(c.on_frag_needed(kFar, 68, 1500, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0), 552U);
  EXPECT_FALSE(c.on_frag_needed(kFar, 100, 552, 1500, kT0));
}

// RFC 1191 §6.3: an estimate ages out, so a path that grew again is used in full.
TEST(PathMtuCache, AnEstimateExpires) {
  PathMtuCache c(PathMtuConfig{});
  ASSERT_TRUE(c.on_frag_needed(kFar, 1000, 1500, 1500, kT0));
  EXPECT_EQ(c.mtu(kFar, 1500, kT0 + 10min - 1us), 1000U);
  EXPECT_EQ(c.mtu(kFar, 1500, kT0 + 10min), 1500U);
}

TEST(PathMtuCache, AFullTableReplacesTheEntryThatExpiresFirst) {
  PathMtuConfig config;
  config.capacity = 2;
  PathMtuCache c(config);
  ASSERT_TRUE(c.on_frag_needed(Ipv4Address(192, 0, 2, 1), 1000, 1500, 1500, kT0));
  ASSERT_TRUE(c.on_frag_needed(Ipv4Address(192, 0, 2, 2), 1000, 1500, 1500, kT0 + 1s));
  ASSERT_TRUE(c.on_frag_needed(Ipv4Address(192, 0, 2, 3), 1000, 1500, 1500, kT0 + 2s));
  EXPECT_EQ(c.size(), 2U);
  EXPECT_EQ(c.mtu(Ipv4Address(192, 0, 2, 1), 1500, kT0 + 2s), 1500U);  // the oldest went
  EXPECT_EQ(c.mtu(Ipv4Address(192, 0, 2, 2), 1500, kT0 + 2s), 1000U);
  EXPECT_EQ(c.mtu(Ipv4Address(192, 0, 2, 3), 1500, kT0 + 2s), 1000U);
}

// A fragmentation-needed message (RFC 1191 §4) quoting a 1500-byte datagram of ours to kPeerIp.
std::vector<std::byte> frag_needed_from_router(std::uint16_t next_hop_mtu, Ipv4Address quoted_src) {
  wire::Ipv4Repr quoted = ip_header(quoted_src, kPeerIp, wire::IpProtocol::Udp);
  quoted.dont_frag = true;
  quoted.payload_len = 1480;
  std::vector<std::byte> data(8);  // the quoted UDP header
  const wire::Icmpv4Repr msg{wire::Icmpv4Repr::DstUnreachable{
      wire::Icmpv4DstUnreachable::FragmentationNeeded, next_hop_mtu, quoted, Bytes(data)}};
  std::vector<std::byte> icmp(msg.buffer_len());
  msg.emit(wire::Icmpv4ViewMut(BytesMut(icmp)), wire::ChecksumPolicy::all());
  return to_us(ipv4_packet(ip_header(kPeerIp, kIp, wire::IpProtocol::Icmp), icmp));
}

// RFC 1191 §3: after the message, a don't-fragment socket may send at most the new MTU, and
// other datagrams to that destination leave in fragments that fit it.
TEST(StackPathMtu, FragmentationNeededLowersWhatWeSendThere) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  auto df = h.udp(5000);
  ASSERT_TRUE(df.set_dont_fragment(true));
  ASSERT_TRUE(df.send_to(std::vector<std::byte>(1472), {kPeerIp, 9}));  // fits 1500
  h.poll();
  ASSERT_EQ(h.take().size(), 1U);
  h.receive(frag_needed_from_router(1200, kIp));
  EXPECT_EQ(h.stack->path_mtu().mtu(kPeerIp, 1500, h.now), 1200U);
  EXPECT_EQ(h.count("ipv4.pmtu_lowered"), 1U);
  EXPECT_EQ(df.send_to(std::vector<std::byte>(1173), {kPeerIp, 9}).error(),
            std::errc::message_size);
  EXPECT_TRUE(df.send_to(std::vector<std::byte>(1172), {kPeerIp, 9}));
  auto plain = h.udp(5001);
  ASSERT_TRUE(plain.send_to(std::vector<std::byte>(1472), {kPeerIp, 9}));
  h.poll();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 3U);  // the 1200-byte datagram, then the other in two fragments
  for (const auto& f : sent) {
    const auto p = parse_ipv4(f);
    ASSERT_TRUE(p);
    EXPECT_LE(p->ip.buffer_len(), 1200U);
  }
}

// RFC 1191 §3: a message about a datagram we did not send changes nothing.
TEST(StackPathMtu, AMessageAboutSomeoneElsesDatagramIsIgnored) {
  Host h;
  h.learn(kPeerIp, kPeerMac);
  h.receive(frag_needed_from_router(1200, Ipv4Address(10, 0, 0, 77)));
  EXPECT_EQ(h.stack->path_mtu().mtu(kPeerIp, 1500, h.now), 1500U);
  EXPECT_EQ(h.count("ipv4.pmtu_ignored"), 1U);
}

}  // namespace
}  // namespace tapir::test
