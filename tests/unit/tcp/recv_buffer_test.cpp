// The TCP receive buffer: in-order and out-of-order data, trimming to the window, the window's
// two promises (never more than can be stored, never shrunk), RFC 2018 SACK blocks, the range
// bound, the FIN, sequence wrap-around, seeded random streams, and no allocation after
// construction.
#include "stack/tcp/recv_buffer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/allocations.hpp"

namespace tapir::tcp {
namespace {

using wire::SackBlock;
using wire::SeqNum;

// A stream whose every byte depends on its position (mod 65521), so a byte stored at the wrong
// offset shows.
std::vector<std::byte> stream(std::size_t n, unsigned salt = 0) {
  std::vector<std::byte> s(n);
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<std::byte>(((i % 65521U) * 31U + (i % 65521U) / 251U + salt) & 0xffU);
  return s;
}

Bytes slice(const std::vector<std::byte>& s, std::size_t from, std::size_t len) {
  return Bytes(s).subspan(from, len);
}

std::vector<std::byte> read_all(RecvBuffer& rb) {
  std::vector<std::byte> out(rb.readable());
  EXPECT_EQ(rb.read(out), out.size());
  return out;
}

std::vector<SackBlock> sacks(const RecvBuffer& rb, std::size_t max) {
  std::vector<SackBlock> out(max);
  out.resize(rb.sack_blocks(out));
  return out;
}

SackBlock block(SeqNum isn, std::uint32_t from, std::uint32_t to) {
  return SackBlock{isn + from, isn + to};
}

RecvBufferConfig config(std::size_t capacity, std::size_t max_ranges = 32) {
  RecvBufferConfig c;
  c.capacity = capacity;
  c.max_ranges = max_ranges;
  return c;
}

// The right edge the buffer promises: rcv_nxt + window.
SeqNum right_edge(const RecvBuffer& rb) {
  return rb.rcv_nxt() + static_cast<std::uint32_t>(rb.window());
}

const SeqNum kIsn(1000);  // rcv_nxt after the SYN

// RFC 9293 §3.10.7.4 "segment text": in-order data is delivered and RCV.NXT advances over it.
TEST(RecvBuffer, InOrderDataAdvancesRcvNxt) {
  const auto s = stream(300);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  EXPECT_EQ(rb.rcv_nxt(), kIsn);
  EXPECT_EQ(rb.window(), 1000U);

  const auto a = rb.write(kIsn, slice(s, 0, 100));
  EXPECT_EQ(a.readable, 100U);
  EXPECT_EQ(a.dropped, 0U);
  EXPECT_FALSE(a.out_of_order);
  EXPECT_FALSE(a.filled_hole);
  EXPECT_FALSE(a.fin);
  EXPECT_FALSE(a.ack_now());  // RFC 5681 §4.2: in-order data may be ACKed late
  const auto b = rb.write(kIsn + 100, slice(s, 100, 200));
  EXPECT_EQ(b.readable, 200U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 300);
  EXPECT_EQ(rb.readable(), 300U);
  EXPECT_EQ(rb.window(), 700U);
  EXPECT_EQ(rb.ranges(), 0U);
  EXPECT_EQ(rb.out_of_order_bytes(), 0U);
  EXPECT_EQ(read_all(rb), s);
  EXPECT_EQ(rb.window(), 1000U);
}

TEST(RecvBuffer, PeekCopiesWithoutConsuming) {
  const auto s = stream(100);
  RecvBuffer rb(config(64));
  rb.reset(kIsn);
  // Wrap the ring: 40 in, 40 out, then 60 that straddle its end.
  rb.write(kIsn, slice(s, 0, 40));
  std::vector<std::byte> sink(40);
  EXPECT_EQ(rb.read(sink), 40U);
  rb.write(kIsn + 40, slice(s, 40, 60));
  std::vector<std::byte> out(30);
  EXPECT_EQ(rb.peek(10, out), 30U);
  EXPECT_EQ(out, std::vector<std::byte>(s.begin() + 50, s.begin() + 80));
  EXPECT_EQ(rb.readable(), 60U);
  EXPECT_EQ(rb.peek(60, out), 0U);
  EXPECT_EQ(rb.consume(20), 20U);
  EXPECT_EQ(rb.window(), 24U);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin() + 60, s.end()));
  EXPECT_EQ(rb.consume(5), 0U);
}

