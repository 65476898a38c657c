// Simulations: whole Stacks joined by a drivers::MemoryWire, each end possibly wrapped in a
// seeded drivers::FaultyDevice, driven by one deterministic loop. The clock is manual: each step
// delivers what the devices have due, polls every stack, runs the scenario's application code,
// then jumps to the earliest deadline of the stacks, the devices and the application. Every run
// is bounded by a simulated time and a number of steps, so a scenario can never hang, and the
// same seed replays exactly.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/memory/fault_model.hpp"
#include "drivers/memory/memory_wire.hpp"
#include "stack/base/checksum.hpp"
#include "stack/stack.hpp"
#include "stack/wire/ethernet.hpp"

namespace tapir::sim {

using namespace std::chrono_literals;

inline constexpr Instant kStart = instant_from_micros(1'000'000);

// One host: a stack with one Ethernet interface on a device (a wire end, or a FaultyDevice
// around one). Counts the frames it hands the stack and the frames the stack hands back.
class Node {
 public:
  Node(std::string name, drivers::Device& wire_end, MacAddress mac, std::string_view cidr,
       const std::optional<drivers::FaultSpec>& faults, StackConfig config = {})
      : name_(std::move(name)), device_(&wire_end), sink_(*this), handler_(*this) {
    if (faults) {
      drivers::FaultyDeviceConfig fc;
      fc.queue_capacity = 1024;
      faulty_ = std::make_unique<drivers::FaultyDevice>(wire_end, *faults, fc);
      device_ = faulty_.get();
    }
    auto s = Stack::create(config);
    if (!s) {
      ADD_FAILURE() << name_ << ": " << Stack::validate(config);
      return;
    }
    stack_ = std::move(*s);
    InterfaceConfig ic;
    ic.medium = Medium::Ethernet;
    ic.mac = mac;
    ic.mtu = wire_end.mtu();
    ic.address = *Ipv4Cidr::parse(cidr);
    auto id = stack_->add_interface(ic);
    if (!id) ADD_FAILURE() << name_ << ": add_interface: " << id.error().message();
    iface_ = id.value_or(0);
  }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Hands the stack every frame the device has due at `now` (in bounded batches), then polls
  // the stack and the fault decorator.
  void step(Instant now) {
    now_ = now;  // what the sink stamps transmitted frames with
    for (int batch = 0; batch < 64; ++batch) {
      auto n = device_->receive(now, handler_, 64);
      if (!n) {
        ADD_FAILURE() << name_ << ": receive: " << n.error().message();
        break;
      }
      if (*n == 0) break;
    }
    stack_->poll(now, sink_);
    if (faulty_) {
      if (auto r = faulty_->poll(now); !r) ADD_FAILURE() << name_ << ": " << r.error().message();
    }
  }

  Instant next_deadline() const {
    return std::min(stack_->next_deadline(), device_->next_deadline());
  }

  Stack& stack() { return *stack_; }
  const Stack& stack() const { return *stack_; }
  const std::string& name() const { return name_; }
  Ipv4Address address() const { return stack_->interface(iface_).address.address(); }
  const drivers::FaultyDevice* faulty() const { return faulty_.get(); }
  std::uint64_t frames_in() const { return frames_in_; }
  std::uint64_t frames_out() const { return frames_out_; }

 private:
  struct Sink final : FrameSink {
    explicit Sink(Node& n) : node(n) {}
    void transmit(InterfaceId, Bytes frame) override {
      ++node.frames_out_;
      if (auto r = node.device_->transmit(frame, node.now_); !r)
        ADD_FAILURE() << node.name_ << ": transmit: " << r.error().message();
    }
    Node& node;
  };
  struct Handler final : drivers::FrameHandler {
    explicit Handler(Node& n) : node(n) {}
    void on_frame(Bytes frame, Instant now) override {
      ++node.frames_in_;
      node.now_ = now;
      node.stack_->receive(node.iface_, frame, now, node.sink_);
    }
    Node& node;
  };
  std::string name_;
  drivers::Device* device_;
  std::unique_ptr<drivers::FaultyDevice> faulty_;
  std::unique_ptr<Stack> stack_;
  InterfaceId iface_ = 0;
  Sink sink_;
  Handler handler_;
  Instant now_ = kStart;
  std::uint64_t frames_in_ = 0;
  std::uint64_t frames_out_ = 0;
};

// Prints a node's non-zero counters and its neighbour table: what a failing scenario shows.
inline void dump(const Node& node) {
  std::printf("%s:", node.name().c_str());
  node.stack().for_each_counter([](std::string_view name, const Counter& c) {
    if (c.value() != 0)
      std::printf(" %.*s=%llu", static_cast<int>(name.size()), name.data(),
                  static_cast<unsigned long long>(c.value()));
  });
  for (const auto& e : node.stack().neighbors().entries())
    if (e.state != link::NeighborCache::State::Free)
      std::printf(" [%s is-at %s state %d]", e.ip.to_string().c_str(), e.mac.to_string().c_str(),
                  static_cast<int>(e.state));
  std::printf("\n");
}

// With SIM_TRACE set in the environment, a World prints every ARP frame and every frame sent,
// per node: for following one seed by hand.
class PrintTracer final : public FrameTracer {
 public:
  explicit PrintTracer(std::string who) : who_(std::move(who)) {}
  void on_frame(InterfaceId, Medium, bool outgoing, Bytes frame) override {
    const wire::EthernetView eth(frame);
    if (!eth.check()) return;
    if (!outgoing && eth.ethertype() != wire::EtherType::Arp) return;
    std::printf("%s %s dst=%s src=%s type=%04x len=%zu\n", who_.c_str(), outgoing ? "out" : "in ",
                eth.dst().to_string().c_str(), eth.src().to_string().c_str(),
                static_cast<unsigned>(eth.ethertype()), frame.size());
  }

