// tcp::Connection's timers: retransmission with back-off and giving up (RFC 6298 §5, RFC 9293
// §3.8.3 R2), going back N after a timeout (RFC 5681 §3.1), the user timeout (RFC 9293 §3.8.3,
// RFC 5482), the zero-window probe / persist timer (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17),
// keep-alive (RFC 1122 §4.2.3.6) and a falling path MTU (RFC 1191).
#include <gtest/gtest.h>

#include "tests/unit/tcp/connection_harness.hpp"

namespace tapir::tcp::test {
namespace {

TcpRepr with_fin(TcpRepr s) {
  s.fin = true;
  return s;
}
TcpRepr with_rst(TcpRepr s) {
  s.rst = true;
  return s;
}

class TcpTimers : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(establish_active()); }
  SeqNum seg(std::size_t i) const { return kIss + 1 + u32(i * kMss); }
};

// RFC 6298 §5.4-5.6: at each expiry the earliest unacknowledged segment is sent again and the RTO
// doubles (200 ms ... capped at RttConfig::max_rto, 120 s); RFC 9293 §3.8.3 R2 / RFC 1122
// §4.2.3.5: after max_retries (15, Linux's tcp_retries2) retransmissions the next expiry gives
// up: timed_out, and a RST <SEQ=SND.NXT><ACK=RCV.NXT> (as BSD's tcp_drop; Linux closes silently).
TEST_F(TcpTimers, RtoDoublesThenGivesUpAfterMaxRetries) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_SENT(output(), ours_data(kIss + 1, kIrs + 1, 32768, 100, true));
  Duration rto = 200ms;
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(conn().next_deadline(), now_ + rto) << i;
    EXPECT_SENT(fire(), ours_data(kIss + 1, kIrs + 1, 32768, 100, true)) << i;
    rto = std::min<Duration>(2 * rto, 120s);
  }
  EXPECT_EQ(conn().next_deadline(), now_ + 120s);
  EXPECT_SENT(fire(), with_rst(ours(kIss + 101, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_rto.value(), 16U);
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 15U);
  EXPECT_EQ(conn().counters().timeouts.value(), 1U);
}

// RFC 6298 §5.3 and the note after §5.7: an ACK of new data restarts the timer, and its sample
// (RFC 7323 §4: the timestamp echo) collapses the back-off.
TEST_F(TcpTimers, AckAfterBackoffRestartsTheTimerAtTheMeasuredRto) {
  ASSERT_EQ(send(200), 200U);
  conn().set_no_delay(true);
  EXPECT_EQ(output().size(), 1U);
  EXPECT_EQ(fire().size(), 1U);
  EXPECT_EQ(fire().size(), 1U);
  EXPECT_EQ(conn().rtt().rto(), Duration(800ms));
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 101)).empty());
  EXPECT_EQ(conn().rtt().rto(), Duration(200ms));
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 201)).empty());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 5681 §3.1: after a timeout cwnd is one segment (the loss window) and ssthresh half the
// flight (7240 / 2 = 3620); what was in flight is sent again from SND.UNA as ACKs open cwnd
// (slow start: 2 segments after the first ACK).
TEST_F(TcpTimers, AfterRtoEverythingUnacknowledgedGoesAgainWithinCwnd) {
  ASSERT_EQ(send(5 * kMss), 5 * kMss);
  EXPECT_EQ(output().size(), 5U);
  EXPECT_SENT(fire(), ours_data(seg(0), kIrs + 1, 32768, kMss, false));
  EXPECT_EQ(conn().congestion().cwnd(), kMss);
  EXPECT_EQ(conn().congestion().ssthresh(), 3620U);
  now_ += 10ms;
  EXPECT_SENT(receive(peer(kIrs + 1, seg(1))), ours_data(seg(1), kIrs + 1, 32768, kMss, false),
              ours_data(seg(2), kIrs + 1, 32768, kMss, false));
  now_ += 10ms;
  EXPECT_SENT(receive(peer(kIrs + 1, seg(3))), ours_data(seg(3), kIrs + 1, 32768, kMss, false),
              ours_data(seg(4), kIrs + 1, 32768, kMss, true));
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 5U);
}

