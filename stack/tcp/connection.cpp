// The TCP state machine. Section numbers are RFC 9293's unless another RFC is named.
#include "stack/tcp/connection.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace tapir::tcp {

namespace {

using wire::SeqNum;

constexpr std::size_t kIpTcpHeaders = 40;  // IPv4 and TCP headers without options
// Linux's quick-ACK start: the first segments of a connection are acknowledged at once, so the
// peer's slow start is not held back by delayed ACKs.
constexpr unsigned kQuickAcks = 16;

std::error_code make_error(std::errc e) {
  return std::make_error_code(e);
}

}  // namespace

void ConnectionCounters::add(const ConnectionCounters& o) {
  rx_segments.inc(o.rx_segments.value());
  rx_unacceptable.inc(o.rx_unacceptable.value());
  rx_paws_rejected.inc(o.rx_paws_rejected.value());
  rx_challenge_acks.inc(o.rx_challenge_acks.value());
  rx_rst.inc(o.rx_rst.value());
  rx_bad_ack.inc(o.rx_bad_ack.value());
  rx_acks_rate_limited.inc(o.rx_acks_rate_limited.value());
  tx_segments.inc(o.tx_segments.value());
  tx_data_bytes.inc(o.tx_data_bytes.value());
  tx_retransmits.inc(o.tx_retransmits.value());
  tx_fast_retransmits.inc(o.tx_fast_retransmits.value());
  tx_rto.inc(o.tx_rto.value());
  tx_zero_window_probes.inc(o.tx_zero_window_probes.value());
  tx_keepalives.inc(o.tx_keepalives.value());
  tx_rst.inc(o.tx_rst.value());
  timeouts.inc(o.timeouts.value());
}

