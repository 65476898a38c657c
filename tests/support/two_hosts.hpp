// Two stacks joined by a drivers::MemoryWire, each driven by its own Runner on one io_context
// in real time (the runners share an epoch and kick each other): the harness of the tests of
// the Asio adapters and of the apps over them. A is 10.0.0.1, B is 10.0.0.2, both /24.
//
//   TwoHosts hosts;
//   ... sockets on hosts.a / hosts.b, adapters on hosts.runner_a / hosts.runner_b ...
//   hosts.start();
//   hosts.io.run_for(bound);     // stop() the runners when done, so run_for returns early
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include <gtest/gtest.h>

#include "drivers/memory/fault_model.hpp"
#include "drivers/memory/memory_wire.hpp"
#include "drivers/runtime/asio.hpp"
#include "drivers/runtime/runner.hpp"
#include "stack/stack.hpp"

namespace tapir::test {

inline const Ipv4Address kIpA{10, 0, 0, 1};
inline const Ipv4Address kIpB{10, 0, 0, 2};
inline constexpr MacAddress kMacA({0x02, 0, 0, 0, 0, 0x01});
inline constexpr MacAddress kMacB({0x02, 0, 0, 0, 0, 0x02});

inline std::unique_ptr<Stack> make_stack(std::uint64_t seed) {
  StackConfig config;
  config.seed = seed;
  return std::move(*Stack::create(config));
}

struct TwoHosts {
  // faults: applied to both directions at A's end of the wire.
  explicit TwoHosts(const std::optional<drivers::FaultSpec>& faults = std::nullopt) {
    iface_a = *a->add_interface({.mac = kMacA, .address = *Ipv4Cidr::make(kIpA, 24)});
    iface_b = *b->add_interface({.mac = kMacB, .address = *Ipv4Cidr::make(kIpB, 24)});
    drivers::Device* end_a = &wire.a();
    if (faults) {
      drivers::FaultyDeviceConfig config;
      config.queue_capacity = 1024;
      faulty_a.emplace(wire.a(), *faults, config);
      end_a = &*faulty_a;
    }
    runner_a.attach(*end_a, iface_a);
    runner_b.attach(wire.b(), iface_b);
  }
  void start() {
    runner_a.start();
    runner_b.start();
  }
  void stop() {
    runner_a.stop();
    runner_b.stop();
  }

  boost::asio::io_context io;
  drivers::MemoryWire wire;
  std::optional<drivers::FaultyDevice> faulty_a;
  std::unique_ptr<Stack> a = make_stack(1);
  std::unique_ptr<Stack> b = make_stack(2);
  InterfaceId iface_a = 0, iface_b = 0;
  drivers::Runner runner_a{io, *a};
  drivers::Runner runner_b{io, *b, runner_a};
};

}  // namespace tapir::test
