// tapir-switch: a userspace learning switch across TAP devices (IEEE 802.1Q-2018 §8, the MAC
// relay of a VLAN-aware bridge), on the sans-IO bridge core (stack/bridge/bridge.hpp) driven
// by drivers::BridgeRunner.
//
//   sudo tapir-switch --port tapA --port tapB --port tapC &
//   # each TAP (created by the switch, or an existing one) is a port; hand them to hosts:
//   sudo ip link set tapA netns HA     # the switch keeps its descriptor across the move
//
//   tapir-switch --port tapA:access=10 --port tapB:access=10 --port tapT:trunk=10,20
//                --ageing 60 --ip 10.5.0.254/24 --mgmt-vlan 10   (one command line)
//
// With --ip the switch has a management address: its own host stack (tapir::Stack, one
// Ethernet interface) is an internal port of the bridge, an access port of --mgmt-vlan, and
// answers ping, TCP echo on port 7 (RFC 862) and a plain-text status page (HTTP/1.0, port 80:
// the FDB and the counters, `curl http://10.5.0.254/`).
//
// Signals: SIGUSR1 prints the FDB (MAC, VID, port, static or age) and every non-zero counter
// (bridge, per port, devices) to stderr, ending with a line "end of dump"; SIGINT or SIGTERM
// stop the switch (a second one stops it at once). A bad command line or a TAP that cannot be
// opened gives one line "tapir-switch: <problem>" and exit code 2.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "apps/common/connection_set.hpp"
#include "apps/switch/switch_options.hpp"
#include "drivers/pcap/pcap_device.hpp"
#include "drivers/runtime/async_tcp.hpp"
#include "drivers/runtime/bridge_runner.hpp"
#include "drivers/runtime/log.hpp"
#include "drivers/runtime/runner.hpp"
#include "drivers/tap/tap_device.hpp"
#include "stack/base/format.hpp"
#include "stack/bridge/bridge.hpp"
#include "stack/stack.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using namespace tapir;

constexpr std::string_view kProgram = "tapir-switch";
constexpr std::uint16_t kEchoPort = 7;     // RFC 862
constexpr std::uint16_t kStatusPort = 80;  // the status page
constexpr std::size_t kTcpChunk = 16384;
constexpr std::size_t kMaxRequest = 4096;  // bytes of an HTTP request head read for the status

int fail(std::string_view line) {
  fmt::print(stderr, "{}: {}\n", kProgram, line);
  return 2;
}

// The switch: the bridge, its TAP ports, and (with --ip) the management stack.
struct Switch {
  std::vector<std::string> names;  // by PortId
  std::vector<std::string> modes;  // by PortId, describe()
  std::vector<std::unique_ptr<drivers::TapDevice>> taps;
  std::vector<std::unique_ptr<drivers::PcapDevice>> pcaps;
  std::unique_ptr<bridge::Bridge> bridge;
  std::unique_ptr<Stack> stack;
  std::unique_ptr<drivers::Runner> stack_runner;
  std::unique_ptr<drivers::BridgeRunner> runner;
  std::optional<bridge::PortId> host_port;

  // The FDB, one entry a line, in order of VID, then MAC; what has aged is swept first (the
  // bridge lists entries past their age until poll() removes them).
  std::string fdb_text() const {
    bridge->poll(runner->now());
    struct Row {
      std::uint16_t vid;
      MacAddress mac;
      bridge::PortId port;
      bool is_static;
      Instant last_seen;
    };
    std::vector<Row> rows;
    bridge->for_each_entry([&rows](const bridge::FdbEntry& e) {
      rows.push_back({e.vid, e.mac, e.port, e.is_static, e.last_seen});
    });
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.vid != b.vid ? a.vid < b.vid : a.mac < b.mac;
    });
    const Instant now = runner->now();
    std::string out = fmt::format("fdb: {} entries\n", rows.size());
    for (const auto& r : rows) {
      const std::string& name = r.port < names.size() ? names[r.port] : "?";
      if (r.is_static) {
        out += fmt::format("fdb {} vid {} port {} static\n", r.mac, r.vid, name);
      } else {
        const double age = std::chrono::duration<double>(now - r.last_seen).count();
        out += fmt::format("fdb {} vid {} port {} age {:.1f}s\n", r.mac, r.vid, name, age);
      }
    }
    return out;
  }

  // Every non-zero counter, `name value` a line: the bridge's, the runners', each device's
  // (as <port name>.dev.*), then the management stack's.
  std::string counters_text() const {
    std::string out;
    auto line = [&out](std::string_view name, const Counter& c) {
      if (c.value() != 0) out += fmt::format("{} {}\n", name, c.value());
    };
    out += "ports:";
    for (std::size_t p = 0; p < names.size(); ++p)
      out += fmt::format(" {}={}({})", p, names[p], modes[p]);
    out += "\n";
    bridge->for_each_counter(line);
    runner->counters().for_each_counter(line);
    for (std::size_t p = 0; p < names.size(); ++p) {
      const drivers::Device* d = runner->device(static_cast<bridge::PortId>(p));
      if (d == nullptr) continue;
      const std::string& name = names[p];
      d->counters().for_each_counter([&](std::string_view n, const Counter& c) {
        if (c.value() != 0) out += fmt::format("{}.{} {}\n", name, n, c.value());
      });
    }
    if (stack) {
      stack->for_each_counter(line);
      stack_runner->counters().for_each_counter(line);
    }
    return out;
  }

  void print_dump(std::FILE* out) const {
    fmt::print(out, "{}{}end of dump\n", fdb_text(), counters_text());
    std::fflush(out);
  }
};