 private:
  std::string who_;
};

struct RunLimits {
  Duration max_time = 120s;  // simulated
  std::size_t max_steps = 200'000;
};

struct RunResult {
  bool done = false;
  Instant end{};
  std::size_t steps = 0;
};

// Two nodes, A (10.0.0.1) and B (10.0.0.2), on the two ends of one wire.
class World {
 public:
  World(std::optional<drivers::FaultSpec> faults_a, std::optional<drivers::FaultSpec> faults_b,
        StackConfig config = {}, drivers::MemoryWireConfig wire = default_wire())
      : wire_(wire),
        a_("A", wire_.a(), MacAddress({0x02, 0, 0, 0, 0, 0x0a}), "10.0.0.1/24", faults_a, config),
        b_("B", wire_.b(), MacAddress({0x02, 0, 0, 0, 0, 0x0b}), "10.0.0.2/24", faults_b,
           with_seed(config, config.seed + 1)) {
    if (std::getenv("SIM_TRACE") != nullptr) {
      a_.stack().set_tracer(&trace_a_);
      b_.stack().set_tracer(&trace_b_);
    }
  }

  static StackConfig with_seed(StackConfig c, std::uint64_t seed) {
    c.seed = seed;
    return c;
  }

  static drivers::MemoryWireConfig default_wire() {
    drivers::MemoryWireConfig w;
    w.mtu = 1500;
    w.latency = 500us;
    w.queue_capacity = 1024;
    return w;
  }

  Node& a() { return a_; }
  Node& b() { return b_; }
  Instant now() const { return now_; }

  // Steps until done() is true, or nothing is left to happen, or a limit is reached.
  // app(now) is the scenario's application code (read sockets, send); app_deadline() when it
  // next wants to run (kNever: only when something arrives).
  template <class App, class AppDeadline, class Done>
  RunResult run(App&& app, AppDeadline&& app_deadline, Done&& done, RunLimits limits = {}) {
    const Instant stop = now_ + limits.max_time;
    RunResult r;
    for (; r.steps < limits.max_steps; ++r.steps) {
      a_.step(now_);
      b_.step(now_);
      app(now_);
      if (done()) {
        r.done = true;
        break;
      }
      Instant next = std::min({app_deadline(), a_.next_deadline(), b_.next_deadline()});
      if (next == kNever) break;  // quiet: nothing will ever happen again
      if (next > now_) now_ = next;
      if (now_ > stop) break;
    }
    r.end = now_;
    return r;
  }

