// PcapDevice: a decorator that captures every frame received and transmitted through it to a
// pcap file (LINKTYPE_ETHERNET for an Ethernet device, LINKTYPE_RAW for a TUN), which Wireshark
// and tshark open. A frame whose checksum is left to the device (an offloaded TAP's,
// frame_info.hpp) is written with the checksum completed, as it would be on a wire.
//
// Record timestamps are `now + wall_offset`: the stack's time is since an epoch the driver
// chose, so the application passes the wall-clock time of that epoch (e.g. system_clock::now()
// minus the steady clock reading it uses for `now`) and this decorator reads no clock itself.
//
//   auto writer = PcapFileWriter::create("trace.pcap", PcapDevice::link_type_for(tap.medium()));
//   PcapDevice captured(tap, std::move(*writer), wall_offset);  // the stack drives `captured`
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "drivers/device/device.hpp"
#include "drivers/pcap/pcap_file.hpp"
#include "stack/wire/pcap.hpp"

namespace tapir::drivers {

class PcapDevice : public Device {
 public:
  // Not owning `inner`, which must outlive this; owning the writer.
  PcapDevice(Device& inner, PcapFileWriter writer, std::chrono::microseconds wall_offset);

  // Creates the file with the link type of inner's medium.
  static Result<PcapDevice> open(Device& inner, const std::string& path,
                                 std::chrono::microseconds wall_offset);
  static wire::LinkType link_type_for(Medium medium) {
    return medium == Medium::Ethernet ? wire::LinkType::Ethernet : wire::LinkType::Raw;
  }

  Medium medium() const override { return inner_.medium(); }
  std::size_t mtu() const override { return inner_.mtu(); }
  // Frames handed over are written before the handler sees them.
  Result<std::size_t> receive(Instant now, FrameHandler& handler, std::size_t max_frames) override;
  // The frame is written as the stack sent it, whatever the inner device then does with it.
  Result<void> transmit(Bytes frame, Instant now) override;
  Result<void> transmit_offloaded(Bytes frame, Instant now, const FrameInfo& info) override;
  bool offloads() const override { return inner_.offloads(); }
  Instant next_deadline() const override { return inner_.next_deadline(); }
  int native_handle() const override { return inner_.native_handle(); }
  // The inner device's: capturing drops nothing.
  const DeviceCounters& counters() const override { return inner_.counters(); }

  // Pushes buffered records to disk (the destructor does too).
  void flush() { writer_.flush(); }

  PcapDevice(PcapDevice&& other) noexcept
      : inner_(other.inner_), writer_(std::move(other.writer_)), wall_offset_(other.wall_offset_) {}

 private:
  // The frame as written to the file: its partial checksum completed in scratch_.
  void write(Bytes frame, const FrameInfo& info, Instant now);
  class Tap;
  void write(Bytes frame, Instant now);

  Device& inner_;
  PcapFileWriter writer_;
  std::chrono::microseconds wall_offset_;
  std::vector<std::byte> scratch_;  // for completing checksums; sized on first use
};

}  // namespace tapir::drivers