// A retransmission reaching SND.NXT carries our FIN again, as it did the first time (Linux keeps
// the FIN on the last segment), so the FIN does not wait for another timeout.
TEST_F(TcpTimers, RetransmissionOfTheLastSegmentCarriesTheFin) {
  ASSERT_EQ(send(100), 100U);
  conn().shutdown_send(now_);
  EXPECT_SENT(output(), with_fin(ours_data(kIss + 1, kIrs + 1, 32768, 100, true)));
  EXPECT_SENT(fire(), with_fin(ours_data(kIss + 1, kIrs + 1, 32768, 100, true)));
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 102)).empty());
  EXPECT_EQ(conn().state(), State::FinWait2);
}

// RFC 9293 §3.8.3 / RFC 5482: with a user timeout, data unacknowledged for that long aborts the
// connection (timed_out, a RST as on giving up), whatever the retries left. The time counts from
// the data's transmission -- not from the last ACK before an idle spell -- and restarts with each
// ACK of new data.
TEST_F(TcpTimers, UserTimeoutCountsFromTheOldestUnacknowledgedData) {
  ConnectionConfig c = harness_config();
  c.user_timeout = 5s;
  make(c);
  ASSERT_NO_FATAL_FAILURE(establish_active());
  EXPECT_TRUE(advance(30s).empty());
  ASSERT_EQ(send(100), 100U);
  EXPECT_EQ(output().size(), 1U);
  const Instant sent_at = now_;
  // Retransmissions at 0.2, 0.6, 1.4 and 3.0 s; the next (6.2 s) would come after the timeout.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(fire().size(), 1U) << i;
  EXPECT_EQ(now_, sent_at + 3s);
  EXPECT_EQ(conn().next_deadline(), sent_at + 5s);
  EXPECT_SENT(fire(), with_rst(ours(kIss + 101, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
}

TEST_F(TcpTimers, UserTimeoutRestartsWithEachAckOfNewData) {
  ConnectionConfig c = harness_config();
  c.user_timeout = 5s;
  make(c);
  ASSERT_NO_FATAL_FAILURE(establish_active());
  conn().set_no_delay(true);
  ASSERT_EQ(send(200), 200U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 4s;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 101)).empty());
  const Instant acked_at = now_;
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_LE(conn().next_deadline(), now_ + 5s);
  while (conn().state() == State::Established && now_ < acked_at + 60s)
    fire();
  EXPECT_EQ(now_, acked_at + 5s);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
}

// RFC 9293 §3.8.6.1: with data to send, nothing in flight and a zero window, the persist timer
// probes, backing off (200 ms, 400 ms, ... capped at 120 s). The probe is Linux's: an ACK carrying
// SND.UNA - 1, which the peer must answer with an ACK showing its window. RFC 1122 §4.2.2.17:
// "As long as the receiving TCP continues to send acknowledgments in response to the probe
// segments, the sending TCP MUST allow the connection to stay open." When the window opens, the
// data goes.
TEST_F(TcpTimers, ZeroWindowIsProbedWithBackoffWhileTheConnectionStaysOpen) {
  ASSERT_EQ(send(1000), 1000U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  EXPECT_EQ(conn().snd_wnd(), 0U);
  ASSERT_EQ(send(1000, 1000), 1000U);
  EXPECT_TRUE(output().empty());
  Instant armed = now_;
  Duration backoff = 200ms;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(conn().next_deadline(), armed + backoff) << i;
    EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768)) << i;
    armed = now_;
    backoff = std::min<Duration>(2 * backoff, 120s);
    now_ += 1ms;
    EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty()) << i;
    EXPECT_EQ(conn().next_deadline(), armed + backoff) << i;
  }
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().counters().tx_zero_window_probes.value(), 20U);
  now_ += 1s;
  EXPECT_SENT(receive(peer(kIrs + 1, kIss + 1001, 8)),
              ours_data(kIss + 1001, kIrs + 1, 32768, 1000, true));
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
}

