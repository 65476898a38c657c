// A bounded FIFO of datagrams, allocated once: the payload bytes in a ByteRing and one record
// per datagram in a RingQueue. Socket receive and send queues are these; a datagram that does
// not fit (in bytes or in count) is refused whole, never split, and the caller counts the drop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/endpoint.hpp"
#include "stack/base/ring_buffer.hpp"

namespace tapir {

struct DatagramInfo {
  Ipv4Endpoint remote;    // where it came from (receive) or goes to (send)
  Ipv4Address local;      // the local address it was sent to (receive) or from (send; any = pick)
  std::uint32_t len = 0;  // payload bytes
  std::uint8_t ttl = 0;   // the IPv4 TTL it arrived with (receive)
};

class DatagramQueue {
 public:
  DatagramQueue(std::size_t byte_capacity, std::size_t max_datagrams)
      : bytes_(byte_capacity), infos_(max_datagrams) {}

  bool empty() const { return infos_.empty(); }
  std::size_t size() const { return infos_.size(); }
  std::size_t bytes() const { return bytes_.size(); }
  std::size_t byte_capacity() const { return bytes_.capacity(); }
  // Whether a datagram of `len` bytes would be taken now.
  bool fits(std::size_t len) const { return !infos_.full() && len <= bytes_.free_space(); }

  // Appends the datagram (info.len is set from payload); false, and nothing queued, if it
  // does not fit.
  bool push(DatagramInfo info, Bytes payload) {
    if (!fits(payload.size())) return false;
    info.len = static_cast<std::uint32_t>(payload.size());
    bytes_.write(payload);
    infos_.push(info);
    return true;
  }

  // The oldest datagram's record, or nullopt when empty.
  std::optional<DatagramInfo> front() const {
    if (infos_.empty()) return std::nullopt;
    return infos_.front();
  }
  // Copies the oldest datagram's first out.size() bytes (at most its length) into out and
  // removes the whole datagram; returns its record. The queue must not be empty.
  DatagramInfo pop(BytesMut out) {
    const DatagramInfo info = infos_.front();
    bytes_.peek(0, out.first(std::min<std::size_t>(out.size(), info.len)));
    bytes_.consume(info.len);
    infos_.pop();
    return info;
  }
  void clear() {
    bytes_.consume(bytes_.size());
    infos_.clear();
  }

 private:
  ByteRing bytes_;
  RingQueue<DatagramInfo> infos_;
};

}  // namespace tapir