std::string_view to_string(State s) {
  switch (s) {
    case State::Closed:
      return "CLOSED";
    case State::Listen:
      return "LISTEN";
    case State::SynSent:
      return "SYN-SENT";
    case State::SynReceived:
      return "SYN-RECEIVED";
    case State::Established:
      return "ESTABLISHED";
    case State::FinWait1:
      return "FIN-WAIT-1";
    case State::FinWait2:
      return "FIN-WAIT-2";
    case State::CloseWait:
      return "CLOSE-WAIT";
    case State::Closing:
      return "CLOSING";
    case State::LastAck:
      return "LAST-ACK";
    case State::TimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

Connection::Connection(const ConnectionConfig& config)
    : config_(config),
      send_(config.send),
      recv_(config.recv),
      rtt_(config.rtt),
      cc_(config.send.smss) {}

Connection::Connection(const ConnectionConfig& config, SendBuffer&& send, RecvBuffer&& recv)
    : config_(config),
      send_(std::move(send)),
      recv_(std::move(recv)),
      rtt_(config.rtt),
      cc_(config.send.smss) {}

void Connection::reset(const ConnectionConfig& config) {
  const ConnectionCounters counters = counters_;
  const bool same_send = config.send.capacity == send_.config().capacity &&
                         config.send.max_segments == send_.config().max_segments;
  const bool same_recv = config.recv.capacity == recv_.config().capacity &&
                         config.recv.max_ranges == recv_.config().max_ranges;
  SendBuffer send = same_send ? std::move(send_) : SendBuffer(config.send);
  RecvBuffer recv = same_recv ? std::move(recv_) : RecvBuffer(config.recv);
  // Empty, as promised: the previous connection's bytes must not be readable (or counted) by the
  // next one before its handshake resets the buffers again.
  send.reset(wire::SeqNum{});
  recv.reset(wire::SeqNum{});
  *this = Connection(config, std::move(send), std::move(recv));
  counters_ = counters;
}

bool Connection::synchronized() const {
  switch (state_) {
    case State::Established:
    case State::FinWait1:
    case State::FinWait2:
    case State::CloseWait:
    case State::Closing:
    case State::LastAck:
    case State::TimeWait:
      return true;
    default:
      return false;
  }
}

SeqNum Connection::snd_nxt() const {
  if (fin_sent_) return fin_seq_ + 1;
  if (!syn_sent_) return iss_;
  return send_.nxt();
}

SeqNum Connection::snd_una_seq() const {
  if (!syn_acked_) return iss_;
  if (fin_acked_) return fin_seq_ + 1;
  return send_.una();
}

// ---------------------------------------------------------------------------------------------
// Opening.

void Connection::start(const FourTuple& tuple, SeqNum iss, std::size_t mtu, Instant now) {
  tuple_ = tuple;
  iss_ = iss;
  mtu_ = mtu;
  last_now_ = now;
  last_recv_ = now;
  send_.reset(iss + 1);
  snd_sml_ = iss + 1;
  recv_.reset(wire::SeqNum(0));  // nothing of a previous connection in this object is readable
  local_.mtu = mtu;
  local_.recv_buffer = recv_.config().capacity;
  local_.sack = config_.sack;
  local_.timestamps = config_.timestamps;
  local_.window_scaling = config_.window_scaling;
  // RFC 7323 §7.1: a per-connection timestamp offset, so TSvals do not reveal the uptime
  // (Linux's tsoffset); taken from the ISS, itself a keyed hash of the 4-tuple.
  ts_offset_ = iss.value() * 2654435761U;
}

void Connection::connect(const FourTuple& tuple, SeqNum iss, std::size_t mtu, Instant now) {
  start(tuple, iss, mtu, now);
  // §3.10.1: "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS, SND.NXT
  // to ISS+1, enter SYN-SENT state".
  state_ = State::SynSent;
  syn_pending_ = true;
}

void Connection::accept_syn(const FourTuple& tuple, const wire::TcpRepr& syn, SeqNum iss,
                            std::size_t mtu, Instant now) {
  start(tuple, iss, mtu, now);
  // §3.10.7.2, LISTEN, third check: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS
  // should be selected and a SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
  // SND.NXT is set to ISS+1 and SND.UNA to ISS. The connection state should be changed to
  // SYN-RECEIVED." Data on the SYN is not kept (no TCP Fast Open): the peer sends it again.
  their_syn_ = syn;
  take_syn(syn, now);
  state_ = State::SynReceived;
  syn_pending_ = true;
}

void Connection::accept_cookie(const FourTuple& tuple, const wire::TcpRepr& ack, SeqNum iss,
                               SeqNum irs, const Negotiated& negotiated, std::size_t mtu,
                               Instant now) {
  start(tuple, iss, mtu, now);
  ts_offset_ = 0;  // the cookie's SYN-ACK carried the bare clock (syn_cookie.hpp)
  irs_ = irs;
  recv_.reset(irs + 1);
  // The cookie's SYN-ACK advertised the buffer, at most 65535 unscaled (Stack::send_syn_cookie,
  // as our own SYN-ACK does): RCV.WND is that, so the peer's first flight is acceptable even out
  // of order, before any ACK of ours has advertised a window.
  rcv_adv_ = irs + 1 + static_cast<std::uint32_t>(std::min<std::size_t>(recv_.window(), 0xffff));
  last_ack_sent_ = irs + 1;
  negotiated_ = negotiated;
  apply_negotiated();
  if (negotiated_.timestamps && ack.timestamps) {
    ts_recent_ = ack.timestamps->tsval;
    ts_recent_at_ = now;
  }
  syn_sent_ = true;
  syn_acked_ = true;
  // RFC 4987 §3.6: the final ACK's window is the peer's, unscaled by our SYN-ACK's rules.
  snd_wnd_ = std::uint32_t{ack.window_len} << negotiated_.snd_wscale;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = ack.seq_number;
  snd_wl2_ = ack.ack_number.value_or(iss + 1);
  rtt_.on_handshake_complete();
  enter(State::Established, now);
  events_ |= kEventWritable;
}

void Connection::take_syn(const wire::TcpRepr& syn, Instant now) {
  irs_ = syn.seq_number;
  recv_.reset(irs_ + 1);
  rcv_adv_ = irs_ + 1;
  last_ack_sent_ = irs_ + 1;
  negotiated_ = negotiate(local_, syn);
  apply_negotiated();
  if (negotiated_.timestamps && syn.timestamps) {
    ts_recent_ = syn.timestamps->tsval;
    ts_recent_at_ = now;
  }
}

void Connection::apply_negotiated() {
  const std::size_t mss = effective_mss();
  send_.set_smss(mss);
  cc_ = NewReno(mss);
  rcv_mss_ = std::min<std::size_t>(local_mss(local_), 536);
}

// RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - TCPhdrsize - IPoptionsize, with
// the fixed options (timestamps) counted.
std::size_t Connection::effective_mss() const {
  const std::size_t path = mtu_ > kIpTcpHeaders ? mtu_ - kIpTcpHeaders : 1;
  const std::size_t options = negotiated_.timestamps ? kTimestampsOptionLen : 0;
  std::size_t mss = std::min<std::size_t>(negotiated_.send_mss, path);
  mss = mss > options ? mss - options : 1;
  return std::max<std::size_t>(mss, 1);
}

void Connection::on_path_mtu(std::size_t mtu) {
  if (mtu >= mtu_ || mtu < 68) return;
  mtu_ = mtu;
  send_.set_smss(effective_mss());
  // RFC 1191 §6.5: what was sent too large is retransmitted at once, smaller. As Linux's
  // tcp_simple_retransmit, that is not congestion (RFC 8201 §5.4 likewise): no back-off of the
  // RTO, cwnd and ssthresh left alone; only the segments larger than the new MSS go again, within
  // cwnd (send_queue). As Linux's CA_Loss with high_seq = SND.NXT, the old flight starts no fast
  // recovery. A timeout already going back N resends everything at the new size anyway.
  if (send_.in_flight() > 0 && synchronized() && !rto_retransmit_) {
    pmtu_retransmit_ = true;
    pmtu_next_ = pmtu_end_ = send_.una();
    if (!rto_recover_) rto_recover_ = send_.nxt();
    output_due_ = true;
  }
}

void Connection::on_icmp_error(std::error_code error, bool hard) {
  // RFC 1122 §4.2.3.9: soft errors are reported only if the connection times out; in SYN-SENT
  // Linux takes port and protocol unreachable as a refusal.
  if (hard && state_ == State::SynSent) {
    close_with(error);
    return;
  }
  soft_error_ = error;
}

TimeWaitEntry Connection::time_wait_entry() const {
  TimeWaitEntry e;
  e.tuple = tuple_;
  e.snd_nxt = snd_nxt();
  e.rcv_nxt = recv_.rcv_nxt();
  e.window = last_window_;
  e.timestamps = negotiated_.timestamps;
  e.ts_recent = ts_recent_;
  e.ts_recent_at = ts_recent_at_;
  e.ts_offset = ts_offset_;
  e.expiry = close_at_;
  return e;
}

void Connection::hand_off_time_wait() {
  if (state_ != State::TimeWait) return;
  ack_now_ = false;
  enter(State::Closed, last_now_);
}

void Connection::orphan(Instant now) {
  if (orphaned_) return;
  orphaned_ = true;
  // As Linux's tcp_close(): an orphan already in FIN-WAIT-2 gets the timeout now; entering
  // FIN-WAIT-2 later arms it then (enter()). Without it, a peer that never sends its FIN would
  // hold the connection forever (RFC 9293 §3.10.4 leaves FIN-WAIT-2 unbounded).
  if (state_ == State::FinWait2) close_at_ = now + config_.fin_wait2_timeout;
}

void Connection::set_keep_alive(const KeepAliveConfig& ka, Instant now) {
  config_.keep_alive = ka;
  keepalive_probes_ = 0;
  // §3.10.7.4: TIME-WAIT runs its own timer only ("turn off the other timers").
  keepalive_at_ =
      ka.enabled && synchronized() && state_ != State::TimeWait ? now + ka.idle : kNever;
}

// ---------------------------------------------------------------------------------------------
// The user's calls.

std::size_t Connection::send(Bytes data) {
  if (fin_queued_) return 0;
  switch (state_) {
    case State::SynSent:
    case State::SynReceived:
    case State::Established:
    case State::CloseWait:
      break;
    default:
      return 0;
  }
  const std::size_t n = send_.write(data);
  if (n > 0) output_due_ = true;
  return n;
}

std::size_t Connection::recv(BytesMut out) {
  const std::size_t n = recv_.read(out);
  // After the peer's FIN nothing more can arrive: no window update (as Linux's tcp_cleanup_rbuf
  // once RCV_SHUTDOWN is set), and none from TIME-WAIT, which only acknowledges a FIN again.
  if (n == 0 || !synchronized() || recv_.fin_received()) return n;
  // RFC 9293 §3.8.6.2.2 (receiver SWS avoidance) and RFC 1122 §4.2.3.3: a window update goes
  // out when reading moves the right edge by min(buffer / 2, MSS) past what was advertised.
  const SeqNum edge = recv_.rcv_nxt() + static_cast<std::uint32_t>(recv_.window());
  const std::size_t threshold = std::min(recv_.config().capacity / 2, rcv_mss_);
  if (edge - rcv_adv_ >= static_cast<std::int32_t>(threshold)) {
    // Only when the window advertised had become small: otherwise the next ACK carries it.
    const auto advertised = static_cast<std::size_t>(std::max(0, rcv_adv_ - recv_.rcv_nxt()));
    if (advertised < recv_.config().capacity / 2) ack_now_ = true;
  }
  return n;
}

void Connection::shutdown_send(Instant now) {
  last_now_ = now;
  if (fin_queued_) return;
  switch (state_) {
    case State::SynSent:
      // §3.10.4: "Delete the TCB and return 'error: closing' responses to any queued SENDs".
      enter(State::Closed, now);
      return;
    case State::SynReceived:
    case State::Established:
      fin_queued_ = true;
      output_due_ = true;
      // §3.10.4: in SYN-RECEIVED the FIN waits for the handshake; ESTABLISHED goes to FIN-WAIT-1
      // as soon as it is queued (the FIN itself follows the data).
      if (state_ == State::Established) enter(State::FinWait1, now);
      return;
    case State::CloseWait:
      fin_queued_ = true;
      output_due_ = true;
      enter(State::LastAck, now);
      return;
    default:
      return;
  }
}

void Connection::abort(Instant now) {
  last_now_ = now;
  // §3.10.5: SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT send a reset.
  switch (state_) {
    case State::SynReceived:
    case State::Established:
    case State::FinWait1:
    case State::FinWait2:
    case State::CloseWait:
      rst_pending_ = true;
      break;
    default:
      break;
  }
  enter(State::Closed, now);
}

// ---------------------------------------------------------------------------------------------
// State changes.

void Connection::enter(State s, Instant now) {
  if (s == state_) return;
  state_ = s;
  switch (s) {
    case State::Established:
      quick_acks_ = kQuickAcks;
      if (config_.keep_alive.enabled) keepalive_at_ = now + config_.keep_alive.idle;
      break;
    case State::FinWait2:
      if (orphaned_) close_at_ = now + config_.fin_wait2_timeout;
      break;
    case State::TimeWait:
      // §3.10.7.4: "Start the time-wait timer, turn off the other timers."
      stop_timers();
      close_at_ = now + 2 * config_.msl;
      ack_now_ = ack_now_ || false;
      events_ |= kEventClosed | kEventReadable | kEventWritable;
      break;
    case State::Closed:
      stop_timers();
      ack_now_ = false;
      syn_pending_ = false;
      output_due_ = false;
      events_ |= kEventClosed | kEventReadable | kEventWritable;
      break;
    default:
      break;
  }
}

void Connection::stop_timers() {
  rto_at_ = delack_at_ = persist_at_ = keepalive_at_ = close_at_ = kNever;
}

void Connection::close_with(std::error_code error) {
  error_ = error;
  enter(State::Closed, last_now_);
}

// ---------------------------------------------------------------------------------------------
// Segment arrival (§3.10.7).

void Connection::on_segment(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  last_now_ = now;
  counters_.rx_segments.inc();
  switch (state_) {
    case State::Closed:
    case State::Listen:
      return;  // the demux answers these (reset.hpp)
    case State::SynSent:
      on_segment_syn_sent(seg, payload, now);
      return;
    default:
      break;
  }

  const std::size_t seg_len = payload.size() + (seg.syn ? 1U : 0U) + (seg.fin ? 1U : 0U);

  // §3.10.7.4 SYN-RECEIVED: a retransmitted SYN (the handshake's SYN-ACK was lost) gets the
  // SYN-ACK again, as Linux does.
  if (state_ == State::SynReceived && seg.syn && !seg.ack_number && !seg.rst &&
      seg.seq_number == irs_) {
    syn_pending_ = true;
    return;
  }

  // RFC 7323 §5.3 R1 (PAWS): an old duplicate is dropped, and acknowledged unless a RST.
  if (negotiated_.timestamps && seg.timestamps &&
      paws_rejects(seg.timestamps->tsval, ts_recent_, ts_recent_at_, now, seg.rst)) {
    counters_.rx_paws_rejected.inc();
    oow_ack(seg, payload.size(), now);
    return;
  }

  // RFC 9293 §3.5 Figure 8, line 6 (simultaneous open): in SYN-RECEIVED the peer's SYN-ACK
  // <SEQ=IRS><ACK=ISS+1> completes the handshake, although its SYN lies left of RCV.NXT and so
  // fails the acceptability test below. Linux passes it too (tcp_validate_incoming) and
  // acknowledges it.
  if (state_ == State::SynReceived && seg.syn && seg.ack_number && !seg.rst && !seg.fin &&
      payload.empty() && seg.seq_number == irs_ && *seg.ack_number == snd_nxt()) {
    if (negotiated_.timestamps && seg.timestamps &&
        update_ts_recent(seg.timestamps->tsval, seg.seq_number, last_ack_sent_, ts_recent_,
                         ts_recent_at_, now)) {
      ts_recent_ = seg.timestamps->tsval;
      ts_recent_at_ = now;
    }
    if (process_ack(seg, 0, now)) ack_now_ = true;
    return;
  }

  // First: the sequence number (§3.10.7.4, the acceptability table).
  if (!acceptable(seg, seg_len)) {
    counters_.rx_unacceptable.inc();
    // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
    // (unless the RST bit is set, if so drop the segment and return)".
    if (!seg.rst) oow_ack(seg, payload.size(), now);
    // Eighth, TIME-WAIT: the remote FIN's retransmission -- left of RCV.NXT, so unacceptable --
    // "Acknowledge it, and restart the 2 MSL timeout" (Linux's tcp_timewait_state_process).
    if (state_ == State::TimeWait && seg.fin && !seg.rst) close_at_ = now + 2 * config_.msl;
    return;
  }

  // Second: RST (RFC 5961 §3.2). Only a RST at exactly RCV.NXT resets; one elsewhere in the
  // window gets a challenge ACK.
  if (seg.rst) {
    if (seg.seq_number != recv_.rcv_nxt()) {
      counters_.rx_challenge_acks.inc();
      oow_ack(seg, 0, now);
      return;
    }
    counters_.rx_rst.inc();
    switch (state_) {
      case State::SynReceived:
        // §3.10.7.4: a passive open returns to LISTEN; the listener is not ours, so this
        // embryonic connection just goes (the handle, if any, sees connection_refused).
        close_with(make_error(std::errc::connection_refused));
        return;
      case State::Established:
      case State::FinWait1:
      case State::FinWait2:
      case State::CloseWait:
        close_with(make_error(std::errc::connection_reset));
        return;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
        enter(State::Closed, now);
        return;
    }
  }

  // Third: security, nothing to check (no IP security compartments).

  // Fourth: SYN in a synchronized state (RFC 5961 §4.2): a challenge ACK, the segment dropped.
  if (seg.syn) {
    counters_.rx_challenge_acks.inc();
    oow_ack(seg, 0, now);
    return;
  }

  // RFC 7323 §4.3: TS.Recent, for a segment that passed the sequence test.
  if (negotiated_.timestamps && seg.timestamps &&
      update_ts_recent(seg.timestamps->tsval, seg.seq_number, last_ack_sent_, ts_recent_,
                       ts_recent_at_, now)) {
    ts_recent_ = seg.timestamps->tsval;
    ts_recent_at_ = now;
  }

  // Fifth: ACK. "if the ACK bit is off, drop the segment and return".
  if (!seg.ack_number) return;
  last_recv_ = now;
  keepalive_probes_ = 0;
  // §3.10.7.4: not in TIME-WAIT, whose only timer is the 2 MSL one.
  if (config_.keep_alive.enabled && state_ != State::TimeWait)
    keepalive_at_ = now + config_.keep_alive.idle;
  if (!process_ack(seg, payload.size(), now)) return;
  if (state_ == State::Closed) return;

  // Sixth: URG, ignored (RFC 6093: the urgent pointer is for compatibility only).
  // Seventh: the segment text, and eighth: FIN.
  process_text(seg, payload, now);
}

// An ACK in answer to a segment outside the window, a PAWS failure, a bad ACK, or a challenge
// ACK (RFC 5961 §3.2, §4.2, §5.2). RFC 5961 §7 asks that these be rate limited; as Linux's
// tcp_oow_rate_limited(), at most one per kOutOfWindowAckInterval per connection, except in
// answer to data, which cannot be part of an ACK loop.
void Connection::oow_ack(const wire::TcpRepr& seg, std::size_t payload_len, Instant now) {
  if (payload_len > 0 && !seg.syn) {
    ack_now_ = true;
    return;
  }
  if (last_oow_ack_ != kNever && now - last_oow_ack_ < kOutOfWindowAckInterval) {
    counters_.rx_acks_rate_limited.inc();
    return;
  }
  last_oow_ack_ = now;
  ack_now_ = true;
}

// §3.10.7.4 first check.
bool Connection::acceptable(const wire::TcpRepr& seg, std::size_t seg_len) const {
  const SeqNum rcv_nxt = recv_.rcv_nxt();
  const auto wnd = static_cast<std::uint32_t>(std::max(0, rcv_adv_ - rcv_nxt));
  const SeqNum seq = seg.seq_number;
  if (seg_len == 0) {
    // The table says RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (SEG.SEQ = RCV.NXT if RCV.WND is
    // zero). A sender that filled our window sends its ACKs at SEQ = SND.NXT = our right edge,
    // so that test rejects every ACK it sends until a retransmission gets through; when both
    // ends are in that spot, each rejected ACK is answered with one as unacceptable (an ACK
    // war). As Linux (tcp_sequence) and the zero-window rule, which is the same test, the
    // "special allowance ... to accept valid ACKs" takes the right edge itself.
    return rcv_nxt <= seq && seq <= rcv_nxt + wnd;
  }
  if (wnd == 0) {
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should be
    // made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT passes for its ACK (its
    // text then finds no room and is trimmed).
    return seq == rcv_nxt;
  }
  const SeqNum last = seq + static_cast<std::uint32_t>(seg_len - 1);
  // Linux also takes a segment that starts before RCV.NXT and reaches into the window (it
  // retransmits over what was acknowledged): the table's second test covers it.
  return (rcv_nxt <= seq && seq < rcv_nxt + wnd) || (rcv_nxt <= last && last < rcv_nxt + wnd);
}

void Connection::on_segment_syn_sent(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  // §3.10.7.3, first: the ACK bit.
  bool ack_ok = false;
  if (seg.ack_number) {
    const SeqNum ack = *seg.ack_number;
    // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set, if so
    // drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
    if (ack <= iss_ || ack > snd_nxt()) {
      counters_.rx_bad_ack.inc();
      if (!seg.rst) {
        reset_reply_ = *seg.ack_number;
        rst_reply_pending_ = true;
      }
      return;
    }
    ack_ok = true;  // SND.UNA < SEG.ACK =< SND.NXT
  }
  // Second: RST. RFC 5961 §3.2 for SYN-SENT: acceptable when the ACK acknowledges the SYN.
  if (seg.rst) {
    if (ack_ok) {
      counters_.rx_rst.inc();
      close_with(make_error(std::errc::connection_refused));
    }
    return;
  }
  // Fourth: SYN.
  if (!seg.syn) return;
  take_syn(seg, now);
  if (ack_ok) {
    // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
    // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
    syn_acked_ = true;
    handshake_rtt(seg, now);
    snd_wnd_ = seg.window_len;  // §3.10.7.3: SYN windows are never scaled (RFC 7323 §2.2)
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq_number;
    snd_wl2_ = *seg.ack_number;
    syn_pending_ = false;
    rto_at_ = kNever;
    retries_ = 0;
    enter(State::Established, now);
    events_ |= kEventWritable;
    ack_now_ = true;
    // "If there are other controls or text in the segment, continue processing at the sixth
    // step": data on a SYN-ACK is rare; it is taken.
    if (!payload.empty() || seg.fin) {
      wire::TcpRepr rest = seg;
      rest.syn = false;
      rest.seq_number = seg.seq_number + 1;
      process_text(rest, payload, now);
    }
    return;
  }
  // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
  // and send it" (simultaneous open, §3.5 Figure 8). The timer stays: our SYN is unacked.
  their_syn_ = seg;
  state_ = State::SynReceived;
  syn_pending_ = true;
}

void Connection::handshake_rtt(const wire::TcpRepr& seg, Instant now) {
  // RFC 6298 §3 (Karn): the handshake gives a sample only if the SYN was not retransmitted.
  if (retries_ == 0 && syn_sent_at_ != kNever) {
    rtt_.on_sample(now - syn_sent_at_);
  } else if (negotiated_.timestamps && seg.timestamps && seg.timestamps->tsecr != 0) {
    // RFC 7323 §4: the echo dates the SYN it answers, even a retransmitted one.
    rtt_.on_sample(ts_age(seg.timestamps->tsecr, now));
  }
  rtt_.on_handshake_complete();
}

Duration Connection::ts_age(std::uint32_t tsecr, Instant now) const {
  const std::uint32_t ticks = ts_clock(now) + ts_offset_ - tsecr;
  return std::chrono::milliseconds(ticks);
}

// §3.10.7.4 fifth check; false when the segment is to be dropped.
bool Connection::process_ack(const wire::TcpRepr& seg, std::size_t payload_len, Instant now) {
  const SeqNum ack = *seg.ack_number;
  const SeqNum una = snd_una_seq();
  const SeqNum nxt = snd_nxt();

  if (state_ == State::SynReceived) {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
    // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST> and send
    // it."
    if (!(una < ack && ack <= nxt)) {
      counters_.rx_bad_ack.inc();
      reset_reply_ = ack;
      rst_reply_pending_ = true;
      return false;
    }
    if (accept_queue_full_) {
      // No room in the listener's accept queue: as Linux's tcp_check_req with
      // tcp_abort_on_overflow = 0, the ACK (and any data on it) is dropped and the connection
      // stays in SYN-RECEIVED; its timer keeps retransmitting the SYN-ACK (RFC 9293 §3.8.1), so
      // the peer acknowledges again, and the handshake completes once the user made room.
      handshake_held_ = true;
      return false;
    }
    syn_acked_ = true;
    syn_pending_ = false;
    handshake_rtt(seg, now);
    rto_at_ = kNever;
    retries_ = 0;
    // RFC 7323 §2.2: the window of a SYN (the simultaneous open's SYN-ACK) is never scaled.
    snd_wnd_ = seg.syn ? seg.window_len : std::uint32_t{seg.window_len} << negotiated_.snd_wscale;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq_number;
    snd_wl2_ = ack;
    enter(State::Established, now);
    events_ |= kEventWritable;
    // A FIN queued before the handshake ended now goes.
    if (fin_queued_) enter(State::FinWait1, now);
    return true;
  }

  // RFC 5961 §5.2: an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] is dropped with an ACK.
  if (ack > nxt || ack < una - max_snd_wnd_) {
    counters_.rx_bad_ack.inc();
    oow_ack(seg, payload_len, now);
    return false;
  }
  if (ack < una) return true;  // "If the ACK is a duplicate (SEG.ACK < SND.UNA), it can be ignored"
  // RFC 1122 §4.2.2.17: the peer answers; the zero-window probes it leaves unanswered count
  // again from zero (as Linux's tcp_ack clears icsk_probes_out).
  persist_probes_ = 0;

  // Our FIN takes a sequence number but no byte of the send buffer.
  const bool acks_fin = fin_sent_ && ack == fin_seq_ + 1;
  const SeqNum data_ack = acks_fin ? fin_seq_ : ack;
  const std::uint32_t old_wnd = snd_wnd_;
  const std::uint32_t seg_wnd = std::uint32_t{seg.window_len} << negotiated_.snd_wscale;
  const bool dup_candidate =
      payload_len == 0 && !seg.syn && !seg.fin && seg_wnd == old_wnd && !acks_fin;
  const std::size_t flight_before = send_.in_flight();
  const bool was_recovering = send_.in_recovery();
  const auto sacks = negotiated_.sack ? seg.sacks() : gsl::span<const wire::SackBlock>{};
  const AckResult result = send_.on_ack(data_ack, sacks, now, dup_candidate);

  // The send window (§3.10.7.4: "If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =<
  // SEG.ACK), set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK").
  if (snd_wl1_ < seg.seq_number || (snd_wl1_ == seg.seq_number && snd_wl2_ <= ack)) {
    snd_wnd_ = seg_wnd;
    snd_wl1_ = seg.seq_number;
    snd_wl2_ = ack;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    if (snd_wnd_ > old_wnd) output_due_ = true;
  }

  // Our FIN counts as acknowledged before the timer is decided below: RFC 6298 §5.2, "when all
  // outstanding data has been acknowledged, turn off the retransmission timer".
  const bool fin_newly_acked = acks_fin && !fin_acked_;
  if (acks_fin) fin_acked_ = true;
  if (result.acked > 0 || fin_newly_acked) {
    // New data acknowledged.
    retries_ = 0;
    rto_repeated_ = false;
    progress_at_ = now;
    persist_backoff_ = 0;
    // RFC 7323 §4.1 / RFC 6298: an RTT sample from the timestamp echo, else from the timed
    // segment (Karn's rule applied by the send buffer).
    if (negotiated_.timestamps && seg.timestamps && seg.timestamps->tsecr != 0) {
      rtt_.on_sample(ts_age(seg.timestamps->tsecr, now));
    } else if (result.rtt) {
      rtt_.on_sample(*result.rtt);
    }
    dup_acks_ = 0;
    limited_sent_ = 0;
    if (rto_recover_ && send_.una() >= *rto_recover_) rto_recover_.reset();
    if (rto_next_ < send_.una()) rto_next_ = send_.una();
    if (was_recovering) {
      if (result.recovery_ended || !send_.in_recovery()) {
        // RFC 6582 §3.2 step 3 / RFC 6675 §5 (A): a full acknowledgment ends recovery.
        cc_.on_exit_recovery(send_.in_flight());
      } else if (!negotiated_.sack) {
        // RFC 6582 §3.2 step 3, partial acknowledgment: deflate, resend the next hole, and
        // reset the timer on the first one.
        cc_.on_partial_ack(result.acked);
        retransmit_una_ = true;
        if (!partial_acked_) {
          partial_acked_ = true;
          arm_rto(now);
        }
      }
    } else if (result.acked > 0) {
      AckedData a;
      a.bytes_acked = result.acked;
      a.flight_size = flight_before;
      a.srtt = rtt_.srtt();
      a.now = now;
      cc_.on_ack(a);
    }
    // RFC 6298 §5.2, §5.3: all acknowledged stops the timer; otherwise it restarts.
    if (outstanding() == 0) {
      rto_at_ = kNever;
    } else {
      arm_rto(now);
    }
    if (send_.free_space() > 0) events_ |= kEventWritable;
    output_due_ = true;
  } else if (result.status == AckStatus::Accepted && (result.duplicate || result.sack_duplicate)) {
    on_dup_ack(result, now);
  }

  if (fin_newly_acked) {
    switch (state_) {
      // FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
      case State::FinWait1:
        enter(State::FinWait2, now);
        break;
      // CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state".
      case State::Closing:
        enter(State::TimeWait, now);
        break;
      // LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state".
      case State::LastAck:
        enter(State::Closed, now);
        return false;
      default:
        break;
    }
  }
  return true;
}

// RFC 5681 §3.2 (with RFC 6582 for NewReno) and RFC 6675 §5 with SACK.
void Connection::on_dup_ack(const AckResult& result, Instant now) {
  ++dup_acks_;
  if (send_.in_recovery()) {
    // RFC 5681 §3.2 step 4: each further duplicate inflates cwnd (NewReno without SACK);
    // with SACK, RFC 6675's pipe accounts for it instead.
    if (!negotiated_.sack) cc_.on_dup_ack();
    output_due_ = true;
    return;
  }
  // RFC 6582 §3.2 step 4 / RFC 6675 §5.1: no new recovery until the point an RTO left is
  // acknowledged.
  if (rto_recover_) return;
  const bool lost = negotiated_.sack && send_.is_lost(send_.una());
  if (dup_acks_ < SendBuffer::dup_thresh && !lost) {
    // RFC 3042 limited transmit: a new segment for each of the first two duplicates.
    limited_transmit_ = true;
    output_due_ = true;
    return;
  }
  (void)result;
  // Enter loss recovery: RFC 5681 §3.2 steps 2-3, RFC 6675 §5 (4). Step 2: "When [RFC3042] is
  // in use, additional data sent in limited transmit MUST NOT be included in this calculation."
  const std::size_t flight = send_.in_flight();
  cc_.on_enter_recovery(flight - std::min(limited_sent_, flight), now, negotiated_.sack);
  limited_sent_ = 0;
  send_.begin_recovery();
  partial_acked_ = false;
  retransmit_una_ = true;
  counters_.tx_fast_retransmits.inc();
  output_due_ = true;
}

void Connection::process_text(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  switch (state_) {
    case State::Established:
    case State::FinWait1:
    case State::FinWait2:
      break;
    case State::TimeWait:
      // §3.10.7.4 eighth, TIME-WAIT: "Remain in the TIME-WAIT state. Restart the 2 MSL
      // time-wait timeout." A retransmitted FIN is acknowledged again.
      if (seg.fin) {
        close_at_ = now + 2 * config_.msl;
        ack_now_ = true;
      }
      return;
    default:
      // CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur since a FIN has been received
      // from the remote side. Ignore the segment text." A retransmitted FIN is acknowledged.
      if (seg.fin || !payload.empty()) ack_now_ = true;
      return;
  }
  if (payload.empty() && !seg.fin) return;
  // RFC 1122 §4.2.2.13: "if new data is received after CLOSE is called, its TCP SHOULD send a
  // RST to show that data was lost" -- the user let go, nobody will read it. As Linux
  // (tcp_rcv_state_process, TCPAbortOnData): <SEQ=SEG.ACK><CTL=RST>, and the connection is gone.
  if (orphaned_ && state_ != State::Established && !payload.empty() && seg.ack_number &&
      seg.seq_number + static_cast<std::uint32_t>(payload.size()) > recv_.rcv_nxt()) {
    reset_reply_ = *seg.ack_number;
    rst_reply_pending_ = true;
    close_with(make_error(std::errc::connection_reset));
    return;
  }
  const RecvOutcome out = recv_.write(seg.seq_number, payload, seg.fin);
  rcv_mss_ = std::max(rcv_mss_, std::min(payload.size(), std::size_t{local_mss(local_)}));
  if (out.readable > 0 || out.fin) events_ |= kEventReadable;
  if (out.ack_now() || out.dropped > 0 || out.fin) {
    ack_now_ = true;
  } else if (out.readable > 0) {
    // RFC 5681 §4.2 / RFC 1122 §4.2.3.2: delayed ACKs, at least every second full-sized
    // segment and never later than delayed_ack.
    if (quick_acks_ > 0) {
      --quick_acks_;
      ack_now_ = true;
    } else if (recv_.rcv_nxt() - last_ack_sent_ >= static_cast<std::int32_t>(2 * rcv_mss_)) {
      ack_now_ = true;
    } else if (delack_at_ == kNever) {
      delack_at_ = now + config_.delayed_ack;
    }
  }
  if (!out.fin) return;
  // Eighth: FIN. "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN".
  switch (state_) {
    case State::Established:
      enter(State::CloseWait, now);
      break;
    case State::FinWait1:
      // "If our FIN has been ACKed ... enter TIME-WAIT ... otherwise, enter the CLOSING state."
      enter(fin_acked_ ? State::TimeWait : State::Closing, now);
      break;
    case State::FinWait2:
      enter(State::TimeWait, now);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Timers.

Instant Connection::next_deadline() const {
  if (ack_now_ || output_due_ || syn_pending_ || rst_pending_ || rst_reply_pending_) {
    return last_now_;
  }
  Instant t = std::min({rto_at_, delack_at_, persist_at_, keepalive_at_, close_at_});
  if (config_.user_timeout.count() > 0 && outstanding() > 0 && synchronized()) {
    t = std::min(t, progress_at_ + config_.user_timeout);
  }
  // A timer already due at an earlier call (on_path_mtu's immediate retransmission, armed at
  // that call's now) is due at the last one: never report a deadline before the last now.
  return std::max(t, last_now_);
}

void Connection::arm_rto(Instant now) {
  rto_at_ = now + rtt_.rto();
}

void Connection::poll(Instant now) {
  last_now_ = now;
  if (state_ == State::Closed) return;
  if (close_at_ <= now) {
    close_at_ = kNever;
    if (state_ == State::TimeWait || state_ == State::FinWait2) {
      enter(State::Closed, now);
      return;
    }
  }
  // RFC 5482 / §3.8.3: the user timeout.
  if (config_.user_timeout.count() > 0 && outstanding() > 0 && synchronized() &&
      now - progress_at_ >= config_.user_timeout) {
    time_out();
    return;
  }
  if (delack_at_ <= now) {
    delack_at_ = kNever;
    ack_now_ = true;
  }
  if (rto_at_ <= now) {
    rto_at_ = kNever;
    on_retransmit_timer(now);
    if (state_ == State::Closed) return;
  }
  if (persist_at_ <= now) {
    persist_at_ = kNever;
    // RFC 1122 §4.2.2.17 / RFC 9293 §3.8.6.1: the connection stays open as long as the peer
    // answers the probes; as Linux's tcp_probe_timer, after max_retries probes in a row left
    // unanswered, or once the user timeout has passed since the first probe of this stall, the
    // peer is taken for dead (timed_out, as giving up on retransmissions).
    if (persist_since_ == kNever) {
      persist_since_ = now;
    } else if (config_.user_timeout.count() > 0 && now - persist_since_ >= config_.user_timeout) {
      time_out();
      return;
    }
    if (persist_probes_ >= config_.max_retries) {
      time_out();
      return;
    }
    probe_pending_ = true;
    counters_.tx_zero_window_probes.inc();
    ++persist_backoff_;
    ++persist_probes_;
  }
  if (keepalive_at_ <= now) {
    keepalive_at_ = kNever;
    if (config_.keep_alive.enabled && synchronized() &&
        (outstanding() > 0 || send_.unsent() > 0 || (fin_queued_ && !fin_sent_))) {
      // RFC 1122 §4.2.3.6: keep-alives are for an idle connection. With data (or the FIN) in
      // flight or waiting to go, the retransmission or persist timer watches the peer; as
      // Linux's tcp_keepalive_timer (packets_out or a send queue), look again after `idle`.
      keepalive_at_ = now + config_.keep_alive.idle;
    } else if (config_.keep_alive.enabled && synchronized()) {
      // RFC 1122 §4.2.3.6: after `probes` unanswered probes the connection is dead.
      if (keepalive_probes_ >= config_.keep_alive.probes) {
        time_out();
        return;
      }
      ++keepalive_probes_;
      probe_pending_ = true;
      counters_.tx_keepalives.inc();
      keepalive_at_ = now + config_.keep_alive.interval;
    }
  }
}

void Connection::time_out() {
  counters_.timeouts.inc();
  rst_pending_ = synchronized();
  close_with(soft_error_ ? soft_error_ : make_error(std::errc::timed_out));
}

// RFC 6298 §5.4-5.6, RFC 5681 §3.1, RFC 6582 §3.2 step 4.
void Connection::on_retransmit_timer(Instant /*now*/) {
  counters_.tx_rto.inc();
  ++retries_;
  if (state_ == State::SynSent || state_ == State::SynReceived) {
    const unsigned limit = state_ == State::SynSent ? config_.syn_retries : config_.synack_retries;
    if (retries_ > limit) {
      time_out();
      return;
    }
    syn_pending_ = true;
    rtt_.back_off();
    return;
  }
  if (outstanding() == 0) return;
  if (retries_ > config_.max_retries) {
    time_out();
    return;
  }
  const std::size_t flight = send_.in_flight();
  cc_.on_rto(flight, rto_repeated_ ? Timeout::Repeated : Timeout::First);
  rto_repeated_ = true;
  rto_recover_ = send_.on_rto();
  dup_acks_ = 0;
  limited_sent_ = 0;
  partial_acked_ = false;
  retransmit_una_ = false;
  // Go back N (RFC 5681 §3.1 after a timeout): everything unacknowledged is sent again, at the
  // pace the loss window allows.
  rto_next_ = send_.una();
  rto_retransmit_ = true;
  pmtu_retransmit_ = false;  // going back N resends all at the new MSS
  if (fin_sent_ && send_.una() == fin_seq_) fin_resend_ = true;
  rtt_.back_off();
  output_due_ = true;
}

// ---------------------------------------------------------------------------------------------
// Output.

std::size_t Connection::outstanding() const {
  return static_cast<std::size_t>(snd_nxt() - snd_una_seq());
}

void Connection::fill_common(wire::TcpRepr& seg, Instant now) {
  seg.src_port = tuple_.local_port;
  seg.dst_port = tuple_.remote_port;
  if (negotiated_.timestamps) {
    wire::TcpTimestamps ts;
    ts.tsval = ts_clock(now) + ts_offset_;
    ts.tsecr = ts_recent_;
    seg.timestamps = ts;
  }
}

// The window field of a segment (RFC 9293 §3.8.6.2.2, RFC 7323 §2.3), never moving the right
// edge left of the last one advertised.
std::uint16_t Connection::window_to_advertise() {
  const SeqNum rcv_nxt = recv_.rcv_nxt();
  const std::size_t avail = recv_.window();
  const std::uint8_t shift = negotiated_.rcv_wscale;
  SeqNum edge = rcv_nxt + static_cast<std::uint32_t>(avail);
  // RFC 9293 §3.8.6.2.2 (the right edge never moves left): in SYN-RECEIVED our SYN-ACK, whose
  // window is never scaled (RFC 7323 §2.2), may still be retransmitted, so an ACK sent meanwhile
  // offers no more than it does.
  if (state_ == State::SynReceived) edge = rcv_adv_;
  // Receiver SWS avoidance: the edge moves only by min(buffer / 2, MSS) at a time.
  const std::size_t step = std::min(recv_.config().capacity / 2, rcv_mss_);
  if (edge > rcv_adv_ && edge - rcv_adv_ < static_cast<std::int32_t>(step)) edge = rcv_adv_;
  if (edge < rcv_adv_) edge = rcv_adv_;  // never shrink (the buffer holds up to its edge)
  auto wnd = static_cast<std::uint32_t>(std::max(0, edge - rcv_nxt));
  std::uint32_t units = wnd >> shift;
  // Rounding down to the scale would move the edge left of rcv_adv_: round up instead, but only
  // as far as the buffer holds (RFC 9293 §3.8.6: never promise what cannot be stored; rounding
  // up past it let the edge creep further past the buffer with every odd-sized segment).
  // Otherwise the field retracts by less than 2^shift (RFC 7323 §2.4) while rcv_adv_, which the
  // acceptability test uses, stays: data up to it is still taken, and stored.
  const SeqNum storage = rcv_nxt + static_cast<std::uint32_t>(avail);
  if (rcv_nxt + (units << shift) < rcv_adv_ && rcv_nxt + ((units + 1) << shift) <= storage) {
    ++units;
  }
  units = std::min<std::uint32_t>(units, 0xffff);
  const SeqNum adv = rcv_nxt + (units << shift);
  if (adv > rcv_adv_) rcv_adv_ = adv;
  return static_cast<std::uint16_t>(units);
}

void Connection::send_segment(SegmentSink& sink, wire::TcpRepr& seg, Instant now) {
  if (seg.ack_number) {
    if (seg.syn) {
      // RFC 7323 §2.2: the SYN-ACK's window is not scaled. It offers a whole number of the
      // scale's units, so that the scaled windows after it can repeat its right edge exactly
      // instead of rounding past it (and then retreating when the SYN-ACK is retransmitted).
      const std::size_t unit_mask = (std::size_t{1} << negotiated_.rcv_wscale) - 1;
      seg.window_len =
          static_cast<std::uint16_t>(std::min<std::size_t>(recv_.window(), 0xffff) & ~unit_mask);
      rcv_adv_ = seq_max(rcv_adv_, recv_.rcv_nxt() + seg.window_len);
    } else {
      seg.window_len = window_to_advertise();
    }
    last_window_ = seg.window_len;
    last_ack_sent_ = *seg.ack_number;
    ack_now_ = false;
    delack_at_ = kNever;
  }
  counters_.tx_segments.inc();
  last_send_ = now;
  sink.send_segment(*this, seg);
}

void Connection::add_sacks(wire::TcpRepr& seg) const {
  if (!negotiated_.sack || recv_.ranges() == 0) return;
  // RFC 2018 §3: at most 4 blocks, 3 beside the timestamps option.
  const std::size_t max = negotiated_.timestamps ? 3 : 4;
  seg.sack_count = recv_.sack_blocks(gsl::span<wire::SackBlock>(seg.sack_blocks.data(), max));
}

void Connection::send_control(SegmentSink& sink, SeqNum seq, bool fin, Instant now) {
  wire::TcpRepr seg;
  fill_common(seg, now);
  seg.seq_number = seq;
  seg.ack_number = recv_.rcv_nxt();
  seg.fin = fin;
  add_sacks(seg);
  send_segment(sink, seg, now);
}

// Sends [from, from + len) of the send buffer; with_fin adds our FIN after it. Returns the bytes
// sent: fewer when SACK blocks take option space, and then without the FIN.
std::size_t Connection::send_data(SegmentSink& sink, SeqNum from, std::size_t len, bool with_fin,
                                  Instant now) {
  wire::TcpRepr seg;
  fill_common(seg, now);
  seg.seq_number = from;
  seg.ack_number = recv_.rcv_nxt();
  seg.payload_len = len;
  seg.fin = with_fin;
  // RFC 9293 §3.9.1 SEND: PSH on the last segment of what is queued, as Linux.
  seg.psh = from + static_cast<std::uint32_t>(len) ==
            send_.una() + static_cast<std::uint32_t>(send_.buffered());
  add_sacks(seg);
  // SACK blocks take option space: the payload shrinks so the segment still fits the path.
  const std::size_t room = mtu_ > 20 + seg.header_len() ? mtu_ - 20 - seg.header_len() : 1;
  if (seg.payload_len > room) {
    seg.payload_len = room;
    seg.fin = false;
    seg.psh = false;
  }
  counters_.tx_data_bytes.inc(seg.payload_len);
  if (seg.payload_len < send_.config().smss) {
    snd_sml_ = seq_max(snd_sml_, from + static_cast<std::uint32_t>(seg.payload_len));
  }
  send_segment(sink, seg, now);
  return seg.payload_len;
}

bool Connection::nagle_allows(std::size_t len, std::size_t mss) const {
  if (len >= mss) return true;
  // RFC 9293 §3.7.4 (Nagle) and §3.8.6.2.1 (sender SWS avoidance): a short segment goes only
  // if it is all there is and no short segment is unacknowledged (Minshall's variant, as
  // Linux's tcp_minshall_check: full segments in flight do not hold back the last piece of a
  // write, so a response of any length goes out whole), or no-delay is set, or it is at least
  // half the largest window the peer has offered. Once the send side is shut, nothing will come
  // to fill the segment: the tail goes at once, as Linux's tcp_send_fin pushes with
  // TCP_NAGLE_OFF.
  const bool small_unacked = snd_sml_ > send_.una();
  if (len == send_.unsent() && (config_.no_delay || fin_queued_ || !small_unacked)) return true;
  return max_snd_wnd_ > 0 && len >= max_snd_wnd_ / 2;
}

void Connection::output(Instant now, SegmentSink& sink) {
  last_now_ = now;
  output_due_ = false;
  if (rst_reply_pending_) {
    // §3.10.7.3 / §3.10.7.4: the reply to an unacceptable ACK, <SEQ=SEG.ACK><CTL=RST>.
    rst_reply_pending_ = false;
    wire::TcpRepr seg;
    seg.src_port = tuple_.local_port;
    seg.dst_port = tuple_.remote_port;
    seg.seq_number = reset_reply_;
    seg.rst = true;
    counters_.tx_rst.inc();
    counters_.tx_segments.inc();
    sink.send_segment(*this, seg);
  }
  if (rst_pending_) {
    // §3.10.5 ABORT, and giving up: <SEQ=SND.NXT><CTL=RST>, with ACK as Linux sends it; RFC
    // 7323 §3.2: the timestamps option "SHOULD be sent in an <RST> segment" (Linux's does).
    rst_pending_ = false;
    wire::TcpRepr seg;
    fill_common(seg, now);
    seg.seq_number = snd_nxt();
    seg.ack_number = recv_.rcv_nxt();
    seg.rst = true;
    counters_.tx_rst.inc();
    counters_.tx_segments.inc();
    sink.send_segment(*this, seg);
    return;
  }
  if (state_ == State::Closed) return;

  if (syn_pending_) {
    syn_pending_ = false;
    wire::TcpRepr seg;
    fill_common(seg, now);
    seg.seq_number = iss_;
    seg.syn = true;
    const std::uint32_t tsval = ts_clock(now) + ts_offset_;
    if (state_ == State::SynSent) {
      fill_syn_options(seg, local_, tsval);
      // Whole units of the scale we offer, as the SYN-ACK's window (send_segment): in a
      // simultaneous open our SYN-ACK then repeats this edge instead of retreating from it.
      const std::size_t unit_mask = (std::size_t{1} << local_window_scale(local_)) - 1;
      seg.window_len =
          static_cast<std::uint16_t>(std::min<std::size_t>(recv_.window(), 0xffff) & ~unit_mask);
      counters_.tx_segments.inc();
      sink.send_segment(*this, seg);
    } else {
      seg.ack_number = recv_.rcv_nxt();
      fill_syn_ack_options(seg, local_, their_syn_, tsval);
      send_segment(sink, seg, now);
    }
    if (retries_ > 0) counters_.tx_retransmits.inc();
    if (!syn_sent_) {
      syn_sent_ = true;
      syn_sent_at_ = now;
    } else {
      syn_sent_at_ = kNever;  // retransmitted: Karn, no sample
    }
    last_send_ = now;
    arm_rto(now);
    return;
  }
  if (state_ == State::SynSent || state_ == State::SynReceived) {
    if (ack_now_) {
      // An ACK owed in SYN-RECEIVED (e.g. to an unacceptable segment).
      if (state_ == State::SynReceived) send_control(sink, snd_nxt(), false, now);
      ack_now_ = false;
    }
    return;
  }

  // RFC 5482 §2 / RFC 9293 §3.8.3: the user timeout bounds how long transmitted data stays
  // unacknowledged, so it counts from the first transmission after an idle spell (later, from
  // each ACK of new data), not from an ACK long ago or from the epoch.
  const bool was_idle = outstanding() == 0;
  bool sent = send_queue(sink, now);
  if (!sent && probe_pending_ && send_.unsent() > 0 && snd_wnd_ > send_.in_flight()) {
    // RFC 9293 §3.8.6.2.1 (4): the override timeout -- the persist timer, or a keep-alive --
    // finding a window too small for SWS avoidance but not zero sends what it allows, min(D, U),
    // as Linux's tcp_write_wakeup does; only a zero window gets the bare probe below.
    const std::size_t len =
        std::min({send_.unsent(), snd_wnd_ - send_.in_flight(), send_.config().smss});
    const SeqNum from = send_.nxt();
    const bool with_fin = len == send_.unsent() && fin_queued_ && !fin_sent_;
    const std::size_t n = send_data(sink, from, len, with_fin, now);
    if (send_.mark_sent(from, n, now, false)) {
      if (with_fin && n == len) {
        fin_sent_ = true;
        fin_seq_ = send_.nxt();
      }
      if (rto_at_ == kNever) arm_rto(now);
    }
    sent = true;
  }
  if (was_idle && outstanding() > 0) progress_at_ = now;
  if (!sent && (ack_now_ || probe_pending_)) {
    if (probe_pending_) {
      // RFC 9293 §3.8.6.1 zero-window probe and RFC 1122 §4.2.3.6 keep-alive, both as Linux
      // sends them: an ACK carrying SND.UNA - 1, which the peer must answer with an ACK.
      send_control(sink, snd_una_seq() - 1, false, now);
    } else {
      send_control(sink, snd_nxt(), false, now);
    }
  }
  probe_pending_ = false;
  arm_persist(now);
}

// Sends retransmissions and new data as the windows allow; true if any segment went.
bool Connection::send_queue(SegmentSink& sink, Instant now) {
  switch (state_) {
    case State::Established:
    case State::CloseWait:
    case State::FinWait1:
    case State::Closing:
    case State::LastAck:
      break;
    default:
      return false;
  }
  const std::size_t mss = send_.config().smss;
  bool sent = false;
  // A retransmission that reaches SND.NXT carries our FIN again, as it did the first time (Linux
  // keeps the FIN on its last segment), rather than leaving the FIN to another timeout.
  const auto fin_rides = [&](SeqNum from, std::size_t len) {
    return fin_sent_ && !fin_acked_ && from + static_cast<std::uint32_t>(len) == send_.nxt();
  };
  // send_buffer.hpp: with the segment table full and its last record SACKed, mark_sent refuses
  // new data. So new data waits (an ACK frees records) rather than going out unrecorded, or
  // again and again: NextSeg would offer the same range forever.
  const auto table_refuses_new = [&] {
    return send_.segments_free() == 0 && send_.highest_sacked() == send_.nxt();
  };
  // Only what a segment really carried is recorded as sent (RFC 9293 §3.3.1: SND.NXT is the
  // next sequence number to be sent): send_data may carry less than asked.
  const auto send_range = [&](SeqNum from, std::size_t len, bool retransmission) {
    const std::size_t n = send_data(sink, from, len, retransmission && fin_rides(from, len), now);
    send_.mark_sent(from, n, now, retransmission);
    if (retransmission) counters_.tx_retransmits.inc();
    sent = true;
    if (rto_at_ == kNever) arm_rto(now);
    return n;
  };

  // A retransmission the recovery owes at SND.UNA (RFC 5681 §3.2 step 3, RFC 6582 partial ACK).
  if (retransmit_una_) {
    retransmit_una_ = false;
    const std::size_t len = std::min(mss, send_.in_flight());
    if (len > 0) send_range(send_.una(), len, true);
  }

  // After a timeout, go back N within cwnd (pipe: what was resent since the timeout).
  if (rto_retransmit_) {
    while (rto_next_ < send_.nxt()) {
      const auto pipe = static_cast<std::size_t>(rto_next_ - send_.una());
      if (pipe + mss > cc_.cwnd() && pipe > 0) break;
      const std::size_t len = std::min(mss, static_cast<std::size_t>(send_.nxt() - rto_next_));
      rto_next_ += static_cast<std::uint32_t>(send_range(rto_next_, len, true));
    }
    if (rto_next_ < send_.nxt()) return sent || flush_fin(sink, now, sent);
    rto_retransmit_ = false;
  }

  // After the path MTU fell (on_path_mtu): each segment sent larger than the MSS now is resent
  // in pieces of it, oldest first, within cwnd (pipe: what lies below the one being resent), as
  // Linux's tcp_simple_retransmit and tcp_xmit_retransmit_queue. Resending the segment at
  // SND.UNA restarts the timer at the RTO as it is (RFC 6298 §5.3), not backed off.
  if (pmtu_retransmit_) {
    for (;;) {
      if (pmtu_next_ < send_.una()) pmtu_next_ = send_.una();
      if (pmtu_next_ >= pmtu_end_) {
        const auto next = send_.next_longer_than(pmtu_next_, mss);
        if (!next) {
          pmtu_retransmit_ = false;
          break;
        }
        pmtu_next_ = next->first;
        pmtu_end_ = next->second;
      }
      const auto pipe = static_cast<std::size_t>(pmtu_next_ - send_.una());
      if (pipe + mss > cc_.cwnd() && pipe > 0) break;
      const bool head = pmtu_next_ == send_.una();
      const std::size_t len = std::min(mss, static_cast<std::size_t>(pmtu_end_ - pmtu_next_));
      pmtu_next_ += static_cast<std::uint32_t>(send_range(pmtu_next_, len, true));
      if (head) arm_rto(now);
    }
    if (pmtu_retransmit_) return sent;
  }

  // RFC 6675 §5 (C): during SACK recovery, NextSeg() while cwnd - pipe >= 1 SMSS.
  if (negotiated_.sack && send_.in_recovery()) {
    while (send_.pipe() + mss <= cc_.cwnd()) {
      const auto next = send_.next_seg(snd_wnd_);
      if (!next) break;
      const bool rexmit = next->rule != NextSegRule::New;
      if (!rexmit && table_refuses_new()) break;
      NextSeg done = *next;
      done.len =
          send_data(sink, next->from, next->len, rexmit && fin_rides(next->from, next->len), now);
      if (!send_.mark_sent(done, now)) break;
      if (rexmit) counters_.tx_retransmits.inc();
      sent = true;
      if (rto_at_ == kNever) arm_rto(now);
    }
    return flush_fin(sink, now, sent) || sent;
  }

  // New data (RFC 5681 §3.1): while SND.NXT - SND.UNA < min(cwnd, SND.WND).
  if (send_.in_flight() == 0 && send_.unsent() > 0) {
    cc_.on_idle_restart(now - last_send_, rtt_.rto());
  }
  const std::size_t normal_window = std::min<std::size_t>(cc_.cwnd(), snd_wnd_);
  std::size_t window = normal_window;
  if (limited_transmit_) {
    // RFC 3042: one segment past cwnd (not past the peer's window) per duplicate ACK.
    limited_transmit_ = false;
    window = std::min<std::size_t>(std::max(window, send_.in_flight() + mss), snd_wnd_);
  }
  while (send_.unsent() > 0) {
    const std::size_t flight = send_.in_flight();
    if (flight >= window) break;
    const std::size_t len = std::min({send_.unsent(), window - flight, mss});
    if (!nagle_allows(len, mss)) break;
    // The segment table full: mark_sent coalesces into the last record, or refuses (then wait).
    if (table_refuses_new()) break;
    const SeqNum from = send_.nxt();
    const bool last = len == send_.unsent();
    const bool with_fin = last && fin_queued_ && !fin_sent_;
    const std::size_t n = send_data(sink, from, len, with_fin, now);
    if (!send_.mark_sent(from, n, now, false)) break;
    // RFC 5681 §3.2 step 2: what limited transmit sent past cwnd is kept out of FlightSize.
    if (flight + n > normal_window) limited_sent_ += flight + n - std::max(flight, normal_window);
    if (with_fin && n == len) {
      fin_sent_ = true;
      fin_seq_ = send_.nxt();
    }
    sent = true;
    if (rto_at_ == kNever) arm_rto(now);
  }
  return flush_fin(sink, now, sent) || sent;
}

// Sends our FIN alone when all data is out and it has not gone (or the timer wants it again).
bool Connection::flush_fin(SegmentSink& sink, Instant now, bool sent) {
  (void)sent;
  if (!fin_queued_) return false;
  if (fin_sent_ && !fin_resend_) return false;
  if (fin_acked_) return false;
  if (send_.unsent() > 0) return false;
  if (rto_retransmit_ && rto_next_ < send_.nxt()) return false;
  if (!fin_sent_) {
    fin_sent_ = true;
    fin_seq_ = send_.nxt();
  } else {
    counters_.tx_retransmits.inc();
  }
  fin_resend_ = false;
  send_control(sink, fin_seq_, true, now);
  if (rto_at_ == kNever) arm_rto(now);
  return true;
}

void Connection::arm_persist(Instant now) {
  // RFC 9293 §3.8.6.1: with data to send, nothing in flight and no window (or too little to
  // send under SWS avoidance), the persist timer probes the window.
  const bool stalled =
      synchronized() && send_.unsent() > 0 && outstanding() == 0 && rto_at_ == kNever;
  if (!stalled) {
    // The stall is over (the window opened, or data or the FIN is out and the retransmission
    // timer covers it): the next one counts its probes afresh.
    persist_at_ = kNever;
    persist_probes_ = 0;
    persist_since_ = kNever;
    return;
  }
  if (persist_at_ != kNever) return;
  Duration d = rtt_.rto();
  for (unsigned i = 0; i < persist_backoff_ && d < rtt_.config().max_rto; ++i)
    d *= 2;
  persist_at_ = now + std::min(d, rtt_.config().max_rto);
  // As Linux's tcp_clamp_probe0_to_user_timeout: the probe timer fires no later than the user
  // timeout, counted from the first probe.
  if (config_.user_timeout.count() > 0 && persist_since_ != kNever) {
    persist_at_ = std::min(persist_at_, std::max(now, persist_since_ + config_.user_timeout));
  }
}

}  // namespace tapir::tcp
