// What the tcp::Connection unit tests share: a SegmentSink that records every repr the
// connection sends (with its payload, copied through copy_payload as the Stack does), a manual
// clock, a scripted peer that builds the segments it sends, and helpers that bring one
// connection to each state of RFC 9293 §3.3.2, asserting every segment on the way.
//
// The scene, the same in every test:
//   us    10.0.0.1:40000, ISS 1000, MTU 1500 (MSS 1460), a 64 KiB receive buffer (so our
//         window scale is 1: 65536 >> 1 fits 16 bits) and a 64 KiB send buffer;
//   peer  10.0.0.2:80, ISS 5000, MSS 1460, window scale 7, SACK-permitted, timestamps
//         (Linux's SYN); it advertises 512 << 7 = 64 KiB.
// With timestamps on both sides the data per segment is 1460 - 12 = 1448 bytes.
// Time starts at 100 s; the handshake takes 10 ms, so the first RTT sample is 10 ms and the RTO
// floor (200 ms, RttConfig::min_rto) applies.
//
// Each test asserts the exact reply (every field of the repr, options included) or that
// nothing was sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "stack/tcp/connection.hpp"

namespace tapir::wire {

inline void PrintTo(SeqNum s, std::ostream* os) {
  *os << s.value();
}

inline void PrintTo(const TcpRepr& r, std::ostream* os) {
  *os << "{" << r.src_port << ">" << r.dst_port << " seq " << r.seq_number.value();
  if (r.ack_number) *os << " ack " << r.ack_number->value();
  *os << " [";
  if (r.syn) *os << "S";
  if (r.fin) *os << "F";
  if (r.rst) *os << "R";
  if (r.psh) *os << "P";
  if (r.ack_number) *os << ".";
  *os << "] win " << r.window_len;
  if (r.max_seg_size) *os << " mss " << *r.max_seg_size;
  if (r.window_scale) *os << " wscale " << unsigned{*r.window_scale};
  if (r.sack_permitted) *os << " sackOK";
  if (r.timestamps) *os << " TS " << r.timestamps->tsval << "/" << r.timestamps->tsecr;
  for (const auto& b : r.sacks())
    *os << " sack " << b.left.value() << ":" << b.right.value();
  *os << " len " << r.payload_len << "}";
}

}  // namespace tapir::wire

// Expects (asserts) that `action`, a call returning the segments sent, sent exactly the reprs
// listed after it (none: nothing sent). The action runs first, so expected reprs built with
// ours() see the clock and the peer's TSval as the action left them. A message may be streamed
// after it, as after EXPECT_EQ.
#define EXPECT_SENT(action, ...)                         \
  if (const auto sent_by_action = (action); false) {     \
  } else                                                 \
    EXPECT_EQ(::tapir::tcp::test::reprs(sent_by_action), \
              (std::vector<::tapir::wire::TcpRepr>{__VA_ARGS__}))
#define ASSERT_SENT(action, ...)                         \
  if (const auto sent_by_action = (action); false) {     \
  } else                                                 \
    ASSERT_EQ(::tapir::tcp::test::reprs(sent_by_action), \
              (std::vector<::tapir::wire::TcpRepr>{__VA_ARGS__}))

