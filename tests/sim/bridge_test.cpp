// Simulation: whole Stacks as hosts on access ports of learning bridges (IEEE 802.1Q-2018 §8),
// each host on its own MemoryWire to its bridge port, two bridges joined by a trunk that
// carries VLANs 10 and 20 tagged (§8.8.2, §9.6):
//
//        A .1 (10)   B .2 (10)   D .4 (20)                C .3 (10)   E .5 (20)
//            |           |           |                        |           |
//         port0       port1       port2                    port0       port1
//        +-----------------------------------+  trunk   +----------------------+
//        |            bridge 1         port3 |----------| port2   bridge 2     |
//        +-----------------------------------+ 10,20 T  +----------------------+
//
// Every pair in a VLAN pings each other; nothing crosses VLANs (§8.6.4: egress only to the
// VLAN's member ports); every frame on the trunk carries its VLAN's tag; once the bridge has
// learnt (§8.7), a unicast between two hosts reaches no third host's wire; with seeded loss,
// duplication and reordering on the hosts' links UDP echo still comes back exact.
#include "stack/bridge/bridge.hpp"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/wire/vlan.hpp"
#include "tests/sim/sim_apps.hpp"
#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {
namespace {

using bridge::PortConfig;
using bridge::PortId;
using bridge::PortMode;

// What a bridge put on one of its ports' wires.
struct Sent {
  MacAddress src, dst;
  std::optional<std::uint16_t> vid;  // the C-tag's VID, if tagged
  bool malformed = false;
};

// A Bridge with a device behind each port; it reads each port's device, relays through the
// bridge, and writes to the other ports' devices, logging every frame it sends per port.
class BridgeBox {
 public:
  explicit BridgeBox(std::string name) : name_(std::move(name)), br_(config()), sink_(*this) {}
  BridgeBox(const BridgeBox&) = delete;
  BridgeBox& operator=(const BridgeBox&) = delete;

  static bridge::BridgeConfig config() {
    bridge::BridgeConfig c;
    c.max_frame = 1500 + 14 + 4;
    c.seed = 99;
    return c;
  }

  PortId attach(drivers::Device& device, const PortConfig& pc) {
    auto id = br_.add_port(pc);
    EXPECT_TRUE(id) << name_ << ": add_port: " << id.error().message();
    ports_.push_back(std::make_unique<Port>(*this, device, id.value_or(0)));
    return id.value_or(0);
  }

  void step(Instant now) {
    now_ = now;
    for (auto& p : ports_) {
      for (int batch = 0; batch < 64; ++batch) {
        auto n = p->device.receive(now, *p, 64);
        if (!n) {
          ADD_FAILURE() << name_ << ": receive: " << n.error().message();
          break;
        }
        if (*n == 0) break;
      }
    }
    br_.poll(now);
  }

  Instant next_deadline() const {
    Instant t = br_.next_deadline();
    for (const auto& p : ports_)
      t = std::min(t, p->device.next_deadline());
    return t;
  }

  bridge::Bridge& bridge() { return br_; }
  const std::vector<Sent>& sent(PortId port) const { return ports_[port]->sent; }
  std::size_t sent_count(PortId port) const { return ports_[port]->sent.size(); }

 private:
  struct Port final : drivers::FrameHandler {
    Port(BridgeBox& b, drivers::Device& d, PortId i) : box(b), device(d), id(i) {}
    void on_frame(Bytes frame, Instant now) override { box.br_.receive(id, frame, now, box.sink_); }
    BridgeBox& box;
    drivers::Device& device;
    PortId id;
    std::vector<Sent> sent;
  };
  struct Sink final : bridge::PortSink {
    explicit Sink(BridgeBox& b) : box(b) {}
    void transmit(PortId port, Bytes frame) override {
      Port& p = *box.ports_.at(port);
      Sent s;
      const wire::EthernetView eth(frame);
      auto tags = wire::parse_vlan_tags(eth);
      if (!tags) {
        s.malformed = true;
      } else {
        s.src = eth.src();
        s.dst = eth.dst();
        if (tags->customer) s.vid = tags->customer->vid;
        s.malformed = tags->service.has_value();
      }
      p.sent.push_back(s);
      if (auto r = p.device.transmit(frame, box.now_); !r)
        ADD_FAILURE() << box.name_ << ": transmit: " << r.error().message();
    }
    BridgeBox& box;
  };

