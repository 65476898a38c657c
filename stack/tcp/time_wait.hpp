// TIME-WAIT without the connection (RFC 9293 §3.3.2, §3.10.7.4; RFC 6191; RFC 1337): the few
// words a connection needs while it waits out 2 MSL, kept in a table of their own, so that the
// Connection with its buffers is free for a new connection the moment it enters TIME-WAIT.
// Linux does the same with its inet_timewait_sock (net/ipv4/tcp_minisocks.c).
//
// Who does what:
//  - A connection entering TIME-WAIT gives the stack a TimeWaitEntry (its 4-tuple, SND.NXT and
//    RCV.NXT past both FINs, the window it advertised, its timestamp state, and the expiry, now +
//    2 MSL); the stack insert()s it and frees the connection.
//  - The demux looks a segment that matches no connection up here (find()) before the
//    listeners, and hands it to on_segment(), which says what to do:
//      Drop   send nothing
//      Ack    send ack_for(entry, ts_now)
//      Reuse  a SYN that may open a new incarnation of the connection (RFC 6191): if a listener
//             takes it, erase() the entry and give the SYN to the listener, whose new
//             connection starts at ISN reuse_isn(entry); with no listener, send ack_for()
//             instead (Linux: TCP_TW_SYN falls through to TCP_TW_ACK in tcp_v4_rcv()).
//  - poll() calls expire(now); next_expiry() joins the stack's next_deadline().
//
// The rules of on_segment(), in the order they are applied, with where they come from and how
// they compare with Linux's tcp_timewait_state_process() for its TIME_WAIT substate:
//  1. RST: ignored, whatever its sequence number; nothing changes (not even TS.Recent: RFC 7323
//     §5.2, a RST's timestamps MUST NOT update state). RFC 9293 §3.10.7.4 (second check) would
//     close on an in-window RST, which lets a stray RST end TIME-WAIT early and an old duplicate
//     then corrupt the next incarnation: RFC 1337's TIME-WAIT assassination. RFC 1337 §3's fix (F1)
//     is to "Ignore RST segments in TIME-WAIT state"; Linux does so with net.ipv4.tcp_rfc1337 = 1.
//     (Linux's default, tcp_rfc1337 = 0, deletes the entry on a RST at exactly RCV.NXT, and with 1
//     it also restarts the 2 MSL timer on that RST; we do neither.)
//  2. PAWS (RFC 7323 §5.3 R1) when timestamps are on and the segment carries them: SEG.TSval <
//     TS.Recent (options.hpp's paws_rejects(), without Linux's one tick of slack) makes the
//     segment unacceptable: it gets an ACK (rule 5) and restarts the timer, never Reuse.
//  3. A bare segment in sequence, SEG.SEQ == RCV.NXT and SEG.LEN == 0 (a repeated ACK of our FIN,
//     say): absorbed silently, the 2 MSL timer restarted, TS.Recent updated (RFC 7323 §4.3), as
//     Linux does. RFC 9293 §3.10.7.4 (fifth check, TIME-WAIT) says to acknowledge what arrives
//     and restart the timer, but answering a bare ACK with an ACK loops forever between two ends
//     that are both in TIME-WAIT (a simultaneous close).
//  4. A SYN without ACK that may start a new incarnation: Reuse. RFC 9293 §3.10.7.4 (fourth
//     check): "For the TIME-WAIT state, new connections can be accepted if the Timestamp Option
//     is used and meets expectations (per RFC 6191)"; RFC 6191 §2: with timestamps on both the
//     entry and the SYN, SEG.TSval > TS.Recent, or SEG.TSval == TS.Recent and SEG.SEQ > RCV.NXT;
//     without, SEG.SEQ > RCV.NXT (the traditional BSD test, RFC 6191's fallback). Linux's
//     condition, but for PAWS's tick of slack (rule 2). Sequence numbers compare modulo 2^32
//     (seq_num.hpp). RFC 1122 §4.2.2.13 allows the reopening if (1) the new ISN lies past the
//     old incarnation's sequence numbers (reuse_isn()) and (2) TCP "returns to TIME-WAIT state
//     if the SYN turns out to be an old duplicate"; (2) needs the entry kept until the new
//     connection is established, which neither Linux (its "RED-PEN" comment) nor this design
//     does: once erased, the entry is gone.
//  5. Anything else gets an ACK: an unacceptable segment (RFC 9293 §3.10.7.4, first check: "an
//     acknowledgment should be sent in reply"), an old duplicate SYN (fourth check, RFC 5961
//     §4.2: a challenge ACK), a retransmission of the peer's FIN (fifth check: "Acknowledge it,
//     and restart the 2 MSL timeout"), data (seventh check: the text is ignored). The 2 MSL timer
//     restarts when the segment has ACK set or failed PAWS, not otherwise (Linux: an ACK-less SYN
//     may be a good new SYN whose random ISN happens to lie below RCV.NXT). As in
//     Linux (tcp_oow_rate_limited()), the ACKs answering bare segments (SEG.LEN == 0) and SYNs
//     go at most once per kTimeWaitAckInterval per entry, against ACK storms and loops; the
//     ones answering data or a FIN always go, so a retransmitted FIN is always acknowledged.
// Linux, like this code, does not check the receive window in TIME-WAIT, and does not drop
// segments lacking timestamps once they were negotiated (RFC 7323 §3.2's SHOULD).
//
// Storage: `capacity` entries allocated by the constructor, a TupleMap (tuple_map.hpp) indexing
// them by 4-tuple, and a doubly linked list through them in order of expiry. Expiry is set as
// now + 2 MSL, so entries normally expire in the order they came in, and a restarted timer moves
// its entry to the tail: both are O(1) (the list is kept sorted from the tail, so an expiry out
// of order still lands in its place, at the cost of a walk). Unlike a ring, the list lets erase()
// and timer restarts take an entry out of the middle without tombstones. When the table is full,
// insert() evicts the entry nearest to expiry for the new one (counted): Linux, past
// tcp_max_tw_buckets, keeps the old ones and lets the new connection skip TIME-WAIT instead;
// either way one connection's TIME-WAIT is cut short, and evicting the oldest keeps the
// protection where it is freshest. Nothing allocates after the constructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/counters.hpp"
#include "stack/base/siphash.hpp"
#include "stack/base/time.hpp"
#include "stack/tcp/four_tuple.hpp"
#include "stack/tcp/tuple_map.hpp"
#include "stack/wire/seq_num.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

