// tcp::Connection, opening: the SYN and SYN-ACK with their options (RFC 9293 §3.7.1, RFC 7323,
// RFC 2018), SYN-SENT (§3.10.7.3), SYN-RECEIVED (§3.10.7.4), simultaneous open (§3.5 Figure 8),
// SYN and SYN-ACK retransmission with back-off and giving up (RFC 6298, Linux's
// tcp_syn_retries / tcp_synack_retries), and the RTO after the handshake (RFC 6298 §5.7).
#include <gtest/gtest.h>

#include "tests/unit/tcp/connection_harness.hpp"

namespace tapir::tcp::test {
namespace {

class TcpActiveOpen : public ConnectionHarness {};

// RFC 9293 §3.10.1: <SEQ=ISS><CTL=SYN>; §3.7.1: MSS = MTU - 40; RFC 7323 §2.2: our shift, 1
// for a 64 KiB buffer; RFC 2018 §2: SACK-permitted; RFC 7323 §3.2: TSecr 0 without ACK. RFC 7323
// §2.2: the SYN's window is unscaled, at most 65535. RFC 6298 §2.1: the timer at 1 s.
TEST_F(TcpActiveOpen, SynCarriesMssWindowScaleSackPermittedAndTimestamps) {
  make();
  conn().connect(kTuple, kIss, kMtu, now_);
  EXPECT_EQ(conn().state(), State::SynSent);
  const auto out = output();
  ASSERT_EQ(out.size(), 1U);
  ts_offset_ = out[0].seg.timestamps->tsval - ts_clock(now_);
  EXPECT_SENT(out, our_syn());
  EXPECT_EQ(conn().next_deadline(), now_ + 1s);
  EXPECT_EQ(conn().snd_nxt(), kIss + 1);
}

// RFC 9293 §3.7.1 / RFC 6691: the MSS offered is the MTU less the IPv4 and TCP headers.
TEST_F(TcpActiveOpen, SynMssFollowsTheMtu) {
  for (const auto& [mtu, mss] :
       {std::pair<std::size_t, std::uint16_t>{9000, 8960}, {1280, 1240}, {576, 536}}) {
    make();
    conn().connect(kTuple, kIss, mtu, now_);
    const auto out = output();
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].seg.max_seg_size, mss) << "MTU " << mtu;
  }
}

// RFC 7323 §2.3: the shift is the smallest that lets the buffer be advertised in 16 bits; the
// option goes even with shift 0 (as Linux sends wscale 0), and the SYN's window is the buffer,
// at most 65535.
TEST_F(TcpActiveOpen, SynWindowScaleAndWindowFollowTheBuffer) {
  for (const auto& [capacity, shift, window] :
       {std::tuple<std::size_t, std::uint8_t, std::uint16_t>{256 * 1024, 3, 65535},
        {16 * 1024, 0, 16384},
        {65535, 0, 65535},
        {65536, 1, 65535}}) {
    ConnectionConfig c = harness_config();
    c.recv.capacity = capacity;
    make(c);
    conn().connect(kTuple, kIss, kMtu, now_);
    const auto out = output();
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].seg.window_scale, shift) << capacity;
    EXPECT_EQ(out[0].seg.window_len, window) << capacity;
  }
}

// RFC 7323 §2.2, §3.2, RFC 2018 §2: options turned off are not offered; the MSS always is.
TEST_F(TcpActiveOpen, SynOffersOnlyWhatIsEnabled) {
  ConnectionConfig c = harness_config();
  c.sack = false;
  c.timestamps = false;
  c.window_scaling = false;
  make(c);
  conn().connect(kTuple, kIss, kMtu, now_);
  TcpRepr want = our_syn();
  want.window_scale.reset();
  want.sack_permitted = false;
  want.timestamps.reset();
  EXPECT_SENT(output(), want);
}

class TcpSynSent : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_active()); }
};

