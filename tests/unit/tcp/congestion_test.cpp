// NewReno (RFC 5681, RFC 6582) window arithmetic, event by event, with exact byte counts.
#include "stack/tcp/congestion.hpp"

#include <memory>

#include <gtest/gtest.h>

namespace tapir::test {
namespace {

using namespace std::chrono_literals;
using tcp::AckedData;
using tcp::NewReno;
using tcp::Timeout;

constexpr std::size_t kSmss = 1460;
constexpr Instant kT0 = instant_from_micros(1'000'000);

// An ACK of `n` new bytes outside recovery.
void ack(NewReno& cc, std::size_t n, std::size_t flight = 0) {
  cc.on_ack(AckedData{.bytes_acked = n, .flight_size = flight, .srtt = 10ms, .now = kT0});
}

// One RTT of full-sized segments, each acknowledged by its own ACK.
void ack_window(NewReno& cc) {
  const std::size_t segments = cc.cwnd() / kSmss;
  for (std::size_t i = 0; i < segments; ++i)
    ack(cc, kSmss);
}

// RFC 5681 §3.1 (eq. 1 as updated by RFC 6928 §2): IW = min (10*MSS, max (2*MSS, 14600)).
// RFC 5681 §3.1: the initial ssthresh MAY be arbitrarily high.
TEST(NewReno, InitialWindow) {
  const NewReno ethernet(1460);
  EXPECT_EQ(ethernet.cwnd(), 14600U);  // min(14600, max(2920, 14600)): ten segments
  EXPECT_EQ(ethernet.ssthresh(), tcp::kInfiniteSsthresh);
  EXPECT_FALSE(ethernet.in_recovery());
  EXPECT_EQ(ethernet.name(), "newreno");

  EXPECT_EQ(NewReno(536).cwnd(), 5360U);    // min(5360, max(1072, 14600)): ten segments
  EXPECT_EQ(NewReno(8960).cwnd(), 17920U);  // min(89600, max(17920, 14600)): two segments
  EXPECT_EQ(NewReno(4000).cwnd(), 14600U);  // min(40000, max(8000, 14600))
  EXPECT_EQ(tcp::initial_window(1460), 14600U);
}

// RFC 5681 §3.1 (eq. 2): slow start, cwnd += min (N, SMSS) per ACK.
TEST(NewReno, SlowStartGrowsByAtMostOneSmssPerAck) {
  NewReno cc(kSmss);
  ack(cc, 1460);
  EXPECT_EQ(cc.cwnd(), 16060U);
  ack(cc, 500);  // N < SMSS: only N
  EXPECT_EQ(cc.cwnd(), 16560U);
  ack(cc, 2920);  // a delayed ACK of two segments: still one SMSS
  EXPECT_EQ(cc.cwnd(), 18020U);
  ack(cc, 0);  // nothing new acknowledged
  EXPECT_EQ(cc.cwnd(), 18020U);
}

// RFC 5681 §3.1 (eq. 2): with one ACK per segment, slow start doubles cwnd every RTT.
TEST(NewReno, SlowStartDoublesPerRtt) {
  NewReno cc(kSmss);
  ack_window(cc);  // 10 ACKs
  EXPECT_EQ(cc.cwnd(), 29200U);
  ack_window(cc);  // 20 ACKs
  EXPECT_EQ(cc.cwnd(), 58400U);
  ack_window(cc);  // 40 ACKs
  EXPECT_EQ(cc.cwnd(), 116800U);
}

// RFC 5681 §3.1: slow start while cwnd < ssthresh, congestion avoidance from ssthresh on; the
// slow-start step stops at ssthresh.
TEST(NewReno, SlowStartSwitchesToCongestionAvoidanceAtSsthresh) {
  NewReno cc(kSmss);
  cc.on_rto(20000, Timeout::First);  // ssthresh = max(10000, 2920), cwnd = 1460
  ASSERT_EQ(cc.ssthresh(), 10000U);
  ASSERT_EQ(cc.cwnd(), 1460U);
  const std::size_t expected[] = {2920, 4380, 5840, 7300, 8760, 10000};  // the last one capped
  for (const std::size_t e : expected) {
    ack(cc, kSmss);
    EXPECT_EQ(cc.cwnd(), e);
  }
  // cwnd == ssthresh: congestion avoidance, nothing until 10000 bytes are acknowledged.
  for (int i = 0; i < 6; ++i)
    ack(cc, kSmss);  // 8760 bytes
  EXPECT_EQ(cc.cwnd(), 10000U);
  ack(cc, kSmss);  // 10220 >= 10000
  EXPECT_EQ(cc.cwnd(), 11460U);
  EXPECT_EQ(cc.ssthresh(), 10000U);
}

// RFC 5681 §3.1: congestion avoidance by byte counting (RFC 3465 §2.1): when the bytes
// acknowledged reach cwnd, bytes_acked -= cwnd and cwnd += SMSS; about one SMSS per RTT,
// whatever the ACK pattern.
TEST(NewReno, CongestionAvoidanceAddsOneSmssPerRtt) {
  NewReno cc(kSmss);
  cc.on_rto(29200, Timeout::First);  // ssthresh 14600, cwnd 1460
  for (int i = 0; i < 9; ++i)
    ack(cc, kSmss);
  ASSERT_EQ(cc.cwnd(), 14600U);  // slow start reached ssthresh exactly

  for (int i = 0; i < 9; ++i)
    ack(cc, kSmss);  // 13140 bytes of a 14600-byte window
  EXPECT_EQ(cc.cwnd(), 14600U);
  ack(cc, kSmss);  // the window's last segment
  EXPECT_EQ(cc.cwnd(), 16060U);
  ack_window(cc);  // 11 ACKs, 16060 bytes
  EXPECT_EQ(cc.cwnd(), 17520U);

  // Delayed ACKs (two segments each) grow it just as fast: 6 ACKs, 17520 bytes.
  for (int i = 0; i < 6; ++i)
    ack(cc, 2 * kSmss);
  EXPECT_EQ(cc.cwnd(), 18980U);
  // The count carries across ACKs: 18979 bytes in two ACKs add nothing, one byte more does.
  ack(cc, 730);
  ack(cc, 18980 - 730 - 1);
  EXPECT_EQ(cc.cwnd(), 18980U);
  ack(cc, 1);
  EXPECT_EQ(cc.cwnd(), 20440U);
}

// RFC 5681 §3.2 step 2 (eq. 4): ssthresh = max (FlightSize / 2, 2*SMSS); step 3: cwnd =
// ssthresh + 3*SMSS; step 4: for each additional duplicate ACK, cwnd += SMSS.
TEST(NewReno, FastRecoveryEntryAndInflation) {
  NewReno cc(kSmss);
  cc.on_enter_recovery(14600, kT0, false);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), 7300U);  // max(7300, 2920)
  EXPECT_EQ(cc.cwnd(), 11680U);     // 7300 + 4380
  cc.on_dup_ack();
  EXPECT_EQ(cc.cwnd(), 13140U);
  cc.on_dup_ack();
  EXPECT_EQ(cc.cwnd(), 14600U);
  ack(cc, kSmss);  // on_ack during recovery is ignored
  EXPECT_EQ(cc.cwnd(), 14600U);

