// The send side of one TCP connection: the bytes the application wrote, from SND.UNA onward,
// and what the peer has said about them: cumulative ACKs (RFC 9293 §3.10.7.4), duplicate ACKs
// (RFC 5681 §2), SACK blocks (RFC 2018) and the RFC 6675 scoreboard built from them (IsLost,
// SetPipe, NextSeg, HighRxt, RescueRxt, RecoveryPoint). Karn's rule for RTT samples (RFC 6298
// §3) is applied here, because only this table knows which bytes were retransmitted.
//
// Storage is one ring of `capacity` bytes and one table of at most `max_segments` segment
// records, both allocated by the constructor; nothing allocates afterwards.
//
//     una                          nxt                                  una + buffered
//      |<---- sent, unacknowledged ->|<------------- unsent ------------->|<-- free -->|
//      [seg][seg][SACKed][seg][SACKed]
//
// Sequence numbers are half-open here: una() is the first unacknowledged byte (RFC 6675's
// HighACK + 1), nxt() the first byte never sent (RFC 6675's HighData + 1: nxt() never moves
// back, a retransmission is sent from wherever the caller peeks, and an ACK up to nxt() is
// acceptable). high_rxt() is one past the highest byte retransmitted (HighRxt + 1).
//
// The segment table. Every byte in [una, nxt) belongs to exactly one record; records are sorted,
// contiguous and non-empty. A record is one segment as sent (start, end, sent time, retransmitted,
// SACKed), or a part of one: SACK edges and partial retransmissions split records so that a record
// is SACKed entirely or not at all. When the table is full, nothing is refused that recovery
// needs; precision is given up instead, always on the safe side:
//   - new data (mark_sent at nxt): coalesced into the last record (which keeps its older sent
//     time and its retransmitted flag, so an RTT sample can only be too long, never too short,
//     and Karn can only drop samples); refused (mark_sent returns false, nothing recorded, nxt
//     unchanged) only when the last record is SACKed. Counted: tx_seg_coalesced, tx_seg_refused.
//   - a retransmission that would split a record: the whole record is marked retransmitted
//     (Karn loses samples, nothing else changes; HighRxt is exact either way).
//   - a SACK block that would split a record: only the records wholly inside the block are marked
//     (rx_sack_coarsened). SACK is advisory (RFC 2018 §8): knowing less of it only means
//     retransmitting more.
// The connection keeps new data flowing by checking segments_free() (or mark_sent's result).
//
// What the connection keeps, not this buffer: SYN and FIN (they take a sequence number but no
// byte: reset() starts at ISS + 1, and an ACK covering our FIN is passed here as ack - 1), the
// send window and its updates, the duplicate-ACK count, congestion control, and the recovery
// point that RFC 6675 §5.1 / RFC 6582 §3.2 step 4 preserve across an RTO (on_rto() returns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <gsl/span>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/ring_buffer.hpp"
#include "stack/base/time.hpp"
#include "stack/wire/seq_num.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

struct SendBufferConfig {
  // Bytes held at once, sent and unsent: at least 1, at most SendBuffer::max_capacity.
  std::size_t capacity = 256 * 1024;
  // RFC 5681 §2: SMSS, the sender's maximum segment size: NextSeg's segment size and IsLost's
  // byte threshold. At least 1; the connection may change it with set_smss() once the MSS option
  // is known.
  std::size_t smss = 1460;
  // Segment records held at once: at least 1. 256 covers 256 KB of 1 KB segments exactly.
  std::size_t max_segments = 256;
};

struct SendBufferCounters {
  Counter rx_ack_unsent;      // ACKs of bytes not yet sent (SEG.ACK > SND.NXT), ignored
  Counter rx_ack_old;         // ACKs below SND.UNA, ignored
  Counter rx_sack_invalid;    // SACK blocks empty, reversed, or reaching past nxt, ignored
  Counter rx_sack_old;        // SACK blocks wholly below una (e.g. D-SACK, RFC 2883), ignored
  Counter rx_sack_coarsened;  // SACK blocks only partly recorded: no free record to split
  Counter tx_seg_coalesced;   // new data merged into the last record: the table was full
  Counter tx_seg_refused;     // mark_sent refused: the table full and its last record SACKed

