// A listener's accept queue (Stack::listener_input, Stack::tcp_settle, Stack::accept_syn_cookie)
// when it is full, driven from a scripted peer at chosen instants with the exact segments
// asserted. The reference is Linux with its defaults (tcp_abort_on_overflow = 0,
// tcp_synack_retries = 5, SYN cookies on): the handshake-completing ACK that finds the accept
// queue full is dropped, not reset (tcp_check_req, listen_overflow); the request stays in
// SYN-RECEIVED and its SYN-ACK is retransmitted (RFC 9293 §3.8.1, reqsk_timer_handler), so the
// peer's next ACK or data completes the handshake once the application accepted; when the SYN-ACK
// retries run out the request goes without a RST. A SYN-cookie ACK that finds the queue full is
// dropped too (RFC 4987 §3.6; cookie_v4_check).
//
// The scene: the stack is 10.0.0.2 on a Medium::Ip interface (bare IPv4 packets, no ARP),
// listening on port 80 with a backlog of 1, so the accept queue holds 2 (Stack::
// accept_queue_limit) and the SYN queue 1: a second SYN while one handshake is under way gets a
// SYN cookie. The peer is 10.0.0.1; its SYNs carry only an MSS option, so no option but the MSS
// comes back and the windows are unscaled.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "stack/stack.hpp"
#include "stack/wire/ipv4.hpp"
#include "stack/wire/tcp.hpp"
#include "tests/unit/stack/stack_harness.hpp"
#include "tests/unit/tcp/connection_harness.hpp"  // PrintTo for TcpRepr

namespace tapir::test {
namespace {

using wire::SeqNum;
using wire::TcpRepr;

constexpr std::uint16_t kPort = 80;
constexpr SeqNum kPeerIss{70000};

class TcpListenerQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    StackConfig config = quiet_config();
    config.tcp_syn_cookies = true;
    stack_ = *Stack::create(config);
    InterfaceConfig ic;
    ic.medium = Medium::Ip;
    ic.address = *Ipv4Cidr::parse("10.0.0.2/24");
    iface_ = *stack_->add_interface(ic);
    listener_ = *stack_->tcp_listen({Ipv4Address::any(), kPort}, 1);
  }

  // The peer's segment from `port`; the stack's segments in reply (after a poll, as the driver
  // polls after each batch).
  std::vector<TcpRepr> receive(const TcpRepr& seg, Bytes payload = {}) {
    TcpRepr s = seg;
    s.payload_len = payload.size();
    std::vector<std::byte> tcp(s.buffer_len());
    store_bytes(tcp, s.header_len(), payload);
    s.emit(wire::TcpViewMut(tcp), kPeerIp, kIp, wire::ChecksumPolicy::all());
    const auto packet = ipv4_packet(ip_header(kPeerIp, kIp, wire::IpProtocol::Tcp), tcp);
    stack_->receive(iface_, packet, now_, sink_);
    stack_->poll(now_, sink_);
    return sent();
  }
  // The clock moves to t and the stack polls.
  std::vector<TcpRepr> advance_to(Instant t) {
    now_ = t;
    stack_->poll(now_, sink_);
    return sent();
  }
  // Every segment the stack sent since the last call, parsed back (checksums verified).
  std::vector<TcpRepr> sent() {
    std::vector<TcpRepr> out;
    for (const auto& f : sink_.take()) {
      const wire::Ipv4View ip(f.bytes);
      EXPECT_TRUE(ip.check());
      const auto ipr = wire::Ipv4Repr::parse(ip, wire::ChecksumPolicy::all());
      EXPECT_TRUE(ipr);
      if (!ipr) continue;
      const wire::TcpView tcp(ip.payload());
      auto r = TcpRepr::parse(tcp, ipr->src, ipr->dst, wire::ChecksumPolicy::all());
      EXPECT_TRUE(r);
      if (r) out.push_back(*r);
    }
    return out;
  }

  // The peer's segments, from port `port`.
  static TcpRepr peer_syn(std::uint16_t port) {
    TcpRepr s;
    s.src_port = port;
    s.dst_port = kPort;
    s.seq_number = kPeerIss;
    s.syn = true;
    s.window_len = 64240;
    s.max_seg_size = 1460;
    return s;
  }
  static TcpRepr peer_ack(std::uint16_t port, SeqNum seq, SeqNum ack) {
    TcpRepr s;
    s.src_port = port;
    s.dst_port = kPort;
    s.seq_number = seq;
    s.ack_number = ack;
    s.window_len = 64240;
    return s;
  }
  // Our SYN-ACK (or SYN cookie) to `port` with ISS `iss`: RFC 9293 §3.10.7.2, the MSS of a 1500
  // MTU, the window unscaled (RFC 7323 §2.2: the SYN offered no scaling).
  static TcpRepr our_syn_ack(std::uint16_t port, SeqNum iss) {
    TcpRepr s;
    s.src_port = kPort;
    s.dst_port = port;
    s.seq_number = iss;
    s.ack_number = kPeerIss + 1;
    s.syn = true;
    s.window_len = 65535;
    s.max_seg_size = 1460;
    return s;
  }
  static TcpRepr our_ack(std::uint16_t port, SeqNum seq, SeqNum ack) {
    TcpRepr s;
    s.src_port = kPort;
    s.dst_port = port;
    s.seq_number = seq;
    s.ack_number = ack;
    s.window_len = 65535;
    return s;
  }

