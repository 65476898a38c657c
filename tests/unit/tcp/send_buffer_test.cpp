// The TCP send buffer and SACK scoreboard: write/peek/ACK with wrap of the ring and of the
// sequence space, ACK acceptability (RFC 9293 §3.10.7.4), duplicate ACKs (RFC 5681 §2), Karn's
// rule (RFC 6298 §3), SACK blocks (RFC 2018), RFC 6675's IsLost, SetPipe and NextSeg in worked
// examples, the RTO reset (RFC 2018 §8, RFC 6675 §5.1), the segment-table bound, no allocation
// after construction, and a seeded random run against a std::map model.
#include "stack/tcp/send_buffer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "stack/base/random.hpp"
#include "tests/support/allocations.hpp"

namespace tapir::tcp {
namespace {

using std::chrono::milliseconds;
using wire::SackBlock;
using wire::SeqNum;

// A stream whose every byte depends on its position, so a byte from the wrong offset shows.
std::vector<std::byte> stream(std::size_t n) {
  std::vector<std::byte> s(n);
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<std::byte>(((i % 251U) * 7U + i / 251U) & 0xffU);
  return s;
}

Instant at_ms(std::int64_t ms) {
  return instant_from_micros(ms * 1000);
}

SendBufferConfig config(std::size_t capacity, std::size_t smss, std::size_t max_segments = 256) {
  SendBufferConfig c;
  c.capacity = capacity;
  c.smss = smss;
  c.max_segments = max_segments;
  return c;
}

constexpr SeqNum kIss{1000};  // reset(kIss): the first data byte is kIss

// A buffer holding `total` bytes of stream(), sent as segments of `seg` bytes at t = 0 ms, 1 ms,
// ... from kIss.
SendBuffer sent_buffer(std::size_t total, std::size_t seg, std::size_t smss,
                       std::size_t max_segments = 256) {
  SendBuffer sb(config(64 * 1024, smss, max_segments));
  sb.reset(kIss);
  const auto data = stream(total);
  EXPECT_EQ(sb.write(data), total);
  for (std::size_t off = 0, i = 0; off < total; off += seg, ++i)
    EXPECT_TRUE(sb.mark_sent(kIss + static_cast<std::uint32_t>(off), std::min(seg, total - off),
                             at_ms(static_cast<std::int64_t>(i)), false));
  return sb;
}

SackBlock blk(std::uint32_t from, std::uint32_t to) {
  return SackBlock{kIss + from, kIss + to};
}

AckResult ack(SendBuffer& sb, std::uint32_t offset, std::vector<SackBlock> sacks = {},
              Instant now = at_ms(100), bool candidate = true) {
  return sb.on_ack(kIss + offset, sacks, now, candidate);
}

std::vector<SackBlock> ranges(const SendBuffer& sb) {
  std::vector<SackBlock> out(64);
  out.resize(sb.sacked_ranges(out));
  return out;
}

// RFC 9293 §3.4 / §3.10.7.4: bytes written come back from peek at their sequence numbers, and
// ACKs consume them, across the ring's end and across 2^32.
TEST(SendBuffer, WritePeekAckRoundTripWrapsRingAndSequenceSpace) {
  SendBuffer sb(config(1000, 100));
  const SeqNum iss{0xffffff00U};
  sb.reset(iss);
  const auto data = stream(20000);
  std::size_t written = 0;
  std::size_t acked = 0;
  std::vector<std::byte> got;
  std::array<std::byte, 100> frame{};
  Random rnd(7);
  std::int64_t t = 0;
  while (acked < data.size()) {
    written +=
        sb.write(Bytes(data).subspan(written, std::min<std::size_t>(333, data.size() - written)));
    EXPECT_EQ(sb.buffered(), written - acked);
    EXPECT_EQ(sb.free_space(), 1000 - sb.buffered());
    while (sb.unsent() > 0) {
      const std::size_t n = sb.peek(sb.nxt(), frame);
      ASSERT_GT(n, 0U);
      got.insert(got.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
      ASSERT_TRUE(sb.mark_sent(sb.nxt(), n, at_ms(t++), false));
    }
    // A partial ACK: some of what is in flight.
    const auto step =
        static_cast<std::uint32_t>(rnd.between(1, static_cast<std::uint32_t>(sb.in_flight())));
    const AckResult r = sb.on_ack(sb.una() + step, {}, at_ms(t), false);
    EXPECT_EQ(r.status, AckStatus::Accepted);
    EXPECT_EQ(r.acked, step);
    acked += step;
    EXPECT_EQ(sb.una(), iss + static_cast<std::uint32_t>(acked));
  }
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin(), data.end()));
  EXPECT_EQ(sb.una(), iss + 20000U);  // wrapped past 0
  EXPECT_LT(sb.una().value(), iss.value());
  EXPECT_EQ(sb.segments(), 0U);
}

// RFC 9293 §3.10.7.4: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK": a partial
// ACK trims the segment it lands in, and what remains is still there to retransmit.
TEST(SendBuffer, PartialAckAdvancesUnaAndTrimsTheSegment) {
  SendBuffer sb = sent_buffer(1000, 1000, 1460);
  const AckResult r = ack(sb, 400);
  EXPECT_EQ(r.status, AckStatus::Accepted);
  EXPECT_EQ(r.acked, 400U);
  EXPECT_EQ(sb.una(), kIss + 400U);
  EXPECT_EQ(sb.in_flight(), 600U);
  EXPECT_EQ(sb.segments(), 1U);
  std::array<std::byte, 10> out{};
  ASSERT_EQ(sb.peek(sb.una(), out), 10U);
  EXPECT_EQ(out[0], stream(1000)[400]);
  EXPECT_EQ(sb.peek(kIss + 399U, out), 0U);  // below una: gone
  EXPECT_EQ(ack(sb, 1000).acked, 600U);
  EXPECT_EQ(sb.in_flight(), 0U);
  EXPECT_EQ(sb.buffered(), 0U);
}

// RFC 9293 §3.10.7.4: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
// ACK, drop the segment, and return"; "If the ACK is a duplicate (SEG.ACK < SND.UNA), it can be
// ignored."
TEST(SendBuffer, AckBeyondNxtOrBelowUnaIgnored) {
  SendBuffer sb = sent_buffer(1000, 100, 1460);
  ASSERT_EQ(sb.write(stream(500)), 500U);  // unsent bytes past nxt do not make an ACK acceptable
  ack(sb, 300);
  const AckResult beyond = ack(sb, 1001, {blk(500, 600)});
  EXPECT_EQ(beyond.status, AckStatus::Unsent);
  EXPECT_EQ(beyond.acked, 0U);
  EXPECT_EQ(beyond.sacked, 0U);
  EXPECT_EQ(sb.counters().rx_ack_unsent.value(), 1U);
  const AckResult below = ack(sb, 299, {blk(500, 600)});
  EXPECT_EQ(below.status, AckStatus::Old);
  EXPECT_FALSE(below.duplicate);
  EXPECT_EQ(sb.counters().rx_ack_old.value(), 1U);
  EXPECT_EQ(sb.una(), kIss + 300U);
  EXPECT_EQ(sb.nxt(), kIss + 1000U);
  EXPECT_EQ(sb.sacked_bytes(), 0U);
  EXPECT_EQ(ack(sb, 1000).acked, 700U);  // exactly nxt is acceptable
}

// RFC 5681 §2: a duplicate ACK needs (a) outstanding data, (b) no data, (c) no SYN/FIN, (d)
// SEG.ACK == SND.UNA, (e) the same window; the caller vouches for (b), (c), (e).
// RFC 6675 §2: an ACK SACKing new octets is a duplicate too.
TEST(SendBuffer, DuplicateAckPerRfc5681Section2) {
  SendBuffer sb = sent_buffer(500, 100, 1460);
  ack(sb, 100);
  EXPECT_TRUE(ack(sb, 100).duplicate);                                   // all five hold
  EXPECT_FALSE(ack(sb, 100, {}, at_ms(100), false).duplicate);           // (b), (c) or (e) fails
  EXPECT_FALSE(ack(sb, 200).duplicate);                                  // (d): new data acked
  const AckResult s = ack(sb, 200, {blk(300, 400)}, at_ms(100), false);  // window changed, SACK
  EXPECT_FALSE(s.duplicate);
  EXPECT_TRUE(s.sack_duplicate);
  EXPECT_FALSE(ack(sb, 200, {blk(300, 400)}, at_ms(100), false).sack_duplicate);  // nothing new
  ack(sb, 500);
  EXPECT_FALSE(ack(sb, 500).duplicate);  // (a): nothing outstanding
}

// RFC 6298 §3 (Karn): RTT samples only from segments never retransmitted; an ACK covering a
// retransmission gives none. The sample is from the oldest newly acknowledged segment.
TEST(SendBuffer, RttSampleOnlyFromNeverRetransmittedSegmentsKarn) {
  SendBuffer sb = sent_buffer(400, 100, 1460);  // segments sent at 0, 1, 2, 3 ms
  AckResult r = ack(sb, 200, {}, at_ms(50));
  ASSERT_TRUE(r.rtt);
  EXPECT_EQ(*r.rtt, milliseconds(50));  // the oldest: sent at 0 ms
  ASSERT_TRUE(sb.mark_sent(kIss + 200U, 100, at_ms(60), true));
  r = ack(sb, 300, {}, at_ms(70));
  EXPECT_FALSE(r.rtt);  // the retransmitted segment: ambiguous
  // A SACK of a fresh segment gives a sample; one that also covers a retransmission does not.
  SendBuffer sb2 = sent_buffer(400, 100, 1460);
  r = ack(sb2, 0, {blk(300, 400)}, at_ms(80));
  ASSERT_TRUE(r.rtt);
  EXPECT_EQ(*r.rtt, milliseconds(77));
  ASSERT_TRUE(sb2.mark_sent(kIss + 100U, 100, at_ms(90), true));
  r = ack(sb2, 0, {blk(100, 300)}, at_ms(95));
  EXPECT_FALSE(r.rtt);
  r = ack(sb2, 400, {}, at_ms(99));  // 0..100 fresh, but 100..200 retransmitted: none
  EXPECT_FALSE(r.rtt);
}

// RFC 2018 §4 / RFC 6675 §4 Update(): SACKed octets are marked once, overlapping blocks merge;
// blocks reaching past SND.NXT, empty or reversed are ignored, blocks below SND.UNA too, and a
// block straddling SND.UNA counts only above it.
TEST(SendBuffer, SackBlocksRecordedMergedOutOfRangeIgnored) {
  SendBuffer sb = sent_buffer(1000, 100, 1460);
  AckResult r = ack(sb, 100, {blk(200, 400), blk(300, 500)});
  EXPECT_EQ(r.sacked, 300U);
  EXPECT_EQ(sb.sacked_bytes(), 300U);
  ASSERT_TRUE(r.highest_sacked);
  EXPECT_EQ(*r.highest_sacked, kIss + 500U);
  EXPECT_EQ(ranges(sb), (std::vector<SackBlock>{blk(200, 500)}));
  r = ack(sb, 100, {blk(900, 1001), blk(700, 600), blk(650, 650), blk(0, 100)});
  EXPECT_EQ(r.sacked, 0U);
  EXPECT_EQ(sb.counters().rx_sack_invalid.value(), 3U);
  EXPECT_EQ(sb.counters().rx_sack_old.value(), 1U);
  r = ack(sb, 250, {blk(150, 260), blk(550, 620)});  // clipped to [250, 260); SACK splits 550..620
  EXPECT_EQ(r.acked, 150U);
  EXPECT_EQ(r.sacked, 70U);
  EXPECT_EQ(sb.sacked_bytes(), 250U + 70U);  // [250, 500) and [550, 620)
  EXPECT_EQ(ranges(sb), (std::vector<SackBlock>{blk(250, 500), blk(550, 620)}));
  ack(sb, 600);
  EXPECT_EQ(sb.sacked_bytes(), 20U);
  EXPECT_EQ(ranges(sb), (std::vector<SackBlock>{blk(600, 620)}));
}

// RFC 6675 §4 IsLost: "DupThresh discontiguous SACKed sequences have arrived above 'SeqNum'"
// (segments: three small ones, far below the byte threshold).
TEST(SendBuffer, IsLostThreeSegmentsSackedAbove) {
  SendBuffer sb = sent_buffer(1000, 100, 1000);  // 2 * SMSS = 2000 bytes: never reached here
  ack(sb, 0, {blk(200, 300), blk(400, 500)});
  EXPECT_FALSE(sb.is_lost(kIss + 0U));  // two SACKed segments above
  ack(sb, 0, {blk(500, 600)});          // contiguous with the last: still three segments
  EXPECT_TRUE(sb.is_lost(kIss + 0U));
  EXPECT_TRUE(sb.is_lost(kIss + 199U));
  EXPECT_FALSE(sb.is_lost(kIss + 300U));   // only two above
  EXPECT_FALSE(sb.is_lost(kIss + 200U));   // SACKed itself
  EXPECT_FALSE(sb.is_lost(kIss + 1000U));  // not sent
}

// RFC 6675 §4 IsLost: "more than (DupThresh - 1) * SMSS bytes with sequence numbers greater than
// 'SeqNum' have been SACKed" (one large segment; exactly 2 * SMSS is not more).
TEST(SendBuffer, IsLostBytesThresholdMoreThanTwoSmss) {
  SendBuffer sb(config(4096, 100));
  sb.reset(kIss);
  ASSERT_EQ(sb.write(stream(700)), 700U);
  ASSERT_TRUE(sb.mark_sent(kIss, 100, at_ms(0), false));
  ASSERT_TRUE(sb.mark_sent(kIss + 100U, 200, at_ms(1), false));
  ASSERT_TRUE(sb.mark_sent(kIss + 300U, 100, at_ms(2), false));
  ASSERT_TRUE(sb.mark_sent(kIss + 400U, 201, at_ms(3), false));
  ack(sb, 0, {blk(100, 300)});
  EXPECT_FALSE(sb.is_lost(kIss + 0U));  // 200 bytes, one segment
  ack(sb, 0, {blk(400, 601)});
  EXPECT_TRUE(sb.is_lost(kIss + 300U));  // 201 bytes above: more than 200
  EXPECT_TRUE(sb.is_lost(kIss + 0U));
}

// The worked scenario of the next tests: SMSS 100, ten segments [0, 1000) (offsets from ISS+1),
// segments 3, 5 and 7 SACKed, so 0, 1, 2, 4, 6, 8, 9 are missing.
SendBuffer loss_scenario() {
  SendBuffer sb = sent_buffer(1000, 100, 100);
  const AckResult r = ack(sb, 0, {blk(300, 400), blk(500, 600), blk(700, 800)});
  EXPECT_EQ(r.sacked, 300U);
  EXPECT_TRUE(r.duplicate);
  return sb;
}

// RFC 6675 §4 SetPipe: for each unSACKed octet in [HighACK+1, HighData], (a) +1 if not IsLost,
// (b) +1 if at or below HighRxt. By hand, after retransmitting segment 0 (HighRxt + 1 = 100),
// from the top (SACKed segments above: count, bytes):
//   9: (0, 0) not lost +100        8: (0, 0) +100           7: SACKed
//   6: (1, 100) not lost +100      5: SACKed                4: (2, 200) not lost (200 is not
//   more than 2*SMSS) +100         3: SACKed                2: (3, 300) lost +0
//   1: lost +0                     0: lost +0, below HighRxt (b) +100
// pipe = 500.
TEST(SendBuffer, PipePerSetPipeWorkedExample) {
  SendBuffer sb = loss_scenario();
  EXPECT_EQ(sb.pipe(), 400U);  // before the retransmission: (b) adds nothing yet
  sb.begin_recovery();
  ASSERT_TRUE(sb.mark_sent(kIss, 100, at_ms(200), true));
  EXPECT_EQ(sb.high_rxt(), kIss + 100U);
  EXPECT_EQ(sb.pipe(), 500U);
  // Retransmitting segment 4, not lost, counts it twice ("octets retransmitted without being
  // considered lost are counted twice"): +100.
  ASSERT_TRUE(sb.mark_sent(kIss + 400U, 100, at_ms(201), true));
  EXPECT_EQ(sb.high_rxt(), kIss + 500U);
  // Now 1 and 2 are below HighRxt too: 500 + 100 (segment 1) + 100 (2) + 100 (4 again) = 800.
  EXPECT_EQ(sb.pipe(), 800U);
}

// RFC 6675 §4 NextSeg rules (1)-(4) and §5 (4.1)/(4.3) in the worked loss scenario.
TEST(SendBuffer, NextSegChoicesInWorkedLossScenario) {
  SendBuffer sb = loss_scenario();
  ASSERT_EQ(sb.write(stream(200)), 200U);  // unsent data: [1000, 1200)
  sb.begin_recovery();
  EXPECT_EQ(sb.recovery_point(), kIss + 1000U);  // (4.1) RecoveryPoint = HighData
  std::int64_t t = 200;
  auto send = [&](const NextSeg& s) { ASSERT_TRUE(sb.mark_sent(s, at_ms(t++))); };
  // Rule (1): segments 0, 1, 2 are lost (three SACKed segments above), lowest first.
  for (std::uint32_t off : {0U, 100U, 200U}) {
    const auto n = sb.next_seg(64 * 1024);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, (NextSeg{kIss + off, 100, NextSegRule::Lost}));
    send(*n);
  }
  // (4.3): the first retransmission set RescueRxt (one past) to its end.
  EXPECT_EQ(sb.rescue_rxt(), kIss + 100U);
  EXPECT_EQ(sb.high_rxt(), kIss + 300U);
  // Segment 4 is not lost (two SACKed above): rule (2), new data, while the window allows.
  auto n = sb.next_seg(1100);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, (NextSeg{kIss + 1000U, 100, NextSegRule::New}));
  send(*n);
  // The window ends at 1100 = nxt: rule (3), unSACKed below the highest SACK, not retransmitted.
  for (std::uint32_t off : {400U, 600U}) {
    n = sb.next_seg(1100);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, (NextSeg{kIss + off, 100, NextSegRule::Unsacked}));
    send(*n);
  }
  // Above HighRxt (700) only 800..1100 is unSACKed, all above the highest SACK; and HighACK
  // is not past RescueRxt: rule (5), nothing.
  EXPECT_FALSE(sb.next_seg(1100));
  // A partial ACK past RescueRxt: rule (4), one rescue segment ending at the highest unSACKed
  // octet; RescueRxt = RecoveryPoint, HighRxt unchanged.
  const AckResult r = ack(sb, 300);
  EXPECT_FALSE(r.recovery_ended);
  n = sb.next_seg(800);  // 300 + 800 = nxt: no new data
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, (NextSeg{kIss + 1000U, 100, NextSegRule::Rescue}));
  send(*n);
  EXPECT_EQ(sb.rescue_rxt(), kIss + 1000U);
  EXPECT_EQ(sb.high_rxt(), kIss + 700U);
  EXPECT_FALSE(sb.next_seg(800));  // one rescue per recovery
  // RFC 6675 §5 (A): the cumulative ACK covering RecoveryPoint ends recovery.
  EXPECT_TRUE(ack(sb, 1000).recovery_ended);
  EXPECT_FALSE(sb.in_recovery());
}

