// tapir-echo: a host on a TAP (or TUN) device that answers ping (the stack itself answers ICMP
// echo) and runs the small services of old, over UDP and TCP:
//   echo     port 7   RFC 862: UDP datagrams are sent back; TCP bytes are sent back
//   discard  port 9   RFC 863: everything received is thrown away
//   chargen  port 19  RFC 864 (TCP): a stream of 72-character lines of rotating printable
//                     ASCII until the client closes; what it sends is thrown away
//
//   sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 10.0.0.1/24 dev tap0
//   sudo ip link set tap0 up
//   sudo tapir-echo --tap tap0 --ip 10.0.0.2/24 &
//   ping -c 3 10.0.0.2;  echo hello | nc -u -w 1 10.0.0.2 7;  echo hello | nc -N 10.0.0.2 7
//   nc 10.0.0.2 19 | head -3
//
// Each UDP service is one C++20 coroutine over drivers::AsyncUdpSocket. Each TCP service is an
// accept loop over drivers::AsyncTcpAcceptor that starts one coroutine per connection, so many
// clients are served at once; a client that stops reading slows down only its own connection
// (the echo stops reading while its answer cannot be sent). Connections are logged at debug
// level, opened and closed with their byte counts; each service's totals are logged at exit.
// SIGINT or SIGTERM closes the services and resets the open connections.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/common/common_options.hpp"
#include "apps/common/connection_set.hpp"
#include "drivers/runtime/async_socket.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "drivers/runtime/tap_host.hpp"
#include "stack/base/format.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using tapir::Ipv4Endpoint;
using tapir::apps::ConnectionSet;
using tapir::drivers::AsyncTcpAcceptor;
using tapir::drivers::AsyncTcpSocket;
using tapir::drivers::AsyncUdpSocket;

constexpr std::uint16_t kEchoPort = 7;      // RFC 862
constexpr std::uint16_t kDiscardPort = 9;   // RFC 863
constexpr std::uint16_t kChargenPort = 19;  // RFC 864
constexpr std::size_t kMaxDatagram = 65507;
// Bytes per read of a TCP service, and about what chargen hands over per write: 64 KiB a turn
// keeps a bulk transfer in frames as large as TSO takes, where 16 KiB costs four turns.
constexpr std::size_t kTcpChunk = 65536;

// The service was stopped: its socket closed, the pending operation aborted.
bool stopped(const AsyncUdpSocket& socket, const std::error_code& error) {
  return error == std::errc::operation_canceled || !socket.is_open();
}

// RFC 862: "When a datagram is received, the data from it is sent back in an answering
// datagram."
awaitable<void> echo(AsyncUdpSocket& socket) {
  std::array<std::byte, kMaxDatagram> buffer{};
  for (;;) {
    Ipv4Endpoint from;
    auto [error, len] =
        co_await socket.async_receive_from(boost::asio::buffer(buffer), from, use_awaitable);
    if (stopped(socket, error)) co_return;
    if (error) {
      // E.g. an ICMP port unreachable about an earlier answer, reported once.
      spdlog::debug("tapir-echo: echo: {}", error.message());
      continue;
    }
    auto [send_error, sent] =
        co_await socket.async_send_to(boost::asio::buffer(buffer.data(), len), from, use_awaitable);
    if (stopped(socket, send_error)) co_return;
    if (send_error) spdlog::debug("tapir-echo: echo to {}: {}", from.address, send_error.message());
  }
}

// RFC 863: "When a datagram is received, it is thrown away. No response is sent."
awaitable<void> discard(AsyncUdpSocket& socket) {
  std::array<std::byte, 1> buffer{};  // the rest of each datagram is dropped by the socket
  for (;;) {
    Ipv4Endpoint from;
    auto [error, len] =
        co_await socket.async_receive_from(boost::asio::buffer(buffer), from, use_awaitable);
    if (stopped(socket, error)) co_return;
  }
}