  std::string name_;
  bridge::Bridge br_;
  Sink sink_;
  std::vector<std::unique_ptr<Port>> ports_;
  Instant now_ = kStart;
};

struct HostSpec {
  std::string name;
  std::uint8_t last;  // MAC 02:00:00:00:00:<last>, address 10.0.0.<last>
  std::uint16_t vid;
  int box;  // 0 or 1
};

// The topology of the picture above; with `faults`, each host's end of its link is wrapped in a
// FaultyDevice seeded from `seed`.
class BridgedWorld {
 public:
  explicit BridgedWorld(bool two_bridges, std::optional<std::string> faults = std::nullopt,
                        std::uint64_t seed = 1) {
    boxes_.push_back(std::make_unique<BridgeBox>("bridge1"));
    if (two_bridges) boxes_.push_back(std::make_unique<BridgeBox>("bridge2"));
    const std::vector<HostSpec> specs =
        two_bridges ? std::vector<HostSpec>{{"A", 1, 10, 0},
                                            {"B", 2, 10, 0},
                                            {"D", 4, 20, 0},
                                            {"C", 3, 10, 1},
                                            {"E", 5, 20, 1}}
                    : std::vector<HostSpec>{{"A", 1, 10, 0}, {"B", 2, 10, 0}, {"C", 3, 10, 0}};
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const HostSpec& h = specs[i];
      auto wire = std::make_unique<drivers::MemoryWire>(World::default_wire());
      std::optional<drivers::FaultSpec> fs;
      if (faults) {
        auto parsed = drivers::FaultSpec::parse(*faults);
        EXPECT_TRUE(parsed);
        fs = parsed.value_or(drivers::FaultSpec{});
        fs->seed = seed * 100 + i;
      }
      StackConfig sc;
      sc.seed = seed * 1000 + i;
      const MacAddress mac({0x02, 0, 0, 0, 0, h.last});
      auto node = std::make_unique<Node>(h.name, wire->a(), mac,
                                         "10.0.0." + std::to_string(h.last) + "/24", fs, sc);
      const PortId port = boxes_[static_cast<std::size_t>(h.box)]->attach(
          wire->b(), PortConfig{.mode = PortMode::Access, .pvid = h.vid});
      hosts_.push_back({h, std::move(wire), std::move(node), port});
    }
    if (two_bridges) {
      trunk_wire_ = std::make_unique<drivers::MemoryWire>(World::default_wire());
      const PortConfig trunk{.mode = PortMode::Trunk, .allowed = {10, 20}};
      trunk_port_[0] = boxes_[0]->attach(trunk_wire_->a(), trunk);
      trunk_port_[1] = boxes_[1]->attach(trunk_wire_->b(), trunk);
    }
  }

  Node& host(std::string_view name) { return *find(name).node; }
  std::uint16_t vid_of(MacAddress mac) const {
    for (const auto& h : hosts_)
      if (h.spec.last == mac.octets()[5]) return h.spec.vid;
    return 0;
  }
  BridgeBox& box(int i) { return *boxes_[static_cast<std::size_t>(i)]; }
  PortId port_of(std::string_view name) { return find(name).port; }
  int box_of(std::string_view name) { return find(name).spec.box; }
  PortId trunk_port(int box) const { return trunk_port_[box]; }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& h : hosts_)
      n.push_back(h.spec.name);
    return n;
  }
  std::uint16_t vid_of(std::string_view name) { return find(name).spec.vid; }
  Instant now() const { return now_; }

  template <class App, class AppDeadline, class Done>
  RunResult run(App&& app, AppDeadline&& app_deadline, Done&& done, RunLimits limits = {}) {
    const Instant stop = now_ + limits.max_time;
    RunResult r;
    for (; r.steps < limits.max_steps; ++r.steps) {
      for (auto& h : hosts_)
        h.node->step(now_);
      for (auto& b : boxes_)
        b->step(now_);
      app(now_);
      if (done()) {
        r.done = true;
        break;
      }
      Instant next = app_deadline();
      for (auto& h : hosts_)
        next = std::min(next, h.node->next_deadline());
      for (auto& b : boxes_)
        next = std::min(next, b->next_deadline());
      if (next == kNever) break;
      if (next > now_) now_ = next;
      if (now_ > stop) break;
    }
    r.end = now_;
    return r;
  }

  // 802.1Q-2018 §8.6.4: every frame a bridge sent on an access port came from a host of that
  // port's VLAN; every frame on the trunk is tagged with its source's VLAN (§8.8.2, §9.6).
  void expect_no_leak() {
    for (const auto& h : hosts_) {
      SCOPED_TRACE(h.spec.name);
      for (const Sent& s : boxes_[static_cast<std::size_t>(h.spec.box)]->sent(h.port)) {
        EXPECT_FALSE(s.malformed);
        EXPECT_FALSE(s.vid.has_value()) << "a tagged frame on an access port";
        EXPECT_EQ(vid_of(s.src), h.spec.vid) << "from " << s.src.to_string();
      }
    }
    if (!trunk_wire_) return;
    for (int b = 0; b < 2; ++b) {
      for (const Sent& s : boxes_[static_cast<std::size_t>(b)]->sent(trunk_port_[b])) {
        ASSERT_TRUE(s.vid.has_value()) << "an untagged frame on the trunk";
        EXPECT_EQ(*s.vid, vid_of(s.src)) << "from " << s.src.to_string();
      }
    }
  }

 private:
  struct Host {
    HostSpec spec;
    std::unique_ptr<drivers::MemoryWire> wire;
    std::unique_ptr<Node> node;
    PortId port;
  };
  Host& find(std::string_view name) {
    for (auto& h : hosts_)
      if (h.spec.name == name) return h;
    ADD_FAILURE() << "no host " << name;
    return hosts_.front();
  }

  std::vector<std::unique_ptr<BridgeBox>> boxes_;
  std::vector<Host> hosts_;
  std::unique_ptr<drivers::MemoryWire> trunk_wire_;
  PortId trunk_port_[2] = {0, 0};
  Instant now_ = kStart;
};

