#include "stack/tcp/send_buffer.hpp"

#include <algorithm>

#include <gsl/assert>

namespace tapir::tcp {

using wire::SackBlock;
using wire::SeqNum;

namespace {

std::uint32_t u32(std::size_t n) {
  return static_cast<std::uint32_t>(n);
}

}  // namespace

void SendBuffer::Sampler::take(const Segment& s) {
  // RFC 6298 §3 (Karn): an ACK that covers a retransmitted segment is ambiguous; no sample.
  if (s.retransmitted) ambiguous = true;
  if (!oldest || s.sent < *oldest) oldest = s.sent;
}

SendBuffer::SendBuffer(const SendBufferConfig& config)
    : config_(config), ring_(config.capacity), segs_(config.max_segments) {
  Expects(config.capacity >= 1 && config.capacity <= max_capacity);
  Expects(config.smss >= 1);
  Expects(config.max_segments >= 1);
}

void SendBuffer::reset(SeqNum iss_plus_1) {
  ring_.consume(ring_.size());
  count_ = 0;
  una_ = nxt_ = high_rxt_ = iss_plus_1;
  rescue_rxt_.reset();
  recovery_point_.reset();
  first_rxt_pending_ = false;
  sacked_bytes_ = 0;
}

void SendBuffer::set_smss(std::size_t smss) {
  Expects(smss >= 1);
  config_.smss = smss;
}

std::size_t SendBuffer::peek(SeqNum from, BytesMut out) const {
  if (from < una_) return 0;
  const auto offset = static_cast<std::size_t>(from - una_);
  if (offset > buffered()) return 0;
  return ring_.peek(offset, out);
}

std::size_t SendBuffer::find(SeqNum seq) const {
  // The first record whose end is past seq.
  const auto* begin = segs_.data();
  const auto* it =
      std::partition_point(begin, begin + count_, [seq](const Segment& s) { return s.end <= seq; });
  return static_cast<std::size_t>(it - begin);
}

bool SendBuffer::split(std::size_t i, SeqNum at, std::size_t reserve) {
  if (count_ + reserve >= segs_.size()) return false;
  Expects(i < count_ && segs_[i].start < at && at < segs_[i].end);
  std::copy_backward(segs_.begin() + static_cast<std::ptrdiff_t>(i),
                     segs_.begin() + static_cast<std::ptrdiff_t>(count_),
                     segs_.begin() + static_cast<std::ptrdiff_t>(count_ + 1));
  ++count_;
  segs_[i].end = at;
  segs_[i + 1].start = at;
  return true;
}

bool SendBuffer::mark_sent(SeqNum from, std::size_t len, Instant now, bool retransmission) {
  if (len == 0 || from < una_ || from > nxt_) return false;
  if (retransmission != (from < nxt_)) return false;
  const auto offset = static_cast<std::size_t>(from - una_);
  if (len > buffered() - offset) return false;
  const SeqNum end = from + u32(len);

  // The new part first, so that a refusal leaves everything unchanged.
  const bool has_new = end > nxt_;
  if (has_new && count_ == segs_.size() && segs_[count_ - 1].sacked) {
    counters_.tx_seg_refused.inc();
    return false;
  }
  if (from < nxt_) {
    const SeqNum rxt_end = seq_min(end, nxt_);
    // Keep a record free for the new part, if any: it may then be appended, not coalesced.
    mark_retransmitted(from, rxt_end, now, has_new ? 1 : 0);
    // RFC 6675 §5 (C.2): "If any of the data octets sent in (C.1) are below HighData, HighRxt
    // MUST be set to the highest sequence number of the retransmitted segment".
    high_rxt_ = seq_max(high_rxt(), rxt_end);
    if (first_rxt_pending_) {
      // RFC 6675 §5 (4.3): "set both HighRxt and RescueRxt to the highest sequence number in
      // the retransmitted segment".
      rescue_rxt_ = rxt_end;
      first_rxt_pending_ = false;
    }
  }
  if (has_new) {
    // RFC 6675 §5 (C.3): octets above HighData are new data: HighData is updated.
    if (count_ == segs_.size()) {
      counters_.tx_seg_coalesced.inc();
      segs_[count_ - 1].end = end;
    } else {
      segs_[count_++] = Segment{nxt_, end, now, false, false};
    }
    nxt_ = end;
  }
  return true;
}

bool SendBuffer::mark_sent(const NextSeg& seg, Instant now) {
  if (seg.rule != NextSegRule::Rescue) {
    return mark_sent(seg.from, seg.len, now, seg.rule != NextSegRule::New);
  }
  if (seg.len == 0 || seg.from < una_ || seg.from + u32(seg.len) > nxt_) return false;
  mark_retransmitted(seg.from, seg.from + u32(seg.len), now, 0);
  // RFC 6675 §4 NextSeg (4): "RescueRxt set to RecoveryPoint. HighRxt MUST NOT be updated."
  rescue_rxt_ = recovery_point_ ? *recovery_point_ : nxt_;
  return true;
}

void SendBuffer::mark_retransmitted(SeqNum from, SeqNum to, Instant now, std::size_t reserve) {
  std::size_t i = find(from);
  // Split at the edges when a record is free; otherwise the whole record counts as retransmitted.
  if (segs_[i].start < from && split(i, from, reserve)) ++i;
  for (; i < count_ && segs_[i].start < to; ++i) {
    if (segs_[i].end > to) split(i, to, reserve);
    // RFC 6298 §3 (Karn): this record's ACK will be ambiguous.
    segs_[i].retransmitted = true;
    segs_[i].sent = now;
  }
}

std::size_t SendBuffer::mark_sacked(SeqNum from, SeqNum to, Sampler& sampler) {
  std::size_t newly = 0;
  bool coarsened = false;
  std::size_t i = find(from);
  if (segs_[i].start < from && !segs_[i].sacked) {
    // Without a free record the partly covered record stays unSACKed.
    if (!split(i, from)) coarsened = true;
    ++i;
  }
  for (; i < count_ && segs_[i].start < to; ++i) {
    Segment& s = segs_[i];
    if (s.sacked) continue;
    if (s.end > to && !split(i, to)) {
      coarsened = true;
      break;
    }
    s.sacked = true;
    newly += len_of(s);
    sampler.take(s);
  }
  if (coarsened) counters_.rx_sack_coarsened.inc();
  sacked_bytes_ += newly;
  return newly;
}

void SendBuffer::acknowledge(SeqNum ack, Sampler& sampler) {
  std::size_t gone = 0;
  for (; gone < count_ && segs_[gone].start < ack; ++gone) {
    Segment& s = segs_[gone];
    const SeqNum covered = seq_min(s.end, ack);
    if (s.sacked) {
      sacked_bytes_ -= static_cast<std::size_t>(covered - s.start);
      // RFC 6298 §3 (Karn): retransmitted data acknowledged, SACKed before or not.
      if (s.retransmitted) sampler.ambiguous = true;
    } else {
      sampler.take(s);
    }
    if (s.end > ack) {
      s.start = ack;  // partly acknowledged: it stays, trimmed
      break;
    }
  }
  // gone counts the records wholly acknowledged: a trimmed one stopped the loop before ++gone.
  std::copy(segs_.begin() + static_cast<std::ptrdiff_t>(gone),
            segs_.begin() + static_cast<std::ptrdiff_t>(count_), segs_.begin());
  count_ -= gone;
  ring_.consume(static_cast<std::size_t>(ack - una_));
  una_ = ack;
}

AckResult SendBuffer::on_ack(SeqNum ack, gsl::span<const SackBlock> sacks, Instant now,
                             bool dup_ack_candidate) {
  AckResult out;
  // RFC 9293 §3.10.7.4: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send
  // an ACK, drop the segment, and return."
  if (ack > nxt_) {
    counters_.rx_ack_unsent.inc();
    out.status = AckStatus::Unsent;
    return out;
  }
  // RFC 9293 §3.10.7.4: "If the ACK is a duplicate (SEG.ACK < SND.UNA), it can be ignored."
  if (ack < una_) {
    counters_.rx_ack_old.inc();
    out.status = AckStatus::Old;
    return out;
  }
  // RFC 5681 §2: a duplicate ACK needs (a) outstanding data and (d) SEG.ACK == SND.UNA; the
  // caller vouches for (b), (c) and (e).
  out.duplicate = dup_ack_candidate && ack == una_ && nxt_ != una_;

  Sampler sampler;
  // RFC 9293 §3.10.7.4: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any
  // segments on the retransmission queue that are thereby entirely acknowledged are removed."
  if (ack > una_) {
    out.acked = static_cast<std::size_t>(ack - una_);
    acknowledge(ack, sampler);
  }

  for (const SackBlock& b : sacks) {
    // RFC 2018 §3: a block is [left, right): right is the sequence number after its last byte.
    // A block reaching past what was sent, empty or reversed reports nothing we can believe.
    if (!(b.left < b.right) || b.right > nxt_) {
      counters_.rx_sack_invalid.inc();
      continue;
    }
    // Wholly acknowledged already (a D-SACK, RFC 2883 §4, or stale): nothing to record.
    if (b.right <= una_) {
      counters_.rx_sack_old.inc();
      continue;
    }
    out.sacked += mark_sacked(seq_max(b.left, una_), b.right, sampler);
  }
  // RFC 6675 §2: "a segment that arrives carrying a SACK block that identifies previously
  // unacknowledged and un-SACKed octets between HighACK and HighData" is a duplicate ACK too.
  out.sack_duplicate = out.duplicate || out.sacked > 0;

  if (!sampler.ambiguous && sampler.oldest) out.rtt = now - *sampler.oldest;
  out.highest_sacked = highest_sacked();

  // RFC 6675 §5 (A): "An incoming cumulative ACK for a sequence number greater than
  // RecoveryPoint signals the end of loss recovery".
  if (recovery_point_ && una_ >= *recovery_point_) {
    recovery_point_.reset();
    rescue_rxt_.reset();
    first_rxt_pending_ = false;
    out.recovery_ended = true;
  }
  high_rxt_ = high_rxt();
  return out;
}

bool SendBuffer::is_lost(SeqNum seq) const {
  if (seq < una_ || seq >= nxt_) return false;
  const std::size_t at = find(seq);
  if (segs_[at].sacked) return false;
  std::size_t above = 0;
  std::size_t bytes = 0;
  for (std::size_t i = at + 1; i < count_; ++i) {
    if (!segs_[i].sacked) continue;
    ++above;
    bytes += len_of(segs_[i]);
  }
  return lost(above, bytes);
}

std::size_t SendBuffer::pipe() const {
  // RFC 6675 §4 SetPipe: "for each octet 'S1' in the sequence space between HighACK and HighData
  // that has not been SACKed: (a) If IsLost (S1) returns false: Pipe is incremented by 1 octet.
  // (b) If S1 <= HighRxt: Pipe is incremented by 1 octet." Within one unSACKed record every
  // octet has the same SACKed records above it, so IsLost is taken per record, from the top.
  std::size_t pipe = 0;
  std::size_t above = 0;
  std::size_t bytes = 0;
  const SeqNum rxt = high_rxt();
  for (std::size_t i = count_; i-- > 0;) {
    const Segment& s = segs_[i];
    if (s.sacked) {
      ++above;
      bytes += len_of(s);
      continue;
    }
    if (!lost(above, bytes)) pipe += len_of(s);                                          // (a)
    if (s.start < rxt) pipe += static_cast<std::size_t>(seq_min(s.end, rxt) - s.start);  // (b)
  }
  return pipe;
}

std::optional<NextSeg> SendBuffer::next_seg(std::size_t send_window) const {
  const SeqNum rxt = high_rxt();
  const std::optional<SeqNum> top_sacked = highest_sacked();
  // The lowest unSACKed octet above HighRxt, and the end of the unSACKed run holding it.
  std::optional<SeqNum> first;
  SeqNum run_end{};
  for (std::size_t i = count_ > 0 ? find(rxt) : 0; i < count_; ++i) {
    const Segment& s = segs_[i];
    if (s.sacked) {
      if (first) break;
      continue;
    }
    if (!first) first = seq_max(s.start, rxt);
    run_end = s.end;
  }
  auto one_segment = [&](SeqNum from, NextSegRule rule) {
    const auto len = std::min(config_.smss, static_cast<std::size_t>(run_end - from));
    return NextSeg{from, len, rule};
  };
  // RFC 6675 §4 NextSeg (1): "the smallest unSACKed sequence number 'S2'" with (1.a) S2 >
  // HighRxt, (1.b) S2 below the highest octet SACKed and (1.c) IsLost (S2): "one segment of up
  // to SMSS octets starting with S2 MUST be returned". IsLost can only fall as S2 rises (fewer
  // SACKed octets above), so the lowest candidate is the only one to try; IsLost implies (1.b).
  if (first && is_lost(*first)) return one_segment(*first, NextSegRule::Lost);

  // RFC 6675 §4 NextSeg (2): "If no sequence number 'S2' per rule (1) exists but there exists
  // available unsent data and the receiver's advertised window allows, the sequence range of one
  // segment of up to SMSS octets of previously unsent data starting with sequence number
  // HighData+1 MUST be returned."
  const auto window_end = una_ + u32(std::min(send_window, max_capacity));
  if (unsent() > 0 && window_end > nxt_) {
    const auto usable = static_cast<std::size_t>(window_end - nxt_);
    return NextSeg{nxt_, std::min({config_.smss, unsent(), usable}), NextSegRule::New};
  }

  // RFC 6675 §4 NextSeg (3): an unSACKed 'S3' meeting (1.a) and (1.b) but not (1.c): "one
  // segment of up to SMSS octets starting with S3 SHOULD be returned."
  if (first && top_sacked && *first < *top_sacked)
    return one_segment(*first, NextSegRule::Unsacked);

  // RFC 6675 §4 NextSeg (4): "a single 'rescue' retransmission per entry into loss recovery. If
  // HighACK is greater than RescueRxt (or RescueRxt is undefined), then one segment of upto
  // SMSS octets that MUST include the highest outstanding unSACKed sequence number SHOULD be
  // returned". With HighACK = una - 1 and RescueRxt = rescue_rxt - 1, HighACK > RescueRxt is
  // una > rescue_rxt.
  if (in_recovery() && (!rescue_rxt_ || una_ > *rescue_rxt_)) {
    for (std::size_t i = count_; i-- > 0;) {
      if (segs_[i].sacked) continue;
      // The highest unSACKed record: the segment ends with its last octet.
      SeqNum from = segs_[i].start;
      for (std::size_t j = i; j-- > 0 && !segs_[j].sacked;)
        from = segs_[j].start;
      const SeqNum to = segs_[i].end;
      if (static_cast<std::size_t>(to - from) > config_.smss) from = to - u32(config_.smss);
      return NextSeg{from, static_cast<std::size_t>(to - from), NextSegRule::Rescue};
    }
  }
  // RFC 6675 §4 NextSeg (5): "NextSeg () MUST indicate failure, and no segment is returned."
  return std::nullopt;
}

void SendBuffer::begin_recovery() {
  // RFC 6675 §5 (4.1): "RecoveryPoint = HighData".
  recovery_point_ = nxt_;
  rescue_rxt_.reset();
  first_rxt_pending_ = true;
}

SeqNum SendBuffer::on_rto() {
  // RFC 2018 §8: "after a retransmit timeout the data sender SHOULD turn off all of the SACKed
  // bits, since the timeout might indicate that the data receiver has reneged."
  for (std::size_t i = 0; i < count_; ++i)
    segs_[i].sacked = false;
  sacked_bytes_ = 0;
  // RFC 2018 §8: the sender "MUST retransmit the segment at the left edge of the window after a
  // retransmit timeout": nothing counts as retransmitted in this round yet.
  high_rxt_ = una_;
  // RFC 6675 §5.1: "If an RTO occurs during loss recovery ... RecoveryPoint MUST be set to
  // HighData ... and the loss recovery algorithm outlined in this document MUST be terminated."
  recovery_point_.reset();
  rescue_rxt_.reset();
  first_rxt_pending_ = false;
  return nxt_;
}

std::optional<std::pair<SeqNum, SeqNum>> SendBuffer::next_longer_than(SeqNum from,
                                                                      std::size_t len) const {
  if (from < una_) from = una_;
  for (std::size_t i = find(from); i < count_; ++i) {
    const Segment& s = segs_[i];
    if (!s.sacked && len_of(s) > len) return std::make_pair(seq_max(s.start, from), s.end);
  }
  return std::nullopt;
}

std::optional<SeqNum> SendBuffer::highest_sacked() const {
  for (std::size_t i = count_; i-- > 0;) {
    if (segs_[i].sacked) return segs_[i].end;
  }
  return std::nullopt;
}

std::size_t SendBuffer::sacked_ranges(gsl::span<SackBlock> out) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    if (!segs_[i].sacked) continue;
    if (n > 0 && out[n - 1].right == segs_[i].start) {
      out[n - 1].right = segs_[i].end;
    } else {
      if (n == out.size()) break;
      out[n++] = SackBlock{segs_[i].start, segs_[i].end};
    }
  }
  return n;
}

}  // namespace tapir::tcp