// RFC 9293 §3.10.7.3: an acceptable SYN-ACK: ESTABLISHED and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
// RFC 7323 §2.2: the SYN-ACK's window is not scaled; later windows are shifted by 7, ours by 1.
// RFC 6298 §2.2: the handshake's 10 ms is the first RTT sample (RTO floored at 200 ms).
TEST_F(TcpSynSent, SynAckEstablishesAndIsAcknowledged) {
  now_ += 10ms;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().snd_wnd(), 65535U);
  EXPECT_EQ(conn().rcv_nxt(), kIrs + 1);
  EXPECT_EQ(conn().irs(), kIrs);
  const Negotiated& n = conn().negotiated();
  EXPECT_EQ(n.send_mss, 1460);
  EXPECT_EQ(n.snd_wscale, 7);
  EXPECT_EQ(n.rcv_wscale, 1);
  EXPECT_TRUE(n.sack);
  EXPECT_TRUE(n.timestamps);
  EXPECT_EQ(conn().send_buffer().config().smss, kMss);
  EXPECT_EQ(conn().rtt().srtt(), Duration(10ms));
  EXPECT_EQ(conn().rtt().rto(), Duration(200ms));
  EXPECT_NE(conn().take_events() & kEventWritable, 0);
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 7323 §1.3, §2.2, §3.2 and RFC 2018 §2: a SYN-ACK without options turns them all off: our
// ACK has no timestamps and an unscaled window (65536 capped at 65535); RFC 9293 §3.7.1: the
// peer's MSS is the send MSS, 536 without the option (RFC 1122 §4.2.2.6).
TEST_F(TcpSynSent, SynAckWithoutOptionsNegotiatesNone) {
  peer_ = PeerOptions{std::nullopt, std::nullopt, false, false};
  now_ += 10ms;
  timestamps_ = false;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours(kIss + 1, kIrs + 1, 65535));
  EXPECT_EQ(conn().negotiated(), (Negotiated{536, 0, 0, false, false}));
  EXPECT_EQ(conn().send_buffer().config().smss, 536U);
}

// RFC 9293 §3.10.7.3, first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
// <SEQ=SEG.ACK><CTL=RST>" and stay in SYN-SENT.
TEST_F(TcpSynSent, BadAckGetsRstAtSegAck) {
  for (const SeqNum ack : {kIss, kIss - 1000, kIss + 2, kIss + 100000}) {
    EXPECT_SENT(receive(peer_syn_ack(ack)), rst_reply(ack)) << ack.value();
    TcpRepr plain = peer(kIrs, ack);
    EXPECT_SENT(receive(plain), rst_reply(ack)) << ack.value();
    EXPECT_EQ(conn().state(), State::SynSent);
  }
  EXPECT_EQ(conn().counters().rx_bad_ack.value(), 8U);
}

// RFC 9293 §3.10.7.3: "(unless the RST bit is set, if so drop the segment and return)".
TEST_F(TcpSynSent, BadAckWithRstIsDropped) {
  TcpRepr rst = peer(kIrs, kIss + 5);
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::SynSent);
}

// RFC 9293 §3.10.7.3, second, and RFC 5961 §3.2: a RST in SYN-SENT is acceptable only if its
// ACK acknowledges the SYN; then the connection is refused (ECONNREFUSED, as Linux reports it)
// and nothing is sent.
TEST_F(TcpSynSent, RstWithAcceptableAckRefusesTheConnection) {
  conn().take_events();
  TcpRepr rst = peer(SeqNum(0), kIss + 1, 0);
  rst.timestamps.reset();
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_refused));
  EXPECT_NE(conn().take_events() & kEventClosed, 0);
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 9293 §3.10.7.3, second: "If the ACK bit is off, drop the segment and return" -- a RST
// without ACK cannot prove it answers our SYN.
TEST_F(TcpSynSent, RstWithoutAckIsIgnored) {
  TcpRepr rst = peer(kIrs, std::nullopt, 0);
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::SynSent);
  EXPECT_FALSE(conn().error());
}

// RFC 9293 §3.10.7.3, fifth: "If neither of the SYN or RST bits is set, then drop the segment
// and return" -- even with an acceptable ACK.
TEST_F(TcpSynSent, AckWithoutSynIsDropped) {
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1)).empty());
  EXPECT_EQ(conn().state(), State::SynSent);
}

