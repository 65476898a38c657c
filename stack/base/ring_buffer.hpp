// Fixed-capacity rings, allocated once at construction and never again.
//  - RingQueue<T>: a FIFO of values (pending packets, accept queues, ...).
//  - ByteRing: a FIFO of bytes with peek at an offset (socket send and receive buffers).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "stack/base/bytes.hpp"

namespace tapir {

template <class T>
class RingQueue {
 public:
  explicit RingQueue(std::size_t capacity) : slots_(capacity) {}

  std::size_t capacity() const { return slots_.size(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == slots_.size(); }

  // Returns false (and leaves the queue unchanged) when full.
  bool push(T value) {
    if (full()) return false;
    slots_[(head_ + size_) % slots_.size()] = std::move(value);
    ++size_;
    return true;
  }
  T& front() {
    Expects(!empty());
    return slots_[head_];
  }
  const T& front() const {
    Expects(!empty());
    return slots_[head_];
  }
  // The i-th element from the front.
  T& operator[](std::size_t i) {
    Expects(i < size_);
    return slots_[(head_ + i) % slots_.size()];
  }
  std::optional<T> pop() {
    if (empty()) return std::nullopt;
    T v = std::move(slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return v;
  }
  void clear() {
    while (!empty())
      pop();
  }

 private:
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity) : buf_(capacity) {}

  std::size_t capacity() const { return buf_.size(); }
  std::size_t size() const { return size_; }
  std::size_t free_space() const { return buf_.size() - size_; }
  bool empty() const { return size_ == 0; }

  // Appends as much of data as fits; returns the number of bytes taken.
  std::size_t write(Bytes data) {
    const std::size_t n = std::min(data.size(), free_space());
    std::size_t done = 0;
    while (done < n) {
      const std::size_t tail = (head_ + size_) % buf_.size();
      const std::size_t chunk = std::min(n - done, buf_.size() - tail);
      std::copy_n(data.data() + done, chunk, buf_.data() + tail);
      size_ += chunk;
      done += chunk;
    }
    return n;
  }

  // Copies up to out.size() bytes starting `offset` bytes past the front, without consuming.
  std::size_t peek(std::size_t offset, BytesMut out) const {
    if (offset >= size_) return 0;
    const std::size_t n = std::min(out.size(), size_ - offset);
    std::size_t done = 0;
    while (done < n) {
      const std::size_t pos = (head_ + offset + done) % buf_.size();
      const std::size_t chunk = std::min(n - done, buf_.size() - pos);
      std::copy_n(buf_.data() + pos, chunk, out.data() + done);
      done += chunk;
    }
    return n;
  }

  // Drops up to n bytes from the front; returns how many were dropped.
  std::size_t consume(std::size_t n) {
    n = std::min(n, size_);
    head_ = buf_.empty() ? 0 : (head_ + n) % buf_.size();
    size_ -= n;
    if (size_ == 0) head_ = 0;
    return n;
  }

  // Copies out and consumes.
  std::size_t read(BytesMut out) { return consume(peek(0, out)); }

  // The contiguous readable bytes at the front (the first of at most two pieces).
  Bytes front_contiguous() const {
    const std::size_t chunk = std::min(size_, buf_.size() - head_);
    return {buf_.data() + head_, chunk};
  }

 private:
  std::vector<std::byte> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tapir