// RFC 1122 §4.2.2.17 / RFC 9293 §3.8.6.1: the connection stays open only as long as the peer
// answers the probes. As Linux's tcp_probe_timer, max_retries (15, tcp_retries2) probes in a row
// left unanswered mean the peer is dead: the next expiry gives up as the retransmission timer
// does -- timed_out, and a RST <SEQ=SND.NXT><ACK=RCV.NXT>.
TEST_F(TcpTimers, UnansweredZeroWindowProbesGiveUpAfterMaxRetries) {
  ASSERT_EQ(send(1000), 1000U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  ASSERT_EQ(send(1000, 1000), 1000U);
  EXPECT_TRUE(output().empty());
  Instant armed = now_;
  Duration backoff = 200ms;
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(conn().next_deadline(), armed + backoff) << i;
    EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768)) << i;
    armed = now_;
    backoff = std::min<Duration>(2 * backoff, 120s);
  }
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().next_deadline(), armed + 120s);
  EXPECT_SENT(fire(), with_rst(ours(kIss + 1001, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_zero_window_probes.value(), 15U);
  EXPECT_EQ(conn().counters().timeouts.value(), 1U);
}

// RFC 1122 §4.2.2.17: only probes in a row left unanswered count; any ACK from the peer (here one
// still showing a zero window) starts the count again, as Linux's tcp_ack clears
// icsk_probes_out. The back-off is not reset by it (only by a window that opens).
TEST_F(TcpTimers, AnAnsweredZeroWindowProbeStartsTheCountAgain) {
  ASSERT_EQ(send(1000), 1000U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  ASSERT_EQ(send(1000, 1000), 1000U);
  EXPECT_TRUE(output().empty());
  for (int i = 0; i < 10; ++i)
    EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768)) << i;
  now_ += 1ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  for (int i = 0; i < 15; ++i)
    EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768)) << i;
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_SENT(fire(), with_rst(ours(kIss + 1001, kIrs + 1, 0)));
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_zero_window_probes.value(), 25U);
}

