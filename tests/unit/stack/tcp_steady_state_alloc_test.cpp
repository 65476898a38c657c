// DESIGN.md "Memory", for TCP: once warmed up, bulk transfer both ways and whole connections
// (handshake, data, close, TIME-WAIT) going through two stacks allocate nothing. The stacks
// are joined by a wire of preallocated frame buffers, so the test itself allocates nothing
// either while it counts.
#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "stack/stack.hpp"
#include "tests/support/allocations.hpp"

namespace tapir {
namespace {

// Frames one stack sent, kept in buffers allocated up front.
struct Wire final : FrameSink {
  static constexpr std::size_t kFrames = 8192;
  std::vector<std::vector<std::byte>> frames;
  std::size_t count = 0;
  Wire() : frames(kFrames) {
    for (auto& f : frames)
      f.reserve(1600);
  }
  void transmit(InterfaceId /*iface*/, Bytes frame) override {
    ASSERT_LT(count, kFrames);
    auto& f = frames[count++];
    f.assign(frame.begin(), frame.end());  // within the reserved capacity
  }
};

struct Pair {
  std::unique_ptr<Stack> a, b;
  InterfaceId ia = 0, ib = 0;
  Wire a_out, b_out;
  Instant now = instant_from_micros(1'000'000);

  Pair() {
    a = *Stack::create(StackConfig{});
    b = *Stack::create(StackConfig{});
    ia = *a->add_interface(
        {Medium::Ethernet, MacAddress({2, 0, 0, 0, 0, 1}), 1500, *Ipv4Cidr::parse("10.0.0.1/24")});
    ib = *b->add_interface(
        {Medium::Ethernet, MacAddress({2, 0, 0, 0, 0, 2}), 1500, *Ipv4Cidr::parse("10.0.0.2/24")});
  }
  // Moves frames both ways and polls until both stacks are quiet at this instant.
  void settle() {
    for (int i = 0; i < 1000; ++i) {
      a->poll(now, a_out);
      b->poll(now, b_out);
      if (a_out.count == 0 && b_out.count == 0) return;
      const std::size_t na = a_out.count, nb = b_out.count;
      a_out.count = b_out.count = 0;
      for (std::size_t k = 0; k < na; ++k)
        b->receive(ib, a_out.frames[k], now, b_out);
      for (std::size_t k = 0; k < nb; ++k)
        a->receive(ia, b_out.frames[k], now, a_out);
    }
    ADD_FAILURE() << "the stacks never went quiet";
  }
};

TEST(StackMemory, SteadyTcpTrafficAndConnectionsAllocateNothing) {
  Pair p;
  auto listener = *p.b->tcp_listen({Ipv4Address::any(), 9000}, 8);
  std::array<std::byte, 16384> out{};
  std::array<std::byte, 16384> in{};
  std::uint64_t moved = 0;
  std::uint64_t sent = 0;

  // One long connection with data both ways, and one short connection opened and closed.
  auto bulk_a = *p.a->tcp_socket();
  ASSERT_TRUE(bulk_a.connect({Ipv4Address(10, 0, 0, 2), 9000}));
  p.settle();
  auto bulk_b = *listener.accept();

  auto round = [&] {
    // Bulk: 64 KiB each way.
    for (int k = 0; k < 4; ++k) {
      if (auto n = bulk_a.send(out)) sent += *n;
      if (auto n = bulk_b.send(out)) sent += *n;
      p.settle();
      while (auto n = bulk_b.recv(in)) {
        if (*n == 0) break;
        moved += *n;
      }
      while (auto n = bulk_a.recv(in)) {
        if (*n == 0) break;
        moved += *n;
      }
      p.settle();
    }
    // A whole connection: handshake, a request and an answer, close from the client (so the
    // client's side ends in TIME-WAIT).
    auto client = *p.a->tcp_socket();
    ASSERT_TRUE(client.connect({Ipv4Address(10, 0, 0, 2), 9000}));
    p.settle();
    auto server = listener.accept();
    ASSERT_TRUE(server);
    ASSERT_TRUE(client.send(Bytes(out).first(100)));
    p.settle();
    ASSERT_TRUE(server->recv(in));
    ASSERT_TRUE(server->send(Bytes(out).first(200)));
    p.settle();
    ASSERT_TRUE(client.recv(in));
    client.close();
    p.settle();
    server->close();
    p.settle();
    p.now += std::chrono::milliseconds(50);
    p.settle();
  };
  for (int i = 0; i < 3; ++i)
    round();  // warm-up: slots get their buffers on first use
  const std::size_t before = test::allocations();
  for (int i = 0; i < 50; ++i)
    round();
  EXPECT_EQ(test::allocations() - before, 0U);
  // Let the last delayed ACKs go, then take the rest.
  for (int i = 0; i < 5; ++i) {
    p.now += std::chrono::milliseconds(200);
    p.settle();
    for (auto* s : {&bulk_a, &bulk_b})
      while (auto n = s->recv(in)) {
        if (*n == 0) break;
        moved += *n;
      }
  }
  // Every byte sent arrived (the windows are far larger than a round's data).
  EXPECT_EQ(moved, sent);
  EXPECT_GT(sent, 50U * 4 * 2 * 16384);
}

}  // namespace
}  // namespace tapir
