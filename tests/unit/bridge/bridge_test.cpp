// bridge/bridge: the relay (IEEE 802.1Q-2018 §8.6) with a capturing sink and a manual clock.
// Flooding to the other member ports, forwarding to the learnt port, filtering on the ingress
// port, group sources dropped, the reserved group never relayed, VLAN classification (§6.9.1),
// ingress filtering (§8.6.2), egress tagging with exact bytes (§8.8.2, §9.6), isolation,
// native VLAN, S-tags, ageing through poll(), counters and their names, re-entrant receive().
#include "stack/bridge/bridge.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/allocations.hpp"

namespace tapir::bridge {
namespace {

using namespace std::chrono_literals;
using Frame = std::vector<std::byte>;

constexpr Instant kT0 = instant_from_micros(1'000'000);
constexpr MacAddress kA({0x02, 0, 0, 0, 0, 0x0a});
constexpr MacAddress kB({0x02, 0, 0, 0, 0, 0x0b});
constexpr MacAddress kC({0x02, 0, 0, 0, 0, 0x0c});
constexpr MacAddress kD({0x02, 0, 0, 0, 0, 0x0d});

struct Tag {
  std::uint8_t pcp = 0;
  bool dei = false;
  std::uint16_t vid = 0;
  std::uint16_t tpid = 0x8100;
};

// dst, src, [tags], EtherType 0x0800, then `payload` bytes counting up from 0x40.
Frame frame(MacAddress dst, MacAddress src, std::vector<Tag> tags = {}, std::size_t payload = 46) {
  Frame f;
  const auto put16 = [&](unsigned v) {
    f.push_back(static_cast<std::byte>(v >> 8));
    f.push_back(static_cast<std::byte>(v & 0xffU));
  };
  for (auto o : dst.octets())
    f.push_back(std::byte{o});
  for (auto o : src.octets())
    f.push_back(std::byte{o});
  for (const Tag& t : tags) {
    put16(t.tpid);
    put16((unsigned{t.pcp} << 13) | (t.dei ? 0x1000U : 0U) | t.vid);
  }
  put16(0x0800);
  for (std::size_t i = 0; i < payload; ++i)
    f.push_back(static_cast<std::byte>(0x40 + i));
  return f;
}

struct Sent {
  PortId port;
  Frame bytes;
};

class Capture final : public PortSink {
 public:
  void transmit(PortId port, Bytes f) override {
    sent.push_back({port, Frame(f.begin(), f.end())});
    if (on_transmit) on_transmit(port, f);
  }
  std::vector<PortId> ports() const {
    std::vector<PortId> p;
    for (const auto& s : sent)
      p.push_back(s.port);
    std::sort(p.begin(), p.end());
    return p;
  }
  const Frame& to(PortId port) const {
    for (const auto& s : sent)
      if (s.port == port) return s.bytes;
    static const Frame none;
    ADD_FAILURE() << "nothing sent to port " << port;
    return none;
  }
  void clear() { sent.clear(); }

