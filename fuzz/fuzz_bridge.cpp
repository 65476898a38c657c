// The learning bridge (IEEE 802.1Q-2018 §8) under frames from arbitrary ports at arbitrary
// times, with a few port configurations chosen by the input. The input is read as decisions
// (FuzzInput: a short input is a short run):
//
//   [u8 fdb capacity] [u8 max_frame] [u8 ports] then per port [u8 config]
//   then ops: [u8 op] ...
//     frame   [u8 port] [u16 delay_ms] [u8 shape] ... a frame built from a small set of
//             addresses and tags (so learning, moves and VLANs collide), or raw bytes
//     nest    like frame, but sent from inside the next transmit() (the host stack answering)
//     poll    [u16 delay_ms]
//     manage  [u8 what] add_static / flush_port / set_ageing
//
// Invariants, on every transmit: never to the ingress port, only to a port of the frame's
// classified VLAN (worked out here from the port configs, not asked of the bridge), at most
// once per port per frame, tagged exactly when the port's mode says so, with the VID of the
// classification and the PCP/DEI the frame came with, and the rest of the bytes those of the
// frame that came in (the tag added or removed, padding zeros only); never a frame the bridge
// had to drop (bad source, reserved group, a VID the port is not in, an S-tag). After every op:
// fdb_size() within capacity and equal to the entries listed, every learnt entry on a member
// port of its VID, next_deadline() after the last poll's time, and the tx counters equal to the
// frames the sink saw.
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_input.hpp"
#include "stack/bridge/bridge.hpp"
#include "stack/wire/ethernet.hpp"
#include "stack/wire/vlan.hpp"

using namespace tapir;
using namespace tapir::bridge;

namespace {

constexpr std::size_t kMaxPorts = 6;

struct Model {
  PortMode mode = PortMode::Access;
  std::bitset<4096> member;
  std::optional<std::uint16_t> pvid;  // access: pvid; trunk: native
};

// What the bridge must do with one frame, worked out independently.
struct Expect {
  bool relay = false;
  std::uint16_t vid = 0;
  std::uint8_t pcp = 0;
  bool dei = false;
  std::vector<std::byte> inner;  // the frame without any tag
};

MacAddress pick_mac(std::uint8_t n) {
  switch (n % 12) {
    case 8:
      return MacAddress::broadcast();
    case 9:
      return MacAddress({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01});
    case 10:
      return MacAddress({0x01, 0x80, 0xc2, 0x00, 0x00, static_cast<std::uint8_t>(n >> 4)});
    case 11:
      return MacAddress{};
    default:
      return MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(n % 12)});
  }
}

std::uint16_t pick_vid(std::uint8_t n) {
  constexpr std::array<std::uint16_t, 8> kVids = {0, 1, 2, 3, 1, 2, 4, 0xfff};
  return kVids[n % kVids.size()];
}

std::vector<std::byte> make_frame(fuzz::FuzzInput& in) {
  const std::uint8_t shape = in.u8();
  std::vector<std::byte> f;
  if ((shape & 0x80U) != 0) {  // raw bytes
    const std::size_t len = in.u8() % 80;
    for (std::size_t i = 0; i < len; ++i)
      f.push_back(std::byte{in.u8()});
    return f;
  }
  const auto put16 = [&](unsigned v) {
    f.push_back(static_cast<std::byte>(v >> 8));
    f.push_back(static_cast<std::byte>(v & 0xffU));
  };
  const MacAddress dst = pick_mac(in.u8());
  const MacAddress src = pick_mac(in.u8());
  for (auto o : dst.octets())
    f.push_back(std::byte{o});
  for (auto o : src.octets())
    f.push_back(std::byte{o});
  const unsigned tags = shape % 5;  // none, C, S, S+C, C+C
  const auto tag = [&](unsigned tpid) {
    put16(tpid);
    const std::uint8_t t = in.u8();
    put16((unsigned{t} >> 5) << 13 | ((t & 0x10U) != 0 ? 0x1000U : 0U) | pick_vid(t));
  };
  if (tags == 1 || tags == 4) tag(0x8100);
  if (tags == 2 || tags == 3) tag(0x88a8);
  if (tags == 3 || tags == 4) tag(0x8100);
  put16((shape & 0x40U) != 0 ? 0x0806 : 0x0800);
  // Payload: a length class that reaches the padding and max_frame boundaries.
  constexpr std::array<std::size_t, 8> kLens = {0, 20, 42, 44, 46, 60, 100, 1500};
  const std::size_t len = kLens[(shape >> 3) % kLens.size()] + (in.u8() % 4);
  for (std::size_t i = 0; i < len; ++i)
    f.push_back(static_cast<std::byte>(i * 7 + 1));
  return f;
}

