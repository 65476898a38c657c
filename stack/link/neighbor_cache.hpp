// The ARP neighbour cache with the frames that wait on a resolution (RFC 826, RFC 1122 §2.3.2).
//
// States, after Linux's neighbour table:
//   Incomplete  a broadcast request went out; frames for this neighbour wait in a bounded
//               queue; requests are repeated every retry interval, max_tries in all, then the
//               entry fails: its frames are dropped and their owners told (host unreachable)
//   Reachable   the MAC is known and was confirmed less than reachable_time ago
//   Probe       the MAC is known but old; it is still used while unicast requests re-confirm it
//               (RFC 1122 §2.3.2.1 "unicast poll"); max_tries unanswered and the entry is removed
// An entry not used for stale_time is removed. When the table is full, the least recently used
// entry that is not Incomplete makes room; if every one is Incomplete, the new one is refused.
//
// The cache never builds frames: poll() says which requests to send, update() hands back the
// frames a resolution released, and the stack emits them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/counters.hpp"
#include "stack/base/frame_pool.hpp"
#include "stack/base/ipv4_address.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/time.hpp"
#include "stack/socket/socket_id.hpp"

namespace tapir::link {

using InterfaceIndex = std::uint16_t;

// Who queued a frame, to be told when its resolution fails.
struct FrameOwner {
  enum class Kind : std::uint8_t { None, Udp, Icmp, Tcp };
  Kind kind = Kind::None;
  SocketId socket;
};

struct NeighborConfig {
  std::size_t capacity = 64;
  Duration reachable_time = std::chrono::seconds(30);
  Duration stale_time = std::chrono::seconds(60);
  Duration retry_interval = std::chrono::seconds(1);
  unsigned max_tries = 3;
  std::size_t pending_frames = 128;  // all neighbours together
  std::size_t pending_per_neighbor = 64;
  std::size_t frame_size = 1518;
};

struct NeighborCounters {
  Counter resolved, failed, table_full, pending_full, pending_dropped;
  template <class F>
  void for_each_counter(F&& f) const {
    f("arp.resolved", resolved);
    f("arp.resolve_failed", failed);
    f("arp.table_full", table_full);
    f("arp.tx_pending_full", pending_full);
    f("arp.tx_pending_dropped", pending_dropped);
  }
};

class NeighborCache {
 public:
  enum class State : std::uint8_t { Free, Incomplete, Reachable, Probe };
  struct Entry {
    State state = State::Free;
    InterfaceIndex iface = 0;
    Ipv4Address ip;
    MacAddress mac;
    Instant confirmed{};   // the last reply (or other ARP) from it
    Instant used{};        // the last lookup for it
    Instant next_probe{};  // when the next request is due (Incomplete, Probe)
    unsigned tries = 0;    // requests sent in this round
  };
  // A request poll() wants sent: broadcast (Incomplete) or unicast to `mac` (Probe).
  struct Request {
    InterfaceIndex iface;
    Ipv4Address target;
    std::optional<MacAddress> unicast_to;
  };

  explicit NeighborCache(const NeighborConfig& config);

  // The MAC to send to ip on iface, if known (Reachable or Probe); marks the entry used. An
  // old Reachable entry moves to Probe here, so the next poll() re-confirms it.
  std::optional<MacAddress> lookup(InterfaceIndex iface, Ipv4Address ip, Instant now);

  // Queues a frame (its Ethernet header written but for the destination) until ip on iface is
  // resolved, creating an Incomplete entry whose first request is due at once. False, and
  // nothing queued, if the queue, this neighbour's share of it, or the table is full (counted).
  bool enqueue(InterfaceIndex iface, Ipv4Address ip, Bytes frame, FrameOwner owner, Instant now);

  // RFC 826's merge: learns ip -> mac on iface. An existing entry is updated (and confirmed);
  // a missing one is created only if `create` (the packet was addressed to us). Frames waiting
  // on it are handed to on_release(BytesMut frame, MacAddress mac) in the order queued.
  // Returns whether an entry existed before (RFC 826's merge flag).
  template <class F>
  bool update(InterfaceIndex iface, Ipv4Address ip, MacAddress mac, bool create, Instant now,
              F&& on_release);