  std::vector<Sent> sent;
  std::function<void(PortId, Bytes)> on_transmit;
};

PortConfig access(std::uint16_t vid) {
  return {.mode = PortMode::Access, .pvid = vid};
}
PortConfig trunk(std::vector<std::uint16_t> vids, std::optional<std::uint16_t> native = {}) {
  return {.mode = PortMode::Trunk, .allowed = std::move(vids), .native = native};
}

struct Fixture {
  explicit Fixture(std::vector<PortConfig> ports, BridgeConfig config = {}) : br(config) {
    for (const auto& p : ports) {
      auto id = br.add_port(p);
      EXPECT_TRUE(id) << id.error().message();
    }
  }
  void rx(PortId port, const Frame& f, Instant now = kT0) { br.receive(port, f, now, sink); }
  Bridge br;
  Capture sink;
};

std::uint64_t counter(const Bridge& br, std::string_view name) {
  std::optional<std::uint64_t> v;
  br.for_each_counter([&](std::string_view n, const Counter& c) {
    if (n == name) v = c.value();
  });
  EXPECT_TRUE(v) << "no counter " << name;
  return v.value_or(0);
}

// ---- Configuration -----------------------------------------------------------------------------

TEST(Bridge, AddPortChecksVidsAndTheLimit) {
  // 802.1Q-2018 §6.9: VIDs 1..4094; 0 is the priority tag, 4095 reserved.
  Bridge br(BridgeConfig{.max_ports = 2});
  EXPECT_EQ(br.add_port(access(0)).error(), Errc::invalid_argument);
  EXPECT_EQ(br.add_port(access(4095)).error(), Errc::invalid_argument);
  EXPECT_EQ(br.add_port(trunk({})).error(), Errc::invalid_argument);
  EXPECT_EQ(br.add_port(trunk({10, 4095})).error(), Errc::invalid_argument);
  EXPECT_EQ(br.add_port(trunk({10}, 0)).error(), Errc::invalid_argument);
  EXPECT_EQ(br.add_port(access(10)).value(), 0);
  EXPECT_EQ(br.add_port(trunk({}, 5)).value(), 1);  // a trunk with only a native VLAN
  EXPECT_EQ(br.add_port(access(10)).error(), Errc::no_buffer_space);
  EXPECT_EQ(br.port_count(), 2U);
  EXPECT_TRUE(br.is_member(0, 10));
  EXPECT_FALSE(br.is_member(0, 1));
  EXPECT_TRUE(br.is_member(1, 5));
  EXPECT_FALSE(br.is_member(7, 5));
}

// ---- Flooding, learning, forwarding, filtering -------------------------------------------------

TEST(Bridge, UnknownUnicastIsFloodedToEveryOtherMemberPort) {
  // 802.1Q-2018 §8.6.3, §8.8.6: an unknown destination goes to every port of the VLAN but the
  // reception port.
  Fixture fx({access(1), access(1), access(1), access(2)});
  fx.rx(0, frame(kB, kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1, 2}));
  EXPECT_EQ(fx.sink.to(1), frame(kB, kA));  // untagged in, untagged out: the same bytes
  EXPECT_EQ(fx.br.port_counters(1).tx_flooded.value(), 1U);
  EXPECT_EQ(fx.br.port_counters(3).tx_frames.value(), 0U);
}

TEST(Bridge, BroadcastAndMulticastAreFloodedNeverBackToTheIngressPort) {
  // 802.1Q-2018 §8.6.3: group destinations go to every other member port.
  Fixture fx({access(1), access(1), access(1)});
  fx.rx(1, frame(MacAddress::broadcast(), kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{0, 2}));
  fx.sink.clear();
  fx.rx(2, frame(MacAddress({0x01, 0x00, 0x5e, 0, 0, 1}), kB));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{0, 1}));
}

TEST(Bridge, ALearntDestinationGoesToItsPortOnly) {
  // 802.1Q-2018 §8.7 (learning) and §8.8.9 (the FDB names one port for a known unicast).
  Fixture fx({access(1), access(1), access(1)});
  fx.rx(1, frame(kA, kB));  // learns B on 1
  fx.sink.clear();
  fx.rx(0, frame(kB, kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1}));
  EXPECT_EQ(fx.br.port_counters(1).tx_flooded.value(), 0U);
  EXPECT_EQ(counter(fx.br, "bridge.fdb_learned"), 2U);
  EXPECT_EQ(fx.br.fdb_size(), 2U);
}

TEST(Bridge, AFrameForAStationOnTheIngressPortIsFiltered) {
  // 802.1Q-2018 §8.6.3: the reception port is never a transmission port.
  Fixture fx({access(1), access(1)});
  fx.rx(0, frame(kA, kB));  // B on 0
  fx.sink.clear();
  fx.rx(0, frame(kB, kC));
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_filtered_same_port.value(), 1U);
}

TEST(Bridge, AStationThatMovesIsRelearntOnItsNewPort) {
  // 802.1Q-2018 §8.7: the entry follows the source.
  Fixture fx({access(1), access(1), access(1)});
  fx.rx(1, frame(kA, kB));
  fx.rx(2, frame(kA, kB), kT0 + 1s);  // B moved to 2
  EXPECT_EQ(fx.br.counters().fdb_moved.value(), 1U);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA), kT0 + 2s);
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{2}));
}

