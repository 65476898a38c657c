// drivers/runtime/bridge_runner: the Asio loop around a Bridge, with real time but no TAP.
// Three stacks, each on its own Runner, are host ports of one bridge (attach_host: in-process
// wires without latency, each side kicking the other). Every test is bounded by run_for.
#include "drivers/runtime/bridge_runner.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "drivers/runtime/runner.hpp"
#include "stack/bridge/bridge.hpp"
#include "stack/stack.hpp"
#include "tests/support/allocations.hpp"

namespace tapir::drivers {
namespace {

using namespace std::chrono_literals;

constexpr MacAddress kMacA({0x02, 0, 0, 0, 0, 0x01});
constexpr MacAddress kMacB({0x02, 0, 0, 0, 0, 0x02});
constexpr MacAddress kMacC({0x02, 0, 0, 0, 0, 0x03});
const Ipv4Address kIpA{10, 0, 0, 1};
const Ipv4Address kIpB{10, 0, 0, 2};
const Ipv4Address kIpC{10, 0, 0, 3};
constexpr std::uint16_t kPort = 9;

std::unique_ptr<Stack> make_stack(std::uint64_t seed, MacAddress mac, Ipv4Address ip) {
  StackConfig config;
  config.seed = seed;
  config.arp_announcements = 0;  // nothing but what each test sends
  auto stack = std::move(*Stack::create(config));
  EXPECT_TRUE(stack->add_interface({.mac = mac, .address = *Ipv4Cidr::make(ip, 24)}));
  return stack;
}

bridge::PortConfig access(std::uint16_t vid) {
  bridge::PortConfig config;
  config.mode = bridge::PortMode::Access;
  config.pvid = vid;
  return config;
}

// A and B on VLAN 1, C on VLAN 2.
struct Scene {
  explicit Scene(Duration ageing = std::chrono::seconds(300))
      : br(bridge::BridgeConfig{.max_ports = 3, .ageing = ageing, .seed = 7}) {
    for (std::uint16_t vid : std::array<std::uint16_t, 3>{1, 1, 2})
      EXPECT_TRUE(br.add_port(access(vid)));
    runner.attach_host(0, "a", ra, 0);
    runner.attach_host(1, "b", rb, 0);
    runner.attach_host(2, "c", rc, 0);
  }
  void start() {
    ra.start();
    rb.start();
    rc.start();
    runner.start();
  }
  // Runs the io_context until done() or `bound` passed.
  template <class F>
  bool run_until(F done, Duration bound = 2s) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      io.run_for(5ms);
    }
    return true;
  }
  std::optional<bridge::PortId> port_of(MacAddress mac, std::uint16_t vid) const {
    std::optional<bridge::PortId> out;
    br.for_each_entry([&](const bridge::FdbEntry& e) {
      if (e.mac == mac && e.vid == vid) out = e.port;
    });
    return out;
  }

  boost::asio::io_context io;
  std::unique_ptr<Stack> a = make_stack(1, kMacA, kIpA);
  std::unique_ptr<Stack> b = make_stack(2, kMacB, kIpB);
  std::unique_ptr<Stack> c = make_stack(3, kMacC, kIpC);
  Runner ra{io, *a};
  Runner rb{io, *b, ra};
  Runner rc{io, *c, ra};
  bridge::Bridge br;
  BridgeRunner runner{io, br};
};

Bytes bytes_of(std::string_view s) {
  return as_bytes(s.data(), s.size());
}

