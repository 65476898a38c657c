// MemoryWire: two Ethernet devices joined back to back inside one process, for simulations and
// tests. No threads, no Asio, no clock: a frame transmitted on one end at `now` becomes
// receivable on the other end at `now + latency`, in the order it was sent, and
// next_deadline() says when the next one arrives. Each direction has a bounded queue of frame
// buffers allocated at construction; a frame that finds it full is dropped and counted in the
// sender's dev.tx_dropped_full.
//
// The wire itself is perfect. For faults, wrap an end in a FaultyDevice, which applies the
// seeded fault model to both directions of that end (its own random stream for each):
//
//   MemoryWire wire({.latency = 1ms});
//   FaultyDevice lossy_a(wire.a(), *FaultSpec::parse("loss=2%,reorder=5%,seed=7"));
//   // stack A drives lossy_a, stack B drives wire.b()
//
// Wrap both ends (with different seeds) to have independent faults at each side.
#pragma once

#include <cstddef>

#include "drivers/device/device.hpp"
#include "stack/base/frame_pool.hpp"
#include "stack/base/ring_buffer.hpp"
#include "stack/base/time.hpp"

namespace tapir::drivers {

struct MemoryWireConfig {
  std::size_t mtu = 1500;
  Duration latency{0};
  // Frames in flight per direction.
  std::size_t queue_capacity = 256;
};

class MemoryWire {
 public:
  // The largest frame an end carries: mtu + 14 (Ethernet header) + 8 (two VLAN tags).
  static constexpr std::size_t kFrameOverhead = 22;

  explicit MemoryWire(MemoryWireConfig config = {});
  MemoryWire(const MemoryWire&) = delete;
  MemoryWire& operator=(const MemoryWire&) = delete;

  Device& a() { return a_; }
  Device& b() { return b_; }
  const MemoryWireConfig& config() const { return config_; }
  // Frames transmitted but not yet received, towards b and towards a.
  std::size_t in_flight_to_b() const { return to_b_.queue.size(); }
  std::size_t in_flight_to_a() const { return to_a_.queue.size(); }

 private:
  struct InFlight {
    Instant due;
    FrameBuf buf;
  };
  struct Direction {
    Direction(std::size_t capacity, std::size_t frame_size)
        : pool(capacity, frame_size), queue(capacity) {}
    FramePool pool;
    RingQueue<InFlight> queue;
  };

  class End final : public Device {
   public:
    End(const MemoryWire& wire, Direction& out, Direction& in) : wire_(wire), out_(out), in_(in) {}
    Medium medium() const override { return Medium::Ethernet; }
    std::size_t mtu() const override { return wire_.config_.mtu; }
    Result<std::size_t> receive(Instant now, FrameHandler& handler,
                                std::size_t max_frames) override;
    Result<void> transmit(Bytes frame, Instant now) override;
    Instant next_deadline() const override;
    const DeviceCounters& counters() const override { return counters_; }

   private:
    const MemoryWire& wire_;
    Direction& out_;
    Direction& in_;
    DeviceCounters counters_;
  };

  MemoryWireConfig config_;
  Direction to_b_;
  Direction to_a_;
  End a_;
  End b_;
};

}  // namespace tapir::drivers
