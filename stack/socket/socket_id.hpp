// Socket handles are {slot, generation}: a slot is reused after close with a new generation, so
// a stale handle is refused with an error (std::errc::bad_file_descriptor), never dangling.
#pragma once

#include <cstdint>
#include <functional>

namespace tapir {

struct SocketId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0 is never a live generation

  constexpr bool operator==(const SocketId&) const = default;
};

// Called after Stack::receive() or Stack::poll() has finished its work, when a socket became
// readable or writable. A waker may only schedule work (post to an executor, set a flag); it
// must not call back into the stack.
using Waker = std::function<void()>;

}  // namespace tapir
