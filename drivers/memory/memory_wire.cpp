#include "drivers/memory/memory_wire.hpp"

#include <algorithm>
#include <utility>

namespace tapir::drivers {

MemoryWire::MemoryWire(MemoryWireConfig config)
    : config_(config),
      to_b_(config.queue_capacity, config.mtu + kFrameOverhead),
      to_a_(config.queue_capacity, config.mtu + kFrameOverhead),
      a_(*this, to_b_, to_a_),
      b_(*this, to_a_, to_b_) {}

Result<std::size_t> MemoryWire::End::receive(Instant now, FrameHandler& handler,
                                             std::size_t max_frames) {
  std::size_t n = 0;
  // One latency for every frame, so the queue is in due order: stop at the first not yet due.
  while (n < max_frames && !in_.queue.empty() && in_.queue.front().due <= now) {
    auto frame = in_.queue.pop();
    counters_.rx_frames.inc();
    counters_.rx_bytes.inc(frame->buf.len());
    handler.on_frame(frame->buf.data(), now);
    ++n;
  }
  return n;
}

Result<void> MemoryWire::End::transmit(Bytes frame, Instant now) {
  if (frame.size() > out_.pool.buffer_size()) {
    counters_.tx_dropped_large.inc();
    return {};
  }
  if (out_.queue.full()) {
    counters_.tx_dropped_full.inc();
    return {};
  }
  FrameBuf buf = out_.pool.allocate();
  if (!buf) {  // cannot happen: one buffer per queue slot; counted all the same
    counters_.tx_dropped_full.inc();
    return {};
  }
  std::copy(frame.begin(), frame.end(), buf.storage().begin());
  buf.set_len(frame.size());
  out_.queue.push(InFlight{now + wire_.config_.latency, std::move(buf)});
  counters_.tx_frames.inc();
  counters_.tx_bytes.inc(frame.size());
  return {};
}

Instant MemoryWire::End::next_deadline() const {
  return in_.queue.empty() ? kNever : in_.queue.front().due;
}

}  // namespace tapir::drivers
