#include "stack/tcp/isn.hpp"

namespace tapir::tcp {

SipKey IsnGenerator::key_from(Random& random) {
  // Braced initialisation evaluates left to right: k0 is the first draw.
  return SipKey{random.next_u64(), random.next_u64()};
}

wire::SeqNum IsnGenerator::isn(Ipv4Address local, std::uint16_t local_port, Ipv4Address remote,
                               std::uint16_t remote_port, Instant now) const {
  // RFC 6528 §3: F(localip, localport, remoteip, remoteport, secretkey), a keyed hash of the
  // 4-tuple; the 12 bytes in the order documented in isn.hpp, truncated to 32 bits.
  const auto f = static_cast<std::uint32_t>(SipHasher(key_)
                                                .add_be32(local.value())
                                                .add_be16(local_port)
                                                .add_be32(remote.value())
                                                .add_be16(remote_port)
                                                .finish());
  // RFC 6528 §3: "M is the 4 microsecond timer". Shifting the two's-complement microsecond count
  // gives floor(us / 4) mod 2^62, and 2^62 is a multiple of 2^32, so the low 32 bits are exact:
  // one tick per 4 us, even across a negative epoch.
  const auto m = static_cast<std::uint32_t>(static_cast<std::uint64_t>(to_micros(now)) >> 2);
  // RFC 6528 §3: ISN = M + F(...), modulo 2^32 (RFC 9293 §3.4 sequence arithmetic).
  return wire::SeqNum(f) + m;
}

}  // namespace tapir::tcp
