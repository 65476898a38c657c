// One TCP connection: the transmission control block and its state machine (RFC 9293 §3.3.2,
// §3.10), from SYN-SENT or SYN-RECEIVED to CLOSED or TIME-WAIT. The listener and the demux
// (the Stack) create connections and hand them segments; a connection never sees a segment of
// another 4-tuple and never owns the LISTEN state (a listener answers SYNs and creates one
// connection per accepted SYN, as Linux's request sockets do).
//
// A plain state machine with no clock and no I/O, driven in three ways:
//   on_segment(seg, payload, now)   a segment of this 4-tuple arrived (checksum already good);
//                                   runs RFC 9293 §3.10.7.4's checks in order
//   the user calls                  send, recv, shutdown_send, abort
//   poll(now)                       timers: retransmission, persist, delayed ACK, keep-alive,
//                                   TIME-WAIT, FIN-WAIT-2 and the user timeout
// and after each of them output(now, sink) sends what is due (ACKs, data, SYN, FIN, RST) as
// reprs; next_deadline() says when poll() must run next. take_events() tells the owner what
// changed for the user (readable, writable, closed) so it can fire wakers.
//
// The sink copies each segment's payload straight from the send buffer into the frame
// (copy_payload), so data is copied once on the way out, as it is on the way in (RecvBuffer).
//
// Buffers are allocated by the constructor and kept across reset(): a connection object is
// pooled and reused for connection after connection with no allocation.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "stack/base/bytes.hpp"
#include "stack/base/counters.hpp"
#include "stack/base/time.hpp"
#include "stack/tcp/congestion.hpp"
#include "stack/tcp/four_tuple.hpp"
#include "stack/tcp/options.hpp"
#include "stack/tcp/recv_buffer.hpp"
#include "stack/tcp/rtt.hpp"
#include "stack/tcp/send_buffer.hpp"
#include "stack/tcp/time_wait.hpp"
#include "stack/wire/seq_num.hpp"
#include "stack/wire/tcp.hpp"

namespace tapir::tcp {

// RFC 9293 §3.3.2.
enum class State : std::uint8_t {
  Closed,
  Listen,
  SynSent,
  SynReceived,
  Established,
  FinWait1,
  FinWait2,
  CloseWait,
  Closing,
  LastAck,
  TimeWait,
};
// "ESTABLISHED", "SYN-SENT", ... as RFC 9293 spells them.
std::string_view to_string(State s);

// Keep-alive (RFC 1122 §4.2.3.6), off unless asked for. Linux's defaults.
// RFC 5961 §7: answers to out-of-window segments, at most one this often per connection
// (Linux's tcp_invalid_ratelimit, 500 ms).
inline constexpr Duration kOutOfWindowAckInterval = std::chrono::milliseconds(500);

struct KeepAliveConfig {
  bool enabled = false;
  Duration idle = std::chrono::hours(2);         // tcp_keepalive_time
  Duration interval = std::chrono::seconds(75);  // tcp_keepalive_intvl
  unsigned probes = 9;                           // tcp_keepalive_probes
};

struct ConnectionConfig {
  RecvBufferConfig recv;
  SendBufferConfig send;  // smss is set from the negotiated MSS
  RttConfig rtt;
  bool sack = true;            // RFC 2018
  bool timestamps = true;      // RFC 7323 §3
  bool window_scaling = true;  // RFC 7323 §2
  // RFC 9293 §3.4.2: MSL. TIME-WAIT lasts 2 MSL; Linux's TIME-WAIT is 60 s.
  Duration msl = std::chrono::seconds(30);
  // RFC 1122 §4.2.3.2 / RFC 5681 §4.2: an ACK is delayed at most this long (Linux: 40 ms min).
  Duration delayed_ack = std::chrono::milliseconds(40);
  // Nagle's algorithm (RFC 9293 §3.7.4, RFC 1122 §4.2.3.4) unless no_delay.
  bool no_delay = false;
  // SYN (SYN-SENT) and SYN-ACK (SYN-RECEIVED) retransmissions before giving up (Linux's
  // tcp_syn_retries, tcp_synack_retries).
  unsigned syn_retries = 6;
  unsigned synack_retries = 5;
  // RFC 9293 §3.8.3 R2 / RFC 1122 §4.2.3.5: retransmissions of data before the connection is
  // dropped (Linux's tcp_retries2); also the zero-window probes in a row the peer may leave
  // unanswered (Linux's tcp_probe_timer uses tcp_retries2 too).
  unsigned max_retries = 15;
  // RFC 9293 §3.8.3 / RFC 5482: the user timeout, how long data may stay unacknowledged before
  // the connection is aborted, or a zero window stay shut from the first probe on (as Linux);
  // zero: off (max_retries alone decides).
  Duration user_timeout{0};
  // An orphaned connection (closed by the user) waits at most this long in FIN-WAIT-2 for the
  // peer's FIN (Linux's tcp_fin_timeout).
  Duration fin_wait2_timeout = std::chrono::seconds(60);
  KeepAliveConfig keep_alive;
};

struct ConnectionCounters {
  Counter rx_segments;           // segments handed to on_segment
  Counter rx_unacceptable;       // failed the sequence test (RFC 9293 §3.10.7.4 first check)
  Counter rx_paws_rejected;      // RFC 7323 §5.3 R1
  Counter rx_challenge_acks;     // RFC 5961 §3.2, §4.2: challenge ACKs sent
  Counter rx_rst;                // RSTs accepted
  Counter rx_bad_ack;            // ACKs of data never sent, or not acceptable in SYN states
  Counter rx_acks_rate_limited;  // answers to out-of-window segments not sent (RFC 5961 §7)
  Counter tx_segments;
  Counter tx_data_bytes;
  Counter tx_retransmits;       // segments sent again (timer, fast retransmit, SACK recovery)
  Counter tx_fast_retransmits;  // of those, by the third duplicate ACK or SACK (RFC 5681 §3.2)
  Counter tx_rto;               // retransmission timer expiries
  Counter tx_zero_window_probes;
  Counter tx_keepalives;
  Counter tx_rst;
  Counter timeouts;  // connections given up: retries, user timeout or keep-alive

