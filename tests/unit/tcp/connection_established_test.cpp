// tcp::Connection in ESTABLISHED: RFC 9293 §3.10.7.4's checks in order -- the sequence test,
// RST (RFC 5961 §3), SYN (RFC 5961 §4), the ACK (RFC 5961 §5) -- PAWS and TS.Recent (RFC 7323
// §4.3, §5.3), receiving data in order and out of order with SACK blocks (RFC 2018), delayed
// ACKs (RFC 5681 §4.2, RFC 1122 §4.2.3.2), the receive window (scaled, never shrunk, SWS
// avoidance: RFC 7323 §2.3, RFC 9293 §3.8.6), and sending: MSS-sized segments, Nagle (RFC 9293
// §3.7.4), the scaled send window and sender-side SWS avoidance (RFC 9293 §3.8.6.2.1).
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/unit/tcp/connection_harness.hpp"

namespace tapir::tcp::test {
namespace {

class TcpEstablished : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(establish_active()); }

  // Our ACK at now, echoing `tsecr` rather than the peer's last TSval.
  TcpRepr ours_echo(SeqNum seq, SeqNum ack, std::uint16_t window, std::uint32_t tsecr) const {
    TcpRepr s = ours(seq, ack, window);
    s.timestamps->tsecr = tsecr;
    return s;
  }
  TcpRepr with_sacks(TcpRepr s, std::initializer_list<SackBlock> blocks) const {
    s.sack_count = 0;
    for (const SackBlock& b : blocks)
      s.sack_blocks[s.sack_count++] = b;
    return s;
  }
  static SackBlock block(std::uint32_t from, std::uint32_t to) {
    return SackBlock{kIrs + 1 + from, kIrs + 1 + to};
  }
};

constexpr std::uint32_t kHandshakeTsval = kPeerTs0 + 10;  // the SYN-ACK's, at 10 ms

// ---- The sequence test (RFC 9293 §3.10.7.4, first) ------------------------------------------

// "If an incoming segment is not acceptable, an acknowledgment should be sent in reply":
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the segment dropped. RFC 7323 §4.3: an unacceptable
// segment does not update TS.Recent, so the echo stays the SYN-ACK's TSval.
TEST_F(TcpEstablished, UnacceptableSegmentGetsAck) {
  now_ += 5ms;
  const auto data = pattern(100);
  const TcpRepr want = ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval);
  // Just past the right edge (IRS + 1 + 65536), wholly left of RCV.NXT, and a bare ACK past the
  // window.
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 65536, kIss + 1, 100), data), want);
  EXPECT_SENT(receive(peer_data(kIrs + 1 - 200, kIss + 1, 100), data), want);
  EXPECT_SENT(receive(peer(kIrs + 1 + 70000, kIss + 1)), want);
  EXPECT_EQ(conn().readable(), 0U);
  EXPECT_EQ(conn().counters().rx_unacceptable.value(), 3U);
  EXPECT_EQ(conn().state(), State::Established);
}

// RFC 9293 §3.10.7.4, first: "(unless the RST bit is set, if so drop the segment and return)".
TEST_F(TcpEstablished, UnacceptableRstIsDropped) {
  for (const SeqNum seq : {kIrs + 1 + 65536, kIrs, kIrs - 100000}) {
    TcpRepr rst = peer(seq, std::nullopt, 0);
    rst.rst = true;
    EXPECT_TRUE(receive(rst).empty()) << seq.value();
  }
  EXPECT_EQ(conn().state(), State::Established);
}

// A segment that starts left of RCV.NXT and reaches into the window is acceptable (the table's
// second test; Linux's too): the new part is taken, the old part dropped, and the ACK is
// immediate.
TEST_F(TcpEstablished, OverlappingRetransmissionKeepsTheNewPart) {
  const auto first = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), first),
              ours(kIss + 1, kIrs + 101, 32718));
  const auto both = pattern(300);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 300), both), ours(kIss + 1, kIrs + 301, 32618));
  EXPECT_EQ(read_all(), both);
}

