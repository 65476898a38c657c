// Initial sequence numbers (RFC 6528, "Defending against Sequence Number Attacks").
//
// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a
// timer ticking every 4 microseconds and F a keyed pseudorandom function of the connection's
// 4-tuple. Successive connections of one 4-tuple get increasing ISNs (so old duplicates of an
// earlier incarnation fall outside the new one's window, RFC 9293 §3.4.1), while an off-path
// attacker who does not know the key cannot predict another 4-tuple's ISN from those he sees
// on connections of his own (RFC 6528 §2, §3).
//
// Here F is SipHash-2-4 (stack/base/siphash.hpp) under a 128-bit key, keeping the low 32 bits of
// its 64-bit output. Its message is these 12 bytes, each field in network byte order, as on the
// wire:
//
//   offset  0: local address   (4 bytes)
//   offset  4: local port      (2 bytes)
//   offset  6: remote address  (4 bytes)
//   offset 10: remote port     (2 bytes)
//
// The generator holds only its key: no state changes per call, nothing allocates, and the time
// is the caller's (the core never reads a clock).
#pragma once

#include <cstdint>

#include "stack/base/ipv4_address.hpp"
#include "stack/base/random.hpp"
#include "stack/base/siphash.hpp"
#include "stack/base/time.hpp"
#include "stack/wire/seq_num.hpp"

namespace tapir::tcp {

class IsnGenerator {
 public:
  explicit IsnGenerator(SipKey key) : key_(key) {}

  // RFC 6528 §3: a fresh secret key, drawn from the stack's seeded random source (two 64-bit
  // draws, k0 then k1). A driver seeds that source from the OS, so the key is unpredictable
  // in a real stack and repeatable in a simulation.
  static SipKey key_from(Random& random);

  // The ISN for a connection of this 4-tuple opened at now. The timer M is floor(now in
  // microseconds / 4) mod 2^32 (on the stack's clock, whose epoch the driver chose).
  wire::SeqNum isn(Ipv4Address local, std::uint16_t local_port, Ipv4Address remote,
                   std::uint16_t remote_port, Instant now) const;

 private:
  SipKey key_;
};

}  // namespace tapir::tcp