// Linux's net.ipv4.tcp_invalid_ratelimit default: the rate-limited ACKs of rule 5 go at most
// once per this interval per entry.
inline constexpr Duration kTimeWaitAckInterval = std::chrono::milliseconds(500);
// Linux's tw_isn = tw_snd_nxt + 65535 + 2: how far past SND.NXT reuse_isn() starts.
inline constexpr std::uint32_t kReuseIsnGap = 65535 + 2;

// What a connection leaves behind in TIME-WAIT (Linux's tcp_timewait_sock).
struct TimeWaitEntry {
  FourTuple tuple;              // local = our end
  wire::SeqNum snd_nxt{};       // SND.NXT, past our FIN: the sequence number of our ACKs
  wire::SeqNum rcv_nxt{};       // RCV.NXT, past their FIN: what our ACKs acknowledge
  std::uint16_t window = 0;     // the window field of our ACKs, raw: already scaled down
  bool timestamps = false;      // RFC 7323 timestamps were negotiated
  std::uint32_t ts_recent = 0;  // TS.Recent (RFC 7323 §4.3), when timestamps are on
  Instant ts_recent_at{};       // when TS.Recent was recorded (RFC 7323 §5.5)
  std::uint32_t ts_offset = 0;  // our TSval offset (RFC 7323 §7.1): TSval = ts_now + this
  Instant expiry{};             // when TIME-WAIT ends: entered (or restarted) + 2 MSL
  // Rate-limited ACKs (rule 5) are not sent before this (Linux's tw_last_oow_ack_time plus the
  // interval). Instant::min(): none sent yet.
  Instant ack_limited_until = Instant::min();

  friend bool operator==(const TimeWaitEntry&, const TimeWaitEntry&) = default;
};

enum class TimeWaitAction : std::uint8_t {
  Drop,   // send nothing
  Ack,    // send ack_for()
  Reuse,  // a SYN that may open a new incarnation (see the header comment)
};

struct TimeWaitCounters {
  Counter tw_expired;      // entries whose 2 MSL ran out
  Counter tw_evicted;      // TIME-WAITs cut short for lack of room: the oldest entry evicted for a
                           // new one, or the new one itself when the capacity is 0
  Counter rx_rst_ignored;  // rule 1 (RFC 1337)
  Counter rx_paws_rejected;      // rule 2 (RFC 7323 §5.3 R1)
  Counter rx_syn_reuse;          // rule 4: SYNs that may open a new incarnation (RFC 6191)
  Counter tx_acks;               // rule 5: ACKs to send
  Counter tx_acks_rate_limited;  // rule 5: ACKs not sent, inside kTimeWaitAckInterval

  template <class F>
  void for_each_counter(F&& f) const {
    f("tcp.tw_expired", tw_expired);
    f("tcp.tw_evicted", tw_evicted);
    f("tcp.tw_rx_rst_ignored", rx_rst_ignored);
    f("tcp.tw_rx_paws_rejected", rx_paws_rejected);
    f("tcp.tw_rx_syn_reuse", rx_syn_reuse);
    f("tcp.tw_tx_acks", tx_acks);
    f("tcp.tw_tx_acks_rate_limited", tx_acks_rate_limited);
  }
};

