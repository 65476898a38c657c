// The RFC 6298 retransmission timeout estimator, value by value (integer microseconds, every
// division rounding down).
#include "stack/tcp/rtt.hpp"

#include <gtest/gtest.h>

namespace tapir::test {
namespace {

using namespace std::chrono_literals;
using tcp::RttConfig;
using tcp::RttEstimator;

// RFC 6298 §2.1: until a round-trip time (RTT) measurement has been made, RTO <- 1 second.
TEST(RttEstimator, InitialRtoIsOneSecond) {
  const RttEstimator rtt;
  EXPECT_EQ(rtt.rto(), 1s);
  EXPECT_FALSE(rtt.srtt());
  EXPECT_EQ(rtt.rttvar(), 0us);
  EXPECT_EQ(rtt.backoffs(), 0U);
  EXPECT_EQ(rtt.config().min_rto, 200ms);  // Linux's TCP_RTO_MIN, not RFC 6298 §2.4's 1 s
  EXPECT_EQ(rtt.config().max_rto, 120s);   // Linux's TCP_RTO_MAX
  EXPECT_EQ(rtt.config().granularity, 1ms);
}

// RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR), K = 4.
TEST(RttEstimator, FirstSampleSetsSrttAndHalfOfItAsRttvar) {
  RttEstimator rtt;
  rtt.on_sample(100ms);
  EXPECT_EQ(rtt.srtt(), 100ms);
  EXPECT_EQ(rtt.rttvar(), 50ms);
  EXPECT_EQ(rtt.rto(), 300ms);  // 100 ms + max(1 ms, 4 * 50 ms)
}

// RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4, updated
// before SRTT; SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8.
TEST(RttEstimator, SecondSampleUpdatesRttvarBeforeSrtt) {
  RttEstimator rtt;
  rtt.on_sample(100ms);  // SRTT 100000 us, RTTVAR 50000 us
  rtt.on_sample(200ms);
  // RTTVAR = (3 * 50000 + |100000 - 200000|) / 4 = (150000 + 100000) / 4 = 62500 us
  // (with the old SRTT; the new one would give |112500 - 200000| and 59375 us).
  EXPECT_EQ(rtt.rttvar(), 62500us);
  // SRTT = (7 * 100000 + 200000) / 8 = 900000 / 8 = 112500 us
  EXPECT_EQ(rtt.srtt(), 112500us);
  // RTO = 112500 + max(1000, 4 * 62500) = 112500 + 250000 = 362500 us
  EXPECT_EQ(rtt.rto(), 362500us);

  rtt.on_sample(50ms);
  // RTTVAR = (3 * 62500 + |112500 - 50000|) / 4 = (187500 + 62500) / 4 = 62500 us
  // SRTT = (7 * 112500 + 50000) / 8 = 837500 / 8 = 104687.5, rounded down: 104687 us
  EXPECT_EQ(rtt.rttvar(), 62500us);
  EXPECT_EQ(rtt.srtt(), 104687us);
  EXPECT_EQ(rtt.rto(), 354687us);  // 104687 + 250000
}

// Every division rounds down (integer microseconds).
TEST(RttEstimator, DivisionsRoundDown) {
  RttEstimator rtt;
  rtt.on_sample(1001us);
  EXPECT_EQ(rtt.srtt(), 1001us);
  EXPECT_EQ(rtt.rttvar(), 500us);  // 1001 / 2 = 500.5
  rtt.on_sample(1000us);
  EXPECT_EQ(rtt.rttvar(), 375us);  // (3 * 500 + 1) / 4 = 375.25
  EXPECT_EQ(rtt.srtt(), 1000us);   // (7 * 1001 + 1000) / 8 = 1000.875
  EXPECT_EQ(rtt.rto(), 200ms);     // 1000 + 1500, below the floor
}

// RFC 6298 §2.4: whenever RTO is computed, if it is less than the minimum it is rounded up to
// it (200 ms here, as Linux; RFC 6298 says 1 second, which the config can choose).
TEST(RttEstimator, RtoIsRoundedUpToTheMinimum) {
  RttEstimator rtt;
  rtt.on_sample(10ms);
  EXPECT_EQ(rtt.srtt(), 10ms);
  EXPECT_EQ(rtt.rttvar(), 5ms);
  EXPECT_EQ(rtt.rto(), 200ms);  // 10 ms + 20 ms = 30 ms, rounded up

  RttConfig rfc;
  rfc.min_rto = 1s;
  RttEstimator strict(rfc);
  strict.on_sample(100ms);
  EXPECT_EQ(strict.rto(), 1s);  // 300 ms, rounded up to RFC 6298's 1 s
}

// RFC 6298 §2.5: a maximum value may be placed on RTO provided it is at least 60 seconds.
TEST(RttEstimator, RtoIsCappedAtTheMaximum) {
  RttEstimator rtt;
  rtt.on_sample(100s);
  EXPECT_EQ(rtt.srtt(), 100s);
  EXPECT_EQ(rtt.rto(), 120s);  // 100 s + 200 s = 300 s, capped
}

// RFC 6298 §2.2: RTO <- SRTT + max (G, K*RTTVAR): the clock granularity G is the least that
// is added to SRTT.
TEST(RttEstimator, GranularityIsTheLeastVarianceTerm) {
  RttConfig coarse;
  coarse.granularity = 500ms;
  RttEstimator rtt(coarse);
  rtt.on_sample(100ms);
  EXPECT_EQ(rtt.rto(), 600ms);  // 100 ms + max(500 ms, 200 ms)

  RttConfig no_floor;
  no_floor.min_rto = 0us;
  RttEstimator fine(no_floor);
  fine.on_sample(1ms);
  EXPECT_EQ(fine.rto(), 3000us);  // 1000 + max(1000, 4 * 500)
  fine.on_sample(1ms);            // RTTVAR = (3 * 500 + 0) / 4 = 375
  EXPECT_EQ(fine.rto(), 2500us);  // 1000 + max(1000, 1500)
  fine.on_sample(1ms);            // RTTVAR = 1125 / 4 = 281
  EXPECT_EQ(fine.rto(), 2124us);  // 1000 + max(1000, 1124)
  fine.on_sample(1ms);            // RTTVAR = 843 / 4 = 210
  EXPECT_EQ(fine.rttvar(), 210us);
  EXPECT_EQ(fine.rto(), 2000us);  // 1000 + max(1000, 840): G takes over
}

// RFC 6298 §5.5: the host MUST set RTO <- RTO * 2 ("back off the timer"); the maximum of (2.5)
// may be used to provide an upper bound to this doubling operation.
TEST(RttEstimator, BackOffDoublesAndIsCappedAtTheMaximum) {
  RttEstimator rtt;
  const Duration expected[] = {2s, 4s, 8s, 16s, 32s, 64s, 120s, 120s};
  for (const Duration e : expected) {
    rtt.back_off();
    EXPECT_EQ(rtt.rto(), e);
  }
  EXPECT_EQ(rtt.backoffs(), 8U);  // still counted once capped

  RttEstimator measured;
  measured.on_sample(100ms);  // RTO 300 ms
  measured.back_off();
  EXPECT_EQ(measured.rto(), 600ms);
  measured.back_off();
  EXPECT_EQ(measured.rto(), 1200ms);
  EXPECT_EQ(measured.srtt(), 100ms);  // backing off leaves the estimate alone
  EXPECT_EQ(measured.rttvar(), 50ms);
}

// Drops the back-off: rto() returns to the RFC 6298 §2 value.
TEST(RttEstimator, ResetBackoffReturnsToTheComputedRto) {
  RttEstimator rtt;
  rtt.on_sample(100ms);
  rtt.back_off();
  rtt.back_off();
  rtt.back_off();
  EXPECT_EQ(rtt.rto(), 2400ms);
  EXPECT_EQ(rtt.backoffs(), 3U);
  rtt.reset_backoff();
  EXPECT_EQ(rtt.rto(), 300ms);
  EXPECT_EQ(rtt.backoffs(), 0U);

  RttEstimator fresh;
  fresh.back_off();
  fresh.reset_backoff();
  EXPECT_EQ(fresh.rto(), 1s);  // before any sample: back to the initial RTO
}

// RFC 6298 §5 (after 5.7): a new measurement recomputes RTO, collapsing the back-off.
TEST(RttEstimator, NewSampleCollapsesTheBackOff) {
  RttEstimator rtt;
  rtt.back_off();
  rtt.back_off();
  EXPECT_EQ(rtt.rto(), 4s);
  rtt.on_sample(100ms);
  EXPECT_EQ(rtt.rto(), 300ms);
  EXPECT_EQ(rtt.backoffs(), 0U);
}

// RFC 6298 §5.7: the RTO MUST be re-initialized to 3 seconds when data transmission begins,
// if the handshake gave no sample (its SYN timed out); a handshake that was timed keeps its RTO.
TEST(RttEstimator, HandshakeWithoutSampleFallsBackToThreeSeconds) {
  RttEstimator lost_syn;
  lost_syn.back_off();  // the SYN timed out: 2 s
  lost_syn.on_handshake_complete();
  EXPECT_EQ(lost_syn.rto(), 3s);
  EXPECT_EQ(lost_syn.backoffs(), 0U);
  EXPECT_FALSE(lost_syn.srtt());
  lost_syn.back_off();
  EXPECT_EQ(lost_syn.rto(), 6s);
  lost_syn.on_sample(100ms);
  EXPECT_EQ(lost_syn.rto(), 300ms);

  RttEstimator timed;
  timed.on_sample(100ms);
  timed.on_handshake_complete();
  EXPECT_EQ(timed.rto(), 300ms);
}

// RFC 6298 §2.2: SRTT <- R for R = 0 (loopback); a negative measurement is taken as 0.
TEST(RttEstimator, ZeroAndNegativeSamples) {
  RttEstimator rtt;
  rtt.on_sample(-5ms);
  EXPECT_EQ(rtt.srtt(), 0us);
  EXPECT_EQ(rtt.rttvar(), 0us);
  EXPECT_EQ(rtt.rto(), 200ms);  // 0 + max(1 ms, 0), rounded up
}

// RFC 6298 §2.3 with constant samples: SRTT stays R, RTTVAR shrinks every step to exactly 0,
// and RTO converges to max(min_rto, SRTT + G).
TEST(RttEstimator, ConstantSamplesConverge) {
  RttEstimator rtt;
  rtt.on_sample(300ms);
  Duration previous = rtt.rttvar();
  for (int i = 0; i < 100; ++i) {
    rtt.on_sample(300ms);
    EXPECT_EQ(rtt.srtt(), 300ms);
    EXPECT_LE(rtt.rttvar(), previous);
    previous = rtt.rttvar();
  }
  EXPECT_EQ(rtt.rttvar(), 0us);
  EXPECT_EQ(rtt.rto(), 301ms);  // SRTT + G

  RttEstimator lan;
  for (int i = 0; i < 100; ++i)
    lan.on_sample(50ms);
  EXPECT_EQ(lan.rttvar(), 0us);
  EXPECT_EQ(lan.rto(), 200ms);  // 51 ms, rounded up to min_rto

  // From a noisy start the estimate settles on the new constant RTT.
  RttEstimator noisy;
  noisy.on_sample(1s);
  noisy.on_sample(10ms);
  for (int i = 0; i < 200; ++i)
    noisy.on_sample(300ms);
  // Rounding down can stop SRTT up to 7 us short of R, and RTTVAR at no more than that gap.
  EXPECT_LE(300ms - *noisy.srtt(), 7us);
  EXPECT_LE(noisy.rttvar(), 7us);
  EXPECT_EQ(noisy.rto(), *noisy.srtt() + 1ms);  // SRTT + G
}

}  // namespace
}  // namespace tapir::test