TEST(Bridge, AGroupSourceIsDroppedAndNotLearnt) {
  // IEEE 802.3 §3.2.3: a source address is an individual address (its first bit is 0).
  Fixture fx({access(1), access(1)});
  fx.rx(0, frame(kB, MacAddress({0x01, 0, 0x5e, 0, 0, 9})));
  fx.rx(0, frame(kB, MacAddress::broadcast()));
  fx.rx(0, frame(kB, MacAddress{}));
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_bad_src.value(), 3U);
  EXPECT_EQ(fx.br.fdb_size(), 0U);
}

TEST(Bridge, TheReservedGroupIsNeverRelayed) {
  // 802.1Q-2018 §8.6.3, Table 8-1: 01-80-C2-00-00-00..0F are never forwarded.
  Fixture fx({access(1), access(1)});
  for (std::uint8_t last = 0; last <= 0x0f; ++last)
    fx.rx(0, frame(MacAddress({0x01, 0x80, 0xc2, 0, 0, last}), kA));
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_reserved.value(), 16U);
  EXPECT_EQ(fx.br.fdb_size(), 0U);
  // Just past the range (01-80-C2-00-00-10, the all-bridges group of old) is flooded.
  fx.rx(0, frame(MacAddress({0x01, 0x80, 0xc2, 0, 0, 0x10}), kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1}));
}

TEST(Bridge, ShortAndOversizeFramesAreDroppedAndCounted) {
  Fixture fx({access(1), access(1)}, BridgeConfig{.max_frame = 100});
  Frame f = frame(kB, kA);
  fx.rx(0, Frame(f.begin(), f.begin() + 13));
  fx.rx(0, Frame{});
  // A tag cut short.
  Frame t = frame(kB, kA, {{.vid = 1}});
  fx.rx(0, Frame(t.begin(), t.begin() + 16));
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_malformed.value(), 3U);
  fx.rx(0, frame(kB, kA, {}, 100 - 14 + 1));
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_oversize.value(), 1U);
  fx.rx(0, frame(kB, kA, {}, 100 - 14));
  EXPECT_EQ(fx.sink.sent.size(), 1U);
  EXPECT_EQ(fx.br.port_counters(0).rx_frames.value(), 5U);
}

// ---- VLANs -------------------------------------------------------------------------------------

TEST(Bridge, FramesNeverCrossVlans) {
  // 802.1Q-2018 §8.6.4: egress only to members of the frame's VLAN; learning is per VLAN
  // (§8.8.7), so a station learnt in 10 is unknown in 20.
  Fixture fx({access(10), access(10), access(20), access(20), trunk({10, 20})});
  fx.rx(0, frame(MacAddress::broadcast(), kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1, 4}));
  fx.sink.clear();
  fx.rx(2, frame(kA, kC));  // A is known in 10, not in 20: flooded in 20 only
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{3, 4}));
}

TEST(Bridge, AccessIngressTakesThePvidAndTrunkEgressInsertsTheTag) {
  // 802.1Q-2018 §6.9.1: untagged -> PVID; §8.8.2, §9.6: a trunk sends VLAN 10 tagged, with
  // PCP 0 for a frame that came untagged. Exact bytes: the tag after the source address.
  Fixture fx({access(10), trunk({10, 20})});
  fx.rx(0, frame(kB, kA));
  ASSERT_EQ(fx.sink.sent.size(), 1U);
  EXPECT_EQ(fx.sink.to(1), frame(kB, kA, {{.pcp = 0, .vid = 10}}));
  EXPECT_EQ(fx.sink.to(1).size(), frame(kB, kA).size() + 4);
}

TEST(Bridge, TrunkIngressTakesTheTagsVidAndAccessEgressRemovesTheTag) {
  // 802.1Q-2018 §6.9.1: a VID-tagged frame belongs to its VID; §8.8.2: access egress untagged.
  Fixture fx({access(10), trunk({10, 20}), access(20)});
  fx.rx(1, frame(kB, kA, {{.pcp = 5, .dei = true, .vid = 20}}));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{2}));
  EXPECT_EQ(fx.sink.to(2), frame(kB, kA));
}