// RFC 6298 §5.4-5.5: the SYN is sent again at each expiry, the timer doubling (1, 2, 4 ... s);
// after tcp_syn_retries (6) retransmissions the next expiry gives up: CLOSED, timed_out, and no
// RST (the connection was never synchronized). These are Linux's instants: 1, 3, 7, 15, 31, 63 s,
// given up at 127 s.
TEST_F(TcpSynSent, SynRetransmittedWithBackoffThenTimesOut) {
  const Instant start = now_;
  Duration elapsed{0};
  for (int i = 0; i < 6; ++i) {
    elapsed += Duration(std::chrono::seconds(1 << i));
    EXPECT_EQ(conn().next_deadline(), start + elapsed) << i;
    EXPECT_SENT(fire(), our_syn()) << i;
  }
  EXPECT_EQ(conn().next_deadline(), start + 127s);
  EXPECT_TRUE(fire().empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
  EXPECT_EQ(conn().counters().tx_retransmits.value(), 6U);
  EXPECT_EQ(conn().counters().timeouts.value(), 1U);
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 6298 §3 (Karn) and §5.7: the SYN was retransmitted and no timestamp dates the SYN-ACK,
// so the handshake gives no sample and the RTO is re-initialised to 3 s.
TEST_F(TcpSynSent, HandshakeAfterRetransmittedSynSetsRtoToThreeSeconds) {
  EXPECT_EQ(fire().size(), 1U);
  now_ += 10ms;
  peer_.timestamps = false;
  timestamps_ = false;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_FALSE(conn().rtt().srtt());
  EXPECT_EQ(conn().rtt().rto(), Duration(3s));
}

// RFC 7323 §4.1: with timestamps the SYN-ACK's echo dates the SYN it answers, retransmitted or
// not: a 10 ms sample.
TEST_F(TcpSynSent, HandshakeAfterRetransmittedSynSamplesTheTimestampEcho) {
  EXPECT_EQ(fire().size(), 1U);
  now_ += 10ms;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().rtt().srtt(), Duration(10ms));
}

// RFC 9293 §3.5 Figure 8, simultaneous open: a SYN without ACK in SYN-SENT moves to SYN-RECEIVED
// with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, its options answering the peer's SYN (RFC 7323
// §2.2, §3.2, RFC 2018 §2); line 6: the peer's SYN-ACK then completes the handshake. Linux
// (tcp_validate_incoming, since 2024) accepts that SYN-ACK and acknowledges it.
TEST_F(TcpSynSent, SimultaneousOpenCompletesOnThePeersSynAck) {
  now_ += 5ms;
  const TcpRepr syn = peer_syn();
  EXPECT_SENT(receive(syn), our_syn_ack(syn));
  EXPECT_EQ(conn().state(), State::SynReceived);
  now_ += 5ms;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().state(), State::Established);
  // RFC 7323 §2.2: the SYN-ACK's window is not scaled.
  EXPECT_EQ(conn().snd_wnd(), 65535U);
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 9293 §3.5 Figure 8 with the peer's SYN-ACK lost: its ACK of our SYN-ACK completes the
// handshake as in a passive open.
TEST_F(TcpSynSent, SimultaneousOpenCompletesOnThePeersAck) {
  now_ += 5ms;
  EXPECT_EQ(receive(peer_syn()).size(), 1U);
  now_ += 5ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1)).empty());
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().snd_wnd(), 65536U);
}

// RFC 9293 §3.10.2 SEND in SYN-SENT: "Queue the data for transmission after entering
// ESTABLISHED state." It goes with the ACK of the SYN-ACK, as one segment.
TEST_F(TcpSynSent, DataQueuedBeforeTheHandshakeGoesWithItsAck) {
  ASSERT_EQ(send(100), 100U);
  EXPECT_TRUE(output().empty());
  now_ += 10ms;
  EXPECT_SENT(receive(peer_syn_ack(kIss + 1)), ours_data(kIss + 1, kIrs + 1, 32768, 100, true));
  EXPECT_EQ(conn().in_flight(), 100U);
}

// RFC 9293 §3.10.4 CLOSE in SYN-SENT: "Delete the TCB"; §3.10.5 ABORT in SYN-SENT: no reset.
TEST_F(TcpSynSent, CloseAndAbortSendNothing) {
  conn().shutdown_send(now_);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_TRUE(output().empty());
  make();
  ASSERT_NO_FATAL_FAILURE(start_active());
  conn().abort(now_);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_TRUE(output().empty());
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// RFC 1122 §4.2.3.9: ICMP port or protocol unreachable during SYN-SENT is taken as a refusal
// (as Linux); a soft error is kept for later.
TEST_F(TcpSynSent, HardIcmpErrorClosesSoftErrorDoesNot) {
  conn().on_icmp_error(std::make_error_code(std::errc::host_unreachable), false);
  EXPECT_EQ(conn().state(), State::SynSent);
  EXPECT_FALSE(conn().error());
  conn().on_icmp_error(std::make_error_code(std::errc::connection_refused), true);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_refused));
  EXPECT_TRUE(output().empty());
}