// RFC 2018 §8: "after a retransmit timeout the data sender SHOULD turn off all of the SACKed
// bits"; RFC 6675 §5.1: recovery terminated, RecoveryPoint = HighData returned.
TEST(SendBuffer, OnRtoClearsScoreboardRfc2018Section8Rfc6675Section5_1) {
  SendBuffer sb = loss_scenario();
  sb.begin_recovery();
  ASSERT_TRUE(sb.mark_sent(kIss, 100, at_ms(200), true));
  EXPECT_EQ(sb.on_rto(), kIss + 1000U);
  EXPECT_FALSE(sb.in_recovery());
  EXPECT_EQ(sb.sacked_bytes(), 0U);
  EXPECT_FALSE(sb.highest_sacked());
  EXPECT_TRUE(ranges(sb).empty());
  EXPECT_EQ(sb.high_rxt(), sb.una());
  EXPECT_FALSE(sb.rescue_rxt());
  EXPECT_FALSE(sb.is_lost(kIss + 0U));
  EXPECT_EQ(sb.pipe(), 1000U);
  // The caller retransmits from the left edge (NextSeg is not for slow start after an RTO).
  ASSERT_TRUE(sb.mark_sent(kIss, 100, at_ms(300), true));
  EXPECT_EQ(sb.high_rxt(), kIss + 100U);
  // The peer SACKs again after the RTO: Update() works as before.
  EXPECT_EQ(ack(sb, 0, {blk(300, 400)}).sacked, 100U);
}