// IEEE 802.1Q-2018 §8.7: the source of each relayed frame is learnt; §8.8.3: the filtering
// database answers where a known destination is.
TEST(BridgeRunner, RelaysBetweenHostPortsAndLearns) {
  Scene s;
  auto tx = std::move(*s.a->udp_socket());
  auto rx = std::move(*s.b->udp_socket());
  ASSERT_TRUE(rx.bind({Ipv4Address::any(), kPort}));
  s.start();
  ASSERT_TRUE(tx.send_to(bytes_of("hello"), {kIpB, kPort}));
  s.ra.kick();  // a socket call from outside the stack
  ASSERT_TRUE(s.run_until([&] { return rx.readable(); })) << "the datagram never arrived";
  std::array<std::byte, 16> buf{};
  auto got = rx.recv_from(BytesMut(buf.data(), buf.size()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->len, 5U);
  EXPECT_EQ(s.port_of(kMacA, 1), bridge::PortId{0});
  EXPECT_EQ(s.port_of(kMacB, 1), bridge::PortId{1});
  // §8.6.2: C is on VLAN 2; not one frame of VLAN 1 went to its port.
  EXPECT_EQ(s.br.port_counters(2).tx_frames.value(), 0U);
  EXPECT_EQ(s.runner.counters().tx_failed.value(), 0U);
  EXPECT_EQ(s.runner.port_name(1), "b");
  EXPECT_EQ(s.runner.port_name(7), "port7");
  ASSERT_NE(s.runner.device(0), nullptr);
  EXPECT_GE(s.runner.device(0)->counters().rx_frames.value(), 2U);  // ARP request, datagram
}

// §8.6.2: frames never cross VLANs; A's ARP request for C is flooded to VLAN 1 only.
TEST(BridgeRunner, DoesNotRelayAcrossVlans) {
  Scene s;
  auto tx = std::move(*s.a->udp_socket());
  auto rx = std::move(*s.c->udp_socket());
  ASSERT_TRUE(rx.bind({Ipv4Address::any(), kPort}));
  s.start();
  ASSERT_TRUE(tx.send_to(bytes_of("hello"), {kIpC, kPort}));
  s.ra.kick();
  EXPECT_FALSE(s.run_until([&] { return rx.readable(); }, 300ms));
  EXPECT_GE(s.br.port_counters(0).rx_frames.value(), 1U);  // the ARP request came in
  EXPECT_EQ(s.br.port_counters(2).tx_frames.value(), 0U);
  EXPECT_GE(s.br.port_counters(1).tx_flooded.value(), 1U);  // ... and went to B only
}

// §8.8.3: entries not refreshed within the ageing time are removed, by the runner's timer on
// Bridge::next_deadline() (no frame arrives to trigger a lazy sweep).
TEST(BridgeRunner, AgesEntriesOutOnItsTimer) {
  Scene s(150ms);
  auto tx = std::move(*s.a->udp_socket());
  auto rx = std::move(*s.b->udp_socket());
  ASSERT_TRUE(rx.bind({Ipv4Address::any(), kPort}));
  s.start();
  ASSERT_TRUE(tx.send_to(bytes_of("hello"), {kIpB, kPort}));
  s.ra.kick();
  ASSERT_TRUE(s.run_until([&] { return rx.readable(); }));
  EXPECT_EQ(s.br.fdb_size(), 2U);
  ASSERT_TRUE(s.run_until([&] { return s.br.fdb_size() == 0; }, 1s))
      << "entries still there: " << s.br.fdb_size();
  EXPECT_GE(s.br.counters().fdb_aged.value(), 2U);
}

TEST(BridgeRunner, StopEndsTheRunAndStartResumes) {
  Scene s;
  s.start();
  s.runner.stop();
  s.ra.stop();
  s.rb.stop();
  s.rc.stop();
  s.io.run_for(50ms);
  EXPECT_FALSE(s.runner.running());
  // Restarted, it relays again.
  auto tx = std::move(*s.a->udp_socket());
  auto rx = std::move(*s.b->udp_socket());
  ASSERT_TRUE(rx.bind({Ipv4Address::any(), kPort}));
  s.io.restart();
  s.start();
  ASSERT_TRUE(tx.send_to(bytes_of("again"), {kIpB, kPort}));
  s.ra.kick();
  EXPECT_TRUE(s.run_until([&] { return rx.readable(); }));
}

// ---- The descriptor path: each port a Device over one end of a datagram socketpair (one
// datagram one frame, like a TAP); the test plays the kernels at the other ends.

class SocketpairDevice final : public Device {
 public:
  explicit SocketpairDevice(int fd) : fd_(fd) {}
  ~SocketpairDevice() override { ::close(fd_); }
  Medium medium() const override { return Medium::Ethernet; }
  std::size_t mtu() const override { return 1500; }
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max) override {
    std::size_t n = 0;
    while (n < max) {
      const ssize_t r = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return tl::unexpected(std::error_code(errno, std::system_category()));
      }
      counters_.rx_frames.inc();
      handler.on_frame(Bytes(buffer_.data(), static_cast<std::size_t>(r)), now);
      ++n;
    }
    return n;
  }
  Result<void> transmit(Bytes frame, Instant) override {
    if (::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT) < 0) {
      counters_.tx_dropped_full.inc();
      return {};
    }
    counters_.tx_frames.inc();
    return {};
  }
  int native_handle() const override { return fd_; }
  const DeviceCounters& counters() const override { return counters_; }

 private:
  int fd_;
  std::array<std::byte, 2048> buffer_{};
  DeviceCounters counters_;
};