  template <class F>
  void for_each_counter(F&& f) const {
    f("tcp.conn_rx_segments", rx_segments);
    f("tcp.rx_unacceptable", rx_unacceptable);
    f("tcp.rx_paws_rejected", rx_paws_rejected);
    f("tcp.rx_challenge_acks", rx_challenge_acks);
    f("tcp.rx_rst", rx_rst);
    f("tcp.rx_bad_ack", rx_bad_ack);
    f("tcp.rx_acks_rate_limited", rx_acks_rate_limited);
    f("tcp.conn_tx_segments", tx_segments);
    f("tcp.tx_data_bytes", tx_data_bytes);
    f("tcp.tx_retransmits", tx_retransmits);
    f("tcp.tx_fast_retransmits", tx_fast_retransmits);
    f("tcp.tx_rto", tx_rto);
    f("tcp.tx_zero_window_probes", tx_zero_window_probes);
    f("tcp.tx_keepalives", tx_keepalives);
    f("tcp.tx_rst", tx_rst);
    f("tcp.timeouts", timeouts);
  }
  // Adds every counter of other to this one (the stack's totals over its connections).
  void add(const ConnectionCounters& other);
};

// What changed for the user since the last take_events().
enum Event : std::uint8_t {
  kEventReadable = 1U << 0U,  // data, the FIN, or an error to read
  kEventWritable = 1U << 1U,  // send space, the connection established, or an error
  kEventClosed = 1U << 2U,    // reached CLOSED (or TIME-WAIT): the owner may free or park it
};

class Connection;

// Where a connection's segments go. The owner builds the IP datagram and copies the payload
// (seg.payload_len bytes, from conn.copy_payload) behind the TCP header.
class SegmentSink {
 public:
  virtual void send_segment(const Connection& conn, const wire::TcpRepr& seg) = 0;

 protected:
  ~SegmentSink() = default;
};

class Connection {
 public:
  // Allocates the buffers.
  explicit Connection(const ConnectionConfig& config);

  // Forgets the previous connection: CLOSED, empty buffers, counters kept. `config` must have
  // the buffer sizes of the constructor's (or the buffers are reallocated).
  void reset(const ConnectionConfig& config);

  // Active open (RFC 9293 §3.10.1): SYN-SENT; output() sends the SYN. `mtu` is the path MTU
  // to the peer (for the MSS we offer, RFC 9293 §3.7.1).
  void connect(const FourTuple& tuple, wire::SeqNum iss, std::size_t mtu, Instant now);
  // Passive open (RFC 9293 §3.10.7.2): a listener accepted `syn`; SYN-RECEIVED; output() sends
  // the SYN-ACK. The SYN must carry no RST and no ACK.
  void accept_syn(const FourTuple& tuple, const wire::TcpRepr& syn, wire::SeqNum iss,
                  std::size_t mtu, Instant now);
  // Passive open from a SYN cookie (RFC 4987 §3.6): the handshake's final ACK `ack` proved the
  // cookie; ESTABLISHED at once with what the cookie carried. `ack` (and its payload) is then
  // processed as in ESTABLISHED by the caller's on_segment.
  void accept_cookie(const FourTuple& tuple, const wire::TcpRepr& ack, wire::SeqNum iss,
                     wire::SeqNum irs, const Negotiated& negotiated, std::size_t mtu, Instant now);