// RFC 864: "The data may be anything. It is recommended that a recognizable pattern be used":
// the 95 printable ASCII characters, each line 72 of them starting one further along, then CRLF.
// 95 lines make one whole turn of the pattern (7,030 bytes), sent again and again.
std::string chargen_pattern() {
  constexpr int kFirst = ' ', kCount = 95, kLine = 72;
  std::string cycle;
  cycle.reserve(std::size_t{kCount} * (kLine + 2));
  for (int line = 0; line < kCount; ++line) {
    for (int i = 0; i < kLine; ++i)
      cycle += static_cast<char>(kFirst + (line + i) % kCount);
    cycle += "\r\n";
  }
  // Whole cycles (the stream repeats every 95 lines), as many as fit in one chunk.
  std::string out;
  while (out.size() + cycle.size() <= kTcpChunk)
    out += cycle;
  return out;
}

// One TCP service: its port, what it does with a connection, and its totals.
struct TcpService {
  std::string_view name;
  std::uint16_t port = 0;
  std::uint64_t connections = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

// What one connection did, for its closing log line.
struct Session {
  TcpService& service;
  Ipv4Endpoint peer;
  std::uint64_t in = 0;
  std::uint64_t out = 0;

  void log_close(const boost::system::error_code& error) const {
    const bool clean = !error || error == boost::asio::error::eof;
    spdlog::debug("tapir-echo: tcp {} {}:{} closed ({}): {} bytes in, {} out", service.name,
                  peer.address, peer.port, clean ? "end" : error.message(), in, out);
    service.bytes_in += in;
    service.bytes_out += out;
  }
};

// RFC 862 over TCP: "Once a connection is established any data received is sent back. This
// continues until the calling user terminates the connection." The echo of each piece is
// written before the next is read, so a client that does not read its echo is held back by
// its own window, and nothing piles up here.
awaitable<void> tcp_echo(AsyncTcpSocket& socket, Session& session) {
  const auto buffer = std::make_unique_for_overwrite<char[]>(kTcpChunk);  // not zeroed
  for (;;) {
    boost::system::error_code error;
    const std::size_t n = co_await socket.async_read_some(
        boost::asio::buffer(buffer.get(), kTcpChunk), redirect_error(use_awaitable, error));
    if (error) {
      session.log_close(error);
      co_return;
    }
    session.in += n;
    co_await boost::asio::async_write(socket, boost::asio::buffer(buffer.get(), n),
                                      redirect_error(use_awaitable, error));
    if (error) {
      session.log_close(error);
      co_return;
    }
    session.out += n;
  }
}

// RFC 863 over TCP: "Once a connection is established any data received is thrown away. No
// response is sent. This continues until the calling user terminates the connection."
awaitable<void> tcp_discard(AsyncTcpSocket& socket, Session& session) {
  const auto buffer = std::make_unique_for_overwrite<char[]>(kTcpChunk);  // not zeroed
  for (;;) {
    boost::system::error_code error;
    const std::size_t n = co_await socket.async_read_some(
        boost::asio::buffer(buffer.get(), kTcpChunk), redirect_error(use_awaitable, error));
    if (error) {
      session.log_close(error);
      co_return;
    }
    session.in += n;
  }
}

// RFC 864 over TCP: "Once a connection is established a stream of data is sent out the
// connection (and any data received is thrown away). This continues until the calling user
// terminates the connection." Between writes, whatever has arrived is read and dropped; the
// client's FIN ends the stream, as does a reset (a write fails).
awaitable<void> tcp_chargen(AsyncTcpSocket& socket, Session& session) {
  static const std::string kPattern = chargen_pattern();
  const auto buffer = std::make_unique_for_overwrite<char[]>(kTcpChunk);  // not zeroed
  boost::system::error_code error;
  for (;;) {
    while (socket.socket().readable()) {  // data, the FIN or an error is there: no waiting
      const std::size_t n = co_await socket.async_read_some(
          boost::asio::buffer(buffer.get(), kTcpChunk), redirect_error(use_awaitable, error));
      if (error) {
        session.log_close(error);
        co_return;
      }
      session.in += n;
    }
    const std::size_t n = co_await boost::asio::async_write(socket, boost::asio::buffer(kPattern),
                                                            redirect_error(use_awaitable, error));
    session.out += n;
    if (error) {
      session.log_close(error);
      co_return;
    }
  }
}

using Handler = awaitable<void> (*)(AsyncTcpSocket&, Session&);

awaitable<void> tcp_session(AsyncTcpSocket socket, TcpService& service, Handler handler,
                            ConnectionSet& connections) {
  auto registered = connections.add(socket);
  Session session{service, socket.socket().remote_endpoint().value_or(Ipv4Endpoint{})};
  ++service.connections;
  spdlog::debug("tapir-echo: tcp {} {}:{} connected", service.name, session.peer.address,
                session.peer.port);
  co_await handler(socket, session);
  socket.close();  // the FIN after what was queued
}

awaitable<void> tcp_accept_loop(AsyncTcpAcceptor& acceptor, TcpService& service, Handler handler,
                                ConnectionSet& connections) {
  for (;;) {
    boost::system::error_code error;
    AsyncTcpSocket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, error));
    if (error == boost::asio::error::operation_aborted) co_return;
    if (!acceptor.is_open()) {
      socket.abort();  // accepted as the service stopped: reset like the others
      co_return;
    }
    if (error) {
      spdlog::warn("tapir-echo: tcp {}: accept: {}", service.name, error.message());
      continue;
    }
    boost::asio::co_spawn(acceptor.get_executor(),
                          tcp_session(std::move(socket), service, handler, connections),
                          boost::asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tapir;

  CLI::App app{
      "tapir-echo: echo (port 7), discard (9) over UDP and TCP and chargen (19) over TCP on a "
      "userspace TCP/IP stack"};
  apps::RawCommonOptions raw;
  apps::add_common_options(app, raw);
  int exit_code = 0;
  auto options = apps::parse_common(app, raw, "tapir-echo", argc, argv, exit_code);
  if (!options) return exit_code;

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-echo");
  if (!host) return 2;

  auto open_udp = [&](std::uint16_t port) -> std::unique_ptr<AsyncUdpSocket> {
    auto socket = host->stack().udp_socket();
    if (!socket || !socket->bind({Ipv4Address::any(), port})) return nullptr;
    return std::make_unique<AsyncUdpSocket>(host->runner(), std::move(*socket));
  };
  auto echo_socket = open_udp(kEchoPort);
  auto discard_socket = open_udp(kDiscardPort);
  if (!echo_socket || !discard_socket) {
    fmt::print(stderr, "tapir-echo: cannot open the UDP services\n");
    return 2;
  }

  std::array<TcpService, 3> services{
      {{"echo", kEchoPort}, {"discard", kDiscardPort}, {"chargen", kChargenPort}}};
  const std::array<Handler, 3> handlers{tcp_echo, tcp_discard, tcp_chargen};
  std::vector<std::unique_ptr<AsyncTcpAcceptor>> acceptors;
  for (const auto& service : services) {
    auto listener = host->stack().tcp_listen({Ipv4Address::any(), service.port});
    if (!listener) {
      fmt::print(stderr, "tapir-echo: cannot listen on TCP port {}: {}\n", service.port,
                 listener.error().message());
      return 2;
    }
    acceptors.push_back(std::make_unique<AsyncTcpAcceptor>(host->runner(), std::move(*listener)));
  }

  ConnectionSet connections;
  boost::asio::co_spawn(io, echo(*echo_socket), boost::asio::detached);
  boost::asio::co_spawn(io, discard(*discard_socket), boost::asio::detached);
  for (std::size_t i = 0; i < services.size(); ++i)
    boost::asio::co_spawn(io, tcp_accept_loop(*acceptors[i], services[i], handlers[i], connections),
                          boost::asio::detached);

  host->start([&] {
    echo_socket->close();
    discard_socket->close();
    for (auto& a : acceptors)
      a->close();
    connections.abort_all();
    // After the poll the aborts kicked (posted before this), so their resets go out first.
    boost::asio::post(io, [&] { host->stop(); });
  });
  spdlog::info(
      "tapir-echo: {}, echo on UDP and TCP {}, discard on UDP and TCP {}, chargen on TCP {}",
      host->summary(), kEchoPort, kDiscardPort, kChargenPort);
  io.run();
  for (const auto& s : services)
    spdlog::info("tapir-echo: tcp {}: {} connections, {} bytes in, {} bytes out", s.name,
                 s.connections, s.bytes_in, s.bytes_out);
  host->log_counters();
  return 0;
}
