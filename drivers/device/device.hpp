// The driver-side device interface: what the Asio runner, simulations and tests drive, and what
// TAP, TUN, the in-process memory wire and the decorators (fault injection, pcap capture)
// implement. A device moves whole frames (Ethernet frames, or IP packets for a TUN) and never
// interprets them; the stack does.
//
// Time comes in as an argument, as in the core: a device that delays frames (the fault model,
// the memory wire) is deterministic under a manual clock, and says when it next has something
// to deliver through next_deadline().
//
// Receiving hands each frame to a FrameHandler as a view into the device's own buffer, valid
// only during the call, so a frame is copied at most once on its way into the stack.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/error.hpp"
#include "stack/base/frame_info.hpp"
#include "stack/base/medium.hpp"
#include "stack/base/time.hpp"

namespace tapir::drivers {

using tapir::Medium;

struct DeviceCounters {
  Counter rx_frames, rx_bytes, tx_frames, tx_bytes;
  Counter rx_errors;         // a read failed with something other than "nothing to read"
  Counter tx_dropped_full;   // the device could not take the frame now (EAGAIN): dropped
  Counter tx_dropped_large;  // longer than the device carries
  Counter tx_errors;         // a write failed otherwise

  template <class F>
  void for_each_counter(F&& f) const {
    f("dev.rx_frames", rx_frames);
    f("dev.rx_bytes", rx_bytes);
    f("dev.tx_frames", tx_frames);
    f("dev.tx_bytes", tx_bytes);
    f("dev.rx_errors", rx_errors);
    f("dev.tx_dropped_full", tx_dropped_full);
    f("dev.tx_dropped_large", tx_dropped_large);
    f("dev.tx_errors", tx_errors);
  }
};

class FrameHandler {
 public:
  // `frame` is valid only during the call.
  virtual void on_frame(Bytes frame, Instant now) = 0;
  // A frame with the device's offloads (stack/base/frame_info.hpp), from a device opened with
  // them (TapConfig::offload). A handler that gives frames to a Stack passes `info` on; the
  // default forgets it, which is right only for a frame whose info is plain.
  virtual void on_offloaded_frame(Bytes frame, Instant now, const FrameInfo& info) {
    (void)info;
    on_frame(frame, now);
  }

 protected:
  ~FrameHandler() = default;
};

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual Medium medium() const = 0;
  // The largest IP packet the device carries (1500 for a TAP by default); an Ethernet device
  // carries frames of mtu() + 14 bytes (+ 4 per VLAN tag).
  virtual std::size_t mtu() const = 0;

  // Hands every frame that is ready at `now`, at most max_frames of them, to handler; returns how
  // many. Never blocks: zero means nothing is ready. An error is for the device as a whole
  // (e.g. it vanished); single bad reads are counted in rx_errors.
  virtual Result<std::size_t> receive(Instant now, FrameHandler& handler,
                                      std::size_t max_frames) = 0;

  // Sends one frame. Never blocks: a device that cannot take it now drops it and counts it
  // (DESIGN.md: a write that would block drops the frame), and that is not an error.
  virtual Result<void> transmit(Bytes frame, Instant now) = 0;
  // Sends a frame whose checksum or segmentation the device is to finish (frame_info.hpp).
  // Only a device whose offloads() is true takes one; the others refuse it (Errc::unsupported,
  // counted in tx_errors), unless `info` is plain.
  virtual Result<void> transmit_offloaded(Bytes frame, Instant now, const FrameInfo& info) {
    if (info.plain()) return transmit(frame, now);
    return fail(Errc::unsupported);
  }
  // Whether the device finishes checksums and cuts TSO frames (transmit_offloaded), and so
  // the stack may send it TCP frames of up to 64 KiB.
  virtual bool offloads() const { return false; }

  // When receive() next has something to hand over without any I/O (a delayed frame), or
  // kNever. Devices backed by a file descriptor also become ready through native_handle().
  virtual Instant next_deadline() const { return kNever; }

  // The file descriptor to wait on for readability, or -1 for devices that have none.
  virtual int native_handle() const { return -1; }

  virtual const DeviceCounters& counters() const = 0;
};

}  // namespace tapir::drivers