namespace tapir::tcp::test {

using namespace std::chrono_literals;
using wire::SackBlock;
using wire::SeqNum;
using wire::TcpRepr;
using wire::TcpTimestamps;

inline constexpr FourTuple kTuple{Ipv4Address(10, 0, 0, 1), 40000, Ipv4Address(10, 0, 0, 2), 80};
inline constexpr SeqNum kIss{1000};  // ours
inline constexpr SeqNum kIrs{5000};  // the peer's
inline constexpr std::size_t kMtu = 1500;
inline constexpr Instant kT0 = instant_from_micros(100'000'000);
inline constexpr std::uint32_t kPeerTs0 = 7'000'000;  // the peer's TSval at kT0 (1 ms a tick)
inline constexpr std::uint8_t kPeerWscale = 7;
inline constexpr std::uint16_t kPeerWindow = 512;  // << 7: 65536 bytes
inline constexpr std::size_t kMss = 1448;          // 1460 less the timestamps option
inline constexpr std::size_t kBuffer = 64 * 1024;

inline std::uint32_t u32(std::size_t n) {
  return static_cast<std::uint32_t>(n);
}

// A stream whose every byte depends on its position, so a byte from the wrong offset shows.
inline std::vector<std::byte> pattern(std::size_t n, std::size_t from = 0) {
  std::vector<std::byte> s(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = from + i;
    s[i] = static_cast<std::byte>(((k % 251U) * 7U + k / 251U) & 0xffU);
  }
  return s;
}

inline ConnectionConfig harness_config() {
  ConnectionConfig c;
  c.recv.capacity = kBuffer;
  c.send.capacity = kBuffer;
  return c;
}

// One segment the connection handed to the sink, with its payload.
struct Sent {
  TcpRepr seg;
  std::vector<std::byte> payload;
};

class CapturingSink final : public SegmentSink {
 public:
  void send_segment(const Connection& conn, const TcpRepr& seg) override {
    Sent s{seg, std::vector<std::byte>(seg.payload_len)};
    EXPECT_EQ(conn.copy_payload(seg.seq_number, s.payload), seg.payload_len);
    sent.push_back(std::move(s));
  }
  std::vector<Sent> take() { return std::exchange(sent, {}); }

  std::vector<Sent> sent;
};

inline std::vector<TcpRepr> reprs(const std::vector<Sent>& sent) {
  std::vector<TcpRepr> out;
  for (const auto& s : sent)
    out.push_back(s.seg);
  return out;
}

// The peer's SYN as Linux sends it: MSS 1460, SACK-permitted, timestamps, window scale 7.
struct PeerOptions {
  std::optional<std::uint16_t> mss = 1460;
  std::optional<std::uint8_t> wscale = kPeerWscale;
  bool sack = true;
  bool timestamps = true;
};

class ConnectionHarness : public ::testing::Test {
 protected:
  ConnectionHarness() : config_(harness_config()) {}

  Connection& conn() { return *conn_; }
  void make(const ConnectionConfig& config) {
    config_ = config;
    conn_ = std::make_unique<Connection>(config_);
  }
  void make() { make(config_); }

  // ---- Driving the connection ------------------------------------------------------------

  // output() at now; the segments sent.
  std::vector<Sent> output() {
    conn().output(now_, sink_);
    auto out = sink_.take();
    for (const auto& s : out)
      if (s.seg.timestamps) last_tsval_ = s.seg.timestamps->tsval;
    return out;
  }
  // A segment from the peer at now, then output().
  std::vector<Sent> receive(const TcpRepr& seg, Bytes payload = {}) {
    if (seg.timestamps) last_peer_tsval_ = seg.timestamps->tsval;
    conn().on_segment(seg, payload, now_);
    return output();
  }
  std::vector<Sent> receive(const TcpRepr& seg, const std::vector<std::byte>& payload) {
    return receive(seg, Bytes(payload));
  }
  // The clock moves to t; poll() and output() there.
  std::vector<Sent> advance_to(Instant t) {
    now_ = t;
    conn().poll(now_);
    return output();
  }
  std::vector<Sent> advance(Duration d) { return advance_to(now_ + d); }
  // The clock jumps to the connection's next deadline.
  std::vector<Sent> fire() {
    const Instant t = conn().next_deadline();
    EXPECT_NE(t, kNever);
    if (t == kNever) return {};
    return advance_to(t);
  }
  std::size_t send(std::size_t n, std::size_t from = 0) {
    const auto data = pattern(n, from);
    return conn().send(data);
  }
  std::vector<std::byte> read_all() {
    std::vector<std::byte> out(conn().readable());
    out.resize(conn().recv(out));
    return out;
  }