  // A segment of this connection's 4-tuple.
  void on_segment(const wire::TcpRepr& seg, Bytes payload, Instant now);
  // Timers due at now.
  void poll(Instant now);
  // Sends everything due: an ACK owed now, data the windows allow, SYN, FIN, RST.
  void output(Instant now, SegmentSink& sink);
  // The earliest timer, or kNever. An ACK or data owed now makes it `now` of the last call.
  Instant next_deadline() const;
  // All output() would send now is a pure ACK (no data, SYN, FIN, RST or probe is due), so
  // the owner may let it wait for the end of a batch of segments.
  bool owes_only_ack() const {
    return ack_now_ && !output_due_ && !syn_pending_ && !rst_pending_ && !rst_reply_pending_ &&
           !probe_pending_;
  }
  // All output() would send now is what a synchronized connection sends in its steady state
  // (ACKs, data, window updates, probes): no SYN or RST is due, and no state change waits on
  // it. The owner may let it wait for the end of a batch of segments, so one output covers
  // every ACK of the batch (and on a TSO device, goes out in as few frames as it can).
  bool may_wait_for_batch() const {
    return !syn_pending_ && !rst_pending_ && !rst_reply_pending_ &&
           (state_ == State::Established || state_ == State::CloseWait);
  }

  // The user's side. send() appends what fits in the send buffer (0 when full, or when the
  // send side is shut down or the connection is not open); recv() takes readable bytes.
  std::size_t send(Bytes data);
  std::size_t recv(BytesMut out);
  // RFC 9293 §3.10.4 CLOSE for the send side: a FIN follows the queued data (FIN-WAIT-1 or
  // LAST-ACK); in SYN-SENT the connection simply closes.
  void shutdown_send(Instant now);
  // RFC 9293 §3.10.5 ABORT: a RST if synchronized, then CLOSED at once.
  void abort(Instant now);
  // The user let go of the connection (close() without abort): it still finishes its close,
  // with the FIN-WAIT-2 timeout applied (from now, if already in FIN-WAIT-2).
  void orphan(Instant now);
  bool orphaned() const { return orphaned_; }

  // Set by the owner before on_segment() of a passive open: its listener's accept queue is full.
  // Then the ACK that would complete the handshake in SYN-RECEIVED is dropped (with any data on
  // it) and the connection stays half-open, its SYN-ACK retransmitted on the timer, so the
  // peer's next ACK or data completes it once there is room -- as Linux with
  // tcp_abort_on_overflow = 0 (tcp_check_req). When the SYN-ACK retries run out the connection
  // closes without a RST, as Linux drops the request.
  void set_accept_queue_full(bool full) { accept_queue_full_ = full; }
  // Whether on_segment() dropped such an ACK since the last call (the owner counts it).
  bool take_handshake_held() { return std::exchange(handshake_held_, false); }

  // Options the user may change at any time.
  void set_no_delay(bool on) { config_.no_delay = on; }
  void set_keep_alive(const KeepAliveConfig& ka, Instant now);

  // The payload of a segment output() passed to the sink: up to out.size() bytes from seq.
  std::size_t copy_payload(wire::SeqNum seq, BytesMut out) const { return send_.peek(seq, out); }

  std::uint8_t take_events() { return std::exchange(events_, std::uint8_t{0}); }

  // In TIME-WAIT: what the stack's TimeWaitTable keeps of this connection, which then closes
  // (RFC 9293 §3.10.7.4; as Linux's inet_twsk, so the connection's buffers are free at once).
  TimeWaitEntry time_wait_entry() const;
  void hand_off_time_wait();

  // RFC 1191 / RFC 9293 §3.7.2: the path MTU fell; segments get smaller (never larger than the
  // MSS the peer offered).
  void on_path_mtu(std::size_t mtu);
  // RFC 1122 §4.2.3.9: an ICMP error that does not abort the connection (soft error). Kept and
  // reported if the connection later times out; in SYN-SENT, port/protocol unreachable is a
  // hard error as in Linux (connection refused).
  void on_icmp_error(std::error_code error, bool hard);