  // A SYN from `port`, answered with one SYN-ACK: its ISS.
  SeqNum handshake_start(std::uint16_t port) {
    const auto out = receive(peer_syn(port));
    EXPECT_EQ(out.size(), 1U);
    if (out.size() != 1) return SeqNum{};
    EXPECT_EQ(out[0], our_syn_ack(port, out[0].seq_number));
    return out[0].seq_number;
  }
  std::uint64_t counter(std::string_view name) const { return test::counter(*stack_, name); }

  // The accept queue full: the handshake from port 1000 is under way (SYN-ACK sent at now), and
  // two clients whose SYNs got SYN cookies completed theirs into the queue (2 = its limit).
  void fill_queue_behind_a_handshake() {
    iss_ = handshake_start(1000);
    now_ += 1ms;
    // Both SYNs first: once the queue holds `backlog` connections, new SYNs are dropped.
    const SeqNum cookie1 = handshake_start(1001);
    const SeqNum cookie2 = handshake_start(1002);
    EXPECT_TRUE(receive(peer_ack(1001, kPeerIss + 1, cookie1 + 1)).empty());
    EXPECT_TRUE(receive(peer_ack(1002, kPeerIss + 1, cookie2 + 1)).empty());
    ASSERT_EQ(counter("tcp.syn_cookies_ok"), 2U);
    ASSERT_TRUE(listener_.readable());
  }

  std::unique_ptr<Stack> stack_;
  InterfaceId iface_ = 0;
  TcpListener listener_;
  CaptureSink sink_;
  Instant now_ = kT0;
  SeqNum iss_{};  // the handshake under way's
};

// Linux (tcp_check_req with tcp_abort_on_overflow = 0): the ACK completing a handshake while the
// accept queue is full is dropped -- no RST, the data on it not taken -- and counted
// (tcp.listen_overflows, Linux's ListenOverflows); the connection stays in SYN-RECEIVED and its
// SYN-ACK is retransmitted at the RTO (RFC 9293 §3.8.1, RFC 6298 §2.1: 1 s), the same segment
// again. Once accept() made room, the peer's next segment completes the handshake and its data
// is delivered and acknowledged.
TEST_F(TcpListenerQueue, FullAcceptQueueHoldsTheHandshakeUntilThereIsRoom) {
  ASSERT_NO_FATAL_FAILURE(fill_queue_behind_a_handshake());
  const Instant syn_ack_at = now_ - 1ms;
  const std::vector<std::byte> hello{std::byte{'h'}, std::byte{'e'}, std::byte{'l'}, std::byte{'l'},
                                     std::byte{'o'}};
  EXPECT_TRUE(receive(peer_ack(1000, kPeerIss + 1, iss_ + 1)).empty());
  EXPECT_EQ(counter("tcp.listen_overflows"), 1U);
  EXPECT_TRUE(receive(peer_ack(1000, kPeerIss + 1, iss_ + 1), hello).empty());
  EXPECT_EQ(counter("tcp.listen_overflows"), 2U);
  EXPECT_EQ(counter("tcp.tx_resets"), 0U);
  EXPECT_EQ(counter("tcp.conn_tx_segments"), 1U);  // the one SYN-ACK: nothing answered the ACKs

  EXPECT_EQ(stack_->next_deadline(), syn_ack_at + 1s);
  EXPECT_EQ(advance_to(syn_ack_at + 1s), (std::vector<TcpRepr>{our_syn_ack(1000, iss_)}));

  // Room for one: the peer's retransmission of its data completes the handshake.
  auto first = listener_.accept();
  ASSERT_TRUE(first);
  now_ += 10ms;
  EXPECT_EQ(receive(peer_ack(1000, kPeerIss + 1, iss_ + 1), hello),
            (std::vector<TcpRepr>{our_ack(1000, iss_ + 1, kPeerIss + 6)}));
  EXPECT_EQ(counter("tcp.listen_overflows"), 2U);
  auto second = listener_.accept();
  ASSERT_TRUE(second);
  auto third = listener_.accept();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->remote_endpoint()->port, 1000);
  EXPECT_EQ(third->state(), tcp::State::Established);
  std::vector<std::byte> buf(16);
  const auto n = third->recv(buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n)),
            hello);
  EXPECT_EQ(counter("tcp.tx_resets"), 0U);
  EXPECT_EQ(counter("tcp.rx_bad_ack"), 0U);
}