// RFC 9293 §3.10.7.4: "Segments with higher beginning sequence numbers SHOULD be held for later
// processing"; when the hole fills, RCV.NXT jumps over every range it joins. RFC 5681 §4.2: an
// out-of-order segment, and one that fills all or part of a gap, are ACKed at once.
TEST(RecvBuffer, OutOfOrderDataIsHeldUntilTheHoleFills) {
  const auto s = stream(500);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);

  auto a = rb.write(kIsn + 200, slice(s, 200, 100));
  EXPECT_TRUE(a.out_of_order);
  EXPECT_TRUE(a.ack_now());
  EXPECT_EQ(a.readable, 0U);
  EXPECT_EQ(a.dropped, 0U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn);
  EXPECT_EQ(rb.window(), 1000U);  // held bytes sit inside the window already promised
  EXPECT_EQ(rb.readable(), 0U);
  EXPECT_EQ(rb.ranges(), 1U);
  EXPECT_EQ(rb.out_of_order_bytes(), 100U);

  a = rb.write(kIsn + 400, slice(s, 400, 100));
  EXPECT_TRUE(a.out_of_order);
  EXPECT_EQ(rb.ranges(), 2U);
  EXPECT_EQ(rb.out_of_order_bytes(), 200U);

  // In order, but short of the first range: part of the gap.
  a = rb.write(kIsn, slice(s, 0, 150));
  EXPECT_FALSE(a.out_of_order);
  EXPECT_TRUE(a.filled_hole);
  EXPECT_TRUE(a.ack_now());
  EXPECT_EQ(a.readable, 150U);
  EXPECT_EQ(rb.ranges(), 2U);

  // The rest of the first gap: rcv_nxt jumps over [200, 300).
  a = rb.write(kIsn + 150, slice(s, 150, 50));
  EXPECT_TRUE(a.filled_hole);
  EXPECT_EQ(a.readable, 150U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 300);
  EXPECT_EQ(rb.ranges(), 1U);
  EXPECT_EQ(rb.out_of_order_bytes(), 100U);

  // The last gap: over [400, 500) too.
  a = rb.write(kIsn + 300, slice(s, 300, 100));
  EXPECT_TRUE(a.filled_hole);
  EXPECT_EQ(a.readable, 200U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 500);
  EXPECT_EQ(rb.ranges(), 0U);
  EXPECT_EQ(rb.out_of_order_bytes(), 0U);
  EXPECT_EQ(rb.window(), 500U);
  EXPECT_EQ(read_all(rb), s);
  EXPECT_EQ(rb.counters().rx_ooo_segments.value(), 2U);

  // With nothing held any more, in-order data fills no gap.
  a = rb.write(kIsn + 500, slice(stream(10), 0, 10));
  EXPECT_FALSE(a.filled_hole);
}

// One segment that fills two gaps at once joins every range it reaches.
TEST(RecvBuffer, OneSegmentJoinsSeveralRanges) {
  const auto s = stream(1000);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  rb.write(kIsn + 100, slice(s, 100, 100));
  rb.write(kIsn + 300, slice(s, 300, 100));
  rb.write(kIsn + 500, slice(s, 500, 100));
  // [0, 450) covers the first two ranges and overlaps the second's end.
  const auto a = rb.write(kIsn, slice(s, 0, 450));
  EXPECT_EQ(a.readable, 450U);
  EXPECT_EQ(a.dropped, 200U);  // [100, 200) and [300, 400) were held already
  EXPECT_EQ(rb.ranges(), 1U);
  // A segment that merely touches the last range joins it too.
  EXPECT_EQ(rb.write(kIsn + 450, slice(s, 450, 50)).readable, 150U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 600);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin(), s.begin() + 600));
}

