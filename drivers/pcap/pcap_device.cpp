#include "drivers/pcap/pcap_device.hpp"

#include <algorithm>
#include <utility>

#include "stack/base/checksum.hpp"

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

void PcapDevice::write(Bytes frame, const FrameInfo& info, Instant now) {
  const std::size_t at = std::size_t{info.csum_start} + info.csum_offset;
  if (!info.checksum_partial || at + 2 > frame.size()) {
    write(frame, now);
    return;
  }
  // RFC 1071: the field holds the pseudo-header's sum; summing from csum_start over it and the
  // rest of the segment, then complementing, gives the checksum a wire would carry.
  if (scratch_.size() < frame.size()) scratch_.resize(std::max<std::size_t>(frame.size(), 65600));
  const BytesMut copy = BytesMut(scratch_).first(frame.size());
  std::copy(frame.begin(), frame.end(), copy.begin());
  store_be16(copy, at, checksum_finish(checksum_add(copy.subspan(info.csum_start))));
  write(copy, now);
}

// Writes each frame on its way from the inner device to the caller's handler.
class PcapDevice::Tap final : public FrameHandler {
 public:
  Tap(PcapDevice& dev, FrameHandler& out) : dev_(dev), out_(out) {}
  void on_frame(Bytes frame, Instant now) override {
    dev_.write(frame, now);
    out_.on_frame(frame, now);
  }
  void on_offloaded_frame(Bytes frame, Instant now, const FrameInfo& info) override {
    dev_.write(frame, info, now);
    out_.on_offloaded_frame(frame, now, info);
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

// A TSO frame is captured as the stack built it, whole, before the kernel cuts it (as tcpdump
// shows a Linux host's own frames on a NIC with TSO).
Result<void> PcapDevice::transmit_offloaded(Bytes frame, Instant now, const FrameInfo& info) {
  write(frame, info, now);
  return inner_.transmit_offloaded(frame, now, info);
}

}  // namespace tapir::drivers