// While the queue stays full the SYN-ACK is retransmitted tcp_synack_retries (5) times, backing
// off (RFC 6298 §5.5: 1, 2, 4, 8, 16 s); at the next expiry the request is dropped without a RST
// (Linux's reqsk_timer_handler: __inet_csk_reqsk_queue_drop), and its place in the SYN queue is
// free. An ACK from the peer after that finds only the listener: RFC 9293 §3.10.7.2, a RST
// <SEQ=SEG.ACK>.
TEST_F(TcpListenerQueue, HeldHandshakeIsDroppedSilentlyWhenTheSynAckRetriesRunOut) {
  ASSERT_NO_FATAL_FAILURE(fill_queue_behind_a_handshake());
  Instant at = now_ - 1ms;
  Duration rto = 1s;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(receive(peer_ack(1000, kPeerIss + 1, iss_ + 1)).empty()) << i;
    at += rto;
    EXPECT_EQ(stack_->next_deadline(), at) << i;
    EXPECT_EQ(advance_to(at), (std::vector<TcpRepr>{our_syn_ack(1000, iss_)})) << i;
    rto *= 2;
  }
  EXPECT_EQ(counter("tcp.listen_overflows"), 5U);
  EXPECT_EQ(stack_->next_deadline(), at + rto);
  EXPECT_TRUE(advance_to(at + rto).empty());
  EXPECT_EQ(counter("tcp.timeouts"), 1U);
  EXPECT_EQ(counter("tcp.tx_resets"), 0U);
  EXPECT_EQ(stack_->next_deadline(), kNever);

  TcpRepr rst;
  rst.src_port = kPort;
  rst.dst_port = 1000;
  rst.seq_number = iss_ + 1;
  rst.rst = true;
  EXPECT_EQ(receive(peer_ack(1000, kPeerIss + 1, iss_ + 1)), (std::vector<TcpRepr>{rst}));

  // The SYN queue has room again: with the accept queue drained, a new SYN starts a handshake
  // (a SYN-ACK with state, not a cookie).
  auto first = listener_.accept();
  auto second = listener_.accept();
  ASSERT_TRUE(first && second);
  const std::uint64_t cookies = counter("tcp.syn_cookies_sent");
  handshake_start(1003);
  EXPECT_EQ(counter("tcp.syn_cookies_sent"), cookies);
}

// RFC 4987 §3.6 with the accept queue full: a good cookie's ACK is dropped like the stateful
// handshake's (Linux: cookie_v4_check gets no child, tcp_v4_do_rcv discards it), no RST and
// counted; the cookie stays good, so the peer's next segment -- its data -- makes the connection
// once there is room. (There is no SYN-ACK to retransmit: a cookie keeps no state.)
TEST_F(TcpListenerQueue, SynCookieAckIsDroppedWhileTheAcceptQueueIsFull) {
  const SeqNum iss = handshake_start(1000);
  now_ += 1ms;
  const SeqNum cookie1 = handshake_start(1001);
  const SeqNum cookie2 = handshake_start(1002);
  EXPECT_TRUE(receive(peer_ack(1000, kPeerIss + 1, iss + 1)).empty());
  EXPECT_TRUE(receive(peer_ack(1001, kPeerIss + 1, cookie1 + 1)).empty());
  EXPECT_TRUE(receive(peer_ack(1002, kPeerIss + 1, cookie2 + 1)).empty());
  EXPECT_EQ(counter("tcp.listen_overflows"), 1U);
  EXPECT_EQ(counter("tcp.syn_cookies_ok"), 1U);
  EXPECT_EQ(counter("tcp.syn_cookies_failed"), 0U);
  EXPECT_EQ(counter("tcp.tx_resets"), 0U);

  auto first = listener_.accept();
  ASSERT_TRUE(first);
  now_ += 200ms;
  const std::vector<std::byte> data{std::byte{1}, std::byte{2}, std::byte{3}};
  EXPECT_EQ(receive(peer_ack(1002, kPeerIss + 1, cookie2 + 1), data),
            (std::vector<TcpRepr>{our_ack(1002, cookie2 + 1, kPeerIss + 4)}));
  EXPECT_EQ(counter("tcp.syn_cookies_ok"), 2U);
  auto second = listener_.accept();
  ASSERT_TRUE(second);
  auto late = listener_.accept();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->remote_endpoint()->port, 1002);
  EXPECT_EQ(late->readable(), true);
}

}  // namespace
}  // namespace tapir::test
