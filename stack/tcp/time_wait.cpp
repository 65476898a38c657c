#include "stack/tcp/time_wait.hpp"

#include <gsl/assert>

#include "stack/tcp/options.hpp"

namespace tapir::tcp {

namespace {

// RFC 7323 §5.2 / RFC 1982: timestamps compare modulo 2^32.
constexpr bool ts_after(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) > 0;
}

// RFC 9293 §3.4: SEG.LEN counts the data and one for each of SYN and FIN.
std::uint64_t seg_len(const wire::TcpRepr& seg) {
  return std::uint64_t{seg.payload_len} + (seg.syn ? 1U : 0U) + (seg.fin ? 1U : 0U);
}

}  // namespace

TimeWaitAction on_segment(TimeWaitEntry& entry, const wire::TcpRepr& seg, Instant now,
                          Duration two_msl, TimeWaitCounters& counters) {
  // 1. RFC 1337 §3 (F1): "Ignore RST segments in TIME-WAIT state"; RFC 7323 §5.2: nor may its
  // timestamps change anything.
  if (seg.rst) {
    counters.rx_rst_ignored.inc();
    return TimeWaitAction::Drop;
  }

  // 2. RFC 7323 §5.3 R1: PAWS, when both the entry and the segment have timestamps.
  const bool ts = entry.timestamps && seg.timestamps.has_value();
  const std::uint32_t tsval = ts ? seg.timestamps->tsval : 0;
  const bool paws = ts && paws_rejects(tsval, entry.ts_recent, entry.ts_recent_at, now, false);
  const std::uint64_t len = seg_len(seg);

  // 3. In sequence and empty: absorbed; the timer restarts and TS.Recent follows (RFC 7323
  // §4.3: SEG.SEQ <= Last.ACK.sent, which is RCV.NXT in TIME-WAIT), as in Linux.
  if (!paws && seg.seq_number == entry.rcv_nxt && len == 0) {
    entry.expiry = now + two_msl;
    if (ts && update_ts_recent(tsval, seg.seq_number, entry.rcv_nxt, entry.ts_recent,
                               entry.ts_recent_at, now)) {
      entry.ts_recent = tsval;
      entry.ts_recent_at = now;
    }
    return TimeWaitAction::Drop;
  }

  // 4. RFC 9293 §3.10.7.4 (fourth check) and RFC 6191 §2: a SYN that may open a new
  // incarnation. Having passed PAWS, SEG.TSval >= TS.Recent; greater is enough, equal needs
  // SEG.SEQ > RCV.NXT, as does a SYN (or an entry) without timestamps (the BSD test).
  if (seg.syn && !seg.ack_number && !paws &&
      (seg.seq_number > entry.rcv_nxt || (ts && ts_after(tsval, entry.ts_recent)))) {
    counters.rx_syn_reuse.inc();
    return TimeWaitAction::Reuse;
  }

  // 5. RFC 9293 §3.10.7.4: everything else is acknowledged (first check: unacceptable; fourth:
  // an old duplicate SYN, RFC 5961 §4.2's challenge ACK; fifth: "a retransmission of the remote
  // FIN. Acknowledge it, and restart the 2 MSL timeout"). Linux restarts the timer for
  // segments with ACK set and for PAWS failures, not for an ACK-less SYN.
  if (paws) counters.rx_paws_rejected.inc();
  if (paws || seg.ack_number) entry.expiry = now + two_msl;
  // Linux's tcp_oow_rate_limited(): data (and a FIN) without SYN is not part of an ACK loop.
  if (len == 0 || seg.syn) {
    if (now < entry.ack_limited_until) {
      counters.tx_acks_rate_limited.inc();
      return TimeWaitAction::Drop;
    }
    entry.ack_limited_until = now + kTimeWaitAckInterval;
  }
  counters.tx_acks.inc();
  return TimeWaitAction::Ack;
}

