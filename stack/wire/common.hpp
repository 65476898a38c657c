// What every codec in stack/wire shares: the view contract, checksum policy, and Result<void>.
//
// The contract (after smoltcp): a view wraps a byte span without copying. `check()` validates
// every length the accessors rely on; once it has passed, no accessor can fail or read past the
// buffer. Accessors on an unchecked view are still bounds-checked by gsl::span (a bad access
// terminates rather than reading out of bounds). A repr is a plain value: `parse(view)` builds
// it from a checked view, `buffer_len()` says how many bytes `emit()` writes, and `emit(view)`
// writes every one of those bytes, computing checksums as the policy says.
#pragma once

#include <type_traits>

#include "stack/base/bytes.hpp"
#include "stack/base/error.hpp"

namespace tapir::wire {

using Status = Result<void>;

inline Status ok() {
  return {};
}

// Checksum handling is a runtime policy, so fuzz targets (and devices with offload) can turn
// verification off without a different build.
struct ChecksumPolicy {
  bool verify_rx = true;  // parse() rejects a bad checksum with Errc::bad_checksum
  bool fill_tx = true;    // emit() computes the checksum (else writes zero)

  static constexpr ChecksumPolicy all() { return {true, true}; }
  static constexpr ChecksumPolicy none() { return {false, false}; }
};

// B is `const std::byte` for a read-only view and `std::byte` for a writable one.
template <class B>
concept ByteType = std::is_same_v<std::remove_const_t<B>, std::byte>;

template <class B>
inline constexpr bool kIsMutable = !std::is_const_v<B>;

}  // namespace tapir::wire