  // ---- Our segments, as expected ---------------------------------------------------------

  // Our TSval at t: the 1 ms clock plus the connection's offset, learnt from its first SYN.
  std::uint32_t our_tsval(Instant t) const { return ts_clock(t) + ts_offset_; }
  // An ACK-bearing segment from us at now, echoing the peer's last TSval when timestamps are
  // on. Flags and payload are the caller's.
  TcpRepr ours(SeqNum seq, SeqNum ack, std::uint16_t window) const {
    TcpRepr s;
    s.src_port = kTuple.local_port;
    s.dst_port = kTuple.remote_port;
    s.seq_number = seq;
    s.ack_number = ack;
    s.window_len = window;
    if (timestamps_) s.timestamps = TcpTimestamps{our_tsval(now_), last_peer_tsval_};
    return s;
  }
  TcpRepr ours_data(SeqNum seq, SeqNum ack, std::uint16_t window, std::size_t len, bool psh) const {
    TcpRepr s = ours(seq, ack, window);
    s.payload_len = len;
    s.psh = psh;
    return s;
  }
  TcpRepr ours_fin(SeqNum seq, SeqNum ack, std::uint16_t window) const {
    TcpRepr s = ours(seq, ack, window);
    s.fin = true;
    return s;
  }
  // RFC 9293 §3.10.7.3 / §3.10.7.4: <SEQ=SEG.ACK><CTL=RST>, no ACK, no options.
  static TcpRepr rst_reply(SeqNum seq) {
    TcpRepr s;
    s.src_port = kTuple.local_port;
    s.dst_port = kTuple.remote_port;
    s.seq_number = seq;
    s.rst = true;
    return s;
  }

  // ---- The peer's segments ---------------------------------------------------------------

  std::uint32_t peer_tsval() const {
    return kPeerTs0 + static_cast<std::uint32_t>((now_ - kT0) / 1ms);
  }
  // A segment from the peer at now: ACK if ack, the peer's timestamps (echoing our last TSval)
  // when they are on.
  TcpRepr peer(SeqNum seq, std::optional<SeqNum> ack, std::uint16_t window = kPeerWindow) const {
    TcpRepr s;
    s.src_port = kTuple.remote_port;
    s.dst_port = kTuple.local_port;
    s.seq_number = seq;
    s.ack_number = ack;
    s.window_len = window;
    if (peer_.timestamps) s.timestamps = TcpTimestamps{peer_tsval(), last_tsval_};
    return s;
  }
  // The peer's data segment (payload_len set; the bytes are the caller's).
  TcpRepr peer_data(SeqNum seq, SeqNum ack, std::size_t len,
                    std::uint16_t window = kPeerWindow) const {
    TcpRepr s = peer(seq, ack, window);
    s.payload_len = len;
    s.psh = true;
    return s;
  }
  TcpRepr peer_syn() const {
    TcpRepr s = peer(kIrs, std::nullopt, 65535);
    s.syn = true;
    s.max_seg_size = peer_.mss;
    s.window_scale = peer_.wscale;
    s.sack_permitted = peer_.sack;
    if (peer_.timestamps) s.timestamps = TcpTimestamps{peer_tsval(), 0};
    return s;
  }
  TcpRepr peer_syn_ack(SeqNum ack) const {
    TcpRepr s = peer_syn();
    s.ack_number = ack;
    if (peer_.timestamps) s.timestamps = TcpTimestamps{peer_tsval(), last_tsval_};
    return s;
  }