class Harness final : public PortSink {
 public:
  explicit Harness(fuzz::FuzzInput& in) : in_(in), cfg_(config(in)), br_(cfg_) {
    stack_.reserve(Bridge::kMaxDepth + 2);  // a Context& stays valid across a nested send()
    const std::size_t nports = 2 + in.u8() % (kMaxPorts - 1);
    for (std::size_t i = 0; i < nports; ++i) {
      const std::uint8_t c = in.u8();
      PortConfig pc;
      Model m;
      if ((c & 1U) == 0) {
        pc.mode = PortMode::Access;
        pc.pvid = static_cast<std::uint16_t>(1 + (c >> 1) % 3);
        m.member.set(pc.pvid);
        m.pvid = pc.pvid;
      } else {
        pc.mode = PortMode::Trunk;
        m.mode = PortMode::Trunk;
        for (std::uint16_t v = 1; v <= 3; ++v)
          if ((c >> v) & 1U) {
            pc.allowed.push_back(v);
            m.member.set(v);
          }
        if (const unsigned n = (c >> 4) & 3U; n != 0) {
          pc.native = static_cast<std::uint16_t>(n);
          m.member.set(n);
          m.pvid = pc.native;
        }
        if (pc.allowed.empty() && !pc.native) {
          pc.allowed.push_back(1);
          m.member.set(1);
        }
      }
      auto id = br_.add_port(pc);
      FUZZ_CHECK(id && *id == i);
      models_.push_back(m);
    }
  }

  static BridgeConfig config(fuzz::FuzzInput& in) {
    BridgeConfig c;
    c.max_ports = kMaxPorts;
    c.fdb_capacity = 1 + in.u8() % 16;
    c.max_frame = 64 + in.u8() * 8U;
    c.seed = 5;
    return c;
  }

  void run() {
    for (int ops = 0; ops < 2000 && !in_.empty(); ++ops) {
      const std::uint8_t op = in_.u8();
      switch (op % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4: {
          const auto port = static_cast<PortId>(in_.u8() % (models_.size() + 1));
          now_ += std::chrono::milliseconds(in_.u16());
          send(port, make_frame(in_));
          break;
        }
        case 5: {  // a frame to send from inside the next transmit()
          nested_port_ = static_cast<PortId>(in_.u8() % models_.size());
          nested_ = make_frame(in_);
          break;
        }
        case 6:
          now_ += std::chrono::milliseconds(in_.u16());
          br_.poll(now_);
          polled_ = now_;
          FUZZ_CHECK(br_.next_deadline() > polled_);
          break;
        default:
          manage();
          break;
      }
      check_state();
    }
    // The clock runs out: every learnt entry ages away.
    for (int i = 0; i < 4 && br_.next_deadline() != kNever; ++i) {
      now_ = std::max(now_, br_.next_deadline());
      br_.poll(now_);
      FUZZ_CHECK(br_.next_deadline() > now_);
    }
    check_state();
  }

  void transmit(PortId port, Bytes frame) override {
    FUZZ_CHECK(!stack_.empty());
    Context& ctx = stack_.back();
    ++sent_;
    FUZZ_CHECK(port < models_.size());
    // Never back to the ingress port (802.1Q-2018 §8.6.3).
    FUZZ_CHECK(port != ctx.in);
    FUZZ_CHECK(ctx.expect.relay);
    // Only to members of the frame's VLAN (§8.6.4), once each.
    FUZZ_CHECK(models_[port].member.test(ctx.expect.vid));
    FUZZ_CHECK(!ctx.seen.test(port));
    ctx.seen.set(port);
    check_egress(port, frame, ctx.expect);
    if (nested_) {
      auto f = std::move(*nested_);
      nested_.reset();
      send(nested_port_, f);
    }
    // The frame is still what it was after the nested receive() (no scratch clobbered).
    check_egress(port, frame, ctx.expect);
  }

 private:
  struct Context {
    PortId in;
    Expect expect;
    std::bitset<kMaxPorts> seen;
  };

  void send(PortId port, const std::vector<std::byte>& f) {
    Context ctx{port, classify(port, f), {}};
    if (stack_.size() >= Bridge::kMaxDepth) ctx.expect.relay = false;
    stack_.push_back(std::move(ctx));
    br_.receive(port, f, now_, *this);
    const Context done = std::move(stack_.back());
    stack_.pop_back();
    // A group destination reaches every other member port of its VLAN (§8.6.3), except where
    // the tag would not fit in max_frame.
    if (done.expect.relay && (load_u8(f, 0) & 1U) != 0) {
      std::bitset<kMaxPorts> want;
      for (PortId p = 0; p < models_.size(); ++p) {
        const Model& m = models_[p];
        if (p == port || !m.member.test(done.expect.vid)) continue;
        const bool tagged = m.mode == PortMode::Trunk && !(m.pvid && *m.pvid == done.expect.vid);
        if (tagged && done.expect.inner.size() + 4 > cfg_.max_frame) continue;
        want.set(p);
      }
      FUZZ_CHECK(done.seen == want);
    }
  }