wire::TcpRepr ack_for(const TimeWaitEntry& entry, std::uint32_t ts_now) {
  wire::TcpRepr ack;
  ack.src_port = entry.tuple.local_port;
  ack.dst_port = entry.tuple.remote_port;
  ack.seq_number = entry.snd_nxt;
  ack.ack_number = entry.rcv_nxt;
  ack.window_len = entry.window;
  // RFC 7323 §3.2: TSecr echoes TS.Recent; RFC 7323 §7.1: our TSval carries the offset.
  if (entry.timestamps)
    ack.timestamps = wire::TcpTimestamps{ts_now + entry.ts_offset, entry.ts_recent};
  return ack;
}

TimeWaitTable::TimeWaitTable(std::size_t capacity, SipKey key)
    : entries_(capacity), links_(capacity), index_(capacity, key) {
  Expects(capacity <= max_capacity);
  // Every slot starts on the free list.
  for (std::size_t i = capacity; i > 0; --i) {
    links_[i - 1].next = free_;
    free_ = static_cast<std::uint32_t>(i - 1);
  }
}

std::uint32_t TimeWaitTable::index_of(const TimeWaitEntry& entry) const {
  const auto i = &entry - entries_.data();
  Expects(i >= 0 && static_cast<std::size_t>(i) < entries_.size());
  return static_cast<std::uint32_t>(i);
}

void TimeWaitTable::link(std::uint32_t i) {
  // After the last entry expiring at or before entry i: the tail itself, but for an expiry
  // earlier than the latest (a shorter two_msl, or a clock that went back).
  std::uint32_t after = tail_;
  while (after != kNil && entries_[i].expiry < entries_[after].expiry)
    after = links_[after].prev;
  const std::uint32_t before = after == kNil ? head_ : links_[after].next;
  links_[i] = Link{after, before};
  (after == kNil ? head_ : links_[after].next) = i;
  (before == kNil ? tail_ : links_[before].prev) = i;
}

void TimeWaitTable::unlink(std::uint32_t i) {
  const Link l = links_[i];
  (l.prev == kNil ? head_ : links_[l.prev].next) = l.next;
  (l.next == kNil ? tail_ : links_[l.next].prev) = l.prev;
}

void TimeWaitTable::remove(std::uint32_t i) {
  unlink(i);
  index_.erase(entries_[i].tuple);
  links_[i] = Link{kNil, free_};
  free_ = i;
  --size_;
}

bool TimeWaitTable::insert(const TimeWaitEntry& entry) {
  if (const auto existing = index_.find(entry.tuple)) {
    unlink(*existing);
    entries_[*existing] = entry;
    link(*existing);
    return true;
  }
  if (capacity() == 0) {
    counters_.tw_evicted.inc();
    return false;
  }
  if (free_ == kNil) {
    counters_.tw_evicted.inc();
    remove(head_);
  }
  const std::uint32_t i = free_;
  free_ = links_[i].next;
  entries_[i] = entry;
  index_.insert(entry.tuple, i);
  link(i);
  ++size_;
  return true;
}

const TimeWaitEntry* TimeWaitTable::find(const FourTuple& tuple) const {
  const auto i = index_.find(tuple);
  return i ? &entries_[*i] : nullptr;
}

bool TimeWaitTable::erase(const FourTuple& tuple) {
  const auto i = index_.find(tuple);
  if (!i) return false;
  remove(*i);
  return true;
}

void TimeWaitTable::clear() {
  while (head_ != kNil)
    remove(head_);
}

TimeWaitAction TimeWaitTable::on_segment(const TimeWaitEntry& entry, const wire::TcpRepr& seg,
                                         Instant now, Duration two_msl) {
  const std::uint32_t i = index_of(entry);
  const Instant expiry = entries_[i].expiry;
  const TimeWaitAction action = tcp::on_segment(entries_[i], seg, now, two_msl, counters_);
  if (entries_[i].expiry != expiry) {
    unlink(i);
    link(i);
  }
  return action;
}

std::size_t TimeWaitTable::expire(Instant now) {
  std::size_t n = 0;
  while (head_ != kNil && entries_[head_].expiry <= now) {
    remove(head_);
    counters_.tw_expired.inc();
    ++n;
  }
  return n;
}

}  // namespace tapir::tcp
