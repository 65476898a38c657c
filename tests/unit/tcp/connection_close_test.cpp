// tcp::Connection, closing: CLOSE (RFC 9293 §3.10.4) and the FIN in every state (§3.10.7.4,
// eighth), half-close (§3.6), simultaneous close (§3.6 Figure 13), FIN retransmission (RFC 6298),
// TIME-WAIT's 2 MSL (§3.4.2), the orphaned FIN-WAIT-2 timeout (Linux's tcp_fin_timeout), RST in
// each state (§3.10.7.4 second) and ABORT (§3.10.5).
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

class TcpCloseFromEstablished : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(establish_active()); }
};

// RFC 9293 §3.10.4 CLOSE in ESTABLISHED: "Queue this until all preceding SENDs have been
// segmentized, then form a FIN segment and send it. In any case, enter FIN-WAIT-1 state." The
// FIN rides on the last data segment, as Linux sends it.
TEST_F(TcpCloseFromEstablished, FinFollowsTheQueuedData) {
  ASSERT_EQ(send(100), 100U);
  conn().shutdown_send(now_);
  EXPECT_EQ(conn().state(), State::FinWait1);
  EXPECT_TRUE(conn().send_shut());
  EXPECT_EQ(send(10), 0U);
  EXPECT_SENT(output(), with_fin(ours_data(kIss + 1, kIrs + 1, 32768, 100, true)));
  EXPECT_EQ(conn().snd_nxt(), kIss + 102);
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 102)).empty());
  EXPECT_EQ(conn().state(), State::FinWait2);
}

// RFC 9293 §3.7.4 (Nagle) holds a short tail while data is outstanding -- but not after CLOSE:
// nothing more will come to fill it, so it goes at once with the FIN (Linux's tcp_send_fin pushes
// with TCP_NAGLE_OFF).
TEST_F(TcpCloseFromEstablished, CloseReleasesTheTailNagleHeld) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_EQ(output().size(), 1U);
  ASSERT_EQ(send(50, 100), 50U);
  EXPECT_TRUE(output().empty());
  conn().shutdown_send(now_);
  EXPECT_SENT(output(), with_fin(ours_data(kIss + 101, kIrs + 1, 32768, 50, true)));
}

// RFC 9293 §3.6 Figure 13 (simultaneous close): both FINs cross. FIN-WAIT-1 gets the peer's FIN,
// which does not acknowledge ours: CLOSING, the FIN acknowledged; the ACK of our FIN then moves
// to TIME-WAIT, silently.
TEST_F(TcpCloseFromEstablished, SimultaneousCloseGoesThroughClosing) {
  conn().shutdown_send(now_);
  EXPECT_SENT(output(), ours_fin(kIss + 1, kIrs + 1, 32768));
  now_ += 5ms;
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 1))), ours(kIss + 2, kIrs + 2, 32767));
  EXPECT_EQ(conn().state(), State::Closing);
  now_ += 5ms;
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 2)).empty());
  EXPECT_EQ(conn().state(), State::TimeWait);
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
}

// RFC 9293 §3.10.5 ABORT in ESTABLISHED: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>", with
// ACK as Linux's tcp_send_active_reset, and the timestamps (RFC 7323 §3.2); CLOSED at once. Data
// sent but unacknowledged counts in SND.NXT; data not yet sent does not.
TEST_F(TcpCloseFromEstablished, AbortSendsRstAtSndNxt) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_EQ(output().size(), 1U);
  ASSERT_EQ(send(100, 100), 100U);  // held by Nagle
  conn().take_events();
  conn().abort(now_);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_SENT(output(), with_rst(ours(kIss + 101, kIrs + 1, 0)));
  EXPECT_NE(conn().take_events() & kEventClosed, 0);
  EXPECT_FALSE(conn().error());
  EXPECT_EQ(conn().next_deadline(), kNever);
  EXPECT_EQ(conn().counters().tx_rst.value(), 1U);
  // CLOSED: the demux answers whatever comes now (reset.hpp), not the connection.
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 101)).empty());
}

// RFC 9293 §3.10.7.4, eighth, ESTABLISHED: "Enter the CLOSE-WAIT state", the FIN acknowledged at
// once, readers see the end of the stream after the data (data and FIN in one segment here).
TEST_F(TcpCloseFromEstablished, FinWithDataMovesToCloseWait) {
  conn().take_events();
  const auto data = pattern(100);
  EXPECT_SENT(receive(with_fin(peer_data(kIrs + 1, kIss + 1, 100)), data),
              ours(kIss + 1, kIrs + 102, 32717));
  EXPECT_EQ(conn().state(), State::CloseWait);
  EXPECT_NE(conn().take_events() & kEventReadable, 0);
  EXPECT_TRUE(conn().fin_received());
  EXPECT_EQ(read_all(), data);
  std::vector<std::byte> buf(10);
  EXPECT_EQ(conn().recv(buf), 0U);
}

