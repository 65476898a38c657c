// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4, in the manner of
// serial-number arithmetic, RFC 1982).
//
//   a < b  iff  the 32-bit difference b - a, read as a signed number, is positive.
//
// So SeqNum(0xffffffff) < SeqNum(0), and SeqNum(5) - SeqNum(0xfffffffe) == 7.
//
// Caveat: this order is only meaningful between numbers less than 2^31 apart. It is not
// transitive across a wider span (a < b and b < c do not imply a < c once c - a >= 2^31), and
// for two numbers exactly 2^31 apart both a < b and b < a hold (RFC 1982 §3.2 leaves that case
// undefined). TCP keeps every live window far below 2^31, which is what makes this safe.
//
// A SeqNum is never an integer in disguise: it is built explicitly from one, read back with
// value(), and only the arithmetic that makes sense on a circle is offered.
#pragma once

#include <cstdint>

namespace tapir::wire {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(std::uint32_t value) : value_(value) {}

  constexpr std::uint32_t value() const { return value_; }

  // RFC 9293 §3.4: sequence arithmetic is modulo 2^32.
  friend constexpr SeqNum operator+(SeqNum a, std::uint32_t n) { return SeqNum(a.value_ + n); }
  friend constexpr SeqNum operator-(SeqNum a, std::uint32_t n) { return SeqNum(a.value_ - n); }
  constexpr SeqNum& operator+=(std::uint32_t n) {
    value_ += n;
    return *this;
  }
  constexpr SeqNum& operator-=(std::uint32_t n) {
    value_ -= n;
    return *this;
  }

  // The signed distance from b to a: positive when a is after b. Well defined for any pair
  // (C++20 defines the unsigned-to-signed conversion modulo 2^32).
  friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) {
    return static_cast<std::int32_t>(a.value_ - b.value_);
  }

  friend constexpr bool operator==(SeqNum a, SeqNum b) = default;
  // RFC 9293 §3.4 / RFC 1982 §3.2: ordering by the sign of the 32-bit difference.
  friend constexpr bool operator<(SeqNum a, SeqNum b) { return (a - b) < 0; }
  friend constexpr bool operator>(SeqNum a, SeqNum b) { return (b - a) < 0; }
  friend constexpr bool operator<=(SeqNum a, SeqNum b) { return !(b < a); }
  friend constexpr bool operator>=(SeqNum a, SeqNum b) { return !(a < b); }

 private:
  std::uint32_t value_ = 0;
};

// The later / earlier of two sequence numbers (less than 2^31 apart).
constexpr SeqNum seq_max(SeqNum a, SeqNum b) {
  return a < b ? b : a;
}
constexpr SeqNum seq_min(SeqNum a, SeqNum b) {
  return a < b ? a : b;
}

}  // namespace tapir::wire