// RFC 9293 §3.10.7.4: only the new parts of a segment are processed; duplicates and overlaps
// on either side of a held range are stored once, and the first copy received is kept.
TEST(RecvBuffer, DuplicatesAndOverlapsAreStoredOnce) {
  const auto s = stream(400);
  const auto other = stream(400, 99);  // different bytes at the same offsets
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);

  rb.write(kIsn + 100, slice(s, 100, 100));
  // An exact duplicate of the held range.
  auto a = rb.write(kIsn + 100, slice(other, 100, 100));
  EXPECT_TRUE(a.out_of_order);
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.out_of_order_bytes(), 100U);
  // Overlapping both sides: [50, 250) adds [50, 100) and [200, 250).
  a = rb.write(kIsn + 50, slice(s, 50, 200));
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.ranges(), 1U);
  EXPECT_EQ(rb.out_of_order_bytes(), 200U);
  EXPECT_EQ(sacks(rb, 4), (std::vector{block(kIsn, 50, 250)}));
  // Overlapping the left end only, then the right end only.
  a = rb.write(kIsn + 20, slice(other, 20, 60));  // [20, 80): [20, 50) is new
  EXPECT_EQ(a.dropped, 30U);
  a = rb.write(kIsn + 240, slice(other, 240, 30));  // [240, 270): [250, 270) is new
  EXPECT_EQ(a.dropped, 10U);
  EXPECT_EQ(rb.out_of_order_bytes(), 250U);
  EXPECT_EQ(sacks(rb, 4), (std::vector{block(kIsn, 20, 270)}));
  EXPECT_EQ(rb.counters().rx_dup_bytes.value(), 240U);

  // The hole, with overlap into the range: rcv_nxt reaches 270.
  std::vector<std::byte> first(s.begin(), s.begin() + 20);
  a = rb.write(kIsn, slice(first, 0, 20));
  EXPECT_EQ(a.readable, 270U);
  const auto got = read_all(rb);
  ASSERT_EQ(got.size(), 270U);
  // The first copy of each byte stayed: [20, 50) and [250, 270) from `other`, the rest from s.
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool from_other = (i >= 20 && i < 50) || (i >= 250 && i < 270);
    EXPECT_EQ(got[i], from_other ? other[i] : s[i]) << "byte " << i;
  }
}

// RFC 9293 §3.10.7.4: a segment that straddles RCV.NXT is trimmed to its new part; one wholly
// left of it is a duplicate.
TEST(RecvBuffer, DataLeftOfRcvNxtIsTrimmed) {
  const auto s = stream(300);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  rb.write(kIsn, slice(s, 0, 100));
  auto a = rb.write(kIsn + 50, slice(s, 50, 150));
  EXPECT_EQ(a.readable, 100U);
  EXPECT_EQ(a.dropped, 50U);
  EXPECT_FALSE(a.out_of_order);
  a = rb.write(kIsn + 10, slice(s, 10, 90));
  EXPECT_EQ(a.readable, 0U);
  EXPECT_EQ(a.dropped, 90U);
  EXPECT_FALSE(a.out_of_order);
  EXPECT_FALSE(a.ack_now());  // wholly old: the connection's acceptability check answers it
  // Far in the past (2^31 - 1 behind): a duplicate too, never a huge jump forward.
  a = rb.write(kIsn + 200 - 0x7fffffffU, slice(s, 0, 10));
  EXPECT_EQ(a.dropped, 10U);
  EXPECT_EQ(rb.counters().rx_dup_bytes.value(), 150U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 200);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin(), s.begin() + 200));
}

// RFC 9293 §3.10.7.4: "trimming off any portions that lie outside the window"; nothing past the
// right edge that window() promised is ever stored.
TEST(RecvBuffer, DataPastTheWindowIsTrimmed) {
  const auto s = stream(3000);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);

  // Out of order, straddling the right edge: only up to the edge is held.
  auto a = rb.write(kIsn + 900, slice(s, 900, 200));
  EXPECT_TRUE(a.out_of_order);
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.out_of_order_bytes(), 100U);
  EXPECT_EQ(sacks(rb, 4), (std::vector{block(kIsn, 900, 1000)}));
  EXPECT_EQ(rb.counters().rx_past_window_bytes.value(), 100U);
  // Wholly past the edge: nothing held, not even counted as out of order.
  a = rb.write(kIsn + 1000, slice(s, 1000, 100));
  EXPECT_FALSE(a.out_of_order);
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.ranges(), 1U);

  // In order, longer than the window: the window fills exactly.
  a = rb.write(kIsn, slice(s, 0, 1200));
  EXPECT_EQ(a.readable, 1000U);
  EXPECT_EQ(a.dropped, 300U);  // [900, 1000) held already, [1000, 1200) past the edge
  EXPECT_EQ(rb.window(), 0U);
  EXPECT_EQ(rb.counters().rx_past_window_bytes.value(), 400U);

  // A zero window takes nothing, even at rcv_nxt.
  a = rb.write(kIsn + 1000, slice(s, 1000, 1));
  EXPECT_EQ(a.readable, 0U);
  EXPECT_EQ(a.dropped, 1U);

  // Reading 500 opens the window by 500, and only that much is taken.
  std::vector<std::byte> out(500);
  EXPECT_EQ(rb.read(out), 500U);
  EXPECT_EQ(out, std::vector<std::byte>(s.begin(), s.begin() + 500));
  EXPECT_EQ(rb.window(), 500U);
  a = rb.write(kIsn + 1000, slice(s, 1000, 2000));
  EXPECT_EQ(a.readable, 500U);
  EXPECT_EQ(a.dropped, 1500U);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin() + 500, s.begin() + 1500));
}