// RFC 9293 §3.10.7.4: a FIN past a hole counts only once the hole is filled: the ACK that fills
// it covers the FIN, and then CLOSE-WAIT.
TEST_F(TcpCloseFromEstablished, FinAfterAHoleCountsWhenTheHoleFills) {
  const auto data = pattern(200);
  TcpRepr late = with_fin(peer_data(kIrs + 101, kIss + 1, 100));
  EXPECT_EQ(receive(late, gsl::span(data).subspan(100)).size(), 1U);  // a dup ACK, with SACK
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), gsl::span(data).first(100)),
              ours(kIss + 1, kIrs + 202, 32667));
  EXPECT_EQ(conn().state(), State::CloseWait);
  EXPECT_EQ(read_all(), data);
}

class TcpFinWait1 : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_fin_wait_1()); }
};

// RFC 9293 §3.10.7.4 FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter FIN-WAIT-2";
// a FIN with that ACK goes on to TIME-WAIT ("If our FIN has been ACKed ... enter the TIME-WAIT
// state, start the time-wait timer, turn off the other timers"), the FIN acknowledged.
TEST_F(TcpFinWait1, FinThatAcksOursMovesToTimeWait) {
  now_ += 10ms;
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 2))), ours(kIss + 2, kIrs + 2, 32767));
  EXPECT_EQ(conn().state(), State::TimeWait);
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
}

// RFC 6298 §5.4-5.5: an unacknowledged FIN is retransmitted at each expiry, the timer doubling
// (200 ms, 400 ms).
TEST_F(TcpFinWait1, FinRetransmittedWithBackoff) {
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  EXPECT_SENT(fire(), ours_fin(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().next_deadline(), now_ + 400ms);
  EXPECT_SENT(fire(), ours_fin(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().next_deadline(), now_ + 800ms);
  EXPECT_EQ(conn().state(), State::FinWait1);
}

// RFC 9293 §3.6 (half-close): in FIN-WAIT-1 the peer may still send; its data is taken.
TEST_F(TcpFinWait1, DataIsStillReceived) {
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), data), ours(kIss + 2, kIrs + 101, 32718));
  EXPECT_EQ(read_all(), data);
  EXPECT_EQ(conn().state(), State::FinWait1);
}

// RFC 9293 §3.10.7.4 second (RFC 5961 §3.2): a RST at RCV.NXT resets, "connection reset".
TEST_F(TcpFinWait1, RstResets) {
  EXPECT_TRUE(receive(with_rst(peer(kIrs + 1, std::nullopt, 0))).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_reset));
}

// RFC 9293 §3.10.5 ABORT in FIN-WAIT-1: a reset, <SEQ=SND.NXT> counting our FIN.
TEST_F(TcpFinWait1, AbortSendsRst) {
  conn().abort(now_);
  EXPECT_SENT(output(), with_rst(ours(kIss + 2, kIrs + 1, 0)));
}

class TcpFinWait2 : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_fin_wait_2()); }
};

// RFC 9293 §3.6 (half-close): the peer's data keeps coming and is acknowledged.
TEST_F(TcpFinWait2, DataIsStillReceived) {
  const auto data = pattern(1000);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 2, 1000), data),
              ours(kIss + 2, kIrs + 1001, 32268));
  EXPECT_EQ(read_all(), data);
  EXPECT_EQ(conn().state(), State::FinWait2);
}

// RFC 9293 §3.10.7.4 FIN-WAIT-2: "if the retransmission queue is empty, the user's CLOSE can be
// acknowledged" -- and the connection waits for the peer's FIN as long as it takes while the user
// holds it: no timer runs.
TEST_F(TcpFinWait2, WaitsForThePeersFinIndefinitely) {
  EXPECT_EQ(conn().next_deadline(), kNever);
  EXPECT_TRUE(advance(1h).empty());
  EXPECT_EQ(conn().state(), State::FinWait2);
}