// The segment table holds max_segments records: full, new data coalesces into the last record
// (older time kept, so an RTT sample is never too short), and is refused when that record is
// SACKed; SACK and retransmission coarsen instead of splitting.
TEST(SendBuffer, SegmentTableBoundCoalescesOrRefuses) {
  SendBuffer sb(config(4096, 100, 4));
  sb.reset(kIss);
  ASSERT_EQ(sb.write(stream(1000)), 1000U);
  for (std::uint32_t i = 0; i < 6; ++i)
    ASSERT_TRUE(sb.mark_sent(kIss + i * 100, 100, at_ms(i), false));
  EXPECT_EQ(sb.segments(), 4U);
  EXPECT_EQ(sb.segments_free(), 0U);
  EXPECT_EQ(sb.counters().tx_seg_coalesced.value(), 2U);
  EXPECT_EQ(sb.nxt(), kIss + 600U);
  // A SACK inside the coalesced record [300, 600) cannot split it: not recorded.
  AckResult r = ack(sb, 0, {blk(400, 500)});
  EXPECT_EQ(r.sacked, 0U);
  EXPECT_EQ(sb.counters().rx_sack_coarsened.value(), 1U);
  // A SACK of the whole last record is recorded; new data is then refused.
  r = ack(sb, 0, {blk(300, 600)});
  EXPECT_EQ(r.sacked, 300U);
  ASSERT_TRUE(r.rtt);
  EXPECT_EQ(*r.rtt, milliseconds(97));  // the coalesced record kept the time of 300..400: 3 ms
  EXPECT_FALSE(sb.mark_sent(kIss + 600U, 100, at_ms(10), false));
  EXPECT_EQ(sb.counters().tx_seg_refused.value(), 1U);
  EXPECT_EQ(sb.nxt(), kIss + 600U);
  // A retransmission of part of a record marks the whole record retransmitted (Karn).
  ASSERT_TRUE(sb.mark_sent(kIss + 150U, 20, at_ms(20), true));
  EXPECT_EQ(sb.segments(), 4U);
  r = ack(sb, 120, {}, at_ms(30));
  EXPECT_FALSE(r.rtt);
  // An ACK frees records: new data flows again.
  ack(sb, 300);
  EXPECT_TRUE(sb.mark_sent(kIss + 600U, 100, at_ms(40), false));
  // Mark-sent contract violations are refused.
  EXPECT_FALSE(sb.mark_sent(kIss + 700U, 100, at_ms(40), true));   // new data flagged as rxt
  EXPECT_FALSE(sb.mark_sent(kIss + 300U, 100, at_ms(40), false));  // rxt flagged as new
  EXPECT_FALSE(sb.mark_sent(kIss + 800U, 100, at_ms(40), false));  // a gap past nxt
  EXPECT_FALSE(sb.mark_sent(kIss + 700U, 400, at_ms(40), false));  // past the buffered bytes
  EXPECT_FALSE(sb.mark_sent(kIss + 200U, 100, at_ms(40), true));   // below una
}