// ---- RST (RFC 5961 §3) ----------------------------------------------------------------------

// RFC 5961 §3.2: "If the RST bit is set and the sequence number exactly matches the next
// expected sequence number (RCV.NXT), then TCP MUST reset the connection"; RFC 9293 §3.10.7.4
// ESTABLISHED: "enter the CLOSED state ... signal 'connection reset'". Nothing is sent.
TEST_F(TcpEstablished, RstAtRcvNxtResets) {
  conn().take_events();
  TcpRepr rst = peer(kIrs + 1, kIss + 1, 0);
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_reset));
  EXPECT_EQ(conn().take_events(), kEventClosed | kEventReadable | kEventWritable);
  EXPECT_EQ(conn().next_deadline(), kNever);
  EXPECT_EQ(conn().counters().rx_rst.value(), 1U);
}

// RFC 5961 §3.2: "If the RST bit is set and the sequence number does not exactly match the next
// expected sequence value, yet is within the current receive window, TCP MUST send an
// acknowledgment (challenge ACK)" <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. RFC 7323 §5.2: the RST's
// timestamps update nothing.
TEST_F(TcpEstablished, RstInWindowNotAtRcvNxtGetsChallengeAck) {
  for (const SeqNum seq : {kIrs + 2, kIrs + 1 + 65535}) {
    now_ += 600ms;  // past the rate limit of RFC 5961 §7 (kOutOfWindowAckInterval)
    TcpRepr rst = peer(seq, std::nullopt, 0);
    rst.rst = true;
    EXPECT_SENT(receive(rst), ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval)) << seq.value();
  }
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().counters().rx_challenge_acks.value(), 2U);
}

// RFC 5961 §7: challenge ACKs are rate limited (as Linux's tcp_oow_rate_limited: one per 500 ms
// per connection), so a flood of forged RSTs cannot make us flood ACKs.
TEST_F(TcpEstablished, ChallengeAcksAreRateLimited) {
  now_ += 600ms;
  TcpRepr rst = peer(kIrs + 2, std::nullopt, 0);
  rst.rst = true;
  EXPECT_SENT(receive(rst), ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval));
  now_ += 100ms;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().counters().rx_acks_rate_limited.value(), 2U);
  now_ += 500ms;
  EXPECT_SENT(receive(rst), ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval));
  EXPECT_EQ(conn().counters().rx_challenge_acks.value(), 4U);
}

// RFC 7323 §5.2: "RST segments ... MUST NOT be subjected to the PAWS check": a RST at RCV.NXT
// with an old TSval still resets.
TEST_F(TcpEstablished, RstIsNotSubjectToPaws) {
  TcpRepr rst = peer(kIrs + 1, std::nullopt, 0);
  rst.rst = true;
  rst.timestamps = TcpTimestamps{kHandshakeTsval - 1000, 0};
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::Closed);
}

// ---- SYN (RFC 5961 §4) ----------------------------------------------------------------------

// RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number, TCP MUST send an
// ACK (also referred to as challenge ACK) to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT>
// <CTL=ACK>" and drop the segment. In the window it is a challenge ACK; outside (a retransmitted
// SYN-ACK: our ACK of it was lost) the sequence test answers with the same segment.
TEST_F(TcpEstablished, SynGetsChallengeAck) {
  now_ += 5ms;
  const TcpRepr want = ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval);
  TcpRepr syn = peer_syn();
  syn.seq_number = kIrs + 1;
  EXPECT_SENT(receive(syn), want);
  EXPECT_EQ(conn().counters().rx_challenge_acks.value(), 1U);
  // Each 600 ms later: past the rate limit of RFC 5961 §7.
  now_ += 600ms;
  syn.seq_number = kIrs + 100000;
  EXPECT_SENT(receive(syn), ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval));
  now_ += 600ms;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)),
              ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval));
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().rcv_nxt(), kIrs + 1);
}

// ---- ACK (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5) ----------------------------------------------

