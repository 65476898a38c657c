// Path MTU per destination (RFC 1191): what ICMP "fragmentation needed" messages taught about
// the largest datagram that reaches a destination, kept in a bounded table with ageing.
//
// RFC 1191 §3: a host lowers its estimate of a path's MTU to the Next-Hop MTU of a
// fragmentation-needed message (an old router's message that carries none, §5, gets the next
// plateau below the datagram's length, §7). The estimate is never raised by a message, and
// never set below min_mtu: Linux's net.ipv4.route.min_pmtu (552) floors forged or broken
// reports. §6.3: an estimate expires after `expiry` (Linux's mtu_expires: 10 min), so a path
// that grew is found again. When the table is full, the entry that expires first makes room.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/counters.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/base/time.hpp"

namespace tapir::ip {

struct PathMtuConfig {
  std::size_t capacity = 64;
  std::size_t min_mtu = 552;
  Duration expiry = std::chrono::minutes(10);
};

struct PathMtuCounters {
  Counter lowered, ignored;
  template <class F>
  void for_each_counter(F&& f) const {
    f("ipv4.pmtu_lowered", lowered);  // a fragmentation-needed message lowered a path's MTU
    f("ipv4.pmtu_ignored", ignored);  // one that would not lower it (or that named no path)
  }
};

class PathMtuCache {
 public:
  explicit PathMtuCache(const PathMtuConfig& config);

  // The MTU to use towards dst: the learnt estimate if it is below link_mtu and has not
  // expired, else link_mtu.
  std::size_t mtu(Ipv4Address dst, std::size_t link_mtu, Instant now) const;

  // A fragmentation-needed message about a datagram of `datagram_len` bytes to dst, sent over a
  // link of link_mtu. next_hop_mtu is the message's field (0 from an RFC 792-era router).
  // Returns whether the estimate was lowered.
  bool on_frag_needed(Ipv4Address dst, std::uint16_t next_hop_mtu, std::size_t datagram_len,
                      std::size_t link_mtu, Instant now);

  // A fragmentation-needed message that names no path of ours: only counted.
  void ignore() { counters_.ignored.inc(); }

  std::size_t size() const;
  const PathMtuCounters& counters() const { return counters_; }
  const PathMtuConfig& config() const { return config_; }

  // RFC 1191 §7, Table 7-1: the plateaus an old router's message falls back to.
  static std::size_t plateau_below(std::size_t len);

 private:
  struct Entry {
    Ipv4Address dst;
    std::size_t mtu = 0;  // 0: free
    Instant expires{};
  };

  PathMtuConfig config_;
  std::vector<Entry> entries_;
  PathMtuCounters counters_;
};

}  // namespace tapir::ip
