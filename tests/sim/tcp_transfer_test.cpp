// Simulation: TCP between two stacks over the memory wire. A connects to B's listener
// (RFC 9293 §3.5, the three-way handshake), each sends the other a stream of known bytes,
// both half-close (§3.6) and the streams must arrive intact, in order and exactly once; both
// ends then reach CLOSED or TIME-WAIT and no connection slot stays in use. With seeded loss,
// duplication, reordering and corruption the same must hold: retransmission (RFC 6298), fast
// retransmit and SACK recovery (RFC 5681, RFC 6675) repair everything.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/sim/sim_harness.hpp"

namespace tapir::sim {
namespace {

// The byte at offset i of a stream: a pattern that catches reordering, loss and duplication.
std::byte pattern(std::uint64_t i, std::uint8_t salt) {
  const std::uint64_t x = (i * 2654435761U) ^ (i >> 7) ^ salt;
  return static_cast<std::byte>(x & 0xffU);
}

// One end of a transfer: sends `to_send` bytes of its pattern, then shuts down its send side;
// reads the peer's pattern until EOF and checks every byte; then closes.
struct Peer {
  std::uint8_t send_salt = 0;
  std::uint8_t recv_salt = 0;
  std::uint64_t to_send = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t bad = 0;
  bool eof = false;
  bool shut = false;
  bool closed = false;
  std::error_code error;
  std::optional<TcpSocket> socket;