  State state() const { return state_; }
  const FourTuple& tuple() const { return tuple_; }
  // The connection is established or was: data can be read until the FIN.
  bool synchronized() const;
  // Readable bytes, and whether the peer's FIN is in (recv() returns 0 after the data).
  std::size_t readable() const { return recv_.readable(); }
  bool fin_received() const { return recv_.fin_received(); }
  // Free space in the send buffer; false once the send side is shut down.
  std::size_t send_space() const { return send_.free_space(); }
  bool send_shut() const { return fin_queued_; }
  std::size_t unsent() const { return send_.unsent(); }
  std::size_t in_flight() const { return send_.in_flight(); }
  // The error the connection closed with (connection_reset, connection_refused, timed_out),
  // or empty. A soft ICMP error is reported here only once the connection timed out.
  std::error_code error() const { return error_; }

  const Negotiated& negotiated() const { return negotiated_; }
  const RttEstimator& rtt() const { return rtt_; }
  const NewReno& congestion() const { return cc_; }
  const SendBuffer& send_buffer() const { return send_; }
  const RecvBuffer& recv_buffer() const { return recv_; }
  const ConnectionCounters& counters() const { return counters_; }
  const ConnectionConfig& config() const { return config_; }

  // The sequence variables (RFC 9293 §3.3.1), for tests and tracing.
  wire::SeqNum snd_una() const { return send_.una(); }
  wire::SeqNum snd_nxt() const;
  std::uint32_t snd_wnd() const { return snd_wnd_; }
  wire::SeqNum rcv_nxt() const { return recv_.rcv_nxt(); }
  wire::SeqNum iss() const { return iss_; }
  wire::SeqNum irs() const { return irs_; }
  // TS.Recent (RFC 7323 §4.3), when timestamps are on.
  std::uint32_t ts_recent() const { return ts_recent_; }

 private:
  Connection(const ConnectionConfig& config, SendBuffer&& send, RecvBuffer&& recv);

  void start(const FourTuple& tuple, wire::SeqNum iss, std::size_t mtu, Instant now);
  void take_syn(const wire::TcpRepr& syn, Instant now);
  void apply_negotiated();
  std::size_t effective_mss() const;
  wire::SeqNum snd_una_seq() const;  // SND.UNA counting the SYN and FIN
  std::size_t outstanding() const;   // SND.NXT - SND.UNA, SYN and FIN counted

  // Segment processing, §3.10.7.3 (SYN-SENT) and §3.10.7.4 (the rest).
  void on_segment_syn_sent(const wire::TcpRepr& seg, Bytes payload, Instant now);
  bool acceptable(const wire::TcpRepr& seg, std::size_t seg_len) const;
  void oow_ack(const wire::TcpRepr& seg, std::size_t payload_len, Instant now);
  bool process_ack(const wire::TcpRepr& seg, std::size_t payload_len, Instant now);
  void process_text(const wire::TcpRepr& seg, Bytes payload, Instant now);
  void handshake_rtt(const wire::TcpRepr& seg, Instant now);
  Duration ts_age(std::uint32_t tsecr, Instant now) const;
  void enter(State s, Instant now);
  void stop_timers();
  void close_with(std::error_code error);
  void time_out();

  // Loss recovery (RFC 5681 §3.2, RFC 6582, RFC 6675).
  void on_dup_ack(const AckResult& result, Instant now);
  void on_retransmit_timer(Instant now);

  // Output.
  void fill_common(wire::TcpRepr& seg, Instant now);
  void add_sacks(wire::TcpRepr& seg) const;
  void send_segment(SegmentSink& sink, wire::TcpRepr& seg, Instant now);
  void send_control(SegmentSink& sink, wire::SeqNum seq, bool fin, Instant now);
  std::size_t send_data(SegmentSink& sink, wire::SeqNum from, std::size_t len, bool with_fin,
                        Instant now);
  bool send_queue(SegmentSink& sink, Instant now);
  bool flush_fin(SegmentSink& sink, Instant now, bool sent);
  std::uint16_t window_to_advertise();
  bool nagle_allows(std::size_t len, std::size_t mss) const;
  void arm_rto(Instant now);
  void arm_persist(Instant now);

  ConnectionConfig config_;
  State state_ = State::Closed;
  FourTuple tuple_;
  std::size_t mtu_ = 1500;
  bool orphaned_ = false;
  bool accept_queue_full_ = false;  // set_accept_queue_full
  bool handshake_held_ = false;     // a handshake-completing ACK was dropped for it
  std::uint8_t events_ = 0;
  std::error_code error_;
  std::error_code soft_error_;

