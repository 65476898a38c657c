#include "stack/ip/path_mtu.hpp"

#include <algorithm>
#include <array>

namespace tapir::ip {

PathMtuCache::PathMtuCache(const PathMtuConfig& config)
    : config_(config), entries_(config.capacity) {}

std::size_t PathMtuCache::plateau_below(std::size_t len) {
  // RFC 1191 §7, Table 7-1 (the plateaus in use), highest first.
  static constexpr std::array<std::size_t, 11> kPlateaus{65535, 32000, 17914, 8166, 4352, 2002,
                                                         1492,  1006,  508,   296,  68};
  for (const std::size_t p : kPlateaus)
    if (p < len) return p;
  return 68;
}

std::size_t PathMtuCache::mtu(Ipv4Address dst, std::size_t link_mtu, Instant now) const {
  for (const auto& e : entries_)
    if (e.mtu != 0 && e.dst == dst && now < e.expires) return std::min(e.mtu, link_mtu);
  return link_mtu;
}

bool PathMtuCache::on_frag_needed(Ipv4Address dst, std::uint16_t next_hop_mtu,
                                  std::size_t datagram_len, std::size_t link_mtu, Instant now) {
  // RFC 1191 §5: a zero Next-Hop MTU comes from a router that predates RFC 1191; take the
  // plateau below the datagram that did not fit.
  std::size_t reported = next_hop_mtu != 0 ? next_hop_mtu : plateau_below(datagram_len);
  // Floored like Linux's min_pmtu: a report below it sets the floor, never less.
  reported = std::max(reported, config_.min_mtu);
  const std::size_t current = mtu(dst, link_mtu, now);
  // RFC 1191 §3: the estimate only goes down in response to a message.
  if (reported >= current || entries_.empty()) {
    counters_.ignored.inc();
    return false;
  }
  Entry* slot = nullptr;
  for (auto& e : entries_) {
    if (e.mtu != 0 && e.dst == dst) {
      slot = &e;
      break;
    }
    if (slot == nullptr || e.mtu == 0 || (slot->mtu != 0 && e.expires < slot->expires)) slot = &e;
  }
  // RFC 1191 §6.3: an estimate is kept for a while, then the link's MTU is tried again.
  *slot = Entry{dst, reported, now + config_.expiry};
  counters_.lowered.inc();
  return true;
}

std::size_t PathMtuCache::size() const {
  return static_cast<std::size_t>(
      std::ranges::count_if(entries_, [](const Entry& e) { return e.mtu != 0; }));
}

}  // namespace tapir::ip
