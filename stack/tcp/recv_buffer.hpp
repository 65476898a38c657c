// The receive side of one TCP connection: the bytes that arrived, in order and out of order, and
// the window to advertise (RFC 9293 §3.8.6, §3.10.7.4; RFC 2018 SACK; RFC 5681 §4.2).
//
// Storage is one ring of `capacity` bytes, allocated by the constructor, that always maps the
// sequence space [rcv_nxt - readable, rcv_nxt - readable + capacity):
//
//     read_seq              rcv_nxt                                     right edge
//        |<--- readable ---->|<------------------ window ------------------>|
//        [ in order, unread  ][ hole ][ooo range][ hole ][ooo range][ free  ]
//        |<------------------------------ capacity ------------------------>|
//
// An out-of-order byte is written once, at its own offset, and never moved: when the hole before
// it fills, rcv_nxt simply jumps over it. A fixed table of at most `max_ranges` ranges (sorted,
// never overlapping or touching; each with a recency stamp for SACK) says which bytes past
// rcv_nxt are held. Nothing allocates after the constructor.
//
// The window, and the two promises about it:
//  - window() == capacity - readable() (less one once the FIN is in, which takes a sequence
//    number but no byte). The right edge rcv_nxt() + window() == read_seq + capacity, and every
//    sequence number below it has a byte of storage reserved: the window never promises more
//    than can be stored (RFC 9293 §3.8.6), so no data inside an advertised window is ever
//    refused for lack of space (only for lack of a range slot, see below).
//  - Data arriving moves rcv_nxt right and shrinks the window by as much; only reading
//    (read(), consume()) moves the right edge, and only to the right: it never moves left
//    (RFC 1122 §4.2.2.16, RFC 9293 §3.8.6: "A TCP receiver SHOULD NOT shrink the window").
// The connection may advertise less than window() (receiver-side silly window avoidance, RFC
// 9293 §3.8.6.2.2; rounding down to the window scale, RFC 7323 §2.3). Since this right edge
// never moves left, data up to any edge advertised from it earlier is still stored. Rounding
// down to the scale can make the advertised edge itself step left by less than 2^shift: RFC 7323
// §2.4 (window retraction) is the connection's to handle; whatever it advertises, data below this
// buffer's right edge is stored and data at or past it is trimmed.
//
// The FIN is kept here too, so the connection has one rcv_nxt to acknowledge: a FIN is recorded
// where it is (seq + data length), may arrive out of order, and counts only once every byte
// before it is in; rcv_nxt() then includes it (RFC 9293 §3.10.7.4, eighth step: "advance RCV.NXT
// over the FIN").
//
// Segment acceptability (RFC 9293 §3.10.7.4, first check), RST, SYN and ACK processing are the
// connection's: it hands over the text of an acceptable segment (after the SYN: data starts at
// seq + 1) and sends the ACKs. What write() drops, it counts (RecvBufferCounters):
//  - bytes left of rcv_nxt, or already held out of order: duplicates (rx_dup_bytes), stored once;
//    the first copy received is kept;
//  - bytes at or past the right edge (rx_past_window_bytes), or at or past a recorded FIN
//    (rx_past_fin_bytes): trimmed, never stored (RFC 9293 §3.10.7.4: "trimming off any
//    portions that lie outside the window (including SYN and FIN)"); data past rcv_nxt inside
//    the window is held ("Segments with higher beginning sequence numbers SHOULD be held");
//  - out-of-order data that would need range number max_ranges + 1: the highest range is dropped
//    (rx_ooo_pruned, rx_ooo_pruned_bytes), which is the new data itself when it lies above every
//    held range. Highest first, as Linux's tcp_prune_ofo_queue(): the lowest data is what lets
//    rcv_nxt advance, the highest is furthest from being readable. Dropping SACKed data is
//    allowed (RFC 2018 §8: the receiver may discard data it has not acknowledged; the sender
//    keeps it until it is cumulatively acknowledged and retransmits it);
//  - a FIN outside the window (rx_fin_past_window), or before data already received or elsewhere
//    than a FIN already recorded (rx_fin_conflict): the FIN is ignored, the data still taken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <gsl/span>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/wire/seq_num.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

