// TapHost: the set-up every network app shares, so each app's main() is about its own work.
// It configures logging, opens the TAP or TUN device, stacks the decorators the command line
// asks for (the device is wrapped in the fault model with --faults, the result captured with
// --pcap: PcapDevice(FaultyDevice(TapDevice))), creates the Stack with one interface and the
// default gateway, sets the trace-log FrameTracer when the `eth` logger is at trace, and makes
// the Runner. start() starts the runner and watches the signals:
//   SIGINT, SIGTERM   call the app's on_stop once (a second one stops the io_context at once)
//   SIGUSR1           print every non-zero counter (stack, runner, faults, device) to stderr,
//                     one `name value` per line
//
//   boost::asio::io_context io;
//   auto host = drivers::TapHost::open(io, drivers::tap_host_config(*options), "tapir-echo");
//   if (!host) return 2;
//   ... sockets on host->stack(), adapters on host->runner() ...
//   host->start([&] { /* cancel the app's work */ host->stop(); });
//   io.run();
//   host->log_counters();
//
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "drivers/device/device.hpp"
#include "drivers/memory/fault_model.hpp"
#include "drivers/pcap/pcap_device.hpp"
#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/frame_log.hpp"
#include "drivers/runtime/runner.hpp"
#include "drivers/tap/tap_device.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/stack.hpp"

namespace tapir::drivers {

// The common options, typed (apps/common/common_options.hpp makes them).
struct TapHostConfig {
  TapConfig device;
  Ipv4Cidr address;
  std::optional<Ipv4Address> gateway;
  MacAddress mac;
  std::size_t mtu = 1500;
  // IEEE 802.1Q: the interface's frames carry a C-tag with this VID and PCP; untagged frames
  // and other VIDs on the device are dropped and counted (eth.rx_untagged, eth.rx_unknown_vlan).
  std::optional<std::uint16_t> vlan;
  std::uint8_t vlan_pcp = 0;
  std::string pcap;  // empty: no capture
  FaultSpec faults;  // FaultSpec{} (no --faults): no fault decorator
  spdlog::level::level_enum log_level = spdlog::level::info;
  bool offload = true;  // the TAP's checksum and TSO offloads (TapConfig::offload), but --faults
  // Runner::set_busy_poll(): how long to keep polling the drained TAP before sleeping.
  std::chrono::microseconds busy_poll{0};
  // The process runs on this CPU only (sched_setaffinity(2)); nullopt: wherever the kernel puts it.
  std::optional<unsigned> cpu;
};

// A TapHostConfig from apps::CommonOptions, or any struct with its field names (a template, so
// the drivers need not include apps/).
template <class CommonOptions>
TapHostConfig tap_host_config(const CommonOptions& o) {
  return {o.device, o.ip,     o.gateway,   o.mac,     o.mtu,       o.vlan, o.vlan_pcp,
          o.pcap,   o.faults, o.log_level, o.offload, o.busy_poll, o.cpu};
}

class TapHost {
 public:
  // Everything above, or nullptr after printing "<program>: <what went wrong>" (one line) to
  // stderr. The stack's seed is the --faults seed when faults are given (a run then replays),
  // else from std::random_device.
  static std::unique_ptr<TapHost> open(boost::asio::io_context& io, const TapHostConfig& config,
                                       std::string_view program);
  ~TapHost();
  TapHost(const TapHost&) = delete;
  TapHost& operator=(const TapHost&) = delete;

  Stack& stack() { return *stack_; }
  Runner& runner() { return *runner_; }
  InterfaceId iface() const { return iface_; }
  const TapHostConfig& config() const { return config_; }
  // The kernel's name for the device (e.g. tap0).
  std::string device_name() const { return tap_->name(); }
  // "10.0.0.2/24 on tap0 (MAC 02:11:22:33:44:55)", "10.0.0.2/24 on tap0 VLAN 10 (MAC ...)",
  // or "10.0.0.2/24 on tun0" for a TUN.
  std::string summary() const;

  // Starts the runner and the signal watch (see the top of this file).
  void start(std::function<void()> on_stop);
  // Stops the runner and the signal watch (SIGINT and SIGTERM get their default action back).
  // The io_context's run() returns once the app's own work (its pending socket operations) is
  // done or cancelled.
  void stop();

  // Every non-zero counter, `name value` per line.
  void print_counters(std::FILE* out) const;
  // The same at info level of the default logger (what apps do at exit).
  void log_counters() const;

 private:
  TapHost(boost::asio::io_context& io, const TapHostConfig& config);
  template <class F>
  void for_each_counter(F&& f) const;
  void wait_for_signal();

  boost::asio::io_context& io_;
  TapHostConfig config_;
  // Declared in the order of construction; destroyed the other way round (the runner before
  // the devices it writes to, the pcap file flushed before its inner device closes).
  std::unique_ptr<TapDevice> tap_;
  std::optional<FaultyDevice> faulty_;
  std::optional<PcapDevice> pcap_;
  Device* outer_ = nullptr;
  FrameLog tracer_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Runner> runner_;
  boost::asio::signal_set signals_;
  InterfaceId iface_ = 0;
  std::function<void()> on_stop_;
  bool stopping_ = false;
  bool watching_signals_ = false;
};

}  // namespace tapir::drivers
