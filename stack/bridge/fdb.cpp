#include "stack/bridge/fdb.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>

namespace tapir::bridge {
namespace {

// splitmix64 (Steele, Lea & Flood 2014): spreads a seed into the two words of a SipHash key.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

SipKey key_from_seed(std::uint64_t seed) {
  std::uint64_t s = seed;
  SipKey k;
  k.k0 = splitmix64(s);
  k.k1 = splitmix64(s);
  return k;
}

}  // namespace

Fdb::Fdb(std::size_t capacity, Duration ageing, std::uint64_t seed)
    : nodes_(capacity), ageing_(std::max(ageing, Duration::zero())), key_(key_from_seed(seed)) {
  // At least twice as many slots as entries: the load factor stays at or under 1/2, so linear
  // probing's expected probe length stays short, and one slot is always empty (find() ends).
  const std::size_t slots = std::bit_ceil(std::max<std::size_t>(2 * capacity, 2));
  slots_.resize(slots);
  mask_ = static_cast<std::uint32_t>(slots - 1);
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    nodes_[i].next = free_;
    free_ = static_cast<std::uint32_t>(i);
  }
}

std::uint64_t Fdb::key_of(MacAddress mac, std::uint16_t vid) {
  std::uint64_t k = 0;
  for (auto o : mac.octets())
    k = (k << 8) | o;
  return (k << 16) | vid;
}

std::uint32_t Fdb::home_of(std::uint64_t key) const {
  std::array<std::byte, 8> b{};
  for (std::size_t i = 0; i < 8; ++i)
    b[i] = static_cast<std::byte>((key >> (8 * i)) & 0xffU);
  return static_cast<std::uint32_t>(siphash24(key_, b)) & mask_;
}

std::uint32_t Fdb::find(std::uint64_t key) const {
  for (std::uint32_t i = home_of(key);; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.node == kNone) return kNone;
    if (s.key == key) return i;
  }
}

std::uint32_t Fdb::insert(std::uint64_t key, const FdbEntry& e) {
  const std::uint32_t node = free_;
  free_ = nodes_[node].next;
  nodes_[node] = Node{e, kNone, kNone};
  const std::uint32_t home = home_of(key);
  std::uint32_t i = home;
  while (slots_[i].node != kNone)
    i = (i + 1) & mask_;
  slots_[i] = Slot{key, node, home};
  ++size_;
  if (!e.is_static) {
    list_append(node);
    ++learnt_;
  }
  return node;
}