  template <class F>
  void for_each_counter(F&& f) const {
    f("tcp.rx_ack_unsent", rx_ack_unsent);
    f("tcp.rx_ack_old", rx_ack_old);
    f("tcp.rx_sack_invalid", rx_sack_invalid);
    f("tcp.rx_sack_old", rx_sack_old);
    f("tcp.rx_sack_coarsened", rx_sack_coarsened);
    f("tcp.tx_seg_coalesced", tx_seg_coalesced);
    f("tcp.tx_seg_refused", tx_seg_refused);
  }
};

// How an ACK number compares with the data sent (RFC 9293 §3.10.7.4, ESTABLISHED).
enum class AckStatus : std::uint8_t {
  Accepted,  // SND.UNA =< SEG.ACK =< SND.NXT: processed (equal to una: nothing newly acked)
  Old,       // SEG.ACK < SND.UNA: "it can be ignored"; ignored, SACK blocks too
  Unsent,    // SEG.ACK > SND.NXT: "send an ACK, drop the segment, and return"; ignored
};

// What on_ack() did with one ACK.
struct AckResult {
  AckStatus status = AckStatus::Accepted;
  std::size_t acked = 0;   // bytes newly acknowledged cumulatively: una's advance
  std::size_t sacked = 0;  // bytes newly SACKed (above the new una)
  // RFC 5681 §2: a duplicate ACK (see on_ack for which conditions the caller supplies).
  bool duplicate = false;
  // RFC 6675 §2: also a duplicate when it SACKs octets not SACKed before, whatever else it does.
  bool sack_duplicate = false;
  // now - sent time of the oldest newly acknowledged (cumulatively or by SACK) segment, none
  // if any newly acknowledged byte was ever retransmitted (Karn, RFC 6298 §3).
  std::optional<Duration> rtt;
  // One past the highest SACKed byte after this ACK, none when nothing is SACKed.
  std::optional<wire::SeqNum> highest_sacked;
  // RFC 6675 §5 (A): this cumulative ACK covered RecoveryPoint; loss recovery ended.
  bool recovery_ended = false;
};

// Which NextSeg rule chose a range (RFC 6675 §4).
enum class NextSegRule : std::uint8_t {
  Lost,      // rule (1): lost and not yet retransmitted
  New,       // rule (2): previously unsent data
  Unsacked,  // rule (3): unSACKed below the highest SACK, not yet retransmitted, not lost
  Rescue,    // rule (4): the once-per-recovery rescue retransmission
};

struct NextSeg {
  wire::SeqNum from{};
  std::size_t len = 0;  // 1 .. SMSS
  NextSegRule rule = NextSegRule::Lost;
  bool operator==(const NextSeg&) const = default;
};

class SendBuffer {
 public:
  // RFC 7323 §2.3: windows stay below 2^30, keeping every comparison far inside 2^31.
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;
  // RFC 6675 §2: DupThresh.
  static constexpr std::size_t dup_thresh = 3;

  // Allocates the ring and the segment table. una = nxt = 0 until reset().
  explicit SendBuffer(const SendBufferConfig& config);

  // Forgets every byte, record and SACK, and starts at `iss_plus_1` (the first data byte after
  // our SYN, RFC 9293 §3.4). Counters are kept.
  void reset(wire::SeqNum iss_plus_1);
  // Changes SMSS (>= 1): the MSS option arrived (RFC 9293 §3.7.1) or the path MTU fell.
  void set_smss(std::size_t smss);

  // The application's send(): appends as much of data as fits; returns how many bytes.
  std::size_t write(Bytes data) { return ring_.write(data); }
  std::size_t free_space() const { return ring_.free_space(); }
  // Bytes held: sent-but-unacknowledged plus unsent.
  std::size_t buffered() const { return ring_.size(); }

  // SND.UNA: the first unacknowledged byte.
  wire::SeqNum una() const { return una_; }
  // SND.NXT: the first byte never sent (never moves back; see the header comment).
  wire::SeqNum nxt() const { return nxt_; }
  // Bytes sent and not cumulatively acknowledged (RFC 5681's FlightSize): nxt - una.
  std::size_t in_flight() const { return static_cast<std::size_t>(nxt_ - una_); }
  // Bytes written and never sent.
  std::size_t unsent() const { return buffered() - in_flight(); }