// RFC 9293 §3.10.7.4 ESTABLISHED: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT),
// then send an ACK, drop the segment, and return" -- the data on it is not taken.
TEST_F(TcpEstablished, AckOfUnsentDataGetsAckAndIsDropped) {
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 11, 100), data), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().readable(), 0U);
  EXPECT_EQ(conn().counters().rx_bad_ack.value(), 1U);
  EXPECT_EQ(conn().snd_una(), kIss + 1);
}

// RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND is dropped with an ACK; one between that
// and SND.UNA is old ("it can be ignored") but its data is taken.
TEST_F(TcpEstablished, AckTooOldGetsAckAndOldAckIsIgnored) {
  const auto data = pattern(100);
  // MAX.SND.WND is 65535 (the SYN-ACK's window).
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1 - 65536, 100), data),
              ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().readable(), 0U);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1 - 65535, 100), data),
              ours(kIss + 1, kIrs + 101, 32718));
  EXPECT_EQ(read_all(), data);
}

// RFC 9293 §3.10.7.4, fifth: "if the ACK bit is off drop the segment and return" -- data
// without ACK is not taken.
TEST_F(TcpEstablished, SegmentWithoutAckIsDropped) {
  const auto data = pattern(100);
  TcpRepr seg = peer(kIrs + 1, std::nullopt);
  seg.payload_len = 100;
  EXPECT_TRUE(receive(seg, data).empty());
  EXPECT_EQ(conn().readable(), 0U);
}

// ---- PAWS and TS.Recent (RFC 7323 §4.3, §5.3) -------------------------------------------------

// RFC 7323 §5.3 R1: "If there is a Timestamps option in the arriving segment, SEG.TSval <
// TS.Recent, TS.Recent is valid ... then treat the arriving segment as not acceptable: Send an
// acknowledgment in reply ... and drop the segment". A TSval equal to TS.Recent passes.
TEST_F(TcpEstablished, PawsDropsOldTimestampWithAck) {
  now_ += 5ms;
  const auto data = pattern(100);
  TcpRepr old = peer_data(kIrs + 1, kIss + 1, 100);
  old.timestamps->tsval = kHandshakeTsval - 1;
  EXPECT_SENT(receive(old, data), ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval));
  EXPECT_EQ(conn().readable(), 0U);
  EXPECT_EQ(conn().counters().rx_paws_rejected.value(), 1U);
  TcpRepr same = old;
  same.timestamps->tsval = kHandshakeTsval;
  EXPECT_SENT(receive(same, data), ours_echo(kIss + 1, kIrs + 101, 32718, kHandshakeTsval));
  EXPECT_EQ(conn().readable(), 100U);
}

// RFC 7323 §5.3 R1 and §3.2: the timestamps wrap modulo 2^32: a TSval 2^31 - 1 ahead is newer.
TEST_F(TcpEstablished, PawsComparesTimestampsModulo2To32) {
  const auto data = pattern(100);
  TcpRepr seg = peer_data(kIrs + 1, kIss + 1, 100);
  seg.timestamps->tsval = kHandshakeTsval + 0x7fffffffU;
  EXPECT_SENT(receive(seg, data), ours(kIss + 1, kIrs + 101, 32718));
  EXPECT_EQ(conn().ts_recent(), kHandshakeTsval + 0x7fffffffU);
}

// RFC 7323 §4.3 (2): TS.Recent takes SEG.TSval only when SEG.SEQ =< Last.ACK.sent: an
// out-of-order segment's TSval is not echoed; the in-order segment that fills the hole is.
TEST_F(TcpEstablished, TsRecentFollowsTheLeftEdge) {
  now_ += 5ms;
  const auto data = pattern(200);
  EXPECT_SENT(receive(peer_data(kIrs + 101, kIss + 1, 100), gsl::span(data).subspan(100)),
              with_sacks(ours_echo(kIss + 1, kIrs + 1, 32768, kHandshakeTsval), {block(100, 200)}));
  now_ += 5ms;
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), gsl::span(data).first(100)),
              ours(kIss + 1, kIrs + 201, 32668));
  EXPECT_EQ(conn().ts_recent(), kPeerTs0 + 20);
}