// RFC 1122 §4.2.3.9 / RFC 9293 §3.8.3: a soft error is what a handshake that times out reports.
TEST_F(TcpSynSent, TimeoutReportsTheSoftError) {
  conn().on_icmp_error(std::make_error_code(std::errc::host_unreachable), false);
  for (int i = 0; i < 7; ++i)
    fire();
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::host_unreachable));
}

// reset() forgets the connection -- CLOSED, empty buffers, a new handshake from scratch -- and
// keeps the counters (a pooled connection object is reused).
TEST_F(TcpSynSent, ResetForgetsTheConnectionButKeepsTheCounters) {
  ASSERT_EQ(send(100), 100U);
  now_ += 10ms;
  EXPECT_EQ(receive(peer_syn_ack(kIss + 1)).size(), 1U);
  EXPECT_EQ(receive(peer_data(kIrs + 1, kIss + 1, 50), pattern(50)).size(), 1U);  // left unread
  const auto segments = conn().counters().tx_segments.value();
  conn().reset(config_);
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().unsent() + conn().in_flight() + conn().readable(), 0U);
  EXPECT_EQ(conn().counters().tx_segments.value(), segments);
  EXPECT_EQ(conn().next_deadline(), kNever);
  ASSERT_NO_FATAL_FAILURE(start_active());
  EXPECT_EQ(conn().snd_nxt(), kIss + 1);
  std::vector<std::byte> buf(100);
  EXPECT_EQ(conn().recv(buf), 0U);  // nothing of the previous connection's stream
}

class TcpPassiveOpen : public ConnectionHarness {};

// RFC 9293 §3.10.7.2: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; MSS from our MTU (RFC 9293 §3.7.1),
// window scale, SACK-permitted and timestamps only as the SYN offered them (RFC 7323 §1.3, §2.2,
// §3.2; RFC 2018 §2), TSecr echoing the SYN's TSval.
TEST_F(TcpPassiveOpen, SynAckAnswersTheOptionsOffered) {
  const PeerOptions cases[] = {
      {1460, kPeerWscale, true, true},   {std::nullopt, std::nullopt, false, false},
      {1460, std::nullopt, false, true}, {1460, 2, true, false},
      {536, 14, false, false},
  };
  for (const PeerOptions& p : cases) {
    peer_ = p;
    make();
    const TcpRepr syn = peer_syn();
    conn().accept_syn(kTuple, syn, kIss, kMtu, now_);
    EXPECT_EQ(conn().state(), State::SynReceived);
    const auto out = output();
    ASSERT_EQ(out.size(), 1U);
    if (out[0].seg.timestamps) ts_offset_ = out[0].seg.timestamps->tsval - ts_clock(now_);
    EXPECT_SENT(out, our_syn_ack(syn));
  }
}

// RFC 9293 §3.7.1: Eff.snd.MSS is the peer's MSS less the timestamps option; ours stays 1460.
TEST_F(TcpPassiveOpen, SmallPeerMssLimitsOurSegmentsNotOurOffer) {
  peer_.mss = 536;
  make();
  const TcpRepr syn = peer_syn();
  conn().accept_syn(kTuple, syn, kIss, kMtu, now_);
  const auto out = output();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].seg.max_seg_size, 1460);
  EXPECT_EQ(conn().send_buffer().config().smss, 524U);
}