  // Sequence space (§3.3.1). SND.UNA and SND.NXT of the data live in send_ (from ISS + 1);
  // the SYN and FIN are tracked here.
  wire::SeqNum iss_{};
  wire::SeqNum irs_{};
  std::uint32_t snd_wnd_ = 0;  // SND.WND, scaled
  wire::SeqNum snd_wl1_{};
  wire::SeqNum snd_wl2_{};
  std::uint32_t max_snd_wnd_ = 0;
  bool syn_sent_ = false;    // our SYN (or SYN-ACK) went out at least once
  bool syn_acked_ = false;   // our SYN has been acknowledged
  bool fin_queued_ = false;  // the user shut the send side: a FIN follows the data
  bool fin_sent_ = false;
  bool fin_acked_ = false;
  bool fin_resend_ = false;  // the timer wants the FIN again
  wire::SeqNum fin_seq_{};   // our FIN's sequence number, once sent
  wire::SeqNum rcv_adv_{};   // the right edge last advertised (RCV.NXT + RCV.WND)
  wire::SeqNum last_ack_sent_{};
  std::uint16_t last_window_ = 0;  // the window field last sent
  wire::SeqNum snd_sml_{};         // the end of the last short segment sent (Minshall)
  std::size_t rcv_mss_ = 536;      // the largest segment received (capped at our MSS)
  wire::TcpRepr their_syn_;        // for the SYN-ACK's options

  SendBuffer send_;
  RecvBuffer recv_;
  RttEstimator rtt_;
  NewReno cc_;
  Negotiated negotiated_;
  LocalOptions local_;
  std::uint32_t ts_offset_ = 0;  // RFC 7323 §7.1: per connection, from the ISS
  std::uint32_t ts_recent_ = 0;
  Instant ts_recent_at_{};

  // What output() owes.
  bool output_due_ = false;  // data, a window or a FIN may be sendable
  bool ack_now_ = false;
  bool rst_pending_ = false;        // ABORT or giving up: <SEQ=SND.NXT><CTL=RST,ACK>
  bool rst_reply_pending_ = false;  // a bad ACK: <SEQ=SEG.ACK><CTL=RST>
  wire::SeqNum reset_reply_{};
  bool syn_pending_ = false;    // (re)send the SYN or SYN-ACK
  bool probe_pending_ = false;  // a zero-window probe or keep-alive
  unsigned quick_acks_ = 0;
  unsigned dup_acks_ = 0;
  bool limited_transmit_ = false;  // RFC 3042
  std::size_t limited_sent_ = 0;   // bytes limited transmit sent past cwnd since the last new ACK
  bool retransmit_una_ = false;    // fast retransmit / partial ACK: resend at SND.UNA
  bool partial_acked_ = false;
  std::optional<wire::SeqNum> rto_recover_;  // RFC 6582 §3.2 step 4 / RFC 6675 §5.1
  bool rto_retransmit_ = false;              // the timer fired: resend from SND.UNA (go back N)
  bool rto_repeated_ = false;                // the timer already resent the segment at SND.UNA
  wire::SeqNum rto_next_{};                  // where going back N has reached
  // The path MTU fell (on_path_mtu): the segments sent larger than the new MSS are resent, cut
  // to it, from pmtu_next_; pmtu_end_ ends the one being resent.
  bool pmtu_retransmit_ = false;
  wire::SeqNum pmtu_next_{};
  wire::SeqNum pmtu_end_{};

  // Timers (kNever when off).
  Instant rto_at_ = kNever;
  Instant delack_at_ = kNever;
  Instant persist_at_ = kNever;
  Instant keepalive_at_ = kNever;
  Instant close_at_ = kNever;  // TIME-WAIT's 2 MSL, or the orphan's FIN-WAIT-2 timeout
  Instant syn_sent_at_ = kNever;
  Instant last_oow_ack_ = kNever;  // the last rate-limited ACK (oow_ack)
  Instant progress_at_{};  // first send after idle, or the last ACK of new data (user timeout)
  Instant last_send_{};
  Instant last_recv_{};
  unsigned retries_ = 0;  // timer expiries since the last progress
  unsigned persist_backoff_ = 0;
  // Zero-window probes sent since the peer last acknowledged anything (Linux's
  // icsk_probes_out), and when the first probe of this stall went (icsk_probes_tstamp).
  unsigned persist_probes_ = 0;
  Instant persist_since_ = kNever;
  unsigned keepalive_probes_ = 0;
  Instant last_now_{};

  ConnectionCounters counters_;
};

}  // namespace tapir::tcp