// The kernel's end of one port.
struct Peer {
  Peer() {
    int fds[2] = {-1, -1};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    device = std::make_unique<SocketpairDevice>(fds[0]);
    fd = fds[1];
    int size = 1 << 20;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  ~Peer() { ::close(fd); }
  void send(MacAddress dst, MacAddress src, std::uint8_t mark) const {
    std::array<std::byte, 60> frame{};
    dst.to_bytes(BytesMut(frame.data(), frame.size()), 0);
    src.to_bytes(BytesMut(frame.data(), frame.size()), 6);
    frame[12] = std::byte{0x08};  // IPv4, though nothing here reads past the header
    frame[14] = std::byte{mark};
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), 0), 60);
  }
  // The frames waiting here; each one's mark (byte 14) into marks, if given.
  std::size_t drain(std::vector<std::uint8_t>* marks = nullptr) const {
    std::array<std::byte, 2048> buf{};
    std::size_t n = 0;
    while (::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
      if (marks != nullptr) marks->push_back(static_cast<std::uint8_t>(buf[14]));
      ++n;
    }
    return n;
  }

  std::unique_ptr<SocketpairDevice> device;
  int fd = -1;
};

struct DescriptorScene {
  DescriptorScene() {
    for (std::size_t i = 0; i < peers.size(); ++i) {
      auto port = br.add_port({});
      EXPECT_TRUE(port);
      runner.attach(*peers[i].device, *port, "p" + std::to_string(i));
    }
  }
  boost::asio::io_context io;
  bridge::Bridge br{bridge::BridgeConfig{.max_ports = 3, .seed = 9}};
  std::array<Peer, 3> peers;
  BridgeRunner runner{io, br};
};

// §8.7, §8.8: an unknown destination is flooded to every other port; once both are learnt,
// frames go to the one port the FDB names.
TEST(BridgeRunner, DescriptorPortsFloodThenForward) {
  DescriptorScene s;
  s.runner.start();
  s.peers[0].send(kMacB, kMacA, 1);  // B unknown: flooded to 1 and 2
  s.io.run_for(50ms);
  EXPECT_EQ(s.peers[1].drain(), 1U);
  EXPECT_EQ(s.peers[2].drain(), 1U);
  EXPECT_EQ(s.peers[0].drain(), 0U);  // never back out of the ingress port
  s.peers[1].send(kMacA, kMacB, 2);   // A learnt on port 0: only there
  s.io.run_for(50ms);
  EXPECT_EQ(s.peers[0].drain(), 1U);
  EXPECT_EQ(s.peers[2].drain(), 0U);
  s.peers[0].send(kMacB, kMacA, 3);  // B learnt on port 1 now
  s.io.run_for(50ms);
  EXPECT_EQ(s.peers[1].drain(), 1U);
  EXPECT_EQ(s.peers[2].drain(), 0U);
}

// Frames queued in a descriptor are all relayed, in batches of kBatch, in order, without a
// new frame to wake the runner (Asio watches descriptors edge-triggered).
TEST(BridgeRunner, DescriptorBacklogIsReadInBatches) {
  DescriptorScene s;
  s.runner.start();
  s.peers[1].send(kMacA, kMacB, 0);  // B learnt on port 1
  s.io.run_for(20ms);
  for (auto& p : s.peers)
    p.drain();
  constexpr std::size_t kFrames = 3 * BridgeRunner::kBatch + 5;
  for (std::size_t i = 0; i < kFrames; ++i)
    s.peers[0].send(kMacB, kMacA, static_cast<std::uint8_t>(i));
  s.io.run_for(100ms);
  std::vector<std::uint8_t> marks;
  EXPECT_EQ(s.peers[1].drain(&marks), kFrames);
  for (std::size_t i = 0; i < marks.size(); ++i)
    ASSERT_EQ(marks[i], static_cast<std::uint8_t>(i)) << "frame " << i << " out of order";
  EXPECT_EQ(s.peers[2].drain(), 0U);
}

// DESIGN.md "Memory": once warm, relaying a frame (wake-up, receive, forward, write, re-arm)
// allocates nothing.
TEST(BridgeRunner, SteadyStateRelayAllocatesNothing) {
  DescriptorScene s;
  s.runner.start();
  auto relay = [&s](std::size_t frames) {
    std::size_t got = 0;
    for (std::size_t i = 0; i < frames; ++i) {
      s.peers[0].send(kMacB, kMacA, 7);
      s.peers[1].send(kMacA, kMacB, 8);
      for (int k = 0; k < 1000 && got < 2 * (i + 1); ++k) {
        s.io.poll();
        got += s.peers[1].drain() + s.peers[0].drain();
      }
    }
    return got;
  };
  EXPECT_EQ(relay(100), 200U);  // warm: both learnt, Asio's handler memory recycled
  const std::size_t before = test::allocations();
  const std::size_t relayed = relay(1000);
  const std::size_t allocated = test::allocations() - before;
  EXPECT_EQ(relayed, 2000U);
  EXPECT_EQ(allocated, 0U);
}

}  // namespace
}  // namespace tapir::drivers