// RFC 9293 §3.8.6: the window is the free space, shrinking as data arrives and reopening as the
// application reads.
TEST(RecvBuffer, WindowShrinksAsDataArrivesAndReopensOnRead) {
  const auto s = stream(1000);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  std::vector<std::byte> out(1000);
  rb.write(kIsn, slice(s, 0, 300));
  EXPECT_EQ(rb.window(), 700U);
  EXPECT_EQ(right_edge(rb), kIsn + 1000);
  rb.write(kIsn + 500, slice(s, 500, 100));  // out of order: the window stays
  EXPECT_EQ(rb.window(), 700U);
  EXPECT_EQ(rb.read(gsl::span(out).first(100)), 100U);
  EXPECT_EQ(rb.window(), 800U);
  EXPECT_EQ(right_edge(rb), kIsn + 1100);
  rb.write(kIsn + 300, slice(s, 300, 200));  // joins [500, 600)
  EXPECT_EQ(rb.window(), 500U);
  EXPECT_EQ(right_edge(rb), kIsn + 1100);
  EXPECT_EQ(rb.read(out), 500U);
  EXPECT_EQ(rb.window(), 1000U);
  EXPECT_EQ(right_edge(rb), kIsn + 1600);
}

// RFC 1122 §4.2.2.16 / RFC 9293 §3.8.6: "A TCP receiver SHOULD NOT shrink the window": over a
// long seeded sequence of writes (in order, out of order, duplicate, past the window, with FINs)
// and reads, rcv_nxt + window never moves left, and window is always what is free.
TEST(RecvBuffer, RightEdgeNeverMovesLeft) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random rng(seed);
    const auto s = stream(1 << 20);
    const std::size_t capacity = rng.between(1, 4000);
    RecvBuffer rb(config(capacity, rng.between(0, 6)));
    const SeqNum isn(rng.next_u32());
    rb.reset(isn);
    SeqNum edge = right_edge(rb);
    std::vector<std::byte> out(5000);
    for (int step = 0; step < 4000; ++step) {
      if (rng.below(3) == 0) {
        rb.read(gsl::span(out).first(rng.between(0, 3000)));
      } else {
        const auto nxt = static_cast<std::uint32_t>(rb.rcv_nxt() - isn);
        std::uint32_t from = nxt - std::min(nxt, rng.below(2000)) + rng.below(6000);
        const std::uint32_t len = rng.below(1500);
        from = std::min<std::uint32_t>(from, static_cast<std::uint32_t>(s.size()) - len);
        rb.write(isn + from, slice(s, from, len), rng.below(50) == 0);
      }
      ASSERT_GE(right_edge(rb), edge) << "step " << step;
      edge = right_edge(rb);
      ASSERT_EQ(rb.window() + rb.readable() + (rb.fin_received() ? 1U : 0U), capacity);
      ASSERT_LE(rb.out_of_order_bytes(), rb.window());
    }
  }
}

