// Simulation: a UDP client on A and an echo server on B over a perfect memory wire. Many
// datagrams of every size up to the MTU come back exact, once each and in order; datagrams that
// need fragments (8000, 20000 and 65507 bytes) do too, both ways.
#include <gtest/gtest.h>

#include "tests/sim/sim_apps.hpp"
#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {
namespace {

RunResult echo(World& w, UdpClient& client, EchoServer& server, Duration settle = 2s) {
  return w.run(
      [&](Instant now) {
        server.step();
        client.step(now);
      },
      [&] { return client.finished_sending() ? client.last_send() + settle : client.deadline(); },
      [&] { return client.finished_sending() && w.now() >= client.last_send() + settle; });
}

TEST(SimUdpEcho, ManyDatagramsComeBackExactOnceAndInOrder) {
  World w(std::nullopt, std::nullopt);
  EchoServer server(w.b().stack(), 7);
  UdpClient client(w.a().stack(), {w.b().address(), 7}, {8, 64, 100, 512, 999, 1400, 1472}, 300,
                   kStart, 1ms);
  const auto r = echo(w, client, server);
  ASSERT_TRUE(r.done) << r.steps << " steps";
  EXPECT_EQ(client.sent, 300U);
  EXPECT_EQ(client.bad, 0U);
  EXPECT_EQ(client.errors, 0U);
  EXPECT_EQ(client.send_failed, 0U);
  ASSERT_EQ(client.order.size(), 300U);
  for (std::uint32_t i = 0; i < 300; ++i)
    EXPECT_EQ(client.order[i], i);
  EXPECT_EQ(server.echoed, 300U);
  for (Node* n : {&w.a(), &w.b()}) {
    EXPECT_EQ(counter(n->stack(), "udp.tx_datagrams"), 300U);
    EXPECT_EQ(counter(n->stack(), "udp.rx_datagrams"), 300U);
    EXPECT_EQ(counter(n->stack(), "ipv4.tx_fragments"), 0U);
    expect_consistent(*n);
  }
}

TEST(SimUdpEcho, FragmentedDatagramsBothWays) {
  World w(std::nullopt, std::nullopt);
  EchoServer server(w.b().stack(), 7);
  UdpClient client(w.a().stack(), {w.b().address(), 7}, {8000, 20000, 1473, 65507}, 12, kStart,
                   20ms);
  const auto r = echo(w, client, server);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(client.bad, 0U);
  EXPECT_EQ(client.errors, 0U);
  ASSERT_EQ(client.order.size(), 12U);
  for (std::uint32_t i = 0; i < 12; ++i)
    EXPECT_EQ(client.order[i], i);
  // Per round of four: 8008 -> 6 fragments, 20008 -> 14, 1481 -> 2, 65515 -> 45.
  for (Node* n : {&w.a(), &w.b()}) {
    EXPECT_EQ(counter(n->stack(), "ipv4.tx_fragments"), 3U * (6U + 14U + 2U + 45U));
    EXPECT_EQ(counter(n->stack(), "ipv4.reasm_ok"), 12U);
    expect_consistent(*n);
  }
}

TEST(SimUdpEcho, AClosedPortRefusesAConnectedClient) {
  World w(std::nullopt, std::nullopt);
  auto sock = std::move(*w.a().stack().udp_socket());
  ASSERT_TRUE(sock.connect({w.b().address(), 9}));
  ASSERT_TRUE(sock.send(numbered_payload(0, 16)));
  std::error_code seen;
  const auto r = w.run(
      [&](Instant) {
        std::array<std::byte, 64> buf{};
        if (auto got = sock.recv_from(buf); !got && got.error() != std::errc::operation_would_block)
          seen = got.error();
      },
      [] { return kNever; }, [&] { return bool(seen); });
  ASSERT_TRUE(r.done);
  // RFC 1122 §4.1.3.1 on B, RFC 1122 §4.1.3.3 on A.
  EXPECT_EQ(seen, std::errc::connection_refused);
  EXPECT_EQ(counter(w.b().stack(), "udp.rx_no_socket"), 1U);
}

}  // namespace
}  // namespace tapir::sim
