// tcp::Connection's loss recovery: duplicate ACKs (RFC 5681 §2), limited transmit (RFC 3042),
// fast retransmit and fast recovery (RFC 5681 §3.2) with NewReno's partial ACKs (RFC 6582), SACK
// loss recovery from the scoreboard (RFC 6675), and no new recovery after a timeout until its
// recovery point is acknowledged (RFC 6582 §3.2 step 4, RFC 6675 §5.1).
//
// Every test starts from the same flight: 30 segments queued, the initial window (RFC 6928: 10
// segments) sent as S0..S9, then S0 acknowledged, which opens cwnd to 11 segments: S10 and S11
// go. S1 is then lost.
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/unit/tcp/connection_harness.hpp"

namespace tapir::tcp::test {
namespace {

class TcpRecovery : public ConnectionHarness {
 protected:
  void start() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    ASSERT_EQ(send(30 * kMss), 30 * kMss);
    ASSERT_EQ(output().size(), 10U);
    now_ += 10ms;
    ASSERT_SENT(receive(peer(kIrs + 1, S(1))), data(10), data(11));
  }
  // Segment i of the stream: S(i) is its first sequence number.
  static SeqNum S(std::size_t i) { return kIss + 1 + u32(i * kMss); }
  // Our data segment i, as sent now (PSH only on the last byte queued).
  TcpRepr data(std::size_t i) const { return ours_data(S(i), kIrs + 1, 32768, kMss, i == 29); }
  // The peer's ACK of everything below S(ack) that SACKs [S(from), S(to)) for each pair.
  TcpRepr ack(std::size_t ack,
              std::initializer_list<std::pair<std::size_t, std::size_t>> sacks = {}) const {
    TcpRepr s = peer(kIrs + 1, S(ack));
    for (const auto& [from, to] : sacks)
      s.sack_blocks[s.sack_count++] = SackBlock{S(from), S(to)};
    return s;
  }
};

class TcpRecoveryNewReno : public TcpRecovery {
 protected:
  void SetUp() override {
    peer_.sack = false;
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_FALSE(conn().negotiated().sack);
  }
};

class TcpRecoverySack : public TcpRecovery {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_TRUE(conn().negotiated().sack);
  }
};

// RFC 3042: each of the first two duplicate ACKs sends one new segment (cwnd unchanged, RFC 5681
// §3.2 step 1); RFC 5681 §3.2 steps 2-3: the third retransmits S1, ssthresh = FlightSize / 2 with
// the limited-transmit segments left out of FlightSize ("MUST NOT be included"): 11 segments,
// 7964 bytes; cwnd = ssthresh + 3 * SMSS.
TEST_F(TcpRecoveryNewReno, FastRetransmitOnTheThirdDupAckAfterLimitedTransmit) {
  now_ += 1ms;
  EXPECT_SENT(receive(ack(1)), data(12));
  EXPECT_SENT(receive(ack(1)), data(13));
  EXPECT_EQ(conn().congestion().cwnd(), 11 * kMss);
  EXPECT_SENT(receive(ack(1)), data(1));
  EXPECT_EQ(conn().congestion().ssthresh(), 11 * kMss / 2);
  EXPECT_EQ(conn().congestion().cwnd(), 11 * kMss / 2 + 3 * kMss);
  EXPECT_EQ(conn().counters().tx_fast_retransmits.value(), 1U);
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 1U);
}

// RFC 5681 §3.2 step 4: each further duplicate inflates cwnd by SMSS; new data goes once cwnd
// exceeds what is in flight (13 segments): at the 6th further duplicate (5.5 + 3 + 6 = 14.5
// segments). RFC 6582 §3.2 step 3 (full acknowledgment, option 1): the ACK covering everything
// sent before recovery ends it, cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
TEST_F(TcpRecoveryNewReno, DupAcksInflateAndTheFullAckEndsRecovery) {
  now_ += 1ms;
  receive(ack(1));
  receive(ack(1));
  EXPECT_SENT(receive(ack(1)), data(1));
  for (int i = 0; i < 5; ++i)
    EXPECT_SENT(receive(ack(1))) << i;
  EXPECT_SENT(receive(ack(1)), data(14));
  now_ += 10ms;
  // S1..S13 acknowledged; S14 is still in flight.
  EXPECT_SENT(receive(ack(14)), data(15));
  EXPECT_FALSE(conn().send_buffer().in_recovery());
  EXPECT_EQ(conn().congestion().cwnd(), 2 * kMss);
}

// RFC 6582 §3.2 step 3 (partial acknowledgment): an ACK of new data below the recovery point
// means the next hole is lost too: it is retransmitted at once, cwnd deflated by the data
// acknowledged less one SMSS. Here S1 and S3 were lost; the ACK of S1 acknowledges up to S3.
TEST_F(TcpRecoveryNewReno, PartialAckRetransmitsTheNextHole) {
  now_ += 1ms;
  receive(ack(1));
  receive(ack(1));
  EXPECT_SENT(receive(ack(1)), data(1));
  const std::size_t cwnd = conn().congestion().cwnd();
  now_ += 10ms;
  EXPECT_SENT(receive(ack(3)), data(3));
  EXPECT_TRUE(conn().send_buffer().in_recovery());
  EXPECT_EQ(conn().congestion().cwnd(), cwnd - 2 * kMss + kMss);
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
}