TEST(Bridge, TrunkToTrunkKeepsTheTagWithItsPcpAndDei) {
  // 802.1Q-2018 §6.9.1, §9.6: a tagged frame relayed tagged carries its PCP and DEI unchanged.
  Fixture fx({trunk({10, 20}), trunk({20, 30})});
  const Frame in = frame(kB, kA, {{.pcp = 6, .dei = true, .vid = 20}});
  fx.rx(0, in);
  EXPECT_EQ(fx.sink.to(1), in);
}

TEST(Bridge, APriorityTaggedFrameTakesThePvidAndKeepsItsPcp) {
  // 802.1Q-2018 §6.9.1: VID 0 is a priority tag: the frame is the port's PVID, and the tag's
  // PCP and DEI go with it.
  Fixture fx({access(10), trunk({10}), access(10)});
  fx.rx(0, frame(kB, kA, {{.pcp = 3, .dei = true, .vid = 0}}));
  EXPECT_EQ(fx.sink.to(1), frame(kB, kA, {{.pcp = 3, .dei = true, .vid = 10}}));
  EXPECT_EQ(fx.sink.to(2), frame(kB, kA));
}

TEST(Bridge, ATaggedFrameForTheAccessVlanIsAcceptedOtherVidsAreNot) {
  // 802.1Q-2018 §8.6.2: ingress filtering: a tagged frame of a VID the port is not a member
  // of is discarded; its own VID is a member.
  Fixture fx({access(10), access(10)});
  fx.rx(0, frame(kB, kA, {{.vid = 20}}));
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_vlan.value(), 1U);
  EXPECT_EQ(fx.br.fdb_size(), 0U);
  fx.rx(0, frame(kB, kA, {{.pcp = 1, .vid = 10}}));
  EXPECT_EQ(fx.sink.to(1), frame(kB, kA));
}

TEST(Bridge, TrunkIngressFiltersVidsNotAllowedAndUntaggedWithoutNative) {
  // 802.1Q-2018 §8.6.2 and §6.9.1: a trunk with no native VLAN has no PVID; untagged and
  // priority-tagged frames are discarded, as are tags outside its member set.
  Fixture fx({trunk({10}), access(10)});
  fx.rx(0, frame(kB, kA));
  fx.rx(0, frame(kB, kA, {{.vid = 0}}));
  fx.rx(0, frame(kB, kA, {{.vid = 11}}));
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_vlan.value(), 3U);
}

TEST(Bridge, TheNativeVlanEntersAndLeavesATrunkUntagged) {
  // 802.1Q-2018 §6.9.1 (a trunk's PVID) and §8.8.2 (the native VID in its untagged set).
  Fixture fx({trunk({10, 20}, 1), access(1), trunk({1, 20}), trunk({20}, 1)});
  fx.rx(0, frame(MacAddress::broadcast(), kA));  // untagged on a trunk with native 1
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1, 2, 3}));
  EXPECT_EQ(fx.sink.to(1), frame(MacAddress::broadcast(), kA));
  EXPECT_EQ(fx.sink.to(2), frame(MacAddress::broadcast(), kA, {{.vid = 1}}));  // tagged there
  EXPECT_EQ(fx.sink.to(3), frame(MacAddress::broadcast(), kA));
  fx.sink.clear();
  // Tagged with the native VID on ingress: accepted, and untagged where native.
  fx.rx(2, frame(MacAddress::broadcast(), kB, {{.pcp = 2, .vid = 1}}));
  EXPECT_EQ(fx.sink.to(0), frame(MacAddress::broadcast(), kB));
  EXPECT_EQ(fx.sink.to(1), frame(MacAddress::broadcast(), kB));
}