TEST(SendBuffer, NoAllocationAfterConstruction) {
  SendBuffer sb(config(8192, 100, 32));
  sb.reset(SeqNum{0xfffff000U});
  const auto data = stream(1000);
  std::array<std::byte, 100> frame{};
  std::array<SackBlock, 2> sacks{};
  std::array<SackBlock, 4> out{};
  std::size_t sink = 0;
  const auto before = test::allocations();
  for (int round = 0; round < 50; ++round) {
    sb.write(data);
    while (sb.unsent() > 0 && sb.segments_free() > 0) {
      const std::size_t n = sb.peek(sb.nxt(), frame);
      sb.mark_sent(sb.nxt(), n, at_ms(round), false);
    }
    sacks[0] = SackBlock{sb.una() + 200U, sb.una() + 300U};
    sacks[1] = SackBlock{sb.una() + 400U, sb.una() + 450U};
    sb.on_ack(sb.una(), sacks, at_ms(round), true);
    sb.begin_recovery();
    if (auto n = sb.next_seg(4096)) sb.mark_sent(*n, at_ms(round));
    sink += sb.pipe() + (sb.is_lost(sb.una()) ? 1U : 0U) + sb.sacked_ranges(out);
    if (round % 7 == 0) sb.on_rto();
    sb.on_ack(sb.nxt(), {}, at_ms(round + 1), false);
  }
  EXPECT_EQ(test::allocations() - before, 0U);
  EXPECT_GT(sink, 0U);
}

