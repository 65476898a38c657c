#include "stack/link/neighbor_cache.hpp"

#include <algorithm>

namespace tapir::link {

NeighborCache::NeighborCache(const NeighborConfig& config)
    : config_(config), entries_(config.capacity), pool_(config.pending_frames, config.frame_size) {
  pending_.reserve(config.pending_frames);
}

NeighborCache::Entry* NeighborCache::find_mut(InterfaceIndex iface, Ipv4Address ip) {
  if (entries_.empty()) return nullptr;
  // Most frames go to the neighbour the last one went to: try it before the scan.
  Entry& hint = entries_[last_hit_];
  if (hint.state != State::Free && hint.iface == iface && hint.ip == ip) return &hint;
  for (auto& e : entries_) {
    if (e.state != State::Free && e.iface == iface && e.ip == ip) {
      last_hit_ = index_of(e);
      return &e;
    }
  }
  return nullptr;
}

const NeighborCache::Entry* NeighborCache::find(InterfaceIndex iface, Ipv4Address ip) const {
  for (const auto& e : entries_)
    if (e.state != State::Free && e.iface == iface && e.ip == ip) return &e;
  return nullptr;
}

NeighborCache::Entry* NeighborCache::allocate(Instant /*now*/) {
  Entry* victim = nullptr;
  for (auto& e : entries_) {
    if (e.state == State::Free) return &e;
    if (e.state != State::Incomplete && (victim == nullptr || e.used < victim->used)) victim = &e;
  }
  if (victim == nullptr) {
    counters_.table_full.inc();
    return nullptr;
  }
  *victim = Entry{};
  return victim;
}

std::optional<MacAddress> NeighborCache::lookup(InterfaceIndex iface, Ipv4Address ip, Instant now) {
  Entry* e = find_mut(iface, ip);
  if (e == nullptr || e->state == State::Incomplete) return std::nullopt;
  e->used = now;
  if (e->state == State::Reachable && now - e->confirmed >= config_.reachable_time) {
    // Still usable, but re-confirmed by unicast requests from the next poll().
    e->state = State::Probe;
    e->tries = 0;
    e->next_probe = now;
  }
  return e->mac;
}

bool NeighborCache::enqueue(InterfaceIndex iface, Ipv4Address ip, Bytes frame, FrameOwner owner,
                            Instant now) {
  if (frame.size() > pool_.buffer_size() || pending_.size() >= config_.pending_frames) {
    counters_.pending_full.inc();
    return false;
  }
  Entry* e = find_mut(iface, ip);
  if (e == nullptr) {
    e = allocate(now);
    if (e == nullptr) return false;
    e->state = State::Incomplete;
    e->iface = iface;
    e->ip = ip;
    e->used = now;
    e->tries = 0;
    e->next_probe = now;
  }
  // One neighbour that never answers must not hold the whole queue (Linux: unres_qlen).
  const auto idx = index_of(*e);
  if (std::ranges::count_if(pending_, [&](const Pending& p) { return p.entry == idx; }) >=
      static_cast<std::ptrdiff_t>(config_.pending_per_neighbor)) {
    counters_.pending_full.inc();
    return false;
  }
  auto buf = pool_.allocate();
  if (!buf) {
    counters_.pending_full.inc();
    return false;
  }
  store_bytes(buf.storage(), 0, frame);
  buf.set_len(frame.size());
  pending_.push_back(Pending{idx, std::move(buf), owner});
  return true;
}

Instant NeighborCache::next_deadline() const {
  Instant next = kNever;
  for (const auto& e : entries_) {
    if (e.state == State::Incomplete || e.state == State::Probe)
      next = std::min(next, e.next_probe);
    if (e.state == State::Reachable) next = std::min(next, e.used + config_.stale_time);
  }
  return next;
}

}  // namespace tapir::link