// Linux's tcp_fin_timeout (60 s): an orphaned connection (the user closed it) in FIN-WAIT-2
// gives up on the peer's FIN after fin_wait2_timeout, silently. Orphaned in FIN-WAIT-1, the
// timeout starts when the FIN is acknowledged.
TEST_F(TcpFinWait1, OrphanTimesOutInFinWait2) {
  conn().orphan();
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 2)).empty());
  EXPECT_EQ(conn().state(), State::FinWait2);
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
  EXPECT_TRUE(advance(60s - 1ms).empty());
  EXPECT_EQ(conn().state(), State::FinWait2);
  EXPECT_TRUE(advance(1ms).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// Linux's tcp_close: a connection closed by the user when already in FIN-WAIT-2 (shut down
// earlier, its FIN acknowledged) gets the timeout from then.
TEST_F(TcpFinWait2, OrphanedLaterTimesOutFromThen) {
  now_ += 5s;
  conn().poll(now_);
  conn().orphan();
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
  EXPECT_TRUE(advance(60s).empty());
  EXPECT_EQ(conn().state(), State::Closed);
}

// RFC 1122 §4.2.2.13: "if new data is received after CLOSE is called, its TCP SHOULD send a RST
// to show that data was lost": orphaned, the connection answers new data with <SEQ=SEG.ACK>
// <CTL=RST> (as Linux) and is gone. Held by the user (only shut for sending), it takes the data.
TEST_F(TcpFinWait2, NewDataAfterCloseGetsRst) {
  conn().orphan();
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 2, 100), data), rst_reply(kIss + 2));
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_reset));
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// ... but the peer's FIN alone is what an orphan waits for: TIME-WAIT as usual.
TEST_F(TcpFinWait2, OrphanTakesThePeersFin) {
  conn().orphan();
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 2))), ours(kIss + 2, kIrs + 2, 32767));
  EXPECT_EQ(conn().state(), State::TimeWait);
}

// RFC 9293 §3.10.5 ABORT in FIN-WAIT-2: a reset.
TEST_F(TcpFinWait2, AbortSendsRst) {
  conn().abort(now_);
  EXPECT_SENT(output(), with_rst(ours(kIss + 2, kIrs + 1, 0)));
  EXPECT_EQ(conn().state(), State::Closed);
}

class TcpCloseWait : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_close_wait()); }
};

// RFC 9293 §3.6 (half-close): in CLOSE-WAIT we still send; the segments acknowledge the FIN.
TEST_F(TcpCloseWait, DataCanStillBeSent) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_SENT(output(), ours_data(kIss + 1, kIrs + 2, 32767, 100, true));
}

// RFC 9293 §3.10.7.4 eighth, CLOSE-WAIT: "Remain in the CLOSE-WAIT state" -- a retransmitted FIN
// (our ACK of it was lost) is acknowledged again.
TEST_F(TcpCloseWait, RetransmittedFinIsAcknowledgedAgain) {
  now_ += 200ms;
  // Left of RCV.NXT, it is unacceptable: TS.Recent keeps the first FIN's TSval (RFC 7323 §4.3).
  TcpRepr want = ours(kIss + 1, kIrs + 2, 32767);
  want.timestamps->tsecr = last_peer_tsval_;
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 1))), want);
  EXPECT_EQ(conn().state(), State::CloseWait);
}

// RFC 9293 §3.10.4 CLOSE in CLOSE-WAIT: the FIN goes, LAST-ACK; the ACK of it: CLOSED, silently.
TEST_F(TcpCloseWait, CloseSendsFinAndItsAckCloses) {
  conn().shutdown_send(now_);
  EXPECT_EQ(conn().state(), State::LastAck);
  EXPECT_SENT(output(), ours_fin(kIss + 1, kIrs + 2, 32767));
  conn().take_events();
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 2)).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
  EXPECT_NE(conn().take_events() & kEventClosed, 0);
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 9293 §3.10.7.4 second: a RST in CLOSE-WAIT resets.
TEST_F(TcpCloseWait, RstResets) {
  EXPECT_TRUE(receive(with_rst(peer(kIrs + 2, std::nullopt, 0))).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_reset));
}

// RFC 9293 §3.10.5 ABORT in CLOSE-WAIT: a reset, acknowledging the FIN.
TEST_F(TcpCloseWait, AbortSendsRst) {
  conn().abort(now_);
  EXPECT_SENT(output(), with_rst(ours(kIss + 1, kIrs + 2, 0)));
}

class TcpClosing : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_closing()); }
};

// RFC 9293 §3.10.7.4 CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state,
// otherwise ignore the segment".
TEST_F(TcpClosing, AckOfOurFinMovesToTimeWait) {
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 1)).empty());
  EXPECT_EQ(conn().state(), State::Closing);
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 2)).empty());
  EXPECT_EQ(conn().state(), State::TimeWait);
}

// RFC 6298 §5.4: our FIN, still unacknowledged, is retransmitted by the timer (it acknowledges
// the peer's FIN now).
TEST_F(TcpClosing, FinRetransmittedByTheTimer) {
  EXPECT_SENT(fire(), ours_fin(kIss + 1, kIrs + 2, 32767));
  EXPECT_EQ(conn().state(), State::Closing);
}

// RFC 9293 §3.10.7.4 second: a RST in CLOSING: "enter the CLOSED state, delete the TCB, and
// return", no error to report.
TEST_F(TcpClosing, RstCloses) {
  EXPECT_TRUE(receive(with_rst(peer(kIrs + 2, std::nullopt, 0))).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
}

// RFC 9293 §3.10.5 ABORT in CLOSING: "respond with 'ok' and delete the TCB" -- no reset.
TEST_F(TcpClosing, AbortSendsNothing) {
  conn().abort(now_);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_TRUE(output().empty());
}

class TcpLastAck : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_last_ack()); }
};

