// A fixed-capacity hash map from a connection's FourTuple to a 32-bit value (the slot of its
// connection, or of its TIME-WAIT entry): the TCP demux's index, looked up on every segment.
//
// Layout: one array of buckets, allocated by the constructor, whose size is a power of two and
// at least twice the capacity, so the load factor never exceeds 0.5 (bucket_count() =
// bit_ceil(max(2 * capacity, 2))). Nothing allocates after the constructor; insert() refuses
// once size() == capacity().
//
// Hashing: FourTupleHash, SipHash-2-4 under the key the constructor takes (four_tuple.hpp). The
// peer picks its own address and port, so with an unkeyed hash it could pick tuples that all land
// in one bucket and turn every lookup into a scan of the table; without the key it cannot tell
// where a tuple lands. Each bucket keeps the low 32 bits of its key's hash, so a probe compares
// keys only on a hash match and a deletion never hashes again.
//
// Probing is linear: a key lives in the first free bucket at or after its home bucket (hash mod
// bucket_count()), wrapping at the end, and the buckets from its home to it are all in use.
// Deletion keeps that true by backward shift (Knuth, TAOCP vol. 3, §6.4, Algorithm R): the
// entries after the erased one, up to the next free bucket, move back into the hole unless their
// home lies cyclically after it. So there are no tombstones: after any number of inserts and
// erases the table is laid out as if its current keys had been inserted afresh in some order,
// and lookups cost what they cost in a new table (at load 0.5, 1.5 probes for a hit and 2.5 for a
// miss on average, Knuth's figures).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/siphash.hpp"
#include "stack/tcp/four_tuple.hpp"

namespace tapir::tcp {

class TupleMap {
 public:
  // Bucket indices and stored hashes are 32 bits.
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;

  // Allocates the buckets. capacity <= max_capacity; 0 gives a map that refuses every insert.
  TupleMap(std::size_t capacity, SipKey key);

  // Adds key -> value. false (and the map unchanged) if key is present or the map is full.
  bool insert(const FourTuple& key, std::uint32_t value);
  // The value of key, or nullopt.
  std::optional<std::uint32_t> find(const FourTuple& key) const;
  bool contains(const FourTuple& key) const { return find(key).has_value(); }
  // Removes key; false if it was not present.
  bool erase(const FourTuple& key);
  // Removes every key (O(bucket_count())).
  void clear();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == capacity_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t bucket_count() const { return buckets_.size(); }

  // The longest probe a lookup of a present key takes: 1 + the largest distance from a key's
  // home bucket to its bucket (0 when empty). O(bucket_count()); for tests and diagnostics.
  std::size_t max_probe_len() const;

 private:
  struct Bucket {
    FourTuple key;
    std::uint32_t value = 0;
    std::uint32_t hash = 0;  // the low 32 bits of hasher_(key)
    bool used = false;
  };

  std::uint32_t hash_of(const FourTuple& key) const {
    return static_cast<std::uint32_t>(hasher_(key));
  }
  std::size_t home_of(std::uint32_t hash) const { return hash & mask_; }
  std::size_t next(std::size_t i) const { return (i + 1) & mask_; }
  // The bucket holding key, or bucket_count() if none.
  std::size_t locate(const FourTuple& key, std::uint32_t hash) const;

  FourTupleHash hasher_;
  std::vector<Bucket> buckets_;
  std::size_t mask_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

}  // namespace tapir::tcp