  // Copies up to out.size() bytes starting at `from` (una <= from <= una + buffered) into out,
  // typically a frame behind its headers: the one copy on the send path. Returns the count, 0
  // when from is out of range. Consumes nothing.
  std::size_t peek(wire::SeqNum from, BytesMut out) const;

  // Records that [from, from + len) was sent at `now`. `retransmission` must be true exactly
  // when from < nxt (a mismatch is refused). Bytes below nxt are a retransmission: HighRxt moves
  // up to from + len (RFC 6675 §5 (C.2)) and their records are marked retransmitted (Karn);
  // bytes from nxt on are new: nxt advances (RFC 6675 §5 (C.3): HighData). Returns false, and
  // records nothing, when from < una, from > nxt, the range reaches past the buffered bytes, or
  // new data finds the table full with its last record SACKed (see the header comment).
  bool mark_sent(wire::SeqNum from, std::size_t len, Instant now, bool retransmission);
  // Records the transmission of what next_seg() returned. As above, except that a rule (4)
  // rescue sets RescueRxt = RecoveryPoint and leaves HighRxt alone (RFC 6675 §4 NextSeg (4)).
  bool mark_sent(const NextSeg& seg, Instant now);

  // Takes an ACK: RFC 9293 §3.10.7.4's acceptability (see AckStatus), then the cumulative ACK
  // (una advances, bytes leave the ring), then the SACK blocks (RFC 2018 §4; RFC 6675 §4
  // Update()). `dup_ack_candidate` is the part of RFC 5681 §2's duplicate-ACK definition only
  // the connection knows: (b) the segment carries no data, (c) neither SYN nor FIN, and (e) its
  // window equals the last one's. This buffer adds (a) outstanding data and (d) SEG.ACK ==
  // SND.UNA. SACK blocks are clipped to [una, nxt) after the cumulative ACK; a block reaching
  // past nxt, empty or reversed is ignored as a whole, one wholly below una is ignored (counted).
  AckResult on_ack(wire::SeqNum ack, gsl::span<const wire::SackBlock> sacks, Instant now,
                   bool dup_ack_candidate);

  // RFC 6675 §4 IsLost(seq): true when DupThresh (3) or more SACKed segments lie wholly above
  // seq, or more than (DupThresh - 1) * SMSS SACKed bytes lie above it. "Segments" are the table's
  // records (segments as sent, or the SACKed parts of them). False for a seq outside [una, nxt)
  // or itself SACKed.
  bool is_lost(wire::SeqNum seq) const;
  // RFC 6675 §4 SetPipe(): over every unSACKed byte in [una, nxt), one for each byte not lost
  // (a) and one more for each byte below high_rxt() (b).
  std::size_t pipe() const;
  // RFC 6675 §4 NextSeg(): the next range to send during loss recovery, or none (rule (5)).
  // `send_window` is SND.WND, counted from una: rule (2) sends only below una + send_window.
  // Rule (1) and (3) ranges stop at the next SACKed byte; every range is at most SMSS.
  std::optional<NextSeg> next_seg(std::size_t send_window) const;

  // RFC 6675 §5 (4.1): loss recovery starts: RecoveryPoint = HighData. The next retransmission
  // (the connection's (4.3) one, of the segment at una) also sets RescueRxt to its end.
  void begin_recovery();
  bool in_recovery() const { return recovery_point_.has_value(); }
  // One past RFC 6675's RecoveryPoint (nxt() when recovery began); none outside recovery.
  std::optional<wire::SeqNum> recovery_point() const { return recovery_point_; }

  // The retransmission timer expired. RFC 2018 §8: "after a retransmit timeout the data sender
  // SHOULD turn off all of the SACKed bits" and retransmit from the left edge; so every SACK
  // mark is cleared and HighRxt falls back to una (everything unacknowledged may be sent again).
  // RFC 6675 §5.1: loss recovery (if any) is terminated and RecoveryPoint = HighData; the
  // return value is that point (nxt()), which the connection MUST preserve: no new recovery until
  // una reaches it. RTT records (retransmitted flags) are kept.
  wire::SeqNum on_rto();

