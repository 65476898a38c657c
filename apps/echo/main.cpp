// tapir-echo: a host on a TAP (or TUN) device that answers ping (the stack itself answers ICMP
// echo), echoes UDP datagrams on port 7 (RFC 862) and discards those on port 9 (RFC 863).
//
//   sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 10.0.0.1/24 dev tap0
//   sudo ip link set tap0 up
//   sudo tapir-echo --tap tap0 --ip 10.0.0.2/24 &
//   ping -c 3 10.0.0.2;  echo hello | nc -u -w 1 10.0.0.2 7
//
// Each service is a C++20 coroutine over drivers::AsyncUdpSocket: receive a datagram, answer it,
// repeat, until the socket is closed at SIGINT or SIGTERM.
#include <array>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/common/common_options.hpp"
#include "drivers/runtime/async_socket.hpp"
#include "drivers/runtime/tap_host.hpp"
#include "stack/base/format.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;
using tapir::Ipv4Endpoint;
using tapir::drivers::AsyncUdpSocket;

constexpr std::uint16_t kEchoPort = 7;     // RFC 862
constexpr std::uint16_t kDiscardPort = 9;  // RFC 863
constexpr std::size_t kMaxDatagram = 65507;

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

}  // namespace

int main(int argc, char** argv) {
  using namespace tapir;

  CLI::App app{"tapir-echo: UDP echo (port 7) and discard (port 9) on a userspace TCP/IP stack"};
  apps::RawCommonOptions raw;
  apps::add_common_options(app, raw);
  int exit_code = 0;
  auto options = apps::parse_common(app, raw, "tapir-echo", argc, argv, exit_code);
  if (!options) return exit_code;

  boost::asio::io_context io;
  auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-echo");
  if (!host) return 2;

  auto open_service = [&](std::uint16_t port) -> std::unique_ptr<AsyncUdpSocket> {
    auto socket = host->stack().udp_socket();
    if (!socket || !socket->bind({Ipv4Address::any(), port})) return nullptr;
    return std::make_unique<AsyncUdpSocket>(host->runner(), std::move(*socket));
  };
  auto echo_socket = open_service(kEchoPort);
  auto discard_socket = open_service(kDiscardPort);
  if (!echo_socket || !discard_socket) {
    fmt::print(stderr, "tapir-echo: cannot open the UDP services\n");
    return 2;
  }
  boost::asio::co_spawn(io, echo(*echo_socket), boost::asio::detached);
  boost::asio::co_spawn(io, discard(*discard_socket), boost::asio::detached);

  host->start([&] {
    echo_socket->close();
    discard_socket->close();
    host->stop();
  });
  spdlog::info("tapir-echo: {}, echo and discard on UDP {} and {}", host->summary(), kEchoPort,
               kDiscardPort);
  io.run();
  host->log_counters();
  return 0;
}