TEST(SimBridge, AllPairsInAVlanPingAndNothingCrossesVlans) {
  // 802.1Q-2018 §8.6.3 (flooding of ARP broadcasts), §8.7 (learning), §8.6.4 and §8.8.2
  // (egress only to members, tagged on the trunk): same-VLAN pairs answer, other pairs never.
  BridgedWorld w(true);
  std::vector<std::unique_ptr<Pinger>> same, cross;
  std::vector<std::pair<std::string, std::string>> same_pairs, cross_pairs;
  int k = 0;
  for (const auto& from : w.names()) {
    for (const auto& to : w.names()) {
      if (from == to) continue;
      Node& src = w.host(from);
      const Ipv4Address dst = w.host(to).address();
      const Instant start = kStart + std::chrono::milliseconds(37 * k++);
      if (w.vid_of(from) == w.vid_of(to)) {
        same.push_back(std::make_unique<Pinger>(src.stack(), dst, 56, 3, start, 100ms));
        same_pairs.emplace_back(from, to);
      } else {
        cross.push_back(std::make_unique<Pinger>(src.stack(), dst, 56, 1, start, 100ms));
        cross_pairs.emplace_back(from, to);
      }
    }
  }
  ASSERT_EQ(same.size(), 8U);  // A, B, C in 10: 6 ordered pairs; D, E in 20: 2
  ASSERT_EQ(cross.size(), 12U);
  const auto all_done = [&] {
    for (auto& p : same)
      if (p->copies.size() < 3) return false;
    for (auto& p : cross)
      if (p->errors == 0) return false;
    return true;
  };
  const auto r = w.run(
      [&](Instant now) {
        for (auto& p : same)
          p->step(now);
        for (auto& p : cross)
          p->step(now);
      },
      [&] {
        Instant t = kNever;
        for (auto& p : same)
          t = std::min(t, p->deadline());
        for (auto& p : cross)
          t = std::min(t, p->deadline());
        return t;
      },
      all_done, RunLimits{.max_time = 30s});
  ASSERT_TRUE(r.done) << r.steps << " steps, t=" << to_micros(r.end);
  for (std::size_t i = 0; i < same.size(); ++i) {
    SCOPED_TRACE(same_pairs[i].first + " -> " + same_pairs[i].second);
    EXPECT_EQ(same[i]->bad, 0U);
    ASSERT_EQ(same[i]->copies.size(), 3U);
    for (const auto& [seq, n] : same[i]->copies)
      EXPECT_EQ(n, 1U) << seq;
  }
  for (std::size_t i = 0; i < cross.size(); ++i) {
    SCOPED_TRACE(cross_pairs[i].first + " -> " + cross_pairs[i].second);
    EXPECT_TRUE(cross[i]->copies.empty());
    EXPECT_GT(cross[i]->errors, 0U);  // ARP got no answer: host unreachable
  }
  w.expect_no_leak();
  // Both VLANs crossed the trunk, tagged.
  std::set<std::uint16_t> vids;
  for (const auto& s : w.box(0).sent(w.trunk_port(0)))
    vids.insert(s.vid.value_or(0));
  EXPECT_EQ(vids, (std::set<std::uint16_t>{10, 20}));
  for (const auto& n : w.names())
    expect_consistent(w.host(n));
}