// ---- Receiving data ---------------------------------------------------------------------------

// RFC 9293 §3.10.7.4, seventh: in-order text is delivered and RCV.NXT advances; Linux's quick-ACK
// start acknowledges it at once. The right edge stays where it was advertised (IRS + 1 + 65536):
// 65436 bytes, 32718 << 1.
TEST_F(TcpEstablished, InOrderDataIsTakenAndAcknowledged) {
  conn().take_events();
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), data), ours(kIss + 1, kIrs + 101, 32718));
  EXPECT_NE(conn().take_events() & kEventReadable, 0);
  EXPECT_EQ(conn().readable(), 100U);
  EXPECT_EQ(read_all(), data);
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
// segment arrives"; RFC 2018 §4: with SACK blocks, the first holding the most recent segment,
// at most 3 beside the timestamps. RFC 5681 §4.2: "an immediate ACK ... when an incoming segment
// fills in all or part of a gap": RCV.NXT jumps over the held range and the blocks above stay.
TEST_F(TcpEstablished, OutOfOrderDataGetsDupAckWithSackBlocks) {
  const auto data = pattern(5100);
  const auto part = [&](std::size_t from, std::size_t len) {
    return gsl::span(data).subspan(from, len);
  };
  const TcpRepr dup = ours(kIss + 1, kIrs + 1, 32768);
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 1000, kIss + 1, 100), part(1000, 100)),
              with_sacks(dup, {block(1000, 1100)}));
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 2000, kIss + 1, 100), part(2000, 100)),
              with_sacks(dup, {block(2000, 2100), block(1000, 1100)}));
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 3000, kIss + 1, 100), part(3000, 100)),
              with_sacks(dup, {block(3000, 3100), block(2000, 2100), block(1000, 1100)}));
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 4000, kIss + 1, 100), part(4000, 100)),
              with_sacks(dup, {block(4000, 4100), block(3000, 3100), block(2000, 2100)}));
  // A segment extending a held range makes it the most recent.
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 1100, kIss + 1, 100), part(1100, 100)),
              with_sacks(dup, {block(1000, 1200), block(4000, 4100), block(3000, 3100)}));
  EXPECT_EQ(conn().readable(), 0U);
  // The first hole filled: RCV.NXT = 1200; 1200 bytes readable, 64336 bytes of window.
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 1000), part(0, 1000)),
              with_sacks(ours(kIss + 1, kIrs + 1 + 1200, 32168),
                         {block(4000, 4100), block(3000, 3100), block(2000, 2100)}));
  EXPECT_EQ(read_all(), std::vector<std::byte>(data.begin(), data.begin() + 1200));
}

// The data of a duplicate (wholly left of RCV.NXT) is acknowledged again at once.
TEST_F(TcpEstablished, DuplicateDataIsAcknowledgedAgain) {
  const auto data = pattern(100);
  EXPECT_EQ(receive(peer_data(kIrs + 1, kIss + 1, 100), data).size(), 1U);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), data), ours(kIss + 1, kIrs + 101, 32718));
  EXPECT_EQ(conn().readable(), 100U);
}

