// One tcp::Connection under arbitrary segments, user calls and time, from each state of RFC 9293's
// diagram. The fuzz target plays the peer and the owner (what the Stack does: output after every
// segment and user call, poll when a deadline comes).
//
// Input:
//   [u8 start] [u8 variant] op*
// start % 9 picks the state reached first by a fixed script of reprs: SYN-SENT, SYN-RECEIVED,
// ESTABLISHED (data in flight, data received and unread), FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT,
// CLOSING, LAST-ACK, TIME-WAIT. variant: bits 0-1 the open (passive, active, SYN cookie,
// simultaneous; SYN-SENT is always active), bit 2 timestamps, bit 3 SACK, bit 4 window scaling
// (the peer's shift 7), bit 5 the peer's MSS 536 instead of 1460, bit 6 a 128 KiB receive buffer
// (our shift 2) instead of 8 KiB, bit 7 a quick give-up (user timeout 20 s, 4 retries).
// Each op is an opcode byte and its operands (see run_op): a segment with fields near RCV.NXT,
// SND.UNA, SND.NXT and fuzzer-chosen offsets, flags, window, options (MSS, window scale,
// SACK-permitted, SACK blocks, timestamps) and payload (the peer's pattern); a well-formed
// segment of a cooperative peer; time passing (timers fire at their deadlines, as a runner would
// fire them); send, recv, shutdown, abort; poll; keep-alive, orphan, path MTU, ICMP errors.
//
// Invariants, checked after every step and on every segment emitted (abort on violation):
//  - state changes follow RFC 9293's diagram (a table per kind of step), CLOSED is final, a
//    segment closes a connection only with RST (or the ACK of our FIN in LAST-ACK), a timer only
//    by giving up (an error), TIME-WAIT's 2 MSL or an orphan's FIN-WAIT-2 timeout;
//  - SND.UNA <= SND.NXT; SND.NXT is where the segments emitted reached (the highest byte carried,
//    the FIN once carried); SND.UNA, SND.NXT and RCV.NXT never move back; the send buffer holds
//    exactly what the user wrote since SND.UNA, the receive side exactly what arrived since IRS
//    (read, readable, FIN);
//  - one output() emits a bounded burst (it never loops);
//  - every emitted segment: our ports; re-parses from its own bytes to the same repr; a payload
//    within the send buffer [SND.UNA, SND.UNA + buffered), no longer than the effective MSS, the
//    peer's MSS and the path MTU, equal to what the user wrote there, new data within SND.WND;
//    SYN only in SYN-SENT/SYN-RECEIVED at ISS, FIN only after all data at one sequence number;
//    ACK = RCV.NXT, never moving back; the advertised right edge never moves left and the
//    window never exceeds the receive buffer; SACK blocks above RCV.NXT and inside the buffer;
//    timestamps iff negotiated, TSval never moving back; SYN options only on SYNs;
//  - nothing but a RST is emitted in CLOSED, and a RST is never answered with a RST; reading
//    after the peer's FIN sends no window update;
//  - next_deadline() is never before the last `now` the connection saw, and after poll(now) and
//    output(now) it is after now; CLOSED has no deadline (so the owner can free it), and a
//    connection with anything to send or acknowledge (data, SYN, FIN) or in TIME-WAIT, or an
//    orphan in FIN-WAIT-2, always has one (it cannot hang);
//  - the buffers stay within their fixed sizes (bytes, segment records, out-of-order ranges);
//  - every byte recv() returns is the peer's pattern at its sequence number.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "fuzz/fuzz_input.hpp"
#include "stack/tcp/connection.hpp"
#include "stack/tcp/options.hpp"
#include "stack/wire/tcp.hpp"

using namespace tapir;
using tapir::fuzz::FuzzInput;
using tcp::State;
using wire::SeqNum;
using wire::TcpRepr;
using namespace std::chrono_literals;