TEST(Bridge, UntaggingAMinimumSizeFramePadsItBackTo60Bytes) {
  // IEEE 802.3 §4.2.3.3: a 64-byte tagged frame is 60 bytes once untagged (4 bytes of
  // payload padded with zeros); a frame already under 60 is not padded.
  Fixture fx({trunk({10}), access(10)});
  fx.rx(0, frame(kB, kA, {{.vid = 10}}, 44));  // 12 + 4 + 2 + 44 = 62 bytes
  Frame want = frame(kB, kA, {}, 44);          // 58 bytes untagged
  want.resize(60, std::byte{0});
  EXPECT_EQ(fx.sink.to(1), want);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA, {{.vid = 10}}, 20));  // 38 bytes: a TAP's unpadded frame
  EXPECT_EQ(fx.sink.to(1), frame(kB, kA, {}, 20));
}

TEST(Bridge, TaggingPastMaxFrameIsDroppedForThatPortOnly) {
  Fixture fx({access(10), trunk({10}), access(10)}, BridgeConfig{.max_frame = 100});
  fx.rx(0, frame(MacAddress::broadcast(), kA, {}, 100 - 14));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{2}));
  EXPECT_EQ(fx.br.port_counters(1).tx_dropped_oversize.value(), 1U);
}

TEST(Bridge, ServiceTaggedFramesAreDroppedAsUnsupported) {
  // 802.1Q-2018 §9.5, Table 9-1: TPID 0x88a8 is an S-tag; a C-VLAN bridge does not relay it.
  Fixture fx({trunk({10}), trunk({10})});
  fx.rx(0, frame(kB, kA, {{.vid = 10, .tpid = 0x88a8}}));
  fx.rx(0, frame(kB, kA, {{.vid = 10, .tpid = 0x88a8}, {.vid = 10}}));
  fx.rx(0, frame(kB, kA, {{.vid = 10}, {.vid = 10}}));  // a tag inside a C-tag
  EXPECT_TRUE(fx.sink.sent.empty());
  EXPECT_EQ(fx.br.port_counters(0).rx_dropped_malformed.value(), 3U);
}

// ---- FDB through the bridge --------------------------------------------------------------------

TEST(Bridge, EntriesAgeOutThroughPollAndNextDeadlineSaysWhen) {
  // 802.1Q-2018 §8.8.3: present at 299 s, gone at 300 s; the destination is flooded again.
  Fixture fx({access(1), access(1), access(1)});
  fx.rx(1, frame(kA, kB));
  EXPECT_EQ(fx.br.next_deadline(), kT0 + 300s);
  fx.br.poll(kT0 + 299s);
  EXPECT_EQ(fx.br.fdb_size(), 1U);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA), kT0 + 299s);
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1}));
  fx.br.poll(kT0 + 300s);
  // B aged; A (seen at 299 s) stays.
  EXPECT_EQ(fx.br.fdb_size(), 1U);
  EXPECT_EQ(fx.br.counters().fdb_aged.value(), 1U);
  EXPECT_EQ(fx.br.next_deadline(), kT0 + 599s);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA), kT0 + 300s);
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1, 2}));
}

TEST(Bridge, SetAgeingChangesWhenEntriesGo) {
  // 802.1Q-2018 §8.8.3: the ageing time is configurable.
  Fixture fx({access(1), access(1)}, BridgeConfig{.ageing = 30s});
  fx.rx(0, frame(kB, kA));
  EXPECT_EQ(fx.br.next_deadline(), kT0 + 30s);
  fx.br.set_ageing(10s);
  EXPECT_EQ(fx.br.next_deadline(), kT0 + 10s);
  fx.br.poll(kT0 + 10s);
  EXPECT_EQ(fx.br.fdb_size(), 0U);
}