  void step() {
    if (!socket || closed) return;
    std::array<std::byte, 4096> buf{};
    while (sent < to_send) {
      const std::size_t n = std::min<std::uint64_t>(buf.size(), to_send - sent);
      for (std::size_t i = 0; i < n; ++i)
        buf[i] = pattern(sent + i, send_salt);
      auto r = socket->send(Bytes(buf.data(), n));
      if (!r) {
        if (r.error() != std::errc::operation_would_block) error = r.error();
        break;
      }
      sent += *r;
    }
    if (sent == to_send && !shut && socket->state() != tcp::State::SynSent) {
      if (auto r = socket->shutdown_send(); !r) error = r.error();
      shut = true;
    }
    for (;;) {
      auto r = socket->recv(BytesMut(buf));
      if (!r) {
        if (r.error() != std::errc::operation_would_block) error = r.error();
        break;
      }
      if (*r == 0) {
        eof = true;
        break;
      }
      for (std::size_t i = 0; i < *r; ++i)
        if (buf[i] != pattern(received + i, recv_salt)) ++bad;
      received += *r;
    }
    if (eof && shut) {
      socket->close();
      closed = true;
    }
  }
};

struct Result {
  RunResult run;
  Peer client, server;
};

Result transfer(World& w, TcpListener& listener, std::uint64_t a_to_b, std::uint64_t b_to_a,
                RunLimits limits = {}) {
  Result res;
  auto sock = w.a().stack().tcp_socket();
  EXPECT_TRUE(sock.has_value());
  res.client.socket = std::move(*sock);
  res.client.to_send = a_to_b;
  res.client.send_salt = 1;
  res.client.recv_salt = 2;
  res.server.to_send = b_to_a;
  res.server.send_salt = 2;
  res.server.recv_salt = 1;
  EXPECT_TRUE(res.client.socket->connect({w.b().address(), 5000}));
  res.run = w.run(
      [&](Instant) {
        if (!res.server.socket) {
          if (auto s = listener.accept()) res.server.socket = std::move(*s);
        }
        res.client.step();
        res.server.step();
      },
      [] { return kNever; },
      [&] {
        return (res.client.closed && res.server.closed) || (res.client.error && res.server.error);
      },
      limits);
  return res;
}

Result transfer(World& w, std::uint64_t a_to_b, std::uint64_t b_to_a, RunLimits limits = {}) {
  auto listener = w.b().stack().tcp_listen({Ipv4Address::any(), 5000}, 16);
  EXPECT_TRUE(listener.has_value());
  return transfer(w, *listener, a_to_b, b_to_a, limits);
}

void expect_intact(const Result& r, std::uint64_t a_to_b, std::uint64_t b_to_a) {
  ASSERT_TRUE(r.run.done) << r.run.steps << " steps, client " << r.client.received << "/" << b_to_a
                          << " server " << r.server.received << "/" << a_to_b << " errors "
                          << r.client.error.message() << " / " << r.server.error.message();
  EXPECT_FALSE(r.client.error) << r.client.error.message();
  EXPECT_FALSE(r.server.error) << r.server.error.message();
  EXPECT_EQ(r.client.sent, a_to_b);
  EXPECT_EQ(r.server.sent, b_to_a);
  EXPECT_EQ(r.server.received, a_to_b);
  EXPECT_EQ(r.client.received, b_to_a);
  EXPECT_EQ(r.server.bad, 0U);
  EXPECT_EQ(r.client.bad, 0U);
}

TEST(SimTcp, HandshakeTransferBothWaysAndClose) {
  World w(std::nullopt, std::nullopt);
  const auto r = transfer(w, 100'000, 300'000);
  expect_intact(r, 100'000, 300'000);
  EXPECT_EQ(counter(w.a().stack(), "tcp.tx_retransmits"), 0U);
  EXPECT_EQ(counter(w.b().stack(), "tcp.tx_retransmits"), 0U);
  EXPECT_EQ(counter(w.a().stack(), "tcp.active_opens"), 1U);
  EXPECT_EQ(counter(w.b().stack(), "tcp.passive_opens"), 1U);
}

TEST(SimTcp, EmptyStreamsJustOpenAndClose) {
  World w(std::nullopt, std::nullopt);
  const auto r = transfer(w, 0, 0);
  expect_intact(r, 0, 0);
}

TEST(SimTcp, RefusedPortReportsConnectionRefused) {
  World w(std::nullopt, std::nullopt);
  auto sock = w.a().stack().tcp_socket();
  ASSERT_TRUE(sock);
  ASSERT_TRUE(sock->connect({w.b().address(), 4999}));
  const auto r = w.run([](Instant) {}, [] { return kNever; },
                       [&] { return sock->state() == tcp::State::Closed; });
  ASSERT_TRUE(r.done);
  // RFC 9293 §3.10.7.3: a RST acknowledging our SYN refuses the connection.
  EXPECT_EQ(sock->error(), std::errc::connection_refused);
}

// Slots are reused: far more connections than slots, one after another. The client closes
// first each time, so its side of each ends in TIME-WAIT, which lives in the small table
// (RFC 9293 §3.10.7.4) and leaves the connection slot free at once.
TEST(SimTcp, SequentialConnectionsReuseSlotsAndParkTimeWait) {
  constexpr int kRounds = 50;
  StackConfig config;
  config.max_tcp_connections = 4;
  World w(std::nullopt, std::nullopt, config);
  auto listener = w.b().stack().tcp_listen({Ipv4Address::any(), 5000}, 4);
  ASSERT_TRUE(listener);
  for (int i = 0; i < kRounds; ++i) {
    SCOPED_TRACE(i);
    const auto r = transfer(w, *listener, 3000, 5000);
    expect_intact(r, 3000, 5000);
    if (testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(counter(w.a().stack(), "tcp.active_opens"), 50U);
  EXPECT_EQ(counter(w.b().stack(), "tcp.passive_opens"), 50U);
  EXPECT_EQ(counter(w.a().stack(), "tcp.tx_retransmits"), 0U);
  EXPECT_EQ(counter(w.b().stack(), "tcp.tx_retransmits"), 0U);
}

// Clients arriving 50 us apart, faster than handshakes end (the round trip is 1 ms), against a
// listener with a backlog of 2: the SYNs that find its SYN queue full get SYN cookies (RFC 4987
// §3.6), their final ACKs make connections, and every stream still arrives intact.
TEST(SimTcp, ConcurrentClientsPastTheBacklogGetSynCookies) {
  World w(std::nullopt, std::nullopt);
  // One connection first, so ARP is resolved and the SYNs below are not all released at once.
  expect_intact(transfer(w, 100, 100), 100, 100);
  auto listener = w.b().stack().tcp_listen({Ipv4Address::any(), 5001}, 2);
  ASSERT_TRUE(listener);
  constexpr std::size_t kClients = 8;
  std::vector<Peer> clients(kClients), servers;
  servers.reserve(kClients);
  for (std::size_t i = 0; i < kClients; ++i) {
    auto sock = w.a().stack().tcp_socket();
    ASSERT_TRUE(sock);
    clients[i].socket = std::move(*sock);
    clients[i].to_send = 20'000 + i * 1000;
    clients[i].send_salt = 1;
    clients[i].recv_salt = 2;
  }
  std::size_t connected = 0;
  const Instant start = w.now();
  const auto connect_at = [&](std::size_t i) -> Instant {
    return start + static_cast<std::int64_t>(i) * Duration(50);
  };
  const auto all_closed = [](const std::vector<Peer>& peers) {
    return std::ranges::all_of(peers, [](const Peer& p) { return p.closed; });
  };
  const auto r = w.run(
      [&](Instant now) {
        while (connected < kClients && now >= connect_at(connected)) {
          EXPECT_TRUE(clients[connected].socket->connect({w.b().address(), 5001}));
          ++connected;
        }
        while (auto sock = listener->accept()) {
          Peer& p = servers.emplace_back();
          p.socket = std::move(*sock);
          p.to_send = 10'000;
          p.send_salt = 2;
          p.recv_salt = 1;
        }
        for (std::size_t i = 0; i < connected; ++i)
          clients[i].step();
        for (auto& sv : servers)
          sv.step();
      },
      [&] { return connected < kClients ? connect_at(connected) : kNever; },
      [&] { return all_closed(clients) && servers.size() == kClients && all_closed(servers); });
  if (!r.done) {
    dump(w.a());
    dump(w.b());
  }
  ASSERT_TRUE(r.done) << servers.size() << " accepted";
  std::uint64_t received = 0;
  for (std::size_t i = 0; i < kClients; ++i) {
    EXPECT_FALSE(clients[i].error) << clients[i].error.message();
    EXPECT_EQ(clients[i].received, 10'000U);
    EXPECT_EQ(clients[i].bad, 0U);
    EXPECT_EQ(servers[i].bad, 0U);
    received += servers[i].received;
  }
  EXPECT_EQ(received, kClients * 20'000 + (kClients * (kClients - 1) / 2) * 1000);
  EXPECT_GT(counter(w.b().stack(), "tcp.syn_cookies_sent"), 0U);
  EXPECT_EQ(counter(w.b().stack(), "tcp.syn_cookies_ok"),
            counter(w.b().stack(), "tcp.syn_cookies_sent"));
  EXPECT_EQ(counter(w.b().stack(), "tcp.syn_cookies_failed"), 0U);
}

class SimTcpFaults : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(SimTcpFaults, StreamsSurviveLossDuplicationReorderingAndCorruption) {
  drivers::FaultSpec f;
  f.loss_ppm = 20'000;
  f.dup_ppm = 10'000;
  f.reorder_ppm = 50'000;
  f.corrupt_ppm = 5'000;
  f.seed = GetParam();
  drivers::FaultSpec g = f;
  g.seed = GetParam() * 7919 + 1;
  World w(f, g, World::with_seed(StackConfig{}, GetParam()));
  RunLimits limits;
  limits.max_time = std::chrono::seconds(600);
  limits.max_steps = 2'000'000;
  const auto r = transfer(w, 200'000, 150'000, limits);
  expect_intact(r, 200'000, 150'000);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimTcpFaults, ::testing::Range<std::uint64_t>(1, 21));

}  // namespace
}  // namespace tapir::sim