// RFC 9293 §3.10.7.4 LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED
// state, and return"; an ACK that does not cover it changes nothing.
TEST_F(TcpLastAck, AckOfOurFinCloses) {
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 1)).empty());
  EXPECT_EQ(conn().state(), State::LastAck);
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 2)).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 6298 §5.4-5.5: the FIN is retransmitted with back-off.
TEST_F(TcpLastAck, FinRetransmittedWithBackoff) {
  EXPECT_EQ(conn().next_deadline(), now_ + 200ms);
  EXPECT_SENT(fire(), ours_fin(kIss + 1, kIrs + 2, 32767));
  EXPECT_EQ(conn().next_deadline(), now_ + 400ms);
  EXPECT_SENT(fire(), ours_fin(kIss + 1, kIrs + 2, 32767));
}

// RFC 9293 §3.10.7.4 eighth, LAST-ACK: "Remain in the LAST-ACK state" -- the peer's FIN again is
// acknowledged again.
TEST_F(TcpLastAck, RetransmittedFinIsAcknowledged) {
  now_ += 100ms;
  TcpRepr want = ours(kIss + 2, kIrs + 2, 32767);
  want.timestamps->tsecr = last_peer_tsval_;
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 1))), want);
  EXPECT_EQ(conn().state(), State::LastAck);
}

// RFC 9293 §3.10.7.4 second: a RST in LAST-ACK closes, no error.
TEST_F(TcpLastAck, RstCloses) {
  EXPECT_TRUE(receive(with_rst(peer(kIrs + 2, std::nullopt, 0))).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
}

class TcpTimeWait : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(to_time_wait()); }
};

// RFC 9293 §3.3.2 / §3.4.2: TIME-WAIT lasts 2 MSL (60 s here, Linux's TCP_TIMEWAIT_LEN), then
// CLOSED, silently.
TEST_F(TcpTimeWait, LastsTwoMslThenCloses) {
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
  EXPECT_TRUE(advance(60s - 1ms).empty());
  EXPECT_EQ(conn().state(), State::TimeWait);
  conn().take_events();
  EXPECT_TRUE(advance(1ms).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_FALSE(conn().error());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 9293 §3.10.7.4 eighth, TIME-WAIT: "The only thing that can arrive in this state is a
// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." It lies left
// of RCV.NXT, so it is unacceptable (first check): acknowledged there, and the timer restarted
// there too (Linux's tcp_timewait_state_process reschedules it likewise).
TEST_F(TcpTimeWait, RetransmittedFinIsAckedAndRestartsTheTimer) {
  now_ += 30s;
  conn().poll(now_);
  TcpRepr want = ours(kIss + 2, kIrs + 2, 32767);
  want.timestamps->tsecr = last_peer_tsval_;
  EXPECT_SENT(receive(with_fin(peer(kIrs + 1, kIss + 2))), want);
  EXPECT_EQ(conn().state(), State::TimeWait);
  EXPECT_EQ(conn().next_deadline(), now_ + 60s);
}

// RFC 9293 §3.10.7.4: an acceptable segment without FIN in TIME-WAIT gets nothing; a SYN gets a
// challenge ACK (RFC 5961 §4.2; reusing the 4-tuple from TIME-WAIT, RFC 6191, is the listener's
// business, not this connection's).
TEST_F(TcpTimeWait, AckIsIgnoredAndSynGetsAnAck) {
  EXPECT_TRUE(receive(peer(kIrs + 2, kIss + 2)).empty());
  now_ += 1s;
  TcpRepr syn = peer_syn();
  syn.seq_number = kIrs + 100000;
  const std::uint32_t echo = last_peer_tsval_;
  TcpRepr want = ours(kIss + 2, kIrs + 2, 32767);
  want.timestamps->tsecr = echo;
  EXPECT_SENT(receive(syn), want);
  EXPECT_EQ(conn().state(), State::TimeWait);
}

// RFC 9293 §3.10.7.4 second, TIME-WAIT: a RST at RCV.NXT closes (as Linux, without RFC 1337's
// protection).
TEST_F(TcpTimeWait, RstCloses) {
  EXPECT_TRUE(receive(with_rst(peer(kIrs + 2, std::nullopt, 0))).empty());
  EXPECT_EQ(conn().state(), State::Closed);
}

// RFC 9293 §3.10.5 ABORT in TIME-WAIT: no reset.
TEST_F(TcpTimeWait, AbortSendsNothing) {
  conn().abort(now_);
  EXPECT_TRUE(output().empty());
  EXPECT_EQ(conn().state(), State::Closed);
}

}  // namespace
}  // namespace tapir::tcp::test