// RFC 5681 §4.2 / RFC 1122 §4.2.3.2: once the quick-ACK start is over, an ACK is delayed, for at
// most 40 ms (Linux's minimum delayed ACK). 16 * 1448 bytes were read, so the window is the
// whole buffer again: 65536 - 1448 = 64088, 32044 << 1.
TEST_F(TcpEstablished, DelayedAckAfterTheQuickAckStart) {
  ASSERT_NO_FATAL_FAILURE(use_up_quick_acks());
  now_ += 1ms;
  EXPECT_TRUE(receive(peer_data(peer_nxt_, kIss + 1, kMss), pattern(kMss)).empty());
  peer_nxt_ += u32(kMss);
  EXPECT_EQ(conn().next_deadline(), now_ + 40ms);
  EXPECT_TRUE(advance(39ms).empty());
  EXPECT_SENT(advance(1ms), ours(kIss + 1, peer_nxt_, 32044));
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 5681 §4.2: "an ACK SHOULD be generated for at least every second full-sized segment". The
// ACK echoes the first segment's TSval (RFC 7323 §4.3: the second's SEG.SEQ is past
// Last.ACK.sent).
TEST_F(TcpEstablished, EverySecondFullSegmentIsAcknowledgedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(use_up_quick_acks());
  now_ += 1ms;
  const std::uint32_t first_tsval = peer_tsval();
  EXPECT_TRUE(receive(peer_data(peer_nxt_, kIss + 1, kMss), pattern(kMss)).empty());
  peer_nxt_ += u32(kMss);
  now_ += 1ms;
  EXPECT_SENT(receive(peer_data(peer_nxt_, kIss + 1, kMss), pattern(kMss)),
              ours_echo(kIss + 1, peer_nxt_ + u32(kMss), 31320, first_tsval));
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 1122 §4.2.3.2: a delayed ACK rides on the next data segment; the timer is then off.
TEST_F(TcpEstablished, DelayedAckIsCarriedByData) {
  ASSERT_NO_FATAL_FAILURE(use_up_quick_acks());
  EXPECT_TRUE(receive(peer_data(peer_nxt_, kIss + 1, 100), pattern(100)).empty());
  now_ += 10ms;
  ASSERT_EQ(send(50), 50U);
  EXPECT_SENT(output(), ours_data(kIss + 1, peer_nxt_ + 100, 32718, 50, true));
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);  // the retransmission timer only
}

// RFC 9293 §3.8.6 and §3.10.7.4: a full buffer advertises a zero window; a zero-window probe
// (one byte at RCV.NXT, or Linux's ACK at RCV.NXT - 1) is answered at once with the zero window.
// RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): the window reopens only once min(buffer / 2,
// MSS) is free: reading 1000 bytes sends nothing, 1500 sends the update (750 << 1).
TEST_F(TcpEstablished, ZeroWindowProbesAnsweredAndWindowReopensByAnMss) {
  const auto data = pattern(32768);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 32768), data),
              ours(kIss + 1, kIrs + 1 + 32768, 16384));
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 32768, kIss + 1, 32768), data),
              ours(kIss + 1, kIrs + 1 + 65536, 0));
  const SeqNum rcv_nxt = kIrs + 1 + 65536;
  now_ += 200ms;
  const auto one = pattern(1);
  EXPECT_SENT(receive(peer_data(rcv_nxt, kIss + 1, 1), one), ours(kIss + 1, rcv_nxt, 0));
  EXPECT_SENT(receive(peer(rcv_nxt - 1, kIss + 1)), ours(kIss + 1, rcv_nxt, 0));
  EXPECT_EQ(conn().readable(), 65536U);
  std::vector<std::byte> buf(1000);
  EXPECT_EQ(conn().recv(buf), 1000U);
  EXPECT_TRUE(output().empty());
  buf.resize(500);
  EXPECT_EQ(conn().recv(buf), 500U);
  EXPECT_SENT(output(), ours(kIss + 1, rcv_nxt, 750));
}