// RFC 862 over TCP: "Once a connection is established any data received is sent back."
awaitable<void> tcp_echo(drivers::AsyncTcpSocket socket, apps::ConnectionSet& connections) {
  auto registered = connections.add(socket);
  std::vector<char> buffer(kTcpChunk);
  for (;;) {
    boost::system::error_code error;
    const std::size_t n = co_await socket.async_read_some(boost::asio::buffer(buffer),
                                                          redirect_error(use_awaitable, error));
    if (error) break;
    co_await boost::asio::async_write(socket, boost::asio::buffer(buffer.data(), n),
                                      redirect_error(use_awaitable, error));
    if (error) break;
  }
  socket.close();
}

// The status page: whatever the request, the FDB and the counters as text/plain (HTTP/1.0,
// RFC 1945 §6: a status line, headers, an empty line, the body; the close ends the body).
awaitable<void> status_page(drivers::AsyncTcpSocket socket, const Switch& sw,
                            apps::ConnectionSet& connections) {
  auto registered = connections.add(socket);
  std::string request;
  boost::system::error_code error;
  co_await boost::asio::async_read_until(socket, boost::asio::dynamic_buffer(request, kMaxRequest),
                                         "\r\n\r\n", redirect_error(use_awaitable, error));
  if (!error) {
    const std::string body = sw.fdb_text() + sw.counters_text();
    const std::string response = fmt::format(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n{}",
        body.size(), body);
    co_await boost::asio::async_write(socket, boost::asio::buffer(response),
                                      redirect_error(use_awaitable, error));
  }
  socket.close();
}