// Backward-shift deletion (Knuth, TAOCP vol. 3, §6.4, Algorithm R): the entries after the hole
// that would no longer be found from their home slot move back into it, so the table never
// holds tombstones.
void Fdb::erase_slot(std::uint32_t slot) {
  const std::uint32_t node = slots_[slot].node;
  if (!nodes_[node].entry.is_static) {
    list_unlink(node);
    --learnt_;
  }
  nodes_[node].next = free_;
  nodes_[node].prev = kNone;
  free_ = node;
  --size_;

  std::uint32_t hole = slot;
  for (std::uint32_t j = (hole + 1) & mask_; slots_[j].node != kNone; j = (j + 1) & mask_) {
    const std::uint32_t home = slots_[j].home;
    // The entry at j may stay if its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
}

void Fdb::erase_node(std::uint32_t node) {
  const FdbEntry& e = nodes_[node].entry;
  const std::uint32_t slot = find(key_of(e.mac, e.vid));
  if (slot != kNone) erase_slot(slot);
}

void Fdb::list_append(std::uint32_t node) {
  nodes_[node].prev = newest_;
  nodes_[node].next = kNone;
  if (newest_ != kNone)
    nodes_[newest_].next = node;
  else
    oldest_ = node;
  newest_ = node;
}

void Fdb::list_unlink(std::uint32_t node) {
  Node& n = nodes_[node];
  if (n.prev != kNone)
    nodes_[n.prev].next = n.next;
  else
    oldest_ = n.next;
  if (n.next != kNone)
    nodes_[n.next].prev = n.prev;
  else
    newest_ = n.prev;
  n.prev = n.next = kNone;
}

Instant Fdb::clamp(Instant now) {
  latest_ = std::max(latest_, now);
  return latest_;
}

// 802.1Q-2018 §8.8.3: a dynamic entry is removed once the ageing time has passed since it was
// last refreshed: present while its age is below the ageing time, gone when it reaches it.
bool Fdb::expired(const Node& n, Instant now) const {
  if (n.entry.is_static) return false;
  return now - n.entry.last_seen >= ageing_;
}

bool Fdb::reclaim_oldest(Instant now, FdbCounters& c) {
  if (oldest_ == kNone || !expired(nodes_[oldest_], now)) return false;
  erase_node(oldest_);
  c.fdb_aged.inc();
  return true;
}

Fdb::Learnt Fdb::learn(MacAddress mac, std::uint16_t vid, PortId port, Instant now,
                       FdbCounters& c) {
  now = clamp(now);
  const std::uint64_t key = key_of(mac, vid);
  if (const std::uint32_t slot = find(key); slot != kNone) {
    const std::uint32_t node = slots_[slot].node;
    Node& n = nodes_[node];
    // §8.8.1: static entries are not changed by the learning process.
    if (n.entry.is_static) return Learnt::Static;
    if (expired(n, now)) {
      // Aged out but not yet swept: it goes, and the source is learnt afresh below.
      erase_slot(slot);
      c.fdb_aged.inc();
    } else {
      const bool moved = n.entry.port != port;
      n.entry.port = port;
      n.entry.last_seen = now;
      if (newest_ != node) {
        list_unlink(node);
        list_append(node);
      }
      if (moved) {
        c.fdb_moved.inc();
        return Learnt::Moved;
      }
      return Learnt::Refreshed;
    }
  }
  if (size_ == nodes_.size() && !reclaim_oldest(now, c)) {
    c.fdb_full.inc();
    return Learnt::Full;
  }
  insert(key, FdbEntry{mac, vid, port, false, now});
  c.fdb_learned.inc();
  return Learnt::Added;
}

std::optional<PortId> Fdb::lookup(MacAddress mac, std::uint16_t vid, Instant now, FdbCounters& c) {
  now = clamp(now);
  const std::uint32_t slot = find(key_of(mac, vid));
  if (slot == kNone) return std::nullopt;
  const Node& n = nodes_[slots_[slot].node];
  if (expired(n, now)) {
    erase_slot(slot);
    c.fdb_aged.inc();
    return std::nullopt;
  }
  return n.entry.port;
}

Result<void> Fdb::add_static(MacAddress mac, std::uint16_t vid, PortId port, Instant now,
                             FdbCounters& c) {
  now = clamp(now);
  const std::uint64_t key = key_of(mac, vid);
  if (const std::uint32_t slot = find(key); slot != kNone) {
    const std::uint32_t node = slots_[slot].node;
    Node& n = nodes_[node];
    if (!n.entry.is_static) {
      list_unlink(node);
      --learnt_;
      n.entry.is_static = true;
    }
    n.entry.port = port;
    n.entry.last_seen = Instant{};
    return {};
  }
  if (size_ == nodes_.size() && !reclaim_oldest(now, c)) return fail(Errc::no_buffer_space);
  insert(key, FdbEntry{mac, vid, port, true, Instant{}});
  return {};
}

bool Fdb::remove(MacAddress mac, std::uint16_t vid) {
  const std::uint32_t slot = find(key_of(mac, vid));
  if (slot == kNone) return false;
  erase_slot(slot);
  return true;
}

std::size_t Fdb::flush_port(PortId port) {
  std::size_t n = 0;
  for (std::uint32_t node = oldest_; node != kNone;) {
    const std::uint32_t next = nodes_[node].next;
    if (nodes_[node].entry.port == port) {
      erase_node(node);
      ++n;
    }
    node = next;
  }
  return n;
}

std::size_t Fdb::expire(Instant now, FdbCounters& c) {
  now = clamp(now);
  std::size_t n = 0;
  while (reclaim_oldest(now, c))
    ++n;
  return n;
}

Instant Fdb::next_expiry() const {
  if (oldest_ == kNone) return kNever;
  const std::int64_t last = to_micros(nodes_[oldest_].entry.last_seen);
  const std::int64_t ageing = ageing_.count();
  // Saturate rather than overflow for an absurd ageing time.
  if (last >= 0 && ageing > std::numeric_limits<std::int64_t>::max() - last) return kNever;
  return instant_from_micros(last + ageing);
}

}  // namespace tapir::bridge