// RFC 9293 §3.8.6 / RFC 7323 §2.4: over any mix of segment sizes and reads, no window we
// advertise promises more than the buffer holds, and its right edge falls at most the scale's
// rounding (2^1 - 1 bytes) short of the furthest edge advertised before; data up to that furthest
// edge is still acceptable, and stored: nothing the peer sends inside a window is refused.
TEST_F(TcpEstablished, WindowNeverOverPromisedAndItsEdgeOnlyRoundsBack) {
  SeqNum edge = kIrs + 1 + 65536;
  SeqNum seq = kIrs + 1;
  std::size_t total = 0;
  int acks = 0;
  const auto check = [&](const std::vector<Sent>& out, int round) {
    for (const Sent& s : out) {
      ++acks;
      const SeqNum adv = *s.seg.ack_number + (std::uint32_t{s.seg.window_len} << 1U);
      EXPECT_GE(adv + 1, edge) << "round " << round;
      const SeqNum storage =
          conn().rcv_nxt() + static_cast<std::uint32_t>(conn().recv_buffer().window());
      EXPECT_LE(adv, storage) << "round " << round;
      edge = seq_max(edge, adv);
    }
  };
  const std::size_t sizes[] = {1, 1447, 1448, 3, 999, 1448, 77, 5000, 1, 1448};
  const std::size_t reads[] = {0, 2, 1449, 0, 7, 3000, 0, 1, 4096, 10};
  for (int round = 0; round < 200; ++round) {
    // The peer sends no further than the edge we advertised.
    const auto len = std::min<std::size_t>(sizes[round % 10], static_cast<std::size_t>(edge - seq));
    if (len > 0) {
      check(receive(peer_data(seq, kIss + 1, len), pattern(len, total)), round);
      seq += u32(len);
      total += len;
    }
    std::vector<std::byte> buf(reads[(round / 3) % 10]);
    conn().recv(buf);
    check(output(), round);
    check(advance(40ms), round);
  }
  EXPECT_GT(acks, 100);
  EXPECT_EQ(conn().recv_buffer().counters().rx_past_window_bytes.value(), 0U);
  EXPECT_EQ(conn().counters().rx_unacceptable.value(), 0U);
}

// ---- Sending data -----------------------------------------------------------------------------

// RFC 9293 §3.7.1: segments of Eff.snd.MSS (1460 - 12 = 1448); PSH on the segment that empties
// the buffer (RFC 9293 §3.9.1, as Linux). RFC 9293 §3.7.4 (Nagle): with data outstanding a short
// tail waits for the ACK. (Linux's Minshall variant would send the tail at once, since the
// segments in flight are full-sized.) RFC 6298 §5.1: the timer runs from the first segment.
// RFC 9293 §3.7.4 with Minshall's variant of Nagle (as Linux's tcp_minshall_check): full
// segments in flight do not hold back the short tail of a write; only an unacknowledged short
// segment would.
TEST_F(TcpEstablished, DataGoesInMssSegmentsAndTheTailGoesToo) {
  ASSERT_EQ(send(3000), 3000U);
  const auto out = output();
  EXPECT_SENT(out, ours_data(kIss + 1, kIrs + 1, 32768, kMss, false),
              ours_data(kIss + 1 + 1448, kIrs + 1, 32768, kMss, false),
              ours_data(kIss + 1 + 2896, kIrs + 1, 32768, 104, true));
  const auto data = pattern(3000);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].payload, std::vector<std::byte>(data.begin(), data.begin() + 1448));
  EXPECT_EQ(out[1].payload, std::vector<std::byte>(data.begin() + 1448, data.begin() + 2896));
  EXPECT_EQ(out[2].payload, std::vector<std::byte>(data.begin() + 2896, data.end()));
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  // A second short write now waits: the first tail is unacknowledged.
  ASSERT_EQ(send(50), 50U);
  EXPECT_TRUE(output().empty());
  now_ += 10ms;
  EXPECT_SENT(peer_acks_all(), ours_data(kIss + 1 + 3000, kIrs + 1, 32768, 50, true));
  EXPECT_EQ(conn().in_flight(), 50U);
}

// RFC 2018 §3 / RFC 9293 §3.7.1: SACK blocks on our data segments (we hold out-of-order data
// from the peer) take 12 bytes of option space, so a segment carries 1436 bytes, not 1448, to fit
// the MTU; the next segment starts where the shortened one ended (only what was sent is marked
// sent).
TEST_F(TcpEstablished, DataSegmentsShrinkToMakeRoomForSackBlocks) {
  const auto ooo = pattern(100);
  EXPECT_EQ(receive(peer_data(kIrs + 1 + 1000, kIss + 1, 100), ooo).size(), 1U);
  ASSERT_EQ(send(3000), 3000U);
  const auto out = output();
  const TcpRepr a =
      with_sacks(ours_data(kIss + 1, kIrs + 1, 32768, 1436, false), {block(1000, 1100)});
  const TcpRepr b =
      with_sacks(ours_data(kIss + 1 + 1436, kIrs + 1, 32768, 1436, false), {block(1000, 1100)});
  EXPECT_SENT(out, a, b);
  const auto data = pattern(3000);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].payload, std::vector<std::byte>(data.begin() + 1436, data.begin() + 2872));
  EXPECT_EQ(conn().in_flight(), 2872U);
  EXPECT_EQ(conn().snd_nxt(), kIss + 1 + 2872);
}