  NewReno small(kSmss);
  small.on_enter_recovery(4000, kT0, false);
  EXPECT_EQ(small.ssthresh(), 2920U);  // max(2000, 2*SMSS)
  EXPECT_EQ(small.cwnd(), 7300U);      // 2920 + 4380

  NewReno outside(kSmss);
  outside.on_dup_ack();  // the first and second duplicate ACKs never change cwnd
  EXPECT_EQ(outside.cwnd(), 14600U);
}

// RFC 6582 §3.2 step 3 (partial acknowledgments): deflate cwnd by the new data acknowledged;
// if that is at least one SMSS, add back SMSS.
TEST(NewReno, PartialAckDeflatesTheWindow) {
  NewReno cc(kSmss);
  cc.on_enter_recovery(29200, kT0, false);  // ssthresh 14600, cwnd 18980
  cc.on_dup_ack();                          // 20440
  cc.on_partial_ack(2920);
  EXPECT_EQ(cc.cwnd(), 18980U);  // 20440 - 2920 + 1460
  EXPECT_TRUE(cc.in_recovery());
  cc.on_partial_ack(500);  // less than one SMSS: nothing added back
  EXPECT_EQ(cc.cwnd(), 18480U);
  cc.on_partial_ack(1460);
  EXPECT_EQ(cc.cwnd(), 18480U);  // - 1460 + 1460
  cc.on_partial_ack(40000);      // more than cwnd: never below one SMSS
  EXPECT_EQ(cc.cwnd(), 1460U);
  EXPECT_EQ(cc.ssthresh(), 14600U);

  NewReno outside(kSmss);
  outside.on_partial_ack(2920);  // outside recovery: ignored
  EXPECT_EQ(outside.cwnd(), 14600U);
}

