// Fdb: the bridge's filtering database (IEEE 802.1Q-2018 §8.8), bounded and allocation-free
// after construction.
//
// Keyed by (MAC, VID) -> port (independent VLAN learning, §8.8.7: one learnt location per
// address per VLAN). Two kinds of entries share one capacity:
//   learnt   dynamic filtering entries (§8.8.3) made by the learning process (§8.7) from source
//            addresses; refreshed by every frame from that source; removed once unused for the
//            ageing time (default 300 s, §8.8.3 Table 8-6); moved when the source shows up on
//            another port
//   static   static filtering entries (§8.8.1): never aged, never moved by learning
//
// The capacity policy: when the table is full, a new source is NOT learnt (counted in
// fdb_full), unless the oldest learnt entry has already aged out, in which case it is removed
// first. Entries already in the table keep working and keep being refreshed; frames for the
// source that was not learnt are flooded, as for any unknown destination. This is Linux's
// policy at its learning limit, and the one a MAC flood cannot turn against the hosts already
// known: evicting the oldest would let a flood push out every real host and turn the bridge
// into a hub.
//
// Layout: `capacity` nodes in a fixed array (free list, plus a doubly-linked list of the
// learnt ones in order of last use, oldest first) and an open-addressing index of at least
// twice as many slots (linear probing, backward-shift deletion, so no tombstones build up).
// The index hash is SipHash-2-4 keyed from a seed, so an attacker who does not know the seed
// cannot pick MACs that collide cheaply; lookup is O(1) expected. The oldest learnt entry is
// the list's head, so ageing is O(1) per entry removed and next_expiry() is exact.
//
// Time: the database's clock only moves forward. A `now` earlier than one already seen is
// taken as the latest seen, so a confused caller cannot make the list of learnt entries
// unordered.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/counters.hpp"
#include "stack/base/error.hpp"
#include "stack/base/mac_address.hpp"
#include "stack/base/siphash.hpp"
#include "stack/base/time.hpp"

namespace tapir::bridge {

using PortId = std::uint16_t;

struct FdbEntry {
  MacAddress mac;
  std::uint16_t vid = 0;
  PortId port = 0;
  bool is_static = false;
  Instant last_seen{};  // learnt entries: when the source was last seen

  bool operator==(const FdbEntry&) const = default;
};

// What the database changed; the bridge's counters of the same names.
struct FdbCounters {
  Counter fdb_learned;  // a new learnt entry
  Counter fdb_moved;    // a learnt entry moved to another port (the station moved)
  Counter fdb_aged;     // a learnt entry removed for age (§8.8.3)
  Counter fdb_full;     // a new source not learnt: the table was full
};

class Fdb {
 public:
  enum class Learnt : std::uint8_t {
    Refreshed,  // known on this port: last_seen updated
    Added,      // a new entry
    Moved,      // known on another port: moved here
    Static,     // a static entry names this address: left alone
    Full,       // not known and no room: not learnt
  };

  // capacity: entries of both kinds together; seed keys the index hash.
  Fdb(std::size_t capacity, Duration ageing, std::uint64_t seed);

  // 802.1Q-2018 §8.7: the learning process records (mac, vid) as reachable through `port`.
  // The caller has checked that mac is an individual address.
  Learnt learn(MacAddress mac, std::uint16_t vid, PortId port, Instant now, FdbCounters& c);
  // The port (mac, vid) was learnt or configured on; a learnt entry older than the ageing time
  // is removed here (lazy ageing) and not returned.
  std::optional<PortId> lookup(MacAddress mac, std::uint16_t vid, Instant now, FdbCounters& c);
  // Adds a static entry, or makes an existing entry static on `port`. no_buffer_space when full.
  Result<void> add_static(MacAddress mac, std::uint16_t vid, PortId port, Instant now,
                          FdbCounters& c);
  // Removes the entry (either kind); false if there was none.
  bool remove(MacAddress mac, std::uint16_t vid);
  // Removes every learnt entry on `port`; static entries stay. Returns how many.
  std::size_t flush_port(PortId port);
  // Removes every learnt entry unused for the ageing time. Returns how many.
  std::size_t expire(Instant now, FdbCounters& c);
  // When the oldest learnt entry ages out (exact), or kNever with none.
  Instant next_expiry() const;

  // A negative ageing time is taken as zero (every learnt entry is already old).
  void set_ageing(Duration ageing) { ageing_ = std::max(ageing, Duration::zero()); }
  Duration ageing() const { return ageing_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return nodes_.size(); }
  std::size_t learnt_size() const { return learnt_; }

  // f(const FdbEntry&) for each entry, in no particular order. Learnt entries past their age
  // that no lookup or expire() has removed yet are listed too.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.node != kNone) f(nodes_[s.node].entry);
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffU;

  struct Node {
    FdbEntry entry;
    std::uint32_t prev = kNone;  // learnt list (oldest first), or unused
    std::uint32_t next = kNone;  // learnt list, or the free list
  };
  struct Slot {
    std::uint64_t key = 0;
    std::uint32_t node = kNone;
    std::uint32_t home = 0;  // the slot the key hashes to
  };

  static std::uint64_t key_of(MacAddress mac, std::uint16_t vid);
  std::uint32_t home_of(std::uint64_t key) const;
  // The slot holding key, or kNone.
  std::uint32_t find(std::uint64_t key) const;
  std::uint32_t insert(std::uint64_t key, const FdbEntry& e);  // the node; room was checked
  void erase_slot(std::uint32_t slot);
  void erase_node(std::uint32_t node);  // finds its slot
  bool expired(const Node& n, Instant now) const;
  Instant clamp(Instant now);
  // Removes the oldest learnt entry if it has aged out; true if it did.
  bool reclaim_oldest(Instant now, FdbCounters& c);
  void list_append(std::uint32_t node);
  void list_unlink(std::uint32_t node);

  std::vector<Node> nodes_;
  std::vector<Slot> slots_;
  std::uint32_t mask_ = 0;
  std::uint32_t free_ = kNone;
  std::uint32_t oldest_ = kNone;
  std::uint32_t newest_ = kNone;
  std::size_t size_ = 0;
  std::size_t learnt_ = 0;
  Duration ageing_;
  SipKey key_;
  Instant latest_{};
};

}  // namespace tapir::bridge
