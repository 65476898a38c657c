#include "drivers/pcap/pcap_device.hpp"

#include <utility>

namespace tapir::drivers {

PcapDevice::PcapDevice(Device& inner, PcapFileWriter writer, std::chrono::microseconds wall_offset)
    : inner_(inner), writer_(std::move(writer)), wall_offset_(wall_offset) {}

Result<PcapDevice> PcapDevice::open(Device& inner, const std::string& path,
                                    std::chrono::microseconds wall_offset) {
  auto writer = PcapFileWriter::create(path, link_type_for(inner.medium()));
  if (!writer) return tl::unexpected(writer.error());
  return Result<PcapDevice>(tl::in_place, inner, std::move(*writer), wall_offset);
}

void PcapDevice::write(Bytes frame, Instant now) {
  writer_.write(frame, now.time_since_epoch() + wall_offset_);
}

// Writes each frame on its way from the inner device to the caller's handler.
class PcapDevice::Tap final : public FrameHandler {
 public:
  Tap(PcapDevice& dev, FrameHandler& out) : dev_(dev), out_(out) {}
  void on_frame(Bytes frame, Instant now) override {
    dev_.write(frame, now);
    out_.on_frame(frame, now);
  }

 private:
  PcapDevice& dev_;
  FrameHandler& out_;
};

Result<std::size_t> PcapDevice::receive(Instant now, FrameHandler& handler,
                                        std::size_t max_frames) {
  Tap tap(*this, handler);
  return inner_.receive(now, tap, max_frames);
}

Result<void> PcapDevice::transmit(Bytes frame, Instant now) {
  write(frame, now);
  return inner_.transmit(frame, now);
}

}  // namespace tapir::drivers