TEST(SimBridge, AfterLearningAUnicastReachesOnlyItsDestinationsWire) {
  // 802.1Q-2018 §8.7, §8.8.9: once A and B are learnt, A's datagrams to B and B's echoes go
  // to one port each; C, in the same VLAN, sees none of them on its wire.
  BridgedWorld w(false);
  Pinger ab(w.host("A").stack(), w.host("B").address(), 56, 2, kStart, 100ms);
  Pinger ca(w.host("C").stack(), w.host("A").address(), 56, 2, kStart + 20ms, 100ms);
  auto r = w.run(
      [&](Instant now) {
        ab.step(now);
        ca.step(now);
      },
      [&] { return std::min(ab.deadline(), ca.deadline()); },
      [&] { return ab.copies.size() == 2 && ca.copies.size() == 2; });
  ASSERT_TRUE(r.done);
  BridgeBox& box = w.box(0);
  const PortId pa = w.port_of("A"), pb = w.port_of("B"), pc = w.port_of("C");
  const std::size_t to_c = box.sent_count(pc);
  const std::uint64_t c_in = w.host("C").frames_in();
  const std::size_t to_a = box.sent_count(pa), to_b = box.sent_count(pb);
  EXPECT_GT(to_c, 0U);  // C did see the ARP broadcasts of the first phase

  EchoServer server(w.host("B").stack(), 7);
  UdpClient client(w.host("A").stack(), {w.host("B").address(), 7}, {64, 512, 1472}, 200,
                   w.now() + 1ms, 1ms);
  const Instant settle = w.now() + 1s;
  r = w.run(
      [&](Instant now) {
        server.step();
        client.step(now);
      },
      [&] { return client.finished_sending() ? settle : client.deadline(); },
      [&] { return client.finished_sending() && w.now() >= settle; });
  ASSERT_TRUE(r.done);
  EXPECT_EQ(client.bad, 0U);
  EXPECT_EQ(client.order.size(), 200U);
  EXPECT_EQ(box.sent_count(pc), to_c) << "frames of A<->B reached C's wire";
  EXPECT_EQ(w.host("C").frames_in(), c_in);
  EXPECT_GE(box.sent_count(pb) - to_b, 200U);
  EXPECT_GE(box.sent_count(pa) - to_a, 200U);
  EXPECT_EQ(box.bridge().port_counters(pa).rx_filtered_same_port.value(), 0U);
  w.expect_no_leak();
}

class SimBridgeFaults : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(SimBridgeFaults, UdpEchoAcrossTheTrunkSurvivesLossDuplicationAndReordering) {
  // With seeded faults on every host link, datagrams may be lost or duplicated but never
  // altered, misdelivered or leaked into the other VLAN (§8.6.4).
  const std::uint64_t seed = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  BridgedWorld w(true, "loss=2%,dup=2%,reorder=5%,delay=1ms", seed);
  EchoServer s10(w.host("C").stack(), 7);
  EchoServer s20(w.host("E").stack(), 7);
  UdpClient c10(w.host("A").stack(), {w.host("C").address(), 7}, {32, 700, 1472}, 150, kStart, 5ms);
  UdpClient c20(w.host("D").stack(), {w.host("E").address(), 7}, {32, 700, 1472}, 150, kStart + 2ms,
                5ms);
  Instant settle = kNever;
  const auto r = w.run(
      [&](Instant now) {
        s10.step();
        s20.step();
        c10.step(now);
        c20.step(now);
        if (settle == kNever && c10.finished_sending() && c20.finished_sending()) settle = now + 2s;
      },
      [&] {
        return std::min({c10.deadline(), c20.deadline(), settle});
      },
      [&] { return w.now() >= settle; });
  ASSERT_TRUE(r.done);
  for (UdpClient* c : {&c10, &c20}) {
    EXPECT_EQ(c->bad, 0U);
    // Four faulty hops per echo at 2% loss each, and ARP may lose a first datagram or two.
    EXPECT_GE(c->copies.size(), 120U);
  }
  w.expect_no_leak();
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimBridgeFaults, ::testing::Range<std::uint64_t>(1, 6));

}  // namespace
}  // namespace tapir::sim