// RFC 4987 §3.6: a SYN-cookie handshake's final ACK establishes the connection at once with what
// the cookie carried; nothing answers a pure ACK, and the window is the ACK's, scaled. The first
// flight is acceptable even out of order: RCV.WND is what the cookie's SYN-ACK advertised
// (65535), so the segment past a hole gets a duplicate ACK with its SACK block, not a drop.
TEST_F(TcpPassiveOpen, SynCookieAckEstablishesAtOnce) {
  make();
  now_ += 10ms;
  const TcpRepr ack = peer(kIrs + 1, kIss + 1);
  conn().accept_cookie(kTuple, ack, kIss, kIrs, Negotiated{1460, kPeerWscale, 1, true, true}, kMtu,
                       now_);
  last_peer_tsval_ = ack.timestamps->tsval;
  EXPECT_TRUE(receive(ack).empty());
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().snd_wnd(), 65536U);
  EXPECT_EQ(conn().send_buffer().config().smss, kMss);
  ts_offset_ = 0;  // the cookie's TSval is the bare clock (syn_cookie.hpp)
  const auto data = pattern(100);
  TcpRepr want = ours(kIss + 1, kIrs + 1, 32768);
  want.sack_count = 1;
  want.sack_blocks[0] = SackBlock{kIrs + 1 + 1448, kIrs + 1 + 1548};
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 1448, kIss + 1, 100), data), want);
  EXPECT_EQ(conn().recv_buffer().out_of_order_bytes(), 100U);
}

class TcpSynReceived : public ConnectionHarness {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_passive()); }
};

// RFC 9293 §3.10.7.4 SYN-RECEIVED, fifth: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
// ESTABLISHED state"; a pure ACK gets no reply. RFC 7323 §2.3: its window is scaled (<< 7).
TEST_F(TcpSynReceived, AckMovesToEstablished) {
  conn().take_events();
  now_ += 10ms;
  EXPECT_TRUE(receive(peer(kIrs + 1, kIss + 1)).empty());
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(conn().snd_wnd(), 65536U);
  EXPECT_NE(conn().take_events() & kEventWritable, 0);
  EXPECT_EQ(conn().rtt().srtt(), Duration(10ms));
  EXPECT_EQ(conn().next_deadline(), kNever);
}

// Linux (tcp_check_req): a retransmitted SYN -- the SYN-ACK was lost -- gets the SYN-ACK again,
// with a fresh TSval; TSecr still echoes the first SYN (Linux's request socket keeps its
// ts_recent for a pure retransmitted SYN).
TEST_F(TcpSynReceived, RetransmittedSynGetsSynAckAgain) {
  now_ += 300ms;
  TcpRepr again = peer_syn();
  EXPECT_SENT(receive(again), our_syn_ack(their_syn_));
  EXPECT_EQ(conn().state(), State::SynReceived);
}

// RFC 6298 §5.5 and Linux's tcp_synack_retries (5): the SYN-ACK at 1, 3, 7, 15, 31 s; given up
// at 63 s, silently (the connection never synchronized; Linux drops its request socket).
TEST_F(TcpSynReceived, SynAckRetransmittedWithBackoffThenTimesOut) {
  const Instant start = now_;
  Duration elapsed{0};
  for (int i = 0; i < 5; ++i) {
    elapsed += Duration(std::chrono::seconds(1 << i));
    EXPECT_EQ(conn().next_deadline(), start + elapsed) << i;
    EXPECT_SENT(fire(), our_syn_ack(their_syn_)) << i;
  }
  EXPECT_EQ(conn().next_deadline(), start + 63s);
  EXPECT_TRUE(fire().empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::timed_out));
}

// RFC 9293 §3.10.7.4 SYN-RECEIVED, fifth: "If the segment acknowledgment is not acceptable, form
// a reset segment <SEQ=SEG.ACK><CTL=RST> and send it"; the connection stays.
TEST_F(TcpSynReceived, BadAckGetsRstAtSegAck) {
  for (const SeqNum ack : {kIss, kIss + 2, kIss - 7}) {
    EXPECT_SENT(receive(peer(kIrs + 1, ack)), rst_reply(ack));
    EXPECT_EQ(conn().state(), State::SynReceived);
  }
}

// RFC 9293 §3.10.7.4 SYN-RECEIVED, second, with RFC 5961 §3.2: a RST at exactly RCV.NXT ends the
// embryonic connection (the listener, not this connection, is in LISTEN); silence.
TEST_F(TcpSynReceived, RstAtRcvNxtCloses) {
  TcpRepr rst = peer(kIrs + 1, std::nullopt, 0);
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::Closed);
  EXPECT_EQ(conn().error(), std::make_error_code(std::errc::connection_refused));
}

// RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. The SYN-ACK advertised 65535; rounded up to the scale
// (RFC 7323 §2.3, never moving the right edge left) the window field is 32768.
TEST_F(TcpSynReceived, RstInWindowGetsChallengeAck) {
  TcpRepr rst = peer(kIrs + 100, std::nullopt, 0);
  rst.rst = true;
  EXPECT_SENT(receive(rst), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().state(), State::SynReceived);
  EXPECT_EQ(conn().counters().rx_challenge_acks.value(), 1U);
}

