// A TCP connection's identity (RFC 9293 §3.3.1: "a pair of sockets", each an address and a port),
// as seen from this host: our end first, the peer's second.
//
// The demux and the listener key tables and hashes by it. Equality is exact, field by field. The
// hash is keyed (SipHash-2-4, stack/base/siphash.hpp) on purpose: the peer chooses its address
// and port, so an unkeyed hash would let it aim every connection at one bucket. There is
// therefore no std::hash specialisation; a table takes a FourTupleHash holding its own key.
//
// Hashed as 12 bytes in network byte order, the same message RFC 6528's F uses (isn.hpp):
//   local address (4), local port (2), remote address (4), remote port (2).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/siphash.hpp"

namespace tapir::tcp {

struct FourTuple {
  Ipv4Address local;
  std::uint16_t local_port = 0;
  Ipv4Address remote;
  std::uint16_t remote_port = 0;

  friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

// Appends the tuple's 12 bytes (the layout above) to a hasher, so a caller can hash the tuple
// together with other fields.
inline SipHasher& add_to(SipHasher& hasher, const FourTuple& t) noexcept {
  return hasher.add_be32(t.local.value())
      .add_be16(t.local_port)
      .add_be32(t.remote.value())
      .add_be16(t.remote_port);
}

// SipHash-2-4 of the tuple's 12 bytes under key.
inline std::uint64_t keyed_hash(const SipKey& key, const FourTuple& t) noexcept {
  SipHasher h(key);
  return add_to(h, t).finish();
}

// A hash functor for unordered containers keyed by FourTuple; the key is the table's secret.
class FourTupleHash {
 public:
  explicit FourTupleHash(SipKey key) noexcept : key_(key) {}
  std::size_t operator()(const FourTuple& t) const noexcept {
    return static_cast<std::size_t>(keyed_hash(key_, t));
  }

 private:
  SipKey key_;
};

}  // namespace tapir::tcp
