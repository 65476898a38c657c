// A fixed pool of equal-sized frame buffers, allocated once. A FrameBuf is a move-only handle
// that returns its buffer to the pool when destroyed; the pool counts use and exhaustion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"

namespace tapir {

class FramePool;

class FrameBuf {
 public:
  FrameBuf() = default;
  FrameBuf(FrameBuf&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)), index_(o.index_), len_(o.len_) {}
  FrameBuf& operator=(FrameBuf&& o) noexcept {
    if (this != &o) {
      release();
      pool_ = std::exchange(o.pool_, nullptr);
      index_ = o.index_;
      len_ = o.len_;
    }
    return *this;
  }
  FrameBuf(const FrameBuf&) = delete;
  FrameBuf& operator=(const FrameBuf&) = delete;
  ~FrameBuf() { release(); }

  explicit operator bool() const { return pool_ != nullptr; }
  // The whole buffer (its capacity).
  BytesMut storage() const;
  // The frame: the first len() bytes.
  BytesMut data() const { return storage().first(len_); }
  std::size_t len() const { return len_; }
  void set_len(std::size_t len) {
    Expects(len <= storage().size());
    len_ = len;
  }

 private:
  friend class FramePool;
  FrameBuf(FramePool* pool, std::uint32_t index) : pool_(pool), index_(index) {}
  void release();

  FramePool* pool_ = nullptr;
  std::uint32_t index_ = 0;
  std::size_t len_ = 0;
};

class FramePool {
 public:
  struct Counters {
    Counter alloc_failed;
    template <class F>
    void for_each_counter(F&& f) const {
      f("pool.alloc_failed", alloc_failed);
    }
  };

  FramePool(std::size_t count, std::size_t buffer_size)
      : buffer_size_(buffer_size), memory_(count * buffer_size) {
    free_.reserve(count);
    for (std::size_t i = count; i > 0; --i)
      free_.push_back(static_cast<std::uint32_t>(i - 1));
  }
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // An empty handle (and a counted failure) when every buffer is in use.
  FrameBuf allocate() {
    if (free_.empty()) {
      counters_.alloc_failed.inc();
      return {};
    }
    const auto index = free_.back();
    free_.pop_back();
    return FrameBuf(this, index);
  }

  std::size_t buffer_size() const { return buffer_size_; }
  std::size_t capacity() const { return memory_.size() / (buffer_size_ == 0 ? 1 : buffer_size_); }
  std::size_t available() const { return free_.size(); }
  std::size_t in_use() const { return capacity() - available(); }
  const Counters& counters() const { return counters_; }

 private:
  friend class FrameBuf;
  BytesMut slot(std::uint32_t index) {
    return BytesMut(memory_).subspan(std::size_t{index} * buffer_size_, buffer_size_);
  }

  std::size_t buffer_size_;
  std::vector<std::byte> memory_;
  std::vector<std::uint32_t> free_;
  Counters counters_;
};

inline BytesMut FrameBuf::storage() const {
  return pool_ ? pool_->slot(index_) : BytesMut{};
}

inline void FrameBuf::release() {
  if (pool_ != nullptr) {
    pool_->free_.push_back(index_);
    pool_ = nullptr;
    len_ = 0;
  }
}

}  // namespace tapir