// RFC 9293 §3.10.7.4, first: an unacceptable segment gets an ACK, unless it is a RST.
TEST_F(TcpSynReceived, UnacceptableSegmentGetsAckButUnacceptableRstNothing) {
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1 + 70000, kIss + 1, 100), data),
              ours(kIss + 1, kIrs + 1, 32768));
  TcpRepr rst = peer(kIrs + 1 + 70000, std::nullopt, 0);
  rst.rst = true;
  EXPECT_TRUE(receive(rst).empty());
  EXPECT_EQ(conn().state(), State::SynReceived);
}

// RFC 9293 §3.10.7.4: the handshake's ACK may carry data: ESTABLISHED, the data taken and (Linux's
// quick-ACK start) acknowledged at once. The edge advertised by the SYN-ACK (IRS + 1 + 65535)
// stays put: 65435 bytes, rounded up to the scale, 32718 << 1.
TEST_F(TcpSynReceived, DataOnTheHandshakeAckIsTaken) {
  now_ += 10ms;
  const auto data = pattern(100);
  EXPECT_SENT(receive(peer_data(kIrs + 1, kIss + 1, 100), data), ours(kIss + 1, kIrs + 101, 32718));
  EXPECT_EQ(conn().state(), State::Established);
  EXPECT_EQ(read_all(), data);
}

// RFC 9293 §3.10.7.4, eighth: a FIN with the handshake's ACK: ESTABLISHED, then CLOSE-WAIT, the
// FIN acknowledged. The FIN takes the sequence number IRS + 1 and the edge the SYN-ACK advertised
// stays at IRS + 1 + 65535: 65534 bytes, 32767 << 1.
TEST_F(TcpSynReceived, FinOnTheHandshakeAckMovesToCloseWait) {
  now_ += 10ms;
  TcpRepr fin = peer(kIrs + 1, kIss + 1);
  fin.fin = true;
  EXPECT_SENT(receive(fin), ours(kIss + 1, kIrs + 2, 32767));
  EXPECT_EQ(conn().state(), State::CloseWait);
  EXPECT_TRUE(conn().fin_received());
}

// RFC 9293 §3.10.4 CLOSE in SYN-RECEIVED: "If no SENDs have been issued and there is no pending
// data to send, then form a FIN segment and send it" -- once the handshake is done, as Linux
// does (the FIN waits for ESTABLISHED, then FIN-WAIT-1).
TEST_F(TcpSynReceived, CloseSendsFinOnceEstablished) {
  conn().shutdown_send(now_);
  EXPECT_TRUE(output().empty());
  EXPECT_EQ(conn().state(), State::SynReceived);
  now_ += 10ms;
  EXPECT_SENT(receive(peer(kIrs + 1, kIss + 1)), ours_fin(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().state(), State::FinWait1);
}

// RFC 9293 §3.10.5 ABORT in SYN-RECEIVED: "a reset segment should be sent"
// <SEQ=SND.NXT><CTL=RST>, with ACK as Linux sends it (and, RFC 7323 §3.2, the timestamps).
TEST_F(TcpSynReceived, AbortSendsRst) {
  conn().abort(now_);
  TcpRepr want = ours(kIss + 1, kIrs + 1, 0);
  want.rst = true;
  EXPECT_SENT(output(), want);
  EXPECT_EQ(conn().state(), State::Closed);
}

// RFC 9293 §3.10.7.4 fourth and RFC 5961 §4.2: a SYN in the window (not the retransmitted one)
// gets a challenge ACK and is dropped. (RFC 9293 would return a passive connection to LISTEN;
// Linux's request socket answers with a RST. The challenge ACK is the conservative choice: a
// blind attacker cannot end the handshake with it.)
TEST_F(TcpSynReceived, OtherSynInWindowGetsChallengeAck) {
  TcpRepr syn = peer_syn();
  syn.seq_number = kIrs + 10;
  EXPECT_SENT(receive(syn), ours(kIss + 1, kIrs + 1, 32768));
  EXPECT_EQ(conn().state(), State::SynReceived);
}

}  // namespace
}  // namespace tapir::tcp::test