TEST(Bridge, AStaticEntryForwardsAndIsNotMovedByLearning) {
  // 802.1Q-2018 §8.8.1: static filtering entries; learning leaves them alone.
  Fixture fx({access(1), access(1), access(1), access(2)});
  EXPECT_EQ(fx.br.add_static(kB, 2, 2).error(), Errc::invalid_argument);  // 2 not in VLAN 2
  EXPECT_EQ(fx.br.add_static(MacAddress::broadcast(), 1, 2).error(), Errc::invalid_argument);
  EXPECT_EQ(fx.br.add_static(kB, 1, 9).error(), Errc::invalid_argument);
  EXPECT_EQ(fx.br.add_static(kB, 0, 2).error(), Errc::invalid_argument);
  ASSERT_TRUE(fx.br.add_static(kB, 1, 2));
  fx.rx(1, frame(kA, kB));  // B seen on 1: the static entry stays on 2
  EXPECT_EQ(fx.br.counters().fdb_moved.value(), 0U);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA), kT0 + 100000s);
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{2}));
  std::vector<FdbEntry> all;
  fx.br.for_each_entry([&](const FdbEntry& e) { all.push_back(e); });
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.mac < y.mac; });
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0], (FdbEntry{kA, 1, 0, false, kT0 + 100000s}));
  EXPECT_EQ(all[1], (FdbEntry{kB, 1, 2, true, Instant{}}));
  // flush_port leaves static entries alone.
  fx.br.flush_port(2);
  fx.br.flush_port(0);
  EXPECT_EQ(fx.br.fdb_size(), 1U);
}

TEST(Bridge, FullFdbFloodsNewSourcesAndKnownOnesStillForward) {
  // The capacity policy (fdb.hpp): a new source is not learnt while the table is full.
  Fixture fx({access(1), access(1), access(1)}, BridgeConfig{.fdb_capacity = 2});
  fx.rx(0, frame(kC, kA));
  fx.rx(1, frame(kC, kB));
  fx.rx(2, frame(kA, kD));  // D not learnt
  EXPECT_EQ(fx.br.fdb_size(), 2U);
  EXPECT_EQ(counter(fx.br, "bridge.fdb_full"), 1U);
  fx.sink.clear();
  fx.rx(0, frame(kB, kA));
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1}));
  fx.sink.clear();
  fx.rx(0, frame(kD, kA));  // unknown: flooded
  EXPECT_EQ(fx.sink.ports(), (std::vector<PortId>{1, 2}));
}

// ---- Re-entrancy and allocation ---------------------------------------------------------------

TEST(Bridge, AReplyFromInsideTransmitIsRelayedAndDoesNotClobberTheFrameBeingSent) {
  // The host stack behind port 1 answers at once, from inside transmit(): the nested
  // receive() relays its reply (retagged, through its own scratch frame), and the flood of the
  // outer frame goes on to the ports after it with the outer frame's bytes intact.
  Fixture fx({trunk({10}), access(10), trunk({10}), access(10)});
  const Frame outer = frame(MacAddress::broadcast(), kA, {{.pcp = 4, .vid = 10}});
  const Frame reply = frame(kA, kB, {}, 50);
  bool replied = false;
  fx.sink.on_transmit = [&](PortId port, Bytes) {
    if (port == 1 && !replied) {
      replied = true;
      fx.br.receive(1, reply, kT0, fx.sink);
    }
  };
  fx.rx(0, outer);
  ASSERT_TRUE(replied);
  // Order: outer to 1, then the reply (A is known on 0) to 0 only, then outer to 2 and 3.
  ASSERT_EQ(fx.sink.sent.size(), 4U);
  EXPECT_EQ(fx.sink.sent[0].port, 1);
  EXPECT_EQ(fx.sink.sent[0].bytes, frame(MacAddress::broadcast(), kA));
  EXPECT_EQ(fx.sink.sent[1].port, 0);
  EXPECT_EQ(fx.sink.sent[1].bytes, frame(kA, kB, {{.vid = 10}}, 50));
  EXPECT_EQ(fx.sink.sent[2].port, 2);
  EXPECT_EQ(fx.sink.sent[2].bytes, outer);
  EXPECT_EQ(fx.sink.sent[3].port, 3);
  EXPECT_EQ(fx.sink.sent[3].bytes, frame(MacAddress::broadcast(), kA));
}

