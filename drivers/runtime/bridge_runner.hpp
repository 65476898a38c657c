// BridgeRunner: drives a sans-IO learning bridge (stack/bridge/bridge.hpp) from a Boost.Asio
// io_context, on the thread that runs it. It is to a Bridge what Runner is to a Stack:
//
//   boost::asio::io_context io;
//   bridge::Bridge br(bridge::BridgeConfig{});
//   drivers::BridgeRunner runner(io, br);
//   runner.attach(tap_a, *br.add_port({}), "tapA");   // a TAP behind port 0, ...
//   runner.start();
//   io.run();
//
// For each attached device with a descriptor the runner waits for it to become readable, hands
// up to kBatch frames to Bridge::receive(), and waits again. The bridge's PortSink writes each
// relayed copy straight to the device behind its port: Device::transmit never blocks, a device
// that cannot take a frame drops and counts it, and a write that fails (a TAP whose interface
// is down answers EIO) is counted here (bridge_drv.tx_failed) and is not fatal. One
// steady_timer is armed for the earliest of Bridge::next_deadline() (ageing) and every device's
// next_deadline() (in-process devices that hold frames).
//
// A host stack as a port (an internal port, for a management address): attach_host() joins
// a bridge port and an interface of a Stack driven by its own Runner on the same io_context,
// through an in-process MemoryWire without latency. Each side kicks the other after sending on
// the wire, so a ping to the switch's address is answered within the same turn of the
// io_context, and the bridge never re-enters the stack (nor the stack the bridge) from inside a
// transmit: frames cross the wire's bounded queues (a full queue drops and counts).
//
// Nothing here depends on the namespace a TAP is in: the descriptor keeps working when the
// interface is moved to another network namespace (`ip link set tapA netns HA`), and the
// runner makes no calls by interface name. Per frame it neither allocates nor formats a log
// line. A device whose receive() fails (the interface was deleted) is logged once (logger
// "drv") and no longer read, and its learnt FDB entries are flushed; frames still sent to it
// (flooded) are counted as failed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "drivers/device/device.hpp"
#include "drivers/memory/memory_wire.hpp"
#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/runner.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/time.hpp"
#include "stack/bridge/bridge.hpp"
#include "stack/stack.hpp"

namespace tapir::drivers {

// The runner's own drops and events (`bridge_drv.*`).
struct BridgeRunnerCounters {
  Counter tx_no_device;   // the bridge relayed to a port with no device attached: dropped
  Counter tx_failed;      // a device's transmit() returned an error (the device counts why)
  Counter device_failed;  // devices no longer read after receive() failed
  Counter wakeups;        // times the runner ran the bridge (descriptor, timer or kick)

  template <class F>
  void for_each_counter(F&& f) const {
    f("bridge_drv.tx_no_device", tx_no_device);
    f("bridge_drv.tx_failed", tx_failed);
    f("bridge_drv.device_failed", device_failed);
    f("bridge_drv.wakeups", wakeups);
  }
};

class BridgeRunner {
 public:
  // Frames taken from one device per wake-up before the others get a turn.
  static constexpr std::size_t kBatch = 64;

  // Neither is owned; both must outlive the runner.
  BridgeRunner(boost::asio::io_context& io, bridge::Bridge& bridge);
  ~BridgeRunner();
  BridgeRunner(const BridgeRunner&) = delete;
  BridgeRunner& operator=(const BridgeRunner&) = delete;

  // `device` (not owned; it must outlive the runner) is the one behind bridge port `port`;
  // `name` is what logs and listings call it. on_sent, if given, is called once after each
  // wake-up in which frames were sent to the device: the hook that wakes whoever reads the
  // other end of an in-process device. May be called before or after start().
  void attach(Device& device, bridge::PortId port, std::string name,
              std::function<void()> on_sent = {});

  // A host stack behind bridge port `port`: makes a MemoryWire (zero latency, `mtu`), puts
  // one end behind `port` and attaches the other to `stack_runner` as interface `iface` (an
  // Ethernet interface of stack_runner's Stack). From the first call on the runner tells time
  // by that stack runner's clock, so both sides of the wire agree; the runners of further host
  // stacks must share that clock (the Runner peer constructor). Call before start().
  void attach_host(bridge::PortId port, std::string name, Runner& stack_runner, InterfaceId iface,
                   std::size_t mtu = 1500);

  // Starts waiting on the devices and runs the bridge once.
  void start();
  // Cancels every wait; pending handlers return without touching the bridge. Descriptors are
  // released, never closed: the devices own them. start() may be called again.
  void stop();
  bool running() const { return running_; }

  // steady_clock since the runner was made, or the first host stack runner's clock after
  // attach_host().
  Instant now() const;
  // The system_clock reading at Instant zero, for PcapDevice timestamps.
  std::chrono::microseconds wall_offset() const;
  // Posts one run of the bridge (in-process devices may have frames); coalesces.
  void kick();

  bridge::Bridge& bridge() const { return bridge_; }
  const BridgeRunnerCounters& counters() const { return counters_; }
  // The name given to attach() for `port`, or "port<N>" if none.
  std::string port_name(bridge::PortId port) const;
  // The device behind `port`, or null.
  const Device* device(bridge::PortId port) const;
  // Whether the device behind `port` failed and is no longer read.
  bool failed(bridge::PortId port) const;

 private:
  struct Port;
  class Sink;
  class Receiver;
  class KickingDevice;

  void service(Port* ready);
  bool pump(Port& port, Instant now);
  void fail(Port& port, const std::error_code& error);
  void watch(Port& port, bool maybe_more);
  void on_readable(Port& port);
  void arm_timer();
  void release(Port& port);
  void begin_watch(Port& port);

  boost::asio::io_context& io_;
  bridge::Bridge& bridge_;
  std::chrono::steady_clock::time_point epoch_;
  std::chrono::microseconds wall_offset_;
  const Runner* clock_ = nullptr;  // the host stack's runner, after attach_host()
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<Port*> by_port_;  // the sink's map from PortId to port
  std::unique_ptr<Sink> sink_;
  struct HostWire;
  std::vector<std::unique_ptr<HostWire>> host_wires_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_at_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;
  bool kick_posted_ = false;
  bool running_ = false;
  BridgeRunnerCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tapir::drivers