// RFC 2018 §4: "The first SACK block ... MUST specify the contiguous block of data containing
// the segment which triggered this ACK"; the others repeat the most recent blocks first. At most
// 4 blocks, or 3 beside timestamps.
TEST(RecvBuffer, SackBlocksMostRecentFirst) {
  const auto s = stream(2000);
  RecvBuffer rb(config(4000));
  rb.reset(kIsn);
  EXPECT_TRUE(sacks(rb, 4).empty());
  // Ranges A=[100,200) B=[300,400) C=[500,600) D=[700,800) E=[900,1000), received A..E.
  for (std::uint32_t at : {100U, 300U, 500U, 700U, 900U})
    rb.write(kIsn + at, slice(s, at, 100));
  const auto A = block(kIsn, 100, 200);
  const auto B = block(kIsn, 300, 400);
  const auto C = block(kIsn, 500, 600);
  const auto D = block(kIsn, 700, 800);
  const auto E = block(kIsn, 900, 1000);
  EXPECT_EQ(sacks(rb, 4), (std::vector{E, D, C, B}));
  EXPECT_EQ(sacks(rb, 3), (std::vector{E, D, C}));  // RFC 2018 §3: 3 beside timestamps
  EXPECT_EQ(sacks(rb, 8), (std::vector{E, D, C, B, A}));

  // A segment extending B: the grown B comes first.
  rb.write(kIsn + 400, slice(s, 400, 50));
  const auto B2 = block(kIsn, 300, 450);
  EXPECT_EQ(sacks(rb, 4), (std::vector{B2, E, D, C}));

  // A duplicate of A still names A first: it holds the segment that triggered the ACK.
  rb.write(kIsn + 120, slice(s, 120, 30));
  EXPECT_EQ(sacks(rb, 4), (std::vector{A, B2, E, D}));

  // A segment joining C and D makes one block, first.
  rb.write(kIsn + 600, slice(s, 600, 100));
  const auto CD = block(kIsn, 500, 800);
  EXPECT_EQ(sacks(rb, 4), (std::vector{CD, A, B2, E}));

  // In-order data that advances rcv_nxt over A: the rest, most recent first.
  rb.write(kIsn, slice(s, 0, 100));
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 200);
  EXPECT_EQ(sacks(rb, 4), (std::vector{CD, B2, E}));
}

// The range table is bounded: a range past max_ranges drops the highest range, which is the
// new data when it lies above every held range (as Linux prunes its out-of-order queue; RFC
// 2018 §8 lets the receiver discard SACKed data).
TEST(RecvBuffer, MaxRangesDropsTheHighestRange) {
  const auto s = stream(2000);
  RecvBuffer rb(config(4000, 3));
  rb.reset(kIsn);
  for (std::uint32_t at : {200U, 400U, 600U})
    rb.write(kIsn + at, slice(s, at, 100));
  EXPECT_EQ(rb.ranges(), 3U);

  // A fourth above them all: it is the highest, so it is dropped.
  auto a = rb.write(kIsn + 800, slice(s, 800, 100));
  EXPECT_TRUE(a.out_of_order);
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.ranges(), 3U);
  EXPECT_EQ(rb.out_of_order_bytes(), 300U);
  EXPECT_EQ(rb.counters().rx_ooo_pruned.value(), 1U);
  EXPECT_EQ(rb.counters().rx_ooo_pruned_bytes.value(), 100U);

  // A fourth below the highest: it stays, [600, 700) goes.
  a = rb.write(kIsn + 50, slice(s, 50, 50));
  EXPECT_EQ(a.dropped, 0U);
  EXPECT_EQ(rb.ranges(), 3U);
  EXPECT_EQ(rb.out_of_order_bytes(), 250U);
  EXPECT_EQ(rb.counters().rx_ooo_pruned.value(), 2U);
  EXPECT_EQ(rb.counters().rx_ooo_pruned_bytes.value(), 200U);
  EXPECT_EQ(sacks(rb, 4),
            (std::vector{block(kIsn, 50, 100), block(kIsn, 400, 500), block(kIsn, 200, 300)}));

  // Data that merges with a held range needs no slot.
  a = rb.write(kIsn + 300, slice(s, 300, 100));  // joins [200,300) and [400,500)
  EXPECT_EQ(a.dropped, 0U);
  EXPECT_EQ(rb.ranges(), 2U);
  EXPECT_EQ(rb.counters().rx_ooo_pruned.value(), 2U);

  // The pruned bytes come again (the sender retransmits what was not ACKed).
  rb.write(kIsn, slice(s, 0, 50));
  rb.write(kIsn + 100, slice(s, 100, 100));
  rb.write(kIsn + 500, slice(s, 500, 500));
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 1000);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin(), s.begin() + 1000));
}