  // The first record at or after `from` (from >= una) that is not SACKed and is longer than
  // `len`, as [start, end) with start clipped to from; none if there is none. After the path MTU
  // fell, those are the segments sent too large for it (Linux's tcp_simple_retransmit).
  std::optional<std::pair<wire::SeqNum, wire::SeqNum>> next_longer_than(wire::SeqNum from,
                                                                        std::size_t len) const;

  // HighRxt + 1: one past the highest byte retransmitted in this recovery, at least una.
  wire::SeqNum high_rxt() const { return seq_max(high_rxt_, una_); }
  // HighData + 1: the same as nxt().
  wire::SeqNum high_data() const { return nxt_; }
  // RescueRxt + 1 (none: undefined, RFC 6675 §2).
  std::optional<wire::SeqNum> rescue_rxt() const { return rescue_rxt_; }
  // Bytes in [una, nxt) SACKed and not yet cumulatively acknowledged.
  std::size_t sacked_bytes() const { return sacked_bytes_; }
  // One past the highest SACKed byte, none when nothing is SACKed.
  std::optional<wire::SeqNum> highest_sacked() const;
  // The SACKed ranges as merged blocks, lowest first, at most out.size(); returns how many.
  std::size_t sacked_ranges(gsl::span<wire::SackBlock> out) const;

  // Segment records in use and free.
  std::size_t segments() const { return count_; }
  std::size_t segments_free() const { return config_.max_segments - count_; }

  const SendBufferConfig& config() const { return config_; }
  const SendBufferCounters& counters() const { return counters_; }

 private:
  struct Segment {
    wire::SeqNum start{};
    wire::SeqNum end{};
    Instant sent{};
    bool retransmitted = false;
    bool sacked = false;
  };
  // Karn and the oldest send time over the records an ACK newly acknowledges.
  struct Sampler {
    bool ambiguous = false;
    std::optional<Instant> oldest;
    void take(const Segment& s);
  };

  static std::size_t len_of(const Segment& s) { return static_cast<std::size_t>(s.end - s.start); }
  // The index of the record holding seq (una <= seq < nxt).
  std::size_t find(wire::SeqNum seq) const;
  // Splits record i at `at` (start < at < end) into two; false (nothing split) unless more than
  // `reserve` records are free.
  bool split(std::size_t i, wire::SeqNum at, std::size_t reserve = 0);
  // Marks [from, to) (una <= from < to <= nxt) as retransmitted at now, splitting records only
  // while more than `reserve` are free.
  void mark_retransmitted(wire::SeqNum from, wire::SeqNum to, Instant now, std::size_t reserve);
  // Marks [from, to) (una <= from < to <= nxt) SACKed; returns the bytes newly marked.
  std::size_t mark_sacked(wire::SeqNum from, wire::SeqNum to, Sampler& sampler);
  // Cumulatively acknowledges [una, ack).
  void acknowledge(wire::SeqNum ack, Sampler& sampler);
  // Whether an unSACKed record is lost, given the SACKed records and bytes above it.
  bool lost(std::size_t sacked_above, std::size_t sacked_bytes_above) const {
    // RFC 6675 §4 IsLost: DupThresh discontiguous SACKed segments above, or more than
    // (DupThresh - 1) * SMSS SACKed bytes above.
    return sacked_above >= dup_thresh || sacked_bytes_above > (dup_thresh - 1) * config_.smss;
  }

  SendBufferConfig config_;
  ByteRing ring_;              // the bytes from una on
  std::vector<Segment> segs_;  // max_segments slots; the first count_ used, sorted
  std::size_t count_ = 0;
  wire::SeqNum una_{};
  wire::SeqNum nxt_{};
  wire::SeqNum high_rxt_{};
  std::optional<wire::SeqNum> rescue_rxt_;
  std::optional<wire::SeqNum> recovery_point_;
  bool first_rxt_pending_ = false;  // RFC 6675 §5 (4.3): the next retransmission sets RescueRxt
  std::size_t sacked_bytes_ = 0;
  SendBufferCounters counters_;
};

}  // namespace tapir::tcp