// A seeded random run against a reference: the bytes as a std::map of SACKed intervals over
// 64-bit stream offsets. una, nxt, the SACKed bytes and ranges must agree after every step
// (with enough records never to coarsen); with a tiny table, SACKed bytes stay a subset.
void random_run(std::uint64_t seed, std::size_t max_segments) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " max_segments " << max_segments);
  Random rnd(seed);
  const std::size_t capacity = 3000;
  SendBuffer sb(config(capacity, 100, max_segments));
  const SeqNum iss{0xffffffffU - rnd.below(5000)};
  sb.reset(iss);
  const auto data = stream(400000);
  std::uint64_t written = 0, una = 0, nxt = 0;
  std::map<std::uint64_t, std::uint64_t> sacked;  // start -> end, merged, within [una, nxt)
  auto seq = [&](std::uint64_t off) { return iss + static_cast<std::uint32_t>(off); };
  auto model_sacked = [&] {
    std::uint64_t n = 0;
    for (auto [a, b] : sacked)
      n += b - a;
    return n;
  };
  auto add_sack = [&](std::uint64_t a, std::uint64_t b) {
    auto it = sacked.lower_bound(a);
    if (it != sacked.begin() && std::prev(it)->second >= a) --it;
    while (it != sacked.end() && it->first <= b) {
      a = std::min(a, it->first);
      b = std::max(b, it->second);
      it = sacked.erase(it);
    }
    sacked[a] = b;
  };
  auto cut_below = [&](std::uint64_t u) {
    while (!sacked.empty() && sacked.begin()->first < u) {
      auto [a, b] = *sacked.begin();
      sacked.erase(sacked.begin());
      if (b > u) sacked[u] = b;
    }
  };
  std::array<std::byte, 300> frame{};
  for (int step = 0; step < 4000; ++step) {
    const Instant now = at_ms(step);
    switch (rnd.below(5)) {
      case 0: {
        const auto n = std::min<std::uint64_t>(rnd.below(800), data.size() - written);
        written += sb.write(Bytes(data).subspan(written, n));
        break;
      }
      case 1: {  // send new data
        const auto n = std::min<std::uint64_t>(1 + rnd.below(200), written - nxt);
        if (n == 0) break;
        ASSERT_EQ(sb.peek(seq(nxt), frame), std::min<std::uint64_t>(frame.size(), written - nxt));
        ASSERT_EQ(frame[0], data[nxt]);
        if (sb.mark_sent(seq(nxt), n, now, false)) nxt += n;
        break;
      }
      case 2: {  // retransmit
        if (nxt == una) break;
        const std::uint64_t from = una + rnd.below(static_cast<std::uint32_t>(nxt - una));
        const std::uint64_t n = 1 + rnd.below(static_cast<std::uint32_t>(written - from));
        ASSERT_EQ(sb.peek(seq(from), frame), std::min<std::uint64_t>(frame.size(), written - from));
        ASSERT_EQ(frame[0], data[from]);
        const bool ok = sb.mark_sent(seq(from), n, now, true);
        // Refused only when new data finds a full table whose last record is SACKed.
        if (max_segments >= capacity) {
          ASSERT_TRUE(ok);
        }
        if (ok) nxt = std::max(nxt, from + n);
        break;
      }
      default: {  // an ACK, acceptable or not, with SACK blocks, valid or not
        const std::int64_t lo = static_cast<std::int64_t>(una) - 50;
        const std::int64_t hi = static_cast<std::int64_t>(nxt) + 20;
        const auto pick = [&](std::int64_t a, std::int64_t b) {
          return a + static_cast<std::int64_t>(rnd.below(static_cast<std::uint32_t>(b - a + 1)));
        };
        const std::int64_t a = rnd.below(3) == 0 ? static_cast<std::int64_t>(una) : pick(lo, hi);
        std::vector<SackBlock> blocks;
        std::vector<std::pair<std::int64_t, std::int64_t>> raw;
        for (std::uint32_t k = rnd.below(5); k > 0; --k) {
          const std::int64_t l = pick(lo, hi);
          const std::int64_t r = pick(l - 10, std::min(hi, l + 400));
          raw.emplace_back(l, r);
          blocks.push_back(
              SackBlock{iss + static_cast<std::uint32_t>(l), iss + static_cast<std::uint32_t>(r)});
        }
        const AckResult res = sb.on_ack(iss + static_cast<std::uint32_t>(a), blocks, now, true);
        if (a < static_cast<std::int64_t>(una)) {
          ASSERT_EQ(res.status, AckStatus::Old);
          break;
        }
        if (a > static_cast<std::int64_t>(nxt)) {
          ASSERT_EQ(res.status, AckStatus::Unsent);
          break;
        }
        ASSERT_EQ(res.status, AckStatus::Accepted);
        ASSERT_EQ(res.acked, static_cast<std::uint64_t>(a) - una);
        una = static_cast<std::uint64_t>(a);
        cut_below(una);
        const auto before = model_sacked();
        for (auto [l, r] : raw) {
          if (l >= r || r > static_cast<std::int64_t>(nxt) || r <= static_cast<std::int64_t>(una))
            continue;
          add_sack(static_cast<std::uint64_t>(std::max(l, static_cast<std::int64_t>(una))),
                   static_cast<std::uint64_t>(r));
        }
        if (max_segments >= capacity) {
          ASSERT_EQ(res.sacked, model_sacked() - before) << "step " << step;
        }
        break;
      }
    }
    if (rnd.below(200) == 0) {
      sb.on_rto();
      sacked.clear();
    }
    ASSERT_EQ(sb.una(), seq(una));
    ASSERT_EQ(sb.nxt(), seq(nxt));
    ASSERT_EQ(sb.buffered(), written - una);
    ASSERT_LE(sb.segments(), max_segments);
    std::vector<SackBlock> got(capacity);
    got.resize(sb.sacked_ranges(got));
    std::uint64_t got_bytes = 0;
    for (const auto& b : got)
      got_bytes += static_cast<std::uint32_t>(b.right - b.left);
    ASSERT_EQ(sb.sacked_bytes(), got_bytes);
    if (max_segments >= capacity) {
      std::vector<SackBlock> want;
      for (auto [l, r] : sacked)
        want.push_back(SackBlock{seq(l), seq(r)});
      ASSERT_EQ(got, want);
    } else {
      for (const auto& b : got) {  // every recorded SACKed byte is SACKed in the model
        const std::uint64_t l = una + static_cast<std::uint32_t>(b.left - seq(una));
        const std::uint64_t r = una + static_cast<std::uint32_t>(b.right - seq(una));
        auto it = sacked.upper_bound(l);
        ASSERT_NE(it, sacked.begin());
        --it;
        ASSERT_LE(it->first, l);
        ASSERT_GE(it->second, r);
      }
    }
    ASSERT_LE(sb.pipe(), 2 * (nxt - una));
  }
}

TEST(SendBuffer, RandomOperationsAgreeWithMapModel) {
  for (std::uint64_t seed : {1U, 2U, 3U, 42U, 1234U})
    random_run(seed, 3000);
}

TEST(SendBuffer, RandomOperationsWithTinyTableStayConservative) {
  for (std::uint64_t seed : {5U, 6U, 7U})
    random_run(seed, 3);
}

}  // namespace
}  // namespace tapir::tcp