// RFC 9293 §3.7.4 (Nagle): a small segment goes when nothing is outstanding; the next waits for
// the ACK. With no_delay (TCP_NODELAY) both go at once.
TEST_F(TcpEstablished, NagleHoldsSmallSegmentsUntilTheAck) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_SENT(output(), ours_data(kIss + 1, kIrs + 1, 32768, 100, true));
  ASSERT_EQ(send(100, 100), 100U);
  EXPECT_TRUE(output().empty());
  now_ += 10ms;
  EXPECT_SENT(peer_acks_all(), ours_data(kIss + 101, kIrs + 1, 32768, 100, true));
  conn().set_no_delay(true);
  ASSERT_EQ(send(100, 200), 100U);
  EXPECT_SENT(output(), ours_data(kIss + 201, kIrs + 1, 32768, 100, true));
}

// RFC 7323 §2.3: the peer's window is shifted by its scale (80 << 7 = 10240 bytes) and limits
// what is in flight below the initial cwnd (RFC 6928: 10 segments): 7 segments fill 10136 bytes;
// the 104 left would be a silly small segment (RFC 9293 §3.8.6.2.1: less than half the largest
// window the peer offered), so it waits.
TEST_F(TcpEstablished, ScaledSendWindowLimitsWhatIsInFlight) {
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1, 80)).empty());
  EXPECT_EQ(conn().snd_wnd(), 10240U);
  ASSERT_EQ(send(20000), 20000U);
  const auto out = output();
  ASSERT_EQ(out.size(), 7U);
  for (std::size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i].seg, ours_data(kIss + 1 + u32(i * kMss), kIrs + 1, 32768, kMss, false)) << i;
  EXPECT_EQ(conn().in_flight(), 7 * kMss);
}

// RFC 9293 §3.8.6.2.1 (sender SWS avoidance): with nothing in flight and a window too small to be
// worth a segment, nothing goes until the override timeout -- the persist timer, armed for the
// RTO -- which sends what the window allows, min(D, U). Linux's tcp_write_wakeup does the same.
TEST_F(TcpEstablished, PersistTimerSendsWhatASmallWindowAllows) {
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1, 4)).empty());
  EXPECT_EQ(conn().snd_wnd(), 512U);
  ASSERT_EQ(send(2000), 2000U);
  EXPECT_TRUE(output().empty());
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  EXPECT_SENT(fire(), ours_data(kIss + 1, kIrs + 1, 32768, 512, false));
  EXPECT_EQ(conn().in_flight(), 512U);
  // The retransmission timer takes over.
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
}

// RFC 9293 §3.10.7.4: SND.WND is taken from the segment with the newest SND.WL1 / SND.WL2; an
// older segment (reordered behind a newer one) does not move it back.
TEST_F(TcpEstablished, OlderSegmentDoesNotUpdateTheSendWindow) {
  const auto data = pattern(200);
  EXPECT_EQ(receive(peer_data(kIrs + 1, kIss + 1, 100, 100), gsl::span(data).first(100)).size(),
            1U);
  EXPECT_EQ(conn().snd_wnd(), 12800U);
  EXPECT_TRUE(receive(peer(kIrs + 101, kIss + 1, 9)).empty());
  EXPECT_EQ(conn().snd_wnd(), 1152U);
  // Sent before the ACK above, overtaken by it: its text is new, its window old.
  EXPECT_EQ(receive(peer_data(kIrs + 1, kIss + 1, 200, 7), data).size(), 1U);
  EXPECT_EQ(conn().snd_wnd(), 1152U);
  EXPECT_EQ(read_all(), data);
}

}  // namespace
}  // namespace tapir::tcp::test