TEST(RecvBuffer, ZeroMaxRangesKeepsNoOutOfOrderData) {
  const auto s = stream(200);
  RecvBuffer rb(config(1000, 0));
  rb.reset(kIsn);
  const auto a = rb.write(kIsn + 100, slice(s, 100, 100));
  EXPECT_TRUE(a.out_of_order);  // still answered by a duplicate ACK
  EXPECT_EQ(a.dropped, 100U);
  EXPECT_EQ(rb.ranges(), 0U);
  EXPECT_EQ(rb.out_of_order_bytes(), 0U);
  EXPECT_EQ(rb.write(kIsn, slice(s, 0, 200)).readable, 200U);
  EXPECT_EQ(read_all(rb), s);
}

// RFC 9293 §3.4: sequence numbers are modulo 2^32; a stream crossing 0 is stored and read
// back like any other, in and out of order, and its SACK blocks wrap too.
TEST(RecvBuffer, SequenceWrapsAround2To32) {
  const auto s = stream(1000);
  const SeqNum isn(0xffffff00U);  // 256 bytes before the wrap
  RecvBuffer rb(config(600));
  rb.reset(isn);
  rb.write(isn + 500, slice(s, 500, 100));  // [0xf4, 0x158), past the wrap
  rb.write(isn + 200, slice(s, 200, 100));  // straddles 0
  EXPECT_EQ(sacks(rb, 4), (std::vector{SackBlock{SeqNum(0xffffffc8U), SeqNum(0x2c)},
                                       SackBlock{SeqNum(0xf4), SeqNum(0x158)}}));
  auto a = rb.write(isn, slice(s, 0, 200));
  EXPECT_EQ(a.readable, 300U);
  EXPECT_EQ(rb.rcv_nxt(), SeqNum(0x2c));
  a = rb.write(isn + 300, slice(s, 300, 200));
  EXPECT_EQ(a.readable, 300U);
  EXPECT_EQ(rb.rcv_nxt(), SeqNum(0x158));
  EXPECT_EQ(rb.window(), 0U);
  EXPECT_EQ(read_all(rb), std::vector<std::byte>(s.begin(), s.begin() + 600));
  EXPECT_EQ(rb.write(isn + 600, slice(s, 600, 400), true).readable, 400U);
  EXPECT_TRUE(rb.fin_received());
  EXPECT_EQ(rb.rcv_nxt(), isn + 1001);
  EXPECT_EQ(rb.rcv_nxt(), SeqNum(0x2e9));
}

// RFC 9293 §3.10.7.4, eighth step: "advance RCV.NXT over the FIN" — once every byte before it
// is in. An out-of-order FIN waits; data at or past the FIN is trimmed; a FIN elsewhere than
// the first one is ignored.
TEST(RecvBuffer, FinCountsOnceEveryByteBeforeItIsIn) {
  const auto s = stream(300);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  auto a = rb.write(kIsn + 200, slice(s, 200, 100), true);  // FIN at 300, out of order
  EXPECT_FALSE(a.fin);
  EXPECT_FALSE(rb.fin_received());
  EXPECT_EQ(rb.rcv_nxt(), kIsn);

  // Data past the FIN is trimmed; a FIN elsewhere is ignored.
  a = rb.write(kIsn + 250, slice(stream(100), 0, 100), true);
  EXPECT_EQ(a.dropped, 100U);  // [250, 300) held already, [300, 350) past the FIN
  EXPECT_EQ(rb.counters().rx_past_fin_bytes.value(), 50U);
  EXPECT_EQ(rb.counters().rx_fin_conflict.value(), 1U);

  a = rb.write(kIsn, slice(s, 0, 200));
  EXPECT_EQ(a.readable, 300U);
  EXPECT_TRUE(a.fin);
  EXPECT_TRUE(rb.fin_received());
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 301);  // the FIN takes one sequence number
  EXPECT_EQ(rb.window(), 699U);         // and the right edge stays at 1000
  EXPECT_EQ(right_edge(rb), kIsn + 1000);

  // A retransmitted FIN is no conflict and no news.
  a = rb.write(kIsn + 250, slice(s, 250, 50), true);
  EXPECT_FALSE(a.fin);
  EXPECT_EQ(a.dropped, 50U);
  EXPECT_EQ(rb.counters().rx_fin_conflict.value(), 1U);
  EXPECT_EQ(read_all(rb), s);
  EXPECT_EQ(rb.window(), 999U);
  EXPECT_EQ(right_edge(rb), kIsn + 1300);
  // Nothing more is taken after the FIN.
  a = rb.write(kIsn + 300, slice(s, 0, 10));
  EXPECT_EQ(a.dropped, 10U);
  EXPECT_EQ(rb.readable(), 0U);
}