TEST(Bridge, TheFrameHandedToTransmitStaysIntactThroughANestedReceive) {
  // The untagged variant of a tagged frame lives in scratch; a nested receive() that also
  // untags must not overwrite it while the outer transmit() is still reading it.
  Fixture fx({trunk({10}), access(10), access(10)});
  const Frame outer = frame(MacAddress::broadcast(), kA, {{.vid = 10}}, 46);
  const Frame inner = frame(MacAddress::broadcast(), kC, {{.vid = 10}}, 80);
  int nested = 0;
  std::vector<Frame> seen_after;
  fx.sink.on_transmit = [&](PortId port, Bytes f) {
    if (port == 1 && nested == 0) {
      ++nested;
      fx.br.receive(0, inner, kT0, fx.sink);
      seen_after.emplace_back(f.begin(), f.end());  // the outer frame, read after the nesting
    }
  };
  fx.rx(0, outer);
  ASSERT_EQ(seen_after.size(), 1U);
  EXPECT_EQ(seen_after[0], frame(MacAddress::broadcast(), kA, {}, 46));
}

TEST(Bridge, NestingPastTheLimitIsDroppedAndCounted) {
  // A sink that always answers from inside transmit() cannot recurse without bound.
  Fixture fx({access(1), access(1)});
  fx.sink.on_transmit = [&](PortId port, Bytes) {
    fx.br.receive(port, frame(MacAddress::broadcast(), port == 0 ? kA : kB), kT0, fx.sink);
  };
  fx.rx(0, frame(MacAddress::broadcast(), kA));
  EXPECT_EQ(fx.sink.sent.size(), Bridge::kMaxDepth);
  EXPECT_EQ(fx.br.counters().rx_nested_too_deep.value(), 1U);
}

TEST(Bridge, RelayingAllocatesNothing) {
  // DESIGN.md "Memory": forwarding to N ports, tagging and untagging, learning and ageing
  // allocate nothing after construction.
  Fixture fx({access(10), trunk({10, 20}), access(10), trunk({10}, 10)});
  struct Null final : PortSink {
    void transmit(PortId, Bytes) override { ++n; }
    std::size_t n = 0;
  } sink;
  const Frame bc = frame(MacAddress::broadcast(), kA);
  const Frame tagged = frame(kA, kB, {{.pcp = 1, .vid = 10}});
  const Frame uni = frame(kB, kA);
  const std::size_t before = test::allocations();
  for (int i = 0; i < 100; ++i) {
    const Instant t = kT0 + std::chrono::seconds(i * 10);
    fx.br.receive(0, bc, t, sink);
    fx.br.receive(1, tagged, t, sink);
    fx.br.receive(0, uni, t, sink);
    fx.br.poll(t);
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_GT(sink.n, 300U);
}

// ---- Counters ----------------------------------------------------------------------------------

TEST(Bridge, CountersHaveStableNamesThatOutliveTheCall) {
  Fixture fx({access(1), access(1)});
  fx.rx(0, frame(kB, kA));
  std::vector<std::pair<std::string_view, std::uint64_t>> seen;
  fx.br.for_each_counter(
      [&](std::string_view n, const Counter& c) { seen.emplace_back(n, c.value()); });
  ASSERT_EQ(seen.size(), 6U + 2U * 12U);
  std::map<std::string, std::uint64_t> by_name;
  for (const auto& [n, v] : seen)
    by_name[std::string(n)] = v;  // the views are still valid here
  EXPECT_EQ(by_name.size(), seen.size());
  EXPECT_EQ(by_name["bridge.fdb_learned"], 1U);
  EXPECT_EQ(by_name["bridge.port0.rx_frames"], 1U);
  EXPECT_EQ(by_name["bridge.port0.rx_bytes"], 60U);
  EXPECT_EQ(by_name["bridge.port1.tx_frames"], 1U);
  EXPECT_EQ(by_name["bridge.port1.tx_flooded"], 1U);
  EXPECT_TRUE(by_name.count("bridge.port1.rx_dropped_reserved"));
  // The same views on a second call: precomputed, not formatted per call.
  std::size_t i = 0;
  fx.br.for_each_counter([&](std::string_view n, const Counter&) {
    EXPECT_EQ(n.data(), seen[i].first.data());
    ++i;
  });
  fx.br.receive(9, frame(kB, kA), kT0, fx.sink);
  EXPECT_EQ(counter(fx.br, "bridge.rx_unknown_port"), 1U);
  EXPECT_EQ(fx.br.port_counters(9).rx_frames.value(), 0U);
}

}  // namespace
}  // namespace tapir::bridge