// RFC 6675 §5 (4.2): with SACK, "cwnd = ssthresh" -- pipe, not an inflated cwnd, counts the
// segments that have left the network.
TEST(NewReno, SackRecoveryEntrySetsCwndToSsthresh) {
  NewReno cc(kSmss);
  cc.on_enter_recovery(14600, kT0, true);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), 7300U);
  EXPECT_EQ(cc.cwnd(), 7300U);
}

// RFC 6582 §3.2 step 3 (full acknowledgments), option (1):
// cwnd = min (ssthresh, max (FlightSize, SMSS) + SMSS).
TEST(NewReno, FullAckExitsRecovery) {
  NewReno cc(kSmss);
  cc.on_enter_recovery(14600, kT0, false);  // ssthresh 7300, cwnd 11680
  cc.on_exit_recovery(2920);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 4380U);  // min(7300, 2920 + 1460)
  EXPECT_EQ(cc.ssthresh(), 7300U);
  ack(cc, kSmss);  // back to slow start below ssthresh
  EXPECT_EQ(cc.cwnd(), 5840U);

  NewReno busy(kSmss);
  busy.on_enter_recovery(14600, kT0, false);
  busy.on_exit_recovery(10000);
  EXPECT_EQ(busy.cwnd(), 7300U);  // min(7300, 11460) = ssthresh

  NewReno drained(kSmss);
  drained.on_enter_recovery(14600, kT0, false);
  drained.on_exit_recovery(0);
  EXPECT_EQ(drained.cwnd(), 2920U);  // min(7300, max(0, 1460) + 1460)
}

// RFC 5681 §3.1 (eq. 4): ssthresh = max (FlightSize / 2, 2*SMSS) for a segment not yet resent
// by the retransmission timer, held constant for a repeated timeout; cwnd = LW, 1 SMSS.
TEST(NewReno, RtoCollapsesToOneSegment) {
  NewReno cc(kSmss);
  ack_window(cc);  // cwnd 29200
  cc.on_rto(29200, Timeout::First);
  EXPECT_EQ(cc.ssthresh(), 14600U);
  EXPECT_EQ(cc.cwnd(), 1460U);
  cc.on_rto(1460, Timeout::Repeated);  // the same segment times out again
  EXPECT_EQ(cc.ssthresh(), 14600U);
  EXPECT_EQ(cc.cwnd(), 1460U);
  cc.on_rto(1000, Timeout::First);  // a later segment's first timeout
  EXPECT_EQ(cc.ssthresh(), 2920U);  // max(500, 2*SMSS)

  // RFC 6582 §3.2 step 4: a retransmit timeout exits fast recovery.
  NewReno recovering(kSmss);
  recovering.on_enter_recovery(29200, kT0, false);
  recovering.on_rto(29200, Timeout::First);
  EXPECT_FALSE(recovering.in_recovery());
  EXPECT_EQ(recovering.cwnd(), 1460U);
  recovering.on_dup_ack();  // no inflation any more
  EXPECT_EQ(recovering.cwnd(), 1460U);
  ack(recovering, kSmss);  // slow start again
  EXPECT_EQ(recovering.cwnd(), 2920U);
}

// RFC 5681 §4.1: after an idle period exceeding the RTO, cwnd = RW = min (IW, cwnd).
TEST(NewReno, IdleRestartWindow) {
  NewReno cc(kSmss);
  ack_window(cc);              // cwnd 29200
  cc.on_idle_restart(1s, 1s);  // not longer than the RTO
  EXPECT_EQ(cc.cwnd(), 29200U);
  cc.on_idle_restart(1s + 1us, 1s);
  EXPECT_EQ(cc.cwnd(), 14600U);  // IW
  EXPECT_EQ(cc.ssthresh(), tcp::kInfiniteSsthresh);

  NewReno small(kSmss);
  small.on_rto(29200, Timeout::First);  // cwnd 1460
  small.on_idle_restart(10s, 1s);
  EXPECT_EQ(small.cwnd(), 1460U);  // min(IW, cwnd) keeps a smaller window
}

// The interface is usable through a base pointer (the connection holds one).
TEST(NewReno, WorksThroughTheInterface) {
  std::unique_ptr<tcp::CongestionControl> cc = std::make_unique<NewReno>(536);
  EXPECT_EQ(cc->cwnd(), 5360U);
  cc->on_ack(AckedData{.bytes_acked = 536, .flight_size = 5360, .srtt = std::nullopt, .now = kT0});
  EXPECT_EQ(cc->cwnd(), 5896U);
  EXPECT_EQ(cc->name(), "newreno");
}

}  // namespace
}  // namespace tapir::test