  // The rules of bridge.hpp, written out again from the standard.
  Expect classify(PortId port, const std::vector<std::byte>& f) const {
    Expect e;
    if (port >= models_.size() || f.size() > cfg_.max_frame) return e;
    const wire::EthernetView eth(f);
    auto tags = wire::parse_vlan_tags(eth);
    if (!tags || tags->service) return e;
    if (eth.src().is_multicast() || eth.src().is_zero()) return e;
    const Model& m = models_[port];
    std::uint16_t vid = 0;
    if (tags->customer && tags->customer->vid != 0) {
      vid = tags->customer->vid;
    } else if (m.pvid) {
      vid = *m.pvid;
    } else {
      return e;
    }
    if (!m.member.test(vid)) return e;
    const auto d = eth.dst().octets();
    if (d[0] == 0x01 && d[1] == 0x80 && d[2] == 0xc2 && d[3] == 0 && d[4] == 0 && d[5] < 0x10)
      return e;
    e.relay = true;
    e.vid = vid;
    if (tags->customer) {
      e.pcp = tags->customer->pcp;
      e.dei = tags->customer->dei;
    }
    e.inner.assign(f.begin(), f.begin() + 12);
    e.inner.insert(e.inner.end(), f.begin() + static_cast<std::ptrdiff_t>(tags->payload_offset) - 2,
                   f.end());
    return e;
  }

  void check_egress(PortId port, Bytes frame, const Expect& e) const {
    const Model& m = models_[port];
    const bool tagged = m.mode == PortMode::Trunk && !(m.pvid && *m.pvid == e.vid);
    const wire::EthernetView eth(frame);
    auto tags = wire::parse_vlan_tags(eth);
    FUZZ_CHECK(tags);
    FUZZ_CHECK(!tags->service);
    FUZZ_CHECK(frame.size() <= cfg_.max_frame);
    if (tagged) {
      FUZZ_CHECK(tags->customer);
      FUZZ_CHECK(tags->customer->vid == e.vid);
      FUZZ_CHECK(tags->customer->pcp == e.pcp);
      FUZZ_CHECK(tags->customer->dei == e.dei);
      FUZZ_CHECK(frame.size() == e.inner.size() + 4);
      for (std::size_t i = 0; i < 12; ++i)
        FUZZ_CHECK(frame[i] == e.inner[i]);
      for (std::size_t i = 12; i < e.inner.size(); ++i)
        FUZZ_CHECK(frame[i + 4] == e.inner[i]);
    } else {
      FUZZ_CHECK(!tags->customer);
      FUZZ_CHECK(frame.size() >= e.inner.size());
      for (std::size_t i = 0; i < e.inner.size(); ++i)
        FUZZ_CHECK(frame[i] == e.inner[i]);
      // Padding: zeros, and only up to the 60-byte minimum.
      if (frame.size() > e.inner.size()) FUZZ_CHECK(frame.size() == 60);
      for (std::size_t i = e.inner.size(); i < frame.size(); ++i)
        FUZZ_CHECK(frame[i] == std::byte{0});
    }
  }

  void manage() {
    const std::uint8_t what = in_.u8();
    switch (what % 4) {
      case 0: {
        const MacAddress mac = pick_mac(in_.u8());
        const std::uint16_t vid = pick_vid(in_.u8());
        const auto port = static_cast<PortId>(in_.u8() % (models_.size() + 1));
        auto r = br_.add_static(mac, vid, port);
        if (mac.is_multicast() || mac.is_zero() || vid == 0 || vid > kMaxVid ||
            port >= models_.size() || !models_[port].member.test(vid))
          FUZZ_CHECK(!r);
        break;
      }
      case 1:
        br_.flush_port(static_cast<PortId>(in_.u8() % models_.size()));
        break;
      case 2:
        br_.set_ageing(std::chrono::milliseconds(in_.u16()));
        break;
      default:
        now_ += std::chrono::seconds(in_.u8());
        break;
    }
  }

  void check_state() const {
    FUZZ_CHECK(br_.fdb_size() <= br_.fdb_capacity());
    std::size_t n = 0;
    br_.for_each_entry([&](const FdbEntry& e) {
      ++n;
      FUZZ_CHECK(e.port < models_.size());
      FUZZ_CHECK(e.vid >= 1 && e.vid <= kMaxVid);
      FUZZ_CHECK(e.mac.is_unicast() && !e.mac.is_zero());
      FUZZ_CHECK(models_[e.port].member.test(e.vid));
    });
    FUZZ_CHECK(n == br_.fdb_size());
    std::uint64_t tx = 0;
    for (PortId p = 0; p < models_.size(); ++p)
      tx += br_.port_counters(p).tx_frames.value();
    FUZZ_CHECK(tx == sent_);
  }

  fuzz::FuzzInput& in_;
  BridgeConfig cfg_;
  Bridge br_;
  std::vector<Model> models_;
  std::vector<Context> stack_;
  std::optional<std::vector<std::byte>> nested_;
  PortId nested_port_ = 0;
  Instant now_ = instant_from_micros(1'000'000);
  Instant polled_{};
  std::uint64_t sent_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  Harness h(in);
  h.run();
  return 0;
}