  // Sends what is due: on_request(const Request&) for each request, on_failed(FrameOwner) for
  // each frame dropped by a failed resolution. Removes entries unused for stale_time.
  template <class Req, class Fail>
  void poll(Instant now, Req&& on_request, Fail&& on_failed);

  Instant next_deadline() const;

  const Entry* find(InterfaceIndex iface, Ipv4Address ip) const;
  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t pending() const { return pending_.size(); }
  const NeighborCounters& counters() const { return counters_; }

 private:
  struct Pending {
    std::uint32_t entry;
    FrameBuf buf;
    FrameOwner owner;
  };

  Entry* find_mut(InterfaceIndex iface, Ipv4Address ip);
  Entry* allocate(Instant now);
  std::uint32_t index_of(const Entry& e) const {
    return static_cast<std::uint32_t>(&e - entries_.data());
  }
  template <class F>
  void release(const Entry& e, F&& on_release);
  template <class Fail>
  void fail(Entry& e, Fail&& on_failed);

  NeighborConfig config_;
  std::vector<Entry> entries_;
  FramePool pool_;
  std::vector<Pending> pending_;  // reserved to config.pending_frames: never grows past it
  std::uint32_t last_hit_ = 0;    // the entry find_mut() found last
  NeighborCounters counters_;
};

template <class F>
bool NeighborCache::update(InterfaceIndex iface, Ipv4Address ip, MacAddress mac, bool create,
                           Instant now, F&& on_release) {
  Entry* e = find_mut(iface, ip);
  const bool existed = e != nullptr;
  if (e == nullptr) {
    if (!create) return false;
    e = allocate(now);
    if (e == nullptr) return false;
    e->iface = iface;
    e->ip = ip;
    e->used = now;
  }
  const bool was_incomplete = e->state == State::Incomplete;
  e->state = State::Reachable;
  e->mac = mac;
  e->confirmed = now;
  e->tries = 0;
  if (was_incomplete) {
    counters_.resolved.inc();
    release(*e, on_release);
  }
  return existed;
}

template <class F>
void NeighborCache::release(const Entry& e, F&& on_release) {
  const auto idx = index_of(e);
  std::size_t kept = 0;
  for (auto& p : pending_) {
    if (p.entry == idx) {
      on_release(p.buf.data(), e.mac);
      p.buf = FrameBuf{};
    } else {
      pending_[kept++] = std::move(p);
    }
  }
  pending_.resize(kept);
}

template <class Fail>
void NeighborCache::fail(Entry& e, Fail&& on_failed) {
  const auto idx = index_of(e);
  std::size_t kept = 0;
  for (auto& p : pending_) {
    if (p.entry == idx) {
      counters_.pending_dropped.inc();
      on_failed(p.owner);
      p.buf = FrameBuf{};
    } else {
      pending_[kept++] = std::move(p);
    }
  }
  pending_.resize(kept);
  counters_.failed.inc();
  e = Entry{};
}

template <class Req, class Fail>
void NeighborCache::poll(Instant now, Req&& on_request, Fail&& on_failed) {
  for (auto& e : entries_) {
    switch (e.state) {
      case State::Free:
      case State::Reachable:
        break;
      case State::Incomplete:
      case State::Probe:
        if (now < e.next_probe) break;
        if (e.tries >= config_.max_tries) {
          // RFC 1122 §2.3.2.1: give up after a bounded number of requests.
          if (e.state == State::Incomplete) {
            fail(e, on_failed);
          } else {
            e = Entry{};
          }
          break;
        }
        ++e.tries;
        e.next_probe = now + config_.retry_interval;
        on_request(
            Request{e.iface, e.ip,
                    e.state == State::Probe ? std::optional<MacAddress>(e.mac) : std::nullopt});
        break;
    }
    if (e.state == State::Reachable && now - e.used >= config_.stale_time) e = Entry{};
  }
}

}  // namespace tapir::link