// RFC 9293 §3.8.3 / RFC 5482 with a zero window: as Linux (tcp_probe_timer,
// tcp_clamp_probe0_to_user_timeout), the user timeout counts from the first probe of the stall,
// answered or not, and the probe timer fires no later than it: probes at 0, 0.4, 1.2 and 2.8 s
// after the first, then the give-up at 5 s (the next probe would have come at 6 s).
TEST_F(TcpTimers, UserTimeoutBoundsAZeroWindowFromTheFirstProbe) {
  ConnectionConfig c = harness_config();
  c.user_timeout = 5s;
  make(c);
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_EQ(send(1000), 1000U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  ASSERT_EQ(send(1000, 1000), 1000U);
  EXPECT_TRUE(output().empty());
  EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768));
  const Instant first = now_;
  for (int i = 0; i < 3; ++i) {
    now_ += 1ms;
    EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty()) << i;
    EXPECT_SENT(fire(), ours(kIss + 1000, kIrs + 1, 32768)) << i;
  }
  EXPECT_EQ(now_, first + 2800ms);
  now_ += 1ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  EXPECT_EQ(conn().next_deadline(), first + 5s);
  EXPECT_SENT(fire(), with_rst(ours(kIss + 1001, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_zero_window_probes.value(), 4U);
}

// RFC 1122 §4.2.3.6: keep-alive is off unless asked for; on, an idle connection is probed after
// `idle`, then every `interval`; after `probes` unanswered probes it is dead: timed_out, with a
// RST (as Linux's tcp_keepalive_timer). The probe is Linux's: <SEQ=SND.UNA-1>, no data.
TEST_F(TcpTimers, KeepAliveProbesThenTimesOut) {
  EXPECT_EQ(conn().next_deadline(), kNever);
  conn().set_keep_alive(KeepAliveConfig{true, 10s, 1s, 3}, now_);
  EXPECT_EQ(conn().next_deadline(), now_ + 10s);
  EXPECT_SENT(fire(), ours(kIss, kIrs + 1, 32768));
  EXPECT_EQ(conn().next_deadline(), now_ + 1s);
  EXPECT_SENT(fire(), ours(kIss, kIrs + 1, 32768));
  EXPECT_SENT(fire(), ours(kIss, kIrs + 1, 32768));
  EXPECT_SENT(fire(), with_rst(ours(kIss + 1, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_keepalives.value(), 3U);
}

// RFC 1122 §4.2.3.6: an answered probe -- any segment from the peer -- makes the connection idle
// again from then: the next probe comes after `idle`, with the probe count reset.
TEST_F(TcpTimers, AnsweredKeepAliveRestartsTheIdleTimer) {
  conn().set_keep_alive(KeepAliveConfig{true, 10s, 1s, 3}, now_);
  EXPECT_EQ(fire().size(), 1U);
  EXPECT_EQ(fire().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1)).empty());
  EXPECT_EQ(conn().next_deadline(), now_ + 10s);
  for (int i = 0; i < 3; ++i)
    EXPECT_SENT(fire(), ours(kIss, kIrs + 1, 32768)) << i;
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(fire().size(), 1U);  // the RST
  EXPECT_EQ(conn().state(), State::Closed);
}

// RFC 1122 §4.2.3.6: keep-alives probe an idle connection only. With data unacknowledged the
// retransmission timer watches the peer (RFC 6298 §5: 0.2, 0.6, 1.4, 3.0, 6.2 s ...): as Linux's
// tcp_keepalive_timer, the keep-alive timer then only looks again after `idle`, and sends
// nothing. Once everything is acknowledged the connection is idle and is probed after `idle`.
TEST_F(TcpTimers, KeepAliveWaitsWhileDataIsUnacknowledged) {
  conn().set_keep_alive(KeepAliveConfig{true, 1s, 1s, 2}, now_);
  ASSERT_EQ(send(100), 100U);
  EXPECT_SENT(output(), ours_data(kIss + 1, kIrs + 1, 32768, 100, true));
  const Instant sent_at = now_;
  int retransmissions = 0;
  for (int i = 0; i < 100 && now_ < sent_at + 10s && conn().state() == State::Established; ++i) {
    // The keep-alive timer's expiries (every second) send nothing; the others resend the data.
    const auto out = fire();
    if (out.empty()) continue;
    ++retransmissions;
    EXPECT_SENT(out, ours_data(kIss + 1, kIrs + 1, 32768, 100, true)) << (now_ - sent_at).count();
  }
  EXPECT_EQ(retransmissions, 5);
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().counters().tx_keepalives.value(), 0U);
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 5U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 101)).empty());
  EXPECT_EQ(conn().next_deadline(), now_ + 1s);
  EXPECT_SENT(fire(), ours(kIss + 100, kIrs + 1, 32768));
  EXPECT_EQ(conn().counters().tx_keepalives.value(), 1U);
}

// RFC 1122 §4.2.3.6 with data waiting behind a zero window: the persist timer probes it (RFC 9293
// §3.8.6.1), and keep-alives are not sent beside the probes, nor do they time the connection out
// while the peer answers them.
TEST_F(TcpTimers, KeepAliveWaitsWhileDataWaitsForTheWindow) {
  conn().set_keep_alive(KeepAliveConfig{true, 1s, 1s, 2}, now_);
  ASSERT_EQ(send(1000), 1000U);
  EXPECT_EQ(output().size(), 1U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  ASSERT_EQ(send(1000, 1000), 1000U);
  EXPECT_TRUE(output().empty());
  const Instant stalled_at = now_;
  for (int i = 0; i < 200 && now_ < stalled_at + 60s && conn().state() == State::Established; ++i) {
    const auto out = fire();
    if (out.empty()) continue;  // the keep-alive timer, looking again
    EXPECT_SENT(out, ours(kIss + 1000, kIrs + 1, 32768));
    now_ += 1ms;
    EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1001, 0)).empty());
  }
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().counters().tx_keepalives.value(), 0U);
  // Probes at 0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4 and 51.0 s (and answered).
  EXPECT_EQ(conn().counters().tx_zero_window_probes.value(), 8U);
}