// A FIN before data already held contradicts it, and a FIN alone at rcv_nxt counts at once.
TEST(RecvBuffer, FinBeforeHeldDataIsIgnored) {
  const auto s = stream(300);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  rb.write(kIsn + 200, slice(s, 200, 100));
  rb.write(kIsn + 100, slice(s, 100, 50), true);  // FIN at 150, but 200..300 is held
  EXPECT_EQ(rb.counters().rx_fin_conflict.value(), 1U);
  rb.write(kIsn, slice(s, 0, 100));
  rb.write(kIsn + 150, slice(s, 150, 50));
  EXPECT_FALSE(rb.fin_received());
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 300);
  const auto a = rb.write(kIsn + 300, Bytes{}, true);
  EXPECT_TRUE(a.fin);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 301);
}

// RFC 9293 §3.10.7.4: the FIN is trimmed with the rest when it lies outside the window; the
// sender sends it again once the window opens.
TEST(RecvBuffer, FinPastTheWindowIsTrimmed) {
  const auto s = stream(100);
  RecvBuffer rb(config(100));
  rb.reset(kIsn);
  auto a = rb.write(kIsn, slice(s, 0, 100), true);  // fills the window: the FIN at 100 is out
  EXPECT_EQ(a.readable, 100U);
  EXPECT_FALSE(a.fin);
  EXPECT_EQ(rb.counters().rx_fin_past_window.value(), 1U);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 100);
  std::vector<std::byte> out(10);
  rb.read(out);
  a = rb.write(kIsn + 100, Bytes{}, true);
  EXPECT_TRUE(a.fin);
  EXPECT_EQ(rb.rcv_nxt(), kIsn + 101);
  EXPECT_EQ(rb.window(), 9U);
}

// reset() starts a new sequence space, forgetting data, ranges and the FIN.
TEST(RecvBuffer, ResetStartsANewSequenceSpace) {
  const auto s = stream(300);
  RecvBuffer rb(config(1000));
  rb.reset(kIsn);
  rb.write(kIsn, slice(s, 0, 100));
  rb.write(kIsn + 200, slice(s, 200, 100), true);
  rb.reset(SeqNum(5));
  EXPECT_EQ(rb.rcv_nxt(), SeqNum(5));
  EXPECT_EQ(rb.readable(), 0U);
  EXPECT_EQ(rb.ranges(), 0U);
  EXPECT_EQ(rb.out_of_order_bytes(), 0U);
  EXPECT_EQ(rb.window(), 1000U);
  EXPECT_EQ(rb.write(SeqNum(5), slice(s, 0, 300)).readable, 300U);
  EXPECT_FALSE(rb.fin_received());
  EXPECT_EQ(read_all(rb), s);
}