struct RecvBufferConfig {
  // Bytes held at once, readable and out of order together: the largest window. At least 1,
  // at most RecvBuffer::max_capacity.
  std::size_t capacity = 256 * 1024;
  // Out-of-order ranges held at once; 0 keeps no out-of-order data at all.
  std::size_t max_ranges = 32;
};

struct RecvBufferCounters {
  Counter rx_ooo_segments;       // segments whose data landed past rcv_nxt
  Counter rx_ooo_pruned;         // ranges dropped, highest first, to stay within max_ranges
  Counter rx_ooo_pruned_bytes;   // the bytes of those ranges
  Counter rx_dup_bytes;          // bytes already received (left of rcv_nxt or already held)
  Counter rx_past_window_bytes;  // bytes at or past the right edge, trimmed
  Counter rx_past_fin_bytes;     // bytes at or past the FIN, trimmed
  Counter rx_fin_past_window;    // FINs outside the window, ignored
  Counter rx_fin_conflict;       // FINs before received data or unlike an earlier FIN, ignored

  template <class F>
  void for_each_counter(F&& f) const {
    f("tcp.rx_ooo_segments", rx_ooo_segments);
    f("tcp.rx_ooo_pruned", rx_ooo_pruned);
    f("tcp.rx_ooo_pruned_bytes", rx_ooo_pruned_bytes);
    f("tcp.rx_dup_bytes", rx_dup_bytes);
    f("tcp.rx_past_window_bytes", rx_past_window_bytes);
    f("tcp.rx_past_fin_bytes", rx_past_fin_bytes);
    f("tcp.rx_fin_past_window", rx_fin_past_window);
    f("tcp.rx_fin_conflict", rx_fin_conflict);
  }
};

// What write() did with one segment's text.
struct RecvOutcome {
  std::size_t readable = 0;   // bytes newly readable: rcv_nxt moved by this much (FIN aside)
  std::size_t dropped = 0;    // bytes not newly stored: duplicate, trimmed, or pruned
  bool out_of_order = false;  // the data in the window starts past rcv_nxt
  bool filled_hole = false;   // in-order data arrived while out-of-order data was held
  bool fin = false;           // the FIN is in with this segment: rcv_nxt moved over it

  // RFC 5681 §4.2: an out-of-order segment gets an immediate duplicate ACK, and so does a
  // segment that fills all or part of a gap; otherwise the ACK may be delayed.
  bool ack_now() const { return out_of_order || filled_hole; }
};

class RecvBuffer {
 public:
  // RFC 7323 §2.3: the largest window is 2^30 bytes (shift 14), which keeps every sequence
  // comparison here far inside 2^31 (seq_num.hpp).
  static constexpr std::size_t max_capacity = std::size_t{1} << 30;

  // Allocates the ring and the range table. rcv_nxt starts at 0 until reset().
  explicit RecvBuffer(const RecvBufferConfig& config);

  // Starts the sequence space empty, forgetting any data and FIN: rcv_nxt = IRS + 1 once the
  // SYN is in (RFC 9293 §3.10.7.3 SYN-SENT, §3.10.7.2 LISTEN). Counters are kept.
  void reset(wire::SeqNum rcv_nxt);

  // The next sequence number expected: the ACK to send. Includes the FIN once it is in.
  wire::SeqNum rcv_nxt() const { return data_end_ + (fin_in_ ? 1U : 0U); }
  // The receive window: capacity - readable (- 1 once the FIN is in). See the header comment.
  std::size_t window() const { return config_.capacity - readable_ - (fin_in_ ? 1U : 0U); }