template <class Session>
awaitable<void> accept_loop(drivers::AsyncTcpAcceptor& acceptor, Session session) {
  for (;;) {
    boost::system::error_code error;
    drivers::AsyncTcpSocket socket =
        co_await acceptor.async_accept(redirect_error(use_awaitable, error));
    if (error == boost::asio::error::operation_aborted) co_return;
    if (!acceptor.is_open()) {
      socket.abort();
      co_return;
    }
    if (error) continue;
    boost::asio::co_spawn(acceptor.get_executor(), session(std::move(socket)),
                          boost::asio::detached);
  }
}

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-switch: a userspace learning switch (IEEE 802.1Q bridge) across TAP devices"};
  apps::RawSwitchOptions raw;
  apps::add_switch_options(app, raw);
  int exit_code = 0;
  auto options = apps::parse_switch(app, raw, kProgram, argc, argv, exit_code);
  if (!options) return exit_code;
  drivers::configure_logging(options->log_level);

  boost::asio::io_context io;
  Switch sw;
  const std::size_t port_count = options->ports.size() + (options->ip ? 1 : 0);
  sw.bridge = std::make_unique<bridge::Bridge>(bridge::BridgeConfig{
      .max_ports = port_count, .ageing = options->ageing, .seed = random_seed()});

  for (const auto& port : options->ports) {
    drivers::TapConfig config{.name = port.name, .medium = drivers::Medium::Ethernet};
    auto tap = drivers::TapDevice::open(config);
    if (!tap) return fail(drivers::TapDevice::explain(tap.error(), config));
    auto id = sw.bridge->add_port(port.config);
    if (!id) return fail(fmt::format("--port {}: {}", port.name, id.error().message()));
    sw.names.push_back((*tap)->name());
    sw.modes.push_back(apps::describe(port.config));
    sw.taps.push_back(std::move(*tap));
  }

  // The management stack first: the bridge runner then tells time by its runner's clock.
  if (options->ip) {
    StackConfig config;
    config.seed = random_seed();
    auto stack = Stack::create(config);
    if (!stack) return fail(fmt::format("cannot create the stack: {}", stack.error().message()));
    sw.stack = std::move(*stack);
    auto iface = sw.stack->add_interface(
        {.medium = Medium::Ethernet, .mac = options->mac, .mtu = 1500, .address = *options->ip});
    if (!iface)
      return fail(fmt::format("--ip {}: {}", options->ip->to_string(), iface.error().message()));
    if (options->gateway) {
      if (auto r = sw.stack->set_default_gateway(*options->gateway); !r)
        return fail(
            fmt::format("--gateway {}: {}", options->gateway->to_string(), r.error().message()));
    }
    sw.stack_runner = std::make_unique<drivers::Runner>(io, *sw.stack);
    bridge::PortConfig host;
    host.mode = bridge::PortMode::Access;
    host.pvid = options->mgmt_vlan;
    auto id = sw.bridge->add_port(host);
    if (!id) return fail(fmt::format("the management port: {}", id.error().message()));
    sw.host_port = *id;
    sw.names.emplace_back("host");
    sw.modes.push_back(apps::describe(host));
  }

  sw.runner = std::make_unique<drivers::BridgeRunner>(io, *sw.bridge);
  if (sw.host_port) sw.runner->attach_host(*sw.host_port, "host", *sw.stack_runner, InterfaceId{0});

  if (!options->pcap_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options->pcap_dir, error);
    if (error) return fail(fmt::format("--pcap-dir: {}: {}", options->pcap_dir, error.message()));
  }
  for (std::size_t i = 0; i < sw.taps.size(); ++i) {
    drivers::Device* device = sw.taps[i].get();
    if (!options->pcap_dir.empty()) {
      const std::string path =
          (std::filesystem::path(options->pcap_dir) / (sw.names[i] + ".pcap")).string();
      auto pcap = drivers::PcapDevice::open(*device, path, sw.runner->wall_offset());
      if (!pcap) return fail(fmt::format("--pcap-dir: {}: {}", path, pcap.error().message()));
      sw.pcaps.push_back(std::make_unique<drivers::PcapDevice>(std::move(*pcap)));
      device = sw.pcaps.back().get();
    }
    sw.runner->attach(*device, static_cast<bridge::PortId>(i), sw.names[i]);
  }

  // The management services.
  apps::ConnectionSet connections;
  std::vector<std::unique_ptr<drivers::AsyncTcpAcceptor>> acceptors;
  if (sw.stack) {
    for (std::uint16_t port : {kEchoPort, kStatusPort}) {
      auto listener = sw.stack->tcp_listen({Ipv4Address::any(), port});
      if (!listener)
        return fail(
            fmt::format("cannot listen on TCP port {}: {}", port, listener.error().message()));
      acceptors.push_back(
          std::make_unique<drivers::AsyncTcpAcceptor>(*sw.stack_runner, std::move(*listener)));
    }
    boost::asio::co_spawn(io,
                          accept_loop(*acceptors[0],
                                      [&connections](drivers::AsyncTcpSocket s) {
                                        return tcp_echo(std::move(s), connections);
                                      }),
                          boost::asio::detached);
    boost::asio::co_spawn(io,
                          accept_loop(*acceptors[1],
                                      [&sw, &connections](drivers::AsyncTcpSocket s) {
                                        return status_page(std::move(s), sw, connections);
                                      }),
                          boost::asio::detached);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  bool stopping = false;
  std::function<void()> wait_for_signal;
  wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGUSR1) {
        sw.print_dump(stderr);
        wait_for_signal();
        return;
      }
      if (stopping) {
        io.stop();  // asked twice
        return;
      }
      stopping = true;
      for (auto& a : acceptors)
        a->close();
      connections.abort_all();
      // After the poll the aborts kicked, so their resets go out first.
      boost::asio::post(io, [&] {
        sw.runner->stop();
        if (sw.stack_runner) sw.stack_runner->stop();
        boost::system::error_code ignored;
        signals.cancel(ignored);
      });
      wait_for_signal();
    });
  };
  wait_for_signal();

  if (sw.stack_runner) sw.stack_runner->start();
  sw.runner->start();
  std::string ports;
  for (std::size_t p = 0; p < sw.names.size(); ++p)
    ports += fmt::format("{}{} ({})", p == 0 ? "" : ", ", sw.names[p], sw.modes[p]);
  spdlog::info("{}: ports {}; ageing {} s", kProgram, ports,
               std::chrono::duration_cast<std::chrono::seconds>(options->ageing).count());
  if (sw.stack)
    spdlog::info("{}: management {} (MAC {}) on VLAN {}: ping, TCP echo {}, status page {}",
                 kProgram, options->ip->to_string(), options->mac, options->mgmt_vlan, kEchoPort,
                 kStatusPort);
  io.run();
  for (auto& p : sw.pcaps)
    p->flush();
  if (spdlog::default_logger()->should_log(spdlog::level::info)) {
    const std::string text = sw.counters_text();
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      spdlog::info("{}", rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest = rest.substr(nl + 1);
    }
  }
  return 0;
}