// The property: random segments of a random stream, in random order, with duplicates, overlaps
// and segments past the window, read out in random sizes, give back exactly the stream, FIN
// included; every step the held ranges are sorted, apart, inside the window, and add up.
TEST(RecvBuffer, RandomSegmentsInRandomOrderReadOutTheStream) {
  for (std::uint64_t seed = 100; seed < 160; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random rng(seed);
    const std::size_t len = rng.between(0, 60000);
    const auto s = stream(len, rng.below(256));
    const std::size_t capacity = rng.between(16, 9000);
    const std::size_t max_ranges = rng.between(0, 8);
    RecvBuffer rb(config(capacity, max_ranges));
    // Half the runs start just before the wrap.
    const SeqNum isn(rng.below(2) == 0 ? rng.next_u32() : 0xffffffffU - rng.below(20000));
    rb.reset(isn);
    std::vector<std::byte> got;
    std::vector<std::byte> out(capacity);
    std::vector<SackBlock> blocks(max_ranges + 1);
    int step = 0;
    while (!rb.fin_received() || rb.readable() > 0) {
      ASSERT_LT(++step, 1'000'000);
      const auto nxt = static_cast<std::size_t>(rb.rcv_nxt() - isn);
      if (rng.below(4) == 0) {
        const auto n =
            rb.read(gsl::span(out).first(rng.between(0, static_cast<std::uint32_t>(capacity))));
        got.insert(got.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
      } else {
        // Somewhere from a little before rcv_nxt to a little past the window; every 8th at
        // rcv_nxt, as a retransmission would be.
        std::size_t from = nxt;
        if (rng.below(8) != 0) {
          from = nxt - std::min<std::size_t>(nxt, rng.below(1000)) +
                 rng.below(static_cast<std::uint32_t>(capacity) + 1000);
        }
        from = std::min(from, len);
        const std::size_t n =
            std::min<std::size_t>(len - from, rng.between(0, rng.below(2) == 0 ? 1460 : 100));
        rb.write(isn + static_cast<std::uint32_t>(from), slice(s, from, n), from + n == len);
      }
      // The ranges, all of them, sorted: apart, inside (rcv_nxt, right edge], adding up.
      const std::size_t count = rb.sack_blocks(blocks);
      ASSERT_EQ(count, rb.ranges());
      ASSERT_LE(count, max_ranges);
      std::vector<SackBlock> sorted(blocks.begin(),
                                    blocks.begin() + static_cast<std::ptrdiff_t>(count));
      std::sort(sorted.begin(), sorted.end(),
                [](const SackBlock& x, const SackBlock& y) { return x.left < y.left; });
      std::size_t held = 0;
      SeqNum prev = rb.rcv_nxt();
      for (const auto& b : sorted) {
        ASSERT_GT(b.left, prev);
        ASSERT_GT(b.right, b.left);
        prev = b.right;
        held += static_cast<std::size_t>(b.right - b.left);
      }
      ASSERT_LE(prev, right_edge(rb));
      ASSERT_EQ(held, rb.out_of_order_bytes());
    }
    EXPECT_EQ(got, s);
    EXPECT_EQ(rb.rcv_nxt(), isn + static_cast<std::uint32_t>(len + 1));
    EXPECT_EQ(rb.window(), capacity - 1);
  }
}

TEST(RecvBuffer, NoAllocationAfterConstruction) {
  const auto s = stream(20000);
  RecvBuffer rb(config(4096, 8));
  std::vector<std::byte> out(1500);
  std::array<SackBlock, 4> blocks{};
  Random rng(7);
  const std::size_t before = test::allocations();
  rb.reset(kIsn);
  std::size_t sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto nxt = static_cast<std::uint32_t>(rb.rcv_nxt() - kIsn);
    const std::uint32_t from = std::min<std::uint32_t>(nxt + rng.below(5000), 18000);
    sum += rb.write(kIsn + from, slice(s, from, rng.between(1, 200)), i == 15000).readable;
    sum += rb.sack_blocks(blocks);
    if (i % 3 == 0) sum += rb.read(out);
    sum += rb.peek(0, gsl::span(out).first(10));
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_GT(sum, 0U);
  EXPECT_GT(rb.counters().rx_ooo_pruned.value(), 0U);  // the workload did reach the bound
}

TEST(RecvBuffer, CountersHaveStableNames) {
  RecvBuffer rb(config(100));
  std::vector<std::string> names;
  rb.counters().for_each_counter(
      [&](std::string_view name, const Counter&) { names.emplace_back(name); });
  EXPECT_EQ(names, (std::vector<std::string>{"tcp.rx_ooo_segments", "tcp.rx_ooo_pruned",
                                             "tcp.rx_ooo_pruned_bytes", "tcp.rx_dup_bytes",
                                             "tcp.rx_past_window_bytes", "tcp.rx_past_fin_bytes",
                                             "tcp.rx_fin_past_window", "tcp.rx_fin_conflict"}));
}

}  // namespace
}  // namespace tapir::tcp