  // Takes a segment's text: `data` whose first byte has sequence number `seq`, and `fin` if
  // the segment carries a FIN (at seq + data.size()). Stores the part inside [rcv_nxt, right
  // edge) that is not held yet; in-order data advances rcv_nxt, together with every
  // out-of-order range it now reaches; out-of-order data is held as a range. Any data, any
  // seq: the sequence space is read modulo 2^32 around rcv_nxt. data.size() <= max_capacity.
  RecvOutcome write(wire::SeqNum seq, Bytes data, bool fin = false);

  // The FIN is in: every byte before it has arrived (RFC 9293 §3.10.7.4; CLOSE-WAIT next).
  bool fin_received() const { return fin_in_; }

  // In-order bytes not yet read.
  std::size_t readable() const { return readable_; }
  // Copies up to out.size() readable bytes and consumes them; the window opens as much.
  std::size_t read(BytesMut out) { return consume(peek(0, out)); }
  // Copies up to out.size() readable bytes starting `offset` bytes in, consuming nothing.
  std::size_t peek(std::size_t offset, BytesMut out) const;
  // Drops up to n readable bytes; returns how many.
  std::size_t consume(std::size_t n);

  // RFC 2018 §4: the SACK blocks to send, at most out.size() (the caller passes 4, or 3 when
  // timestamps take option space); returns how many were written. The first is the range
  // holding the most recently received out-of-order segment, the others follow most recent
  // first. Ranges are merged, so no block is a subset of another.
  std::size_t sack_blocks(gsl::span<wire::SackBlock> out) const;

  // Bytes held past rcv_nxt, and the number of ranges they form.
  std::size_t out_of_order_bytes() const { return ooo_bytes_; }
  std::size_t ranges() const { return count_; }

  const RecvBufferConfig& config() const { return config_; }
  const RecvBufferCounters& counters() const { return counters_; }

 private:
  // Held out-of-order bytes [start, end), start past rcv_nxt. The larger the stamp, the more
  // recently a segment landed in it.
  struct Range {
    wire::SeqNum start{};
    wire::SeqNum end{};
    std::uint64_t stamp = 0;
  };

  // The distance from rcv_nxt (without the FIN) to s, for s at or past it.
  std::size_t offset_of(wire::SeqNum s) const { return static_cast<std::size_t>(s - data_end_); }
  // Checks a FIN at `fin_seq`, `end` bytes past rcv_nxt, and records it if it stands.
  void take_fin(wire::SeqNum fin_seq, std::int64_t end);
  // Copies the bytes of `text` (which starts `at` bytes past rcv_nxt) that no range holds yet;
  // returns how many.
  std::size_t store(std::size_t at, Bytes text);
  // Writes src into the ring `at` bytes past the first readable byte.
  void copy_in(std::size_t at, Bytes src);
  // In-order data up to `end` bytes past rcv_nxt is in: advance over it and the ranges it joins.
  void advance(std::size_t end, RecvOutcome& out);
  // Holds [begin, end) (offsets past rcv_nxt) as a range; returns the bytes pruned from it.
  std::size_t hold(std::size_t begin, std::size_t end);

  RecvBufferConfig config_;
  std::vector<std::byte> ring_;  // capacity bytes
  std::size_t head_ = 0;         // ring index of the first readable byte
  std::size_t readable_ = 0;
  wire::SeqNum data_end_{};  // the sequence number after the last in-order byte
  std::optional<wire::SeqNum> fin_;
  bool fin_in_ = false;        // data_end_ reached fin_, and rcv_nxt counts it
  std::vector<Range> ranges_;  // max_ranges + 1 slots; the first count_ used, sorted by start
  std::size_t count_ = 0;
  std::size_t ooo_bytes_ = 0;
  std::uint64_t stamp_ = 0;
  RecvBufferCounters counters_;
};

}  // namespace tapir::tcp