 private:
  drivers::MemoryWire wire_;
  Node a_;
  Node b_;
  Instant now_ = kStart;
  PrintTracer trace_a_{"A"}, trace_b_{"B"};
};

// ---- Counter identities ------------------------------------------------------------------------

inline std::uint64_t counter(const Stack& stack, std::string_view name) {
  std::optional<std::uint64_t> value;
  stack.for_each_counter([&](std::string_view n, const Counter& c) {
    if (n == name) value = c.value();
  });
  if (!value) ADD_FAILURE() << "no counter named " << name;
  return value.value_or(0);
}

// What every run must satisfy, whatever the faults: each frame in is accounted for at each
// layer by exactly one outcome, and the frames counted are the frames the device carried.
inline void expect_consistent(const Node& node) {
  SCOPED_TRACE(node.name());
  const Stack& s = node.stack();
  const auto c = [&](std::string_view name) { return counter(s, name); };
  EXPECT_EQ(c("eth.rx_frames"), node.frames_in());
  EXPECT_EQ(c("eth.tx_frames"), node.frames_out());
  // Ethernet: every frame dropped, or handed to ARP or IPv4.
  EXPECT_EQ(c("eth.rx_frames"),
            c("eth.rx_truncated") + c("eth.rx_not_for_us") + c("eth.rx_own_source") +
                c("eth.rx_unknown_ethertype") + c("eth.rx_unknown_vlan") + c("eth.rx_untagged") +
                c("eth.rx_service_tagged") + c("eth.rx_bad_vlan") + c("arp.rx_malformed") +
                c("arp.rx_unsupported") + c("arp.rx_requests") + c("arp.rx_replies") +
                c("ipv4.rx_packets"));
  // IPv4: every packet dropped, forwarded, handed to the reassembler or delivered whole; each
  // reassembled datagram is delivered once.
  const std::uint64_t ip_drops =
      c("ipv4.rx_truncated") + c("ipv4.rx_bad_version") + c("ipv4.rx_bad_header_len") +
      c("ipv4.rx_bad_length") + c("ipv4.rx_bad_checksum") + c("ipv4.rx_bad_source") +
      c("ipv4.rx_not_for_us") + c("ipv4.rx_forwarded") + c("ipv4.rx_ttl_expired") +
      c("ipv4.rx_no_route") + c("ipv4.rx_frag_needed");
  EXPECT_EQ(c("ipv4.rx_packets") + c("ipv4.reasm_ok"), ip_drops + c("ipv4.reasm_fragments") +
                                                           c("ipv4.rx_delivered") +
                                                           c("ipv4.rx_unknown_protocol"));
  // The reassembler's fragments: completed into a datagram, held, or dropped (counted).
  EXPECT_LE(c("ipv4.reasm_ok"), c("ipv4.reasm_fragments"));
  // Echo replies answer echo requests, never more.
  EXPECT_LE(c("icmp.tx_echo_replies"), c("icmp.rx_echo_requests"));
}

// Deterministic bytes for datagram `index` of `len` bytes: its index and length first, so a
// receiver can tell which one it got and check every byte of it.
inline std::vector<std::byte> numbered_payload(std::uint32_t index, std::size_t len) {
  std::vector<std::byte> out(len);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL * (index + 1);
  for (std::size_t i = 0; i < len; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<std::byte>(x & 0xffU);
  }
  for (std::size_t i = 0; i < 4 && i < len; ++i)
    out[i] = static_cast<std::byte>((index >> (8 * (3 - i))) & 0xffU);
  for (std::size_t i = 0; i < 4 && 4 + i < len; ++i)
    out[4 + i] = static_cast<std::byte>((len >> (8 * (3 - i))) & 0xffU);
  return out;
}

// The index a numbered payload carries, if every byte of it is right.
inline std::optional<std::uint32_t> check_numbered(Bytes payload) {
  if (payload.size() < 8) return std::nullopt;
  const std::uint32_t index = load_be32(payload, 0);
  if (load_be32(payload, 4) != payload.size()) return std::nullopt;
  const auto expected = numbered_payload(index, payload.size());
  if (!std::equal(payload.begin(), payload.end(), expected.begin())) return std::nullopt;
  return index;
}

// Whether `got` differs from `sent` only as the Internet checksum (RFC 1071) cannot see: the
// same ones' complement sum, and no more flipped bits in any fragment than the fault decorators
// on the way flip (one bit of a frame each: two per hop, two hops for an echo). A single flipped
// bit always changes the sum, so the stack must have refused it; two flips can cancel out (a bit
// cleared in one word, the same bit set in another), and then no checksum can tell. Anything
// else (bytes misplaced, many bits changed) is not excused. `offset` is where the data starts in
// the transport message, `piece` the transport bytes per fragment.
inline bool undetectable_corruption(Bytes got, Bytes sent, std::size_t offset,
                                    std::size_t piece = 1480, int max_flips_per_fragment = 4) {
  if (got.size() != sent.size()) return false;
  const auto sum = [](Bytes b) {
    const std::uint32_t s = checksum_add(b);
    return s == 0xffff ? 0U : s;  // ones' complement has two zeros
  };
  if (sum(got) != sum(sent)) return false;
  std::map<std::size_t, int> flipped_bits;  // per fragment
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto diff = std::to_integer<unsigned>(got[i] ^ sent[i]);
    if (diff != 0) flipped_bits[(offset + i) / piece] += std::popcount(diff);
  }
  if (flipped_bits.empty()) return false;  // equal
  return std::ranges::all_of(flipped_bits,
                             [&](const auto& f) { return f.second <= max_flips_per_fragment; });
}

}  // namespace tapir::sim
