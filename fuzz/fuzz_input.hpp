// FuzzInput: the fuzzer's bytes read as a stream of small integers, for targets that decode
// their input as a sequence of decisions. Reading past the end yields zeros (and empty() says
// the input is spent), so every decision has a value and a short input is simply a short run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapir::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return at_ >= size_; }
  std::size_t remaining() const { return empty() ? 0 : size_ - at_; }

  std::uint8_t u8() { return at_ < size_ ? data_[at_++] : std::uint8_t{0}; }
  std::uint16_t u16() {
    const auto hi = static_cast<unsigned>(u8());
    return static_cast<std::uint16_t>((hi << 8U) | u8());
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return (hi << 16U) | u16();
  }
  bool bit() { return (u8() & 1U) != 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace tapir::fuzz