// RFC 5681 §2 (e): an ACK whose window differs from the last one's is not a duplicate, so the
// third ACK at S1 (a window update) does not trigger fast retransmit; the fourth, a true
// duplicate again, does.
TEST_F(TcpRecoveryNewReno, WindowUpdateIsNotADuplicate) {
  now_ += 1ms;
  EXPECT_SENT(receive(ack(1)), data(12));
  TcpRepr update = ack(1);
  update.window_len = kPeerWindow - 1;
  EXPECT_SENT(receive(update));
  EXPECT_SENT(receive(update), data(13));
  EXPECT_SENT(receive(update), data(1));
}

// RFC 5681 §2 (b): an ACK carrying data is not a duplicate (without SACK nothing else says what
// it reports).
TEST_F(TcpRecoveryNewReno, AckWithDataIsNotADuplicate) {
  now_ += 1ms;
  const auto bytes = pattern(10);
  for (std::uint32_t i = 0; i < 3; ++i) {
    const auto out = receive(peer_data(kIrs + 1 + 10 * i, S(1), 10), bytes);
    for (const Sent& s : out)
      EXPECT_NE(s.seg.seq_number, S(1)) << i;
  }
  EXPECT_EQ(conn().counters().tx_fast_retransmits.value(), 0U);
}

// RFC 6298 §5.4 and RFC 6582 §3.2 step 4: a timeout during recovery ends it and goes back to
// S1 with cwnd one segment; duplicate ACKs then start no new recovery ("recover" is the highest
// sequence number sent when the timer fired) -- nothing is sent for them.
TEST_F(TcpRecoveryNewReno, NoNewRecoveryAfterATimeoutUntilItsPointIsAcked) {
  now_ += 1ms;
  receive(ack(1));
  receive(ack(1));
  EXPECT_SENT(receive(ack(1)), data(1));
  EXPECT_SENT(fire(), data(1));
  EXPECT_EQ(conn().congestion().cwnd(), kMss);
  EXPECT_FALSE(conn().send_buffer().in_recovery());
  for (int i = 0; i < 4; ++i)
    EXPECT_SENT(receive(ack(1))) << i;
  EXPECT_EQ(conn().counters().tx_fast_retransmits.value(), 1U);
}

// RFC 6675 §5: with SACK, a duplicate ACK that SACKs new data counts (RFC 6675 §2); the first two
// send new data (RFC 3042), and once three segments above S1 are SACKed, IsLost(S1) holds and S1
// is retransmitted (§5 (4)): RecoveryPoint = HighData.
TEST_F(TcpRecoverySack, FastRetransmitOnceThreeSegmentsAreSacked) {
  now_ += 1ms;
  EXPECT_SENT(receive(ack(1, {{2, 3}})), data(12));
  EXPECT_SENT(receive(ack(1, {{2, 4}})), data(13));
  EXPECT_SENT(receive(ack(1, {{2, 5}})), data(1));
  EXPECT_TRUE(conn().send_buffer().in_recovery());
  EXPECT_EQ(conn().send_buffer().recovery_point(), S(14));
  EXPECT_EQ(conn().congestion().ssthresh(), 11 * kMss / 2);
  EXPECT_EQ(conn().counters().tx_fast_retransmits.value(), 1U);
}

// RFC 6675 §4 NextSeg (1): during recovery a segment that becomes lost (three SACKed segments
// above it: S7 under S8..S10) is retransmitted before any new data, and S1, already
// retransmitted (below HighRxt), is not sent again. RFC 6675 §5 (A): the cumulative ACK of
// RecoveryPoint ends recovery.
TEST_F(TcpRecoverySack, SecondLossIsRepairedFromTheScoreboard) {
  now_ += 1ms;
  receive(ack(1, {{2, 3}}));
  receive(ack(1, {{2, 4}}));
  EXPECT_SENT(receive(ack(1, {{2, 5}})), data(1));
  const auto out = receive(ack(1, {{8, 11}, {2, 7}}));
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].seg, data(7));
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_NE(out[i].seg.seq_number, S(1)) << i;
    EXPECT_NE(out[i].seg.seq_number, S(7)) << i;
  }
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 2U);
  now_ += 10ms;
  receive(ack(7, {{8, 11}}));
  EXPECT_TRUE(conn().send_buffer().in_recovery());
  receive(ack(14));
  EXPECT_FALSE(conn().send_buffer().in_recovery());
}

// RFC 2018 §8: after a timeout the SACK marks are cleared and everything from SND.UNA goes again.
TEST_F(TcpRecoverySack, TimeoutForgetsTheSackScoreboard) {
  now_ += 1ms;
  receive(ack(1, {{2, 3}}));
  EXPECT_EQ(conn().send_buffer().sacked_bytes(), kMss);
  EXPECT_SENT(fire(), data(1));
  EXPECT_EQ(conn().send_buffer().sacked_bytes(), 0U);
}

}  // namespace
}  // namespace tapir::tcp::test
