#include "stack/tcp/recv_buffer.hpp"

#include <algorithm>
#include <limits>

#include <gsl/assert>

namespace tapir::tcp {

namespace {

std::int64_t signed_len(std::size_t n) {
  return static_cast<std::int64_t>(n);
}
std::size_t unsigned_len(std::int64_t n) {
  return static_cast<std::size_t>(n);
}
std::uint32_t seq_len(std::size_t n) {
  return static_cast<std::uint32_t>(n);
}

}  // namespace

RecvBuffer::RecvBuffer(const RecvBufferConfig& config)
    : config_(config), ring_(config.capacity), ranges_(config.max_ranges + 1) {
  Expects(config.capacity > 0 && config.capacity <= max_capacity);
}

void RecvBuffer::reset(wire::SeqNum rcv_nxt) {
  head_ = 0;
  readable_ = 0;
  data_end_ = rcv_nxt;
  fin_.reset();
  fin_in_ = false;
  count_ = 0;
  ooo_bytes_ = 0;
  stamp_ = 0;
}

RecvOutcome RecvBuffer::write(wire::SeqNum seq, Bytes data, bool fin) {
  Expects(data.size() <= max_capacity);
  RecvOutcome out;
  // Everything in offsets from rcv_nxt (without the FIN), read modulo 2^32 around it: the
  // segment is [begin, end); storage is reserved for [0, capacity - readable).
  const std::int64_t begin = seq - data_end_;
  const std::int64_t end = begin + signed_len(data.size());
  if (fin) take_fin(seq + seq_len(data.size()), end);
  // A recorded FIN ends the stream before the right edge (take_fin() checks it is inside).
  const std::int64_t limit =
      fin_ ? signed_len(offset_of(*fin_)) : signed_len(config_.capacity - readable_);

  // RFC 9293 §3.10.7.4: trim what lies left of rcv_nxt (a duplicate) and what lies past the
  // window or the FIN; what remains is [lo, hi).
  const std::int64_t lo = std::max<std::int64_t>(begin, 0);
  const std::int64_t hi = std::max(lo, std::min(end, limit));
  const std::size_t left =
      unsigned_len(std::max<std::int64_t>(0, std::min<std::int64_t>(end, 0) - begin));
  const std::size_t past = unsigned_len(std::max<std::int64_t>(0, end - std::max(begin, limit)));
  (fin_ ? counters_.rx_past_fin_bytes : counters_.rx_past_window_bytes).inc(past);

  std::size_t stored = 0;
  if (hi > lo) {
    const std::size_t a = unsigned_len(lo);
    const std::size_t b = unsigned_len(hi);
    stored = store(a, data.subspan(unsigned_len(lo - begin), b - a));
    counters_.rx_dup_bytes.inc(left + (b - a) - stored);
    if (a == 0) {
      advance(b, out);
    } else {
      // RFC 9293 §3.10.7.4: "Segments with higher beginning sequence numbers SHOULD be held".
      out.out_of_order = true;
      counters_.rx_ooo_segments.inc();
      stored -= hold(a, b);
    }
  } else {
    counters_.rx_dup_bytes.inc(left);
  }
  out.dropped = data.size() - stored;

  // RFC 9293 §3.10.7.4, eighth step: the FIN counts once every byte before it is in.
  if (fin_ && !fin_in_ && data_end_ == *fin_) {
    fin_in_ = true;
    out.fin = true;
  }
  return out;
}

void RecvBuffer::take_fin(wire::SeqNum fin_seq, std::int64_t end) {
  if (fin_) {
    // A retransmitted FIN is fine; one somewhere else contradicts the first.
    if (*fin_ != fin_seq) counters_.rx_fin_conflict.inc();
    return;
  }
  // A FIN before bytes already received (in order or held) contradicts them.
  if (end < 0 || (count_ > 0 && fin_seq < ranges_[count_ - 1].end)) {
    counters_.rx_fin_conflict.inc();
    return;
  }
  // RFC 9293 §3.10.7.4: the FIN takes a sequence number, which must lie inside the window.
  if (end >= signed_len(config_.capacity - readable_)) {
    counters_.rx_fin_past_window.inc();
    return;
  }
  fin_ = fin_seq;
}

std::size_t RecvBuffer::store(std::size_t at, Bytes text) {
  const std::size_t end = at + text.size();
  std::size_t pos = at;
  std::size_t stored = 0;
  const auto copy = [&](std::size_t from, std::size_t to) {
    copy_in(readable_ + from, text.subspan(from - at, to - from));
    stored += to - from;
  };
  // The ranges are sorted: copy the gaps between those that overlap [at, end).
  for (std::size_t i = 0; i < count_ && pos < end; ++i) {
    const std::size_t s = offset_of(ranges_[i].start);
    const std::size_t e = offset_of(ranges_[i].end);
    if (e <= pos) continue;
    if (s >= end) break;
    if (s > pos) copy(pos, s);
    pos = e;
  }
  if (pos < end) copy(pos, end);
  return stored;
}

void RecvBuffer::copy_in(std::size_t at, Bytes src) {
  const std::size_t cap = ring_.size();
  Expects(at + src.size() <= cap);
  const std::size_t pos = (head_ + at) % cap;
  const std::size_t first = std::min(src.size(), cap - pos);
  std::copy_n(src.data(), first, ring_.data() + pos);
  std::copy_n(src.data() + first, src.size() - first, ring_.data());
}

void RecvBuffer::advance(std::size_t end, RecvOutcome& out) {
  // RFC 5681 §4.2: in-order data with out-of-order data held fills all or part of a gap.
  out.filled_hole = count_ > 0;
  std::size_t joined = 0;
  while (joined < count_ && offset_of(ranges_[joined].start) <= end) {
    const Range& r = ranges_[joined];
    end = std::max(end, offset_of(r.end));
    ooo_bytes_ -= static_cast<std::size_t>(r.end - r.start);
    ++joined;
  }
  std::copy(ranges_.begin() + static_cast<std::ptrdiff_t>(joined),
            ranges_.begin() + static_cast<std::ptrdiff_t>(count_), ranges_.begin());
  count_ -= joined;
  readable_ += end;
  data_end_ += seq_len(end);
  out.readable = end;
}

std::size_t RecvBuffer::hold(std::size_t begin, std::size_t end) {
  // The ranges that overlap or touch [begin, end) are [i, j); they merge with it into one,
  // stamped as the most recent (RFC 2018 §4: the first SACK block holds the latest segment).
  std::size_t i = 0;
  while (i < count_ && offset_of(ranges_[i].end) < begin)
    ++i;
  std::size_t j = i;
  while (j < count_ && offset_of(ranges_[j].start) <= end)
    ++j;
  Range merged{data_end_ + seq_len(begin), data_end_ + seq_len(end), ++stamp_};
  std::size_t before = 0;
  if (j > i) {
    merged.start = wire::seq_min(merged.start, ranges_[i].start);
    merged.end = wire::seq_max(merged.end, ranges_[j - 1].end);
    for (std::size_t k = i; k < j; ++k)
      before += static_cast<std::size_t>(ranges_[k].end - ranges_[k].start);
  }
  const auto at = [&](std::size_t k) { return ranges_.begin() + static_cast<std::ptrdiff_t>(k); };
  if (j == i) {
    // A new range: the table has one spare slot for it.
    std::copy_backward(at(i), at(count_), at(count_ + 1));
    ++count_;
  } else {
    std::copy(at(j), at(count_), at(i + 1));
    count_ -= j - i - 1;
  }
  ranges_[i] = merged;
  ooo_bytes_ += static_cast<std::size_t>(merged.end - merged.start) - before;

  if (count_ <= config_.max_ranges) return 0;
  // One range too many: drop the highest (see the header), perhaps the new one.
  const Range& last = ranges_[count_ - 1];
  const auto len = static_cast<std::size_t>(last.end - last.start);
  counters_.rx_ooo_pruned.inc();
  counters_.rx_ooo_pruned_bytes.inc(len);
  ooo_bytes_ -= len;
  --count_;
  // Only a new range (never a merged one) raises the count, so a pruned `merged` is exactly the
  // new data.
  return i == count_ ? len : 0;
}

std::size_t RecvBuffer::peek(std::size_t offset, BytesMut out) const {
  if (offset >= readable_) return 0;
  const std::size_t n = std::min(out.size(), readable_ - offset);
  const std::size_t cap = ring_.size();
  const std::size_t pos = (head_ + offset) % cap;
  const std::size_t first = std::min(n, cap - pos);
  std::copy_n(ring_.data() + pos, first, out.data());
  std::copy_n(ring_.data(), n - first, out.data() + first);
  return n;
}

std::size_t RecvBuffer::consume(std::size_t n) {
  n = std::min(n, readable_);
  head_ = (head_ + n) % ring_.size();
  readable_ -= n;
  return n;
}

std::size_t RecvBuffer::sack_blocks(gsl::span<wire::SackBlock> out) const {
  const std::size_t n = std::min(out.size(), count_);
  // RFC 2018 §4: most recent first. Stamps are distinct: pick the next lower one each time.
  std::uint64_t below = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t k = 0; k < n; ++k) {
    // Every stamp is at least 1, so some range is below `below` while k < count_.
    std::uint64_t stamp = 0;
    std::size_t best = 0;
    for (std::size_t r = 0; r < count_; ++r) {
      if (ranges_[r].stamp < below && ranges_[r].stamp > stamp) {
        stamp = ranges_[r].stamp;
        best = r;
      }
    }
    out[k] = wire::SackBlock{ranges_[best].start, ranges_[best].end};
    below = stamp;
  }
  return n;
}

}  // namespace tapir::tcp
