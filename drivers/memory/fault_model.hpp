// The seeded fault model and the FaultyDevice decorator (smoltcp's fault injector, gVisor's
// composable link endpoints): loss, duplication, corruption, delay and reordering, decided per
// frame from a seed, so a run with the same seed and the same inputs at the same instants
// replays exactly.
//
// The common command-line option spells a FaultSpec:
//
//   --faults loss=3%,dup=1%,reorder=5%,corrupt=0.1%,delay=5ms,jitter=10ms,seed=42
//
// Percentages take up to 4 decimals (0.0001% = 1 ppm); durations take us, ms or s. A reordered
// frame is held back beyond `delay` by an extra delay uniform in [1us, jitter], so frames sent
// after it overtake it. Each item may appear once; an empty spec means no faults.
//
// Wrap any device (a TAP, one end of a MemoryWire) to apply faults in both directions:
//
//   FaultyDevice faulty(tap, *FaultSpec::parse(text));   // the stack now drives `faulty`
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/device/device.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/error.hpp"
#include "stack/base/frame_pool.hpp"
#include "stack/base/random.hpp"
#include "stack/base/time.hpp"

namespace tapir::drivers {

struct FaultSpec {
  static constexpr std::uint32_t kMillion = 1'000'000;
  static constexpr Duration kDefaultJitter{10'000};

  std::uint32_t loss_ppm = 0;
  std::uint32_t dup_ppm = 0;
  std::uint32_t reorder_ppm = 0;
  std::uint32_t corrupt_ppm = 0;
  Duration delay{0};                // every frame that survives waits this long
  Duration jitter{kDefaultJitter};  // a reordered frame waits up to this much longer
  std::uint64_t seed = 0;

  // Errc::invalid_argument for an unknown key, a bad number or unit, a percentage above 100% or
  // with more than 4 decimals, an empty or repeated item. error_line() names the bad item.
  static Result<FaultSpec> parse(std::string_view text);
  // One line saying which item of `text` is bad and why, e.g.
  //   --faults: "loss=120%": percentage above 100%
  // or an empty string when `text` parses.
  static std::string error_line(std::string_view text);
  // The canonical spelling, which parse() reads back to an equal spec.
  std::string to_string() const;

  bool any() const {
    return loss_ppm != 0 || dup_ppm != 0 || reorder_ppm != 0 || corrupt_ppm != 0 ||
           delay != Duration{0};
  }
  bool operator==(const FaultSpec&) const = default;
};

// What happens to one frame.
struct FrameFate {
  bool drop = false;
  bool duplicate = false;  // delivered twice (both copies identical, at the same instant)
  bool corrupt = false;    // one bit flipped: bit (corrupt_bit % 8) of byte (corrupt_bit / 8)
  bool reorder = false;    // held back beyond the base delay
  std::size_t corrupt_bit = 0;
  Duration delay{0};  // total: the base delay, plus the extra hold when reordered

  bool operator==(const FrameFate&) const = default;
};

// Decides fates deterministically. Every decision consumes the same random draws whatever the
// probabilities are, so changing one rate does not reshuffle the others' fates. `stream`
// separates independent sequences from one seed (FaultyDevice uses one per direction).
class FaultModel {
 public:
  explicit FaultModel(const FaultSpec& spec, std::uint64_t stream = 0);

  FrameFate decide(std::size_t frame_len);
  const FaultSpec& spec() const { return spec_; }

 private:
  FaultSpec spec_;
  Random random_;
};

struct FaultCounters {
  // delayed: frames held for a non-zero base delay; reordered: frames held back beyond it.
  Counter dropped, duplicated, corrupted, delayed, reordered, queue_full;
  Counter too_large;  // a frame that had to be copied was longer than the queue's buffers

  template <class F>
  void for_each_counter(F&& f) const {
    f("faults.dropped", dropped);
    f("faults.duplicated", duplicated);
    f("faults.corrupted", corrupted);
    f("faults.delayed", delayed);
    f("faults.reordered", reordered);
    f("faults.queue_full", queue_full);
    f("faults.too_large", too_large);
  }
};

struct FaultyDeviceConfig {
  // Frames held per direction; when a direction's queue is full the frame is dropped and
  // counted in faults.queue_full.
  std::size_t queue_capacity = 256;
  // Buffer size of the held frames; 0 means mtu() + 22 (Ethernet header and two VLAN tags).
  std::size_t frame_size = 0;
};

// A decorator over any Device (not owning: `inner` must outlive it). Frames received from the
// inner device and frames transmitted through this one meet the fault model, each direction
// with its own random stream. Frames that must wait are copied once into a FramePool buffer
// allocated at construction; nothing is allocated per frame.
//
// receive() hands over the held received frames that are due (earliest due first; frames due at
// the same instant in the order they arrived), then the inner device's frames after faults. It
// reads at most max_frames from the inner device, so with losses it may return fewer frames while
// more are ready (the inner device's next_deadline() or descriptor then says so).
// transmit() sends now or holds; held transmitted frames go to the inner device on the first
// receive(), transmit() or poll() at or after their due time. next_deadline() is the earliest
// held frame's due time, or the inner device's deadline if that is sooner.
class FaultyDevice : public Device {
 public:
  FaultyDevice(Device& inner, const FaultSpec& spec, FaultyDeviceConfig config = {});

  Medium medium() const override { return inner_.medium(); }
  std::size_t mtu() const override { return inner_.mtu(); }
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max_frames) override;
  Result<void> transmit(Bytes frame, Instant now) override;
  Instant next_deadline() const override;
  int native_handle() const override { return inner_.native_handle(); }
  // Frames as seen at this decorator's outer edge (after faults on receive, before on transmit).
  const DeviceCounters& counters() const override { return counters_; }

  // Sends the held transmitted frames that are due at `now`.
  Result<void> poll(Instant now);

  const FaultCounters& fault_counters() const { return fault_counters_; }
  const FaultSpec& spec() const { return rx_.model.spec(); }
  std::size_t held_rx() const { return rx_.heap.size(); }
  std::size_t held_tx() const { return tx_.heap.size(); }

 private:
  struct Held {
    Instant due;
    std::uint64_t seq = 0;
    unsigned copies = 1;
    FrameBuf buf;
  };
  struct Direction {
    Direction(const FaultSpec& spec, std::uint64_t stream, std::size_t capacity,
              std::size_t frame_size);
    FaultModel model;
    FramePool pool;
    std::vector<Held> heap;          // a min-heap on (due, seq), reserved to the pool's capacity
    std::vector<std::byte> scratch;  // for a corrupted frame delivered at once
    std::uint64_t next_seq = 0;

    bool due(Instant now) const { return !heap.empty() && heap.front().due <= now; }
    Instant earliest() const { return heap.empty() ? kNever : heap.front().due; }
    void push(Held h);
    Held pop();
  };
  class RxAdapter;

  // Decides one frame's fate and counts it; calls `deliver(bytes)` for each copy due now (it
  // returns false when it cannot take one) and holds the rest in `dir`.
  template <class Deliver>
  void apply(Direction& dir, Bytes frame, Instant now, Deliver&& deliver);
  Result<void> flush_tx(Instant now);

  Device& inner_;
  Direction rx_;
  Direction tx_;
  DeviceCounters counters_;
  FaultCounters fault_counters_;
};

}  // namespace tapir::drivers