  // Our SYN or SYN-ACK as expected from the options negotiated (RFC 9293 §3.7.1, RFC 7323,
  // RFC 2018); for a SYN-ACK, `theirs` is the peer's SYN.
  TcpRepr our_syn() const {
    TcpRepr s;
    s.src_port = kTuple.local_port;
    s.dst_port = kTuple.remote_port;
    s.seq_number = kIss;
    s.syn = true;
    s.window_len = 65535;
    s.max_seg_size = 1460;
    s.window_scale = 1;
    s.sack_permitted = true;
    s.timestamps = TcpTimestamps{our_tsval(now_), 0};
    return s;
  }
  TcpRepr our_syn_ack(const TcpRepr& theirs) const {
    TcpRepr s = our_syn();
    s.ack_number = theirs.seq_number + 1;
    s.window_scale.reset();
    if (theirs.window_scale) s.window_scale = 1;
    s.sack_permitted = theirs.sack_permitted;
    s.timestamps.reset();
    if (theirs.timestamps) s.timestamps = TcpTimestamps{our_tsval(now_), theirs.timestamps->tsval};
    return s;
  }

  // ---- The states ------------------------------------------------------------------------

  // SYN-SENT: connect(); our SYN is out. The timestamp offset is learnt from it.
  void start_active(std::size_t mtu = kMtu) {
    if (!conn_) make();
    conn().connect(kTuple, kIss, mtu, now_);
    const auto out = output();
    ASSERT_EQ(out.size(), 1U);
    const TcpRepr& syn = out[0].seg;
    if (syn.timestamps) ts_offset_ = syn.timestamps->tsval - ts_clock(now_);
    ASSERT_TRUE(syn.syn);
    ASSERT_EQ(conn().state(), State::SynSent);
  }
  // SYN-RECEIVED: a listener accepted the peer's SYN; our SYN-ACK is out.
  void start_passive() {
    if (!conn_) make();
    their_syn_ = peer_syn();
    const TcpRepr& syn = their_syn_;
    if (syn.timestamps) last_peer_tsval_ = syn.timestamps->tsval;
    conn().accept_syn(kTuple, syn, kIss, kMtu, now_);
    const auto out = output();
    ASSERT_EQ(out.size(), 1U);
    const TcpRepr& syn_ack = out[0].seg;
    ASSERT_TRUE(syn_ack.syn && syn_ack.ack_number);
    if (syn_ack.timestamps) ts_offset_ = syn_ack.timestamps->tsval - ts_clock(now_);
    timestamps_ = syn_ack.timestamps.has_value();
    ASSERT_EQ(conn().state(), State::SynReceived);
  }
  // ESTABLISHED by an active open: SYN, 10 ms, the peer's SYN-ACK, our ACK.
  void establish_active() {
    ASSERT_NO_FATAL_FAILURE(start_active());
    now_ += 10ms;
    const auto out = receive(peer_syn_ack(kIss + 1));
    timestamps_ = peer_.timestamps && config_.timestamps;
    ASSERT_SENT(out, ours(kIss + 1, kIrs + 1, 32768));
    ASSERT_EQ(conn().state(), State::Established);
  }
  // ESTABLISHED by a passive open: SYN-ACK, 10 ms, the peer's ACK; nothing in reply.
  void establish_passive() {
    ASSERT_NO_FATAL_FAILURE(start_passive());
    now_ += 10ms;
    ASSERT_TRUE(receive(peer(kIrs + 1, kIss + 1)).empty());
    ASSERT_EQ(conn().state(), State::Established);
  }
  // The peer acknowledges everything we sent and has sent nothing more.
  std::vector<Sent> peer_acks_all(std::uint16_t window = kPeerWindow) {
    return receive(peer(peer_nxt_, conn().snd_nxt(), window));
  }
  // The 16 segments Linux's quick-ACK mode acknowledges at once (connection.cpp kQuickAcks):
  // 16 full segments from the peer, each acknowledged at once, then read, so that the
  // delayed-ACK rules apply to what follows. The receive window is open again afterwards
  // (reading 23168 bytes of a 64 KiB buffer moves the right edge by more than an MSS).
  void use_up_quick_acks() {
    for (int i = 0; i < 16; ++i) {
      const auto out = receive(peer_data(peer_nxt_, conn().snd_nxt(), kMss), pattern(kMss));
      ASSERT_EQ(out.size(), 1U) << "segment " << i;
      peer_nxt_ += u32(kMss);
    }
    ASSERT_EQ(read_all().size(), 16 * kMss);
    ASSERT_TRUE(output().empty());
  }
  // FIN-WAIT-1: established, the user shut the send side; our FIN is out.
  void to_fin_wait_1() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    conn().shutdown_send(now_);
    ASSERT_EQ(conn().state(), State::FinWait1);
    ASSERT_SENT(output(), ours_fin(kIss + 1, kIrs + 1, 32768));
  }
  // FIN-WAIT-2: the peer acknowledged our FIN; nothing in reply.
  void to_fin_wait_2() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_1());
    now_ += 10ms;
    ASSERT_TRUE(receive(peer(kIrs + 1, kIss + 2)).empty());
    ASSERT_EQ(conn().state(), State::FinWait2);
  }
  // CLOSE-WAIT: the peer's FIN arrived and was acknowledged at once. The FIN takes a sequence
  // number and no byte of the buffer: 65535 bytes from RCV.NXT = IRS + 2 reach the buffer's end,
  // 32767 << 1 (rounded down to the scale, never past what the buffer holds).
  void to_close_wait() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    now_ += 10ms;
    TcpRepr fin = peer(kIrs + 1, kIss + 1);
    fin.fin = true;
    ASSERT_SENT(receive(fin), ours(kIss + 1, kIrs + 2, 32767));
    peer_nxt_ = kIrs + 2;
    ASSERT_EQ(conn().state(), State::CloseWait);
  }
  // CLOSING: in FIN-WAIT-1 the peer's FIN crossed ours (simultaneous close, RFC 9293 §3.6
  // Figure 13); we acknowledged it.
  void to_closing() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_1());
    now_ += 5ms;
    TcpRepr fin = peer(kIrs + 1, kIss + 1);
    fin.fin = true;
    ASSERT_SENT(receive(fin), ours(kIss + 2, kIrs + 2, 32767));
    peer_nxt_ = kIrs + 2;
    ASSERT_EQ(conn().state(), State::Closing);
  }
  // LAST-ACK: in CLOSE-WAIT the user shut the send side; our FIN is out.
  void to_last_ack() {
    ASSERT_NO_FATAL_FAILURE(to_close_wait());
    now_ += 10ms;
    conn().shutdown_send(now_);
    ASSERT_EQ(conn().state(), State::LastAck);
    ASSERT_SENT(output(), ours_fin(kIss + 1, kIrs + 2, 32767));
  }
  // TIME-WAIT: in FIN-WAIT-2 the peer's FIN arrived; we acknowledged it.
  void to_time_wait() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_2());
    now_ += 10ms;
    TcpRepr fin = peer(kIrs + 1, kIss + 2);
    fin.fin = true;
    ASSERT_SENT(receive(fin), ours(kIss + 2, kIrs + 2, 32767));
    peer_nxt_ = kIrs + 2;
    ASSERT_EQ(conn().state(), State::TimeWait);
  }

  ConnectionConfig config_;
  std::unique_ptr<Connection> conn_;
  CapturingSink sink_;
  Instant now_ = kT0;
  PeerOptions peer_;
  bool timestamps_ = true;             // our segments carry timestamps (negotiated)
  std::uint32_t ts_offset_ = 0;        // our TSval - ts_clock(now)
  std::uint32_t last_tsval_ = 0;       // our last TSval sent: the peer echoes it
  std::uint32_t last_peer_tsval_ = 0;  // the peer's last TSval sent: we echo it
  SeqNum peer_nxt_ = kIrs + 1;         // the peer's next sequence number
  TcpRepr their_syn_;                  // the SYN start_passive() accepted
};

}  // namespace tapir::tcp::test
