#include "stack/tcp/tuple_map.hpp"

#include <algorithm>
#include <bit>

#include <gsl/assert>

namespace tapir::tcp {

namespace {

std::size_t bucket_count_for(std::size_t capacity) {
  Expects(capacity <= TupleMap::max_capacity);
  return std::bit_ceil(std::max<std::size_t>(2 * capacity, 2));
}

}  // namespace

TupleMap::TupleMap(std::size_t capacity, SipKey key)
    : hasher_(key),
      buckets_(bucket_count_for(capacity)),
      mask_(buckets_.size() - 1),
      capacity_(capacity) {}

std::size_t TupleMap::locate(const FourTuple& key, std::uint32_t hash) const {
  // The load factor is at most 0.5, so a free bucket always ends the walk.
  for (std::size_t i = home_of(hash);; i = next(i)) {
    const Bucket& b = buckets_[i];
    if (!b.used) return buckets_.size();
    if (b.hash == hash && b.key == key) return i;
  }
}

bool TupleMap::insert(const FourTuple& key, std::uint32_t value) {
  if (full()) return false;
  const std::uint32_t hash = hash_of(key);
  std::size_t i = home_of(hash);
  for (; buckets_[i].used; i = next(i)) {
    if (buckets_[i].hash == hash && buckets_[i].key == key) return false;
  }
  buckets_[i] = Bucket{key, value, hash, true};
  ++size_;
  return true;
}

std::optional<std::uint32_t> TupleMap::find(const FourTuple& key) const {
  const std::size_t i = locate(key, hash_of(key));
  if (i == buckets_.size()) return std::nullopt;
  return buckets_[i].value;
}

bool TupleMap::erase(const FourTuple& key) {
  std::size_t hole = locate(key, hash_of(key));
  if (hole == buckets_.size()) return false;
  // Backward shift (Knuth's Algorithm R): walk the run after the hole up to the next free
  // bucket. An entry whose home lies cyclically in (hole, j] is still reachable from its home
  // if the hole is left open, so it stays; any other entry would be cut off from its home by
  // the hole, so it moves into it and its old bucket becomes the hole.
  for (std::size_t j = next(hole); buckets_[j].used; j = next(j)) {
    const std::size_t home = home_of(buckets_[j].hash);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    buckets_[hole] = buckets_[j];
    hole = j;
  }
  buckets_[hole].used = false;
  --size_;
  return true;
}

void TupleMap::clear() {
  for (Bucket& b : buckets_)
    b.used = false;
  size_ = 0;
}

std::size_t TupleMap::max_probe_len() const {
  std::size_t longest = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    if (!buckets_[i].used) continue;
    const std::size_t distance = (i - home_of(buckets_[i].hash)) & mask_;
    longest = std::max(longest, distance + 1);
  }
  return longest;
}

}  // namespace tapir::tcp