// RFC 9293 §3.10.7.4 for TIME-WAIT, with RFC 1337, RFC 6191 and RFC 7323 §5 (the rules of the
// header comment): what to do with `seg`, a segment of entry's 4-tuple (checksum verified; its
// SEG.LEN is seg.payload_len plus one for each of SYN and FIN), at now. Updates entry: its
// expiry (now + two_msl when the timer restarts), TS.Recent and the ACK rate limit; and
// counters. two_msl is the length of TIME-WAIT (2 x ConnectionConfig::msl; Linux's
// TCP_TIMEWAIT_LEN is 60 s), the one the entry was inserted with.
TimeWaitAction on_segment(TimeWaitEntry& entry, const wire::TcpRepr& seg, Instant now,
                          Duration two_msl, TimeWaitCounters& counters);

// The ACK TIME-WAIT sends (Linux's tcp_v4_timewait_ack()): from our port to theirs, <SEQ=SND.NXT>
// <ACK=RCV.NXT><CTL=ACK>, the entry's window, and with timestamps TSval = ts_now + ts_offset,
// TSecr = TS.Recent (RFC 7323 §3.2); no other option, no data. ts_now is ts_clock(now)
// (options.hpp). The IP addresses are the tuple's: from local to remote.
wire::TcpRepr ack_for(const TimeWaitEntry& entry, std::uint32_t ts_now);

// RFC 1122 §4.2.2.13 (1): a connection reopened from TIME-WAIT "assigns its initial sequence
// number for the new connection to be larger than the largest sequence number it used on the
// previous connection incarnation". SND.NXT + 65537, Linux's choice: every old segment of ours
// lies below SND.NXT, so more than an unscaled window (65535) below the new ISN.
inline wire::SeqNum reuse_isn(const TimeWaitEntry& entry) {
  return entry.snd_nxt + kReuseIsnGap;
}

class TimeWaitTable {
 public:
  // TupleMap's bound; the entry indices are 32 bits.
  static constexpr std::size_t max_capacity = TupleMap::max_capacity;

  // Allocates room for `capacity` entries (0: TIME-WAIT is skipped, every insert() refused);
  // key is the secret of the tuple index's hash (a draw of its own, as for every keyed table).
  TimeWaitTable(std::size_t capacity, SipKey key);

  // Takes entry into TIME-WAIT until entry.expiry. When the table is full, the entry nearest to
  // expiry is evicted first (tcp.tw_evicted). An entry for the same 4-tuple is replaced. false
  // only when the capacity is 0 (counted as evicted too).
  bool insert(const TimeWaitEntry& entry);
  // The entry of tuple, or nullptr. Valid until the entry is erased, expired or evicted.
  const TimeWaitEntry* find(const FourTuple& tuple) const;
  // Removes the entry of tuple (a new incarnation took over, or the stack is shutting down);
  // false if there was none. Not counted.
  bool erase(const FourTuple& tuple);
  // Removes every entry, uncounted.
  void clear();

  // tcp::on_segment() for one of this table's entries (from find()), counted here, with the
  // entry moved to its new place in the expiry order when its timer restarts.
  TimeWaitAction on_segment(const TimeWaitEntry& entry, const wire::TcpRepr& seg, Instant now,
                            Duration two_msl);

  // Removes the entries whose expiry is at or before now (tcp.tw_expired); returns how many.
  std::size_t expire(Instant now);
  // The earliest expiry, or kNever when the table is empty.
  Instant next_expiry() const { return head_ == kNil ? kNever : entries_[head_].expiry; }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return entries_.size(); }

  // Calls f(const TimeWaitEntry&) for each entry, nearest to expiry first.
  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i = head_; i != kNil; i = links_[i].next)
      f(entries_[i]);
  }

  const TimeWaitCounters& counters() const { return counters_; }
  template <class F>
  void for_each_counter(F&& f) const {
    counters_.for_each_counter(f);
  }

 private:
  static constexpr std::uint32_t kNil = 0xffffffffU;
  struct Link {
    std::uint32_t prev = kNil;
    std::uint32_t next = kNil;  // also the free list's link
  };

  std::uint32_t index_of(const TimeWaitEntry& entry) const;
  // Puts entry i into the expiry list at its place, searching from the tail: after every entry
  // expiring at or before it.
  void link(std::uint32_t i);
  void unlink(std::uint32_t i);
  // Unlinks entry i, drops it from the index and frees its slot.
  void remove(std::uint32_t i);

  std::vector<TimeWaitEntry> entries_;
  std::vector<Link> links_;
  TupleMap index_;
  std::uint32_t head_ = kNil;  // nearest to expiry
  std::uint32_t tail_ = kNil;
  std::uint32_t free_ = kNil;
  std::size_t size_ = 0;
  TimeWaitCounters counters_;
};

}  // namespace tapir::tcp