namespace {

constexpr tcp::FourTuple kTuple{Ipv4Address(10, 0, 0, 2), 80, Ipv4Address(10, 0, 0, 1), 40000};
constexpr std::size_t kMtu = 1500;
// Close below 2^32, so the sequence space wraps within the first buffers' worth of data.
constexpr SeqNum kIss(0xfffff000U);
constexpr SeqNum kPeerIss(0xffffff00U);
constexpr Instant kStart = instant_from_micros(1'000'000'000);

// The byte at sequence number s of each direction's stream.
std::byte our_byte(SeqNum s) {
  const std::uint32_t x = s.value() * 2654435761U;
  return static_cast<std::byte>((x >> 24U) ^ (x >> 9U));
}
std::byte peer_byte(SeqNum s) {
  const std::uint32_t x = (s.value() ^ 0x5bd1e995U) * 0x9e3779b1U;
  return static_cast<std::byte>((x >> 23U) ^ x);
}

// FUZZ_TRACE=1 in the environment prints every step: for following one input by hand.
bool tracing() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

void trace_segment(const char* dir, Instant now, const TcpRepr& s) {
  if (!tracing()) return;
  std::fprintf(stderr, "%10lld %s seq=%u", static_cast<long long>(to_micros(now) / 1000), dir,
               s.seq_number.value());
  if (s.ack_number) std::fprintf(stderr, " ack=%u", s.ack_number->value());
  std::fprintf(stderr, " %s%s%s%s win=%u len=%zu", s.syn ? "S" : "", s.fin ? "F" : "",
               s.rst ? "R" : "", s.psh ? "P" : "", s.window_len, s.payload_len);
  if (s.timestamps) std::fprintf(stderr, " ts=%u/%u", s.timestamps->tsval, s.timestamps->tsecr);
  for (const auto& b : s.sacks())
    std::fprintf(stderr, " sack=%u-%u", b.left.value(), b.right.value());
  std::fprintf(stderr, "\n");
}

constexpr std::uint16_t bit(State s) {
  return static_cast<std::uint16_t>(1U << static_cast<unsigned>(s));
}

// What a step may do to the state.
enum class Step : std::uint8_t { Open, Segment, Recv, Shutdown, Abort, Timer, Icmp, Other };

// RFC 9293 §3.3.2 Figure 5, per kind of step. One segment may take several arcs at once (an ACK
// carrying a FIN takes SYN-RECEIVED to ESTABLISHED and on to CLOSE-WAIT; with a FIN queued in
// SYN-RECEIVED, to FIN-WAIT-1 and on to CLOSING); user calls and timers take one.
std::uint16_t allowed(Step step, State from) {
  using S = State;
  switch (step) {
    case Step::Open:
      // §3.10.1 OPEN, §3.10.7.2 (a listener's SYN), RFC 4987 §3.6 (a SYN cookie's ACK).
      return from == S::Closed ? bit(S::SynSent) | bit(S::SynReceived) | bit(S::Established) : 0;
    case Step::Segment:
      switch (from) {
        case S::SynSent:
          return bit(S::SynReceived) | bit(S::Established) | bit(S::CloseWait) | bit(S::Closed);
        case S::SynReceived:
          return bit(S::Established) | bit(S::FinWait1) | bit(S::CloseWait) | bit(S::Closing) |
                 bit(S::Closed);
        case S::Established:
          return bit(S::CloseWait) | bit(S::Closed);
        case S::FinWait1:
          return bit(S::FinWait2) | bit(S::Closing) | bit(S::TimeWait) | bit(S::Closed);
        case S::FinWait2:
          return bit(S::TimeWait) | bit(S::Closed);
        case S::CloseWait:
          return bit(S::Closed);
        case S::Closing:
          return bit(S::TimeWait) | bit(S::Closed);
        case S::LastAck:
          return bit(S::Closed);
        case S::TimeWait:
          return bit(S::Closed);
        default:
          return 0;
      }
    case Step::Shutdown:
      // §3.10.4 CLOSE (SYN-RECEIVED queues the FIN until ESTABLISHED).
      switch (from) {
        case S::SynSent:
          return bit(S::Closed);
        case S::Established:
          return bit(S::FinWait1);
        case S::CloseWait:
          return bit(S::LastAck);
        default:
          return 0;
      }
    case Step::Abort:
      return bit(S::Closed);  // §3.10.5 ABORT
    case Step::Timer:
      return from == S::Closed ? 0 : bit(S::Closed);
    case Step::Icmp:
      return from == S::SynSent ? bit(S::Closed) : 0;
    case Step::Recv:
    case Step::Other:
      return 0;
  }
  return 0;
}

struct Variant {
  State target = State::Established;
  unsigned open = 0;  // 0 passive, 1 active, 2 SYN cookie, 3 simultaneous
  bool timestamps = false;
  bool sack = false;
  bool window_scaling = false;
  bool small_mss = false;
  bool big_buffer = false;
  bool quick_give_up = false;
};

constexpr std::array<State, 9> kStartStates = {
    State::SynSent,   State::SynReceived, State::Established, State::FinWait1, State::FinWait2,
    State::CloseWait, State::Closing,     State::LastAck,     State::TimeWait,
};

tcp::ConnectionConfig make_config(const Variant& v) {
  tcp::ConnectionConfig c;
  c.recv.capacity = v.big_buffer ? 128 * 1024 : 8 * 1024;
  c.recv.max_ranges = 4;
  c.send.capacity = 8 * 1024;
  c.send.max_segments = 8;
  c.sack = true;
  c.timestamps = true;
  c.window_scaling = true;
  if (v.quick_give_up) {
    c.user_timeout = 20s;
    c.max_retries = 4;
    c.syn_retries = 2;
    c.synack_retries = 2;
  }
  return c;
}

class Harness final : public tcp::SegmentSink {
 public:
  explicit Harness(const Variant& v)
      : variant_(v), config_(make_config(v)), conn_(config_), payload_(kMaxPayload) {}

  // ---- The script to the starting state ------------------------------------------------------

  void open() {
    const Variant& v = variant_;
    if (v.target == State::SynSent) {
      active_open();
      return;
    }
    if (v.target == State::SynReceived) {
      if (v.open == 3) {
        simultaneous_open();
      } else {
        passive_open();
      }
      return;
    }
    switch (v.open) {
      case 0:
        passive_open();
        peer_handshake_ack();
        break;
      case 1:
        active_open();
        peer_syn_ack();
        break;
      case 2:
        cookie_open();
        break;
      default:
        simultaneous_open();
        peer_handshake_ack();
        break;
    }
    FUZZ_CHECK(conn_.state() == State::Established);
    // Data both ways: some of ours in flight, some of the peer's received and unread.
    user_send(3000);
    tick();
    peer(conn_.snd_una() + 1000, false, 700);
    tick();
    switch (v.target) {
      case State::Established:
        break;
      case State::FinWait1:
        fin_wait_1();
        break;
      case State::FinWait2:
        fin_wait_1();
        ack_until(State::FinWait2);
        break;
      case State::TimeWait:
        fin_wait_1();
        ack_until(State::FinWait2);
        tick();
        peer(conn_.snd_nxt(), true, 0);
        break;
      case State::Closing:
        fin_wait_1();
        tick();
        peer(conn_.snd_una(), true, 0);  // their FIN, ours not acknowledged
        break;
      case State::CloseWait:
        peer(conn_.snd_una(), true, 0);
        break;
      case State::LastAck:
        peer(conn_.snd_una(), true, 0);
        tick();
        user_shutdown();
        tick();
        peer(conn_.send_buffer().nxt(), false, 0);  // the rest of the data, then our FIN
        break;
      default:
        break;
    }
    FUZZ_CHECK(conn_.state() == v.target);
  }

  // ---- Operations -------------------------------------------------------------------------

  void run_op(FuzzInput& in) {
    const std::uint8_t op = in.u8();
    switch (op % 16) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        fuzzed_segment(in);
        break;
      case 6:
      case 7:
        cooperative_segment(in);
        break;
      case 8:
      case 9: {
        const std::uint16_t t = in.u16();
        const Duration dt = (t & 0x8000U) != 0 ? Duration((t & 0x7fffU) * 100'000LL)
                                               : Duration((t & 0x7fffU) * 1'000LL);
        advance(dt);
        break;
      }
      case 10:
        user_send(in.u16() % (config_.send.capacity + 1));
        break;
      case 11:
        user_recv(in.u16());
        break;
      case 12:
        user_shutdown();
        break;
      case 13:
        poll_now();
        break;
      case 14:
        misc(in);
        break;
      default:
        // ABORT ends everything: only on a byte the fuzzer has to choose.
        if (in.u8() < 8) {
          user_abort();
        } else {
          advance_to_deadline();
        }
        break;
    }
  }

  void finish() {
    // Let every timer run out: the connection must end up quiet, CLOSED or waiting on the peer.
    for (int i = 0; i < 64; ++i) {
      const Instant d = conn_.next_deadline();
      if (d == kNever) break;
      advance(std::max(d - now_, Duration(1)));
    }
  }

 private:
  static constexpr std::size_t kMaxPayload = 16 * 1024;

  // ---- Stepping ------------------------------------------------------------------------------

  // Runs one step and the owner's output after it, then checks everything.
  template <class F>
  void step(Step kind, F&& f) {
    const State from = conn_.state();
    step_ = kind;
    fin_was_in_ = conn_.fin_received();
    f();
    output();
    after_step(kind, from);
  }

  void output() {
    const State before = conn_.state();
    emitted_ = 0;
    conn_.output(now_, *this);
    seen_now_ = now_;
    FUZZ_CHECK(conn_.state() == before);  // output never changes the state
    check_liveness();
  }

  // One tick of 1 ms, firing whatever falls due: between the script's segments.
  void tick() { advance(1ms); }

  // Time passes as under a runner: each deadline met on the way is polled at its instant.
  void advance(Duration dt) {
    const Instant target = now_ + dt;
    for (int i = 0; i < 4096; ++i) {
      const Instant d = conn_.next_deadline();
      if (d > target) break;
      if (d > now_) now_ = d;
      poll_now();
    }
    FUZZ_CHECK(conn_.next_deadline() > target);  // no timer fires thousands of times
    now_ = target;
  }

  void advance_to_deadline() {
    const Instant d = conn_.next_deadline();
    if (d != kNever && d > now_) now_ = d;
    poll_now();
  }

  void poll_now() {
    step(Step::Timer, [&] { conn_.poll(now_); });
    // RFC 9293 §3.8: after the timers due at now are handled and output sent, nothing is due now.
    FUZZ_CHECK(conn_.next_deadline() > now_);
  }

  // ---- Segments ------------------------------------------------------------------------------

  std::uint32_t peer_tsval() const {
    return 0x40000000U + static_cast<std::uint32_t>(to_micros(now_) / 1000);
  }

  // The cooperative peer's TSval: its clock, or TS.Recent if fuzzed segments moved that ahead
  // (so PAWS, RFC 7323 §5, lets the cooperative peer through).
  std::uint32_t peer_ts() const {
    const std::uint32_t clock = peer_tsval();
    return static_cast<std::int32_t>(conn_.ts_recent() - clock) > 0 ? conn_.ts_recent() : clock;
  }

  TcpRepr peer_base() const {
    TcpRepr s;
    s.src_port = kTuple.remote_port;
    s.dst_port = kTuple.local_port;
    if (variant_.timestamps) s.timestamps = wire::TcpTimestamps{peer_ts(), last_tsval_};
    return s;
  }

  void add_syn_options(TcpRepr& s) const {
    s.max_seg_size = variant_.small_mss ? std::uint16_t{536} : std::uint16_t{1460};
    if (variant_.window_scaling) s.window_scale = 7;
    s.sack_permitted = variant_.sack;
  }

  std::uint16_t peer_window() const { return variant_.window_scaling ? 1024 : 0xffff; }

  // A segment of the script: at RCV.NXT, acknowledging `ack`, with `len` bytes of data.
  void peer(SeqNum ack, bool fin, std::size_t len) {
    TcpRepr s = peer_base();
    s.seq_number = conn_.rcv_nxt();
    s.ack_number = ack;
    s.fin = fin;
    s.window_len = peer_window();
    s.payload_len = len;
    deliver(s);
  }

  // The peer acknowledges everything sent until the connection reaches `state`.
  void ack_until(State state) {
    for (int i = 0; i < 8 && conn_.state() != state; ++i) {
      tick();
      peer(conn_.snd_nxt(), false, 0);
    }
  }

  void fin_wait_1() {
    user_shutdown();
    tick();
    // The data Nagle held goes, and our FIN after it.
    peer(conn_.send_buffer().nxt(), false, 0);
  }

  void active_open() {
    step(Step::Open, [&] { conn_.connect(kTuple, kIss, kMtu, now_); });
    FUZZ_CHECK(conn_.state() == State::SynSent);
  }

  void passive_open() {
    TcpRepr syn = peer_base();
    syn.seq_number = kPeerIss;
    syn.syn = true;
    syn.window_len = 0xffff;
    if (syn.timestamps) syn.timestamps->tsecr = 0;
    add_syn_options(syn);
    step(Step::Open, [&] { conn_.accept_syn(kTuple, syn, kIss, kMtu, now_); });
    FUZZ_CHECK(conn_.state() == State::SynReceived);
  }

  void simultaneous_open() {
    active_open();
    tick();
    TcpRepr syn = peer_base();
    syn.seq_number = kPeerIss;
    syn.syn = true;
    syn.window_len = 0xffff;
    if (syn.timestamps) syn.timestamps->tsecr = 0;
    add_syn_options(syn);
    deliver(syn);
    FUZZ_CHECK(conn_.state() == State::SynReceived);
  }

  void peer_syn_ack() {
    tick();
    TcpRepr s = peer_base();
    s.seq_number = kPeerIss;
    s.ack_number = kIss + 1;
    s.syn = true;
    s.window_len = 0xffff;
    add_syn_options(s);
    deliver(s);
  }

  void peer_handshake_ack() {
    tick();
    TcpRepr s = peer_base();
    s.seq_number = kPeerIss + 1;
    s.ack_number = kIss + 1;
    s.window_len = peer_window();
    deliver(s);
  }

  // RFC 4987 §3.6 as the Stack does it: the cookie carried the options; no SYN-ACK from us.
  void cookie_open() {
    const Variant& v = variant_;
    TcpRepr ack = peer_base();
    ack.seq_number = kPeerIss + 1;
    ack.ack_number = kIss + 1;
    ack.window_len = peer_window();
    if (ack.timestamps) ack.timestamps->tsecr = 12345;
    tcp::Negotiated n;
    n.send_mss = v.small_mss ? 536 : 1460;
    n.timestamps = v.timestamps;
    n.sack = v.timestamps && v.sack;
    if (v.timestamps && v.window_scaling) {
      tcp::LocalOptions local;
      local.mtu = kMtu;
      local.recv_buffer = config_.recv.capacity;
      n.snd_wscale = 7;
      n.rcv_wscale = tcp::local_window_scale(local);
    }
    if (!v.window_scaling || !v.timestamps) ack.window_len = 0xffff;
    step(Step::Open, [&] {
      conn_.accept_cookie(kTuple, ack, kIss, kPeerIss, n, kMtu, now_);
      conn_.on_segment(ack, {}, now_);
      seen_now_ = now_;
    });
    have_irs_ = true;
    syn_emitted_ = true;  // the Stack sent the cookie's SYN-ACK
  }

  // Hands the connection `seg` with the peer's bytes for its sequence space, then outputs.
  void deliver(const TcpRepr& seg) {
    const std::size_t len = std::min(seg.payload_len, kMaxPayload);
    const SeqNum data_seq = seg.seq_number + (seg.syn ? 1U : 0U);
    for (std::size_t i = 0; i < len; ++i)
      payload_[i] = peer_byte(data_seq + static_cast<std::uint32_t>(i));
    TcpRepr s = seg;
    s.payload_len = len;
    input_rst_ = s.rst;
    trace_segment("in ", now_, s);
    step(Step::Segment, [&] {
      conn_.on_segment(s, Bytes(payload_.data(), len), now_);
      seen_now_ = now_;
    });
  }

  // Picks a sequence number: a base and a signed offset at one of four scales.
  static SeqNum near(FuzzInput& in, std::array<SeqNum, 3> bases) {
    const std::uint8_t sel = in.u8();
    const auto offset = static_cast<std::int16_t>(in.u16());
    if ((sel & 3U) == 3) return SeqNum(in.u32());
    constexpr std::array<unsigned, 4> kShift = {0, 4, 10, 20};
    const auto delta = static_cast<std::int64_t>(offset) * (std::int64_t{1} << kShift[sel >> 6U]);
    return bases[sel & 3U] + static_cast<std::uint32_t>(delta);
  }

  void fuzzed_segment(FuzzInput& in) {
    const std::uint8_t flags = in.u8();
    TcpRepr s;
    s.src_port = kTuple.remote_port;
    s.dst_port = kTuple.local_port;
    const SeqNum rcv_nxt = conn_.rcv_nxt();
    const auto wnd = static_cast<std::uint32_t>(conn_.recv_buffer().window());
    s.seq_number = near(in, {rcv_nxt, rcv_nxt + wnd, conn_.irs()});
    if ((flags & 0x01U) == 0) {
      s.ack_number = near(in, {conn_.snd_una(), conn_.snd_nxt(), conn_.iss()});
    }
    s.syn = (flags & 0x02U) != 0;
    s.fin = (flags & 0x04U) != 0;
    s.rst = (flags & 0x08U) != 0;
    s.psh = (flags & 0x10U) != 0;
    if ((flags & 0x20U) != 0) s.urgent_pointer = in.u16();
    s.ece = (flags & 0x40U) != 0;
    s.cwr = (flags & 0x80U) != 0;
    s.window_len = in.u16();
    const std::uint8_t opts = in.u8();
    std::size_t option_bytes = 0;
    if ((opts & 0x01U) != 0) {
      const auto d = static_cast<std::int8_t>(in.u8());
      const std::uint8_t e = in.u8();
      wire::TcpTimestamps ts;
      ts.tsval = d == -128 ? in.u32() : peer_tsval() + static_cast<std::uint32_t>(d * 16);
      ts.tsecr = e == 0 ? 0 : last_tsval_ - (e - 1U);
      s.timestamps = ts;
      option_bytes += 10;
    }
    if ((opts & 0x02U) != 0) {
      s.max_seg_size = in.u16();
      option_bytes += 4;
    }
    if ((opts & 0x04U) != 0) {
      s.window_scale = in.u8();
      option_bytes += 3;
    }
    if ((opts & 0x08U) != 0) {
      s.sack_permitted = true;
      option_bytes += 2;
    }
    // SACK blocks near SND.UNA, as many as fit in the 40 bytes of options (RFC 2018 §3).
    std::size_t blocks = (opts >> 4U) & 7U;
    blocks = std::min({blocks, TcpRepr::max_sack_blocks,
                       option_bytes + 10 <= 40 ? (40 - option_bytes - 2) / 8 : std::size_t{0}});
    for (std::size_t i = 0; i < blocks; ++i) {
      const auto left = static_cast<std::int16_t>(in.u16());
      const std::uint16_t len = in.u16();
      const SeqNum l = conn_.snd_una() + static_cast<std::uint32_t>(std::int32_t{left});
      s.sack_blocks[i] = wire::SackBlock{l, l + len};
    }
    s.sack_count = blocks;
    const std::size_t max = variant_.big_buffer ? kMaxPayload : 4096;
    s.payload_len = in.u16() % (max + 1);
    deliver(s);
  }

  // A segment as a sane peer sends it: at RCV.NXT, acknowledging part or all of what was sent,
  // valid timestamps and SACK blocks only where data really is missing... or a SYN-ACK in
  // SYN-SENT.
  void cooperative_segment(FuzzInput& in) {
    const std::uint8_t how = in.u8();
    const std::uint8_t wnd = in.u8();
    TcpRepr s = peer_base();
    if (conn_.state() == State::SynSent) {
      s.seq_number = kPeerIss;
      s.ack_number = kIss + 1;
      s.syn = true;
      s.window_len = 0xffff;
      add_syn_options(s);
      deliver(s);
      return;
    }
    s.seq_number = conn_.rcv_nxt();
    const SeqNum una = conn_.snd_una();
    const auto outstanding = static_cast<std::uint32_t>(std::max(0, conn_.snd_nxt() - una));
    s.ack_number = una + outstanding * (how & 0x0fU) / 15;
    // Window: closed, small or wide.
    s.window_len = wnd == 0 ? std::uint16_t{0} : static_cast<std::uint16_t>(0xffffU >> (wnd % 16));
    s.fin = (how & 0x10U) != 0;
    s.payload_len = (how & 0x20U) != 0 ? std::size_t{in.u8()} * 16 : 0;
    if ((how & 0x40U) != 0) s.seq_number += std::uint32_t{in.u8()} * 8;  // out of order
    if ((how & 0x80U) != 0 && outstanding > 0) {
      // One SACK block inside what is outstanding.
      const std::uint32_t a = outstanding * (in.u8() % 16) / 16;
      const std::uint32_t b = a + 1 + (outstanding - a - 1) * (in.u8() % 16) / 15;
      s.sack_blocks[0] = wire::SackBlock{una + a, una + std::min(b, outstanding)};
      s.sack_count = 1;
    }
    deliver(s);
  }

  // ---- User calls ----------------------------------------------------------------------------

  void user_send(std::size_t n) {
    std::vector<std::byte> data(n);
    const SeqNum first = kIss + 1 + static_cast<std::uint32_t>(written_);
    for (std::size_t i = 0; i < n; ++i)
      data[i] = our_byte(first + static_cast<std::uint32_t>(i));
    step(Step::Other, [&] { written_ += conn_.send(data); });
  }

  void user_recv(std::size_t n) {
    std::vector<std::byte> buf(std::min<std::size_t>(n, 64 * 1024));
    step(Step::Recv, [&] {
      const std::size_t got = conn_.recv(buf);
      FUZZ_CHECK(got <= buf.size());
      const SeqNum first = conn_.irs() + 1 + static_cast<std::uint32_t>(read_);
      for (std::size_t i = 0; i < got; ++i)
        FUZZ_CHECK(buf[i] == peer_byte(first + static_cast<std::uint32_t>(i)));
      read_ += got;
    });
  }

  void user_shutdown() {
    step(Step::Shutdown, [&] { conn_.shutdown_send(now_); });
  }

  void user_abort() {
    step(Step::Abort, [&] { conn_.abort(now_); });
  }

  void misc(FuzzInput& in) {
    const std::uint8_t what = in.u8();
    switch (what % 6) {
      case 0: {
        tcp::KeepAliveConfig ka;
        ka.enabled = true;
        ka.idle = std::chrono::seconds(1 + in.u8());
        ka.interval = std::chrono::seconds(1 + in.u8() % 16);
        ka.probes = in.u8() % 5;
        step(Step::Other, [&] { conn_.set_keep_alive(ka, now_); });
        break;
      }
      case 1:
        step(Step::Other, [&] { conn_.set_keep_alive(tcp::KeepAliveConfig{}, now_); });
        break;
      case 2:
        step(Step::Other, [&] {
          if (!conn_.orphaned()) orphaned_at_ = now_;
          conn_.orphan(now_);
        });
        break;
      case 3: {
        // The Stack's path MTUs never fall below Linux's 552 floor (ip/path_mtu.hpp).
        const std::size_t mtu = 552 + in.u16() % (kMtu - 552 + 1);
        // RFC 1191: segments get smaller, never larger.
        if (mtu < mtu_) mtu_ = mtu;
        step(Step::Other, [&] { conn_.on_path_mtu(mtu); });
        break;
      }
      case 4: {
        const bool hard = in.bit();
        step(Step::Icmp, [&] {
          conn_.on_icmp_error(std::make_error_code(hard ? std::errc::connection_refused
                                                        : std::errc::host_unreachable),
                              hard);
        });
        break;
      }
      default: {
        const bool on = in.bit();
        step(Step::Other, [&] { conn_.set_no_delay(on); });
        break;
      }
    }
  }

  // ---- Checks after a step -------------------------------------------------------------------

  void after_step(Step kind, State from) {
    const State to = conn_.state();
    if (tracing()) {
      std::fprintf(stderr,
                   "%10lld   step %d: %s -> %s una=%u nxt=%u rcv_nxt=%u wnd=%u "
                   "deadline=%lld\n",
                   static_cast<long long>(to_micros(now_) / 1000), static_cast<int>(kind),
                   tcp::to_string(from).data(), tcp::to_string(to).data(), conn_.snd_una().value(),
                   conn_.snd_nxt().value(), conn_.rcv_nxt().value(), conn_.snd_wnd(),
                   conn_.next_deadline() == kNever
                       ? -1LL
                       : static_cast<long long>(to_micros(conn_.next_deadline()) / 1000));
    }
    if (to != from) {
      FUZZ_CHECK((allowed(kind, from) & bit(to)) != 0);
      if (kind == Step::Segment && to == State::Closed) {
        // §3.10.7.4: only a RST closes, or in LAST-ACK the ACK of our FIN -- or new data for an
        // orphan, which gets a RST (RFC 1122 §4.2.2.13, as Linux's tcp_rcv_state_process).
        FUZZ_CHECK(input_rst_ || from == State::LastAck || conn_.orphaned());
      }
      if (kind == Step::Timer && to == State::Closed) {
        if (from == State::TimeWait && !conn_.error()) {
          // §3.10.7.4: "the time-wait timeout ... 2 MSL".
          FUZZ_CHECK(now_ - entered_at_ >= 2 * config_.msl);
        } else if (from == State::FinWait2 && !conn_.error()) {
          FUZZ_CHECK(conn_.orphaned());
          const Instant since = std::max(entered_at_, orphaned_at_);
          FUZZ_CHECK(now_ - since >= config_.fin_wait2_timeout);
        } else {
          FUZZ_CHECK(conn_.error());  // the connection gave up
        }
      }
      entered_at_ = now_;
    }
    input_rst_ = false;
    if (to != State::SynSent && to != State::Closed) have_irs_ = true;

    const tcp::SendBuffer& sb = conn_.send_buffer();
    const tcp::RecvBuffer& rb = conn_.recv_buffer();
    // Bounded memory: the buffers never outgrow their fixed sizes.
    FUZZ_CHECK(sb.buffered() <= config_.send.capacity);
    FUZZ_CHECK(sb.segments() <= config_.send.max_segments);
    FUZZ_CHECK(sb.in_flight() <= sb.buffered());
    FUZZ_CHECK(sb.una() <= sb.nxt());
    FUZZ_CHECK(rb.readable() + rb.out_of_order_bytes() <= config_.recv.capacity);
    FUZZ_CHECK(rb.ranges() <= config_.recv.max_ranges);
    FUZZ_CHECK(rb.window() <= config_.recv.capacity);
    // The send buffer holds what the user wrote from SND.UNA on.
    FUZZ_CHECK(sb.una() + static_cast<std::uint32_t>(sb.buffered()) ==
               kIss + 1 + static_cast<std::uint32_t>(written_));
    // RFC 9293 §3.3.1: SND.NXT is where the segments sent reached, nothing counted that never
    // went: the highest byte carried, and the FIN only once a segment carried it.
    FUZZ_CHECK(max_sent_.value_or(kIss + 1) == sb.nxt());
    if (conn_.snd_nxt() - sb.nxt() == 1) FUZZ_CHECK(fin_seq_ && *fin_seq_ == sb.nxt());
    if (syn_emitted_) {
      FUZZ_CHECK(conn_.snd_una() <= conn_.snd_nxt());
      const std::int32_t fin = conn_.snd_nxt() - sb.nxt();
      FUZZ_CHECK(fin == 0 || fin == 1);
      if (last_una_) FUZZ_CHECK(*last_una_ <= sb.una());
      if (last_nxt_) FUZZ_CHECK(*last_nxt_ <= conn_.snd_nxt());
      last_una_ = sb.una();
      last_nxt_ = conn_.snd_nxt();
    }
    if (have_irs_) {
      // RCV.NXT counts every byte from IRS + 1 (read or readable) and the FIN.
      FUZZ_CHECK(conn_.rcv_nxt() == conn_.irs() + 1 +
                                        static_cast<std::uint32_t>(read_ + rb.readable()) +
                                        (conn_.fin_received() ? 1U : 0U));
      if (last_rcv_nxt_) FUZZ_CHECK(*last_rcv_nxt_ <= conn_.rcv_nxt());
      last_rcv_nxt_ = conn_.rcv_nxt();
    }
    FUZZ_CHECK(conn_.next_deadline() >= seen_now_);
  }

  // After output: nothing owed is left without a timer.
  void check_liveness() {
    const State s = conn_.state();
    const Instant d = conn_.next_deadline();
    if (s == State::Closed) {
      FUZZ_CHECK(d == kNever);  // the owner may free it
      return;
    }
    if (s == State::SynSent || s == State::SynReceived) {
      FUZZ_CHECK(d != kNever);  // the SYN's retransmission timer
      return;
    }
    if (s == State::TimeWait) {
      FUZZ_CHECK(d != kNever && d <= now_ + 2 * config_.msl);
      return;
    }
    const tcp::SendBuffer& sb = conn_.send_buffer();
    const bool fin_owed =
        conn_.send_shut() && (s == State::FinWait1 || s == State::Closing || s == State::LastAck);
    if (sb.buffered() > 0 || fin_owed) FUZZ_CHECK(d != kNever);
    if (s == State::FinWait2 && conn_.orphaned()) FUZZ_CHECK(d != kNever);
  }

  // ---- Checks on each segment emitted -------------------------------------------------------

  void send_segment(const tcp::Connection& c, const TcpRepr& seg) override {
    FUZZ_CHECK(&c == &conn_);
    trace_segment("out", now_, seg);
    // One output() sends a bounded burst: the send buffer over the smallest MSS (48), plus
    // control segments. More means it is looping.
    FUZZ_CHECK(++emitted_ <= 1024);
    const State st = conn_.state();
    const tcp::SendBuffer& sb = conn_.send_buffer();
    const tcp::Negotiated& n = conn_.negotiated();
    FUZZ_CHECK(seg.src_port == kTuple.local_port && seg.dst_port == kTuple.remote_port);
    FUZZ_CHECK(seg.sack_count <= TcpRepr::max_sack_blocks);

    // The segment survives its own bytes: emit (checksum filled) and parse back.
    const std::size_t len = seg.buffer_len();
    FUZZ_CHECK(seg.header_len() <= wire::TcpView::max_header_len);
    FUZZ_CHECK(20 + len <= mtu_);  // RFC 1191 / §3.7.1: it fits the path
    std::vector<std::byte> frame(len, std::byte{0xa5});
    const std::size_t copied =
        conn_.copy_payload(seg.seq_number, BytesMut(frame).subspan(seg.header_len()));
    FUZZ_CHECK(copied == seg.payload_len);
    seg.emit(wire::TcpViewMut(BytesMut(frame)), kTuple.local, kTuple.remote,
             wire::ChecksumPolicy::all());
    auto parsed = TcpRepr::parse(wire::TcpView(Bytes(frame)), kTuple.local, kTuple.remote,
                                 wire::ChecksumPolicy::all());
    FUZZ_CHECK(parsed);
    FUZZ_CHECK(*parsed == seg);

    if (seg.rst) {
      // §3.10.7: a RST is never sent in reply to a RST.
      FUZZ_CHECK(!input_rst_);
      FUZZ_CHECK(!seg.syn && !seg.fin && seg.payload_len == 0);
      return;
    }
    // §3.10.7.1 / §3.10.5: a closed connection sends nothing but its RST.
    FUZZ_CHECK(st != State::Closed);
    // Reading makes room for data: once the peer's FIN is in no more can come, so reading sends
    // no window update (and TIME-WAIT only ever acknowledges a retransmitted FIN).
    if (step_ == Step::Recv) FUZZ_CHECK(!fin_was_in_);

    if (seg.syn) {
      FUZZ_CHECK(st == State::SynSent || st == State::SynReceived);
      FUZZ_CHECK(seg.seq_number == conn_.iss());
      FUZZ_CHECK(!seg.fin && seg.payload_len == 0);
      FUZZ_CHECK(seg.ack_number.has_value() == (st == State::SynReceived));
      FUZZ_CHECK(seg.sack_count == 0);
      if (!seg.ack_number) syn_window_ = seg.window_len;
      syn_emitted_ = true;
    } else {
      // RFC 9293 §3.7.1, RFC 7323 §2.2, RFC 2018 §2: these options only on a SYN.
      FUZZ_CHECK(!seg.max_seg_size && !seg.window_scale && !seg.sack_permitted);
      FUZZ_CHECK(seg.ack_number.has_value());
      FUZZ_CHECK(syn_emitted_ || conn_.synchronized());
      syn_emitted_ = true;
      // RFC 7323 §3.2: timestamps on every segment once negotiated, never otherwise.
      FUZZ_CHECK(seg.timestamps.has_value() == n.timestamps);
      if (seg.timestamps) FUZZ_CHECK(seg.timestamps->tsecr == conn_.ts_recent());
    }
    if (seg.timestamps) {
      // RFC 7323 §5.4: the timestamp clock never runs backwards.
      if (have_tsval_)
        FUZZ_CHECK(static_cast<std::int32_t>(seg.timestamps->tsval - last_tsval_) >= 0);
      last_tsval_ = seg.timestamps->tsval;
      have_tsval_ = true;
    }

    if (seg.ack_number) {
      const SeqNum ack = *seg.ack_number;
      FUZZ_CHECK(ack == conn_.rcv_nxt());
      if (last_ack_) FUZZ_CHECK(*last_ack_ <= ack);
      last_ack_ = ack;
      // RFC 7323 §2.3: windows are scaled except on a SYN (RFC 7323 §2.2).
      const unsigned shift = seg.syn ? 0U : n.rcv_wscale;
      const auto wnd = static_cast<std::uint32_t>(seg.window_len) << shift;
      // The window never promises more than the buffer holds.
      FUZZ_CHECK(wnd <= config_.recv.capacity);
      // RFC 9293 §3.8.6.2.2: the right edge never moves left -- except by less than one unit of
      // the scale when the window field is rounded down to it (RFC 7323 §2.4); the edge up to
      // which segments are accepted still holds (connection.cpp, window_to_advertise).
      const SeqNum edge = ack + wnd;
      // Our SYN (SYN-SENT) offered its window from the peer's ISN + 1.
      if (!edge_ && syn_window_) edge_ = conn_.irs() + 1 + *syn_window_;
      const std::uint32_t slack = (std::uint32_t{1} << shift) - 1;
      if (edge_) FUZZ_CHECK(*edge_ <= edge + slack);
      if (!edge_ || *edge_ < edge) edge_ = edge;
      // RFC 2018 §3, §4: SACK blocks only if negotiated, at most 3 beside timestamps, each
      // above the cumulative ACK and inside the buffer.
      if (seg.sack_count > 0) {
        FUZZ_CHECK(n.sack);
        FUZZ_CHECK(seg.sack_count <= (n.timestamps ? 3U : 4U));
        for (const auto& b : seg.sacks()) {
          FUZZ_CHECK(ack < b.left && b.left < b.right);
          FUZZ_CHECK(b.right - ack <= static_cast<std::int32_t>(config_.recv.capacity));
        }
      }
    }

    const SeqNum end = seg.seq_number + static_cast<std::uint32_t>(seg.payload_len);
    if (seg.payload_len > 0) {
      FUZZ_CHECK(st == State::Established || st == State::CloseWait || st == State::FinWait1 ||
                 st == State::Closing || st == State::LastAck);
      // RFC 9293 §3.7.1: no longer than the effective send MSS, nor the peer's MSS.
      FUZZ_CHECK(seg.payload_len <= sb.config().smss);
      FUZZ_CHECK(seg.payload_len <= n.send_mss);
      // The payload is in the send buffer, and is what the user wrote there.
      FUZZ_CHECK(sb.una() <= seg.seq_number);
      FUZZ_CHECK(end <= sb.una() + static_cast<std::uint32_t>(sb.buffered()));
      const Bytes data = Bytes(frame).subspan(seg.header_len());
      for (std::size_t i = 0; i < seg.payload_len; ++i)
        FUZZ_CHECK(data[i] == our_byte(seg.seq_number + static_cast<std::uint32_t>(i)));
      if (fin_seq_) FUZZ_CHECK(end <= *fin_seq_);
      // RFC 9293 §3.8.6: new data only inside the peer's window.
      if (!max_sent_ || *max_sent_ < end) {
        FUZZ_CHECK(end <= sb.una() + conn_.snd_wnd());
        max_sent_ = end;
      }
    }
    if (seg.fin) {
      FUZZ_CHECK(st == State::FinWait1 || st == State::Closing || st == State::LastAck);
      // §3.10.4: the FIN follows all the data, always at the same sequence number.
      FUZZ_CHECK(end == sb.una() + static_cast<std::uint32_t>(sb.buffered()));
      if (fin_seq_) FUZZ_CHECK(*fin_seq_ == end);
      fin_seq_ = end;
    }
    if (st == State::TimeWait) {
      // Only acknowledgments leave TIME-WAIT (§3.10.7.4: the other timers are off, so no
      // probes either).
      FUZZ_CHECK(seg.payload_len == 0 && !seg.fin && seg.seq_number == conn_.snd_nxt());
    }
  }

  // ---- State -------------------------------------------------------------------------------

  Variant variant_;
  tcp::ConnectionConfig config_;
  tcp::Connection conn_;
  std::vector<std::byte> payload_;
  Instant now_ = kStart;
  Instant seen_now_ = kStart;  // the last now given to on_segment, poll or output
  Instant entered_at_ = kStart;
  Instant orphaned_at_ = kStart;
  std::size_t mtu_ = kMtu;
  std::uint64_t written_ = 0;
  std::uint64_t read_ = 0;
  bool have_irs_ = false;
  bool syn_emitted_ = false;
  bool input_rst_ = false;   // the segment being handled (and answered) is a RST
  Step step_ = Step::Other;  // the step under way
  std::size_t emitted_ = 0;  // segments the current output() sent
  bool fin_was_in_ = false;  // the peer's FIN was in before it
  std::optional<SeqNum> last_una_, last_nxt_, last_rcv_nxt_, last_ack_, edge_, max_sent_, fin_seq_;
  std::optional<std::uint16_t> syn_window_;  // the window of our SYN (active open)
  std::uint32_t last_tsval_ = 0;
  bool have_tsval_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  if (size < 2) return 0;
  Variant v;
  v.target = kStartStates[in.u8() % kStartStates.size()];
  const std::uint8_t bits = in.u8();
  v.open = bits & 3U;
  v.timestamps = (bits & 0x04U) != 0;
  v.sack = (bits & 0x08U) != 0;
  v.window_scaling = (bits & 0x10U) != 0;
  v.small_mss = (bits & 0x20U) != 0;
  v.big_buffer = (bits & 0x40U) != 0;
  v.quick_give_up = (bits & 0x80U) != 0;

  Harness h(v);
  h.open();
  for (int ops = 0; !in.empty() && ops < 4096; ++ops)
    h.run_op(in);
  h.finish();
  return 0;
}