// RFC 1191 §6.5 / RFC 9293 §3.7.2: when the path MTU falls, segments shrink to it (1300 - 40 -
// 12 = 1248) and what was sent too large goes again at once, smaller. RFC 1191 §6.4 / RFC 8201
// §5.4: that is not congestion; as Linux's tcp_simple_retransmit, no timeout is taken (no RTO
// back-off, tx_rto untouched), cwnd and ssthresh stay, and the timer restarts at the RTO as it
// was (RFC 6298 §5.3).
TEST_F(TcpTimers, PathMtuDropResendsSmallerAtOnceWithoutACongestionResponse) {
  ASSERT_EQ(send(kMss), kMss);
  EXPECT_EQ(output().size(), 1U);
  const std::size_t cwnd = conn().congestion().cwnd();
  const std::size_t ssthresh = conn().congestion().ssthresh();
  now_ += 5ms;
  conn().on_path_mtu(1300);
  EXPECT_EQ(conn().send_buffer().config().smss, 1248U);
  EXPECT_EQ(conn().next_deadline(), now_ - 5ms);  // due at once (the last call's now)
  EXPECT_SENT(advance(0ms), ours_data(kIss + 1, kIrs + 1, 32768, 1248, false),
              ours_data(kIss + 1249, kIrs + 1, 32768, 200, true));
  EXPECT_EQ(conn().congestion().cwnd(), cwnd);
  EXPECT_EQ(conn().congestion().ssthresh(), ssthresh);
  EXPECT_EQ(conn().rtt().rto(), Duration(200ms));
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  EXPECT_EQ(conn().counters().tx_rto.value(), 0U);
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 2U);
  // A larger MTU is ignored (RFC 1191 §6.3: increases are found by probing, not reported).
  conn().on_path_mtu(1500);
  EXPECT_EQ(conn().send_buffer().config().smss, 1248U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1 + u32(kMss))).empty());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// As Linux's tcp_simple_retransmit: only the segments longer than the new MSS are resent (each cut
// to it); a segment that fits the smaller path got through and is left to its ACK.
TEST_F(TcpTimers, PathMtuDropResendsOnlyTheSegmentsThatNoLongerFit) {
  ASSERT_EQ(send(2 * kMss + 100), 2 * kMss + 100);
  EXPECT_SENT(output(), ours_data(seg(0), kIrs + 1, 32768, kMss, false),
              ours_data(seg(1), kIrs + 1, 32768, kMss, false),
              ours_data(seg(2), kIrs + 1, 32768, 100, true));
  conn().on_path_mtu(1300);
  EXPECT_SENT(advance(1ms), ours_data(seg(0), kIrs + 1, 32768, 1248, false),
              ours_data(seg(0) + 1248, kIrs + 1, 32768, 200, false),
              ours_data(seg(1), kIrs + 1, 32768, 1248, false),
              ours_data(seg(1) + 1248, kIrs + 1, 32768, 200, false));
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 4U);
  EXPECT_EQ(conn().counters().tx_rto.value(), 0U);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, seg(2) + 100)).empty());
  conn().set_no_delay(true);
  ASSERT_EQ(send(2000), 2000U);
  EXPECT_SENT(output(), ours_data(seg(2) + 100, kIrs + 1, 32768, 1248, false),
              ours_data(seg(2) + 1348, kIrs + 1, 32768, 752, true));
}

}  // namespace
}  // namespace tapir::tcp::test
